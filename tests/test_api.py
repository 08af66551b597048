"""The JSON API under `/api/v1`, the `/staff` page and the health endpoints.

Specifications, each on SQLite and PostgreSQL:
- every request needs a configured token (Bearer, or HTTP Basic with the token as password);
  each role may call exactly the endpoints of the README's table, others answer 403;
- errors have one shape, `{"error", "message"}`, with `fields` naming every invalid field;
  a refused request writes nothing;
- people: emails are kept lower-cased, updates are partial, vetting steps upsert by name;
- pairings: a mentor must be a mentor and a mentee a mentee; consent is timestamped, audited,
  and shown only to the admin and safeguarding roles;
- tasks and alerts come from the real pipeline; confidential ones are shown whole only to the
  safeguarding role (each such view audited) and only that role may close them;
- `/healthz`, `/readyz` and `/metrics` answer for the load balancer and monitoring.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from connector.clock import FrozenClock
from connector.demo import recording_payload
from connector.services import Services
from connector.store.db import Store, schema_revisions
from connector.store.models import (
    AuditEntry,
    LocalItem,
    Meeting,
    Pairing,
    Person,
    Recording,
    VettingStep,
)
from tests.support import (
    ADMIN,
    ADMIN_TOKEN,
    COORDINATOR,
    COORDINATOR_TOKEN,
    SAFEGUARDING,
    SAFEGUARDING_TOKEN,
    START,
    count,
    items,
    make_pairing,
    send_zoom,
)

MEETING_ID = "81234567890"
UUID = "p1s1AAAAAA=="
HEADERS = {"admin": ADMIN, "coordinator": COORDINATOR, "safeguarding": SAFEGUARDING}
TOKENS = {
    "admin": ADMIN_TOKEN,
    "coordinator": COORDINATOR_TOKEN,
    "safeguarding": SAFEGUARDING_TOKEN,
}
ROLES = tuple(HEADERS)
STAFF = ROLES
REDACTED_TITLE = "Confidential item for the safeguarding lead"


# --------------------------------------------------------------------------- helpers


def audit_rows(store: Store, action: str) -> list[AuditEntry]:
    with store.session() as session:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(session.scalars(query))


def basic(token: str, user: str = "staff") -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{token}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def assert_error(response: Any, status: int, error: str) -> dict[str, Any]:
    """The one error shape: a code and a human message (and `fields` for invalid input)."""
    assert response.status_code == status, response.get_data(as_text=True)
    data: dict[str, Any] = response.json
    assert data["error"] == error
    assert isinstance(data["message"], str) and data["message"]
    return data


def record_without_consent(
    client: FlaskClient, services: Services, clock: FrozenClock, **pairing: Any
) -> dict[str, int]:
    """A pairing whose Zoom session was recorded without consent, run through the pipeline."""
    ids = make_pairing(client, **pairing)
    meeting_id = pairing.get("zoom_meeting_id", MEETING_ID)
    payload = recording_payload(
        meeting_id, f"{meeting_id}-uuid==", "2026-11-02T13:01:00Z", ["rec-1"]
    )
    response = send_zoom(client, payload, clock)
    assert response.status_code == 200, response.json
    services.drain()
    return ids


def log_two_sessions(client: FlaskClient, pairing_id: int) -> None:
    for day in ("2026-10-20", "2026-10-27"):
        response = client.post(
            f"/api/v1/pairings/{pairing_id}/sessions",
            json={"started_at": f"{day}T10:00:00+00:00", "ended_at": f"{day}T11:00:00+00:00"},
            headers=ADMIN,
        )
        assert response.status_code == 201, response.json


def only(found: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(found) == 1, found
    return found[0]


# --------------------------------------------------------------------------- authentication


ENDPOINTS = [
    ("GET", "/api/v1/people"),
    ("POST", "/api/v1/people"),
    ("PATCH", "/api/v1/people/1"),
    ("GET", "/api/v1/pairings"),
    ("POST", "/api/v1/pairings"),
    ("POST", "/api/v1/pairings/1/consent"),
    ("GET", "/api/v1/tasks"),
    ("GET", "/api/v1/alerts"),
    ("POST", "/api/v1/alerts/1/done"),
    ("GET", "/api/v1/concerns"),
    ("GET", "/api/v1/recordings"),
]
BAD_CREDENTIALS = {
    "none": {},
    "wrong-bearer": {"Authorization": "Bearer not-a-configured-token"},
    "empty-bearer": {"Authorization": "Bearer "},
    "other-scheme": {"Authorization": f"Token {ADMIN_TOKEN}"},
    "token-as-basic-user": basic("", user=ADMIN_TOKEN),
    "wrong-basic": basic("not-a-configured-token"),
    "malformed-basic": {"Authorization": "Basic %%%not-base64%%%"},
}


@pytest.mark.parametrize("credentials", list(BAD_CREDENTIALS), ids=str)
@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=lambda v: str(v))
def test_without_a_valid_token_every_endpoint_answers_401_and_writes_nothing(
    client: FlaskClient, store: Store, method: str, path: str, credentials: str
) -> None:
    response = client.open(
        path,
        method=method,
        json={"role": "mentee", "name": "Intruder"},
        headers=BAD_CREDENTIALS[credentials],
    )

    data = assert_error(response, 401, "unauthorized")
    assert set(data) == {"error", "message"}
    assert count(store, Person) == count(store, AuditEntry) == 0


def test_staff_page_without_credentials_sends_the_browser_to_sign_in(
    client: FlaskClient,
) -> None:
    response = client.get("/staff")

    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/sign-in?next=%2Fstaff"


@pytest.mark.parametrize("credentials", [c for c in BAD_CREDENTIALS if c != "none"], ids=str)
def test_staff_page_with_a_wrong_token_answers_401(client: FlaskClient, credentials: str) -> None:
    response = client.get("/staff", headers=BAD_CREDENTIALS[credentials])

    assert response.status_code == 401


@pytest.mark.parametrize("role", ROLES)
def test_staff_page_accepts_basic_auth_with_the_token_as_password(
    client: FlaskClient, role: str
) -> None:
    response = client.get("/staff", headers=basic(TOKENS[role], user="anyone"))

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert f"Signed in as the {role} role" in response.get_data(as_text=True)


def test_basic_auth_with_the_token_as_password_works_on_the_api_too(client: FlaskClient) -> None:
    response = client.get("/api/v1/people", headers=basic(COORDINATOR_TOKEN))

    assert response.status_code == 200
    assert response.json == {"people": []}


# --------------------------------------------------------------------------- role matrix


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    allowed: tuple[str, ...]
    body: Callable[[dict[str, int]], dict[str, Any]] | None = None


MATRIX = [
    Call("GET", "/api/v1/people", STAFF),
    Call(
        "POST",
        "/api/v1/people",
        ("admin", "coordinator"),
        lambda ids: {"role": "mentee", "name": "Noor", "email": "noor@example.org"},
    ),
    Call("PATCH", "/api/v1/people/{mentee}", ("admin", "coordinator"), lambda ids: {"phone": "1"}),
    Call("GET", "/api/v1/pairings", STAFF),
    Call(
        "POST",
        "/api/v1/pairings",
        ("admin", "coordinator"),
        lambda ids: {"mentor_id": ids["mentor"], "mentee_id": ids["mentee"]},
    ),
    Call(
        "PATCH",
        "/api/v1/pairings/{pairing}",
        ("admin", "coordinator"),
        lambda ids: {"external_ref": "crm-7"},
    ),
    Call(
        "POST",
        "/api/v1/pairings/{pairing}/consent",
        ("admin", "safeguarding"),
        lambda ids: {"party": "mentor", "consent": True},
    ),
    Call("POST", "/api/v1/pairings/{pairing}/check-ins", STAFF, lambda ids: {"party": "both"}),
    Call(
        "POST",
        "/api/v1/pairings/{pairing}/submissions",
        ("admin", "coordinator"),
        lambda ids: {"party": "mentor", "form": "goals"},
    ),
    Call(
        "POST",
        "/api/v1/pairings/{pairing}/sessions",
        ("admin", "coordinator"),
        lambda ids: {
            "started_at": "2026-10-20T10:00:00+00:00",
            "ended_at": "2026-10-20T11:00:00+00:00",
        },
    ),
    Call("GET", "/api/v1/pairings/{pairing}/decisions", STAFF),
    Call("GET", "/api/v1/tasks", STAFF),
    Call("GET", "/api/v1/alerts", STAFF),
    Call("POST", "/api/v1/tasks/{task}/done", STAFF, lambda ids: {"note": "called both"}),
    Call("POST", "/api/v1/concerns", STAFF, lambda ids: {"body": "Something worried me."}),
    Call("GET", "/api/v1/concerns", ("safeguarding",)),
    Call(
        "POST",
        "/api/v1/concerns/{concern}/status",
        ("safeguarding",),
        lambda ids: {"status": "acknowledged"},
    ),
    Call("GET", "/api/v1/exemptions", STAFF),
    Call(
        "POST",
        "/api/v1/exemptions",
        ("admin",),
        lambda ids: {"rule_id": "monthly-meeting", "reason": "the program pauses in summer"},
    ),
    Call("POST", "/api/v1/exemptions/{exemption}/revoke", ("admin",)),
    Call("GET", "/api/v1/recordings", ("admin", "safeguarding")),
    Call(
        "POST",
        "/api/v1/recordings/{recording}/access",
        ("admin", "safeguarding"),
        lambda ids: {"purpose": "review", "note": "a complaint about session 3"},
    ),
    Call("GET", "/staff", STAFF),
]


@pytest.fixture
def world(client: FlaskClient, store: Store) -> dict[str, int]:
    """One of everything the endpoints act on: people, a pairing, a concern, an exemption,
    a kept recording and an open (not confidential) task."""
    ids = make_pairing(client)
    response = client.post("/api/v1/concerns", json={"body": "A concern."}, headers=ADMIN)
    assert response.status_code == 201, response.json
    ids["concern"] = response.json["id"]
    response = client.post(
        "/api/v1/exemptions",
        json={"rule_id": "staff-check-in", "reason": "checked in by the partner school"},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.json
    ids["exemption"] = response.json["id"]
    with store.session() as session:
        meeting = Meeting(
            platform="zoom",
            external_id=MEETING_ID,
            instance_uuid=UUID,
            pairing_id=ids["pairing"],
            started_at=START,
            held=True,
        )
        session.add(meeting)
        session.flush()
        recording = Recording(
            meeting_id=meeting.id,
            platform="zoom",
            external_id="file-1",
            file_type="MP4",
            status="available",
            restricted=True,
            created_at=START,
        )
        task = LocalItem(
            key="test:task",
            kind="task",
            rule_id="staff-check-in",
            title="Check in with Maya",
            reason="It has been a month.",
            priority="normal",
            audience="coordinator",
            confidential=False,
            pairing_id=ids["pairing"],
            created_at=START,
            updated_at=START,
        )
        session.add_all([recording, task])
        session.flush()
        ids["recording"], ids["task"] = recording.id, task.id
    return ids


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("call", MATRIX, ids=lambda c: f"{c.method} {c.path}")
def test_role_matrix(client: FlaskClient, world: dict[str, int], call: Call, role: str) -> None:
    """Each role may do what the README's table says, and nothing else."""
    response = client.open(
        call.path.format(**world),
        method=call.method,
        json=call.body(world) if call.body else None,
        headers=HEADERS[role],
    )

    if role in call.allowed:
        assert 200 <= response.status_code < 300, response.get_data(as_text=True)
    else:
        assert_error(response, 403, "forbidden")


