//! `stackhand tenant`: connect a tenant (`add`), see its shadow record per action (`status`),
//! and move an action from shadow to live (`promote`, an audited configuration change).
//!
//! `stackhand.toml` is edited with `toml_edit`, so its comments, order and layout stay as they
//! were; only the tenant's table (or its `live_actions`) changes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use secrecy::SecretString;
use serde::Serialize;
use stackhand_core::audit::{AuditKind, AuditRecord, AuditSink as _};
use stackhand_core::suggest::{did_you_mean, hint};
use stackhand_core::{ActionId, Health, TenantId, UserQuery};
use stackhand_runner::shadow::ShadowRecord;
use stackhand_runner::{LoadedConfig, Pipeline, default_registry};
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, Value};

use crate::credentials::{configured_tenant, plain};

/// `stackhand tenant …`.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Connect a tenant: its connectors (credentials from standard input into the vault),
    /// their health and permissions, the tenant's shape, its closed-ticket history and triage
    /// model, a proposed policy file to review, and shadow mode to start in.
    ///
    /// Connector settings follow the flags as `--<vendor>-<key> VALUE` (`--m365-tenant-id
    /// contoso.onmicrosoft.com`, `--m365-auth.client-secret vault:m365.secret`; `vault:NAME`
    /// and `file:NAME` are credential references, numbers and true/false are typed).
    /// On a terminal, what is not given is asked for.
    Add(AddArgs),
    /// Per action: how many tickets stackhand planned it for in shadow, how often a
    /// technician later did the same, and whether it is live.
    Status(StatusArgs),
    /// Move an action from shadow to live for a tenant (`live_actions`), audited.
    Promote(PromoteArgs),
}

/// What `stackhand tenant add` was asked.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The tenant id (`contoso-law`).
    #[arg(long)]
    tenant: Option<String>,
    /// Its display name.
    #[arg(long)]
    name: Option<String>,
    /// Its identity provider: m365 or okta.
    #[arg(long)]
    identity: Option<String>,
    /// Its PSA: connectwise or autotask.
    #[arg(long)]
    psa: Option<String>,
    /// Its RMM: ninjaone.
    #[arg(long)]
    rmm: Option<String>,
    /// Its documentation system: hudu.
    #[arg(long)]
    docs: Option<String>,
    /// A credential to store in the vault, its value read from standard input (one line per
    /// `--credential`, in order); the settings name it as `vault:NAME`.
    #[arg(long = "credential", value_name = "NAME")]
    credentials: Vec<String>,
    /// Days of closed tickets to import and train triage on.
    #[arg(long, default_value_t = 365)]
    history_days: u32,
    /// The staff role that approves resets and access in the proposed policy.
    #[arg(long, default_value = "msp.tech")]
    tech_role: String,
    /// The staff role that approves licences, admin rights and leavers in the proposed policy.
    #[arg(long, default_value = "msp.lead")]
    lead_role: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// The configuration file.
    #[arg(long, default_value = "stackhand.toml")]
    config: PathBuf,
    /// Connector settings: `--<vendor>-<key> VALUE …`.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "--<vendor>-<key> VALUE"
    )]
    settings: Vec<String>,
}

/// What `stackhand tenant status` was asked.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// Days of closed history the agreement is read from.
    #[arg(long, default_value_t = 90)]
    days: u32,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// The configuration file.
    #[arg(long, default_value = "stackhand.toml")]
    config: PathBuf,
}

/// What `stackhand tenant promote` was asked.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// The action to run live (`identity.unlock`).
    #[arg(long)]
    action: String,
    /// Who promotes it, for the audit trail (default: the operating-system user).
    #[arg(long = "as", value_name = "STAFF")]
    actor: Option<String>,
    /// Why, for the audit trail.
    #[arg(long)]
    reason: Option<String>,
    /// The configuration file.
    #[arg(long, default_value = "stackhand.toml")]
    config: PathBuf,
}

/// Run `stackhand tenant …`.
pub async fn run(command: TenantCommand) -> Result<ExitCode> {
    match command {
        TenantCommand::Add(args) => add(args).await,
        TenantCommand::Status(args) => status(args).await,
        TenantCommand::Promote(args) => promote(args).await,
    }
}

// ----- promote ------------------------------------------------------------------------------

