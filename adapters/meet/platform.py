"""Google Meet as a `VideoPlatform`: space settings read back, attendance from the REST API.

Call shapes are the Meet REST API v2 as summarised in the project's video-platform reference,
§5.1 and §5.4. What Meet does not offer is refused with a typed, non-retryable
`InvalidRequest`, so the outbox dead-letters the decision and its alert stays for staff:

| operation          | Meet call                                                          |
|--------------------|--------------------------------------------------------------------|
| meeting_security   | `spaces.get` → `config.accessType` (no passcode concept on Meet)   |
| past_participants  | `participants.list`, then `participantSessions.list` of each;      |
|                    | a signed-in user's e-mail from the Directory API (`users.get`)     |
| trash_recordings   | none: the MP4 is a file in the organizer's Drive                   |
|                    | (`driveDestination.file`); the reference documents no delete       |
| access_link        | `recordings.get` / `transcripts.get` → the Drive/Docs `exportUri`  |
| read_change        | what an event named (`ChangeReader`, for the outbox; the table in  |
|                    | `adapters.meet.mapping`), and the Directory e-mail of a person     |
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

from adapters.base import ChangeRead, ConnectionCheck, MeetingSecurity, PastParticipant
from adapters.meet.client import NAMES, MeetClient
from adapters.meet.directory import DirectoryClient
from adapters.meet.mapping import (
    CONFERENCE_ENDED,
    CONFERENCE_STARTED,
    PARTICIPANT_JOINED,
    PARTICIPANT_LEFT,
    RECORD_NAME,
    RECORDING_GENERATED,
    RECORDING_NAME,
    SESSION_NAME,
    TRANSCRIPT_GENERATED,
    TRANSCRIPT_NAME,
    conference_events,
    file_events,
    optional_time,
    participant_events,
    participant_identity,
    signed_in_user,
)
from connector.domain import Event, ParticipantJoined, ParticipantLeft
from connector.errors import AdapterError, InvalidRequest, Unauthorized, Unavailable

log = logging.getLogger("connector.adapters.meet")


class MeetPlatform:
    """The connector's view of one Workspace, through a `MeetClient` and, to tell who a
    signed-in participant is, a `DirectoryClient` (without one, nobody has an e-mail)."""

    name = "meet"

    def __init__(self, client: MeetClient, directory: DirectoryClient | None = None) -> None:
        self._client = client
        self._directory = directory

    def check_connection(self) -> ConnectionCheck:
        """List the participants of a record that does not exist: a 404 proves the token works."""
        try:
            list(self._client.participants("conferenceRecords/connection-check"))
        except Unauthorized as exc:
            return ConnectionCheck(False, "unauthorized", str(exc))
        except InvalidRequest:
            return ConnectionCheck(True)
        except AdapterError as exc:
            return ConnectionCheck(False, "cannot_connect", str(exc))
        return ConnectionCheck(True)

    def meeting_security(self, meeting_id: str) -> MeetingSecurity:
        """The space's `accessType` as the waiting room (knocking); Meet has no passcode."""
        return self._client.space(meeting_id)

    def past_participants(self, instance_uuid: str) -> Iterator[PastParticipant]:
        """Every session of every participant of the conference record `instance_uuid`."""
        for person in self._client.participants(instance_uuid):
            name = person.get("name")
            if not isinstance(name, str) or not NAMES["participant"].fullmatch(name):
                raise InvalidRequest("a Meet participant without a resource name")
            key, display = participant_identity(person, name)
            email = self._email(person)
            for session in self._client.participant_sessions(name):
                joined = optional_time(session, "startTime")
                if joined is None:
                    continue  # not started: nothing to count
                yield PastParticipant(
                    key, display, email, joined, optional_time(session, "endTime")
                )

    def _email(self, person: Mapping[str, Any]) -> str:
        """A signed-in user's primary address from the directory, else "" (anonymous, phone,
        outside the domain, or no directory configured). A failing directory raises, so the
        outbox retries the whole read: the attendance is linked once it works, never lost."""
        user = signed_in_user(person)
        if user is None or self._directory is None:
            return ""
        return self._directory.primary_email(user) or ""

    def read_change(self, resource: str, change_type: str) -> ChangeRead:
        """What the resource a Meet event named says now, as events (`adapters.meet.mapping`).

        Keyed for the inbox by event type and resource: what Meet says about a started or ended
        conference, a session's join or leave, or a generated file does not change once it
        is there, so reading it again stores nothing new. A resource Meet does not know (yet)
        is `Unavailable`: retried with backoff, then dead-lettered where an admin sees it.
        """
        try:
            events = self._read(resource, change_type)
        except InvalidRequest as exc:
            if exc.status != 404:
                raise
            raise Unavailable(f"Meet resource not found (yet): {exc}", status=404) from exc
        return ChangeRead(_bounded(f"{change_type}:{resource}"), change_type, events)

    def _read(self, resource: str, change_type: str) -> list[Event]:
        client = self._client
        if change_type in (CONFERENCE_STARTED, CONFERENCE_ENDED):
            name = _match(RECORD_NAME, resource).group(0)
            record = client.conference_record(name)
            return conference_events(record, name, ended=change_type == CONFERENCE_ENDED)
        if change_type in (PARTICIPANT_JOINED, PARTICIPANT_LEFT):
            names = _match(SESSION_NAME, resource)
            session = client.participant_session(names.group(0))
            person = client.participant(names.group("participant"))
            record = client.conference_record(names.group("record"))
            cls = ParticipantJoined if change_type == PARTICIPANT_JOINED else ParticipantLeft
            return participant_events(cls, session, person, record, names, self._email(person))
        if change_type in (RECORDING_GENERATED, TRANSCRIPT_GENERATED):
            recording = change_type == RECORDING_GENERATED
            match = _match(RECORDING_NAME if recording else TRANSCRIPT_NAME, resource)
            name, record_name = match.group(0, "record")
            item = client.recording(name) if recording else client.transcript(name)
            record = client.conference_record(record_name)
            kind = "recording" if recording else "transcript"
            return file_events(kind, item, record, name, record_name)
        raise InvalidRequest(f"not a Meet event the connector reads: {change_type[:120]!r}")

    def trash_recordings(self, instance_uuid: str) -> None:
        """Not offered by the Meet API: raises `InvalidRequest`, so it is dead-lettered."""
        raise InvalidRequest(
            "Meet recordings cannot be removed through the Meet API (they are files in the "
            "organizer's Google Drive); remove them there by hand"
        )

    def access_link(self, instance_uuid: str, file_id: str, ttl_seconds: int) -> str:
        """The Drive (recording) or Docs (transcript) `exportUri` of one file.

        Meet offers no expiring link: the link grants nothing by itself, Drive's sharing
        decides who opens it, so `ttl_seconds` cannot be applied. A file removed in Drive still
        has its Meet entry; a recording Meet no longer lists is a 404 (`InvalidRequest`).
        """
        if not file_id.startswith(instance_uuid + "/"):
            raise InvalidRequest(f"file {file_id[:120]!r} is not of meeting {instance_uuid!r}")
        is_recording = NAMES["recording"].fullmatch(file_id) is not None
        item = self._client.recording(file_id) if is_recording else self._client.transcript(file_id)
        destination = item.get("driveDestination" if is_recording else "docsDestination")
        uri = destination.get("exportUri") if isinstance(destination, Mapping) else None
        if not isinstance(uri, str) or not uri.startswith("https://"):
            raise InvalidRequest(
                f"Meet gives no file link for {file_id} (state {item.get('state')})"
            )
        return uri


def _bounded(text: str, limit: int = 255) -> str:
    """`text`, or a digest of it when longer than the store's 255-character columns."""
    if len(text) <= limit:
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _match(pattern: re.Pattern[str], resource: str) -> re.Match[str]:
    match = pattern.fullmatch(resource)
    if match is None:  # the receiver checked it; a replayed row may still be anything
        raise InvalidRequest(f"not a Meet resource name: {resource[:120]!r}")
    return match
