-- stackhand-store, SQLite: durable runs. A run is an ordered list of engine requests (steps);
-- each step is recorded as started before the engine is asked and as finished after it
-- answered, so a runner started again after a crash knows which steps to resume.

CREATE TABLE runs (
    tenant     TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    summary    TEXT    NOT NULL,
    -- the PSA ticket the run works for, if any
    ticket     TEXT,
    -- running | waiting_approval | succeeded | failed
    state      TEXT    NOT NULL,
    -- why a failed run stopped, for the person who takes it over
    reason     TEXT,
    created_ns INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
) STRICT, WITHOUT ROWID;

CREATE INDEX runs_unfinished ON runs (tenant, state, created_ns);

CREATE TABLE run_steps (
    tenant      TEXT    NOT NULL,
    run_id      TEXT    NOT NULL,
    idx         INTEGER NOT NULL,
    -- the ActionRequest as JSON, without secret parameters
    request     TEXT    NOT NULL,
    -- pending | started | finished
    state       TEXT    NOT NULL,
    -- the engine's answer once finished: executed, skipped, failed, pending_approval, denied, error
    answer      TEXT,
    -- what the answer said (the outcome's message, the denial's reason, the error)
    message     TEXT,
    started_ns  INTEGER,
    finished_ns INTEGER,
    PRIMARY KEY (tenant, run_id, idx),
    FOREIGN KEY (tenant, run_id) REFERENCES runs (tenant, id)
) STRICT, WITHOUT ROWID;
