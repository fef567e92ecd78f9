//! The seed world composed from one `stackhand.toml` through the registry, against all six
//! simulators: every tenant of `crates/sim/world.toml` gets its identity provider and PSA (Contoso
//! Law on Microsoft 365 and ConnectWise, Globex on Okta and Autotask) plus NinjaOne and Hudu.
//! Each tenant acts through its own connectors under the configured policy, and a walk over the
//! world checks that, for every member of staff, the identity provider, the PSA contact, the RMM
//! device and the documentation asset agree on who they are.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use stackhand_core::audit::MemoryAuditSink;
use stackhand_core::{
    ActionId, ActionRequest, Engine, IdempotencyKey, Principal, StepStatus, Submission, TenantId,
};
use stackhand_runner::{ComposedTenant, Composer, LoadedConfig, default_registry};
use stackhand_sim::Faults;
use stackhand_sim::deployment::SimulatedWorld;
use stackhand_sim::okta;
use stackhand_sim::world::World;

const POLICY: &str = r#"
[scope]
global = true

[[rules]]
id = "technicians-do-routine-work"
description = "Technicians may revoke sessions, unlock accounts and note tickets"
actions = ["identity.revoke_sessions", "identity.unlock", "psa.add_note"]
effect = "allow"
[rules.when]
requester_kinds = ["technician"]
"#;

fn world() -> &'static World {
    World::builtin()
}

async fn start_sims() -> SimulatedWorld {
    SimulatedWorld::start(world(), Faults::default())
        .await
        .unwrap()
}

/// `stackhand.toml` for every tenant of the world, the policy and each tenant's secret files.
fn write_deployment(dir: &Path, sims: &SimulatedWorld) {
    std::fs::write(dir.join("policy.toml"), POLICY).unwrap();
    sims.write_deployment(dir, "policy.toml").unwrap();
}

async fn compose(dir: &Path) -> (LoadedConfig, Vec<ComposedTenant>) {
    let loaded = LoadedConfig::load(&dir.join("stackhand.toml")).unwrap();
    let registry = default_registry();
    let tenants = Composer::new(&registry).tenants(&loaded).await.unwrap();
    (loaded, tenants)
}

async fn engine_from(dir: &Path) -> Engine {
    let (loaded, tenants) = compose(dir).await;
    let registry = default_registry();
    let policy = Composer::new(&registry).policy(&loaded, &[]).unwrap();
    let engine = Engine::builder(Arc::new(policy), Arc::new(MemoryAuditSink::new()))
        .staff(stackhand_testkit::writes::test_staff())
        .build();
    for composed in tenants {
        engine
            .add_tenant(composed.tenant, composed.connectors)
            .unwrap();
    }
    engine
}

async fn run(engine: &Engine, tenant: &str, action: &'static str, params: Value) -> Submission {
    let request = ActionRequest::new(
        IdempotencyKey::new(format!("{tenant}-{action}")).unwrap(),
        TenantId::new(tenant).unwrap(),
        ActionId::from_static(action),
        &params,
        Principal::technician("tech@msp.example", &[]),
    )
    .unwrap()
    .with_reason("two tenants from one stackhand.toml");
    let submission = engine.submit(request).await.unwrap();
    let receipt = submission
        .receipt()
        .unwrap_or_else(|| panic!("{tenant} {action} did not execute: {submission:?}"));
    assert!(
        matches!(
            receipt.outcome.status,
            StepStatus::Verified | StepStatus::Succeeded
        ),
        "{tenant} {action}: {:?} {:?}",
        receipt.outcome.status,
        receipt.failure
    );
    submission
}

