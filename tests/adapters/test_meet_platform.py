"""Google Meet as a `VideoPlatform`, against the Meet REST v2 shapes with strict HTTP mocks.

| operation         | Meet answers                              | result                        |
|-------------------|-------------------------------------------|-------------------------------|
| meeting_security  | the space, `config.accessType`            | knocking; no passcode         |
| past_participants | two pages of people, each one's sessions  | each session, the events' keys |
|                   | + the directory's address of a signed-in  | the events' e-mail too     |
|                   |   user (none for anonymous or phone)      |                               |
|                   | the directory refuses (403)               | Unauthorized: outbox retries  |
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
from urllib.parse import parse_qs

import pytest
import responses
from google.auth import jwt
from responses import matchers

from adapters.base import MeetingSecurity, PastParticipant
from adapters.meet import BASE_URL, DIRECTORY_SCOPES, DirectoryClient, MeetClient
from adapters.meet import SCOPES as MEET_SCOPES
from adapters.meet.directory import DIRECTORY_URL
from adapters.meet.mapping import PARTICIPANT_JOINED, participant_identity
from adapters.meet.platform import MeetPlatform
from connector.clock import FrozenClock
from connector.errors import InvalidRequest, RateLimited, Unauthorized, Unavailable
from connector.platforms import build_platforms
from tests.adapters.test_meet_client import FakeCredentials
from tests.support import make_settings
from tests.webhooks.meet_helpers import (
    P1,
    P2,
    P3,
    RECORD,
    RECORDING,
    RESOURCES,
    S1,
    S2,
    S3,
    SIGNED_IN_EMAIL,
    SIGNED_IN_USER,
    SPACE,
    FakeDirectory,
    FakeMeet,
    signing_key,
)

NOW = datetime(2024, 5, 1, 10, 45, tzinfo=UTC)
TOKEN = "ya29.token-for-tests"
AUTH = matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})
FIRST_PAGE = matchers.query_param_matcher({"pageSize": "100"})
DIRECTORY_USER = f"{DIRECTORY_URL}/users/{SIGNED_IN_USER.removeprefix('users/')}"
ONLY_THE_ADDRESS = matchers.query_param_matcher({"fields": "primaryEmail"})


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def platform() -> MeetPlatform:
    clock = FrozenClock(NOW)
    return MeetPlatform(
        MeetClient(lambda: TOKEN, clock=clock), DirectoryClient(lambda: TOKEN, clock=clock)
    )


def directory_answers(api: responses.RequestsMock, status: int = 200, **answer: Any) -> None:
    """users.get of the signed-in user (P1): their address, or `answer` with `status`."""
    body = answer.get("json", {"primaryEmail": SIGNED_IN_EMAIL})
    api.get(DIRECTORY_USER, status=status, json=body, match=[AUTH, ONLY_THE_ADDRESS])


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
    directory_answers(api)
    api.get(f"{BASE_URL}/{P1}/participantSessions", json={"participantSessions": [RESOURCES[S1]]})
    api.get(
        f"{BASE_URL}/{RECORD}/participants",
        json={"participants": [RESOURCES[P2]]},
        match=[AUTH, page("page-2")],
    )
    api.get(f"{BASE_URL}/{P2}/participantSessions", json={"participantSessions": [RESOURCES[S2]]})

    people = list(platform().past_participants(RECORD))
    assert [p.key for p in people] == [
        participant_identity(RESOURCES[P1], P1)[0],
        participant_identity(RESOURCES[P2], P2)[0],
    ]
    assert people[0] == PastParticipant(
        key=people[0].key,
        name=participant_identity(RESOURCES[P1], P1)[1],
        email=SIGNED_IN_EMAIL,  # Meet says `users/{id}`; the directory says who that is
        join_time=datetime(2024, 5, 1, 10, 0, 4, 500000, tzinfo=UTC),
        leave_time=datetime(2024, 5, 1, 10, 30, 57, tzinfo=UTC),
    )
    assert people[1].email == ""  # anonymous: nobody to ask about


def test_a_participant_the_directory_does_not_know_has_no_email(
    api: responses.RequestsMock,
) -> None:
    api.get(f"{BASE_URL}/{RECORD}/participants", json={"participants": [RESOURCES[P1]]})
    not_found = {"error": {"code": 404, "message": "Resource Not Found: userKey"}}
    directory_answers(api, status=404, json=not_found)
    api.get(f"{BASE_URL}/{P1}/participantSessions", json={"participantSessions": [RESOURCES[S1]]})
    [person] = platform().past_participants(RECORD)
    assert (person.key, person.email) == (participant_identity(RESOURCES[P1], P1)[0], "")


def test_a_refusing_directory_fails_the_read_back_for_a_retry(
    api: responses.RequestsMock,
) -> None:
    api.get(f"{BASE_URL}/{RECORD}/participants", json={"participants": [RESOURCES[P1]]})
    forbidden = {"error": {"code": 403, "message": "Not Authorized to access this resource/api"}}
    directory_answers(api, status=403, json=forbidden)
    with pytest.raises(Unauthorized, match=r"admin\.directory\.user\.readonly") as raised:
        list(platform().past_participants(RECORD))
    assert raised.value.retryable


class FakeMeetClient:
    """A conference with one participant and one session, for the agreement test below."""

    def __init__(self, person: dict[str, Any], session: dict[str, Any]) -> None:
        self.person, self.session = person, session

    def participants(self, record: str) -> Iterator[dict[str, Any]]:
        yield self.person

    def participant_sessions(self, participant: str) -> Iterator[dict[str, Any]]:
        yield self.session


@pytest.mark.parametrize(
    ("person", "session"), [(P1, S1), (P2, S2), (P3, S3)], ids=["signed-in", "anonymous", "phone"]
)
def test_the_read_back_and_the_event_read_give_a_person_the_same_key_and_email(
    person: str, session: str
) -> None:
    # Both ask the same directory about the same `users/{id}`; others have none on both sides.
    reader = MeetPlatform(FakeMeet(), FakeDirectory())  # type: ignore[arg-type]
    [event] = reader.read_change(session, PARTICIPANT_JOINED).events
    meet = MeetPlatform(
        FakeMeetClient(RESOURCES[person], RESOURCES[session]),  # type: ignore[arg-type]
        FakeDirectory(),  # type: ignore[arg-type]
    )
    [past] = meet.past_participants(RECORD)
    assert (past.key, past.email) == (
        getattr(event, "participant_key", None),
        getattr(event, "email", None),
    )
    assert past.email == (SIGNED_IN_EMAIL if person == P1 else "")


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


def service_account_file(tmp_path: Any) -> str:
    key = signing_key()
    account = {
        "type": "service_account",
        "project_id": "mentoring",
        "private_key_id": key.key_id,
        "private_key": key.private_pem.decode(),
        "client_email": "meet-reader@mentoring.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": TOKEN_URI,
    }
    path = tmp_path / "meet.json"
    path.write_text(json.dumps(account))
    return str(path)


TOKEN_URI = "https://oauth2.googleapis.com/token"
ADMIN = "mentoring@program.org"


def test_a_configured_credentials_file_makes_meet_a_platform(tmp_path: Any) -> None:
    meet = {"credentials_file": service_account_file(tmp_path), "impersonate": ADMIN}
    settings = make_settings("sqlite://", video={"meet": meet})
    platforms = build_platforms(settings, FrozenClock(NOW))
    assert isinstance(platforms["meet"], MeetPlatform)
    assert "meet" not in build_platforms(make_settings("sqlite://"), FrozenClock(NOW))


def granted_token(scope: str, token: str) -> Any:
    """The token endpoint's answer to a delegated JWT grant asking for `scope` as ADMIN."""

    def match(request: Any) -> tuple[bool, str]:
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        assertion = parse_qs(body)["assertion"][0]
        claims = jwt.decode(assertion, verify=False)
        wanted = (claims.get("scope"), claims.get("sub"))
        return wanted == (scope, ADMIN), f"asked for {wanted}"

    body = {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}
    return {"url": TOKEN_URI, "json": body, "match": [match]}


