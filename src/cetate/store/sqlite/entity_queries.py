"""Entity queries on the SQLite store.

A query is planned as a scan of narrow keys (``k``: the type's rows of ``entity_types`` in id
order, or the tenant's ``(tenant, eid)`` index) filtered by the conditions of
:mod:`cetate.store.sqlite.conditions`; geo-queries pre-select entities through the R*Tree and
the exact test of :func:`cetate.ngsi.geo.geo_matches`. Documents are read only for the page
returned, unless part of ``q`` is left to Python.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from cetate.errors import InvalidRequest
from cetate.ngsi.model import EntityDoc
from cetate.ngsi.query_ast import QueryNode, TypeName
from cetate.store.base import EntityQuery, QueryResult
from cetate.store.sql_common import dumps, loads
from cetate.store.sqlite.conditions import ConditionCompiler, marks
from cetate.store.sqlite.documents import entity_doc
from cetate.store.sqlite.interning import InternedIds


@dataclass(slots=True)
class Plan:
    source: str
    """``FROM`` of the key scan, aliased ``k``: ``entity_types`` (one type) or ``entities``"""
    pk: str
    """the entity primary key column of ``k``"""
    where: list[str]
    params: list[Any]
    residual_q: QueryNode | None = None
    empty: bool = False
    """nothing can match (an unknown type or attribute, no geometry in range)"""

    @property
    def condition(self) -> str:
        return " AND ".join(self.where)


class EntityQueryRunner:
    """Plans an :class:`EntityQuery` as a scan of narrow keys (``k``: the type's rows of
    ``entity_types`` in id order, or the tenant's ``(tenant, eid)`` index) filtered by probes
    into ``entity_attrs`` by primary key; documents are read only for the page returned."""

    def __init__(self, ids: InternedIds, conn: sqlite3.Connection, tenant: str) -> None:
        self.ids = ids
        self.conn = conn
        self.tenant = tenant

    def name(self, iri: str) -> int | None:
        return self.ids.lookup_name(self.conn, self.tenant, iri)

    def run(self, query: EntityQuery) -> QueryResult:
        plan = self.plan(query)
        if plan.empty:
            return QueryResult([], 0 if query.count else None)
        where = plan.condition
        if plan.residual_q is None:
            rows = self.conn.execute(
                f"SELECT e.doc FROM (SELECT {plan.pk} AS pk, k.eid AS eid FROM {plan.source} "
                f"WHERE {where} ORDER BY k.eid LIMIT ? OFFSET ?) p "
                "JOIN entities e ON e.pk = p.pk ORDER BY p.eid",
                (*plan.params, max(query.limit, 0), max(query.offset, 0)),
            ).fetchall()
            total = None
            if query.count:
                total = int(
                    self.conn.execute(
                        f"SELECT count(*) FROM {plan.source} WHERE {where}", plan.params
                    ).fetchone()[0]
                )
            return QueryResult([entity_doc(row[0]) for row in rows], total)
        from cetate.ngsi.query_language import evaluate_q

        matched: list[EntityDoc] = []
        for (text,) in self.conn.execute(
            f"SELECT e.doc FROM {plan.source} JOIN entities e ON e.pk = {plan.pk} "
            f"WHERE {where} ORDER BY k.eid",
            plan.params,
        ):
            doc = entity_doc(text)
            if evaluate_q(plan.residual_q, doc):
                matched.append(doc)
        start = max(query.offset, 0)
        page = matched[start : start + max(query.limit, 0)]
        return QueryResult(page, len(matched) if query.count else None)

    def select_keys(self, query: EntityQuery) -> list[tuple[str, list[str]]]:
        """(id, types) of every match, in id order, with limit/offset applied."""
        return [(doc["id"], list(doc.get("type", []))) for doc in self.run(query).entities]

    # -- planning ------------------------------------------------------------------------
    def plan(self, query: EntityQuery) -> Plan:
        geo_pks: list[int] | None = None
        if query.geo is not None:
            geo_pks = self.geo_matches(query)
            if not geo_pks:
                return Plan("entities k", "k.pk", [], [], empty=True)
        single_type = isinstance(query.types, TypeName) and not query.ids and geo_pks is None
        if single_type:
            assert isinstance(query.types, TypeName)
            type_id = self.name(query.types.name)
            if type_id is None:
                return Plan("entities k", "k.pk", [], [], empty=True)
            plan = Plan("entity_types k", "k.entity_pk", ["k.type_id = ?"], [type_id])
        else:
            plan = Plan("entities k", "k.pk", ["k.tenant = ?"], [self.tenant])
        conditions = ConditionCompiler(self.name, plan.pk)
        if geo_pks is not None:
            plan.where.append("k.pk IN (SELECT value FROM json_each(?))")
            plan.params.append(dumps(geo_pks))
        if query.types is not None and not single_type:
            sql = conditions.types_sql(query.types, plan.params)
            if sql == "0":
                plan.empty = True
                return plan
            plan.where.append(sql)
        if query.ids:
            plan.where.append("k.eid IN (SELECT value FROM json_each(?))")
            plan.params.append(dumps(list(query.ids)))
        if query.id_pattern is not None:
            try:
                re.compile(query.id_pattern)
            except re.error as exc:
                raise InvalidRequest(
                    f"idPattern {query.id_pattern!r} is not a valid regular expression: {exc}"
                ) from None
            plan.where.append("regexp(?, k.eid)")
            plan.params.append(query.id_pattern)
        if query.attrs is not None:
            ids = [i for i in (self.name(a) for a in sorted(query.attrs)) if i is not None]
            if not ids:
                plan.empty = True
                return plan
            plan.where.append(
                f"EXISTS (SELECT 1 FROM entity_attrs v WHERE v.entity_pk = {plan.pk} "
                f"AND v.attr_id IN ({marks(ids)}))"
            )
            plan.params.extend(ids)
        if query.q is not None:
            q_sql, exact = conditions.q_sql(query.q, plan.params)
            if q_sql == "0" and exact:
                plan.empty = True
                return plan
            if q_sql is not None:
                plan.where.append(q_sql)
            if not exact:
                plan.residual_q = query.q
        return plan

    def geo_matches(self, query: EntityQuery) -> list[int]:
        from cetate.ngsi.geo import geo_matches, search_box

        geo = query.geo
        assert geo is not None
        attr_id = self.name(geo.geoproperty)
        if attr_id is None:
            return []
        box = search_box(geo)
        if box is None:
            rows = self.conn.execute(
                "SELECT entity_pk, geom FROM geo_index WHERE attr_id = ?", (attr_id,)
            )
        else:
            min_lon, min_lat, max_lon, max_lat = box
            rows = self.conn.execute(
                "SELECT entity_pk, geom FROM geo_index WHERE max_lon >= ? AND min_lon <= ? "
                "AND max_lat >= ? AND min_lat <= ? AND attr_id = ?",
                (min_lon, max_lon, min_lat, max_lat, attr_id),
            )
        found: set[int] = set()
        for pk, geom in rows:
            if pk not in found and geo_matches(geo, loads(geom)):
                found.add(pk)
        return sorted(found)
