//! `stackhand`: the command-line runner.
//!
//! ```text
//! stackhand demo [--json] [--dir <DIR>] the seed world's open tickets resolved end to end against
//!                                      the six vendor simulators, in-process
//! stackhand actions [--json]           every built-in action with its risk and input schema
//! stackhand connectors [--json]        the connectors this build has, their keys and actions
//! stackhand config check [--config <FILE>] [--role <ROLE>]...
//!                                      build every tenant's connectors from stackhand.toml
//!                                      and load its policies, reporting the first error
//! stackhand policy check [--known-action <ID>]... <PATH>...
//!                                      load policy files or directories and report errors
//! stackhand audit verify <DIR>         verify the keyed chains of a JSON-lines audit directory
//!     [--key-file <PATH>]              against their head files (or STACKHAND_AUDIT_KEY)
//! stackhand audit verify [--config <FILE>]
//!                                      verify the chains in the store of stackhand.toml
//! stackhand audit show --tenant <T> [--limit <N>] [--json] [--config <FILE>]
//! stackhand act --tenant <T> --as <STAFF> --action <ID> [--params <JSON>] [--target <USER>]
//!     [--key <K>] [--reason <R>] [--secret <NAME> (value on stdin)] [--show-secrets] [--json]
//!     [--config <FILE>]
//!                                      one action through the engine and the policy
//! stackhand run [--once] [--interval <SECS>] [--worker <NAME>] [--parallel <N>]
//!     [--listen <ADDR>] [--json]
//!     [--config <FILE>]
//!                                      tickets from every PSA: triage, workflow, policy,
//!                                      resolved and closed or routed to a person
//! stackhand plan --tenant <T> --ticket <N> [--json] [--config <FILE>]
//!                                      what run would do with one ticket, executing nothing
//! stackhand approvals --tenant <T> [--json] [--config <FILE>]
//! stackhand approve <ID> --as <STAFF> [--show-secrets] [--json] [--config <FILE>]
//! stackhand deny <ID> --as <STAFF> --reason <R> [--config <FILE>]
//! stackhand undo <RUN> --tenant <T> --as <STAFF> --reason <R> [--config <FILE>]
//!                                      undo a run's executed steps, newest first
//! stackhand audit keygen <PATH>        write a new master audit key
//! stackhand credentials set --tenant <T> --name <N> [--config <FILE>]
//!                                      store a tenant's credential in the vault; the value is
//!                                      read from standard input, never from an argument
//! stackhand credentials list --tenant <T> [--config <FILE>]
//!                                      a tenant's credential names and when each was set
//! stackhand credentials delete --tenant <T> --name <N> [--config <FILE>]
//! stackhand credentials rotate --tenant <T> [--config <FILE>]
//!                                      a new data key for the tenant, credentials re-encrypted
//! stackhand sim [--out <DIR>] [--world <FILE>] [--check]
//!                                      the six vendor simulators of one world, and a
//!                                      stackhand.toml pointing at them
//! stackhand runs start <RUN FILE> [--config <FILE>] [--json]
//!                                      record a run (steps from a file) and drive it durably
//! stackhand runs resume [--config <FILE>] [--json]
//!                                      drive every unfinished run (after a crash or restart)
//! stackhand runs list --tenant <T> [--limit <N>] [--config <FILE>] [--json]
//! stackhand triage train --tenant <T> [--days <N>] [--json] [--config <FILE>]
//!                                      learn the tenant's model from its PSA history
//! stackhand triage eval --tenant <T> [--json] [--config <FILE>]
//!                                      held-out figures beside the keyword baseline
//! stackhand triage classify --tenant <T> [--config <FILE>]
//!                                      JSON lines of tickets in, one answer per line out
//! stackhand mcp --tenant <T> [--as <AGENT>] [--http <ADDR>] [--config <FILE>]
//!                                      the tenant's actions as MCP tools for an AI agent
//!                                      (stdio, or streamable HTTP with the agent's tokens),
//!                                      under the policy
//! stackhand backtest --tenant <T> [--since <90d|12w>] [--minutes <N>] [--json] [--html <FILE>]
//!     [--config <FILE>]                replay closed tickets through triage and the policy
//! stackhand serve [--listen <ADDR>] [--config <FILE>]
//!                                      the HTTP API and the PSA callbacks on one listener
//! stackhand tokens create --as <STAFF> [--tenant <T>]... [--expires-in <90d|12w|never>]
//!     | list | revoke <ID> [--config <FILE>]
//!                                      the HTTP API's (and MCP over HTTP's) bearer tokens
//!                                      (a new one shown once, 90 days by default)
//! stackhand tenant add --tenant <T> --name <N> --identity <m365|okta> --psa <connectwise|autotask>
//!     [--rmm ninjaone] [--docs hudu] [--credential <NAME>]... [--json] [--config <FILE>]
//!     --<vendor>-<key> <VALUE>...       connect a tenant: vault, health, discovery, history,
//!                                      triage, a proposed policy, shadow mode
//! stackhand tenant status --tenant <T> [--json] [--config <FILE>]
//!                                      each action's shadow volume and agreement
//! stackhand tenant promote --tenant <T> --action <ID> [--as <STAFF>] [--reason <R>]
//!     [--config <FILE>]                move an action from shadow to live (audited)
//! stackhand vault keygen --out <FILE>  write a new vault master key (mode 0600)
//! stackhand vault rotate-master --new-key <FILE> [--config <FILE>]
//!                                      re-wrap every data key under a new master key
//! ```

