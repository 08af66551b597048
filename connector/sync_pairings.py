"""Applying host records of the `pairings` and `sessions` streams (see `connector.sync_apply`).

The host is the system of record: a pairing made active there *is* active, even when a gate
would have refused the change through the API. The gates are still asked
(`connector.gates.refusals`), and each refusal becomes an alert for staff to put right.

A pairing deleted in the host is closed here (its meetings, forms and check-ins stay part of
the program's history; gates are not asked, a deletion is not a policy transition). A merged
pairing is closed too, and its meetings and meeting ids move to the survivor.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select, update

from adapters.base import HostRecord
from connector import audit
from connector.domain import (
    Alert,
    ConsentChanged,
    PairingStatus,
    PairingStatusChanged,
    Priority,
    Role,
    SessionLogged,
)
from connector.gates import gate_refusals, refusals
from connector.runner import write_decision
from connector.store.models import Meeting, MeetingLink, Pairing, Person
from connector.sync_apply import Deferred, PageState
from rules.base import Context, Transition
from rules.calendar import local_date

IN_PERSON = "in_person"  # sessions logged in a host are held outside the video platforms
COPIED = ("started_on", "ended_on", "extenuating_circumstances")


def load_pairings(state: PageState, refs: Iterable[str | None]) -> None:
    """Look up, in one query, every pairing named by `refs` not looked up yet."""
    wanted = {r for r in refs if r and r not in state.pairings}
    if not wanted:
        return
    found = state.session.scalars(select(Pairing).where(Pairing.external_ref.in_(wanted)))
    state.pairings.update(dict.fromkeys(wanted))
    state.pairings.update({p.external_ref or "": p for p in found})


def pairing(state: PageState, ref: str | None) -> Pairing | None:
    if not ref:
        return None
    load_pairings(state, [ref])
    return state.pairings.get(ref)


def apply_pairing_record(state: PageState, record: HostRecord) -> None:
    """Create or update one pairing: parties, dates, meeting ids, consent and status."""
    found = pairing(state, record.external_id)
    if record.deleted or record.merged_into:
        if found is not None:
            _close_removed(state, record, found)
        return
    mentor = _party(state, record, "mentor", Role.MENTOR, found)
    mentee = _party(state, record, "mentee", Role.MENTEE, found)
    values = record.values
    if found is None:
        found = Pairing(
            external_ref=record.external_id,
            status=values.get("status") or PairingStatus.PROPOSED.value,
            created_at=state.now,
            updated_at=state.now,
        )
        state.session.add(found)
        state.pairings[record.external_id] = found
        before: str | None = None
    else:
        before = found.status
    found.mentor_id, found.mentee_id = mentor.id, mentee.id
    for name in COPIED:
        if name in values and getattr(found, name) != values[name]:
            setattr(found, name, values[name])
    state.session.flush()
    _meeting_links(state, record, found)
    _consent(state, record, found)
    status_to = values.get("status") or found.status
    if before is None or status_to != before:
        _change_status(state, record, found, before, status_to)


def _party(
    state: PageState, record: HostRecord, party: str, role: Role, current: Pairing | None
) -> Person:
    ref = record.values.get(party)
    if not ref and current is not None:
        return current.mentor if party == "mentor" else current.mentee
    person = state.person(ref)
    if person is None:
        raise Deferred(f"{party} {ref or '(empty)'} is not synced yet")
    if person.role != role:
        raise Deferred(f"{party} {ref} is a {person.role}, not a {role.value}")
    return person


def _meeting_links(state: PageState, record: HostRecord, found: Pairing) -> None:
    """`meeting.<platform>` fields: the video meeting each platform's sessions are held in."""
    for name, meeting_id in record.values.items():
        if not name.startswith("meeting."):
            continue
        platform = name.split(".", 1)[1]
        links = [link for link in found.meeting_links if link.platform == platform]
        if meeting_id and [link.external_meeting_id for link in links] == [meeting_id]:
            continue
        for link in links:
            found.meeting_links.remove(link)
        state.session.flush()
        taken = state.session.scalar(
            select(MeetingLink.pairing_id).where(
                MeetingLink.platform == platform, MeetingLink.external_meeting_id == meeting_id
            )
        )
        if meeting_id and taken is None:
            found.meeting_links.append(
                MeetingLink(platform=platform, external_meeting_id=meeting_id)
            )
        elif meeting_id:
            raise Deferred(f"its {platform} meeting id is registered for pairing P{taken}")


def _consent(state: PageState, record: HostRecord, found: Pairing) -> None:
    values = record.values
    for party in ("mentor", "mentee"):
        given = values.get(f"{party}_consent")
        if given is None or given == getattr(found, f"{party}_recording_consent"):
            continue
        at = values.get(f"{party}_consent_at") or record.modified_at
        setattr(found, f"{party}_recording_consent", given)
        setattr(found, f"{party}_consent_at", at)
        action = "consent.given" if given else "consent.revoked"
        audit.record(
            state.session,
            state.now,
            state.actor,
            action,
            "pairing",
            found.id,
            party=party,
            consent_at=at.isoformat(),
        )
        event = ConsentChanged(pairing_id=found.id, party=party, given=given, at=at)
        state.emit(record, event, tag=f":{party}")


