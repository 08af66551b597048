"""The application factory. Nothing is read at import time; everything comes in through here."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from adapters.base import VideoPlatform
from connector.clock import Clock, SystemClock
from connector.services import Services
from connector.settings import Settings, load_settings
from connector.store.db import Store

log = logging.getLogger("connector")


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    platforms: dict[str, VideoPlatform] | None = None,
) -> Flask:
    """A Flask app wired to the settings' store and host. Background work is started by
    `serve` (see `connector.server`), never here, so tests and CLI commands stay in control."""
    from connector import admin, api, forms, health, staff, web, webhook_view

    settings = settings or load_settings()
    store = store or Store.from_url(settings.connector.database_url)
    services = Services(settings, store, clock or SystemClock(), platforms)

    app = Flask("connector")
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024  # webhooks are small; refuse floods
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["connector"] = services
    if settings.server.proxy_hops:  # trust exactly that many X-Forwarded-* hops, no more
        hops = settings.server.proxy_hops
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    app.extensions["receivers"] = webhook_view.build_receivers(settings, services)
    for blueprint in (webhook_view.bp, api.bp, staff.bp, admin.bp, health.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(forms.bp)  # /forms: what mentors, mentees and applicants fill in
    web.init_app(app)  # CSRF and security headers; after the blueprints it exempts
    if not settings.admin.tokens:
        log.warning("no admin token is configured: the API and /staff refuse every request")
    if settings.zoom.webhook_secret is None:
        log.warning("no Zoom webhook secret is configured: /webhooks/zoom refuses every request")
    return app
