"""Tasks and alerts written to HubSpot, idempotently on the decision key.

| task_write | key not in HubSpot                     | key already there                 |
|------------|----------------------------------------|-----------------------------------|
| search     | search, then create (with association) | search only: left as staff left it |
| upsert     | batch/upsert, then status and          | batch/upsert without status, read |
|            | association                            | back: staff's status is kept, a   |
|            |                                        | missing status/association is set |
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from responses import matchers

from adapters.base import Subject
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
# The task is associated with the mentor's contact (the subject's mentor_ref).
MENTOR_101 = Subject(pairing_ref="31337", mentor_ref="101", mentee_ref="102")
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
    host = make_host(owner_id="31415")
    expected = {
        "properties": {**PROPERTIES, "hubspot_owner_id": "31415"},
        "associations": [{"to": {"id": "101"}, "types": TO_CONTACT}],
    }
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(SEARCH, json=found())
        rsps.post(
            TASKS, status=201, json={"id": "9002"}, match=[matchers.json_params_matcher(expected)]
        )
        assert host.upsert_task(TASK, KEY, MENTOR_101) == "9002"


def test_two_tasks_with_one_key_are_a_conflict() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(SEARCH, json=found("1", "2"))
        with pytest.raises(Conflict, match="unique"):
            make_host().upsert_task(TASK, KEY)


CONTENT = {k: v for k, v in PROPERTIES.items() if k != "hs_task_status"}
TASK_9003 = f"{TASKS}/9003"
ASSOCIATE = f"{BASE}/crm/v4/objects/tasks/9003/associations/contacts/101"


def expect_upsert(rsps: responses.RequestsMock, *, new: bool) -> None:
    """The batch upsert, never carrying a status (it would reopen a completed task)."""
    body = {"inputs": [{"id": KEY, "idProperty": "connector_key", "properties": CONTENT}]}
    rsps.post(
        f"{TASKS}/batch/upsert",
        json={"status": "COMPLETE", "results": [{"id": "9003", "new": new}]},
        match=[matchers.json_params_matcher(body)],
    )


def expect_follow_ups(rsps: responses.RequestsMock) -> None:
    rsps.patch(
        TASK_9003,
        json={"id": "9003"},
        match=[matchers.json_params_matcher({"properties": {"hs_task_status": "NOT_STARTED"}})],
    )
    rsps.put(
        ASSOCIATE,
        json={"fromObjectTypeId": "0-27", "fromObjectId": 9003},
        match=[matchers.json_params_matcher(TO_CONTACT)],
    )


def expect_read_back(rsps: responses.RequestsMock, status: str | None, contacts: list[str]) -> None:
    rsps.get(
        TASK_9003,
        json={
            "id": "9003",
            "properties": {"hs_task_status": status, "hs_object_id": "9003"},
            "associations": {
                "contacts": {"results": [{"id": c, "type": "task_to_contact"} for c in contacts]}
            },
        },
        match=[
            matchers.query_param_matcher(
                {"properties": "hs_task_status", "associations": "contacts"}
            )
        ],
    )


def test_upsert_mode_writes_one_task_and_a_repeat_does_not_reopen_it() -> None:
    host = make_host(task_write="upsert")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        expect_upsert(rsps, new=True)
        expect_follow_ups(rsps)
        assert host.upsert_task(TASK, KEY, MENTOR_101) == "9003"
    # Staff completed the task; the same decision comes again: no status, no association.
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        expect_upsert(rsps, new=False)
        expect_read_back(rsps, "COMPLETED", ["101"])
        assert host.upsert_task(TASK, KEY, MENTOR_101) == "9003"


def test_upsert_mode_repeat_completes_the_follow_ups_a_failed_attempt_left_out() -> None:
    host = make_host(task_write="upsert")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        expect_upsert(rsps, new=False)  # created last time, which failed before its status
        expect_read_back(rsps, None, [])
        expect_follow_ups(rsps)
        assert host.upsert_task(TASK, KEY, MENTOR_101) == "9003"


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
