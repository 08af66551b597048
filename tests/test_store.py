"""The store: migrations match the models, the audit log is append-only, SQLite runs in WAL
with foreign keys on, and times are always timezone-aware."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

from connector.store.db import SchemaOutOfDate, Store, make_engine, require_current_schema
from connector.store.models import AuditEntry, Base, Meeting, Pairing
from tests.support import START


def test_migrations_create_exactly_the_models(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_the_audit_log_refuses_updates_and_deletes(store: Store) -> None:
    with store.session() as session:
        session.add(
            AuditEntry(at=START, actor="t", action="a", subject_type="s", subject_id="1", detail={})
        )
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), store.session() as session:
            session.execute(text(statement))
    with store.session() as session:
        assert session.query(AuditEntry).one().actor == "t"


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/sub/dir/x.db")  # creates the folders
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(IntegrityError), store.session() as session:
        session.add(
            Pairing(
                mentor_id=998, mentee_id=999, status="active", created_at=START, updated_at=START
            )
        )


def test_times_are_aware_and_naive_ones_are_refused(store: Store) -> None:
    with store.session() as session:
        session.add(
            AuditEntry(at=START, actor="t", action="a", subject_type="s", subject_id="1", detail={})
        )
    with store.session() as session:
        assert session.query(AuditEntry).one().at == START
        assert session.query(AuditEntry).one().at.tzinfo is not None
    with pytest.raises(StatementError, match="naive datetime"), store.session() as session:
        session.add(
            AuditEntry(
                at=datetime(2026, 1, 1),
                actor="t",
                action="a",
                subject_type="s",
                subject_id="1",
                detail={},
            )
        )


def test_an_empty_database_is_reported_as_out_of_date_with_what_to_run(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/empty.db")
    with pytest.raises(SchemaOutOfDate, match="run `mentor-connector db upgrade` first"):
        require_current_schema(engine)
    engine.dispose()


def test_a_teams_join_url_fits_as_a_meeting_id(store: Store) -> None:
    join_url = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + "x" * 350
    with store.session() as session:
        session.add(
            Meeting(
                platform="teams", external_id=join_url, instance_uuid="r-1", topic="", held=False
            )
        )
    with store.session() as session:
        assert session.query(Meeting).one().external_id == join_url
