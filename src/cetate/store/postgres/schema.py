"""The PostgreSQL schema: the numbered files of ``migrations/`` applied in one transaction
under an advisory lock, so that concurrent processes can all call :func:`migrate`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import psycopg

from cetate.errors import StoreUnavailable
from cetate.store.migration_runner import Migration, apply_missing, migrations_in
from cetate.store.postgres.connections import Conn, PostgresConnections

MIGRATION_LOCK: Final = 0x636574617465  # "cetate": pg_advisory_xact_lock key for migrations
MIGRATIONS_PACKAGE: Final = "cetate.store.postgres.migrations"


def migration_files() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every PostgreSQL migration, oldest first."""
    return [(m.version, m.name, m.sql) for m in migrations_in(MIGRATIONS_PACKAGE)]


class _PostgresMigrations:
    """Every migration runs in the one transaction that holds the lock."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        self._applied = {row[0] for row in conn.execute("SELECT version FROM schema_version")}

    @contextmanager
    def step(self) -> Iterator[None]:
        yield

    def is_applied(self, migration: Migration) -> bool:
        return migration.version in self._applied

    def apply(self, migration: Migration) -> None:
        try:
            self._conn.execute(migration.sql.encode())
        except (psycopg.errors.UndefinedFile, psycopg.errors.FeatureNotSupported) as e:
            raise StoreUnavailable(
                f"migration {migration.name} failed: {e}. Cetate needs the PostGIS extension: "
                "install it on the database server (Debian: postgresql-15-postgis-3)"
            ) from e
        self._conn.execute(
            "INSERT INTO schema_version (version, name) VALUES (%s, %s)",
            (migration.version, migration.name),
        )


def migrate(db: PostgresConnections) -> None:
    """Bring the schema to the newest version (idempotent)."""
    with db.connection() as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        apply_missing(_PostgresMigrations(conn), migrations_in(MIGRATIONS_PACKAGE))


def schema_version(db: PostgresConnections) -> int:
    with db.connection() as conn:
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0
