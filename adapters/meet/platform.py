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
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from adapters.base import ConnectionCheck, MeetingSecurity, PastParticipant
from adapters.meet.client import NAMES, MeetClient
from adapters.meet.directory import DirectoryClient
from connector.errors import AdapterError, InvalidRequest, Unauthorized

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
                joined = _time(session, "startTime")
                if joined is None:
                    continue  # not started: nothing to count
                yield PastParticipant(key, display, email, joined, _time(session, "endTime"))

    def _email(self, person: Mapping[str, Any]) -> str:
        """The e-mail `webhooks.meet.MeetReceiver` gives the same person (a test holds the two
        together): a signed-in user's primary address, else "" (anonymous, phone, outside the
        domain). A failing directory raises, so the outbox retries the whole read-back."""
        user = signed_in_user(person)
        if user is None or self._directory is None:
            return ""
        return self._directory.primary_email(user) or ""

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


def participant_identity(person: Mapping[str, Any], participant_name: str) -> tuple[str, str]:
    """(key, display name): the key `webhooks.meet.participant_identity` gives the same person
    (a test holds the two together), so attendance read back merges with attendance notified.
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


def _time(obj: Mapping[str, Any], field: str) -> datetime | None:
    value = obj.get(field)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)  # RFC 3339 with "Z"; nanoseconds truncated
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
