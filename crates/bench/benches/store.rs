//! Store throughput: audit appends and queue claims per second on SQLite and PostgreSQL,
//! measured side by side in one run.
//!
//! - `audit_append`: one `AuditSink::append` (a sealed event joins a tenant's chain: one write
//!   transaction locking the tenant's head, reading the tail, inserting the event, moving the
//!   head). `concurrent_8_tenants` runs 8 appends at once, one per tenant, on one store.
//! - `queue_claim_complete`: one `claim` of one job plus its `complete` (two write transactions);
//!   the jobs are enqueued before the timed loop.
//!
//! SQLite is a fresh file in a temporary directory (WAL, full sync, as `Store::connect` opens
//! it); PostgreSQL is a fresh schema in the database `TEST_POSTGRES_URL` names (default
//! `postgres://postgres@127.0.0.1:5432/test`), dropped at the end. Without a PostgreSQL server
//! the bench fails, saying how to get one: it never skips a backend.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use stackhand_core::audit::{AuditKind, AuditRecord, AuditSink, DerivedAuditKeys};
use stackhand_core::{ActionId, IdempotencyKey, TenantId};
use stackhand_store::{NewJob, Store, redact_url};
use tokio::runtime::Runtime;

/// Where the PostgreSQL half connects unless `TEST_POSTGRES_URL` says otherwise (as the store's
/// tests do).
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

const MASTER_KEY: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";

/// Appending tasks (and tenants) of the concurrent variant.
const TASKS: usize = 8;

/// The lease a claim takes: long enough never to expire inside the bench.
const LEASE: Duration = Duration::from_secs(600);

/// One backend's database, made for this run.
struct Db {
    name: &'static str,
    store: Arc<Store>,
    _dir: Option<tempfile::TempDir>,
    /// (base URL, schema) to drop at the end.
    schema: Option<(String, String)>,
}

impl Db {
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        );
        Self {
            name: "sqlite",
            store: Arc::new(connect(&url).await),
            _dir: Some(dir),
            schema: None,
        }
    }

    async fn postgres() -> Self {
        let base =
            std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
        let schema = format!("stackhand_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = connect_postgres(&base).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("creating schema {schema} in {}: {e}", redact_url(&base)));
        let settings: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, setting FROM pg_settings \
             WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', 'server_version') \
             ORDER BY name",
        )
        .fetch_all(&mut admin)
        .await
        .unwrap_or_default();
        eprintln!(
            "postgres at {}: {}",
            redact_url(&base),
            settings
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = admin.close().await;
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        Self {
            name: "postgres",
            store: Arc::new(connect(&url).await),
            _dir: None,
            schema: Some((base, schema)),
        }
    }

    async fn finish(self) {
        self.store.close().await;
        if let Some((base, schema)) = &self.schema {
            let mut admin = connect_postgres(base).await;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut admin)
                .await
                .unwrap_or_else(|e| panic!("dropping schema {schema}: {e}"));
        }
    }
}

async fn connect(url: &str) -> Store {
    let keys = DerivedAuditKeys::from_hex(MASTER_KEY).expect("the bench's master key");
    Store::connect(url, keys)
        .await
        .unwrap_or_else(|e| panic!("connecting a store to {}: {e}", redact_url(url)))
}

async fn connect_postgres(url: &str) -> PgConnection {
    let options = PgConnectOptions::from_str(url).unwrap_or_else(|e| {
        panic!(
            "TEST_POSTGRES_URL ({}) is not a PostgreSQL URL: {e}",
            redact_url(url)
        )
    });
    PgConnection::connect_with(&options)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the store bench measures PostgreSQL too and needs a server; none answered at \
                 {}: {e}\n\
                 Run it with `cargo xtask bench`, which finds or starts one \
                 (scripts/ensure-postgres: a throw-away cluster on 127.0.0.1:5432, trust auth, \
                 database `test`); or start one yourself (`pg_ctlcluster <version> main start`) \
                 or point TEST_POSTGRES_URL at a server where this user may create schemas \
                 (postgres://user[:password]@host:port/database).",
                redact_url(url)
            )
        })
}

fn tenant(name: &str) -> TenantId {
    TenantId::new(name).expect("a valid tenant id")
}

