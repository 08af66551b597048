"""What the Meet REST API says about a resource an event named, as domain events.

`MeetPlatform.read_change` (run by the outbox, never during the push request) reads the
resource a Workspace Events CloudEvent named (`webhooks.meet` stores it as a `PlatformChanged`
hint) and maps the answers here. Field names are the Meet REST API v2's
(https://developers.google.com/workspace/meet/api/reference/rest/v2):

| event type (`google.workspace.meet.…`) | resource            | reads                        |
|----------------------------------------|---------------------|------------------------------|
| `conference.v2.started` / `ended`      | conference record   | the record                   |
| `participant.v2.joined` / `left`       | participant session | session, participant, record |
| `recording.v2.fileGenerated`           | recording           | recording, record            |
| `transcript.v2.fileGenerated`          | transcript          | transcript, record           |

A field the event needs and the answer lacks (a session's `endTime` just after `left`) raises
`Unavailable`: the outbox retries with backoff, and Meet has usually written it by then.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connector.domain import (
    Event,
    MeetingEnded,
    MeetingStarted,
    ParticipantJoined,
    ParticipantLeft,
    RecordingAvailable,
    RecordingFile,
)
from connector.errors import Unavailable

PLATFORM = "meet"

CONFERENCE_STARTED = "google.workspace.meet.conference.v2.started"
CONFERENCE_ENDED = "google.workspace.meet.conference.v2.ended"
PARTICIPANT_JOINED = "google.workspace.meet.participant.v2.joined"
PARTICIPANT_LEFT = "google.workspace.meet.participant.v2.left"
RECORDING_GENERATED = "google.workspace.meet.recording.v2.fileGenerated"
TRANSCRIPT_GENERATED = "google.workspace.meet.transcript.v2.fileGenerated"

# Names go into REST paths: read only their exact shape (the receiver checks the same).
_ID = r"[A-Za-z0-9_-]+"
_RECORD = rf"(?P<record>conferenceRecords/{_ID})"
RECORD_NAME = re.compile(_RECORD)
SESSION_NAME = re.compile(
    rf"(?P<participant>{_RECORD}/participants/{_ID})/participantSessions/{_ID}"
)
RECORDING_NAME = re.compile(rf"{_RECORD}/recordings/{_ID}")
TRANSCRIPT_NAME = re.compile(rf"{_RECORD}/transcripts/{_ID}")


def conference_events(record: Mapping[str, Any], name: str, *, ended: bool) -> list[Event]:
    """A conference record as the meeting's start, or (`ended`) its end."""
    ids = {"platform": PLATFORM, "meeting_id": api_text(record, "space", name)}
    started = api_time(record, "startTime", name)
    if not ended:
        return [MeetingStarted(**ids, instance_uuid=name, started_at=started)]
    ended_at = api_time(record, "endTime", name)
    return [MeetingEnded(**ids, instance_uuid=name, started_at=started, ended_at=ended_at)]


def participant_events(
    cls: type[ParticipantJoined] | type[ParticipantLeft],
    session: Mapping[str, Any],
    person: Mapping[str, Any],
    record: Mapping[str, Any],
    names: re.Match[str],
    email: str,
) -> list[Event]:
    """A participant session's join (`startTime`) or leave (`endTime`); `names` is the
    session name matched by `SESSION_NAME`, `email` the directory's answer for the person."""
    session_name, person_name, record_name = names.group(0, "participant", "record")
    key, display_name = participant_identity(person, person_name)
    time_field = "startTime" if cls is ParticipantJoined else "endTime"
    return [
        cls(
            platform=PLATFORM,
            meeting_id=api_text(record, "space", record_name),
            instance_uuid=record_name,
            participant_key=key,
            at=api_time(session, time_field, session_name),
            name=display_name,
            email=email,
        )
    ]


def file_events(
    kind: str, item: Mapping[str, Any], record: Mapping[str, Any], name: str, record_name: str
) -> list[Event]:
    """A generated recording or transcript (`kind`) as the meeting's `RecordingAvailable`."""
    file = RecordingFile(
        # The API name, not the Drive or Docs file id: stable, and it leads to both
        # (`driveDestination.file`, `docsDestination.document`).
        file_id=name,
        file_type="MP4" if kind == "recording" else "TRANSCRIPT",
        recording_type=kind,
        started_at=api_time(item, "startTime", name) if item.get("startTime") else None,
        ended_at=api_time(item, "endTime", name) if item.get("endTime") else None,
    )
    return [
        RecordingAvailable(
            platform=PLATFORM,
            meeting_id=api_text(record, "space", record_name),
            instance_uuid=record_name,
            started_at=api_time(record, "startTime", record_name),
            files=(file,),
        )
    ]


def participant_identity(person: Mapping[str, Any], participant_name: str) -> tuple[str, str]:
    """(key, display name) of a Meet participant, the same on each of their sessions.

    A signed-in user keeps `users/{id}` across conferences; an anonymous or phone participant
    has nothing but the `participants/{id}` resource, which groups all their sessions in one
    conference (https://developers.google.com/workspace/meet/api/guides/participants). Events
    and the read-back (`MeetPlatform.past_participants`) both key people this way, so their
    attendance merges.
    """
    user = signed_in_user(person)
    if user is not None:
        return f"signedin:{user}", str(person["signedinUser"].get("displayName") or "")
    for field, prefix in (("anonymousUser", "anonymous"), ("phoneUser", "phone")):
        other = person.get(field)
        if isinstance(other, Mapping):
            return f"{prefix}:{participant_name}", str(other.get("displayName") or "")
    return f"participant:{participant_name}", ""


def signed_in_user(person: Mapping[str, Any]) -> str | None:
    """`signedinUser.user` (`users/{id}`, the id the Admin SDK knows), or None."""
    signed_in = person.get("signedinUser")
    user = signed_in.get("user") if isinstance(signed_in, Mapping) else None
    return user if isinstance(user, str) and user else None


def optional_time(obj: Mapping[str, Any], field: str) -> datetime | None:
    value = obj.get(field)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)  # RFC 3339 with "Z"; nanoseconds truncated
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def api_time(obj: Mapping[str, Any], field: str, name: str) -> datetime:
    parsed = optional_time(obj, field)
    if parsed is None:
        # Possibly not there yet (a session's endTime just after `left`): a retry may find it.
        raise Unavailable(f"{name} has no {field} (got {obj.get(field)!r})")
    return parsed


def api_text(obj: Mapping[str, Any], field: str, name: str) -> str:
    value = obj.get(field)
    if not isinstance(value, str) or not value:
        raise Unavailable(f"{name} has no {field}")
    return value
