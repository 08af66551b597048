"""`concern-report`, as a specification.

Policy (Safety & Confidentiality, 3. Meetings): "A clear reporting mechanism is in place for
mentees to report any concerns or inappropriate behavior. This mechanism ensures that any
issues are addressed promptly and appropriately, with confidentiality being maintained
throughout the process."

Truth table (evaluate): a reported concern is one critical, confidential alert for the
safeguarding lead, `concern-report:concern:<id>:reported`, whose title gives the reference
and the acknowledgement deadline (`acknowledge_within_hours`, 24, after it was reported).
Truth table (decide): a concern still unacknowledged once the deadline has passed (at the
deadline itself it is still on time) is escalated to `escalate_to` (admin) in a critical
alert, `…:escalated`, that is not confidential and so carries the reference only: no names,
no content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from connector.domain import Alert, ConcernReported, ConcernResolved, Event, Priority
from rules.base import ConcernView
from rules.concern_report import ConcernFacts, ConcernParams, ConcernReport
from tests.rules.views import ELI, MAYA, MENTOR_ID, PAIRING_ID, context

RULE = ConcernReport()
DEFAULT = ConcernParams()
TWO_DAYS = ConcernParams(acknowledge_within_hours=48)
CONCERN_ID, REFERENCE = 5, "C-2026-0005"
CREATED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
KEY = f"concern-report:concern:{CONCERN_ID}"


def concern(created_at: datetime = CREATED) -> ConcernView:
    return ConcernView(
        id=CONCERN_ID,
        reference=REFERENCE,
        pairing_id=PAIRING_ID,
        about_person_id=MENTOR_ID,
        status="new",
        created_at=created_at,
    )


# --------------------------------------------------------------------------- evaluate()


@dataclass(frozen=True)
class Row:
    id: str
    event: Event
    with_concern: bool
    params: ConcernParams
    title: str | None  # the alert's title; None: no decision


REPORTED = ConcernReported(concern_id=CONCERN_ID)

TRUTH_TABLE = [
    Row(
        "reported",
        REPORTED,
        True,
        DEFAULT,
        f"Concern {REFERENCE} reported: acknowledge it by 2026-11-03 09:30 UTC",
    ),
    Row(
        "reported-48-hours",
        REPORTED,
        True,
        TWO_DAYS,
        f"Concern {REFERENCE} reported: acknowledge it by 2026-11-04 09:30 UTC",
    ),
    Row("reported-without-the-concern", REPORTED, False, DEFAULT, None),
    Row(
        "resolved", ConcernResolved(concern_id=CONCERN_ID, outcome="violation"), True, DEFAULT, None
    ),
]


@pytest.mark.parametrize("row", TRUTH_TABLE, ids=lambda row: row.id)
def test_report_truth_table(row: Row) -> None:
    ctx = context(now=CREATED, timezone="UTC", concern=concern() if row.with_concern else None)
    decisions = RULE.evaluate(row.event, ctx, row.params)

    if row.title is None:
        assert decisions == []
        return
    assert [(type(d), d.key) for d in decisions] == [(Alert, f"{KEY}:reported")]
    (alert,) = decisions
    assert isinstance(alert, Alert)
    assert (
        alert.rule_id,
        alert.pairing_id,
        alert.priority,
        alert.audience,
        alert.confidential,
    ) == (
        "concern-report",
        PAIRING_ID,
        Priority.CRITICAL,
        "safeguarding",
        True,
    )
    assert alert.title == row.title
    assert alert.reason == (
        f"A concern was reported at 2026-11-02 09:30 UTC. Policy: {RULE.policy}"
    )


def test_the_report_goes_to_the_configured_audience() -> None:
    ctx = context(now=CREATED, timezone="UTC", concern=concern())
    (alert,) = RULE.evaluate(REPORTED, ctx, ConcernParams(audience="board"))
    assert isinstance(alert, Alert)
    assert (alert.audience, alert.confidential) == ("board", True)


# --------------------------------------------------------------------------- decide()

SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class EscalationRow:
    id: str
    waited: timedelta  # how long before `now` the concern was reported
    params: ConcernParams
    escalated: bool


ESCALATION_TABLE = [
    EscalationRow("23-hours", timedelta(hours=23), DEFAULT, False),
    EscalationRow("exactly-24-hours", timedelta(hours=24), DEFAULT, False),
    EscalationRow("24-hours-and-a-second", timedelta(hours=24) + SECOND, DEFAULT, True),
    EscalationRow("a-week", timedelta(days=7), DEFAULT, True),
    EscalationRow("48-hours-window-25-hours", timedelta(hours=25), TWO_DAYS, False),
    EscalationRow("48-hours-window-exactly-48", timedelta(hours=48), TWO_DAYS, False),
    EscalationRow("48-hours-window-and-a-second", timedelta(hours=48) + SECOND, TWO_DAYS, True),
]


@pytest.mark.parametrize("row", ESCALATION_TABLE, ids=lambda row: row.id)
def test_escalation_truth_table(row: EscalationRow) -> None:
    now = CREATED + row.waited
    facts = ConcernFacts(CONCERN_ID, REFERENCE, CREATED)
    decisions = RULE.decide(facts, context(now=now, timezone="UTC"), row.params)

    if not row.escalated:
        assert decisions == []
        return
    assert [(type(d), d.key) for d in decisions] == [(Alert, f"{KEY}:escalated")]
    (alert,) = decisions
    assert isinstance(alert, Alert)
    assert (alert.rule_id, alert.priority, alert.audience, alert.confidential) == (
        "concern-report",
        Priority.CRITICAL,
        "admin",
        False,
    )
    hours = row.params.acknowledge_within_hours
    assert alert.title == f"Concern {REFERENCE} was not acknowledged within {hours} hours"
    assert alert.reason == (
        f"Concern {REFERENCE} has waited since 2026-11-02 09:30 UTC. Policy: {RULE.policy}"
    )


def test_the_escalation_names_no_one() -> None:
    """It goes to staff who may not see the concern: the reference, never who or what."""
    facts = ConcernFacts(CONCERN_ID, REFERENCE, CREATED)
    ctx = context(now=CREATED + timedelta(days=2), timezone="UTC", concern=concern())
    (alert,) = RULE.decide(facts, ctx, DEFAULT)
    assert alert.pairing_id is None
    for who in (MAYA, ELI):
        assert who.name not in alert.title + alert.reason
        assert (who.email or "") not in alert.title + alert.reason
    assert f"P{PAIRING_ID}" not in alert.title + alert.reason


def test_the_escalation_goes_to_the_configured_audience() -> None:
    facts = ConcernFacts(CONCERN_ID, REFERENCE, CREATED)
    ctx = context(now=CREATED + timedelta(days=2), timezone="UTC")
    (alert,) = RULE.decide(facts, ctx, ConcernParams(escalate_to="director"))
    assert isinstance(alert, Alert)
    assert (alert.audience, alert.confidential) == ("director", False)
