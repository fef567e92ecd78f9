//! The [`ConnectorFactory`]: the only way a runner builds a Hudu connector.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use stackhand_core::{BuildContext, Connector, ConnectorDescription, ConnectorFactory, Result};

use crate::config::HuduConfig;
use crate::connector::HuduConnector;
use crate::{CATEGORIES, VENDOR};

/// Builds [`HuduConnector`]s from `[tenants.<id>.connectors.hudu]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct HuduFactory;

#[async_trait]
impl ConnectorFactory for HuduFactory {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    fn describe(&self) -> ConnectorDescription {
        ConnectorDescription::of::<HuduConfig>(
            VENDOR,
            "Hudu, IT documentation: assets, passwords and articles",
            CATEGORIES,
            crate::actions::specs(),
        )
    }

    async fn build(&self, ctx: &BuildContext, config: Value) -> Result<Arc<dyn Connector>> {
        let config: HuduConfig = stackhand_core::config::section(VENDOR, config)?;
        Ok(Arc::new(HuduConnector::build(ctx, config).await?))
    }
}
