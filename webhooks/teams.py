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
  record's `version`; recording and transcript notifications name
  `communications/onlineMeetings('{meetingId}')/recordings('{id}')`, which "can be used to call
  Microsoft Graph". So every domain event is built from what Graph's API (`fetch`) says, never
  from claims in the body; without `fetch`, or when Graph fails, the answer is 503 so Graph
  retries (for up to 4 h);
- answer 2xx within 3 s, 202 when stored for later (`accepted_status`);
- lifecycle notifications (`lifecycleEvent`): reauthorizationRequired → renew,
  subscriptionRemoved → recreate and resync, missed → resync
  (concepts/change-notifications-lifecycle-events.md). Stored, logged loud, and readable with
  `lifecycle_notices(payload)`.

Teams ids in domain events: `instance_uuid` is the call record id (a recording's `callId`
names the same call); `meeting_id` is the meeting's `joinWebUrl`, which only call records carry.

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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from connector.clock import Clock, SystemClock
from connector.domain import (
    Event,
    MeetingEnded,
    MeetingStarted,
    ParticipantJoined,
    ParticipantLeft,
    RecordingAvailable,
    RecordingFile,
    SubscriptionLifecycle,
)
from connector.errors import AdapterError
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
# Identity kinds in a communicationsIdentitySet that are people; bots and devices are not.
_PEOPLE = ("user", "guest", "phone", "acsUser", "spoolUser", "onPremises")

ItemParser = Callable[[Mapping[str, Any]], list[Event]]


class GraphApiFailed(WebhookError):
    """Graph's API could not say what a notification is about; 503, so Graph retries."""

    status = 503
    code = "graph_api_unavailable"


