"""Signing in and out: a signed session cookie naming the user and its session version."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from connector import accounts, audit
from connector.admin import bp
from connector.api import services
from connector.auth import session_user

GENERIC_REFUSAL = "The user name or password is not right, or the account is disabled."


def safe_next(target: str | None) -> str:
    """Only a path on this site: never `//elsewhere` or `https://elsewhere` (open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return url_for("admin.overview")


@bp.get("/sign-in")
def sign_in_form() -> ResponseReturnValue:
    """The form; shown to a signed-in user too, to switch accounts."""
    return render_template("admin/sign_in.html", next=request.args.get("next", ""))


@bp.post("/sign-in")
def sign_in() -> ResponseReturnValue:
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    target = request.form.get("next", "")
    now = services().clock.now()
    errors: dict[str, list[str]] = {}
    if not username.strip():
        errors["username"] = ["Enter your user name"]
    if not password:
        errors["password"] = ["Enter your password"]
    if errors:
        return _form(errors, username, target, 400)
    try:
        with services().store.session() as db:
            user = accounts.sign_in(db, username, password, request.remote_addr or "-", now)
    except accounts.Throttled as exc:
        minutes = max(1, int(exc.retry_after.total_seconds() // 60) + 1)
        message = f"Too many failed sign-ins. Try again in {minutes} minutes."
        response = _form({"username": [message]}, username, target, 429)
        return response[0], 429, {"Retry-After": str(int(exc.retry_after.total_seconds()) + 1)}
    if user is None:
        return _form({"password": [GENERIC_REFUSAL]}, username, target, 401)
    session.clear()  # a fresh cookie: nothing from before signing in carries over
    session.update(uid=user.user_id, sv=user.session_version, at=now.isoformat())
    return redirect(safe_next(target), 303)


def _form(errors: dict[str, list[str]], username: str, target: str, status: int) -> tuple[str, int]:
    page = render_template(
        "admin/sign_in.html",
        errors=errors,
        labels={"username": "User name", "password": "Password"},
        username=username,
        next=target,
    )
    return page, status


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    user = session_user()
    if user is not None:
        with services().store.session() as db:
            now = services().clock.now()
            audit.record(db, now, f"user:{user.username}", "user.signed_out", "user", user.user_id)
    session.clear()
    flash("You are signed out.", "ok")
    return redirect(url_for("admin.sign_in_form"), 303)
