//! Every operation against wiremock: each request is pinned (method, path, query, headers,
//! body), answered with the documented response shape, and the Graph requests are validated
//! against the bundled OpenAPI document.

mod common;

use std::sync::{Arc, Mutex};

use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use stackhand_core::{
    Connector as _, ErrorKind, Group, GroupKind, IdentityProvider, IdentityWrites, LicenseSku,
    MailboxPermission, MailboxRight, Message, Messaging, NewUser, ResetPasswordOptions, StepStatus,
    User, UserQuery,
};
use stackhand_m365::{M365Config, M365Connector, models::USER_SELECT};
use wiremock::matchers::{
    body_json, body_partial_json, body_string_contains, header, method, path, query_param,
    query_param_is_missing,
};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

const TENANT: &str = "7d1f3c2a-4b5e-4f60-9a1b-2c3d4e5f6a70";
const SECRET: &str = "wiremock-client-secret-55aa";
const GRAPH_TOKEN: &str = "graph-token-abc";
const EXO_TOKEN: &str = "exo-token-def";
const USER_ID: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";
const E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
const INVOKE: &str = "/adminapi/beta/7d1f3c2a-4b5e-4f60-9a1b-2c3d4e5f6a70/InvokeCommand";

struct Wire {
    server: MockServer,
    m365: M365Connector,
}

async fn wire() -> Wire {
    let server = MockServer::start().await;
    for (scope, token) in [
        ("https%3A%2F%2Fgraph.microsoft.com%2F.default", GRAPH_TOKEN),
        ("https%3A%2F%2Foutlook.office365.com%2F.default", EXO_TOKEN),
    ] {
        Mock::given(method("POST"))
            .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
            .and(header("content-type", "application/x-www-form-urlencoded"))
            .and(body_string_contains("grant_type=client_credentials"))
            .and(body_string_contains("client_id=app-id"))
            .and(body_string_contains(format!("client_secret={SECRET}")))
            .and(body_string_contains(format!("scope={scope}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token
            })))
            .mount(&server)
            .await;
    }
    let config = M365Config::client_secret(TENANT, "app-id", common::secret(SECRET))
        .with_server(&server.uri())
        .unwrap()
        .with_notify_sender("helpdesk@contoso.example")
        .with_default_usage_location("US")
        .with_http(common::fast_http());
    let m365 = common::build(config).await.unwrap();
    Wire { server, m365 }
}

impl Wire {
    /// Every Graph request the server saw validates against the Graph document.
    async fn validate(&self) {
        common::assert_graph_requests_valid(&self.server.received_requests().await.unwrap());
    }

    async fn body_of(&self, method_name: &str, path_suffix: &str) -> Value {
        let requests = self.server.received_requests().await.unwrap();
        let request = requests
            .iter()
            .find(|r| r.method.as_str() == method_name && r.url.path().ends_with(path_suffix))
            .unwrap_or_else(|| panic!("no {method_name} {path_suffix}"));
        serde_json::from_slice(&request.body).unwrap()
    }
}

fn graph(verb: &str, graph_path: &str) -> MockBuilder {
    Mock::given(method(verb))
        .and(path(format!("/v1.0/{graph_path}")))
        .and(header(
            "authorization",
            format!("Bearer {GRAPH_TOKEN}").as_str(),
        ))
}

fn json_body(verb: &str, graph_path: &str, body: Value) -> MockBuilder {
    graph(verb, graph_path)
        .and(header("content-type", "application/json"))
        .and(body_json(body))
}

fn exo(cmdlet: &str, parameters: Value, anchor: &str) -> MockBuilder {
    Mock::given(method("POST"))
        .and(path(INVOKE))
        .and(header(
            "authorization",
            format!("Bearer {EXO_TOKEN}").as_str(),
        ))
        .and(header("x-anchormailbox", anchor))
        .and(header("prefer", "odata.maxpagesize=1000"))
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}}),
        ))
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn exo_ok(value: Value) -> ResponseTemplate {
    ok(json!({
        "@odata.context": format!("https://outlook.office365.com/adminapi/beta/{TENANT}/$metadata#Collection(Exchange.GenericHashTable)"),
        "adminapi.warnings@odata.type": "#Collection(String)",
        "@adminapi.warnings": [],
        "value": value,
    }))
}

fn no_content() -> ResponseTemplate {
    ResponseTemplate::new(204)
}

fn graph_user() -> Value {
    json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(id,userPrincipalName)/$entity",
        "id": USER_ID, "userPrincipalName": "adelev@contoso.example", "displayName": "Adele Vance",
        "mail": "AdeleV@contoso.example", "accountEnabled": true, "department": "Retail",
        "jobTitle": "Retail Manager", "onPremisesSyncEnabled": null, "usageLocation": "US", "userType": "Member"
    })
}

fn user() -> User {
    User {
        id: USER_ID.into(),
        login: "adelev@contoso.example".into(),
        display_name: "Adele Vance".into(),
        email: Some("AdeleV@contoso.example".into()),
        enabled: true,
        locked: false,
        status: None,
        department: None,
        job_title: None,
        externally_mastered: false,
        roles: Vec::new(),
        usage_location: Some("US".into()),
    }
}

fn e3() -> LicenseSku {
    LicenseSku {
        id: E3.into(),
        name: "SPE_E3".into(),
        total: 5,
        consumed: 4,
    }
}

fn skus_page(consumed: u32) -> Value {
    json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscribedSkus", "value": [{
        "accountId": TENANT, "appliesTo": "User", "capabilityStatus": "Enabled", "consumedUnits": consumed,
        "id": format!("{TENANT}_{E3}"), "prepaidUnits": {"enabled": 5, "suspended": 0, "warning": 0, "lockedOut": 0},
        "servicePlans": [], "skuId": E3, "skuPartNumber": "SPE_E3", "subscriptionIds": ["s1"]
    }]})
}

fn member_of_page(items: Value) -> ResponseTemplate {
    ok(
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects", "value": items}),
    )
}

const GROUP_SELECT: &str = "id,displayName,groupTypes,mailEnabled,securityEnabled,mail,onPremisesSyncEnabled,isAssignableToRole";

const ELIGIBILITY: &str = "roleManagement/directory/roleEligibilityScheduleInstances";

/// `GET /users/{id}/memberOf?$select=<group fields>`, answering `items`, `times` times (a
/// later mount answers after that).
async fn mount_member_of(w: &Wire, items: Value, times: u64) {
    graph("GET", &format!("users/{USER_ID}/memberOf"))
        .and(query_param("$select", GROUP_SELECT))
        .respond_with(member_of_page(items))
        .up_to_n_times(times)
        .expect(times)
        .mount(&w.server)
        .await;
}

/// `GET /users/{id}/transitiveMemberOf?$select=id,displayName`, answering `items`, `times`
/// times.
async fn mount_transitive(w: &Wire, items: Value, times: u64) {
    graph("GET", &format!("users/{USER_ID}/transitiveMemberOf"))
        .and(query_param("$select", "id,displayName"))
        .and(query_param_is_missing("$count"))
        .respond_with(member_of_page(items))
        .expect(times)
        .mount(&w.server)
        .await;
}

