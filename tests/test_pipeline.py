"""The pipeline as DESIGN.md draws it: receive → inbox → runner → rules → outbox → host.

Specifications, each on SQLite and PostgreSQL:
- a delivery is stored before it is acknowledged, once, however often it is delivered;
- the runner applies state and writes decisions in one transaction;
- the outbox retries with backoff, honours Retry-After, and dead-letters;
- several runners at once never process a row twice.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from connector import runner as runner_module
from connector.app import create_app
from connector.clock import FrozenClock
from connector.demo import meeting_payload, recording_payload
from connector.domain import Alert, Task
from connector.errors import AdapterError, InvalidRequest, RateLimited, Unavailable
from connector.outbox import Outbox
from connector.runner import Runner
from connector.services import Services
from connector.settings import Settings
from connector.store.db import Store
from connector.store.models import (
    AuditEntry,
    InboxEvent,
    LocalItem,
    Meeting,
    OutboxItem,
    Recording,
)
from tests.support import ZOOM_SECRET, count, items, make_pairing, make_settings, send_zoom

MEETING_ID = "81234567890"
UUID = "p1s1AAAAAA=="


def ended() -> dict[str, Any]:
    return meeting_payload(
        "meeting.ended", MEETING_ID, UUID, "2026-11-02T13:00:00Z", "2026-11-02T13:45:00Z"
    )


def recorded(download: str = "AAAA") -> dict[str, Any]:
    return recording_payload(
        MEETING_ID, UUID, "2026-11-02T13:01:00Z", ["rec-1", "rec-2"], download=download
    )


# --------------------------------------------------------------------------- the core case


def test_recording_without_consent_gives_one_alert_and_one_removal_task_however_delivered(
    client: FlaskClient, services: Services, clock: FrozenClock, store: Store
) -> None:
    ids = make_pairing(client)
    deliveries = [recorded(), ended(), recorded("BBBB"), ended(), recorded("CCCC"), ended()]
    statuses = [send_zoom(client, d, clock).json["status"] for d in deliveries]
    assert statuses == ["accepted", "accepted", "duplicate", "duplicate", "duplicate", "duplicate"]

    services.drain()
    services.drain()  # a second round finds nothing new to do

    alerts, tasks = items(client, "alert"), items(client, "task")
    assert [(a["rule"], a["priority"], a["confidential"]) for a in alerts] == [
        ("recording-consent", "critical", True)
    ]
    assert [(t["rule"], t["title"].split(" of ")[0]) for t in tasks] == [
        ("recording-consent", "Remove the recording")
    ]
    assert alerts[0]["pairing_id"] == tasks[0]["pairing_id"] == ids["pairing"]
    assert count(store, InboxEvent, InboxEvent.source == "zoom") == 2
    assert count(store, OutboxItem) == 2
    assert count(store, OutboxItem, OutboxItem.status == "done") == 2


def test_recording_with_both_consents_is_kept_restricted_and_audited(
    client: FlaskClient, services: Services, clock: FrozenClock, store: Store
) -> None:
    make_pairing(client, consent=("2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z"))
    send_zoom(client, ended(), clock)
    send_zoom(client, recorded(), clock)
    services.drain()

    assert items(client, "alert") == []
    assert items(client, "task") == []
    with store.session() as session:
        assert [r.restricted for r in session.scalars(select(Recording))] == [True, True]
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject_type == "recording")
        ).all()
    assert actions == ["recording.restricted", "recording.restricted"]


# --------------------------------------------------------------------------- status codes


@pytest.mark.parametrize(
    ("tamper", "status", "error"),
    [
        ("signature", 401, "bad_signature"),
        ("stale", 401, "stale_timestamp"),
        ("unsigned", 401, "bad_signature"),
        ("not-json", 400, "bad_payload"),
        ("empty", 400, "bad_payload"),
    ],
)
def test_refused_deliveries_store_nothing(
    client: FlaskClient, clock: FrozenClock, store: Store, tamper: str, status: int, error: str
) -> None:
    from webhooks.zoom import sign

    body = b"{not json" if tamper == "not-json" else b"" if tamper == "empty" else b'{"a":1}'
    if tamper != "not-json" and tamper != "empty":
        import json

        body = json.dumps(ended()).encode()
    stamp = int(clock.now().timestamp()) - (3600 if tamper == "stale" else 0)
    headers = sign(ZOOM_SECRET, body, stamp)
    if tamper == "signature":
        headers["x-zm-signature"] = headers["x-zm-signature"][:-4] + "0000"
    if tamper == "unsigned":
        del headers["x-zm-signature"]

    response = client.post("/webhooks/zoom", data=body, headers=headers)

    assert (response.status_code, response.json["error"]) == (status, error)
    assert count(store, InboxEvent) == 0


def test_unknown_event_is_acknowledged_and_logged(
    client: FlaskClient, clock: FrozenClock, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    payload = meeting_payload("meeting.summary_completed", MEETING_ID, UUID, "2026-11-02T13:00Z")
    with caplog.at_level(logging.WARNING, logger="connector.webhooks.unsupported"):
        response = send_zoom(client, payload, clock)
    assert (response.status_code, response.json["status"]) == (200, "unsupported")
    assert "event=meeting.summary_completed" in caplog.text
    assert count(store, InboxEvent) == 0


def test_unknown_source_is_404(client: FlaskClient) -> None:
    assert client.post("/webhooks/nowhere", data=b"{}").status_code == 404


def test_store_unavailable_answers_503_so_the_sender_retries(
    settings: Settings, clock: FrozenClock
) -> None:
    # A real store that cannot be reached: nothing listens on port 1 of the loopback.
    down = Store.from_url("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    client = create_app(settings, store=down, clock=clock).test_client()
    response = send_zoom(client, ended(), clock)
    assert (response.status_code, response.json["error"]) == (503, "store_unavailable")
    down.dispose()


# --------------------------------------------------------------------------- the runner


def test_a_failing_row_is_retried_then_dead_lettered_without_blocking_others(
    services: Services, clock: FrozenClock, store: Store, settings: Settings
) -> None:
    services.inbox.accept("zoom", "poison", "meeting.ended", {}, [])
    with store.session() as session:
        poison = session.scalars(select(InboxEvent)).one()
        poison.events = [{"kind": "no.such.event"}]
    services.inbox.accept("zoom", "fine", "meeting.ended", {}, [])

    assert services.runner.run_once() == 2
    with store.session() as session:
        rows = {r.delivery_id: r for r in session.scalars(select(InboxEvent))}
    assert rows["fine"].status == "done"
    assert rows["poison"].status == "pending"
    assert rows["poison"].attempts == 1
    assert rows["poison"].next_attempt_at > clock.now()
    assert "unknown kind" in (rows["poison"].last_error or "")

    for _ in range(settings.runner.max_attempts):
        clock.advance(hours=1)
        services.runner.run_once()
    with store.session() as session:
        poison = session.scalars(select(InboxEvent).where(InboxEvent.delivery_id == "poison")).one()
    assert (poison.status, poison.attempts) == ("dead", settings.runner.max_attempts)


def test_state_and_decisions_roll_back_together_when_processing_fails(
    client: FlaskClient,
    services: Services,
    clock: FrozenClock,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_pairing(client)
    send_zoom(client, ended(), clock)
    send_zoom(client, recorded(), clock)

    def crash(*_: Any, **__: Any) -> list[Any]:
        raise RuntimeError("crashed after the state change, before the outbox write")

    monkeypatch.setattr(runner_module, "evaluate", crash)
    services.runner.run_once()
    assert count(store, Meeting) == 0  # the state change did not outlive the failure
    assert count(store, OutboxItem) == 0
    assert (
        count(store, InboxEvent, InboxEvent.source == "zoom", InboxEvent.status == "pending") == 2
    )

    monkeypatch.undo()
    clock.advance(minutes=10)
    services.drain()
    assert len(items(client, "alert")) == 1


def test_several_runners_never_process_a_row_twice(database_url: str, clock: FrozenClock) -> None:
    settings = make_settings(database_url)
    first = Store.from_url(database_url)
    inbox_store = Store.from_url(database_url)
    from connector.inbox import Inbox

    inbox = Inbox(inbox_store, clock)
    for n in range(40):
        payload = meeting_payload(
            "meeting.ended",
            f"8{n:010d}",
            f"u{n}==",
            "2026-11-02T13:00:00Z",
            "2026-11-02T13:30:00Z",
        )
        from webhooks.zoom import ZoomReceiver

        events = ZoomReceiver("s").handled_events["meeting.ended"](payload)
        inbox.accept("zoom", f"d{n}", "meeting.ended", payload, events)

    stores = [first, Store.from_url(database_url), Store.from_url(database_url)]
    runners = [Runner(s, settings, clock) for s in stores]
    done: list[int] = []

    def work(runner: Runner) -> None:
        for _ in range(100):
            processed = runner.run_once(limit=5)
            done.append(processed)
            if not processed:
                return

    threads = [threading.Thread(target=work, args=(r,)) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(done) == 40
    with first.session() as session:
        attempts = session.scalars(select(InboxEvent.attempts)).all()
    assert sorted(attempts) == [1] * 40
    assert count(first, Meeting) == 40
    for s in [*stores, inbox_store]:
        s.dispose()


# --------------------------------------------------------------------------- the outbox


class FlakyHost:
    """A host double that fails with the given errors, in order, then succeeds."""

    name = "flaky"

    def __init__(self, *failures: AdapterError) -> None:
        self.failures = list(failures)
        self.written: list[str] = []

    def check_connection(self) -> Any:
        raise NotImplementedError

    def streams(self) -> dict[str, Any]:
        return {}

    def upsert_task(self, task: Task, key: str, subject: Any = None) -> str:
        return self._write(key)

    def upsert_alert(self, alert: Alert, key: str, subject: Any = None) -> str:
        return self._write(key)

    def _write(self, key: str) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.written.append(key)
        return key


def outbox_with(store: Store, settings: Settings, clock: FrozenClock, host: FlakyHost) -> Outbox:
    with store.session() as session:
        runner_module.write_decision(
            session, Task(key="t:1", rule_id="test", reason="because", title="Do it"), clock.now()
        )
    return Outbox(store, settings, host, clock)


def item(store: Store) -> OutboxItem:
    with store.session() as session:
        return session.scalars(select(OutboxItem)).one()


def test_outbox_retries_with_backoff_and_jitter_then_delivers_once(
    store: Store, settings: Settings, clock: FrozenClock
) -> None:
    host = FlakyHost(Unavailable("503 from host"), Unavailable("503 again"))
    outbox = outbox_with(store, settings, clock, host)

    assert outbox.run_once() == 1
    first = item(store)
    assert (first.status, first.attempts) == ("pending", 1)
    wait = (first.next_attempt_at - clock.now()).total_seconds()
    initial = settings.outbox.backoff_initial_seconds
    assert initial <= wait <= 2 * initial  # initial * 2**0 plus up to `initial` of jitter

    assert outbox.run_once() == 0  # not due yet
    clock.advance(seconds=wait)
    outbox.run_once()
    second = item(store)
    assert second.attempts == 2
    assert 2 * initial <= (second.next_attempt_at - clock.now()).total_seconds() <= 3 * initial

    clock.advance(minutes=5)
    outbox.run_once()
    assert (item(store).status, host.written) == ("done", ["t:1"])


def test_outbox_honours_retry_after(store: Store, settings: Settings, clock: FrozenClock) -> None:
    outbox = outbox_with(store, settings, clock, FlakyHost(RateLimited("429", retry_after=120)))
    outbox.run_once()
    assert item(store).next_attempt_at == clock.now() + timedelta(seconds=120)


def test_outbox_dead_letters_a_request_the_host_rejects_as_invalid(
    store: Store, settings: Settings, clock: FrozenClock
) -> None:
    outbox = outbox_with(store, settings, clock, FlakyHost(InvalidRequest("bad picklist")))
    outbox.run_once()
    dead = item(store)
    assert (dead.status, dead.attempts) == ("dead", 1)
    assert dead.last_error == "InvalidRequest: bad picklist"


def test_outbox_dead_letters_after_max_attempts(
    database_url: str, store: Store, clock: FrozenClock
) -> None:
    settings = make_settings(database_url, outbox={"max_attempts": 3})
    host = FlakyHost(*[Unavailable("down")] * 10)
    outbox = outbox_with(store, settings, clock, host)
    for _ in range(5):
        outbox.run_once()
        clock.advance(hours=2)
    assert (item(store).status, item(store).attempts, host.written) == ("dead", 3, [])


def test_an_interrupted_delivery_is_picked_up_when_its_lease_runs_out(
    store: Store, settings: Settings, clock: FrozenClock
) -> None:
    host = FlakyHost()
    outbox = outbox_with(store, settings, clock, host)
    assert len(outbox._claim(10)) == 1  # claimed by a process that then died
    assert outbox.run_once() == 0  # still leased

    clock.advance(seconds=settings.outbox.lease_seconds + 1)
    assert outbox.run_once() == 1
    assert (item(store).status, host.written) == ("done", ["t:1"])


def test_the_same_decision_twice_is_one_outbox_row_and_one_local_item(
    services: Services, store: Store, clock: FrozenClock
) -> None:
    task = Task(
        key="feedback:P1:session-2",
        rule_id="feedback-after-sessions",
        reason="r",
        title="Collect feedback",
    )
    with store.session() as session:
        assert runner_module.write_decision(session, task, clock.now()) is True
        assert runner_module.write_decision(session, task, clock.now()) is False
    services.drain()
    services.host.upsert_task(task, task.key)  # a replayed delivery
    assert count(store, OutboxItem) == 1
    assert count(store, LocalItem) == 1


def test_on_start_deliveries_of_a_dead_local_process_go_out_at_once(
    store: Store, settings: Settings, clock: FrozenClock
) -> None:
    import os
    import socket

    host = FlakyHost()
    outbox = outbox_with(store, settings, clock, host)
    with store.session() as session:
        session.add(
            OutboxItem(
                key="t:2",
                kind="task",
                rule_id="test",
                status="delivering",
                decision=item_decision("t:2"),
                next_attempt_at=clock.now(),
                lease_until=clock.now() + timedelta(minutes=5),
                created_at=clock.now(),
                lease_owner=f"{socket.gethostname()}:{os.getppid()}",
            )  # alive
        )
    outbox._claim(10)  # t:1 leased by "this" process ...
    with store.session() as session:  # ... which then died: pretend its pid is gone
        row = session.scalars(select(OutboxItem).where(OutboxItem.key == "t:1")).one()
        assert row.lease_owner == f"{socket.gethostname()}:{os.getpid()}"
        row.lease_owner = f"{socket.gethostname()}:999999999"

    assert outbox.recover_interrupted() == 1
    assert outbox.run_once() == 1
    assert host.written == ["t:1"]  # t:2 belongs to a live process and keeps its lease


def test_a_killed_worker_not_yet_reaped_counts_as_dead(
    store: Store, settings: Settings, clock: FrozenClock
) -> None:
    """SIGKILLed workers are zombies until someone reaps them, and zombies answer kill(0)."""
    import os
    import signal
    import socket
    import subprocess

    child = subprocess.Popen(["sleep", "30"])
    try:
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child did not become a zombie"
            time.sleep(0.01)
        os.kill(child.pid, 0)  # still "there" for kill(0)

        outbox = outbox_with(store, settings, clock, FlakyHost())
        outbox._claim(10)
        with store.session() as session:
            row = session.scalars(select(OutboxItem).where(OutboxItem.key == "t:1")).one()
            row.lease_owner = f"{socket.gethostname()}:{child.pid}"

        assert outbox.recover_interrupted() == 1
    finally:
        child.wait(timeout=10)


def item_decision(key: str) -> dict[str, Any]:
    from connector.domain import to_json

    return to_json(Task(key=key, rule_id="test", reason="because", title="Do it"))


def test_meet_deliveries_are_refused_until_push_authentication_is_configured(
    client: FlaskClient, store: Store
) -> None:
    response = client.post(
        "/webhooks/meet",
        json={"message": {"data": "e30=", "messageId": "1", "attributes": {}}},
        headers={"Authorization": "Bearer not-a-google-token"},
    )
    assert (response.status_code, response.json["error"]) == (401, "missing_secret")
    assert count(store, InboxEvent) == 0


def test_the_teams_route_answers_graphs_handshake_and_refuses_without_client_state(
    database_url: str, store: Store, clock: FrozenClock
) -> None:
    settings = make_settings(database_url, video={"teams": {"client_state": "env:T_ZOOM"}})
    client = create_app(settings, store=store, clock=clock).test_client()
    greeting = client.post("/webhooks/teams?validationToken=Validation%3A%20Testing%20client")
    assert (greeting.status_code, greeting.get_data(as_text=True)) == (
        200,
        "Validation: Testing client",
    )
    assert greeting.content_type.startswith("text/plain")
    forged = {
        "value": [
            {
                "subscriptionId": "s",
                "clientState": "guess",
                "resource": "communications/callRecords/1",
                "changeType": "created",
            }
        ]
    }
    response = client.post("/webhooks/teams", json=forged)
    assert response.status_code == 401
    assert count(store, InboxEvent) == 0
