"""The production context store: PostgreSQL + PostGIS through psycopg 3.

* Entities are JSONB documents in stored form (:mod:`cetate.ngsi.model`), with their type IRIs
  in a ``text[]`` column (GIN index) so type expressions compile to array operators. The table
  has free space per page (fillfactor 70) so rewriting a document is a HOT update.
* ``q`` compiles to SQL over the documents with the semantics of the SQLite backend (see
  :func:`_q_sql`); what SQL cannot decide exactly (sub-attributes, members, regular expressions,
  booleans) is pre-filtered in SQL and decided by :func:`cetate.ngsi.query_language.evaluate_q`.
* Every GeoProperty instance is mirrored into ``entity_geometries`` (PostGIS, GiST on the
  geometry and on its geography): geo-queries run in the database. Topological relations are
  planar on lon/lat like :mod:`cetate.ngsi.geo`; ``near`` distances are metres on PostGIS's
  mean-radius sphere (``use_spheroid => false``), the sphere :mod:`cetate.ngsi.geo` uses.
* History lives in ``history``, partitioned by month of ``observed_at``; partitions are created
  on demand before inserts, so retention drops whole partitions
  (:meth:`PostgresStore.drop_history_before`). Rows refer to a ``history_series`` row
  (entity, attribute, datasetId) by integer id; numbers have their own column, and temporal
  aggregations (``date_bin`` buckets) run in SQL.
* Writes in a transaction are buffered per entity and sent in bulk when the transaction commits
  (or before it reads): many documents through ``COPY`` into a temporary table and one
  ``INSERT``/``UPDATE … FROM``, few with pipelined ``executemany``; history with ``COPY``.
  Geometry rows are rewritten only for entities whose geometries changed.
* The schema is a list of numbered SQL files in ``migrations/postgres``; :meth:`migrate` applies
  the missing ones under an advisory lock, so concurrent processes can all call it.

The store is thread-safe: every call takes a connection from a pool. Partitions and history
series are created on a second, small pool, outside the writer's transaction.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any, Final, LiteralString, cast

import orjson
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb, set_json_dumps, set_json_loads
from psycopg_pool import ConnectionPool, PoolTimeout

from cetate.errors import AlreadyExists, InvalidRequest, ResourceNotFound, StoreUnavailable
from cetate.ngsi.model import ENTITY_KEYWORDS, AttributeInstance, EntityDoc
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
from cetate.store.base import (
    ApiToken,
    AttributeSummary,
    ContextStore,
    EntityQuery,
    GeoQuery,
    HistoryRow,
    QueryResult,
    Role,
    StoreTransaction,
    TemporalEntity,
    TemporalQuery,
    Tenant,
    TypeSummary,
    User,
)
from cetate.store.sql_common import comparison_kind, number_value

MIGRATION_LOCK: Final = 0x636574617465  # "cetate": pg_advisory_xact_lock key for migrations
_MIGRATION_FILE = re.compile(r"^(\d{4})_[\w-]+\.sql$")

Conn = psycopg.Connection[tuple[Any, ...]]


def _json_dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def _dumps_text(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def _configure(conn: Conn) -> None:
    set_json_dumps(_json_dumps, conn)
    set_json_loads(orjson.loads, conn)


def _month_start(moment: datetime) -> datetime:
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return utc.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _iso(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def migration_files() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every PostgreSQL migration, oldest first."""
    folder = resources.files("cetate.store.migrations.postgres")
    found: list[tuple[int, str, str]] = []
    for entry in folder.iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    return found


# -- SQL building ------------------------------------------------------------------------------


@dataclass
class _Where:
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


def _type_sql(expr: TypeExpr, params: list[Any]) -> sql.Composable:
    if isinstance(expr, TypeName):
        params.append([expr.name])
        return sql.SQL("e.types @> %s::text[]")
    if isinstance(expr, TypeOr) and all(isinstance(i, TypeName) for i in expr.items):
        params.append([cast(TypeName, i).name for i in expr.items])
        return sql.SQL("e.types && %s::text[]")
    joiner = " AND " if isinstance(expr, TypeAnd) else " OR "
    inner = [sql.SQL("({})").format(_type_sql(i, params)) for i in expr.items]
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


def _has_attribute(attr: str, params: list[Any]) -> sql.Composable:
    params.append(attr)
    return sql.SQL("EXISTS (" + _INSTANCES + ")")


