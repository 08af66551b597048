"""Teams and Meet meetings converge, as Zoom's do (`tests/test_state.py`), as a specification.

One meeting's deliveries, each holding the events its receiver produces, arrive in any order
and any number of times; the stored meeting (participants and their attendance, held, kind,
the applied security settings) and the decisions in the outbox are the same every time.

- Teams: a call record read from Graph becomes the meeting's start, each session's join and
  leave, and its end (`adapters.teams.mapping.call_record_events`). Graph sends the record
  again with a higher `version` when sessions are added, so the first version is a subset of
  the second; a recording notification and the meeting options read back complete the picture.
- Meet: one Pub/Sub message per conference start and end, per participant session join and
  leave, per generated recording; the participant key is the one
  `adapters.meet.mapping.participant_identity` gives, and the e-mail the one the read takes from
  the Workspace directory for the signed-in user's `users/{id}` (`FakeDirectory` stands in for
  the Directory API). So a Meet meeting belongs to a pairing by its registered space or by
  both parties' e-mails, and counts as held when both attended, as on the other platforms.

The examples share one database (see the note above `EXAMPLE` in tests/test_state.py): each
builds its own people, pairing, meeting and delivery ids, and looks only at its own rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select

from adapters.meet.mapping import participant_identity, signed_in_user
from adapters.teams.mapping import call_record_events
from connector.domain import (
    Event,
    MeetingEnded,
    MeetingSecurityReported,
    MeetingStarted,
    ParticipantJoined,
    ParticipantLeft,
    RecordingAvailable,
    RecordingFile,
)
from connector.services import Services
from connector.store.db import Store
from connector.store.models import Meeting, MeetingLink, OutboxItem
from tests.test_state import EXAMPLE, at, meeting, outcome, setup_example
from tests.webhooks.meet_helpers import FakeDirectory

Deliveries = list[list[Event]]


def iso(minutes: float) -> str:
    return at(minutes).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------- Teams


def user_endpoint(user_id: str, email: str) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.callRecords.participantEndpoint",
        "associatedIdentity": {"id": user_id, "displayName": "", "userPrincipalName": email},
    }


SERVICE = {"@odata.type": "#microsoft.graph.callRecords.serviceEndpoint"}


def call_record(n: int, version: int, sessions: list[tuple[str, str, int, int]]) -> dict[str, Any]:
    """A group call's record (api-reference/v1.0/resources/callrecords-callrecord.md)."""
    return {
        "id": f"{n:08x}-0000-4000-8000-000000000000",
        "version": version,
        "type": "groupCall",
        "joinWebUrl": f"https://teams.microsoft.com/l/meetup-join/conv-{n}",
        "startDateTime": iso(0),
        "endDateTime": iso(45),
        "sessions": [
            {
                "id": f"session-{index}",
                "startDateTime": iso(start),
                "endDateTime": iso(end),
                "caller": user_endpoint(user_id, email),
                "callee": SERVICE,
            }
            for index, (user_id, email, start, end) in enumerate(sessions)
        ],
    }


def teams_deliveries(n: int, mentor: str, mentee: str) -> tuple[str, Deliveries]:
    mentor_id, mentee_id = f"mentor-{n}", f"mentee-{n}"
    first = [(mentor_id, mentor, 0, 20), (mentee_id, mentee, 2, 40)]
    second = [*first, (mentor_id, mentor, 25, 45)]  # the mentor rejoins: version 2
    v1, v2 = call_record(n, 1, first), call_record(n, 2, second)
    record_id, join_url = v2["id"], v2["joinWebUrl"]
    recording = RecordingAvailable(
        platform="teams",
        meeting_id="",  # as the receiver builds it: the call record brings the join URL
        instance_uuid=record_id,
        started_at=at(1),
        files=(RecordingFile(f"rec-{n}", "MP4", "recording", at(1), at(44)),),
    )
    security = MeetingSecurityReported(
        platform="teams",
        meeting_id=join_url,
        instance_uuid=record_id,
        passcode=True,
        waiting_room=True,
        authentication=None,
    )
    return record_id, [call_record_events(v1), call_record_events(v2), [recording], [security]]


# --------------------------------------------------------------------------- Meet


def meet_deliveries(n: int, mentor: str, mentee: str) -> tuple[str, Deliveries]:
    record, space = f"conferenceRecords/conv-{n}", f"spaces/conv-{n}"
    ids = {"platform": "meet", "meeting_id": space, "instance_uuid": record}
    # Both parties signed in with the domain's accounts: the directory knows their ids.
    users = {who: f"users/{n}{index:03d}" for index, who in enumerate((mentor, mentee))}
    directory = FakeDirectory(emails={user: who for who, user in users.items()})
    people = {}
    for who, user in users.items():
        person = {"signedinUser": {"user": user, "displayName": who.split("@")[0].title()}}
        key, display = participant_identity(person, f"{record}/participants/{user[6:]}")
        email = directory.primary_email(signed_in_user(person) or "") or ""
        people[who] = {"participant_key": key, "name": display, "email": email}

    def session(cls: type[ParticipantJoined] | type[ParticipantLeft], who: str, m: float) -> Any:
        return [cls(**ids, **people[who], at=at(m))]

    recording = RecordingFile(f"{record}/recordings/rec-1", "MP4", "recording", at(1), at(44))
    return record, [
        [MeetingStarted(**ids, started_at=at(0))],
        session(ParticipantJoined, mentor, 0),
        session(ParticipantJoined, mentee, 2),
        session(ParticipantLeft, mentor, 20),
        session(ParticipantJoined, mentor, 25),
        session(ParticipantLeft, mentee, 40),
        session(ParticipantLeft, mentor, 45),
        [MeetingEnded(**ids, started_at=at(0), ended_at=at(45))],
        [RecordingAvailable(**ids, started_at=at(0), files=(recording,))],
        [MeetingSecurityReported(**ids, passcode=None, waiting_room=True, authentication=None)],
    ]


