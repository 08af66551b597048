"""`monthly-meeting`: pairs meet at least once every calendar month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from connector.domain import Alert, Decision, Event, Priority, Task
from rules.base import Context
from rules.calendar import local_date, month_key, month_start, next_month, previous_month


@dataclass(frozen=True)
class MonthlyParams:
    sessions_per_month: int = 1  # "a minimum of one meeting per month"
    at_risk_days_before_month_end: int = 7
    # A pairing that started mid-month is held to the months that began after its start.
    count_first_partial_month: bool = False


@dataclass(frozen=True)
class MonthlyFacts:
    """An active pairing's held sessions this and last calendar month (program time zone)."""

    pairing_id: int
    started_on: date
    held_this_month: int
    held_last_month: int


class MonthlyMeeting:
    id: ClassVar[str] = "monthly-meeting"
    policy: ClassVar[str] = (
        "Sessions should be scheduled regularly, with a minimum of one meeting per month."
    )
    triggers: ClassVar[frozenset[str]] = frozenset()  # time-based only
    Params: ClassVar[type[MonthlyParams]] = MonthlyParams
    Facts: ClassVar[type[MonthlyFacts]] = MonthlyFacts

    def evaluate(self, event: Event, context: Context, params: MonthlyParams) -> list[Decision]:
        return []

    def decide(
        self, facts: MonthlyFacts, context: Context, params: MonthlyParams
    ) -> list[Decision]:
        today = local_date(context.now, context.timezone)
        this_month, last_month = month_start(today), previous_month(today)
        out: list[Decision] = []
        if (
            _counts(facts.started_on, last_month, params)
            and facts.held_last_month < params.sessions_per_month
        ):
            out.append(
                Alert(
                    key=f"{self.id}:pairing:{facts.pairing_id}:{month_key(last_month)}:missed",
                    rule_id=self.id,
                    pairing_id=facts.pairing_id,
                    title=f"Pairing P{facts.pairing_id} "
                    f"{_shortfall(facts.held_last_month, params, 'did not meet', 'met')} "
                    f"in {last_month:%B %Y}",
                    reason=f"Pairing P{facts.pairing_id} held {facts.held_last_month} sessions "
                    f"in {last_month:%B %Y}{_asked(params)}. Policy: {self.policy}",
                    priority=Priority.HIGH,
                )
            )
        days_left = (next_month(today) - today).days - 1
        if (
            _counts(facts.started_on, this_month, params)
            and facts.held_this_month < params.sessions_per_month
            and days_left < params.at_risk_days_before_month_end
        ):
            out.append(
                Task(
                    key=f"{self.id}:pairing:{facts.pairing_id}:{month_key(this_month)}:at-risk",
                    rule_id=self.id,
                    pairing_id=facts.pairing_id,
                    title=f"Pairing P{facts.pairing_id} "
                    f"{_shortfall(facts.held_this_month, params, 'has not met yet', 'has met')} "
                    f"in {this_month:%B %Y}",
                    reason=f"{days_left + 1} days are left in {this_month:%B %Y} and pairing "
                    f"P{facts.pairing_id} has held {facts.held_this_month} sessions"
                    f"{_asked(params)}. Policy: {self.policy}",
                    priority=Priority.NORMAL,
                )
            )
        return out


def _counts(started_on: date, month: date, params: MonthlyParams) -> bool:
    """Whether the pairing is held to `month`: it was active from the month's first day."""
    if params.count_first_partial_month:
        return started_on < next_month(month)
    return started_on <= month


def _shortfall(held: int, params: MonthlyParams, none: str, some: str) -> str:
    """The title's verb: no session at all, or fewer than the program asks for."""
    if held == 0:
        return none
    return f"{some} only {held} of {params.sessions_per_month} times"


def _asked(params: MonthlyParams) -> str:
    n = params.sessions_per_month
    return f" (the program asks for {n})" if n > 1 else ""
