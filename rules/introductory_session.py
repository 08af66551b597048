"""`introductory-session`: pairs start with an introductory session that sets goals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

from connector.domain import (
    MEETING_EVENTS,
    Decision,
    Event,
    MeetingKind,
    Task,
)
from rules.base import Context
from rules.calendar import local_date


@dataclass(frozen=True)
class IntroParams:
    first_session_within_days: int = 30
    goals_form: str = "goals"


@dataclass(frozen=True)
class IntroFacts:
    """An active pairing with no held session yet (from `connector.checks`)."""

    pairing_id: int
    started_on: date


class IntroductorySession:
    id: ClassVar[str] = "introductory-session"
    policy: ClassVar[str] = (
        "Mentors and mentees will participate in an introductory session to establish goals "
        "and expectations."
    )
    triggers: ClassVar[frozenset[str]] = MEETING_EVENTS
    Params: ClassVar[type[IntroParams]] = IntroParams
    Facts: ClassVar[type[IntroFacts]] = IntroFacts

    def evaluate(self, event: Event, context: Context, params: IntroParams) -> list[Decision]:
        pairing, meeting = context.pairing, context.meeting
        if pairing is None or meeting is None or meeting.kind != MeetingKind.INTRO:
            return []
        if pairing.submitted("mentor", params.goals_form) and pairing.submitted(
            "mentee", params.goals_form
        ):
            return []
        return [
            Task(
                key=f"{self.id}:pairing:{pairing.id}:goals",
                rule_id=self.id,
                pairing_id=pairing.id,
                title=f"Record the goals and expectations {pairing.mentor.name} and "
                f"{pairing.mentee.name} set in their introductory session",
                reason=f"Pairing P{pairing.id} held its first session. Policy: {self.policy}",
            )
        ]

    def decide(self, facts: IntroFacts, context: Context, params: IntroParams) -> list[Decision]:
        deadline = facts.started_on + timedelta(days=params.first_session_within_days)
        if local_date(context.now, context.timezone) <= deadline:
            return []
        return [
            Task(
                key=f"{self.id}:pairing:{facts.pairing_id}:no-first-session",
                rule_id=self.id,
                pairing_id=facts.pairing_id,
                title=f"Pairing P{facts.pairing_id} has not held its introductory session",
                reason=f"Pairing P{facts.pairing_id} started on {facts.started_on.isoformat()} and "
                f"has held no session within {params.first_session_within_days} days. "
                f"Policy: {self.policy}",
                audience="coordinator",
            )
        ]
