"""E-mailing form links (`[notify.smtp]`), against a local SMTP server (aiosmtpd, 127.0.0.1).

| what happens                                      | mails                                    |
|---------------------------------------------------|------------------------------------------|
| a feedback task is delivered                      | one to the mentor, one to the mentee,    |
|                                                   | each with their own signed link          |
| the same task delivered again (a replay)          | none                                     |
| a task that asks for no form / notify disabled    | none                                     |
| the SMTP server is down                           | the notice retries, then is a dead letter |
"""

from __future__ import annotations

import email
import logging
import re
import socket
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from connector.clock import FrozenClock
from connector.domain import Task
from connector.links import read_token
from connector.local_host import LocalHost
from connector.notify import queue_notices
from connector.outbox import Outbox
from connector.runner import write_decision
from connector.settings import Settings
from connector.store.db import Store
from connector.store.models import OutboxItem, Pairing, Person
from tests.support import make_settings

EMAILS = {"mentor": "maya.mentor@example.org", "mentee": "eli.mentee@example.org"}
LINK = re.compile(r"https://connector\.test/forms/(\w+)/(\S+)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Inbox:
    """The aiosmtpd handler: keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def settings_for(database_url: str, port: int, *, enabled: bool = True) -> Settings:
    return make_settings(
        database_url,
        extra_env={"T_KEY": "k" * 32},
        connector={"secret_key": "env:T_KEY", "public_url": "https://connector.test"},
        outbox={"max_attempts": 3, "backoff_initial_seconds": 1.0},
        notify={
            "smtp": {
                "enabled": enabled,
                "host": "127.0.0.1",
                "port": port,
                "from_address": "mentoring@example.org",
                "starttls": False,
                "timeout": 5.0,
            }
        },
    )


def seed(store: Store, clock: FrozenClock) -> dict[str, int]:
    now = clock.now()
    with store.session() as session:
        people = {
            party: Person(
                role=party, name=party.title(), email=address, created_at=now, updated_at=now
            )
            for party, address in EMAILS.items()
        }
        session.add_all(people.values())
        session.flush()
        pairing = Pairing(
            mentor_id=people["mentor"].id,
            mentee_id=people["mentee"].id,
            status="active",
            created_at=now,
            updated_at=now,
        )
        session.add(pairing)
        session.flush()
        return {"pairing": pairing.id} | {party: p.id for party, p in people.items()}


def feedback_task(pairing_id: int) -> Task:
    return Task(
        key=f"feedback-after-sessions:pairing:{pairing_id}:session-2",
        rule_id="feedback-after-sessions",
        reason="Two sessions held: ask both for feedback.",
        pairing_id=pairing_id,
        title="Ask for feedback",
    )


def queue(store: Store, clock: FrozenClock, task: Task) -> None:
    with store.session() as session:
        write_decision(session, task, clock.now())


def rows(store: Store) -> dict[str, str]:
    with store.session() as session:
        return {r.key: r.status for r in session.scalars(select(OutboxItem))}


def drain(outbox: Outbox, rounds: int = 5) -> None:
    for _ in range(rounds):
        if not outbox.run_once():
            return


def test_each_party_gets_their_own_link_once(
    database_url: str,
    store: Store,
    clock: FrozenClock,
    smtp: tuple[Inbox, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    inbox, port = smtp
    settings = settings_for(database_url, port)
    ids = seed(store, clock)
    task = feedback_task(ids["pairing"])
    queue(store, clock, task)
    outbox = Outbox(store, settings, LocalHost(store, clock), clock)
    drain(outbox)

    assert sorted(m["To"] for m in inbox.messages) == sorted(EMAILS.values())
    for message in inbox.messages:
        party = next(p for p, a in EMAILS.items() if a == message["To"])
        assert message["From"] == "mentoring@example.org"
        body = message.get_payload(decode=True).decode()
        [(form, token)] = LINK.findall(body)
        claims = read_token(settings, clock, form, token)
        assert (form, claims.party, claims.person_id, claims.pairing_id) == (
            "feedback",
            party,
            ids[party],
            ids["pairing"],
        )
    assert set(rows(store).values()) == {"done"}

    # The same task delivered again (an admin's replay): written again, nobody mailed again.
    with store.session() as session:
        session.execute(
            update(OutboxItem).where(OutboxItem.key == task.key).values(status="pending")
        )
    drain(outbox)
    assert len(inbox.messages) == 2
    assert queue_notices(store, settings, clock, task) == 0
    # The connector's log lines (aiosmtpd, the test's server, logs the whole conversation).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("connector"))
    assert "notice sent" in logged
    assert not any(address in logged for address in EMAILS.values())
    assert "Please fill in" not in logged


def test_nothing_is_sent_for_a_task_without_a_form_or_when_switched_off(
    database_url: str, store: Store, clock: FrozenClock, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    ids = seed(store, clock)
    other = Task(key="monthly:1", rule_id="monthly-meeting", reason="r", pairing_id=ids["pairing"])
    queue(store, clock, other)
    drain(Outbox(store, settings_for(database_url, port), LocalHost(store, clock), clock))
    queue(store, clock, feedback_task(ids["pairing"]))
    off = settings_for(database_url, port, enabled=False)
    drain(Outbox(store, off, LocalHost(store, clock), clock))
    assert inbox.messages == []
    assert set(rows(store)) == {"monthly:1", feedback_task(ids["pairing"]).key}


def test_an_smtp_failure_retries_then_dead_letters(
    database_url: str, store: Store, clock: FrozenClock
) -> None:
    settings = settings_for(database_url, free_port())  # nothing listens there
    ids = seed(store, clock)
    queue(store, clock, feedback_task(ids["pairing"]))
    outbox = Outbox(store, settings, LocalHost(store, clock), clock)
    drain(outbox)
    notices = {k: v for k, v in rows(store).items() if k.startswith("notify:")}
    assert set(notices.values()) == {"pending"}  # retried after the back-off
    for _ in range(settings.outbox.max_attempts):
        clock.advance(hours=1)
        drain(outbox)
    with store.session() as session:
        dead = session.scalars(select(OutboxItem).where(OutboxItem.kind == "notify")).all()
        assert [(r.status, r.attempts) for r in dead] == [("dead", 3), ("dead", 3)]
        assert all((r.last_error or "").startswith("Unavailable: SMTP") for r in dead)
