"""The embedded SQLite backend of the context store.

Design (see ``migrations/sqlite/0001_initial.sql`` for the tables):

* one file in WAL mode, ``synchronous=NORMAL``; one connection per reading thread, one writer
  connection whose transactions (``BEGIN IMMEDIATE``) are serialised by a lock;
* entity documents are JSON text; every attribute instance is mirrored into ``entity_attrs``
  with its scalar value in an untyped column indexed by ``(attr_id, val)``, so that ``q``
  comparisons, ``attrs=`` and existence run as index lookups; type filters use
  ``entity_types``; geo-queries use an R*Tree of bounding boxes and then the exact test of
  :func:`cetate.ngsi.geo.geo_matches`;
* attribute and type IRIs are interned per tenant (``names``), so an id implies its tenant and
  indexes hold small integers;
* history rows point at a ``series`` (entity, attribute, datasetId) and keep ``observed_at`` as
  integer milliseconds and the numeric value in a REAL column: aggregations are SQL.

Only the side-table rows that changed are rewritten on ``replace`` (the old form is remembered
from ``get_for_update``), which keeps the batch-upsert ingest path cheap.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Final

from cetate.errors import AlreadyExists, InvalidRequest, ResourceNotFound, StoreUnavailable
from cetate.ngsi.model import ENTITY_KEYWORDS, EntityDoc
from cetate.ngsi.query_ast import (
    And,
    Comparison,
    Exists,
    Or,
    QueryNode,
    TypeAnd,
    TypeExpr,
    TypeName,
    ValueList,
    ValueRange,
)
from cetate.store.base import (
    ApiToken,
    AttributeSummary,
    ContextStore,
    EntityQuery,
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
from cetate.store.sql_common import (
    AttrKey,
    comparison_kind,
    dumps,
    entity_types_of,
    indexed_form,
    iso,
    iso_from_ms,
    loads,
    number_value,
    period_ms,
    population_stddev,
    scalar_value,
    to_ms,
    with_timestamps,
)

GEO_SLOTS: Final = 4096
"""R*Tree row ids are ``entity_pk * GEO_SLOTS + n`` for the n-th GeoProperty instance."""

_MIGRATIONS_PACKAGE: Final = "cetate.store.migrations.sqlite"


def _regexp(pattern: str, value: Any) -> bool:
    return isinstance(value, str) and re.search(pattern, value) is not None


def database_path(database_url: str) -> str:
    """``sqlite:///relative/or/absolute`` → the file path (``sqlite:////abs`` also works)."""
    if not database_url.startswith("sqlite:"):
        raise InvalidRequest(f"not a SQLite URL: {database_url!r}")
    rest = database_url[len("sqlite:") :]
    if rest.startswith("///"):
        rest = rest[3:]
        if rest.startswith("/"):
            rest = "/" + rest.lstrip("/")
    elif rest.startswith("//"):
        rest = rest[2:]
    if not rest or rest == ":memory:":
        raise InvalidRequest(
            "the SQLite store needs a file (several connections share it): "
            "use sqlite:///path/to/file.db"
        )
    return rest


@dataclass(slots=True)
class _Current:
    pk: int
    doc: EntityDoc
    """a shallow copy of the document as read or last written in this transaction: its
    attribute values are the very lists of the caller's document, so an attribute whose list
    is the same object in the next document written has not changed"""


