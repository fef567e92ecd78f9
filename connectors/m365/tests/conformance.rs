//! The testkit's conformance suite for the m365 connector.

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;
use serde_json::{Value, json};
use stackhand_core::{
    Action, ActionId, ActionRequest, Connector, IdempotencyKey, Principal, Result, TenantId,
    UserQuery,
};
use stackhand_m365::{M365Config, M365Connector};
use stackhand_testkit::conformance::{
    self, Fixture, Harness, PagingCase, PlanCase, Probe, Route, TokenEndpoint, Trial, TrialOutcome,
};
use stackhand_testkit::openapi::{ObservedRequest, Spec};

const ENTRA_TENANT: &str = "contoso.example";
const CLIENT_SECRET: &str = "m365-conformance-client-secret-7d41";
const ACCESS_TOKEN: &str = "m365-conformance-access-token-93b2";
const USER_ID: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";

struct M365Harness;

fn tenant() -> TenantId {
    TenantId::new("contoso").unwrap()
}

fn build(server_url: &str) -> Result<M365Connector> {
    let config =
        M365Config::client_secret(ENTRA_TENANT, "app-id", SecretString::from(CLIENT_SECRET))
            .with_server(server_url)?
            .with_retry(stackhand_http::RetryConfig {
                max_attempts: 3,
                min_delay: std::time::Duration::from_millis(5),
                max_delay: std::time::Duration::from_millis(20),
                max_retry_after: std::time::Duration::from_secs(5),
            });
    M365Connector::new(tenant(), config)
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

fn member_of_fixture() -> Fixture {
    Fixture::json(
        Route::get(&format!("/v1.0/users/{USER_ID}/memberOf")),
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects", "value": [
            {"@odata.type": "#microsoft.graph.group", "id": "g1", "displayName": "Sales",
             "groupTypes": [], "mailEnabled": false, "securityEnabled": true}
        ]}),
    )
}

/// What `get_user` reads for roles: transitive memberships and PIM eligibility.
fn roles_fixtures() -> [Fixture; 2] {
    [
        Fixture::json(
            Route::get(&format!("/v1.0/users/{USER_ID}/transitiveMemberOf")),
            json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects", "value": [
                {"@odata.type": "#microsoft.graph.group", "id": "g1", "displayName": "Sales"}
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

fn vendor_action(server_url: &str, id: &str) -> Arc<dyn Action> {
    build(server_url)
        .unwrap()
        .actions()
        .into_iter()
        .find(|a| a.spec().id.as_str() == id)
        .unwrap()
}

#[async_trait]
impl Harness for M365Harness {
    fn connector(&self, server_url: &str) -> Result<Arc<dyn Connector>> {
        Ok(Arc::new(build(server_url)?))
    }

    fn secrets(&self) -> Vec<String> {
        vec![CLIENT_SECRET.into(), ACCESS_TOKEN.into()]
    }

    fn token_endpoint(&self) -> Option<TokenEndpoint> {
        Some(TokenEndpoint::bearer(
            &format!("/{ENTRA_TENANT}/oauth2/v2.0/token"),
            ACCESS_TOKEN,
        ))
    }

    fn probe(&self, _server_url: &str) -> Probe {
        let [transitive, eligibility] = roles_fixtures();
        Probe::new(user_fixture()).and(transitive).and(eligibility)
    }

    async fn run_probe(&self, connector: &dyn Connector) -> Result<()> {
        connector
            .identity()
            .expect("identity")
            .get_user("jane@contoso.example")
            .await
            .map(drop)
    }

    fn error_body(&self, status: u16) -> Value {
        json!({"error": {"code": "Request_ResourceNotFound", "message": format!("Graph answered {status}"),
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

    fn plan_cases(&self, server_url: &str) -> Vec<PlanCase> {
        let builtin = stackhand_core::actions::builtin();
        let unlock = builtin
            .get(&ActionId::from_static("identity.unlock"))
            .unwrap()
            .clone();
        let exo = format!("/adminapi/beta/{ENTRA_TENANT}/InvokeCommand");
        vec![
            roles_fixtures().into_iter().fold(
                PlanCase::new("unlock", unlock, request("identity.unlock", json!({"user": "jane@contoso.example"})))
                    .fixture(user_fixture())
                    .fixture(member_of_fixture()),
                PlanCase::fixture,
            ),
            roles_fixtures().into_iter().fold(
                PlanCase::new(
                    "hide_from_gal",
                    vendor_action(server_url, "m365.hide_from_gal"),
                    request("m365.hide_from_gal", json!({"mailbox": "jane@contoso.example"})),
                ),
                PlanCase::fixture,
            )
            .fixture(user_fixture())
            .fixture(member_of_fixture())
            .fixture(Fixture::json(
                Route::post(&exo),
                json!({"value": [{"Identity": "jane", "UserPrincipalName": "jane@contoso.example",
                    "RecipientTypeDetails": "UserMailbox", "HiddenFromAddressListsEnabled": false}]}),
            )),
            PlanCase::new(
                "list_service_issues",
                vendor_action(server_url, "m365.list_service_issues"),
                request("m365.list_service_issues", json!({})),
            )
            .fixture(Fixture::json(
                Route::get("/v1.0/admin/serviceAnnouncement/issues"),
                json!({"value": [{"id": "EX1", "title": "Mail delays", "service": "Exchange Online", "isResolved": false}]}),
            )),
        ]
    }

    /// Graph's document; Exchange's `InvokeCommand` and service health are not in it.
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
