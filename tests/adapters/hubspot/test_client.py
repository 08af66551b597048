"""HubSpot failures as typed errors, and the search throttle.

| HubSpot answers                                  | raised                                     |
|--------------------------------------------------|--------------------------------------------|
| 401                                              | Unauthorized, no retry: nothing to refresh |
| 403                                              | Unauthorized (a missing scope)             |
| 429 SECONDLY with Retry-After                    | RateLimited(retry_after = that header)     |
| 429 with only the interval header                | RateLimited(retry_after = interval / 1000) |
| 429 DAILY                                        | RateLimited(retry_after = DAILY_BACKOFF)   |
| 409 / 400 / 5xx / connection refused              | Conflict / InvalidRequest / Unavailable    |
"""

from __future__ import annotations

import pytest
import requests
import responses

from adapters.hubspot.client import DAILY_BACKOFF, HubSpotClient, SearchThrottle
from connector.clock import FrozenClock
from connector.errors import Conflict, InvalidRequest, RateLimited, Unauthorized, Unavailable
from tests.adapters.hubspot.support import BASE, NOW, TOKEN, FakeTimer, fixture

CONTACTS = f"{BASE}/crm/v3/objects/contacts"


def client(timer: FakeTimer | None = None) -> HubSpotClient:
    timer = timer or FakeTimer()
    throttle = SearchThrottle(4.0, monotonic=timer.monotonic, sleep=timer.sleep)
    return HubSpotClient(TOKEN, clock=FrozenClock(NOW), base_url=BASE, throttle=throttle)


def test_every_call_carries_the_private_app_token() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(CONTACTS, json={"results": []})
        assert client().call("GET", "/crm/v3/objects/contacts") == {"results": []}
        assert rsps.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_a_401_is_unauthorized_at_once_because_nothing_can_refresh_the_token() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(CONTACTS, status=401, json=fixture("error__401_expired"))
        with pytest.raises(Unauthorized, match="does not refresh") as caught:
            client().call("GET", "/crm/v3/objects/contacts")
        assert len(rsps.calls) == 1  # no second try
    assert caught.value.status == 401
    assert TOKEN not in str(caught.value)


def test_a_403_names_a_missing_scope() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(CONTACTS, status=403, json={"status": "error", "category": "MISSING_SCOPES"})
        with pytest.raises(Unauthorized, match="scope"):
            client().call("GET", "/crm/v3/objects/contacts")


@pytest.mark.parametrize(
    ("body", "headers", "retry_after"),
    [
        ("error__429_secondly", {"Retry-After": "3"}, 3.0),
        ("error__429_secondly", {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}, 10.0),
        ("error__429_secondly", {}, None),
        ("error__429_daily", {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}, DAILY_BACKOFF),
    ],
    ids=["retry-after", "interval-header", "nothing-said", "daily"],
)
def test_a_429_says_how_long_to_back_off(
    body: str, headers: dict[str, str], retry_after: float | None
) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(CONTACTS, status=429, json=fixture(body), headers=headers)
        with pytest.raises(RateLimited) as caught:
            client().call("GET", "/crm/v3/objects/contacts")
    assert caught.value.retry_after == retry_after
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("status", "error"),
    [(409, Conflict), (400, InvalidRequest), (404, InvalidRequest), (502, Unavailable)],
)
def test_other_failures_are_typed(status: int, error: type[Exception]) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(CONTACTS, status=status, json={"status": "error", "message": "no"})
        with pytest.raises(error):
            client().call("GET", "/crm/v3/objects/contacts")


def test_an_unreachable_portal_is_unavailable() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(CONTACTS, body=requests.ConnectionError("refused"))
        with pytest.raises(Unavailable, match="cannot reach HubSpot"):
            client().call("GET", "/crm/v3/objects/contacts")


def test_an_object_type_cannot_smuggle_a_path() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(f"{BASE}/crm/v3/objects/..%2Fowners/search", json={"results": []})
        client().search("../owners", {})
        with pytest.raises(InvalidRequest):
            client().search("..", {})


def test_searches_are_spaced_to_four_a_second_and_other_calls_are_not() -> None:
    timer = FakeTimer()
    api = client(timer)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(f"{CONTACTS}/search", json={"results": []})
        rsps.get(CONTACTS, json={"results": []})
        api.search("contacts", {})
        api.search("contacts", {})
        timer.now += 0.1
        api.search("contacts", {})
        api.call("GET", "/crm/v3/objects/contacts")
        timer.now += 5
        api.search("contacts", {})
    assert timer.sleeps == [0.25, 0.15]
