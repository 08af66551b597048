"""The objects one process needs, built once from the settings."""

from __future__ import annotations

import importlib
import logging
import threading
from dataclasses import dataclass, field
from typing import cast

from adapters.base import HostSystem, VideoPlatform
from connector.clock import Clock, SystemClock
from connector.host_sync import follow_ups, sync_after_change
from connector.inbox import Inbox
from connector.local_host import LocalHost
from connector.outbox import Outbox
from connector.platforms import build_platforms, fetch_after_end
from connector.runner import Runner
from connector.scheduler import Scheduler
from connector.settings import Settings
from connector.store.db import Store

log = logging.getLogger("connector.background")


# One line per host: the module under connector/hosts/ whose `build(settings, clock)` makes
# the adapter. Imported only when chosen, so a program pays for (and needs the dependencies
# of) its own CRM alone. `local` is built here: it needs the store.
HOST_MODULES: dict[str, str] = {
    "salesforce": "connector.hosts.salesforce",
    "hubspot": "connector.hosts.hubspot",
    "espocrm": "connector.hosts.espocrm",
}


def build_host(settings: Settings, store: Store, clock: Clock) -> HostSystem:
    """The configured host: the built-in `local`, or a vendor host from `HOST_MODULES`."""
    adapter = settings.host.adapter
    if adapter == "local":
        return LocalHost(store, clock)
    module = importlib.import_module(HOST_MODULES[adapter])
    return cast(HostSystem, module.build(settings, clock))


@dataclass
class Services:
    settings: Settings
    store: Store
    clock: Clock = field(default_factory=SystemClock)
    platforms: dict[str, VideoPlatform] | None = None  # default: from the settings
    host: HostSystem = field(init=False)
    inbox: Inbox = field(init=False)
    runner: Runner = field(init=False)
    outbox: Outbox = field(init=False)
    scheduler: Scheduler = field(init=False)

    def __post_init__(self) -> None:
        self.host = build_host(self.settings, self.store, self.clock)
        if self.platforms is None:
            self.platforms = build_platforms(self.settings, self.clock)
        self.inbox = Inbox(self.store, self.clock)
        self.runner = Runner(
            self.store,
            self.settings,
            self.clock,
            follow_up=follow_ups(fetch_after_end(self.platforms), sync_after_change(self.host)),
        )
        self.outbox = Outbox(self.store, self.settings, self.host, self.clock, self.platforms)
        self.scheduler = Scheduler(self.store, self.settings, self.clock, self.host)

    def drain(self, rounds: int = 100) -> None:
        """Run the runner and the outbox until neither has work (bounded); for CLI and tests."""
        for _ in range(rounds):
            if not self.runner.run_once() + self.outbox.run_once():
                return


class Background:
    """The in-process runner and outbox loop of the embedded default, on a daemon thread."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="connector-runner", daemon=True)

    def start(self) -> None:
        try:
            self._services.outbox.recover_interrupted()
        except Exception:  # the store may be down at start; leases then expire on their own
            log.exception("could not recover interrupted deliveries")
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        interval = self._services.settings.runner.poll_interval_seconds
        log.info("background runner started")
        while not self._stop.is_set():
            try:
                self._services.scheduler.tick()
                busy = self._services.runner.run_once() + self._services.outbox.run_once()
            except Exception:  # the store may be down; keep the loop alive and retry
                log.exception("background round failed")
                busy = 0
            if not busy:
                self._stop.wait(interval)
