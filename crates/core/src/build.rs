//! What a host hands a [`ConnectorFactory`](crate::ConnectorFactory) to build one tenant's
//! connector: the tenant, its secrets, the clock, a tracing span and shared host services.
//!
//! Credentials in configuration are [`SecretRef`]s (`{ env = "…" }`, `{ file = "…" }`,
//! `{ vault = "…" }`), never values. A [`BuildContext`] resolves them for its own tenant only:
//! the [`LocalSecrets`] resolver lets tenant `acme` read environment variables named
//! `STACKHAND_SECRET_ACME__*` and files under `<secrets dir>/acme/`, so a connector cannot be
//! built for one tenant with another's credentials, whatever its configuration says.
//! `{ vault = "…" }` names a credential in the encrypted vault of `stackhand-store`, whose
//! resolver reads it from the resolving tenant's credentials only; [`LocalSecrets`] has no vault
//! and refuses it.
//!
//! ```
//! use secrecy::ExposeSecret;
//! use stackhand_core::build::{BuildContext, LocalSecrets, SecretRef};
//! use stackhand_core::TenantId;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::env::temp_dir().join("stackhand-doc-secrets");
//! std::fs::create_dir_all(dir.join("acme"))?;
//! std::fs::write(dir.join("acme/okta.key"), "s3cret\n")?;
//!
//! let ctx = BuildContext::new(TenantId::new("acme")?)
//!     .with_secrets(std::sync::Arc::new(LocalSecrets::new().with_dir(&dir)));
//! let secret = ctx.secret(&SecretRef::file("okta.key")).await?;
//! assert_eq!(secret.expose_secret(), "s3cret");
//!
//! // Another tenant's file is out of reach.
//! let err = ctx.secret(&SecretRef::file("../other/okta.key")).await.unwrap_err();
//! assert!(err.to_string().contains("outside"));
//! # Ok(()) }
//! ```

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

use crate::engine::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::model::TenantId;

/// Where a credential is kept. Configuration names the place, never the value.
///
/// In TOML: `client_secret = { env = "STACKHAND_SECRET_ACME__M365" }`,
/// `client_secret = { file = "m365.secret" }` (relative to the tenant's secrets directory) or
/// `client_secret = { vault = "m365" }` (the tenant's credential `m365` in the store's vault).
/// A bare string is refused, so a secret pasted into `stackhand.toml` never loads.
#[derive(Clone)]
#[non_exhaustive]
pub enum SecretRef {
    /// An environment variable.
    Env(String),
    /// A file (its contents, without the trailing newline).
    File(PathBuf),
    /// A credential, by name, in the resolving tenant's part of the store's encrypted vault
    /// (`stackhand credentials set`). Only a vault resolver (`stackhand_store::VaultSecrets`)
    /// reads it; [`LocalSecrets`] refuses it.
    Vault(String),
    /// A value supplied in code (tests, embedders with their own vault). Not accepted from
    /// configuration.
    Value(SecretString),
}

impl SecretRef {
    /// An environment variable.
    pub fn env(name: impl Into<String>) -> Self {
        SecretRef::Env(name.into())
    }

    /// A file, relative to the tenant's secrets directory.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        SecretRef::File(path.into())
    }

    /// A credential in the tenant's vault.
    pub fn vault(name: impl Into<String>) -> Self {
        SecretRef::Vault(name.into())
    }

    /// A value supplied in code.
    pub fn value(secret: impl Into<SecretString>) -> Self {
        SecretRef::Value(secret.into())
    }

    /// Where the secret is, for messages (never the value).
    pub fn describe(&self) -> String {
        match self {
            SecretRef::Env(name) => format!("environment variable {name}"),
            SecretRef::File(path) => format!("file {}", path.display()),
            SecretRef::Vault(name) => format!("vault credential {name}"),
            SecretRef::Value(_) => "a value supplied in code".to_string(),
        }
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => f.debug_tuple("Env").field(name).finish(),
            SecretRef::File(path) => f.debug_tuple("File").field(path).finish(),
            SecretRef::Vault(name) => f.debug_tuple("Vault").field(name).finish(),
            SecretRef::Value(_) => f.write_str("Value([redacted])"),
        }
    }
}

