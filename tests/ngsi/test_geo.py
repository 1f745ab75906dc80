"""GeoJSON validation, geo-query parsing, search boxes and exact geo matching."""

from __future__ import annotations

import math
from typing import Any

import pytest

from cetate.errors import BadRequestData, InvalidRequest
from cetate.ngsi.geo import (
    bounding_box,
    distance_m,
    geo_matches,
    parse_geo_query,
    search_box,
    validate_geometry,
)
from cetate.ngsi.model import LOCATION
from cetate.store.base import GeoQuery

# Piața Unirii, Cluj-Napoca, and a point due east of it.
UNIRII = [23.5899, 46.7701]
EAST = [23.6030, 46.7701]


def haversine(a: list[float], b: list[float]) -> float:
    """Reference great-circle distance on the mean-radius sphere, written independently."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def point(coords: list[float]) -> dict[str, Any]:
    return {"type": "Point", "coordinates": coords}


def square(lon: float, lat: float, size: float) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


# -- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "geometry",
    [
        point(UNIRII),
        point([23.5, 46.7, 350.0]),
        point([-180, -90]),
        point([180, 90]),
        {"type": "MultiPoint", "coordinates": [UNIRII, EAST]},
        {"type": "LineString", "coordinates": [UNIRII, EAST]},
        {"type": "MultiLineString", "coordinates": [[UNIRII, EAST], [[0, 0], [1, 1]]]},
        square(23.5, 46.7, 0.1),
        {
            "type": "Polygon",
            "coordinates": [
                square(0, 0, 10)["coordinates"][0],
                [[2, 2], [2, 4], [4, 4], [4, 2], [2, 2]],
            ],
        },
        {
            "type": "MultiPolygon",
            "coordinates": [square(0, 0, 1)["coordinates"], square(5, 5, 1)["coordinates"]],
        },
    ],
)
def test_valid_geometries(geometry: dict[str, Any]) -> None:
    assert validate_geometry(geometry) == geometry


def test_geometry_as_json_text() -> None:
    assert validate_geometry('{"type": "Point", "coordinates": [1, 2]}') == point([1, 2])


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ("not json", "GeoJSON object"),
        (42, "GeoJSON object"),
        ({"type": "Circle", "coordinates": [0, 0]}, "unsupported geometry type 'Circle'"),
        ({"type": "GeometryCollection", "geometries": []}, "unsupported geometry type"),
        ({"type": "Point"}, "needs 'coordinates'"),
        (point([23.5]), "a position must be"),
        (point([1, 2, 3, 4]), "a position must be"),
        (point(["23.5", 46.7]), "finite numbers"),
        (point([True, 46.7]), "finite numbers"),
        (point([float("nan"), 46.7]), "finite numbers"),
        (point([181, 46.7]), "longitude 181 is outside"),
        (point([-180.5, 46.7]), "longitude -180.5 is outside"),
        (point([46.7, 91]), "latitude 91 is outside"),
        (point([23.5, -90.01]), "were they swapped"),
        ({"type": "LineString", "coordinates": [UNIRII]}, "at least 2 positions"),
        ({"type": "MultiPoint", "coordinates": []}, "at least 1 positions"),
        ({"type": "MultiLineString", "coordinates": []}, "non-empty list of line strings"),
        ({"type": "Polygon", "coordinates": []}, "list of linear rings"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "closed"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, "at least 4"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]},
            "Self-intersection",
        ),
        ({"type": "MultiPolygon", "coordinates": []}, "non-empty list of polygons"),
        (
            {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0.5]]]]},
            "MultiPolygon coordinates[0][0]",
        ),
    ],
)
def test_invalid_geometries(geometry: Any, message: str) -> None:
    with pytest.raises(BadRequestData) as caught:
        validate_geometry(geometry)
    assert message in caught.value.detail


# -- parsing geo-query parameters ------------------------------------------------------


def test_parse_near_with_both_distances() -> None:
    query = parse_geo_query("near;minDistance==10;maxDistance==1000", "Point", "[23.5899,46.7701]")
    assert query == GeoQuery(
        georel="near",
        geometry=point(UNIRII),
        geoproperty=LOCATION,
        max_distance=1000.0,
        min_distance=10.0,
    )


@pytest.mark.parametrize(
    "georel", ["within", "contains", "intersects", "disjoint", "equals", "overlaps"]
)
def test_parse_every_topological_georel(georel: str) -> None:
    query = parse_geo_query(georel, "Polygon", "[[[0,0],[1,0],[1,1],[0,1],[0,0]]]", "ex:area")
    assert query.georel == georel
    assert query.geometry == square(0, 0, 1)
    assert query.geoproperty == "ex:area"
    assert query.max_distance is None


def test_parse_geometry_name_case_insensitive() -> None:
    assert parse_geo_query("intersects", "point", "[1,2]").geometry == point([1, 2])


@pytest.mark.parametrize(
    ("georel", "geometry", "coordinates", "error", "message"),
    [
        ("nearby", "Point", "[1,2]", InvalidRequest, "invalid georel 'nearby'"),
        ("", "Point", "[1,2]", InvalidRequest, "invalid georel"),
        ("near", "Point", "[1,2]", InvalidRequest, "needs a distance"),
        ("near;maxDistance=1000", "Point", "[1,2]", InvalidRequest, "modifier"),
        ("near;radius==1000", "Point", "[1,2]", InvalidRequest, "modifier"),
        ("near;maxDistance==far", "Point", "[1,2]", InvalidRequest, "number of metres"),
        ("near;maxDistance==-5", "Point", "[1,2]", InvalidRequest, "non-negative"),
        ("near;maxDistance==1;maxDistance==2", "Point", "[1,2]", InvalidRequest, "twice"),
        ("near;minDistance==10;maxDistance==5", "Point", "[1,2]", InvalidRequest, "exceeds"),
        ("within;maxDistance==5", "Point", "[1,2]", InvalidRequest, "only near"),
        ("within", "Circle", "[1,2]", InvalidRequest, "invalid geometry 'Circle'"),
        ("within", "Point", "1,2", InvalidRequest, "JSON array"),
        ("within", "Point", "[1,2", InvalidRequest, "JSON array"),
        ("within", "Point", "[200,2]", BadRequestData, "longitude 200"),
        ("within", "Polygon", "[[[0,0],[1,0],[1,1]]]", BadRequestData, "at least 4"),
    ],
)
def test_parse_errors(
    georel: str, geometry: str, coordinates: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        parse_geo_query(georel, geometry, coordinates)
    assert message in str(caught.value)


# -- boxes -----------------------------------------------------------------------------


def test_bounding_box() -> None:
    assert bounding_box(point(UNIRII)) == (23.5899, 46.7701, 23.5899, 46.7701)
    assert bounding_box(square(1, 2, 3)) == (1, 2, 4, 5)
    multi = {"type": "MultiLineString", "coordinates": [[[0, 5], [2, -1]], [[-3, 0], [1, 1]]]}
    assert bounding_box(multi) == (-3, -1, 2, 5)


def test_search_box_for_topological_relations_is_the_query_box() -> None:
    for georel in ("within", "contains", "intersects", "equals", "overlaps"):
        box = search_box(GeoQuery(georel, square(1, 2, 3)))  # type: ignore[arg-type]
        assert box is not None
        assert box[0] <= 1
        assert box[1] <= 2
        assert box[2] >= 4
        assert box[3] >= 5
        assert box[0] > 0.999
        assert box[3] < 5.001


def test_search_box_none_when_unbounded() -> None:
    assert search_box(GeoQuery("disjoint", point(UNIRII))) is None
    assert search_box(GeoQuery("near", point(UNIRII), min_distance=10)) is None


def test_near_search_box_holds_every_point_at_max_distance() -> None:
    distance = 1000.0
    box = search_box(GeoQuery("near", point(UNIRII), max_distance=distance))
    assert box is not None
    lon0, lat0 = UNIRII
    # points on the 1000 m circle in 72 directions (destination formula on the sphere)
    for bearing in range(0, 360, 5):
        angle = distance / 6_371_008.8
        lat1, lon1, theta = math.radians(lat0), math.radians(lon0), math.radians(bearing)
        lat2 = math.asin(
            math.sin(lat1) * math.cos(angle) + math.cos(lat1) * math.sin(angle) * math.cos(theta)
        )
        lon2 = lon1 + math.atan2(
            math.sin(theta) * math.sin(angle) * math.cos(lat1),
            math.cos(angle) - math.sin(lat1) * math.sin(lat2),
        )
        lon, lat = math.degrees(lon2), math.degrees(lat2)
        assert box[0] <= lon <= box[2]
        assert box[1] <= lat <= box[3]
    # and the box is not absurdly large (about 2 km by 2 km)
    assert (box[3] - box[1]) * 111_195 < 2_050
    assert (box[2] - box[0]) * 111_195 * math.cos(math.radians(lat0)) < 2_050


def test_near_search_box_near_the_pole_and_antimeridian() -> None:
    polar = search_box(GeoQuery("near", point([10, 89.99]), max_distance=5000))
    assert polar is not None
    assert (polar[0], polar[2], polar[3]) == (-180, 180, 90)
    dateline = search_box(GeoQuery("near", point([179.999, 0]), max_distance=5000))
    assert dateline is not None
    assert (dateline[0], dateline[2]) == (-180, 180)
    huge = search_box(GeoQuery("near", point([0, 0]), max_distance=2.1e7))
    assert huge == (-180.0, -90.0, 180.0, 90.0)


# -- exact matching --------------------------------------------------------------------


def test_distance_between_points_is_haversine() -> None:
    expected = haversine(UNIRII, EAST)
    assert 990 < expected < 1010  # about one kilometre across Cluj
    assert distance_m(point(EAST), point(UNIRII)) == pytest.approx(expected, rel=1e-9)
    far = [26.1025, 44.4268]  # Bucharest
    assert distance_m(point(far), point(UNIRII)) == pytest.approx(haversine(UNIRII, far), rel=1e-9)


@pytest.mark.parametrize(
    ("georel", "expected"),
    [
        ("near;maxDistance==1100", True),
        ("near;maxDistance==900", False),
        ("near;minDistance==900", True),
        ("near;minDistance==1100", False),
        ("near;minDistance==900;maxDistance==1100", True),
        ("near;minDistance==500;maxDistance==900", False),
    ],
)
def test_near_points_one_kilometre_apart(georel: str, expected: bool) -> None:
    query = parse_geo_query(georel, "Point", "[23.5899,46.7701]")
    assert geo_matches(query, point(EAST)) is expected


def test_near_the_same_point() -> None:
    query = GeoQuery("near", point(UNIRII), max_distance=0)
    assert geo_matches(query, point(UNIRII))
    assert not geo_matches(GeoQuery("near", point(UNIRII), min_distance=1), point(UNIRII))


def test_near_a_line_measures_to_the_closest_point() -> None:
    # a north-south street 1 km east of the query point, crossing its latitude
    street = {
        "type": "LineString",
        "coordinates": [[EAST[0], EAST[1] - 0.01], [EAST[0], EAST[1] + 0.01]],
    }
    expected = haversine(UNIRII, EAST)
    assert distance_m(street, point(UNIRII)) == pytest.approx(expected, rel=1e-3)
    assert geo_matches(GeoQuery("near", point(UNIRII), max_distance=1100), street)
    assert not geo_matches(GeoQuery("near", point(UNIRII), max_distance=950), street)


def test_near_a_polygon_containing_the_point_is_zero() -> None:
    area = square(23.5, 46.7, 0.2)
    assert distance_m(area, point(UNIRII)) == 0
    assert geo_matches(GeoQuery("near", point(UNIRII), max_distance=1), area)


BIG = square(0, 0, 10)


@pytest.mark.parametrize(
    ("georel", "entity", "expected"),
    [
        ("within", point([5, 5]), True),
        ("within", point([15, 5]), False),
        ("within", point([0, 5]), False),  # on the boundary: not within (OGC)
        ("within", square(1, 1, 2), True),
        ("within", square(8, 8, 4), False),
        ("contains", point([5, 5]), False),
        ("intersects", point([5, 5]), True),
        ("intersects", point([0, 5]), True),
        ("intersects", square(8, 8, 4), True),
        ("intersects", square(20, 20, 1), False),
        ("disjoint", square(20, 20, 1), True),
        ("disjoint", square(8, 8, 4), False),
        ("equals", square(0, 0, 10), True),
        (
            "equals",
            {"type": "Polygon", "coordinates": [[[10, 0], [10, 10], [0, 10], [0, 0], [10, 0]]]},
            True,
        ),
        ("equals", square(0, 0, 9), False),
        ("overlaps", square(8, 8, 4), True),
        ("overlaps", square(1, 1, 2), False),
        ("overlaps", square(20, 20, 1), False),
    ],
)
def test_topological_relations(georel: str, entity: dict[str, Any], expected: bool) -> None:
    query = GeoQuery(georel, BIG)  # type: ignore[arg-type]
    assert geo_matches(query, entity) is expected


def test_contains_point_query() -> None:
    query = GeoQuery("contains", point([5, 5]))
    assert geo_matches(query, BIG)
    assert not geo_matches(query, square(20, 20, 1))


def test_line_intersects_polygon() -> None:
    line = {"type": "LineString", "coordinates": [[-5, 5], [5, 5]]}
    assert geo_matches(GeoQuery("intersects", BIG), line)
    assert geo_matches(GeoQuery("overlaps", BIG), line) is False  # different dimensions


def test_unusable_entity_geometry_never_matches() -> None:
    query = GeoQuery("intersects", BIG)
    assert not geo_matches(query, {"type": "Nonsense"})
    assert not geo_matches(query, {"type": "MultiPoint", "coordinates": []})


@pytest.mark.parametrize(("lon", "lat0", "lat1"), [(23.9, 46.5, 47.0), (24.3, 46.0, 47.5)])
def test_distance_to_a_far_meridian_segment_matches_sampled_great_circle(
    lon: float, lat0: float, lat1: float
) -> None:
    line = {"type": "LineString", "coordinates": [[lon, lat0], [lon, lat1]]}
    steps = 5000
    sampled = min(
        haversine([23.59, 46.77], [lon, lat0 + (lat1 - lat0) * i / steps]) for i in range(steps + 1)
    )
    assert distance_m(line, point([23.59, 46.77])) == pytest.approx(sampled, rel=1e-4)
