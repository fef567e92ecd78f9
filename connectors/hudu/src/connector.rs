//! The connector: [`HuduConnector::build`] and `impl Connector`.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use stackhand_core::{
    Action, BuildContext, Connector, ConnectorInfo, Documentation, DocumentationWrites, Health,
    Result,
};

use crate::client::HuduClient;
use crate::config::HuduConfig;
use crate::{CATEGORIES, VENDOR};

/// Hudu for one tenant: the documentation reads and writes inside the tenant's Hudu company.
#[derive(Debug, Clone)]
pub struct HuduConnector {
    info: ConnectorInfo,
    pub(crate) client: HuduClient,
    /// `company` as configured (name or id).
    pub(crate) company: String,
    /// `asset_layout` as configured (name or id).
    pub(crate) asset_layout: String,
    /// The configured company's id, once resolved.
    pub(crate) company_id: Arc<OnceLock<u64>>,
    /// The person layout's id, once resolved.
    pub(crate) layout_id: Arc<OnceLock<u64>>,
}

impl HuduConnector {
    /// Validate `config`, resolve the API key for the context's tenant (and only its own), and
    /// make the client on the host's shared HTTP services. The company and layout names are
    /// looked up on first use.
    pub async fn build(ctx: &BuildContext, config: HuduConfig) -> Result<Self> {
        config.validate()?;
        let api_key = ctx.credential("api_key", &config.api_key).await?;
        let client = HuduClient::new(ctx, &config, api_key)?;
        Ok(Self {
            info: ctx.connector_info(VENDOR, CATEGORIES),
            client,
            company: config.company.trim().to_owned(),
            asset_layout: config.asset_layout.trim().to_owned(),
            company_id: Arc::default(),
            layout_id: Arc::default(),
        })
    }
}

#[async_trait]
impl Connector for HuduConnector {
    fn info(&self) -> &ConnectorInfo {
        &self.info
    }

    async fn health(&self) -> Result<Health> {
        Ok(match self.client.api_info().await {
            Ok(info) => Health {
                healthy: true,
                detail: format!("Hudu {} answered and accepted the API key", info.version),
            },
            Err(e) => Health {
                healthy: false,
                detail: format!("Hudu: {e}"),
            },
        })
    }

    fn docs(&self) -> Option<&dyn Documentation> {
        Some(self)
    }

    fn docs_writes(&self) -> Option<&dyn DocumentationWrites> {
        Some(self)
    }

    fn actions(&self) -> Vec<Arc<dyn Action>> {
        Vec::new()
    }
}
