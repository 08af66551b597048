"""A HubSpot portal over in-memory objects, served through a strict `responses` mock.

Built from the documented shapes (shared/reference/crm-hosts.md §2.1-2.3): search filters one
datetime property with GT/GTE/LTE on epoch milliseconds, sorts ascending on it and pages by
`paging.next.after`; `?archived=true` lists the recycle bin; `batch/read` answers the ids
that exist; tasks are searched on `connector_key` and created by `POST`. Every route is
registered only when a test says it expects it, so an unexpected call, or an expected one
that never comes, fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import responses

from adapters.mapping import parse_datetime

Reply = tuple[int, dict[str, str], str]
MODIFIED = {"contacts": "lastmodifieddate"}  # every other object: hs_lastmodifieddate
OPERATORS: dict[str, Callable[[int, int], bool]] = {
    "GT": lambda have, want: have > want,
    "GTE": lambda have, want: have >= want,
    "LTE": lambda have, want: have <= want,
}


def iso(when: datetime) -> str:
    """A datetime property as HubSpot returns it."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Portal:
    """Objects by type and id; `put` creates or changes one as a CRM user would."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.objects: dict[str, dict[str, dict[str, Any]]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}
        self.searched: dict[str, int] = {}  # object type -> search calls
        self.batch_reads: list[tuple[str, list[str]]] = []

    def put(self, object_type: str, object_id: str, at: datetime, **properties: Any) -> None:
        row = self.objects.setdefault(object_type, {}).setdefault(
            object_id, {"id": object_id, "properties": {}, "archived": False}
        )
        stamp = iso(at)
        row["properties"] |= properties | {
            MODIFIED.get(object_type, "hs_lastmodifieddate"): stamp,
            "hs_object_id": object_id,
        }
        row["updatedAt"] = stamp

    # ------------------------------------------------------------------ routes

    def serve_reads(self, mock: responses.RequestsMock, *object_types: str) -> None:
        """Search and the archived list for each object type (what a sync reads)."""
        for object_type in object_types:
            url = f"{self.base}/crm/v3/objects/{object_type}"
            mock.add_callback(responses.POST, f"{url}/search", callback=self._searcher(object_type))
            mock.add_callback(responses.GET, url, callback=self._archived)

    def serve_batch_read(self, mock: responses.RequestsMock, object_type: str) -> None:
        url = f"{self.base}/crm/v3/objects/{object_type}/batch/read"
        mock.add_callback(responses.POST, url, callback=self._batch_reader(object_type))

    def serve_tasks(self, mock: responses.RequestsMock) -> None:
        url = f"{self.base}/crm/v3/objects/tasks"
        mock.add_callback(responses.POST, f"{url}/search", callback=self._find_task)
        mock.add_callback(responses.POST, url, callback=self._create_task)

    # ------------------------------------------------------------------ handlers

    def _searcher(self, object_type: str) -> Any:
        def search(request: requests.PreparedRequest) -> Reply:
            self.searched[object_type] = self.searched.get(object_type, 0) + 1
            body = json.loads(request.body or b"{}")
            (group,) = body["filterGroups"]
            (sort,) = body["sorts"]
            assert sort["direction"] == "ASCENDING"
            rows = [
                row
                for row in self.objects.get(object_type, {}).values()
                if all(_passes(row, f) for f in group["filters"])
            ]
            rows.sort(key=lambda row: (_ms(row["properties"][sort["propertyName"]]), row["id"]))
            start, limit = int(body.get("after", 0)), body["limit"]
            page = rows[start : start + limit]
            answer: dict[str, Any] = {
                "total": len(rows),
                "results": [_shown(row, body["properties"]) for row in page],
            }
            if start + limit < len(rows):
                answer["paging"] = {"next": {"after": str(start + limit)}}
            return 200, {}, json.dumps(answer)

        return search

    def _archived(self, request: requests.PreparedRequest) -> Reply:
        assert parse_qs(urlsplit(str(request.url)).query)["archived"] == ["true"]
        return 200, {}, json.dumps({"results": []})  # nothing deleted in these stories

    def _batch_reader(self, object_type: str) -> Any:
        def read(request: requests.PreparedRequest) -> Reply:
            body = json.loads(request.body or b"{}")
            ids = [item["id"] for item in body["inputs"]]
            self.batch_reads.append((object_type, ids))
            rows = self.objects.get(object_type, {})
            results = [_shown(rows[i], body["properties"]) for i in ids if i in rows]
            return 200, {}, json.dumps({"status": "COMPLETE", "results": results})

        return read

    def _find_task(self, request: requests.PreparedRequest) -> Reply:
        body = json.loads(request.body or b"{}")
        ((wanted,),) = [g["filters"] for g in body["filterGroups"]]
        assert (wanted["propertyName"], wanted["operator"]) == ("connector_key", "EQ")
        found = [
            {"id": i, "properties": {"connector_key": t["connector_key"]}}
            for i, t in self.tasks.items()
            if t["connector_key"] == wanted["value"]
        ]
        return 200, {}, json.dumps({"total": len(found), "results": found})

    def _create_task(self, request: requests.PreparedRequest) -> Reply:
        body = json.loads(request.body or b"{}")
        task_id = str(9000 + len(self.tasks) + 1)
        self.tasks[task_id] = body["properties"]
        return 201, {}, json.dumps({"id": task_id, "properties": body["properties"]})


def _ms(value: str) -> int:
    return round(parse_datetime(value).timestamp() * 1000)


def _passes(row: dict[str, Any], condition: dict[str, str]) -> bool:
    have = row["properties"].get(condition["propertyName"])
    if have is None:
        return False
    test = OPERATORS[condition["operator"]]
    return test(_ms(have), int(condition["value"]))


def _shown(row: dict[str, Any], properties: list[str]) -> dict[str, Any]:
    """The row with the asked-for properties only (unset ones as null), as HubSpot answers."""
    shown = {name: row["properties"].get(name) for name in properties}
    return row | {"properties": shown | {"hs_object_id": row["id"]}}
