"""The sync engine (`connector.sync`) against an in-memory host, on SQLite and PostgreSQL.

Specifications:
- a first run reads everything; records become people, pairings and held sessions matched
  on the host's ids, and every real change queues its domain event once;
- later runs read from the cursor minus the lookback; what is read again queues nothing;
- the cursor moves to the newest change applied and never past the run's start;
- a run stops cleanly when its request budget is spent and the next run goes on from there;
- a paging loop is a clear error on the run, and the cursor stays where it was;
- a record naming a person not synced yet is deferred, and applied by a later run;
- deletions remove people and close pairings; merges re-point to the survivor;
- the host is the system of record: a gate's refusal of a host change becomes an alert.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from connector.clock import FrozenClock
from connector.settings import Settings
from connector.store.db import Store
from connector.store.models import (
    InboxEvent,
    Meeting,
    Pairing,
    Person,
    SyncCursor,
    SyncDeferred,
    SyncRun,
)
from connector.sync import Syncer
from tests.fakes.host import FakeHost
from tests.support import VETTING_STEPS, make_settings

VETTED = {f"vetting.{step}.status": "passed" for step in VETTING_STEPS}


@pytest.fixture
def host(clock: FrozenClock) -> FakeHost:
    return FakeHost(clock)


@pytest.fixture
def sync_settings(database_url: str) -> Settings:
    return make_settings(database_url, host={"lookback_minutes": 10, "request_budget": 50})


@pytest.fixture
def syncer(store: Store, sync_settings: Settings, host: FakeHost, clock: FrozenClock) -> Syncer:
    return Syncer(store, sync_settings, host, clock)


def program(host: FakeHost, clock: FrozenClock, *, vetted: bool = True) -> None:
    """A mentor, a mentee, their active pairing and one held session, a minute apart."""
    host.put("people", "C1", role="mentor", name="Maya", email="maya@example.org",
             status="active", **(VETTED if vetted else {}))  # fmt: skip
    clock.advance(minutes=1)
    host.put("people", "C2", role="mentee", name="Eli", email="eli@example.org", status="active")
    clock.advance(minutes=1)
    host.put("pairings", "P1", mentor="C1", mentee="C2", status="active")
    clock.advance(minutes=1)
    start = clock.now() - timedelta(days=1)
    host.put("sessions", "S1", pairing="P1", started_at=start, ended_at=start + timedelta(hours=1))
    clock.advance(minutes=1)


def inbox(store: Store) -> list[tuple[str, str]]:
    with store.session() as session:
        rows = session.execute(
            select(InboxEvent.source, InboxEvent.event_type).order_by(InboxEvent.id)
        )
        return [(r.source, r.event_type) for r in rows]


def by_ref(store: Store, model: Any, ref: str) -> Any:
    with store.session() as session:
        return session.scalars(select(model).where(model.external_ref == ref)).one()


def cursor(store: Store, stream: str) -> Any:
    with store.session() as session:
        return session.scalar(select(SyncCursor.cursor).where(SyncCursor.stream == stream))


def count(store: Store, model: Any) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# --------------------------------------------------------------------------- full and incremental


def test_a_first_run_reads_everything_and_queues_each_change_once(
    store: Store, syncer: Syncer, host: FakeHost, clock: FrozenClock
) -> None:
    program(host, clock)
    reports = syncer.run()

    assert [(r.stream, r.mode, r.records, r.deferred, r.error) for r in reports] == [
        ("people", "full", 2, 0, None),
        ("pairings", "full", 1, 0, None),
        ("sessions", "full", 1, 0, None),
    ]
    assert [read[1] for read in host.reads] == [None, None, None]
    mentor, mentee = by_ref(store, Person, "C1"), by_ref(store, Person, "C2")
    assert (mentor.role, mentor.status, mentor.email) == ("mentor", "active", "maya@example.org")
    pairing = by_ref(store, Pairing, "P1")
    assert (pairing.mentor_id, pairing.mentee_id, pairing.status) == (
        mentor.id,
        mentee.id,
        "active",
    )
    assert pairing.started_on is not None
    with store.session() as session:
        meeting = session.scalars(select(Meeting)).one()
        assert (meeting.pairing_id, meeting.held, meeting.platform) == (
            pairing.id,
            True,
            "in_person",
        )
    assert inbox(store) == [
        ("fakecrm", "person.vetting_changed"),
        ("fakecrm", "pairing.status_changed"),
        ("fakecrm", "session.logged"),
    ]
    assert cursor(store, "people") == host.records["people"]["C2"].modified_at
    assert cursor(store, "sessions") == host.records["sessions"]["S1"].modified_at


def test_later_runs_read_from_the_cursor_minus_the_lookback_and_repeat_nothing(
    store: Store, syncer: Syncer, host: FakeHost, clock: FrozenClock
) -> None:
    program(host, clock)
    syncer.run()
    people_cursor = cursor(store, "people")
    queued = inbox(store)

    clock.advance(minutes=2)
    reports = syncer.run()

    assert host.reads[3][1] == people_cursor - timedelta(minutes=10)
    assert [r.mode for r in reports] == ["incremental"] * 3
    assert sum(r.records for r in reports) == 4  # all within the lookback: read again
    assert inbox(store) == queued  # and nothing new queued


def test_a_real_change_queues_its_event_and_a_status_change_names_both_ends(
    store: Store, syncer: Syncer, host: FakeHost, clock: FrozenClock
) -> None:
    program(host, clock)
    syncer.run()
    before = len(inbox(store))
    clock.advance(minutes=30)
    host.put("people", "C1", status="suspended")
    host.put("pairings", "P1", mentor_consent=True)
    syncer.run()

    assert inbox(store)[before:] == [
        ("fakecrm", "person.status_changed"),
        ("fakecrm", "pairing.consent_changed"),
    ]
    with store.session() as session:
        row = session.scalars(select(InboxEvent).order_by(InboxEvent.id.desc())).first()
        assert row is not None and row.events[0]["party"] == "mentor"
    assert by_ref(store, Pairing, "P1").mentor_recording_consent is True


def test_the_cursor_never_passes_the_runs_start(
    store: Store, syncer: Syncer, host: FakeHost, clock: FrozenClock
) -> None:
    start = clock.now()
    clock.advance(seconds=30)  # a change the host commits while the run reads
    host.put("people", "C9", role="mentee", name="Late")
    clock.set(start)
    host.put("people", "C1", role="mentor", name="Maya")

    syncer.run()
    assert cursor(store, "people") == start
    assert count(store, Person) == 1

    clock.advance(minutes=1)
    syncer.run()
    assert count(store, Person) == 2
    assert cursor(store, "people") == start + timedelta(seconds=30)


# --------------------------------------------------------------------------- budget and errors


def test_a_spent_budget_stops_the_run_cleanly_and_the_next_run_goes_on(
    store: Store, database_url: str, host: FakeHost, clock: FrozenClock
) -> None:
    settings = make_settings(database_url, host={"request_budget": 3, "lookback_minutes": 0})
    syncer = Syncer(store, settings, host, clock)
    host.synced = ("people", "pairings")
    for n in range(7):
        host.put("people", f"C{n}", role="mentor" if n == 0 else "mentee", name=f"P{n}")
        clock.advance(seconds=1)
    host.put("pairings", "P1", mentor="C0", mentee="C1", status="proposed")

    first = syncer.run()
    assert [(r.stream, r.records, r.requests, r.stopped_by_budget) for r in first] == [
        ("people", 6, 3, True)
    ]
    assert host.requests == 3  # the fourth page was never asked for
    assert cursor(store, "people") == host.records["people"]["C5"].modified_at
    with store.session() as session:
        run = session.scalars(select(SyncRun)).one()
        assert (run.stopped_by_budget, run.records, run.requests) == (True, 6, 3)
        assert run.finished_at is not None and run.error is None

    second = syncer.run()
    assert [(r.stream, r.records, r.stopped_by_budget) for r in second] == [
        ("people", 1, False),
        ("pairings", 1, False),
    ]
    assert count(store, Person) == 7 and count(store, Pairing) == 1


def test_a_paging_loop_is_a_clear_error_and_the_cursor_does_not_move(
    store: Store, syncer: Syncer, host: FakeHost, clock: FrozenClock
) -> None:
    for n in range(7):
        host.put("people", f"C{n}", role="mentee", name=f"P{n}")
        clock.advance(seconds=1)
    host.loop_after_pages = 2

    reports = syncer.run()
    assert len(reports) == 1  # the run stops at the failed stream
    assert reports[0].error is not None and reports[0].error.startswith("PagingLoop:")
    assert "repeated page token" in reports[0].error
    assert cursor(store, "people") is None
    with store.session() as session:
        assert session.scalars(select(SyncRun.error)).one() == reports[0].error

    host.loop_after_pages = None
    again = syncer.run()
    assert again[0].mode == "full" and again[0].records == 7 and again[0].error is None
    assert count(store, Person) == 7


# --------------------------------------------------------------------------- references


def test_a_record_naming_an_unknown_person_is_deferred_then_read_back(
    store: Store, database_url: str, host: FakeHost, clock: FrozenClock
) -> None:
    settings = make_settings(database_url, host={"lookback_minutes": 0})
    syncer = Syncer(store, settings, host, clock)
    host.put("people", "C1", role="mentor", name="Maya", **VETTED)
    host.put("pairings", "P1", mentor="C1", mentee="C404", status="proposed")
    reports = syncer.run()

    assert [(r.stream, r.records, r.deferred, r.error) for r in reports[:2]] == [
        ("people", 1, 0, None),
        ("pairings", 0, 1, None),
    ]
    with store.session() as session:
        waiting = session.scalars(select(SyncDeferred)).one()
        assert (waiting.stream, waiting.external_id) == ("pairings", "P1")
        assert waiting.reason == "mentee C404 is not synced yet"
    assert count(store, Pairing) == 0

    clock.advance(hours=2)  # the mentee arrives; the pairing itself does not change
    host.put("people", "C404", role="mentee", name="Eli")
    clock.advance(minutes=1)
    syncer.run()
    assert host.targeted == [("pairings", ("P1",))]  # outside the (empty) lookback: read back
    assert by_ref(store, Pairing, "P1").status == "proposed"
    assert count(store, SyncDeferred) == 0


def test_a_deleted_person_is_removed_and_a_deleted_pairing_closed(
    store: Store, syncer: Syncer, host: FakeHost, clock: FrozenClock
) -> None:
    program(host, clock)
    syncer.run()
    before = len(inbox(store))
    clock.advance(minutes=30)
    host.delete("people", "C2")
    host.delete("pairings", "P1")
    syncer.run()

    assert by_ref(store, Person, "C2").status == "removed"
    pairing = by_ref(store, Pairing, "P1")
    assert (pairing.status, pairing.ended_on is not None) == ("closed", True)
    assert inbox(store)[before:] == [
        ("fakecrm", "person.status_changed"),
        ("fakecrm", "pairing.status_changed"),
    ]


def test_a_merged_person_hands_their_pairings_to_the_survivor(
    store: Store, syncer: Syncer, host: FakeHost, clock: FrozenClock
) -> None:
    program(host, clock)
    host.put("people", "C3", role="mentee", name="Eli B.")
    syncer.run()
    clock.advance(minutes=30)
    host.merge("people", "C2", "C3")
    syncer.run(streams=["people"])  # before the host's re-parented pairing is read

    survivor = by_ref(store, Person, "C3")
    assert by_ref(store, Pairing, "P1").mentee_id == survivor.id
    assert by_ref(store, Person, "C2").status == "removed"
