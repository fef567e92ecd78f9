//! Durable runs: a run's steps go through the engine, each recorded as started before the
//! engine is asked and as finished with its answer after, so a runner killed anywhere
//! (SIGKILL included) and started again finishes every run exactly once.
//!
//! - Step `i` of run `id` has the idempotency key `<id>.<i>`, so whatever runs it (this
//!   runner, the next one after a crash, two at once) the engine executes it at most once.
//! - A step waits for the steps its [`StepFlow`](stackhand_store::StepFlow) names (by default the one before it); steps
//!   whose waits are over run at the same time. A step with a condition (`when`) that does not
//!   hold is recorded as `not_applicable`; a step not due yet (`not_before`) leaves the run
//!   `scheduled` until a runner drives it again.
//! - A step's parameters may name earlier steps' outputs (`{steps.<name>.<field>}`: what the
//!   step read back after it executed, kept with the run), filled in when the step runs.
//! - Secret parameters come from the run's secrets, kept encrypted in the tenant's vault (never
//!   in the run's record): secrets generated when the run is recorded
//!   ([`RunExecutor::start_with_secrets`]), and secrets a named step handed over
//!   (`<step name>.<secret>`) when a later step uses them. They are deleted when the run ends.
//! - A step recorded as started but not finished was interrupted: it is resumed through
//!   [`Engine::resume`], which settles what the dead attempt left (a key claimed but not
//!   decided is decided; a key executing is read back, never executed again; an approval
//!   already asked for is the one waited on).
//! - A step waiting for approval stops the run (`waiting_approval`) once nothing else can run;
//!   driving it again after the approval carries on. A step denied, failed, or that the engine
//!   refused (in doubt, invalid) fails the run with the reason, for a person to take over. A
//!   temporary error (a vendor outage, another attempt on the same step) leaves the step
//!   started and the run running, to be driven again later.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::Serialize;
use serde_json::Value;
use stackhand_core::{
    ActionId, ActionRequest, Engine, Error, ErrorKind, IdempotencyKey, Principal, Result,
    Submission, TenantId,
};
use stackhand_store::{NewRun, RunRecord, RunState, StepRecord, StepState, Store, Vault};

/// The time runs are driven at: the wall clock, or (for a demo or a test) the wall clock moved
/// forward, so a step scheduled for a start date can be shown running. Clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// Now, as this clock tells it.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Move the clock forward to `when` (never back).
    pub fn advance_to(&self, when: DateTime<Utc>) {
        let ahead = (when - Utc::now()).num_milliseconds();
        self.offset_ms.fetch_max(ahead, Ordering::Relaxed);
    }
}

/// Executes durable runs on an engine and the store its runs are recorded in.
#[derive(Debug, Clone)]
pub struct RunExecutor {
    engine: Engine,
    store: Arc<Store>,
    vault: Option<Arc<Vault>>,
    clock: Clock,
}

/// A step as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepReport {
    /// Its place in the run, from 0.
    pub index: u32,
    /// Its name in the run, if it has one.
    pub name: Option<String>,
    /// The action.
    pub action: ActionId,
    /// pending, started or finished.
    pub state: &'static str,
    /// The engine's answer, once finished.
    pub answer: Option<String>,
    /// What the answer said.
    pub message: Option<String>,
}

/// Where a run stands after it was driven.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// The tenant.
    pub tenant: TenantId,
    /// The run id.
    pub id: String,
    /// One line for people.
    pub summary: String,
    /// Where it stands.
    pub state: RunState,
    /// Why it failed or waits.
    pub reason: Option<String>,
    /// Its steps.
    pub steps: Vec<StepReport>,
}

impl From<&RunRecord> for RunReport {
    fn from(run: &RunRecord) -> Self {
        Self {
            tenant: run.tenant.clone(),
            id: run.id.clone(),
            summary: run.summary.clone(),
            state: run.state,
            reason: run.reason.clone(),
            steps: run
                .steps
                .iter()
                .map(|s| StepReport {
                    index: s.index,
                    name: s.flow.name.clone(),
                    action: s.request.action.clone(),
                    state: s.state.as_str(),
                    answer: s.answer.clone(),
                    message: s.message.clone(),
                })
                .collect(),
        }
    }
}

