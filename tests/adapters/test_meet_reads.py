"""What `MeetPlatform.read_change` makes of the resource a Meet event named (run by the outbox).

The receiver stores each Meet event as a `PlatformChanged` hint (tests/webhooks/
test_meet_receiver.py); the outbox reads the named resource from the Meet REST API and the
signed-in user's e-mail from the Admin SDK Directory API (`adapters.meet.mapping`):

| event                            | reads                          | result                   |
|----------------------------------|--------------------------------|--------------------------|
| conference started / ended       | the record                     | MeetingStarted / Ended   |
| participant joined / left        | session, participant, record,  | ParticipantJoined / Left |
|                                  | the directory (signed in only) |                          |
| recording / transcript file      | the file, the record           | RecordingAvailable       |
| the API fails (401, 429, 503)    | -                              | that error, retryable    |
| a resource Meet does not know    | -                              | Unavailable (retried)    |
| an answer lacking a needed field | -                              | Unavailable (retried)    |
| a name or type it cannot read    | nothing                        | InvalidRequest (dead)    |

`FakeMeet` serves `RESOURCES` (the v2 reference's shapes); the `MeetClient`'s own HTTP calls
are tested with strict `responses` in tests/adapters/test_meet_client.py.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
import responses

from adapters.meet import DirectoryClient
from adapters.meet.directory import DIRECTORY_URL
from adapters.meet.mapping import (
    CONFERENCE_ENDED,
    PARTICIPANT_JOINED,
    PARTICIPANT_LEFT,
)
from adapters.meet.platform import MeetPlatform
from connector.domain import (
    Event,
    MeetingEnded,
    MeetingStarted,
    ParticipantJoined,
    ParticipantLeft,
    RecordingAvailable,
    RecordingFile,
)
from connector.errors import AdapterError, InvalidRequest, RateLimited, Unauthorized, Unavailable
from tests.webhooks.meet_helpers import (
    P2,
    P3,
    RECORD,
    RECORDING,
    RESOURCES,
    S1,
    SIGNED_IN_EMAIL,
    SIGNED_IN_USER,
    SPACE,
    TRANSCRIPT,
    FakeDirectory,
    FakeMeet,
    decoded_data,
)

ENDED = "google.workspace.meet.conference.v2.ended__basic"
JOINED = "google.workspace.meet.participant.v2.joined__signed_in"
LEFT = "google.workspace.meet.participant.v2.left__signed_in"


def t(hour: int, minute: int, second: int, micro: int = 0) -> datetime:
    return datetime(2024, 5, 1, hour, minute, second, micro, tzinfo=UTC)


def hint(fixture: str) -> tuple[str, str]:
    """(resource, change type) as the receiver stores them for a fixture."""
    data = decoded_data(fixture)
    [named] = [v for v in data.values() if isinstance(v, dict) and "name" in v]
    return str(named["name"]), fixture.split("__")[0]


def read(fixture: str, meet: FakeMeet | None = None, directory: Any = None) -> list[Event]:
    platform = MeetPlatform(meet or FakeMeet(), directory or FakeDirectory())  # type: ignore[arg-type]
    return platform.read_change(*hint(fixture)).events


# =========================================================================== handled events

SIGNED_IN_KEY = f"signedin:{SIGNED_IN_USER}"

HANDLED = [
    pytest.param(
        "google.workspace.meet.conference.v2.started__basic",
        [MeetingStarted("meet", SPACE, RECORD, t(10, 0, 1, 250412))],
        id="conference-started",
    ),
    pytest.param(
        ENDED,
        [MeetingEnded("meet", SPACE, RECORD, t(10, 0, 1, 250412), t(10, 31, 6, 998000))],
        id="conference-ended",
    ),
    pytest.param(
        JOINED,
        [
            ParticipantJoined(
                "meet",
                SPACE,
                RECORD,
                SIGNED_IN_KEY,
                t(10, 0, 4, 500000),
                "Ada Mentor",
                SIGNED_IN_EMAIL,
            )
        ],
        id="joined-signed-in",
    ),
    pytest.param(
        "google.workspace.meet.participant.v2.joined__anonymous",
        [
            ParticipantJoined(
                "meet", SPACE, RECORD, f"anonymous:{P2}", t(10, 1, 11), "Grace (guest)"
            )
        ],
        id="joined-anonymous",
    ),
    pytest.param(
        "google.workspace.meet.participant.v2.joined__phone",
        [ParticipantJoined("meet", SPACE, RECORD, f"phone:{P3}", t(10, 2, 39), "+1 555-***-**42")],
        id="joined-phone",
    ),
    pytest.param(
        LEFT,
        [
            ParticipantLeft(
                "meet", SPACE, RECORD, SIGNED_IN_KEY, t(10, 30, 57), "Ada Mentor", SIGNED_IN_EMAIL
            )
        ],
        id="left-signed-in",
    ),
    pytest.param(
        "google.workspace.meet.participant.v2.left__anonymous",
        [ParticipantLeft("meet", SPACE, RECORD, f"anonymous:{P2}", t(10, 29, 43), "Grace (guest)")],
        id="left-anonymous",
    ),
    pytest.param(
        "google.workspace.meet.recording.v2.fileGenerated__basic",
        [
            RecordingAvailable(
                "meet",
                SPACE,
                RECORD,
                t(10, 0, 1, 250412),
                (RecordingFile(RECORDING, "MP4", "recording", t(10, 3, 0), t(10, 30, 0)),),
            )
        ],
        id="recording-file-generated",
    ),
    pytest.param(
        "google.workspace.meet.transcript.v2.fileGenerated__basic",
        [
            RecordingAvailable(
                "meet",
                SPACE,
                RECORD,
                t(10, 0, 1, 250412),
                (RecordingFile(TRANSCRIPT, "TRANSCRIPT", "transcript", t(10, 3, 0), t(10, 30, 0)),),
            )
        ],
        id="transcript-file-generated",
    ),
]


@pytest.mark.parametrize(("name", "events"), HANDLED)
def test_read_change(name: str, events: list[Event]) -> None:
    assert read(name) == events


def test_the_read_is_keyed_by_type_and_resource_so_a_second_read_stores_nothing_new() -> None:
    platform = MeetPlatform(FakeMeet(), FakeDirectory())  # type: ignore[arg-type]
    first, again = (platform.read_change(S1, PARTICIPANT_JOINED) for _ in range(2))
    assert first == again
    assert (first.delivery, first.event_type) == (f"{PARTICIPANT_JOINED}:{S1}", PARTICIPANT_JOINED)
    assert platform.read_change(S1, PARTICIPANT_LEFT).delivery != first.delivery


def test_a_participant_event_reads_the_session_the_person_and_the_conference() -> None:
    meet = FakeMeet(calls=[])
    read(JOINED, meet)
    assert meet.calls == [
        ("participant_session", S1),
        ("participant", S1.split("/participantSessions/")[0]),
        ("conference_record", RECORD),
    ]


def test_a_participant_has_the_same_key_on_join_and_leave() -> None:
    for variant in ("signed_in", "anonymous"):
        [joined] = read(f"google.workspace.meet.participant.v2.joined__{variant}")
        [left] = read(f"google.workspace.meet.participant.v2.left__{variant}")
        assert isinstance(joined, ParticipantJoined) and isinstance(left, ParticipantLeft)
        assert joined.participant_key == left.participant_key


def test_a_signed_in_user_keeps_one_key_across_conferences() -> None:
    # users/{id} is the person; the participants/{id} resource is per conference.
    other_record = "conferenceRecords/def456-conf"
    other_participant = f"{other_record}/participants/p-9"
    other_session = f"{other_participant}/participantSessions/s-9"
    meet = FakeMeet(
        resources=RESOURCES
        | {
            other_record: RESOURCES[RECORD] | {"name": other_record},
            other_participant: RESOURCES[S1.split("/participantSessions/")[0]]
            | {"name": other_participant},
            other_session: RESOURCES[S1] | {"name": other_session},
        }
    )
    platform = MeetPlatform(meet, FakeDirectory())  # type: ignore[arg-type]
    [event] = platform.read_change(other_session, PARTICIPANT_JOINED).events
    assert isinstance(event, ParticipantJoined)
    assert (event.instance_uuid, event.participant_key) == (other_record, SIGNED_IN_KEY)


# =========================================================================== who signed in

# Meet names a signed-in participant `users/{id}`; the directory gives their primary e-mail,
# which is what links them to a program person. Nobody else has one.
#
# | participant                                | directory asked | e-mail         | read       |
# |--------------------------------------------|-----------------|----------------|------------|
# | signed in, a user of the domain            | users/{id}      | primary e-mail | events     |
# | signed in, not in the directory (external) | users/{id}      | ""             | events     |
# | anonymous, phone                           | no              | ""             | events     |
# | any, directory lookup switched off         | no              | ""             | events     |
# | signed in, the directory fails             | users/{id}      | (none)         | its error  |


def test_a_signed_in_participant_joined_event_carries_their_directory_email() -> None:
    directory = FakeDirectory(calls=[])
    [event] = read(JOINED, directory=directory)
    assert isinstance(event, ParticipantJoined)
    assert (event.participant_key, event.email) == (SIGNED_IN_KEY, SIGNED_IN_EMAIL)
    assert directory.calls == [SIGNED_IN_USER]


def test_the_email_comes_from_the_admin_sdk_directory_api() -> None:
    # The production client: one users.get, asking for the address only, then its cache.
    url = f"{DIRECTORY_URL}/users/{SIGNED_IN_USER.removeprefix('users/')}"
    directory = DirectoryClient(lambda: "ya29.directory-token")
    platform = MeetPlatform(FakeMeet(), directory)  # type: ignore[arg-type]
    with responses.RequestsMock(assert_all_requests_are_fired=True) as google:
        answer = google.get(
            url,
            json={"primaryEmail": "Ada.Mentor@Program.org"},
            match=[responses.matchers.query_param_matcher({"fields": "primaryEmail"})],
        )
        events = [
            *platform.read_change(*hint(JOINED)).events,
            *platform.read_change(*hint(LEFT)).events,
        ]
    assert [type(e) for e in events] == [ParticipantJoined, ParticipantLeft]
    assert [getattr(e, "email", None) for e in events] == [SIGNED_IN_EMAIL] * 2
    assert answer.call_count == 1  # the second read is answered from the cache


@pytest.mark.parametrize(
    ("name", "directory"),
    [
        pytest.param(JOINED, FakeDirectory(emails={}), id="signed-in-outside-the-domain"),
        pytest.param(JOINED, None, id="directory-lookup-off"),
        pytest.param(
            "google.workspace.meet.participant.v2.joined__anonymous",
            FakeDirectory(),
            id="anonymous",
        ),
        pytest.param(
            "google.workspace.meet.participant.v2.joined__phone", FakeDirectory(), id="phone"
        ),
    ],
)
def test_others_are_read_without_an_email(name: str, directory: FakeDirectory | None) -> None:
    if directory is not None:
        directory.calls.clear()
    platform = MeetPlatform(FakeMeet(), directory)  # type: ignore[arg-type]
    [event] = platform.read_change(*hint(name)).events
    assert isinstance(event, ParticipantJoined) and event.email == ""
    if directory is not None and "signed_in" not in name:
        assert directory.calls == []  # only a signed-in user has an id the directory knows


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(Unauthorized("Directory users.get answered 403", status=403), id="403"),
        pytest.param(RateLimited("Directory users.get answered 429", retry_after=9), id="429"),
        pytest.param(Unavailable("Directory users.get answered 503", status=503), id="503"),
    ],
)
def test_a_directory_failure_fails_the_read_for_the_outbox_to_retry(error: AdapterError) -> None:
    with pytest.raises(type(error)) as raised:
        read(JOINED, directory=FakeDirectory(error=error))
    assert raised.value.retryable


def test_the_email_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    read(JOINED)
    assert SIGNED_IN_EMAIL not in caplog.text


# =========================================================================== the Meet API


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(Unavailable("Meet GET answered 503", status=503), id="unavailable"),
        pytest.param(RateLimited("Meet GET answered 429", retry_after=30), id="rate-limited"),
        pytest.param(Unauthorized("Meet GET answered 401", status=401), id="unauthorized"),
    ],
)
def test_a_meet_api_failure_is_raised_for_the_outbox_to_retry(error: AdapterError) -> None:
    with pytest.raises(type(error)):
        read(JOINED, FakeMeet(errors={S1: error}))


def test_a_resource_meet_does_not_know_yet_is_retried() -> None:
    with pytest.raises(Unavailable, match="not found"):
        read(ENDED, FakeMeet(resources={}))


@pytest.mark.parametrize(
    ("name", "resource", "field"),
    [
        pytest.param(ENDED, RECORD, "endTime", id="ended-record-without-end"),
        pytest.param(ENDED, RECORD, "space", id="record-without-space"),
        pytest.param(LEFT, S1, "endTime", id="left-session-without-end"),
    ],
)
def test_an_answer_missing_what_the_event_needs_is_retried(
    name: str, resource: str, field: str
) -> None:
    partial = {k: v for k, v in RESOURCES[resource].items() if k != field}
    with pytest.raises(Unavailable, match=field):
        read(name, FakeMeet(resources=RESOURCES | {resource: partial}))


@pytest.mark.parametrize(
    ("resource", "change_type"),
    [
        pytest.param("conferenceRecords/../spaces/x", CONFERENCE_ENDED, id="path-traversal"),
        pytest.param(f"{RECORD}/participants/p-1", PARTICIPANT_JOINED, id="not-a-session"),
        pytest.param(RECORD, "google.workspace.meet.smartNote.v2.fileGenerated", id="unknown"),
    ],
)
def test_a_name_or_type_it_cannot_read_is_refused_for_good(resource: str, change_type: str) -> None:
    meet = FakeMeet(calls=[])
    with pytest.raises(InvalidRequest) as raised:
        MeetPlatform(meet, FakeDirectory()).read_change(resource, change_type)  # type: ignore[arg-type]
    assert not raised.value.retryable
    assert meet.calls == []
