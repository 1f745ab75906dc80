"""Tenants, users, API tokens and settings in the SQLite store.

Public types are JSON text, token creation times ISO text, and a user's roles rows of
``user_roles``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from cetate.ngsi.timestamps import parse_datetime
from cetate.store.account_rows import (
    API_TOKEN_COLUMNS,
    TENANT_COLUMNS,
    USER_COLUMNS,
    tenant_from_row,
    token_from_row,
    user_from_row,
)
from cetate.store.base import ApiToken, Tenant, User
from cetate.store.sql_common import dumps, iso, loads
from cetate.store.sqlite.connections import SQLiteConnections


def _tenant(row: Sequence[Any]) -> Tenant:
    return tenant_from_row(row, loads(row[2]))


def _user(conn: sqlite3.Connection, row: Sequence[Any]) -> User:
    roles = conn.execute(
        "SELECT tenant, role FROM user_roles WHERE username = ? ORDER BY tenant", (row[0],)
    ).fetchall()
    return user_from_row(row, roles)


def _token(row: Sequence[Any]) -> ApiToken:
    return token_from_row(row, parse_datetime(row[5]))


class SQLiteAccounts:
    """The tenants, users, tokens and settings methods of :class:`~.store.SQLiteStore`."""

    _db: SQLiteConnections

    def list_tenants(self) -> list[Tenant]:
        rows = (
            self._db.reader()
            .execute(f"SELECT {TENANT_COLUMNS} FROM tenants ORDER BY name")
            .fetchall()
        )
        return [_tenant(row) for row in rows]

    def get_tenant(self, name: str) -> Tenant | None:
        row = (
            self._db.reader()
            .execute(f"SELECT {TENANT_COLUMNS} FROM tenants WHERE name = ?", (name,))
            .fetchone()
        )
        return None if row is None else _tenant(row)

    def put_tenant(self, tenant: Tenant) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO tenants (name, title, public_types) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET title = excluded.title, "
                "public_types = excluded.public_types",
                (tenant.name, tenant.title, dumps(sorted(tenant.public_types))),
            )

    def get_user(self, username: str) -> User | None:
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT {USER_COLUMNS} FROM users WHERE username = ?", (username,)
            ).fetchone()
            if row is None:
                return None
            return _user(conn, row)

    def put_user(self, user: User) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO users (username, password_hash, display_name) VALUES (?, ?, ?) "
                "ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, "
                "display_name = excluded.display_name",
                (user.username, user.password_hash, user.display_name),
            )
            conn.execute("DELETE FROM user_roles WHERE username = ?", (user.username,))
            conn.executemany(
                "INSERT INTO user_roles (username, tenant, role) VALUES (?, ?, ?)",
                [(user.username, tenant, role) for tenant, role in user.roles.items()],
            )

    def list_users(self, tenant: str) -> list[User]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT u.username, u.password_hash, u.display_name FROM users u "
                "JOIN user_roles r ON r.username = u.username WHERE r.tenant = ? "
                "ORDER BY u.username",
                (tenant,),
            ).fetchall()
            return [_user(conn, row) for row in rows]

    def put_token(self, token: ApiToken) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO api_tokens (token_id, token_hash, tenant, role, label, created_at, "
                "revoked) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (token_id) DO UPDATE SET "
                "token_hash = excluded.token_hash, tenant = excluded.tenant, "
                "role = excluded.role, label = excluded.label, "
                "created_at = excluded.created_at, revoked = excluded.revoked",
                (
                    token.token_id,
                    token.token_hash,
                    token.tenant,
                    token.role,
                    token.label,
                    iso(token.created_at),
                    int(token.revoked),
                ),
            )

    def find_token(self, token_hash: str) -> ApiToken | None:
        row = (
            self._db.reader()
            .execute(
                f"SELECT {API_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?", (token_hash,)
            )
            .fetchone()
        )
        return None if row is None else _token(row)

    def list_tokens(self, tenant: str) -> list[ApiToken]:
        rows = (
            self._db.reader()
            .execute(
                f"SELECT {API_TOKEN_COLUMNS} FROM api_tokens WHERE tenant = ? "
                "ORDER BY created_at, token_id",
                (tenant,),
            )
            .fetchall()
        )
        return [_token(row) for row in rows]

    def revoke_token(self, token_id: str) -> None:
        with self._db.write() as conn:
            conn.execute("UPDATE api_tokens SET revoked = 1 WHERE token_id = ?", (token_id,))

    def get_setting(self, key: str) -> str | None:
        row = (
            self._db.reader().execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        )
        return None if row is None else str(row[0])

    def put_setting(self, key: str, value: str) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
