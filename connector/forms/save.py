"""Storing a validated form: through the same functions as the JSON API, in one transaction.

Every handler queues its event with the form's one-time nonce as the inbox delivery id, so a
form sent twice raises `AlreadyReceived` the second time and its transaction rolls back:
stored once. Handlers return what the acknowledgement page shows (a concern's reference).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector import audit
from connector.api.concerns import create_concern
from connector.api.pairings import set_consent
from connector.api.people import apply_person
from connector.api.program import store_session, store_submission
from connector.domain import PersonStatusChanged, Priority, Role, Task, VettingChanged
from connector.events import enqueue
from connector.links import Claims, LinkInvalid
from connector.runner import write_decision
from connector.settings import Settings
from connector.store.models import Concern, InboxEvent, Pairing, Person

SOURCE = "forms"
Handler = Callable[[Session, dict[str, Any], Claims | None, Settings, datetime], str | None]


class Refused(Exception):
    """Valid input the store cannot take; `field` gets `message` on the re-rendered form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def delivery_id(nonce: str) -> str:
    return f"form:{nonce}"


def linked(claims: Claims | None) -> tuple[int, str]:
    """The pairing and party of a link-only form (the views admit no link without them)."""
    if claims is None or claims.pairing_id is None or claims.party is None:
        raise LinkInvalid("this form needs a personal link")
    return claims.pairing_id, claims.party


def actor(claims: Claims | None) -> str:
    """Who sent the form, for the audit log: a person id, never a name."""
    if claims is None or claims.person_id is None:
        return "form:public"
    return f"form:person:{claims.person_id}"


def _submission(form: str) -> Handler:
    def save(
        session: Session, data: dict[str, Any], claims: Claims | None, _s: Settings, now: datetime
    ) -> str | None:
        pairing_id, party = linked(claims)
        answers = {k: v for k, v in data.items() if k != "nonce" and v is not None}
        store_submission(
            session,
            pairing_id,
            party,
            form,
            answers,
            now,
            source=SOURCE,
            delivery_id=delivery_id(data["nonce"]),
        )
        return None

    return save


def save_consent(
    session: Session, data: dict[str, Any], claims: Claims | None, _s: Settings, now: datetime
) -> str | None:
    pairing_id, party = linked(claims)
    pairing = session.get_one(Pairing, pairing_id)
    given = data["consent"] == "give"
    set_consent(
        session,
        pairing,
        party,
        given,
        now,
        actor(claims),
        now,
        source=SOURCE,
        delivery_id=delivery_id(data["nonce"]),
    )
    return None


def save_session(
    session: Session, data: dict[str, Any], claims: Claims | None, settings: Settings, now: datetime
) -> str | None:
    pairing_id, _party = linked(claims)
    zone = ZoneInfo(settings.connector.timezone)
    started = datetime.combine(data["date"], data["start_time"], tzinfo=zone)
    ended = started + timedelta(minutes=data["duration_minutes"])
    if ended > now + timedelta(hours=1):
        raise Refused("date", "A session can be logged only once it has taken place")
    store_session(
        session,
        pairing_id,
        started,
        ended,
        "in_person",
        actor(claims),
        now,
        source=SOURCE,
        delivery_id=delivery_id(data["nonce"]),
    )
    return None


def save_concern(
    session: Session, data: dict[str, Any], claims: Claims | None, _s: Settings, now: datetime
) -> str | None:
    anonymous = bool(data["anonymous"])
    body = data["body"]
    if data.get("contact") and not anonymous:
        body += f"\n\nHow to reach the reporter: {data['contact']}"
    concern = create_concern(
        session,
        {
            "body": body,
            "pairing_id": claims.pairing_id if claims else None,
            "reporter_person_id": None if anonymous or claims is None else claims.person_id,
            "anonymous": anonymous,
        },
        "form:anonymous" if anonymous else actor(claims),
        now,
        source=SOURCE,
        delivery_id=delivery_id(data["nonce"]),
    )
    return concern.reference


def concern_reference(session: Session, nonce: str) -> str | None:
    """The reference of the concern a form with `nonce` stored (for a repeated submit)."""
    events = session.scalar(
        select(InboxEvent.events).where(
            InboxEvent.source == SOURCE, InboxEvent.delivery_id == delivery_id(nonce)
        )
    )
    concern_id = events[0].get("concern_id") if events else None
    if concern_id is None:
        return None
    return session.scalar(select(Concern.reference).where(Concern.id == concern_id))


def _application(role: Role) -> Handler:
    def save(
        session: Session, data: dict[str, Any], _c: Claims | None, settings: Settings, now: datetime
    ) -> str | None:
        email = data["email"].strip().lower()
        person = session.scalar(select(Person).where(Person.email == email))
        if person is not None and person.role != role:
            raise Refused("email", "This address is registered for another role; contact us")
        before = person.status if person else None
        if person is None:
            person = Person(role=role.value, status="applicant", created_at=now, email=email)
            session.add(person)
        vetting = None
        if role == Role.MENTOR:
            steps = settings.rule("vetting-gate").params.steps()
            have = {v.step for v in person.vetting_steps}
            vetting = [{"step": s, "status": "pending"} for s in steps if s not in have]
        fields = {"name": data["name"], "phone": data.get("phone"), "vetting": vetting}
        apply_person(person, {k: v for k, v in fields.items() if v is not None})
        person.updated_at = now
        session.flush()
        review_task(session, person, data, settings, now)
        audit.record(session, now, "form:public", "person.applied", "person", person.id)
        event = (
            VettingChanged(person_id=person.id)
            if role == Role.MENTOR
            else PersonStatusChanged(
                person_id=person.id, status_from=before, status_to=person.status
            )
        )
        enqueue(session, event, now, source=SOURCE, delivery_id=delivery_id(data["nonce"]))
        return None

    return save


APPLICATION_LABELS = {
    "background": "Professional background",
    "expertise": "Expertise",
    "availability": "Availability",
    "reference1_name": "Reference 1",
    "reference1_contact": "Reference 1 contact",
    "reference2_name": "Reference 2",
    "reference2_contact": "Reference 2 contact",
    "goals": "Goals",
}


def review_task(
    session: Session, person: Person, data: dict[str, Any], settings: Settings, now: datetime
) -> None:
    """The coordinator's task to review the application, through the outbox to the host."""
    details = "\n".join(
        f"{label}: {data[key]}" for key, label in APPLICATION_LABELS.items() if data.get(key)
    )
    write_decision(
        session,
        Task(
            key=f"application-review:{data['nonce']}",
            rule_id="application-review",
            reason=f"{person.name} ({person.email}) applied as a {person.role}.\n{details}",
            title=f"Review the {person.role} application of {person.name}",
            priority=Priority.NORMAL,
            due=now + timedelta(days=7),
            policy_version=settings.policy.policy_version,
        ),
        now,
    )


HANDLERS: dict[str, Handler] = {
    "apply-mentor": _application(Role.MENTOR),
    "apply-mentee": _application(Role.MENTEE),
    "consent": save_consent,
    "goals": _submission("goals"),
    "feedback": _submission("feedback"),
    "closing": _submission("closing_reflection"),
    "session": save_session,
    "concern": save_concern,
}
