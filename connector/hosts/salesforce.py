"""`[host.salesforce]` and `[webhooks.salesforce]`: settings, and the adapter built from them.

The stream mapping an admin writes in `[host.salesforce.streams.<stream>]` is merged over
`adapters.salesforce.DEFAULT_MAPPING` and checked twice: against the domain fields
(`adapters.mapping.check_mapping`) and as SOQL identifiers — an object or field name that is
not a plain API name is a settings error, so nothing from the config file can change a query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from adapters.base import STREAMS, StreamMapping
from adapters.mapping import check_mapping
from adapters.salesforce.client import (
    DEFAULT_API_VERSION,
    DEFAULT_LIMIT_BACKOFF_SECONDS,
    DEFAULT_TIMEOUT,
)
from adapters.salesforce.mapping import (
    DEFAULT_MAPPING,
    IDENTIFIER,
    RECORD_ID,
    identifier_problems,
)
from connector.clock import Clock
from connector.config_fields import HostOptionsSection, Secret, SecretField, Section

# A My Domain host without `.salesforce.com`: `acme.my`, `acme--uat.sandbox.my`.
DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62})(?:\.[a-z0-9-]{1,63}){0,4}")
API_VERSION = re.compile(r"\d{2,3}\.0")
MIN_API_VERSION = 46  # sObject Collections upsert (crm-hosts reference §1.2)


def _whole(pattern: re.Pattern[str]) -> validate.Regexp:
    """A validator for the whole value (`validate.Regexp` alone only anchors the start)."""
    return validate.Regexp(rf"(?:{pattern.pattern})\Z")


@dataclass(frozen=True)
class SalesforceSettings:
    domain: str = ""  # required: the org's My Domain, e.g. "acme.my"
    auth: str = "client_credentials"  # or "jwt"
    client_id: str = ""  # required: the External Client App's consumer key
    client_secret: Secret | None = None  # client_credentials
    username: str | None = None  # jwt: the run-as user
    private_key_file: str | None = None  # jwt: PEM key of the certificate uploaded to the app
    login_domain: str = "login"  # jwt: the assertion's audience; "test" for a sandbox
    api_version: str = DEFAULT_API_VERSION
    timeout_seconds: float = DEFAULT_TIMEOUT
    limit_backoff_seconds: float = DEFAULT_LIMIT_BACKOFF_SECONDS
    task_key_field: str = "Connector_Key__c"
    alert_object: str = "Task"
    owner_id: str | None = None
    synced_streams: tuple[str, ...] = STREAMS
    streams: Mapping[str, StreamMapping] = field(default_factory=lambda: dict(DEFAULT_MAPPING))


class HostOptionsSchema(HostOptionsSection):
    """`[host.salesforce]`, with its `[host.salesforce.streams.<stream>]` tables."""

    target = SalesforceSettings
    default_streams = DEFAULT_MAPPING
    domain = fields.String(required=True, validate=_whole(DOMAIN))
    auth = fields.String(validate=validate.OneOf(("client_credentials", "jwt")))
    client_id = fields.String(required=True, validate=validate.Length(1, 255))
    client_secret = SecretField()
    username = fields.String(validate=validate.Length(1, 255))
    private_key_file = fields.String(validate=validate.Length(1, 4096))
    login_domain = fields.String(validate=validate.OneOf(("login", "test")))
    api_version = fields.String(validate=_whole(API_VERSION))
    timeout_seconds = fields.Float(validate=validate.Range(1, 300))
    limit_backoff_seconds = fields.Float(validate=validate.Range(60, 86_400))
    task_key_field = fields.String(validate=_whole(IDENTIFIER))
    alert_object = fields.String(validate=_whole(IDENTIFIER))
    owner_id = fields.String(validate=_whole(RECORD_ID))

    @validates_schema
    def _auth_complete(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("auth", "client_credentials") == "jwt":
            missing = [k for k in ("username", "private_key_file") if not data.get(k)]
            if missing:
                raise ValidationError('required with auth = "jwt"', missing[0])
        else:
            if not data.get("client_secret"):
                raise ValidationError('required with auth = "client_credentials"', "client_secret")
            if data.get("domain") in ("login", "test"):
                raise ValidationError(
                    "client credentials need the org's My Domain (e.g. acme.my)", "domain"
                )
        version = data.get("api_version", DEFAULT_API_VERSION)
        if API_VERSION.fullmatch(version) and int(version[:-2]) < MIN_API_VERSION:
            raise ValidationError(f"must be {MIN_API_VERSION}.0 or newer", "api_version")

    def mapping_problems(self, stream: str, mapping: StreamMapping) -> list[str]:
        return identifier_problems(stream, mapping) + check_mapping(stream, mapping)


@dataclass(frozen=True)
class SalesforceWebhookSettings:
    # Outbound Messages: the 18-character id of the org allowed to send (Setup > Company
    # Information). Unset: every Outbound Message is refused.
    organization_id: str | None = None
    # The shared secret in `?token=` or the `X-Connector-Secret` header. Flow callouts need
    # it; Outbound Messages must carry it too once it is set.
    shared_secret: Secret | None = None


class WebhookSchema(Section):
    """`[webhooks.salesforce]`."""

    target = SalesforceWebhookSettings
    organization_id = fields.String(validate=_whole(RECORD_ID))
    shared_secret = SecretField()


def receiver(settings: Any, clock: Clock) -> Any:
    """The `/webhooks/salesforce` receiver; without `[webhooks.salesforce]` it refuses all."""
    from adapters.salesforce.mapping import object_streams
    from webhooks.salesforce import SalesforceReceiver

    hooks = settings.webhooks.get("salesforce") or SalesforceWebhookSettings()
    chosen = settings.host.adapter == "salesforce" and settings.host.options is not None
    options = settings.host.options
    streams = {s: options.streams[s] for s in options.synced_streams} if chosen else DEFAULT_MAPPING
    return SalesforceReceiver(
        hooks.organization_id,
        hooks.shared_secret.reveal() if hooks.shared_secret else None,
        object_streams=object_streams(streams),
    )


def build(settings: Any, clock: Clock) -> Any:
    """The Salesforce host of `settings` (the whole `Settings`; the options are in [host])."""
    from adapters.salesforce import Credentials, SalesforceClient, SalesforceHost, WriterSettings

    options: SalesforceSettings = settings.host.options
    credentials = Credentials(
        auth=options.auth,
        domain=options.domain,
        client_id=options.client_id,
        client_secret=options.client_secret.reveal() if options.client_secret else None,
        username=options.username,
        private_key_file=options.private_key_file,
        login_domain=options.login_domain,
    )
    client = SalesforceClient(
        credentials,
        version=options.api_version,
        timeout=options.timeout_seconds,
        limit_backoff_seconds=options.limit_backoff_seconds,
        clock=clock,
    )
    writer = WriterSettings(options.task_key_field, options.alert_object, options.owner_id)
    synced = {s: options.streams[s] for s in options.synced_streams}
    return SalesforceHost(client, synced, writer)
