//! The behaviour every backend shows: one async fn per behaviour, run by `behaviour.rs` against
//! SQLite and PostgreSQL alike. The in-memory `MemoryStore` is the reference: where it helps, a
//! scenario runs on both and the answers are compared.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use stackhand_core::approval::{Approval, ApprovalId, ApprovalStatus, Operation};
use stackhand_core::audit::{
    AuditEvent, AuditKey, AuditKeys, AuditKind, AuditRecord, AuditSink, BreakKind, GENESIS_MAC,
};
use stackhand_core::directory::{MemoryStaffDirectory, RoleScope, StaffMember};
use stackhand_core::engine::{
    BeginFrom, Claim, Engine, EngineStore, Failure, KeyState, MemoryStore, Receipt, Reservation,
    Started, Transition,
};
use stackhand_core::memory::MemoryConnector;
use stackhand_core::policy::{Approver, CapLimit, Decision, Effect, PolicyLoader, RuleId};
use stackhand_core::*;
use stackhand_store::{Condition, ConditionTest, NewRun, RunState, StepFlow, StepState, Store};

use crate::support::{Db, keys};

// ---------------------------------------------------------------------------------------------
// helpers

fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

fn key(name: &str) -> IdempotencyKey {
    IdempotencyKey::new(name).unwrap()
}

fn request(tenant: &TenantId, key_name: &str) -> ActionRequest {
    ActionRequest::new(
        key(key_name),
        tenant.clone(),
        ActionId::from_static("identity.add_to_group"),
        &json!({ "user": "jane@acme.example", "group": "Sales" }),
        Principal::agent("stackhand"),
    )
    .unwrap()
    .with_reason("ticket 42")
}

fn plan(tenant: &TenantId) -> Plan {
    let mut plan = Plan::new(
        ActionId::from_static("identity.add_to_group"),
        tenant.clone(),
        "add jane to Sales",
    );
    plan.changes.push(Change::new(
        "user:jane",
        "groups",
        Some(json!([])),
        Some(json!(["Sales"])),
    ));
    plan.state_before = json!({ "groups": [] });
    plan
}

fn approval(tenant: &TenantId, created: DateTime<Utc>, ttl: Duration) -> Approval {
    Approval {
        id: ApprovalId::new(),
        tenant: tenant.clone(),
        operation: Operation::Execute,
        request: request(tenant, &format!("req-{}", uuid::Uuid::new_v4().simple())),
        plan: plan(tenant),
        decision: Decision::new(
            Effect::RequireApproval {
                approvers: vec![Approver::Role("msp.lead".into())],
            },
            RuleId::new("groups-need-a-lead"),
            "a lead approves group changes",
        ),
        approvers: vec![Approver::Role("msp.lead".into())],
        created,
        expires: created + ttl,
        status: ApprovalStatus::Pending,
    }
}

fn approved(by: &str) -> ApprovalStatus {
    ApprovalStatus::Approved {
        by: by.into(),
        at: Utc::now(),
    }
}

fn cap(id: &str, max: u32, window_seconds: u64) -> CapLimit {
    CapLimit {
        id: RuleId::new(id),
        max,
        window_seconds,
    }
}

fn started(tenant: &TenantId) -> Box<Started> {
    Box::new(Started {
        operation: Operation::Execute,
        request: request(tenant, "k"),
        plan: plan(tenant),
        decision: Decision::new(Effect::Allow, RuleId::new("r"), "allowed"),
        approved_by: Some("lead@msp.example".into()),
        at: Utc::now(),
    })
}

/// Every state a key can be in, with everything each carries.
fn every_key_state(tenant: &TenantId) -> Vec<KeyState> {
    let failure = Error::new(ErrorKind::Transient, "vendor timed out");
    let mut outcome = Outcome::new(StepStatus::Failed).with_message("try again later");
    outcome.changes = plan(tenant).changes;
    outcome.state_after = json!({ "groups": ["Sales"], "n": 1.5, "big": u64::MAX });
    vec![
        KeyState::InFlight,
        KeyState::Executing {
            started: started(tenant),
        },
        KeyState::InDoubt {
            started: started(tenant),
            reason: "the store went away".into(),
        },
        KeyState::Executed {
            receipt: Box::new(Receipt {
                operation: Operation::Undo,
                request: request(tenant, "k"),
                plan: plan(tenant),
                decision: Decision::new(Effect::Allow, RuleId::new("r"), "allowed"),
                approved_by: None,
                outcome,
                failure: Some(Failure::from(&failure)),
            }),
        },
        KeyState::Pending {
            approval: ApprovalId::new(),
        },
        KeyState::Denied {
            decision: Decision::deny(RuleId::new("no-policy"), "no policy"),
        },
    ]
}

fn json_of<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

/// A result in a form two stores' answers can be compared in: the value's JSON or the error's
/// kind and message (without the store's own prefix and source).
fn outcome_of<T: std::fmt::Debug>(result: &std::result::Result<T, &Error>) -> String {
    match result {
        Ok(value) => format!("ok {value:?}"),
        Err(e) => format!("err {} {}", e.kind(), e.message()),
    }
}

fn claim_label(claim: &Claim) -> String {
    match claim {
        Claim::New => "new".into(),
        Claim::Seen(state) => format!("seen {}", json_of(state)),
    }
}

fn record(tenant: &TenantId, n: usize) -> AuditRecord {
    AuditRecord {
        tenant: tenant.clone(),
        at: Utc::now(),
        kind: AuditKind::Decided,
        request: Some(key(&format!("k{n}"))),
        action: Some(ActionId::from_static("identity.unlock")),
        actor: Some(format!("actor-{n}")),
        data: json!({ "n": n, "params": { "password": "hunter2" }, "ratio": 0.1, "nested": { "z": 1, "a": [1, 2] } }),
    }
}

fn key_of(tenant: &TenantId) -> AuditKey {
    keys().key(tenant).unwrap()
}

// ---------------------------------------------------------------------------------------------
// idempotency keys

