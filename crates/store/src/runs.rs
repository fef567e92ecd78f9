//! Durable runs: what a runner was doing, so it can finish after a crash.
//!
//! A run is an ordered list of engine requests (its steps) for one tenant, usually the plan of
//! one ticket. The runner records each step as **started** before it asks the engine and as
//! **finished** with the engine's answer after, and the run's state when it stops
//! (succeeded, failed, or waiting for an approval). A runner killed anywhere and started again
//! reads the unfinished runs back ([`Runs::unfinished`]) and resumes each at its first step that
//! has not finished; a step recorded as started is resumed through
//! [`Engine::resume`](stackhand_core::Engine::resume), which settles whatever the dead attempt
//! left behind without executing anything twice (ADR 0007).
//!
//! Requests are stored without their secret parameters. Every query names the tenant.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use serde_json::json;
//! use stackhand_core::*;
//! use stackhand_store::{NewRun, NoAuditKeys, RunState, StepState, Store};
//!
//! let store = Store::connect("sqlite::memory:", NoAuditKeys).await?;
//! let acme = TenantId::new("acme")?;
//! let unlock = ActionRequest::new(
//!     IdempotencyKey::new("T-1001.0")?, acme.clone(), ActionId::from_static("identity.unlock"),
//!     &json!({ "user": "bob@acme.example" }), Principal::end_user("bob@acme.example"),
//! )?;
//! let run = NewRun::new("T-1001", "unlock Bob").ticket("1001").step(unlock);
//! let runs = store.runs();
//! assert!(runs.create(&acme, &run).await?.created);
//! assert!(!runs.create(&acme, &run).await?.created); // one run per id
//!
//! runs.step_started(&acme, "T-1001", 0).await?;
//! runs.step_finished(&acme, "T-1001", 0, "executed", "Bob is unlocked.", None).await?;
//! runs.finish(&acme, "T-1001", RunState::Succeeded, None).await?;
//! let back = runs.get(&acme, "T-1001").await?.unwrap();
//! assert_eq!(back.steps[0].state, StepState::Finished);
//! assert!(runs.unfinished(&acme).await?.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use stackhand_core::{ActionRequest, Error, Result, TenantId};

use crate::{Store, nanos, on_backend};

/// The longest run id the store takes.
pub const MAX_RUN_ID_LEN: usize = 200;

/// A run to record: its id (unique per tenant; recording it again returns the first), what it
/// is for, and its steps in order.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    /// Unique per tenant: a ticket's run is named after the ticket, so a ticket runs once.
    pub id: String,
    /// One line for people.
    pub summary: String,
    /// The PSA ticket, if the run works for one.
    pub ticket: Option<String>,
    /// What it was planned from, fingerprinted (a ticket's triage): taking the ticket up again
    /// compares this instead of planning anew.
    pub origin: Option<String>,
    /// The run it is one of (a bulk request's parent), if any.
    pub parent: Option<String>,
    /// The steps, in the order they were planned.
    pub steps: Vec<NewStep>,
}

/// One step of a [`NewRun`]: an engine request and its place in the run.
#[derive(Debug, Clone, PartialEq)]
pub struct NewStep {
    /// The request; its parameters may name earlier steps' outputs (`{steps.<name>.<field>}`),
    /// filled in when the step runs.
    pub request: ActionRequest,
    /// Its place in the run.
    pub flow: StepFlow,
}

/// How a step fits in its run: what it waits for, when it applies, when it may run, and where
/// its secret parameters come from. The default is a step that waits for the one before it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepFlow {
    /// The name later steps use for its output (`{steps.<name>.<field>}`) and secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The steps (by index) it waits for; `None`: the step before it. Steps whose waits are
    /// over run at the same time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Vec<u32>>,
    /// It runs only when this holds; otherwise it is recorded as `not_applicable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// It does not run before this time (a start or leave date); the run is `scheduled` until.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
    /// Secret parameters: the action's parameter name and the run secret that fills it
    /// (kept encrypted in the tenant's vault, never in the run's record).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
}

