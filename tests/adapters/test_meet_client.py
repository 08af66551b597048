"""The Meet REST client against the v2 reference shapes, with strict HTTP mocks.

Every test runs inside `responses.RequestsMock(assert_all_requests_are_fired=True)`: a request
nobody registered, or a registered one never made, fails the test. Resource bodies are the
ones the receiver tests use (`tests.webhooks.meet_helpers.RESOURCES`).

| Meet answers                                   | raised / returned                        |
|------------------------------------------------|------------------------------------------|
| 200 JSON object                                | the object                               |
| 401 (token callable)                           | Unauthorized                             |
| 401, then 200 (google-auth credentials)        | the 200 body, after one refresh          |
| 401 twice (credentials); 403                   | Unauthorized                             |
| 429 + Retry-After (seconds or an HTTP date)    | RateLimited(retry_after=seconds from now) |
| 400, 404                                       | InvalidRequest                           |
| 500, 503, connection error, a non-JSON body    | Unavailable                              |
| a name not shaped like a Meet resource         | InvalidRequest, and no request at all    |
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import google.auth.credentials
import pytest
import requests
import responses
from google.auth import exceptions as google_exceptions
from responses import matchers

from adapters.base import MeetingSecurity
from adapters.meet import BASE_URL, MeetClient
from connector.clock import FrozenClock
from connector.errors import InvalidRequest, RateLimited, Unauthorized, Unavailable
from tests.webhooks.meet_helpers import (
    P1,
    RECORD,
    RECORDING,
    RESOURCES,
    S1,
    SPACE,
    TRANSCRIPT,
)

NOW = datetime(2024, 5, 1, 10, 45, tzinfo=UTC)
TOKEN = "ya29.token-for-tests"
AUTH = matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def client(**options: Any) -> MeetClient:
    return MeetClient(lambda: TOKEN, clock=FrozenClock(NOW), **options)


# --------------------------------------------------------------------------- reads

READS = [
    pytest.param("conference_record", RECORD, id="conferenceRecords.get"),
    pytest.param("participant", P1, id="participants.get"),
    pytest.param("participant_session", S1, id="participantSessions.get"),
    pytest.param("recording", RECORDING, id="recordings.get"),
    pytest.param("transcript", TRANSCRIPT, id="transcripts.get"),
]


@pytest.mark.parametrize(("method", "name"), READS)
def test_each_read_gets_the_resource_by_name_with_the_bearer_token(
    api: responses.RequestsMock, method: str, name: str
) -> None:
    api.get(f"{BASE_URL}/{name}", json=RESOURCES[name], match=[AUTH])
    calls = {
        "conference_record": client().conference_record,
        "participant": client().participant,
        "participant_session": client().participant_session,
        "recording": client().recording,
        "transcript": client().transcript,
    }
    assert calls[method](name) == RESOURCES[name]


@pytest.mark.parametrize(
    ("config", "waiting_room"),
    [
        pytest.param({"accessType": "OPEN"}, False, id="open-anyone-joins"),
        pytest.param({"accessType": "TRUSTED"}, True, id="trusted-outsiders-knock"),
        pytest.param({"accessType": "RESTRICTED"}, True, id="restricted-non-invitees-knock"),
        pytest.param({"accessType": "SOMETHING_NEW"}, None, id="unknown-type-unknown"),
        pytest.param({}, None, id="not-reported"),
    ],
)
def test_space_reports_knocking_as_the_waiting_room_and_no_passcode(
    api: responses.RequestsMock, config: dict[str, str], waiting_room: bool | None
) -> None:
    api.get(
        f"{BASE_URL}/{SPACE}",
        json={
            "name": SPACE,
            "meetingUri": "https://meet.google.com/abc-mnop-xyz",
            "meetingCode": "abc-mnop-xyz",
            "config": config | {"entryPointAccess": "ALL"},
        },
        match=[AUTH],
    )
    assert client().space(SPACE) == MeetingSecurity(
        passcode=None, waiting_room=waiting_room, authentication=None
    )


def test_a_space_can_be_read_by_its_meeting_code(api: responses.RequestsMock) -> None:
    api.get(f"{BASE_URL}/spaces/abc-mnop-xyz", json={"config": {"accessType": "OPEN"}})
    assert client().space("spaces/abc-mnop-xyz").waiting_room is False


# --------------------------------------------------------------------------- typed errors


def error_body(code: int, status: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        pytest.param(401, error_body(401, "UNAUTHENTICATED", "bad token"), Unauthorized, id="401"),
        pytest.param(403, error_body(403, "PERMISSION_DENIED", "no"), Unauthorized, id="403"),
        pytest.param(400, error_body(400, "INVALID_ARGUMENT", "bad"), InvalidRequest, id="400"),
        pytest.param(404, error_body(404, "NOT_FOUND", "gone"), InvalidRequest, id="404"),
        pytest.param(500, error_body(500, "INTERNAL", "oops"), Unavailable, id="500"),
        pytest.param(503, "upstream connect error", Unavailable, id="503-not-json"),
    ],
)
def test_http_failures_become_typed_errors(
    api: responses.RequestsMock, status: int, body: Any, error: type[Exception]
) -> None:
    kwargs: dict[str, Any] = {"json": body} if isinstance(body, dict) else {"body": body}
    api.get(f"{BASE_URL}/{RECORD}", status=status, **kwargs)
    with pytest.raises(error) as raised:
        client().conference_record(RECORD)
    assert raised.value.status == status
    assert TOKEN not in str(raised.value)


def test_an_error_message_carries_googles_status_and_message(
    api: responses.RequestsMock,
) -> None:
    api.get(f"{BASE_URL}/{RECORD}", status=404, json=error_body(404, "NOT_FOUND", "No record"))
    with pytest.raises(InvalidRequest, match=f"GET {RECORD} answered 404: NOT_FOUND: No record"):
        client().conference_record(RECORD)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        pytest.param("30", 30.0, id="seconds"),
        pytest.param("Wed, 01 May 2024 10:46:30 GMT", 90.0, id="http-date"),
        pytest.param("Wed, 01 May 2024 10:00:00 GMT", 0.0, id="date-in-the-past"),
        pytest.param("soon", None, id="unreadable"),
    ],
)
def test_429_is_rate_limited_with_retry_after(
    api: responses.RequestsMock, header: str, seconds: float | None
) -> None:
    api.get(
        f"{BASE_URL}/{S1}",
        status=429,
        json=error_body(429, "RESOURCE_EXHAUSTED", "Quota exceeded"),
        headers={"Retry-After": header},
    )
    with pytest.raises(RateLimited) as raised:
        client().participant_session(S1)
    assert raised.value.retry_after == seconds
    assert raised.value.status == 429


def test_429_without_retry_after_leaves_the_wait_to_the_backoff(
    api: responses.RequestsMock,
) -> None:
    api.get(f"{BASE_URL}/{S1}", status=429, json=error_body(429, "RESOURCE_EXHAUSTED", "q"))
    with pytest.raises(RateLimited) as raised:
        client().participant_session(S1)
    assert raised.value.retry_after is None


@pytest.mark.parametrize(
    "failure",
    [requests.ConnectionError("refused"), requests.Timeout("slow")],
    ids=["connection-error", "timeout"],
)
def test_an_unreachable_meet_is_unavailable(
    api: responses.RequestsMock, failure: Exception
) -> None:
    api.get(f"{BASE_URL}/{RECORD}", body=failure)
    with pytest.raises(Unavailable, match=type(failure).__name__):
        client().conference_record(RECORD)


def test_json_that_is_not_an_object_is_unavailable(api: responses.RequestsMock) -> None:
    api.get(f"{BASE_URL}/{RECORD}", json=["not", "an", "object"])
    with pytest.raises(Unavailable, match="not an object"):
        client().conference_record(RECORD)


@pytest.mark.parametrize(
    ("method", "name"),
    [
        pytest.param("conference_record", "conferenceRecords/../spaces/x", id="dot-dot"),
        pytest.param("conference_record", "conferenceRecords/a?alt=media", id="query"),
        pytest.param("conference_record", "conferenceRecords/a%2Fb", id="encoded-slash"),
        pytest.param("conference_record", SPACE, id="a-space-is-not-a-record"),
        pytest.param("participant", S1, id="a-session-is-not-a-participant"),
        pytest.param("space", "https://meet.google.com/abc", id="a-url"),
        pytest.param("recording", "", id="empty"),
    ],
)
def test_a_malformed_name_is_refused_before_any_request(
    api: responses.RequestsMock, method: str, name: str
) -> None:
    meet = client()
    calls = {
        "conference_record": meet.conference_record,
        "participant": meet.participant,
        "space": meet.space,
        "recording": meet.recording,
    }
    with pytest.raises(InvalidRequest, match="not a Meet"):
        calls[method](name)
    assert len(api.calls) == 0


# --------------------------------------------------------------------------- credentials


class FakeCredentials(google.auth.credentials.Credentials):
    """Credentials whose refresh mints `token-1`, `token-2`, … (no token endpoint needed)."""

    def __init__(self, *, fail: Exception | None = None) -> None:
        super().__init__()
        self.refreshes = 0
        self.fail = fail

    def refresh(self, request: Any) -> None:
        if self.fail is not None:
            raise self.fail
        self.refreshes += 1
        self.token = f"token-{self.refreshes}"
        self.expiry = datetime(2100, 1, 1)  # google-auth compares naive UTC


def bearer(token: str) -> Any:
    return matchers.header_matcher({"Authorization": f"Bearer {token}"})


def test_credentials_are_refreshed_before_the_first_call(api: responses.RequestsMock) -> None:
    credentials = FakeCredentials()
    api.get(f"{BASE_URL}/{RECORD}", json=RESOURCES[RECORD], match=[bearer("token-1")])
    assert MeetClient(credentials).conference_record(RECORD)["space"] == SPACE
    assert credentials.refreshes == 1


def test_a_401_refreshes_the_credentials_and_tries_once_more(
    api: responses.RequestsMock,
) -> None:
    credentials = FakeCredentials()
    api.get(f"{BASE_URL}/{RECORD}", status=401, match=[bearer("token-1")])
    api.get(f"{BASE_URL}/{RECORD}", json=RESOURCES[RECORD], match=[bearer("token-2")])
    assert MeetClient(credentials).conference_record(RECORD) == RESOURCES[RECORD]
    assert credentials.refreshes == 2


def test_a_second_401_is_unauthorized(api: responses.RequestsMock) -> None:
    api.get(f"{BASE_URL}/{RECORD}", status=401, match=[bearer("token-1")])
    api.get(f"{BASE_URL}/{RECORD}", status=401, match=[bearer("token-2")])
    with pytest.raises(Unauthorized):
        MeetClient(FakeCredentials()).conference_record(RECORD)


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        pytest.param(google_exceptions.RefreshError("invalid_grant"), Unauthorized, id="refused"),
        pytest.param(google_exceptions.TransportError("dns"), Unavailable, id="unreachable"),
    ],
)
def test_a_failed_refresh_is_a_typed_error_and_no_call_is_made(
    api: responses.RequestsMock, failure: Exception, error: type[Exception]
) -> None:
    with pytest.raises(error):
        MeetClient(FakeCredentials(fail=failure)).conference_record(RECORD)


def test_the_client_does_not_show_its_token() -> None:
    assert TOKEN not in repr(client())
