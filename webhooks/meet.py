"""Google Meet events at `POST /webhooks/meet`, pushed by Cloud Pub/Sub.

Facts used here are in `shared/reference/video-platforms.md` §5:
- the Workspace Events API publishes CloudEvents to a Pub/Sub topic; a push subscription POSTs
  `{"message": {"attributes": {"ce-type": …}, "data": base64(JSON), "messageId": …}, …}`
  (https://cloud.google.com/pubsub/docs/push). Any 2xx acknowledges; anything else is
  redelivered with backoff, and a redelivery keeps its `messageId`;
- authentication is a Google-signed OIDC ID token in `Authorization: Bearer`: check signature,
  expiry, issuer and `aud`, then that `email` is the push service account and `email_verified`
  is true (https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions);
- the token proves who sent the request but does not sign the body. Meet event data carries
  resource names only (`includeResource: false`), so the body is a hint: each Meet event is
  stored as `PlatformChanged(platform="meet", resource=<the name>, change_type=<ce-type>)` and
  no Google API is called during the request. The runner turns the hint into a
  `PlatformRead`; the outbox reads the Meet REST API (`MeetPlatform.read_change`, mapped by
  `adapters.meet.mapping`) and queues the meeting's events, retrying 429/5xx with backoff.
  Pub/Sub is answered 200 at once, whatever the Meet API does;
- lifecycle events (suspended, expirationReminder, expired) must be handled and "new event
  types that might appear in the future" ignored
  (https://developers.google.com/workspace/events/guides/events-lifecycle); the pipeline's
  unsupported path answers those 200 and logs them;
- a signed-in participant is `signedinUser.user = "users/{id}"`, never an address; the
  outbox's read asks the Admin SDK Directory API for the primary e-mail
  (`adapters.meet.directory`).

Dedupe: a redelivery keeps its `messageId` (unique per message; the sample's CloudEvent
`ce-id` is per event too), so the receiver's key is `{ce-type}:{messageId}` and a redelivered
message is a duplicate, read once. The read's events are keyed `{ce-type}:{resource}` under
the source `meet-api`: what Meet says about a started conference, a session's join or a
generated file does not change, so a second message about the same resource stores nothing new.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

import google.auth.transport
import google.auth.transport.requests
import requests
from google.auth import exceptions as google_exceptions
from google.oauth2 import id_token

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
    require,
    require_mapping,
)

PLATFORM = "meet"
GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})
log = logging.getLogger("connector.webhooks.meet")

CONFERENCE_STARTED = "google.workspace.meet.conference.v2.started"
CONFERENCE_ENDED = "google.workspace.meet.conference.v2.ended"
PARTICIPANT_JOINED = "google.workspace.meet.participant.v2.joined"
PARTICIPANT_LEFT = "google.workspace.meet.participant.v2.left"
RECORDING_GENERATED = "google.workspace.meet.recording.v2.fileGenerated"
TRANSCRIPT_GENERATED = "google.workspace.meet.transcript.v2.fileGenerated"
SUBSCRIPTION_SUSPENDED = "google.workspace.events.subscription.v1.suspended"
SUBSCRIPTION_EXPIRING = "google.workspace.events.subscription.v1.expirationReminder"
SUBSCRIPTION_EXPIRED = "google.workspace.events.subscription.v1.expired"

# Names go into REST paths and the body is not signed: accept only their exact shape (the
# same patterns as `adapters.meet.mapping`, which reads them; webhooks do not import adapters).
_ID = r"[A-Za-z0-9_-]+"
_RECORD = rf"(?P<record>conferenceRecords/{_ID})"
RECORD_NAME = re.compile(_RECORD)
SESSION_NAME = re.compile(
    rf"(?P<participant>{_RECORD}/participants/{_ID})/participantSessions/{_ID}"
)
RECORDING_NAME = re.compile(rf"{_RECORD}/recordings/{_ID}")
TRANSCRIPT_NAME = re.compile(rf"{_RECORD}/transcripts/{_ID}")

# (token, audience) -> verified claims; raises a WebhookError (BadSignature) otherwise.
TokenVerifier = Callable[[str, str], Mapping[str, Any]]


class CertsUnavailable(WebhookError):
    """Google's signing certificates could not be fetched: refused, but as a retryable 503."""

    status = 503
    code = "certs_unavailable"


@dataclass(frozen=True)
class SubscriptionNotice:
    """A lifecycle event: the subscription feeding this receiver is suspended or expiring."""

    event_type: str
    subscription: str
    reason: str = ""  # suspensionReason, e.g. ENDPOINT_PERMISSION_DENIED
    expires_at: datetime | None = None


# --------------------------------------------------------------------------- the token


