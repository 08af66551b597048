"""Sync into the pipeline: host changes -> events -> runner -> rules -> outbox -> host.

Specifications, each on SQLite and PostgreSQL:
- a mentor suspended in the host reaches the suspension rule, whose alert is written back;
- a pairing made active in the host with an unvetted mentor stands, and the vetting gate's
  refusal becomes an alert for staff (once, however often the record is read);
- a host webhook (`HostChanged`) becomes one `HostSync`, which reads the named records back
  through the same apply path; a repeated delivery syncs once.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connector.clock import FrozenClock
from connector.domain import HostChanged
from connector.host_sync import sync_after_change
from connector.inbox import Inbox
from connector.outbox import Outbox
from connector.runner import Runner
from connector.settings import Settings
from connector.store.db import Store
from connector.store.models import OutboxItem, Pairing, Person
from connector.sync import Syncer
from tests.fakes.host import FakeHost
from tests.test_sync import VETTED, by_ref, program


@pytest.fixture
def host(clock: FrozenClock) -> FakeHost:
    return FakeHost(clock)


@pytest.fixture
def syncer(store: Store, settings: Settings, host: FakeHost, clock: FrozenClock) -> Syncer:
    return Syncer(store, settings, host, clock)


def drain(store: Store, settings: Settings, host: FakeHost, clock: FrozenClock) -> None:
    runner = Runner(store, settings, clock, follow_up=sync_after_change(host))
    outbox = Outbox(store, settings, host, clock)
    for _ in range(20):
        if not runner.run_once() + outbox.run_once():
            return
    raise AssertionError("the pipeline did not settle in 20 rounds")


def outbox_keys(store: Store) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(OutboxItem.key).order_by(OutboxItem.id)))


def test_a_mentor_suspended_in_the_host_reaches_the_suspension_rule(
    store: Store, settings: Settings, syncer: Syncer, host: FakeHost, clock: FrozenClock
) -> None:
    program(host, clock)
    syncer.run()
    drain(store, settings, host, clock)
    clock.advance(hours=1)
    host.put("people", "C1", status="suspended")
    syncer.run()
    drain(store, settings, host, clock)

    mentor, pairing = by_ref(store, Person, "C1"), by_ref(store, Pairing, "P1")
    key = f"suspension:pairing:{pairing.id}:person:{mentor.id}"
    assert key in outbox_keys(store)
    kind, alert = host.written[key]
    assert kind == "alert" and "suspended" in alert.title


def test_an_unvetted_mentor_activated_in_the_host_stands_and_raises_the_gate_alert(
    store: Store, settings: Settings, syncer: Syncer, host: FakeHost, clock: FrozenClock
) -> None:
    program(host, clock, vetted=False)
    syncer.run()
    clock.advance(minutes=2)
    syncer.run()  # the pairing is read again within the lookback
    drain(store, settings, host, clock)

    pairing = by_ref(store, Pairing, "P1")
    assert pairing.status == "active"  # the host keeps the program's records
    gate_alerts = [k for k in outbox_keys(store) if "-transition:" in k]
    changed = host.records["pairings"]["P1"].modified_at
    stamp = f"{changed:%Y%m%dT%H%M%S}"
    expected = f"vetting-gate:fakecrm-transition:pairing:{pairing.id}:active:{stamp}"
    assert gate_alerts == [expected]
    kind, alert = host.written[gate_alerts[0]]
    assert kind == "alert" and alert.rule_id == "vetting-gate"
    assert "cannot be in an active pairing yet" in alert.reason
    assert f"P{pairing.id}" in alert.title


def test_a_host_webhook_reads_the_named_records_back_once(
    store: Store, settings: Settings, syncer: Syncer, host: FakeHost, clock: FrozenClock
) -> None:
    program(host, clock)
    syncer.run()
    drain(store, settings, host, clock)
    host.put("people", "C2", status="suspended", **VETTED)
    change = HostChanged(host="fakecrm", stream="people", external_ids=("C2",), delivery="d-1")
    inbox = Inbox(store, clock)
    assert inbox.accept("fakecrm", "d-1", "host.changed", {}, [change]) is True
    assert inbox.accept("fakecrm", "d-1", "host.changed", {}, [change]) is False
    drain(store, settings, host, clock)

    assert host.targeted == [("people", ("C2",))]
    assert by_ref(store, Person, "C2").status == "suspended"
    assert "host-sync:fakecrm:people:d-1" in outbox_keys(store)
    with store.session() as session:
        sync = session.scalars(select(OutboxItem).where(OutboxItem.kind == "host-sync")).one()
        assert sync.status == "done"
    mentee, pairing = by_ref(store, Person, "C2"), by_ref(store, Pairing, "P1")
    assert f"suspension:pairing:{pairing.id}:person:{mentee.id}" in host.written


def test_a_webhook_of_a_stream_the_host_does_not_sync_is_logged_and_left(
    store: Store, settings: Settings, host: FakeHost, clock: FrozenClock
) -> None:
    host.synced = ("people",)
    change = HostChanged(host="fakecrm", stream="sessions", external_ids=("S1",), delivery="d")
    Inbox(store, clock).accept("fakecrm", "d", "host.changed", {}, [change])
    drain(store, settings, host, clock)
    assert outbox_keys(store) == [] and host.targeted == []
