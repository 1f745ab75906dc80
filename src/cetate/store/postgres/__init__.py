"""The production context store: PostgreSQL + PostGIS through psycopg 3.

* Entities are JSONB documents in stored form (:mod:`cetate.ngsi.model`), with their type IRIs
  in a ``text[]`` column (GIN index) so type expressions compile to array operators. The table
  has free space per page (fillfactor 70) so rewriting a document is a HOT update.
* ``q`` compiles to SQL over the documents with the semantics of the SQLite backend (see
  :func:`.conditions.q_sql`); what SQL cannot decide exactly (sub-attributes, members, regular
  expressions, booleans) is pre-filtered in SQL and decided by
  :func:`cetate.ngsi.query_language.evaluate_q`.
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
* The schema is a list of numbered SQL files in ``migrations/``; :meth:`migrate` applies
  the missing ones under an advisory lock, so concurrent processes can all call it.

The store is thread-safe: every call takes a connection from a pool. Partitions and history
series are created on a second, small pool, outside the writer's transaction.

Modules: ``connections`` (the pools), ``schema`` (migrations), ``conditions`` (types, ``q`` and
geo-queries as SQL), ``entity_queries``, ``summaries`` (types and attributes), ``temporal``
(history and aggregations), ``transaction`` (buffered writes) with ``copy_format``,
``history_storage`` (partitions, series, retention), ``accounts`` (tenants, users, tokens,
settings), ``records``, ``queues``, ``dead_letters`` and ``leases`` (the platform features of
``migrations/0002_platform_features.sql``; queues are claimed with ``FOR UPDATE SKIP LOCKED``)
and ``store`` (:class:`PostgresStore`, which puts them together).
"""

from cetate.store.postgres.schema import migration_files
from cetate.store.postgres.store import PostgresStore
from cetate.store.postgres.transaction import PostgresTransaction

__all__ = ["PostgresStore", "PostgresTransaction", "migration_files"]
