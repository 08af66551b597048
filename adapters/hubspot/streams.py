"""Reading HubSpot objects as pages of `HostRecord`s: changes, deletions, merges, targeted reads.

Facts (shared/reference/crm-hosts.md §2.3, and HubSpot's CRM API guides):
- changes come from `POST /crm/v3/objects/{type}/search`, sorted ascending on the modified
  property and filtered to (since, until], 200 a page, paged by `paging.next.after`;
- a search query pages at most 10,000 results and then fails
  (https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm). Before a
  query reaches that cap it is started again from the last modified time seen. The restart
  uses GTE, not GT, and skips the ids already read at that exact time: with GT, records that
  share the last timestamp but fell beyond the cap would never be read;
- deletions: an archived (deleted) object stays in the recycle bin for 90 days and is listed by
  `GET /crm/v3/objects/{type}?archived=true` with its `archivedAt`. That list cannot be
  filtered, so each run pages through it and keeps the ones archived in (since, until]. Chosen
  over deletion webhooks alone because a missed webhook would leave a deleted record forever;
- merges: the surviving contact's `hs_merged_object_ids` lists the ids merged into it
  (`;`-separated), and the merge updates its modified time, so it comes up in the next search.
  Each listed id becomes a deleted record with `merged_into` the survivor. (The merged-away id
  also redirects to the survivor on reads, which `read_records` uses the same way.)
- targeted reads use `POST /crm/v3/objects/{type}/batch/read`, 100 ids a call; an id HubSpot
  does not return is gone (deleted), or merged when a returned contact lists it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from adapters.base import HostRecord, Page, StreamMapping
from adapters.hubspot.client import HubSpotClient, segment
from adapters.hubspot.mapping import MERGED_IDS, flatten, modified_property, properties_of
from adapters.mapping import MappingProblem, parse_datetime, to_domain
from adapters.paging import Pager, PagingLoop
from connector.clock import Clock
from connector.errors import Unavailable

log = logging.getLogger("connector.adapters.hubspot")

PAGE_SIZE = 200  # the search API's maximum
BATCH_SIZE = 100  # batch endpoints take up to 100 inputs
ARCHIVED_PAGE_SIZE = 100  # the list endpoint's maximum
RESULT_CAP = 10_000


class StreamReader:
    """The reads of one portal's streams; `result_cap` is injectable so tests can reach it."""

    def __init__(
        self,
        client: HubSpotClient,
        streams: Mapping[str, StreamMapping],
        clock: Clock,
        *,
        result_cap: int = RESULT_CAP,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._client = client
        self._streams = streams
        self._clock = clock
        self._cap = result_cap
        self._page_size = page_size

    # ------------------------------------------------------------------ changes

    def read_changes(self, stream: str, since: datetime | None, until: datetime) -> Iterator[Page]:
        """Changed records in (since, until] oldest first, then the deletions in that window."""
        mapping = self._streams[stream]
        yield from self._search(stream, mapping, since, until)
        yield from self._archived(stream, mapping, since, until)

    def _search(
        self, stream: str, mapping: StreamMapping, since: datetime | None, until: datetime
    ) -> Iterator[Page]:
        """Every search page; a query nearing the cap restarts from the last time it read."""
        lower: tuple[str, int] | None = ("GT", _ms(since)) if since else None
        skip: frozenset[str] = frozenset()  # ids read at the restart's own timestamp
        while True:
            query = _Query()
            yield from self._query(stream, mapping, lower, _ms(until), skip, query)
            if query.complete:
                return
            if query.last_ms is None or (lower is not None and query.last_ms <= lower[1]):
                raise PagingLoop(
                    f"HubSpot search {mapping.object}: more than {self._cap} records share one "
                    "modified time, past the search API's result cap"
                )
            log.info("hubspot search restarted object=%s after=%s", mapping.object, query.read)
            lower, skip = ("GTE", query.last_ms), frozenset(query.at_last)

    def _query(
        self,
        stream: str,
        mapping: StreamMapping,
        lower: tuple[str, int] | None,
        until_ms: int,
        skip: frozenset[str],
        query: _Query,
    ) -> Iterator[Page]:
        """One search query's pages, stopping before the page that would pass the cap."""
        pager = Pager(f"HubSpot search {mapping.object}")
        after: str | None = None
        while True:
            body = self._search_body(mapping, lower, until_ms, after)
            answer = self._client.search(mapping.object, body)
            results, answer_after = _results(answer), _next_after(answer)
            query.read += len(results)
            records: list[HostRecord] = []
            for result in results:
                if str(result.get("id")) in skip:
                    continue  # read before the restart, at the restart's timestamp
                record = self._record(stream, mapping, result)
                query.saw(record)
                records.extend(self._with_merges(record, result))
            yield Page(records)
            if answer_after is None:
                query.complete = True
                return
            if query.read + self._page_size > self._cap:
                return  # the next page would pass the cap
            after = pager.advance(answer_after)

    def _search_body(
        self,
        mapping: StreamMapping,
        lower: tuple[str, int] | None,
        until_ms: int,
        after: str | None,
    ) -> dict[str, Any]:
        """(lower, until] on the modified property, ascending; `lower` is GT since or GTE a
        restart's timestamp, absent on a full read."""
        modified = modified_property(mapping)
        filters = [{"propertyName": modified, "operator": "LTE", "value": str(until_ms)}]
        if lower is not None:
            operator, value = lower
            filters.insert(0, {"propertyName": modified, "operator": operator, "value": str(value)})
        body: dict[str, Any] = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
            "properties": properties_of(mapping),
            "limit": self._page_size,
        }
        if after is not None:
            body["after"] = after
        return body

    def _archived(
        self, stream: str, mapping: StreamMapping, since: datetime | None, until: datetime
    ) -> Iterator[Page]:
        pager = Pager(f"HubSpot archived {mapping.object}")
        params: dict[str, Any] = {"archived": "true", "limit": ARCHIVED_PAGE_SIZE}
        while True:
            answer = self._client.call(
                "GET", f"/crm/v3/objects/{segment(mapping.object)}", params=params
            )
            records = []
            for result in _results(answer):
                when = result.get("archivedAt")
                if not when:
                    continue
                archived_at = parse_datetime(when)
                if (since is None or archived_at > since) and archived_at <= until:
                    records.append(HostRecord(stream, str(result["id"]), archived_at, deleted=True))
            yield Page(sorted(records, key=lambda r: r.modified_at))
            after = _next_after(answer)
            if after is None:
                return
            params["after"] = pager.advance(after)

    # ------------------------------------------------------------------ targeted reads

    def read_records(self, stream: str, external_ids: Sequence[str]) -> Iterator[Page]:
        """The named records as they are now; a missing one is deleted, or merged."""
        mapping = self._streams[stream]
        wanted = list(dict.fromkeys(str(i) for i in external_ids))
        for start in range(0, len(wanted), BATCH_SIZE):
            chunk = wanted[start : start + BATCH_SIZE]
            answer = self._client.call(
                "POST",
                f"/crm/v3/objects/{segment(mapping.object)}/batch/read",
                json={"properties": properties_of(mapping), "inputs": [{"id": i} for i in chunk]},
            )
            records: dict[str, HostRecord] = {}
            for result in _results(answer):
                record = self._record(stream, mapping, result)
                for one in self._with_merges(record, result):
                    records[one.external_id] = one
            now = self._clock.now()
            for missing in chunk:
                records.setdefault(missing, HostRecord(stream, missing, now, deleted=True))
            yield Page(sorted(records.values(), key=lambda r: r.modified_at))

    # ------------------------------------------------------------------ records

    def _record(self, stream: str, mapping: StreamMapping, result: Mapping[str, Any]) -> HostRecord:
        properties = result.get("properties")
        if not isinstance(properties, Mapping) or result.get("id") is None:
            raise Unavailable(f"HubSpot {mapping.object}: a result without id or properties")
        external_id = str(result["id"])
        stamp = properties.get(modified_property(mapping)) or result.get("updatedAt")
        try:
            modified_at = parse_datetime(stamp)
        except MappingProblem as exc:
            raise Unavailable(f"HubSpot {mapping.object} {external_id}: {exc}") from exc
        record, problems = to_domain(
            stream,
            mapping,
            flatten(mapping, properties),
            external_id=external_id,
            modified_at=modified_at,
        )
        for problem in problems:
            # Only the field, never the value: values can be personal data.
            log.warning("hubspot %s %s unreadable: %s", stream, external_id, problem.split(":")[0])
        return record

    @staticmethod
    def _with_merges(record: HostRecord, result: Mapping[str, Any]) -> list[HostRecord]:
        """The record, then one deleted record per id merged into it (the survivor first, so
        whoever applies the merge already knows it)."""
        merged = str(result["properties"].get(MERGED_IDS) or "")
        ids = [i.strip() for i in merged.split(";")]
        gone = [
            HostRecord(
                record.stream, i, record.modified_at, deleted=True, merged_into=record.external_id
            )
            for i in ids
            if i and i != record.external_id
        ]
        return [record, *gone]


class _Query:
    """What one search query read: how many results, and the ids at the last time seen."""

    def __init__(self) -> None:
        self.read = 0
        self.complete = False
        self.last_ms: int | None = None
        self.at_last: set[str] = set()

    def saw(self, record: HostRecord) -> None:
        stamp = _ms(record.modified_at)
        if stamp != self.last_ms:
            self.last_ms, self.at_last = stamp, set()
        self.at_last.add(record.external_id)


def _ms(when: datetime) -> int:
    """Epoch milliseconds, the form HubSpot compares datetime properties in."""
    return round(when.timestamp() * 1000)


def _results(answer: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    results = answer.get("results") or []
    if not isinstance(results, list) or not all(isinstance(r, Mapping) for r in results):
        raise Unavailable("HubSpot answered results that are not a list of objects")
    return results


def _next_after(answer: Mapping[str, Any]) -> str | None:
    paging = answer.get("paging")
    following = paging.get("next") if isinstance(paging, Mapping) else None
    after = following.get("after") if isinstance(following, Mapping) else None
    return str(after) if after not in (None, "") else None
