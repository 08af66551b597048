"""Google Meet as a `VideoPlatform`, against the Meet REST v2 shapes with strict HTTP mocks.

| operation         | Meet answers                              | result                        |
|-------------------|-------------------------------------------|-------------------------------|
| meeting_security  | the space, `config.accessType`            | knocking; no passcode         |
| past_participants | two pages of people, each one's sessions  | each session, receiver's keys |
|                   | 401 (credentials expired early), then 200 | refreshed once, the 200 body  |
|                   | 429 + Retry-After seconds or date         | RateLimited(retry_after)      |
|                   | a page token seen before                  | Unavailable, no third request |
| trash_recordings  | (no call: Meet offers none)               | InvalidRequest, not retryable |
| access_link       | `driveDestination.exportUri`              | that link                     |
|                   | 404: the recording is gone                | InvalidRequest                |
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import responses
from responses import matchers

from adapters.base import MeetingSecurity, PastParticipant
from adapters.meet import BASE_URL, MeetClient
from adapters.meet.platform import MeetPlatform
from adapters.meet.platform import participant_identity as adapter_identity
from connector.clock import FrozenClock
from connector.errors import InvalidRequest, RateLimited, Unavailable
from connector.platforms import build_platforms
from tests.adapters.test_meet_client import FakeCredentials
from tests.support import make_settings
from tests.webhooks.meet_helpers import (
    P1,
    P2,
    RECORD,
    RECORDING,
    RESOURCES,
    S1,
    S2,
    SPACE,
    signing_key,
)
from webhooks.meet import participant_identity as receiver_identity

NOW = datetime(2024, 5, 1, 10, 45, tzinfo=UTC)
TOKEN = "ya29.token-for-tests"
AUTH = matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})
FIRST_PAGE = matchers.query_param_matcher({"pageSize": "100"})


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def platform() -> MeetPlatform:
    return MeetPlatform(MeetClient(lambda: TOKEN, clock=FrozenClock(NOW)))


def page(token: str | None = None) -> Any:
    return matchers.query_param_matcher(
        {"pageSize": "100"} | ({"pageToken": token} if token else {})
    )


def test_meeting_security_reads_the_spaces_access_type(api: responses.RequestsMock) -> None:
    api.get(f"{BASE_URL}/{SPACE}", json={"name": SPACE, "config": {"accessType": "TRUSTED"}})
    assert platform().meeting_security(SPACE) == MeetingSecurity(
        passcode=None, waiting_room=True, authentication=None
    )


def test_past_participants_page_through_people_and_their_sessions(
    api: responses.RequestsMock,
) -> None:
    api.get(
        f"{BASE_URL}/{RECORD}/participants",
        json={"participants": [RESOURCES[P1]], "nextPageToken": "page-2", "totalSize": 2},
        match=[AUTH, page()],
    )
    api.get(f"{BASE_URL}/{P1}/participantSessions", json={"participantSessions": [RESOURCES[S1]]})
    api.get(
        f"{BASE_URL}/{RECORD}/participants",
        json={"participants": [RESOURCES[P2]]},
        match=[AUTH, page("page-2")],
    )
    api.get(f"{BASE_URL}/{P2}/participantSessions", json={"participantSessions": [RESOURCES[S2]]})

    people = list(platform().past_participants(RECORD))
    assert [p.key for p in people] == [
        receiver_identity(RESOURCES[P1], P1)[0],
        receiver_identity(RESOURCES[P2], P2)[0],
    ]
    assert people[0] == PastParticipant(
        key=people[0].key,
        name=receiver_identity(RESOURCES[P1], P1)[1],
        email="",  # Meet names a user `users/{id}`, never an address
        join_time=datetime(2024, 5, 1, 10, 0, 4, 500000, tzinfo=UTC),
        leave_time=datetime(2024, 5, 1, 10, 30, 57, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    "person",
    [
        {"signedinUser": {"user": "users/1", "displayName": "Ada"}},
        {"anonymousUser": {"displayName": "Guest"}},
        {"phoneUser": {"displayName": "+1 *** 55"}},
        {},
    ],
    ids=["signed-in", "anonymous", "phone", "unknown"],
)
def test_the_adapter_and_the_receiver_key_a_person_alike(person: dict[str, Any]) -> None:
    assert adapter_identity(person, P1) == receiver_identity(person, P1)


def test_expired_credentials_are_refreshed_once(api: responses.RequestsMock) -> None:
    credentials = FakeCredentials()
    meet = MeetPlatform(MeetClient(credentials, clock=FrozenClock(NOW)))
    api.get(f"{BASE_URL}/{RECORD}/participants", status=401, json={})
    api.get(
        f"{BASE_URL}/{RECORD}/participants",
        json={"participants": []},
        match=[matchers.header_matcher({"Authorization": "Bearer token-2"})],
    )
    assert list(meet.past_participants(RECORD)) == []
    assert credentials.refreshes == 2


@pytest.mark.parametrize(
    ("retry_after", "seconds"),
    [("30", 30.0), (format_datetime(NOW + timedelta(minutes=2), usegmt=True), 120.0)],
    ids=["seconds", "http-date"],
)
def test_throttling_is_rate_limited(
    api: responses.RequestsMock, retry_after: str, seconds: float
) -> None:
    api.get(
        f"{BASE_URL}/{RECORD}/participants",
        status=429,
        headers={"Retry-After": retry_after},
        json={"error": {"status": "RESOURCE_EXHAUSTED", "message": "quota"}},
    )
    with pytest.raises(RateLimited) as raised:
        list(platform().past_participants(RECORD))
    assert raised.value.retry_after == seconds


def test_a_repeated_page_token_stops_paging(api: responses.RequestsMock) -> None:
    api.get(
        f"{BASE_URL}/{RECORD}/participants",
        json={"participants": [], "nextPageToken": "same"},
        match=[page()],
    )
    api.get(
        f"{BASE_URL}/{RECORD}/participants",
        json={"participants": [], "nextPageToken": "same"},
        match=[page("same")],
    )
    with pytest.raises(Unavailable, match="repeated a page token"):
        list(platform().past_participants(RECORD))


def test_trashing_is_a_final_refusal_without_a_request(api: responses.RequestsMock) -> None:
    with pytest.raises(InvalidRequest) as raised:
        platform().trash_recordings(RECORD)
    assert raised.value.retryable is False


def test_the_access_link_is_the_recordings_drive_link(api: responses.RequestsMock) -> None:
    api.get(f"{BASE_URL}/{RECORDING}", json=RESOURCES[RECORDING], match=[AUTH])
    link = platform().access_link(RECORD, RECORDING, 600)
    assert link == RESOURCES[RECORDING]["driveDestination"]["exportUri"]


def test_a_removed_recording_has_no_link(api: responses.RequestsMock) -> None:
    api.get(
        f"{BASE_URL}/{RECORDING}",
        status=404,
        json={"error": {"status": "NOT_FOUND", "message": "Requested entity was not found."}},
    )
    with pytest.raises(InvalidRequest) as raised:
        platform().access_link(RECORD, RECORDING, 600)
    assert raised.value.status == 404


def test_a_file_of_another_meeting_is_not_asked_for(api: responses.RequestsMock) -> None:
    with pytest.raises(InvalidRequest):
        platform().access_link("conferenceRecords/other", RECORDING, 600)


# --------------------------------------------------------------------------- wiring


def test_a_configured_credentials_file_makes_meet_a_platform(tmp_path: Any) -> None:
    key = signing_key()
    account = {
        "type": "service_account",
        "project_id": "mentoring",
        "private_key_id": key.key_id,
        "private_key": key.private_pem.decode(),
        "client_email": "meet-reader@mentoring.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path = tmp_path / "meet.json"
    path.write_text(json.dumps(account))
    meet = {"credentials_file": str(path), "impersonate": "mentoring@program.org"}
    settings = make_settings("sqlite://", video={"meet": meet})
    platforms = build_platforms(settings, FrozenClock(NOW))
    assert isinstance(platforms["meet"], MeetPlatform)
    assert "meet" not in build_platforms(make_settings("sqlite://"), FrozenClock(NOW))