/// Every action id the deployment knows: the built-in catalog and the connectors'.
fn known_actions() -> Vec<ActionId> {
    let mut known: Vec<ActionId> = stackhand_core::actions::builtin()
        .specs()
        .map(|s| s.id.clone())
        .collect();
    known.extend(
        default_registry()
            .describe()
            .into_iter()
            .flat_map(|d| d.actions.into_iter().map(|a| a.id)),
    );
    known
}

fn read_document(path: &Path) -> Result<DocumentMut> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.parse::<DocumentMut>()
        .with_context(|| format!("parsing {}", path.display()))
}

/// Who is changing the configuration: `--as`, or the operating-system user.
fn actor(given: Option<String>) -> String {
    given
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("USERNAME").ok())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Append a configuration change to `tenant`'s audit chain (the engine's sink: the store).
async fn audit_change(
    config: &Path,
    tenant: &TenantId,
    actor: &str,
    data: serde_json::Value,
) -> Result<()> {
    let deployment = crate::live::open(config).await?;
    deployment
        .store()
        .append(AuditRecord {
            tenant: tenant.clone(),
            at: chrono::Utc::now(),
            kind: AuditKind::ConfigChanged,
            request: None,
            action: None,
            actor: Some(actor.to_string()),
            data,
        })
        .await
        .map_err(plain)?;
    Ok(())
}

async fn promote(args: PromoteArgs) -> Result<ExitCode> {
    let loaded = LoadedConfig::load(&args.config).map_err(plain)?;
    let tenant = configured_tenant(&loaded, &args.tenant)?;
    let known = known_actions();
    if !known.iter().any(|k| k.as_str() == args.action) {
        bail!(
            "--action {:?} is no action{}; `stackhand actions` lists them",
            args.action,
            hint(did_you_mean(&args.action, known.iter().map(|k| k.as_str())))
        );
    }
    let mut doc = read_document(&args.config)?;
    let table = doc["tenants"][tenant.as_str()]
        .as_table_mut()
        .ok_or_else(|| {
            anyhow!(
                "{}: [tenants.{tenant}] is not a table here (is it set by a variable?)",
                args.config.display()
            )
        })?;
    if !table.contains_key("live_actions") {
        table.insert("live_actions", Item::Value(Value::Array(Array::new())));
    }
    let list = table["live_actions"]
        .as_array_mut()
        .ok_or_else(|| anyhow!("tenants.{tenant}.live_actions is not a list"))?;
    let already = list.iter().any(|v| v.as_str() == Some(&args.action));
    if !already {
        list.push(args.action.as_str());
    }
    let live: Vec<String> = list
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let shadow = loaded.config.tenants[&tenant].shadow;
    if already {
        println!("{} is already live for {tenant}", args.action);
        return Ok(ExitCode::SUCCESS);
    }
    let actor = actor(args.actor);
    // Audited before the change is written: a promotion nobody can trace never takes effect.
    audit_change(
        &args.config,
        &tenant,
        &actor,
        serde_json::json!({
            "change": "promote",
            "action": args.action,
            "live_actions": live,
            "reason": args.reason,
        }),
    )
    .await?;
    std::fs::write(&args.config, doc.to_string())
        .with_context(|| format!("writing {}", args.config.display()))?;
    println!(
        "{} is live for {tenant}: a ticket whose workflow's steps are all live actions ({}) runs \
         live{}; audited as a configuration change by {actor}",
        args.action,
        live.join(", "),
        if shadow {
            ", the others stay in shadow"
        } else {
            " (the tenant is not in shadow mode: every action already runs live)"
        }
    );
    Ok(ExitCode::SUCCESS)
}

// ----- status -------------------------------------------------------------------------------

