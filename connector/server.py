"""`serve`: gunicorn with threaded workers, each running the in-process runner and outbox.

Several workers each claim inbox and outbox rows; claims never overlap (see `connector.runner`
and `connector.outbox`), so more workers mean more throughput, not double effects.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from connector.settings import Settings


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any], runner: bool) -> None:
        self._settings = settings
        self._options = options
        self._runner = runner
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)
        if self._runner:
            self.cfg.set("post_worker_init", self._start_background)

    def load(self) -> Any:
        from connector.app import create_app

        return create_app(self._settings)

    def _start_background(self, worker: Any) -> None:
        from connector.services import Background

        Background(worker.wsgi.extensions["connector"]).start()


def serve(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    runner: bool = True,
) -> None:
    server = settings.server
    options = {
        "bind": f"{host or server.host}:{port or server.port}",
        "workers": workers or server.workers,
        "threads": server.threads,
        "worker_class": "gthread",
        "timeout": 30,
        "graceful_timeout": 10,
        "accesslog": "-" if server.access_log else None,
        "loglevel": settings.connector.log_level.lower(),
    }
    _Gunicorn(settings, options, runner).run()
