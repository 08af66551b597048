"""One Pub/Sub push in, one exact outcome out, signed here the way Google signs it.

Google signs push tokens with keys only Google holds, so the tests generate their own RSA key,
wrap its public half in a self-signed certificate, and serve `{key id: certificate}` at
Google's certificate URL through a `responses` mock: the receiver runs its production verifier
(google-auth's `id_token.verify_token`) unchanged and never reaches Google.

`deliver(body)` sends `body` with a fresh token (`push_token()`) to a `MeetReceiver` and stores
what the pipeline accepts in the same in-memory `Inbox` the Zoom tests use; only Google's
certificate URL answers, so any other outgoing request (a Meet API read) fails the test.
Fixtures are Pub/Sub push bodies in `tests/fixtures/meet/<ce-type>__<variant>.json`; their
`data` names resources in `RESOURCES`, which `FakeMeet` (the Meet REST API's answers, for
`MeetPlatform.read_change`) and `FakeDirectory` (the signed-in user's e-mail) serve.
"""

from __future__ import annotations

import base64
import functools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import responses
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

from connector.errors import AdapterError, InvalidRequest
from tests.webhooks.zoom_helpers import Inbox, Outcome
from webhooks.base import Request
from webhooks.meet import GOOGLE_CERTS_URL, MeetReceiver
from webhooks.pipeline import receive

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "meet"
AUDIENCE = "https://mentoring.example.org/webhooks/meet"
SERVICE_ACCOUNT = "meet-push@mentoring-prod.iam.gserviceaccount.com"
KEY_ID = "f5f1b9c0e7a64c0b9d8e1a2b3c4d5e6f7a8b9c0d"
DELETE = object()  # `push_token(email=DELETE)` leaves the claim out
DEFAULT = object()  # `deliver(token=DEFAULT)`: a fresh, valid token

SPACE = "spaces/jQCFfuBOdN5z"
RECORD = "conferenceRecords/abc123-conf"
P1, P2, P3 = (f"{RECORD}/participants/p-{n}" for n in (1, 2, 3))
S1, S2, S3 = (f"{p}/participantSessions/s-{n}" for n, p in ((1, P1), (2, P2), (3, P3)))
RECORDING = f"{RECORD}/recordings/rec-1"
TRANSCRIPT = f"{RECORD}/transcripts/tr-1"
SIGNED_IN_USER = "users/104711235813213455"
SIGNED_IN_EMAIL = "ada.mentor@program.org"
# The Admin SDK Directory API's view: the signed-in user's primary e-mail (users.get).
DIRECTORY: dict[str, str | None] = {SIGNED_IN_USER: SIGNED_IN_EMAIL}

# The Meet REST API's answers for one mentoring session (field names from the v2 reference,
# https://developers.google.com/workspace/meet/api/reference/rest/v2; values invented).
RESOURCES: dict[str, dict[str, Any]] = {
    RECORD: {
        "name": RECORD,
        "startTime": "2024-05-01T10:00:01.250412Z",
        "endTime": "2024-05-01T10:31:06.998000123Z",
        "expireTime": "2024-05-31T10:31:06.998Z",
        "space": SPACE,
    },
    P1: {
        "name": P1,
        "earliestStartTime": "2024-05-01T10:00:04.5Z",
        "latestEndTime": "2024-05-01T10:30:57Z",
        "signedinUser": {"user": SIGNED_IN_USER, "displayName": "Ada Mentor"},
    },
    P2: {
        "name": P2,
        "earliestStartTime": "2024-05-01T10:01:11Z",
        "latestEndTime": "2024-05-01T10:29:43Z",
        "anonymousUser": {"displayName": "Grace (guest)"},
    },
    P3: {
        "name": P3,
        "earliestStartTime": "2024-05-01T10:02:39Z",
        "phoneUser": {"displayName": "+1 555-***-**42"},
    },
    S1: {"name": S1, "startTime": "2024-05-01T10:00:04.5Z", "endTime": "2024-05-01T10:30:57Z"},
    S2: {"name": S2, "startTime": "2024-05-01T10:01:11Z", "endTime": "2024-05-01T10:29:43Z"},
    S3: {"name": S3, "startTime": "2024-05-01T10:02:39Z"},
    RECORDING: {
        "name": RECORDING,
        "state": "FILE_GENERATED",
        "startTime": "2024-05-01T10:03:00Z",
        "endTime": "2024-05-01T10:30:00Z",
        "driveDestination": {
            "file": "1aBcD-drive-file-id",
            "exportUri": "https://drive.google.com/file/d/1aBcD-drive-file-id/view",
        },
    },
    TRANSCRIPT: {
        "name": TRANSCRIPT,
        "state": "FILE_GENERATED",
        "startTime": "2024-05-01T10:03:00Z",
        "endTime": "2024-05-01T10:30:00Z",
        "docsDestination": {
            "document": "1xYz-docs-document-id",
            "exportUri": "https://docs.google.com/document/d/1xYz-docs-document-id/view",
        },
    },
}


# --------------------------------------------------------------------------- signing


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private_pem: bytes
    certificate_pem: str


@functools.cache
def signing_key(key_id: str = KEY_ID) -> SigningKey:
    """An RSA key and its self-signed certificate; one per key id for the whole run."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"meet-tests-{key_id[:8]}")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2100, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return SigningKey(
        key_id, private_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()
    )


def certs_body(*keys: SigningKey) -> dict[str, str]:
    """What Google's certificate URL answers: `{key id: PEM certificate}`."""
    return {k.key_id: k.certificate_pem for k in keys or (signing_key(),)}