async fn status(args: StatusArgs) -> Result<ExitCode> {
    let loaded = LoadedConfig::load(&args.config).map_err(plain)?;
    let tenant = configured_tenant(&loaded, &args.tenant)?;
    let pipeline = Pipeline::open(&loaded, &default_registry())
        .await
        .map_err(plain)?;
    let record = pipeline
        .shadow_record(&tenant, args.days)
        .await
        .map_err(plain)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&record)?);
    } else {
        print_status(&record);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_status(record: &ShadowRecord) {
    println!(
        "{} {}",
        crate::style::heading(record.tenant.as_str()),
        if record.shadow {
            "in shadow mode"
        } else {
            "live (not in shadow mode)"
        }
    );
    println!(
        "{:<34} {:>9} {:>10} {:>7} {:>7} {:>10}  state",
        "action", "shadowed", "backtested", "closed", "agreed", "agreement"
    );
    for a in &record.actions {
        let agreement = if a.closed == 0 {
            "-".to_string()
        } else {
            format!("{:.0}%", a.agreement * 100.0)
        };
        println!(
            "{:<34} {:>9} {:>10} {:>7} {:>7} {:>10}  {}",
            a.action,
            a.shadowed,
            a.backtested,
            a.closed,
            a.agreed,
            agreement,
            if a.live { "live" } else { "shadow" }
        );
    }
    println!(
        "\nshadowed: open tickets planned in shadow passes; backtested: closed tickets replayed \
         by `stackhand backtest`\nagreement: of those tickets a technician closed in the last {} \
         days, how many they resolved the way stackhand planned; promote with `stackhand tenant \
         promote --tenant {} --action ID`",
        record.days, record.tenant
    );
}

// ----- add ----------------------------------------------------------------------------------

/// The vendors each role may be.
const IDENTITY: &[&str] = &["m365", "okta"];
const PSA: &[&str] = &["connectwise", "autotask"];
const RMM: &[&str] = &["ninjaone"];
const DOCS: &[&str] = &["hudu"];

/// What to grant when a vendor's check fails.
fn how_to_grant(vendor: &str) -> &'static str {
    match vendor {
        "m365" => {
            "the app registration needs Microsoft Graph application permissions User.ReadWrite.All, \
             Group.ReadWrite.All, Directory.ReadWrite.All, UserAuthenticationMethod.ReadWrite.All \
             and Mail.Send, with admin consent (Entra admin centre > App registrations > API \
             permissions > Grant admin consent), and its client secret must be current"
        }
        "okta" => {
            "the API token must belong to an admin with the Help Desk Administrator and Group \
             Administrator roles (Okta Admin Console > Security > Administrators), and must not \
             have expired"
        }
        "connectwise" => {
            "the API member needs a security role with Service Desk > Service Tickets \
             (inquire, add, edit) and Companies > Contacts (inquire, add, edit) (System > \
             Members > API Members), and its public/private key pair and client id must match"
        }
        "autotask" => {
            "the API user must be of type API-only with a security level that can view and edit \
             tickets, ticket notes and contacts, and the integration code must be its tracking \
             identifier (Admin > Resources (Users))"
        }
        "ninjaone" => {
            "the client app needs the monitoring, management and control scopes with the \
             client-credentials grant (Administration > Apps > API)"
        }
        "hudu" => {
            "the API key must allow password access and not be limited to another company \
             (Admin > API Keys)"
        }
        _ => "check the connector's credentials and the permissions its documentation lists",
    }
}

/// One connector's health and, when it failed, what to grant.
#[derive(Debug, Serialize)]
struct Check {
    vendor: String,
    healthy: bool,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    missing: Option<String>,
}

/// What the tenant looks like, as its connectors can read it.
#[derive(Debug, Default, Serialize)]
struct Shape {
    /// Licences with their seats: name, consumed, total.
    licences: Vec<(String, u32, u32)>,
    /// Directory users found among the history's contacts.
    users: usize,
    /// Groups those users are in.
    groups: Vec<String>,
    /// Devices found for those users in the RMM.
    devices: Vec<String>,
    /// The PSA company the tenant maps to, if found.
    psa_company: Option<String>,
    /// What the capability traits cannot read (so it was not discovered).
    not_readable: Vec<String>,
}

/// The closed-ticket history and what triage learned from it.
#[derive(Debug, Serialize)]
struct HistoryReport {
    days: u32,
    tickets: usize,
    labelled: usize,
    intents: BTreeMap<String, usize>,
    approvers: BTreeMap<String, Vec<(String, usize)>>,
}

/// What `stackhand tenant add` did.
#[derive(Debug, Serialize)]
struct AddReport {
    tenant: TenantId,
    name: String,
    connectors: Vec<String>,
    credentials: Vec<String>,
    checks: Vec<Check>,
    shape: Shape,
    history: HistoryReport,
    policy: PathBuf,
    shadow: bool,
}

