-- stackhand-store, SQLite: the credential vault. Each tenant's credentials are encrypted with
-- the tenant's data key (XChaCha20-Poly1305, the tenant and credential name as associated data);
-- each data key is stored wrapped (encrypted) by a master key that never enters the database.

-- One row per tenant: the data key version new credentials are written with. Writers lock it
-- (BEGIN IMMEDIATE here), so a tenant key rotation and a write take turns.
CREATE TABLE vault_tenants (
    tenant      TEXT    NOT NULL PRIMARY KEY,
    key_version INTEGER NOT NULL
) STRICT;

-- Each tenant's data keys, wrapped by the master key whose id is beside them. A rotation of the
-- tenant key adds a version and removes the old one in the same transaction.
CREATE TABLE vault_data_keys (
    tenant        TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    -- the first 8 bytes of SHA-256 over a label and the master key, in hex: which master key
    -- unwraps this row (two may be loaded at once while the master key rotates)
    master_key_id TEXT    NOT NULL,
    nonce         BLOB    NOT NULL,
    -- the 32-byte data key encrypted under the master key, with its 16-byte tag
    wrapped       BLOB    NOT NULL,
    created_ns    INTEGER NOT NULL,
    PRIMARY KEY (tenant, version)
) STRICT, WITHOUT ROWID;

CREATE TABLE vault_credentials (
    tenant      TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    -- the version of the tenant's data key the value is encrypted with
    key_version INTEGER NOT NULL,
    nonce       BLOB    NOT NULL,
    ciphertext  BLOB    NOT NULL,
    updated_ns  INTEGER NOT NULL,
    PRIMARY KEY (tenant, name)
) STRICT, WITHOUT ROWID;
