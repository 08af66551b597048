"""What the connector does on the video platform itself: trash a recording made without
consent when the program says so, and read a meeting back after it ended.

The platform here is a test double of our own `VideoPlatform` interface; the Zoom adapter's
HTTP calls are specified against Zoom's documented shapes in tests/adapters/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from adapters.base import ConnectionCheck, MeetingSecurity, PastParticipant
from connector.app import create_app
from connector.clock import FrozenClock
from connector.services import Services
from connector.settings import Settings
from connector.store.db import Store
from connector.store.models import AuditEntry, InboxEvent, Meeting, OutboxItem, Recording
from tests.support import items, make_pairing, make_settings, send_zoom
from tests.test_pipeline import MEETING_ID, UUID, ended, recorded


class RecordingPlatform:
    """Answers like a platform would and remembers what it was asked to do."""

    name = "zoom"

    def __init__(self, security: MeetingSecurity, participants: list[PastParticipant]) -> None:
        self.security = security
        self.participants = participants
        self.trashed: list[str] = []
        self.fetched: list[str] = []

    def check_connection(self) -> ConnectionCheck:
        return ConnectionCheck(True)

    def meeting_security(self, meeting_id: str) -> MeetingSecurity:
        self.fetched.append(meeting_id)
        return self.security

    def past_participants(self, instance_uuid: str) -> Iterator[PastParticipant]:
        yield from self.participants

    def trash_recordings(self, instance_uuid: str) -> None:
        self.trashed.append(instance_uuid)

    def access_link(self, instance_uuid: str, file_id: str, ttl_seconds: int) -> str:
        return f"https://example.test/{file_id}"


SAFE = MeetingSecurity(passcode=True, waiting_room=True, authentication=False)


def app_with(
    database_url: str,
    store: Store,
    clock: FrozenClock,
    platform: RecordingPlatform | None,
    **rules: dict[str, Any],
) -> tuple[FlaskClient, Services]:
    settings: Settings = make_settings(database_url, rules=rules)
    app = create_app(
        settings, store=store, clock=clock, platforms={"zoom": platform} if platform else {}
    )
    services: Services = app.extensions["connector"]
    return app.test_client(), services


def test_without_consent_the_program_can_have_recordings_trashed_on_the_platform(
    database_url: str, store: Store, clock: FrozenClock
) -> None:
    platform = RecordingPlatform(SAFE, [])
    client, services = app_with(
        database_url,
        store,
        clock,
        platform,
        **{"recording-consent": {"on_missing_consent": "trash"}},
    )
    make_pairing(client)
    send_zoom(client, ended(), clock)
    send_zoom(client, recorded(), clock)
    services.drain()

    assert platform.trashed == [UUID]
    with store.session() as session:
        assert {r.status for r in session.scalars(select(Recording))} == {"trashed"}
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject_type == "recording")
        ).all()
    assert actions == ["recording.trashed", "recording.trashed"]
    assert [a["rule"] for a in items(client, "alert")] == ["recording-consent"]


def test_by_default_a_recording_without_consent_is_only_alerted(
    database_url: str, store: Store, clock: FrozenClock
) -> None:
    platform = RecordingPlatform(SAFE, [])
    client, services = app_with(database_url, store, clock, platform)
    make_pairing(client)
    send_zoom(client, ended(), clock)
    send_zoom(client, recorded(), clock)
    services.drain()

    assert platform.trashed == []
    assert [a["rule"] for a in items(client, "alert")] == ["recording-consent"]
    with store.session() as session:
        assert {r.status for r in session.scalars(select(Recording))} == {"available"}


def test_trash_without_api_credentials_becomes_a_dead_letter_saying_so(
    database_url: str, store: Store, clock: FrozenClock
) -> None:
    client, services = app_with(
        database_url, store, clock, None, **{"recording-consent": {"on_missing_consent": "trash"}}
    )
    make_pairing(client)
    send_zoom(client, ended(), clock)
    send_zoom(client, recorded(), clock)
    services.drain()
    with store.session() as session:
        dead = session.scalars(select(OutboxItem).where(OutboxItem.status == "dead")).one()
    assert dead.key.endswith(":trash")
    assert "no zoom API credentials are configured" in (dead.last_error or "")


def test_after_a_meeting_ends_attendance_and_security_are_read_back(
    database_url: str, store: Store, clock: FrozenClock
) -> None:
    start = datetime.fromisoformat("2026-11-02T13:00:00+00:00")
    people = [
        PastParticipant(
            f"participant_user_id:{who}",
            who.title(),
            f"{who}@example.org",
            start,
            start + timedelta(minutes=44),
        )
        for who in ("maya", "eli")
    ]
    weak = MeetingSecurity(passcode=False, waiting_room=True, authentication=False)
    platform = RecordingPlatform(weak, people)
    client, services = app_with(database_url, store, clock, platform)
    make_pairing(client)
    send_zoom(client, ended(), clock)  # no participant webhooks arrived at all
    services.drain()

    assert platform.fetched == [MEETING_ID]
    with store.session() as session:
        meeting = session.scalars(select(Meeting)).one()
        assert (meeting.held, meeting.kind) == (True, "intro")
        assert sorted(p.attended_seconds for p in meeting.participants) == [2640, 2640]
        assert meeting.security == {
            "passcode": False,
            "waiting_room": True,
            "authentication": False,
        }
        sources = session.scalars(select(InboxEvent.source).distinct()).all()
    assert "zoom-api" in sources
    alerts = items(client, "alert")
    assert [(a["rule"], a["key"].split(":")[-1]) for a in alerts] == [
        ("approved-platform", "security")
    ]
    send_zoom(client, ended(), clock)  # a redelivery reads nothing back twice
    services.drain()
    assert platform.fetched == [MEETING_ID]


def test_the_zoom_api_trashes_a_recording_made_without_consent(
    database_url: str, store: Store, clock: FrozenClock
) -> None:
    """End to end through the real Zoom adapter: Zoom's documented calls, strictly mocked."""
    import json as jsonlib
    from pathlib import Path

    import responses

    from adapters.zoom import ZoomClient, ZoomPlatform

    token = jsonlib.loads(
        (Path(__file__).parent / "fixtures" / "zoom_api" / "oauth_token__ok.json").read_text()
    )
    zoom = ZoomPlatform(ZoomClient("acct", "client", "secret", clock=clock))
    settings = make_settings(
        database_url, rules={"recording-consent": {"on_missing_consent": "trash"}}
    )
    app = create_app(settings, store=store, clock=clock, platforms={"zoom": zoom})
    client, services = app.test_client(), app.extensions["connector"]
    make_pairing(client)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post("https://zoom.us/oauth/token", json=token)
        mock.get(
            f"https://api.zoom.us/v2/meetings/{MEETING_ID}",
            status=404,
            json={"code": 3001, "message": "Meeting does not exist"},
        )
        mock.get(
            "https://api.zoom.us/v2/past_meetings/p1s1AAAAAA%3D%3D/participants",
            json={"page_size": 300, "total_records": 0, "next_page_token": "", "participants": []},
        )
        mock.delete(
            "https://api.zoom.us/v2/meetings/p1s1AAAAAA%3D%3D/recordings",
            match=[responses.matchers.query_param_matcher({"action": "trash"})],
            status=204,
        )
        send_zoom(client, ended(), clock)
        send_zoom(client, recorded(), clock)
        services.drain()
    with store.session() as session:
        assert {r.status for r in session.scalars(select(Recording))} == {"trashed"}
        assert session.scalars(select(OutboxItem.status)).all() == ["done"] * 4


