-- stackhand-store, PostgreSQL: how far each tenant's intake has read a source (its PSA): the
-- newest change it has seen, so a restarted runner polls from there, not from the beginning.

CREATE TABLE watermarks (
    tenant      TEXT    NOT NULL,
    -- what was read: "psa"
    source      TEXT    NOT NULL,
    -- the newest change seen, nanoseconds since the Unix epoch
    seen_ns     BIGINT  NOT NULL,
    updated_ns  BIGINT  NOT NULL,
    PRIMARY KEY (tenant, source)
);
