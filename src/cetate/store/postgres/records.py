"""Records (small JSON documents of platform features) in the PostgreSQL store.

Data is JSONB, ``updated_at`` ``timestamptz``; a put or delete increases the kind's row of
``record_generations`` in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from cetate.errors import AlreadyExists, RecordConflict
from cetate.store.base import Record
from cetate.store.platform_rows import RECORD_COLUMNS, record_from_row, utc, utc_now
from cetate.store.postgres.connections import Conn, PostgresConnections


def _as_is(value: Any) -> Any:
    return value


def _record(row: Sequence[Any]) -> Record:
    return record_from_row(row, _as_is, utc)


def _bump_generation(conn: Conn, kind: str) -> None:
    conn.execute(
        "INSERT INTO record_generations (kind, generation) VALUES (%s, 1) "
        "ON CONFLICT (kind) DO UPDATE SET generation = record_generations.generation + 1",
        (kind,),
    )


def _taken(tenant: str, kind: str, key: str, lookup: str | None) -> AlreadyExists:
    what = f"{kind} {key!r}" if lookup is None else f"{kind} {key!r} or its lookup key"
    return AlreadyExists(f"{what} already exists in tenant {tenant!r}")


class PostgresRecords:
    """The records methods of :class:`~.store.PostgresStore`."""

    _db: PostgresConnections

    def get_record(self, tenant: str, kind: str, key: str) -> Record | None:
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {RECORD_COLUMNS} FROM records "
                "WHERE tenant = %s AND kind = %s AND key = %s",
                (tenant, kind, key),
            ).fetchone()
        return _record(row) if row else None

    def find_record(self, kind: str, lookup: str) -> Record | None:
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {RECORD_COLUMNS} FROM records WHERE kind = %s AND lookup = %s",
                (kind, lookup),
            ).fetchone()
        return _record(row) if row else None

    def put_record(
        self,
        tenant: str,
        kind: str,
        key: str,
        data: Mapping[str, Any],
        *,
        expected_version: int | None,
        lookup: str | None = None,
    ) -> Record:
        now = utc_now()
        document = Jsonb(dict(data))
        try:
            with self._db.connection() as conn, conn.transaction():
                if expected_version is None:
                    row = conn.execute(
                        f"INSERT INTO records ({RECORD_COLUMNS}) "
                        "VALUES (%s, %s, %s, %s, 1, %s, %s) ON CONFLICT DO NOTHING "
                        f"RETURNING {RECORD_COLUMNS}",
                        (tenant, kind, key, document, now, lookup),
                    ).fetchone()
                    if row is None:
                        raise _taken(tenant, kind, key, lookup)
                else:
                    row = conn.execute(
                        "UPDATE records SET data = %s, version = version + 1, updated_at = %s, "
                        "lookup = %s WHERE tenant = %s AND kind = %s AND key = %s "
                        f"AND version = %s RETURNING {RECORD_COLUMNS}",
                        (document, now, lookup, tenant, kind, key, expected_version),
                    ).fetchone()
                    if row is None:
                        raise RecordConflict(
                            f"{kind} {key!r} is not at version {expected_version}: it was "
                            "changed or deleted since it was read"
                        )
                _bump_generation(conn, kind)
        except psycopg.errors.UniqueViolation as exc:
            raise _taken(tenant, kind, key, lookup) from exc
        return _record(row)

    def delete_record(self, tenant: str, kind: str, key: str) -> bool:
        with self._db.connection() as conn, conn.transaction():
            cursor = conn.execute(
                "DELETE FROM records WHERE tenant = %s AND kind = %s AND key = %s",
                (tenant, kind, key),
            )
            deleted = cursor.rowcount > 0
            if deleted:
                _bump_generation(conn, kind)
        return deleted

    def list_records(
        self, tenant: str | None, kind: str, *, limit: int = 1000, offset: int = 0
    ) -> list[Record]:
        with self._db.connection() as conn:
            if tenant is None:
                rows = conn.execute(
                    f"SELECT {RECORD_COLUMNS} FROM records WHERE kind = %s "
                    "ORDER BY key, tenant LIMIT %s OFFSET %s",
                    (kind, limit, offset),
                ).fetchall()
            else:
                rows = conn.execute(
                    f"SELECT {RECORD_COLUMNS} FROM records WHERE tenant = %s AND kind = %s "
                    "ORDER BY key LIMIT %s OFFSET %s",
                    (tenant, kind, limit, offset),
                ).fetchall()
        return [_record(row) for row in rows]

    def records_generation(self, kind: str) -> int:
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT generation FROM record_generations WHERE kind = %s", (kind,)
            ).fetchone()
        return int(row[0]) if row else 0