/// Claim, settle, state and release answer exactly as the in-memory reference does, step by step.
pub async fn keys_behave_like_the_memory_store(db: &Db) {
    let store = db.store().await;
    let memory = MemoryStore::new();
    let (acme, other) = (tenant("acme"), tenant("other"));
    let executing = KeyState::Executing {
        started: started(&acme),
    };

    macro_rules! both {
        ($what:literal, |$s:ident| $call:expr) => {{
            let theirs = {
                let $s: &dyn EngineStore = &memory;
                $call.await
            };
            let ours = {
                let $s: &dyn EngineStore = &store;
                $call.await
            };
            (theirs, ours, $what)
        }};
    }
    macro_rules! same {
        ($what:literal, |$s:ident| $call:expr, $label:expr) => {{
            let (theirs, ours, what) = both!($what, |$s| $call);
            let label = $label;
            let t = theirs.as_ref().map(label);
            let o = ours.as_ref().map(label);
            assert_eq!(
                outcome_of(&t),
                outcome_of(&o),
                "{what}: memory {theirs:?}, {} store {ours:?}",
                db.kind
            );
            ours.err()
        }};
    }

    same!(
        "first claim",
        |s| s.claim(&acme, &key("k1"), "fp-1"),
        claim_label
    );
    same!(
        "same request again",
        |s| s.claim(&acme, &key("k1"), "fp-1"),
        claim_label
    );
    let conflict = same!(
        "other request",
        |s| s.claim(&acme, &key("k1"), "fp-2"),
        claim_label
    );
    assert_eq!(conflict.unwrap().kind(), ErrorKind::Conflict);
    same!(
        "other tenant, same key",
        |s| s.claim(&other, &key("k1"), "fp-2"),
        claim_label
    );
    same!(
        "state in flight",
        |s| s.state(&acme, &key("k1")),
        |v: &Option<KeyState>| json_of(v)
    );
    same!(
        "state unknown",
        |s| s.state(&acme, &key("nope")),
        |v: &Option<KeyState>| json_of(v)
    );
    same!(
        "settle executing",
        |s| s.settle(&acme, &key("k1"), executing.clone()),
        |v: &()| *v
    );
    same!(
        "seen executing",
        |s| s.claim(&acme, &key("k1"), "fp-1"),
        claim_label
    );
    same!(
        "release executing",
        |s| s.release(&acme, &key("k1")),
        |v: &bool| *v
    );
    same!(
        "still executing",
        |s| s.state(&acme, &key("k1")),
        |v: &Option<KeyState>| json_of(v)
    );
    same!(
        "release in flight",
        |s| s.release(&other, &key("k1")),
        |v: &bool| *v
    );
    same!(
        "released is gone",
        |s| s.state(&other, &key("k1")),
        |v: &Option<KeyState>| json_of(v)
    );
    same!(
        "claim after release",
        |s| s.claim(&other, &key("k1"), "fp-3"),
        claim_label
    );
    same!(
        "begin an in-flight key as if approved",
        |s| s.begin(
            &other,
            &key("k1"),
            BeginFrom::Approved(ApprovalId::new()),
            *started(&other)
        ),
        |v: &bool| *v
    );
    same!(
        "begin an in-flight key",
        |s| s.begin(&other, &key("k1"), BeginFrom::Claimed, *started(&other)),
        |v: &bool| *v
    );
    same!(
        "begin it again",
        |s| s.begin(&other, &key("k1"), BeginFrom::Claimed, *started(&other)),
        |v: &bool| *v
    );
    let (waited_on, stale) = (ApprovalId::new(), ApprovalId::new());
    let begun = *started(&acme);
    same!(
        "claim a key for approval",
        |s| s.claim(&acme, &key("k2"), "fp-1"),
        claim_label
    );
    same!(
        "wait on an approval",
        |s| s.settle(
            &acme,
            &key("k2"),
            KeyState::Pending {
                approval: waited_on
            }
        ),
        |v: &()| *v
    );
    same!(
        "begin for another approval of the same key",
        |s| s.begin(
            &acme,
            &key("k2"),
            BeginFrom::Approved(stale),
            *started(&acme)
        ),
        |v: &bool| *v
    );
    same!(
        "begin for the approval waited on",
        |s| s.begin(
            &acme,
            &key("k2"),
            BeginFrom::Approved(waited_on),
            begun.clone()
        ),
        |v: &bool| *v
    );
    same!(
        "begun for the approval",
        |s| s.state(&acme, &key("k2")),
        |v: &Option<KeyState>| json_of(v)
    );
    let missing = same!(
        "begin unclaimed",
        |s| s.begin(&acme, &key("nope"), BeginFrom::Claimed, *started(&acme)),
        |v: &bool| *v
    );
    assert_eq!(missing.unwrap().kind(), ErrorKind::NotFound);
    same!(
        "release unknown",
        |s| s.release(&acme, &key("nope")),
        |v: &bool| *v
    );
    let missing = same!(
        "settle unclaimed",
        |s| s.settle(&acme, &key("nope"), KeyState::InFlight),
        |v: &()| *v
    );
    let missing = missing.unwrap();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(missing.message().contains("never claimed"), "{missing}");
}

/// Every key state, with its receipt, plan and decision, reads back exactly as it was settled.
pub async fn key_states_round_trip(db: &Db) {
    let store = db.store().await;
    let acme = tenant("acme");
    for (n, state) in every_key_state(&acme).into_iter().enumerate() {
        let k = key(&format!("k{n}"));
        assert!(matches!(
            store.claim(&acme, &k, "fp").await.unwrap(),
            Claim::New
        ));
        store.settle(&acme, &k, state.clone()).await.unwrap();
        let back = store.state(&acme, &k).await.unwrap().unwrap();
        assert_eq!(json_of(&back), json_of(&state));
        match store.claim(&acme, &k, "fp").await.unwrap() {
            Claim::Seen(seen) => assert_eq!(json_of(&seen), json_of(&state)),
            Claim::New => panic!("key {k} claimed twice"),
        }
        // Only an in-flight key is ever released.
        assert_eq!(
            store.release(&acme, &k).await.unwrap(),
            matches!(state, KeyState::InFlight)
        );
    }
}

/// Of many tasks claiming one key at once on separate connections, exactly one claims it.
pub async fn concurrent_claims_have_one_winner(db: &Db) {
    let stores = [Arc::new(db.store().await), Arc::new(db.store().await)];
    let acme = tenant("acme");
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let store = stores[n % 2].clone();
            let acme = acme.clone();
            tokio::spawn(async move { store.claim(&acme, &key("race"), "fp").await.unwrap() })
        })
        .collect();
    let mut new = 0;
    for task in tasks {
        if matches!(task.await.unwrap(), Claim::New) {
            new += 1;
        }
    }
    assert_eq!(new, 1, "{} claims of one key won", new);
}

