"""A strict mock of the EspoCRM REST API for the adapter tests.

`EspoApi` wraps `responses.RequestsMock(assert_all_requests_are_fired=True)`: every call the
adapter makes must be registered and every registered call made. List endpoints are served by
`serve_list`, which applies EspoCRM's list semantics to in-memory rows (the `where` items
`greaterThanOrEquals`, `lessThanOrEquals`, `after`, `equals`; `orderBy` plus EspoCRM's `id`
tie-breaker; `offset`; `maxSize` refused above 200 with 403 and `X-Status-Reason` as in the
reference §3), so paging can be tested over a set that changes between pages. Record shapes
are `tests/fixtures/espocrm/api.<what>__<variant>.json`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import responses

from adapters.espocrm import DEFAULT_STREAMS, EspoClient, EspoCrmHost, TaskTarget
from connector.clock import FrozenClock

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "espocrm"
BASE = "https://crm.example.org"
API = BASE + "/api/v1"
API_KEY = "espo-api-key-for-tests"
ASSIGNEE = "6741f0aa11bb22cc3"
NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def make_host(clock: FrozenClock | None = None) -> EspoCrmHost:
    clock = clock or FrozenClock(NOW)
    client = EspoClient(BASE, API_KEY, clock=clock)
    target = TaskTarget("cConnectorKey", ASSIGNEE, "CPairing")
    return EspoCrmHost(client, DEFAULT_STREAMS, target, clock)


def query(request: requests.PreparedRequest) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(str(request.url)).query, keep_blank_values=True)


def where_items(params: list[tuple[str, str]]) -> list[dict[str, str]]:
    items: dict[int, dict[str, str]] = {}
    for name, value in params:
        if name.startswith("where["):
            index, part = name[6:].split("][")
            items.setdefault(int(index), {})[part.rstrip("]")] = value
    return [items[i] for i in sorted(items)]


_TESTS: dict[str, Callable[[str, str], bool]] = {
    "greaterThanOrEquals": lambda have, want: have >= want,
    "after": lambda have, want: have > want,
    "lessThanOrEquals": lambda have, want: have <= want,
    "before": lambda have, want: have < want,
    "equals": lambda have, want: have == want,
}


class EspoList:
    """In-memory rows of one entity, served as `GET /api/v1/<Entity>` would serve them."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.calls: list[list[tuple[str, str]]] = []
        self.before_page: Callable[[int], None] | None = None  # mutate rows between pages

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        params = query(request)
        self.calls.append(params)
        if self.before_page is not None:
            self.before_page(len(self.calls))
        named = dict(params)
        size = int(named.get("maxSize", "20"))
        if size > 200:
            reason = "Max size should not exceed 200. Use offset and limit."
            return 403, {"X-Status-Reason": reason}, ""
        rows = [r for r in self.rows if _matches(r, where_items(params))]
        order = named.get("orderBy")
        if order:
            rows.sort(key=lambda r: (str(r.get(order) or ""), r["id"]))
            if named.get("order") == "desc":
                rows.reverse()
        offset = int(named.get("offset", "0"))
        page = rows[offset : offset + size]
        if "select" in named:
            keep = set(named["select"].split(","))
            page = [{k: v for k, v in r.items() if k in keep} for r in page]
        body = {"total": len(rows), "list": copy.deepcopy(page)}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)


def _matches(row: dict[str, Any], items: list[dict[str, str]]) -> bool:
    return all(_TESTS[i["type"]](str(row.get(i["attribute"]) or ""), i["value"]) for i in items)


def serve_list(api: responses.RequestsMock, entity: str, rows: list[dict[str, Any]]) -> EspoList:
    served = EspoList(rows)
    api.add_callback(responses.GET, f"{API}/{entity}", callback=served)
    return served


def contact(index: int, modified: str) -> dict[str, Any]:
    """A Contact row like the fixture, with its own id and change time."""
    row: dict[str, Any] = fixture("api.Contact__mentor")
    return row | {"id": f"c{index:05d}", "name": f"Person {index}", "modifiedAt": modified}


def stamp(second: int) -> str:
    """`2026-11-21 10:00:00` plus `second` seconds, as EspoCRM writes times."""
    base = datetime(2026, 11, 21, 10, 0, tzinfo=UTC).timestamp()
    return datetime.fromtimestamp(base + second, UTC).strftime("%Y-%m-%d %H:%M:%S")
