"""One pairing's whole life, as a specification of what the program asks of its staff.

Maya applies to mentor and Eli to be mentored on 1 September 2026. Maya is vetted, they are
proposed as a pairing and activated on 1 October. They meet on Zoom in October (twice) and
December, but not in November. They give feedback (Eli late), staff check in with both (once
late), Eli's concern is acknowledged the same day and found to be no violation. In January
the pairing moves to closing, holds its closing session, both reflect, and it is closed.

Every day at 06:00 (the program runs in UTC here) the scheduler runs the checks, and the
outbox delivers to the built-in local host. At the end, the tasks and alerts the program
produced are exactly those in `EXPECTED`, each on the day written next to it. Runs on SQLite
and, when configured, PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from connector.clock import FrozenClock
from connector.demo import session_deliveries
from connector.services import Services
from connector.store.db import Store
from connector.store.models import Concern, InboxEvent, OutboxItem, Pairing
from tests.support import ADMIN, COORDINATOR, SAFEGUARDING, VETTING_STEPS, items, send_zoom

ZOOM_ID = "81234567890"
MAYA = ("Maya Okafor", "maya@example.org", "16778240")
ELI = ("Eli Brooks", "eli@example.org", "16778241")
FIRST_DAY, LAST_DAY = date(2026, 9, 1), date(2027, 1, 31)

# What the program asked for, by the day it appeared: (day, kind, rule, key). `M` is Maya's
# person id, `P` the pairing's id and `C` the concern's id.
EXPECTED = [
    # Maya's application lists the vetting steps, none passed yet.
    (
        "2026-09-01",
        "task",
        "vetting-gate",
        "vetting-gate:person:{M}:professional_verification:missing",
    ),
    ("2026-09-01", "task", "vetting-gate", "vetting-gate:person:{M}:personal_references:missing"),
    ("2026-09-01", "task", "vetting-gate", "vetting-gate:person:{M}:interview:missing"),
    # First session on 6 October: the introductory one; goals come in the day after.
    ("2026-10-06", "task", "introductory-session", "introductory-session:pairing:{P}:goals"),
    # First-month check-ins on day 15 (16 Oct) and day 30 (31 Oct), reminded 3 days before.
    ("2026-10-13", "task", "staff-check-in", "staff-check-in:pairing:{P}:mentor:2026-10-16:due"),
    ("2026-10-13", "task", "staff-check-in", "staff-check-in:pairing:{P}:mentee:2026-10-16:due"),
    # Second session on 20 October: feedback from both; Eli's is late, reminded after 7 days.
    (
        "2026-10-20",
        "task",
        "feedback-after-sessions",
        "feedback-after-sessions:pairing:{P}:session-2",
    ),
    (
        "2026-10-28",
        "task",
        "feedback-after-sessions",
        "feedback-after-sessions:pairing:{P}:session-2:remind-mentee",
    ),
    ("2026-10-28", "task", "staff-check-in", "staff-check-in:pairing:{P}:mentor:2026-10-31:due"),
    ("2026-10-28", "task", "staff-check-in", "staff-check-in:pairing:{P}:mentee:2026-10-31:due"),
    # November: no session. At risk in its last 7 days, missed once it is over.
    ("2026-11-24", "task", "monthly-meeting", "monthly-meeting:pairing:{P}:2026-11:at-risk"),
    # Monthly check-ins after the first month: due 30 days after 31 October; done late.
    ("2026-11-27", "task", "staff-check-in", "staff-check-in:pairing:{P}:mentor:2026-11-30:due"),
    ("2026-11-27", "task", "staff-check-in", "staff-check-in:pairing:{P}:mentee:2026-11-30:due"),
    ("2026-12-01", "alert", "monthly-meeting", "monthly-meeting:pairing:{P}:2026-11:missed"),
    (
        "2026-12-01",
        "alert",
        "staff-check-in",
        "staff-check-in:pairing:{P}:mentor:2026-11-30:overdue",
    ),
    (
        "2026-12-01",
        "alert",
        "staff-check-in",
        "staff-check-in:pairing:{P}:mentee:2026-11-30:overdue",
    ),
    # Eli's concern: confidential, for the safeguarding lead; acknowledged the same day.
    ("2026-12-03", "alert", "concern-report", "concern-report:concern:{C}:reported"),
    # Checked in on 2 December: the next is due on 1 January, reminded on 29 December.
    ("2026-12-29", "task", "staff-check-in", "staff-check-in:pairing:{P}:mentor:2027-01-01:due"),
    ("2026-12-29", "task", "staff-check-in", "staff-check-in:pairing:{P}:mentee:2027-01-01:due"),
    # Closing: three sessions were held, so only the closing session and reflections remain.
    ("2027-01-05", "task", "closing-session", "closing-session:pairing:{P}:hold"),
]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Program:
    """The staff and the platforms, acting through the API and signed Zoom webhooks."""

    def __init__(self, client: FlaskClient, clock: FrozenClock) -> None:
        self.client, self.clock = client, clock
        self.ids: dict[str, int] = {}

    def call(self, method: str, path: str, status: int, headers: Any = ADMIN, **kw: Any) -> Any:
        response = self.client.open(f"/api/v1{path}", method=method, headers=headers, **kw)
        assert response.status_code == status, (path, response.json)
        return response.json

    def apply(self) -> None:
        """Both apply; Maya's application lists the vetting steps still to do."""
        pending = [{"step": step, "status": "pending"} for step in VETTING_STEPS]
        for key, (name, email, _), role, vetting in (
            ("M", MAYA, "mentor", pending),
            ("E", ELI, "mentee", None),
        ):
            body: dict[str, Any] = {"role": role, "name": name, "email": email}
            if vetting:
                body["vetting"] = vetting
            person = self.call("POST", "/people", 201, COORDINATOR, json=body)
            assert person["status"] == "applicant"
            self.ids[key] = person["id"]

    def vet(self) -> None:
        passed = [
            {"step": step, "status": "passed", "completed_on": "2026-09-08"}
            for step in VETTING_STEPS
        ]
        self.call("PATCH", f"/people/{self.ids['M']}", 200, json={"vetting": passed})
        for key in ("M", "E"):
            self.call("PATCH", f"/people/{self.ids[key]}", 200, json={"status": "active"})
        for task in items(self.client, "task", rule="vetting-gate"):
            self.call("POST", f"/tasks/{task['id']}/done", 200, json={"note": "vetted"})

    def propose(self) -> None:
        body = {
            "mentor_id": self.ids["M"],
            "mentee_id": self.ids["E"],
            "status": "proposed",
            "zoom_meeting_id": ZOOM_ID,
        }
        self.ids["P"] = self.call("POST", "/pairings", 201, json=body)["id"]

    def move(self, status: str, **extra: Any) -> dict[str, Any]:
        body = {"status": status, **extra}
        moved: dict[str, Any] = self.call("PATCH", f"/pairings/{self.ids['P']}", 200, json=body)
        return moved

    def meet(self, n: int, start: str, minutes: int = 45) -> None:
        """A Zoom session: started, both join and leave, ended; each delivery signed."""
        begin = at(start)
        end = begin + timedelta(minutes=minutes)
        self.clock.set(end + timedelta(minutes=1))
        for payload in session_deliveries(
            ZOOM_ID,
            f"session{n}AAAA==",
            begin.isoformat().replace("+00:00", "Z"),
            end.isoformat().replace("+00:00", "Z"),
            [MAYA, ELI],
        ):
            assert send_zoom(self.client, payload, self.clock).json["status"] == "accepted"

    def submit(self, form: str, *parties: str) -> None:
        for party in parties:
            body = {"party": party, "form": form, "answers": {"answer": "…"}}
            self.call("POST", f"/pairings/{self.ids['P']}/submissions", 201, json=body)

    def check_in(self) -> None:
        body = {"party": "both", "notes": "going well"}
        self.call("POST", f"/pairings/{self.ids['P']}/check-ins", 201, COORDINATOR, json=body)

    def report_concern(self) -> None:
        body = {
            "body": "Eli felt pressured to share his phone number during the session.",
            "pairing_id": self.ids["P"],
            "about_person_id": self.ids["M"],
            "reporter_person_id": self.ids["E"],
        }
        self.ids["C"] = self.call("POST", "/concerns", 201, COORDINATOR, json=body)["id"]

    def concern(self, status: str, **extra: Any) -> None:
        body = {"status": status, **extra}
        self.call("POST", f"/concerns/{self.ids['C']}/status", 200, SAFEGUARDING, json=body)


