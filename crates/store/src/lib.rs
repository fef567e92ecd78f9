//! # stackhand-store
//!
//! Durable state for stackhand on [sqlx]: SQLite (a file in WAL mode, the embedded default) or
//! PostgreSQL (to scale out to several engines sharing one database).
//!
//! One type, [`Store`], implements both traits the engine writes through:
//!
//! - [`EngineStore`](stackhand_core::engine::EngineStore): idempotency keys with their execution
//!   states (claim is an insert-if-absent, release removes only an in-flight key), approvals
//!   (insert refuses an existing id, every move out of pending is a compare-and-swap in one
//!   statement), and volume caps (a reservation checks and takes a slot in every cap of a
//!   decision atomically, over a sliding window, or takes none).
//! - [`AuditSink`](stackhand_core::audit::AuditSink): each tenant's HMAC chain, sealed with the
//!   tenant's key from an [`AuditKeys`] source, with its
//!   anchored head in the same database, written in the same transaction as the event. Appenders
//!   on any number of connections or processes are serialised per tenant (PostgreSQL locks the
//!   tenant's head row `FOR UPDATE`; SQLite takes the write lock with `BEGIN IMMEDIATE`), so a
//!   chain never forks.
//!
//! On the same database, a [`Vault`] keeps each tenant's connector credentials encrypted at rest
//! (module [`vault`]): XChaCha20-Poly1305 under a per-tenant data key, with the tenant and the
//! credential name as associated data, each data key wrapped by a [`MasterKey`] kept outside the
//! database (a key file or an environment variable). [`VaultSecrets`] is the vault as a
//! [`SecretResolver`](stackhand_core::build::SecretResolver): connector configuration names a
//! credential `{ vault = "name" }`, and a tenant's connector is built with that tenant's
//! credential only. Tenant data keys and the master key rotate without downtime
//! ([`Vault::rotate_tenant_key`], [`Vault::rotate_master_key`]). ADR 0006
//! (`docs/decisions/0006-credential-vault.md`) records the design.
//!
//! Several runner processes on one database share work through its [`Queue`] (module
//! [`queue`], [`Store::queue`]): jobs enqueued once per tenant and dedup key (one run per
//! ticket), claimed with leases (PostgreSQL `FOR UPDATE SKIP LOCKED`, SQLite `BEGIN IMMEDIATE`),
//! taken over when a dead runner's lease expires, completed only by the worker that still holds
//! the lease, and optionally run one at a time in order per tenant and ordering key.
//!
//! A runner's work survives it: [`Runs`] (module [`runs`], [`Store::runs`]) records each run's
//! steps as started before the engine is asked and as finished after, so a runner killed
//! anywhere resumes every unfinished run at the step it was on.
//!
//! [`Store::connect`] opens the database and runs the embedded migrations
//! (`migrations/sqlite`, `migrations/postgres`). Every query names the tenant it works for,
//! except the two the engine makes by approval id (`approval`, `resolve_approval`), whose ids are
//! random UUIDs. Failures become [`stackhand_core::Error`]s that say what the store was doing,
//! never with a password from the connection URL.
//!
//! The HTTP API's tokens live here too (module [`api_tokens`]): each kept as a SHA-256 digest
//! with the staff member it acts as and the tenants it is limited to, shown once when issued.
//!
//! ADR 0005 (`docs/decisions/0005-durable-store.md`) records why the store looks like this.
//!
//! ## Example
//!
//! An engine whose idempotency keys, approvals, caps and audit trail live in one SQLite file:
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use stackhand_core::audit::{AuditSink, DerivedAuditKeys};
//! use stackhand_core::engine::Engine;
//! use stackhand_core::memory::MemoryConnector;
//! use stackhand_core::policy::PolicyLoader;
//! use stackhand_core::*;
//! use stackhand_store::Store;
//!
//! let dir = tempfile::tempdir()?;
//! let url = format!("sqlite://{}?mode=rwc", dir.path().join("stackhand.db").display());
//! // In production the master key comes from a key file (`stackhand audit keygen`).
//! let store = Arc::new(Store::connect(&url, DerivedAuditKeys::generate()).await?);
//!
//! let policy = PolicyLoader::new()
//!     .add_str("global.toml", r#"
//!         [scope]
//!         global = true
//!         [[rules]]
//!         id = "unlock-self"
//!         actions = ["identity.unlock"]
//!         effect = "allow"
//!         [rules.when]
//!         self_service = true
//!     "#)
//!     .build()?;
//! let engine = Engine::builder(Arc::new(policy), store.clone())
//!     .store(store.clone())
//!     .build();
//! let tenant = TenantId::new("acme")?;
//! engine.add_tenant(
//!     Tenant::new(tenant.clone(), "Acme"),
//!     ConnectorSet::new(tenant.clone()).with(Arc::new(MemoryConnector::demo(tenant.clone())))?,
//! )?;
//!
//! let request = ActionRequest::new(
//!     IdempotencyKey::new("ticket-7")?,
//!     tenant.clone(),
//!     ActionId::from_static("identity.unlock"),
//!     &serde_json::json!({ "user": "bob@acme.example" }),
//!     Principal::end_user("bob@acme.example"),
//! )?;
//! assert_eq!(engine.submit(request).await?.label(), "executed");
//! // Plan, decision, start and success are in the tenant's chain, which verifies.
//! let summary = store.verify_tenant(&tenant).await?.expect("the chain verifies");
//! assert_eq!(summary.events, 4);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! The same database as a credential vault, resolving a connector's `{ vault = "…" }` credential
//! for the tenant being built (in production the master key comes from a file made by
//! `stackhand vault keygen`, and `stackhand credentials set` stores the values):
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use secrecy::{ExposeSecret, SecretString};
//! use stackhand_core::build::{BuildContext, LocalSecrets, SecretRef};
//! use stackhand_core::TenantId;
//! use stackhand_store::{MasterKey, NoAuditKeys, Store, Vault, VaultSecrets};
//!
//! let dir = tempfile::tempdir()?;
//! let url = format!("sqlite://{}?mode=rwc", dir.path().join("stackhand.db").display());
//! let store = Arc::new(Store::connect(&url, NoAuditKeys).await?);
//! let master = MasterKey::create_file(dir.path().join("master.key"))?;
//! let vault = Arc::new(Vault::new(store, master));
//!
//! let acme = TenantId::new("acme")?;
//! vault.set(&acme, "m365", SecretString::from("client-secret")).await?;
//!
//! let secrets = Arc::new(VaultSecrets::new(vault.clone(), LocalSecrets::new()));
//! let ctx = BuildContext::new(acme.clone()).with_secrets(secrets);
//! let secret = ctx.credential("auth.client_secret", &SecretRef::vault("m365")).await?;
//! assert_eq!(secret.expose_secret(), "client-secret");
//!
//! // Names and times, never values; a new data key without downtime.
//! assert_eq!(vault.list(&acme).await?[0].name, "m365");
//! vault.rotate_tenant_key(&acme).await?;
//! vault.rotate_master_key(MasterKey::generate()).await?;
//! assert_eq!(vault.get(&acme, "m365").await?.expose_secret(), "client-secret");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod access;
pub mod api_tokens;
mod audit;
mod engine_store;
mod error;
pub mod queue;
mod rate;
pub mod runs;
mod schema;
mod secrets;
mod triage_models;
pub mod vault;
mod watermarks;

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use stackhand_core::audit::AuditKeys;
use stackhand_core::{Error, Result, TenantId};

