"""Creating tenants and users and giving users roles (``cetate init``, the console, tests)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from cetate.auth.passwords import check_password_policy, hash_password
from cetate.auth.principal import ROLES
from cetate.errors import AlreadyExists, BadRequestData, NonexistentTenant, ResourceNotFound
from cetate.store.base import ContextStore, Role, Tenant, User

USERNAME_RE: Final = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
TENANT_RE: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def normalise_username(username: str) -> str:
    """Usernames are case-insensitive: stored and looked up lower-cased and stripped."""
    return username.strip().lower()


def check_username(username: str) -> str:
    """The normalised username, or :class:`~cetate.errors.BadRequestData` when it is not
    1-64 of lowercase letters, digits, ``.``, ``_``, ``@``, ``-`` (starting with a letter or
    digit)."""
    name = normalise_username(username)
    if not USERNAME_RE.fullmatch(name):
        raise BadRequestData(
            f"invalid username {username!r}: use 1-64 lowercase letters, digits, '.', '_', '@' "
            "or '-', starting with a letter or digit"
        )
    return name


def check_tenant_name(name: str) -> str:
    """The tenant name unchanged, or :class:`~cetate.errors.BadRequestData` when it is not
    1-63 of lowercase letters, digits, ``-`` and ``_`` (starting with a letter or digit)."""
    if not TENANT_RE.fullmatch(name):
        raise BadRequestData(
            f"invalid tenant name {name!r}: use 1-63 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return name


def check_role(role: str) -> Role:
    """``role`` as a :data:`Role`, or :class:`~cetate.errors.BadRequestData`."""
    for known in ROLES:
        if role == known:
            return known
    raise BadRequestData(f"unknown role {role!r}: use one of {', '.join(ROLES)}")


def _require_tenant(store: ContextStore, tenant: str) -> Tenant:
    found = store.get_tenant(tenant)
    if found is None:
        raise NonexistentTenant(f"tenant {tenant!r} does not exist")
    return found


def _require_user(store: ContextStore, username: str) -> User:
    found = store.get_user(normalise_username(username))
    if found is None:
        raise ResourceNotFound(f"no user {normalise_username(username)!r}")
    return found


def ensure_tenant(
    store: ContextStore,
    name: str,
    title: str | None = None,
    public_types: Iterable[str] = (),
) -> Tenant:
    """The tenant ``name``, created (with ``title``, default the name, and ``public_types``)
    when it does not exist yet; an existing tenant is returned unchanged."""
    check_tenant_name(name)
    existing = store.get_tenant(name)
    if existing is not None:
        return existing
    tenant = Tenant(name=name, title=title or name, public_types=frozenset(public_types))
    store.put_tenant(tenant)
    return tenant


def set_public_types(store: ContextStore, tenant: str, public_types: Iterable[str]) -> Tenant:
    """Replace the set of (expanded) entity types anyone may read in ``tenant``."""
    current = _require_tenant(store, tenant)
    updated = Tenant(name=current.name, title=current.title, public_types=frozenset(public_types))
    store.put_tenant(updated)
    return updated


def create_user(
    store: ContextStore,
    username: str,
    password: str,
    *,
    display_name: str = "",
    roles: Mapping[str, Role] | None = None,
) -> User:
    """A new user with a password meeting the policy and roles in existing tenants.

    Raises :class:`~cetate.errors.AlreadyExists` when the username is taken,
    :class:`~cetate.errors.BadRequestData` for a bad username, password or role and
    :class:`~cetate.errors.NonexistentTenant` for a role in an unknown tenant."""
    name = check_username(username)
    checked_roles: dict[str, Role] = {}
    for tenant, role in (roles or {}).items():
        _require_tenant(store, tenant)
        checked_roles[tenant] = check_role(role)
    if store.get_user(name) is not None:
        raise AlreadyExists(f"user {name!r} already exists")
    user = User(
        username=name,
        password_hash=hash_password(password),
        display_name=display_name.strip() or name,
        roles=checked_roles,
    )
    store.put_user(user)
    return user


def set_role(store: ContextStore, username: str, tenant: str, role: Role | None) -> User:
    """Give a user ``role`` in ``tenant``, or (``role`` None) take away their access to it."""
    user = _require_user(store, username)
    _require_tenant(store, tenant)
    roles = dict(user.roles)
    if role is None:
        roles.pop(tenant, None)
    else:
        roles[tenant] = check_role(role)
    updated = User(
        username=user.username,
        password_hash=user.password_hash,
        display_name=user.display_name,
        roles=roles,
    )
    store.put_user(updated)
    return updated


def set_password(store: ContextStore, username: str, password: str) -> User:
    """Change a user's password (policy enforced)."""
    user = _require_user(store, username)
    updated = User(
        username=user.username,
        password_hash=hash_password(password),
        display_name=user.display_name,
        roles=dict(user.roles),
    )
    store.put_user(updated)
    return updated


def ensure_admin(
    store: ContextStore, tenant: str, username: str, password: str, display_name: str = ""
) -> User:
    """What ``cetate init`` does: the tenant exists (created if needed) and ``username`` is its
    admin. A new user gets ``password``; an existing user keeps theirs and is made admin."""
    name = check_username(username)
    is_new = store.get_user(name) is None
    if is_new:
        check_password_policy(password)  # before creating anything
    ensure_tenant(store, tenant)
    if is_new:
        return create_user(
            store, name, password, display_name=display_name, roles={tenant: "admin"}
        )
    return set_role(store, name, tenant, "admin")
