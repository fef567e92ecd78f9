//! The testkit's conformance suite for the m365 connector, and building it through the
//! registry from a `stackhand.toml` section.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use stackhand_core::build::LocalSecrets;
use stackhand_core::{
    ActionId, ActionRequest, BuildContext, Category, Connector, ErrorKind, IdempotencyKey,
    Principal, Registry, Result, TenantId, UserQuery,
};
use stackhand_testkit::conformance::{
    self, Fixture, Harness, PagingCase, PlanCase, Probe, Route, TokenEndpoint, Trial, TrialOutcome,
};
use stackhand_testkit::openapi::{ObservedRequest, Spec};

const ENTRA_TENANT: &str = "contoso.example";
const CLIENT_SECRET: &str = "m365-conformance-client-secret-7d41";
const SECRET_FILE: &str = "m365.secret";
const ACCESS_TOKEN: &str = "m365-conformance-access-token-93b2";
const USER_ID: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";

/// The retries the suite wants: on, but fast.
fn fast_retry() -> Value {
    json!({"max_attempts": 3, "min_delay_ms": 1, "max_delay_ms": 5})
}

struct M365Harness;

/// The tenant the suite builds connectors for.
fn tenant() -> TenantId {
    TenantId::new(conformance::TENANT).unwrap()
}

fn user_fixture() -> Fixture {
    Fixture::json(
        Route::get("/v1.0/users/jane@contoso.example"),
        json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(id,userPrincipalName)/$entity",
            "id": USER_ID, "userPrincipalName": "jane@contoso.example", "displayName": "Jane Doe",
            "mail": "jane@contoso.example", "accountEnabled": true, "department": null, "jobTitle": null,
            "onPremisesSyncEnabled": null, "usageLocation": "US", "userType": "Member"
        }),
    )
}

/// What `get_user` reads besides the user: its direct memberships (which also serve
/// `user_groups`: Jane is in no role-assignable group) and its PIM eligibility.
fn membership_fixtures() -> [Fixture; 2] {
    [
        Fixture::json(
            Route::get(&format!("/v1.0/users/{USER_ID}/memberOf")),
            json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects", "value": [
                {"@odata.type": "#microsoft.graph.group", "id": "g1", "displayName": "Sales",
                 "groupTypes": [], "mailEnabled": false, "securityEnabled": true,
                 "isAssignableToRole": null}
            ]}),
        ),
        Fixture::json(
            Route::get("/v1.0/roleManagement/directory/roleEligibilityScheduleInstances"),
            json!({"value": []}),
        ),
    ]
}

fn request(action: &'static str, params: Value) -> ActionRequest {
    ActionRequest::new(
        IdempotencyKey::new(format!("conformance-{action}")).unwrap(),
        tenant(),
        ActionId::from_static(action),
        &params,
        Principal::technician("tech@msp.example", &["msp.tech"]),
    )
    .unwrap()
}

#[async_trait]
impl Harness for M365Harness {
    fn register(&self, registry: &mut Registry) {
        stackhand_m365::register(registry);
    }

