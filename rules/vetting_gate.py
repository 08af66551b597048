"""`vetting-gate`: a mentor is vetted before being paired with, or meeting, a mentee."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from connector.domain import (
    MEETING_EVENTS,
    Alert,
    Decision,
    Event,
    PairingStatus,
    PairingStatusChanged,
    Priority,
    Task,
    VettingChanged,
)
from rules.base import Context, PersonView, Refusal, Transition
from rules.calendar import local_date

STEP_NAMES = {
    "professional_verification": "professional verification",
    "personal_references": "personal references",
    "interview": "interview",
    "criminal_background_check": "criminal background check",
}
GATED = (PairingStatus.PROPOSED, PairingStatus.ACTIVE)


@dataclass(frozen=True)
class VettingParams:
    required_steps: tuple[str, ...] = (
        "professional_verification",
        "personal_references",
        "interview",
    )
    # The policy lists it as "[To be factored in]": the program switches it on.
    criminal_background_check: bool = False

    def steps(self) -> tuple[str, ...]:
        extra = ("criminal_background_check",) if self.criminal_background_check else ()
        return self.required_steps + tuple(s for s in extra if s not in self.required_steps)


@dataclass(frozen=True)
class VettingFacts:
    """A mentor in a proposed or active pairing (from `connector.checks`)."""

    mentor: PersonView


def gaps(mentor: PersonView, today: date, params: VettingParams) -> list[tuple[str, str]]:
    """(step, "missing" | "expired-YYYY-MM-DD") for each required step not in force today.

    A step is in force when it passed and its expiry date, if any, is today or later.
    """
    found = {v.step: v for v in mentor.vetting}
    out = []
    for step in params.steps():
        vetting = found.get(step)
        if vetting is None or vetting.status != "passed":
            out.append((step, "missing"))
        elif vetting.expires_on is not None and vetting.expires_on < today:
            out.append((step, f"expired-{vetting.expires_on.isoformat()}"))
    return out


class VettingGate:
    id: ClassVar[str] = "vetting-gate"
    policy: ClassVar[str] = (
        "The following steps are taken for each mentor before they are accepted into the "
        "program: … Professional Verification … Personal References … Interview Process … "
        "Criminal Background Check: [To be factored in]"
    )
    triggers: ClassVar[frozenset[str]] = MEETING_EVENTS | {
        PairingStatusChanged.kind,
        VettingChanged.kind,
    }
    Params: ClassVar[type[VettingParams]] = VettingParams
    Facts: ClassVar[type[VettingFacts]] = VettingFacts

    def evaluate(self, event: Event, context: Context, params: VettingParams) -> list[Decision]:
        pairing, today = context.pairing, local_date(context.now, context.timezone)
        if event.kind in MEETING_EVENTS:
            meeting = context.meeting
            if pairing is None or meeting is None or not meeting.held:
                return []
            if pairing.vetting_override_reason:
                return []
            missing = gaps(pairing.mentor, today, params)
            if not missing:
                return []
            return [
                Alert(
                    key=f"{self.id}:meeting:{meeting.id}",
                    rule_id=self.id,
                    pairing_id=pairing.id,
                    title=f"{pairing.mentor.name} met a mentee before vetting was complete",
                    reason=f"Pairing P{pairing.id} held a session while {_list(missing)}. "
                    f"Policy: {self.policy}",
                    priority=Priority.HIGH,
                )
            ]
        if isinstance(event, PairingStatusChanged) and pairing is not None:
            if pairing.status in GATED and not pairing.vetting_override_reason:
                return self._tasks(pairing.mentor, today, params, pairing.id)
            return []
        if isinstance(event, VettingChanged) and context.person is not None:
            return self._tasks(context.person, today, params, None)
        return []

    def decide(
        self, facts: VettingFacts, context: Context, params: VettingParams
    ) -> list[Decision]:
        return self._tasks(facts.mentor, local_date(context.now, context.timezone), params, None)

    def gate(
        self, transition: Transition, context: Context, params: VettingParams
    ) -> Refusal | None:
        pairing = context.pairing
        if pairing is None or transition.status_to not in GATED or transition.override_reason:
            return None
        missing = gaps(pairing.mentor, local_date(context.now, context.timezone), params)
        if not missing or pairing.vetting_override_reason:
            return None
        return Refusal(
            self.id,
            (
                f"{pairing.mentor.name} cannot be in {_article(transition.status_to)} "
                f"{transition.status_to} pairing yet: "
                f"{_list(missing)}. Complete the vetting, or give an override reason."
            ),
        )

    def _tasks(
        self, mentor: PersonView, today: date, params: VettingParams, pairing_id: int | None
    ) -> list[Decision]:
        if mentor.role != "mentor":
            return []
        return [
            Task(
                key=f"{self.id}:person:{mentor.id}:{step}:{state}",
                rule_id=self.id,
                pairing_id=pairing_id,
                title=f"{'Renew' if state != 'missing' else 'Complete'} "
                f"{STEP_NAMES.get(step, step)} for {mentor.name}",
                reason=f"{mentor.name}'s {STEP_NAMES.get(step, step)} is "
                f"{'not passed yet' if state == 'missing' else state.replace('-', ' on ', 1)}. "
                f"Policy: {self.policy}",
                priority=Priority.HIGH,
            )
            for step, state in gaps(mentor, today, params)
        ]


def _list(missing: list[tuple[str, str]]) -> str:
    parts = [
        f"{STEP_NAMES.get(step, step)} is "
        + ("not passed" if state == "missing" else state.replace("-", " on ", 1))
        for step, state in missing
    ]
    return "; ".join(parts)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
