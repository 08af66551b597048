"""`introductory-session`, as a specification.

Policy (Mentoring Policy and Procedure, Procedure): "Mentors and mentees will participate in
an introductory session to establish goals and expectations."

Truth table (evaluate): a pairing's introductory session (a meeting of kind `intro`) gives the
coordinator one task to record the goals and expectations,
`introductory-session:pairing:<id>:goals`, unless both the mentor's and the mentee's `goals`
forms are in. Other meetings, and meetings of no pairing, give nothing. Truth table (decide):
an active pairing with no held session gets a coordinator task, `…:no-first-session`, from
the day after `first_session_within_days` (30) days past its start, counted in the program's
time zone; the 30th day itself is still within the deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from connector.domain import MeetingEnded, Priority, Task
from rules.introductory_session import IntroductorySession, IntroFacts, IntroParams
from tests.rules.views import PAIRING_ID, context, meeting, pairing

RULE = IntroductorySession()
DEFAULT = IntroParams()
KEY = f"introductory-session:pairing:{PAIRING_ID}"

ENDED = MeetingEnded(
    platform="zoom",
    meeting_id="81234567890",
    instance_uuid="uuid-42==",
    started_at=datetime(2026, 11, 2, 14, 0, tzinfo=UTC),
    ended_at=datetime(2026, 11, 2, 14, 45, tzinfo=UTC),
)
MENTOR_GOALS, MENTEE_GOALS = ("mentor", "goals"), ("mentee", "goals")


# --------------------------------------------------------------------------- evaluate()


@dataclass(frozen=True)
class Row:
    id: str
    kind: str | None
    submissions: frozenset[tuple[str, str]]
    task: bool
    params: IntroParams = DEFAULT


TRUTH_TABLE = [
    Row("intro-no-goals-in", "intro", frozenset(), True),
    Row("intro-mentor-goals-only", "intro", frozenset({MENTOR_GOALS}), True),
    Row("intro-mentee-goals-only", "intro", frozenset({MENTEE_GOALS}), True),
    Row("intro-both-goals-in", "intro", frozenset({MENTOR_GOALS, MENTEE_GOALS}), False),
    Row(
        "intro-other-forms-do-not-count",
        "intro",
        frozenset({("mentor", "feedback"), ("mentee", "feedback")}),
        True,
    ),
    Row(
        "intro-custom-form-both-in",
        "intro",
        frozenset({("mentor", "intake"), ("mentee", "intake")}),
        False,
        IntroParams(goals_form="intake"),
    ),
    Row(
        "intro-custom-form-goals-do-not-count",
        "intro",
        frozenset({MENTOR_GOALS, MENTEE_GOALS}),
        True,
        IntroParams(goals_form="intake"),
    ),
    Row("regular-session", "regular", frozenset(), False),
    Row("closing-session", "closing", frozenset(), False),
    Row("not-held-no-kind", None, frozenset(), False),
]


@pytest.mark.parametrize("row", TRUTH_TABLE, ids=lambda row: row.id)
def test_truth_table(row: Row) -> None:
    ctx = context(
        pairing=pairing(submissions=row.submissions, held_sessions=1),
        meeting=meeting(kind=row.kind, held=row.kind is not None),
    )
    decisions = RULE.evaluate(ENDED, ctx, row.params)

    if not row.task:
        assert decisions == []
        return
    assert [(type(d), d.key) for d in decisions] == [(Task, f"{KEY}:goals")]
    (task,) = decisions
    assert isinstance(task, Task)
    assert (task.rule_id, task.pairing_id, task.audience, task.priority) == (
        "introductory-session",
        PAIRING_ID,
        "coordinator",
        Priority.NORMAL,
    )
    assert task.confidential is False
    assert task.title == (
        "Record the goals and expectations Maya and Eli set in their introductory session"
    )
    assert task.reason == f"Pairing P{PAIRING_ID} held its first session. Policy: {RULE.policy}"


@pytest.mark.parametrize(
    ("with_pairing", "with_meeting"),
    [(False, True), (True, False)],
    ids=["no-pairing", "no-meeting"],
)
def test_no_decision_without_a_pairing_or_a_meeting(with_pairing: bool, with_meeting: bool) -> None:
    ctx = context(
        pairing=pairing() if with_pairing else None,
        meeting=meeting(kind="intro", held=True) if with_meeting else None,
    )
    assert RULE.evaluate(ENDED, ctx, DEFAULT) == []


# --------------------------------------------------------------------------- decide()

STARTED = date(2026, 10, 1)  # day 30 is 31 October


@dataclass(frozen=True)
class DeadlineRow:
    id: str
    now: datetime
    timezone: str
    task: bool
    params: IntroParams = DEFAULT


def utc(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=UTC)


DEADLINE_TABLE = [
    DeadlineRow("day-29", utc(2026, 10, 30), "UTC", False),
    DeadlineRow("day-30-deadline-day", utc(2026, 10, 31, 23), "UTC", False),
    DeadlineRow("day-31-first-minute", utc(2026, 11, 1, 0), "UTC", True),
    DeadlineRow("day-90", utc(2026, 12, 30), "UTC", True),
    # 03:00 UTC on 1 November is 23:00 on 31 October in New York (EDT): still day 30 there.
    DeadlineRow("nov-1-0300z-utc", utc(2026, 11, 1, 3), "UTC", True),
    DeadlineRow("nov-1-0300z-new-york", utc(2026, 11, 1, 3), "America/New_York", False),
    # 16:00 UTC on 31 October is 01:00 on 1 November in Tokyo: already day 31 there.
    DeadlineRow("oct-31-1600z-utc", utc(2026, 10, 31, 16), "UTC", False),
    DeadlineRow("oct-31-1600z-tokyo", utc(2026, 10, 31, 16), "Asia/Tokyo", True),
    DeadlineRow(
        "14-days-day-14", utc(2026, 10, 15), "UTC", False, IntroParams(first_session_within_days=14)
    ),
    DeadlineRow(
        "14-days-day-15", utc(2026, 10, 16), "UTC", True, IntroParams(first_session_within_days=14)
    ),
]


@pytest.mark.parametrize("row", DEADLINE_TABLE, ids=lambda row: row.id)
def test_deadline_truth_table(row: DeadlineRow) -> None:
    facts = IntroFacts(PAIRING_ID, STARTED)
    decisions = RULE.decide(facts, context(now=row.now, timezone=row.timezone), row.params)

    if not row.task:
        assert decisions == []
        return
    assert [(type(d), d.key) for d in decisions] == [(Task, f"{KEY}:no-first-session")]
    (task,) = decisions
    assert isinstance(task, Task)
    assert (task.rule_id, task.pairing_id, task.audience, task.priority) == (
        "introductory-session",
        PAIRING_ID,
        "coordinator",
        Priority.NORMAL,
    )
    assert task.title == f"Pairing P{PAIRING_ID} has not held its introductory session"
    days = row.params.first_session_within_days
    assert task.reason == (
        f"Pairing P{PAIRING_ID} started on 2026-10-01 and has held no session within {days} "
        f"days. Policy: {RULE.policy}"
    )


def test_the_deadline_is_counted_from_the_start_date() -> None:
    """The same moment is past the deadline for an older pairing only."""
    now = context(now=utc(2026, 11, 1), timezone="UTC")
    older = IntroFacts(PAIRING_ID, STARTED)
    younger = IntroFacts(PAIRING_ID, STARTED + timedelta(days=1))
    assert [d.key for d in RULE.decide(older, now, DEFAULT)] == [f"{KEY}:no-first-session"]
    assert RULE.decide(younger, now, DEFAULT) == []