def test_a_coordinator_cannot_record_consent_and_nothing_changes(
    client: FlaskClient, store: Store
) -> None:
    ids = make_pairing(client)

    response = client.post(
        f"/api/v1/pairings/{ids['pairing']}/consent",
        json={"party": "mentee", "consent": True},
        headers=COORDINATOR,
    )

    assert_error(response, 403, "forbidden")
    with store.session() as session:
        pairing = session.get_one(Pairing, ids["pairing"])
        assert (pairing.mentee_recording_consent, pairing.mentee_consent_at) == (False, None)
    assert audit_rows(store, "consent.given") == []


def test_safeguarding_cannot_create_people(client: FlaskClient, store: Store) -> None:
    response = client.post(
        "/api/v1/people", json={"role": "mentee", "name": "Noor"}, headers=SAFEGUARDING
    )

    assert_error(response, 403, "forbidden")
    assert count(store, Person) == 0


# --------------------------------------------------------------------------- people


def test_create_person_keeps_the_email_lower_cased_and_audits(
    client: FlaskClient, store: Store
) -> None:
    response = client.post(
        "/api/v1/people",
        json={"role": "mentor", "name": "Maya", "email": "Maya.Rivera@Example.ORG"},
        headers=COORDINATOR,
    )

    assert response.status_code == 201, response.json
    person = response.json
    assert person["email"] == "maya.rivera@example.org"
    assert (person["role"], person["status"], person["name"]) == ("mentor", "applicant", "Maya")
    assert person["vetting"] == []
    assert client.get("/api/v1/people", headers=ADMIN).json["people"] == [person]
    [entry] = audit_rows(store, "person.created")
    assert (entry.actor, entry.subject_id) == ("token:coordinator", str(person["id"]))


