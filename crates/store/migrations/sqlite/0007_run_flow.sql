-- stackhand-store: how a run's steps fit together, and what each produced. `flow` is the
-- step's place in the run as JSON (its name, the steps it waits for, its condition, the time
-- it may not run before, the run secrets that fill its secret parameters); NULL for steps
-- recorded before this migration, which wait for the step before them. `output` is the state
-- the step read back after it executed (JSON), what later steps may use as input. A run's
-- `origin` fingerprints what it was planned from (a ticket's triage), so the ticket can be
-- taken up again without planning anew, and an edited ticket is noticed. A run's `parent` names
-- the run it is one of (a bulk request: one run per user, each with its own status).

ALTER TABLE run_steps ADD COLUMN flow TEXT;
ALTER TABLE run_steps ADD COLUMN output TEXT;
ALTER TABLE runs ADD COLUMN origin TEXT;
ALTER TABLE runs ADD COLUMN parent TEXT;
CREATE INDEX runs_children ON runs (tenant, parent);
