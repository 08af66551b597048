"""`mentor-connector subscriptions create|renew|list`: the Graph subscriptions feeding Teams.

Registered in `connector.cli` by importing this module. Meet's Workspace Events subscriptions
are listed from the store only (what their lifecycle events reported): the reference documents
neither renewing nor listing them through the API.
"""

from __future__ import annotations

import click

from connector.cli import Ctx, main, pass_ctx
from connector.errors import AdapterError
from connector.subscriptions import (
    CALL_RECORD_CHANGES,
    CALL_RECORDS,
    GraphSubscriptions,
    SubscriptionView,
    build_graph_subscriptions,
    stored_subscriptions,
)


@main.group()
def subscriptions() -> None:
    """Platform subscriptions: Microsoft Graph (Teams) change notifications."""


def _graph(ctx: Ctx) -> GraphSubscriptions:
    from connector.clock import SystemClock

    manager = build_graph_subscriptions(ctx.store(), ctx.settings, SystemClock())
    if manager is None:
        raise click.ClickException(
            "[video.teams] tenant_id, client_id and client_secret are needed to reach Graph"
        )
    return manager


def _echo(view: SubscriptionView) -> None:
    expires = view.expires_at.isoformat(timespec="seconds") if view.expires_at else "-"
    resync = "  needs resync" if view.needs_resync else ""
    click.echo(
        f"{view.platform}  {view.external_id}  {view.resource or '-'}  "
        f"expires {expires}  {view.status}{resync}"
    )


@subscriptions.command("create")
@click.option("--resource", default=CALL_RECORDS, show_default=True)
@click.option("--change-type", default=CALL_RECORD_CHANGES, show_default=True)
@pass_ctx
def create(ctx: Ctx, resource: str, change_type: str) -> None:
    """Subscribe this connector's /webhooks/teams to a Graph resource (call records)."""
    try:
        _echo(_graph(ctx).create(resource, change_type))
    except AdapterError as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc


@subscriptions.command("renew")
@click.argument("subscription_ids", nargs=-1)
@pass_ctx
def renew(ctx: Ctx, subscription_ids: tuple[str, ...]) -> None:
    """Extend the given subscriptions (default: every active Teams one) to the full lifetime."""
    manager = _graph(ctx)
    ids = subscription_ids or tuple(
        view.external_id
        for view in stored_subscriptions(ctx.store())
        if view.platform == "teams" and view.status == "active"
    )
    if not ids:
        raise click.ClickException("no active Teams subscription is stored; create one first")
    failed = 0
    for subscription_id in ids:
        try:
            _echo(manager.renew(subscription_id))
        except AdapterError as exc:
            failed += 1
            click.echo(f"teams  {subscription_id}  not renewed: {type(exc).__name__}: {exc}")
    if failed:
        raise click.ClickException(f"{failed} of {len(ids)} not renewed")


@subscriptions.command("list")
@click.option("--local", is_flag=True, help="Only what the store knows; do not ask Graph.")
@pass_ctx
def list_(ctx: Ctx, local: bool) -> None:
    """The stored subscriptions, first brought up to date from Graph when it is configured."""
    if not local and ctx.settings.teams.client_secret is not None:
        try:
            _graph(ctx).sync()
        except AdapterError as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc
    views = stored_subscriptions(ctx.store())
    for view in views:
        _echo(view)
    if not views:
        click.echo("no subscriptions")
