"""Shared pieces of the HubSpot adapter tests: a portal on 127.0.0.1 mocked with `responses`,
a frozen clock, and a search throttle whose timer only moves when it "sleeps"."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.base import StreamMapping
from adapters.hubspot import HubSpotClient, HubSpotHost, SearchThrottle
from adapters.hubspot.mapping import DEFAULT
from connector.clock import FrozenClock

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "hubspot"
BASE = "http://127.0.0.1:8789"
TOKEN = "pat-na1-test-token-0001"
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
PAIRS = "2-3456789"  # the pairing custom object's objectTypeId in these tests


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def ms(when: datetime) -> str:
    return str(int(when.timestamp() * 1000))


class FakeTimer:
    """A monotonic clock and a sleep that advances it, recording every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def streams(**objects: str) -> dict[str, StreamMapping]:
    """The default mapping with the pairing object at PAIRS (and any object overridden)."""
    chosen = {**{"pairings": PAIRS}, **objects}
    return {
        name: StreamMapping(
            object=chosen.get(name, m.object),
            fields=m.fields,
            values=m.values,
            modified_field=m.modified_field,
        )
        for name, m in DEFAULT.items()
    }


def make_host(
    timer: FakeTimer | None = None, *, clock: FrozenClock | None = None, **options: Any
) -> HubSpotHost:
    timer = timer or FakeTimer()
    clock = clock or FrozenClock(NOW)
    client = HubSpotClient(
        TOKEN,
        clock=clock,
        base_url=BASE,
        throttle=SearchThrottle(4.0, monotonic=timer.monotonic, sleep=timer.sleep),
    )
    return HubSpotHost(client, options.pop("mappings", None) or streams(), clock, **options)


def body_of(call: Any) -> Any:
    return json.loads(call.request.body)
