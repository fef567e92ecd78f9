//! The work queue on SQLite (a file per test) and PostgreSQL (a schema per test in the database
//! `TEST_POSTGRES_URL` names, by default `postgres://postgres@127.0.0.1:5432/test`; without a
//! server these tests fail, saying how to get one), and the done-when test: two worker
//! *processes* share 1,000 jobs on PostgreSQL while one of them is killed.
//!
//! The worker processes are this test binary itself, started again with
//! `queue_worker_process --exact` and `STACKHAND_QUEUE_WORKER` set; without that variable the
//! `queue_worker_process` test does nothing.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use stackhand_core::{ErrorKind, TenantId};
use stackhand_store::{JobId, JobState, NewJob, Store};
use support::Db;

/// One `#[tokio::test]` per backend for each behaviour below.
macro_rules! behaviours {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let db = crate::support::Db::sqlite().await;
                    crate::$name(&db).await;
                    db.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let db = crate::support::Db::postgres().await;
                    crate::$name(&db).await;
                    db.finish().await;
                }
            )*
        }
    };
}

behaviours!(
    enqueue_deduplicates_per_tenant,
    claim_and_complete,
    an_expired_lease_is_taken_over_and_the_old_holder_refused,
    a_heartbeat_keeps_the_lease,
    fail_retries_or_fails_for_good,
    an_ordering_key_runs_one_job_at_a_time_in_order,
    every_call_is_scoped_by_tenant,
    concurrent_claimers_never_get_the_same_job,
);

fn tenant(id: &str) -> TenantId {
    TenantId::new(id).unwrap()
}

fn job(key: &str) -> NewJob {
    NewJob::new("ticket", key, json!({ "ticket": key }))
}

const LONG: Duration = Duration::from_secs(60);

