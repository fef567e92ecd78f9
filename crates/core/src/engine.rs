//! The engine: the only road to execution.
//!
//! For every request it plans (read-only), records the plan, asks the policy, records the
//! decision, and then executes only if the policy allowed it or an authorised approver who is
//! not the requester approved it. Only the engine can construct the [`ExecutionProof`] that
//! [`Action::execute`] takes. Every step is written to the [`AuditSink`] before it is
//! acknowledged, and an idempotency key never executes twice.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::action::{Action, ActionCatalog, ActionContext, ExecutionProof};
use crate::approval::{Approval, ApprovalId, ApprovalStatus, Operation};
use crate::audit::{AuditKind, AuditRecord, AuditSink};
use crate::connector::ConnectorSet;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{
    ActionId, ActionRequest, IdempotencyKey, Outcome, Plan, Principal, StepStatus, Tenant, TenantId,
};
use crate::policy::{Decision, DecisionInput, Effect, Policy};

/// A source of time, replaceable in tests.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock tests move by hand.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// Start at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }

    /// Move forward.
    pub fn advance(&self, by: ChronoDuration) {
        *self.0.lock() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock()
    }
}

/// A failure summary that is safe to store and show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The error kind.
    pub kind: ErrorKind,
    /// The message (connectors never put secrets in errors).
    pub message: String,
}

impl From<&Error> for Failure {
    fn from(e: &Error) -> Self {
        Self {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// What an execution (or undo) did, as stored for review and undo.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Receipt {
    /// Execute or undo.
    pub operation: Operation,
    /// The request.
    pub request: ActionRequest,
    /// The plan executed (its `state_before` is what undo restores).
    pub plan: Plan,
    /// The decision that allowed it.
    pub decision: Decision,
    /// The approver, if one approved.
    pub approved_by: Option<String>,
    /// The outcome; secrets travel only on the first answer, never in storage.
    pub outcome: Outcome,
    /// The failure, when the outcome is failed.
    pub failure: Option<Failure>,
}

/// The engine's answer to a submission.
#[derive(Debug, Clone)]
pub enum Submission {
    /// Executed (or skipped as a no-op, or failed: see the outcome).
    Executed(Box<Receipt>),
    /// Waiting for an approver.
    PendingApproval(Box<Approval>),
    /// Refused by policy, or by an approver.
    Denied(Decision),
    /// This idempotency key was seen before; here is what happened then.
    Duplicate(Box<Submission>),
}

impl Submission {
    /// The receipt, if executed (directly or as a duplicate).
    pub fn receipt(&self) -> Option<&Receipt> {
        match self {
            Submission::Executed(r) => Some(r),
            Submission::Duplicate(inner) => inner.receipt(),
            _ => None,
        }
    }

    /// The pending approval, if any.
    pub fn approval(&self) -> Option<&Approval> {
        match self {
            Submission::PendingApproval(a) => Some(a),
            Submission::Duplicate(inner) => inner.approval(),
            _ => None,
        }
    }

    /// The denial, if denied.
    pub fn denial(&self) -> Option<&Decision> {
        match self {
            Submission::Denied(d) => Some(d),
            Submission::Duplicate(inner) => inner.denial(),
            _ => None,
        }
    }

    /// A short word for the status: executed, failed, skipped, pending, denied.
    pub fn label(&self) -> &'static str {
        match self {
            Submission::Executed(r) => match r.outcome.status {
                StepStatus::Failed => "failed",
                StepStatus::Skipped => "skipped",
                _ => "executed",
            },
            Submission::PendingApproval(_) => "pending_approval",
            Submission::Denied(_) => "denied",
            Submission::Duplicate(inner) => inner.label(),
        }
    }
}

/// What the store holds for an idempotency key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum KeyState {
    /// Being processed now.
    InFlight,
    /// Executed.
    Executed {
        /// The receipt (without secrets).
        receipt: Box<Receipt>,
    },
    /// Waiting for approval.
    Pending {
        /// Which approval.
        approval: ApprovalId,
    },
    /// Denied.
    Denied {
        /// The decision.
        decision: Decision,
    },
}

