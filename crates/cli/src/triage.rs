//! `stackhand triage`: train a tenant's model on its PSA history, measure it beside the keyword
//! baseline, classify tickets from standard input.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use stackhand_core::TenantId;
use stackhand_runner::{ModelTriage, Triage};
use stackhand_triage::classifier::base_model;
use stackhand_triage::eval::Evaluation;
use stackhand_triage::target::proposed_login;
use stackhand_triage::tenant::{self, TenantSummary};
use stackhand_triage::{DecidingTriage, text_ticket};

use crate::live::open_pipeline;

const CLASSIFY_HELP: &str = "\
Each input line is one ticket as JSON: {\"subject\": ..., \"body\": ..., \"requester\": ...} \
(requester: the sender's address, optional). Each output line answers the input line at the same \
place: {\"intent\": ..., \"confidence\": ..., \"target\": ..., \"abstained\": bool, \"reason\": \
...}. intent is null when the ticket goes to a person (not routine, or abstained below the \
threshold); target is the address the request is for (the requester's own when it is about \
them; for a new starter, the login the tenant's format gives them), null when a name could not \
be resolved. A line that is not a ticket is answered \
{\"error\": ...} and the exit code is 1.

Without a configuration file the base model answers, with names in the text left unresolved; with \
one, the tenant's trained model (if any) and its directory resolve them.";