def push_token(*, key: SigningKey | None = None, kid: str | None = None, **claims: Any) -> str:
    """An ID token as Pub/Sub sends it, signed with `key`; `claims` override or DELETE fields.

    Times are real epoch seconds: google-auth checks `iat`/`exp` against the system clock.
    """
    key = key or signing_key()
    now = int(time.time())
    payload: dict[str, Any] = {
        "aud": AUDIENCE,
        "azp": "113774264463038321964",
        "email": SERVICE_ACCOUNT,
        "email_verified": True,
        "exp": now + 3600,
        "iat": now,
        "iss": "https://accounts.google.com",
        "sub": "113774264463038321964",
    }
    for name, value in claims.items():
        if value is DELETE:
            payload.pop(name, None)
        else:
            payload[name] = value
    signer = crypt.RSASigner.from_string(key.private_pem, key_id=kid or key.key_id)
    return bytes(jwt.encode(signer, payload)).decode()


# --------------------------------------------------------------------------- bodies


def load_fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def decoded_data(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        base64.b64decode(json.loads(load_fixture(name))["message"]["data"])
    )
    return data


def edited(name: str, *, data: Any = DEFAULT, raw_data: str | None = None, **message: Any) -> bytes:
    """A fixture with `message` fields changed (DELETE removes), or other `data` (as JSON)."""
    body = json.loads(load_fixture(name))
    if data is DELETE:
        del body["message"]["data"]
    elif data is not DEFAULT:
        raw_data = base64.b64encode(json.dumps(data).encode()).decode()
    if raw_data is not None:
        body["message"]["data"] = raw_data
    for key, value in message.items():
        if value is DELETE:
            body["message"].pop(key, None)
        else:
            body["message"][key] = value
    return json.dumps(body).encode()


def with_type(name: str, ce_type: str) -> bytes:
    body = json.loads(load_fixture(name))
    body["message"]["attributes"]["ce-type"] = ce_type
    return json.dumps(body).encode()


# --------------------------------------------------------------------------- the Meet API


@dataclass
class FakeMeet:
    """The `MeetClient` calls a read makes, over `RESOURCES`: records each call, answers 404
    for unknown names."""

    resources: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: RESOURCES)
    errors: Mapping[str, AdapterError] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def _get(self, kind: str, name: str) -> Mapping[str, Any]:
        self.calls.append((kind, name))
        if name in self.errors:
            raise self.errors[name]
        if name not in self.resources:
            raise InvalidRequest(f"{name} not found", status=404)
        return self.resources[name]

    def conference_record(self, name: str) -> Mapping[str, Any]:
        return self._get("conference_record", name)

    def participant_session(self, name: str) -> Mapping[str, Any]:
        return self._get("participant_session", name)

    def participant(self, name: str) -> Mapping[str, Any]:
        return self._get("participant", name)

    def recording(self, name: str) -> Mapping[str, Any]:
        return self._get("recording", name)

    def transcript(self, name: str) -> Mapping[str, Any]:
        return self._get("transcript", name)


@dataclass
class FakeDirectory:
    """`DirectoryClient.primary_email` over `DIRECTORY`: records each lookup; a user it lacks
    has no e-mail."""

    emails: Mapping[str, str | None] = field(default_factory=lambda: DIRECTORY)
    error: AdapterError | None = None
    calls: list[str] = field(default_factory=list)

    def primary_email(self, user: str) -> str | None:
        self.calls.append(user)
        if self.error is not None:
            raise self.error
        return self.emails.get(user)


# --------------------------------------------------------------------------- delivering


@dataclass(frozen=True)
class MeetOutcome(Outcome):
    certs_fetches: int = 0


def deliver(
    body: bytes,
    *,
    token: Any = DEFAULT,
    audience: str | None = AUDIENCE,
    service_account: str | None = SERVICE_ACCOUNT,
    certs: Mapping[str, str] | None = None,
    certs_status: int = 200,
    headers: Mapping[str, str | None] | None = None,
    inbox: Inbox | None = None,
) -> MeetOutcome:
    """POST `body` to `MeetReceiver(audience, service_account)`.

    `token` goes in `Authorization: Bearer` (DEFAULT: a fresh valid one; None: no header);
    `headers` then add, replace or (None) remove headers. Google's certificate URL answers
    `certs` (default: the test key's) with `certs_status`; any other outgoing request fails.
    """
    sent: dict[str, str] = {"content-type": "application/json", "user-agent": "APIs-Google"}
    if token is DEFAULT:
        token = push_token()
    if token is not None:
        sent["authorization"] = f"Bearer {token}"
    for name, value in (headers or {}).items():
        sent.pop(name.lower(), None)
        if value is not None:
            sent[name.lower()] = value
    inbox = Inbox() if inbox is None else inbox
    before = len(inbox.calls)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as google:
        google.get(
            GOOGLE_CERTS_URL,
            json=dict(certs) if certs is not None else certs_body(),
            status=certs_status,
            headers={"Cache-Control": "public, max-age=22151, must-revalidate, no-transform"},
        )
        receiver = MeetReceiver(audience, service_account)
        reply = receive(receiver, Request(body=body, headers=sent), inbox)
        fetches = sum(1 for call in google.calls if call.request.url == GOOGLE_CERTS_URL)
    return MeetOutcome(reply, inbox, tuple(inbox.calls[before:]), fetches)


def deliver_fixture(name: str, **options: Any) -> MeetOutcome:
    return deliver(load_fixture(name), **options)
