"""The JSON API under `/api/v1`: people, pairings, consent, tasks and alerts.

Enough for a program without a CRM to run on the `local` host. Every input is validated with
marshmallow; every error has one shape: `{"error": code, "message": text, "fields": {...}}`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector import audit
from connector.auth import requires
from connector.domain import PairingStatus, PersonStatus, Priority, Role
from connector.services import Services
from connector.store.models import LocalItem, MeetingLink, Pairing, Person, VettingStep

M = TypeVar("M")
log = logging.getLogger("connector.api")
bp = Blueprint("api", __name__, url_prefix="/api/v1")
STAFF = ("admin", "coordinator", "safeguarding")
SEES_CONSENT = ("admin", "safeguarding")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


@bp.errorhandler(ValidationError)
def _invalid(exc: ValidationError) -> tuple[Response, int]:
    return jsonify(error="invalid", message="the request is not valid", fields=exc.messages), 400


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> tuple[Response, int]:
    return jsonify(error=exc.code, message=str(exc)), exc.status


def _services() -> Services:
    services: Services = current_app.extensions["connector"]
    return services


def _body(schema: Schema, partial: bool = False) -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid", "the body must be a JSON object")
    loaded: dict[str, Any] = schema.load(data, partial=partial)
    return loaded


# --------------------------------------------------------------------------- schemas


class VettingSchema(Schema):
    step = fields.String(required=True, validate=validate.Length(1, 64))
    status = fields.String(
        load_default="pending", validate=validate.OneOf(["pending", "passed", "failed"])
    )
    completed_on = fields.Date(allow_none=True)
    expires_on = fields.Date(allow_none=True)


class PersonSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))
    status = fields.String(validate=validate.OneOf([s.value for s in PersonStatus]))
    name = fields.String(required=True, validate=validate.Length(1, 255))
    email = fields.Email(allow_none=True)
    phone = fields.String(allow_none=True, validate=validate.Length(max=64))
    external_ref = fields.String(allow_none=True, validate=validate.Length(max=255))
    vetting = fields.List(fields.Nested(VettingSchema))


class PairingSchema(Schema):
    mentor_id = fields.Integer(required=True)
    mentee_id = fields.Integer(required=True)
    status = fields.String(validate=validate.OneOf([s.value for s in PairingStatus]))
    started_on = fields.Date(allow_none=True)
    ended_on = fields.Date(allow_none=True)
    external_ref = fields.String(allow_none=True, validate=validate.Length(max=255))
    zoom_meeting_id = fields.String(allow_none=True, validate=validate.Regexp(r"^\d{9,12}$"))


class ConsentSchema(Schema):
    party = fields.String(required=True, validate=validate.OneOf(["mentor", "mentee"]))
    consent = fields.Boolean(required=True)
    at = fields.AwareDateTime(load_default=None)


class DoneSchema(Schema):
    note = fields.String(required=True, validate=validate.Length(1, 5000))


class ItemQuery(Schema):
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "done", "all"]))
    rule = fields.String()
    pairing = fields.Integer()
    priority = fields.String(validate=validate.OneOf([p.value for p in Priority]))


# --------------------------------------------------------------------------- people


@bp.get("/people")
@requires(*STAFF)
def list_people() -> Response:
    with _services().store.session() as session:
        people = session.scalars(select(Person).order_by(Person.id)).all()
        return jsonify(people=[_person_json(p) for p in people])


@bp.post("/people")
@requires("admin", "coordinator")
def create_person() -> tuple[Response, int]:
    data = _body(PersonSchema())
    now = _services().clock.now()
    with _services().store.session() as session:
        person = Person(created_at=now, updated_at=now, status=PersonStatus.APPLICANT.value)
        _apply_person(person, data)
        session.add(person)
        _flush_unique(session, "a person with this email or external_ref exists")
        audit.record(session, now, g.actor, "person.created", "person", person.id)
        return jsonify(_person_json(person)), 201


@bp.patch("/people/<int:person_id>")
@requires("admin", "coordinator")
def update_person(person_id: int) -> Response:
    data = _body(PersonSchema(), partial=True)
    now = _services().clock.now()
    with _services().store.session() as session:
        person = _get(session, Person, person_id)
        _apply_person(person, data)
        person.updated_at = now
        _flush_unique(session, "a person with this email or external_ref exists")
        audit.record(
            session, now, g.actor, "person.updated", "person", person.id, fields=sorted(data)
        )
        return jsonify(_person_json(person))


def _apply_person(person: Person, data: dict[str, Any]) -> None:
    vetting = data.pop("vetting", None)
    if data.get("email"):
        data["email"] = data["email"].strip().lower()
    for key, value in data.items():
        setattr(person, key, value)
    if vetting is not None:
        by_step = {v.step: v for v in person.vetting_steps}
        for step in vetting:
            row = by_step.get(step["step"]) or VettingStep(step=step["step"])
            for key, value in step.items():
                setattr(row, key, value)
            if row not in person.vetting_steps:
                person.vetting_steps.append(row)


def _person_json(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "role": person.role,
        "status": person.status,
        "name": person.name,
        "email": person.email,
        "phone": person.phone,
        "external_ref": person.external_ref,
        "vetting": [
            {
                "step": v.step,
                "status": v.status,
                "completed_on": v.completed_on.isoformat() if v.completed_on else None,
                "expires_on": v.expires_on.isoformat() if v.expires_on else None,
            }
            for v in person.vetting_steps
        ],
    }


# --------------------------------------------------------------------------- pairings


@bp.get("/pairings")
@requires(*STAFF)
def list_pairings() -> Response:
    with _services().store.session() as session:
        pairings = session.scalars(select(Pairing).order_by(Pairing.id)).all()
        return jsonify(pairings=[_pairing_json(p) for p in pairings])


@bp.post("/pairings")
@requires("admin", "coordinator")
def create_pairing() -> tuple[Response, int]:
    data = _body(PairingSchema())
    now = _services().clock.now()
    with _services().store.session() as session:
        pairing = Pairing(created_at=now, updated_at=now, status=PairingStatus.PROPOSED.value)
        _apply_pairing(session, pairing, data)
        session.add(pairing)
        _flush_unique(session, "this pairing's external_ref or Zoom meeting id is taken")
        audit.record(session, now, g.actor, "pairing.created", "pairing", pairing.id)
        return jsonify(_pairing_json(pairing)), 201


@bp.patch("/pairings/<int:pairing_id>")
@requires("admin", "coordinator")
def update_pairing(pairing_id: int) -> Response:
    data = _body(PairingSchema(), partial=True)
    now = _services().clock.now()
    with _services().store.session() as session:
        pairing = _get(session, Pairing, pairing_id)
        before = pairing.status
        _apply_pairing(session, pairing, data)
        pairing.updated_at = now
        _flush_unique(session, "this pairing's external_ref or Zoom meeting id is taken")
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
        return jsonify(_pairing_json(pairing))


def _apply_pairing(session: Session, pairing: Pairing, data: dict[str, Any]) -> None:
    zoom_id = data.pop("zoom_meeting_id", None)
    for key, value in data.items():
        setattr(pairing, key, value)
    mentor = _get(session, Person, pairing.mentor_id)
    mentee = _get(session, Person, pairing.mentee_id)
    if mentor.role != Role.MENTOR or mentee.role != Role.MENTEE:
        raise ApiError(400, "invalid", "mentor_id must be a mentor and mentee_id a mentee")
    if zoom_id:
        pairing.meeting_links = [
            link for link in pairing.meeting_links if link.platform != "zoom"
        ] + [MeetingLink(platform="zoom", external_meeting_id=zoom_id)]


def _pairing_json(pairing: Pairing) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": pairing.id,
        "mentor_id": pairing.mentor_id,
        "mentee_id": pairing.mentee_id,
        "status": pairing.status,
        "started_on": pairing.started_on.isoformat() if pairing.started_on else None,
        "ended_on": pairing.ended_on.isoformat() if pairing.ended_on else None,
        "external_ref": pairing.external_ref,
        "meetings": {link.platform: link.external_meeting_id for link in pairing.meeting_links},
    }
    if g.role in SEES_CONSENT:
        data["recording_consent"] = {
            "mentor": _consent(pairing.mentor_recording_consent, pairing.mentor_consent_at),
            "mentee": _consent(pairing.mentee_recording_consent, pairing.mentee_consent_at),
        }
    return data


def _consent(given: bool, at: datetime | None) -> dict[str, Any]:
    return {"given": given, "at": at.isoformat() if at else None}


@bp.post("/pairings/<int:pairing_id>/consent")
@requires("admin", "safeguarding")
def record_consent(pairing_id: int) -> Response:
    """Record or revoke one party's recording consent, timestamped and audited."""
    data = _body(ConsentSchema())
    now = _services().clock.now()
    at = data["at"] or now
    with _services().store.session() as session:
        pairing = _get(session, Pairing, pairing_id)
        party = data["party"]
        setattr(pairing, f"{party}_recording_consent", data["consent"])
        setattr(pairing, f"{party}_consent_at", at)
        pairing.updated_at = now
        action = "consent.given" if data["consent"] else "consent.revoked"
        audit.record(
            session,
            now,
            g.actor,
            action,
            "pairing",
            pairing.id,
            party=party,
            consent_at=at.isoformat(),
        )
        return jsonify(_pairing_json(pairing))


