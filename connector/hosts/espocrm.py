"""`[host.espocrm]` and `[webhooks.espocrm]`: settings of the EspoCRM host, and its `build`.

The stream tables (`[host.espocrm.streams.<stream>]`) are merged over the adapter's default
mapping (`adapters.espocrm.mapping.DEFAULT_STREAMS`) key by key, so a program writes only what
differs. Each EspoCRM webhook has its own id and secret key, so `[webhooks.espocrm.hooks]`
holds one table per webhook id: the event it was created for and its secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from marshmallow import fields, validate

from adapters.base import STREAMS, StreamMapping
from adapters.espocrm.client import DEFAULT_TIMEOUT
from adapters.espocrm.mapping import DEFAULT_STREAMS, DEFAULT_TASK_KEY_FIELD
from connector.clock import Clock
from connector.config_fields import HostOptionsSection, Secret, SecretField, Section

if TYPE_CHECKING:
    from adapters.espocrm import EspoCrmHost
    from connector.settings import Settings
    from webhooks.espocrm import EspoCrmReceiver

# EspoCRM's webhook events: <Entity>.create | .update | .delete | .fieldUpdate.<field>.
EVENT = re.compile(r"^[A-Z][A-Za-z0-9]{0,99}\.(create|update|delete|fieldUpdate\.[A-Za-z0-9]+)$")
WEBHOOK_ID = r"^[A-Za-z0-9_-]{1,64}$"
FIELD_NAME = r"^[A-Za-z][A-Za-z0-9_]{0,99}$"


@dataclass(frozen=True)
class EspoCrmSettings:
    base_url: str = ""  # the instance's address, e.g. https://crm.example.org
    api_key: Secret | None = None  # the API user's API key
    assigned_user_id: str = ""  # the user every Task is assigned to (EspoCRM requires one)
    task_key_field: str = DEFAULT_TASK_KEY_FIELD  # the Task field holding the decision key
    timeout_seconds: float = DEFAULT_TIMEOUT
    synced_streams: tuple[str, ...] = STREAMS
    streams: Mapping[str, StreamMapping] = field(default_factory=lambda: dict(DEFAULT_STREAMS))


@dataclass(frozen=True)
class EspoCrmHook:
    """One EspoCRM webhook: the event it was created for and its `secretKey`."""

    event: str
    secret: Secret | None = None


@dataclass(frozen=True)
class EspoCrmWebhookSettings:
    hooks: Mapping[str, EspoCrmHook] = field(default_factory=dict)  # by webhook id


class HostOptionsSchema(HostOptionsSection):
    target = EspoCrmSettings
    default_streams = DEFAULT_STREAMS
    base_url = fields.Url(required=True, require_tld=False, schemes={"http", "https"})
    api_key = SecretField(required=True)
    assigned_user_id = fields.String(required=True, validate=validate.Regexp(WEBHOOK_ID))
    task_key_field = fields.String(validate=validate.Regexp(FIELD_NAME))
    timeout_seconds = fields.Float(validate=validate.Range(1, 300))


class HookSchema(Section):
    target = EspoCrmHook
    event = fields.String(required=True, validate=validate.Regexp(EVENT))
    secret = SecretField(required=True)


class WebhookSchema(Section):
    target = EspoCrmWebhookSettings
    hooks = fields.Dict(
        keys=fields.String(validate=validate.Regexp(WEBHOOK_ID)),
        values=fields.Nested(HookSchema),
    )


def build(settings: Settings, clock: Clock) -> EspoCrmHost:
    """The EspoCRM host of `[host.espocrm]`."""
    from adapters.espocrm import EspoClient, EspoCrmHost, TaskTarget

    options: EspoCrmSettings = settings.host.options
    if options.api_key is None:
        raise ValueError("[host.espocrm] api_key is not set")
    client = EspoClient(
        options.base_url,
        options.api_key.reveal(),
        clock=clock,
        timeout=options.timeout_seconds,
    )
    target = TaskTarget(
        key_field=options.task_key_field,
        assigned_user_id=options.assigned_user_id,
        pairing_entity=options.streams["pairings"].object,
    )
    mapping = {s: options.streams[s] for s in options.synced_streams}
    return EspoCrmHost(client, mapping, target, clock)


def receiver(settings: Settings, clock: Clock) -> EspoCrmReceiver:
    """The `/webhooks/espocrm` receiver; without `[webhooks.espocrm]` it refuses everything."""
    from webhooks.espocrm import EspoCrmReceiver, Hook

    written: EspoCrmWebhookSettings = settings.webhooks.get("espocrm") or EspoCrmWebhookSettings()
    chosen = settings.host.adapter == "espocrm" and settings.host.options is not None
    options: EspoCrmSettings = settings.host.options if chosen else EspoCrmSettings()
    hooks = {
        hook_id: Hook(hook.event, hook.secret.reveal() if hook.secret else None)
        for hook_id, hook in written.hooks.items()
    }
    # A webhook names its entity; the synced streams say which stream that entity is.
    entities = {options.streams[s].object: s for s in options.synced_streams}
    return EspoCrmReceiver(hooks, entities)