/// The n-th audit record of `tenant`: a decision with a small JSON body, as the engine writes.
fn record(tenant: &TenantId, n: usize) -> AuditRecord {
    AuditRecord {
        tenant: tenant.clone(),
        at: Utc::now(),
        kind: AuditKind::Decided,
        request: Some(IdempotencyKey::new(format!("req-{n}")).expect("a valid key")),
        action: Some(ActionId::from_static("identity.unlock")),
        actor: Some(format!("tech-{}", n % 7)),
        data: json!({ "n": n, "params": { "user": "alice@example.com" }, "rule": "allow-unlock" }),
    }
}

fn store_throughput(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    // Both backends first, so a missing PostgreSQL fails before anything is measured.
    let dbs = rt.block_on(async { vec![Db::sqlite().await, Db::postgres().await] });

    audit_append(c, &rt, &dbs);
    audit_append_concurrent(c, &rt, &dbs);
    queue_claim_complete(c, &rt, &dbs);

    rt.block_on(async {
        for db in dbs {
            db.finish().await;
        }
    });
}

fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(5));
}

fn audit_append(c: &mut Criterion, rt: &Runtime, dbs: &[Db]) {
    let mut group = c.benchmark_group("audit_append");
    configure(&mut group);
    group.throughput(Throughput::Elements(1));
    for db in dbs {
        let store = &db.store;
        let tenant = tenant("bench-serial");
        // The store verifies a tenant's whole chain before its first append: keep that out.
        rt.block_on(store.append(record(&tenant, 0)))
            .expect("first append");
        let n = AtomicUsize::new(1);
        group.bench_function(db.name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let i = n.fetch_add(1, Ordering::Relaxed);
                        store.append(record(&tenant, i)).await.expect("append");
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

fn audit_append_concurrent(c: &mut Criterion, rt: &Runtime, dbs: &[Db]) {
    let mut group = c.benchmark_group("audit_append_concurrent_8_tenants");
    configure(&mut group);
    group.throughput(Throughput::Elements(TASKS as u64));
    for db in dbs {
        let tenants: Vec<TenantId> = (0..TASKS)
            .map(|t| tenant(&format!("bench-concurrent-{t}")))
            .collect();
        rt.block_on(async {
            for t in &tenants {
                db.store.append(record(t, 0)).await.expect("first append");
            }
        });
        let n = Arc::new(AtomicUsize::new(1));
        group.bench_function(db.name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    // Each task appends `iters` events to its own tenant's chain.
                    let mut tasks = tokio::task::JoinSet::new();
                    for t in &tenants {
                        let store = Arc::clone(&db.store);
                        let t = t.clone();
                        let n = Arc::clone(&n);
                        tasks.spawn(async move {
                            for _ in 0..iters {
                                let i = n.fetch_add(1, Ordering::Relaxed);
                                store.append(record(&t, i)).await.expect("append");
                            }
                        });
                    }
                    while let Some(done) = tasks.join_next().await {
                        done.expect("an appending task");
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

fn queue_claim_complete(c: &mut Criterion, rt: &Runtime, dbs: &[Db]) {
    let mut group = c.benchmark_group("queue_claim_complete");
    configure(&mut group);
    group.throughput(Throughput::Elements(1));
    let outcome = json!({ "ok": true });
    for db in dbs {
        let queue = db.store.queue();
        let tenant = tenant("bench-queue");
        let n = AtomicUsize::new(0);
        group.bench_function(db.name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    // Enqueue this sample's jobs first, untimed.
                    for _ in 0..iters {
                        let i = n.fetch_add(1, Ordering::Relaxed);
                        let job = NewJob::new("ticket", format!("t-{i}"), json!({ "ticket": i }));
                        queue.enqueue(&tenant, &job).await.expect("enqueue");
                    }
                    let start = Instant::now();
                    for _ in 0..iters {
                        let jobs = queue.claim("bench", LEASE, 1).await.expect("claim");
                        let job = jobs.first().expect("a queued job to claim");
                        queue
                            .complete(&job.tenant, job.id, "bench", &outcome)
                            .await
                            .expect("complete");
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, store_throughput);
criterion_main!(benches);
