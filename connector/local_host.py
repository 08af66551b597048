"""The built-in `local` host: tasks and alerts kept in the connector's own store.

A program without a CRM uses the product from day one: the staff page and the JSON API show
what the rules asked for. Writes are upserts on the decision key, like every host's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

from sqlalchemy import select

from adapters.base import ConnectionCheck, Page, StreamMapping, Subject
from connector.clock import Clock
from connector.domain import Alert, Task
from connector.state import insert_ignore
from connector.store.db import Store
from connector.store.models import LocalItem


class LocalHost:
    name = "local"

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def check_connection(self) -> ConnectionCheck:
        try:
            with self._store.session() as session:
                session.scalar(select(LocalItem.id).limit(1))
        except Exception as exc:  # the store is this host's only dependency
            return ConnectionCheck(False, "cannot_connect", type(exc).__name__)
        return ConnectionCheck(True, "ok", "tasks and alerts are kept in the connector's store")

    def streams(self) -> Mapping[str, StreamMapping]:
        return {}  # the local host is the store itself: nothing to sync

    def read_changes(self, stream: str, since: datetime | None, until: datetime) -> Iterator[Page]:
        return iter(())

    def read_records(self, stream: str, external_ids: Sequence[str]) -> Iterator[Page]:
        return iter(())

    # The subject is ignored: the staff page links items to pairings by the connector's ids.
    def upsert_task(self, task: Task, key: str, subject: Subject | None = None) -> str:
        return self._upsert("task", task, key, due=task.due)

    def upsert_alert(self, alert: Alert, key: str, subject: Subject | None = None) -> str:
        return self._upsert("alert", alert, key, due=None)

    def _upsert(self, kind: str, item: Task | Alert, key: str, due: object) -> str:
        """Create the item once; a second write with the same key leaves it as staff left it."""
        now = self._clock.now()
        with self._store.session() as session:
            insert_ignore(
                session,
                LocalItem,
                {
                    "key": key,
                    "kind": kind,
                    "rule_id": item.rule_id,
                    "title": item.title,
                    "reason": item.reason,
                    "priority": item.priority.value,
                    "audience": item.audience,
                    "confidential": item.confidential,
                    "pairing_id": item.pairing_id,
                    "due_at": due,
                    "policy_version": item.policy_version,
                    "status": "open",
                    "created_at": now,
                    "updated_at": now,
                },
                ("key",),
            )
            item_id = session.scalar(select(LocalItem.id).where(LocalItem.key == key))
        return str(item_id)
