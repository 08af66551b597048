"""`mentor-connector demo`: the embedded default, end to end, on a fresh temporary store.

It starts the real server (`serve`) as a child process, seeds a small program through the
JSON API, sends a realistic sequence of signed Zoom webhooks over HTTP — duplicates and
out-of-order deliveries included — and prints the tasks and alerts that resulted.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import requests

from webhooks.zoom import sign

DAY = "2026-11-02"
VETTED = ("professional_verification", "personal_references", "interview")


# --------------------------------------------------------------------------- payloads


def meeting_payload(
    event: str, meeting_id: str, uuid: str, start: str, end: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A Zoom `meeting.*` body in the documented shape (reference §1.3)."""
    obj: dict[str, Any] = {
        "uuid": uuid,
        "id": meeting_id,
        "host_id": "z8yAAAAA8bbbQ",
        "topic": "Mentoring session",
        "type": 2,
        "start_time": start,
        "timezone": "America/New_York",
        "duration": 45,
    }
    if end:
        obj["end_time"] = end
    obj.update(extra)
    return {
        "event": event,
        "event_ts": _ms(end or start),
        "payload": {"account_id": "AbC123", "object": obj},
    }


def participant_payload(
    event: str, meeting_id: str, uuid: str, name: str, email: str, at: str, user_id: str
) -> dict[str, Any]:
    time_field = "join_time" if event.endswith("joined") else "leave_time"
    person = {
        "user_id": user_id,
        "user_name": name,
        "id": "",
        "email": email,
        time_field: at,
        "registrant_id": "",
    }
    return meeting_payload(event, meeting_id, uuid, at, participant=person) | {"event_ts": _ms(at)}


def recording_payload(
    meeting_id: str, uuid: str, start: str, file_ids: list[str], download: str = "AAAA"
) -> dict[str, Any]:
    """`recording.completed`: `id` is a number here, unlike in meeting events."""
    files = [
        {
            "id": fid,
            "meeting_id": uuid,
            "recording_start": start,
            "recording_end": start,
            "file_type": "MP4",
            "file_extension": "MP4",
            "file_size": 3400000,
            "download_url": f"https://zoom.us/rec/webhook_download/{download}{n}",
            "status": "completed",
            "recording_type": "shared_screen_with_speaker_view",
        }
        for n, fid in enumerate(file_ids)
    ]
    return {
        "event": "recording.completed",
        "event_ts": _ms(start),
        "download_token": f"token-{download}",
        "payload": {
            "account_id": "AbC123",
            "object": {
                "uuid": uuid,
                "id": int(meeting_id),
                "host_id": "z8yAAAAA8bbbQ",
                "topic": "Mentoring session",
                "type": 2,
                "start_time": start,
                "host_email": "",
                "duration": 45,
                "total_size": 3400000,
                "recording_count": len(files),
                "recording_files": files,
            },
        },
    }


def session_deliveries(
    meeting_id: str, uuid: str, start: str, end: str, people: list[tuple[str, str, str]]
) -> list[dict[str, Any]]:
    """A held session: started, each person joins and leaves, ended."""
    out = [meeting_payload("meeting.started", meeting_id, uuid, start)]
    for name, email, uid in people:
        out.append(
            participant_payload(
                "meeting.participant_joined", meeting_id, uuid, name, email, start, uid
            )
        )
        out.append(
            participant_payload("meeting.participant_left", meeting_id, uuid, name, email, end, uid)
        )
    out.append(meeting_payload("meeting.ended", meeting_id, uuid, start, end))
    return out


def _ms(iso: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso).timestamp() * 1000)


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_server(
    config: Path, env: dict[str, str], *, runner: bool = True, timeout: float = 30.0
) -> Iterator[subprocess.Popen[bytes]]:
    """`mentor-connector serve` in its own process group, stopped (whole group) on exit."""
    args = [sys.executable, "-m", "connector", "--config", str(config), "serve"]
    if not runner:
        args.append("--no-runner")
    log = open(config.with_suffix(".log"), "ab")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        args, env=env, stdout=log, stderr=log, start_new_session=True
    )
    try:
        wait_until(lambda: _ready(config, env), timeout, "the server did not become ready", proc)
        yield proc
    finally:
        stop_group(proc)
        log.close()


