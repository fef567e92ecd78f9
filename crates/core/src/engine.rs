//! The engine: the only road to execution.
//!
//! For every request it plans (read-only), records the plan, asks the policy, records the
//! decision, and then executes only if the policy allowed it or an authorised approver who is
//! not the requester approved it. Only the engine can construct the [`ExecutionProof`] that
//! [`Action::execute`] takes. Every step is written to the [`AuditSink`] before it is
//! acknowledged, and an idempotency key never executes twice.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::action::{Action, ActionCatalog, ActionContext, ExecutionProof};
use crate::approval::{Approval, ApprovalId, ApprovalStatus, Operation};
use crate::audit::{AuditKind, AuditRecord, AuditSink};
use crate::connector::{ConnectorReads, ConnectorSet};
use crate::directory::{MemoryStaffDirectory, StaffDirectory};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{
    ActionId, ActionRequest, IdempotencyKey, Outcome, Plan, Principal, PrincipalKind, StepStatus,
    Tenant, TenantId,
};
use crate::policy::{CapLimit, Decision, DecisionInput, Effect, Policy, RuleId};

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

/// What the engine knew when it began to execute (or undo) a request: enough to settle the key
/// by reading the target back if the result could not be recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Started {
    /// Execute or undo.
    pub operation: Operation,
    /// The request.
    pub request: ActionRequest,
    /// The plan being executed.
    pub plan: Plan,
    /// The decision that allowed it.
    pub decision: Decision,
    /// The approver, if one approved.
    pub approved_by: Option<String>,
    /// When execution began.
    pub at: DateTime<Utc>,
}

/// What the store holds for an idempotency key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum KeyState {
    /// Claimed; nothing decided or executed yet. The only state a key is released from.
    InFlight,
    /// Execution began: the vendor may have been called. Never released.
    Executing {
        /// What was being executed.
        started: Box<Started>,
    },
    /// Execution began but its result was never recorded (a failure or crash between the
    /// vendor call and the record). A retry reads the target back to settle it, or leaves it
    /// to a person; it never executes again.
    InDoubt {
        /// What was being executed.
        started: Box<Started>,
        /// Why the result is unknown.
        reason: String,
    },
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

/// The state an execution begins from ([`EngineStore::begin`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeginFrom {
    /// The key as claimed: [`InFlight`](KeyState::InFlight).
    Claimed,
    /// The key waiting for this approval: [`Pending`](KeyState::Pending) with its id.
    Approved(ApprovalId),
}

impl BeginFrom {
    /// The key state this names.
    pub fn state(self) -> KeyState {
        match self {
            BeginFrom::Claimed => KeyState::InFlight,
            BeginFrom::Approved(approval) => KeyState::Pending { approval },
        }
    }

    /// Whether `state` is the state this names.
    pub fn matches(self, state: &KeyState) -> bool {
        match (self, state) {
            (BeginFrom::Claimed, KeyState::InFlight) => true,
            (BeginFrom::Approved(id), KeyState::Pending { approval }) => id == *approval,
            _ => false,
        }
    }
}

/// The result of claiming an idempotency key.
#[derive(Debug, Clone)]
pub enum Claim {
    /// The key is new and now in flight for this caller.
    New,
    /// The key was seen before with this request fingerprint.
    Seen(KeyState),
}

/// The result of moving an approval out of pending.
#[derive(Debug, Clone)]
pub enum Transition {
    /// This caller moved it; here it is in its new state.
    Done(Approval),
    /// Someone else resolved it first (approved, denied or expired); here is how.
    AlreadyResolved(Approval),
}

/// Durable engine state: idempotency keys and approvals. In memory by default;
/// `stackhand-store` provides SQLite and PostgreSQL implementations.
///
/// Every method that changes state is atomic on its own: [`claim`](Self::claim) is an
/// insert-if-absent and [`resolve_approval`](Self::resolve_approval) a compare-and-swap, so two
/// engines (or two tasks) sharing one store never both win.
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
    /// Move a key from the state `from` names to [`Executing`](KeyState::Executing) if, and
    /// only if, it is still in it (compare-and-swap). `true` when this caller moved it. Execution begins
    /// only through this, so of two attempts on one key (a resumed run and a live one, two
    /// approvals of one request) at most one ever calls the vendor.
    async fn begin(
        &self,
        tenant: &TenantId,
        key: &IdempotencyKey,
        from: BeginFrom,
        started: Started,
    ) -> Result<bool>;
    /// Forget a key whose request failed before anything was decided. Only an
    /// [`InFlight`](KeyState::InFlight) key is released: a key whose execution began is kept
    /// whatever happens (the call answers `Ok(false)`).
    async fn release(&self, tenant: &TenantId, key: &IdempotencyKey) -> Result<bool>;
    /// Store a new approval; an id already stored is a conflict.
    async fn insert_approval(&self, approval: &Approval) -> Result<()>;
    /// Move a pending approval to `to` if, and only if, it is still pending (compare-and-swap).
    async fn resolve_approval(&self, id: ApprovalId, to: ApprovalStatus) -> Result<Transition>;
    /// Load an approval.
    async fn approval(&self, id: ApprovalId) -> Result<Option<Approval>>;
    /// Approvals of a tenant still pending and not yet expired at `now`, oldest first.
    async fn pending_approvals(
        &self,
        tenant: &TenantId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Approval>>;
    /// Reserve one slot in each of `caps` for `tenant` at `now`, atomically: either every cap
    /// has room (fewer than `max` reservations within its window) and each gets one more, or
    /// none is touched and the first full cap is named.
    async fn reserve(
        &self,
        tenant: &TenantId,
        caps: &[CapLimit],
        now: DateTime<Utc>,
    ) -> Result<Reservation>;
    /// Give back the slots of a reservation whose action did not run.
    async fn release_reservation(&self, tenant: &TenantId, id: ReservationId) -> Result<()>;
}

