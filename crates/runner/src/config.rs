//! `stackhand.toml`: the tenants, each with its enabled connectors, tenant group, departments
//! and policy files, read with figment from the file and `STACKHAND_*` variables.
//!
//! ```toml
//! policies = ["policies"]        # files or directories, relative to this file
//! secrets_dir = "secrets"        # { file = "x" } credentials are read from secrets/<tenant>/x
//!
//! [store]                        # optional: the database, and the vault's master key
//! url = "sqlite://stackhand.db?mode=rwc"   # relative to this file; or postgres://…
//! master_key = { file = "master.key" }     # or { env = "STACKHAND_MASTER_KEY" }
//!
//! [tenants.acme-law]
//! name = "Acme Law"
//! group = "legal"
//! departments = ["finance", "litigation"]
//! policies = ["policies/acme-law.toml"]
//! shadow = true                  # plan and audit, execute nothing (a new tenant's first weeks)
//! live_actions = ["identity.unlock"]   # in shadow mode, workflows made only of these run live
//!
//! [tenants.acme-law.connectors.m365]
//! tenant_id = "acmelaw.onmicrosoft.com"
//! auth = { method = "client_secret", client_id = "5a8c…", client_secret = { vault = "m365" } }
//! ```
//!
//! ```toml
//! [triage.llm]                   # optional: an LLM proposes each ticket's intent, not the model
//! base_url = "https://api.openai.com/v1"   # {base_url}/chat/completions; Ollama, vLLM, Azure
//! model = "gpt-4o-mini"                    # the model, or Azure's deployment
//! api_key = { env = "OPENAI_API_KEY" }     # the MSP's key: { env } or { file } (relative to
//!                                          # this file); none for a server without one
//! auth = "bearer"                          # or "api-key" (Azure OpenAI)
//! # api_version = "2024-10-21"             # Azure's api-version query parameter
//! ```
//!
//! `{ vault = "m365" }` reads the tenant's credential `m365` from the store's vault
//! (`stackhand credentials set --tenant acme-law --name m365`, the value on standard input);
//! `{ env = "STACKHAND_SECRET_ACME_LAW__M365" }` and `{ file = "m365.secret" }` work with or
//! without a `[store]`.
//!
//! Variables override the file: `STACKHAND_SECRETS_DIR=/run/secrets`,
//! `STACKHAND_TENANTS__ACME__NAME="Acme"` (`__` separates keys). `STACKHAND_SECRET_*` variables
//! are credentials, not configuration, and `STACKHAND_AUDIT_KEY` and `STACKHAND_MASTER_KEY` are
//! keys; none is read as configuration. Every unknown key is an error naming the file (or the variable), the key and the nearest
//! valid key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;
use stackhand_core::build::LocalSecrets;
use stackhand_core::build::SecretRef;
use stackhand_core::directory::StaffMember;
use stackhand_core::suggest::{did_you_mean, hint, quoted_list};
use stackhand_core::{Assignment, Department, Error, Result, TenantGroupId, TenantId};
use stackhand_triage::LlmConfig;

/// The prefix of configuration variables.
pub const ENV_PREFIX: &str = "STACKHAND_";

/// Variables under [`ENV_PREFIX`] that are not configuration (lower-cased, without the prefix).
const NOT_CONFIGURATION: &[&str] = &["audit_key", "log", "master_key", "previous_master_key"];

/// The whole of `stackhand.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StackhandConfig {
    /// Policy files or directories every tenant's policy is layered from (global and group
    /// documents), relative to the configuration file.
    #[serde(default)]
    pub policies: Vec<PathBuf>,
    /// Workflow files or directories for every tenant, relative to the configuration file
    /// (default: the built-in workflows, `crates/runner/workflows/builtin.toml`).
    #[serde(default)]
    pub workflows: Vec<PathBuf>,
    /// Where `{ file = "x" }` credentials are kept: `<secrets_dir>/<tenant>/x`, relative to the
    /// configuration file. Without it, only `{ env = "…" }` credentials can be used.
    #[serde(default)]
    pub secrets_dir: Option<PathBuf>,
    /// The database (SQLite file or PostgreSQL) and the vault's master key. Without it,
    /// `{ vault = .. }` credentials are refused.
    #[serde(default)]
    pub store: Option<StoreConfig>,
    /// The client tenants, by id.
    #[serde(default)]
    pub tenants: BTreeMap<TenantId, TenantConfig>,
    /// The MSP's staff (`[[staff]]`): who may ask as a technician and who may approve, with
    /// roles scoped to all tenants, a tenant group or one tenant. The engine takes a
    /// technician's roles from here, never from a request; nobody here, nobody approves.
    #[serde(default)]
    pub staff: Vec<StaffMember>,
    /// `[incidents]`: when open tickets that look alike are linked as one incident
    /// ([`IncidentSettings`](crate::incidents::IncidentSettings)).
    #[serde(default)]
    pub incidents: crate::incidents::IncidentSettings,
    /// `[triage]`: how tickets are triaged ([`TriageConfig`]).
    #[serde(default)]
    pub triage: TriageConfig,
}

