"""Sign-in, the staff page and the admin console, through the Flask test client.

- Accounts: a right password signs in with an HttpOnly, SameSite=Lax session cookie; a wrong
  one, an unknown name and a disabled account get the same refusal; five refusals in 15
  minutes lock the name (even the right password) until the window passes; disabling, a new
  password and 12 hours each end a session; `next` never leads off the site; without a
  secret key the console says what to configure. A session never works on /api/v1.
- Every POST needs the CSRF token; every action is audited under `user:<name>`.
- /staff filters by rule, pairing, priority and due day and marks items done with a note;
  confidential items are whole only for safeguarding, closed only by safeguarding.
- The console: a connection check, exemptions with reasons, replay and retry of dead
  letters, the concern workflow, recording links for a purpose, the audit log's filters.
- The `users` CLI: the password comes from a prompt or stdin, never an argument.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connector import accounts
from connector.app import create_app
from connector.clock import FrozenClock
from connector.settings import Secret, Settings
from connector.store.db import Store
from connector.store.models import (
    AuditEntry,
    Concern,
    Exemption,
    InboxEvent,
    LocalItem,
    Meeting,
    OutboxItem,
    Recording,
    SignInFailure,
    User,
)
from tests.support import ADMIN, START
from tests.test_cli import write_config

PASSWORD = "correct horse battery staple"
ROLES = ("admin", "coordinator", "safeguarding")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

# --------------------------------------------------------------------------- helpers


def with_secret_key(settings: Settings) -> Settings:
    key = Secret("env:CONNECTOR_SECRET_KEY", "secret-key-for-admin-tests-0123456789")
    return dataclasses.replace(
        settings, connector=dataclasses.replace(settings.connector, secret_key=key)
    )


@pytest.fixture
def app(settings: Settings, store: Store, clock: FrozenClock) -> Flask:
    return create_app(with_secret_key(settings), store=store, clock=clock)


@pytest.fixture
def users(store: Store) -> dict[str, str]:
    """One account per role, named after it."""
    with store.session() as session:
        for role in ROLES:
            accounts.add_user(session, role, role, PASSWORD, START, "test")
    return {role: role for role in ROLES}


def csrf_token(client: FlaskClient, path: str = "/admin/sign-in") -> str:
    page = client.get(path).get_data(as_text=True)
    found = CSRF.search(page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD, **form: str) -> Any:
    token = csrf_token(client)
    data = {"username": username, "password": password, "csrf_token": token} | form
    return client.post("/admin/sign-in", data=data)


def post(client: FlaskClient, path: str, page: str, **form: str) -> Any:
    """POST a console form the way the browser does: with the token from `page`."""
    return client.post(path, data={"csrf_token": csrf_token(client, page)} | form)


def follow(client: FlaskClient, response: Any) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return client.get(response.headers["Location"]).get_data(as_text=True)


def audit_rows(store: Store, action: str) -> list[AuditEntry]:
    with store.session() as session:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(session.scalars(query))


def add(store: Store, *rows: Any) -> list[int]:
    with store.session() as session:
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def get(store: Store, model: Any, ident: int) -> Any:
    with store.session() as session:
        return session.get_one(model, ident)


def local_item(**fields: Any) -> LocalItem:
    values: dict[str, Any] = {
        "key": f"k-{fields.get('title', 'x')}",
        "kind": "task",
        "rule_id": "feedback-after-sessions",
        "title": "Collect feedback",
        "reason": "two sessions held",
        "priority": "normal",
        "audience": "coordinator",
        "confidential": False,
        "created_at": START,
        "updated_at": START,
    }
    return LocalItem(**(values | fields))


# --------------------------------------------------------------------------- signing in


def test_the_right_password_signs_in_with_a_locked_down_cookie(
    client: FlaskClient, users: dict[str, str], store: Store
) -> None:
    response = sign_in(client, "coordinator", next="/staff")

    assert response.status_code == 303
    assert response.headers["Location"] == "/staff"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert PASSWORD not in cookie
    page = client.get("/staff").get_data(as_text=True)
    assert "Signed in as the coordinator role" in page
    assert [e.actor for e in audit_rows(store, "user.signed_in")] == ["user:coordinator"]


def test_the_password_is_stored_as_a_scrypt_hash(store: Store, users: dict[str, str]) -> None:
    user = get(store, User, 1)
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    ("username", "password"),
    [("admin", "wrong password here"), ("nobody", PASSWORD), ("admin", "")],
)
def test_a_refused_sign_in_does_not_say_which_part_was_wrong(
    client: FlaskClient, users: dict[str, str], store: Store, username: str, password: str
) -> None:
    response = sign_in(client, username, password)

    assert response.status_code in (400, 401)
    assert "Set-Cookie" not in response.headers or "session=;" in response.headers["Set-Cookie"]
    assert client.get("/admin/").status_code == 303
    if password:
        assert "The user name or password is not right" in response.get_data(as_text=True)
        assert len(audit_rows(store, "user.sign_in_refused")) == 1


def test_a_disabled_account_cannot_sign_in_and_its_session_ends(
    client: FlaskClient, users: dict[str, str], store: Store
) -> None:
    assert sign_in(client, "admin").status_code == 303
    assert client.get("/admin/").status_code == 200
    with store.session() as session:
        accounts.set_active(session, "admin", False, START, "test")

    assert client.get("/admin/").status_code == 303  # back to the sign-in page
    assert sign_in(client, "admin").status_code == 401


def test_a_new_password_ends_the_old_sessions(
    client: FlaskClient, users: dict[str, str], store: Store
) -> None:
    sign_in(client, "admin")
    with store.session() as session:
        accounts.set_password(session, "admin", "another long password", START, "test")

    assert client.get("/admin/").status_code == 303
    assert sign_in(client, "admin").status_code == 401
    assert sign_in(client, "admin", "another long password").status_code == 303


def test_a_session_lasts_twelve_hours(
    client: FlaskClient, users: dict[str, str], clock: FrozenClock
) -> None:
    sign_in(client, "admin")
    clock.advance(hours=11, minutes=59)
    assert client.get("/admin/").status_code == 200
    clock.advance(minutes=2)
    assert client.get("/admin/").status_code == 303


def test_five_failures_lock_the_name_for_fifteen_minutes(
    client: FlaskClient, users: dict[str, str], store: Store, clock: FrozenClock
) -> None:
    for _ in range(accounts.MAX_FAILURES_PER_USER):
        assert sign_in(client, "admin", "wrong password here").status_code == 401

    locked = sign_in(client, "admin")  # the right password, too late
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60 + 1
    assert "Too many failed sign-ins" in locked.get_data(as_text=True)
    assert sign_in(client, "coordinator").status_code == 303  # other names are not locked

    clock.advance(minutes=15, seconds=1)
    assert sign_in(client, "admin").status_code == 303


def test_many_failures_from_one_address_lock_it_for_every_name(
    client: FlaskClient, users: dict[str, str], store: Store
) -> None:
    add(
        store,
        *[
            SignInFailure(username=f"guess{i}", address="127.0.0.1", at=START)
            for i in range(accounts.MAX_FAILURES_PER_ADDRESS)
        ],
    )
    assert sign_in(client, "admin").status_code == 429


@pytest.mark.parametrize(("proxy_hops", "locked"), [(0, True), (1, False)])
def test_behind_a_trusted_proxy_the_lock_is_per_client_address(
    settings: Settings,
    store: Store,
    clock: FrozenClock,
    users: dict[str, str],
    proxy_hops: int,
    locked: bool,
) -> None:
    """The proxy (127.0.0.1) is locked; a client behind it is not, once its hop is trusted.
    Untrusted, X-Forwarded-For is the client's own word and changes nothing."""
    server = dataclasses.replace(settings.server, proxy_hops=proxy_hops)
    app = create_app(
        with_secret_key(dataclasses.replace(settings, server=server)), store=store, clock=clock
    )
    add(
        store,
        *[
            SignInFailure(username=f"guess{i}", address="127.0.0.1", at=START)
            for i in range(accounts.MAX_FAILURES_PER_ADDRESS)
        ],
    )
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"

    assert sign_in(client, "admin").status_code == (429 if locked else 303)