# --------------------------------------------------------------------------- tasks, alerts


@bp.get("/tasks")
@requires(*STAFF)
def list_tasks() -> Response:
    return _list_items("task")


@bp.get("/alerts")
@requires(*STAFF)
def list_alerts() -> Response:
    return _list_items("alert")


def _list_items(kind: str) -> Response:
    query = ItemQuery().load(request.args.to_dict())
    items = open_items(kind, query, g.role, g.actor)
    return jsonify(**{f"{kind}s": items})


def open_items(kind: str, query: dict[str, Any], role: str, actor: str) -> list[dict[str, Any]]:
    """Items of one kind, filtered; confidential ones redacted unless `role` is safeguarding."""
    stmt = select(LocalItem).where(LocalItem.kind == kind).order_by(LocalItem.id)
    if query.get("status", "open") != "all":
        stmt = stmt.where(LocalItem.status == query.get("status", "open"))
    if "rule" in query:
        stmt = stmt.where(LocalItem.rule_id == query["rule"])
    if "pairing" in query:
        stmt = stmt.where(LocalItem.pairing_id == query["pairing"])
    if "priority" in query:
        stmt = stmt.where(LocalItem.priority == query["priority"])
    services = _services()
    with services.store.session() as session:
        items = session.scalars(stmt).all()
        shown = [item_json(item, role) for item in items]
        revealed = [i.id for i in items if i.confidential and role == "safeguarding"]
        if revealed:
            audit.record(
                session,
                services.clock.now(),
                actor,
                "confidential.viewed",
                "local_item",
                ",".join(map(str, revealed)),
            )
    return shown


