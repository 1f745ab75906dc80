"""The type and attribute summaries of a tenant (GET /types, GET /attributes), computed from
the JSONB documents."""

from __future__ import annotations

from cetate.ngsi.model import ENTITY_KEYWORDS
from cetate.store.base import AttributeSummary, TypeSummary
from cetate.store.postgres.connections import PostgresConnections


def entity_types(db: PostgresConnections, tenant: str) -> list[TypeSummary]:
    with db.connection() as conn:
        counts = conn.execute(
            "SELECT t, count(*) FROM entities e, unnest(e.types) AS t "
            "WHERE e.tenant = %s GROUP BY t ORDER BY t",
            (tenant,),
        ).fetchall()
        attrs = conn.execute(
            "SELECT t, array_agg(DISTINCT k) FROM entities e, unnest(e.types) AS t, "
            "jsonb_each(e.doc) AS kv(k, v) "
            "WHERE e.tenant = %s AND jsonb_typeof(kv.v) = 'array' "
            "AND NOT (k = ANY(%s)) GROUP BY t",
            (tenant, sorted(ENTITY_KEYWORDS)),
        ).fetchall()
    by_type = {r[0]: frozenset(r[1]) for r in attrs}
    return [
        TypeSummary(type=t, entity_count=int(n), attributes=by_type.get(t, frozenset()))
        for t, n in counts
    ]


def attributes(db: PostgresConnections, tenant: str) -> list[AttributeSummary]:
    with db.connection() as conn:
        rows = conn.execute(
            "WITH a AS ("
            " SELECT e.id, e.types, kv.k, kv.v FROM entities e, jsonb_each(e.doc) AS kv(k, v)"
            " WHERE e.tenant = %s AND jsonb_typeof(kv.v) = 'array' AND NOT (kv.k = ANY(%s)))"
            " SELECT a.k, sum(jsonb_array_length(a.v)),"
            "  (SELECT array_agg(DISTINCT t) FROM a a2, unnest(a2.types) t WHERE a2.k = a.k),"
            "  (SELECT array_agg(DISTINCT i->>'type') FROM a a3,"
            "     jsonb_array_elements(a3.v) i WHERE a3.k = a.k)"
            " FROM a GROUP BY a.k ORDER BY a.k",
            (tenant, sorted(ENTITY_KEYWORDS)),
        ).fetchall()
    return [
        AttributeSummary(
            attribute=k,
            attribute_count=int(n),
            types=frozenset(types or ()),
            attribute_types=frozenset(t for t in (atypes or ()) if t),
        )
        for k, n, types, atypes in rows
    ]
