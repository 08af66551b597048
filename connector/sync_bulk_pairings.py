"""Applying the plain records of a `pairings` page in bulk (see `connector.sync_bulk`).

A plain pairing record is a new pairing whose mentor and mentee are synced in their roles and
that registers no meeting id, or one that changes nothing. A new pairing's gates are asked
with a context built from the page's rows: no meeting, submission or exemption can name a
pairing written a moment ago.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select

from adapters.base import HostRecord
from connector.context import exempt_rules, person_view
from connector.domain import ConsentChanged, PairingStatus, PairingStatusChanged, Role
from connector.store.models import MeetingLink, Pairing, Person
from connector.sync_apply import PageState
from connector.sync_bulk import Emitted, audit_all, inserted, repeated_refs
from connector.sync_pairings import COPIED, raise_refusals
from rules.base import Context, PairingView
from rules.calendar import local_date


def apply_pairings_in_bulk(state: PageState, records: Sequence[HostRecord]) -> list[HostRecord]:
    """Write the page's plain pairings records; the records left for one-by-one."""
    repeated = repeated_refs([r.external_id for r in records])
    links = _links(state, [p.id for p in state.pairings.values() if p is not None])
    left: list[HostRecord] = []
    new: list[HostRecord] = []
    for record in records:
        found = state.pairings.get(record.external_id)
        if record.deleted or record.merged_into or record.external_id in repeated:
            left.append(record)
        elif found is None:
            (new if _plain_new_pairing(state, record) else left).append(record)
        elif not _unchanged_pairing(state, record, found, links.get(found.id, {})):
            left.append(record)
    if new:
        _insert_pairings(state, new)
    return left


def _plain_new_pairing(state: PageState, record: HostRecord) -> bool:
    """Both parties synced in their roles, and no meeting id to register."""
    values = record.values
    for party, role in (("mentor", Role.MENTOR), ("mentee", Role.MENTEE)):
        person = state.people.get(values.get(party) or "")
        if person is None or person.role != role:
            return False
    return not any(v for k, v in values.items() if k.startswith("meeting."))


def _unchanged_pairing(
    state: PageState, record: HostRecord, found: Pairing, links: dict[str, list[str]]
) -> bool:
    """True when applying `record` would change nothing of `found`."""
    values = record.values
    for party, column in (("mentor", found.mentor_id), ("mentee", found.mentee_id)):
        person = state.people.get(values.get(party) or "")
        if person is None or person.id != column:
            return False
    if any(name in values and getattr(found, name) != values[name] for name in COPIED):
        return False
    for party in ("mentor", "mentee"):
        given = values.get(f"{party}_consent")
        if given is not None and given != getattr(found, f"{party}_recording_consent"):
            return False
    for name, meeting_id in values.items():
        if name.startswith("meeting."):
            have = links.get(name.split(".", 1)[1], [])
            if (have != [meeting_id]) if meeting_id else have:
                return False
    return (values.get("status") or found.status) == found.status


def _insert_pairings(state: PageState, records: list[HostRecord]) -> None:
    rows = [_pairing_row(state, r) for r in records]
    ids = inserted(state, insert(Pairing).returning(Pairing.id, Pairing.external_ref), rows)
    audits: list[tuple[str, str, int, dict[str, Any]]] = []
    emitted: list[Emitted] = []
    exempt = exempt_rules(state.session, None)  # a new pairing has no exemptions of its own
    for record, row in zip(records, rows, strict=True):
        pairing_id = ids[record.external_id]
        for party in ("mentor", "mentee"):
            if row[f"{party}_recording_consent"]:
                at = row[f"{party}_consent_at"]
                detail = {"party": party, "consent_at": at.isoformat()}
                audits.append(("consent.given", "pairing", pairing_id, detail))
                consent = ConsentChanged(pairing_id=pairing_id, party=party, given=True, at=at)
                emitted.append((record, consent, f":{party}"))
        status = row["status"]
        context = _new_pairing_context(state, record, row, pairing_id, exempt)
        raise_refusals(state, record, pairing_id, None, status, context)
        detail = {"status_from": None, "status_to": status}
        audits.append(("pairing.updated", "pairing", pairing_id, detail))
        event = PairingStatusChanged(pairing_id=pairing_id, status_from=None, status_to=status)
        emitted.append((record, event, ""))
    audit_all(state, audits)
    state.emit_all(emitted)
    state.forget(ids)


def _new_pairing_context(
    state: PageState,
    record: HostRecord,
    row: dict[str, Any],
    pairing_id: int,
    exempt: frozenset[str],
) -> Context:
    """What `connector.context.build_context` reads for a pairing just written, without its
    queries: no meetings, submissions or exemptions can name a new pairing yet."""
    policy = state.settings.policy
    view = PairingView(
        id=pairing_id,
        status=row["status"],
        mentor=person_view(_party(state, record, "mentor")),
        mentee=person_view(_party(state, record, "mentee")),
        mentor_recording_consent=row["mentor_recording_consent"],
        mentor_consent_at=row["mentor_consent_at"],
        mentee_recording_consent=row["mentee_recording_consent"],
        mentee_consent_at=row["mentee_consent_at"],
        held_sessions=0,
        started_on=record.values.get("started_on"),  # the gates run before it is defaulted
        extenuating_circumstances=row["extenuating_circumstances"],
    )
    return Context(
        now=state.now,
        policy_version=policy.policy_version,
        pairing=view,
        timezone=state.settings.connector.timezone,
        approved_platforms=policy.approved_platforms,
        in_person_allowed=policy.in_person_allowed,
        exempt=exempt,
    )


def _pairing_row(state: PageState, record: HostRecord) -> dict[str, Any]:
    values = record.values
    status = values.get("status") or PairingStatus.PROPOSED.value
    row: dict[str, Any] = {name: values.get(name) for name in COPIED}
    if status == PairingStatus.ACTIVE and row["started_on"] is None:
        row["started_on"] = local_date(state.now, state.settings.connector.timezone)
    for party in ("mentor", "mentee"):
        given = values.get(f"{party}_consent")  # a new pairing's consent is False until given
        at = (values.get(f"{party}_consent_at") or record.modified_at) if given else None
        row[f"{party}_recording_consent"] = bool(given)
        row[f"{party}_consent_at"] = at
    return row | {
        "external_ref": record.external_id,
        "mentor_id": _party(state, record, "mentor").id,
        "mentee_id": _party(state, record, "mentee").id,
        "status": status,
        "created_at": state.now,
        "updated_at": state.now,
    }


def _links(state: PageState, pairing_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    """The meeting ids registered for each of `pairing_ids`, by platform."""
    out: dict[int, dict[str, list[str]]] = {}
    if not pairing_ids:
        return out
    rows = state.session.execute(
        select(MeetingLink.pairing_id, MeetingLink.platform, MeetingLink.external_meeting_id)
        .where(MeetingLink.pairing_id.in_(pairing_ids))
        .order_by(MeetingLink.id)
    )
    for pairing_id, platform, meeting_id in rows:
        out.setdefault(pairing_id, {}).setdefault(platform, []).append(meeting_id)
    return out


def _party(state: PageState, record: HostRecord, party: str) -> Person:
    person = state.people[record.values[party]]
    assert person is not None  # _plain_new_pairing checked both parties
    return person
