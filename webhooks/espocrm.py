"""EspoCRM's native webhooks, at `POST /webhooks/espocrm`.

Facts (the project's CRM reference §3, verified on EspoCRM 9.0.6; docs.espocrm.com
administration/webhooks; `Core/Webhook/Sender.php` and `Manager.php`):
- an API user creates a webhook per event (`POST /api/v1/Webhook {"event": "CPairing.update",
  "url": ...}`) and gets back its `id` and its own `secretKey`;
- the body is a JSON array of records, batched per webhook (up to 50 by default): `create`
  sends whole records, `update` the changed attributes plus `id`, `delete` only `{"id": ...}`,
  `fieldUpdate.<field>` that field plus `id`. The event is not in the body;
- `Signature: base64("<webhookId>:" + hex(hmac_sha256(body, secretKey)))`; EspoCRM 9 and 10
  also send the legacy `X-Signature: base64("<webhookId>:" + raw hmac_sha256(...))`, the only
  one before 9.0, to be removed in 11;
- EspoCRM retries a delivery answered 400, 401, 403, 404, 405, 408 or a timeout (4 attempts).

Choices:
- The webhook id named in the signature header picks the secret, and the configured table
  `[webhooks.espocrm.hooks.<id>]` says which event that webhook was created for. The event
  is taken from there, not from the URL: the URL is not signed, the id is (a forged id has no
  secret to sign with). An id not in the table is refused (401), like a bad signature.
- `Signature` decides when present; `X-Signature` is read only when `Signature` is absent
  (EspoCRM before 9.0). Both are compared in constant time over the raw body.
- A delivery is a hint, not the truth: it becomes `HostChanged` with the record ids, and the
  targeted sync reads them back (a deleted one answers 404). So the stored payload keeps the
  ids only, not the names and e-mail addresses the records carry.
- EspoCRM sends no delivery id: it is the webhook id and a hash of the signed body, so a retry
  is stored once. Two batches with identical bodies (the same field set to the same value
  twice) are one delivery; the scheduled sync reads the second change anyway.
- `Task.*` events are ignored: Tasks are what the connector writes, not a synced stream.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from connector.domain import Event, HostChanged
from webhooks.base import BadPayload, BadSignature, MissingSecret, Parser, Reply, Request

HOST = "espocrm"
SIGNATURE_HEADER = "Signature"
LEGACY_SIGNATURE_HEADER = "X-Signature"
ACTIONS = ("create", "update", "delete", "fieldUpdate")
MAX_RECORDS = 1000  # EspoCRM batches 50 by default (webhookBatchSize); far more is not EspoCRM
log = logging.getLogger("connector.webhooks.espocrm")


@dataclass(frozen=True)
class Hook:
    """One configured EspoCRM webhook: its event and its secret key (None: not set)."""

    event: str
    secret: str | None


def signature(webhook_id: str, secret: str, body: bytes) -> str:
    """The `Signature` header EspoCRM 9+ sends for `body`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return base64.b64encode(f"{webhook_id}:{digest}".encode()).decode()


