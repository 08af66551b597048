"""EspoCRM's REST API (`<base_url>/api/v1/...`) over one `requests.Session`, with typed errors.

Facts are from the project's CRM reference §3 (verified against EspoCRM 9.0.6). An API user
authenticates with its `X-Api-Key` header; there is no token, so nothing to refresh: a 401
means the key is wrong or the user is inactive, and repeating the call cannot help.

| EspoCRM answers                                                | raised           |
|----------------------------------------------------------------|------------------|
| 401 (empty body: a wrong key or an inactive user)              | `Unauthorized`   |
| 403 for a request problem (`X-Status-Reason: Max size ...`)    | `InvalidRequest` |
| 403 for anything else (role lacks access, assignment failure,  | `Unauthorized`   |
|     `cannotRelateForbidden`): an admin fixes the role          |                  |
| 400 `validationFailure` (names the field), other 400, 404      | `InvalidRequest` |
| 409 (`X-Status-Reason: duplicate`)                             | `Conflict`       |
| 429 (EspoCRM has no rate limit; a proxy in front may send it)  | `RateLimited`    |
| 5xx, connection error, timeout, a body that is not JSON        | `Unavailable`    |

The API key never reaches a log line or an error message, and neither does a response body:
a duplicate's 409 lists the existing records, names and e-mail addresses included.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests

from adapters.http import error_for, json_object
from connector.clock import Clock
from connector.errors import (
    AdapterError,
    InvalidRequest,
    Unauthorized,
    Unavailable,
)

log = logging.getLogger("connector.adapters.espocrm")

DEFAULT_TIMEOUT = 30.0
# EspoCRM refuses `maxSize` above 200 with 403 "Max size should not exceed 200. Use offset and
# limit." (reference §3, verified); every list request here asks for at most this many.
MAX_PAGE_SIZE = 200
# 403 reasons that describe the request, not the user's rights: fixing the role cannot help.
_REQUEST_PROBLEMS = ("max size",)


def espo_time(moment: datetime) -> str:
    """A moment as EspoCRM stores and filters it: `Y-m-d H:i:s`, UTC, whole seconds."""
    if moment.tzinfo is None:
        raise ValueError("EspoCRM times are UTC: pass an aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def record_path(entity: str, record_id: str) -> str:
    """`/<Entity>/<id>` with the id as one path segment, whatever the host handed us."""
    if not record_id or len(record_id) > 255:
        raise InvalidRequest(f"an EspoCRM {entity} id must be 1-255 characters")
    return f"/{quote(entity, safe='')}/{quote(record_id, safe='')}"


def where(*conditions: tuple[str, str, str]) -> list[tuple[str, str]]:
    """EspoCRM's `where[i][type|attribute|value]` query parameters for (type, attribute, value).

    Values are passed as parameters, never spliced into a query string, so a key or a time
    that came from outside cannot add conditions of its own.
    """
    params: list[tuple[str, str]] = []
    for index, (kind, attribute, value) in enumerate(conditions):
        params += [
            (f"where[{index}][type]", kind),
            (f"where[{index}][attribute]", attribute),
            (f"where[{index}][value]", value),
        ]
    return params


class EspoClient:
    """Authenticated calls to one EspoCRM instance as its API user."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        clock: Clock,
        session: requests.Session | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._api = base_url.rstrip("/") + "/api/v1"
        self._api_key = api_key
        self._clock = clock
        self._session = session or requests.Session()
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"EspoClient(api={self._api!r})"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call `<api>/<path>` (path already encoded) as the API user; raise typed errors."""
        headers = {
            **kwargs.pop("headers", {}),
            "X-Api-Key": self._api_key,
            "Accept": "application/json",
        }
        kwargs.setdefault("timeout", self._timeout)
        what = f"{method} {path}"
        try:
            response = self._session.request(method, self._api + path, headers=headers, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Unavailable(f"cannot reach EspoCRM ({type(exc).__name__})") from exc
        log.debug("espocrm %s -> %s", what, response.status_code)
        self._raise_for_status(response, what)
        return response

    def get_json(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """`GET path` and its JSON object body."""
        return json_object(self.request("GET", path, **kwargs), f"EspoCRM GET {path}")

    def send_json(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """`POST`/`PUT` a JSON object and return the record EspoCRM answers with."""
        response = self.request(method, path, json=body)
        return json_object(response, f"EspoCRM {method} {path}")

    def _raise_for_status(self, response: requests.Response, what: str) -> None:
        status = response.status_code
        if status < 400:
            return
        message = f"EspoCRM {what} answered {status}: {_describe(response)}"
        reason = response.headers.get("X-Status-Reason", "").strip().lower()
        error: AdapterError
        if status == 401:
            error = Unauthorized(message + " (check the API key and that the user is active)")
        elif status == 403 and reason.startswith(_REQUEST_PROBLEMS):
            error = InvalidRequest(message, status=status)
        elif status == 403:
            error = Unauthorized(message + " (check the API user's role)", status=status)
        else:  # 409 Conflict (a duplicate), 429, 5xx, and 400/404 that would fail again
            error = error_for(response, message, self._clock.now())
        raise error


def _describe(response: requests.Response) -> str:
    """What went wrong, from `X-Status-Reason` and a `validationFailure` body, nothing more.

    EspoCRM's 400: `{"messageTranslation": {"label": "validationFailure", "data": {"field":
    "assignedUser", "type": "required"}}}` (reference §3). Other bodies are not repeated: a
    409's lists the duplicate records, personal data included.
    """
    parts = []
    reason = response.headers.get("X-Status-Reason", "").strip()
    if reason:
        parts.append(reason[:200])
    try:
        body = response.json()
    except ValueError:
        body = None
    translation = body.get("messageTranslation") if isinstance(body, dict) else None
    if isinstance(translation, dict):
        label = str(translation.get("label", ""))[:80]
        data = translation.get("data")
        if isinstance(data, dict) and data.get("field"):
            parts.append(
                f"{label}: field {str(data['field'])[:80]} {str(data.get('type', ''))[:40]}"
            )
        elif label:
            parts.append(label)
    return "; ".join(parts) or response.reason or "no reason given"
