"""`approved-platform`, as a specification.

Policy (Safety & Confidentiality, 3. Meetings): "All mentorship sessions must take place on
approved secure online platforms that comply with our privacy and security standards."

Truth table (platform): a meeting of a pairing, or one where program people met, raises a
high alert, `approved-platform:meeting:<id>:platform`, when its platform is outside
`approved_platforms` (zoom, teams, meet by default); an in-person session raises it only
when `in_person_allowed` is off. Truth table (security): when a platform reports the settings
applied to a meeting, a safeguard the program requires that is reported off (False, not
merely unknown) raises an alert naming it, `…:security`. Passcode and waiting room are
required by default, authentication is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from connector.domain import (
    Alert,
    Event,
    MeetingEnded,
    MeetingSecurityReported,
    Priority,
    SessionLogged,
)
from rules.approved_platform import ApprovedPlatform, PlatformParams
from rules.base import Context, PersonView
from tests.rules.views import ELI, MAYA, MEETING_ID, PAIRING_ID, context, meeting, pairing

RULE = ApprovedPlatform()
DEFAULT = PlatformParams()
KEY = f"approved-platform:meeting:{MEETING_ID}"
STARTED = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
ENDED_AT = datetime(2026, 11, 2, 14, 45, tzinfo=UTC)


def ended(platform: str) -> Event:
    if platform == "in_person":
        return SessionLogged(
            platform=platform,
            pairing_id=PAIRING_ID,
            meeting_id=MEETING_ID,
            started_at=STARTED,
            ended_at=ENDED_AT,
        )
    return MeetingEnded(
        platform=platform,
        meeting_id="81234567890",
        instance_uuid="uuid-42==",
        started_at=STARTED,
        ended_at=ENDED_AT,
    )


def security(
    passcode: bool | None = None,
    waiting_room: bool | None = None,
    authentication: bool | None = None,
) -> MeetingSecurityReported:
    return MeetingSecurityReported(
        platform="zoom",
        meeting_id="81234567890",
        instance_uuid="uuid-42==",
        passcode=passcode,
        waiting_room=waiting_room,
        authentication=authentication,
    )


def of_pairing(platform: str, **overrides: object) -> Context:
    return context(pairing=pairing(), meeting=meeting(platform=platform), **overrides)


# --------------------------------------------------------------------------- platform


@dataclass(frozen=True)
class Row:
    id: str
    platform: str
    in_person_allowed: bool
    approved: tuple[str, ...]
    title: str | None  # the alert's title; None: no decision


ALL = ("zoom", "teams", "meet")
OUTSIDE = "was held outside the approved platforms"

TRUTH_TABLE = [
    Row("zoom", "zoom", True, ALL, None),
    Row("teams", "teams", True, ALL, None),
    Row("meet", "meet", True, ALL, None),
    Row("webex", "webex", True, ALL, f"A webex session {OUTSIDE}"),
    Row("in-person-allowed", "in_person", True, ALL, None),
    Row("in-person-not-allowed", "in_person", False, ALL, f"An in-person session {OUTSIDE}"),
    Row("teams-not-in-a-zoom-only-list", "teams", True, ("zoom",), f"A teams session {OUTSIDE}"),
    Row("zoom-in-a-zoom-only-list", "zoom", False, ("zoom",), None),
]


@pytest.mark.parametrize("row", TRUTH_TABLE, ids=lambda row: row.id)
def test_platform_truth_table(row: Row) -> None:
    ctx = of_pairing(
        row.platform, in_person_allowed=row.in_person_allowed, approved_platforms=row.approved
    )
    decisions = RULE.evaluate(ended(row.platform), ctx, DEFAULT)

    if row.title is None:
        assert decisions == []
        return
    assert [(type(d), d.key) for d in decisions] == [(Alert, f"{KEY}:platform")]
    (alert,) = decisions
    assert isinstance(alert, Alert)
    assert (alert.rule_id, alert.pairing_id, alert.priority, alert.audience) == (
        "approved-platform",
        PAIRING_ID,
        Priority.HIGH,
        "coordinator",
    )
    assert alert.confidential is False
    assert alert.title == row.title
    assert alert.reason.startswith(f"The program allows {', '.join(row.approved)}")
    assert "meeting 81234567890 was" in alert.reason
    assert alert.reason.endswith(f"Policy: {RULE.policy}")


def test_the_reason_says_whether_in_person_sessions_are_allowed() -> None:
    (allowed,) = RULE.evaluate(ended("webex"), of_pairing("webex"), DEFAULT)
    assert allowed.reason.startswith(
        "The program allows zoom, teams, meet and in-person sessions; "
        "meeting 81234567890 was a webex session."
    )
    (virtual_only,) = RULE.evaluate(
        ended("in_person"), of_pairing("in_person", in_person_allowed=False), DEFAULT
    )
    assert virtual_only.reason.startswith(
        "The program allows zoom, teams, meet only; meeting 81234567890 was an in-person session."
    )


def _people_only(people: tuple[PersonView, ...]) -> Context:
    return context(meeting=meeting(platform="webex"), program_people=people)


@pytest.mark.parametrize(
    ("ctx", "expected"),
    [
        (context(meeting=meeting(platform="webex")), []),
        (context(pairing=pairing(), meeting=None), []),
        (_people_only((MAYA, ELI)), [(Alert, f"{KEY}:platform")]),
    ],
    ids=["no-pairing-no-program-people", "no-meeting", "program-people-without-a-pairing"],
)
def test_whose_meetings_are_judged(ctx: Context, expected: list[tuple[type, str]]) -> None:
    decisions = RULE.evaluate(ended("webex"), ctx, DEFAULT)
    assert [(type(d), d.key) for d in decisions] == expected
    assert all(d.pairing_id is None for d in decisions)


# --------------------------------------------------------------------------- security


@dataclass(frozen=True)
class SecurityRow:
    id: str
    event: MeetingSecurityReported
    params: PlatformParams
    missing: list[str] | None  # the safeguards named; None: no decision


REQUIRE_AUTH = PlatformParams(require_authentication=True)
NO_PASSCODE_NEEDED = PlatformParams(require_passcode=False)
WAITING_ROOM = "waiting room or lobby"

SECURITY_TABLE = [
    SecurityRow("all-on", security(True, True, True), DEFAULT, None),
    SecurityRow("passcode-off", security(False, True), DEFAULT, ["passcode"]),
    SecurityRow("passcode-unknown", security(None, True), DEFAULT, None),
    SecurityRow("all-unknown", security(), DEFAULT, None),
    SecurityRow("waiting-room-off", security(True, False), DEFAULT, [WAITING_ROOM]),
    SecurityRow(
        "passcode-and-waiting-room-off", security(False, False), DEFAULT, ["passcode", WAITING_ROOM]
    ),
    SecurityRow("authentication-off-not-required", security(True, True, False), DEFAULT, None),
    SecurityRow(
        "authentication-off-alone-not-required", security(authentication=False), DEFAULT, None
    ),
    SecurityRow(
        "authentication-off-required", security(True, True, False), REQUIRE_AUTH, ["authentication"]
    ),
    SecurityRow("authentication-unknown-required", security(True, True), REQUIRE_AUTH, None),
    SecurityRow("passcode-off-not-required", security(False, True), NO_PASSCODE_NEEDED, None),
    SecurityRow(
        "everything-off-everything-required",
        security(False, False, False),
        REQUIRE_AUTH,
        ["passcode", WAITING_ROOM, "authentication"],
    ),
]


@pytest.mark.parametrize("row", SECURITY_TABLE, ids=lambda row: row.id)
def test_security_truth_table(row: SecurityRow) -> None:
    decisions = RULE.evaluate(row.event, of_pairing("zoom"), row.params)

    if row.missing is None:
        assert decisions == []
        return
    assert [(type(d), d.key) for d in decisions] == [(Alert, f"{KEY}:security")]
    (alert,) = decisions
    assert isinstance(alert, Alert)
    assert (alert.rule_id, alert.pairing_id, alert.priority, alert.audience) == (
        "approved-platform",
        PAIRING_ID,
        Priority.HIGH,
        "coordinator",
    )
    assert alert.title == f"A zoom session ran without {' or '.join(row.missing)}"
    assert alert.reason == (
        f"zoom reports meeting 81234567890 without {', '.join(row.missing)}, which the program "
        f"requires. Policy: {RULE.policy}"
    )


def test_a_security_report_is_judged_only_for_program_meetings() -> None:
    ctx = context(meeting=meeting(platform="zoom"))
    assert RULE.evaluate(security(False, False), ctx, DEFAULT) == []