    fn vendor(&self) -> &'static str {
        stackhand_m365::VENDOR
    }

    fn config(&self, server_url: &str) -> Value {
        json!({
            "tenant_id": ENTRA_TENANT,
            "base_url": server_url,
            "exchange_base_url": server_url,
            "authority_host": server_url,
            "auth": {"method": "client_secret", "client_id": "app-id",
                     "client_secret": {"file": SECRET_FILE}},
            "http": {"retry": fast_retry()},
        })
    }

    fn secret_files(&self) -> Vec<(String, String)> {
        vec![(SECRET_FILE.into(), format!("{CLIENT_SECRET}\n"))]
    }

    fn secrets(&self) -> Vec<String> {
        vec![ACCESS_TOKEN.into()]
    }

    fn token_endpoint(&self) -> Option<TokenEndpoint> {
        Some(TokenEndpoint::bearer(
            &format!("/{ENTRA_TENANT}/oauth2/v2.0/token"),
            ACCESS_TOKEN,
        ))
    }

    fn probe(&self, _server_url: &str) -> Probe {
        let [member_of, eligibility] = membership_fixtures();
        Probe::new(user_fixture()).and(member_of).and(eligibility)
    }

    async fn run_probe(&self, connector: &dyn Connector) -> Result<()> {
        connector
            .identity()
            .expect("identity")
            .get_user("jane@contoso.example")
            .await
            .map(drop)
    }

    /// Graph's envelope, with the code Graph sends for each status.
    fn error_body(&self, status: u16) -> Value {
        let code = match status {
            401 => "InvalidAuthenticationToken",
            403 => "Authorization_RequestDenied",
            404 => "Request_ResourceNotFound",
            409 => "Request_MultipleObjectsWithSameKeyValue",
            429 => "TooManyRequests",
            503 => "serviceNotAvailable",
            _ => "generalException",
        };
        json!({"error": {"code": code, "message": format!("Graph answered {status}"),
            "innerError": {"date": "2026-11-23T10:00:00", "request-id": "req-1", "client-request-id": "req-1"}}})
    }

    fn paging(&self, server_url: &str) -> Option<PagingCase> {
        let user = |id: &str| json!({"id": id, "userPrincipalName": format!("{id}@contoso.example"), "accountEnabled": true});
        Some(
            PagingCase::new(3)
                .page(Fixture::json(
                    Route::get("/v1.0/users"),
                    json!({"value": [user("u1"), user("u2")],
                           "@odata.nextLink": format!("{server_url}/v1.0/users?$select=id&$skiptoken=RFNwdAIAAQ-2")}),
                ))
                .page(Fixture::json(
                    Route::get("/v1.0/users").with_query("$skiptoken", "RFNwdAIAAQ-2"),
                    json!({"value": [user("u3")]}),
                )),
        )
    }

    async fn run_paging(&self, connector: &dyn Connector) -> Result<usize> {
        let users = connector
            .identity()
            .expect("identity")
            .find_users(&UserQuery::Name("u".into()))
            .await?;
        Ok(users.len())
    }

    fn plan_cases(&self, _server_url: &str) -> Vec<PlanCase> {
        let builtin = stackhand_core::actions::builtin();
        let unlock = builtin
            .get(&ActionId::from_static("identity.unlock"))
            .unwrap()
            .clone();
        let exo = format!("/adminapi/beta/{ENTRA_TENANT}/InvokeCommand");
        vec![
            membership_fixtures().into_iter().fold(
                PlanCase::new(
                    "unlock",
                    unlock,
                    request("identity.unlock", json!({"user": "jane@contoso.example"})),
                )
                .fixture(user_fixture()),
                PlanCase::fixture,
            ),
            membership_fixtures()
                .into_iter()
                .fold(
                    PlanCase::connector_action(
                        "hide_from_gal",
                        request("m365.hide_from_gal", json!({"mailbox": "jane@contoso.example"})),
                    ),
                    PlanCase::fixture,
                )
                .fixture(user_fixture())
                .fixture(Fixture::json(
                    Route::post(&exo),
                    json!({"value": [{"Identity": "jane", "UserPrincipalName": "jane@contoso.example",
                        "RecipientTypeDetails": "UserMailbox", "HiddenFromAddressListsEnabled": false}]}),
                )),
            PlanCase::connector_action(
                "list_service_issues",
                request("m365.list_service_issues", json!({})),
            )
            .fixture(Fixture::json(
                Route::get("/v1.0/admin/serviceAnnouncement/issues"),
                json!({"value": [{"id": "EX1", "title": "Mail delays", "service": "Exchange Online", "isResolved": false}]}),
            )),
        ]
    }

    /// Graph's document; Exchange's `InvokeCommand` is not in it.
    fn spec(&self) -> Option<Spec> {
        Some(
            Spec::load("microsoft-graph.yaml")
                .ok()?
                .ignoring("/adminapi/"),
        )
    }

    /// Exchange `Get-*` cmdlets are POSTs that only read.
    fn is_read(&self, request: &ObservedRequest) -> bool {
        match request.method.as_str() {
            "GET" | "HEAD" | "OPTIONS" => true,
            "POST" if request.path.ends_with("/InvokeCommand") => request
                .json_body()
                .ok()
                .flatten()
                .and_then(|body| {
                    body.pointer("/CmdletInput/CmdletName")?
                        .as_str()
                        .map(str::to_string)
                })
                .is_some_and(|cmdlet| cmdlet.starts_with("Get-")),
            _ => false,
        }
    }
}

