"""Scheduled checks (`connector.checks`), explanations, gates and the scheduler, on the store.

Specifications, each on SQLite and PostgreSQL:
- running the checks twice for the same moment writes nothing new; a new period writes anew;
- the time-based rules decide from real program data (sessions, check-ins, concerns,
  exemptions) in the program's time zone;
- the SQL pre-filter never drops a decision the rule would take: for a varied program, what
  `periodic_decisions` returns equals what `decide` returns on facts built for every pairing;
- gates refuse status changes through the API and write nothing; overrides are kept and
  audited;
- `explain` reports and writes nothing; the scheduler runs the checks once per local day.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.app import create_app
from connector.checks import QUERIES, check_context, periodic_decisions, run_checks
from connector.clock import FrozenClock
from connector.context import person_view
from connector.demo import session_deliveries
from connector.explain import explain
from connector.scheduler import Scheduler
from connector.services import Services
from connector.settings import Settings
from connector.store.db import Store
from connector.store.models import (
    AuditEntry,
    CheckIn,
    Concern,
    InboxEvent,
    JobRun,
    LocalItem,
    Meeting,
    OutboxItem,
    Pairing,
    Submission,
)
from rules import PERIODIC
from rules.base import PeriodicRule
from rules.calendar import local_date, month_bounds_utc, previous_month
from rules.concern_report import ConcernFacts
from rules.feedback_after_sessions import FeedbackFacts
from rules.introductory_session import IntroFacts
from rules.monthly_meeting import MonthlyFacts
from rules.staff_check_in import PARTIES, CheckInFacts
from rules.vetting_gate import GATED, VettingFacts
from tests.support import (
    ADMIN,
    COORDINATOR,
    SAFEGUARDING,
    VETTING_STEPS,
    count,
    items,
    make_pairing,
    make_settings,
    send_zoom,
)

NEW_YORK = "America/New_York"
RULE_IDS = [rule.id for rule in PERIODIC]


def utc(text: str) -> datetime:
    """'2026-11-28T11:00' → an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def outbox_keys(store: Store, rule_id: str | None = None) -> set[str]:
    query = select(OutboxItem.key)
    if rule_id is not None:
        query = query.where(OutboxItem.rule_id == rule_id)
    with store.session() as session:
        return set(session.scalars(query))


def decided_keys(
    store: Store, settings: Settings, rule_id: str, at: datetime, pairing_id: int | None = None
) -> set[str]:
    rule = next(r for r in PERIODIC if r.id == rule_id)
    with store.session() as session:
        return {d.key for d in periodic_decisions(session, rule, settings, at, pairing_id)}


# --------------------------------------------------------------------------- API helpers


def api(
    client: FlaskClient, method: str, path: str, status: int, headers: Any = ADMIN, **kw: Any
) -> Any:
    """Call the JSON API (as admin unless told) and insist on the status code."""
    response = client.open(f"/api/v1{path}", method=method, headers=headers, **kw)
    assert response.status_code == status, response.json
    return response.json


def add_person(client: FlaskClient, name: str, role: str, vetting: list[dict[str, Any]]) -> int:
    body: dict[str, Any] = {
        "role": role,
        "name": name.title(),
        "email": f"{name}@example.org",
        "status": "active",
    }
    if vetting:
        body["vetting"] = vetting
    person_id: int = api(client, "POST", "/people", 201, json=body)["id"]
    return person_id


def passed(expires_on: str | None = None) -> list[dict[str, Any]]:
    return [
        {
            "step": step,
            "status": "passed",
            "expires_on": expires_on if step == "interview" else None,
        }
        for step in VETTING_STEPS
    ]


def pair(
    client: FlaskClient,
    n: int,
    started_on: str | None,
    *,
    status: str = "active",
    mentor_vetting: list[dict[str, Any]] | None = None,
    override_reason: str | None = None,
) -> int:
    """Mentor `mentor<n>` and mentee `mentee<n>`, paired through the API."""
    mentor = add_person(
        client, f"mentor{n}", "mentor", passed() if mentor_vetting is None else mentor_vetting
    )
    mentee = add_person(client, f"mentee{n}", "mentee", [])
    body: dict[str, Any] = {"mentor_id": mentor, "mentee_id": mentee, "status": status}
    if started_on is not None:
        body["started_on"] = started_on
    if override_reason is not None:
        body["override_reason"] = override_reason
    pairing_id: int = api(client, "POST", "/pairings", 201, json=body)["id"]
    return pairing_id


def log_session(client: FlaskClient, pairing_id: int, start: str, minutes: int = 45) -> int:
    begin = utc(start)
    body = {
        "started_at": begin.isoformat(),
        "ended_at": (begin + timedelta(minutes=minutes)).isoformat(),
    }
    meeting_id: int = api(client, "POST", f"/pairings/{pairing_id}/sessions", 201, json=body)[
        "meeting_id"
    ]
    return meeting_id


def check_in(client: FlaskClient, pairing_id: int, at: str, party: str = "both") -> None:
    body = {"party": party, "at": utc(at).isoformat()}
    api(client, "POST", f"/pairings/{pairing_id}/check-ins", 201, json=body)


def submit(client: FlaskClient, pairing_id: int, party: str, form: str) -> None:
    body = {"party": party, "form": form, "answers": {"q": "a"}}
    api(client, "POST", f"/pairings/{pairing_id}/submissions", 201, json=body)


