"""Records (small JSON documents of platform features) in the SQLite store.

Data is JSON text, ``updated_at`` integer microseconds; a put or delete increases the kind's
row of ``record_generations`` in the same writer transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from cetate.errors import AlreadyExists, RecordConflict
from cetate.store.base import Record
from cetate.store.platform_rows import RECORD_COLUMNS, record_from_row, utc_now
from cetate.store.sql_common import dumps, from_us, loads, to_us
from cetate.store.sqlite.connections import SQLiteConnections


def _record(row: Sequence[Any]) -> Record:
    return record_from_row(row, loads, from_us)


def _bump_generation(conn: sqlite3.Connection, kind: str) -> None:
    conn.execute(
        "INSERT INTO record_generations (kind, generation) VALUES (?, 1) "
        "ON CONFLICT (kind) DO UPDATE SET generation = record_generations.generation + 1",
        (kind,),
    )


def _taken(tenant: str, kind: str, key: str, lookup: str | None) -> AlreadyExists:
    what = f"{kind} {key!r}" if lookup is None else f"{kind} {key!r} or its lookup key"
    return AlreadyExists(f"{what} already exists in tenant {tenant!r}")


class SQLiteRecords:
    """The records methods of :class:`~.store.SQLiteStore`."""

    _db: SQLiteConnections

    def get_record(self, tenant: str, kind: str, key: str) -> Record | None:
        row = (
            self._db.reader()
            .execute(
                f"SELECT {RECORD_COLUMNS} FROM records WHERE tenant = ? AND kind = ? AND key = ?",
                (tenant, kind, key),
            )
            .fetchone()
        )
        return None if row is None else _record(row)

    def find_record(self, kind: str, lookup: str) -> Record | None:
        row = (
            self._db.reader()
            .execute(
                f"SELECT {RECORD_COLUMNS} FROM records WHERE kind = ? AND lookup = ?",
                (kind, lookup),
            )
            .fetchone()
        )
        return None if row is None else _record(row)

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
        text = dumps(dict(data))
        try:
            with self._db.write() as conn:
                if expected_version is None:
                    conn.execute(
                        f"INSERT INTO records ({RECORD_COLUMNS}) VALUES (?, ?, ?, ?, 1, ?, ?)",
                        (tenant, kind, key, text, to_us(now), lookup),
                    )
                    version = 1
                else:
                    cursor = conn.execute(
                        "UPDATE records SET data = ?, version = version + 1, updated_at = ?, "
                        "lookup = ? WHERE tenant = ? AND kind = ? AND key = ? AND version = ?",
                        (text, to_us(now), lookup, tenant, kind, key, expected_version),
                    )
                    if cursor.rowcount != 1:
                        raise RecordConflict(
                            f"{kind} {key!r} is not at version {expected_version}: it was "
                            "changed or deleted since it was read"
                        )
                    version = expected_version + 1
                _bump_generation(conn, kind)
        except sqlite3.IntegrityError as exc:
            raise _taken(tenant, kind, key, lookup) from exc
        return Record(
            tenant=tenant,
            kind=kind,
            key=key,
            data=loads(text),
            version=version,
            updated_at=from_us(to_us(now)),
            lookup=lookup,
        )

    def delete_record(self, tenant: str, kind: str, key: str) -> bool:
        with self._db.write() as conn:
            cursor = conn.execute(
                "DELETE FROM records WHERE tenant = ? AND kind = ? AND key = ?",
                (tenant, kind, key),
            )
            deleted = cursor.rowcount > 0
            if deleted:
                _bump_generation(conn, kind)
        return deleted

    def list_records(
        self, tenant: str | None, kind: str, *, limit: int = 1000, offset: int = 0
    ) -> list[Record]:
        if tenant is None:
            sql = (
                f"SELECT {RECORD_COLUMNS} FROM records WHERE kind = ? "
                "ORDER BY key, tenant LIMIT ? OFFSET ?"
            )
            params: tuple[Any, ...] = (kind, limit, offset)
        else:
            sql = (
                f"SELECT {RECORD_COLUMNS} FROM records WHERE tenant = ? AND kind = ? "
                "ORDER BY key LIMIT ? OFFSET ?"
            )
            params = (tenant, kind, limit, offset)
        return [_record(row) for row in self._db.reader().execute(sql, params).fetchall()]

    def records_generation(self, kind: str) -> int:
        row = (
            self._db.reader()
            .execute("SELECT generation FROM record_generations WHERE kind = ?", (kind,))
            .fetchone()
        )
        return 0 if row is None else int(row[0])