/// Ask on a terminal, with `default` offered; `None` when there is no terminal.
fn ask(question: &str, default: Option<&str>) -> Result<Option<String>> {
    if !std::io::stdin().is_terminal() {
        return Ok(default.map(str::to_string));
    }
    let shown = default.map(|d| format!(" [{d}]")).unwrap_or_default();
    eprint!("{question}{shown}: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let line = line.trim();
    Ok(if line.is_empty() {
        default.map(str::to_string)
    } else {
        Some(line.to_string())
    })
}

/// `given`, or asked for on a terminal, or an error naming the flag.
fn needed(
    given: Option<String>,
    flag: &str,
    question: &str,
    default: Option<&str>,
) -> Result<String> {
    match given {
        Some(value) => Ok(value),
        None => ask(question, default)?
            .ok_or_else(|| anyhow!("{flag} is needed (or run on a terminal to be asked)")),
    }
}

/// `vendor` if it is one of `allowed`.
fn vendor_of(role: &str, vendor: String, allowed: &[&str]) -> Result<String> {
    if allowed.contains(&vendor.as_str()) {
        Ok(vendor)
    } else {
        bail!(
            "--{role} {vendor:?}: one of {}{}",
            allowed.join(", "),
            hint(did_you_mean(&vendor, allowed.iter().copied()))
        )
    }
}

/// A setting's value as TOML: `vault:NAME` and `file:NAME` references, numbers, booleans,
/// otherwise text.
fn setting_value(text: &str) -> Value {
    for kind in ["vault", "file", "env"] {
        if let Some(name) = text.strip_prefix(&format!("{kind}:")) {
            let mut table = InlineTable::new();
            table.insert(kind, name.into());
            return Value::InlineTable(table);
        }
    }
    if let Ok(n) = text.parse::<i64>() {
        return n.into();
    }
    match text {
        "true" => true.into(),
        "false" => false.into(),
        _ => text.into(),
    }
}

/// One connector setting: its key path (`["auth", "client_id"]`) and its value as given.
type Setting = (Vec<String>, String);

/// `--<vendor>-<key> VALUE …` as each vendor's settings (keys with `_` for `-`; dots nest).
fn parse_settings(
    settings: &[String],
    vendors: &[String],
) -> Result<BTreeMap<String, Vec<Setting>>> {
    let mut out: BTreeMap<String, Vec<Setting>> =
        vendors.iter().map(|v| (v.clone(), Vec::new())).collect();
    let mut items = settings.iter();
    while let Some(flag) = items.next() {
        let Some(name) = flag.strip_prefix("--") else {
            bail!("{flag:?}: connector settings are written --<vendor>-<key> VALUE");
        };
        let Some((vendor, key)) = vendors
            .iter()
            .find_map(|v| Some((v, name.strip_prefix(v.as_str())?.strip_prefix('-')?)))
        else {
            bail!(
                "{flag}: no chosen connector's setting (the connectors are {}; write \
                 --<vendor>-<key> VALUE)",
                vendors.join(", ")
            );
        };
        let value = items.next().ok_or_else(|| anyhow!("{flag} has no value"))?;
        let path = key.split('.').map(|k| k.replace('-', "_")).collect();
        out.get_mut(vendor)
            .expect("listed")
            .push((path, value.clone()));
    }
    Ok(out)
}

/// One connector's table from its settings.
fn connector_table(settings: &[Setting]) -> Table {
    let mut table = Table::new();
    for (path, value) in settings {
        let (last, parents) = path.split_last().expect("a key");
        let value = setting_value(value);
        if parents.is_empty() {
            table.insert(last, Item::Value(value));
            continue;
        }
        // Nested keys become one inline table (`auth = { method = .., .. }`).
        let mut at = table
            .entry(&parents[0])
            .or_insert(Item::Value(Value::InlineTable(InlineTable::new())))
            .as_inline_table_mut();
        for parent in &parents[1..] {
            at = at.and_then(|t| {
                t.entry(parent.as_str())
                    .or_insert(Value::InlineTable(InlineTable::new()))
                    .as_inline_table_mut()
            });
        }
        if let Some(t) = at {
            t.insert(last, value);
        }
    }
    table
}

/// The proposed policy: a conservative template for the tenant's own layer, with the approvers
/// seen in its history as comments for the reviewer.
fn proposed_policy(
    tenant: &TenantId,
    tech: &str,
    lead: &str,
    approvers: &BTreeMap<String, Vec<(String, usize)>>,
) -> String {
    let mut text = format!(
        "# The starting policy proposed for tenant {tenant} by `stackhand tenant add`: review it,\n\
         # change it, commit it. The tenant starts in shadow mode (nothing is executed) until\n\
         # actions are promoted with `stackhand tenant promote`. Anything no rule allows is denied.\n\
         [scope]\ntenant = \"{tenant}\"\n"
    );
    // (id, description, actions, effect, approvers: "both" | "lead" | "", [rules.when])
    type Rule<'a> = (&'a str, &'a str, &'a [&'a str], &'a str, &'a str, &'a str);
    let rules: [Rule<'_>; 6] = [
        (
            "reads",
            "Reads: finding a user changes nothing",
            &["identity.find_user"],
            "allow",
            "",
            "",
        ),
        (
            "self-service-unlock",
            "A user may have their own account unlocked",
            &["identity.unlock"],
            "allow",
            "",
            "requester_kinds = [\"end_user\"]\nself_service = true\n",
        ),
        (
            "resets-need-approval",
            "A user's own password or MFA reset, or signing out everywhere, waits for a technician or a lead",
            &[
                "identity.reset_password",
                "identity.reset_mfa",
                "identity.revoke_sessions",
            ],
            "approve",
            "both",
            "requester_kinds = [\"end_user\"]\nself_service = true\n",
        ),
        (
            "access-needs-approval",
            "Access to a group or a shared mailbox waits for a technician or a lead; never for an admin",
            &["identity.add_to_group", "identity.grant_mailbox_access"],
            "approve",
            "both",
            "requester_kinds = [\"end_user\"]\ntarget_protected = false\n",
        ),
        (
            "licences-and-leavers-need-a-lead",
            "Licences, new starters and leavers wait for a lead",
            &[
                "identity.assign_license",
                "identity.remove_license",
                "identity.remove_all_licenses",
                "identity.create_user",
                "identity.disable",
                "identity.remove_all_groups",
            ],
            "approve",
            "lead",
            "requester_kinds = [\"end_user\"]\n",
        ),
        (
            "no-admin-rights-from-tickets",
            "Admin rights are never granted from a ticket",
            &["identity.add_to_group"],
            "deny",
            "",
            "requester_kinds = [\"end_user\"]\ntarget_protected = true\n",
        ),
    ];
    for (id, description, actions, effect, approve, when) in rules {
        let approvers_line = match approve {
            "both" => format!("approvers = [{{ role = \"{tech}\" }}, {{ role = \"{lead}\" }}]\n"),
            "lead" => format!("approvers = [{{ role = \"{lead}\" }}]\n"),
            _ => String::new(),
        };
        let when = if when.is_empty() {
            String::new()
        } else {
            format!("[rules.when]\n{when}")
        };
        text.push_str(&format!(
            "\n[[rules]]\nid = \"{tenant}-{id}\"\ndescription = \"{description}\"\nactions = {actions:?}\n\
             effect = \"{effect}\"\n{approvers_line}{when}"
        ));
    }
    text.push_str(&format!(
        "\n# stackhand documents and closes the tickets it resolves.\n[[rules]]\n\
         id = \"{tenant}-stackhand-keeps-tickets\"\n\
         description = \"stackhand notes, closes and reassigns tickets, and tells the user\"\n\
         actions = [\"psa.add_note\", \"psa.close\", \"psa.reassign\", \"messaging.send\"]\n\
         effect = \"allow\"\n[rules.when]\nrequester_kinds = [\"agent\"]\n"
    ));
    if !approvers.is_empty() {
        text.push_str(
            "\n# Approvers seen in the tenant's closed tickets (for the reviewer: name them as\n\
             # approvers, e.g. { contact = \"..\" } or a staff role, where they should decide):\n",
        );
        for (intent, people) in approvers {
            let people: Vec<String> = people
                .iter()
                .take(5)
                .map(|(name, n)| format!("{name} ({n})"))
                .collect();
            text.push_str(&format!("#   {intent}: {}\n", people.join(", ")));
        }
    }
    text
}

/// What the tenant's connectors can read of it.
async fn discover(
    pipeline: &Pipeline,
    tenant: &TenantId,
    history: &[stackhand_core::HistoricalTicket],
    company: Option<&str>,
) -> Shape {
    let mut shape = Shape::default();
    let Ok(reads) = pipeline.deployment().engine().connectors(tenant) else {
        return shape;
    };
    if let Ok(identity) = reads.identity() {
        if let Ok(skus) = identity.licenses().await {
            shape.licences = skus
                .into_iter()
                .map(|s| (s.name, s.consumed, s.total))
                .collect();
        }
        let contacts: BTreeSet<String> = history
            .iter()
            .filter_map(|h| h.ticket.contact.as_ref()?.email.clone())
            .map(|e| e.to_lowercase())
            .collect();
        let mut groups = BTreeSet::new();
        let mut devices = BTreeSet::new();
        for email in contacts.iter().take(40) {
            let Ok(users) = identity.find_users(&UserQuery::Email(email.clone())).await else {
                continue;
            };
            for user in users {
                shape.users += 1;
                if let Ok(found) = identity.user_groups(&user).await {
                    groups.extend(found.into_iter().map(|g| g.name));
                }
                if let Ok(rmm) = reads.rmm()
                    && let Ok(found) = rmm.find_devices(&user.display_name).await
                {
                    devices.extend(found.into_iter().map(|d| d.name));
                }
            }
        }
        shape.groups = groups.into_iter().collect();
        shape.devices = devices.into_iter().collect();
    }
    if let (Ok(psa), Some(company)) = (reads.psa(), company)
        && let Ok(Some(found)) = psa.find_company(company).await
    {
        shape.psa_company = Some(found.name);
    }
    shape.not_readable = vec![
        "documentation layouts (the Documentation trait reads assets by name only)".into(),
        "PSA boards (the Psa trait has no board listing)".into(),
    ];
    shape
}

async fn add(args: AddArgs) -> Result<ExitCode> {
    let interactive = std::io::stdin().is_terminal() && !args.json;
    let tenant = needed(
        args.tenant,
        "--tenant",
        "Tenant id (e.g. contoso-law)",
        None,
    )?;
    let tenant = TenantId::new(&tenant).map_err(|e| anyhow!("--tenant: {}", e.message()))?;
    let name = needed(args.name, "--name", "Display name", Some(tenant.as_str()))?;
    let identity = vendor_of(
        "identity",
        needed(
            args.identity,
            "--identity",
            "Identity provider (m365, okta)",
            Some("m365"),
        )?,
        IDENTITY,
    )?;
    let psa = vendor_of(
        "psa",
        needed(
            args.psa,
            "--psa",
            "PSA (connectwise, autotask)",
            Some("connectwise"),
        )?,
        PSA,
    )?;
    let rmm = match args.rmm.or_else(|| {
        interactive
            .then(|| {
                ask("RMM (ninjaone, or empty for none)", None)
                    .ok()
                    .flatten()
            })
            .flatten()
    }) {
        Some(v) => Some(vendor_of("rmm", v, RMM)?),
        None => None,
    };
    let docs = match args.docs.or_else(|| {
        interactive
            .then(|| {
                ask("Documentation (hudu, or empty for none)", None)
                    .ok()
                    .flatten()
            })
            .flatten()
    }) {
        Some(v) => Some(vendor_of("docs", v, DOCS)?),
        None => None,
    };
    let vendors: Vec<String> = [Some(identity), Some(psa), rmm, docs]
        .into_iter()
        .flatten()
        .collect();
    let settings = parse_settings(&args.settings, &vendors)?;
    for vendor in &vendors {
        if settings[vendor].is_empty() {
            bail!(
                "no settings for {vendor}: give them as --{vendor}-<key> VALUE (`stackhand \
                 connectors` shows each connector's configuration)"
            );
        }
    }

    let loaded = LoadedConfig::load(&args.config).map_err(plain)?;
    if loaded.config.tenants.contains_key(&tenant) {
        bail!(
            "{} already has tenant {tenant}; `stackhand tenant status --tenant {tenant}` shows it",
            args.config.display()
        );
    }
    let base = args
        .config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let progress = (!args.json).then(|| crate::style::spinner("storing credentials"));

    // 1. Credentials: one line each from standard input, into the vault.
    if !args.credentials.is_empty() {
        let Some(vault) = stackhand_runner::open_vault(&loaded).await.map_err(plain)? else {
            bail!(
                "{} has no [store], so there is no vault for the credentials",
                args.config.display()
            );
        };
        let stdin = std::io::stdin();
        for name in &args.credentials {
            if interactive {
                eprint!("Credential {name} (not echoed): ");
            }
            let value = if interactive {
                rpassword::read_password()?
            } else {
                let mut line = String::new();
                stdin.lock().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_string()
            };
            vault
                .set(&tenant, name, SecretString::from(value))
                .await
                .map_err(|e| anyhow!("credential {name}: {}", e.message()))?;
        }
    }

    // 2. The tenant's table, in shadow mode, with a policy file to review.
    let original = std::fs::read_to_string(&args.config)?;
    let policy_rel = PathBuf::from("policies").join(format!("{tenant}.toml"));
    let policy_path = base.join(&policy_rel);
    if policy_path.exists() {
        bail!(
            "{} exists already; move it away or add its tenant by hand",
            policy_path.display()
        );
    }
    std::fs::create_dir_all(policy_path.parent().expect("a directory"))?;
    std::fs::write(
        &policy_path,
        proposed_policy(&tenant, &args.tech_role, &args.lead_role, &BTreeMap::new()),
    )?;
    let mut doc = read_document(&args.config)?;
    if !doc.contains_key("tenants") {
        let mut tenants = Table::new();
        tenants.set_implicit(true);
        doc.insert("tenants", Item::Table(tenants));
    }
    let mut table = Table::new();
    table.insert("name", Item::Value(name.as_str().into()));
    let mut policies = Array::new();
    policies.push(policy_rel.to_string_lossy().as_ref());
    table.insert("policies", Item::Value(Value::Array(policies)));
    table.insert("shadow", Item::Value(true.into()));
    table.insert("live_actions", Item::Value(Value::Array(Array::new())));
    let mut connectors = Table::new();
    connectors.set_implicit(true);
    for vendor in &vendors {
        connectors.insert(vendor, Item::Table(connector_table(&settings[vendor])));
    }
    table.insert("connectors", Item::Table(connectors));
    doc["tenants"]
        .as_table_mut()
        .ok_or_else(|| anyhow!("tenants is not a table"))?
        .insert(tenant.as_str(), Item::Table(table));
    std::fs::write(&args.config, doc.to_string())?;
    let restore = || {
        let _ = std::fs::write(&args.config, &original);
        let _ = std::fs::remove_file(&policy_path);
    };

    let result = connect(
        &args.config,
        &tenant,
        &vendors,
        args.history_days,
        &progress,
    )
    .await;
    let (checks, shape, history, pipeline) = match result {
        Ok(done) => done,
        Err(err) => {
            restore();
            if let Some(p) = &progress {
                p.finish_and_clear();
            }
            return Err(err.context(format!(
                "tenant {tenant} was not added ({} is as it was)",
                args.config.display()
            )));
        }
    };
    if let Some(failed) = checks.iter().find(|c| !c.healthy) {
        restore();
        if let Some(p) = &progress {
            p.finish_and_clear();
        }
        if args.json {
            println!("{}", serde_json::to_string_pretty(&checks)?);
        } else {
            for c in &checks {
                print_check(c);
            }
        }
        bail!(
            "{} failed its check, so tenant {tenant} was not added ({} is as it was): {}",
            failed.vendor,
            args.config.display(),
            failed.missing.as_deref().unwrap_or(&failed.detail)
        );
    }
    drop(pipeline);
    // The proposal again, with the approvers the history names.
    std::fs::write(
        &policy_path,
        proposed_policy(
            &tenant,
            &args.tech_role,
            &args.lead_role,
            &history.approvers,
        ),
    )?;
    audit_change(
        &args.config,
        &tenant,
        &actor(None),
        serde_json::json!({
            "change": "tenant_added",
            "connectors": vendors,
            "policy": policy_rel,
            "shadow": true,
        }),
    )
    .await?;
    if let Some(p) = &progress {
        p.finish_and_clear();
    }
    let report = AddReport {
        tenant: tenant.clone(),
        name,
        connectors: vendors,
        credentials: args.credentials,
        checks,
        shape,
        history,
        policy: policy_path,
        shadow: true,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_added(&report);
    }
    Ok(ExitCode::SUCCESS)
}

type Connected = (Vec<Check>, Shape, HistoryReport, Pipeline);

/// Build the configuration's connectors, check the new tenant's, discover it, import its
/// history and train its triage.
async fn connect(
    config: &Path,
    tenant: &TenantId,
    vendors: &[String],
    days: u32,
    progress: &Option<indicatif::ProgressBar>,
) -> Result<Connected> {
    let say = |m: &str| {
        if let Some(p) = progress {
            p.set_message(m.to_string());
        }
    };
    say("building the tenant's connectors");
    let loaded = LoadedConfig::load(config).map_err(plain)?;
    let pipeline = Pipeline::open(&loaded, &default_registry())
        .await
        .map_err(plain)?;
    say("checking each connector's health and permissions");
    let reads = pipeline
        .deployment()
        .engine()
        .connectors(tenant)
        .map_err(plain)?;
    let mut checks = Vec::new();
    for (info, health) in reads.health().await {
        let (healthy, detail) = match health {
            Ok(Health {
                healthy, detail, ..
            }) => (healthy, detail),
            Err(err) => (false, err.message().to_string()),
        };
        checks.push(Check {
            missing: (!healthy).then(|| how_to_grant(&info.vendor).to_string()),
            vendor: info.vendor,
            healthy,
            detail,
        });
    }
    for vendor in vendors {
        if !checks.iter().any(|c| &c.vendor == vendor) {
            checks.push(Check {
                vendor: vendor.clone(),
                healthy: false,
                detail: "the connector was not built".into(),
                missing: Some(how_to_grant(vendor).to_string()),
            });
        }
    }
    if checks.iter().any(|c| !c.healthy) {
        let empty = HistoryReport {
            days,
            tickets: 0,
            labelled: 0,
            intents: BTreeMap::new(),
            approvers: BTreeMap::new(),
        };
        return Ok((checks, Shape::default(), empty, pipeline));
    }
    say("importing the closed-ticket history");
    let to = chrono::Utc::now();
    let history = reads
        .psa()
        .map_err(plain)?
        .history(&stackhand_core::HistoryQuery {
            from: to - chrono::Duration::days(i64::from(days)),
            to,
        })
        .await
        .map_err(plain)?;
    say("discovering the tenant");
    let company = loaded.config.tenants[tenant]
        .connectors
        .values()
        .find_map(|c| {
            c.get("company_identifier")
                .or_else(|| c.get("company"))
                .and_then(|v| v.as_str().map(str::to_string))
        });
    let shape = discover(&pipeline, tenant, &history, company.as_deref()).await;
    say("training triage on the history");
    let summary = pipeline.train_triage(tenant, days).await.map_err(plain)?;
    let learned = summary.learned;
    let history = HistoryReport {
        days,
        tickets: learned.tickets,
        labelled: learned.labelled,
        intents: learned
            .intents
            .iter()
            .map(|(i, n)| (i.to_string(), *n))
            .collect(),
        approvers: learned
            .approvers
            .keys()
            .map(|i| (i.to_string(), learned.suggested_approvers(*i)))
            .collect(),
    };
    Ok((checks, shape, history, pipeline))
}

fn print_check(c: &Check) {
    println!(
        "  {:<12} {}  {}",
        c.vendor,
        if c.healthy { "ok    " } else { "FAILED" },
        c.detail
    );
    if let Some(missing) = &c.missing {
        println!("               to fix: {missing}");
    }
}

fn print_added(r: &AddReport) {
    println!(
        "{}",
        crate::style::heading(&format!("Tenant {} ({}) added", r.tenant, r.name))
    );
    println!("Connectors:");
    for c in &r.checks {
        print_check(c);
    }
    if !r.credentials.is_empty() {
        println!("Credentials in the vault: {}", r.credentials.join(", "));
    }
    println!("Shape:");
    if let Some(company) = &r.shape.psa_company {
        println!("  PSA company: {company}");
    }
    println!(
        "  users: {} (of the history's contacts)  groups: {}  devices: {}",
        r.shape.users,
        r.shape.groups.len(),
        r.shape.devices.len()
    );
    for (name, used, total) in &r.shape.licences {
        println!("  licence {name}: {used} of {total} seats used");
    }
    if !r.shape.groups.is_empty() {
        println!("  groups: {}", r.shape.groups.join(", "));
    }
    if !r.shape.devices.is_empty() {
        println!("  devices: {}", r.shape.devices.join(", "));
    }
    for what in &r.shape.not_readable {
        println!("  not discovered: {what}");
    }
    println!(
        "History: {} closed tickets in {} days, {} labelled by what the technicians did; triage \
         trained",
        r.history.tickets, r.history.days, r.history.labelled
    );
    for (intent, n) in &r.history.intents {
        println!("  {intent}: {n}");
    }
    println!(
        "Proposed policy: {} (review it; it is loaded for this tenant)",
        r.policy.display()
    );
    println!(
        "Shadow mode: on. Next: `stackhand backtest --tenant {t}`, `stackhand tenant status \
         --tenant {t}`, `stackhand tenant promote --tenant {t} --action identity.unlock`",
        t = r.tenant
    );
}
