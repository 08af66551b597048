"""Graph subscriptions kept alive, and lifecycle notifications acted on, as a specification.

| trigger                               | what happens (through the outbox)           |
|---------------------------------------|---------------------------------------------|
| `subscriptions create`                | POST /subscriptions; stored with its expiry |
| `subscriptions renew`                 | PATCH each active one to the full lifetime  |
| `subscriptions list`                  | GET /subscriptions; ours stored, others not |
| scheduler: expiry within the margin   | one PATCH per expiry, once per period       |
| Teams `reauthorizationRequired`       | PATCH /subscriptions/{id}                   |
| Teams `subscriptionRemoved`           | a live one reused or POSTed; resync alert   |
| Teams `missed`                        | resync alert; marked needs_resync           |
| renewal answered 404 (gone)           | recreated                                   |
| Teams lifecycle, no Graph credentials | an alert asking an admin                    |
| Meet suspended/expiring/expired       | an alert (no renewal call documented)       |

Graph is mocked strictly (`assert_all_requests_are_fired=True`) with the shapes of reference
§4.1 and §4.4; the receiver gets the lifecycle fixtures of `tests/fixtures/teams` and `meet`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from click.testing import CliRunner
from flask.testing import FlaskClient
from responses import matchers
from sqlalchemy import select

from adapters.teams import GRAPH_URL
from adapters.teams.client import LOGIN_URL
from connector.app import create_app
from connector.cli import main
from connector.clock import FrozenClock
from connector.services import Services
from connector.settings import Settings, parse_settings
from connector.store.db import Store
from connector.store.models import OutboxItem, VideoSubscription
from tests.support import START, TEST_ENV, items
from tests.webhooks.meet_helpers import load_fixture, push_token

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "teams"
TENANT = "2432b57b-0abd-43db-aa7b-16eadd115d34"
CLIENT_STATE = "mentor-connector-teams-client-state-4c1f"  # the fixtures' clientState
SUB = "6aa5ced2-0a5a-4643-9274-3109c731d986"  # the lifecycle fixtures' subscriptionId
NEW_SUB = "9f1c2a7e-5b4d-4e1a-8c3f-2d6b7a8e9f01"
PUBLIC_URL = "https://mentoring.example.org"
HOOK = f"{PUBLIC_URL}/webhooks/teams"
TOKEN_URL = f"{LOGIN_URL}/{TENANT}/oauth2/v2.0/token"
SUBSCRIPTIONS = f"{GRAPH_URL}/subscriptions"
ENV = TEST_ENV | {"T_TEAMS_STATE": CLIENT_STATE, "T_TEAMS_SECRET": "graph-secret"}
LIFETIME = START + timedelta(minutes=4230)  # the longest a call-record subscription lives
LIFETIME_TEXT = "2026-11-05T12:30:00Z"
MEET_AUDIENCE = f"{PUBLIC_URL}/webhooks/meet"
MEET_ACCOUNT = "meet-push@mentoring.iam.gserviceaccount.com"


def settings_for(database_url: str, *, graph: bool = True) -> Settings:
    teams: dict[str, Any] = {"client_state": "env:T_TEAMS_STATE"}
    if graph:
        teams |= {"tenant_id": TENANT, "client_id": "24d3b144-21ae-4080-943f-7067b395b913"}
        teams |= {"client_secret": "env:T_TEAMS_SECRET"}
    document = {
        "connector": {"database_url": database_url, "public_url": PUBLIC_URL},
        "admin": {"tokens": ["env:T_ADMIN"], "safeguarding_tokens": ["env:T_SAFE"]},
        "video": {
            "teams": teams,
            "meet": {"push_audience": MEET_AUDIENCE, "push_service_account": MEET_ACCOUNT},
        },
        "outbox": {"backoff_initial_seconds": 1.0},
        "scheduler": {"checks_at_hour": 23},  # the daily checks are not this file's subject
    }
    return parse_settings(document, ENV, "tests")


@pytest.fixture
def graph() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(TOKEN_URL, json={"token_type": "Bearer", "expires_in": 3599, "access_token": "t"})
        yield mock


def app_for(
    database_url: str, store: Store, clock: FrozenClock, *, graph: bool = True
) -> tuple[FlaskClient, Services]:
    app = create_app(settings_for(database_url, graph=graph), store=store, clock=clock)
    return app.test_client(), app.extensions["connector"]


def subscription_body(sub_id: str = NEW_SUB, expires: str = LIFETIME_TEXT) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(
        (FIXTURES / "graph.subscription__call_records.json").read_text()
    )
    return body | {"id": sub_id, "notificationUrl": HOOK, "expirationDateTime": expires}


def store_subscription(store: Store, sub_id: str, expires_in: timedelta) -> None:
    with store.session() as session:
        session.add(
            VideoSubscription(
                platform="teams",
                external_id=sub_id,
                resource="/communications/callRecords",
                change_type="created,updated",
                expires_at=START + expires_in,
                client_state_ref="env:T_TEAMS_STATE",
                status="active",
                needs_resync=False,
                created_at=START,
                updated_at=START,
            )
        )


def stored(store: Store) -> dict[str, tuple[str, bool, Any]]:
    with store.session() as session:
        rows = session.scalars(select(VideoSubscription)).all()
        return {r.external_id: (r.status, r.needs_resync, r.expires_at) for r in rows}


def outbox(store: Store) -> dict[str, str]:
    with store.session() as session:
        return {row.key: row.status for row in session.scalars(select(OutboxItem))}


def expect_renewal(graph: responses.RequestsMock, sub_id: str = SUB, status: int = 200) -> None:
    graph.patch(
        f"{SUBSCRIPTIONS}/{sub_id}",
        status=status,
        json=subscription_body(sub_id) if status == 200 else {"error": {"code": "NotFound"}},
        match=[matchers.json_params_matcher({"expirationDateTime": LIFETIME_TEXT})],
    )


def expect_creation(graph: responses.RequestsMock) -> None:
    graph.post(
        SUBSCRIPTIONS,
        status=201,
        json=subscription_body(),
        match=[
            matchers.json_params_matcher(
                {
                    "changeType": "created,updated",
                    "notificationUrl": HOOK,
                    "lifecycleNotificationUrl": HOOK,
                    "resource": "/communications/callRecords",
                    "expirationDateTime": LIFETIME_TEXT,
                    "clientState": CLIENT_STATE,
                }
            )
        ],
    )


def notify(client: FlaskClient, fixture: str) -> None:
    body = (FIXTURES / f"{fixture}.json").read_bytes()
    response = client.post("/webhooks/teams", data=body, content_type="application/json")
    assert response.status_code == 202, response.get_data(as_text=True)


# --------------------------------------------------------------------------- the CLI


def cli(tmp_path: Path, database_url: str, *args: str) -> Any:
    config = tmp_path / "connector.toml"
    config.write_text(
        f"""