#[tokio::test]
async fn m365_conforms() {
    let report = conformance::run(&M365Harness).await;
    // Nothing this connector declares may be skipped.
    for trial in Trial::ALL {
        assert_eq!(
            report.outcome(trial),
            Some(&TrialOutcome::Passed),
            "{trial:?}"
        );
    }
}

/// A `[tenants.contoso-law.connectors.m365]` section as an operator writes it.
const SECTION: &str = r#"
tenant_id = "contosolaw.com"
notify_sender = "helpdesk@contosolaw.com"
default_usage_location = "US"
base_url = "http://127.0.0.1:9/v1.0"
exchange_base_url = "http://127.0.0.1:9"
token_url = "http://127.0.0.1:9/contosolaw.com/oauth2/v2.0/token"

[auth]
method = "client_secret"
client_id = "5a8c1e2b-9f3d-4c6a-8b7e-0d1f2a3b4c5d"
client_secret = { file = "m365.secret" }

[http]
requests_per_second = 10
page_size = 500

[http.retry]
max_attempts = 2
"#;

/// The section as the runner hands it to the factory: TOML read into JSON.
fn section(text: &str) -> Value {
    let table: toml::Table = toml::from_str(text).unwrap();
    serde_json::to_value(table).unwrap()
}

#[tokio::test]
async fn builds_from_a_toml_section_through_the_registry() {
    let secrets = std::env::temp_dir().join(format!("stackhand-m365-toml-{}", std::process::id()));
    std::fs::create_dir_all(secrets.join("contoso-law")).unwrap();
    std::fs::write(secrets.join("contoso-law").join(SECRET_FILE), CLIENT_SECRET).unwrap();
    let ctx = BuildContext::new(TenantId::new("contoso-law").unwrap())
        .with_secrets(Arc::new(LocalSecrets::new().with_dir(&secrets)));
    let mut registry = Registry::new();
    stackhand_m365::register(&mut registry);

    let connector = registry
        .build(&ctx, "m365", section(SECTION))
        .await
        .unwrap();
    let info = connector.info();
    assert_eq!(
        (info.vendor.as_str(), info.tenant.as_str()),
        ("m365", "contoso-law")
    );
    assert_eq!(info.categories, [Category::Identity, Category::Messaging]);
    assert_eq!(connector.actions().len(), 5);
    assert!(!format!("{connector:?}").contains(CLIENT_SECRET));

    // A misspelt key is refused, naming it and the key meant, also inside the shared `http`
    // table; a page size above Exchange's maximum names its key too.
    for (from, to, key, meant) in [
        (
            "notify_sender =",
            "notify_sendr =",
            "notify_sendr",
            Some("notify_sender"),
        ),
        (
            "requests_per_second =",
            "request_per_second =",
            "http.request_per_second",
            Some("requests_per_second"),
        ),
        (
            "page_size = 500",
            "page_size = 5000",
            "http.page_size",
            None,
        ),
    ] {
        let error = registry
            .build(&ctx, "m365", section(&SECTION.replace(from, to)))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Invalid, "{error}");
        assert_eq!(error.context_value("key"), Some(key), "{error}");
        if let Some(meant) = meant {
            let hint = format!("did you mean \"{meant}\"");
            assert!(error.to_string().contains(&hint), "{error}");
        }
    }
    std::fs::remove_dir_all(&secrets).ok();
}