#[tokio::test]
async fn each_tenant_of_the_world_acts_through_its_own_connectors() {
    let sims = start_sims().await;
    let dir = tempfile::tempdir().unwrap();
    write_deployment(dir.path(), &sims);
    let engine = engine_from(dir.path()).await;

    // Contoso Law: Microsoft 365 and ConnectWise.
    let contoso_law = world().tenant("contoso-law").unwrap();
    let daniel = contoso_law.person("daniel.reyes").unwrap().id.as_str();
    let contoso_company = contoso_law.psa_company.id;
    let contoso = TenantId::new("contoso-law").unwrap();
    let vendors: Vec<String> = engine
        .connectors(&contoso)
        .unwrap()
        .infos()
        .into_iter()
        .map(|i| i.vendor)
        .collect();
    assert_eq!(vendors, ["connectwise", "hudu", "m365", "ninjaone"]);
    run(
        &engine,
        "contoso-law",
        "identity.revoke_sessions",
        json!({"user": daniel}),
    )
    .await;
    let revoked = sims.m365.1.recorder().requests().into_iter().any(|r| {
        r.method == "POST"
            && r.path
                .ends_with(&format!("/users/{}/revokeSignInSessions", daniel))
    });
    assert!(revoked, "the M365 simulator saw the revocation");

    let cw_ticket = sims
        .connectwise
        .0
        .tickets()
        .into_iter()
        .find(|t| t.company_id == contoso_company && !t.closed_flag)
        .expect("an open Contoso Law ticket");
    let cw_id = cw_ticket.id;
    run(
        &engine,
        "contoso-law",
        "psa.add_note",
        json!({"ticket": cw_id.to_string(), "text": "Sessions revoked.", "visibility": "internal"}),
    )
    .await;
    assert!(
        sims.connectwise
            .0
            .notes(cw_id)
            .iter()
            .any(|n| n.text == "Sessions revoked."),
        "the note is on the ConnectWise ticket"
    );

    // Globex: Okta and Autotask.
    let globex_world = world().tenant("globex").unwrap();
    let frank = globex_world.person("frank.grimes").unwrap().id.as_str();
    let globex_company = globex_world.psa_company.id;
    let globex = TenantId::new("globex").unwrap();
    let vendors: Vec<String> = engine
        .connectors(&globex)
        .unwrap()
        .infos()
        .into_iter()
        .map(|i| i.vendor)
        .collect();
    assert_eq!(vendors, ["autotask", "hudu", "ninjaone", "okta"]);
    run(&engine, "globex", "identity.unlock", json!({"user": frank})).await;
    let frank = sims.okta.0.user(frank).unwrap();
    assert_eq!(frank.status, okta::UserStatus::Active, "Frank is unlocked");

    let at_ticket = sims
        .autotask
        .0
        .tickets()
        .into_iter()
        .find(|t| t.company_id == globex_company && t.status != "Complete")
        .expect("an open Globex ticket");
    run(
        &engine,
        "globex",
        "psa.add_note",
        json!({"ticket": at_ticket.id.to_string(), "text": "Account unlocked.", "visibility": "internal"}),
    )
    .await;
    assert!(
        sims.autotask
            .0
            .notes(at_ticket.id)
            .iter()
            .any(|n| n.description == "Account unlocked."),
        "the note is on the Autotask ticket"
    );
}

#[tokio::test]
async fn a_typo_in_a_connector_table_names_the_file_the_key_and_the_nearest_key() {
    let sims = start_sims().await;
    let dir = tempfile::tempdir().unwrap();
    write_deployment(dir.path(), &sims);
    let path = dir.path().join("stackhand.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("company_identifier = ", "company_identifer = ");
    std::fs::write(&path, text).unwrap();
    let loaded = LoadedConfig::load(&path).unwrap();
    let registry = default_registry();
    let err = Composer::new(&registry)
        .tenants(&loaded)
        .await
        .expect_err("a typo is refused");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("tenants.contoso-law.connectors.connectwise"),
        "{message}"
    );
    assert!(
        message.contains("did you mean \"company_identifier\""),
        "{message}"
    );
    assert_eq!(
        err.context_value("key"),
        Some("tenants.contoso-law.connectors.connectwise.company_identifer")
    );
}