/// `GET /roleManagement/directory/roleEligibilityScheduleInstances` for the user, answering
/// `response`, `times` times.
async fn mount_eligibility(w: &Wire, response: ResponseTemplate, times: u64) {
    graph("GET", ELIGIBILITY)
        .and(query_param(
            "$filter",
            format!("principalId eq '{USER_ID}'"),
        ))
        .and(query_param("$expand", "roleDefinition"))
        .respond_with(response)
        .expect(times)
        .mount(&w.server)
        .await;
}

/// `GET /users/adelev@contoso.example?$select=<user fields>`, `times` times.
async fn mount_user(w: &Wire, times: u64) {
    graph("GET", "users/adelev@contoso.example")
        .and(query_param("$select", USER_SELECT))
        .respond_with(ok(graph_user()))
        .expect(times)
        .mount(&w.server)
        .await;
}

/// A wire answering `get_user("adelev@contoso.example")`: the user, its direct memberships,
/// its transitive ones (when `transitive` is given: the user is in a role-assignable group)
/// and its eligibility, each read once.
async fn wire_get_user(
    direct: Value,
    transitive: Option<Value>,
    eligibility: ResponseTemplate,
) -> Wire {
    let w = wire().await;
    mount_user(&w, 1).await;
    mount_member_of(&w, direct, 1).await;
    match transitive {
        Some(items) => mount_transitive(&w, items, 1).await,
        None => mount_transitive(&w, json!([]), 0).await,
    }
    mount_eligibility(&w, eligibility, 1).await;
    w
}

/// The user's direct membership of the role-assignable Helpdesk Admins group.
fn helpdesk_admins() -> Value {
    json!({"@odata.type": "#microsoft.graph.group", "id": "g1", "displayName": "Helpdesk Admins",
           "groupTypes": [], "mailEnabled": false, "securityEnabled": true, "mail": null,
           "onPremisesSyncEnabled": null, "isAssignableToRole": true})
}

fn no_eligibility() -> ResponseTemplate {
    ok(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleEligibilityScheduleInstances(roleDefinition())",
        "value": []
    }))
}

fn graph_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {"code": code, "message": message,
        "innerError": {"date": "2026-11-23T10:00:00", "request-id": "rid-1", "client-request-id": "rid-1"}}}))
}

#[tokio::test]
async fn get_user_reads_roles_held_directly_through_groups_and_eligible() {
    // A role held directly and one reached through a role-assignable group come back alike.
    let w = wire_get_user(
        json!([
            {"@odata.type": "#microsoft.graph.directoryRole", "id": "r1", "displayName": "User Administrator"},
            helpdesk_admins()
        ]),
        Some(json!([
            {"@odata.type": "#microsoft.graph.directoryRole", "id": "r1", "displayName": "User Administrator"},
            {"@odata.type": "#microsoft.graph.group", "id": "g1", "displayName": "Helpdesk Admins"},
            {"@odata.type": "#microsoft.graph.directoryRole", "id": "r2", "displayName": "Helpdesk Administrator"}
        ])),
        ok(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleEligibilityScheduleInstances(roleDefinition())",
            "value": [
                {"id": "e1", "principalId": USER_ID, "roleDefinitionId": "62e90394-69f5-4237-9190-012177145e10",
                 "directoryScopeId": "/", "appScopeId": null, "startDateTime": "2026-04-12T14:44:50.287Z",
                 "endDateTime": null, "memberType": "Direct", "roleEligibilityScheduleId": "s1",
                 "roleDefinition": {"id": "62e90394-69f5-4237-9190-012177145e10", "displayName": "Global Administrator",
                                    "isBuiltIn": true, "isEnabled": true, "templateId": "62e90394-69f5-4237-9190-012177145e10"}},
                {"id": "e2", "principalId": USER_ID, "roleDefinitionId": "fe930be7-5e62-47db-91af-98c3a49a38b1",
                 "directoryScopeId": "/", "memberType": "Direct", "roleEligibilityScheduleId": "s2",
                 "roleDefinition": {"id": "fe930be7-5e62-47db-91af-98c3a49a38b1", "displayName": "User Administrator"}}
            ]
        })),
    )
    .await;
    let found = w.m365.get_user("adelev@contoso.example").await.unwrap();
    assert_eq!(found.id, USER_ID);
    assert_eq!(
        found.roles,
        vec![
            "User Administrator",
            "Helpdesk Administrator",
            "Global Administrator"
        ]
    );
    assert_eq!(found.status.as_deref(), Some("enabled"));
    // Four reads: the user, its direct memberships, the transitive ones (it is in a
    // role-assignable group), its eligibility.
    assert_eq!(w.server.received_requests().await.unwrap().len(), 5); // + the token
    // Its groups come from the direct memberships just read: no second memberOf.
    let groups = w.m365.user_groups(&found).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert!(groups[0].privileged);
    assert_eq!(w.server.received_requests().await.unwrap().len(), 5);
    w.validate().await;
}

#[tokio::test]
async fn roles_of_a_user_outside_role_assignable_groups_come_from_member_of() {
    // Only role-assignable groups hold roles and they do not nest: without one among the
    // direct memberships, the direct roles are all the active ones.
    let w = wire_get_user(
        json!([
            {"@odata.type": "#microsoft.graph.directoryRole", "id": "r1", "displayName": "Helpdesk Administrator"},
            {"@odata.type": "#microsoft.graph.group", "id": "g2", "displayName": "Sales", "groupTypes": ["Unified"],
             "mailEnabled": true, "securityEnabled": false, "isAssignableToRole": null}
        ]),
        None,
        no_eligibility(),
    )
    .await;
    let found = w.m365.get_user("adelev@contoso.example").await.unwrap();
    assert_eq!(found.roles, vec!["Helpdesk Administrator"]);
    let groups = w.m365.user_groups(&found).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert!(!groups[0].privileged);
    // A second call reads afresh: the first one's read answered once.
    mount_member_of(&w, json!([]), 1).await;
    assert!(w.m365.user_groups(&found).await.unwrap().is_empty());
    w.validate().await;
}

#[tokio::test]
async fn a_write_after_get_user_makes_user_groups_read_afresh() {
    let w = wire_get_user(
        json!([helpdesk_admins()]),
        Some(json!([])),
        no_eligibility(),
    )
    .await;
    let found = w.m365.get_user("adelev@contoso.example").await.unwrap();
    graph("POST", &format!("users/{USER_ID}/revokeSignInSessions"))
        .respond_with(ok(json!({"value": true})))
        .expect(1)
        .mount(&w.server)
        .await;
    let (m365, target) = (w.m365.clone(), found.clone());
    common::write(move |proof| Box::pin(async move { m365.revoke_sessions(proof, &target).await }))
        .await
        .unwrap();
    // The membership read before the write no longer answers.
    mount_member_of(&w, json!([]), 1).await;
    assert!(w.m365.user_groups(&found).await.unwrap().is_empty());
}

