//! Commands on a deployment's engine and store: `act`, `approvals`, `approve`, `deny`, and the
//! audit trail in the database (`audit show`, `audit verify` without a directory).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use secrecy::ExposeSecret;
use stackhand_core::audit::{AuditSink, BreakKind};
use stackhand_core::engine::EngineStore;
use stackhand_core::{
    ActionId, ActionRequest, ApprovalId, IdempotencyKey, Principal, Submission, Target, TenantId,
};
use stackhand_runner::walkthrough::WentOn;
use stackhand_runner::{
    Deployment, LoadedConfig, Pipeline, RunReport, StepReport, default_registry,
};

/// The deployment of `config`.
pub async fn open(config: &Path) -> Result<Deployment> {
    let loaded = LoadedConfig::load(config)?;
    Ok(Deployment::open(&loaded, &default_registry()).await?)
}

/// The ticket pipeline of `config`, on its deployment.
pub async fn open_pipeline(config: &Path) -> Result<Pipeline> {
    let loaded = LoadedConfig::load(config)?;
    Ok(Pipeline::open(&loaded, &default_registry()).await?)
}

/// What `act` was asked to do.
pub struct Act<'a> {
    pub tenant: &'a str,
    pub action: &'a str,
    pub params: &'a str,
    pub requester: &'a str,
    pub target: Option<&'a str>,
    pub key: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub secret: Option<&'a str>,
    pub json: bool,
    pub show_secrets: bool,
}