#[tokio::test]
async fn a_tenant_cannot_name_another_tenants_secret_file() {
    let sims = start_sims().await;
    let dir = tempfile::tempdir().unwrap();
    write_deployment(dir.path(), &sims);
    let path = dir.path().join("stackhand.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "api_token = { file = \"okta.token\" }",
        "api_token = { file = \"../contoso-law/m365.secret\" }",
    );
    std::fs::write(&path, text).unwrap();
    let loaded = LoadedConfig::load(&path).unwrap();
    let registry = default_registry();
    let err = Composer::new(&registry)
        .tenants(&loaded)
        .await
        .expect_err("another tenant's secret is refused");
    assert_eq!(err.kind(), stackhand_core::ErrorKind::Forbidden, "{err}");
    let m365 = world()
        .tenant("contoso-law")
        .unwrap()
        .m365
        .as_ref()
        .unwrap();
    assert!(!err.to_string().contains(&m365.client_secret));
}

#[tokio::test]
async fn every_member_of_staff_is_the_same_person_in_identity_psa_rmm_and_docs() {
    let sims = start_sims().await;
    let dir = tempfile::tempdir().unwrap();
    write_deployment(dir.path(), &sims);
    let (_, tenants) = compose(dir.path()).await;
    assert_eq!(tenants.len(), world().tenants.len());
    let mut people = 0;
    for composed in &tenants {
        let tenant = world()
            .tenant(composed.tenant.id.as_str())
            .expect("a composed tenant is a world tenant");
        let set = &composed.connectors;
        let (idp, psa, rmm, docs) = (
            set.identity().unwrap(),
            set.psa().unwrap(),
            set.rmm().unwrap(),
            set.docs().unwrap(),
        );
        for person in tenant.staff() {
            let email = person.email(tenant);
            let name = person.display_name();
            let who = format!("{} of {}", person.key, tenant.key);

            let user = idp.get_user(&email).await.unwrap_or_else(|e| {
                panic!("{who}: the identity provider does not know {email}: {e}")
            });
            assert_eq!(user.id, person.id, "{who}: identity object id");
            assert_eq!(user.display_name, name, "{who}: identity display name");
            assert!(
                user.login.eq_ignore_ascii_case(&email),
                "{who}: sign-in {}",
                user.login
            );
            if let Some(mail) = &user.email {
                assert!(
                    mail.eq_ignore_ascii_case(&email),
                    "{who}: identity mail {mail}"
                );
            }
            assert_eq!(user.job_title, person.title, "{who}: job title");

            let contact = psa
                .find_contact(&email)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{who}: the PSA has no contact for {email}"));
            assert_eq!(
                contact.id,
                person.contact_id.unwrap().to_string(),
                "{who}: contact id"
            );
            assert_eq!(contact.name, name, "{who}: contact name");
            assert_eq!(
                contact.active,
                person.status.is_current(),
                "{who}: contact active"
            );

            let expected: Vec<&str> = tenant
                .devices_of(&person.key)
                .map(|d| d.name.as_str())
                .collect();
            assert!(
                !expected.is_empty(),
                "{who}: the world gives every member of staff a device"
            );
            let found = rmm.find_devices(person.username()).await.unwrap();
            for device in &expected {
                let device = found.iter().find(|d| d.name == *device).unwrap_or_else(|| {
                    panic!(
                        "{who}: searching the RMM for {} misses {device}: {found:?}",
                        person.username()
                    )
                });
                // Search matches carry no last user (NinjaOne's `DeviceSearchMatch`); the
                // device detail does.
                let detail = rmm.get_device(&device.id).await.unwrap();
                let last = detail.last_user.as_deref().unwrap_or_default();
                assert!(
                    last.to_lowercase()
                        .ends_with(&person.username().to_lowercase()),
                    "{who}: {} was last used by {last}",
                    device.name
                );
            }

            let asset = docs
                .find_asset(&tenant.company, &name)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{who}: Hudu has no asset named {name}"));
            assert_eq!(
                asset.id,
                person.asset_id.unwrap().to_string(),
                "{who}: asset id"
            );
            assert_eq!(
                asset.fields.get("Email"),
                Some(&email),
                "{who}: asset email"
            );
            assert!(!asset.archived, "{who}: asset archived");
            people += 1;
        }
    }
    assert_eq!(
        people,
        world()
            .tenants
            .iter()
            .map(|t| t.staff().count())
            .sum::<usize>()
    );
    assert!(people >= 15, "the world has its people: {people}");
}