def test_a_kept_recording_is_opened_only_for_a_stated_purpose_with_a_fresh_link(
    database_url: str, store: Store, clock: FrozenClock
) -> None:
    from tests.support import ADMIN, COORDINATOR, SAFEGUARDING

    platform = RecordingPlatform(SAFE, [])
    client, services = app_with(database_url, store, clock, platform)
    make_pairing(client, consent=("2026-10-01T00:00:00Z", "2026-10-01T00:00:00Z"))
    send_zoom(client, ended(), clock)
    send_zoom(client, recorded(), clock)
    services.drain()
    [first, _] = client.get("/api/v1/recordings", headers=ADMIN).json["recordings"]
    assert first["restricted"] is True
    url = f"/api/v1/recordings/{first['id']}/access"

    assert (
        client.post(
            url, json={"purpose": "curiosity", "note": "x"}, headers=SAFEGUARDING
        ).status_code
        == 400
    )
    assert (
        client.post(url, json={"purpose": "review", "note": "x"}, headers=COORDINATOR).status_code
        == 403
    )
    answer = client.post(
        url, json={"purpose": "dispute", "note": "mentee disputes session"}, headers=SAFEGUARDING
    )
    assert answer.status_code == 200
    assert answer.json["link"] == f"https://example.test/{first['file_id']}"
    assert answer.json["link_expires_in"] == 600
    with store.session() as session:
        [entry] = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "recording.accessed")
        ).all()
    assert (entry.actor, entry.detail["purpose"]) == ("token:safeguarding", "dispute")
