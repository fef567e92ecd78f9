//! Approvals, idempotency keys and plans under concurrency and failure.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use stackhand_core::approval::{Approval, ApprovalId, ApprovalStatus};
use stackhand_core::audit::MemoryAuditSink;
use stackhand_core::directory::{MemoryStaffDirectory, RoleScope, StaffMember};
use stackhand_core::engine::{
    BeginFrom, Claim, Engine, EngineStore, KeyState, ManualClock, MemoryStore, Reservation,
    ReservationId, Started, Transition,
};
use stackhand_core::memory::MemoryConnector;
use stackhand_core::policy::{Approver, CapLimit, Decision, DecisionInput, Effect, Policy, RuleId};
use stackhand_core::*;

/// Every action needs a lead's approval; a second rule allows what the test says.
struct Rules {
    allow: &'static [&'static str],
}

impl Policy for Rules {
    fn decide(&self, input: &DecisionInput<'_>) -> Decision {
        let effect = if self.allow.contains(&input.request.action.as_str()) {
            Effect::Allow
        } else {
            Effect::RequireApproval {
                approvers: vec![Approver::Role("msp.lead".into())],
            }
        };
        Decision::new(effect, RuleId::new("test-rule"), "test")
    }
}

/// The memory store, yielding before every call so concurrent tasks really interleave, and
/// optionally failing to record one executed result (a crash between vendor call and record).
#[derive(Default)]
struct Store {
    inner: MemoryStore,
    fail_next_executed: AtomicBool,
    /// Fail the next executed result and every write after it until cleared: a runner killed
    /// between the vendor call and the record, its key left executing.
    crash_at_next_result: AtomicBool,
    down: AtomicBool,
    /// Never answer the next claim once it is made: an attempt that dies holding its key.
    hang_after_claim: AtomicBool,
}

#[async_trait]
impl EngineStore for Store {
    async fn claim(&self, t: &TenantId, k: &IdempotencyKey, f: &str) -> Result<Claim> {
        tokio::task::yield_now().await;
        let claim = self.inner.claim(t, k, f).await;
        if self.hang_after_claim.swap(false, Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        claim
    }
    async fn settle(&self, t: &TenantId, k: &IdempotencyKey, state: KeyState) -> Result<()> {
        tokio::task::yield_now().await;
        let executed = matches!(state, KeyState::Executed { .. });
        if executed && self.crash_at_next_result.swap(false, Ordering::SeqCst) {
            self.down.store(true, Ordering::SeqCst);
        }
        if self.down.load(Ordering::SeqCst)
            || (executed && self.fail_next_executed.swap(false, Ordering::SeqCst))
        {
            return Err(Error::new(ErrorKind::Transient, "the store went away"));
        }
        self.inner.settle(t, k, state).await
    }
    async fn begin(
        &self,
        t: &TenantId,
        k: &IdempotencyKey,
        from: BeginFrom,
        started: Started,
    ) -> Result<bool> {
        tokio::task::yield_now().await;
        self.inner.begin(t, k, from, started).await
    }
    async fn state(&self, t: &TenantId, k: &IdempotencyKey) -> Result<Option<KeyState>> {
        tokio::task::yield_now().await;
        self.inner.state(t, k).await
    }
    async fn release(&self, t: &TenantId, k: &IdempotencyKey) -> Result<bool> {
        tokio::task::yield_now().await;
        self.inner.release(t, k).await
    }
    async fn insert_approval(&self, a: &Approval) -> Result<()> {
        tokio::task::yield_now().await;
        self.inner.insert_approval(a).await
    }
    async fn resolve_approval(&self, id: ApprovalId, to: ApprovalStatus) -> Result<Transition> {
        tokio::task::yield_now().await;
        self.inner.resolve_approval(id, to).await
    }
    async fn approval(&self, id: ApprovalId) -> Result<Option<Approval>> {
        tokio::task::yield_now().await;
        self.inner.approval(id).await
    }
    async fn pending_approvals(&self, t: &TenantId, now: DateTime<Utc>) -> Result<Vec<Approval>> {
        self.inner.pending_approvals(t, now).await
    }
    async fn reserve(
        &self,
        t: &TenantId,
        caps: &[CapLimit],
        now: DateTime<Utc>,
    ) -> Result<Reservation> {
        tokio::task::yield_now().await;
        self.inner.reserve(t, caps, now).await
    }
    async fn release_reservation(&self, t: &TenantId, id: ReservationId) -> Result<()> {
        self.inner.release_reservation(t, id).await
    }
}

struct Fixture {
    engine: Engine,
    memory: MemoryConnector,
    store: Arc<Store>,
    clock: Arc<ManualClock>,
    tenant: TenantId,
}

fn fixture(allow: &'static [&'static str], extra: Option<Arc<dyn Action>>) -> Fixture {
    let tenant = TenantId::new("acme").unwrap();
    let store = Arc::new(Store::default());
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let mut builder = Engine::builder(Arc::new(Rules { allow }), Arc::new(MemoryAuditSink::new()))
        .store(store.clone())
        .clock(clock.clone())
        .staff(staff());
    if let Some(action) = extra {
        builder = builder.action(action).unwrap();
    }
    let engine = builder.build();
    let memory = MemoryConnector::demo(tenant.clone());
    engine
        .add_tenant(
            Tenant::new(tenant.clone(), "Acme"),
            ConnectorSet::new(tenant.clone())
                .with(Arc::new(memory.clone()))
                .unwrap(),
        )
        .unwrap();
    Fixture {
        engine,
        memory,
        store,
        clock,
        tenant,
    }
}

