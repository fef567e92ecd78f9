//! [`TokenGate`]: the streamable HTTP transport admits the deployment's API tokens of the
//! server's agent, in the server's tenant, and nothing else.

use std::sync::Arc;

use stackhand_core::TenantId;
use stackhand_store::{AccessRefusal, NOT_A_LIVE_TOKEN, Refused, Store};

use crate::{Admission, Gate, Knock};

/// Admits a request whose bearer token is a live API token ([`Store::issue_api_token`]) of
/// the server's agent that may be used in the server's tenant; refuses the rest (401 without
/// such a token, 403 for someone else's or another tenant's) and records each refusal in the
/// tenant's audit trail, never the token.
pub struct TokenGate {
    store: Arc<Store>,
    tenant: TenantId,
    agent: String,
}

impl TokenGate {
    /// A gate for the server acting as `agent` (a `[[staff]]` member of kind agent) in
    /// `tenant`, checking tokens in `store`.
    pub fn new(store: Arc<Store>, tenant: TenantId, agent: impl Into<String>) -> Self {
        Self {
            store,
            tenant,
            agent: agent.into(),
        }
    }

    async fn refuse(
        &self,
        knock: &Knock<'_>,
        token: Option<&stackhand_store::ApiTokenRecord>,
        admission: Admission,
        why: &str,
    ) -> Admission {
        let status = if admission == Admission::Forbidden {
            403
        } else {
            401
        };
        let recorded = self
            .store
            .audit_refusal(AccessRefusal {
                chain: &self.tenant,
                source: knock.source,
                status,
                method: knock.method,
                path: knock.path,
                tenant: Some(self.tenant.as_str()),
                token,
                why,
            })
            .await;
        match recorded {
            Ok(Refused::Recorded) => admission,
            Ok(Refused::Throttled { retry_after_secs }) => Admission::Throttled(retry_after_secs),
            Err(e) => {
                // Refused all the same: an unrecorded refusal is better than an admitted caller.
                tracing::error!(error = %e, why, "an MCP refusal could not be audited");
                admission
            }
        }
    }
}

#[async_trait::async_trait]
impl Gate for TokenGate {
    async fn admit(&self, knock: Knock<'_>) -> Admission {
        let Some(bearer) = knock.bearer else {
            return self
                .refuse(&knock, None, Admission::Unauthenticated, "no bearer token")
                .await;
        };
        let token = match self.store.authenticate_api_token(bearer).await {
            Ok(Some(token)) => token,
            Ok(None) => {
                return self
                    .refuse(&knock, None, Admission::Unauthenticated, NOT_A_LIVE_TOKEN)
                    .await;
            }
            Err(e) => {
                tracing::error!(error = %e, "API tokens could not be read");
                return Admission::Unavailable;
            }
        };
        if !token.principal.eq_ignore_ascii_case(&self.agent) {
            let why = format!(
                "the token acts as {}, and this server acts as agent {}",
                token.principal, self.agent
            );
            return self
                .refuse(&knock, Some(&token), Admission::Forbidden, &why)
                .await;
        }
        if !token.allows(&self.tenant) {
            let why = "the tenant is outside the token's tenants";
            return self
                .refuse(&knock, Some(&token), Admission::Forbidden, why)
                .await;
        }
        Admission::Admitted
    }
}