def test_update_person_changes_only_the_given_fields(client: FlaskClient) -> None:
    created = client.post(
        "/api/v1/people",
        json={"role": "mentee", "name": "Eli", "email": "eli@example.org", "phone": "111"},
        headers=ADMIN,
    ).json

    response = client.patch(
        f"/api/v1/people/{created['id']}",
        json={"phone": "222", "email": "Eli.New@Example.org"},
        headers=COORDINATOR,
    )

    assert response.status_code == 200, response.json
    assert response.json == created | {"phone": "222", "email": "eli.new@example.org"}


def test_vetting_steps_are_upserted_by_step_name(client: FlaskClient, store: Store) -> None:
    created = client.post(
        "/api/v1/people",
        json={
            "role": "mentor",
            "name": "Maya",
            "vetting": [{"step": "interview"}, {"step": "personal_references"}],
        },
        headers=ADMIN,
    ).json
    assert [(v["step"], v["status"]) for v in created["vetting"]] == [
        ("interview", "pending"),
        ("personal_references", "pending"),
    ]

    response = client.patch(
        f"/api/v1/people/{created['id']}",
        json={
            "vetting": [
                {"step": "interview", "status": "passed", "completed_on": "2026-10-01"},
                {"step": "professional_verification", "status": "failed"},
            ]
        },
        headers=ADMIN,
    )

    assert response.status_code == 200, response.json
    vetting = {v["step"]: v for v in response.json["vetting"]}
    assert set(vetting) == {"interview", "personal_references", "professional_verification"}
    assert (vetting["interview"]["status"], vetting["interview"]["completed_on"]) == (
        "passed",
        "2026-10-01",
    )
    assert vetting["personal_references"]["status"] == "pending"
    assert vetting["professional_verification"]["status"] == "failed"
    assert count(store, VettingStep, VettingStep.person_id == created["id"]) == 3


