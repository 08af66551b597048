"""Tasks and alerts written to HubSpot, idempotently on the decision key.

| task_write | key not in HubSpot                     | key already there                 |
|------------|----------------------------------------|-----------------------------------|
| search     | search, then create (with association) | search only: left as staff left it |
| upsert     | batch/upsert (+ association if new)    | batch/upsert again: one task      |
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from responses import matchers

from connector.domain import Alert, Priority, Task
from connector.errors import Conflict
from tests.adapters.hubspot.support import BASE, NOW, make_host, ms

KEY = "feedback-after-sessions:pairing:P42:session-2"
DUE = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
TASK = Task(
    key=KEY,
    rule_id="feedback-after-sessions",
    reason="Two sessions held; feedback is due from both parties.",
    pairing_id=42,
    policy_version="2025-01",
    title="Collect feedback from the pairing",
    priority=Priority.NORMAL,
    due=DUE,
)
SEARCH = f"{BASE}/crm/v3/objects/tasks/search"
TASKS = f"{BASE}/crm/v3/objects/tasks"
FIND = {
    "filterGroups": [
        {"filters": [{"propertyName": "connector_key", "operator": "EQ", "value": KEY}]}
    ],
    "properties": ["connector_key"],
    "limit": 2,
}
PROPERTIES = {
    "connector_key": KEY,
    "hs_timestamp": ms(DUE),
    "hs_task_subject": "Collect feedback from the pairing",
    "hs_task_body": (
        "Two sessions held; feedback is due from both parties.\n"
        "Rule: feedback-after-sessions\nFor: coordinator\nPolicy version: 2025-01\n"
        f"Connector key: {KEY}"
    ),
    "hs_task_status": "NOT_STARTED",
    "hs_task_priority": "MEDIUM",
    "hs_task_type": "TODO",
}
TO_CONTACT = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}]


def found(*ids: str) -> dict[str, Any]:
    return {
        "total": len(ids),
        "results": [{"id": i, "properties": {"connector_key": KEY}} for i in ids],
    }


def test_search_mode_creates_the_task_once_and_then_leaves_it_alone() -> None:
    host = make_host()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(SEARCH, json=found(), match=[matchers.json_params_matcher(FIND)])
        rsps.post(
            TASKS,
            status=201,
            json={"id": "9001", "properties": PROPERTIES},
            match=[matchers.json_params_matcher({"properties": PROPERTIES})],
        )
        assert host.upsert_task(TASK, KEY) == "9001"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(SEARCH, json=found("9001"), match=[matchers.json_params_matcher(FIND)])
        assert host.upsert_task(TASK, KEY) == "9001"  # the same decision: no second write


def test_search_mode_associates_the_contact_and_assigns_the_owner() -> None:
    host = make_host(owner_id="31415", contact_of=lambda decision: "101")
    expected = {
        "properties": {**PROPERTIES, "hubspot_owner_id": "31415"},
        "associations": [{"to": {"id": "101"}, "types": TO_CONTACT}],
    }
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(SEARCH, json=found())
        rsps.post(
            TASKS, status=201, json={"id": "9002"}, match=[matchers.json_params_matcher(expected)]
        )
        assert host.upsert_task(TASK, KEY) == "9002"


def test_two_tasks_with_one_key_are_a_conflict() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(SEARCH, json=found("1", "2"))
        with pytest.raises(Conflict, match="unique"):
            make_host().upsert_task(TASK, KEY)


def upsert_body(properties: dict[str, Any]) -> dict[str, Any]:
    return {"inputs": [{"id": KEY, "idProperty": "connector_key", "properties": properties}]}


def test_upsert_mode_writes_one_task_however_often_the_decision_comes() -> None:
    host = make_host(task_write="upsert", contact_of=lambda decision: "101")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(
            f"{TASKS}/batch/upsert",
            json={"status": "COMPLETE", "results": [{"id": "9003", "new": True}]},
            match=[matchers.json_params_matcher(upsert_body(PROPERTIES))],
        )
        rsps.put(
            f"{BASE}/crm/v4/objects/tasks/9003/associations/contacts/101",
            json={"fromObjectTypeId": "0-27", "fromObjectId": 9003},
            match=[matchers.json_params_matcher(TO_CONTACT)],
        )
        assert host.upsert_task(TASK, KEY) == "9003"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(
            f"{TASKS}/batch/upsert",
            json={"status": "COMPLETE", "results": [{"id": "9003", "new": False}]},
            match=[matchers.json_params_matcher(upsert_body(PROPERTIES))],
        )
        assert host.upsert_task(TASK, KEY) == "9003"  # the same task, no new association


def test_an_alert_is_a_high_priority_task_due_now_and_a_confidential_one_keeps_its_reason() -> None:
    alert = Alert(
        key="concern-report:concern:7",
        rule_id="concern-report",
        reason="A concern report names this pairing.",
        title="Concern report received",
        audience="safeguarding",
        confidential=True,
    )
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(SEARCH, json=found())
        rsps.post(TASKS, status=201, json={"id": "9004"})
        assert make_host().upsert_alert(alert, alert.key) == "9004"
        sent = rsps.calls[1].request.body
    properties = json.loads(sent)["properties"]
    assert properties["hs_task_priority"] == "HIGH"
    assert properties["hs_task_subject"] == "Alert: Concern report received"
    assert properties["hs_timestamp"] == ms(NOW)
    assert "concern report names" not in properties["hs_task_body"]
    assert properties["hs_task_body"].startswith("Confidential, for safeguarding")