pub use access::{AccessRefusal, REFUSALS_PER_MINUTE, Refused};
pub use api_tokens::{API_TOKEN_PREFIX, ApiTokenRecord, NOT_A_LIVE_TOKEN, bearer_token};
pub use error::redact_url;
pub use queue::{ClaimedJob, Enqueued, JobId, JobRecord, JobState, NewJob, Queue, QueueCounts};
pub use runs::{
    Condition, ConditionTest, Created, NewRun, NewStep, RunRecord, RunState, Runs, StepFlow,
    StepRecord, StepState,
};
pub use secrets::{NoAuditKeys, VaultSecrets};
pub use triage_models::TriageModelRecord;
pub use vault::{CredentialInfo, MasterKey, MasterKeyRotation, TenantKeyRotation, Vault};

/// Which database a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendKind {
    /// SQLite: a file (WAL journal, full sync) or an in-memory database.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl BackendKind {
    /// `"sqlite"` or `"postgres"`.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Sqlite => "sqlite",
            BackendKind::Postgres => "postgres",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The SQL that differs between the backends. Everything else is written once, with `$1`-style
/// parameters, which SQLite accepts too.
pub(crate) struct Dialect {
    pub(crate) kind: BackendKind,
    /// Starts a transaction that will write and must not interleave with other writers of the
    /// rows it locks. SQLite takes the database's write lock up front, so the transaction never
    /// has to upgrade a read lock (which fails at once with SQLITE_BUSY instead of waiting).
    pub(crate) begin_write: &'static str,
    /// Starts a read-only transaction that sees one snapshot.
    pub(crate) begin_read: &'static str,
    /// Locks a tenant's audit head row for the rest of the transaction.
    pub(crate) lock_head: &'static str,
    /// Locks the counter row of one (tenant, cap id) for the rest of the transaction.
    pub(crate) lock_cap: &'static str,
    /// Locks a tenant's vault row (its current data key version) for the rest of the
    /// transaction.
    pub(crate) lock_vault_tenant: &'static str,
    /// Locks the rate bucket of one (tenant, vendor) for the rest of the transaction.
    pub(crate) lock_rate_bucket: &'static str,
    /// Milliseconds since the Unix epoch by the database's clock, as an SQL expression: every
    /// queue lease is measured against it, so runners on machines whose clocks disagree still
    /// agree on when a lease expires.
    pub(crate) now_ms: &'static str,
    /// What a queue claim's candidate query ends with: PostgreSQL locks the rows it picks and
    /// skips rows other claimers hold; SQLite's claim runs under `BEGIN IMMEDIATE` instead.
    pub(crate) skip_locked: &'static str,
}

