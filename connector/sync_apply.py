"""Applying one page of host records to the store: people here, pairings and sessions in
`connector.sync_pairings`.

Records are matched on `external_ref` (the host's record id). Every change that matters to a
rule queues its domain event in the page's transaction, and only when something really
changed; the delivery id is built from the host, the record and its modification time, so a
record read again (the lookback window, a targeted sync) never queues a second event.

A record that names something not synced yet (a pairing whose mentor is unknown) is
*deferred*: kept in `sync_deferred` with the reason, and read again by later runs.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from adapters.base import HostRecord
from connector import audit
from connector.api.people import apply_person
from connector.domain import Event, PersonStatus, PersonStatusChanged, VettingChanged
from connector.events import enqueue, enqueue_many
from connector.settings import Settings
from connector.store.models import Concern, MeetingParticipant, Pairing, Person

log = logging.getLogger("connector.sync")

_PERSON_FIELDS = ("role", "name", "status", "email", "phone")


class Deferred(Exception):
    """The record cannot be applied yet; the message says what it is waiting for."""


@dataclass
class PageState:
    """One page's transaction, and the rows of its records looked up once for the page."""

    session: Session
    host: str
    settings: Settings
    now: datetime
    people: dict[str, Person | None] = field(default_factory=dict)  # by external_ref
    pairings: dict[str, Pairing | None] = field(default_factory=dict)
    events: int = 0

    @property
    def actor(self) -> str:
        return f"sync:{self.host}"

    def emit(self, record: HostRecord, event: Event, tag: str = "") -> None:
        """Queue `event` once per record version, whatever number of times it is read."""
        delivery = self.delivery_id(record, event, tag)
        if enqueue(self.session, event, self.now, self.host, delivery, duplicate="skip"):
            self.events += 1

    def emit_all(self, items: Iterable[tuple[HostRecord, Event, str]]) -> None:
        """`emit` for many (record, event, tag) at once, in one statement."""
        queued = [(event, self.delivery_id(r, event, tag)) for r, event, tag in items]
        self.events += enqueue_many(self.session, queued, self.now, self.host)

    def delivery_id(self, record: HostRecord, event: Event, tag: str = "") -> str:
        """One per record version and event: a record read again queues nothing new."""
        delivery = (
            f"sync:{self.host}:{record.stream}:{record.external_id}:"
            f"{record.modified_at.isoformat()}:{event.kind}{tag}"
        )
        if len(delivery) > 255:  # a host with very long ids: a digest keeps it unique
            delivery = f"sync:{hashlib.sha256(delivery.encode()).hexdigest()}"
        return delivery

    def forget(self, refs: Iterable[str]) -> None:
        """Drop cached look-ups (rows written in bulk): the next look-up reads the store."""
        for ref in refs:
            self.people.pop(ref, None)
            self.pairings.pop(ref, None)

    def load_people(self, refs: Iterable[str | None]) -> None:
        """Look up, in one query, every person named by `refs` not looked up yet."""
        wanted = {r for r in refs if r and r not in self.people}
        if not wanted:
            return
        found = self.session.scalars(
            select(Person)
            .where(Person.external_ref.in_(wanted))
            .options(selectinload(Person.vetting_steps))
        )
        self.people.update(dict.fromkeys(wanted))
        self.people.update({p.external_ref or "": p for p in found})

    def person(self, ref: str | None) -> Person | None:
        if not ref:
            return None
        self.load_people([ref])
        return self.people.get(ref)


def apply_person_record(state: PageState, record: HostRecord) -> None:
    """Create or update one person; a deletion removes them, a merge re-points them."""
    if record.merged_into:
        _merge_person(state, record)
        return
    person = state.person(record.external_id)
    if record.deleted:
        if person is not None:
            _set_status(state, record, person, PersonStatus.REMOVED.value)
        return
    new = person is None
    person = person or _new_person(state, record)
    before_vetting = () if new else _vetting_snapshot(person)
    data = person_data(state, record, person)
    status_to = data.pop("status", None)
    if data:
        apply_person(person, data)
        person.updated_at = state.now
    state.session.flush()
    if new:
        person.status = status_to or person.status
        audit.record(state.session, state.now, state.actor, "person.created", "person", person.id)
    elif status_to is not None:
        _set_status(state, record, person, status_to)
    if _vetting_snapshot(person) != before_vetting:
        state.emit(record, VettingChanged(person_id=person.id))


