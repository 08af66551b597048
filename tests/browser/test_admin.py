"""The staff page and the admin console as staff use them: Chromium against a real server.

Staff sign in with the keyboard, filter the staff page, mark an item done, replay a dead
letter, move a concern through its states and request a recording link for a purpose; the
effect is read back from the store. Every page passes axe-core and is photographed
(tests/artifacts/screenshots/admin-*.png).
"""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from connector import accounts
from connector.store.models import Concern, InboxEvent, LocalItem, Meeting, Recording
from tests.browser.conftest import DESKTOP, LiveServer, axe, shot

PASSWORD = "browser password 0123"
_n = itertools.count(1)


def check(page: Page, name: str) -> None:
    axe(page)
    shot(page, f"admin-{name}")


def add(live_server: LiveServer, *rows: Any) -> list[int]:
    with live_server.store.session() as session:
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def get(live_server: LiveServer, model: Any, ident: int) -> Any:
    with live_server.store.session() as session:
        return session.get_one(model, ident)


def user(live_server: LiveServer, role: str) -> str:
    """A fresh account of the role (user names are unique per test run)."""
    name = f"{role}{next(_n)}"
    with live_server.store.session() as session:
        accounts.add_user(session, name, role, PASSWORD, datetime.now(UTC), "test")
    return name


def sign_in(page: Page, live_server: LiveServer, role: str, then: str = "/admin/") -> None:
    name = user(live_server, role)
    page.goto(live_server.url(then))
    expect(page).to_have_url(live_server.url("/admin/sign-in?next=" + then.replace("/", "%2F")))
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(live_server.url(then))


@pytest.fixture
def desk(page_for: Any) -> Page:
    page: Page = page_for(DESKTOP)
    return page


def test_sign_in_page(desk: Page, live_server: LiveServer) -> None:
    desk.goto(live_server.url("/admin/sign-in"))
    check(desk, "sign-in")
    desk.get_by_label("User name").fill("nobody-at-all")
    desk.get_by_label("Password").fill("wrong password here")
    desk.get_by_role("button", name="Sign in").click()
    expect(desk.get_by_role("alert")).to_contain_text("not right")
    check(desk, "sign-in-refused")


def test_filter_the_staff_page_and_mark_an_item_done(desk: Page, live_server: LiveServer) -> None:
    now = datetime.now(UTC)
    marker = f"browser-{next(_n)}"
    common = {
        "kind": "task",
        "reason": "two sessions held",
        "audience": "coordinator",
        "confidential": False,
        "created_at": now,
        "updated_at": now,
    }
    high, low = add(
        live_server,
        LocalItem(
            key=f"{marker}-a",
            rule_id="staff-check-in",
            title=f"Call {marker}",
            priority="high",
            due_at=now + timedelta(days=2),
            **common,
        ),
        LocalItem(
            key=f"{marker}-b",
            rule_id="staff-check-in",
            title=f"Write {marker}",
            priority="low",
            due_at=now + timedelta(days=30),
            **common,
        ),
    )
    sign_in(desk, live_server, "coordinator", "/staff")
    check(desk, "staff")

    desk.get_by_label("Rule").select_option("staff-check-in")
    desk.get_by_label("Priority").select_option("high")
    desk.get_by_role("button", name="Filter").click()
    expect(desk.get_by_role("cell", name=f"Call {marker}")).to_be_visible()
    expect(desk.get_by_role("cell", name=f"Write {marker}")).to_have_count(0)
    check(desk, "staff-filtered")

    desk.get_by_label(f"Note for task {high}").fill("called the mentee")
    desk.get_by_role("button", name=f"Mark task {high} done").click()
    expect(desk.get_by_role("status")).to_contain_text(f"Marked done: Call {marker}")
    item = get(live_server, LocalItem, high)
    assert (item.status, item.done_note) == ("done", "called the mentee")
    assert get(live_server, LocalItem, low).status == "open"
    check(desk, "staff-done")


