"""Lifecycle events of platform subscriptions: recorded, then turned into decisions.

| event (platform)                  | recorded                 | decisions                        |
|-----------------------------------|--------------------------|----------------------------------|
| `reauthorizationRequired` (Teams) | expiry                   | renew (or an admin alert)        |
| `subscriptionRemoved` (Teams)     | removed, needs resync    | recreate (or an alert); resync   |
| `missed` (Teams)                  | needs resync             | resync alert                     |
| `suspended` (Meet)                | suspended, the reason    | alert: fix and reactivate        |
| `expirationReminder` (Meet)       | expiry                   | alert: renew                     |
| `expired` (Meet)                  | expired, needs resync    | alert: recreate, check meetings  |

Why these actions: `connector.subscriptions`, which carries out renewals and recreations.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from connector.domain import Alert, Decision, Priority, SubscriptionAction, SubscriptionLifecycle
from connector.subscriptions import MEET, TEAMS, new_row, stamp, stored_row


def note_lifecycle(session: Session, event: SubscriptionLifecycle, now: datetime) -> None:
    """Record what a lifecycle event says about a subscription (the runner's state step)."""
    row = stored_row(session, event.platform, event.subscription_id)
    if row is None:
        row = new_row(session, event.platform, event.subscription_id, now)
    row.expires_at = event.expires_at or row.expires_at
    row.updated_at = now
    if event.lifecycle in ("subscriptionRemoved", "expired", "suspended"):
        row.status = {"subscriptionRemoved": "removed"}.get(event.lifecycle, event.lifecycle)
    if event.lifecycle in ("subscriptionRemoved", "missed", "expired"):
        row.needs_resync = True
    if event.reason:
        row.last_error = event.reason[:2000]


def lifecycle_decisions(event: SubscriptionLifecycle, can_act: bool) -> list[Decision]:
    """What a lifecycle event asks for. `can_act`: the platform's API is configured, so the
    outbox can renew or recreate; otherwise an admin is asked to."""
    sid, expires = event.subscription_id, stamp(event.expires_at)
    prefix = f"subscription:{event.platform}:{sid}"
    if event.platform == TEAMS:
        decisions: list[Decision] = []
        if event.lifecycle in ("reauthorizationRequired", "subscriptionRemoved"):
            action = "renew" if event.lifecycle == "reauthorizationRequired" else "recreate"
            key = f"{prefix}:{action}" + (f":{expires}" if action == "renew" else "")
            if can_act:
                decisions.append(_action(key, event, action))
            else:
                title = f"Teams subscription needs {action}: run `mentor-connector subscriptions`"
                decisions.append(_alert(key, title, event))
        if event.lifecycle in ("subscriptionRemoved", "missed"):
            title = "Teams notifications may have been lost: check recent Teams meetings"
            decisions.append(_alert(f"{prefix}:resync", title, event))
        return decisions
    titles = {
        "suspended": f"Meet events stopped ({event.reason or 'suspended'}): fix and reactivate",
        "expirationReminder": f"Meet subscription expires {expires}: renew it",
        "expired": "Meet subscription expired: recreate it and check recent Meet meetings",
    }
    if event.platform != MEET or event.lifecycle not in titles:
        return []
    key = f"{prefix}:{event.lifecycle}:{expires if event.lifecycle != 'suspended' else ''}"
    return [_alert(key.rstrip(":"), titles[event.lifecycle], event)]


def _action(key: str, event: SubscriptionLifecycle, action: str) -> SubscriptionAction:
    return SubscriptionAction(
        key=key,
        rule_id="pipeline",
        reason=f"{event.platform} lifecycle notification {event.lifecycle}",
        platform=event.platform,
        subscription_id=event.subscription_id,
        action="renew" if action == "renew" else "recreate",
    )


def _alert(key: str, title: str, event: SubscriptionLifecycle) -> Alert:
    return Alert(
        key=key,
        rule_id="pipeline",
        reason=(
            f"{event.platform} subscription {event.subscription_id}: {event.lifecycle}"
            + (f" ({event.reason})" if event.reason else "")
        ),
        title=title,
        priority=Priority.NORMAL if event.lifecycle == "expirationReminder" else Priority.HIGH,
    )
