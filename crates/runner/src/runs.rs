//! Durable runs: a run's steps go through the engine one by one, each recorded as started
//! before the engine is asked and as finished with its answer after, so a runner killed
//! anywhere (SIGKILL included) and started again finishes every run exactly once.
//!
//! - Step `i` of run `id` has the idempotency key `<id>.<i>`, so whatever runs it (this
//!   runner, the next one after a crash, two at once) the engine executes it at most once.
//! - A step recorded as started but not finished was interrupted: it is resumed through
//!   [`Engine::resume`], which settles what the dead attempt left (a key claimed but not
//!   decided is decided; a key executing is read back, never executed again; an approval
//!   already asked for is the one waited on).
//! - A step waiting for approval stops the run (`waiting_approval`); driving it again after the
//!   approval carries on. A step denied, failed, or that the engine refused (in doubt, invalid)
//!   fails the run with the reason, for a person to take over. A temporary error (a vendor
//!   outage, another attempt on the same step) leaves the step started and the run running,
//!   to be driven again later.

use std::sync::Arc;

use serde::Serialize;
use stackhand_core::{
    ActionId, Engine, Error, ErrorKind, IdempotencyKey, Principal, Result, Submission, TenantId,
};
use stackhand_store::{NewRun, RunRecord, RunState, StepState, Store};

/// Executes durable runs on an engine and the store its runs are recorded in.
#[derive(Debug, Clone)]
pub struct RunExecutor {
    engine: Engine,
    store: Arc<Store>,
}

/// A step as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepReport {
    /// Its place in the run, from 0.
    pub index: u32,
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
                    action: s.request.action.clone(),
                    state: s.state.as_str(),
                    answer: s.answer.clone(),
                    message: s.message.clone(),
                })
                .collect(),
        }
    }
}

/// The engine's answer as (word, message) for the run's record.
fn answer_of(submission: &Submission) -> (&'static str, String) {
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
        Self { engine, store }
    }

    /// Record `run` (each step's idempotency key becomes `<run id>.<index>`) and drive it. A run
    /// with this id already recorded with the same steps is driven from where it stands; with
    /// other steps, it is a conflict.
    pub async fn start(&self, tenant: &TenantId, mut run: NewRun) -> Result<RunReport> {
        for (index, step) in run.steps.iter_mut().enumerate() {
            step.idempotency_key =
                IdempotencyKey::new(format!("{}.{index}", run.id)).map_err(|e| {
                    Error::invalid(format!(
                        "run id {:?} cannot name its steps' idempotency keys: {}",
                        run.id,
                        e.message()
                    ))
                })?;
        }
        self.store.runs().create(tenant, &run).await?;
        self.drive(tenant, &run.id).await
    }

    /// Drive run `id` of `tenant` from its first unfinished step until it succeeds, fails,
    /// waits for an approval, or meets a temporary error (returned; the run stays running).
    pub async fn drive(&self, tenant: &TenantId, id: &str) -> Result<RunReport> {
        let runs = self.store.runs();
        let run = runs
            .get(tenant, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("tenant {tenant} has no run {id}")))?;
        if run.state.is_finished() {
            return Ok(RunReport::from(&run));
        }
        let mut outcome = (RunState::Succeeded, None);
        for step in &run.steps {
            let waiting = step.answer.as_deref() == Some("pending_approval");
            if step.state == StepState::Finished && !waiting {
                if matches!(step.answer.as_deref(), Some("executed" | "skipped")) {
                    continue;
                }
                outcome = (RunState::Failed, step.message.clone());
                break;
            }
            let request = step.request.clone();
            let answer = if step.state == StepState::Started {
                tracing::info!(%tenant, run = id, step = step.index, "resuming an interrupted step");
                self.engine.resume(request).await
            } else {
                runs.step_started(tenant, id, step.index).await?;
                self.engine.submit(request).await
            };
            let (word, message) = match answer {
                Ok(submission) => answer_of(&submission),
                // Nothing settled: the step stays started, to be resumed.
                Err(err) if err.is_temporary() => return Err(err),
                Err(err) => ("error", err.message().to_string()),
            };
            runs.step_finished(tenant, id, step.index, word, &message)
                .await?;
            let reason = format!("step {} ({}): {message}", step.index, step.request.action);
            match word {
                "executed" | "skipped" => {}
                "pending_approval" => {
                    outcome = (RunState::WaitingApproval, Some(reason));
                    break;
                }
                _ => {
                    outcome = (RunState::Failed, Some(reason));
                    break;
                }
            }
        }
        let (state, reason) = outcome;
        runs.finish(tenant, id, state, reason.as_deref()).await?;
        let run = runs
            .get(tenant, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("tenant {tenant} has no run {id}")))?;
        Ok(RunReport::from(&run))
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
        for step in run.steps.iter().rev() {
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
