//! The testkit's conformance suite, run against the NinjaOne connector through
//! `Registry::build`, with OAuth 2.0 client credentials and the vendor document.

use async_trait::async_trait;
use serde_json::{Value, json};
use stackhand_core::{
    ActionId, ActionRequest, Connector, Error, IdempotencyKey, Principal, Registry, Result,
    TenantId,
};
use stackhand_testkit::Spec;
use stackhand_testkit::conformance::{
    self, Fixture, Harness, PlanCase, Probe, Route, TokenEndpoint, Trial, TrialOutcome,
};

const CLIENT_SECRET: &str = "ninjaone-client-secret-for-conformance-0b7e";
const ACCESS_TOKEN: &str = "ninjaone-access-token-for-conformance-64c1";
const SECRET_FILE: &str = "ninjaone.secret";
const TOKEN_PATH: &str = "/ws/oauth/token";
const ORG: u32 = 12;
/// An open alert's uid.
const ALERT: &str = "5f7e9a1b-3c2d-4e6f-8a0b-1c2d3e4f5a6b";

/// `GET /v2/device/{id}` of a Windows agent in the organisation (spec `Device`).
fn device(id: u32, tags: &[&str]) -> Value {
    json!({
        "id": id,
        "uid": "5b6c2c34-8f1e-4c7a-9a55-3f2b8e0d1a11",
        "organizationId": ORG,
        "locationId": 30,
        "nodeClass": "WINDOWS_WORKSTATION",
        "approvalStatus": "APPROVED",
        "offline": false,
        "displayName": "ACME-LT-042",
        "systemName": "ACME-LT-042",
        "lastContact": 1709301234.5,
        "tags": tags,
        "lastLoggedInUser": "ACME\\jdoe"
    })
}

fn request(action: &'static str, params: Value) -> ActionRequest {
    ActionRequest::new(
        IdempotencyKey::new("ticket-4711").unwrap(),
        TenantId::new(conformance::TENANT).unwrap(),
        ActionId::from_static(action),
        &params,
        Principal::technician("tech@msp.example", &[]),
    )
    .unwrap()
}

struct NinjaOneHarness;

#[async_trait]
impl Harness for NinjaOneHarness {
    fn register(&self, registry: &mut Registry) {
        stackhand_ninjaone::register(registry);
    }

    fn vendor(&self) -> &'static str {
        stackhand_ninjaone::VENDOR
    }

    fn config(&self, server_url: &str) -> Value {
        json!({
            "base_url": server_url,
            "token_url": format!("{server_url}{TOKEN_PATH}"),
            "organization_id": ORG,
            "auth": {"client_id": "acme-stackhand-app", "client_secret": {"file": SECRET_FILE}},
            "http": {"retry": {"max_attempts": 3, "min_delay_ms": 1, "max_delay_ms": 5}},
        })
    }

    fn secret_files(&self) -> Vec<(String, String)> {
        vec![(SECRET_FILE.into(), format!("{CLIENT_SECRET}\n"))]
    }

    /// The access token the token endpoint hands out.
    fn secrets(&self) -> Vec<String> {
        vec![ACCESS_TOKEN.to_string()]
    }

    fn token_endpoint(&self) -> Option<TokenEndpoint> {
        Some(TokenEndpoint::new(
            TOKEN_PATH,
            json!({"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600,
                   "scope": "monitoring management"}),
        ))
    }

    fn probe(&self, _server_url: &str) -> Probe {
        Probe::new(Fixture::json(
            Route::get("/v2/device/1234"),
            device(1234, &["vip"]),
        ))
    }

    async fn run_probe(&self, connector: &dyn Connector) -> Result<()> {
        let rmm = connector.rmm().ok_or_else(|| Error::unsupported("rmm"))?;
        rmm.get_device("1234").await.map(drop)
    }

    /// NinjaOne's envelope. It documents no codes beyond `FAILURE`; the kind comes from the
    /// status.
    fn error_body(&self, status: u16) -> Value {
        json!({"resultCode": "FAILURE",
               "errorMessage": format!("Simulated failure with HTTP {status}"),
               "incidentId": format!("incident-{status}")})
    }

    // No `paging`: the device search the connector uses is not paged.

    /// The built-in tag actions, and the connector's own (`ninjaone.*`).
    fn plan_cases(&self, _server_url: &str) -> Vec<PlanCase> {
        let builtin = stackhand_core::actions::builtin();
        let read = Fixture::json(Route::get("/v2/device/1234"), device(1234, &["vip"]));
        let mut cases: Vec<PlanCase> = ["rmm.tag_device", "rmm.untag_device"]
            .into_iter()
            .map(|id| {
                let action = builtin
                    .get(&ActionId::from_static(id))
                    .expect("core has the rmm tag actions")
                    .clone();
                PlanCase::new(
                    id,
                    action,
                    request(id, json!({"device": "1234", "tag": "vip"})),
                )
                .fixture(read.clone())
            })
            .collect();
        cases.push(
            PlanCase::connector_action(
                "ninjaone.reboot_device",
                request(
                    "ninjaone.reboot_device",
                    json!({"device": "1234", "mode": "FORCED", "reason": "Hung"}),
                ),
            )
            .fixture(read),
        );
        cases.push(
            PlanCase::connector_action(
                "ninjaone.reset_alert",
                request("ninjaone.reset_alert", json!({"alert": ALERT})),
            )
            .fixture(Fixture::json(
                Route::get("/v2/alerts").with_query("df", &format!("org = {ORG}")),
                json!([{"uid": ALERT, "deviceId": 1234, "message": "CPU above 90% for 15 minutes",
                        "severity": "MODERATE", "sourceType": "CONDITION_AGENT_CPU",
                        "createTime": 1709301234.0,
                        "device": {"id": 1234, "organizationId": ORG, "systemName": "ACME-LT-042"}}]),
            )),
        );
        cases
    }

    fn spec(&self) -> Option<Spec> {
        Some(Spec::load("ninjaone.yaml").expect("the NinjaOne document is bundled"))
    }
}

#[tokio::test]
async fn ninjaone_conforms() {
    let report = conformance::run(&NinjaOneHarness).await;
    eprintln!("{report}");
    assert_eq!(report.vendor, "ninjaone");
    assert_eq!(report.trials.len(), Trial::ALL.len(), "{report}");
    for (trial, outcome) in &report.trials {
        match trial {
            // NinjaOne's device search is not paged.
            Trial::Paging => assert!(
                matches!(outcome, TrialOutcome::Skipped(_)),
                "{trial}:\n{report}"
            ),
            _ => assert_eq!(outcome, &TrialOutcome::Passed, "{trial}:\n{report}"),
        }
    }
}
