"""`feedback-after-sessions`: both parties give feedback after the pairing's Nth session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from connector.domain import (
    MEETING_EVENTS,
    Decision,
    Event,
    PairingStatus,
    Task,
)
from rules.base import Context


@dataclass(frozen=True)
class FeedbackParams:
    after_sessions: int = 2  # "after two sessions"
    remind_after_days: int = 7
    form: str = "feedback"


@dataclass(frozen=True)
class FeedbackFacts:
    """A pairing past its Nth held session, and who has given feedback (`connector.checks`)."""

    pairing_id: int
    nth_session_at: datetime
    mentor_submitted: bool
    mentee_submitted: bool


class FeedbackAfterSessions:
    id: ClassVar[str] = "feedback-after-sessions"
    policy: ClassVar[str] = (
        "Both mentors and mentees will be asked to provide feedback after two sessions to "
        "ensure alignment with their goals."
    )
    # Any event that can make a session count as held; the key keeps it to one task.
    triggers: ClassVar[frozenset[str]] = MEETING_EVENTS
    Params: ClassVar[type[FeedbackParams]] = FeedbackParams
    Facts: ClassVar[type[FeedbackFacts]] = FeedbackFacts

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

    def decide(
        self, facts: FeedbackFacts, context: Context, params: FeedbackParams
    ) -> list[Decision]:
        """A reminder per party whose feedback has not come in N days after the session."""
        if context.now < facts.nth_session_at + timedelta(days=params.remind_after_days):
            return []
        n = params.after_sessions
        return [
            Task(
                key=f"{self.id}:pairing:{facts.pairing_id}:session-{n}:remind-{party}",
                rule_id=self.id,
                pairing_id=facts.pairing_id,
                title=f"Remind the {party} of pairing P{facts.pairing_id} to give feedback",
                reason=f"No feedback from the {party} {params.remind_after_days} days after "
                f"session {n} ({facts.nth_session_at:%Y-%m-%d}). Policy: {self.policy}",
            )
            for party, submitted in (
                ("mentor", facts.mentor_submitted),
                ("mentee", facts.mentee_submitted),
            )
            if not submitted
        ]