class SQLiteStore(ContextStore):
    """The context store in one SQLite file."""

    def __init__(self, database_url: str) -> None:
        self.path = database_path(database_url)
        parent = Path(self.path).parent
        if not parent.exists():
            parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._closed = False
        self._stop = threading.Event()
        self._committed = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self._names: dict[tuple[str, str], int] = {}
        """(tenant, IRI) → names.id, committed rows only"""
        self._series: dict[tuple[int, str, str], int] = {}
        """(attr_id, entity id, datasetId or '') → series.id, committed rows only"""

    # -- connections ---------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        try:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=30.0,
                cached_statements=512,
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA cache_size=-65536")
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute("PRAGMA mmap_size=268435456")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open SQLite database {self.path}: {exc}") from exc
        conn.create_function("regexp", 2, _regexp, deterministic=True)
        with self._connections_lock:
            self._connections.append(conn)
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot for a multi-statement read."""
        conn = self._reader()
        if conn.in_transaction:  # re-entrant use on the same thread
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def _writer_connection(self) -> sqlite3.Connection:
        """The one writing connection (call with the write lock held). Its commits do not
        checkpoint the WAL: a background thread does, so the writer never waits for the copy
        of pages into the database file and its fsync."""
        if self._writer is None:
            self._writer = self._connect()
            self._writer.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = threading.Thread(
                target=self._checkpoint_loop, name="cetate-sqlite-checkpoint", daemon=True
            )
            self._checkpointer.start()
        return self._writer

    def _checkpoint_loop(self) -> None:
        try:
            conn = self._connect()
        except StoreUnavailable:
            return
        while not self._stop.is_set():
            if not self._committed.wait(0.5):
                continue
            self._committed.clear()
            if self._stop.wait(0.2):  # let a burst of commits gather
                break
            with suppress(sqlite3.Error):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            conn = self._writer_connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            self._committed.set()

    # -- lifecycle -----------------------------------------------------------------------
    def migrate(self) -> None:
        scripts = sorted(
            (int(item.name.split("_", 1)[0]), item)
            for item in resources.files(_MIGRATIONS_PACKAGE).iterdir()
            if item.name.endswith(".sql") and item.name[:4].isdigit()
        )
        with self._write_lock:
            conn = self._writer_connection()
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version "
                "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            for version, script in scripts:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    done = conn.execute(
                        "SELECT 1 FROM schema_version WHERE version = ?", (version,)
                    ).fetchone()
                    if done is None:
                        for statement in _split_sql(script.read_text(encoding="utf-8")):
                            conn.execute(statement)
                        conn.execute(
                            "INSERT INTO schema_version VALUES (?, datetime('now'))", (version,)
                        )
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise

    def schema_version(self) -> int:
        with self._read() as conn:
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def close(self) -> None:
        self._stop.set()
        if self._checkpointer is not None:
            self._checkpointer.join()
            self._checkpointer = None
        with self._write_lock:
            if self._writer is not None:
                with suppress(sqlite3.Error):
                    self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with self._connections_lock:
            connections, self._connections = self._connections, []
            self._closed = True
        for conn in connections:
            with suppress(sqlite3.Error):
                conn.close()
        self._writer = None

    # -- names ---------------------------------------------------------------------------
    def _lookup_name(self, conn: sqlite3.Connection, tenant: str, iri: str) -> int | None:
        """The id of an IRI in a tenant, or None when no entity of that tenant ever used it."""
        key = (tenant, iri)
        found = self._names.get(key)
        if found is not None:
            return found
        row = conn.execute(
            "SELECT id FROM names WHERE tenant = ? AND iri = ?", (tenant, iri)
        ).fetchone()
        if row is None:
            return None
        self._names[key] = int(row[0])
        return int(row[0])

    # -- entities ------------------------------------------------------------------------
    def transaction(self, tenant: str) -> AbstractContextManager[StoreTransaction]:
        return self._transaction(tenant)

    @contextmanager
    def _transaction(self, tenant: str) -> Iterator[StoreTransaction]:
        tx: _SQLiteTransaction | None = None
        with self._write() as conn:
            tx = _SQLiteTransaction(self, conn, tenant)
            yield tx
            tx.flush()
        # committed: the names and series created in it are now real
        self._names.update(tx.new_names)
        self._series.update(tx.new_series)

    def get_entity(self, tenant: str, entity_id: str) -> EntityDoc | None:
        row = (
            self._reader()
            .execute("SELECT doc FROM entities WHERE tenant = ? AND eid = ?", (tenant, entity_id))
            .fetchone()
        )
        return None if row is None else _doc(row[0])

    def get_entities(self, tenant: str, entity_ids: Sequence[str]) -> dict[str, EntityDoc]:
        if not entity_ids:
            return {}
        rows = (
            self._reader()
            .execute(
                "SELECT eid, doc FROM entities WHERE tenant = ? "
                "AND eid IN (SELECT value FROM json_each(?))",
                (tenant, dumps(list(entity_ids))),
            )
            .fetchall()
        )
        return {eid: _doc(doc) for eid, doc in rows}

    def iter_entities(self, tenant: str, batch_size: int = 1000) -> Iterator[EntityDoc]:
        after = ""
        while True:
            rows = (
                self._reader()
                .execute(
                    "SELECT eid, doc FROM entities WHERE tenant = ? AND eid > ? "
                    "ORDER BY eid LIMIT ?",
                    (tenant, after, batch_size),
                )
                .fetchall()
            )
            for _, doc in rows:
                yield _doc(doc)
            if len(rows) < batch_size:
                return
            after = rows[-1][0]

    def query_entities(self, tenant: str, query: EntityQuery) -> QueryResult:
        with self._read() as conn:
            return _EntityQueryRunner(self, conn, tenant).run(query)

    def entity_types(self, tenant: str) -> list[TypeSummary]:
        with self._read() as conn:
            counts = conn.execute(
                "SELECT n.iri, count(*) FROM entity_types t JOIN names n ON n.id = t.type_id "
                "WHERE n.tenant = ? GROUP BY n.iri ORDER BY n.iri",
                (tenant,),
            ).fetchall()
            attrs: dict[str, set[str]] = {}
            for type_iri, attr_iri in conn.execute(
                "SELECT DISTINCT tn.iri, an.iri FROM names tn "
                "JOIN entity_types t ON t.type_id = tn.id "
                "JOIN entity_attrs v ON v.entity_pk = t.entity_pk "
                "JOIN names an ON an.id = v.attr_id WHERE tn.tenant = ?",
                (tenant,),
            ):
                attrs.setdefault(type_iri, set()).add(attr_iri)
        return [
            TypeSummary(type=iri, entity_count=count, attributes=frozenset(attrs.get(iri, ())))
            for iri, count in counts
        ]

    def attributes(self, tenant: str) -> list[AttributeSummary]:
        with self._read() as conn:
            counts = conn.execute(
                "SELECT n.iri, count(*) FROM entity_attrs v JOIN names n ON n.id = v.attr_id "
                "WHERE n.tenant = ? GROUP BY n.iri ORDER BY n.iri",
                (tenant,),
            ).fetchall()
            kinds: dict[str, set[str]] = {}
            for attr_iri, kind in conn.execute(
                "SELECT DISTINCT n.iri, v.atype FROM entity_attrs v "
                "JOIN names n ON n.id = v.attr_id WHERE n.tenant = ?",
                (tenant,),
            ):
                kinds.setdefault(attr_iri, set()).add(kind)
            types: dict[str, set[str]] = {}
            for attr_iri, type_iri in conn.execute(
                "SELECT DISTINCT an.iri, tn.iri FROM names an "
                "JOIN entity_attrs v ON v.attr_id = an.id "
                "JOIN entity_types t ON t.entity_pk = v.entity_pk "
                "JOIN names tn ON tn.id = t.type_id WHERE an.tenant = ?",
                (tenant,),
            ):
                types.setdefault(attr_iri, set()).add(type_iri)
        return [
            AttributeSummary(
                attribute=iri,
                attribute_count=count,
                types=frozenset(types.get(iri, ())),
                attribute_types=frozenset(kinds.get(iri, ())),
            )
            for iri, count in counts
        ]

    # -- history -------------------------------------------------------------------------
    def query_temporal(self, tenant: str, query: TemporalQuery) -> list[TemporalEntity]:
        with self._read() as conn:
            return _TemporalQueryRunner(self, conn, tenant).run(query)

    # -- tenants, users, tokens, settings ------------------------------------------------
    def list_tenants(self) -> list[Tenant]:
        rows = (
            self._reader()
            .execute("SELECT name, title, public_types FROM tenants ORDER BY name")
            .fetchall()
        )
        return [_tenant(row) for row in rows]

    def get_tenant(self, name: str) -> Tenant | None:
        row = (
            self._reader()
            .execute("SELECT name, title, public_types FROM tenants WHERE name = ?", (name,))
            .fetchone()
        )
        return None if row is None else _tenant(row)

    def put_tenant(self, tenant: Tenant) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO tenants (name, title, public_types) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET title = excluded.title, "
                "public_types = excluded.public_types",
                (tenant.name, tenant.title, dumps(sorted(tenant.public_types))),
            )

    def get_user(self, username: str) -> User | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT username, password_hash, display_name FROM users WHERE username = ?",
                (username,),
            ).fetchone()
            if row is None:
                return None
            return self._user(conn, row)

    @staticmethod
    def _user(conn: sqlite3.Connection, row: Sequence[Any]) -> User:
        roles = conn.execute(
            "SELECT tenant, role FROM user_roles WHERE username = ? ORDER BY tenant", (row[0],)
        ).fetchall()
        return User(
            username=row[0],
            password_hash=row[1],
            display_name=row[2],
            roles={tenant: role for tenant, role in roles},
        )

    def put_user(self, user: User) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO users (username, password_hash, display_name) VALUES (?, ?, ?) "
                "ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, "
                "display_name = excluded.display_name",
                (user.username, user.password_hash, user.display_name),
            )
            conn.execute("DELETE FROM user_roles WHERE username = ?", (user.username,))
            conn.executemany(
                "INSERT INTO user_roles (username, tenant, role) VALUES (?, ?, ?)",
                [(user.username, tenant, role) for tenant, role in user.roles.items()],
            )

    def list_users(self, tenant: str) -> list[User]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT u.username, u.password_hash, u.display_name FROM users u "
                "JOIN user_roles r ON r.username = u.username WHERE r.tenant = ? "
                "ORDER BY u.username",
                (tenant,),
            ).fetchall()
            return [self._user(conn, row) for row in rows]

    def put_token(self, token: ApiToken) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO api_tokens (token_id, token_hash, tenant, role, label, created_at, "
                "revoked) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (token_id) DO UPDATE SET "
                "token_hash = excluded.token_hash, tenant = excluded.tenant, "
                "role = excluded.role, label = excluded.label, "
                "created_at = excluded.created_at, revoked = excluded.revoked",
                (
                    token.token_id,
                    token.token_hash,
                    token.tenant,
                    token.role,
                    token.label,
                    iso(token.created_at),
                    int(token.revoked),
                ),
            )

    def find_token(self, token_hash: str) -> ApiToken | None:
        row = (
            self._reader()
            .execute(
                f"SELECT {_API_TOKEN_FIELDS} FROM api_tokens WHERE token_hash = ?", (token_hash,)
            )
            .fetchone()
        )
        return None if row is None else _token(row)

    def list_tokens(self, tenant: str) -> list[ApiToken]:
        rows = (
            self._reader()
            .execute(
                f"SELECT {_API_TOKEN_FIELDS} FROM api_tokens WHERE tenant = ? "
                "ORDER BY created_at, token_id",
                (tenant,),
            )
            .fetchall()
        )
        return [_token(row) for row in rows]

    def revoke_token(self, token_id: str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE api_tokens SET revoked = 1 WHERE token_id = ?", (token_id,))

    def get_setting(self, key: str) -> str | None:
        row = self._reader().execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put_setting(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )


_API_TOKEN_FIELDS: Final = ", ".join(
    ("token_id", "token_hash", "tenant", "role", "label", "created_at", "revoked")
)


def _doc(text: str) -> EntityDoc:
    doc: EntityDoc = loads(text)
    return doc


def _tenant(row: Sequence[Any]) -> Tenant:
    return Tenant(name=row[0], title=row[1], public_types=frozenset(loads(row[2])))


def _token(row: Sequence[Any]) -> ApiToken:
    from cetate.ngsi.timestamps import parse_datetime

    role: Role = row[3]
    return ApiToken(
        token_id=row[0],
        token_hash=row[1],
        tenant=row[2],
        role=role,
        label=row[4],
        created_at=parse_datetime(row[5]),
        revoked=bool(row[6]),
    )


def _split_sql(script: str) -> list[str]:
    """Statements of a migration file (no semicolons inside string literals or triggers)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


