"""Tenants, users and roles."""

from __future__ import annotations

import pytest

from cetate.auth.passwords import verify_password
from cetate.auth.sessions import login
from cetate.auth.users import (
    check_role,
    create_user,
    ensure_admin,
    ensure_tenant,
    set_password,
    set_public_types,
    set_role,
)
from cetate.errors import (
    AlreadyExists,
    BadRequestData,
    NonexistentTenant,
    ResourceNotFound,
    Unauthenticated,
)
from cetate.store.base import ContextStore

PASSWORD = "a long enough password"
PARKING = "https://smartdatamodels.org/dataModel.Parking/OffStreetParking"


def test_ensure_tenant(store: ContextStore) -> None:
    created = ensure_tenant(store, "city", "City Hall", public_types=[PARKING])
    assert created.title == "City Hall"
    assert created.public_types == {PARKING}
    assert store.get_tenant("city") == created
    again = ensure_tenant(store, "city", "Another title")
    assert again == created  # existing tenants are left alone
    assert ensure_tenant(store, "town").title == "town"


@pytest.mark.parametrize("name", ["", "City", "a b", "-city", "city!", "x" * 64, "oraș"])
def test_bad_tenant_names(store: ContextStore, name: str) -> None:
    with pytest.raises(BadRequestData, match="tenant name"):
        ensure_tenant(store, name)


def test_set_public_types(store: ContextStore) -> None:
    ensure_tenant(store, "city")
    updated = set_public_types(store, "city", [PARKING])
    assert updated.public_types == {PARKING}
    assert store.get_tenant("city") == updated
    assert set_public_types(store, "city", []).public_types == frozenset()
    with pytest.raises(NonexistentTenant):
        set_public_types(store, "nowhere", [PARKING])


def test_create_user(store: ContextStore) -> None:
    ensure_tenant(store, "city")
    user = create_user(store, " Ana.Pop@Example.org ", PASSWORD, roles={"city": "operator"})
    assert user.username == "ana.pop@example.org"
    assert user.display_name == "ana.pop@example.org"
    assert dict(user.roles) == {"city": "operator"}
    assert verify_password(user.password_hash, PASSWORD)
    stored = store.get_user("ana.pop@example.org")
    assert stored is not None
    assert dict(stored.roles) == {"city": "operator"}
    assert PASSWORD not in repr(stored)


def test_create_user_refuses_bad_input(store: ContextStore) -> None:
    ensure_tenant(store, "city")
    create_user(store, "ana", PASSWORD, display_name="Ana Pop")
    with pytest.raises(AlreadyExists):
        create_user(store, "ANA", PASSWORD)
    with pytest.raises(BadRequestData, match="at least 10 characters"):
        create_user(store, "ion", "short")
    with pytest.raises(BadRequestData, match="invalid username"):
        create_user(store, "ion popescu", PASSWORD)
    with pytest.raises(BadRequestData, match="invalid username"):
        create_user(store, "token:x", PASSWORD)
    with pytest.raises(NonexistentTenant):
        create_user(store, "ion", PASSWORD, roles={"nowhere": "viewer"})
    with pytest.raises(BadRequestData, match="unknown role"):
        create_user(store, "ion", PASSWORD, roles={"city": "root"})  # type: ignore[dict-item]
    assert store.get_user("ion") is None


def test_set_role(store: ContextStore) -> None:
    ensure_tenant(store, "city")
    ensure_tenant(store, "town")
    create_user(store, "ana", PASSWORD, roles={"city": "viewer"})
    assert dict(set_role(store, "ana", "city", "admin").roles) == {"city": "admin"}
    assert dict(set_role(store, "Ana", "town", "viewer").roles) == {
        "city": "admin",
        "town": "viewer",
    }
    assert dict(set_role(store, "ana", "city", None).roles) == {"town": "viewer"}
    stored = store.get_user("ana")
    assert stored is not None
    assert dict(stored.roles) == {"town": "viewer"}
    assert verify_password(stored.password_hash, PASSWORD)
    with pytest.raises(ResourceNotFound):
        set_role(store, "nobody", "city", "viewer")
    with pytest.raises(NonexistentTenant):
        set_role(store, "ana", "nowhere", "viewer")
    with pytest.raises(BadRequestData):
        set_role(store, "ana", "city", "owner")  # type: ignore[arg-type]


def test_set_password(store: ContextStore) -> None:
    create_user(store, "ana", PASSWORD)
    set_password(store, "ana", "a brand new password")
    with pytest.raises(Unauthenticated):
        login(store, "ana", PASSWORD)
    assert login(store, "ana", "a brand new password").name == "ana"
    with pytest.raises(BadRequestData):
        set_password(store, "ana", "tiny")
    with pytest.raises(ResourceNotFound):
        set_password(store, "nobody", PASSWORD)


def test_ensure_admin_as_cetate_init_does(store: ContextStore) -> None:
    user = ensure_admin(store, "city", "admin", PASSWORD, display_name="Administrator")
    assert store.get_tenant("city") is not None
    assert dict(user.roles) == {"city": "admin"}
    assert user.display_name == "Administrator"
    # again, for another tenant: the existing user keeps their password and gains a role
    again = ensure_admin(store, "town", "admin", "some other password")
    assert dict(again.roles) == {"city": "admin", "town": "admin"}
    assert login(store, "admin", PASSWORD).can_administer("town")


def test_ensure_admin_with_a_bad_password_creates_nothing(store: ContextStore) -> None:
    with pytest.raises(BadRequestData):
        ensure_admin(store, "city", "admin", "short")
    assert store.get_tenant("city") is None
    assert store.get_user("admin") is None


def test_check_role() -> None:
    assert check_role("viewer") == "viewer"
    with pytest.raises(BadRequestData, match="admin, operator, viewer"):
        check_role("Viewer")
