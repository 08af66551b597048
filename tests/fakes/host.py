"""An in-memory `HostSystem` for the sync engine's tests: pages, deletes, merges, counts.

Records are kept as the host would: each change stamps the record with the fake's own clock
(the test's `FrozenClock`), and `read_changes` returns the records changed in
(`since`, `until`], oldest first, `page_size` to a page, one request per page — lazily, so
a test sees how many pages the engine really asked for.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from adapters.base import ConnectionCheck, HostRecord, Page, StreamMapping, Subject
from adapters.paging import Pager
from connector.clock import Clock
from connector.domain import Alert, Task


@dataclass
class FakeHost:
    clock: Clock
    name: str = "fakecrm"
    page_size: int = 2
    synced: tuple[str, ...] = ("people", "pairings", "sessions")
    records: dict[str, dict[str, HostRecord]] = field(default_factory=dict)
    requests: int = 0
    reads: list[tuple[str, datetime | None, datetime]] = field(default_factory=list)
    targeted: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    loop_after_pages: int | None = None  # hand back the first page token again after this
    written: dict[str, tuple[str, Task | Alert]] = field(default_factory=dict)
    subjects: dict[str, Subject | None] = field(default_factory=dict)  # by key, as written

    # ------------------------------------------------------------------ what a test does

    def put(self, stream: str, external_id: str, **values: Any) -> HostRecord:
        """Create or change a record now; values merge over what the record had."""
        old = self.records.get(stream, {}).get(external_id)
        merged = {**(old.values if old and not old.deleted else {}), **values}
        return self._stamp(HostRecord(stream, external_id, self.clock.now(), merged))

    def delete(self, stream: str, external_id: str) -> None:
        self._stamp(HostRecord(stream, external_id, self.clock.now(), deleted=True))

    def merge(self, stream: str, loser: str, survivor: str) -> None:
        """The host's merge: the loser is deleted naming the survivor, and records that named
        the loser now name the survivor (Salesforce re-parents them, HubSpot moves the
        associations), so they change too."""
        now = self.clock.now()
        self._stamp(HostRecord(stream, loser, now, deleted=True, merged_into=survivor))
        self.put(stream, survivor)
        for records in list(self.records.values()):
            for record in list(records.values()):
                named = [k for k, v in record.values.items() if v == loser]
                if named and not record.deleted:
                    self.put(record.stream, record.external_id, **dict.fromkeys(named, survivor))

    def _stamp(self, record: HostRecord) -> HostRecord:
        self.records.setdefault(record.stream, {})[record.external_id] = record
        return record

    # ------------------------------------------------------------------ HostSystem

    def check_connection(self) -> ConnectionCheck:
        return ConnectionCheck(True, "ok", "in memory")

    def streams(self) -> Mapping[str, StreamMapping]:
        return {s: StreamMapping(object=s, fields={}) for s in self.synced}

    def read_changes(self, stream: str, since: datetime | None, until: datetime) -> Iterator[Page]:
        self.reads.append((stream, since, until))
        changed = sorted(
            (
                r
                for r in self.records.get(stream, {}).values()
                if (since is None or r.modified_at > since) and r.modified_at <= until
            ),
            key=lambda r: (r.modified_at, r.external_id),
        )
        return self._pages(stream, changed)

    def read_records(self, stream: str, external_ids: Sequence[str]) -> Iterator[Page]:
        self.targeted.append((stream, tuple(external_ids)))
        known = self.records.get(stream, {})
        found = [known[i] for i in external_ids if i in known]
        return self._pages(stream, found)

    def _pages(self, stream: str, records: list[HostRecord]) -> Iterator[Page]:
        pager = Pager(f"{self.name} {stream}")
        for number, start in enumerate(range(0, max(len(records), 1), self.page_size)):
            if number:
                token = "page-1" if number == self.loop_after_pages else f"page-{number}"
                pager.advance(token)
            self.requests += 1
            yield Page(records[start : start + self.page_size])

    def upsert_task(self, task: Task, key: str, subject: Subject | None = None) -> str:
        self.written[key] = ("task", task)
        self.subjects[key] = subject
        return key

    def upsert_alert(self, alert: Alert, key: str, subject: Subject | None = None) -> str:
        self.written[key] = ("alert", alert)
        self.subjects[key] = subject
        return key
