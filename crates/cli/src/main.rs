//! `stackhand`: the command-line runner.
//!
//! ```text
//! stackhand demo [--json]              the seed scenarios end to end on the embedded default
//! stackhand actions [--json]           every built-in action with its risk and input schema
//! stackhand policy check [--known-action <ID>]... <PATH>...
//!                                      load policy files or directories and report errors
//! stackhand audit verify <DIR>         verify the hash chains of a JSON-lines audit directory
//! ```

mod demo;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use stackhand_core::audit::{self, AuditSink, JsonlAuditSink};
use stackhand_core::policy::{PolicyLoader, Vocabulary};
use stackhand_core::{ActionId, TenantId};

#[derive(Debug, Parser)]
#[command(
    name = "stackhand",
    version,
    about = "Resolve routine MSP tickets autonomously, under explicit policy."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the seed scenarios end to end on the embedded default (in-process, no network).
    Demo {
        /// Print a JSON summary instead of text.
        #[arg(long)]
        json: bool,
        /// Keep the audit trail in this directory (default: a temporary one).
        #[arg(long)]
        audit_dir: Option<PathBuf>,
    },
    /// List the built-in actions.
    Actions {
        /// Print JSON (specs with input schemas).
        #[arg(long)]
        json: bool,
    },
    /// Policy files.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Load policy files or directories and report the first error with file, line and field.
    ///
    /// Every action id or glob a document names must be a known action: the built-in ones,
    /// and the vendor actions given with --known-action (this build links no connector, so it
    /// cannot list theirs). Tenants, groups, departments and roles are not checked here.
    Check {
        /// A vendor action id the policies may name, e.g. m365.set_forwarding (repeatable).
        #[arg(long = "known-action", value_name = "ID")]
        known_actions: Vec<String>,
        /// Files or directories of *.toml policy documents.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verify every tenant chain in a JSON-lines audit directory.
    Verify {
        /// The directory (one `<tenant>.jsonl` per tenant).
        dir: PathBuf,
    },
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("STACKHAND_LOG"))
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Demo { json, audit_dir } => demo::run(json, audit_dir).await,
        Command::Actions { json } => {
            let catalog = stackhand_core::actions::builtin();
            if json {
                let specs: Vec<_> = catalog.specs().collect();
                println!("{}", serde_json::to_string_pretty(&specs)?);
            } else {
                for spec in catalog.specs() {
                    let undo = if spec.reversible { "undoable" } else { "final" };
                    println!(
                        "{:32} {:8} {:8} {}",
                        spec.id.as_str(),
                        format!("{:?}", spec.risk).to_lowercase(),
                        undo,
                        spec.summary
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy {
            command:
                PolicyCommand::Check {
                    known_actions,
                    paths,
                },
        } => {
            let vendor = known_actions
                .iter()
                .map(|id| ActionId::new(id.as_str()).with_context(|| "--known-action"))
                .collect::<Result<Vec<_>>>()?;
            let loader = paths.iter().fold(
                PolicyLoader::new().vocabulary(Vocabulary::builtin().with_actions(vendor)),
                |l, p| l.add_path(p),
            );
            match loader.build() {
                Ok(_) => {
                    println!("ok: {} path(s) load without errors", paths.len());
                    Ok(ExitCode::SUCCESS)
                }
                Err(err) => {
                    eprintln!("{err}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        Command::Audit {
            command: AuditCommand::Verify { dir },
        } => {
            let sink = JsonlAuditSink::open(&dir)?;
            let mut broken = false;
            let mut entries: Vec<_> = std::fs::read_dir(&dir)
                .with_context(|| format!("reading {}", dir.display()))?
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect();
            entries.sort();
            for path in entries {
                let stem = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default();
                let tenant = TenantId::new(stem)?;
                let events = sink.events(&tenant).await?;
                match audit::verify(&events) {
                    Ok(summary) => println!(
                        "{tenant}: ok, {} events, head {}",
                        summary.events, summary.head
                    ),
                    Err(err) => {
                        broken = true;
                        println!("{tenant}: BROKEN: {err}");
                    }
                }
            }
            Ok(if broken {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
