"""Parsing the query parameters of the NGSI-LD API into store queries.

Every function raises :class:`~cetate.errors.InvalidRequest` (or BadRequestData for bad
values) naming the parameter, so a client always learns which one was wrong.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Final

from cetate.config import Settings
from cetate.errors import BadRequestData, CetateError, InvalidRequest, TooManyResults
from cetate.ngsi.geo import parse_geo_query
from cetate.ngsi.jsonld import LdContext
from cetate.ngsi.query_ast import QueryNode, TypeExpr, TypeName, TypeOr
from cetate.ngsi.query_language import map_attribute_names, parse_q
from cetate.ngsi.representation import Representation, is_uri
from cetate.ngsi.type_expr import map_type_names, parse_type_expr, type_names
from cetate.store.base import EntityQuery, GeoQuery

ENTITY_OPTIONS: Final = frozenset({"keyValues", "simplified", "concise", "normalized", "sysAttrs"})


def split_list(value: str | None) -> list[str]:
    if value is None:
        return []
    return [item.strip() for item in value.split(",") if item.strip()]


def parse_options(
    value: str | None, allowed: Iterable[str], parameter: str = "options"
) -> set[str]:
    options = set(split_list(value))
    allowed_set = set(allowed)
    unknown = options - allowed_set
    if unknown:
        raise InvalidRequest(
            f"unknown value(s) {', '.join(sorted(unknown))} in {parameter!r}: "
            f"allowed are {', '.join(sorted(allowed_set))}"
        )
    return options


def representation(options: set[str], format_: str | None) -> Representation:
    """``format=`` (v1.7+) wins over ``options=keyValues|concise``."""
    if format_ is not None:
        if format_ in ("keyValues", "simplified"):
            return "keyValues"
        if format_ in ("concise", "normalized"):
            return format_  # type: ignore[return-value]
        raise InvalidRequest(
            f"unknown format {format_!r}: use normalized, concise, keyValues or simplified"
        )
    simplified = bool(options & {"keyValues", "simplified"})
    if simplified and "concise" in options:
        raise InvalidRequest("options keyValues and concise exclude each other")
    if simplified:
        return "keyValues"
    if "concise" in options:
        return "concise"
    return "normalized"


def check_entity_id(value: str, parameter: str = "id") -> str:
    if not is_uri(value):
        raise BadRequestData(
            f"{parameter} {value!r} is not a URI: NGSI-LD entity ids are absolute URIs such "
            "as urn:ngsi-ld:WasteContainer:0001"
        )
    return value


def parse_ids(value: str | None) -> tuple[str, ...]:
    return tuple(check_entity_id(item, "id") for item in split_list(value))


def parse_id_pattern(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        re.compile(value)
    except re.error as exc:
        raise InvalidRequest(
            f"idPattern {value!r} is not a valid regular expression: {exc}"
        ) from None
    return value


def parse_attrs(
    value: str | None, context: LdContext, parameter: str = "attrs"
) -> frozenset[str] | None:
    names = split_list(value)
    if value is not None and not names:
        raise InvalidRequest(f"{parameter} is empty: give a comma-separated list of names")
    if not names:
        return None
    return frozenset(context.expand_term(name) for name in names)


def parse_types(value: str | None, context: LdContext) -> TypeExpr | None:
    if value is None:
        return None
    if not value.strip():
        raise InvalidRequest("type is empty: give a type name or a type expression")
    try:
        expr = parse_type_expr(value)
    except CetateError as exc:
        raise InvalidRequest(f"type: {exc.detail}") from None
    return map_type_names(expr, context.expand_term)


def expanded_type_names(expr: TypeExpr | None) -> set[str] | None:
    return None if expr is None else type_names(expr)


def restrict_types(expr: TypeExpr | None, readable: frozenset[str]) -> TypeExpr:
    """A type expression for a caller that may read only ``readable`` types (no type filter
    given): every readable type."""
    if expr is not None:
        return expr
    return TypeOr(tuple(TypeName(name) for name in sorted(readable)))


def parse_query(value: str | None, context: LdContext) -> QueryNode | None:
    if value is None:
        return None
    if not value.strip():
        raise InvalidRequest("q is empty: give a query such as q=temperature>20")
    try:
        node = parse_q(value)
    except CetateError as exc:
        raise InvalidRequest(f"q: {exc.detail}") from None
    return map_attribute_names(node, context.expand_term)


def parse_geo(
    georel: str | None,
    geometry: str | None,
    coordinates: str | None,
    geoproperty: str | None,
    context: LdContext,
) -> GeoQuery | None:
    given = {"georel": georel, "geometry": geometry, "coordinates": coordinates}
    if all(value is None for value in given.values()):
        if geoproperty is not None:
            raise InvalidRequest("geoproperty needs georel, geometry and coordinates")
        return None
    missing = [name for name, value in given.items() if value is None]
    if missing:
        raise InvalidRequest(
            f"a geo-query needs georel, geometry and coordinates together; missing: "
            f"{', '.join(missing)}"
        )
    assert georel is not None
    assert geometry is not None
    assert coordinates is not None
    query = parse_geo_query(georel, geometry, coordinates, geoproperty)
    return dataclasses.replace(query, geoproperty=context.expand_term(query.geoproperty))


def parse_limit(limit: int | None, count: bool, settings: Settings) -> int:
    if limit is None:
        return settings.default_limit
    if limit < 0:
        raise InvalidRequest(f"limit must be 0 or more, not {limit}")
    if limit == 0 and not count:
        raise BadRequestData("limit=0 is only allowed together with count=true")
    if limit > settings.max_limit:
        raise TooManyResults(
            f"limit {limit} exceeds the maximum page size {settings.max_limit}",
            maxLimit=settings.max_limit,
        )
    return limit


def parse_offset(offset: int | None) -> int:
    if offset is None:
        return 0
    if offset < 0:
        raise InvalidRequest(f"offset must be 0 or more, not {offset}")
    return offset


def parse_bool(value: str | None, parameter: str) -> bool:
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no", ""):
        return False
    raise InvalidRequest(f"{parameter} must be true or false, not {value!r}")


@dataclasses.dataclass(frozen=True, slots=True)
class EntitySelection:
    """The entity-selecting parameters shared by GET /entities and GET /temporal/entities."""

    type: str | None = None
    id: str | None = None
    id_pattern: str | None = None
    attrs: str | None = None
    q: str | None = None
    georel: str | None = None
    geometry: str | None = None
    coordinates: str | None = None
    geoproperty: str | None = None

    def to_query(
        self,
        context: LdContext,
        *,
        limit: int,
        offset: int,
        count: bool,
        readable_types: frozenset[str] | None = None,
    ) -> EntityQuery:
        types = parse_types(self.type, context)
        if readable_types is not None:
            types = restrict_types(types, readable_types)
        return EntityQuery(
            types=types,
            ids=parse_ids(self.id),
            id_pattern=parse_id_pattern(self.id_pattern),
            attrs=parse_attrs(self.attrs, context),
            q=parse_query(self.q, context),
            geo=parse_geo(self.georel, self.geometry, self.coordinates, self.geoproperty, context),
            limit=limit,
            offset=offset,
            count=count,
        )