class GoogleTokenVerifier:
    """Verify a Google-signed ID token with google-auth (`id_token.verify_token`).

    google-auth fetches the certificates on every call; `_CachedCerts` keeps them for the
    `Cache-Control: max-age` Google serves them with (hours; new keys are published before
    they sign anything). `certs_url` and `session` are injectable so tests serve their own.
    """

    def __init__(
        self,
        certs_url: str = GOOGLE_CERTS_URL,
        *,
        session: requests.Session | None = None,
        clock: Clock | None = None,
        clock_skew_seconds: int = 10,
    ) -> None:
        self._certs_url = certs_url
        self._skew = clock_skew_seconds
        transport = google.auth.transport.requests.Request(session)
        self._request = _CachedCerts(transport, clock or SystemClock())

    def __call__(self, token: str, audience: str) -> Mapping[str, Any]:
        try:
            claims = id_token.verify_token(
                token,
                self._request,
                audience=audience,
                certs_url=self._certs_url,
                clock_skew_in_seconds=self._skew,
            )
        except google_exceptions.TransportError as exc:
            raise CertsUnavailable(f"cannot fetch Google's certificates: {exc}") from exc
        except Exception as exc:  # a garbled token can fail anywhere in decoding: refuse
            detail = str(exc).replace(token, "<token>")  # google-auth may echo it; logs must not
            raise BadSignature(f"token rejected: {type(exc).__name__}: {detail}") from exc
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise BadSignature("token was not issued by Google")
        return claims


@dataclass(frozen=True)
class _Stored(google.auth.transport.Response):
    _status: int
    _headers: Mapping[str, str]
    _data: bytes

    @property
    def status(self) -> int:
        return self._status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._headers

    @property
    def data(self) -> bytes:
        return self._data


class _CachedCerts(google.auth.transport.Request):
    """A google-auth transport that answers repeated GETs from memory until max-age passes."""

    def __init__(self, inner: google.auth.transport.Request, clock: Clock) -> None:
        self._inner, self._clock = inner, clock
        self._cache: dict[str, tuple[datetime, _Stored]] = {}
        self._lock = threading.Lock()

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> google.auth.transport.Response:
        now = self._clock.now()
        with self._lock:
            hit = self._cache.get(url) if method == "GET" else None
        if hit is not None and hit[0] > now:
            return hit[1]
        response: google.auth.transport.Response = self._inner(
            url, method=method, body=body, headers=headers, timeout=timeout or 5
        )
        if method == "GET" and response.status == 200:
            stored = _Stored(response.status, dict(response.headers), response.data)
            with self._lock:
                self._cache[url] = (now + _max_age(stored.headers), stored)
        return response


def _max_age(headers: Mapping[str, str]) -> timedelta:
    control = {k.lower(): v for k, v in headers.items()}.get("cache-control", "")
    match = re.search(r"max-age=(\d+)", control)
    return timedelta(seconds=min(int(match.group(1)), 86400) if match else 3600)


# --------------------------------------------------------------------------- the receiver


