"""Web security in a real browser: the security headers arrive with every page."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.conftest import LiveServer


def test_a_page_arrives_with_the_security_headers(live_server: LiveServer, page: Page) -> None:
    response = page.goto(live_server.url("/healthz"))
    assert response is not None and response.status == 200
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert '"status":"ok"' in page.content().replace(" ", "")
