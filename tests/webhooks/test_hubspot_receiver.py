"""HubSpot webhooks, as the receiver must treat them (shared/reference/crm-hosts.md §2.5).

| request                                                   | status | answer           |
|-----------------------------------------------------------|--------|------------------|
| no client secret configured, whatever the signature       | 401    | missing_secret   |
| no v3 signature or timestamp (a v1 signature alone too)   | 401    | bad_signature    |
| v3 signature over another body, uri, time or secret       | 401    | bad_signature    |
| timestamp more than 5 minutes away from the clock         | 401    | stale_timestamp  |
| signed, but not a JSON array of event objects             | 400    | bad_payload      |
| signed events of one ignored type (deal.*, …)             | 200    | ignored          |
| signed events of one unknown type                         | 200    | unsupported      |
| signed contact.* / object.* events                        | 200    | HostChanged each |

Fixtures are real payload shapes (`<subscriptionType>__<variant>.json`) sent byte for byte and
signed here with `webhooks.hubspot.sign`; no signature is written out by hand.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connector.clock import FrozenClock
from connector.domain import HostChanged
from tests.webhooks.zoom_helpers import Inbox, Outcome
from webhooks.base import Request
from webhooks.hubspot import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    HubSpotReceiver,
    decode_uri,
    sign,
    signature_v3,
)
from webhooks.pipeline import receive

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hubspot"
SECRET = "hubspot-client-secret-for-tests"
PUBLIC = "https://connector.example.org"
URI = PUBLIC + "/webhooks/hubspot"
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
PAIRS = "2-3456789"


def load(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def deliver(
    body: bytes,
    *,
    secret: str | None = SECRET,
    signed_with: str | None = SECRET,
    signed_uri: str = URI,
    sent_at_ms: int = NOW_MS,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str | None] | None = None,
    public_url: str = PUBLIC,
    inbox: Inbox | None = None,
) -> Outcome:
    sent: dict[str, str] = {"user-agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/)"}
    if signed_with is not None:
        sent |= sign(signed_with, body, uri=signed_uri, timestamp_ms=sent_at_ms)
    sent = {k.lower(): v for k, v in sent.items()}
    for name, value in (headers or {}).items():
        sent.pop(name.lower(), None)
        if value is not None:
            sent[name.lower()] = value
    inbox = Inbox() if inbox is None else inbox
    before = len(inbox.calls)
    receiver = HubSpotReceiver(
        secret, public_url=public_url, object_streams={PAIRS: "pairings"}, clock=FrozenClock(NOW)
    )
    reply = receive(receiver, Request(body=body, headers=sent, query=dict(query or {})), inbox)
    return Outcome(reply, inbox, tuple(inbox.calls[before:]))


def error(outcome: Outcome) -> tuple[int, str]:
    return outcome.status, outcome.body.get("error", "")


# --------------------------------------------------------------------------- handled events


@pytest.mark.parametrize(
    ("fixture", "stream", "ids"),
    [
        ("contact.propertyChange__status", "people", ("101",)),
        ("contact.deletion__basic", "people", ("104",)),
        ("contact.merge__two_contacts", "people", ("103", "150", "151")),
        ("object.propertyChange__pairing_status", "pairings", ("7001",)),
    ],
)
def test_each_event_becomes_a_targeted_sync_hint(
    fixture: str, stream: str, ids: tuple[str, ...]
) -> None:
    outcome = deliver(load(fixture))
    assert outcome.status == 200 and outcome.body["status"] == "accepted"
    (event,) = outcome.events
    delivery = outcome.calls[0].delivery_id
    assert event == HostChanged(host="hubspot", stream=stream, external_ids=ids, delivery=delivery)


def test_a_batch_gives_one_hint_per_stream_and_drops_what_is_not_synced() -> None:
    outcome = deliver(load("batch__contacts_pairing_and_deal"))
    assert outcome.calls[0].event_type == "batch"
    assert [(e.stream, e.external_ids) for e in outcome.events] == [  # type: ignore[attr-defined]
        ("people", ("102", "101")),
        ("pairings", ("7002",)),
    ]
    assert outcome.calls[0].delivery_id.startswith("batch:")


def test_a_repeated_delivery_is_stored_once_even_as_a_later_attempt() -> None:
    inbox = Inbox()
    first = deliver(load("contact.propertyChange__status"), inbox=inbox)
    again = json.loads(load("contact.propertyChange__status"))
    again[0]["attemptNumber"] = 1
    second = deliver(json.dumps(again).encode(), inbox=inbox)
    assert (first.body["status"], second.body["status"]) == ("accepted", "duplicate")
    assert len(inbox.stored) == 1


def test_an_object_type_that_is_not_synced_gives_no_hint() -> None:
    events = json.loads(load("object.propertyChange__pairing_status"))
    events[0]["objectTypeId"] = "2-999"
    outcome = deliver(json.dumps(events).encode())
    assert outcome.body["status"] == "accepted" and outcome.events == []


def test_ignored_and_unknown_types_answer_200_and_store_nothing() -> None:
    ignored = deliver(load("deal.propertyChange__not_synced"))
    assert (ignored.status, ignored.body["status"]) == (200, "ignored")
    assert "syncs contacts" in ignored.body["reason"]
    events = json.loads(load("deal.propertyChange__not_synced"))
    events[0]["subscriptionType"] = "marketing.emailOpen"
    unknown = deliver(json.dumps(events).encode())
    assert (unknown.status, unknown.body["status"]) == (200, "unsupported")
    assert ignored.calls == () and unknown.calls == ()


@pytest.mark.parametrize(
    "body",
    [b'{"subscriptionType":"contact.deletion"}', b"[]", b"[1]", b"not json", b'[{"objectId":1}]'],
    ids=["object", "empty-array", "not-objects", "not-json", "no-type"],
)
def test_a_signed_body_that_is_not_an_array_of_events_is_400(body: bytes) -> None:
    outcome = deliver(body)
    assert error(outcome) == (400, "bad_payload")
    assert outcome.calls == ()


# --------------------------------------------------------------------------- verification


BODY = load("contact.propertyChange__status")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"secret": None}, (401, "missing_secret")),
        ({"secret": ""}, (401, "missing_secret")),
        ({"signed_with": None}, (401, "bad_signature")),
        ({"signed_with": "another-secret"}, (401, "bad_signature")),
        ({"signed_uri": "http://127.0.0.1:8000/webhooks/hubspot"}, (401, "bad_signature")),
        ({"headers": {TIMESTAMP_HEADER: str(NOW_MS + 1)}}, (401, "bad_signature")),
        ({"headers": {TIMESTAMP_HEADER: None}}, (401, "bad_signature")),
    ],
    ids=[
        "no-secret",
        "empty-secret",
        "unsigned",
        "wrong-secret",
        "internal-url",
        "ts-edited",
        "no-timestamp",
    ],
)
def test_a_bad_or_missing_signature_is_refused(
    options: dict[str, Any], expected: tuple[int, str]
) -> None:
    outcome = deliver(BODY, **options)
    assert error(outcome) == expected
    assert outcome.calls == ()


def test_a_body_changed_after_signing_is_refused() -> None:
    headers = sign(SECRET, BODY, uri=URI, timestamp_ms=NOW_MS)
    outcome = deliver(BODY.replace(b"101", b"102"), signed_with=None, headers=headers)
    assert error(outcome) == (401, "bad_signature")


def test_a_v1_signature_alone_is_refused() -> None:
    v1 = hashlib.sha256(SECRET.encode() + BODY).hexdigest()
    outcome = deliver(BODY, signed_with=None, headers={"X-HubSpot-Signature": v1})
    assert error(outcome) == (401, "bad_signature")
    assert "v1" in outcome.body["message"]


@pytest.mark.parametrize(
    ("offset_seconds", "expected"),
    [(-301, "stale_timestamp"), (-299, None), (299, None), (301, "stale_timestamp")],
)
def test_the_five_minute_window(offset_seconds: int, expected: str | None) -> None:
    outcome = deliver(BODY, sent_at_ms=NOW_MS + offset_seconds * 1000)
    if expected is None:
        assert outcome.body["status"] == "accepted"
    else:
        assert error(outcome) == (401, expected)
        assert outcome.calls == ()


def test_the_public_url_is_signed_not_the_address_behind_the_proxy() -> None:
    behind = "https://connector.example.org/base/"
    outcome = deliver(
        BODY, public_url=behind, signed_uri="https://connector.example.org/base/webhooks/hubspot"
    )
    assert outcome.body["status"] == "accepted"


# --------------------------------------------------------------------------- uri decoding


@pytest.mark.parametrize(
    ("sent", "signed"),
    [
        ("https://h/p?x=a%3Ab", "https://h/p?x=a:b"),
        ("https://h/p?x=%2F%3F%40%21%24%27", "https://h/p?x=/?@!$'"),
        ("https://h/p?x=%28%29%2a%2C%3b", "https://h/p?x=()*,;"),
        ("https://h/p?x=a%20b%26c", "https://h/p?x=a%20b%26c"),  # not in HubSpot's list
    ],
)
def test_the_uri_is_decoded_as_hubspot_documents(sent: str, signed: str) -> None:
    assert decode_uri(sent) == signed
    ts = str(NOW_MS)
    assert signature_v3(SECRET, "POST", sent, BODY, ts) == signature_v3(
        SECRET, "POST", signed, BODY, ts
    )


def test_a_query_string_is_part_of_the_signed_uri() -> None:
    query = {"portal": "62515", "return": "a:b/c", "note": "x y"}
    uri = URI + "?portal=62515&return=a%3Ab%2Fc&note=x%20y"  # as HubSpot had it configured
    accepted = deliver(BODY, signed_uri=uri, query=query)
    assert accepted.body["status"] == "accepted"
    refused = deliver(BODY, signed_uri=URI, query=query)
    assert error(refused) == (401, "bad_signature")


def test_the_signature_header_is_base64_of_hmac_sha256() -> None:
    ts = str(NOW_MS)
    message = b"POST" + URI.encode() + BODY + ts.encode()
    digest = hmac.new(SECRET.encode(), message, hashlib.sha256).digest()
    assert sign(SECRET, BODY, uri=URI, timestamp_ms=NOW_MS)[SIGNATURE_HEADER] == (
        base64.b64encode(digest).decode()
    )
