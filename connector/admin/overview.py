"""The console's start page and the adapters: what is connected, and a connection check."""

from __future__ import annotations

from typing import Any

from flask import g, url_for
from werkzeug.wrappers import Response

from connector import audit
from connector.admin import STAFF, act, bp, page
from connector.api import ApiError, services
from connector.auth import requires


@bp.get("/")
@requires(*STAFF, browser=True)
def overview() -> str:
    return page("admin/overview.html", settings=services().settings)


def adapters_by_name() -> dict[str, Any]:
    """The host adapter first, then every configured video platform, by a stable name."""
    found = services()
    adapters: dict[str, Any] = {f"host:{found.host.name}": found.host}
    for name, platform in sorted((found.platforms or {}).items()):
        adapters[f"video:{name}"] = platform
    return adapters


@bp.get("/adapters")
@requires("admin", browser=True)
def adapters() -> str:
    settings = services().settings
    webhooks = {
        "zoom": settings.zoom.webhook_secret is not None,
        "teams": settings.teams.client_state is not None,
        "meet": bool(settings.meet.push_audience and settings.meet.push_service_account),
    }
    return page("admin/adapters.html", adapters=list(adapters_by_name()), webhooks=webhooks)


@bp.post("/adapters/<name>/check")
@requires("admin", browser=True)
def check_adapter(name: str) -> Response:
    def check() -> str:
        adapter = adapters_by_name().get(name)
        if adapter is None:
            raise ApiError(404, "not_found", f"no adapter {name}")
        result = adapter.check_connection()
        with services().store.session() as session:
            now = services().clock.now()
            audit.record(
                session, now, g.actor, "adapter.checked", "adapter", name, code=result.code
            )
        if not result.ok:
            raise ApiError(502, result.code, f"{name}: {result.code} {result.message}".rstrip())
        return f"{name}: connection ok {result.message}".rstrip()

    return act(check, url_for("admin.adapters"))
