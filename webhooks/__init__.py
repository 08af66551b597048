"""Webhook receivers, one module per source, listed here top to bottom.

To add a source: write `webhooks/<source>.py` with a class satisfying
`webhooks.base.WebhookReceiver` and its `sign()` helper for tests, then add one line here and
one line in `connector.webhook_view.build_receivers`.
"""

from __future__ import annotations

from webhooks.base import WebhookReceiver
from webhooks.espocrm import EspoCrmReceiver
from webhooks.hubspot import HubSpotReceiver
from webhooks.meet import MeetReceiver
from webhooks.salesforce import SalesforceReceiver
from webhooks.teams import TeamsReceiver
from webhooks.zoom import ZoomReceiver

RECEIVERS: dict[str, type[WebhookReceiver]] = {
    "zoom": ZoomReceiver,
    "teams": TeamsReceiver,
    "meet": MeetReceiver,
    "hubspot": HubSpotReceiver,
    "espocrm": EspoCrmReceiver,
    "salesforce": SalesforceReceiver,
}

__all__ = ["RECEIVERS", "WebhookReceiver"]