pub(crate) const SQLITE: Dialect = Dialect {
    kind: BackendKind::Sqlite,
    begin_write: "BEGIN IMMEDIATE",
    begin_read: "BEGIN",
    // BEGIN IMMEDIATE already holds the database's only write lock.
    lock_head: "SELECT seq, event_mac, mac FROM audit_heads WHERE tenant = $1",
    lock_cap: "SELECT tenant FROM caps WHERE tenant = $1 AND cap_id = $2",
    lock_vault_tenant: "SELECT key_version FROM vault_tenants WHERE tenant = $1",
    lock_rate_bucket: "SELECT tokens, updated_ms, paused_until_ms FROM rate_buckets \
                       WHERE tenant = $1 AND vendor = $2",
    now_ms: "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
    skip_locked: "",
};

pub(crate) const POSTGRES: Dialect = Dialect {
    kind: BackendKind::Postgres,
    begin_write: "BEGIN",
    begin_read: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    lock_head: "SELECT seq, event_mac, mac FROM audit_heads WHERE tenant = $1 FOR UPDATE",
    lock_cap: "SELECT tenant FROM caps WHERE tenant = $1 AND cap_id = $2 FOR UPDATE",
    lock_vault_tenant: "SELECT key_version FROM vault_tenants WHERE tenant = $1 FOR UPDATE",
    lock_rate_bucket: "SELECT tokens, updated_ms, paused_until_ms FROM rate_buckets \
                       WHERE tenant = $1 AND vendor = $2 FOR UPDATE",
    now_ms: "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
    skip_locked: " FOR UPDATE SKIP LOCKED",
};

/// Run `$body` with `$pool` bound to the store's pool (SQLite or PostgreSQL) and `$sql` to that
/// backend's [`Dialect`]. The body is compiled once per backend, so it is written once.
macro_rules! on_backend {
    ($store:expr, |$pool:ident, $sql:ident| $body:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite($pool) => {
                let $sql = &$crate::SQLITE;
                $body
            }
            $crate::Backend::Postgres($pool) => {
                let $sql = &$crate::POSTGRES;
                $body
            }
        }
    };
}
pub(crate) use on_backend;

/// Durable engine state and audit trail on SQLite or PostgreSQL. See the [crate docs](crate).
///
/// Implements [`EngineStore`](stackhand_core::engine::EngineStore) and
/// [`AuditSink`](stackhand_core::audit::AuditSink); share one `Arc<Store>` as both.
pub struct Store {
    pub(crate) backend: Backend,
    pub(crate) keys: Arc<dyn AuditKeys>,
    /// Tenants whose whole chain this store verified before its first append here.
    pub(crate) verified: Mutex<HashSet<TenantId>>,
    /// The connection URL with any password masked.
    shown_url: String,
    /// How many refused calls each source still gets recorded.
    refusals: access::RefusalBudget,
}

/// Connections a file or PostgreSQL pool opens at most. Writers queue on SQLite's one write lock
/// (or on PostgreSQL's row locks) anyway; readers run side by side.
const MAX_CONNECTIONS: u32 = 10;

/// How long a SQLite connection waits for the write lock before failing with SQLITE_BUSY.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

