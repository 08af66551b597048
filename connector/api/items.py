"""Tasks and alerts of the `local` host: lists with filters, and marking them done."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask import Response, g, jsonify, request
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from connector import audit
from connector.api import STAFF, ApiError, body, bp, get_or_404, services
from connector.auth import requires
from connector.domain import Priority
from connector.store.models import LocalItem


class DoneSchema(Schema):
    note = fields.String(required=True, validate=validate.Length(1, 5000))


class ItemQuery(Schema):
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "done", "all"]))
    rule = fields.String()
    pairing = fields.Integer()
    priority = fields.String(validate=validate.OneOf([p.value for p in Priority]))
    due_before = fields.AwareDateTime(default_timezone=UTC)
    due_after = fields.AwareDateTime(default_timezone=UTC)


@bp.get("/tasks")
@requires(*STAFF)
def list_tasks() -> Response:
    return _list_items("task")


@bp.get("/alerts")
@requires(*STAFF)
def list_alerts() -> Response:
    return _list_items("alert")


def _list_items(kind: str) -> Response:
    query = ItemQuery().load(request.args.to_dict())
    items = open_items(kind, query, g.role, g.actor)
    return jsonify(**{f"{kind}s": items})


def open_items(kind: str, query: dict[str, Any], role: str, actor: str) -> list[dict[str, Any]]:
    """Items of one kind, filtered; confidential ones redacted unless `role` is safeguarding."""
    stmt = select(LocalItem).where(LocalItem.kind == kind).order_by(LocalItem.id)
    if query.get("status", "open") != "all":
        stmt = stmt.where(LocalItem.status == query.get("status", "open"))
    if "rule" in query:
        stmt = stmt.where(LocalItem.rule_id == query["rule"])
    if "pairing" in query:
        stmt = stmt.where(LocalItem.pairing_id == query["pairing"])
    if "priority" in query:
        stmt = stmt.where(LocalItem.priority == query["priority"])
    if "due_before" in query:
        stmt = stmt.where(LocalItem.due_at < query["due_before"])
    if "due_after" in query:
        stmt = stmt.where(LocalItem.due_at >= query["due_after"])
    found = services()
    with found.store.session() as session:
        items = session.scalars(stmt).all()
        shown = [item_json(item, role) for item in items]
        revealed = [i.id for i in items if i.confidential and role == "safeguarding"]
        for item_id in revealed:  # one entry per item: each view is answerable on its own
            audit.record(
                session, found.clock.now(), actor, "confidential.viewed", "local_item", item_id
            )
    return shown


def item_json(item: LocalItem, role: str) -> dict[str, Any]:
    data = {
        "id": item.id,
        "kind": item.kind,
        "key": item.key,
        "rule": item.rule_id,
        "priority": item.priority,
        "audience": item.audience,
        "confidential": item.confidential,
        "pairing_id": item.pairing_id,
        "due_at": item.due_at.isoformat() if item.due_at else None,
        "status": item.status,
        "policy_version": item.policy_version,
        "created_at": item.created_at.isoformat(),
        "title": item.title,
        "reason": item.reason,
        "done_note": item.done_note,
    }
    if item.confidential and role != "safeguarding":
        data.update(
            title="Confidential item for the safeguarding lead",
            reason="Visible only to the safeguarding role.",
            pairing_id=None,
            key=None,
            done_note=None,
            rule="confidential",  # the rule's name alone would say what happened
        )
    return data


@bp.post("/tasks/<int:item_id>/done")
@bp.post("/alerts/<int:item_id>/done")
@requires(*STAFF)
def mark_done(item_id: int) -> Response:
    return jsonify(close_item(item_id, body(DoneSchema())["note"], g.role, g.actor))


def close_item(item_id: int, note: str, role: str, actor: str) -> dict[str, Any]:
    """Mark an item done with a note, audited; a confidential one only by safeguarding.

    The API and the staff page both come through here.
    """
    now = services().clock.now()
    with services().store.session() as session:
        item = get_or_404(session, LocalItem, item_id)
        if item.confidential and role != "safeguarding":
            raise ApiError(403, "forbidden", "only the safeguarding role may close this item")
        if item.status == "done":
            raise ApiError(409, "refused", f"this {item.kind} is already done")
        item.status, item.done_note, item.done_at, item.updated_at = "done", note, now, now
        item.done_by = actor
        audit.record(session, now, actor, f"{item.kind}.done", "local_item", item.id)
        return item_json(item, role)
