"""Browser tests: a real server process, Debian's Chromium driven by Playwright, axe-core.

Fixtures and helpers for every module under tests/browser/:

- `browser`: Chromium at /usr/bin/chromium (session-scoped). It FAILS when the browser cannot
  start, it never skips: a missing browser is a broken machine, not a passing test.
- `page`: a fresh phone-sized context and page per test; `page_for(viewport)` makes others
  (`DESKTOP`, `PHONE`), every context closed after the test.
- `live_server`: `mentor-connector serve` on a migrated SQLite copy with known tokens, a
  secret key and the runner on; see `LiveServer` for what it offers (base URL, API calls
  per role, the store, the settings to sign links with).
- `shot(page, name)`: a full-page screenshot at tests/artifacts/screenshots/<name>.png.
- `axe(page)`: axe-core (bundled by axe-playwright-python, no network) on the current page;
  fails with the list of violations.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from connector.demo import free_port, running_server, wait_until
from connector.settings import Settings, load_settings
from connector.store.db import Store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium; any failure to start is a test error, never a skip."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page_for(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Make pages of a given viewport; every context opened is closed after the test."""
    contexts = []

    def make(viewport: dict[str, int] = DESKTOP, **options: Any) -> Page:
        context = browser.new_context(viewport=viewport, **options)  # type: ignore[arg-type]
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(page_for: Callable[..., Page]) -> Page:
    """A phone-sized page: the forms are filled in on phones first."""
    return page_for(PHONE)


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as tests/artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    return path


_AXE = Axe()


def axe(page: Page) -> None:
    """Run axe-core on the page as it is now; fail listing every violation found."""
    results = _AXE.run(page)
    violations = results.response["violations"]
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(str(n["target"]) for n in v["nodes"][:5])
        for v in violations
    )
    assert not violations, f"axe found {len(violations)} violation(s) on {page.url}:\n{report}"


# --------------------------------------------------------------------------- the server

TOKENS = {
    "admin": "browser-admin-token",
    "coordinator": "browser-coordinator-token",
    "safeguarding": "browser-safeguarding-token",
}


@dataclass
class LiveServer:
    """A running `mentor-connector serve` and what a test needs to talk to it."""

    base_url: str
    config: Path
    env: dict[str, str]
    settings: Settings
    store: Store

    def url(self, path: str) -> str:
        return self.base_url + path

    def api(self, method: str, path: str, role: str = "admin", **kwargs: Any) -> Any:
        """Call /api/v1<path> with the role's token; fails on any error status."""
        headers = {"Authorization": f"Bearer {TOKENS[role]}"}
        response = requests.request(
            method, self.url("/api/v1" + path), headers=headers, timeout=10, **kwargs
        )
        assert response.ok, f"{method} {path}: {response.status_code} {response.text[:300]}"
        return response.json() if response.content else None

    def wait_idle(self, timeout: float = 15.0) -> None:
        """Until the runner and outbox have nothing pending (bounded in time)."""

        def idle() -> bool:
            text = requests.get(self.url("/metrics"), timeout=5).text
            busy = (
                'connector_inbox_rows{status="pending"}',
                'connector_outbox_rows{status="pending"}',
                'connector_outbox_rows{status="delivering"}',
            )
            return not any(
                line.startswith(busy) and not line.endswith(" 0") for line in text.splitlines()
            )

        wait_until(idle, timeout, "the server did not finish its work")


def write_browser_config(directory: Path, database_url: str) -> Path:
    """Like the demo's config, plus a secret key, every role's token and in-person sessions."""
    config = directory / "connector.toml"
    config.write_text(
        f"""[connector]
database_url = "{database_url}"
public_url = "http://127.0.0.1:{{port}}"
secret_key = "env:CONNECTOR_SECRET_KEY"
[server]
port = {{port}}
workers = 1
[admin]
tokens = ["env:T_ADMIN"]
coordinator_tokens = ["env:T_COORD"]
safeguarding_tokens = ["env:T_SAFE"]
[runner]
poll_interval_seconds = 0.1
[scheduler]
enabled = false
[video.zoom]
webhook_secret = "env:ZOOM_WEBHOOK_SECRET"
[policy]
in_person_allowed = true
""".replace("{port}", str(free_port())),
        encoding="utf-8",
    )
    return config


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[LiveServer]:
    """One server for the whole browser session, on a migrated SQLite copy."""
    directory = tmp_path_factory.mktemp("live")
    database = directory / "connector.db"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite:///{database}"
    config = write_browser_config(directory, url)
    env = os.environ | {
        "CONNECTOR_SECRET_KEY": secrets.token_urlsafe(32),
        "T_ADMIN": TOKENS["admin"],
        "T_COORD": TOKENS["coordinator"],
        "T_SAFE": TOKENS["safeguarding"],
        "ZOOM_WEBHOOK_SECRET": secrets.token_urlsafe(24),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CONNECTOR_CONFIG", None)
    settings = load_settings(config, env=env)
    store = Store.from_url(url)
    with running_server(config, env):
        try:
            yield LiveServer(settings.connector.public_url, config, env, settings, store)
        finally:
            store.engine.dispose()
