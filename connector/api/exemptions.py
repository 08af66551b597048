"""Exemptions: a rule switched off for the program or one pairing, with a written reason."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify
from marshmallow import Schema, ValidationError, fields, validate, validates
from sqlalchemy import select

from connector import audit
from connector.api import STAFF, ApiError, body, bp, get_or_404, iso, services
from connector.auth import requires
from connector.store.models import Exemption, Pairing
from rules import RULES_BY_ID


class ExemptionSchema(Schema):
    rule_id = fields.String(required=True)
    pairing_id = fields.Integer(allow_none=True, load_default=None)
    reason = fields.String(required=True, validate=validate.Length(10, 5000))

    @validates("rule_id")
    def _known(self, value: str, **_: Any) -> None:
        if value not in RULES_BY_ID:
            raise ValidationError(f"unknown rule; known: {', '.join(sorted(RULES_BY_ID))}")


@bp.get("/exemptions")
@requires(*STAFF)
def list_exemptions() -> Response:
    with services().store.session() as session:
        rows = session.scalars(select(Exemption).order_by(Exemption.id)).all()
        return jsonify(exemptions=[exemption_json(e) for e in rows])


@bp.post("/exemptions")
@requires("admin")
def create_exemption() -> tuple[Response, int]:
    return jsonify(create_exemption_for(body(ExemptionSchema()), g.actor)), 201


@bp.post("/exemptions/<int:exemption_id>/revoke")
@requires("admin")
def revoke_exemption(exemption_id: int) -> Response:
    return jsonify(revoke_exemption_for(exemption_id, g.actor))


def create_exemption_for(data: dict[str, Any], actor: str) -> dict[str, Any]:
    """Record a validated exemption (see `ExemptionSchema`) with an audit entry; the API and
    the admin console both come through here."""
    now = services().clock.now()
    with services().store.session() as session:
        if data["pairing_id"] is not None:
            get_or_404(session, Pairing, data["pairing_id"])
        exemption = Exemption(created_by=actor, created_at=now, **data)
        session.add(exemption)
        session.flush()
        audit.record(
            session,
            now,
            actor,
            "exemption.created",
            "exemption",
            exemption.id,
            rule=data["rule_id"],
            pairing_id=data["pairing_id"],
            reason=data["reason"],
        )
        return exemption_json(exemption)


def revoke_exemption_for(
    exemption_id: int, actor: str, reason: str | None = None
) -> dict[str, Any]:
    """End an exemption; the console asks for a reason, which then goes into the audit log."""
    now = services().clock.now()
    with services().store.session() as session:
        exemption = get_or_404(session, Exemption, exemption_id)
        if exemption.revoked_at is not None:
            raise ApiError(409, "refused", "this exemption was already revoked")
        exemption.revoked_at = now
        detail = {"reason": reason} if reason else {}
        audit.record(session, now, actor, "exemption.revoked", "exemption", exemption.id, **detail)
        return exemption_json(exemption)


def exemption_json(exemption: Exemption) -> dict[str, Any]:
    return {
        "id": exemption.id,
        "rule": exemption.rule_id,
        "pairing_id": exemption.pairing_id,
        "reason": exemption.reason,
        "created_by": exemption.created_by,
        "created_at": iso(exemption.created_at),
        "revoked_at": iso(exemption.revoked_at),
    }
