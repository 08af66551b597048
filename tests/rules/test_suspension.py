"""`suspension`, as a specification.

Policy (Safety & Confidentiality, 5. Monitoring and Enforcement): "Any violations of the
policy may result in immediate suspension or termination from the program."

Truth tables: a suspended or removed person takes no further part. Each one seen in a session
raises one critical alert; each one in a proposed or active pairing raises one critical alert
when the pairing changes status; proposing or activating a pairing with one is refused,
naming them. A concern resolved as a violation, about a known person, gives the safeguarding
lead one confidential task to suspend them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from connector.domain import (
    Alert,
    ConcernResolved,
    Event,
    MeetingEnded,
    PairingStatusChanged,
    ParticipantJoined,
    PersonStatusChanged,
    Priority,
    SessionLogged,
    Task,
)
from rules.base import ConcernView, PersonView, Refusal, Transition
from rules.suspension import Suspension, SuspensionParams
from tests.rules.views import (
    MAYA,
    MEETING_ID,
    MENTEE_ID,
    MENTOR_ID,
    PAIRING_ID,
    context,
    meeting,
    pairing,
    participant,
    person,
)

RULE = Suspension()
DEFAULT = SuspensionParams()
SAM_ID, CONCERN_ID = 13, 5


def maya(status: str = "active") -> PersonView:
    return person(MENTOR_ID, "mentor", "Maya", status)


def eli(status: str = "active") -> PersonView:
    return person(MENTEE_ID, "mentee", "Eli", status)


def sam(status: str = "active") -> PersonView:
    return person(SAM_ID, "mentee", "Sam", status)


STARTED = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
ENDED = MeetingEnded(
    platform="zoom",
    meeting_id="81234567890",
    instance_uuid="uuid-42==",
    started_at=STARTED,
    ended_at=STARTED + timedelta(minutes=45),
)
JOINED = ParticipantJoined(
    platform="zoom",
    meeting_id="81234567890",
    instance_uuid="uuid-42==",
    participant_key="email:maya@example.org",
    at=STARTED,
)
LOGGED = SessionLogged(
    platform="zoom",
    pairing_id=PAIRING_ID,
    meeting_id=MEETING_ID,
    started_at=STARTED,
    ended_at=STARTED + timedelta(minutes=45),
)


def meeting_key(person_id: int) -> str:
    return f"suspension:meeting:{MEETING_ID}:person:{person_id}"


def pairing_key(person_id: int) -> str:
    return f"suspension:pairing:{PAIRING_ID}:person:{person_id}"


# --------------------------------------------------------------------------- in a session


@dataclass(frozen=True)
class MeetingRow:
    id: str
    people: tuple[PersonView | None, ...]  # None: a stranger the program does not know
    alerted: list[int]  # person ids alerted about, in participant order


MEETING_TABLE = [
    MeetingRow("everyone-active", (maya(), eli()), []),
    MeetingRow("mentor-suspended", (maya("suspended"), eli()), [MENTOR_ID]),
    MeetingRow("mentee-removed", (maya(), eli("removed")), [MENTEE_ID]),
    MeetingRow("both-out", (maya("suspended"), eli("removed")), [MENTOR_ID, MENTEE_ID]),
    MeetingRow("applicant-is-not-out", (maya("applicant"), eli()), []),
    MeetingRow("stranger-is-not-judged", (None, maya(), eli()), []),
    MeetingRow("suspended-third-person", (maya(), eli(), sam("suspended")), [SAM_ID]),
    MeetingRow("nobody-joined", (), []),
]

MEETING_EVENTS = [ENDED, JOINED, LOGGED]


@pytest.mark.parametrize("event", MEETING_EVENTS, ids=lambda e: e.kind)
@pytest.mark.parametrize("row", MEETING_TABLE, ids=lambda row: row.id)
def test_meeting_truth_table(row: MeetingRow, event: Event) -> None:
    participants = tuple(participant(p) for p in row.people)
    ctx = context(pairing=pairing(), meeting=meeting(*participants, held=True))
    decisions = RULE.evaluate(event, ctx, DEFAULT)

    assert [(type(d), d.key) for d in decisions] == [(Alert, meeting_key(i)) for i in row.alerted]
    for alert in decisions:
        assert isinstance(alert, Alert)
        assert (alert.rule_id, alert.pairing_id, alert.priority) == (
            "suspension",
            PAIRING_ID,
            Priority.CRITICAL,
        )
        assert alert.reason.endswith(f"Policy: {RULE.policy}")


def test_the_meeting_alert_names_the_person_and_their_status() -> None:
    ctx = context(meeting=meeting(participant(maya("removed"))))
    (alert,) = RULE.evaluate(ENDED, ctx, DEFAULT)
    assert isinstance(alert, Alert)
    assert alert.pairing_id is None  # a meeting outside any pairing still alerts
    assert alert.title == "A removed participant, Maya, was in a zoom session"
    assert alert.reason.startswith("Maya is removed and appeared in meeting 81234567890. ")


def test_no_meeting_no_decision() -> None:
    assert RULE.evaluate(ENDED, context(pairing=pairing(mentor=maya("suspended"))), DEFAULT) == []


# --------------------------------------------------------------------------- in a pairing


@dataclass(frozen=True)
class PairingRow:
    id: str
    status: str
    mentor: str
    mentee: str
    alerted: list[int]


PAIRING_TABLE = [
    PairingRow("proposed-both-active", "proposed", "active", "active", []),
    PairingRow("proposed-mentor-suspended", "proposed", "suspended", "active", [MENTOR_ID]),
    PairingRow("active-mentee-suspended", "active", "active", "suspended", [MENTEE_ID]),
    PairingRow("active-mentor-removed", "active", "removed", "active", [MENTOR_ID]),
    PairingRow("active-both-out", "active", "suspended", "removed", [MENTOR_ID, MENTEE_ID]),
    # A closing pairing still holds its closing session: a suspended party there matters.
    PairingRow("closing-mentor-suspended", "closing", "suspended", "active", [MENTOR_ID]),
    PairingRow("closed-mentor-suspended", "closed", "suspended", "active", []),
    PairingRow("closed-mentee-removed", "closed", "active", "removed", []),
]


@pytest.mark.parametrize("row", PAIRING_TABLE, ids=lambda row: row.id)
def test_pairing_truth_table(row: PairingRow) -> None:
    ctx = context(
        pairing=pairing(status=row.status, mentor=maya(row.mentor), mentee=eli(row.mentee))
    )
    event = PairingStatusChanged(PAIRING_ID, None, row.status)
    decisions = RULE.evaluate(event, ctx, DEFAULT)

    assert [(type(d), d.key) for d in decisions] == [(Alert, pairing_key(i)) for i in row.alerted]
    for alert in decisions:
        assert isinstance(alert, Alert)
        assert (alert.rule_id, alert.pairing_id, alert.priority) == (
            "suspension",
            PAIRING_ID,
            Priority.CRITICAL,
        )


def test_the_pairing_alert_names_the_person_and_the_pairing() -> None:
    ctx = context(pairing=pairing(status="active", mentee=eli("suspended")))
    (alert,) = RULE.evaluate(PairingStatusChanged(PAIRING_ID, "proposed", "active"), ctx, DEFAULT)
    assert isinstance(alert, Alert)
    assert alert.title == f"Eli, who is suspended, is in pairing P{PAIRING_ID}"
    assert alert.reason == (
        f"Eli is suspended but pairing P{PAIRING_ID} is active. Policy: {RULE.policy}"
    )


# --------------------------------------------------------------------------- gate()

REFUSAL_PREFIX = "A suspended or removed participant cannot be paired: "


@dataclass(frozen=True)
class GateRow:
    id: str
    transition: Transition
    mentor: str
    mentee: str
    message: str | None  # the refusal's message; None: allowed


GATE_TABLE = [
    GateRow("to-active-both-active", Transition("proposed", "active"), "active", "active", None),
    GateRow(
        "to-active-mentor-suspended",
        Transition("proposed", "active"),
        "suspended",
        "active",
        f"{REFUSAL_PREFIX}Maya (suspended).",
    ),
    GateRow(
        "to-active-mentee-removed",
        Transition("proposed", "active"),
        "active",
        "removed",
        f"{REFUSAL_PREFIX}Eli (removed).",
    ),
    GateRow(
        "to-proposed-mentee-suspended",
        Transition(None, "proposed"),
        "active",
        "suspended",
        f"{REFUSAL_PREFIX}Eli (suspended).",
    ),
    GateRow(
        "to-active-both-out",
        Transition(None, "active"),
        "removed",
        "suspended",
        f"{REFUSAL_PREFIX}Maya (removed), Eli (suspended).",
    ),
    GateRow("to-active-applicant-mentee", Transition(None, "active"), "active", "applicant", None),
    GateRow(
        "to-closing-mentor-suspended", Transition("active", "closing"), "suspended", "active", None
    ),
    GateRow("to-closed-mentee-removed", Transition("closing", "closed"), "active", "removed", None),
]


@pytest.mark.parametrize("row", GATE_TABLE, ids=lambda row: row.id)
def test_gate_truth_table(row: GateRow) -> None:
    ctx = context(
        pairing=pairing(
            status=row.transition.status_from or "proposed",
            mentor=maya(row.mentor),
            mentee=eli(row.mentee),
        )
    )
    refusal = RULE.gate(row.transition, ctx, DEFAULT)

    if row.message is None:
        assert refusal is None
        return
    assert refusal == Refusal("suspension", row.message)


def test_an_override_reason_does_not_pair_a_suspended_person() -> None:
    ctx = context(pairing=pairing(status="proposed", mentor=maya("suspended")))
    transition = Transition("proposed", "active", override_reason="Trusted volunteer")
    assert RULE.gate(transition, ctx, DEFAULT) == Refusal(
        "suspension", f"{REFUSAL_PREFIX}Maya (suspended)."
    )


def test_gate_without_a_pairing_allows() -> None:
    assert RULE.gate(Transition(None, "active"), context(), DEFAULT) is None


# --------------------------------------------------------------------------- concern resolved


def concern(
    about_person_id: int | None = MENTOR_ID, pairing_id: int | None = PAIRING_ID
) -> ConcernView:
    return ConcernView(
        id=CONCERN_ID,
        reference="C-2026-005",
        pairing_id=pairing_id,
        about_person_id=about_person_id,
        status="resolved",
        created_at=datetime(2026, 10, 20, 9, 0, tzinfo=UTC),
        outcome="violation",
    )


UPHELD = SuspensionParams(violation_outcome="upheld")


@dataclass(frozen=True)
class ConcernRow:
    id: str
    outcome: str
    concern: ConcernView | None
    params: SuspensionParams
    task: bool
    pairing_id: int | None = PAIRING_ID


CONCERN_TABLE = [
    ConcernRow("violation-about-a-person", "violation", concern(), DEFAULT, True),
    ConcernRow(
        "violation-outside-a-pairing",
        "violation",
        concern(pairing_id=None),
        DEFAULT,
        True,
        pairing_id=None,
    ),
    ConcernRow("no-violation", "no_violation", concern(), DEFAULT, False),
    ConcernRow(
        "violation-about-nobody-known", "violation", concern(about_person_id=None), DEFAULT, False
    ),
    ConcernRow("violation-without-the-concern", "violation", None, DEFAULT, False),
    ConcernRow("configured-outcome-upheld", "upheld", concern(), UPHELD, True),
    ConcernRow("violation-when-upheld-is-configured", "violation", concern(), UPHELD, False),
]


@pytest.mark.parametrize("row", CONCERN_TABLE, ids=lambda row: row.id)
def test_concern_truth_table(row: ConcernRow) -> None:
    event = ConcernResolved(concern_id=CONCERN_ID, outcome=row.outcome)
    decisions = RULE.evaluate(event, context(concern=row.concern), row.params)

    if not row.task:
        assert decisions == []
        return
    assert [(type(d), d.key) for d in decisions] == [
        (Task, f"suspension:concern:{CONCERN_ID}:suspend")
    ]
    (task,) = decisions
    assert isinstance(task, Task)
    assert (task.rule_id, task.pairing_id, task.priority, task.audience, task.confidential) == (
        "suspension",
        row.pairing_id,
        Priority.HIGH,
        "safeguarding",
        True,
    )
    assert task.title == "Suspend or remove the person concern C-2026-005 was about"
    assert task.reason == (
        f"Concern C-2026-005 was resolved with the outcome '{row.outcome}'. Policy: {RULE.policy}"
    )


@pytest.mark.parametrize(
    ("status", "alerts"),
    [("suspended", 2), ("removed", 2), ("active", 0)],
)
def test_a_person_suspended_while_in_open_pairings_alerts_for_each(
    status: str, alerts: int
) -> None:
    """A person's status change reaches every open pairing they are in (not only new ones)."""
    maya = replace(MAYA, status=status)
    first = pairing(id=7, mentor=maya, status="active")
    second = pairing(id=8, mentor=maya, status="closing")
    decisions = RULE.evaluate(
        PersonStatusChanged(person_id=maya.id, status_from="active", status_to=status),
        context(person=maya, person_pairings=(first, second)),
        SuspensionParams(),
    )
    assert [d.key for d in decisions] == [
        f"suspension:pairing:{p}:person:{maya.id}" for p in (7, 8)
    ][:alerts]
    assert all(d.priority == Priority.CRITICAL for d in decisions)
