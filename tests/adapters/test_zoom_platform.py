"""The Zoom adapter against Zoom's documented REST shapes, with strict HTTP mocks.

Every test runs inside `responses.RequestsMock(assert_all_requests_are_fired=True)`: a request
nobody registered, or a registered one never made, fails the test; `sent()` then pins the exact
method and URL of every call. Bodies are `tests/fixtures/zoom_api/<call>__<variant>.json`, built
from the shapes in the video-platform reference §3.1/§3.2 (field names official, values invented).

How Zoom's answers become the connector's typed errors (STYLE.md habit 8):

| Zoom answers                     | raised / returned                          |
|----------------------------------|--------------------------------------------|
| 401, then 200 after a new token  | the 200 body                               |
| 401 twice                        | Unauthorized                               |
| 403                              | Unauthorized                               |
| 429 + Retry-After (s or a date)  | RateLimited(retry_after=seconds from now)  |
| 400, 404, 422                    | InvalidRequest                             |
| 404 on DELETE recordings         | done: nothing left to trash                |
| 409                              | Conflict                                   |
| 500, 503, connection error       | Unavailable                                |
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from adapters.base import ConnectionCheck, MeetingSecurity, PastParticipant, VideoPlatform
from adapters.zoom import ZoomClient, ZoomPlatform
from connector.clock import FrozenClock
from connector.errors import (
    AdapterError,
    Conflict,
    InvalidRequest,
    RateLimited,
    Unauthorized,
    Unavailable,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "zoom_api"
START = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # a Monday
API = "https://api.zoom.us/v2"
TOKEN_URL = "https://zoom.us/oauth/token"
ACCOUNT_ID = "AbC123accountId"
CLIENT_ID = "client-id-for-tests"
CLIENT_SECRET = "client-secret-for-tests"
TOKEN_1 = "eyJhbGciOiJIUzI1NiJ9.first-token-for-tests"
TOKEN_2 = "eyJhbGciOiJIUzI1NiJ9.second-token-for-tests"
MEETING_ID = "85746065432"
UUID = "aDYlohsHRtCd4ii1uC2+hA=="
UUID_PATH = "aDYlohsHRtCd4ii1uC2%2BhA%3D%3D"
FILE_ID = "ed6c2f27-2ae7-42f4-b3d0-835b493e4fa8"


def fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return body


def token_body(value: str = TOKEN_1) -> dict[str, Any]:
    return fixture("oauth_token__ok") | {"access_token": value}


# --------------------------------------------------------------------------- harness


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def client(clock: FrozenClock) -> ZoomClient:
    return ZoomClient(ACCOUNT_ID, CLIENT_ID, CLIENT_SECRET, clock=clock)


@pytest.fixture
def zoom(client: ZoomClient) -> ZoomPlatform:
    return ZoomPlatform(client)


def expect_token(
    api: responses.RequestsMock,
    value: str = TOKEN_1,
    *,
    status: int = 200,
    body: Any = None,
) -> None:
    """Zoom's token endpoint, answering only the documented Server-to-Server request (§3.1)."""
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    api.post(
        TOKEN_URL,
        status=status,
        body=body,
        json=None if body is not None else token_body(value),
        match=[
            matchers.header_matcher({"Authorization": f"Basic {basic}"}),
            matchers.urlencoded_params_matcher(
                {"grant_type": "account_credentials", "account_id": ACCOUNT_ID}
            ),
        ],
    )


