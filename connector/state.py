"""Applying domain events to the store, and the read-only context rules decide from.

Everything here converges: applying the same events in any order, any number of times,
leaves the same rows. Attendance is computed from the join and leave times the platform
reported (`PresenceMark`), never from the order the deliveries arrived in.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from connector import audit
from connector.domain import (
    CheckInLogged,
    ConcernReported,
    ConcernResolved,
    ConsentChanged,
    Event,
    HostChanged,
    MeetingEnded,
    MeetingKind,
    MeetingSecurityReported,
    MeetingStarted,
    PairingStatus,
    PairingStatusChanged,
    ParticipantJoined,
    ParticipantLeft,
    PersonStatusChanged,
    PlatformChanged,
    RecordingAvailable,
    RecordingRemoved,
    SessionLogged,
    SubmissionReceived,
    SubscriptionLifecycle,
    VettingChanged,
)
from connector.store.models import (
    Base,
    Concern,
    Meeting,
    MeetingLink,
    MeetingParticipant,
    Pairing,
    Person,
    PresenceMark,
    Recording,
)

OPEN_PAIRING = (PairingStatus.PROPOSED, PairingStatus.ACTIVE, PairingStatus.CLOSING)
MeetingEvent = (
    MeetingStarted
    | MeetingEnded
    | ParticipantJoined
    | ParticipantLeft
    | RecordingAvailable
    | RecordingRemoved
    | MeetingSecurityReported
)


@dataclass
class Applied:
    """What an event touched, for building the rules' context."""

    meeting: Meeting | None = None
    pairing_id: int | None = None
    person_id: int | None = None
    concern_id: int | None = None


def insert_ignore(
    session: Session | Connection,
    model: type[Base],
    values: dict[str, Any],
    conflict: Sequence[str],
) -> int | None:
    """INSERT … ON CONFLICT DO NOTHING; the new row's id, or None when it already existed.

    One statement, so concurrent workers never trip on a unique key and never race between
    a check and an insert. It runs on the session's connection (same transaction) as a Core
    statement built once per model, which keeps the webhook path fast.
    """
    connection = session.connection() if isinstance(session, Session) else session
    stmt = _insert_ignore_statement(connection.dialect.name, model, tuple(conflict))
    new_id: int | None = connection.execute(stmt, values).scalar()
    return new_id


@functools.cache
def _insert_ignore_statement(dialect: str, model: type[Base], conflict: tuple[str, ...]) -> Any:
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = cast(Table, model.__table__)
    return (
        dialect_insert(table)
        .on_conflict_do_nothing(index_elements=list(conflict))
        .returning(table.c.id)
    )


def apply_event(session: Session, event: Event, now: datetime) -> Applied:
    """Bring the store up to date with `event`; what it touched, for the rules' context.

    Program events (status, consent, forms, check-ins, concerns) were written by the API or
    sync in the same transaction that queued them, so here they only name their subject.
    """
    match event:
        case PairingStatusChanged() | ConsentChanged() | SubmissionReceived() | CheckInLogged():
            return Applied(pairing_id=event.pairing_id)
        case PersonStatusChanged() | VettingChanged():
            return Applied(person_id=event.person_id)
        case HostChanged() | PlatformChanged():  # hints to read back (`connector.host_sync`,
            return Applied()  # `connector.platforms`); no state of their own
        case ConcernReported() | ConcernResolved():
            concern = session.get_one(Concern, event.concern_id)
            return Applied(concern_id=concern.id, pairing_id=concern.pairing_id)
        case SubscriptionLifecycle():
            from connector.subscription_lifecycle import note_lifecycle  # plumbing; it imports us

            note_lifecycle(session, event, now)
            return Applied()
        case SessionLogged():
            meeting = session.get_one(Meeting, event.meeting_id)
            _assign_kinds(session, session.get_one(Pairing, event.pairing_id))
            return Applied(meeting=meeting, pairing_id=event.pairing_id)
    if not isinstance(event, MeetingEvent):
        raise TypeError(f"no state handler for {event.kind}")
    meeting = _locked_meeting(session, event)
    applied = Applied(meeting=meeting)
    match event:
        case MeetingStarted():
            meeting.started_at = _earliest(meeting.started_at, event.started_at)
            meeting.topic = event.topic or meeting.topic
        case MeetingEnded():
            meeting.started_at = _earliest(meeting.started_at, event.started_at)
            meeting.ended_at = event.ended_at
            meeting.topic = event.topic or meeting.topic
        case ParticipantJoined() | ParticipantLeft():
            _record_presence(session, meeting, event)
        case RecordingAvailable():
            meeting.started_at = _earliest(meeting.started_at, event.started_at)
            _store_recordings(session, meeting, event, now)
        case RecordingRemoved():
            _remove_recordings(session, meeting, event, now)
        case MeetingSecurityReported():
            meeting.security = {
                "passcode": event.passcode,
                "waiting_room": event.waiting_room,
                "authentication": event.authentication,
            }
    _refresh_meeting(session, meeting)
    applied.pairing_id = meeting.pairing_id
    return applied


