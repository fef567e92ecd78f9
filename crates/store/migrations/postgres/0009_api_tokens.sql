-- stackhand-store, PostgreSQL: API tokens. A token is shown once when it is made and never kept:
-- only its SHA-256 digest is, with the staff member it stands for and, optionally, the tenants
-- it is limited to. Revoking keeps the row (the list says when), so the audit trail's token
-- ids still name something.

CREATE TABLE api_tokens (
    -- the public id (`tok_` and 16 hex characters), named in lists and audit records
    id           TEXT    NOT NULL PRIMARY KEY,
    -- SHA-256 of the token, hex
    digest       TEXT    NOT NULL UNIQUE,
    -- the staff member (`[[staff]] id`) the token acts as; roles come from the directory
    principal    TEXT    NOT NULL,
    -- the tenants it is limited to, a JSON array of ids; empty: every tenant
    tenants      TEXT    NOT NULL,
    -- nanoseconds since the Unix epoch
    created_ns   BIGINT  NOT NULL,
    last_used_ns BIGINT,
    revoked_ns   BIGINT
);
