"""Zoom webhooks at `POST /webhooks/zoom`.

Facts used here are in `shared/reference/video-platforms.md` §1-2:
- signature `v0=` + hex HMAC-SHA256(secret, "v0:{x-zm-request-timestamp}:{raw body}")
  (https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events);
- `endpoint.url_validation` is itself signed; answering it unsigned would make us a signing
  oracle for forged events, so it is answered only after `verify()` passes;
- `payload.object.id` is a string in `meeting.*` events and a number in `recording.*` ones;
- deliveries repeat and arrive out of order; duplicate `recording.completed` bodies differ only
  in download URL and token, so the delivery id is built from the meeting instance and file ids.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from connector.clock import Clock, SystemClock
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
from webhooks.base import (
    BadPayload,
    BadSignature,
    MissingSecret,
    Parser,
    Reply,
    Request,
    StaleTimestamp,
    require,
    require_mapping,
)

PLATFORM = "zoom"
SIGNATURE_HEADER = "x-zm-signature"
TIMESTAMP_HEADER = "x-zm-request-timestamp"
URL_VALIDATION = "endpoint.url_validation"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `x-zm-signature` value Zoom sends for `body` at `timestamp` (epoch seconds)."""
    message = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Headers for a delivery of `body` signed as Zoom would; tests and the demo use this."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP_HEADER: ts,
        SIGNATURE_HEADER: signature(secret, ts, body),
    }


class ZoomReceiver:
    source: ClassVar[str] = "zoom"
    accepted_status: ClassVar[int] = 200
    ignored_events: ClassVar[Mapping[str, str]] = {
        "meeting.created": "scheduling does not touch any policy until a session is held",
        "meeting.updated": "scheduling does not touch any policy until a session is held",
        "meeting.deleted": "scheduling does not touch any policy until a session is held",
        "meeting.participant_joined_waiting_room": "time in the waiting room is not attendance",
        "meeting.participant_left_waiting_room": "time in the waiting room is not attendance",
        "meeting.participant_put_in_waiting_room": "time in the waiting room is not attendance",
        "meeting.participant_admitted": "attendance is taken from participant_joined",
        "meeting.participant_role_changed": "host and co-host roles are not a policy matter",
        "meeting.sharing_started": "screen sharing is not a policy matter",
        "meeting.sharing_ended": "screen sharing is not a policy matter",
        "recording.started": "consent is checked on the finished files (recording.completed)",
        "recording.stopped": "consent is checked on the finished files (recording.completed)",
        "recording.paused": "consent is checked on the finished files (recording.completed)",
        "recording.resumed": "consent is checked on the finished files (recording.completed)",
    }

    def __init__(
        self, secret: str | None, *, tolerance_seconds: int = 300, clock: Clock | None = None
    ) -> None:
        self._secret = secret
        self._tolerance = tolerance_seconds
        self._clock = clock or SystemClock()
        self.handled_events: Mapping[str, Parser] = {
            "meeting.started": _meeting_started,
            "meeting.ended": _meeting_ended,
            "meeting.participant_joined": _participant(ParticipantJoined, "join_time"),
            "meeting.participant_left": _participant(ParticipantLeft, "leave_time"),
            "recording.completed": _recording_available,
            "recording.transcript_completed": _recording_available,
            "recording.trashed": _recording_removed(permanently=False),
            "recording.deleted": _recording_removed(permanently=True),
        }

    # -- verification --------------------------------------------------------------------

    def handshake(self, request: Request) -> Reply | None:
        return None  # no handshake before the body: validation is a signed event (challenge)

    def verify(self, request: Request) -> None:
        if not self._secret:
            raise MissingSecret("no Zoom webhook secret is configured ([video.zoom])")
        given = request.header(SIGNATURE_HEADER)
        timestamp = request.header(TIMESTAMP_HEADER)
        if not given or not timestamp:
            raise BadSignature(f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} header")
        expected = signature(self._secret, timestamp, request.body)
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise BadSignature("signature does not match the body")
        try:
            sent_at = int(timestamp)
        except ValueError as exc:
            raise StaleTimestamp(f"{TIMESTAMP_HEADER} is not epoch seconds") from exc
        skew = abs(self._clock.now().timestamp() - sent_at)
        if skew > self._tolerance:
            raise StaleTimestamp(f"timestamp is {int(skew)} s off, tolerance {self._tolerance} s")

    def challenge(self, request: Request, payload: Mapping[str, Any]) -> Reply | None:
        if payload.get("event") != URL_VALIDATION:
            return None
        plain = require(payload, "payload.plainToken")
        if not isinstance(plain, str) or not plain or len(plain) > 128:
            raise BadPayload("plainToken must be a short string")
        assert self._secret  # verify() ran first and fails closed without a secret
        encrypted = hmac.new(self._secret.encode(), plain.encode(), hashlib.sha256).hexdigest()
        return Reply(200, {"plainToken": plain, "encryptedToken": encrypted})

    # -- identity of a delivery ------------------------------------------------------------

    def event_type(self, payload: Mapping[str, Any]) -> str:
        event = payload.get("event")
        if not isinstance(event, str) or not event:
            raise BadPayload("missing field event")
        return event

    def delivery_id(self, payload: Mapping[str, Any]) -> str:
        event = self.event_type(payload)
        uuid = str(require(payload, "payload.object.uuid"))
        obj = require_mapping(payload["payload"]["object"], "payload.object")
        if event.startswith("meeting.participant_"):
            person = require_mapping(obj.get("participant") or {}, "payload.object.participant")
            at = person.get("join_time") or person.get("leave_time") or ""
            # Hashed: the key may be an e-mail address, and delivery ids reach the logs.
            who = hashlib.sha256(_participant_key(person).encode()).hexdigest()[:16]
            return f"{event}:{uuid}:{who}:{at}"
        if event.startswith("recording."):
            files = sorted(str(f.get("id", "")) for f in _files(obj))
            digest = hashlib.sha256(",".join(files).encode()).hexdigest()[:16]
            if event in ("recording.trashed", "recording.deleted"):
                # An operator's action: trashing again after a recovery is a new event.
                return f"{event}:{uuid}:{digest}:{payload.get('event_ts', '')}"
            return f"{event}:{uuid}:{digest}"
        return f"{event}:{uuid}"