class MeetReceiver:
    source: ClassVar[str] = "meet"
    accepted_status: ClassVar[int] = 200
    # From the events guide's newer (developer preview) list; should a name be wrong, the event
    # only moves to the unsupported path, which also answers 200.
    ignored_events: ClassVar[Mapping[str, str]] = {
        "google.workspace.meet.recording.v2.started": "consent is checked on the generated file",
        "google.workspace.meet.recording.v2.ended": "consent is checked on the generated file",
        "google.workspace.meet.transcript.v2.started": "consent is checked on the generated file",
        "google.workspace.meet.transcript.v2.ended": "consent is checked on the generated file",
    }

    def __init__(
        self,
        audience: str | None,
        service_account: str | None,
        *,
        verifier: TokenVerifier | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._audience = audience
        self._service_account = service_account
        self._verifier = verifier or GoogleTokenVerifier(clock=clock)
        self.handled_events: Mapping[str, Parser] = {
            CONFERENCE_STARTED: self._changed("conferenceRecord", RECORD_NAME),
            CONFERENCE_ENDED: self._changed("conferenceRecord", RECORD_NAME),
            PARTICIPANT_JOINED: self._changed("participantSession", SESSION_NAME),
            PARTICIPANT_LEFT: self._changed("participantSession", SESSION_NAME),
            RECORDING_GENERATED: self._changed("recording", RECORDING_NAME),
            TRANSCRIPT_GENERATED: self._changed("transcript", TRANSCRIPT_NAME),
            SUBSCRIPTION_SUSPENDED: _lifecycle,
            SUBSCRIPTION_EXPIRING: _lifecycle,
            SUBSCRIPTION_EXPIRED: _lifecycle,
        }

    def handshake(self, request: Request) -> Reply | None:
        return None  # Pub/Sub push has no subscription handshake

    def verify(self, request: Request) -> None:
        if not self._audience or not self._service_account:
            raise MissingSecret("no Meet push audience or service account is configured")
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise BadSignature("missing Authorization: Bearer token")
        claims = self._verifier(token.strip(), self._audience)
        # The verifier checked `aud` already; again here, so no verifier can skip it.
        if not _same(claims.get("aud"), self._audience):
            raise BadSignature("token is for another audience")
        if not _same(claims.get("email"), self._service_account):
            raise BadSignature("token is not from the push service account")
        if claims.get("email_verified") is not True:
            raise BadSignature("token email is not verified")

    def challenge(self, request: Request, payload: Mapping[str, Any]) -> Reply | None:
        return None  # Pub/Sub push has no handshake

    def event_type(self, payload: Mapping[str, Any]) -> str:
        return _ce_type(payload)

    def delivery_id(self, payload: Mapping[str, Any]) -> str:
        message = _message(payload)  # a redelivery keeps its messageId
        return f"{_ce_type(payload)}:{message.get('messageId') or message.get('message_id')}"

    # -- parsers: the event names a resource, the outbox reads it ------------------------

    def _changed(self, field: str, pattern: re.Pattern[str]) -> Parser:
        """The event as the hint to read the resource its `data.{field}.name` names."""

        def parse(payload: Mapping[str, Any]) -> list[Event]:
            name = _resource(payload, field, pattern).group(0)
            return [
                PlatformChanged(
                    platform=PLATFORM,
                    resource=name,
                    change_type=_ce_type(payload),
                    delivery=self.delivery_id(payload),
                )
            ]

        return parse


def subscription_notice(payload: Mapping[str, Any]) -> SubscriptionNotice:
    """What a lifecycle event says about the subscription (camel- or snake-case fields)."""
    sub = require_mapping(require(_data(payload), "subscription"), "data.subscription")
    expires = sub.get("expireTime") or sub.get("expire_time")
    return SubscriptionNotice(
        event_type=_ce_type(payload),
        subscription=str(sub.get("name") or ""),
        reason=str(sub.get("suspensionReason") or sub.get("suspension_reason") or ""),
        expires_at=_parse_time(expires) if isinstance(expires, str) else None,
    )


def _lifecycle(payload: Mapping[str, Any]) -> list[Event]:
    # Stored as a domain event; the runner raises the alert an admin acts on
    # (`connector.subscriptions`). Logged loud too: events stop without action.
    notice = subscription_notice(payload)
    level = logging.WARNING if notice.event_type == SUBSCRIPTION_EXPIRING else logging.ERROR
    log.log(
        level,
        "meet subscription needs attention event=%s subscription=%s reason=%s expires=%s",
        notice.event_type.rsplit(".", 1)[-1],
        notice.subscription,
        notice.reason or "-",
        notice.expires_at.isoformat() if notice.expires_at else "-",
    )
    if not notice.subscription:
        raise BadPayload("missing field data.subscription.name")
    return [
        SubscriptionLifecycle(
            platform=PLATFORM,
            subscription_id=notice.subscription[:255],
            lifecycle=notice.event_type.rsplit(".", 1)[-1],
            expires_at=notice.expires_at,
            reason=notice.reason[:200],
        )
    ]


# --------------------------------------------------------------------------- helpers


def _same(given: Any, expected: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def _message(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    message = require_mapping(require(payload, "message"), "message")
    if not isinstance(message.get("messageId") or message.get("message_id"), str):
        raise BadPayload("missing field message.messageId")
    return message


def _ce_type(payload: Mapping[str, Any]) -> str:
    attributes = require_mapping(_message(payload).get("attributes") or {}, "message.attributes")
    ce_type = attributes.get("ce-type")
    if not isinstance(ce_type, str) or not ce_type:
        raise BadPayload("missing field message.attributes.ce-type")
    return ce_type


def _data(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    raw = require(payload, "message.data")
    try:
        data = json.loads(base64.b64decode(str(raw), validate=True))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadPayload(f"message.data is not base64 JSON: {exc}") from exc
    return require_mapping(data, "message.data")


def _resource(payload: Mapping[str, Any], field: str, pattern: re.Pattern[str]) -> re.Match[str]:
    name = require(_data(payload), f"{field}.name")
    match = pattern.fullmatch(name) if isinstance(name, str) else None
    if match is None:
        raise BadPayload(f"{field}.name is not a Meet resource name: {str(name)[:120]!r}")
    return match


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)  # RFC 3339 with "Z"; nanoseconds truncated
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
