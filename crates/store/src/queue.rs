//! The work queue: several runner processes on one database share tickets.
//!
//! - [`Queue::enqueue`] adds a job for a tenant, once per `(tenant, dedup_key)`: a second
//!   enqueue while the first is queued, running or done returns the first job ("one run per
//!   ticket"); one that failed for good is queued again, with the new payload.
//! - [`Queue::claim`] hands a worker up to `limit` jobs with a **lease**: the job is running,
//!   owned by the worker until the lease expires. Queued jobs and running jobs whose lease
//!   expired (their worker died or stalled) are claimable, lowest id first; each claim counts an
//!   attempt. On PostgreSQL it is one statement,
//!   `WITH picked AS MATERIALIZED (SELECT … FOR UPDATE SKIP LOCKED) UPDATE … RETURNING …`,
//!   so concurrent claimers on any number of connections or processes skip each other's rows
//!   instead of waiting or handing a job out twice; on SQLite the same statement runs under
//!   `BEGIN IMMEDIATE`, which holds the database's only write lock.
//! - [`Queue::heartbeat`] extends a lease, [`Queue::complete`] records the outcome and
//!   [`Queue::fail`] gives the job back (to retry) or fails it for good, each only while the
//!   worker **still holds** the lease: a worker whose lease was taken over gets a
//!   [`Conflict`](stackhand_core::ErrorKind::Conflict) and its outcome is not recorded. The
//!   holder check and the write are one compare-and-swap statement, so of a late completion and
//!   a takeover exactly one wins. A lease that expired but was not taken over yet is still its
//!   worker's.
//! - **Per-tenant ordering**: a job enqueued with an [`ordering key`](NewJob::ordering_key) is
//!   not handed out while an earlier job (lower id) of the same tenant with the same key is
//!   queued or running, so such jobs run one at a time in enqueue order (a job given back with
//!   `retry` keeps its place and still holds the later ones back; one failed for good no longer
//!   does). Jobs without a key, and jobs of other keys or tenants, run side by side.
//! - [`Queue::counts`] counts jobs by state for monitoring.
//!
//! **Time** is the database's clock (PostgreSQL `clock_timestamp()`, SQLite `julianday('now')`),
//! in milliseconds, for every lease written and every expiry checked: runners on machines whose
//! clocks disagree still agree on when a lease expired, because only one clock is ever read.
//! (Several SQLite runners share one machine, hence one clock, anyway.) A lease should still be
//! much longer than a worker's heartbeat interval, since a paused worker notices it lost its
//! lease only at its next heartbeat or completion.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::time::Duration;
//! use serde_json::json;
//! use stackhand_core::TenantId;
//! use stackhand_store::{NewJob, NoAuditKeys, Store};
//!
//! let store = Store::connect("sqlite::memory:", NoAuditKeys).await?;
//! let queue = store.queue();
//! let acme = TenantId::new("acme")?;
//! let ticket = NewJob::new("ticket", "T-1001", json!({ "subject": "locked out" }))
//!     .ordering_key("user:bob@acme.example");
//! let id = queue.enqueue(&acme, &ticket).await?.id;
//! assert!(!queue.enqueue(&acme, &ticket).await?.queued); // one run per ticket
//!
//! // A runner: claim a batch with a 30 s lease, work, heartbeat while working, complete.
//! for job in queue.claim("runner-1", Duration::from_secs(30), 10).await? {
//!     queue.heartbeat(&job.tenant, job.id, "runner-1", Duration::from_secs(30)).await?;
//!     queue.complete(&job.tenant, job.id, "runner-1", &json!({ "resolved": true })).await?;
//! }
//! assert_eq!(queue.counts(&acme).await?.done, 1);
//! assert_eq!(queue.job(&acme, id).await?.unwrap().attempts, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! Delivery is at least once (a worker that dies after its side effects but before `complete`
//! leaves the job to be run again after its lease expires); recording is exactly once. Side
//! effects that must not repeat go through the engine's idempotency keys.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use stackhand_core::{Error, Result, TenantId};