# --------------------------------------------------------------------------- meetings


def _locked_meeting(session: Session, event: MeetingEvent) -> Meeting:
    insert_ignore(
        session,
        Meeting,
        {
            "platform": event.platform,
            "external_id": event.meeting_id,
            "instance_uuid": event.instance_uuid,
            "topic": "",
            "held": False,
        },
        ("platform", "instance_uuid"),
    )
    # Lock the row so two workers applying events of one meeting take turns (PostgreSQL;
    # SQLite transactions already hold the database write lock).
    meeting = session.scalars(
        select(Meeting)
        .where(Meeting.platform == event.platform, Meeting.instance_uuid == event.instance_uuid)
        .with_for_update()
    ).one()
    if not meeting.external_id and event.meeting_id:
        meeting.external_id = event.meeting_id
    return meeting


def _earliest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None else min(current, candidate)


def _record_presence(
    session: Session, meeting: Meeting, event: ParticipantJoined | ParticipantLeft
) -> None:
    insert_ignore(
        session,
        MeetingParticipant,
        {
            "meeting_id": meeting.id,
            "participant_key": event.participant_key,
            "name": event.name,
            "email": event.email,
            "attended_seconds": 0,
        },
        ("meeting_id", "participant_key"),
    )
    if event.email or event.name:  # a later event may know what the first one did not
        row = session.scalars(
            select(MeetingParticipant).where(
                MeetingParticipant.meeting_id == meeting.id,
                MeetingParticipant.participant_key == event.participant_key,
            )
        ).one()
        row.email = row.email or event.email
        row.name = row.name or event.name
    insert_ignore(
        session,
        PresenceMark,
        {
            "meeting_id": meeting.id,
            "participant_key": event.participant_key,
            "mark": "join" if isinstance(event, ParticipantJoined) else "leave",
            "at": event.at,
        },
        ("meeting_id", "participant_key", "mark", "at"),
    )
    session.expire(meeting, ["participants"])


def attendance(
    marks: Iterable[tuple[str, datetime]], start: datetime | None, end: datetime | None
) -> int:
    """Seconds present, from join/leave marks in time order (a join sorts before a leave).

    Repeated marks count once. A first mark that is a leave counts from the meeting's start
    (its join was missed); a later leave with no open join adds nothing. A join still open
    counts until the meeting's end, or not at all while the meeting runs.
    """
    total, opened, first = 0.0, None, True
    for mark, at in sorted(set(marks), key=lambda m: (m[1], m[0] != "join")):
        if mark == "join":
            opened = opened or at
        else:
            begin = opened or (start if first else None)
            if begin is not None:
                total += max((at - begin).total_seconds(), 0)
            opened = None
        first = False
    if opened is not None and end is not None:
        total += max((end - opened).total_seconds(), 0)
    return int(total)


