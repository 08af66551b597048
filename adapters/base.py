"""The extension points for external systems (DESIGN.md, "Extension points")."""

from __future__ import annotations

from dataclasses import dataclass
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