def report_concern(client: FlaskClient, pairing_id: int | None, text: str) -> dict[str, Any]:
    body = {"body": text, "pairing_id": pairing_id}
    found: dict[str, Any] = api(client, "POST", "/concerns", 201, SAFEGUARDING, json=body)
    return found


@pytest.fixture
def ny_settings(database_url: str) -> Settings:
    return make_settings(database_url, connector={"timezone": NEW_YORK})


@pytest.fixture
def ny_app(ny_settings: Settings, store: Store, clock: FrozenClock) -> Flask:
    return create_app(ny_settings, store=store, clock=clock)


@pytest.fixture
def ny_client(ny_app: Flask) -> FlaskClient:
    return ny_app.test_client()


@pytest.fixture
def ny_services(ny_app: Flask) -> Services:
    services: Services = ny_app.extensions["connector"]
    return services


# --------------------------------------------------------------------------- idempotence


def test_running_the_checks_twice_for_one_moment_writes_nothing_new(
    client: FlaskClient, store: Store, settings: Settings, clock: FrozenClock
) -> None:
    # A program where every time-based rule has something to say at 2026-11-28 noon (UTC).
    idle = pair(client, 1, "2026-09-01")  # never met, never checked in with
    busy = pair(client, 2, "2026-09-01", mentor_vetting=passed(expires_on="2026-11-15"))
    log_session(client, busy, "2026-11-03T15:00")
    log_session(client, busy, "2026-11-10T15:00")  # feedback never came
    report_concern(client, idle, "nobody acknowledged this one")  # at START, 2026-11-02

    at = utc("2026-11-28T12:00")
    first = run_checks(store, settings, at)
    assert set(first) == set(RULE_IDS)
    assert all(n > 0 for n in first.values()), first
    rows = count(store, OutboxItem)
    assert rows == sum(first.values())

    second = run_checks(store, settings, at)
    assert second == dict.fromkeys(RULE_IDS, 0)
    assert count(store, OutboxItem) == rows

    before = outbox_keys(store)
    later = run_checks(store, settings, utc("2026-12-28T12:00"))
    new = outbox_keys(store) - before
    assert {k for k in new if k.startswith("monthly-meeting:")} == {
        f"monthly-meeting:pairing:{idle}:2026-11:missed",
        f"monthly-meeting:pairing:{idle}:2026-12:at-risk",
        f"monthly-meeting:pairing:{busy}:2026-12:at-risk",
    }
    assert later["monthly-meeting"] == 3
    assert sum(later.values()) == len(new)
    assert run_checks(store, settings, utc("2026-12-28T12:00")) == dict.fromkeys(RULE_IDS, 0)


# --------------------------------------------------------------------------- monthly-meeting


MAYA = ("Maya", "maya@example.org", "16778240")
ELI = ("Eli", "eli@example.org", "16778241")


def test_monthly_meeting_counts_calendar_months_in_the_program_time_zone(
    ny_client: FlaskClient,
    ny_services: Services,
    ny_settings: Settings,
    store: Store,
    clock: FrozenClock,
    database_url: str,
) -> None:
    clock.set(utc("2026-09-01T14:00"))  # 10:00 in New York
    pairing = make_pairing(ny_client)["pairing"]
    assert api(ny_client, "GET", "/pairings", 200)["pairings"][0]["started_on"] == "2026-09-01"
    # A session on the evening of 31 October in New York, which is 1 November in UTC.
    for payload in session_deliveries(
        "81234567890", "oct31AAAAA==", "2026-11-01T01:00:00Z", "2026-11-01T01:45:00Z", [MAYA, ELI]
    ):
        clock.set(utc("2026-11-01T01:50"))
        assert send_zoom(ny_client, payload, clock).json["status"] == "accepted"
    ny_services.drain()
    with store.session() as session:
        meeting = session.scalars(select(Meeting)).one()
        assert (meeting.pairing_id, meeting.held) == (pairing, True)

    key = f"monthly-meeting:pairing:{pairing}"
    # 23 November: eight days left, not yet at risk.
    assert decided_keys(store, ny_settings, "monthly-meeting", utc("2026-11-23T11:00")) == set()

    # 28 November: November has no session yet; October (New York) had one.
    run_checks(store, ny_settings, utc("2026-11-28T11:00"))
    assert outbox_keys(store, "monthly-meeting") == {f"{key}:2026-11:at-risk"}
    # The same data read in UTC would see it the other way round.
    in_utc = make_settings(database_url)
    assert decided_keys(store, in_utc, "monthly-meeting", utc("2026-11-28T11:00")) == {
        f"{key}:2026-10:missed"
    }

    # 1 December 03:00 UTC is still 30 November in New York: the month is November.
    late = utc("2026-12-01T03:00")
    assert decided_keys(store, ny_settings, "monthly-meeting", late) == {f"{key}:2026-11:at-risk"}
    assert run_checks(store, ny_settings, late)["monthly-meeting"] == 0

    # 2 December: November is over without a session.
    assert run_checks(store, ny_settings, utc("2026-12-02T11:00"))["monthly-meeting"] == 1
    assert outbox_keys(store, "monthly-meeting") == {
        f"{key}:2026-11:at-risk",
        f"{key}:2026-11:missed",
    }
    clock.set(utc("2026-12-02T11:00"))
    ny_services.drain()
    alerts = items(ny_client, "alert", rule="monthly-meeting")
    assert [(a["key"], a["pairing_id"], a["priority"]) for a in alerts] == [
        (f"{key}:2026-11:missed", pairing, "high")
    ]
    assert "November 2026" in alerts[0]["title"]