impl StepFlow {
    /// The steps step `index` waits for.
    pub fn waits_for(&self, index: u32) -> Vec<u32> {
        match &self.after {
            Some(after) => after.clone(),
            None if index == 0 => Vec::new(),
            None => vec![index - 1],
        }
    }
}

/// A step's condition: `value` (placeholders filled in when the step is due) compared with
/// one operand. `contains` and `not_contains` ignore case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Condition {
    /// What is tested, e.g. `{steps.diagnose.output}`.
    pub value: String,
    /// How.
    #[serde(flatten)]
    pub test: ConditionTest,
}

/// The test of a [`Condition`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionTest {
    /// The value is this text.
    Equals(String),
    /// The value is not this text.
    NotEquals(String),
    /// The value contains this text, ignoring case.
    Contains(String),
    /// The value does not contain this text, ignoring case.
    NotContains(String),
}

impl Condition {
    /// Whether the condition holds for `value` (the condition's value, filled in).
    pub fn holds(&self, value: &str) -> bool {
        let lower = || value.to_lowercase();
        match &self.test {
            ConditionTest::Equals(text) => value == text,
            ConditionTest::NotEquals(text) => value != text,
            ConditionTest::Contains(text) => lower().contains(&text.to_lowercase()),
            ConditionTest::NotContains(text) => !lower().contains(&text.to_lowercase()),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (word, text) = match &self.test {
            ConditionTest::Equals(t) => ("equals", t),
            ConditionTest::NotEquals(t) => ("does not equal", t),
            ConditionTest::Contains(t) => ("contains", t),
            ConditionTest::NotContains(t) => ("does not contain", t),
        };
        write!(f, "{} {word} {text:?}", self.value)
    }
}

impl NewRun {
    /// A run without steps yet.
    pub fn new(id: impl Into<String>, summary: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            summary: summary.into(),
            ticket: None,
            origin: None,
            parent: None,
            steps: Vec::new(),
        }
    }

    /// The run it is one of: a bulk request's parent, which [`Runs::children`] lists it under.
    pub fn parent(mut self, parent: impl Into<String>) -> Self {
        self.parent = Some(parent.into());
        self
    }

    /// What it was planned from, fingerprinted.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// The ticket it works for.
    pub fn ticket(mut self, ticket: impl Into<String>) -> Self {
        self.ticket = Some(ticket.into());
        self
    }

    /// Add a step that waits for the one before it.
    pub fn step(self, request: ActionRequest) -> Self {
        self.step_with(request, StepFlow::default())
    }

    /// Add a step with its place in the run.
    pub fn step_with(mut self, request: ActionRequest, flow: StepFlow) -> Self {
        self.steps.push(NewStep { request, flow });
        self
    }

    /// Check the steps fit together: every wait and name refers to an earlier step.
    fn check(&self) -> Result<()> {
        let mut names = std::collections::BTreeSet::new();
        for (index, step) in self.steps.iter().enumerate() {
            let index = index as u32;
            if let Some(later) = step.flow.waits_for(index).iter().find(|&&w| w >= index) {
                return Err(Error::invalid(format!(
                    "runs: step {index} of run {} waits for step {later}; a step waits only for \
                     earlier ones",
                    self.id
                )));
            }
            if let Some(name) = &step.flow.name
                && !names.insert(name.as_str())
            {
                return Err(Error::invalid(format!(
                    "runs: two steps of run {} are named {name:?}",
                    self.id
                )));
            }
        }
        Ok(())
    }
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Steps remain; a runner is on it or will resume it.
    Running,
    /// A step waits for an approver; the run goes on when it is approved.
    WaitingApproval,
    /// The steps left may not run yet (a start or leave date); a runner drives it when due.
    Scheduled,
    /// Every step executed (or had nothing to change).
    Succeeded,
    /// A step failed, was denied or could not be settled: a person takes over.
    Failed,
}

