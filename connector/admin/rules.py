"""Rules with their parameters, and exemptions: added and revoked with a written reason."""

from __future__ import annotations

import dataclasses

from flask import g, url_for
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from werkzeug.wrappers import Response

from connector.admin import STAFF, act, bp, form_fields, page
from connector.api import exemptions as exemptions_api
from connector.api import services
from connector.auth import requires
from connector.store.models import Exemption
from rules import ALL_RULES


class RevokeSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(10, 5000))


@bp.get("/rules")
@requires(*STAFF, browser=True)
def rules() -> str:
    settings = services().settings
    with services().store.session() as session:
        rows = session.scalars(select(Exemption).order_by(Exemption.id)).all()
        exemptions = [exemptions_api.exemption_json(e) for e in rows]
    shown = []
    for rule in ALL_RULES:
        rule_settings = settings.rule(rule.id)
        shown.append(
            {
                "id": rule.id,
                "policy": rule.policy,
                "enabled": rule_settings.enabled,
                "reason": rule_settings.reason,
                "params": dataclasses.asdict(rule_settings.params),
                "exemptions": [e for e in exemptions if e["rule"] == rule.id],
            }
        )
    return page("admin/rules.html", rules=shown, rule_ids=[r.id for r in ALL_RULES])


@bp.post("/exemptions")
@requires("admin", browser=True)
def add_exemption() -> Response:
    def add() -> str:
        data = exemptions_api.ExemptionSchema().load(form_fields("rule_id", "pairing_id", "reason"))
        created = exemptions_api.create_exemption_for(data, g.actor)
        return f"Exemption #{created['id']} from {created['rule']} recorded."

    return act(add, url_for("admin.rules"))


@bp.post("/exemptions/<int:exemption_id>/revoke")
@requires("admin", browser=True)
def revoke_exemption(exemption_id: int) -> Response:
    def revoke() -> str:
        reason = RevokeSchema().load(form_fields("reason"))["reason"]
        exemptions_api.revoke_exemption_for(exemption_id, g.actor, reason)
        return f"Exemption #{exemption_id} revoked; the rule applies again from now."

    return act(revoke, url_for("admin.rules"))
