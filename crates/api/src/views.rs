//! What the API takes and answers: its own types, so the wire format is stable while the core's
//! types move, and so the OpenAPI document describes exactly what is sent. Nothing here holds a
//! secret: secrets handed over by an execution are named, never shown.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stackhand_core::approval::Approval;
use stackhand_core::policy::{Approver, Decision, Effect};
use stackhand_core::{Change, Plan};
use stackhand_store::{RunRecord, StepRecord};
use utoipa::ToSchema;

/// A refusal or failure.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A stable code: `unauthenticated`, `forbidden`, `not_found`, `invalid`, `conflict`,
    /// `rate_limited`, `unavailable`, `internal`.
    pub error: String,
    /// What went wrong, for people.
    pub message: String,
}

/// Liveness or readiness.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` (alive), `ready` (the store answers) or `unavailable`.
    pub status: String,
}

/// The tenants the caller may see.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TenantList {
    /// Tenant ids, in configuration order.
    pub tenants: Vec<String>,
}

/// An action request to plan, as the token's staff member.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// The action id (`identity.unlock`).
    pub action: String,
    /// The action's input (its schema: `stackhand actions --json`).
    #[serde(default = "empty_object")]
    pub params: Value,
    /// The user the action is for, when it is not in the params.
    #[serde(default)]
    pub target: Option<String>,
    /// Why (kept in the audit trail).
    #[serde(default)]
    pub reason: Option<String>,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// One intended change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChangeView {
    /// The object changed (`user:jane@acme.example`).
    pub resource: String,
    /// The attribute changed.
    pub field: String,
    /// The value before, where it can be read (never a secret).
    pub from: Option<Value>,
    /// The value after (never a secret).
    pub to: Option<Value>,
}

impl From<&Change> for ChangeView {
    fn from(change: &Change) -> Self {
        Self {
            resource: change.resource.clone(),
            field: change.field.clone(),
            from: change.from.clone(),
            to: change.to.clone(),
        }
    }
}

/// What the policy decided, and which rule decided it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DecisionView {
    /// `allow`, `require_approval` or `deny`.
    pub effect: String,
    /// The rule that decided (`no-policy` when none matched).
    pub rule: String,
    /// Why, in words.
    pub reason: String,
    /// Who may approve, when it waits for approval (`role:msp.lead`, `group:…`, `contact:…`).
    pub approvers: Vec<String>,
}

impl From<&Decision> for DecisionView {
    fn from(decision: &Decision) -> Self {
        let (effect, approvers) = match &decision.effect {
            Effect::Allow => ("allow", Vec::new()),
            Effect::RequireApproval { approvers } => {
                ("require_approval", approvers.iter().map(approver).collect())
            }
            Effect::Deny => ("deny", Vec::new()),
        };
        Self {
            effect: effect.to_string(),
            rule: decision.rule.to_string(),
            reason: decision.reason.clone(),
            approvers,
        }
    }
}

fn approver(approver: &Approver) -> String {
    match approver {
        Approver::Role(role) => format!("role:{role}"),
        Approver::Group(group) => format!("group:{group}"),
        Approver::Contact(contact) => format!("contact:{contact}"),
    }
}

/// A plan and the policy's decision on it. Nothing was executed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlanAnswer {
    /// The tenant.
    pub tenant: String,
    /// The action planned.
    pub action: String,
    /// Who asked (the token's staff member).
    pub requester: String,
    /// One line for people.
    pub summary: String,
    /// The changes it would make; none: already in the requested state.
    pub changes: Vec<ChangeView>,
    /// The state before, as read (never a secret).
    pub state_before: Value,
    /// What a reviewer should know.
    pub warnings: Vec<String>,
    /// What the policy decides on it now (a cap filled before a submit may still deny it).
    pub decision: DecisionView,
    /// Always `false`: planning executes nothing.
    pub executed: bool,
}

impl PlanAnswer {
    /// The answer for `plan` and `decision`, asked by `requester`.
    pub fn new(plan: &Plan, decision: &Decision, requester: &str) -> Self {
        Self {
            tenant: plan.tenant.to_string(),
            action: plan.action.to_string(),
            requester: requester.to_string(),
            summary: plan.summary.clone(),
            changes: plan.changes.iter().map(ChangeView::from).collect(),
            state_before: plan.state_before.clone(),
            warnings: plan.warnings.clone(),
            decision: decision.into(),
            executed: false,
        }
    }
}

/// A pending approval.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApprovalView {
    /// The approval id.
    pub id: String,
    /// `execute` or `undo`.
    pub operation: String,
    /// The action.
    pub action: String,
    /// The request's idempotency key (a run's step is `<run>.<index>`).
    pub key: String,
    /// Who asked.
    pub requester: String,
    /// The plan shown to the approver, in one line.
    pub summary: String,
    /// The changes shown to the approver.
    pub changes: Vec<ChangeView>,
    /// The decision that asked for the approval.
    pub decision: DecisionView,
    /// When it was asked for (RFC 3339).
    pub created: String,
    /// When it expires (RFC 3339).
    pub expires: String,
}

