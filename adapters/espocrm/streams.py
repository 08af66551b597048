"""Reading a stream's changes and named records from EspoCRM, page by page.

A change read is `GET /api/v1/<Entity>` filtered on `modifiedAt` (UTC, whole seconds),
`orderBy=modifiedAt&order=asc` and `maxSize=200` (the most EspoCRM allows). EspoCRM appends
`id` to a non-unique sort (`Select/Order/Applier.php`), so the order is (modifiedAt, id).

Offset paging over a set that changes while it is read can skip records: a record read on
page 1 and modified before page 2 moves out of the window and every later one shifts down by
one. So the read is keyed on the time instead: each page asks for `modifiedAt >= mark`, where
`mark` is the newest time read so far, and skips only the records already read at exactly
`mark` (`offset`), less an overlap of `OVERLAP` rows that are read again and dropped by id.
A record that leaves the window during the read then shifts nothing that was not yet read;
up to `OVERLAP` records leaving the boundary second between two pages are tolerated, and
what is changed during the read is read by the next run (it is newer than `until`).

Bounds: `since` is rounded down to its second and compared with `>=` (a record stamped in
that second may have changed after `since`), `until` with `<=` on its second. Records at the
edges can be read twice, never missed; the engine's upsert and lookback make that harmless.

Deletions: EspoCRM deletes softly and a list never shows deleted records, so a change read
cannot report them. They arrive by the `<Entity>.delete` webhook (`webhooks.espocrm`), whose
targeted read (`read_records`) gets 404 for the record and reports it deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from adapters.base import HostRecord, Page, StreamMapping
from adapters.espocrm.client import (
    MAX_PAGE_SIZE,
    EspoClient,
    espo_time,
    record_path,
    where,
)
from adapters.espocrm.mapping import MODIFIED_FIELD
from adapters.mapping import MappingProblem, parse_datetime, to_domain
from adapters.paging import Pager
from connector.clock import Clock
from connector.errors import InvalidRequest, Unavailable

log = logging.getLogger("connector.adapters.espocrm")

OVERLAP = 20  # rows of the boundary second read again on each page (see the module docstring)
RECORDS_PER_PAGE = 20  # targeted reads: one GET per record, this many per Page


def read_changes(
    client: EspoClient,
    stream: str,
    mapping: StreamMapping,
    since: datetime | None,
    until: datetime,
    *,
    page_size: int = MAX_PAGE_SIZE,
) -> Iterator[Page]:
    """Records of `stream` modified in [since's second, until's second], oldest first."""
    if not 0 < page_size <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"EspoCRM pages hold 1-{MAX_PAGE_SIZE} records, not {page_size}")
    modified = mapping.modified_field or MODIFIED_FIELD
    select = ",".join(sorted({"id", modified, *mapping.fields.values()}))
    pager = Pager(f"EspoCRM {mapping.object} changes of {stream}")
    mark = espo_time(since) if since is not None else None
    at_mark: set[str] = set()  # ids already read whose time is exactly `mark`
    while True:
        offset = max(0, len(at_mark) - OVERLAP)
        pager.advance(f"{mark}|{offset}")
        conditions = [("lessThanOrEquals", modified, espo_time(until))]
        if mark is not None:
            conditions.insert(0, ("greaterThanOrEquals", modified, mark))
        params = [
            *where(*conditions),
            ("orderBy", modified),
            ("order", "asc"),
            ("maxSize", str(page_size)),
            ("offset", str(offset)),
            ("select", select),
        ]
        rows = _rows(client.get_json(f"/{mapping.object}", params=params), mapping.object)
        records: list[HostRecord] = []
        for row in rows:
            stamp = str(row.get(modified) or "")
            if not stamp:
                log.warning("espocrm %s %s skipped: no %s", stream, row["id"], modified)
                continue
            if stamp == mark and row["id"] in at_mark:
                continue  # the overlap, or a record that moved within the boundary second
            if stamp != mark:
                mark, at_mark = stamp, set()
            at_mark.add(row["id"])
            record = _record(stream, mapping, row, modified)
            if record is not None:
                records.append(record)
        yield Page(records, requests=1)
        if len(rows) < page_size:
            return


def read_records(
    client: EspoClient,
    stream: str,
    mapping: StreamMapping,
    external_ids: Sequence[str],
    clock: Clock,
) -> Iterator[Page]:
    """The named records as they are now; one a 404 answers for is reported deleted."""
    modified = mapping.modified_field or MODIFIED_FIELD
    ids = list(dict.fromkeys(external_ids))  # a webhook batch can name a record twice
    for start in range(0, len(ids), RECORDS_PER_PAGE):
        chunk = ids[start : start + RECORDS_PER_PAGE]
        records = []
        for record_id in chunk:
            row = _get(client, mapping.object, record_id)
            if row is None:
                records.append(HostRecord(stream, record_id, clock.now(), deleted=True))
                continue
            record = _record(stream, mapping, row, modified)
            if record is not None:
                records.append(record)
        yield Page(records, requests=len(chunk))


def _get(client: EspoClient, entity: str, record_id: str) -> dict[str, Any] | None:
    """The record, or None when EspoCRM says it does not exist (deleted, or merged away)."""
    try:
        return client.get_json(record_path(entity, record_id))
    except InvalidRequest as exc:
        if exc.status == 404:
            return None
        raise


def _rows(body: dict[str, Any], entity: str) -> list[dict[str, Any]]:
    """The `list` of `{"total": n, "list": [...]}`, each row a record with a string id."""
    rows = body.get("list")
    if not isinstance(rows, list):
        raise Unavailable(f"EspoCRM's {entity} list answered without a list")
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("id"), str) or not row["id"]:
            raise Unavailable(f"EspoCRM's {entity} list holds a row without an id")
    return rows


def _record(
    stream: str, mapping: StreamMapping, row: dict[str, Any], modified: str
) -> HostRecord | None:
    """The row in domain terms; None (and a log line) when its change time is unreadable."""
    record_id = str(row.get("id"))
    try:
        modified_at = parse_datetime(row.get(modified))
    except MappingProblem:
        log.warning("espocrm %s %s skipped: no readable %s", stream, record_id, modified)
        return None
    record, problems = to_domain(
        stream, mapping, row, external_id=record_id, modified_at=modified_at
    )
    if problems:
        # Field names only: the problem texts quote values, which may be personal data.
        names = ", ".join(p.split(":", 1)[0] for p in problems)
        log.warning("espocrm %s %s has unreadable fields: %s", stream, record_id, names)
    return record
