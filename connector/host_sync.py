"""The runner's follow-up for host webhooks: a `HostChanged` hint becomes a `HostSync`.

A CRM webhook says which records changed, not what they are now (and may be late or out of
order), so the outbox reads the named records back from the host (`Syncer.targeted`) and
applies them through the same path as a scheduled sync.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from adapters.base import HostSystem
from connector.domain import Decision, Event, HostChanged, HostSync

log = logging.getLogger("connector.sync")
FollowUp = Callable[[Event], list[Decision]]


def sync_after_change(host: HostSystem) -> FollowUp:
    """Read back the records a `HostChanged` event of the configured host names."""

    def follow_up(event: Event) -> list[Decision]:
        if not isinstance(event, HostChanged):
            return []
        if event.host != host.name or event.stream not in host.streams():
            log.warning(
                "host change ignored: host=%s stream=%s is not a synced stream of %s",
                event.host,
                event.stream,
                host.name,
            )
            return []
        key = f"host-sync:{event.host}:{event.stream}:{event.delivery}"
        if len(key) > 255:  # the outbox key column; a digest keeps it unique
            key = f"host-sync:{hashlib.sha256(key.encode()).hexdigest()}"
        return [
            HostSync(
                key=key,
                rule_id="pipeline",
                reason="read the changed records back from the host",
                host=event.host,
                stream=event.stream,
                external_ids=event.external_ids,
            )
        ]

    return follow_up


def follow_ups(*each: FollowUp) -> FollowUp:
    """One follow-up that asks each of `each` in turn (reading meetings, reading records)."""

    def follow_up(event: Event) -> list[Decision]:
        return [decision for one in each for decision in one(event)]

    return follow_up
