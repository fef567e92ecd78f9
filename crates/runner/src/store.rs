//! `[store]` of `stackhand.toml`: the database, the credential vault on it, and the audit key.

use std::path::Path;
use std::sync::Arc;

use stackhand_core::audit::{AuditKeys, DerivedAuditKeys};
use stackhand_core::{Error, Result};
use stackhand_store::{MasterKey, NoAuditKeys, Store, Vault, redact_url};

use crate::config::{KeySource, LoadedConfig, StoreConfig};

/// The master key `source` names; errors name the configuration key `at` and the fix.
pub fn load_master_key(source: &KeySource, at: &str, origin: &str) -> Result<MasterKey> {
    let loaded = match source {
        KeySource::File(path) => MasterKey::from_file(path),
        KeySource::Env(var) => MasterKey::from_env(var),
    };
    loaded.map_err(|e| located(e, origin, at))
}

/// The master audit key of `[store]`, each tenant's chain key derived from it. Without
/// `store.audit_key` nothing can be audited, so nothing runs: the error says how to make one.
pub fn load_audit_keys(config: &StoreConfig, origin: &str) -> Result<DerivedAuditKeys> {
    let at = "store.audit_key";
    let Some(source) = &config.audit_key else {
        return Err(Error::invalid(format!(
            "{origin} at {at}: missing; every run is audited on the store, sealed with a master \
             audit key: make one with `stackhand audit keygen audit.key` and add \
             `audit_key = {{ file = \"audit.key\" }}` to [store] (or {{ env = \"STACKHAND_AUDIT_KEY\" }})"
        ))
        .with_context("key", at));
    };
    let loaded = match source {
        KeySource::File(path) => DerivedAuditKeys::from_file(path),
        KeySource::Env(var) => DerivedAuditKeys::from_env(var).and_then(|key| {
            key.ok_or_else(|| Error::invalid(format!("the environment variable {var} is not set")))
        }),
    };
    loaded.map_err(|e| located(e, origin, at))
}

fn located(e: Error, origin: &str, at: &str) -> Error {
    Error::invalid(format!("{origin} at {at}: {}", e.message())).with_context("key", at)
}

/// Open (and migrate) the database of `config`, sealing audit chains with `keys`; errors name
/// the URL without its password and how to fix it.
pub async fn connect_store(
    config: &StoreConfig,
    origin: &str,
    keys: impl AuditKeys + 'static,
) -> Result<Store> {
    Store::connect(&config.url, keys).await.map_err(|e| {
        Error::new(
            e.kind(),
            format!(
                "{origin} at store.url ({}): {}; check the URL (sqlite://<path>?mode=rwc \
                 creates a file, postgres://<user>@<host>:<port>/<database> needs a server)",
                redact_url(&config.url),
                e.message()
            ),
        )
        .with_context("key", "store.url")
    })
}

/// The vault on `store` with the master keys of `config` (the current one and those being
/// retired).
pub fn vault_on(store: Arc<Store>, config: &StoreConfig, origin: &str) -> Result<Vault> {
    let master = load_master_key(&config.master_key, "store.master_key", origin)?;
    let mut vault = Vault::new(store, master);
    for (i, source) in config.previous_master_keys.iter().enumerate() {
        let at = format!("store.previous_master_keys[{i}]");
        vault = vault.with_previous_master_key(load_master_key(source, &at, origin)?);
    }
    Ok(vault)
}

/// The vault of the configuration's `[store]`, or None without one. The store is opened (and
/// migrated) for the vault only: it holds no audit keys.
pub async fn open_vault(loaded: &LoadedConfig) -> Result<Option<Vault>> {
    let Some(config) = &loaded.config.store else {
        return Ok(None);
    };
    open_vault_with(config, &loaded.source_of("store"))
        .await
        .map(Some)
}

/// The vault of `config`; `origin` names the file it came from in errors.
pub async fn open_vault_with(config: &StoreConfig, origin: &str) -> Result<Vault> {
    // Keys first: a wrong key file is found before the database is touched.
    load_master_key(&config.master_key, "store.master_key", origin)?;
    let store = connect_store(config, origin, NoAuditKeys).await?;
    vault_on(Arc::new(store), config, origin)
}

/// The `[store]` of a single-machine deployment: a SQLite file and the keys beside
/// `stackhand.toml`.
const LOCAL_STORE: &str = r#"
[store]
url = "sqlite://stackhand.db?mode=rwc"
master_key = { file = "master.key" }
audit_key = { file = "audit.key" }
"#;

/// Add a local `[store]` to the configuration file `config` (which must not have one yet): a
/// SQLite database beside it, with its vault and audit keys made where they do not exist (kept
/// when they do, so the database stays readable across restarts).
pub fn append_local_store(config: &Path) -> Result<()> {
    let dir = config.parent().unwrap_or(Path::new("."));
    let master = dir.join("master.key");
    if !master.exists() {
        MasterKey::create_file(&master)?;
    }
    let audit = dir.join("audit.key");
    if !audit.exists() {
        DerivedAuditKeys::create_file(&audit)?;
    }
    let io = |doing: &str, e: std::io::Error| {
        Error::invalid(format!("{doing} {}: {e}", config.display()))
    };
    let mut text = std::fs::read_to_string(config).map_err(|e| io("reading", e))?;
    text.push_str(LOCAL_STORE);
    std::fs::write(config, text).map_err(|e| io("writing", e))
}
