"""Putting inbox or outbox rows back in the queue: `events replay`, `outbox retry`, the console.

Replaying is safe by design: decisions already made are not repeated (the outbox is unique on
the decision key) and the host upserts on that key, so a row may be queued again at any time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from connector import audit
from connector.store.db import Store
from connector.store.models import InboxEvent, OutboxItem

QUEUES: dict[str, tuple[Any, str]] = {  # name: (model with status/attempts columns, action)
    "inbox": (InboxEvent, "inbox.replayed"),
    "outbox": (OutboxItem, "outbox.retried"),
}


class NoSuchRows(LookupError):
    """Some of the rows do not exist; nothing was queued."""


def requeue(store: Store, queue: str, row_ids: Sequence[int], actor: str, now: datetime) -> None:
    """Make the rows due now with fresh attempts, all or nothing, one audit entry per row."""
    model, action = QUEUES[queue]
    with store.session() as session:
        looked_up = {row_id: session.get(model, row_id) for row_id in row_ids}
        rows = {row_id: row for row_id, row in looked_up.items() if row is not None}
        missing = [str(row_id) for row_id in row_ids if row_id not in rows]
        if missing:  # all or nothing, and say so
            raise NoSuchRows(
                f"no {model.__tablename__} row {', '.join(missing)}; nothing was queued"
            )
        for row_id, row in rows.items():
            row.status, row.attempts, row.next_attempt_at = "pending", 0, now
            audit.record(session, now, actor, action, model.__tablename__, row_id)