/// The engine's answer as (word, message), as a run's record keeps it: the word is
/// [`Submission::label`], the message what the receipt, approval or denial says.
pub fn answer_of(submission: &Submission) -> (&'static str, String) {
    let word = submission.label();
    let message = if let Some(receipt) = submission.receipt() {
        match &receipt.failure {
            Some(failure) => failure.message.clone(),
            None => receipt
                .outcome
                .user_message
                .clone()
                .unwrap_or_else(|| receipt.plan.summary.clone()),
        }
    } else if let Some(approval) = submission.approval() {
        format!(
            "waiting for approval {} ({})",
            approval.id, approval.decision.reason
        )
    } else if let Some(denial) = submission.denial() {
        format!("denied by rule {}: {}", denial.rule, denial.reason)
    } else {
        String::new()
    };
    (word, message)
}

impl RunExecutor {
    /// An executor for `engine`, recording runs in `store`.
    pub fn new(engine: Engine, store: Arc<Store>) -> Self {
        Self {
            engine,
            store,
            vault: None,
            clock: Clock::default(),
        }
    }

    /// Keep run secrets in `vault` (without one, a run that needs a secret fails, naming it).
    pub fn with_vault(mut self, vault: Arc<Vault>) -> Self {
        self.vault = Some(vault);
        self
    }

    /// Drive runs at `clock`'s time.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Record `run` (each step's idempotency key becomes `<run id>.<index>`) and drive it. A run
    /// with this id already recorded with the same steps is driven from where it stands; with
    /// other steps, it is a conflict.
    pub async fn start(&self, tenant: &TenantId, run: NewRun) -> Result<RunReport> {
        self.start_with_secrets(tenant, run, &[]).await
    }

    /// [`start`](Self::start), with a password generated for each of `generate` (unless an
    /// earlier recording of this run generated it) and kept in the tenant's vault as a run
    /// secret before the run is recorded, so a crash can never lose one a step already used.
    pub async fn start_with_secrets(
        &self,
        tenant: &TenantId,
        mut run: NewRun,
        generate: &[String],
    ) -> Result<RunReport> {
        for (index, step) in run.steps.iter_mut().enumerate() {
            step.request.idempotency_key = IdempotencyKey::new(format!("{}.{index}", run.id))
                .map_err(|e| {
                    Error::invalid(format!(
                        "run id {:?} cannot name its steps' idempotency keys: {}",
                        run.id,
                        e.message()
                    ))
                })?;
        }
        // A run recorded before had its secrets generated then (and an ended one lost them on
        // purpose): only a new run gets new ones.
        let recorded = self.store.runs().get(tenant, &run.id).await?.is_some();
        for name in generate.iter().filter(|_| !recorded) {
            let vault = self.vault(&run.id)?;
            let key = secret_name(&run.id, name);
            match vault.get(tenant, &key).await {
                Ok(_) => {}
                Err(err) if err.kind() == ErrorKind::NotFound => {
                    vault
                        .set(tenant, &key, stackhand_core::password::generate_password())
                        .await?;
                }
                Err(err) => return Err(err),
            }
        }
        self.store.runs().create(tenant, &run).await?;
        self.drive(tenant, &run.id).await
    }

    fn vault(&self, run: &str) -> Result<&Arc<Vault>> {
        self.vault.as_ref().ok_or_else(|| {
            Error::invalid(format!(
                "run {run} needs a secret kept in the vault, and this runner has none; open it \
                 through a deployment with [store] master_key"
            ))
        })
    }

