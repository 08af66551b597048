"""The video platforms the connector can act on, built from the settings.

To add one: an adapter package under `adapters/` implementing `adapters.base.VideoPlatform`,
its settings in `connector.settings`, and one entry in `build_platforms` below.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from adapters.base import VideoPlatform
from connector.clock import Clock
from connector.domain import (
    Decision,
    Event,
    MeetingEnded,
    PlatformChanged,
    PlatformFetch,
    PlatformRead,
    SubscriptionLifecycle,
)
from connector.settings import Settings
from connector.video_settings import MeetSettings

if TYPE_CHECKING:  # imported when configured only: google-auth is not loaded otherwise
    from adapters.meet import DirectoryClient, MeetClient


def build_platforms(settings: Settings, clock: Clock) -> dict[str, VideoPlatform]:
    """Platforms whose API credentials are configured (webhooks alone need none)."""
    platforms: dict[str, VideoPlatform] = {}
    zoom = settings.zoom
    if zoom.account_id and zoom.client_id and zoom.client_secret:
        from adapters.zoom import ZoomClient, ZoomPlatform

        client = ZoomClient(
            zoom.account_id, zoom.client_id, zoom.client_secret.reveal(), clock=clock
        )
        platforms["zoom"] = ZoomPlatform(client)
    teams = settings.teams
    if teams.tenant_id and teams.client_id and teams.client_secret:
        from adapters.teams import GraphClient
        from adapters.teams.platform import TeamsPlatform

        graph = GraphClient(
            teams.tenant_id, teams.client_id, teams.client_secret.reveal(), clock=clock
        )
        platforms["teams"] = TeamsPlatform(graph, organizer=teams.organizer, clock=clock)
    meet = meet_clients(settings.meet, clock)
    if meet is not None:
        from adapters.meet.platform import MeetPlatform

        platforms["meet"] = MeetPlatform(*meet)
    return platforms


def meet_clients(
    meet: MeetSettings, clock: Clock | None
) -> tuple[MeetClient, DirectoryClient | None] | None:
    """The Meet REST client and (with `directory_lookup`) the Directory client over the
    configured service-account key, or None without a key file.

    Each gets its own token for its own scope: domain-wide delegation refuses a token that asks
    for any scope not granted, so a missing directory grant must not stop the Meet reads.
    """
    if not meet.credentials_file:
        return None
    from google.oauth2 import service_account

    from adapters.meet import DIRECTORY_SCOPES, SCOPES, DirectoryClient, MeetClient

    credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
        meet.credentials_file, scopes=list(SCOPES), subject=meet.impersonate
    )
    directory = None
    if meet.directory_lookup:
        directory_credentials = credentials.with_scopes(list(DIRECTORY_SCOPES))
        directory = DirectoryClient(directory_credentials, clock=clock)
    return MeetClient(credentials, clock=clock), directory


def fetch_after_end(platforms: Mapping[str, VideoPlatform]) -> Callable[[Event], list[Decision]]:
    """The runner's follow-up: once a meeting ends, read it back from its platform; when a
    platform notified a change, read the resource it names; when a subscription feeding a
    receiver needs action, renew or recreate it through the outbox (or ask an admin when the
    platform's API is not configured)."""

    def follow_up(event: Event) -> list[Decision]:
        if isinstance(event, PlatformChanged):
            return [read_changed(event)]
        if isinstance(event, SubscriptionLifecycle):
            from connector.subscription_lifecycle import lifecycle_decisions

            return lifecycle_decisions(event, can_act=event.platform in platforms)
        if not isinstance(event, MeetingEnded) or event.platform not in platforms:
            return []
        return [
            PlatformFetch(
                key=f"fetch:{event.platform}:{event.instance_uuid}",
                rule_id="pipeline",
                reason="complete attendance and read the applied security settings",
                platform=event.platform,
                meeting_external_id=event.meeting_id,
                instance_uuid=event.instance_uuid,
            )
        ]

    return follow_up


def read_changed(event: PlatformChanged) -> PlatformRead:
    """One read per notification the receiver stored (its delivery key), so a repeated
    notification reads once. Queued even when the platform's API is not configured: the
    outbox then dead-letters it with that reason, and an admin can replay it once it is."""
    key = f"read:{event.platform}:{event.delivery}"
    if len(key) > 255:  # the outbox key column; a digest keeps it unique
        key = f"read:{event.platform}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"
    return PlatformRead(
        key=key,
        rule_id="pipeline",
        reason=f"read the {event.change_type} resource the platform notified",
        platform=event.platform,
        resource=event.resource,
        change_type=event.change_type,
    )
