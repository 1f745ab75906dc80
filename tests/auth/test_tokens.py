"""Bearer API tokens: issue, authenticate, revoke."""

from __future__ import annotations

import hashlib
import re

import pytest

from cetate.auth.tokens import (
    authenticate_token,
    issue_token,
    list_tokens,
    parse_token,
    revoke_token,
)
from cetate.auth.users import ensure_tenant
from cetate.errors import BadRequestData, NonexistentTenant, ResourceNotFound, Unauthenticated
from cetate.store.base import ContextStore, Tenant

REPORT = "https://cetate.example/ns/CitizenReport"
PARKING = "https://smartdatamodels.org/dataModel.Parking/OffStreetParking"
TOKEN_SHAPE = re.compile(r"cetate_[0-9a-f]{16}_[A-Za-z0-9]{40}")


# -- pure -----------------------------------------------------------------------------------


def test_parse_token() -> None:
    token = "cetate_0123456789abcdef_" + "A" * 40
    assert parse_token(token) == ("0123456789abcdef", "A" * 40)
    assert parse_token(f"Bearer {token}") == ("0123456789abcdef", "A" * 40)
    assert parse_token(f"bearer   {token} ") == ("0123456789abcdef", "A" * 40)


@pytest.mark.parametrize(
    "bearer",
    [
        "",
        "Bearer",
        "Bearer ",
        "cetate_",
        "cetate_0123456789abcdef_",
        "cetate_0123456789abcdef_" + "A" * 39,
        "cetate_0123456789abcdef_" + "A" * 41,
        "cetate_0123456789ABCDEF_" + "A" * 40,
        "cetate_0123456789abcdef_" + "A" * 39 + "-",
        "other_0123456789abcdef_" + "A" * 40,
        "Basic dXNlcjpwYXNz",
        "Bearer cetate_0123456789abcdef_" + "A" * 40 + " extra",
    ],
)
def test_parse_malformed(bearer: str) -> None:
    assert parse_token(bearer) is None


# -- with a store ----------------------------------------------------------------------------


@pytest.fixture
def tenants(store: ContextStore) -> tuple[Tenant, Tenant]:
    a = ensure_tenant(store, "city-a", "City A", public_types=[PARKING])
    b = ensure_tenant(store, "city-b", "City B", public_types=[PARKING])
    return a, b


def test_issue_and_authenticate(store: ContextStore, tenants: tuple[Tenant, Tenant]) -> None:
    a, _ = tenants
    record, secret = issue_token(store, "city-a", "operator", "  sensor gateway  ")
    assert TOKEN_SHAPE.fullmatch(secret)
    assert record.tenant == "city-a"
    assert record.role == "operator"
    assert record.label == "sensor gateway"
    assert not record.revoked
    assert secret.startswith(f"cetate_{record.token_id}_")

    principal = authenticate_token(store, secret)
    assert principal.kind == "token"
    assert principal.name == f"token:{record.token_id}"
    assert dict(principal.roles) == {"city-a": "operator"}
    assert principal.can_write("city-a")
    assert principal.can_read(a, [REPORT])
    assert not principal.can_administer("city-a")
    assert authenticate_token(store, f"Bearer {secret}") == principal


def test_only_a_hash_is_stored(store: ContextStore, tenants: tuple[Tenant, Tenant]) -> None:
    record, token = issue_token(store, "city-a", "viewer", "dashboard")
    secret_part = token.rsplit("_", 1)[1]
    assert record.token_hash == hashlib.sha256(secret_part.encode()).hexdigest()
    [stored] = list_tokens(store, "city-a")
    assert stored.token_id == record.token_id
    assert secret_part not in repr(stored)
    assert store.find_token(record.token_hash) == stored


def test_tokens_are_unique(store: ContextStore, tenants: tuple[Tenant, Tenant]) -> None:
    issued = [issue_token(store, "city-a", "viewer", f"t{i}") for i in range(5)]
    assert len({record.token_id for record, _ in issued}) == 5
    assert len({secret for _, secret in issued}) == 5
    for record, secret in issued:
        assert authenticate_token(store, secret).name == f"token:{record.token_id}"