# --------------------------------------------------------------------------- staff-check-in


def test_logged_check_ins_move_the_due_dates(
    client: FlaskClient, store: Store, settings: Settings, clock: FrozenClock
) -> None:
    # Both start on 2 November (START): check-ins due on day 15 and day 30, 17 Nov and 2 Dec.
    checked = make_pairing(client, mentor="maya", mentee="eli")["pairing"]
    ignored = make_pairing(client, mentor="sam", mentee="ana", zoom_meeting_id=None)["pairing"]

    def keys(pairing_id: int) -> set[str]:
        prefix = f"staff-check-in:pairing:{pairing_id}:"
        return {
            k.removeprefix(prefix)
            for k in outbox_keys(store, "staff-check-in")
            if k.startswith(prefix)
        }

    def both(due: str, kind: str) -> set[str]:
        return {f"{party}:{due}:{kind}" for party in PARTIES}

    assert run_checks(store, settings, utc("2026-11-13T12:00"))["staff-check-in"] == 0
    assert run_checks(store, settings, utc("2026-11-14T12:00"))["staff-check-in"] == 4
    assert keys(checked) == keys(ignored) == both("2026-11-17", "due")

    check_in(client, checked, "2026-11-15T15:00")
    run_checks(store, settings, utc("2026-11-18T12:00"))
    assert keys(checked) == both("2026-11-17", "due")
    assert keys(ignored) == both("2026-11-17", "due") | both("2026-11-17", "overdue")

    run_checks(store, settings, utc("2026-11-29T12:00"))  # three days before day 30
    assert keys(checked) == both("2026-11-17", "due") | both("2026-12-02", "due")
    assert keys(ignored) == both("2026-11-17", "due") | both("2026-11-17", "overdue")

    check_in(client, checked, "2026-12-01T15:00")
    # After the first month: monthly, counted from the later of the last check-in and day 30.
    for day in range(2, 29):
        run_checks(store, settings, utc(f"2026-12-{day:02d}T12:00"))
    assert keys(checked) == both("2026-11-17", "due") | both("2026-12-02", "due")
    assert keys(ignored) == both("2026-11-17", "due") | both("2026-11-17", "overdue")
    run_checks(store, settings, utc("2026-12-29T12:00"))
    assert keys(checked) - keys(ignored) == both("2026-12-02", "due")
    assert keys(ignored) - keys(checked) == both("2026-11-17", "overdue")
    assert both("2027-01-01", "due") <= keys(checked) & keys(ignored)


# --------------------------------------------------------------------------- concern-report


def test_an_unacknowledged_concern_is_escalated_by_reference_only(
    client: FlaskClient, services: Services, store: Store, settings: Settings, clock: FrozenClock
) -> None:
    pairing = make_pairing(client)["pairing"]
    text = "Eli says the mentor keeps messaging him late at night."
    concern = report_concern(client, pairing, text)
    services.drain()

    alerts = items(client, "alert")
    assert [(a["key"], a["confidential"], a["audience"], a["priority"]) for a in alerts] == [
        (f"concern-report:concern:{concern['id']}:reported", True, "safeguarding", "critical")
    ]
    assert concern["reference"] in alerts[0]["title"]
    as_admin = api(client, "GET", "/alerts", 200)["alerts"]
    assert as_admin[0]["title"] == "Confidential item for the safeguarding lead"
    assert as_admin[0]["key"] is None

    assert run_checks(store, settings, clock.advance(hours=23))["concern-report"] == 0
    clock.advance(hours=2)  # 25 hours after the report
    assert run_checks(store, settings, clock.now())["concern-report"] == 1
    services.drain()

    escalated = [a for a in api(client, "GET", "/alerts", 200)["alerts"] if not a["confidential"]]
    assert [(a["key"], a["audience"], a["priority"], a["pairing_id"]) for a in escalated] == [
        (f"concern-report:concern:{concern['id']}:escalated", "admin", "critical", None)
    ]
    shown = escalated[0]["title"] + " " + escalated[0]["reason"]
    assert concern["reference"] in shown
    assert text not in shown
    for word in ("Eli", "Maya", "messaging"):
        assert word not in shown


def test_a_concern_acknowledged_in_time_is_not_escalated(
    client: FlaskClient, services: Services, store: Store, settings: Settings, clock: FrozenClock
) -> None:
    pairing = make_pairing(client)["pairing"]
    concern = report_concern(client, pairing, "Something felt off in the last session.")
    clock.advance(hours=3)
    moved = api(
        client,
        "POST",
        f"/concerns/{concern['id']}/status",
        200,
        SAFEGUARDING,
        json={"status": "acknowledged"},
    )
    assert moved["status"] == "acknowledged"
    api(
        client,
        "POST",
        f"/concerns/{concern['id']}/status",
        403,
        ADMIN,
        json={"status": "investigating"},
    )

    assert run_checks(store, settings, clock.advance(hours=48))["concern-report"] == 0
    services.drain()
    assert [a["key"] for a in items(client, "alert", status="all")] == [
        f"concern-report:concern:{concern['id']}:reported"
    ]


# --------------------------------------------------------------------------- exemptions


