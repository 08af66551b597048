"""People: mentors, mentees and staff, with their vetting steps."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from connector import audit
from connector.api import STAFF, body, bp, flush_unique, get_or_404, iso, services
from connector.auth import requires
from connector.domain import PersonStatus, PersonStatusChanged, Role, VettingChanged
from connector.events import enqueue
from connector.store.models import Person, VettingStep


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


@bp.get("/people")
@requires(*STAFF)
def list_people() -> Response:
    with services().store.session() as session:
        people = session.scalars(select(Person).order_by(Person.id)).all()
        return jsonify(people=[person_json(p) for p in people])


@bp.post("/people")
@requires("admin", "coordinator")
def create_person() -> tuple[Response, int]:
    data = body(PersonSchema())
    now = services().clock.now()
    with services().store.session() as session:
        person = Person(created_at=now, updated_at=now, status=PersonStatus.APPLICANT.value)
        vetting = apply_person(person, data)
        session.add(person)
        flush_unique(session, "a person with this email or external_ref exists")
        audit.record(session, now, g.actor, "person.created", "person", person.id)
        if vetting:
            enqueue(session, VettingChanged(person_id=person.id), now)
        return jsonify(person_json(person)), 201


@bp.patch("/people/<int:person_id>")
@requires("admin", "coordinator")
def update_person(person_id: int) -> Response:
    data = body(PersonSchema(), partial=True)
    now = services().clock.now()
    with services().store.session() as session:
        person = get_or_404(session, Person, person_id)
        before = person.status
        vetting = apply_person(person, data)
        person.updated_at = now
        flush_unique(session, "a person with this email or external_ref exists")
        audit.record(
            session,
            now,
            g.actor,
            "person.updated",
            "person",
            person.id,
            fields=sorted(data),
            status_from=before,
            status_to=person.status,
        )
        if person.status != before:
            enqueue(
                session,
                PersonStatusChanged(
                    person_id=person.id, status_from=before, status_to=person.status
                ),
                now,
            )
        if vetting:
            enqueue(session, VettingChanged(person_id=person.id), now)
        return jsonify(person_json(person))


def apply_person(person: Person, data: dict[str, Any]) -> bool:
    """Copy validated fields onto `person`; True when vetting steps were given."""
    vetting = data.pop("vetting", None)
    if data.get("email"):
        data["email"] = data["email"].strip().lower()
    for key, value in data.items():
        setattr(person, key, value)
    if vetting is None:
        return False
    by_step = {v.step: v for v in person.vetting_steps}
    for step in vetting:
        row = by_step.get(step["step"]) or VettingStep(step=step["step"])
        for key, value in step.items():
            setattr(row, key, value)
        if row not in person.vetting_steps:
            person.vetting_steps.append(row)
    return True


def person_json(person: Person) -> dict[str, Any]:
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
                "completed_on": iso(v.completed_on),
                "expires_on": iso(v.expires_on),
            }
            for v in person.vetting_steps
        ],
    }
