-- stackhand-store, PostgreSQL: engine state (idempotency keys, approvals, cap reservations) and
-- the per-tenant audit chain. Times are nanoseconds since the Unix epoch (BIGINT), so they
-- compare exactly as chrono does; JSON documents are stored as the exact text serde_json wrote
-- (TEXT, not JSONB, which would reorder keys and renormalise numbers under the audit MACs).

CREATE TABLE idempotency_keys (
    tenant      TEXT   NOT NULL,
    idem_key    TEXT   NOT NULL,
    fingerprint TEXT   NOT NULL,
    -- the KeyState's tag (in_flight, executing, in_doubt, executed, pending, denied)
    state_kind  TEXT   NOT NULL,
    -- the KeyState as JSON
    state       TEXT   NOT NULL,
    claimed_ns  BIGINT NOT NULL,
    updated_ns  BIGINT NOT NULL,
    PRIMARY KEY (tenant, idem_key)
);

CREATE TABLE approvals (
    id          TEXT   NOT NULL PRIMARY KEY,
    tenant      TEXT   NOT NULL,
    -- pending, approved, denied or expired; moved out of pending by compare-and-swap
    status_kind TEXT   NOT NULL,
    -- the ApprovalStatus as JSON
    status      TEXT   NOT NULL,
    created_ns  BIGINT NOT NULL,
    expires_ns  BIGINT NOT NULL,
    -- the Approval as JSON, as inserted (its status is the column above)
    body        TEXT   NOT NULL
);

CREATE INDEX approvals_pending ON approvals (tenant, status_kind, created_ns);

-- One row per (tenant, cap id): the counter a reservation locks (SELECT ... FOR UPDATE).
CREATE TABLE caps (
    tenant TEXT NOT NULL,
    cap_id TEXT NOT NULL,
    PRIMARY KEY (tenant, cap_id)
);

-- One row per slot taken: a reservation takes one slot in each cap of its decision.
CREATE TABLE cap_reservations (
    tenant      TEXT   NOT NULL,
    cap_id      TEXT   NOT NULL,
    reservation TEXT   NOT NULL,
    at_ns       BIGINT NOT NULL,
    PRIMARY KEY (tenant, cap_id, reservation)
);

CREATE INDEX cap_reservations_window ON cap_reservations (tenant, cap_id, at_ns);
CREATE INDEX cap_reservations_by_id ON cap_reservations (tenant, reservation);

CREATE TABLE audit_events (
    tenant  TEXT   NOT NULL,
    seq     BIGINT NOT NULL,
    at_ns   BIGINT NOT NULL,
    kind    TEXT   NOT NULL,
    request TEXT,
    action  TEXT,
    actor   TEXT,
    mac     TEXT   NOT NULL,
    -- the sealed AuditEvent as JSON: what verification reads
    body    TEXT   NOT NULL,
    PRIMARY KEY (tenant, seq)
);

-- Each tenant's anchored head. The row exists (with NULLs) from the tenant's first append on, so
-- appenders can lock it (SELECT ... FOR UPDATE); NULL seq means nothing is anchored yet.
CREATE TABLE audit_heads (
    tenant    TEXT   NOT NULL PRIMARY KEY,
    seq       BIGINT,
    event_mac TEXT,
    mac       TEXT
);
