"""`recording-consent`, as a specification.

Policy (Safety & Confidentiality, 3. Meetings): "For the safety of both parties and to
maintain a record of the mentorship, sessions may be recorded with the consent of both the
mentor and the mentee."

Truth table: one row per situation a recording can meet. A recording is covered when both
parties consented at or before the moment recording started (a consent given later covers
it only when `consent_must_precede_recording` is off). Covered: one `restrict` action that
keeps it for review or dispute. Not covered: one critical confidential alert and one
confidential removal task for the safeguarding lead, naming who did not consent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from connector.domain import (
    Alert,
    Decision,
    MeetingEnded,
    Priority,
    RecordingAction,
    RecordingAvailable,
    RecordingFile,
    Task,
)
from rules.base import PairingView
from rules.recording_consent import ConsentParams, RecordingConsent
from tests.rules.views import MEETING_ID, PAIRING_ID, context, meeting, pairing

MEETING_START = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
RECORDING_START = MEETING_START + timedelta(minutes=1)  # the files' start, not the meeting's
BEFORE = RECORDING_START - timedelta(days=30)
SECOND_AFTER = RECORDING_START + timedelta(seconds=1)

RULE = RecordingConsent()
STRICT = ConsentParams()
LENIENT = ConsentParams(consent_must_precede_recording=False)

Consent = tuple[bool, datetime | None]  # (given, at); a revocation keeps its time
NONE: Consent = (False, None)


@dataclass(frozen=True)
class Row:
    id: str
    mentor: Consent
    mentee: Consent
    params: ConsentParams
    missing: str | None  # who the reason names as not consenting; None: covered


TRUTH_TABLE = [
    Row("neither-consented", NONE, NONE, STRICT, "mentor and mentee"),
    Row("only-mentor-consented", (True, BEFORE), NONE, STRICT, "mentee"),
    Row("only-mentee-consented", NONE, (True, BEFORE), STRICT, "mentor"),
    Row("both-consented-before", (True, BEFORE), (True, BEFORE), STRICT, None),
    Row(
        "consent-exactly-at-recording-start-covers",
        (True, RECORDING_START),
        (True, RECORDING_START),
        STRICT,
        None,
    ),
    Row(
        "consent-one-second-after-start-does-not-cover",
        (True, BEFORE),
        (True, SECOND_AFTER),
        STRICT,
        "mentee",
    ),
    Row(
        "consent-one-second-after-start-covers-when-it-need-not-precede",
        (True, BEFORE),
        (True, SECOND_AFTER),
        LENIENT,
        None,
    ),
    Row("mentor-revoked-consent", (False, BEFORE), (True, BEFORE), STRICT, "mentor"),
    Row(
        "revoked-consent-even-when-it-need-not-precede",
        (True, BEFORE),
        (False, BEFORE),
        LENIENT,
        "mentee",
    ),
    Row(
        "consent-flag-without-a-time-does-not-cover", (True, None), (True, BEFORE), STRICT, "mentor"
    ),
]


def consented(mentor: Consent, mentee: Consent) -> PairingView:
    return pairing(
        mentor_recording_consent=mentor[0],
        mentor_consent_at=mentor[1],
        mentee_recording_consent=mentee[0],
        mentee_consent_at=mentee[1],
    )


def recording(*file_ids: str, file_start: datetime | None = RECORDING_START) -> RecordingAvailable:
    return RecordingAvailable(
        platform="zoom",
        meeting_id="81234567890",
        instance_uuid="uuid-42==",
        started_at=MEETING_START,
        files=tuple(
            RecordingFile(fid, "MP4", "shared_screen_with_speaker_view", file_start, None)
            for fid in file_ids
        ),
    )


def decide(
    event: RecordingAvailable, pairing_view: PairingView | None, params: ConsentParams
) -> list[Decision]:
    return RULE.evaluate(event, context(pairing=pairing_view, meeting=meeting()), params)


@pytest.mark.parametrize("row", TRUTH_TABLE, ids=lambda row: row.id)
def test_truth_table(row: Row) -> None:
    decisions = decide(recording("rec-a", "rec-b"), consented(row.mentor, row.mentee), row.params)

    if row.missing is None:
        assert [type(d) for d in decisions] == [RecordingAction]
        (action,) = decisions
        assert isinstance(action, RecordingAction)
        assert action.action == "restrict"
        assert action.meeting_id == MEETING_ID
        assert action.pairing_id == PAIRING_ID
        assert action.rule_id == "recording-consent"
        assert action.key.startswith(f"recording-consent:meeting:{MEETING_ID}:restrict:")
        return

    prefix = f"recording-consent:meeting:{MEETING_ID}"
    assert [(type(d), d.key) for d in decisions] == [
        (Alert, f"{prefix}:alert"),
        (Task, f"{prefix}:remove"),
    ]
    alert, task = decisions
    assert isinstance(alert, Alert) and isinstance(task, Task)
    assert (alert.priority, alert.audience, alert.confidential) == (
        Priority.CRITICAL,
        "safeguarding",
        True,
    )
    assert (task.audience, task.confidential) == ("safeguarding", True)
    assert alert.pairing_id == task.pairing_id == PAIRING_ID
    assert alert.rule_id == task.rule_id == "recording-consent"
    assert f"without recording consent from the {row.missing}." in alert.reason
    assert alert.title == f"Session recorded without consent of the {row.missing}"
    assert task.reason == alert.reason


def test_a_revocation_is_named_with_its_time() -> None:
    (alert, _task) = decide(recording("rec-a"), consented((False, BEFORE), NONE), STRICT)
    assert f"The mentor revoked consent on {BEFORE:%Y-%m-%d %H:%M} UTC." in alert.reason
    assert "mentee revoked" not in alert.reason  # never consented is not a revocation


def test_recording_start_is_the_meetings_when_the_files_carry_none() -> None:
    # Consent one second after the meeting started, files without a start of their own.
    late = (True, MEETING_START + timedelta(seconds=1))
    event = recording("rec-a", file_start=None)
    assert [type(d) for d in decide(event, consented(late, late), STRICT)] == [Alert, Task]
    at_start = (True, MEETING_START)
    assert [type(d) for d in decide(event, consented(at_start, at_start), STRICT)] == [
        RecordingAction
    ]


def test_the_alert_goes_to_the_configured_audience() -> None:
    decisions = decide(recording("rec-a"), consented(NONE, NONE), ConsentParams(audience="board"))
    assert [d.audience for d in decisions if isinstance(d, Alert | Task)] == ["board", "board"]


@pytest.mark.parametrize(
    ("pairing_view", "with_meeting"),
    [(None, True), (pairing(), False)],
    ids=["no-pairing", "no-meeting"],
)
def test_no_decision_without_a_pairing_or_a_meeting(
    pairing_view: PairingView | None, with_meeting: bool
) -> None:
    ctx = context(pairing=pairing_view, meeting=meeting() if with_meeting else None)
    assert RULE.evaluate(recording("rec-a"), ctx, STRICT) == []


def test_no_decision_on_other_events() -> None:
    ended = MeetingEnded(
        platform="zoom",
        meeting_id="81234567890",
        instance_uuid="uuid-42==",
        started_at=MEETING_START,
        ended_at=MEETING_START + timedelta(minutes=45),
    )
    assert RULE.evaluate(ended, context(pairing=pairing(), meeting=meeting()), STRICT) == []


def restrict_key(*file_ids: str) -> str:
    both = consented((True, BEFORE), (True, BEFORE))
    (action,) = decide(recording(*file_ids), both, STRICT)
    return action.key


def test_the_restrict_key_names_the_file_set_not_its_order() -> None:
    assert restrict_key("rec-a", "rec-b") == restrict_key("rec-b", "rec-a")
    assert restrict_key("rec-a", "rec-b") != restrict_key("rec-a", "rec-c")
    assert restrict_key("rec-a", "rec-b") != restrict_key("rec-a")
