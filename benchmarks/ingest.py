"""Ingest throughput: the real webhook path against a bare Flask endpoint that only inserts.

DESIGN.md's quality bar: the webhook path (verify the signature, dedupe, durable insert, ack)
keeps most of the throughput of a bare Flask endpoint that only inserts a row. Both are served
by the same gunicorn configuration on the same machine, against the same kind of SQLite store,
and driven by the same client; the script prints requests per second for each round and the
median, then the ratio of medians.

    .venv/bin/python benchmarks/ingest.py [--requests 2000] [--rounds 3] [--clients 8]

Traffic goes only to 127.0.0.1; every server started here is stopped before the script ends.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from connector.demo import (
    demo_env,
    free_port,
    meeting_payload,
    running_server,
    stop_group,
    wait_until,
    write_config,
)
from webhooks.zoom import sign

BARE_APP = textwrap.dedent(
    """
    import sqlite3, sys
    from flask import Flask, request
    path = sys.argv[1]
    app = Flask("bare")
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, body BLOB)")
    setup.commit()
    @app.post("/webhooks/zoom")
    def insert():
        conn = sqlite3.connect(path, timeout=30)
        conn.execute("PRAGMA synchronous=NORMAL")
        with conn:
            conn.execute("INSERT INTO rows (body) VALUES (?)", (request.get_data(),))
        conn.close()
        return {"status": "accepted"}
    @app.get("/readyz")
    def ready():
        return {"status": "ready"}
    """
)


def bodies(count: int, offset: int) -> list[bytes]:
    """Distinct meeting.ended deliveries, so every one is a real insert, not a duplicate."""
    out = []
    for n in range(offset, offset + count):
        payload = meeting_payload(
            "meeting.ended",
            f"8{n:010d}",
            f"bench{n}==",
            "2026-11-02T13:00:00Z",
            "2026-11-02T13:30:00Z",
        )
        out.append(json.dumps(payload, separators=(",", ":")).encode())
    return out


def drive(url: str, payloads: list[bytes], secret: str, clients: int) -> float:
    """Send every payload (signed fresh, as Zoom would) with `clients` threads; requests/s."""
    sessions = [requests.Session() for _ in range(clients)]

    def send(index: int) -> int:
        body = payloads[index]
        session = sessions[index % clients]
        return session.post(url, data=body, headers=sign(secret, body), timeout=30).status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        codes = list(pool.map(send, range(len(payloads))))
    elapsed = time.perf_counter() - started
    if set(codes) != {200}:
        raise RuntimeError(f"unexpected answers: {sorted(set(codes))}")
    return len(payloads) / elapsed


def bare_server(directory: Path, port: int) -> subprocess.Popen[bytes]:
    app = directory / "bare_app.py"
    app.write_text(BARE_APP)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--threads",
            "4",
            "--worker-class",
            "gthread",
            "--bind",
            f"127.0.0.1:{port}",
            f"--chdir={directory}",
            "bare_app:app",
            str(directory / "bare.db"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def ready() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).ok
        except requests.RequestException:
            return False

    wait_until(ready, 30, "the bare server did not start", proc)
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = demo_env()
        config = write_config(work, f"sqlite:///{work}/connector.db")
        subprocess.run(
            [sys.executable, "-m", "connector", "--config", str(config), "db", "upgrade"],
            env=env,
            check=True,
            capture_output=True,
        )
        # Process nothing during the measurement: ingest alone, as the bare endpoint does.
        config.write_text(config.read_text().replace("workers = 1", "workers = 2"))
        results: dict[str, list[float]] = {"connector": [], "bare": []}
        with running_server(config, env, runner=False):
            port = int(config.read_text().split("port = ")[1].split()[0])
            url = f"http://127.0.0.1:{port}/webhooks/zoom"
            for round_no in range(args.rounds):
                payloads = bodies(args.requests, round_no * args.requests)
                results["connector"].append(
                    drive(url, payloads, env["ZOOM_WEBHOOK_SECRET"], args.clients)
                )
        bare_port = free_port()
        bare = bare_server(work, bare_port)
        try:
            for round_no in range(args.rounds):
                payloads = bodies(args.requests, round_no * args.requests)
                results["bare"].append(
                    drive(
                        f"http://127.0.0.1:{bare_port}/webhooks/zoom",
                        payloads,
                        "unused",
                        args.clients,
                    )
                )
        finally:
            stop_group(bare)

    print(
        f"ingest: {args.requests} requests x {args.rounds} rounds, {args.clients} clients, "
        "gunicorn 2 workers x 4 threads, SQLite WAL"
    )
    for name, rates in results.items():
        rounds = ", ".join(f"{r:.0f}" for r in rates)
        print(f"  {name:<10} median {statistics.median(rates):7.0f} req/s   (rounds: {rounds})")
    ratio = statistics.median(results["connector"]) / statistics.median(results["bare"])
    print(f"  connector keeps {ratio:.0%} of the bare endpoint's throughput")


if __name__ == "__main__":
    main()