/// `[triage]`: the built-in model, unless `[triage.llm]` names an LLM.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TriageConfig {
    /// `[triage.llm]`: an OpenAI-compatible chat completions API proposes each ticket's intent
    /// instead of the built-in model ([`LlmConfig`]); its answer is validated, and the policy
    /// decides as ever. Off unless present.
    #[serde(default)]
    pub llm: Option<LlmConfig>,
}

impl StackhandConfig {
    /// Every role and approver group `[[staff]]` holds, once each, sorted: roles the policies
    /// may name.
    pub fn staff_roles(&self) -> Vec<&str> {
        let roles: std::collections::BTreeSet<&str> = self
            .staff
            .iter()
            .flat_map(|m| m.roles.iter().chain(&m.groups))
            .map(|r| r.role.as_str())
            .collect();
        roles.into_iter().collect()
    }
}

/// `[store]`: where the durable state and the credential vault live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StoreConfig {
    /// `sqlite://stackhand.db?mode=rwc` (a path relative to the configuration file; `mode=rwc`
    /// creates the file) or `postgres://user@host:5432/database` to scale out.
    pub url: String,
    /// The vault's master key, 64 hexadecimal characters: `{ file = "master.key" }` (relative
    /// to the configuration file; `stackhand vault keygen --out master.key`) or
    /// `{ env = "STACKHAND_MASTER_KEY" }`.
    pub master_key: KeySource,
    /// Master keys being retired: they still unwrap data keys not yet re-wrapped by a master
    /// key rotation. Give them to every process while a rotation runs.
    #[serde(default)]
    pub previous_master_keys: Vec<KeySource>,
    /// The master audit key, 64 hexadecimal characters, each tenant's chain key derived from it:
    /// `{ file = "audit.key" }` (`stackhand audit keygen audit.key`) or
    /// `{ env = "STACKHAND_AUDIT_KEY" }`. Needed to run anything on the store.
    #[serde(default)]
    pub audit_key: Option<KeySource>,
}

/// Where a key is kept: `{ file = "…" }` or `{ env = "…" }`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
#[non_exhaustive]
pub enum KeySource {
    /// A file holding the key (relative to the configuration file).
    File(PathBuf),
    /// An environment variable holding the key.
    Env(String),
}

impl KeySource {
    /// Where the key is, for messages.
    pub fn describe(&self) -> String {
        match self {
            KeySource::File(path) => format!("file {}", path.display()),
            KeySource::Env(name) => format!("environment variable {name}"),
        }
    }
}

/// `url` with a relative SQLite path made relative to `base`; other URLs as they are.
pub fn resolve_store_url(url: &str, base: &Path) -> String {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return url.to_string();
    };
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    if path.is_empty() || path.starts_with(':') || Path::new(path).is_absolute() {
        return url.to_string();
    }
    let joined = base.join(path);
    match query {
        Some(query) => format!("sqlite://{}?{query}", joined.display()),
        None => format!("sqlite://{}", joined.display()),
    }
}