def test_exemptions_for_one_pairing_and_for_the_program(
    client: FlaskClient, store: Store, settings: Settings, clock: FrozenClock
) -> None:
    exempt = pair(client, 1, "2026-09-01")
    other = pair(client, 2, "2026-09-01")
    reason = "the mentee is abroad for the autumn term"
    one = api(
        client,
        "POST",
        "/exemptions",
        201,
        json={"rule_id": "monthly-meeting", "pairing_id": exempt, "reason": reason},
    )
    api(
        client,
        "POST",
        "/exemptions",
        403,
        COORDINATOR,
        json={"rule_id": "monthly-meeting", "reason": reason},
    )

    run_checks(store, settings, utc("2026-11-28T12:00"))
    assert outbox_keys(store, "monthly-meeting") == {
        f"monthly-meeting:pairing:{other}:2026-10:missed",
        f"monthly-meeting:pairing:{other}:2026-11:at-risk",
    }
    # Other rules still apply to the exempt pairing.
    assert any(f":pairing:{exempt}:" in k for k in outbox_keys(store, "staff-check-in"))

    program = api(
        client,
        "POST",
        "/exemptions",
        201,
        json={"rule_id": "monthly-meeting", "reason": "the program pauses over the winter"},
    )
    at = utc("2026-12-28T12:00")
    written = run_checks(store, settings, at)
    assert "monthly-meeting" not in written
    assert set(written) == set(RULE_IDS) - {"monthly-meeting"}
    assert len(outbox_keys(store, "monthly-meeting")) == 2

    api(client, "POST", f"/exemptions/{program['id']}/revoke", 200)
    api(client, "POST", f"/exemptions/{program['id']}/revoke", 409)
    assert run_checks(store, settings, at)["monthly-meeting"] == 2
    assert not any(f":pairing:{exempt}:" in k for k in outbox_keys(store, "monthly-meeting"))

    api(client, "POST", f"/exemptions/{one['id']}/revoke", 200)
    assert run_checks(store, settings, at)["monthly-meeting"] == 2
    assert {k for k in outbox_keys(store, "monthly-meeting") if f":pairing:{exempt}:" in k} == {
        f"monthly-meeting:pairing:{exempt}:2026-11:missed",
        f"monthly-meeting:pairing:{exempt}:2026-12:at-risk",
    }
    with store.session() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject_type == "exemption")
        ).all()
    assert sorted(actions) == sorted(["exemption.created"] * 2 + ["exemption.revoked"] * 2)


# --------------------------------------------------------------------------- the pre-filter


@dataclass
class Program:
    ids: dict[str, int]
    concerns: dict[str, int]


def seed_varied_program(client: FlaskClient, clock: FrozenClock) -> Program:
    """A dozen pairings in every state a check can meet: starts spread over five months,
    sessions near month ends in New York, check-ins at various times of day, feedback from
    one, both or neither party, expiring vetting, an override, closing and closed pairings."""
    ids: dict[str, int] = {}
    ids["never-met"] = pair(client, 1, "2026-09-01")
    ids["regular"] = pair(client, 2, "2026-09-15")
    for start in ("2026-09-20T14:00", "2026-10-05T22:00", "2026-11-01T03:00", "2026-12-06T16:00"):
        log_session(client, ids["regular"], start)  # 1 Nov 03:00 UTC is 31 Oct in New York
    check_in(client, ids["regular"], "2026-09-25T13:00")
    check_in(client, ids["regular"], "2026-10-14T20:00")
    check_in(client, ids["regular"], "2026-11-13T20:00", party="mentor")
    check_in(client, ids["regular"], "2026-12-01T03:30", party="mentee")  # 30 Nov in New York
    submit(client, ids["regular"], "mentor", "feedback")

    ids["both-gave"] = pair(client, 3, "2026-10-01")
    log_session(client, ids["both-gave"], "2026-10-10T18:00")
    log_session(client, ids["both-gave"], "2026-10-12T18:00")
    submit(client, ids["both-gave"], "mentor", "feedback")
    submit(client, ids["both-gave"], "mentee", "feedback")
    check_in(client, ids["both-gave"], "2026-10-15T03:30", party="mentor")  # 14 Oct in NY

    ids["late-october"] = pair(client, 4, "2026-10-20")
    log_session(client, ids["late-october"], "2026-10-25T17:00")
    check_in(client, ids["late-october"], "2026-11-04T20:00")
    check_in(client, ids["late-october"], "2026-12-03T20:00")

    ids["late-intro"] = pair(client, 5, "2026-11-01")
    log_session(client, ids["late-intro"], "2026-12-15T17:00")

    ids["since-august"] = pair(client, 6, "2026-08-01")
    for start in ("2026-08-10T15:00", "2026-09-10T15:00", "2026-11-10T15:00", "2026-12-10T15:00"):
        log_session(client, ids["since-august"], start)
    for at in ("2026-08-16T16:00", "2026-08-31T16:00", "2026-09-29T20:00", "2026-11-02T20:00"):
        check_in(client, ids["since-august"], at)
    submit(client, ids["since-august"], "mentee", "feedback")

    clock.set(utc("2026-10-01T12:00"))  # proposed while the interview was still in force
    ids["proposed-expiring"] = pair(
        client, 7, None, status="proposed", mentor_vetting=passed(expires_on="2026-10-15")
    )
    clock.set(utc("2026-11-02T14:00"))  # back to START
    ids["expiring"] = pair(client, 10, "2026-09-10", mentor_vetting=passed(expires_on="2026-11-30"))
    log_session(client, ids["expiring"], "2026-09-12T15:00")
    log_session(client, ids["expiring"], "2026-10-30T15:00")

    ids["closing"] = pair(client, 8, "2026-09-01")
    log_session(client, ids["closing"], "2026-09-10T15:00")
    log_session(client, ids["closing"], "2026-09-24T15:00")
    api(client, "PATCH", f"/pairings/{ids['closing']}", 200, json={"status": "closing"})

    ids["closed"] = pair(client, 9, "2026-08-15")
    api(
        client,
        "PATCH",
        f"/pairings/{ids['closed']}",
        200,
        json={
            "status": "closed",
            "extenuating_circumstances": "the mentee moved abroad",
            "override_reason": "no closing session was possible",
        },
    )
    unvetted = [{"step": VETTING_STEPS[0], "status": "pending"}]
    ids["overridden"] = pair(
        client, 11, "2026-10-05", mentor_vetting=unvetted, override_reason="vetting in progress"
    )
    ids["december"] = pair(client, 12, "2026-12-01")
    check_in(client, ids["december"], "2026-12-10T15:00")
    check_in(client, ids["december"], "2026-12-28T23:00")

    concerns: dict[str, int] = {}
    clock.set(utc("2026-11-05T10:00"))
    concerns["new"] = report_concern(client, ids["regular"], "left waiting")["id"]
    clock.set(utc("2026-11-10T10:00"))
    concerns["acknowledged"] = report_concern(client, ids["both-gave"], "seen to")["id"]
    clock.advance(hours=2)
    api(
        client,
        "POST",
        f"/concerns/{concerns['acknowledged']}/status",
        200,
        SAFEGUARDING,
        json={"status": "acknowledged"},
    )
    clock.set(utc("2026-12-01T10:00"))
    concerns["no-pairing"] = report_concern(client, None, "about the program itself")["id"]
    return Program(ids, concerns)


