//! [`AutotaskConnector`]: built from a [`BuildContext`] and an [`AutotaskConfig`], offering
//! the PSA capability and the `autotask.*` actions.

use std::sync::Arc;

use async_trait::async_trait;
use stackhand_core::{
    Action, BuildContext, Connector, ConnectorInfo, Health, Psa, PsaWrites, Result,
};

use crate::actions::OpenProblem;
use crate::client::Credentials;
use crate::config::AutotaskConfig;
use crate::models::ThresholdInformation;
use crate::psa::Autotask;
use crate::{CATEGORIES, VENDOR};

/// An Autotask PSA connector for one tenant.
///
/// Cheap to share: the state is behind an `Arc`. Without a configured `base_url` the zone is
/// discovered on the first call, not when the connector is built.
#[derive(Debug, Clone)]
pub struct AutotaskConnector {
    info: ConnectorInfo,
    inner: Arc<Autotask>,
}

impl AutotaskConnector {
    /// Build the connector for `ctx.tenant()`: validate the configuration, resolve the
    /// integration code and secret through the context (so they are that tenant's own), and
    /// make the client on the host's shared HTTP services. This is the one way to build one;
    /// [`AutotaskFactory`](crate::AutotaskFactory) calls it for the registry.
    pub async fn build(ctx: &BuildContext, config: AutotaskConfig) -> Result<Self> {
        config.validate()?;
        let credentials = Credentials::resolve(ctx, &config).await?;
        Ok(Self {
            info: ctx.connector_info(VENDOR, CATEGORIES),
            inner: Arc::new(Autotask::new(ctx.clone(), config, credentials)?),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &AutotaskConfig {
        &self.inner.config
    }

    /// The database's hourly request usage, as `ThresholdInformation` reports it.
    pub async fn threshold(&self) -> Result<ThresholdInformation> {
        self.inner.client().await?.threshold().await
    }
}

#[async_trait]
impl Connector for AutotaskConnector {
    fn info(&self) -> &ConnectorInfo {
        &self.info
    }

    async fn health(&self) -> Result<Health> {
        let client = self.inner.client().await?;
        let threshold = client.threshold().await?;
        Ok(Health {
            healthy: true,
            detail: format!(
                "autotask zone {}: {} of {} requests used in the last {} minutes",
                client.base_url(),
                threshold.current_timeframe_request_count,
                threshold.external_request_threshold,
                threshold.request_threshold_timeframe
            ),
        })
    }

    fn psa(&self) -> Option<&dyn Psa> {
        Some(self.inner.as_ref())
    }

    fn psa_writes(&self) -> Option<&dyn PsaWrites> {
        Some(self.inner.as_ref())
    }

    fn actions(&self) -> Vec<Arc<dyn Action>> {
        vec![OpenProblem::shared(self.inner.clone())]
    }
}
