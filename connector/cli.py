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


# --------------------------------------------------------------------------- rules


def _at(value: str | None) -> Any:
    from datetime import UTC, datetime

    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO-8601 time: {value}") from exc
    if parsed.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. 2026-11-30T06:00:00+00:00")
    return parsed.astimezone(UTC)


@main.command("run-checks")
@click.option("--at", "at_text", help="ISO-8601 time to check as of (default: now).")
@pass_ctx
def run_checks_command(ctx: Ctx, at_text: str | None) -> None:
    """Run the time-based rules once; running twice for one moment writes nothing new."""
    from connector.checks import run_checks

    written = run_checks(ctx.store(), ctx.settings, _at(at_text))
    for rule_id, count in written.items():
        click.echo(f"{rule_id:<26} {count} new")


@main.group()
def rules() -> None:
    """The policy rules: what they enforce, their parameters, exemptions and explanations."""


@rules.command("list")
@pass_ctx
def rules_list(ctx: Ctx) -> None:
    """Every rule with the policy sentence it enforces, its parameters and exemptions."""
    import dataclasses

    from connector.store.models import Exemption
    from rules import ALL_RULES

    with ctx.store().session() as session:
        exemptions = session.scalars(
            select(Exemption).where(Exemption.revoked_at.is_(None)).order_by(Exemption.id)
        ).all()
    click.echo(f"policy version {ctx.settings.policy.policy_version}\n")
    for rule in ALL_RULES:
        rule_settings = ctx.settings.rule(rule.id)
        state = "enabled" if rule_settings.enabled else f"DISABLED: {rule_settings.reason}"
        click.echo(f"{rule.id}  ({state})")
        click.echo(f"  policy: {rule.policy}")
        for name, value in dataclasses.asdict(rule_settings.params).items():
            click.echo(f"  {name} = {value!r}")
        for exemption in exemptions:
            if exemption.rule_id == rule.id:
                scope = f"pairing P{exemption.pairing_id}" if exemption.pairing_id else "program"
                click.echo(f"  exempt ({scope}, #{exemption.id}): {exemption.reason}")
        click.echo("")


@rules.command("explain")
@click.option("--pairing", "pairing_id", type=int, required=True)
@click.option("--at", "at_text", help="ISO-8601 time to explain as of (default: now).")
@pass_ctx
def rules_explain(ctx: Ctx, pairing_id: int, at_text: str | None) -> None:
    """What every rule decides for one pairing and why; writes nothing."""
    from connector.explain import explain

    try:
        reports = explain(ctx.store(), ctx.settings, pairing_id, _at(at_text))
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    for report in reports:
        click.echo(f"{report.rule_id}  ({report.state})")
        lines = (
            [f"  due now: {line}" for line in report.due_now]
            + [f"  refuses {line}" for line in report.refuses]
            + [f"  decided: {line}" for line in report.decided]
        )
        click.echo("\n".join(lines) if lines else "  nothing due")


@rules.command("exempt")
@click.argument("rule_id")
@click.option("--pairing", "pairing_id", type=int, help="Only this pairing (default: program).")
@click.option("--reason", required=True, help="Why the rule does not apply (audited).")
@pass_ctx
def rules_exempt(ctx: Ctx, rule_id: str, pairing_id: int | None, reason: str) -> None:
    """Switch a rule off for the program or one pairing, with a written reason."""
    from connector import audit
    from connector.clock import SystemClock
    from connector.store.models import Exemption, Pairing
    from rules import RULES_BY_ID

    if rule_id not in RULES_BY_ID:
        raise click.ClickException(f"unknown rule {rule_id}; see `mentor-connector rules list`")
    if len(reason.strip()) < 10:
        raise click.ClickException("give a reason of at least 10 characters")
    now = SystemClock().now()
    with ctx.store().session() as session:
        if pairing_id is not None and session.get(Pairing, pairing_id) is None:
            raise click.ClickException(f"no pairing {pairing_id}")
        exemption = Exemption(
            rule_id=rule_id,
            pairing_id=pairing_id,
            reason=reason.strip(),
            created_by="cli",
            created_at=now,
        )
        session.add(exemption)
        session.flush()
        audit.record(
            session,
            now,
            "cli",
            "exemption.created",
            "exemption",
            exemption.id,
            rule=rule_id,
            pairing_id=pairing_id,
            reason=reason.strip(),
        )
        click.echo(f"exemption #{exemption.id} recorded")


@rules.command("revoke")
@click.argument("exemption_id", type=int)
@pass_ctx
def rules_revoke(ctx: Ctx, exemption_id: int) -> None:
    """End an exemption; the rule applies again from now."""
    from connector import audit
    from connector.clock import SystemClock
    from connector.store.models import Exemption

    now = SystemClock().now()
    with ctx.store().session() as session:
        exemption = session.get(Exemption, exemption_id)
        if exemption is None or exemption.revoked_at is not None:
            raise click.ClickException(f"no active exemption #{exemption_id}")
        exemption.revoked_at = now
        audit.record(session, now, "cli", "exemption.revoked", "exemption", exemption_id)
        click.echo(f"exemption #{exemption_id} revoked")


# Command groups kept in their own modules register themselves on `main` when imported.
import connector.cli_subscriptions  # noqa: E402
import connector.cli_sync  # noqa: E402
import connector.cli_users  # noqa: E402, F401
