"""`POST /webhooks/<source>`: the shared pipeline, with the store behind it."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from connector.hosts import espocrm as espocrm_host
from connector.hosts import hubspot as hubspot_host
from connector.hosts import salesforce as salesforce_host
from connector.services import Services
from connector.settings import Settings
from webhooks import RECEIVERS
from webhooks.base import Reply, Request, WebhookReceiver
from webhooks.pipeline import receive

log = logging.getLogger("connector.webhooks")
bp = Blueprint("webhooks", __name__)


def build_receivers(settings: Settings, services: Services) -> dict[str, WebhookReceiver]:
    zoom, teams = settings.zoom, settings.teams
    return {
        "zoom": RECEIVERS["zoom"](  # type: ignore[call-arg]
            zoom.webhook_secret.reveal() if zoom.webhook_secret else None,
            tolerance_seconds=zoom.timestamp_tolerance_seconds,
            clock=services.clock,
        ),
        "teams": RECEIVERS["teams"](  # type: ignore[call-arg]
            teams.client_state.reveal() if teams.client_state else None,
            tenant_id=teams.tenant_id,
            clock=services.clock,  # reads Graph in the outbox, never in the request
        ),
        "meet": RECEIVERS["meet"](  # type: ignore[call-arg]
            settings.meet.push_audience,
            settings.meet.push_service_account,
            clock=services.clock,  # reads the Meet API in the outbox, never in the request
        ),
        "hubspot": hubspot_host.receiver(settings, services.clock),
        "espocrm": espocrm_host.receiver(settings, services.clock),
        "salesforce": salesforce_host.receiver(settings, services.clock),
    }


@bp.post("/webhooks/<source>")
def webhook(source: str) -> Response | tuple[Response, int]:
    receivers: dict[str, WebhookReceiver] = current_app.extensions["receivers"]
    receiver = receivers.get(source)
    if receiver is None:
        log.warning("webhook for unknown source=%s", source[:40])
        return jsonify(error="unknown_source", message=f"no receiver for {source!r}"), 404
    services: Services = current_app.extensions["connector"]
    incoming = Request(
        body=request.get_data(cache=False),  # the raw bytes: signatures are over these
        headers={k.lower(): v for k, v in request.headers.items()},
        query=request.args.to_dict(),
    )
    try:
        reply = receive(receiver, incoming, services.inbox.accept)
    except SQLAlchemyError as exc:
        log.error(
            "webhook not stored, store unavailable source=%s error=%s", source, type(exc).__name__
        )
        return jsonify(error="store_unavailable", message="try again later"), 503
    return _response(reply)


def _response(reply: Reply) -> Response:
    if reply.content_type == "application/json":
        response = jsonify(reply.body)
    else:
        response = Response(str(reply.body), content_type=reply.content_type)
    response.status_code = reply.status
    return response
