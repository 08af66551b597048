"""The extension points for external systems (DESIGN.md, "Extension points")."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from connector.domain import Alert, Event, Task
from connector.errors import AdapterError


@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of `check_connection()`: `ok`, or a stable error code and a message."""

    ok: bool
    code: str = "ok"  # ok | cannot_connect | unauthorized | missing_field | ...
    message: str = ""


# The streams a host can be synced on, in the order a run reads them: people before the
# pairings that name them, pairings before the sessions that belong to them.
STREAMS = ("people", "pairings", "sessions")


@dataclass(frozen=True)
class StreamMapping:
    """Where one stream lives in a host: an admin points domain fields at vendor fields.

    `fields` maps a domain field (see `adapters.mapping.DOMAIN_FIELDS`) to the vendor's field;
    `values` translates vendor values of a domain field (e.g. a picklist) to domain values.
    """

    object: str  # Salesforce sObject, HubSpot object type, EspoCRM entity
    fields: Mapping[str, str]
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    modified_field: str = ""  # the vendor's change watermark; the adapter's default when empty


@dataclass(frozen=True)
class HostRecord:
    """One record read from a host, already in domain terms (`adapters.mapping.to_domain`).

    `values` holds only the mapped domain fields the host returned; a deleted record carries
    no values, and a merged one names the record it was merged into.
    """

    stream: str
    external_id: str
    modified_at: datetime
    values: Mapping[str, Any] = field(default_factory=dict)
    deleted: bool = False
    merged_into: str | None = None


@dataclass(frozen=True)
class Page:
    """What one call to the host returned, oldest change first; `requests` is its API cost."""

    records: Sequence[HostRecord]
    requests: int = 1


@dataclass(frozen=True)
class Subject:
    """The host's records a task or alert is about, so the host can file it under them.

    Each is the host's own id (`external_ref`, written by the sync of this host), or None when
    the record did not come from this host. The outbox resolves it from the decision's
    pairing and passes it to `upsert_task`/`upsert_alert`; rules never see it. Each host
    links what it can: Salesforce WhatId/WhoId, EspoCRM parentType/parentId, HubSpot a
    contact association.
    """

    pairing_ref: str | None = None
    mentor_ref: str | None = None
    mentee_ref: str | None = None


@dataclass(frozen=True)
class BatchItem:
    """One task or alert of a batched write (`BatchWriter.upsert_many`)."""

    item: Task | Alert
    key: str
    subject: Subject | None = None


@dataclass(frozen=True)
class UpsertResult:
    """One item of `upsert_many()`: the host's id, or the typed error it failed with."""

    key: str
    host_id: str | None = None
    error: AdapterError | None = None


class HostSystem(Protocol):
    """A CRM or LMS that staff work in. Reads stream pages; writes are upserts on the key.

    Writes take an optional `subject`: the host's records the item is about (see `Subject`).
    A host that cannot link records (the built-in `local`) ignores it.
    """

    name: str

    def check_connection(self) -> ConnectionCheck:
        """Try the credentials and every mapped object and field (`missing_field`)."""

    def streams(self) -> Mapping[str, StreamMapping]:
        """The streams this host is configured to sync, by name (a subset of `STREAMS`)."""

    def read_changes(self, stream: str, since: datetime | None, until: datetime) -> Iterator[Page]:
        """Records of `stream` changed in (`since`, `until`], oldest first, deletions included.

        `since=None` reads everything (a full sync). Pages are fetched lazily, so the caller
        can stop after any page (its request budget) and memory stays flat.
        """

    def read_records(self, stream: str, external_ids: Sequence[str]) -> Iterator[Page]:
        """The named records of `stream` as they are now (a targeted sync after a webhook)."""

    def upsert_task(self, task: Task, key: str, subject: Subject | None = None) -> str:
        """Create or update the task carrying `key`; return the host's id for it."""

    def upsert_alert(self, alert: Alert, key: str, subject: Subject | None = None) -> str:
        """Create or update the alert carrying `key`; return the host's id for it."""


@runtime_checkable
class BatchWriter(Protocol):
    """An optional capability of a host: many tasks and alerts written in few requests.

    The outbox checks `isinstance(host, BatchWriter)` and hands such a host the tasks and
    alerts it leased at once; every other host gets them one by one. Idempotent per item
    like `upsert_task`; the answer has one result per item, in order, each with the host's
    id or the typed error that item failed with (a failure of the whole call is raised).
    """

    def upsert_many(self, items: Sequence[BatchItem]) -> list[UpsertResult]: ...


@dataclass(frozen=True)
class MeetingSecurity:
    """The security settings a platform reports as applied to a meeting (None: not reported).

    Read back from the platform, never assumed from what was requested: Zoom, for one,
    switches a safeguard on by itself when all are off.
    """

    passcode: bool | None
    waiting_room: bool | None  # Zoom's waiting room, Teams' lobby, Meet's knocking
    authentication: bool | None
    encryption: str | None = None
    auto_recording: str | None = None


@dataclass(frozen=True)
class PastParticipant:
    """One join session of a past meeting, as the platform's REST API lists it."""

    key: str  # the same identity the platform's webhook receiver gives this participant
    name: str
    email: str
    join_time: datetime
    leave_time: datetime | None


class VideoPlatform(Protocol):
    """A video platform the connector can act on (DESIGN.md, "Extension points")."""

    name: str

    def check_connection(self) -> ConnectionCheck: ...

    def meeting_security(self, meeting_id: str) -> MeetingSecurity:
        """The settings applied to a scheduled meeting (by its platform id)."""

    def past_participants(self, instance_uuid: str) -> Iterator[PastParticipant]:
        """Every join session of one held instance, across all pages."""

    def trash_recordings(self, instance_uuid: str) -> None:
        """Move every recording of one instance to the platform's trash."""

    def access_link(self, instance_uuid: str, file_id: str, ttl_seconds: int) -> str:
        """A fresh, short-lived link to one recording file, for an authorised review."""


@dataclass(frozen=True)
class ChangeRead:
    """What a platform's API says about a resource a change notification named.

    `delivery` keys the events in the inbox: the resource at one version (a call record's
    `version`), so reading the same version again changes nothing.
    """

    delivery: str
    event_type: str
    events: list[Event]


@runtime_checkable
class ChangeReader(Protocol):
    """A platform whose notifications are hints read back through its API (Teams, Meet)."""

    def read_change(self, resource: str, change_type: str) -> ChangeRead:
        """The events the resource says now; typed errors when the API cannot tell."""
