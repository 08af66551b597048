"""Applying events to the store (`connector.state`), as a specification.

- attendance is computed from the join and leave times the platform reported, whatever
  order and however often they arrived;
- a meeting belongs to a pairing by its registered video meeting id, else by both parties
  being among its participants, never when two pairings could claim it;
- a session is held when it ended and both parties attended; the first held session of a
  pairing (by start time) is its introductory one;
- recordings are stored once and their removal is audited;
- the whole pipeline converges: any order, any duplicates, the same rows and decisions.
Every test that touches the store runs on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select

from connector.clock import FrozenClock
from connector.domain import (
    Event,
    MeetingEnded,
    MeetingStarted,
    ParticipantJoined,
    ParticipantLeft,
    RecordingAvailable,
    RecordingFile,
    RecordingRemoved,
)
from connector.services import Services
from connector.state import Applied, apply_event, attendance
from connector.store.db import Store
from connector.store.models import AuditEntry, InboxEvent, Meeting, OutboxItem, Recording
from tests.support import ADMIN, make_pairing

T0 = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # a meeting from 14:00 to 14:45
T_END = T0 + timedelta(minutes=45)
ZOOM_ID = "81234567890"  # make_pairing's registered Zoom meeting id
UNREGISTERED_ID = "89999999999"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --------------------------------------------------------------------------- attendance


@dataclass(frozen=True)
class Presence:
    id: str
    marks: tuple[tuple[str, datetime], ...]
    start: datetime | None
    end: datetime | None
    seconds: int


def join(minutes: float) -> tuple[str, datetime]:
    return ("join", at(minutes))


def leave(minutes: float) -> tuple[str, datetime]:
    return ("leave", at(minutes))


ATTENDANCE = [
    Presence("join-then-leave", (join(5), leave(25)), T0, T_END, 1200),
    Presence("leave-arrives-before-join", (leave(25), join(5)), T0, T_END, 1200),
    Presence("duplicate-join", (join(5), join(5), leave(25)), T0, T_END, 1200),
    Presence("duplicate-leave", (join(5), leave(25), leave(25)), T0, T_END, 1200),
    Presence("every-mark-twice", (join(5), leave(25), join(5), leave(25)), T0, T_END, 1200),
    Presence("join-without-leave-after-the-end", (join(5),), T0, T_END, 2400),
    Presence("join-without-leave-while-running", (join(5),), T0, None, 0),
    Presence("leave-without-join-counts-from-start", (leave(25),), T0, T_END, 1500),
    Presence("leave-without-join-start-unknown", (leave(25),), None, None, 0),
    Presence("two-sessions-add-up", (join(0), leave(10), join(20), leave(45)), T0, T_END, 2100),
    Presence("rejoin-still-open-at-the-end", (join(0), leave(10), join(20)), T0, T_END, 2100),
    Presence("join-and-leave-at-the-same-instant", (join(10), leave(10)), T0, T_END, 0),
    Presence("no-marks", (), T0, T_END, 0),
]


@pytest.mark.parametrize("row", ATTENDANCE, ids=lambda row: row.id)
def test_attendance_truth_table(row: Presence) -> None:
    # The order the marks arrived in must not matter: every arrival order gives the same.
    results = {
        attendance(list(order), row.start, row.end) for order in itertools.permutations(row.marks)
    }
    assert results == {row.seconds}


# --------------------------------------------------------------------------- events


def started(uuid: str, meeting_id: str = ZOOM_ID, start: datetime = T0) -> MeetingStarted:
    return MeetingStarted("zoom", meeting_id, uuid, start)


def ended(uuid: str, meeting_id: str = ZOOM_ID, start: datetime = T0) -> MeetingEnded:
    return MeetingEnded("zoom", meeting_id, uuid, start, start + timedelta(minutes=45))


def joined(uuid: str, email: str, when: datetime, meeting_id: str = ZOOM_ID) -> ParticipantJoined:
    return ParticipantJoined("zoom", meeting_id, uuid, f"email:{email}", when, email=email)


def left(uuid: str, email: str, when: datetime, meeting_id: str = ZOOM_ID) -> ParticipantLeft:
    return ParticipantLeft("zoom", meeting_id, uuid, f"email:{email}", when, email=email)


def recorded(uuid: str, *file_ids: str, meeting_id: str = ZOOM_ID) -> RecordingAvailable:
    files = tuple(
        RecordingFile(fid, "MP4", "shared_screen_with_speaker_view", at(1), at(44))
        for fid in file_ids
    )
    return RecordingAvailable("zoom", meeting_id, uuid, T0, files)


def attended(
    uuid: str, *emails: str, meeting_id: str = ZOOM_ID, start: datetime = T0
) -> list[Event]:
    """A whole meeting: it starts, each email attends 30 minutes, it ends."""
    events: list[Event] = [started(uuid, meeting_id, start)]
    for email in emails:
        events += [
            joined(uuid, email, start + timedelta(minutes=5), meeting_id),
            left(uuid, email, start + timedelta(minutes=35), meeting_id),
        ]
    return [*events, ended(uuid, meeting_id, start)]


def apply(store: Store, clock: FrozenClock, *events: Event) -> list[Applied]:
    """Each event in its own transaction, as the runner applies them."""
    applied = []
    for event in events:
        with store.session() as session:
            applied.append(apply_event(session, event, clock.now()))
    return applied


def meeting(store: Store, uuid: str) -> Meeting:
    with store.session() as session:
        row = session.scalars(select(Meeting).where(Meeting.instance_uuid == uuid)).one()
        row.participants  # noqa: B018 - loaded while the session is open
        return row


MAYA, ELI, SAM, ANA = (f"{name}@example.org" for name in ("maya", "eli", "sam", "ana"))


# --------------------------------------------------------------------------- matching


def test_a_meeting_is_matched_by_its_registered_zoom_id(
    client: FlaskClient, store: Store, clock: FrozenClock
) -> None:
    ids = make_pairing(client, zoom_meeting_id=ZOOM_ID)
    apply(store, clock, started("reg-1=="))
    assert meeting(store, "reg-1==").pairing_id == ids["pairing"]  # no participant needed

    strangers = ("ann@elsewhere.test", "bob@elsewhere.test")
    apply(store, clock, *attended("other==", *strangers, meeting_id=UNREGISTERED_ID))
    assert meeting(store, "other==").pairing_id is None


def test_without_a_registered_id_a_meeting_is_matched_by_both_parties_emails(
    client: FlaskClient, store: Store, clock: FrozenClock
) -> None:
    ids = make_pairing(client, zoom_meeting_id=None)
    apply(store, clock, started("mail=="), joined("mail==", MAYA, at(1)))
    assert meeting(store, "mail==").pairing_id is None  # one party is not a pairing's session

    apply(store, clock, joined("mail==", ELI, at(2)))
    assert meeting(store, "mail==").pairing_id == ids["pairing"]


@pytest.mark.parametrize(
    "arrivals",
    [(MAYA, ELI, SAM, ANA), (SAM, MAYA, ANA, ELI)],
    ids=["first-pair-complete-first", "second-pair-complete-first"],
)
def test_a_meeting_two_pairings_could_claim_is_not_matched(
    client: FlaskClient, store: Store, clock: FrozenClock, arrivals: tuple[str, ...]
) -> None:
    make_pairing(client, mentor="maya", mentee="eli", zoom_meeting_id=None)
    make_pairing(client, mentor="sam", mentee="ana", zoom_meeting_id=None)
    events: list[Event] = [started("both==")]
    events += [joined("both==", email, at(n), UNREGISTERED_ID) for n, email in enumerate(arrivals)]
    apply(store, clock, *events, ended("both==", UNREGISTERED_ID))

    stored = meeting(store, "both==")
    assert {p.email for p in stored.participants} == {MAYA, ELI, SAM, ANA}
    assert stored.pairing_id is None


@pytest.mark.parametrize(
    ("events", "held"),
    [
        (attended("h==", MAYA, ELI), True),
        (attended("h==", MAYA, ELI)[:-1], False),  # both attended, not ended yet
        (attended("h==", MAYA), False),  # the mentee never came
        (
            [*attended("h==", MAYA), joined("h==", ELI, at(9)), left("h==", ELI, at(9))],
            False,
        ),  # the mentee's join and leave at one instant is no attendance
    ],
    ids=["ended-both-attended", "not-ended", "mentee-absent", "mentee-zero-seconds"],
)
def test_held_means_ended_and_both_parties_attended(
    client: FlaskClient, store: Store, clock: FrozenClock, events: list[Event], held: bool
) -> None:
    ids = make_pairing(client)
    apply(store, clock, *events)
    stored = meeting(store, "h==")
    assert stored.pairing_id == ids["pairing"]
    assert stored.held is held
    assert stored.kind == ("intro" if held else None)


def test_the_first_held_session_by_start_time_is_the_intro_whatever_arrives_first(
    client: FlaskClient, store: Store, clock: FrozenClock
) -> None:
    make_pairing(client)
    week = timedelta(days=7)
    apply(store, clock, *attended("week-2==", MAYA, ELI, start=T0 + week))
    assert meeting(store, "week-2==").kind == "intro"  # the only held session so far

    apply(store, clock, *attended("week-1==", MAYA, ELI, start=T0))
    apply(store, clock, *attended("week-3==", MAYA, ELI, start=T0 + 2 * week))
    apply(store, clock, *attended("alone==", MAYA, start=T0 + 3 * week))
    kinds = {uuid: meeting(store, uuid).kind for uuid in ("week-1==", "week-2==", "week-3==")}
    assert kinds == {"week-1==": "intro", "week-2==": "regular", "week-3==": "regular"}
    assert meeting(store, "alone==").kind is None  # not held: no kind


# --------------------------------------------------------------------------- recordings


def test_a_recording_applied_twice_is_stored_once(store: Store, clock: FrozenClock) -> None:
    first, second = apply(
        store, clock, recorded("rec==", "rec-a", "rec-b"), recorded("rec==", "rec-b", "rec-a")
    )
    assert first.meeting is not None and second.meeting is not None
    assert first.meeting.id == second.meeting.id
    with store.session() as session:
        rows = session.scalars(select(Recording).order_by(Recording.external_id)).all()
    assert [(r.external_id, r.status, r.restricted) for r in rows] == [
        ("rec-a", "available", False),
        ("rec-b", "available", False),
    ]
    assert {r.meeting_id for r in rows} == {meeting(store, "rec==").id}


def removal_audit(store: Store) -> list[tuple[str, str, str, dict[str, Any]]]:
    with store.session() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.subject_type == "recording").order_by(AuditEntry.id)
        ).all()
        return [(e.actor, e.action, e.subject_id, e.detail) for e in entries]


def test_a_removed_recording_is_marked_and_audited_once(store: Store, clock: FrozenClock) -> None:
    apply(store, clock, recorded("rm==", "rec-a", "rec-b"))
    with store.session() as session:
        ids = {r.external_id: r.id for r in session.scalars(select(Recording))}
    meeting_id = meeting(store, "rm==").id

    trash_a = RecordingRemoved("zoom", ZOOM_ID, "rm==", permanently=False, file_ids=("rec-a",))
    apply(store, clock, trash_a, trash_a)
    delete_all = RecordingRemoved("zoom", ZOOM_ID, "rm==", permanently=True)
    apply(store, clock, delete_all, delete_all, trash_a)  # a late "trashed" undoes nothing

    with store.session() as session:
        statuses = {r.external_id: r.status for r in session.scalars(select(Recording))}
    assert statuses == {"rec-a": "deleted", "rec-b": "deleted"}
    detail = {"meeting_id": meeting_id}
    assert removal_audit(store) == [
        ("zoom:operator", "recording.trashed", str(ids["rec-a"]), detail),
        ("zoom:operator", "recording.deleted", str(ids["rec-a"]), detail),
        ("zoom:operator", "recording.deleted", str(ids["rec-b"]), detail),
    ]


# --------------------------------------------------------------------------- convergence

# Per-example names. The `store` fixture is function-scoped, but hypothesis runs all its
# examples inside one call of the test, so they share one database. Each example therefore
# builds its own world: its own people (unique emails), pairing, Zoom meeting id, instance
# uuid, recording file ids and delivery ids, and it looks only at rows it made (its meeting
# by uuid, outbox rows written after its setup). Nothing of one example can match, count
# towards or dedupe against another's (held sessions, kinds and keys are all per pairing or
# per meeting), so every example must come out exactly as the expected values say.
# (Deleting rows per example is not an option: creating people writes audit entries, and
# the audit log's triggers refuse DELETE.)
EXAMPLE = itertools.count(1)
MATCHING = ["registered-id", "participants-emails", "no-pairing"]
EVENT_COUNT = 9


def meeting_events(n: int, mentor: str, mentee: str, meeting_id: str) -> list[Event]:
    uuid = f"conv-{n}=="
    return [
        started(uuid, meeting_id),
        joined(uuid, mentor, at(0), meeting_id),
        joined(uuid, mentee, at(2), meeting_id),
        left(uuid, mentor, at(20), meeting_id),
        joined(uuid, mentor, at(25), meeting_id),  # the mentor rejoins
        left(uuid, mentee, at(40), meeting_id),
        left(uuid, mentor, at(45), meeting_id),
        ended(uuid, meeting_id),
        recorded(uuid, f"rec-{n}-a", f"rec-{n}-b", meeting_id=meeting_id),
    ]


def arrivals() -> st.SearchStrategy[list[int]]:
    """Every event once, plus repeats of some of them (a duplicated subset), in any order."""
    duplicates = st.lists(st.integers(0, EVENT_COUNT - 1), max_size=EVENT_COUNT)
    return duplicates.flatmap(lambda extra: st.permutations([*range(EVENT_COUNT), *extra]))


def setup_example(client: FlaskClient, n: int, matching: str) -> tuple[str, str, int | None]:
    """Two program people (and their pairing unless `no-pairing`); their emails, pairing."""
    mentor, mentee = f"mentor{n}", f"mentee{n}"
    if matching == "no-pairing":
        for name, role in ((mentor, "mentor"), (mentee, "mentee")):
            person = {"role": role, "name": name, "email": f"{name}@example.org"}
            response = client.post(
                "/api/v1/people", json=person | {"status": "active"}, headers=ADMIN
            )
            assert response.status_code == 201, response.json
        pairing_id = None
    else:
        zoom_id = str(81200000000 + n) if matching == "registered-id" else None
        ids = make_pairing(client, mentor=mentor, mentee=mentee, zoom_meeting_id=zoom_id)
        pairing_id = ids["pairing"]
    return f"{mentor}@example.org", f"{mentee}@example.org", pairing_id


def outcome(store: Store, uuid: str, after_outbox_id: int) -> dict[str, Any]:
    stored = meeting(store, uuid)
    with store.session() as session:
        keys = set(session.scalars(select(OutboxItem.key).where(OutboxItem.id > after_outbox_id)))
        unfinished = session.scalars(
            select(InboxEvent.delivery_id).where(InboxEvent.status != "done")
        ).all()
    return {
        "pairing_id": stored.pairing_id,
        "held": stored.held,
        "kind": stored.kind,
        "participants": {
            p.email: (p.attended_seconds, p.first_join_at, p.last_leave_at)
            for p in stored.participants
        },
        "outbox_keys": keys,
        "unfinished_inbox_rows": unfinished,
    }


@pytest.mark.parametrize("matching", MATCHING)
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    database=None,  # no example database written into the project
    # Function-scoped fixtures are shared by the examples on purpose; see EXAMPLE above.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(order=arrivals())
def test_any_order_and_any_duplicates_converge_through_the_pipeline(
    client: FlaskClient, services: Services, store: Store, matching: str, order: list[int]
) -> None:
    n = next(EXAMPLE)
    mentor, mentee, pairing_id = setup_example(client, n, matching)
    services.drain()  # decisions about the setup itself are not this test's subject
    with store.session() as session:
        baseline = session.scalar(select(OutboxItem.id).order_by(OutboxItem.id.desc())) or 0

    meeting_id = str(81200000000 + n) if matching == "registered-id" else str(89900000000 + n)
    events = meeting_events(n, mentor, mentee, meeting_id)
    for position, index in enumerate(order):
        # A fresh delivery id per arrival, so a duplicate is applied twice (as a redelivery
        # with a new id would be), not dropped by the inbox's own dedupe.
        event = events[index]
        assert services.inbox.accept("zoom", f"conv-{n}-{position}", event.kind, {}, [event])
    services.drain()

    stored_meeting_id = meeting(store, f"conv-{n}==").id
    paired = pairing_id is not None
    expected_keys = (
        {
            f"recording-consent:meeting:{stored_meeting_id}:alert",
            f"recording-consent:meeting:{stored_meeting_id}:remove",
            f"introductory-session:pairing:{pairing_id}:goals",
        }
        if paired
        else {f"unregistered-contact:meeting:{stored_meeting_id}"}
    )
    assert outcome(store, f"conv-{n}==", baseline) == {
        "pairing_id": pairing_id,
        "held": paired,
        "kind": "intro" if paired else None,
        "participants": {
            mentor: (2400, at(0), at(45)),  # 14:00-14:20 and 14:25-14:45
            mentee: (2280, at(2), at(40)),
        },
        "outbox_keys": expected_keys,
        "unfinished_inbox_rows": [],
    }
