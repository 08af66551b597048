"""`minimum-sessions`: at least three sessions per relationship, unless circumstances prevent it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from connector.domain import Decision, Event, PairingStatus, PairingStatusChanged, Task
from rules.base import Context, Refusal, Transition


@dataclass(frozen=True)
class MinimumParams:
    minimum: int = 3  # "A minimum of three session is required"


class MinimumSessions:
    id: ClassVar[str] = "minimum-sessions"
    policy: ClassVar[str] = (
        "A minimum of three session is required for each mentoring relationship, unless there "
        "are extenuating circumstances which prevent this."
    )
    triggers: ClassVar[frozenset[str]] = frozenset({PairingStatusChanged.kind})
    Params: ClassVar[type[MinimumParams]] = MinimumParams

    def evaluate(self, event: Event, context: Context, params: MinimumParams) -> list[Decision]:
        pairing = context.pairing
        if not isinstance(event, PairingStatusChanged) or pairing is None:
            return []
        if event.status_to != PairingStatus.CLOSING or not self._short(context, params):
            return []
        return [
            Task(
                key=f"{self.id}:pairing:{pairing.id}:closing",
                rule_id=self.id,
                pairing_id=pairing.id,
                title=f"Pairing P{pairing.id} is closing after {pairing.held_sessions} of "
                f"{params.minimum} sessions: hold more or record extenuating circumstances",
                reason=f"Pairing P{pairing.id} has held {pairing.held_sessions} sessions. "
                f"Policy: {self.policy}",
            )
        ]

    def gate(
        self, transition: Transition, context: Context, params: MinimumParams
    ) -> Refusal | None:
        if transition.status_to != PairingStatus.CLOSED or not self._short(context, params):
            return None
        pairing = context.pairing
        assert pairing is not None  # _short is False without a pairing
        return Refusal(
            self.id,
            (
                f"Pairing P{pairing.id} has held {pairing.held_sessions} of the {params.minimum} "
                "sessions the policy requires; record the extenuating circumstances to close it."
            ),
        )

    @staticmethod
    def _short(context: Context, params: MinimumParams) -> bool:
        pairing = context.pairing
        return (
            pairing is not None
            and pairing.held_sessions < params.minimum
            and not pairing.extenuating_circumstances
        )
