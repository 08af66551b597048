"""The real server process: stored before acknowledged, nothing lost and nothing done twice
when the process is killed with SIGKILL between receipt and processing, then restarted.

These tests start `python -m connector serve` (gunicorn) in its own process group on a free
loopback port and always stop the whole group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests
from sqlalchemy import func, select

from connector.demo import VETTED, Client, demo_env, running_server, wait_until, write_config
from connector.store.db import Store
from connector.store.models import InboxEvent
from tests.test_pipeline import ended, recorded

TIMEOUT = 30.0


def _pending(database_url: str, source: str = "zoom") -> int:
    store = Store.from_url(database_url)
    try:
        with store.session() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(InboxEvent)
                    .where(InboxEvent.status == "pending", InboxEvent.source == source)
                )
                or 0
            )
    finally:
        store.dispose()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=TIMEOUT)


def test_sigkill_between_receipt_and_processing_loses_nothing_and_repeats_nothing(
    database_url: str, tmp_path: Path
) -> None:
    env = demo_env()
    config = write_config(tmp_path, database_url)
    deliveries = [ended(), recorded(), recorded("BBBB"), ended(), recorded("CCCC"), ended()]

    # 1. Receive and store only, then die by SIGKILL before anything is processed.
    with running_server(config, env, runner=False) as proc:
        client = Client(config, env)
        vetted = [{"step": step, "status": "passed"} for step in VETTED]
        make = client.api(
            "POST",
            "/people",
            json={"role": "mentor", "name": "Maya", "email": "maya@example.org", "vetting": vetted},
        )
        mentee = client.api(
            "POST", "/people", json={"role": "mentee", "name": "Eli", "email": "eli@example.org"}
        )
        client.api(
            "POST",
            "/pairings",
            json={
                "mentor_id": make["id"],
                "mentee_id": mentee["id"],
                "status": "active",
                "zoom_meeting_id": "81234567890",
            },
        )
        answers = [client.send(d) for d in deliveries]
        assert [a.status_code for a in answers] == [200] * 6
        assert [a.json()["status"] for a in answers[:2]] == ["accepted", "accepted"]
        assert _pending(database_url) == 2  # stored before the 200, still unprocessed
        _kill(proc)

    # 2. Restart with the runner, deliver everything again, and die again at once.
    with running_server(config, env) as proc:
        client = Client(config, env)
        for delivery in deliveries:
            assert client.send(delivery).json()["status"] == "duplicate"
        _kill(proc)

    # 3. Restart: pending and interrupted rows are picked up; exactly one of each effect.
    with running_server(config, env):
        client = Client(config, env)
        wait_until(client.idle, TIMEOUT, "the restarted runner did not finish")
        alerts = client.api("GET", "/alerts", headers=client.safeguarding)["alerts"]
        tasks = client.api("GET", "/tasks", headers=client.safeguarding)["tasks"]

    assert [(a["rule"], a["priority"]) for a in alerts] == [("recording-consent", "critical")]
    assert [t["rule"] for t in tasks] == ["recording-consent"]
    assert tasks[0]["title"].startswith("Remove the recording")
    assert _pending(database_url) == 0


def test_serve_refuses_an_out_of_date_schema_with_what_to_run(tmp_path: Path) -> None:
    env = demo_env()
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/empty.db")
    result = subprocess.run(
        [sys.executable, "-m", "connector", "--config", str(config), "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode != 0
    assert "run `mentor-connector db upgrade` first" in result.stderr


def test_the_demo_runs_end_to_end_over_real_http_within_a_minute() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "connector", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "duplicate" in out and "ignored" in out
    assert "Alerts (2)" in out and "Tasks (4)" in out, out
    for rule in (
        "recording-consent",
        "unregistered-contact",
        "feedback-after-sessions",
        "introductory-session",
    ):
        assert rule in out


def test_readyz_answers_on_the_running_server(database_url: str, tmp_path: Path) -> None:
    env = demo_env()
    config = write_config(tmp_path, database_url)
    with running_server(config, env):
        base = Client(config, env).base
        assert requests.get(base + "/readyz", timeout=5).json()["status"] == "ready"
        assert requests.get(base + "/healthz", timeout=5).status_code == 200