def every_pairings_facts(
    session: Session, rule: PeriodicRule, at: datetime, settings: Settings
) -> list[Any]:
    """The rule's facts for EVERY pairing (or person, or concern) it could apply to, built in
    Python from plain rows with no narrowing beyond what the facts themselves presuppose."""
    zone = settings.connector.timezone
    today = local_date(at, zone)
    params = settings.rule(rule.id).params
    pairings = session.scalars(select(Pairing).order_by(Pairing.id)).all()
    held: dict[int, list[Meeting]] = {}
    for meeting in session.scalars(
        select(Meeting).where(Meeting.held.is_(True)).order_by(Meeting.started_at, Meeting.id)
    ):
        if meeting.pairing_id is not None:
            held.setdefault(meeting.pairing_id, []).append(meeting)
    active = [p for p in pairings if p.status == "active" and p.started_on is not None]
    if rule.id == "vetting-gate":
        mentors = {
            p.mentor.id: p.mentor
            for p in pairings
            if p.status in GATED and p.vetting_override_reason is None
        }
        return [VettingFacts(person_view(m)) for m in mentors.values()]
    if rule.id == "introductory-session":
        return [IntroFacts(p.id, p.started_on) for p in active if not held.get(p.id)]
    if rule.id == "monthly-meeting":
        this_start, this_end = month_bounds_utc(today, zone)
        last_start, _ = month_bounds_utc(previous_month(today), zone)
        out = []
        for p in active:
            starts = [m.started_at for m in held.get(p.id, []) if m.started_at is not None]
            this = sum(this_start <= s < this_end for s in starts)
            last = sum(last_start <= s < this_start for s in starts)
            out.append(MonthlyFacts(p.id, p.started_on, this, last))
        return out
    if rule.id == "feedback-after-sessions":
        gave = set(
            session.execute(
                select(Submission.pairing_id, Submission.party).where(
                    Submission.form == params.form
                )
            )
        )
        return [
            FeedbackFacts(
                p.id,
                held[p.id][params.after_sessions - 1].started_at,
                (p.id, "mentor") in gave,
                (p.id, "mentee") in gave,
            )
            for p in pairings
            if p.status in ("active", "closing")
            and len(held.get(p.id, [])) >= params.after_sessions
        ]
    if rule.id == "staff-check-in":
        out = []
        for p in active:
            for party in PARTIES:
                times = session.scalars(
                    select(CheckIn.at).where(CheckIn.pairing_id == p.id, CheckIn.party == party)
                ).all()
                first_month_end = p.started_on + timedelta(days=params.first_month_days)
                early = sum(local_date(t, zone) < first_month_end for t in times)
                out.append(CheckInFacts(p.id, party, p.started_on, early, max(times, default=None)))
        return out
    if rule.id == "concern-report":
        rows = session.execute(
            select(Concern.id, Concern.reference, Concern.created_at).where(Concern.status == "new")
        )
        return [ConcernFacts(*row) for row in rows]
    raise AssertionError(f"no oracle for {rule.id}")


def oracle_keys(session: Session, rule: PeriodicRule, at: datetime, settings: Settings) -> set[str]:
    context, params = check_context(settings, at), settings.rule(rule.id).params
    return {
        d.key
        for facts in every_pairings_facts(session, rule, at, settings)
        for d in rule.decide(facts, context, params)
    }


def moments(first: date, last: date, hours: tuple[int, ...]) -> Iterator[datetime]:
    day = first
    while day <= last:
        for hour in hours:
            yield datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
        day += timedelta(days=1)


