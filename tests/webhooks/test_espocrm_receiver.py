"""EspoCRM webhooks, as the receiver must treat them (CRM reference §3).

Each EspoCRM webhook has its own id, event and secret key; the body is a JSON array of
records and the event is not in it. The connector knows each webhook's event from
`[webhooks.espocrm.hooks.<id>]`, picked by the id inside the signed header. Deliveries are
signed with `webhooks.espocrm.sign` as EspoCRM 9 signs them (both headers), never hard-coded.

| request                                                    | status | outcome                    |
|------------------------------------------------------------|--------|----------------------------|
| no webhook configured                                      | 401    | missing_secret             |
| `Signature` good (with or without `X-Signature`)           | 200    | HostChanged(ids)           |
| only the legacy `X-Signature`, good                        | 200    | HostChanged(ids)           |
| `Signature` or `X-Signature` over another body/secret      | 401    | bad_signature              |
| `Signature` bad, `X-Signature` good                        | 401    | `Signature` decides        |
| no signature header; not base64; no `id:` part             | 401    | bad_signature              |
| a webhook id that is not configured                        | 401    | bad_signature              |
| signed, but not an array of records with ids               | 400    | bad_payload                |
| `Contact.update`, `CPairing.create/update/delete`,         | 200    | HostChanged for the stream |
|   `CPairing.fieldUpdate.status`                            |        |                            |
| `Task.update` (our own write-back)                         | 200    | ignored, with a reason     |
| an entity no stream syncs (`Account.update`)               | 200    | unsupported, logged        |
| the same delivery again (EspoCRM retries)                  | 200    | duplicate, stored once     |
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from connector.app import create_app
from connector.clock import FrozenClock
from connector.domain import HostChanged
from connector.settings import parse_settings
from connector.store.db import Store
from connector.store.models import InboxEvent
from tests.support import START, TEST_ENV
from tests.webhooks.zoom_helpers import Inbox, Outcome
from webhooks.base import Request
from webhooks.espocrm import (
    LEGACY_SIGNATURE_HEADER,
    SIGNATURE_HEADER,
    EspoCrmReceiver,
    Hook,
    legacy_signature,
    sign,
    signature,
)
from webhooks.pipeline import receive

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "espocrm"
SECRET = "5b7c3f0e9a1d4c6b8e2f0a3c5d7e9f1b"  # a secretKey, as EspoCRM generates them
OTHER_SECRET = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a"
ENTITIES = {"Contact": "people", "CPairing": "pairings", "CSession": "sessions"}
# One webhook per event, as the README asks an admin to create them (ids as EspoCRM makes).
HOOKS = {
    "6741aa0000000c0u1": "Contact.update",
    "6741aa0000000c0c1": "Contact.create",
    "6741aa0000000p0u1": "CPairing.update",
    "6741aa0000000p0d1": "CPairing.delete",
    "6741aa0000000p0f1": "CPairing.fieldUpdate.status",
    "6741aa0000000t0u1": "Task.update",
    "6741aa0000000a0u1": "Account.update",
}
HOOK_OF = {event: hook_id for hook_id, event in HOOKS.items()}


def load(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def receiver(hooks: dict[str, str] | None = None) -> EspoCrmReceiver:
    table = HOOKS if hooks is None else hooks
    return EspoCrmReceiver({i: Hook(e, SECRET) for i, e in table.items()}, ENTITIES)


def deliver(
    body: bytes,
    event: str,
    *,
    secret: str = SECRET,
    headers: dict[str, str | None] | None = None,
    hooks: dict[str, str] | None = None,
    inbox: Inbox | None = None,
) -> Outcome:
    """POST `body` as the webhook created for `event` would, signed with `secret`."""
    sent = {k.lower(): v for k, v in sign(HOOK_OF[event], secret, body).items()}
    for name, value in (headers or {}).items():
        sent.pop(name.lower(), None)
        if value is not None:
            sent[name.lower()] = value
    inbox = Inbox() if inbox is None else inbox
    before = len(inbox.calls)
    reply = receive(receiver(hooks), Request(body=body, headers=sent), inbox)
    return Outcome(reply, inbox, tuple(inbox.calls[before:]))


def changed(outcome: Outcome) -> HostChanged:
    (event,) = outcome.events
    assert isinstance(event, HostChanged)
    return event


# --------------------------------------------------------------------------- handled events


@pytest.mark.parametrize(
    ("fixture", "event", "stream", "ids"),
    [
        ("Contact.create__mentor", "Contact.create", "people", ("6741f3a9c2b1e0d47",)),
        ("Contact.update__suspended", "Contact.update", "people", ("6741f3a9c2b1e0d47",)),
        (
            "CPairing.update__batch",
            "CPairing.update",
            "pairings",
            ("6741f4b0a9e3c2f18", "6741f4b0a9e3c2f29"),
        ),
        ("CPairing.delete__one", "CPairing.delete", "pairings", ("6741f4b0a9e3c2f18",)),
        (
            "CPairing.fieldUpdate.status__active",
            "CPairing.fieldUpdate.status",
            "pairings",
            ("6741f4b0a9e3c2f18",),
        ),
    ],
)
def test_a_signed_delivery_becomes_host_changed(
    fixture: str, event: str, stream: str, ids: tuple[str, ...]
) -> None:
    body = load(fixture)
    outcome = deliver(body, event)
    assert outcome.status == 200
    assert outcome.body["status"] == "accepted"
    hint = changed(outcome)
    assert (hint.host, hint.stream, hint.external_ids) == ("espocrm", stream, ids)
    assert hint.delivery == outcome.body["delivery_id"]
    assert hint.delivery.startswith(HOOK_OF[event] + ":")
    (stored,) = outcome.inbox.stored
    assert stored.event_type == ".".join(event.split(".")[:2])
    # Only ids are kept: names and e-mail addresses stay in EspoCRM.
    assert "maya" not in json.dumps(stored.payload).lower()


def test_only_the_legacy_x_signature_is_accepted_when_signature_is_absent() -> None:
    outcome = deliver(
        load("Contact.update__suspended"), "Contact.update", headers={"Signature": None}
    )
    assert outcome.status == 200
    assert changed(outcome).external_ids == ("6741f3a9c2b1e0d47",)


def test_the_same_delivery_twice_is_stored_once() -> None:
    inbox = Inbox()
    body = load("CPairing.delete__one")
    first = deliver(body, "CPairing.delete", inbox=inbox)
    again = deliver(body, "CPairing.delete", inbox=inbox)
    assert (first.body["status"], again.body["status"]) == ("accepted", "duplicate")
    assert len(inbox.stored) == 1


def test_task_events_are_ignored_with_a_reason() -> None:
    outcome = deliver(load("Task.update__completed"), "Task.update")
    assert outcome.status == 200
    assert outcome.body["status"] == "ignored"
    assert "connector writes" in outcome.body["reason"]
    assert outcome.inbox.calls == []


def test_an_entity_no_stream_syncs_is_unsupported_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcome = deliver(load("Account.update__not_handled"), "Account.update")
    assert (outcome.status, outcome.body["status"]) == (200, "unsupported")
    assert outcome.inbox.calls == []
    assert any("Account.update" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------- refusals


def bad(outcome: Outcome, status: int, code: str) -> None:
    assert outcome.status == status
    assert outcome.body["error"] == code
    assert outcome.inbox.calls == []  # a refusal stores nothing


def test_no_webhook_configured_refuses_everything() -> None:
    bad(
        deliver(load("Contact.update__suspended"), "Contact.update", hooks={}),
        401,
        "missing_secret",
    )


@pytest.mark.parametrize("header", [SIGNATURE_HEADER, LEGACY_SIGNATURE_HEADER])
def test_a_signature_with_another_secret_is_refused(header: str) -> None:
    body = load("Contact.update__suspended")
    hook = HOOK_OF["Contact.update"]
    forged = (signature if header == SIGNATURE_HEADER else legacy_signature)(
        hook, OTHER_SECRET, body
    )
    only = {SIGNATURE_HEADER: None, LEGACY_SIGNATURE_HEADER: None, header: forged}
    bad(deliver(body, "Contact.update", headers=only), 401, "bad_signature")


@pytest.mark.parametrize("header", [SIGNATURE_HEADER, LEGACY_SIGNATURE_HEADER])
def test_a_signature_over_another_body_is_refused(header: str) -> None:
    body = load("Contact.update__suspended")
    other = sign(HOOK_OF["Contact.update"], SECRET, body.replace(b"Suspended", b"Active"))
    only = {SIGNATURE_HEADER: None, LEGACY_SIGNATURE_HEADER: None, header: other[header]}
    bad(deliver(body, "Contact.update", headers=only), 401, "bad_signature")


def test_a_bad_signature_is_not_saved_by_a_good_legacy_one() -> None:
    body = load("Contact.update__suspended")
    forged = signature(HOOK_OF["Contact.update"], OTHER_SECRET, body)
    bad(deliver(body, "Contact.update", headers={"Signature": forged}), 401, "bad_signature")


def test_a_delivery_signed_by_another_webhooks_secret_is_refused() -> None:
    body = load("CPairing.delete__one")
    own = {i: Hook(e, OTHER_SECRET if e == "CPairing.delete" else SECRET) for i, e in HOOKS.items()}
    # Named as CPairing.delete's webhook, signed with the secret of the others: refused.
    headers = {k.lower(): v for k, v in sign(HOOK_OF["CPairing.delete"], SECRET, body).items()}
    inbox = Inbox()
    reply = receive(EspoCrmReceiver(own, ENTITIES), Request(body=body, headers=headers), inbox)
    assert (reply.status, reply.body["error"], inbox.calls) == (401, "bad_signature", [])


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "not base64 at all!",
        base64.b64encode(b"no-colon-here").decode(),
        base64.b64encode(b":" + b"0" * 64).decode(),
        signature("6741aa0000000zzz9", SECRET, load("Contact.update__suspended")),
    ],
    ids=["missing", "empty", "not-base64", "no-id-part", "empty-id", "unknown-webhook"],
)
def test_an_unreadable_or_unknown_signature_is_refused(value: str | None) -> None:
    headers: dict[str, str | None] = {SIGNATURE_HEADER: value, LEGACY_SIGNATURE_HEADER: None}
    bad(
        deliver(load("Contact.update__suspended"), "Contact.update", headers=headers),
        401,
        "bad_signature",
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "6741f3a9c2b1e0d47"}',
        b"[]",
        b'[{"name": "x"}]',
        b"[1]",
        b"not json",
        b'[{"id": 7}]',
    ],
    ids=["object", "empty-array", "no-id", "not-a-record", "not-json", "numeric-id"],
)
def test_a_signed_body_that_is_not_records_with_ids_is_a_bad_payload(body: bytes) -> None:
    bad(deliver(body, "Contact.update"), 400, "bad_payload")


def test_an_empty_body_is_a_bad_payload() -> None:
    bad(deliver(b"", "Contact.update"), 400, "bad_payload")


def test_signing_helpers_match_espocrms_formula() -> None:
    body = load("CPairing.delete__one")
    header = base64.b64decode(signature("hook1", "k", body)).decode()
    hook_id, digest = header.split(":")
    assert hook_id == "hook1" and len(digest) == 64 and int(digest, 16) >= 0
    legacy = base64.b64decode(legacy_signature("hook1", "k", body))
    assert legacy.startswith(b"hook1:") and len(legacy) == len(b"hook1:") + 32
    assert bytes.fromhex(digest) == legacy[len(b"hook1:") :]


def test_event_types_fold_field_updates() -> None:
    r = receiver()
    assert r.event_type({"event": "CPairing.fieldUpdate.status"}) == "CPairing.fieldUpdate"
    assert r.event_type({"event": "Contact.update"}) == "Contact.update"


# --------------------------------------------------------------------------- through the app


def test_the_app_serves_the_receiver_configured_in_webhooks_espocrm(database_url: str) -> None:
    hook = HOOK_OF["CPairing.delete"]
    document = {
        "connector": {"database_url": database_url},
        "admin": {"tokens": ["env:T_ADMIN"]},
        "webhooks": {
            "espocrm": {"hooks": {hook: {"event": "CPairing.delete", "secret": "env:T_HOOK"}}}
        },
    }
    settings = parse_settings(document, {**TEST_ENV, "T_HOOK": SECRET}, "test")
    store = Store.from_url(database_url)
    try:
        client = create_app(settings, store=store, clock=FrozenClock(START)).test_client()
        body = load("CPairing.delete__one")
        good = client.post("/webhooks/espocrm", data=body, headers=sign(hook, SECRET, body))
        forged = client.post("/webhooks/espocrm", data=body, headers=sign(hook, OTHER_SECRET, body))
        assert (good.status_code, good.get_json()["status"]) == (200, "accepted")
        assert forged.status_code == 401
        with store.session() as session:
            rows = session.execute(select(InboxEvent.source, InboxEvent.event_type)).all()
        assert [tuple(r) for r in rows] == [("espocrm", "CPairing.delete")]
    finally:
        store.dispose()
