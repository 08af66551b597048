"""The platform subscriptions that feed the receivers: stored, renewed, recreated.

Microsoft Graph delivers Teams notifications only while a subscription lives, at most 4230
minutes for call records, and tells the lifecycle URL when one needs action (reference §4.4):

| lifecycle (Graph)         | done here (off the request path, through the outbox)          |
|---------------------------|---------------------------------------------------------------|
| `reauthorizationRequired` | renew: `PATCH /subscriptions/{id}` with a new expiration       |
| `subscriptionRemoved`     | recreate (reusing a live one for the same resource) + resync  |
| `missed`                  | resync                                                         |

Resync: Graph reads a call record by id only (§4.3) and the reference documents no listing,
so what was missed cannot be re-read; the subscription is marked `needs_resync` and staff get
an alert to check recent Teams meetings. Workspace Events (Meet) lifecycle events
(`suspended`, `expirationReminder`, `expired`, §5.2) become alerts: the reference documents
creating a subscription but neither renewing nor listing one, so that stays with an admin.

The lifecycle events themselves are recorded and turned into decisions in
`connector.subscription_lifecycle`. The scheduler queues a renewal for every active Teams
subscription expiring within `[video.teams] renew_before_minutes`, looking every
`renew_check_minutes`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.clock import Clock
from connector.domain import SubscriptionAction
from connector.errors import InvalidRequest
from connector.settings import Settings
from connector.store.db import Store
from connector.store.models import JobRun, VideoSubscription

if TYPE_CHECKING:
    from adapters.teams import GraphClient

log = logging.getLogger("connector.subscriptions")

TEAMS, MEET = "teams", "meet"
CALL_RECORDS = "/communications/callRecords"
CALL_RECORD_CHANGES = "created,updated"  # an update raises the record's `version`
RENEW_JOB = "renew-subscriptions"


@dataclass(frozen=True)
class SubscriptionView:
    """One stored subscription, for the CLI."""

    platform: str
    external_id: str
    resource: str
    expires_at: datetime | None
    status: str
    needs_resync: bool


# --------------------------------------------------------------------------- Graph


def graph_client(settings: Settings, clock: Clock) -> GraphClient | None:
    """The Graph client when the Teams app registration is configured, else None."""
    teams = settings.teams
    if not (teams.tenant_id and teams.client_id and teams.client_secret):
        return None
    from adapters.teams import GraphClient

    secret = teams.client_secret.reveal()
    return GraphClient(teams.tenant_id, teams.client_id, secret, clock=clock)


def build_graph_subscriptions(
    store: Store, settings: Settings, clock: Clock, graph: GraphClient | None = None
) -> GraphSubscriptions | None:
    """Subscription management for Teams, or None when Graph is not configured."""
    graph = graph or graph_client(settings, clock)
    return None if graph is None else GraphSubscriptions(store, settings, clock, graph)


class GraphSubscriptions:
    """Create, renew, recreate and list this app's Graph subscriptions, kept in the store."""

    def __init__(self, store: Store, settings: Settings, clock: Clock, graph: GraphClient) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._graph = graph

    @property
    def notification_url(self) -> str:
        """The receiver's URL, also the lifecycle URL (both are validated by Graph)."""
        return self._settings.connector.public_url.rstrip("/") + "/webhooks/teams"

    def _expiration(self) -> datetime:
        return self._clock.now() + timedelta(minutes=self._settings.teams.subscription_minutes)

    def create(
        self, resource: str = CALL_RECORDS, change_type: str = CALL_RECORD_CHANGES
    ) -> SubscriptionView:
        """`POST /subscriptions` for `resource`, notifying this connector; stored."""
        client_state = self._settings.teams.client_state
        if client_state is None:
            raise InvalidRequest("[video.teams] client_state is needed to subscribe")
        body = self._graph.create_subscription(
            resource,
            self.notification_url,
            client_state.reveal(),
            self._expiration(),
            change_type=change_type,
            lifecycle_notification_url=self.notification_url,
        )
        log.info("teams subscription created id=%s resource=%s", body.get("id"), resource)
        return self._record(body)

    def renew(self, subscription_id: str) -> SubscriptionView:
        """`PATCH /subscriptions/{id}` with a new expiration; stored."""
        body = self._graph.renew_subscription(subscription_id, self._expiration())
        log.info("teams subscription renewed id=%s", subscription_id)
        return self._record({"id": subscription_id} | body)

    def recreate(self, replacing: str) -> SubscriptionView:
        """A live subscription for the resource `replacing` was for: one Graph already holds
        (an earlier attempt may have made it), else a new one. Safe to repeat."""
        with self._store.session() as session:
            old = stored_row(session, TEAMS, replacing)
            resource = old.resource if old is not None and old.resource else CALL_RECORDS
            change_type = old.change_type if old is not None and old.change_type else ""
        for body in self._graph.list_subscriptions():
            if (
                body.get("id") != replacing
                and _same_resource(body.get("resource"), resource)
                and body.get("notificationUrl") == self.notification_url
            ):
                view = self._record(body)
                break
        else:
            view = self.create(resource, change_type or CALL_RECORD_CHANGES)
        self._mark(replacing, status="replaced")
        return view

    def sync(self) -> list[SubscriptionView]:
        """Every subscription Graph holds for this connector's URL, recorded in the store."""
        return [
            self._record(body)
            for body in self._graph.list_subscriptions()
            if body.get("notificationUrl") == self.notification_url
        ]

    def carry_out(self, action: SubscriptionAction) -> None:
        """The outbox's handler. A renewal Graph refuses with 404 (the subscription is gone)
        becomes a recreation, and what it missed meanwhile a resync."""
        if action.action == "renew":
            try:
                self.renew(action.subscription_id)
                return
            except InvalidRequest as exc:
                if exc.status != 404:
                    raise
                log.warning("teams subscription %s is gone; recreating", action.subscription_id)
                self._mark(action.subscription_id, status="removed", needs_resync=True)
        self.recreate(action.subscription_id)

    def _record(self, body: Mapping[str, Any]) -> SubscriptionView:
        external_id = body.get("id")
        if not isinstance(external_id, str) or not external_id:
            raise InvalidRequest("Graph answered a subscription without an id")
        client_state = self._settings.teams.client_state
        now = self._clock.now()
        with self._store.session() as session:
            row = stored_row(session, TEAMS, external_id) or new_row(
                session, TEAMS, external_id, now
            )
            row.resource = str(body.get("resource") or row.resource)[:1024]
            row.change_type = str(body.get("changeType") or row.change_type)[:64]
            row.expires_at = _time(body.get("expirationDateTime")) or row.expires_at
            row.client_state_ref = client_state.ref if client_state else row.client_state_ref
            row.status, row.last_error, row.updated_at = "active", None, now
            return _view(row)

    def _mark(self, external_id: str, **values: Any) -> None:
        with self._store.session() as session:
            row = stored_row(session, TEAMS, external_id)
            if row is None:
                row = new_row(session, TEAMS, external_id, self._clock.now())
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = self._clock.now()


