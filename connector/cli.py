"""`mentor-connector` (also `python -m connector`): the command line of DESIGN.md's contract."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click
from sqlalchemy import select

from connector.settings import ConfigError, Settings, load_settings, masked
from connector.store.db import Store, require_current_schema, schema_revisions, upgrade


class Ctx:
    def __init__(self, config: str | None) -> None:
        self.config = config
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config)
            except ConfigError as exc:
                raise click.ClickException(str(exc)) from exc
        return self._settings

    def store(self, *, current: bool = True) -> Store:
        store = Store.from_url(self.settings.connector.database_url)
        if current:
            try:
                require_current_schema(store.engine)
            except Exception as exc:
                raise click.ClickException(str(exc)) from exc
        return store


pass_ctx = click.make_pass_decorator(Ctx)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    envvar="CONNECTOR_CONFIG",
    type=click.Path(dir_okay=False),
    help="TOML settings file (default: $CONNECTOR_CONFIG, else the embedded default).",
)
@click.pass_context
def main(click_ctx: click.Context, config: str | None) -> None:
    """Mentor Connector: mentoring policies enforced in the systems staff already use."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    click_ctx.obj = Ctx(config)


# --------------------------------------------------------------------------- setup


@main.command("check-config")
@pass_ctx
def check_config(ctx: Ctx) -> None:
    """Validate the settings and print them resolved, secrets masked."""
    click.echo(f"# settings from: {ctx.settings.source}")
    click.echo(json.dumps(masked(ctx.settings), indent=2, default=str))


@main.command("check-connection")
@pass_ctx
def check_connection(ctx: Ctx) -> None:
    """Try the configured host system and report a stable code."""
    from connector.clock import SystemClock
    from connector.services import build_host

    host = build_host(ctx.settings, ctx.store(), SystemClock())
    result = host.check_connection()
    click.echo(f"{host.name}: {result.code} {result.message}".rstrip())
    if not result.ok:
        sys.exit(1)


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@pass_ctx
def db_upgrade(ctx: Ctx) -> None:
    """Apply every pending migration."""
    store = ctx.store(current=False)
    upgrade(store.engine)
    current, _ = schema_revisions(store.engine)
    click.echo(f"database schema is at {current}")


@db.command("current")
@pass_ctx
def db_current(ctx: Ctx) -> None:
    """Show the database's revision and the code's."""
    current, head = schema_revisions(ctx.store(current=False).engine)
    click.echo(f"database: {current or 'empty'}; code: {head}")
    if current != head:
        sys.exit(1)


# --------------------------------------------------------------------------- running


@main.command()
@click.option("--host", "bind_host", help="Interface to listen on (default from [server]).")
@click.option("--port", type=int, help="Port (default from [server]).")
@click.option("--workers", type=int, help="Worker processes (default from [server]).")
@click.option("--no-runner", is_flag=True, help="Receive and store only; process nothing.")
@pass_ctx
def serve(
    ctx: Ctx, bind_host: str | None, port: int | None, workers: int | None, no_runner: bool
) -> None:
    """Serve webhooks, the API and the staff page on the production WSGI server."""
    from connector.server import serve as run_server

    ctx.store()  # refuses to start on an out-of-date schema, with what to run
    run_server(ctx.settings, host=bind_host, port=port, workers=workers, runner=not no_runner)


@main.command()
@click.option("--keep", is_flag=True, help="Keep the temporary store and print its path.")
def demo(keep: bool) -> None:
    """Run a small program end to end on a fresh temporary store and print the outcome."""
    from connector.demo import run_demo

    sys.exit(run_demo(keep=keep))


# --------------------------------------------------------------------------- inbox


@main.group()
def events() -> None:
    """Inbox rows: every accepted delivery."""


@events.command("list")
@click.option("--status", type=click.Choice(["pending", "done", "dead"]))
@click.option("--limit", default=50, show_default=True)
@pass_ctx
def events_list(ctx: Ctx, status: str | None, limit: int) -> None:
    from connector.store.models import InboxEvent

    query = select(InboxEvent).order_by(InboxEvent.id.desc()).limit(limit)
    if status:
        query = query.where(InboxEvent.status == status)
    with ctx.store().session() as session:
        for row in session.scalars(query):
            click.echo(
                f"{row.id:>6}  {row.status:<8} {row.attempts}  {row.source:<8} "
                f"{row.event_type:<32} {row.received_at:%Y-%m-%d %H:%M:%S}  {row.delivery_id}"
            )


@events.command("show")
@click.argument("row_id", type=int)
@pass_ctx
def events_show(ctx: Ctx, row_id: int) -> None:
    from connector.store.models import InboxEvent

    with ctx.store().session() as session:
        row = session.get(InboxEvent, row_id)
        if row is None:
            raise click.ClickException(f"no inbox row {row_id}")
        click.echo(json.dumps(_row(row, ["payload", "events"]), indent=2, default=str))


@events.command("replay")
@click.argument("row_ids", type=int, nargs=-1, required=True)
@pass_ctx
def events_replay(ctx: Ctx, row_ids: tuple[int, ...]) -> None:
    """Process rows again (dead letters included); decisions already made are not repeated."""
    from connector.store.models import InboxEvent

    _requeue(ctx, InboxEvent, row_ids, "inbox.replayed")


# --------------------------------------------------------------------------- outbox


@main.group()
def outbox() -> None:
    """Outbox rows: every decision and its delivery."""


@outbox.command("list")
@click.option("--status", type=click.Choice(["pending", "delivering", "done", "dead"]))
@click.option("--limit", default=50, show_default=True)
@pass_ctx
def outbox_list(ctx: Ctx, status: str | None, limit: int) -> None:
    from connector.store.models import OutboxItem

    query = select(OutboxItem).order_by(OutboxItem.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxItem.status == status)
    with ctx.store().session() as session:
        for row in session.scalars(query):
            error = f"  last error: {row.last_error}" if row.last_error else ""
            click.echo(
                f"{row.id:>6}  {row.status:<10} {row.attempts}  {row.kind:<9} {row.key}{error}"
            )


@outbox.command("retry")
@click.argument("row_ids", type=int, nargs=-1, required=True)
@pass_ctx
def outbox_retry(ctx: Ctx, row_ids: tuple[int, ...]) -> None:
    """Deliver rows again now (dead letters included); the host upserts on the key."""
    from connector.store.models import OutboxItem

    _requeue(ctx, OutboxItem, row_ids, "outbox.retried")


def _requeue(ctx: Ctx, model: Any, row_ids: tuple[int, ...], action: str) -> None:
    from connector import audit
    from connector.clock import SystemClock

    now = SystemClock().now()
    with ctx.store().session() as session:
        for row_id in row_ids:
            row = session.get(model, row_id)
            if row is None:
                raise click.ClickException(f"no row {row_id}")
            row.status, row.attempts, row.next_attempt_at = "pending", 0, now
            audit.record(session, now, "cli", action, model.__tablename__, row_id)
            click.echo(f"{row_id}: queued again")


def _row(row: Any, extra: list[str]) -> dict[str, Any]:
    columns = [c.name for c in row.__table__.columns]
    return {name: getattr(row, name) for name in columns if name not in extra} | {
        name: getattr(row, name) for name in extra
    }
