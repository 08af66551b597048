"""The JSON API under `/api/v1`, behind role tokens.

Every input is validated with marshmallow; every error has one shape:
`{"error": code, "message": text, "fields": {...}}`. One module per resource; each registers
its routes on `bp` below.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import Schema, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.errors import AdapterError, RateLimited, Unavailable
from connector.services import Services

M = TypeVar("M")
bp = Blueprint("api", __name__, url_prefix="/api/v1")
STAFF = ("admin", "coordinator", "safeguarding")
SEES_CONSENT = ("admin", "safeguarding")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.extra = status, code, extra


@bp.errorhandler(ValidationError)
def _invalid(exc: ValidationError) -> tuple[Response, int]:
    return jsonify(error="invalid", message="the request is not valid", fields=exc.messages), 400


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> tuple[Response, int]:
    return jsonify(error=exc.code, message=str(exc), **exc.extra), exc.status


@bp.errorhandler(AdapterError)
def _adapter_error(exc: AdapterError) -> tuple[Response, int]:
    """A vendor system failed while serving the request: say so, never a bare 500."""
    status = 503 if isinstance(exc, RateLimited | Unavailable) else 502
    response = jsonify(error="upstream_error", message=f"{type(exc).__name__}: {exc}")
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        response.headers["Retry-After"] = str(int(exc.retry_after))
    return response, status


def services() -> Services:
    found: Services = current_app.extensions["connector"]
    return found


def body(schema: Schema, partial: bool = False) -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid", "the body must be a JSON object")
    loaded: dict[str, Any] = schema.load(data, partial=partial)
    return loaded


def get_or_404(session: Session, model: type[M], ident: int) -> M:
    obj = session.get(model, ident)
    if obj is None:
        raise ApiError(404, "not_found", f"no {model.__name__.lower()} {ident}")
    return obj


def flush_unique(session: Session, message: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise ApiError(409, "conflict", message) from exc


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# Routes, one module per resource (imported for their side effect of registering on `bp`).
from connector.api import (  # noqa: E402
    concerns,
    exemptions,
    items,
    pairings,
    people,
    program,
    recordings,
)

open_items = items.open_items
item_json = items.item_json

__all__ = [
    "bp",
    "concerns",
    "exemptions",
    "item_json",
    "items",
    "open_items",
    "pairings",
    "people",
    "program",
    "recordings",
]
