"""Salesforce at /webhooks/salesforce, as the receiver must treat it (crm-hosts reference §1.6).

Guards, in the pipeline's order; none of the refusals reaches `accept`:

| request                                                      | status | answer            |
|--------------------------------------------------------------|--------|-------------------|
| empty body                                                   | 400    | bad_payload       |
| Outbound Message, no organization_id configured              | 401    | missing_secret    |
| Outbound Message, another org's OrganizationId               | 401    | bad_signature     |
| Outbound Message, secret configured but missing or wrong     | 401    | bad_signature     |
| Flow callout, no shared secret configured                    | 401    | missing_secret    |
| Flow callout, X-Connector-Secret missing or wrong            | 401    | bad_signature     |
| XML with a DTD (entity expansion), or malformed ids          | 400    | bad_payload       |
| a Task notice (ignored) or an object not synced (unsupported)| 200    | SOAP Ack          |
| a notice about a synced object                               | 200    | SOAP Ack / JSON   |

An Outbound Message is answered with the SOAP acknowledgement in text/xml whenever it was
accepted, repeated, ignored or unsupported: anything else makes Salesforce send it again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from adapters.salesforce.mapping import DEFAULT_MAPPING, object_streams
from connector.app import create_app
from connector.clock import FrozenClock
from connector.domain import HostChanged
from connector.store.db import Store
from connector.store.models import InboxEvent
from tests.support import make_settings
from tests.webhooks.zoom_helpers import Inbox
from webhooks.base import Reply, Request
from webhooks.pipeline import receive
from webhooks.salesforce import ACK, SalesforceReceiver, sign

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "salesforce"
ORG = "00D5g000000ABCDEAZ"
SECRET = "salesforce-shared-secret-for-tests"
XML = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}


def load(name: str) -> bytes:
    return next(FIXTURES.glob(f"{name}.*")).read_bytes()


def deliver(
    body: bytes,
    *,
    organization_id: str | None = ORG,
    secret: str | None = SECRET,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    inbox: Inbox | None = None,
) -> tuple[Reply, Inbox]:
    receiver = SalesforceReceiver(
        organization_id, secret, object_streams=object_streams(DEFAULT_MAPPING)
    )
    inbox = inbox if inbox is not None else Inbox()
    sent = {k.lower(): v for k, v in (headers or {}).items()}
    reply = receive(receiver, Request(body, sent, query or {}), inbox)
    return reply, inbox


def flow(name: str, secret: str = SECRET) -> tuple[Reply, Inbox]:
    return deliver(load(name), headers={"Content-Type": "application/json", **sign(secret)})


def error(reply: Reply) -> tuple[int, str]:
    return reply.status, reply.body["error"]


def acked(reply: Reply) -> bool:
    return (reply.status, reply.body, reply.content_type) == (200, ACK, "text/xml; charset=utf-8")


# --------------------------------------------------------------------------- Outbound Messages


def test_an_outbound_message_is_acked_and_becomes_one_sync_hint_with_ids_only() -> None:
    reply, inbox = deliver(load("outbound__contact"), headers=XML | sign(SECRET))
    assert acked(reply)
    (call,) = inbox.stored
    assert call.events == (
        HostChanged(
            host="salesforce",
            stream="people",
            external_ids=("0035g00000XyZabAAB",),
            delivery="om:04l5g00000AbCdEAAV",
        ),
    )
    assert (call.event_type, call.delivery_id) == ("Contact", "om:04l5g00000AbCdEAAV")
    assert "mia@example.org" not in json.dumps(call.payload)  # fields are dropped at the door


def test_the_ack_is_the_documented_soap_response() -> None:
    assert ACK == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">'
        "<Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"
    )


def test_several_notifications_give_one_hint_and_a_retry_is_a_duplicate() -> None:
    reply, inbox = deliver(load("outbound__two_pairings"), query={"token": SECRET})
    again, inbox = deliver(load("outbound__two_pairings"), query={"token": SECRET}, inbox=inbox)
    assert acked(reply) and acked(again)
    (call,) = inbox.stored
    (event,) = call.events
    assert isinstance(event, HostChanged)
    assert (event.stream, event.external_ids) == (
        "pairings",
        ("a015g00000PairAAAB", "a015g00000PairBAAB"),
    )
    assert len(inbox.calls) == 2  # the second was offered and refused as a duplicate


def test_without_a_shared_secret_the_organization_id_alone_is_the_check() -> None:
    reply, inbox = deliver(load("outbound__contact"), secret=None)
    assert acked(reply) and len(inbox.stored) == 1


def test_a_15_character_organization_id_in_the_config_matches() -> None:
    reply, _ = deliver(load("outbound__contact"), organization_id=ORG[:15], secret=None)
    assert acked(reply)


@pytest.mark.parametrize(
    ("organization_id", "headers", "expected"),
    [
        (None, sign(SECRET), (401, "missing_secret")),
        ("00D5g000000ZZZZEAZ", sign(SECRET), (401, "bad_signature")),
        (ORG, {}, (401, "bad_signature")),
        (ORG, sign("another-secret"), (401, "bad_signature")),
    ],
    ids=["no org configured", "another org", "secret missing", "secret wrong"],
)
def test_an_outbound_message_that_fails_a_check_is_refused_and_stores_nothing(
    organization_id: str | None, headers: dict[str, str], expected: tuple[int, str]
) -> None:
    reply, inbox = deliver(
        load("outbound__contact"), organization_id=organization_id, headers=headers
    )
    assert error(reply) == expected
    assert inbox.calls == []


def test_a_task_notice_is_ignored_with_a_reason_and_still_acked() -> None:
    reply, inbox = deliver(load("outbound__task_completed"), headers=sign(SECRET))
    assert acked(reply)
    assert inbox.calls == []


def test_an_object_that_is_not_synced_is_unsupported_logged_and_acked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reply, inbox = deliver(load("outbound__opportunity_not_synced"), headers=sign(SECRET))
    assert acked(reply)
    assert inbox.calls == []
    assert "event=Opportunity" in caplog.text


def test_xml_with_a_dtd_is_refused_before_any_entity_is_expanded() -> None:
    reply, inbox = deliver(load("outbound__entity_expansion"), headers=sign(SECRET))
    assert error(reply) == (400, "bad_payload")
    assert inbox.calls == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"<sf:Id>0035g00000XyZabAAB</sf:Id>", b"<sf:Id>0035' OR 1=1</sf:Id>"),
        (b"<Id>04l5g00000AbCdEAAV</Id>", b""),
        (b'xsi:type="sf:Contact"', b'xsi:type="sf:Con tact"'),
        (b"http://soap.sforce.com/2005/09/outbound", b"urn:another:namespace"),
    ],
    ids=["bad record id", "no notification id", "bad type", "no notifications element"],
)
def test_a_malformed_outbound_message_is_400(old: bytes, new: bytes) -> None:
    body = load("outbound__contact").replace(old, new)
    reply, inbox = deliver(body, headers=sign(SECRET))
    assert error(reply) == (400, "bad_payload")
    assert inbox.calls == []


def test_more_than_100_notifications_is_400() -> None:
    body = load("outbound__contact")
    start, end = body.index(b"<Notification>"), body.index(b"</Notification>") + 15
    many = body[:start] + body[start:end] * 101 + body[end:]
    reply, _ = deliver(many, headers=sign(SECRET))
    assert error(reply) == (400, "bad_payload")


# --------------------------------------------------------------------------- Flow callouts


def test_a_flow_callout_becomes_a_sync_hint_and_is_answered_in_json() -> None:
    reply, inbox = flow("flow__contact_suspended")
    assert (reply.status, reply.content_type) == (200, "application/json")
    assert reply.body["status"] == "accepted"
    (call,) = inbox.stored
    assert call.events == (
        HostChanged(
            host="salesforce",
            stream="people",
            external_ids=("0035g00000MayaAAAB", "0035g00000RosaAAAB"),
            delivery="flow:5e0f3a2b-1c4d-4e6f-8a9b-0c1d2e3f4a5b",
        ),
    )


@pytest.mark.parametrize(
    ("secret", "headers", "expected"),
    [
        (None, sign(SECRET), (401, "missing_secret")),
        (SECRET, {}, (401, "bad_signature")),
        (SECRET, sign(SECRET[:-1]), (401, "bad_signature")),
    ],
    ids=["no secret configured", "no header", "wrong secret"],
)
def test_a_flow_callout_without_the_secret_is_refused(
    secret: str | None, headers: dict[str, str], expected: tuple[int, str]
) -> None:
    reply, inbox = deliver(load("flow__pairing_activated"), secret=secret, headers=headers)
    assert error(reply) == expected
    assert inbox.calls == []


@pytest.mark.parametrize(
    "change",
    [
        {"deliveryId": None},
        {"recordIds": []},
        {"recordIds": ["a015g00000PairAAAB", "x' OR Id != '"]},
        {"sObjectType": "Mentoring_Pair__c) FROM User"},
    ],
    ids=["no delivery id", "no ids", "bad id", "bad type"],
)
def test_a_malformed_flow_callout_is_400(change: dict[str, Any]) -> None:
    payload = json.loads(load("flow__pairing_activated")) | change
    body = json.dumps(payload).encode()
    reply, inbox = deliver(body, headers=sign(SECRET))
    assert error(reply) == (400, "bad_payload")
    assert inbox.calls == []


# --------------------------------------------------------------------------- over HTTP


def test_over_http_an_outbound_message_is_stored_and_gets_the_ack_in_text_xml(
    database_url: str, store: Store, clock: FrozenClock
) -> None:
    settings = make_settings(database_url, webhooks={"salesforce": {"organization_id": ORG}})
    client = create_app(settings, store=store, clock=clock).test_client()
    response = client.post("/webhooks/salesforce", data=load("outbound__contact"), headers=XML)
    again = client.post("/webhooks/salesforce", data=load("outbound__contact"), headers=XML)
    for answer in (response, again):
        assert answer.status_code == 200
        assert answer.content_type == "text/xml; charset=utf-8"
        assert answer.get_data(as_text=True) == ACK
    with store.session() as session:
        rows = session.scalars(select(InboxEvent)).all()
    assert [(r.source, r.delivery_id, r.event_type) for r in rows] == [
        ("salesforce", "om:04l5g00000AbCdEAAV", "Contact")
    ]


def test_over_http_without_webhook_settings_everything_is_refused(client: FlaskClient) -> None:
    # The test app has no [webhooks.salesforce]: fail closed, nothing stored.
    response = client.post("/webhooks/salesforce", data=load("outbound__contact"), headers=XML)
    assert response.status_code == 401
    assert response.json == {
        "error": "missing_secret",
        "message": "no organization_id is configured ([webhooks.salesforce])",
    }