@pytest.mark.parametrize("email", ["maya@example.org", "MAYA@Example.org"])
def test_a_duplicate_email_is_409_and_writes_nothing(
    client: FlaskClient, store: Store, email: str
) -> None:
    client.post(
        "/api/v1/people",
        json={"role": "mentor", "name": "Maya", "email": "maya@example.org"},
        headers=ADMIN,
    )
    people, entries = count(store, Person), count(store, AuditEntry)

    response = client.post(
        "/api/v1/people",
        json={"role": "mentee", "name": "Other Maya", "email": email, "vetting": [{"step": "x"}]},
        headers=ADMIN,
    )

    assert_error(response, 409, "conflict")
    assert (count(store, Person), count(store, AuditEntry)) == (people, entries)
    assert count(store, VettingStep) == 0


def test_a_duplicate_email_on_update_is_409_and_changes_nothing(
    client: FlaskClient, store: Store
) -> None:
    ids = make_pairing(client)

    response = client.patch(
        f"/api/v1/people/{ids['mentee']}", json={"email": "MAYA@example.org"}, headers=ADMIN
    )

    assert_error(response, 409, "conflict")
    with store.session() as session:
        assert session.get_one(Person, ids["mentee"]).email == "eli@example.org"
    assert audit_rows(store, "person.updated") == []


@pytest.mark.parametrize(
    ("payload", "bad"),
    [
        (
            {"role": "boss", "name": "", "email": "not-an-email", "phone": "9" * 65},
            {"role", "name", "email", "phone"},
        ),
        ({"email": "a@example.org"}, {"role", "name"}),
        (
            {"role": "mentor", "name": "Maya", "status": "retired", "vetting": [{"status": "ok"}]},
            {"status", "vetting"},
        ),
        ({"role": "mentor", "name": "Maya", "nickname": "M"}, {"nickname"}),
    ],
    ids=["bad-values", "missing", "bad-status-and-vetting", "unknown-field"],
)
def test_invalid_people_are_400_naming_every_bad_field_and_write_nothing(
    client: FlaskClient, store: Store, payload: dict[str, Any], bad: set[str]
) -> None:
    before = count(store, Person), count(store, AuditEntry)

    response = client.post("/api/v1/people", json=payload, headers=ADMIN)

    data = assert_error(response, 400, "invalid")
    assert set(data["fields"]) == bad
    assert (count(store, Person), count(store, AuditEntry)) == before


def test_an_unknown_field_on_update_is_400_and_changes_nothing(
    client: FlaskClient, store: Store
) -> None:
    ids = make_pairing(client)

    response = client.patch(
        f"/api/v1/people/{ids['mentee']}", json={"name": "Elias", "shoe_size": 9}, headers=ADMIN
    )

    data = assert_error(response, 400, "invalid")
    assert set(data["fields"]) == {"shoe_size"}
    with store.session() as session:
        assert session.get_one(Person, ids["mentee"]).name == "Eli"


@pytest.mark.parametrize("raw", ["[1, 2]", "not json", '"text"'])
def test_a_body_that_is_not_a_json_object_is_400(client: FlaskClient, raw: str) -> None:
    response = client.post(
        "/api/v1/people", data=raw, content_type="application/json", headers=ADMIN
    )

    assert_error(response, 400, "invalid")


def test_updating_an_unknown_person_is_404(client: FlaskClient) -> None:
    response = client.patch("/api/v1/people/999", json={"name": "Nobody"}, headers=ADMIN)

    assert_error(response, 404, "not_found")


# --------------------------------------------------------------------------- pairings


def test_create_pairing_with_its_zoom_meeting_id(client: FlaskClient, store: Store) -> None:
    ids = make_pairing(client, zoom_meeting_id=MEETING_ID)

    [pairing] = client.get("/api/v1/pairings", headers=COORDINATOR).json["pairings"]

    assert pairing["id"] == ids["pairing"]
    assert (pairing["mentor_id"], pairing["mentee_id"]) == (ids["mentor"], ids["mentee"])
    assert pairing["meetings"] == {"zoom": MEETING_ID}
    assert pairing["status"] == "active"
    assert pairing["started_on"] == "2026-11-02"
    [entry] = audit_rows(store, "pairing.created")
    assert entry.subject_id == str(ids["pairing"])