def stop_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with _suppress():
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
    with _suppress():  # workers orphaned by a SIGKILL of the master
        os.killpg(proc.pid, signal.SIGKILL)


def _suppress() -> suppress:
    return suppress(ProcessLookupError)


def _ready(config: Path, env: dict[str, str]) -> bool:
    url = f"http://127.0.0.1:{_port_of(config)}/readyz"
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _port_of(config: Path) -> int:
    import tomllib

    port: int = tomllib.loads(config.read_text())["server"]["port"]
    return port


def wait_until(
    check: Callable[[], bool],
    timeout: float,
    message: str,
    proc: subprocess.Popen[bytes] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{message}: the process exited with {proc.returncode}")
        time.sleep(0.1)
    raise TimeoutError(message)


def write_config(directory: Path, database_url: str, *, port: int | None = None) -> Path:
    config = directory / "connector.toml"
    config.write_text(
        f"""[connector]
database_url = "{database_url}"
[server]
port = {port or free_port()}
workers = 1
[admin]
tokens = ["env:CONNECTOR_ADMIN_TOKEN"]
safeguarding_tokens = ["env:CONNECTOR_SAFEGUARDING_TOKEN"]
[runner]
poll_interval_seconds = 0.1
[scheduler]
# The demo shows webhooks in, tasks out: the daily checks would race the seeding and make
# the output depend on timing (they have their own tests and `run-checks`).
enabled = false
[video.zoom]
webhook_secret = "env:ZOOM_WEBHOOK_SECRET"
""",
        encoding="utf-8",
    )
    return config


def demo_env() -> dict[str, str]:
    return os.environ | {
        "CONNECTOR_ADMIN_TOKEN": secrets.token_urlsafe(24),
        "CONNECTOR_SAFEGUARDING_TOKEN": secrets.token_urlsafe(24),
        "ZOOM_WEBHOOK_SECRET": secrets.token_urlsafe(24),
        "PYTHONUNBUFFERED": "1",
    }


class Client:
    """Just enough of a client for the demo and the process tests."""

    def __init__(self, config: Path, env: dict[str, str]) -> None:
        self.base = f"http://127.0.0.1:{_port_of(config)}"
        self.admin = {"Authorization": f"Bearer {env['CONNECTOR_ADMIN_TOKEN']}"}
        self.safeguarding = {"Authorization": f"Bearer {env['CONNECTOR_SAFEGUARDING_TOKEN']}"}
        self.secret = env["ZOOM_WEBHOOK_SECRET"]

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        kwargs.setdefault("headers", self.admin)
        response = requests.request(method, self.base + "/api/v1" + path, timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()

    def send(self, payload: dict[str, Any]) -> requests.Response:
        body = json.dumps(payload, separators=(",", ":")).encode()
        return requests.post(
            self.base + "/webhooks/zoom", data=body, headers=sign(self.secret, body), timeout=10
        )

    def idle(self) -> bool:
        text = requests.get(self.base + "/metrics", timeout=5).text
        return not any(
            line.startswith(
                (
                    'connector_inbox_rows{status="pending"}',
                    'connector_outbox_rows{status="pending"}',
                    'connector_outbox_rows{status="delivering"}',
                )
            )
            and not line.endswith(" 0")
            for line in text.splitlines()
        )


# --------------------------------------------------------------------------- the demo


def seed(client: Client) -> dict[str, int]:
    people = {}
    for key, role, name in (
        ("maya", "mentor", "Maya Okafor"),
        ("eli", "mentee", "Eli Brooks"),
        ("sam", "mentor", "Sam Rivera"),
        ("ana", "mentee", "Ana Lima"),
    ):
        person: dict[str, Any] = {
            "role": role,
            "name": name,
            "email": f"{key}@example.org",
            "status": "active",
        }
        if role == "mentor":
            person["vetting"] = [
                {"step": step, "status": "passed", "completed_on": "2026-09-01"} for step in VETTED
            ]
        person = client.api("POST", "/people", json=person)
        people[key] = person["id"]
    p1 = client.api(
        "POST",
        "/pairings",
        json={
            "mentor_id": people["maya"],
            "mentee_id": people["eli"],
            "status": "active",
            "started_on": "2026-10-15",
            "zoom_meeting_id": "81234567890",
        },
    )["id"]
    p2 = client.api(
        "POST",
        "/pairings",
        json={
            "mentor_id": people["sam"],
            "mentee_id": people["ana"],
            "status": "active",
            "started_on": "2026-10-15",
        },
    )["id"]
    for party in ("mentor", "mentee"):
        client.api(
            "POST",
            f"/pairings/{p2}/consent",
            json={"party": party, "consent": True, "at": "2026-10-20T09:00:00Z"},
        )
    return {"p1": p1, "p2": p2}


def deliveries() -> list[dict[str, Any]]:
    maya = ("Maya Okafor", "maya@example.org", "16778240")
    eli = ("Eli Brooks", "eli@example.org", "16778241")
    sam = ("Sam Rivera", "sam@example.org", "16778242")
    ana = ("Ana Lima", "ana@example.org", "16778243")
    out: list[dict[str, Any]] = []
    # Pairing 1 (registered Zoom id): session 1, recorded without anyone's consent.
    s1 = session_deliveries(
        "81234567890", "p1s1AAAAAA==", f"{DAY}T15:00:00Z", f"{DAY}T15:45:00Z", [maya, eli]
    )
    rec = recording_payload("81234567890", "p1s1AAAAAA==", f"{DAY}T15:01:00Z", ["rec-p1s1"])
    rec_again = recording_payload(
        "81234567890", "p1s1AAAAAA==", f"{DAY}T15:01:00Z", ["rec-p1s1"], download="BBBB"
    )  # same files, another URL
    out += [*reversed(s1), rec, rec_again]  # ended first, joins last: out of order
    # Pairing 2 (matched by e-mail): two sessions, the second recorded with both consents.
    for n, day in ((1, "2026-11-03"), (2, "2026-11-10")):
        out += session_deliveries(
            "82222222222", f"p2s{n}BBBBBB==", f"{day}T17:00:00Z", f"{day}T17:50:00Z", [sam, ana]
        )
    out.append(
        recording_payload("82222222222", "p2s2BBBBBB==", "2026-11-10T17:02:00Z", ["rec-p2s2"])
    )
    # Maya meets Ana, who is not her mentee, on an unregistered meeting.
    out += session_deliveries(
        "83333333333", "xAAAAAAAAA==", "2026-11-12T19:00:00Z", "2026-11-12T19:30:00Z", [maya, ana]
    )
    out.append(
        meeting_payload(
            "meeting.sharing_started", "83333333333", "xAAAAAAAAA==", "2026-11-12T19:05:00Z"
        )
    )  # ignored with a reason
    return out


def run_demo(keep: bool = False) -> int:
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="mentor-connector-demo-"))
    env = demo_env()
    config = write_config(workdir, f"sqlite:///{workdir}/connector.db")
    try:
        subprocess.run(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "connector",
                "--config",
                str(config),
                "db",
                "upgrade",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        with running_server(config, env):
            client = Client(config, env)
            pairings = seed(client)
            print(f"Seeded 4 people and 2 active pairings (P{pairings['p1']}, P{pairings['p2']}).")
            counts: dict[str, int] = {}
            payloads = deliveries()
            for payload in payloads + payloads[:6] + payloads[-4:]:  # some delivered twice
                status = client.send(payload).json().get("status", "?")
                counts[status] = counts.get(status, 0) + 1
            print(
                "Sent signed Zoom webhooks over HTTP: "
                + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            )
            wait_until(client.idle, 30, "the runner did not finish")
            _print_items(client)
    finally:
        if keep:
            print(f"\nStore and logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nDone in {time.monotonic() - started:.1f} s.")
    return 0


def _print_items(client: Client) -> None:
    for kind in ("alerts", "tasks"):
        items = client.api("GET", f"/{kind}", headers=client.safeguarding)[kind]
        print(f"\n{kind.capitalize()} ({len(items)}), as the safeguarding lead sees them:")
        for item in items:
            print(f"  [{item['priority']:<8}] {item['rule']:<24} {item['title']}")
            print(f"             {item['reason']}")
