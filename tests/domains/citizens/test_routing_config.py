"""Pure parts: point-in-area (holes, MultiPolygon, boundary), distance, the routing
precedence, SLA state, and the configuration of departments, SLA and duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cetate.domains.citizens.areas import AreaError, check_area, contains, distance_m
from cetate.domains.citizens.config import ConfigError, Sla, parse_config
from cetate.domains.citizens.routing import route
from cetate.domains.citizens.sla import sla_state
from tests.domains.citizens.conftest import CENTRE, desk_config

SQUARE_WITH_HOLE = {
    "type": "Polygon",
    "coordinates": [
        [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
        [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]],
    ],
}


def test_contains() -> None:
    area = check_area(SQUARE_WITH_HOLE)
    assert contains(area, 1, 1)
    assert not contains(area, 5, 5)  # in the hole
    assert not contains(area, 11, 5)
    assert contains(area, 0, 5)  # on the boundary
    multi = check_area(
        {
            "type": "MultiPolygon",
            "coordinates": [
                SQUARE_WITH_HOLE["coordinates"],
                [[[20, 20], [21, 20], [21, 21], [20, 20]]],
            ],
        }
    )
    assert contains(multi, 20.8, 20.5)
    assert not contains(multi, 20.2, 20.8)


@pytest.mark.parametrize(
    ("area", "message"),
    [
        ({"type": "Point", "coordinates": [0, 0]}, "not Polygon"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, "at least 4"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "end where"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [1, 1], [0, 0]]]}, "out of range"),
        ({"type": "Polygon", "coordinates": [[[0, "a"], [1, 0], [1, 1], [0, "a"]]]}, "longitude"),
        ("Polygon", "GeoJSON"),
    ],
)
def test_bad_areas(area: Any, message: str) -> None:
    with pytest.raises(AreaError, match=message):
        check_area(area)


def test_distance() -> None:
    # one degree of latitude is about 111.2 km
    assert distance_m(21.9, 47.0, 21.9, 48.0) == pytest.approx(111_195, rel=1e-3)
    assert distance_m(21.9, 47.0, 21.9, 47.0) == 0


def test_routing_precedence() -> None:
    departments = desk_config().departments
    assert route(departments, "pothole", 21.92, 47.07).department.id == "centre"  # type: ignore[union-attr]
    found = route(departments, "pothole", 21.95, 47.04)
    assert found is not None
    assert (found.department.id, found.routed_by) == ("roads", "category")
    found = route(departments, "graffiti", None, None)
    assert found is not None
    assert (found.department.id, found.routed_by) == ("general", "default")
    assert route(departments[:2], "graffiti", 21.95, 47.04) is None


def test_sla_state() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    sla = Sla(acknowledge_hours=2, resolve_hours=10)
    assert sla_state(sla, t0, "new", t0 + timedelta(hours=1))["overdue"] is False
    assert sla_state(sla, t0, "new", t0 + timedelta(hours=3))["overdue_for"] == ["acknowledge"]
    assert sla_state(sla, t0, "in_progress", t0 + timedelta(hours=11))["overdue_for"] == ["resolve"]
    assert sla_state(sla, t0, "closed", t0 + timedelta(hours=99))["overdue"] is False
    assert sla_state(None, t0, "new", t0 + timedelta(days=99))["overdue"] is False


def _with(**members: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "services": [{"service_code": "pothole", "service_name": "Pothole", "description": "x"}]
    }
    raw.update(members)
    return raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_with(departments={"id": "x"}), "list of departments"),
        (_with(departments=[{"id": "a b", "name": "A"}]), "id 'a b'"),
        (_with(departments=[{"id": "a", "name": "A"}, {"id": "a", "name": "B"}]), "repeat"),
        (_with(departments=[{"id": "a", "name": "A", "email": "nope"}]), "e-mail"),
        (_with(departments=[{"id": "a", "name": "A", "categories": ["litter"]}]), "'litter'"),
        (
            _with(departments=[{"id": "a", "name": "A", "area": {"type": "Polygon"}}]),
            r"departments\[0\].area",
        ),
        (_with(duplicates={"radius_m": -1}), "radius_m"),
        (_with(duplicates={"radius": 5}), "unknown"),
        (
            {
                "services": [
                    {
                        "service_code": "p",
                        "service_name": "P",
                        "description": "x",
                        "sla": {"acknowledge_hours": 5, "resolve_hours": 1},
                    }
                ]
            },
            "resolve_hours is less",
        ),
        (
            {
                "services": [
                    {
                        "service_code": "p",
                        "service_name": "P",
                        "description": "x",
                        "sla": {"acknowledge_hours": "1"},
                    }
                ]
            },
            "acknowledge_hours",
        ),
        (
            _with(
                tenants={"cluj": {"departments": [{"id": "a", "name": "A", "categories": ["x"]}]}}
            ),
            r"tenants.cluj.departments\[0\].categories",
        ),
    ],
)
def test_bad_desk_configuration(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(raw)


def test_tenant_departments_keep_the_shared_services() -> None:
    config = parse_config(
        _with(
            departments=[{"id": "all", "name": "All"}],
            tenants={"cluj": {"departments": [{"id": "c", "name": "C", "area": CENTRE}]}},
        )
    )
    assert [d.id for d in config.departments_for("oradea")] == ["all"]
    assert [d.id for d in config.departments_for("cluj")] == ["c"]
    assert [s.service_code for s in config.services_for("cluj")] == ["pothole"]
    assert config.duplicates.radius_m == 50