/// One client tenant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TenantConfig {
    /// Display name (default: the id).
    #[serde(default)]
    pub name: Option<String>,
    /// The tenant group whose policy layer applies.
    #[serde(default)]
    pub group: Option<TenantGroupId>,
    /// The departments its directory names, for department policy layers.
    #[serde(default)]
    pub departments: Vec<Department>,
    /// Its own policy files or directories, relative to the configuration file.
    #[serde(default)]
    pub policies: Vec<PathBuf>,
    /// Its own workflow files or directories: a workflow here replaces a global one of the same
    /// id.
    #[serde(default)]
    pub workflows: Vec<PathBuf>,
    /// Where a ticket stackhand cannot or may not resolve goes, in its PSA:
    /// `{ member = "amorgan" }` or `{ board = "Escalations" }`. Without it, such a ticket gets
    /// the note that says why and stays where it is.
    #[serde(default)]
    pub escalation: Option<Assignment>,
    /// Shadow mode: tickets are triaged and their workflows planned (and audited), but nothing
    /// is executed and nothing is written to the PSA. For the first week with a new tenant.
    #[serde(default)]
    pub shadow: bool,
    /// In shadow mode, the actions (ids, `identity.unlock`) promoted to live: a ticket whose
    /// workflow's steps are all live actions runs live (executed, documented in the PSA,
    /// closed) while the others stay in shadow (`stackhand tenant promote`).
    #[serde(default)]
    pub live_actions: Vec<String>,
    /// Tell the user by mail when their ticket is resolved (through the tenant's messaging
    /// connector: Microsoft 365 with `notify_sender`), besides the PSA's resolution note.
    #[serde(default)]
    pub notify_users: bool,
    /// The secret a PSA callback for this tenant must carry (`?token=` on
    /// `POST /callbacks/<tenant>`, served by `stackhand run --listen`): a credential reference,
    /// `{ vault = "callback.token" }` or `{ file = "callback.token" }`. Without it, the tenant
    /// takes no callbacks.
    #[serde(default)]
    pub callback_token: Option<SecretRef>,
    /// Contacts (email addresses) who may ask for work on accounts other than their own: new
    /// starters and leavers (workflows with `authorised_contacts_only`).
    #[serde(default)]
    pub authorised_contacts: Vec<String>,
    /// Role templates by name (`paralegal`): what a new starter in that role gets.
    #[serde(default)]
    pub roles: BTreeMap<String, RoleTemplate>,
    /// How a new user's login is made: `{first}`, `{last}`, `{f}` (first initial) and
    /// `{domain}` (the requester's domain), lower case; default `{first}.{last}@{domain}`.
    #[serde(default)]
    pub login_format: Option<String>,
    /// The confidence below which triage abstains and the ticket goes to a person, between 0
    /// and 1 (default 0.6): higher routes more, lower acts more.
    #[serde(default)]
    pub triage_threshold: Option<f32>,
    /// Enabled connectors: vendor key to that connector's own configuration table.
    #[serde(default)]
    pub connectors: BTreeMap<String, serde_json::Value>,
}

/// What a new starter in a role gets: the workflow placeholders `{licences}`, `{groups}`,
/// `{device_tag}`, `{docs_layout}`, `{department}`, `{job_title}` and `{usage_location}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleTemplate {
    /// Licences (SKU part numbers or ids).
    #[serde(default)]
    pub licences: Vec<String>,
    /// Groups (names or ids).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The RMM tag of the new starter's device.
    #[serde(default)]
    pub device_tag: Option<String>,
    /// The documentation asset layout of the person.
    #[serde(default)]
    pub docs_layout: Option<String>,
    /// The department.
    #[serde(default)]
    pub department: Option<String>,
    /// The job title.
    #[serde(default)]
    pub job_title: Option<String>,
    /// The usage location (ISO country), for licensing.
    #[serde(default)]
    pub usage_location: Option<String>,
}

/// A loaded configuration and where its values came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The configuration, with relative paths resolved against the file's directory.
    pub config: StackhandConfig,
    figment: Figment,
    origin: String,
}

