//! [`AutotaskConnector`], its factory and its vendor-specific action.

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use stackhand_core::{
    Action, ActionContext, ActionRequest, Category, Change, Connector, ConnectorFactory,
    ConnectorInfo, Descriptor, Error, ExecutionProof, Health, Outcome, Plan, Psa, PsaWrites,
    Result, Risk, StepStatus, TenantId, Typed, TypedAction,
};
use stackhand_http::{RateLimits, RetryConfig};

use crate::client::{Transport, VENDOR};
use crate::config::AutotaskConfig;
use crate::psa::Autotask;

/// An Autotask PSA connector for one tenant.
///
/// Cheap to share: the state is behind an `Arc`. The zone is discovered (or the configured
/// `base_url` used) on the first call, not at construction.
#[derive(Debug, Clone)]
pub struct AutotaskConnector {
    info: ConnectorInfo,
    inner: Arc<Autotask>,
}

impl AutotaskConnector {
    /// A connector for `tenant`; the configuration is validated.
    pub fn new(tenant: TenantId, config: AutotaskConfig) -> Result<Self> {
        Self::with_transport(tenant, config, Transport::default())
    }

    /// Builder for tests and runners that share an HTTP client or rate-limit registry.
    pub fn builder(tenant: TenantId, config: AutotaskConfig) -> AutotaskConnectorBuilder {
        AutotaskConnectorBuilder {
            tenant,
            config,
            transport: Transport::default(),
        }
    }

    fn with_transport(
        tenant: TenantId,
        config: AutotaskConfig,
        transport: Transport,
    ) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            info: ConnectorInfo {
                vendor: VENDOR.to_string(),
                tenant: tenant.clone(),
                categories: vec![Category::Psa],
            },
            inner: Arc::new(Autotask::new(tenant, config, transport)),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &AutotaskConfig {
        &self.inner.config
    }

    /// The database's hourly request usage, as `ThresholdInformation` reports it.
    pub async fn threshold(&self) -> Result<crate::ThresholdInformation> {
        self.inner.client().await?.threshold().await
    }
}

/// Builds an [`AutotaskConnector`] with an injected HTTP client, rate-limit registry or retry
/// policy.
#[derive(Debug)]
pub struct AutotaskConnectorBuilder {
    tenant: TenantId,
    config: AutotaskConfig,
    transport: Transport,
}

impl AutotaskConnectorBuilder {
    /// Use this HTTP client.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.transport.http = Some(client);
        self
    }

    /// Use this registry of per-(tenant, vendor) limits instead of the global one.
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.transport.rate_limits = Some(limits);
        self
    }

    /// Use this retry policy.
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.transport.retry = Some(retry);
        self
    }

    /// Validate and build.
    pub fn build(self) -> Result<AutotaskConnector> {
        AutotaskConnector::with_transport(self.tenant, self.config, self.transport)
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
        vec![Typed::shared(OpenProblem {
            autotask: self.inner.clone(),
        })]
    }
}

/// Builds [`AutotaskConnector`]s from configuration sections (`[tenants.x.connectors.autotask]`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AutotaskFactory;

impl ConnectorFactory for AutotaskFactory {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    fn build(&self, tenant: &TenantId, config: serde_json::Value) -> Result<Arc<dyn Connector>> {
        let config = AutotaskConfig::from_value(config)?;
        Ok(Arc::new(AutotaskConnector::new(tenant.clone(), config)?))
    }
}

/// Input of `autotask.open_problem`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenProblemParams {
    /// The problem ticket's title.
    pub title: String,
    /// What is known about the underlying cause.
    pub description: String,
    /// Incident tickets (ids or ticket numbers) to link to the new problem ticket.
    #[serde(default)]
    pub incidents: Vec<String>,
    /// The company, when the connector is not scoped to one.
    #[serde(default)]
    pub company_id: Option<i64>,
}

/// `autotask.open_problem`: open a Problem ticket and link incidents to it, so one fix closes
/// them together.
struct OpenProblem {
    autotask: Arc<Autotask>,
}

#[async_trait]
impl TypedAction for OpenProblem {
    type Params = OpenProblemParams;

    const DESCRIPTOR: Descriptor = Descriptor {
        id: "autotask.open_problem",
        summary: "Open an Autotask problem ticket and link incident tickets to it",
        category: Category::Psa,
        risk: Risk::Low,
        reversible: false,
        idempotent: false,
    };

    async fn plan(
        &self,
        _ctx: &ActionContext,
        request: &ActionRequest,
        params: &OpenProblemParams,
    ) -> Result<Plan> {
        if params.title.trim().is_empty() {
            return Err(Error::invalid("autotask.open_problem: title is empty"));
        }
        let mut plan = Plan::new(
            request.action.clone(),
            request.tenant.clone(),
            format!(
                "open problem ticket {:?} with {} incident(s)",
                params.title,
                params.incidents.len()
            ),
        );
        plan.changes.push(Change::new(
            "ticket:new",
            "ticketType",
            None,
            Some(json!("Problem")),
        ));
        let mut before = Vec::new();
        for incident in &params.incidents {
            let ticket = self.autotask.ticket_state(incident).await?;
            before.push(json!({
                "id": ticket.id,
                "ticketType": ticket.ticket_type,
                "problemTicketId": ticket.problem_ticket_id,
            }));
            plan.changes.push(Change::new(
                format!("ticket:{}", ticket.id),
                "problemTicketId",
                ticket.problem_ticket_id.map(|id| json!(id)),
                Some(json!("<new problem ticket>")),
            ));
        }
        plan.state_before = json!({ "incidents": before });
        Ok(plan)
    }

    async fn execute(
        &self,
        _ctx: &ActionContext,
        _request: &ActionRequest,
        params: &OpenProblemParams,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        let problem = self
            .autotask
            .create_problem_ticket(params.company_id, params.title.trim(), &params.description)
            .await?;
        let problem_id = problem.to_string();
        for incident in &params.incidents {
            self.autotask
                .link_to_parent(proof, incident, &problem_id)
                .await?;
        }
        let mut linked = Vec::new();
        for incident in &params.incidents {
            let ticket = self.autotask.ticket_state(incident).await?;
            if ticket.problem_ticket_id != Some(problem) {
                return Err(Error::permanent(format!(
                    "autotask.open_problem: incident {incident} did not link to problem {problem}"
                )));
            }
            linked.push(ticket.id);
        }
        let mut outcome = Outcome::new(StepStatus::Verified);
        outcome.changes = plan.changes.clone();
        outcome.state_before = plan.state_before.clone();
        outcome.state_after = json!({ "problem_ticket_id": problem, "incidents": linked });
        Ok(outcome)
    }
}