async fn enqueue_deduplicates_per_tenant(db: &Db) {
    let store = db.store().await;
    let (acme, globex) = (tenant("acme"), tenant("globex"));
    let first = store.queue().enqueue(&acme, &job("t-1")).await.unwrap();
    assert!(first.queued);
    // Same key, same tenant: the same job, whatever the payload.
    let again = store
        .queue()
        .enqueue(
            &acme,
            &NewJob::new("ticket", "t-1", json!({ "other": true })),
        )
        .await
        .unwrap();
    assert_eq!((again.id, again.queued), (first.id, false));
    // Same key, another tenant: another job.
    let other = store.queue().enqueue(&globex, &job("t-1")).await.unwrap();
    assert!(other.queued);
    assert_ne!(other.id, first.id);

    // Still one run while running and once done.
    let claimed = store.queue().claim("w1", LONG, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(claimed[0].payload, json!({ "ticket": "t-1" }));
    let again = store.queue().enqueue(&acme, &job("t-1")).await.unwrap();
    assert_eq!((again.id, again.queued), (first.id, false));
    store
        .queue()
        .complete(&acme, first.id, "w1", &json!("ok"))
        .await
        .unwrap();
    let again = store.queue().enqueue(&acme, &job("t-1")).await.unwrap();
    assert_eq!((again.id, again.queued), (first.id, false));
    assert!(
        store
            .queue()
            .claim("w2", LONG, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A job that failed for good is queued again, same id, new payload.
    store
        .queue()
        .fail(&globex, other.id, "w1", "boom", false)
        .await
        .unwrap();
    let requeued = store
        .queue()
        .enqueue(&globex, &NewJob::new("ticket", "t-1", json!({ "n": 2 })))
        .await
        .unwrap();
    assert_eq!((requeued.id, requeued.queued), (other.id, true));
    let claimed = store.queue().claim("w2", LONG, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].payload, json!({ "n": 2 }));
    assert_eq!(claimed[0].attempt, 2);
}

async fn claim_and_complete(db: &Db) {
    let store = db.store().await;
    let acme = tenant("acme");
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            store
                .queue()
                .enqueue(&acme, &job(&format!("t-{n}")))
                .await
                .unwrap()
                .id,
        );
    }
    assert!(store.queue().claim("w1", LONG, 0).await.unwrap().is_empty());
    let first = store.queue().claim("w1", LONG, 3).await.unwrap();
    assert_eq!(first.iter().map(|j| j.id).collect::<Vec<_>>(), ids[..3]);
    assert!(first.iter().all(|j| j.attempt == 1 && j.tenant == acme));
    assert!(first[0].lease_expires > chrono::Utc::now() + chrono::Duration::seconds(30));
    let rest = store.queue().claim("w2", LONG, 10).await.unwrap();
    assert_eq!(rest.iter().map(|j| j.id).collect::<Vec<_>>(), ids[3..]);
    assert!(
        store
            .queue()
            .claim("w3", LONG, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let counts = store.queue().counts(&acme).await.unwrap();
    assert_eq!((counts.queued, counts.running, counts.done), (0, 5, 0));
    store
        .queue()
        .complete(&acme, ids[0], "w1", &json!({ "resolved": true }))
        .await
        .unwrap();
    // Only the holder completes, and only once.
    let err = store
        .queue()
        .complete(&acme, ids[1], "w2", &json!("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let err = store
        .queue()
        .complete(&acme, ids[0], "w1", &json!("again"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.to_string().contains("done"), "{err}");
    let record = store.queue().job(&acme, ids[0]).await.unwrap().unwrap();
    assert_eq!(record.state, JobState::Done);
    assert_eq!(record.outcome, Some(json!({ "resolved": true })));
    assert_eq!(record.attempts, 1);
    let counts = store.queue().counts(&acme).await.unwrap();
    assert_eq!((counts.running, counts.done), (4, 1));
    assert_eq!(counts.unfinished(), 4);
}

async fn an_expired_lease_is_taken_over_and_the_old_holder_refused(db: &Db) {
    let (a, b) = (db.store().await, db.store().await);
    let acme = tenant("acme");
    let id = a.queue().enqueue(&acme, &job("t-1")).await.unwrap().id;
    let short = Duration::from_millis(300);
    assert_eq!(a.queue().claim("dead", short, 10).await.unwrap().len(), 1);
    // Not before it expires.
    assert!(
        b.queue()
            .claim("alive", short, 10)
            .await
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(b.queue().counts(&acme).await.unwrap().expired, 1);
    let taken = b.queue().claim("alive", LONG, 10).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!((taken[0].id, taken[0].attempt), (id, 2));

    // The old holder wakes up: every call on the job is refused, naming the new holder.
    let err = a
        .queue()
        .complete(&acme, id, "dead", &json!("late"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.to_string().contains("alive"), "{err}");
    for err in [
        a.queue()
            .heartbeat(&acme, id, "dead", LONG)
            .await
            .unwrap_err(),
        a.queue()
            .fail(&acme, id, "dead", "x", true)
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    }
    b.queue()
        .complete(&acme, id, "alive", &json!("on time"))
        .await
        .unwrap();
    let record = a.queue().job(&acme, id).await.unwrap().unwrap();
    assert_eq!(record.outcome, Some(json!("on time")));
    assert_eq!(record.lease_owner.as_deref(), Some("alive"));

    // A lease that expired but was not taken over is still its worker's.
    let id = a.queue().enqueue(&acme, &job("t-2")).await.unwrap().id;
    assert_eq!(a.queue().claim("slow", short, 10).await.unwrap().len(), 1);
    tokio::time::sleep(Duration::from_millis(450)).await;
    a.queue()
        .complete(&acme, id, "slow", &json!("late but alone"))
        .await
        .unwrap();
    assert!(b.queue().claim("alive", LONG, 10).await.unwrap().is_empty());
}

async fn a_heartbeat_keeps_the_lease(db: &Db) {
    let (a, b) = (db.store().await, db.store().await);
    let acme = tenant("acme");
    let id = a.queue().enqueue(&acme, &job("t-1")).await.unwrap().id;
    // Heartbeats every 200 ms keep a 1.2 s lease with a second to spare, so a loaded machine's
    // pauses do not expire it.
    let lease = Duration::from_millis(1_200);
    let claimed = a.queue().claim("w1", lease, 1).await.unwrap();
    let mut expires = claimed[0].lease_expires;
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let next = a.queue().heartbeat(&acme, id, "w1", lease).await.unwrap();
        assert!(next >= expires);
        expires = next;
        assert!(b.queue().claim("w2", lease, 10).await.unwrap().is_empty());
    }
    // 1.6 s after a 1.2 s lease was taken, it still holds: the heartbeats extended it.
    let err = b
        .queue()
        .heartbeat(&acme, id, "w2", lease)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    // Without heartbeats it expires.
    tokio::time::sleep(Duration::from_millis(1_400)).await;
    assert_eq!(b.queue().claim("w2", lease, 10).await.unwrap().len(), 1);
    assert_eq!(
        a.queue()
            .heartbeat(&acme, id, "w1", lease)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );
}

async fn fail_retries_or_fails_for_good(db: &Db) {
    let store = db.store().await;
    let acme = tenant("acme");
    let id = store.queue().enqueue(&acme, &job("t-1")).await.unwrap().id;
    store.queue().claim("w1", LONG, 1).await.unwrap();
    store
        .queue()
        .fail(&acme, id, "w1", "PSA timed out", true)
        .await
        .unwrap();
    let record = store.queue().job(&acme, id).await.unwrap().unwrap();
    assert_eq!(record.state, JobState::Queued);
    assert_eq!(record.last_error.as_deref(), Some("PSA timed out"));
    let again = store.queue().claim("w2", LONG, 1).await.unwrap();
    assert_eq!((again[0].id, again[0].attempt), (id, 2));
    store
        .queue()
        .fail(&acme, id, "w2", "bad payload", false)
        .await
        .unwrap();
    assert!(store.queue().claim("w3", LONG, 1).await.unwrap().is_empty());
    let counts = store.queue().counts(&acme).await.unwrap();
    assert_eq!((counts.failed, counts.unfinished()), (1, 0));
    assert_eq!(
        store.queue().job(&acme, id).await.unwrap().unwrap().state,
        JobState::Failed
    );
}

async fn an_ordering_key_runs_one_job_at_a_time_in_order(db: &Db) {
    let store = db.store().await;
    let (acme, globex) = (tenant("acme"), tenant("globex"));
    let bob1 = store
        .queue()
        .enqueue(&acme, &job("bob-1").ordering_key("user:bob"))
        .await
        .unwrap()
        .id;
    let bob2 = store
        .queue()
        .enqueue(&acme, &job("bob-2").ordering_key("user:bob"))
        .await
        .unwrap()
        .id;
    let eve = store
        .queue()
        .enqueue(&acme, &job("eve-1").ordering_key("user:eve"))
        .await
        .unwrap()
        .id;
    let free = store.queue().enqueue(&acme, &job("free")).await.unwrap().id;
    // Another tenant's same key does not hold anything back.
    let globex_bob = store
        .queue()
        .enqueue(&globex, &job("bob-1").ordering_key("user:bob"))
        .await
        .unwrap()
        .id;
    let ids =
        |jobs: Vec<stackhand_store::ClaimedJob>| jobs.iter().map(|j| j.id).collect::<Vec<_>>();

    let first = ids(store.queue().claim("w1", LONG, 10).await.unwrap());
    assert_eq!(first, vec![bob1, eve, free, globex_bob]);
    // bob-2 waits while bob-1 runs ...
    assert!(
        store
            .queue()
            .claim("w2", LONG, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // ... and while bob-1 is given back to retry (it keeps its place) ...
    store
        .queue()
        .fail(&acme, bob1, "w1", "retry", true)
        .await
        .unwrap();
    assert_eq!(
        ids(store.queue().claim("w2", LONG, 10).await.unwrap()),
        vec![bob1]
    );
    assert!(
        store
            .queue()
            .claim("w3", LONG, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // ... and is handed out once bob-1 is done.
    store
        .queue()
        .complete(&acme, bob1, "w2", &json!(1))
        .await
        .unwrap();
    assert_eq!(
        ids(store.queue().claim("w3", LONG, 10).await.unwrap()),
        vec![bob2]
    );
}

async fn every_call_is_scoped_by_tenant(db: &Db) {
    let store = db.store().await;
    let (acme, globex) = (tenant("acme"), tenant("globex"));
    let id = store.queue().enqueue(&acme, &job("t-1")).await.unwrap().id;
    store.queue().claim("w1", LONG, 1).await.unwrap();
    for err in [
        store
            .queue()
            .complete(&globex, id, "w1", &json!(1))
            .await
            .unwrap_err(),
        store
            .queue()
            .heartbeat(&globex, id, "w1", LONG)
            .await
            .unwrap_err(),
        store
            .queue()
            .fail(&globex, id, "w1", "x", false)
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    }
    assert!(store.queue().job(&globex, id).await.unwrap().is_none());
    assert_eq!(store.queue().counts(&globex).await.unwrap().unfinished(), 0);
    assert_eq!(store.queue().counts(&acme).await.unwrap().running, 1);
    assert_eq!(
        store.queue().job(&acme, JobId(id.0 + 1000)).await.unwrap(),
        None
    );
    let err = store.queue().claim("", LONG, 1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    let err = store
        .queue()
        .claim("w1", Duration::ZERO, 1)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
}

/// Four claimers, each on a pool of its own (as four processes would be), drain 200 jobs in
/// small batches: each job is handed out once and completed once.
async fn concurrent_claimers_never_get_the_same_job(db: &Db) {
    const JOBS: usize = 200;
    let setup = db.store().await;
    let tenants = [tenant("acme"), tenant("globex"), tenant("initech")];
    for n in 0..JOBS {
        let t = &tenants[n % tenants.len()];
        setup
            .queue()
            .enqueue(t, &job(&format!("t-{n}")))
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = Arc::new(db.store().await);
        tasks.push(tokio::spawn(async move {
            let worker = format!("w{w}");
            let mut mine = Vec::new();
            loop {
                let jobs = store.queue().claim(&worker, LONG, 3).await.unwrap();
                if jobs.is_empty() {
                    break;
                }
                for job in jobs {
                    assert_eq!(job.attempt, 1);
                    store
                        .queue()
                        .complete(&job.tenant, job.id, &worker, &json!(worker))
                        .await
                        .unwrap();
                    mine.push(job.id);
                }
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let unique: BTreeSet<JobId> = all.iter().copied().collect();
    assert_eq!(all.len(), JOBS, "a job was handed out twice");
    assert_eq!(unique.len(), JOBS);
    let mut done = 0;
    for t in &tenants {
        let counts = setup.queue().counts(t).await.unwrap();
        assert_eq!(counts.unfinished(), 0);
        done += counts.done;
    }
    assert_eq!(done, JOBS as u64);
}

// ---- The done-when test: two worker processes on PostgreSQL, one of them killed. ----

const WORKER_ENV: &str = "STACKHAND_QUEUE_WORKER";
const URL_ENV: &str = "STACKHAND_QUEUE_URL";
const PROCESS_JOBS: usize = 1_000;
const PROCESS_LEASE: Duration = Duration::from_millis(1_500);
const BATCH: u32 = 10;
/// How many jobs the victim completes before it claims a batch and hangs on it.
const VICTIM_COMPLETES: usize = 100;

/// Two worker processes (this binary again) drain 1,000 jobs of 10 tenants on one PostgreSQL
/// schema. The victim completes some jobs, claims one more batch and hangs holding it; the test
/// kills it (SIGKILL) and the survivor takes over the expired leases. Every job ends done
/// exactly once: one result row per job, none missing, and the victim's held jobs completed by
/// the survivor on a second attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_share_the_queue_and_take_over_a_killed_ones_leases() {
    let db = Db::postgres().await;
    let store = db.store().await;
    db.exec(
        "CREATE TABLE queue_test_results (job_id BIGINT NOT NULL, attempt BIGINT NOT NULL, \
         worker TEXT NOT NULL, PRIMARY KEY (job_id, attempt)); \
         CREATE TABLE queue_test_held (job_id BIGINT NOT NULL PRIMARY KEY)",
    )
    .await;
    let tenants: Vec<TenantId> = (0..10).map(|n| tenant(&format!("tenant-{n}"))).collect();
    for n in 0..PROCESS_JOBS {
        let t = &tenants[n % tenants.len()];
        store
            .queue()
            .enqueue(t, &job(&format!("ticket-{n}")))
            .await
            .unwrap();
    }

    let exe = std::env::current_exe().unwrap();
    let spawn = |name: &str| {
        std::process::Command::new(&exe)
            .args([
                "queue_worker_process",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WORKER_ENV, name)
            .env(URL_ENV, &db.url)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut victim = spawn("victim");
    let mut survivor = spawn("survivor");

    // Wait until the victim hangs on its claimed batch, then kill it.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let held = loop {
        let held = held_jobs(&db).await;
        if !held.is_empty() {
            break held;
        }
        if let Some(status) = victim.try_wait().unwrap() {
            panic!("the victim worker exited on its own: {status}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the victim never hung"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    victim.kill().unwrap();
    victim.wait().unwrap();

    let status = tokio::task::spawn_blocking(move || survivor.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "the survivor worker failed: {status}");

    // Every job done, exactly once, by exactly one result row.
    let results: Vec<(i64, i64, String)> = results(
        &db,
        "SELECT job_id, attempt, worker FROM queue_test_results",
    )
    .await;
    let mut per_job: BTreeMap<i64, Vec<(i64, String)>> = BTreeMap::new();
    for (id, attempt, worker) in results {
        per_job.entry(id).or_default().push((attempt, worker));
    }
    let duplicates: Vec<_> = per_job.iter().filter(|(_, r)| r.len() > 1).collect();
    assert!(duplicates.is_empty(), "completed twice: {duplicates:?}");
    assert_eq!(per_job.len(), PROCESS_JOBS, "jobs missing a result");
    let mut by = BTreeMap::<&str, usize>::new();
    for rows in per_job.values() {
        *by.entry(rows[0].1.as_str()).or_default() += 1;
    }
    assert!(
        by.get("victim").copied().unwrap_or(0) >= VICTIM_COMPLETES,
        "{by:?}"
    );
    assert!(by.get("survivor").copied().unwrap_or(0) > 0, "{by:?}");
    for t in &tenants {
        let counts = store.queue().counts(t).await.unwrap();
        assert_eq!(
            counts.done,
            (PROCESS_JOBS / tenants.len()) as u64,
            "{t}: {counts:?}"
        );
    }
    eprintln!("results by worker: {by:?}; held by the killed victim: {held:?}");
    // The victim's claimed-but-unfinished jobs: taken over by the survivor, second attempt.
    assert!(!held.is_empty() && held.len() <= BATCH as usize, "{held:?}");
    for id in &held {
        let rows = &per_job[id];
        assert_eq!(rows[0], (2, "survivor".to_string()), "job {id}");
    }
    db.finish().await;
}

/// A worker process of the test above; does nothing unless `STACKHAND_QUEUE_WORKER` is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_worker_process() {
    let Ok(name) = std::env::var(WORKER_ENV) else {
        return;
    };
    let url = std::env::var(URL_ENV).unwrap();
    let store = Store::connect(&url, support::keys()).await.unwrap();
    let results = sqlx::postgres::PgPool::connect(&url).await.unwrap();
    let victim = name == "victim";
    let mut completed = 0;
    let mut idle_since = None;
    loop {
        let jobs = store
            .queue()
            .claim(&name, PROCESS_LEASE, BATCH)
            .await
            .unwrap();
        if victim && completed >= VICTIM_COMPLETES && !jobs.is_empty() {
            // Hang holding this batch until killed.
            for job in &jobs {
                sqlx::query("INSERT INTO queue_test_held (job_id) VALUES ($1)")
                    .bind(job.id.0)
                    .execute(&results)
                    .await
                    .unwrap();
            }
            loop {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        }
        if jobs.is_empty() {
            // Done when nothing is left unfinished (expired leases are claimable: keep trying).
            let left: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM queue_jobs WHERE state <> 'done'")
                    .fetch_one(&results)
                    .await
                    .unwrap();
            if left == 0 {
                return;
            }
            let since = *idle_since.get_or_insert_with(std::time::Instant::now);
            assert!(since.elapsed() < Duration::from_secs(30), "{name}: stuck");
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        idle_since = None;
        for job in jobs {
            match store
                .queue()
                .complete(&job.tenant, job.id, &name, &json!({ "by": name }))
                .await
            {
                Ok(()) => {
                    sqlx::query(
                        "INSERT INTO queue_test_results (job_id, attempt, worker) \
                         VALUES ($1, $2, $3)",
                    )
                    .bind(job.id.0)
                    .bind(job.attempt)
                    .bind(&name)
                    .execute(&results)
                    .await
                    .unwrap();
                    completed += 1;
                }
                // Taken over meanwhile: record nothing.
                Err(e) if e.kind() == ErrorKind::Conflict => {}
                Err(e) => panic!("{name}: {e}"),
            }
        }
    }
}

async fn held_jobs(db: &Db) -> Vec<i64> {
    results::<(i64,)>(db, "SELECT job_id FROM queue_test_held ORDER BY job_id")
        .await
        .into_iter()
        .map(|(id,)| id)
        .collect()
}

async fn results<T>(db: &Db, sql: &'static str) -> Vec<T>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let pool = sqlx::postgres::PgPool::connect(&db.url).await.unwrap();
    let rows = sqlx::query_as::<_, T>(sql).fetch_all(&pool).await.unwrap();
    pool.close().await;
    rows
}
