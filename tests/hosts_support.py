"""Helpers shared by the end-to-end tests of the vendor hosts (CRM -> sync -> rule -> CRM).

`drain` runs the pipeline as the app does after a sync or a webhook: the runner (with the
follow-up that turns a host's `HostChanged` into a `HostSync`) and the outbox writing through
the host, until neither has work. `by_ref` finds a synced row by the host's record id.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from adapters.base import HostSystem
from connector.clock import FrozenClock
from connector.host_sync import sync_after_change
from connector.outbox import Outbox
from connector.runner import Runner
from connector.settings import Settings
from connector.store.db import Store

ROUNDS = 20


def drain(store: Store, settings: Settings, host: HostSystem, clock: FrozenClock) -> None:
    """Run the runner and the outbox until both are idle; fail after `ROUNDS` rounds."""
    runner = Runner(store, settings, clock, follow_up=sync_after_change(host))
    outbox = Outbox(store, settings, host, clock)
    for _ in range(ROUNDS):
        if not runner.run_once() + outbox.run_once():
            return
    raise AssertionError(f"the pipeline did not settle in {ROUNDS} rounds")


def by_ref(store: Store, model: Any, ref: str) -> Any:
    """The one row of `model` synced from the host record `ref`."""
    with store.session() as session:
        return session.scalars(select(model).where(model.external_ref == ref)).one()