use crate::{Store, on_backend};

/// The longest worker name, job kind, dedup key or ordering key the queue takes.
pub const MAX_KEY_LEN: usize = 256;

/// A job's id: its place in the queue's order (lower ids were enqueued earlier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// Leased to a worker (whose lease may have expired: then any claim takes it over).
    Running,
    /// Completed; its outcome is recorded.
    Done,
    /// Failed for good.
    Failed,
}

impl JobState {
    /// `"queued"`, `"running"`, `"done"` or `"failed"`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            other => {
                return Err(Error::permanent(format!(
                    "queue: a job has the unknown state {other:?}"
                )));
            }
        })
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    kind: String,
    dedup_key: String,
    ordering_key: Option<String>,
    payload: serde_json::Value,
}

impl NewJob {
    /// A job of `kind` (what the worker should do, e.g. `"ticket"`), enqueued at most once per
    /// tenant and `dedup_key` (e.g. the PSA ticket id), carrying `payload`.
    pub fn new(
        kind: impl Into<String>,
        dedup_key: impl Into<String>,
        payload: serde_json::Value,
    ) -> Self {
        Self {
            kind: kind.into(),
            dedup_key: dedup_key.into(),
            ordering_key: None,
            payload,
        }
    }

    /// Run this job only after every earlier job of the same tenant with the same `key` has
    /// finished (e.g. the user a ticket is about). See the [module docs](self).
    pub fn ordering_key(mut self, key: impl Into<String>) -> Self {
        self.ordering_key = Some(key.into());
        self
    }
}

/// What [`Queue::enqueue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Enqueued {
    /// The job: the new one, or the one already enqueued with that dedup key.
    pub id: JobId,
    /// Whether this call queued it (a new job, or a failed one queued again); false when a job
    /// with that dedup key was already queued, running or done.
    pub queued: bool,
}

/// A job leased to a worker by [`Queue::claim`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClaimedJob {
    /// The job's id.
    pub id: JobId,
    /// Whose job it is: pass it back to `heartbeat`, `complete` and `fail`.
    pub tenant: TenantId,
    /// What to do.
    pub kind: String,
    /// The dedup key it was enqueued with.
    pub dedup_key: String,
    /// Its ordering key, if any.
    pub ordering_key: Option<String>,
    /// What it was enqueued with.
    pub payload: serde_json::Value,
    /// Which claim this is: 1 for the first, more when it was given back or taken over.
    pub attempt: i64,
    /// When the lease expires, by the database's clock.
    pub lease_expires: DateTime<Utc>,
}

/// A job as stored, read by [`Queue::job`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JobRecord {
    /// The job's id.
    pub id: JobId,
    /// Its tenant.
    pub tenant: TenantId,
    /// What to do.
    pub kind: String,
    /// Its dedup key.
    pub dedup_key: String,
    /// Its ordering key, if any.
    pub ordering_key: Option<String>,
    /// What it was enqueued with.
    pub payload: serde_json::Value,
    /// Where it is.
    pub state: JobState,
    /// How many times it was claimed.
    pub attempts: i64,
    /// The worker holding (or last holding) its lease.
    pub lease_owner: Option<String>,
    /// When that lease expires or expired, by the database's clock.
    pub lease_expires: Option<DateTime<Utc>>,
    /// The outcome of a done job.
    pub outcome: Option<serde_json::Value>,
    /// The error the last `fail` gave.
    pub last_error: Option<String>,
}

/// How many of a tenant's jobs are in each state, from one snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueCounts {
    /// Waiting for a worker.
    pub queued: u64,
    /// Leased, lease still running.
    pub running: u64,
    /// Leased, lease expired: its worker died or stalled; the next claim takes it over.
    pub expired: u64,
    /// Completed.
    pub done: u64,
    /// Failed for good.
    pub failed: u64,
}