def _q_sql(node: QueryNode, params: list[Any]) -> tuple[sql.Composable | None, bool]:
    """(SQL condition or None, exact) for a ``q`` tree, with the semantics of the SQLite
    backend: a comparison holds when some instance's scalar value (string or number, never
    bool) of the same kind as the literal satisfies it; ``!=`` also holds for instances with no
    comparable value. Exact means the SQL alone decides; otherwise the SQL (when given) keeps
    every match and :func:`cetate.ngsi.query_language.evaluate_q` decides the rest."""
    if isinstance(node, And | Or):
        parts: list[tuple[sql.Composable | None, bool, list[Any]]] = []
        for item in node.items:
            sub_params: list[Any] = []
            part, exact = _q_sql(item, sub_params)
            parts.append((part, exact, sub_params))
        if isinstance(node, And):
            kept = [(c, p) for c, _, p in parts if c is not None]
            all_exact = all(e for _, e, _ in parts)
            if not kept:
                return None, all_exact
            for _, sub_params in kept:
                params.extend(sub_params)
            return sql.SQL(" AND ").join(sql.SQL("({})").format(c) for c, _ in kept), all_exact
        if any(c is None for c, _, _ in parts):
            return None, False
        for _, _, sub_params in parts:
            params.extend(sub_params)
        return (
            sql.SQL(" OR ").join(sql.SQL("({})").format(c) for c, _, _ in parts if c),
            all(e for _, e, _ in parts),
        )
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
        condition = f"NOT coalesce({condition}, false)"
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


def _geo_sql(geo: GeoQuery, params: list[Any]) -> sql.Composable:
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
    params.append(_dumps_text(dict(geo.geometry)))
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


Geometries = list[tuple[str, str, Any]]
"""(attr, datasetId or '', GeoJSON geometry) of every GeoProperty instance of an entity"""


def _geometries(entity: EntityDoc) -> Geometries:
    found: Geometries = []
    for key, instances in entity.items():
        if key in ENTITY_KEYWORDS or not isinstance(instances, list):
            continue
        for inst in instances:
            if type(inst) is dict and inst.get("type") == "GeoProperty":
                value = inst.get("value")
                if isinstance(value, dict):
                    found.append((key, str(inst.get("datasetId") or ""), value))
    return found


# -- transactions ------------------------------------------------------------------------------


_UPDATE_ENTITY: Final = "UPDATE entities SET types = %s, doc = %s WHERE tenant = %s AND id = %s"
_INSERT_ENTITY: Final = (
    "INSERT INTO entities (tenant, id, types, doc) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (tenant, id) DO NOTHING"
)
_INSERT_GEOMETRY: Final = (
    "INSERT INTO entity_geometries (tenant, entity_id, attr, dataset_id, geom) "
    "VALUES (%s, %s, %s, %s, ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326))"
)
_COPY_THRESHOLD: Final = 64
"""from this many documents in one flush on, stage them with COPY instead of executemany"""
_COPY_HISTORY: Final = "COPY history (series_id, observed_at, number, instance) FROM STDIN"


