"""The outbox tells the host which of its records a task or alert is about (`Subject`).

| host syncs           | pairing's refs in the store | item         | subject passed            |
|----------------------|-----------------------------|--------------|---------------------------|
| people and pairings  | pairing, mentor, mentee     | task / alert | all three                 |
| pairings only        | pairing, mentor, mentee     | task         | the pairing only          |
| people and pairings  | pairing, mentor, mentee     | confidential | the pairing only          |
| people and pairings  | none (entered by hand)      | task         | None                      |
| people and pairings  | -                           | no pairing   | None                      |
| nothing (local host) | pairing, mentor, mentee     | task         | None (the local host)     |
"""

from __future__ import annotations

from datetime import datetime

import pytest

from adapters.base import Subject
from connector.clock import FrozenClock
from connector.domain import Alert, Decision, Task
from connector.local_host import LocalHost
from connector.outbox import Outbox
from connector.runner import write_decision
from connector.settings import Settings
from connector.store.db import Store
from connector.store.models import Pairing, Person
from connector.subjects import subject_of
from tests.fakes.host import FakeHost

ALL = ("people", "pairings", "sessions")


def seed(store: Store, now: datetime, *, refs: bool = True) -> int:
    """A pairing whose records came from the host (`external_ref` as the sync writes it)."""
    with store.session() as session:
        mentor = Person(role="mentor", name="Maya", created_at=now, updated_at=now)
        mentee = Person(role="mentee", name="Eli", created_at=now, updated_at=now)
        if refs:
            mentor.external_ref, mentee.external_ref = "C-MENTOR", "C-MENTEE"
        session.add_all([mentor, mentee])
        session.flush()
        pairing = Pairing(
            mentor_id=mentor.id,
            mentee_id=mentee.id,
            status="active",
            external_ref="P-1" if refs else None,
            created_at=now,
            updated_at=now,
        )
        session.add(pairing)
        session.flush()
        return pairing.id


def deliver(
    store: Store, settings: Settings, clock: FrozenClock, host: FakeHost, d: Decision
) -> None:
    with store.session() as session:
        write_decision(session, d, clock.now())
    assert Outbox(store, settings, host, clock).run_once() == 1


def test_a_task_goes_out_with_the_pairing_and_both_parties_refs(
    store: Store, settings: Settings, clock: FrozenClock
) -> None:
    pairing_id = seed(store, clock.now())
    host = FakeHost(clock, synced=ALL)
    task = Task(key="t:1", rule_id="monthly-meeting", reason="r", pairing_id=pairing_id)
    alert = Alert(key="a:1", rule_id="vetting-gate", reason="r", pairing_id=pairing_id)
    deliver(store, settings, clock, host, task)
    deliver(store, settings, clock, host, alert)
    expected = Subject(pairing_ref="P-1", mentor_ref="C-MENTOR", mentee_ref="C-MENTEE")
    assert host.subjects == {"t:1": expected, "a:1": expected}


@pytest.mark.parametrize(
    ("synced", "confidential", "refs", "with_pairing", "expected"),
    [
        (("pairings",), False, True, True, Subject(pairing_ref="P-1")),
        (ALL, True, True, True, Subject(pairing_ref="P-1")),
        (ALL, False, False, True, None),
        (ALL, False, True, False, None),
        (("people",), True, True, True, None),  # a confidential item names no person
    ],
)
def test_only_refs_of_records_this_host_synced_are_passed(
    store: Store,
    settings: Settings,
    clock: FrozenClock,
    synced: tuple[str, ...],
    confidential: bool,
    refs: bool,
    with_pairing: bool,
    expected: Subject | None,
) -> None:
    pairing_id = seed(store, clock.now(), refs=refs)
    host = FakeHost(clock, synced=synced)
    task = Task(
        key="t:1",
        rule_id="concern-report",
        reason="r",
        pairing_id=pairing_id if with_pairing else None,
        confidential=confidential,
    )
    deliver(store, settings, clock, host, task)
    assert host.subjects == {"t:1": expected}


def test_the_local_host_gets_no_subject(store: Store, clock: FrozenClock) -> None:
    pairing_id = seed(store, clock.now())
    task = Task(key="t:1", rule_id="monthly-meeting", reason="r", pairing_id=pairing_id)
    assert subject_of(store, LocalHost(store, clock), task) is None
