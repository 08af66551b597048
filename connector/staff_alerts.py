"""Alerts for admins when an external system's error needs people, not only a retry.

An `AdapterError` with `alert_staff` (Salesforce's used-up daily request limit) is retried
like any other, but waiting alone will not fix it: someone has to find what spends the limit
or raise it. The outbox (for deliveries and targeted syncs) and the sync runs of the scheduler
and the CLI (through `watched`) call `raise_staff_alert`, which writes one `Alert` to the
outbox — the normal decision path — keyed per host and program day, so it is raised once a
day however many calls fail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime

from adapters.base import ConnectionCheck, HostSystem, Page, StreamMapping, Subject
from connector.clock import Clock
from connector.domain import Alert, Priority, Task
from connector.errors import AdapterError
from connector.runner import write_decision
from connector.settings import Settings
from connector.store.db import Store
from rules.calendar import local_date

log = logging.getLogger("connector.staff_alerts")
RULE_ID = "host-limit"  # the alert's rule id (plumbing, not a policy rule)


def staff_alert(host: str, exc: AdapterError, day: str) -> Alert:
    """The admins' alert for `exc` on `host` on the program's `day` (ISO date)."""
    return Alert(
        key=f"{RULE_ID}:{host}:{day}",
        rule_id=RULE_ID,
        reason=f"{exc.advice or 'The host refused the connector in a way that needs an admin.'}"
        f"\n\nHost: {host}\nError: {type(exc).__name__}: {exc}",
        title=f"{host}: API limit reached, the connector is waiting",
        priority=Priority.HIGH,
        audience="admin",
    )


def raise_staff_alert(
    store: Store, settings: Settings, clock: Clock, host: str, exc: AdapterError
) -> bool:
    """Queue the day's alert for `exc` unless it is queued already; True when this did."""
    now = clock.now()
    alert = staff_alert(host, exc, local_date(now, settings.connector.timezone).isoformat())
    with store.session() as session:
        new = write_decision(session, alert, now)
    if new:
        log.warning("staff alert raised host=%s error=%s", host, type(exc).__name__)
    return new


class WatchedHost:
    """`host` as a sync run sees it, with `on_error` told of every error that alerts staff.

    The sync engine records a run's error on the run and goes on; this sees the error first,
    also when a page fails while being read (`read_changes` is lazy), and lets it through.
    """

    def __init__(self, host: HostSystem, on_error: Callable[[AdapterError], None]) -> None:
        self._host = host
        self._on_error = on_error
        self.name = host.name

    def check_connection(self) -> ConnectionCheck:
        return self._host.check_connection()

    def streams(self) -> Mapping[str, StreamMapping]:
        return self._host.streams()

    def read_changes(self, stream: str, since: datetime | None, until: datetime) -> Iterator[Page]:
        return self._watch(lambda: self._host.read_changes(stream, since, until))

    def read_records(self, stream: str, external_ids: Sequence[str]) -> Iterator[Page]:
        return self._watch(lambda: self._host.read_records(stream, external_ids))

    def upsert_task(self, task: Task, key: str, subject: Subject | None = None) -> str:
        return self._host.upsert_task(task, key, subject)

    def upsert_alert(self, alert: Alert, key: str, subject: Subject | None = None) -> str:
        return self._host.upsert_alert(alert, key, subject)

    def _watch(self, pages: Callable[[], Iterator[Page]]) -> Iterator[Page]:
        try:
            yield from pages()  # closing this generator closes the host's too
        except AdapterError as exc:
            if exc.alert_staff:
                self._on_error(exc)
            raise


def watched(host: HostSystem, store: Store, settings: Settings, clock: Clock) -> HostSystem:
    """`host` for a sync run: an error that alerts staff raises the day's admin alert."""

    def on_error(exc: AdapterError) -> None:
        raise_staff_alert(store, settings, clock, host.name, exc)

    return WatchedHost(host, on_error)