/// Of many tasks beginning one claimed key at once on separate connections, exactly one begins
/// it: the fence that keeps a resumed attempt and a live one from both calling the vendor.
pub async fn concurrent_begins_have_one_winner(db: &Db) {
    let stores = [Arc::new(db.store().await), Arc::new(db.store().await)];
    let acme = tenant("acme");
    assert!(matches!(
        stores[0].claim(&acme, &key("race"), "fp").await.unwrap(),
        Claim::New
    ));
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let store = stores[n % 2].clone();
            let acme = acme.clone();
            tokio::spawn(async move {
                store
                    .begin(&acme, &key("race"), BeginFrom::Claimed, *started(&acme))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut begun = 0;
    for task in tasks {
        if task.await.unwrap() {
            begun += 1;
        }
    }
    assert_eq!(begun, 1, "{begun} attempts began one key");
}

// ---------------------------------------------------------------------------------------------
// approvals

/// Insert refuses an id twice; resolve is a compare-and-swap; pending lists a tenant's waiting,
/// unexpired approvals oldest first.
pub async fn approvals_insert_resolve_and_list(db: &Db) {
    let store = db.store().await;
    let (acme, other) = (tenant("acme"), tenant("other"));
    let now = Utc::now();
    let hour = Duration::hours(1);

    let newest = approval(&acme, now - Duration::minutes(1), hour);
    let oldest = approval(&acme, now - Duration::minutes(30), hour);
    let expired = approval(&acme, now - Duration::hours(2), hour);
    let elsewhere = approval(&other, now - Duration::minutes(5), hour);
    let resolved = approval(&acme, now - Duration::minutes(10), hour);
    for a in [&newest, &oldest, &expired, &elsewhere, &resolved] {
        store.insert_approval(a).await.unwrap();
    }
    let again = store.insert_approval(&newest).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict);
    assert!(again.message().contains("already exists"), "{again}");

    // Read back exactly.
    assert_eq!(
        store.approval(newest.id).await.unwrap().as_ref(),
        Some(&newest)
    );
    assert_eq!(store.approval(ApprovalId::new()).await.unwrap(), None);

    // The compare-and-swap.
    let to = approved("lead@msp.example");
    match store
        .resolve_approval(resolved.id, to.clone())
        .await
        .unwrap()
    {
        Transition::Done(a) => {
            assert_eq!(a.status, to);
            assert_eq!(a.request, resolved.request);
        }
        other => panic!("the first resolution lost: {other:?}"),
    }
    let denied = ApprovalStatus::Denied {
        by: "other@msp.example".into(),
        at: Utc::now(),
        reason: "late".into(),
    };
    match store.resolve_approval(resolved.id, denied).await.unwrap() {
        Transition::AlreadyResolved(a) => assert_eq!(a.status, to),
        other => panic!("a second resolution won: {other:?}"),
    }
    assert_eq!(
        store.approval(resolved.id).await.unwrap().unwrap().status,
        to
    );
    let unknown = store
        .resolve_approval(ApprovalId::new(), approved("x"))
        .await
        .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound);

    // Pending: this tenant's, not resolved, not expired, oldest first; the same as memory's.
    let ids = |list: Vec<Approval>| list.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let pending = store.pending_approvals(&acme, now).await.unwrap();
    assert_eq!(ids(pending.clone()), vec![oldest.id, newest.id]);
    assert_eq!(pending[0], oldest);
    let memory = MemoryStore::new();
    for a in [&newest, &oldest, &expired, &elsewhere, &resolved] {
        memory.insert_approval(a).await.unwrap();
    }
    memory
        .resolve_approval(resolved.id, to.clone())
        .await
        .unwrap();
    for at in [
        now,
        now + Duration::minutes(59),
        now + hour,
        now - Duration::hours(3),
    ] {
        assert_eq!(
            ids(store.pending_approvals(&acme, at).await.unwrap()),
            ids(memory.pending_approvals(&acme, at).await.unwrap()),
            "pending at {at}"
        );
    }
    assert_eq!(
        ids(store.pending_approvals(&other, now).await.unwrap()),
        vec![elsewhere.id]
    );
    // An approval expiring exactly now is no longer pending.
    assert_eq!(
        ids(store
            .pending_approvals(&acme, oldest.expires)
            .await
            .unwrap()),
        vec![newest.id]
    );
}

