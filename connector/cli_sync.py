"""`mentor-connector sync`, and the host checks `check-config` and `check-connection` run.

Registered on the main command group by one import at the end of `connector.cli`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import click
from sqlalchemy import select

from adapters.base import STREAMS, ConnectionCheck, HostSystem, StreamMapping
from adapters.mapping import check_mapping
from connector.cli import Ctx, main, pass_ctx
from connector.clock import SystemClock
from connector.errors import AdapterError, RateLimited, Unauthorized
from connector.services import build_host
from connector.settings import Settings
from connector.store.db import Store
from connector.store.models import SyncCursor
from connector.sync import Syncer
from connector.sync_runs import StreamReport


@main.command("sync")
@click.option("--host", "host_name", help="The host to sync (must be the configured one).")
@click.option("--full", is_flag=True, help="Read everything, not only changes since the cursor.")
@click.option(
    "--stream", "streams", multiple=True, type=click.Choice(STREAMS), help="Only this stream."
)
@pass_ctx
def sync(ctx: Ctx, host_name: str | None, full: bool, streams: tuple[str, ...]) -> None:
    """Read the host's changed records into the store, stream by stream, and report."""
    settings = ctx.settings
    if host_name and host_name != settings.host.adapter:
        raise click.ClickException(
            f"the configured host is {settings.host.adapter!r}, not {host_name!r} ([host] adapter)"
        )
    store = ctx.store()
    clock = SystemClock()
    host = build_host(settings, store, clock)
    if not host.streams():
        click.echo(f"{host.name}: no streams to sync")
        return
    syncer = Syncer(store, settings, host, clock)
    reports = syncer.run(full=full, streams=streams)
    for report in reports:
        click.echo(report_line(report))
    if any(r.error for r in reports):
        sys.exit(1)


def report_line(report: StreamReport) -> str:
    line = (
        f"{report.stream:<9} {report.mode:<11} records={report.records} "
        f"requests={report.requests} deferred={report.deferred} events={report.events} "
        f"stopped_by_budget={'yes' if report.stopped_by_budget else 'no'}"
    )
    return f"{line} error={report.error}" if report.error else line


def mapping_problems(settings: Settings) -> list[str]:
    """Every problem of the configured host's field mapping (`check-config`)."""
    # Every vendor host's options carry its merged `streams` mapping (connector/hosts/).
    mappings: Mapping[str, StreamMapping] = getattr(settings.host.options, "streams", None) or {}
    return [
        f"host.{settings.host.adapter}.streams.{problem}"
        for stream, mapping in mappings.items()
        for problem in check_mapping(stream, mapping)
    ]


def connection_report(settings: Settings, store: Store) -> tuple[ConnectionCheck, list[str]]:
    """The host's own connection check, typed errors turned into stable codes, and a line
    per synced stream saying how far it has been read."""
    try:
        host = build_host(settings, store, SystemClock())
        result = host.check_connection()
    except AdapterError as exc:  # a host that raises instead of reporting
        return ConnectionCheck(False, _code(exc), type(exc).__name__), []
    return result, [f"{host.name}: {line}" for line in _stream_lines(host, store)]


def platform_reports(settings: Settings) -> list[tuple[str, ConnectionCheck]]:
    """Each video platform with API credentials, tried: webhooks alone need no check here."""
    from connector.platforms import build_platforms

    reports = []
    for name, platform in sorted(build_platforms(settings, SystemClock()).items()):
        try:
            reports.append((name, platform.check_connection()))
        except AdapterError as exc:  # a platform that raises instead of reporting
            reports.append((name, ConnectionCheck(False, _code(exc), type(exc).__name__)))
    return reports


def _code(exc: AdapterError) -> str:
    if isinstance(exc, Unauthorized):
        return "unauthorized"
    if isinstance(exc, RateLimited):
        return "rate_limited"
    return "cannot_connect"


def _stream_lines(host: HostSystem, store: Store) -> list[str]:
    with store.session() as session:
        cursors: dict[str, Any] = {
            row.stream: row.cursor
            for row in session.execute(
                select(SyncCursor.stream, SyncCursor.cursor).where(SyncCursor.host == host.name)
            )
        }
    return [
        f"stream {stream} ({mapping.object}) "
        + (f"read up to {cursors[stream].isoformat()}" if cursors.get(stream) else "not synced yet")
        for stream, mapping in host.streams().items()
    ]
