"""Pairings: create, change status through the gates, record and revoke consent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, g, jsonify
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector import audit
from connector.api import (
    SEES_CONSENT,
    STAFF,
    ApiError,
    body,
    bp,
    flush_unique,
    get_or_404,
    iso,
    services,
)
from connector.auth import requires
from connector.domain import ConsentChanged, PairingStatus, PairingStatusChanged, Role
from connector.events import enqueue
from connector.gates import refusals
from connector.store.models import MeetingLink, Pairing, Person
from rules.base import Transition
from rules.calendar import local_date

# Gates an override reason may pass, and the pairing field that keeps the reason.
OVERRIDABLE = {
    "vetting-gate": "vetting_override_reason",
    "closing-session": "closing_override_reason",
}


class PairingSchema(Schema):
    mentor_id = fields.Integer(required=True)
    mentee_id = fields.Integer(required=True)
    status = fields.String(validate=validate.OneOf([s.value for s in PairingStatus]))
    started_on = fields.Date(allow_none=True)
    ended_on = fields.Date(allow_none=True)
    external_ref = fields.String(allow_none=True, validate=validate.Length(max=255))
    zoom_meeting_id = fields.String(allow_none=True, validate=validate.Regexp(r"^\d{9,12}$"))
    extenuating_circumstances = fields.String(validate=validate.Length(1, 5000))
    override_reason = fields.String(validate=validate.Length(1, 5000))


class ConsentSchema(Schema):
    party = fields.String(required=True, validate=validate.OneOf(["mentor", "mentee"]))
    consent = fields.Boolean(required=True)
    at = fields.AwareDateTime(load_default=None)


@bp.get("/pairings")
@requires(*STAFF)
def list_pairings() -> Response:
    with services().store.session() as session:
        pairings = session.scalars(select(Pairing).order_by(Pairing.id)).all()
        return jsonify(pairings=[pairing_json(p) for p in pairings])


@bp.post("/pairings")
@requires("admin", "coordinator")
def create_pairing() -> tuple[Response, int]:
    data = body(PairingSchema())
    now = services().clock.now()
    status_to = data.pop("status", PairingStatus.PROPOSED.value)
    override = data.pop("override_reason", None)
    with services().store.session() as session:
        pairing = Pairing(created_at=now, updated_at=now, status=status_to)
        apply_pairing(session, pairing, data)
        session.add(pairing)
        flush_unique(session, "this pairing's external_ref or Zoom meeting id is taken")
        change_status(session, pairing, None, status_to, override, now)
        audit.record(session, now, g.actor, "pairing.created", "pairing", pairing.id)
        return jsonify(pairing_json(pairing)), 201


@bp.patch("/pairings/<int:pairing_id>")
@requires("admin", "coordinator")
def update_pairing(pairing_id: int) -> Response:
    data = body(PairingSchema(), partial=True)
    now = services().clock.now()
    status_to = data.pop("status", None)
    override = data.pop("override_reason", None)
    with services().store.session() as session:
        pairing = get_or_404(session, Pairing, pairing_id)
        before = pairing.status
        apply_pairing(session, pairing, data)
        pairing.updated_at = now
        flush_unique(session, "this pairing's external_ref or Zoom meeting id is taken")
        if "extenuating_circumstances" in data:
            audit.record(
                session, now, g.actor, "pairing.extenuating_circumstances", "pairing", pairing.id
            )
        if status_to is not None and status_to != before:
            if before == PairingStatus.CLOSED:
                raise ApiError(409, "refused", "a closed pairing stays closed; pair them anew")
            change_status(session, pairing, before, status_to, override, now)
        audit.record(
            session,
            now,
            g.actor,
            "pairing.updated",
            "pairing",
            pairing.id,
            fields=sorted(data),
            status_from=before,
            status_to=pairing.status,
        )
        return jsonify(pairing_json(pairing))


def change_status(
    session: Session,
    pairing: Pairing,
    before: str | None,
    status_to: str,
    override: str | None,
    now: datetime,
) -> None:
    """Move `pairing` to `status_to` if every gate allows it (or is overridden with a reason).

    A refusal raises 409 before anything is committed; an override is kept on the pairing and
    written to the audit log.
    """
    settings = services().settings
    found = refusals(session, pairing.id, Transition(before, status_to), settings, now)
    blocking = [r for r in found if not (override and r.rule_id in OVERRIDABLE)]
    if blocking:
        raise ApiError(
            409,
            "refused",
            " ".join(r.message for r in blocking),
            refusals=[{"rule": r.rule_id, "message": r.message} for r in blocking],
        )
    for refusal in found:
        setattr(pairing, OVERRIDABLE[refusal.rule_id], override)
        audit.record(
            session,
            now,
            g.actor,
            "gate.overridden",
            "pairing",
            pairing.id,
            rule=refusal.rule_id,
            reason=override,
            refused=refusal.message,
        )
    pairing.status = status_to
    if status_to == PairingStatus.ACTIVE and pairing.started_on is None:
        pairing.started_on = local_date(now, settings.connector.timezone)
    session.flush()
    enqueue(
        session,
        PairingStatusChanged(pairing_id=pairing.id, status_from=before, status_to=status_to),
        now,
    )


def apply_pairing(session: Session, pairing: Pairing, data: dict[str, Any]) -> None:
    zoom_id = data.pop("zoom_meeting_id", None)
    # Check the people before touching the pairing: a lookup may flush it, and a pairing
    # pointing at nobody must be a clear 404, not a foreign-key failure.
    mentor = get_or_404(session, Person, data.get("mentor_id", pairing.mentor_id))
    mentee = get_or_404(session, Person, data.get("mentee_id", pairing.mentee_id))
    if mentor.role != Role.MENTOR or mentee.role != Role.MENTEE:
        raise ApiError(400, "invalid", "mentor_id must be a mentor and mentee_id a mentee")
    for key, value in data.items():
        setattr(pairing, key, value)
    if zoom_id:
        pairing.meeting_links = [
            link for link in pairing.meeting_links if link.platform != "zoom"
        ] + [MeetingLink(platform="zoom", external_meeting_id=zoom_id)]


def pairing_json(pairing: Pairing) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": pairing.id,
        "mentor_id": pairing.mentor_id,
        "mentee_id": pairing.mentee_id,
        "status": pairing.status,
        "started_on": iso(pairing.started_on),
        "ended_on": iso(pairing.ended_on),
        "external_ref": pairing.external_ref,
        "meetings": {link.platform: link.external_meeting_id for link in pairing.meeting_links},
        "extenuating_circumstances": pairing.extenuating_circumstances,
        "vetting_override_reason": pairing.vetting_override_reason,
        "closing_override_reason": pairing.closing_override_reason,
    }
    if g.role in SEES_CONSENT:
        data["recording_consent"] = {
            "mentor": _consent(pairing.mentor_recording_consent, pairing.mentor_consent_at),
            "mentee": _consent(pairing.mentee_recording_consent, pairing.mentee_consent_at),
        }
    return data


def _consent(given: bool, at: datetime | None) -> dict[str, Any]:
    return {"given": given, "at": iso(at)}


@bp.post("/pairings/<int:pairing_id>/consent")
@requires("admin", "safeguarding")
def record_consent(pairing_id: int) -> Response:
    """Record or revoke one party's recording consent, timestamped and audited."""
    data = body(ConsentSchema())
    now = services().clock.now()
    with services().store.session() as session:
        pairing = get_or_404(session, Pairing, pairing_id)
        set_consent(
            session, pairing, data["party"], data["consent"], data["at"] or now, g.actor, now
        )
        return jsonify(pairing_json(pairing))


def set_consent(
    session: Session,
    pairing: Pairing,
    party: str,
    given: bool,
    at: datetime,
    actor: str,
    now: datetime,
    *,
    source: str = "api",
    delivery_id: str | None = None,
) -> None:
    """Give or revoke one party's recording consent at `at`: stored, audited, and queued.

    The API and the recording-consent form both come through here.
    """
    setattr(pairing, f"{party}_recording_consent", given)
    setattr(pairing, f"{party}_consent_at", at)
    pairing.updated_at = now
    action = "consent.given" if given else "consent.revoked"
    audit.record(
        session, now, actor, action, "pairing", pairing.id, party=party, consent_at=at.isoformat()
    )
    enqueue(
        session,
        ConsentChanged(pairing_id=pairing.id, party=party, given=given, at=at),
        now,
        source=source,
        delivery_id=delivery_id,
    )
