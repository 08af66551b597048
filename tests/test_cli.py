"""The `mentor-connector` command line (`connector.cli.main`, also `python -m connector`).

Specifications, each on SQLite and PostgreSQL where a store is involved:
- `check-config` prints the resolved settings with every secret masked, and an invalid file
  fails with every error at once, each with its key path;
- `db upgrade` brings an empty database to the newest revision, `db current` then exits 0;
  `serve` refuses an out-of-date schema before any server starts, saying what to run;
- `events` and `outbox` show rows, and `replay`/`retry` queue them again (audited) without
  ever repeating a decision; an unknown row id fails clearly and changes nothing;
- `check-connection` reports the `local` host and each video platform with API credentials;
- `python -m connector` is the same command line as the console script.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from sqlalchemy import select, text

from connector.cli import main
from connector.clock import FrozenClock
from connector.demo import recording_payload
from connector.services import Services
from connector.store.db import Store, make_engine, schema_revisions
from connector.store.models import AuditEntry, InboxEvent, LocalItem, OutboxItem, Recording
from tests.support import BACKENDS, PG_URL, TEST_ENV, count, make_pairing, send_zoom

MEETING_ID = "81234567890"
UUID = "p1s1AAAAAA=="
CONFIG = """\
[connector]
database_url = {url}

[admin]
tokens = ["env:T_ADMIN"]
coordinator_tokens = ["env:T_COORD"]
safeguarding_tokens = ["env:T_SAFE"]

[video.zoom]
webhook_secret = "env:T_ZOOM"
"""


# --------------------------------------------------------------------------- helpers


def write_config(path: Path, database_url: str, extra: str = "") -> Path:
    path.write_text(CONFIG.format(url=json.dumps(database_url)) + extra, encoding="utf-8")
    return path


def cli(config: Path, *args: str) -> Result:
    """Run the command line in-process, with the variables the config refers to set."""
    env: dict[str, str | None] = {**TEST_ENV, "CONNECTOR_CONFIG": None}
    return CliRunner(env=env).invoke(main, ["--config", str(config), *args], catch_exceptions=False)


def audit_rows(store: Store, action: str) -> list[AuditEntry]:
    with store.session() as session:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(session.scalars(query))


def commands(help_text: str) -> list[str]:
    """The command names of a click group's `--help`."""
    section = help_text.split("Commands:", 1)[1]
    return re.findall(r"^  (\S+)", section, flags=re.MULTILINE)


def catch_up_with_the_cli(clock: FrozenClock) -> None:
    """The CLI stamps rows it queues again with the real time; let the frozen clock pass it."""
    clock.set(max(clock.now(), datetime.now(UTC)) + timedelta(minutes=1))


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Path:
    return write_config(tmp_path / "connector.toml", database_url)


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty' / 'connector.db'}"
        return
    assert PG_URL
    schema = f"mc_empty_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def delivered(client: FlaskClient, services: Services, clock: FrozenClock) -> dict[str, Any]:
    """A recording made without consent, received and processed through the app."""
    ids = make_pairing(client)
    payload = recording_payload(MEETING_ID, UUID, "2026-11-02T13:01:00Z", ["rec-1", "rec-2"])
    response = send_zoom(client, payload, clock)
    assert response.status_code == 200, response.json
    services.drain()
    return {"ids": ids, "payload": payload, "delivery_id": response.json["delivery_id"]}


def inbox_row(store: Store) -> InboxEvent:
    with store.session() as session:
        [row] = session.scalars(select(InboxEvent).where(InboxEvent.source == "zoom")).all()
        return row


# --------------------------------------------------------------------------- check-config


def test_check_config_prints_resolved_settings_with_secrets_masked(
    config: Path, database_url: str
) -> None:
    result = cli(config, "check-config")

    assert result.exit_code == 0, result.output
    first, _, rest = result.stdout.partition("\n")
    assert first == f"# settings from: {config}"
    settings = json.loads(rest)
    assert settings["connector"]["database_url"] == database_url
    assert settings["admin"] == {
        "tokens": ["env:T_ADMIN (set, ****)"],
        "coordinator_tokens": ["env:T_COORD (set, ****)"],
        "safeguarding_tokens": ["env:T_SAFE (set, ****)"],
    }
    assert settings["zoom"]["webhook_secret"] == "env:T_ZOOM (set, ****)"
    assert settings["host"]["adapter"] == "local"
    assert settings["server"]["port"] == 8000  # defaults are resolved, not omitted
    for secret in TEST_ENV.values():
        assert secret not in result.output