def timeline(program: Program) -> dict[date, list[tuple[str, Callable[[], Any]]]]:
    """What people do, by day and time (UTC); the scheduler has run at 06:00 that day."""
    events: list[tuple[str, Callable[[], Any]]] = [
        ("2026-09-01T10:00", program.apply),
        ("2026-09-08T11:00", program.vet),
        ("2026-09-15T10:00", program.propose),
        ("2026-10-01T09:00", lambda: program.move("active")),
        ("2026-10-06T15:00", lambda: program.meet(1, "2026-10-06T15:00")),
        ("2026-10-07T10:00", lambda: program.submit("goals", "mentor", "mentee")),
        ("2026-10-15T10:00", program.check_in),
        ("2026-10-20T15:00", lambda: program.meet(2, "2026-10-20T15:00")),
        ("2026-10-22T10:00", lambda: program.submit("feedback", "mentor")),
        ("2026-10-29T10:00", lambda: program.submit("feedback", "mentee")),
        ("2026-10-30T10:00", program.check_in),
        # November: nobody meets, nobody checks in.
        ("2026-12-02T10:00", program.check_in),
        ("2026-12-03T10:00", program.report_concern),
        ("2026-12-03T14:00", lambda: program.concern("acknowledged")),
        ("2026-12-04T10:00", lambda: program.concern("investigating")),
        ("2026-12-08T15:00", lambda: program.meet(3, "2026-12-08T15:00")),
        ("2026-12-10T11:00", lambda: program.concern("resolved", outcome="no_violation")),
        ("2026-12-29T15:00", program.check_in),
        ("2027-01-05T10:00", lambda: program.move("closing")),
        ("2027-01-12T15:00", lambda: program.meet(4, "2027-01-12T15:00")),
        ("2027-01-13T10:00", lambda: program.submit("closing_reflection", "mentor", "mentee")),
        ("2027-01-14T10:00", lambda: program.move("closed", ended_on="2027-01-14")),
    ]
    by_day: dict[date, list[tuple[str, Callable[[], Any]]]] = {}
    for when, action in events:
        by_day.setdefault(at(when).date(), []).append((when, action))
    return by_day


