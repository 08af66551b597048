"""Domain types shared by every layer: events in, decisions out.

Nothing here imports Flask, SQLAlchemy or any vendor library, so `rules/`, `webhooks/`
and `adapters/` can depend on this module alone (DESIGN.md, "Folders").

Events are what receivers, forms and sync produce and what the inbox stores; decisions
are what rules return and what the outbox delivers. Both serialise to plain JSON with
`to_json()` / `event_from_json()` / `decision_from_json()` so a stored row can be
replayed by any process.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal, TypeVar, Union

T = TypeVar("T")


class Role(enum.StrEnum):
    MENTOR = "mentor"
    MENTEE = "mentee"
    STAFF = "staff"


class PersonStatus(enum.StrEnum):
    APPLICANT = "applicant"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REMOVED = "removed"


class PairingStatus(enum.StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    CLOSING = "closing"
    CLOSED = "closed"


class MeetingKind(enum.StrEnum):
    INTRO = "intro"
    REGULAR = "regular"
    CLOSING = "closing"


class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Event:
    """Base of every domain event. `kind` is the stable name stored in the inbox."""

    kind: ClassVar[str]


@dataclass(frozen=True)
class MeetingEvent(Event):
    """An event about one meeting instance on a video platform (or in person)."""

    platform: str


@dataclass(frozen=True)
class MeetingStarted(MeetingEvent):
    kind: ClassVar[str] = "meeting.started"
    meeting_id: str
    instance_uuid: str
    started_at: datetime
    topic: str = ""


@dataclass(frozen=True)
class MeetingEnded(MeetingEvent):
    kind: ClassVar[str] = "meeting.ended"
    meeting_id: str
    instance_uuid: str
    started_at: datetime
    ended_at: datetime
    topic: str = ""


@dataclass(frozen=True)
class ParticipantJoined(MeetingEvent):
    kind: ClassVar[str] = "participant.joined"
    meeting_id: str
    instance_uuid: str
    participant_key: str
    at: datetime
    name: str = ""
    email: str = ""


@dataclass(frozen=True)
class ParticipantLeft(MeetingEvent):
    kind: ClassVar[str] = "participant.left"
    meeting_id: str
    instance_uuid: str
    participant_key: str
    at: datetime
    name: str = ""
    email: str = ""


@dataclass(frozen=True)
class RecordingFile:
    file_id: str
    file_type: str
    recording_type: str
    started_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class RecordingAvailable(MeetingEvent):
    """A recording or transcript of a meeting instance is ready on the platform."""

    kind: ClassVar[str] = "recording.available"
    meeting_id: str
    instance_uuid: str
    started_at: datetime
    files: tuple[RecordingFile, ...]
    host_email: str = ""


@dataclass(frozen=True)
class RecordingRemoved(MeetingEvent):
    kind: ClassVar[str] = "recording.removed"
    meeting_id: str
    instance_uuid: str
    permanently: bool
    file_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class MeetingSecurityReported(MeetingEvent):
    """The security settings a platform reports as applied to a meeting (None: unknown)."""

    kind: ClassVar[str] = "meeting.security_reported"
    meeting_id: str
    instance_uuid: str
    passcode: bool | None = None
    waiting_room: bool | None = None
    authentication: bool | None = None


@dataclass(frozen=True)
class SessionLogged(MeetingEvent):
    """A session logged by hand (in person), already attached to its pairing."""

    kind: ClassVar[str] = "session.logged"
    pairing_id: int
    meeting_id: int
    started_at: datetime
    ended_at: datetime


@dataclass(frozen=True)
class PairingStatusChanged(Event):
    kind: ClassVar[str] = "pairing.status_changed"
    pairing_id: int
    status_from: str | None
    status_to: str


@dataclass(frozen=True)
class PersonStatusChanged(Event):
    kind: ClassVar[str] = "person.status_changed"
    person_id: int
    status_from: str | None
    status_to: str


@dataclass(frozen=True)
class VettingChanged(Event):
    kind: ClassVar[str] = "person.vetting_changed"
    person_id: int


@dataclass(frozen=True)
class ConsentChanged(Event):
    kind: ClassVar[str] = "pairing.consent_changed"
    pairing_id: int
    party: str
    given: bool
    at: datetime


@dataclass(frozen=True)
class ConcernReported(Event):
    kind: ClassVar[str] = "concern.reported"
    concern_id: int


@dataclass(frozen=True)
class ConcernResolved(Event):
    kind: ClassVar[str] = "concern.resolved"
    concern_id: int
    outcome: str


@dataclass(frozen=True)
class SubmissionReceived(Event):
    """A form came in from one party of a pairing (goals, feedback, closing reflection)."""

    kind: ClassVar[str] = "submission.received"
    pairing_id: int
    party: str
    form: str


@dataclass(frozen=True)
class CheckInLogged(Event):
    kind: ClassVar[str] = "check_in.logged"
    pairing_id: int
    party: str


@dataclass(frozen=True)
class SubscriptionLifecycle(Event):
    """A platform says a subscription feeding a receiver needs action: Graph's
    `reauthorizationRequired`, `subscriptionRemoved`, `missed`; Workspace Events' `suspended`,
    `expirationReminder`, `expired` (`lifecycle` holds that name)."""

    kind: ClassVar[str] = "subscription.lifecycle"
    platform: str
    subscription_id: str
    lifecycle: str
    expires_at: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class HostChanged(Event):
    """A host said records changed (Salesforce outbound message, HubSpot or EspoCRM webhook).

    Webhooks carry a hint, not the truth: the change is read back from the host by a
    targeted sync (`HostSync`), which also sees what other writers did in the meantime.
    """

    kind: ClassVar[str] = "host.changed"
    host: str
    stream: str
    external_ids: tuple[str, ...]
    delivery: str  # the notification's own id, so a repeated delivery syncs once


@dataclass(frozen=True)
class PlatformChanged(Event):
    """A video platform said one of its resources changed (a Graph change notification, a
    Workspace Events CloudEvent from Meet).

    A hint, like `HostChanged`: the notification names the resource, not what it now says.
    The runner turns it into a `PlatformRead`; the outbox reads the resource from the
    platform's API and queues what it says as ordinary events, off the request path.
    """

    kind: ClassVar[str] = "platform.changed"
    platform: str
    resource: str  # as the platform names it, e.g. `communications/callRecords/{id}`
    change_type: str  # created | updated | …
    delivery: str  # the receiver's key for this notification, so a repeat reads once


# Every event about one meeting: rules that judge a meeting's state run on each of them, so the
# outcome does not depend on which event happened to arrive last.
MEETING_EVENTS: frozenset[str] = frozenset(
    cls.kind
    for cls in (
        MeetingStarted,
        MeetingEnded,
        ParticipantJoined,
        ParticipantLeft,
        RecordingAvailable,
        MeetingSecurityReported,
        SessionLogged,
    )
)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        MeetingStarted,
        MeetingEnded,
        ParticipantJoined,
        ParticipantLeft,
        RecordingAvailable,
        RecordingRemoved,
        MeetingSecurityReported,
        SessionLogged,
        PairingStatusChanged,
        PersonStatusChanged,
        VettingChanged,
        ConsentChanged,
        ConcernReported,
        ConcernResolved,
        SubmissionReceived,
        CheckInLogged,
        SubscriptionLifecycle,
        HostChanged,
        PlatformChanged,
    )
}


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class Decision:
    """What a rule asks for. `key` makes the effect idempotent end to end."""

    kind: ClassVar[str]
    key: str
    rule_id: str
    reason: str
    pairing_id: int | None = None
    policy_version: str = ""


@dataclass(frozen=True)
class Task(Decision):
    kind: ClassVar[str] = "task"
    title: str = ""
    priority: Priority = Priority.NORMAL
    due: datetime | None = None
    audience: str = "coordinator"
    confidential: bool = False


@dataclass(frozen=True)
class Alert(Decision):
    kind: ClassVar[str] = "alert"
    title: str = ""
    priority: Priority = Priority.HIGH
    audience: str = "coordinator"
    confidential: bool = False


@dataclass(frozen=True)
class RecordingAction(Decision):
    """An action on stored recordings of one meeting: `restrict` keeps them for review only."""

    kind: ClassVar[str] = "recording"
    action: Literal["restrict", "trash"] = "restrict"
    meeting_id: int | None = None


@dataclass(frozen=True)
class PlatformFetch(Decision):
    """Plumbing, not policy: read a held meeting back from its platform (applied security
    settings, every participant's join and leave) after it ended. Each webhook may have been
    missed; the answers come back through the inbox as ordinary events."""

    kind: ClassVar[str] = "fetch"
    platform: str = ""
    meeting_external_id: str = ""
    instance_uuid: str = ""


@dataclass(frozen=True)
class PlatformRead(Decision):
    """Plumbing, not policy: read the resource a `PlatformChanged` hint names from the
    platform's API and queue what it says as events (`connector.actions`)."""

    kind: ClassVar[str] = "platform-read"
    platform: str = ""
    resource: str = ""
    change_type: str = ""


@dataclass(frozen=True)
class SubscriptionAction(Decision):
    """Plumbing, not policy: keep a platform subscription alive. `renew` extends it;
    `recreate` replaces one the platform removed (reusing a live one for the same resource)."""

    kind: ClassVar[str] = "subscription"
    platform: str = ""
    subscription_id: str = ""
    action: Literal["renew", "recreate"] = "renew"


@dataclass(frozen=True)
class HostSync(Decision):
    """Plumbing, not policy: read named records of one stream back from the host."""

    kind: ClassVar[str] = "host-sync"
    host: str = ""
    stream: str = ""
    external_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Notify(Decision):
    """Plumbing, not policy: e-mail one party of a pairing their own link to `form`, after the
    task asking for it was written to the host (`[notify.smtp]`, connector/notify.py)."""

    kind: ClassVar[str] = "notify"
    form: str = ""
    party: str = ""  # mentor | mentee


DECISION_TYPES: dict[str, type[Decision]] = {
    cls.kind: cls
    for cls in (
        Task,
        Alert,
        RecordingAction,
        PlatformFetch,
        PlatformRead,
        SubscriptionAction,
        HostSync,
        Notify,
    )
}


# --------------------------------------------------------------------------- JSON


def to_json(obj: Event | Decision) -> dict[str, Any]:
    """Plain-JSON form of an event or decision, tagged with its kind."""
    data: dict[str, Any] = {"kind": obj.kind}
    for name in _field_names(type(obj)):
        data[name] = _dump(getattr(obj, name))
    return data


_FIELD_NAMES: dict[type[Any], tuple[str, ...]] = {}


def _field_names(cls: type[Any]) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def event_from_json(data: dict[str, Any]) -> Event:
    return _load_tagged(data, EVENT_TYPES)


def decision_from_json(data: dict[str, Any]) -> Decision:
    return _load_tagged(data, DECISION_TYPES)


def _dump(value: Any) -> Any:
    if value is None or type(value) in (str, int, bool, float):  # the common case, first
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_dump(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def _load_tagged(data: dict[str, Any], registry: dict[str, type[T]]) -> T:
    kind = data.get("kind")
    cls = registry.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown kind {kind!r}")
    return _load(cls, {k: v for k, v in data.items() if k != "kind"})


def _load(cls: type[T], data: dict[str, Any]) -> T:
    hints = typing.get_type_hints(cls)
    kwargs = {
        f.name: _coerce(hints[f.name], data[f.name])
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.name in data
    }
    return cls(**kwargs)


def _coerce(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _coerce(inner[0], value)
    if origin is tuple:
        return tuple(_coerce(typing.get_args(hint)[0], v) for v in value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if dataclasses.is_dataclass(hint):
        return _load(hint, value)  # type: ignore[arg-type]
    return value


__all__ = [
    "DECISION_TYPES",
    "EVENT_TYPES",
    "MEETING_EVENTS",
    "Alert",
    "CheckInLogged",
    "ConcernReported",
    "ConcernResolved",
    "ConsentChanged",
    "Decision",
    "Event",
    "HostChanged",
    "HostSync",
    "MeetingEnded",
    "MeetingEvent",
    "MeetingKind",
    "MeetingSecurityReported",
    "MeetingStarted",
    "Notify",
    "PairingStatus",
    "PairingStatusChanged",
    "ParticipantJoined",
    "ParticipantLeft",
    "PersonStatus",
    "PersonStatusChanged",
    "PlatformChanged",
    "PlatformFetch",
    "PlatformRead",
    "Priority",
    "RecordingAction",
    "RecordingAvailable",
    "RecordingFile",
    "RecordingRemoved",
    "Role",
    "SessionLogged",
    "SubmissionReceived",
    "SubscriptionAction",
    "SubscriptionLifecycle",
    "Task",
    "VettingChanged",
    "decision_from_json",
    "event_from_json",
    "to_json",
]
