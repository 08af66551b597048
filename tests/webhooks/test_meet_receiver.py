"""Google Meet via Pub/Sub push, as the receiver must treat it (reference video-platforms.md §5).

Guards, in the pipeline's order; no refusal reaches `accept`:

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
| handled (incl. lifecycle)                                      | 200    | accepted / duplicate |

A handled Meet event is stored as a `PlatformChanged` hint; the Meet REST API is read by the
outbox, never here (tests/test_meet_pipeline.py). Every token is signed in `meet_helpers` with
a key made for the run; only the certificate URL answers, so any other Google call fails.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import responses

from connector.clock import FrozenClock
from connector.domain import PlatformChanged, SubscriptionLifecycle
from tests.webhooks.meet_helpers import (
    AUDIENCE,
    DELETE,
    RECORD,
    SERVICE_ACCOUNT,
    SPACE,
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


def outcome_of(result: MeetOutcome) -> tuple[int, str]:
    return result.status, result.body["error"]


def refused_untouched(result: MeetOutcome, status: int, code: str) -> None:
    """Refused with `status`/`code`, nothing stored."""
    assert outcome_of(result) == (status, code)
    assert result.inbox.calls == []


# =========================================================================== verification


def test_a_google_signed_push_is_accepted_and_its_events_stored() -> None:
    result = deliver_fixture(ENDED)
    assert result.body == {
        "status": "accepted",
        "delivery_id": "google.workspace.meet.conference.v2.ended:2070443601311540",
    }
    assert result.events == [
        PlatformChanged(
            platform="meet",
            resource=RECORD,
            change_type="google.workspace.meet.conference.v2.ended",
            delivery="google.workspace.meet.conference.v2.ended:2070443601311540",
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

# Each Meet event is a hint: the resource it names, read later by the outbox
# (`MeetPlatform.read_change`, tested in tests/adapters/test_meet_reads.py).
RESOURCE_FIELDS = ("conferenceRecord", "participantSession", "recording", "transcript")
HANDLED_FIXTURES = [
    name
    for name in fixture_names()
    if name.split("__")[0] in MeetReceiver(AUDIENCE, SERVICE_ACCOUNT).handled_events
    and ".meet." in name
]


def named_resource(name: str) -> str:
    data = decoded_data(name)
    [field] = [f for f in RESOURCE_FIELDS if f in data]
    resource: str = data[field]["name"]
    return resource


@pytest.mark.parametrize("name", HANDLED_FIXTURES)
def test_a_meet_event_is_stored_as_the_hint_to_read_the_resource_it_names(name: str) -> None:
    result = deliver_fixture(name)  # only the certificate URL answers: no Meet API call
    ce_type = name.split("__")[0]
    assert result.body["status"] == "accepted"
    assert result.events == [
        PlatformChanged(
            platform="meet",
            resource=named_resource(name),
            change_type=ce_type,
            delivery=result.body["delivery_id"],
        )
    ]


def test_every_handled_meet_type_has_a_fixture() -> None:
    covered = {name.split("__")[0] for name in fixture_names()}
    assert set(MeetReceiver(AUDIENCE, SERVICE_ACCOUNT).handled_events) <= covered
    assert len(HANDLED_FIXTURES) == 9


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
    assert subscription_notice(json.loads(load_fixture(name))) == notice
    [record] = [r for r in caplog.records if r.name == "connector.webhooks.meet"]
    assert record.levelno == level
    assert "subscriptions/meet-mentoring-1" in record.getMessage()


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


def test_a_new_event_type_is_acknowledged_logged_and_not_stored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # "ignore new event types that might appear in the future" (events-lifecycle guide)
    with caplog.at_level(logging.INFO, logger="connector.webhooks"):
        result = deliver_fixture(FUTURE)
    ce_type = "google.workspace.meet.smartNote.v2.fileGenerated"
    assert result.body == {"status": "unsupported", "event": ce_type}
    assert result.inbox.calls == []
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