[connector]
database_url = {json.dumps(database_url)}
public_url = "{PUBLIC_URL}"
[admin]
tokens = ["env:T_ADMIN"]
[video.teams]
client_state = "env:T_TEAMS_STATE"
tenant_id = "{TENANT}"
client_id = "24d3b144-21ae-4080-943f-7067b395b913"
client_secret = "env:T_TEAMS_SECRET"
""",
        encoding="utf-8",
    )
    env: dict[str, str | None] = {**ENV, "CONNECTOR_CONFIG": None}
    return CliRunner(env=env).invoke(
        main, ["--config", str(config), "subscriptions", *args], catch_exceptions=False
    )


def test_create_subscribes_the_receiver_to_call_records_and_stores_it(
    tmp_path: Path, database_url: str, store: Store, graph: responses.RequestsMock
) -> None:
    graph.post(SUBSCRIPTIONS, status=201, json=subscription_body())
    result = cli(tmp_path, database_url, "create")
    assert result.exit_code == 0, result.output
    assert NEW_SUB in result.output
    assert CLIENT_STATE not in result.output  # the secret is never printed
    [body] = [json.loads(c.request.body) for c in graph.calls if c.request.url == SUBSCRIPTIONS]
    assert body["notificationUrl"] == body["lifecycleNotificationUrl"] == HOOK
    assert body["changeType"] == "created,updated"
    with store.session() as session:
        row = session.scalars(select(VideoSubscription)).one()
        assert (row.external_id, row.status, row.client_state_ref) == (
            NEW_SUB,
            "active",
            "env:T_TEAMS_STATE",
        )
        assert row.expires_at is not None and row.expires_at.isoformat().startswith("2026-11-05")


def test_renew_extends_every_active_subscription(
    tmp_path: Path, database_url: str, store: Store, graph: responses.RequestsMock
) -> None:
    store_subscription(store, SUB, timedelta(hours=1))
    graph.patch(f"{SUBSCRIPTIONS}/{SUB}", json=subscription_body(SUB, "2099-01-01T00:00:00Z"))
    result = cli(tmp_path, database_url, "renew")
    assert result.exit_code == 0, result.output
    assert stored(store)[SUB][2].year == 2099


def test_list_stores_the_subscriptions_for_this_receiver_only(
    tmp_path: Path, database_url: str, store: Store, graph: responses.RequestsMock
) -> None:
    other = subscription_body(SUB) | {"notificationUrl": "https://elsewhere.test/hook"}
    graph.get(SUBSCRIPTIONS, json={"value": [subscription_body(), other]})
    result = cli(tmp_path, database_url, "list")
    assert result.exit_code == 0, result.output
    assert set(stored(store)) == {NEW_SUB}
    assert f"teams  {NEW_SUB}" in result.output


# --------------------------------------------------------------------------- the scheduler


def test_the_scheduler_renews_what_expires_within_the_margin_once(
    database_url: str, store: Store, clock: FrozenClock, graph: responses.RequestsMock
) -> None:
    _, services = app_for(database_url, store, clock)
    store_subscription(store, SUB, timedelta(hours=11))  # within the 12-hour default margin
    store_subscription(store, NEW_SUB, timedelta(hours=13))  # not yet
    expect_renewal(graph)

    services.scheduler.tick()
    services.scheduler.tick()  # the same check period: nothing more
    services.drain()
    assert stored(store)[SUB] == ("active", False, LIFETIME)
    assert outbox(store) == {f"subscription:teams:{SUB}:renew:2026-11-03T01:00:00+00:00": "done"}

    clock.advance(seconds=15 * 60)  # the next period: nothing is due any more
    services.scheduler.tick()
    services.drain()
    assert len(outbox(store)) == 1


# --------------------------------------------------------------------------- lifecycle


def test_reauthorization_required_renews_the_subscription(
    database_url: str, store: Store, clock: FrozenClock, graph: responses.RequestsMock
) -> None:
    client, services = app_for(database_url, store, clock)
    expect_renewal(graph)
    notify(client, "lifecycle.reauthorizationRequired__basic")
    notify(client, "lifecycle.reauthorizationRequired__basic")  # Graph's retry: a duplicate
    services.drain()
    assert stored(store)[SUB] == ("active", False, LIFETIME)
    assert list(outbox(store).values()) == ["done"]


def test_a_removed_subscription_is_recreated_and_a_resync_asked_for(
    database_url: str, store: Store, clock: FrozenClock, graph: responses.RequestsMock
) -> None:
    client, services = app_for(database_url, store, clock)
    store_subscription(store, SUB, timedelta(hours=1))
    graph.get(SUBSCRIPTIONS, json={"value": []})  # nothing live to reuse
    expect_creation(graph)
    notify(client, "lifecycle.subscriptionRemoved__basic")
    services.drain()

    assert stored(store) == {
        SUB: ("replaced", True, stored(store)[SUB][2]),
        NEW_SUB: ("active", False, LIFETIME),
    }
    [alert] = items(client, "alert")
    assert "check recent Teams meetings" in alert["title"]


def test_a_recreation_reuses_a_live_subscription_for_the_same_resource(
    database_url: str, store: Store, clock: FrozenClock, graph: responses.RequestsMock
) -> None:
    client, services = app_for(database_url, store, clock)
    graph.get(SUBSCRIPTIONS, json={"value": [subscription_body()]})  # made by an earlier try
    notify(client, "lifecycle.subscriptionRemoved__basic")
    services.drain()
    assert stored(store)[NEW_SUB][0] == "active"
    assert stored(store)[SUB][0] == "replaced"


def test_missed_notifications_ask_staff_to_resync(
    database_url: str, store: Store, clock: FrozenClock, graph: responses.RequestsMock
) -> None:
    graph.assert_all_requests_are_fired = False  # no Graph call at all, not even a token
    client, services = app_for(database_url, store, clock)
    notify(client, "lifecycle.missed__basic")
    services.drain()
    assert len(graph.calls) == 0
    assert stored(store)[SUB][:2] == ("active", True)
    [alert] = items(client, "alert")
    assert alert["title"].startswith("Teams notifications may have been lost")


def test_a_renewal_of_a_subscription_graph_no_longer_has_recreates_it(
    database_url: str, store: Store, clock: FrozenClock, graph: responses.RequestsMock
) -> None:
    client, services = app_for(database_url, store, clock)
    expect_renewal(graph, status=404)
    graph.get(SUBSCRIPTIONS, json={"value": []})
    expect_creation(graph)
    notify(client, "lifecycle.reauthorizationRequired__basic")
    services.drain()
    assert stored(store)[SUB][:2] == ("replaced", True)
    assert stored(store)[NEW_SUB][0] == "active"


def test_without_graph_credentials_an_admin_is_asked_to_renew(
    database_url: str, store: Store, clock: FrozenClock
) -> None:
    client, services = app_for(database_url, store, clock, graph=False)
    notify(client, "lifecycle.reauthorizationRequired__basic")
    services.drain()
    [alert] = items(client, "alert")
    assert "needs renew" in alert["title"]
    assert list(outbox(store).values()) == ["done"]


@pytest.mark.parametrize(
    ("fixture", "title", "status"),
    [
        (
            "google.workspace.events.subscription.v1.suspended__endpoint_permission_denied",
            "Meet events stopped (ENDPOINT_PERMISSION_DENIED): fix and reactivate",
            "suspended",
        ),
        (
            "google.workspace.events.subscription.v1.expirationReminder__one_hour_left",
            "Meet subscription expires 2024-05-02T10:00:00+00:00: renew it",
            "active",
        ),
        (
            "google.workspace.events.subscription.v1.expired__basic",
            "Meet subscription expired: recreate it and check recent Meet meetings",
            "expired",
        ),
    ],
    ids=["suspended", "expiration-reminder", "expired"],
)
def test_meet_lifecycle_events_become_alerts(
    database_url: str,
    store: Store,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    fixture: str,
    title: str,
    status: str,
) -> None:
    client, services = app_for(database_url, store, clock)
    receiver = client.application.extensions["receivers"]["meet"]
    claims = {"aud": MEET_AUDIENCE, "email": MEET_ACCOUNT, "email_verified": True}
    monkeypatch.setattr(receiver, "_verifier", lambda token, audience: claims)
    response = client.post(
        "/webhooks/meet",
        data=load_fixture(fixture),
        content_type="application/json",
        headers={"Authorization": f"Bearer {push_token()}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    services.drain()
    [alert] = items(client, "alert")
    assert alert["title"] == title
    assert stored(store)["subscriptions/meet-mentoring-1"][0] == status