def test_sign_in_without_the_csrf_token_is_refused(
    client: FlaskClient, users: dict[str, str]
) -> None:
    response = client.post("/admin/sign-in", data={"username": "admin", "password": PASSWORD})

    assert response.status_code == 400
    assert client.get("/admin/").status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_next_never_leads_off_the_site(
    client: FlaskClient, users: dict[str, str], target: str
) -> None:
    response = sign_in(client, "admin", next=target)

    assert response.headers["Location"] == "/admin/"


def test_a_page_without_a_session_sends_the_browser_to_sign_in_and_back(
    client: FlaskClient, users: dict[str, str]
) -> None:
    response = client.get("/admin/audit?actor=cli")

    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/sign-in?next=%2Fadmin%2Faudit%3Factor%3Dcli"


def test_sign_out_ends_the_session(
    client: FlaskClient, users: dict[str, str], store: Store
) -> None:
    sign_in(client, "admin")

    page = follow(client, post(client, "/admin/sign-out", "/admin/"))

    assert "You are signed out." in page
    assert client.get("/admin/").status_code == 303
    assert [e.actor for e in audit_rows(store, "user.signed_out")] == ["user:admin"]


def test_a_session_does_not_open_the_json_api(client: FlaskClient, users: dict[str, str]) -> None:
    sign_in(client, "admin")

    assert client.get("/api/v1/people").status_code == 401


