-- stackhand-store, SQLite: each tenant's triage model, learned from its PSA history on top of
-- the base corpus, with what the history taught (labels per intent, approvers) and its
-- held-out figures. One row per tenant: training again replaces it.

CREATE TABLE triage_models (
    tenant      TEXT    NOT NULL PRIMARY KEY,
    -- when it was trained, nanoseconds since the Unix epoch
    trained_ns  INTEGER NOT NULL,
    -- the model file (stackhand-triage's JSON format)
    model       TEXT    NOT NULL,
    -- what training learned and measured, JSON
    summary     TEXT    NOT NULL
) STRICT, WITHOUT ROWID;