#[tokio::test]
async fn get_user_fails_closed_when_eligibility_cannot_be_read() {
    let w = wire_get_user(
        json!([]),
        None,
        graph_error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ),
    )
    .await;
    let error = w.m365.get_user("adelev@contoso.example").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Forbidden);
    assert!(
        error
            .message()
            .contains("RoleEligibilitySchedule.Read.Directory")
            && error.message().contains("adelev@contoso.example"),
        "{}",
        error.message()
    );
    w.validate().await;
}

#[tokio::test]
async fn a_tenant_without_pim_has_no_eligible_roles() {
    let w = wire_get_user(
        json!([{"@odata.type": "#microsoft.graph.directoryRole", "id": "r1", "displayName": "Helpdesk Administrator"}]),
        None,
        graph_error(
            400,
            "AadPremiumLicenseRequired",
            "The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license.",
        ),
    )
    .await;
    let found = w.m365.get_user("adelev@contoso.example").await.unwrap();
    assert_eq!(found.roles, vec!["Helpdesk Administrator"]);
    w.validate().await;
}

#[tokio::test]
async fn get_user_maps_graph_404_to_not_found() {
    let w = wire().await;
    graph("GET", "users/ghost@contoso.example")
        .respond_with(ResponseTemplate::new(404).insert_header("request-id", "rid-404").set_body_json(json!({
            "error": {"code": "Request_ResourceNotFound", "message": "Resource 'ghost@contoso.example' does not exist or one of its queried reference-property objects are not present.",
                      "innerError": {"date": "2026-11-23T10:00:00", "request-id": "rid-404", "client-request-id": "rid-404"}}})))
        .mount(&w.server)
        .await;
    let error = w.m365.get_user("ghost@contoso.example").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn find_users_by_login_email_and_name() {
    let w = wire().await;
    let page = ok(json!({"value": [graph_user()]}));
    graph("GET", "users")
        .and(query_param(
            "$filter",
            "userPrincipalName eq 'adelev@contoso.example'",
        ))
        .and(query_param("$select", USER_SELECT))
        .respond_with(page.clone())
        .expect(1)
        .mount(&w.server)
        .await;
    graph("GET", "users")
        .and(query_param(
            "$filter",
            "mail eq 'o''neil@contoso.example' or userPrincipalName eq 'o''neil@contoso.example'",
        ))
        .respond_with(page.clone())
        .expect(1)
        .mount(&w.server)
        .await;
    graph("GET", "users")
        .and(query_param("$search", "\"displayName:adele\""))
        .and(header("consistencylevel", "eventual"))
        .respond_with(page)
        .expect(1)
        .mount(&w.server)
        .await;
    for query in [
        UserQuery::Login("adelev@contoso.example".into()),
        UserQuery::Email("o'neil@contoso.example".into()),
        UserQuery::Name("adele".into()),
    ] {
        assert_eq!(w.m365.find_users(&query).await.unwrap().len(), 1);
    }
    w.validate().await;
}

#[tokio::test]
async fn reset_password_patches_the_profile_then_revokes() {
    let w = wire().await;
    mount_reset(&w).await;
    let m365 = w.m365.clone();
    let reset = common::write(move |proof| {
        Box::pin(async move {
            m365.reset_password(proof, &user(), &ResetPasswordOptions::default())
                .await
        })
    })
    .await
    .unwrap();
    let password = reset.temporary_password.unwrap();
    let sent = w.body_of("PATCH", USER_ID).await;
    assert_eq!(
        sent["passwordProfile"]["password"],
        password.expose_secret()
    );
    assert_eq!(
        sent.as_object().unwrap().len(),
        1,
        "only the password profile is sent"
    );
    let revoke = w
        .server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path().ends_with("revokeSignInSessions"))
        .unwrap();
    assert!(revoke.body.is_empty(), "revokeSignInSessions takes no body");
    w.validate().await;
}

/// A password reset's writes, each expected exactly once: the profile `PATCH`, then one
/// `revokeSignInSessions`.
async fn mount_reset(w: &Wire) {
    graph("PATCH", &format!("users/{USER_ID}"))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(
            json!({"passwordProfile": {"forceChangePasswordNextSignIn": true}}),
        ))
        .respond_with(no_content())
        .expect(1)
        .mount(&w.server)
        .await;
    graph("POST", &format!("users/{USER_ID}/revokeSignInSessions"))
        .respond_with(ok(json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", "value": true})))
        .expect(1)
        .mount(&w.server)
        .await;
}

/// The requests a server received, as `METHOD /path`.
async fn sequence(w: &Wire) -> Vec<String> {
    w.server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

#[tokio::test]
async fn a_password_reset_through_the_engine_reads_what_policy_needs_and_revokes_once() {
    let w = wire().await;
    // The plan reads the user, its direct memberships (which serve both its roles and its
    // groups: it is in no role-assignable group) and its eligibility; the execution reads the
    // user again, as core does, then resets and revokes once.
    mount_user(&w, 1).await;
    mount_member_of(
        &w,
        json!([
            {"@odata.type": "#microsoft.graph.directoryRole", "id": "r1", "displayName": "Helpdesk Administrator"},
            {"@odata.type": "#microsoft.graph.group", "id": "g2", "displayName": "Sales", "groupTypes": ["Unified"],
             "mailEnabled": true, "securityEnabled": false, "isAssignableToRole": null}
        ]),
        1,
    )
    .await;
    mount_transitive(&w, json!([]), 0).await;
    mount_eligibility(&w, no_eligibility(), 1).await;
    mount_reset(&w).await;
    let engine = common::engine(&w.m365);
    let receipt = common::execute(
        &engine,
        "reset-adele",
        "identity.reset_password",
        json!({"user": "adelev@contoso.example"}),
    )
    .await;
    assert!(receipt.outcome.secret("temporary_password").is_some());
    // What policy saw: the role, and the groups.
    assert_eq!(receipt.plan.facts.roles, vec!["Helpdesk Administrator"]);
    assert!(receipt.plan.facts.privileged);
    assert_eq!(receipt.plan.facts.groups, vec!["Sales"]);
    let user = "GET /v1.0/users/adelev@contoso.example".to_string();
    let member_of = format!("GET /v1.0/users/{USER_ID}/memberOf");
    let eligibility = format!("GET /v1.0/{ELIGIBILITY}");
    assert_eq!(
        sequence(&w).await,
        vec![
            format!("POST /{TENANT}/oauth2/v2.0/token"),
            // plan: get_user, then user_groups answered from get_user's read
            user,
            member_of,
            eligibility,
            // execute: the planned user (the engine planned just before), the reset, one
            // revocation
            format!("PATCH /v1.0/users/{USER_ID}"),
            format!("POST /v1.0/users/{USER_ID}/revokeSignInSessions"),
        ]
    );
    w.validate().await;
}

#[tokio::test]
async fn reset_password_refuses_synced_users_and_links() {
    let w = wire().await;
    let synced = User {
        externally_mastered: true,
        ..user()
    };
    let m365 = w.m365.clone();
    let error = common::write(move |proof| {
        Box::pin(async move {
            m365.reset_password(proof, &synced, &ResetPasswordOptions::default())
                .await
        })
    })
    .await
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Invalid);
    let link = ResetPasswordOptions {
        delivery: stackhand_core::ResetDelivery::ResetLink,
        ..Default::default()
    };
    let m365 = w.m365.clone();
    assert_eq!(
        common::write(move |proof| {
            Box::pin(async move { m365.reset_password(proof, &user(), &link).await })
        })
        .await
        .unwrap_err()
        .kind(),
        ErrorKind::Unsupported
    );
    assert!(
        w.server.received_requests().await.unwrap().is_empty(),
        "refused before any call"
    );
}

#[tokio::test]
async fn block_and_unblock_patch_account_enabled_and_unlock_never_enables() {
    let w = wire().await;
    json_body(
        "PATCH",
        &format!("users/{USER_ID}"),
        json!({"accountEnabled": false}),
    )
    .respond_with(no_content())
    .expect(1)
    .mount(&w.server)
    .await;
    json_body(
        "PATCH",
        &format!("users/{USER_ID}"),
        json!({"accountEnabled": true}),
    )
    .respond_with(no_content())
    .expect(1)
    .mount(&w.server)
    .await;
    let m365 = w.m365.clone();
    common::write(move |proof| {
        Box::pin(async move { m365.set_enabled(proof, &user(), false).await })
    })
    .await
    .unwrap();
    // Disabled, not locked out: unlock refuses, sends nothing, and never re-enables.
    let m365 = w.m365.clone();
    let refused = common::write(move |proof| {
        Box::pin(async move {
            m365.unlock(
                proof,
                &User {
                    enabled: false,
                    ..user()
                },
            )
            .await
        })
    })
    .await
    .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Invalid);
    assert!(refused.to_string().contains("disabled"), "{refused}");
    assert_eq!(
        w.server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.method.as_str() == "PATCH")
            .count(),
        1,
        "the refused unlock sent no PATCH: the account stays disabled"
    );
    let m365 = w.m365.clone();
    common::write(move |proof| {
        Box::pin(async move { m365.set_enabled(proof, &user(), true).await })
    })
    .await
    .unwrap();
    let m365 = w.m365.clone();
    common::write(move |proof| Box::pin(async move { m365.unlock(proof, &user()).await }))
        .await
        .unwrap(); // enabled already: nothing to send
    w.validate().await;
}