def test_without_a_secret_key_the_console_says_what_to_configure(
    settings: Settings, store: Store, clock: FrozenClock
) -> None:
    client = create_app(settings, store=store, clock=clock).test_client()

    response = client.get("/admin/sign-in")

    assert response.status_code == 503
    assert "[connector] secret_key" in response.get_data(as_text=True)


def test_a_role_without_access_gets_a_403_page(client: FlaskClient, users: dict[str, str]) -> None:
    sign_in(client, "coordinator")

    response = client.get("/admin/audit", headers={"Accept": "text/html"})

    assert response.status_code == 403
    assert "the coordinator role may not do this" in response.get_data(as_text=True)


# --------------------------------------------------------------------------- /staff


@pytest.fixture
def staff_items(store: Store) -> dict[str, int]:
    due = START + timedelta(days=3)  # 2026-11-05
    ids = add(
        store,
        local_item(title="Feedback P1", pairing_id=None, due_at=due),
        local_item(title="Goals", rule_id="introductory-session", priority="high", due_at=None),
        local_item(
            title="Recording without consent",
            kind="alert",
            rule_id="recording-consent",
            priority="critical",
            confidential=True,
            audience="safeguarding",
        ),
        local_item(title="Late feedback", due_at=due + timedelta(days=7)),
    )
    return dict(zip(("feedback", "goals", "confidential", "late"), ids, strict=True))


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ({}, {"Feedback P1", "Goals", "Late feedback"}),
        ({"rule": "introductory-session"}, {"Goals"}),
        ({"priority": "high"}, {"Goals"}),
        ({"due_by": "2026-11-05"}, {"Feedback P1"}),
        ({"due_from": "2026-11-06"}, {"Late feedback"}),
        ({"due_from": "2026-11-05", "due_by": "2026-11-05"}, {"Feedback P1"}),
    ],
)
def test_the_staff_page_filters(
    client: FlaskClient,
    users: dict[str, str],
    staff_items: dict[str, int],
    query: dict[str, str],
    shown: set[str],
) -> None:
    sign_in(client, "coordinator")

    page = client.get("/staff", query_string=query).get_data(as_text=True)

    titles = {"Feedback P1", "Goals", "Late feedback"}
    assert {t for t in titles if f"<td>{t}</td>" in page} == shown


def test_a_bad_filter_is_shown_as_an_error_not_ignored(
    client: FlaskClient, users: dict[str, str], staff_items: dict[str, int]
) -> None:
    sign_in(client, "admin")

    response = client.get("/staff", query_string={"due_by": "next week"})

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and "Collect feedback" not in page


def test_confidential_alerts_are_whole_only_for_safeguarding(
    client: FlaskClient, users: dict[str, str], staff_items: dict[str, int], store: Store
) -> None:
    sign_in(client, "coordinator")
    page = client.get("/staff").get_data(as_text=True)
    assert "Recording without consent" not in page
    assert "Confidential item for the safeguarding lead" in page
    assert audit_rows(store, "confidential.viewed") == []

    sign_in(client, "safeguarding")
    page = client.get("/staff").get_data(as_text=True)
    assert "Recording without consent" in page
    assert [e.actor for e in audit_rows(store, "confidential.viewed")] == ["user:safeguarding"]


def test_marking_done_takes_a_note_and_is_audited(
    client: FlaskClient, users: dict[str, str], staff_items: dict[str, int], store: Store
) -> None:
    sign_in(client, "coordinator")
    item_id = staff_items["feedback"]

    page = follow(
        client, post(client, f"/staff/items/{item_id}/done", "/staff", note="called both")
    )

    assert "Marked done: Feedback P1" in page
    item = get(store, LocalItem, item_id)
    assert (item.status, item.done_note, item.done_by) == (
        "done",
        "called both",
        "user:coordinator",
    )
    assert [e.subject_id for e in audit_rows(store, "task.done")] == [str(item_id)]
    assert "<td>Feedback P1</td>" not in page


