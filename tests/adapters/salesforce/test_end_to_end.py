"""Salesforce end to end: a change in the org -> sync -> rule -> outbox -> a Task in the org.

Every call to Salesforce is a strict mock built from the documented shapes (crm-hosts §1):
the SOQL of each read is matched exactly, and the only write expected is the rule's alert,
upserted on its hashed key. Runs on SQLite and PostgreSQL.

1. The program is in Salesforce: Maya (a vetted mentor), Eli (a mentee), their active pairing.
   A full sync reads it; nothing needs doing.
2. An hour later a coordinator suspends Maya. The next (incremental) sync reads her back from
   the cursor minus the lookback; the suspension rule asks for an alert, and the outbox writes
   it as a high-priority Task — once, however often the outbox runs.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import responses
from responses import matchers
from sqlalchemy import select

from adapters.salesforce import external_key
from adapters.salesforce.mapping import DEFAULT_MAPPING, changes_query
from connector.clock import FrozenClock
from connector.outbox import Outbox
from connector.runner import Runner
from connector.settings import Settings
from connector.store.db import Store
from connector.store.models import OutboxItem, Pairing, Person
from connector.sync import Syncer
from tests.adapters.salesforce.sf_helpers import API, make_host, token

MAYA, ELI, PAIR = "0035g00000MayaAAAB", "0035g00000EliAAAAB", "a015g00000PairAAAB"
EMPTY = {"totalSize": 0, "done": True, "records": []}


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")  # Salesforce's own format


def contact(record_id: str, at: datetime, **fields: Any) -> dict[str, Any]:
    row = {f: None for f in DEFAULT_MAPPING["people"].fields.values()}
    return (
        row
        | fields
        | {
            "attributes": {"type": "Contact"},
            "Id": record_id,
            "IsDeleted": False,
            "SystemModstamp": stamp(at),
            "MasterRecordId": None,
        }
    )


def maya(at: datetime, status: str) -> dict[str, Any]:
    vetted = {
        "Professional_Verification_Status__c": "Passed",
        "References_Status__c": "Passed",
        "Interview_Status__c": "Passed",
    }
    return contact(
        MAYA, at, Name="Maya Patel", Email="maya@example.org", Mentoring_Role__c="Mentor",
        Mentoring_Status__c=status, **vetted,
    )  # fmt: skip


def pairing(at: datetime) -> dict[str, Any]:
    row = {f: None for f in DEFAULT_MAPPING["pairings"].fields.values()}
    return row | {
        "attributes": {"type": "Mentoring_Pair__c"},
        "Id": PAIR,
        "IsDeleted": False,
        "SystemModstamp": stamp(at),
        "Mentor__c": MAYA,
        "Mentee__c": ELI,
        "Status__c": "Active",
        "Start_Date__c": at.date().isoformat(),
    }


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    return {"totalSize": len(records), "done": True, "records": list(records)}


def expect_reads(
    mock: responses.RequestsMock,
    since: datetime | None,
    until: datetime,
    answers: dict[str, dict[str, Any]],
) -> None:
    for stream in ("people", "pairings", "sessions"):
        soql = changes_query(DEFAULT_MAPPING[stream], since, until)
        mock.get(
            f"{API}/queryAll/",
            json=answers.get(stream, EMPTY),
            match=[matchers.query_param_matcher({"q": soql})],
        )


def drain(store: Store, settings: Settings, host: Any, clock: FrozenClock) -> None:
    runner = Runner(store, settings, clock)
    outbox = Outbox(store, settings, host, clock)
    for _ in range(20):
        if not runner.run_once() + outbox.run_once():
            return
    raise AssertionError("the pipeline did not settle in 20 rounds")


def test_a_mentor_suspended_in_salesforce_gets_an_alert_task_written_back(
    store: Store, settings: Settings, clock: FrozenClock
) -> None:
    host = make_host()
    syncer = Syncer(store, settings, host, clock)
    t0 = clock.now()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        token(mock)
        expect_reads(
            mock,
            None,
            t0,
            {
                "people": batch(
                    maya(t0 - timedelta(minutes=3), "Active"),
                    contact(
                        ELI,
                        t0 - timedelta(minutes=2),
                        Name="Eli Moreau",
                        Mentoring_Role__c="Mentee",
                        Mentoring_Status__c="Active",
                    ),
                ),
                "pairings": batch(pairing(t0 - timedelta(minutes=1))),
            },
        )
        reports = syncer.run()
        drain(store, settings, host, clock)
    assert outbox(store) == []
    assert [(r.stream, r.mode, r.records, r.error) for r in reports] == [
        ("people", "full", 2, None),
        ("pairings", "full", 1, None),
        ("sessions", "full", 0, None),
    ]

    clock.advance(hours=1)
    t1 = clock.now()
    since = {  # each stream's cursor (its newest change) minus the 10-minute lookback
        "people": t0 - timedelta(minutes=2 + 10),
        "pairings": t0 - timedelta(minutes=1 + 10),
        "sessions": None,
    }
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        for stream, answer in (
            ("people", batch(maya(t1 - timedelta(minutes=5), "Suspended"))),
            ("pairings", EMPTY),
            ("sessions", EMPTY),
        ):
            soql = changes_query(DEFAULT_MAPPING[stream], since[stream], t1)
            mock.get(
                f"{API}/queryAll/",
                json=answer,
                match=[matchers.query_param_matcher({"q": soql})],
            )
        syncer.run()
        with store.session() as session:
            mentor = session.scalars(select(Person).where(Person.external_ref == MAYA)).one()
            pair = session.scalars(select(Pairing).where(Pairing.external_ref == PAIR)).one()
        key = f"suspension:pairing:{pair.id}:person:{mentor.id}"
        # The outbox writes what it leased in one sObject Collections upsert (a BatchWriter).
        write = mock.patch(
            f"{API}/composite/sobjects/Task/Connector_Key__c",
            json=[{"id": "00T5g00000Aa01AAAA", "success": True, "errors": [], "created": True}],
        )
        drain(store, settings, host, clock)
        drain(store, settings, host, clock)  # nothing left: no second write
        assert write.call_count == 1
        [body] = json.loads(mock.calls[-1].request.body)["records"]
    assert body["Connector_Key__c"] == external_key(key)
    assert body["Subject"].startswith("Alert: ") and "suspended" in body["Subject"]
    assert body["Priority"] == "High"
    assert f"Connector key: {key}" in body["Description"]
    # Filed under the synced pairing (WhatId) and its mentor's Contact (WhoId).
    assert (body["WhatId"], body["WhoId"]) == (PAIR, MAYA)
    # An unexpected request would fail in the outbox, not here: so nothing else is pending.
    assert outbox(store) == [(key, "done")]


def outbox(store: Store) -> list[tuple[str, str]]:
    with store.session() as session:
        rows = session.execute(select(OutboxItem.key, OutboxItem.status).order_by(OutboxItem.id))
        return [(r.key, r.status) for r in rows]
