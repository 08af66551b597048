"""The program's own records: staff check-ins, form submissions and hand-logged sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import Response, g, jsonify
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector import audit
from connector.api import STAFF, body, bp, get_or_404, iso, services
from connector.auth import requires
from connector.domain import CheckInLogged, SessionLogged, SubmissionReceived
from connector.events import enqueue
from connector.state import insert_ignore
from connector.store.models import CheckIn, Meeting, OutboxItem, Pairing, Submission

FORMS = ("goals", "feedback", "closing_reflection")


class CheckInSchema(Schema):
    party = fields.String(required=True, validate=validate.OneOf(["mentor", "mentee", "both"]))
    at = fields.AwareDateTime(load_default=None)
    notes = fields.String(load_default="", validate=validate.Length(max=5000))
    safety_concern = fields.Boolean(load_default=False)


class SubmissionSchema(Schema):
    party = fields.String(required=True, validate=validate.OneOf(["mentor", "mentee"]))
    form = fields.String(required=True, validate=validate.OneOf(FORMS))
    answers = fields.Dict(keys=fields.String(), load_default=dict)


class SessionSchema(Schema):
    started_at = fields.AwareDateTime(required=True)
    ended_at = fields.AwareDateTime(required=True)
    platform = fields.String(load_default="in_person", validate=validate.Length(1, 16))

    @validates_schema
    def _ordered(self, data: dict[str, object], **_: object) -> None:
        if data["ended_at"] <= data["started_at"]:  # type: ignore[operator]
            raise ValidationError("must be after started_at", "ended_at")


@bp.post("/pairings/<int:pairing_id>/check-ins")
@requires("admin", "coordinator", "safeguarding")
def log_check_in(pairing_id: int) -> tuple[Response, int]:
    data = body(CheckInSchema())
    now = services().clock.now()
    parties = ("mentor", "mentee") if data["party"] == "both" else (data["party"],)
    with services().store.session() as session:
        get_or_404(session, Pairing, pairing_id)
        for party in parties:
            session.add(
                CheckIn(
                    pairing_id=pairing_id,
                    party=party,
                    at=data["at"] or now,
                    by=g.actor,
                    notes=data["notes"],
                    safety_concern=data["safety_concern"],
                )
            )
            enqueue(session, CheckInLogged(pairing_id=pairing_id, party=party), now)
        audit.record(
            session,
            now,
            g.actor,
            "check_in.logged",
            "pairing",
            pairing_id,
            parties=list(parties),
            safety_concern=data["safety_concern"],
        )
    return jsonify(logged=list(parties)), 201


@bp.post("/pairings/<int:pairing_id>/submissions")
@requires("admin", "coordinator")
def record_submission(pairing_id: int) -> tuple[Response, int]:
    """A party's form (goals, feedback, closing reflection); the first one of each counts."""
    data = body(SubmissionSchema())
    now = services().clock.now()
    with services().store.session() as session:
        get_or_404(session, Pairing, pairing_id)
        new = store_submission(
            session, pairing_id, data["party"], data["form"], data["answers"], now
        )
    return jsonify(recorded=new), 201 if new else 200


def store_submission(
    session: Session,
    pairing_id: int,
    party: str,
    form: str,
    answers: dict[str, Any],
    now: datetime,
    *,
    source: str = "api",
    delivery_id: str | None = None,
) -> bool:
    """Store a party's form and queue its event; False when that party had sent it already.

    The API and the forms under /forms both come through here.
    """
    new = insert_ignore(
        session,
        Submission,
        {
            "pairing_id": pairing_id,
            "party": party,
            "form": form,
            "submitted_at": now,
            "answers": answers,
        },
        ("pairing_id", "party", "form"),
    )
    if new is not None:
        enqueue(
            session,
            SubmissionReceived(pairing_id=pairing_id, party=party, form=form),
            now,
            source=source,
            delivery_id=delivery_id,
        )
    return new is not None


@bp.post("/pairings/<int:pairing_id>/sessions")
@requires("admin", "coordinator")
def log_session(pairing_id: int) -> tuple[Response, int]:
    """A session held outside the video platforms (in person), logged by staff."""
    data = body(SessionSchema())
    now = services().clock.now()
    with services().store.session() as session:
        get_or_404(session, Pairing, pairing_id)
        meeting_id = store_session(
            session,
            pairing_id,
            data["started_at"],
            data["ended_at"],
            data["platform"],
            g.actor,
            now,
        )
        return jsonify(meeting_id=meeting_id), 201


def store_session(
    session: Session,
    pairing_id: int,
    started_at: datetime,
    ended_at: datetime,
    platform: str,
    actor: str,
    now: datetime,
    *,
    source: str = "api",
    delivery_id: str | None = None,
) -> int:
    """Record a session held outside the video platforms; the new meeting's id.

    The API and the in-person session form both come through here.
    """
    ref = f"manual-{uuid.uuid4().hex[:12]}"
    meeting = Meeting(
        platform=platform,
        external_id=ref,
        instance_uuid=ref,
        pairing_id=pairing_id,
        started_at=started_at,
        ended_at=ended_at,
        held=True,
        topic="logged session",
    )
    session.add(meeting)
    session.flush()
    enqueue(
        session,
        SessionLogged(
            platform=meeting.platform,
            pairing_id=pairing_id,
            meeting_id=meeting.id,
            started_at=started_at,
            ended_at=ended_at,
        ),
        now,
        source=source,
        delivery_id=delivery_id,
    )
    audit.record(
        session,
        now,
        actor,
        "session.logged",
        "pairing",
        pairing_id,
        meeting_id=meeting.id,
        platform=meeting.platform,
    )
    return meeting.id


@bp.get("/pairings/<int:pairing_id>/decisions")
@requires(*STAFF)
def pairing_decisions(pairing_id: int) -> Response:
    """What the rules decided for a pairing, newest first, and whether it was carried out."""
    with services().store.session() as session:
        rows = session.scalars(
            select(OutboxItem)
            .where(OutboxItem.pairing_id == pairing_id)
            .order_by(OutboxItem.id.desc())
        ).all()
        visible = [
            r for r in rows if not r.decision.get("confidential") or g.role == "safeguarding"
        ]
        return jsonify(
            decisions=[
                {
                    "key": r.key,
                    "rule": r.rule_id,
                    "kind": r.kind,
                    "status": r.status,
                    "created_at": iso(r.created_at),
                    "title": r.decision.get("title", ""),
                    "reason": r.decision.get("reason", ""),
                }
                for r in visible
            ]
        )
