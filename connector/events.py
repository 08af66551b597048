"""Events made inside the connector (API, forms, sync) enter the inbox like webhooks do."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from connector.domain import Event, to_json
from connector.state import insert_ignore
from connector.store.models import InboxEvent


class AlreadyReceived(Exception):
    """The delivery id is in the inbox already: the same change was sent twice."""


def enqueue(
    session: Session,
    event: Event,
    now: datetime,
    source: str = "api",
    delivery_id: str | None = None,
    duplicate: Literal["raise", "skip"] = "raise",
) -> bool:
    """Queue `event` in the caller's transaction, so it commits with the change it reports.

    Without `delivery_id` each call is a distinct change and gets a fresh id. A caller whose
    change can arrive twice passes its own: a form sent twice (`AlreadyReceived` is raised,
    so the caller's transaction rolls back and the change is stored once), or sync re-reading
    a record (`duplicate="skip"`: nothing new is queued). True when the event was queued.
    """
    row = inbox_row(event, now, source, delivery_id or f"{event.kind}:{uuid.uuid4().hex}")
    new_id = insert_ignore(session, InboxEvent, row, ("source", "delivery_id"))
    if new_id is None and duplicate == "raise":
        raise AlreadyReceived(delivery_id)
    return new_id is not None


def enqueue_many(
    session: Session, items: Sequence[tuple[Event, str]], now: datetime, source: str
) -> int:
    """Queue (event, delivery id) pairs in one statement, skipping delivery ids already in
    the inbox (sync applying a page); how many were queued."""
    if not items:
        return 0
    table = cast(Table, InboxEvent.__table__)
    dialect_insert = (
        postgresql.insert if session.connection().dialect.name == "postgresql" else sqlite.insert
    )
    stmt = (
        dialect_insert(table)
        .on_conflict_do_nothing(index_elements=["source", "delivery_id"])
        .returning(table.c.id)
    )
    rows = [inbox_row(event, now, source, delivery) for event, delivery in items]
    return len(session.connection().execute(stmt, rows).all())


def inbox_row(event: Event, now: datetime, source: str, delivery_id: str) -> dict[str, Any]:
    """The inbox row of a new event, pending and due now."""
    return {
        "source": source,
        "delivery_id": delivery_id,
        "event_type": event.kind,
        "payload": {},
        "events": [to_json(event)],
        "received_at": now,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
    }