/// `stackhand act`: one request through the engine and the policy.
pub async fn act(config: &Path, act: Act<'_>) -> Result<ExitCode> {
    let tenant = TenantId::new(act.tenant).context("--tenant")?;
    let action = ActionId::new(act.action).context("--action")?;
    let params: serde_json::Value = serde_json::from_str(act.params).with_context(|| {
        format!(
            "--params is not JSON: {:?} (quote it for the shell: --params '{{\"user\": \
             \"bob@acme.example\"}}')",
            act.params
        )
    })?;
    let key = match act.key {
        Some(key) => IdempotencyKey::new(key).context("--key")?,
        None => IdempotencyKey::new(format!("act.{}", uuid::Uuid::new_v4().simple()))?,
    };
    let deployment = open(config).await?;
    let mut request = ActionRequest::new(
        key.clone(),
        tenant,
        action,
        &params,
        Principal::technician(act.requester, &[]),
    )?
    .with_reason(act.reason.unwrap_or("stackhand act"));
    if let Some(target) = act.target {
        request = request.with_target(Target::user(target));
    }
    if let Some(name) = act.secret {
        let value = crate::credentials::read_secret_from_stdin(&format!("--secret {name}"))?;
        request = request.with_secret(name, value);
    }
    let submission = deployment.engine().submit(request).await?;
    show_submission(&key, &submission, act.json, act.show_secrets)?;
    Ok(match submission.label() {
        "executed" | "skipped" | "pending_approval" => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}

fn show_submission(
    key: &IdempotencyKey,
    submission: &Submission,
    json: bool,
    show_secrets: bool,
) -> Result<()> {
    let secrets: Vec<(String, String)> = submission
        .receipt()
        .map(|r| {
            r.outcome
                .secrets
                .iter()
                .map(|s| (s.name.clone(), s.value.expose_secret().to_string()))
                .collect()
        })
        .unwrap_or_default();
    if json {
        let mut doc = serde_json::json!({
            "key": key,
            "answer": submission.label(),
            "receipt": submission.receipt(),
            "approval": submission.approval(),
            "denial": submission.denial(),
        });
        if show_secrets {
            doc["secrets"] = serde_json::json!(secrets.into_iter().collect::<Vec<_>>());
        }
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!("{key}: {}", submission.label());
    if let Some(receipt) = submission.receipt() {
        println!("  {}", receipt.plan.summary);
        for change in &receipt.outcome.changes {
            println!("  changed {} {}", change.resource, change.field);
        }
        if let Some(message) = &receipt.outcome.user_message {
            println!("  {message}");
        }
        if let Some(failure) = &receipt.failure {
            println!("  failed: {}", failure.message);
        }
    }
    if let Some(approval) = submission.approval() {
        println!(
            "  waiting for approval {} ({}); `stackhand approve {} --as <approver>`",
            approval.id, approval.decision.reason, approval.id
        );
    }
    if let Some(denial) = submission.denial() {
        println!("  denied by rule {}: {}", denial.rule, denial.reason);
    }
    for (name, value) in &secrets {
        if show_secrets {
            println!("  {name}: {value}");
        } else {
            println!("  {name}: handed over once and not kept; pass --show-secrets to print it");
        }
    }
    Ok(())
}

/// `stackhand approvals`: a tenant's pending approvals.
pub async fn approvals(config: &Path, tenant: &str, json: bool) -> Result<ExitCode> {
    let tenant = TenantId::new(tenant).context("--tenant")?;
    let deployment = open(config).await?;
    let pending = deployment.engine().pending_approvals(&tenant).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&pending)?);
    } else if pending.is_empty() {
        println!("no pending approvals for {tenant}");
    }
    if !json {
        for approval in &pending {
            println!(
                "{} {} {} (rule {}, expires {})\n  {}",
                approval.id,
                approval.request.action,
                approval.request.idempotency_key,
                approval.decision.rule,
                approval.expires,
                approval.plan.summary
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How an answer is printed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Output {
    /// JSON instead of text.
    pub json: bool,
    /// Secrets handed over printed, not only named.
    pub show_secrets: bool,
}

/// `stackhand approve` / `stackhand deny`: answer an approval as a member of `[[staff]]`; a
/// durable run waiting on it goes on.
pub async fn answer(
    config: &Path,
    id: &str,
    approver: &str,
    deny_reason: Option<&str>,
    output: Output,
) -> Result<ExitCode> {
    let id: ApprovalId = id
        .parse()
        .map_err(|_| anyhow::anyhow!("{id:?} is not an approval id (`stackhand approvals`)"))?;
    let pipeline = open_pipeline(config).await?;
    let deployment = pipeline.deployment();
    let engine = deployment.engine();
    // The staff directory decides what the approver may do; the roles given here are none.
    let who = Principal::technician(approver, &[]);
    let Some(approval) = EngineStore::approval(deployment.store().as_ref(), id).await? else {
        bail!("no approval {id} (`stackhand approvals --tenant <T>` lists them)");
    };
    let (tenant, key) = (approval.tenant, approval.request.idempotency_key);
    match deny_reason {
        Some(reason) => {
            let denial = engine.deny(id, &who, reason).await?;
            println!("{id}: denied ({})", denial.reason);
        }
        None => {
            let submission = engine.approve(id, &who).await?;
            show_submission(&key, &submission, output.json, output.show_secrets)?;
        }
    }
    // A run waiting on this step goes on.
    match pipeline.go_on_after_answer(&tenant, &key).await? {
        WentOn::Nothing => {}
        WentOn::Run(report) => print_run(&report),
        WentOn::Ticket(outcome) => print_outcome(&outcome),
    }
    Ok(ExitCode::SUCCESS)
}

/// A run report as text.
pub fn print_run(report: &RunReport) {
    let why = report
        .reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    println!(
        "run {} of {}: {}{why}\n  {}",
        report.id, report.tenant, report.state, report.summary
    );
    report.steps.iter().for_each(print_step);
}

/// One step as a line: its place, action, answer (or state) and message.
fn print_step(step: &StepReport) {
    println!(
        "  [{}] {:28} {} {}",
        step.index,
        step.action.as_str(),
        crate::style::answer(step.answer.as_deref().unwrap_or(step.state), 16),
        step.message.as_deref().unwrap_or("")
    );
}

/// `stackhand audit show`: a tenant's trail in the store, oldest first.
pub async fn audit_show(config: &Path, tenant: &str, limit: usize, json: bool) -> Result<ExitCode> {
    let tenant = TenantId::new(tenant).context("--tenant")?;
    let deployment = open(config).await?;
    let events = deployment.store().events(&tenant).await?;
    let shown = &events[events.len().saturating_sub(limit)..];
    if json {
        println!("{}", serde_json::to_string_pretty(shown)?);
        return Ok(ExitCode::SUCCESS);
    }
    if events.is_empty() {
        println!("no audit events for {tenant}");
    }
    for event in shown {
        let r = &event.record;
        println!(
            "{:>5} {} {:24} {:28} {} {}",
            event.seq,
            r.at.format("%Y-%m-%d %H:%M:%S"),
            format!("{:?}", r.kind),
            r.action.as_ref().map(|a| a.as_str()).unwrap_or("-"),
            r.request.as_ref().map(|k| k.as_str()).unwrap_or("-"),
            r.actor.as_deref().unwrap_or("-"),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `stackhand audit verify` on the store of `config`: exit 3 if any chain is broken.
pub async fn audit_verify_store(config: &Path) -> Result<ExitCode> {
    let deployment = open(config).await?;
    let store = deployment.store();
    let tenants = store.audit_tenants().await?;
    if tenants.is_empty() {
        println!("the store holds no audit chains yet");
        return Ok(ExitCode::SUCCESS);
    }
    let broken = report_chains(store.as_ref(), &tenants, |_, kind| {
        if kind == BreakKind::WrongKey {
            println!(
                "  check [store] audit_key: it must be the master audit key the store was \
                 written with"
            );
        }
    })
    .await?;
    Ok(if broken {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// Verify and print each tenant's chain of `sink`; `hint` adds a line for a break. Whether any
/// chain is broken.
pub async fn report_chains(
    sink: &dyn AuditSink,
    tenants: &[TenantId],
    hint: impl Fn(&TenantId, BreakKind),
) -> Result<bool> {
    let mut broken = false;
    for tenant in tenants {
        match sink.verify_tenant(tenant).await? {
            Ok(summary) => {
                println!(
                    "{tenant}: ok, {} events, head {}",
                    summary.events, summary.head
                );
                if summary.unanchored > 0 {
                    println!(
                        "  {} event(s) after the anchored head verify with the key (written just \
                         before a stop); the next append anchors them",
                        summary.unanchored
                    );
                }
            }
            Err(err) => {
                broken = true;
                println!("{tenant}: BROKEN: {err}");
                hint(tenant, err.kind);
            }
        }
    }
    Ok(broken)
}

/// Who takes tickets from the queue, and how many at once.
pub struct Worker<'a> {
    /// The worker's name in the queue.
    pub name: &'a str,
    /// Tickets at once.
    pub parallel: u32,
}

/// `stackhand run`: take tickets from every tenant's PSA through the pipeline, once or until
/// Ctrl-C.
pub async fn run_pipeline(
    config: &Path,
    once: bool,
    interval: std::time::Duration,
    worker: Worker<'_>,
    listen: Option<std::net::SocketAddr>,
    json: bool,
) -> Result<ExitCode> {
    let pipeline = open_pipeline(config).await?;
    if pipeline.tenants().is_empty() {
        bail!(
            "no tenant of {} has a PSA connector, so there are no tickets to take; enable \
             connectwise or autotask for a tenant",
            config.display()
        );
    }
    // Long enough for a slow vendor call; a dead runner's tickets are taken over after it.
    let lease = std::time::Duration::from_secs(300);
    let intake_pipeline = pipeline.clone();
    let intake = stackhand_runner::Intake::new(pipeline, worker.name, lease)
        .with_parallelism(worker.parallel);
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    if let Some(addr) = listen {
        // The HTTP API and the PSA callbacks, on one listener; a callback wakes this runner.
        crate::serve::start(addr, intake_pipeline, intake.clone(), wake.clone()).await?;
    }
    let mut failed_polls = false;
    // What a runner stopped mid-way (killed, crashed) left running is finished first.
    let mut resumed = intake.resume_interrupted().await?;
    loop {
        let working = (!json).then(|| crate::style::spinner("polling the PSAs and working"));
        let (polled, mut outcomes) = intake.once().await?;
        if let Some(working) = working {
            working.finish_and_clear();
        }
        outcomes.splice(0..0, resumed.drain(..));
        for p in &polled {
            if let Some(error) = &p.error {
                failed_polls = true;
                eprintln!("{}: polling the PSA failed: {error}", p.tenant);
            }
        }
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "polled": polled,
                    "tickets": outcomes,
                }))?
            );
        } else {
            for p in polled.iter().filter(|p| p.error.is_none()) {
                println!(
                    "{}: {} open ticket(s) changed, {} new",
                    p.tenant, p.found, p.queued
                );
            }
            outcomes.iter().for_each(print_outcome);
        }
        if once {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = wake.notified() => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    Ok(if failed_polls {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One ticket's outcome as text: what was asked, by whom, what ran and how it ended.
pub fn print_outcome(outcome: &stackhand_runner::TicketOutcome) {
    println!(
        "\n{}\n  from      {}\n  asks      {} ({})\n  workflow  {}\n  outcome   {}: {}",
        crate::style::heading(&format!(
            "{} ticket {} \"{}\"",
            outcome.tenant, outcome.ticket, outcome.subject
        )),
        outcome
            .requester
            .as_deref()
            .unwrap_or("not a directory user"),
        outcome.triage.intent.as_deref().unwrap_or("not recognised"),
        outcome.triage.reason,
        outcome.workflow.as_deref().unwrap_or("-"),
        crate::style::resolution(outcome.resolution),
        outcome.why,
    );
    if let Some(incident) = &outcome.incident {
        println!("  told      {}", incident.update());
    }
    for report in outcome
        .run
        .iter()
        .chain(&outcome.runs)
        .chain(&outcome.ticket_steps)
    {
        report.steps.iter().for_each(print_step);
    }
}

/// `stackhand undo`: a run's executed steps undone, newest first; exit 1 if any was refused,
/// failed or waits.
pub async fn undo(
    config: &Path,
    tenant: &str,
    run: &str,
    requester: &str,
    reason: &str,
) -> Result<ExitCode> {
    let tenant = TenantId::new(tenant).context("--tenant")?;
    let deployment = open(config).await?;
    let who = Principal::technician(requester, &[]);
    let undone = deployment.runs().undo(&tenant, run, who, reason).await?;
    if undone.is_empty() {
        println!("run {run} of {tenant} executed nothing, so there is nothing to undo");
    }
    undone.iter().for_each(print_step);
    let all_undone = undone.iter().all(|s| {
        matches!(
            s.answer.as_deref(),
            Some("executed" | "skipped" | "not_undoable")
        )
    });
    Ok(if all_undone {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `stackhand plan`: one ticket through the pipeline in shadow mode.
pub async fn plan_ticket(
    config: &Path,
    tenant: &str,
    ticket: &str,
    json: bool,
) -> Result<ExitCode> {
    let tenant = TenantId::new(tenant).context("--tenant")?;
    let pipeline = open_pipeline(config).await?;
    let reads = pipeline.deployment().engine().connectors(&tenant)?;
    let found = reads
        .psa()?
        .get_ticket(ticket)
        .await
        .with_context(|| format!("reading ticket {ticket} of {tenant} from its PSA"))?;
    let outcome = pipeline.plan(&tenant, &found).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        print_outcome(&outcome);
    }
    Ok(ExitCode::SUCCESS)
}