def test_a_zoom_meeting_id_must_be_digits(client: FlaskClient, store: Store) -> None:
    ids = make_pairing(client, zoom_meeting_id=None)

    response = client.patch(
        f"/api/v1/pairings/{ids['pairing']}", json={"zoom_meeting_id": "zoom.us/j/1"}, headers=ADMIN
    )

    assert set(assert_error(response, 400, "invalid")["fields"]) == {"zoom_meeting_id"}


@pytest.mark.parametrize("swap", ["mentor-is-a-mentee", "mentee-is-a-mentor", "both-swapped"])
def test_a_pairing_needs_a_mentor_and_a_mentee(
    client: FlaskClient, store: Store, swap: str
) -> None:
    ids = make_pairing(client)
    other_mentor = client.post(
        "/api/v1/people", json={"role": "mentor", "name": "Sam"}, headers=ADMIN
    ).json["id"]
    other_mentee = client.post(
        "/api/v1/people", json={"role": "mentee", "name": "Noor"}, headers=ADMIN
    ).json["id"]
    body = {
        "mentor-is-a-mentee": {"mentor_id": other_mentee, "mentee_id": ids["mentee"]},
        "mentee-is-a-mentor": {"mentor_id": ids["mentor"], "mentee_id": other_mentor},
        "both-swapped": {"mentor_id": other_mentee, "mentee_id": other_mentor},
    }[swap]

    response = client.post("/api/v1/pairings", json=body, headers=ADMIN)

    assert_error(response, 400, "invalid")
    assert count(store, Pairing) == 1


def test_changing_a_pairings_mentor_to_a_mentee_is_400_and_changes_nothing(
    client: FlaskClient, store: Store
) -> None:
    ids = make_pairing(client)

    response = client.patch(
        f"/api/v1/pairings/{ids['pairing']}", json={"mentor_id": ids["mentee"]}, headers=ADMIN
    )

    assert_error(response, 400, "invalid")
    with store.session() as session:
        assert session.get_one(Pairing, ids["pairing"]).mentor_id == ids["mentor"]


@pytest.mark.parametrize("field", ["mentor_id", "mentee_id"])
def test_a_pairing_with_an_unknown_person_is_404(
    client: FlaskClient, store: Store, field: str
) -> None:
    ids = make_pairing(client)
    body = {"mentor_id": ids["mentor"], "mentee_id": ids["mentee"], field: 999}

    response = client.post("/api/v1/pairings", json=body, headers=ADMIN)

    assert_error(response, 404, "not_found")
    assert count(store, Pairing) == 1


@pytest.mark.parametrize("field", ["mentor_id", "mentee_id"])
def test_changing_a_pairing_to_an_unknown_person_is_404_and_changes_nothing(
    client: FlaskClient, store: Store, field: str
) -> None:
    ids = make_pairing(client)

    response = client.patch(f"/api/v1/pairings/{ids['pairing']}", json={field: 999}, headers=ADMIN)

    assert_error(response, 404, "not_found")
    with store.session() as session:
        pairing = session.get_one(Pairing, ids["pairing"])
        assert (pairing.mentor_id, pairing.mentee_id) == (ids["mentor"], ids["mentee"])


def test_updating_an_unknown_pairing_is_404(client: FlaskClient) -> None:
    response = client.patch("/api/v1/pairings/999", json={"external_ref": "x"}, headers=ADMIN)

    assert_error(response, 404, "not_found")


def test_consent_is_recorded_and_revoked_with_timestamps_and_audited(
    client: FlaskClient, store: Store, clock: FrozenClock
) -> None:
    ids = make_pairing(client)
    url = f"/api/v1/pairings/{ids['pairing']}/consent"

    given = client.post(
        url,
        json={"party": "mentor", "consent": True, "at": "2026-10-01T09:30:00+00:00"},
        headers=ADMIN,
    )
    assert given.status_code == 200, given.json
    assert given.json["recording_consent"] == {
        "mentor": {"given": True, "at": "2026-10-01T09:30:00+00:00"},
        "mentee": {"given": False, "at": None},
    }

    clock.advance(hours=1)
    revoked = client.post(url, json={"party": "mentor", "consent": False}, headers=SAFEGUARDING)
    assert revoked.status_code == 200, revoked.json
    assert revoked.json["recording_consent"]["mentor"] == {
        "given": False,
        "at": "2026-11-02T15:00:00+00:00",
    }

    with store.session() as session:
        pairing = session.get_one(Pairing, ids["pairing"])
        assert pairing.mentor_recording_consent is False
        assert pairing.mentor_consent_at == clock.now()
    [given_entry] = audit_rows(store, "consent.given")
    [revoked_entry] = audit_rows(store, "consent.revoked")
    assert (given_entry.actor, given_entry.subject_type, given_entry.subject_id) == (
        "token:admin",
        "pairing",
        str(ids["pairing"]),
    )
    assert given_entry.detail == {"party": "mentor", "consent_at": "2026-10-01T09:30:00+00:00"}
    assert given_entry.at == START
    assert revoked_entry.actor == "token:safeguarding"
    assert revoked_entry.detail == {"party": "mentor", "consent_at": "2026-11-02T15:00:00+00:00"}
    assert revoked_entry.at == clock.now()


