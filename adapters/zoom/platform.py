"""Zoom as a `VideoPlatform`: read meetings back, list attendance, act on recordings.

Call shapes and field names are Zoom's REST API v2 as summarised in the project's video-platform
reference, §3.2 (Zoom Rivet SDK types: `MeetingsGetMeetingResponse`,
`MeetingsGetPastMeetingParticipantsResponse`, `CloudRecordingGetMeetingRecordingsResponse`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from adapters.base import ConnectionCheck, MeetingSecurity, PastParticipant
from adapters.zoom.client import ZoomClient, meeting_uuid_path
from connector.errors import AdapterError, InvalidRequest, Unauthorized

log = logging.getLogger("connector.adapters.zoom")

PAGE_SIZE = 300  # the largest page_size Zoom accepts here (1-300)
MAX_PAGES = 100  # 30,000 join sessions: far beyond a mentoring session; stops a runaway pager
MAX_LINK_TTL = 604_800  # `ttl` accepts 0-604800 s on GET /meetings/{id}/recordings


class ZoomPlatform:
    """The connector's view of one Zoom account, through a `ZoomClient`."""

    name = "zoom"

    def __init__(self, client: ZoomClient, *, max_pages: int = MAX_PAGES) -> None:
        self._client = client
        self._max_pages = max_pages

    def check_connection(self) -> ConnectionCheck:
        """Fetch a fresh token: the one call every other call depends on."""
        try:
            self._client.refresh_token()
        except Unauthorized as exc:
            return ConnectionCheck(False, "unauthorized", str(exc))
        except AdapterError as exc:
            return ConnectionCheck(False, "cannot_connect", str(exc))
        return ConnectionCheck(True)

    def meeting_security(self, meeting_id: str) -> MeetingSecurity:
        """`GET /meetings/{meetingId}`: the settings Zoom applied, which may differ from those
        requested — Zoom switches a safeguard on when all three are off
        (https://developers.zoom.us/docs/api/references/meeting-api-security-enhancements/).
        """
        body = self._client.get_json(f"/meetings/{quote(str(meeting_id), safe='')}")
        settings = body.get("settings")
        if not isinstance(settings, Mapping):
            settings = {}
        return MeetingSecurity(
            # The meeting record is complete, so a missing or empty passcode means none: the
            # policy then flags it (fail closed) instead of treating it as "not reported".
            passcode=bool(body.get("password")),
            waiting_room=_flag(settings, "waiting_room"),
            authentication=_flag(settings, "meeting_authentication"),
            encryption=_text(settings, "encryption_type"),
            auto_recording=_text(settings, "auto_recording"),
        )

    def past_participants(self, instance_uuid: str) -> Iterator[PastParticipant]:
        """Every join session of one instance, following `next_page_token` until it is empty.

        A token Zoom already gave is a loop and raises `InvalidRequest`, as does a meeting
        with more than `max_pages` pages.
        """
        path = f"/past_meetings/{meeting_uuid_path(instance_uuid)}/participants"
        seen: set[str] = set()
        token = ""
        for _ in range(self._max_pages):
            params = {"page_size": PAGE_SIZE} | ({"next_page_token": token} if token else {})
            body = self._client.get_json(path, params=params)
            rows = body.get("participants") or []
            if not isinstance(rows, list):
                raise InvalidRequest("Zoom's participants list is not a list")
            for row in rows:
                yield _participant(row)
            token = str(body.get("next_page_token") or "")
            if not token:
                return
            if token in seen:
                raise InvalidRequest(
                    f"Zoom repeated a next_page_token for meeting {instance_uuid}; "
                    "stopped paging participants to avoid a loop"
                )
            seen.add(token)
        raise InvalidRequest(
            f"meeting {instance_uuid} has more than {self._max_pages} pages of participants"
        )

    def trash_recordings(self, instance_uuid: str) -> None:
        """`DELETE /meetings/{uuid}/recordings?action=trash` (204): to Zoom's trash, not deleted.

        A 404 counts as done: Zoom has no recording under this instance, so nothing is left to
        trash. That is what a retry meets after an earlier attempt trashed them but its answer
        was lost, or after a host deleted them by hand; dead-lettering it would ask an admin to
        remove something that is already gone.
        """
        path = f"/meetings/{meeting_uuid_path(instance_uuid)}/recordings"
        try:
            self._client.request("DELETE", path, params={"action": "trash"})
        except InvalidRequest as exc:
            if exc.status != 404:
                raise
            log.warning("zoom recordings of %s already gone (404): %s", instance_uuid, exc)

    def access_link(self, instance_uuid: str, file_id: str, ttl_seconds: int) -> str:
        """One file's `download_url` with a `download_access_token` valid for `ttl_seconds`."""
        if not 0 <= ttl_seconds <= MAX_LINK_TTL:
            raise InvalidRequest(f"ttl_seconds must be 0-{MAX_LINK_TTL}, not {ttl_seconds}")
        body = self._client.get_json(
            f"/meetings/{meeting_uuid_path(instance_uuid)}/recordings",
            params={"include_fields": "download_access_token", "ttl": ttl_seconds},
        )
        token = body.get("download_access_token")
        if not isinstance(token, str) or not token:
            raise InvalidRequest(f"Zoom gave no download_access_token for {instance_uuid}")
        files = body.get("recording_files") or []
        for item in files if isinstance(files, list) else []:
            if isinstance(item, Mapping) and str(item.get("id", "")) == file_id:
                url = item.get("download_url")
                if not isinstance(url, str) or not url:
                    break
                joiner = "&" if "?" in url else "?"
                return f"{url}{joiner}access_token={quote(token, safe='')}"
        raise InvalidRequest(f"recording file {file_id} of meeting {instance_uuid} is not on Zoom")


def _participant(row: Any) -> PastParticipant:
    if not isinstance(row, Mapping):
        raise InvalidRequest("a Zoom participant row is not an object")
    email = str(row.get("user_email") or row.get("email") or "").strip().lower()
    name = str(row.get("name") or "")
    return PastParticipant(
        key=_participant_key(row, email, name),
        name=name,
        email=email,
        join_time=_time(row, "join_time"),
        leave_time=_time(row, "leave_time") if row.get("leave_time") else None,
    )


def _participant_key(row: Mapping[str, Any], email: str, name: str) -> str:
    """The key `webhooks.zoom._participant_key` gives the same person.

    REST `id` is the Zoom user id of a signed-in participant, which the webhook carries as
    `participant_user_id`; REST `user_id` is the per-meeting id that the webhook calls `user_id`
    (reference §2.5).
    """
    if row.get("id"):
        return f"participant_user_id:{row['id']}"
    if row.get("user_id"):
        return f"user_id:{row['user_id']}"
    if email:
        return f"email:{email}"
    return f"name:{name or 'unknown'}"


def _time(row: Mapping[str, Any], field: str) -> datetime:
    value = row.get(field)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidRequest(f"Zoom participant {field} is not an ISO-8601 time") from exc
    if parsed.tzinfo is None:
        raise InvalidRequest(f"Zoom participant {field} has no time zone")
    return parsed


def _flag(settings: Mapping[str, Any], field: str) -> bool | None:
    value = settings.get(field)
    return value if isinstance(value, bool) else None


def _text(settings: Mapping[str, Any], field: str) -> str | None:
    value = settings.get(field)
    return value if isinstance(value, str) and value else None
