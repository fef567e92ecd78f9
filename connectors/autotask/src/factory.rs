//! [`AutotaskFactory`]: how a runner builds the connector from `[tenants.<id>.connectors.autotask]`.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use stackhand_core::{BuildContext, Connector, ConnectorDescription, ConnectorFactory, Result};

use crate::config::AutotaskConfig;
use crate::connector::AutotaskConnector;
use crate::{CATEGORIES, VENDOR};

/// Builds [`AutotaskConnector`]s from `[tenants.<id>.connectors.autotask]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AutotaskFactory;

#[async_trait]
impl ConnectorFactory for AutotaskFactory {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    fn describe(&self) -> ConnectorDescription {
        ConnectorDescription::of::<AutotaskConfig>(
            VENDOR,
            "Autotask PSA (Datto / Kaseya), REST API v1.0: tickets, notes, contacts, \
                      companies and problem tickets",
            CATEGORIES,
            crate::actions::specs(),
        )
    }

    async fn build(&self, ctx: &BuildContext, config: Value) -> Result<Arc<dyn Connector>> {
        let config: AutotaskConfig = stackhand_core::config::section(VENDOR, config)?;
        Ok(Arc::new(AutotaskConnector::build(ctx, config).await?))
    }
}
