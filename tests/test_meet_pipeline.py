"""A Meet event end to end: stored before the 200, read from the Meet API by the outbox.

Store first, decide after (DESIGN.md): the receiver only verifies the push token and stores a
`PlatformChanged` hint; the runner turns it into a `PlatformRead` and the outbox reads the
named resource from the Meet REST API (and the signed-in user's e-mail from the Directory API)
and queues the meeting's events (`webhooks.meet` docstring, "Dedupe").

| what happens                                   | Google calls                               |
|------------------------------------------------|--------------------------------------------|
| a participant event is POSTed                  | none: 200 at once, the hint stored         |
| runner + outbox                                | session, participant, record, directory    |
| the same message twice (Pub/Sub redelivery)    | read once                                  |
| the Meet API answers 429 or 503 during the read | retried by the outbox with backoff        |
| no Meet API credentials                        | none: the read is a dead letter saying so  |

The Meet and Directory APIs are mocked strictly (`responses`, every registered call must be
made, no other call may be). The push token is checked by the receiver's own tests
(tests/webhooks/test_meet_receiver.py); here its verifier answers the expected claims, so no
call to Google's certificate URL is made either.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from responses import matchers
from sqlalchemy import select

from adapters.meet import BASE_URL, DirectoryClient, MeetClient
from adapters.meet.directory import DIRECTORY_URL
from adapters.meet.platform import MeetPlatform
from connector.app import create_app
from connector.clock import FrozenClock
from connector.services import Services
from connector.store.db import Store
from connector.store.models import InboxEvent, Meeting, OutboxItem
from tests.support import count, make_settings
from tests.webhooks.meet_helpers import (
    P1,
    RECORD,
    RESOURCES,
    S1,
    SIGNED_IN_EMAIL,
    SIGNED_IN_USER,
    load_fixture,
)

AUDIENCE = "https://mentoring.example.org/webhooks/meet"
ACCOUNT = "meet-push@mentoring-prod.iam.gserviceaccount.com"
CLAIMS = {"aud": AUDIENCE, "email": ACCOUNT, "email_verified": True}
TOKEN = "ya29.meet-pipeline"
JOINED = load_fixture("google.workspace.meet.participant.v2.joined__signed_in")
LEFT = load_fixture("google.workspace.meet.participant.v2.left__signed_in")
JOINED_ID = "google.workspace.meet.participant.v2.joined:2070443601311202"
DIRECTORY_USER = f"{DIRECTORY_URL}/users/{SIGNED_IN_USER.removeprefix('users/')}"
AUTH = matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})


@pytest.fixture
def google() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def app_for(database_url: str, store: Store, clock: FrozenClock, *, api: bool = True) -> Flask:
    settings = make_settings(
        database_url,
        video={"meet": {"push_audience": AUDIENCE, "push_service_account": ACCOUNT}},
    )
    platforms = {}
    if api:
        meet = MeetClient(lambda: TOKEN, clock=clock)
        platforms["meet"] = MeetPlatform(meet, DirectoryClient(lambda: TOKEN, clock=clock))
    app = create_app(settings, store=store, clock=clock, platforms=platforms)
    # The token's signature is the receiver tests' business; here it is taken as verified.
    app.extensions["receivers"]["meet"]._verifier = lambda token, audience: CLAIMS
    return app


@pytest.fixture
def app_parts(database_url: str, store: Store, clock: FrozenClock) -> tuple[FlaskClient, Services]:
    app = app_for(database_url, store, clock)
    return app.test_client(), app.extensions["connector"]


def post(client: FlaskClient, body: bytes) -> Any:
    return client.post(
        "/webhooks/meet",
        data=body,
        content_type="application/json",
        headers={"Authorization": "Bearer a-push-token"},
    )


def session_read(google: responses.RequestsMock, session: dict[str, Any] = RESOURCES[S1]) -> None:
    """The Meet calls one participant event's read makes, in order."""
    google.get(f"{BASE_URL}/{S1}", json=session, match=[AUTH])
    google.get(f"{BASE_URL}/{P1}", json=RESOURCES[P1], match=[AUTH])
    google.get(f"{BASE_URL}/{RECORD}", json=RESOURCES[RECORD], match=[AUTH])


def directory(google: responses.RequestsMock) -> None:
    google.get(
        DIRECTORY_USER,
        json={"primaryEmail": SIGNED_IN_EMAIL},
        match=[matchers.query_param_matcher({"fields": "primaryEmail"})],
    )


