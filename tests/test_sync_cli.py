"""`mentor-connector sync`, the host checks of `check-config`/`check-connection`, and the
scheduler's sync interval.

Specifications, each on SQLite and PostgreSQL:
- `sync` prints one line per stream (records, requests, stopped by budget) and exits 1 when
  a stream failed; `--stream` and `--full` narrow and widen the read; `--host` must name
  the configured host; the `local` host has nothing to sync;
- `check-config` reports every problem of the host's field mapping;
- `check-connection` reports the host's stable code, and how far each stream has been read;
- the scheduler syncs once per `sync_interval_minutes` across processes, and not at all
  when the interval is 0.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from adapters.base import StreamMapping
from connector.cli_sync import mapping_problems
from connector.clock import FrozenClock, SystemClock
from connector.scheduler import Scheduler
from connector.settings import Settings
from connector.store.db import Store
from connector.store.models import JobRun, Person
from tests.fakes.host import FakeHost
from tests.support import make_settings
from tests.test_cli import cli, write_config


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeHost:
    """The host the command line builds, whatever the settings say."""
    host = FakeHost(SystemClock(), synced=("people", "pairings"))
    monkeypatch.setattr("connector.cli_sync.build_host", lambda *_: host)
    return host


def people(host: FakeHost, n: int) -> None:
    for i in range(n):
        host.put("people", f"C{i}", role="mentee", name=f"Person {i}")


def test_sync_prints_each_stream_and_reads_from_the_cursor_next_time(
    tmp_path: Path, database_url: str, store: Store, fake: FakeHost
) -> None:
    config = write_config(tmp_path / "c.toml", database_url)
    people(fake, 3)
    first = cli(config, "sync")
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == [
        "people    full        records=3 requests=2 deferred=0 events=0 stopped_by_budget=no",
        "pairings  full        records=0 requests=1 deferred=0 events=0 stopped_by_budget=no",
    ]
    again = cli(config, "sync", "--stream", "people")
    assert again.output.startswith("people    incremental records=3")  # within the lookback
    full = cli(config, "sync", "--full", "--stream", "pairings")
    assert full.output.splitlines() == [
        "pairings  full        records=0 requests=1 deferred=0 events=0 stopped_by_budget=no"
    ]
    with store.session() as session:
        assert len(session.scalars(select(Person)).all()) == 3


def test_sync_reports_a_spent_budget_and_a_failed_stream(
    tmp_path: Path, database_url: str, fake: FakeHost
) -> None:
    config = write_config(tmp_path / "c.toml", database_url, "[host]\nrequest_budget = 1\n")
    people(fake, 5)
    result = cli(config, "sync")
    assert result.exit_code == 0
    assert "records=2 requests=1 deferred=0 events=0 stopped_by_budget=yes" in result.output

    fake.loop_after_pages = 2
    failed = cli(write_config(tmp_path / "d.toml", database_url), "sync", "--full")
    assert failed.exit_code == 1
    assert "error=PagingLoop: fakecrm people: the host repeated page token" in failed.output


def test_sync_refuses_another_host_and_the_local_host_has_nothing_to_sync(
    tmp_path: Path, database_url: str, store: Store
) -> None:
    config = write_config(tmp_path / "c.toml", database_url)
    other = cli(config, "sync", "--host", "salesforce")
    assert other.exit_code == 1
    assert "the configured host is 'local', not 'salesforce'" in other.output
    local = cli(config, "sync")
    assert (local.exit_code, local.output) == (0, "local: no streams to sync\n")


def test_check_connection_reports_the_code_and_each_streams_cursor(
    tmp_path: Path, database_url: str, fake: FakeHost
) -> None:
    config = write_config(tmp_path / "c.toml", database_url)
    people(fake, 1)
    cli(config, "sync", "--stream", "people")
    result = cli(config, "check-connection")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "local: ok in memory"
    assert lines[1].startswith("fakecrm: stream people (people) read up to 20")
    assert lines[2] == "fakecrm: stream pairings (pairings) not synced yet"


def test_check_config_reports_every_mapping_problem(database_url: str) -> None:
    bad = {
        "people": StreamMapping("Contact", {"name": "Name", "shoe_size": "Shoe__c"}),
        "pairings": StreamMapping(
            "Pairing__c",
            {"mentor": "Mentor__c", "mentee": "Mentee__c", "status": "Status__c"},
            values={"status": {"Live": "running"}},
        ),
    }
    settings = make_settings(database_url)
    host = dataclasses.replace(settings.host, options=SimpleNamespace(streams=bad))
    problems = mapping_problems(dataclasses.replace(settings, host=host))
    assert problems == [
        "host.local.streams.people.fields.role: required",
        "host.local.streams.people.fields.shoe_size: not a domain field of people",
        "host.local.streams.pairings.values.status: 'Live' maps to 'running', not one of "
        "['active', 'closed', 'closing', 'proposed']",
    ]
    assert mapping_problems(settings) == []


# --------------------------------------------------------------------------- scheduler


def interval_settings(database_url: str, minutes: int) -> Settings:
    return make_settings(database_url, host={"sync_interval_minutes": minutes})


def sync_runs(store: Store) -> list[tuple[str, Any]]:
    with store.session() as session:
        rows = session.scalars(select(JobRun).where(JobRun.job == "host-sync").order_by(JobRun.id))
        return [(r.period, r.detail) for r in rows]


def test_the_scheduler_syncs_once_per_interval_across_processes(
    store: Store, database_url: str, clock: FrozenClock
) -> None:
    host = FakeHost(clock, synced=("people",))
    people(host, 1)
    settings = interval_settings(database_url, 15)
    first, other = Scheduler(store, settings, clock, host), Scheduler(store, settings, clock, host)
    clock.advance(minutes=1)

    assert first.sync_tick() is True
    assert first.sync_tick() is False and other.sync_tick() is False
    clock.advance(minutes=14)
    assert other.sync_tick() is True
    assert first.sync_tick() is False
    clock.advance(minutes=15)
    first.tick()  # the background loop's tick syncs too
    runs = sync_runs(store)
    assert len(runs) == 3 and len({period for period, _ in runs}) == 3
    assert runs[0][1]["people"]["records"] == 1
    assert [read[1] is None for read in host.reads] == [True, False, False]


def test_an_interval_of_zero_never_syncs(
    store: Store, database_url: str, clock: FrozenClock
) -> None:
    host = FakeHost(clock)
    scheduler = Scheduler(store, interval_settings(database_url, 0), clock, host)
    assert scheduler.sync_tick() is False
    assert host.reads == [] and sync_runs(store) == []
