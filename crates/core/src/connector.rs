//! Connectors: one configured client for one vendor in one tenant, and the registry that builds
//! them from configuration.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use tracing::Instrument;

use crate::action::Action;
use crate::build::BuildContext;
use crate::capability::{
    Documentation, DocumentationWrites, IdentityProvider, IdentityWrites, Messaging, Psa,
    PsaWrites, Rmm, RmmWrites,
};
use crate::error::{Error, Result};
use crate::model::{Category, TenantId};

/// What a connector is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorInfo {
    /// Vendor key (`m365`, `okta`, `connectwise`, `autotask`, `memory`).
    pub vendor: String,
    /// The tenant this instance serves.
    pub tenant: TenantId,
    /// Capability categories offered.
    pub categories: Vec<Category>,
}

/// A health check's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Whether the vendor answered and our credentials work.
    pub healthy: bool,
    /// Details (API version, latency, what failed).
    pub detail: String,
}

/// One configured client for one vendor in one tenant.
///
/// Capabilities are exposed through accessors rather than supertraits so a connector offers
/// exactly the ones its vendor has, and callers discover them at run time. Each capability has a
/// read accessor and a write accessor; every write method borrows an
/// [`ExecutionProof`](crate::ExecutionProof), so handing out a connector hands out no power to
/// change anything.
#[async_trait]
pub trait Connector: Send + Sync + fmt::Debug {
    /// What this connector is.
    fn info(&self) -> &ConnectorInfo;

    /// Check the vendor answers and the credentials work.
    async fn health(&self) -> Result<Health>;

    /// The identity capability's reads, if offered.
    fn identity(&self) -> Option<&dyn IdentityProvider> {
        None
    }

    /// The identity capability's writes, if offered.
    fn identity_writes(&self) -> Option<&dyn IdentityWrites> {
        None
    }

    /// The PSA capability's reads, if offered.
    fn psa(&self) -> Option<&dyn Psa> {
        None
    }

    /// The PSA capability's writes, if offered.
    fn psa_writes(&self) -> Option<&dyn PsaWrites> {
        None
    }

    /// The RMM capability's reads, if offered.
    fn rmm(&self) -> Option<&dyn Rmm> {
        None
    }

    /// The RMM capability's writes, if offered.
    fn rmm_writes(&self) -> Option<&dyn RmmWrites> {
        None
    }

    /// The documentation capability's reads, if offered.
    fn docs(&self) -> Option<&dyn Documentation> {
        None
    }

    /// The documentation capability's writes, if offered.
    fn docs_writes(&self) -> Option<&dyn DocumentationWrites> {
        None
    }

    /// The messaging capability (every message is a write), if offered.
    fn messaging(&self) -> Option<&dyn Messaging> {
        None
    }

    /// Vendor-specific actions (`m365.convert_to_shared`), beyond the built-in neutral ones.
    fn actions(&self) -> Vec<Arc<dyn Action>> {
        Vec::new()
    }
}

/// The connectors one tenant has enabled, looked up by capability.
#[derive(Debug, Clone)]
pub struct ConnectorSet {
    tenant: TenantId,
    connectors: Vec<Arc<dyn Connector>>,
}

impl ConnectorSet {
    /// An empty set for a tenant.
    pub fn new(tenant: TenantId) -> Self {
        Self {
            tenant,
            connectors: Vec::new(),
        }
    }

    /// Add a connector; it must serve the same tenant, so nothing crosses tenants.
    pub fn add(&mut self, connector: Arc<dyn Connector>) -> Result<()> {
        let info = connector.info();
        if info.tenant != self.tenant {
            return Err(Error::invalid(format!(
                "connector {} serves tenant {}, not {}",
                info.vendor, info.tenant, self.tenant
            )));
        }
        self.connectors.push(connector);
        Ok(())
    }

    /// Builder-style [`add`](Self::add).
    pub fn with(mut self, connector: Arc<dyn Connector>) -> Result<Self> {
        self.add(connector)?;
        Ok(self)
    }

    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// All connectors.
    pub fn all(&self) -> &[Arc<dyn Connector>] {
        &self.connectors
    }

    /// The first identity provider's reads.
    pub fn identity(&self) -> Result<&dyn IdentityProvider> {
        self.first(crate::Category::Identity, |c| c.identity())
    }

    /// The first PSA's reads.
    pub fn psa(&self) -> Result<&dyn Psa> {
        self.first(crate::Category::Psa, |c| c.psa())
    }

    /// The first RMM's reads.
    pub fn rmm(&self) -> Result<&dyn Rmm> {
        self.first(crate::Category::Rmm, |c| c.rmm())
    }