#[tokio::test]
async fn revoke_sessions_posts_without_body() {
    let w = wire().await;
    graph("POST", &format!("users/{USER_ID}/revokeSignInSessions"))
        .respond_with(ok(json!({"value": true})))
        .expect(1)
        .mount(&w.server)
        .await;
    let m365 = w.m365.clone();
    common::write(move |proof| Box::pin(async move { m365.revoke_sessions(proof, &user()).await }))
        .await
        .unwrap();
    w.validate().await;
}

/// Reset the test user's MFA through the engine, asking for a TAP or not.
async fn reset_mfa(w: &Wire, tap: bool) -> stackhand_core::Result<stackhand_core::MfaReset> {
    let m365 = w.m365.clone();
    common::write(move |proof| Box::pin(async move { m365.reset_mfa(proof, &user(), tap).await }))
        .await
}

fn methods_page() -> Value {
    json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('x')/authentication/methods", "value": [
        {"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": "28c10230-6103-485e-b985-444c60001490", "password": null, "createdDateTime": "2024-05-14T09:00:00Z"},
        {"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "id": "m-auth", "displayName": "iPhone 15", "deviceTag": "SoftwareTokenActivated", "phoneAppVersion": "6.8.7"},
        {"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": "3179e48a-750b-4051-897c-87b9720928f7", "phoneNumber": "+1 2065550100", "phoneType": "mobile", "smsSignInState": "notEnabled"}
    ]})
}

#[tokio::test]
async fn mfa_reset_retries_the_refused_default_and_issues_a_tap() {
    let w = wire().await;
    graph("GET", &format!("users/{USER_ID}/authentication/methods"))
        .respond_with(ok(methods_page()))
        .mount(&w.server)
        .await;
    // The default method is refused while the phone is still registered, then accepted.
    graph("DELETE", &format!("users/{USER_ID}/authentication/microsoftAuthenticatorMethods/m-auth"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"code": "badRequest",
            "message": "The method is the user's default sign-in method and cannot be deleted while other methods are registered."}})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&w.server)
        .await;
    graph(
        "DELETE",
        &format!("users/{USER_ID}/authentication/microsoftAuthenticatorMethods/m-auth"),
    )
    .respond_with(no_content())
    .expect(1)
    .mount(&w.server)
    .await;
    graph(
        "DELETE",
        &format!(
            "users/{USER_ID}/authentication/phoneMethods/3179e48a-750b-4051-897c-87b9720928f7"
        ),
    )
    .respond_with(no_content())
    .expect(1)
    .mount(&w.server)
    .await;
    json_body("POST", &format!("users/{USER_ID}/authentication/temporaryAccessPassMethods"),
        json!({"lifetimeInMinutes": 60, "isUsableOnce": true}))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod", "id": "tap-1",
            "temporaryAccessPass": "TAPRMRR8", "createdDateTime": "2026-11-23T10:00:00Z", "startDateTime": "2026-11-23T10:00:00Z",
            "lifetimeInMinutes": 60, "isUsableOnce": true, "isUsable": true, "methodUsabilityReason": "EnabledByPolicy"})))
        .expect(1)
        .mount(&w.server)
        .await;
    let listed = w.m365.list_mfa_methods(&user()).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].description.as_deref(), Some("iPhone 15"));
    let reset = reset_mfa(&w, true).await.unwrap();
    assert_eq!(reset.removed.len(), 2);
    assert_eq!(
        reset.temporary_access_pass.unwrap().expose_secret(),
        "TAPRMRR8"
    );
    w.validate().await;
}

#[tokio::test]
async fn mfa_reset_stops_when_a_whole_pass_is_refused() {
    let w = wire().await;
    graph("GET", &format!("users/{USER_ID}/authentication/methods"))
        .respond_with(ok(methods_page()))
        .mount(&w.server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"code": "badRequest", "message": "refused"}})),
        )
        .expect(2)
        .mount(&w.server)
        .await;
    let error = reset_mfa(&w, false).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Invalid);
}