    /// Drive run `id` of `tenant` until it succeeds, fails, waits for an approval or a date,
    /// or meets a temporary error (returned; the run stays running).
    pub async fn drive(&self, tenant: &TenantId, id: &str) -> Result<RunReport> {
        // A step waiting for approval is asked once per drive, not again and again.
        let mut asked: BTreeSet<u32> = BTreeSet::new();
        loop {
            let run = self.get(tenant, id).await?;
            if run.state.is_finished() {
                return Ok(RunReport::from(&run));
            }
            let now = self.clock.now();
            if let Some(failed) = run
                .steps
                .iter()
                .find(|s| s.state == StepState::Finished && !succeeded(s) && !waiting(s))
            {
                let reason = reason_of(failed);
                return self.settle(&run, RunState::Failed, Some(reason)).await;
            }
            let ready: Vec<&StepRecord> = run
                .steps
                .iter()
                .filter(|s| {
                    !succeeded(s)
                        && !asked.contains(&s.index)
                        && s.flow
                            .waits_for(s.index)
                            .iter()
                            .all(|w| run.steps.get(*w as usize).is_some_and(succeeded))
                        && s.flow.not_before.is_none_or(|t| t <= now)
                })
                .collect();
            if ready.is_empty() {
                let (state, reason) = if run.steps.iter().all(succeeded) {
                    (RunState::Succeeded, None)
                } else if let Some(step) = run.steps.iter().find(|s| waiting(s)) {
                    (RunState::WaitingApproval, Some(reason_of(step)))
                } else if let Some((step, due)) = run
                    .steps
                    .iter()
                    .filter(|s| !succeeded(s))
                    .filter_map(|s| s.flow.not_before.map(|t| (s, t)))
                    .min_by_key(|(_, t)| *t)
                {
                    (
                        RunState::Scheduled,
                        Some(format!(
                            "step {} ({}) is due at {}",
                            step.index,
                            step.request.action,
                            due.format("%Y-%m-%d %H:%M UTC")
                        )),
                    )
                } else {
                    (
                        RunState::Failed,
                        Some("no step left can run: each waits for one that will not".into()),
                    )
                };
                return self.settle(&run, state, reason).await;
            }
            asked.extend(ready.iter().map(|s| s.index));
            let results =
                futures::future::join_all(ready.iter().map(|step| self.step(&run, step))).await;
            // Every step's answer is recorded before an error stops the drive.
            for result in results {
                result?;
            }
        }
    }

