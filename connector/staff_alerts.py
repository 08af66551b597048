"""Alerts for admins when an external system's error needs people, not only a retry.

An `AdapterError` with `alert_staff` (Salesforce's used-up daily request limit) is retried
like any other, but waiting alone will not fix it: someone has to find what spends the limit
or raise it. The outbox (for deliveries and targeted syncs) and the sync engine (for the
runs of the scheduler and the CLI, which record their error and go on) call
`raise_staff_alert`, which writes one `Alert` to the outbox — the normal decision path —
keyed per host and program day, so it is raised once a day however many calls fail.
"""

from __future__ import annotations

import logging

from connector.clock import Clock
from connector.domain import Alert, Priority
from connector.errors import AdapterError
from connector.runner import write_decision
from connector.settings import Settings
from connector.store.db import Store
from rules.calendar import local_date

log = logging.getLogger("connector.staff_alerts")
RULE_ID = "host-limit"  # the alert's rule id (plumbing, not a policy rule)


def staff_alert(host: str, exc: AdapterError, day: str) -> Alert:
    """The admins' alert for `exc` on `host` on the program's `day` (ISO date)."""
    return Alert(
        key=f"{RULE_ID}:{host}:{day}",
        rule_id=RULE_ID,
        reason=f"{exc.advice or 'The host refused the connector in a way that needs an admin.'}"
        f"\n\nHost: {host}\nError: {type(exc).__name__}: {exc}",
        title=f"{host}: API limit reached, the connector is waiting",
        priority=Priority.HIGH,
        audience="admin",
    )


def raise_staff_alert(
    store: Store, settings: Settings, clock: Clock, host: str, exc: AdapterError
) -> bool:
    """Queue the day's alert for `exc` unless it is queued already; True when this did."""
    now = clock.now()
    alert = staff_alert(host, exc, local_date(now, settings.connector.timezone).isoformat())
    with store.session() as session:
        new = write_decision(session, alert, now)
    if new:
        log.warning("staff alert raised host=%s error=%s", host, type(exc).__name__)
    return new
