"""Bulk apply (`connector.sync_bulk`) writes exactly what applying one by one writes.

Specification: the same host history, synced once with the bulk path and once with every
record applied one by one (`connector.sync.BULK` emptied), leaves the same people, vetting
steps, pairings, meeting ids, audit entries, inbox events, outbox alerts, deferred records and
run reports — on a page that mixes new, unchanged, changed, deleted, merged, deferred and
e-mail-sharing records, on SQLite and PostgreSQL. And when a bulk write fails, the page is
applied one by one and nothing is lost.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import or_, select

from connector.clock import FrozenClock
from connector.store.db import Store
from connector.store.models import (
    AuditEntry,
    InboxEvent,
    MeetingLink,
    OutboxItem,
    Pairing,
    Person,
    SyncDeferred,
)
from connector.sync import Syncer
from tests.fakes.host import FakeHost
from tests.support import START, VETTING_STEPS, make_settings

VETTED = {f"vetting.{step}.status": "passed" for step in VETTING_STEPS}


def history(store: Store, host: FakeHost, clock: FrozenClock, syncer: Syncer, p: str) -> list[Any]:
    """Two runs over one host's history, refs and e-mails prefixed with `p`; their reports."""
    with store.session() as session:  # entered before the host was connected
        session.add(
            Person(role="mentee", status="active", name="Old", email=f"{p}old@example.org",
                   created_at=START, updated_at=START)
        )  # fmt: skip
    people = [
        ("C1", {"role": "mentor", "name": "Maya", "email": f"{p}maya@example.org", **VETTED}),
        ("C2", {"role": "mentee", "name": "Eli", "email": f"{p}eli@example.org"}),
        ("C3", {"role": "mentor", "name": "Ana", "email": f"{p}ana@example.org"}),
        ("C4", {"role": "mentee", "name": "Ben", "email": f"{p}BEN@example.org "}),
        ("C5", {"name": "No Role", "email": f"{p}norole@example.org"}),
        ("C6", {"role": "mentee", "name": "Twin A", "email": f"{p}twin@example.org"}),
        ("C7", {"role": "mentee", "name": "Twin B", "email": f"{p}twin@example.org"}),
        ("C8", {"role": "mentee", "name": "Old", "email": f"{p}old@example.org", "phone": "1"}),
    ]
    for ref, values in people:
        host.put("people", f"{p}{ref}", status="active", **values)
        clock.advance(seconds=1)
    pairings: list[tuple[str, dict[str, Any]]] = [
        ("P1", {"mentor": "C1", "mentee": "C2", "status": "active", "mentor_consent": True}),
        ("P2", {"mentor": "C3", "mentee": "C4", "status": "active", "mentee_consent": False}),
        ("P3", {"mentor": "C1", "mentee": "C99", "status": "active"}),
        ("P4", {"mentor": "C1", "mentee": "C4", "meeting.zoom": f"{p}123"}),
        ("P5", {"mentor": "C2", "mentee": "C4", "status": "active"}),
    ]
    for ref, fields in pairings:
        named = {k: f"{p}{v}" if k in ("mentor", "mentee") else v for k, v in fields.items()}
        host.put("pairings", f"{p}{ref}", **named)
        clock.advance(seconds=1)
    reports = syncer.run()
    clock.advance(minutes=30)
    host.put("people", f"{p}C2", status="suspended")
    host.put("people", f"{p}C3", **VETTED)
    host.put("people", f"{p}C1")  # read again, nothing changed
    host.delete("people", f"{p}C4")
    host.merge("people", f"{p}C6", f"{p}C7")
    host.put("pairings", f"{p}P1", status="closing")
    host.put("pairings", f"{p}P2")  # read again, nothing changed
    host.put("pairings", f"{p}P6", mentor=f"{p}C1", mentee=f"{p}C2", status="active")
    clock.advance(seconds=1)
    return reports + syncer.run()


