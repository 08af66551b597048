"""Salesforce as the host system: sync from SOQL, tasks and alerts written back as Tasks.

Shaped like every host (STYLE.md habit 1): `client.py` (OAuth token, typed errors),
`mapping.py` (the default objects and fields, the only place SOQL is built), `streams.py`
(paged reads with deletions and merges), `writer.py` (idempotent upserts on the decision key).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

from adapters.base import BatchItem, ConnectionCheck, Page, StreamMapping, Subject, UpsertResult
from adapters.salesforce.client import (
    Credentials,
    RequestLimitExceeded,
    SalesforceClient,
)
from adapters.salesforce.mapping import DEFAULT_MAPPING, modified_field
from adapters.salesforce.streams import StreamReader
from adapters.salesforce.writer import TaskWriter, WriterSettings, external_key
from connector.domain import Alert, Task
from connector.errors import AdapterError, InvalidRequest, RateLimited, Unauthorized


class SalesforceHost:
    """One Salesforce org, with the streams an admin mapped (default: `DEFAULT_MAPPING`)."""

    name = "salesforce"

    def __init__(
        self,
        client: SalesforceClient,
        streams: Mapping[str, StreamMapping] | None = None,
        writer: WriterSettings | None = None,
    ) -> None:
        self.client = client
        self._streams = dict(DEFAULT_MAPPING if streams is None else streams)
        self._writer_settings = writer or WriterSettings()
        self._reader = StreamReader(client, self._streams)
        self._writer = TaskWriter(client, self._writer_settings)

    def streams(self) -> Mapping[str, StreamMapping]:
        return dict(self._streams)

    def read_changes(self, stream: str, since: datetime | None, until: datetime) -> Iterator[Page]:
        return self._reader.read_changes(stream, since, until)

    def read_records(self, stream: str, external_ids: Sequence[str]) -> Iterator[Page]:
        return self._reader.read_records(stream, external_ids)

    def upsert_task(self, task: Task, key: str, subject: Subject | None = None) -> str:
        return self._writer.upsert_task(task, key, subject)

    def upsert_alert(self, alert: Alert, key: str, subject: Subject | None = None) -> str:
        return self._writer.upsert_alert(alert, key, subject)

    def upsert_many(self, items: Sequence[BatchItem]) -> list[UpsertResult]:
        """Batched write-back: up to 200 items per request, a result (or error) per item."""
        return self._writer.upsert_many(items)

    def check_connection(self) -> ConnectionCheck:
        """A token, then every mapped object described and every mapped field found."""
        try:
            for obj, needed in self._needed_fields().items():
                missing = sorted(needed - self._fields_of(obj))
                if missing:
                    return ConnectionCheck(
                        False, "missing_field", f"{obj} has no field {', '.join(missing)}"
                    )
        except _NoObject as exc:
            return ConnectionCheck(False, "missing_field", f"no object {exc} in this org")
        except Unauthorized as exc:
            return ConnectionCheck(False, "unauthorized", str(exc))
        except RateLimited as exc:
            return ConnectionCheck(False, "rate_limited", str(exc))
        except AdapterError as exc:
            return ConnectionCheck(False, "cannot_connect", str(exc))
        objects = ", ".join(self._needed_fields())
        return ConnectionCheck(True, "ok", f"every mapped field found on {objects}")

    def _needed_fields(self) -> dict[str, set[str]]:
        needed: dict[str, set[str]] = {}
        for mapping in self._streams.values():
            fields_ = {"Id", "IsDeleted", modified_field(mapping), *mapping.fields.values()}
            needed.setdefault(mapping.object, set()).update(fields_)
        key_field = self._writer_settings.key_field
        needed.setdefault("Task", set()).add(key_field)
        needed.setdefault(self._writer_settings.alert_object, set()).add(key_field)
        return needed

    def _fields_of(self, obj: str) -> set[str]:
        try:
            described = self.client.call(
                f"describe {obj}", lambda sf: sf.restful(f"sobjects/{obj}/describe")
            )
        except InvalidRequest as exc:
            if exc.status == 404:
                raise _NoObject(obj) from exc
            raise
        fields_ = described.get("fields") if isinstance(described, Mapping) else None
        return {str(f.get("name")) for f in fields_ or [] if isinstance(f, Mapping)}


class _NoObject(Exception):
    """describe answered 404: the object does not exist or the user cannot see it."""


__all__ = [
    "DEFAULT_MAPPING",
    "Credentials",
    "RequestLimitExceeded",
    "SalesforceClient",
    "SalesforceHost",
    "UpsertResult",
    "WriterSettings",
    "external_key",
]
