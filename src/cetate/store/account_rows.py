"""Rows of the tenants, users and API tokens tables as the dataclasses of :mod:`.base`.

Both backends select the same columns in the same order; only how a column is stored differs
(JSON text or arrays, ISO text or ``timestamptz``), so the caller converts those values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final, cast

from cetate.store.base import ApiToken, Role, Tenant, User

TENANT_COLUMNS: Final = "name, title, public_types"
USER_COLUMNS: Final = "username, password_hash, display_name"
API_TOKEN_COLUMNS: Final = ", ".join(
    ("token_id", "token_hash", "tenant", "role", "label", "created_at", "revoked")
)


def tenant_from_row(row: Sequence[Any], public_types: Iterable[str]) -> Tenant:
    """A row of :data:`TENANT_COLUMNS`, with its public types decoded by the caller."""
    return Tenant(name=row[0], title=row[1], public_types=frozenset(public_types))


def user_from_row(row: Sequence[Any], roles: Iterable[tuple[str, str]]) -> User:
    """A row starting with :data:`USER_COLUMNS`, with its (tenant, role) pairs in order."""
    return User(
        username=row[0],
        password_hash=row[1],
        display_name=row[2],
        roles={tenant: cast(Role, role) for tenant, role in roles},
    )


def token_from_row(row: Sequence[Any], created_at: datetime) -> ApiToken:
    """A row of :data:`API_TOKEN_COLUMNS`, with its creation time decoded by the caller."""
    return ApiToken(
        token_id=row[0],
        token_hash=row[1],
        tenant=row[2],
        role=row[3],
        label=row[4],
        created_at=created_at,
        revoked=bool(row[6]),
    )
