"""The request pipeline every receiver shares, its guards in a fixed order.

0. a subscription handshake (Graph's validationToken) → its own answer
1. empty body → 400        2. signature, timestamp, missing secret → 401
3. unparsable JSON → 400   4. handshake → its own answer
5. ignored event → 200     6. unsupported event → 200, logged on its own logger
7. parse → 400 on a bad payload   8. store (dedupe on source + delivery id) → 200

Storing is injected (`accept`) so this module needs nothing from the store; the caller maps a
store failure to 503 so the sender retries.

Two optional receiver hooks serve senders that do not speak JSON (Salesforce's Outbound
Messages are SOAP and want a SOAP acknowledgement): `decode(request)` turns the verified body
into the payload dict (default: the body as a JSON object), and `accepted_reply(request,
status, body)` shapes every 2xx answer — ignored, unsupported, accepted, duplicate — (default:
JSON). Refusals stay JSON: they are for the log and the admin, not the sender's protocol.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from connector.domain import Event
from webhooks.base import (
    BadPayload,
    ReadsPayload,
    Reply,
    Request,
    WebhookError,
    WebhookReceiver,
)

log = logging.getLogger("connector.webhooks")
unsupported_log = logging.getLogger("connector.webhooks.unsupported")

# accept(source, delivery_id, event_type, payload, events) -> True when new, False if duplicate
Accept = Callable[[str, str, str, dict[str, Any], Sequence[Event]], bool]


def receive(receiver: WebhookReceiver, request: Request, accept: Accept) -> Reply:
    source = receiver.source
    try:
        greeting = receiver.handshake(request)
        if greeting is not None:
            log.info("webhook handshake answered source=%s", source)
            return greeting
        if not request.body.strip():
            raise BadPayload("empty body")
        receiver.verify(request)
        if isinstance(receiver, ReadsPayload):  # a JSON array, or an event named in a header
            payload = receiver.read_payload(request)
        else:
            payload = _decode(receiver, request)
        answer = receiver.challenge(request, payload)
        if answer is not None:
            log.info("webhook challenge answered source=%s", source)
            return answer
        event_type = receiver.event_type(payload)
        if event_type in receiver.ignored_events:
            reason = receiver.ignored_events[event_type]
            log.info("webhook ignored source=%s event=%s reason=%s", source, event_type, reason)
            body = {"status": "ignored", "event": event_type, "reason": reason}
            return _accepted(receiver, request, 200, body)
        parser = receiver.handled_events.get(event_type)
        if parser is None:
            unsupported_log.warning("webhook unsupported source=%s event=%s", source, event_type)
            return _accepted(receiver, request, 200, {"status": "unsupported", "event": event_type})
        events = parser(payload)
        delivery_id = receiver.delivery_id(payload)
    except WebhookError as exc:
        log.warning("webhook refused source=%s code=%s detail=%s", source, exc.code, exc)
        return Reply(exc.status, {"error": exc.code, "message": str(exc)})

    is_new = accept(source, delivery_id, event_type, payload, events)
    status = "accepted" if is_new else "duplicate"
    log.info("webhook %s source=%s event=%s delivery=%s", status, source, event_type, delivery_id)
    body = {"status": status, "delivery_id": delivery_id}
    return _accepted(receiver, request, receiver.accepted_status, body)


# The hooks are optional so the JSON receivers stay as they are; looked up by name on purpose.
def _decode(receiver: WebhookReceiver, request: Request) -> dict[str, Any]:
    decode: Callable[[Request], dict[str, Any]] | None = getattr(receiver, "decode", None)
    return decode(request) if decode is not None else _json_object(request.body)


def _accepted(
    receiver: WebhookReceiver, request: Request, status: int, body: dict[str, Any]
) -> Reply:
    shape: Callable[[Request, int, dict[str, Any]], Reply] | None = getattr(
        receiver, "accepted_reply", None
    )
    return shape(request, status, body) if shape is not None else Reply(status, body)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadPayload(f"body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise BadPayload("body is not a JSON object")
    return payload