    async fn get(&self, tenant: &TenantId, id: &str) -> Result<RunRecord> {
        self.store
            .runs()
            .get(tenant, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("tenant {tenant} has no run {id}")))
    }

    /// Record where the run stands; a run that ended loses its secrets.
    async fn settle(
        &self,
        run: &RunRecord,
        state: RunState,
        reason: Option<String>,
    ) -> Result<RunReport> {
        let tenant = &run.tenant;
        self.store
            .runs()
            .finish(tenant, &run.id, state, reason.as_deref())
            .await?;
        if state.is_finished()
            && let Some(vault) = &self.vault
        {
            let prefix = secret_name(&run.id, "");
            for credential in vault.list(tenant).await? {
                if credential.name.starts_with(&prefix) {
                    vault.delete(tenant, &credential.name).await?;
                }
            }
        }
        Ok(RunReport::from(&self.get(tenant, &run.id).await?))
    }

    /// Run one step whose waits are over, and record its answer (an error that settles nothing
    /// leaves it started, and is returned).
    async fn step(&self, run: &RunRecord, step: &StepRecord) -> Result<()> {
        let (tenant, id, index) = (&run.tenant, run.id.as_str(), step.index);
        let runs = self.store.runs();
        let request = match self.prepare(run, step).await {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(()),
            Err(err) if err.is_temporary() => return Err(err),
            Err(err) => {
                return runs
                    .step_finished(tenant, id, index, "error", err.message(), None)
                    .await;
            }
        };
        let answer = if step.state == StepState::Started {
            tracing::info!(%tenant, run = id, step = index, "resuming an interrupted step");
            self.engine.resume(request).await
        } else {
            runs.step_started(tenant, id, index).await?;
            self.engine.submit(request).await
        };
        let (word, message, output) = match answer {
            Ok(submission) => {
                self.keep_secrets(run, step, &submission).await?;
                let output = submission
                    .receipt()
                    .filter(|r| r.failure.is_none())
                    .map(|r| r.outcome.state_after.clone());
                let (word, message) = answer_of(&submission);
                (word, message, output)
            }
            // Nothing settled: the step stays started, to be resumed.
            Err(err) if err.is_temporary() => return Err(err),
            Err(err) => ("error", err.message().to_string(), None),
        };
        runs.step_finished(tenant, id, index, word, &message, output.as_ref())
            .await
    }

    /// The request of `step` with earlier outputs and its secrets filled in, or `None` when
    /// its condition does not hold (recorded as `not_applicable`).
    async fn prepare(&self, run: &RunRecord, step: &StepRecord) -> Result<Option<ActionRequest>> {
        let at = format!("step {} ({})", step.index, step.request.action);
        if let Some(condition) = &step.flow.when {
            let value = fill_text(&condition.value, run, &at)?;
            if !condition.holds(&value) {
                self.store
                    .runs()
                    .step_finished(
                        &run.tenant,
                        &run.id,
                        step.index,
                        "not_applicable",
                        &format!("not needed: {condition} does not hold (it is {value:?})"),
                        None,
                    )
                    .await?;
                return Ok(None);
            }
        }
        let mut request = step.request.clone();
        request.params = fill_outputs(&request.params, run, &at)?;
        for (param, secret) in &step.flow.secrets {
            let vault = self.vault(&run.id)?;
            let value = match vault.get(&run.tenant, &secret_name(&run.id, secret)).await {
                Ok(value) => value,
                Err(err) if err.kind() == ErrorKind::NotFound => {
                    return Err(Error::invalid(format!(
                        "{at} needs the run secret {secret:?}, which is not kept: the step that \
                         hands it over did not run, or the runner stopped before it kept it; \
                         issue a new one (a password reset) and finish by hand"
                    )));
                }
                Err(err) => return Err(err),
            };
            request = request.with_secret(param.clone(), value);
        }
        Ok(Some(request))
    }

    /// Keep the secrets a named step handed over that later steps use.
    async fn keep_secrets(
        &self,
        run: &RunRecord,
        step: &StepRecord,
        submission: &Submission,
    ) -> Result<()> {
        let (Some(name), Some(receipt)) = (&step.flow.name, submission.receipt()) else {
            return Ok(());
        };
        for secret in &receipt.outcome.secrets {
            let key = format!("{name}.{}", secret.name);
            let used = run
                .steps
                .iter()
                .any(|s| s.flow.secrets.values().any(|v| *v == key));
            if used {
                let value: SecretString = secret.value.clone();
                self.vault(&run.id)?
                    .set(&run.tenant, &secret_name(&run.id, &key), value)
                    .await?;
            }
        }
        Ok(())
    }

    /// Undo run `id` of `tenant`: every step that executed, newest first, each an undo request
    /// of `requester` that the policy decides like any other (it may need an approval, or be
    /// refused). A step whose action cannot be undone (a password reset hands over a secret
    /// that cannot be taken back) is reported and skipped. Undoing again answers with the first
    /// undo of each step: nothing is undone twice.
    pub async fn undo(
        &self,
        tenant: &TenantId,
        id: &str,
        requester: Principal,
        reason: &str,
    ) -> Result<Vec<StepReport>> {
        let run = self
            .store
            .runs()
            .get(tenant, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("tenant {tenant} has no run {id}")))?;
        let mut undone = Vec::new();
        // Newest first: steps that ran at once are undone in the order they finished, reversed.
        let mut executed: Vec<&StepRecord> = run.steps.iter().collect();
        executed.sort_by_key(|s| std::cmp::Reverse((s.finished, s.index)));
        for step in executed {
            if step.answer.as_deref() != Some("executed") {
                continue;
            }
            let answer = self
                .engine
                .undo(
                    tenant,
                    &step.request.idempotency_key,
                    requester.clone(),
                    reason,
                )
                .await;
            let (word, message) = match answer {
                Ok(submission) => answer_of(&submission),
                Err(err) if err.kind() == ErrorKind::Invalid => {
                    ("not_undoable", err.message().to_string())
                }
                Err(err) => return Err(err),
            };
            undone.push(StepReport {
                index: step.index,
                name: step.flow.name.clone(),
                action: step.request.action.clone(),
                state: "finished",
                answer: Some(word.to_string()),
                message: Some(message),
            });
        }
        Ok(undone)
    }

    /// Drive every unfinished run of `tenants`, oldest first: what a runner does when it
    /// starts. A run that meets a temporary error is reported as it stands (still running).
    pub async fn resume_unfinished(&self, tenants: &[TenantId]) -> Result<Vec<RunReport>> {
        let mut reports = Vec::new();
        for tenant in tenants {
            for run in self.store.runs().unfinished(tenant).await? {
                match self.drive(tenant, &run.id).await {
                    Ok(report) => reports.push(report),
                    Err(err) if err.is_temporary() => {
                        tracing::warn!(%tenant, run = run.id, error = %err, "run not finished");
                        let now = self.store.runs().get(tenant, &run.id).await?;
                        reports.extend(now.as_ref().map(RunReport::from));
                    }
                    Err(err) => return Err(err),
                }
            }
        }
        Ok(reports)
    }
}