impl LoadedConfig {
    /// Read `path` and the `STACKHAND_*` variables.
    pub fn load(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::invalid(format!(
                "configuration file {} not found (pass --config, or create stackhand.toml)",
                path.display()
            )));
        }
        // figment hands the filter the variable's name as written (upper case), so compare
        // without case.
        let env = Env::prefixed(ENV_PREFIX).split("__").filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            !key.starts_with("secret_") && !NOT_CONFIGURATION.contains(&key.as_str())
        });
        let figment = Figment::new().merge(Toml::file(path)).merge(env);
        Self::extract(figment, path.display().to_string(), path.parent())
    }

    /// Read configuration text (tests, embedders); relative paths resolve against `base`.
    pub fn from_str(origin: &str, text: &str, base: Option<&Path>) -> Result<Self> {
        Self::extract(
            Figment::new().merge(Toml::string(text)),
            origin.to_string(),
            base,
        )
    }

    fn extract(figment: Figment, origin: String, base: Option<&Path>) -> Result<Self> {
        let mut config: StackhandConfig =
            figment.extract().map_err(|e| figment_error(&origin, e))?;
        if let Some(base) = base {
            let resolve = |p: &mut PathBuf| {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            };
            config.policies.iter_mut().for_each(resolve);
            config.workflows.iter_mut().for_each(resolve);
            config.secrets_dir.iter_mut().for_each(resolve);
            if let Some(store) = &mut config.store {
                store.url = resolve_store_url(&store.url, base);
                let keys = std::iter::once(&mut store.master_key)
                    .chain(store.previous_master_keys.iter_mut())
                    .chain(store.audit_key.iter_mut());
                for key in keys {
                    if let KeySource::File(path) = key {
                        resolve(path);
                    }
                }
            }
            if let Some(SecretRef::File(path)) =
                config.triage.llm.as_mut().and_then(|l| l.api_key.as_mut())
            {
                resolve(path);
            }
            for tenant in config.tenants.values_mut() {
                tenant.policies.iter_mut().for_each(resolve);
                tenant.workflows.iter_mut().for_each(resolve);
            }
        }
        let loaded = Self {
            config,
            figment,
            origin,
        };
        loaded.check()?;
        Ok(loaded)
    }

    /// Where the value at `key` (`tenants.acme.connectors.m365`) came from: the file or the
    /// variables.
    pub fn source_of(&self, key: &str) -> String {
        self.figment
            .find_metadata(key)
            .map(|m| source_name(m, &self.origin))
            .unwrap_or_else(|| self.origin.clone())
    }

    /// Refuse what serde cannot see: tenants whose secret variables would share a prefix.
    fn check(&self) -> Result<()> {
        let mut prefixes: BTreeMap<String, &TenantId> = BTreeMap::new();
        for id in self.config.tenants.keys() {
            if let Some(other) = prefixes.insert(LocalSecrets::env_prefix(id), id) {
                return Err(Error::invalid(format!(
                    "{}: tenants {other} and {id} would read the same secret variables ({}*); rename one",
                    self.origin,
                    LocalSecrets::env_prefix(id)
                )));
            }
        }
        for (id, tenant) in &self.config.tenants {
            if tenant.connectors.is_empty() {
                return Err(Error::invalid(format!(
                    "{}: tenant {id} enables no connector; add [tenants.{id}.connectors.<vendor>]",
                    self.source_of(&format!("tenants.{id}"))
                )));
            }
        }
        Ok(())
    }
}

/// The file a value came from, `origin` for configuration text given in code, or figment's name
/// of the source (the `STACKHAND_` variables).
fn source_name(metadata: &figment::Metadata, origin: &str) -> String {
    match &metadata.source {
        Some(figment::Source::File(path)) => path.display().to_string(),
        _ if metadata.name.contains(ENV_PREFIX) => metadata.name.to_string(),
        _ => origin.to_string(),
    }
}

