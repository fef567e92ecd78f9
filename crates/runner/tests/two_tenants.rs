//! Two tenants composed from one `stackhand.toml` through the registry, against the simulators:
//! Contoso Law on Microsoft 365 and ConnectWise, Globex on Okta and Autotask. Each runs one
//! identity action and one PSA action through an engine under the configured policy.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use stackhand_core::audit::MemoryAuditSink;
use stackhand_core::{
    ActionId, ActionRequest, Engine, IdempotencyKey, Principal, StepStatus, Submission, TenantId,
};
use stackhand_runner::{Composer, LoadedConfig, default_registry};
use stackhand_sim::autotask::{self, AutotaskSim};
use stackhand_sim::connectwise::{self, ConnectWiseSim};
use stackhand_sim::m365::{M365Sim, seed as m365_seed};
use stackhand_sim::okta::{self, OktaSim};
use stackhand_sim::{Faults, SimServer};

const STACKHAND_TOML: &str = r#"
policies = ["policy.toml"]
secrets_dir = "secrets"

[tenants.contoso-law]
name = "Contoso Law"
group = "legal"

[tenants.contoso-law.connectors.m365]
tenant_id = "{m365_tenant}"
base_url = "{m365}"
exchange_base_url = "{m365}"
authority_host = "{m365}"
auth = { method = "client_secret", client_id = "{m365_client}", client_secret = { file = "m365.secret" } }

[tenants.contoso-law.connectors.connectwise]
base_url = "{cw}"
company_id = "{cw_company}"
public_key = "{cw_public}"
private_key = { file = "connectwise.key" }
client_id = "{cw_client}"
company_identifier = "CONTOSO-LAW"

[tenants.globex]
name = "Globex"

[tenants.globex.connectors.okta]
base_url = "{okta}"
auth = { method = "api_token", api_token = { file = "okta.token" } }

[tenants.globex.connectors.autotask]
discovery_url = "{autotask}/ATServicesRest/"
username = "{at_user}"
integration_code = { file = "autotask.code" }
secret = { file = "autotask.secret" }
company_id = {at_company}
"#;

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

struct Sims {
    m365: (M365Sim, SimServer),
    connectwise: (ConnectWiseSim, SimServer),
    okta: (OktaSim, SimServer),
    autotask: (AutotaskSim, SimServer),
}

async fn start_sims() -> Sims {
    let m365 = M365Sim::seeded();
    let m365_server = m365.start(Faults::default()).await.unwrap();
    let cw = ConnectWiseSim::seeded();
    let cw_server = cw.start(Faults::default()).await.unwrap();
    let okta = OktaSim::seeded();
    let okta_server = okta.start(Faults::default()).await.unwrap();
    let at = AutotaskSim::seeded();
    let at_server = at.start(Faults::default()).await.unwrap();
    Sims {
        m365: (m365, m365_server),
        connectwise: (cw, cw_server),
        okta: (okta, okta_server),
        autotask: (at, at_server),
    }
}

/// `stackhand.toml`, the policy and each tenant's secret files in `dir`.
fn write_deployment(dir: &Path, sims: &Sims) {
    let text = STACKHAND_TOML
        .replace("{m365_tenant}", m365_seed::TENANT_ID)
        .replace("{m365_client}", m365_seed::CLIENT_ID)
        .replace("{m365}", &sims.m365.1.url())
        .replace("{cw}", &sims.connectwise.1.url())
        .replace("{cw_company}", connectwise::COMPANY_ID)
        .replace("{cw_public}", connectwise::PUBLIC_KEY)
        .replace("{cw_client}", connectwise::CLIENT_ID)
        .replace("{okta}", &sims.okta.1.url())
        .replace("{autotask}", &sims.autotask.1.url())
        .replace("{at_user}", autotask::API_USER)
        .replace("{at_company}", &autotask::GLOBEX_COMPANY_ID.to_string());
    std::fs::write(dir.join("stackhand.toml"), text).unwrap();
    std::fs::write(dir.join("policy.toml"), POLICY).unwrap();
    let secrets = [
        ("contoso-law", "m365.secret", m365_seed::CLIENT_SECRET),
        ("contoso-law", "connectwise.key", connectwise::PRIVATE_KEY),
        ("globex", "okta.token", okta::GLOBEX_API_TOKEN),
        ("globex", "autotask.code", autotask::INTEGRATION_CODE),
        ("globex", "autotask.secret", autotask::API_SECRET),
    ];
    for (tenant, name, value) in secrets {
        let tenant_dir = dir.join("secrets").join(tenant);
        std::fs::create_dir_all(&tenant_dir).unwrap();
        std::fs::write(tenant_dir.join(name), format!("{value}\n")).unwrap();
    }
}

async fn engine_from(dir: &Path) -> Engine {
    let loaded = LoadedConfig::load(&dir.join("stackhand.toml")).unwrap();
    let registry = default_registry();
    let composer = Composer::new(&registry);
    let policy = composer.policy(&loaded, &[]).unwrap();
    let engine = Engine::builder(Arc::new(policy), Arc::new(MemoryAuditSink::new()))
        .staff(stackhand_testkit::writes::test_staff())
        .build();
    for composed in composer.tenants(&loaded).await.unwrap() {
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
async fn two_tenants_from_one_file_each_act_through_their_own_connectors() {
    let sims = start_sims().await;
    let dir = tempfile::tempdir().unwrap();
    write_deployment(dir.path(), &sims);
    let engine = engine_from(dir.path()).await;

    // Contoso Law: Microsoft 365 and ConnectWise.
    let contoso = TenantId::new("contoso-law").unwrap();
    let vendors: Vec<String> = engine
        .connectors(&contoso)
        .unwrap()
        .infos()
        .into_iter()
        .map(|i| i.vendor)
        .collect();
    assert_eq!(vendors, ["connectwise", "m365"]);
    run(
        &engine,
        "contoso-law",
        "identity.revoke_sessions",
        json!({"user": m365_seed::users::DANIEL}),
    )
    .await;
    let revoked = sims.m365.1.recorder().requests().into_iter().any(|r| {
        r.method == "POST"
            && r.path.ends_with(&format!(
                "/users/{}/revokeSignInSessions",
                m365_seed::users::DANIEL
            ))
    });
    assert!(revoked, "the M365 simulator saw the revocation");

    let cw_ticket = sims
        .connectwise
        .0
        .tickets()
        .into_iter()
        .find(|t| t.company_id == connectwise::seed::CONTOSO_LAW && !t.closed_flag)
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
    let globex = TenantId::new("globex").unwrap();
    let vendors: Vec<String> = engine
        .connectors(&globex)
        .unwrap()
        .infos()
        .into_iter()
        .map(|i| i.vendor)
        .collect();
    assert_eq!(vendors, ["autotask", "okta"]);
    run(
        &engine,
        "globex",
        "identity.unlock",
        json!({"user": okta::ids::FRANK}),
    )
    .await;
    let frank = sims.okta.0.user(okta::ids::FRANK).unwrap();
    assert_eq!(frank.status, okta::UserStatus::Active, "Frank is unlocked");

    let at_ticket = sims
        .autotask
        .0
        .tickets()
        .into_iter()
        .find(|t| t.company_id == autotask::GLOBEX_COMPANY_ID && t.status != "Complete")
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
    assert!(!err.to_string().contains(m365_seed::CLIENT_SECRET));
}