/// The result of claiming an idempotency key.
#[derive(Debug, Clone)]
pub enum Claim {
    /// The key is new and now in flight for this caller.
    New,
    /// The key was seen before with this request fingerprint.
    Seen(KeyState),
}

/// Durable engine state: idempotency keys and approvals. In memory by default;
/// `stackhand-store` provides SQLite and PostgreSQL implementations.
#[async_trait]
pub trait EngineStore: Send + Sync {
    /// Claim a key for a request fingerprint. A key seen with another fingerprint is a conflict.
    async fn claim(
        &self,
        tenant: &TenantId,
        key: &IdempotencyKey,
        fingerprint: &str,
    ) -> Result<Claim>;
    /// Record the key's new state.
    async fn settle(&self, tenant: &TenantId, key: &IdempotencyKey, state: KeyState) -> Result<()>;
    /// The state of a key, if it was ever claimed.
    async fn state(&self, tenant: &TenantId, key: &IdempotencyKey) -> Result<Option<KeyState>>;
    /// Forget an in-flight key whose request failed before anything was decided.
    async fn release(&self, tenant: &TenantId, key: &IdempotencyKey) -> Result<()>;
    /// Save (insert or update) an approval.
    async fn put_approval(&self, approval: &Approval) -> Result<()>;
    /// Load an approval.
    async fn approval(&self, id: ApprovalId) -> Result<Option<Approval>>;
    /// Pending approvals of a tenant.
    async fn pending_approvals(&self, tenant: &TenantId) -> Result<Vec<Approval>>;
}

/// [`EngineStore`] in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    keys: Mutex<HashMap<(TenantId, IdempotencyKey), (String, KeyState)>>,
    approvals: Mutex<HashMap<ApprovalId, Approval>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl EngineStore for MemoryStore {
    async fn claim(
        &self,
        tenant: &TenantId,
        key: &IdempotencyKey,
        fingerprint: &str,
    ) -> Result<Claim> {
        let mut keys = self.keys.lock();
        match keys.get(&(tenant.clone(), key.clone())) {
            Some((seen, _)) if seen != fingerprint => Err(Error::conflict(format!(
                "idempotency key {key} was already used for a different request"
            ))),
            Some((_, state)) => Ok(Claim::Seen(state.clone())),
            None => {
                keys.insert(
                    (tenant.clone(), key.clone()),
                    (fingerprint.to_string(), KeyState::InFlight),
                );
                Ok(Claim::New)
            }
        }
    }

    async fn settle(&self, tenant: &TenantId, key: &IdempotencyKey, state: KeyState) -> Result<()> {
        let mut keys = self.keys.lock();
        let entry = keys
            .get_mut(&(tenant.clone(), key.clone()))
            .ok_or_else(|| Error::not_found(format!("idempotency key {key} was never claimed")))?;
        entry.1 = state;
        Ok(())
    }

    async fn state(&self, tenant: &TenantId, key: &IdempotencyKey) -> Result<Option<KeyState>> {
        Ok(self
            .keys
            .lock()
            .get(&(tenant.clone(), key.clone()))
            .map(|(_, state)| state.clone()))
    }

    async fn release(&self, tenant: &TenantId, key: &IdempotencyKey) -> Result<()> {
        self.keys.lock().remove(&(tenant.clone(), key.clone()));
        Ok(())
    }

    async fn put_approval(&self, approval: &Approval) -> Result<()> {
        self.approvals.lock().insert(approval.id, approval.clone());
        Ok(())
    }

    async fn approval(&self, id: ApprovalId) -> Result<Option<Approval>> {
        Ok(self.approvals.lock().get(&id).cloned())
    }

    async fn pending_approvals(&self, tenant: &TenantId) -> Result<Vec<Approval>> {
        let mut pending: Vec<Approval> = self
            .approvals
            .lock()
            .values()
            .filter(|a| &a.tenant == tenant && a.status == ApprovalStatus::Pending)
            .cloned()
            .collect();
        pending.sort_by_key(|a| a.created);
        Ok(pending)
    }
}

