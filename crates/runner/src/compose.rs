//! From a loaded `stackhand.toml` to what an engine runs: each tenant's connectors built through
//! the [`Registry`], the policy vocabulary, and the layered policy.

use std::sync::Arc;

use stackhand_core::build::{LocalSecrets, SecretResolver, Services};
use stackhand_core::engine::{Clock, SystemClock};
use stackhand_core::policy::{LayeredPolicy, PolicyLoader, Vocabulary};
use stackhand_core::{
    ActionId, BuildContext, ConnectorSet, Department, Error, Registry, Result, Tenant,
};

use stackhand_store::VaultSecrets;

use crate::config::LoadedConfig;

/// The credentials outside the vault: `{ env = .. }`, and `{ file = .. }` under `secrets_dir`.
pub fn local_secrets(loaded: &LoadedConfig) -> LocalSecrets {
    match &loaded.config.secrets_dir {
        Some(dir) => LocalSecrets::new().with_dir(dir),
        None => LocalSecrets::new(),
    }
}

/// One tenant, ready to add to an engine.
#[derive(Debug)]
pub struct ComposedTenant {
    /// The tenant.
    pub tenant: Tenant,
    /// Its connectors, built through the registry.
    pub connectors: ConnectorSet,
    /// Its departments.
    pub departments: Vec<Department>,
}

/// Builds tenants from configuration through a [`Registry`], with the host's shared services
/// (the HTTP crate's `HttpHost`) and a secret resolver scoped per tenant.
pub struct Composer<'r> {
    registry: &'r Registry,
    services: Services,
    clock: Arc<dyn Clock>,
    secrets: Option<Arc<dyn SecretResolver>>,
}

impl std::fmt::Debug for Composer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Composer")
            .field("registry", self.registry)
            .field("services", &self.services)
            .finish_non_exhaustive()
    }
}

impl<'r> Composer<'r> {
    /// A composer over `registry`, with one shared [`HttpHost`](stackhand_http::HttpHost), the
    /// system clock and the configuration's secrets: its [`LocalSecrets`] (environment and
    /// secrets directory), and with a `[store]` section the store's vault as well
    /// ([`VaultSecrets`]).
    pub fn new(registry: &'r Registry) -> Self {
        // One connection pool and one rate-limit registry for every tenant's connectors.
        let mut services = Services::new();
        services.insert(stackhand_http::HttpHost::default());
        Self {
            registry,
            services,
            clock: Arc::new(SystemClock),
            secrets: None,
        }
    }

    /// Share these host services with every connector.
    pub fn with_services(mut self, services: Services) -> Self {
        self.services = services;
        self
    }

    /// Use this clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Resolve credentials with this resolver instead of the configuration's environment,
    /// secrets directory and vault.
    pub fn with_secrets(mut self, secrets: Arc<dyn SecretResolver>) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// The resolver given, else the configuration's: with `[store]`, the vault (opened here)
    /// in front of the environment and secrets directory.
    async fn resolver(&self, loaded: &LoadedConfig) -> Result<Arc<dyn SecretResolver>> {
        if let Some(secrets) = &self.secrets {
            return Ok(secrets.clone());
        }
        let local = local_secrets(loaded);
        Ok(match crate::store::open_vault(loaded).await? {
            Some(vault) => Arc::new(VaultSecrets::new(Arc::new(vault), local)),
            None => Arc::new(local),
        })
    }

    /// Build every tenant's connectors. An error names the file, the tenant and connector, and
    /// the key at fault.
    pub async fn tenants(&self, loaded: &LoadedConfig) -> Result<Vec<ComposedTenant>> {
        let secrets = self.resolver(loaded).await?;
        let mut composed = Vec::new();
        for (id, config) in &loaded.config.tenants {
            let ctx = BuildContext::new(id.clone())
                .with_secrets(secrets.clone())
                .with_clock(self.clock.clone())
                .with_services(self.services.clone());
            let mut connectors = ConnectorSet::new(id.clone());
            for (vendor, section) in &config.connectors {
                let at = format!("tenants.{id}.connectors.{vendor}");
                let connector = self
                    .registry
                    .build(&ctx, vendor, section.clone())
                    .await
                    .map_err(|e| located(e, &loaded.source_of(&at), &at))?;
                connectors.add(connector)?;
            }
            let mut tenant = Tenant::new(
                id.clone(),
                config.name.clone().unwrap_or_else(|| id.to_string()),
            );
            if let Some(group) = &config.group {
                tenant = tenant.in_group(group.clone());
            }
            composed.push(ComposedTenant {
                tenant,
                connectors,
                departments: config.departments.clone(),
            });
        }
        Ok(composed)
    }

    /// The names the configuration's policies may use: built-in actions, every action the
    /// registry's connectors offer, the tenants, their groups and departments.
    pub fn vocabulary(&self, loaded: &LoadedConfig) -> Vocabulary {
        let vendor_actions: Vec<ActionId> = self
            .registry
            .describe()
            .into_iter()
            .flat_map(|d| d.actions.into_iter().map(|a| a.id))
            .collect();
        let tenants = &loaded.config.tenants;
        let mut vocabulary = Vocabulary::builtin()
            .with_actions(vendor_actions)
            .with_tenants(tenants.keys().cloned())
            .with_tenant_groups(tenants.values().filter_map(|t| t.group.clone()));
        for (id, tenant) in tenants {
            if !tenant.departments.is_empty() {
                vocabulary = vocabulary.with_departments(id, tenant.departments.iter().cloned());
            }
        }
        vocabulary
    }

    /// The layered policy from the configuration's policy files, checked against
    /// [`vocabulary`](Self::vocabulary) extended with `roles`.
    pub fn policy(&self, loaded: &LoadedConfig, roles: &[&str]) -> Result<LayeredPolicy> {
        let mut loader = PolicyLoader::new()
            .vocabulary(self.vocabulary(loaded).with_roles(roles.iter().copied()));
        let tenant_files = loaded
            .config
            .tenants
            .values()
            .flat_map(|t| t.policies.iter());
        let mut any = false;
        for path in loaded.config.policies.iter().chain(tenant_files) {
            loader = loader.add_path(path);
            any = true;
        }
        if !any {
            return Err(Error::invalid(
                "no policy files are configured: with no policy nothing may act; list them in `policies = [...]`",
            ));
        }
        loader.build().map_err(|e| Error::invalid(e.to_string()))
    }
}

/// The error with the file and the configuration path in front of its message.
fn located(error: Error, source: &str, at: &str) -> Error {
    let key = match error.context_value("key") {
        Some(key) if !key.is_empty() => format!("{at}.{key}"),
        _ => at.to_string(),
    };
    let mut located = Error::new(error.kind(), format!("{source}: {at}: {}", error.message()))
        .with_context("file", source)
        .with_context("key", key);
    for (name, value) in error.context() {
        if *name != "key" {
            located = located.with_context(name, value.clone());
        }
    }
    located
}
