//! The store's behaviour suite (`suite/`), run against SQLite (a file per test) and PostgreSQL
//! (a schema per test in the database `TEST_POSTGRES_URL` names, by default
//! `postgres://postgres@127.0.0.1:5432/test`). Without a PostgreSQL server the PostgreSQL tests
//! fail, saying how to get one; they are never skipped.

mod suite;
mod support;

use std::sync::Arc;

use chrono::{Duration, Utc};
use stackhand_core::audit::AuditSink;
use stackhand_core::engine::{Claim, EngineStore, KeyState, Reservation};
use stackhand_core::policy::{CapLimit, RuleId};
use stackhand_core::{ErrorKind, IdempotencyKey, TenantId};
use stackhand_store::{BackendKind, Store};
use support::{Db, keys};

/// One `#[tokio::test]` per backend for each behaviour of the suite.
macro_rules! behaviours {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = crate::support::Db::sqlite().await;
                    crate::suite::$name(&db).await;
                    db.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = crate::support::Db::postgres().await;
                    crate::suite::$name(&db).await;
                    db.finish().await;
                }
            )*
        }
    };
}

behaviours!(
    keys_behave_like_the_memory_store,
    key_states_round_trip,
    concurrent_claims_have_one_winner,
    concurrent_begins_have_one_winner,
    approvals_insert_resolve_and_list,
    concurrent_resolutions_have_one_winner,
    caps_reserve_over_a_sliding_window,
    concurrent_reservations_never_overshoot,
    audit_chains_are_sealed_ordered_and_anchored,
    concurrent_appends_never_fork_a_chain,
    tampering_is_detected_and_appends_refused,
    an_engine_runs_end_to_end_on_the_store,
    failures_say_what_failed,
    runs_record_their_steps_and_what_is_left,
    runs_keep_each_steps_flow_and_output,
    watermarks_only_move_forward,
    triage_models_are_per_tenant_and_replaced,
    rate_buckets_are_shared_by_every_runner,
    api_tokens_are_kept_hashed_scoped_and_revocable,
    refusals_are_recorded_up_to_a_budget_per_source,
);

fn tenant() -> TenantId {
    TenantId::new("acme").unwrap()
}

/// Closing and reopening a SQLite file keeps keys, approvals, reservations and the audit chain,
/// and the chain continues where it stopped.
#[tokio::test]
async fn sqlite_file_survives_a_reopen() {
    let db = Db::sqlite().await;
    let acme = tenant();
    let k = IdempotencyKey::new("k1").unwrap();
    let cap = CapLimit {
        id: RuleId::new("cap"),
        max: 1,
        window_seconds: 3600,
    };
    let now = Utc::now();
    let approval_id;
    {
        let store = db.store().await;
        store.claim(&acme, &k, "fp").await.unwrap();
        store
            .settle(
                &acme,
                &k,
                KeyState::Denied {
                    decision: stackhand_core::Decision::no_policy(),
                },
            )
            .await
            .unwrap();
        let mut approval = suite_approval(&acme);
        approval.created = now;
        approval.expires = now + Duration::hours(1);
        approval_id = approval.id;
        store.insert_approval(&approval).await.unwrap();
        assert!(matches!(
            store
                .reserve(&acme, std::slice::from_ref(&cap), now)
                .await
                .unwrap(),
            Reservation::Granted(_)
        ));
        for n in 0..3 {
            store.append(audit_record(&acme, n)).await.unwrap();
        }
        store.close().await;
    }
    let store = db.store().await;
    assert!(matches!(
        store.state(&acme, &k).await.unwrap(),
        Some(KeyState::Denied { .. })
    ));
    assert!(matches!(
        store.claim(&acme, &k, "fp").await.unwrap(),
        Claim::Seen(_)
    ));
    assert_eq!(
        store.claim(&acme, &k, "other").await.unwrap_err().kind(),
        ErrorKind::Conflict
    );
    let pending = store.pending_approvals(&acme, now).await.unwrap();
    assert_eq!(
        pending.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![approval_id]
    );
    assert_eq!(
        store
            .reserve(&acme, std::slice::from_ref(&cap), now)
            .await
            .unwrap(),
        Reservation::Full(cap)
    );
    assert_eq!(store.verify_tenant(&acme).await.unwrap().unwrap().events, 3);
    assert_eq!(store.append(audit_record(&acme, 3)).await.unwrap().seq, 4);
    assert_eq!(store.verify_tenant(&acme).await.unwrap().unwrap().events, 4);
}

