"""The whole path through HubSpot: a change in the CRM -> sync -> rule -> outbox -> a task.

HubSpot is `portal.Portal`, a strict `responses` mock over in-memory objects, and the host is
built from settings as the app builds it (`[host.hubspot]`, default objects kept by name,
`[webhooks.hubspot] object_type_ids` for their webhook events). Runs on SQLite and PostgreSQL.

1. Scheduled sync: a program (a vetted mentor, a mentee, their active pairing) is synced. The
   mentor is suspended in HubSpot; the next, incremental sync asks for what changed since
   the cursor less the lookback, the suspension rule raises its alert, and the outbox writes
   it as one HIGH task keyed by the decision. Syncing again writes nothing new.
2. Webhook: an unvetted mentor's pairing is made active in HubSpot. HubSpot's signed
   `object.propertyChange` event (and its retry) reaches `/webhooks/hubspot`; the runner
   turns the `HostChanged` into one `HostSync`, the outbox reads the pairing back with one
   batch read, the vetting gate's refusal becomes an alert, and it is written as one task.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import responses

from connector.app import create_app
from connector.clock import FrozenClock
from connector.hosts.hubspot import build
from connector.settings import Settings
from connector.store.db import Store
from connector.store.models import Pairing, Person
from connector.sync import Syncer
from tests.adapters.hubspot.portal import Portal
from tests.adapters.hubspot.support import BASE, fixture, ms
from tests.hosts_support import by_ref, drain
from tests.support import make_settings
from webhooks.hubspot import sign

CLIENT_SECRET = "hubspot-client-secret-for-e2e"
PAIRS, SESSIONS = "p_mentoring_pairs", "p_mentoring_sessions"  # the default object names
PAIRS_TYPE_ID = "2-3456789"
OBJECTS = ("contacts", PAIRS, SESSIONS)
MAYA, ELI, PAIR = "101", "102", "7001"
VETTED = {
    "vetting_professional_verification": "passed",
    "vetting_personal_references": "passed",
    "vetting_interview": "passed",
}
UNVETTED = dict.fromkeys(VETTED, "pending")


@pytest.fixture
def hubspot_settings(database_url: str) -> Settings:
    return make_settings(
        database_url,
        extra_env={"T_HUBSPOT": "pat-na1-e2e-token", "T_HUBSPOT_SECRET": CLIENT_SECRET},
        host={
            "adapter": "hubspot",
            "lookback_minutes": 10,
            "request_budget": 50,
            "hubspot": {
                "access_token": "env:T_HUBSPOT",
                "base_url": BASE,
                "search_requests_per_second": 10.0,
            },
        },
        webhooks={
            "hubspot": {
                "client_secret": "env:T_HUBSPOT_SECRET",
                "object_type_ids": {"pairings": PAIRS_TYPE_ID},
            }
        },
    )


@pytest.fixture
def hubspot() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def program(portal: Portal, at: datetime, *, mentor: dict[str, str], pairing: str) -> None:
    """Maya (mentor), Eli (mentee) and their pairing, changed a minute apart before `at`."""
    portal.put("contacts", MAYA, at - timedelta(minutes=30), mentoring_role="mentor",
               firstname="Maya", lastname="Patel", email="maya@example.org",
               mentoring_status="active", **mentor)  # fmt: skip
    portal.put("contacts", ELI, at - timedelta(minutes=29), mentoring_role="mentee",
               firstname="Eli", lastname="Moreau", email="eli@example.org",
               mentoring_status="active")  # fmt: skip
    portal.put(PAIRS, PAIR, at - timedelta(minutes=28), mentor_contact_id=MAYA,
               mentee_contact_id=ELI, pairing_status=pairing, start_date="2026-10-01")  # fmt: skip


def contact_searches(mock: responses.RequestsMock) -> list[dict[str, Any]]:
    url = f"{BASE}/crm/v3/objects/contacts/search"
    return [json.loads(c.request.body or b"{}") for c in mock.calls if c.request.url == url]


def test_a_mentor_suspended_in_hubspot_gets_one_alert_task_back(
    hubspot: responses.RequestsMock, store: Store, hubspot_settings: Settings, clock: FrozenClock
) -> None:
    portal = Portal(BASE)
    program(portal, clock.now(), mentor=VETTED, pairing="active")
    portal.serve_reads(hubspot, *OBJECTS)
    portal.serve_tasks(hubspot)
    host = build(hubspot_settings, clock)
    syncer = Syncer(store, hubspot_settings, host, clock)

    syncer.run()
    drain(store, hubspot_settings, host, clock)
    assert by_ref(store, Person, MAYA).status == "active"
    assert by_ref(store, Pairing, PAIR).status == "active"
    assert portal.tasks == {}
    first_cursor = clock.now() - timedelta(minutes=29)  # Eli, the newest contact

    clock.advance(hours=1)
    portal.put("contacts", MAYA, clock.now() - timedelta(minutes=1), mentoring_status="suspended")
    syncer.run()
    drain(store, hubspot_settings, host, clock)

    maya, pair = by_ref(store, Person, MAYA), by_ref(store, Pairing, PAIR)
    assert maya.status == "suspended"
    key = f"suspension:pairing:{pair.id}:person:{maya.id}"
    (task,) = portal.tasks.values()
    assert task["connector_key"] == key
    assert task["hs_task_subject"].startswith("Alert: ") and "suspended" in task["hs_task_subject"]
    assert (task["hs_task_priority"], task["hs_task_status"]) == ("HIGH", "NOT_STARTED")
    assert task["hs_task_body"].endswith(f"Connector key: {key}")
    # The incremental read asked for what changed since the cursor, less the 10-minute lookback.
    (since, until) = contact_searches(hubspot)[-1]["filterGroups"][0]["filters"]
    assert since == {
        "propertyName": "lastmodifieddate",
        "operator": "GT",
        "value": ms(first_cursor - timedelta(minutes=10)),
    }
    assert until == {
        "propertyName": "lastmodifieddate",
        "operator": "LTE",
        "value": ms(clock.now()),
    }

    clock.advance(minutes=5)
    syncer.run()  # the suspension is read again within the lookback
    drain(store, hubspot_settings, host, clock)
    assert len(portal.tasks) == 1  # nothing written twice


def deliver(
    client: Any, settings: Settings, clock: FrozenClock, occurred: datetime, attempt: int
) -> int:
    """HubSpot's event for the pairing's status change, signed as HubSpot signs it, now."""
    event = fixture("object.propertyChange__pairing_status")[0] | {
        "objectId": int(PAIR),
        "objectTypeId": PAIRS_TYPE_ID,
        "occurredAt": int(ms(occurred)),
        "attemptNumber": attempt,
    }
    body = json.dumps([event]).encode()
    uri = settings.connector.public_url.rstrip("/") + "/webhooks/hubspot"
    headers = sign(CLIENT_SECRET, body, uri=uri, timestamp_ms=int(ms(clock.now())))
    status: int = client.post("/webhooks/hubspot", data=body, headers=headers).status_code
    return status


def test_a_signed_webhook_reads_the_pairing_back_and_the_vetting_gate_alert_is_written(
    store: Store, hubspot_settings: Settings, clock: FrozenClock
) -> None:
    app = create_app(hubspot_settings, store=store, clock=clock)
    host = app.extensions["connector"].host
    portal = Portal(BASE)
    program(portal, clock.now(), mentor=UNVETTED, pairing="proposed")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as first_sync:
        portal.serve_reads(first_sync, *OBJECTS)
        portal.serve_tasks(first_sync)
        Syncer(store, hubspot_settings, host, clock).run()
        drain(store, hubspot_settings, host, clock)
    assert by_ref(store, Pairing, PAIR).status == "proposed"
    before = dict(portal.tasks)  # the mentor's missing vetting steps, already raised

    clock.advance(minutes=30)
    activated = clock.now()
    portal.put(PAIRS, PAIR, activated, pairing_status="active")
    client = app.test_client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as hubspot:
        portal.serve_batch_read(hubspot, PAIRS)
        portal.serve_tasks(hubspot)
        assert deliver(client, hubspot_settings, clock, activated, attempt=0) == 200
        clock.advance(seconds=30)
        assert deliver(client, hubspot_settings, clock, activated, attempt=1) == 200  # a retry
        drain(store, hubspot_settings, host, clock)

    assert portal.batch_reads == [(PAIRS, [PAIR])]  # one targeted read, no search
    pairing = by_ref(store, Pairing, PAIR)
    assert pairing.status == "active"  # HubSpot keeps the program's records
    (task,) = [t for i, t in portal.tasks.items() if i not in before]
    assert task["connector_key"].startswith(
        f"vetting-gate:hubspot-transition:pairing:{pairing.id}:active:"
    )
    assert task["hs_task_subject"].startswith("Alert: ")
    assert task["hs_task_priority"] == "HIGH"
    assert "cannot be in an active pairing yet" in task["hs_task_body"]