class PostgresTransaction(StoreTransaction):
    """Buffers writes; :meth:`flush` sends them in bulk (before reads and at commit).

    Only the last write of each entity id matters, so pending writes are kept per id."""

    def __init__(self, store: PostgresStore, conn: Conn, tenant: str) -> None:
        self._store = store
        self._conn = conn
        self._tenant = tenant
        self._pending: dict[str, EntityDoc | None] = {}
        """id → new document (insert or replace) or None (delete)"""
        self._new_ids: set[str] = set()
        """pending ids that must not exist in the database yet (inserts)"""
        self._exists: dict[str, bool] = {}
        """what this transaction knows about the database (before its pending writes)"""
        self._geometries: dict[str, Geometries] = {}
        self._types: dict[str, tuple[str, ...]] = {}
        """type IRIs in the database of the entities this transaction has read or written"""
        """geometry rows in the database of the entities this transaction has read or written"""
        self._history: list[HistoryRow] = []

    # what the caller sees: the database plus the pending writes
    def _known_to_exist(self, entity_id: str) -> bool | None:
        if entity_id in self._pending:
            return self._pending[entity_id] is not None
        return self._exists.get(entity_id)

    def get_for_update(self, entity_ids: Sequence[str]) -> dict[str, EntityDoc]:
        self.flush()
        ids = list(dict.fromkeys(entity_ids))
        if not ids:
            return {}
        rows = self._conn.execute(
            "SELECT id, doc FROM entities WHERE tenant = %s AND id = ANY(%s) ORDER BY id "
            "FOR UPDATE",
            (self._tenant, ids),
        ).fetchall()
        found = {row[0]: row[1] for row in rows}
        for entity_id in ids:
            self._exists[entity_id] = entity_id in found
            doc = found.get(entity_id)
            self._geometries[entity_id] = _geometries(doc) if doc else []
            self._types[entity_id] = tuple(doc.get("type", ())) if doc else ()
        return found

    def insert(self, entity: EntityDoc) -> None:
        entity_id = entity["id"]
        known = self._known_to_exist(entity_id)
        if known is None:
            row = self._conn.execute(
                "SELECT 1 FROM entities WHERE tenant = %s AND id = %s",
                (self._tenant, entity_id),
            ).fetchone()
            known = row is not None
            self._exists[entity_id] = known
        if known:
            raise AlreadyExists(f"entity {entity_id} already exists", entityId=entity_id)
        if not self._exists.get(entity_id, False):
            self._new_ids.add(entity_id)
        self._pending[entity_id] = entity

    def _require(self, entity_id: str) -> None:
        known = self._known_to_exist(entity_id)
        if known is None:
            row = self._conn.execute(
                "SELECT 1 FROM entities WHERE tenant = %s AND id = %s",
                (self._tenant, entity_id),
            ).fetchone()
            known = row is not None
            self._exists[entity_id] = known
        if not known:
            raise ResourceNotFound(f"entity {entity_id} does not exist")

    def replace(self, entity: EntityDoc) -> None:
        self._require(entity["id"])
        self._pending[entity["id"]] = entity

    def delete(self, entity_id: str) -> None:
        self._require(entity_id)
        self._pending[entity_id] = None
        self._new_ids.discard(entity_id)

    def append_history(self, rows: Sequence[HistoryRow]) -> None:
        self._history.extend(rows)

    def flush(self) -> None:
        """Send the buffered writes."""
        pending, self._pending = self._pending, {}
        new_ids, self._new_ids = self._new_ids, set()
        history, self._history = self._history, []
        if pending:
            self._flush_entities(pending, new_ids)
        if history:
            self._flush_history(history)

    def _flush_entities(self, pending: dict[str, EntityDoc | None], new_ids: set[str]) -> None:
        conn, tenant = self._conn, self._tenant
        for entity_id, doc in pending.items():
            self._exists[entity_id] = doc is not None
        deleted = [i for i, d in pending.items() if d is None]
        written = [d for d in pending.values() if d is not None]
        # geometries: rewrite only those of entities whose geometries changed
        stale_geometries: list[str] = []
        new_geometries: list[tuple[str, str, str, str, str]] = []
        for doc in written:
            entity_id = doc["id"]
            rows = _geometries(doc)
            before = self._geometries.get(entity_id)
            if before is not None and before == rows:
                continue
            if before is None or before:
                stale_geometries.append(entity_id)
            new_geometries.extend(
                (tenant, entity_id, attr, dataset_id, _dumps_text(geometry))
                for attr, dataset_id, geometry in rows
            )
            self._geometries[entity_id] = rows
        for entity_id in deleted:
            self._geometries[entity_id] = []
            self._types[entity_id] = ()
        # the entity_types index: rewritten only for entities whose types changed
        stale_types: list[str] = []
        new_types: tuple[list[str], list[str]] = ([], [])
        for doc in written:
            entity_id = doc["id"]
            types = tuple(doc.get("type", ()))
            before_types = self._types.get(entity_id)
            if before_types == types:
                continue
            if before_types is None or before_types:
                stale_types.append(entity_id)
            for type_iri in dict.fromkeys(types):
                new_types[0].append(type_iri)
                new_types[1].append(entity_id)
            self._types[entity_id] = types
        with conn.cursor() as cur:
            if deleted:
                cur.execute(
                    "DELETE FROM entities WHERE tenant = %s AND id = ANY(%s)", (tenant, deleted)
                )
            inserts = [d for d in written if d["id"] in new_ids]
            updates = [d for d in written if d["id"] not in new_ids]
            if len(written) >= _COPY_THRESHOLD:
                self._write_entities_by_copy(cur, inserts, updates)
            else:
                if inserts:
                    cur.executemany(
                        _INSERT_ENTITY,
                        [(tenant, d["id"], list(d.get("type", [])), Jsonb(d)) for d in inserts],
                    )
                    if cur.rowcount != len(inserts):
                        raise _concurrent_insert()
                if updates:
                    cur.executemany(
                        _UPDATE_ENTITY,
                        [(list(d.get("type", [])), Jsonb(d), tenant, d["id"]) for d in updates],
                    )
            if stale_types:
                cur.execute(
                    "DELETE FROM entity_types WHERE tenant = %s AND entity_id = ANY(%s)",
                    (tenant, stale_types),
                )
            if new_types[0]:
                cur.execute(
                    "INSERT INTO entity_types (tenant, type, entity_id) "
                    "SELECT %s, * FROM unnest(%s::text[], %s::text[]) ON CONFLICT DO NOTHING",
                    (tenant, *new_types),
                )
            if stale_geometries:
                cur.execute(
                    "DELETE FROM entity_geometries WHERE tenant = %s AND entity_id = ANY(%s)",
                    (tenant, stale_geometries),
                )
            if new_geometries:
                cur.executemany(_INSERT_GEOMETRY, new_geometries)

    def _write_entities_by_copy(
        self, cur: psycopg.Cursor[Any], inserts: list[EntityDoc], updates: list[EntityDoc]
    ) -> None:
        """Many documents: COPY them into a temporary table, then one INSERT … SELECT each."""
        cur.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS cetate_staged_entities "
            "(is_new boolean NOT NULL, id text NOT NULL, types text[] NOT NULL, doc jsonb NOT NULL)"
            " ON COMMIT DELETE ROWS"
        )
        cur.execute("TRUNCATE cetate_staged_entities")
        lines = [
            "\t".join(
                (
                    flag,
                    _copy_text(d["id"]),
                    _copy_text(_array_literal(d.get("type", []))),
                    _copy_text(_dumps_text(d)),
                )
            )
            for flag, docs in (("t", inserts), ("f", updates))
            for d in docs
        ]
        lines.append("")
        with cur.copy("COPY cetate_staged_entities (is_new, id, types, doc) FROM STDIN") as copy:
            copy.write("\n".join(lines).encode())
        if inserts:
            cur.execute(
                "INSERT INTO entities (tenant, id, types, doc) SELECT %s, id, types, doc "
                "FROM cetate_staged_entities WHERE is_new ON CONFLICT (tenant, id) DO NOTHING",
                (self._tenant,),
            )
            if cur.rowcount != len(inserts):
                raise _concurrent_insert()
        if updates:
            cur.execute(
                "UPDATE entities e SET types = s.types, doc = s.doc "
                "FROM cetate_staged_entities s WHERE NOT s.is_new AND e.tenant = %s "
                "AND e.id = s.id",
                (self._tenant,),
            )

    def _flush_history(self, history: list[HistoryRow]) -> None:
        store = self._store
        moments: dict[datetime, str] = {}
        for r in history:
            if r.observed_at not in moments:
                moment = r.observed_at
                moments[moment] = (
                    moment if moment.tzinfo else moment.replace(tzinfo=UTC)
                ).isoformat()
        store._ensure_partitions({_month_start(m) for m in moments})
        series = store._series_ids(self._tenant, history)
        tenant = self._tenant
        lines = []
        for r in history:
            number = r.number
            if number is None or isinstance(number, bool):
                number = number_value(r.instance)
            lines.append(
                "\t".join(
                    (
                        str(series[(tenant, r.entity_id, r.attr, r.dataset_id or "")]),
                        moments[r.observed_at],
                        "\\N" if number is None else repr(float(number)),
                        _copy_text(_dumps_text(r.instance)),
                    )
                )
            )
        lines.append("")
        with self._conn.cursor() as cur, cur.copy(_COPY_HISTORY) as copy:
            copy.write("\n".join(lines).encode())