/// A SQLite file is in WAL mode (readers never wait for the writer) with full sync.
#[tokio::test]
async fn sqlite_files_use_wal() {
    let db = Db::sqlite().await;
    let _store = db.store().await;
    // The journal mode is a property of the file: a plain connection sees it.
    use sqlx::Connection;
    use std::str::FromStr;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(&db.url).unwrap();
    let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

/// `sqlite::memory:` is a whole store in memory, for tests and demos.
#[tokio::test]
async fn sqlite_memory_is_a_store_too() {
    let store = Store::connect("sqlite::memory:", keys()).await.unwrap();
    assert_eq!(store.kind(), BackendKind::Sqlite);
    let acme = tenant();
    let k = IdempotencyKey::new("k1").unwrap();
    assert!(matches!(
        store.claim(&acme, &k, "fp").await.unwrap(),
        Claim::New
    ));
    for n in 0..3 {
        store.append(audit_record(&acme, n)).await.unwrap();
    }
    assert_eq!(store.verify_tenant(&acme).await.unwrap().unwrap().events, 3);
    // A second in-memory store is another database.
    let other = Store::connect("sqlite::memory:", keys()).await.unwrap();
    assert!(other.state(&acme, &k).await.unwrap().is_none());
}

/// Bad URLs are refused with a message that says what to use, and never show a password.
#[tokio::test]
async fn bad_urls_are_named_without_their_passwords() {
    let err = Store::connect("mysql://root:hunter2@localhost/db", keys())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.message().contains("\"mysql\""), "{err}");
    assert!(err.message().contains("sqlite://"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");

    // Nothing listens on port 1: the connection is refused, and the error says where it tried.
    let err = Store::connect("postgres://app:hunter2@127.0.0.1:1/db", keys())
        .await
        .unwrap_err();
    let shown = err.to_string();
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
    assert!(
        shown.contains("postgres://app:***@127.0.0.1:1/db"),
        "{shown}"
    );
    assert!(err.is_temporary(), "{shown}");

    let err = Store::connect("sqlite:///nonexistent-dir/x/y.db", keys())
        .await
        .unwrap_err();
    assert!(
        err.message()
            .contains("opening sqlite:///nonexistent-dir/x/y.db"),
        "{err}"
    );
}

/// Each store's pool is its own: two stores on one file see each other's writes at once.
#[tokio::test]
async fn two_stores_on_one_file_share_everything() {
    let db = Db::sqlite().await;
    let (a, b) = (Arc::new(db.store().await), Arc::new(db.store().await));
    let acme = tenant();
    let k = IdempotencyKey::new("k1").unwrap();
    assert!(matches!(
        a.claim(&acme, &k, "fp").await.unwrap(),
        Claim::New
    ));
    assert!(matches!(
        b.claim(&acme, &k, "fp").await.unwrap(),
        Claim::Seen(_)
    ));
    b.append(audit_record(&acme, 0)).await.unwrap();
    assert_eq!(a.append(audit_record(&acme, 1)).await.unwrap().seq, 2);
}

fn suite_approval(tenant: &TenantId) -> stackhand_core::Approval {
    use stackhand_core::policy::{Approver, Decision, Effect};
    stackhand_core::Approval {
        id: stackhand_core::ApprovalId::new(),
        tenant: tenant.clone(),
        operation: stackhand_core::Operation::Execute,
        request: stackhand_core::ActionRequest::new(
            IdempotencyKey::new("req-1").unwrap(),
            tenant.clone(),
            stackhand_core::ActionId::from_static("identity.unlock"),
            &serde_json::json!({ "user": "bob@acme.example" }),
            stackhand_core::Principal::agent("stackhand"),
        )
        .unwrap(),
        plan: stackhand_core::Plan::new(
            stackhand_core::ActionId::from_static("identity.unlock"),
            tenant.clone(),
            "unlock bob",
        ),
        decision: Decision::new(
            Effect::RequireApproval {
                approvers: vec![Approver::Role("msp.lead".into())],
            },
            RuleId::new("r"),
            "approval",
        ),
        approvers: vec![Approver::Role("msp.lead".into())],
        created: Utc::now(),
        expires: Utc::now() + Duration::hours(1),
        status: stackhand_core::ApprovalStatus::Pending,
    }
}

fn audit_record(tenant: &TenantId, n: usize) -> stackhand_core::audit::AuditRecord {
    stackhand_core::audit::AuditRecord {
        tenant: tenant.clone(),
        at: Utc::now(),
        kind: stackhand_core::audit::AuditKind::PlanRecorded,
        request: None,
        action: None,
        actor: Some(format!("actor-{n}")),
        data: serde_json::json!({ "n": n }),
    }
}
