"""`unregistered-contact`: program participants meeting outside any registered pairing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import ClassVar

from connector.domain import MEETING_EVENTS, Alert, Decision, Event, Priority
from rules.base import Context


@dataclass(frozen=True)
class ContactParams:
    pass


class UnregisteredContact:
    id: ClassVar[str] = "unregistered-contact"
    policy: ClassVar[str] = (
        "Treat one another with respect and professionalism - including adhering to boundaries "
        "agreed upon such as contact outside of sessions"
    )
    triggers: ClassVar[frozenset[str]] = MEETING_EVENTS
    Params: ClassVar[type[ContactParams]] = ContactParams

    def evaluate(self, event: Event, context: Context, params: ContactParams) -> list[Decision]:
        meeting = context.meeting
        if meeting is None or meeting.ended_at is None:  # judged once the meeting is over
            return []
        if context.pairing is not None:
            return self._strangers(context)
        if not context.program_people:
            return []
        if len(meeting.participants) < 2:  # someone alone in a room is not contact
            return []
        roles = Counter(p.role for p in context.program_people)
        who = ", ".join(f"{n} {role}{'s' if n > 1 else ''}" for role, n in sorted(roles.items()))
        names = ", ".join(sorted(p.name for p in context.program_people))
        return [
            Alert(
                key=f"{self.id}:meeting:{meeting.id}",
                rule_id=self.id,
                title=f"A {meeting.platform} meeting with program participants matches no pairing",
                reason=(
                    f"{meeting.platform} meeting {meeting.external_id} "
                    f"(instance {meeting.instance_uuid}) was attended by {who} ({names}) "
                    f"but matches no registered pairing. Policy: {self.policy}"
                ),
                priority=Priority.HIGH,
            )
        ]

    def _strangers(self, context: Context) -> list[Decision]:
        """A pairing's session joined by people the program does not know."""
        meeting, pairing = context.meeting, context.pairing
        assert meeting is not None and pairing is not None
        unknown = [p for p in meeting.participants if p.person_id is None and p.attended_seconds]
        if not unknown:
            return []
        names = ", ".join(sorted(p.name or "unnamed" for p in unknown))
        return [
            Alert(
                key=f"{self.id}:meeting:{meeting.id}:unknown",
                rule_id=self.id,
                pairing_id=pairing.id,
                title=f"Unknown participants joined a session of pairing P{pairing.id}",
                reason=f"{len(unknown)} participant(s) not registered in the program "
                f"({names}) joined {meeting.platform} meeting {meeting.external_id}. "
                f"Policy: {self.policy}",
                priority=Priority.HIGH,
            )
        ]