def test_the_sql_pre_filter_never_drops_a_decision_the_rule_would_take(
    ny_client: FlaskClient, ny_settings: Settings, store: Store, clock: FrozenClock
) -> None:
    """At every moment swept, `periodic_decisions` (SQL candidates, then `decide`) returns
    exactly what `decide` returns on facts built for every pairing. The program is seeded
    once, so early moments also see later rows; the two must agree on any data."""
    seed_varied_program(ny_client, clock)
    missing: list[str] = []
    extra: list[str] = []
    said = dict.fromkeys(RULE_IDS, 0)
    with store.session() as session:
        # Three moments a day (late evening, early morning and afternoon in New York) for
        # five months.
        for at in moments(date(2026, 9, 1), date(2027, 1, 31), hours=(3, 11, 21)):
            for rule in PERIODIC:
                filtered = {d.key for d in periodic_decisions(session, rule, ny_settings, at)}
                every = oracle_keys(session, rule, at, ny_settings)
                said[rule.id] += len(every)
                missing += [f"{at:%Y-%m-%d %H:%M}Z {k}" for k in sorted(every - filtered)]
                extra += [f"{at:%Y-%m-%d %H:%M}Z {k}" for k in sorted(filtered - every)]
    assert all(n >= 20 for n in said.values()), said  # every rule had plenty to say
    assert extra == []
    assert missing == [], (
        f"{len(missing)} decisions dropped by the SQL pre-filter, e.g. " + "; ".join(missing[:6])
    )


def facts_keys(store: Store, settings: Settings, rule_id: str, at: datetime, pid: int) -> set[str]:
    """What `decide` makes of the facts `QUERIES` finds for one pairing (no exemptions here)."""
    rule = next(r for r in PERIODIC if r.id == rule_id)
    params, context = settings.rule(rule_id).params, check_context(settings, at)
    with store.session() as session:
        facts = QUERIES[rule_id](session, at, params, settings, pid)
        return {d.key for f in facts for d in rule.decide(f, context, params)}


def test_the_whole_program_decides_what_the_pairings_decide_one_by_one(
    ny_client: FlaskClient, ny_settings: Settings, store: Store, clock: FrozenClock
) -> None:
    program = seed_varied_program(ny_client, clock)
    ids, concerns = program.ids, program.concerns
    with store.session() as session:
        pairing_ids = session.scalars(select(Pairing.id)).all()
    assert len(pairing_ids) == 12
    pairing_less = {f"concern-report:concern:{concerns['no-pairing']}:escalated"}

    for at in (
        utc("2026-10-13T11:00"),
        utc("2026-11-28T11:00"),
        utc("2026-12-01T03:00"),
        utc("2026-12-02T11:00"),
        utc("2027-01-05T21:00"),
    ):
        for rule_id in RULE_IDS:
            whole = decided_keys(store, ny_settings, rule_id, at)
            union = set().union(
                *(facts_keys(store, ny_settings, rule_id, at, pid) for pid in pairing_ids)
            )
            assert whole == union | (whole & pairing_less), (rule_id, at)

    # Hand-checked at 28 November, 06:00 in New York.
    at = utc("2026-11-28T11:00")

    def p(name: str) -> str:
        return f"pairing:{ids[name]}"

    monthly = decided_keys(store, ny_settings, "monthly-meeting", at)
    assert f"monthly-meeting:{p('never-met')}:2026-10:missed" in monthly
    assert f"monthly-meeting:{p('never-met')}:2026-11:at-risk" in monthly
    # Its 1 November 03:00 UTC session was 31 October in New York.
    assert f"monthly-meeting:{p('regular')}:2026-10:missed" not in monthly
    assert f"monthly-meeting:{p('regular')}:2026-11:at-risk" in monthly
    assert f"monthly-meeting:{p('since-august')}:2026-10:missed" in monthly
    assert f"monthly-meeting:{p('since-august')}:2026-11:at-risk" not in monthly
    assert f"monthly-meeting:{p('late-october')}:2026-10:missed" not in monthly  # partial month
    assert not {k for k in monthly if p("closing") in k or p("closed") in k}

    intro = decided_keys(store, ny_settings, "introductory-session", at)
    # late-intro started on 1 November: its 30 days are not over yet.
    assert intro == {
        f"introductory-session:{p('never-met')}:no-first-session",
        f"introductory-session:{p('overridden')}:no-first-session",
    }

    feedback = decided_keys(store, ny_settings, "feedback-after-sessions", at)
    assert feedback == {
        f"feedback-after-sessions:{p('regular')}:session-2:remind-mentee",
        f"feedback-after-sessions:{p('since-august')}:session-2:remind-mentor",
        f"feedback-after-sessions:{p('expiring')}:session-2:remind-mentor",
        f"feedback-after-sessions:{p('expiring')}:session-2:remind-mentee",
        f"feedback-after-sessions:{p('closing')}:session-2:remind-mentor",
        f"feedback-after-sessions:{p('closing')}:session-2:remind-mentee",
    }

    with store.session() as session:
        mentors = {
            name: session.get_one(Pairing, ids[name]).mentor_id
            for name in ("proposed-expiring", "expiring", "overridden")
        }
    vetting = decided_keys(store, ny_settings, "vetting-gate", at)
    assert vetting == {
        f"vetting-gate:person:{mentors['proposed-expiring']}:interview:expired-2026-10-15"
    }
    assert f"vetting-gate:person:{mentors['expiring']}:interview:expired-2026-11-30" in (
        decided_keys(store, ny_settings, "vetting-gate", utc("2026-12-01T11:00"))
    )
    assert decided_keys(store, ny_settings, "vetting-gate", utc("2026-12-01T03:00")) == vetting

    assert decided_keys(store, ny_settings, "concern-report", at) == {
        f"concern-report:concern:{concerns['new']}:escalated"
    }

    # Check-ins, hand-checked on 5 January 2027 in New York, when every check-in is past.
    check_ins = decided_keys(store, ny_settings, "staff-check-in", utc("2027-01-05T11:00"))

    def due(name: str, party: str, day: str) -> set[str]:
        return {f"staff-check-in:{p(name)}:{party}:{day}:{kind}" for kind in ("due", "overdue")}

    # regular started 15 Sep: the mentor's last check-in was 13 Nov (due 13 Dec), the
    # mentee's 1 Dec 03:30 UTC, which is 30 Nov in New York (due 30 Dec).
    # late-october started 20 Oct (first month to 19 Nov), last check-in 3 Dec: due 2 Jan.
    # december had both first-month check-ins (10 and 28 Dec): next due 30 Jan, not yet.
    assert {
        k
        for k in check_ins
        if any(p(n) + ":" in k for n in ("regular", "late-october", "december"))
    } == (
        due("regular", "mentor", "2026-12-13")
        | due("regular", "mentee", "2026-12-30")
        | due("late-october", "mentor", "2027-01-02")
        | due("late-october", "mentee", "2027-01-02")
    )


