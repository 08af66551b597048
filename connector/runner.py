"""The runner: inbox rows in, state changes and decisions (in the outbox) out.

Each row is processed in one database transaction that claims it (`FOR UPDATE SKIP LOCKED`
on PostgreSQL; SQLite's `BEGIN IMMEDIATE` serialises writers), applies its events to the
store, evaluates the rules and writes their decisions to the outbox. Either all of that
commits, or none of it does: a crash mid-way leaves the row pending for the next start, and
several runner processes never do one row twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.backoff import next_attempt
from connector.clock import Clock
from connector.context import build_context
from connector.domain import Decision, Event, event_from_json, to_json
from connector.settings import Settings
from connector.state import apply_event, insert_ignore
from connector.store.db import Store
from connector.store.models import InboxEvent, OutboxItem
from rules import ALL_RULES
from rules.base import Rule
from rules.engine import evaluate

log = logging.getLogger("connector.runner")


class Runner:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Clock,
        rules: Sequence[Rule] = ALL_RULES,
        follow_up: Callable[[Event], list[Decision]] | None = None,
    ) -> None:
        self._store = store
        self._follow_up = follow_up
        self._settings = settings
        self._clock = clock
        self._rules = [r for r in rules if settings.rule(r.id).enabled]
        self._params = {r.id: settings.rule(r.id).params for r in rules}

    def run_once(self, limit: int | None = None) -> int:
        """Process due rows until none is left or `limit` is reached; the number processed."""
        limit = limit or self._settings.runner.batch_size
        done = 0
        while done < limit and self._process_next():
            done += 1
        return done

    def _process_next(self) -> bool:
        now = self._clock.now()
        with self._store.session() as session:
            row = session.scalars(
                select(InboxEvent)
                .where(InboxEvent.status == "pending", InboxEvent.next_attempt_at <= now)
                .order_by(InboxEvent.next_attempt_at, InboxEvent.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return False
            row.attempts += 1
            try:
                with session.begin_nested():
                    decisions = self._handle(session, row)
            except Exception as exc:  # any failure: keep the row, retry it, then dead-letter
                self._failed(row, exc)
                return True
            row.status, row.processed_at, row.last_error = "done", now, None
            log.info(
                "inbox row processed id=%s event=%s decisions=%d",
                row.id,
                row.event_type,
                len(decisions),
            )
        return True

    def _handle(self, session: Session, row: InboxEvent) -> list[Decision]:
        now = self._clock.now()
        decisions: list[Decision] = []
        for data in row.events:
            event = event_from_json(data)
            applied = apply_event(session, event, now)
            context = build_context(session, applied, now, self._settings)
            decisions.extend(evaluate(event, context, self._rules, self._params))
            if self._follow_up is not None:  # plumbing such as reading a meeting back
                decisions.extend(self._follow_up(event))
        for decision in decisions:
            write_decision(session, decision, now, inbox_id=row.id)
        return decisions

    def _failed(self, row: InboxEvent, exc: Exception) -> None:
        now = self._clock.now()
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= self._settings.runner.max_attempts:
            row.status = "dead"
            log.error("inbox row dead-lettered id=%s error=%s", row.id, type(exc).__name__)
        else:
            row.next_attempt_at = next_attempt(now, row.attempts, initial=1.0, maximum=300.0)
            log.warning(
                "inbox row failed id=%s attempt=%d error=%s",
                row.id,
                row.attempts,
                type(exc).__name__,
            )


def write_decision(
    session: Session, decision: Decision, now: datetime, inbox_id: int | None = None
) -> bool:
    """Put a decision in the outbox unless one with its key is already there; True if new."""
    new_id = insert_ignore(session, OutboxItem, outbox_row(decision, now, inbox_id), ("key",))
    return new_id is not None


def outbox_row(
    decision: Decision, now: datetime, inbox_id: int | None = None, policy_version: str = ""
) -> dict[str, Any]:
    """The outbox row of a new decision; `policy_version`, when given, is stamped into it."""
    data = to_json(decision)
    if policy_version:
        data["policy_version"] = policy_version
    return {
        "key": decision.key,
        "kind": decision.kind,
        "rule_id": decision.rule_id,
        "pairing_id": decision.pairing_id,
        "decision": data,
        "inbox_id": inbox_id,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
