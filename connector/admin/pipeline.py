"""Inbox, outbox and dead letters, with replay and retry (the same as the CLI's)."""

from __future__ import annotations

from typing import Any

from flask import g, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from connector.admin import act, bp, page
from connector.api import ApiError, services
from connector.auth import requires
from connector.requeue import requeue
from connector.store.models import InboxEvent, OutboxItem

LIMIT = 100  # newest first; older rows are for the CLI (`events list --limit`)
STATUSES = {
    "inbox": ("pending", "done", "dead"),
    "outbox": ("pending", "delivering", "done", "dead"),
}
MODELS: dict[str, Any] = {"inbox": InboxEvent, "outbox": OutboxItem}


def rows(queue: str, status: str | None) -> list[dict[str, Any]]:
    model = MODELS[queue]
    query = select(model).order_by(model.id.desc()).limit(LIMIT)
    if status:
        query = query.where(model.status == status)
    with services().store.session() as session:
        return [_row_json(queue, row) for row in session.scalars(query)]


def _row_json(queue: str, row: Any) -> dict[str, Any]:
    common = {
        "id": row.id,
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "next_attempt_at": row.next_attempt_at,
    }
    if queue == "inbox":  # the payload holds personal data: shown by `events show` only
        return common | {
            "what": f"{row.source} {row.event_type}",
            "ref": row.delivery_id,
            "at": row.received_at,
        }
    return common | {"what": f"{row.kind} ({row.rule_id})", "ref": row.key, "at": row.created_at}


def _status_filter(queue: str) -> str | None:
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES[queue]:
        raise ApiError(400, "invalid", f"status must be one of {', '.join(STATUSES[queue])}")
    return status


@bp.get("/inbox")
@requires("admin", browser=True)
def inbox() -> str:
    return _queue_page("inbox")


@bp.get("/outbox")
@requires("admin", browser=True)
def outbox() -> str:
    return _queue_page("outbox")


def _queue_page(queue: str) -> str:
    status = _status_filter(queue)
    return page(
        "admin/queue.html",
        queue=queue,
        status=status,
        statuses=STATUSES[queue],
        rows=rows(queue, status),
    )


@bp.get("/dead-letters")
@requires("admin", browser=True)
def dead_letters() -> str:
    return page(
        "admin/dead_letters.html", inbox=rows("inbox", "dead"), outbox=rows("outbox", "dead")
    )


def _back(default: str) -> str:
    """Back to the page the button was on (a path on this site), else `default`."""
    target = request.form.get("back", "")
    return target if target.startswith("/admin/") else url_for(default)


@bp.post("/inbox/<int:row_id>/replay")
@requires("admin", browser=True)
def replay(row_id: int) -> Response:
    def run() -> str:
        requeue(services().store, "inbox", [row_id], g.actor, services().clock.now())
        return f"Inbox row {row_id} queued again; decisions already made are not repeated."

    return act(run, _back("admin.inbox"))


@bp.post("/outbox/<int:row_id>/retry")
@requires("admin", browser=True)
def retry(row_id: int) -> Response:
    def run() -> str:
        requeue(services().store, "outbox", [row_id], g.actor, services().clock.now())
        return f"Outbox row {row_id} queued again; the host updates rather than duplicates."

    return act(run, _back("admin.outbox"))
