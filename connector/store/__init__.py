"""Persistence: models, engines, sessions and migrations."""

from connector.store.db import SchemaOutOfDate, Store, make_engine, require_current_schema, upgrade

__all__ = ["SchemaOutOfDate", "Store", "make_engine", "require_current_schema", "upgrade"]
