"""EspoCRM as the program's host: people, pairings and sessions in, tasks and alerts out."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from adapters.base import ConnectionCheck, Page, StreamMapping, Subject
from adapters.espocrm import streams, writer
from adapters.espocrm.client import EspoClient
from adapters.espocrm.mapping import MODIFIED_FIELD, TASK_ENTITY, TASK_FIELDS
from adapters.espocrm.writer import TaskTarget
from connector.clock import Clock
from connector.domain import Alert, Task
from connector.errors import AdapterError, InvalidRequest, Unauthorized


class EspoCrmHost:
    """A `HostSystem` over one EspoCRM instance and the admin's stream mapping.

    A Task whose `Subject` names the pairing's EspoCRM record is filed under it
    (`parentType`/`parentId`); without one it has no parent.
    """

    name = "espocrm"

    def __init__(
        self,
        client: EspoClient,
        mapping: Mapping[str, StreamMapping],
        target: TaskTarget,
        clock: Clock,
    ) -> None:
        self._client = client
        self._mapping = dict(mapping)
        self._target = target
        self._clock = clock

    def streams(self) -> Mapping[str, StreamMapping]:
        return dict(self._mapping)

    def read_changes(self, stream: str, since: datetime | None, until: datetime) -> Iterator[Page]:
        return streams.read_changes(self._client, stream, self._stream(stream), since, until)

    def read_records(self, stream: str, external_ids: Sequence[str]) -> Iterator[Page]:
        return streams.read_records(
            self._client, stream, self._stream(stream), external_ids, self._clock
        )

    def upsert_task(self, task: Task, key: str, subject: Subject | None = None) -> str:
        return writer.upsert(self._client, self._target, task, key, subject)

    def upsert_alert(self, alert: Alert, key: str, subject: Subject | None = None) -> str:
        return writer.upsert(self._client, self._target, alert, key, subject)

    def check_connection(self) -> ConnectionCheck:
        """The API key (`GET /App/user`), then every mapped field in the entities' metadata."""
        try:
            user = self._client.get_json("/App/user")
        except Unauthorized as exc:
            return ConnectionCheck(False, "unauthorized", str(exc))
        except AdapterError as exc:  # unreachable, 5xx, or not an EspoCRM API at base_url
            return ConnectionCheck(False, "cannot_connect", str(exc))
        missing: list[str] = []
        try:
            for entity, wanted in self._wanted_fields().items():
                missing += self._missing(entity, wanted)
        except Unauthorized as exc:
            return ConnectionCheck(False, "unauthorized", str(exc))
        except AdapterError as exc:
            return ConnectionCheck(False, "cannot_connect", str(exc))
        if missing:
            return ConnectionCheck(False, "missing_field", "not in EspoCRM: " + ", ".join(missing))
        who = user.get("user", {}).get("userName") if isinstance(user.get("user"), dict) else None
        return ConnectionCheck(True, "ok", f"connected as {who or 'the API user'}")

    def _stream(self, stream: str) -> StreamMapping:
        if stream not in self._mapping:
            raise InvalidRequest(f"stream {stream!r} is not configured for EspoCRM")
        return self._mapping[stream]

    def _wanted_fields(self) -> dict[str, set[str]]:
        wanted: dict[str, set[str]] = {}
        for mapping in self._mapping.values():
            names = {*mapping.fields.values(), mapping.modified_field or MODIFIED_FIELD}
            wanted.setdefault(mapping.object, set()).update(names)
        wanted.setdefault(TASK_ENTITY, set()).update({*TASK_FIELDS, self._target.key_field})
        return wanted

    def _missing(self, entity: str, attributes: set[str]) -> list[str]:
        """The attributes of `entity` its field metadata does not define (all, if no entity)."""
        fields = self._fields_of(entity)
        if not fields:
            return [f"{entity} (no such entity)"]
        return [f"{entity}.{a}" for a in sorted(attributes) if not _defined(a, fields)]

    def _fields_of(self, entity: str) -> dict[str, Any]:
        """`GET /Metadata?key=entityDefs.<Entity>.fields`: the field definitions, or {}."""
        response = self._client.request(
            "GET", "/Metadata", params={"key": f"entityDefs.{entity}.fields"}
        )
        try:
            body = response.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}  # EspoCRM answers null for no entity


def _defined(attribute: str, fields: Mapping[str, Any]) -> bool:
    """Whether a record attribute comes from a field: itself, or a link's `<field>Id`."""
    if attribute == "id" or attribute in fields:
        return True
    return attribute.endswith("Id") and attribute[:-2] in fields