def _files(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    files = obj.get("recording_files") or []
    if not isinstance(files, list):
        raise BadPayload("payload.object.recording_files must be a list")
    return [require_mapping(f, "payload.object.recording_files[]") for f in files]


# --------------------------------------------------------------------------- parsers


def _time(obj: Mapping[str, Any], name: str) -> datetime:
    value = require(obj, name)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise BadPayload(f"{name} is not an ISO-8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise BadPayload(f"{name} has no time zone: {value!r}")
    return parsed


def _optional_time(obj: Mapping[str, Any], name: str) -> datetime | None:
    return _time(obj, name) if obj.get(name) else None


def _ids(payload: Mapping[str, Any]) -> tuple[Mapping[str, Any], str, str]:
    obj = require_mapping(require(payload, "payload.object"), "payload.object")
    # `id` is a string in meeting events and a number in recording events; accept both.
    return obj, str(require(obj, "id")), str(require(obj, "uuid"))


def _meeting_started(payload: Mapping[str, Any]) -> list[Event]:
    obj, meeting_id, uuid = _ids(payload)
    return [
        MeetingStarted(
            platform=PLATFORM,
            meeting_id=meeting_id,
            instance_uuid=uuid,
            started_at=_time(obj, "start_time"),
            topic=str(obj.get("topic") or ""),
        )
    ]


def _meeting_ended(payload: Mapping[str, Any]) -> list[Event]:
    obj, meeting_id, uuid = _ids(payload)
    return [
        MeetingEnded(
            platform=PLATFORM,
            meeting_id=meeting_id,
            instance_uuid=uuid,
            started_at=_time(obj, "start_time"),
            ended_at=_time(obj, "end_time"),
            topic=str(obj.get("topic") or ""),
        )
    ]


def _participant_key(person: Mapping[str, Any]) -> str:
    """Who this is, the same on their join and their leave.

    Zoom's user ids come first: the signed-in user's id, then the per-meeting `user_id`
    that maps a guest's join to their leave (https://devforum.zoom.us/t/8116). The e-mail,
    which links a participant to a program person, is stored beside the key, not in it,
    so a leave event without it still closes the right interval.
    """
    for field in ("participant_user_id", "id", "user_id", "participant_uuid"):
        if person.get(field):
            return f"{field}:{person[field]}"
    if person.get("email"):
        return "email:" + str(person["email"]).strip().lower()
    return "name:" + str(person.get("user_name") or "unknown")


def _participant(cls: type[ParticipantJoined] | type[ParticipantLeft], time_field: str) -> Parser:
    def parse(payload: Mapping[str, Any]) -> list[Event]:
        obj = require_mapping(require(payload, "payload.object"), "payload.object")
        person = require_mapping(require(obj, "participant"), "payload.object.participant")
        return [
            cls(
                platform=PLATFORM,
                # `id` is optional on participant events (Rivet types); the uuid is not.
                meeting_id=str(obj.get("id") or ""),
                instance_uuid=str(require(obj, "uuid")),
                participant_key=_participant_key(person),
                at=_time(person, time_field),
                name=str(person.get("user_name") or ""),
                email=str(person.get("email") or "").strip().lower(),
            )
        ]

    return parse


def _recording_available(payload: Mapping[str, Any]) -> list[Event]:
    obj, meeting_id, uuid = _ids(payload)
    files = tuple(
        RecordingFile(
            file_id=str(require(f, "id")),
            file_type=str(f.get("file_type") or ""),
            recording_type=str(f.get("recording_type") or ""),
            started_at=_optional_time(f, "recording_start"),
            ended_at=_optional_time(f, "recording_end"),
        )
        for f in _files(obj)
    )
    if not files:
        raise BadPayload("recording event without recording_files")
    return [
        RecordingAvailable(
            platform=PLATFORM,
            meeting_id=meeting_id,
            instance_uuid=uuid,
            started_at=_time(obj, "start_time"),
            files=files,
            host_email=str(obj.get("host_email") or "").strip().lower(),
        )
    ]


def _recording_removed(*, permanently: bool) -> Parser:
    def parse(payload: Mapping[str, Any]) -> list[Event]:
        obj, meeting_id, uuid = _ids(payload)
        file_ids = tuple(str(f["id"]) for f in _files(obj) if f.get("id"))
        return [
            RecordingRemoved(
                platform=PLATFORM,
                meeting_id=meeting_id,
                instance_uuid=uuid,
                permanently=permanently,
                file_ids=file_ids,
            )
        ]

    return parse
