"""What every vendor HTTP client here shares: `Retry-After`, JSON object bodies, typed errors."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from connector.errors import (
    AdapterError,
    Conflict,
    InvalidRequest,
    RateLimited,
    Unauthorized,
    Unavailable,
)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header, or None when it is absent or unreadable.

    The header is seconds or an HTTP date (RFC 9110); Zoom's daily limit has been documented
    with an RFC 3339 time instead (`Retry-After: 2020-05-31T00:00:00Z`,
    https://devforum.zoom.us/t/18928), so that form is read too. A time in the past is 0.
    """
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    when: datetime | None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            return None
    if when.tzinfo is None:  # HTTP dates are GMT; "-0000" parses naive
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def json_object(response: requests.Response, what: str) -> dict[str, Any]:
    """The response's JSON object, or Unavailable naming the call (`what`) that broke it."""
    try:
        body = response.json()
    except ValueError as exc:
        raise Unavailable(f"{what} answered a body that is not JSON") from exc
    if not isinstance(body, dict):
        raise Unavailable(f"{what} answered JSON that is not an object")
    return body


def error_for(response: requests.Response, message: str, now: datetime) -> AdapterError:
    """The typed error for a failed response (STYLE.md habit 8), by its status alone.

    401/403 `Unauthorized` (a refused or under-scoped credential), 429 `RateLimited` with the
    `Retry-After` wait, 409 `Conflict`, 5xx `Unavailable`, any other 4xx `InvalidRequest`:
    the same request would fail the same way. Clients check their vendor's special cases
    first and leave the rest to this.
    """
    status = response.status_code
    if status in (401, 403):
        return Unauthorized(message, status=status)
    if status == 429:
        wait = retry_after_seconds(response.headers.get("Retry-After"), now)
        return RateLimited(message, retry_after=wait, status=status)
    if status == 409:
        return Conflict(message, status=status)
    if status >= 500:
        return Unavailable(message, status=status)
    return InvalidRequest(message, status=status)
