//! `stackhand tokens create|list|revoke`: the HTTP API's tokens, kept in the store as digests.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Subcommand;
use secrecy::ExposeSecret;
use stackhand_runner::LoadedConfig;
use stackhand_runner::store::connect_store;
use stackhand_store::{NoAuditKeys, Store};

use crate::credentials::{configured_tenant, plain};

const CREATE_HELP: &str = "\
The token is printed once and kept nowhere: the store keeps its SHA-256 digest, the staff member \
it acts as and the tenants it is limited to. What the member may do comes from [[staff]] in the \
tenant at hand, never from the token.

A token expires after 90 days unless --expires-in says otherwise; `--expires-in never` makes one that lasts until it is revoked.

Examples:
  stackhand tokens create --as amorgan@northwind-msp.example
  stackhand tokens create --as it@contosolaw.com --tenant contoso-law --expires-in 30d
  curl -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:8080/v1/tenants/contoso-law/approvals";

/// `stackhand tokens ...`.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create an API token for a member of `[[staff]]`, optionally limited to some tenants, and
    /// print it once.
    #[command(after_help = CREATE_HELP)]
    Create {
        /// The `[[staff]]` member the token acts as.
        #[arg(long = "as", value_name = "STAFF_ID")]
        staff: String,
        /// A tenant the token is limited to (repeatable) [default: every tenant the member may
        /// see].
        #[arg(long = "tenant", value_name = "TENANT")]
        tenants: Vec<String>,
        /// How long the token authenticates: days (`90d`), weeks (`12w`), or `never`.
        #[arg(long, value_name = "DURATION", default_value = "90d")]
        expires_in: String,
        /// The configuration file (needs `[store]`).
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
    /// List the tokens: id, staff member, tenants, when created, last used, when they expire
    /// and revoked. Never the tokens themselves.
    ///
    /// Example: stackhand tokens list --json
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The configuration file.
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
    /// Revoke a token by its id (`stackhand tokens list`): it authenticates nothing from now on.
    ///
    /// Example: stackhand tokens revoke tok_5f0c2a9e81d4b7c3
    Revoke {
        /// The token's id (`tok_...`).
        id: String,
        /// The configuration file.
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
}

/// The configuration and its store (opened for the tokens only: no audit keys).
async fn open(config: &Path) -> Result<(LoadedConfig, Store)> {
    let loaded = LoadedConfig::load(config).map_err(plain)?;
    let Some(store) = &loaded.config.store else {
        bail!(
            "{} has no [store] section: API tokens are kept in the store; add [store] with \
             url = \"sqlite://stackhand.db?mode=rwc\"",
            config.display()
        );
    };
    let store = connect_store(store, &loaded.source_of("store"), NoAuditKeys)
        .await
        .map_err(plain)?;
    Ok((loaded, store))
}

/// Run one `tokens` command.
pub async fn run(command: TokensCommand) -> Result<ExitCode> {
    match command {
        TokensCommand::Create {
            staff,
            tenants,
            expires_in,
            config,
        } => {
            let expires = match expires_in.as_str() {
                "never" => None,
                span => {
                    let days = crate::backtest::days("--expires-in", span)?;
                    Some(chrono::Utc::now() + chrono::Duration::days(days.into()))
                }
            };
            let (loaded, store) = open(&config).await?;
            let Some(member) = loaded
                .config
                .staff
                .iter()
                .find(|m| m.id.eq_ignore_ascii_case(&staff))
            else {
                bail!(
                    "{staff} is not in [[staff]] of {}: a token acts as a staff member, whose \
                     roles come from there",
                    config.display()
                );
            };
            let tenants = tenants
                .iter()
                .map(|t| configured_tenant(&loaded, t))
                .collect::<Result<Vec<_>>>()?;
            let (record, token) = store
                .issue_api_token(&member.id, &tenants, expires)
                .await
                .map_err(plain)?;
            eprintln!(
                "token {} for {} ({}, {}); it is shown once, keep it now:",
                record.id,
                record.principal,
                scope(&record.tenants),
                record.expires.map_or_else(
                    || "never expires".into(),
                    |at| format!("expires {}", at.format("%Y-%m-%d %H:%M UTC"))
                )
            );
            println!("{}", token.expose_secret());
            Ok(ExitCode::SUCCESS)
        }
        TokensCommand::List { json, config } => {
            let (_, store) = open(&config).await?;
            let tokens = store.api_tokens().await.map_err(plain)?;
            if json {
                let listed: Vec<_> = tokens
                    .iter()
                    .map(|t| {
                        serde_json::json!({
                            "id": t.id,
                            "principal": t.principal,
                            "tenants": t.tenants,
                            "created": t.created,
                            "last_used": t.last_used,
                            "revoked": t.revoked,
                            "expires": t.expires,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&listed)?);
                return Ok(ExitCode::SUCCESS);
            }
            if tokens.is_empty() {
                println!("no API tokens (`stackhand tokens create --as <staff id>`)");
            }
            let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string())
            };
            let now = chrono::Utc::now();
            for t in &tokens {
                let expiry = match t.expires {
                    None => String::new(),
                    Some(at) if t.expired_at(now) => format!(" EXPIRED {}", when(Some(at))),
                    Some(at) => format!(" expires {}", when(Some(at))),
                };
                println!(
                    "{} {:32} {:24} created {} last used {}{expiry}{}",
                    t.id,
                    t.principal,
                    scope(&t.tenants),
                    when(Some(t.created)),
                    when(t.last_used),
                    t.revoked
                        .map(|r| format!(" REVOKED {}", when(Some(r))))
                        .unwrap_or_default()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        TokensCommand::Revoke { id, config } => {
            let (_, store) = open(&config).await?;
            if store.revoke_api_token(&id).await.map_err(plain)? {
                println!("revoked {id}");
                Ok(ExitCode::SUCCESS)
            } else {
                bail!("no live token {id} (`stackhand tokens list` shows ids and revoked ones)")
            }
        }
    }
}

/// The tenants a token is limited to, as words.
fn scope(tenants: &[stackhand_core::TenantId]) -> String {
    if tenants.is_empty() {
        "every tenant".into()
    } else {
        tenants
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