def item_json(item: LocalItem, role: str) -> dict[str, Any]:
    data = {
        "id": item.id,
        "kind": item.kind,
        "key": item.key,
        "rule": item.rule_id,
        "priority": item.priority,
        "audience": item.audience,
        "confidential": item.confidential,
        "pairing_id": item.pairing_id,
        "due_at": item.due_at.isoformat() if item.due_at else None,
        "status": item.status,
        "policy_version": item.policy_version,
        "created_at": item.created_at.isoformat(),
        "title": item.title,
        "reason": item.reason,
        "done_note": item.done_note,
    }
    if item.confidential and role != "safeguarding":
        data.update(
            title="Confidential item for the safeguarding lead",
            reason="Visible only to the safeguarding role.",
            pairing_id=None,
            key=None,
            done_note=None,
        )
    return data


@bp.post("/tasks/<int:item_id>/done")
@bp.post("/alerts/<int:item_id>/done")
@requires(*STAFF)
def mark_done(item_id: int) -> Response:
    data = _body(DoneSchema())
    now = _services().clock.now()
    with _services().store.session() as session:
        item = _get(session, LocalItem, item_id)
        if item.confidential and g.role != "safeguarding":
            raise ApiError(403, "forbidden", "only the safeguarding role may close this item")
        item.status, item.done_note, item.done_at, item.updated_at = "done", data["note"], now, now
        audit.record(session, now, g.actor, f"{item.kind}.done", "local_item", item.id)
        return jsonify(item_json(item, g.role))


# --------------------------------------------------------------------------- helpers


def _get(session: Session, model: type[M], ident: int) -> M:
    obj = session.get(model, ident)
    if obj is None:
        raise ApiError(404, "not_found", f"no {model.__name__.lower()} {ident}")
    return obj


def _flush_unique(session: Session, message: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise ApiError(409, "conflict", message) from exc
