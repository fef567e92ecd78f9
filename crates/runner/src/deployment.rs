//! A deployment: everything `stackhand.toml` composes, working on the store.
//!
//! [`Deployment::open`] needs a `[store]` with a master audit key: the engine's idempotency
//! keys, approvals, caps and the audit trail (each tenant's chain sealed with its own key
//! derived from the master) live in the database, connectors get their credentials through
//! the vault (each tenant's own), and the staff directory comes from `[[staff]]`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use stackhand_core::build::{SecretResolver, Services};
use stackhand_core::directory::MemoryStaffDirectory;
use stackhand_core::{Category, Engine, Error, Registry, Result, TenantId};
use stackhand_http::{HttpHost, RateLimits, SharedBudget};
use stackhand_store::{Store, Vault, VaultSecrets};

use crate::compose::{Composer, local_secrets};
use crate::config::LoadedConfig;
use crate::runs::{Clock, RunExecutor};
use crate::store::{connect_store, load_audit_keys, vault_on};

/// The engine of a deployment, on its store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Deployment {
    engine: Engine,
    store: Arc<Store>,
    tenants: Vec<TenantId>,
    psa: BTreeMap<TenantId, String>,
    identity: BTreeMap<TenantId, String>,
    callback_tokens: BTreeMap<TenantId, SecretString>,
    vault: Option<Arc<Vault>>,
    clock: Clock,
}

impl Deployment {
    /// Compose `loaded` with the connectors of `registry`: open the store (migrating it), load
    /// the audit key and the staff, build every tenant's connectors with its own credentials,
    /// load the layered policy, and add every tenant to one engine.
    pub async fn open(loaded: &LoadedConfig, registry: &Registry) -> Result<Self> {
        let origin = loaded.source_of("store");
        let Some(config) = &loaded.config.store else {
            return Err(Error::invalid(format!(
                "{origin} has no [store]: runs, approvals and the audit trail are kept in a \
                 database; add [store] with url = \"sqlite://stackhand.db?mode=rwc\", \
                 master_key = {{ file = \"master.key\" }} (`stackhand vault keygen --out \
                 master.key`) and audit_key = {{ file = \"audit.key\" }} (`stackhand audit \
                 keygen audit.key`)"
            )));
        };
        let staff = staff_directory(loaded)?;
        let audit_keys = load_audit_keys(config, &origin)?;
        let store = Arc::new(connect_store(config, &origin, audit_keys).await?);
        let vault = Arc::new(vault_on(store.clone(), config, &origin)?);
        // Every runner on this database takes each (tenant, vendor)'s requests from one budget.
        let mut services = Services::new();
        services.insert(
            HttpHost::default().with_rate_limits(
                RateLimits::new().with_shared(Arc::new(StoreBudget(store.clone()))),
            ),
        );
        let secrets: Arc<dyn SecretResolver> =
            Arc::new(VaultSecrets::new(vault.clone(), local_secrets(loaded)));
        let mut callback_tokens = BTreeMap::new();
        for (id, tenant) in &loaded.config.tenants {
            if let Some(reference) = &tenant.callback_token {
                let token = secrets.resolve(id, reference).await.map_err(|e| {
                    Error::new(
                        e.kind(),
                        format!(
                            "{} at tenants.{id}.callback_token: {}",
                            loaded.source_of(&format!("tenants.{id}")),
                            e.message()
                        ),
                    )
                })?;
                callback_tokens.insert(id.clone(), token);
            }
        }
        let composer = Composer::new(registry)
            .with_services(services)
            .with_secrets(secrets);
        let policy = composer.policy(loaded, &loaded.config.staff_roles())?;
        let engine = Engine::builder(Arc::new(policy), store.clone())
            .store(store.clone())
            .staff(Arc::new(staff))
            .build();
        let mut tenants = Vec::new();
        let mut psa = BTreeMap::new();
        let mut identity = BTreeMap::new();
        for composed in composer.tenants(loaded).await? {
            let id = composed.tenant.id.clone();
            let vendor_of = |category: Category| {
                composed
                    .connectors
                    .all()
                    .iter()
                    .find(|c| c.info().categories.contains(&category))
                    .map(|c| c.info().vendor.clone())
            };
            if let Some(vendor) = vendor_of(Category::Psa) {
                psa.insert(id.clone(), vendor);
            }
            if let Some(vendor) = vendor_of(Category::Identity) {
                identity.insert(id.clone(), vendor);
            }
            tenants.push(id);
            engine.add_tenant(composed.tenant, composed.connectors)?;
        }
        Ok(Self {
            engine,
            store,
            tenants,
            psa,
            identity,
            callback_tokens,
            vault: Some(vault),
            clock: Clock::default(),
        })
    }

