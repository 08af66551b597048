"""A full sync of a large Salesforce org through the real adapter, against a local fake.

A server on 127.0.0.1 (HTTPS with a throw-away self-signed certificate: simple-salesforce
only speaks https) answers SOQL like Salesforce's REST API: `queryAll` with batches of
2,000 records ordered by `SystemModstamp, Id`, `nextRecordsUrl` to the next batch, records
generated on the fly from their index (nothing is held in memory). It serves `--people`
Contacts (half mentors with every vetting step passed) and `--pairings` active pairings.

Each run is a child process on a fresh SQLite store: the real `SalesforceHost` (client,
streams, mapping) read through `connector.sync.Syncer`, a full sync. It prints records per
second and the child's peak memory (max RSS), then the medians over `--runs`.

    .venv/bin/python benchmarks/sync.py [--people 100000] [--pairings 50000] [--runs 3]

The adapter's token flow is skipped (the child's credentials answer with a token for the
fake instance instead of asking Salesforce): only the read path is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

BATCH = 2000
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
VERSION = "62.0"
OBJECTS = {"Contact": "003", "Mentoring_Pair__c": "a01", "Mentoring_Session__c": "a02"}


def record_id(prefix: str, index: int) -> str:
    return f"{prefix}{index:015d}"


def stamp(index: int) -> str:
    return (EPOCH + timedelta(seconds=index)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def contact(i: int) -> dict[str, Any]:
    mentor = i % 2 == 0
    row: dict[str, Any] = {
        "attributes": {"type": "Contact"},
        "Id": record_id("003", i),
        "IsDeleted": False,
        "SystemModstamp": stamp(i),
        "MasterRecordId": None,
        "Mentoring_Role__c": "Mentor" if mentor else "Mentee",
        "Name": f"Person {i}",
        "Mentoring_Status__c": "Active",
        "Email": f"p{i}@example.org",
        "Phone": None,
    }
    for field in ("Professional_Verification_Status__c", "References_Status__c"):
        row[field] = "Passed" if mentor else None
    row["Interview_Status__c"] = "Passed" if mentor else None
    return row


def pairing(k: int) -> dict[str, Any]:
    return {
        "attributes": {"type": "Mentoring_Pair__c"},
        "Id": record_id("a01", k),
        "IsDeleted": False,
        "SystemModstamp": stamp(k),
        "Mentor__c": record_id("003", 2 * k),
        "Mentee__c": record_id("003", 2 * k + 1),
        "Status__c": "Active",
        "Start_Date__c": "2026-01-05",
    }


class Org(BaseHTTPRequestHandler):
    """queryAll and its nextRecordsUrl batches; every other path is a 404."""

    sizes: ClassVar[dict[str, int]] = {}

    def log_message(self, *_: Any) -> None:  # quiet: a benchmark prints its own figures
        pass

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path.endswith("/queryAll/"):
            soql = parse_qs(url.query)["q"][0]
            sobject = re.search(r"FROM (\w+)", soql)
            self._batch(sobject.group(1) if sobject else "", 0)
        elif match := re.search(r"/query/01g-(\w+)-(\d+)$", url.path):
            self._batch(match.group(1), int(match.group(2)))
        else:
            self.send_error(404)

    def _batch(self, sobject: str, offset: int) -> None:
        total = self.sizes.get(sobject, 0)
        make = contact if sobject == "Contact" else pairing
        end = min(offset + BATCH, total)
        body: dict[str, Any] = {
            "totalSize": total,
            "done": end >= total,
            "records": [make(i) for i in range(offset, end)],
        }
        if end < total:
            body["nextRecordsUrl"] = f"/services/data/v{VERSION}/query/01g-{sobject}-{end}"
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(people: int, pairings: int, workdir: Path) -> tuple[ThreadingHTTPServer, Path]:
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(
        ["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    Org.sizes = {"Contact": people, "Mentoring_Pair__c": pairings}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Org)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, cert


def child(port: int, cert: str, database: str) -> None:
    """One full sync through the real Salesforce adapter; prints its figures as JSON."""
    from adapters.salesforce import SalesforceHost
    from adapters.salesforce.client import Credentials, SalesforceClient
    from connector.clock import SystemClock
    from connector.settings import parse_settings
    from connector.store.db import Store, make_engine, upgrade
    from connector.sync import Syncer

    class FakeOrgLogin(Credentials):
        """Skip the token flow (only the read path is measured): a token for the fake org."""

        def login(self, session: Any, version: str) -> tuple[str, str]:
            return "bench", f"127.0.0.1:{port}"

    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    store = Store(engine)
    settings = parse_settings(
        {"connector": {"database_url": f"sqlite:///{database}"},
         "host": {"request_budget": 1_000_000}},
        {}, "benchmark", lenient=True,
    )  # fmt: skip
    os.environ["REQUESTS_CA_BUNDLE"] = cert  # trust the throw-away certificate (this process)
    client = SalesforceClient(
        FakeOrgLogin("client_credentials", "bench", "id", "secret"), version=VERSION
    )
    host = SalesforceHost(client)
    started = time.perf_counter()
    reports = Syncer(store, settings, host, SystemClock()).run(full=True)
    seconds = time.perf_counter() - started
    records = sum(r.records for r in reports)
    errors = [r.error for r in reports if r.error]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"records": records, "seconds": seconds, "peak_mb": peak_mb,
                      "requests": sum(r.requests for r in reports), "errors": errors}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--pairings", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=3, metavar=("PORT", "CERT", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), args.child[1], args.child[2])
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        server, cert = serve(args.people, args.pairings, workdir)
        port = server.server_address[1]
        results = []
        try:
            for run in range(args.runs):
                db = workdir / f"run{run}.db"
                out = subprocess.run(
                    [sys.executable, __file__, "--child", str(port), str(cert), str(db)],
                    check=True, capture_output=True, text=True, timeout=3600,
                )  # fmt: skip
                result = json.loads(out.stdout.strip().splitlines()[-1])
                results.append(result)
                rate = result["records"] / result["seconds"]
                print(f"run {run + 1}: {result['records']} records in {result['seconds']:.1f} s "
                      f"= {rate:,.0f} records/s, {result['requests']} requests, "
                      f"peak RSS {result['peak_mb']:.0f} MB, "
                      f"errors {result['errors']}")  # fmt: skip
        finally:
            server.shutdown()
            server.server_close()
    rates = [r["records"] / r["seconds"] for r in results]
    print(f"median: {statistics.median(rates):,.0f} records/s, "
          f"peak RSS {statistics.median(r['peak_mb'] for r in results):.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
