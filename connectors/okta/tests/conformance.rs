//! The testkit's conformance suite, against the connector authenticated with OAuth 2.0
//! (`private_key_jwt`), and once more with an SSWS token.

mod common;

use async_trait::async_trait;
use common::*;
use serde_json::{Value, json};
use stackhand_core::{
    ActionId, ActionRequest, Connector, IdempotencyKey, Principal, Registry, Result, TenantId,
    UserQuery,
};
use stackhand_testkit::Spec;
use stackhand_testkit::conformance::{
    self, Fixture, Harness, PagingCase, PlanCase, Probe, Route, TENANT, TokenEndpoint,
};

const ACCESS_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.conformance-access-token-okta";
const CLIENT_ID: &str = "0oa1globexconformance";
const TOKEN_PATH: &str = "/oauth2/v1/token";
const KEY_FILE: &str = "okta.pem";
const TOKEN_FILE: &str = "okta.token";
const LOGIN: &str = "jane.doe@globex.example";
const ID: &str = "00u1janedoe000000001";

fn conformance_tenant() -> TenantId {
    TenantId::new(TENANT).expect("tenant")
}

struct OktaHarness {
    oauth: bool,
}

fn request(action: &'static str) -> ActionRequest {
    ActionRequest::new(
        IdempotencyKey::new("ticket-1001").expect("key"),
        conformance_tenant(),
        ActionId::from_static(action),
        &json!({"user": LOGIN}),
        Principal::technician("tech-1", &["helpdesk"]),
    )
    .expect("request")
}

/// The reads a plan makes, for a user in `status`.
fn user_reads(status: &str) -> Vec<Fixture> {
    vec![
        Fixture::json(
            Route::get(&format!("/api/v1/users/{LOGIN}")),
            user(ID, LOGIN, status, "OKTA"),
        ),
        Fixture::json(
            Route::get(&format!("/api/v1/users/{ID}")),
            user(ID, LOGIN, status, "OKTA"),
        ),
        Fixture::json(Route::get(&format!("/api/v1/users/{ID}/roles")), json!([])),
        Fixture::json(
            Route::get(&format!("/api/v1/users/{ID}/groups")),
            json!([group("00g1globexsales00003", "Sales", "OKTA_GROUP")]),
        ),
        Fixture::json(
            Route::get(&format!("/api/v1/users/{ID}/factors")),
            json!([]),
        ),
    ]
}

#[async_trait]
impl Harness for OktaHarness {
    fn register(&self, registry: &mut Registry) {
        stackhand_okta::register(registry);
    }