/// figment's error as one line naming the source, the key and, for an unknown key, the nearest
/// valid one.
fn figment_error(origin: &str, err: figment::Error) -> Error {
    use figment::error::Kind;
    let source = err
        .metadata
        .as_ref()
        .map(|m| source_name(m, origin))
        .unwrap_or_else(|| origin.to_string());
    let mut key = err.path.join(".");
    let detail = match &err.kind {
        Kind::UnknownField(found, expected) => {
            let hint = hint(did_you_mean(found, expected.iter().copied()));
            format!(
                "unknown key {found:?}{hint}; valid keys here: {}",
                quoted_list(expected)
            )
        }
        Kind::MissingField(field) => {
            key = if key.is_empty() {
                field.to_string()
            } else {
                format!("{key}.{field}")
            };
            format!("missing key {field:?}")
        }
        other => other.to_string(),
    };
    let at = if key.is_empty() {
        String::new()
    } else {
        format!(" at {key}")
    };
    Error::invalid(format!("{source}{at}: {detail}")).with_context("key", key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_name_source_key_and_nearest() {
        let err = LoadedConfig::from_str(
            "stackhand.toml",
            "[tenants.acme]\ngrup = \"legal\"\n[tenants.acme.connectors.okta]\n",
            None,
        )
        .unwrap_err();
        let text = err.message();
        assert!(
            text.starts_with("stackhand.toml at tenants.acme.grup"),
            "{text}"
        );
        assert!(text.contains("did you mean \"group\""), "{text}");

        let err =
            LoadedConfig::from_str("stackhand.toml", "secret_dir = \"s\"\n", None).unwrap_err();
        assert!(
            err.to_string().contains("did you mean \"secrets_dir\""),
            "{err}"
        );
    }

    #[test]
    fn bad_ids_and_empty_tenants_are_refused() {
        let err = LoadedConfig::from_str(
            "stackhand.toml",
            "[tenants.\"acme law\".connectors.okta]\n",
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("invalid tenant id"), "{err}");
        let err = LoadedConfig::from_str("stackhand.toml", "[tenants.acme]\n", None).unwrap_err();
        assert!(err.to_string().contains("enables no connector"), "{err}");
        let err = LoadedConfig::from_str(
            "stackhand.toml",
            "[tenants.acme-eu.connectors.okta]\n[tenants.acme_eu.connectors.okta]\n",
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("same secret variables"), "{err}");
    }

    #[test]
    fn the_store_section_resolves_against_the_file() {
        let loaded = LoadedConfig::from_str(
            "stackhand.toml",
            "[store]\nurl = \"sqlite://data/stackhand.db?mode=rwc\"\nmaster_key = { file = \"master.key\" }\nprevious_master_keys = [{ env = \"OLD_KEY\" }]\n",
            Some(Path::new("/etc/stackhand")),
        )
        .unwrap();
        let store = loaded.config.store.as_ref().unwrap();
        assert_eq!(
            store.url,
            "sqlite:///etc/stackhand/data/stackhand.db?mode=rwc"
        );
        assert_eq!(
            store.master_key,
            KeySource::File(PathBuf::from("/etc/stackhand/master.key"))
        );
        assert_eq!(
            store.previous_master_keys,
            [KeySource::Env("OLD_KEY".into())]
        );

        for (url, shown) in [
            ("sqlite:///abs/x.db", "sqlite:///abs/x.db"),
            ("sqlite::memory:", "sqlite::memory:"),
            ("sqlite:x.db", "sqlite:///etc/x.db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
        ] {
            assert_eq!(resolve_store_url(url, Path::new("/etc")), shown);
        }

        let err = LoadedConfig::from_str(
            "stackhand.toml",
            "[store]\nurl = \"sqlite://x.db\"\nmaster_kye = { file = \"k\" }\n",
            None,
        )
        .unwrap_err();
        assert!(
            err.message().contains("did you mean \"master_key\""),
            "{err}"
        );
        let err = LoadedConfig::from_str(
            "stackhand.toml",
            "[store]\nurl = \"sqlite://x.db\"\nmaster_key = \"0123\"\n",
            None,
        )
        .unwrap_err();
        assert!(err.message().contains("store.master_key"), "{err}");
    }

    #[test]
    fn relative_paths_resolve_against_the_file() {
        let loaded = LoadedConfig::from_str(
            "stackhand.toml",
            "policies = [\"policies\"]\nsecrets_dir = \"secrets\"\n[tenants.acme]\npolicies = [\"p/acme.toml\"]\n[tenants.acme.connectors.okta]\n",
            Some(Path::new("/etc/stackhand")),
        )
        .unwrap();
        assert_eq!(
            loaded.config.policies,
            [PathBuf::from("/etc/stackhand/policies")]
        );
        assert_eq!(
            loaded.config.secrets_dir.as_deref(),
            Some(Path::new("/etc/stackhand/secrets"))
        );
        let acme = &loaded.config.tenants[&TenantId::new("acme").unwrap()];
        assert_eq!(acme.policies, [PathBuf::from("/etc/stackhand/p/acme.toml")]);
    }
}