@pytest.mark.parametrize(
    "body",
    [
        {"party": "both", "consent": True},
        {"party": "mentor"},
        {"party": "mentor", "consent": True, "at": "2026-10-01T09:30:00"},
    ],
    ids=["bad-party", "no-consent", "naive-time"],
)
def test_invalid_consent_is_400_and_audits_nothing(
    client: FlaskClient, store: Store, body: dict[str, Any]
) -> None:
    ids = make_pairing(client)

    response = client.post(f"/api/v1/pairings/{ids['pairing']}/consent", json=body, headers=ADMIN)

    assert_error(response, 400, "invalid")
    assert audit_rows(store, "consent.given") == []


@pytest.mark.parametrize("role", ["admin", "safeguarding"])
def test_consent_is_shown_to_admin_and_safeguarding(client: FlaskClient, role: str) -> None:
    make_pairing(client, consent=("2026-10-01T00:00:00+00:00", None))

    [pairing] = client.get("/api/v1/pairings", headers=HEADERS[role]).json["pairings"]

    assert pairing["recording_consent"] == {
        "mentor": {"given": True, "at": "2026-10-01T00:00:00+00:00"},
        "mentee": {"given": False, "at": None},
    }


def test_consent_is_not_shown_to_a_coordinator(client: FlaskClient) -> None:
    ids = make_pairing(client, consent=("2026-10-01T00:00:00+00:00", None))

    [listed] = client.get("/api/v1/pairings", headers=COORDINATOR).json["pairings"]
    updated = client.patch(
        f"/api/v1/pairings/{ids['pairing']}", json={"external_ref": "crm-1"}, headers=COORDINATOR
    ).json

    for pairing in (listed, updated):
        assert "recording_consent" not in pairing
        assert not any("consent" in key for key in pairing)


# --------------------------------------------------------------------------- tasks and alerts


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_other_roles_see_a_confidential_alert_redacted_and_nothing_is_audited(
    client: FlaskClient, services: Services, clock: FrozenClock, store: Store, role: str
) -> None:
    ids = record_without_consent(client, services, clock)

    response = client.get("/api/v1/alerts", headers=HEADERS[role])

    assert response.status_code == 200
    alert = only(response.json["alerts"])
    assert alert["confidential"] is True
    assert alert["title"] == REDACTED_TITLE
    assert alert["reason"] == "Visible only to the safeguarding role."
    assert (alert["pairing_id"], alert["key"], alert["done_note"]) == (None, None, None)
    text = response.get_data(as_text=True)
    assert "consent" not in text and f"P{ids['pairing']}" not in text
    assert alert["rule"] == "confidential"
    assert audit_rows(store, "confidential.viewed") == []


def test_safeguarding_sees_a_confidential_alert_whole_and_the_view_is_audited(
    client: FlaskClient, services: Services, clock: FrozenClock, store: Store
) -> None:
    ids = record_without_consent(client, services, clock)

    response = client.get("/api/v1/alerts", headers=SAFEGUARDING)

    alert = only(response.json["alerts"])
    assert (alert["rule"], alert["priority"], alert["confidential"]) == (
        "recording-consent",
        "critical",
        True,
    )
    assert alert["title"].startswith("Session recorded without consent")
    assert f"pairing P{ids['pairing']}" in alert["reason"]
    assert alert["pairing_id"] == ids["pairing"]
    assert alert["key"].startswith("recording-consent:")
    [entry] = audit_rows(store, "confidential.viewed")
    assert (entry.actor, entry.subject_type) == ("token:safeguarding", "local_item")
    assert entry.subject_id.split(",") == [str(alert["id"])]
    assert entry.at == START


def test_safeguarding_can_list_many_confidential_items(client: FlaskClient, store: Store) -> None:
    """A busy program keeps dozens of confidential items open; the audited view still works."""
    with store.session() as session:
        for n in range(40):
            session.add(
                LocalItem(
                    key=f"recording-consent:meeting:{n}:alert",
                    kind="alert",
                    rule_id="recording-consent",
                    title=f"Session {n} recorded without consent",
                    reason="r",
                    priority="critical",
                    audience="safeguarding",
                    confidential=True,
                    created_at=START,
                    updated_at=START,
                )
            )

    response = client.get("/api/v1/alerts", headers=SAFEGUARDING)
    page = client.get("/staff", headers=SAFEGUARDING)

    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert len(response.json["alerts"]) == 40
    assert page.status_code == 200
    assert audit_rows(store, "confidential.viewed")


