"""`unregistered-contact`, as a specification.

Policy (Mentoring Policy and Procedure, "All participants are expected to"): "Treat one
another with respect and professionalism - including adhering to boundaries agreed upon
such as contact outside of sessions"

Truth table: when a meeting ends that matches no registered pairing but was attended by
people of the program together with at least one other participant, the coordinator gets
one alert for that meeting. A registered pairing's session is not outside contact; someone
alone in a room is not contact; a meeting of strangers is none of the program's business.
A pairing's session joined by someone the program does not know gets its own alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from connector.domain import Alert, MeetingEnded, Priority
from rules.base import Context, ParticipantView, PersonView
from rules.unregistered_contact import ContactParams, UnregisteredContact
from tests.rules.views import (
    ELI,
    MAYA,
    MEETING_ID,
    PAIRING_ID,
    context,
    meeting,
    pairing,
    participant,
    person,
)

RULE = UnregisteredContact()
PARAMS = ContactParams()
SAM = person(13, "mentee", "Sam")

ENDED = MeetingEnded(
    platform="zoom",
    meeting_id="81234567890",
    instance_uuid="uuid-42==",
    started_at=datetime(2026, 11, 2, 14, 0, tzinfo=UTC),
    ended_at=datetime(2026, 11, 2, 14, 45, tzinfo=UTC),
)
OUTSIDE = f"unregistered-contact:meeting:{MEETING_ID}"


def matched(*participants: ParticipantView) -> Context:
    return context(pairing=pairing(), meeting=meeting(*participants))


def unmatched(*participants: ParticipantView, people: tuple[PersonView, ...] = ()) -> Context:
    return context(meeting=meeting(*participants), program_people=people)


@dataclass(frozen=True)
class Row:
    id: str
    context: Context
    key: str | None  # the one alert's key; None: no decision


TRUTH_TABLE = [
    Row("pairing-session", matched(participant(MAYA), participant(ELI)), None),
    Row(
        "pairing-session-with-a-stranger-who-attended",
        matched(participant(MAYA), participant(ELI), participant(None)),
        f"{OUTSIDE}:unknown",
    ),
    Row(
        "pairing-session-with-a-stranger-who-never-stayed",
        matched(participant(MAYA), participant(ELI), participant(None, attended_seconds=0)),
        None,
    ),
    Row(
        "no-pairing-mentor-and-another-mentee",
        unmatched(participant(MAYA), participant(SAM), people=(MAYA, SAM)),
        OUTSIDE,
    ),
    Row(
        "no-pairing-program-person-with-a-stranger",
        unmatched(participant(MAYA), participant(None), people=(MAYA,)),
        OUTSIDE,
    ),
    Row(
        "no-pairing-program-person-alone",
        unmatched(participant(MAYA), people=(MAYA,)),
        None,
    ),
    Row(
        "no-pairing-no-program-people",
        unmatched(participant(None, name="Ann"), participant(None, name="Bob")),
        None,
    ),
    Row("no-meeting", context(pairing=pairing()), None),
]


@pytest.mark.parametrize("row", TRUTH_TABLE, ids=lambda row: row.id)
def test_truth_table(row: Row) -> None:
    decisions = RULE.evaluate(ENDED, row.context, PARAMS)

    if row.key is None:
        assert decisions == []
        return
    assert [(type(d), d.key) for d in decisions] == [(Alert, row.key)]
    (alert,) = decisions
    assert isinstance(alert, Alert)
    assert (alert.rule_id, alert.priority, alert.audience) == (
        "unregistered-contact",
        Priority.HIGH,
        "coordinator",
    )
    expected_pairing = PAIRING_ID if row.context.pairing is not None else None
    assert alert.pairing_id == expected_pairing


def test_the_outside_contact_alert_says_who_met_and_where() -> None:
    ctx = unmatched(participant(MAYA), participant(SAM), people=(SAM, MAYA))
    (alert,) = RULE.evaluate(ENDED, ctx, PARAMS)
    assert "attended by 1 mentee, 1 mentor (Maya, Sam)" in alert.reason
    assert "zoom meeting 81234567890 (instance uuid-42==)" in alert.reason
    assert alert.reason.endswith(f"Policy: {RULE.policy}")


def test_the_stranger_alert_names_the_stranger() -> None:
    ctx = matched(participant(MAYA), participant(ELI), participant(None, name="Zed"))
    (alert,) = RULE.evaluate(ENDED, ctx, PARAMS)
    assert "1 participant(s) not registered in the program (Zed)" in alert.reason
