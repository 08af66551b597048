"""The forms under /forms, through the Flask test client, on every store backend.

A form is stored through the same functions as the API, once, with its event in the inbox;
bad input, a missing CSRF token, an expired or tampered link store nothing; every page
carries the security headers; tasks asking for a form carry the parties' signed links.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from connector.app import create_app
from connector.clock import FrozenClock
from connector.domain import Task
from connector.links import (
    LinkExpired,
    LinkInvalid,
    make_token,
    read_token,
    with_form_links,
)
from connector.services import Services
from connector.settings import Secret, Settings
from connector.store.db import Store
from connector.store.models import (
    AuditEntry,
    Concern,
    InboxEvent,
    Meeting,
    OutboxItem,
    Pairing,
    Person,
    Submission,
)
from tests.support import ADMIN, SAFEGUARDING, make_pairing, make_settings


@pytest.fixture
def settings(database_url: str) -> Settings:
    base = make_settings(
        database_url, forms={"frame_ancestors": ["'self'", "https://crm.example.org"]}
    )
    connector = dataclasses.replace(base.connector, secret_key=Secret("env:T_KEY", "k" * 32))
    return dataclasses.replace(base, connector=connector)


def page_fields(html: str) -> dict[str, str]:
    """The hidden fields (CSRF token, nonce) of a rendered form."""
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html))


def fill(client: FlaskClient, path: str, **answers: Any) -> Any:
    """Open the form like a browser, then send it with `answers` and its hidden fields."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data=page_fields(page.text) | answers)


def link(services: Services, form: str, ids: dict[str, int], party: str = "mentee") -> str:
    token = make_token(
        services.settings,
        services.clock,
        form,
        person_id=ids[party],
        pairing_id=ids["pairing"],
        party=party,
    )
    return f"/forms/{form}/{token}"


def count(store: Store, model: type[Any]) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


MENTOR_APPLICATION = {
    "name": "Ada Mensah",
    "email": "Ada@Example.org",
    "background": "Twenty years in civil engineering",
    "expertise": "Structural design, careers in engineering",
    "availability": "Two evenings a month",
    "reference1_name": "Kofi Boateng",
    "reference1_contact": "kofi@example.org",
    "reference2_name": "Lena Weiss",
    "reference2_contact": "+44 20 7946 0000",
}


# --------------------------------------------------------------------------- application


def test_a_mentor_application_creates_the_applicant_and_a_review_task(
    client: FlaskClient, services: Services, store: Store
) -> None:
    response = fill(client, "/forms/apply/mentor", **MENTOR_APPLICATION)
    assert response.status_code == 200 and "Thank you for applying" in response.text
    with store.session() as session:
        person = session.scalars(select(Person)).one()
        assert (person.role, person.status, person.email) == (
            "mentor",
            "applicant",
            "ada@example.org",
        )
        assert {v.step: v.status for v in person.vetting_steps} == {
            "professional_verification": "pending",
            "personal_references": "pending",
            "interview": "pending",
        }
        review = session.scalars(
            select(OutboxItem).where(OutboxItem.rule_id == "application-review")
        ).one()
        assert review.decision["title"] == "Review the mentor application of Ada Mensah"
        assert "Reference 2 contact: +44 20 7946 0000" in review.decision["reason"]
    services.drain()
    response = client.get("/api/v1/tasks", headers=ADMIN)
    titles = [t["title"] for t in response.json["tasks"]]
    assert "Review the mentor application of Ada Mensah" in titles  # the host received it


def test_a_second_application_updates_the_same_person(client: FlaskClient, store: Store) -> None:
    fill(client, "/forms/apply/mentee", name="Eli B", email="eli@example.org", goals="Coding")
    fill(client, "/forms/apply/mentee", name="Eli Brooks", email="eli@example.org", goals="Law")
    with store.session() as session:
        people = session.scalars(select(Person)).all()
        assert [(p.name, p.role, p.status) for p in people] == [
            ("Eli Brooks", "mentee", "applicant")
        ]
    assert count(store, OutboxItem) == 2  # one review task per application


def test_bad_input_is_shown_again_per_field_and_nothing_is_stored(
    client: FlaskClient, store: Store
) -> None:
    answers = MENTOR_APPLICATION | {"email": "not-an-address", "expertise": "  "}
    answers["reference2_contact"] = "KOFI@example.org"
    response = fill(client, "/forms/apply/mentor", **answers)
    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert 'href="#email"' in response.text and 'href="#expertise"' in response.text
    assert "Enter an email address like name@example.org" in response.text
    assert "Enter your areas of expertise" in response.text
    assert "Give two different references" in response.text
    assert 'value="Ada Mensah"' in response.text  # what was typed is kept
    assert (count(store, Person), count(store, InboxEvent), count(store, OutboxItem)) == (0, 0, 0)


# --------------------------------------------------------------------------- linked forms


