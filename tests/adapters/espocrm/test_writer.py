"""Tasks and alerts written to EspoCRM: looked up by key, then created once or updated.

| situation                                        | requests                                  |
|--------------------------------------------------|-------------------------------------------|
| first write of a key                             | GET lookup (none) -> POST Task            |
| the same decision again                          | GET lookup (one) -> PUT that Task; no POST|
| two Tasks already carry the key                  | Conflict, nothing written                 |
| EspoCRM refuses a missing assignee (400)         | InvalidRequest naming assignedUser        |
| pairing known in EspoCRM                         | parentType CPairing, parentId its id      |
| confidential alert                               | Urgent/High Task that says nothing more   |
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from responses import matchers

from adapters.base import Subject
from adapters.espocrm.writer import CONFIDENTIAL_NAME, stored_key
from connector.domain import Alert, Priority, Task
from connector.errors import Conflict, InvalidRequest
from tests.adapters.espocrm.helpers import API, API_KEY, ASSIGNEE, fixture, make_host

KEY = "vetting-gate:pairing:7:task"
TASK = Task(
    key=KEY,
    rule_id="vetting-gate",
    reason="The mentor's interview is not passed yet.",
    pairing_id=7,
    policy_version="2025-01",
    title="Follow up: mentor vetting incomplete",
    priority=Priority.HIGH,
    due=datetime(2026, 12, 1, 17, 0, tzinfo=UTC),
)
CREATED = fixture("api.Task.create__ok")


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def expect_lookup(api: responses.RequestsMock, key: str, found: list[str]) -> None:
    api.get(
        f"{API}/Task",
        json={"total": len(found), "list": [{"id": i} for i in found]},
        match=[
            matchers.query_param_matcher(
                {
                    "where[0][type]": "equals",
                    "where[0][attribute]": "cConnectorKey",
                    "where[0][value]": key,
                    "select": "id",
                    "maxSize": "2",
                }
            ),
            matchers.header_matcher({"X-Api-Key": API_KEY}),
        ],
    )


def sent(api: responses.RequestsMock, index: int) -> dict[str, Any]:
    body = api.calls[index].request.body
    assert body is not None
    loaded: dict[str, Any] = json.loads(body)
    return loaded


def test_the_first_write_creates_the_task_with_its_key(api: responses.RequestsMock) -> None:
    expect_lookup(api, KEY, [])
    api.post(f"{API}/Task", json=CREATED)
    subject = Subject(pairing_ref="6741f4b0a9e3c2f18", mentor_ref="6741f0aa0000mentor")
    assert make_host().upsert_task(TASK, KEY, subject) == "6b01c9249ab9a28fb"
    body = sent(api, 1)
    assert body == {
        "name": "Follow up: mentor vetting incomplete",
        "description": "The mentor's interview is not passed yet.\n\nRule: vetting-gate\n"
        f"Decision key: {KEY}\nPolicy version: 2025-01",
        "priority": "High",
        "dateEnd": "2026-12-01 17:00:00",
        "cConnectorKey": KEY,
        "status": "Not Started",
        "assignedUserId": ASSIGNEE,
        "parentType": "CPairing",
        "parentId": "6741f4b0a9e3c2f18",
    }


def test_the_same_decision_twice_updates_the_one_task(api: responses.RequestsMock) -> None:
    expect_lookup(api, KEY, [])
    api.post(f"{API}/Task", json=CREATED)
    expect_lookup(api, KEY, ["6b01c9249ab9a28fb"])
    api.put(f"{API}/Task/6b01c9249ab9a28fb", json=CREATED)
    host = make_host()
    assert host.upsert_task(TASK, KEY) == host.upsert_task(TASK, KEY) == "6b01c9249ab9a28fb"
    methods = [call.request.method for call in api.calls]
    assert methods == ["GET", "POST", "GET", "PUT"]  # one POST only
    update = sent(api, 3)
    # Staff own the status and the assignee: an update leaves them as staff left them.
    assert "status" not in update and "assignedUserId" not in update
    assert update["name"] == TASK.title


def test_two_tasks_with_one_key_are_a_conflict(api: responses.RequestsMock) -> None:
    expect_lookup(api, KEY, ["6b01c9249ab9a28fb", "6b01c9249ab9a28fc"])
    with pytest.raises(Conflict, match="2 EspoCRM Tasks"):
        make_host().upsert_task(TASK, KEY)


def test_a_missing_assignee_is_an_invalid_request_naming_the_field(
    api: responses.RequestsMock,
) -> None:
    expect_lookup(api, KEY, [])
    api.post(
        f"{API}/Task",
        status=400,
        json=fixture("api.error.validationFailure__assignedUser"),
        headers={"X-Status-Reason": "Field validation failure."},
    )
    with pytest.raises(InvalidRequest, match="validationFailure: field assignedUser required"):
        make_host().upsert_task(TASK, KEY)


def test_an_alert_is_a_task_of_high_priority_or_more(api: responses.RequestsMock) -> None:
    alert = Alert(
        key="suspension:person:3:alert",
        rule_id="suspension",
        reason="A suspended mentor is in an active pairing.",
        title="Suspended mentor in an active pairing",
        priority=Priority.NORMAL,
    )
    expect_lookup(api, alert.key, [])
    api.post(f"{API}/Task", json=CREATED | {"id": "6b01c9249ab9a28fd"})
    assert make_host().upsert_alert(alert, alert.key) == "6b01c9249ab9a28fd"
    body = sent(api, 1)
    assert body["priority"] == "High"
    assert body["name"] == "Alert: Suspended mentor in an active pairing"
    assert "dateEnd" not in body and "parentId" not in body  # no pairing: no parent


def test_a_confidential_alert_says_only_that_it_exists(api: responses.RequestsMock) -> None:
    alert = Alert(
        key="recording-consent:meeting:7:alert",
        rule_id="recording-consent",
        reason="Maya's session was recorded without Eli's consent.",
        title="Recording without consent",
        priority=Priority.CRITICAL,
        confidential=True,
    )
    hashed = stored_key(alert.key, confidential=True)
    assert hashed.startswith("sha256:") and "recording" not in hashed
    expect_lookup(api, hashed, [])
    api.post(f"{API}/Task", json=CREATED)
    make_host().upsert_alert(alert, alert.key)
    body = sent(api, 1)
    assert body["priority"] == "Urgent"
    assert body["name"] == CONFIDENTIAL_NAME
    text = json.dumps(body)
    assert "Eli" not in text and "recording" not in text.lower()


def test_a_key_longer_than_the_field_is_kept_as_its_hash(api: responses.RequestsMock) -> None:
    key = "unregistered-contact:meeting:" + "x" * 200
    expect_lookup(api, stored_key(key), [])
    api.post(f"{API}/Task", json=CREATED)
    make_host().upsert_task(TASK, key)
    assert len(sent(api, 1)["cConnectorKey"]) == len("sha256:") + 64