def test_a_check_in_reminder_is_not_dropped_by_the_time_of_day_of_the_last_check_in(
    client: FlaskClient, store: Store, settings: Settings
) -> None:
    """The reminder for a check-in due on 30 December appears on 27 December
    (`remind_days_before` = 3), whatever time of day the last one was logged on 30 November."""
    pairing = pair(client, 1, "2026-09-01")
    check_in(client, pairing, "2026-09-16T10:00")
    check_in(client, pairing, "2026-10-01T10:00")
    last = "2026-11-30T20:00"  # later in the day than the 06:00 checks
    check_in(client, pairing, last)
    at = utc("2026-12-27T06:00")
    expected = {f"staff-check-in:pairing:{pairing}:{party}:2026-12-30:due" for party in PARTIES}

    rule = next(r for r in PERIODIC if r.id == "staff-check-in")
    params = settings.rule(rule.id).params
    facts = [CheckInFacts(pairing, party, date(2026, 9, 1), 2, utc(last)) for party in PARTIES]
    context = check_context(settings, at)
    assert {d.key for f in facts for d in rule.decide(f, context, params)} == expected

    assert run_checks(store, settings, at)["staff-check-in"] == 2
    assert outbox_keys(store, "staff-check-in") == expected


def test_a_missed_second_first_month_check_in_raises_its_overdue_alert(
    client: FlaskClient, store: Store, settings: Settings
) -> None:
    """RULES.md: "A task appears `remind_days_before` days before the due date, an alert
    after it". The second first-month check-in is due on day 30 (2 December for a start on
    2 November); when it does not happen, the alert comes on 3 December."""
    pairing = make_pairing(client)["pairing"]
    check_in(client, pairing, "2026-11-16T15:00")
    for at in moments(date(2026, 11, 3), date(2026, 12, 5), hours=(12,)):
        run_checks(store, settings, at)
    prefix = f"staff-check-in:pairing:{pairing}"
    assert outbox_keys(store, "staff-check-in") == {
        f"{prefix}:{party}:2026-12-02:{kind}" for party in PARTIES for kind in ("due", "overdue")
    }


# --------------------------------------------------------------------------- gates


def test_activating_a_pairing_with_an_unvetted_mentor_is_refused_and_writes_nothing(
    client: FlaskClient, services: Services, store: Store
) -> None:
    mentor = add_person(client, "maya", "mentor", [{"step": "interview", "status": "pending"}])
    mentee = add_person(client, "eli", "mentee", [])
    body = {"mentor_id": mentor, "mentee_id": mentee, "status": "active"}
    audit_rows, inbox_rows = count(store, AuditEntry), count(store, InboxEvent)

    refused = api(client, "POST", "/pairings", 409, json=body)
    assert [r["rule"] for r in refused["refusals"]] == ["vetting-gate"]
    assert "professional verification is not passed" in refused["refusals"][0]["message"]
    assert count(store, Pairing) == 0
    assert (count(store, AuditEntry), count(store, InboxEvent)) == (audit_rows, inbox_rows)

    reason = "references checked by phone; the paperwork follows next week"
    created = api(client, "POST", "/pairings", 201, json=body | {"override_reason": reason})
    assert (created["status"], created["vetting_override_reason"]) == ("active", reason)
    with store.session() as session:
        overridden = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "gate.overridden")
        ).one()
        assert overridden.subject_id == str(created["id"])
        assert overridden.detail["rule"] == "vetting-gate"
        assert overridden.detail["reason"] == reason


def test_a_status_change_refused_by_a_gate_leaves_the_pairing_as_it_was(
    client: FlaskClient, store: Store
) -> None:
    pairing = make_pairing(client, status="proposed")
    # The mentor's interview is found to be still pending.
    api(
        client,
        "PATCH",
        f"/people/{pairing['mentor']}",
        200,
        json={"vetting": [{"step": "interview", "status": "pending"}]},
    )
    audit_rows = count(store, AuditEntry)
    refused = api(
        client, "PATCH", f"/pairings/{pairing['pairing']}", 409, json={"status": "active"}
    )
    assert [r["rule"] for r in refused["refusals"]] == ["vetting-gate"]
    with store.session() as session:
        row = session.get_one(Pairing, pairing["pairing"])
        assert (row.status, row.started_on, row.vetting_override_reason) == ("proposed", None, None)
    assert count(store, AuditEntry) == audit_rows


