"""The append-only audit log: who did what to which record, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from connector.store.models import AuditEntry


def record(
    session: Session,
    at: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: object,
    **detail: Any,
) -> None:
    """Add one entry in the caller's transaction, so it commits with the change it describes."""
    session.add(
        AuditEntry(
            at=at,
            actor=actor,
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id),
            detail=detail,
        )
    )