def _change_status(
    state: PageState, record: HostRecord, found: Pairing, before: str | None, status_to: str
) -> None:
    """Take the host's status change, and raise every gate's refusal of it as an alert."""
    settings = state.settings
    raise_refusals(state, record, found.id, before, status_to)
    found.status = status_to
    found.updated_at = state.now
    if status_to == PairingStatus.ACTIVE and found.started_on is None:
        found.started_on = local_date(state.now, settings.connector.timezone)
    audit.record(
        state.session,
        state.now,
        state.actor,
        "pairing.updated",
        "pairing",
        found.id,
        status_from=before,
        status_to=status_to,
    )
    state.emit(
        record, PairingStatusChanged(pairing_id=found.id, status_from=before, status_to=status_to)
    )


def raise_refusals(
    state: PageState,
    record: HostRecord,
    pairing_id: int,
    before: str | None,
    status_to: str,
    context: Context | None = None,
) -> None:
    """Every gate's refusal of the host's status change, as an alert for staff; `context`
    when the caller built it already (a page of new pairings)."""
    settings = state.settings
    transition = Transition(before, status_to)
    if context is None:
        found = refusals(state.session, pairing_id, transition, settings, state.now)
    else:
        found = gate_refusals(context, transition, settings)
    for refusal in found:
        alert = Alert(
            key=f"{refusal.rule_id}:{state.host}-transition:pairing:{pairing_id}:{status_to}:"
            f"{record.modified_at:%Y%m%dT%H%M%S}",
            rule_id=refusal.rule_id,
            reason=f"{refusal.message} The change was made in {state.host}, which keeps "
            f"the program's records, so it stands: put it right there.",
            pairing_id=pairing_id,
            policy_version=settings.policy.policy_version,
            title=f"Pairing P{pairing_id} was made {status_to} in {state.host} against "
            f"{refusal.rule_id}",
            priority=Priority.HIGH,
        )
        write_decision(state.session, alert, state.now)


def _close_removed(state: PageState, record: HostRecord, found: Pairing) -> None:
    """A pairing deleted or merged away in the host: closed, its meetings kept or moved."""
    survivor = pairing(state, record.merged_into) if record.merged_into else None
    if record.merged_into and survivor is None:
        raise Deferred(f"merged into {record.merged_into}, which is not synced yet")
    if survivor is not None:
        state.session.flush()
        state.session.execute(
            update(Meeting).where(Meeting.pairing_id == found.id).values(pairing_id=survivor.id)
        )
        taken = select(MeetingLink.external_meeting_id).where(MeetingLink.pairing_id == survivor.id)
        state.session.execute(
            delete(MeetingLink).where(
                MeetingLink.pairing_id == found.id, MeetingLink.external_meeting_id.in_(taken)
            )
        )
        state.session.execute(
            update(MeetingLink)
            .where(MeetingLink.pairing_id == found.id)
            .values(pairing_id=survivor.id)
        )
        state.session.expire(found, ["meeting_links"])
    if found.status == PairingStatus.CLOSED:
        return
    before = found.status
    found.status = PairingStatus.CLOSED.value
    found.ended_on = found.ended_on or local_date(state.now, state.settings.connector.timezone)
    found.updated_at = state.now
    audit.record(
        state.session,
        state.now,
        state.actor,
        "pairing.merged" if survivor else "pairing.deleted",
        "pairing",
        found.id,
        status_from=before,
        into=survivor.id if survivor else None,
    )
    state.emit(
        record, PairingStatusChanged(pairing_id=found.id, status_from=before, status_to="closed")
    )


def apply_session_record(state: PageState, record: HostRecord) -> None:
    """A session logged in the host: a held in-person meeting of its pairing.

    A deleted session is no longer counted as held; there is no event for that, the
    time-based checks see it on their next run.
    """
    ref = f"{state.host}:{record.external_id}"
    meeting = state.session.scalars(
        select(Meeting).where(Meeting.platform == IN_PERSON, Meeting.instance_uuid == ref)
    ).first()
    if record.deleted or record.merged_into:
        if meeting is not None and meeting.held:
            meeting.held, meeting.kind = False, None
        return
    values = record.values
    owner = pairing(state, values.get("pairing"))
    if owner is None:
        raise Deferred(f"pairing {values.get('pairing') or '(empty)'} is not synced yet")
    started, ended = values.get("started_at"), values.get("ended_at")
    if started is None or ended is None:
        raise Deferred("no start or end time")
    held = values.get("held") is not False  # logged in the host: held unless it says not
    if meeting is None:
        meeting = Meeting(platform=IN_PERSON, external_id=ref, instance_uuid=ref, topic="")
        state.session.add(meeting)
    known = (meeting.pairing_id, meeting.started_at, meeting.ended_at, meeting.held)
    if known == (owner.id, started, ended, held):
        return
    meeting.pairing_id, meeting.started_at, meeting.ended_at = owner.id, started, ended
    meeting.held = held
    meeting.topic = f"logged in {state.host}"
    state.session.flush()
    if held:
        event = SessionLogged(
            platform=IN_PERSON,
            pairing_id=owner.id,
            meeting_id=meeting.id,
            started_at=started,
            ended_at=ended,
        )
        state.emit(record, event)
