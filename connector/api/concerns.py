"""Concern reports: confidential, seen and handled only by the safeguarding role."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from flask import Response, g, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector import audit
from connector.api import STAFF, ApiError, body, bp, get_or_404, iso, services
from connector.auth import requires
from connector.domain import ConcernReported, ConcernResolved
from connector.events import enqueue
from connector.store.models import Concern

STATUSES = ("new", "acknowledged", "investigating", "resolved")
OUTCOMES = ("violation", "no_violation", "inconclusive", "withdrawn")


class ConcernSchema(Schema):
    body = fields.String(required=True, validate=validate.Length(1, 20_000))
    pairing_id = fields.Integer(allow_none=True)
    about_person_id = fields.Integer(allow_none=True)
    reporter_person_id = fields.Integer(allow_none=True)
    anonymous = fields.Boolean(load_default=False)


class ConcernStatusSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES[1:]))
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))
    note = fields.String(validate=validate.Length(max=5000))

    @validates_schema
    def _outcome_when_resolved(self, data: dict[str, Any], **_: Any) -> None:
        if data["status"] == "resolved" and not data.get("outcome"):
            raise ValidationError("a resolved concern needs an outcome", "outcome")


@bp.post("/concerns")
@requires(*STAFF)
def report_concern() -> tuple[Response, int]:
    """Record a concern (staff on someone's behalf; the public form comes through the inbox)."""
    data = body(ConcernSchema())
    now = services().clock.now()
    with services().store.session() as session:
        concern = create_concern(session, data, g.actor, now)
        return jsonify(reference=concern.reference, id=concern.id), 201


def create_concern(
    session: Session,
    data: dict[str, Any],
    actor: str,
    now: datetime,
    *,
    source: str = "api",
    delivery_id: str | None = None,
) -> Concern:
    """Store a concern (fields of `ConcernSchema`), audited, and queue its event.

    The API and the concern form both come through here; an anonymous report keeps no
    reporter.
    """
    data = dict(data)
    if data.get("anonymous"):
        data["reporter_person_id"] = None
    concern = Concern(reference=new_reference(), created_at=now, status="new", **data)
    session.add(concern)
    session.flush()
    audit.record(session, now, actor, "concern.reported", "concern", concern.id)
    enqueue(session, ConcernReported(concern_id=concern.id), now, source, delivery_id)
    return concern


@bp.get("/concerns")
@requires("safeguarding")
def list_concerns() -> Response:
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        raise ApiError(400, "invalid", f"status must be one of {', '.join(STATUSES)}")
    return jsonify(concerns=read_concerns(status, g.actor))


@bp.post("/concerns/<int:concern_id>/status")
@requires("safeguarding")
def move_concern(concern_id: int) -> Response:
    return jsonify(move_concern_to(concern_id, body(ConcernStatusSchema()), g.actor))


def read_concerns(status: str | None, actor: str) -> list[dict[str, Any]]:
    """Concerns (of one status, or all), with one audit entry per concern read."""
    with services().store.session() as session:
        query = select(Concern).order_by(Concern.id)
        if status:
            query = query.where(Concern.status == status)
        concerns = session.scalars(query).all()
        now = services().clock.now()
        for concern in concerns:  # one entry per concern read
            audit.record(session, now, actor, "concern.viewed", "concern", concern.id)
        return [concern_json(c) for c in concerns]


def move_concern_to(concern_id: int, data: dict[str, Any], actor: str) -> dict[str, Any]:
    """Move a concern forward (see `ConcernStatusSchema`); never back, resolved needs an outcome.

    The API and the admin console both come through here.
    """
    now = services().clock.now()
    with services().store.session() as session:
        concern = get_or_404(session, Concern, concern_id)
        if STATUSES.index(data["status"]) <= STATUSES.index(concern.status):
            raise ApiError(409, "refused", f"concern {concern.reference} is {concern.status}")
        concern.status = data["status"]
        if concern.acknowledged_at is None:
            concern.acknowledged_at = now
        if data["status"] == "resolved":
            concern.resolved_at, concern.outcome = now, data["outcome"]
            enqueue(session, ConcernResolved(concern_id=concern.id, outcome=data["outcome"]), now)
        audit.record(
            session,
            now,
            actor,
            f"concern.{data['status']}",
            "concern",
            concern.id,
            outcome=concern.outcome,
        )
        return concern_json(concern)


def new_reference() -> str:
    """A short reference the reporter can quote, unguessable (not a sequence number)."""
    return "C-" + secrets.token_hex(4).upper()


def concern_json(concern: Concern) -> dict[str, Any]:
    return {
        "id": concern.id,
        "reference": concern.reference,
        "status": concern.status,
        "outcome": concern.outcome,
        "pairing_id": concern.pairing_id,
        "about_person_id": concern.about_person_id,
        "reporter_person_id": concern.reporter_person_id,
        "anonymous": concern.anonymous,
        "body": concern.body,
        "created_at": iso(concern.created_at),
        "acknowledged_at": iso(concern.acknowledged_at),
        "resolved_at": iso(concern.resolved_at),
    }
