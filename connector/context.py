"""The read-only context rules decide from, built from the store as of one moment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session

from connector.settings import Settings
from connector.state import Applied
from connector.store.models import (
    Concern,
    Exemption,
    Meeting,
    Pairing,
    Person,
    Recording,
    Submission,
)
from rules.base import (
    ConcernView,
    Context,
    MeetingView,
    PairingView,
    ParticipantView,
    PersonView,
    RecordingView,
    VettingView,
)


def build_context(
    session: Session,
    applied: Applied,
    now: datetime,
    settings: Settings,
) -> Context:
    meeting = applied.meeting
    pairing_id = applied.pairing_id or (meeting.pairing_id if meeting is not None else None)
    pairing = session.get(Pairing, pairing_id) if pairing_id is not None else None
    program_people: tuple[PersonView, ...] = ()
    if meeting is not None and pairing is None:
        ids = [p.person_id for p in meeting.participants if p.person_id is not None]
        program_people = tuple(
            person_view(p) for p in session.scalars(select(Person).where(Person.id.in_(ids)))
        )
    person = session.get(Person, applied.person_id) if applied.person_id is not None else None
    concern = session.get(Concern, applied.concern_id) if applied.concern_id is not None else None
    policy = settings.policy
    return Context(
        now=now,
        policy_version=policy.policy_version,
        pairing=pairing_view(session, pairing) if pairing is not None else None,
        meeting=meeting_view(session, meeting) if meeting is not None else None,
        recordings=_recordings(session, meeting),
        program_people=program_people,
        concern=concern_view(concern) if concern is not None else None,
        person=person_view(person) if person is not None else None,
        timezone=settings.connector.timezone,
        approved_platforms=policy.approved_platforms,
        in_person_allowed=policy.in_person_allowed,
        exempt=exempt_rules(session, pairing_id),
        person_pairings=_open_pairings(session, person) if person is not None else (),
    )


def _open_pairings(session: Session, person: Person) -> tuple[PairingView, ...]:
    rows = session.scalars(
        select(Pairing)
        .where(
            or_(Pairing.mentor_id == person.id, Pairing.mentee_id == person.id),
            Pairing.status.in_(("proposed", "active", "closing")),
        )
        .order_by(Pairing.id)
    )
    return tuple(pairing_view(session, p) for p in rows)


def _recordings(session: Session, meeting: Meeting | None) -> tuple[RecordingView, ...]:
    """All recordings stored for the meeting: rules judge the meeting as it stands."""
    if meeting is None:
        return ()
    rows = session.scalars(
        select(Recording).where(Recording.meeting_id == meeting.id).order_by(Recording.id)
    )
    return tuple(recording_view(r) for r in rows)


def exempt_rules(session: Session, pairing_id: int | None) -> frozenset[str]:
    """Rules switched off for the whole program, or for this pairing, and not revoked."""
    scope: ColumnElement[bool] = Exemption.pairing_id.is_(None)
    if pairing_id is not None:
        scope = or_(scope, Exemption.pairing_id == pairing_id)
    rows = session.scalars(select(Exemption.rule_id).where(scope, Exemption.revoked_at.is_(None)))
    return frozenset(rows)


def person_view(person: Person) -> PersonView:
    return PersonView(
        id=person.id,
        role=person.role,
        status=person.status,
        name=person.name,
        email=person.email,
        vetting=tuple(
            VettingView(v.step, v.status, v.completed_on, v.expires_on)
            for v in person.vetting_steps
        ),
    )


def pairing_view(session: Session, pairing: Pairing) -> PairingView:
    held = session.scalar(
        select(func.count(Meeting.id)).where(
            Meeting.pairing_id == pairing.id, Meeting.held.is_(True)
        )
    )
    closing_held = session.scalar(
        select(
            exists().where(
                Meeting.pairing_id == pairing.id,
                Meeting.held.is_(True),
                Meeting.kind == "closing",
            )
        )
    )
    submissions = frozenset(
        (party, form)
        for party, form in session.execute(
            select(Submission.party, Submission.form).where(Submission.pairing_id == pairing.id)
        )
    )
    return PairingView(
        id=pairing.id,
        status=pairing.status,
        mentor=person_view(pairing.mentor),
        mentee=person_view(pairing.mentee),
        mentor_recording_consent=pairing.mentor_recording_consent,
        mentor_consent_at=pairing.mentor_consent_at,
        mentee_recording_consent=pairing.mentee_recording_consent,
        mentee_consent_at=pairing.mentee_consent_at,
        held_sessions=held or 0,
        started_on=pairing.started_on,
        submissions=submissions,
        extenuating_circumstances=pairing.extenuating_circumstances,
        vetting_override_reason=pairing.vetting_override_reason,
        closing_override_reason=pairing.closing_override_reason,
        closing_session_held=bool(closing_held),
    )


def meeting_view(session: Session, meeting: Meeting) -> MeetingView:
    ids = [p.person_id for p in meeting.participants if p.person_id is not None]
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))}
    return MeetingView(
        id=meeting.id,
        platform=meeting.platform,
        external_id=meeting.external_id,
        instance_uuid=meeting.instance_uuid,
        started_at=meeting.started_at,
        ended_at=meeting.ended_at,
        held=meeting.held,
        kind=meeting.kind,
        participants=tuple(
            ParticipantView(
                key=p.participant_key,
                name=p.name,
                email=p.email,
                person_id=p.person_id,
                attended_seconds=p.attended_seconds,
                person_role=people[p.person_id].role if p.person_id in people else None,
                person_status=people[p.person_id].status if p.person_id in people else None,
            )
            for p in meeting.participants
        ),
        security=meeting.security,
    )


def recording_view(recording: Recording) -> RecordingView:
    return RecordingView(
        recording.id,
        recording.external_id,
        recording.file_type,
        recording.started_at,
        recording.status,
    )


def concern_view(concern: Concern) -> ConcernView:
    return ConcernView(
        id=concern.id,
        reference=concern.reference,
        pairing_id=concern.pairing_id,
        about_person_id=concern.about_person_id,
        status=concern.status,
        created_at=concern.created_at,
        outcome=concern.outcome,
    )