def test_check_config_reports_every_error_with_its_key_path(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        """\
[connector]
database_url = "mysql://db/connector"
timezone = "Mars/Olympus"

[server]
port = 70000
colour = "blue"

[admin]
tokens = ["plain-secret-in-the-file"]

[video.zoom]
webhook_secret = "env:NOT_SET_ANYWHERE"

[rules.no-such-rule]
enabled = true
""",
        encoding="utf-8",
    )

    result = cli(config, "check-config")

    assert result.exit_code != 0
    for path in (
        "connector.database_url:",
        "connector.timezone: unknown time zone",
        "server.port:",
        "server.colour: unknown key",
        "admin.tokens.0: must be a reference",
        "video.zoom.webhook_secret: environment variable NOT_SET_ANYWHERE is not set",
        "rules.no-such-rule: unknown rule",
    ):
        assert path in result.output, result.output
    assert "plain-secret-in-the-file" not in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("content", "expected"),
    [(None, "cannot read"), ("[connector\n", "not valid TOML")],
    ids=["missing", "not-toml"],
)
def test_an_unreadable_config_fails_clearly(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    config = tmp_path / "connector.toml"
    if content is not None:
        config.write_text(content, encoding="utf-8")

    result = cli(config, "check-config")

    assert result.exit_code != 0
    assert expected in result.output and str(config) in result.output


# --------------------------------------------------------------------------- db and serve


def test_db_upgrade_brings_an_empty_database_to_head(
    tmp_path: Path, empty_database_url: str
) -> None:
    config = write_config(tmp_path / "connector.toml", empty_database_url)

    before = cli(config, "db", "current")
    upgraded = cli(config, "db", "upgrade")
    after = cli(config, "db", "current")
    again = cli(config, "db", "upgrade")

    engine = make_engine(empty_database_url)
    try:
        current, head = schema_revisions(engine)
    finally:
        engine.dispose()
    assert head is not None and current == head
    assert before.exit_code == 1
    assert before.stdout.strip() == f"database: empty; code: {head}"
    assert upgraded.exit_code == 0, upgraded.output
    assert f"database schema is at {head}" in upgraded.stdout
    assert after.exit_code == 0, after.output
    assert after.stdout.strip() == f"database: {head}; code: {head}"
    assert again.exit_code == 0, again.output


@pytest.mark.timeout(60)
def test_serve_refuses_an_unmigrated_database_before_starting_a_server(
    tmp_path: Path, empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import connector.server

    started: list[Any] = []

    def fake_serve(*args: Any, **kwargs: Any) -> None:  # would block if really started
        started.append((args, kwargs))

    monkeypatch.setattr(connector.server, "serve", fake_serve)
    config = write_config(tmp_path / "connector.toml", empty_database_url)

    result = cli(config, "serve", "--port", "1")

    assert started == []
    assert result.exit_code != 0
    assert "mentor-connector db upgrade" in result.output


def test_serve_on_a_current_database_hands_over_to_the_server(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import connector.server

    started: list[dict[str, Any]] = []
    monkeypatch.setattr(connector.server, "serve", lambda settings, **kw: started.append(kw))

    result = cli(config, "serve", "--port", "8123", "--no-runner")

    assert result.exit_code == 0, result.output
    assert started == [{"host": None, "port": 8123, "workers": None, "runner": False}]


# --------------------------------------------------------------------------- events


def test_events_list_shows_the_delivery(
    config: Path, store: Store, delivered: dict[str, Any]
) -> None:
    row = inbox_row(store)

    result = cli(config, "events", "list")
    dead = cli(config, "events", "list", "--status", "dead")

    assert result.exit_code == 0, result.output
    lines = {int(line.split()[0]): line for line in result.stdout.splitlines()}
    assert list(lines) == sorted(lines, reverse=True)  # newest first
    assert count(store, InboxEvent) == len(lines)  # the API's own events are inbox rows too
    line = lines[row.id]
    assert line.split()[:4] == [str(row.id), "done", "1", "zoom"]
    assert "recording.completed" in line and delivered["delivery_id"] in line
    assert (dead.exit_code, dead.stdout) == (0, "")


def test_events_show_prints_the_row_as_json(
    config: Path, store: Store, delivered: dict[str, Any]
) -> None:
    row = inbox_row(store)

    result = cli(config, "events", "show", str(row.id))

    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert (shown["id"], shown["source"], shown["event_type"], shown["status"]) == (
        row.id,
        "zoom",
        "recording.completed",
        "done",
    )
    assert shown["delivery_id"] == delivered["delivery_id"]
    assert shown["payload"] == delivered["payload"]
    assert shown["events"] and isinstance(shown["events"], list)


def test_events_replay_processes_the_row_again_without_repeating_a_decision(
    config: Path,
    store: Store,
    services: Services,
    clock: FrozenClock,
    delivered: dict[str, Any],
) -> None:
    row = inbox_row(store)
    outbox, local = count(store, OutboxItem), count(store, LocalItem)
    recordings = count(store, Recording)
    assert (outbox, local) == (2, 2)

    result = cli(config, "events", "replay", str(row.id))

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{row.id}: queued again"
    replayed = inbox_row(store)
    assert (replayed.status, replayed.attempts) == ("pending", 0)
    [entry] = audit_rows(store, "inbox.replayed")
    assert (entry.actor, entry.subject_type, entry.subject_id) == ("cli", "inbox", str(row.id))

    catch_up_with_the_cli(clock)
    services.drain()

    assert inbox_row(store).status == "done"
    assert count(store, OutboxItem) == outbox
    assert count(store, LocalItem) == local
    assert count(store, Recording) == recordings


def test_events_replay_of_several_rows(
    config: Path, store: Store, client: FlaskClient, clock: FrozenClock, services: Services
) -> None:
    make_pairing(client)
    for uuid_, files in (("u1==", ["a"]), ("u2==", ["b"])):
        send_zoom(
            client, recording_payload(MEETING_ID, uuid_, "2026-11-02T13:01:00Z", files), clock
        )
    services.drain()
    with store.session() as session:
        query = select(InboxEvent.id).where(InboxEvent.source == "zoom").order_by(InboxEvent.id)
        ids = session.scalars(query).all()

    result = cli(config, "events", "replay", *map(str, ids))

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{i}: queued again" for i in ids]
    assert count(store, InboxEvent, InboxEvent.status == "pending") == 2
    assert len(audit_rows(store, "inbox.replayed")) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("events", "show", "999"), "no inbox row 999"),
        (("events", "replay", "999"), "999"),
        (("outbox", "retry", "999"), "999"),
    ],
    ids=["show", "replay", "retry"],
)
def test_an_unknown_row_id_fails_clearly(
    config: Path, store: Store, args: tuple[str, ...], message: str
) -> None:
    result = cli(config, *args)

    assert result.exit_code != 0
    assert "Error:" in result.output and message in result.output
    assert "Traceback" not in result.output
    assert count(store, AuditEntry) == 0


