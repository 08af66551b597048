"""`concern-report`: mentees report concerns confidentially; they are addressed promptly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from connector.domain import Alert, ConcernReported, Decision, Event, Priority
from rules.base import Context


@dataclass(frozen=True)
class ConcernParams:
    acknowledge_within_hours: int = 24
    audience: str = "safeguarding"
    escalate_to: str = "admin"


@dataclass(frozen=True)
class ConcernFacts:
    """A concern not yet acknowledged (from `connector.checks`)."""

    concern_id: int
    reference: str
    created_at: datetime


class ConcernReport:
    id: ClassVar[str] = "concern-report"
    policy: ClassVar[str] = (
        "A clear reporting mechanism is in place for mentees to report any concerns or "
        "inappropriate behavior. This mechanism ensures that any issues are addressed promptly "
        "and appropriately, with confidentiality being maintained throughout the process."
    )
    triggers: ClassVar[frozenset[str]] = frozenset({ConcernReported.kind})
    Params: ClassVar[type[ConcernParams]] = ConcernParams
    Facts: ClassVar[type[ConcernFacts]] = ConcernFacts

    def evaluate(self, event: Event, context: Context, params: ConcernParams) -> list[Decision]:
        concern = context.concern
        if not isinstance(event, ConcernReported) or concern is None:
            return []
        deadline = concern.created_at + timedelta(hours=params.acknowledge_within_hours)
        return [
            Alert(
                key=f"{self.id}:concern:{concern.id}:reported",
                rule_id=self.id,
                pairing_id=concern.pairing_id,
                title=f"Concern {concern.reference} reported: acknowledge it by "
                f"{deadline:%Y-%m-%d %H:%M} UTC",
                reason=f"A concern was reported at {concern.created_at:%Y-%m-%d %H:%M} UTC. "
                f"Policy: {self.policy}",
                priority=Priority.CRITICAL,
                audience=params.audience,
                confidential=True,
            )
        ]

    def decide(
        self, facts: ConcernFacts, context: Context, params: ConcernParams
    ) -> list[Decision]:
        deadline = facts.created_at + timedelta(hours=params.acknowledge_within_hours)
        if context.now <= deadline:
            return []
        # No names and no content: the escalation goes to staff who may not see the concern.
        return [
            Alert(
                key=f"{self.id}:concern:{facts.concern_id}:escalated",
                rule_id=self.id,
                title=f"Concern {facts.reference} was not acknowledged within "
                f"{params.acknowledge_within_hours} hours",
                reason=f"Concern {facts.reference} has waited since "
                f"{facts.created_at:%Y-%m-%d %H:%M} UTC. Policy: {self.policy}",
                priority=Priority.CRITICAL,
                audience=params.escalate_to,
            )
        ]
