"""Events made inside the connector (API, forms, sync) enter the inbox like webhooks do."""

from __future__ import annotations

import uuid
from datetime import datetime

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
) -> None:
    """Queue `event` in the caller's transaction, so it commits with the change it reports.

    Each API call is a distinct change, so by default the delivery id is fresh. A caller
    whose request can repeat (a form sent twice) passes its own `delivery_id`; when that is
    in the inbox already, `AlreadyReceived` is raised, so the caller's transaction rolls back
    and the change is stored once.
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
    if new_id is None:
        raise AlreadyReceived(delivery_id)
