-- stackhand-store, SQLite: how far each tenant's intake has read a source (its PSA): the
-- newest change it has seen, so a restarted runner polls from there, not from the beginning.

CREATE TABLE watermarks (
    tenant      TEXT    NOT NULL,
    -- what was read: "psa"
    source      TEXT    NOT NULL,
    -- the newest change seen, nanoseconds since the Unix epoch
    seen_ns     INTEGER NOT NULL,
    updated_ns  INTEGER NOT NULL,
    PRIMARY KEY (tenant, source)
) STRICT, WITHOUT ROWID;
