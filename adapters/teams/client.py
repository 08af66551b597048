"""Microsoft Graph over one `requests.Session`: an app-only token and typed errors.

Every failure leaves this module as one of the errors in `connector.errors` (STYLE.md habit 8):

| Graph answers                                        | raised                           |
|------------------------------------------------------|----------------------------------|
| 401 (after one token refresh and retry)              | `Unauthorized`                   |
| 403; 400 or 401 from the token endpoint              | `Unauthorized`                   |
| 429, or 503 with Retry-After                         | `RateLimited(retry_after)`       |
| 409                                                  | `Conflict`                       |
| 400, 404 (a call record past 30 days), other 4xx     | `InvalidRequest`                 |
| an id or resource of the wrong shape (no request)    | `InvalidRequest`                 |
| 5xx, connection error, timeout, non-JSON, paging loop | `Unavailable`                   |

Facts (shared/reference/video-platforms.md §4):
- the token comes from the client-credentials grant, `POST
  https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token` with scope
  `https://graph.microsoft.com/.default`; there is no refresh token, so a new one is fetched
  when the cached one is about to expire or Graph refuses it
  (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow);
- `GET /communications/callRecords/{id}?$expand=sessions($expand=segments)` pages its sessions
  through `sessions@odata.nextLink` (60 a page) and answers 404 after 30 days
  (api-reference/v1.0/api/callrecords-callrecord-get.md);
- a recording or transcript is read at the `resource` its notification names
  (concepts/teams-changenotifications-callrecording-and-calltranscript.md);
- Graph throttles with 429 and a `Retry-After` in seconds, and may send 503 with one too
  (https://learn.microsoft.com/graph/throttling).

Tokens and the client secret are never logged nor put in an error message; a `nextLink` is
followed only when it points back at `base_url`, so the token never leaves for another host.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests

from adapters.base import MeetingSecurity
from adapters.http import error_for, json_object, retry_after_seconds
from connector.clock import Clock
from connector.errors import (
    InvalidRequest,
    RateLimited,
    Unauthorized,
    Unavailable,
)

log = logging.getLogger("connector.adapters.teams")

GRAPH_URL = "https://graph.microsoft.com/v1.0"
LOGIN_URL = "https://login.microsoftonline.com"
SCOPE = "https://graph.microsoft.com/.default"
# Entra tokens live 60-90 minutes; fetch a new one 5 minutes before the old one runs out.
REFRESH_MARGIN = timedelta(minutes=5)
# Reads happen in the outbox, off the webhook path; a slow Graph only delays a retry.
DEFAULT_TIMEOUT = (3.05, 10.0)
MAX_PAGES = 50
CLIENT_STATE_MAX = 128  # api-reference/v1.0/resources/subscription.md

# Ids go into URL paths: only their documented shapes, so no "..", "?" or "%2F" gets in.
GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
USER = re.compile(r"[A-Za-z0-9._%+-]{1,64}(@[A-Za-z0-9.-]{1,190})?")  # object id or UPN
_KEY = r"[A-Za-z0-9+/=_-]{1,1024}"  # base64-ish meeting, recording and transcript ids
MEETING_ID = re.compile(_KEY)
ARTIFACT_RESOURCE = re.compile(
    rf"communications/onlineMeetings\('(?P<meeting>{_KEY})'\)"
    rf"/(?P<kind>recordings|transcripts)\('(?P<id>{_KEY})'\)"
)

# lobbyBypassSettings.scope: who joins without waiting in the lobby, Teams' waiting room
# (api-reference/v1.0/resources/lobbybypasssettings.md). Only "everyone" leaves it empty.
LOBBY_SCOPES = {
    "everyone": False,
    "organizationAndFederated": True,
    "organization": True,
    "organizationExcludingGuests": True,
    "invited": True,
    "organizer": True,
}


@dataclass(frozen=True)
class _Token:
    value: str = field(repr=False)
    expires_at: datetime


def meeting_security(meeting: Mapping[str, Any]) -> MeetingSecurity:
    """What an `onlineMeeting` object says about its safeguards (None where it says nothing)."""
    lobby = meeting.get("lobbyBypassSettings")
    scope = lobby.get("scope") if isinstance(lobby, Mapping) else None
    join = meeting.get("joinMeetingIdSettings")
    passcode = join.get("isPasscodeRequired") if isinstance(join, Mapping) else None
    auto = meeting.get("recordAutomatically")
    return MeetingSecurity(
        passcode=passcode if isinstance(passcode, bool) else None,
        waiting_room=LOBBY_SCOPES.get(scope) if isinstance(scope, str) else None,
        # Anonymous join is a tenant policy, not a meeting option Graph reports.
        authentication=None,
        auto_recording=("cloud" if auto else "none") if isinstance(auto, bool) else None,
    )


class GraphClient:
    """App-only calls to Microsoft Graph for one tenant (an Entra app registration)."""

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        *,
        clock: Clock,
        session: requests.Session | None = None,
        base_url: str = GRAPH_URL,
        login_url: str = LOGIN_URL,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self._tenant_id = tenant_id
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._session = session or requests.Session()
        self._base_url = base_url.rstrip("/")
        self._token_url = f"{login_url.rstrip('/')}/{quote(tenant_id, safe='')}/oauth2/v2.0/token"
        self._timeout = timeout
        self._token: _Token | None = None

    def __repr__(self) -> str:
        return f"GraphClient(tenant_id={self._tenant_id!r}, base_url={self._base_url!r})"

    # ------------------------------------------------------------------ reads

    def get_call_record(self, call_record_id: str) -> dict[str, Any]:
        """A call record with every session (and its segments), across all session pages."""
        _check(GUID, call_record_id, "call record id")
        what = "GET /communications/callRecords/{id}"
        url = f"{self._base_url}/communications/callRecords/{call_record_id}"
        record = self._get_json(url, what, params={"$expand": "sessions($expand=segments)"})
        sessions = _list(record.get("sessions"), what)
        next_link = record.pop("sessions@odata.nextLink", None)
        sessions.extend(self._follow(next_link, what))
        record["sessions"] = sessions
        return record

    def get_meeting_artifact(self, resource: str) -> dict[str, Any]:
        """The recording or transcript a notification's `resource` names (its metadata)."""
        _check(ARTIFACT_RESOURCE, resource, "recording or transcript resource")
        return self._get_json(f"{self._base_url}/{resource}", "GET " + resource.split("(")[0])

    def get_online_meeting(
        self, user_id: str, *, meeting_id: str | None = None, join_web_url: str | None = None
    ) -> MeetingSecurity:
        """The safeguards of one meeting organized by `user_id`, by its id or its join URL.

        App-only access needs an application access policy granted to the organizer
        (api-reference/v1.0/api/onlinemeeting-get.md).
        """
        _check(USER, user_id, "user id")
        base = f"{self._base_url}/users/{quote(user_id, safe='@')}/onlineMeetings"
        if meeting_id is not None:
            _check(MEETING_ID, meeting_id, "online meeting id")
            url = f"{base}/{quote(meeting_id, safe='')}"
            return meeting_security(self._get_json(url, "GET /users/{id}/onlineMeetings/{id}"))
        if not join_web_url:
            raise InvalidRequest("get_online_meeting needs a meeting_id or a join_web_url")
        what = "GET /users/{id}/onlineMeetings?$filter=JoinWebUrl"
        # OData string literal: a single quote is written twice.
        literal = join_web_url.replace("'", "''")
        page = self._get_json(base, what, params={"$filter": f"JoinWebUrl eq '{literal}'"})
        meetings = _list(page.get("value"), what)
        if not meetings or not isinstance(meetings[0], Mapping):
            raise InvalidRequest(f"{what} found no meeting with that join URL", status=404)
        return meeting_security(meetings[0])

    # ------------------------------------------------------------------ subscriptions

    def create_subscription(
        self,
        resource: str,
        notification_url: str,
        client_state: str,
        expiration: datetime,
        *,
        change_type: str = "created",
        lifecycle_notification_url: str | None = None,
    ) -> dict[str, Any]:
        """`POST /subscriptions`; the created subscription (201).

        Call records take `change_type="created,updated"`: an update raises the record's
        `version`. Recordings and transcripts take "created" and, for an expiration more than an
        hour away, a `lifecycle_notification_url`.
        """
        if not client_state or len(client_state) > CLIENT_STATE_MAX:
            raise InvalidRequest(f"clientState must be 1 to {CLIENT_STATE_MAX} characters")
        body = {
            "changeType": change_type,
            "notificationUrl": notification_url,
            "resource": resource,
            "expirationDateTime": _graph_time(expiration),
            "clientState": client_state,
        }
        if lifecycle_notification_url:
            body["lifecycleNotificationUrl"] = lifecycle_notification_url
        response = self._call(
            "POST", f"{self._base_url}/subscriptions", "POST /subscriptions", json=body
        )
        return json_object(response, "Graph POST /subscriptions")

    def renew_subscription(self, subscription_id: str, expiration: datetime) -> dict[str, Any]:
        """`PATCH /subscriptions/{id}` with a new expiration; the renewed subscription."""
        _check(GUID, subscription_id, "subscription id")
        what = "PATCH /subscriptions/{id}"
        response = self._call(
            "PATCH",
            f"{self._base_url}/subscriptions/{subscription_id}",
            what,
            json={"expirationDateTime": _graph_time(expiration)},
        )
        return json_object(response, "Graph " + what)

    def list_subscriptions(self) -> list[dict[str, Any]]:
        """Every subscription this app holds, across all pages."""
        what = "GET /subscriptions"
        page = self._get_json(f"{self._base_url}/subscriptions", what)
        items = _list(page.get("value"), what)
        items.extend(self._follow(page.get("@odata.nextLink"), what))
        return items

    # ------------------------------------------------------------------ token

    def access_token(self) -> str:
        """The cached token, fetched anew when none is held or 5 minutes or less remain."""
        now = self._clock.now()
        if self._token is None or self._token.expires_at - now <= REFRESH_MARGIN:
            self._token = self._fetch_token()
        return self._token.value

    def _fetch_token(self) -> _Token:
        issued_at = self._clock.now()  # before the call: the token cannot outlive this
        what = "POST /oauth2/v2.0/token"
        response = self._send(
            "POST",
            self._token_url,
            data={
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "scope": SCOPE,
                "grant_type": "client_credentials",
            },
        )
        if response.status_code in (400, 401):
            # Entra answers a wrong secret, client or tenant with 400 or 401 (RFC 6749 §5.2).
            raise Unauthorized(
                f"Microsoft Entra refused the client credentials ({_describe(response)})",
                status=response.status_code,
            )
        self._raise_for_status(response, what)
        body = json_object(response, "Graph " + what)
        value, expires_in = body.get("access_token"), body.get("expires_in")
        if isinstance(expires_in, str) and expires_in.isdigit():  # the v1 endpoint sent strings
            expires_in = int(expires_in)
        if not isinstance(value, str) or not value:
            raise Unavailable("the token response has no access_token")
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            raise Unavailable("the token response has no numeric expires_in")
        log.info("graph token fetched expires_in=%s", expires_in)
        return _Token(value, issued_at + timedelta(seconds=float(expires_in)))

    # ------------------------------------------------------------------ calls

    def _get_json(self, url: str, what: str, **kwargs: Any) -> dict[str, Any]:
        return json_object(self._call("GET", url, what, **kwargs), "Graph " + what)

    def _follow(self, next_link: Any, what: str) -> list[Any]:
        """The `value` items of every page from `next_link` on, refusing loops and other hosts."""
        items: list[Any] = []
        seen: set[str] = set()
        while next_link:
            if not isinstance(next_link, str) or not next_link.startswith(self._base_url + "/"):
                raise Unavailable(f"{what}: a nextLink points away from {self._base_url}")
            if next_link in seen or len(seen) >= MAX_PAGES:
                raise Unavailable(f"{what}: paging did not end after {len(seen)} pages")
            seen.add(next_link)
            page = self._get_json(next_link, what + " (next page)")
            items.extend(_list(page.get("value"), what))
            next_link = page.get("@odata.nextLink")
        return items

    def _call(self, method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
        """Send with the token; a 401 drops it and repeats the call once with a new one."""
        response = self._send_authorized(method, url, kwargs)
        if response.status_code == 401:
            log.info("graph %s answered 401; fetching a new token and trying once more", what)
            self._token = None
            response = self._send_authorized(method, url, kwargs)
        self._raise_for_status(response, what)
        return response

    def _send_authorized(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.access_token()}", "Accept": "application/json"}
        return self._send(method, url, **kwargs, headers=headers)

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            response = self._session.request(method, url, timeout=self._timeout, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Unavailable(f"cannot reach Microsoft ({type(exc).__name__})") from exc
        log.debug("graph %s %s -> %s", method, url.split("?")[0], response.status_code)
        return response

    def _raise_for_status(self, response: requests.Response, what: str) -> None:
        status = response.status_code
        if status < 400:
            return
        message = f"Graph {what} answered {status}: {_describe(response)}"
        retry_after = retry_after_seconds(response.headers.get("Retry-After"), self._clock.now())
        if status == 503 and retry_after is not None:  # Graph throttles with 503 + Retry-After
            raise RateLimited(message, retry_after=retry_after, status=status)
        # A 403: a missing permission or application access policy.
        raise error_for(response, message, self._clock.now())


def _check(pattern: re.Pattern[str], value: Any, what: str) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidRequest(f"not a Graph {what}: {str(value)[:120]!r}")


def _graph_time(when: datetime) -> str:
    if when.tzinfo is None:
        raise InvalidRequest("an expiration needs a time zone")
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Unavailable(f"Graph {what} answered a collection that is not a list")
    return list(value)


def _describe(response: requests.Response) -> str:
    """Graph's `{"error": {"code", "message"}}` or the token endpoint's `error_description`."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or "no error body"
    if not isinstance(body, Mapping):
        return response.reason or "no error body"
    error = body.get("error")
    if isinstance(error, Mapping):
        return f"{error.get('code', '')}: {str(error.get('message', ''))[:200]}"
    if isinstance(error, str):
        return f"{error}: {str(body.get('error_description', ''))[:200]}"
    return response.reason or "no error body"


__all__ = [
    "ARTIFACT_RESOURCE",
    "GRAPH_URL",
    "LOBBY_SCOPES",
    "LOGIN_URL",
    "SCOPE",
    "GraphClient",
    "meeting_security",
]