def expect(
    api: responses.RequestsMock,
    method: str,
    path: str,
    *,
    params: dict[str, str] | None = None,
    token: str = TOKEN_1,
    status: int = 200,
    json_body: Any = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> None:
    """One API call, answered only when it carries `token` and exactly `params`."""
    api.add(
        method,
        API + path,
        status=status,
        json=json_body,
        body=body,
        headers=headers,
        match=[
            matchers.header_matcher({"Authorization": f"Bearer {token}"}),
            matchers.query_param_matcher(params or {}),
        ],
    )


def sent(api: responses.RequestsMock) -> list[tuple[str | None, str | None]]:
    return [(call.request.method, call.request.url) for call in api.calls]


def meeting_url(meeting_id: str = MEETING_ID) -> tuple[str, str]:
    return ("GET", f"{API}/meetings/{meeting_id}")


# --------------------------------------------------------------------------- token


def test_zoom_platform_is_a_video_platform(zoom: ZoomPlatform) -> None:
    platform: VideoPlatform = zoom
    assert platform.name == "zoom"


def test_token_is_fetched_once_and_reused(api: responses.RequestsMock, zoom: ZoomPlatform) -> None:
    expect_token(api)
    expect(api, "GET", f"/meetings/{MEETING_ID}", json_body=fixture("get_meeting__no_safeguards"))
    expect(api, "GET", f"/meetings/{MEETING_ID}", json_body=fixture("get_meeting__no_safeguards"))

    zoom.meeting_security(MEETING_ID)
    zoom.meeting_security(MEETING_ID)

    assert sent(api) == [("POST", TOKEN_URL), meeting_url(), meeting_url()]


def test_token_is_refreshed_when_60_seconds_or_less_remain(
    api: responses.RequestsMock, zoom: ZoomPlatform, clock: FrozenClock
) -> None:
    body = fixture("get_meeting__no_safeguards")
    expect_token(api, TOKEN_1)
    expect(api, "GET", f"/meetings/{MEETING_ID}", token=TOKEN_1, json_body=body)
    expect(api, "GET", f"/meetings/{MEETING_ID}", token=TOKEN_1, json_body=body)
    expect_token(api, TOKEN_2)
    expect(api, "GET", f"/meetings/{MEETING_ID}", token=TOKEN_2, json_body=body)

    zoom.meeting_security(MEETING_ID)  # token valid for 3600 s from START
    clock.advance(seconds=3600 - 61)  # 61 s remain: reused
    zoom.meeting_security(MEETING_ID)
    clock.advance(seconds=1)  # 60 s remain: refreshed first
    zoom.meeting_security(MEETING_ID)

    assert sent(api) == [
        ("POST", TOKEN_URL),
        meeting_url(),
        meeting_url(),
        ("POST", TOKEN_URL),
        meeting_url(),
    ]


def test_a_401_drops_the_token_and_retries_once_with_a_new_one(
    api: responses.RequestsMock, zoom: ZoomPlatform
) -> None:
    path = f"/meetings/{MEETING_ID}"
    expect_token(api, TOKEN_1)
    expect(
        api, "GET", path, token=TOKEN_1, status=401, json_body=fixture("get_meeting__invalid_token")
    )
    expect_token(api, TOKEN_2)
    expect(api, "GET", path, token=TOKEN_2, json_body=fixture("get_meeting__all_safeguards"))

    assert zoom.meeting_security(MEETING_ID).passcode is True
    assert sent(api) == [("POST", TOKEN_URL), meeting_url(), ("POST", TOKEN_URL), meeting_url()]


def test_a_second_401_raises_unauthorized(api: responses.RequestsMock, zoom: ZoomPlatform) -> None:
    path = f"/meetings/{MEETING_ID}"
    expect_token(api, TOKEN_1)
    expect(
        api, "GET", path, token=TOKEN_1, status=401, json_body=fixture("get_meeting__invalid_token")
    )
    expect_token(api, TOKEN_2)
    expect(
        api, "GET", path, token=TOKEN_2, status=401, json_body=fixture("get_meeting__invalid_token")
    )

    with pytest.raises(Unauthorized) as raised:
        zoom.meeting_security(MEETING_ID)

    assert raised.value.status == 401
    assert "code 124" in str(raised.value)
    assert len(api.calls) == 4


def test_tokens_and_the_secret_never_reach_logs_or_errors(
    api: responses.RequestsMock, zoom: ZoomPlatform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = f"/meetings/{MEETING_ID}"
    expect_token(api, TOKEN_1)
    expect(
        api, "GET", path, token=TOKEN_1, status=401, json_body=fixture("get_meeting__invalid_token")
    )
    expect_token(api, TOKEN_2)
    expect(
        api, "GET", path, token=TOKEN_2, status=401, json_body=fixture("get_meeting__invalid_token")
    )

    with pytest.raises(Unauthorized) as raised:
        zoom.meeting_security(MEETING_ID)

    seen = caplog.text + str(raised.value) + repr(zoom._client)
    assert caplog.text  # the flow is logged ...
    for secret in (CLIENT_SECRET, TOKEN_1, TOKEN_2):
        assert secret not in seen  # ... without what would let someone act as the app


# --------------------------------------------------------------------------- error mapping


@pytest.mark.parametrize(
    ("retry_after", "seconds"),
    [
        ("7", 7),
        ("Mon, 02 Nov 2026 14:01:30 GMT", 90),  # an HTTP date, relative to the clock
        ("2026-11-03T00:00:00Z", 36_000),  # the RFC 3339 form Zoom documented (§3.4)
        ("Mon, 02 Nov 2026 13:59:00 GMT", 0),  # already past
        ("soon", None),
        (None, None),
    ],
)
def test_429_raises_rate_limited_with_retry_after_in_seconds(
    api: responses.RequestsMock, zoom: ZoomPlatform, retry_after: str | None, seconds: float | None
) -> None:
    expect_token(api)
    expect(
        api,
        "GET",
        f"/meetings/{MEETING_ID}",
        status=429,
        json_body=fixture("get_meeting__rate_limited"),
        headers={"Retry-After": retry_after} if retry_after is not None else None,
    )

    with pytest.raises(RateLimited) as raised:
        zoom.meeting_security(MEETING_ID)

    assert raised.value.retry_after == seconds
    assert raised.value.retryable


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, InvalidRequest),
        (403, Unauthorized),
        (404, InvalidRequest),
        (409, Conflict),
        (422, InvalidRequest),
        (500, Unavailable),
        (503, Unavailable),
    ],
)
def test_http_failures_become_typed_errors(
    api: responses.RequestsMock, zoom: ZoomPlatform, status: int, error: type[AdapterError]
) -> None:
    expect_token(api)
    expect(api, "GET", f"/meetings/{MEETING_ID}", status=status, body="<html>upstream</html>")

    with pytest.raises(error) as raised:
        zoom.meeting_security(MEETING_ID)

    assert type(raised.value) is error
    assert raised.value.status == status


