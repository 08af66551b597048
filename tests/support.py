"""Helpers shared by the test modules: tokens, settings, signed deliveries, a seeded program."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from connector.clock import FrozenClock
from connector.settings import Settings, parse_settings
from connector.store.db import Store
from webhooks.zoom import sign

PG_URL = os.environ.get("CONNECTOR_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])

ADMIN_TOKEN = "admin-token-for-tests"
COORDINATOR_TOKEN = "coordinator-token-for-tests"
SAFEGUARDING_TOKEN = "safeguarding-token-for-tests"
ZOOM_SECRET = "zoom-secret-for-tests"
TEST_ENV = {
    "T_ADMIN": ADMIN_TOKEN,
    "T_COORD": COORDINATOR_TOKEN,
    "T_SAFE": SAFEGUARDING_TOKEN,
    "T_ZOOM": ZOOM_SECRET,
}
START = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
VETTING_STEPS = ("professional_verification", "personal_references", "interview")


def make_settings(
    database_url: str, *, extra_env: Mapping[str, str] | None = None, **sections: dict[str, Any]
) -> Settings:
    """Test settings with `sections` merged in; `extra_env` adds variables their secrets name."""
    document: dict[str, Any] = {
        "connector": {"database_url": database_url},
        "admin": {
            "tokens": ["env:T_ADMIN"],
            "coordinator_tokens": ["env:T_COORD"],
            "safeguarding_tokens": ["env:T_SAFE"],
        },
        "video": {"zoom": {"webhook_secret": "env:T_ZOOM"}},
        "outbox": {"backoff_initial_seconds": 1.0},
    }
    for name, table in sections.items():
        document[name] = document.get(name, {}) | table
    return parse_settings(document, TEST_ENV | dict(extra_env or {}), "tests")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer(ADMIN_TOKEN)
COORDINATOR = bearer(COORDINATOR_TOKEN)
SAFEGUARDING = bearer(SAFEGUARDING_TOKEN)


def send_zoom(client: FlaskClient, payload: dict[str, Any], clock: FrozenClock) -> Any:
    """POST a Zoom delivery signed as Zoom would sign it at the clock's time."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = sign(ZOOM_SECRET, body, int(clock.now().timestamp()))
    return client.post("/webhooks/zoom", data=body, headers=headers)


def make_pairing(
    client: FlaskClient,
    *,
    mentor: str = "maya",
    mentee: str = "eli",
    zoom_meeting_id: str | None = "81234567890",
    status: str = "active",
    consent: tuple[str | None, str | None] = (None, None),
    vetted: bool = True,
) -> dict[str, int]:
    """A mentor, a mentee (emails `<name>@example.org`) and their pairing, through the API.

    `consent` holds, for mentor and mentee, the ISO time consent was given, or None.
    """
    ids = {}
    for key, role in ((mentor, "mentor"), (mentee, "mentee")):
        person: dict[str, Any] = {
            "role": role,
            "name": key.title(),
            "email": f"{key}@example.org",
            "status": "active",
        }
        if role == "mentor" and vetted:
            person["vetting"] = [{"step": step, "status": "passed"} for step in VETTING_STEPS]
        response = client.post("/api/v1/people", json=person, headers=ADMIN)
        assert response.status_code == 201, response.json
        ids[role] = response.json["id"]
    body: dict[str, Any] = {
        "mentor_id": ids["mentor"],
        "mentee_id": ids["mentee"],
        "status": status,
    }
    if zoom_meeting_id:
        body["zoom_meeting_id"] = zoom_meeting_id
    response = client.post("/api/v1/pairings", json=body, headers=ADMIN)
    assert response.status_code == 201, response.json
    ids["pairing"] = response.json["id"]
    for party, at in zip(("mentor", "mentee"), consent, strict=True):
        if at is not None:
            response = client.post(
                f"/api/v1/pairings/{ids['pairing']}/consent",
                json={"party": party, "consent": True, "at": at},
                headers=ADMIN,
            )
            assert response.status_code == 200, response.json
    return ids


def items(client: FlaskClient, kind: str, **query: Any) -> list[dict[str, Any]]:
    """Open tasks or alerts as the safeguarding lead sees them (nothing redacted)."""
    response = client.get(f"/api/v1/{kind}s", query_string=query, headers=SAFEGUARDING)
    assert response.status_code == 200, response.json
    result: list[dict[str, Any]] = response.json[f"{kind}s"]
    return result


def count(store: Store, model: Any, *where: Any) -> int:
    """How many rows of `model` match `where`."""
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0