impl From<SecretString> for SecretRef {
    fn from(secret: SecretString) -> Self {
        SecretRef::Value(secret)
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Place;
        impl<'de> serde::de::Visitor<'de> for Place {
            type Value = SecretRef;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("{ env = \"NAME\" }, { file = \"PATH\" } or { vault = \"NAME\" }")
            }

            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<SecretRef, E> {
                // The value itself is never echoed back.
                Err(E::custom(
                    "a secret cannot be written into configuration; name where it is kept: \
                     { env = \"STACKHAND_SECRET_<TENANT>__<NAME>\" }, { file = \"<name>\" } \
                     or { vault = \"<name>\" }",
                ))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<SecretRef, A::Error> {
                use serde::de::Error as _;
                let mut found = None;
                while let Some(key) = map.next_key::<String>()? {
                    let place = match key.as_str() {
                        "env" => SecretRef::Env(map.next_value::<String>()?),
                        "file" => SecretRef::File(map.next_value::<PathBuf>()?),
                        "vault" => SecretRef::Vault(map.next_value::<String>()?),
                        other => {
                            return Err(A::Error::unknown_field(other, &["env", "file", "vault"]));
                        }
                    };
                    if found.replace(place).is_some() {
                        return Err(A::Error::custom(
                            "a secret reference takes exactly one of `env`, `file` or `vault`",
                        ));
                    }
                }
                match found {
                    Some(SecretRef::Env(name)) if name.trim().is_empty() => {
                        Err(A::Error::custom("`env` names no variable"))
                    }
                    Some(SecretRef::File(path)) if path.as_os_str().is_empty() => {
                        Err(A::Error::custom("`file` names no file"))
                    }
                    Some(SecretRef::Vault(name)) if name.trim().is_empty() => {
                        Err(A::Error::custom("`vault` names no credential"))
                    }
                    Some(place) => Ok(place),
                    None => Err(A::Error::custom(
                        "a secret reference needs `env`, `file` or `vault`",
                    )),
                }
            }
        }
        deserializer.deserialize_any(Place)
    }
}

