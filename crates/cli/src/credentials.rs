//! `stackhand credentials` and `stackhand vault`: tenants' credentials in the encrypted vault of
//! the `[store]` that `stackhand.toml` names.
//!
//! A value is read from standard input only (never from an argument, where it would sit in the
//! shell history and the process list), with one trailing newline removed; an empty value is
//! refused. Nothing here prints a value.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use secrecy::SecretString;
use secrecy::zeroize::Zeroizing;
use stackhand_core::TenantId;
use stackhand_core::suggest::{did_you_mean, hint};
use stackhand_runner::LoadedConfig;
use stackhand_store::{MasterKey, Vault};

const VAULT_HELP: &str = "\
The vault lives in the database of [store] in stackhand.toml:

  [store]
  url = \"sqlite://stackhand.db?mode=rwc\"      # relative to stackhand.toml; or postgres://...
  master_key = { file = \"master.key\" }        # or { env = \"STACKHAND_MASTER_KEY\" }

Each tenant's credentials are encrypted with the tenant's own data key, which the master key \
wraps. Connector configuration names a credential as { vault = \"<name>\" }, and a tenant reads \
only its own.";

#[derive(Debug, Subcommand)]
pub enum CredentialsCommand {
    /// Store a tenant's credential, reading the value from standard input (never an argument).
    #[command(after_help = VAULT_HELP)]
    Set {
        /// The tenant, as in stackhand.toml.
        #[arg(long)]
        tenant: String,
        /// The credential's name, as connector configuration names it: `{ vault = "<name>" }`.
        #[arg(long)]
        name: String,
        /// The configuration file with `[store]`.
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
    /// List a tenant's credential names and when each was set (never the values).
    #[command(after_help = VAULT_HELP)]
    List {
        /// The tenant, as in stackhand.toml.
        #[arg(long)]
        tenant: String,
        /// The configuration file with `[store]`.
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
    /// Remove a tenant's credential from the vault.
    #[command(after_help = VAULT_HELP)]
    Delete {
        /// The tenant, as in stackhand.toml.
        #[arg(long)]
        tenant: String,
        /// The credential's name.
        #[arg(long)]
        name: String,
        /// The configuration file with `[store]`.
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
    /// Give a tenant a new data key and re-encrypt its credentials under it, in one transaction.
    #[command(after_help = VAULT_HELP)]
    Rotate {
        /// The tenant, as in stackhand.toml.
        #[arg(long)]
        tenant: String,
        /// The configuration file with `[store]`.
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Write a new random vault master key to a file that does not exist yet (mode 0600).
    #[command(after_help = VAULT_HELP)]
    Keygen {
        /// Where to write it; keep it apart from the database.
        #[arg(long)]
        out: PathBuf,
    },
    /// Re-wrap every tenant's data key under a new master key (make it with `vault keygen`).
    ///
    /// The configured master_key (and previous_master_keys) still unwrap what is not re-wrapped
    /// yet, so other processes keep reading if they are given both keys: the new one as
    /// master_key and the old one in previous_master_keys. Afterwards, set master_key to the new
    /// key everywhere. Running it again after an interruption re-wraps only what is left.
    #[command(after_help = VAULT_HELP)]
    RotateMaster {
        /// The new master key file.
        #[arg(long)]
        new_key: PathBuf,
        /// The configuration file with `[store]` (its master_key is the key being retired).
        #[arg(long, default_value = "stackhand.toml")]
        config: PathBuf,
    },
}

/// A stackhand error as one line, without its kind.
pub(crate) fn plain(err: stackhand_core::Error) -> anyhow::Error {
    anyhow!("{}", err.message())
}

/// The configuration's vault, and `tenant` checked against its tenants.
async fn open(config: &Path, tenant: Option<&str>) -> Result<(Vault, Option<TenantId>)> {
    let loaded = LoadedConfig::load(config).map_err(plain)?;
    let tenant = match tenant {
        Some(tenant) => Some(configured_tenant(&loaded, tenant)?),
        None => None,
    };
    let Some(vault) = stackhand_runner::open_vault(&loaded).await.map_err(plain)? else {
        bail!(
            "{} has no [store] section, so there is no vault: add\n\n{}",
            config.display(),
            "[store]\nurl = \"sqlite://stackhand.db?mode=rwc\"\nmaster_key = { file = \"master.key\" }\n\n\
             and make the key with `stackhand vault keygen --out master.key`"
        );
    };
    Ok((vault, tenant))
}

/// `tenant` if the configuration has it; else an error naming the nearest configured tenant.
pub(crate) fn configured_tenant(loaded: &LoadedConfig, tenant: &str) -> Result<TenantId> {
    let id = TenantId::new(tenant).map_err(|e| anyhow!("--tenant {tenant:?}: {}", e.message()))?;
    if loaded.config.tenants.contains_key(&id) {
        return Ok(id);
    }
    let known: Vec<&str> = loaded.config.tenants.keys().map(TenantId::as_str).collect();
    bail!(
        "tenant {tenant} is not in the configuration{}; configured tenants: {}",
        hint(did_you_mean(tenant, known.iter().copied())),
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        }
    )
}

/// The secret on standard input, with one trailing newline (`\n` or `\r\n`) removed; `what`
/// names it in the error when the input is empty.
pub(crate) fn read_secret_from_stdin(what: &str) -> Result<SecretString> {
    let mut stdin = std::io::stdin();
    let mut bytes = Zeroizing::new(Vec::new());
    if stdin.is_terminal() {
        // Typed by hand: read one line without echoing it.
        let typed = Zeroizing::new(
            rpassword::prompt_password(format!("{what} (not shown as you type): "))
                .map_err(|e| anyhow!("reading {what} from the terminal: {e}"))?,
        );
        bytes.extend_from_slice(typed.as_bytes());
    } else {
        stdin
            .read_to_end(&mut bytes)
            .map_err(|e| anyhow!("reading the value from standard input: {e}"))?;
    }
    // Truncated bytes stay in the buffer's capacity, which Zeroizing clears on drop.
    let newline = if bytes.ends_with(b"\r\n") {
        2
    } else if bytes.ends_with(b"\n") {
        1
    } else {
        0
    };
    let len = bytes.len() - newline;
    bytes.truncate(len);
    if bytes.is_empty() {
        bail!(
            "the value of {what} on standard input is empty: pipe the secret in, e.g. \
             `stackhand credentials set --tenant <T> --name <N> < secret.txt`"
        );
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| anyhow!("the value on standard input is not UTF-8 text"))?;
    Ok(SecretString::from(text.to_string()))
}

/// `stackhand credentials ...`.
pub async fn run(command: CredentialsCommand) -> Result<ExitCode> {
    match command {
        CredentialsCommand::Set {
            tenant,
            name,
            config,
        } => {
            stackhand_store::vault::check_name(&name).map_err(plain)?;
            let (vault, tenant) = open(&config, Some(&tenant)).await?;
            let tenant = tenant.expect("a tenant was given");
            let value = read_secret_from_stdin("the credential")?;
            vault.set(&tenant, &name, value).await.map_err(plain)?;
            println!(
                "stored credential {name} of tenant {tenant}; configuration names it \
                 {{ vault = \"{name}\" }}"
            );
        }
        CredentialsCommand::List { tenant, config } => {
            let (vault, tenant) = open(&config, Some(&tenant)).await?;
            let tenant = tenant.expect("a tenant was given");
            let list = vault.list(&tenant).await.map_err(plain)?;
            if list.is_empty() {
                println!("tenant {tenant} has no credentials in the vault");
            }
            for info in list {
                println!(
                    "{:40} updated {}",
                    info.name,
                    info.updated_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
            }
        }
        CredentialsCommand::Delete {
            tenant,
            name,
            config,
        } => {
            let (vault, tenant) = open(&config, Some(&tenant)).await?;
            let tenant = tenant.expect("a tenant was given");
            if !vault.delete(&tenant, &name).await.map_err(plain)? {
                bail!("tenant {tenant} has no credential {name} in the vault");
            }
            println!("deleted credential {name} of tenant {tenant}");
        }
        CredentialsCommand::Rotate { tenant, config } => {
            let (vault, tenant) = open(&config, Some(&tenant)).await?;
            let tenant = tenant.expect("a tenant was given");
            let rotation = vault.rotate_tenant_key(&tenant).await.map_err(plain)?;
            println!(
                "tenant {tenant}: data key v{}, {} credential(s) re-encrypted",
                rotation.version, rotation.reencrypted
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `stackhand vault ...`.
pub async fn run_vault(command: VaultCommand) -> Result<ExitCode> {
    match command {
        VaultCommand::Keygen { out } => {
            let key = MasterKey::create_file(&out).map_err(plain)?;
            println!(
                "wrote a new vault master key (id {}) to {}; name it in stackhand.toml as \
                 [store] master_key = {{ file = \"{}\" }}, and keep it apart from the database",
                key.id(),
                out.display(),
                out.display()
            );
        }
        VaultCommand::RotateMaster { new_key, config } => {
            let new = MasterKey::from_file(&new_key).map_err(plain)?;
            let (vault, _) = open(&config, None).await?;
            let old = vault.master_key_id();
            let rotation = vault.rotate_master_key(new).await.map_err(plain)?;
            println!(
                "re-wrapped {} data key(s) of {} tenant(s) under master key {} (was {old}); now \
                 set [store] master_key = {{ file = \"{}\" }} and remove the old key once every \
                 process runs with the new one",
                rotation.rewrapped,
                rotation.tenants,
                rotation.master_key_id,
                new_key.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