def test_marking_done_without_a_note_changes_nothing(
    client: FlaskClient, users: dict[str, str], staff_items: dict[str, int], store: Store
) -> None:
    sign_in(client, "coordinator")

    page = follow(client, post(client, f"/staff/items/{staff_items['goals']}/done", "/staff"))

    assert "Not saved. note:" in page
    assert get(store, LocalItem, staff_items["goals"]).status == "open"


def test_only_safeguarding_closes_a_confidential_item(
    client: FlaskClient, users: dict[str, str], staff_items: dict[str, int], store: Store
) -> None:
    path = f"/staff/items/{staff_items['confidential']}/done"
    sign_in(client, "coordinator")
    page = follow(client, post(client, path, "/staff", note="seen"))
    assert "only the safeguarding role may close this item" in page
    assert get(store, LocalItem, staff_items["confidential"]).status == "open"

    sign_in(client, "safeguarding")
    follow(client, post(client, path, "/staff", note="recording trashed"))
    assert get(store, LocalItem, staff_items["confidential"]).status == "done"


def test_marking_done_without_the_csrf_token_is_refused(
    client: FlaskClient, users: dict[str, str], staff_items: dict[str, int], store: Store
) -> None:
    sign_in(client, "admin")

    response = client.post(f"/staff/items/{staff_items['goals']}/done", data={"note": "x"})

    assert response.status_code == 400
    assert get(store, LocalItem, staff_items["goals"]).status == "open"


# --------------------------------------------------------------------------- the console


@pytest.fixture
def admin_client(client: FlaskClient, users: dict[str, str]) -> FlaskClient:
    assert sign_in(client, "admin").status_code == 303
    return client


def test_checking_the_hosts_connection(admin_client: FlaskClient, store: Store) -> None:
    page = admin_client.get("/admin/adapters").get_data(as_text=True)
    assert "host:local" in page

    page = follow(admin_client, post(admin_client, "/admin/adapters/host:local/check", "/admin/"))

    assert "host:local: connection ok" in page
    [entry] = audit_rows(store, "adapter.checked")
    assert (entry.actor, entry.subject_id, entry.detail) == (
        "user:admin",
        "host:local",
        {"code": "ok"},
    )


def test_an_exemption_needs_a_reason_and_is_revoked_with_one(
    admin_client: FlaskClient, store: Store
) -> None:
    page = follow(
        admin_client,
        post(admin_client, "/admin/exemptions", "/admin/rules", rule_id="staff-check-in"),
    )
    assert "Not saved. reason:" in page
    assert audit_rows(store, "exemption.created") == []

    reason = "the partner school does the check-ins"
    form = {"rule_id": "staff-check-in", "reason": reason}
    page = follow(admin_client, post(admin_client, "/admin/exemptions", "/admin/rules", **form))
    assert "Exemption #1 from staff-check-in recorded." in page and reason in page

    revoke = "/admin/exemptions/1/revoke"
    page = follow(admin_client, post(admin_client, revoke, "/admin/rules", reason="short"))
    assert "Not saved. reason:" in page
    assert get(store, Exemption, 1).revoked_at is None
    why = "the school stopped doing them"
    follow(admin_client, post(admin_client, revoke, "/admin/rules", reason=why))
    assert get(store, Exemption, 1).revoked_at is not None
    assert audit_rows(store, "exemption.revoked")[0].detail == {"reason": why}


def dead_rows(store: Store) -> tuple[int, int]:
    [inbox_id] = add(
        store,
        InboxEvent(
            source="zoom",
            delivery_id="d-1",
            event_type="meeting.ended",
            payload={},
            events=[],
            received_at=START,
            status="dead",
            attempts=5,
            next_attempt_at=START,
            last_error="ValueError: bad",
        ),
    )
    [outbox_id] = add(
        store,
        OutboxItem(
            key="task:x",
            kind="task",
            rule_id="feedback-after-sessions",
            decision={},
            status="dead",
            attempts=8,
            next_attempt_at=START,
            last_error="Conflict: matched twice",
            created_at=START,
        ),
    )
    return inbox_id, outbox_id


