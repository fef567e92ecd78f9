//! What the end-to-end tests share: the simulators of a world, a deployment written for them
//! under the starter policy, and one pass of the intake over every open ticket. Each test binary
//! uses its own part of it.
#![allow(dead_code)]

use std::path::Path;

use stackhand_core::TenantId;
use stackhand_runner::{
    Intake, LoadedConfig, Pipeline, TicketOutcome, append_local_store, default_registry,
};
use stackhand_sim::Faults;
use stackhand_sim::deployment::{STARTER_POLICY, SimulatedWorld};
use stackhand_sim::world::World;

/// The deployment written for `sims` in `dir` under the starter policy, its pipeline, and an
/// intake over it.
pub async fn open(dir: &Path, sims: &SimulatedWorld) -> (Pipeline, Intake) {
    std::fs::write(dir.join("policy.toml"), STARTER_POLICY).unwrap();
    let config = sims.write_deployment(dir, "policy.toml").unwrap();
    append_local_store(&config).unwrap();
    let loaded = LoadedConfig::load(&config).unwrap();
    let pipeline = Pipeline::open(&loaded, &default_registry()).await.unwrap();
    let intake = Intake::new(pipeline.clone(), "test", std::time::Duration::from_secs(60));
    (pipeline, intake)
}

/// The simulators, the deployment's directory and pipeline, and what one pass of the intake
/// did with every open ticket.
pub struct FirstPass {
    pub sims: SimulatedWorld,
    pub dir: tempfile::TempDir,
    pub pipeline: Pipeline,
    pub outcomes: Vec<TicketOutcome>,
    /// Requests Microsoft 365 had received before the pass.
    pub before: usize,
}

/// The simulators of `world` and one pass of the intake over its open tickets.
pub async fn first_pass(world: &World) -> FirstPass {
    pass(start(world).await).await
}

/// The simulators of `world`, seeded and listening.
pub async fn start(world: &World) -> SimulatedWorld {
    SimulatedWorld::start(world, Faults::default())
        .await
        .unwrap()
}

/// A deployment for `sims` and one pass of its intake over their open tickets.
pub async fn pass(sims: SimulatedWorld) -> FirstPass {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, intake) = open(dir.path(), &sims).await;
    let before = sims.m365.1.recorder().requests().len();
    let (_, outcomes) = intake.once().await.unwrap();
    FirstPass {
        sims,
        dir,
        pipeline,
        outcomes,
        before,
    }
}

/// The outcome of the ticket with this subject.
pub fn find(outcomes: &[TicketOutcome], subject: &str) -> TicketOutcome {
    outcomes
        .iter()
        .find(|o| o.subject == subject)
        .unwrap_or_else(|| panic!("no outcome for {subject:?}"))
        .clone()
}

pub fn contoso() -> TenantId {
    TenantId::new("contoso-law").unwrap()
}