impl JsonSchema for SecretRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SecretRef".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Where a secret is kept: an environment variable named STACKHAND_SECRET_<TENANT>__<NAME>, a file in the tenant's secrets directory, or a credential of the tenant in the store's vault.",
            "oneOf": [
                {
                    "type": "object",
                    "properties": {"env": {"type": "string", "minLength": 1}},
                    "required": ["env"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "properties": {"file": {"type": "string", "minLength": 1}},
                    "required": ["file"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "properties": {"vault": {"type": "string", "minLength": 1}},
                    "required": ["vault"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// Resolves [`SecretRef`]s for one tenant at a time. A resolver must refuse a reference that
/// belongs to another tenant; that refusal is what keeps tenants' credentials apart.
#[async_trait]
pub trait SecretResolver: Send + Sync + fmt::Debug {
    /// The secret `reference` names, read for `tenant`.
    async fn resolve(&self, tenant: &TenantId, reference: &SecretRef) -> Result<SecretString>;
}

/// What [`LocalSecrets`] answers to a `{ vault = .. }` reference.
pub const NO_VAULT: &str = "this deployment has no vault: set [store] in stackhand.toml \
     (url and master_key) and store the credential with `stackhand credentials set`";

/// The default resolver: environment variables and files, each scoped to the tenant.
///
/// - `{ env = NAME }`: `NAME` must start with the tenant's prefix,
///   [`env_prefix`](Self::env_prefix) (`STACKHAND_SECRET_ACME__` for `acme`).
/// - `{ file = PATH }`: a relative `PATH` is read from `<dir>/<tenant>/PATH`, an absolute one
///   as is; either way the file must lie inside `<dir>/<tenant>/` once links are resolved.
///   With no directory configured, files are refused.
/// - `{ vault = NAME }`: refused, since this resolver has no vault ([`NO_VAULT`]); the store's
///   `VaultSecrets` reads vault credentials and hands env and file references to this one.
#[derive(Debug, Clone, Default)]
pub struct LocalSecrets {
    dir: Option<PathBuf>,
}

impl LocalSecrets {
    /// Environment variables only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also read files under `dir/<tenant>/`.
    pub fn with_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// The prefix of the environment variables `tenant` may read: `STACKHAND_SECRET_`, the
    /// tenant id upper-cased with every other character than a letter or digit as `_`, then `__`.
    pub fn env_prefix(tenant: &TenantId) -> String {
        let id: String = tenant
            .as_str()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        format!("STACKHAND_SECRET_{id}__")
    }

    fn env(tenant: &TenantId, name: &str) -> Result<SecretString> {
        let prefix = Self::env_prefix(tenant);
        // `acme` must not reach `acme_`'s variables: the name after the prefix starts with a
        // letter or digit.
        let rest = name.strip_prefix(&prefix);
        if !rest.is_some_and(|r| r.starts_with(|c: char| c.is_ascii_alphanumeric())) {
            return Err(Error::forbidden(format!(
                "tenant {tenant} may read only environment variables named {prefix}<NAME>; \
                 {name} is outside that, so rename the variable"
            )));
        }
        match std::env::var(name) {
            Ok(value) if !value.is_empty() => Ok(SecretString::from(value)),
            Ok(_) => Err(Error::invalid(format!(
                "environment variable {name} (a secret of tenant {tenant}) is empty"
            ))),
            Err(_) => Err(Error::invalid(format!(
                "environment variable {name} (a secret of tenant {tenant}) is not set"
            ))),
        }
    }

    fn file(&self, tenant: &TenantId, path: &Path) -> Result<SecretString> {
        let dir = self.dir.as_ref().ok_or_else(|| {
            Error::invalid(format!(
                "tenant {tenant} names the secret file {} but no secrets directory is configured",
                path.display()
            ))
        })?;
        let root = dir.join(tenant.as_str());
        let root = root.canonicalize().map_err(|e| {
            Error::invalid(format!(
                "the secrets directory of tenant {tenant}, {}, cannot be opened: {e}",
                root.display()
            ))
        })?;
        let wanted = if path.is_absolute() {
            path.to_path_buf()
        } else {
            root.join(path)
        };
        let resolved = wanted.canonicalize().map_err(|e| {
            Error::invalid(format!(
                "secret file {} of tenant {tenant} cannot be opened: {e}",
                wanted.display()
            ))
        })?;
        if !resolved.starts_with(&root) {
            return Err(Error::forbidden(format!(
                "secret file {} is outside tenant {tenant}'s secrets directory {}",
                path.display(),
                root.display()
            )));
        }
        let text = std::fs::read_to_string(&resolved).map_err(|e| {
            Error::invalid(format!(
                "secret file {} of tenant {tenant} cannot be read: {e}",
                resolved.display()
            ))
        })?;
        let value = text.trim_end_matches(['\r', '\n']);
        if value.is_empty() {
            return Err(Error::invalid(format!(
                "secret file {} of tenant {tenant} is empty",
                resolved.display()
            )));
        }
        Ok(SecretString::from(value.to_string()))
    }
}

#[async_trait]
impl SecretResolver for LocalSecrets {
    async fn resolve(&self, tenant: &TenantId, reference: &SecretRef) -> Result<SecretString> {
        match reference {
            SecretRef::Env(name) => Self::env(tenant, name),
            SecretRef::File(path) => self.file(tenant, path),
            SecretRef::Vault(name) => Err(Error::invalid(format!(
                "vault credential {name} of tenant {tenant}: {NO_VAULT}"
            ))),
            SecretRef::Value(secret) => Ok(secret.clone()),
        }
    }
}

/// Shared services a host offers connectors, keyed by type (the HTTP crate keeps its shared
/// client and rate-limit registry here, so core names no transport).
#[derive(Clone, Default)]
pub struct Services {
    entries: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl fmt::Debug for Services {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Services")
            .field("count", &self.entries.len())
            .finish()
    }
}

impl Services {
    /// No services.
    pub fn new() -> Self {
        Self::default()
    }

    /// Offer a service, replacing one of the same type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, service: T) {
        self.entries.insert(TypeId::of::<T>(), Arc::new(service));
    }

    /// The service of type `T`, if offered.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.entries
            .get(&TypeId::of::<T>())
            .and_then(|s| s.downcast_ref::<T>())
    }
}

/// Everything a [`ConnectorFactory`](crate::ConnectorFactory) needs from the host to build one
/// tenant's connector. Cheap to clone.
#[derive(Clone)]
pub struct BuildContext {
    tenant: TenantId,
    secrets: Arc<dyn SecretResolver>,
    clock: Arc<dyn Clock>,
    span: tracing::Span,
    services: Services,
}

impl fmt::Debug for BuildContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildContext")
            .field("tenant", &self.tenant)
            .field("secrets", &self.secrets)
            .field("services", &self.services)
            .finish_non_exhaustive()
    }
}

impl BuildContext {
    /// A context for `tenant`: environment secrets ([`LocalSecrets`] without files), the system
    /// clock, a `connector.build` span and no host services (connectors fall back to their
    /// defaults).
    pub fn new(tenant: TenantId) -> Self {
        let span = tracing::info_span!("connector.build", tenant = %tenant);
        Self {
            tenant,
            secrets: Arc::new(LocalSecrets::new()),
            clock: Arc::new(SystemClock),
            span,
            services: Services::new(),
        }
    }

    /// Resolve secrets with this resolver.
    pub fn with_secrets(mut self, secrets: Arc<dyn SecretResolver>) -> Self {
        self.secrets = secrets;
        self
    }

    /// Use this clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Build inside this span.
    pub fn with_span(mut self, span: tracing::Span) -> Self {
        self.span = span;
        self
    }

    /// Offer these host services.
    pub fn with_services(mut self, services: Services) -> Self {
        self.services = services;
        self
    }

    /// Offer one more host service.
    pub fn with_service<T: Send + Sync + 'static>(mut self, service: T) -> Self {
        self.services.insert(service);
        self
    }

    /// The tenant being built for.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The span the build runs in.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// A host service of type `T`, if the host offers one.
    pub fn service<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.services.get::<T>()
    }

    /// The secret `reference` names, resolved for this context's tenant only.
    pub async fn secret(&self, reference: &SecretRef) -> Result<SecretString> {
        self.secrets
            .resolve(&self.tenant, reference)
            .await
            .map_err(|e| e.with_context("tenant", self.tenant.as_str()))
    }

    /// The credential at configuration key `key` (`auth.client_secret`): resolved like
    /// [`secret`](Self::secret), refused when blank, and any error carries `key` as its `key`
    /// context so the operator knows which line to fix.
    pub async fn credential(&self, key: &str, reference: &SecretRef) -> Result<SecretString> {
        use secrecy::ExposeSecret;
        let value = self
            .secret(reference)
            .await
            .map_err(|e| e.with_context("key", key.to_string()))?;
        if value.expose_secret().trim().is_empty() {
            return Err(
                Error::invalid(format!("{key} ({}) is empty", reference.describe()))
                    .with_context("key", key.to_string())
                    .with_context("tenant", self.tenant.as_str()),
            );
        }
        Ok(value)
    }

    /// The [`ConnectorInfo`](crate::ConnectorInfo) of a connector of `vendor` offering
    /// `categories`, for this context's tenant.
    pub fn connector_info(
        &self,
        vendor: &str,
        categories: &[crate::Category],
    ) -> crate::ConnectorInfo {
        crate::ConnectorInfo {
            vendor: vendor.to_string(),
            tenant: self.tenant.clone(),
            categories: categories.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn tenant(id: &str) -> TenantId {
        TenantId::new(id).unwrap()
    }

    #[test]
    fn env_prefixes_do_not_reach_a_neighbour() {
        assert_eq!(
            LocalSecrets::env_prefix(&tenant("acme-eu")),
            "STACKHAND_SECRET_ACME_EU__"
        );
        // `acme` would see `acme_`'s `STACKHAND_SECRET_ACME___X` by prefix alone.
        let err = LocalSecrets::env(&tenant("acme"), "STACKHAND_SECRET_ACME___X").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Forbidden);
        let err = LocalSecrets::env(&tenant("acme"), "STACKHAND_SECRET_BETA__X").unwrap_err();
        assert!(err.to_string().contains("STACKHAND_SECRET_ACME__"), "{err}");
    }

    #[tokio::test]
    async fn files_stay_inside_the_tenant_directory() {
        let dir = tempfile::tempdir().unwrap();
        for t in ["acme", "beta"] {
            std::fs::create_dir_all(dir.path().join(t)).unwrap();
            std::fs::write(dir.path().join(t).join("key"), format!("{t}-secret\n")).unwrap();
        }
        let secrets = Arc::new(LocalSecrets::new().with_dir(dir.path()));
        let acme = BuildContext::new(tenant("acme")).with_secrets(secrets);
        let own = acme.secret(&SecretRef::file("key")).await.unwrap();
        assert_eq!(own.expose_secret(), "acme-secret");
        for reach in [
            SecretRef::file("../beta/key"),
            SecretRef::file(dir.path().join("beta/key")),
        ] {
            let err = acme.secret(&reach).await.unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Forbidden, "{err}");
            assert!(!err.to_string().contains("beta-secret"));
        }
    }

    #[test]
    fn configuration_names_places_never_values() {
        let parsed: SecretRef = serde_json::from_value(serde_json::json!({"env": "X"})).unwrap();
        assert!(matches!(parsed, SecretRef::Env(name) if name == "X"));
        let inline = serde_json::from_value::<SecretRef>(serde_json::json!("hunter2"));
        let message = inline.err().unwrap().to_string();
        assert!(message.contains("cannot be written"), "{message}");
        assert!(!message.contains("hunter2"));
        assert!(
            serde_json::from_value::<SecretRef>(serde_json::json!({"env": "X", "file": "y"}))
                .is_err()
        );
        let shown = format!("{:?}", SecretRef::value(SecretString::from("hunter2")));
        assert!(!shown.contains("hunter2"));
        let vault: SecretRef =
            serde_json::from_value(serde_json::json!({"vault": "m365"})).unwrap();
        assert!(matches!(&vault, SecretRef::Vault(name) if name == "m365"));
        assert_eq!(vault.describe(), "vault credential m365");
        assert!(serde_json::from_value::<SecretRef>(serde_json::json!({"vault": " "})).is_err());
        assert!(
            serde_json::from_value::<SecretRef>(serde_json::json!({"vault": "a", "env": "B"}))
                .is_err()
        );
    }

    #[tokio::test]
    async fn local_secrets_have_no_vault() {
        let ctx = BuildContext::new(tenant("acme"));
        let err = ctx.secret(&SecretRef::vault("m365")).await.unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Invalid);
        let text = err.to_string();
        assert!(text.contains("this deployment has no vault"), "{text}");
        assert!(text.contains("[store]"), "{text}");
        assert!(text.contains("m365"), "{text}");
    }
}