# --------------------------------------------------------------------------- the property

Build = Callable[[int, str, str], tuple[str, Deliveries]]
PLATFORMS: dict[str, tuple[Build, int, list[str]]] = {
    # platform: (deliveries, how many, how a pairing can claim the meeting)
    "teams": (teams_deliveries, 4, ["participants-emails", "no-pairing"]),
    "meet": (meet_deliveries, 10, ["registered-space", "participants-emails", "no-pairing"]),
}
CONSENT = {f"recording-consent:meeting:{{meeting}}:{what}" for what in ("alert", "remove")}
HELD = (True, CONSENT | {"introductory-session:pairing:{pairing}:goals"})
# (platform, matching): (held, decision keys). Every participant is a program person, linked
# by e-mail (Meet's from the directory): a paired meeting is held, its recording lacks
# consent; an unpaired one is a contact outside any pairing.
EXPECTED: dict[tuple[str, str], tuple[bool, set[str]]] = {
    ("teams", "participants-emails"): HELD,
    ("teams", "no-pairing"): (False, {"unregistered-contact:meeting:{meeting}"}),
    ("meet", "registered-space"): HELD,
    ("meet", "participants-emails"): HELD,
    ("meet", "no-pairing"): (False, {"unregistered-contact:meeting:{meeting}"}),
}
CASES = [(p, m) for p, (_, _, matchings) in PLATFORMS.items() for m in matchings]


@st.composite
def arrivals(draw: st.DrawFn, count: int) -> list[int]:
    """Every delivery once, plus repeats of some of them, in any order."""
    extra = draw(st.lists(st.integers(0, count - 1), max_size=count))
    return draw(st.permutations([*range(count), *extra]))


def register_space(store: Store, pairing_id: int, space: str) -> None:
    with store.session() as session:
        session.add(MeetingLink(pairing_id=pairing_id, platform="meet", external_meeting_id=space))


def security_of(store: Store, uuid: str) -> Any:
    with store.session() as session:
        return session.scalars(select(Meeting.security).where(Meeting.instance_uuid == uuid)).one()


@pytest.mark.parametrize(("platform", "matching"), CASES, ids=[f"{p}-{m}" for p, m in CASES])
@hypothesis_settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_order_and_any_duplicates_converge_on_teams_and_meet(
    client: FlaskClient,
    services: Services,
    store: Store,
    platform: str,
    matching: str,
    data: st.DataObject,
) -> None:
    build, count, _ = PLATFORMS[platform]
    order = data.draw(arrivals(count), label="order")
    n = next(EXAMPLE)
    setup = "registered-id" if matching == "registered-space" else matching
    mentor, mentee, pairing_id = setup_example(client, n, setup)
    if matching == "registered-space":
        assert pairing_id is not None
        register_space(store, pairing_id, f"spaces/conv-{n}")
    services.drain()
    with store.session() as session:
        baseline = session.scalar(select(OutboxItem.id).order_by(OutboxItem.id.desc())) or 0

    uuid, deliveries = build(n, mentor, mentee)
    for position, index in enumerate(order):
        events = deliveries[index]
        delivery = f"conv-{platform}-{n}-{position}"
        assert services.inbox.accept(platform, delivery, events[0].kind, {}, events)
    services.drain()

    stored_id = meeting(store, uuid).id
    held, keys = EXPECTED[platform, matching]
    expected_keys = {k.format(meeting=stored_id, pairing=pairing_id) for k in keys}
    result = outcome(store, uuid, baseline)
    assert result == {
        "pairing_id": pairing_id,
        "held": held,
        "kind": "intro" if held else None,
        "participants": {
            mentor: (2400, at(0), at(45)),  # 14:00-14:20 and 14:25-14:45
            mentee: (2280, at(2), at(40)),
        },
        "outbox_keys": expected_keys,
        "unfinished_inbox_rows": [],
    }
    # Both parties attended as themselves: each participant is linked to a program person.
    assert all(p.person_id is not None for p in meeting(store, uuid).participants)
    expected_security = (
        {"passcode": True, "waiting_room": True, "authentication": None}
        if platform == "teams"
        else {"passcode": None, "waiting_room": True, "authentication": None}
    )
    assert security_of(store, uuid) == expected_security
