"""An error that needs people (`alert_staff`) raises one alert for admins a day.

| where it fails                 | what happens                                              |
|--------------------------------|-----------------------------------------------------------|
| an outbox delivery             | the row retries as usual; one admin alert for host + day  |
| the same day, again            | the row retries; no second alert                          |
| the next day                   | a new alert (keyed on the program's day)                  |
| a scheduled sync run's read    | the run records its error; one admin alert                |
| an error without alert_staff   | retry or dead letter only, no alert                       |
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select

from adapters.base import Page
from adapters.salesforce.client import RequestLimitExceeded
from connector.clock import FrozenClock
from connector.domain import Alert, Task, decision_from_json
from connector.errors import AdapterError, RateLimited
from connector.outbox import Outbox
from connector.runner import write_decision
from connector.scheduler import Scheduler
from connector.settings import Settings
from connector.store.db import Store
from connector.store.models import OutboxItem, SyncRun
from tests.fakes.host import FakeHost


def limit() -> RequestLimitExceeded:
    return RequestLimitExceeded("upsert Task: 403 REQUEST_LIMIT_EXCEEDED", retry_after=60)


class RefusingHost(FakeHost):
    """A host whose every call fails with `error`."""

    error: AdapterError = RateLimited("429")

    def upsert_task(self, task: Task, key: str, subject: object = None) -> str:
        raise self.error

    def read_changes(self, stream: str, since: datetime | None, until: datetime) -> Iterator[Page]:
        yield Page([])  # the first page reads; the next one hits the limit
        raise self.error


def alerts(store: Store) -> list[Alert]:
    with store.session() as session:
        rows = session.scalars(select(OutboxItem).where(OutboxItem.kind == "alert")).all()
        found = [decision_from_json(row.decision) for row in rows]
    return [a for a in found if isinstance(a, Alert)]


def queue_task(store: Store, clock: FrozenClock, key: str = "t:1") -> None:
    with store.session() as session:
        write_decision(session, Task(key=key, rule_id="r", reason="why", title="Do"), clock.now())


def test_a_delivery_over_the_limit_alerts_admins_once_a_day(
    store: Store, settings: Settings, clock: FrozenClock
) -> None:
    host = RefusingHost(clock, name="salesforce")
    host.error = limit()
    queue_task(store, clock)
    queue_task(store, clock, "t:2")
    outbox = Outbox(store, settings, host, clock)
    outbox.run_once(limit=2)  # both tasks fail: one alert

    [alert] = alerts(store)
    assert alert.key == "host-limit:salesforce:2026-11-02"
    assert alert.audience == "admin"
    assert "REQUEST_LIMIT_EXCEEDED" in alert.reason and "API Requests" in alert.reason
    with store.session() as session:
        task = session.scalars(select(OutboxItem).where(OutboxItem.key == "t:1")).one()
    assert task.status == "pending"  # retried after the back-off, as any rate limit

    clock.advance(hours=2)
    outbox.run_once()  # the tasks and the alert itself fail again the same day
    assert len(alerts(store)) == 1

    clock.advance(days=1)
    outbox.run_once()
    assert [a.key for a in alerts(store)] == [
        "host-limit:salesforce:2026-11-02",
        "host-limit:salesforce:2026-11-03",
    ]


def test_an_ordinary_rate_limit_alerts_nobody(
    store: Store, settings: Settings, clock: FrozenClock
) -> None:
    host = RefusingHost(clock, name="hubspot")
    queue_task(store, clock)
    Outbox(store, settings, host, clock).run_once()
    assert alerts(store) == []


def test_a_sync_run_over_the_limit_alerts_admins(
    store: Store, settings: Settings, clock: FrozenClock
) -> None:
    host = RefusingHost(clock, name="salesforce", synced=("people",))
    host.error = limit()
    assert Scheduler(store, settings, clock, host).sync_tick()

    with store.session() as session:
        run = session.scalars(select(SyncRun)).one()
    assert run.error is not None and run.error.startswith("RequestLimitExceeded")
    assert [a.key for a in alerts(store)] == ["host-limit:salesforce:2026-11-02"]
