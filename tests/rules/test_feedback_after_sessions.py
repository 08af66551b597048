"""`feedback-after-sessions`, as a specification.

Policy (Mentoring Policy and Procedure, Procedure): "Both mentors and mentees will be asked
to provide feedback after two sessions to ensure alignment with their goals."

Truth table: once an open pairing (active or closing) has held N sessions (N = 2 by
default, `after_sessions`), the coordinator gets one task to collect feedback from both
parties. Its key names the Nth session, so a third, fourth… session yields the same key and
the outbox keeps exactly one task per pairing. Proposed and closed pairings get nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from connector.domain import MeetingEnded, ParticipantJoined, Task
from rules.engine import evaluate
from rules.feedback_after_sessions import FeedbackAfterSessions, FeedbackParams
from tests.rules.views import PAIRING_ID, context, meeting, pairing

RULE = FeedbackAfterSessions()
DEFAULT = FeedbackParams()
AFTER_THREE = FeedbackParams(after_sessions=3)
KEY = f"feedback-after-sessions:pairing:{PAIRING_ID}"

ENDED = MeetingEnded(
    platform="zoom",
    meeting_id="81234567890",
    instance_uuid="uuid-42==",
    started_at=datetime(2026, 11, 2, 14, 0, tzinfo=UTC),
    ended_at=datetime(2026, 11, 2, 14, 45, tzinfo=UTC),
)


@dataclass(frozen=True)
class Row:
    id: str
    status: str
    held_sessions: int
    params: FeedbackParams
    key: str | None  # the one task's key; None: no decision


TRUTH_TABLE = [
    Row("no-session-held", "active", 0, DEFAULT, None),
    Row("one-session-held", "active", 1, DEFAULT, None),
    Row("second-session-held", "active", 2, DEFAULT, f"{KEY}:session-2"),
    Row("third-session-same-key", "active", 3, DEFAULT, f"{KEY}:session-2"),
    Row("tenth-session-same-key", "active", 10, DEFAULT, f"{KEY}:session-2"),
    Row("closing-pairing", "closing", 2, DEFAULT, f"{KEY}:session-2"),
    Row("proposed-pairing", "proposed", 2, DEFAULT, None),
    Row("closed-pairing", "closed", 5, DEFAULT, None),
    Row("after-three-two-held", "active", 2, AFTER_THREE, None),
    Row("after-three-three-held", "active", 3, AFTER_THREE, f"{KEY}:session-3"),
    Row("after-three-four-held", "active", 4, AFTER_THREE, f"{KEY}:session-3"),
]


@pytest.mark.parametrize("row", TRUTH_TABLE, ids=lambda row: row.id)
def test_truth_table(row: Row) -> None:
    ctx = context(pairing=pairing(status=row.status, held_sessions=row.held_sessions))
    decisions = RULE.evaluate(ENDED, ctx, row.params)

    if row.key is None:
        assert decisions == []
        return
    assert [(type(d), d.key) for d in decisions] == [(Task, row.key)]
    (task,) = decisions
    assert isinstance(task, Task)
    assert (task.rule_id, task.pairing_id, task.audience) == (
        "feedback-after-sessions",
        PAIRING_ID,
        "coordinator",
    )
    assert "Maya (mentor)" in task.title and "Eli (mentee)" in task.title
    assert task.title.endswith(f"after session {row.params.after_sessions}")
    assert f"has held {row.held_sessions} sessions" in task.reason


def test_no_decision_without_a_pairing() -> None:
    assert RULE.evaluate(ENDED, context(meeting=meeting()), DEFAULT) == []


def test_one_task_per_pairing_however_many_events_say_so() -> None:
    """Every join, leave and end after the 2nd session re-asks; the key collapses them."""
    joined = ParticipantJoined(
        platform="zoom",
        meeting_id="81234567890",
        instance_uuid="uuid-42==",
        participant_key="email:maya@example.org",
        at=datetime(2026, 11, 2, 14, 0, tzinfo=UTC),
    )
    keys = {
        decision.key
        for held in (2, 2, 3, 4)
        for event in (joined, ENDED)
        for decision in evaluate(event, context(pairing=pairing(held_sessions=held)), [RULE], {})
    }
    assert keys == {f"{KEY}:session-2"}
