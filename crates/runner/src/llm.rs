//! `[triage.llm]`: triage by a large language model ([`LlmTriage`]) instead of the built-in
//! model, when the table is there.
//!
//! The API key belongs to the MSP, not to a tenant, so it is read the way the store's keys
//! are: `{ env = "NAME" }` from any variable, `{ file = "PATH" }` relative to the
//! configuration file. The vault keeps tenants' credentials, each readable by its tenant only,
//! so `{ vault = .. }` is refused with the fix.

use std::sync::Arc;

use secrecy::SecretString;
use stackhand_core::build::SecretRef;
use stackhand_core::{Error, Result};
use stackhand_triage::{DecidingTriage, LlmTriage, People};

use crate::config::LoadedConfig;

/// The LLM triage `[triage.llm]` of `loaded` asks for, resolving names through `people`;
/// none without the table. A key that cannot be read, a bad URL or model is an error naming
/// the key and the fix.
pub fn llm_triage(loaded: &LoadedConfig, people: Arc<dyn People>) -> Result<Option<LlmTriage>> {
    let Some(config) = loaded.config.triage.llm.as_ref() else {
        return Ok(None);
    };
    let source = loaded.source_of("triage.llm");
    let at = |key: &str, why: String| {
        Error::invalid(format!("{source} at triage.llm.{key}: {why}"))
            .with_context("key", format!("triage.llm.{key}"))
    };
    let key = match &config.api_key {
        None => None,
        Some(reference) => Some(read_key(reference).map_err(|why| at("api_key", why))?),
    };
    let triage = LlmTriage::new(config, key)
        .map_err(|e| {
            let named = Error::new(e.kind(), format!("{source}: {}", e.message()));
            match e.context_value("key") {
                Some(key) => named.with_context("key", key.to_string()),
                None => named,
            }
        })?
        .with_people(people);
    Ok(Some(triage))
}

/// The MSP's key from where `reference` says, or why not (never the value).
fn read_key(reference: &SecretRef) -> std::result::Result<SecretString, String> {
    let value = match reference {
        SecretRef::Env(name) => {
            std::env::var(name).map_err(|_| format!("environment variable {name} is not set"))?
        }
        SecretRef::File(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("file {} cannot be read: {e}", path.display()))?,
        SecretRef::Vault(name) => {
            return Err(format!(
                "the vault keeps tenants' credentials, and the LLM key is the MSP's; name it \
                 {{ env = \"..\" }} or {{ file = \"..\" }} instead of {{ vault = \"{name}\" }}"
            ));
        }
        _ => return Err("a key must be named { env = \"..\" } or { file = \"..\" }".into()),
    };
    let value = value.trim_end_matches(['\r', '\n']);
    if value.is_empty() {
        return Err(format!("{} is empty", reference.describe()));
    }
    Ok(SecretString::from(value.to_string()))
}