impl RunState {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::WaitingApproval => "waiting_approval",
            RunState::Scheduled => "scheduled",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
        }
    }

    /// Succeeded or failed: nothing more will happen.
    pub fn is_finished(self) -> bool {
        matches!(self, RunState::Succeeded | RunState::Failed)
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunState {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        [
            RunState::Running,
            RunState::WaitingApproval,
            RunState::Scheduled,
            RunState::Succeeded,
            RunState::Failed,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
        .ok_or_else(|| Error::permanent(format!("runs: unknown stored run state {s:?}")))
    }
}

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Not begun.
    Pending,
    /// Recorded as begun: the engine was (or was about to be) asked; no answer recorded.
    Started,
    /// The engine answered; see [`StepRecord::answer`].
    Finished,
}

impl StepState {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Started => "started",
            StepState::Finished => "finished",
        }
    }
}

impl FromStr for StepState {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        [StepState::Pending, StepState::Started, StepState::Finished]
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| Error::permanent(format!("runs: unknown stored step state {s:?}")))
    }
}

/// One step as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRecord {
    /// Its place in the run, from 0.
    pub index: u32,
    /// The request (without secret parameters; placeholders of earlier steps' outputs as
    /// recorded, not filled in).
    pub request: ActionRequest,
    /// Its place in the run.
    pub flow: StepFlow,
    /// Where it stands.
    pub state: StepState,
    /// The engine's answer once finished (`executed`, `skipped`, `failed`, `pending_approval`,
    /// `denied`, or `error` when the engine refused with an error).
    pub answer: Option<String>,
    /// What the answer said.
    pub message: Option<String>,
    /// When it was first recorded as started.
    pub started: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished: Option<DateTime<Utc>>,
    /// What it read back after it executed, for later steps.
    pub output: Option<serde_json::Value>,
}

/// One run as stored, with its steps in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// The tenant.
    pub tenant: TenantId,
    /// The run id.
    pub id: String,
    /// One line for people.
    pub summary: String,
    /// The ticket, if any.
    pub ticket: Option<String>,
    /// What it was planned from, fingerprinted, if recorded.
    pub origin: Option<String>,
    /// The run it is one of, if any.
    pub parent: Option<String>,
    /// Where it stands.
    pub state: RunState,
    /// Why it failed or waits, for the person who looks.
    pub reason: Option<String>,
    /// When it was recorded.
    pub created: DateTime<Utc>,
    /// When it last changed.
    pub updated: DateTime<Utc>,
    /// Its steps, in order.
    pub steps: Vec<StepRecord>,
}

impl RunRecord {
    /// The step named `name`.
    pub fn named(&self, name: &str) -> Option<&StepRecord> {
        self.steps
            .iter()
            .find(|s| s.flow.name.as_deref() == Some(name))
    }

    /// When the earliest step not finished may run, if a step waits for a date.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.steps
            .iter()
            .filter(|s| s.state != StepState::Finished)
            .filter_map(|s| s.flow.not_before)
            .min()
    }

    /// The first step not finished (or waiting for approval), if any.
    pub fn next_step(&self) -> Option<&StepRecord> {
        self.steps
            .iter()
            .find(|s| s.state != StepState::Finished || s.answer.as_deref() == Some(PENDING))
    }
}

/// The answer word of a step waiting for approval.
const PENDING: &str = "pending_approval";

/// The answer to [`Runs::create`].
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    /// The run as stored now.
    pub run: RunRecord,
    /// Whether this call recorded it (`false`: it already existed, with the same steps).
    pub created: bool,
}

/// Durable runs on a [`Store`]'s database: see the [module docs](self). Get it with
/// [`Store::runs`].
#[derive(Debug, Clone, Copy)]
pub struct Runs<'a> {
    store: &'a Store,
}

impl Store {
    /// The store's durable runs.
    pub fn runs(&self) -> Runs<'_> {
        Runs { store: self }
    }
}

type RunRow = (
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    i64,
    i64,
    Option<String>,
    Option<String>,
);
type StepRow = (
    i64,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

fn time(ns: i64) -> DateTime<Utc> {
    Utc.timestamp_nanos(ns)
}

fn check_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_RUN_ID_LEN {
        return Err(Error::invalid(format!(
            "runs: a run id must be 1 to {MAX_RUN_ID_LEN} bytes, got {}",
            id.len()
        )));
    }
    Ok(())
}

