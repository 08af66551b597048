"""Reading EspoCRM streams: change windows, paging, targeted reads and deletions.

| situation                                         | what the adapter does                       |
|---------------------------------------------------|---------------------------------------------|
| full read (`since=None`), 450 records             | 3 pages of maxSize=200, each record once    |
| incremental read                                  | `modifiedAt >= since's second`, `<= until`  |
| the engine's lookback (since moved back)          | passed through as the lower bound           |
| a record read on page 1 changes before page 2     | no later record is skipped                  |
| many records in one second across a page boundary | each read once (offset within the second)   |
| a page size over 200 asked for                    | refused before any request                  |
| EspoCRM answers 403 "Max size should not exceed"  | InvalidRequest                              |
| the host repeats a page                           | PagingLoop, not an endless read             |
| read_records: a record answering 404              | HostRecord(deleted=True)                    |
| read_records: 403 on a record                     | Unauthorized (the role lacks read access)   |
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import responses
from responses import matchers

from adapters.base import HostRecord
from adapters.espocrm import DEFAULT_STREAMS, EspoClient
from adapters.espocrm.streams import read_changes
from adapters.paging import PagingLoop
from connector.clock import FrozenClock
from connector.errors import InvalidRequest, Unauthorized
from tests.adapters.espocrm.helpers import (
    API,
    API_KEY,
    BASE,
    NOW,
    contact,
    fixture,
    make_host,
    serve_list,
    stamp,
    where_items,
)

UNTIL = NOW


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def read_all(since: datetime | None, until: datetime = NOW) -> list[HostRecord]:
    return [r for page in make_host().read_changes("people", since, until) for r in page.records]


def test_a_full_read_pages_200_at_a_time_and_reads_every_record_once(
    api: responses.RequestsMock,
) -> None:
    served = serve_list(api, "Contact", [contact(i, stamp(i)) for i in range(450)])
    pages = list(make_host().read_changes("people", None, UNTIL))
    ids = [r.external_id for page in pages for r in page.records]
    assert ids == [f"c{i:05d}" for i in range(450)]
    assert [page.requests for page in pages] == [1, 1, 1]
    first = dict(served.calls[0])
    assert first["maxSize"] == "200" and first["offset"] == "0"
    assert first["orderBy"] == "modifiedAt" and first["order"] == "asc"
    assert where_items(served.calls[0]) == [
        {"type": "lessThanOrEquals", "attribute": "modifiedAt", "value": "2026-11-21 17:00:00"}
    ]
    # Page 2 is keyed on the time of page 1's last record, not on a growing offset.
    assert where_items(served.calls[1])[0] == {
        "type": "greaterThanOrEquals",
        "attribute": "modifiedAt",
        "value": stamp(199),
    }
    assert all(int(dict(call)["maxSize"]) <= 200 for call in served.calls)


def test_records_come_in_domain_terms(api: responses.RequestsMock) -> None:
    serve_list(api, "Contact", [fixture("api.Contact__mentor")])
    (record,) = read_all(None)
    assert record.external_id == "6741f3a9c2b1e0d47"
    assert record.modified_at == datetime(2026, 11, 21, 16, 39, 30, tzinfo=UTC)
    assert record.values["role"] == "mentor"
    assert record.values["status"] == "active"
    assert record.values["email"] == "maya@example.org"
    assert record.values["vetting.professional_verification.status"] == "passed"
    assert record.values["vetting.interview.status"] == "pending"
    assert not record.deleted


def test_an_incremental_read_asks_for_the_window_rounded_outwards(
    api: responses.RequestsMock,
) -> None:
    served = serve_list(
        api, "Contact", [contact(1, "2026-11-21 16:00:00"), contact(2, "2026-11-21 16:30:00")]
    )
    since = datetime(2026, 11, 21, 16, 29, 59, 700_000, tzinfo=UTC)
    until = datetime(2026, 11, 21, 16, 59, 0, 400_000, tzinfo=UTC)
    records = read_all(since, until)
    assert [r.external_id for r in records] == ["c00002"]
    assert where_items(served.calls[0]) == [
        {"type": "greaterThanOrEquals", "attribute": "modifiedAt", "value": "2026-11-21 16:29:59"},
        {"type": "lessThanOrEquals", "attribute": "modifiedAt", "value": "2026-11-21 16:59:00"},
    ]


def test_the_engines_lookback_is_the_lower_bound_asked_for(api: responses.RequestsMock) -> None:
    served = serve_list(api, "Contact", [contact(1, "2026-11-21 16:45:00")])
    cursor = datetime(2026, 11, 21, 16, 50, tzinfo=UTC)
    records = read_all(cursor - timedelta(minutes=10))  # the engine's lookback of 10 minutes
    assert [r.external_id for r in records] == ["c00001"]
    assert where_items(served.calls[0])[0]["value"] == "2026-11-21 16:40:00"


def test_a_record_changed_between_pages_makes_no_later_record_skipped(
    api: responses.RequestsMock,
) -> None:
    rows = [contact(i, stamp(i)) for i in range(300)]
    served = serve_list(api, "Contact", rows)

    def edit_between_pages(call: int) -> None:
        if call == 2:  # c00003, read on page 1, is edited now: it leaves the window
            rows[3]["modifiedAt"] = "2026-11-21 17:00:05"

    served.before_page = edit_between_pages
    ids = [r.external_id for r in read_all(None)]
    assert ids == [f"c{i:05d}" for i in range(300)]  # plain offset paging would lose c00200


def test_many_records_in_one_second_across_page_boundaries_are_each_read_once(
    api: responses.RequestsMock,
) -> None:
    rows = [contact(i, stamp(0)) for i in range(450)] + [contact(450, stamp(1))]
    served = serve_list(api, "Contact", rows)
    ids = [r.external_id for r in read_all(None)]
    assert ids == [f"c{i:05d}" for i in range(451)]
    # Within the second, the offset skips what was read, less an overlap of 20.
    assert [dict(c)["offset"] for c in served.calls] == ["0", "180", "360"]


def test_a_page_size_over_200_is_refused_before_any_request() -> None:
    client = EspoClient(BASE, API_KEY, clock=FrozenClock(NOW))
    pages = read_changes(client, "people", DEFAULT_STREAMS["people"], None, NOW, page_size=201)
    with pytest.raises(InvalidRequest, match="1-200"):
        next(pages)


def test_espocrms_403_for_a_max_size_over_200_is_an_invalid_request(
    api: responses.RequestsMock,
) -> None:
    serve_list(api, "Contact", [])
    client = EspoClient(BASE, API_KEY, clock=FrozenClock(NOW))
    # The guard above is the adapter's; this is what EspoCRM itself answers (reference §3).
    with pytest.raises(InvalidRequest, match="Max size should not exceed 200"):
        client.get_json("/Contact", params={"maxSize": "201"})


def test_a_page_repeated_by_the_host_stops_the_read(api: responses.RequestsMock) -> None:
    full_page = {"total": 400, "list": [contact(i, stamp(0)) for i in range(200)]}
    api.get(f"{API}/Contact", json=full_page)  # answered every time: the offset cannot move
    pages = make_host().read_changes("people", None, NOW)
    with pytest.raises(PagingLoop):
        for _ in range(10):
            next(pages)


# --------------------------------------------------------------------------- targeted reads


def test_read_records_gets_each_record_and_reports_a_404_as_deleted(
    api: responses.RequestsMock,
) -> None:
    pairing = fixture("api.CPairing__active")
    api.get(f"{API}/CPairing/{pairing['id']}", json=pairing)
    api.get(f"{API}/CPairing/gone00000000000001", status=404, body="")
    pages = list(
        make_host().read_records("pairings", [pairing["id"], "gone00000000000001", pairing["id"]])
    )
    (page,) = pages
    assert page.requests == 2  # the id named twice is read once
    alive, gone = page.records
    assert alive.values["status"] == "active"
    assert alive.values["mentor"] == "6741f3a9c2b1e0d47"
    assert alive.values["meeting.zoom"] == "81234567890"
    assert alive.values["mentor_consent"] is False
    assert gone == HostRecord("pairings", "gone00000000000001", NOW, deleted=True)


def test_read_records_sends_the_api_key(api: responses.RequestsMock) -> None:
    pairing = fixture("api.CPairing__active")
    api.get(
        f"{API}/CPairing/{pairing['id']}",
        json=pairing,
        match=[matchers.header_matcher({"X-Api-Key": API_KEY})],
    )
    assert len(list(make_host().read_records("pairings", [pairing["id"]]))) == 1


def test_read_records_raises_unauthorized_when_the_role_cannot_read(
    api: responses.RequestsMock,
) -> None:
    api.get(f"{API}/CPairing/6741f4b0a9e3c2f18", status=403, body="")
    with pytest.raises(Unauthorized, match="role"):
        list(make_host().read_records("pairings", ["6741f4b0a9e3c2f18"]))


def test_a_stream_that_is_not_configured_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest, match="not configured"):
        list(make_host().read_records("meetings", ["x"]))
