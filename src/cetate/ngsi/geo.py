"""GeoJSON validation and NGSI-LD geo-queries (§4.10), evaluated with shapely.

Distances are metres on the WGS84 ellipsoid (near queries); coordinates are [lon, lat].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cetate.store.base import GeoQuery

BBox = tuple[float, float, float, float]
"""(min_lon, min_lat, max_lon, max_lat)"""


def validate_geometry(value: Any) -> dict[str, Any]:
    """A valid GeoJSON geometry (Point, MultiPoint, LineString, MultiLineString, Polygon,
    MultiPolygon) as a plain dict, or :class:`cetate.errors.BadRequestData` saying what is
    wrong (unknown type, bad coordinates, lon/lat out of range, unclosed ring …)."""
    raise NotImplementedError


def parse_geo_query(
    georel: str, geometry: str, coordinates: str, geoproperty: str | None = None
) -> GeoQuery:
    """From the query parameters ``georel`` (``near;maxDistance==1000``, ``within`` …),
    ``geometry`` (Point …) and ``coordinates`` (JSON text). ``geoproperty`` is returned as
    given (the caller expands it); default ``location``. Raises InvalidRequest/BadRequestData."""
    raise NotImplementedError


def bounding_box(geometry: Mapping[str, Any]) -> BBox:
    raise NotImplementedError


def search_box(query: GeoQuery) -> BBox | None:
    """A box that contains every geometry that can match (for an R*Tree / GiST pre-filter),
    or None when no box bounds the answer (``disjoint``, ``near;minDistance`` only)."""
    raise NotImplementedError


def geo_matches(query: GeoQuery, geometry: Mapping[str, Any]) -> bool:
    """Exact test of one entity's geometry against the query."""
    raise NotImplementedError
