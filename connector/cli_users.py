"""`mentor-connector users add|list|disable|enable|set-password`: staff accounts.

A password never comes as an argument (it would sit in the shell history and the process
list): it is prompted for twice without echo, or read as one line from standard input with
`--password-stdin` for scripts.
"""

from __future__ import annotations

import sys

import click

from connector import accounts
from connector.cli import Ctx, main, pass_ctx
from connector.clock import SystemClock

password_stdin = click.option(
    "--password-stdin", is_flag=True, help="Read the password as one line from standard input."
)


@main.group()
def users() -> None:
    """Staff accounts for the staff page and the admin console."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _change(ctx: Ctx, change: str, *args: object) -> None:
    """Apply one `accounts` change in a transaction, turning refusals into a CLI error."""
    try:
        with ctx.store().session() as session:
            getattr(accounts, change)(session, *args, SystemClock().now(), "cli")
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(accounts.ROLES), required=True)
@password_stdin
@pass_ctx
def users_add(ctx: Ctx, username: str, role: str, password_stdin: bool) -> None:
    """Create an account with a role; the password is prompted for."""
    _change(ctx, "add_user", username, role, _read_password(password_stdin))
    click.echo(f"user {username.strip().lower()} added with the {role} role")


@users.command("list")
@pass_ctx
def users_list(ctx: Ctx) -> None:
    """Every account with its role, whether it is active and its last sign-in."""
    with ctx.store().session() as session:
        for user in accounts.list_users(session):
            state = "active" if user.active else "disabled"
            last = f"{user.last_sign_in_at:%Y-%m-%d %H:%M}" if user.last_sign_in_at else "never"
            click.echo(f"{user.username:<32} {user.role:<13} {state:<9} last sign-in {last}")


@users.command("disable")
@click.argument("username")
@pass_ctx
def users_disable(ctx: Ctx, username: str) -> None:
    """Stop an account from signing in; its open sessions end at once."""
    _change(ctx, "set_active", username, False)
    click.echo(f"user {username} disabled")


@users.command("enable")
@click.argument("username")
@pass_ctx
def users_enable(ctx: Ctx, username: str) -> None:
    """Let a disabled account sign in again."""
    _change(ctx, "set_active", username, True)
    click.echo(f"user {username} enabled")


@users.command("set-password")
@click.argument("username")
@password_stdin
@pass_ctx
def users_set_password(ctx: Ctx, username: str, password_stdin: bool) -> None:
    """Give an account a new password; its open sessions end."""
    _change(ctx, "set_password", username, _read_password(password_stdin))
    click.echo(f"password of {username} changed")
