"""The Directory API client: a signed-in Meet user's primary e-mail, with strict HTTP mocks.

`users.get` (https://developers.google.com/workspace/admin/directory/reference/rest/v1/users/get)
answers a `User` (`id`, `primaryEmail`, `name{…}`, …); with `fields=primaryEmail` only that
field. Errors are Google's JSON error body (`{"error": {"code", "message", "errors": [{"domain",
"reason", "message"}]}}`), as the directory sends "Resource Not Found: userKey" (`notFound`)
and "Not Authorized to access this resource/api" (`forbidden`).

| the directory answers                          | primary_email                               |
|------------------------------------------------|---------------------------------------------|
| 200 `{"primaryEmail"}` (or the whole User)     | the address, lower-cased                    |
| 404 notFound (deleted, outside the domain)     | None, and not asked again in this process   |
| 403 forbidden; 401 twice (credentials)         | Unauthorized, naming the scope to grant     |
| token endpoint: unauthorized_client            | Unauthorized, naming the scope; no request  |
| 401, then 200 (credentials)                    | the address, after one refresh              |
| 429 + Retry-After seconds or an HTTP date      | RateLimited(retry_after); nothing cached    |
| 400; 500; unreachable; no primaryEmail         | InvalidRequest; Unavailable                 |
| a user name not shaped `users/{digits}`        | InvalidRequest, and no request at all       |
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import requests
import responses
from google.auth import exceptions as google_exceptions
from responses import matchers

from adapters.meet import DIRECTORY_SCOPES, DirectoryClient
from adapters.meet.directory import DIRECTORY_URL
from connector.clock import FrozenClock
from connector.errors import InvalidRequest, RateLimited, Unauthorized, Unavailable
from tests.adapters.test_meet_client import FakeCredentials, bearer
from tests.webhooks.meet_helpers import SIGNED_IN_USER

NOW = datetime(2024, 5, 1, 10, 45, tzinfo=UTC)
TOKEN = "ya29.directory-token-for-tests"
AUTH = matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})
ONLY_THE_ADDRESS = matchers.query_param_matcher({"fields": "primaryEmail"})
USER_ID = SIGNED_IN_USER.removeprefix("users/")
URL = f"{DIRECTORY_URL}/users/{USER_ID}"
EMAIL = "ada.mentor@program.org"

FULL_USER = {  # the documented `User` resource, as answered without `fields`
    "kind": "admin#directory#user",
    "id": USER_ID,
    "etag": '"etag-1"',
    "primaryEmail": "Ada.Mentor@program.org",
    "name": {"givenName": "Ada", "familyName": "Mentor", "fullName": "Ada Mentor"},
    "isAdmin": False,
    "suspended": False,
    "orgUnitPath": "/Mentors",
    "customerId": "C01abcde",
}


def google_error(code: int, message: str, reason: str) -> dict[str, Any]:
    detail = {"message": message, "domain": "global", "reason": reason}
    return {"error": {"code": code, "message": message, "errors": [detail]}}


NOT_FOUND = google_error(404, "Resource Not Found: userKey", "notFound")
FORBIDDEN = google_error(403, "Not Authorized to access this resource/api", "forbidden")


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def directory(**options: Any) -> DirectoryClient:
    return DirectoryClient(lambda: TOKEN, clock=FrozenClock(NOW), **options)


# --------------------------------------------------------------------------- answers


def test_a_user_id_becomes_their_primary_address(api: responses.RequestsMock) -> None:
    api.get(URL, json={"primaryEmail": EMAIL}, match=[AUTH, ONLY_THE_ADDRESS])
    assert directory().primary_email(SIGNED_IN_USER) == EMAIL


def test_only_the_primary_address_is_read_from_a_whole_user(api: responses.RequestsMock) -> None:
    api.get(URL, json=FULL_USER, match=[AUTH, ONLY_THE_ADDRESS])
    assert directory().primary_email(SIGNED_IN_USER) == "ada.mentor@program.org"


def test_a_user_the_directory_does_not_have_has_no_address(api: responses.RequestsMock) -> None:
    api.get(URL, status=404, json=NOT_FOUND)
    client = directory()
    assert client.primary_email(SIGNED_IN_USER) is None
    assert client.primary_email(SIGNED_IN_USER) is None  # from the cache
    assert len(api.calls) == 1


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        pytest.param(400, google_error(400, "Invalid Input", "invalid"), InvalidRequest, id="400"),
        pytest.param(
            500, google_error(500, "Backend Error", "backendError"), Unavailable, id="500"
        ),
        pytest.param(503, "Service Unavailable", Unavailable, id="503-not-json"),
        pytest.param(200, {"id": USER_ID}, Unavailable, id="200-without-an-address"),
        pytest.param(200, ["not", "an", "object"], Unavailable, id="200-not-an-object"),
    ],
)
def test_other_failures_become_typed_errors(
    api: responses.RequestsMock, status: int, body: Any, error: type[Exception]
) -> None:
    if isinstance(body, str):
        api.get(URL, status=status, body=body)
    else:
        api.get(URL, status=status, json=body)
    with pytest.raises(error):
        directory().primary_email(SIGNED_IN_USER)


def test_an_unreachable_directory_is_unavailable(api: responses.RequestsMock) -> None:
    api.get(URL, body=requests.ConnectionError("connection refused"))
    with pytest.raises(Unavailable, match="cannot reach the Directory API"):
        directory().primary_email(SIGNED_IN_USER)


# --------------------------------------------------------------------------- authorization


def test_forbidden_is_unauthorized_and_names_the_scope_to_grant(
    api: responses.RequestsMock,
) -> None:
    api.get(URL, status=403, json=FORBIDDEN)
    with pytest.raises(Unauthorized) as raised:
        directory().primary_email(SIGNED_IN_USER)
    assert raised.value.status == 403
    message = str(raised.value)
    assert "Not Authorized to access this resource/api" in message
    assert DIRECTORY_SCOPES[0] in message
    assert "Domain-wide delegation" in message
    assert raised.value.retryable  # an admin can grant it; the delivery waits for that


def test_a_refused_delegation_names_the_scope_and_sends_nothing(
    api: responses.RequestsMock,
) -> None:
    refused = google_exceptions.RefreshError(
        "unauthorized_client: Client is unauthorized to retrieve access tokens using this "
        "method, or client not authorized for any of the scopes requested."
    )
    client = DirectoryClient(FakeCredentials(fail=refused))
    with pytest.raises(Unauthorized, match=re.escape(DIRECTORY_SCOPES[0])):
        client.primary_email(SIGNED_IN_USER)


def test_a_401_refreshes_the_credentials_once(api: responses.RequestsMock) -> None:
    credentials = FakeCredentials()
    api.get(URL, status=401, json={}, match=[bearer("token-1")])
    api.get(URL, json={"primaryEmail": EMAIL}, match=[bearer("token-2"), ONLY_THE_ADDRESS])
    assert DirectoryClient(credentials).primary_email(SIGNED_IN_USER) == EMAIL
    assert credentials.refreshes == 2


def test_a_second_401_is_unauthorized(api: responses.RequestsMock) -> None:
    api.get(URL, status=401, json={}, match=[bearer("token-1")])
    api.get(URL, status=401, json={}, match=[bearer("token-2")])
    with pytest.raises(Unauthorized, match=re.escape(DIRECTORY_SCOPES[0])):
        DirectoryClient(FakeCredentials()).primary_email(SIGNED_IN_USER)


# --------------------------------------------------------------------------- throttling


@pytest.mark.parametrize(
    ("retry_after", "seconds"),
    [("17", 17.0), (format_datetime(NOW + timedelta(minutes=2), usegmt=True), 120.0)],
    ids=["seconds", "http-date"],
)
def test_429_is_rate_limited_and_nothing_is_cached(
    api: responses.RequestsMock, retry_after: str, seconds: float
) -> None:
    quota = google_error(429, "Quota exceeded for quota metric 'Queries'", "rateLimitExceeded")
    api.get(URL, status=429, headers={"Retry-After": retry_after}, json=quota)
    api.get(URL, json={"primaryEmail": EMAIL})
    client = directory()
    with pytest.raises(RateLimited) as raised:
        client.primary_email(SIGNED_IN_USER)
    assert raised.value.retry_after == seconds
    assert client.primary_email(SIGNED_IN_USER) == EMAIL  # asked again, answered this time


# --------------------------------------------------------------------------- the cache


def test_each_user_is_asked_for_once(api: responses.RequestsMock) -> None:
    api.get(URL, json={"primaryEmail": EMAIL})
    client = directory()
    assert [client.primary_email(SIGNED_IN_USER) for _ in range(5)] == [EMAIL] * 5
    assert len(api.calls) == 1


def test_the_cache_is_bounded_and_forgets_the_least_recently_used(
    api: responses.RequestsMock,
) -> None:
    for n in (1, 2, 3, 1):
        api.get(f"{DIRECTORY_URL}/users/{n}", json={"primaryEmail": f"user{n}@program.org"})
    client = directory(cache_size=2)
    for n in (1, 2, 2, 3, 3, 1):  # 3 pushes 1 out; 2 and 3 are still known
        assert client.primary_email(f"users/{n}") == f"user{n}@program.org"
    assert [c.request.url.split("?")[0].rsplit("/", 1)[-1] for c in api.calls] == [
        "1",
        "2",
        "3",
        "1",
    ]


# --------------------------------------------------------------------------- guards


@pytest.mark.parametrize(
    "user",
    ["104711", "users/", "users/abc", "users/1/../2", "users/1?fields=name", "users/1%2F2", ""],
)
def test_a_malformed_user_name_is_refused_before_any_request(
    api: responses.RequestsMock, user: str
) -> None:
    with pytest.raises(InvalidRequest, match="not a Meet user name"):
        directory().primary_email(user)
    assert len(api.calls) == 0


def test_addresses_and_tokens_stay_out_of_logs_and_repr(
    api: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    api.get(URL, status=401, json={})
    api.get(URL, json={"primaryEmail": EMAIL})
    caplog.set_level(logging.DEBUG)
    client = DirectoryClient(FakeCredentials())
    assert client.primary_email(SIGNED_IN_USER) == EMAIL
    assert caplog.records, "the calls are logged"
    assert EMAIL not in caplog.text and USER_ID not in caplog.text
    assert TOKEN not in repr(directory())