def test_a_connection_error_is_unavailable(api: responses.RequestsMock, zoom: ZoomPlatform) -> None:
    expect_token(api)
    expect(api, "GET", f"/meetings/{MEETING_ID}", body=requests.ConnectionError("reset"))

    with pytest.raises(Unavailable):
        zoom.meeting_security(MEETING_ID)


# --------------------------------------------------------------------------- meeting security


@pytest.mark.parametrize(
    ("variant", "security"),
    [
        (
            "no_safeguards",
            MeetingSecurity(
                passcode=False,
                waiting_room=False,
                authentication=False,
                encryption="enhanced_encryption",
                auto_recording="cloud",
            ),
        ),
        (
            "all_safeguards",
            MeetingSecurity(
                passcode=True,
                waiting_room=True,
                authentication=True,
                encryption="e2ee",
                auto_recording="none",
            ),
        ),
    ],
)
def test_meeting_security_is_read_back_from_get_meeting(
    api: responses.RequestsMock, zoom: ZoomPlatform, variant: str, security: MeetingSecurity
) -> None:
    expect_token(api)
    expect(api, "GET", f"/meetings/{MEETING_ID}", json_body=fixture(f"get_meeting__{variant}"))

    assert zoom.meeting_security(MEETING_ID) == security


# --------------------------------------------------------------------------- participants

PARTICIPANTS = f"/past_meetings/{UUID_PATH}/participants"
PAGE_2_TOKEN = "Tva2CuIdTgsv8wAnhyAdU3m06Y2HuLQtlh3"
PAGE_3_TOKEN = "Qp3XcYnzL0bJ7vDk2uEaW8rS5tHfMgNo1iC"


def at(hh_mm_ss: str) -> datetime:
    return datetime.fromisoformat(f"2026-11-02T{hh_mm_ss}+00:00")


