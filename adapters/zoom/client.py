"""Zoom's REST API over one `requests.Session`: a Server-to-Server OAuth token and typed errors.

Every failure leaves this module as one of the errors in `connector.errors` (STYLE.md habit 8):

| Zoom answers                             | raised                                       |
|------------------------------------------|----------------------------------------------|
| 401 (after one token refresh and retry)  | `Unauthorized`                               |
| 403; 400 or 401 from the token endpoint  | `Unauthorized`                               |
| 429                                      | `RateLimited(retry_after)` from Retry-After  |
| 400, 404, 422 (and any other 4xx)        | `InvalidRequest`                             |
| 409                                      | `Conflict`                                   |
| 5xx, connection error, timeout           | `Unavailable`                                |

Tokens and the client secret are never logged nor put in an error message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests

from adapters.http import error_for, json_object
from connector.clock import Clock
from connector.errors import (
    InvalidRequest,
    Unauthorized,
    Unavailable,
)

log = logging.getLogger("connector.adapters.zoom")

# Zoom's Rivet SDK refreshes a Server-to-Server token when 60 s or less remain
# (`EXPIRATION_DELTA_SECONDS = 60`); tokens live one hour and there is no refresh token
# (https://developers.zoom.us/docs/rooms/s2s-oauth/).
REFRESH_MARGIN = timedelta(seconds=60)
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class _Token:
    value: str = field(repr=False)
    expires_at: datetime


def meeting_uuid_path(uuid: str) -> str:
    """A meeting instance UUID as one path segment of a Zoom REST URL.

    Zoom: "Please double encode your UUID when using it for API calls if the UUID begins with
    a `/` or contains `//` in it." (the `meetingUUID` path parameter,
    https://developers.zoom.us/docs/api/meetings/; quoted in the project's video-platform
    reference §3.3, and zoomus `util.encode_uuid` applies the same rule). Any other UUID is
    still encoded once: a single `/`, `+` or `=` in the middle would otherwise change the path
    (https://github.com/fleetdm/fleet/issues/31192).
    """
    if not uuid:
        raise InvalidRequest("a Zoom meeting UUID is empty")
    once = quote(uuid, safe="")
    if uuid.startswith("/") or "//" in uuid:
        return quote(once, safe="")
    return once


class ZoomClient:
    """Authenticated calls to `base_url` for one Zoom account (a Server-to-Server OAuth app)."""

    def __init__(
        self,
        account_id: str,
        client_id: str,
        client_secret: str,
        *,
        clock: Clock,
        session: requests.Session | None = None,
        base_url: str = "https://api.zoom.us/v2",
        oauth_url: str = "https://zoom.us/oauth/token",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._account_id = account_id
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._session = session or requests.Session()
        self._base_url = base_url.rstrip("/")
        self._oauth_url = oauth_url
        self._timeout = timeout
        self._token: _Token | None = None

    def __repr__(self) -> str:
        return f"ZoomClient(account_id={self._account_id!r}, base_url={self._base_url!r})"

    # ------------------------------------------------------------------ token

    def access_token(self) -> str:
        """The cached token, fetched anew when none is held or 60 s or less remain."""
        now = self._clock.now()
        if self._token is None or self._token.expires_at - now <= REFRESH_MARGIN:
            self._token = self._fetch_token()
        return self._token.value

    def refresh_token(self) -> None:
        """Drop the cached token and fetch a new one (a connection check talks to Zoom)."""
        self._token = None
        self.access_token()

    def _fetch_token(self) -> _Token:
        issued_at = self._clock.now()  # before the call: the token cannot outlive this
        response = self._send(
            "POST",
            self._oauth_url,
            data={"grant_type": "account_credentials", "account_id": self._account_id},
            auth=(self._client_id, self._client_secret),
        )
        if response.status_code in (400, 401):
            # OAuth answers a refused client or account with 400 or 401 (RFC 6749 §5.2).
            raise Unauthorized(
                f"Zoom refused the Server-to-Server OAuth credentials ({_describe(response)})",
                status=response.status_code,
            )
        self._raise_for_status(response, "POST /oauth/token")
        body = json_object(response, "Zoom POST /oauth/token")
        value, expires_in = body.get("access_token"), body.get("expires_in")
        # The same checks as Zoom's Rivet SDK: a string token and a numeric lifetime.
        if not isinstance(value, str) or not value:
            raise Unavailable("Zoom's token response has no access_token")
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            raise Unavailable("Zoom's token response has no numeric expires_in")
        log.info("zoom token fetched expires_in=%s", expires_in)
        return _Token(value, issued_at + timedelta(seconds=float(expires_in)))

    # ------------------------------------------------------------------ calls

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call `base_url + path` (path already encoded) with the token; raise typed errors.

        A 401 drops the token and repeats the call once with a new one: a token can be revoked
        or expire early, and Server-to-Server apps have no refresh token to fall back on.
        """
        what = f"{method} {path}"
        response = self._send_authorized(method, path, kwargs)
        if response.status_code == 401:
            log.info("zoom %s answered 401; fetching a new token and trying once more", what)
            self._token = None
            response = self._send_authorized(method, path, kwargs)
        self._raise_for_status(response, what)
        return response

    def get_json(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """`GET path` and its JSON object body."""
        return json_object(self.request("GET", path, **kwargs), f"Zoom GET {path}")

    def _send_authorized(self, method: str, path: str, kwargs: dict[str, Any]) -> requests.Response:
        headers = {**kwargs.get("headers", {}), "Authorization": f"Bearer {self.access_token()}"}
        return self._send(method, self._base_url + path, **{**kwargs, "headers": headers})

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        try:
            response = self._session.request(method, url, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Unavailable(f"cannot reach Zoom ({type(exc).__name__})") from exc
        log.debug("zoom %s %s -> %s", method, response.request.path_url, response.status_code)
        return response

    def _raise_for_status(self, response: requests.Response, what: str) -> None:
        status = response.status_code
        if status < 400:
            return
        message = f"Zoom {what} answered {status}: {_describe(response)}"
        # A 403: the app lacks a scope or the account a feature.
        raise error_for(response, message, self._clock.now())


def _describe(response: requests.Response) -> str:
    """Zoom's `{"code": …, "message": …}` error body (developers.zoom.us/docs/api/errors)."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or "no error body"
    if isinstance(body, dict):
        code = body.get("code", body.get("error", ""))
        text = body.get("message", body.get("reason", ""))
        return f"code {code}: {str(text)[:200]}"
    return response.reason or "no error body"
