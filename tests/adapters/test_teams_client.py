"""The Microsoft Graph client against the documented shapes, with strict HTTP mocks.

Every test runs inside `responses.RequestsMock(assert_all_requests_are_fired=True)`: a request
nobody registered, or a registered one never made, fails the test; call counts are asserted
where reuse matters. Bodies are the fixtures the receiver tests use (`tests/fixtures/teams`).

| Graph answers                                   | raised / returned                          |
|-------------------------------------------------|--------------------------------------------|
| token endpoint 200                              | token cached until 5 minutes before expiry |
| token endpoint 400 / 401                        | Unauthorized (the secret is never echoed)  |
| 401, then 200 after a new token                 | the 200 body                               |
| 401 twice; 403                                  | Unauthorized                               |
| 429 (+ Retry-After), 503 + Retry-After          | RateLimited(retry_after)                   |
| 409                                             | Conflict                                   |
| 400, 404                                        | InvalidRequest                             |
| 500, 503 without Retry-After, connection error, non-JSON | Unavailable                       |
| a nextLink to another host, or one seen before  | Unavailable, and no request to it          |
| an id of the wrong shape                        | InvalidRequest, and no request at all      |
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from adapters.base import MeetingSecurity
from adapters.teams import GRAPH_URL, SCOPE, GraphClient
from adapters.teams.client import LOGIN_URL, meeting_security
from connector.clock import FrozenClock
from connector.errors import (
    Conflict,
    InvalidRequest,
    RateLimited,
    Unauthorized,
    Unavailable,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "teams"
NOW = datetime(2024, 5, 1, 10, 45, tzinfo=UTC)
TENANT = "2432b57b-0abd-43db-aa7b-16eadd115d34"
CLIENT_ID = "24d3b144-21ae-4080-943f-7067b395b913"
SECRET = "kQ8~client-secret-for-tests~zz"
TOKEN_URL = f"{LOGIN_URL}/{TENANT}/oauth2/v2.0/token"
GROUP = "2f1a9c3e-7d4b-4c8e-9a1f-5e6d7c8b9a0f"
ADA = "976f4b31-fd01-4e0b-9178-29cc40c14438"
SUB = "9f1c2a7e-5b4d-4e1a-8c3f-2d6b7a8e9f01"
RECORD_URL = f"{GRAPH_URL}/communications/callRecords/{GROUP}"
EXPAND = matchers.query_param_matcher({"$expand": "sessions($expand=segments)"})
TOKEN_FORM = matchers.urlencoded_params_matcher(
    {
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "scope": SCOPE,
        "grant_type": "client_credentials",
    }
)


def fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return body


TOKEN = fixture("graph.token__ok")["access_token"]
AUTH = matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def client(clock: FrozenClock | None = None) -> GraphClient:
    return GraphClient(TENANT, CLIENT_ID, SECRET, clock=clock or FrozenClock(NOW))


def token(api: responses.RequestsMock, access_token: str = TOKEN, expires_in: Any = 3599) -> None:
    body = {"token_type": "Bearer", "expires_in": expires_in, "access_token": access_token}
    api.post(TOKEN_URL, json=body, match=[TOKEN_FORM])


def calls_to(api: responses.RequestsMock, url: str) -> int:
    return sum(1 for call in api.calls if call.request.url.split("?")[0] == url)


# --------------------------------------------------------------------------- the token


def test_the_token_is_fetched_once_and_reused_until_shortly_before_it_expires(
    api: responses.RequestsMock,
) -> None:
    clock = FrozenClock(NOW)
    graph = client(clock)
    token(api)
    api.get(f"{GRAPH_URL}/subscriptions", json={"value": []}, match=[AUTH])
    graph.list_subscriptions()
    clock.advance(seconds=3599 - 301)  # 5 min 1 s left: still good
    graph.list_subscriptions()
    assert calls_to(api, TOKEN_URL) == 1
    clock.advance(seconds=1)  # 5 min left: fetch a new one first
    graph.list_subscriptions()
    assert calls_to(api, TOKEN_URL) == 2
    assert calls_to(api, f"{GRAPH_URL}/subscriptions") == 3


def test_a_lifetime_sent_as_a_string_is_read(api: responses.RequestsMock) -> None:
    token(api, expires_in="3599")
    assert client().access_token() == TOKEN


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"token_type": "Bearer", "expires_in": 3599}, id="no-token"),
        pytest.param({"access_token": "t", "expires_in": "soon"}, id="no-lifetime"),
        pytest.param({"access_token": "t", "expires_in": True}, id="boolean-lifetime"),
    ],
)
def test_a_token_answer_without_token_or_lifetime_is_unavailable(
    api: responses.RequestsMock, body: dict[str, Any]
) -> None:
    api.post(TOKEN_URL, json=body)
    with pytest.raises(Unavailable):
        client().access_token()


@pytest.mark.parametrize("status", [400, 401])
def test_refused_credentials_are_unauthorized_and_the_secret_is_not_echoed(
    api: responses.RequestsMock, status: int
) -> None:
    api.post(
        TOKEN_URL,
        status=status,
        json={
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.",
        },
    )
    with pytest.raises(Unauthorized) as raised:
        client().access_token()
    assert "AADSTS7000215" in str(raised.value)
    assert SECRET not in str(raised.value)
    assert SECRET not in repr(client())


def test_a_401_fetches_a_new_token_and_tries_once_more(api: responses.RequestsMock) -> None:
    token(api)
    api.get(RECORD_URL, status=401, json={"error": {"code": "InvalidAuthenticationToken"}})
    api.post(
        TOKEN_URL,
        json={"token_type": "Bearer", "expires_in": 3599, "access_token": "second-token"},
    )
    api.get(
        RECORD_URL,
        json=fixture("graph.callRecord__peer_to_peer") | {"id": GROUP},
        match=[matchers.header_matcher({"Authorization": "Bearer second-token"})],
    )
    assert client().get_call_record(GROUP)["id"] == GROUP
    assert calls_to(api, TOKEN_URL) == 2


def test_a_second_401_is_unauthorized(api: responses.RequestsMock) -> None:
    token(api)
    api.get(RECORD_URL, status=401, json={"error": {"code": "InvalidAuthenticationToken"}})
    with pytest.raises(Unauthorized):
        client().get_call_record(GROUP)
    assert calls_to(api, RECORD_URL) == 2
    assert calls_to(api, TOKEN_URL) == 2


# --------------------------------------------------------------------------- typed errors


def graph_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "innerError": {"request-id": "r-1"}}}


@pytest.mark.parametrize(
    ("status", "headers", "error", "retry_after"),
    [
        pytest.param(403, {}, Unauthorized, None, id="403-no-permission"),
        pytest.param(429, {"Retry-After": "7"}, RateLimited, 7.0, id="429-retry-after"),
        pytest.param(429, {}, RateLimited, None, id="429-without-retry-after"),
        pytest.param(
            429,
            {"Retry-After": "Wed, 01 May 2024 10:45:30 GMT"},
            RateLimited,
            30.0,
            id="429-retry-at-a-date",
        ),
        pytest.param(503, {"Retry-After": "12"}, RateLimited, 12.0, id="503-retry-after"),
        pytest.param(503, {}, Unavailable, None, id="503"),
        pytest.param(500, {}, Unavailable, None, id="500"),
        pytest.param(409, {}, Conflict, None, id="409"),
        pytest.param(404, {}, InvalidRequest, None, id="404-older-than-30-days"),
        pytest.param(400, {}, InvalidRequest, None, id="400"),
    ],
)
def test_http_failures_become_typed_errors(
    api: responses.RequestsMock,
    status: int,
    headers: dict[str, str],
    error: type[Exception],
    retry_after: float | None,
) -> None:
    token(api)
    api.get(RECORD_URL, status=status, headers=headers, json=graph_error("Code", "what failed"))
    with pytest.raises(error) as raised:
        client().get_call_record(GROUP)
    assert raised.value.status == status  # type: ignore[attr-defined]
    assert "Code: what failed" in str(raised.value)
    assert TOKEN not in str(raised.value)
    if isinstance(raised.value, RateLimited):
        assert raised.value.retry_after == retry_after


def test_a_connection_failure_is_unavailable(api: responses.RequestsMock) -> None:
    token(api)
    api.get(RECORD_URL, body=requests.ConnectionError("reset"))
    with pytest.raises(Unavailable):
        client().get_call_record(GROUP)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"body": "<html>gateway</html>"}, id="not-json"),
        pytest.param({"json": ["not", "an", "object"]}, id="json-array"),
    ],
)
def test_an_answer_that_is_not_a_json_object_is_unavailable(
    api: responses.RequestsMock, kwargs: dict[str, Any]
) -> None:
    token(api)
    api.get(RECORD_URL, **kwargs)
    with pytest.raises(Unavailable):
        client().get_call_record(GROUP)


# --------------------------------------------------------------------------- call records


def test_a_call_record_is_read_with_its_sessions_and_segments_across_pages(
    api: responses.RequestsMock,
) -> None:
    record = fixture("graph.callRecord__group_call")
    first = copy.deepcopy(record)
    first["sessions"] = record["sessions"][:3]
    next_page = f"{RECORD_URL}/sessions?$expand=segments&$skiptoken=page-2"
    first["sessions@odata.nextLink"] = next_page
    token(api)
    api.get(RECORD_URL, json=first, match=[AUTH, EXPAND])
    api.get(
        f"{RECORD_URL}/sessions",
        json={"value": record["sessions"][3:]},
        match=[
            AUTH,
            matchers.query_param_matcher({"$expand": "segments", "$skiptoken": "page-2"}),
        ],
    )
    assert client().get_call_record(GROUP) == record


def test_a_single_page_record_is_returned_as_is(api: responses.RequestsMock) -> None:
    token(api)
    record = fixture("graph.callRecord__group_call")
    api.get(RECORD_URL, json=record, match=[AUTH, EXPAND])
    assert client().get_call_record(GROUP) == record


def test_a_next_link_to_another_host_is_not_followed(api: responses.RequestsMock) -> None:
    token(api)
    record = fixture("graph.callRecord__group_call")
    record["sessions@odata.nextLink"] = "https://graph.example.net/v1.0/steal?token=1"
    api.get(RECORD_URL, json=record)
    with pytest.raises(Unavailable, match="points away"):
        client().get_call_record(GROUP)


def test_a_paging_loop_is_stopped(api: responses.RequestsMock) -> None:
    token(api)
    loop = f"{RECORD_URL}/sessions?$skiptoken=same"
    api.get(
        RECORD_URL, json=fixture("graph.callRecord__group_call") | {"sessions@odata.nextLink": loop}
    )
    api.get(f"{RECORD_URL}/sessions", json={"value": [], "@odata.nextLink": loop})
    with pytest.raises(Unavailable, match="paging did not end"):
        client().get_call_record(GROUP)
    assert calls_to(api, f"{RECORD_URL}/sessions") == 1


@pytest.mark.parametrize(
    "bad_id",
    ["../subscriptions", "2f1a9c3e-7d4b-4c8e-9a1f-5e6d7c8b9a0f?$select=id", "", "not-a-guid"],
)
def test_an_id_of_the_wrong_shape_is_refused_without_a_request(
    api: responses.RequestsMock, bad_id: str
) -> None:
    with pytest.raises(InvalidRequest):
        client().get_call_record(bad_id)
    assert len(api.calls) == 0


# --------------------------------------------------------------------------- recordings


@pytest.mark.parametrize(
    ("notification", "answer"),
    [
        pytest.param("callRecording.created__basic", "graph.callRecording__basic", id="recording"),
        pytest.param(
            "callTranscript.created__basic", "graph.callTranscript__basic", id="transcript"
        ),
    ],
)
def test_a_recording_or_transcript_is_read_at_the_resource_its_notification_names(
    api: responses.RequestsMock, notification: str, answer: str
) -> None:
    resource = fixture(notification)["value"][0]["resource"]
    token(api)
    api.get(f"{GRAPH_URL}/{resource}", json=fixture(answer), match=[AUTH])
    assert client().get_meeting_artifact(resource) == fixture(answer)


@pytest.mark.parametrize(
    "resource",
    [
        "communications/callRecords/" + GROUP,
        "communications/onlineMeetings('abc')/recordings('x')/../../../me",
        "users('someone')/messages('1')",
    ],
)
def test_any_other_resource_is_refused_without_a_request(
    api: responses.RequestsMock, resource: str
) -> None:
    with pytest.raises(InvalidRequest):
        client().get_meeting_artifact(resource)
    assert len(api.calls) == 0


# --------------------------------------------------------------------------- online meetings

MEETING = fixture("graph.onlineMeeting__lobby_organization")
SECURED = MeetingSecurity(
    passcode=True, waiting_room=True, authentication=None, auto_recording="none"
)


def test_a_meeting_is_read_by_its_id_as_its_safeguards(api: responses.RequestsMock) -> None:
    token(api)
    api.get(f"{GRAPH_URL}/users/{ADA}/onlineMeetings/{MEETING['id']}", json=MEETING, match=[AUTH])
    assert client().get_online_meeting(ADA, meeting_id=MEETING["id"]) == SECURED


def test_a_meeting_is_found_by_its_join_url(api: responses.RequestsMock) -> None:
    token(api)
    url = MEETING["joinWebUrl"]
    api.get(
        f"{GRAPH_URL}/users/{ADA}/onlineMeetings",
        json={"value": [MEETING]},
        match=[AUTH, matchers.query_param_matcher({"$filter": f"JoinWebUrl eq '{url}'"})],
    )
    assert client().get_online_meeting(ADA, join_web_url=url) == SECURED


def test_a_join_url_no_meeting_has_is_invalid(api: responses.RequestsMock) -> None:
    token(api)
    api.get(f"{GRAPH_URL}/users/{ADA}/onlineMeetings", json={"value": []})
    with pytest.raises(InvalidRequest, match="found no meeting"):
        client().get_online_meeting(ADA, join_web_url="https://teams.microsoft.com/l/x")


def test_a_meeting_needs_an_id_or_a_join_url(api: responses.RequestsMock) -> None:
    with pytest.raises(InvalidRequest):
        client().get_online_meeting(ADA)
    assert len(api.calls) == 0


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        pytest.param(
            {"lobbyBypassSettings": {"scope": "everyone"}},
            MeetingSecurity(passcode=None, waiting_room=False, authentication=None),
            id="everyone-bypasses-the-lobby",
        ),
        pytest.param(
            {"lobbyBypassSettings": {"scope": "organizer"}},
            MeetingSecurity(passcode=None, waiting_room=True, authentication=None),
            id="all-but-the-organizer-wait",
        ),
        pytest.param(
            {"lobbyBypassSettings": {"scope": "unknownFutureValue"}},
            MeetingSecurity(passcode=None, waiting_room=None, authentication=None),
            id="unknown-scope-unknown",
        ),
        pytest.param(
            {"joinMeetingIdSettings": {"isPasscodeRequired": False}, "recordAutomatically": True},
            MeetingSecurity(
                passcode=False, waiting_room=None, authentication=None, auto_recording="cloud"
            ),
            id="no-passcode-recorded-automatically",
        ),
        pytest.param(
            {},
            MeetingSecurity(passcode=None, waiting_room=None, authentication=None),
            id="nothing-reported",
        ),
    ],
)
def test_meeting_safeguards_are_read_back_not_assumed(
    settings: dict[str, Any], expected: MeetingSecurity
) -> None:
    assert meeting_security(settings) == expected


# --------------------------------------------------------------------------- subscriptions

EXPIRES = NOW + timedelta(minutes=4230)


def test_a_subscription_is_created_with_its_client_state_and_lifecycle_url(
    api: responses.RequestsMock,
) -> None:
    token(api)
    created = fixture("graph.subscription__call_records")
    api.post(
        f"{GRAPH_URL}/subscriptions",
        status=201,
        json=created,
        match=[
            AUTH,
            matchers.json_params_matcher(
                {
                    "changeType": "created,updated",
                    "notificationUrl": "https://mentoring.example.org/webhooks/teams",
                    "lifecycleNotificationUrl": "https://mentoring.example.org/webhooks/teams",
                    "resource": "/communications/callRecords",
                    "expirationDateTime": "2024-05-04T09:15:00Z",
                    "clientState": created["clientState"],
                }
            ),
        ],
    )
    answer = client().create_subscription(
        "/communications/callRecords",
        "https://mentoring.example.org/webhooks/teams",
        created["clientState"],
        EXPIRES,
        change_type="created,updated",
        lifecycle_notification_url="https://mentoring.example.org/webhooks/teams",
    )
    assert answer == created


@pytest.mark.parametrize(
    ("client_state", "expiration"),
    [
        pytest.param("", EXPIRES, id="empty-client-state"),
        pytest.param("x" * 129, EXPIRES, id="client-state-over-128"),
        pytest.param("ok", datetime(2024, 5, 4), id="naive-expiration"),
    ],
)
def test_an_invalid_subscription_is_refused_without_a_request(
    api: responses.RequestsMock, client_state: str, expiration: datetime
) -> None:
    with pytest.raises(InvalidRequest):
        client().create_subscription(
            "/communications/callRecords", "https://x", client_state, expiration
        )
    assert len(api.calls) == 0


def test_a_subscription_is_renewed_with_a_new_expiration(api: responses.RequestsMock) -> None:
    token(api)
    renewed = fixture("graph.subscription__call_records") | {
        "expirationDateTime": "2024-05-04T09:15:00Z"
    }
    api.patch(
        f"{GRAPH_URL}/subscriptions/{SUB}",
        json=renewed,
        match=[AUTH, matchers.json_params_matcher({"expirationDateTime": "2024-05-04T09:15:00Z"})],
    )
    assert client().renew_subscription(SUB, EXPIRES) == renewed


def test_renewing_an_unknown_subscription_is_invalid(api: responses.RequestsMock) -> None:
    token(api)
    api.patch(
        f"{GRAPH_URL}/subscriptions/{SUB}",
        status=404,
        json=graph_error("ResourceNotFound", "The object was not found."),
    )
    with pytest.raises(InvalidRequest):
        client().renew_subscription(SUB, EXPIRES)


def test_subscriptions_are_listed_across_pages(api: responses.RequestsMock) -> None:
    first = fixture("graph.subscription__call_records")
    second = first | {"id": "0cc28c98-4d2a-4a34-b850-815d7e6486ea"}
    token(api)
    api.get(
        f"{GRAPH_URL}/subscriptions",
        json={"value": [first], "@odata.nextLink": f"{GRAPH_URL}/subscriptions?$skiptoken=2"},
        match=[AUTH, matchers.query_param_matcher({})],
    )
    api.get(
        f"{GRAPH_URL}/subscriptions",
        json={"value": [second]},
        match=[AUTH, matchers.query_param_matcher({"$skiptoken": "2"})],
    )
    assert client().list_subscriptions() == [first, second]
