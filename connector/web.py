"""Security for every HTML page: CSRF protection, a strict CSP and the other response headers.

`init_app(app)` is called once from `create_app`. CSRF is flask-wtf's `CSRFProtect`: every
POST/PUT/PATCH/DELETE carries the token from `csrf_token()` (see base.html), except the
token-authenticated blueprints (`webhooks`, `api`), which are not reachable by a browser's
ambient credentials. The CSP allows only our own scripts, styles and images; which sites may
show the pages in a frame (the CRM, the LMS) comes from `[forms] frame_ancestors`.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from connector.settings import Settings

log = logging.getLogger("connector.web")

csrf = CSRFProtect()

# Blueprints that authenticate every request with a token or a vendor signature, never with
# a cookie, so a cross-site form cannot act through them.
CSRF_EXEMPT_BLUEPRINTS = ("webhooks", "api")


def content_security_policy(settings: Settings) -> str:
    """The CSP header value; `frame-ancestors` lists the configured embedding origins."""
    ancestors = " ".join(settings.forms.frame_ancestors) or "'none'"
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            f"frame-ancestors {ancestors}",
        )
    )


def security_headers(settings: Settings) -> dict[str, str]:
    """Headers added to every response (pages, JSON and webhook answers alike)."""
    headers = {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        # Signed form links carry their token in the path: never send it on to other sites.
        "Referrer-Policy": "no-referrer",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if settings.forms.frame_ancestors == ("'self'",):
        headers["X-Frame-Options"] = "SAMEORIGIN"  # for browsers that predate frame-ancestors
    elif settings.forms.frame_ancestors in ((), ("'none'",)):
        headers["X-Frame-Options"] = "DENY"
    if settings.connector.public_url.startswith("https://"):
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


def _embedded_elsewhere(settings: Settings) -> bool:
    return any(a not in ("'self'", "'none'") for a in settings.forms.frame_ancestors)


def _refuse_without_secret_key() -> tuple[str, int] | None:
    """Fail closed: without a key nothing can be signed, so no browser form is accepted."""
    if request.method in ("GET", "HEAD", "OPTIONS") or request.blueprint in CSRF_EXEMPT_BLUEPRINTS:
        return None
    page = render_template(
        "message.html",
        title="Not available yet",
        message="This service is not fully set up. Please try again later.",
    )
    return page, 503


def init_app(app: Flask) -> None:
    """Secret key, cookie flags, CSRF and security headers for `app`."""
    settings: Settings = app.extensions["connector"].settings
    if settings.connector.secret_key is not None:
        app.secret_key = settings.connector.secret_key.reveal()
    else:
        log.warning("no [connector] secret_key is set: forms and sign-in refuse every request")
        app.before_request(_refuse_without_secret_key)  # before CSRF, which would raise
    https = settings.connector.public_url.startswith("https://")
    # A page in the CRM's frame is a third-party context: its cookie (which holds the CSRF
    # token) is sent there only with SameSite=None, which browsers accept only with Secure.
    cross_site = https and _embedded_elsewhere(settings)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=https,
        SESSION_COOKIE_SAMESITE="None" if cross_site else "Lax",
        WTF_CSRF_TIME_LIMIT=None,  # valid for the browser session; a form may take a while
        WTF_CSRF_SSL_STRICT=not cross_site,  # the Referer check fails inside a foreign frame
    )
    csrf.init_app(app)
    for name in CSRF_EXEMPT_BLUEPRINTS:
        blueprint = app.blueprints.get(name)
        if blueprint is not None:
            csrf.exempt(blueprint)

    headers = security_headers(settings)

    @app.after_request
    def _secure(response: Response) -> Response:
        for key, value in headers.items():
            response.headers.setdefault(key, value)
        if response.mimetype == "text/html":
            # Pages hold personal data: never keep them in a shared cache or the back button.
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(CSRFError)
    def _csrf_failed(error: CSRFError) -> tuple[str, int]:
        log.info("csrf refused path=%s reason=%s", request.path, error.description)
        return (
            render_template(
                "message.html",
                title="This form has expired",
                message="The page was open too long or cookies are blocked. "
                "Go back, reload the page and send it again.",
            ),
            400,
        )
