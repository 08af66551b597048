"""The `Rule` contract and the read-only context a rule decides from.

A rule is pure: `evaluate(event, context, params)` looks only at its arguments and returns
decisions. It never reads the clock, the store or the network (STYLE.md habit 5), which is
what makes dry runs, explanations and replays safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Protocol

from connector.domain import Decision, Event


@dataclass(frozen=True)
class VettingView:
    step: str
    status: str  # pending | passed | failed
    completed_on: date | None = None
    expires_on: date | None = None


@dataclass(frozen=True)
class PersonView:
    id: int
    role: str
    status: str
    name: str
    email: str | None
    vetting: tuple[VettingView, ...] = ()


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
    started_on: date | None = None
    submissions: frozenset[tuple[str, str]] = frozenset()  # (party, form) received
    extenuating_circumstances: str | None = None
    vetting_override_reason: str | None = None
    closing_override_reason: str | None = None
    closing_session_held: bool = False

    def submitted(self, party: str, form: str) -> bool:
        return (party, form) in self.submissions


@dataclass(frozen=True)
class ParticipantView:
    key: str
    name: str
    email: str
    person_id: int | None
    attended_seconds: int
    person_role: str | None = None
    person_status: str | None = None


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
    security: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class RecordingView:
    id: int
    external_id: str
    file_type: str
    started_at: datetime | None
    status: str


@dataclass(frozen=True)
class ConcernView:
    id: int
    reference: str
    pairing_id: int | None
    about_person_id: int | None
    status: str
    created_at: datetime
    outcome: str | None = None


@dataclass(frozen=True)
class Context:
    """Everything a rule may look at, as of the moment the event was applied."""

    now: datetime
    policy_version: str
    pairing: PairingView | None = None
    meeting: MeetingView | None = None
    recordings: tuple[RecordingView, ...] = ()
    program_people: tuple[PersonView, ...] = field(default=())
    concern: ConcernView | None = None
    person: PersonView | None = None
    timezone: str = "UTC"
    approved_platforms: tuple[str, ...] = ("zoom", "teams", "meet")
    in_person_allowed: bool = True
    exempt: frozenset[str] = frozenset()  # rule ids switched off for this pairing
    person_pairings: tuple[PairingView, ...] = ()  # the open pairings of `person`


@dataclass(frozen=True)
class Transition:
    """A requested change of a pairing's status, with the reasons given to pass gates."""

    status_from: str | None
    status_to: str
    override_reason: str | None = None


@dataclass(frozen=True)
class Refusal:
    rule_id: str
    message: str


class Rule(Protocol):
    """One policy sentence, enforced. Add a module, then one line in `rules.ALL_RULES`."""

    id: ClassVar[str]
    policy: ClassVar[str]
    triggers: ClassVar[frozenset[str]]
    Params: ClassVar[type[Any]]

    def evaluate(self, event: Event, context: Context, params: Any) -> list[Decision]: ...


class Gate(Protocol):
    """A rule that can refuse a pairing's status change (checked before the change is made)."""

    id: ClassVar[str]

    def gate(self, transition: Transition, context: Context, params: Any) -> Refusal | None: ...


class PeriodicRule(Protocol):
    """A time-based rule: `connector.checks` finds candidate facts with one set-based query,
    `decide` says what is due. Facts are the rule's own frozen dataclass."""

    id: ClassVar[str]
    Facts: ClassVar[type[Any]]

    def decide(self, facts: Any, context: Context, params: Any) -> list[Decision]: ...