@pytest.mark.parametrize(
    ("form", "answers", "stored_as"),
    [
        ("goals", {"goals": "Ship a project", "expectations": "Honest feedback"}, "goals"),
        ("feedback", {"rating": "4", "going_well": "Clear advice"}, "feedback"),
        (
            "closing",
            {
                "achieved": "partly",
                "reflection": "Grew",
                "program_feedback": "Good",
                "recommend": "yes",
            },
            "closing_reflection",
        ),
    ],
)
def test_a_party_submits_a_form_through_their_link(
    client: FlaskClient,
    services: Services,
    store: Store,
    form: str,
    answers: dict[str, str],
    stored_as: str,
) -> None:
    ids = make_pairing(client)
    response = fill(client, link(services, form, ids), **answers)
    assert response.status_code == 200 and "Thank you" in response.text
    with store.session() as session:
        submission = session.scalars(select(Submission)).one()
        assert (submission.pairing_id, submission.party, submission.form) == (
            ids["pairing"],
            "mentee",
            stored_as,
        )
        assert submission.answers == answers
        inbox = session.scalars(select(InboxEvent).where(InboxEvent.source == "forms")).one()
        assert inbox.event_type == "submission.received"


def test_consent_is_given_and_revoked_timestamped_per_party(
    client: FlaskClient, services: Services, store: Store, clock: FrozenClock
) -> None:
    ids = make_pairing(client)
    fill(client, link(services, "consent", ids, "mentor"), consent="give")
    with store.session() as session:
        pairing = session.get_one(Pairing, ids["pairing"])
        assert pairing.mentor_recording_consent and pairing.mentor_consent_at == clock.now()
        assert not pairing.mentee_recording_consent
    clock.advance(days=2)
    fill(client, link(services, "consent", ids, "mentor"), consent="revoke")
    with store.session() as session:
        pairing = session.get_one(Pairing, ids["pairing"])
        assert not pairing.mentor_recording_consent and pairing.mentor_consent_at == clock.now()
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.actor == f"form:person:{ids['mentor']}")
        ).all()
        assert actions == ["consent.given", "consent.revoked"]


def test_an_in_person_session_is_logged(
    client: FlaskClient, services: Services, store: Store
) -> None:
    ids = make_pairing(client)
    answers = {"date": "2026-11-01", "start_time": "10:00", "duration_minutes": "45"}
    response = fill(client, link(services, "session", ids), **answers)
    assert response.status_code == 200, response.text
    with store.session() as session:
        meeting = session.scalars(select(Meeting)).one()
        assert (meeting.platform, meeting.pairing_id, meeting.held) == (
            "in_person",
            ids["pairing"],
            True,
        )
        assert meeting.ended_at - meeting.started_at == timedelta(minutes=45)


def test_a_session_in_the_future_is_refused(
    client: FlaskClient, services: Services, store: Store
) -> None:
    ids = make_pairing(client)
    answers = {"date": "2027-01-01", "start_time": "10:00", "duration_minutes": "45"}
    response = fill(client, link(services, "session", ids), **answers)
    assert response.status_code == 400 and "only once it has taken place" in response.text
    assert count(store, Meeting) == 0


def test_the_session_form_is_closed_when_the_program_meets_only_online(
    database_url: str, store: Store, clock: FrozenClock, settings: Settings
) -> None:
    online = dataclasses.replace(
        settings, policy=dataclasses.replace(settings.policy, in_person_allowed=False)
    )
    app = create_app(online, store=store, clock=clock)
    client = app.test_client()
    ids = make_pairing(client)
    assert client.get(link(app.extensions["connector"], "session", ids)).status_code == 404


# --------------------------------------------------------------------------- concerns


def test_a_public_concern_report_is_acknowledged_with_its_reference(
    client: FlaskClient, store: Store
) -> None:
    response = fill(client, "/forms/concern", body="A mentor asked to meet alone", anonymous="on")
    assert response.status_code == 200
    reference = re.search(r'id="reference">([^<]+)<', response.text).group(1)  # type: ignore[union-attr]
    with store.session() as session:
        concern = session.scalars(select(Concern)).one()
        assert (concern.reference, concern.anonymous, concern.reporter_person_id) == (
            reference,
            True,
            None,
        )
    listed = client.get("/api/v1/concerns", headers=SAFEGUARDING).json["concerns"]
    assert listed[0]["body"] == "A mentor asked to meet alone"
    assert (
        client.get("/api/v1/concerns", headers=ADMIN).status_code == 403
    )  # content: safeguarding only


def test_a_signed_concern_link_names_the_reporter_and_pairing(
    client: FlaskClient, services: Services, store: Store
) -> None:
    ids = make_pairing(client)
    fill(client, link(services, "concern", ids), body="Worried", contact="call after 6pm")
    with store.session() as session:
        concern = session.scalars(select(Concern)).one()
        assert (concern.pairing_id, concern.reporter_person_id) == (ids["pairing"], ids["mentee"])
        assert concern.body.endswith("How to reach the reporter: call after 6pm")


