"""Events made inside the connector (API, forms, sync) enter the inbox like webhooks do."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

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
    if new_id is None and duplicate == "raise":
        raise AlreadyReceived(delivery_id)
    return new_id is not None
