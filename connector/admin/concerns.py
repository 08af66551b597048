"""Concern cases, for the safeguarding role only: new → acknowledged → investigating → resolved.

Reading the list is an access to confidential reports: each concern shown is audited (by
`connector.api.concerns.read_concerns`, the same as the API).
"""

from __future__ import annotations

from flask import g, request, url_for
from werkzeug.wrappers import Response

from connector.admin import act, bp, form_fields, page
from connector.api import ApiError
from connector.api.concerns import (
    OUTCOMES,
    STATUSES,
    ConcernStatusSchema,
    move_concern_to,
    read_concerns,
)
from connector.auth import requires

NEXT_STEP = {"new": "acknowledged", "acknowledged": "investigating"}
STEP_LABEL = {"acknowledged": "Acknowledge", "investigating": "Start investigating"}


@bp.get("/concerns")
@requires("safeguarding", browser=True)
def concerns() -> str:
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        raise ApiError(400, "invalid", f"status must be one of {', '.join(STATUSES)}")
    return page(
        "admin/concerns.html",
        concerns=read_concerns(status, g.actor),
        status=status,
        statuses=STATUSES,
        outcomes=OUTCOMES,
        next_step=NEXT_STEP,
        step_label=STEP_LABEL,
    )


@bp.post("/concerns/<int:concern_id>/status")
@requires("safeguarding", browser=True)
def move_concern(concern_id: int) -> Response:
    def move() -> str:
        data = ConcernStatusSchema().load(form_fields("status", "outcome"))
        moved = move_concern_to(concern_id, data, g.actor)
        outcome = f" ({moved['outcome'].replace('_', ' ')})" if moved["outcome"] else ""
        return f"Concern {moved['reference']} is now {moved['status']}{outcome}."

    return act(move, url_for("admin.concerns"))