    fn vendor(&self) -> &'static str {
        stackhand_okta::VENDOR
    }

    fn config(&self, server_url: &str) -> Value {
        let auth = if self.oauth {
            json!({"method": "private_key_jwt", "client_id": CLIENT_ID, "key_id": "sh-test-key",
                   "private_key_pem": {"file": KEY_FILE}})
        } else {
            json!({"method": "api_token", "api_token": {"file": TOKEN_FILE}})
        };
        json!({
            "base_url": server_url,
            "token_url": format!("{server_url}{TOKEN_PATH}"),
            "auth": auth,
            "http": {"retry": {"max_attempts": 3, "min_delay_ms": 1, "max_delay_ms": 5}},
        })
    }

    fn secret_files(&self) -> Vec<(String, String)> {
        if self.oauth {
            vec![(KEY_FILE.into(), TEST_PRIVATE_KEY.into())]
        } else {
            vec![(TOKEN_FILE.into(), API_TOKEN.into())]
        }
    }

    fn secrets(&self) -> Vec<String> {
        vec![
            API_TOKEN.to_string(),
            ACCESS_TOKEN.to_string(),
            TEST_PRIVATE_KEY.to_string(),
        ]
    }

    fn token_endpoint(&self) -> Option<TokenEndpoint> {
        self.oauth
            .then(|| TokenEndpoint::bearer(TOKEN_PATH, ACCESS_TOKEN))
    }

    fn probe(&self, _server_url: &str) -> Probe {
        Probe::new(Fixture::json(
            Route::get(&format!("/api/v1/users/{LOGIN}")),
            user(ID, LOGIN, "ACTIVE", "OKTA"),
        ))
        .and(Fixture::json(
            Route::get(&format!("/api/v1/users/{ID}/roles")),
            json!([]),
        ))
    }

    async fn run_probe(&self, connector: &dyn Connector) -> Result<()> {
        connector
            .identity()
            .expect("okta offers identity")
            .get_user(LOGIN)
            .await
            .map(drop)
    }

    fn error_body(&self, status: u16) -> Value {
        okta_error(
            "E0000099",
            &format!("Simulated failure with HTTP {status}"),
            None,
        )
    }

    fn paging(&self, server_url: &str) -> Option<PagingCase> {
        let search = "profile.email+eq+%22jane.doe%40globex.example%22";
        let page = |after: &str| {
            format!(
                "<{server_url}/api/v1/users?search={search}&limit=200&after={after}>; rel=\"next\""
            )
        };
        Some(
            PagingCase::new(3)
                .page(
                    Fixture::json(
                        Route::get("/api/v1/users"),
                        json!([user(ID, LOGIN, "ACTIVE", "OKTA")]),
                    )
                    .with_header("link", &page("00u1")),
                )
                .page(
                    Fixture::json(
                        Route::get("/api/v1/users").with_query("after", "00u1"),
                        json!([user(
                            "00u2janedoe000000002",
                            "jane.doe2@globex.example",
                            "ACTIVE",
                            "OKTA"
                        )]),
                    )
                    .with_header("link", &page("00u2")),
                )
                .page(Fixture::json(
                    Route::get("/api/v1/users").with_query("after", "00u2"),
                    json!([user(
                        "00u3janedoe000000003",
                        "jane.doe3@globex.example",
                        "STAGED",
                        "OKTA"
                    )]),
                )),
        )
    }

    async fn run_paging(&self, connector: &dyn Connector) -> Result<usize> {
        let users = connector
            .identity()
            .expect("okta offers identity")
            .find_users(&UserQuery::Email(LOGIN.into()))
            .await?;
        Ok(users.len())
    }

    fn plan_cases(&self, _server_url: &str) -> Vec<PlanCase> {
        let builtin = stackhand_core::actions::builtin();
        let mut cases: Vec<PlanCase> =
            ["identity.unlock", "identity.reset_mfa", "identity.disable"]
                .into_iter()
                .map(|id| {
                    let action = builtin
                        .get(&ActionId::from_static(id))
                        .expect("built-in action")
                        .clone();
                    PlanCase::new(id, action, request(id))
                })
                .collect();
        for id in [
            "okta.suspend",
            "okta.unsuspend",
            "okta.deactivate",
            "okta.activate",
        ] {
            cases.push(PlanCase::connector_action(id, request(id)));
        }
        cases
            .into_iter()
            .map(|case| {
                // A status each action can start from.
                let status = match case.request.action.as_str() {
                    "identity.unlock" => "LOCKED_OUT",
                    "okta.unsuspend" => "SUSPENDED",
                    "okta.activate" => "STAGED",
                    _ => "ACTIVE",
                };
                user_reads(status)
                    .into_iter()
                    .fold(case, |case, fixture| case.fixture(fixture))
            })
            .collect()
    }

    fn spec(&self) -> Option<Spec> {
        Some(Spec::load("okta.yaml").expect("okta spec bundled"))
    }
}

#[tokio::test]
async fn conforms_with_oauth_private_key_jwt() {
    let report = conformance::run(&OktaHarness { oauth: true }).await;
    eprintln!("{report}");
    assert!(report.passed(), "{report}");
}

#[tokio::test]
async fn conforms_with_an_ssws_token() {
    let report = conformance::run(&OktaHarness { oauth: false }).await;
    eprintln!("{report}");
    assert!(report.passed(), "{report}");
}
