"""`/staff`: the open tasks and alerts of the `local` host, for staff in a browser."""

from __future__ import annotations

from flask import Blueprint, current_app, g, render_template

from connector.api import open_items
from connector.auth import requires

bp = Blueprint("staff", __name__)


@bp.get("/staff")
@requires("admin", "coordinator", "safeguarding", browser=True)
def staff_page() -> str:
    services = current_app.extensions["connector"]
    query = {"status": "open"}
    return render_template(
        "staff.html",
        role=g.role,
        policy_version=services.settings.policy.policy_version,
        alerts=open_items("alert", query, g.role, g.actor),
        tasks=open_items("task", query, g.role, g.actor),
    )
