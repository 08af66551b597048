"""The pages under /forms: show a form, validate it, store it once, acknowledge it.

Public pages: `/forms/apply/<mentor|mentee>` and the stable `/forms/concern`. Every other form
opens only with a person's signed link, `/forms/<form>/<token>`; an expired or tampered link
gets a page saying so (410 or 403) and nothing is stored. Bad input is shown again with a
message per field and an error summary (400), and nothing is stored.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from marshmallow import ValidationError

from connector.events import AlreadyReceived
from connector.forms.save import HANDLERS, Refused, concern_reference
from connector.forms.schemas import errors_of
from connector.forms.specs import FORMS, FormSpec
from connector.links import LINKED_FORMS, Claims, LinkExpired, LinkRefused, read_token
from connector.services import Services
from connector.store.models import Pairing, Person

log = logging.getLogger("connector.forms")
bp = Blueprint("forms", __name__, url_prefix="/forms")

Page = tuple[str, int]


def services() -> Services:
    found: Services = current_app.extensions["connector"]
    return found


@bp.route("/apply/<any(mentor, mentee):role>", methods=["GET", "POST"])
def application(role: str) -> Page:
    return handle(f"apply-{role}", None, {})


@bp.route("/concern", methods=["GET", "POST"])
def concern() -> Page:
    return handle("concern", None, {})


@bp.route("/<form>/<token>", methods=["GET", "POST"])
def linked_form(form: str, token: str) -> Page:
    if form not in LINKED_FORMS:
        abort(404)
    if form == "session" and not services().settings.policy.in_person_allowed:
        return message("Not available", "This program does not hold sessions in person.", 404)
    try:
        claims = read_token(services().settings, services().clock, form, token)
        context = check_claims(claims)
    except LinkRefused as exc:
        log.info("form link refused form=%s status=%s", form, exc.status)
        if isinstance(exc, LinkExpired):
            return message(
                "This link has expired",
                "Links to our forms work for a limited time. Ask your program coordinator "
                "for a new one.",
                exc.status,
            )
        return message(
            "This link does not work",
            "The link may have been copied incompletely. Open it again from the message you "
            "received, or ask your program coordinator for a new one.",
            exc.status,
        )
    return handle(form, claims, context)


def check_claims(claims: Claims) -> dict[str, Any]:
    """The page's greeting; refuses a link whose person is no longer that party of the pairing."""
    with services().store.session() as session:
        if claims.pairing_id is None:  # a concern link given to a person only
            person = session.get(Person, claims.person_id) if claims.person_id else None
            return {"person_name": person.name if person else None}
        pairing = session.get(Pairing, claims.pairing_id)
        if pairing is None or claims.party is None:
            raise LinkRefused("no such pairing")
        if getattr(pairing, f"{claims.party}_id") != claims.person_id:
            raise LinkRefused("the person is no longer in this pairing")
        person = getattr(pairing, claims.party)
        return {"person_name": person.name, "party": claims.party}


def handle(slug: str, claims: Claims | None, context: dict[str, Any]) -> Page:
    spec = FORMS[slug]
    if request.method == "GET":
        return render_form(spec, context, {}, {}), 200
    try:
        data = spec.schema().load(request.form.to_dict())
    except ValidationError as exc:
        return render_form(spec, context, request.form.to_dict(), errors_of(exc)), 400
    now = services().clock.now()
    try:
        with services().store.session() as session:
            reference = HANDLERS[slug](session, data, claims, services().settings, now)
    except Refused as exc:
        return render_form(spec, context, request.form.to_dict(), {exc.field: [exc.message]}), 400
    except AlreadyReceived:  # the same form sent twice: the first one was stored
        log.info("form repeated form=%s", slug)
        with services().store.session() as session:
            reference = concern_reference(session, data["nonce"]) if slug == "concern" else None
        return render_done(spec, reference, repeated=True), 200
    log.info("form stored form=%s", slug)
    return render_done(spec, reference, repeated=False), 200


def render_form(
    spec: FormSpec, context: dict[str, Any], values: dict[str, Any], errors: dict[str, list[str]]
) -> str:
    nonce = values.get("nonce") or secrets.token_urlsafe(24)
    return render_template(
        "forms/form.html",
        spec=spec,
        title=("Error: " if errors else "") + spec.title,
        values=values,
        errors=errors,
        labels={f.name: f.label for f in spec.fields} | {"nonce": "Form"},
        nonce=nonce,
        **context,
    )


def render_done(spec: FormSpec, reference: str | None, *, repeated: bool) -> str:
    return render_template(
        "forms/done.html", spec=spec, title=spec.title, reference=reference, repeated=repeated
    )


def message(title: str, text: str, status: int) -> Page:
    return render_template("message.html", title=title, message=text), status
