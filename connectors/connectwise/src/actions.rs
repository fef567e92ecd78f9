//! ConnectWise-specific actions, beyond the vendor-neutral `psa.*` ones in core, and
//! [`specs`], the list the factory describes.
//!
//! | Id | What | Risk | Reversible |
//! |---|---|---|---|
//! | `connectwise.create_ticket` | Open a service ticket (an incident parent, a follow-up) | Low | no |

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use stackhand_core::{
    Action, ActionContext, ActionId, ActionRequest, ActionSpec, Category, Change, Descriptor,
    Error, ExecutionProof, Outcome, Plan, Result, Risk, StepStatus, Typed, TypedAction,
};

use crate::client::ConnectWiseClient;
use crate::models::CwTicket;

/// The specs of the ConnectWise actions, without a connector: what the factory describes.
pub fn specs() -> Vec<ActionSpec> {
    vec![Typed::<CreateTicket>::spec_of()]
}

/// The ConnectWise actions over one tenant's client: what the connector offers. Lists the same
/// actions as [`specs`].
pub(crate) fn for_client(client: &ConnectWiseClient) -> Vec<Arc<dyn Action>> {
    vec![Typed::shared(CreateTicket::new(client.clone()))]
}

/// `connectwise.create_ticket`: open a service ticket for the tenant's company.
///
/// Made by the connector ([`Connector::actions`](stackhand_core::Connector::actions)); it
/// writes only in `execute`, with the engine's proof.
#[derive(Debug, Clone)]
pub struct CreateTicket {
    client: ConnectWiseClient,
}

impl CreateTicket {
    /// The action over one tenant's client.
    pub(crate) fn new(client: ConnectWiseClient) -> Self {
        Self { client }
    }
}

/// Input of `connectwise.create_ticket`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicketParams {
    /// Summary, at most 100 characters.
    pub summary: String,
    /// The description (becomes the first Discussion note).
    #[serde(default)]
    pub description: String,
    /// Board name; the instance's default board when absent.
    #[serde(default)]
    pub board: Option<String>,
    /// Company identifier or name; the tenant's own company when absent.
    #[serde(default)]
    pub company: Option<String>,
    /// The contact's email address.
    #[serde(default)]
    pub contact_email: Option<String>,
}

/// What the plan resolved, kept in the plan's facts so execution writes exactly that.
#[derive(Debug, Serialize, Deserialize)]
struct Resolved {
    company_id: i64,
    board_id: Option<i64>,
    contact_id: Option<i64>,
}

impl CreateTicket {
    fn check_tenant(&self, ctx: &ActionContext) -> Result<()> {
        if ctx.tenant() != self.client.tenant() {
            return Err(Error::invalid(format!(
                "connectwise.create_ticket of tenant {} asked to run for tenant {}",
                self.client.tenant(),
                ctx.tenant()
            )));
        }
        Ok(())
    }

    async fn resolve(&self, ctx: &ActionContext, params: &CreateTicketParams) -> Result<Resolved> {
        let psa = ctx.psa()?;
        let company_id = match (&params.company, self.client.scope().await?) {
            (None, Some(scope)) => scope.id,
            (Some(name), _) => psa
                .find_company(name)
                .await?
                .ok_or_else(|| Error::not_found(format!("connectwise company {name:?} not found")))?
                .id
                .parse()
                .map_err(|_| Error::invalid("connectwise company id is not numeric"))?,
            (None, None) => {
                return Err(Error::invalid(
                    "connectwise.create_ticket needs a company for a connector not scoped to one",
                ));
            }
        };
        let board_id = match &params.board {
            Some(board) => Some(self.client.board_by_name(board).await?.id),
            None => None,
        };
        let contact_id = match &params.contact_email {
            Some(email) => Some(
                psa.find_contact(email)
                    .await?
                    .ok_or_else(|| {
                        Error::not_found(format!("connectwise contact {email:?} not found"))
                    })?
                    .id
                    .parse()
                    .map_err(|_| Error::invalid("connectwise contact id is not numeric"))?,
            ),
            None => None,
        };
        Ok(Resolved {
            company_id,
            board_id,
            contact_id,
        })
    }
}

#[async_trait]
impl TypedAction for CreateTicket {
    type Params = CreateTicketParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "connectwise.create_ticket",
        summary: "Open a ConnectWise service ticket for the tenant's company",
        category: Category::Psa,
        risk: Risk::Low,
        reversible: false,
        idempotent: false,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        self.check_tenant(ctx)?;
        let summary = params.summary.trim();
        if summary.is_empty() || summary.chars().count() > 100 {
            return Err(Error::invalid(
                "connectwise.create_ticket: summary must be 1 to 100 characters",
            ));
        }
        let resolved = self.resolve(ctx, params).await?;
        let mut plan = Plan::new(
            ActionId::from_static(Self::DESCRIPTOR.id),
            request.tenant.clone(),
            format!(
                "Open ticket {summary:?} for company {}",
                resolved.company_id
            ),
        );
        plan.changes.push(Change::new(
            "ticket:new",
            "summary",
            None,
            Some(json!(summary)),
        ));
        if !params.description.trim().is_empty() {
            plan.changes.push(Change::new(
                "ticket:new",
                "initialDescription",
                None,
                Some(json!(params.description)),
            ));
        }
        plan.state_before = json!({ "resolved": resolved });
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        _proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        self.check_tenant(ctx)?;
        let resolved: Resolved = serde_json::from_value(plan.state_before["resolved"].clone())
            .map_err(|e| {
                Error::invalid(format!("connectwise.create_ticket plan is incomplete: {e}"))
            })?;
        let mut body = json!({
            "summary": params.summary.trim(),
            "company": {"id": resolved.company_id},
        });
        if let Some(board) = resolved.board_id {
            body["board"] = json!({"id": board});
        }
        if let Some(contact) = resolved.contact_id {
            body["contact"] = json!({"id": contact});
        }
        if !params.description.trim().is_empty() {
            body["initialDescription"] = json!(params.description);
        }
        let created: CwTicket = self
            .client
            .api()
            .await?
            .post("service/tickets")
            .json(&body)
            .operation("create_ticket")
            .send_json()
            .await?;
        let read_back: Option<CwTicket> = self
            .client
            .get(&format!("service/tickets/{}", created.id), "get_ticket")
            .await?
            .send_json_optional()
            .await?;
        Ok(Outcome {
            changes: plan.changes.clone(),
            state_before: plan.state_before.clone(),
            state_after: json!({"ticket_id": created.id.to_string()}),
            user_message: Some(format!("Opened ConnectWise ticket #{}", created.id)),
            ..Outcome::new(if read_back.is_some() {
                StepStatus::Verified
            } else {
                StepStatus::Succeeded
            })
        })
    }
}
