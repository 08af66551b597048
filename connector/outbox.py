"""The outbox: each decision carried out once, retried with backoff, then dead-lettered.

Rows are claimed with a lease (`status = 'delivering'`, `lease_until`), so the HTTP call to a
host happens outside any database transaction. A process that dies mid-delivery leaves the
lease to expire and the row is delivered again; hosts upsert on the decision key, so the
second delivery changes nothing.

Tasks and alerts are written to the host here (in batches when the host can); every other
decision (recording actions, platform reads, subscriptions, host syncs, notices) is carried
out by `connector.actions`.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from sqlalchemy import and_, or_, select, update

from adapters.base import BatchItem, BatchWriter, HostSystem, VideoPlatform
from connector.actions import Actions
from connector.backoff import next_attempt
from connector.clock import Clock
from connector.domain import Alert, Decision, Task, decision_from_json
from connector.errors import AdapterError, RateLimited
from connector.links import with_form_links
from connector.notify import queue_notices
from connector.settings import Settings
from connector.staff_alerts import raise_staff_alert
from connector.store.db import Store
from connector.store.models import OutboxItem
from connector.subjects import subject_of

log = logging.getLogger("connector.outbox")


class Outbox:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        host: HostSystem,
        clock: Clock,
        platforms: Mapping[str, VideoPlatform] | None = None,
    ) -> None:
        self._store = store
        self._settings = settings.outbox
        self._all_settings = settings  # the form links need [connector] and [forms]
        self._host = host
        self._clock = clock
        self._actions = Actions(store, settings, host, clock, platforms)
        self.owner = f"{socket.gethostname()}:{os.getpid()}"

    def run_once(self, limit: int = 50) -> int:
        """Deliver the rows that are due; the number attempted.

        A host that writes in batches (`BatchWriter`) gets the leased tasks and alerts in one
        call; the other rows, and every row for other hosts, are delivered one by one.
        """
        claimed = self._claim(limit)
        writer = self._host if isinstance(self._host, BatchWriter) else None
        writes: list[tuple[int, Task | Alert]] = []
        for item_id, decision in claimed:
            if writer is not None and isinstance(decision, Task | Alert):
                writes.append((item_id, decision))
            else:
                self._deliver(item_id, decision)
        if writer is not None and writes:
            self._deliver_batch(writer, writes)
        return len(claimed)

    def _deliver_batch(self, writer: BatchWriter, rows: list[tuple[int, Task | Alert]]) -> None:
        """Write tasks and alerts through `upsert_many`; settle each row from its result."""
        ready: list[tuple[int, BatchItem]] = []
        for item_id, decision in rows:
            try:
                ready.append((item_id, self._batch_item(decision)))
            except Exception as exc:  # the store failed while preparing this row only
                self._settle_failure(item_id, exc)
        if not ready:
            return
        try:
            results = writer.upsert_many([item for _, item in ready])
        except Exception as exc:  # the whole call failed: every row of it did
            for item_id, _ in ready:
                self._settle_failure(item_id, exc)
            return
        for (item_id, item), result in zip(ready, results, strict=True):
            if result.error is not None:
                self._settle_failure(item_id, result.error)
                continue
            if isinstance(item.item, Task):  # before settling: a failure here retries the row
                try:
                    queue_notices(self._store, self._all_settings, self._clock, item.item)
                except Exception as exc:
                    self._settle_failure(item_id, exc)
                    continue
            self._delivered(item_id, item.key)

    def _batch_item(self, decision: Task | Alert) -> BatchItem:
        """What the single-row path sends too: a task with its form links, and the subject."""
        item = with_form_links(decision, self._all_settings, self._store, self._clock)
        return BatchItem(item, decision.key, subject_of(self._store, self._host, decision))

    def _claim(self, limit: int) -> list[tuple[int, Decision]]:
        now = self._clock.now()
        lease = now + timedelta(seconds=self._settings.lease_seconds)
        with self._store.session() as session:
            due = (
                select(OutboxItem.id)
                .where(
                    or_(
                        and_(OutboxItem.status == "pending", OutboxItem.next_attempt_at <= now),
                        # a delivery whose process died: its lease ran out
                        and_(OutboxItem.status == "delivering", OutboxItem.lease_until < now),
                    )
                )
                .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            ids = list(session.scalars(due))
            if not ids:
                return []
            rows = session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(ids))
                .values(
                    status="delivering",
                    lease_until=lease,
                    lease_owner=self.owner,
                    attempts=OutboxItem.attempts + 1,
                )
                .returning(OutboxItem.id, OutboxItem.decision)
            ).all()
        return sorted((row.id, decision_from_json(row.decision)) for row in rows)

    def recover_interrupted(self) -> int:
        """Release deliveries leased by processes of this host that no longer run.

        Call it on start, before this process claims anything: a killed process's rows go
        out again now instead of when their lease runs out. Leases of other hosts are left
        to expire; a second delivery is harmless because hosts upsert on the decision key.
        """
        prefix = f"{socket.gethostname()}:"
        with self._store.session() as session:
            leased = session.execute(
                select(OutboxItem.id, OutboxItem.lease_owner).where(
                    OutboxItem.status == "delivering", OutboxItem.lease_owner.startswith(prefix)
                )
            ).all()
            orphans = [row.id for row in leased if not _alive(row.lease_owner[len(prefix) :])]
            if orphans:
                session.execute(
                    update(OutboxItem)
                    .where(OutboxItem.id.in_(orphans), OutboxItem.status == "delivering")
                    .values(
                        status="pending",
                        lease_until=None,
                        lease_owner=None,
                        next_attempt_at=self._clock.now(),
                    )
                )
        if orphans:
            log.warning("outbox recovered %d interrupted deliveries", len(orphans))
        return len(orphans)

    def _deliver(self, item_id: int, decision: Decision) -> None:
        try:
            self._carry_out(decision)
        except Exception as exc:  # typed errors retry or dead-letter; a bug retries, then dies
            self._settle_failure(item_id, exc)
            return
        self._delivered(item_id, decision.key)

    def _delivered(self, item_id: int, key: str) -> None:
        with self._store.session() as session:
            session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == item_id, OutboxItem.status == "delivering")
                .values(
                    status="done",
                    delivered_at=self._clock.now(),
                    last_error=None,
                    lease_until=None,
                    lease_owner=None,
                )
            )
        log.info("outbox delivered id=%s key=%s", item_id, key)

    def _settle_failure(self, item_id: int, exc: Exception) -> None:
        if not isinstance(exc, AdapterError):  # a bug or an unknown failure
            self._failed(item_id, exc, retryable=True, retry_after=None)
            return
        if exc.alert_staff:  # waiting alone will not fix it: tell admins, once a day
            settings, name = self._all_settings, self._host.name
            raise_staff_alert(self._store, settings, self._clock, name, exc)
        retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
        self._failed(item_id, exc, retryable=exc.retryable, retry_after=retry_after)

    def _carry_out(self, decision: Decision) -> None:
        match decision:
            case Task():
                task = with_form_links(decision, self._all_settings, self._store, self._clock)
                subject = subject_of(self._store, self._host, decision)
                self._host.upsert_task(task, decision.key, subject)
                queue_notices(self._store, self._all_settings, self._clock, decision)
            case Alert():
                subject = subject_of(self._store, self._host, decision)
                self._host.upsert_alert(decision, decision.key, subject)
            case _:  # recordings, platform reads, subscriptions, host syncs, notices
                self._actions.carry_out(decision)

    def _failed(
        self, item_id: int, exc: Exception, *, retryable: bool, retry_after: float | None
    ) -> None:
        now = self._clock.now()
        error = f"{type(exc).__name__}: {exc}"[:2000]
        with self._store.session() as session:
            item = session.get_one(OutboxItem, item_id)
            item.last_error = error
            item.lease_until = item.lease_owner = None
            if not retryable or item.attempts >= self._settings.max_attempts:
                item.status = "dead"
                log.error("outbox dead-lettered id=%s error=%s", item_id, type(exc).__name__)
                return
            item.status = "pending"
            item.next_attempt_at = next_attempt(
                now,
                item.attempts,
                initial=self._settings.backoff_initial_seconds,
                maximum=self._settings.backoff_max_seconds,
                retry_after=retry_after,
            )
            log.warning(
                "outbox failed id=%s attempt=%d error=%s retry_at=%s",
                item_id,
                item.attempts,
                type(exc).__name__,
                item.next_attempt_at.isoformat(),
            )


def _alive(pid_text: str) -> bool:
    try:
        pid = int(pid_text)
    except ValueError:
        return True  # not ours to judge; let the lease run out
    if pid == os.getpid():
        return False  # a previous life of this process id cannot hold a lease we did not take
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A killed process nobody has reaped yet still answers `kill(pid, 0)`: in a container
    whose PID 1 reaps late, a SIGKILLed worker stays a zombie for a while. Linux says so in
    /proc; elsewhere the lease simply runs out."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]
