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
  resource names only (`includeResource: false`), so every domain event is built from what the
  Meet REST API (`fetch`) says about the named resource, never from claims in the body;
- lifecycle events (suspended, expirationReminder, expired) must be handled and "new event
  types that might appear in the future" ignored
  (https://developers.google.com/workspace/events/guides/events-lifecycle); the pipeline's
  unsupported path answers those 200 and logs them;
- a signed-in participant is `signedinUser.user = "users/{id}"`, never an address. People are
  matched by e-mail, so a `Directory` (the Admin SDK Directory API) gives the user's primary
  e-mail. Anonymous and phone participants, and users outside the Workspace domain (the
  directory does not know them), stay without one.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol

import google.auth.transport
import google.auth.transport.requests
import requests
from google.auth import exceptions as google_exceptions
from google.oauth2 import id_token

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

# Names go into REST paths and the body is not signed: accept only their exact shape.
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


class MeetApiFailed(WebhookError):
    """The Meet REST API could not say what an event is about; 503, so Pub/Sub redelivers."""

    status = 503
    code = "meet_api_unavailable"


class CertsUnavailable(WebhookError):
    """Google's signing certificates could not be fetched: refused, but as a retryable 503."""

    status = 503
    code = "certs_unavailable"


class MeetFetch(Protocol):
    """What the receiver reads from the Meet REST API (`adapters.meet.MeetClient` is one)."""

    def conference_record(self, name: str) -> Mapping[str, Any]: ...
    def participant_session(self, name: str) -> Mapping[str, Any]: ...
    def participant(self, name: str) -> Mapping[str, Any]: ...
    def recording(self, name: str) -> Mapping[str, Any]: ...
    def transcript(self, name: str) -> Mapping[str, Any]: ...


class Directory(Protocol):
    """Who a signed-in Meet user is (`adapters.meet.DirectoryClient` is one)."""

    def primary_email(self, user: str) -> str | None:
        """The primary e-mail of `users/{id}`; None when the directory has no such user."""


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
        fetch: MeetFetch | None = None,
        directory: Directory | None = None,
    ) -> None:
        self._audience = audience
        self._service_account = service_account
        self._verifier = verifier or GoogleTokenVerifier(clock=clock)
        self._fetch = fetch
        self._directory = directory
        self.handled_events: Mapping[str, Parser] = {
            CONFERENCE_STARTED: self._conference(ended=False),
            CONFERENCE_ENDED: self._conference(ended=True),
            PARTICIPANT_JOINED: self._participant(ParticipantJoined, "startTime"),
            PARTICIPANT_LEFT: self._participant(ParticipantLeft, "endTime"),
            RECORDING_GENERATED: self._file("recording", lambda api, n: api.recording(n)),
            TRANSCRIPT_GENERATED: self._file("transcript", lambda api, n: api.transcript(n)),
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

    # -- parsers: the event names a resource, the Meet REST API says what it is ------------

    @contextmanager
    def _api(self) -> Iterator[MeetFetch]:
        if self._fetch is None:
            raise MeetApiFailed("the Meet REST API is not configured; the event cannot be read")
        try:
            yield self._fetch
        except AdapterError as exc:
            raise MeetApiFailed(f"Meet REST API: {type(exc).__name__}: {exc}") from exc

    def _conference(self, *, ended: bool) -> Parser:
        def parse(payload: Mapping[str, Any]) -> list[Event]:
            name = _resource(payload, "conferenceRecord", RECORD_NAME).group("record")
            with self._api() as api:
                record = api.conference_record(name)
            ids = {"platform": PLATFORM, "meeting_id": _api_text(record, "space", name)}
            started = _api_time(record, "startTime", name)
            if not ended:
                return [MeetingStarted(**ids, instance_uuid=name, started_at=started)]
            ended_at = _api_time(record, "endTime", name)
            return [MeetingEnded(**ids, instance_uuid=name, started_at=started, ended_at=ended_at)]

        return parse

    def _participant(
        self, cls: type[ParticipantJoined] | type[ParticipantLeft], time_field: str
    ) -> Parser:
        def parse(payload: Mapping[str, Any]) -> list[Event]:
            match = _resource(payload, "participantSession", SESSION_NAME)
            session_name, person_name, record_name = match.group(0, "participant", "record")
            with self._api() as api:
                session = api.participant_session(session_name)
                person = api.participant(person_name)
                record = api.conference_record(record_name)
            key, display_name = participant_identity(person, person_name)
            return [
                cls(
                    platform=PLATFORM,
                    meeting_id=_api_text(record, "space", record_name),
                    instance_uuid=record_name,
                    participant_key=key,
                    at=_api_time(session, time_field, session_name),
                    name=display_name,
                    email=self._email(person),
                )
            ]

        return parse

    def _email(self, person: Mapping[str, Any]) -> str:
        """A signed-in participant's primary e-mail from the directory, else "" (anonymous,
        phone, outside the domain, or no directory configured).

        A directory that fails (scope not granted, throttled, down) answers 503: Pub/Sub
        redelivers, so the attendance is linked once it works rather than never.
        """
        user = signed_in_user(person)
        if user is None or self._directory is None:
            return ""
        try:
            return self._directory.primary_email(user) or ""
        except AdapterError as exc:
            raise MeetApiFailed(f"Directory API: {type(exc).__name__}: {exc}") from exc

    def _file(self, kind: str, get: Callable[[MeetFetch, str], Mapping[str, Any]]) -> Parser:
        pattern = RECORDING_NAME if kind == "recording" else TRANSCRIPT_NAME

        def parse(payload: Mapping[str, Any]) -> list[Event]:
            match = _resource(payload, kind, pattern)
            name, record_name = match.group(0, "record")
            with self._api() as api:
                item = get(api, name)
                record = api.conference_record(record_name)
            file = RecordingFile(
                # The API name, not the Drive or Docs file id: stable, and it leads to both
                # (`driveDestination.file`, `docsDestination.document`).
                file_id=name,
                file_type="MP4" if kind == "recording" else "TRANSCRIPT",
                recording_type=kind,
                started_at=_api_time(item, "startTime", name) if item.get("startTime") else None,
                ended_at=_api_time(item, "endTime", name) if item.get("endTime") else None,
            )
            return [
                RecordingAvailable(
                    platform=PLATFORM,
                    meeting_id=_api_text(record, "space", record_name),
                    instance_uuid=record_name,
                    started_at=_api_time(record, "startTime", record_name),
                    files=(file,),
                )
            ]

        return parse


def participant_identity(person: Mapping[str, Any], participant_name: str) -> tuple[str, str]:
    """(key, display name) of a Meet participant, the same on each of their sessions.

    A signed-in user keeps `users/{id}` across conferences; an anonymous or phone participant
    has nothing but the `participants/{id}` resource, which groups all their sessions in one
    conference (https://developers.google.com/workspace/meet/api/guides/participants).
    """
    user = signed_in_user(person)
    if user is not None:
        return f"signedin:{user}", str(person["signedinUser"].get("displayName") or "")
    for field, prefix in (("anonymousUser", "anonymous"), ("phoneUser", "phone")):
        other = person.get(field)
        if isinstance(other, Mapping):
            return f"{prefix}:{participant_name}", str(other.get("displayName") or "")
    return f"participant:{participant_name}", ""


def signed_in_user(person: Mapping[str, Any]) -> str | None:
    """`signedinUser.user` (`users/{id}`, the id the Admin SDK knows), or None."""
    signed_in = person.get("signedinUser")
    user = signed_in.get("user") if isinstance(signed_in, Mapping) else None
    return user if isinstance(user, str) and user else None


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


def _api_text(obj: Mapping[str, Any], field: str, name: str) -> str:
    value = obj.get(field)
    if not isinstance(value, str) or not value:
        raise MeetApiFailed(f"{name} has no {field}")
    return value


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)  # RFC 3339 with "Z"; nanoseconds truncated
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _api_time(obj: Mapping[str, Any], field: str, name: str) -> datetime:
    value = obj.get(field)
    parsed = _parse_time(value) if isinstance(value, str) else None
    if parsed is None:
        # Possibly not there yet (a session's endTime just after `left`): a redelivery may be.
        raise MeetApiFailed(f"{name} has no {field} (got {value!r})")
    return parsed