def test_participants_are_every_join_session_across_all_pages(
    api: responses.RequestsMock, zoom: ZoomPlatform
) -> None:
    expect_token(api)
    first = {"page_size": "300"}
    expect(api, "GET", PARTICIPANTS, params=first, json_body=fixture("past_participants__page1"))
    expect(
        api,
        "GET",
        PARTICIPANTS,
        params=first | {"next_page_token": PAGE_2_TOKEN},
        json_body=fixture("past_participants__page2"),
    )
    expect(
        api,
        "GET",
        PARTICIPANTS,
        params=first | {"next_page_token": PAGE_3_TOKEN},
        json_body=fixture("past_participants__page3"),
    )

    people = list(zoom.past_participants(UUID))

    assert people == [
        PastParticipant(
            key="participant_user_id:tUo7WohjTs6ELvl9WR3JAA",  # signed in: the Zoom user id
            name="Mara Mentor",
            email="mara.mentor@example.org",
            join_time=at("15:00:04"),
            leave_time=at("15:31:07"),
        ),
        PastParticipant(
            key="user_id:16779264",  # a guest: the per-meeting id, as the webhook gives it
            name="Eli (guest)",
            email="",
            join_time=at("15:01:10"),
            leave_time=at("15:12:00"),
        ),
        PastParticipant(
            key="user_id:16780288",
            name="Eli (guest)",
            email="",
            join_time=at("15:13:30"),
            leave_time=at("15:30:58"),
        ),
        PastParticipant(
            key="email:sam.mentee@example.com",
            name="Sam Mentee",
            email="sam.mentee@example.com",
            join_time=at("15:02:00"),
            leave_time=at("15:30:59"),
        ),
        PastParticipant(
            key="name:Dial-in caller",
            name="Dial-in caller",
            email="",
            join_time=at("15:05:00"),
            leave_time=None,
        ),
    ]
    assert [url for _, url in sent(api)][1:] == [
        f"{API}{PARTICIPANTS}?page_size=300",
        f"{API}{PARTICIPANTS}?page_size=300&next_page_token={PAGE_2_TOKEN}",
        f"{API}{PARTICIPANTS}?page_size=300&next_page_token={PAGE_3_TOKEN}",
    ]


def test_a_repeated_next_page_token_stops_paging(
    api: responses.RequestsMock, zoom: ZoomPlatform
) -> None:
    expect_token(api)
    page1 = fixture("past_participants__page1")  # always points at PAGE_2_TOKEN
    expect(api, "GET", PARTICIPANTS, params={"page_size": "300"}, json_body=page1)
    again = {"page_size": "300", "next_page_token": PAGE_2_TOKEN}
    expect(api, "GET", PARTICIPANTS, params=again, json_body=page1)

    with pytest.raises(InvalidRequest, match="repeated a next_page_token"):
        list(zoom.past_participants(UUID))


def test_paging_stops_at_the_page_limit(api: responses.RequestsMock, client: ZoomClient) -> None:
    expect_token(api)
    first = {"page_size": "300"}
    expect(api, "GET", PARTICIPANTS, params=first, json_body=fixture("past_participants__page1"))
    expect(
        api,
        "GET",
        PARTICIPANTS,
        params=first | {"next_page_token": PAGE_2_TOKEN},
        json_body=fixture("past_participants__page2"),
    )

    with pytest.raises(InvalidRequest, match="more than 2 pages"):
        list(ZoomPlatform(client, max_pages=2).past_participants(UUID))


@pytest.mark.parametrize(
    ("uuid", "segment"),
    [
        # "double encode your UUID ... if the UUID begins with a / or contains // in it" (§3.3)
        ("/ajXp112QmuoKj4854875==", "%252FajXp112QmuoKj4854875%253D%253D"),
        ("Xq9v//T2Rk+aQ8mZ1bC3ww==", "Xq9v%252F%252FT2Rk%252BaQ8mZ1bC3ww%253D%253D"),
        # otherwise encoded once; a lone "/" would still break the path (§3.3 caveat)
        (UUID, UUID_PATH),
        ("MeUxD+6lQXO9b/zk0fGhrQ==", "MeUxD%2B6lQXO9b%2Fzk0fGhrQ%3D%3D"),
    ],
)
def test_instance_uuids_are_encoded_as_zoom_documents(
    api: responses.RequestsMock, zoom: ZoomPlatform, uuid: str, segment: str
) -> None:
    expect_token(api)
    path = f"/past_meetings/{segment}/participants"
    body = fixture("past_participants__page3")
    expect(api, "GET", path, params={"page_size": "300"}, json_body=body)

    assert len(list(zoom.past_participants(uuid))) == 1
    assert sent(api)[1] == ("GET", f"{API}{path}?page_size=300")