@pytest.mark.parametrize("group", ["events", "outbox"])
def test_a_requeue_with_an_unknown_id_changes_nothing_and_says_so(
    config: Path, store: Store, delivered: dict[str, Any], group: str
) -> None:
    """All or nothing: when one id is unknown no row is queued, and none is reported queued."""
    model = InboxEvent if group == "events" else OutboxItem
    with store.session() as session:
        known = session.scalars(select(model.id).order_by(model.id)).first()
    command = "replay" if group == "events" else "retry"

    result = cli(config, group, command, str(known), "999")

    assert result.exit_code != 0
    assert "999" in result.output
    assert count(store, model, model.status == "pending") == 0
    assert count(store, AuditEntry, AuditEntry.actor == "cli") == 0
    assert "queued again" not in result.output, result.output


# --------------------------------------------------------------------------- outbox


def test_outbox_retry_queues_a_dead_row_again_and_it_is_delivered(
    config: Path,
    store: Store,
    client: FlaskClient,
    services: Services,
    clock: FrozenClock,
) -> None:
    make_pairing(client)
    payload = recording_payload(MEETING_ID, UUID, "2026-11-02T13:01:00Z", ["rec-1"])
    send_zoom(client, payload, clock)
    services.runner.run_once()  # two decisions in the outbox, none delivered yet
    with store.session() as session:
        dead = session.scalars(select(OutboxItem).order_by(OutboxItem.id)).first()
        assert dead is not None
        dead.status, dead.attempts, dead.last_error = "dead", 8, "InvalidRequest: refused"
        dead_id, dead_key = dead.id, dead.key
    services.drain()
    assert count(store, LocalItem) == 1  # the dead decision never reached the host

    listed = cli(config, "outbox", "list", "--status", "dead")
    assert listed.exit_code == 0, listed.output
    [line] = listed.stdout.splitlines()
    assert line.split()[:3] == [str(dead_id), "dead", "8"]
    assert dead_key in line and "last error: InvalidRequest: refused" in line

    result = cli(config, "outbox", "retry", str(dead_id))

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{dead_id}: queued again"
    with store.session() as session:
        row = session.get_one(OutboxItem, dead_id)
        assert (row.status, row.attempts) == ("pending", 0)
    [entry] = audit_rows(store, "outbox.retried")
    assert (entry.actor, entry.subject_type, entry.subject_id) == ("cli", "outbox", str(dead_id))

    catch_up_with_the_cli(clock)
    services.drain()

    with store.session() as session:
        assert session.get_one(OutboxItem, dead_id).status == "done"
        keys = set(session.scalars(select(LocalItem.key)))
    assert dead_key in keys and len(keys) == 2
    all_rows = cli(config, "outbox", "list")
    assert len(all_rows.stdout.splitlines()) == 2
    assert all(" done " in line for line in all_rows.stdout.splitlines())


