"""`run-checks` over a large program: 100,000 active pairings and 1,000,000 meetings on SQLite.

Builds the program once (cached under --workdir), then runs `mentor-connector run-checks`
as a child process several times, each on a fresh copy of the database, and prints the
wall time and peak memory (max RSS) of each run and their medians. Target from the rulebook
issue: under 10 seconds on a 2-core machine.

    .venv/bin/python benchmarks/run_checks.py [--pairings 100000] [--meetings 1000000] [--runs 3]

The data is shaped like a program that mostly keeps its policies: pairings meet about
monthly and one in ten has not met yet this month; 95% have had a check-in with each party
in the last 30 days; nine in ten parties have given feedback. The first run on a store writes
every decision due (tasks and alerts); the output says how many.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from connector.store.db import make_engine, upgrade
from connector.store.models import CheckIn, Meeting, Pairing, Person, Submission

AT = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)  # late in the month: at-risk checks bite
CHUNK = 20_000


def build(path: Path, pairings: int, meetings: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    now = AT
    per_pairing = max(meetings // pairings, 1)
    with engine.begin() as conn:
        conn.execute(
            insert(Person),
            [
                {
                    "id": i,
                    "role": "mentor" if i % 2 else "mentee",
                    "status": "active",
                    "name": f"Person {i}",
                    "email": f"p{i}@example.org",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(1, 2 * pairings + 1)
            ],
        )
        started = [
            date(2026, 1, 5) + timedelta(days=rng.randrange(0, 300)) for _ in range(pairings)
        ]
        for start in range(0, pairings, CHUNK):
            conn.execute(
                insert(Pairing),
                [
                    {
                        "id": p + 1,
                        "mentor_id": 2 * p + 1,
                        "mentee_id": 2 * p + 2,
                        "status": "active",
                        "started_on": started[p],
                        "vetting_override_reason": "benchmark data",
                        "created_at": now,
                        "updated_at": now,
                        "mentor_recording_consent": False,
                        "mentee_recording_consent": False,
                    }
                    for p in range(start, min(start + CHUNK, pairings))
                ],
            )
        rows: list[dict[str, object]] = []
        meeting_id = 0
        for p in range(pairings):
            skip_this_month = rng.random() < 0.1
            for n in range(per_pairing):
                at = now - timedelta(days=3 + 30 * n + rng.randrange(0, 20))
                if skip_this_month and at.month == now.month:
                    at -= timedelta(days=30)
                meeting_id += 1
                rows.append(
                    {
                        "id": meeting_id,
                        "platform": "zoom",
                        "external_id": f"8{p:010d}",
                        "instance_uuid": f"u{meeting_id}",
                        "pairing_id": p + 1,
                        "topic": "",
                        "started_at": at,
                        "ended_at": at + timedelta(minutes=45),
                        "held": True,
                        "kind": "intro" if n == per_pairing - 1 else "regular",
                    }
                )
            if len(rows) >= CHUNK:
                conn.execute(insert(Meeting), rows)
                rows = []
        if rows:
            conn.execute(insert(Meeting), rows)
        check_ins = [
            {
                "pairing_id": p + 1,
                "party": party,
                "at": now - timedelta(days=rng.randrange(1, 31)),
                "by": "staff",
                "notes": "",
                "safety_concern": False,
            }
            for p in range(pairings)
            if rng.random() < 0.95
            for party in ("mentor", "mentee")
        ]
        for start in range(0, len(check_ins), CHUNK):
            conn.execute(insert(CheckIn), check_ins[start : start + CHUNK])
        feedback = [
            {
                "pairing_id": p + 1,
                "party": party,
                "form": "feedback",
                "submitted_at": now,
                "answers": {},
            }
            for p in range(pairings)
            for party in ("mentor", "mentee")
            if rng.random() < 0.9
        ]
        for start in range(0, len(feedback), CHUNK):
            conn.execute(insert(Submission), feedback[start : start + CHUNK])
    engine.dispose()


def run_once(database: Path, workdir: Path) -> tuple[float, float, int]:
    """(seconds, peak RSS in MiB, decisions written) of one `run-checks` child process."""
    config = workdir / "bench.toml"
    config.write_text(
        f'[connector]\ndatabase_url = "sqlite:///{database}"\ntimezone = "America/New_York"\n'
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "connector",
            "--config",
            str(config),
            "run-checks",
            "--at",
            AT.isoformat(),
        ],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ | {"PYTHONWARNINGS": "ignore"},
    )
    elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    written = sum(int(line.split()[1]) for line in result.stdout.splitlines() if " new" in line)
    return elapsed, max(peak_kib, before) / 1024, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairings", type=int, default=100_000)
    parser.add_argument("--meetings", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("var/bench-run-checks"))
    args = parser.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    base = args.workdir / f"program-{args.pairings}-{args.meetings}.db"
    if not base.exists():
        started = time.perf_counter()
        build(base, args.pairings, args.meetings)
        print(f"built {base} in {time.perf_counter() - started:.0f} s")
    results = []
    for _ in range(args.runs):
        copy = args.workdir / "run.db"
        shutil.copyfile(base, copy)
        results.append(run_once(copy.resolve(), args.workdir))
    print(f"run-checks: {args.pairings:,} active pairings, {args.meetings:,} meetings, SQLite")
    for seconds, mib, written in results:
        print(f"  run: {seconds:6.2f} s   peak RSS {mib:6.0f} MiB   {written:,} decisions written")
    print(
        f"  median {statistics.median(r[0] for r in results):.2f} s, "
        f"peak RSS {max(r[1] for r in results):.0f} MiB"
    )


if __name__ == "__main__":
    main()
