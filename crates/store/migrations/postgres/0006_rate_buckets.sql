-- stackhand-store, PostgreSQL: vendor rate budgets shared by every runner on this database, one
-- token bucket per (tenant, vendor), timed on the database clock, with the pause a vendor asked
-- for (a 429's Retry-After, a spent budget header) seen by every runner.

CREATE TABLE rate_buckets (
    tenant          TEXT    NOT NULL,
    vendor          TEXT    NOT NULL,
    -- requests that may be sent now (refilled at the client's rate, up to its burst)
    tokens          DOUBLE PRECISION NOT NULL,
    -- when tokens was last computed, milliseconds of the database clock
    updated_ms      BIGINT  NOT NULL,
    -- no request before this, milliseconds of the database clock (0: no pause)
    paused_until_ms BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, vendor)
);