# -- writes ------------------------------------------------------------------------------------


def _attribute_values(
    doc: EntityDoc, attrs: Sequence[str]
) -> tuple[dict[AttrKey, tuple[str, Any]], bool]:
    """The ``attrs`` part of :attr:`IndexedForm.attrs` of ``doc`` (see
    :func:`cetate.store.sql_common.indexed_form`), and whether any of those instances is a
    GeoProperty."""
    values: dict[AttrKey, tuple[str, Any]] = {}
    geo = False
    for attr in attrs:
        instances = doc.get(attr)
        if isinstance(instances, dict):
            instances = [instances]
        elif not isinstance(instances, list):
            continue
        for position, instance in enumerate(instances):
            if not isinstance(instance, dict):
                continue
            kind = instance.get("type", "Property")
            if type(kind) is not str:
                kind = str(kind)
            elif kind == "GeoProperty":
                geo = True
            values[(attr, position)] = (kind, scalar_value(instance))
    return values, geo


class _SQLiteTransaction(StoreTransaction):
    """Writes of one tenant. Document rewrites and changed attribute values are buffered and
    sent with one ``executemany`` each (:meth:`flush`: before any read or other write that could
    see them, and before commit); history rows are sent in one ``executemany`` per call."""

    def __init__(self, store: SQLiteStore, conn: sqlite3.Connection, tenant: str) -> None:
        self._store = store
        self._conn = conn
        self._tenant = tenant
        self._current: dict[str, _Current] = {}
        self.new_names: dict[tuple[str, str], int] = {}
        self.new_series: dict[tuple[int, str, str], int] = {}
        self._doc_updates: list[tuple[str, int]] = []
        """(document JSON, pk) for ``UPDATE entities``"""
        self._value_updates: list[tuple[str, Any, int, int, int]] = []
        """(atype, val, pk, attr_id, inst) for ``UPDATE entity_attrs``"""

    def flush(self) -> None:
        """Send the buffered document rewrites and attribute-value updates."""
        self._flush_values()
        if self._doc_updates:
            updates, self._doc_updates = self._doc_updates, []
            self._conn.executemany("UPDATE entities SET doc = ? WHERE pk = ?", updates)

    def _flush_values(self) -> None:
        if self._value_updates:
            updates, self._value_updates = self._value_updates, []
            self._conn.executemany(
                "UPDATE entity_attrs SET atype = ?, val = ? "
                "WHERE entity_pk = ? AND attr_id = ? AND inst = ?",
                updates,
            )

    def _name_id(self, iri: str) -> int:
        key = (self._tenant, iri)
        found = self._store._names.get(key)
        if found is None:
            found = self.new_names.get(key)
        if found is not None:
            return found
        row = self._conn.execute(
            "SELECT id FROM names WHERE tenant = ? AND iri = ?", key
        ).fetchone()
        if row is not None:
            self._store._names[key] = int(row[0])
            return int(row[0])
        cursor = self._conn.execute("INSERT INTO names (tenant, iri) VALUES (?, ?)", key)
        new_id = int(cursor.lastrowid or 0)
        self.new_names[key] = new_id
        return new_id

    def get_for_update(self, entity_ids: Sequence[str]) -> dict[str, EntityDoc]:
        if not entity_ids:
            return {}
        self.flush()
        rows = self._conn.execute(
            "SELECT pk, eid, doc FROM entities WHERE tenant = ? "
            "AND eid IN (SELECT value FROM json_each(?))",
            (self._tenant, dumps(list(entity_ids))),
        ).fetchall()
        found: dict[str, EntityDoc] = {}
        current = self._current
        for pk, eid, text in rows:
            doc = _doc(text)
            current[eid] = _Current(pk, dict(doc))
            found[eid] = doc
        return found

    def _load(self, entity_id: str) -> _Current | None:
        current = self._current.get(entity_id)
        if current is not None:
            return current
        self.flush()
        row = self._conn.execute(
            "SELECT pk, doc FROM entities WHERE tenant = ? AND eid = ?",
            (self._tenant, entity_id),
        ).fetchone()
        if row is None:
            return None
        current = _Current(int(row[0]), _doc(row[1]))
        self._current[entity_id] = current
        return current

    def insert(self, entity: EntityDoc) -> None:
        entity_id = entity["id"]
        self.flush()
        try:
            cursor = self._conn.execute(
                "INSERT INTO entities (tenant, eid, doc) VALUES (?, ?, ?)",
                (self._tenant, entity_id, dumps(entity)),
            )
        except sqlite3.IntegrityError:
            raise AlreadyExists(f"entity {entity_id} already exists") from None
        pk = int(cursor.lastrowid or 0)
        form = indexed_form(entity)
        self._write_types(pk, entity_id, None, form.types)
        self._write_attrs(pk, None, form.attrs)
        self._write_geos(pk, None, form.geos)
        self._current[entity_id] = _Current(pk, dict(entity))

    def replace(self, entity: EntityDoc) -> None:
        """Rewrite the document; the side tables are diffed only for the attributes whose
        instance lists are not the very ones of the document read or last written."""
        entity_id = entity["id"]
        current = self._load(entity_id)
        if current is None:
            raise ResourceNotFound(f"entity {entity_id} does not exist")
        pk = current.pk
        self._doc_updates.append((dumps(entity), pk))
        old_doc = current.doc
        new_doc = dict(entity)
        touched = [
            key
            for key, value in new_doc.items()
            if key not in ENTITY_KEYWORDS and old_doc.get(key) is not value
        ]
        touched.extend(key for key in old_doc if key not in ENTITY_KEYWORDS and key not in new_doc)
        old_types = entity_types_of(old_doc)
        new_types = entity_types_of(new_doc)
        if old_types != new_types:
            self._write_types(pk, entity_id, old_types, new_types)
        if touched:
            old_values, old_geo = _attribute_values(old_doc, touched)
            new_values, new_geo = _attribute_values(new_doc, touched)
            self._write_attrs(pk, old_values, new_values)
            if old_geo or new_geo:
                # a geometry may have changed: R*Tree slots are numbered over the whole entity
                self._write_geos(pk, indexed_form(old_doc).geos, indexed_form(new_doc).geos)
        current.doc = new_doc

    def delete(self, entity_id: str) -> None:
        current = self._load(entity_id)
        if current is None:
            raise ResourceNotFound(f"entity {entity_id} does not exist")
        self.flush()
        conn = self._conn
        conn.execute("DELETE FROM entities WHERE pk = ?", (current.pk,))
        conn.execute("DELETE FROM entity_attrs WHERE entity_pk = ?", (current.pk,))
        old = indexed_form(current.doc)
        self._write_types(current.pk, entity_id, old.types, ())
        self._write_geos(current.pk, old.geos, [])
        del self._current[entity_id]

    def _write_types(
        self, pk: int, entity_id: str, old: tuple[str, ...] | None, new: tuple[str, ...]
    ) -> None:
        if old is not None and old == new:
            return
        conn = self._conn
        if old:
            conn.executemany(
                "DELETE FROM entity_types WHERE type_id = ? AND eid = ?",
                [(self._name_id(t), entity_id) for t in old],
            )
        if new:
            conn.executemany(
                "INSERT OR IGNORE INTO entity_types (type_id, eid, entity_pk) VALUES (?, ?, ?)",
                [(self._name_id(t), entity_id, pk) for t in new],
            )

    def _write_attrs(
        self,
        pk: int,
        old: dict[AttrKey, tuple[str, Any]] | None,
        new: dict[AttrKey, tuple[str, Any]],
    ) -> None:
        """Side-table rows of the instances in ``old`` and ``new`` (forms of the same
        attributes): rows gone are deleted, new rows inserted, changed values updated (those
        buffered until :meth:`flush`)."""
        conn = self._conn
        name_id = self._name_id
        if old is None:
            changed = list(new.items())
        else:
            gone = [key for key in old if key not in new]
            changed = []
            updates = self._value_updates
            for key, value in new.items():
                before = old.get(key)
                if before is None:
                    changed.append((key, value))
                elif before != value or type(before[1]) is not type(value[1]):
                    updates.append((value[0], value[1], pk, name_id(key[0]), key[1]))
            if gone:
                self._flush_values()
                conn.executemany(
                    "DELETE FROM entity_attrs WHERE entity_pk = ? AND attr_id = ? AND inst = ?",
                    [(pk, name_id(attr), position) for attr, position in gone],
                )
        if changed:
            self._flush_values()
            conn.executemany(
                "INSERT OR REPLACE INTO entity_attrs (entity_pk, attr_id, inst, atype, val) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    (pk, name_id(attr), position, kind, value)
                    for (attr, position), (kind, value) in changed
                ],
            )

    def _write_geos(
        self, pk: int, old: list[tuple[str, str]] | None, new: list[tuple[str, str]]
    ) -> None:
        if old is not None and old == new:
            return
        conn = self._conn
        if old:
            conn.executemany(
                "DELETE FROM geo_index WHERE id = ?",
                [(pk * GEO_SLOTS + n,) for n in range(len(old))],
            )
        if new:
            from cetate.ngsi.geo import bounding_box

            rows = []
            for n, (attr, geometry) in enumerate(new[:GEO_SLOTS]):
                min_lon, min_lat, max_lon, max_lat = bounding_box(loads(geometry))
                rows.append(
                    (
                        pk * GEO_SLOTS + n,
                        min_lon,
                        max_lon,
                        min_lat,
                        max_lat,
                        pk,
                        self._name_id(attr),
                        geometry,
                    )
                )
            conn.executemany("INSERT INTO geo_index VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def append_history(self, rows: Sequence[HistoryRow]) -> None:
        if not rows:
            return
        series = self._store._series
        new_series = self.new_series
        name_id = self._name_id
        attr_ids: dict[str, int] = {}
        params: list[tuple[int, int, float | None, str]] = []
        append = params.append
        for row in rows:
            attr_id = attr_ids.get(row.attr)
            if attr_id is None:
                attr_id = attr_ids[row.attr] = name_id(row.attr)
            key = (attr_id, row.entity_id, row.dataset_id or "")
            series_id = series.get(key)
            if series_id is None:
                series_id = new_series.get(key)
                if series_id is None:
                    series_id = self._create_series(key, row.entity_type)
            number = row.number
            if number is None or isinstance(number, bool):
                number = number_value(row.instance)
            append((series_id, to_ms(row.observed_at), number, dumps(row.instance)))
        self._conn.executemany(
            "INSERT INTO history (series_id, observed_at, number, instance) VALUES (?, ?, ?, ?)",
            params,
        )

    def _create_series(self, key: tuple[int, str, str], entity_type: str) -> int:
        row = self._conn.execute(
            "SELECT id FROM series WHERE attr_id = ? AND eid = ? AND dataset_id = ?", key
        ).fetchone()
        if row is not None:
            self._store._series[key] = int(row[0])
            return int(row[0])
        cursor = self._conn.execute(
            "INSERT INTO series (attr_id, eid, dataset_id, entity_type) VALUES (?, ?, ?, ?)",
            (*key, entity_type),
        )
        series_id = int(cursor.lastrowid or 0)
        self.new_series[key] = series_id
        return series_id


# -- entity queries ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Plan:
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


class _EntityQueryRunner:
    """Plans an :class:`EntityQuery` as a scan of narrow keys (``k``: the type's rows of
    ``entity_types`` in id order, or the tenant's ``(tenant, eid)`` index) filtered by probes
    into ``entity_attrs`` by primary key; documents are read only for the page returned."""

    def __init__(self, store: SQLiteStore, conn: sqlite3.Connection, tenant: str) -> None:
        self.store = store
        self.conn = conn
        self.tenant = tenant
        self.pk = "k.pk"

    def name(self, iri: str) -> int | None:
        return self.store._lookup_name(self.conn, self.tenant, iri)

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
            return QueryResult([_doc(row[0]) for row in rows], total)
        from cetate.ngsi.query_language import evaluate_q

        matched: list[EntityDoc] = []
        for (text,) in self.conn.execute(
            f"SELECT e.doc FROM {plan.source} JOIN entities e ON e.pk = {plan.pk} "
            f"WHERE {where} ORDER BY k.eid",
            plan.params,
        ):
            doc = _doc(text)
            if evaluate_q(plan.residual_q, doc):
                matched.append(doc)
        start = max(query.offset, 0)
        page = matched[start : start + max(query.limit, 0)]
        return QueryResult(page, len(matched) if query.count else None)

    def select_keys(self, query: EntityQuery) -> list[tuple[str, list[str]]]:
        """(id, types) of every match, in id order, with limit/offset applied."""
        return [(doc["id"], list(doc.get("type", []))) for doc in self.run(query).entities]

    # -- planning ------------------------------------------------------------------------
    def plan(self, query: EntityQuery) -> _Plan:
        geo_pks: list[int] | None = None
        if query.geo is not None:
            geo_pks = self.geo_matches(query)
            if not geo_pks:
                return _Plan("entities k", "k.pk", [], [], empty=True)
        single_type = isinstance(query.types, TypeName) and not query.ids and geo_pks is None
        if single_type:
            assert isinstance(query.types, TypeName)
            type_id = self.name(query.types.name)
            if type_id is None:
                return _Plan("entities k", "k.pk", [], [], empty=True)
            plan = _Plan("entity_types k", "k.entity_pk", ["k.type_id = ?"], [type_id])
        else:
            plan = _Plan("entities k", "k.pk", ["k.tenant = ?"], [self.tenant])
        self.pk = plan.pk
        if geo_pks is not None:
            plan.where.append("k.pk IN (SELECT value FROM json_each(?))")
            plan.params.append(dumps(geo_pks))
        if query.types is not None and not single_type:
            sql = self.types_sql(query.types, plan.params)
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
                f"EXISTS (SELECT 1 FROM entity_attrs v WHERE v.entity_pk = {self.pk} "
                f"AND v.attr_id IN ({_marks(ids)}))"
            )
            plan.params.extend(ids)
        if query.q is not None:
            q_sql, exact = self.q_sql(query.q, plan.params)
            if q_sql == "0" and exact:
                plan.empty = True
                return plan
            if q_sql is not None:
                plan.where.append(q_sql)
            if not exact:
                plan.residual_q = query.q
        return plan

    def types_sql(self, expr: TypeExpr, params: list[Any]) -> str:
        if isinstance(expr, TypeName) or (
            not isinstance(expr, TypeAnd) and all(isinstance(i, TypeName) for i in expr.items)
        ):
            names = [expr] if isinstance(expr, TypeName) else list(expr.items)
            ids = [
                i
                for i in (self.name(n.name) for n in names if isinstance(n, TypeName))
                if i is not None
            ]
            if not ids:
                return "0"
            params.extend(ids)
            return (
                "EXISTS (SELECT 1 FROM entity_types t "
                f"WHERE t.type_id IN ({_marks(ids)}) AND t.eid = k.eid)"
            )
        parts = []
        for item in expr.items:
            sub_params: list[Any] = []
            sql = self.types_sql(item, sub_params)
            if isinstance(expr, TypeAnd) and sql == "0":
                return "0"
            if sql == "0":
                continue
            parts.append(sql)
            params.extend(sub_params)
        if not parts:
            return "0"
        joiner = " AND " if isinstance(expr, TypeAnd) else " OR "
        return "(" + joiner.join(parts) + ")"

    def q_sql(self, node: QueryNode, params: list[Any]) -> tuple[str | None, bool]:
        """(SQL condition or None, exact). Exact means the SQL alone decides; otherwise the SQL
        (when given) is a pre-filter that keeps every match and Python decides the rest."""
        if isinstance(node, And | Or):
            parts: list[tuple[str | None, bool, list[Any]]] = []
            for item in node.items:
                sub_params: list[Any] = []
                sql, exact = self.q_sql(item, sub_params)
                parts.append((sql, exact, sub_params))
            if isinstance(node, And):
                kept = [(s, p) for s, _, p in parts if s is not None]
                exact = all(e for _, e, _ in parts)
                if not kept:
                    return None, exact
                for _, sub_params in kept:
                    params.extend(sub_params)
                return "(" + " AND ".join(s for s, _ in kept) + ")", exact
            if any(s is None for s, _, _ in parts):
                return None, False
            for _, _, sub_params in parts:
                params.extend(sub_params)
            return "(" + " OR ".join(s for s, _, _ in parts if s) + ")", all(e for _, e, _ in parts)
        if isinstance(node, Exists):
            if node.path.sub or node.path.member:
                return None, False
            attr_id = self.name(node.path.attr)
            if attr_id is None:
                return "0", True
            params.append(attr_id)
            return self.probe(""), True
        return self.comparison_sql(node, params)

    def comparison_sql(self, node: Comparison, params: list[Any]) -> tuple[str | None, bool]:
        kind = comparison_kind(node)
        if kind is None:
            if node.path.sub or node.path.member:
                # the attribute must at least exist: a sound pre-filter
                attr_id = self.name(node.path.attr)
                if attr_id is None:
                    return "0", True
                params.append(attr_id)
                return self.probe(""), False
            return None, False
        attr_id = self.name(node.path.attr)
        if attr_id is None:
            return "0", True
        value = node.value
        cond: str
        values: list[Any]
        if node.op in ("~=", "!~="):
            cond = "typeof(v.val) = 'text' AND " + (
                "regexp(?, v.val)" if node.op == "~=" else "NOT regexp(?, v.val)"
            )
            values = [value]
        elif isinstance(value, ValueRange):
            cond = "v.val >= ? AND v.val <= ?"
            if node.op == "!=":
                cond = f"(v.val IS NULL OR NOT ({cond}))"
            values = [value.low, value.high]
        elif isinstance(value, ValueList):
            cond = f"v.val IN ({_marks(value.items)})"
            if node.op == "!=":
                cond = f"(v.val IS NULL OR NOT ({cond}))"
            values = list(value.items)
        else:
            # numbers sort before text, text before blobs: bound the range to one kind
            upper = "''" if kind == "number" else "X''"
            lower = "" if kind == "number" else " AND v.val >= ''"
            cond = {
                "==": "v.val = ?",
                "!=": "(v.val IS NULL OR v.val <> ?)",
                ">": f"v.val > ? AND v.val < {upper}",
                ">=": f"v.val >= ? AND v.val < {upper}",
                "<": f"v.val < ?{lower}",
                "<=": f"v.val <= ?{lower}",
            }[node.op]
            values = [value]
        params.append(attr_id)
        params.extend(values)
        return self.probe(cond), True

    def probe(self, cond: str) -> str:
        """An instance of the attribute (``attr_id`` bound next) satisfies ``cond``. The unary
        ``+`` keeps SQLite on the primary key (entity_pk, attr_id) for the probe."""
        cond = cond.replace("v.val", "+v.val")
        return (
            f"EXISTS (SELECT 1 FROM entity_attrs v WHERE v.entity_pk = {self.pk} "
            f"AND v.attr_id = ?{' AND ' + cond if cond else ''})"
        )

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


