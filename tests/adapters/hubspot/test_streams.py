"""Reading HubSpot: search paging, the 10,000-result restart, deletions, merges, batch reads.

| read                                   | HubSpot calls                                         |
|----------------------------------------|-------------------------------------------------------|
| full (since=None)                      | search LTE until, ascending; then archived=true list  |
| incremental (since)                    | search GT since AND LTE until; archived kept in window |
| a query nearing the result cap         | restarted with GTE <last modified seen>, ids deduped  |
| targeted (ids)                         | batch/read by 100; an id not returned is deleted      |

Shapes from shared/reference/crm-hosts.md §2.3; strict `responses` (an unexpected or unused
call fails the test).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from responses import matchers

from adapters.base import HostRecord
from adapters.hubspot import HubSpotClient, SearchThrottle
from adapters.hubspot.mapping import properties_of
from adapters.hubspot.streams import StreamReader
from adapters.paging import PagingLoop
from connector.clock import FrozenClock
from tests.adapters.hubspot.support import (
    BASE,
    NOW,
    PAIRS,
    TOKEN,
    FakeTimer,
    fixture,
    make_host,
    ms,
    streams,
)

UNTIL = NOW
CONTACT_PROPS = properties_of(streams()["people"])
SEARCH = f"{BASE}/crm/v3/objects/contacts/search"
ARCHIVED = f"{BASE}/crm/v3/objects/contacts"


def search_body(*filters: dict[str, str], after: str | None = None, **extra: Any) -> Any:
    body: dict[str, Any] = {
        "filterGroups": [{"filters": list(filters)}],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        "properties": CONTACT_PROPS,
        "limit": 200,
        **extra,
    }
    if after is not None:
        body["after"] = after
    return body


def f(operator: str, value: str, prop: str = "lastmodifieddate") -> dict[str, str]:
    return {"propertyName": prop, "operator": operator, "value": value}


def mock_contact_pages(rsps: responses.RequestsMock, *lower: dict[str, str]) -> None:
    until = f("LTE", ms(UNTIL))
    rsps.post(
        SEARCH,
        json=fixture("search_contacts__page_1"),
        match=[matchers.json_params_matcher(search_body(*lower, until))],
    )
    rsps.post(
        SEARCH,
        json=fixture("search_contacts__page_2_merged"),
        match=[matchers.json_params_matcher(search_body(*lower, until, after="2"))],
    )
    rsps.get(
        ARCHIVED,
        json=fixture("archived_contacts__one_deleted"),
        match=[matchers.query_param_matcher({"archived": "true", "limit": "100"})],
    )


def records(pages: Any) -> list[HostRecord]:
    return [r for page in pages for r in page.records]


def at(hour: int, minute: int = 0, day: int = 20, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def test_a_full_read_pages_the_search_then_lists_every_deletion() -> None:
    timer = FakeTimer()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        mock_contact_pages(rsps)
        pages = list(make_host(timer).read_changes("people", None, UNTIL))
    got = records(pages)
    assert [(r.external_id, r.deleted, r.merged_into) for r in got] == [
        ("101", False, None),
        ("102", False, None),
        ("103", False, None),
        ("150", True, "103"),  # merged into 103: its hs_merged_object_ids
        ("151", True, "103"),
        ("90", True, None),  # archived: deleted, oldest first within the deletions
        ("104", True, None),
    ]
    assert got[0].values == {
        "role": "mentor",
        "name": "Ada Mentor",
        "status": "active",
        "email": "mentor.one@example.org",
        "phone": None,
        "vetting.professional_verification.status": "passed",
        "vetting.personal_references.status": "passed",
        "vetting.interview.status": "passed",
        "vetting.interview.completed_on": datetime(2026, 10, 15).date(),
    }
    assert got[1].values["name"] == "Ben"  # no last name
    assert got[2].values["status"] == "suspended"
    assert got[0].modified_at == at(10)
    assert [p.requests for p in pages] == [1, 1, 1]
    assert timer.sleeps == [0.25]  # two searches at once: the second waits for the rate limit


def test_an_incremental_read_filters_on_since_and_keeps_deletions_of_the_window() -> None:
    since = at(9, day=20)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        mock_contact_pages(rsps, f("GT", ms(since)))
        got = records(make_host().read_changes("people", since, UNTIL))
    deleted = [r.external_id for r in got if r.deleted and r.merged_into is None]
    assert deleted == ["104"]  # 90 was archived in March, before the window


def test_the_engines_lookback_reaches_hubspot_unchanged() -> None:
    cursor = datetime(2026, 11, 21, 8, 0, 0, 123000, tzinfo=UTC)
    since = cursor - timedelta(minutes=10)  # what the engine passes: cursor minus lookback
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        mock_contact_pages(rsps, f("GT", "1795247400123"))
        list(make_host().read_changes("people", since, UNTIL))
    assert ms(since) == "1795247400123"


def test_custom_objects_use_hs_lastmodifieddate_and_their_type_id() -> None:
    mapping = streams()["pairings"]
    until = f("LTE", ms(UNTIL), "hs_lastmodifieddate")
    body = {
        "filterGroups": [{"filters": [until]}],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "properties": properties_of(mapping),
        "limit": 200,
    }
    page = fixture("batch_read_pairings__one_missing")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(
            f"{BASE}/crm/v3/objects/{PAIRS}/search",
            json={"total": 1, "results": page["results"]},
            match=[matchers.json_params_matcher(body)],
        )
        rsps.get(f"{BASE}/crm/v3/objects/{PAIRS}", json={"results": []})
        (pairing,) = records(make_host().read_changes("pairings", None, UNTIL))
    assert pairing.values == {
        "mentor": "101",
        "mentee": "102",
        "status": "active",
        "started_on": datetime(2026, 11, 1).date(),
        "ended_on": None,
        "mentor_consent": True,
        "mentee_consent": False,
        "extenuating_circumstances": None,
        "meeting.zoom": "86431910364",
    }
    assert "hs_merged_object_ids" not in properties_of(mapping)


# --------------------------------------------------------------------------- the 10,000 cap


def contact(record_id: str, modified: datetime) -> dict[str, Any]:
    return {
        "id": record_id,
        "properties": {"lastmodifieddate": modified.isoformat().replace("+00:00", "Z")},
    }


def page(results: list[dict[str, Any]], after: str | None) -> dict[str, Any]:
    answer: dict[str, Any] = {"total": 7, "results": results}
    if after:
        answer["paging"] = {"next": {"after": after}}
    return answer


def reader(cap: int, page_size: int = 2) -> StreamReader:
    timer = FakeTimer()
    client = HubSpotClient(
        TOKEN,
        clock=FrozenClock(NOW),
        base_url=BASE,
        throttle=SearchThrottle(monotonic=timer.monotonic, sleep=timer.sleep),
    )
    return StreamReader(client, streams(), FrozenClock(NOW), result_cap=cap, page_size=page_size)


def capped_body(lower: dict[str, str] | None, after: str | None = None) -> Any:
    filters = [lower] if lower else []
    return search_body(*filters, f("LTE", ms(UNTIL)), after=after, limit=2)


def test_a_query_nearing_the_cap_restarts_from_the_last_time_seen_without_repeats() -> None:
    t1, t2, t3, t4, t5 = (at(h) for h in (1, 2, 3, 4, 5))
    r = {n: contact(n, t) for n, t in zip("1234567", (t1, t2, t3, t3, t3, t4, t5), strict=True)}
    calls = [  # (lower filter, after) -> answer; a cap of 5 results per query, 2 a page
        ((None, None), page([r["1"], r["2"]], "2")),
        ((None, "2"), page([r["3"], r["4"]], "4")),  # 4 read: a next page would pass 5
        ((f("GTE", ms(t3)), None), page([r["3"], r["4"]], "2")),  # already read: skipped
        ((f("GTE", ms(t3)), "2"), page([r["5"], r["6"]], "4")),
        ((f("GTE", ms(t4)), None), page([r["6"], r["7"]], None)),
    ]
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        for (lower, after), answer in calls:
            rsps.post(
                SEARCH, json=answer, match=[matchers.json_params_matcher(capped_body(lower, after))]
            )
        rsps.get(ARCHIVED, json={"results": []})
        got = records(reader(cap=5).read_changes("people", None, UNTIL))
    assert [x.external_id for x in got] == list("1234567")


def test_more_records_at_one_time_than_the_cap_stop_the_read() -> None:
    t = at(3)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(SEARCH, json=page([contact("1", t), contact("2", t)], "2"))
        rsps.post(SEARCH, json=page([contact("3", t), contact("4", t)], "4"))
        rsps.post(SEARCH, json=page([contact("1", t), contact("2", t)], "2"))
        rsps.post(SEARCH, json=page([contact("3", t), contact("4", t)], "4"))
        with pytest.raises(PagingLoop, match="share one modified time"):
            list(reader(cap=5).read_changes("people", None, UNTIL))


def test_a_repeated_page_token_stops_the_read() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(SEARCH, json=page([contact("1", at(1))], "7"))
        rsps.post(SEARCH, json=page([contact("2", at(2))], "7"))
        with pytest.raises(PagingLoop, match="repeated page token"):
            list(reader(cap=10_000).read_changes("people", None, UNTIL))


# --------------------------------------------------------------------------- targeted reads


def test_a_batch_read_returns_the_records_and_marks_the_missing_ones_deleted() -> None:
    mapping = streams()["pairings"]
    wanted = {"properties": properties_of(mapping), "inputs": [{"id": "7001"}, {"id": "7002"}]}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(
            f"{BASE}/crm/v3/objects/{PAIRS}/batch/read",
            json=fixture("batch_read_pairings__one_missing"),
            match=[matchers.json_params_matcher(wanted)],
        )
        got = records(make_host().read_records("pairings", ["7001", "7002", "7001"]))
    assert [(r.external_id, r.deleted) for r in got] == [("7001", False), ("7002", True)]
    assert got[1].modified_at == NOW


def test_a_batch_read_of_a_merged_contact_names_the_survivor() -> None:
    survivor = fixture("search_contacts__page_2_merged")["results"]
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(f"{BASE}/crm/v3/objects/contacts/batch/read", json={"results": survivor})
        got = records(make_host().read_records("people", ["150"]))
    assert {(r.external_id, r.merged_into) for r in got} == {
        ("150", "103"),
        ("151", "103"),
        ("103", None),
    }


def test_batch_reads_take_100_ids_a_call() -> None:
    ids = [str(n) for n in range(1, 151)]
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        for chunk in (ids[:100], ids[100:]):
            body = {
                "properties": properties_of(streams()["people"]),
                "inputs": [{"id": i} for i in chunk],
            }
            rsps.post(
                f"{BASE}/crm/v3/objects/contacts/batch/read",
                json={"results": []},
                match=[matchers.json_params_matcher(body)],
            )
        pages = list(make_host().read_records("people", ids))
    assert [len(p.records) for p in pages] == [100, 50]
    assert all(r.deleted for p in pages for r in p.records)
