"""Microsoft Teams change notifications from Microsoft Graph, at `POST /webhooks/teams`.

Facts used here are in `shared/reference/video-platforms.md` §0 and §4:
- validation: Graph POSTs `{notificationUrl}?validationToken=…` with no notification body and
  wants 200, `text/plain`, the URL-decoded token, within 10 s
  (concepts/includes/change-notifications-delivery-notificationurl-validation.md). The shared
  pipeline refuses an empty body first, so `handshake()` answers it and runs before the
  pipeline (see "Wiring"); `challenge()` never sees one;
- Graph does not sign notifications. A basic notification is authenticated by the
  `clientState` secret we gave the subscription, echoed on every item ("Validate the
  clientState property", concepts/change-notifications-delivery-webhooks.md); one item with
  another or no clientState refuses the whole body;
- items come batched in `{"value": [...]}`. A body of one kind (the usual case) takes that
  kind's name (`callRecord.created`, …); a body mixing kinds is `batch`, and each of its items
  is handled, ignored or logged as unsupported on its own;
- a call record notification names only the record, and its `updated` ones differ only in the
  record's `version`, which the body does not carry; recording and transcript notifications
  name `communications/onlineMeetings('{meetingId}')/recordings('{id}')`, which "can be used
  to call Microsoft Graph". So the body is a hint: each such item is stored as
  `PlatformChanged(resource, changeType)` and Graph's API is never called during the request.
  The runner turns each hint into a `PlatformRead`; the outbox reads Graph
  (`TeamsPlatform.read_change`) and queues the meeting's events, retrying 429/5xx with
  backoff. Graph is answered 202 (`accepted_status`) at once, well inside its 3 s, whatever
  Graph's API does;
- lifecycle notifications (`lifecycleEvent`): reauthorizationRequired → renew,
  subscriptionRemoved → recreate and resync, missed → resync
  (concepts/change-notifications-lifecycle-events.md). Stored, logged loud, and readable with
  `lifecycle_notices(payload)`.

Dedupe, in two steps, because only Graph knows a call record's `version`:

| item                  | stored by the receiver as              | its read, stored as           |
|-----------------------|----------------------------------------|-------------------------------|
| `callRecord.created`  | `callRecord.created:{id}`              | `callRecord:{id}:v{version}`  |
| `callRecord.updated`  | `callRecord.updated:{id}:{received}`   | `callRecord:{id}:v{version}`  |
| recording, transcript | `{type}:{sha256(resource)}`            | `{type}:{resource}` (bounded) |
| lifecycle             | `{type}:{subscriptionId}:{expiration}` | (nothing to read)             |

The reads are stored under the source `teams-api`. A record is created once, so a repeated
`created` (Graph's retry, or a second subscription to the same resource) is a duplicate and
reads Graph once. An `updated` notification carries nothing that tells a new version from a
retry (no notification id, no version: the samples of reference §4.4), so it is never dropped
here: each one received is stored (keyed by when it was received) and read; the read's events
are keyed by the version Graph returns, so reading a version already stored changes nothing
and a new version is applied. The price is one extra Graph read for a redelivered `updated`,
which is rare now that Graph is answered at once.

Wiring: the view (or `pipeline.receive`) calls `receiver.handshake(request)` before anything
else and returns its reply when it is not None; an accepted delivery answers `accepted_status`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from connector.clock import Clock, SystemClock
from connector.domain import Event, PlatformChanged, SubscriptionLifecycle
from webhooks.base import (
    BadPayload,
    BadSignature,
    MissingSecret,
    Parser,
    Reply,
    Request,
    WebhookError,
    require_mapping,
)

PLATFORM = "teams"
VALIDATION_PARAM = "validationToken"
MAX_VALIDATION_TOKEN = 2048
log = logging.getLogger("connector.webhooks.teams")
unsupported_log = logging.getLogger("connector.webhooks.unsupported")

CALL_RECORD_CREATED = "callRecord.created"
CALL_RECORD_UPDATED = "callRecord.updated"
RECORDING_CREATED = "callRecording.created"
TRANSCRIPT_CREATED = "callTranscript.created"
REAUTHORIZATION_REQUIRED = "lifecycle.reauthorizationRequired"
SUBSCRIPTION_REMOVED = "lifecycle.subscriptionRemoved"
MISSED = "lifecycle.missed"
BATCH = "batch"

# What the integration must do about each lifecycle event.
LIFECYCLE_ACTIONS = {
    "reauthorizationRequired": "renew",
    "subscriptionRemoved": "recreate",
    "missed": "resync",
}

_GUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
CALL_RECORD = re.compile(rf"/?communications/callRecords(?:/(?P<a>{_GUID})|\('(?P<b>{_GUID})'\))")
_KEY = r"[A-Za-z0-9+/=_-]{1,1024}"
ARTIFACT = re.compile(
    rf"communications/onlineMeetings\('(?P<meeting>{_KEY})'\)"
    rf"/(?P<kind>recordings|transcripts)\('(?P<id>{_KEY})'\)"
)
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

ItemParser = Callable[[Mapping[str, Any]], list[Event]]


@dataclass(frozen=True)
class SubscriptionNotice:
    """A lifecycle notification: what happened to a subscription and what to do about it."""

    lifecycle_event: str
    subscription_id: str
    action: str  # renew | recreate | resync ("" for an event this module does not know)
    expires_at: datetime | None = None
    tenant_id: str = ""


class TeamsReceiver:
    """`client_state`: the secret given to every subscription (None refuses everything);
    `tenant_id`: when set, items for another tenant are refused too."""

    source: ClassVar[str] = "teams"
    accepted_status: ClassVar[int] = 202
    ignored_events: ClassVar[Mapping[str, str]] = {
        "callRecord.deleted": "call records leave Graph after 30 days; what they said is kept",
    }

    def __init__(
        self,
        client_state: str | None,
        *,
        tenant_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._client_state = client_state
        self._tenant_id = tenant_id
        self._clock = clock or SystemClock()
        self._local = threading.local()  # when the payload being handled was received
        self.item_parsers: Mapping[str, ItemParser] = {
            CALL_RECORD_CREATED: self._changed,
            CALL_RECORD_UPDATED: self._changed,
            RECORDING_CREATED: self._changed,
            TRANSCRIPT_CREATED: self._changed,
            REAUTHORIZATION_REQUIRED: _lifecycle,
            SUBSCRIPTION_REMOVED: _lifecycle,
            MISSED: _lifecycle,
        }
        self.handled_events: Mapping[str, Parser] = {
            **{name: self._parse_items for name in self.item_parsers},
            BATCH: self._parse_items,
        }

    # -- the validation handshake and verification ------------------------------------------

    def handshake(self, request: Request) -> Reply | None:
        """Graph's validation request answered, or None when this is not one.

        Runs before the pipeline: the request has no body. The query value is already
        URL-decoded (Flask's `request.args`) and is echoed as is, as plain text.
        """
        if VALIDATION_PARAM not in request.query or request.body.strip():
            return None
        if not self._client_state:
            # Fail closed: a subscription we could not authenticate must not be created.
            return _refusal(MissingSecret("no Teams clientState is configured ([video.teams])"))
        token = request.query[VALIDATION_PARAM]
        if not token or len(token) > MAX_VALIDATION_TOKEN or not token.isprintable():
            return _refusal(BadPayload("validationToken must be short printable text"))
        log.info("teams validation handshake answered")
        return Reply(200, token, "text/plain; charset=utf-8")

    def verify(self, request: Request) -> None:
        if not self._client_state:
            raise MissingSecret("no Teams clientState is configured ([video.teams])")
        try:
            items = _items(json.loads(request.body))
        except (UnicodeDecodeError, json.JSONDecodeError, BadPayload) as exc:
            raise BadSignature(f"no clientState can be read: {exc}") from exc
        expected = self._client_state.encode()
        for index, item in enumerate(items):
            given = item.get("clientState")
            if not isinstance(given, str) or not hmac.compare_digest(given.encode(), expected):
                raise BadSignature(f"value[{index}].clientState is missing or wrong")
            if self._tenant_id and str(item.get("tenantId", "")).lower() != self._tenant_id.lower():
                raise BadSignature(f"value[{index}] is for another tenant")

    def challenge(self, request: Request, payload: Mapping[str, Any]) -> Reply | None:
        return None  # the handshake has no body, so `handshake()` answers it before the pipeline

    # -- identity of a delivery ----------------------------------------------------------------

    def event_type(self, payload: Mapping[str, Any]) -> str:
        kinds = {item_type(item) for item in _items(payload)}
        return kinds.pop() if len(kinds) == 1 else BATCH

    def delivery_id(self, payload: Mapping[str, Any]) -> str:
        self._received_for(payload)
        keys = [self._item_key(item) for item in _items(payload)]
        if len(keys) == 1:
            return keys[0]
        return "batch:" + _digest(",".join(sorted(keys)), 40)

    def _item_key(self, item: Mapping[str, Any]) -> str:
        """This item's key: a repeat of it is a duplicate (the table in the module docstring)."""
        kind = item_type(item)
        if kind.startswith("lifecycle."):
            # A renewed subscription has a new expiration, so its next notice is a new one.
            expires = item.get("subscriptionExpirationDateTime", "")
            return _bounded(f"{kind}:{item.get('subscriptionId', '')}:{expires}")
        resource = str(item.get("resource", ""))
        if kind == CALL_RECORD_UPDATED:
            # Nothing in the body tells a new version from a retry: never a duplicate here.
            received = self._local.received.isoformat()
            return _bounded(f"{kind}:{_call_record_id(resource)}:{received}")
        if kind.startswith("callRecord."):
            # Not keyed by subscription, so two overlapping subscriptions store it once.
            return _bounded(f"{kind}:{_call_record_id(resource)}")
        return f"{kind}:{_digest(resource, 40)}"  # recording ids alone run to 300 characters

    # -- parsing -------------------------------------------------------------------------------

    def _parse_items(self, payload: Mapping[str, Any]) -> list[Event]:
        self._received_for(payload)
        events: list[Event] = []
        for item in _items(payload):
            kind = item_type(item)
            parser = self.item_parsers.get(kind)
            if parser is not None:
                events.extend(parser(item))
            elif kind in self.ignored_events:
                log.info("teams item ignored type=%s reason=%s", kind, self.ignored_events[kind])
            else:
                unsupported_log.warning("webhook unsupported source=teams item=%s", kind)
        return events

    def _received_for(self, payload: Mapping[str, Any]) -> None:
        """Note when `payload` arrived, unless it is the payload being handled already.

        The pipeline parses a payload, then asks its `delivery_id`; both use the same time.
        Per thread, and keyed by the payload object itself, so no request sees another's.
        """
        if getattr(self._local, "payload", None) is not payload:
            self._local.payload, self._local.received = payload, self._clock.now()

    def _changed(self, item: Mapping[str, Any]) -> list[Event]:
        """A call record, recording or transcript notification as the hint to read it."""
        resource = str(item.get("resource"))
        if CALL_RECORD.fullmatch(resource):  # one spelling, whichever Graph used
            resource = f"communications/callRecords/{_call_record_id(resource)}"
        return [
            PlatformChanged(
                platform=PLATFORM,
                resource=resource,
                change_type=str(item.get("changeType")),
                delivery=self._item_key(item),
            )
        ]


# --------------------------------------------------------------------------- lifecycle


def lifecycle_notices(payload: Mapping[str, Any]) -> list[SubscriptionNotice]:
    """The lifecycle notifications in a verified payload, each with the action it asks for."""
    notices = []
    for item in _items(payload):
        event = item.get("lifecycleEvent")
        if not isinstance(event, str):
            continue
        expires = item.get("subscriptionExpirationDateTime")
        notices.append(
            SubscriptionNotice(
                lifecycle_event=event,
                subscription_id=str(item.get("subscriptionId") or ""),
                action=LIFECYCLE_ACTIONS.get(event, ""),
                expires_at=_parse_time(expires) if isinstance(expires, str) else None,
                tenant_id=str(item.get("tenantId") or ""),
            )
        )
    return notices


def _lifecycle(item: Mapping[str, Any]) -> list[Event]:
    # Stored as a domain event; the runner queues the renewal, recreation or resync alert
    # (`connector.subscriptions`), so Graph is answered without waiting for any of it. Logged
    # loud too: notifications stop unless that happens.
    events: list[Event] = []
    for notice in lifecycle_notices({"value": [item]}):
        log.log(
            logging.WARNING if notice.action == "renew" else logging.ERROR,
            "teams subscription needs attention event=%s subscription=%s action=%s expires=%s",
            notice.lifecycle_event,
            notice.subscription_id,
            notice.action,
            notice.expires_at.isoformat() if notice.expires_at else "-",
        )
        if not notice.subscription_id:
            raise BadPayload("a lifecycle notification without subscriptionId")
        events.append(
            SubscriptionLifecycle(
                platform=PLATFORM,
                subscription_id=_bounded(notice.subscription_id),
                lifecycle=notice.lifecycle_event,
                expires_at=notice.expires_at,
            )
        )
    return events


# --------------------------------------------------------------------------- helpers


def item_type(item: Mapping[str, Any]) -> str:
    """The stable name of one notification: `callRecord.created`, `lifecycle.missed`, …"""
    lifecycle = item.get("lifecycleEvent")
    if lifecycle is not None:
        if not isinstance(lifecycle, str) or not _IDENTIFIER.fullmatch(lifecycle):
            raise BadPayload("lifecycleEvent must be a name")
        return f"lifecycle.{lifecycle}"[:64]
    resource, change = item.get("resource"), item.get("changeType")
    if not isinstance(resource, str) or not resource:
        raise BadPayload("missing field resource")
    if not isinstance(change, str) or not _IDENTIFIER.fullmatch(change):
        raise BadPayload("missing field changeType")
    artifact = ARTIFACT.fullmatch(resource)
    if CALL_RECORD.fullmatch(resource):
        kind = "callRecord"
    elif artifact is not None:
        kind = "callRecording" if artifact["kind"] == "recordings" else "callTranscript"
    else:  # named by its path without keys (e.g. "chats.messages"), for the log
        path = re.sub(r"\([^)]*\)", "", resource).split("/")
        kind = ".".join(p for p in path if _IDENTIFIER.fullmatch(p))[:48] or "unknown"
    return f"{kind}.{change[:15]}"


def _items(payload: Any) -> list[Mapping[str, Any]]:
    if not isinstance(payload, Mapping):
        raise BadPayload("body is not a JSON object")
    items = payload.get("value")
    if not isinstance(items, list) or not items:
        raise BadPayload("value must be a non-empty list of notifications")
    return [require_mapping(item, "value[]") for item in items]


def _call_record_id(resource: str) -> str:
    match = CALL_RECORD.fullmatch(resource)
    if match is None:
        raise BadPayload("resource is not a call record")
    return match["a"] or match["b"]


def _refusal(error: WebhookError) -> Reply:
    log.warning("webhook refused source=teams code=%s detail=%s", error.code, error)
    return Reply(error.status, {"error": error.code, "message": str(error)})


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _bounded(text: str, limit: int = 255) -> str:
    """`text`, or a digest of it when longer than the store's 255-character columns."""
    return text if len(text) <= limit else "sha256:" + _digest(text, 64)


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)  # Graph's 7 fractional digits are truncated
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
