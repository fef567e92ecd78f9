//! `stackhand runs`: durable runs on the deployment's store.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use serde::Deserialize;
use stackhand_core::{ActionId, ActionRequest, IdempotencyKey, Principal, TenantId};
use stackhand_runner::RunReport;
use stackhand_store::{NewRun, RunState};

const RUN_FILE_HELP: &str = "\
A run file names the tenant, the run id (unique per tenant: starting it again resumes it), the \
requester (a technician of [[staff]] in stackhand.toml) and the steps in order:

  tenant = \"contoso-law\"
  id = \"onboard-priya\"
  summary = \"Give Priya the litigation group and tag her laptop\"
  requester = \"tech@msp.example\"
  ticket = \"1001\"                       # optional

  [[steps]]
  action = \"identity.add_to_group\"
  params = { user = \"pshah@contosolaw.com\", group = \"Litigation Team\" }

Every step is decided by the policy like any request. Each is recorded before and after it runs, \
so a run interrupted anywhere (even by SIGKILL) finishes with `stackhand runs resume`, no step \
twice.";

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Record the run a run file describes and drive it; a run already recorded under its id is
    /// driven from where it stands.
    #[command(after_help = RUN_FILE_HELP)]
    Start {
        /// The run file (TOML).
        file: PathBuf,
        /// The configuration file (needs `[store]` with `master_key` and `audit_key`).
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Drive every unfinished run of every tenant: what to do after a crash or a restart.
    Resume {
        /// The configuration file.
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A tenant's newest runs with their steps.
    List {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// The configuration file.
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunFile {
    tenant: TenantId,
    id: String,
    summary: String,
    requester: String,
    #[serde(default)]
    ticket: Option<String>,
    steps: Vec<StepFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    action: String,
    #[serde(default = "empty_params")]
    params: serde_json::Value,
    #[serde(default)]
    reason: Option<String>,
}

fn empty_params() -> serde_json::Value {
    serde_json::json!({})
}

/// The run a run file describes (step keys are set when it starts).
fn read_run_file(path: &Path) -> Result<(TenantId, NewRun)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the run file {}", path.display()))?;
    let file: RunFile =
        toml::from_str(&text).with_context(|| format!("run file {}", path.display()))?;
    let mut run = NewRun::new(&file.id, &file.summary);
    if let Some(ticket) = &file.ticket {
        run = run.ticket(ticket);
    }
    for (index, step) in file.steps.iter().enumerate() {
        let at = || format!("run file {}, steps[{index}]", path.display());
        let action = ActionId::new(step.action.as_str()).with_context(at)?;
        // A placeholder key: the executor names every step `<run id>.<index>`.
        let request = ActionRequest::new(
            IdempotencyKey::new("pending")?,
            file.tenant.clone(),
            action,
            &step.params,
            Principal::technician(&file.requester, &[]),
        )
        .with_context(at)?;
        let reason = step.reason.clone().unwrap_or_else(|| file.summary.clone());
        run = run.step(request.with_reason(reason));
    }
    Ok((file.tenant, run))
}

pub async fn run(command: RunsCommand) -> Result<ExitCode> {
    match command {
        RunsCommand::Start { file, config, json } => {
            let (tenant, run) = read_run_file(&file)?;
            let deployment = crate::live::open(&config).await?;
            let report = deployment.runs().start(&tenant, run).await?;
            show(&[report], json)
        }
        RunsCommand::Resume { config, json } => {
            let deployment = crate::live::open(&config).await?;
            let reports = deployment
                .runs()
                .resume_unfinished(deployment.tenants())
                .await?;
            if reports.is_empty() && !json {
                println!("no unfinished runs");
            }
            show(&reports, json)
        }
        RunsCommand::List {
            tenant,
            limit,
            config,
            json,
        } => {
            let tenant = TenantId::new(tenant).context("--tenant")?;
            let deployment = crate::live::open(&config).await?;
            let runs = deployment.store().runs().recent(&tenant, limit).await?;
            let reports: Vec<RunReport> = runs.iter().map(RunReport::from).collect();
            show(&reports, json)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Print the reports; failure when a run failed.
fn show(reports: &[RunReport], json: bool) -> Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(reports)?);
    } else {
        reports.iter().for_each(crate::live::print_run);
    }
    let failed = reports.iter().any(|r| r.state == RunState::Failed);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
