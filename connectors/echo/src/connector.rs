//! The connector: [`EchoConnector::build`] and `impl Connector`.

use std::sync::Arc;

use async_trait::async_trait;
use stackhand_core::{
    Action, BuildContext, Connector, ConnectorInfo, Health, Result, Rmm, RmmWrites, Typed,
};

use crate::actions::Retag;
use crate::client::EchoClient;
use crate::config::EchoConfig;
use crate::{CATEGORIES, VENDOR};

/// Echo for one tenant: the RMM reads and tag writes, and `echo.retag`.
#[derive(Debug, Clone)]
pub struct EchoConnector {
    info: ConnectorInfo,
    pub(crate) client: EchoClient,
}

impl EchoConnector {
    /// Validate `config`, resolve the API key for the context's tenant (and only its own), and
    /// make the client on the host's shared HTTP services.
    pub async fn build(ctx: &BuildContext, config: EchoConfig) -> Result<Self> {
        config.validate()?;
        let api_key = ctx.credential("api_key", &config.api_key).await?;
        let client = EchoClient::new(ctx, &config, api_key)?;
        Ok(Self {
            info: ctx.connector_info(VENDOR, CATEGORIES),
            client,
        })
    }
}

#[async_trait]
impl Connector for EchoConnector {
    fn info(&self) -> &ConnectorInfo {
        &self.info
    }

    async fn health(&self) -> Result<Health> {
        Ok(match self.client.first_page().await {
            Ok(_) => Health {
                healthy: true,
                detail: "Echo answered and accepted the API key".into(),
            },
            Err(e) => Health {
                healthy: false,
                detail: format!("Echo: {e}"),
            },
        })
    }

    fn rmm(&self) -> Option<&dyn Rmm> {
        Some(self)
    }

    fn rmm_writes(&self) -> Option<&dyn RmmWrites> {
        Some(self)
    }

    fn actions(&self) -> Vec<Arc<dyn Action>> {
        vec![Typed::shared(Retag)]
    }
}
