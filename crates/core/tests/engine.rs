//! The engine's guarantees, against the in-memory connector.

use std::sync::Arc;

use chrono::{Duration, Utc};
use proptest::prelude::*;
use secrecy::ExposeSecret;
use serde_json::json;
use stackhand_core::audit::{AuditKind, AuditSink, BreakKind, MemoryAuditSink};
use stackhand_core::directory::{MemoryStaffDirectory, RoleScope, StaffMember};
use stackhand_core::engine::{Engine, ManualClock};
use stackhand_core::memory::MemoryConnector;
use stackhand_core::policy::{Approver, Decision, DecisionInput, Effect, Policy, RuleId};
use stackhand_core::*;

/// A policy from a closure, so each test states its rule inline.
struct FnPolicy<F>(F);

impl<F: Fn(&DecisionInput<'_>) -> Effect + Send + Sync> Policy for FnPolicy<F> {
    fn decide(&self, input: &DecisionInput<'_>) -> Decision {
        Decision::new((self.0)(input), RuleId::new("test-rule"), "test")
    }
}

struct Fixture {
    engine: Engine,
    audit: Arc<MemoryAuditSink>,
    memory: MemoryConnector,
    tenant: TenantId,
    clock: Arc<ManualClock>,
}

/// The MSP staff these tests act as, with their roles in every tenant.
fn staff() -> Arc<MemoryStaffDirectory> {
    let mut directory = MemoryStaffDirectory::new();
    for (id, role) in [
        ("lead@msp.example", "msp.lead"),
        ("other-lead@msp.example", "msp.lead"),
        ("lead2@msp.example", "msp.lead"),
        ("other@msp.example", "msp.lead"),
        ("junior@msp.example", "msp.tech"),
        ("tech@msp.example", "msp.tech"),
    ] {
        directory = directory.with(StaffMember::technician(id).role(role, RoleScope::AllTenants));
    }
    Arc::new(directory)
}

fn fixture(policy: impl Policy + 'static) -> Fixture {
    let tenant = TenantId::new("acme").unwrap();
    let audit = Arc::new(MemoryAuditSink::new());
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let engine = Engine::builder(Arc::new(policy), audit.clone())
        .clock(clock.clone())
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
    Fixture {
        engine,
        audit,
        memory,
        tenant,
        clock,
    }
}

fn request(
    f: &Fixture,
    key: &str,
    action: &'static str,
    params: serde_json::Value,
    requester: Principal,
) -> ActionRequest {
    ActionRequest::new(
        IdempotencyKey::new(key).unwrap(),
        f.tenant.clone(),
        ActionId::from_static(action),
        &params,
        requester,
    )
    .unwrap()
    .with_reason("test")
}

fn lead() -> Principal {
    Principal::technician("lead@msp.example", &["msp.lead"])
}

fn approve_by_lead(_: &DecisionInput<'_>) -> Effect {
    Effect::RequireApproval {
        approvers: vec![Approver::Role("msp.lead".into())],
    }
}

async fn kinds(f: &Fixture) -> Vec<AuditKind> {
    f.engine
        .audit_trail(&f.tenant)
        .await
        .unwrap()
        .iter()
        .map(|e| e.record.kind)
        .collect()
}

