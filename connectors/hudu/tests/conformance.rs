//! The testkit's conformance suite, run against the Hudu connector through `Registry::build`.

use async_trait::async_trait;
use serde_json::{Value, json};
use stackhand_core::{
    ActionId, ActionRequest, Connector, Error, IdempotencyKey, Principal, Registry, Result,
    TenantId,
};
use stackhand_testkit::Spec;
use stackhand_testkit::conformance::{
    self, Fixture, Harness, PlanCase, Probe, Route, Trial, TrialOutcome,
};

const API_KEY: &str = "hudu-api-key-for-conformance-8d41";

/// An asset in the spec's `Asset` shape. The spec types a field's `value` as boolean and
/// marks nothing nullable, so the fixture has no fields and no nulls.
fn asset(id: u64, name: &str) -> Value {
    json!({
        "id": id, "company_id": 5, "asset_layout_id": 12, "slug": "jane-doe-3f9a1c",
        "name": name, "primary_mail": "jane@acme.com", "company_name": "Acme Corp",
        "object_type": "Asset", "asset_type": "People", "archived": false,
        "url": "https://docs.example-msp.com/a/jane-doe-3f9a1c",
        "created_at": "2025-03-01T14:10:00.000Z", "updated_at": "2025-03-01T14:10:00.000Z",
        "fields": [], "cards": []
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

fn builtin(id: &'static str) -> std::sync::Arc<dyn stackhand_core::Action> {
    stackhand_core::actions::builtin()
        .get(&ActionId::from_static(id))
        .unwrap_or_else(|| panic!("core has {id}"))
        .clone()
}

struct HuduHarness;

#[async_trait]
impl Harness for HuduHarness {
    fn register(&self, registry: &mut Registry) {
        stackhand_hudu::register(registry);
    }

    fn vendor(&self) -> &'static str {
        stackhand_hudu::VENDOR
    }

    fn config(&self, server_url: &str) -> Value {
        json!({
            "base_url": server_url,
            "api_key": {"file": "hudu.key"},
            "company": "Acme Corp",
            "http": {"retry": {"max_attempts": 3, "min_delay_ms": 1, "max_delay_ms": 5}},
        })
    }

    fn secret_files(&self) -> Vec<(String, String)> {
        vec![("hudu.key".into(), format!("{API_KEY}\n"))]
    }

    /// The API key is the only secret, and it is a secret file's contents. (No
    /// `docs.store_password` plan case: the specs trial checks a case's stored params against
    /// the input schema, which requires `password`, a secret parameter that is never stored;
    /// `tests/wiremock.rs` checks that the password shows nowhere.)
    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }

    /// `find_asset` resolves the company by name, then searches its assets.
    fn probe(&self, _server_url: &str) -> Probe {
        Probe::new(Fixture::json(
            Route::get("/api/v1/companies").with_query("name", "Acme Corp"),
            json!({"companies": [{"id": 5, "slug": "acme-corp", "name": "Acme Corp"}]}),
        ))
        .and(Fixture::json(
            Route::get("/api/v1/assets")
                .with_query("company_id", "5")
                .with_query("name", "Jane Doe"),
            json!({"assets": [asset(987, "Jane Doe")]}),
        ))
    }

    async fn run_probe(&self, connector: &dyn Connector) -> Result<()> {
        let docs = connector.docs().ok_or_else(|| Error::unsupported("docs"))?;
        docs.find_asset("Acme Corp", "Jane Doe").await.map(drop)
    }

    /// The swagger does not specify the body; `{"error": "<text>"}` is one of the shapes
    /// hudu.md lists.
    fn error_body(&self, status: u16) -> Value {
        json!({"error": format!("Hudu answered {status}")})
    }

    // No paging case: the one read of the `Documentation` capability (`find_asset`) returns
    // one asset, not a listing whose items could be counted. `tests/wiremock.rs` pins the
    // paging of `GET /assets` instead.

    fn plan_cases(&self, _server_url: &str) -> Vec<PlanCase> {
        vec![
            // The plan reads the asset as it stands (company by name, then its assets).
            PlanCase::new(
                "document a person",
                builtin("docs.upsert_user_asset"),
                request(
                    "docs.upsert_user_asset",
                    json!({"company": "Acme Corp", "name": "Jane Doe",
                           "fields": {"Job Title": "CFO"}}),
                ),
            )
            .fixture(Fixture::json(
                Route::get("/api/v1/companies").with_query("name", "Acme Corp"),
                json!({"companies": [{"id": 5, "slug": "acme-corp", "name": "Acme Corp"}]}),
            ))
            .fixture(Fixture::json(
                Route::get("/api/v1/assets")
                    .with_query("company_id", "5")
                    .with_query("name", "Jane Doe"),
                json!({"assets": [asset(987, "Jane Doe")]}),
            )),
            PlanCase::new(
                "archive a leaver",
                builtin("docs.archive_asset"),
                request("docs.archive_asset", json!({"asset": "987"})),
            ),
            PlanCase::new(
                "write an article",
                builtin("docs.create_article"),
                request(
                    "docs.create_article",
                    json!({"company": "Acme Corp", "title": "Reset MFA", "body": "<p>Steps</p>"}),
                ),
            ),
        ]
    }

    fn spec(&self) -> Option<Spec> {
        Spec::load("hudu.json").ok()
    }
}

#[tokio::test]
async fn hudu_conforms() {
    let report = conformance::run(&HuduHarness).await;
    assert_eq!(report.vendor, "hudu");
    assert_eq!(report.trials.len(), Trial::ALL.len(), "{report}");
    for (trial, outcome) in &report.trials {
        match trial {
            // A static key (no token endpoint) and no listing to page through.
            Trial::TokenSingleFlight | Trial::Paging => {
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
