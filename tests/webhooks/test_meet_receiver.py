"""Google Meet via Pub/Sub push, as the receiver must treat it (reference video-platforms.md §5).

Guards, in the pipeline's order; no refusal reaches `accept`, and none before parsing reads
the Meet API:

| request                                                        | status | answer              |
|----------------------------------------------------------------|--------|---------------------|
| empty body                                                     | 400    | bad_payload         |
| no audience or no service account configured                   | 401    | missing_secret      |
| no `Authorization: Bearer`, or a garbled token                 | 401    | bad_signature       |
| token: bad signature, unknown key, expired, wrong `aud`/`iss`  | 401    | bad_signature       |
| token: `email` not the push service account, not verified      | 401    | bad_signature       |
| Google's certificates unreachable                              | 503    | certs_unavailable   |
| verified, but not a Pub/Sub envelope with messageId and ce-type | 400   | bad_payload         |
| verified ignored type (recording started, …)                   | 200    | ignored, a reason   |
| verified type neither handled nor ignored (future types)       | 200    | unsupported, logged |
| handled, `data` not base64 JSON or not a Meet resource name    | 400    | bad_payload         |
| handled, the Meet API fails or lacks a field                   | 503    | meet_api_unavailable |
| handled (incl. lifecycle)                                      | 200    | accepted / duplicate |

Every token is signed in `meet_helpers` with a key made for the run; nothing talks to Google.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import responses

from adapters.meet import DirectoryClient
from adapters.meet.directory import DIRECTORY_URL
from connector.clock import FrozenClock
from connector.domain import (
    Event,
    MeetingEnded,
    MeetingStarted,
    ParticipantJoined,
    ParticipantLeft,
    RecordingAvailable,
    RecordingFile,
    SubscriptionLifecycle,
)
from connector.errors import AdapterError, RateLimited, Unauthorized, Unavailable
from tests.webhooks.meet_helpers import (
    AUDIENCE,
    DELETE,
    P2,
    P3,
    RECORD,
    RECORDING,
    RESOURCES,
    S1,
    SERVICE_ACCOUNT,
    SIGNED_IN_EMAIL,
    SIGNED_IN_USER,
    SPACE,
    TRANSCRIPT,
    FakeDirectory,
    FakeMeet,
    Inbox,
    MeetOutcome,
    certs_body,
    decoded_data,
    deliver,
    deliver_fixture,
    edited,
    fixture_names,
    load_fixture,
    push_token,
    signing_key,
    with_type,
)
from webhooks.base import BadSignature
from webhooks.meet import (
    GOOGLE_CERTS_URL,
    GoogleTokenVerifier,
    MeetReceiver,
    SubscriptionNotice,
    subscription_notice,
)

ENDED = "google.workspace.meet.conference.v2.ended__basic"
JOINED = "google.workspace.meet.participant.v2.joined__signed_in"
LEFT = "google.workspace.meet.participant.v2.left__signed_in"
SUSPENDED = "google.workspace.events.subscription.v1.suspended__endpoint_permission_denied"
FUTURE = "google.workspace.meet.smartNote.v2.fileGenerated__not_handled_yet"


def t(hour: int, minute: int, second: int, micro: int = 0) -> datetime:
    return datetime(2024, 5, 1, hour, minute, second, micro, tzinfo=UTC)


def outcome_of(result: MeetOutcome) -> tuple[int, str]:
    return result.status, result.body["error"]


def refused_untouched(result: MeetOutcome, status: int, code: str) -> None:
    """Refused with `status`/`code`, nothing stored, the Meet API never asked."""
    assert outcome_of(result) == (status, code)
    assert result.inbox.calls == []
    assert result.meet is None or result.meet.calls == []


# =========================================================================== verification


def test_a_google_signed_push_is_accepted_and_its_events_stored() -> None:
    result = deliver_fixture(ENDED)
    assert result.body == {
        "status": "accepted",
        "delivery_id": "google.workspace.meet.conference.v2.ended:2070443601311540",
    }
    assert result.events == [
        MeetingEnded(
            platform="meet",
            meeting_id=SPACE,
            instance_uuid=RECORD,
            started_at=t(10, 0, 1, 250412),
            ended_at=t(10, 31, 6, 998000),
        )
    ]
    assert result.certs_fetches == 1


OTHER_KEY = signing_key("0123456789abcdef-other-key")

TOKEN_REFUSALS = [
    pytest.param(
        {"token": None}, "missing Authorization: Bearer token", id="no-authorization-header"
    ),
    pytest.param(
        {"token": None, "headers": {"authorization": "Basic dXNlcjpwYXNz"}},
        "missing Authorization: Bearer token",
        id="basic-auth",
    ),
    pytest.param(
        {"token": None, "headers": {"authorization": "Bearer "}},
        "missing Authorization: Bearer token",
        id="empty-bearer",
    ),
    pytest.param(
        {"token": "not-a-jwt"},
        "token rejected: MalformedError: Wrong number of segments",
        id="garbled-token",
    ),
    pytest.param({"token": "a.b.c"}, "token rejected:", id="three-garbled-segments"),
    pytest.param(
        {"token": push_token(aud="https://elsewhere.example.org/push")},
        "token rejected: InvalidValue: Token has wrong audience",
        id="wrong-audience",
    ),
    pytest.param(
        {"token": push_token(aud=DELETE)},
        "token rejected: InvalidValue: Token has wrong audience",
        id="no-audience",
    ),
    pytest.param(
        {"token": push_token(email="attacker@evil-project.iam.gserviceaccount.com")},
        "token is not from the push service account",
        id="wrong-service-account",
    ),
    pytest.param(
        {"token": push_token(email=SERVICE_ACCOUNT.upper())},
        "token is not from the push service account",
        id="service-account-other-case",
    ),
    pytest.param(
        {"token": push_token(email=DELETE)},
        "token is not from the push service account",
        id="no-email",
    ),
    pytest.param(
        {"token": push_token(email_verified=False)},
        "token email is not verified",
        id="email-not-verified",
    ),
    pytest.param(
        {"token": push_token(email_verified="true")},
        "token email is not verified",
        id="email-verified-a-string",
    ),
    pytest.param(
        {"token": push_token(email_verified=DELETE)},
        "token email is not verified",
        id="email-verified-missing",
    ),
    pytest.param(
        {"token": push_token(iat=1_700_000_000, exp=1_700_003_600)},
        "token rejected: InvalidValue: Token expired",
        id="expired",
    ),
    pytest.param(
        {"token": push_token(iss="https://evil.example.org")},
        "token was not issued by Google",
        id="not-issued-by-google",
    ),
    pytest.param(
        {"token": push_token(key=OTHER_KEY, kid=signing_key().key_id)},
        "token rejected: MalformedError: Could not verify token signature",
        id="bad-signature",
    ),
    pytest.param(
        {"token": push_token(key=OTHER_KEY)},
        "token rejected: MalformedError: Certificate for key id",
        id="key-google-does-not-publish",
    ),
    pytest.param(
        {"certs": certs_body(OTHER_KEY) | {signing_key().key_id: OTHER_KEY.certificate_pem}},
        "token rejected: MalformedError: Could not verify token signature",
        id="cert-does-not-match-key",
    ),
]


@pytest.mark.parametrize(("options", "reason"), TOKEN_REFUSALS)
def test_a_push_without_a_valid_token_from_the_service_account_is_refused(
    options: dict[str, Any], reason: str
) -> None:
    result = deliver_fixture(ENDED, **options)
    refused_untouched(result, 401, "bad_signature")
    assert result.body["message"].startswith(reason)


def test_a_garbled_token_is_not_echoed_into_the_logs() -> None:
    result = deliver_fixture(ENDED, token="not-a-jwt-but-maybe-a-secret")
    assert "not-a-jwt-but-maybe-a-secret" not in result.body["message"]


def test_the_bearer_scheme_is_case_insensitive() -> None:
    # RFC 9110 §11.1: auth schemes are case-insensitive.
    result = deliver_fixture(ENDED, token=None, headers={"authorization": f"bearer {push_token()}"})
    assert result.body["status"] == "accepted"


def test_a_tampered_token_payload_is_refused() -> None:
    header, payload, signature = push_token().split(".")
    forged = push_token(email="attacker@evil-project.iam.gserviceaccount.com").split(".")[1]
    assert forged != payload
    result = deliver_fixture(ENDED, token=f"{header}.{forged}.{signature}")
    refused_untouched(result, 401, "bad_signature")


@pytest.mark.parametrize(
    ("audience", "service_account"),
    [
        pytest.param(None, SERVICE_ACCOUNT, id="no-audience"),
        pytest.param(AUDIENCE, None, id="no-service-account"),
        pytest.param("", "", id="empty-strings"),
        pytest.param(None, None, id="nothing"),
    ],
)
@pytest.mark.parametrize(
    "token", [pytest.param(None, id="unsigned"), pytest.param(push_token(), id="signed")]
)
def test_no_configuration_refuses_everything(
    audience: str | None, service_account: str | None, token: str | None
) -> None:
    result = deliver_fixture(ENDED, audience=audience, service_account=service_account, token=token)
    refused_untouched(result, 401, "missing_secret")
    assert result.certs_fetches == 0


def test_unreachable_google_certificates_refuse_with_a_retryable_503() -> None:
    result = deliver_fixture(ENDED, certs_status=500)
    refused_untouched(result, 503, "certs_unavailable")


def test_an_unsigned_body_that_is_not_json_is_refused_before_it_is_read() -> None:
    refused_untouched(deliver(b"<xml/>", token=None), 401, "bad_signature")


def test_the_verifier_keeps_googles_certificates_for_their_max_age() -> None:
    clock = FrozenClock(datetime.now(UTC))
    verifier = GoogleTokenVerifier(clock=clock)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as google:
        google.get(
            GOOGLE_CERTS_URL, json=certs_body(), headers={"Cache-Control": "public, max-age=600"}
        )
        for _ in range(3):
            assert verifier(push_token(), AUDIENCE)["email"] == SERVICE_ACCOUNT
        assert len(google.calls) == 1
        clock.advance(seconds=601)
        verifier(push_token(), AUDIENCE)
        assert len(google.calls) == 2


def test_the_verifier_refuses_rather_than_return_false() -> None:
    verifier = GoogleTokenVerifier(clock=FrozenClock(datetime.now(UTC)))
    with responses.RequestsMock() as google:
        google.get(GOOGLE_CERTS_URL, json=certs_body())
        with pytest.raises(BadSignature):
            verifier(push_token(aud="https://elsewhere.example.org"), AUDIENCE)


# =========================================================================== handled events

SIGNED_IN_KEY = f"signedin:{SIGNED_IN_USER}"

HANDLED = [
    pytest.param(
        "google.workspace.meet.conference.v2.started__basic",
        [MeetingStarted("meet", SPACE, RECORD, t(10, 0, 1, 250412))],
        id="conference-started",
    ),
    pytest.param(
        ENDED,
        [MeetingEnded("meet", SPACE, RECORD, t(10, 0, 1, 250412), t(10, 31, 6, 998000))],
        id="conference-ended",
    ),
    pytest.param(
        JOINED,
        [
            ParticipantJoined(
                "meet",
                SPACE,
                RECORD,
                SIGNED_IN_KEY,
                t(10, 0, 4, 500000),
                "Ada Mentor",
                SIGNED_IN_EMAIL,
            )
        ],
        id="joined-signed-in",
    ),
    pytest.param(
        "google.workspace.meet.participant.v2.joined__anonymous",
        [
            ParticipantJoined(
                "meet", SPACE, RECORD, f"anonymous:{P2}", t(10, 1, 11), "Grace (guest)"
            )
        ],
        id="joined-anonymous",
    ),
    pytest.param(
        "google.workspace.meet.participant.v2.joined__phone",
        [ParticipantJoined("meet", SPACE, RECORD, f"phone:{P3}", t(10, 2, 39), "+1 555-***-**42")],
        id="joined-phone",
    ),
    pytest.param(
        LEFT,
        [
            ParticipantLeft(
                "meet", SPACE, RECORD, SIGNED_IN_KEY, t(10, 30, 57), "Ada Mentor", SIGNED_IN_EMAIL
            )
        ],
        id="left-signed-in",
    ),
    pytest.param(
        "google.workspace.meet.participant.v2.left__anonymous",
        [ParticipantLeft("meet", SPACE, RECORD, f"anonymous:{P2}", t(10, 29, 43), "Grace (guest)")],
        id="left-anonymous",
    ),
    pytest.param(
        "google.workspace.meet.recording.v2.fileGenerated__basic",
        [
            RecordingAvailable(
                "meet",
                SPACE,
                RECORD,
                t(10, 0, 1, 250412),
                (RecordingFile(RECORDING, "MP4", "recording", t(10, 3, 0), t(10, 30, 0)),),
            )
        ],
        id="recording-file-generated",
    ),
    pytest.param(
        "google.workspace.meet.transcript.v2.fileGenerated__basic",
        [
            RecordingAvailable(
                "meet",
                SPACE,
                RECORD,
                t(10, 0, 1, 250412),
                (RecordingFile(TRANSCRIPT, "TRANSCRIPT", "transcript", t(10, 3, 0), t(10, 30, 0)),),
            )
        ],
        id="transcript-file-generated",
    ),
]


@pytest.mark.parametrize(("name", "events"), HANDLED)
def test_handled_event(name: str, events: list[Event]) -> None:
    result = deliver_fixture(name)
    assert result.body["status"] == "accepted"
    assert result.events == events


def test_every_handled_meet_type_has_a_fixture() -> None:
    covered = {name.split("__")[0] for name in fixture_names()}
    assert set(MeetReceiver(AUDIENCE, SERVICE_ACCOUNT).handled_events) <= covered


def test_a_participant_event_reads_the_session_the_person_and_the_conference() -> None:
    result = deliver_fixture(JOINED)
    assert result.meet is not None
    assert result.meet.calls == [
        ("participant_session", S1),
        ("participant", S1.split("/participantSessions/")[0]),
        ("conference_record", RECORD),
    ]


def test_a_participant_has_the_same_key_on_join_and_leave() -> None:
    for variant in ("signed_in", "anonymous"):
        [joined] = deliver_fixture(f"google.workspace.meet.participant.v2.joined__{variant}").events
        [left] = deliver_fixture(f"google.workspace.meet.participant.v2.left__{variant}").events
        assert isinstance(joined, ParticipantJoined) and isinstance(left, ParticipantLeft)
        assert joined.participant_key == left.participant_key


def test_a_signed_in_user_keeps_one_key_across_conferences() -> None:
    # users/{id} is the person; the participants/{id} resource is per conference.
    other_record = "conferenceRecords/def456-conf"
    other_participant = f"{other_record}/participants/p-9"
    other_session = f"{other_participant}/participantSessions/s-9"
    meet = FakeMeet(
        resources=RESOURCES
        | {
            other_record: RESOURCES[RECORD] | {"name": other_record},
            other_participant: RESOURCES[S1.split("/participantSessions/")[0]]
            | {"name": other_participant},
            other_session: RESOURCES[S1] | {"name": other_session},
        }
    )
    body = edited(JOINED, data={"participantSession": {"name": other_session}})
    [event] = deliver(body, meet=meet).events
    assert isinstance(event, ParticipantJoined)
    assert (event.instance_uuid, event.participant_key) == (other_record, SIGNED_IN_KEY)


# =========================================================================== who signed in

# Meet names a signed-in participant `users/{id}`; the directory gives their primary e-mail,
# which is what links them to a program person. Nobody else has one.
#
# | participant                                | directory asked | e-mail         | status |
# |--------------------------------------------|-----------------|----------------|--------|
# | signed in, a user of the domain            | users/{id}      | primary e-mail | 200    |
# | signed in, not in the directory (external) | users/{id}      | ""             | 200    |
# | anonymous, phone                           | no              | ""             | 200    |
# | any, directory lookup switched off         | no              | ""             | 200    |
# | signed in, the directory fails             | users/{id}      | (not stored)   | 503    |


def test_a_signed_in_participant_joined_event_carries_their_directory_email() -> None:
    result = deliver_fixture(JOINED)
    [event] = result.events
    assert isinstance(event, ParticipantJoined)
    assert (event.participant_key, event.email) == (SIGNED_IN_KEY, SIGNED_IN_EMAIL)
    assert result.directory.calls == [SIGNED_IN_USER]


def test_the_email_comes_from_the_admin_sdk_directory_api() -> None:
    # The production client behind the receiver: one users.get, asking for the address only.
    url = f"{DIRECTORY_URL}/users/{SIGNED_IN_USER.removeprefix('users/')}"
    answer = responses.Response(
        "GET",
        url,
        json={"primaryEmail": "Ada.Mentor@Program.org"},
        match=[responses.matchers.query_param_matcher({"fields": "primaryEmail"})],
    )
    directory = DirectoryClient(lambda: "ya29.directory-token")
    joined = deliver_fixture(JOINED, directory=directory, google_api=[answer])
    left = deliver_fixture(LEFT, directory=directory, google_api=[answer])
    events = [*joined.events, *left.events]
    assert [type(e) for e in events] == [ParticipantJoined, ParticipantLeft]
    assert [getattr(e, "email", None) for e in events] == [SIGNED_IN_EMAIL] * 2
    assert answer.call_count == 1  # the second event is answered from the cache


@pytest.mark.parametrize(
    ("name", "directory"),
    [
        pytest.param(JOINED, FakeDirectory(emails={}), id="signed-in-outside-the-domain"),
        pytest.param(JOINED, None, id="directory-lookup-off"),
        pytest.param(
            "google.workspace.meet.participant.v2.joined__anonymous",
            FakeDirectory(),
            id="anonymous",
        ),
        pytest.param(
            "google.workspace.meet.participant.v2.joined__phone", FakeDirectory(), id="phone"
        ),
    ],
)
def test_others_are_accepted_without_an_email(name: str, directory: FakeDirectory | None) -> None:
    result = deliver_fixture(name, directory=directory)
    assert result.body["status"] == "accepted"
    [event] = result.events
    assert isinstance(event, ParticipantJoined) and event.email == ""
    if directory is not None and "signed_in" not in name:
        assert directory.calls == []  # only a signed-in user has an id the directory knows


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(Unauthorized("Directory users.get answered 403", status=403), id="403"),
        pytest.param(RateLimited("Directory users.get answered 429", retry_after=9), id="429"),
        pytest.param(Unavailable("Directory users.get answered 503", status=503), id="503"),
    ],
)
def test_a_directory_failure_answers_503_so_pubsub_redelivers(error: AdapterError) -> None:
    result = deliver_fixture(JOINED, directory=FakeDirectory(error=error))
    assert outcome_of(result) == (503, "meet_api_unavailable")
    assert result.body["message"].startswith(f"Directory API: {type(error).__name__}")
    assert result.inbox.calls == []


def test_the_email_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert deliver_fixture(JOINED).body["status"] == "accepted"
    assert caplog.records
    assert SIGNED_IN_EMAIL not in caplog.text


# =========================================================================== lifecycle


@pytest.mark.parametrize(
    ("name", "level", "notice"),
    [
        pytest.param(
            SUSPENDED,
            logging.ERROR,
            SubscriptionNotice(
                "google.workspace.events.subscription.v1.suspended",
                "subscriptions/meet-mentoring-1",
                "ENDPOINT_PERMISSION_DENIED",
            ),
            id="suspended",
        ),
        pytest.param(
            "google.workspace.events.subscription.v1.expirationReminder__one_hour_left",
            logging.WARNING,
            SubscriptionNotice(
                "google.workspace.events.subscription.v1.expirationReminder",
                "subscriptions/meet-mentoring-1",
                expires_at=datetime(2024, 5, 2, 10, 0, tzinfo=UTC),
            ),
            id="expiration-reminder",
        ),
        pytest.param(
            "google.workspace.events.subscription.v1.expired__basic",
            logging.ERROR,
            SubscriptionNotice(
                "google.workspace.events.subscription.v1.expired",
                "subscriptions/meet-mentoring-1",
                expires_at=datetime(2024, 5, 2, 10, 0, tzinfo=UTC),
            ),
            id="expired",
        ),
    ],
)
def test_a_lifecycle_event_is_stored_and_logged_loud_without_reading_meet(
    name: str, level: int, notice: SubscriptionNotice, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="connector.webhooks"):
        result = deliver_fixture(name)
    assert result.body["status"] == "accepted"
    # The runner raises the alert (connector.subscriptions); Pub/Sub is answered at once.
    assert result.events == [
        SubscriptionLifecycle(
            "meet",
            notice.subscription,
            notice.event_type.rsplit(".", 1)[-1],
            expires_at=notice.expires_at,
            reason=notice.reason,
        )
    ]
    assert result.meet is not None and result.meet.calls == []
    assert subscription_notice(json.loads(load_fixture(name))) == notice
    [record] = [r for r in caplog.records if r.name == "connector.webhooks.meet"]
    assert record.levelno == level
    assert "subscriptions/meet-mentoring-1" in record.getMessage()


def test_lifecycle_events_need_no_meet_api() -> None:
    assert deliver_fixture(SUSPENDED, meet=None).body["status"] == "accepted"


# =========================================================================== ignored, unsupported


@pytest.mark.parametrize("ce_type", sorted(MeetReceiver.ignored_events))
def test_every_ignored_type_is_acknowledged_with_its_reason_without_reading_meet(
    ce_type: str,
) -> None:
    result = deliver(with_type(ENDED, ce_type))
    assert result.body == {
        "status": "ignored",
        "event": ce_type,
        "reason": MeetReceiver.ignored_events[ce_type],
    }
    assert result.inbox.calls == []
    assert result.meet is not None and result.meet.calls == []


def test_a_new_event_type_is_acknowledged_logged_and_not_stored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # "ignore new event types that might appear in the future" (events-lifecycle guide)
    with caplog.at_level(logging.INFO, logger="connector.webhooks"):
        result = deliver_fixture(FUTURE)
    ce_type = "google.workspace.meet.smartNote.v2.fileGenerated"
    assert result.body == {"status": "unsupported", "event": ce_type}
    assert result.inbox.calls == []
    assert result.meet is not None and result.meet.calls == []
    [record] = [r for r in caplog.records if r.name == "connector.webhooks.unsupported"]
    assert record.levelno == logging.WARNING
    assert ce_type in record.getMessage()


def test_every_type_is_handled_ignored_or_unsupported_never_two_of_these() -> None:
    handled = set(MeetReceiver(AUDIENCE, SERVICE_ACCOUNT).handled_events)
    assert not handled & set(MeetReceiver.ignored_events)


def test_every_fixture_is_named_after_the_type_it_carries() -> None:
    names = fixture_names()
    assert len(names) >= 13
    for name in names:
        body = json.loads(load_fixture(name))
        assert body["message"]["attributes"]["ce-type"] == name.split("__")[0], name
        assert decoded_data(name)  # data is base64 JSON


# =========================================================================== delivery ids


def test_a_redelivered_message_is_a_duplicate_even_with_a_fresh_token() -> None:
    inbox = Inbox()
    first = deliver_fixture(JOINED, inbox=inbox)
    again = deliver_fixture(JOINED, inbox=inbox, token=push_token(iat=int(time.time()) + 5))
    delivery_id = "google.workspace.meet.participant.v2.joined:2070443601311202"
    assert first.body == {"status": "accepted", "delivery_id": delivery_id}
    assert again.body == {"status": "duplicate", "delivery_id": delivery_id}
    assert len(inbox.stored) == 1


def test_the_snake_case_message_id_alone_is_enough() -> None:
    result = deliver(edited(ENDED, messageId=DELETE))
    assert (
        result.body["delivery_id"] == "google.workspace.meet.conference.v2.ended:2070443601311540"
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(load_fixture(JOINED), load_fixture(LEFT), id="joined-vs-left"),
        pytest.param(
            load_fixture(ENDED),
            edited(ENDED, messageId="2070443601399999", message_id="2070443601399999"),
            id="another-message",
        ),
    ],
)
def test_different_messages_are_different_deliveries(first: bytes, second: bytes) -> None:
    inbox = Inbox()
    one, two = deliver(first, inbox=inbox), deliver(second, inbox=inbox)
    assert (one.body["status"], two.body["status"]) == ("accepted", "accepted")
    assert one.body["delivery_id"] != two.body["delivery_id"]


# =========================================================================== payload guards


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"not json", "body is not JSON", id="not-json"),
        pytest.param(b"[]", "body is not a JSON object", id="not-an-object"),
        pytest.param(b'{"subscription": "s"}', "missing field message", id="no-message"),
        pytest.param(
            edited(ENDED, messageId=DELETE, message_id=DELETE),
            "missing field message.messageId",
            id="no-message-id",
        ),
        pytest.param(
            edited(ENDED, attributes={}),
            "missing field message.attributes.ce-type",
            id="no-ce-type",
        ),
        pytest.param(
            edited(ENDED, attributes="x"),
            "message.attributes must be an object",
            id="attributes-not-object",
        ),
        pytest.param(edited(ENDED, data=DELETE), "missing field message.data", id="no-data"),
        pytest.param(
            edited(ENDED, raw_data="***"), "message.data is not base64 JSON", id="data-not-base64"
        ),
        pytest.param(
            edited(ENDED, data=["x"]), "message.data must be an object", id="data-not-object"
        ),
        pytest.param(
            edited(ENDED, data={"conferenceRecord": {}}),
            "missing field conferenceRecord.name",
            id="no-record-name",
        ),
        pytest.param(
            edited(ENDED, data={"conferenceRecord": {"name": "conferenceRecords/../spaces/x"}}),
            "conferenceRecord.name is not a Meet resource name",
            id="path-traversal",
        ),
        pytest.param(
            edited(ENDED, data={"conferenceRecord": {"name": SPACE}}),
            "conferenceRecord.name is not",
            id="a-space-not-a-record",
        ),
        pytest.param(
            edited(JOINED, data={"participantSession": {"name": f"{RECORD}/participants/p-1"}}),
            "participantSession.name is not",
            id="participant-not-session",
        ),
        pytest.param(
            edited(SUSPENDED, data={"subscription": "x"}),
            "data.subscription must be an object",
            id="lifecycle-without-subscription",
        ),
    ],
)
def test_payload_guards(body: bytes, message: str) -> None:
    result = deliver(body)
    refused_untouched(result, 400, "bad_payload")
    assert result.body["message"].startswith(message)


# =========================================================================== the Meet API


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(Unavailable("Meet GET answered 503", status=503), id="unavailable"),
        pytest.param(RateLimited("Meet GET answered 429", retry_after=30), id="rate-limited"),
        pytest.param(Unauthorized("Meet GET answered 401", status=401), id="unauthorized"),
    ],
)
def test_a_meet_api_failure_answers_503_so_pubsub_redelivers(error: AdapterError) -> None:
    result = deliver_fixture(JOINED, meet=FakeMeet(errors={S1: error}))
    assert outcome_of(result) == (503, "meet_api_unavailable")
    assert type(error).__name__ in result.body["message"]
    assert result.inbox.calls == []


def test_a_resource_meet_does_not_know_answers_503() -> None:
    result = deliver_fixture(ENDED, meet=FakeMeet(resources={}))
    assert outcome_of(result) == (503, "meet_api_unavailable")


def test_without_the_meet_api_a_handled_event_is_refused_for_redelivery() -> None:
    result = deliver_fixture(ENDED, meet=None)
    assert outcome_of(result) == (503, "meet_api_unavailable")
    assert result.inbox.calls == []


@pytest.mark.parametrize(
    ("name", "resource", "field"),
    [
        pytest.param(ENDED, RECORD, "endTime", id="ended-record-without-end"),
        pytest.param(ENDED, RECORD, "space", id="record-without-space"),
        pytest.param(LEFT, S1, "endTime", id="left-session-without-end"),
    ],
)
def test_an_answer_missing_what_the_event_needs_answers_503(
    name: str, resource: str, field: str
) -> None:
    partial = {k: v for k, v in RESOURCES[resource].items() if k != field}
    result = deliver_fixture(name, meet=FakeMeet(resources=RESOURCES | {resource: partial}))
    assert outcome_of(result) == (503, "meet_api_unavailable")
    assert field in result.body["message"]
