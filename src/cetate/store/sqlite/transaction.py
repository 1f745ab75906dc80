"""Write transactions of the SQLite store.

Only the side-table rows that changed are rewritten on ``replace`` (the old form is remembered
from ``get_for_update``), which keeps the batch-upsert ingest path cheap.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from cetate.errors import AlreadyExists, ResourceNotFound
from cetate.ngsi.model import ENTITY_KEYWORDS, EntityDoc
from cetate.store.base import HistoryRow, StoreTransaction
from cetate.store.sql_common import (
    AttrKey,
    dumps,
    entity_types_of,
    indexed_form,
    loads,
    number_value,
    scalar_value,
    to_ms,
)
from cetate.store.sqlite.documents import entity_doc
from cetate.store.sqlite.interning import InternedIds
from cetate.store.sqlite.queues import insert_items

GEO_SLOTS: Final = 4096
"""R*Tree row ids are ``entity_pk * GEO_SLOTS + n`` for the n-th GeoProperty instance."""


@dataclass(slots=True)
class _Current:
    pk: int
    doc: EntityDoc
    """a shallow copy of the document as read or last written in this transaction: its
    attribute values are the very lists of the caller's document, so an attribute whose list
    is the same object in the next document written has not changed"""


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


class SQLiteTransaction(StoreTransaction):
    """Writes of one tenant. Document rewrites and changed attribute values are buffered and
    sent with one ``executemany`` each (:meth:`flush`: before any read or other write that could
    see them, and before commit); history rows are sent in one ``executemany`` per call."""

    def __init__(self, ids: InternedIds, conn: sqlite3.Connection, tenant: str) -> None:
        self._ids = ids
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
        found = self._ids.names.get(key)
        if found is None:
            found = self.new_names.get(key)
        if found is not None:
            return found
        row = self._conn.execute(
            "SELECT id FROM names WHERE tenant = ? AND iri = ?", key
        ).fetchone()
        if row is not None:
            self._ids.names[key] = int(row[0])
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
            doc = entity_doc(text)
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
        current = _Current(int(row[0]), entity_doc(row[1]))
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

    def enqueue(
        self, queue: str, payloads: Sequence[Mapping[str, Any]], *, due_at: datetime | None = None
    ) -> None:
        """Queue rows written on the writer connection inside this transaction: they commit or
        roll back with the entity writes."""
        insert_items(self._conn, self._tenant, queue, payloads, due_at)

    def append_history(self, rows: Sequence[HistoryRow]) -> None:
        if not rows:
            return
        series = self._ids.series
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
            self._ids.series[key] = int(row[0])
            return int(row[0])
        cursor = self._conn.execute(
            "INSERT INTO series (attr_id, eid, dataset_id, entity_type) VALUES (?, ?, ?, ?)",
            (*key, entity_type),
        )
        series_id = int(cursor.lastrowid or 0)
        self.new_series[key] = series_id
        return series_id
