//! The connector: one ConnectWise client for one tenant.

use std::sync::Arc;

use async_trait::async_trait;
use stackhand_core::{
    Action, BuildContext, Connector, ConnectorInfo, ErrorKind, Health, Psa, PsaWrites, Result,
};

use crate::client::ConnectWiseClient;
use crate::config::ConnectWiseConfig;
use crate::models::SystemInfo;
use crate::{CATEGORIES, VENDOR};

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
    /// Build the connector for `ctx`'s tenant: validate the configuration, resolve the private
    /// key through the context (so it is the tenant's own), and make the client on the host's
    /// shared HTTP services. Makes no request: the codebase, when not configured, is discovered
    /// on first use.
    pub async fn build(ctx: &BuildContext, config: ConnectWiseConfig) -> Result<Self> {
        config.validate()?;
        let private_key = ctx.credential("private_key", &config.private_key).await?;
        let client = ConnectWiseClient::new(ctx, config, private_key)?;
        Ok(Self {
            info: ctx.connector_info(VENDOR, CATEGORIES),
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
            Err(err) if matches!(err.kind(), ErrorKind::Unauthorized | ErrorKind::Forbidden) => {
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
        crate::actions::for_client(&self.client)
    }
}
