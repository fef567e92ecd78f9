//! Autotask-specific actions, beyond the vendor-neutral `psa.*` ones in core.
//!
//! | Id | What | Risk | Reversible |
//! |---|---|---|---|
//! | `autotask.open_problem` | Open a Problem ticket and link incident tickets to it | Low | no |

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use stackhand_core::{
    Action, ActionContext, ActionRequest, ActionSpec, Category, Change, Descriptor, Error,
    ExecutionProof, Outcome, Plan, PsaWrites, Result, Risk, StepStatus, Typed, TypedAction,
};

use crate::psa::Autotask;

/// The specs of every action [`AutotaskConnector::actions`](stackhand_core::Connector::actions)
/// returns, known without building a connector (for `describe`).
pub fn specs() -> Vec<ActionSpec> {
    vec![Typed::<OpenProblem>::spec_of()]
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
pub(crate) struct OpenProblem {
    autotask: Arc<Autotask>,
}

impl OpenProblem {
    /// The action over one connector's state, ready for [`Connector::actions`](stackhand_core::Connector::actions).
    pub(crate) fn shared(autotask: Arc<Autotask>) -> Arc<dyn Action> {
        Typed::shared(Self { autotask })
    }
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
            .create_problem_ticket(
                proof,
                params.company_id,
                params.title.trim(),
                &params.description,
            )
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
        outcome.state_after = json!({ "problem_ticket_id": problem, "incidents": linked });
        outcome.state_before = plan.state_before.clone();
        Ok(outcome)
    }
}
