"""The `Rule` contract and the read-only context a rule decides from.

A rule is pure: `evaluate(event, context, params)` looks only at its arguments and returns
decisions. It never reads the clock, the store or the network (STYLE.md habit 5), which is
what makes dry runs, explanations and replays safe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from connector.domain import Decision, Event


@dataclass(frozen=True)
class PersonView:
    id: int
    role: str
    status: str
    name: str
    email: str | None


@dataclass(frozen=True)
class PairingView:
    id: int
    status: str
    mentor: PersonView
    mentee: PersonView
    mentor_recording_consent: bool
    mentor_consent_at: datetime | None
    mentee_recording_consent: bool
    mentee_consent_at: datetime | None
    held_sessions: int


@dataclass(frozen=True)
class ParticipantView:
    key: str
    name: str
    email: str
    person_id: int | None
    attended_seconds: int


@dataclass(frozen=True)
class MeetingView:
    id: int
    platform: str
    external_id: str
    instance_uuid: str
    started_at: datetime | None
    ended_at: datetime | None
    held: bool
    kind: str | None
    participants: tuple[ParticipantView, ...]


@dataclass(frozen=True)
class RecordingView:
    id: int
    external_id: str
    file_type: str
    started_at: datetime | None
    status: str


@dataclass(frozen=True)
class Context:
    """Everything a rule may look at, as of the moment the event was applied."""

    now: datetime
    policy_version: str
    pairing: PairingView | None = None
    meeting: MeetingView | None = None
    recordings: tuple[RecordingView, ...] = ()
    program_people: tuple[PersonView, ...] = field(default=())


class Rule(Protocol):
    """One policy sentence, enforced. Add a module, then one line in `rules.ALL_RULES`."""

    id: ClassVar[str]
    policy: ClassVar[str]
    triggers: ClassVar[frozenset[str]]
    Params: ClassVar[type[Any]]

    def evaluate(self, event: Event, context: Context, params: Any) -> list[Decision]: ...
