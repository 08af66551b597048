"""`[host.hubspot]` and `[webhooks.hubspot]`: settings of the HubSpot host, and its `build`.

The stream tables (`[host.hubspot.streams.<stream>]`) are merged over the adapter's default
mapping (`adapters.hubspot.mapping.DEFAULT`) key by key, so a program writes only what differs,
typically the `object` of its pairing and session custom objects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from marshmallow import ValidationError, fields, validate, validates

from adapters.base import STREAMS, StreamMapping
from adapters.hubspot.client import API_URL, SEARCH_PER_SECOND
from adapters.hubspot.mapping import DEFAULT
from connector.clock import Clock
from connector.config_fields import HostOptionsSection, Secret, SecretField, Section

if TYPE_CHECKING:
    from adapters.hubspot import HubSpotHost
    from connector.settings import Settings
    from webhooks.hubspot import HubSpotReceiver

TASK_WRITES = ("search", "upsert")
OBJECT_TYPE_ID = re.compile(r"^2-[0-9]+\Z")  # a custom object's objectTypeId
CUSTOM_OBJECT_STREAMS = tuple(s for s in STREAMS if s != "people")  # people are contacts


@dataclass(frozen=True)
class HubSpotSettings:
    access_token: Secret | None = None  # the private app's access token
    base_url: str = API_URL
    task_write: str = "search"  # search | upsert (see adapters/hubspot/writer.py)
    owner_id: str = ""  # hubspot_owner_id of every task written; "" leaves tasks unassigned
    search_requests_per_second: float = SEARCH_PER_SECOND
    synced_streams: tuple[str, ...] = STREAMS
    streams: Mapping[str, StreamMapping] = field(default_factory=lambda: dict(DEFAULT))


@dataclass(frozen=True)
class HubSpotWebhookSettings:
    client_secret: Secret | None = None  # the app's client secret, which signs v3 requests
    timestamp_tolerance_seconds: int = 300
    # stream -> its custom object's objectTypeId, for a stream whose `object` is a name:
    # `object.*` events name the object only by this id.
    object_type_ids: Mapping[str, str] = field(default_factory=dict)


class HostOptionsSchema(HostOptionsSection):
    target = HubSpotSettings
    default_streams = DEFAULT
    access_token = SecretField(required=True)
    base_url = fields.Url(require_tld=False, schemes={"http", "https"})
    task_write = fields.String(validate=validate.OneOf(TASK_WRITES))
    owner_id = fields.String(validate=validate.Regexp(r"^[0-9]{0,20}$"))
    search_requests_per_second = fields.Float(validate=validate.Range(0.1, 10))


class WebhookSchema(Section):
    target = HubSpotWebhookSettings
    client_secret = SecretField()
    timestamp_tolerance_seconds = fields.Integer(strict=True, validate=validate.Range(30, 3600))
    object_type_ids = fields.Dict(
        keys=fields.String(validate=validate.OneOf(CUSTOM_OBJECT_STREAMS)),
        values=fields.String(
            validate=validate.Regexp(OBJECT_TYPE_ID, error="must be an objectTypeId like 2-1234567")
        ),
    )

    @validates("object_type_ids")
    def _one_stream_per_type(self, value: dict[str, str], **_: Any) -> None:
        if len(set(value.values())) != len(value):
            raise ValidationError("two streams share one objectTypeId")


def build(settings: Settings, clock: Clock) -> HubSpotHost:
    """The HubSpot host of `[host.hubspot]`."""
    from adapters.hubspot import HubSpotClient, HubSpotHost, SearchThrottle

    options: HubSpotSettings = settings.host.options
    if options.access_token is None:
        raise ValueError("[host.hubspot] access_token is not set")
    client = HubSpotClient(
        options.access_token.reveal(),
        clock=clock,
        base_url=options.base_url,
        throttle=SearchThrottle(options.search_requests_per_second),
    )
    return HubSpotHost(
        client,
        {s: options.streams[s] for s in options.synced_streams},
        clock,
        task_write="upsert" if options.task_write == "upsert" else "search",
        owner_id=options.owner_id or None,
    )


def receiver(settings: Settings, clock: Clock) -> HubSpotReceiver:
    """The `/webhooks/hubspot` receiver; without `[webhooks.hubspot]` it refuses everything."""
    from webhooks.hubspot import HubSpotReceiver

    hooks = settings.webhooks.get("hubspot") or HubSpotWebhookSettings()
    chosen = settings.host.adapter == "hubspot" and settings.host.options is not None
    options: HubSpotSettings = settings.host.options if chosen else HubSpotSettings()
    return HubSpotReceiver(
        hooks.client_secret.reveal() if hooks.client_secret else None,
        public_url=settings.connector.public_url,
        object_streams=object_streams(options, hooks),
        tolerance_seconds=hooks.timestamp_tolerance_seconds,
        clock=clock,
    )


def object_streams(options: HubSpotSettings, hooks: HubSpotWebhookSettings) -> dict[str, str]:
    """objectTypeId -> stream, for routing `object.*` events (which name their object by type
    id only): a synced stream's `object` when it is one, else its `object_type_ids` entry."""
    routes: dict[str, str] = {}
    for stream in options.synced_streams:
        object_name = options.streams[stream].object
        type_id = object_name if OBJECT_TYPE_ID.match(object_name) else None
        type_id = type_id or hooks.object_type_ids.get(stream)
        if type_id:
            routes[type_id] = stream
    return routes