def _refresh_meeting(session: Session, meeting: Meeting) -> None:
    """Recompute attendance, the person behind each participant, the pairing, held and kind."""
    marks: dict[str, list[tuple[str, datetime]]] = {}
    for key, mark, at in session.execute(
        select(PresenceMark.participant_key, PresenceMark.mark, PresenceMark.at).where(
            PresenceMark.meeting_id == meeting.id
        )
    ):
        marks.setdefault(key, []).append((mark, at))
    people = _people_by_email(session, [p.email for p in meeting.participants])
    for participant in meeting.participants:
        own = marks.get(participant.participant_key, [])
        participant.attended_seconds = attendance(own, meeting.started_at, meeting.ended_at)
        joins = [at for mark, at in own if mark == "join"]
        leaves = [at for mark, at in own if mark == "leave"]
        participant.first_join_at = min(joins, default=None)
        participant.last_leave_at = max(leaves, default=None)
        person = people.get(participant.email)
        participant.person_id = person.id if person else None

    # Matched afresh from what is known now, so the result does not depend on the order the
    # participants' events arrived in; a pairing that loses the meeting is re-ranked too.
    before = meeting.pairing_id
    pairing = _match_pairing(session, meeting)
    meeting.pairing_id = pairing.id if pairing else None
    meeting.held = False
    if pairing is not None:
        present = {p.person_id for p in meeting.participants if p.attended_seconds > 0}
        both = {pairing.mentor_id, pairing.mentee_id}
        meeting.held = meeting.ended_at is not None and both <= present
    if not meeting.held:
        meeting.kind = None  # only held sessions are intro, regular or closing
    session.flush()
    if before is not None and before != meeting.pairing_id:
        _assign_kinds(session, session.get_one(Pairing, before))
    if pairing is not None:
        _assign_kinds(session, pairing)


def _people_by_email(session: Session, emails: Iterable[str]) -> dict[str, Person]:
    wanted = {e for e in emails if e}
    if not wanted:
        return {}
    found = session.scalars(select(Person).where(func.lower(Person.email).in_(wanted)))
    return {(p.email or "").lower(): p for p in found}


def _match_pairing(session: Session, meeting: Meeting) -> Pairing | None:
    """By the meeting id registered for a pairing, else by both parties among participants."""
    link = session.scalars(
        select(MeetingLink).where(
            MeetingLink.platform == meeting.platform,
            MeetingLink.external_meeting_id == meeting.external_id,
        )
    ).first()
    if link is not None:
        return link.pairing
    people = {p.person_id for p in meeting.participants if p.person_id is not None}
    if len(people) < 2:
        return None
    candidates = session.scalars(
        select(Pairing).where(
            Pairing.status.in_(OPEN_PAIRING),
            Pairing.mentor_id.in_(people),
            Pairing.mentee_id.in_(people),
        )
    ).all()
    return candidates[0] if len(candidates) == 1 else None


def _assign_kinds(session: Session, pairing: Pairing) -> None:
    held = session.scalars(
        select(Meeting)
        .where(Meeting.pairing_id == pairing.id, Meeting.held.is_(True))
        .order_by(Meeting.started_at, Meeting.id)
    ).all()
    for index, meeting in enumerate(held):
        if index == 0:
            meeting.kind = MeetingKind.INTRO
        elif pairing.status == PairingStatus.CLOSING and index == len(held) - 1:
            meeting.kind = MeetingKind.CLOSING
        else:
            meeting.kind = MeetingKind.REGULAR


# --------------------------------------------------------------------------- recordings


def _store_recordings(
    session: Session, meeting: Meeting, event: RecordingAvailable, now: datetime
) -> None:
    for file in event.files:
        insert_ignore(
            session,
            Recording,
            {
                "meeting_id": meeting.id,
                "platform": event.platform,
                "external_id": file.file_id,
                "file_type": file.file_type,
                "recording_type": file.recording_type,
                "started_at": file.started_at,
                "ended_at": file.ended_at,
                "status": "available",
                "restricted": False,
                "created_at": now,
            },
            ("platform", "external_id"),
        )


def _remove_recordings(
    session: Session, meeting: Meeting, event: RecordingRemoved, now: datetime
) -> None:
    status = "deleted" if event.permanently else "trashed"
    query = select(Recording).where(Recording.meeting_id == meeting.id)
    if event.file_ids:
        query = query.where(Recording.external_id.in_(event.file_ids))
    for recording in session.scalars(query.where(Recording.status != "deleted")):
        if recording.status != status:
            recording.status = status
            audit.record(
                session,
                now,
                f"{event.platform}:operator",
                f"recording.{status}",
                "recording",
                recording.id,
                meeting_id=meeting.id,
            )