impl QueueCounts {
    /// Jobs not finished yet: queued, running or expired.
    pub fn unfinished(&self) -> u64 {
        self.queued + self.running + self.expired
    }
}

type ClaimRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    i64,
);

type JobRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

fn check_key(what: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > MAX_KEY_LEN {
        return Err(Error::invalid(format!(
            "queue: the {what} must be 1 to {MAX_KEY_LEN} bytes, got {}",
            value.len()
        )));
    }
    Ok(())
}

fn lease_ms(lease: Duration) -> Result<i64> {
    let ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    if ms < 1 {
        return Err(Error::invalid(
            "queue: a lease must last at least one millisecond",
        ));
    }
    Ok(ms.min(i64::MAX / 4))
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn json(what: &str, text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| {
        Error::permanent(format!("queue: the stored {what} is not JSON: {e}")).with_source(e)
    })
}

fn tenant_id(text: String) -> Result<TenantId> {
    TenantId::new(&text).map_err(|e| {
        Error::permanent(format!("queue: a job has the invalid tenant {text:?}")).with_source(e)
    })
}

/// The work queue on a [`Store`]'s database: see the [module docs](self). Get one with
/// [`Store::queue`]; it borrows the store's connection pool.
#[derive(Debug, Clone, Copy)]
pub struct Queue<'a> {
    store: &'a Store,
}

impl Store {
    /// The work queue on this database.
    pub fn queue(&self) -> Queue<'_> {
        Queue { store: self }
    }
}

