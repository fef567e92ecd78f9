-- stackhand-store, SQLite: the work queue several runners share. A job is claimed with a lease
-- (owner and expiry, in milliseconds of the database clock); a job whose lease expired is
-- claimable again, and only the current holder may record its outcome.

CREATE TABLE queue_jobs (
    -- the order jobs were enqueued in: claims hand out the lowest ids first, and "earlier" in
    -- the per-tenant ordering means a lower id (AUTOINCREMENT: never reused)
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant           TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    -- one job per (tenant, dedup_key): a second enqueue returns the first job
    dedup_key        TEXT    NOT NULL,
    -- jobs of one tenant with the same ordering key run one at a time, in id order
    ordering_key     TEXT,
    -- JSON, as serde wrote it
    payload          TEXT    NOT NULL,
    -- queued | running | done | failed
    state            TEXT    NOT NULL,
    -- how many times the job was claimed (taking over an expired lease counts)
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_ms INTEGER,
    -- JSON outcome of a done job
    outcome          TEXT,
    last_error       TEXT,
    enqueued_ms      INTEGER NOT NULL,
    updated_ms       INTEGER NOT NULL,
    UNIQUE (tenant, dedup_key)
) STRICT;

-- What claims scan: the claimable jobs in id order.
CREATE INDEX queue_jobs_claimable ON queue_jobs (id) WHERE state IN ('queued', 'running');
-- The ordering check: earlier unfinished jobs of one tenant and ordering key.
CREATE INDEX queue_jobs_ordering ON queue_jobs (tenant, ordering_key, id)
    WHERE ordering_key IS NOT NULL AND state IN ('queued', 'running');
CREATE INDEX queue_jobs_tenant_state ON queue_jobs (tenant, state);
