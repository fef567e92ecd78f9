//! `[store]` of `stackhand.toml`: the database and the credential vault on it.

use std::sync::Arc;

use stackhand_core::{Error, Result};
use stackhand_store::{MasterKey, NoAuditKeys, Store, Vault, redact_url};

use crate::config::{KeySource, LoadedConfig, StoreConfig};

/// The master key `source` names; errors name the configuration key `at` and the fix.
pub fn load_master_key(source: &KeySource, at: &str, origin: &str) -> Result<MasterKey> {
    let loaded = match source {
        KeySource::File(path) => MasterKey::from_file(path),
        KeySource::Env(var) => MasterKey::from_env(var),
    };
    loaded.map_err(|e| {
        Error::invalid(format!("{origin} at {at}: {}", e.message())).with_context("key", at)
    })
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
    let master = load_master_key(&config.master_key, "store.master_key", origin)?;
    let mut previous = Vec::new();
    for (i, source) in config.previous_master_keys.iter().enumerate() {
        previous.push(load_master_key(
            source,
            &format!("store.previous_master_keys[{i}]"),
            origin,
        )?);
    }
    let store = Store::connect(&config.url, NoAuditKeys)
        .await
        .map_err(|e| {
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
        })?;
    let mut vault = Vault::new(Arc::new(store), master);
    for key in previous {
        vault = vault.with_previous_master_key(key);
    }
    Ok(vault)
}
