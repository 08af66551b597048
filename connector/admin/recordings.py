"""Recordings: listed without links; a link is granted only for a stated purpose, audited."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from connector.admin import bp, form_fields, page, validation_message
from connector.api import ApiError
from connector.api.recordings import (
    LINK_TTL_SECONDS,
    PURPOSES,
    AccessSchema,
    grant_access,
    recordings_of,
)
from connector.auth import requires
from connector.errors import AdapterError

ROLES = ("admin", "safeguarding")


@bp.get("/recordings")
@requires(*ROLES, browser=True)
def recordings() -> ResponseReturnValue:
    pairing = request.args.get("pairing", type=int)
    if request.args.get("pairing") and pairing is None:
        raise ApiError(400, "invalid", "pairing must be a number")
    return page(
        "admin/recordings.html",
        recordings=recordings_of(pairing),
        pairing=pairing,
        purposes=PURPOSES,
    )


@bp.post("/recordings/<int:recording_id>/access")
@requires(*ROLES, browser=True)
def access_recording(recording_id: int) -> ResponseReturnValue:
    """Show the granted link once, on this response only; it is never stored or redirected."""
    try:
        data = AccessSchema().load(form_fields("purpose", "note"))
        granted = grant_access(recording_id, data, g.actor)
    except ValidationError as exc:
        flash(validation_message(exc), "error")
        return redirect(url_for("admin.recordings"), 303)
    except ApiError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.recordings"), 303)
    except AdapterError as exc:  # the access is already audited; the platform failed
        flash(f"The video platform failed: {type(exc).__name__}: {exc}", "error")
        return redirect(url_for("admin.recordings"), 303)
    html = page("admin/recording_access.html", granted=granted, ttl_minutes=LINK_TTL_SECONDS // 60)
    return html, 200, {"Cache-Control": "no-store"}