def test_wrong_unknown_or_malformed_token(
    store: ContextStore, tenants: tuple[Tenant, Tenant]
) -> None:
    _, secret = issue_token(store, "city-a", "admin", "ops")
    token_id, good = secret.removeprefix("cetate_").split("_")
    flipped = ("B" if good[0] == "A" else "A") + good[1:]
    other_id = "f" * 16 if token_id != "f" * 16 else "e" * 16
    for bad in [
        f"cetate_{token_id}_{flipped}",  # wrong secret
        f"cetate_{other_id}_{good}",  # right secret, another token's id
        secret[:-1],  # truncated
        secret + "x",
        "",
        "garbage",
        f"Basic {secret}",
    ]:
        with pytest.raises(Unauthenticated) as err:
            authenticate_token(store, bad)
        assert err.value.detail == "invalid or revoked API token"
        assert err.value.status == 401


def test_revoked_token(store: ContextStore, tenants: tuple[Tenant, Tenant]) -> None:
    record, secret = issue_token(store, "city-a", "operator", "old gateway")
    keep, keep_secret = issue_token(store, "city-a", "operator", "new gateway")
    before = revoke_token(store, "city-a", record.token_id)
    assert before.token_id == record.token_id
    with pytest.raises(Unauthenticated, match="invalid or revoked"):
        authenticate_token(store, secret)
    assert authenticate_token(store, keep_secret).name == f"token:{keep.token_id}"
    revoked = {t.token_id: t.revoked for t in list_tokens(store, "city-a")}
    assert revoked == {record.token_id: True, keep.token_id: False}
    revoke_token(store, "city-a", record.token_id)  # idempotent
    with pytest.raises(Unauthenticated):
        authenticate_token(store, secret)


def test_token_of_tenant_a_used_on_tenant_b(
    store: ContextStore, tenants: tuple[Tenant, Tenant]
) -> None:
    _, b = tenants
    _, secret = issue_token(store, "city-a", "admin", "a admin")
    principal = authenticate_token(store, secret)
    assert principal.role_in("city-b") is None
    assert not principal.can_read(b)
    assert not principal.can_read(b, [REPORT])
    assert not principal.can_write("city-b")
    assert not principal.can_administer("city-b")
    assert principal.can_read(b, [PARKING])  # public to everyone


def test_tenant_a_cannot_revoke_or_list_tenant_b_tokens(
    store: ContextStore, tenants: tuple[Tenant, Tenant]
) -> None:
    record_b, secret_b = issue_token(store, "city-b", "viewer", "b dashboard")
    assert list_tokens(store, "city-a") == []
    with pytest.raises(ResourceNotFound):
        revoke_token(store, "city-a", record_b.token_id)
    assert authenticate_token(store, secret_b).role_in("city-b") == "viewer"
    with pytest.raises(ResourceNotFound):
        revoke_token(store, "city-b", "0" * 16)


def test_viewer_token_may_not_write(store: ContextStore, tenants: tuple[Tenant, Tenant]) -> None:
    _, secret = issue_token(store, "city-a", "viewer", "read only")
    principal = authenticate_token(store, secret)
    assert not principal.can_write("city-a")
    assert principal.can_read(tenants[0], [REPORT])


def test_issue_refuses_bad_input(store: ContextStore, tenants: tuple[Tenant, Tenant]) -> None:
    with pytest.raises(NonexistentTenant):
        issue_token(store, "nowhere", "viewer", "x")
    with pytest.raises(BadRequestData, match="unknown role"):
        issue_token(store, "city-a", "root", "x")  # type: ignore[arg-type]
    with pytest.raises(BadRequestData, match="label"):
        issue_token(store, "city-a", "viewer", "   ")
    with pytest.raises(BadRequestData, match="label"):
        issue_token(store, "city-a", "viewer", "x" * 201)
    assert list_tokens(store, "city-a") == []