/// Many approvers resolving one approval at once, on separate connections and stores: exactly
/// one wins, and every loser is told the winner's answer.
pub async fn concurrent_resolutions_have_one_winner(db: &Db) {
    let stores = [Arc::new(db.store().await), Arc::new(db.store().await)];
    let acme = tenant("acme");
    for round in 0..4 {
        let pending = approval(&acme, Utc::now(), Duration::hours(1));
        stores[0].insert_approval(&pending).await.unwrap();
        let tasks: Vec<_> = (0..12)
            .map(|n| {
                let store = stores[n % 2].clone();
                let to = if n % 3 == 0 {
                    ApprovalStatus::Denied {
                        by: format!("lead{n}"),
                        at: Utc::now(),
                        reason: "no".into(),
                    }
                } else {
                    approved(&format!("lead{n}"))
                };
                tokio::spawn(async move { store.resolve_approval(pending.id, to).await.unwrap() })
            })
            .collect();
        let mut winners = Vec::new();
        let mut told = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Transition::Done(a) => winners.push(a.status),
                Transition::AlreadyResolved(a) => told.push(a.status),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {} winners", winners.len());
        assert!(told.iter().all(|s| *s == winners[0]), "round {round}");
        assert_eq!(
            stores[1]
                .approval(pending.id)
                .await
                .unwrap()
                .unwrap()
                .status,
            winners[0]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// caps

/// Reservations over a sliding window, all or nothing across caps, released on request, per
/// tenant; the same answers as the in-memory reference at every step.
pub async fn caps_reserve_over_a_sliding_window(db: &Db) {
    let store = db.store().await;
    let memory = MemoryStore::new();
    let (acme, other) = (tenant("acme"), tenant("other"));
    let t0 = Utc::now();
    let hourly = cap("cap-hourly", 2, 3600);
    let burst = cap("cap-burst", 1, 60);
    let roomy = cap("cap-roomy", 10, 3600);

    let label = |r: &Reservation| match r {
        Reservation::Granted(_) => "granted".to_string(),
        Reservation::Full(cap) => format!("full {}", cap.id),
    };
    let mut granted = Vec::new();
    let steps: Vec<(&str, &TenantId, Vec<CapLimit>, DateTime<Utc>)> = vec![
        ("first", &acme, vec![hourly.clone()], t0),
        (
            "second",
            &acme,
            vec![hourly.clone()],
            t0 + Duration::seconds(1),
        ),
        (
            "third is full",
            &acme,
            vec![hourly.clone()],
            t0 + Duration::seconds(2),
        ),
        (
            "other tenant",
            &other,
            vec![hourly.clone()],
            t0 + Duration::seconds(2),
        ),
        // All or nothing: roomy has room, hourly does not, so roomy is not charged either.
        (
            "both, one full",
            &acme,
            vec![roomy.clone(), hourly.clone()],
            t0 + Duration::seconds(3),
        ),
        (
            "burst",
            &acme,
            vec![burst.clone(), roomy.clone()],
            t0 + Duration::seconds(3),
        ),
        (
            "burst full",
            &acme,
            vec![roomy.clone(), burst.clone()],
            t0 + Duration::seconds(4),
        ),
        // Exactly one window after the first slot, it has left the window.
        (
            "window slid",
            &acme,
            vec![hourly.clone()],
            t0 + Duration::seconds(3600),
        ),
        (
            "and is full again",
            &acme,
            vec![hourly.clone()],
            t0 + Duration::seconds(3600),
        ),
        (
            "burst window slid",
            &acme,
            vec![burst.clone()],
            t0 + Duration::seconds(64),
        ),
        ("no caps", &acme, vec![], t0),
    ];
    for (what, t, caps, at) in steps {
        let ours = store.reserve(t, &caps, at).await.unwrap();
        let theirs = memory.reserve(t, &caps, at).await.unwrap();
        assert_eq!(label(&ours), label(&theirs), "{what}");
        if let Reservation::Full(full) = &ours {
            assert!(caps.contains(full), "{what}: named a cap it was not given");
        }
        if let (Reservation::Granted(a), Reservation::Granted(b)) = (ours, theirs) {
            granted.push((what, t.clone(), a, b));
        }
    }
    // roomy was charged only by the "burst" grant: 9 slots left.
    for n in 0..9 {
        let at = t0 + Duration::seconds(10);
        assert!(
            matches!(
                store
                    .reserve(&acme, std::slice::from_ref(&roomy), at)
                    .await
                    .unwrap(),
                Reservation::Granted(_)
            ),
            "roomy slot {n}"
        );
    }
    assert_eq!(
        store
            .reserve(
                &acme,
                std::slice::from_ref(&roomy),
                t0 + Duration::seconds(10)
            )
            .await
            .unwrap(),
        Reservation::Full(roomy.clone())
    );

    // Releasing the "window slid" reservation gives its hourly slot back.
    let (_, t, ours, theirs) = granted
        .iter()
        .find(|(w, ..)| *w == "window slid")
        .unwrap()
        .clone();
    store.release_reservation(&t, ours).await.unwrap();
    memory.release_reservation(&t, theirs).await.unwrap();
    let at = t0 + Duration::seconds(3601);
    assert_eq!(
        label(
            &store
                .reserve(&acme, std::slice::from_ref(&hourly), at)
                .await
                .unwrap()
        ),
        label(
            &memory
                .reserve(&acme, std::slice::from_ref(&hourly), at)
                .await
                .unwrap()
        ),
    );
    // Fill the window again; releasing under another tenant's name frees nothing.
    let Reservation::Granted(last) = store
        .reserve(&acme, std::slice::from_ref(&hourly), at)
        .await
        .unwrap()
    else {
        panic!("the second hourly slot was refused");
    };
    assert_eq!(
        store
            .reserve(&acme, std::slice::from_ref(&hourly), at)
            .await
            .unwrap(),
        Reservation::Full(hourly.clone())
    );
    store.release_reservation(&other, last).await.unwrap();
    assert_eq!(
        store
            .reserve(&acme, std::slice::from_ref(&hourly), at)
            .await
            .unwrap(),
        Reservation::Full(hourly.clone())
    );
    store.release_reservation(&acme, last).await.unwrap();
    assert!(matches!(
        store
            .reserve(&acme, std::slice::from_ref(&hourly), at)
            .await
            .unwrap(),
        Reservation::Granted(_)
    ));
}

/// Many tasks on two stores racing for the last slots of a cap: exactly `max` are granted; two
/// caps taken in opposite orders never deadlock and never overshoot.
pub async fn concurrent_reservations_never_overshoot(db: &Db) {
    let stores = [Arc::new(db.store().await), Arc::new(db.store().await)];
    let acme = tenant("acme");
    let now = Utc::now();
    let (a, b) = (cap("cap-a", 5, 3600), cap("cap-b", 7, 3600));
    // Take all but one slot of cap-a first, so the race is for the last one.
    for _ in 0..4 {
        stores[0]
            .reserve(&acme, std::slice::from_ref(&a), now)
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let store = stores[n % 2].clone();
            let (acme, a) = (acme.clone(), a.clone());
            tokio::spawn(async move { store.reserve(&acme, &[a], now).await.unwrap() })
        })
        .collect();
    let mut granted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Reservation::Granted(_) => granted += 1,
            Reservation::Full(full) => assert_eq!(full.id.as_str(), "cap-a"),
        }
    }
    assert_eq!(granted, 1, "the last slot of cap-a went to {granted} tasks");

    let (c, d) = (cap("cap-c", 5, 3600), b);
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let store = stores[n % 2].clone();
            let caps = if n % 2 == 0 {
                vec![c.clone(), d.clone()]
            } else {
                vec![d.clone(), c.clone()]
            };
            let acme = acme.clone();
            tokio::spawn(async move { store.reserve(&acme, &caps, now).await.unwrap() })
        })
        .collect();
    let mut granted = 0;
    for task in tasks {
        if matches!(task.await.unwrap(), Reservation::Granted(_)) {
            granted += 1;
        }
    }
    assert_eq!(granted, 5, "cap-c (max 5) let {granted} through");
    // cap-d took exactly those 5 of its 7.
    for _ in 0..2 {
        assert!(matches!(
            stores[1]
                .reserve(&acme, std::slice::from_ref(&d), now)
                .await
                .unwrap(),
            Reservation::Granted(_)
        ));
    }
    assert_eq!(
        stores[1]
            .reserve(&acme, std::slice::from_ref(&d), now)
            .await
            .unwrap(),
        Reservation::Full(d)
    );
}

// ---------------------------------------------------------------------------------------------
// audit

/// Appends seal one chain per tenant, in order, redacted, anchored by a head sealed with the
/// tenant's key; the chain verifies and continues from another store.
pub async fn audit_chains_are_sealed_ordered_and_anchored(db: &Db) {
    let store = db.store().await;
    let (acme, other) = (tenant("acme"), tenant("other"));
    let mut sealed = Vec::new();
    for n in 0..5 {
        sealed.push(store.append(record(&acme, n)).await.unwrap());
    }
    let first_other = store.append(record(&other, 0)).await.unwrap();
    assert_eq!(
        (first_other.seq, first_other.prev_mac.as_str()),
        (1, GENESIS_MAC)
    );
    assert!(first_other.is_sealed_with(&key_of(&other)));
    assert!(!first_other.is_sealed_with(&key_of(&acme)));

    let events = store.events(&acme).await.unwrap();
    assert_eq!(events, sealed);
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event.seq, i as u64 + 1);
        assert_eq!(
            event.record.actor.as_deref(),
            Some(format!("actor-{i}").as_str())
        );
        assert!(event.is_sealed_with(&key_of(&acme)));
        assert_eq!(event.record.data["params"]["password"], "[REDACTED]");
        if i > 0 {
            assert_eq!(event.prev_mac, events[i - 1].mac);
        }
    }
    let head = store.audit_head(&acme).await.unwrap().unwrap();
    assert_eq!((head.seq, &head.event_mac), (5, &events[4].mac));
    assert!(head.is_sealed_with(&key_of(&acme)));
    let summary = store.verify_tenant(&acme).await.unwrap().unwrap();
    assert_eq!((summary.events, summary.unanchored), (5, 0));
    assert_eq!(summary.head, events[4].mac);
    assert_eq!(
        store.audit_tenants().await.unwrap(),
        vec![acme.clone(), other.clone()]
    );
    let never = tenant("never");
    assert_eq!(
        store.verify_tenant(&never).await.unwrap().unwrap().events,
        0
    );
    assert!(store.events(&never).await.unwrap().is_empty());
    assert!(store.audit_head(&never).await.unwrap().is_none());

    // No secret reached the database.
    let leaked = db
        .exec("UPDATE audit_events SET actor = actor WHERE body LIKE '%hunter2%'")
        .await;
    assert_eq!(leaked, 0);

    // Another store (another process) continues the same chain.
    let second = db.store().await;
    let sixth = second.append(record(&acme, 5)).await.unwrap();
    assert_eq!((sixth.seq, &sixth.prev_mac), (6, &events[4].mac));
    assert_eq!(store.verify_tenant(&acme).await.unwrap().unwrap().events, 6);
}

