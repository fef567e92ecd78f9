//! The [`ConnectorFactory`]: the only way a runner builds a NinjaOne connector.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use stackhand_core::{BuildContext, Connector, ConnectorDescription, ConnectorFactory, Result};

use crate::config::NinjaOneConfig;
use crate::connector::NinjaOneConnector;
use crate::{CATEGORIES, VENDOR};

/// Builds [`NinjaOneConnector`]s from `[tenants.<id>.connectors.ninjaone]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NinjaOneFactory;

#[async_trait]
impl ConnectorFactory for NinjaOneFactory {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    fn describe(&self) -> ConnectorDescription {
        ConnectorDescription::of::<NinjaOneConfig>(
            VENDOR,
            "NinjaOne RMM: devices, asset tags, script runs, reboots and alert resets",
            CATEGORIES,
            crate::actions::specs(),
        )
    }

    async fn build(&self, ctx: &BuildContext, config: Value) -> Result<Arc<dyn Connector>> {
        let config: NinjaOneConfig = stackhand_core::config::section(VENDOR, config)?;
        Ok(Arc::new(NinjaOneConnector::build(ctx, config).await?))
    }
}
