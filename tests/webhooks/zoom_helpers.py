"""One Zoom delivery in, one exact outcome out (the Zulip way of testing a webhook).

`deliver(body)` signs `body` with `webhooks.zoom.sign` as Zoom would, runs it through
`webhooks.pipeline.receive` with a `ZoomReceiver` on a frozen clock, and stores what the pipeline
accepts in an in-memory `Inbox` that dedupes on (source, delivery id) like the store's unique
constraint. Fixtures are real payload shapes in `tests/fixtures/zoom/<event>__<variant>.json`,
sent byte for byte: a signature is over the raw body, so a fixture is never re-serialised unless
a test says so (`edited`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.clock import FrozenClock
from connector.domain import Event
from webhooks.base import Reply, Request
from webhooks.pipeline import receive
from webhooks.zoom import SIGNATURE_HEADER, TIMESTAMP_HEADER, ZoomReceiver, sign, signature

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "zoom"
SECRET = "zoom-secret-for-receiver-tests"
NOW = datetime(2023, 12, 1, 21, 0, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())
TRACKING_ID = "v=2.0;clid=us06;rid=WEB_7b6c0e6a3f2d4c1e9a8b"
DELETE = object()  # `edited(..., path=DELETE)` removes the field


def load_fixture(name: str) -> bytes:
    """The raw bytes of `tests/fixtures/zoom/<name>.json`, exactly as Zoom would send them."""
    return (FIXTURES / f"{name}.json").read_bytes()


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def compact(payload: Any) -> bytes:
    """Serialise as Zoom does: no spaces, UTF-8, non-ASCII kept as is."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def edited(name: str, **changes: Any) -> bytes:
    """A fixture with fields changed: `edited(f, **{"payload.object.end_time": DELETE})`."""
    payload = json.loads(load_fixture(name))
    for path, value in changes.items():
        *parents, last = path.split(".")
        target = payload
        for part in parents:
            target = target[part]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return compact(payload)


@dataclass(frozen=True)
class Accepted:
    """One call of `accept`, as the pipeline made it."""

    source: str
    delivery_id: str
    event_type: str
    payload: dict[str, Any]
    events: tuple[Event, ...]


@dataclass
class Inbox:
    """An in-memory `accept`: records every call, answers False for a (source, id) seen before."""

    calls: list[Accepted] = field(default_factory=list)

    def __call__(
        self,
        source: str,
        delivery_id: str,
        event_type: str,
        payload: dict[str, Any],
        events: Sequence[Event],
    ) -> bool:
        is_new = all((c.source, c.delivery_id) != (source, delivery_id) for c in self.calls)
        self.calls.append(Accepted(source, delivery_id, event_type, payload, tuple(events)))
        return is_new

    @property
    def stored(self) -> list[Accepted]:
        """The calls that were new: what a store with a unique constraint would hold."""
        seen: set[tuple[str, str]] = set()
        rows = []
        for call in self.calls:
            if (call.source, call.delivery_id) not in seen:
                seen.add((call.source, call.delivery_id))
                rows.append(call)
        return rows


@dataclass(frozen=True)
class Outcome:
    reply: Reply
    inbox: Inbox
    calls: tuple[Accepted, ...]  # the calls this delivery made to `accept`

    @property
    def status(self) -> int:
        return self.reply.status

    @property
    def body(self) -> Any:
        return self.reply.body

    @property
    def events(self) -> list[Event]:
        """The events this delivery handed to `accept` (none when refused)."""
        return [event for call in self.calls for event in call.events]


def deliver(
    body: bytes,
    *,
    secret: str | None = SECRET,
    signed_with: str | None = SECRET,
    sent_at: int | str = NOW_TS,
    now: datetime = NOW,
    tolerance_seconds: int = 300,
    headers: Mapping[str, str | None] | None = None,
    inbox: Inbox | None = None,
) -> Outcome:
    """POST `body` to a `ZoomReceiver(secret)` whose clock reads `now`.

    The request is signed with `signed_with` at `sent_at` (None: unsigned); `headers` then add,
    replace or (with None) remove headers. Pass the same `inbox` to deliver more than once.
    """
    sent: dict[str, str] = {
        "user-agent": "Zoom Marketplace/1.0a",
        "x-zm-trackingid": TRACKING_ID,
    }
    if signed_with is not None:
        if isinstance(sent_at, int):
            sent |= sign(signed_with, body, sent_at)
        else:  # a timestamp that is not epoch seconds, signed as given
            sent |= {
                TIMESTAMP_HEADER: sent_at,
                SIGNATURE_HEADER: signature(signed_with, sent_at, body),
            }
    sent = {name.lower(): value for name, value in sent.items()}  # as the Flask view passes them
    for name, value in (headers or {}).items():
        sent.pop(name.lower(), None)
        if value is not None:
            sent[name.lower()] = value
    inbox = Inbox() if inbox is None else inbox
    before = len(inbox.calls)
    receiver = ZoomReceiver(secret, tolerance_seconds=tolerance_seconds, clock=FrozenClock(now))
    reply = receive(receiver, Request(body=body, headers=sent), inbox)
    return Outcome(reply, inbox, tuple(inbox.calls[before:]))


def deliver_fixture(name: str, **options: Any) -> Outcome:
    return deliver(load_fixture(name), **options)