def test_replay_a_dead_letter(desk: Page, live_server: LiveServer) -> None:
    now = datetime.now(UTC)
    [row_id] = add(
        live_server,
        InboxEvent(
            source="zoom",
            delivery_id=f"dead-{next(_n)}",
            event_type="meeting.ended",
            payload={},
            events=[],
            received_at=now,
            status="dead",
            attempts=5,
            next_attempt_at=now,
            last_error="ValueError: could not parse",
        ),
    )
    sign_in(desk, live_server, "admin", "/admin/dead-letters")
    expect(desk.get_by_text("ValueError: could not parse").first).to_be_visible()
    check(desk, "dead-letters")

    desk.get_by_role("button", name=f"Replay inbox row {row_id}").click()
    expect(desk.get_by_role("status")).to_contain_text(f"Inbox row {row_id} queued again")
    deadline = time.monotonic() + 15
    while get(live_server, InboxEvent, row_id).status != "done" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert get(live_server, InboxEvent, row_id).status == "done"  # the runner processed it

    for path, name in (("/admin/inbox", "inbox"), ("/admin/outbox", "outbox")):
        desk.goto(live_server.url(path))
        check(desk, name)


def test_move_a_concern_through_its_states(desk: Page, live_server: LiveServer) -> None:
    reference = f"C-BR{next(_n):04d}"
    add(
        live_server,
        Concern(
            reference=reference,
            body="a worrying message",
            status="new",
            created_at=datetime.now(UTC),
        ),
    )
    sign_in(desk, live_server, "safeguarding", "/admin/concerns")
    check(desk, "concerns")

    desk.get_by_role("button", name=f"Acknowledge {reference}").click()
    expect(desk.get_by_role("status")).to_contain_text(f"{reference} is now acknowledged")
    desk.get_by_role("button", name=f"Start investigating {reference}").click()
    expect(desk.get_by_role("status")).to_contain_text(f"{reference} is now investigating")
    desk.get_by_label(f"Outcome for {reference}").select_option("no_violation")
    desk.get_by_role("button", name=f"Resolve {reference}").click()
    expect(desk.get_by_role("status")).to_contain_text(f"{reference} is now resolved")
    check(desk, "concerns-resolved")
    with live_server.store.session() as session:
        concern = session.query(Concern).filter_by(reference=reference).one()
        assert (concern.status, concern.outcome) == ("resolved", "no_violation")


def test_request_a_recording_link_with_a_purpose(desk: Page, live_server: LiveServer) -> None:
    n = next(_n)
    [meeting_id] = add(
        live_server,
        Meeting(
            platform="zoom", external_id=f"9{n}", instance_uuid=f"uuid-{n}", topic="", held=True
        ),
    )
    [recording_id] = add(
        live_server,
        Recording(
            meeting_id=meeting_id,
            platform="zoom",
            external_id=f"file-{n}",
            file_type="MP4",
            status="available",
            created_at=datetime.now(UTC),
        ),
    )
    sign_in(desk, live_server, "safeguarding", "/admin/recordings")
    check(desk, "recordings")

    form = desk.locator("form", has=desk.get_by_role("button", name=f"recording {recording_id}"))
    form.get_by_label("Dispute").check()
    form.get_by_label("Why you need it").fill("the mentee disputes what was said")
    form.get_by_role("button", name=f"Request a link to recording {recording_id}").click()
    expect(desk.get_by_role("status")).to_contain_text("Access for dispute is recorded")
    expect(desk.get_by_text(f"file-{n}")).to_be_visible()
    check(desk, "recording-access")


def test_every_console_page_for_the_admin(page: Page, live_server: LiveServer) -> None:
    """Phone-sized, the admin's pages: overview, adapters, rules, the audit log."""
    sign_in(page, live_server, "admin", "/admin/")
    check(page, "overview")
    page.get_by_role("link", name="Adapters").first.click()
    page.get_by_role("button", name="Check connection of host:local").click()
    expect(page.get_by_role("status")).to_contain_text("host:local: connection ok")
    check(page, "adapters")
    page.goto(live_server.url("/admin/rules"))
    check(page, "rules")
    page.goto(live_server.url("/admin/audit?action=adapter."))
    expect(page.get_by_role("cell", name="adapter.checked").first).to_be_visible()
    check(page, "audit-log")