@pytest.mark.parametrize("lookup", [True, False], ids=["directory-lookup", "lookup-off"])
def test_meet_and_the_directory_each_get_a_token_for_their_own_scope(
    api: responses.RequestsMock, tmp_path: Any, lookup: bool
) -> None:
    # Delegation refuses a token asking for any scope not granted: one scope per token keeps a
    # missing directory grant from stopping the Meet reads.
    meet = {
        "credentials_file": service_account_file(tmp_path),
        "impersonate": ADMIN,
        "directory_lookup": lookup,
    }
    platform = build_platforms(make_settings("sqlite://", video={"meet": meet}), FrozenClock(NOW))
    api.post(**granted_token(MEET_SCOPES[0], "meet-token"))
    meet_auth = matchers.header_matcher({"Authorization": "Bearer meet-token"})
    api.get(
        f"{BASE_URL}/{RECORD}/participants",
        json={"participants": [RESOURCES[P1]]},
        match=[meet_auth],
    )
    if lookup:
        api.post(**granted_token(DIRECTORY_SCOPES[0], "directory-token"))
        api.get(
            DIRECTORY_USER,
            json={"primaryEmail": SIGNED_IN_EMAIL},
            match=[matchers.header_matcher({"Authorization": "Bearer directory-token"})],
        )
    api.get(
        f"{BASE_URL}/{P1}/participantSessions",
        json={"participantSessions": [RESOURCES[S1]]},
        match=[meet_auth],
    )
    [person] = platform["meet"].past_participants(RECORD)
    assert person.email == (SIGNED_IN_EMAIL if lookup else "")
