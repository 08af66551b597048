"""Zoom webhooks, as the receiver must treat them (facts: shared/reference/video-platforms.md §1-2).

Guards, in the pipeline's order; none of the refusals reaches `accept`:

| request                                                   | status | answer                 |
|-----------------------------------------------------------|--------|------------------------|
| empty body                                                | 400    | bad_payload            |
| no secret configured, whatever the signature              | 401    | missing_secret         |
| no signature or timestamp header, or a wrong signature    | 401    | bad_signature          |
| timestamp more than 300 s away from the clock, or not a number | 401 | stale_timestamp     |
| signed, but not a JSON object                             | 400    | bad_payload            |
| signed `endpoint.url_validation`                          | 200    | plainToken + encryptedToken |
| signed ignored event (`meeting.created`, …)               | 200    | ignored, with a reason |
| signed event neither handled nor ignored                  | 200    | unsupported, logged    |
| signed handled event missing a required field             | 400    | bad_payload            |
| signed handled event                                      | 200    | accepted / duplicate   |

Fixtures are real payload shapes sent byte for byte and signed here with `webhooks.zoom.sign`;
the only signatures written out below are the published reference vectors (§2.6).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.clock import FrozenClock
from connector.domain import (
    Event,
    MeetingEnded,
    MeetingStarted,
    ParticipantJoined,
    ParticipantLeft,
    RecordingAvailable,
    RecordingFile,
    RecordingRemoved,
)
from tests.webhooks.zoom_helpers import (
    DELETE,
    NOW,
    NOW_TS,
    SECRET,
    Inbox,
    compact,
    deliver,
    deliver_fixture,
    edited,
    fixture_names,
    load_fixture,
)
from webhooks.base import BadSignature, Reply, Request
from webhooks.zoom import ZoomReceiver, sign, signature

# Meeting A: the real capture of reference §1.3. Meeting B: the composite recording examples.
A_ID, A_UUID = "86431910364", "hwkAADUySwyG3GyUkqc0vA=="
A_TOPIC = "Jan Šimonek's Zoom Meeting"
B_ID, B_UUID = "87565330005", "WEz4RT2lSyKx2MD9Z+lYfA=="
MP4, M4A, VTT = (
    "96119skjlfhdshkjf-djkfndjf0-f791",
    "5890sfjkdsf-aaaakdf-fbbb618718e",
    "e2ed-dlkjgdfkgh-kslsdbsjf1a",
)
PLAIN_TOKEN = "qgg8vlvZRS6UYooatFL8Aw"


def at(hour: int, minute: int, second: int, *, day: tuple[int, int, int]) -> datetime:
    return datetime(*day, hour, minute, second, tzinfo=UTC)


def a_time(hour: int, minute: int, second: int) -> datetime:
    return at(hour, minute, second, day=(2022, 3, 23))


def b_time(hour: int, minute: int, second: int) -> datetime:
    return at(hour, minute, second, day=(2023, 12, 1))


def refused(status: int, code: str) -> tuple[int, str]:
    return status, code


def outcome_of(result: Any) -> tuple[int, str]:
    """(status, error code) of a refused delivery."""
    return result.status, result.body["error"]


# =========================================================================== §2.6 vectors

VECTOR_SECRET = "s3cr3t_WEBHOOK_token"
VECTOR_TS = "1700000000"
VECTOR_CLOCK = datetime.fromtimestamp(1700000000, UTC)
# Exactly the 322 bytes of reference §2.6(b), no trailing newline.
ENDED_VECTOR = (
    b'{"event":"meeting.ended","payload":{"account_id":"AbC123","object":'
    b'{"uuid":"4444AAAiAAAAAiAiAiiAii==","id":"85746065432","host_id":"z8yAAAAA8bbbQ",'
    b'"topic":"Mentoring session","type":2,"start_time":"2023-11-14T22:00:00Z",'
    b'"timezone":"Europe/Berlin","duration":30,"end_time":"2023-11-14T22:31:07Z"}},'
    b'"event_ts":1700000000123}'
)
ENDED_VECTOR_SIGNATURE = "v0=f6ec08bfa1c2dce61b1e8189791fd79bb212fefcd864b4aa133e9eede06ba4ae"
ENDED_REDUMPED_SIGNATURE = "v0=cf395b1193cc260eb4bd903dc9edaef4087596ec85cdbc299fb3121fa259a27d"
NON_ASCII_VECTOR = (
    '{"event":"meeting.participant_joined","payload":{"object":{"participant":'
    '{"user_name":"Jan Šimonek"}}},"event_ts":1}'
).encode()
NON_ASCII_VECTOR_SIGNATURE = "v0=52bfda676bafa429d47dafefcc74f2ef89ae5705bb8f5e09acfc385e4c437cf4"


def vector_receiver(now: datetime = VECTOR_CLOCK) -> ZoomReceiver:
    return ZoomReceiver(VECTOR_SECRET, clock=FrozenClock(now))


def vector_request(body: bytes, given_signature: str, timestamp: str = VECTOR_TS) -> Request:
    return Request(body, {"x-zm-request-timestamp": timestamp, "x-zm-signature": given_signature})


def test_crc_answer_matches_the_elastic_beats_vector() -> None:
    # §2.6(a): secret "secretValueTest", body as elastic/beats sends it.
    body = (
        b'{"event_ts":1654503849680,"event":"endpoint.url_validation",'
        b'"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"}}'
    )
    result = deliver(body, secret="secretValueTest", signed_with="secretValueTest")
    assert result.reply == Reply(
        200,
        {
            "plainToken": PLAIN_TOKEN,
            "encryptedToken": "70c1f2e2e6ca2d39297490d1f9142c7d701415ea8e6151f6562a08fa657a40ff",
        },
    )
    assert result.inbox.calls == []


def test_signature_of_the_322_byte_meeting_ended_body_is_the_published_one() -> None:
    assert len(ENDED_VECTOR) == 322
    assert signature(VECTOR_SECRET, VECTOR_TS, ENDED_VECTOR) == ENDED_VECTOR_SIGNATURE
    vector_receiver().verify(vector_request(ENDED_VECTOR, ENDED_VECTOR_SIGNATURE))


def test_the_published_meeting_ended_delivery_is_accepted_end_to_end() -> None:
    result = deliver(
        ENDED_VECTOR,
        secret=VECTOR_SECRET,
        signed_with=None,
        now=VECTOR_CLOCK,
        headers={"x-zm-request-timestamp": VECTOR_TS, "x-zm-signature": ENDED_VECTOR_SIGNATURE},
    )
    assert result.body == {
        "status": "accepted",
        "delivery_id": "meeting.ended:4444AAAiAAAAAiAiAiiAii==",
    }
    assert result.events == [
        MeetingEnded(
            platform="zoom",
            meeting_id="85746065432",
            instance_uuid="4444AAAiAAAAAiAiAiiAii==",
            started_at=datetime(2023, 11, 14, 22, 0, 0, tzinfo=UTC),
            ended_at=datetime(2023, 11, 14, 22, 31, 7, tzinfo=UTC),
            topic="Mentoring session",
        )
    ]


def test_a_re_serialised_body_does_not_verify() -> None:
    # Python's default json.dumps adds ", " and ": "; the signature is over Zoom's bytes.
    redumped = json.dumps(json.loads(ENDED_VECTOR)).encode()
    assert redumped != ENDED_VECTOR
    assert signature(VECTOR_SECRET, VECTOR_TS, redumped) == ENDED_REDUMPED_SIGNATURE
    with pytest.raises(BadSignature):
        vector_receiver().verify(vector_request(redumped, ENDED_VECTOR_SIGNATURE))


def test_signature_of_the_non_ascii_body_is_over_its_utf8_bytes() -> None:
    assert signature(VECTOR_SECRET, VECTOR_TS, NON_ASCII_VECTOR) == NON_ASCII_VECTOR_SIGNATURE
    vector_receiver().verify(vector_request(NON_ASCII_VECTOR, NON_ASCII_VECTOR_SIGNATURE))
    # Compact but ASCII-escaped ("\u0160") is another body, so another signature.
    escaped = json.dumps(json.loads(NON_ASCII_VECTOR), separators=(",", ":")).encode()
    assert b"\\u0160" in escaped
    with pytest.raises(BadSignature):
        vector_receiver().verify(vector_request(escaped, NON_ASCII_VECTOR_SIGNATURE))


def test_the_signed_validation_request_vector_is_answered() -> None:
    # §2.6(b): the fixture is byte for byte the published validation request.
    result = deliver_fixture(
        "endpoint.url_validation__basic",
        secret=VECTOR_SECRET,
        signed_with=None,
        now=datetime.fromtimestamp(1654503849, UTC),
        headers={
            "x-zm-request-timestamp": "1654503849",
            "x-zm-signature": (
                "v0=e13bdf4ee22049cf4a083cd274a556bcd50c885e2f0eaa598c83ee5bce6812a1"
            ),
        },
    )
    assert result.reply == Reply(
        200,
        {
            "plainToken": PLAIN_TOKEN,
            "encryptedToken": "d423e90d67d0cabff6d4ac51c91768bc3df53a7d83a297462c7035271ca0a487",
        },
    )
    assert result.inbox.calls == []


# =========================================================================== the handshake


def test_url_validation_is_answered_with_the_hmac_of_the_plain_token() -> None:
    result = deliver_fixture("endpoint.url_validation__basic")
    expected = hmac.new(SECRET.encode(), PLAIN_TOKEN.encode(), hashlib.sha256).hexdigest()
    assert result.reply == Reply(200, {"plainToken": PLAIN_TOKEN, "encryptedToken": expected})
    assert result.inbox.calls == []


@pytest.mark.parametrize(
    ("options", "outcome"),
    [
        pytest.param({"signed_with": None}, refused(401, "bad_signature"), id="unsigned"),
        pytest.param(
            {"signed_with": "someone-elses-secret"},
            refused(401, "bad_signature"),
            id="signed-with-another-secret",
        ),
        pytest.param(
            {"headers": {"x-zm-signature": "v0=" + "0" * 64}},
            refused(401, "bad_signature"),
            id="garbage-signature",
        ),
        pytest.param(
            {"sent_at": NOW_TS - 3600}, refused(401, "stale_timestamp"), id="signed-an-hour-ago"
        ),
        pytest.param({"secret": None}, refused(401, "missing_secret"), id="no-secret-configured"),
    ],
)
def test_url_validation_is_answered_only_when_its_own_signature_verifies(
    options: dict[str, Any], outcome: tuple[int, str]
) -> None:
    result = deliver_fixture("endpoint.url_validation__basic", **options)
    assert outcome_of(result) == outcome
    assert "encryptedToken" not in result.body
    assert result.inbox.calls == []


def test_an_unsigned_validation_cannot_be_used_as_a_signing_oracle() -> None:
    # §2.6(c): the CRC answer for plainToken "v0:<ts>:<body>" IS the signature of <body>.
    probe = "v0:" + VECTOR_TS + ":" + ENDED_VECTOR.decode()
    oracle = hmac.new(VECTOR_SECRET.encode(), probe.encode(), hashlib.sha256).hexdigest()
    assert "v0=" + oracle == ENDED_VECTOR_SIGNATURE
    body = compact({"payload": {"plainToken": probe}, "event": "endpoint.url_validation"})

    result = deliver(body, secret=VECTOR_SECRET, signed_with=None, now=VECTOR_CLOCK)

    assert outcome_of(result) == (401, "bad_signature")
    assert oracle not in json.dumps(result.body)


@pytest.mark.parametrize(
    "plain_token",
    [
        pytest.param("x" * 129, id="longer-than-128"),
        pytest.param("", id="empty"),
        pytest.param(12345, id="not-a-string"),
    ],
)
def test_a_signed_validation_with_an_implausible_plain_token_is_refused(plain_token: Any) -> None:
    body = compact({"payload": {"plainToken": plain_token}, "event": "endpoint.url_validation"})
    result = deliver(body)
    assert outcome_of(result) == (400, "bad_payload")
    assert result.inbox.calls == []


# =========================================================================== authenticity

TOLERANCE = 300
GUARDS = [
    # (delivery options, (status, error code) or None when accepted)
    pytest.param({}, None, id="signed-now"),
    pytest.param({"sent_at": NOW_TS - TOLERANCE}, None, id="signed-300s-ago"),
    pytest.param({"sent_at": NOW_TS + TOLERANCE}, None, id="signed-300s-ahead"),
    pytest.param(
        {"sent_at": NOW_TS - TOLERANCE - 1}, refused(401, "stale_timestamp"), id="301s-ago"
    ),
    pytest.param(
        {"sent_at": NOW_TS + TOLERANCE + 1}, refused(401, "stale_timestamp"), id="301s-ahead"
    ),
    pytest.param(
        {"sent_at": NOW_TS - 3600, "tolerance_seconds": 3600}, None, id="hour-old-within-3600s"
    ),
    pytest.param({"sent_at": "yesterday"}, refused(401, "stale_timestamp"), id="ts-not-a-number"),
    pytest.param({"signed_with": "not-the-secret"}, refused(401, "bad_signature"), id="bad-sig"),
    pytest.param({"signed_with": None}, refused(401, "bad_signature"), id="no-headers"),
    pytest.param(
        {"headers": {"x-zm-signature": None}}, refused(401, "bad_signature"), id="no-signature"
    ),
    pytest.param(
        {"headers": {"x-zm-request-timestamp": None}},
        refused(401, "bad_signature"),
        id="no-timestamp",
    ),
    pytest.param(
        {"headers": {"x-zm-request-timestamp": str(NOW_TS - 1)}},
        refused(401, "bad_signature"),
        id="timestamp-not-the-signed-one",
    ),
    pytest.param(
        {"headers": {"x-zm-signature": "V0=" + "A" * 64}},
        refused(401, "bad_signature"),
        id="malformed-signature",
    ),
    pytest.param({"secret": None}, refused(401, "missing_secret"), id="no-secret-configured"),
    pytest.param(
        {"secret": "", "signed_with": ""}, refused(401, "missing_secret"), id="empty-secret"
    ),
]


@pytest.mark.parametrize(("options", "outcome"), GUARDS)
def test_authenticity_guards(options: dict[str, Any], outcome: tuple[int, str] | None) -> None:
    result = deliver_fixture("meeting.ended__basic", **options)
    if outcome is None:
        assert result.body == {"status": "accepted", "delivery_id": f"meeting.ended:{A_UUID}"}
        assert len(result.calls) == 1
    else:
        assert outcome_of(result) == outcome
        assert result.calls == ()


def test_a_body_changed_after_signing_is_refused() -> None:
    body = load_fixture("meeting.ended__basic")
    tampered = body.replace(
        b'"end_time":"2022-03-23T12:33:39Z"', b'"end_time":"2022-03-23T13:33:39Z"'
    )
    assert tampered != body
    result = deliver(tampered, headers=sign(SECRET, body, NOW_TS))
    assert outcome_of(result) == (401, "bad_signature")
    assert result.calls == ()


# =========================================================================== payload guards

PAYLOAD_GUARDS = [
    pytest.param(b"", "empty body", id="empty"),
    pytest.param(b" \r\n\t", "empty body", id="whitespace-only"),
    pytest.param(b"event=meeting.ended", "body is not JSON", id="form-encoded"),
    pytest.param(b"\xff\xfe\x00{", "body is not JSON", id="not-utf8"),
    pytest.param(b'{"event":"meeting.ended"', "body is not JSON", id="truncated"),
    pytest.param(b'[{"event":"meeting.ended"}]', "body is not a JSON object", id="json-array"),
    pytest.param(b'"meeting.ended"', "body is not a JSON object", id="json-string"),
    pytest.param(b'{"payload":{}}', "missing field event", id="no-event"),
    pytest.param(
        edited("meeting.ended__basic", **{"payload.object.end_time": DELETE}),
        "missing field end_time",
        id="ended-without-end_time",
    ),
    pytest.param(
        edited("meeting.ended__basic", **{"payload.object.uuid": None}),
        "missing field uuid",
        id="ended-with-null-uuid",
    ),
    pytest.param(
        edited("meeting.started__basic", **{"payload.object.start_time": "2022-03-23 12:33:26"}),
        "start_time has no time zone",
        id="started-with-naive-time",
    ),
    pytest.param(
        edited("meeting.started__basic", **{"payload.object.start_time": "last Tuesday"}),
        "start_time is not an ISO-8601 time",
        id="started-with-prose-time",
    ),
    pytest.param(
        edited("meeting.participant_joined__signed_in", **{"payload.object.participant": DELETE}),
        "missing field participant",
        id="joined-without-participant",
    ),
    pytest.param(
        edited(
            "meeting.participant_left__after_meeting_ended",
            **{"payload.object.participant.leave_time": DELETE},
        ),
        "missing field leave_time",
        id="left-without-leave_time",
    ),
    pytest.param(
        edited("recording.completed__two_files", **{"payload.object.recording_files": []}),
        "recording event without recording_files",
        id="recording-without-files",
    ),
    pytest.param(
        edited("recording.completed__two_files", **{"payload.object.id": DELETE}),
        "missing field id",
        id="recording-without-meeting-id",
    ),
    pytest.param(
        edited("recording.trashed__by_admin", **{"payload": DELETE}),
        "missing field payload.object",
        id="trashed-without-payload",
    ),
]


@pytest.mark.parametrize(("body", "message"), PAYLOAD_GUARDS)
def test_payload_guards(body: bytes, message: str) -> None:
    # Signed correctly, so only the payload is at fault.
    result = deliver(body)
    assert outcome_of(result) == (400, "bad_payload")
    assert result.body["message"].startswith(message)
    assert result.calls == ()


# =========================================================================== handled events

HANDLED = [
    pytest.param(
        "meeting.started__basic",
        [
            MeetingStarted(
                platform="zoom",
                meeting_id=A_ID,
                instance_uuid=A_UUID,
                started_at=a_time(12, 33, 26),
                topic=A_TOPIC,
            )
        ],
        id="meeting.started",
    ),
    pytest.param(
        "meeting.ended__basic",
        [
            MeetingEnded(
                platform="zoom",
                meeting_id=A_ID,
                instance_uuid=A_UUID,
                started_at=a_time(12, 33, 26),
                ended_at=a_time(12, 33, 39),
                topic=A_TOPIC,
            )
        ],
        id="meeting.ended",
    ),
    pytest.param(
        "meeting.participant_joined__signed_in",
        [
            ParticipantJoined(
                platform="zoom",
                meeting_id=A_ID,
                instance_uuid=A_UUID,
                participant_key="participant_user_id:tUo7WohjTs6ELvl9WR3JAA",
                at=a_time(12, 33, 26),
                name="Jan Šimonek",
                email="jan.simonek@gmail.com",
            )
        ],
        id="joined-signed-in",
    ),
    pytest.param(
        "meeting.participant_joined__guest_without_email",
        [
            ParticipantJoined(
                platform="zoom",
                meeting_id=A_ID,
                instance_uuid=A_UUID,
                # No e-mail and no Zoom user: the per-meeting user_id maps join to leave (§2.5).
                participant_key="user_id:16779264",
                at=a_time(12, 33, 31),
                name="Eli (guest)",
                email="",
            )
        ],
        id="joined-guest",
    ),
    pytest.param(
        "meeting.participant_left__after_meeting_ended",
        [
            ParticipantLeft(
                platform="zoom",
                meeting_id=A_ID,
                instance_uuid=A_UUID,
                participant_key="participant_user_id:tUo7WohjTs6ELvl9WR3JAA",
                at=a_time(12, 33, 39),
                name="Jan Šimonek",
                email="jan.simonek@gmail.com",
            )
        ],
        id="left-after-ended",
    ),
    pytest.param(
        "recording.completed__two_files",
        [
            RecordingAvailable(
                platform="zoom",
                meeting_id=B_ID,
                instance_uuid=B_UUID,
                started_at=b_time(20, 1, 56),
                files=(
                    RecordingFile(
                        file_id=MP4,
                        file_type="MP4",
                        recording_type="shared_screen_with_speaker_view",
                        started_at=b_time(20, 2, 1),
                        ended_at=b_time(20, 31, 40),
                    ),
                    RecordingFile(
                        file_id=M4A,
                        file_type="M4A",
                        recording_type="audio_only",
                        started_at=b_time(20, 2, 1),
                        ended_at=b_time(20, 31, 40),
                    ),
                ),
                host_email="mentor@example.org",
            )
        ],
        id="recording.completed",
    ),
    pytest.param(
        "recording.transcript_completed__vtt",
        [
            RecordingAvailable(
                platform="zoom",
                meeting_id=B_ID,
                instance_uuid=B_UUID,
                started_at=b_time(20, 1, 56),
                files=(
                    RecordingFile(
                        file_id=VTT,
                        file_type="TRANSCRIPT",
                        recording_type="audio_transcript",
                        started_at=b_time(20, 2, 1),
                        ended_at=b_time(20, 31, 40),
                    ),
                ),
                host_email="mentor@example.org",
            )
        ],
        id="recording.transcript_completed",
    ),
    pytest.param(
        "recording.trashed__by_admin",
        [
            RecordingRemoved(
                platform="zoom",
                meeting_id=B_ID,
                instance_uuid=B_UUID,
                permanently=False,
                file_ids=(),
            )
        ],
        id="recording.trashed",
    ),
    pytest.param(
        "recording.deleted__permanent",
        [
            RecordingRemoved(
                platform="zoom",
                meeting_id=B_ID,
                instance_uuid=B_UUID,
                permanently=True,
                file_ids=(MP4, M4A),
            )
        ],
        id="recording.deleted",
    ),
]


@pytest.mark.parametrize(("fixture", "events"), HANDLED)
def test_each_handled_event_becomes_its_domain_events(fixture: str, events: list[Event]) -> None:
    result = deliver_fixture(fixture)
    assert result.status == 200
    assert result.body["status"] == "accepted"
    assert result.events == events
    [call] = result.calls
    assert (call.source, call.event_type) == ("zoom", json.loads(load_fixture(fixture))["event"])
    assert call.delivery_id == result.body["delivery_id"]
    assert call.payload == json.loads(load_fixture(fixture))


@pytest.mark.parametrize(("fixture", "events"), HANDLED)
def test_every_time_is_timezone_aware_utc(fixture: str, events: list[Event]) -> None:
    def times(value: Any) -> list[datetime]:
        if isinstance(value, datetime):
            return [value]
        if isinstance(value, tuple):
            return [t for item in value for t in times(item)]
        if hasattr(value, "__dataclass_fields__"):
            return [t for name in value.__dataclass_fields__ for t in times(getattr(value, name))]
        return []

    found = [t for event in deliver_fixture(fixture).events for t in times(event)]
    assert all(t.utcoffset() == timedelta(0) for t in found), found


def test_recording_meeting_id_is_a_string_although_zoom_sends_a_number() -> None:
    sent = json.loads(load_fixture("recording.completed__two_files"))["payload"]["object"]["id"]
    assert sent == 87565330005
    [event] = deliver_fixture("recording.completed__two_files").events
    assert isinstance(event, RecordingAvailable)
    assert event.meeting_id == "87565330005"


def test_the_email_is_lower_cased_and_trimmed_and_kept_beside_the_key() -> None:
    body = edited(
        "meeting.participant_joined__signed_in",
        **{"payload.object.participant.email": " Jan.Simonek@GMAIL.com "},
    )
    [event] = deliver(body).events
    assert isinstance(event, ParticipantJoined)
    assert (event.participant_key, event.email) == (
        "participant_user_id:tUo7WohjTs6ELvl9WR3JAA",
        "jan.simonek@gmail.com",
    )


@pytest.mark.parametrize(
    ("participant", "key"),
    [
        pytest.param(
            {"email": "a@example.org", "participant_user_id": "U1", "user_id": "16"},
            "participant_user_id:U1",
            id="signed-in-zoom-user-first",
        ),
        pytest.param(
            {"email": "", "participant_user_id": "U1", "id": "U1", "user_id": "16"},
            "participant_user_id:U1",
            id="with-or-without-email",
        ),
        pytest.param(
            {"email": "g@example.org", "participant_user_id": "", "id": "", "user_id": "16"},
            "user_id:16",
            id="guest-by-per-meeting-user_id",
        ),
        pytest.param({"email": "B@Example.org "}, "email:b@example.org", id="then-email"),
        pytest.param({"user_name": "Dial-in 1"}, "name:Dial-in 1", id="last-resort-name"),
    ],
)
def test_participant_identity_prefers_the_most_stable_id(
    participant: dict[str, str], key: str
) -> None:
    body = edited(
        "meeting.participant_joined__signed_in",
        **{"payload.object.participant": participant | {"join_time": "2022-03-23T12:33:26Z"}},
    )
    [event] = deliver(body).events
    assert isinstance(event, ParticipantJoined)
    assert event.participant_key == key


# =========================================================================== ignored, unsupported


def test_an_ignored_event_is_acknowledged_with_its_reason_and_not_stored() -> None:
    result = deliver_fixture("meeting.created__scheduled")
    assert result.reply == Reply(
        200,
        {
            "status": "ignored",
            "event": "meeting.created",
            "reason": "scheduling does not touch any policy until a session is held",
        },
    )
    assert result.inbox.calls == []


@pytest.mark.parametrize("event", sorted(ZoomReceiver.ignored_events))
def test_every_ignored_event_is_acknowledged_without_being_parsed(event: str) -> None:
    result = deliver(compact({"event": event, "payload": {}}))
    assert result.body == {
        "status": "ignored",
        "event": event,
        "reason": ZoomReceiver.ignored_events[event],
    }
    assert result.inbox.calls == []


def test_an_unsupported_event_is_acknowledged_logged_and_not_stored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="connector.webhooks"):
        result = deliver_fixture("meeting.summary_completed__basic")
    assert result.reply == Reply(
        200, {"status": "unsupported", "event": "meeting.summary_completed"}
    )
    assert result.inbox.calls == []
    [record] = [r for r in caplog.records if r.name == "connector.webhooks.unsupported"]
    assert record.levelno == logging.WARNING
    assert "meeting.summary_completed" in record.getMessage()


def test_an_unsigned_unsupported_event_is_refused_before_anything_is_logged_about_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="connector.webhooks"):
        result = deliver_fixture("meeting.summary_completed__basic", signed_with=None)
    assert outcome_of(result) == (401, "bad_signature")
    assert not [r for r in caplog.records if r.name == "connector.webhooks.unsupported"]


def test_every_event_is_handled_ignored_or_unsupported_never_two_of_these() -> None:
    receiver = ZoomReceiver(SECRET)
    assert not set(receiver.handled_events) & set(ZoomReceiver.ignored_events)
    assert "endpoint.url_validation" not in set(receiver.handled_events) | set(
        ZoomReceiver.ignored_events
    )


def test_every_fixture_is_named_after_the_event_it_carries() -> None:
    names = fixture_names()
    assert len(names) >= 13
    for name in names:
        assert json.loads(load_fixture(name))["event"] == name.split("__")[0], name


# =========================================================================== delivery ids


def test_the_same_delivery_twice_is_stored_once() -> None:
    inbox = Inbox()
    first = deliver_fixture("meeting.participant_joined__signed_in", inbox=inbox)
    second = deliver_fixture("meeting.participant_joined__signed_in", inbox=inbox)
    who = hashlib.sha256(b"participant_user_id:tUo7WohjTs6ELvl9WR3JAA").hexdigest()[:16]
    delivery_id = f"meeting.participant_joined:{A_UUID}:{who}:2022-03-23T12:33:26Z"
    assert "@" not in delivery_id  # delivery ids reach the logs: no e-mail addresses
    assert first.body == {"status": "accepted", "delivery_id": delivery_id}
    assert second.body == {"status": "duplicate", "delivery_id": delivery_id}
    assert len(inbox.calls) == 2
    assert len(inbox.stored) == 1


def test_a_duplicate_recording_with_another_download_url_is_the_same_delivery() -> None:
    # Zoom sends recording.completed twice from different nodes, differing only in the
    # download URL and token (§1.3); the files are the same, so is the delivery.
    first, again = (
        load_fixture("recording.completed__two_files"),
        load_fixture("recording.completed__duplicate_other_url"),
    )
    assert first != again
    inbox = Inbox()
    assert deliver(first, inbox=inbox).body["status"] == "accepted"
    assert deliver(again, inbox=inbox).body["status"] == "duplicate"
    assert inbox.calls[0].delivery_id == inbox.calls[1].delivery_id
    # Stored ids must not change between releases, or old rows stop deduping new deliveries.
    assert inbox.calls[0].delivery_id == f"recording.completed:{B_UUID}:9909e2bb69eb07ee"


def test_recording_delivery_id_does_not_depend_on_file_order() -> None:
    payload = json.loads(load_fixture("recording.completed__two_files"))
    payload["payload"]["object"]["recording_files"].reverse()
    inbox = Inbox()
    deliver_fixture("recording.completed__two_files", inbox=inbox)
    assert deliver(compact(payload), inbox=inbox).body["status"] == "duplicate"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(
            load_fixture("meeting.participant_joined__signed_in"),
            load_fixture("meeting.participant_left__after_meeting_ended"),
            id="joined-vs-left",
        ),
        pytest.param(
            load_fixture("meeting.participant_joined__signed_in"),
            edited(
                "meeting.participant_joined__signed_in",
                **{"payload.object.participant.join_time": "2022-03-23T12:35:02Z"},
            ),
            id="re-join-at-another-time",
        ),
        pytest.param(
            load_fixture("meeting.participant_joined__signed_in"),
            load_fixture("meeting.participant_joined__guest_without_email"),
            id="another-participant",
        ),
        pytest.param(
            load_fixture("meeting.started__basic"),
            load_fixture("meeting.ended__basic"),
            id="started-vs-ended",
        ),
        pytest.param(
            load_fixture("meeting.ended__basic"),
            edited("meeting.ended__basic", **{"payload.object.uuid": "Xk3pQ9rTS0eW1yZbAcD4fg=="}),
            id="same-meeting-id-another-instance",
        ),
        pytest.param(
            load_fixture("recording.completed__two_files"),
            load_fixture("recording.transcript_completed__vtt"),
            id="recording-vs-transcript",
        ),
        pytest.param(
            load_fixture("recording.trashed__by_admin"),
            load_fixture("recording.deleted__permanent"),
            id="trashed-vs-deleted",
        ),
    ],
)
def test_different_happenings_are_different_deliveries(first: bytes, second: bytes) -> None:
    inbox = Inbox()
    one, two = deliver(first, inbox=inbox), deliver(second, inbox=inbox)
    assert (one.body["status"], two.body["status"]) == ("accepted", "accepted")
    assert one.body["delivery_id"] != two.body["delivery_id"]


def test_delivery_id_never_depends_on_headers() -> None:
    # A retry may carry a new tracking id and a fresh timestamp (§1.1, §8): same delivery.
    inbox = Inbox()
    first = deliver_fixture("recording.completed__two_files", inbox=inbox)
    retry = deliver_fixture(
        "recording.completed__two_files",
        inbox=inbox,
        sent_at=NOW_TS + 120,
        now=NOW + timedelta(seconds=120),
        headers={"x-zm-trackingid": "v=2.0;clid=us06;rid=WEB_retry_2", "user-agent": "Other/2"},
    )
    assert retry.body == {"status": "duplicate", "delivery_id": first.body["delivery_id"]}


# =========================================================================== the signer


@given(
    body=st.binary(min_size=1, max_size=256),
    secret=st.text(min_size=1, max_size=64),
    timestamp=st.integers(min_value=0, max_value=2**33),
    mask=st.integers(min_value=1, max_value=255),
)
def test_sign_then_verify_passes_and_any_flipped_byte_fails(
    body: bytes, secret: str, timestamp: int, mask: int
) -> None:
    receiver = ZoomReceiver(secret, clock=FrozenClock(datetime.fromtimestamp(timestamp, UTC)))
    headers = {k.lower(): v for k, v in sign(secret, body, timestamp).items()}
    receiver.verify(Request(body, headers))
    for i in range(len(body)):
        flipped = body[:i] + bytes([body[i] ^ mask]) + body[i + 1 :]
        with pytest.raises(BadSignature):
            receiver.verify(Request(flipped, headers))


# =========================================================================== malformed


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            edited("recording.trashed__by_admin", **{"payload.object.recording_files": ["x"]}),
            id="trashed-files-not-objects",
        ),
        pytest.param(
            edited("meeting.participant_joined__signed_in", **{"payload.object.participant": "x"}),
            id="participant-not-an-object",
        ),
    ],
)
def test_a_malformed_signed_payload_is_a_400_not_a_crash(body: bytes) -> None:
    assert outcome_of(deliver(body)) == (400, "bad_payload")
