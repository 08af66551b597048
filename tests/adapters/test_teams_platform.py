"""Teams as a `VideoPlatform`, against Graph's documented shapes with strict HTTP mocks.

| operation         | Graph answers                               | result                        |
|-------------------|---------------------------------------------|-------------------------------|
| meeting_security  | the organizer's meeting with that join URL  | lobby and passcode read back  |
|                   | (organizer from the link's `Oid`, else set) |                               |
|                   | no organizer anywhere                       | InvalidRequest, no request    |
| past_participants | a call record over two session pages        | each session; the keys        |
|                   |                                             | the receiver gives them       |
|                   | 401 (token expired early), then 200         | a new token, the 200 body     |
|                   | 429 + Retry-After seconds or date           | RateLimited(retry_after)      |
|                   | 404 (older than 30 days)                    | InvalidRequest                |
| trash_recordings  | (no call: Graph offers none)                | InvalidRequest, not retryable |
| access_link       | (no call: Graph offers none)                | InvalidRequest, not retryable |
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers
from sqlalchemy import select

from adapters.base import MeetingSecurity, PastParticipant
from adapters.teams import GRAPH_URL, GraphClient
from adapters.teams.client import LOGIN_URL
from adapters.teams.mapping import call_record_events
from adapters.teams.platform import TeamsPlatform, organizer_of
from connector.app import create_app
from connector.clock import FrozenClock
from connector.domain import ParticipantJoined, RecordingAvailable, RecordingFile
from connector.errors import InvalidRequest, RateLimited
from connector.platforms import build_platforms
from connector.settings import parse_settings
from connector.store.db import Store
from connector.store.models import OutboxItem, Recording
from tests.support import START, items, make_pairing, make_settings
from tests.test_convergence import call_record

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "teams"
NOW = datetime(2024, 5, 1, 10, 45, tzinfo=UTC)
TENANT = "2432b57b-0abd-43db-aa7b-16eadd115d34"
CLIENT_ID = "24d3b144-21ae-4080-943f-7067b395b913"
TOKEN_URL = f"{LOGIN_URL}/{TENANT}/oauth2/v2.0/token"
GROUP = "2f1a9c3e-7d4b-4c8e-9a1f-5e6d7c8b9a0f"
ADA = "976f4b31-fd01-4e0b-9178-29cc40c14438"  # the organizer named in the join URL
RECORD_URL = f"{GRAPH_URL}/communications/callRecords/{GROUP}"
EXPAND = matchers.query_param_matcher({"$expand": "sessions($expand=segments)"})


def fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return body


RECORD = fixture("graph.callRecord__group_call")
JOIN_URL = RECORD["joinWebUrl"]


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def platform(clock: FrozenClock | None = None, organizer: str | None = None) -> TeamsPlatform:
    client = GraphClient(TENANT, CLIENT_ID, "secret", clock=clock or FrozenClock(NOW))
    return TeamsPlatform(client, organizer=organizer)


def token(api: responses.RequestsMock, value: str = "token-1") -> None:
    api.post(TOKEN_URL, json={"token_type": "Bearer", "expires_in": 3599, "access_token": value})


def auth(value: str = "token-1") -> Any:
    return matchers.header_matcher({"Authorization": f"Bearer {value}"})


# --------------------------------------------------------------------------- security


def meetings_url(user: str) -> str:
    return f"{GRAPH_URL}/users/{user}/onlineMeetings"


def by_join_url(url: str) -> Any:
    return matchers.query_param_matcher({"$filter": f"JoinWebUrl eq '{url}'"})


def test_the_organizer_is_read_from_the_join_url() -> None:
    assert organizer_of(JOIN_URL) == ADA
    assert organizer_of("https://teams.microsoft.com/l/meetup-join/19%3a…/0") is None
    assert organizer_of("https://x.test/?context=%7b%22Oid%22%3a%22..%2f..%22%7d") is None


def test_meeting_security_reads_the_lobby_and_passcode_back(api: responses.RequestsMock) -> None:
    token(api)
    meeting = fixture("graph.onlineMeeting__lobby_organization")
    api.get(meetings_url(ADA), json={"value": [meeting]}, match=[auth(), by_join_url(JOIN_URL)])
    security = platform().meeting_security(JOIN_URL)
    lobby = meeting["lobbyBypassSettings"]["scope"]
    assert lobby == "organization"
    assert security == MeetingSecurity(
        passcode=meeting["joinMeetingIdSettings"]["isPasscodeRequired"],
        waiting_room=True,  # only "everyone" skips the lobby
        authentication=None,
        auto_recording="cloud" if meeting.get("recordAutomatically") else "none",
    )


def test_a_join_url_without_organizer_uses_the_configured_one(api: responses.RequestsMock) -> None:
    url = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0"
    token(api)
    api.get(
        meetings_url("mentoring@program.org"),
        json={"value": [{"lobbyBypassSettings": {"scope": "everyone"}}]},
        match=[auth(), by_join_url(url)],
    )
    security = platform(organizer="mentoring@program.org").meeting_security(url)
    assert security.waiting_room is False


@pytest.mark.parametrize(
    "meeting_id",
    ["https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0", "81234567890"],
)
def test_without_an_organizer_or_a_join_url_nothing_is_asked(
    api: responses.RequestsMock, meeting_id: str
) -> None:
    with pytest.raises(InvalidRequest):
        platform().meeting_security(meeting_id)


# --------------------------------------------------------------------------- attendance


def test_past_participants_follow_the_session_pages_and_match_the_receivers_keys(
    api: responses.RequestsMock,
) -> None:
    first = copy.deepcopy(RECORD)
    first["sessions"] = RECORD["sessions"][:2]
    first["sessions@odata.nextLink"] = f"{RECORD_URL}/sessions?$skiptoken=page-2"
    token(api)
    api.get(RECORD_URL, json=first, match=[auth(), EXPAND])
    api.get(
        f"{RECORD_URL}/sessions",
        json={"value": RECORD["sessions"][2:]},
        match=[auth(), matchers.query_param_matcher({"$skiptoken": "page-2"})],
    )
    people = list(platform().past_participants(GROUP))

    assert [(p.key, p.name) for p in people] == [
        (f"user:{ADA}", "Ada Mentor"),
        ("user:5d8e2c41-7a3b-4f6e-9c1d-0b2a3e4f5a6b", "Ben Mentee"),
        ("user:5d8e2c41-7a3b-4f6e-9c1d-0b2a3e4f5a6b", "Ben Mentee"),  # rejoined
        ("guest:8:teamsvisitor:4b7f0e2a9c1d4e6f", "Grace (Guest)"),
    ]  # the recorder bot is no person
    assert people[1] == PastParticipant(
        key="user:5d8e2c41-7a3b-4f6e-9c1d-0b2a3e4f5a6b",
        name="Ben Mentee",
        email="ben.mentee@contoso.org",
        join_time=datetime(2024, 5, 1, 10, 1, 11, tzinfo=UTC),
        leave_time=datetime(2024, 5, 1, 10, 20, tzinfo=UTC),
    )
    # Read back or notified, one person is one participant row.
    notified = {
        (e.participant_key, e.at)
        for e in call_record_events(RECORD)
        if type(e) is ParticipantJoined
    }
    assert {(p.key, p.join_time) for p in people} == notified


def test_an_expired_token_is_replaced_and_the_call_repeated(api: responses.RequestsMock) -> None:
    clock = FrozenClock(NOW)
    teams = platform(clock)
    token(api, "token-1")
    api.get(RECORD_URL, json=RECORD, match=[auth("token-1"), EXPAND])
    assert len(list(teams.past_participants(GROUP))) == 4
    # An hour on, the cached token is about to run out: a new one is fetched first.
    clock.advance(seconds=3599 - 300)
    token(api, "token-2")
    api.get(RECORD_URL, json=RECORD, match=[auth("token-2"), EXPAND])
    assert len(list(teams.past_participants(GROUP))) == 4


def test_a_token_graph_refuses_before_its_time_is_replaced_once(
    api: responses.RequestsMock,
) -> None:
    token(api, "token-1")
    api.get(RECORD_URL, status=401, json={"error": {"code": "InvalidAuthenticationToken"}})
    token(api, "token-2")
    api.get(RECORD_URL, json=RECORD, match=[auth("token-2"), EXPAND])
    assert len(list(platform().past_participants(GROUP))) == 4


@pytest.mark.parametrize(
    ("retry_after", "seconds"),
    [("7", 7.0), (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0)],
    ids=["seconds", "http-date"],
)
def test_throttling_is_rate_limited_with_graphs_retry_after(
    api: responses.RequestsMock, retry_after: str, seconds: float
) -> None:
    token(api)
    api.get(RECORD_URL, status=429, headers={"Retry-After": retry_after}, json={})
    with pytest.raises(RateLimited) as raised:
        list(platform().past_participants(GROUP))
    assert raised.value.retry_after == seconds


def test_a_call_record_past_30_days_is_an_invalid_request(api: responses.RequestsMock) -> None:
    token(api)
    api.get(RECORD_URL, status=404, json={"error": {"code": "NotFound", "message": "gone"}})
    with pytest.raises(InvalidRequest) as raised:
        list(platform().past_participants(GROUP))
    assert raised.value.status == 404


def test_an_instance_that_is_not_a_call_record_id_is_not_asked(
    api: responses.RequestsMock,
) -> None:
    with pytest.raises(InvalidRequest):
        list(platform().past_participants("../users"))


# --------------------------------------------------------------------------- recordings


@pytest.mark.parametrize(
    "act",
    [
        lambda teams: teams.trash_recordings(GROUP),
        lambda teams: teams.access_link(GROUP, "rec-1", 600),
    ],
    ids=["trash", "access-link"],
)
def test_what_graph_cannot_do_is_a_final_refusal_without_a_request(
    api: responses.RequestsMock, act: Any
) -> None:
    with pytest.raises(InvalidRequest) as raised:
        act(platform())
    assert raised.value.retryable is False  # the outbox dead-letters it; the alert stays


def test_check_connection_reports_refused_credentials(api: responses.RequestsMock) -> None:
    api.post(TOKEN_URL, status=401, json={"error": "invalid_client"})
    check = platform().check_connection()
    assert (check.ok, check.code) == (False, "unauthorized")
    token(api)
    assert platform().check_connection().ok


# --------------------------------------------------------------------------- wiring


def test_a_configured_app_registration_makes_teams_a_platform() -> None:
    teams = {
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        "client_secret": "env:T_TEAMS",
        "organizer": "mentoring@program.org",
    }
    document = {"connector": {"database_url": "sqlite://"}, "video": {"teams": teams}}
    settings = parse_settings(document, {"T_TEAMS": "secret"}, "tests")
    platforms = build_platforms(settings, FrozenClock(NOW))
    assert isinstance(platforms["teams"], TeamsPlatform)
    assert "teams" not in build_platforms(parse_settings({}, {}, "tests"), FrozenClock(NOW))


# --------------------------------------------------------------------------- through the outbox


def test_a_trash_decision_for_a_teams_recording_is_dead_lettered_and_the_alert_stays(
    database_url: str, store: Store, clock: FrozenClock, api: responses.RequestsMock
) -> None:
    settings = make_settings(
        database_url, rules={"recording-consent": {"on_missing_consent": "trash"}}
    )
    graph = GraphClient(TENANT, CLIENT_ID, "secret", clock=clock)
    app = create_app(settings, store=store, clock=clock, platforms={"teams": TeamsPlatform(graph)})
    client, services = app.test_client(), app.extensions["connector"]
    make_pairing(client, zoom_meeting_id=None)  # maya (mentor) and eli (mentee)
    sessions = [("maya-id", "maya@example.org", 0, 40), ("eli-id", "eli@example.org", 1, 40)]
    record = call_record(990001, 1, sessions)
    del record["joinWebUrl"]  # no join URL: the options cannot be read back, attendance can
    url = f"{GRAPH_URL}/communications/callRecords/{record['id']}"
    token(api)
    api.get(url, json=record, match=[EXPAND])  # the read-back after the meeting ended
    recording = RecordingAvailable(
        "teams", "", record["id"], START, (RecordingFile("rec-1", "MP4", "recording", None, None),)
    )
    services.inbox.accept(
        "teams", "record-v1", "callRecord.created", {}, call_record_events(record)
    )
    services.inbox.accept("teams", "rec-1", "callRecording.created", {}, [recording])
    services.drain()

    with store.session() as session:
        dead = session.scalars(select(OutboxItem).where(OutboxItem.status == "dead")).one()
        statuses = {r.status for r in session.scalars(select(Recording))}
    assert dead.key.endswith(":trash")
    assert "cannot be removed through Microsoft Graph" in (dead.last_error or "")
    assert statuses == {"available"}  # nothing pretends it was trashed
    assert [a["rule"] for a in items(client, "alert")] == ["recording-consent"]