/// The id of one reservation of cap slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReservationId(pub uuid::Uuid);

/// The answer to [`EngineStore::reserve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// Every cap had room; each now counts this request.
    Granted(ReservationId),
    /// This cap is full; nothing was reserved.
    Full(CapLimit),
}

/// Reservation times and ids per (tenant, cap id), oldest first.
type CapLedger = HashMap<(TenantId, RuleId), VecDeque<(DateTime<Utc>, ReservationId)>>;

/// [`EngineStore`] in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    keys: Mutex<HashMap<(TenantId, IdempotencyKey), (String, KeyState)>>,
    approvals: Mutex<HashMap<ApprovalId, Approval>>,
    caps: Mutex<CapLedger>,
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

    async fn begin(
        &self,
        tenant: &TenantId,
        key: &IdempotencyKey,
        from: BeginFrom,
        started: Started,
    ) -> Result<bool> {
        let mut keys = self.keys.lock();
        match keys.get_mut(&(tenant.clone(), key.clone())) {
            Some((_, state)) if from.matches(state) => {
                *state = KeyState::Executing {
                    started: Box::new(started),
                };
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Err(Error::not_found(format!(
                "idempotency key {key} was never claimed"
            ))),
        }
    }

    async fn state(&self, tenant: &TenantId, key: &IdempotencyKey) -> Result<Option<KeyState>> {
        Ok(self
            .keys
            .lock()
            .get(&(tenant.clone(), key.clone()))
            .map(|(_, state)| state.clone()))
    }

    async fn release(&self, tenant: &TenantId, key: &IdempotencyKey) -> Result<bool> {
        let mut keys = self.keys.lock();
        let id = (tenant.clone(), key.clone());
        if matches!(keys.get(&id), Some((_, KeyState::InFlight))) {
            keys.remove(&id);
            return Ok(true);
        }
        Ok(false)
    }

    async fn insert_approval(&self, approval: &Approval) -> Result<()> {
        match self.approvals.lock().entry(approval.id) {
            std::collections::hash_map::Entry::Occupied(_) => Err(Error::conflict(format!(
                "approval {} already exists",
                approval.id
            ))),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(approval.clone());
                Ok(())
            }
        }
    }

    async fn resolve_approval(&self, id: ApprovalId, to: ApprovalStatus) -> Result<Transition> {
        let mut approvals = self.approvals.lock();
        let approval = approvals
            .get_mut(&id)
            .ok_or_else(|| Error::not_found(format!("no approval {id}")))?;
        if approval.status != ApprovalStatus::Pending {
            return Ok(Transition::AlreadyResolved(approval.clone()));
        }
        approval.status = to;
        Ok(Transition::Done(approval.clone()))
    }

    async fn approval(&self, id: ApprovalId) -> Result<Option<Approval>> {
        Ok(self.approvals.lock().get(&id).cloned())
    }

    async fn pending_approvals(
        &self,
        tenant: &TenantId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Approval>> {
        let mut pending: Vec<Approval> = self
            .approvals
            .lock()
            .values()
            .filter(|a| &a.tenant == tenant && a.status == ApprovalStatus::Pending)
            .filter(|a| a.expires > now)
            .cloned()
            .collect();
        pending.sort_by_key(|a| a.created);
        Ok(pending)
    }

    async fn reserve(
        &self,
        tenant: &TenantId,
        caps: &[CapLimit],
        now: DateTime<Utc>,
    ) -> Result<Reservation> {
        let mut ledger = self.caps.lock();
        for cap in caps {
            let window = window_of(cap);
            let slots = ledger.entry((tenant.clone(), cap.id.clone())).or_default();
            while slots
                .front()
                .is_some_and(|(at, _)| now.signed_duration_since(*at) >= window)
            {
                slots.pop_front();
            }
            if slots.len() >= cap.max as usize {
                return Ok(Reservation::Full(cap.clone()));
            }
        }
        let id = ReservationId(uuid::Uuid::new_v4());
        for cap in caps {
            ledger
                .entry((tenant.clone(), cap.id.clone()))
                .or_default()
                .push_back((now, id));
        }
        Ok(Reservation::Granted(id))
    }

    async fn release_reservation(&self, tenant: &TenantId, id: ReservationId) -> Result<()> {
        for ((t, _), slots) in self.caps.lock().iter_mut() {
            if t == tenant {
                slots.retain(|(_, r)| *r != id);
            }
        }
        Ok(())
    }
}

/// A cap's sliding window.
fn window_of(cap: &CapLimit) -> ChronoDuration {
    ChronoDuration::seconds(i64::try_from(cap.window_seconds).unwrap_or(i64::MAX))
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
    in_doubt_after: ChronoDuration,
    staff: Arc<dyn StaffDirectory>,
}

impl EngineBuilder {
    /// Use this store instead of memory.
    pub fn store(mut self, store: Arc<dyn EngineStore>) -> Self {
        self.store = store;
        self
    }