#[tokio::test]
async fn allowed_request_executes_and_is_audited_in_order() {
    let f = fixture(FnPolicy(|_: &DecisionInput<'_>| Effect::Allow));
    let req = request(
        &f,
        "k1",
        "identity.unlock",
        json!({"user": "bob@acme.example"}),
        Principal::end_user("bob@acme.example"),
    );
    let answer = f.engine.submit(req).await.unwrap();
    assert_eq!(answer.label(), "executed");
    assert_eq!(
        answer.receipt().unwrap().outcome.status,
        StepStatus::Verified
    );
    assert!(!f.memory.state().users["bob"].locked);
    assert_eq!(
        kinds(&f).await,
        vec![
            AuditKind::PlanRecorded,
            AuditKind::Decided,
            AuditKind::ExecutionStarted,
            AuditKind::ExecutionSucceeded
        ]
    );
    f.audit.verify_tenant(&f.tenant).await.unwrap().unwrap();
}

/// A preview plans and decides as a submit would (roles from the directory, not the request)
/// and changes nothing: no key is claimed, so the same key still submits.
#[tokio::test]
async fn preview_decides_without_executing() {
    let f = fixture(FnPolicy(|input: &DecisionInput<'_>| {
        if input
            .request
            .requester
            .roles
            .iter()
            .any(|r| r == "msp.lead")
        {
            Effect::Allow
        } else {
            Effect::Deny
        }
    }));
    let ask = |who: Principal| {
        request(
            &f,
            "p1",
            "identity.disable",
            json!({"user": "jane@acme.example"}),
            who,
        )
    };
    // The junior claims a lead's role; the directory says otherwise.
    let claimed = Principal::technician("junior@msp.example", &["msp.lead"]);
    let (plan, decision) = f.engine.preview(&ask(claimed)).await.unwrap();
    assert!(decision.is_deny());
    assert!(!plan.changes.is_empty());
    let (_, decision) = f.engine.preview(&ask(lead())).await.unwrap();
    assert!(!decision.is_deny());
    assert!(f.memory.state().users["jane"].enabled, "nothing executed");
    assert_eq!(
        kinds(&f).await,
        vec![
            AuditKind::PlanRecorded,
            AuditKind::Previewed,
            AuditKind::PlanRecorded,
            AuditKind::Previewed
        ]
    );
    assert_eq!(
        f.engine.submit(ask(lead())).await.unwrap().label(),
        "executed"
    );

    let seen = f
        .engine
        .staff_principal(&f.tenant, "LEAD@msp.example")
        .unwrap()
        .unwrap();
    assert_eq!(
        (seen.kind, seen.roles),
        (PrincipalKind::Technician, vec!["msp.lead".to_string()])
    );
    assert!(
        f.engine
            .staff_principal(&f.tenant, "nobody@x.example")
            .unwrap()
            .is_none()
    );
    let unknown = TenantId::new("globex").unwrap();
    assert!(
        f.engine
            .staff_principal(&unknown, "lead@msp.example")
            .is_err()
    );
}

#[tokio::test]
async fn denied_request_changes_nothing() {
    let f = fixture(FnPolicy(|_: &DecisionInput<'_>| Effect::Deny));
    let req = request(
        &f,
        "k1",
        "identity.disable",
        json!({"user": "jane@acme.example"}),
        lead(),
    );
    let answer = f.engine.submit(req).await.unwrap();
    assert_eq!(answer.label(), "denied");
    assert!(f.memory.state().users["jane"].enabled);
    assert!(!kinds(&f).await.contains(&AuditKind::ExecutionStarted));
}

#[tokio::test]
async fn approval_refuses_self_and_unauthorised_then_executes_once() {
    let f = fixture(FnPolicy(approve_by_lead));
    let requester = Principal::technician("lead@msp.example", &["msp.lead"]);
    let req = request(
        &f,
        "k1",
        "identity.add_to_group",
        json!({"user": "jane@acme.example", "group": "Sales"}),
        requester.clone(),
    );
    let answer = f.engine.submit(req.clone()).await.unwrap();
    let approval = answer.approval().expect("pending").clone();
    assert!(!f.memory.state().members["g-sales"].contains(&"jane".to_string()));

    let err = f.engine.approve(approval.id, &requester).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    assert!(err.message().contains("self-approval"), "{err}");

    let err = f
        .engine
        .approve(
            approval.id,
            &Principal::technician("junior@msp.example", &["msp.tech"]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);

    let other_lead = Principal::technician("other-lead@msp.example", &["msp.lead"]);
    let done = f.engine.approve(approval.id, &other_lead).await.unwrap();
    assert_eq!(done.label(), "executed");
    assert_eq!(
        done.receipt().unwrap().approved_by.as_deref(),
        Some("other-lead@msp.example")
    );
    assert!(f.memory.state().members["g-sales"].contains(&"jane".to_string()));

    // Approving again answers with the first result, and resubmitting the key does too.
    let again = f.engine.approve(approval.id, &other_lead).await.unwrap();
    assert!(matches!(again, Submission::Duplicate(_)));
    let resubmitted = f.engine.submit(req).await.unwrap();
    assert!(matches!(resubmitted, Submission::Duplicate(_)));
    let started = kinds(&f)
        .await
        .iter()
        .filter(|k| **k == AuditKind::ExecutionStarted)
        .count();
    assert_eq!(started, 1);
    let refused = kinds(&f)
        .await
        .iter()
        .filter(|k| **k == AuditKind::ApprovalRefused)
        .count();
    assert_eq!(refused, 2, "refused approval attempts are audited");
}

#[tokio::test]
async fn approvals_expire() {
    let f = fixture(FnPolicy(approve_by_lead));
    let req = request(
        &f,
        "k1",
        "identity.disable",
        json!({"user": "jane@acme.example"}),
        Principal::agent("stackhand"),
    );
    let approval = f
        .engine
        .submit(req)
        .await
        .unwrap()
        .approval()
        .unwrap()
        .clone();
    f.clock.advance(Duration::hours(25));
    let err = f.engine.approve(approval.id, &lead()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.message().contains("expired"));
    assert!(f.memory.state().users["jane"].enabled);
    assert!(kinds(&f).await.contains(&AuditKind::ApprovalExpired));
}

#[tokio::test]
async fn denied_approval_never_executes() {
    let f = fixture(FnPolicy(approve_by_lead));
    let req = request(
        &f,
        "k1",
        "identity.disable",
        json!({"user": "jane@acme.example"}),
        Principal::agent("stackhand"),
    );
    let approval = f
        .engine
        .submit(req)
        .await
        .unwrap()
        .approval()
        .unwrap()
        .clone();
    f.engine
        .deny(approval.id, &lead(), "not without the manager")
        .await
        .unwrap();
    let err = f.engine.approve(approval.id, &lead()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(f.memory.state().users["jane"].enabled);
}

#[tokio::test]
async fn same_key_executes_once_and_other_params_conflict() {
    let f = fixture(FnPolicy(|_: &DecisionInput<'_>| Effect::Allow));
    let req = request(
        &f,
        "k1",
        "identity.revoke_sessions",
        json!({"user": "jane@acme.example"}),
        lead(),
    );
    f.engine.submit(req.clone()).await.unwrap();
    let again = f.engine.submit(req).await.unwrap();
    assert!(matches!(again, Submission::Duplicate(_)));
    assert_eq!(f.memory.state().revoked_sessions.len(), 1);

    let other = request(
        &f,
        "k1",
        "identity.revoke_sessions",
        json!({"user": "bob@acme.example"}),
        lead(),
    );
    assert_eq!(
        f.engine.submit(other).await.unwrap_err().kind(),
        ErrorKind::Conflict
    );
}

#[tokio::test]
async fn failed_plan_releases_the_key_and_malformed_params_name_the_field() {
    let f = fixture(FnPolicy(|_: &DecisionInput<'_>| Effect::Allow));
    let bad = request(
        &f,
        "k1",
        "identity.unlock",
        json!({"usr": "bob@acme.example"}),
        lead(),
    );
    let err = f.engine.submit(bad).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(
        err.message().contains("usr") || err.message().contains("user"),
        "{err}"
    );
    let missing = request(
        &f,
        "k2",
        "identity.unlock",
        json!({"user": "nobody@acme.example"}),
        lead(),
    );
    assert_eq!(
        f.engine.submit(missing.clone()).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // Nothing was decided, so the same key may be retried.
    assert_eq!(
        f.engine.submit(missing).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(kinds(&f).await.contains(&AuditKind::PlanFailed));
}

#[tokio::test]
async fn undo_restores_the_state_before() {
    let f = fixture(FnPolicy(|_: &DecisionInput<'_>| Effect::Allow));
    let add = request(
        &f,
        "k1",
        "identity.add_to_group",
        json!({"user": "jane@acme.example", "group": "Sales"}),
        lead(),
    );
    f.engine.submit(add).await.unwrap();
    assert!(f.memory.state().members["g-sales"].contains(&"jane".to_string()));
    let undone = f
        .engine
        .undo(
            &f.tenant,
            &IdempotencyKey::new("k1").unwrap(),
            lead(),
            "wrong group",
        )
        .await
        .unwrap();
    assert_eq!(
        undone.receipt().unwrap().outcome.status,
        StepStatus::Verified
    );
    assert!(!f.memory.state().members["g-sales"].contains(&"jane".to_string()));
    // Undo is idempotent too.
    let again = f
        .engine
        .undo(
            &f.tenant,
            &IdempotencyKey::new("k1").unwrap(),
            lead(),
            "wrong group",
        )
        .await
        .unwrap();
    assert!(matches!(again, Submission::Duplicate(_)));

    let reset = request(
        &f,
        "k2",
        "identity.reset_password",
        json!({"user": "jane@acme.example"}),
        lead(),
    );
    f.engine.submit(reset).await.unwrap();
    let err = f
        .engine
        .undo(&f.tenant, &IdempotencyKey::new("k2").unwrap(), lead(), "x")
        .await
        .unwrap_err();
    assert!(err.message().contains("not reversible"), "{err}");
}

#[tokio::test]
async fn the_policy_decides_an_undo_as_an_undo() {
    // Adding to a group runs at once; taking it back waits for a lead.
    let f = fixture(FnPolicy(|input: &DecisionInput<'_>| {
        match input.operation {
            Operation::Execute => Effect::Allow,
            Operation::Undo => approve_by_lead(input),
        }
    }));
    let add = request(
        &f,
        "k1",
        "identity.add_to_group",
        json!({"user": "jane@acme.example", "group": "Sales"}),
        lead(),
    );
    assert_eq!(f.engine.submit(add).await.unwrap().label(), "executed");
    let undo = f
        .engine
        .undo(
            &f.tenant,
            &IdempotencyKey::new("k1").unwrap(),
            lead(),
            "oops",
        )
        .await
        .unwrap();
    assert_eq!(undo.label(), "pending_approval");
    let approval = undo.approval().unwrap();
    assert_eq!(approval.operation, Operation::Undo);
    assert!(f.memory.state().members["g-sales"].contains(&"jane".to_string()));
    let other_lead = Principal::technician("lead2@msp.example", &["msp.lead"]);
    let done = f.engine.approve(approval.id, &other_lead).await.unwrap();
    assert_eq!(done.label(), "executed");
    assert!(!f.memory.state().members["g-sales"].contains(&"jane".to_string()));
}

#[tokio::test]
async fn plan_reads_only_and_noop_is_skipped() {
    let f = fixture(FnPolicy(|_: &DecisionInput<'_>| Effect::Allow));
    let before = format!("{:?}", f.memory.state());
    let req = request(
        &f,
        "k1",
        "identity.disable",
        json!({"user": "jane@acme.example"}),
        lead(),
    );
    let plan = f.engine.plan(&req).await.unwrap();
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(plan.state_before["enabled"], true);
    assert_eq!(format!("{:?}", f.memory.state()), before);

    let noop = request(
        &f,
        "k2",
        "identity.add_to_group",
        json!({"user": "jane@acme.example", "group": "Finance"}),
        lead(),
    );
    assert_eq!(f.engine.submit(noop).await.unwrap().label(), "skipped");
}

#[tokio::test]
async fn secrets_reach_the_caller_but_never_the_audit_trail() {
    let f = fixture(FnPolicy(|_: &DecisionInput<'_>| Effect::Allow));
    let req = request(
        &f,
        "k1",
        "identity.reset_password",
        json!({"user": "jane@acme.example"}),
        Principal::end_user("jane@acme.example"),
    );
    let answer = f.engine.submit(req.clone()).await.unwrap();
    let password = answer
        .receipt()
        .unwrap()
        .outcome
        .secret("temporary_password")
        .unwrap()
        .expose_secret()
        .to_string();
    let trail = serde_json::to_string(&f.engine.audit_trail(&f.tenant).await.unwrap()).unwrap();
    assert!(!trail.contains(&password));
    assert!(
        trail.contains("\"handed_over\":[\"temporary_password\"]"),
        "the trail records that a secret was issued: {trail}"
    );
    // The stored receipt (what a duplicate answers with) holds no secret either.
    let dup = f.engine.submit(req).await.unwrap();
    assert!(dup.receipt().unwrap().outcome.secrets.is_empty());
    assert!(!format!("{:?}", answer).contains(&password));
}

#[tokio::test]
async fn the_policy_sees_facts_from_the_plan_not_the_caller() {
    let f = fixture(FnPolicy(|input: &DecisionInput<'_>| {
        if input.facts.privileged {
            Effect::Deny
        } else {
            Effect::Allow
        }
    }));
    // The caller names no target facts; the plan finds the admin role.
    let req = request(
        &f,
        "k1",
        "identity.reset_password",
        json!({"user": "admin@acme.example"}),
        lead(),
    )
    .with_target(Target::user("someone-harmless"));
    assert_eq!(f.engine.submit(req).await.unwrap().label(), "denied");
}

#[tokio::test]
async fn licence_without_free_seats_is_refused_in_the_plan() {
    let f = fixture(FnPolicy(|_: &DecisionInput<'_>| Effect::Allow));
    let req = request(
        &f,
        "k1",
        "identity.assign_license",
        json!({"user": "bob@acme.example", "sku": "O365_BUSINESS_PREMIUM"}),
        lead(),
    );
    let err = f.engine.submit(req).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.message().contains("no free"), "{err}");
}

#[tokio::test]
async fn unknown_tenant_and_action_are_named() {
    let f = fixture(FnPolicy(|_: &DecisionInput<'_>| Effect::Allow));
    let mut req = request(
        &f,
        "k1",
        "identity.unlock",
        json!({"user": "bob@acme.example"}),
        lead(),
    );
    req.tenant = TenantId::new("globex").unwrap();
    assert!(
        f.engine
            .submit(req)
            .await
            .unwrap_err()
            .message()
            .contains("unknown tenant globex")
    );
    let req = request(&f, "k2", "identity.teleport", json!({}), lead());
    assert!(
        f.engine
            .submit(req)
            .await
            .unwrap_err()
            .message()
            .contains("unknown action identity.teleport")
    );
}

const ACTIONS: &[(&str, &str)] = &[
    ("identity.disable", r#"{"user":"jane@acme.example"}"#),
    ("identity.enable", r#"{"user":"jane@acme.example"}"#),
    (
        "identity.add_to_group",
        r#"{"user":"bob@acme.example","group":"Finance"}"#,
    ),
    ("identity.revoke_sessions", r#"{"user":"bob@acme.example"}"#),
    (
        "psa.add_note",
        r#"{"ticket":"1001","text":"hi","visibility":"internal"}"#,
    ),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// For any mix of effects, requests and approvers: nothing executes without an allow or an
    /// approval by an authorised approver who is not the requester, and every decision is audited.
    #[test]
    fn nothing_executes_without_allow_or_valid_approval(
        steps in proptest::collection::vec((0usize..ACTIONS.len(), 0u8..3, 0u8..4), 1..12)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let effects: Vec<u8> = steps.iter().map(|s| s.1).collect();
            let counter = std::sync::atomic::AtomicUsize::new(0);
            let f = fixture(FnPolicy(move |_: &DecisionInput<'_>| {
                let i = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                match effects.get(i).copied().unwrap_or(0) {
                    0 => Effect::Deny,
                    1 => Effect::Allow,
                    _ => Effect::RequireApproval { approvers: vec![Approver::Role("msp.lead".into())] },
                }
            }));
            let requester = lead();
            let mut expected_executions = 0;
            for (i, (action, _, approver_kind)) in steps.iter().enumerate() {
                let (id, params) = ACTIONS[*action];
                let req = request(&f, &format!("k{i}"), id, serde_json::from_str(params).unwrap(), requester.clone());
                let Ok(answer) = f.engine.submit(req).await else { continue };
                match answer {
                    Submission::Executed(_) => expected_executions += 1,
                    Submission::PendingApproval(a) => {
                        let approver = match approver_kind {
                            0 => requester.clone(),                                          // self
                            1 => Principal::technician("tech@msp.example", &["msp.tech"]),   // no authority
                            _ => Principal::technician("other@msp.example", &["msp.lead"]),  // valid
                        };
                        let result = f.engine.approve(a.id, &approver).await;
                        if *approver_kind >= 2 {
                            if let Ok(Submission::Executed(_)) = result { expected_executions += 1 }
                        } else {
                            prop_assert_eq!(result.unwrap_err().kind(), ErrorKind::Forbidden);
                        }
                    }
                    Submission::Denied(_) | Submission::Duplicate(_) => {}
                }
            }
            let trail = f.engine.audit_trail(&f.tenant).await.unwrap();
            f.audit.verify_tenant(&f.tenant).await.unwrap().unwrap();
            let started = trail.iter().filter(|e| e.record.kind == AuditKind::ExecutionStarted).count();
            prop_assert_eq!(started, expected_executions);
            // Every execution is preceded by an allow decision or an approval grant for its key.
            for e in trail.iter().filter(|e| e.record.kind == AuditKind::ExecutionStarted) {
                let authorised = trail.iter().take_while(|p| p.seq < e.seq).any(|p| {
                    p.record.request == e.record.request
                        && ((p.record.kind == AuditKind::Decided && p.record.data["effect"] == "allow")
                            || p.record.kind == AuditKind::ApprovalGranted)
                });
                prop_assert!(authorised, "execution {} without authorisation", e.seq);
            }
            let decided = trail.iter().filter(|e| e.record.kind == AuditKind::Decided).count();
            let planned = trail.iter().filter(|e| e.record.kind == AuditKind::PlanRecorded).count();
            prop_assert!(decided >= 1 && planned >= decided);
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn tampering_with_the_stored_trail_is_detected() {
    let f = fixture(FnPolicy(|_: &DecisionInput<'_>| Effect::Allow));
    let req = request(
        &f,
        "k1",
        "identity.disable",
        json!({"user": "jane@acme.example"}),
        lead(),
    );
    f.engine.submit(req).await.unwrap();
    let mut events = f.engine.audit_trail(&f.tenant).await.unwrap();
    events[1].record.data["effect"] = json!("deny");
    f.audit.replace(&f.tenant, events);
    let broken = f.audit.verify_tenant(&f.tenant).await.unwrap().unwrap_err();
    assert_eq!((broken.seq, broken.kind), (2, BreakKind::Edited));
}
