"""The admin console under `/admin`: sign-in, and one module per group of pages.

Every view checks the role on the server with `requires(..., browser=True)`; the navigation
only hides what a role cannot open anyway. Actions are POSTs carrying the CSRF token (see
`connector.web`); each answers with a redirect back to its page and a one-line message, so a
reload never repeats it. The logic behind each action lives with the JSON API (or
`connector.requeue`) and is shared, never copied.

Modules: `signin` (sign-in, sign-out), `overview` (the start page, adapters), `rules`
(rules and exemptions), `pipeline` (inbox, outbox, dead letters), `concerns`, `recordings`,
`audit_log`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from connector.accounts import AccountError
from connector.api import ApiError
from connector.errors import AdapterError

bp = Blueprint("admin", __name__, url_prefix="/admin")
STAFF = ("admin", "coordinator", "safeguarding")

# (endpoint, label, roles that may open it): the navigation, top to bottom.
NAV: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("staff.staff_page", "Tasks and alerts", STAFF),
    ("admin.overview", "Console", STAFF),
    ("admin.adapters", "Adapters", ("admin",)),
    ("admin.rules", "Rules", STAFF),
    ("admin.inbox", "Inbox", ("admin",)),
    ("admin.outbox", "Outbox", ("admin",)),
    ("admin.dead_letters", "Dead letters", ("admin",)),
    ("admin.concerns", "Concerns", ("safeguarding",)),
    ("admin.recordings", "Recordings", ("admin", "safeguarding")),
    ("admin.audit_log", "Audit log", ("admin",)),
)


@bp.before_request
def _needs_secret_key() -> ResponseReturnValue | None:
    """Without a secret key there are no sessions: say so instead of failing obscurely."""
    if current_app.secret_key:
        return None
    message = (
        "The admin console needs a secret key to sign people in. Set [connector] secret_key "
        '(for example secret_key = "env:CONNECTOR_SECRET_KEY") and restart the service.'
    )
    return render_template("message.html", title="Admin console not set up", message=message), 503


@bp.errorhandler(ApiError)
def _refused(exc: ApiError) -> ResponseReturnValue:
    """A refused page request (a bad filter, an unknown row) as a page, not JSON."""
    return render_template("message.html", title="Not possible", message=str(exc)), exc.status


def nav_for(role: str) -> list[tuple[str, str]]:
    return [(endpoint, label) for endpoint, label, roles in NAV if role in roles]


def page(template: str, **context: Any) -> str:
    """Render a console page with the navigation of the signed-in role."""
    return render_template(
        template,
        role=g.role,
        actor=g.actor,
        nav=nav_for(g.role),
        signed_in=_by_session(),
        can_post=bool(current_app.secret_key),  # no key, no CSRF token: pages are read-only
        **context,
    )


def _by_session() -> bool:
    return str(getattr(g, "actor", "")).startswith("user:")


def act(action: Callable[[], str], back: str) -> Response:
    """Run a POSTed action, flash its outcome (or why it was refused) and go back to `back`."""
    try:
        flash(action(), "ok")
    except ApiError as exc:
        flash(str(exc), "error")
    except (AccountError, LookupError) as exc:
        flash(str(exc), "error")
    except ValidationError as exc:
        flash(validation_message(exc), "error")
    except AdapterError as exc:
        flash(f"The external system failed: {type(exc).__name__}: {exc}", "error")
    return redirect(back, 303)


def validation_message(exc: ValidationError) -> str:
    messages = exc.messages if isinstance(exc.messages, dict) else {"form": exc.messages}
    parts = []
    for name, problems in messages.items():
        text = "; ".join(str(p) for p in problems) if isinstance(problems, list) else str(problems)
        parts.append(f"{name.replace('_', ' ')}: {text}")
    return "Not saved. " + ". ".join(parts)


def form_fields(*names: str) -> dict[str, str]:
    """The named fields of the posted form, trimmed; empty ones are left out."""
    found = {name: request.form.get(name, "").strip() for name in names}
    return {name: value for name, value in found.items() if value}


# Pages, one module per group (imported for their side effect of registering on `bp`).
from connector.admin import (  # noqa: E402
    audit_log,
    concerns,
    overview,
    pipeline,
    recordings,
    rules,
    signin,
)

__all__ = [
    "audit_log",
    "bp",
    "concerns",
    "overview",
    "pipeline",
    "recordings",
    "rules",
    "signin",
]