# --------------------------------------------------------------------------- recordings


def test_trash_deletes_the_instance_recordings_with_action_trash(
    api: responses.RequestsMock, zoom: ZoomPlatform
) -> None:
    expect_token(api)
    path = f"/meetings/{UUID_PATH}/recordings"
    expect(api, "DELETE", path, params={"action": "trash"}, status=204)

    zoom.trash_recordings(UUID)

    assert sent(api)[1] == ("DELETE", f"{API}{path}?action=trash")


def test_trash_of_recordings_already_gone_is_done(
    api: responses.RequestsMock, zoom: ZoomPlatform
) -> None:
    expect_token(api)
    path = f"/meetings/{UUID_PATH}/recordings"
    body = fixture("delete_recordings__no_recording")
    expect(api, "DELETE", path, params={"action": "trash"}, status=404, json_body=body)

    zoom.trash_recordings(UUID)  # a retry after a lost 204 must not dead-letter


def test_trash_rejected_for_another_reason_raises(
    api: responses.RequestsMock, zoom: ZoomPlatform
) -> None:
    expect_token(api)
    path = f"/meetings/{UUID_PATH}/recordings"
    expect(api, "DELETE", path, params={"action": "trash"}, status=400, body="{}")

    with pytest.raises(InvalidRequest):
        zoom.trash_recordings(UUID)


def test_access_link_is_the_download_url_with_a_fresh_access_token(
    api: responses.RequestsMock, zoom: ZoomPlatform
) -> None:
    expect_token(api)
    path = f"/meetings/{UUID_PATH}/recordings"
    params = {"include_fields": "download_access_token", "ttl": "900"}
    body = fixture("get_recordings__download_access_token")
    expect(api, "GET", path, params=params, json_body=body)

    link = zoom.access_link(UUID, FILE_ID, 900)

    assert link == (
        "https://us06web.zoom.us/rec/download/ed6c2f27"
        "?access_token=eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.download-token-for-tests"
    )


def test_access_link_to_a_file_that_is_not_there_raises(
    api: responses.RequestsMock, zoom: ZoomPlatform
) -> None:
    expect_token(api)
    path = f"/meetings/{UUID_PATH}/recordings"
    params = {"include_fields": "download_access_token", "ttl": "900"}
    body = fixture("get_recordings__download_access_token")
    expect(api, "GET", path, params=params, json_body=body)

    with pytest.raises(InvalidRequest, match="not on Zoom"):
        zoom.access_link(UUID, "no-such-file", 900)


# --------------------------------------------------------------------------- connection check


def test_check_connection_ok_fetches_a_token(
    api: responses.RequestsMock, zoom: ZoomPlatform
) -> None:
    expect_token(api)

    assert zoom.check_connection() == ConnectionCheck(True)
    assert sent(api) == [("POST", TOKEN_URL)]


def test_check_connection_refused_credentials_are_unauthorized(
    api: responses.RequestsMock, zoom: ZoomPlatform
) -> None:
    expect_token(api, status=400, body=json.dumps(fixture("oauth_token__invalid_client")))

    check = zoom.check_connection()

    assert (check.ok, check.code) == (False, "unauthorized")
    assert "invalid_client" in check.message
    assert CLIENT_SECRET not in check.message


@pytest.mark.parametrize(
    "failure", [requests.ConnectionError("no route"), requests.Timeout("slow")], ids=str
)
def test_check_connection_unreachable_is_cannot_connect(
    api: responses.RequestsMock, zoom: ZoomPlatform, failure: Exception
) -> None:
    expect_token(api, body=failure)

    check = zoom.check_connection()

    assert (check.ok, check.code) == (False, "cannot_connect")
