"""`staff-check-in`, as a specification.

Policy (Safety & Confidentiality, 3. Meetings): "The program administrators will conduct
regular check-ins with both mentors and mentees to ensure that the mentorship is progressing
positively and that the safety guidelines are being followed."

Truth table: staff check in with each party `first_month_check_ins` (2) times in the first
`first_month_days` (30) days, spread evenly: the first is due on day 15, the second on day
30. After the first month the next is due `then_every_days` (30) days after the later of the
last check-in (its date in the program time zone) and the first month's end. From
`remind_days_before` (3) days before the due date the coordinator has a task, keyed
`staff-check-in:pairing:<id>:<party>:<due date>:due`, whose `due` is the start of the due day
in the program time zone; from the day after the due date, an alert, `…:overdue`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from connector.domain import Alert, Decision, Priority, Task
from rules.staff_check_in import CheckInFacts, CheckInParams, StaffCheckIn, next_due
from tests.rules.views import PAIRING_ID, context

RULE = StaffCheckIn()
DEFAULT = CheckInParams()
THREE = CheckInParams(first_month_check_ins=3)
GRACE = CheckInParams(overdue_after_days=2)
NEW_YORK = "America/New_York"

STARTED = date(2026, 10, 1)


def day(n: int) -> date:
    """Day `n` of the pairing: day 0 is the day it started."""
    return STARTED + timedelta(days=n)


def utc(on: date, hour: int = 12) -> datetime:
    return datetime(on.year, on.month, on.day, hour, 0, tzinfo=UTC)


def due(on: date, party: str = "mentor") -> tuple[type[Decision], str]:
    return (Task, f"staff-check-in:pairing:{PAIRING_ID}:{party}:{on.isoformat()}:due")


def overdue(on: date, party: str = "mentor") -> tuple[type[Decision], str]:
    return (Alert, f"staff-check-in:pairing:{PAIRING_ID}:{party}:{on.isoformat()}:overdue")


@dataclass(frozen=True)
class Row:
    id: str
    today: date
    first_month_count: int
    last_at: datetime | None
    expected: list[tuple[type[Decision], str]]
    params: CheckInParams = DEFAULT


TRUTH_TABLE = [
    # First month, no check-in yet: the first is due on day 15.
    Row("first-month-0-day-11-nothing-yet", day(11), 0, None, []),
    Row("first-month-0-day-12-three-days-before", day(12), 0, None, [due(day(15))]),
    Row("first-month-0-day-15-due-date", day(15), 0, None, [due(day(15))]),
    Row("first-month-0-day-16-overdue", day(16), 0, None, [due(day(15)), overdue(day(15))]),
    Row(
        "first-month-0-day-30-still-the-day-15-one",
        day(30),
        0,
        None,
        [due(day(15)), overdue(day(15))],
    ),
    # First month, one check-in: the second is due on day 30.
    Row("first-month-1-day-26-nothing-yet", day(26), 1, utc(day(14)), []),
    Row("first-month-1-day-27-three-days-before", day(27), 1, utc(day(14)), [due(day(30))]),
    Row("first-month-1-day-30-due-date", day(30), 1, utc(day(14)), [due(day(30))]),
    Row(
        "first-month-1-day-31-overdue",
        day(31),
        1,
        utc(day(14)),
        [due(day(30)), overdue(day(30))],
    ),
    # Both first-month check-ins done: the next is a month after the first month's end.
    Row("first-month-2-done-day-28", day(28), 2, utc(day(25)), []),
    Row("first-month-2-done-day-57", day(57), 2, utc(day(25)), [due(day(60))]),
    # After the first month: a period after the later of the last check-in and day 30.
    Row("after-never-checked-in-day-56", day(56), 0, None, []),
    Row("after-never-checked-in-day-57", day(57), 0, None, [due(day(60))]),
    Row("after-never-checked-in-day-60", day(60), 0, None, [due(day(60))]),
    Row(
        "after-never-checked-in-day-61",
        day(61),
        0,
        None,
        [due(day(60)), overdue(day(60))],
    ),
    Row("after-last-before-month-end", day(57), 0, utc(day(20)), [due(day(60))]),
    Row("after-last-on-day-45-day-71", day(71), 0, utc(day(45)), []),
    Row("after-last-on-day-45-day-72", day(72), 0, utc(day(45)), [due(day(75))]),
    Row(
        "after-last-on-day-45-day-76",
        day(76),
        0,
        utc(day(45)),
        [due(day(75)), overdue(day(75))],
    ),
    # Three first-month check-ins: days 10, 20 and 30.
    Row("three-0-day-7", day(7), 0, None, [due(day(10))], THREE),
    Row("three-0-day-11", day(11), 0, None, [due(day(10)), overdue(day(10))], THREE),
    Row("three-1-day-17", day(17), 1, utc(day(9)), [due(day(20))], THREE),
    Row("three-2-day-27", day(27), 2, utc(day(19)), [due(day(30))], THREE),
    # A grace period before the alert.
    Row("grace-2-day-17", day(17), 0, None, [due(day(15))], GRACE),
    Row("grace-2-day-18", day(18), 0, None, [due(day(15)), overdue(day(15))], GRACE),
]


def facts(row: Row, party: str = "mentor") -> CheckInFacts:
    return CheckInFacts(PAIRING_ID, party, STARTED, row.first_month_count, row.last_at)


@pytest.mark.parametrize("row", TRUTH_TABLE, ids=lambda row: row.id)
def test_truth_table(row: Row) -> None:
    decisions = RULE.decide(facts(row), context(now=utc(row.today), timezone="UTC"), row.params)

    assert [(type(d), d.key) for d in decisions] == row.expected
    for decision in decisions:
        assert isinstance(decision, Task | Alert)
        assert (decision.rule_id, decision.pairing_id, decision.audience) == (
            "staff-check-in",
            PAIRING_ID,
            "coordinator",
        )
        assert decision.confidential is False
        assert decision.reason.endswith(f"Policy: {RULE.policy}")
        if isinstance(decision, Alert):
            assert decision.priority == Priority.HIGH
        else:
            assert decision.priority == Priority.NORMAL


@pytest.mark.parametrize("row", [r for r in TRUTH_TABLE if r.expected], ids=lambda row: row.id)
def test_next_due_is_the_date_the_keys_name(row: Row) -> None:
    named = {key.split(":")[4] for _kind, key in row.expected}
    assert {next_due(facts(row), row.params, row.today, "UTC").isoformat()} == named


@pytest.mark.parametrize("party", ["mentor", "mentee"])
def test_each_party_has_its_own_key(party: str) -> None:
    row = Row("x", day(16), 0, None, [])
    decisions = RULE.decide(facts(row, party), context(now=utc(day(16))), DEFAULT)
    assert [(type(d), d.key) for d in decisions] == [
        due(day(15), party),
        overdue(day(15), party),
    ]
    task, alert = decisions
    assert task.title == f"Check in with the {party} of pairing P{PAIRING_ID} by 16 October 2026"
    assert alert.title == f"The check-in with the {party} of P{PAIRING_ID} is overdue"
    assert alert.reason.startswith("It was due on 2026-10-16.")


@pytest.mark.parametrize(
    ("timezone", "due_on", "due_at"),
    [
        ("UTC", date(2026, 12, 15), datetime(2026, 12, 15, 0, 0, tzinfo=UTC)),
        (NEW_YORK, date(2026, 12, 15), datetime(2026, 12, 15, 5, 0, tzinfo=UTC)),  # EST
        (NEW_YORK, date(2026, 7, 15), datetime(2026, 7, 15, 4, 0, tzinfo=UTC)),  # EDT
    ],
    ids=["utc", "new-york-winter", "new-york-summer"],
)
def test_the_task_is_due_at_the_start_of_the_due_day_in_the_program_time_zone(
    timezone: str, due_on: date, due_at: datetime
) -> None:
    # Started long ago, last check-in 30 days before the due date.
    last = datetime.combine(due_on - timedelta(days=30), datetime.min.time(), tzinfo=UTC)
    last += timedelta(hours=12)
    f = CheckInFacts(PAIRING_ID, "mentor", date(2026, 1, 1), 0, last)
    (task,) = RULE.decide(f, context(now=utc(due_on), timezone=timezone), DEFAULT)
    assert isinstance(task, Task)
    assert task.key.endswith(f":{due_on.isoformat()}:due")
    assert task.due == due_at


# 02:00 UTC on 16 November is 21:00 on 15 November in New York.
LAST_AT_0200Z = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("timezone", "expected"),
    [
        (NEW_YORK, [due(date(2026, 12, 15))]),  # last check-in on the 15th: due 15 December
        ("UTC", []),  # last check-in on the 16th: due 16 December, task from the 13th
    ],
    ids=["new-york", "utc"],
)
def test_the_last_check_in_counts_on_its_date_in_the_program_time_zone(
    timezone: str, expected: list[tuple[type[Decision], str]]
) -> None:
    f = CheckInFacts(PAIRING_ID, "mentor", STARTED, 0, LAST_AT_0200Z)
    now = datetime(2026, 12, 12, 15, 0, tzinfo=UTC)  # 12 December in both zones
    decisions = RULE.decide(f, context(now=now, timezone=timezone), DEFAULT)
    assert [(type(d), d.key) for d in decisions] == expected