struct TenantEntry {
    tenant: Tenant,
    context: ActionContext,
    actions: ActionCatalog,
}

/// Builds an [`Engine`].
pub struct EngineBuilder {
    policy: Arc<dyn Policy>,
    audit: Arc<dyn AuditSink>,
    store: Arc<dyn EngineStore>,
    clock: Arc<dyn Clock>,
    actions: ActionCatalog,
    approval_ttl: ChronoDuration,
}

impl EngineBuilder {
    /// Use this store instead of memory.
    pub fn store(mut self, store: Arc<dyn EngineStore>) -> Self {
        self.store = store;
        self
    }

    /// Use this clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Add actions beyond the built-in ones (available to every tenant).
    pub fn action(mut self, action: Arc<dyn Action>) -> Self {
        self.actions.insert(action);
        self
    }

    /// How long an approval waits before it expires (default 24 hours).
    pub fn approval_ttl(mut self, ttl: ChronoDuration) -> Self {
        self.approval_ttl = ttl;
        self
    }

    /// Build.
    pub fn build(self) -> Engine {
        Engine {
            inner: Arc::new(Inner {
                policy: self.policy,
                audit: self.audit,
                store: self.store,
                clock: self.clock,
                actions: self.actions,
                approval_ttl: self.approval_ttl,
                tenants: RwLock::new(HashMap::new()),
            }),
        }
    }
}

struct Inner {
    policy: Arc<dyn Policy>,
    audit: Arc<dyn AuditSink>,
    store: Arc<dyn EngineStore>,
    clock: Arc<dyn Clock>,
    actions: ActionCatalog,
    approval_ttl: ChronoDuration,
    tenants: RwLock<HashMap<TenantId, Arc<TenantEntry>>>,
}

