"""How EspoCRM's answers become the connector's typed errors (STYLE.md habit 8).

| EspoCRM answers                                      | raised                            |
|------------------------------------------------------|-----------------------------------|
| 401, empty body (wrong key) — no token to refresh    | Unauthorized after one request    |
| 403 `X-Status-Reason: Assignment failure...`         | Unauthorized (fix the role)       |
| 403 `Max size should not exceed 200...`              | InvalidRequest                    |
| 409 `X-Status-Reason: duplicate` + the duplicates    | Conflict, without their names     |
| 400 `validationFailure`                              | InvalidRequest naming the field   |
| 404                                                  | InvalidRequest                    |
| 429 + Retry-After (a proxy in front of EspoCRM)      | RateLimited(retry_after)          |
| 500, 503, connection error                           | Unavailable                       |
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from adapters.espocrm import EspoClient
from connector.clock import FrozenClock
from connector.errors import (
    AdapterError,
    Conflict,
    InvalidRequest,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from tests.adapters.espocrm.helpers import API, API_KEY, BASE, NOW, fixture


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def client() -> EspoClient:
    return EspoClient(BASE, API_KEY, clock=FrozenClock(NOW))


CASES: list[tuple[str, int, dict[str, str], Any, type[AdapterError], str]] = [
    ("bad key", 401, {}, "", Unauthorized, "API key"),
    (
        "assignment",
        403,
        {"X-Status-Reason": "Assignment failure: assigned user is not allowed."},
        "",
        Unauthorized,
        "role",
    ),
    (
        "max size",
        403,
        {"X-Status-Reason": "Max size should not exceed 200. Use offset and limit."},
        "",
        InvalidRequest,
        "Max size",
    ),
    (
        "duplicate",
        409,
        {"X-Status-Reason": "duplicate"},
        fixture("api.error.duplicate__contact"),
        Conflict,
        "duplicate",
    ),
    (
        "validation",
        400,
        {},
        fixture("api.error.validationFailure__assignedUser"),
        InvalidRequest,
        "field assignedUser",
    ),
    ("not found", 404, {}, "", InvalidRequest, "404"),
    ("server error", 500, {}, "", Unavailable, "500"),
    ("unavailable", 503, {}, "", Unavailable, "503"),
]


@pytest.mark.parametrize(
    ("status", "headers", "body", "error", "says"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_failure_becomes_its_typed_error(
    api: responses.RequestsMock,
    status: int,
    headers: dict[str, str],
    body: Any,
    error: type[AdapterError],
    says: str,
) -> None:
    if isinstance(body, str):
        api.post(f"{API}/Contact", status=status, headers=headers, body=body)
    else:
        api.post(f"{API}/Contact", status=status, headers=headers, json=body)
    with pytest.raises(error, match=says) as raised:
        client().send_json("POST", "/Contact", {"lastName": "Mentee"})
    assert type(raised.value) is error
    assert "Maya" not in str(raised.value)  # a duplicate's body is never repeated
    assert API_KEY not in str(raised.value)
    assert len(api.calls) == 1  # an API key has nothing to refresh: no second try


def test_429_carries_retry_after_for_the_outbox_backoff(api: responses.RequestsMock) -> None:
    api.get(f"{API}/Contact", status=429, headers={"Retry-After": "30"}, body="")
    with pytest.raises(RateLimited) as raised:
        client().get_json("/Contact")
    assert raised.value.retry_after == 30.0
    assert raised.value.retryable


def test_a_connection_error_is_unavailable(api: responses.RequestsMock) -> None:
    api.get(f"{API}/App/user", body=requests.ConnectionError("refused"))
    with pytest.raises(Unavailable, match="cannot reach EspoCRM"):
        client().get_json("/App/user")


def test_a_body_that_is_not_json_is_unavailable(api: responses.RequestsMock) -> None:
    api.get(f"{API}/App/user", body="<html>maintenance</html>")
    with pytest.raises(Unavailable, match="not JSON"):
        client().get_json("/App/user")


def test_the_client_never_shows_its_key() -> None:
    assert API_KEY not in repr(client())
