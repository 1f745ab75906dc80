"""The SQLite schema: the numbered files of ``migrations/`` applied in order, each in its own
``BEGIN IMMEDIATE`` transaction on the writer connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from cetate.store.migration_runner import Migration, apply_missing, migrations_in
from cetate.store.sql_common import ScalarValue, loads, scalar_value
from cetate.store.sqlite.connections import SQLiteConnections

MIGRATIONS_PACKAGE: Final = "cetate.store.sqlite.migrations"


def split_sql(script: str) -> list[str]:
    """Statements of a migration file (no semicolons inside string literals or triggers)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


class _SQLiteMigrations:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @contextmanager
    def step(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def is_applied(self, migration: Migration) -> bool:
        return (
            self._conn.execute(
                "SELECT 1 FROM schema_version WHERE version = ?", (migration.version,)
            ).fetchone()
            is not None
        )

    def apply(self, migration: Migration) -> None:
        for statement in split_sql(migration.sql):
            self._conn.execute(statement)
        self._conn.execute(
            "INSERT INTO schema_version VALUES (?, datetime('now'))", (migration.version,)
        )


def _index_value(doc: str | None, attr: str | None, position: int | None) -> ScalarValue:
    """``cetate_index_value(doc, attribute, position)`` for migrations: what
    :func:`cetate.store.sql_common.scalar_value` indexes for that instance of the document."""
    if doc is None or attr is None or position is None:
        return None
    instances = loads(doc).get(attr)
    if isinstance(instances, dict):
        instances = [instances]
    if not isinstance(instances, list) or not 0 <= position < len(instances):
        return None
    instance = instances[position]
    return scalar_value(instance) if isinstance(instance, dict) else None


def migrate(connections: SQLiteConnections) -> None:
    """Bring the schema to the newest version (idempotent)."""
    migrations = migrations_in(MIGRATIONS_PACKAGE)
    with connections.exclusive_writer() as conn:
        conn.create_function("cetate_index_value", 3, _index_value, deterministic=True)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        apply_missing(_SQLiteMigrations(conn), migrations)


def schema_version(connections: SQLiteConnections) -> int:
    with connections.read() as conn:
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)
