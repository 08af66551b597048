"""A Teams notification end to end: stored before the 202, read from Graph by the outbox.

Store first, decide after (DESIGN.md): the receiver only checks `clientState` and stores a
`PlatformChanged` hint; the runner turns it into a `PlatformRead` and the outbox reads the call
record from Graph and queues the meeting's events (`webhooks.teams` docstring, "Dedupe").

| what happens                                            | Graph calls                        |
|---------------------------------------------------------|------------------------------------|
| a notification is POSTed                                | none: 202 at once, the hint stored |
| runner + outbox                                         | the record read; meeting stored    |
| the same notification twice                             | read once                          |
| an `updated` notification, record now version 2         | read again; the meeting converges  |
| the same `updated` again (version unchanged)            | read again; nothing changes        |
| Graph 429 or 503 during the read                        | retried by the outbox with backoff |

Graph is mocked strictly (`responses`, every registered call must be made, no other call may
be). After the meeting ends the pipeline also reads it back (`PlatformFetch`, once per call):
the join URL here names no organizer, so only the call record is asked for again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from flask.testing import FlaskClient
from responses import matchers
from sqlalchemy import select

from adapters.teams import GRAPH_URL, GraphClient
from adapters.teams.client import LOGIN_URL
from adapters.teams.platform import TeamsPlatform
from connector.app import create_app
from connector.clock import FrozenClock
from connector.services import Services
from connector.store.db import Store
from connector.store.models import InboxEvent, Meeting, OutboxItem
from tests.support import count, make_settings
from tests.test_convergence import call_record

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "teams"
TENANT = "2432b57b-0abd-43db-aa7b-16eadd115d34"
CLIENT_ID = "24d3b144-21ae-4080-943f-7067b395b913"
STATE = "mentor-connector-teams-client-state-4c1f"
MENTOR, MENTEE = ("mentor-1", "mentor@example.org"), ("mentee-1", "mentee@example.org")
V1 = call_record(7, 1, [(*MENTOR, 0, 20), (*MENTEE, 2, 40)])
V2 = call_record(7, 2, [(*MENTOR, 0, 20), (*MENTEE, 2, 40), (*MENTOR, 25, 45)])  # rejoined
RECORD_ID = V1["id"]
RECORD_URL = f"{GRAPH_URL}/communications/callRecords/{RECORD_ID}"
EXPAND = matchers.query_param_matcher({"$expand": "sessions($expand=segments)"})


def notification(fixture: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / f"{fixture}.json").read_text())
    for item in body["value"]:
        item["resource"] = f"communications/callRecords/{RECORD_ID}"
        item["resourceData"]["id"] = RECORD_ID
    return body


CREATED = notification("callRecord.created__group_call")
UPDATED = notification("callRecord.updated__version_2")


@pytest.fixture
def graph() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def app_parts(database_url: str, store: Store, clock: FrozenClock) -> tuple[FlaskClient, Services]:
    settings = make_settings(
        database_url,
        video={"teams": {"client_state": "env:T_TEAMS_STATE"}},
        extra_env={"T_TEAMS_STATE": STATE},
    )
    teams = TeamsPlatform(GraphClient(TENANT, CLIENT_ID, "secret", clock=clock), clock=clock)
    app = create_app(settings, store=store, clock=clock, platforms={"teams": teams})
    return app.test_client(), app.extensions["connector"]


def token(graph: responses.RequestsMock) -> None:
    graph.post(
        f"{LOGIN_URL}/{TENANT}/oauth2/v2.0/token",
        json={"token_type": "Bearer", "expires_in": 3599, "access_token": "t"},
    )


def record_reads(graph: responses.RequestsMock) -> int:
    return sum(1 for call in graph.calls if (call.request.url or "").startswith(RECORD_URL))


def post(client: FlaskClient, body: dict[str, Any]) -> Any:
    return client.post("/webhooks/teams", json=body)


def attendance(store: Store) -> dict[str, int]:
    with store.session() as session:
        meeting = session.scalars(select(Meeting).where(Meeting.instance_uuid == RECORD_ID)).one()
        return {p.email: p.attended_seconds for p in meeting.participants}


def test_a_notification_is_stored_and_acknowledged_without_a_graph_call(
    app_parts: tuple[FlaskClient, Services], store: Store, graph: responses.RequestsMock
) -> None:
    client, _ = app_parts
    response = post(client, CREATED)  # nothing registered: any Graph call would fail here
    assert (response.status_code, response.json["status"]) == (202, "accepted")
    assert len(graph.calls) == 0
    with store.session() as session:
        [row] = session.scalars(select(InboxEvent)).all()
    assert (row.source, row.delivery_id) == ("teams", f"callRecord.created:{RECORD_ID}")
    assert [e["kind"] for e in row.events] == ["platform.changed"]


def test_after_the_runner_and_outbox_the_meeting_and_participants_are_stored(
    app_parts: tuple[FlaskClient, Services], store: Store, graph: responses.RequestsMock
) -> None:
    client, services = app_parts
    post(client, CREATED)
    token(graph)
    graph.get(RECORD_URL, json=V1, match=[EXPAND])  # the notification's read
    graph.get(RECORD_URL, json=V1, match=[EXPAND])  # the read-back once the meeting ended
    services.drain()
    assert attendance(store) == {"mentor@example.org": 20 * 60, "mentee@example.org": 38 * 60}
    with store.session() as session:
        meeting = session.scalars(select(Meeting)).one()
        assert (meeting.platform, meeting.external_id) == ("teams", V1["joinWebUrl"])
        assert meeting.ended_at is not None
    assert count(store, InboxEvent, InboxEvent.delivery_id == f"callRecord:{RECORD_ID}:v1") == 1


def test_the_same_notification_delivered_twice_reads_graph_once(
    app_parts: tuple[FlaskClient, Services], store: Store, graph: responses.RequestsMock
) -> None:
    client, services = app_parts
    first, again = post(client, CREATED), post(client, CREATED)
    assert (first.json["status"], again.json["status"]) == ("accepted", "duplicate")
    token(graph)
    graph.get(RECORD_URL, json=V1, match=[EXPAND])
    graph.get(RECORD_URL, json=V1, match=[EXPAND])  # the read-back, once per call
    services.drain()
    post(client, CREATED)  # a late retry, after everything was read
    services.drain()
    assert record_reads(graph) == 2
    assert count(store, OutboxItem, OutboxItem.key.startswith("read:teams:")) == 1


def test_an_update_to_a_new_version_is_read_again_and_the_meeting_converges(
    app_parts: tuple[FlaskClient, Services],
    store: Store,
    clock: FrozenClock,
    graph: responses.RequestsMock,
) -> None:
    client, services = app_parts
    post(client, CREATED)
    token(graph)
    graph.get(RECORD_URL, json=V1, match=[EXPAND])
    graph.get(RECORD_URL, json=V1, match=[EXPAND])
    services.drain()
    assert attendance(store)["mentor@example.org"] == 20 * 60

    clock.advance(seconds=120)  # Graph raised the version: the mentor rejoined
    assert post(client, UPDATED).json["status"] == "accepted"
    graph.get(RECORD_URL, json=V2, match=[EXPAND])
    services.drain()
    converged = {"mentor@example.org": 40 * 60, "mentee@example.org": 38 * 60}
    assert attendance(store) == converged

    clock.advance(seconds=120)  # the same body again: a retry or a newer version, who knows
    assert post(client, UPDATED).json["status"] == "accepted"
    graph.get(RECORD_URL, json=V2, match=[EXPAND])
    inbox_rows = count(store, InboxEvent)
    services.drain()
    assert count(store, InboxEvent) == inbox_rows  # version 2 was stored already
    assert attendance(store) == converged
    assert record_reads(graph) == 4  # created, read-back, version 2, version 2 again


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        pytest.param(429, {"Retry-After": "30"}, id="throttled"),
        pytest.param(503, {}, id="unavailable"),
    ],
)
def test_graph_failing_during_the_read_is_retried_by_the_outbox_not_by_graph(
    app_parts: tuple[FlaskClient, Services],
    store: Store,
    clock: FrozenClock,
    graph: responses.RequestsMock,
    status: int,
    headers: dict[str, str],
) -> None:
    client, services = app_parts
    assert post(client, CREATED).status_code == 202  # Graph is answered whatever follows
    token(graph)
    graph.get(RECORD_URL, status=status, headers=headers, json={"error": {"code": "x"}})
    services.drain()
    with store.session() as session:
        read = session.scalars(select(OutboxItem).where(OutboxItem.key.startswith("read:"))).one()
        assert (read.status, read.attempts) == ("pending", 1)
        assert read.next_attempt_at > clock.now()
        assert ("RateLimited" if status == 429 else "Unavailable") in (read.last_error or "")
    assert count(store, Meeting) == 0

    clock.advance(seconds=300)
    graph.get(RECORD_URL, json=V1, match=[EXPAND])
    graph.get(RECORD_URL, json=V1, match=[EXPAND])
    services.drain()
    assert attendance(store) == {"mentor@example.org": 20 * 60, "mentee@example.org": 38 * 60}


def test_without_graph_credentials_the_read_is_a_dead_letter_saying_so(
    database_url: str, store: Store, clock: FrozenClock, graph: responses.RequestsMock
) -> None:
    settings = make_settings(
        database_url,
        video={"teams": {"client_state": "env:T_TEAMS_STATE"}},
        extra_env={"T_TEAMS_STATE": STATE},
    )
    app = create_app(settings, store=store, clock=clock)  # no [video.teams] app registration
    assert post(app.test_client(), CREATED).status_code == 202
    app.extensions["connector"].drain()
    with store.session() as session:
        read = session.scalars(select(OutboxItem)).one()
        assert (read.kind, read.status) == ("platform-read", "dead")
        assert "no teams API credentials" in (read.last_error or "")