def test_closing_needs_the_minimum_sessions_or_circumstances_and_a_closing_session(
    client: FlaskClient, services: Services, store: Store, clock: FrozenClock
) -> None:
    pairing = make_pairing(client)["pairing"]
    log_session(client, pairing, "2026-11-03T15:00")
    log_session(client, pairing, "2026-11-10T15:00")
    services.drain()
    path = f"/pairings/{pairing}"

    refused = api(client, "PATCH", path, 409, json={"status": "closed"})
    assert [r["rule"] for r in refused["refusals"]] == ["minimum-sessions", "closing-session"]
    assert api(client, "GET", "/pairings", 200)["pairings"][0]["status"] == "active"

    api(client, "PATCH", path, 200, json={"status": "closing"})
    circumstances = "the mentee's family moved to another state"
    api(client, "PATCH", path, 200, json={"extenuating_circumstances": circumstances})
    refused = api(client, "PATCH", path, 409, json={"status": "closed"})
    assert [r["rule"] for r in refused["refusals"]] == ["closing-session"]
    assert "no closing session was held" in refused["refusals"][0]["message"]

    clock.set(utc("2026-11-20T16:00"))
    log_session(client, pairing, "2026-11-20T15:00")
    services.drain()
    submit(client, pairing, "mentor", "closing_reflection")
    refused = api(client, "PATCH", path, 409, json={"status": "closed"})
    assert [r["rule"] for r in refused["refusals"]] == ["closing-session"]
    assert "no closing session" not in refused["refusals"][0]["message"]
    assert "mentee's reflection" in refused["refusals"][0]["message"]

    submit(client, pairing, "mentee", "closing_reflection")
    closed = api(client, "PATCH", path, 200, json={"status": "closed"})
    assert (closed["status"], closed["extenuating_circumstances"]) == ("closed", circumstances)
    assert closed["closing_override_reason"] is None
    with store.session() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject_type == "pairing")
        ).all()
    assert "pairing.extenuating_circumstances" in actions
    assert "gate.overridden" not in actions


# --------------------------------------------------------------------------- explain


def test_explain_reports_what_each_rule_would_do_and_writes_nothing(
    client: FlaskClient, services: Services, store: Store, settings: Settings, clock: FrozenClock
) -> None:
    pairing = pair(client, 1, "2026-09-01")
    log_session(client, pairing, "2026-10-05T15:00")
    api(
        client,
        "POST",
        "/exemptions",
        201,
        json={"rule_id": "introductory-session", "pairing_id": pairing, "reason": "met offline"},
    )
    services.drain()
    at = utc("2026-11-28T12:00")
    tables = (OutboxItem, InboxEvent, AuditEntry, LocalItem, JobRun)
    before = [count(store, model) for model in tables]

    reports = {r.rule_id: r for r in explain(store, settings, pairing, at)}

    assert [count(store, model) for model in tables] == before
    assert len(reports) == 12
    monthly = reports["monthly-meeting"]
    assert monthly.state == "enabled"
    assert monthly.due_now == [
        f"task: Pairing P{pairing} has not met yet in November 2026",
    ]
    assert monthly.decided == []
    assert reports["introductory-session"].state == "exempt: met offline"
    check_ins = reports["staff-check-in"].due_now
    assert len(check_ins) == 4 and all("check" in line.lower() for line in check_ins)
    assert [line.split(":")[0] for line in reports["minimum-sessions"].refuses] == [
        "active -> closed"
    ]
    assert "held 1 of the 3" in reports["minimum-sessions"].refuses[0]
    assert reports["closing-session"].refuses[0].startswith("active -> closed")
    assert reports["vetting-gate"].refuses == []
    assert reports["approved-platform"].due_now == []

    run_checks(store, settings, at)
    clock.set(at)
    services.drain()
    after = {r.rule_id: r for r in explain(store, settings, pairing, at)}
    assert after["monthly-meeting"].decided == [
        f"[done] task: Pairing P{pairing} has not met yet in November 2026"
    ]
    assert after["monthly-meeting"].due_now == monthly.due_now  # still due; the key dedupes
    with pytest.raises(LookupError):
        explain(store, settings, 999, at)


# --------------------------------------------------------------------------- scheduler


def test_the_scheduler_runs_the_checks_once_per_local_day_across_processes(
    ny_settings: Settings, store: Store, clock: FrozenClock
) -> None:
    first = Scheduler(store, ny_settings, clock)
    clock.set(utc("2026-11-02T10:59"))  # 05:59 in New York; checks_at_hour is 6
    assert first.tick() is False
    assert count(store, JobRun) == 0

    clock.set(utc("2026-11-02T11:00"))
    assert first.tick() is True
    assert first.tick() is False
    clock.advance(hours=8)
    other = Scheduler(store, ny_settings, clock)  # another process, same day
    assert other.tick() is False
    assert first.tick() is False
    clock.set(utc("2026-11-03T04:30"))  # 23:30 on 2 November in New York
    assert other.tick() is False

    clock.set(utc("2026-11-03T10:30"))  # 05:30 on 3 November
    assert other.tick() is False
    clock.set(utc("2026-11-03T11:15"))
    assert other.tick() is True
    assert first.tick() is False

    with store.session() as session:
        runs = session.scalars(select(JobRun).order_by(JobRun.id)).all()
        assert [(r.job, r.period) for r in runs] == [
            ("run-checks", "2026-11-02"),
            ("run-checks", "2026-11-03"),
        ]
        assert all(r.finished_at is not None for r in runs)
        assert set(runs[0].detail["new_decisions"]) == set(RULE_IDS)
