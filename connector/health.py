"""`/healthz` (the process answers), `/readyz` (the store answers, schema current), `/metrics`."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import func, select

from connector.services import Services
from connector.store.db import schema_revisions
from connector.store.models import InboxEvent, LocalItem, OutboxItem

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Response | tuple[Response, int]:
    services: Services = current_app.extensions["connector"]
    try:
        current, head = schema_revisions(services.store.engine)
    except Exception as exc:  # any store failure means not ready
        return jsonify(status="unavailable", error=type(exc).__name__), 503
    if current != head:
        return jsonify(status="schema_out_of_date", current=current, head=head), 503
    return jsonify(status="ready", schema=current)


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format, read from the store so every process reports the same."""
    services: Services = current_app.extensions["connector"]
    lines: list[str] = []
    with services.store.session() as session:
        for name, model in (("inbox", InboxEvent), ("outbox", OutboxItem)):
            lines.append(f"# TYPE connector_{name}_rows gauge")
            rows = session.execute(select(model.status, func.count()).group_by(model.status))
            lines += [f'connector_{name}_rows{{status="{s}"}} {n}' for s, n in rows]
        lines.append("# TYPE connector_local_items gauge")
        items = session.execute(
            select(LocalItem.kind, LocalItem.status, func.count()).group_by(
                LocalItem.kind, LocalItem.status
            )
        )
        lines += [f'connector_local_items{{kind="{k}",status="{s}"}} {n}' for k, s, n in items]
    return Response("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4")
