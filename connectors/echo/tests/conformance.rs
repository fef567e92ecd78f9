//! The testkit's conformance suite, run against the Echo connector through `Registry::build`.

use async_trait::async_trait;
use serde_json::{Value, json};
use stackhand_core::{
    ActionId, ActionRequest, Connector, Error, IdempotencyKey, Principal, Registry, Result,
    TenantId, Typed,
};
use stackhand_echo::Retag;
use stackhand_testkit::Spec;
use stackhand_testkit::conformance::{
    self, Fixture, Harness, PagingCase, PlanCase, Probe, Route, Trial, TrialOutcome,
};

const API_KEY: &str = "echo-api-key-for-conformance-3b9e";

fn device(id: &str, tags: &[&str]) -> Value {
    json!({"id": id, "name": format!("LAPTOP-{id}"), "tags": tags, "online": true})
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

struct EchoHarness;

#[async_trait]
impl Harness for EchoHarness {
    fn register(&self, registry: &mut Registry) {
        stackhand_echo::register(registry);
    }

    fn vendor(&self) -> &'static str {
        stackhand_echo::VENDOR
    }

    fn config(&self, server_url: &str) -> Value {
        json!({
            "base_url": server_url,
            "api_key": {"file": "echo.key"},
            "http": {"retry": {"max_attempts": 3, "min_delay_ms": 1, "max_delay_ms": 5}},
        })
    }

    fn secret_files(&self) -> Vec<(String, String)> {
        vec![("echo.key".into(), format!("{API_KEY}\n"))]
    }

    /// The API key is the only secret, and it is a secret file's contents.
    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }

    fn probe(&self, _server_url: &str) -> Probe {
        Probe::new(Fixture::json(
            Route::get("/v1/devices/d1"),
            device("d1", &["vip"]),
        ))
    }

    async fn run_probe(&self, connector: &dyn Connector) -> Result<()> {
        let rmm = connector.rmm().ok_or_else(|| Error::unsupported("rmm"))?;
        rmm.get_device("d1").await.map(drop)
    }

    /// Echo's envelope. The vendor documents only the code `tag_limit`; the others are
    /// placeholders, as the kind comes from the status.
    fn error_body(&self, status: u16) -> Value {
        json!({"code": format!("http_{status}"), "detail": format!("echo answered {status}")})
    }

    fn paging(&self, server_url: &str) -> Option<PagingCase> {
        let second = format!("{server_url}/v1/devices?q=LAPTOP&page=2");
        Some(
            PagingCase::new(3)
                .page(Fixture::json(
                    Route::get("/v1/devices").with_query("q", "LAPTOP"),
                    json!({"items": [device("d1", &[]), device("d2", &[])], "next": second}),
                ))
                .page(Fixture::json(
                    Route::get("/v1/devices")
                        .with_query("q", "LAPTOP")
                        .with_query("page", "2"),
                    json!({"items": [device("d3", &[])], "next": null}),
                )),
        )
    }

    async fn run_paging(&self, connector: &dyn Connector) -> Result<usize> {
        let rmm = connector.rmm().ok_or_else(|| Error::unsupported("rmm"))?;
        Ok(rmm.find_devices("LAPTOP").await?.len())
    }

    fn plan_cases(&self, _server_url: &str) -> Vec<PlanCase> {
        let tag = stackhand_core::actions::builtin()
            .get(&ActionId::from_static("rmm.tag_device"))
            .expect("core has rmm.tag_device")
            .clone();
        let read_d1 = Fixture::json(Route::get("/v1/devices/d1"), device("d1", &["vip"]));
        vec![
            PlanCase::new(
                "tag a device",
                tag,
                request("rmm.tag_device", json!({"device": "d1", "tag": "gold"})),
            )
            .fixture(read_d1.clone()),
            PlanCase::new(
                "retag a device",
                Typed::shared(Retag),
                request(
                    "echo.retag",
                    json!({"device": "d1", "from": "vip", "to": "gold"}),
                ),
            )
            .fixture(read_d1),
        ]
    }

    /// Echo publishes no OpenAPI document (a throw-away vendor), so there is nothing to check
    /// requests and fixtures against: the vendor-spec trial is skipped.
    fn spec(&self) -> Option<Spec> {
        None
    }
}

#[tokio::test]
async fn echo_conforms() {
    let report = conformance::run(&EchoHarness).await;
    assert_eq!(report.vendor, "echo");
    assert_eq!(report.trials.len(), Trial::ALL.len(), "{report}");
    for (trial, outcome) in &report.trials {
        match trial {
            // No OAuth2 token endpoint (a static key) and no vendor document.
            Trial::TokenSingleFlight | Trial::VendorSpec => {
                assert!(
                    matches!(outcome, TrialOutcome::Skipped(_)),
                    "{trial}:\n{report}"
                )
            }
            _ => assert_eq!(outcome, &TrialOutcome::Passed, "{trial}:\n{report}"),
        }
    }
    eprintln!("{report}");
}
