"""`feedback-after-sessions`: both parties give feedback after the pairing's Nth session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from connector.domain import (
    Decision,
    Event,
    MeetingEnded,
    PairingStatus,
    ParticipantJoined,
    ParticipantLeft,
    Task,
)
from rules.base import Context


@dataclass(frozen=True)
class FeedbackParams:
    after_sessions: int = 2  # "after two sessions"


class FeedbackAfterSessions:
    id: ClassVar[str] = "feedback-after-sessions"
    policy: ClassVar[str] = (
        "Both mentors and mentees will be asked to provide feedback after two sessions to "
        "ensure alignment with their goals."
    )
    # Any event that can make a session count as held; the key keeps it to one task.
    triggers: ClassVar[frozenset[str]] = frozenset(
        {MeetingEnded.kind, ParticipantJoined.kind, ParticipantLeft.kind}
    )
    Params: ClassVar[type[FeedbackParams]] = FeedbackParams

    def evaluate(self, event: Event, context: Context, params: FeedbackParams) -> list[Decision]:
        pairing = context.pairing
        if pairing is None or pairing.status not in (PairingStatus.ACTIVE, PairingStatus.CLOSING):
            return []
        n = params.after_sessions
        if pairing.held_sessions < n:
            return []
        return [
            Task(
                key=f"{self.id}:pairing:{pairing.id}:session-{n}",
                rule_id=self.id,
                pairing_id=pairing.id,
                title=(
                    f"Collect feedback from {pairing.mentor.name} (mentor) and "
                    f"{pairing.mentee.name} (mentee) after session {n}"
                ),
                reason=(
                    f"Pairing P{pairing.id} has held {pairing.held_sessions} sessions. "
                    f"Policy: {self.policy}"
                ),
            )
        ]
