"""`approved-platform`: sessions happen only on approved, secure platforms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from connector.domain import (
    MEETING_EVENTS,
    Alert,
    Decision,
    Event,
    MeetingSecurityReported,
    Priority,
)
from rules.base import Context

IN_PERSON = "in_person"


@dataclass(frozen=True)
class PlatformParams:
    # Which of the platform's safeguards the program requires (issue: passcode, waiting room
    # or lobby, authentication). Zoom enforces at least one of them on every meeting.
    require_passcode: bool = True
    require_waiting_room: bool = True
    require_authentication: bool = False


class ApprovedPlatform:
    id: ClassVar[str] = "approved-platform"
    policy: ClassVar[str] = (
        "All mentorship sessions must take place on approved secure online platforms that "
        "comply with our privacy and security standards."
    )
    triggers: ClassVar[frozenset[str]] = MEETING_EVENTS
    Params: ClassVar[type[PlatformParams]] = PlatformParams

    def evaluate(self, event: Event, context: Context, params: PlatformParams) -> list[Decision]:
        meeting = context.meeting
        if meeting is None or (context.pairing is None and not context.program_people):
            return []
        if isinstance(event, MeetingSecurityReported):
            return self._security(event, context, params)
        platform = meeting.platform
        allowed = (
            context.in_person_allowed
            if platform == IN_PERSON
            else platform in context.approved_platforms
        )
        if allowed:
            return []
        what = "an in-person session" if platform == IN_PERSON else f"a {platform} session"
        return [
            Alert(
                key=f"{self.id}:meeting:{meeting.id}:platform",
                rule_id=self.id,
                pairing_id=context.pairing.id if context.pairing else None,
                title=f"{what[0].upper()}{what[1:]} was held outside the approved platforms",
                reason=f"The program allows {', '.join(context.approved_platforms)}"
                f"{' and in-person sessions' if context.in_person_allowed else ' only'}; "
                f"meeting {meeting.external_id} was {what}. Policy: {self.policy}",
                priority=Priority.HIGH,
            )
        ]

    def _security(
        self, event: MeetingSecurityReported, context: Context, params: PlatformParams
    ) -> list[Decision]:
        meeting = context.meeting
        assert meeting is not None
        required = (
            ("passcode", params.require_passcode, event.passcode),
            ("waiting room or lobby", params.require_waiting_room, event.waiting_room),
            ("authentication", params.require_authentication, event.authentication),
        )
        weak = [name for name, wanted, has in required if wanted and has is False]
        if not weak:
            return []
        return [
            Alert(
                key=f"{self.id}:meeting:{meeting.id}:security",
                rule_id=self.id,
                pairing_id=context.pairing.id if context.pairing else None,
                title=f"A {meeting.platform} session ran without {' or '.join(weak)}",
                reason=f"{meeting.platform} reports meeting {meeting.external_id} without "
                f"{', '.join(weak)}, which the program requires. Policy: {self.policy}",
                priority=Priority.HIGH,
            )
        ]