class GraphFetch(Protocol):
    """What the receiver reads from Graph (`adapters.teams.GraphClient` is one)."""

    def get_call_record(self, call_record_id: str) -> Mapping[str, Any]: ...
    def get_meeting_artifact(self, resource: str) -> Mapping[str, Any]: ...


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
    `tenant_id`: when set, items for another tenant are refused too; `fetch`: Graph's API."""

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
        fetch: GraphFetch | None = None,
    ) -> None:
        self._client_state = client_state
        self._tenant_id = tenant_id
        self._clock = clock or SystemClock()
        self._fetch = fetch
        self._local = threading.local()  # the call records read for the payload being parsed
        self.item_parsers: Mapping[str, ItemParser] = {
            CALL_RECORD_CREATED: self._call_record,
            CALL_RECORD_UPDATED: self._call_record,
            RECORDING_CREATED: self._artifact,
            TRANSCRIPT_CREATED: self._artifact,
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
        self._records_for(payload)
        keys = [self._item_key(item) for item in _items(payload)]
        if len(keys) == 1:
            return keys[0]
        return "batch:" + _digest(",".join(sorted(keys)), 40)

    def _item_key(self, item: Mapping[str, Any]) -> str:
        kind = item_type(item)
        if kind.startswith("lifecycle."):
            # A renewed subscription has a new expiration, so its next notice is a new one.
            expires = item.get("subscriptionExpirationDateTime", "")
            return _bounded(f"{kind}:{item.get('subscriptionId', '')}:{expires}")
        resource = str(item.get("resource", ""))
        if kind.startswith("callRecord."):
            # Same record, same version: a retry. Graph raises `version` on every update.
            # Not keyed by subscription, so two overlapping subscriptions store it once.
            record = self._record(_call_record_id(resource))
            version = record.get("version", record.get("lastModifiedDateTime", ""))
            return _bounded(f"{kind}:{record.get('id', '')}:v{version}")
        return f"{kind}:{_digest(resource, 40)}"  # recording ids alone run to 300 characters

    # -- parsing -------------------------------------------------------------------------------

    def _parse_items(self, payload: Mapping[str, Any]) -> list[Event]:
        self._records_for(payload)
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

    @contextmanager
    def _api(self) -> Iterator[GraphFetch]:
        if self._fetch is None:
            raise GraphApiFailed(
                "Microsoft Graph is not configured; the notification cannot be read"
            )
        try:
            yield self._fetch
        except AdapterError as exc:
            raise GraphApiFailed(f"Microsoft Graph: {type(exc).__name__}: {exc}") from exc

    def _records_for(self, payload: Mapping[str, Any]) -> None:
        """Start a fresh memo of call records unless `payload` is the one being handled.

        The pipeline parses a payload, then asks its `delivery_id`, which needs each record's
        `version`: only Graph knows it, and it should be asked once. Per thread, and keyed by
        the payload object itself, so no request sees another's records.
        """
        if getattr(self._local, "payload", None) is not payload:
            self._local.payload, self._local.records = payload, {}

    def _record(self, record_id: str) -> Mapping[str, Any]:
        """The call record, read once per payload: the parser and `delivery_id` share it."""
        records: dict[str, Mapping[str, Any]] = self._local.records
        if record_id not in records:
            with self._api() as api:
                records[record_id] = require_mapping(
                    api.get_call_record(record_id), "the call record"
                )
        return records[record_id]

    def _call_record(self, item: Mapping[str, Any]) -> list[Event]:
        return call_record_events(self._record(_call_record_id(str(item.get("resource")))))

    def _artifact(self, item: Mapping[str, Any]) -> list[Event]:
        resource = str(item.get("resource", ""))
        match = ARTIFACT.fullmatch(resource)
        if match is None:  # item_type() matched it already
            raise BadPayload("resource is not a recording or transcript")
        with self._api() as api:
            artifact = api.get_meeting_artifact(resource)
        created = _optional_time(artifact, "createdDateTime")
        ended = _optional_time(artifact, "endDateTime")
        recording = match["kind"] == "recordings"
        call_id = artifact.get("callId")
        if not isinstance(call_id, str) or not call_id:
            log.warning("teams %s without callId; kept under its meeting", match["kind"][:-1])
            call_id = "onlineMeeting:" + match["meeting"]
        return [
            RecordingAvailable(
                platform=PLATFORM,
                meeting_id="",  # the call record brings the joinWebUrl
                instance_uuid=call_id,
                # A transcript may have no createdDateTime yet; the time we heard of it then.
                started_at=created or ended or self._clock.now(),
                files=(
                    RecordingFile(
                        file_id=_bounded(match["id"]),
                        file_type="MP4" if recording else "TRANSCRIPT",
                        recording_type="recording" if recording else "transcript",
                        started_at=created,
                        ended_at=ended,
                    ),
                ),
            )
        ]


# --------------------------------------------------------------------------- call records


def call_record_events(record: Mapping[str, Any]) -> list[Event]:
    """A fetched call record as the meeting's start, end, and each participant's sessions.

    Each session joins two endpoints; a participant endpoint is a person, a service endpoint
    the conferencing server (api-reference/v1.0/resources/callrecords-session.md).
    """
    record_id = _api_text(record, "id")
    ids = {
        "platform": PLATFORM,
        "meeting_id": str(record.get("joinWebUrl") or ""),
        "instance_uuid": record_id,
    }
    started = _api_time(record, "startDateTime")
    events: list[Event] = [MeetingStarted(**ids, started_at=started)]
    seen: set[tuple[type[Event], str, datetime]] = set()
    for index, session in enumerate(_sessions(record)):
        joined = _api_time(session, "startDateTime")
        left = _optional_time(session, "endDateTime")
        for side in ("caller", "callee"):
            person = _endpoint_person(session.get(side), f"{session.get('id', index)}:{side}")
            if person is None:
                continue
            key, name, email = person
            marks: list[tuple[type[ParticipantJoined] | type[ParticipantLeft], datetime]] = [
                (ParticipantJoined, joined)
            ]
            if left is not None:
                marks.append((ParticipantLeft, left))
            for cls, at in marks:
                if (cls, key, at) not in seen:
                    seen.add((cls, key, at))
                    events.append(cls(**ids, participant_key=key, at=at, name=name, email=email))
    events.append(
        MeetingEnded(**ids, started_at=started, ended_at=_api_time(record, "endDateTime"))
    )
    return events


def _sessions(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    sessions = record.get("sessions") or []
    if not isinstance(sessions, list):
        raise GraphApiFailed("the call record's sessions are not a list")
    return [s for s in sessions if isinstance(s, Mapping)]


def _endpoint_person(endpoint: Any, fallback: str) -> tuple[str, str, str] | None:
    """(key, name, e-mail) of a person's endpoint, the same key in every session; else None.

    The Entra object id is the key (`associatedIdentity.id`, or `identity.user.id`); the
    userPrincipalName, usually the work e-mail, links the person to the program.
    """
    if not isinstance(endpoint, Mapping):
        return None
    if "serviceendpoint" in str(endpoint.get("@odata.type", "")).lower():
        return None
    associated = endpoint.get("associatedIdentity")
    if isinstance(associated, Mapping) and associated.get("id"):
        return (
            f"user:{associated['id']}",
            str(associated.get("displayName") or ""),
            str(associated.get("userPrincipalName") or "").strip().lower(),
        )
    identity = endpoint.get("identity")
    if not isinstance(identity, Mapping):
        return None
    for kind in _PEOPLE:
        who = identity.get(kind)
        if isinstance(who, Mapping) and (who.get("id") or who.get("displayName")):
            # Someone without an id (an anonymous guest) is counted for this session alone.
            key = f"{kind}:{who['id']}" if who.get("id") else f"session:{fallback}"
            email = who.get("userPrincipalName") if kind == "user" else ""
            return key, str(who.get("displayName") or ""), str(email or "").strip().lower()
    return None


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


def _optional_time(obj: Mapping[str, Any], field: str) -> datetime | None:
    value = obj.get(field)
    return _parse_time(value) if isinstance(value, str) else None


def _api_time(obj: Mapping[str, Any], field: str) -> datetime:
    parsed = _optional_time(obj, field)
    if parsed is None:
        # Perhaps not there yet (a record still being completed): a retry may find it.
        raise GraphApiFailed(f"Graph's answer has no {field} (got {obj.get(field)!r})")
    return parsed


def _api_text(obj: Mapping[str, Any], field: str) -> str:
    value = obj.get(field)
    if not isinstance(value, str) or not value:
        raise GraphApiFailed(f"Graph's answer has no {field}")
    return value
