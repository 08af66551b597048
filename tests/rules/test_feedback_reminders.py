"""`feedback-after-sessions` reminders, as a specification.

Policy (Mentoring Policy and Procedure, Procedure): "Both mentors and mentees will be asked
to provide feedback after two sessions to ensure alignment with their goals."

Truth table: `remind_after_days` (7) after the pairing's `after_sessions`-th (2nd) held
session, to the second, each party whose `feedback` form has not come in gets a reminder
task for the coordinator, `feedback-after-sessions:pairing:<id>:session-<N>:remind-<party>`,
mentor first. Before then, or once both are in, nothing. (The task to collect feedback after
the Nth session is specified in `test_feedback_after_sessions.py`.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from connector.domain import Priority, Task
from rules.feedback_after_sessions import FeedbackAfterSessions, FeedbackFacts, FeedbackParams
from tests.rules.views import PAIRING_ID, context

RULE = FeedbackAfterSessions()
DEFAULT = FeedbackParams()
AFTER_THREE = FeedbackParams(after_sessions=3)
FORTNIGHT = FeedbackParams(remind_after_days=14)
KEY = f"feedback-after-sessions:pairing:{PAIRING_ID}"

SESSION_AT = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
WEEK, SECOND = timedelta(days=7), timedelta(seconds=1)


def remind(party: str, n: int = 2) -> str:
    return f"{KEY}:session-{n}:remind-{party}"


@dataclass(frozen=True)
class Row:
    id: str
    since: timedelta  # from the Nth session to now
    mentor_submitted: bool
    mentee_submitted: bool
    keys: list[str]
    params: FeedbackParams = DEFAULT


TRUTH_TABLE = [
    Row("a-day-after", timedelta(days=1), False, False, []),
    Row("a-second-short-of-a-week", WEEK - SECOND, False, False, []),
    Row("exactly-a-week", WEEK, False, False, [remind("mentor"), remind("mentee")]),
    Row("a-month-after", timedelta(days=30), False, False, [remind("mentor"), remind("mentee")]),
    Row("mentor-gave-feedback", WEEK, True, False, [remind("mentee")]),
    Row("mentee-gave-feedback", WEEK, False, True, [remind("mentor")]),
    Row("both-gave-feedback", WEEK, True, True, []),
    Row("both-gave-feedback-early", WEEK - SECOND, True, True, []),
    Row(
        "after-three-sessions",
        WEEK,
        False,
        False,
        [remind("mentor", 3), remind("mentee", 3)],
        AFTER_THREE,
    ),
    Row("fortnight-after-a-week", WEEK, False, False, [], FORTNIGHT),
    Row(
        "fortnight-after-a-fortnight",
        timedelta(days=14),
        False,
        True,
        [remind("mentor")],
        FORTNIGHT,
    ),
]


@pytest.mark.parametrize("row", TRUTH_TABLE, ids=lambda row: row.id)
def test_truth_table(row: Row) -> None:
    facts = FeedbackFacts(PAIRING_ID, SESSION_AT, row.mentor_submitted, row.mentee_submitted)
    ctx = context(now=SESSION_AT + row.since, timezone="UTC")
    decisions = RULE.decide(facts, ctx, row.params)

    assert [(type(d), d.key) for d in decisions] == [(Task, key) for key in row.keys]
    n, days = row.params.after_sessions, row.params.remind_after_days
    for task in decisions:
        assert isinstance(task, Task)
        party = task.key.rsplit("-", 1)[1]
        assert (task.rule_id, task.pairing_id, task.audience, task.priority) == (
            "feedback-after-sessions",
            PAIRING_ID,
            "coordinator",
            Priority.NORMAL,
        )
        assert task.confidential is False
        assert task.title == f"Remind the {party} of pairing P{PAIRING_ID} to give feedback"
        assert task.reason == (
            f"No feedback from the {party} {days} days after session {n} (2026-11-02). "
            f"Policy: {RULE.policy}"
        )
