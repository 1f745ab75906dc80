-- Cetate SQLite schema, version 3: typed date-time, date and time values in q.
--
-- A Property whose value is {"@type": "DateTime" | "Date" | "Time", "@value": ...} was indexed
-- in entity_attrs.val as NULL, so q never matched it. It is now indexed as a BLOB holding its
-- temporal key (dt:2026-01-01T00:00:00.000Z, d:2026-01-01, t:08:30:00.000), see
-- cetate.store.sql_common.temporal_index_value. Re-index the rows written before: only
-- Property rows without a scalar value can hold one. cetate_index_value(doc, attribute,
-- position) is registered by cetate.store.sqlite.schema while migrations run.

UPDATE entity_attrs
SET val = cetate_index_value(
    (SELECT e.doc FROM entities e WHERE e.pk = entity_attrs.entity_pk),
    (SELECT n.iri FROM names n WHERE n.id = entity_attrs.attr_id),
    inst
)
WHERE val IS NULL AND atype = 'Property';