/// Appenders on two stores (two pools, as two processes would be) and many tasks: one chain,
/// no fork, every event there exactly once.
pub async fn concurrent_appends_never_fork_a_chain(db: &Db) {
    let stores = [Arc::new(db.store().await), Arc::new(db.store().await)];
    let acme = tenant("acme");
    // One event first, so both stores have verified the chain before the race, and one store
    // that starts cold during it.
    stores[0].append(record(&acme, 0)).await.unwrap();
    let cold = Arc::new(db.store().await);
    let tasks: Vec<_> = (1..=30)
        .map(|n| {
            let store = match n % 3 {
                0 => stores[0].clone(),
                1 => stores[1].clone(),
                _ => cold.clone(),
            };
            let acme = acme.clone();
            tokio::spawn(async move { store.append(record(&acme, n)).await.unwrap() })
        })
        .collect();
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap().seq);
    }
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (2..=31).collect::<Vec<u64>>(),
        "every append got its own seq"
    );
    let summary = stores[1].verify_tenant(&acme).await.unwrap().unwrap();
    assert_eq!((summary.events, summary.unanchored), (31, 0));
    let events = stores[0].events(&acme).await.unwrap();
    let mut actors: Vec<usize> = events
        .iter()
        .map(|e| {
            e.record.actor.as_ref().unwrap()["actor-".len()..]
                .parse()
                .unwrap()
        })
        .collect();
    actors.sort_unstable();
    assert_eq!(actors, (0..=30).collect::<Vec<_>>(), "each record once");
    assert_eq!(stores[0].audit_head(&acme).await.unwrap().unwrap().seq, 31);
}

/// Edits, deletions and a removed head made behind the store's back are found and named, and a
/// store refuses to append to a chain that does not verify.
pub async fn tampering_is_detected_and_appends_refused(db: &Db) {
    let store = db.store().await;
    let acme = tenant("acme");
    for n in 0..4 {
        store.append(record(&acme, n)).await.unwrap();
    }

    // An edited event.
    db.exec(
        "UPDATE audit_events SET body = replace(body, 'actor-2', 'mallory') \
         WHERE tenant = 'acme' AND seq = 3",
    )
    .await;
    let broken = store.verify_tenant(&acme).await.unwrap().unwrap_err();
    assert_eq!(
        (broken.seq, broken.kind),
        (3, BreakKind::Edited),
        "{broken}"
    );
    let fresh = db.store().await;
    let refused = fresh.append(record(&acme, 9)).await.unwrap_err();
    assert!(
        refused.message().contains("refusing to append"),
        "{refused}"
    );
    assert!(refused.message().contains("seq 3"), "{refused}");
    db.exec(
        "UPDATE audit_events SET body = replace(body, 'mallory', 'actor-2') \
         WHERE tenant = 'acme' AND seq = 3",
    )
    .await;
    assert!(store.verify_tenant(&acme).await.unwrap().is_ok());

    // The last event removed: the log is shorter than its head. The store that already verified
    // this chain refuses too, from the check every append makes under the lock.
    db.exec("DELETE FROM audit_events WHERE tenant = 'acme' AND seq = 4")
        .await;
    let broken = store.verify_tenant(&acme).await.unwrap().unwrap_err();
    assert_eq!(
        (broken.seq, broken.kind),
        (4, BreakKind::Truncated),
        "{broken}"
    );
    let refused = store.append(record(&acme, 9)).await.unwrap_err();
    assert!(
        refused.message().contains("refusing to append"),
        "{refused}"
    );
    assert_eq!(
        store.events(&acme).await.unwrap().len(),
        3,
        "nothing was appended"
    );

    // The head removed: fails closed.
    db.exec("DELETE FROM audit_heads WHERE tenant = 'acme'")
        .await;
    let broken = store.verify_tenant(&acme).await.unwrap().unwrap_err();
    assert_eq!(broken.kind, BreakKind::HeadMissing, "{broken}");
    assert!(store.append(record(&acme, 9)).await.is_err());
    // ... and the tenant is still listed, so the loss shows when everything is verified.
    assert_eq!(store.audit_tenants().await.unwrap(), vec![acme.clone()]);

    // A forged head (sealed with another tenant's key) is named as forged.
    let events = store.events(&acme).await.unwrap();
    let forged = stackhand_core::audit::AuditHead::seal(&events[2], &key_of(&tenant("other")));
    db.exec(&format!(
        "INSERT INTO audit_heads (tenant, seq, event_mac, mac) VALUES ('acme', 3, '{}', '{}')",
        forged.event_mac, forged.mac
    ))
    .await;
    let broken = store.verify_tenant(&acme).await.unwrap().unwrap_err();
    assert_eq!(broken.kind, BreakKind::HeadForged, "{broken}");
}

// ---------------------------------------------------------------------------------------------
// the engine on the store