def test_one_pairings_life_produces_exactly_the_expected_tasks_and_alerts(
    client: FlaskClient, services: Services, clock: FrozenClock, store: Store
) -> None:
    program = Program(client, clock)
    plan = timeline(program)
    ran: list[date] = []
    day = FIRST_DAY
    while day <= LAST_DAY:
        clock.set(datetime(day.year, day.month, day.day, 6, tzinfo=UTC))
        if services.scheduler.tick():
            ran.append(day)
        services.drain()
        for when, action in plan.get(day, []):
            clock.set(at(when))
            action()
            services.drain()
        day += timedelta(days=1)
    assert len(ran) == (LAST_DAY - FIRST_DAY).days + 1  # the checks ran every day, once

    ids = program.ids
    expected = {(kind, rule, key.format(**ids)): day_text for day_text, kind, rule, key in EXPECTED}
    produced = {
        (item["kind"], item["rule"], item["key"]): item["created_at"][:10]
        for kind in ("task", "alert")
        for item in items(client, kind, status="all")
    }
    assert set(produced) == set(expected)
    assert produced == expected  # and each on its day

    # The life ended as it should: closed, the concern resolved, nothing left undelivered.
    with store.session() as session:
        pairing = session.get_one(Pairing, ids["P"])
        assert (pairing.status, pairing.started_on, pairing.ended_on) == (
            "closed",
            date(2026, 10, 1),
            date(2027, 1, 14),
        )
        assert pairing.closing_override_reason is None
        concern = session.get_one(Concern, ids["C"])
        assert (concern.status, concern.outcome) == ("resolved", "no_violation")
        outbox = select(OutboxItem.status, func.count()).group_by(OutboxItem.status)
        statuses = {status: n for status, n in session.execute(outbox)}
        assert statuses == {"done": len(EXPECTED)}
        inbox = session.scalars(select(InboxEvent.status).distinct()).all()
        assert inbox == ["done"]
    vetting_done = items(client, "task", rule="vetting-gate", status="done")
    assert len(vetting_done) == 3