/// Executed, skipped (nothing to change) or not applicable: later steps may go on.
fn succeeded(step: &StepRecord) -> bool {
    step.state == StepState::Finished
        && matches!(
            step.answer.as_deref(),
            Some("executed" | "skipped" | "not_applicable")
        )
}

fn waiting(step: &StepRecord) -> bool {
    step.answer.as_deref() == Some("pending_approval")
}

fn reason_of(step: &StepRecord) -> String {
    format!(
        "step {} ({}): {}",
        step.index,
        step.request.action,
        step.message.as_deref().unwrap_or_default()
    )
}

/// The vault name of run secret `name` of run `run`.
fn secret_name(run: &str, name: &str) -> String {
    format!("run/{run}/{name}")
}

/// What `{steps.<name>.<field>...}` names in `run`: the named step's output, or a field of it
/// (dotted path; numbers index arrays).
fn output_of<'a>(run: &'a RunRecord, reference: &str, at: &str) -> Result<&'a Value> {
    let mut parts = reference.split('.');
    let name = parts.next().unwrap_or_default();
    let step = run.named(name).ok_or_else(|| {
        Error::invalid(format!(
            "{at} names {{steps.{reference}}}: no step is named {name:?}"
        ))
    })?;
    let mut value = step.output.as_ref().ok_or_else(|| {
        Error::invalid(format!(
            "{at} needs {{steps.{reference}}}, and step {name:?} has no output ({})",
            step.answer.as_deref().unwrap_or("not run")
        ))
    })?;
    for part in parts {
        value = match value {
            Value::Object(map) => map.get(part),
            Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        }
        .ok_or_else(|| {
            Error::invalid(format!(
                "{at} needs {{steps.{reference}}}, and step {name:?}'s output has no {part:?}"
            ))
        })?;
    }
    Ok(value)
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `text` with every `{steps.…}` filled in from `run`'s outputs.
fn fill_text(text: &str, run: &RunRecord, at: &str) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{steps.") {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push_str(&rest[..open]);
        let reference = &rest[open + "{steps.".len()..open + close];
        out.push_str(&text_of(output_of(run, reference, at)?));
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `params` with earlier steps' outputs filled in; a string that is one reference alone takes
/// the referenced value as it is (a list stays a list).
fn fill_outputs(params: &Value, run: &RunRecord, at: &str) -> Result<Value> {
    Ok(match params {
        Value::String(s) => {
            let whole = s
                .strip_prefix("{steps.")
                .and_then(|r| r.strip_suffix('}'))
                .filter(|r| !r.contains('}'));
            match whole {
                Some(reference) => output_of(run, reference, at)?.clone(),
                None => Value::String(fill_text(s, run, at)?),
            }
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| fill_outputs(v, run, at))
                .collect::<Result<_>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), fill_outputs(v, run, at)?)))
                .collect::<Result<_>>()?,
        ),
        other => other.clone(),
    })
}
