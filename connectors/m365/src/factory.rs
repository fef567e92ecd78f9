//! The [`ConnectorFactory`] for Microsoft 365: the only way a runner builds the connector.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use stackhand_core::{BuildContext, Connector, ConnectorDescription, ConnectorFactory, Result};

use crate::CATEGORIES;
use crate::VENDOR;
use crate::config::M365Config;
use crate::connector::M365Connector;

/// Builds [`M365Connector`]s from `[tenants.<id>.connectors.m365]` sections.
#[derive(Debug, Clone, Copy, Default)]
pub struct M365Factory;

#[async_trait]
impl ConnectorFactory for M365Factory {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    fn describe(&self) -> ConnectorDescription {
        ConnectorDescription::of::<M365Config>(
            VENDOR,
            "Microsoft 365: Entra ID users, groups, licences and MFA through Microsoft \
                      Graph, mailboxes through Exchange Online, mail through Graph",
            CATEGORIES,
            crate::actions::specs(),
        )
    }

    async fn build(&self, ctx: &BuildContext, config: Value) -> Result<Arc<dyn Connector>> {
        let config: M365Config = stackhand_core::config::section(VENDOR, config)?;
        Ok(Arc::new(M365Connector::build(ctx, config).await?))
    }
}
