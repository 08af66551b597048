"""`closing-session`, as a specification.

Policy (Mentoring Policy and Procedure, Procedure): "Upon completion, mentors and mentees
will participate in a closing session to reflect on achievements and provide program
feedback."

Truth table (gate): a pairing is closed only when a closing session was held and both the
mentor's and the mentee's `closing_reflection` forms are in; otherwise the refusal lists
exactly what is missing. An override reason, given with the transition or already kept on
the pairing, lets it close. Truth table (evaluate): moving to closing gives the coordinator
one task to hold the closing session and collect both reflections.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from connector.domain import PairingStatusChanged, Priority, Task
from rules.base import Refusal, Transition
from rules.closing_session import ClosingParams, ClosingSession
from tests.rules.views import PAIRING_ID, context, pairing

RULE = ClosingSession()
DEFAULT = ClosingParams()
TO_CLOSED = Transition("closing", "closed")
OVERRIDE = "Mentee left the country; reflection taken by phone"

NO_SESSION = "no closing session was held"
NO_MENTOR = "the mentor's reflection and program feedback are missing"
NO_MENTEE = "the mentee's reflection and program feedback are missing"
MENTOR_IN = ("mentor", "closing_reflection")
MENTEE_IN = ("mentee", "closing_reflection")


def refused(*missing: str) -> str:
    return (
        f"Pairing P{PAIRING_ID} cannot be closed yet: {', '.join(missing)}. "
        "Collect them, or give an override reason."
    )


# --------------------------------------------------------------------------- gate()


@dataclass(frozen=True)
class Row:
    id: str
    session_held: bool
    submissions: frozenset[tuple[str, str]]
    message: str | None  # the refusal's message; None: allowed
    override_reason: str | None = None  # given with the transition
    closing_override_reason: str | None = None  # kept on the pairing


TRUTH_TABLE = [
    Row("nothing", False, frozenset(), refused(NO_SESSION, NO_MENTOR, NO_MENTEE)),
    Row("mentor-reflection-only", False, frozenset({MENTOR_IN}), refused(NO_SESSION, NO_MENTEE)),
    Row("mentee-reflection-only", False, frozenset({MENTEE_IN}), refused(NO_SESSION, NO_MENTOR)),
    Row(
        "both-reflections-no-session", False, frozenset({MENTOR_IN, MENTEE_IN}), refused(NO_SESSION)
    ),
    Row("session-only", True, frozenset(), refused(NO_MENTOR, NO_MENTEE)),
    Row("session-and-mentor-reflection", True, frozenset({MENTOR_IN}), refused(NO_MENTEE)),
    Row("session-and-mentee-reflection", True, frozenset({MENTEE_IN}), refused(NO_MENTOR)),
    Row("session-and-both-reflections", True, frozenset({MENTOR_IN, MENTEE_IN}), None),
    Row(
        "other-forms-are-not-reflections",
        True,
        frozenset({("mentor", "feedback"), ("mentee", "goals"), MENTEE_IN}),
        refused(NO_MENTOR),
    ),
    Row("nothing-override-in-transition", False, frozenset(), None, override_reason=OVERRIDE),
    Row("nothing-override-on-pairing", False, frozenset(), None, closing_override_reason=OVERRIDE),
    Row(
        "session-only-override-in-transition",
        True,
        frozenset(),
        None,
        override_reason=OVERRIDE,
    ),
]


@pytest.mark.parametrize("row", TRUTH_TABLE, ids=lambda row: row.id)
def test_gate_truth_table(row: Row) -> None:
    ctx = context(
        pairing=pairing(
            status="closing",
            closing_session_held=row.session_held,
            submissions=row.submissions,
            closing_override_reason=row.closing_override_reason,
        )
    )
    transition = Transition("closing", "closed", override_reason=row.override_reason)
    refusal = RULE.gate(transition, ctx, DEFAULT)

    if row.message is None:
        assert refusal is None
        return
    assert refusal == Refusal("closing-session", row.message)


@pytest.mark.parametrize(
    "transition",
    [
        Transition("active", "closing"),
        Transition("proposed", "active"),
        Transition(None, "proposed"),
    ],
    ids=["to-closing", "to-active", "to-proposed"],
)
def test_gate_only_guards_closure(transition: Transition) -> None:
    ctx = context(pairing=pairing(status=transition.status_from or "proposed"))
    assert RULE.gate(transition, ctx, DEFAULT) is None


def test_gate_without_a_pairing_allows() -> None:
    assert RULE.gate(TO_CLOSED, context(), DEFAULT) is None


def test_gate_reads_the_configured_form() -> None:
    ctx = context(
        pairing=pairing(
            status="closing",
            closing_session_held=True,
            submissions=frozenset({("mentor", "exit_survey"), ("mentee", "exit_survey")}),
        )
    )
    assert RULE.gate(TO_CLOSED, ctx, ClosingParams(reflection_form="exit_survey")) is None
    assert RULE.gate(TO_CLOSED, ctx, DEFAULT) == Refusal(
        "closing-session", refused(NO_MENTOR, NO_MENTEE)
    )


# --------------------------------------------------------------------------- evaluate()


@pytest.mark.parametrize(
    ("status_from", "status_to", "task"),
    [
        ("active", "closing", True),
        ("closing", "closed", False),
        ("proposed", "active", False),
        (None, "proposed", False),
    ],
    ids=["to-closing", "to-closed", "to-active", "to-proposed"],
)
def test_evaluate_truth_table(status_from: str | None, status_to: str, task: bool) -> None:
    ctx = context(pairing=pairing(status=status_to))
    decisions = RULE.evaluate(
        PairingStatusChanged(PAIRING_ID, status_from, status_to), ctx, DEFAULT
    )

    if not task:
        assert decisions == []
        return
    assert [(type(d), d.key) for d in decisions] == [
        (Task, f"closing-session:pairing:{PAIRING_ID}:hold")
    ]
    (hold,) = decisions
    assert isinstance(hold, Task)
    assert (hold.rule_id, hold.pairing_id, hold.priority, hold.audience, hold.confidential) == (
        "closing-session",
        PAIRING_ID,
        Priority.NORMAL,
        "coordinator",
        False,
    )
    assert hold.title == (
        f"Hold the closing session of P{PAIRING_ID} and collect reflection and program "
        "feedback from Maya and Eli"
    )
    assert hold.reason == f"Pairing P{PAIRING_ID} moved to closing. Policy: {RULE.policy}"


def test_evaluate_without_a_pairing_decides_nothing() -> None:
    event = PairingStatusChanged(PAIRING_ID, "active", "closing")
    assert RULE.evaluate(event, context(), DEFAULT) == []
