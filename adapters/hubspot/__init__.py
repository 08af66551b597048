"""HubSpot CRM as a host: contacts and custom objects synced in, tasks and alerts written back.

`HubSpotHost` puts the package's parts together: `client` (token, HTTP, typed errors, the
search throttle), `streams` (search paging with the 10,000-result restart, archived objects,
merges, batch reads), `mapping` (the default objects and properties), `writer` (tasks on the
unique `connector_key`). Facts: shared/reference/crm-hosts.md §2.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

from adapters.base import ConnectionCheck, Page, StreamMapping, Subject
from adapters.hubspot.client import HubSpotClient, SearchThrottle, segment
from adapters.hubspot.mapping import CONNECTOR_KEY, DEFAULT, TASKS, modified_property
from adapters.hubspot.streams import StreamReader
from adapters.hubspot.writer import TaskWrite, TaskWriter
from adapters.mapping import check_mapping
from connector.clock import Clock
from connector.domain import Alert, Task
from connector.errors import AdapterError, InvalidRequest, Unauthorized, Unavailable

# The properties every task write sets: check_connection looks for each on the task object.
TASK_PROPERTIES = ("hs_timestamp", "hs_task_subject", "hs_task_body", "hs_task_priority")


class HubSpotHost:
    """One HubSpot portal as the program's host."""

    name = "hubspot"

    def __init__(
        self,
        client: HubSpotClient,
        streams: Mapping[str, StreamMapping],
        clock: Clock,
        *,
        task_write: TaskWrite = "search",
        owner_id: str | None = None,
        result_cap: int | None = None,
    ) -> None:
        self._client = client
        self._streams = dict(streams)
        self._task_write = task_write
        extra = {} if result_cap is None else {"result_cap": result_cap}
        self._reader = StreamReader(client, self._streams, clock, **extra)
        self._writer = TaskWriter(client, clock, mode=task_write, owner_id=owner_id)

    def streams(self) -> Mapping[str, StreamMapping]:
        return self._streams

    def read_changes(self, stream: str, since: datetime | None, until: datetime) -> Iterator[Page]:
        return self._reader.read_changes(stream, since, until)

    def read_records(self, stream: str, external_ids: Sequence[str]) -> Iterator[Page]:
        return self._reader.read_records(stream, external_ids)

    def upsert_task(self, task: Task, key: str, subject: Subject | None = None) -> str:
        return self._writer.upsert_task(task, key, subject)

    def upsert_alert(self, alert: Alert, key: str, subject: Subject | None = None) -> str:
        return self._writer.upsert_alert(alert, key, subject)

    # ------------------------------------------------------------------ check_connection

    def check_connection(self) -> ConnectionCheck:
        """The token (a one-contact read), then every mapped object and property."""
        problems = [p for s, m in self._streams.items() for p in check_mapping(s, m)]
        if problems:
            return ConnectionCheck(False, "missing_field", "; ".join(problems))
        try:
            self._client.call("GET", "/crm/v3/objects/contacts", params={"limit": 1})
            missing = self._missing_properties()
        except Unauthorized as exc:
            return ConnectionCheck(False, "unauthorized", str(exc))
        except Unavailable as exc:
            return ConnectionCheck(False, "cannot_connect", str(exc))
        except AdapterError as exc:
            return ConnectionCheck(False, "cannot_connect", f"{type(exc).__name__}: {exc}")
        if missing:
            return ConnectionCheck(False, "missing_field", "; ".join(missing))
        names = ", ".join(f"{s} ({m.object})" for s, m in self._streams.items())
        return ConnectionCheck(True, "ok", f"HubSpot token accepted; mapped streams: {names}")

    def _missing_properties(self) -> list[str]:
        """`object.property: missing` for each mapped property the portal does not have."""
        wanted: dict[str, list[str]] = {TASKS: [*TASK_PROPERTIES, CONNECTOR_KEY]}
        for mapping in self._streams.values():
            names = [n for vendor in mapping.fields.values() for n in vendor.split()]
            wanted.setdefault(mapping.object, []).extend([*names, modified_property(mapping)])
        missing: list[str] = []
        for object_type, names in wanted.items():
            try:
                known = self._properties(object_type)
            except InvalidRequest as exc:
                if exc.status != 404:
                    raise
                missing.append(f"{object_type}: no such object type in the portal")
                continue
            missing += [
                f"{object_type}.{n}: missing" for n in dict.fromkeys(names) if n not in known
            ]
            if object_type == TASKS and known.get(CONNECTOR_KEY) is False:
                missing.append(f"{TASKS}.{CONNECTOR_KEY}: not unique (hasUniqueValue is false)")
        return missing

    def _properties(self, object_type: str) -> dict[str, bool]:
        """The object's property names, each with whether its values are unique."""
        answer = self._client.call("GET", f"/crm/v3/properties/{segment(object_type)}")
        results = answer.get("results") or []
        return {
            str(p.get("name")): bool(p.get("hasUniqueValue"))
            for p in results
            if isinstance(p, Mapping)
        }


__all__ = ["DEFAULT", "HubSpotClient", "HubSpotHost", "SearchThrottle"]
