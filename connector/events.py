"""Events made inside the connector (API, forms, sync) enter the inbox like webhooks do."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from connector.domain import Event, to_json
from connector.state import insert_ignore
from connector.store.models import InboxEvent


def enqueue(
    session: Session,
    event: Event,
    now: datetime,
    source: str = "api",
    delivery_id: str | None = None,
) -> bool:
    """Queue `event` in the caller's transaction, so it commits with the change it reports.

    Without `delivery_id` each call is a distinct change and gets a fresh id. Sync passes a
    deterministic one (host, record, modification time), so re-reading a record queues
    nothing new. True when the event was queued, False when that delivery was already in.
    """
    new_id = insert_ignore(
        session,
        InboxEvent,
        {
            "source": source,
            "delivery_id": delivery_id or f"{event.kind}:{uuid.uuid4().hex}",
            "event_type": event.kind,
            "payload": {},
            "events": [to_json(event)],
            "received_at": now,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
        },
        ("source", "delivery_id"),
    )
    return new_id is not None
