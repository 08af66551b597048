"""Who is calling: an API token (machines) or a signed-in staff user (browsers), as a role.

Tokens come as a bearer token or HTTP Basic with the token as password; they work everywhere.
A browser session (the signed cookie set by `/admin/sign-in`) works only on HTML pages, the
views declared with `requires(..., browser=True)`: the JSON API under `/api/v1` is exempt from
CSRF protection, so it must never act on a cookie the browser sends by itself.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Response, current_app, g, jsonify, redirect, render_template, request, session

from connector import accounts
from connector.settings import Settings

ROLES = ("admin", "coordinator", "safeguarding")
SESSION_MAX_AGE = timedelta(hours=12)  # a signed-in browser signs in again after a day's work
F = TypeVar("F", bound=Callable[..., Any])


def role_for(settings: Settings, token: str | None) -> str | None:
    """The role a token grants, compared in constant time against every configured token."""
    if not token:
        return None
    found = None
    for role, secrets in (
        ("admin", settings.admin.tokens),
        ("coordinator", settings.admin.coordinator_tokens),
        ("safeguarding", settings.admin.safeguarding_tokens),
    ):
        for secret in secrets:
            if hmac.compare_digest(secret.reveal().encode(), token.encode()):
                found = found or role
    return found


def presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":  # browsers: any user name, the token as password
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def session_user() -> accounts.SignedIn | None:
    """The signed-in user of this browser, if its cookie is valid, recent and not revoked."""
    if not current_app.secret_key or "uid" not in session:
        return None
    services = current_app.extensions["connector"]
    try:
        signed_in_at = datetime.fromisoformat(session["at"])
        expired = services.clock.now() - signed_in_at > SESSION_MAX_AGE
        if expired:
            return None
        with services.store.session() as db:
            return accounts.current(db, int(session["uid"]), int(session["sv"]))
    except (KeyError, TypeError, ValueError):  # a cookie from an older shape: not signed in
        return None


def sign_in_url() -> str:
    target = request.full_path if request.query_string else request.path
    return "/admin/sign-in?" + urlencode({"next": target})


def _refused(status: int, error: str, message: str, browser: bool) -> Response:
    if browser and request.accept_mimetypes.accept_html:
        title = "Sign-in needed" if status == 401 else "Not for your role"
        return Response(render_template("message.html", title=title, message=message), status)
    response = jsonify(error=error, message=message)
    response.status_code = status
    return response


def requires(*roles: str, browser: bool = False) -> Callable[[F], F]:
    """Allow the view only to the given roles; `g.role` and `g.actor` are set for it.

    `browser=True` marks an HTML page: a signed-in session counts as well as a token, and a
    caller with neither is redirected to the sign-in page instead of getting a JSON 401.
    """

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            settings: Settings = current_app.extensions["connector"].settings
            token = presented_token()
            # Any Authorization header means a machine (or a browser's Basic prompt): it gets
            # a plain 401 when wrong, never the sign-in page, and never falls back to a cookie.
            person = browser and "Authorization" not in request.headers
            role, actor = role_for(settings, token), None
            if role is not None:
                actor = f"token:{role}"
            elif person:
                user = session_user()
                if user is not None:
                    role, actor = user.role, f"user:{user.username}"
            if role is None:
                if person:  # a person in a browser: off to the sign-in page
                    return redirect(sign_in_url(), 303)
                return _refused(401, "unauthorized", "a valid token is required", browser)
            if role not in roles:
                return _refused(403, "forbidden", f"the {role} role may not do this", browser)
            g.role, g.actor = role, actor
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
