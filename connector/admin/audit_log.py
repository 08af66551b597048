"""The audit log, newest first, filtered by actor, action, subject and date."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import request
from flask.typing import ResponseReturnValue
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from connector.admin import bp, page
from connector.api import services
from connector.auth import requires
from connector.store.models import AuditEntry

LIMIT = 200
FILTERS = ("actor", "action", "subject_type", "subject_id", "date_from", "date_to")


class AuditFilters(Schema):
    actor = fields.String(validate=validate.Length(max=128))
    action = fields.String(validate=validate.Length(max=64))
    subject_type = fields.String(validate=validate.Length(max=32))
    subject_id = fields.String(validate=validate.Length(max=64))
    date_from = fields.Date()
    date_to = fields.Date()


def entries(filters: dict[str, Any]) -> list[AuditEntry]:
    """Exact matches on actor, subject; an action matches as a prefix (`concern.` for all)."""
    zone = ZoneInfo(services().settings.connector.timezone)
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(LIMIT)
    for name in ("actor", "subject_type", "subject_id"):
        if name in filters:
            query = query.where(getattr(AuditEntry, name) == filters[name])
    if "action" in filters:
        escaped = filters["action"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(AuditEntry.action.like(escaped + "%", escape="\\"))
    if "date_from" in filters:
        query = query.where(AuditEntry.at >= _start_of(filters["date_from"], zone))
    if "date_to" in filters:
        query = query.where(AuditEntry.at < _start_of(filters["date_to"] + timedelta(1), zone))
    with services().store.session() as session:
        found = list(session.scalars(query))
        session.expunge_all()
        return found


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)


@bp.get("/audit")
@requires("admin", browser=True)
def audit_log() -> ResponseReturnValue:
    args = {k: request.args.get(k, "").strip() for k in FILTERS}
    errors: dict[str, Any] = {}
    try:
        rows = entries(AuditFilters().load({k: v for k, v in args.items() if v}))
    except ValidationError as exc:
        errors, rows = dict(exc.messages) if isinstance(exc.messages, dict) else {}, []
    html = page(
        "admin/audit_log.html",
        rows=rows,
        filters=args,
        limit=LIMIT,
        errors=errors,
        labels={"date_from": "From date", "date_to": "To date"},
    )
    return (html, 400) if errors else html