    /// A deployment composed in code instead of from `stackhand.toml`: `engine` (its tenants
    /// already added, recording in `store`), and each tenant with the vendor key of its PSA
    /// connector, if it has one (the pipeline takes tickets from those).
    pub fn assemble(
        engine: Engine,
        store: Arc<Store>,
        tenants: impl IntoIterator<Item = (TenantId, Option<String>)>,
    ) -> Self {
        let mut ids = Vec::new();
        let mut psa = BTreeMap::new();
        for (tenant, vendor) in tenants {
            if let Some(vendor) = vendor {
                psa.insert(tenant.clone(), vendor);
            }
            ids.push(tenant);
        }
        Self {
            engine,
            store,
            tenants: ids,
            psa,
            identity: BTreeMap::new(),
            callback_tokens: BTreeMap::new(),
            vault: None,
            clock: Clock::default(),
        }
    }

    /// Keep run secrets (passwords generated for new accounts, passes handed over by one step
    /// to another) in `vault`.
    pub fn with_vault(mut self, vault: Arc<Vault>) -> Self {
        self.vault = Some(vault);
        self
    }

    /// The clock runs are driven at (a demo moves it forward to show scheduled steps run).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The engine: the only road to execution.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The store the engine, the audit trail and the runs are kept in.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The tenants, in configuration order.
    pub fn tenants(&self) -> &[TenantId] {
        &self.tenants
    }

    /// The vendor key of a tenant's PSA connector, if it has one.
    pub fn psa_of(&self, tenant: &TenantId) -> Option<&str> {
        self.psa.get(tenant).map(String::as_str)
    }

    /// The vendor key of a tenant's identity connector (`m365`, `okta`), if it has one.
    pub fn identity_of(&self, tenant: &TenantId) -> Option<&str> {
        self.identity.get(tenant).map(String::as_str)
    }

    /// Each tenant's PSA callback token (`callback_token`), for tenants that take callbacks.
    pub fn callback_tokens(&self) -> &BTreeMap<TenantId, SecretString> {
        &self.callback_tokens
    }

    /// Durable runs on this deployment's engine and store.
    pub fn runs(&self) -> RunExecutor {
        let executor = RunExecutor::new(self.engine.clone(), self.store.clone())
            .with_clock(self.clock.clone());
        match &self.vault {
            Some(vault) => executor.with_vault(vault.clone()),
            None => executor,
        }
    }
}

/// The store as the rate budget the HTTP clients of every runner on it share.
#[derive(Debug)]
struct StoreBudget(Arc<Store>);

#[async_trait]
impl SharedBudget for StoreBudget {
    async fn take(
        &self,
        tenant: &TenantId,
        vendor: &str,
        per_second: f64,
        burst: u32,
    ) -> Result<Duration> {
        self.0
            .take_rate_token(tenant, vendor, per_second, burst)
            .await
    }

    async fn pause(&self, tenant: &TenantId, vendor: &str, delay: Duration) -> Result<()> {
        self.0.pause_rate(tenant, vendor, delay).await
    }
}

/// `[[staff]]` as a directory; a member listed twice is an error (which entry would count?).
fn staff_directory(loaded: &LoadedConfig) -> Result<MemoryStaffDirectory> {
    let mut seen = BTreeSet::new();
    let mut directory = MemoryStaffDirectory::new();
    for member in &loaded.config.staff {
        if !seen.insert(member.id.to_ascii_lowercase()) {
            return Err(Error::invalid(format!(
                "{}: staff member {} is listed twice; merge the two [[staff]] entries",
                loaded.source_of("staff"),
                member.id
            )));
        }
        directory = directory.with(member.clone());
    }
    Ok(directory)
}
