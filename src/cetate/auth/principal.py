"""Who is making a request, and what they may do."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from cetate.store.base import Role, Tenant

PrincipalKind = Literal["user", "token", "anonymous", "open"]


@dataclass(frozen=True, slots=True)
class Principal:
    kind: PrincipalKind
    name: str
    roles: Mapping[str, Role] = field(default_factory=dict)
    """tenant name → role (a token has exactly one)"""

    def role_in(self, tenant: str) -> Role | None:
        raise NotImplementedError

    def can_read(self, tenant: Tenant, entity_types: Iterable[str] | None = None) -> bool:
        """Any role reads; anonymous reads only when every type asked for is public in that
        tenant (``entity_types`` None means "all types": anonymous may not). ``open`` may do
        everything."""
        raise NotImplementedError

    def can_write(self, tenant: str) -> bool:
        """operator and admin."""
        raise NotImplementedError

    def can_administer(self, tenant: str) -> bool:
        """admin only: users, tokens, tenant settings."""
        raise NotImplementedError