impl From<&Approval> for ApprovalView {
    fn from(approval: &Approval) -> Self {
        Self {
            id: approval.id.to_string(),
            operation: serde_json::to_value(approval.operation)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            action: approval.request.action.to_string(),
            key: approval.request.idempotency_key.to_string(),
            requester: approval.request.requester.id.clone(),
            summary: approval.plan.summary.clone(),
            changes: approval.plan.changes.iter().map(ChangeView::from).collect(),
            decision: (&approval.decision).into(),
            created: approval.created.to_rfc3339(),
            expires: approval.expires.to_rfc3339(),
        }
    }
}

/// A refusal's reason.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// Why (kept in the audit trail; a denial's reason is shown to the requester).
    pub reason: String,
}

/// What an approval or a denial led to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AnswerView {
    /// The approval id.
    pub approval: String,
    /// The engine's answer: `executed`, `skipped`, `failed`, `pending_approval` (approved for a
    /// run that goes on, or a fresh approval for a plan that now reaches further), `denied`,
    /// `duplicate`.
    pub answer: String,
    /// What the answer said.
    pub message: String,
    /// Names of secrets the execution handed over (a temporary password). They are never
    /// shown by the API; the run hands them on as its workflow says.
    pub secrets_withheld: Vec<String>,
    /// The run that waited on the step, as it stands after going on.
    pub run: Option<RunView>,
}

/// A run in a list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunSummary {
    /// The run id (a ticket's run is `ticket-<id>`).
    pub id: String,
    /// One line for people.
    pub summary: String,
    /// `running`, `waiting_approval`, `scheduled`, `succeeded`, `failed`, ...
    pub state: String,
    /// Why it failed or waits.
    pub reason: Option<String>,
    /// The ticket, if any.
    pub ticket: Option<String>,
    /// The run it is one of, if any.
    pub parent: Option<String>,
    /// When it was recorded (RFC 3339).
    pub created: String,
    /// When it last changed (RFC 3339).
    pub updated: String,
    /// How many steps it has.
    pub steps: usize,
}

impl From<&RunRecord> for RunSummary {
    fn from(run: &RunRecord) -> Self {
        Self {
            id: run.id.clone(),
            summary: run.summary.clone(),
            state: run.state.as_str().to_string(),
            reason: run.reason.clone(),
            ticket: run.ticket.clone(),
            parent: run.parent.clone(),
            created: run.created.to_rfc3339(),
            updated: run.updated.to_rfc3339(),
            steps: run.steps.len(),
        }
    }
}

/// A tenant's runs, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunList {
    /// The runs.
    pub runs: Vec<RunSummary>,
}

/// One step of a run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StepView {
    /// Its place in the run, from 0.
    pub index: u32,
    /// Its name in the run, if it has one.
    pub name: Option<String>,
    /// The action.
    pub action: String,
    /// The step's idempotency key.
    pub key: String,
    /// The action's input as recorded (secret parameters are never recorded).
    pub params: Value,
    /// `pending`, `started` or `finished`.
    pub state: String,
    /// The engine's answer once finished.
    pub answer: Option<String>,
    /// What the answer said.
    pub message: Option<String>,
    /// When it started (RFC 3339).
    pub started: Option<String>,
    /// When it finished (RFC 3339).
    pub finished: Option<String>,
}

impl From<&StepRecord> for StepView {
    fn from(step: &StepRecord) -> Self {
        Self {
            index: step.index,
            name: step.flow.name.clone(),
            action: step.request.action.to_string(),
            key: step.request.idempotency_key.to_string(),
            params: step.request.params.clone(),
            state: step.state.as_str().to_string(),
            answer: step.answer.clone(),
            message: step.message.clone(),
            started: step.started.map(|t| t.to_rfc3339()),
            finished: step.finished.map(|t| t.to_rfc3339()),
        }
    }
}

/// A run with its steps.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunView {
    /// The run.
    pub run: RunSummary,
    /// Its steps, in order.
    pub steps: Vec<StepView>,
}

impl From<&RunRecord> for RunView {
    fn from(run: &RunRecord) -> Self {
        Self {
            run: run.into(),
            steps: run.steps.iter().map(StepView::from).collect(),
        }
    }
}

/// One step of an undo.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UndoneStep {
    /// The step's place in the run.
    pub index: u32,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// The action undone.
    pub action: String,
    /// `executed` (undone), `skipped`, `not_undoable`, `pending_approval`, `denied`, `failed`.
    pub answer: Option<String>,
    /// What the answer said.
    pub message: Option<String>,
}

/// What undoing a run did, newest step first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UndoAnswer {
    /// The run.
    pub run: String,
    /// Each executed step's undo; empty when the run executed nothing.
    pub steps: Vec<UndoneStep>,
}

/// A tenant's audit chain, verified.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditVerification {
    /// The tenant.
    pub tenant: String,
    /// Whether the chain verifies with the tenant's key against its anchored head.
    pub ok: bool,
    /// Events checked (when it verifies).
    pub events: Option<u64>,
    /// The last event's MAC (when it verifies).
    pub head: Option<String>,
    /// Events after the anchored head (written just before a stop; anchored by the next
    /// append).
    pub unanchored: Option<u64>,
    /// The first event that does not fit (when broken).
    pub broken_at: Option<u64>,
    /// What is wrong (when broken).
    pub problem: Option<String>,
}