/// An engine keeping its keys, approvals, caps and audit trail in the store runs requests end to
/// end; a second engine on a second store (another process) approves, and a retry replays.
pub async fn an_engine_runs_end_to_end_on_the_store(db: &Db) {
    let policy = PolicyLoader::new()
        .add_str(
            "acme.toml",
            r#"
            [scope]
            tenant = "acme"

            [[rules]]
            id = "groups-need-a-lead"
            actions = ["identity.add_to_group"]
            effect = "approve"
            approvers = [{ role = "msp.lead" }]

            [[rules]]
            id = "technicians-revoke"
            actions = ["identity.revoke_sessions"]
            effect = "allow"

            [[caps]]
            id = "cap-identity"
            actions = ["identity.*"]
            max_per_hour = 2
            "#,
        )
        .build()
        .unwrap();
    let policy: Arc<dyn stackhand_core::Policy> = Arc::new(policy);
    let staff = Arc::new(
        MemoryStaffDirectory::new()
            .with(
                StaffMember::technician("tech@msp.example").role("msp.tech", RoleScope::AllTenants),
            )
            .with(
                StaffMember::technician("lead@msp.example").role("msp.lead", RoleScope::AllTenants),
            ),
    );
    let acme = tenant("acme");
    let memory = MemoryConnector::demo(acme.clone());
    let engine_on = |store: Arc<Store>| {
        let engine = Engine::builder(policy.clone(), store.clone())
            .store(store)
            .staff(staff.clone())
            .build();
        engine
            .add_tenant(
                Tenant::new(acme.clone(), "Acme"),
                ConnectorSet::new(acme.clone())
                    .with(Arc::new(memory.clone()))
                    .unwrap(),
            )
            .unwrap();
        engine
    };
    let (first_store, second_store) = (Arc::new(db.store().await), Arc::new(db.store().await));
    let (first, second) = (
        engine_on(first_store.clone()),
        engine_on(second_store.clone()),
    );

    // Needs a lead: waits, durably.
    let add = ActionRequest::new(
        key("ticket-1"),
        acme.clone(),
        ActionId::from_static("identity.add_to_group"),
        &json!({ "user": "jane@acme.example", "group": "Sales" }),
        Principal::agent("stackhand"),
    )
    .unwrap();
    let pending = first.submit(add.clone()).await.unwrap();
    let approval = pending.approval().expect("a lead must approve").clone();
    let listed = second_store
        .pending_approvals(&acme, Utc::now())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, approval.id);
    assert!(matches!(
        second_store.state(&acme, &key("ticket-1")).await.unwrap(),
        Some(KeyState::Pending { approval: id }) if id == approval.id
    ));

    // The other engine approves; it executes once.
    let lead = Principal::technician("lead@msp.example", &[]);
    let done = second.approve(approval.id, &lead).await.unwrap();
    assert_eq!(done.receipt().unwrap().outcome.status, StepStatus::Verified);
    assert!(memory.state().members["g-sales"].contains(&"jane".to_string()));
    // Approving again, on the first engine, replays instead of executing.
    let again = first.approve(approval.id, &lead).await.unwrap();
    assert_eq!(again.label(), "executed");
    // So does resubmitting the request.
    let replay = first.submit(add).await.unwrap();
    assert!(matches!(replay, Submission::Duplicate(_)), "{replay:?}");
    assert!(
        first_store
            .pending_approvals(&acme, Utc::now())
            .await
            .unwrap()
            .is_empty()
    );

    // The cap (2 an hour over identity.*) counts the approved execution: one more, then full.
    let revoke = |k: &str| {
        ActionRequest::new(
            key(k),
            acme.clone(),
            ActionId::from_static("identity.revoke_sessions"),
            &json!({ "user": "jane@acme.example" }),
            Principal::technician("tech@msp.example", &[]),
        )
        .unwrap()
    };
    assert_eq!(
        first.submit(revoke("ticket-2")).await.unwrap().label(),
        "executed"
    );
    let capped = second.submit(revoke("ticket-3")).await.unwrap();
    assert_eq!(
        capped.denial().expect("the cap is full").rule.as_str(),
        "cap-identity"
    );
    assert_eq!(memory.state().revoked_sessions.len(), 1);

    // Every step is in the tenant's chain, which verifies from either store.
    let kinds: Vec<AuditKind> = first_store
        .events(&acme)
        .await
        .unwrap()
        .iter()
        .map(|e: &AuditEvent| e.record.kind)
        .collect();
    for kind in [
        AuditKind::PlanRecorded,
        AuditKind::ApprovalRequested,
        AuditKind::ApprovalGranted,
        AuditKind::ExecutionStarted,
        AuditKind::ExecutionSucceeded,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} missing from {kinds:?}");
    }
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == AuditKind::ExecutionSucceeded)
            .count(),
        2
    );
    let summary = second_store.verify_tenant(&acme).await.unwrap().unwrap();
    assert_eq!(summary.events as usize, kinds.len());
    assert_eq!(first.audit_trail(&acme).await.unwrap().len(), kinds.len());
}

// ---------------------------------------------------------------------------------------------
// failures

/// A failure names what the store was doing, is classed (a closed pool is temporary), and never
/// shows a password.
pub async fn failures_say_what_failed(db: &Db) {
    let store = db.store().await;
    assert!(format!("{store:?}").contains(db.kind.as_str()));
    store.close().await;
    let err = store
        .claim(&tenant("acme"), &key("k1"), "fp")
        .await
        .unwrap_err();
    assert!(err.is_temporary(), "{err}");
    assert!(
        err.message()
            .contains("claiming idempotency key k1 of tenant acme"),
        "{err}"
    );
    assert_eq!(err.context_value("backend"), Some(db.kind.as_str()));
    let err = store.append(record(&tenant("acme"), 1)).await.unwrap_err();
    assert!(
        err.message().contains("audit chain of tenant acme"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// runs

/// A run is recorded once per (tenant, id) with its steps pending; steps move to started and
/// finished; unfinished runs are listed until the run is finished; a run never changes its
/// plan; requests are kept without their secret parameters.
pub async fn runs_record_their_steps_and_what_is_left(db: &Db) {
    let store = db.store().await;
    let runs = store.runs();
    let (acme, other) = (tenant("acme"), tenant("other"));
    let secret = "Run-Secret-7731";
    let run = NewRun::new("T-1", "onboard jane")
        .ticket("1001")
        .step(request(&acme, "T-1.0"))
        .step(request(&acme, "T-1.1").with_secret("password", secret.to_string().into()))
        .step(request(&acme, "T-1.2"));
    let first = runs.create(&acme, &run).await.unwrap();
    assert!(first.created);
    assert_eq!(first.run.state, RunState::Running);
    assert_eq!(first.run.ticket.as_deref(), Some("1001"));
    assert!(
        first
            .run
            .steps
            .iter()
            .all(|s| s.state == StepState::Pending)
    );
    assert!(
        !runs.create(&acme, &run).await.unwrap().created,
        "recorded twice"
    );

    let changed = NewRun::new("T-1", "onboard jane").step(request(&acme, "T-9.0"));
    let conflict = runs.create(&acme, &changed).await.unwrap_err();
    assert_eq!(conflict.kind(), ErrorKind::Conflict, "{conflict}");
    let foreign = NewRun::new("T-2", "x").step(request(&other, "T-2.0"));
    assert_eq!(
        runs.create(&acme, &foreign).await.unwrap_err().kind(),
        ErrorKind::Invalid
    );
    // Another tenant's run of the same id is its own.
    let theirs = NewRun::new("T-1", "theirs").step(request(&other, "T-1.0"));
    assert!(runs.create(&other, &theirs).await.unwrap().created);

    runs.step_started(&acme, "T-1", 0).await.unwrap();
    runs.step_finished(&acme, "T-1", 0, "executed", "done", None)
        .await
        .unwrap();
    runs.step_started(&acme, "T-1", 1).await.unwrap();
    let first_start = runs.get(&acme, "T-1").await.unwrap().unwrap().steps[1].started;
    runs.step_started(&acme, "T-1", 1).await.unwrap();
    let unfinished = runs.unfinished(&acme).await.unwrap();
    assert_eq!(unfinished.len(), 1);
    let back = &unfinished[0];
    assert_eq!(back.steps[0].state, StepState::Finished);
    assert_eq!(back.steps[0].answer.as_deref(), Some("executed"));
    assert_eq!(back.steps[1].state, StepState::Started);
    assert_eq!(
        back.steps[1].started, first_start,
        "a resume keeps the first start"
    );
    assert_eq!(back.next_step().map(|s| s.index), Some(1));
    assert_eq!(back.steps[1].request.idempotency_key.as_str(), "T-1.1");
    assert!(!format!("{back:?}").contains(secret));

    let missing = runs.step_started(&acme, "T-1", 7).await.unwrap_err();
    assert!(missing.message().contains("has 3 steps"), "{missing}");
    let unknown = runs
        .finish(&acme, "nope", RunState::Failed, None)
        .await
        .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound);

    runs.step_finished(&acme, "T-1", 1, "executed", "done", None)
        .await
        .unwrap();
    runs.step_finished(&acme, "T-1", 2, "executed", "done", None)
        .await
        .unwrap();
    runs.finish(&acme, "T-1", RunState::Succeeded, None)
        .await
        .unwrap();
    assert!(runs.unfinished(&acme).await.unwrap().is_empty());
    assert_eq!(runs.unfinished(&other).await.unwrap().len(), 1);
    let recent = runs.recent(&acme, 10).await.unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].state, RunState::Succeeded);
    assert!(recent[0].next_step().is_none());

    let rows = db.dump().await.join("\n");
    assert!(
        !rows.contains(secret),
        "a run's secret parameter reached the database"
    );
}

