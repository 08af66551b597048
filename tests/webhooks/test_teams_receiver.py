"""Microsoft Teams change notifications, as the receiver must treat them (reference §0, §4).

Graph does not sign bodies: every item carries the subscription's `clientState`, and a body is
authentic only when all of them match. Guards in the order of the wiring (`handshake()`, then
the shared pipeline); no refusal reaches `accept` or Graph's API:

| request                                                        | status | answer                 |
|----------------------------------------------------------------|--------|------------------------|
| `?validationToken=…`, no body                                  | 200    | the token, text/plain  |
| the same, no clientState configured                            | 401    | missing_secret         |
| the same, a token empty, over 2048 characters or not printable | 400    | bad_payload            |
| empty body (no validationToken)                                | 400    | bad_payload            |
| no clientState configured, whatever the body                   | 401    | missing_secret         |
| any item with another, no, or a non-string clientState         | 401    | bad_signature          |
| an item for another tenant (when a tenant is configured)       | 401    | bad_signature          |
| a body with no readable `value` list (nothing to authenticate) | 401    | bad_signature          |
| authentic, but an item without resource or changeType          | 400    | bad_payload            |
| call record created/updated                                    | 202    | PlatformChanged (hint) |
| recording / transcript created                                 | 202    | PlatformChanged (hint) |
| lifecycle reauthorizationRequired/subscriptionRemoved/missed   | 202    | SubscriptionLifecycle  |
| `callRecord.deleted`                                           | 200    | ignored, with a reason |
| any other resource (`chats.messages.created`)                  | 200    | unsupported, logged    |

The receiver has no way to reach Graph: what a notification names is read later, by the
outbox (`tests/adapters/test_teams_reads.py`, end to end in `tests/test_teams_pipeline.py`).
Fixtures are Graph's documented shapes in `tests/fixtures/teams/<type>__<variant>.json`;
`graph.*` ones are the API's answers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask import request as flask_request

from connector.clock import FrozenClock
from connector.domain import PlatformChanged, SubscriptionLifecycle
from connector.webhook_view import _response
from tests.webhooks.zoom_helpers import Inbox, Outcome
from webhooks.base import BadSignature, Request
from webhooks.pipeline import receive
from webhooks.teams import (
    BATCH,
    SubscriptionNotice,
    TeamsReceiver,
    item_type,
    lifecycle_notices,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "teams"
STATE = "mentor-connector-teams-client-state-4c1f"
TENANT = "2432b57b-0abd-43db-aa7b-16eadd115d34"
NOW = datetime(2024, 5, 1, 10, 45, tzinfo=UTC)
GROUP = "2f1a9c3e-7d4b-4c8e-9a1f-5e6d7c8b9a0f"
P2P = "e523d2ed-2966-4b6b-925b-754a88034cc5"
SUB_REC = "6aa5ced2-0a5a-4643-9274-3109c731d986"
ADA = "976f4b31-fd01-4e0b-9178-29cc40c14438"
BEN = "5d8e2c41-7a3b-4f6e-9c1d-0b2a3e4f5a6b"
DEFAULT = object()


def load(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def payload_of(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(load(name))
    return body


def notification_fixtures() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json") if not p.stem.startswith("graph."))


def compact(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def resource_of(fixture: str) -> str:
    return str(payload_of(fixture)["value"][0]["resource"])


REC_RESOURCE = resource_of("callRecording.created__basic")
TR_RESOURCE = resource_of("callTranscript.created__basic")
REC_ID = REC_RESOURCE.split("/recordings('")[1][:-2]
TR_ID = TR_RESOURCE.split("/transcripts('")[1][:-2]
JOIN_URL = payload_of("graph.callRecord__group_call")["joinWebUrl"]
MEETING = payload_of("graph.callRecording__basic")["meetingId"]


def deliver(
    body: bytes,
    *,
    client_state: str | None = STATE,
    tenant_id: str | None = None,
    query: Mapping[str, str] | None = None,
    inbox: Inbox | None = None,
    clock: FrozenClock | None = None,
) -> Outcome:
    """POST `body` the way the view is wired: `handshake()` first, then the shared pipeline."""
    clock = clock or FrozenClock(NOW)
    receiver = TeamsReceiver(client_state, tenant_id=tenant_id, clock=clock)
    request = Request(body=body, headers={"content-type": "application/json"}, query=query or {})
    inbox = Inbox() if inbox is None else inbox
    before = len(inbox.calls)
    reply = receiver.handshake(request) or receive(receiver, request, inbox)
    return Outcome(reply, inbox, tuple(inbox.calls[before:]))


def refused(result: Outcome) -> tuple[int, str]:
    return result.status, result.body["error"]


def t(hour: int, minute: int, second: int, micro: int = 0) -> datetime:
    return datetime(2024, 5, 1, hour, minute, second, micro, tzinfo=UTC)


# =========================================================================== the handshake

VALIDATION_QUERY = (
    "validationToken=Validation%3A%20Testing%20client%20application%20reachability"
    "%20for%20subscription%20Request-Id%3A%2025f9b2a1-0c1d%2B%3Cb%3E"
)
VALIDATION_TOKEN = (
    "Validation: Testing client application reachability for subscription "
    "Request-Id: 25f9b2a1-0c1d+<b>"
)


def test_the_validation_request_is_answered_with_the_decoded_token_as_plain_text() -> None:
    # Through Flask, as the view builds `Request` (query = request.args) and renders a `Reply`.
    app = Flask(__name__)
    receiver = TeamsReceiver(STATE, clock=FrozenClock(NOW))

    @app.post("/webhooks/teams")
    def view() -> Any:
        incoming = Request(
            body=flask_request.get_data(cache=False),
            headers={k.lower(): v for k, v in flask_request.headers.items()},
            query=flask_request.args.to_dict(),
        )
        reply = receiver.handshake(incoming)
        assert reply is not None
        return _response(reply)

    answer = app.test_client().post(
        "/webhooks/teams?" + VALIDATION_QUERY, headers={"Content-Type": "text/plain"}
    )
    assert answer.status_code == 200
    assert answer.mimetype == "text/plain"
    assert answer.get_data(as_text=True) == VALIDATION_TOKEN


def test_the_handshake_comes_before_the_pipelines_empty_body_guard() -> None:
    request = Request(b"", {}, {"validationToken": VALIDATION_TOKEN})
    receiver = TeamsReceiver(STATE, clock=FrozenClock(NOW))
    # The shared pipeline asks for the handshake before its empty-body guard.
    inbox = Inbox()
    reply = receive(receiver, request, inbox)
    assert (reply.status, reply.body, inbox.calls) == (200, VALIDATION_TOKEN, [])
    result = deliver(b"", query={"validationToken": VALIDATION_TOKEN})
    assert (result.status, result.body, result.reply.content_type) == (
        200,
        VALIDATION_TOKEN,
        "text/plain; charset=utf-8",
    )
    assert result.inbox.calls == []


@pytest.mark.parametrize(
    ("options", "outcome"),
    [
        pytest.param({"client_state": None}, (401, "missing_secret"), id="no-client-state"),
        pytest.param({"client_state": ""}, (401, "missing_secret"), id="empty-client-state"),
        pytest.param({"token": ""}, (400, "bad_payload"), id="empty-token"),
        pytest.param({"token": "x" * 2049}, (400, "bad_payload"), id="token-too-long"),
        pytest.param({"token": "ok\r\nSet-Cookie: a=b"}, (400, "bad_payload"), id="crlf"),
    ],
)
def test_a_handshake_is_refused_when_it_cannot_be_trusted(
    options: dict[str, Any], outcome: tuple[int, str]
) -> None:
    token = options.pop("token", VALIDATION_TOKEN)
    result = deliver(b"", query={"validationToken": token}, **options)
    assert refused(result) == outcome
    assert result.inbox.calls == []


def test_a_validation_token_on_a_notification_is_no_handshake() -> None:
    # Graph validates with an empty body; a body means the clientState must speak for it.
    body = load("callRecord.created__group_call")
    query = {"validationToken": VALIDATION_TOKEN}
    assert deliver(body, query=query).body["status"] == "accepted"
    forged = deliver(body.replace(STATE.encode(), b"guessed"), query=query)
    assert refused(forged) == (401, "bad_signature")
    assert VALIDATION_TOKEN not in json.dumps(forged.body)


def test_a_request_without_validation_token_is_not_a_handshake() -> None:
    receiver = TeamsReceiver(STATE)
    assert receiver.handshake(Request(b"", {}, {})) is None
    assert receiver.challenge(Request(b"{}", {}, {}), {}) is None


# =========================================================================== authenticity


def with_item(fixture: str, index: int = 0, **changes: Any) -> bytes:
    payload = payload_of(fixture)
    for field, value in changes.items():
        if value is DEFAULT:
            del payload["value"][index][field]
        else:
            payload["value"][index][field] = value
    return compact(payload)


GUARDS = [
    pytest.param({}, None, id="right-client-state"),
    pytest.param(
        {"body": with_item("callRecord.created__group_call", clientState="guessed")},
        (401, "bad_signature"),
        id="wrong-client-state",
    ),
    pytest.param(
        {"body": with_item("callRecord.created__group_call", clientState=STATE + " ")},
        (401, "bad_signature"),
        id="client-state-with-a-trailing-space",
    ),
    pytest.param(
        {"body": with_item("callRecord.created__group_call", clientState=DEFAULT)},
        (401, "bad_signature"),
        id="no-client-state",
    ),
    pytest.param(
        {"body": with_item("callRecord.created__group_call", clientState=None)},
        (401, "bad_signature"),
        id="null-client-state",
    ),
    pytest.param(
        {"body": with_item("callRecord.created__group_call", clientState=["x"])},
        (401, "bad_signature"),
        id="list-client-state",
    ),
    pytest.param({"client_state": None}, (401, "missing_secret"), id="nothing-configured"),
    pytest.param({"client_state": ""}, (401, "missing_secret"), id="empty-configured"),
    pytest.param({"tenant_id": TENANT}, None, id="our-tenant"),
    pytest.param({"tenant_id": TENANT.upper()}, None, id="our-tenant-in-capitals"),
    pytest.param(
        {"tenant_id": "11111111-2222-3333-4444-555555555555"},
        (401, "bad_signature"),
        id="another-tenant",
    ),
]


@pytest.mark.parametrize(("options", "outcome"), GUARDS)
def test_authenticity_guards(options: dict[str, Any], outcome: tuple[int, str] | None) -> None:
    body = options.pop("body", load("callRecord.created__group_call"))
    result = deliver(body, **options)
    if outcome is None:
        assert result.body == {"status": "accepted", "delivery_id": f"callRecord.created:{GROUP}"}
        assert len(result.calls) == 1
    else:
        assert refused(result) == outcome
        assert result.calls == ()


@pytest.mark.parametrize("bad", [0, 1], ids=["first-item-bad", "second-item-bad"])
def test_one_item_with_another_client_state_refuses_the_whole_body(bad: int) -> None:
    body = with_item("batch__call_record_and_recording", bad, clientState="guessed")
    result = deliver(body)
    assert refused(result) == (401, "bad_signature")
    assert f"value[{bad}]" in result.body["message"]
    assert result.calls == ()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"value=1", id="form-encoded"),
        pytest.param(b"\xff\xfe{", id="not-utf8"),
        pytest.param(b'[{"clientState":"x"}]', id="json-array"),
        pytest.param(b"{}", id="no-value"),
        pytest.param(b'{"value":[]}', id="empty-value"),
        pytest.param(b'{"value":{"clientState":"x"}}', id="value-not-a-list"),
        pytest.param(b'{"value":["x"]}', id="item-not-an-object"),
    ],
)
def test_a_body_with_nothing_to_authenticate_is_refused(body: bytes) -> None:
    result = deliver(body)
    assert refused(result) == (401, "bad_signature")
    assert result.calls == ()


def test_an_empty_body_without_validation_token_is_a_bad_payload() -> None:
    assert refused(deliver(b"")) == (400, "bad_payload")


def test_verify_raises_rather_than_returns() -> None:
    receiver = TeamsReceiver(STATE)
    with pytest.raises(BadSignature):
        receiver.verify(Request(with_item("lifecycle.missed__basic", clientState="x"), {}))
    receiver.verify(Request(load("lifecycle.missed__basic"), {}))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            with_item("callRecord.created__group_call", resource=DEFAULT),
            "missing field resource",
            id="no-resource",
        ),
        pytest.param(
            with_item("callRecord.created__group_call", changeType=DEFAULT),
            "missing field changeType",
            id="no-changeType",
        ),
        pytest.param(
            with_item("lifecycle.missed__basic", lifecycleEvent=42),
            "lifecycleEvent must be a name",
            id="lifecycle-not-a-name",
        ),
    ],
)
def test_authentic_but_malformed_items_are_bad_payloads(body: bytes, message: str) -> None:
    result = deliver(body)
    assert refused(result) == (400, "bad_payload")
    assert result.body["message"].startswith(message)


# =========================================================================== hints

GROUP_RESOURCE = f"communications/callRecords/{GROUP}"


def hint(resource: str, change: str, delivery: str) -> PlatformChanged:
    return PlatformChanged("teams", resource, change, delivery)


def test_a_call_record_notification_is_stored_as_a_hint_to_read_it() -> None:
    result = deliver(load("callRecord.created__group_call"))
    delivery = f"callRecord.created:{GROUP}"
    assert (result.status, result.body) == (202, {"status": "accepted", "delivery_id": delivery})
    assert result.events == [hint(GROUP_RESOURCE, "created", delivery)]
    [call] = result.calls
    assert (call.source, call.event_type) == ("teams", "callRecord.created")
    assert call.payload == payload_of("callRecord.created__group_call")


def test_a_notification_of_two_records_stores_a_hint_for_each() -> None:
    result = deliver(load("callRecord.created__two_records"))
    assert result.calls[0].event_type == "callRecord.created"
    assert result.events == [
        hint(GROUP_RESOURCE, "created", f"callRecord.created:{GROUP}"),
        hint(f"communications/callRecords/{P2P}", "created", f"callRecord.created:{P2P}"),
    ]
    assert result.body["delivery_id"].startswith("batch:")


def test_the_quoted_spelling_of_a_call_record_is_stored_as_the_same_resource() -> None:
    body = with_item(
        "callRecord.created__group_call", resource=f"/communications/callRecords('{GROUP}')"
    )
    [event] = deliver(body).events
    assert event == hint(GROUP_RESOURCE, "created", f"callRecord.created:{GROUP}")


def test_a_retried_created_notification_is_a_duplicate() -> None:
    inbox = Inbox()
    first = deliver(load("callRecord.created__group_call"), inbox=inbox)
    again = deliver(load("callRecord.created__group_call"), inbox=inbox)
    assert (first.body["status"], again.body["status"]) == ("accepted", "duplicate")
    assert again.body["delivery_id"] == first.body["delivery_id"]


def test_a_second_subscriptions_created_notification_is_the_same_delivery() -> None:
    inbox = Inbox()
    deliver(load("callRecord.created__group_call"), inbox=inbox)
    other = with_item("callRecord.created__group_call", subscriptionId=SUB_REC)
    assert deliver(other, inbox=inbox).body["status"] == "duplicate"


def test_every_updated_notification_received_is_stored_since_only_graph_knows_the_version() -> None:
    # The body of version 2's and version 3's notification are the same bytes: dropping the
    # second as a duplicate could lose version 3. Each is stored; the read dedupes on version.
    inbox, clock = Inbox(), FrozenClock(NOW)
    first = deliver(load("callRecord.updated__version_2"), inbox=inbox, clock=clock)
    clock.advance(seconds=90)
    second = deliver(load("callRecord.updated__version_2"), inbox=inbox, clock=clock)
    assert [r.body["status"] for r in (first, second)] == ["accepted", "accepted"]
    assert first.body["delivery_id"] == f"callRecord.updated:{GROUP}:{NOW.isoformat()}"
    [event] = first.events
    assert event == hint(GROUP_RESOURCE, "updated", first.body["delivery_id"])
    assert second.events == [hint(GROUP_RESOURCE, "updated", second.body["delivery_id"])]
    assert second.body["delivery_id"] != first.body["delivery_id"]


@pytest.mark.parametrize(
    ("fixture", "resource"),
    [
        pytest.param("callRecording.created__basic", REC_RESOURCE, id="recording"),
        pytest.param("callTranscript.created__basic", TR_RESOURCE, id="transcript"),
    ],
)
def test_a_recording_or_transcript_is_stored_as_a_hint_to_read_it(
    fixture: str, resource: str
) -> None:
    inbox = Inbox()
    result = deliver(load(fixture), inbox=inbox)
    delivery = result.body["delivery_id"]
    assert result.status == 202
    assert result.events == [hint(resource, "created", delivery)]
    assert len(delivery) <= 255
    assert deliver(load(fixture), inbox=inbox).body["status"] == "duplicate"


# =========================================================================== lifecycle

LIFECYCLE = [
    pytest.param(
        "lifecycle.reauthorizationRequired__basic",
        "renew",
        datetime(2024, 5, 1, 11, tzinfo=UTC),
        logging.WARNING,
        id="reauthorizationRequired",
    ),
    pytest.param(
        "lifecycle.subscriptionRemoved__basic",
        "recreate",
        datetime(2024, 5, 1, 11, tzinfo=UTC),
        logging.ERROR,
        id="subscriptionRemoved",
    ),
    pytest.param(
        "lifecycle.missed__basic",
        "resync",
        datetime(2024, 5, 3, 8, 27, 5, tzinfo=UTC),
        logging.ERROR,
        id="missed",
    ),
]


@pytest.mark.parametrize(("fixture", "action", "expires", "level"), LIFECYCLE)
def test_a_lifecycle_notification_is_stored_logged_and_read_back_as_a_notice(
    fixture: str,
    action: str,
    expires: datetime,
    level: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="connector.webhooks.teams"):
        result = deliver(load(fixture))
    event = fixture.split("__")[0].removeprefix("lifecycle.")
    assert result.body["status"] == "accepted"
    assert result.body["delivery_id"].startswith(f"lifecycle.{event}:{SUB_REC}:")
    # The runner acts on it (connector.subscriptions); Graph is answered without waiting.
    assert result.events == [SubscriptionLifecycle("teams", SUB_REC, event, expires_at=expires)]
    [call] = result.calls
    assert lifecycle_notices(call.payload) == [
        SubscriptionNotice(event, SUB_REC, action, expires_at=expires, tenant_id=TENANT)
    ]
    [record] = [r for r in caplog.records if "needs attention" in r.getMessage()]
    assert record.levelno == level
    assert f"action={action}" in record.getMessage()


def test_a_renewed_subscriptions_next_notice_is_a_new_delivery() -> None:
    inbox = Inbox()
    deliver(load("lifecycle.reauthorizationRequired__basic"), inbox=inbox)
    later = with_item(
        "lifecycle.reauthorizationRequired__basic",
        subscriptionExpirationDateTime="2024-05-01T12:00:00.0000000Z",
    )
    assert deliver(later, inbox=inbox).body["status"] == "accepted"


# =========================================================================== the rest


def test_an_ignored_type_is_acknowledged_with_its_reason() -> None:
    result = deliver(load("callRecord.deleted__expired"))
    assert result.reply.status == 200
    assert result.body == {
        "status": "ignored",
        "event": "callRecord.deleted",
        "reason": TeamsReceiver.ignored_events["callRecord.deleted"],
    }
    assert result.calls == ()


def test_another_resource_is_acknowledged_logged_and_not_stored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="connector.webhooks.unsupported"):
        result = deliver(load("chats.messages.created__not_handled"))
    assert (result.reply.status, result.body) == (
        200,
        {"status": "unsupported", "event": "chats.messages.created"},
    )
    assert result.calls == ()
    assert any("chats.messages.created" in r.getMessage() for r in caplog.records)


def test_a_mixed_batch_handles_each_item_by_its_own_type() -> None:
    result = deliver(load("batch__call_record_and_recording"))
    [call] = result.calls
    assert call.event_type == BATCH
    assert result.body["delivery_id"].startswith("batch:")
    assert [
        (e.resource, e.change_type) for e in result.events if isinstance(e, PlatformChanged)
    ] == [
        (GROUP_RESOURCE, "created"),
        (REC_RESOURCE, "created"),
    ]
    assert len(result.events) == 2


def test_a_mixed_batch_logs_an_unsupported_item_and_keeps_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = payload_of("lifecycle.missed__basic")
    payload["value"] += payload_of("chats.messages.created__not_handled")["value"]
    payload["value"] += payload_of("callRecord.deleted__expired")["value"]
    with caplog.at_level(logging.INFO):
        result = deliver(compact(payload))
    assert result.body["status"] == "accepted"
    assert [type(e) for e in result.events] == [SubscriptionLifecycle]
    messages = [r.getMessage() for r in caplog.records]
    assert any("unsupported" in m and "chats.messages.created" in m for m in messages)
    assert any("ignored" in m and "callRecord.deleted" in m for m in messages)


# =========================================================================== the tables


def test_every_type_is_handled_ignored_or_unsupported_never_two_of_these() -> None:
    receiver = TeamsReceiver(STATE)
    assert not set(receiver.handled_events) & set(TeamsReceiver.ignored_events)


def test_every_handled_type_has_a_fixture() -> None:
    named = {name.split("__")[0] for name in notification_fixtures()}
    assert set(TeamsReceiver(STATE).handled_events) <= named


@pytest.mark.parametrize("name", notification_fixtures())
def test_every_fixture_is_named_after_the_type_it_carries(name: str) -> None:
    payload = payload_of(name)
    assert TeamsReceiver(STATE).event_type(payload) == name.split("__")[0]
    assert all(item["clientState"] == STATE for item in payload["value"])


def test_item_types_are_short_enough_for_the_inbox() -> None:
    item = {"resource": "a" * 300 + "/b('x')", "changeType": "created" * 5}
    assert len(item_type(item)) <= 64
