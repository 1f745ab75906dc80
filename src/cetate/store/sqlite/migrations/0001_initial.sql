-- Cetate SQLite schema, version 1.
--
-- Entities are JSON documents (stored form, see cetate.ngsi.model). Everything a query filters
-- on is mirrored into side tables keyed by small integers so that indexes stay narrow:
--   names         interned attribute and type IRIs, per tenant (an id implies its tenant)
--   entity_types  one row per (type, entity): multi-typed entities, type filters in id order
--   entity_attrs  one row per attribute instance with its scalar value, probed by primary
--                 key for q comparisons, attrs=, existence; discovery
--   geo_index     an R*Tree of the bounding box of every GeoProperty instance
--   series        one row per (entity, attribute, datasetId) that has history
--   history       attribute instances over time, with the numeric value in a typed column

CREATE TABLE tenants (
    name TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    public_types TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE names (
    id INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    iri TEXT NOT NULL,
    UNIQUE (tenant, iri)
);

CREATE TABLE entities (
    pk INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    eid TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (tenant, eid)
);

CREATE TABLE entity_types (
    type_id INTEGER NOT NULL,
    eid TEXT NOT NULL,
    entity_pk INTEGER NOT NULL,
    PRIMARY KEY (type_id, eid)
) WITHOUT ROWID;

CREATE TABLE entity_attrs (
    entity_pk INTEGER NOT NULL,
    attr_id INTEGER NOT NULL,
    inst INTEGER NOT NULL,
    atype TEXT NOT NULL,
    val,  -- no declared type: numbers stay numbers, text stays text
    PRIMARY KEY (entity_pk, attr_id, inst)
) WITHOUT ROWID;
-- No index on (attr_id, val): every reading would move an index entry (it halved the ingest
-- rate). Queries scan narrow keys (a type's rows in id order) and probe this primary key.

CREATE VIRTUAL TABLE geo_index USING rtree (
    id, min_lon, max_lon, min_lat, max_lat,
    +entity_pk INTEGER,
    +attr_id INTEGER,
    +geom TEXT
);

CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    attr_id INTEGER NOT NULL,
    eid TEXT NOT NULL,
    dataset_id TEXT NOT NULL DEFAULT '',
    entity_type TEXT NOT NULL DEFAULT '',
    UNIQUE (eid, attr_id, dataset_id)
);

CREATE TABLE history (
    series_id INTEGER NOT NULL,
    observed_at INTEGER NOT NULL,
    number REAL,
    instance TEXT NOT NULL
);
CREATE INDEX history_series_time ON history (series_id, observed_at);

CREATE TABLE users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    display_name TEXT NOT NULL
);

CREATE TABLE user_roles (
    username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    tenant TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    PRIMARY KEY (username, tenant)
) WITHOUT ROWID;
CREATE INDEX user_roles_tenant ON user_roles (tenant);

CREATE TABLE api_tokens (
    token_id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
