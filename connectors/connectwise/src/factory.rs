//! The factory a runner builds ConnectWise connectors with.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use stackhand_core::{BuildContext, Connector, ConnectorDescription, ConnectorFactory, Result};

use crate::config::ConnectWiseConfig;
use crate::connector::ConnectWise;
use crate::{CATEGORIES, VENDOR};

/// Builds [`ConnectWise`] connectors from `[tenants.<id>.connectors.connectwise]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnectWiseFactory;

#[async_trait]
impl ConnectorFactory for ConnectWiseFactory {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    fn describe(&self) -> ConnectorDescription {
        ConnectorDescription::of::<ConnectWiseConfig>(
            VENDOR,
            "ConnectWise Manage (ConnectWise PSA), REST API 3.0: ticket intake and \
                      history, notes, status, reassignment, parent tickets, contacts",
            CATEGORIES,
            crate::actions::specs(),
        )
    }

    async fn build(&self, ctx: &BuildContext, config: Value) -> Result<Arc<dyn Connector>> {
        let config: ConnectWiseConfig = stackhand_core::config::section(VENDOR, config)?;
        Ok(Arc::new(ConnectWise::build(ctx, config).await?))
    }
}
