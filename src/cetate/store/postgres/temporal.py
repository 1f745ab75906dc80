"""Temporal queries on the PostgreSQL store: history rows joined to their series, newest-N
with a window function, aggregations in ``date_bin`` buckets computed in SQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final, LiteralString

from psycopg import sql

from cetate.errors import InvalidRequest
from cetate.ngsi.model import AttributeInstance
from cetate.store.base import TemporalEntity, TemporalQuery
from cetate.store.postgres.conditions import Where
from cetate.store.postgres.connections import Conn, PostgresConnections
from cetate.store.postgres.entity_queries import select
from cetate.store.sql_common import bucket_origin, single_bucket_end, time_bounds

_TIME_COLUMNS: Final[dict[str, LiteralString]] = {
    "observedAt": "h.observed_at",
    "createdAt": "(h.instance->>'createdAt')::timestamptz",
    "modifiedAt": "(h.instance->>'modifiedAt')::timestamptz",
}


def iso_utc(moment: datetime) -> str:
    """``2026-11-23T10:00:00.000Z`` for a time from the database."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def query_temporal(
    db: PostgresConnections, tenant: str, query: TemporalQuery
) -> list[TemporalEntity]:
    docs, _ = select(db, tenant, query.entities)
    if not docs:
        return []
    entities = {d["id"]: TemporalEntity(id=d["id"], types=list(d.get("type", []))) for d in docs}
    where = Where()
    where.add(sql.SQL("s.tenant = %s"), tenant)
    where.add(sql.SQL("s.entity_id = ANY(%s)"), list(entities))
    if query.attrs is not None:
        where.add(sql.SQL("s.attr = ANY(%s)"), sorted(query.attrs))
    time_col = sql.SQL(_TIME_COLUMNS[query.timeproperty])
    if query.timerel is not None:
        if query.time_at is None:
            raise InvalidRequest("timerel needs timeAt")
        for op, moment in time_bounds(query.timerel, query.time_at, query.end_time_at):
            where.add(sql.SQL("{} " + op + " %s").format(time_col), moment)
    with db.connection() as conn:
        if query.aggr_methods:
            _aggregate(conn, query, where, time_col, entities)
        else:
            _history(conn, query, where, time_col, entities)
    return [entities[d["id"]] for d in docs]


def _history(
    conn: Conn,
    query: TemporalQuery,
    where: Where,
    time_col: sql.Composable,
    entities: dict[str, TemporalEntity],
) -> None:
    if query.last_n is not None:
        stmt = sql.SQL(
            "SELECT entity_id, attr, observed_at, dataset_id, instance FROM ("
            " SELECT s.entity_id, s.attr, h.observed_at, s.dataset_id, h.instance, h.seq,"
            "  row_number() OVER (PARTITION BY h.series_id"
            "   ORDER BY h.observed_at DESC, h.seq DESC) AS rn"
            " FROM history h JOIN history_series s ON s.id = h.series_id WHERE {w}) x"
            " WHERE rn <= %s ORDER BY entity_id, attr, observed_at, seq"
        ).format(w=where.sql())
        params = [*where.params, query.last_n]
    else:
        stmt = sql.SQL(
            "SELECT s.entity_id, s.attr, h.observed_at, s.dataset_id, h.instance "
            "FROM history h JOIN history_series s ON s.id = h.series_id WHERE {w} "
            "ORDER BY s.entity_id, s.attr, h.observed_at, h.seq"
        ).format(w=where.sql())
        params = where.params
    for entity_id, attr, observed_at, dataset_id, instance in conn.execute(stmt, params):
        inst: AttributeInstance = instance
        inst.setdefault("observedAt", iso_utc(observed_at))
        if dataset_id:
            inst["datasetId"] = dataset_id
        entities[entity_id].history.setdefault(attr, []).append(inst)


def _aggregate(
    conn: Conn,
    query: TemporalQuery,
    where: Where,
    time_col: sql.Composable,
    entities: dict[str, TemporalEntity],
) -> None:
    """Aggregates per (entity, attribute), all datasetIds together, in buckets of
    ``aggr_period`` counted from ``timeAt`` (after/between) or from the first instance;
    without a period one bucket. Every requested method gets a value per bucket (None when
    the bucket holds no number). Same semantics as the SQLite backend."""
    methods = list(dict.fromkeys(query.aggr_methods))
    origin = bucket_origin(query)
    anchored = origin is not None
    origin_sql = sql.SQL("%s::timestamptz") if anchored else sql.SQL("span.first")
    if query.aggr_period is not None:
        bucket: sql.Composable = sql.SQL("date_bin(%s::interval, h.t, {o})").format(o=origin_sql)
        bucket_params: list[Any] = [query.aggr_period]
    else:
        bucket = origin_sql
        bucket_params = []
    if anchored:
        bucket_params.append(origin)
    stmt = sql.SQL(
        "WITH h AS (SELECT s.entity_id, s.attr, {t} AS t, h.number, h.instance"
        " FROM history h JOIN history_series s ON s.id = h.series_id WHERE {w}),"
        " span AS (SELECT entity_id, attr, min(t) AS first, max(t) AS last FROM h"
        " GROUP BY entity_id, attr)"
        " SELECT h.entity_id, h.attr, {b} AS b, span.last, count(*),"
        " count(DISTINCT coalesce(to_jsonb(h.number), h.instance->'value',"
        "  h.instance->'object', h.instance->'vocab')),"
        " sum(h.number), avg(h.number), min(h.number), max(h.number),"
        " stddev_pop(h.number)"
        " FROM h JOIN span USING (entity_id, attr)"
        " GROUP BY h.entity_id, h.attr, b, span.last ORDER BY h.entity_id, h.attr, b"
    ).format(t=time_col, w=where.sql(), b=bucket)
    rows = conn.execute(stmt, [*where.params, *bucket_params])
    period = query.aggr_period
    single_end = single_bucket_end(query) if period is None else None
    for entity_id, attr, start, last, *values in rows:
        if start is None:
            continue
        end = start + period if period is not None else (single_end or last)
        by_method = dict(
            zip(
                ("totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev"),
                values,
                strict=True,
            )
        )
        per_attr = entities[entity_id].aggregates.setdefault(attr, {m: [] for m in methods})
        start_iso, end_iso = iso_utc(start), iso_utc(end)
        for method in methods:
            value = by_method[method]
            if value is not None:
                counted = method in ("totalCount", "distinctCount")
                value = int(value) if counted else float(value)
            per_attr[method].append((value, start_iso, end_iso))
