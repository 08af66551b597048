"""Microsoft Teams as a `VideoPlatform`: meeting options read back, attendance from call records.

Call shapes are Microsoft Graph v1.0 as summarised in the project's video-platform reference,
§4.3 and §4.6. What Graph does not offer is refused with a typed, non-retryable
`InvalidRequest`, so the outbox dead-letters the decision and its alert stays for staff:

| operation          | Graph call                                                    |
|--------------------|---------------------------------------------------------------|
| meeting_security   | `GET /users/{organizer}/onlineMeetings?$filter=JoinWebUrl eq` |
| past_participants  | `GET /communications/callRecords/{id}?$expand=sessions(...)`  |
| read_change        | the same call record, or `GET /{recording or transcript}` a   |
|                    | notification named (`ChangeReader`, for the outbox)           |
| trash_recordings   | none: recordings live in the organizer's OneDrive/SharePoint, |
|                    | and the reference documents no delete (§7) → InvalidRequest   |
| access_link        | none: `…/recordings/{id}/content` answers bytes to a bearer   |
|                    | token, no short-lived link (§4.3) → InvalidRequest            |
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from urllib.parse import parse_qs, urlsplit

from adapters.base import ChangeRead, ConnectionCheck, MeetingSecurity, PastParticipant
from adapters.teams.client import ARTIFACT_RESOURCE, GUID, GraphClient
from adapters.teams.mapping import (
    artifact_events,
    bounded,
    call_record_events,
    endpoint_person,
    optional_time,
)
from connector.clock import Clock, SystemClock
from connector.errors import AdapterError, InvalidRequest, Unauthorized, Unavailable

log = logging.getLogger("connector.adapters.teams")


class TeamsPlatform:
    """The connector's view of one Microsoft 365 tenant, through a `GraphClient`.

    `organizer` is the user (object id or UPN) whose meetings are read when a join URL does
    not name its organizer; app-only reads need an application access policy for that user.
    """

    name = "teams"

    def __init__(
        self, client: GraphClient, *, organizer: str | None = None, clock: Clock | None = None
    ) -> None:
        self._client = client
        self._organizer = organizer
        self._clock = clock or SystemClock()

    def check_connection(self) -> ConnectionCheck:
        """Fetch a fresh token: the one call every other call depends on."""
        try:
            self._client.access_token()
        except Unauthorized as exc:
            return ConnectionCheck(False, "unauthorized", str(exc))
        except AdapterError as exc:
            return ConnectionCheck(False, "cannot_connect", str(exc))
        return ConnectionCheck(True)

    def meeting_security(self, meeting_id: str) -> MeetingSecurity:
        """The lobby and passcode options of the meeting whose join URL is `meeting_id`.

        A Teams meeting is stored under its join URL (migration 0003). Graph finds a meeting by
        join URL only under its organizer, whom the link's `context` names (`Oid`).
        """
        if not meeting_id.startswith("https://"):
            raise InvalidRequest("a Teams meeting is read back by its join URL", status=404)
        organizer = organizer_of(meeting_id) or self._organizer
        if not organizer:
            raise InvalidRequest(
                "the join URL names no organizer and [video.teams] organizer is not set"
            )
        return self._client.get_online_meeting(organizer, join_web_url=meeting_id)

    def past_participants(self, instance_uuid: str) -> Iterator[PastParticipant]:
        """Each person's session in the call record `instance_uuid`, across all session pages.

        A call record exists only once the meeting ended and for 30 days after (404 then).
        """
        if not GUID.fullmatch(instance_uuid):
            raise InvalidRequest("a Teams meeting instance is a call record id")
        record = self._client.get_call_record(instance_uuid)
        sessions = record.get("sessions") or []
        for index, session in enumerate(sessions if isinstance(sessions, list) else []):
            if not isinstance(session, Mapping):
                continue
            joined = optional_time(session, "startDateTime")
            if joined is None:
                continue  # a session still being written; the record's next version has it
            for side in ("caller", "callee"):
                person = endpoint_person(session.get(side), f"{session.get('id', index)}:{side}")
                if person is not None:
                    key, name, email = person
                    yield PastParticipant(
                        key, name, email, joined, optional_time(session, "endDateTime")
                    )

    def read_change(self, resource: str, change_type: str) -> ChangeRead:
        """What a change notification's resource says now: a call record's meeting and
        attendance, or a recording's or transcript's `RecordingAvailable`.

        Keyed for the inbox by what was read, so reading the same thing again changes nothing:
        a call record by its `version` (Graph raises it on every update), an artifact by its
        resource (it does not change once made).
        """
        artifact = ARTIFACT_RESOURCE.fullmatch(resource)
        if artifact is not None:
            answer = self._client.get_meeting_artifact(resource)
            kind = "callRecording" if artifact["kind"] == "recordings" else "callTranscript"
            events = artifact_events(artifact, answer, self._clock.now())
            return ChangeRead(bounded(f"{kind}:{resource}"), f"{kind}.read", events)
        record_id = call_record_id(resource)
        try:
            record = self._client.get_call_record(record_id)
        except InvalidRequest as exc:
            if exc.status != 404:
                raise
            # Notified but not readable yet, or gone after 30 days: retried with backoff,
            # then dead-lettered where an admin sees it.
            raise Unavailable(f"call record not found (yet): {exc}", status=404) from exc
        version = record.get("version", record.get("lastModifiedDateTime", ""))
        events = call_record_events(record)
        return ChangeRead(bounded(f"callRecord:{record_id}:v{version}"), "callRecord.read", events)

    def trash_recordings(self, instance_uuid: str) -> None:
        """Not offered by Graph: raises `InvalidRequest`, so the decision is dead-lettered."""
        raise InvalidRequest(
            "Teams recordings cannot be removed through Microsoft Graph (they are files in the "
            "organizer's OneDrive or SharePoint); remove them there by hand"
        )

    def access_link(self, instance_uuid: str, file_id: str, ttl_seconds: int) -> str:
        """Not offered by Graph: raises `InvalidRequest` (no short-lived link exists)."""
        raise InvalidRequest(
            "Microsoft Graph gives no short-lived link to a Teams recording; open it from the "
            "meeting's chat or the organizer's OneDrive"
        )


def organizer_of(join_web_url: str) -> str | None:
    """The organizer's object id in a Teams join URL's `context={"Tid":…,"Oid":…}`, if any."""
    for context in parse_qs(urlsplit(join_web_url).query).get("context", []):
        try:
            data = json.loads(context)
        except ValueError:
            continue
        oid = data.get("Oid") if isinstance(data, Mapping) else None
        if isinstance(oid, str) and GUID.fullmatch(oid):
            return oid
    return None


CALL_RECORD = re.compile(
    rf"/?communications/callRecords(?:/(?P<a>{GUID.pattern})|\('(?P<b>{GUID.pattern})'\))"
)


def call_record_id(resource: str) -> str:
    """The id in `communications/callRecords/{id}` (or `('{id}')`); InvalidRequest otherwise."""
    match = CALL_RECORD.fullmatch(resource)
    if match is None:
        raise InvalidRequest(f"not a call record or meeting artifact: {resource[:80]!r}")
    return match["a"] or match["b"]