    /// The first documentation connector's reads.
    pub fn docs(&self) -> Result<&dyn Documentation> {
        self.first(crate::Category::Docs, |c| c.docs())
    }

    /// The writes of the identity provider [`identity`](Self::identity) reads from.
    pub(crate) fn identity_writes(&self) -> Result<&dyn IdentityWrites> {
        self.writes_of(
            crate::Category::Identity,
            |c| c.identity().is_some(),
            |c| c.identity_writes(),
        )
    }

    /// The writes of the PSA [`psa`](Self::psa) reads from.
    pub(crate) fn psa_writes(&self) -> Result<&dyn PsaWrites> {
        self.writes_of(
            crate::Category::Psa,
            |c| c.psa().is_some(),
            |c| c.psa_writes(),
        )
    }

    /// The writes of the RMM [`rmm`](Self::rmm) reads from.
    pub(crate) fn rmm_writes(&self) -> Result<&dyn RmmWrites> {
        self.writes_of(
            crate::Category::Rmm,
            |c| c.rmm().is_some(),
            |c| c.rmm_writes(),
        )
    }

    /// The writes of the documentation connector [`docs`](Self::docs) reads from.
    pub(crate) fn docs_writes(&self) -> Result<&dyn DocumentationWrites> {
        self.writes_of(
            crate::Category::Docs,
            |c| c.docs().is_some(),
            |c| c.docs_writes(),
        )
    }

    /// The first messaging connector.
    pub(crate) fn messaging(&self) -> Result<&dyn Messaging> {
        self.first(crate::Category::Messaging, |c| c.messaging())
    }

    fn first<'s, T: ?Sized + 's>(
        &'s self,
        category: crate::Category,
        pick: impl Fn(&'s dyn Connector) -> Option<&'s T>,
    ) -> Result<&'s T> {
        self.connectors
            .iter()
            .map(|c| c.as_ref())
            .find_map(pick)
            .ok_or_else(|| self.missing(category))
    }

    /// Writes go to the same connector the reads came from, so a plan read from one system is
    /// never executed against another.
    fn writes_of<'s, T: ?Sized + 's>(
        &'s self,
        category: crate::Category,
        reads: impl Fn(&'s dyn Connector) -> bool,
        writes: impl Fn(&'s dyn Connector) -> Option<&'s T>,
    ) -> Result<&'s T> {
        let connector: &'s dyn Connector = self
            .connectors
            .iter()
            .map(|c| c.as_ref())
            .find(|c| reads(*c))
            .ok_or_else(|| self.missing(category))?;
        writes(connector).ok_or_else(|| {
            Error::unsupported(&format!("{} writes", category.as_str()))
                .with_context("connector", connector.info().vendor.as_str())
                .with_context("tenant", self.tenant.as_str())
        })
    }

    fn missing(&self, category: crate::Category) -> Error {
        Error::unsupported(&format!("{} capability", category.as_str()))
            .with_context("tenant", self.tenant.as_str())
    }
}

/// A read-only view of one tenant's connectors: what the engine hands out to intake, triage
/// and reporting. It exposes no write accessor and no connector handle.
#[derive(Debug, Clone)]
pub struct ConnectorReads {
    set: Arc<ConnectorSet>,
}

impl ConnectorReads {
    pub(crate) fn new(set: Arc<ConnectorSet>) -> Self {
        Self { set }
    }

    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        self.set.tenant()
    }

    /// What each connector is.
    pub fn infos(&self) -> Vec<ConnectorInfo> {
        self.set.all().iter().map(|c| c.info().clone()).collect()
    }

    /// The identity provider's reads.
    pub fn identity(&self) -> Result<&dyn IdentityProvider> {
        self.set.identity()
    }

    /// The PSA's reads.
    pub fn psa(&self) -> Result<&dyn Psa> {
        self.set.psa()
    }

    /// The RMM's reads.
    pub fn rmm(&self) -> Result<&dyn Rmm> {
        self.set.rmm()
    }

    /// The documentation system's reads.
    pub fn docs(&self) -> Result<&dyn Documentation> {
        self.set.docs()
    }

    /// Check every connector's health.
    pub async fn health(&self) -> Vec<(ConnectorInfo, Result<Health>)> {
        let mut out = Vec::new();
        for connector in self.set.all() {
            out.push((connector.info().clone(), connector.health().await));
        }
        out
    }
}

/// What a connector crate offers, known before any tenant is built: for `stackhand
/// connectors`, for the policy vocabulary, and for agents choosing a tool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectorDescription {
    /// Vendor key (`m365`).
    pub vendor: String,
    /// One line on what the vendor is.
    pub summary: String,
    /// Capability categories a built connector offers.
    pub categories: Vec<Category>,
    /// JSON schema of its configuration section.
    pub config_schema: serde_json::Value,
    /// Its vendor-specific actions.
    pub actions: Vec<crate::ActionSpec>,
}