#[tokio::test]
async fn mfa_reset_with_a_method_it_cannot_delete_deletes_nothing() {
    let w = wire().await;
    let mut page = methods_page();
    page["value"].as_array_mut().unwrap().push(json!({
        "@odata.type": "#microsoft.graph.hardwareOathAuthenticationMethod", "id": "h-1",
        "displayName": "Token 1", "serialNumber": "TOTP123456"
    }));
    graph("GET", &format!("users/{USER_ID}/authentication/methods"))
        .respond_with(ok(page))
        .expect(1)
        .mount(&w.server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(no_content())
        .expect(0)
        .mount(&w.server)
        .await;
    graph(
        "POST",
        &format!("users/{USER_ID}/authentication/temporaryAccessPassMethods"),
    )
    .respond_with(ResponseTemplate::new(201))
    .expect(0)
    .mount(&w.server)
    .await;
    let error = reset_mfa(&w, true).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    let message = error.message();
    assert!(
        message.contains("#microsoft.graph.hardwareOathAuthenticationMethod")
            && message.contains("nothing was removed")
            && message.contains("adelev@contoso.example"),
        "{message}"
    );
    let sent = sequence(&w).await;
    assert!(
        sent.iter().all(|r| !r.starts_with("DELETE")),
        "no method was deleted: {sent:?}"
    );
    w.validate().await;
}

#[tokio::test]
async fn groups_are_read_found_and_classified() {
    let w = wire().await;
    graph("GET", &format!("users/{USER_ID}/memberOf"))
        .respond_with(member_of_page(json!([
            {"@odata.type": "#microsoft.graph.group", "id": "g1", "displayName": "Sales", "groupTypes": ["Unified"], "mailEnabled": true, "securityEnabled": false, "isAssignableToRole": null},
            {"@odata.type": "#microsoft.graph.group", "id": "g2", "displayName": "Helpdesk Admins", "groupTypes": [], "mailEnabled": false, "securityEnabled": true, "isAssignableToRole": true},
            {"@odata.type": "#microsoft.graph.directoryRole", "id": "r1", "displayName": "Global Administrator"},
            {"@odata.type": "#microsoft.graph.administrativeUnit", "id": "au1", "displayName": "Seattle"}
        ])))
        .mount(&w.server)
        .await;
    graph("GET", "groups")
        .and(query_param("$filter", "displayName eq 'Helpdesk Admins' or mail eq 'Helpdesk Admins'"))
        .and(query_param("$select", GROUP_SELECT))
        .respond_with(ok(json!({"value": [{"id": "g2", "displayName": "Helpdesk Admins", "groupTypes": [], "mailEnabled": false, "securityEnabled": true, "mail": null, "onPremisesSyncEnabled": null, "isAssignableToRole": true}]})))
        .expect(1)
        .mount(&w.server)
        .await;
    graph("GET", "groups/8b4e6d20-2c1a-4f3b-8d5e-6f7a8b9c0d01")
        .and(query_param("$select", GROUP_SELECT))
        .respond_with(ok(json!({"id": "8b4e6d20-2c1a-4f3b-8d5e-6f7a8b9c0d01", "displayName": "Remote", "groupTypes": ["DynamicMembership"], "mailEnabled": false, "securityEnabled": true})))
        .expect(1)
        .mount(&w.server)
        .await;
    graph("GET", "groups")
        .and(query_param("$filter", "displayName eq 'Partners' or mail eq 'Partners'"))
        .and(query_param("$select", GROUP_SELECT))
        .respond_with(ok(json!({"value": [{"id": "dl1", "displayName": "Partners", "groupTypes": [], "mailEnabled": true, "securityEnabled": false, "mail": "partners@contoso.example"}]})))
        .expect(1)
        .mount(&w.server)
        .await;
    let groups = w.m365.user_groups(&user()).await.unwrap();
    assert_eq!(
        groups,
        vec![
            Group {
                id: "g1".into(),
                name: "Sales".into(),
                kind: GroupKind::Unified,
                writable: true,
                privileged: false,
            },
            Group {
                id: "g2".into(),
                name: "Helpdesk Admins".into(),
                kind: GroupKind::Security,
                writable: true,
                privileged: true,
            }
        ]
    );
    // A role-assignable group makes its members privileged.
    assert!(
        w.m365
            .find_group("Helpdesk Admins")
            .await
            .unwrap()
            .privileged
    );
    let dynamic = w
        .m365
        .find_group("8b4e6d20-2c1a-4f3b-8d5e-6f7a8b9c0d01")
        .await
        .unwrap();
    assert_eq!(
        (dynamic.kind, dynamic.writable),
        (GroupKind::External, false)
    );
    assert_eq!(
        w.m365.find_group("Partners").await.unwrap().kind,
        GroupKind::Distribution
    );
    w.validate().await;
}

#[tokio::test]
async fn graph_group_membership_uses_member_refs() {
    let w = wire().await;
    let security = Group {
        id: "g1".into(),
        name: "Sales".into(),
        kind: GroupKind::Security,
        writable: true,
        privileged: false,
    };
    json_body(
        "POST",
        "groups/g1/members/$ref",
        json!({"@odata.id": format!("{}/v1.0/directoryObjects/{USER_ID}", w.server.uri())}),
    )
    .respond_with(no_content())
    .expect(1)
    .mount(&w.server)
    .await;
    graph("DELETE", &format!("groups/g1/members/{USER_ID}/$ref"))
        .respond_with(no_content())
        .expect(1)
        .mount(&w.server)
        .await;
    let (m365, group) = (w.m365.clone(), security.clone());
    common::write(move |proof| {
        Box::pin(async move { m365.add_to_group(proof, &user(), &group).await })
    })
    .await
    .unwrap();
    let (m365, group) = (w.m365.clone(), security.clone());
    common::write(move |proof| {
        Box::pin(async move { m365.remove_from_group(proof, &user(), &group).await })
    })
    .await
    .unwrap();
    let external = Group {
        kind: GroupKind::External,
        writable: false,
        ..security
    };
    let m365 = w.m365.clone();
    assert_eq!(
        common::write(move |proof| {
            Box::pin(async move { m365.add_to_group(proof, &user(), &external).await })
        })
        .await
        .unwrap_err()
        .kind(),
        ErrorKind::Invalid
    );
    w.validate().await;
}

#[tokio::test]
async fn distribution_list_membership_goes_through_exchange() {
    let w = wire().await;
    let anchor = format!("APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{TENANT}");
    exo("Add-DistributionGroupMember",
        json!({"Identity": "dl1", "Member": "adelev@contoso.example", "BypassSecurityGroupManagerCheck": true}), &anchor)
        .respond_with(exo_ok(json!([])))
        .expect(1)
        .mount(&w.server)
        .await;
    exo("Remove-DistributionGroupMember",
        json!({"Identity": "dl1", "Member": "adelev@contoso.example", "BypassSecurityGroupManagerCheck": true, "Confirm": false}), &anchor)
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"code": "BadRequest",
            "message": "Ex6F9304|Microsoft.Exchange.Management.Tasks.MemberNotFoundException|The recipient adelev@contoso.example isn't a member of the group Partners.",
            "details": [{"code": "Context", "target": "", "message": "Ex6F9304|Microsoft.Exchange.Management.Tasks.MemberNotFoundException|The recipient adelev@contoso.example isn't a member of the group Partners."}]}})))
        .expect(1)
        .mount(&w.server)
        .await;
    let dl = Group {
        id: "dl1".into(),
        name: "Partners".into(),
        kind: GroupKind::Distribution,
        writable: true,
        privileged: false,
    };
    let (m365, group) = (w.m365.clone(), dl.clone());
    common::write(move |proof| {
        Box::pin(async move { m365.add_to_group(proof, &user(), &group).await })
    })
    .await
    .unwrap();
    // Not a member: already in the desired state.
    let m365 = w.m365.clone();
    common::write(move |proof| {
        Box::pin(async move { m365.remove_from_group(proof, &user(), &dl).await })
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn create_user_posts_the_required_fields() {
    let w = wire().await;
    graph("POST", "users")
        .and(header("content-type", "application/json"))
        .and(body_partial_json(json!({
            "accountEnabled": true, "displayName": "Jane Doe", "givenName": "Jane", "surname": "Doe",
            "mailNickname": "jdoe", "userPrincipalName": "jdoe@contoso.example", "usageLocation": "US",
            "department": "Legal", "passwordProfile": {"forceChangePasswordNextSignIn": true}
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
            "id": "new-id", "businessPhones": [], "displayName": "Jane Doe", "givenName": "Jane", "jobTitle": null,
            "mail": null, "mobilePhone": null, "officeLocation": null, "preferredLanguage": null, "surname": "Doe",
            "userPrincipalName": "jdoe@contoso.example"})))
        .expect(1)
        .mount(&w.server)
        .await;
    let new_user = NewUser {
        login: "jdoe@contoso.example".into(),
        first_name: "Jane".into(),
        last_name: "Doe".into(),
        display_name: None,
        email: None,
        department: Some("Legal".into()),
        job_title: None,
        usage_location: Some("US".into()),
        mail_nickname: None,
    };
    let m365 = w.m365.clone();
    let created = common::write(move |proof| {
        Box::pin(async move { m365.create_user(proof, &new_user, None).await })
    })
    .await
    .unwrap();
    assert_eq!(created.user.id, "new-id");
    assert!(created.user.enabled);
    let sent = w.body_of("POST", "/v1.0/users").await;
    assert_eq!(
        sent["passwordProfile"]["password"],
        created.initial_password.unwrap().expose_secret()
    );
    w.validate().await;
}

#[tokio::test]
async fn licences_list_state_assign_and_remove() {
    let w = wire().await;
    graph("GET", "subscribedSkus")
        .respond_with(ok(skus_page(4)))
        .mount(&w.server)
        .await;
    graph("GET", &format!("users/{USER_ID}"))
        .and(query_param("$select", "id,assignedLicenses,licenseAssignmentStates,usageLocation"))
        .respond_with(ok(json!({"id": USER_ID, "usageLocation": null,
            "assignedLicenses": [{"disabledPlans": [], "skuId": E3}],
            "licenseAssignmentStates": [{"assignedByGroup": "grp-lic", "disabledPlans": [], "error": "None", "skuId": E3, "state": "Active"}]})))
        .mount(&w.server)
        .await;
    json_body(
        "PATCH",
        &format!("users/{USER_ID}"),
        json!({"usageLocation": "US"}),
    )
    .respond_with(no_content())
    .expect(1)
    .mount(&w.server)
    .await;
    json_body(
        "POST",
        &format!("users/{USER_ID}/assignLicense"),
        json!({"addLicenses": [{"disabledPlans": [], "skuId": E3}], "removeLicenses": []}),
    )
    .respond_with(ok(graph_user()))
    .expect(1)
    .mount(&w.server)
    .await;

    let skus = w.m365.licenses().await.unwrap();
    assert_eq!(skus, vec![e3()]);
    let held = w.m365.user_licenses(&user()).await.unwrap();
    assert_eq!(held[0].inherited_from, vec!["grp-lic"]);
    assert!(!held[0].direct);
    // Held only through the group: assign directly, after setting the usage location.
    let m365 = w.m365.clone();
    common::write(move |proof| {
        Box::pin(async move { m365.assign_license(proof, &user(), &e3()).await })
    })
    .await
    .unwrap();
    // Inherited: reported, not fought.
    let m365 = w.m365.clone();
    let error = common::write(move |proof| {
        Box::pin(async move { m365.remove_license(proof, &user(), &e3()).await })
    })
    .await
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Invalid);
    assert!(error.to_string().contains("grp-lic"));
    w.validate().await;
}

#[tokio::test]
async fn licence_removal_and_full_skus() {
    let w = wire().await;
    graph("GET", "subscribedSkus")
        .respond_with(ok(skus_page(5)))
        .mount(&w.server)
        .await;
    graph("GET", &format!("users/{USER_ID}"))
        .and(query_param("$select", "id,assignedLicenses,licenseAssignmentStates,usageLocation"))
        .respond_with(ok(json!({"id": USER_ID, "usageLocation": "US",
            "assignedLicenses": [{"disabledPlans": [], "skuId": E3}],
            "licenseAssignmentStates": [{"assignedByGroup": null, "disabledPlans": [], "error": "None", "skuId": E3, "state": "Active"}]})))
        .mount(&w.server)
        .await;
    json_body(
        "POST",
        &format!("users/{USER_ID}/assignLicense"),
        json!({"addLicenses": [], "removeLicenses": [E3]}),
    )
    .respond_with(ok(graph_user()))
    .expect(1)
    .mount(&w.server)
    .await;
    let m365 = w.m365.clone();
    common::write(move |proof| {
        Box::pin(async move { m365.remove_license(proof, &user(), &e3()).await })
    })
    .await
    .unwrap();
    // Already held directly: assigning again sends nothing.
    let m365 = w.m365.clone();
    common::write(move |proof| {
        Box::pin(async move { m365.assign_license(proof, &user(), &e3()).await })
    })
    .await
    .unwrap();
    let other = User {
        id: "other".into(),
        ..user()
    };
    graph("GET", "users/other")
        .respond_with(ok(json!({"id": "other", "usageLocation": "US", "assignedLicenses": [], "licenseAssignmentStates": []})))
        .mount(&w.server)
        .await;
    let m365 = w.m365.clone();
    let full = common::write(move |proof| {
        Box::pin(async move { m365.assign_license(proof, &other, &e3()).await })
    })
    .await
    .unwrap_err();
    assert_eq!(full.kind(), ErrorKind::Conflict);
    w.validate().await;
}

#[tokio::test]
async fn mailbox_permissions_are_read_from_three_cmdlets() {
    let w = wire().await;
    let anchor = "UPN:shared@contoso.example";
    exo("Get-MailboxPermission", json!({"Identity": "shared@contoso.example"}), anchor)
        .respond_with(exo_ok(json!([
            {"Identity": "shared", "User": "NT AUTHORITY\\SELF", "AccessRights": ["FullAccess", "ReadPermission"], "IsInherited": false, "Deny": false},
            {"Identity": "shared", "User": "adelev@contoso.example", "AccessRights": ["FullAccess"], "IsInherited": false, "Deny": false},
            {"Identity": "shared", "User": "admin@contoso.example", "AccessRights": ["FullAccess"], "IsInherited": true, "Deny": false}
        ])))
        .expect(1)
        .mount(&w.server)
        .await;
    exo("Get-RecipientPermission", json!({"Identity": "shared@contoso.example"}), anchor)
        .respond_with(exo_ok(json!([
            {"Identity": "shared", "Trustee": "NT AUTHORITY\\SELF", "AccessControlType": "Allow", "AccessRights": ["SendAs"], "IsInherited": false},
            {"Identity": "shared", "Trustee": "bob@contoso.example", "AccessControlType": "Allow", "AccessRights": ["SendAs"], "IsInherited": false}
        ])))
        .expect(1)
        .mount(&w.server)
        .await;
    exo("Get-Mailbox", json!({"Identity": "shared@contoso.example"}), anchor)
        .respond_with(exo_ok(json!([{"Identity": "shared", "UserPrincipalName": "shared@contoso.example",
            "RecipientTypeDetails": "SharedMailbox", "GrantSendOnBehalfTo": ["carol@contoso.example"],
            "ForwardingSmtpAddress": null, "DeliverToMailboxAndForward": false, "HiddenFromAddressListsEnabled": false}])))
        .expect(1)
        .mount(&w.server)
        .await;
    let permissions = w
        .m365
        .mailbox_permissions("shared@contoso.example")
        .await
        .unwrap();
    let summary: Vec<(String, MailboxRight)> =
        permissions.into_iter().map(|p| (p.user, p.right)).collect();
    assert_eq!(
        summary,
        vec![
            (
                "adelev@contoso.example".to_string(),
                MailboxRight::FullAccess
            ),
            ("bob@contoso.example".to_string(), MailboxRight::SendAs),
            (
                "carol@contoso.example".to_string(),
                MailboxRight::SendOnBehalf
            ),
        ]
    );
}

#[tokio::test]
async fn mailbox_rights_are_granted_and_removed_with_the_documented_cmdlets() {
    let w = wire().await;
    let anchor = "UPN:shared@contoso.example";
    let cases = [
        (
            "Add-MailboxPermission",
            json!({"Identity": "shared@contoso.example", "User": "adelev@contoso.example",
            "AccessRights": ["FullAccess"], "AutoMapping": false, "InheritanceType": "All"}),
        ),
        (
            "Remove-MailboxPermission",
            json!({"Identity": "shared@contoso.example", "User": "adelev@contoso.example",
            "AccessRights": ["FullAccess"], "InheritanceType": "All", "Confirm": false}),
        ),
        (
            "Add-RecipientPermission",
            json!({"Identity": "shared@contoso.example", "Trustee": "adelev@contoso.example",
            "AccessRights": ["SendAs"], "Confirm": false}),
        ),
        (
            "Remove-RecipientPermission",
            json!({"Identity": "shared@contoso.example", "Trustee": "adelev@contoso.example",
            "AccessRights": ["SendAs"], "Confirm": false}),
        ),
        (
            "Set-Mailbox",
            json!({"Identity": "shared@contoso.example",
            "GrantSendOnBehalfTo": {"@odata.type": "#Exchange.GenericHashTable", "add": "adelev@contoso.example"}}),
        ),
        (
            "Set-Mailbox",
            json!({"Identity": "shared@contoso.example",
            "GrantSendOnBehalfTo": {"@odata.type": "#Exchange.GenericHashTable", "remove": "adelev@contoso.example"}}),
        ),
    ];
    for (cmdlet, parameters) in cases {
        exo(cmdlet, parameters, anchor)
            .respond_with(exo_ok(json!([])))
            .expect(1)
            .mount(&w.server)
            .await;
    }
    for right in [
        MailboxRight::FullAccess,
        MailboxRight::SendAs,
        MailboxRight::SendOnBehalf,
    ] {
        let grant = MailboxPermission {
            mailbox: "shared@contoso.example".into(),
            user: "adelev@contoso.example".into(),
            right,
            automap: (right == MailboxRight::FullAccess).then_some(false),
        };
        let (m365, granted) = (w.m365.clone(), grant.clone());
        common::write(move |proof| {
            Box::pin(async move { m365.grant_mailbox_access(proof, &granted).await })
        })
        .await
        .unwrap();
        let m365 = w.m365.clone();
        common::write(move |proof| {
            Box::pin(async move { m365.remove_mailbox_access(proof, &grant).await })
        })
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn exchange_errors_map_to_kinds_and_pages_are_followed() {
    let w = wire().await;
    let anchor = "UPN:ghost@contoso.example";
    exo("Get-Mailbox", json!({"Identity": "ghost@contoso.example"}), anchor)
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"code": "BadRequest",
            "message": "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'ghost@contoso.example' couldn't be found.",
            "details": [{"code": "Context", "target": "", "message": "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'ghost@contoso.example' couldn't be found."}]}})))
        .mount(&w.server)
        .await;
    let error = w.m365.mailbox("ghost@contoso.example").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert_eq!(
        error.context_value("vendor_code"),
        Some("ManagementObjectNotFoundException")
    );
    assert!(error.to_string().contains("couldn't be found"));

    // Paging: the next link is re-POSTed with the same body.
    let next = format!("{}{INVOKE}?$skiptoken=1", w.server.uri());
    exo(
        "Get-MailboxAutoReplyConfiguration",
        json!({"Identity": "a@contoso.example"}),
        "UPN:a@contoso.example",
    )
    .and(query_param_is_missing("$skiptoken"))
    .respond_with(ok(json!({"value": [], "@odata.nextLink": next})))
    .expect(1)
    .mount(&w.server)
    .await;
    exo("Get-MailboxAutoReplyConfiguration", json!({"Identity": "a@contoso.example"}), "UPN:a@contoso.example")
        .and(query_param("$skiptoken", "1"))
        .respond_with(exo_ok(json!([{"AutoReplyState": "Enabled", "InternalMessage": "Away", "ExternalMessage": "Away", "ExternalAudience": "All"}])))
        .expect(1)
        .mount(&w.server)
        .await;
    let reply = w.m365.auto_reply("a@contoso.example").await.unwrap();
    assert_eq!(reply.auto_reply_state, "Enabled");
}

