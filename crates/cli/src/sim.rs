//! `stackhand sim`: the six vendor simulators of one world on loopback, and a deployment
//! (`stackhand.toml`, a starter policy, the tenants' credential files) pointing at them.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use stackhand_runner::{Composer, LoadedConfig, default_registry};
use stackhand_sim::Faults;
use stackhand_sim::deployment::SimulatedWorld;
use stackhand_sim::world::World;

/// Written once (an edited policy is kept): technicians may do the routine, reversible work.
const STARTER_POLICY: &str = r#"# A starter policy for the simulated world. Everything not allowed here is denied.
[scope]
global = true

# Technicians (`stackhand act`): routine, reversible work runs; a password reset waits for a lead.
[[rules]]
id = "technicians-do-routine-work"
description = "Technicians may revoke sessions, unlock accounts, tag devices and note tickets"
actions = ["identity.revoke_sessions", "identity.unlock", "rmm.tag_device", "psa.add_note"]
effect = "allow"
[rules.when]
requester_kinds = ["technician"]

[[rules]]
id = "leads-approve-password-resets"
description = "An MSP lead approves a password reset a technician asks for"
actions = ["identity.reset_password"]
effect = "approve"
approvers = [{ role = "msp.lead" }]
[rules.when]
requester_kinds = ["technician"]

# End users, from their tickets (`stackhand run`): an unlock of their own account runs; a
# password or MFA reset of their own account waits for a technician's approval.
[[rules]]
id = "users-unlock-themselves"
description = "A user may have their own account unlocked"
actions = ["identity.unlock"]
effect = "allow"
[rules.when]
requester_kinds = ["end_user"]
self_service = true

[[rules]]
id = "technicians-approve-self-service-resets"
description = "A technician approves a user's reset of their own password or MFA"
actions = ["identity.reset_password", "identity.reset_mfa"]
effect = "approve"
approvers = [{ role = "msp.tech" }]
[rules.when]
requester_kinds = ["end_user"]
self_service = true

# Access to a group or a shared mailbox waits for an MSP lead. (A mailbox grant's target is the
# mailbox, so it is never "self-service"; the pipeline only ever grants to the requester.)
[[rules]]
id = "leads-approve-group-access"
description = "An MSP lead approves a user's request to join a group"
actions = ["identity.add_to_group"]
effect = "approve"
approvers = [{ role = "msp.lead" }]
[rules.when]
requester_kinds = ["end_user"]
self_service = true

[[rules]]
id = "leads-approve-mailbox-access"
description = "An MSP lead approves a user's request for a shared mailbox"
actions = ["identity.grant_mailbox_access"]
effect = "approve"
approvers = [{ role = "msp.lead" }]
[rules.when]
requester_kinds = ["end_user"]

# New starters and leavers, asked for by a tenant's authorised contact: every step on another
# person's account waits for an MSP lead (the steps that can run at once are asked at once).
[[rules]]
id = "leads-approve-starters-and-leavers"
description = "An MSP lead approves each step of an onboarding or an offboarding"
actions = [
  "identity.create_user", "identity.assign_license", "identity.add_to_group",
  "rmm.tag_device", "psa.create_contact", "docs.upsert_user_asset", "docs.store_password",
  "messaging.send", "identity.disable", "identity.revoke_sessions", "identity.reset_password",
  "identity.reset_mfa", "identity.remove_all_groups", "identity.remove_all_licenses",
  "m365.convert_to_shared", "m365.set_forwarding", "m365.set_auto_reply", "m365.hide_from_gal",
  "identity.grant_mailbox_access", "psa.deactivate_contact", "docs.archive_asset",
]
effect = "approve"
approvers = [{ role = "msp.lead" }]
[rules.when]
requester_kinds = ["end_user"]
self_service = false

# A user's own device: the read-only connectivity check runs, and so does the DNS flush it
# calls for.
[[rules]]
id = "users-diagnose-their-device"
description = "A user's ticket may run the connectivity check and the DNS cache flush"
actions = ["rmm.run_script"]
effect = "allow"
[rules.when]
requester_kinds = ["end_user"]
params = [{ path = "script", in = ["Test app connectivity", "Flush DNS cache"] }]

