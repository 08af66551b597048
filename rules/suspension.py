"""`suspension`: violations lead to suspension; suspended people take no further part."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from connector.domain import (
    MEETING_EVENTS,
    Alert,
    ConcernResolved,
    Decision,
    Event,
    PairingStatus,
    PairingStatusChanged,
    PersonStatusChanged,
    Priority,
    Task,
)
from rules.base import Context, PairingView, Refusal, Transition

OUT = ("suspended", "removed")


@dataclass(frozen=True)
class SuspensionParams:
    violation_outcome: str = "violation"


class Suspension:
    id: ClassVar[str] = "suspension"
    policy: ClassVar[str] = (
        "Any violations of the policy may result in immediate suspension or termination from "
        "the program."
    )
    triggers: ClassVar[frozenset[str]] = MEETING_EVENTS | {
        PairingStatusChanged.kind,
        PersonStatusChanged.kind,
        ConcernResolved.kind,
    }
    Params: ClassVar[type[SuspensionParams]] = SuspensionParams

    def evaluate(self, event: Event, context: Context, params: SuspensionParams) -> list[Decision]:
        if isinstance(event, ConcernResolved):
            return self._suspend_task(event, context, params)
        if isinstance(event, PairingStatusChanged):
            return self._in_pairing(context, context.pairing)
        if isinstance(event, PersonStatusChanged):  # suspended while in open pairings
            return [d for p in context.person_pairings for d in self._in_pairing(context, p)]
        return self._in_meeting(context)

    def gate(
        self, transition: Transition, context: Context, params: SuspensionParams
    ) -> Refusal | None:
        pairing = context.pairing
        if pairing is None or transition.status_to not in (
            PairingStatus.PROPOSED,
            PairingStatus.ACTIVE,
        ):
            return None
        out = [p for p in (pairing.mentor, pairing.mentee) if p.status in OUT]
        if not out:
            return None
        names = ", ".join(f"{p.name} ({p.status})" for p in out)
        return Refusal(self.id, f"A suspended or removed participant cannot be paired: {names}.")

    def _in_meeting(self, context: Context) -> list[Decision]:
        meeting = context.meeting
        if meeting is None:
            return []
        return [
            Alert(
                key=f"{self.id}:meeting:{meeting.id}:person:{p.person_id}",
                rule_id=self.id,
                pairing_id=context.pairing.id if context.pairing else None,
                title=f"A {p.person_status} participant, {p.name or 'unnamed'}, was in a "
                f"{meeting.platform} session",
                reason=f"{p.name or 'A participant'} is {p.person_status} and appeared in "
                f"meeting {meeting.external_id}. Policy: {self.policy}",
                priority=Priority.CRITICAL,
            )
            for p in meeting.participants
            if p.person_status in OUT
        ]

    def _in_pairing(self, context: Context, pairing: PairingView | None) -> list[Decision]:
        open_statuses = (PairingStatus.PROPOSED, PairingStatus.ACTIVE, PairingStatus.CLOSING)
        if pairing is None or pairing.status not in open_statuses:
            return []
        return [
            Alert(
                key=f"{self.id}:pairing:{pairing.id}:person:{p.id}",
                rule_id=self.id,
                pairing_id=pairing.id,
                title=f"{p.name}, who is {p.status}, is in pairing P{pairing.id}",
                reason=f"{p.name} is {p.status} but pairing P{pairing.id} is {pairing.status}. "
                f"Policy: {self.policy}",
                priority=Priority.CRITICAL,
            )
            for p in (pairing.mentor, pairing.mentee)
            if p.status in OUT
        ]

    def _suspend_task(
        self, event: ConcernResolved, context: Context, params: SuspensionParams
    ) -> list[Decision]:
        concern = context.concern
        if event.outcome != params.violation_outcome or concern is None:
            return []
        if concern.about_person_id is None:
            return []
        return [
            Task(
                key=f"{self.id}:concern:{concern.id}:suspend",
                rule_id=self.id,
                pairing_id=concern.pairing_id,
                title=f"Suspend or remove the person concern {concern.reference} was about",
                reason=f"Concern {concern.reference} was resolved with the outcome "
                f"'{event.outcome}'. Policy: {self.policy}",
                priority=Priority.HIGH,
                audience="safeguarding",
                confidential=True,
            )
        ]