@pytest.fixture
def program(client: FlaskClient, services: Services, clock: FrozenClock) -> dict[str, int]:
    """Pairing A: a recording without consent (a confidential alert and removal task).
    Pairing B: two sessions held in person (introductory goals and feedback tasks)."""
    a = record_without_consent(client, services, clock)
    b = make_pairing(client, mentor="sam", mentee="noor", zoom_meeting_id="81234567891")
    log_two_sessions(client, b["pairing"])
    services.drain()
    return {"a": a["pairing"], "b": b["pairing"]}


A_CONSENT = ("a", "recording-consent")
B_INTRO = ("b", "introductory-session")
B_FEEDBACK = ("b", "feedback-after-sessions")


@pytest.mark.parametrize(
    ("kind", "query", "expected"),
    [
        ("task", {}, {A_CONSENT, B_INTRO, B_FEEDBACK}),
        ("task", {"rule": "feedback-after-sessions"}, {B_FEEDBACK}),
        ("task", {"rule": "no-such-rule"}, set()),
        ("task", {"pairing": "a"}, {A_CONSENT}),
        ("task", {"pairing": "b"}, {B_INTRO, B_FEEDBACK}),
        ("task", {"priority": "high"}, {A_CONSENT}),
        ("task", {"priority": "normal", "pairing": "b", "rule": "introductory-session"}, {B_INTRO}),
        ("task", {"status": "done"}, set()),
        ("alert", {}, {A_CONSENT}),
        ("alert", {"priority": "critical"}, {A_CONSENT}),
        ("alert", {"priority": "normal"}, set()),
        ("alert", {"pairing": "b"}, set()),
    ],
)
def test_filters(
    client: FlaskClient,
    program: dict[str, int],
    kind: str,
    query: dict[str, str],
    expected: set[tuple[str, str]],
) -> None:
    names = {pairing_id: name for name, pairing_id in program.items()}
    if "pairing" in query:
        query = query | {"pairing": str(program[query["pairing"]])}

    found = items(client, kind, **query)

    assert {(names[i["pairing_id"]], i["rule"]) for i in found} == expected
    assert all(i["kind"] == kind for i in found)


def test_status_filter_separates_open_and_done_items(
    client: FlaskClient, program: dict[str, int]
) -> None:
    [feedback] = items(client, "task", rule="feedback-after-sessions")
    response = client.post(
        f"/api/v1/tasks/{feedback['id']}/done", json={"note": "asked both"}, headers=ADMIN
    )
    assert response.status_code == 200, response.json

    assert [i["id"] for i in items(client, "task", status="done")] == [feedback["id"]]
    assert feedback["id"] not in [i["id"] for i in items(client, "task")]
    assert feedback["id"] not in [i["id"] for i in items(client, "task", status="open")]
    assert len(items(client, "task", status="all")) == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"status": "closed"}, "status"),
        ({"priority": "urgent"}, "priority"),
        ({"pairing": "P1"}, "pairing"),
    ],
)
@pytest.mark.parametrize("kind", ["tasks", "alerts"])
def test_an_unknown_or_invalid_filter_is_400(
    client: FlaskClient, kind: str, query: dict[str, str], field: str
) -> None:
    response = client.get(f"/api/v1/{kind}", query_string=query, headers=COORDINATOR)

    assert set(assert_error(response, 400, "invalid")["fields"]) == {field}


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_only_safeguarding_may_close_a_confidential_item(
    client: FlaskClient, program: dict[str, int], store: Store, role: str
) -> None:
    [alert] = items(client, "alert")

    response = client.post(
        f"/api/v1/alerts/{alert['id']}/done", json={"note": "dealt with"}, headers=HEADERS[role]
    )

    assert_error(response, 403, "forbidden")
    with store.session() as session:
        row = session.get_one(LocalItem, alert["id"])
        assert (row.status, row.done_note, row.done_at) == ("open", None, None)
    assert audit_rows(store, "alert.done") == []


def test_safeguarding_closes_a_confidential_item_with_a_note(
    client: FlaskClient, program: dict[str, int], store: Store, clock: FrozenClock
) -> None:
    [alert] = items(client, "alert")
    clock.advance(hours=2)
    note = "Recording deleted; both parties informed."

    response = client.post(
        f"/api/v1/alerts/{alert['id']}/done", json={"note": note}, headers=SAFEGUARDING
    )

    assert response.status_code == 200, response.json
    assert (response.json["status"], response.json["done_note"]) == ("done", note)
    with store.session() as session:
        row = session.get_one(LocalItem, alert["id"])
        assert (row.status, row.done_note, row.done_at) == ("done", note, clock.now())
    [entry] = audit_rows(store, "alert.done")
    assert (entry.actor, entry.subject_id) == ("token:safeguarding", str(alert["id"]))
    assert items(client, "alert") == []
    [closed] = items(client, "alert", status="done")
    assert closed["done_note"] == note


