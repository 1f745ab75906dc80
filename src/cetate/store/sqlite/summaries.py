"""The type and attribute summaries of a tenant (GET /types, GET /attributes), from the side
tables: ``entity_types`` and ``entity_attrs`` joined to the interned ``names``."""

from __future__ import annotations

import sqlite3

from cetate.store.base import AttributeSummary, TypeSummary


def _counts(conn: sqlite3.Connection, sql: str, tenant: str) -> list[tuple[str, int]]:
    return conn.execute(sql, (tenant,)).fetchall()


def _grouped(conn: sqlite3.Connection, sql: str, tenant: str) -> dict[str, set[str]]:
    """(key, value) rows of ``sql`` as key → values."""
    found: dict[str, set[str]] = {}
    for key, value in conn.execute(sql, (tenant,)):
        found.setdefault(key, set()).add(value)
    return found


def entity_types(conn: sqlite3.Connection, tenant: str) -> list[TypeSummary]:
    counts = _counts(
        conn,
        "SELECT n.iri, count(*) FROM entity_types t JOIN names n ON n.id = t.type_id "
        "WHERE n.tenant = ? GROUP BY n.iri ORDER BY n.iri",
        tenant,
    )
    attrs = _grouped(
        conn,
        "SELECT DISTINCT tn.iri, an.iri FROM names tn "
        "JOIN entity_types t ON t.type_id = tn.id "
        "JOIN entity_attrs v ON v.entity_pk = t.entity_pk "
        "JOIN names an ON an.id = v.attr_id WHERE tn.tenant = ?",
        tenant,
    )
    return [
        TypeSummary(type=iri, entity_count=count, attributes=frozenset(attrs.get(iri, ())))
        for iri, count in counts
    ]


def attributes(conn: sqlite3.Connection, tenant: str) -> list[AttributeSummary]:
    counts = _counts(
        conn,
        "SELECT n.iri, count(*) FROM entity_attrs v JOIN names n ON n.id = v.attr_id "
        "WHERE n.tenant = ? GROUP BY n.iri ORDER BY n.iri",
        tenant,
    )
    kinds = _grouped(
        conn,
        "SELECT DISTINCT n.iri, v.atype FROM entity_attrs v "
        "JOIN names n ON n.id = v.attr_id WHERE n.tenant = ?",
        tenant,
    )
    types = _grouped(
        conn,
        "SELECT DISTINCT an.iri, tn.iri FROM names an "
        "JOIN entity_attrs v ON v.attr_id = an.id "
        "JOIN entity_types t ON t.entity_pk = v.entity_pk "
        "JOIN names tn ON tn.id = t.type_id WHERE an.tenant = ?",
        tenant,
    )
    return [
        AttributeSummary(
            attribute=iri,
            attribute_count=count,
            types=frozenset(types.get(iri, ())),
            attribute_types=frozenset(kinds.get(iri, ())),
        )
        for iri, count in counts
    ]