def session_reads(google: responses.RequestsMock) -> int:
    return sum(1 for call in google.calls if call.request.url == f"{BASE_URL}/{S1}")


def attendance(store: Store) -> dict[str, int]:
    with store.session() as session:
        meeting = session.scalars(select(Meeting).where(Meeting.instance_uuid == RECORD)).one()
        return {p.email: p.attended_seconds for p in meeting.participants}


def test_an_event_is_stored_and_acknowledged_without_a_google_call(
    app_parts: tuple[FlaskClient, Services], store: Store, google: responses.RequestsMock
) -> None:
    client, _ = app_parts
    response = post(client, JOINED)  # nothing registered: any Google call would fail here
    assert (response.status_code, response.json["status"]) == (200, "accepted")
    assert len(google.calls) == 0
    with store.session() as session:
        [row] = session.scalars(select(InboxEvent)).all()
    assert (row.source, row.delivery_id) == ("meet", JOINED_ID)
    assert [e["kind"] for e in row.events] == ["platform.changed"]
    assert row.events[0]["resource"] == S1


def test_after_the_runner_and_outbox_the_meeting_participant_and_email_are_stored(
    app_parts: tuple[FlaskClient, Services], store: Store, google: responses.RequestsMock
) -> None:
    client, services = app_parts
    post(client, JOINED)
    post(client, LEFT)
    session_read(google)
    directory(google)  # once: the directory client caches the answer
    session_read(google)
    services.drain()
    assert attendance(store) == {SIGNED_IN_EMAIL: 30 * 60 + 52}  # 10:00:04.5 to 10:30:57
    with store.session() as session:
        meeting = session.scalars(select(Meeting)).one()
        assert (meeting.platform, meeting.external_id) == ("meet", RESOURCES[RECORD]["space"])
    key = f"google.workspace.meet.participant.v2.joined:{S1}"
    assert count(store, InboxEvent, InboxEvent.source == "meet-api") == 2
    assert count(store, InboxEvent, InboxEvent.delivery_id == key) == 1


def test_a_redelivered_message_is_read_once(
    app_parts: tuple[FlaskClient, Services], store: Store, google: responses.RequestsMock
) -> None:
    client, services = app_parts
    first, again = post(client, JOINED), post(client, JOINED)
    assert (first.json["status"], again.json["status"]) == ("accepted", "duplicate")
    session_read(google)
    directory(google)
    services.drain()
    post(client, JOINED)  # a late redelivery, after everything was read
    services.drain()
    assert session_reads(google) == 1
    assert count(store, OutboxItem, OutboxItem.key.startswith("read:meet:")) == 1


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        pytest.param(429, {"Retry-After": "30"}, id="throttled"),
        pytest.param(503, {}, id="unavailable"),
    ],
)
def test_the_meet_api_failing_during_the_read_is_retried_by_the_outbox(
    app_parts: tuple[FlaskClient, Services],
    store: Store,
    clock: FrozenClock,
    google: responses.RequestsMock,
    status: int,
    headers: dict[str, str],
) -> None:
    client, services = app_parts
    assert post(client, JOINED).status_code == 200  # Pub/Sub is answered whatever follows
    google.get(f"{BASE_URL}/{S1}", status=status, headers=headers, json={"error": {"code": 1}})
    services.drain()
    with store.session() as session:
        read = session.scalars(select(OutboxItem).where(OutboxItem.key.startswith("read:"))).one()
        assert (read.status, read.attempts) == ("pending", 1)
        assert read.next_attempt_at > clock.now()
        assert ("RateLimited" if status == 429 else "Unavailable") in (read.last_error or "")
    assert count(store, Meeting) == 0

    clock.advance(seconds=300)
    session_read(google)
    directory(google)
    services.drain()
    with store.session() as session:
        meeting = session.scalars(select(Meeting)).one()
        assert [p.email for p in meeting.participants] == [SIGNED_IN_EMAIL]


def test_without_meet_api_credentials_the_read_is_a_dead_letter_saying_so(
    database_url: str, store: Store, clock: FrozenClock, google: responses.RequestsMock
) -> None:
    app = app_for(database_url, store, clock, api=False)  # no [video.meet] credentials_file
    assert post(app.test_client(), JOINED).status_code == 200
    app.extensions["connector"].drain()
    with store.session() as session:
        read = session.scalars(select(OutboxItem)).one()
        assert (read.kind, read.status) == ("platform-read", "dead")
        assert "no meet API credentials" in (read.last_error or "")
