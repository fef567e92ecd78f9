//! The connector: `impl Connector`, and the factory that builds it from configuration.

use std::sync::Arc;

use async_trait::async_trait;
use stackhand_core::{
    Action, Category, Connector, ConnectorFactory, ConnectorInfo, Health, IdentityProvider,
    IdentityWrites, Result, TenantId, Typed,
};

use crate::actions::{Activate, Deactivate, Suspend, Unsuspend};
use crate::client::OktaClient;
use crate::config::OktaConfig;

/// Okta for one tenant: identity capability plus the `okta.*` lifecycle actions.
#[derive(Debug, Clone)]
pub struct OktaConnector {
    info: ConnectorInfo,
    client: OktaClient,
    org: String,
}

impl OktaConnector {
    /// Build from validated configuration, with a fresh HTTP client.
    pub fn new(tenant: TenantId, config: &OktaConfig) -> Result<Self> {
        Self::with_http(tenant, config, None)
    }

    /// Build with an injected `reqwest` client (shared connection pool, test proxies).
    pub fn with_http(
        tenant: TenantId,
        config: &OktaConfig,
        http: Option<reqwest::Client>,
    ) -> Result<Self> {
        let client = OktaClient::new(tenant.clone(), config, http)?;
        Ok(Self {
            info: ConnectorInfo {
                vendor: crate::VENDOR.to_string(),
                tenant,
                categories: vec![Category::Identity],
            },
            client,
            org: config.base_url.as_str().to_string(),
        })
    }

    /// The typed Okta client.
    pub(crate) fn client(&self) -> &OktaClient {
        &self.client
    }
}

#[async_trait]
impl Connector for OktaConnector {
    fn info(&self) -> &ConnectorInfo {
        &self.info
    }

    async fn health(&self) -> Result<Health> {
        match self.client.probe().await {
            Ok(()) => Ok(Health {
                healthy: true,
                detail: format!(
                    "Okta org {} answered and accepted the credentials",
                    self.org
                ),
            }),
            Err(e) => Ok(Health {
                healthy: false,
                detail: format!("Okta org {}: {e}", self.org),
            }),
        }
    }

    fn identity(&self) -> Option<&dyn IdentityProvider> {
        Some(self)
    }

    fn identity_writes(&self) -> Option<&dyn IdentityWrites> {
        Some(self)
    }

    fn actions(&self) -> Vec<Arc<dyn Action>> {
        vec![
            Typed::shared(Suspend::new(self.client.clone())),
            Typed::shared(Unsuspend::new(self.client.clone())),
            Typed::shared(Deactivate::new(self.client.clone())),
            Typed::shared(Activate::new(self.client.clone())),
        ]
    }
}

/// Builds [`OktaConnector`]s from `[tenants.<t>.connectors.okta]` sections.
#[derive(Debug, Clone, Default)]
pub struct OktaFactory {
    http: Option<reqwest::Client>,
}

impl OktaFactory {
    /// A factory whose connectors share `http`.
    pub fn with_http(http: reqwest::Client) -> Self {
        Self { http: Some(http) }
    }
}

impl ConnectorFactory for OktaFactory {
    fn vendor(&self) -> &'static str {
        crate::VENDOR
    }

    fn build(&self, tenant: &TenantId, config: serde_json::Value) -> Result<Arc<dyn Connector>> {
        let config = OktaConfig::from_value(config)?;
        Ok(Arc::new(OktaConnector::with_http(
            tenant.clone(),
            &config,
            self.http.clone(),
        )?))
    }
}