def test_dead_letters_are_replayed_and_retried(
    admin_client: FlaskClient, store: Store, clock: FrozenClock
) -> None:
    inbox_id, outbox_id = dead_rows(store)
    page = admin_client.get("/admin/dead-letters").get_data(as_text=True)
    assert "ValueError: bad" in page and "Conflict: matched twice" in page
    clock.advance(hours=1)

    for path in (f"/admin/inbox/{inbox_id}/replay", f"/admin/outbox/{outbox_id}/retry"):
        page = follow(admin_client, post(admin_client, path, "/admin/dead-letters"))
        assert "queued again" in page

    for model, ident in ((InboxEvent, inbox_id), (OutboxItem, outbox_id)):
        row = get(store, model, ident)
        assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, clock.now())
    assert [e.actor for e in audit_rows(store, "inbox.replayed")] == ["user:admin"]
    assert [e.actor for e in audit_rows(store, "outbox.retried")] == ["user:admin"]


def test_replaying_a_missing_row_says_so(admin_client: FlaskClient) -> None:
    page = follow(admin_client, post(admin_client, "/admin/inbox/99/replay", "/admin/inbox"))

    assert "no inbox row 99; nothing was queued" in page


@pytest.mark.parametrize(("queue", "status"), [("inbox", "dead"), ("outbox", "dead")])
def test_the_queues_filter_by_status(
    admin_client: FlaskClient, store: Store, queue: str, status: str
) -> None:
    dead_rows(store)
    assert "row 1" in admin_client.get(f"/admin/{queue}?status={status}").get_data(as_text=True)
    assert "No " in admin_client.get(f"/admin/{queue}?status=done").get_data(as_text=True)
    assert admin_client.get(f"/admin/{queue}?status=bogus").status_code == 400


def test_a_concern_moves_through_its_states(
    client: FlaskClient, users: dict[str, str], store: Store
) -> None:
    [concern_id] = add(
        store, Concern(reference="C-0001", body="worrying message", status="new", created_at=START)
    )
    sign_in(client, "safeguarding")
    page = client.get("/admin/concerns").get_data(as_text=True)
    assert "worrying message" in page
    assert [e.actor for e in audit_rows(store, "concern.viewed")] == ["user:safeguarding"]

    path = f"/admin/concerns/{concern_id}/status"
    for status in ("acknowledged", "investigating"):
        page = follow(client, post(client, path, "/admin/concerns", status=status))
        assert f"Concern C-0001 is now {status}." in page
    page = follow(client, post(client, path, "/admin/concerns", status="resolved"))
    assert "a resolved concern needs an outcome" in page
    page = follow(
        client, post(client, path, "/admin/concerns", status="resolved", outcome="no_violation")
    )
    assert "Concern C-0001 is now resolved (no violation)." in page
    page = follow(client, post(client, path, "/admin/concerns", status="acknowledged"))
    assert "concern C-0001 is resolved" in page

    concern = get(store, Concern, concern_id)
    assert (concern.status, concern.outcome) == ("resolved", "no_violation")
    assert [e.action for e in audit_rows(store, "concern.resolved")] == ["concern.resolved"]


def test_concerns_are_not_shown_to_the_admin(admin_client: FlaskClient, store: Store) -> None:
    add(store, Concern(reference="C-0002", body="secret body", status="new", created_at=START))

    response = admin_client.get("/admin/concerns")

    assert response.status_code == 403
    assert "secret body" not in response.get_data(as_text=True)
    assert audit_rows(store, "concern.viewed") == []


def a_recording(store: Store) -> int:
    [meeting_id] = add(
        store,
        Meeting(platform="zoom", external_id="81", instance_uuid="u-1==", topic="", held=True),
    )
    [recording_id] = add(
        store,
        Recording(
            meeting_id=meeting_id,
            platform="zoom",
            external_id="file-1",
            file_type="MP4",
            status="available",
            created_at=START,
        ),
    )
    return recording_id


def test_a_recording_link_needs_a_purpose_and_is_audited(
    client: FlaskClient, users: dict[str, str], store: Store
) -> None:
    recording_id = a_recording(store)
    sign_in(client, "safeguarding")
    path = f"/admin/recordings/{recording_id}/access"

    page = follow(client, post(client, path, "/admin/recordings", note="complaint about P1"))
    assert "Not saved. purpose:" in page
    assert audit_rows(store, "recording.accessed") == []

    response = post(client, path, "/admin/recordings", purpose="dispute", note="complaint")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "Access for dispute is recorded" in page and "file-1" in page
    [entry] = audit_rows(store, "recording.accessed")
    assert (entry.actor, entry.detail) == (
        "user:safeguarding",
        {"purpose": "dispute", "note": "complaint"},
    )


