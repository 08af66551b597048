"""The forms as a mentor or mentee uses them: a phone-sized Chromium against a real server.

Each test fills a form with the keyboard or the mouse, sends it, sees the acknowledgement
and reads the effect back through the API; every page passes axe-core and is photographed
(tests/artifacts/screenshots/forms-*.png), error states and refusals included.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from connector.clock import SystemClock
from connector.links import make_token
from tests.browser.conftest import LiveServer, axe, shot

_names = itertools.count(1)


def pairing(live_server: LiveServer) -> dict[str, int]:
    """A fresh active mentor/mentee pair, through the API."""
    n = next(_names)
    ids = {}
    for role in ("mentor", "mentee"):
        person: dict[str, Any] = {
            "role": role,
            "name": f"{role.title()} {n}",
            "email": f"{role}{n}@example.org",
            "status": "active",
        }
        if role == "mentor":
            steps = ("professional_verification", "personal_references", "interview")
            person["vetting"] = [{"step": s, "status": "passed"} for s in steps]
        ids[role] = live_server.api("POST", "/people", json=person)["id"]
    body = {"mentor_id": ids["mentor"], "mentee_id": ids["mentee"], "status": "active"}
    ids["pairing"] = live_server.api("POST", "/pairings", json=body)["id"]
    return ids


def link(live_server: LiveServer, form: str, ids: dict[str, int], party: str) -> str:
    token = make_token(
        live_server.settings,
        SystemClock(),
        form,
        person_id=ids[party],
        pairing_id=ids["pairing"],
        party=party,
    )
    return live_server.url(f"/forms/{form}/{token}")


def check(page: Page, name: str) -> None:
    axe(page)
    shot(page, f"forms-{name}")


def test_a_mentor_applies_and_a_review_task_reaches_the_host(
    live_server: LiveServer, page: Page
) -> None:
    page.goto(live_server.url("/forms/apply/mentor"))
    check(page, "apply-mentor")
    page.get_by_role("button", name="Send application").click()  # everything empty
    expect(page.locator(".error-summary")).to_be_visible()
    check(page, "apply-mentor-errors")
    answers = {
        "Full name": "Ada Mensah",
        "Email address": "ada.browser@example.org",
        "Professional background": "Civil engineer",
        "Areas of expertise": "Structural design",
        "Availability": "Two evenings a month",
        "First reference: name": "Kofi Boateng",
        "First reference: email or phone": "kofi@example.org",
        "Second reference: name": "Lena Weiss",
        "Second reference: email or phone": "lena@example.org",
    }
    for label, value in answers.items():
        page.get_by_label(label, exact=False).first.fill(value)
    page.get_by_role("button", name="Send application").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    check(page, "apply-mentor-done")
    live_server.wait_idle()
    tasks = live_server.api("GET", "/tasks")["tasks"]
    assert "Review the mentor application of Ada Mensah" in [t["title"] for t in tasks]


def test_a_mentee_applies_with_the_keyboard_only(live_server: LiveServer, page: Page) -> None:
    page.goto(live_server.url("/forms/apply/mentee"))
    check(page, "apply-mentee")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.locator("#name").focus()
    for text in ("Eli Brooks", "eli.browser@example.org", "", "Learn to code"):
        if text:
            page.keyboard.type(text)
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # on the send button
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    people = live_server.api("GET", "/people")["people"]
    assert any(
        p["email"] == "eli.browser@example.org" and p["status"] == "applicant" for p in people
    )


@pytest.mark.parametrize(
    ("form", "answers", "choices"),
    [
        ("goals", {"Your goals for the mentorship": "Ship", "What you expect": "Honesty"}, []),
        (
            "feedback",
            {"What is going well?": "Clear advice"},
            [("How are the sessions going overall?", "Well")],
        ),
        (
            "closing",
            {"Your reflection": "I grew", "Your feedback on the program": "Good"},
            [("Did you reach the goals", "Partly"), ("Would you recommend", "Yes")],
        ),
    ],
)
def test_a_mentee_sends_a_form_from_their_link(
    live_server: LiveServer,
    page: Page,
    form: str,
    answers: dict[str, str],
    choices: list[tuple[str, str]],
) -> None:
    ids = pairing(live_server)
    page.goto(link(live_server, form, ids, "mentee"))
    check(page, form)
    for label, value in answers.items():
        page.get_by_label(label).fill(value)
    for question, option in choices:
        page.get_by_role("group", name=question).get_by_label(option, exact=True).check()
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    check(page, f"{form}-done")
    live_server.wait_idle()


def test_consent_is_given_then_shown_to_the_admin(live_server: LiveServer, page: Page) -> None:
    ids = pairing(live_server)
    page.goto(link(live_server, "consent", ids, "mentor"))
    check(page, "consent")
    page.get_by_label("Yes, I consent").check()
    page.get_by_role("button", name="Save my answer").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    pairings = live_server.api("GET", "/pairings")["pairings"]
    mine = next(p for p in pairings if p["id"] == ids["pairing"])
    assert mine["recording_consent"]["mentor"]["given"] is True


def test_an_in_person_session_is_logged(live_server: LiveServer, page: Page) -> None:
    ids = pairing(live_server)
    page.goto(link(live_server, "session", ids, "mentor"))
    check(page, "session")
    page.get_by_label("Date of the session").fill("2026-01-15")
    page.get_by_label("Start time").fill("10:00")
    page.get_by_role("button", name="Log session").click()  # no duration
    expect(page.locator(".error-summary")).to_contain_text("how long the session lasted")
    check(page, "session-errors")
    page.get_by_label("Duration in minutes").fill("50")
    page.get_by_role("button", name="Log session").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()


def test_a_concern_is_reported_anonymously_and_sent_twice_counts_once(
    live_server: LiveServer, page: Page
) -> None:
    page.goto(live_server.url("/forms/concern"))
    check(page, "concern")
    page.get_by_label("What happened?").fill("A mentor asked to meet alone, browser test")
    page.get_by_label("Report anonymously").check()
    sent = page.evaluate("Object.fromEntries(new FormData(document.querySelector('form')))")
    page.get_by_role("button", name="Send report").click()
    reference = page.locator("#reference").inner_text()
    check(page, "concern-acknowledged")
    # The browser sends the very same form again (a double click, a resend on reload).
    again = page.request.post(live_server.url("/forms/concern"), form=sent)
    assert again.status == 200 and "Already received" in again.text()
    assert f'id="reference">{reference}<' in again.text()
    concerns = live_server.api("GET", "/concerns", role="safeguarding")["concerns"]
    assert [c["reference"] for c in concerns].count(reference) == 1


def test_a_tampered_and_an_expired_link_are_refused(live_server: LiveServer, page: Page) -> None:
    ids = pairing(live_server)
    good = link(live_server, "goals", ids, "mentee")
    response = page.goto(good[:-4] + "AAAA")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    check(page, "link-tampered")
    old = make_token(
        live_server.settings,
        _Past(days=live_server.settings.forms.link_ttl_days + 1),
        "goals",
        person_id=ids["mentee"],
        pairing_id=ids["pairing"],
        party="mentee",
    )
    response = page.goto(live_server.url(f"/forms/goals/{old}"))
    assert response is not None and response.status == 410
    check(page, "link-expired")


class _Past(SystemClock):
    """A clock some days behind: a link made with it is that old."""

    def __init__(self, days: int) -> None:
        self._days = days

    def now(self) -> Any:
        from datetime import timedelta

        return super().now() - timedelta(days=self._days)
