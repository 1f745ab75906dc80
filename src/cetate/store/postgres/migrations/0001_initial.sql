-- Cetate on PostgreSQL + PostGIS: entities, geometries, partitioned history, tenants, users,
-- API tokens, settings. Applied by cetate.store.postgres.PostgresStore.migrate().

CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE tenants (
    name text PRIMARY KEY,
    title text NOT NULL,
    public_types text[] NOT NULL DEFAULT '{}'
);

CREATE TABLE users (
    username text PRIMARY KEY,
    password_hash text NOT NULL,
    display_name text NOT NULL,
    roles jsonb NOT NULL DEFAULT '{}'  -- tenant name -> role
);
CREATE INDEX users_roles ON users USING gin (roles);

CREATE TABLE api_tokens (
    token_id text PRIMARY KEY,
    token_hash text NOT NULL UNIQUE,
    tenant text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    label text NOT NULL,
    created_at timestamptz NOT NULL,
    revoked boolean NOT NULL DEFAULT false
);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant, created_at);

CREATE TABLE settings (
    key text PRIMARY KEY,
    value text NOT NULL
);

-- Current state: one JSONB document (stored form) per entity.
CREATE TABLE entities (
    tenant text NOT NULL,
    id text NOT NULL,
    types text[] NOT NULL,
    doc jsonb NOT NULL,
    PRIMARY KEY (tenant, id)
) WITH (fillfactor = 70);  -- room for HOT updates: rewriting a document touches no index
CREATE INDEX entities_types ON entities USING gin (types);

-- (type, id) of every entity: one type's entities in id order, so that a page of a type query
-- reads only that page. The GIN index above serves type expressions with several types.
CREATE TABLE entity_types (
    tenant text NOT NULL,
    type text NOT NULL,
    entity_id text NOT NULL,
    PRIMARY KEY (tenant, type, entity_id),
    FOREIGN KEY (tenant, entity_id) REFERENCES entities (tenant, id) ON DELETE CASCADE
);
CREATE INDEX entity_types_entity ON entity_types (tenant, entity_id);

-- Every GeoProperty instance of every entity, for geo-queries (GiST on geometry and on
-- geography for distances in metres).
CREATE TABLE entity_geometries (
    tenant text NOT NULL,
    entity_id text NOT NULL,
    attr text NOT NULL,
    dataset_id text NOT NULL DEFAULT '',
    geom geometry(Geometry, 4326) NOT NULL,
    PRIMARY KEY (tenant, entity_id, attr, dataset_id),
    FOREIGN KEY (tenant, entity_id) REFERENCES entities (tenant, id) ON DELETE CASCADE
);
CREATE INDEX entity_geometries_geom ON entity_geometries USING gist (geom);
CREATE INDEX entity_geometries_geog ON entity_geometries USING gist ((geom::geography));

-- Attribute history, partitioned by month of observed_at so that retention drops partitions.
-- Monthly partitions are created on demand (cetate_ensure_history_partition) before inserts;
-- the default partition only catches what could not get its own partition.
-- One row per (entity, attribute, datasetId) that has history; history rows refer to it by a
-- small integer so that rows and their index stay narrow.
CREATE TABLE history_series (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant text NOT NULL,
    entity_id text NOT NULL,
    attr text NOT NULL,
    dataset_id text NOT NULL DEFAULT '',  -- '' is the default instance
    entity_type text NOT NULL DEFAULT '',
    UNIQUE (tenant, entity_id, attr, dataset_id)
);

CREATE SEQUENCE history_seq CACHE 1000;  -- tie-breaker between equal times: insertion order
CREATE TABLE history (
    series_id bigint NOT NULL,
    observed_at timestamptz NOT NULL,
    number double precision,  -- the value when it is a number: what aggregations run on
    instance jsonb NOT NULL,
    seq bigint NOT NULL DEFAULT nextval('history_seq')
) PARTITION BY RANGE (observed_at);
CREATE TABLE history_default PARTITION OF history DEFAULT;
CREATE INDEX history_series_time ON history (series_id, observed_at);

CREATE FUNCTION cetate_ensure_history_partition(month_start date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    part text := 'history_y' || to_char(month_start, 'YYYY') || 'm' || to_char(month_start, 'MM');
    lower_bound timestamptz := (date_trunc('month', month_start)::timestamp AT TIME ZONE 'UTC');
    upper_bound timestamptz :=
        ((date_trunc('month', month_start) + interval '1 month')::timestamp AT TIME ZONE 'UTC');
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN part;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('cetate.history_partitions'));
    IF to_regclass(part) IS NOT NULL THEN
        RETURN part;
    END IF;
    BEGIN
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF history FOR VALUES FROM (%L) TO (%L)',
            part, lower_bound, upper_bound
        );
    EXCEPTION
        WHEN duplicate_table THEN
            -- created by a concurrent transaction that our catalog snapshot did not see yet
            RETURN part;
        WHEN check_violation THEN
            -- the default partition already holds rows of that month: they stay there
            RETURN 'history_default';
    END;
    RETURN part;
END
$$;
