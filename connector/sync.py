"""Syncing the program's records from its host (CRM/LMS) into the store.

A run reads each configured stream in `STREAMS` order (people before the pairings that name
them, pairings before their sessions) for the changes in (`cursor - lookback`, run start]:
a first run, or `--full`, reads everything. Pages are read lazily and each is applied in its
own transaction (`connector.sync_apply`), so memory stays flat whatever the host's size.

The cursor (`sync_cursors`, one per host and stream) moves to the newest change applied,
never past the run's start: a record changed while the run reads is picked up by the next.
It is written when a stream's read ends cleanly or its request budget is spent, never after
an error, so a failed read (a paging loop, a refused token) is read again whole next time;
applying is idempotent, and event ids are per record version, so nothing is done twice.

Every page's API requests count against `[host] request_budget`. A run that spends it
stops after the page it is on, records that in `sync_runs`, and the next run goes on from
the cursor. Records that cannot be applied yet are kept in `sync_deferred` and read again
(`read_records`) at the end of later runs of their stream.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from adapters.base import STREAMS, HostRecord, HostSystem, Page
from connector.clock import Clock
from connector.errors import AdapterError
from connector.settings import Settings
from connector.staff_alerts import raise_staff_alert
from connector.state import insert_ignore
from connector.store.db import Store
from connector.store.models import SyncDeferred
from connector.sync_apply import Deferred, PageState, apply_person_record
from connector.sync_bulk import apply_people_in_bulk
from connector.sync_bulk_pairings import apply_pairings_in_bulk
from connector.sync_pairings import apply_pairing_record, apply_session_record, load_pairings
from connector.sync_runs import Budget, RunLog, StreamReport

log = logging.getLogger("connector.sync")
RETRY_BATCH = 200  # deferred records read back per stream and run


def _prefetch_people(state: PageState, records: Sequence[HostRecord]) -> None:
    state.load_people([r.external_id for r in records] + [r.merged_into for r in records])


def _prefetch_pairings(state: PageState, records: Sequence[HostRecord]) -> None:
    load_pairings(state, [r.external_id for r in records] + [r.merged_into for r in records])
    parties = [r.values.get(p) for r in records for p in ("mentor", "mentee")]
    state.load_people(parties)


def _prefetch_sessions(state: PageState, records: Sequence[HostRecord]) -> None:
    load_pairings(state, [r.values.get("pairing") for r in records])


Applier = Callable[[PageState, HostRecord], None]
Prefetch = Callable[[PageState, Sequence[HostRecord]], None]
# One line per stream: look up a page's rows at once, then apply each record.
APPLIERS: dict[str, tuple[Prefetch, Applier]] = {
    "people": (_prefetch_people, apply_person_record),
    "pairings": (_prefetch_pairings, apply_pairing_record),
    "sessions": (_prefetch_sessions, apply_session_record),
}

# Streams whose plain records are written in bulk (`connector.sync_bulk`) before the rest.
BULK: dict[str, Callable[[PageState, Sequence[HostRecord]], list[HostRecord]]] = {
    "people": apply_people_in_bulk,
    "pairings": apply_pairings_in_bulk,
}


class Syncer:
    """Reads the host's streams into the store; one object per process is enough."""

    def __init__(self, store: Store, settings: Settings, host: HostSystem, clock: Clock) -> None:
        self._store = store
        self._settings = settings
        self._host = host
        self._clock = clock
        self._runs = RunLog(store, host.name, clock)

    def run(self, *, full: bool = False, streams: Iterable[str] = ()) -> list[StreamReport]:
        """One run over the configured streams (or only `streams`), in `STREAMS` order."""
        until = self._clock.now()
        budget = Budget(self._settings.host.request_budget)
        only = set(streams)
        reports: list[StreamReport] = []
        for stream in STREAMS:
            if stream not in self._host.streams() or (only and stream not in only):
                continue
            report = self._read_stream(stream, full, until, budget)
            reports.append(report)
            if report.error or report.stopped_by_budget:
                break  # the next run goes on from each stream's cursor
        return reports

    def targeted(self, stream: str, external_ids: Sequence[str]) -> StreamReport:
        """Read named records back (after a webhook) through the same apply path."""
        report = StreamReport(stream, "targeted")
        run_id = self._runs.open(report, None, None)
        try:
            pages = self._host.read_records(stream, external_ids)
            self._apply_pages(stream, pages, report, Budget(self._settings.host.request_budget))
        except Exception as exc:  # reported on the run and raised for the outbox to retry
            self._runs.close(run_id, report, exc)
            raise
        self._runs.close(run_id, report, None)
        return report

    def _read_stream(
        self, stream: str, full: bool, until: datetime, budget: Budget
    ) -> StreamReport:
        cursor = None if full else self._runs.cursor(stream)
        lookback = timedelta(minutes=self._settings.host.lookback_minutes)
        since = None if cursor is None else cursor - lookback
        report = StreamReport(stream, "incremental" if since else "full", cursor=cursor)
        run_id = self._runs.open(report, since, until)
        try:
            pages = self._host.read_changes(stream, since, until)
            newest = self._apply_pages(stream, pages, report, budget)
            if not report.stopped_by_budget:
                self._retry_deferred(stream, report, budget, until)
        except Exception as exc:  # the cursor stays; the next run reads this again
            log.error(
                "sync %s %s failed after %d records: %s",
                self._host.name,
                stream,
                report.records,
                type(exc).__name__,
            )
            if isinstance(exc, AdapterError) and exc.alert_staff:  # e.g. a spent daily limit
                raise_staff_alert(self._store, self._settings, self._clock, self._host.name, exc)
            self._runs.close(run_id, report, exc)
            return report
        if newest is not None:
            report.cursor = min(max(newest, cursor or newest), until)  # never past the start
            self._runs.save_cursor(stream, report.cursor)
        self._runs.close(run_id, report, None)
        return report

    def _apply_pages(
        self, stream: str, pages: Iterable[Page], report: StreamReport, budget: Budget
    ) -> datetime | None:
        """Apply pages until they end or the budget is spent; the newest change applied."""
        newest: datetime | None = None
        for page in pages:
            report.requests += page.requests
            budget.spend(page.requests)
            changed = self.apply_page(stream, page.records, report)
            if changed is not None:
                newest = changed if newest is None else max(newest, changed)
            if budget.spent:
                report.stopped_by_budget = True
                log.warning(
                    "sync %s %s stopped: request budget spent after %d requests",
                    self._host.name,
                    stream,
                    report.requests,
                )
                break
        close = getattr(pages, "close", None)
        if close is not None:  # let a generator release its HTTP session now
            close()
        return newest

    def apply_page(
        self, stream: str, records: Sequence[HostRecord], report: StreamReport
    ) -> datetime | None:
        """Apply one page in one transaction; the newest modification time in it."""
        if not records:
            return None
        prefetch, apply = APPLIERS[stream]
        now = self._clock.now()
        host = self._host.name
        with self._store.session() as session:
            state = PageState(session, host, self._settings, now)
            prefetch(state, records)
            one_by_one = self._apply_in_bulk(stream, state, records)
            left = {id(r) for r in one_by_one}
            done = [r.external_id for r in records if id(r) not in left]
            waiting: list[tuple[str, str]] = []
            for record in one_by_one:
                try:
                    with session.begin_nested():
                        apply(state, record)
                    done.append(record.external_id)
                except Deferred as exc:
                    waiting.append((record.external_id, str(exc)))
                except Exception as exc:  # one bad record must not stop the stream for good
                    # The type only: a database error's text can quote personal data.
                    waiting.append((record.external_id, f"could not apply: {type(exc).__name__}"))
            _settle_deferred(session, host, stream, done, waiting, now)
        report.records += len(done)
        report.deferred += len(waiting)
        report.events += state.events
        for external_id, reason in waiting:
            log.warning("sync %s %s %s deferred: %s", host, stream, external_id, reason)
        return max(r.modified_at for r in records)

    def _apply_in_bulk(
        self, stream: str, state: PageState, records: Sequence[HostRecord]
    ) -> Sequence[HostRecord]:
        """Write the page's plain records in bulk; the records left to apply one by one.

        When the bulk write fails (a row written meanwhile by another process, say), it is
        undone and the whole page goes one by one, so a bad record still defers only itself.
        """
        bulk = BULK.get(stream)
        if bulk is None:
            return records
        events = state.events
        try:
            with state.session.begin_nested():
                return bulk(state, records)
        except Exception as exc:
            log.warning(
                "sync %s %s: bulk apply failed (%s); applying the page one by one",
                self._host.name,
                stream,
                type(exc).__name__,
            )
            state.events = events
            state.people.clear()
            state.pairings.clear()
            APPLIERS[stream][0](state, records)
            return records

    def _retry_deferred(
        self, stream: str, report: StreamReport, budget: Budget, until: datetime
    ) -> None:
        """Read back records deferred by earlier runs: what they named may be here now."""
        with self._store.session() as session:
            ids = list(
                session.scalars(
                    select(SyncDeferred.external_id)
                    .where(
                        SyncDeferred.host == self._host.name,
                        SyncDeferred.stream == stream,
                        SyncDeferred.last_seen_at < until,
                    )
                    .order_by(SyncDeferred.id)
                    .limit(RETRY_BATCH)
                )
            )
        if ids and not budget.spent:
            self._apply_pages(stream, self._host.read_records(stream, ids), report, budget)


def _settle_deferred(
    session: Session,
    host: str,
    stream: str,
    done: list[str],
    waiting: list[tuple[str, str]],
    now: datetime,
) -> None:
    """Forget deferred records that applied now; remember (again) those still waiting."""
    where = (SyncDeferred.host == host, SyncDeferred.stream == stream)
    if done:
        session.execute(delete(SyncDeferred).where(*where, SyncDeferred.external_id.in_(done)))
    for external_id, reason in waiting:
        key = {"host": host, "stream": stream, "external_id": external_id}
        row = key | {"reason": reason, "first_seen_at": now, "last_seen_at": now}
        insert_ignore(session, SyncDeferred, row, tuple(key))
        session.execute(
            update(SyncDeferred)
            .where(*where, SyncDeferred.external_id == external_id)
            .values(reason=reason, last_seen_at=now)
        )
