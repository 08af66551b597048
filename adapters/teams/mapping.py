"""Graph's answers as domain events: a call record, a recording or a transcript.

Used by `TeamsPlatform.read_change`, which the outbox calls for each change notification the
receiver stored (`webhooks.teams`). Shapes: reference §4.3 and §4.6 (call records,
api-reference/v1.0/resources/callrecords-*.md; recordings and transcripts, callrecording.md,
calltranscript.md). What an answer lacks raises `Unavailable`: a record still being completed
may have it on the next try, which the outbox's backoff gives it.

Teams ids in domain events: `instance_uuid` is the call record id (a recording's `callId`
names the same call); `meeting_id` is the meeting's `joinWebUrl`, which only call records carry.
"""

from __future__ import annotations

import hashlib
import logging
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

PLATFORM = "teams"
log = logging.getLogger("connector.adapters.teams")

# The kinds of identity a call record names a person by (api-reference/v1.0/resources/
# identityset.md); bots and devices are not people.
PEOPLE = ("user", "guest", "phone", "acsUser", "spoolUser", "onPremises")


def call_record_events(record: Mapping[str, Any]) -> list[Event]:
    """A fetched call record as the meeting's start, end, and each participant's sessions.

    Each session joins two endpoints; a participant endpoint is a person, a service endpoint
    the conferencing server (api-reference/v1.0/resources/callrecords-session.md).
    """
    record_id = _api_text(record, "id")
    ids = {
        "platform": PLATFORM,
        "meeting_id": str(record.get("joinWebUrl") or ""),
        "instance_uuid": record_id,
    }
    started = _api_time(record, "startDateTime")
    events: list[Event] = [MeetingStarted(**ids, started_at=started)]
    seen: set[tuple[type[Event], str, datetime]] = set()
    for index, session in enumerate(_sessions(record)):
        joined = _api_time(session, "startDateTime")
        left = optional_time(session, "endDateTime")
        for side in ("caller", "callee"):
            person = endpoint_person(session.get(side), f"{session.get('id', index)}:{side}")
            if person is None:
                continue
            key, name, email = person
            marks: list[tuple[type[ParticipantJoined] | type[ParticipantLeft], datetime]] = [
                (ParticipantJoined, joined)
            ]
            if left is not None:
                marks.append((ParticipantLeft, left))
            for cls, at in marks:
                if (cls, key, at) not in seen:
                    seen.add((cls, key, at))
                    events.append(cls(**ids, participant_key=key, at=at, name=name, email=email))
    events.append(
        MeetingEnded(**ids, started_at=started, ended_at=_api_time(record, "endDateTime"))
    )
    return events


def artifact_events(
    match: re.Match[str], artifact: Mapping[str, Any], now: datetime
) -> list[Event]:
    """A recording or transcript (`match`: its resource, `ARTIFACT_RESOURCE`) as
    `RecordingAvailable` of the call it was made in; `now` when it tells no time at all."""
    created = optional_time(artifact, "createdDateTime")
    ended = optional_time(artifact, "endDateTime")
    recording = match["kind"] == "recordings"
    call_id = artifact.get("callId")
    if not isinstance(call_id, str) or not call_id:
        log.warning("teams %s without callId; kept under its meeting", match["kind"][:-1])
        call_id = "onlineMeeting:" + match["meeting"]
    return [
        RecordingAvailable(
            platform=PLATFORM,
            meeting_id="",  # the call record brings the joinWebUrl
            instance_uuid=call_id,
            # A transcript may have no createdDateTime yet; the time we heard of it then.
            started_at=created or ended or now,
            files=(
                RecordingFile(
                    file_id=bounded(match["id"]),
                    file_type="MP4" if recording else "TRANSCRIPT",
                    recording_type="recording" if recording else "transcript",
                    started_at=created,
                    ended_at=ended,
                ),
            ),
        )
    ]


def endpoint_person(endpoint: Any, fallback: str) -> tuple[str, str, str] | None:
    """(key, name, e-mail) of a person's endpoint, the same key in every session; else None.

    The Entra object id is the key (`associatedIdentity.id`, or `identity.user.id`); the
    userPrincipalName, usually the work e-mail, links the person to the program. Attendance
    notified and attendance read back (`TeamsPlatform.past_participants`) share this key.
    """
    if not isinstance(endpoint, Mapping):
        return None
    if "serviceendpoint" in str(endpoint.get("@odata.type", "")).lower():
        return None
    associated = endpoint.get("associatedIdentity")
    if isinstance(associated, Mapping) and associated.get("id"):
        return (
            f"user:{associated['id']}",
            str(associated.get("displayName") or ""),
            str(associated.get("userPrincipalName") or "").strip().lower(),
        )
    identity = endpoint.get("identity")
    if not isinstance(identity, Mapping):
        return None
    for kind in PEOPLE:
        who = identity.get(kind)
        if isinstance(who, Mapping) and (who.get("id") or who.get("displayName")):
            # Someone without an id (an anonymous guest) is counted for this session alone.
            key = f"{kind}:{who['id']}" if who.get("id") else f"session:{fallback}"
            email = who.get("userPrincipalName") if kind == "user" else ""
            return key, str(who.get("displayName") or ""), str(email or "").strip().lower()
    return None


def optional_time(obj: Mapping[str, Any], field: str) -> datetime | None:
    """`obj[field]` as an aware time, or None when absent or unreadable."""
    value = obj.get(field)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)  # Graph's 7 fractional digits are truncated
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def bounded(text: str, limit: int = 255) -> str:
    """`text`, or a digest of it when longer than the store's 255-character columns."""
    if len(text) <= limit:
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _sessions(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    sessions = record.get("sessions") or []
    if not isinstance(sessions, list):
        raise Unavailable("the call record's sessions are not a list")
    return [s for s in sessions if isinstance(s, Mapping)]


def _api_time(obj: Mapping[str, Any], field: str) -> datetime:
    parsed = optional_time(obj, field)
    if parsed is None:
        # Perhaps not there yet (a record still being completed): a retry may find it.
        raise Unavailable(f"Graph's answer has no {field} (got {obj.get(field)!r})")
    return parsed


def _api_text(obj: Mapping[str, Any], field: str) -> str:
    value = obj.get(field)
    if not isinstance(value, str) or not value:
        raise Unavailable(f"Graph's answer has no {field}")
    return value
