"""Shared fixtures. Every test that touches the store runs on SQLite and, when
`CONNECTOR_TEST_DATABASE_URL` is set, on PostgreSQL too; an unreachable server then makes
those tests fail (the connection error propagates), it never skips them.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from connector.app import create_app
from connector.clock import FrozenClock
from connector.services import Services
from connector.settings import Settings
from connector.store.db import Store, make_engine, upgrade
from connector.store.models import Base
from tests.support import BACKENDS, PG_URL, START, make_settings

# --------------------------------------------------------------------------- databases


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated once; each test gets a copy (much faster than migrating again)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # closing the last connection checkpoints the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL schema for this run, migrated once, dropped at the end."""
    assert PG_URL, "CONNECTOR_TEST_DATABASE_URL is not set"
    schema = f"mc_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:  # fails loudly when the server is unreachable
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = pg_url_with_schema(PG_URL, schema)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url, schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def pg_url_with_schema(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def _truncate(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each backend under test."""
    if request.param == "sqlite":
        path = tmp_path / "connector.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url, _schema = request.getfixturevalue("pg_schema")
    engine = make_engine(url)
    _truncate(engine)
    engine.dispose()
    return str(url)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store.from_url(database_url)
    yield store
    store.dispose()


# --------------------------------------------------------------------------- the app


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def app(settings: Settings, store: Store, clock: FrozenClock) -> Flask:
    return create_app(settings, store=store, clock=clock)


@pytest.fixture
def services(app: Flask) -> Services:
    services: Services = app.extensions["connector"]
    return services


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
