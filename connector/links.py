"""Signed, expiring links to the forms under /forms, one per person, pairing, form and party.

A link carries `{person, pairing, party}` signed with `[connector] secret_key` (itsdangerous,
a salt per form so a consent link cannot open the concern form) and a timestamp; it is
refused after `[forms] link_ttl_days` (`concern_link_ttl_days` for concern reports).

Rules stay pure and know no URLs: when a task that asks people to fill in a form is written
to the host, `with_form_links` appends their links to its text (see `RULE_FORMS`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from connector.clock import Clock
from connector.domain import Decision, Task
from connector.settings import Settings
from connector.store.db import Store
from connector.store.models import Pairing

D = TypeVar("D", bound=Decision)

# Forms reached by a signed link (slug in /forms/<slug>/<token>).
LINKED_FORMS = ("consent", "goals", "feedback", "closing", "session", "concern")
PARTIES = ("mentor", "mentee")

# Which form a rule's task asks the parties to fill in. Add a row to send links with a rule.
RULE_FORMS: dict[str, str] = {
    "recording-consent": "consent",
    "introductory-session": "goals",
    "feedback-after-sessions": "feedback",
    "closing-session": "closing",
}


class LinkRefused(Exception):
    """The link cannot be used; `status` is the HTTP status the page answers with."""

    status = 403


class LinkExpired(LinkRefused):
    status = 410


class LinkInvalid(LinkRefused):
    status = 403


@dataclass(frozen=True)
class Claims:
    """Who a link was made for."""

    form: str
    person_id: int | None
    pairing_id: int | None
    party: str | None


def _serializer(settings: Settings, form: str, clock: Clock) -> URLSafeTimedSerializer:
    if settings.connector.secret_key is None:
        raise LinkInvalid("no secret key is configured")

    class ClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:  # the injected clock, so tests can travel in time
            return int(clock.now().timestamp())

    return URLSafeTimedSerializer(
        settings.connector.secret_key.reveal(),
        salt=f"mentor-connector.forms.{form}",
        signer=ClockSigner,
    )


def ttl(settings: Settings, form: str) -> timedelta:
    days = (
        settings.forms.concern_link_ttl_days if form == "concern" else settings.forms.link_ttl_days
    )
    return timedelta(days=days)


def make_token(
    settings: Settings,
    clock: Clock,
    form: str,
    *,
    person_id: int | None,
    pairing_id: int | None,
    party: str | None,
) -> str:
    """A signed token for one person's form; see `read_token`."""
    if form not in LINKED_FORMS:
        raise ValueError(f"unknown form {form!r}")
    data = {"p": person_id, "g": pairing_id, "r": party}
    token: str = _serializer(settings, form, clock).dumps(data)
    return token


def read_token(settings: Settings, clock: Clock, form: str, token: str) -> Claims:
    """The claims of a token made for `form`; `LinkExpired` or `LinkInvalid` otherwise."""
    if form not in LINKED_FORMS or len(token) > 1000:
        raise LinkInvalid("unknown form or oversized token")
    serializer = _serializer(settings, form, clock)
    max_age = int(ttl(settings, form).total_seconds())
    try:
        data: Any = serializer.loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise LinkExpired("the link has expired") from exc
    except BadSignature as exc:
        raise LinkInvalid("the link is not valid") from exc
    if not isinstance(data, dict) or data.get("r") not in (*PARTIES, None):
        raise LinkInvalid("the link is not valid")
    return Claims(form, data.get("p"), data.get("g"), data.get("r"))


def form_url(settings: Settings, clock: Clock, form: str, **claims: Any) -> str:
    """The full address of a person's form, under `[connector] public_url`."""
    token = make_token(settings, clock, form, **claims)
    return f"{settings.connector.public_url.rstrip('/')}/forms/{form}/{token}"


def party_links(
    settings: Settings, clock: Clock, form: str, pairing: Pairing
) -> list[tuple[str, str]]:
    """(party, url) for the mentor and the mentee of `pairing`."""
    return [
        (
            party,
            form_url(
                settings,
                clock,
                form,
                person_id=getattr(pairing, f"{party}_id"),
                pairing_id=pairing.id,
                party=party,
            ),
        )
        for party in PARTIES
    ]


def with_form_links(decision: D, settings: Settings, store: Store, clock: Clock) -> D:
    """`decision` with the parties' form links added to its text, when its rule asks for a form.

    Called when the outbox writes a task to the host, so the rules never see a URL. Other
    decisions, and every decision when no secret key is set, pass through unchanged.
    """
    form = RULE_FORMS.get(decision.rule_id)
    if (
        form is None
        or not isinstance(decision, Task)
        or decision.pairing_id is None
        or decision.confidential
        or settings.connector.secret_key is None
    ):
        return decision
    with store.session() as session:
        pairing = session.get(Pairing, decision.pairing_id)
        if pairing is None:
            return decision
        links = party_links(settings, clock, form, pairing)
    until = (clock.now() + ttl(settings, form)).date().isoformat()
    lines = "\n".join(f"- {party}: {url}" for party, url in links)
    reason = f"{decision.reason}\n\nForm links to send (valid until {until}):\n{lines}"
    return dataclasses.replace(decision, reason=reason)
