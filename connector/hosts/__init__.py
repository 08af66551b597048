"""The host systems staff work in: one module per CRM/LMS, read top to bottom.

Each vendor module here (`salesforce.py`, `hubspot.py`, `espocrm.py`) holds the host's
settings — a frozen dataclass, its schema for `[host.<name>]` (connection, field mapping over
the adapter's default) and, when it receives webhooks, its schema for `[webhooks.<name>]` —
and a `build(settings, clock)` that makes the adapter. To add a host: write its adapter
package under `adapters/`, its module here, and one line in each table below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from connector.config_fields import Section
from connector.hosts import espocrm, hubspot, salesforce

# One name per host module below, plus the built-in `local`.
HOST_ADAPTERS = ("local", "hubspot", "salesforce", "espocrm")


@dataclass(frozen=True)
class HostSettings:
    adapter: str = "local"
    sync_interval_minutes: int = 15  # the scheduler's incremental sync; 0 turns it off
    lookback_minutes: int = 10  # each run re-reads this much before its cursor
    request_budget: int = 2000  # API requests one sync run may spend before it stops cleanly
    options: Any = None  # the chosen adapter's own settings, from [host.<adapter>]


class HostSchema(Section):
    target = HostSettings
    adapter = fields.String(validate=validate.OneOf(HOST_ADAPTERS))
    sync_interval_minutes = fields.Integer(strict=True, validate=validate.Range(0, 24 * 60))
    lookback_minutes = fields.Integer(strict=True, validate=validate.Range(0, 24 * 60))
    request_budget = fields.Integer(strict=True, validate=validate.Range(1, 10_000_000))
    # One table per vendor host, e.g. `salesforce = fields.Nested(salesforce.HostOptionsSchema)`.
    salesforce = fields.Nested(salesforce.HostOptionsSchema)
    hubspot = fields.Nested(hubspot.HostOptionsSchema)
    espocrm = fields.Nested(espocrm.HostOptionsSchema)

    @validates_schema
    def _adapter_configured(self, data: dict[str, Any], **_: Any) -> None:
        adapter = data.get("adapter", "local")
        if adapter != "local" and adapter not in data:
            raise ValidationError(f"[host.{adapter}] is required for adapter {adapter!r}", adapter)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Any:
        adapter = data.get("adapter", "local")
        options = data.get(adapter)
        for name in HOST_ADAPTERS:
            data.pop(name, None)
        return HostSettings(**data, options=options)


class WebhooksSchema(Section):
    """`[webhooks.<host>]`: the secrets and checks of inbound CRM webhooks, one table each."""

    target = dict
    # e.g. `salesforce = fields.Nested(salesforce.WebhookSchema)`
    salesforce = fields.Nested(salesforce.WebhookSchema)
    hubspot = fields.Nested(hubspot.WebhookSchema)
    espocrm = fields.Nested(espocrm.WebhookSchema)
