"""Interned ids: attribute and type IRIs become small integers per tenant (``names``), and
history series (attribute, entity, datasetId) have ids (``series``).

The caches hold committed rows only: a transaction keeps the ids it creates apart and adds
them here once it has committed (see :class:`cetate.store.sqlite.transaction.SQLiteTransaction`).
"""

from __future__ import annotations

import sqlite3


class InternedIds:
    def __init__(self) -> None:
        self.names: dict[tuple[str, str], int] = {}
        """(tenant, IRI) → names.id, committed rows only"""
        self.series: dict[tuple[int, str, str], int] = {}
        """(attr_id, entity id, datasetId or '') → series.id, committed rows only"""

    def lookup_name(self, conn: sqlite3.Connection, tenant: str, iri: str) -> int | None:
        """The id of an IRI in a tenant, or None when no entity of that tenant ever used it."""
        key = (tenant, iri)
        found = self.names.get(key)
        if found is not None:
            return found
        row = conn.execute(
            "SELECT id FROM names WHERE tenant = ? AND iri = ?", (tenant, iri)
        ).fetchone()
        if row is None:
            return None
        self.names[key] = int(row[0])
        return int(row[0])
