"""`monthly-meeting`, as a specification.

Policy (Mentoring Policy and Procedure, Procedure): "Sessions should be scheduled regularly,
with a minimum of one meeting per month."

Truth table: months are calendar months of the program's time zone, and a pairing is held
to a month only when it was active from that month's first day (unless
`count_first_partial_month`, which holds it to the month it started in too). In the last
`at_risk_days_before_month_end` (7) days of a month with fewer than `sessions_per_month` (1)
held sessions the coordinator gets a task, `monthly-meeting:pairing:<id>:<YYYY-MM>:at-risk`;
"the last 7 days" are those with fewer than 7 days after them in the month (24-30 November).
Once a month is over short of sessions, an alert for it, `…:<YYYY-MM>:missed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from connector.domain import Alert, Decision, Priority, Task
from rules.monthly_meeting import MonthlyFacts, MonthlyMeeting, MonthlyParams
from tests.rules.views import PAIRING_ID, context

RULE = MonthlyMeeting()
DEFAULT = MonthlyParams()
PARTIAL = MonthlyParams(count_first_partial_month=True)
TWICE = MonthlyParams(sessions_per_month=2)
KEY = f"monthly-meeting:pairing:{PAIRING_ID}"
NEW_YORK = "America/New_York"

LONG_AGO = date(2026, 9, 1)  # active well before the months in question
OCT_FIRST, MID_OCT = date(2026, 10, 1), date(2026, 10, 15)
NOV_FIRST, MID_NOV = date(2026, 11, 1), date(2026, 11, 15)
# 03:00 UTC on 1 December is 22:00 on 30 November in New York.
DEC_FIRST_0300Z = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def noon(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, 0, tzinfo=UTC)


def at_risk(month: str) -> tuple[type[Decision], str]:
    return (Task, f"{KEY}:{month}:at-risk")


def missed(month: str) -> tuple[type[Decision], str]:
    return (Alert, f"{KEY}:{month}:missed")


@dataclass(frozen=True)
class Row:
    id: str
    now: datetime
    started_on: date
    held_this_month: int
    held_last_month: int
    expected: list[tuple[type[Decision], str]]
    params: MonthlyParams = DEFAULT
    timezone: str = "UTC"


TRUTH_TABLE = [
    # The at-risk window: the last 7 days of a month without a session.
    Row("nov-23-seven-days-left-not-yet-at-risk", noon(2026, 11, 23), LONG_AGO, 0, 1, []),
    Row(
        "nov-24-first-day-of-window-at-risk",
        noon(2026, 11, 24),
        LONG_AGO,
        0,
        1,
        [at_risk("2026-11")],
    ),
    Row("nov-30-last-day-at-risk", noon(2026, 11, 30), LONG_AGO, 0, 1, [at_risk("2026-11")]),
    Row("nov-30-one-session-held", noon(2026, 11, 30), LONG_AGO, 1, 1, []),
    Row("dec-24-day-before-window-31-day-month", noon(2026, 12, 24), LONG_AGO, 0, 1, []),
    Row("dec-25-first-day-31-day-month", noon(2026, 12, 25), LONG_AGO, 0, 1, [at_risk("2026-12")]),
    Row("feb-21-day-before-window-28-day-month", noon(2027, 2, 21), LONG_AGO, 0, 1, []),
    Row("feb-22-first-day-28-day-month", noon(2027, 2, 22), LONG_AGO, 0, 1, [at_risk("2027-02")]),
    Row("early-in-month-no-session-yet", noon(2026, 11, 2), LONG_AGO, 0, 1, []),
    # The missed alert for last month.
    Row("last-month-missed", noon(2026, 11, 2), LONG_AGO, 0, 0, [missed("2026-10")]),
    Row("last-month-met", noon(2026, 11, 2), LONG_AGO, 0, 1, []),
    Row(
        "first-day-of-month-alerts-for-the-last",
        noon(2026, 12, 1),
        LONG_AGO,
        0,
        0,
        [missed("2026-11")],
    ),
    Row(
        "missed-and-at-risk-together",
        noon(2026, 11, 28),
        LONG_AGO,
        0,
        0,
        [missed("2026-10"), at_risk("2026-11")],
    ),
    Row(
        "started-on-first-day-of-last-month",
        noon(2026, 11, 2),
        OCT_FIRST,
        0,
        0,
        [missed("2026-10")],
    ),
    Row("started-mid-last-month", noon(2026, 11, 2), MID_OCT, 0, 0, []),
    Row(
        "started-mid-last-month-partial-counts",
        noon(2026, 11, 2),
        MID_OCT,
        0,
        0,
        [missed("2026-10")],
        PARTIAL,
    ),
    Row("started-this-month-nothing-for-last", noon(2026, 11, 2), NOV_FIRST, 0, 0, []),
    # A month the pairing started in the middle of is not at risk, unless partial months count.
    Row("started-mid-this-month", noon(2026, 11, 28), MID_NOV, 0, 0, []),
    Row(
        "started-mid-this-month-partial-counts",
        noon(2026, 11, 28),
        MID_NOV,
        0,
        0,
        [at_risk("2026-11")],
        PARTIAL,
    ),
    Row("started-first-of-this-month", noon(2026, 11, 28), NOV_FIRST, 0, 0, [at_risk("2026-11")]),
    # The months are the program time zone's.
    Row(
        "dec-1-0300z-is-nov-30-in-new-york",
        DEC_FIRST_0300Z,
        LONG_AGO,
        0,
        0,
        [missed("2026-10"), at_risk("2026-11")],
        timezone=NEW_YORK,
    ),
    Row(
        "dec-1-0300z-is-december-in-utc",
        DEC_FIRST_0300Z,
        LONG_AGO,
        0,
        0,
        [missed("2026-11")],
    ),
    Row(
        "started-nov-1-new-york-october-not-held",
        DEC_FIRST_0300Z,
        NOV_FIRST,
        0,
        0,
        [at_risk("2026-11")],
        timezone=NEW_YORK,
    ),
    # Two sessions a month.
    Row("twice-one-held-at-risk", noon(2026, 11, 28), LONG_AGO, 1, 2, [at_risk("2026-11")], TWICE),
    Row("twice-two-held", noon(2026, 11, 28), LONG_AGO, 2, 2, [], TWICE),
    Row("twice-one-held-last-month", noon(2026, 11, 2), LONG_AGO, 0, 1, [missed("2026-10")], TWICE),
    Row("twice-three-held", noon(2026, 11, 28), LONG_AGO, 3, 3, [], TWICE),
]


def decide(row: Row) -> list[Decision]:
    facts = MonthlyFacts(PAIRING_ID, row.started_on, row.held_this_month, row.held_last_month)
    return RULE.decide(facts, context(now=row.now, timezone=row.timezone), row.params)


@pytest.mark.parametrize("row", TRUTH_TABLE, ids=lambda row: row.id)
def test_truth_table(row: Row) -> None:
    decisions = decide(row)

    assert [(type(d), d.key) for d in decisions] == row.expected
    for decision in decisions:
        assert isinstance(decision, Task | Alert)
        assert (decision.rule_id, decision.pairing_id, decision.audience) == (
            "monthly-meeting",
            PAIRING_ID,
            "coordinator",
        )
        assert decision.confidential is False
        expected_priority = Priority.HIGH if isinstance(decision, Alert) else Priority.NORMAL
        assert decision.priority == expected_priority
        assert decision.reason.endswith(f"Policy: {RULE.policy}")


def test_the_missed_alert_names_the_month_and_what_was_held() -> None:
    (alert,) = decide(Row("x", noon(2026, 11, 2), LONG_AGO, 0, 0, []))
    assert alert.title == f"Pairing P{PAIRING_ID} did not meet in October 2026"
    assert alert.reason.startswith(f"Pairing P{PAIRING_ID} held 0 sessions in October 2026.")


def test_the_at_risk_task_says_how_many_days_are_left() -> None:
    (task,) = decide(Row("x", noon(2026, 11, 24), LONG_AGO, 0, 1, []))
    assert task.title == f"Pairing P{PAIRING_ID} has not met yet in November 2026"
    assert task.reason.startswith("7 days are left in November 2026")


@pytest.mark.parametrize(
    "row",
    [
        Row("at-risk-with-one-of-two", noon(2026, 11, 28), LONG_AGO, 1, 2, [], TWICE),
        Row("missed-with-one-of-two", noon(2026, 11, 2), LONG_AGO, 2, 1, [], TWICE),
    ],
    ids=lambda row: row.id,
)
def test_a_month_short_of_two_sessions_is_not_called_sessionless(row: Row) -> None:
    """With `sessions_per_month = 2`, a month with one session is short, not empty: the
    decision must not tell the coordinator the pairing did not meet at all."""
    (decision,) = decide(row)
    assert isinstance(decision, Task | Alert)
    assert "has not met" not in decision.title
    assert "did not meet" not in decision.title
    assert "held no session" not in decision.reason
