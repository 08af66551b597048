"""The `WebhookReceiver` contract and the errors a receiver raises, each with its status code."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from connector.domain import Event


class WebhookError(Exception):
    """A refused delivery. `status` goes to the sender, `code` to the log line."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"


class MissingSecret(WebhookError):
    status = 401
    code = "missing_secret"


class BadSignature(WebhookError):
    status = 401
    code = "bad_signature"


class StaleTimestamp(WebhookError):
    status = 401
    code = "stale_timestamp"


class BadPayload(WebhookError):
    status = 400
    code = "bad_payload"


@dataclass(frozen=True)
class Request:
    """What a receiver sees of an HTTP request: the raw bytes and lower-cased headers."""

    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    content_type: str = "application/json"


Parser = Callable[[Mapping[str, Any]], list[Event]]


class WebhookReceiver(Protocol):
    """One source of webhooks. Add a module, then one line in `webhooks.RECEIVERS`."""

    source: ClassVar[str]
    handled_events: Mapping[str, Parser]
    ignored_events: ClassVar[Mapping[str, str]]
    accepted_status: ClassVar[int]  # what an accepted delivery answers (Graph expects 202)

    def handshake(self, request: Request) -> Reply | None:
        """A subscription handshake that comes before any body check, else None."""

    def verify(self, request: Request) -> None:
        """Raise a `WebhookError` unless the request is authentic; never return False."""

    def event_type(self, payload: Mapping[str, Any]) -> str: ...

    def challenge(self, request: Request, payload: Mapping[str, Any]) -> Reply | None:
        """The handshake answer when this request is one, else None."""

    def delivery_id(self, payload: Mapping[str, Any]) -> str:
        """A dedupe key derived from the signed content, never from an unsigned header."""


@runtime_checkable
class ReadsPayload(Protocol):
    """A receiver whose sender does not post one JSON object builds its payload itself.

    HubSpot and EspoCRM post a JSON array; EspoCRM also names the webhook (and so its event)
    only in the signed header. The pipeline calls `read_payload()` after `verify()` instead of
    its own JSON-object reading; it raises `BadPayload` for a body it cannot use.
    """

    def read_payload(self, request: Request) -> dict[str, Any]: ...


def require(obj: Mapping[str, Any], path: str) -> Any:
    """`obj["a"]["b"]` for path "a.b", or BadPayload naming the missing field."""
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, Mapping) or value.get(part) is None:
            raise BadPayload(f"missing field {path}")
        value = value[part]
    return value


def require_mapping(value: Any, path: str) -> Mapping[str, Any]:
    """`value` when it is a JSON object, else BadPayload naming where it was expected."""
    if not isinstance(value, Mapping):
        raise BadPayload(f"{path} must be an object")
    return value
