"""The in-process scheduler: the daily checks at the configured hour, once per day per program,
and an incremental host sync every `[host] sync_interval_minutes`.

Every process may call `tick()`; the unique (job, period) row in `job_runs` lets exactly one
of them run a day's checks, or one interval's sync, and a process started late catches up.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update

from adapters.base import HostSystem
from connector.checks import run_checks
from connector.clock import Clock
from connector.settings import Settings
from connector.state import insert_ignore
from connector.store.db import Store
from connector.store.models import JobRun
from connector.subscriptions import queue_renewals
from rules.calendar import local_date

log = logging.getLogger("connector.scheduler")
CHECKS = "run-checks"
SYNC = "host-sync"


class Scheduler:
    def __init__(
        self, store: Store, settings: Settings, clock: Clock, host: HostSystem | None = None
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._host = host
        self._settled: str | None = None  # the last period this process saw claimed
        teams = settings.teams
        self._renewals = bool(teams.tenant_id and teams.client_id and teams.client_secret)
        self._renewals_looked: datetime | None = None
        self._synced: str | None = None  # the same, for the sync interval

    def tick(self) -> bool:
        """Run today's checks if they are due and nobody ran them yet; True when this did.

        The host sync of the current interval runs first when it is due (see `sync_tick`);
        every `[video.teams] renew_check_minutes`, renewals of the Graph subscriptions about
        to expire are queued (a separate job with its own period).
        """
        if not self._settings.scheduler.enabled:
            return False
        self.sync_tick()
        self._renew_subscriptions(self._clock.now())
        return self._checks_tick()

    def sync_tick(self) -> bool:
        """Sync the host once per `sync_interval_minutes` across processes; True when this did.

        The period is the interval's number since the epoch, so every process agrees on it
        and one of them claims it; a run that overruns its interval makes the next one wait.
        """
        minutes = self._settings.host.sync_interval_minutes
        if self._host is None or not minutes or not self._host.streams():
            return False
        now = self._clock.now()
        period = f"{self._host.name}:{int(now.timestamp()) // (minutes * 60)}"
        if period == self._synced:
            return False
        claimed = self._claim(SYNC, period, now)
        self._synced = period
        if claimed is None:
            return False
        from connector.sync import Syncer  # the sync engine is only needed with a host

        reports = Syncer(self._store, self._settings, self._host, self._clock).run()
        self._finish(claimed, {r.stream: _summary(r) for r in reports})
        return True

    def _claim(self, job: str, period: str, now: datetime) -> int | None:
        with self._store.session() as session:
            return insert_ignore(
                session,
                JobRun,
                {"job": job, "period": period, "started_at": now, "detail": {}},
                ("job", "period"),
            )

    def _finish(self, claimed: int, detail: dict[str, Any]) -> None:
        with self._store.session() as session:
            session.execute(
                update(JobRun)
                .where(JobRun.id == claimed)
                .values(finished_at=self._clock.now(), detail=detail)
            )

    def _checks_tick(self) -> bool:
        now = self._clock.now()
        zone = self._settings.connector.timezone
        if _local_hour(now, zone) < self._settings.scheduler.checks_at_hour:
            return False
        period = local_date(now, zone).isoformat()
        if period == self._settled:  # keep the once-a-poll tick free of database writes
            return False
        claimed = self._claim(CHECKS, period, now)
        self._settled = period
        if claimed is None:
            return False
        written = run_checks(self._store, self._settings, now)
        self._finish(claimed, {"new_decisions": written})
        log.info("daily checks ran period=%s new=%s", period, sum(written.values()))
        return True

    def _renew_subscriptions(self, now: datetime) -> None:
        step = timedelta(minutes=self._settings.teams.renew_check_minutes)
        if not self._renewals or (
            self._renewals_looked is not None and now - self._renewals_looked < step
        ):
            return  # keep the once-a-poll tick free of database writes
        self._renewals_looked = now
        queue_renewals(self._store, self._settings, now)


def _summary(report: Any) -> dict[str, Any]:
    return {
        "records": report.records,
        "requests": report.requests,
        "stopped_by_budget": report.stopped_by_budget,
        "error": report.error,
    }


def _local_hour(at: datetime, timezone: str) -> int:
    return at.astimezone(ZoneInfo(timezone)).hour
