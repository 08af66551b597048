"""Events made inside the connector (API, forms, sync) enter the inbox like webhooks do."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from connector.domain import Event, to_json
from connector.state import insert_ignore
from connector.store.models import InboxEvent


def enqueue(session: Session, event: Event, now: datetime, source: str = "api") -> None:
    """Queue `event` in the caller's transaction, so it commits with the change it reports.

    Each call is a distinct change, so the delivery id is fresh; deduplication matters for
    deliveries that can repeat, and those come from webhooks and sync.
    """
    insert_ignore(
        session,
        InboxEvent,
        {
            "source": source,
            "delivery_id": f"{event.kind}:{uuid.uuid4().hex}",
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
