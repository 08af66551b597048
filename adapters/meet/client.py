"""Google Meet's REST API (v2) over one `requests.Session`, with typed errors.

Every failure leaves this module as one of the errors in `connector.errors` (STYLE.md habit 8):

| Meet answers                                  | raised                                   |
|-----------------------------------------------|------------------------------------------|
| 401 (credentials: after one refresh and retry) | `Unauthorized`                           |
| 403 (scope, delegation, not the owner's data) | `Unauthorized`                           |
| 429                                           | `RateLimited(retry_after)` from Retry-After |
| 400, 404 and any other 4xx; a malformed name  | `InvalidRequest`                         |
| 5xx, connection error, timeout, non-JSON body | `Unavailable`                            |

Auth is pluggable: pass a callable that returns a bearer token, or google-auth credentials,
which are refreshed when they expire. A service account with domain-wide delegation reads the
meetings of the Workspace user it impersonates (the space owner, or the user a subscription
targets); in the Admin console (Security → API controls → Domain-wide delegation) allow the
service account's client id the scope in `SCOPES`, then::

    from google.oauth2 import service_account
    credentials = service_account.Credentials.from_service_account_file(
        "/run/secrets/meet-reader.json", scopes=SCOPES, subject="mentoring@program.org"
    )
    client = MeetClient(credentials)

Tokens are never logged nor put in an error message.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import google.auth.credentials
import google.auth.transport.requests
import requests
from google.auth import exceptions as google_exceptions

from adapters.base import MeetingSecurity
from adapters.http import error_for, json_object
from connector.clock import Clock, SystemClock
from connector.errors import (
    InvalidRequest,
    Unauthorized,
    Unavailable,
)

log = logging.getLogger("connector.adapters.meet")

BASE_URL = "https://meet.googleapis.com/v2"
# Read conference records, participants, recordings, transcripts and space settings
# (https://developers.google.com/workspace/meet/api/guides/authenticate-authorize).
SCOPES = ("https://www.googleapis.com/auth/meetings.space.readonly",)
# Pub/Sub waits 10 s for a push answer by default and the receiver makes up to three calls.
DEFAULT_TIMEOUT = (3.05, 5.0)
PAGE_SIZE = 100  # participants.list and participantSessions.list accept up to 250
MAX_PAGES = 50  # 5,000 rows: far beyond a mentoring session; stops a runaway pager

# Names go into the URL path: only their documented shape, so no "..", "?" or "%2F" gets in.
_ID = r"[A-Za-z0-9_-]+"
_RECORD = rf"conferenceRecords/{_ID}"
_PARTICIPANT = rf"{_RECORD}/participants/{_ID}"
NAMES = {
    "conference record": re.compile(_RECORD),
    "participant": re.compile(_PARTICIPANT),
    "participant session": re.compile(rf"{_PARTICIPANT}/participantSessions/{_ID}"),
    "recording": re.compile(rf"{_RECORD}/recordings/{_ID}"),
    "transcript": re.compile(rf"{_RECORD}/transcripts/{_ID}"),
    "space": re.compile(rf"spaces/{_ID}"),  # a space id, or its meeting code as an alias
}

# `config.accessType`: who joins without knocking, Meet's waiting room
# (https://developers.google.com/workspace/meet/api/reference/rest/v2/spaces#AccessType).
# OPEN: anyone with the link. TRUSTED: the host's organization, invited external users and
# dial-in users; everyone else knocks. RESTRICTED: invitees only; everyone else knocks.
KNOCKING = {"OPEN": False, "TRUSTED": True, "RESTRICTED": True}

TokenProvider = Callable[[], str]


class MeetClient:
    """Read-only calls to the Meet REST API; each returns the resource's JSON object."""

    def __init__(
        self,
        credentials_or_token_provider: google.auth.credentials.Credentials | TokenProvider,
        *,
        session: requests.Session | None = None,
        base_url: str = BASE_URL,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        clock: Clock | None = None,
    ) -> None:
        self._session = session or requests.Session()
        self._credentials, self._token = token_source(credentials_or_token_provider, self._session)
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._clock = clock or SystemClock()

    def __repr__(self) -> str:
        return f"MeetClient(base_url={self._base_url!r})"

    def conference_record(self, name: str) -> dict[str, Any]:
        """`conferenceRecords.get`: `space`, `startTime`, `endTime` (unset while running)."""
        return self._get("conference record", name)

    def participant(self, name: str) -> dict[str, Any]:
        """`participants.get`: one of `signedinUser`, `anonymousUser`, `phoneUser`."""
        return self._get("participant", name)

    def participant_session(self, name: str) -> dict[str, Any]:
        """`participantSessions.get`: `startTime`, `endTime` of one join from one device."""
        return self._get("participant session", name)

    def recording(self, name: str) -> dict[str, Any]:
        """`recordings.get`: `state`, times, `driveDestination{file, exportUri}` (an MP4)."""
        return self._get("recording", name)

    def transcript(self, name: str) -> dict[str, Any]:
        """`transcripts.get`: `state`, times, `docsDestination{document, exportUri}`."""
        return self._get("transcript", name)

    def participants(self, record: str) -> Iterator[dict[str, Any]]:
        """`participants.list` of one conference record, across all pages."""
        return self._list("conference record", record, "participants")

    def participant_sessions(self, participant: str) -> Iterator[dict[str, Any]]:
        """`participantSessions.list` of one participant, across all pages."""
        return self._list("participant", participant, "participantSessions")

    def space(self, name: str) -> MeetingSecurity:
        """`spaces.get`, as the safeguards it applies. Meet has no passcode, so that is None."""
        config = self._get("space", name).get("config")
        access = config.get("accessType") if isinstance(config, Mapping) else None
        knocking = KNOCKING.get(access) if isinstance(access, str) else None
        return MeetingSecurity(passcode=None, waiting_room=knocking, authentication=None)

    # ------------------------------------------------------------------ calls

    def _get(self, kind: str, name: str) -> dict[str, Any]:
        if not isinstance(name, str) or not NAMES[kind].fullmatch(name):
            raise InvalidRequest(f"not a Meet {kind} name: {str(name)[:120]!r}")
        what = f"GET {name}"
        response = self._send(name)
        if response.status_code == 401 and self._credentials is not None:
            log.info("meet %s answered 401; refreshing the credentials and trying once more", what)
            self._credentials.expire()
            response = self._send(name)
        self._raise_for_status(response, what)
        return json_object(response, "Meet " + what)

    def _list(self, kind: str, parent: str, collection: str) -> Iterator[dict[str, Any]]:
        """The `collection` items under `parent`, following `nextPageToken` (AIP-158).

        A page token Meet already gave is a loop, and more than MAX_PAGES pages a runaway:
        both raise `Unavailable` rather than page forever.
        """
        if not isinstance(parent, str) or not NAMES[kind].fullmatch(parent):
            raise InvalidRequest(f"not a Meet {kind} name: {str(parent)[:120]!r}")
        path, what = f"{parent}/{collection}", f"GET {parent}/{collection}"
        seen: set[str] = set()
        token = ""
        for _ in range(MAX_PAGES):
            params = {"pageSize": str(PAGE_SIZE)} | ({"pageToken": token} if token else {})
            response = self._send(path, params)
            if response.status_code == 401 and self._credentials is not None:
                self._credentials.expire()
                response = self._send(path, params)
            self._raise_for_status(response, what)
            page = json_object(response, "Meet " + what)
            items = page.get(collection) or []
            if not isinstance(items, list):
                raise Unavailable(f"Meet {what} answered {collection} that is not a list")
            yield from (item for item in items if isinstance(item, dict))
            token = str(page.get("nextPageToken") or "")
            if not token:
                return
            if token in seen:
                raise Unavailable(f"Meet {what} repeated a page token; stopped paging")
            seen.add(token)
        raise Unavailable(f"Meet {what} has more than {MAX_PAGES} pages")

    def _send(self, name: str, params: Mapping[str, str] | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {self._token()}", "Accept": "application/json"}
        url = f"{self._base_url}/{name}"
        try:
            response = self._session.get(url, headers=headers, params=params, timeout=self._timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Unavailable(f"cannot reach Meet ({type(exc).__name__})") from exc
        log.debug("meet GET %s -> %s", name, response.status_code)
        return response

    def _raise_for_status(self, response: requests.Response, what: str) -> None:
        status = response.status_code
        if status < 400:
            return
        message = f"Meet {what} answered {status}: {describe_error(response)}"
        raise error_for(response, message, self._clock.now())


def token_source(
    source: google.auth.credentials.Credentials | TokenProvider, session: requests.Session
) -> tuple[CredentialsToken | None, TokenProvider]:
    """(what can be told a token was refused, what gives tokens): google-auth credentials
    are wrapped so a 401 can force a refresh; a plain provider (tests) is used as it is."""
    if isinstance(source, google.auth.credentials.Credentials):
        credentials = CredentialsToken(source, session)
        return credentials, credentials
    return None, source


class CredentialsToken:
    """A token provider over google-auth credentials: refreshed when expired or refused."""

    def __init__(
        self, credentials: google.auth.credentials.Credentials, session: requests.Session
    ) -> None:
        self._credentials = credentials
        self._request = google.auth.transport.requests.Request(session)
        self._lock = threading.Lock()
        self._stale = False

    def __call__(self) -> str:
        with self._lock:
            if self._stale or not self._credentials.valid:
                try:
                    self._credentials.refresh(self._request)  # type: ignore[no-untyped-call]
                except google_exceptions.RefreshError as exc:
                    raise Unauthorized(f"Google refused the credentials: {exc}") from exc
                except google_exceptions.TransportError as exc:
                    raise Unavailable(f"cannot reach Google's token endpoint: {exc}") from exc
                self._stale = False
            return str(self._credentials.token)

    def expire(self) -> None:
        with self._lock:
            self._stale = True


def describe_error(response: requests.Response) -> str:
    """Google's `{"error": {"code", "message", "status"}}` body (AIP-193)."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or "no error body"
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        return f"{error.get('status', '')}: {str(error.get('message', ''))[:200]}"
    return response.reason or "no error body"


__all__ = ["BASE_URL", "KNOCKING", "SCOPES", "CredentialsToken", "MeetClient", "describe_error"]