mod backtest;
mod credentials;
mod demo;
mod live;
mod mcp;
mod runs;
mod serve;
mod sim;
mod style;
mod tenant;
mod tokens;
mod triage;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand};
use stackhand_core::ActionId;
use stackhand_core::audit::{BreakKind, DerivedAuditKeys, HeadFileAnchor, JsonlAuditSink};
use stackhand_core::policy::{PolicyLoader, Vocabulary};

/// The environment variable holding the master audit key (64 hex characters).
const AUDIT_KEY_ENV: &str = "STACKHAND_AUDIT_KEY";

const AUDIT_KEY_HELP: &str = "\
Each tenant's chain is sealed with HMAC-SHA256 under a key derived from one master key, and its \
head (last seq and MAC) is kept in <tenant>.head. Give the master key with --key-file (a file of \
64 hex characters: `stackhand demo` prints the one it wrote, `stackhand audit keygen` makes one) \
or in STACKHAND_AUDIT_KEY. A missing directory, a directory without chains, a log without its head \
file and a log shorter than its head are all errors.";

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
    /// Resolve the seed world's open tickets end to end against the six vendor simulators,
    /// started in-process on loopback (no network), on a SQLite store.
    Demo {
        /// Print one JSON document: per ticket its outcome, steps, decisions and timing.
        #[arg(long)]
        json: bool,
        /// Keep the deployment (stackhand.toml, the SQLite store, its keys) in this directory,
        /// to inspect afterwards (`stackhand audit show --config <DIR>/stackhand.toml ...`)
        /// [default: a temporary one, removed at the end].
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// List the built-in actions.
    Actions {
        /// Print JSON (specs with input schemas).
        #[arg(long)]
        json: bool,
    },
    /// The connectors this build has: each one's capabilities, actions and configuration keys.
    Connectors {
        /// Print JSON, with each connector's configuration schema and action input schemas.
        #[arg(long)]
        json: bool,
    },
    /// Start the six vendor simulators of one world on loopback and write a stackhand.toml for them.
    Sim {
        /// Where to write stackhand.toml, policy.toml (kept if it exists) and the secrets.
        #[arg(long, default_value = "sim-deployment")]
        out: PathBuf,
        /// A world file (default: the built-in world, crates/sim/world.toml).
        #[arg(long)]
        world: Option<PathBuf>,
        /// Check every tenant's connectors against the simulators, then stop (exit 1 if one is
        /// unhealthy) instead of serving until Ctrl-C.
        #[arg(long)]
        check: bool,
    },
    /// The deployment configuration (stackhand.toml).
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
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
    /// Tenants' credentials in the encrypted vault of `[store]` (values only ever on stdin).
    Credentials {
        #[command(subcommand)]
        command: credentials::CredentialsCommand,
    },
    /// The vault's master key.
    Vault {
        #[command(subcommand)]
        command: credentials::VaultCommand,
    },
    /// Durable runs on the store: start one from a run file, resume unfinished ones, list them.
    Runs {
        #[command(subcommand)]
        command: runs::RunsCommand,
    },
    /// Serve the HTTP API (plans, approvals, runs, undo, audit; `/v1/openapi.json`) and the
    /// PSA callbacks on one listener, until Ctrl-C. Calls carry `Authorization: Bearer <token>`
    /// (`stackhand tokens create`).
    ///
    /// Example: stackhand serve --listen 127.0.0.1:8080 --config stackhand.toml
    Serve {
        /// The address to listen on.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// The configuration file (needs `[store]` with `master_key` and `audit_key`).
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
    /// The HTTP API's tokens: create one for a member of `[[staff]]` (shown once), list, revoke.
    Tokens {
        #[command(subcommand)]
        command: tokens::TokensCommand,
    },
    /// Replay a tenant's closed tickets through triage and the policy, nothing executed: what
    /// stackhand would have resolved, with or without an approval, or routed; where it agrees
    /// with the technicians; the time it would have saved. A table, `--json`, or `--html FILE`.
    Backtest(backtest::BacktestArgs),
    /// Tenants: connect one (`add`), see its shadow record per action (`status`), move an
    /// action from shadow to live (`promote`).
    Tenant {
        #[command(subcommand)]
        command: tenant::TenantCommand,
    },
    /// Triage: train a tenant's model on its PSA history, measure it beside the keyword
    /// baseline, classify tickets (JSON lines).
    Triage {
        #[command(subcommand)]
        command: triage::TriageCommand,
    },
    /// Submit one action through the engine and the policy, as a technician of `[[staff]]`.
    ///
    /// Example: stackhand act --tenant contoso-law --as tech@msp.example --action identity.unlock
    /// --params '{"user": "pshah@contosolaw.com"}'
    Act {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The action id (`stackhand actions`, `stackhand connectors`).
        #[arg(long)]
        action: String,
        /// The action's input as JSON (its schema: `stackhand actions --json`).
        #[arg(long, default_value = "{}")]
        params: String,
        /// Who asks: a technician listed in `[[staff]]` (their roles come from there).
        #[arg(long = "as", value_name = "STAFF_ID")]
        requester: String,
        /// The user the action is for, when it is not in the params.
        #[arg(long)]
        target: Option<String>,
        /// An idempotency key: the same key again answers with the first result instead of
        /// acting twice [default: a new one].
        #[arg(long)]
        key: Option<String>,
        /// Why (kept in the audit trail).
        #[arg(long)]
        reason: Option<String>,
        /// A secret parameter of the action (`docs.store_password`'s `password`): its value is
        /// read from standard input, never from an argument, and nothing stores or shows it.
        #[arg(long, value_name = "NAME")]
        secret: Option<String>,
        /// Print secrets the action hands over (a new password) instead of only naming them.
        #[arg(long)]
        show_secrets: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The configuration file (needs `[store]` with `master_key` and `audit_key`).
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
    /// Take tickets from every tenant's PSA through triage, workflows and the policy: resolve,
    /// document and close them, or hand them to a person with a note. Polls until Ctrl-C.
    Run {
        /// One pass (poll every PSA, process what is queued), then stop.
        #[arg(long)]
        once: bool,
        /// Seconds between polls.
        #[arg(long, default_value_t = 60)]
        interval: u64,
        /// This runner's name in the work queue (several runners on one PostgreSQL share it).
        #[arg(long, default_value = "stackhand")]
        worker: String,
        /// Tickets worked on at once.
        #[arg(long, default_value_t = stackhand_runner::intake::DEFAULT_PARALLELISM)]
        parallel: u32,
        /// Also serve the HTTP API (as `stackhand serve` does) and PSA callbacks on this
        /// address (`POST /callbacks/<tenant>?token=<the tenant's callback_token>`), taking a
        /// changed ticket at once instead of at the next poll. Not with --once.
        #[arg(long, value_name = "ADDR", conflicts_with = "once")]
        listen: Option<std::net::SocketAddr>,
        /// Print JSON, one document per pass.
        #[arg(long)]
        json: bool,
        /// The configuration file (needs `[store]` with `master_key` and `audit_key`).
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
    /// What `stackhand run` would do with one ticket, executing nothing: triage, requester,
    /// workflow and each step's plan (audited), as in shadow mode.
    Plan {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The ticket id in the tenant's PSA.
        #[arg(long)]
        ticket: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The configuration file.
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
    /// A tenant's pending approvals.
    Approvals {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The configuration file.
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
    /// Approve a pending approval as a member of `[[staff]]` who may; it executes at once (a
    /// step that takes a secret, when its run goes on), and a run waiting on it goes on.
    Approve {
        /// The approval id (`stackhand approvals`).
        id: String,
        /// Who approves: a member of `[[staff]]` with a role the rule names (never the requester).
        #[arg(long = "as", value_name = "STAFF_ID")]
        approver: String,
        /// Print secrets the action hands over (a temporary password) instead of only naming
        /// them; they are not kept anywhere, so this is the only time they can be read.
        #[arg(long)]
        show_secrets: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The configuration file.
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
    /// Undo a run: every step that executed, newest first, each decided by the policy as an
    /// undo (it may wait for an approval or be refused); steps that cannot be undone are named.
    Undo {
        /// The run id (`stackhand runs list`; a ticket's run is `ticket-<id>`).
        run: String,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Who asks: a technician of `[[staff]]`.
        #[arg(long = "as", value_name = "STAFF_ID")]
        requester: String,
        /// Why (kept in the audit trail).
        #[arg(long)]
        reason: String,
        /// The configuration file.
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
    /// Refuse a pending approval (an approver, or the requester withdrawing it).
    Deny {
        /// The approval id.
        id: String,
        /// Who refuses.
        #[arg(long = "as", value_name = "STAFF_ID")]
        approver: String,
        /// Why (kept in the audit trail and shown to the requester).
        #[arg(long)]
        reason: String,
        /// The configuration file.
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
    /// Serve a tenant's actions to an AI agent over the Model Context Protocol: one tool per
    /// action (under the policy, as the agent) and read-only lookups; stdio by default.
    Mcp(mcp::McpArgs),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Load the configuration, build every tenant's connectors through the registry (with each
    /// tenant's own credentials; nothing is sent to a vendor) and load the policies, reporting
    /// the first error with its file and key.
    Check {
        /// The configuration file. `STACKHAND_*` variables override it
        /// (`STACKHAND_TENANTS__ACME__NAME`).
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
        /// An approver role the policies may name, e.g. msp.lead (repeatable).
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Load policy files or directories and report the first error with file, line and field.
    ///
    /// Every action id or glob a document names must be a known action: the built-in ones, the
    /// actions of the connectors this build has (`stackhand connectors`), and any given with
    /// --known-action. Tenants, groups, departments and roles are checked by `stackhand config
    /// check`, which knows the deployment.
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
    /// Verify every tenant chain: of a JSON-lines audit directory against its head files and
    /// key, or (without a directory) of the store of `--config` under `[store] audit_key`.
    #[command(after_help = AUDIT_KEY_HELP)]
    Verify {
        /// The directory (`<tenant>.jsonl` and `<tenant>.head` per tenant) [default: the store].
        dir: Option<PathBuf>,
        /// The master audit key file the directory was written with [default: the key in
        /// STACKHAND_AUDIT_KEY].
        #[arg(long)]
        key_file: Option<PathBuf>,
        /// The configuration file whose store to verify, without a directory.
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
    /// A tenant's audit trail in the store, oldest first.
    Show {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The newest events to show.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON (the events, sealed, as stored).
        #[arg(long)]
        json: bool,
        /// The configuration file.
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
    /// Write a new random master audit key to a file that does not exist yet (mode 0600).
    #[command(after_help = AUDIT_KEY_HELP)]
    Keygen {
        /// Where to write it; keep it apart from the audit directory.
        path: PathBuf,
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
        Command::Demo { json, dir } => demo::run(json, dir).await,
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
        Command::Connectors { json } => list_connectors(json),
        Command::Sim { out, world, check } => sim::run(&out, world.as_deref(), check).await,
        Command::Serve { listen, config } => serve::run(&config, listen).await,
        Command::Tokens { command } => tokens::run(command).await,
        Command::Runs { command } => runs::run(command).await,
        Command::Triage { command } => triage::run(command).await,
        Command::Backtest(args) => backtest::run(args).await,
        Command::Tenant { command } => tenant::run(command).await,
        Command::Config {
            command: ConfigCommand::Check { config, roles },
        } => check_config(&config, &roles).await,
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
            let connector_actions = stackhand_runner::default_registry()
                .describe()
                .into_iter()
                .flat_map(|d| d.actions.into_iter().map(|a| a.id));
            let loader = paths.iter().fold(
                PolicyLoader::new().vocabulary(
                    Vocabulary::builtin()
                        .with_actions(connector_actions)
                        .with_actions(vendor),
                ),
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
            command:
                AuditCommand::Verify {
                    dir,
                    key_file,
                    config,
                },
        } => match dir {
            Some(dir) => verify_audit_dir(&dir, key_file.as_deref()).await,
            None => live::audit_verify_store(&config).await,
        },
        Command::Audit {
            command:
                AuditCommand::Show {
                    tenant,
                    limit,
                    json,
                    config,
                },
        } => live::audit_show(&config, &tenant, limit, json).await,
        Command::Act {
            tenant,
            action,
            params,
            requester,
            target,
            key,
            reason,
            secret,
            show_secrets,
            json,
            config,
        } => {
            let act = live::Act {
                secret: secret.as_deref(),
                tenant: &tenant,
                action: &action,
                params: &params,
                requester: &requester,
                target: target.as_deref(),
                key: key.as_deref(),
                reason: reason.as_deref(),
                json,
                show_secrets,
            };
            live::act(&config, act).await
        }
        Command::Approvals {
            tenant,
            json,
            config,
        } => live::approvals(&config, &tenant, json).await,
        Command::Run {
            once,
            interval,
            worker,
            parallel,
            listen,
            json,
            config,
        } => {
            let interval = std::time::Duration::from_secs(interval.max(1));
            let worker = live::Worker {
                name: &worker,
                parallel,
            };
            live::run_pipeline(&config, once, interval, worker, listen, json).await
        }
        Command::Approve {
            id,
            approver,
            show_secrets,
            json,
            config,
        } => {
            let output = live::Output { json, show_secrets };
            live::answer(&config, &id, &approver, None, output).await
        }
        Command::Plan {
            tenant,
            ticket,
            json,
            config,
        } => live::plan_ticket(&config, &tenant, &ticket, json).await,
        Command::Undo {
            run,
            tenant,
            requester,
            reason,
            config,
        } => live::undo(&config, &tenant, &run, &requester, &reason).await,
        Command::Deny {
            id,
            approver,
            reason,
            config,
        } => {
            let output = live::Output::default();
            live::answer(&config, &id, &approver, Some(&reason), output).await
        }
        Command::Mcp(args) => mcp::run(args).await,
        Command::Credentials { command } => credentials::run(command).await,
        Command::Vault { command } => credentials::run_vault(command).await,
        Command::Audit {
            command: AuditCommand::Keygen { path },
        } => {
            DerivedAuditKeys::create_file(&path)?;
            println!(
                "wrote a new master audit key to {}; keep it apart from the audit directory",
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `stackhand connectors`.
fn list_connectors(json: bool) -> Result<ExitCode> {
    let descriptions = stackhand_runner::default_registry().describe();
    if json {
        println!("{}", serde_json::to_string_pretty(&descriptions)?);
        return Ok(ExitCode::SUCCESS);
    }
    if descriptions.is_empty() {
        println!("this build has no connectors (it was built without any connector-* feature)");
    }
    for d in &descriptions {
        let categories: Vec<&str> = d.categories.iter().map(|c| c.as_str()).collect();
        println!("{:12} {} [{}]", d.vendor, d.summary, categories.join(", "));
        let keys: Vec<&str> = d
            .config_schema
            .get("properties")
            .and_then(|p| p.as_object())
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        println!("{:12}   config keys: {}", "", keys.join(", "));
        for action in &d.actions {
            println!(
                "{:12}   action {:28} {}",
                "",
                action.id.as_str(),
                action.summary
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `stackhand config check`.
async fn check_config(path: &Path, roles: &[String]) -> Result<ExitCode> {
    let loaded = match stackhand_runner::LoadedConfig::load(path) {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("error: {}", err.message());
            return Ok(ExitCode::from(2));
        }
    };
    let registry = stackhand_runner::default_registry();
    let composer = stackhand_runner::Composer::new(&registry);
    // Roles the policies may name: those given, and those the staff hold.
    let mut roles: Vec<&str> = roles.iter().map(String::as_str).collect();
    roles.extend(loaded.config.staff_roles());
    if let Err(err) = composer.policy(&loaded, &roles) {
        eprintln!("error: {}", err.message());
        return Ok(ExitCode::from(2));
    }
    match composer.tenants(&loaded).await {
        Ok(tenants) => {
            for t in &tenants {
                let vendors: Vec<String> = t
                    .connectors
                    .all()
                    .iter()
                    .map(|c| c.info().vendor.clone())
                    .collect();
                println!("ok: tenant {} with {}", t.tenant.id, vendors.join(", "));
            }
            println!("ok: {} loads without errors", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("error: {}", err.message());
            Ok(ExitCode::from(2))
        }
    }
}

/// The master audit key from `key_file`, else from [`AUDIT_KEY_ENV`].
fn audit_keys(key_file: Option<&Path>) -> Result<DerivedAuditKeys> {
    if let Some(path) = key_file {
        return Ok(DerivedAuditKeys::from_file(path)?);
    }
    DerivedAuditKeys::from_env(AUDIT_KEY_ENV)?.with_context(|| {
        format!(
            "no audit key: pass --key-file <PATH> (the master key file the audit was written \
             with; `stackhand demo` prints its own) or set {AUDIT_KEY_ENV}"
        )
    })
}

/// `audit verify`: exit 3 if any chain is broken.
async fn verify_audit_dir(dir: &Path, key_file: Option<&Path>) -> Result<ExitCode> {
    let keys = audit_keys(key_file)?;
    let sink = JsonlAuditSink::open_existing(dir, keys).map_err(|e| {
        anyhow!(
            "{}: pass the directory the audit was written to (`stackhand demo --audit-dir`, or \
             the directory given to JsonlAuditSink::open)",
            e.message()
        )
    })?;
    let tenants = sink.tenants()?;
    if tenants.is_empty() {
        bail!(
            "{} holds no audit chains (no <tenant>.jsonl or <tenant>.head files): check the path",
            dir.display()
        );
    }
    let heads = HeadFileAnchor::new(dir);
    let broken = live::report_chains(&sink, &tenants, |tenant, kind| match kind {
        BreakKind::HeadMissing => {
            println!("  the missing head file: {}", heads.path(tenant).display())
        }
        BreakKind::WrongKey => println!(
            "  check --key-file or {AUDIT_KEY_ENV}: it must be the master key this directory \
             was written with"
        ),
        _ => {}
    })
    .await?;
    Ok(if broken {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