# A technician may take back the access stackhand gave (`stackhand undo <run>`).
[[rules]]
id = "technicians-undo-access"
description = "A technician may undo a group or mailbox grant"
actions = ["identity.add_to_group", "identity.grant_mailbox_access"]
effect = "allow"
[rules.when]
requester_kinds = ["technician"]
operation = "undo"

# stackhand itself documents, closes and routes tickets, and tells users.
[[rules]]
id = "stackhand-keeps-tickets"
description = "The agent notes, closes and reassigns PSA tickets, and tells users"
actions = ["psa.add_note", "psa.close", "psa.reassign", "messaging.send"]
effect = "allow"
[rules.when]
requester_kinds = ["agent"]
"#;

/// Start the simulators of `world_file` (default: the built-in world), write the deployment to
/// `out`, build every tenant's connectors from it and check their health against the
/// simulators. With `check`, stop there (exit 1 if a connector is unhealthy); else serve until
/// Ctrl-C.
pub async fn run(out: &Path, world_file: Option<&Path>, check: bool) -> Result<ExitCode> {
    let world = match world_file {
        Some(path) => World::from_path(path)?,
        None => World::builtin().clone(),
    };
    let sims = SimulatedWorld::start(&world, Faults::default())
        .await
        .context("starting the simulators")?;
    let config = write_deployment(&sims, out)?;

    println!(
        "simulators of {} (world: {}):",
        world.msp.name,
        world_file.map_or("built-in".into(), |p| p.display().to_string())
    );
    for (vendor, url) in sims.urls() {
        println!("  {vendor:<12} {url}");
    }
    let loaded = LoadedConfig::load(&config).map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let registry = default_registry();
    let composer = Composer::new(&registry);
    composer
        .policy(&loaded, &loaded.config.staff_roles())
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let tenants = composer
        .tenants(&loaded)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let mut unhealthy = 0;
    for tenant in &tenants {
        let people = world
            .tenant(tenant.tenant.id.as_str())
            .map_or(0, |t| t.staff().count());
        println!("tenant {} ({people} staff):", tenant.tenant.id);
        for connector in tenant.connectors.all() {
            let vendor = &connector.info().vendor;
            match connector.health().await {
                Ok(health) if health.healthy => println!("  {vendor:<12} ok: {}", health.detail),
                Ok(health) => {
                    unhealthy += 1;
                    println!("  {vendor:<12} unhealthy: {}", health.detail);
                }
                Err(err) => {
                    unhealthy += 1;
                    println!("  {vendor:<12} error: {}", err.message());
                }
            }
        }
    }
    println!("deployment: {}", config.display());
    if check {
        return Ok(if unhealthy == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    println!(
        "in another shell, from {dir}: stackhand config check, stackhand act --tenant contoso-law \
         --as {tech} --action identity.unlock --params '{{\"user\": \"pshah@contosolaw.com\"}}', \
         stackhand runs start <run file>\nCtrl-C stops the simulators.",
        dir = out.display(),
        tech = world
            .msp
            .technicians
            .iter()
            .find(|t| t.active)
            .map_or_else(|| "<technician>".to_string(), |t| t.email(&world.msp)),
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(ExitCode::SUCCESS)
}

/// Write to `out` a deployment for `sims`: stackhand.toml with its tenants, staff and store,
/// the starter policy (kept when it exists, so an edited policy survives a restart), the
/// tenants' credential files and the store's keys. Answers the path of stackhand.toml.
pub(crate) fn write_deployment(sims: &SimulatedWorld, out: &Path) -> Result<std::path::PathBuf> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let policy = out.join("policy.toml");
    if !policy.exists() {
        std::fs::write(&policy, STARTER_POLICY)
            .with_context(|| format!("writing {}", policy.display()))?;
    }
    let config = sims
        .write_deployment(out, "policy.toml")
        .with_context(|| format!("writing the deployment to {}", out.display()))?;
    stackhand_runner::append_local_store(&config)
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    Ok(config)
}