impl Queue<'_> {
    /// Queue `job` for `tenant`, or return the job already enqueued with its dedup key (see
    /// [`Enqueued::queued`]). A job with that key that failed for good is queued again with the
    /// new payload, kind and ordering key, keeping its id (and so its place in the ordering).
    pub async fn enqueue(&self, tenant: &TenantId, job: &NewJob) -> Result<Enqueued> {
        check_key("job kind", &job.kind)?;
        check_key("dedup key", &job.dedup_key)?;
        if let Some(key) = &job.ordering_key {
            check_key("ordering key", key)?;
        }
        let doing = format!("enqueuing job {} of tenant {tenant}", job.dedup_key);
        let db = |e| self.store.db_error(&doing, e);
        let payload = serde_json::to_string(&job.payload)
            .map_err(|e| Error::invalid(format!("{doing}: the payload: {e}")))?;
        let queued: Option<i64> = on_backend!(self.store, |pool, sql| {
            let insert = format!(
                "INSERT INTO queue_jobs (tenant, kind, dedup_key, ordering_key, payload, state, \
                 enqueued_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, 'queued', {now}, {now}) \
                 ON CONFLICT (tenant, dedup_key) DO UPDATE SET kind = excluded.kind, \
                 ordering_key = excluded.ordering_key, payload = excluded.payload, \
                 state = 'queued', lease_owner = NULL, lease_expires_ms = NULL, outcome = NULL, \
                 updated_ms = excluded.updated_ms WHERE queue_jobs.state = 'failed' \
                 RETURNING id",
                now = sql.now_ms
            );
            sqlx::query_scalar(sqlx::AssertSqlSafe(insert))
                .bind(tenant.as_str())
                .bind(&job.kind)
                .bind(&job.dedup_key)
                .bind(job.ordering_key.as_deref())
                .bind(&payload)
                .fetch_optional(pool)
                .await
                .map_err(db)?
        });
        if let Some(id) = queued {
            return Ok(Enqueued {
                id: JobId(id),
                queued: true,
            });
        }
        let existing: i64 = on_backend!(self.store, |pool, _sql| {
            sqlx::query_scalar("SELECT id FROM queue_jobs WHERE tenant = $1 AND dedup_key = $2")
                .bind(tenant.as_str())
                .bind(&job.dedup_key)
                .fetch_one(pool)
                .await
                .map_err(db)?
        });
        Ok(Enqueued {
            id: JobId(existing),
            queued: false,
        })
    }

    /// Lease up to `limit` claimable jobs of any tenant to `worker` for `lease`: queued jobs and
    /// running jobs whose lease expired, lowest id first, skipping jobs an earlier unfinished
    /// job of the same tenant and ordering key holds back. Each claimed job counts an attempt.
    /// Returns them in id order; none when nothing is claimable (or all of it is being claimed
    /// by others at this instant).
    ///
    /// Claims serve every tenant (a runner works for all of them); each job carries its tenant,
    /// and every later call on it names that tenant.
    pub async fn claim(
        &self,
        worker: &str,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>> {
        check_key("worker name", worker)?;
        let lease = lease_ms(lease)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let doing = format!("claiming up to {limit} jobs for worker {worker}");
        let db = |e| self.store.db_error(&doing, e);
        let rows: Vec<ClaimRow> = on_backend!(self.store, |pool, sql| {
            // The picking runs once, as a materialised CTE: an `IN (subquery)` may be
            // re-evaluated by some plans, and a re-run SKIP LOCKED pick would pick other rows.
            // Its LIMIT applies before the locks, so a claim racing others may get fewer jobs
            // than it asked for (never a job another claim holds).
            let claim = format!(
                "WITH picked AS MATERIALIZED (\
                   SELECT c.id FROM queue_jobs c \
                   WHERE (c.state = 'queued' \
                          OR (c.state = 'running' AND c.lease_expires_ms <= {now})) \
                     AND (c.ordering_key IS NULL OR NOT EXISTS (\
                       SELECT 1 FROM queue_jobs e \
                       WHERE e.tenant = c.tenant AND e.ordering_key = c.ordering_key \
                         AND e.id < c.id AND e.state IN ('queued', 'running'))) \
                   ORDER BY c.id LIMIT $3{lock}) \
                 UPDATE queue_jobs SET state = 'running', attempts = attempts + 1, \
                 lease_owner = $1, lease_expires_ms = {now} + $2, updated_ms = {now} \
                 WHERE id IN (SELECT id FROM picked) \
                 RETURNING id, tenant, kind, dedup_key, ordering_key, payload, attempts, \
                   lease_expires_ms",
                now = sql.now_ms,
                lock = sql.skip_locked
            );
            async {
                let mut tx = pool.begin_with(sql.begin_write).await?;
                let rows: Vec<ClaimRow> = sqlx::query_as(sqlx::AssertSqlSafe(claim))
                    .bind(worker)
                    .bind(lease)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>(rows)
            }
            .await
            .map_err(db)?
        });
        let mut jobs = rows
            .into_iter()
            .map(
                |(id, tenant, kind, dedup_key, ordering_key, payload, attempt, expires)| {
                    Ok(ClaimedJob {
                        id: JobId(id),
                        tenant: tenant_id(tenant)?,
                        kind,
                        dedup_key,
                        ordering_key,
                        payload: json("payload", &payload)?,
                        attempt,
                        lease_expires: time(expires),
                    })
                },
            )
            .collect::<Result<Vec<_>>>()?;
        jobs.sort_by_key(|job| job.id);
        if !jobs.is_empty() {
            tracing::debug!(worker, jobs = jobs.len(), "queue: claimed");
        }
        Ok(jobs)
    }

    /// Extend `worker`'s lease on `job` of `tenant` to `lease` from now, and return when it
    /// expires. A [`Conflict`](stackhand_core::ErrorKind::Conflict) when the worker no longer
    /// holds it (taken over, completed or failed): stop working on it.
    pub async fn heartbeat(
        &self,
        tenant: &TenantId,
        job: JobId,
        worker: &str,
        lease: Duration,
    ) -> Result<DateTime<Utc>> {
        let lease = lease_ms(lease)?;
        let doing = format!("extending worker {worker}'s lease on job {job} of tenant {tenant}");
        let expires: Option<i64> = on_backend!(self.store, |pool, sql| {
            let update = format!(
                "UPDATE queue_jobs SET lease_expires_ms = {now} + $4, updated_ms = {now} \
                 WHERE id = $1 AND tenant = $2 AND state = 'running' AND lease_owner = $3 \
                 RETURNING lease_expires_ms",
                now = sql.now_ms
            );
            sqlx::query_scalar(sqlx::AssertSqlSafe(update))
                .bind(job.0)
                .bind(tenant.as_str())
                .bind(worker)
                .bind(lease)
                .fetch_optional(pool)
                .await
                .map_err(|e| self.store.db_error(&doing, e))?
        });
        match expires {
            Some(ms) => Ok(time(ms)),
            None => Err(self.not_held(tenant, job, worker, &doing).await),
        }
    }

    /// Record `outcome` for `job` of `tenant`, which `worker` holds, and mark it done. A
    /// [`Conflict`](stackhand_core::ErrorKind::Conflict) when the worker no longer holds it
    /// (its lease was taken over by another worker, or it was already completed or failed):
    /// nothing is recorded.
    pub async fn complete(
        &self,
        tenant: &TenantId,
        job: JobId,
        worker: &str,
        outcome: &serde_json::Value,
    ) -> Result<()> {
        let doing = format!("completing job {job} of tenant {tenant} for worker {worker}");
        let outcome = serde_json::to_string(outcome)
            .map_err(|e| Error::invalid(format!("{doing}: the outcome: {e}")))?;
        let done: Option<i64> = on_backend!(self.store, |pool, sql| {
            let update = format!(
                "UPDATE queue_jobs SET state = 'done', outcome = $4, lease_expires_ms = NULL, \
                 updated_ms = {now} \
                 WHERE id = $1 AND tenant = $2 AND state = 'running' AND lease_owner = $3 \
                 RETURNING id",
                now = sql.now_ms
            );
            sqlx::query_scalar(sqlx::AssertSqlSafe(update))
                .bind(job.0)
                .bind(tenant.as_str())
                .bind(worker)
                .bind(&outcome)
                .fetch_optional(pool)
                .await
                .map_err(|e| self.store.db_error(&doing, e))?
        });
        match done {
            Some(_) => Ok(()),
            None => Err(self.not_held(tenant, job, worker, &doing).await),
        }
    }

    /// Give up `job` of `tenant`, which `worker` holds, with `error`: queued again (keeping its
    /// id and place, its attempts counted) when `retry`, failed for good otherwise. A
    /// [`Conflict`](stackhand_core::ErrorKind::Conflict) when the worker no longer holds it.
    pub async fn fail(
        &self,
        tenant: &TenantId,
        job: JobId,
        worker: &str,
        error: &str,
        retry: bool,
    ) -> Result<()> {
        let doing = format!("failing job {job} of tenant {tenant} for worker {worker}");
        let state = if retry { "queued" } else { "failed" };
        let failed: Option<i64> = on_backend!(self.store, |pool, sql| {
            let update = format!(
                "UPDATE queue_jobs SET state = $4, last_error = $5, lease_owner = NULL, \
                 lease_expires_ms = NULL, updated_ms = {now} \
                 WHERE id = $1 AND tenant = $2 AND state = 'running' AND lease_owner = $3 \
                 RETURNING id",
                now = sql.now_ms
            );
            sqlx::query_scalar(sqlx::AssertSqlSafe(update))
                .bind(job.0)
                .bind(tenant.as_str())
                .bind(worker)
                .bind(state)
                .bind(error)
                .fetch_optional(pool)
                .await
                .map_err(|e| self.store.db_error(&doing, e))?
        });
        match failed {
            Some(_) => Ok(()),
            None => Err(self.not_held(tenant, job, worker, &doing).await),
        }
    }

    /// `job` of `tenant` as stored, or `None` when the tenant has no such job.
    pub async fn job(&self, tenant: &TenantId, job: JobId) -> Result<Option<JobRecord>> {
        let doing = format!("reading job {job} of tenant {tenant}");
        let row: Option<JobRow> = on_backend!(self.store, |pool, _sql| {
            sqlx::query_as(
                "SELECT id, tenant, kind, dedup_key, ordering_key, payload, state, attempts, \
                 lease_owner, lease_expires_ms, outcome, last_error \
                 FROM queue_jobs WHERE id = $1 AND tenant = $2",
            )
            .bind(job.0)
            .bind(tenant.as_str())
            .fetch_optional(pool)
            .await
            .map_err(|e| self.store.db_error(&doing, e))?
        });
        let Some((
            id,
            tenant,
            kind,
            dedup_key,
            ordering_key,
            payload,
            state,
            attempts,
            lease_owner,
            expires,
            outcome,
            last_error,
        )) = row
        else {
            return Ok(None);
        };
        Ok(Some(JobRecord {
            id: JobId(id),
            tenant: tenant_id(tenant)?,
            kind,
            dedup_key,
            ordering_key,
            payload: json("payload", &payload)?,
            state: JobState::parse(&state)?,
            attempts,
            lease_owner,
            lease_expires: expires.map(time),
            outcome: outcome.as_deref().map(|o| json("outcome", o)).transpose()?,
            last_error,
        }))
    }

    /// How many of `tenant`'s jobs are in each state (running split by whether the lease
    /// expired, by the database's clock).
    pub async fn counts(&self, tenant: &TenantId) -> Result<QueueCounts> {
        let doing = format!("counting the queued jobs of tenant {tenant}");
        let rows: Vec<(String, i64)> = on_backend!(self.store, |pool, sql| {
            let count = format!(
                "SELECT CASE WHEN state = 'running' AND lease_expires_ms <= {now} \
                 THEN 'expired' ELSE state END AS s, COUNT(*) \
                 FROM queue_jobs WHERE tenant = $1 GROUP BY 1",
                now = sql.now_ms
            );
            sqlx::query_as(sqlx::AssertSqlSafe(count))
                .bind(tenant.as_str())
                .fetch_all(pool)
                .await
                .map_err(|e| self.store.db_error(&doing, e))?
        });
        let mut counts = QueueCounts::default();
        for (state, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match state.as_str() {
                "queued" => counts.queued += n,
                "running" => counts.running += n,
                "expired" => counts.expired += n,
                "done" => counts.done += n,
                "failed" => counts.failed += n,
                _ => {}
            }
        }
        Ok(counts)
    }

    /// The error for a heartbeat, completion or failure whose compare-and-swap found no job
    /// `worker` holds: a conflict naming who holds it now, or not found.
    async fn not_held(&self, tenant: &TenantId, job: JobId, worker: &str, doing: &str) -> Error {
        let now: Option<(String, Option<String>)> = on_backend!(self.store, |pool, _sql| {
            sqlx::query_as(
                "SELECT state, lease_owner FROM queue_jobs WHERE id = $1 AND tenant = $2",
            )
            .bind(job.0)
            .bind(tenant.as_str())
            .fetch_optional(pool)
            .await
        })
        .unwrap_or(None);
        let base = format!("store ({}): {doing}", self.store.kind());
        match now {
            None => Error::not_found(format!("{base}: tenant {tenant} has no job {job}")),
            Some((state, owner)) => {
                let why = match (state.as_str(), owner) {
                    ("running", Some(owner)) => format!(
                        "its lease was taken over by worker {owner} (the lease of {worker} had \
                         expired); {worker} must stop and record nothing"
                    ),
                    (state, _) => format!("it is {state}, not leased to {worker}"),
                };
                Error::conflict(format!("{base}: worker {worker} no longer holds it: {why}"))
                    .with_context("tenant", tenant.as_str())
                    .with_context("job", job.to_string())
            }
        }
    }
}