def test_outbox_retry_of_a_delivered_row_writes_no_second_item(
    config: Path,
    store: Store,
    services: Services,
    clock: FrozenClock,
    delivered: dict[str, Any],
) -> None:
    with store.session() as session:
        row_id = session.scalars(select(OutboxItem.id)).first()
    assert row_id is not None

    result = cli(config, "outbox", "retry", str(row_id))
    catch_up_with_the_cli(clock)
    services.drain()

    assert result.exit_code == 0, result.output
    assert count(store, OutboxItem) == 2
    assert count(store, LocalItem) == 2
    assert count(store, OutboxItem, OutboxItem.status == "done") == 2


# --------------------------------------------------------------------------- connection


def test_check_connection_to_the_local_host(config: Path) -> None:
    result = cli(config, "check-connection")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("local: ok")


@responses.activate(assert_all_requests_are_fired=True)
def test_check_connection_tries_each_video_platform_with_credentials(config: Path) -> None:
    with config.open("a", encoding="utf-8") as file:
        file.write('account_id = "acct-1"\nclient_id = "client-1"\nclient_secret = "env:T_ZOOM"\n')
    responses.post(
        "https://zoom.us/oauth/token",
        status=401,
        json={"reason": "Invalid client_id or client_secret", "error": "invalid_client"},
    )

    result = cli(config, "check-connection")

    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("local: ok")
    assert lines[-1].startswith("zoom: unauthorized")


def test_commands_that_need_the_store_refuse_an_unmigrated_database(
    tmp_path: Path, empty_database_url: str
) -> None:
    config = write_config(tmp_path / "connector.toml", empty_database_url)

    result = cli(config, "events", "list")

    assert result.exit_code != 0
    assert "mentor-connector db upgrade" in result.output


# --------------------------------------------------------------------------- entry points


def test_python_dash_m_connector_is_the_same_command_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CONNECTOR_CONFIG"}

    module = subprocess.run(
        [sys.executable, "-m", "connector", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    script = CliRunner().invoke(main, ["--help"], prog_name="mentor-connector")

    assert module.returncode == 0, module.stderr
    assert script.exit_code == 0, script.output
    assert module.stdout.startswith("Usage: mentor-connector ")
    expected = sorted(main.commands)
    assert commands(module.stdout) == commands(script.output) == expected
    for name in ("check-config", "check-connection", "db", "serve", "events", "outbox"):
        assert name in expected
