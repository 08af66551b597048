"""The extension points for external systems (DESIGN.md, "Extension points")."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from connector.domain import Alert, Task


@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of `check_connection()`: `ok`, or a stable error code and a message."""

    ok: bool
    code: str = "ok"  # ok | cannot_connect | unauthorized | missing_field | ...
    message: str = ""


class HostSystem(Protocol):
    """A CRM or LMS that staff work in. Writes are upserts on the decision key."""

    name: str

    def check_connection(self) -> ConnectionCheck: ...

    def upsert_task(self, task: Task, key: str) -> str:
        """Create or update the task carrying `key`; return the host's id for it."""

    def upsert_alert(self, alert: Alert, key: str) -> str:
        """Create or update the alert carrying `key`; return the host's id for it."""


@dataclass(frozen=True)
class MeetingSecurity:
    """The security settings a platform reports as applied to a meeting (None: not reported).

    Read back from the platform, never assumed from what was requested: Zoom, for one,
    switches a safeguard on by itself when all are off.
    """

    passcode: bool | None
    waiting_room: bool | None  # Zoom's waiting room, Teams' lobby, Meet's knocking
    authentication: bool | None
    encryption: str | None = None
    auto_recording: str | None = None


@dataclass(frozen=True)
class PastParticipant:
    """One join session of a past meeting, as the platform's REST API lists it."""

    key: str  # the same identity the platform's webhook receiver gives this participant
    name: str
    email: str
    join_time: datetime
    leave_time: datetime | None


class VideoPlatform(Protocol):
    """A video platform the connector can act on (DESIGN.md, "Extension points")."""

    name: str

    def check_connection(self) -> ConnectionCheck: ...

    def meeting_security(self, meeting_id: str) -> MeetingSecurity:
        """The settings applied to a scheduled meeting (by its platform id)."""

    def past_participants(self, instance_uuid: str) -> Iterator[PastParticipant]:
        """Every join session of one held instance, across all pages."""

    def trash_recordings(self, instance_uuid: str) -> None:
        """Move every recording of one instance to the platform's trash."""

    def access_link(self, instance_uuid: str, file_id: str, ttl_seconds: int) -> str:
        """A fresh, short-lived link to one recording file, for an authorised review."""