# --------------------------------------------------------------------------- scheduling


def queue_renewals(store: Store, settings: Settings, now: datetime) -> int | None:
    """Queue a renewal of each active Teams subscription expiring within the margin, once per
    `renew_check_minutes` period across all processes; the number queued, None when another
    process had this period. A renewal's key names the expiry it extends, so it runs once."""
    from connector.runner import write_decision  # the runner imports the state, which imports us
    from connector.state import insert_ignore

    step = settings.teams.renew_check_minutes
    minute = int(now.timestamp() // 60)
    period = datetime.fromtimestamp((minute - minute % step) * 60, tz=now.tzinfo).isoformat()
    horizon = now + timedelta(minutes=settings.teams.renew_before_minutes)
    with store.session() as session:
        job = {"job": RENEW_JOB, "period": period, "started_at": now, "detail": {}}
        if insert_ignore(session, JobRun, job, ("job", "period")) is None:
            return None
        due = session.scalars(
            select(VideoSubscription).where(
                VideoSubscription.platform == TEAMS,
                VideoSubscription.status == "active",
                VideoSubscription.expires_at <= horizon,
            )
        ).all()
        queued = 0
        for row in due:
            action = SubscriptionAction(
                key=f"subscription:teams:{row.external_id}:renew:{stamp(row.expires_at)}",
                rule_id="pipeline",
                reason=f"expires {stamp(row.expires_at)}, within the renewal margin",
                platform=TEAMS,
                subscription_id=row.external_id,
                action="renew",
            )
            queued += write_decision(session, action, now)
    if queued:
        log.info("teams subscription renewals queued=%d", queued)
    return queued


def stored_subscriptions(store: Store) -> list[SubscriptionView]:
    with store.session() as session:
        rows = session.scalars(
            select(VideoSubscription).order_by(
                VideoSubscription.platform, VideoSubscription.expires_at
            )
        ).all()
        return [_view(row) for row in rows]


# --------------------------------------------------------------------------- helpers


def stored_row(session: Session, platform: str, external_id: str) -> VideoSubscription | None:
    return session.scalars(
        select(VideoSubscription).where(
            VideoSubscription.platform == platform, VideoSubscription.external_id == external_id
        )
    ).first()


def new_row(session: Session, platform: str, external_id: str, now: datetime) -> VideoSubscription:
    row = VideoSubscription(
        platform=platform,
        external_id=external_id[:255],
        resource="",
        change_type="",
        client_state_ref="",
        status="active",
        needs_resync=False,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    return row


def _view(row: VideoSubscription) -> SubscriptionView:
    return SubscriptionView(
        row.platform, row.external_id, row.resource, row.expires_at, row.status, row.needs_resync
    )


def _same_resource(given: Any, resource: str) -> bool:
    return isinstance(given, str) and given.strip("/").lower() == resource.strip("/").lower()


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def stamp(when: datetime | None) -> str:
    return when.isoformat(timespec="seconds") if when is not None else "unknown"
