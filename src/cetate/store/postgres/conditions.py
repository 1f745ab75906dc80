"""Entity conditions as PostgreSQL SQL: type expressions on the ``types`` array, ``q`` over
the JSONB documents, geo-queries as PostGIS predicates on ``entity_geometries``.

``q`` has the semantics of the SQLite backend; what SQL cannot decide exactly (sub-attributes,
members, regular expressions, booleans) is pre-filtered in SQL and decided by
:func:`cetate.ngsi.query_language.evaluate_q`. Typed date-time, date and time values compare
through their temporal key, computed in SQL by ``cetate_q_temporal`` (migration 0003).
Topological relations are planar on lon/lat like :mod:`cetate.ngsi.geo`; ``near`` distances
are metres on PostGIS's mean-radius sphere (``use_spheroid => false``), the sphere
:mod:`cetate.ngsi.geo` uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, LiteralString, cast

from psycopg import sql

from cetate.errors import InvalidRequest
from cetate.ngsi.model import ENTITY_KEYWORDS
from cetate.ngsi.query_ast import (
    And,
    Exists,
    Or,
    QueryNode,
    TypeAnd,
    TypeExpr,
    TypeName,
    TypeOr,
    ValueList,
    ValueRange,
)
from cetate.store.base import GeoQuery
from cetate.store.q_compilation import comparison_kind, compile_boolean, temporal_conditions
from cetate.store.sql_common import dumps


@dataclass
class Where:
    """A conjunction of SQL conditions with their parameters."""

    parts: list[sql.Composable] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, part: sql.Composable, *params: Any) -> None:
        self.parts.append(part)
        self.params.extend(params)

    def sql(self) -> sql.Composable:
        if not self.parts:
            return sql.SQL("TRUE")
        return sql.SQL(" AND ").join(sql.SQL("({})").format(p) for p in self.parts)


def type_sql(expr: TypeExpr, params: list[Any]) -> sql.Composable:
    if isinstance(expr, TypeName):
        params.append([expr.name])
        return sql.SQL("e.types @> %s::text[]")
    if isinstance(expr, TypeOr) and all(isinstance(i, TypeName) for i in expr.items):
        params.append([cast(TypeName, i).name for i in expr.items])
        return sql.SQL("e.types && %s::text[]")
    joiner = " AND " if isinstance(expr, TypeAnd) else " OR "
    inner = [sql.SQL("({})").format(type_sql(i, params)) for i in expr.items]
    if not inner:
        return sql.SQL("TRUE") if isinstance(expr, TypeAnd) else sql.SQL("FALSE")
    return sql.SQL(joiner).join(inner)


_INSTANCES: Final = (
    "SELECT 1 FROM jsonb_path_query(e.doc -> %s, 'lax $[*]') AS i WHERE jsonb_typeof(i) = 'object'"
)
"""the instances of one attribute (a list, or a lone instance object) as rows ``i``"""

_SCALAR: Final = (
    "(CASE i ->> 'type' WHEN 'Property' THEN i -> 'value' "
    "WHEN 'Relationship' THEN i -> 'object' WHEN 'VocabProperty' THEN i -> 'vocab' END)"
)
"""the comparable value of instance ``i`` (see :func:`cetate.store.sql_common.scalar_value`)"""


_TEMPORAL: Final = "cetate_q_temporal(CASE WHEN i ->> 'type' = 'Property' THEN i -> 'value' END)"
"""the temporal key of instance ``i`` when its value is a typed date-time, date or time (NULL
otherwise; see migration 0003 and :func:`cetate.ngsi.query_language.temporal_key`)"""
_TEMPORAL_KEY: Final = "(" + _TEMPORAL + ' COLLATE "C")'


def _has_attribute(attr: str, params: list[Any]) -> sql.Composable:
    params.append(attr)
    return sql.SQL("EXISTS (" + _INSTANCES + ")")


def _join(operator: LiteralString, conditions: list[sql.Composable]) -> sql.Composable:
    return sql.SQL(operator).join(sql.SQL("({})").format(c) for c in conditions)


def q_sql(node: QueryNode, params: list[Any]) -> tuple[sql.Composable | None, bool]:
    """(SQL condition or None, exact) for a ``q`` tree, with the semantics of the SQLite
    backend: a comparison holds when some instance's scalar value (string or number, never
    bool) of the same kind as the literal satisfies it; ``!=`` also holds for instances with no
    comparable value. Exact means the SQL alone decides; otherwise the SQL (when given) keeps
    every match and :func:`cetate.ngsi.query_language.evaluate_q` decides the rest."""
    if isinstance(node, And | Or):
        return compile_boolean(node, params, q_sql, _join)
    attr = node.path.attr
    if attr in ENTITY_KEYWORDS:
        return None, False
    if isinstance(node, Exists):
        if node.path.sub or node.path.member:
            return _has_attribute(attr, params), False
        return _has_attribute(attr, params), True
    kind = comparison_kind(node)
    if kind is None:
        if node.path.sub or node.path.member or node.op not in ("!=", "!~="):
            return _has_attribute(attr, params), False
        return None, False
    if node.op in ("~=", "!~="):
        # PostgreSQL's regular expressions are not Python's: the evaluator decides
        return _has_attribute(attr, params), False
    if kind == "number":
        same_kind = "jsonb_typeof(" + _SCALAR + ") = 'number'"
        scalar = "(" + _SCALAR + ")::float8"
    else:
        same_kind = "jsonb_typeof(" + _SCALAR + ") = 'string'"
        scalar = "(" + _SCALAR + " #>> '{}') COLLATE \"C\""
    value = node.value
    values: list[Any]
    if isinstance(value, ValueRange):
        test = f"{scalar} >= %s AND {scalar} <= %s"
        values = [value.low, value.high]
    elif isinstance(value, ValueList):
        test = f"{scalar} = ANY(%s)"
        values = [list(value.items)]
    else:
        operator = {"==": "=", "!=": "=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}[node.op]
        test = f"{scalar} {operator} %s"
        values = [value]
    if kind == "number":
        values = [
            [float(v) for v in item] if isinstance(item, list) else float(item) for item in values
        ]
        if isinstance(value, ValueList):
            test = test.replace("= ANY(%s)", "= ANY(%s::float8[])")
    else:
        values = [
            [str(v) for v in item] if isinstance(item, list) else str(item) for item in values
        ]
        if isinstance(value, ValueList):
            test = test.replace("= ANY(%s)", "= ANY(%s::text[])")
    condition = f"CASE WHEN {same_kind} THEN {test} ELSE false END"
    if node.op == "!=":
        condition = f"NOT coalesce({condition}, false) AND {_TEMPORAL} IS NULL"
    if kind == "text":
        temporal = temporal_conditions(node.op, node.value, _TEMPORAL_KEY, "%s", str)
        if temporal is not None:
            condition = f"({condition}) OR {temporal[0]}"
            values.extend(temporal[1])
    params.append(attr)
    params.extend(values)
    return sql.SQL("EXISTS (" + _INSTANCES + " AND " + condition + ")"), True


_GEO_RELATIONS: Final[dict[str, LiteralString]] = {
    "within": "ST_Within(g.geom, q.geom)",
    "contains": "ST_Contains(g.geom, q.geom)",
    "intersects": "ST_Intersects(g.geom, q.geom)",
    "disjoint": "ST_Disjoint(g.geom, q.geom)",
    "equals": "ST_Equals(g.geom, q.geom)",
    "overlaps": "ST_Overlaps(g.geom, q.geom)",
}


def geo_sql(geo: GeoQuery, params: list[Any]) -> sql.Composable:
    conditions: list[LiteralString] = []
    geo_params: list[Any] = []
    if geo.georel == "near":
        if geo.max_distance is not None:
            conditions.append("ST_DWithin(g.geom::geography, q.geom::geography, %s, false)")
            geo_params.append(float(geo.max_distance))
        if geo.min_distance is not None:
            conditions.append("ST_Distance(g.geom::geography, q.geom::geography, false) >= %s")
            geo_params.append(float(geo.min_distance))
        if not conditions:
            raise InvalidRequest("georel=near needs maxDistance or minDistance")
    else:
        conditions.append(_GEO_RELATIONS[geo.georel])
    params.append(dumps(dict(geo.geometry)))
    params.append(geo.geoproperty)
    params.extend(geo_params)
    text = (
        "EXISTS (SELECT 1 FROM entity_geometries g,"
        " (SELECT ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326) AS geom) q"
        " WHERE g.tenant = e.tenant AND g.entity_id = e.id AND g.attr = %s AND "
        + " AND ".join(conditions)
        + ")"
    )
    return sql.SQL(text)
