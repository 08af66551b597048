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
    """Validate the settings and the host's field mapping; print them, secrets masked."""
    from connector.cli_sync import mapping_problems

    click.echo(f"# settings from: {ctx.settings.source}")
    click.echo(json.dumps(masked(ctx.settings), indent=2, default=str))
    problems = mapping_problems(ctx.settings)
    for problem in problems:
        click.echo(f"mapping: {problem}", err=True)
    if problems:
        sys.exit(1)


@main.command("check-connection")
@pass_ctx
def check_connection(ctx: Ctx) -> None:
    """Try the host system and every video platform with API credentials; a stable code each
    (`ok`, `cannot_connect`, `unauthorized`, `missing_field`, ...), then the synced streams."""
    from connector.cli_sync import connection_report, platform_reports

    result, streams = connection_report(ctx.settings, ctx.store())
    click.echo(f"{ctx.settings.host.adapter}: {result.code} {result.message}".rstrip())
    for line in streams:
        click.echo(line)
    platforms = platform_reports(ctx.settings)
    for name, check in platforms:
        click.echo(f"{name}: {check.code} {check.message}".rstrip())
    if not result.ok or not all(check.ok for _, check in platforms):
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
    runner = ctx.settings.runner.enabled and not no_runner
    run_server(ctx.settings, host=bind_host, port=port, workers=workers, runner=runner)


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
    _requeue(ctx, "inbox", row_ids)


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
    _requeue(ctx, "outbox", row_ids)


def _requeue(ctx: Ctx, queue: str, row_ids: tuple[int, ...]) -> None:
    from connector.clock import SystemClock
    from connector.requeue import NoSuchRows, requeue

    try:
        requeue(ctx.store(), queue, row_ids, "cli", SystemClock().now())
    except NoSuchRows as exc:
        raise click.ClickException(str(exc)) from exc
    for row_id in row_ids:  # only once the change is committed
        click.echo(f"{row_id}: queued again")


def _row(row: Any, extra: list[str]) -> dict[str, Any]:
    columns = [c.name for c in row.__table__.columns]
    return {name: getattr(row, name) for name in columns if name not in extra} | {
        name: getattr(row, name) for name in extra
    }


# Command groups kept in their own modules register themselves on `main` when imported.
import connector.cli_rules  # noqa: E402
import connector.cli_subscriptions  # noqa: E402
import connector.cli_sync  # noqa: E402
import connector.cli_users  # noqa: E402, F401