def test_recordings_are_not_for_coordinators(client: FlaskClient, users: dict[str, str]) -> None:
    sign_in(client, "coordinator")

    assert client.get("/admin/recordings").status_code == 403


@pytest.mark.parametrize(
    ("query", "actions"),
    [
        ({"actor": "user:admin"}, ["user.signed_in"]),
        ({"action": "exemption."}, ["exemption.created"]),
        ({"subject_type": "exemption", "subject_id": "1"}, ["exemption.created"]),
        ({"date_from": "2026-11-03"}, []),
        ({"date_to": "2026-11-02", "action": "user.added"}, ["user.added"] * 3),
    ],
)
def test_the_audit_log_filters(
    admin_client: FlaskClient, query: dict[str, str], actions: list[str]
) -> None:
    admin_client.post(
        "/api/v1/exemptions",
        json={"rule_id": "staff-check-in", "reason": "checked in by the school"},
        headers=ADMIN,
    )

    page = admin_client.get("/admin/audit", query_string=query).get_data(as_text=True)

    assert re.findall(r"<td><code>([a-z_.]+)</code></td>", page) == actions


def test_the_audit_log_refuses_a_bad_date(admin_client: FlaskClient) -> None:
    response = admin_client.get("/admin/audit?date_from=yesterday")

    assert response.status_code == 400
    assert "There is a problem" in response.get_data(as_text=True)


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Path:
    return write_config(tmp_path / "connector.toml", database_url)


def run_users(config: Path, *args: str, stdin: str | None = None) -> Any:
    from click.testing import CliRunner

    from connector.cli import main
    from tests.support import TEST_ENV

    env: dict[str, str | None] = {**TEST_ENV, "CONNECTOR_CONFIG": None}
    runner = CliRunner(env=env)
    return runner.invoke(main, ["--config", str(config), "users", *args], input=stdin)


def test_users_add_list_disable_and_set_password(config: Path, store: Store) -> None:
    added = run_users(config, "add", "Ana", "--role", "safeguarding", stdin=f"{PASSWORD}\n" * 2)
    assert added.exit_code == 0, added.output
    assert "user ana added with the safeguarding role" in added.output
    assert PASSWORD not in added.output

    listed = run_users(config, "list")
    assert re.search(r"ana\s+safeguarding\s+active\s+last sign-in never", listed.output)

    assert run_users(config, "disable", "ana").exit_code == 0
    assert "disabled" in run_users(config, "list").output
    changed = run_users(
        config, "set-password", "ana", "--password-stdin", stdin="new long password\n"
    )
    assert changed.exit_code == 0, changed.output
    with store.session() as session:
        assert accounts.sign_in(session, "ana", "new long password", "t", START) is None  # disabled
    assert run_users(config, "enable", "ana").exit_code == 0
    with store.session() as session:
        assert accounts.sign_in(session, "ana", "new long password", "t", START) is not None
    assert [e.actor for e in audit_rows(store, "user.added")] == ["cli"]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("add", "bo", "--role", "admin", "--password-stdin"), "short\n", "at least 12"),
        (("add", "bo", "--role", "janitor", "--password-stdin"), PASSWORD, "'janitor' is not"),
        (("add", "bo", "--role", "admin", "--password", PASSWORD), "", "No such option"),
        (("add", "b o", "--role", "admin", "--password-stdin"), PASSWORD, "a user name is"),
        (("disable", "nobody"), "", "no user nobody"),
    ],
)
def test_users_refusals(
    config: Path, store: Store, args: tuple[str, ...], stdin: str, message: str
) -> None:
    result = run_users(config, *args, stdin=stdin)

    assert result.exit_code != 0
    assert message in result.output
    with store.session() as session:
        assert session.scalars(select(User)).all() == []


def test_adding_a_name_twice_is_refused(config: Path, store: Store) -> None:
    add_args = ("add", "ana", "--role", "admin", "--password-stdin")
    assert run_users(config, *add_args, stdin=PASSWORD).exit_code == 0
    again = run_users(config, *add_args, stdin=PASSWORD)
    assert again.exit_code == 1 and "user ana already exists" in again.output
