"""Principal: who may read, write and administer what, per tenant."""

from __future__ import annotations

import pytest

from cetate.auth.principal import (
    ANONYMOUS,
    OPEN_ACCESS,
    Principal,
    require_admin,
    require_read,
    require_write,
)
from cetate.errors import Forbidden, Unauthenticated
from cetate.store.base import Tenant

PARKING = "https://smartdatamodels.org/dataModel.Parking/OffStreetParking"
AIR = "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved"
REPORT = "https://cetate.example/ns/CitizenReport"

CITY = Tenant(name="city", title="City", public_types=frozenset({PARKING, AIR}))
OTHER = Tenant(name="other", title="Other", public_types=frozenset({PARKING}))
CLOSED = Tenant(name="closed", title="Closed")

ADMIN = Principal(kind="user", name="ana", roles={"city": "admin"})
OPERATOR = Principal(kind="user", name="ion", roles={"city": "operator", "other": "viewer"})
VIEWER = Principal(kind="user", name="vio", roles={"city": "viewer"})
TOKEN = Principal(kind="token", name="token:0123456789abcdef", roles={"city": "operator"})


def test_role_in() -> None:
    assert ADMIN.role_in("city") == "admin"
    assert OPERATOR.role_in("other") == "viewer"
    assert ADMIN.role_in("other") is None
    assert TOKEN.role_in("city") == "operator"
    assert ANONYMOUS.role_in("city") is None
    assert OPEN_ACCESS.role_in("city") == "admin"
    assert OPEN_ACCESS.role_in("anything") == "admin"


def test_anonymous_principal_has_no_roles_even_if_given_some() -> None:
    sneaky = Principal(kind="anonymous", name="x", roles={"city": "admin"})
    assert sneaky.role_in("city") is None
    assert not sneaky.can_write("city")
    assert not sneaky.can_read(CITY, [REPORT])


@pytest.mark.parametrize("principal", [ADMIN, OPERATOR, VIEWER, TOKEN, OPEN_ACCESS])
def test_every_role_reads_everything_in_its_tenant(principal: Principal) -> None:
    assert principal.can_read(CITY)
    assert principal.can_read(CITY, [REPORT])
    assert principal.can_read(CITY, [PARKING, REPORT])
    assert principal.read_scope(CITY) is None


def test_anonymous_reads_public_types_only() -> None:
    assert ANONYMOUS.can_read(CITY, [PARKING])
    assert ANONYMOUS.can_read(CITY, [PARKING, AIR])
    assert ANONYMOUS.can_read(CITY, iter([AIR]))


def test_anonymous_reading_a_non_public_type() -> None:
    assert not ANONYMOUS.can_read(CITY, [REPORT])
    assert not ANONYMOUS.can_read(CITY, [PARKING, REPORT])
    assert not ANONYMOUS.can_read(CLOSED, [PARKING])


def test_anonymous_may_not_read_all_types() -> None:
    assert not ANONYMOUS.can_read(CITY)
    assert not ANONYMOUS.can_read(CITY, None)
    assert not ANONYMOUS.can_read(CITY, [])


def test_read_scope_narrows_to_public_types() -> None:
    assert ANONYMOUS.read_scope(CITY) == frozenset({PARKING, AIR})
    assert ANONYMOUS.read_scope(CLOSED) == frozenset()
    assert ADMIN.read_scope(OTHER) == frozenset({PARKING})


def test_a_tenant_never_sees_another_tenants_private_data() -> None:
    # ana is admin of city only: in other, she is no more than anonymous
    assert not ADMIN.can_read(OTHER)
    assert not ADMIN.can_read(OTHER, [REPORT])
    assert not ADMIN.can_write("other")
    assert not ADMIN.can_administer("other")
    # ...and public types are public to everyone
    assert ADMIN.can_read(OTHER, [PARKING])


@pytest.mark.parametrize(
    ("principal", "write", "administer"),
    [
        (ADMIN, True, True),
        (OPERATOR, True, False),
        (VIEWER, False, False),
        (TOKEN, True, False),
        (ANONYMOUS, False, False),
        (OPEN_ACCESS, True, True),
    ],
)
def test_write_and_administer(principal: Principal, write: bool, administer: bool) -> None:
    assert principal.can_write("city") is write
    assert principal.can_administer("city") is administer


def test_viewer_writing() -> None:
    assert not VIEWER.can_write("city")
    assert not OPERATOR.can_write("other")  # viewer there
    with pytest.raises(Forbidden) as err:
        require_write(VIEWER, "city")
    assert err.value.status == 403
    assert "vio" in err.value.detail


def test_require_read_anonymous_is_unauthenticated() -> None:
    require_read(ANONYMOUS, CITY, [PARKING])
    with pytest.raises(Unauthenticated) as err:
        require_read(ANONYMOUS, CITY, [REPORT])
    assert err.value.status == 401
    with pytest.raises(Unauthenticated):
        require_write(ANONYMOUS, "city")
    with pytest.raises(Unauthenticated):
        require_admin(ANONYMOUS, "city")


def test_require_for_authenticated_principals_is_forbidden() -> None:
    require_read(VIEWER, CITY)
    require_write(OPERATOR, "city")
    require_admin(ADMIN, "city")
    with pytest.raises(Forbidden):
        require_read(VIEWER, OTHER, [REPORT])
    with pytest.raises(Forbidden):
        require_admin(OPERATOR, "city")
    with pytest.raises(Forbidden):
        require_write(TOKEN, "other")


def test_open_access_may_do_everything() -> None:
    assert OPEN_ACCESS.is_authenticated
    assert OPEN_ACCESS.can_read(CLOSED)
    require_admin(OPEN_ACCESS, "closed")


def test_tenants_and_is_authenticated() -> None:
    assert OPERATOR.tenants() == ["city", "other"]
    assert ANONYMOUS.tenants() == []
    assert not ANONYMOUS.is_authenticated
    assert VIEWER.is_authenticated