impl Store {
    /// Open the database at `url`, run the migrations, and seal audit chains with `audit_keys`.
    ///
    /// - `sqlite://path/to/stackhand.db?mode=rwc` opens (`mode=rwc`: creating) a SQLite file in
    ///   WAL mode with full sync, so a commit survives a power cut; `sqlite://…` without `mode`
    ///   needs the file to exist.
    /// - `sqlite::memory:` is an in-memory database for tests and demos: one connection, gone
    ///   when the store is dropped.
    /// - `postgres://user:password@host:5432/database` (or `postgresql://`) connects to
    ///   PostgreSQL; `?options=-c%20search_path%3Dschema` puts the tables in another schema.
    ///
    /// Errors name the URL with its password masked.
    pub async fn connect(url: &str, audit_keys: impl AuditKeys + 'static) -> Result<Self> {
        let shown_url = redact_url(url);
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite(connect_sqlite(url, &shown_url).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres(connect_postgres(url, &shown_url).await?)
        } else {
            let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
            return Err(Error::invalid(format!(
                "store URL with scheme {scheme:?}: use sqlite://<path>?mode=rwc, sqlite::memory: \
                 or postgres://<user>@<host>:<port>/<database>"
            )));
        };
        let store = Self {
            backend,
            keys: Arc::new(audit_keys),
            verified: Mutex::new(HashSet::new()),
            shown_url,
            refusals: access::RefusalBudget::default(),
        };
        store.migrate().await?;
        tracing::debug!(backend = %store.kind(), url = %store.shown_url, "store connected");
        Ok(store)
    }

    /// Which database this store runs on.
    pub fn kind(&self) -> BackendKind {
        on_backend!(self, |_pool, sql| sql.kind)
    }

    /// The connection URL, with any password masked.
    pub fn url(&self) -> &str {
        &self.shown_url
    }

    /// Close every connection, waiting for queries in progress. Further calls fail.
    pub async fn close(&self) {
        on_backend!(self, |pool, _sql| pool.close().await)
    }

    async fn migrate(&self) -> Result<()> {
        let result = on_backend!(self, |pool, sql| {
            schema::migrator(sql.kind).run(pool).await
        });
        result.map_err(|e| {
            Error::permanent(format!(
                "store ({}): running the migrations on {}",
                self.kind(),
                self.shown_url
            ))
            .with_source(e)
        })
    }

    /// The error for a failed query, saying what the store was doing.
    pub(crate) fn db_error(&self, doing: &str, err: sqlx::Error) -> Error {
        error::from_sqlx(self.kind(), doing, err)
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.kind())
            .field("url", &self.shown_url)
            .finish_non_exhaustive()
    }
}

async fn connect_sqlite(url: &str, shown: &str) -> Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| error::from_sqlx(BackendKind::Sqlite, &format!("reading URL {shown}"), e))?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(SQLITE_BUSY_TIMEOUT);
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let pool = if in_memory {
        // Every connection would otherwise see its own empty database, and the pool would drop
        // the data with an idle connection: keep exactly one, forever.
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        SqlitePoolOptions::new().max_connections(MAX_CONNECTIONS)
    };
    let opening = |e| error::from_sqlx(BackendKind::Sqlite, &format!("opening {shown}"), e);
    // One connection first, so a file that cannot be opened fails at once with its cause
    // (the pool would retry until its acquire timeout and report only the timeout).
    if !in_memory {
        SqliteConnection::connect_with(&options)
            .await
            .map_err(opening)?
            .close()
            .await
            .map_err(opening)?;
    }
    pool.connect_with(options).await.map_err(opening)
}

async fn connect_postgres(url: &str, shown: &str) -> Result<PgPool> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| error::from_sqlx(BackendKind::Postgres, &format!("reading URL {shown}"), e))?;
    let connecting =
        |e| error::from_sqlx(BackendKind::Postgres, &format!("connecting to {shown}"), e);
    // One connection first, so an unreachable server or a refused login fails at once with its
    // cause (the pool would retry until its acquire timeout and report only the timeout).
    PgConnection::connect_with(&options)
        .await
        .map_err(connecting)?
        .close()
        .await
        .map_err(connecting)?;
    PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect_with(options)
        .await
        .map_err(connecting)
}

/// Nanoseconds since the Unix epoch, saturating outside 1677-2262 (the range an `i64` holds),
/// so stored times compare exactly as the `DateTime`s do.
pub(crate) fn nanos(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(if at.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}
