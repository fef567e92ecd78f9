//! The connector: [`NinjaOneConnector::build`] and `impl Connector`.

use std::sync::Arc;

use async_trait::async_trait;
use stackhand_core::{
    Action, BuildContext, Connector, ConnectorInfo, Health, Result, Rmm, RmmWrites,
};

use crate::client::NinjaOneClient;
use crate::config::NinjaOneConfig;
use crate::{CATEGORIES, VENDOR};

/// NinjaOne for one tenant (one NinjaOne organisation): the RMM reads and writes, and the
/// `ninjaone.*` actions (reboot, alert reset).
#[derive(Debug, Clone)]
pub struct NinjaOneConnector {
    info: ConnectorInfo,
    pub(crate) client: NinjaOneClient,
}

impl NinjaOneConnector {
    /// Validate `config`, resolve the client secret for the context's tenant (and only its
    /// own), and make the client on the host's shared HTTP services.
    pub async fn build(ctx: &BuildContext, config: NinjaOneConfig) -> Result<Self> {
        config.validate()?;
        let secret = ctx
            .credential("auth.client_secret", &config.auth.client_secret)
            .await?;
        let client = NinjaOneClient::new(ctx, &config, secret)?;
        Ok(Self {
            info: ctx.connector_info(VENDOR, CATEGORIES),
            client,
        })
    }
}

#[async_trait]
impl Connector for NinjaOneConnector {
    fn info(&self) -> &ConnectorInfo {
        &self.info
    }

    /// `GET /v2/devices/search` for a name no device has: a token, and the `monitoring` scope.
    async fn health(&self) -> Result<Health> {
        let organization = self.client.organization_id();
        Ok(match self.client.search("stackhand-health-check").await {
            Ok(_) => Health {
                healthy: true,
                detail: format!(
                    "NinjaOne answered and accepted the client credentials (organization \
                     {organization})"
                ),
            },
            Err(e) => Health {
                healthy: false,
                detail: format!("NinjaOne: {e}"),
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
        crate::actions::for_client(&self.client)
    }
}