def _marks(items: Sequence[Any]) -> str:
    return ", ".join("?" * len(items))


# -- temporal queries --------------------------------------------------------------------------


class _TemporalQueryRunner:
    def __init__(self, store: SQLiteStore, conn: sqlite3.Connection, tenant: str) -> None:
        self.store = store
        self.conn = conn
        self.tenant = tenant

    def run(self, query: TemporalQuery) -> list[TemporalEntity]:
        runner = _EntityQueryRunner(self.store, self.conn, self.tenant)
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
            attr_filter = f" AND s.attr_id IN ({_marks(ids)})"
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

            def bound(moment: datetime) -> Any:
                return iso(moment)
        else:
            column = "h.observed_at"

            def bound(moment: datetime) -> Any:
                return to_ms(moment)

        if query.timerel == "before":
            return f" AND {column} < ?", [bound(query.time_at)]
        if query.timerel == "after":
            return f" AND {column} >= ?", [bound(query.time_at)]
        if query.end_time_at is None:
            raise InvalidRequest("timerel=between needs endTimeAt")
        return f" AND {column} >= ? AND {column} < ?", [
            bound(query.time_at),
            bound(query.end_time_at),
        ]

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
        if query.time_at is not None and query.timerel in ("after", "between"):
            origin = to_ms(query.time_at)
        else:
            origin = int(first)
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
            if query.timerel == "between" and query.end_time_at is not None:
                single_end = to_ms(query.end_time_at)
            elif query.timerel == "before" and query.time_at is not None:
                single_end = to_ms(query.time_at)
            else:
                single_end = int(last)
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
