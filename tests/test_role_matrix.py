"""Who may open what: every route of the app, for every kind of caller.

`MATRIX` lists every (method, route) in `app.url_map` with its access rule; a route added
without a row here fails `test_every_route_is_in_the_matrix`. Callers: anonymous, an API
token of each role and a signed-in session of each role. The rules:

| access          | anonymous                | token of a role          | session of a role        |
|-----------------|--------------------------|--------------------------|--------------------------|
| `public`        | not 401/403              | the same as anonymous    | the same as anonymous    |
| `signed`        | 401 (no vendor signature)| 401                      | 401                      |
| `link`          | refused (a bad link)     | the same as anonymous    | the same as anonymous    |
| `api(roles)`    | 401                      | allowed if listed, 403   | 401 (never a cookie)     |
| `page(roles)`   | 303 to /admin/sign-in    | allowed if listed, 403   | allowed if listed, 403   |

"Allowed" means the view ran: neither 401 nor 403 nor a trip to the sign-in page (ids that
do not exist answer 404 or a redirect with a message, which is fine here). POSTs to pages
carry a valid CSRF token, so the role check, not the CSRF check, is what is tested.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from connector.app import create_app
from connector.clock import FrozenClock
from connector.settings import Secret, Settings
from connector.store.db import Store
from connector.store.models import User
from tests.support import ADMIN_TOKEN, COORDINATOR_TOKEN, SAFEGUARDING_TOKEN, START, bearer

STAFF = ("admin", "coordinator", "safeguarding")
PASSWORD = "matrix password 0123"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Access:
    kind: str  # public | signed | api | page
    roles: tuple[str, ...] = ()


PUBLIC, SIGNED, LINK = Access("public"), Access("signed"), Access("link")


def api(*roles: str) -> Access:
    return Access("api", roles)


def page(*roles: str) -> Access:
    return Access("page", roles)


MATRIX: dict[tuple[str, str], Access] = {
    # the admin console
    ("GET", "/admin/"): page(*STAFF),
    ("GET", "/admin/adapters"): page("admin"),
    ("POST", "/admin/adapters/<name>/check"): page("admin"),
    ("GET", "/admin/audit"): page("admin"),
    ("GET", "/admin/concerns"): page("safeguarding"),
    ("POST", "/admin/concerns/<int:concern_id>/status"): page("safeguarding"),
    ("GET", "/admin/dead-letters"): page("admin"),
    ("POST", "/admin/exemptions"): page("admin"),
    ("POST", "/admin/exemptions/<int:exemption_id>/revoke"): page("admin"),
    ("GET", "/admin/inbox"): page("admin"),
    ("POST", "/admin/inbox/<int:row_id>/replay"): page("admin"),
    ("GET", "/admin/outbox"): page("admin"),
    ("POST", "/admin/outbox/<int:row_id>/retry"): page("admin"),
    ("GET", "/admin/recordings"): page("admin", "safeguarding"),
    ("POST", "/admin/recordings/<int:recording_id>/access"): page("admin", "safeguarding"),
    ("GET", "/admin/rules"): page(*STAFF),
    ("GET", "/admin/sign-in"): PUBLIC,
    ("POST", "/admin/sign-in"): PUBLIC,
    ("POST", "/admin/sign-out"): PUBLIC,
    # the staff page
    ("GET", "/staff"): page(*STAFF),
    ("POST", "/staff/items/<int:item_id>/done"): page(*STAFF),
    # the JSON API
    ("GET", "/api/v1/alerts"): api(*STAFF),
    ("POST", "/api/v1/alerts/<int:item_id>/done"): api(*STAFF),
    ("GET", "/api/v1/tasks"): api(*STAFF),
    ("POST", "/api/v1/tasks/<int:item_id>/done"): api(*STAFF),
    ("POST", "/api/v1/concerns"): api(*STAFF),
    ("GET", "/api/v1/concerns"): api("safeguarding"),
    ("POST", "/api/v1/concerns/<int:concern_id>/status"): api("safeguarding"),
    ("GET", "/api/v1/exemptions"): api(*STAFF),
    ("POST", "/api/v1/exemptions"): api("admin"),
    ("POST", "/api/v1/exemptions/<int:exemption_id>/revoke"): api("admin"),
    ("GET", "/api/v1/pairings"): api(*STAFF),
    ("POST", "/api/v1/pairings"): api("admin", "coordinator"),
    ("PATCH", "/api/v1/pairings/<int:pairing_id>"): api("admin", "coordinator"),
    ("POST", "/api/v1/pairings/<int:pairing_id>/check-ins"): api(*STAFF),
    ("POST", "/api/v1/pairings/<int:pairing_id>/consent"): api("admin", "safeguarding"),
    ("GET", "/api/v1/pairings/<int:pairing_id>/decisions"): api(*STAFF),
    ("POST", "/api/v1/pairings/<int:pairing_id>/sessions"): api("admin", "coordinator"),
    ("POST", "/api/v1/pairings/<int:pairing_id>/submissions"): api("admin", "coordinator"),
    ("GET", "/api/v1/people"): api(*STAFF),
    ("POST", "/api/v1/people"): api("admin", "coordinator"),
    ("PATCH", "/api/v1/people/<int:person_id>"): api("admin", "coordinator"),
    ("GET", "/api/v1/recordings"): api("admin", "safeguarding"),
    ("POST", "/api/v1/recordings/<int:recording_id>/access"): api("admin", "safeguarding"),
    # forms: reached by signed links or open to the public, never by a role
    ("GET", "/forms/<form>/<token>"): LINK,
    ("POST", "/forms/<form>/<token>"): LINK,
    ("GET", "/forms/apply/<any(mentor, mentee):role>"): PUBLIC,
    ("POST", "/forms/apply/<any(mentor, mentee):role>"): PUBLIC,
    ("GET", "/forms/concern"): PUBLIC,
    ("POST", "/forms/concern"): PUBLIC,
    # health, static files, webhooks
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/static/<path:filename>"): PUBLIC,
    ("POST", "/webhooks/<source>"): SIGNED,
}

SAMPLE = {  # a value for each route variable; ids that exist nowhere
    "name": "host:local",
    "form": "feedback",
    "token": "not-a-signed-link",
    "role": "mentor",
    "source": "zoom",
    "filename": "app.css",
}
CALLERS = ["anonymous"] + [f"{how}:{role}" for how in ("token", "session") for role in STAFF]
TOKENS = {
    "admin": ADMIN_TOKEN,
    "coordinator": COORDINATOR_TOKEN,
    "safeguarding": SAFEGUARDING_TOKEN,
}


def route_rules(app: Flask) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def concrete(rule: str) -> str:
    def value(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        return "999999" if converter == "int" else SAMPLE[name]

    return re.sub(r"<(?:([a-z]+)(?:\([^)]*\))?:)?([a-z_]+)>", value, rule)


@pytest.fixture
def app(settings: Settings, store: Store, clock: FrozenClock) -> Flask:
    key = Secret("env:CONNECTOR_SECRET_KEY", "secret-key-for-the-role-matrix-0123")
    settings = dataclasses.replace(
        settings, connector=dataclasses.replace(settings.connector, secret_key=key)
    )
    return create_app(settings, store=store, clock=clock)


def call_as(client: FlaskClient, store: Store, caller: str, method: str, path: str) -> Any:
    """Make the request as `caller`; browser routes get a valid CSRF token in every case."""
    headers: dict[str, str] = {}
    how, _, role = caller.partition(":")
    if how == "token":
        headers = bearer(TOKENS[role])
    if how == "session":
        with store.session() as session:  # a cheap hash: this test is about roles, not hashing
            hashed = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
            session.add(
                User(
                    username=role,
                    role=role,
                    password_hash=hashed,
                    active=True,
                    session_version=1,
                    created_at=START,
                    updated_at=START,
                )
            )
    found = CSRF.search(client.get("/admin/sign-in").get_data(as_text=True))
    assert found
    token = found.group(1)
    if how == "session":
        form = {"username": role, "password": PASSWORD, "csrf_token": token}
        assert client.post("/admin/sign-in", data=form).status_code == 303
        again = CSRF.search(client.get("/admin/sign-in").get_data(as_text=True))
        assert again  # signing in starts a fresh session, with a fresh token
        token = again.group(1)
    if path.startswith("/api/"):
        return client.open(path, method=method, json={}, headers=headers)
    return client.open(path, method=method, data={"csrf_token": token}, headers=headers)


def test_every_route_is_in_the_matrix(app: Flask) -> None:
    routes = route_rules(app)

    assert sorted(routes - set(MATRIX)) == [], "routes without a row in MATRIX"
    assert sorted(set(MATRIX) - routes) == [], "rows in MATRIX for routes that do not exist"


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "rule"), list(MATRIX), ids=lambda v: str(v))
def test_role_matrix(
    client: FlaskClient, store: Store, method: str, rule: str, caller: str
) -> None:
    access = MATRIX[(method, rule)]
    path = concrete(rule)
    response = call_as(client, store, caller, method, path)
    status, location = response.status_code, response.headers.get("Location", "")
    how, _, role = caller.partition(":")
    sent_to_sign_in = status == 303 and location.startswith("/admin/sign-in")
    allowed = status not in (401, 403) and not sent_to_sign_in and status < 500
    detail = f"{caller} {method} {path}: {status} {location}"

    if access.kind in ("public", "link"):
        anonymous = call_as(client.application.test_client(), store, "anonymous", method, path)
        assert status == anonymous.status_code, detail  # a role or a session changes nothing
        if access.kind == "public":
            assert status not in (401, 403) and status < 500, detail
        else:
            assert status in (400, 403, 404, 410), detail
    elif access.kind == "signed":
        assert status == 401, detail
    elif access.kind == "api":
        expected = 403 if how == "token" and role not in access.roles else 401
        if how == "token" and role in access.roles:
            assert allowed, detail
        else:
            assert status == expected, detail
            assert response.is_json, detail
    elif how == "anonymous":
        assert sent_to_sign_in, detail
    elif role in access.roles:
        assert allowed, detail
    else:
        assert status == 403, detail