#[derive(Debug, Subcommand)]
pub enum TriageCommand {
    /// Train the tenant's model on the base corpus and its PSA's closed tickets (labelled by what
    /// the technicians did), measure it on a held-back fifth of that history, and keep it in the
    /// store: `stackhand run` uses it from its next start.
    Train {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// How many days of closed tickets to read.
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The configuration file.
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
    /// The tenant's model (the base model until it is trained) on the hand-written held-out set,
    /// beside the keyword baseline: accuracy, per-intent precision and recall, abstention.
    Eval {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The configuration file (without one, the base model at the default threshold).
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
    /// Classify tickets: JSON lines on standard input, one answer per line on standard output.
    #[command(after_help = CLASSIFY_HELP)]
    Classify {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The configuration file (without one, the base model and no directory).
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
}

/// The triage of `tenant` and its login format: the deployment's when `config` exists, the
/// base model and the default format otherwise.
async fn triage_for(
    config: &Path,
    tenant: &TenantId,
) -> Result<(Arc<ModelTriage>, Option<String>)> {
    if !config.exists() {
        eprintln!(
            "{} not found: the base model answers for {tenant}, with no directory to resolve names",
            config.display()
        );
        return Ok((Arc::new(ModelTriage::new(base_model())), None));
    }
    let pipeline = open_pipeline(config).await?;
    if !pipeline.deployment().tenants().contains(tenant) {
        bail!(
            "{} has no tenant {tenant}; its tenants are {}",
            config.display(),
            pipeline
                .deployment()
                .tenants()
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let triage = pipeline.model_triage().cloned().with_context(|| {
        format!(
            "{} has [triage.llm]: its tickets are triaged by an LLM, not by a model; `stackhand \
             triage` trains, measures and runs the model, so give it a configuration without \
             [triage.llm]",
            config.display()
        )
    })?;
    Ok((triage, pipeline.login_format(tenant).map(str::to_string)))
}

pub async fn run(command: TriageCommand) -> Result<ExitCode> {
    match command {
        TriageCommand::Train {
            tenant,
            days,
            json,
            config,
        } => train(&config, &tenant, days, json).await,
        TriageCommand::Eval {
            tenant,
            json,
            config,
        } => eval(&config, &tenant, json).await,
        TriageCommand::Classify { tenant, config } => classify(&config, &tenant).await,
    }
}

async fn train(config: &Path, tenant: &str, days: u32, json: bool) -> Result<ExitCode> {
    let tenant = TenantId::new(tenant).context("--tenant")?;
    let pipeline = open_pipeline(config).await?;
    let summary = pipeline
        .train_triage(&tenant, days)
        .await
        .with_context(|| format!("learning {tenant}'s closed tickets of the last {days} days"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&tenant, &summary);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn print_summary(tenant: &TenantId, summary: &TenantSummary) {
    let learned = &summary.learned;
    println!(
        "{tenant}: {} closed tickets read, {} labelled by their notes; trained on {} base and {} \
         of the tenant's own examples",
        learned.tickets, learned.labelled, summary.base_examples, summary.tenant_examples
    );
    for (intent, n) in &learned.intents {
        let approvers: Vec<String> = learned
            .suggested_approvers(*intent)
            .iter()
            .take(3)
            .map(|(name, n)| format!("{name} ({n})"))
            .collect();
        let approvers = if approvers.is_empty() {
            String::new()
        } else {
            format!("  approved by {}", approvers.join(", "))
        };
        println!("  {:<16} {n:>5}{approvers}", intent.as_str());
    }
    match &summary.held_out {
        Some(figures) => {
            println!("\non a held-back fifth of the tenant's history:");
            print_figures(figures);
        }
        None => println!("\ntoo little labelled history (under 25 tickets) to hold a fifth back"),
    }
}

async fn eval(config: &Path, tenant: &str, json: bool) -> Result<ExitCode> {
    let tenant = TenantId::new(tenant).context("--tenant")?;
    let (triage, _) = triage_for(config, &tenant).await?;
    let (model, own) = triage.model_of(&tenant);
    let figures = tenant::held_out_figures(&model, triage.threshold_of(&tenant));
    if json {
        println!(
            "{}",
            serde_json::json!({
                "tenant": tenant,
                "model": if own { "tenant" } else { "base" },
                "threshold": triage.threshold_of(&tenant),
                "held_out": figures,
            })
        );
    } else {
        println!(
            "{tenant}: the {} model at threshold {:.2}, on {} hand-written held-out tickets",
            if own { "tenant's own" } else { "base" },
            triage.threshold_of(&tenant),
            figures[0].tickets
        );
        print_figures(&figures);
    }
    Ok(ExitCode::SUCCESS)
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Figures side by side, one column per classifier.
fn print_figures(figures: &[Evaluation]) {
    let mut header = format!("  {:<28}", "");
    for f in figures {
        header.push_str(&format!("{:>18}", f.name));
    }
    println!("{header}");
    type Figure = fn(&Evaluation) -> String;
    let rows: [(&str, Figure); 6] = [
        ("accuracy", |f| pct(f.accuracy)),
        ("in-scope accuracy (acted)", |f| pct(f.in_scope_accuracy)),
        ("in-scope coverage", |f| pct(f.in_scope_coverage)),
        ("not routine but acted on", |f| pct(f.out_of_scope_acted)),
        ("abstention rate", |f| pct(f.abstention_rate)),
        ("calibration error (ECE)", |f| {
            f.calibration_error
                .map_or("-".to_string(), |e| format!("{e:.3}"))
        }),
    ];
    for (name, value) in rows {
        let mut line = format!("  {name:<28}");
        for f in figures {
            line.push_str(&format!("{:>18}", value(f)));
        }
        println!("{line}");
    }
    println!("  per intent: precision / recall (support)");
    for (at, first) in figures[0].intents.iter().enumerate() {
        let mut line = format!(
            "  {:<20}{:>8}",
            first.intent.as_str(),
            format!("({})", first.support)
        );
        for f in figures {
            let i = &f.intents[at];
            line.push_str(&format!(
                "{:>18}",
                format!("{:.2} / {:.2}", i.precision, i.recall)
            ));
        }
        println!("{line}");
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    #[serde(default)]
    subject: String,
    body: String,
    #[serde(default)]
    requester: Option<String>,
}

#[derive(Serialize)]
struct Output {
    intent: Option<String>,
    confidence: Option<f32>,
    target: Option<String>,
    abstained: bool,
    reason: String,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    entities: std::collections::BTreeMap<String, String>,
}

async fn classify(config: &Path, tenant: &str) -> Result<ExitCode> {
    let tenant = TenantId::new(tenant).context("--tenant")?;
    let (triage, login_format) = triage_for(config, &tenant).await?;
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for (at, line) in stdin.lock().lines().enumerate() {
        let line = line.context("reading standard input")?;
        let answer = match serde_json::from_str::<Input>(&line) {
            Ok(input) => {
                let ticket = text_ticket(
                    &tenant,
                    &format!("stdin-{}", at + 1),
                    &input.subject,
                    &input.body,
                    input.requester.as_deref(),
                );
                let requester = ticket.contact.as_ref().and_then(|c| c.email.clone());
                let t = triage.triage(&ticket).await?;
                let reason = match &t.unresolved {
                    Some(why) if t.intent.is_some() => {
                        format!("{}; who it is for is unclear: {why}", t.reason)
                    }
                    _ => t.reason.clone(),
                };
                let target = match (t.intent.as_deref(), &t.unresolved) {
                    // A new starter's target is the login the tenant's format gives them.
                    (Some("onboarding"), None) => t.entities.get("new_user").and_then(|name| {
                        let domain = requester.as_deref()?.split_once('@')?.1;
                        proposed_login(name, login_format.as_deref(), domain).ok()
                    }),
                    (Some(_), None) => t.target.clone().or(requester),
                    _ => None,
                };
                serde_json::to_value(Output {
                    intent: t.intent,
                    confidence: t.confidence,
                    target,
                    abstained: t.abstained,
                    reason,
                    entities: t.entities,
                })?
            }
            Err(e) => {
                failed = true;
                serde_json::json!({
                    "error": format!(
                        "line {}: {e}; each line is {{\"subject\": ..., \"body\": ..., \"requester\": ...}}",
                        at + 1
                    )
                })
            }
        };
        writeln!(out, "{answer}")?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