def snapshot(store: Store, p: str, host: str) -> dict[str, Any]:
    """Every row the sync wrote, with ids, prefixes and the host's name taken out."""

    def norm(value: Any) -> Any:
        if isinstance(value, str):
            return re.sub(rf"\b{re.escape(p)}|{host}", "", value)
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items() if not k.endswith("id") and k != "into"}
        if isinstance(value, list | tuple):
            return [norm(v) for v in value]
        return value

    with store.session() as session:
        mine = or_(Person.external_ref.like(f"{p}%"), Person.email.like(f"{p}%"))
        people = session.scalars(select(Person).where(mine)).all()
        ref = {person.id: norm(person.external_ref) for person in people}
        pairings = session.scalars(select(Pairing).where(Pairing.external_ref.like(f"{p}%")))
        out: dict[str, Any] = {
            "people": sorted(norm(_person(x, ref)) for x in people),
            "pairings": sorted(norm(_pairing(x, ref)) for x in pairings),
        }
        actor = f"sync:{host}"
        audit = session.scalars(select(AuditEntry).where(AuditEntry.actor == actor))
        out["audit"] = sorted(
            (a.action, a.subject_type, str(sorted(norm(a.detail).items()))) for a in audit
        )
        inbox = session.scalars(select(InboxEvent).where(InboxEvent.source == host))
        out["inbox"] = sorted((norm(e.delivery_id), str(norm(e.events))) for e in inbox)
        outbox = session.scalars(select(OutboxItem).where(OutboxItem.key.contains(host)))
        out["outbox"] = sorted(
            (o.rule_id, re.sub(r"P\d+", "P…", norm(o.decision["title"]))) for o in outbox
        )
        deferred = session.scalars(select(SyncDeferred).where(SyncDeferred.host == host))
        out["deferred"] = sorted((d.stream, norm(d.external_id), norm(d.reason)) for d in deferred)
        links = session.scalars(
            select(MeetingLink).where(MeetingLink.external_meeting_id.like(f"{p}%"))
        )
        out["links"] = len(list(links))
    return out


def _person(x: Person, ref: dict[int, str]) -> list[Any]:
    vetting = [(v.step, v.status) for v in x.vetting_steps]
    return [ref[x.id], x.role, x.status, x.name, x.email, x.phone, _t(x.updated_at), vetting]


def _pairing(x: Pairing, ref: dict[int, str]) -> list[Any]:
    consent = [x.mentor_recording_consent, _t(x.mentor_consent_at), x.mentee_recording_consent]
    links = [link.external_meeting_id for link in x.meeting_links]
    return [x.external_ref, ref[x.mentor_id], ref[x.mentee_id], x.status, x.started_on,
            x.ended_on, *consent, _t(x.updated_at), links]  # fmt: skip


def _t(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def run_history(
    store: Store, database_url: str, name: str, p: str
) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    clock = FrozenClock(START)
    host = FakeHost(clock, name=name, page_size=50)
    settings = make_settings(database_url, host={"lookback_minutes": 10, "request_budget": 50})
    reports = history(store, host, clock, Syncer(store, settings, host, clock), p)
    summary = [(r.stream, r.mode, r.records, r.deferred, r.events, r.error) for r in reports]
    return summary, snapshot(store, p, name)


def test_bulk_and_one_by_one_write_the_same_rows(
    store: Store, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bulk = run_history(store, database_url, "bulkcrm", "b-")
    monkeypatch.setattr("connector.sync.BULK", {})
    one_by_one = run_history(store, database_url, "onecrm", "o-")

    assert bulk == one_by_one
    summary, rows = bulk
    assert [s[:5] for s in summary] == [  # (stream, mode, records, deferred, events)
        ("people", "full", 7, 1, 1),
        ("pairings", "full", 3, 2, 4),
        ("sessions", "full", 0, 0, 0),
        ("people", "incremental", 7, 1, 3),
        ("pairings", "incremental", 4, 2, 2),
        ("sessions", "full", 0, 0, 0),
    ]
    assert rows["deferred"] == [
        ("pairings", "P3", "mentee C99 is not synced yet"),
        ("pairings", "P5", "mentor C2 is a mentee, not a mentor"),
        ("people", "C5", "no role: map `role` or fill it in the host"),
    ]
    assert [o[0] for o in rows["outbox"]] == ["suspension", "vetting-gate"]
    assert rows["links"] == 1


def test_a_failed_bulk_write_applies_the_page_one_by_one(
    store: Store, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> Any:
        raise RuntimeError("bulk write refused")

    monkeypatch.setattr("connector.sync.BULK", {"people": broken, "pairings": broken})
    fallback = run_history(store, database_url, "brokencrm", "f-")
    monkeypatch.setattr("connector.sync.BULK", {})
    one_by_one = run_history(store, database_url, "onecrm", "o-")

    assert fallback == one_by_one
