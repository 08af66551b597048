"""The bookkeeping of sync runs: a cursor per host stream, a `sync_runs` row per read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from connector.clock import Clock
from connector.state import insert_ignore
from connector.store.db import Store
from connector.store.models import SyncCursor, SyncRun


@dataclass
class StreamReport:
    """What one read of one stream did; also kept as a `sync_runs` row."""

    stream: str
    mode: str  # full | incremental | targeted
    records: int = 0
    requests: int = 0
    deferred: int = 0
    events: int = 0
    stopped_by_budget: bool = False
    error: str | None = None
    cursor: datetime | None = None


class Budget:
    """The API requests one run may still spend (`[host] request_budget`)."""

    def __init__(self, total: int) -> None:
        self.left = total

    def spend(self, requests: int) -> None:
        self.left -= requests

    @property
    def spent(self) -> bool:
        return self.left <= 0


class RunLog:
    """Reads and writes one host's cursors and run rows, each in its own short transaction."""

    def __init__(self, store: Store, host: str, clock: Clock) -> None:
        self._store = store
        self._host = host
        self._clock = clock

    def cursor(self, stream: str) -> datetime | None:
        with self._store.session() as session:
            return session.scalar(
                select(SyncCursor.cursor).where(
                    SyncCursor.host == self._host, SyncCursor.stream == stream
                )
            )

    def save_cursor(self, stream: str, cursor: datetime) -> None:
        now = self._clock.now()
        key = {"host": self._host, "stream": stream}
        with self._store.session() as session:
            insert_ignore(
                session, SyncCursor, key | {"cursor": cursor, "updated_at": now}, tuple(key)
            )
            session.execute(
                update(SyncCursor)
                .where(SyncCursor.host == key["host"], SyncCursor.stream == stream)
                .values(cursor=cursor, updated_at=now)
            )

    def open(self, report: StreamReport, since: datetime | None, until: datetime | None) -> int:
        with self._store.session() as session:
            run = SyncRun(
                host=self._host,
                stream=report.stream,
                mode=report.mode,
                started_at=self._clock.now(),
                since=since,
                until=until,
                records=0,
                requests=0,
                deferred=0,
                stopped_by_budget=False,
            )
            session.add(run)
            session.flush()
            return run.id

    def close(self, run_id: int, report: StreamReport, exc: Exception | None) -> None:
        if exc is not None:
            report.error = f"{type(exc).__name__}: {exc}"[:2000]
        with self._store.session() as session:
            session.execute(
                update(SyncRun)
                .where(SyncRun.id == run_id)
                .values(
                    finished_at=self._clock.now(),
                    records=report.records,
                    requests=report.requests,
                    deferred=report.deferred,
                    stopped_by_budget=report.stopped_by_budget,
                    error=report.error,
                )
            )