fn request(
    f: &Fixture,
    key: &str,
    action: &'static str,
    params: serde_json::Value,
) -> ActionRequest {
    ActionRequest::new(
        IdempotencyKey::new(key).unwrap(),
        f.tenant.clone(),
        ActionId::from_static(action),
        &params,
        Principal::technician("tech@msp.example", &["msp.tech"]),
    )
    .unwrap()
}

/// The technician who asks, and two MSP leads who may approve anywhere.
fn staff() -> Arc<MemoryStaffDirectory> {
    Arc::new(
        MemoryStaffDirectory::new()
            .with(
                StaffMember::technician("tech@msp.example").role("msp.tech", RoleScope::AllTenants),
            )
            .with(
                StaffMember::technician("lead1@msp.example")
                    .role("msp.lead", RoleScope::AllTenants),
            )
            .with(
                StaffMember::technician("lead2@msp.example")
                    .role("msp.lead", RoleScope::AllTenants),
            )
            .with(StaffMember::technician("copilot").role("msp.lead", RoleScope::AllTenants)),
    )
}

fn lead(n: u32) -> Principal {
    Principal::technician(format!("lead{n}@msp.example"), &["msp.lead"])
}

fn revocations(f: &Fixture) -> usize {
    f.memory.state().revoked_sessions.len()
}