impl ConnectorDescription {
    /// The description of a connector of `vendor` whose configuration section is `C`.
    pub fn of<C: schemars::JsonSchema>(
        vendor: &str,
        summary: &str,
        categories: &[Category],
        actions: Vec<crate::ActionSpec>,
    ) -> Self {
        Self {
            vendor: vendor.to_string(),
            summary: summary.to_string(),
            categories: categories.to_vec(),
            config_schema: serde_json::to_value(schemars::schema_for!(C)).unwrap_or_default(),
            actions,
        }
    }
}

/// Builds connectors of one vendor from configuration.
///
/// `build` reads the section with [`config::section`](crate::config::section) (so an unknown key
/// is named with the nearest valid one), resolves credentials with
/// [`BuildContext::secret`] (so they are the context tenant's own), and takes shared host
/// services from the context. [`Registry::build`] checks that the connector serves the context's
/// tenant and vendor, and that it offers what [`describe`](Self::describe) promised.
#[async_trait]
pub trait ConnectorFactory: Send + Sync {
    /// The vendor key used in configuration (`[tenants.acme.connectors.m365]`).
    fn vendor(&self) -> &'static str;

    /// What the connector offers, without building one.
    fn describe(&self) -> ConnectorDescription;

    /// Build a connector for `ctx.tenant()` from its configuration section.
    async fn build(
        &self,
        ctx: &BuildContext,
        config: serde_json::Value,
    ) -> Result<Arc<dyn Connector>>;
}

/// The factories a runner knows, keyed by vendor. Connector crates add theirs with a
/// `register(&mut Registry)` function; nothing registers itself before `main`.
#[derive(Default)]
pub struct Registry {
    factories: BTreeMap<&'static str, Arc<dyn ConnectorFactory>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.factories.keys()).finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Register a factory; a second factory for the same vendor replaces the first.
    pub fn register(&mut self, factory: Arc<dyn ConnectorFactory>) {
        self.factories.insert(factory.vendor(), factory);
    }

    /// Vendors known.
    pub fn vendors(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.factories.keys().copied()
    }

    /// What each known connector offers, by vendor.
    pub fn describe(&self) -> Vec<ConnectorDescription> {
        self.factories.values().map(|f| f.describe()).collect()
    }

    /// Build `vendor`'s connector for the context's tenant, in the context's span.
    ///
    /// Fails closed when the factory hands back a connector for another tenant or vendor, or
    /// one whose categories or actions differ from its description.
    pub async fn build(
        &self,
        ctx: &BuildContext,
        vendor: &str,
        config: serde_json::Value,
    ) -> Result<Arc<dyn Connector>> {
        let factory = self.factories.get(vendor).ok_or_else(|| {
            let known: Vec<&str> = self.factories.keys().copied().collect();
            let hint =
                crate::suggest::hint(crate::suggest::did_you_mean(vendor, known.iter().copied()));
            Error::invalid(format!(
                "unknown connector {vendor:?}{hint}; this build knows: {}",
                known.join(", ")
            ))
            .with_context("tenant", ctx.tenant().as_str())
        })?;
        let tenant = ctx.tenant().as_str();
        let connector = factory
            .build(ctx, config)
            .instrument(tracing::info_span!(parent: ctx.span(), "connector", vendor))
            .await
            .map_err(|e| {
                let e = if e.context_value("connector").is_none() {
                    e.with_context("connector", vendor)
                } else {
                    e
                };
                if e.context_value("tenant").is_none() {
                    e.with_context("tenant", tenant)
                } else {
                    e
                }
            })?;
        let info = connector.info();
        if info.tenant != *ctx.tenant() || info.vendor != vendor {
            return Err(Error::permanent(format!(
                "the {vendor} factory built a {} connector for tenant {} when asked for tenant {tenant}",
                info.vendor, info.tenant
            )));
        }
        let described = factory.describe();
        let mut promised = described.categories.clone();
        let mut offered = info.categories.clone();
        promised.sort();
        offered.sort();
        let mut promised_actions: Vec<_> = described.actions.iter().map(|a| &a.id).collect();
        let built = connector.actions();
        let mut built_actions: Vec<_> = built.iter().map(|a| &a.spec().id).collect();
        promised_actions.sort();
        built_actions.sort();
        if promised != offered || promised_actions != built_actions {
            return Err(Error::permanent(format!(
                "the {vendor} connector built for tenant {tenant} offers other categories or \
                 actions than its factory describes"
            )));
        }
        Ok(connector)
    }
}
