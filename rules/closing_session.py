"""`closing-session`: a relationship ends with a closing session, reflection and feedback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from connector.domain import Decision, Event, PairingStatus, PairingStatusChanged, Task
from rules.base import Context, PairingView, Refusal, Transition


@dataclass(frozen=True)
class ClosingParams:
    reflection_form: str = "closing_reflection"  # reflection and program feedback, one form


class ClosingSession:
    id: ClassVar[str] = "closing-session"
    policy: ClassVar[str] = (
        "Upon completion, mentors and mentees will participate in a closing session to reflect "
        "on achievements and provide program feedback."
    )
    triggers: ClassVar[frozenset[str]] = frozenset({PairingStatusChanged.kind})
    Params: ClassVar[type[ClosingParams]] = ClosingParams

    def evaluate(self, event: Event, context: Context, params: ClosingParams) -> list[Decision]:
        pairing = context.pairing
        if not isinstance(event, PairingStatusChanged) or pairing is None:
            return []
        if event.status_to != PairingStatus.CLOSING:
            return []
        return [
            Task(
                key=f"{self.id}:pairing:{pairing.id}:hold",
                rule_id=self.id,
                pairing_id=pairing.id,
                title=f"Hold the closing session of P{pairing.id} and collect reflection and "
                f"program feedback from {pairing.mentor.name} and {pairing.mentee.name}",
                reason=f"Pairing P{pairing.id} moved to closing. Policy: {self.policy}",
            )
        ]

    def gate(
        self, transition: Transition, context: Context, params: ClosingParams
    ) -> Refusal | None:
        pairing = context.pairing
        if pairing is None or transition.status_to != PairingStatus.CLOSED:
            return None
        if transition.override_reason or pairing.closing_override_reason:
            return None
        missing = missing_for_closure(pairing, params)
        if not missing:
            return None
        return Refusal(
            self.id,
            (
                f"Pairing P{pairing.id} cannot be closed yet: {', '.join(missing)}. "
                "Collect them, or give an override reason."
            ),
        )


def missing_for_closure(pairing: PairingView, params: ClosingParams) -> list[str]:
    missing = [] if pairing.closing_session_held else ["no closing session was held"]
    missing += [
        f"the {party}'s reflection and program feedback are missing"
        for party in ("mentor", "mentee")
        if not pairing.submitted(party, params.reflection_form)
    ]
    return missing
