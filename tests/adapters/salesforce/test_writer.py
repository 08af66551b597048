"""Tasks and alerts written back to Salesforce as upserts on the decision key (§1.1-1.2).

| decision                         | request                                                     |
|----------------------------------|-------------------------------------------------------------|
| Task, key K                      | PATCH sobjects/Task/Connector_Key__c/mc-<sha256(K)>          |
| the same Task again              | the same PATCH: 201 then 200, one record                     |
| Alert (default)                  | a high-priority Task, subject "Alert: ..."                   |
| Alert with alert_object set      | PATCH sobjects/<alert_object>/Connector_Key__c/...           |
| many items                       | PATCH composite/sobjects/Task/Connector_Key__c, 200 a time   |
| External ID matching two records | 300 -> Conflict                                              |
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from responses import matchers

from adapters.base import BatchItem, Subject
from adapters.salesforce import WriterSettings, external_key
from connector.domain import Alert, Priority, Task
from connector.errors import Conflict, InvalidRequest, Unavailable
from tests.adapters.salesforce.sf_helpers import API, fixture, make_host, strict_mock, token

KEY = "feedback-after-sessions:pairing:42:session-2"
TASK = Task(
    key=KEY,
    rule_id="feedback-after-sessions",
    reason="Two sessions held: ask both for feedback.",
    pairing_id=42,
    policy_version="2025-01",
    title="Ask Maya and Eli for feedback",
    priority=Priority.NORMAL,
    due=datetime(2026, 11, 24, 17, 0, tzinfo=UTC),
)
ALERT = Alert(
    key="unvetted-mentor:pairing:42",
    rule_id="vetting-gate",
    reason="The mentor's interview is missing.",
    pairing_id=42,
    title="Pairing activated with an unvetted mentor",
)
TASK_URL = f"{API}/sobjects/Task/Connector_Key__c/{external_key(KEY)}"


def sent_json(mock: Any, index: int) -> Any:
    return json.loads(mock.calls[index].request.body)


def test_the_external_id_is_the_keys_hash_so_dots_and_colons_never_reach_the_url() -> None:
    assert external_key(KEY) == "mc-" + hashlib.sha256(KEY.encode()).hexdigest()
    dotted = external_key("welcome:person:mia@example.inc")
    assert "." not in dotted and "@" not in dotted and len(dotted) == 67
    assert external_key(KEY) == external_key(KEY)


def test_a_task_is_upserted_on_its_key_without_status_or_the_key_field() -> None:
    host = make_host(WriterSettings(owner_id="0055g00000CoordAAA"))
    with strict_mock() as mock:
        token(mock)
        mock.patch(TASK_URL, json=fixture("upsert__created"), status=201)
        assert host.upsert_task(TASK, KEY) == "00T5g00000Aa01AAAA"
        body = sent_json(mock, 1)
    assert body == {
        "Subject": "Ask Maya and Eli for feedback",
        "Description": (
            "Two sessions held: ask both for feedback.\n\nRule: feedback-after-sessions\n"
            f"Connector key: {KEY}\nPolicy version: 2025-01"
        ),
        "Priority": "Normal",
        "ActivityDate": "2026-11-24",
        "OwnerId": "0055g00000CoordAAA",
    }


def test_the_same_decision_twice_writes_one_task() -> None:
    host = make_host()
    with strict_mock() as mock:
        token(mock)
        mock.patch(TASK_URL, json=fixture("upsert__created"), status=201)
        mock.patch(TASK_URL, json=fixture("upsert__updated"), status=200)
        first = host.upsert_task(TASK, KEY)
        second = host.upsert_task(TASK, KEY)
    assert first == second == "00T5g00000Aa01AAAA"


def test_an_update_answered_without_a_body_reads_the_id_back() -> None:
    with strict_mock() as mock:
        token(mock)
        mock.patch(TASK_URL, status=204)
        mock.get(
            TASK_URL,
            json={"attributes": {"type": "Task"}, "Id": "00T5g00000Aa01AAAA"},
            match=[matchers.query_param_matcher({"fields": "Id"})],
        )
        assert make_host().upsert_task(TASK, KEY) == "00T5g00000Aa01AAAA"


def test_a_key_matching_several_tasks_is_a_conflict() -> None:
    with strict_mock() as mock:
        token(mock)
        mock.patch(TASK_URL, json=fixture("upsert__multiple_matches"), status=300)
        with pytest.raises(Conflict) as caught:
            make_host().upsert_task(TASK, KEY)
    assert caught.value.status == 300
    assert caught.value.retryable is False


PAIR = "a015g00000PairAAAB"
MENTOR = "0035g00000MentrAAA"  # a Contact: key prefix 003
MENTEE = "0035g00000MenteAAA"


def test_an_alert_is_a_high_priority_task_related_to_the_pairing_and_its_mentor() -> None:
    host = make_host()
    url = f"{API}/sobjects/Task/Connector_Key__c/{external_key(ALERT.key)}"
    with strict_mock() as mock:
        token(mock)
        mock.patch(url, json=fixture("upsert__created"), status=201)
        host.upsert_alert(ALERT, ALERT.key, Subject(PAIR, MENTOR, MENTEE))
        body = sent_json(mock, 1)
    assert body["Subject"] == "Alert: Pairing activated with an unvetted mentor"
    assert body["Priority"] == "High"
    # WhatId: the pairing; WhoId: the mentor's Contact (one WhoId only; the mentee is
    # reached through the pairing).
    assert (body["WhatId"], body["WhoId"]) == (PAIR, MENTOR)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (None, {}),
        (Subject(PAIR), {"WhatId": PAIR}),
        (Subject(None, MENTOR, MENTEE), {"WhoId": MENTOR}),
        (Subject("not an id", "not an id"), {}),  # not record ids: left out
        (Subject(PAIR, "a015g00000NotACont"), {"WhatId": PAIR}),  # WhoId takes Contact/Lead
        (Subject(PAIR, "00Q5g00000LeadAAAA"), {"WhatId": PAIR, "WhoId": "00Q5g00000LeadAAAA"}),
    ],
)
def test_what_and_who_come_from_the_subject(
    subject: Subject | None, expected: dict[str, str]
) -> None:
    with strict_mock() as mock:
        token(mock)
        mock.patch(TASK_URL, json=fixture("upsert__created"), status=201)
        make_host().upsert_task(TASK, KEY, subject)
        body = sent_json(mock, 1)
    assert {k: v for k, v in body.items() if k in ("WhatId", "WhoId")} == expected


def test_alerts_can_go_to_their_own_object() -> None:
    host = make_host(WriterSettings(alert_object="Safeguarding_Alert__c"))
    url = f"{API}/sobjects/Safeguarding_Alert__c/Connector_Key__c/{external_key(ALERT.key)}"
    with strict_mock() as mock:
        token(mock)
        mock.patch(url, json=fixture("upsert__created"), status=201)
        host.upsert_alert(ALERT, ALERT.key)
        body = sent_json(mock, 1)
    assert set(body) == {"Name", "Details__c", "Priority__c", "Rule__c"}
    assert body["Rule__c"] == "vetting-gate"


def test_a_confidential_items_reason_stays_in_the_connector() -> None:
    concern = Task(
        key="concern:7",
        rule_id="concern-report",
        reason="Mentee reported an inappropriate message.",
        title="Review concern report",
        confidential=True,
    )
    url = f"{API}/sobjects/Task/Connector_Key__c/{external_key('concern:7')}"
    with strict_mock() as mock:
        token(mock)
        mock.patch(url, json=fixture("upsert__created"), status=201)
        make_host().upsert_task(concern, "concern:7")
        description = sent_json(mock, 1)["Description"]
    assert "inappropriate" not in description
    assert description.startswith("Confidential:")


def test_upsert_many_sends_collections_and_answers_per_item() -> None:
    items = [
        BatchItem(Task(key=f"k{i}", rule_id="r", reason="why", title=f"task {i}"), f"k{i}")
        for i in range(4)
    ]
    with strict_mock() as mock:
        token(mock)
        mock.patch(
            f"{API}/composite/sobjects/Task/Connector_Key__c",
            json=fixture("composite_upsert__mixed"),
        )
        results = make_host().upsert_many(items)
        body = sent_json(mock, 1)
    assert body["allOrNone"] is False
    assert body["records"][0]["attributes"] == {"type": "Task"}
    assert body["records"][0]["Connector_Key__c"] == external_key("k0")
    assert [r.key for r in results] == ["k0", "k1", "k2", "k3"]
    assert [r.host_id for r in results] == ["00T5g00000Aa01AAAA", None, None, "00T5g00000Aa04AAAA"]
    assert isinstance(results[1].error, InvalidRequest)
    assert "fields=Priority" in str(results[1].error)
    assert "High" not in str(results[1].error)
    assert isinstance(results[2].error, Unavailable)  # a locked row: try again later


def test_upsert_many_sends_at_most_200_records_a_request() -> None:
    items = [
        BatchItem(Task(key=f"k{i}", rule_id="r", reason="", title="t"), f"k{i}") for i in range(201)
    ]
    ok = {"id": "00T5g00000Aa01AAAA", "success": True, "errors": [], "created": True}
    with strict_mock() as mock:
        token(mock)
        url = f"{API}/composite/sobjects/Task/Connector_Key__c"
        mock.patch(url, json=[ok] * 200)
        mock.patch(url, json=[ok])
        results = make_host().upsert_many(items)
        sizes = [len(sent_json(mock, i)["records"]) for i in (1, 2)]
    assert sizes == [200, 1]
    assert all(r.error is None for r in results)