async fn pending_revoke(f: &Fixture, key: &str) -> ApprovalId {
    let answer = f
        .engine
        .submit(request(
            f,
            key,
            "identity.revoke_sessions",
            json!({"user": "jane@acme.example"}),
        ))
        .await
        .unwrap();
    answer.approval().expect("the policy asks for a lead").id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_approvals_execute_once() {
    for round in 0..25 {
        let f = fixture(&[], None);
        let id = pending_revoke(&f, &format!("k{round}")).await;
        let (a, b) = (f.engine.clone(), f.engine.clone());
        let first = tokio::spawn(async move { a.approve(id, &lead(1)).await });
        let second = tokio::spawn(async move { b.approve(id, &lead(2)).await });
        let (first, second) = (first.await.unwrap(), second.await.unwrap());
        assert!(
            first.is_ok() || second.is_ok(),
            "round {round}: neither approval won"
        );
        assert_eq!(
            revocations(&f),
            1,
            "round {round}: executed {} times",
            revocations(&f)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_racing_a_denial_executes_nothing_or_wins_alone() {
    for round in 0..25 {
        let f = fixture(&[], None);
        let id = pending_revoke(&f, &format!("k{round}")).await;
        let (a, b) = (f.engine.clone(), f.engine.clone());
        let approve = tokio::spawn(async move { a.approve(id, &lead(1)).await });
        let deny = tokio::spawn(async move { b.deny(id, &lead(2), "not today").await });
        let (approved, denied) = (approve.await.unwrap(), deny.await.unwrap());
        let executed = approved.as_ref().is_ok_and(|s| s.receipt().is_some());
        assert_ne!(
            executed,
            denied.is_ok(),
            "round {round}: both or neither won"
        );
        assert_eq!(revocations(&f), usize::from(executed), "round {round}");
        let status = f.engine.pending_approvals(&f.tenant).await.unwrap();
        assert!(status.is_empty());
    }
}

#[tokio::test]
async fn expired_approvals_are_not_listed_and_cannot_be_approved() {
    let f = fixture(&[], None);
    let id = pending_revoke(&f, "k1").await;
    assert_eq!(
        f.engine.pending_approvals(&f.tenant).await.unwrap().len(),
        1
    );
    f.clock.advance(Duration::hours(25));
    assert!(
        f.engine
            .pending_approvals(&f.tenant)
            .await
            .unwrap()
            .is_empty()
    );
    let late = f.engine.approve(id, &lead(1)).await.unwrap_err();
    assert_eq!(late.kind(), ErrorKind::Conflict);
    assert!(late.message().contains("expired"), "{late}");
    assert_eq!(revocations(&f), 0);
}

#[tokio::test]
async fn agents_never_approve() {
    let f = fixture(&[], None);
    let id = pending_revoke(&f, "k1").await;
    let mut agent = Principal::agent("copilot");
    agent.roles = vec!["msp.lead".into()];
    let refused = f.engine.approve(id, &agent).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Forbidden);
    assert_eq!(revocations(&f), 0);
}

#[tokio::test]
async fn a_retry_after_a_lost_result_never_executes_again() {
    let f = fixture(&["identity.revoke_sessions"], None);
    f.store.fail_next_executed.store(true, Ordering::SeqCst);
    let req = request(
        &f,
        "k1",
        "identity.revoke_sessions",
        json!({"user": "jane@acme.example"}),
    );
    let lost = f.engine.submit(req.clone()).await.unwrap_err();
    assert_eq!(lost.kind(), ErrorKind::Transient, "{lost}");
    assert_eq!(revocations(&f), 1);

    // The retry cannot tell from the target that sessions were revoked: it does not run again,
    // and says a person must settle it.
    let retry = f.engine.submit(req.clone()).await.unwrap_err();
    assert_eq!(retry.kind(), ErrorKind::Conflict);
    assert!(retry.message().contains("in doubt"), "{retry}");
    assert_eq!(revocations(&f), 1);
    assert!(f.engine.submit(req).await.is_err());
    assert_eq!(revocations(&f), 1);
}

#[tokio::test]
async fn a_retry_after_a_lost_result_settles_by_reading_the_target_back() {
    let f = fixture(&["identity.disable"], None);
    f.store.fail_next_executed.store(true, Ordering::SeqCst);
    let req = request(
        &f,
        "k1",
        "identity.disable",
        json!({"user": "jane@acme.example"}),
    );
    assert!(f.engine.submit(req.clone()).await.is_err());
    assert!(!f.memory.state().users["jane"].enabled);

    let retry = f.engine.submit(req).await.unwrap();
    let receipt = retry.receipt().expect("settled as executed");
    assert_eq!(receipt.outcome.status, StepStatus::Verified);
    assert!(matches!(retry, Submission::Duplicate(_)));
}

#[tokio::test]
async fn a_record_created_by_a_lost_call_is_found_and_not_created_again() {
    let f = fixture(&["psa.create_contact", "identity.create_user"], None);
    let contact = request(
        &f,
        "k1",
        "psa.create_contact",
        json!({"company_id": "1", "first_name": "Laura", "last_name": "Fischer",
               "email": "lfischer@acme.example"}),
    );
    let account = request(
        &f,
        "k2",
        "identity.create_user",
        json!({"login": "lfischer@acme.example", "first_name": "Laura",
               "last_name": "Fischer"}),
    );
    let contacts = || {
        f.memory
            .state()
            .contacts
            .values()
            .filter(|c| c.email.as_deref() == Some("lfischer@acme.example"))
            .count()
    };
    for req in [&contact, &account] {
        f.store.fail_next_executed.store(true, Ordering::SeqCst);
        let lost = f.engine.submit(req.clone()).await.unwrap_err();
        assert_eq!(lost.kind(), ErrorKind::Transient, "{lost}");

        // Planning again would refuse (the record exists); reading back finds it.
        let retry = f.engine.submit(req.clone()).await.unwrap();
        assert!(
            matches!(retry, Submission::Duplicate(_)),
            "{}",
            retry.label()
        );
        let receipt = retry.receipt().expect("settled as executed");
        assert_eq!(receipt.outcome.status, StepStatus::Verified);
        assert!(
            receipt.outcome.state_after["id"].is_string(),
            "{}",
            receipt.outcome.state_after
        );
    }
    let accounts = f
        .memory
        .state()
        .users
        .values()
        .filter(|u| u.login == "lfischer@acme.example")
        .count();
    assert_eq!((contacts(), accounts), (1, 1), "a record was created twice");
}

/// An action whose plan reaches as far as the test says.
struct Growing {
    spec: ActionSpec,
    reach: Arc<AtomicUsize>,
    runs: Arc<AtomicUsize>,
}

#[async_trait]
impl Action for Growing {
    fn spec(&self) -> &ActionSpec {
        &self.spec
    }

    async fn plan(&self, _ctx: &ActionContext, request: &ActionRequest) -> Result<Plan> {
        let mut plan = Plan::new(request.action.clone(), request.tenant.clone(), "grow");
        plan.facts.login = Some("jane@acme.example".into());
        for n in 0..self.reach.load(Ordering::SeqCst) {
            plan.changes.push(Change::new(
                format!("group:g{n}"),
                "members",
                None,
                Some(json!("jane")),
            ));
        }
        Ok(plan)
    }

    async fn execute(&self, _ctx: &ActionContext, _proof: &ExecutionProof<'_>) -> Result<Outcome> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        Ok(Outcome::new(StepStatus::Succeeded))
    }
}

#[tokio::test]
async fn the_approver_executes_what_they_were_shown() {
    let reach = Arc::new(AtomicUsize::new(1));
    let runs = Arc::new(AtomicUsize::new(0));
    let growing = Growing {
        spec: ActionSpec {
            id: ActionId::from_static("test.grow"),
            summary: "adds to as many groups as the world says".into(),
            category: Category::Identity,
            risk: Risk::Medium,
            reversible: false,
            idempotent: false,
            input_schema: json!({"type": "object"}),
            secret_params: Vec::new(),
        },
        reach: reach.clone(),
        runs: runs.clone(),
    };
    let f = fixture(&[], Some(Arc::new(growing)));
    let shown = f
        .engine
        .submit(request(&f, "k1", "test.grow", json!({})))
        .await
        .unwrap();
    let shown = shown.approval().unwrap().clone();

    // Between the request and the approval, the plan grew.
    reach.store(3, Ordering::SeqCst);
    let answer = f.engine.approve(shown.id, &lead(1)).await.unwrap();
    let fresh = answer
        .approval()
        .expect("a new approval for the larger plan");
    assert_ne!(fresh.id, shown.id);
    assert_eq!(fresh.plan.changes.len(), 3);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        0,
        "ran what the approver was not shown"
    );
    let pending = f.engine.pending_approvals(&f.tenant).await.unwrap();
    assert_eq!(
        pending.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![fresh.id]
    );

    // Approving what is now shown runs it, once.
    let done = f.engine.approve(fresh.id, &lead(1)).await.unwrap();
    assert!(done.receipt().is_some());
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_never_overshoot_a_glob_cap() {
    let policy = stackhand_core::policy::PolicyLoader::new()
        .add_str(
            "acme.toml",
            r#"
            [scope]
            tenant = "acme"

            [[rules]]
            id = "technicians-identity"
            actions = ["identity.*"]
            effect = "allow"

            [[caps]]
            id = "cap-identity"
            actions = ["identity.*"]
            max_per_hour = 3
            "#,
        )
        .build()
        .unwrap();
    let tenant = TenantId::new("acme").unwrap();
    let store = Arc::new(Store::default());
    let engine = Engine::builder(Arc::new(policy), Arc::new(MemoryAuditSink::new()))
        .store(store)
        .staff(staff())
        .build();
    let memory = MemoryConnector::demo(tenant.clone());
    engine
        .add_tenant(
            Tenant::new(tenant.clone(), "Acme"),
            ConnectorSet::new(tenant.clone())
                .with(Arc::new(memory.clone()))
                .unwrap(),
        )
        .unwrap();

    // Ten requests at once, of two different actions under the one glob cap.
    let mut tasks = Vec::new();
    for n in 0..10 {
        let engine = engine.clone();
        let action = if n % 2 == 0 {
            "identity.revoke_sessions"
        } else {
            "identity.reset_password"
        };
        let req = ActionRequest::new(
            IdempotencyKey::new(format!("k{n}")).unwrap(),
            tenant.clone(),
            ActionId::from_static(action),
            &json!({"user": "jane@acme.example"}),
            Principal::technician("tech@msp.example", &["msp.tech"]),
        )
        .unwrap();
        tasks.push(tokio::spawn(
            async move { engine.submit(req).await.unwrap() },
        ));
    }
    let mut executed = 0;
    for task in tasks {
        let answer = task.await.unwrap();
        match answer.denial() {
            Some(denial) => assert_eq!(denial.rule.as_str(), "cap-identity"),
            None => {
                assert!(answer.receipt().is_some());
                executed += 1;
            }
        }
    }
    assert_eq!(executed, 3, "the cap of 3 let {executed} through");
}

#[tokio::test]
async fn a_resumed_run_settles_an_abandoned_execution_at_once() {
    let f = fixture(&["identity.disable"], None);
    f.store.crash_at_next_result.store(true, Ordering::SeqCst);
    let req = request(
        &f,
        "run-1.0",
        "identity.disable",
        json!({"user": "jane@acme.example"}),
    );
    assert!(f.engine.submit(req.clone()).await.is_err());
    f.store.down.store(false, Ordering::SeqCst);
    assert!(matches!(
        f.store
            .state(&f.tenant, &req.idempotency_key)
            .await
            .unwrap(),
        Some(KeyState::Executing { .. })
    ));

    // A plain retry cannot know the first attempt is dead, so it waits ...
    let busy = f.engine.submit(req.clone()).await.unwrap_err();
    assert_eq!(busy.kind(), ErrorKind::Conflict);
    assert!(busy.is_temporary(), "{busy}");
    // ... the owner resuming the run settles it by reading the target back, at once.
    let resumed = f.engine.resume(req.clone()).await.unwrap();
    assert!(matches!(resumed, Submission::Duplicate(_)));
    let receipt = resumed.receipt().expect("settled as executed");
    assert_eq!(receipt.outcome.status, StepStatus::Verified);
    assert!(!f.memory.state().users["jane"].enabled);
    assert_eq!(f.engine.resume(req).await.unwrap().label(), "executed");
}

#[tokio::test]
async fn a_resumed_execution_the_target_does_not_show_is_left_to_a_person() {
    let f = fixture(&["identity.revoke_sessions"], None);
    f.store.crash_at_next_result.store(true, Ordering::SeqCst);
    let req = request(
        &f,
        "run-1.0",
        "identity.revoke_sessions",
        json!({"user": "jane@acme.example"}),
    );
    assert!(f.engine.submit(req.clone()).await.is_err());
    f.store.down.store(false, Ordering::SeqCst);
    assert_eq!(revocations(&f), 1);
    let in_doubt = f.engine.resume(req.clone()).await.unwrap_err();
    assert!(in_doubt.message().contains("in doubt"), "{in_doubt}");
    assert!(f.engine.resume(req).await.is_err());
    assert_eq!(revocations(&f), 1, "a resumed step ran again");
}

#[tokio::test]
async fn a_resumed_key_left_claimed_is_decided_and_executed_once() {
    let f = fixture(&["identity.revoke_sessions"], None);
    let req = request(
        &f,
        "run-1.0",
        "identity.revoke_sessions",
        json!({"user": "jane@acme.example"}),
    );
    // The earlier attempt claimed the key and died before deciding anything.
    f.store.hang_after_claim.store(true, Ordering::SeqCst);
    let died = tokio::time::timeout(
        std::time::Duration::from_millis(20),
        f.engine.submit(req.clone()),
    );
    assert!(died.await.is_err(), "the attempt hangs until dropped");
    assert!(matches!(
        f.store
            .state(&f.tenant, &req.idempotency_key)
            .await
            .unwrap(),
        Some(KeyState::InFlight)
    ));
    let busy = f.engine.submit(req.clone()).await.unwrap_err();
    assert!(busy.message().contains("in progress"), "{busy}");
    assert_eq!(
        f.engine.resume(req.clone()).await.unwrap().label(),
        "executed"
    );
    assert_eq!(f.engine.resume(req).await.unwrap().label(), "executed");
    assert_eq!(revocations(&f), 1);
}

#[tokio::test]
async fn a_resumed_key_waits_on_the_approval_already_asked_for() {
    let f = fixture(&[], None);
    let id = pending_revoke(&f, "run-1.0").await;
    let req = request(
        &f,
        "run-1.0",
        "identity.revoke_sessions",
        json!({"user": "jane@acme.example"}),
    );
    // The earlier attempt asked for approval and died before recording that it waits.
    f.store
        .inner
        .settle(&f.tenant, &req.idempotency_key, KeyState::InFlight)
        .await
        .unwrap();
    let resumed = f.engine.resume(req.clone()).await.unwrap();
    assert_eq!(resumed.approval().map(|a| a.id), Some(id));
    assert_eq!(
        f.engine.pending_approvals(&f.tenant).await.unwrap().len(),
        1
    );
    assert_eq!(
        f.engine.approve(id, &lead(1)).await.unwrap().label(),
        "executed"
    );
    assert_eq!(f.engine.resume(req).await.unwrap().label(), "executed");
    assert_eq!(revocations(&f), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_attempt_racing_a_live_one_executes_once() {
    for round in 0..25 {
        let f = fixture(&["identity.revoke_sessions"], None);
        let req = request(
            &f,
            &format!("run-{round}.0"),
            "identity.revoke_sessions",
            json!({"user": "jane@acme.example"}),
        );
        let (a, b) = (f.engine.clone(), f.engine.clone());
        let (ra, rb) = (req.clone(), req);
        let live = tokio::spawn(async move { a.submit(ra).await });
        let resumed = tokio::spawn(async move { b.resume(rb).await });
        let (live, resumed) = (live.await.unwrap(), resumed.await.unwrap());
        assert!(
            live.is_ok() || resumed.is_ok(),
            "round {round}: neither attempt answered"
        );
        assert_eq!(revocations(&f), 1, "round {round}");
    }
}
