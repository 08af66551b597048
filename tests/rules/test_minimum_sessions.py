"""`minimum-sessions`, as a specification.

Policy (Mentoring Policy and Procedure, Procedure): "A minimum of three session is required
for each mentoring relationship, unless there are extenuating circumstances which prevent
this."

Truth table (gate): closing a pairing is refused while it has held fewer than `minimum` (3 by
default) sessions and no extenuating circumstances are recorded on it; the refusal says how
many of the required sessions were held and how to proceed. Any other change of status is
not this rule's business. Truth table (evaluate): a pairing moving to closing short of the
minimum gets one coordinator task; nothing otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from connector.domain import PairingStatusChanged, Priority, Task
from rules.base import Refusal, Transition
from rules.minimum_sessions import MinimumParams, MinimumSessions
from tests.rules.views import PAIRING_ID, context, pairing

RULE = MinimumSessions()
DEFAULT = MinimumParams()
TWO = MinimumParams(minimum=2)
EXTENUATING = "Mentee relocated abroad after the second month"
TO_CLOSED = Transition("closing", "closed")


def refused(held: int, minimum: int = 3) -> str:
    return (
        f"Pairing P{PAIRING_ID} has held {held} of the {minimum} sessions the policy requires; "
        "record the extenuating circumstances to close it."
    )


# --------------------------------------------------------------------------- gate()


@dataclass(frozen=True)
class Row:
    id: str
    transition: Transition
    held: int
    extenuating: str | None
    params: MinimumParams
    message: str | None  # the refusal's message; None: allowed


TRUTH_TABLE = [
    Row("closed-after-0", TO_CLOSED, 0, None, DEFAULT, refused(0)),
    Row("closed-after-1", TO_CLOSED, 1, None, DEFAULT, refused(1)),
    Row("closed-after-2", TO_CLOSED, 2, None, DEFAULT, refused(2)),
    Row("closed-after-3-the-minimum", TO_CLOSED, 3, None, DEFAULT, None),
    Row("closed-after-4", TO_CLOSED, 4, None, DEFAULT, None),
    Row("closed-after-0-with-extenuating-circumstances", TO_CLOSED, 0, EXTENUATING, DEFAULT, None),
    Row("closed-after-2-with-extenuating-circumstances", TO_CLOSED, 2, EXTENUATING, DEFAULT, None),
    Row(
        "closed-straight-from-active-after-1",
        Transition("active", "closed"),
        1,
        None,
        DEFAULT,
        refused(1),
    ),
    Row("minimum-2-closed-after-1", TO_CLOSED, 1, None, TWO, refused(1, minimum=2)),
    Row("minimum-2-closed-after-2", TO_CLOSED, 2, None, TWO, None),
    Row("to-closing-after-0", Transition("active", "closing"), 0, None, DEFAULT, None),
    Row("to-active-after-0", Transition("proposed", "active"), 0, None, DEFAULT, None),
    Row("to-proposed-after-0", Transition(None, "proposed"), 0, None, DEFAULT, None),
]


@pytest.mark.parametrize("row", TRUTH_TABLE, ids=lambda row: row.id)
def test_gate_truth_table(row: Row) -> None:
    ctx = context(
        pairing=pairing(
            status=row.transition.status_from or "proposed",
            held_sessions=row.held,
            extenuating_circumstances=row.extenuating,
        )
    )
    refusal = RULE.gate(row.transition, ctx, row.params)

    if row.message is None:
        assert refusal is None
        return
    assert refusal == Refusal("minimum-sessions", row.message)


def test_gate_override_reason_is_not_extenuating_circumstances() -> None:
    """Only circumstances recorded on the pairing (and audited) lift the minimum."""
    ctx = context(pairing=pairing(status="closing", held_sessions=1))
    transition = Transition("closing", "closed", override_reason="Programme ended early")
    assert RULE.gate(transition, ctx, DEFAULT) == Refusal("minimum-sessions", refused(1))


def test_gate_without_a_pairing_allows() -> None:
    assert RULE.gate(TO_CLOSED, context(), DEFAULT) is None


# --------------------------------------------------------------------------- evaluate()


@dataclass(frozen=True)
class EventRow:
    id: str
    status_to: str
    held: int
    extenuating: str | None
    params: MinimumParams
    task: bool


EVENT_TABLE = [
    EventRow("closing-after-0", "closing", 0, None, DEFAULT, True),
    EventRow("closing-after-2", "closing", 2, None, DEFAULT, True),
    EventRow("closing-after-3", "closing", 3, None, DEFAULT, False),
    EventRow("closing-after-4", "closing", 4, None, DEFAULT, False),
    EventRow(
        "closing-after-2-with-extenuating-circumstances", "closing", 2, EXTENUATING, DEFAULT, False
    ),
    EventRow("minimum-2-closing-after-1", "closing", 1, None, TWO, True),
    EventRow("minimum-2-closing-after-2", "closing", 2, None, TWO, False),
    EventRow("activated-after-0", "active", 0, None, DEFAULT, False),
    EventRow("closed-after-0", "closed", 0, None, DEFAULT, False),
]


@pytest.mark.parametrize("row", EVENT_TABLE, ids=lambda row: row.id)
def test_evaluate_truth_table(row: EventRow) -> None:
    ctx = context(
        pairing=pairing(
            status=row.status_to,
            held_sessions=row.held,
            extenuating_circumstances=row.extenuating,
        )
    )
    decisions = RULE.evaluate(
        PairingStatusChanged(PAIRING_ID, "active", row.status_to), ctx, row.params
    )

    if not row.task:
        assert decisions == []
        return
    assert [(type(d), d.key) for d in decisions] == [
        (Task, f"minimum-sessions:pairing:{PAIRING_ID}:closing")
    ]
    (task,) = decisions
    assert isinstance(task, Task)
    assert (task.rule_id, task.pairing_id, task.priority, task.audience, task.confidential) == (
        "minimum-sessions",
        PAIRING_ID,
        Priority.NORMAL,
        "coordinator",
        False,
    )
    assert task.title == (
        f"Pairing P{PAIRING_ID} is closing after {row.held} of {row.params.minimum} sessions: "
        "hold more or record extenuating circumstances"
    )
    assert task.reason == (
        f"Pairing P{PAIRING_ID} has held {row.held} sessions. Policy: {RULE.policy}"
    )


def test_evaluate_without_a_pairing_decides_nothing() -> None:
    assert (
        RULE.evaluate(PairingStatusChanged(PAIRING_ID, "active", "closing"), context(), DEFAULT)
        == []
    )
