"""What the outbox reads from Graph for a stored Teams notification (`TeamsPlatform.read_change`).

The receiver stores a hint (`PlatformChanged`); these are the reads behind it, against Graph's
documented shapes (`tests/fixtures/teams/graph.*`) with strict HTTP mocks:

| resource read                  | becomes                                | inbox key              |
|--------------------------------|----------------------------------------|------------------------|
| a group call record            | start, each person's sessions, end     | `callRecord:{id}:v{n}` |
| a peer-to-peer call record     | both ends as participants, no join URL | `callRecord:{id}:v{n}` |
| a record without id or times   | `Unavailable` (retried by the outbox)  |                        |
| a record not found (yet)       | `Unavailable` (retried, then dead)     |                        |
| a recording / transcript       | `RecordingAvailable` of its `callId`   | `{type}:{resource}`    |
| the same without callId        | kept under its online meeting          |                        |
| a transcript without times     | starts when first known (now at last)  |                        |
| a resource that is neither     | `InvalidRequest`, no request           |                        |
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers

from adapters.teams import GRAPH_URL, GraphClient
from adapters.teams.client import LOGIN_URL
from adapters.teams.platform import TeamsPlatform
from connector.clock import FrozenClock
from connector.domain import (
    Event,
    MeetingEnded,
    MeetingStarted,
    ParticipantJoined,
    ParticipantLeft,
    RecordingAvailable,
    RecordingFile,
)
from connector.errors import InvalidRequest, Unavailable

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "teams"
NOW = datetime(2024, 5, 1, 10, 45, tzinfo=UTC)
TENANT = "2432b57b-0abd-43db-aa7b-16eadd115d34"
CLIENT_ID = "24d3b144-21ae-4080-943f-7067b395b913"
TOKEN_URL = f"{LOGIN_URL}/{TENANT}/oauth2/v2.0/token"
GROUP = "2f1a9c3e-7d4b-4c8e-9a1f-5e6d7c8b9a0f"
P2P = "e523d2ed-2966-4b6b-925b-754a88034cc5"
ADA = "976f4b31-fd01-4e0b-9178-29cc40c14438"
BEN = "5d8e2c41-7a3b-4f6e-9c1d-0b2a3e4f5a6b"
EXPAND = matchers.query_param_matcher({"$expand": "sessions($expand=segments)"})


def fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return body


def resource_of(name: str) -> str:
    return str(fixture(name)["value"][0]["resource"])


REC_RESOURCE = resource_of("callRecording.created__basic")
TR_RESOURCE = resource_of("callTranscript.created__basic")
REC_ID = REC_RESOURCE.split("/recordings('")[1][:-2]
TR_ID = TR_RESOURCE.split("/transcripts('")[1][:-2]
JOIN_URL = fixture("graph.callRecord__group_call")["joinWebUrl"]
MEETING = fixture("graph.callRecording__basic")["meetingId"]


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(TOKEN_URL, json={"token_type": "Bearer", "expires_in": 3599, "access_token": "t"})
        yield mock


def teams() -> TeamsPlatform:
    clock = FrozenClock(NOW)
    return TeamsPlatform(GraphClient(TENANT, CLIENT_ID, "secret", clock=clock), clock=clock)


def record_url(record_id: str) -> str:
    return f"{GRAPH_URL}/communications/callRecords/{record_id}"


def t(hour: int, minute: int, second: int, micro: int = 0) -> datetime:
    return datetime(2024, 5, 1, hour, minute, second, micro, tzinfo=UTC)


# =========================================================================== call records

GROUP_IDS = {"platform": "teams", "meeting_id": JOIN_URL, "instance_uuid": GROUP}
ADA_KEY, BEN_KEY = f"user:{ADA}", f"user:{BEN}"
ADA_WHO = {"name": "Ada Mentor", "email": "ada.mentor@contoso.org"}
BEN_WHO = {"name": "Ben Mentee", "email": "ben.mentee@contoso.org"}
GRACE = {"participant_key": "guest:8:teamsvisitor:4b7f0e2a9c1d4e6f", "name": "Grace (Guest)"}
STARTED = t(10, 0, 1, 216988)  # "…01.2169889Z": Graph's seventh digit is dropped

GROUP_EVENTS: list[Event] = [
    MeetingStarted(**GROUP_IDS, started_at=STARTED),
    ParticipantJoined(**GROUP_IDS, participant_key=ADA_KEY, at=t(10, 0, 4, 500000), **ADA_WHO),
    ParticipantLeft(**GROUP_IDS, participant_key=ADA_KEY, at=t(10, 31, 0), **ADA_WHO),
    ParticipantJoined(**GROUP_IDS, participant_key=BEN_KEY, at=t(10, 1, 11), **BEN_WHO),
    ParticipantLeft(**GROUP_IDS, participant_key=BEN_KEY, at=t(10, 20, 0), **BEN_WHO),
    # Ben's second session has only identity.user: same key, and no UPN to offer.
    ParticipantJoined(
        **GROUP_IDS, participant_key=BEN_KEY, at=t(10, 21, 30), name="Ben Mentee", email=""
    ),
    ParticipantLeft(
        **GROUP_IDS, participant_key=BEN_KEY, at=t(10, 30, 57), name="Ben Mentee", email=""
    ),
    ParticipantJoined(**GROUP_IDS, at=t(10, 5, 0), **GRACE),
    ParticipantLeft(**GROUP_IDS, at=t(10, 6, 30), **GRACE),
    # The recording bot's session (identity.application) is no participant.
    MeetingEnded(**GROUP_IDS, started_at=STARTED, ended_at=t(10, 31, 6, 764001)),
]

P2P_IDS = {"platform": "teams", "meeting_id": "", "instance_uuid": P2P}
P2P_START = datetime(2020, 2, 25, 18, 52, 21, 216988, tzinfo=UTC)
P2P_END = datetime(2020, 2, 25, 18, 52, 46, 764001, tzinfo=UTC)
ABBIE = {
    "participant_key": "user:821809f5-0000-0000-0000-3b5136c0e777",
    "name": "Abbie Wilkins",
    "email": "abbie.wilkins@contoso.com",
}
OWEN = {
    "participant_key": "user:f69e2c00-0000-0000-0000-185e5f5f5d8a",
    "name": "Owen Franklin",
    "email": "owen.franklin@contoso.com",
}
P2P_EVENTS: list[Event] = [
    MeetingStarted(**P2P_IDS, started_at=P2P_START),
    ParticipantJoined(**P2P_IDS, at=P2P_START, **ABBIE),
    ParticipantLeft(**P2P_IDS, at=P2P_END, **ABBIE),
    ParticipantJoined(**P2P_IDS, at=P2P_START, **OWEN),
    ParticipantLeft(**P2P_IDS, at=P2P_END, **OWEN),
    MeetingEnded(**P2P_IDS, started_at=P2P_START, ended_at=P2P_END),
]


@pytest.mark.parametrize(
    ("record_id", "answer", "events"),
    [
        pytest.param(GROUP, "graph.callRecord__group_call", GROUP_EVENTS, id="group-call"),
        pytest.param(P2P, "graph.callRecord__peer_to_peer", P2P_EVENTS, id="peer-to-peer"),
    ],
)
def test_a_call_record_is_read_as_its_meeting_and_keyed_by_its_version(
    api: responses.RequestsMock, record_id: str, answer: str, events: list[Event]
) -> None:
    record = fixture(answer)
    api.get(record_url(record_id), json=record, match=[EXPAND])
    read = teams().read_change(f"communications/callRecords/{record_id}", "created")
    assert read.events == events
    assert read.delivery == f"callRecord:{record_id}:v{record['version']}"
    assert read.event_type == "callRecord.read"


def test_the_quoted_spelling_of_a_call_record_reads_the_same_record(
    api: responses.RequestsMock,
) -> None:
    api.get(record_url(GROUP), json=fixture("graph.callRecord__group_call"), match=[EXPAND])
    assert teams().read_change(f"/communications/callRecords('{GROUP}')", "updated").events == (
        GROUP_EVENTS
    )


@pytest.mark.parametrize("field", ["id", "startDateTime", "endDateTime"])
def test_a_record_missing_what_the_events_need_is_retried_later(
    api: responses.RequestsMock, field: str
) -> None:
    record = fixture("graph.callRecord__group_call")
    del record[field]
    api.get(record_url(GROUP), json=record, match=[EXPAND])
    with pytest.raises(Unavailable) as raised:
        teams().read_change(f"communications/callRecords/{GROUP}", "created")
    assert raised.value.retryable


def test_a_record_not_found_yet_is_retried_later(api: responses.RequestsMock) -> None:
    api.get(record_url(GROUP), status=404, json={"error": {"code": "NotFound"}})
    with pytest.raises(Unavailable) as raised:
        teams().read_change(f"communications/callRecords/{GROUP}", "created")
    assert (raised.value.retryable, raised.value.status) == (True, 404)


def test_every_time_is_timezone_aware_utc(api: responses.RequestsMock) -> None:
    api.get(record_url(GROUP), json=fixture("graph.callRecord__group_call"), match=[EXPAND])
    for event in teams().read_change(f"communications/callRecords/{GROUP}", "created").events:
        for name in ("started_at", "ended_at", "at"):
            value = getattr(event, name, None)
            if value is not None:
                assert value.utcoffset() == timedelta(0)


# =========================================================================== recordings

RECORDING_FILE = RecordingFile(
    # The documented recording id is 304 characters; the store's columns hold 255.
    file_id="sha256:" + hashlib.sha256(REC_ID.encode()).hexdigest(),
    file_type="MP4",
    recording_type="recording",
    started_at=t(10, 2, 14, 850220),
    ended_at=t(10, 30, 58, 123456),
)
TRANSCRIPT_FILE = RecordingFile(
    file_id=TR_ID,
    file_type="TRANSCRIPT",
    recording_type="transcript",
    started_at=t(10, 2, 15),
    ended_at=t(10, 30, 58),
)
ARTIFACTS = [
    pytest.param(REC_RESOURCE, "graph.callRecording__basic", RECORDING_FILE, id="recording"),
    pytest.param(TR_RESOURCE, "graph.callTranscript__basic", TRANSCRIPT_FILE, id="transcript"),
]


@pytest.mark.parametrize(("resource", "answer", "file"), ARTIFACTS)
def test_a_recording_or_transcript_becomes_recording_available(
    api: responses.RequestsMock, resource: str, answer: str, file: RecordingFile
) -> None:
    api.get(f"{GRAPH_URL}/{resource}", json=fixture(answer))
    read = teams().read_change(resource, "created")
    assert read.events == [
        RecordingAvailable(
            platform="teams",
            meeting_id="",
            instance_uuid=GROUP,  # the recording's callId: the call record of the same call
            started_at=file.started_at or NOW,
            files=(file,),
        )
    ]
    assert len(read.delivery) <= 255


def test_a_recording_without_call_id_is_kept_under_its_meeting(
    api: responses.RequestsMock,
) -> None:
    answer = fixture("graph.callRecording__basic")
    del answer["callId"]
    api.get(f"{GRAPH_URL}/{REC_RESOURCE}", json=answer)
    [event] = teams().read_change(REC_RESOURCE, "created").events
    assert isinstance(event, RecordingAvailable)
    assert event.instance_uuid == "onlineMeeting:" + MEETING


@pytest.mark.parametrize(
    ("missing", "started_at"),
    [
        pytest.param(("createdDateTime",), t(10, 30, 58), id="no-created-time"),
        pytest.param(("createdDateTime", "endDateTime"), NOW, id="no-times-at-all"),
    ],
)
def test_a_transcript_without_times_starts_when_known(
    api: responses.RequestsMock, missing: tuple[str, ...], started_at: datetime
) -> None:
    answer = copy.deepcopy(fixture("graph.callTranscript__basic"))
    for field in missing:
        answer[field] = None
    api.get(f"{GRAPH_URL}/{TR_RESOURCE}", json=answer)
    [event] = teams().read_change(TR_RESOURCE, "created").events
    assert isinstance(event, RecordingAvailable)
    assert event.started_at == started_at
    assert event.files[0].started_at is None


def test_a_resource_that_is_neither_is_refused_without_a_request() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True), pytest.raises(InvalidRequest):
        teams().read_change("chats/19:abc/messages/1", "created")
