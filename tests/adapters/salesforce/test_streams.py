"""Reading streams out of Salesforce: SOQL on SystemModstamp, pages, deletions and merges.

The exact SOQL is part of the specification: every query below is matched character for
character, so a changed window, order or field list fails here first.
"""

# ruff: noqa: S608 - the expected SOQL texts are written out, nothing here runs a query

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from adapters.base import HostRecord
from adapters.paging import PagingLoop
from adapters.salesforce.mapping import DEFAULT_MAPPING, IDS_PER_QUERY, select_list
from connector.errors import InvalidRequest
from tests.adapters.salesforce.sf_helpers import (
    API,
    INSTANCE,
    bearer,
    fixture,
    make_host,
    query,
    strict_mock,
    token,
)

UNTIL = datetime(2026, 11, 21, 12, 0, 0, 750_000, tzinfo=UTC)
PEOPLE = select_list(DEFAULT_MAPPING["people"])
PAIRINGS = select_list(DEFAULT_MAPPING["pairings"])
NEXT = "/services/data/v62.0/query/01gRO0000016PIAYA2-2000"


def test_the_people_query_names_identity_watermark_merge_and_every_mapped_field() -> None:
    assert PEOPLE == (
        "Id, IsDeleted, SystemModstamp, MasterRecordId, Background_Check_Date__c,"
        " Background_Check_Expires__c, Background_Check_Status__c, Email,"
        " Interview_Status__c, Mentoring_Role__c, Mentoring_Status__c, Name, Phone,"
        " Professional_Verification_Status__c, References_Status__c"
    )
    assert "MasterRecordId" not in PAIRINGS  # only Contacts, Leads and Accounts merge


def test_a_full_sync_reads_every_page_up_to_until_with_deletions_and_merges() -> None:
    host = make_host()
    soql = (
        f"SELECT {PEOPLE} FROM Contact WHERE SystemModstamp <= 2026-11-21T12:00:00Z"
        " ORDER BY SystemModstamp, Id"
    )
    with strict_mock() as mock:
        token(mock)
        query(mock, soql, fixture("query__people_page_1"))
        mock.get(
            f"{INSTANCE}{NEXT}",
            json=fixture("query__people_page_2"),
            match=[bearer("00D5g000000ABCD!AQ4AQFirstTokenForTests")],
        )
        pages = list(host.read_changes("people", None, UNTIL))
    assert [p.requests for p in pages] == [2, 1]  # the token request is part of the cost
    maya, eli, rosa, dupe = [r for p in pages for r in p.records]
    assert maya == HostRecord(
        "people",
        "0035g00000MayaAAAB",
        datetime(2026, 11, 20, 9, 15, 2, tzinfo=UTC),
        {
            "role": "mentor",
            "name": "Maya Patel",
            "status": "active",
            "email": "maya@example.org",
            "phone": None,
            "vetting.professional_verification.status": "passed",
            "vetting.personal_references.status": "pending",
            "vetting.interview.status": "passed",
            "vetting.criminal_background_check.status": None,
            "vetting.criminal_background_check.completed_on": None,
            "vetting.criminal_background_check.expires_on": None,
        },
    )
    assert (eli.values["role"], eli.values["phone"]) == ("mentee", "+1 555 0100")
    assert rosa.values["status"] == "suspended"
    assert rosa.values["vetting.criminal_background_check.expires_on"] == date(2029, 3, 1)
    assert dupe == HostRecord(
        "people",
        "0035g00000DupeAAAB",
        datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
        deleted=True,
        merged_into="0035g00000MayaAAAB",
    )


def test_an_incremental_sync_passes_the_engines_since_through_as_the_lower_bound() -> None:
    # The engine has already subtracted its lookback: the adapter moves nothing.
    since = datetime(2026, 11, 21, 10, 50, 0, 400_000, tzinfo=UTC)
    soql = (
        f"SELECT {PAIRINGS} FROM Mentoring_Pair__c WHERE SystemModstamp > 2026-11-21T10:50:00Z"
        " AND SystemModstamp <= 2026-11-21T12:00:00Z ORDER BY SystemModstamp, Id"
    )
    with strict_mock() as mock:
        token(mock)
        query(mock, soql, fixture("query__pairings_one"))
        (page,) = list(make_host().read_changes("pairings", since, UNTIL))
    active, gone = page.records
    assert active.values == {
        "mentor": "0035g00000MayaAAAB",
        "mentee": "0035g00000EliAAAAB",
        "status": "active",
        "started_on": date(2026, 11, 21),
        "ended_on": None,
        "mentor_consent": True,
        "mentee_consent": False,
        "mentor_consent_at": datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
        "mentee_consent_at": None,
        "meeting.zoom": "81234567890",
    }
    assert (gone.deleted, gone.merged_into, dict(gone.values)) == (True, None, {})


def test_pages_are_fetched_lazily_so_a_budget_can_stop_after_any_page() -> None:
    soql = (
        f"SELECT {PEOPLE} FROM Contact WHERE SystemModstamp <= 2026-11-21T12:00:00Z"
        " ORDER BY SystemModstamp, Id"
    )
    with strict_mock() as mock:
        token(mock)
        query(mock, soql, fixture("query__people_page_1"))
        pages = make_host().read_changes("people", None, UNTIL)
        first = next(pages)
    assert len(first.records) == 2  # and no request for page 2 was made


def test_a_repeated_next_records_url_stops_the_read() -> None:
    looping = fixture("query__people_page_1")
    with strict_mock() as mock:
        token(mock)
        mock.get(f"{API}/queryAll/", json=looping)
        mock.get(f"{INSTANCE}{NEXT}", json=looping)
        with pytest.raises(PagingLoop):
            list(make_host().read_changes("people", None, UNTIL))


def test_read_records_asks_for_validated_ids_in_chunks() -> None:
    ids = [f"0035g00000X{i:04d}AAB" for i in range(IDS_PER_QUERY + 1)]
    first = ", ".join(f"'{i}'" for i in ids[:IDS_PER_QUERY])
    with strict_mock() as mock:
        token(mock)
        query(
            mock,
            f"SELECT {PEOPLE} FROM Contact WHERE Id IN ({first}) ORDER BY Id",
            fixture("query__empty"),
        )
        query(
            mock,
            f"SELECT {PEOPLE} FROM Contact WHERE Id IN ('{ids[-1]}') ORDER BY Id",
            fixture("query__empty"),
        )
        pages = list(make_host().read_records("people", ids))
    assert [len(p.records) for p in pages] == [0, 0]


@pytest.mark.parametrize(
    "bad",
    ["0035g00000MayaAAAB') OR Name != ('", "003", "0035g00000Maya AAB", "0035g00000MayaAAAB1"],
)
def test_read_records_refuses_anything_but_a_record_id_before_any_request(bad: str) -> None:
    with strict_mock(), pytest.raises(InvalidRequest, match="not a Salesforce record id"):
        list(make_host().read_records("people", ["0035g00000MayaAAAB", bad]))


def test_an_unconfigured_stream_is_an_invalid_request() -> None:
    with strict_mock(), pytest.raises(InvalidRequest, match="not configured"):
        list(make_host().read_changes("meetings", None, UNTIL))
