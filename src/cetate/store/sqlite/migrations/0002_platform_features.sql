-- Cetate SQLite schema, version 2: what platform features keep besides entities.
-- Times are integer microseconds since the Unix epoch (UTC).
--   records             small JSON documents per (tenant, kind, key), with an optional lookup
--                       key unique per kind across tenants
--   record_generations  a counter per kind, increased by every put or delete of a record
--   queue_items         durable work queues (the notification outbox …), leased to workers
--   dead_letters        rejected device messages with their raw payload
--   leases              one holder at a time per named job

CREATE TABLE records (
    tenant TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    data TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    lookup TEXT,
    PRIMARY KEY (tenant, kind, key)
) WITHOUT ROWID;
CREATE UNIQUE INDEX records_lookup ON records (kind, lookup) WHERE lookup IS NOT NULL;
CREATE INDEX records_kind_key ON records (kind, key, tenant);

CREATE TABLE record_generations (
    kind TEXT PRIMARY KEY,
    generation INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE queue_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a late complete() hits nothing
    tenant TEXT NOT NULL,
    queue TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    leased_by TEXT,
    leased_until INTEGER,
    last_error TEXT
);
CREATE INDEX queue_items_due ON queue_items (queue, due_at, id);
CREATE INDEX queue_items_tenant ON queue_items (queue, tenant);

CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    source TEXT NOT NULL,
    device TEXT,
    received_at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    payload BLOB NOT NULL,
    replayed_at INTEGER
);
CREATE INDEX dead_letters_tenant_time ON dead_letters (tenant, received_at);
CREATE INDEX dead_letters_tenant_device ON dead_letters (tenant, device, received_at);
CREATE INDEX dead_letters_tenant_reason ON dead_letters (tenant, reason, received_at);

CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
