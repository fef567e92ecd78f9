//! The connector: one ConnectWise client for one tenant, and the factory that builds it.

use std::sync::Arc;

use async_trait::async_trait;
use stackhand_core::{
    Action, Category, Connector, ConnectorFactory, ConnectorInfo, Error, Health, Psa, PsaWrites,
    Result, TenantId, Typed,
};

use crate::actions::CreateTicket;
use crate::client::{ConnectWiseClient, VENDOR};
use crate::config::ConnectWiseConfig;
use crate::models::SystemInfo;

/// The ConnectWise Manage connector: a [`Psa`] for one tenant.
pub struct ConnectWise {
    pub(crate) info: ConnectorInfo,
    pub(crate) client: ConnectWiseClient,
}

impl std::fmt::Debug for ConnectWise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectWise")
            .field("tenant", &self.info.tenant.as_str())
            .field("client", &self.client)
            .finish()
    }
}

impl ConnectWise {
    /// Build the connector for `tenant`; the configuration is validated first.
    pub fn new(tenant: TenantId, config: ConnectWiseConfig) -> Result<Self> {
        Self::with_http_client(tenant, config, None)
    }

    /// Build with an injected `reqwest::Client` (shared pools, tests).
    pub fn with_http_client(
        tenant: TenantId,
        config: ConnectWiseConfig,
        http: Option<reqwest::Client>,
    ) -> Result<Self> {
        let client = ConnectWiseClient::new(tenant.clone(), config, http)?;
        Ok(Self {
            info: ConnectorInfo {
                vendor: VENDOR.to_string(),
                tenant,
                categories: vec![Category::Psa],
            },
            client,
        })
    }

    /// The underlying API client.
    pub(crate) fn client(&self) -> &ConnectWiseClient {
        &self.client
    }
}

#[async_trait]
impl Connector for ConnectWise {
    fn info(&self) -> &ConnectorInfo {
        &self.info
    }

    async fn health(&self) -> Result<Health> {
        let info: SystemInfo = match self.client.get_json("system/info", "health").await {
            Ok(info) => info,
            // The vendor answered but refused us: unhealthy, not an outage.
            Err(err)
                if matches!(
                    err.kind(),
                    stackhand_core::ErrorKind::Unauthorized | stackhand_core::ErrorKind::Forbidden
                ) =>
            {
                return Ok(Health {
                    healthy: false,
                    detail: err.to_string(),
                });
            }
            Err(err) => return Err(err),
        };
        let scope = match self.client.scope().await {
            Ok(Some(company)) => format!(", company {}", company.identifier),
            Ok(None) => String::new(),
            Err(err) => {
                return Ok(Health {
                    healthy: false,
                    detail: err.to_string(),
                });
            }
        };
        Ok(Health {
            healthy: true,
            detail: format!(
                "ConnectWise {} ({}{}), API {}{scope}",
                info.version.unwrap_or_else(|| "unknown version".into()),
                if info.is_cloud == Some(true) {
                    "cloud"
                } else {
                    "on-premises"
                },
                info.cloud_region
                    .map(|r| format!(" {r}"))
                    .unwrap_or_default(),
                self.client.api_url().await?,
            ),
        })
    }

    fn psa(&self) -> Option<&dyn Psa> {
        Some(self)
    }

    fn psa_writes(&self) -> Option<&dyn PsaWrites> {
        Some(self)
    }

    fn actions(&self) -> Vec<Arc<dyn Action>> {
        vec![Typed::shared(CreateTicket::new(self.client.clone()))]
    }
}

/// Builds [`ConnectWise`] connectors from a tenant's `connectwise` configuration section.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnectWiseFactory;

impl ConnectorFactory for ConnectWiseFactory {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    fn build(&self, tenant: &TenantId, config: serde_json::Value) -> Result<Arc<dyn Connector>> {
        // serde quotes offending values; scrub anything credential-shaped from the message.
        let config: ConnectWiseConfig = serde_json::from_value(config).map_err(|e| {
            Error::invalid(format!(
                "connectwise config: {}",
                stackhand_http::redact(&e.to_string())
            ))
        })?;
        Ok(Arc::new(ConnectWise::new(tenant.clone(), config)?))
    }
}
