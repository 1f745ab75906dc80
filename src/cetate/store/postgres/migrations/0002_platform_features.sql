-- Cetate on PostgreSQL, version 2: what platform features keep besides entities.
--   records             small JSONB documents per (tenant, kind, key), with an optional lookup
--                       key unique per kind across tenants
--   record_generations  a counter per kind, increased by every put or delete of a record
--   queue_items         durable work queues (the notification outbox …), leased to workers;
--                       claimed with FOR UPDATE SKIP LOCKED
--   dead_letters        rejected device messages with their raw payload
--   leases              one holder at a time per named job

CREATE TABLE records (
    tenant text COLLATE "C" NOT NULL,  -- listed by key, tenant in code-point order, as SQLite
    kind text NOT NULL,
    key text COLLATE "C" NOT NULL,
    data jsonb NOT NULL,
    version integer NOT NULL,
    updated_at timestamptz NOT NULL,
    lookup text,
    PRIMARY KEY (tenant, kind, key)
);
CREATE UNIQUE INDEX records_lookup ON records (kind, lookup) WHERE lookup IS NOT NULL;
CREATE INDEX records_kind_key ON records (kind, key, tenant);

CREATE TABLE record_generations (
    kind text PRIMARY KEY,
    generation bigint NOT NULL
);

CREATE TABLE queue_items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant text NOT NULL,
    queue text NOT NULL,
    payload jsonb NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    due_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    leased_by text,
    leased_until timestamptz,
    last_error text
);
CREATE INDEX queue_items_due ON queue_items (queue, due_at, id);
CREATE INDEX queue_items_tenant ON queue_items (queue, tenant);

CREATE TABLE dead_letters (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant text NOT NULL,
    source text NOT NULL,
    device text,
    received_at timestamptz NOT NULL,
    reason text NOT NULL,
    detail text NOT NULL,
    payload bytea NOT NULL,
    replayed_at timestamptz
);
CREATE INDEX dead_letters_tenant_time ON dead_letters (tenant, received_at);
CREATE INDEX dead_letters_tenant_device ON dead_letters (tenant, device, received_at);
CREATE INDEX dead_letters_tenant_reason ON dead_letters (tenant, reason, received_at);

CREATE TABLE leases (
    name text PRIMARY KEY,
    holder text NOT NULL,
    expires_at timestamptz NOT NULL
);
