"""Typed errors at the boundary (STYLE.md habit 8).

Adapters turn vendor HTTP failures into these; the outbox maps each to retry or dead letter:
`retryable` errors are tried again with backoff (or after `retry_after`), the others go
straight to the dead-letter list where an admin can look at them. An error with
`alert_staff` needs people, not only waiting (an API limit used up for the day): whoever
records it (the outbox, a sync run) also raises one alert for admins (`connector.staff_alerts`),
whose text says what to do (`advice`).
"""

from __future__ import annotations

from typing import ClassVar


class AdapterError(Exception):
    """Base class: something an external system refused or failed to do."""

    retryable = True
    alert_staff: ClassVar[bool] = False
    advice: ClassVar[str] = ""  # what an admin should do, for errors that alert staff

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Unauthorized(AdapterError):
    """Credentials were refused. Retried: a token may be refreshed or a secret rotated."""


class RateLimited(AdapterError):
    """The system asked us to slow down; `retry_after` is in seconds when it said so."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, status: int | None = 429
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class Unavailable(AdapterError):
    """The system could not be reached or answered 5xx."""


class Conflict(AdapterError):
    """The write conflicts with the system's state (e.g. an external id matched twice)."""

    retryable = False


class InvalidRequest(AdapterError):
    """The system rejected the request as malformed; retrying cannot help."""

    retryable = False
