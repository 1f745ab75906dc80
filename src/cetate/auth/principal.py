"""Who is making a request, and what they may do.

A :class:`Principal` is built by :mod:`cetate.auth.tokens` (bearer tokens),
:mod:`cetate.auth.sessions` (console logins), or is one of the two constants
:data:`ANONYMOUS` (no credentials) and :data:`OPEN_ACCESS` (``cetate serve --open``).

The rules, per tenant:

========  ====================================================================
role      may
========  ====================================================================
viewer    read every entity type of the tenant
operator  what a viewer may, and write (create, update, delete entities)
admin     what an operator may, and administer (users, tokens, tenant settings)
========  ====================================================================

Anyone, even without credentials, may read the entity types a tenant marks public. A principal
with no role in a tenant gets nothing else there: tenant data never crosses tenants.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, get_args

from cetate.errors import Forbidden, Unauthenticated
from cetate.store.base import Role, Tenant

PrincipalKind = Literal["user", "token", "anonymous", "open"]

ROLES: Final[tuple[Role, ...]] = get_args(Role)
"""All roles, as spelled in :data:`cetate.store.base.Role`; :data:`ROLE_RANK` orders them."""

ROLE_RANK: Final[Mapping[Role, int]] = {"viewer": 1, "operator": 2, "admin": 3}
"""How roles compare: a role may do everything a lower-ranked one may."""


@dataclass(frozen=True, slots=True)
class Principal:
    kind: PrincipalKind
    name: str
    roles: Mapping[str, Role] = field(default_factory=dict)
    """tenant name → role (a token has exactly one)"""

    @property
    def is_authenticated(self) -> bool:
        """True for users, tokens and open mode; False for the anonymous principal."""
        return self.kind != "anonymous"

    def role_in(self, tenant: str) -> Role | None:
        """The role held in that tenant, or None. In open mode every tenant is ``admin``."""
        if self.kind == "open":
            return "admin"
        if self.kind == "anonymous":
            return None
        return self.roles.get(tenant)

    def _at_least(self, tenant: str, role: Role) -> bool:
        held = self.role_in(tenant)
        return held is not None and ROLE_RANK[held] >= ROLE_RANK[role]

    def can_read(self, tenant: Tenant, entity_types: Iterable[str] | None = None) -> bool:
        """Any role reads; anonymous reads only when every type asked for is public in that
        tenant (``entity_types`` None means "all types": anonymous may not). ``open`` may do
        everything.

        Public types are public to everyone, so a user or token without a role in this tenant
        reads them as anonymous would. An empty ``entity_types`` counts as "all types".
        """
        if self.role_in(tenant.name) is not None:
            return True
        if entity_types is None:
            return False
        asked = frozenset(entity_types)
        return bool(asked) and asked <= tenant.public_types

    def read_scope(self, tenant: Tenant) -> frozenset[str] | None:
        """The entity types this principal may read in ``tenant``: None means all of them, a set
        means only those (possibly none). Lets a query without a type filter be narrowed to the
        public types instead of refused."""
        if self.role_in(tenant.name) is not None:
            return None
        return tenant.public_types

    def can_write(self, tenant: str) -> bool:
        """operator and admin."""
        return self._at_least(tenant, "operator")

    def can_administer(self, tenant: str) -> bool:
        """admin only: users, tokens, tenant settings."""
        return self._at_least(tenant, "admin")

    def tenants(self) -> list[str]:
        """Names of the tenants where this principal holds a role, sorted (empty for anonymous
        and open: open mode has no list of its own, use the store's)."""
        if self.kind in ("anonymous", "open"):
            return []
        return sorted(self.roles)


ANONYMOUS: Final = Principal(kind="anonymous", name="anonymous")
"""A request without credentials: reads public types only."""

OPEN_ACCESS: Final = Principal(kind="open", name="open-access")
"""``cetate serve --open``: no authentication, everything allowed (loopback only)."""


def _deny(principal: Principal, what: str, tenant: str) -> None:
    if not principal.is_authenticated:
        raise Unauthenticated(f"{what} in tenant {tenant!r} needs credentials")
    raise Forbidden(f"{principal.name} may not {what} in tenant {tenant!r}")


def require_read(
    principal: Principal, tenant: Tenant, entity_types: Iterable[str] | None = None
) -> None:
    """Raise unless :meth:`Principal.can_read`: :class:`~cetate.errors.Unauthenticated` (401)
    for the anonymous principal, :class:`~cetate.errors.Forbidden` (403) otherwise."""
    if not principal.can_read(tenant, entity_types):
        _deny(principal, "read", tenant.name)


def require_write(principal: Principal, tenant: str) -> None:
    """Raise unless :meth:`Principal.can_write` (401 for anonymous, 403 otherwise)."""
    if not principal.can_write(tenant):
        _deny(principal, "write", tenant)


def require_admin(principal: Principal, tenant: str) -> None:
    """Raise unless :meth:`Principal.can_administer` (401 for anonymous, 403 otherwise)."""
    if not principal.can_administer(tenant):
        _deny(principal, "administer", tenant)
