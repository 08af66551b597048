"""`staff-check-in`: administrators check in regularly with both parties of a pairing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import ClassVar

from connector.domain import Alert, Decision, Event, Priority, Task
from rules.base import Context
from rules.calendar import local_date, start_of_day_utc

PARTIES = ("mentor", "mentee")


@dataclass(frozen=True)
class CheckInParams:
    # MENTOR's Elements of Effective Practice, Standard 5: "at least twice during the first
    # month of the match and once a month thereafter".
    first_month_check_ins: int = 2
    first_month_days: int = 30
    then_every_days: int = 30
    remind_days_before: int = 3
    overdue_after_days: int = 0


@dataclass(frozen=True)
class CheckInFacts:
    """One party of an active pairing: check-ins in the first month, and the last one."""

    pairing_id: int
    party: str
    started_on: date
    first_month_count: int
    last_at: datetime | None


def next_due(facts: CheckInFacts, params: CheckInParams, today: date, timezone: str) -> date:
    """The date the next check-in with this party is due.

    During the first month, check-ins are spread evenly over it (day 15 and day 30 by
    default), and that schedule holds until its last check-in has turned overdue. After
    that, the next is due a period after the later of the last check-in and the first
    month's end: a first month that went without is alerted once, not held against the
    pairing forever.
    """
    first_month_end = facts.started_on + timedelta(days=params.first_month_days)
    if facts.first_month_count < params.first_month_check_ins and today <= first_month_grace(
        facts.started_on, params
    ):
        step = params.first_month_days / params.first_month_check_ins
        return facts.started_on + timedelta(days=round(step * (facts.first_month_count + 1)))
    last = local_date(facts.last_at, timezone) if facts.last_at else first_month_end
    return max(last, first_month_end) + timedelta(days=params.then_every_days)


def first_month_grace(started_on: date, params: CheckInParams) -> date:
    """The last day the first-month schedule applies: through the day its final check-in
    turns overdue, so that alert is raised before the monthly schedule takes over."""
    return started_on + timedelta(days=params.first_month_days + params.overdue_after_days + 1)


class StaffCheckIn:
    id: ClassVar[str] = "staff-check-in"
    policy: ClassVar[str] = (
        "The program administrators will conduct regular check-ins with both mentors and "
        "mentees to ensure that the mentorship is progressing positively and that the safety "
        "guidelines are being followed."
    )
    triggers: ClassVar[frozenset[str]] = frozenset()  # time-based only
    Params: ClassVar[type[CheckInParams]] = CheckInParams
    Facts: ClassVar[type[CheckInFacts]] = CheckInFacts

    def evaluate(self, event: Event, context: Context, params: CheckInParams) -> list[Decision]:
        return []

    def decide(
        self, facts: CheckInFacts, context: Context, params: CheckInParams
    ) -> list[Decision]:
        today = local_date(context.now, context.timezone)
        due = next_due(facts, params, today, context.timezone)
        key = f"{self.id}:pairing:{facts.pairing_id}:{facts.party}:{due.isoformat()}"
        out: list[Decision] = []
        if today >= due - timedelta(days=params.remind_days_before):
            out.append(
                Task(
                    key=f"{key}:due",
                    rule_id=self.id,
                    pairing_id=facts.pairing_id,
                    title=f"Check in with the {facts.party} of pairing P{facts.pairing_id} "
                    f"by {due:%d %B %Y}",
                    reason=f"A check-in with the {facts.party} of P{facts.pairing_id} is due on "
                    f"{due.isoformat()}. Policy: {self.policy}",
                    due=start_of_day_utc(due, context.timezone),
                )
            )
        if today > due + timedelta(days=params.overdue_after_days):
            out.append(
                Alert(
                    key=f"{key}:overdue",
                    rule_id=self.id,
                    pairing_id=facts.pairing_id,
                    title=f"The check-in with the {facts.party} of P{facts.pairing_id} is overdue",
                    reason=f"It was due on {due.isoformat()}. Policy: {self.policy}",
                    priority=Priority.HIGH,
                )
            )
        return out
