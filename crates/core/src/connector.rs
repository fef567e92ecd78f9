//! Connectors: one configured client for one vendor in one tenant, and the registry that builds
//! them from configuration.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::capability::{Documentation, IdentityProvider, Messaging, Psa, Rmm};
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
/// exactly the ones its vendor has, and callers discover them at run time.
#[async_trait]
pub trait Connector: Send + Sync + fmt::Debug {
    /// What this connector is.
    fn info(&self) -> &ConnectorInfo;

    /// Check the vendor answers and the credentials work.
    async fn health(&self) -> Result<Health>;

    /// The identity capability, if offered.
    fn identity(&self) -> Option<&dyn IdentityProvider> {
        None
    }

    /// The PSA capability, if offered.
    fn psa(&self) -> Option<&dyn Psa> {
        None
    }

    /// The RMM capability, if offered.
    fn rmm(&self) -> Option<&dyn Rmm> {
        None
    }

    /// The documentation capability, if offered.
    fn docs(&self) -> Option<&dyn Documentation> {
        None
    }

    /// The messaging capability, if offered.
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

    /// The first identity provider.
    pub fn identity(&self) -> Result<&dyn IdentityProvider> {
        self.connectors
            .iter()
            .find_map(|c| c.identity())
            .ok_or_else(|| self.missing(crate::Category::Identity))
    }

    /// The first PSA.
    pub fn psa(&self) -> Result<&dyn Psa> {
        self.connectors
            .iter()
            .find_map(|c| c.psa())
            .ok_or_else(|| self.missing(crate::Category::Psa))
    }

    /// The first RMM.
    pub fn rmm(&self) -> Result<&dyn Rmm> {
        self.connectors
            .iter()
            .find_map(|c| c.rmm())
            .ok_or_else(|| self.missing(crate::Category::Rmm))
    }

    /// The first documentation connector.
    pub fn docs(&self) -> Result<&dyn Documentation> {
        self.connectors
            .iter()
            .find_map(|c| c.docs())
            .ok_or_else(|| self.missing(crate::Category::Docs))
    }

    /// The first messaging connector.
    pub fn messaging(&self) -> Result<&dyn Messaging> {
        self.connectors
            .iter()
            .find_map(|c| c.messaging())
            .ok_or_else(|| self.missing(crate::Category::Messaging))
    }

    fn missing(&self, category: crate::Category) -> Error {
        Error::unsupported(&format!("{} capability", category.as_str()))
            .with_context("tenant", self.tenant.as_str())
    }
}

/// Builds connectors of one vendor from serde configuration.
pub trait ConnectorFactory: Send + Sync {
    /// The vendor key used in configuration (`[tenants.acme.connectors.m365]`).
    fn vendor(&self) -> &'static str;

    /// Build a connector for `tenant` from its configuration section.
    fn build(&self, tenant: &TenantId, config: serde_json::Value) -> Result<Arc<dyn Connector>>;
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

    /// Build a connector for a tenant.
    pub fn build(
        &self,
        vendor: &str,
        tenant: &TenantId,
        config: serde_json::Value,
    ) -> Result<Arc<dyn Connector>> {
        let factory = self.factories.get(vendor).ok_or_else(|| {
            Error::invalid(format!(
                "unknown connector {vendor:?}; this build knows: {}",
                self.factories
                    .keys()
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        factory.build(tenant, config).map_err(|e| {
            e.with_context("connector", vendor)
                .with_context("tenant", tenant.as_str())
        })
    }
}
