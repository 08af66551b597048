"""`[video.zoom]`, `[video.teams]`, `[video.meet]`: the video platforms' settings.

Webhooks need only their secret (Zoom), client state (Teams) or push identity (Meet); acting
on a platform (reading a meeting back, trashing a recording, renewing subscriptions) needs
its API credentials, all of them or none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError, validate, validates_schema
from marshmallow import fields as mf

from connector.config_fields import Secret, SecretField, Section


@dataclass(frozen=True)
class ZoomSettings:
    webhook_secret: Secret | None = None
    timestamp_tolerance_seconds: int = 300
    # The REST API, through a Server-to-Server OAuth app; all three or none.
    account_id: str | None = None
    client_id: str | None = None
    client_secret: Secret | None = None


@dataclass(frozen=True)
class TeamsSettings:
    # The secret every Graph change notification carries back; fixed when subscribing.
    client_state: Secret | None = None
    # The Entra app registration (application permissions) Graph is read with: all or none.
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    # Whose meetings are read back when a join URL does not name its organizer.
    organizer: str | None = None
    # Graph subscriptions: the lifetime asked for (call records allow 4230 minutes), how long
    # before expiry the scheduler renews one, and how often it looks.
    subscription_minutes: int = 4230
    renew_before_minutes: int = 720
    renew_check_minutes: int = 15


@dataclass(frozen=True)
class MeetSettings:
    # Pub/Sub push authentication: the audience set on the push subscription and the
    # service account its OIDC token is issued for. Both, or Meet deliveries are refused.
    push_audience: str | None = None
    push_service_account: str | None = None
    # Reading the Meet REST API: a service-account key file with domain-wide delegation and
    # the Workspace user it acts as. Without them, events that need details are retried.
    credentials_file: str | None = None
    impersonate: str | None = None
    # Who a signed-in participant is: Meet names them `users/{id}`, and people are matched by
    # e-mail, so their primary address is read from the Admin SDK Directory API (same key;
    # `impersonate` must be an admin who can read users). Off: no Meet participant has one.
    directory_lookup: bool = True


class ZoomSchema(Section):
    target = ZoomSettings
    webhook_secret = SecretField()
    timestamp_tolerance_seconds = mf.Integer(strict=True, validate=validate.Range(30, 3600))
    account_id = mf.String(validate=validate.Length(1, 128))
    client_id = mf.String(validate=validate.Length(1, 128))
    client_secret = SecretField()

    @validates_schema
    def _all_or_none(self, data: dict[str, Any], **_: Any) -> None:
        keys = ("account_id", "client_id", "client_secret")
        missing = [k for k in keys if not data.get(k)]
        if 0 < len(missing) < len(keys):
            raise ValidationError("account_id, client_id and client_secret go together", missing[0])


class TeamsSchema(Section):
    target = TeamsSettings
    client_state = SecretField()
    tenant_id = mf.String(validate=validate.Length(1, 128))
    client_id = mf.String(validate=validate.Length(1, 128))
    client_secret = SecretField()
    organizer = mf.String(validate=validate.Length(1, 255))
    subscription_minutes = mf.Integer(strict=True, validate=validate.Range(45, 4230))
    renew_before_minutes = mf.Integer(strict=True, validate=validate.Range(5, 4200))
    renew_check_minutes = mf.Integer(strict=True, validate=validate.Range(1, 720))

    @validates_schema
    def _all_or_none(self, data: dict[str, Any], **_: Any) -> None:
        keys = ("tenant_id", "client_id", "client_secret")
        missing = [k for k in keys if not data.get(k)]
        if 0 < len(missing) < len(keys):
            raise ValidationError("tenant_id, client_id and client_secret go together", missing[0])


class MeetSchema(Section):
    target = MeetSettings
    push_audience = mf.String(validate=validate.Length(1, 500))
    push_service_account = mf.Email()
    credentials_file = mf.String(validate=validate.Length(1, 500))
    impersonate = mf.Email()
    directory_lookup = mf.Boolean(truthy={True}, falsy={False})


class VideoSchema(Schema):
    zoom = mf.Nested(ZoomSchema)
    teams = mf.Nested(TeamsSchema)
    meet = mf.Nested(MeetSchema)
