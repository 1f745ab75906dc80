"""Tenants, users, API tokens and settings in the PostgreSQL store.

Public types are a ``text[]``, a user's roles a JSONB object (tenant → role), token creation
times ``timestamptz``.
"""

from __future__ import annotations

from typing import Any, cast

from psycopg.types.json import Jsonb

from cetate.store.account_rows import (
    API_TOKEN_COLUMNS,
    TENANT_COLUMNS,
    USER_COLUMNS,
    tenant_from_row,
    token_from_row,
    user_from_row,
)
from cetate.store.base import ApiToken, Tenant, User
from cetate.store.postgres.connections import PostgresConnections


def _user(row: tuple[Any, ...]) -> User:
    return user_from_row(row, sorted(row[3].items()))


def _token(row: tuple[Any, ...]) -> ApiToken:
    return token_from_row(row, row[5])


class PostgresAccounts:
    """The tenants, users, tokens and settings methods of :class:`~.store.PostgresStore`."""

    _db: PostgresConnections

    def list_tenants(self) -> list[Tenant]:
        with self._db.connection() as conn:
            rows = conn.execute(f"SELECT {TENANT_COLUMNS} FROM tenants ORDER BY name").fetchall()
        return [tenant_from_row(row, row[2]) for row in rows]

    def get_tenant(self, name: str) -> Tenant | None:
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {TENANT_COLUMNS} FROM tenants WHERE name = %s", (name,)
            ).fetchone()
        return tenant_from_row(row, row[2]) if row else None

    def put_tenant(self, tenant: Tenant) -> None:
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO tenants (name, title, public_types) VALUES (%s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET title = EXCLUDED.title, "
                "public_types = EXCLUDED.public_types",
                (tenant.name, tenant.title, sorted(tenant.public_types)),
            )

    def get_user(self, username: str) -> User | None:
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {USER_COLUMNS}, roles FROM users WHERE username = %s",
                (username,),
            ).fetchone()
        return _user(row) if row else None

    def put_user(self, user: User) -> None:
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO users (username, password_hash, display_name, roles) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (username) DO UPDATE SET "
                "password_hash = EXCLUDED.password_hash, display_name = EXCLUDED.display_name, "
                "roles = EXCLUDED.roles",
                (user.username, user.password_hash, user.display_name, Jsonb(dict(user.roles))),
            )

    def list_users(self, tenant: str) -> list[User]:
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {USER_COLUMNS}, roles FROM users WHERE roles ? %s ORDER BY username",
                (tenant,),
            ).fetchall()
        return [_user(r) for r in rows]

    def put_token(self, token: ApiToken) -> None:
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO api_tokens (token_id, token_hash, tenant, role, label, created_at, "
                "revoked) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (token_id) DO UPDATE "
                "SET token_hash = EXCLUDED.token_hash, tenant = EXCLUDED.tenant, "
                "role = EXCLUDED.role, label = EXCLUDED.label, revoked = EXCLUDED.revoked",
                (
                    token.token_id,
                    token.token_hash,
                    token.tenant,
                    token.role,
                    token.label,
                    token.created_at,
                    token.revoked,
                ),
            )

    def find_token(self, token_hash: str) -> ApiToken | None:
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {API_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = %s",
                (token_hash,),
            ).fetchone()
        return _token(row) if row else None

    def list_tokens(self, tenant: str) -> list[ApiToken]:
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {API_TOKEN_COLUMNS} FROM api_tokens WHERE tenant = %s "
                "ORDER BY created_at, token_id",
                (tenant,),
            ).fetchall()
        return [_token(r) for r in rows]

    def revoke_token(self, token_id: str) -> None:
        with self._db.connection() as conn:
            conn.execute("UPDATE api_tokens SET revoked = true WHERE token_id = %s", (token_id,))

    def get_setting(self, key: str) -> str | None:
        with self._db.connection() as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = %s", (key,)).fetchone()
        return cast(str, row[0]) if row else None

    def put_setting(self, key: str, value: str) -> None:
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                (key, value),
            )
