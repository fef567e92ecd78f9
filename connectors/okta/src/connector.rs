//! The connector: [`OktaConnector::build`] and `impl Connector`.

use std::sync::Arc;

use async_trait::async_trait;
use stackhand_core::{
    Action, BuildContext, Connector, ConnectorInfo, Health, IdentityProvider, IdentityWrites,
    Result, Typed,
};

use crate::actions::{Activate, Deactivate, Suspend, Unsuspend};
use crate::client::OktaClient;
use crate::config::OktaConfig;
use crate::{CATEGORIES, VENDOR};

/// Okta for one tenant: identity capability plus the `okta.*` lifecycle actions.
///
/// Its writes are reached only through [`IdentityWrites`] (every method borrows an
/// [`ExecutionProof`](stackhand_core::ExecutionProof)) and its actions, which the engine runs.
#[derive(Debug, Clone)]
pub struct OktaConnector {
    info: ConnectorInfo,
    client: OktaClient,
    org: String,
}

impl OktaConnector {
    /// Build for `ctx`'s tenant: validate `config`, resolve its credentials through `ctx`
    /// (the tenant's own secrets only), and make the client on the host's shared HTTP services.
    pub async fn build(ctx: &BuildContext, config: OktaConfig) -> Result<Self> {
        config.validate()?;
        let (reference, key) = config.auth.credential();
        let credential = ctx.credential(key, reference).await?;
        config.auth.check(&credential)?;
        let client = OktaClient::new(ctx, &config, credential)?;
        Ok(Self {
            info: ctx.connector_info(VENDOR, CATEGORIES),
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
