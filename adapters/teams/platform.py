"""Microsoft Teams as a `VideoPlatform`: meeting options read back, attendance from call records.

Call shapes are Microsoft Graph v1.0 as summarised in the project's video-platform reference,
§4.3 and §4.6. What Graph does not offer is refused with a typed, non-retryable
`InvalidRequest`, so the outbox dead-letters the decision and its alert stays for staff:

| operation          | Graph call                                                    |
|--------------------|---------------------------------------------------------------|
| meeting_security   | `GET /users/{organizer}/onlineMeetings?$filter=JoinWebUrl eq` |
| past_participants  | `GET /communications/callRecords/{id}?$expand=sessions(...)`  |
| trash_recordings   | none: recordings live in the organizer's OneDrive/SharePoint, |
|                    | and the reference documents no delete (§7) → InvalidRequest   |
| access_link        | none: `…/recordings/{id}/content` answers bytes to a bearer   |
|                    | token, no short-lived link (§4.3) → InvalidRequest            |
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from adapters.base import ConnectionCheck, MeetingSecurity, PastParticipant
from adapters.teams.client import GUID, GraphClient
from connector.errors import AdapterError, InvalidRequest, Unauthorized

log = logging.getLogger("connector.adapters.teams")

# The kinds of identity a call record names a person by (api-reference/v1.0/resources/
# identityset.md), in the order `webhooks.teams` reads them.
PEOPLE = ("user", "guest", "phone", "acsUser", "spoolUser", "onPremises")


class TeamsPlatform:
    """The connector's view of one Microsoft 365 tenant, through a `GraphClient`.

    `organizer` is the user (object id or UPN) whose meetings are read when a join URL does
    not name its organizer; app-only reads need an application access policy for that user.
    """

    name = "teams"

    def __init__(self, client: GraphClient, *, organizer: str | None = None) -> None:
        self._client = client
        self._organizer = organizer

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
            joined = _time(session, "startDateTime")
            if joined is None:
                continue  # a session still being written; the record's next version has it
            for side in ("caller", "callee"):
                person = endpoint_person(session.get(side), f"{session.get('id', index)}:{side}")
                if person is not None:
                    key, name, email = person
                    yield PastParticipant(key, name, email, joined, _time(session, "endDateTime"))

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


def endpoint_person(endpoint: Any, fallback: str) -> tuple[str, str, str] | None:
    """(key, name, e-mail) of a person's endpoint; None for the conferencing server.

    The same key the receiver gives the same person (`webhooks.teams._endpoint_person`; a test
    holds the two together), so attendance read back merges with attendance notified.
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
            key = f"{kind}:{who['id']}" if who.get("id") else f"session:{fallback}"
            email = who.get("userPrincipalName") if kind == "user" else ""
            return key, str(who.get("displayName") or ""), str(email or "").strip().lower()
    return None


def _time(obj: Mapping[str, Any], field: str) -> datetime | None:
    value = obj.get(field)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)  # Graph's 7 fractional digits: Python 3.11 reads
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
