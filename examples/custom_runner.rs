//! A runner built in code: two connectors (Okta and Autotask) registered by hand, built through
//! the registry for one tenant with credentials from the integrator's own secret store, an
//! engine on a SQLite store, and the ticket pipeline taking that tenant's tickets once.
//!
//! It runs against the simulators of the seed world, started in-process, so it needs nothing
//! else: `cargo run -p stackhand-examples --example custom_runner`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use async_trait::async_trait;
use secrecy::SecretString;
use serde_json::json;
use stackhand_core::audit::DerivedAuditKeys;
use stackhand_core::build::{SecretRef, SecretResolver};
use stackhand_core::directory::{MemoryStaffDirectory, RoleScope, StaffMember};
use stackhand_core::policy::PolicyLoader;
use stackhand_core::{BuildContext, ConnectorSet, Engine, Error, Registry, Tenant, TenantId};
use stackhand_runner::pipeline::TenantPipeline;
use stackhand_runner::{Deployment, Intake, Pipeline, RuleTriage, workflow};
use stackhand_sim::deployment::SimulatedWorld;
use stackhand_sim::world::World;
use stackhand_sim::{Faults, autotask};
use stackhand_store::Store;

/// The integrator's own secret store: here a map, in real life their vault's client. A tenant
/// reads only its own entries.
#[derive(Debug, Default)]
struct MySecrets(HashMap<(TenantId, String), String>);

#[async_trait]
impl SecretResolver for MySecrets {
    async fn resolve(
        &self,
        tenant: &TenantId,
        reference: &SecretRef,
    ) -> stackhand_core::Result<SecretString> {
        let SecretRef::Vault(name) = reference else {
            return Err(Error::forbidden(
                "this runner keeps every credential in its own store",
            ));
        };
        self.0
            .get(&(tenant.clone(), name.clone()))
            .map(|value| SecretString::from(value.clone()))
            .ok_or_else(|| Error::not_found(format!("no credential {name} for tenant {tenant}")))
    }
}

const POLICY: &str = r#"
[scope]
global = true

[[rules]]
id = "users-unlock-themselves"
actions = ["identity.unlock"]
effect = "allow"
[rules.when]
requester_kinds = ["end_user"]
self_service = true

[[rules]]
id = "stackhand-keeps-tickets"
actions = ["psa.add_note", "psa.close", "psa.reassign"]
effect = "allow"
[rules.when]
requester_kinds = ["agent"]
"#;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let world = World::builtin();
    let sims = SimulatedWorld::start(world, Faults::default()).await?;
    let tenant = TenantId::new("globex")?;
    let okta_token = world
        .tenant("globex")
        .and_then(|t| t.okta.as_ref())
        .map(|o| o.api_token.clone())
        .expect("the seed world's Globex is on Okta");

    // 1. Only the connectors this runner needs, registered by hand.
    let mut registry = Registry::new();
    stackhand_okta::register(&mut registry);
    stackhand_autotask::register(&mut registry);

    // 2. Credentials from the integrator's store; configuration as JSON, built through the
    //    registry exactly as `stackhand.toml` would be.
    let mut secrets = MySecrets::default();
    for (name, value) in [
        ("okta.token", okta_token.as_str()),
        ("autotask.code", autotask::INTEGRATION_CODE),
        ("autotask.secret", autotask::API_SECRET),
    ] {
        secrets
            .0
            .insert((tenant.clone(), name.into()), value.into());
    }
    let ctx = BuildContext::new(tenant.clone()).with_secrets(Arc::new(secrets));
    let okta = registry
        .build(
            &ctx,
            "okta",
            json!({
                "base_url": sims.okta.1.url(),
                "auth": { "method": "api_token", "api_token": { "vault": "okta.token" } },
            }),
        )
        .await?;
    let psa = registry
        .build(
            &ctx,
            "autotask",
            json!({
                "discovery_url": format!("{}/ATServicesRest/", sims.autotask.1.url()),
                "username": autotask::API_USER,
                "integration_code": { "vault": "autotask.code" },
                "secret": { "vault": "autotask.secret" },
                "company_id": world.tenant("globex").map(|t| t.psa_company.id).unwrap_or_default(),
            }),
        )
        .await?;

    // 3. The engine on a SQLite store: keys, approvals, caps, runs and the audit trail.
    let dir = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("runner.db").display()
    );
    let store = Arc::new(Store::connect(&url, DerivedAuditKeys::generate()).await?);
    let policy = PolicyLoader::new().add_str("policy.toml", POLICY).build()?;
    let staff = MemoryStaffDirectory::new()
        .with(StaffMember::technician("lead@msp.example").role("msp.lead", RoleScope::AllTenants));
    let engine = Engine::builder(Arc::new(policy), store.clone())
        .store(store.clone())
        .staff(Arc::new(staff))
        .build();
    engine.add_tenant(
        Tenant::new(tenant.clone(), "Globex Manufacturing"),
        ConnectorSet::new(tenant.clone()).with(okta)?.with(psa)?,
    )?;

    // 4. The pipeline: the built-in workflows and rule triage, tickets from Autotask.
    let deployment = Deployment::assemble(
        engine,
        store,
        [(tenant.clone(), Some("autotask".to_string()))],
    );
    let known: Vec<_> = stackhand_core::actions::builtin()
        .specs()
        .map(|s| s.id.clone())
        .collect();
    let part = TenantPipeline {
        workflows: workflow::builtin(&known)?,
        escalation: None,
        psa: "autotask".into(),
        ..TenantPipeline::default()
    };
    let pipeline = Pipeline::new(
        deployment,
        HashMap::from([(tenant.clone(), part)]),
        Arc::new(RuleTriage::builtin()),
    );
    let intake = Intake::new(pipeline, "custom-runner", Duration::from_secs(60));
    let (polled, outcomes) = intake.once().await?;
    println!("{} open tickets of {tenant}", polled[0].found);
    for outcome in outcomes {
        println!(
            "  {:>5} {:<52} {:?}",
            outcome.ticket, outcome.subject, outcome.resolution
        );
    }
    Ok(())
}