/// The only road to execution. Cheap to clone.
///
/// ```
/// # tokio_test_block(async {
/// use std::sync::Arc;
/// use stackhand_core::*;
/// use stackhand_core::audit::MemoryAuditSink;
/// use stackhand_core::engine::Engine;
/// use stackhand_core::memory::MemoryConnector;
/// use stackhand_core::policy::PolicyLoader;
///
/// let policy = PolicyLoader::new()
///     .add_str("global.toml", r#"
///         [scope]
///         global = true
///         [[rules]]
///         id = "unlock-self"
///         actions = ["identity.unlock"]
///         effect = "allow"
///         [rules.when]
///         self_service = true
///     "#)
///     .build()
///     .unwrap();
/// let engine = Engine::builder(Arc::new(policy), Arc::new(MemoryAuditSink::new())).build();
/// let tenant = TenantId::new("acme").unwrap();
/// let memory = MemoryConnector::demo(tenant.clone());
/// engine.add_tenant(Tenant::new(tenant.clone(), "Acme"), ConnectorSet::new(tenant.clone()).with(Arc::new(memory)).unwrap());
///
/// let req = ActionRequest::new(
///     IdempotencyKey::new("t-1").unwrap(), tenant.clone(),
///     ActionId::from_static("identity.unlock"),
///     &serde_json::json!({"user": "bob@acme.example"}),
///     Principal::end_user("bob@acme.example"),
/// ).unwrap();
/// let answer = engine.submit(req).await.unwrap();
/// assert_eq!(answer.label(), "executed");
/// # });
/// # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("actions", &self.inner.actions)
            .field(
                "tenants",
                &self.inner.tenants.read().keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The fingerprint that ties an idempotency key to one request.
fn fingerprint(request: &ActionRequest) -> String {
    let body = serde_json::to_vec(&(
        &request.tenant,
        &request.action,
        &request.params,
        &request.requester.id,
        &request.target,
    ))
    .unwrap_or_default();
    hex::encode(Sha256::digest(body))
}

impl Engine {
    /// Start building an engine with the built-in actions, a policy and an audit sink.
    pub fn builder(policy: Arc<dyn Policy>, audit: Arc<dyn AuditSink>) -> EngineBuilder {
        EngineBuilder {
            policy,
            audit,
            store: Arc::new(MemoryStore::new()),
            clock: Arc::new(SystemClock),
            actions: crate::actions::builtin(),
            approval_ttl: ChronoDuration::hours(24),
        }
    }

    /// Enable a tenant with its connectors. The tenant's catalog is the built-in actions plus
    /// the vendor-specific actions of its connectors.
    pub fn add_tenant(&self, tenant: Tenant, connectors: ConnectorSet) {
        let mut actions = self.inner.actions.clone();
        for connector in connectors.all() {
            for action in connector.actions() {
                actions.insert(action);
            }
        }
        let entry = TenantEntry {
            context: ActionContext::new(Arc::new(connectors)),
            tenant: tenant.clone(),
            actions,
        };
        self.inner
            .tenants
            .write()
            .insert(tenant.id, Arc::new(entry));
    }

    fn tenant(&self, id: &TenantId) -> Result<Arc<TenantEntry>> {
        self.inner
            .tenants
            .read()
            .get(id)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("unknown tenant {id}")))
    }

    /// The actions a tenant can use.
    pub fn actions(&self, tenant: &TenantId) -> Result<Vec<crate::ActionSpec>> {
        Ok(self.tenant(tenant)?.actions.specs().cloned().collect())
    }

    /// The tenant's connectors (for the runner's intake and documentation steps).
    pub fn connectors(&self, tenant: &TenantId) -> Result<ActionContext> {
        Ok(self.tenant(tenant)?.context.clone())
    }

    fn action(entry: &TenantEntry, id: &ActionId) -> Result<Arc<dyn Action>> {
        entry.actions.get(id).cloned().ok_or_else(|| {
            Error::not_found(format!(
                "unknown action {id} for tenant {}",
                entry.tenant.id
            ))
        })
    }

    async fn audit(
        &self,
        kind: AuditKind,
        request: &ActionRequest,
        actor: &str,
        data: serde_json::Value,
    ) -> Result<()> {
        self.inner
            .audit
            .append(AuditRecord {
                tenant: request.tenant.clone(),
                at: self.inner.clock.now(),
                kind,
                request: Some(request.idempotency_key.clone()),
                action: Some(request.action.clone()),
                actor: Some(actor.to_string()),
                data,
            })
            .await
            .map(|_| ())
    }

    /// Plan a request without deciding or executing it (shadow mode). The plan is audited.
    pub async fn plan(&self, request: &ActionRequest) -> Result<Plan> {
        let entry = self.tenant(&request.tenant)?;
        let action = Self::action(&entry, &request.action)?;
        self.plan_with(&entry, action.as_ref(), request).await
    }

    async fn plan_with(
        &self,
        entry: &TenantEntry,
        action: &dyn Action,
        request: &ActionRequest,
    ) -> Result<Plan> {
        match action.plan(&entry.context, request).await {
            Ok(plan) => {
                self.audit(
                    AuditKind::PlanRecorded,
                    request,
                    &request.requester.id,
                    serde_json::json!({
                        "summary": plan.summary,
                        "changes": plan.changes,
                        "state_before": plan.state_before,
                        "facts": plan.facts,
                        "warnings": plan.warnings,
                        "params": request.params,
                        "target": request.target,
                        "ticket": request.ticket,
                        "reason": request.reason,
                    }),
                )
                .await?;
                Ok(plan)
            }
            Err(err) => {
                self.audit(
                    AuditKind::PlanFailed,
                    request,
                    &request.requester.id,
                    serde_json::json!({
                        "error": Failure::from(&err),
                        "params": request.params,
                    }),
                )
                .await?;
                Err(err)
            }
        }
    }

    fn decide(
        &self,
        entry: &TenantEntry,
        action: &dyn Action,
        operation: Operation,
        request: &ActionRequest,
        plan: &Plan,
    ) -> Decision {
        self.inner.policy.decide(&DecisionInput {
            request,
            operation,
            spec: action.spec(),
            tenant: &entry.tenant,
            facts: &plan.facts,
            now: self.inner.clock.now(),
        })
    }

    /// Submit a request: plan, decide, and execute if allowed; or wait for approval; or deny.
    pub async fn submit(&self, request: ActionRequest) -> Result<Submission> {
        let entry = self.tenant(&request.tenant)?;
        let action = Self::action(&entry, &request.action)?;
        let key = request.idempotency_key.clone();
        match self
            .inner
            .store
            .claim(&request.tenant, &key, &fingerprint(&request))
            .await?
        {
            Claim::New => {}
            Claim::Seen(state) => return self.replay(state).await,
        }
        match self
            .submit_claimed(&entry, action.as_ref(), request.clone())
            .await
        {
            Ok(submission) => Ok(submission),
            Err(err) => {
                // Nothing was decided or changed: the caller may retry with the same key.
                self.inner.store.release(&request.tenant, &key).await?;
                Err(err)
            }
        }
    }

    async fn replay(&self, state: KeyState) -> Result<Submission> {
        let earlier = match state {
            KeyState::InFlight => {
                return Err(
                    Error::conflict("a request with this idempotency key is in progress")
                        .temporary(),
                );
            }
            KeyState::Executed { receipt } => Submission::Executed(receipt),
            KeyState::Denied { decision } => Submission::Denied(decision),
            KeyState::Pending { approval } => {
                let approval =
                    self.inner.store.approval(approval).await?.ok_or_else(|| {
                        Error::not_found(format!("approval {approval} is missing"))
                    })?;
                Submission::PendingApproval(Box::new(approval))
            }
        };
        Ok(Submission::Duplicate(Box::new(earlier)))
    }

    async fn submit_claimed(
        &self,
        entry: &TenantEntry,
        action: &dyn Action,
        request: ActionRequest,
    ) -> Result<Submission> {
        let plan = self.plan_with(entry, action, &request).await?;
        let decision = self.decide(entry, action, Operation::Execute, &request, &plan);
        self.audit(
            AuditKind::Decided,
            &request,
            &request.requester.id,
            serde_json::to_value(&decision)?,
        )
        .await?;
        self.carry_out(entry, action, Operation::Execute, request, plan, decision)
            .await
    }

    /// Act on a decision: refuse, ask for approval, or run with a proof.
    async fn carry_out(
        &self,
        entry: &TenantEntry,
        action: &dyn Action,
        operation: Operation,
        request: ActionRequest,
        plan: Plan,
        decision: Decision,
    ) -> Result<Submission> {
        match &decision.effect {
            Effect::Deny => {
                self.settle(
                    &request,
                    KeyState::Denied {
                        decision: decision.clone(),
                    },
                )
                .await?;
                Ok(Submission::Denied(decision))
            }
            Effect::RequireApproval { approvers } => {
                let approvers = approvers.clone();
                let approval = self
                    .request_approval(operation, request.clone(), plan, decision, approvers)
                    .await?;
                self.settle(
                    &request,
                    KeyState::Pending {
                        approval: approval.id,
                    },
                )
                .await?;
                Ok(Submission::PendingApproval(Box::new(approval)))
            }
            Effect::Allow => {
                let proof = ExecutionProof::issue(decision.rule.as_str(), None);
                let receipt = self
                    .run(entry, action, operation, request, plan, decision, proof)
                    .await?;
                Ok(Submission::Executed(Box::new(receipt)))
            }
        }
    }

    async fn settle(&self, request: &ActionRequest, state: KeyState) -> Result<()> {
        self.inner
            .store
            .settle(&request.tenant, &request.idempotency_key, state)
            .await
    }

    async fn request_approval(
        &self,
        operation: Operation,
        request: ActionRequest,
        plan: Plan,
        decision: Decision,
        approvers: Vec<crate::policy::Approver>,
    ) -> Result<Approval> {
        let now = self.inner.clock.now();
        let approval = Approval {
            id: ApprovalId::new(),
            tenant: request.tenant.clone(),
            operation,
            request,
            plan,
            decision,
            approvers,
            created: now,
            expires: now + self.inner.approval_ttl,
            status: ApprovalStatus::Pending,
        };
        self.inner.store.put_approval(&approval).await?;
        self.audit(
            AuditKind::ApprovalRequested,
            &approval.request,
            &approval.request.requester.id,
            serde_json::json!({
                "approval": approval.id,
                "operation": operation,
                "approvers": approval.approvers,
                "expires": approval.expires,
            }),
        )
        .await?;
        Ok(approval)
    }

    /// Execute (or undo) with a proof, auditing before and after; stores the receipt.
    #[allow(clippy::too_many_arguments)]
    async fn run(
        &self,
        entry: &TenantEntry,
        action: &dyn Action,
        operation: Operation,
        request: ActionRequest,
        plan: Plan,
        decision: Decision,
        proof: ExecutionProof,
    ) -> Result<Receipt> {
        let (started, succeeded, failed) = match operation {
            Operation::Execute => (
                AuditKind::ExecutionStarted,
                AuditKind::ExecutionSucceeded,
                AuditKind::ExecutionFailed,
            ),
            Operation::Undo => (
                AuditKind::UndoStarted,
                AuditKind::UndoSucceeded,
                AuditKind::UndoFailed,
            ),
        };
        let actor = proof
            .approved_by()
            .map_or_else(|| request.requester.id.clone(), str::to_string);
        // caps: reserved by the engine
        self.audit(
            started,
            &request,
            &actor,
            serde_json::json!({
                "rule": proof.rule(),
                "approved_by": proof.approved_by(),
                "changes": plan.changes,
            }),
        )
        .await?;

        let result = if plan.is_noop() && operation == Operation::Execute {
            Ok(Outcome {
                state_before: plan.state_before.clone(),
                state_after: plan.state_before.clone(),
                ..Outcome::new(StepStatus::Skipped)
            }
            .with_message("Nothing to change: already in the requested state."))
        } else {
            match operation {
                Operation::Execute => {
                    action
                        .execute(&entry.context, &request, &plan, &proof)
                        .await
                }
                Operation::Undo => action.undo(&entry.context, &request, &plan, &proof).await,
            }
        };
        let (outcome, failure) = match result {
            Ok(outcome) => {
                self.audit(succeeded, &request, &actor, serde_json::json!({
                    "status": outcome.status,
                    "changes": outcome.changes,
                    "state_after": outcome.state_after,
                    "user_message": outcome.user_message,
                    "handed_over": outcome.secrets.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
                }))
                .await?;
                (outcome, None)
            }
            Err(err) => {
                let failure = Failure::from(&err);
                self.audit(
                    failed,
                    &request,
                    &actor,
                    serde_json::json!({ "error": failure }),
                )
                .await?;
                let outcome = Outcome {
                    state_before: plan.state_before.clone(),
                    ..Outcome::new(StepStatus::Failed)
                };
                (outcome, Some(failure))
            }
        };
        let receipt = Receipt {
            operation,
            approved_by: proof.approved_by().map(str::to_string),
            request,
            plan,
            decision,
            outcome,
            failure,
        };
        let mut stored = receipt.clone();
        stored.outcome.secrets.clear();
        self.settle(
            &receipt.request,
            KeyState::Executed {
                receipt: Box::new(stored),
            },
        )
        .await?;
        Ok(receipt)
    }

    /// Pending approvals of a tenant.
    pub async fn pending_approvals(&self, tenant: &TenantId) -> Result<Vec<Approval>> {
        self.inner.store.pending_approvals(tenant).await
    }

    async fn load_pending(&self, id: ApprovalId) -> Result<Approval> {
        self.inner
            .store
            .approval(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("no approval {id}")))
    }

    /// Check that `approver` may answer `approval`; refusals are audited.
    async fn check_authority(&self, approval: &Approval, approver: &Principal) -> Result<()> {
        let requester = &approval.request.requester;
        let problem = if approver.id.eq_ignore_ascii_case(&requester.id)
            || requester
                .idp_login
                .as_deref()
                .is_some_and(|l| approver.is_login(l))
        {
            Some(Error::forbidden(format!(
                "self-approval refused: {} requested this",
                requester.id
            )))
        } else if !approval.approvers.iter().any(|a| a.admits(approver)) {
            Some(Error::forbidden(format!(
                "{} may not approve this: rule {} requires one of {}",
                approver.id,
                approval.decision.rule,
                serde_json::to_string(&approval.approvers).unwrap_or_default()
            )))
        } else {
            None
        };
        match problem {
            Some(err) => {
                self.audit(
                    AuditKind::ApprovalRefused,
                    &approval.request,
                    &approver.id,
                    serde_json::json!({
                        "approval": approval.id,
                        "refused_attempt": err.message(),
                    }),
                )
                .await?;
                Err(err)
            }
            None => Ok(()),
        }
    }

    /// Expire the approval if its time is up; returns whether it expired.
    async fn expire_if_due(&self, approval: &mut Approval) -> Result<bool> {
        let now = self.inner.clock.now();
        if approval.status == ApprovalStatus::Pending && now >= approval.expires {
            approval.status = ApprovalStatus::Expired { at: now };
            self.inner.store.put_approval(approval).await?;
            self.audit(
                AuditKind::ApprovalExpired,
                &approval.request,
                "system",
                serde_json::json!({ "approval": approval.id }),
            )
            .await?;
            let decision = Decision {
                effect: Effect::Deny,
                rule: approval.decision.rule.clone(),
                reason: "approval expired".into(),
                caps: Vec::new(),
            };
            self.settle(&approval.request, KeyState::Denied { decision })
                .await?;
            return Ok(true);
        }
        Ok(matches!(approval.status, ApprovalStatus::Expired { .. }))
    }

    /// Approve and execute. Approving again (same approver) answers with the first result.
    pub async fn approve(&self, id: ApprovalId, approver: &Principal) -> Result<Submission> {
        let mut approval = self.load_pending(id).await?;
        match &approval.status {
            ApprovalStatus::Approved { .. } => {
                return match self
                    .inner
                    .store
                    .state(&approval.tenant, &approval.request.idempotency_key)
                    .await?
                {
                    Some(state) => self.replay(state).await,
                    None => Err(Error::conflict(format!(
                        "approval {id} was approved but its result is missing"
                    ))),
                };
            }
            ApprovalStatus::Denied { by, .. } => {
                return Err(Error::conflict(format!(
                    "approval {id} was already denied by {by}"
                )));
            }
            _ => {}
        }
        if self.expire_if_due(&mut approval).await? {
            return Err(Error::conflict(format!(
                "approval {id} expired at {}",
                approval.expires
            )));
        }
        self.check_authority(&approval, approver).await?;
        let entry = self.tenant(&approval.tenant)?;
        let action = Self::action(&entry, &approval.request.action)?;

        approval.status = ApprovalStatus::Approved {
            by: approver.id.clone(),
            at: self.inner.clock.now(),
        };
        self.inner.store.put_approval(&approval).await?;
        self.audit(
            AuditKind::ApprovalGranted,
            &approval.request,
            &approver.id,
            serde_json::json!({ "approval": id }),
        )
        .await?;

        // The world may have moved since the approval was asked for: plan again so undo
        // restores the real state before, and decide again so a new deny still wins.
        let request = approval.request.clone();
        let (plan, decision) = match approval.operation {
            Operation::Execute => {
                let plan = self.plan_with(&entry, action.as_ref(), &request).await?;
                let decision =
                    self.decide(&entry, action.as_ref(), Operation::Execute, &request, &plan);
                if decision.is_deny() {
                    self.audit(
                        AuditKind::Decided,
                        &request,
                        &approver.id,
                        serde_json::to_value(&decision)?,
                    )
                    .await?;
                    self.settle(
                        &request,
                        KeyState::Denied {
                            decision: decision.clone(),
                        },
                    )
                    .await?;
                    return Ok(Submission::Denied(decision));
                }
                (plan, approval.decision.clone())
            }
            Operation::Undo => (approval.plan.clone(), approval.decision.clone()),
        };
        let proof = ExecutionProof::issue(decision.rule.as_str(), Some(&approver.id));
        let receipt = self
            .run(
                &entry,
                action.as_ref(),
                approval.operation,
                request,
                plan,
                decision,
                proof,
            )
            .await?;
        Ok(Submission::Executed(Box::new(receipt)))
    }

    /// Refuse an approval. The approver must have authority (the requester may also withdraw).
    pub async fn deny(
        &self,
        id: ApprovalId,
        approver: &Principal,
        reason: &str,
    ) -> Result<Decision> {
        let mut approval = self.load_pending(id).await?;
        if let ApprovalStatus::Denied { .. } = approval.status {
            return Ok(Decision {
                effect: Effect::Deny,
                rule: approval.decision.rule.clone(),
                reason: format!("denied by approver: {reason}"),
                caps: Vec::new(),
            });
        }
        if approval.status != ApprovalStatus::Pending {
            return Err(Error::conflict(format!(
                "approval {id} is no longer pending"
            )));
        }
        let withdrawing = approver
            .id
            .eq_ignore_ascii_case(&approval.request.requester.id);
        if !withdrawing {
            self.check_authority(&approval, approver).await?;
        }
        approval.status = ApprovalStatus::Denied {
            by: approver.id.clone(),
            at: self.inner.clock.now(),
            reason: reason.to_string(),
        };
        self.inner.store.put_approval(&approval).await?;
        self.audit(
            AuditKind::ApprovalRefused,
            &approval.request,
            &approver.id,
            serde_json::json!({
                "approval": id,
                "reason": reason,
            }),
        )
        .await?;
        let decision = Decision {
            effect: Effect::Deny,
            rule: approval.decision.rule.clone(),
            reason: format!("denied by approver: {reason}"),
            caps: Vec::new(),
        };
        self.settle(
            &approval.request,
            KeyState::Denied {
                decision: decision.clone(),
            },
        )
        .await?;
        Ok(decision)
    }

    /// Undo an executed request from its recorded state before, under the same policy.
    ///
    /// The undo is itself a request with the idempotency key `undo.<key>`, decided by the policy
    /// for the same action, and executed at most once.
    pub async fn undo(
        &self,
        tenant: &TenantId,
        key: &IdempotencyKey,
        requester: Principal,
        reason: &str,
    ) -> Result<Submission> {
        let entry = self.tenant(tenant)?;
        let original = match self.inner.store.state(tenant, key).await? {
            Some(KeyState::Executed { receipt }) => receipt,
            Some(_) => {
                return Err(Error::invalid(format!(
                    "request {key} was not executed, so there is nothing to undo"
                )));
            }
            None => {
                return Err(Error::not_found(format!(
                    "nothing was executed under key {key}"
                )));
            }
        };
        let receipt = *original;
        if receipt.outcome.status == StepStatus::Failed
            || receipt.outcome.status == StepStatus::Skipped
        {
            return Err(Error::invalid(format!(
                "request {key} changed nothing, so there is nothing to undo"
            )));
        }
        let action = Self::action(&entry, &receipt.request.action)?;
        if !action.spec().reversible {
            return Err(Error::invalid(format!(
                "{} is not reversible",
                receipt.request.action
            )));
        }
        let mut request = receipt.request.clone();
        request.idempotency_key = IdempotencyKey::new(format!("undo.{key}"))?;
        request.requester = requester;
        request.reason = reason.to_string();
        match self
            .inner
            .store
            .claim(tenant, &request.idempotency_key, &fingerprint(&request))
            .await?
        {
            Claim::New => {}
            Claim::Seen(state) => return self.replay(state).await,
        }
        let plan = receipt.plan.clone();
        let decision = self.decide(&entry, action.as_ref(), Operation::Undo, &request, &plan);
        self.audit(
            AuditKind::Decided,
            &request,
            &request.requester.id,
            serde_json::json!({
                "operation": Operation::Undo,
                "undoes": key,
                "decision": decision,
            }),
        )
        .await?;
        self.carry_out(
            &entry,
            action.as_ref(),
            Operation::Undo,
            request,
            plan,
            decision,
        )
        .await
    }

    /// A tenant's audit trail.
    pub async fn audit_trail(&self, tenant: &TenantId) -> Result<Vec<crate::audit::AuditEvent>> {
        self.inner.audit.events(tenant).await
    }
}
