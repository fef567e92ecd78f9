//! The [`ConnectorFactory`]: the only way a runner builds an Echo connector.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use stackhand_core::{BuildContext, Connector, ConnectorDescription, ConnectorFactory, Result};

use crate::config::EchoConfig;
use crate::connector::EchoConnector;
use crate::{CATEGORIES, VENDOR};

/// Builds [`EchoConnector`]s from `[tenants.<id>.connectors.echo]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoFactory;

#[async_trait]
impl ConnectorFactory for EchoFactory {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    fn describe(&self) -> ConnectorDescription {
        ConnectorDescription::of::<EchoConfig>(
            VENDOR,
            "Echo, a tiny device directory",
            CATEGORIES,
            crate::actions::specs(),
        )
    }

    async fn build(&self, ctx: &BuildContext, config: Value) -> Result<Arc<dyn Connector>> {
        let config: EchoConfig = stackhand_core::config::section(VENDOR, config)?;
        Ok(Arc::new(EchoConnector::build(ctx, config).await?))
    }
}