/// One mailbox's Exchange settings: `Get-*` answers them, a pinned `Set-*` changes them, so the
/// actions' plans see a change to make and their verifications see it made.
#[derive(Clone)]
struct ExoState(Arc<Mutex<Value>>);

impl ExoState {
    fn reads(&self) -> impl Fn(&wiremock::Request) -> ResponseTemplate + use<> {
        let state = self.0.clone();
        move |_: &wiremock::Request| exo_ok(json!([state.lock().unwrap().clone()]))
    }

    fn applies(&self, change: Value) -> impl Fn(&wiremock::Request) -> ResponseTemplate + use<> {
        let state = self.0.clone();
        move |_: &wiremock::Request| {
            let mut state = state.lock().unwrap();
            for (key, value) in change.as_object().unwrap() {
                state[key] = value.clone();
            }
            exo_ok(json!([]))
        }
    }
}

#[tokio::test]
async fn mailbox_settings_use_set_mailbox() {
    let w = wire().await;
    let anchor = "UPN:a@contoso.example";
    // The settings cmdlets are the vendor actions' own: they run through the engine, whose plans
    // read the owner (unknown to Graph here) and the current settings, and verify after.
    graph("GET", "users/a@contoso.example")
        .and(query_param("$select", USER_SELECT))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {
            "code": "Request_ResourceNotFound", "message": "Resource 'a@contoso.example' does not exist or one of its queried reference-property objects are not present."}})))
        .expect(5)
        .mount(&w.server)
        .await;
    let mailbox = ExoState(Arc::new(Mutex::new(json!({
        "Identity": "a", "UserPrincipalName": "a@contoso.example", "RecipientTypeDetails": "UserMailbox",
        "ForwardingSmtpAddress": null, "DeliverToMailboxAndForward": false, "HiddenFromAddressListsEnabled": false
    }))));
    let auto_reply = ExoState(Arc::new(Mutex::new(json!({
        "AutoReplyState": "Disabled", "InternalMessage": null, "ExternalMessage": null, "ExternalAudience": "All"
    }))));
    exo(
        "Get-Mailbox",
        json!({"Identity": "a@contoso.example"}),
        anchor,
    )
    .respond_with(mailbox.reads())
    .expect(8)
    .mount(&w.server)
    .await;
    exo(
        "Get-MailboxAutoReplyConfiguration",
        json!({"Identity": "a@contoso.example"}),
        anchor,
    )
    .respond_with(auto_reply.reads())
    .expect(2)
    .mount(&w.server)
    .await;
    for (parameters, change) in [
        (
            json!({"Identity": "a@contoso.example", "Type": "Shared"}),
            json!({"RecipientTypeDetails": "SharedMailbox"}),
        ),
        (
            json!({"Identity": "a@contoso.example", "ForwardingSmtpAddress": "smtp:b@contoso.example", "DeliverToMailboxAndForward": true}),
            json!({"ForwardingSmtpAddress": "smtp:b@contoso.example", "DeliverToMailboxAndForward": true}),
        ),
        (
            json!({"Identity": "a@contoso.example", "ForwardingSmtpAddress": null, "DeliverToMailboxAndForward": false}),
            json!({"ForwardingSmtpAddress": null, "DeliverToMailboxAndForward": false}),
        ),
        (
            json!({"Identity": "a@contoso.example", "HiddenFromAddressListsEnabled": true}),
            json!({"HiddenFromAddressListsEnabled": true}),
        ),
    ] {
        exo("Set-Mailbox", parameters, anchor)
            .respond_with(mailbox.applies(change))
            .expect(1)
            .mount(&w.server)
            .await;
    }
    exo(
        "Set-MailboxAutoReplyConfiguration",
        json!({"Identity": "a@contoso.example", "AutoReplyState": "Enabled",
        "InternalMessage": "Away", "ExternalAudience": "Known"}),
        anchor,
    )
    .respond_with(auto_reply.applies(json!({"AutoReplyState": "Enabled",
        "InternalMessage": "Away", "ExternalAudience": "Known"})))
    .expect(1)
    .mount(&w.server)
    .await;
    let engine = common::engine(&w.m365);
    for (key, action, params) in [
        (
            "shared",
            "m365.convert_to_shared",
            json!({"mailbox": "a@contoso.example"}),
        ),
        (
            "fwd-on",
            "m365.set_forwarding",
            json!({"mailbox": "a@contoso.example", "forward_to": "b@contoso.example", "keep_copy": true}),
        ),
        (
            "fwd-off",
            "m365.set_forwarding",
            json!({"mailbox": "a@contoso.example"}),
        ),
        (
            "hide",
            "m365.hide_from_gal",
            json!({"mailbox": "a@contoso.example", "hidden": true}),
        ),
        (
            "ooo",
            "m365.set_auto_reply",
            json!({"mailbox": "a@contoso.example", "state": "enabled",
            "internal_message": "Away", "external_audience": "known"}),
        ),
    ] {
        let receipt = common::execute(&engine, key, action, params).await;
        assert_eq!(receipt.outcome.status, StepStatus::Verified, "{action}");
    }
}

