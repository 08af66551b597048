"""SQLAlchemy models: the program's state, the inbox, the outbox and the audit log.

Every time is stored as UTC (see `UTCDateTime`); status columns hold the string values of
the enums in `connector.domain`. Schema changes go through an Alembic migration in
`migrations/versions/`; `tests/test_store.py` fails when models and migrations disagree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware in Python, naive UTC in the database, the same on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# --------------------------------------------------------------------------- program


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(255), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="applicant")
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    phone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    vetting_steps: Mapped[list[VettingStep]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="VettingStep.step"
    )


class VettingStep(Base):
    __tablename__ = "vetting_steps"
    __table_args__ = (UniqueConstraint("person_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    completed_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)

    person: Mapped[Person] = relationship(back_populates="vetting_steps")


class Pairing(Base):
    __tablename__ = "pairings"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(255), unique=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="proposed", index=True)
    started_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    mentor_recording_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    mentor_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mentee_recording_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    mentee_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Written reasons that let a pairing past a rule's gate; each is also in the audit log.
    extenuating_circumstances: Mapped[str | None] = mapped_column(Text)
    vetting_override_reason: Mapped[str | None] = mapped_column(Text)
    closing_override_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    mentor: Mapped[Person] = relationship(foreign_keys=[mentor_id])
    mentee: Mapped[Person] = relationship(foreign_keys=[mentee_id])
    meeting_links: Mapped[list[MeetingLink]] = relationship(
        back_populates="pairing", cascade="all, delete-orphan"
    )


class MeetingLink(Base):
    """A video meeting id registered for a pairing: the first way a meeting is matched."""

    __tablename__ = "meeting_links"
    __table_args__ = (UniqueConstraint("platform", "external_meeting_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pairing_id: Mapped[int] = mapped_column(ForeignKey("pairings.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    external_meeting_id: Mapped[str] = mapped_column(String(1024))  # Teams: a join URL

    pairing: Mapped[Pairing] = relationship(back_populates="meeting_links")


class Meeting(Base):
    """One held (or running) instance of a video meeting, keyed by the platform's instance id."""

    __tablename__ = "meetings"
    __table_args__ = (UniqueConstraint("platform", "instance_uuid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(1024), index=True)  # Teams: a join URL
    instance_uuid: Mapped[str] = mapped_column(String(255))
    pairing_id: Mapped[int | None] = mapped_column(ForeignKey("pairings.id"), index=True)
    topic: Mapped[str] = mapped_column(String(300), default="")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[str | None] = mapped_column(String(16))
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    # What the platform reports as applied: {"passcode": bool, "waiting_room": ..., ...}
    security: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    participants: Mapped[list[MeetingParticipant]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="MeetingParticipant.id"
    )


class MeetingParticipant(Base):
    __tablename__ = "meeting_participants"
    __table_args__ = (UniqueConstraint("meeting_id", "participant_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    participant_key: Mapped[str] = mapped_column(String(320))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    first_join_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_leave_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attended_seconds: Mapped[int] = mapped_column(Integer, default=0)

    meeting: Mapped[Meeting] = relationship(back_populates="participants")


class PresenceMark(Base):
    """One join or leave as the platform reported it; attendance is computed from these."""

    __tablename__ = "presence_marks"
    __table_args__ = (UniqueConstraint("meeting_id", "participant_key", "mark", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    participant_key: Mapped[str] = mapped_column(String(320))
    mark: Mapped[str] = mapped_column(String(8))  # join | leave
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Recording(Base):
    __tablename__ = "recordings"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(255))
    file_type: Mapped[str] = mapped_column(String(32))
    recording_type: Mapped[str] = mapped_column(String(64), default="")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="available")
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Submission(Base):
    """A form from one party of a pairing: goals, feedback, closing reflection."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("pairing_id", "party", "form"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pairing_id: Mapped[int] = mapped_column(ForeignKey("pairings.id", ondelete="CASCADE"))
    party: Mapped[str] = mapped_column(String(8))  # mentor | mentee
    form: Mapped[str] = mapped_column(String(32))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CheckIn(Base):
    """A staff check-in with one party of a pairing."""

    __tablename__ = "check_ins"
    __table_args__ = (Index("ix_check_ins_pairing", "pairing_id", "party", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pairing_id: Mapped[int] = mapped_column(ForeignKey("pairings.id", ondelete="CASCADE"))
    party: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(128))
    notes: Mapped[str] = mapped_column(Text, default="")
    safety_concern: Mapped[bool] = mapped_column(Boolean, default=False)


class Concern(Base):
    """A confidential concern report; only the safeguarding role sees its content."""

    __tablename__ = "concerns"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    pairing_id: Mapped[int | None] = mapped_column(ForeignKey("pairings.id"))
    about_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    reporter_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    outcome: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Exemption(Base):
    """A rule switched off for the program (no pairing) or one pairing, with a reason."""

    __tablename__ = "exemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(64), index=True)
    pairing_id: Mapped[int | None] = mapped_column(ForeignKey("pairings.id"))
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobRun(Base):
    """One run of a scheduled job per period; the unique key makes it once per period."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# --------------------------------------------------------------------------- sync


class SyncCursor(Base):
    """How far a host's stream has been read: the newest change applied (`connector.sync`)."""

    __tablename__ = "sync_cursors"
    __table_args__ = (UniqueConstraint("host", "stream"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(32))
    stream: Mapped[str] = mapped_column(String(32))
    cursor: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SyncRun(Base):
    """One read of one stream: what it cost and how it ended (`mentor-connector sync`)."""

    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_stream", "host", "stream", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(32))
    stream: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))  # full | incremental | targeted
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    records: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    deferred: Mapped[int] = mapped_column(Integer, default=0)
    stopped_by_budget: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)


class SyncDeferred(Base):
    """A host record that could not be applied yet (it names a record not synced), retried
    by every later run of its stream until it applies."""

    __tablename__ = "sync_deferred"
    __table_args__ = (UniqueConstraint("host", "stream", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(32))
    stream: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --------------------------------------------------------------------------- pipeline


class InboxEvent(Base):
    """One accepted delivery. Unique per source and delivery id, so a redelivery is a no-op."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("source", "delivery_id"),
        Index("ix_inbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    delivery_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    events: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxItem(Base):
    """One decision to carry out. Unique on the decision's key: a second one is never written."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    rule_id: Mapped[str] = mapped_column(String(64), index=True)
    pairing_id: Mapped[int | None] = mapped_column(Integer, index=True)
    decision: Mapped[dict[str, Any]] = mapped_column(JSON)
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(128))  # "host:pid"
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LocalItem(Base):
    """A task or alert kept by the built-in `local` host and shown on the staff page."""

    __tablename__ = "local_items"
    __table_args__ = (Index("ix_local_items_open", "status", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # task | alert
    rule_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16))
    audience: Mapped[str] = mapped_column(String(32))
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    pairing_id: Mapped[int | None] = mapped_column(ForeignKey("pairings.id"), index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    policy_version: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(8), default="open")
    done_note: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --------------------------------------------------------------------------- accounts


class User(Base):
    """A staff account for the staff page and admin console (machines use API tokens)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | coordinator | safeguarding
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on sign-out everywhere, password change and disabling: older cookies stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignInFailure(Base):
    """One refused sign-in; recent rows per user name and per address throttle further tries."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_username", "username", "at"),
        Index("ix_sign_in_failures_address", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Append-only: the migration installs triggers that refuse UPDATE and DELETE."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# --------------------------------------------------------------------------- subscriptions


class VideoSubscription(Base):
    """A platform subscription feeding a receiver (a Graph change-notification subscription).

    `client_state_ref` is the reference the clientState was configured by (`env:…`), never
    the secret itself. `status`: active | removed | failed; `needs_resync` is set when
    notifications may have been lost (Graph `missed`, `subscriptionRemoved`).
    """

    __tablename__ = "video_subscriptions"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(1024))
    change_type: Mapped[str] = mapped_column(String(64), default="")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    client_state_ref: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    needs_resync: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
