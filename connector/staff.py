"""`/staff`: the tasks and alerts of the `local` host, filtered, and marked done with a note.

The listing and closing are the JSON API's (`connector.api.items`): confidential items stay
redacted for every role but safeguarding, every view of one is audited, and only
safeguarding closes them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, g, request, url_for
from marshmallow import Schema, ValidationError, fields, validate
from werkzeug.wrappers import Response

from connector.admin import STAFF, act, form_fields, page
from connector.api import open_items, services
from connector.api.items import close_item
from connector.auth import requires
from connector.domain import Priority
from rules import ALL_RULES

bp = Blueprint("staff", __name__)
FILTERS = ("rule", "pairing", "priority", "due_from", "due_by")


class StaffFilters(Schema):
    """The page's filters as typed in; the day bounds are days in the program's time zone."""

    rule = fields.String(validate=validate.OneOf([r.id for r in ALL_RULES]))
    pairing = fields.Integer(validate=validate.Range(min=1))
    priority = fields.String(validate=validate.OneOf([p.value for p in Priority]))
    due_from = fields.Date()
    due_by = fields.Date()


class DoneForm(Schema):
    note = fields.String(required=True, validate=validate.Length(1, 5000))


def item_query(args: dict[str, str]) -> dict[str, Any]:
    """The API's item query for the filters: `due_by` counts the whole day, `due_from` too."""
    typed = StaffFilters().load({k: v for k, v in args.items() if k in FILTERS and v})
    zone = ZoneInfo(services().settings.connector.timezone)
    query: dict[str, Any] = {"status": "open"}
    query.update({k: typed[k] for k in ("rule", "pairing", "priority") if k in typed})
    if "due_from" in typed:
        query["due_after"] = _start_of(typed["due_from"], zone)
    if "due_by" in typed:
        query["due_before"] = _start_of(typed["due_by"] + timedelta(days=1), zone)
    return query


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)


@bp.get("/staff")
@requires(*STAFF, browser=True)
def staff_page() -> str | tuple[str, int]:
    args = {k: request.args.get(k, "").strip() for k in FILTERS}
    errors: dict[str, list[str]] = {}
    try:
        query = item_query(args)
    except ValidationError as exc:
        errors = exc.messages if isinstance(exc.messages, dict) else {"rule": exc.messages}
        query = {"status": "open", "pairing": -1}  # show nothing rather than everything
    html = page(
        "staff.html",
        policy_version=services().settings.policy.policy_version,
        alerts=open_items("alert", query, g.role, g.actor),
        tasks=open_items("task", query, g.role, g.actor),
        filters=args,
        filtered=any(args.values()),
        rule_ids=[r.id for r in ALL_RULES],
        priorities=[p.value for p in Priority],
        errors=errors,
        labels={"due_from": "Due on or after", "due_by": "Due on or before"},
        back=request.full_path if request.query_string else request.path,
    )
    return (html, 400) if errors else html


@bp.post("/staff/items/<int:item_id>/done")
@requires(*STAFF, browser=True)
def mark_done(item_id: int) -> Response:
    back = request.form.get("back", "")
    back = back if back.startswith("/staff") else url_for("staff.staff_page")

    def close() -> str:
        note = DoneForm().load(form_fields("note"))["note"]
        item = close_item(item_id, note, g.role, g.actor)
        return f"Marked done: {item['title']}"

    return act(close, back)
