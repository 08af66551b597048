"""Reading people, pairings and sessions out of Salesforce, one SOQL batch per page.

A read is a `queryAll` — unlike `query` it returns deleted records still in the recycle bin,
with `IsDeleted = true`, and for a Contact lost in a merge the winner in `MasterRecordId`
(crm-hosts reference §1.3). Batches of up to 2,000 records follow `nextRecordsUrl` until
`done`; a `Pager` refuses a URL handed out twice. Records purged from the recycle bin
(after 15 days, or emptied by hand) are not seen: a full sync (`since=None`) is the remedy.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from simple_salesforce.api import Salesforce

from adapters.base import HostRecord, Page, StreamMapping
from adapters.mapping import MappingProblem, parse_datetime, to_domain
from adapters.paging import Pager
from adapters.salesforce.client import SalesforceClient
from adapters.salesforce.mapping import changes_query, modified_field, records_queries
from connector.errors import InvalidRequest, Unavailable

log = logging.getLogger("connector.adapters.salesforce")


class StreamReader:
    """Pages of `HostRecord`s of the configured streams."""

    def __init__(self, client: SalesforceClient, streams: Mapping[str, StreamMapping]) -> None:
        self._client = client
        self._streams = streams

    def read_changes(self, stream: str, since: datetime | None, until: datetime) -> Iterator[Page]:
        """Records of `stream` changed in (`since`, `until`], oldest change first."""
        mapping = self._mapping(stream)
        return self._pages(stream, mapping, changes_query(mapping, since, until))

    def read_records(self, stream: str, external_ids: Sequence[str]) -> Iterator[Page]:
        """The named records as they are now; a deleted one comes back `deleted`."""
        mapping = self._mapping(stream)
        queries = list(records_queries(mapping, external_ids))  # validates every id first
        for soql in queries:
            yield from self._pages(stream, mapping, soql)

    def _mapping(self, stream: str) -> StreamMapping:
        mapping = self._streams.get(stream)
        if mapping is None:
            raise InvalidRequest(f"stream {stream!r} is not configured for salesforce")
        return mapping

    def _pages(self, stream: str, mapping: StreamMapping, soql: str) -> Iterator[Page]:
        pager = Pager(f"salesforce {stream}")
        before = self._client.requests
        batch = self._client.call(
            f"query {mapping.object}", lambda sf: sf.query(soql, include_deleted=True)
        )
        while True:
            records = _records(batch, mapping.object)
            page = [to_record(stream, mapping, raw) for raw in records]
            cost, before = self._client.requests - before, self._client.requests
            yield Page(page, requests=max(cost, 1))
            next_url = batch.get("nextRecordsUrl")
            if batch.get("done", True) or not next_url:
                return
            batch = self._client.call(
                f"query more {mapping.object}",
                partial(_query_more, url=pager.advance(str(next_url))),
            )


def to_record(stream: str, mapping: StreamMapping, raw: Mapping[str, Any]) -> HostRecord:
    """One queried row as a `HostRecord`; unreadable values are logged by field, not value."""
    record_id = str(raw.get("Id") or "")
    if not record_id:
        raise Unavailable(f"salesforce {stream}: a record without an Id")
    try:
        modified_at = parse_datetime(raw.get(modified_field(mapping)))
    except MappingProblem as exc:
        raise Unavailable(f"salesforce {stream} {record_id}: {exc}") from exc
    if raw.get("IsDeleted") is True:
        merged_into = raw.get("MasterRecordId")
        return HostRecord(
            stream,
            record_id,
            modified_at,
            deleted=True,
            merged_into=str(merged_into) if merged_into else None,
        )
    record, problems = to_domain(
        stream, mapping, raw, external_id=record_id, modified_at=modified_at
    )
    for problem in problems:
        log.warning("salesforce record not fully read id=%s problem=%s", record_id, problem)
    return record


def _query_more(sf: Salesforce, url: str) -> Any:
    return sf.query_more(url, identifier_is_url=True)


def _records(batch: Any, sobject: str) -> list[Mapping[str, Any]]:
    if not isinstance(batch, Mapping) or not isinstance(batch.get("records"), list):
        raise Unavailable(f"query {sobject}: the answer has no records list")
    return [r for r in batch["records"] if isinstance(r, Mapping)]
