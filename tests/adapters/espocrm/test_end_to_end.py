"""The whole path through EspoCRM: a change in the CRM -> sync -> rule -> outbox -> a Task.

EspoCRM is the strict `responses` mock of `helpers.py`: its lists serve in-memory rows with
EspoCRM's filtering and paging, and its Task endpoints keep what the connector writes, so
the test sees the exact lookup and create requests. Runs on SQLite and PostgreSQL.

1. A program (a vetted mentor, a mentee, their active pairing, one held session) is synced.
2. The mentor is suspended in EspoCRM. The next sync reads the Contact, the suspension rule
   raises its alert, and the outbox writes it as one High Task keyed by the decision.
3. Syncing and draining again writes nothing new: the Task is found by its key and updated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
import responses

from connector.clock import FrozenClock
from connector.settings import Settings
from connector.store.db import Store
from connector.store.models import Pairing, Person
from connector.sync import Syncer
from tests.adapters.espocrm.helpers import API, ASSIGNEE, fixture, make_host, query, serve_list
from tests.hosts_support import by_ref, drain
from tests.support import make_settings

APPROVED = {"cVettingStatus": "Approved", "cReferencesStatus": "Approved"}


def at(clock: FrozenClock, minutes: int = 0) -> str:
    return (clock.now() + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S")


class Tasks:
    """EspoCRM's Task endpoints over a dict: lookup by key and create (no update is expected)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.posts = 0

    def lookup(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        named = dict(query(request))
        assert named["where[0][attribute]"] == "cConnectorKey" and named["maxSize"] == "2"
        found = [
            {"id": i}
            for i, row in self.rows.items()
            if row["cConnectorKey"] == named["where[0][value]"]
        ]
        return 200, {}, json.dumps({"total": len(found), "list": found})

    def create(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        self.posts += 1
        body = json.loads(request.body or b"{}")
        task_id = f"6b01c9249ab9a2{self.posts:03d}"
        self.rows[task_id] = body | {"id": task_id}
        return 200, {}, json.dumps(self.rows[task_id])


@pytest.fixture
def espo() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def sync_settings(database_url: str) -> Settings:
    return make_settings(database_url, host={"lookback_minutes": 10, "request_budget": 50})


def test_a_mentor_suspended_in_espocrm_gets_one_alert_task_back(
    espo: responses.RequestsMock, store: Store, sync_settings: Settings, clock: FrozenClock
) -> None:
    mentor = (
        fixture("api.Contact__mentor")
        | APPROVED
        | {
            "cInterviewStatus": "Approved",
            "modifiedAt": at(clock, -30),
        }
    )
    mentee = mentor | {
        "id": "6741f3c4d5e6f7a81",
        "name": "Eli Mentee",
        "emailAddress": "eli@example.org",
        "cMentoringRole": "Mentee",
        "modifiedAt": at(clock, -29),
    }
    pairing = fixture("api.CPairing__active") | {"modifiedAt": at(clock, -28)}
    session = {
        "id": "6741f5d0e1f2a3b45",
        "pairingId": pairing["id"],
        "dateStart": at(clock, -24 * 60),
        "dateEnd": at(clock, -23 * 60),
        "kind": "Intro",
        "status": "Held",
        "modifiedAt": at(clock, -27),
    }
    contacts = serve_list(espo, "Contact", [mentor, mentee])
    serve_list(espo, "CPairing", [pairing])
    serve_list(espo, "CSession", [session])
    tasks = Tasks()
    espo.add_callback(responses.GET, f"{API}/Task", callback=tasks.lookup)
    espo.add_callback(responses.POST, f"{API}/Task", callback=tasks.create)
    host = make_host(clock)
    syncer = Syncer(store, sync_settings, host, clock)

    syncer.run()
    drain(store, sync_settings, host, clock)
    assert by_ref(store, Person, mentor["id"]).status == "active"
    written_before = dict(tasks.rows)

    clock.advance(hours=1)
    mentor["cParticipantStatus"] = "Suspended"
    mentor["modifiedAt"] = at(clock, -1)
    syncer.run()
    drain(store, sync_settings, host, clock)

    maya, pair = by_ref(store, Person, mentor["id"]), by_ref(store, Pairing, pairing["id"])
    assert maya.status == "suspended"
    key = f"suspension:pairing:{pair.id}:person:{maya.id}"
    new = {i: row for i, row in tasks.rows.items() if i not in written_before}
    (task,) = [row for row in new.values() if row["cConnectorKey"] == key]
    assert task["priority"] in ("High", "Urgent")
    assert task["status"] == "Not Started" and task["assignedUserId"] == ASSIGNEE
    assert "suspended" in task["name"].lower()
    # The incremental read asked EspoCRM only for what changed since the cursor, less lookback.
    last = dict(contacts.calls[-1])
    assert last["where[0][type]"] == "greaterThanOrEquals"

    posts = tasks.posts
    clock.advance(minutes=5)
    syncer.run()  # the suspension is read again within the lookback
    drain(store, sync_settings, host, clock)
    assert tasks.posts == posts  # nothing written twice
