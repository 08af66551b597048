"""HubSpot webhooks (app subscriptions) at `POST /webhooks/hubspot`.

Facts used here are in `shared/reference/crm-hosts.md` §2.5:
- v3 signatures: `X-HubSpot-Signature-v3` is base64 HMAC-SHA256, keyed with the app's client
  secret, of `method + uri + body + timestamp`, where `X-HubSpot-Request-Timestamp` is epoch
  milliseconds; a request older than 5 minutes is refused
  (https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests.md);
- `uri` is the full URL HubSpot called, with these percent-encoded characters decoded first:
  `%3A : %2F / %3F ? %40 @ %21 ! %24 $ %27 ' %28 ( %29 ) %2A * %2C , %3B ;` (the same page;
  others, such as `%20`, stay encoded). The connector may sit behind a proxy, so the URL is
  rebuilt from `[connector] public_url`, never from the Host header; a query string is
  rebuilt from its decoded parameters, percent-encoded again, which matches plain values;
- v1 (`X-HubSpot-Signature`, sha256 of secret + body) is still sent alongside for CRM object
  subscriptions; it has no timestamp, so it can be replayed forever, and is not accepted alone;
- the body is a JSON **array** of up to 100 events (`eventId`, `subscriptionId`, `portalId`,
  `occurredAt`, `subscriptionType`, `attemptNumber`, `objectId`, `propertyName`, ...). HubSpot
  says `eventId` alone is not guaranteed unique, so an event is known by its type, eventId,
  objectId and occurredAt; `attemptNumber` changes on retries and is left out.

An event names a record, not its new state: each is a hint for a targeted sync (`HostChanged`),
grouped per stream. Contacts are the `people` stream; a custom object's events (`object.*`)
carry its `objectTypeId` (`2-1234567`, "in raw ID format", per
https://developers.hubspot.com/changelog/public-beta-generic-webhook-subscriptions) and never
its name, so they are routed by `object_streams`: each stream's objectTypeId, taken from its
`object` or from `[webhooks.hubspot] object_type_ids` (connector/hosts/hubspot.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from connector.clock import Clock, SystemClock
from connector.domain import Event, HostChanged
from webhooks.base import (
    BadPayload,
    BadSignature,
    MissingSecret,
    Parser,
    Reply,
    Request,
    StaleTimestamp,
    require_mapping,
)

HOST = "hubspot"
PATH = "/webhooks/hubspot"
SIGNATURE_HEADER = "x-hubspot-signature-v3"
TIMESTAMP_HEADER = "x-hubspot-request-timestamp"
V1_HEADER = "x-hubspot-signature"
BATCH = "batch"
MAX_EVENTS = 1000  # HubSpot sends up to 100; more is not HubSpot
CONTACT_TYPE_ID = "0-1"

log = logging.getLogger("connector.webhooks.hubspot")
unsupported_log = logging.getLogger("connector.webhooks.unsupported")

# The percent-encodings HubSpot decodes in the uri before signing, and only those.
_DECODED = {"3A": ":", "2F": "/", "3F": "?", "40": "@", "21": "!", "24": "$", "27": "'"}
_DECODED |= {"28": "(", "29": ")", "2A": "*", "2C": ",", "3B": ";"}
_ENCODED = re.compile("%(" + "|".join(_DECODED) + ")", re.IGNORECASE)

HANDLED = (
    "contact.creation",
    "contact.propertyChange",
    "contact.deletion",
    "contact.privacyDeletion",
    "contact.merge",
    "contact.restore",
    "object.creation",
    "object.propertyChange",
    "object.deletion",
    "object.merge",
    "object.restore",
)
_NOT_SYNCED = "the connector syncs contacts and the pairing and session objects only"
IGNORED: dict[str, str] = {
    "contact.associationChange": "pairings name their people in properties, not associations",
    "object.associationChange": "pairings name their people in properties, not associations",
    **{
        f"{kind}.{change}": _NOT_SYNCED
        for kind in ("company", "deal", "ticket", "product", "line_item")
        for change in (
            "creation",
            "deletion",
            "propertyChange",
            "merge",
            "restore",
            "associationChange",
        )
    },
    "conversation.creation": _NOT_SYNCED,
    "conversation.deletion": _NOT_SYNCED,
    "conversation.propertyChange": _NOT_SYNCED,
    "conversation.newMessage": _NOT_SYNCED,
    "conversation.privacyDeletion": _NOT_SYNCED,
}


def decode_uri(uri: str) -> str:
    """The uri as HubSpot signs it: the listed percent-encodings decoded, the others kept."""
    return _ENCODED.sub(lambda m: _DECODED[m.group(1).upper()], uri)


def public_uri(public_url: str, query: Mapping[str, str]) -> str:
    """The URL HubSpot called, rebuilt from the public address (see the module docstring)."""
    uri = public_url.rstrip("/") + PATH
    if query:
        uri += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())
    return decode_uri(uri)


def signature_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """The `X-HubSpot-Signature-v3` of a request; `uri` as sent, decoded here."""
    message = method.encode() + decode_uri(uri).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sign(secret: str, body: bytes, *, uri: str, timestamp_ms: int) -> dict[str, str]:
    """Headers for a delivery of `body` to `uri` signed as HubSpot would; tests use this."""
    ts = str(timestamp_ms)
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: ts,
        SIGNATURE_HEADER: signature_v3(secret, "POST", uri, body, ts),
    }


class HubSpotReceiver:
    """`client_secret`: the app's (None refuses everything); `public_url`: `[connector]`'s;
    `object_streams`: custom object type id -> stream, for `object.*` events."""

    source: ClassVar[str] = HOST
    accepted_status: ClassVar[int] = 200
    ignored_events: ClassVar[Mapping[str, str]] = IGNORED

    def __init__(
        self,
        client_secret: str | None,
        *,
        public_url: str,
        object_streams: Mapping[str, str] | None = None,
        tolerance_seconds: int = 300,
        clock: Clock | None = None,
    ) -> None:
        self._secret = client_secret
        self._public_url = public_url
        self._object_streams = dict(object_streams or {})
        self._tolerance_ms = tolerance_seconds * 1000
        self._clock = clock or SystemClock()
        self.handled_events: Mapping[str, Parser] = {
            **{name: self._parse for name in HANDLED},
            BATCH: self._parse,
        }

    # -- verification ----------------------------------------------------------------------

    def handshake(self, request: Request) -> Reply | None:
        return None  # HubSpot has no subscription handshake

    def verify(self, request: Request) -> None:
        if not self._secret:
            raise MissingSecret("no HubSpot client secret is configured ([webhooks.hubspot])")
        given = request.header(SIGNATURE_HEADER)
        timestamp = request.header(TIMESTAMP_HEADER)
        if not given or not timestamp:
            only_v1 = " (v1 signatures alone are not accepted)" if request.header(V1_HEADER) else ""
            raise BadSignature(f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}{only_v1}")
        uri = public_uri(self._public_url, request.query)
        expected = signature_v3(self._secret, "POST", uri, request.body, timestamp)
        if not hmac.compare_digest(expected.encode(), given.strip().encode()):
            raise BadSignature("signature does not match the request")
        if not timestamp.isdigit():
            raise StaleTimestamp(f"{TIMESTAMP_HEADER} is not epoch milliseconds")
        skew = abs(self._clock.now().timestamp() * 1000 - int(timestamp))
        if skew > self._tolerance_ms:
            raise StaleTimestamp(f"timestamp is {int(skew / 1000)} s off")

    def read_payload(self, request: Request) -> dict[str, Any]:
        """The body's array of events, as `{"events": [...]}`."""
        try:
            events = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadPayload(f"body is not JSON: {exc}") from exc
        if not isinstance(events, list) or not events or len(events) > MAX_EVENTS:
            raise BadPayload(f"body must be a JSON array of 1 to {MAX_EVENTS} events")
        return {"events": [require_mapping(e, "events[]") for e in events]}

    def challenge(self, request: Request, payload: Mapping[str, Any]) -> Reply | None:
        return None

    # -- identity of a delivery ------------------------------------------------------------

    def event_type(self, payload: Mapping[str, Any]) -> str:
        kinds = {_kind(event) for event in _events(payload)}
        return kinds.pop() if len(kinds) == 1 else BATCH

    def delivery_id(self, payload: Mapping[str, Any]) -> str:
        keys = sorted(_event_key(event) for event in _events(payload))
        if len(keys) == 1:
            return keys[0][:200]
        return "batch:" + hashlib.sha256("\n".join(keys).encode()).hexdigest()[:40]

    # -- parsing ---------------------------------------------------------------------------

    def _parse(self, payload: Mapping[str, Any]) -> list[Event]:
        ids: dict[str, dict[str, None]] = {}  # stream -> ids, in order, once each
        for event in _events(payload):
            kind = _kind(event)
            if kind in IGNORED:
                log.info("hubspot event ignored type=%s reason=%s", kind, IGNORED[kind])
                continue
            if kind not in HANDLED:
                unsupported_log.warning("webhook unsupported source=hubspot item=%s", kind)
                continue
            stream = self._stream(event)
            if stream is None:
                log.info(
                    "hubspot event ignored type=%s object_type=%s reason=object type not synced "
                    "(its stream's objectTypeId goes in [webhooks.hubspot] object_type_ids)",
                    kind,
                    str(event.get("objectTypeId"))[:20],
                )
                continue
            for external_id in _object_ids(event):
                ids.setdefault(stream, {})[external_id] = None
        delivery = self.delivery_id(payload)
        return [
            HostChanged(host=HOST, stream=stream, external_ids=tuple(found), delivery=delivery)
            for stream, found in ids.items()
        ]

    def _stream(self, event: Mapping[str, Any]) -> str | None:
        if _kind(event).startswith("contact."):
            return "people"
        type_id = str(event.get("objectTypeId") or "")
        if type_id == CONTACT_TYPE_ID:
            return "people"
        return self._object_streams.get(type_id)


def _events(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    events = payload.get("events")
    if not isinstance(events, list):
        raise BadPayload("no events")
    return [require_mapping(e, "events[]") for e in events]


def _kind(event: Mapping[str, Any]) -> str:
    kind = event.get("subscriptionType")
    if not isinstance(kind, str) or not kind:
        raise BadPayload("an event without subscriptionType")
    return kind


def _event_key(event: Mapping[str, Any]) -> str:
    parts = (_kind(event), event.get("eventId"), event.get("objectId"), event.get("occurredAt"))
    if parts[1] is None or parts[2] is None:
        raise BadPayload("an event without eventId or objectId")
    return ":".join(str(p) for p in parts)


def _object_ids(event: Mapping[str, Any]) -> list[str]:
    """The record the event names and, for a merge, every record taking part in it."""
    ids = [event.get("objectId"), event.get("primaryObjectId"), event.get("newObjectId")]
    merged = event.get("mergedObjectIds") or []
    if not isinstance(merged, list):
        raise BadPayload("mergedObjectIds must be a list")
    found = []
    for value in [*ids, *merged]:
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
            raise BadPayload("an object id that is not a number")
        found.append(str(value))
    return found
