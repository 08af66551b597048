"""The in-process scheduler: the daily checks at the configured hour, once per day per program.

Every process may call `tick()`; the unique (job, period) row in `job_runs` lets exactly one
of them run a day's checks, and a process started late in the day catches up at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

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


class Scheduler:
    def __init__(self, store: Store, settings: Settings, clock: Clock) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._settled: str | None = None  # the last period this process saw claimed
        teams = settings.teams
        self._renewals = bool(teams.tenant_id and teams.client_id and teams.client_secret)
        self._renewals_looked: datetime | None = None

    def tick(self) -> bool:
        """Run today's checks if they are due and nobody ran them yet; True when this did.

        Also, every `[video.teams] renew_check_minutes`, queue renewals of the Graph
        subscriptions about to expire (a separate job with its own period).
        """
        if not self._settings.scheduler.enabled:
            return False
        now = self._clock.now()
        self._renew_subscriptions(now)
        zone = self._settings.connector.timezone
        if _local_hour(now, zone) < self._settings.scheduler.checks_at_hour:
            return False
        period = local_date(now, zone).isoformat()
        if period == self._settled:  # keep the once-a-poll tick free of database writes
            return False
        with self._store.session() as session:
            claimed = insert_ignore(
                session,
                JobRun,
                {"job": CHECKS, "period": period, "started_at": now, "detail": {}},
                ("job", "period"),
            )
        self._settled = period
        if claimed is None:
            return False
        written = run_checks(self._store, self._settings, now)
        with self._store.session() as session:
            session.execute(
                update(JobRun)
                .where(JobRun.id == claimed)
                .values(finished_at=self._clock.now(), detail={"new_decisions": written})
            )
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


def _local_hour(at: datetime, timezone: str) -> int:
    return at.astimezone(ZoneInfo(timezone)).hour