impl Runs<'_> {
    /// Record `run` for `tenant` with every step pending, or, if a run with its id exists,
    /// return that one. The same id with other steps is a
    /// [`Conflict`](stackhand_core::ErrorKind::Conflict): a run never changes its plan.
    pub async fn create(&self, tenant: &TenantId, run: &NewRun) -> Result<Created> {
        check_id(&run.id)?;
        if run.steps.is_empty() {
            return Err(Error::invalid(format!("runs: run {} has no steps", run.id)));
        }
        run.check()?;
        let doing = format!("recording run {} of tenant {tenant}", run.id);
        let db = |e| self.store.db_error(&doing, e);
        let mut requests = Vec::with_capacity(run.steps.len());
        for (index, step) in run.steps.iter().enumerate() {
            if step.request.tenant != *tenant {
                return Err(Error::invalid(format!(
                    "runs: step {index} of run {} is for tenant {}, not {tenant}",
                    run.id, step.request.tenant
                )));
            }
            requests.push((
                serde_json::to_string(&step.request.clone().without_secrets())?,
                serde_json::to_string(&step.flow)?,
            ));
        }
        let now = nanos(Utc::now());
        let inserted = on_backend!(self.store, |pool, sql| {
            async {
                let mut tx = pool.begin_with(sql.begin_write).await?;
                let inserted = sqlx::query(
                    "INSERT INTO runs (tenant, id, summary, ticket, state, created_ns, \
                     updated_ns, origin, parent) \
                     VALUES ($1, $2, $3, $4, 'running', $5, $5, $6, $7) \
                     ON CONFLICT (tenant, id) DO NOTHING",
                )
                .bind(tenant.as_str())
                .bind(&run.id)
                .bind(&run.summary)
                .bind(run.ticket.as_deref())
                .bind(now)
                .bind(run.origin.as_deref())
                .bind(run.parent.as_deref())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 1 {
                    for (index, (request, flow)) in requests.iter().enumerate() {
                        sqlx::query(
                            "INSERT INTO run_steps (tenant, run_id, idx, request, flow, state) \
                             VALUES ($1, $2, $3, $4, $5, 'pending')",
                        )
                        .bind(tenant.as_str())
                        .bind(&run.id)
                        .bind(index as i64)
                        .bind(request)
                        .bind(flow)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                tx.commit().await?;
                Ok::<_, sqlx::Error>(inserted == 1)
            }
            .await
            .map_err(db)?
        });
        let stored = self.get(tenant, &run.id).await?.ok_or_else(|| {
            Error::not_found(format!("runs: run {} vanished as it was recorded", run.id))
        })?;
        if !inserted {
            let same = stored.steps.len() == run.steps.len()
                && stored.steps.iter().zip(&run.steps).all(|(kept, asked)| {
                    kept.request == asked.request.clone().without_secrets()
                        && kept.flow == asked.flow
                });
            if !same {
                return Err(Error::conflict(format!(
                    "runs: tenant {tenant} already has a run {} with other steps; a run never \
                     changes its plan, so give the new one another id",
                    run.id
                )));
            }
        }
        Ok(Created {
            run: stored,
            created: inserted,
        })
    }

    /// The run `id` of `tenant`, with its steps.
    pub async fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<RunRecord>> {
        let doing = format!("reading run {id} of tenant {tenant}");
        let db = |e| self.store.db_error(&doing, e);
        let row: Option<RunRow> = on_backend!(self.store, |pool, _sql| {
            sqlx::query_as(
                "SELECT id, summary, ticket, state, reason, created_ns, updated_ns, origin, \
                 parent FROM runs WHERE tenant = $1 AND id = $2",
            )
            .bind(tenant.as_str())
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(db)?
        });
        let Some(row) = row else {
            return Ok(None);
        };
        let steps: Vec<StepRow> = on_backend!(self.store, |pool, _sql| {
            sqlx::query_as(
                "SELECT idx, request, flow, state, answer, message, started_ns, finished_ns, \
                 output FROM run_steps WHERE tenant = $1 AND run_id = $2 ORDER BY idx",
            )
            .bind(tenant.as_str())
            .bind(id)
            .fetch_all(pool)
            .await
            .map_err(db)?
        });
        record(tenant, row, steps).map(Some)
    }

    /// The runs of `tenant` that are not finished (running, waiting for approval, scheduled), oldest
    /// first: what a runner resumes when it starts.
    pub async fn unfinished(&self, tenant: &TenantId) -> Result<Vec<RunRecord>> {
        let doing = format!("listing the unfinished runs of tenant {tenant}");
        let ids: Vec<String> = on_backend!(self.store, |pool, _sql| {
            sqlx::query_scalar(
                "SELECT id FROM runs WHERE tenant = $1 \
                 AND state IN ('running', 'waiting_approval', 'scheduled') \
                 ORDER BY created_ns, id",
            )
            .bind(tenant.as_str())
            .fetch_all(pool)
            .await
            .map_err(|e| self.store.db_error(&doing, e))?
        });
        self.all(tenant, ids).await
    }

    /// The runs of `tenant` recorded as one of `parent` (a bulk request's runs), in id order.
    pub async fn children(&self, tenant: &TenantId, parent: &str) -> Result<Vec<RunRecord>> {
        let doing = format!("listing the runs of {parent} of tenant {tenant}");
        let ids: Vec<String> = on_backend!(self.store, |pool, _sql| {
            sqlx::query_scalar("SELECT id FROM runs WHERE tenant = $1 AND parent = $2 ORDER BY id")
                .bind(tenant.as_str())
                .bind(parent)
                .fetch_all(pool)
                .await
                .map_err(|e| self.store.db_error(&doing, e))?
        });
        self.all(tenant, ids).await
    }

    /// The newest runs of `tenant`, up to `limit`, newest first (steps included).
    pub async fn recent(&self, tenant: &TenantId, limit: u32) -> Result<Vec<RunRecord>> {
        let doing = format!("listing the runs of tenant {tenant}");
        let ids: Vec<String> = on_backend!(self.store, |pool, _sql| {
            sqlx::query_scalar(
                "SELECT id FROM runs WHERE tenant = $1 ORDER BY created_ns DESC, id LIMIT $2",
            )
            .bind(tenant.as_str())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
            .map_err(|e| self.store.db_error(&doing, e))?
        });
        self.all(tenant, ids).await
    }

    /// The runs `ids` of `tenant`, in that order (one gone meanwhile is left out).
    async fn all(&self, tenant: &TenantId, ids: Vec<String>) -> Result<Vec<RunRecord>> {
        let mut runs = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(run) = self.get(tenant, &id).await? {
                runs.push(run);
            }
        }
        Ok(runs)
    }

    /// Record step `index` as started (before the engine is asked). Starting a step already
    /// started (a resume) keeps its first start time; a finished step is not started again.
    pub async fn step_started(&self, tenant: &TenantId, run: &str, index: u32) -> Result<()> {
        let doing = format!("recording step {index} of run {run} of tenant {tenant} as started");
        let now = nanos(Utc::now());
        let changed = on_backend!(self.store, |pool, _sql| {
            sqlx::query(
                "UPDATE run_steps SET state = 'started', \
                 started_ns = COALESCE(started_ns, $1) \
                 WHERE tenant = $2 AND run_id = $3 AND idx = $4 AND state <> 'finished'",
            )
            .bind(now)
            .bind(tenant.as_str())
            .bind(run)
            .bind(i64::from(index))
            .execute(pool)
            .await
            .map_err(|e| self.store.db_error(&doing, e))?
            .rows_affected()
        });
        self.touched(tenant, run, index, changed, &doing).await
    }

    /// Record step `index` as finished with the engine's `answer`, its `message`, and what it
    /// read back (`output`, for later steps). A step waiting for approval is finished again
    /// when the approval is resolved.
    pub async fn step_finished(
        &self,
        tenant: &TenantId,
        run: &str,
        index: u32,
        answer: &str,
        message: &str,
        output: Option<&serde_json::Value>,
    ) -> Result<()> {
        let doing = format!("recording step {index} of run {run} of tenant {tenant} as {answer}");
        let now = nanos(Utc::now());
        let output = output.map(serde_json::to_string).transpose()?;
        let changed = on_backend!(self.store, |pool, _sql| {
            sqlx::query(
                "UPDATE run_steps SET state = 'finished', answer = $1, message = $2, \
                 started_ns = COALESCE(started_ns, $3), finished_ns = $3, output = $7 \
                 WHERE tenant = $4 AND run_id = $5 AND idx = $6",
            )
            .bind(answer)
            .bind(message)
            .bind(now)
            .bind(tenant.as_str())
            .bind(run)
            .bind(i64::from(index))
            .bind(output.as_deref())
            .execute(pool)
            .await
            .map_err(|e| self.store.db_error(&doing, e))?
            .rows_affected()
        });
        self.touched(tenant, run, index, changed, &doing).await
    }

    /// Record where run `id` stands, and why when it failed or waits.
    pub async fn finish(
        &self,
        tenant: &TenantId,
        id: &str,
        state: RunState,
        reason: Option<&str>,
    ) -> Result<()> {
        let doing = format!("recording run {id} of tenant {tenant} as {state}");
        let changed = on_backend!(self.store, |pool, _sql| {
            sqlx::query(
                "UPDATE runs SET state = $1, reason = $2, updated_ns = $3 \
                 WHERE tenant = $4 AND id = $5",
            )
            .bind(state.as_str())
            .bind(reason)
            .bind(nanos(Utc::now()))
            .bind(tenant.as_str())
            .bind(id)
            .execute(pool)
            .await
            .map_err(|e| self.store.db_error(&doing, e))?
            .rows_affected()
        });
        if changed == 0 {
            return Err(Error::not_found(format!(
                "runs: tenant {tenant} has no run {id}"
            )));
        }
        Ok(())
    }

    /// After a step update: a step that matched nothing is named (unknown run or step, or a
    /// finished step asked to start again, which is fine and silent).
    async fn touched(
        &self,
        tenant: &TenantId,
        run: &str,
        index: u32,
        changed: u64,
        doing: &str,
    ) -> Result<()> {
        if changed > 0 {
            return Ok(());
        }
        match self.get(tenant, run).await? {
            Some(found) if (index as usize) < found.steps.len() => Ok(()),
            Some(found) => Err(Error::invalid(format!(
                "runs: {doing}: run {run} has {} steps",
                found.steps.len()
            ))),
            None => Err(Error::not_found(format!(
                "runs: {doing}: tenant {tenant} has no run {run}"
            ))),
        }
    }
}