def test_a_double_submit_is_stored_once_and_acknowledged_with_the_same_reference(
    client: FlaskClient, store: Store
) -> None:
    page = client.get("/forms/concern")
    data = page_fields(page.text) | {"body": "Something happened"}
    first = client.post("/forms/concern", data=data)
    second = client.post("/forms/concern", data=data)
    assert "Already received" in second.text
    ref = re.compile(r'id="reference">([^<]+)<')
    assert ref.search(first.text).group(1) == ref.search(second.text).group(1)  # type: ignore[union-attr]
    assert count(store, Concern) == 1 and count(store, InboxEvent) == 1


# --------------------------------------------------------------------------- refusals


def test_a_post_without_the_csrf_token_is_refused_and_stores_nothing(
    client: FlaskClient, store: Store
) -> None:
    page = client.get("/forms/concern")
    nonce = page_fields(page.text)["nonce"]
    response = client.post("/forms/concern", data={"nonce": nonce, "body": "x"})
    assert response.status_code == 400 and "This form has expired" in response.text
    assert count(store, Concern) == 0


def test_an_expired_link_is_refused_with_410(
    client: FlaskClient, services: Services, store: Store, clock: FrozenClock
) -> None:
    ids = make_pairing(client)
    path = link(services, "goals", ids)
    hidden = page_fields(client.get(path).text)  # opened in time, sent too late
    clock.advance(days=15)  # link_ttl_days = 14
    response = client.post(path, data=hidden | {"goals": "x", "expectations": "y"})
    assert response.status_code == 410 and "This link has expired" in response.text
    assert client.get(path).status_code == 410
    assert count(store, Submission) == 0


@pytest.mark.parametrize("tamper", ["swap-form", "edit", "truncate", "other-person"])
def test_a_tampered_link_is_refused_with_403(
    client: FlaskClient, services: Services, store: Store, tamper: str
) -> None:
    ids = make_pairing(client)
    token = link(services, "goals", ids).rsplit("/", 1)[1]
    paths = {
        "swap-form": f"/forms/consent/{token}",  # a goals link does not open the consent form
        "edit": f"/forms/goals/{token[:-3]}{'AAA' if token[-3:] != 'AAA' else 'BBB'}",
        "truncate": f"/forms/goals/{token[:20]}",
        "other-person": link(services, "goals", ids | {"mentee": ids["mentor"]}),
    }
    response = client.get(paths[tamper])
    assert response.status_code == 403 and "This link does not work" in response.text
    assert count(store, Submission) == 0


def test_tokens_read_back_their_claims_and_expire(services: Services, clock: FrozenClock) -> None:
    token = make_token(
        services.settings, clock, "feedback", person_id=1, pairing_id=2, party="mentor"
    )
    claims = read_token(services.settings, clock, "feedback", token)
    assert (claims.person_id, claims.pairing_id, claims.party) == (1, 2, "mentor")
    with pytest.raises(LinkInvalid):
        read_token(services.settings, clock, "closing", token)
    clock.advance(days=14, seconds=1)
    with pytest.raises(LinkExpired):
        read_token(services.settings, clock, "feedback", token)


# --------------------------------------------------------------------------- headers and links


def test_every_form_page_carries_the_security_headers(client: FlaskClient) -> None:
    response = client.get("/forms/concern")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://crm.example.org" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "X-Frame-Options" not in response.headers  # it would forbid the CRM's frame
    assert '<meta name="viewport"' in response.text


def test_the_api_stays_exempt_from_csrf(client: FlaskClient) -> None:
    response = client.post("/api/v1/concerns", json={"body": "x"}, headers=ADMIN)
    assert response.status_code == 201


def test_a_task_asking_for_a_form_carries_both_parties_links(
    client: FlaskClient, services: Services, clock: FrozenClock
) -> None:
    ids = make_pairing(client)
    task = Task(
        key="k",
        rule_id="feedback-after-sessions",
        reason="Ask for feedback.",
        pairing_id=ids["pairing"],
    )
    linked = with_form_links(task, services.settings, services.store, clock)
    urls = re.findall(r"- (mentor|mentee): (\S+)", linked.reason)
    assert [party for party, _ in urls] == ["mentor", "mentee"]
    for party, url in urls:
        token = url.rsplit("/", 1)[1]
        claims = read_token(services.settings, clock, "feedback", token)
        assert (claims.person_id, claims.party) == (ids[party], party)
        assert (
            client.get(url.removeprefix(services.settings.connector.public_url)).status_code == 200
        )
    other = dataclasses.replace(task, rule_id="monthly-meeting")
    assert with_form_links(other, services.settings, services.store, clock) is other
