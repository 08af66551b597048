"""Applying the plain records of a page in bulk: a few statements per page, not per record.
People here, pairings in `connector.sync_bulk_pairings`; `connector.sync.BULK` lists them.

A *plain* record is one whose effect is known from the page's prefetched rows alone: a new
person or pairing that names nothing missing and shares no e-mail or meeting id, or a record
that changes nothing. Those are written here with one statement per table (people, vetting
steps, pairings, audit entries, inbox events), with the same rows, audit entries and events
the one-by-one path (`connector.sync_apply`, `connector.sync_pairings`) would write.

Everything else (deletions, merges, changes to known rows, anything that may be deferred) is
handed back, and `connector.sync` applies it one record at a time, after the plain ones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select, update

from adapters.base import HostRecord
from connector.domain import Event, PersonStatus, VettingChanged
from connector.store.models import AuditEntry, Person, VettingStep
from connector.sync_apply import PageState, person_data, vetting_values

Emitted = tuple[HostRecord, Event, str]
Snapshot = dict[str, tuple[str, date | None, date | None]]


def apply_people_in_bulk(state: PageState, records: Sequence[HostRecord]) -> list[HostRecord]:
    """Write the page's plain people records; the records left for one-by-one."""
    repeated = repeated_refs([r.external_id for r in records])
    emails = Counter(e for e in map(_email, records) if e)
    known = _known_emails(state, set(emails))
    left: list[HostRecord] = []
    new: list[HostRecord] = []
    touched: list[int] = []
    for record in records:
        person = state.people.get(record.external_id)
        if record.deleted or record.merged_into or record.external_id in repeated:
            left.append(record)
        elif person is None:
            email = _email(record)
            plain = record.values.get("role") and not (
                email and (email in known or emails[email] > 1)
            )
            (new if plain else left).append(record)
        elif not _unchanged_person(state, record, person):
            left.append(record)
        elif vetting_values(record.values):
            touched.append(person.id)  # the one-by-one path stamps it too
    if touched:
        state.session.execute(
            update(Person).where(Person.id.in_(touched)).values(updated_at=state.now),
            execution_options={"synchronize_session": False},
        )
    if new:
        _insert_people(state, new)
    return left


def _insert_people(state: PageState, records: list[HostRecord]) -> None:
    rows = [_person_row(state, r) for r in records]
    ids = inserted(state, insert(Person).returning(Person.id, Person.external_ref), rows)
    steps: list[dict[str, Any]] = []
    emitted: list[Emitted] = []
    for record in records:
        person_id = ids[record.external_id]
        vetting = vetting_values(record.values)
        for step in vetting:
            steps.append(
                {
                    "person_id": person_id,
                    "step": step["step"],
                    "status": step.get("status", "pending"),
                    "completed_on": step.get("completed_on"),
                    "expires_on": step.get("expires_on"),
                }
            )
        if vetting:
            emitted.append((record, VettingChanged(person_id=person_id), ""))
    if steps:
        state.session.execute(insert(VettingStep), steps)
    audit_all(state, [("person.created", "person", ids[r.external_id], {}) for r in records])
    state.emit_all(emitted)
    state.forget(ids)


def _person_row(state: PageState, record: HostRecord) -> dict[str, Any]:
    values = record.values
    return {
        "external_ref": record.external_id,
        "role": values["role"],
        "status": values.get("status") or PersonStatus.APPLICANT.value,
        "name": values.get("name") or "",
        "email": _email(record),
        "phone": values.get("phone"),
        "created_at": state.now,
        "updated_at": state.now,
    }


def _unchanged_person(state: PageState, record: HostRecord, person: Person) -> bool:
    """True when applying `record` would change no field and no vetting step of `person`."""
    if "email" in record.values and _email(record) != person.email:
        return False  # the one-by-one path checks the new e-mail against everyone's
    data = person_data(state, record, person)
    vetting = data.pop("vetting", [])
    if data:
        return False
    before: Snapshot = {
        v.step: (v.status or "pending", v.completed_on, v.expires_on) for v in person.vetting_steps
    }
    after = dict(before)
    for step in vetting:
        status, completed, expires = after.get(step["step"], (None, None, None))
        after[step["step"]] = (
            step.get("status", status) or "pending",
            step.get("completed_on", completed),
            step.get("expires_on", expires),
        )
    return after == before


def _email(record: HostRecord) -> str | None:
    return (record.values.get("email") or "").strip().lower() or None


def _known_emails(state: PageState, emails: set[str]) -> set[str]:
    """Which of `emails` some person in the store already has (any case)."""
    if not emails:
        return set()
    found = state.session.scalars(
        select(func.lower(Person.email)).where(func.lower(Person.email).in_(emails))
    )
    return set(found)


# --------------------------------------------------------------------------- shared


def audit_all(state: PageState, entries: list[tuple[str, str, int, dict[str, Any]]]) -> None:
    """Audit entries in one statement, as `connector.audit.record` writes them one by one."""
    rows = [
        {
            "at": state.now,
            "actor": state.actor,
            "action": action,
            "subject_type": subject_type,
            "subject_id": str(subject_id),
            "detail": detail,
        }
        for action, subject_type, subject_id, detail in entries
    ]
    if rows:
        state.session.execute(insert(AuditEntry), rows)


def inserted(state: PageState, stmt: Any, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Run a bulk INSERT … RETURNING id, external_ref; the new ids by external_ref."""
    return {ref: id_ for id_, ref in state.session.execute(stmt, rows)}


def repeated_refs(refs: list[str]) -> set[str]:
    """Ids that occur more than once in a page: their versions are applied in order."""
    return {ref for ref, count in Counter(refs).items() if count > 1}