/// A step's place in its run (name, waits, condition, time, secret sources) and its output are
/// kept; a run whose steps wait for later ones, or name two steps alike, is refused; the same
/// run with another flow is a conflict; a scheduled run is unfinished.
pub async fn runs_keep_each_steps_flow_and_output(db: &Db) {
    let store = db.store().await;
    let runs = store.runs();
    let acme = tenant("acme");
    let start = Utc::now() + Duration::days(3);
    let flow = StepFlow {
        name: Some("deliver".into()),
        after: Some(vec![0]),
        when: Some(Condition {
            value: "{steps.account.enabled}".into(),
            test: ConditionTest::Equals("true".into()),
        }),
        not_before: Some(start),
        secrets: [("enclosed".to_string(), "initial_password".to_string())].into(),
    };
    let named = StepFlow {
        name: Some("account".into()),
        ..StepFlow::default()
    };
    let run = NewRun::new("T-5", "onboard jane")
        .origin("c0ffee")
        .step_with(request(&acme, "T-5.0"), named.clone())
        .step(request(&acme, "T-5.1"))
        .step_with(request(&acme, "T-5.2"), flow.clone());
    runs.create(&acme, &run).await.unwrap();
    let back = runs.get(&acme, "T-5").await.unwrap().unwrap();
    assert_eq!(back.steps[2].flow, flow);
    assert_eq!(back.steps[1].flow, StepFlow::default());
    assert_eq!(back.steps[1].flow.waits_for(1), vec![0]);
    assert_eq!(back.named("account").map(|s| s.index), Some(0));
    assert_eq!(back.origin.as_deref(), Some("c0ffee"));

    let other_flow = NewRun::new("T-5", "onboard jane")
        .step_with(request(&acme, "T-5.0"), named.clone())
        .step(request(&acme, "T-5.1"))
        .step(request(&acme, "T-5.2"));
    let conflict = runs.create(&acme, &other_flow).await.unwrap_err();
    assert_eq!(conflict.kind(), ErrorKind::Conflict, "{conflict}");
    let forward = NewRun::new("T-6", "x").step_with(
        request(&acme, "T-6.0"),
        StepFlow {
            after: Some(vec![0]),
            ..StepFlow::default()
        },
    );
    let refused = runs.create(&acme, &forward).await.unwrap_err();
    assert!(refused.message().contains("waits for step 0"), "{refused}");
    let twice = NewRun::new("T-7", "x")
        .step_with(request(&acme, "T-7.0"), named.clone())
        .step_with(request(&acme, "T-7.1"), named);
    let refused = runs.create(&acme, &twice).await.unwrap_err();
    assert!(refused.message().contains("named \"account\""), "{refused}");

    let output = json!({ "login": "jane@acme.example", "enabled": true });
    runs.step_finished(&acme, "T-5", 0, "executed", "created", Some(&output))
        .await
        .unwrap();
    runs.finish(&acme, "T-5", RunState::Scheduled, Some("step 2 waits"))
        .await
        .unwrap();
    let back = runs.get(&acme, "T-5").await.unwrap().unwrap();
    assert_eq!(back.steps[0].output.as_ref(), Some(&output));
    assert_eq!(back.steps[1].output, None);
    assert_eq!(back.state, RunState::Scheduled);
    let unfinished = runs.unfinished(&acme).await.unwrap();
    assert_eq!(
        unfinished.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["T-5"]
    );

    // A bulk request's runs are listed under their parent, and only there.
    for (id, key) in [("T-8.for-1", "T-8.1.0"), ("T-8.for-0", "T-8.0.0")] {
        let child = NewRun::new(id, "one of a bulk request")
            .parent("T-8")
            .step(request(&acme, key));
        runs.create(&acme, &child).await.unwrap();
    }
    let children = runs.children(&acme, "T-8").await.unwrap();
    assert_eq!(
        children.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["T-8.for-0", "T-8.for-1"]
    );
    assert_eq!(children[0].parent.as_deref(), Some("T-8"));
    assert!(runs.children(&acme, "T-5").await.unwrap().is_empty());
    assert!(
        runs.children(&tenant("other"), "T-8")
            .await
            .unwrap()
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------------
// intake watermarks

/// A watermark starts absent, moves forward only, and is the tenant's and the source's own.
pub async fn watermarks_only_move_forward(db: &Db) {
    let store = db.store().await;
    let (acme, other) = (tenant("acme"), tenant("other"));
    let noon = Utc::now();
    assert_eq!(store.watermark(&acme, "psa").await.unwrap(), None);
    store.advance_watermark(&acme, "psa", noon).await.unwrap();
    assert_eq!(store.watermark(&acme, "psa").await.unwrap(), Some(noon));
    store
        .advance_watermark(&acme, "psa", noon - Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        store.watermark(&acme, "psa").await.unwrap(),
        Some(noon),
        "a watermark moved back"
    );
    let later = noon + Duration::minutes(5);
    store.advance_watermark(&acme, "psa", later).await.unwrap();
    assert_eq!(store.watermark(&acme, "psa").await.unwrap(), Some(later));
    assert_eq!(store.watermark(&other, "psa").await.unwrap(), None);
    assert_eq!(store.watermark(&acme, "mail").await.unwrap(), None);
}

// ---------------------------------------------------------------------------------------------
// triage models

/// A tenant's triage model is its own, and training again replaces it.
pub async fn triage_models_are_per_tenant_and_replaced(db: &Db) {
    let store = db.store().await;
    let (acme, other) = (tenant("acme"), tenant("other"));
    assert_eq!(store.triage_model(&acme).await.unwrap(), None);
    let summary = serde_json::json!({"labelled": 3});
    store
        .save_triage_model(&acme, "{\"format\":1}", &summary)
        .await
        .unwrap();
    let saved = store.triage_model(&acme).await.unwrap().unwrap();
    assert_eq!(
        (saved.model.as_str(), &saved.summary),
        ("{\"format\":1}", &summary)
    );
    let again = serde_json::json!({"labelled": 5});
    store
        .save_triage_model(&acme, "{\"format\":1,\"x\":2}", &again)
        .await
        .unwrap();
    let replaced = store.triage_model(&acme).await.unwrap().unwrap();
    assert_eq!(replaced.summary, again);
    assert!(replaced.trained_at >= saved.trained_at);
    assert_eq!(store.triage_model(&other).await.unwrap(), None);
}

// ---------------------------------------------------------------------------------------------
// API tokens

/// A token is shown once and kept only as a digest: it authenticates as its staff member with
/// its tenants until revoked, nothing else authenticates, the list never holds the token, and
/// a revoked token stays listed (with when) but authenticates nothing.
pub async fn api_tokens_are_kept_hashed_scoped_and_revocable(db: &Db) {
    use secrecy::ExposeSecret;
    let store = db.store().await;
    let (acme, other) = (tenant("acme"), tenant("other"));
    let (limited, token) = store
        .issue_api_token("lead@msp.example", &[acme.clone(), acme.clone()], None)
        .await
        .unwrap();
    let (open, open_token) = store
        .issue_api_token("tech@msp.example", &[], None)
        .await
        .unwrap();
    let token = token.expose_secret().to_string();
    assert!(
        token.starts_with(stackhand_store::API_TOKEN_PREFIX),
        "{token}"
    );
    // 256 random bits, hex.
    assert_eq!(token.len(), stackhand_store::API_TOKEN_PREFIX.len() + 64);
    assert_ne!(token, open_token.expose_secret());
    assert_eq!(limited.tenants, vec![acme.clone()], "listed once");
    assert!(limited.allows(&acme) && !limited.allows(&other));
    assert!(open.allows(&acme) && open.allows(&other));

    let found = store.authenticate_api_token(&token).await.unwrap().unwrap();
    assert_eq!(
        (found.id.as_str(), found.principal.as_str()),
        (limited.id.as_str(), "lead@msp.example")
    );
    assert_eq!(found.tenants, vec![acme.clone()]);
    assert!(found.last_used.is_some(), "a use is noted");
    for wrong in [
        "",
        "shk_",
        &token[..token.len() - 1],
        &format!("{token}0"),
        &token.to_uppercase(),
        &limited.id,
    ] {
        assert_eq!(
            store.authenticate_api_token(wrong).await.unwrap(),
            None,
            "{wrong:?}"
        );
    }

    // The database holds no token, only its digest.
    let listed = store.api_tokens().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].id, limited.id);
    assert!(!format!("{listed:?}").contains(&token[4..]));

    assert!(store.revoke_api_token(&limited.id).await.unwrap());
    assert!(
        !store.revoke_api_token(&limited.id).await.unwrap(),
        "already revoked"
    );
    assert!(!store.revoke_api_token("tok_unknown").await.unwrap());
    assert_eq!(store.authenticate_api_token(&token).await.unwrap(), None);
    let listed = store.api_tokens().await.unwrap();
    assert!(listed[0].revoked.is_some() && listed[1].revoked.is_none());
    assert!(
        store
            .authenticate_api_token(open_token.expose_secret())
            .await
            .unwrap()
            .is_some(),
        "revoking one token leaves the others"
    );

    // A token with an expiry authenticates until then and nothing after; one cannot be issued
    // already expired.
    let expires = Utc::now() + Duration::milliseconds(1_200);
    let (brief, brief_token) = store
        .issue_api_token("tech@msp.example", &[], Some(expires))
        .await
        .unwrap();
    assert!(brief.expires.is_some() && open.expires.is_none());
    let brief_token = brief_token.expose_secret().to_string();
    assert!(
        store
            .authenticate_api_token(&brief_token)
            .await
            .unwrap()
            .is_some()
    );
    let wait = (expires - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + std::time::Duration::from_millis(50)).await;
    assert_eq!(
        store.authenticate_api_token(&brief_token).await.unwrap(),
        None,
        "an expired token authenticated"
    );
    let listed = store.api_tokens().await.unwrap();
    assert!(listed[2].expired_at(Utc::now()), "{:?}", listed[2]);
    let past = store
        .issue_api_token("tech@msp.example", &[], Some(Utc::now()))
        .await
        .unwrap_err();
    assert!(past.message().contains("in the past"), "{past}");
    store.ping().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// shared rate budgets

/// Runners on one database share each (tenant, vendor) bucket: of many takes at once exactly
/// `burst` go through, the next waits for a refill, a pause holds everyone, and another tenant
/// has its own bucket.
pub async fn rate_buckets_are_shared_by_every_runner(db: &Db) {
    let stores = [Arc::new(db.store().await), Arc::new(db.store().await)];
    let (acme, other) = (tenant("acme"), tenant("other"));
    // One token an hour: no refill worth a token during the test.
    let per_second = 1.0 / 3600.0;
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let store = stores[n % 2].clone();
            let acme = acme.clone();
            tokio::spawn(async move {
                store
                    .take_rate_token(&acme, "okta", per_second, 5)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut sent = 0;
    for task in tasks {
        let wait = task.await.unwrap();
        if wait.is_zero() {
            sent += 1;
        } else {
            assert!(wait > std::time::Duration::from_secs(3000), "{wait:?}");
        }
    }
    assert_eq!(sent, 5, "{sent} requests went out of a burst of 5");
    let theirs = stores[1]
        .take_rate_token(&other, "okta", per_second, 5)
        .await
        .unwrap();
    assert!(theirs.is_zero(), "another tenant's bucket was spent");

    // A vendor's pause holds every runner, even with tokens left.
    stores[0]
        .pause_rate(&other, "okta", std::time::Duration::from_secs(600))
        .await
        .unwrap();
    let held = stores[1]
        .take_rate_token(&other, "okta", per_second, 5)
        .await
        .unwrap();
    assert!(held > std::time::Duration::from_secs(500), "{held:?}");
    let bad = stores[0].take_rate_token(&acme, "okta", 0.0, 5).await;
    assert_eq!(bad.unwrap_err().kind(), ErrorKind::Invalid);
}

/// Refused calls are recorded up to a budget per source; past it they are throttled (not
/// recorded, with a time to come back), while another source is still recorded.
pub async fn refusals_are_recorded_up_to_a_budget_per_source(db: &Db) {
    use stackhand_store::{AccessRefusal, REFUSALS_PER_MINUTE, Refused};
    let store = db.store().await;
    let acme = tenant("acme");
    let refusal = |source: &str| AccessRefusal {
        chain: &acme,
        source: Some(source.parse().unwrap()),
        status: 401,
        method: "GET",
        path: "/v1/tenants/acme/runs",
        tenant: Some("acme"),
        token: None,
        why: "no bearer token",
    };
    let mut recorded = 0;
    let mut throttled = None;
    // The budget refills one refusal every two seconds, so a slow machine may record a few
    // more before the first is throttled: go on until one is.
    for _ in 0..REFUSALS_PER_MINUTE * 2 {
        match store.audit_refusal(refusal("203.0.113.7")).await.unwrap() {
            Refused::Recorded => recorded += 1,
            Refused::Throttled { retry_after_secs } => {
                throttled = Some(retry_after_secs);
                break;
            }
        }
    }
    assert!(recorded >= REFUSALS_PER_MINUTE, "{recorded}");
    let wait = throttled.expect("the source past its budget is throttled");
    assert!((1..=2).contains(&wait), "{wait}");
    assert_eq!(
        store.audit_refusal(refusal("198.51.100.1")).await.unwrap(),
        Refused::Recorded,
        "another source has its own budget"
    );
    let trail = store.events(&acme).await.unwrap();
    let kept = trail
        .iter()
        .filter(|e| e.record.kind == AuditKind::AccessRefused)
        .count();
    assert_eq!(
        kept as u32,
        recorded + 1,
        "a throttled refusal was recorded"
    );
    let first = &trail[0].record.data;
    assert_eq!(first["source"], "203.0.113.7");
    assert_eq!(first["why"], "no bearer token");
}