def test_a_coordinator_closes_a_task_that_is_not_confidential(
    client: FlaskClient, program: dict[str, int], store: Store
) -> None:
    [feedback] = items(client, "task", rule="feedback-after-sessions")
    assert feedback["confidential"] is False

    response = client.post(
        f"/api/v1/tasks/{feedback['id']}/done",
        json={"note": "Feedback forms sent to both."},
        headers=COORDINATOR,
    )

    assert response.status_code == 200, response.json
    assert response.json["done_note"] == "Feedback forms sent to both."
    assert response.json["title"] == feedback["title"]  # not redacted: not confidential
    with store.session() as session:
        assert session.get_one(LocalItem, feedback["id"]).status == "done"
    [entry] = audit_rows(store, "task.done")
    assert entry.actor == "token:coordinator"


@pytest.mark.parametrize("body", [{}, {"note": ""}, {"note": "x", "extra": 1}])
def test_closing_needs_a_note(
    client: FlaskClient, program: dict[str, int], store: Store, body: dict[str, Any]
) -> None:
    [feedback] = items(client, "task", rule="feedback-after-sessions")

    response = client.post(f"/api/v1/tasks/{feedback['id']}/done", json=body, headers=ADMIN)

    assert_error(response, 400, "invalid")
    with store.session() as session:
        assert session.get_one(LocalItem, feedback["id"]).status == "open"


def test_closing_an_unknown_item_is_404(client: FlaskClient) -> None:
    response = client.post("/api/v1/tasks/999/done", json={"note": "x"}, headers=ADMIN)

    assert_error(response, 404, "not_found")


# --------------------------------------------------------------------------- /staff


def test_staff_page_shows_safeguarding_every_open_item_whole(
    client: FlaskClient, program: dict[str, int], store: Store
) -> None:
    alerts, tasks = items(client, "alert"), items(client, "task")
    viewed = len(audit_rows(store, "confidential.viewed"))

    response = client.get("/staff", headers=basic(SAFEGUARDING_TOKEN))

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"Alerts ({len(alerts)})" in page and f"Tasks ({len(tasks)})" in page
    for item in alerts + tasks:
        assert str(escape(item["title"])) in page
        assert str(escape(item["reason"])) in page
    assert REDACTED_TITLE not in page
    assert len(audit_rows(store, "confidential.viewed")) > viewed


def test_staff_page_hides_confidential_items_from_a_coordinator(
    client: FlaskClient, program: dict[str, int], store: Store
) -> None:
    alerts, tasks = items(client, "alert"), items(client, "task")
    confidential = [i for i in alerts + tasks if i["confidential"]]
    ordinary = [i for i in alerts + tasks if not i["confidential"]]
    assert confidential and ordinary
    viewed = len(audit_rows(store, "confidential.viewed"))

    response = client.get("/staff", headers=basic(COORDINATOR_TOKEN))

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"Alerts ({len(alerts)})" in page and f"Tasks ({len(tasks)})" in page
    for item in ordinary:
        assert str(escape(item["title"])) in page
    assert REDACTED_TITLE in page
    for item in confidential:
        assert str(escape(item["title"])) not in page
        assert str(escape(item["reason"])) not in page
    assert len(audit_rows(store, "confidential.viewed")) == viewed


def test_staff_page_lists_no_closed_items(client: FlaskClient, program: dict[str, int]) -> None:
    [feedback] = items(client, "task", rule="feedback-after-sessions")
    client.post(f"/api/v1/tasks/{feedback['id']}/done", json={"note": "done"}, headers=ADMIN)

    page = client.get("/staff", headers=SAFEGUARDING).get_data(as_text=True)

    assert str(escape(feedback["title"])) not in page
    assert "Tasks (2)" in page


def test_staff_page_with_nothing_open(client: FlaskClient) -> None:
    page = client.get("/staff", headers=ADMIN).get_data(as_text=True)

    assert page.count("Nothing open.") == 2


# --------------------------------------------------------------------------- health


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")

    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_readyz_reports_the_schema_revision(client: FlaskClient, store: Store) -> None:
    current, head = schema_revisions(store.engine)
    assert current == head is not None

    response = client.get("/readyz")

    assert (response.status_code, response.json) == (200, {"status": "ready", "schema": head})


def test_metrics_count_inbox_outbox_and_local_items_after_a_delivery(
    client: FlaskClient, services: Services, clock: FrozenClock
) -> None:
    record_without_consent(client, services, clock)

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    assert "# TYPE connector_inbox_rows gauge" in lines
    assert "# TYPE connector_local_items gauge" in lines
    inbox = [line for line in lines if line.startswith("connector_inbox_rows{")]
    assert any(line.startswith('connector_inbox_rows{status="done"} ') for line in inbox)
    assert 'connector_outbox_rows{status="done"} 2' in lines
    assert 'connector_local_items{kind="alert",status="open"} 1' in lines
    assert 'connector_local_items{kind="task",status="open"} 1' in lines