_COPY_ESCAPES: Final = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _array_literal(items: Sequence[str]) -> str:
    """A ``text[]`` literal: ``{"a","b"}``."""
    quoted = ('"' + str(item).replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items)
    return "{" + ",".join(quoted) + "}"


def _copy_text(value: str) -> str:
    """A value in COPY's text format: backslash, newline, carriage return and tab escaped."""
    if "\\" in value or "\n" in value or "\r" in value or "\t" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def _concurrent_insert() -> AlreadyExists:
    return AlreadyExists("an entity of this batch was created concurrently by another writer")


# -- the store ---------------------------------------------------------------------------------


_TIME_COLUMNS: Final[dict[str, LiteralString]] = {
    "observedAt": "h.observed_at",
    "createdAt": "(h.instance->>'createdAt')::timestamptz",
    "modifiedAt": "(h.instance->>'modifiedAt')::timestamptz",
}


class PostgresStore(ContextStore):
    def __init__(
        self, database_url: str, *, min_connections: int = 1, max_connections: int = 16
    ) -> None:
        url = database_url
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        self._url = url
        self._known_partitions: set[datetime] = set()
        self._side_lock = threading.Lock()
        self._series: dict[tuple[str, str, str, str], int] = {}
        """(tenant, entity id, attr, datasetId or '') → history series id"""
        settings = {"autocommit": True, "options": "-c TimeZone=UTC"}
        self._pool: ConnectionPool[Conn] = ConnectionPool(
            url,
            min_size=min_connections,
            max_size=max_connections,
            kwargs=settings,
            configure=_configure,
            open=False,
            timeout=30.0,
            name="cetate",
        )
        # Partitions and history series are created on a connection of their own while a
        # writer's transaction holds one of the main pool: a separate pool cannot deadlock.
        self._side_pool: ConnectionPool[Conn] = ConnectionPool(
            url,
            min_size=0,
            max_size=2,
            kwargs=settings,
            configure=_configure,
            open=False,
            timeout=30.0,
            name="cetate-side",
        )
        try:
            self._pool.open(wait=True, timeout=30.0)
            self._side_pool.open()
        except PoolTimeout as e:
            self.close()
            raise StoreUnavailable(
                f"cannot connect to PostgreSQL at {_redact(url)}: {e}; check that the server "
                "runs and the URL (user, password, host, port, database) is right"
            ) from e

    @contextmanager
    def _connection(self, *, side: bool = False) -> Iterator[Conn]:
        pool = self._side_pool if side else self._pool
        try:
            with pool.connection() as conn:
                yield conn
        except PoolTimeout as e:
            raise StoreUnavailable(f"no PostgreSQL connection available: {e}") from e
        except psycopg.OperationalError as e:
            raise StoreUnavailable(f"PostgreSQL is unavailable: {e}") from e

    # -- lifecycle ---------------------------------------------------------------------------
    def migrate(self) -> None:
        with self._connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            applied = {row[0] for row in conn.execute("SELECT version FROM schema_version")}
            for version, name, text in migration_files():
                if version in applied:
                    continue
                try:
                    conn.execute(text.encode())
                except (psycopg.errors.UndefinedFile, psycopg.errors.FeatureNotSupported) as e:
                    raise StoreUnavailable(
                        f"migration {name} failed: {e}. Cetate needs the PostGIS extension: "
                        "install it on the database server (Debian: postgresql-15-postgis-3)"
                    ) from e
                conn.execute(
                    "INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                    (version, name),
                )

    def schema_version(self) -> int:
        with self._connection() as conn:
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def close(self) -> None:
        self._pool.close()
        self._side_pool.close()

    def _ensure_partitions(self, months: set[datetime]) -> None:
        if months <= self._known_partitions:
            return
        with self._side_lock:
            missing = sorted(months - self._known_partitions)
            if not missing:
                return
            # in its own short transaction: the writer's transaction does not hold the DDL lock
            with self._connection(side=True) as conn:
                conn.execute(
                    "SELECT cetate_ensure_history_partition(m) FROM unnest(%s::date[]) AS m",
                    ([m.date() for m in missing],),
                )
            self._known_partitions.update(missing)

    def _series_ids(
        self, tenant: str, rows: Sequence[HistoryRow]
    ) -> dict[tuple[str, str, str, str], int]:
        """Ids of the history series of these rows, created when new (in their own short
        transaction: a series row without history is harmless, and the cache stays valid
        whatever happens to the writer's transaction)."""
        cache = self._series
        missing: dict[tuple[str, str, str, str], str] = {}
        for r in rows:
            key = (tenant, r.entity_id, r.attr, r.dataset_id or "")
            if key not in cache and key not in missing:
                missing[key] = r.entity_type
        if missing:
            keys = list(missing)
            columns = (
                [k[1] for k in keys],
                [k[2] for k in keys],
                [k[3] for k in keys],
                [missing[k] for k in keys],
            )
            with self._connection(side=True) as conn:
                conn.execute(
                    "INSERT INTO history_series (tenant, entity_id, attr, dataset_id, entity_type)"
                    " SELECT %s, * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[])"
                    " ON CONFLICT (tenant, entity_id, attr, dataset_id) DO NOTHING",
                    (tenant, *columns),
                )
                found = conn.execute(
                    "SELECT s.id, s.entity_id, s.attr, s.dataset_id FROM history_series s"
                    " JOIN unnest(%s::text[], %s::text[], %s::text[]) AS k(entity_id, attr, ds)"
                    " ON s.entity_id = k.entity_id AND s.attr = k.attr AND s.dataset_id = k.ds"
                    " WHERE s.tenant = %s",
                    (*columns[:3], tenant),
                ).fetchall()
            for series_id, entity_id, attr, dataset_id in found:
                cache[(tenant, entity_id, attr, dataset_id)] = int(series_id)
        return cache

    def history_partitions(self) -> list[str]:
        """Names of the monthly history partitions (and the default one)."""
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'history'::regclass ORDER BY c.relname"
            ).fetchall()
        return [r[0] for r in rows]

    def drop_history_before(self, cutoff: datetime) -> list[str]:
        """Retention: drop every monthly partition that ends at or before ``cutoff`` and delete
        older rows of the default partition. Returns the dropped partitions."""
        dropped: list[str] = []
        with self._connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('cetate.history_partitions'))")
            for name in self.history_partitions():
                match = re.fullmatch(r"history_y(\d{4})m(\d{2})", name)
                if not match:
                    continue
                start = datetime(int(match.group(1)), int(match.group(2)), 1, tzinfo=UTC)
                end = _month_start(start + timedelta(days=32))
                if end <= cutoff:
                    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
                    dropped.append(name)
                    self._known_partitions.discard(start)
            conn.execute("DELETE FROM history_default WHERE observed_at < %s", (cutoff,))
        return dropped

    # -- entities ----------------------------------------------------------------------------
    @contextmanager
    def transaction(self, tenant: str) -> Iterator[StoreTransaction]:
        with self._connection() as conn, conn.transaction():
            tx = PostgresTransaction(self, conn, tenant)
            yield tx
            tx.flush()

    def get_entity(self, tenant: str, entity_id: str) -> EntityDoc | None:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT doc FROM entities WHERE tenant = %s AND id = %s", (tenant, entity_id)
            ).fetchone()
        return cast(EntityDoc, row[0]) if row else None

    def get_entities(self, tenant: str, entity_ids: Sequence[str]) -> dict[str, EntityDoc]:
        ids = list(dict.fromkeys(entity_ids))
        if not ids:
            return {}
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT id, doc FROM entities WHERE tenant = %s AND id = ANY(%s)", (tenant, ids)
            ).fetchall()
        return {r[0]: r[1] for r in rows}

    def _entity_where(
        self, tenant: str, query: EntityQuery
    ) -> tuple[sql.Composable, _Where, list[Any]]:
        """The SQL part of an entity query (FROM and WHERE; rows ``e``, ordered by ``e_id``),
        and the Python filters still to apply."""
        where = _Where()
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
            where.add(_type_sql(query.types, params), *params)
        if query.ids:
            where.add(sql.SQL("e.id = ANY(%s)"), list(query.ids))
        if query.attrs is not None:
            where.add(sql.SQL("e.doc ?| %s::text[]"), sorted(query.attrs))
        if query.geo is not None:
            params = []
            where.add(_geo_sql(query.geo, params), *params)
        if query.id_pattern is not None:
            try:
                pattern = re.compile(query.id_pattern)
            except re.error as e:
                raise InvalidRequest(f"idPattern is not a valid regular expression: {e}") from e
            post.append(lambda doc, p=pattern: p.search(doc["id"]) is not None)
        if query.q is not None:
            params = []
            condition, exact = _q_sql(query.q, params)
            if condition is not None:
                where.add(condition, *params)
            if not exact:
                from cetate.ngsi.query_language import evaluate_q

                post.append(lambda doc, q=query.q: evaluate_q(q, doc))
        return source, where, post

    def _select(
        self, tenant: str, query: EntityQuery, *, columns: LiteralString = "e.doc"
    ) -> tuple[list[Any], int | None]:
        """Rows of ``columns`` for the matches of ``query`` (limit/offset applied) and the total
        when asked for."""
        source, where, post = self._entity_where(tenant, query)
        order = "t.entity_id" if isinstance(query.types, TypeName) else "e.id"
        base = sql.SQL("SELECT e.id, {} FROM {} WHERE {} ORDER BY {}").format(
            sql.SQL(columns), source, where.sql(), sql.SQL(order)
        )
        with self._connection() as conn:
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

    def query_entities(self, tenant: str, query: EntityQuery) -> QueryResult:
        docs, total = self._select(tenant, query)
        return QueryResult(entities=docs, total=total)

    def iter_entities(self, tenant: str, batch_size: int = 1000) -> Iterator[EntityDoc]:
        last = ""
        while True:
            with self._connection() as conn:
                rows = conn.execute(
                    "SELECT id, doc FROM entities WHERE tenant = %s AND id > %s "
                    "ORDER BY id LIMIT %s",
                    (tenant, last, batch_size),
                ).fetchall()
            if not rows:
                return
            for row in rows:
                yield row[1]
            last = rows[-1][0]

    def entity_types(self, tenant: str) -> list[TypeSummary]:
        with self._connection() as conn:
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

    def attributes(self, tenant: str) -> list[AttributeSummary]:
        with self._connection() as conn:
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

    # -- history -----------------------------------------------------------------------------
    def query_temporal(self, tenant: str, query: TemporalQuery) -> list[TemporalEntity]:
        docs, _ = self._select(tenant, query.entities)
        if not docs:
            return []
        entities = {
            d["id"]: TemporalEntity(id=d["id"], types=list(d.get("type", []))) for d in docs
        }
        where = _Where()
        where.add(sql.SQL("s.tenant = %s"), tenant)
        where.add(sql.SQL("s.entity_id = ANY(%s)"), list(entities))
        if query.attrs is not None:
            where.add(sql.SQL("s.attr = ANY(%s)"), sorted(query.attrs))
        time_col = sql.SQL(_TIME_COLUMNS[query.timeproperty])
        if query.timerel is not None:
            if query.time_at is None:
                raise InvalidRequest("timerel needs timeAt")
            if query.timerel == "before":
                where.add(sql.SQL("{} < %s").format(time_col), query.time_at)
            elif query.timerel == "after":
                where.add(sql.SQL("{} >= %s").format(time_col), query.time_at)
            else:
                if query.end_time_at is None:
                    raise InvalidRequest("timerel=between needs endTimeAt")
                where.add(sql.SQL("{} >= %s").format(time_col), query.time_at)
                where.add(sql.SQL("{} < %s").format(time_col), query.end_time_at)
        with self._connection() as conn:
            if query.aggr_methods:
                self._aggregate(conn, query, where, time_col, entities)
            else:
                self._history(conn, query, where, time_col, entities)
        return [entities[d["id"]] for d in docs]

    def _history(
        self,
        conn: Conn,
        query: TemporalQuery,
        where: _Where,
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
            inst.setdefault("observedAt", _iso(observed_at))
            if dataset_id:
                inst["datasetId"] = dataset_id
            entities[entity_id].history.setdefault(attr, []).append(inst)

    def _aggregate(
        self,
        conn: Conn,
        query: TemporalQuery,
        where: _Where,
        time_col: sql.Composable,
        entities: dict[str, TemporalEntity],
    ) -> None:
        """Aggregates per (entity, attribute), all datasetIds together, in buckets of
        ``aggr_period`` counted from ``timeAt`` (after/between) or from the first instance;
        without a period one bucket. Every requested method gets a value per bucket (None when
        the bucket holds no number). Same semantics as the SQLite backend."""
        methods = list(dict.fromkeys(query.aggr_methods))
        anchored = query.time_at is not None and query.timerel in ("after", "between")
        origin_sql = sql.SQL("%s::timestamptz") if anchored else sql.SQL("span.first")
        if query.aggr_period is not None:
            bucket: sql.Composable = sql.SQL("date_bin(%s::interval, h.t, {o})").format(
                o=origin_sql
            )
            bucket_params: list[Any] = [query.aggr_period]
        else:
            bucket = origin_sql
            bucket_params = []
        if anchored:
            bucket_params.append(query.time_at)
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
        single_end: datetime | None = None
        if period is None:
            if query.timerel == "between" and query.end_time_at is not None:
                single_end = query.end_time_at
            elif query.timerel == "before" and query.time_at is not None:
                single_end = query.time_at
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
            start_iso, end_iso = _iso(start), _iso(end)
            for method in methods:
                value = by_method[method]
                if value is not None:
                    counted = method in ("totalCount", "distinctCount")
                    value = int(value) if counted else float(value)
                per_attr[method].append((value, start_iso, end_iso))

    # -- tenants, users, tokens ----------------------------------------------------------------
    def list_tenants(self) -> list[Tenant]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT name, title, public_types FROM tenants ORDER BY name"
            ).fetchall()
        return [Tenant(name=n, title=t, public_types=frozenset(p)) for n, t, p in rows]

    def get_tenant(self, name: str) -> Tenant | None:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT name, title, public_types FROM tenants WHERE name = %s", (name,)
            ).fetchone()
        return Tenant(name=row[0], title=row[1], public_types=frozenset(row[2])) if row else None

    def put_tenant(self, tenant: Tenant) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT INTO tenants (name, title, public_types) VALUES (%s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET title = EXCLUDED.title, "
                "public_types = EXCLUDED.public_types",
                (tenant.name, tenant.title, sorted(tenant.public_types)),
            )

    @staticmethod
    def _user(row: tuple[Any, ...]) -> User:
        return User(
            username=row[0],
            password_hash=row[1],
            display_name=row[2],
            roles={k: cast(Role, v) for k, v in sorted(row[3].items())},
        )

    def get_user(self, username: str) -> User | None:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT username, password_hash, display_name, roles FROM users "
                "WHERE username = %s",
                (username,),
            ).fetchone()
        return self._user(row) if row else None

    def put_user(self, user: User) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT INTO users (username, password_hash, display_name, roles) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (username) DO UPDATE SET "
                "password_hash = EXCLUDED.password_hash, display_name = EXCLUDED.display_name, "
                "roles = EXCLUDED.roles",
                (user.username, user.password_hash, user.display_name, Jsonb(dict(user.roles))),
            )

    def list_users(self, tenant: str) -> list[User]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT username, password_hash, display_name, roles FROM users "
                "WHERE roles ? %s ORDER BY username",
                (tenant,),
            ).fetchall()
        return [self._user(r) for r in rows]

    @staticmethod
    def _token(row: tuple[Any, ...]) -> ApiToken:
        return ApiToken(
            token_id=row[0],
            token_hash=row[1],
            tenant=row[2],
            role=row[3],
            label=row[4],
            created_at=row[5],
            revoked=bool(row[6]),
        )

    def put_token(self, token: ApiToken) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT INTO api_tokens (token_id, token_hash, tenant, role, label, created_at, "
                "revoked) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (token_id) DO UPDATE "
                "SET token_hash = EXCLUDED.token_hash, tenant = EXCLUDED.tenant, "
                "role = EXCLUDED.role, label = EXCLUDED.label, revoked = EXCLUDED.revoked",
                (
                    token.token_id,
                    token.token_hash,
                    token.tenant,
                    token.role,
                    token.label,
                    token.created_at,
                    token.revoked,
                ),
            )

    def find_token(self, token_hash: str) -> ApiToken | None:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT token_id, token_hash, tenant, role, label, created_at, revoked "
                "FROM api_tokens WHERE token_hash = %s",
                (token_hash,),
            ).fetchone()
        return self._token(row) if row else None

    def list_tokens(self, tenant: str) -> list[ApiToken]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT token_id, token_hash, tenant, role, label, created_at, revoked "
                "FROM api_tokens WHERE tenant = %s ORDER BY created_at, token_id",
                (tenant,),
            ).fetchall()
        return [self._token(r) for r in rows]

    def revoke_token(self, token_id: str) -> None:
        with self._connection() as conn:
            conn.execute("UPDATE api_tokens SET revoked = true WHERE token_id = %s", (token_id,))

    def get_setting(self, key: str) -> str | None:
        with self._connection() as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = %s", (key,)).fetchone()
        return cast(str, row[0]) if row else None

    def put_setting(self, key: str, value: str) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                (key, value),
            )


def _redact(url: str) -> str:
    """The URL without its password, for error messages."""
    return re.sub(r"(//[^:/@]+):[^@/]*@", r"\1:***@", url)


__all__ = ["PostgresStore", "PostgresTransaction", "migration_files"]
