"""Who is calling: bearer tokens (or HTTP Basic with the token as password) mapped to roles."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, jsonify, request

from connector.settings import Settings

ROLES = ("admin", "coordinator", "safeguarding")
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


def requires(*roles: str, browser: bool = False) -> Callable[[F], F]:
    """Allow the view only to the given roles; `g.role` and `g.actor` are set for it."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            settings: Settings = current_app.extensions["connector"].settings
            role = role_for(settings, presented_token())
            if role is None:
                response = jsonify(error="unauthorized", message="a valid token is required")
                response.status_code = 401
                if browser:
                    response.headers["WWW-Authenticate"] = 'Basic realm="Mentor Connector"'
                return response
            if role not in roles:
                response = jsonify(error="forbidden", message=f"the {role} role may not do this")
                response.status_code = 403
                return response
            g.role, g.actor = role, f"token:{role}"
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