    /// Use this staff directory: the source of technicians' and approvers' roles (default:
    /// empty, so no technician may act and nobody may approve until it is given).
    pub fn staff(mut self, staff: Arc<dyn StaffDirectory>) -> Self {
        self.staff = staff;
        self
    }

    /// Use this clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Add an action beyond the built-in ones (available to every tenant). An id already taken
    /// is an error.
    pub fn action(mut self, action: Arc<dyn Action>) -> Result<Self> {
        self.actions.insert(action)?;
        Ok(self)
    }

    /// How long an approval waits before it expires (default 24 hours).
    pub fn approval_ttl(mut self, ttl: ChronoDuration) -> Self {
        self.approval_ttl = ttl;
        self
    }

    /// How long an execution may run without recording a result before a retry of the same key
    /// treats it as in doubt (a crash between the vendor call and the record). Default 15
    /// minutes; until then a retry answers "in progress".
    pub fn in_doubt_after(mut self, after: ChronoDuration) -> Self {
        self.in_doubt_after = after;
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
                in_doubt_after: self.in_doubt_after,
                staff: self.staff,
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
    in_doubt_after: ChronoDuration,
    staff: Arc<dyn StaffDirectory>,
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
            in_doubt_after: ChronoDuration::minutes(15),
            staff: Arc::new(MemoryStaffDirectory::new()),
        }
    }

    /// Enable a tenant with its connectors. The tenant's catalog is the built-in actions plus
    /// the vendor-specific actions of its connectors; a connector action whose id is already
    /// taken (by a built-in or another connector) is refused, and the tenant is not added.
    pub fn add_tenant(&self, tenant: Tenant, connectors: ConnectorSet) -> Result<()> {
        if tenant.id != *connectors.tenant() {
            return Err(Error::invalid(format!(
                "tenant {} was given the connectors of tenant {}",
                tenant.id,
                connectors.tenant()
            )));
        }
        let mut actions = self.inner.actions.clone();
        for connector in connectors.all() {
            for action in connector.actions() {
                actions.insert(action).map_err(|e| {
                    e.with_context("connector", connector.info().vendor.as_str())
                        .with_context("tenant", tenant.id.as_str())
                })?;
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
        Ok(())
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

    /// The tenant's connectors, read-only (for intake, triage and reporting). Every change
    /// goes through [`submit`](Self::submit).
    pub fn connectors(&self, tenant: &TenantId) -> Result<ConnectorReads> {
        Ok(self.tenant(tenant)?.context.reads())
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

    /// What would happen to a request, with nothing executed: the requester resolved through
    /// the staff directory as [`submit`](Self::submit) does, the plan (audited like any plan),
    /// and the policy's decision on it, audited as [`AuditKind::Previewed`]. No idempotency key
    /// is claimed, no cap slot reserved and no approval asked for, so a later `submit` may
    /// still be denied by a cap that filled meanwhile (ADR 0010).
    pub async fn preview(&self, request: &ActionRequest) -> Result<(Plan, Decision)> {
        let entry = self.tenant(&request.tenant)?;
        let action = Self::action(&entry, &request.action)?;
        let mut request = request.clone();
        request.requester = self.resolve_requester(&entry.tenant, &request.requester)?;
        let plan = self.plan_with(&entry, action.as_ref(), &request).await?;
        let decision = self.decide(&entry, action.as_ref(), Operation::Execute, &request, &plan);
        self.audit(
            AuditKind::Previewed,
            &request,
            &request.requester.id,
            serde_json::json!({ "decision": decision }),
        )
        .await?;
        Ok((plan, decision))
    }

    /// The staff member `id` as the engine sees them in `tenant`: the directory's kind, roles
    /// and groups there (`None` when the directory does not know them). An unknown tenant is
    /// an error.
    pub fn staff_principal(&self, tenant: &TenantId, id: &str) -> Result<Option<Principal>> {
        let entry = self.tenant(tenant)?;
        Ok(self.inner.staff.member(id).map(|member| {
            member.principal_in(
                &entry.tenant,
                &Principal::new(member.kind, member.id.clone()),
            )
        }))
    }

    /// Submit a request: plan, decide, and execute if allowed; or wait for approval; or deny.
    pub async fn submit(&self, mut request: ActionRequest) -> Result<Submission> {
        let entry = self.tenant(&request.tenant)?;
        let action = Self::action(&entry, &request.action)?;
        request.requester = self.resolve_requester(&entry.tenant, &request.requester)?;
        let key = request.idempotency_key.clone();
        match self
            .inner
            .store
            .claim(&request.tenant, &key, &fingerprint(&request))
            .await?
        {
            Claim::New => {}
            Claim::Seen(KeyState::Pending { approval }) => {
                return self
                    .pending_or_granted(&entry, action.as_ref(), request, approval)
                    .await;
            }
            Claim::Seen(state) => return self.replay(state).await,
        }
        self.submit_claimed(&entry, action.as_ref(), request).await
    }

    /// Submit a request again on behalf of the owner of its work, after every earlier attempt
    /// on its key is gone: a durable runner resuming a run after a crash, holding the run's
    /// lease. Where [`submit`](Self::submit) answers "in progress" and waits, this settles:
    ///
    /// - a key left claimed (the earlier attempt died before anything ran) is decided again,
    ///   and an approval that attempt already asked for is the one waited on, not a second;
    /// - a key left executing (the attempt died during or after the vendor call) is settled at
    ///   once by reading the target back, and never executed again;
    /// - anything else answers as a duplicate, as `submit` does.
    ///
    /// A caller wrong about the earlier attempt being gone loses nothing: execution begins only
    /// by compare-and-swap ([`EngineStore::begin`]), so two attempts never both execute, and
    /// a read-back only settles a key as executed when the target shows the change.
    pub async fn resume(&self, mut request: ActionRequest) -> Result<Submission> {
        let entry = self.tenant(&request.tenant)?;
        let action = Self::action(&entry, &request.action)?;
        request.requester = self.resolve_requester(&entry.tenant, &request.requester)?;
        let key = request.idempotency_key.clone();
        match self
            .inner
            .store
            .claim(&request.tenant, &key, &fingerprint(&request))
            .await?
        {
            Claim::New | Claim::Seen(KeyState::InFlight) => {}
            Claim::Seen(KeyState::Executing { started }) => {
                let reason = format!(
                    "execution began at {} and the attempt that began it is gone",
                    started.at
                );
                return self.settle_in_doubt(*started, reason).await;
            }
            Claim::Seen(KeyState::Pending { approval }) => {
                return self
                    .pending_or_granted(&entry, action.as_ref(), request, approval)
                    .await;
            }
            Claim::Seen(state) => return self.replay(state).await,
        }
        let now = self.inner.clock.now();
        let asked = self
            .inner
            .store
            .pending_approvals(&request.tenant, now)
            .await?
            .into_iter()
            .find(|a| a.request.idempotency_key == key);
        if let Some(approval) = asked {
            self.settle(
                &request,
                KeyState::Pending {
                    approval: approval.id,
                },
            )
            .await?;
            return Ok(Submission::PendingApproval(Box::new(approval)));
        }
        self.submit_claimed(&entry, action.as_ref(), request).await
    }

    /// The requester as the engine acts on them. A technician must be in the staff directory,
    /// and gets the directory's roles in this tenant; anyone else keeps only their kind and
    /// identity (roles and groups claimed in the request are dropped), unless the directory
    /// knows them as a client approver.
    fn resolve_requester(&self, tenant: &Tenant, claimed: &Principal) -> Result<Principal> {
        let known = self.inner.staff.member(&claimed.id);
        match (claimed.kind, known) {
            (PrincipalKind::Technician, Some(member))
                if member.kind == PrincipalKind::Technician =>
            {
                Ok(member.principal_in(tenant, claimed))
            }
            (PrincipalKind::Technician, _) => Err(Error::forbidden(format!(
                "{} is not a technician in the staff directory; a technician's identity and \
                 roles come from the directory, never from the request",
                claimed.id
            ))),
            (PrincipalKind::EndUser, Some(member)) if member.kind == PrincipalKind::EndUser => {
                Ok(member.principal_in(tenant, claimed))
            }
            _ => Ok(Principal {
                roles: Vec::new(),
                groups: Vec::new(),
                ..claimed.clone()
            }),
        }
    }

    /// A request failed with its key claimed. Before execution began nothing was decided or
    /// changed, so the key is released and the caller may retry. A key whose execution began is
    /// not this function's to touch: [`run`](Self::run) settles its own in doubt, and a key
    /// another attempt moved belongs to that attempt.
    async fn after_failure(&self, request: &ActionRequest) {
        let (tenant, key) = (&request.tenant, &request.idempotency_key);
        if let Err(release_err) = self.inner.store.release(tenant, key).await {
            tracing::warn!(%key, error = %release_err, "could not release an idempotency key");
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
            KeyState::Executing { started } => {
                let age = self.inner.clock.now() - started.at;
                if age < self.inner.in_doubt_after {
                    return Err(Error::conflict(
                        "a request with this idempotency key is being executed",
                    )
                    .temporary());
                }
                let reason = format!(
                    "execution began at {} and never recorded a result",
                    started.at
                );
                return self.settle_in_doubt(*started, reason).await;
            }
            KeyState::InDoubt { started, reason } => {
                return self.settle_in_doubt(*started, reason).await;
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

    /// A key whose execution may or may not have reached the vendor: read the target back. If
    /// it is already in the requested state, the execution happened and the key is settled as
    /// executed; otherwise nothing is executed again and a person must look.
    async fn settle_in_doubt(&self, started: Started, reason: String) -> Result<Submission> {
        let entry = self.tenant(&started.request.tenant)?;
        let action = Self::action(&entry, &started.request.action)?;
        let shown = match started.operation {
            Operation::Execute => {
                action
                    .read_back(&entry.context, &started.request, &started.plan)
                    .await
            }
            Operation::Undo => Ok(None),
        };
        let request = started.request.clone();
        match shown {
            Ok(Some(state_after)) => {
                let outcome = Outcome {
                    changes: started.plan.changes.clone(),
                    state_before: started.plan.state_before.clone(),
                    state_after,
                    ..Outcome::new(StepStatus::Verified)
                }
                .with_message("Done (confirmed by reading the target back).");
                self.audit(
                    AuditKind::ExecutionSucceeded,
                    &request,
                    "system",
                    serde_json::json!({
                        "settled_by_read_back": true,
                        "was_in_doubt": reason,
                        "state_after": outcome.state_after,
                    }),
                )
                .await?;
                let receipt = Receipt {
                    operation: started.operation,
                    request,
                    plan: started.plan,
                    decision: started.decision,
                    approved_by: started.approved_by,
                    outcome,
                    failure: None,
                };
                self.settle(
                    &receipt.request,
                    KeyState::Executed {
                        receipt: Box::new(receipt.clone()),
                    },
                )
                .await?;
                Ok(Submission::Duplicate(Box::new(Submission::Executed(
                    Box::new(receipt),
                ))))
            }
            not_shown => {
                // A read-back that fails (the vendor is down, say) confirms nothing: the key
                // stays in doubt and the next attempt reads again.
                let seen = match not_shown {
                    Err(e) => format!("the target could not be read back ({e})"),
                    Ok(_) => "the target does not show the change".to_string(),
                };
                self.settle(
                    &request,
                    KeyState::InDoubt {
                        started: Box::new(started),
                        reason: reason.clone(),
                    },
                )
                .await?;
                Err(Error::conflict(format!(
                    "request {} is in doubt ({reason}); {seen}, so it is not executed again: a \
                     person must check it and settle it",
                    request.idempotency_key
                )))
            }
        }
    }

    /// Plan, decide and carry out a request whose key this caller holds; on failure before
    /// execution began, the key is released for a retry.
    async fn submit_claimed(
        &self,
        entry: &TenantEntry,
        action: &dyn Action,
        request: ActionRequest,
    ) -> Result<Submission> {
        let result = self
            .decide_and_carry_out(entry, action, request.clone())
            .await;
        if result.is_err() {
            self.after_failure(&request).await;
        }
        result
    }

    async fn decide_and_carry_out(
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
            Effect::Deny => Ok(Submission::Denied(
                self.settle_denied(&request, decision).await?,
            )),
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
                let caps = decision.caps.clone();
                self.run_within_caps(
                    entry,
                    action,
                    operation,
                    request,
                    plan,
                    decision,
                    &caps,
                    (BeginFrom::Claimed, None),
                )
                .await
            }
        }
    }

    /// Reserve the decision's cap slots, atomically with the check, then run; a full cap
    /// denies, naming the cap. The slots are given back when nothing ran (a no-op plan).
    #[allow(clippy::too_many_arguments)]
    async fn run_within_caps(
        &self,
        entry: &TenantEntry,
        action: &dyn Action,
        operation: Operation,
        request: ActionRequest,
        plan: Plan,
        decision: Decision,
        caps: &[CapLimit],
        (from, approved_by): (BeginFrom, Option<String>),
    ) -> Result<Submission> {
        let now = self.inner.clock.now();
        let reservation = match self.inner.store.reserve(&request.tenant, caps, now).await? {
            Reservation::Granted(id) => id,
            Reservation::Full(cap) => {
                let denial = Decision::deny(
                    cap.id.clone(),
                    format!(
                        "volume cap {} reached: at most {} in {} seconds",
                        cap.id, cap.max, cap.window_seconds
                    ),
                );
                let actor = approved_by.as_deref().unwrap_or(&request.requester.id);
                self.audit(
                    AuditKind::Decided,
                    &request,
                    actor,
                    serde_json::to_value(&denial)?,
                )
                .await?;
                return Ok(Submission::Denied(
                    self.settle_denied(&request, denial).await?,
                ));
            }
        };
        if plan.is_noop() && operation == Operation::Execute {
            self.inner
                .store
                .release_reservation(&request.tenant, reservation)
                .await?;
        }
        let started = Started {
            operation,
            request: request.clone().without_secrets(),
            plan: plan.clone(),
            decision: decision.clone(),
            approved_by,
            at: self.inner.clock.now(),
        };
        // From here on the vendor may be called: the key is never released again.
        self.begin(&request, from, started.clone(), reservation)
            .await?;
        let receipt = self
            .run(entry, action, operation, request, plan, decision, started)
            .await?;
        Ok(Submission::Executed(Box::new(receipt)))
    }

    /// Record the request's key as denied; answers with the denial.
    async fn settle_denied(&self, request: &ActionRequest, decision: Decision) -> Result<Decision> {
        self.settle(
            request,
            KeyState::Denied {
                decision: decision.clone(),
            },
        )
        .await?;
        Ok(decision)
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
        self.inner.store.insert_approval(&approval).await?;
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

    /// Move the key from `from` to executing (compare-and-swap). An attempt that loses calls
    /// nothing and answers "in progress"; its cap slots go back.
    async fn begin(
        &self,
        request: &ActionRequest,
        from: BeginFrom,
        started: Started,
        reservation: ReservationId,
    ) -> Result<()> {
        let (tenant, key) = (&request.tenant, &request.idempotency_key);
        if self.inner.store.begin(tenant, key, from, started).await? {
            return Ok(());
        }
        self.inner
            .store
            .release_reservation(tenant, reservation)
            .await?;
        Err(Error::conflict(format!(
            "request {key} is already being executed by another attempt"
        ))
        .temporary())
    }

    /// Execute (or undo) with a proof, auditing before and after; stores the receipt. The key
    /// is executing (see [`begin`](Self::begin)) and is never released again: a failure to
    /// record the result leaves it in doubt.
    #[allow(clippy::too_many_arguments)]
    async fn run(
        &self,
        entry: &TenantEntry,
        action: &dyn Action,
        operation: Operation,
        request: ActionRequest,
        plan: Plan,
        decision: Decision,
        started: Started,
    ) -> Result<Receipt> {
        let approved_by = started.approved_by.clone();
        match self
            .run_begun(
                entry,
                action,
                operation,
                request.clone(),
                plan,
                decision,
                approved_by,
            )
            .await
        {
            Ok(receipt) => Ok(receipt),
            Err(err) => {
                let reason = format!("the result could not be recorded: {}", err.message());
                // Best effort: if the store is what failed, a retry finds `Executing` and
                // treats it as in doubt once it is stale.
                let in_doubt = KeyState::InDoubt {
                    started: Box::new(started),
                    reason,
                };
                let _ = self
                    .inner
                    .store
                    .settle(&request.tenant, &request.idempotency_key, in_doubt)
                    .await;
                Err(err)
            }
        }
    }

    /// The body of [`run`](Self::run), once the key is executing.
    #[allow(clippy::too_many_arguments)]
    async fn run_begun(
        &self,
        entry: &TenantEntry,
        action: &dyn Action,
        operation: Operation,
        request: ActionRequest,
        plan: Plan,
        decision: Decision,
        approved_by: Option<String>,
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
        let actor = approved_by
            .clone()
            .unwrap_or_else(|| request.requester.id.clone());
        self.audit(
            started,
            &request,
            &actor,
            serde_json::json!({
                "rule": decision.rule,
                "approved_by": approved_by,
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
            // The proof lives for this call only: it borrows the request and plan and is
            // dropped when the action returns.
            let proof = ExecutionProof::issue(
                &request,
                &plan,
                operation,
                decision.rule.as_str(),
                approved_by.as_deref(),
            );
            match operation {
                Operation::Execute => action.execute(&entry.context, &proof).await,
                Operation::Undo => action.undo(&entry.context, &proof).await,
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
            approved_by,
            // Secret parameters served this execution; no receipt keeps them.
            request: request.without_secrets(),
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

    /// Pending approvals of a tenant (expired ones are not listed).
    pub async fn pending_approvals(&self, tenant: &TenantId) -> Result<Vec<Approval>> {
        self.inner
            .store
            .pending_approvals(tenant, self.inner.clock.now())
            .await
    }

    async fn load_approval(&self, id: ApprovalId) -> Result<Approval> {
        self.inner
            .store
            .approval(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("no approval {id}")))
    }

    /// Check that `approver` may answer `approval`; refusals are audited.
    ///
    /// The approver's authority comes from the staff directory, in the approval's tenant: the
    /// roles and groups the caller puts on `approver` are ignored.
    async fn check_authority(&self, approval: &Approval, approver: &Principal) -> Result<()> {
        let requester = &approval.request.requester;
        let tenant = self.tenant(&approval.tenant)?.tenant.clone();
        let known = self.inner.staff.member(&approver.id);
        let problem = if approver.kind == PrincipalKind::Agent
            || known
                .as_ref()
                .is_some_and(|m| m.kind == PrincipalKind::Agent)
        {
            Some(Error::forbidden(format!(
                "{} is an agent: agents never approve",
                approver.id
            )))
        } else if known.is_none() {
            Some(Error::forbidden(format!(
                "{} is not in the staff directory, so has no authority to approve; add them \
                 (with the roles they hold, per tenant) to the directory the engine is built with",
                approver.id
            )))
        } else if approver.id.eq_ignore_ascii_case(&requester.id)
            || requester
                .idp_login
                .as_deref()
                .is_some_and(|l| approver.is_login(l))
        {
            Some(Error::forbidden(format!(
                "self-approval refused: {} requested this",
                requester.id
            )))
        } else if !known.as_ref().is_some_and(|member| {
            let authority = member.principal_in(&tenant, approver);
            approval.approvers.iter().any(|a| a.admits(&authority))
        }) {
            Some(Error::forbidden(format!(
                "{} may not approve this in tenant {}: rule {} requires one of {}",
                approver.id,
                tenant.id,
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

    /// Expire the approval if its time is up (compare-and-swap: only a pending one expires).
    /// Returns the approval as it now stands when it is no longer pending.
    async fn expire_if_due(&self, approval: &Approval) -> Result<Option<Approval>> {
        let now = self.inner.clock.now();
        if now < approval.expires {
            return Ok(None);
        }
        match self
            .inner
            .store
            .resolve_approval(approval.id, ApprovalStatus::Expired { at: now })
            .await?
        {
            Transition::Done(expired) => {
                self.audit(
                    AuditKind::ApprovalExpired,
                    &expired.request,
                    "system",
                    serde_json::json!({ "approval": expired.id }),
                )
                .await?;
                let decision = Decision::deny(expired.decision.rule.clone(), "approval expired");
                self.settle_denied(&expired.request, decision).await?;
                Ok(Some(expired))
            }
            Transition::AlreadyResolved(other) => Ok(Some(other)),
        }
    }

    /// Move a pending approval to `to`. `None` when this caller won; otherwise the answer to
    /// give, from whoever resolved it first.
    async fn resolve_first(
        &self,
        id: ApprovalId,
        to: ApprovalStatus,
    ) -> Result<Option<Result<Submission>>> {
        match self.inner.store.resolve_approval(id, to).await? {
            Transition::Done(_) => Ok(None),
            Transition::AlreadyResolved(other) => Ok(Some(self.resolved_answer(&other).await)),
        }
    }

    /// What to answer for an approval someone else already resolved.
    async fn resolved_answer(&self, approval: &Approval) -> Result<Submission> {
        match &approval.status {
            ApprovalStatus::Approved { .. } => match self
                .inner
                .store
                .state(&approval.tenant, &approval.request.idempotency_key)
                .await?
            {
                Some(state) => self.replay(state).await,
                None => Err(Error::conflict(format!(
                    "approval {} was approved but its result is missing",
                    approval.id
                ))),
            },
            ApprovalStatus::Denied { by, reason, .. } => Err(Error::conflict(format!(
                "approval {} was already denied by {by}: {reason}",
                approval.id
            ))),
            ApprovalStatus::Expired { at } => Err(Error::conflict(format!(
                "approval {} expired at {at}",
                approval.id
            ))),
            ApprovalStatus::Pending => Err(Error::conflict(format!(
                "approval {} is still pending",
                approval.id
            ))),
        }
    }

    /// Approve and execute. Exactly one of any number of concurrent approvals and denials wins
    /// (a compare-and-swap on the approval's state); the others answer with what happened.
    ///
    /// The approver approves what they were shown: the request is planned again, and if the
    /// fresh plan reaches further than the approved one (another target, a change not shown)
    /// the approval is superseded by a new one for the fresh plan, and nothing runs.
    pub async fn approve(&self, id: ApprovalId, approver: &Principal) -> Result<Submission> {
        let approval = self.load_approval(id).await?;
        if approval.status != ApprovalStatus::Pending {
            return self.resolved_answer(&approval).await;
        }
        if let Some(resolved) = self.expire_if_due(&approval).await? {
            return self.resolved_answer(&resolved).await;
        }
        self.check_authority(&approval, approver).await?;
        let entry = self.tenant(&approval.tenant)?;
        let action = Self::action(&entry, &approval.request.action)?;
        let request = approval.request.clone();
        if approval.operation == Operation::Execute
            && !action.spec().secret_params.is_empty()
            && request.secrets.is_empty()
        {
            return self.grant_for_owner(&approval, approver).await;
        }

        // The world may have moved since the approval was asked for: plan again so undo
        // restores the real state before, and decide again so a new deny still wins.
        let (plan, caps) = match approval.operation {
            Operation::Execute => {
                let plan = self.plan_with(&entry, action.as_ref(), &request).await?;
                let decision =
                    self.decide(&entry, action.as_ref(), Operation::Execute, &request, &plan);
                if decision.is_deny() {
                    return self.deny_at_approval(&approval, approver, decision).await;
                }
                if let Some(why) = reaches_further(&approval.plan, &plan) {
                    return self.supersede(&approval, approver, plan, why).await;
                }
                // Caps are counted when the work runs, as the policy stands now.
                (plan, decision.caps)
            }
            Operation::Undo => (approval.plan.clone(), approval.decision.caps.clone()),
        };

        let approved = ApprovalStatus::Approved {
            by: approver.id.clone(),
            at: self.inner.clock.now(),
        };
        if let Some(lost) = self.resolve_first(id, approved).await? {
            return lost;
        }
        self.audit(
            AuditKind::ApprovalGranted,
            &request,
            &approver.id,
            serde_json::json!({ "approval": id }),
        )
        .await?;
        let result = self
            .run_within_caps(
                &entry,
                action.as_ref(),
                approval.operation,
                request.clone(),
                plan,
                approval.decision.clone(),
                &caps,
                (BeginFrom::Approved(id), Some(approver.id.clone())),
            )
            .await;
        match result {
            Ok(submission) => Ok(submission),
            Err(err) => {
                self.after_failure(&request).await;
                Err(err)
            }
        }
    }

    /// An approval of a request whose secret parameters storage never keeps (a password to
    /// store, a secret to enclose): it cannot run from here, so it is granted and left to its
    /// owner, the run that asked and still holds the secrets, which executes it when it submits
    /// the request again ([`pending_or_granted`](Self::pending_or_granted)), planning and
    /// deciding again then as an approval does.
    async fn grant_for_owner(
        &self,
        approval: &Approval,
        approver: &Principal,
    ) -> Result<Submission> {
        let approved = ApprovalStatus::Approved {
            by: approver.id.clone(),
            at: self.inner.clock.now(),
        };
        if let Some(lost) = self.resolve_first(approval.id, approved).await? {
            return lost;
        }
        self.audit(
            AuditKind::ApprovalGranted,
            &approval.request,
            &approver.id,
            serde_json::json!({ "approval": approval.id, "executed_by": "its owner" }),
        )
        .await?;
        let granted = self.load_approval(approval.id).await?;
        Ok(Submission::PendingApproval(Box::new(granted)))
    }

    /// A key waiting on approval `id`, submitted again. Still pending (or denied, or
    /// expired): the earlier answer. Granted for its owner ([`grant_for_owner`]) and not run
    /// yet: this submission, which carries what storage could not keep, executes it, after
    /// planning and deciding again (a deny now wins; a target that moved further than the
    /// approver saw is refused, to be asked again).
    async fn pending_or_granted(
        &self,
        entry: &TenantEntry,
        action: &dyn Action,
        request: ActionRequest,
        id: ApprovalId,
    ) -> Result<Submission> {
        let approval = self.load_approval(id).await?;
        let ApprovalStatus::Approved { by, .. } = &approval.status else {
            return self.replay(KeyState::Pending { approval: id }).await;
        };
        if approval.operation != Operation::Execute {
            return self.replay(KeyState::Pending { approval: id }).await;
        }
        let plan = self.plan_with(entry, action, &request).await?;
        let decision = self.decide(entry, action, Operation::Execute, &request, &plan);
        if decision.is_deny() {
            self.settle(
                &request,
                KeyState::Denied {
                    decision: decision.clone(),
                },
            )
            .await?;
            return Ok(Submission::Denied(decision));
        }
        if let Some(why) = reaches_further(&approval.plan, &plan) {
            return Err(Error::conflict(format!(
                "approval {id} was granted for less than the request would now change ({why}); \
                 ask for it again"
            )));
        }
        let result = self
            .run_within_caps(
                entry,
                action,
                Operation::Execute,
                request.clone(),
                plan,
                approval.decision.clone(),
                &decision.caps,
                (BeginFrom::Approved(id), Some(by.clone())),
            )
            .await;
        if result.is_err() {
            self.after_failure(&request).await;
        }
        result
    }

    /// The policy now denies what was waiting for approval: the approval ends denied.
    async fn deny_at_approval(
        &self,
        approval: &Approval,
        approver: &Principal,
        decision: Decision,
    ) -> Result<Submission> {
        let denied = ApprovalStatus::Denied {
            by: "policy".into(),
            at: self.inner.clock.now(),
            reason: decision.reason.clone(),
        };
        if let Some(lost) = self.resolve_first(approval.id, denied).await? {
            return lost;
        }
        self.audit(
            AuditKind::Decided,
            &approval.request,
            &approver.id,
            serde_json::to_value(&decision)?,
        )
        .await?;
        Ok(Submission::Denied(
            self.settle_denied(&approval.request, decision).await?,
        ))
    }

    /// The fresh plan reaches further than the approved one: end the old approval and ask
    /// again for the fresh plan.
    async fn supersede(
        &self,
        approval: &Approval,
        approver: &Principal,
        plan: Plan,
        why: String,
    ) -> Result<Submission> {
        let superseded = ApprovalStatus::Denied {
            by: "stackhand".into(),
            at: self.inner.clock.now(),
            reason: format!("superseded: {why}"),
        };
        if let Some(lost) = self.resolve_first(approval.id, superseded).await? {
            return lost;
        }
        self.audit(
            AuditKind::ApprovalRefused,
            &approval.request,
            &approver.id,
            serde_json::json!({
                "approval": approval.id,
                "superseded": why,
            }),
        )
        .await?;
        let fresh = self
            .request_approval(
                approval.operation,
                approval.request.clone(),
                plan,
                approval.decision.clone(),
                approval.approvers.clone(),
            )
            .await?;
        self.settle(&approval.request, KeyState::Pending { approval: fresh.id })
            .await?;
        Ok(Submission::PendingApproval(Box::new(fresh)))
    }

    /// Refuse an approval. The approver must have authority (the requester may also withdraw).
    /// Like [`approve`](Self::approve), it wins only if the approval is still pending.
    pub async fn deny(
        &self,
        id: ApprovalId,
        approver: &Principal,
        reason: &str,
    ) -> Result<Decision> {
        let approval = self.load_approval(id).await?;
        let denial = |approval: &Approval| {
            Decision::deny(
                approval.decision.rule.clone(),
                format!("denied by approver: {reason}"),
            )
        };
        match &approval.status {
            ApprovalStatus::Denied { .. } => return Ok(denial(&approval)),
            ApprovalStatus::Pending => {}
            _ => {
                return Err(Error::conflict(format!(
                    "approval {id} is no longer pending"
                )));
            }
        }
        let withdrawing = approver
            .id
            .eq_ignore_ascii_case(&approval.request.requester.id);
        if !withdrawing {
            self.check_authority(&approval, approver).await?;
        }
        let denied = ApprovalStatus::Denied {
            by: approver.id.clone(),
            at: self.inner.clock.now(),
            reason: reason.to_string(),
        };
        match self.inner.store.resolve_approval(id, denied).await? {
            Transition::Done(_) => {}
            Transition::AlreadyResolved(other) => {
                return match other.status {
                    ApprovalStatus::Denied { .. } => Ok(denial(&other)),
                    _ => Err(Error::conflict(format!(
                        "approval {id} is no longer pending"
                    ))),
                };
            }
        }
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
        let decision = denial(&approval);
        self.settle_denied(&approval.request, decision).await
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
        let requester = self.resolve_requester(&entry.tenant, &requester)?;
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
        let undo_request = request.clone();
        let result = self
            .carry_out(
                &entry,
                action.as_ref(),
                Operation::Undo,
                request,
                plan,
                decision,
            )
            .await;
        if result.is_err() {
            self.after_failure(&undo_request).await;
        }
        result
    }

    /// A tenant's audit trail.
    pub async fn audit_trail(&self, tenant: &TenantId) -> Result<Vec<crate::audit::AuditEvent>> {
        self.inner.audit.events(tenant).await
    }
}

/// Why `fresh` reaches further than `approved`, if it does: another target, or a change the
/// approver was not shown. Fewer changes (some already made) is not further.
fn reaches_further(approved: &Plan, fresh: &Plan) -> Option<String> {
    if approved.facts.login != fresh.facts.login {
        return Some(format!(
            "the target is now {:?}, the approver was shown {:?}",
            fresh.facts.login, approved.facts.login
        ));
    }
    let shown = |c: &crate::model::Change| {
        approved
            .changes
            .iter()
            .any(|a| a.resource == c.resource && a.field == c.field && a.to == c.to)
    };
    fresh.changes.iter().find(|c| !shown(c)).map(|c| {
        format!(
            "the plan now also changes {} of {} to {}, which the approver was not shown",
            c.field,
            c.resource,
            c.to.as_ref()
                .map_or_else(|| "nothing".into(), |v| v.to_string())
        )
    })
}
