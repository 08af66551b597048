"""`mentor-connector run-checks` and `rules`: the policy rules, their explanations and
exemptions (registered on `connector.cli.main` when imported)."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from connector.cli import Ctx, main, pass_ctx


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
