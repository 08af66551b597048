"""HubSpot's CRM v3 API over one `requests.Session`, with a private-app token.

Plain `requests` rather than hubspot-api-client: the SDK's generated modules send through
urllib3 directly, so `responses` cannot see them (shared/reference/crm-hosts.md §2.6), and one
mocking tool should serve every host.

Every failure leaves this module as one of the errors in `connector.errors` (STYLE.md habit 8):

| HubSpot answers                                         | raised                          |
|---------------------------------------------------------|---------------------------------|
| 401                                                     | `Unauthorized` (no retry)       |
| 403 (a scope the private app lacks)                     | `Unauthorized`                  |
| 429, policy SECONDLY / TEN_SECONDLY_ROLLING             | `RateLimited(retry_after)` (*)  |
| 429, policy DAILY                                       | `RateLimited(DAILY_BACKOFF)`    |
| 409                                                     | `Conflict`                      |
| 400, 404, other 4xx                                     | `InvalidRequest`                |
| 5xx, connection error, timeout, non-JSON                | `Unavailable`                   |

(*) `retry_after` from `Retry-After`, else from `X-HubSpot-RateLimit-Interval-Milliseconds`.

A private-app token does not expire and there is nothing to refresh it with: a 401 means it was
rotated or the app was removed, so it is raised at once and an admin sets the new token.

Search has its own, lower rate limit, about 4 requests per second per token (§2.3,
https://developers.hubspot.com/changelog/crm-search-api-rate-limit-increase), so search calls
are spaced out here on an injected timer; tests pass one that does not really sleep.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import requests

from adapters.http import error_for, json_object, retry_after_seconds
from connector.clock import Clock
from connector.errors import (
    AdapterError,
    InvalidRequest,
    RateLimited,
    Unauthorized,
    Unavailable,
)

log = logging.getLogger("connector.adapters.hubspot")

API_URL = "https://api.hubapi.com"
DEFAULT_TIMEOUT = (3.05, 30.0)
SEARCH_PER_SECOND = 4.0
# The daily limit resets at midnight in the portal's time zone, which the API does not tell
# us; an hour keeps the outbox from burning its attempts while the day runs out.
DAILY_BACKOFF = 3600.0
INTERVAL_HEADER = "X-HubSpot-RateLimit-Interval-Milliseconds"


class SearchThrottle:
    """Spaces search calls at least `1 / per_second` apart on a monotonic timer."""

    def __init__(
        self,
        per_second: float = SEARCH_PER_SECOND,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._gap = 1.0 / per_second
        self._monotonic = monotonic
        self._sleep = sleep
        self._last: float | None = None

    def wait(self) -> None:
        """Sleep until the next search call is allowed, then count it as made."""
        now = self._monotonic()
        if self._last is not None and now - self._last < self._gap:
            self._sleep(self._gap - (now - self._last))
            now = self._monotonic()
        self._last = now


class HubSpotClient:
    """Authenticated JSON calls to one HubSpot portal."""

    def __init__(
        self,
        access_token: str,
        *,
        clock: Clock,
        session: requests.Session | None = None,
        base_url: str = API_URL,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        throttle: SearchThrottle | None = None,
    ) -> None:
        self._token = access_token
        self._clock = clock
        self._session = session or requests.Session()
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._throttle = throttle or SearchThrottle()

    def __repr__(self) -> str:
        return f"HubSpotClient(base_url={self._base_url!r})"

    def search(self, object_type: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /crm/v3/objects/{type}/search`, throttled to the search rate limit."""
        self._throttle.wait()
        return self.call("POST", f"/crm/v3/objects/{segment(object_type)}/search", json=body)

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One call; its JSON object, `{}` for an empty answer (204), or a typed error."""
        response = self._send(method, path, json=json, params=params)
        self._raise_for_status(response, f"{method} {_route(path)}")
        if response.status_code == 204 or not response.content:
            return {}
        return json_object(response, f"HubSpot {method} {_route(path)}")

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        try:
            response = self._session.request(
                method, self._base_url + path, headers=headers, timeout=self._timeout, **kwargs
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Unavailable(f"cannot reach HubSpot ({type(exc).__name__})") from exc
        log.debug("hubspot %s %s -> %s", method, _route(path), response.status_code)
        return response

    def _raise_for_status(self, response: requests.Response, what: str) -> None:
        status = response.status_code
        if status < 400:
            return
        body = _error_body(response)
        message = f"HubSpot {what} answered {status}: {_describe(body, response)}"
        error: AdapterError
        if status == 401:
            error = Unauthorized(
                message + " (a private-app token does not refresh: set the app's current token)",
                status=status,
            )
        elif status == 403:
            error = Unauthorized(message + " (is a scope missing on the private app?)", status=403)
        elif status == 429:
            error = RateLimited(message, retry_after=self._retry_after(response, body))
        else:
            error = error_for(response, message, self._clock.now())
        raise error

    def _retry_after(self, response: requests.Response, body: Mapping[str, Any]) -> float | None:
        """How long a 429 asks us to wait (§2.4): the daily policy waits long; else the
        `Retry-After` header, else the length of the rate-limit interval."""
        if body.get("policyName") == "DAILY":
            return DAILY_BACKOFF
        seconds = retry_after_seconds(response.headers.get("Retry-After"), self._clock.now())
        if seconds is not None:
            return seconds
        interval = response.headers.get(INTERVAL_HEADER, "")
        return int(interval) / 1000 if interval.isdigit() else None


def segment(value: str) -> str:
    """One URL path segment (an object type or id), so no `/`, `?` or `..` gets through."""
    if not value or value in (".", ".."):
        raise InvalidRequest("an empty object type or id")
    return quote(value, safe="")


def _route(path: str) -> str:
    """The path without query or ids, for log lines (ids are harmless, but keep lines short)."""
    return path.split("?")[0]


def _error_body(response: requests.Response) -> Mapping[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, Mapping) else {}


def _describe(body: Mapping[str, Any], response: requests.Response) -> str:
    """HubSpot's `{"category"|"errorType", "message", "correlationId"}`, shortened."""
    kind = body.get("category") or body.get("errorType") or body.get("policyName") or ""
    text = str(body.get("message") or response.reason or "no error body")[:200]
    correlation = body.get("correlationId")
    return f"{kind}: {text}" + (f" (correlationId {correlation})" if correlation else "")


__all__ = ["API_URL", "DAILY_BACKOFF", "HubSpotClient", "SearchThrottle", "segment"]