def _new_person(state: PageState, record: HostRecord) -> Person:
    values = record.values
    if not values.get("role"):
        raise Deferred("no role: map `role` or fill it in the host")
    person = _unlinked_by_email(state, values.get("email"))
    if person is None:
        person = Person(
            role=values["role"],
            status=PersonStatus.APPLICANT.value,
            name=values.get("name") or "",
            created_at=state.now,
            updated_at=state.now,
        )
        state.session.add(person)
    person.external_ref = record.external_id
    state.people[record.external_id] = person
    return person


def _unlinked_by_email(state: PageState, email: Any) -> Person | None:
    """A person entered in the connector before the host was connected, matched by e-mail."""
    if not email:
        return None
    return state.session.scalars(
        select(Person).where(
            func.lower(Person.email) == str(email).strip().lower(),
            Person.external_ref.is_(None),
        )
    ).first()


def person_data(state: PageState, record: HostRecord, person: Person) -> dict[str, Any]:
    """The record's person fields that differ from the row, and its vetting steps."""
    values = record.values
    data = {
        name: values[name]
        for name in _PERSON_FIELDS
        if name in values and (values[name] is not None or name in ("email", "phone"))
    }
    email = (data.get("email") or "").strip().lower() or None
    if "email" in data and email != person.email:
        if email and _email_taken(state, email, person):
            log.warning(
                "sync %s: person %s shares an e-mail with another person; e-mail not updated",
                state.host,
                record.external_id,
            )
            data.pop("email")
        else:
            data["email"] = email
    data = {k: v for k, v in data.items() if getattr(person, k) != v}
    vetting = vetting_values(values)
    if vetting:
        data["vetting"] = vetting
    return data


def _email_taken(state: PageState, email: str, person: Person) -> bool:
    state.session.flush()
    other = state.session.scalar(
        select(Person.id).where(func.lower(Person.email) == email, Person.id != person.id)
    )
    return other is not None


def vetting_values(values: dict[str, Any] | Any) -> list[dict[str, Any]]:
    """`vetting.<step>.<part>` domain fields as the API's vetting list."""
    steps: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        if not name.startswith("vetting."):
            continue
        _, step, part = name.split(".", 2)
        if part == "status" and value is None:
            value = "pending"
        steps.setdefault(step, {"step": step})[part] = value
    return list(steps.values())


def _vetting_snapshot(person: Person) -> tuple[tuple[str, str, date | None, date | None], ...]:
    return tuple(
        (v.step, v.status or "pending", v.completed_on, v.expires_on)
        for v in sorted(person.vetting_steps, key=lambda v: v.step)
    )


def _set_status(state: PageState, record: HostRecord, person: Person, status: str) -> None:
    before = person.status
    if before == status:
        return
    person.status = status
    person.updated_at = state.now
    audit.record(
        state.session,
        state.now,
        state.actor,
        "person.updated",
        "person",
        person.id,
        status_from=before,
        status_to=status,
    )
    state.emit(
        record, PersonStatusChanged(person_id=person.id, status_from=before, status_to=status)
    )


def _merge_person(state: PageState, record: HostRecord) -> None:
    """The host merged `record` into another: its pairings, meetings and concerns follow.

    The merged-away row stays (the audit log names it) with status `removed` and no event:
    nothing of it is left in any pairing for a rule to act on.
    """
    loser = state.person(record.external_id)
    if loser is None or loser.status == PersonStatus.REMOVED:
        return
    survivor = state.person(record.merged_into)
    if survivor is None:
        raise Deferred(f"merged into {record.merged_into}, which is not synced yet")
    state.session.flush()  # the bulk updates below must see every pending change
    moves: list[tuple[Any, Any]] = [
        (Pairing, Pairing.mentor_id),
        (Pairing, Pairing.mentee_id),
        (MeetingParticipant, MeetingParticipant.person_id),
        (Concern, Concern.about_person_id),
        (Concern, Concern.reporter_person_id),
    ]
    for model, column in moves:
        state.session.execute(
            update(model).where(column == loser.id).values({column.key: survivor.id}),
            execution_options={"synchronize_session": False},
        )
    state.session.expire_all()  # rows cached for this page may name the loser
    loser.status = PersonStatus.REMOVED.value
    loser.updated_at = state.now
    audit.record(
        state.session,
        state.now,
        state.actor,
        "person.merged",
        "person",
        loser.id,
        into=survivor.id,
    )
