"""The embedded SQLite backend of the context store.

Design (see ``migrations/0001_initial.sql`` for the tables):

* one file in WAL mode, ``synchronous=NORMAL``; one connection per reading thread, one writer
  connection whose transactions (``BEGIN IMMEDIATE``) are serialised by a lock;
* entity documents are JSON text; every attribute instance is mirrored into ``entity_attrs``
  with its scalar value in an untyped column (a typed DateTime/Date/Time value as a BLOB of
  its temporal key, migration 0003) indexed by ``(attr_id, val)``, so that ``q``
  comparisons, ``attrs=`` and existence run as index lookups; type filters use
  ``entity_types``; geo-queries use an R*Tree of bounding boxes and then the exact test of
  :func:`cetate.ngsi.geo.geo_matches`;
* attribute and type IRIs are interned per tenant (``names``), so an id implies its tenant and
  indexes hold small integers;
* history rows point at a ``series`` (entity, attribute, datasetId) and keep ``observed_at`` as
  integer milliseconds and the numeric value in a REAL column: aggregations are SQL.

Only the side-table rows that changed are rewritten on ``replace`` (the old form is remembered
from ``get_for_update``), which keeps the batch-upsert ingest path cheap.

Modules: ``connections`` (readers, writer, WAL checkpoints), ``schema`` (migrations),
``interning`` (name and series ids), ``documents``, ``transaction`` (writes),
``entity_queries`` and ``conditions`` (queries, ``q`` and types as SQL), ``temporal``
(history and aggregations), ``summaries`` (types and attributes), ``accounts`` (tenants, users,
tokens, settings), ``records``, ``queues``, ``dead_letters`` and ``leases`` (the platform
features of ``migrations/0002_platform_features.sql``) and ``store`` (:class:`SQLiteStore`,
which puts them together).
"""

from cetate.store.sqlite.connections import database_path
from cetate.store.sqlite.store import SQLiteStore
from cetate.store.sqlite.transaction import GEO_SLOTS

__all__ = ["GEO_SLOTS", "SQLiteStore", "database_path"]