def legacy_signature(webhook_id: str, secret: str, body: bytes) -> str:
    """The legacy `X-Signature` header (raw HMAC bytes after the id)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(webhook_id.encode() + b":" + digest).decode()


def sign(webhook_id: str, secret: str, body: bytes) -> dict[str, str]:
    """The headers EspoCRM 9 sends with `body`; tests and the demo use this."""
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(webhook_id, secret, body),
        LEGACY_SIGNATURE_HEADER: legacy_signature(webhook_id, secret, body),
    }


class EspoCrmReceiver:
    """`hooks`: webhook id -> its event and secret; `entities`: entity -> stream it syncs."""

    source: ClassVar[str] = HOST
    accepted_status: ClassVar[int] = 200
    ignored_events: ClassVar[Mapping[str, str]] = {
        f"Task.{action}": "Tasks are what the connector writes; they are not synced"
        for action in ACTIONS
    }

    def __init__(self, hooks: Mapping[str, Hook], entities: Mapping[str, str]) -> None:
        self._hooks = dict(hooks)
        self._entities = dict(entities)
        self.handled_events: Mapping[str, Parser] = {
            f"{entity}.{action}": self._parse for entity in entities for action in ACTIONS
        }

    # -- verification ----------------------------------------------------------------------

    def handshake(self, request: Request) -> Reply | None:
        return None  # EspoCRM has no subscription handshake

    def verify(self, request: Request) -> None:
        if not self._hooks:
            raise MissingSecret("no EspoCRM webhook is configured ([webhooks.espocrm.hooks])")
        webhook_id, given, legacy = _signed_parts(request)
        hook = self._hooks.get(webhook_id)
        if hook is None:
            raise BadSignature("the signature names a webhook that is not configured")
        if not hook.secret:
            raise MissingSecret(f"webhook {webhook_id} has no secret set")
        mac = hmac.new(hook.secret.encode(), request.body, hashlib.sha256)
        expected = mac.digest() if legacy else mac.hexdigest().encode()
        if not hmac.compare_digest(given, expected):
            header = LEGACY_SIGNATURE_HEADER if legacy else SIGNATURE_HEADER
            raise BadSignature(f"{header} does not match the body")

    def challenge(self, request: Request, payload: Mapping[str, Any]) -> Reply | None:
        return None

    # -- the payload -----------------------------------------------------------------------

    def read_payload(self, request: Request) -> dict[str, Any]:
        """The verified delivery as `{"webhook_id", "event", "ids", "digest"}`."""
        webhook_id = _signed_parts(request)[0]
        try:
            records = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadPayload(f"body is not JSON: {exc}") from exc
        if not isinstance(records, list) or not records:
            raise BadPayload("body is not a JSON array of records")
        if len(records) > MAX_RECORDS:
            raise BadPayload(f"more than {MAX_RECORDS} records in one delivery")
        ids = []
        for index, record in enumerate(records):
            record_id = record.get("id") if isinstance(record, dict) else None
            if not isinstance(record_id, str) or not 0 < len(record_id) <= 255:
                raise BadPayload(f"[{index}].id is missing or not a string id")
            ids.append(record_id)
        return {
            "webhook_id": webhook_id,
            "event": self._hooks[webhook_id].event,
            "ids": list(dict.fromkeys(ids)),
            "digest": hashlib.sha256(request.body).hexdigest(),
        }

    def event_type(self, payload: Mapping[str, Any]) -> str:
        """`CPairing.update`; every `X.fieldUpdate.<field>` is `X.fieldUpdate`."""
        entity, _, action = str(payload.get("event", "")).partition(".")
        return f"{entity}.{action.split('.', 1)[0]}"

    def delivery_id(self, payload: Mapping[str, Any]) -> str:
        return f"{payload['webhook_id']}:{str(payload['digest'])[:40]}"

    def _parse(self, payload: Mapping[str, Any]) -> list[Event]:
        entity = self.event_type(payload).split(".", 1)[0]
        return [
            HostChanged(
                host=HOST,
                stream=self._entities[entity],
                external_ids=tuple(payload["ids"]),
                delivery=self.delivery_id(payload),
            )
        ]


def _signed_parts(request: Request) -> tuple[str, bytes, bool]:
    """(webhook id, signature bytes, legacy?) from `Signature`, else from `X-Signature`."""
    value, legacy = request.header(SIGNATURE_HEADER), False
    if value is None:
        value, legacy = request.header(LEGACY_SIGNATURE_HEADER), True
    if not value:
        raise BadSignature("no Signature header")
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadSignature("the signature is not base64") from exc
    raw_id, colon, given = decoded.partition(b":")  # an id has no colon; raw HMAC bytes may
    if not colon or not raw_id or not given:
        raise BadSignature("the signature is not <webhookId>:<hmac>")
    try:
        webhook_id = raw_id.decode("ascii")
    except UnicodeDecodeError as exc:
        raise BadSignature("the signature's webhook id is not text") from exc
    return webhook_id, given, legacy
