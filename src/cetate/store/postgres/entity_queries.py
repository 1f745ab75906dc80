"""Entity queries on the PostgreSQL store: the conditions of
:mod:`cetate.store.postgres.conditions` in one statement; what is left to Python (``idPattern``,
inexact ``q``) filters candidates streamed in id order through a server-side cursor."""

from __future__ import annotations

import re
from typing import Any, LiteralString

from psycopg import sql

from cetate.errors import InvalidRequest
from cetate.ngsi.query_ast import TypeName
from cetate.store.base import EntityQuery
from cetate.store.postgres.conditions import Where, geo_sql, q_sql, type_sql
from cetate.store.postgres.connections import PostgresConnections


def entity_where(tenant: str, query: EntityQuery) -> tuple[sql.Composable, Where, list[Any]]:
    """The SQL part of an entity query (FROM and WHERE; rows ``e``, ordered by ``e_id``),
    and the Python filters still to apply."""
    where = Where()
    post: list[Any] = []
    if isinstance(query.types, TypeName):
        # one type: walk that type's entities in id order (stops early under LIMIT)
        source = sql.SQL(
            "entity_types t JOIN entities e ON e.tenant = t.tenant AND e.id = t.entity_id"
        )
        where.add(sql.SQL("t.tenant = %s AND t.type = %s"), tenant, query.types.name)
    else:
        source = sql.SQL("entities e")
        where.add(sql.SQL("e.tenant = %s"), tenant)
    if query.types is not None and not isinstance(query.types, TypeName):
        params: list[Any] = []
        where.add(type_sql(query.types, params), *params)
    if query.ids:
        where.add(sql.SQL("e.id = ANY(%s)"), list(query.ids))
    if query.attrs is not None:
        where.add(sql.SQL("e.doc ?| %s::text[]"), sorted(query.attrs))
    if query.geo is not None:
        params = []
        where.add(geo_sql(query.geo, params), *params)
    if query.id_pattern is not None:
        try:
            pattern = re.compile(query.id_pattern)
        except re.error as e:
            raise InvalidRequest(f"idPattern is not a valid regular expression: {e}") from e
        post.append(lambda doc, p=pattern: p.search(doc["id"]) is not None)
    if query.q is not None:
        params = []
        condition, exact = q_sql(query.q, params)
        if condition is not None:
            where.add(condition, *params)
        if not exact:
            from cetate.ngsi.query_language import evaluate_q

            post.append(lambda doc, q=query.q: evaluate_q(q, doc))
    return source, where, post


def select(
    db: PostgresConnections, tenant: str, query: EntityQuery, *, columns: LiteralString = "e.doc"
) -> tuple[list[Any], int | None]:
    """Rows of ``columns`` for the matches of ``query`` (limit/offset applied) and the total
    when asked for."""
    source, where, post = entity_where(tenant, query)
    order = "t.entity_id" if isinstance(query.types, TypeName) else "e.id"
    base = sql.SQL("SELECT e.id, {} FROM {} WHERE {} ORDER BY {}").format(
        sql.SQL(columns), source, where.sql(), sql.SQL(order)
    )
    with db.connection() as conn:
        if not post:
            total: int | None = None
            if query.count:
                row = conn.execute(
                    sql.SQL("SELECT count(*) FROM {} WHERE {}").format(source, where.sql()),
                    where.params,
                ).fetchone()
                total = int(row[0]) if row else 0
            if query.limit <= 0:
                return [], total
            rows = conn.execute(
                sql.SQL("{} LIMIT %s OFFSET %s").format(base),
                [*where.params, query.limit, query.offset],
            ).fetchall()
            return [r[1] for r in rows], total
        # Python filters: stream candidates in id order, stop early unless counting.
        wanted_end = query.offset + max(query.limit, 0)
        found: list[Any] = []
        matched = 0
        with conn.transaction(), conn.cursor(name="cetate_candidates") as cur:
            cur.itersize = 500
            cur.execute(base, where.params)
            need_doc = columns != "e.doc"
            for row in cur:
                doc = row[-1] if not need_doc else row[1]
                if all(f(doc) for f in post):
                    if query.offset <= matched < wanted_end:
                        found.append(row[1])
                    matched += 1
                    if matched >= wanted_end and not query.count:
                        break
        return found, matched if query.count else None
