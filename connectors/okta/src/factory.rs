//! The [`ConnectorFactory`]: the only way a runner builds an Okta connector.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use stackhand_core::{BuildContext, Connector, ConnectorDescription, ConnectorFactory, Result};

use crate::config::OktaConfig;
use crate::connector::OktaConnector;
use crate::{CATEGORIES, VENDOR};

/// Builds [`OktaConnector`]s from `[tenants.<id>.connectors.okta]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct OktaFactory;

#[async_trait]
impl ConnectorFactory for OktaFactory {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    fn describe(&self) -> ConnectorDescription {
        ConnectorDescription::of::<OktaConfig>(
            VENDOR,
            "Okta, an identity provider: users, passwords, factors, sessions, lifecycle \
                      and groups through the Management API",
            CATEGORIES,
            crate::actions::specs(),
        )
    }

    async fn build(&self, ctx: &BuildContext, config: Value) -> Result<Arc<dyn Connector>> {
        let config: OktaConfig = stackhand_core::config::section(VENDOR, config)?;
        Ok(Arc::new(OktaConnector::build(ctx, config).await?))
    }
}
