//! `stackhand sim`: the six vendor simulators of one world on loopback, and a deployment
//! (`stackhand.toml`, a starter policy, the tenants' credential files) pointing at them.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use stackhand_runner::{Composer, LoadedConfig, default_registry};
use stackhand_sim::Faults;
use stackhand_sim::deployment::{STARTER_POLICY, SimulatedWorld};
use stackhand_sim::world::World;

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
