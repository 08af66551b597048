"""Batched write-back: a host with `upsert_many` (a `BatchWriter`) gets the leased tasks and
alerts in one call, and each outbox row is settled from its own result.

| rows leased                       | host calls                    | rows after                |
|-----------------------------------|-------------------------------|---------------------------|
| 3 tasks/alerts, Salesforce        | one composite upsert          | all done                  |
| 3, one answers UNABLE_TO_LOCK_ROW | one composite, then one retry | 2 done, the third retried |
| 3, one answers a picklist error   | one composite                 | 2 done, the third dead    |
| 3, local host (no batching)       | upsert_task/alert each        | all done                  |
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from adapters.base import BatchWriter
from adapters.salesforce import external_key
from connector.clock import FrozenClock
from connector.domain import Alert, Decision, Task
from connector.local_host import LocalHost
from connector.outbox import Outbox
from connector.runner import write_decision
from connector.settings import Settings
from connector.store.db import Store
from connector.store.models import OutboxItem
from tests.adapters.salesforce.sf_helpers import API, make_host, strict_mock, token

COMPOSITE = f"{API}/composite/sobjects/Task/Connector_Key__c"
DECISIONS: list[Decision] = [
    Task(key="t:1", rule_id="monthly-meeting", reason="why", title="Book a meeting"),
    Alert(key="a:2", rule_id="vetting-gate", reason="why", title="Unvetted mentor"),
    Task(key="t:3", rule_id="staff-check-in", reason="why", title="Check in"),
]


def ok(n: int) -> dict[str, Any]:
    return {"id": f"00T5g00000Aa0{n}AAAA", "success": True, "errors": [], "created": True}


def failed(code: str) -> dict[str, Any]:
    return {"success": False, "errors": [{"statusCode": code, "message": "x", "fields": []}]}


def queue(store: Store, clock: FrozenClock) -> None:
    with store.session() as session:
        for decision in DECISIONS:
            write_decision(session, decision, clock.now())


def statuses(store: Store) -> dict[str, tuple[str, int]]:
    with store.session() as session:
        rows = session.scalars(select(OutboxItem).order_by(OutboxItem.id)).all()
        return {row.key: (row.status, row.attempts) for row in rows}


def sent_keys(call: Any) -> list[str]:
    return [r["Connector_Key__c"] for r in json.loads(call.request.body)["records"]]


def test_three_rows_go_out_in_one_composite_call(
    store: Store, settings: Settings, clock: FrozenClock
) -> None:
    host = make_host()
    assert isinstance(host, BatchWriter)
    queue(store, clock)
    with strict_mock() as mock:
        token(mock)
        mock.patch(COMPOSITE, json=[ok(1), ok(2), ok(3)])
        assert Outbox(store, settings, host, clock).run_once() == 3
        keys = sent_keys(mock.calls[1])
    assert keys == [external_key(d.key) for d in DECISIONS]
    assert statuses(store) == {"t:1": ("done", 1), "a:2": ("done", 1), "t:3": ("done", 1)}


@pytest.mark.parametrize(
    ("code", "third"),
    [
        ("UNABLE_TO_LOCK_ROW", ("pending", 1)),
        ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ("dead", 1)),
    ],
)
def test_a_per_item_error_settles_only_its_row(
    store: Store, settings: Settings, clock: FrozenClock, code: str, third: tuple[str, int]
) -> None:
    host = make_host()
    queue(store, clock)
    outbox = Outbox(store, settings, host, clock)
    with strict_mock() as mock:
        token(mock)
        mock.patch(COMPOSITE, json=[ok(1), ok(2), failed(code)])
        outbox.run_once()
    assert statuses(store) == {"t:1": ("done", 1), "a:2": ("done", 1), "t:3": third}
    if third[0] != "pending":
        return
    clock.advance(minutes=5)  # past the back-off: only the failed row is sent again
    with strict_mock() as mock:
        mock.patch(COMPOSITE, json=[ok(3)])
        assert outbox.run_once() == 1
        assert sent_keys(mock.calls[0]) == [external_key("t:3")]
    assert statuses(store)["t:3"] == ("done", 2)


def test_a_host_without_batches_gets_one_row_at_a_time(
    store: Store, settings: Settings, clock: FrozenClock
) -> None:
    host = LocalHost(store, clock)
    assert not isinstance(host, BatchWriter)
    queue(store, clock)
    assert Outbox(store, settings, host, clock).run_once() == 3
    assert {s for s, _ in statuses(store).values()} == {"done"}
