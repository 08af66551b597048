"""The inbox: every accepted delivery, stored once, before it is acknowledged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connector.clock import Clock
from connector.domain import Event, to_json
from connector.state import insert_ignore
from connector.store.db import Store
from connector.store.models import InboxEvent


class Inbox:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def accept(
        self,
        source: str,
        delivery_id: str,
        event_type: str,
        payload: dict[str, Any],
        events: Sequence[Event],
    ) -> bool:
        """Store a delivery and commit; True when it is new, False when it was already here.

        The unique constraint on (source, delivery_id) is the dedupe, so two processes
        receiving the same retry at once still store one row.
        """
        now = self._clock.now()
        with self._store.engine.begin() as connection:  # Core only: this is the hot path
            new_id = insert_ignore(
                connection,
                InboxEvent,
                {
                    "source": source,
                    "delivery_id": delivery_id,
                    "event_type": event_type,
                    "payload": payload,
                    "events": [to_json(e) for e in events],
                    "received_at": now,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                },
                ("source", "delivery_id"),
            )
        return new_id is not None