#[tokio::test]
async fn send_mail_and_service_health() {
    let w = wire().await;
    json_body("POST", "users/helpdesk@contoso.example/sendMail", json!({
        "message": {"subject": "Done", "body": {"contentType": "Text", "content": "Your access was granted."},
                    "toRecipients": [{"emailAddress": {"address": "adelev@contoso.example"}}]},
        "saveToSentItems": true
    }))
    .respond_with(ResponseTemplate::new(202))
    .expect(1)
    .mount(&w.server)
    .await;
    graph("GET", "admin/serviceAnnouncement/healthOverviews")
        .respond_with(ok(json!({"value": [{"id": "Exchange", "service": "Exchange Online", "status": "serviceDegradation"}]})))
        .expect(1)
        .mount(&w.server)
        .await;
    graph("GET", "admin/serviceAnnouncement/issues")
        .and(query_param(
            "$filter",
            "isResolved eq false and service eq 'Exchange Online'",
        ))
        .respond_with(ok(
            json!({"value": [{"id": "EX1", "title": "Delays", "service": "Exchange Online",
            "classification": "incident", "status": "serviceDegradation", "isResolved": false}]}),
        ))
        .expect(1)
        .mount(&w.server)
        .await;
    let message = Message {
        to: "adelev@contoso.example".into(),
        subject: "Done".into(),
        body: "Your access was granted.".into(),
    };
    let m365 = w.m365.clone();
    common::write(move |proof| Box::pin(async move { m365.send(proof, &message).await }))
        .await
        .unwrap();
    assert_eq!(
        w.m365.service_health().await.unwrap()[0].status,
        "serviceDegradation"
    );
    assert_eq!(
        w.m365
            .service_issues(true, Some("Exchange Online"))
            .await
            .unwrap()[0]
            .id,
        "EX1"
    );
}

#[tokio::test]
async fn throttling_honours_retry_after_and_garbage_is_invalid() {
    let w = wire().await;
    graph("GET", "subscribedSkus")
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(json!({
            "error": {"code": "TooManyRequests", "message": "Too many requests"}})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&w.server)
        .await;
    graph("GET", "subscribedSkus")
        .respond_with(ok(skus_page(4)))
        .expect(1)
        .mount(&w.server)
        .await;
    let started = std::time::Instant::now();
    assert_eq!(w.m365.licenses().await.unwrap().len(), 1);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After honoured"
    );

    graph("GET", "admin/serviceAnnouncement/healthOverviews")
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>not json</html>"))
        .mount(&w.server)
        .await;
    let garbage = w.m365.service_health().await.unwrap_err();
    assert_eq!(garbage.kind(), ErrorKind::Invalid);
}

#[tokio::test]
async fn health_probes_graph() {
    let w = wire().await;
    graph("GET", "users")
        .and(query_param("$top", "1"))
        .and(query_param("$select", "id"))
        .respond_with(ok(json!({"value": [{"id": USER_ID}]})))
        .expect(1)
        .mount(&w.server)
        .await;
    assert!(w.m365.health().await.unwrap().healthy);
    w.validate().await;
}
