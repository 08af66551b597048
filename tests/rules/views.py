"""Builders of the read-only views rules decide from, for the pure rule tests.

Each builder gives a plausible default for every field so a truth-table row only states
what it is about. Nothing here touches the store: the rule tests call `evaluate()` alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rules.base import Context, MeetingView, PairingView, ParticipantView, PersonView

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
POLICY_VERSION = "test-policy-1"
MENTOR_ID, MENTEE_ID, PAIRING_ID, MEETING_ID = 11, 12, 7, 42


def person(
    id: int = MENTOR_ID,
    role: str = "mentor",
    name: str = "Maya",
    status: str = "active",
) -> PersonView:
    return PersonView(
        id=id, role=role, status=status, name=name, email=f"{name.lower()}@example.org"
    )


MAYA = person()
ELI = person(MENTEE_ID, "mentee", "Eli")


def pairing(**overrides: Any) -> PairingView:
    fields: dict[str, Any] = {
        "id": PAIRING_ID,
        "status": "active",
        "mentor": MAYA,
        "mentee": ELI,
        "mentor_recording_consent": False,
        "mentor_consent_at": None,
        "mentee_recording_consent": False,
        "mentee_consent_at": None,
        "held_sessions": 0,
    }
    return PairingView(**(fields | overrides))


def participant(
    who: PersonView | None, attended_seconds: int = 1800, name: str = "Visitor"
) -> ParticipantView:
    """A participant: a program person, or a stranger the program does not know (None)."""
    if who is None:
        return ParticipantView(
            key=f"name:{name}",
            name=name,
            email=f"{name.lower()}@elsewhere.test",
            person_id=None,
            attended_seconds=attended_seconds,
        )
    return ParticipantView(
        key=f"email:{who.email}",
        name=who.name,
        email=who.email or "",
        person_id=who.id,
        attended_seconds=attended_seconds,
        person_role=who.role,
        person_status=who.status,
    )


def meeting(*participants: ParticipantView, **overrides: Any) -> MeetingView:
    fields: dict[str, Any] = {
        "id": MEETING_ID,
        "platform": "zoom",
        "external_id": "81234567890",
        "instance_uuid": "uuid-42==",
        "started_at": datetime(2026, 11, 2, 14, 0, tzinfo=UTC),
        "ended_at": datetime(2026, 11, 2, 14, 45, tzinfo=UTC),
        "held": False,
        "kind": None,
        "participants": participants,
    }
    return MeetingView(**(fields | overrides))


def context(**overrides: Any) -> Context:
    fields: dict[str, Any] = {"now": NOW, "policy_version": POLICY_VERSION}
    return Context(**(fields | overrides))
