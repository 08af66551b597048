"""Recordings: kept only for review or dispute, and every access is written down."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from connector import audit
from connector.api import ApiError, body, bp, get_or_404, iso, services
from connector.auth import requires
from connector.store.models import Meeting, Recording

LINK_TTL_SECONDS = 600
PURPOSES = (
    "review",
    "dispute",
)  # "only be accessed if necessary for review or in the event of a dispute"


class AccessSchema(Schema):
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES))
    note = fields.String(required=True, validate=validate.Length(1, 2000))


@bp.get("/recordings")
@requires("admin", "safeguarding")
def list_recordings() -> Response:
    pairing = request.args.get("pairing", type=int)
    if "pairing" in request.args and pairing is None:
        raise ApiError(400, "invalid", "pairing must be a number")
    return jsonify(recordings=recordings_of(pairing))


@bp.post("/recordings/<int:recording_id>/access")
@requires("admin", "safeguarding")
def access_recording(recording_id: int) -> Response:
    return jsonify(grant_access(recording_id, body(AccessSchema()), g.actor))


def recordings_of(pairing: int | None) -> list[dict[str, Any]]:
    """Kept recordings, all or of one pairing; no link, so listing them is not an access."""
    with services().store.session() as session:
        query = select(Recording, Meeting).join(Meeting, Recording.meeting_id == Meeting.id)
        if pairing is not None:
            query = query.where(Meeting.pairing_id == pairing)
        rows = session.execute(query.order_by(Recording.id)).all()
        return [recording_json(r, m) for r, m in rows]


def grant_access(recording_id: int, data: dict[str, Any], actor: str) -> dict[str, Any]:
    """Grant access to a kept recording for a stated purpose; audited before it is granted.

    The answer carries where the recording lives on its platform; a fresh, short-lived link
    comes from the video platform adapter where one is configured. The API and the admin
    console both come through here.
    """
    now = services().clock.now()
    with services().store.session() as session:
        recording = get_or_404(session, Recording, recording_id)
        if recording.status != "available":
            raise ApiError(409, "refused", f"the recording is {recording.status}")
        meeting = session.get_one(Meeting, recording.meeting_id)
        audit.record(
            session,
            now,
            actor,
            "recording.accessed",
            "recording",
            recording.id,
            purpose=data["purpose"],
            note=data["note"],
        )
        answer = recording_json(recording, meeting) | {"purpose": data["purpose"], "link": None}
        uuid, file_id, platform_name = (
            meeting.instance_uuid,
            recording.external_id,
            meeting.platform,
        )
    # The audit entry is committed before any link exists; the link lives minutes, not days.
    platform = (services().platforms or {}).get(platform_name)
    if platform is not None:
        answer["link"] = platform.access_link(uuid, file_id, LINK_TTL_SECONDS)
        answer["link_expires_in"] = LINK_TTL_SECONDS
    return answer


def recording_json(recording: Recording, meeting: Meeting) -> dict[str, Any]:
    return {
        "id": recording.id,
        "platform": recording.platform,
        "file_id": recording.external_id,
        "file_type": recording.file_type,
        "status": recording.status,
        "restricted": recording.restricted,
        "started_at": iso(recording.started_at),
        "meeting": {
            "id": meeting.id,
            "external_id": meeting.external_id,
            "instance_uuid": meeting.instance_uuid,
            "pairing_id": meeting.pairing_id,
        },
    }