fn record(tenant: &TenantId, row: RunRow, steps: Vec<StepRow>) -> Result<RunRecord> {
    let (id, summary, ticket, state, reason, created, updated, origin, parent) = row;
    let malformed = |what: &str, e: serde_json::Error| {
        Error::permanent(format!(
            "runs: the stored {what} of run {id} is malformed: {e}"
        ))
    };
    let steps = steps
        .into_iter()
        .map(
            |(index, request, flow, state, answer, message, started, finished, output)| {
                let at = format!("step {index}");
                Ok(StepRecord {
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                    request: serde_json::from_str(&request).map_err(|e| malformed(&at, e))?,
                    flow: flow
                        .map(|f| serde_json::from_str(&f))
                        .transpose()
                        .map_err(|e| malformed(&format!("flow of {at}"), e))?
                        .unwrap_or_default(),
                    state: state.parse()?,
                    answer,
                    message,
                    started: started.map(time),
                    finished: finished.map(time),
                    output: output
                        .map(|o| serde_json::from_str(&o))
                        .transpose()
                        .map_err(|e| malformed(&format!("output of {at}"), e))?,
                })
            },
        )
        .collect::<Result<Vec<_>>>()?;
    Ok(RunRecord {
        tenant: tenant.clone(),
        state: state.parse()?,
        id,
        summary,
        ticket,
        origin,
        parent,
        reason,
        created: time(created),
        updated: time(updated),
        steps,
    })
}
