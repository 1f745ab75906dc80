"""Temporal queries on the SQLite store.

History rows point at a ``series`` (entity, attribute, datasetId) and keep ``observed_at`` as
integer milliseconds and the numeric value in a REAL column, so aggregations run in SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from cetate.store.base import TemporalEntity, TemporalQuery
from cetate.store.sql_common import (
    bucket_origin,
    dumps,
    iso,
    iso_from_ms,
    loads,
    period_ms,
    population_stddev,
    single_bucket_end,
    time_bounds,
    to_ms,
    with_timestamps,
)
from cetate.store.sqlite.conditions import marks
from cetate.store.sqlite.entity_queries import EntityQueryRunner
from cetate.store.sqlite.interning import InternedIds


class TemporalQueryRunner:
    """Selects the entities with :class:`EntityQueryRunner`, then their history series and
    the series' instances (or aggregates, computed in SQL)."""

    def __init__(self, ids: InternedIds, conn: sqlite3.Connection, tenant: str) -> None:
        self.ids = ids
        self.conn = conn
        self.tenant = tenant

    def run(self, query: TemporalQuery) -> list[TemporalEntity]:
        runner = EntityQueryRunner(self.ids, self.conn, self.tenant)
        keys = runner.select_keys(query.entities)
        if not keys:
            return []
        results = {eid: TemporalEntity(id=eid, types=types) for eid, types in keys}
        params: list[Any] = [self.tenant, dumps([eid for eid, _ in keys])]
        attr_filter = ""
        if query.attrs is not None:
            ids = [i for i in (runner.name(a) for a in sorted(query.attrs)) if i is not None]
            if not ids:
                return list(results.values())
            attr_filter = f" AND s.attr_id IN ({marks(ids)})"
            params.extend(ids)
        series = self.conn.execute(
            "SELECT s.id, s.eid, n.iri, s.dataset_id FROM series s JOIN names n "
            "ON n.id = s.attr_id AND n.tenant = ? "
            f"WHERE s.eid IN (SELECT value FROM json_each(?)){attr_filter} "
            "ORDER BY s.eid, n.iri, s.dataset_id",
            params,
        ).fetchall()
        time_sql, time_params = self.time_filter(query)
        if query.aggr_methods:
            groups: dict[tuple[str, str], list[int]] = {}
            for series_id, eid, attr, _ in series:
                groups.setdefault((eid, attr), []).append(series_id)
            for (eid, attr), ids in groups.items():
                aggregates = self.aggregate(query, ids, time_sql, time_params)
                if aggregates is not None:
                    results[eid].aggregates[attr] = aggregates
            return list(results.values())
        by_series = {row[0]: row for row in series}
        rows: list[tuple[int, int, int, str]] = []
        if query.last_n is not None:
            for series_id in by_series:
                newest = self.conn.execute(
                    "SELECT rowid, series_id, observed_at, instance FROM history h "
                    f"WHERE series_id = ?{time_sql} "
                    "ORDER BY observed_at DESC, rowid DESC LIMIT ?",
                    (series_id, *time_params, max(query.last_n, 0)),
                ).fetchall()
                rows.extend(newest)
            rows.sort(key=lambda r: (r[2], r[0]))
        elif by_series:
            rows = self.conn.execute(
                "SELECT rowid, series_id, observed_at, instance FROM history h "
                f"WHERE series_id IN (SELECT value FROM json_each(?)){time_sql} "
                "ORDER BY observed_at, rowid",
                (dumps(list(by_series)), *time_params),
            ).fetchall()
        for _, series_id, observed_ms, text in rows:
            _, eid, attr, dataset_id = by_series[series_id]
            instance = with_timestamps(loads(text), observed_ms, dataset_id)
            results[eid].history.setdefault(attr, []).append(instance)
        return list(results.values())

    @staticmethod
    def time_column(query: TemporalQuery) -> str:
        if query.timeproperty == "observedAt":
            return "h.observed_at"
        # ISO text → ms since the epoch
        return (
            f"CAST(round((julianday(json_extract(h.instance, '$.{query.timeproperty}')) "
            "- 2440587.5) * 86400000) AS INTEGER)"
        )

    def time_filter(self, query: TemporalQuery) -> tuple[str, list[Any]]:
        """before: t < timeAt; after: t >= timeAt; between: timeAt <= t < endTimeAt."""
        if query.timerel is None or query.time_at is None:
            return "", []
        if query.timeproperty != "observedAt":
            # stored timestamps are UTC ISO text with milliseconds: they compare as strings
            column = f"json_extract(h.instance, '$.{query.timeproperty}')"
            bound: Callable[[datetime], Any] = iso
        else:
            column = "h.observed_at"
            bound = to_ms
        bounds = time_bounds(query.timerel, query.time_at, query.end_time_at)
        return "".join(f" AND {column} {op} ?" for op, _ in bounds), [bound(m) for _, m in bounds]

    def aggregate(
        self,
        query: TemporalQuery,
        series_ids: list[int],
        time_sql: str,
        time_params: list[Any],
    ) -> dict[str, list[tuple[Any, str, str]]] | None:
        column = self.time_column(query)
        source = f"FROM history h WHERE h.series_id IN (SELECT value FROM json_each(?)){time_sql}"
        params = [dumps(series_ids), *time_params]
        first, last = self.conn.execute(
            f"SELECT min({column}), max({column}) {source}", params
        ).fetchone()
        if first is None:
            return None
        anchor = bucket_origin(query)
        origin = to_ms(anchor) if anchor is not None else int(first)
        if query.aggr_period is not None:
            width = period_ms(query.aggr_period)
            bucket = f"(({column}) - ?) / ?"
            bucket_params: list[Any] = [origin, width]
        else:
            width = 0
            bucket = "0"
            bucket_params = []
        rows = self.conn.execute(
            f"SELECT {bucket} AS b, count(*), count(DISTINCT coalesce(h.number, "
            "json_extract(h.instance, '$.value'), json_extract(h.instance, '$.object'), "
            "json_extract(h.instance, '$.vocab'))), sum(h.number), avg(h.number), "
            "min(h.number), max(h.number), sum(h.number * h.number), count(h.number) "
            f"{source} GROUP BY b ORDER BY b",
            (*bucket_params, *params),
        ).fetchall()
        if width:
            end_of: Callable[[int], int] = lambda b: origin + (b + 1) * width  # noqa: E731
        else:
            end = single_bucket_end(query)
            single_end = to_ms(end) if end is not None else int(last)
            end_of = lambda b: single_end  # noqa: E731
        result: dict[str, list[tuple[Any, str, str]]] = {m: [] for m in query.aggr_methods}
        for b, count, distinct, total, mean, low, high, squares, numbers in rows:
            start_iso = iso_from_ms(origin + b * width)
            end_iso = iso_from_ms(end_of(b))
            values: dict[str, Any] = {
                "totalCount": count,
                "distinctCount": distinct,
                "sum": total,
                "avg": mean,
                "min": low,
                "max": high,
                "stddev": population_stddev(numbers, total, squares),
            }
            for method in query.aggr_methods:
                result[method].append((values[method], start_iso, end_iso))
        return result


def delete_history(
    conn: sqlite3.Connection, tenant: str, entity_id: str, attributes: Sequence[str]
) -> int:
    """Delete every history row of those attributes (IRIs) of one entity, all datasetIds;
    the number deleted. The ``series`` rows stay: their ids are cached by the writers (see
    :class:`~cetate.store.sqlite.interning.InternedIds`), and a series without history
    yields nothing in a temporal query."""
    if not attributes:
        return 0
    cursor = conn.execute(
        "DELETE FROM history WHERE series_id IN ("
        " SELECT s.id FROM series s JOIN names n ON n.id = s.attr_id"
        " WHERE n.tenant = ? AND s.eid = ? AND n.iri IN (SELECT value FROM json_each(?)))",
        (tenant, entity_id, dumps(sorted(set(attributes)))),
    )
    return max(cursor.rowcount, 0)
