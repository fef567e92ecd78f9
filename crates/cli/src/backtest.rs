//! `stackhand backtest`: a tenant's closed tickets replayed through triage and planning, nothing
//! executed, reported as a table, JSON, or a self-contained HTML page.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use stackhand_core::TenantId;
use stackhand_runner::backtest::{BacktestOptions, BacktestReport, DEFAULT_MINUTES};

use crate::live::open_pipeline;

/// What `stackhand backtest` was asked.
#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// How far back: days (`90d`) or weeks (`12w`).
    #[arg(long, default_value = "90d")]
    since: String,
    /// Technician minutes each ticket stackhand would resolve takes today.
    #[arg(long, default_value_t = DEFAULT_MINUTES)]
    minutes: u32,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Also write the report as one self-contained HTML page (no network, no external assets).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// The configuration file.
    #[arg(long, default_value = "stackhand.toml")]
    config: PathBuf,
}

/// Days in `90d` or `12w`, given to option `flag`.
pub(crate) fn days(flag: &str, text: &str) -> Result<u32> {
    let wrong = || format!("{flag} {text:?}: write days or weeks, e.g. 90d or 12w");
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: u32 = number.parse().ok().filter(|n| *n > 0).with_context(wrong)?;
    match unit {
        "d" => Ok(n),
        "w" => n.checked_mul(7).with_context(wrong),
        _ => bail!(wrong()),
    }
}

pub async fn run(args: BacktestArgs) -> Result<ExitCode> {
    let tenant = TenantId::new(&args.tenant).context("--tenant")?;
    let options = BacktestOptions {
        days: days("--since", &args.since)?,
        minutes_per_ticket: args.minutes,
    };
    let pipeline = open_pipeline(&args.config).await?;
    let working = (!args.json)
        .then(|| crate::style::spinner("replaying closed tickets through triage and the policy"));
    let report = pipeline
        .backtest(&tenant, &options)
        .await
        .with_context(|| format!("backtesting {tenant} over {}", args.since))?;
    if let Some(working) = working {
        working.finish_and_clear();
    }
    if let Some(path) = &args.html {
        write_html(path, &report)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
        if let Some(path) = &args.html {
            println!("\nHTML report: {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_html(path: &Path, report: &BacktestReport) -> Result<()> {
    std::fs::write(path, report.to_html())
        .with_context(|| format!("writing the HTML report to {}", path.display()))
}

fn print_report(r: &BacktestReport) {
    let pct = |n: usize| {
        if r.tickets == 0 {
            0.0
        } else {
            n as f64 * 100.0 / r.tickets as f64
        }
    };
    println!(
        "{}: {} tickets closed {} to {}, replayed with nothing executed\n",
        r.tenant,
        r.tickets,
        r.from.format("%Y-%m-%d"),
        r.to.format("%Y-%m-%d")
    );
    println!(
        "  resolved autonomously    {:>5}  {:>5.1}%",
        r.resolved,
        pct(r.resolved)
    );
    println!(
        "  resolved with approval   {:>5}  {:>5.1}%",
        r.resolved_with_approval,
        pct(r.resolved_with_approval)
    );
    println!(
        "  routed to a person       {:>5}  {:>5.1}%",
        r.routed,
        pct(r.routed)
    );
    println!(
        "\n  agreement with the technicians {:.1}%; {} tickets x {} min = {:.1} hours saved",
        r.agreement * 100.0,
        r.saved_tickets,
        r.minutes_per_ticket,
        r.minutes_saved as f64 / 60.0
    );
    println!(
        "\n  {:<16} {:>7} {:>7} {:>9}",
        "intent", "tickets", "agreed", "resolves"
    );
    for i in &r.intents {
        println!(
            "  {:<16} {:>7} {:>6.0}% {:>9}",
            i.intent.as_str(),
            i.tickets,
            i.agreement * 100.0,
            i.would_resolve
        );
    }
    if !r.routing_reasons.is_empty() {
        println!("\n  why it would have routed:");
        for reason in r.routing_reasons.iter().take(8) {
            println!("  {:>6}  {}", reason.tickets, reason.reason);
        }
    }
    let examples: Vec<_> = r.intents.iter().flat_map(|i| &i.examples).take(6).collect();
    if !examples.is_empty() {
        println!("\n  where it disagrees, for example:");
        for d in examples {
            println!(
                "  #{} {:?}: the technician did {}; stackhand would {}",
                d.ticket, d.subject, d.technician, d.stackhand
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_days_or_weeks() {
        assert_eq!(days("--since", "90d").unwrap(), 90);
        assert_eq!(days("--since", "12w").unwrap(), 84);
        for bad in ["90", "d", "0d", "3m", "", "999999999999w"] {
            let err = days("--since", bad).unwrap_err().to_string();
            assert!(
                err.contains("--since") && err.contains("90d or 12w"),
                "{bad}: {err}"
            );
        }
    }
}
