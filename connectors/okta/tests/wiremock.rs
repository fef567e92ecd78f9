//! Every Okta call the connector makes, pinned (method, path, query, headers, body) against
//! wiremock replaying the documented response shapes; every request is then validated against
//! the Okta spec kept in the repository.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use stackhand_core::{
    ActionId, ActionRequest, Connector, Engine, ErrorKind, Group, GroupKind, IdempotencyKey,
    IdentityProvider, IdentityWrites, NewUser, Principal, Receipt, ResetDelivery,
    ResetPasswordOptions, StepStatus, Submission, User, UserQuery,
};
use stackhand_okta::OktaConnector;
use stackhand_testkit::writes::through_engine;
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const HANK: &str = "00u1hankscorpio00001";
const HANK_LOGIN: &str = "hank.scorpio@globex.example";

async fn setup() -> (MockServer, OktaConnector) {
    let server = MockServer::start().await;
    let connector = build(&tenant(), token_config(&server.uri())).await;
    (server, connector)
}

fn ssws() -> wiremock::matchers::HeaderExactMatcher {
    header("authorization", format!("SSWS {API_TOKEN}").as_str())
}

fn accept_json() -> wiremock::matchers::HeaderExactMatcher {
    header("accept", "application/json")
}

fn no_body(request: &Request) -> bool {
    request.body.is_empty()
}

fn hank() -> User {
    serde_json::from_value::<stackhand_okta::models::OktaUser>(user(
        HANK, HANK_LOGIN, "ACTIVE", "OKTA",
    ))
    .expect("user")
    .into_user(Vec::new())
}

async fn check_spec(server: &MockServer) {
    assert_requests_match_spec(&server.received_requests().await.expect("recording on"));
}

#[tokio::test]
async fn get_user_reads_the_user_and_its_admin_roles() {
    let (server, okta) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/users/{HANK_LOGIN}")))
        .and(ssws())
        .and(accept_json())
        .and(no_body)
        .respond_with(
            ResponseTemplate::new(200).set_body_json(user(HANK, HANK_LOGIN, "ACTIVE", "OKTA")),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/users/{HANK}/roles")))
        .and(ssws())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": "ra1b8aahBZuGJRRa30g4", "label": "Super Organization Administrator", "type": "SUPER_ADMIN",
             "status": "ACTIVE", "created": "2019-02-06T16:17:40.000Z", "lastUpdated": "2019-02-06T16:17:40.000Z",
             "assignmentType": "USER", "_links": {"assignee": {"href": "https://globex.okta.com/api/v1/users/00u1"}}},
            // Held through a group: Okta lists it with the user's own (assignee: the group).
            {"id": "gra25fapn1prGTBKV0g4", "label": "Organization Administrator", "type": "ORG_ADMIN",
             "status": "ACTIVE", "created": "2019-02-06T16:20:57.000Z", "lastUpdated": "2019-02-06T16:20:57.000Z",
             "assignmentType": "GROUP", "_links": {"assignee": {"href": "https://globex.okta.com/api/v1/groups/00g1ousb3XCr9Dkr20g4"}}},
            {"id": "gra25fapn1prGTBKV0g5", "label": "Help Desk Administrator", "type": "HELP_DESK_ADMIN",
             "status": "INACTIVE", "assignmentType": "GROUP"}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let user = okta.get_user(HANK_LOGIN).await.expect("user");
    assert_eq!(user.id, HANK);
    assert_eq!(user.roles, ["SUPER_ADMIN", "ORG_ADMIN"]);
    assert!(user.enabled && !user.locked && !user.externally_mastered);
    assert_eq!(user.status.as_deref(), Some("ACTIVE"));
    check_spec(&server).await;
}

#[tokio::test]
async fn get_user_maps_not_found_and_escapes_the_path() {
    let (server, okta) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/odd%2Fname%20x@globex.example"))
        .respond_with(ResponseTemplate::new(404).set_body_json(okta_error(
            "E0000007",
            "Not found: Resource not found: odd/name x@globex.example (User)",
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let error = okta
        .get_user("odd/name x@globex.example")
        .await
        .expect_err("absent");
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert_eq!(error.context_value("vendor_code"), Some("E0000007"));
}

#[tokio::test]
async fn find_users_searches_and_follows_link_pages() {
    let (server, okta) = setup().await;
    let second = format!(
        "<{}/api/v1/users?search=profile.email+eq+%22hank.scorpio%40globex.example%22&after=00u1&limit=200>; rel=\"next\"",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param(
            "search",
            "profile.email eq \"hank.scorpio@globex.example\"",
        ))
        .and(query_param("limit", "200"))
        .and(|r: &Request| !r.url.query().unwrap_or_default().contains("after="))
        .and(ssws())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([user(HANK, HANK_LOGIN, "ACTIVE", "OKTA")]))
                .append_header(
                    "link",
                    format!("<{}/api/v1/users?limit=200>; rel=\"self\"", server.uri()).as_str(),
                )
                .append_header("link", second.as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param("after", "00u1"))
        .and(ssws())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([user(
            "00u2shadowhank000002",
            "hank.scorpio2@globex.example",
            "SUSPENDED",
            "OKTA"
        )])))
        .expect(1)
        .mount(&server)
        .await;
    let found = okta
        .find_users(&UserQuery::Email(HANK_LOGIN.into()))
        .await
        .expect("found");
    assert_eq!(found.len(), 2);
    assert!(!found[1].enabled);
    check_spec(&server).await;
}

#[tokio::test]
async fn find_users_by_login_and_name_build_the_right_search() {
    let (server, okta) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/a%22b@globex.example"))
        .and(ssws())
        .respond_with(ResponseTemplate::new(404).set_body_json(okta_error(
            "E0000007",
            "Not found: Resource not found: a\"b@globex.example (User)",
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/users/{HANK_LOGIN}")))
        .and(ssws())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(user(HANK, HANK_LOGIN, "ACTIVE", "OKTA")),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param(
            "search",
            "profile.displayName sw \"Hank\" or profile.firstName sw \"Hank\" or profile.lastName sw \"Hank\"",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([user(HANK, HANK_LOGIN, "ACTIVE", "OKTA")])))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        okta.find_users(&UserQuery::Login(HANK_LOGIN.into()))
            .await
            .expect("ok")
            .len(),
        1
    );
    assert!(
        okta.find_users(&UserQuery::Login("a\"b@globex.example".into()))
            .await
            .expect("ok")
            .is_empty()
    );
    assert_eq!(
        okta.find_users(&UserQuery::Name("Hank".into()))
            .await
            .expect("ok")
            .len(),
        1
    );
    check_spec(&server).await;
}

/// Reset Hank's password through the engine.
async fn reset_hank(
    okta: OktaConnector,
    options: ResetPasswordOptions,
) -> stackhand_core::Result<stackhand_core::PasswordReset> {
    through_engine(&tenant(), move |proof| {
        Box::pin(async move { okta.reset_password(proof, &hank(), &options).await })
    })
    .await
}

#[tokio::test]
async fn reset_password_link_revokes_sessions() {
    let (server, okta) = setup().await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/api/v1/users/{HANK}/lifecycle/reset_password"
        )))
        .and(query_param("sendEmail", "false"))
        .and(query_param("revokeSessions", "true"))
        .and(ssws())
        .and(no_body)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "resetPasswordUrl": "https://globex.okta.com/reset_password/XE6wE17zmphl3KqAPFxO"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let reset = reset_hank(
        okta,
        ResetPasswordOptions {
            delivery: ResetDelivery::ResetLink,
            force_change: true,
            revoke_sessions: true,
        },
    )
    .await
    .expect("reset");
    assert_eq!(
        reset.reset_link.expect("link").expose_secret(),
        "https://globex.okta.com/reset_password/XE6wE17zmphl3KqAPFxO"
    );
    assert!(reset.temporary_password.is_none());
    check_spec(&server).await;
}

#[tokio::test]
async fn temporary_password_expires_the_password() {
    let (server, okta) = setup().await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/api/v1/users/{HANK}/lifecycle/expire_password_with_temp_password"
        )))
        .and(query_param("revokeSessions", "false"))
        .and(ssws())
        .and(no_body)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"tempPassword": "F46gy7X4"})))
        .expect(1)
        .mount(&server)
        .await;
    let reset = reset_hank(
        okta,
        ResetPasswordOptions {
            delivery: ResetDelivery::TemporaryPassword,
            force_change: true,
            revoke_sessions: false,
        },
    )
    .await
    .expect("reset");
    assert_eq!(
        reset.temporary_password.expect("temp").expose_secret(),
        "F46gy7X4"
    );
    check_spec(&server).await;
}

#[tokio::test]
async fn password_without_forced_change_is_set_then_sessions_revoked() {
    let (server, okta) = setup().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v1/users/{HANK}")))
        .and(ssws())
        .and(header("content-type", "application/json"))
        .and(|r: &Request| {
            let body: Value = serde_json::from_slice(&r.body).unwrap_or_default();
            let password = body
                .pointer("/credentials/password/value")
                .and_then(Value::as_str)
                .unwrap_or_default();
            body.as_object().is_some_and(|o| o.len() == 1) && password.len() == 20
        })
        .respond_with(
            ResponseTemplate::new(200).set_body_json(user(HANK, HANK_LOGIN, "ACTIVE", "OKTA")),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/api/v1/users/{HANK}/sessions")))
        .and(query_param("oauthTokens", "true"))
        .and(query_param("forgetDevices", "true"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let reset = reset_hank(
        okta,
        ResetPasswordOptions {
            delivery: ResetDelivery::TemporaryPassword,
            force_change: false,
            revoke_sessions: true,
        },
    )
    .await
    .expect("reset");
    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.expect("on")[0].body)
            .expect("json");
    assert_eq!(
        reset.temporary_password.expect("password").expose_secret(),
        sent["credentials"]["password"]["value"]
            .as_str()
            .expect("value")
    );
    check_spec(&server).await;
}

#[tokio::test]
async fn directory_users_are_refused_before_any_call() {
    let (server, okta) = setup().await;
    let homer = serde_json::from_value::<stackhand_okta::models::OktaUser>(user(
        "00u1homer",
        "homer.simpson@globex.example",
        "LOCKED_OUT",
        "ACTIVE_DIRECTORY",
    ))
    .expect("user")
    .into_user(Vec::new());
    assert!(homer.externally_mastered);
    let (idp, target) = (okta.clone(), homer.clone());
    let error = through_engine(&tenant(), move |proof| {
        Box::pin(async move { idp.unlock(proof, &target).await })
    })
    .await
    .expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert!(error.message().contains("directory"));
    let error = through_engine(&tenant(), move |proof| {
        Box::pin(async move {
            okta.reset_password(proof, &homer, &ResetPasswordOptions::default())
                .await
        })
    })
    .await
    .expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert!(server.received_requests().await.expect("on").is_empty());
}

#[tokio::test]
async fn unlock_posts_the_lifecycle_call_and_maps_refusals() {
    let (server, okta) = setup().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v1/users/{HANK}/lifecycle/unlock")))
        .and(ssws())
        .and(no_body)
        .respond_with(ResponseTemplate::new(200))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    let idp = okta.clone();
    through_engine(&tenant(), move |proof| {
        Box::pin(async move { idp.unlock(proof, &hank()).await })
    })
    .await
    .expect("unlocked");
    Mock::given(method("POST"))
        .and(path(format!("/api/v1/users/{HANK}/lifecycle/unlock")))
        .respond_with(ResponseTemplate::new(403).set_body_json(okta_error(
            "E0000032",
            "Unlock is not allowed for this user.",
            Some("The user is not locked out."),
        )))
        .mount(&server)
        .await;
    let error = through_engine(&tenant(), move |proof| {
        Box::pin(async move { okta.unlock(proof, &hank()).await })
    })
    .await
    .expect_err("not locked");
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert!(error.message().contains("Unlock is not allowed"));
    check_spec(&server).await;
}

fn factors_body() -> Value {
    json!([
        {"id": "opf1hankpush00000001", "factorType": "push", "provider": "OKTA", "vendorName": "OKTA", "status": "ACTIVE",
         "created": "2014-04-15T18:10:06.000Z", "lastUpdated": "2014-04-15T18:10:06.000Z",
         "profile": {"credentialId": "hank.scorpio@globex.example", "deviceType": "SmartPhone_IPhone", "name": "Hank's iPhone", "platform": "IOS", "version": "9.0"}},
        {"id": "sms2gt8gzgEBPUWBIFHN", "factorType": "sms", "provider": "OKTA", "status": "ACTIVE",
         "created": "2014-06-27T20:27:26.000Z", "lastUpdated": "2014-06-27T20:27:26.000Z",
         "profile": {"phoneNumber": "+1-555-415-1337"}}
    ])
}

#[tokio::test]
async fn mfa_methods_are_listed_and_reset() {
    let (server, okta) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/users/{HANK}/factors")))
        .and(ssws())
        .respond_with(ResponseTemplate::new(200).set_body_json(factors_body()))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/api/v1/users/{HANK}/lifecycle/reset_factors"
        )))
        .and(ssws())
        .and(no_body)
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let methods = okta.list_mfa_methods(&hank()).await.expect("methods");
    assert_eq!(methods.len(), 2);
    assert_eq!(methods[0].description.as_deref(), Some("Hank's iPhone"));
    let idp = okta.clone();
    let reset = through_engine(&tenant(), move |proof| {
        Box::pin(async move { idp.reset_mfa(proof, &hank(), false).await })
    })
    .await
    .expect("reset");
    assert_eq!(reset.removed.len(), 2);
    assert!(reset.temporary_access_pass.is_none());
    let error = through_engine(&tenant(), move |proof| {
        Box::pin(async move { okta.reset_mfa(proof, &hank(), true).await })
    })
    .await
    .expect_err("no TAP in Okta");
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    check_spec(&server).await;
}

#[tokio::test]
async fn sessions_are_revoked_with_tokens_and_devices() {
    let (server, okta) = setup().await;
    Mock::given(method("DELETE"))
        .and(path(format!("/api/v1/users/{HANK}/sessions")))
        .and(query_param("oauthTokens", "true"))
        .and(query_param("forgetDevices", "true"))
        .and(ssws())
        .and(no_body)
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    through_engine(&tenant(), move |proof| {
        Box::pin(async move { okta.revoke_sessions(proof, &hank()).await })
    })
    .await
    .expect("revoked");
    check_spec(&server).await;
}

/// Block or restore Hank's sign-in through the engine.
async fn set_enabled(okta: &OktaConnector, enabled: bool) -> stackhand_core::Result<()> {
    let idp = okta.clone();
    through_engine(&tenant(), move |proof| {
        Box::pin(async move { idp.set_enabled(proof, &hank(), enabled).await })
    })
    .await
}

#[tokio::test]
async fn sign_in_is_blocked_by_suspend_and_restored_by_unsuspend() {
    let (server, okta) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/users/{HANK}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(user(HANK, HANK_LOGIN, "ACTIVE", "OKTA")),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v1/users/{HANK}/lifecycle/suspend")))
        .and(ssws())
        .and(no_body)
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    set_enabled(&okta, false).await.expect("suspended");
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/users/{HANK}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(user(
            HANK,
            HANK_LOGIN,
            "SUSPENDED",
            "OKTA",
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v1/users/{HANK}/lifecycle/unsuspend")))
        .and(ssws())
        .and(no_body)
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    set_enabled(&okta, true).await.expect("unsuspended");
    // Already suspended: blocking again changes nothing and sends no lifecycle call.
    set_enabled(&okta, false).await.expect("no-op");
    check_spec(&server).await;
}

#[tokio::test]
async fn groups_are_read_found_and_changed() {
    let (server, okta) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/users/{HANK}/groups")))
        .and(ssws())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            group("00g1globexeveryone01", "Everyone", "BUILT_IN"),
            group("00g1globexsales00003", "Sales", "OKTA_GROUP"),
            group("00g1globexaddomadm06", "GLOBEX Domain Admins", "APP_GROUP"),
        ])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/groups"))
        .and(query_param("search", "profile.name eq \"Sales\""))
        .and(query_param("limit", "200"))
        .and(ssws())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([group(
            "00g1globexsales00003",
            "Sales",
            "OKTA_GROUP"
        )])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/groups/00g1globexaddomadm06"))
        .and(ssws())
        .respond_with(ResponseTemplate::new(200).set_body_json(group(
            "00g1globexaddomadm06",
            "GLOBEX Domain Admins",
            "APP_GROUP",
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!(
            "/api/v1/groups/00g1globexsales00003/users/{HANK}"
        )))
        .and(ssws())
        .and(no_body)
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!(
            "/api/v1/groups/00g1globexsales00003/users/{HANK}"
        )))
        .and(ssws())
        .and(no_body)
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    // Found groups say whether membership confers an admin role: one read of the named group's
    // roles each.
    for (id, roles) in [
        ("00g1globexsales00003", json!([])),
        (
            "00g1globexaddomadm06",
            json!([{"id": "grasraHPx7i79ajaJ0g3", "label": "Organization Administrator", "type": "ORG_ADMIN",
                    "status": "ACTIVE", "created": "2019-02-27T14:56:55.000Z", "lastUpdated": "2019-02-27T14:56:55.000Z",
                    "assignmentType": "GROUP", "_links": {"assignee": {"href": "https://globex.okta.com/api/v1/groups/00g1globexaddomadm06"}}}]),
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/api/v1/groups/{id}/roles")))
            .and(ssws())
            .and(accept_json())
            .and(no_body)
            .respond_with(ResponseTemplate::new(200).set_body_json(roles))
            .expect(1)
            .mount(&server)
            .await;
    }

    let groups = okta.user_groups(&hank()).await.expect("groups");
    let kinds: Vec<(GroupKind, bool)> = groups.iter().map(|g| (g.kind, g.writable)).collect();
    assert_eq!(
        kinds,
        [
            (GroupKind::External, false),
            (GroupKind::Security, true),
            (GroupKind::External, false)
        ]
    );
    let sales = okta.find_group("Sales").await.expect("sales");
    assert!(!sales.privileged);
    let (idp, group) = (okta.clone(), sales.clone());
    through_engine(&tenant(), move |proof| {
        Box::pin(async move { idp.add_to_group(proof, &hank(), &group).await })
    })
    .await
    .expect("added");
    let idp = okta.clone();
    through_engine(&tenant(), move |proof| {
        Box::pin(async move { idp.remove_from_group(proof, &hank(), &sales).await })
    })
    .await
    .expect("removed");

    let ad: Group = okta
        .find_group("00g1globexaddomadm06")
        .await
        .expect("by id");
    assert!(ad.privileged, "an admin role is assigned to the group");
    let before = server.received_requests().await.expect("on").len();
    let error = through_engine(&tenant(), move |proof| {
        Box::pin(async move { okta.add_to_group(proof, &hank(), &ad).await })
    })
    .await
    .expect_err("APP_GROUP is read-only");
    assert_eq!(error.kind(), ErrorKind::Invalid);
    assert!(
        error
            .message()
            .contains("only OKTA_GROUP groups are writable"),
        "{error}"
    );
    assert_eq!(
        server.received_requests().await.expect("on").len(),
        before,
        "refused before any call"
    );
    check_spec(&server).await;
}

#[tokio::test]
async fn create_user_posts_an_active_user_with_a_generated_password() {
    let (server, okta) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/users"))
        .and(query_param("activate", "true"))
        .and(query_param("nextLogin", "changePassword"))
        .and(ssws())
        .and(header("content-type", "application/json"))
        .and(body_partial_json(json!({
            "profile": {
                "login": "isaac.brock@globex.example", "email": "isaac.brock@globex.example",
                "firstName": "Isaac", "lastName": "Brock", "displayName": "Isaac Brock",
                "department": "Engineering", "title": "Engineer"
            }
        })))
        .and(|r: &Request| {
            let body: Value = serde_json::from_slice(&r.body).unwrap_or_default();
            body.as_object().is_some_and(|o| o.len() == 2)
                && body["profile"].as_object().is_some_and(|p| p.len() == 7)
                && body
                    .pointer("/credentials/password/value")
                    .and_then(Value::as_str)
                    .is_some_and(|p| p.len() == 20)
        })
        .respond_with(ResponseTemplate::new(200).set_body_json(user(
            "00ub0oNGTSWTBKOLGLNR",
            "isaac.brock@globex.example",
            "PASSWORD_EXPIRED",
            "OKTA",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let created = through_engine(&tenant(), move |proof| {
        Box::pin(async move {
            okta.create_user(
                proof,
                &NewUser {
                    login: "isaac.brock@globex.example".into(),
                    first_name: "Isaac".into(),
                    last_name: "Brock".into(),
                    display_name: None,
                    email: None,
                    department: Some("Engineering".into()),
                    job_title: Some("Engineer".into()),
                    usage_location: None,
                    mail_nickname: None,
                },
                None,
            )
            .await
        })
    })
    .await
    .expect("created");
    assert_eq!(created.user.id, "00ub0oNGTSWTBKOLGLNR");
    let password = created.initial_password.expect("password");
    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.expect("on")[0].body)
            .expect("json");
    assert_eq!(
        password.expose_secret(),
        sent["credentials"]["password"]["value"]
            .as_str()
            .expect("value")
    );
    check_spec(&server).await;
}

#[tokio::test]
async fn licences_and_mailboxes_are_unsupported() {
    let (server, okta) = setup().await;
    let features = okta.features();
    assert!(!features.licenses && !features.mailboxes && !features.temporary_access_pass);
    assert!(features.reset_links && features.native_unlock && features.suspend);
    assert_eq!(
        okta.licenses().await.expect_err("none").kind(),
        ErrorKind::Unsupported
    );
    assert_eq!(
        okta.user_licenses(&hank()).await.expect_err("none").kind(),
        ErrorKind::Unsupported
    );
    assert_eq!(
        okta.mailbox_permissions(HANK_LOGIN)
            .await
            .expect_err("none")
            .kind(),
        ErrorKind::Unsupported
    );
    assert!(server.received_requests().await.expect("on").is_empty());
}

fn epoch_in(seconds: u64) -> String {
    (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + seconds)
        .to_string()
}

#[tokio::test]
async fn a_429_e0000047_waits_for_the_reset_and_succeeds() {
    let server = MockServer::start().await;
    // Its own tenant: the pause the 429 sets is shared per (tenant, vendor).
    let tenant = stackhand_core::TenantId::new("globex-429").expect("tenant");
    let okta = build(&tenant, token_config(&server.uri())).await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/users/{HANK}/factors")))
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_json(okta_error(
                    "E0000047",
                    "API call exceeded rate limit due to too many requests.",
                    None,
                ))
                .insert_header("x-rate-limit-limit", "600")
                .insert_header("x-rate-limit-remaining", "0")
                .insert_header("x-rate-limit-reset", epoch_in(1).as_str()),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/users/{HANK}/factors")))
        .respond_with(ResponseTemplate::new(200).set_body_json(factors_body()))
        .expect(1)
        .mount(&server)
        .await;
    let methods = okta
        .list_mfa_methods(&hank())
        .await
        .expect("retried after the reset");
    assert_eq!(methods.len(), 2);
    check_spec(&server).await;
}

#[tokio::test]
async fn rate_headers_hold_requests_before_a_429() {
    let server = MockServer::start().await;
    // Its own tenant: the rate budget is shared per (tenant, vendor), and this one is held 30 s.
    let tenant = stackhand_core::TenantId::new("globex-rate-budget").expect("tenant");
    let okta = build(
        &tenant,
        token_config(&server.uri()).with_rate_limit_reserve(1),
    )
    .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/api/v1/users/{HANK}/sessions")))
        .respond_with(
            ResponseTemplate::new(204)
                .insert_header("x-rate-limit-limit", "100")
                .insert_header("x-rate-limit-remaining", "1")
                .insert_header("x-rate-limit-reset", epoch_in(30).as_str()),
        )
        .mount(&server)
        .await;
    through_engine(&tenant, move |proof| {
        Box::pin(async move { okta.revoke_sessions(proof, &hank()).await })
    })
    .await
    .expect("revoked");
    // The budget the connector's HTTP client shares with every client of (tenant, okta).
    let pause = stackhand_http::RateLimits::global()
        .budget(&tenant, stackhand_okta::VENDOR)
        .remaining_pause()
        .expect("held");
    assert!(
        pause > Duration::from_secs(20),
        "held until the window resets: {pause:?}"
    );
}

#[tokio::test]
async fn a_garbage_success_body_is_a_clear_invalid_error() {
    let (server, okta) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/users/{HANK}/groups")))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>proxy login</html>"))
        .mount(&server)
        .await;
    let error = okta.user_groups(&hank()).await.expect_err("garbage");
    assert_eq!(error.kind(), ErrorKind::Invalid);
}

#[tokio::test]
async fn health_probes_one_user() {
    let (server, okta) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param("limit", "1"))
        .and(ssws())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([user(HANK, HANK_LOGIN, "ACTIVE", "OKTA")])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let health = okta.health().await.expect("health");
    assert!(health.healthy, "{}", health.detail);
    check_spec(&server).await;
}

/// The `scope` of a token request with every feature on (admin roles read).
const ALL_SCOPES: &str =
    "okta.users.read okta.users.manage okta.groups.read okta.groups.manage okta.roles.read";

/// The `scope` of a token request when admin roles are not read.
const SCOPES_WITHOUT_ROLES: &str =
    "okta.users.read okta.users.manage okta.groups.read okta.groups.manage";

/// Verify a client assertion with the test public key, the way Okta checks it.
fn assertion_is_valid(form: &[(String, String)], token_url: &str) -> bool {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(assertion) = field("client_assertion") else {
        return false;
    };
    let key =
        jsonwebtoken::DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY.as_bytes()).expect("public key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[token_url]);
    validation.set_issuer(&["0oa1globexsimsvc0001"]);
    let Ok(data) = jsonwebtoken::decode::<Value>(assertion, &key, &validation) else {
        return false;
    };
    data.header.kid.as_deref() == Some("sh-test-key")
        && data.claims["sub"] == "0oa1globexsimsvc0001"
        && data.claims["jti"].is_string()
        && field("client_assertion_type")
            == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        && field("grant_type") == Some("client_credentials")
        && field("scope") == Some(ALL_SCOPES)
        && field("client_secret").is_none()
}

/// The access token the wiremock token endpoint hands out.
const OAUTH_TOKEN: &str = "eyJraWQiOiJ0ZXN0In0.access-token-for-okta-tests";

/// The form fields of a token request.
fn form(request: &Request) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(&request.body).unwrap_or_default()
}

/// An org behind OAuth: the token endpoint answers one form request that `accepted` accepts
/// with [`OAUTH_TOKEN`] granting `scope`; Hank is read with that token `reads` times, and his
/// (no) admin roles `role_reads` times.
async fn mount_oauth_org(
    server: &MockServer,
    accepted: impl Fn(&[(String, String)]) -> bool + Send + Sync + 'static,
    scope: &str,
    reads: u64,
    role_reads: u64,
) {
    Mock::given(method("POST"))
        .and(path("/oauth2/v1/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(move |r: &Request| accepted(&form(r)))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3600, "access_token": OAUTH_TOKEN, "scope": scope
        })))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/users/{HANK}")))
        .and(header(
            "authorization",
            format!("Bearer {OAUTH_TOKEN}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(user(HANK, HANK_LOGIN, "ACTIVE", "OKTA")),
        )
        .expect(reads)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/users/{HANK}/roles")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(role_reads)
        .mount(server)
        .await;
}

#[tokio::test]
async fn oauth_private_key_jwt_fetches_a_bearer_token() {
    let server = MockServer::start().await;
    let token_url = format!("{}/oauth2/v1/token", server.uri());
    let accepted = move |form: &[(String, String)]| assertion_is_valid(form, &token_url);
    mount_oauth_org(&server, accepted, ALL_SCOPES, 2, 2).await;
    let okta = build(&tenant(), jwt_config(&server.uri(), "0oa1globexsimsvc0001")).await;
    assert!(!format!("{okta:?}").contains("PRIVATE KEY"));
    okta.get_user(HANK)
        .await
        .expect("first call fetches the token");
    okta.get_user(HANK).await.expect("second call reuses it");
    let observed = server.received_requests().await.expect("on");
    assert_requests_match_spec(&observed);
}

#[tokio::test]
async fn the_token_request_asks_only_for_the_scopes_the_features_need() {
    for (read_admin_roles, scope) in [(true, ALL_SCOPES), (false, SCOPES_WITHOUT_ROLES)] {
        let server = MockServer::start().await;
        let accepted =
            move |form: &[(String, String)]| form.contains(&("scope".into(), scope.into()));
        // Without role reads the roles endpoint is never called, so the scope is not needed.
        mount_oauth_org(&server, accepted, scope, 1, u64::from(read_admin_roles)).await;
        let config =
            jwt_config(&server.uri(), "0oa1globexsimsvc0001").with_admin_roles(read_admin_roles);
        let okta = build(&tenant(), config).await;
        let hank = okta
            .get_user(HANK)
            .await
            .expect("read with the scoped token");
        assert!(hank.roles.is_empty());
        let requests = server.received_requests().await.expect("on");
        let token_request = requests
            .iter()
            .find(|r| r.url.path() == "/oauth2/v1/token")
            .expect("a token request");
        let scopes: Vec<String> = form(token_request)
            .into_iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(scopes, [scope], "read_admin_roles = {read_admin_roles}");
        assert_requests_match_spec(&requests);
    }
}

#[tokio::test]
async fn a_refused_role_read_says_how_to_proceed() {
    let (server, okta) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/users/{HANK}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(user(HANK, HANK_LOGIN, "ACTIVE", "OKTA")),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/users/{HANK}/roles")))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(okta_error(
                    "E0000006",
                    "You do not have permission to perform the requested action",
                    None,
                ))
                .insert_header("x-okta-request-id", "reqRolesDenied01"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let error = okta.get_user(HANK).await.expect_err("roles refused");
    assert_eq!(error.kind(), ErrorKind::Forbidden);
    assert!(!error.is_temporary());
    assert_eq!(error.context_value("key"), Some("read_admin_roles"));
    let text = error.to_string();
    assert!(
        text.contains("okta.roles.read") && text.contains("read_admin_roles = false"),
        "{text}"
    );
    // Okta's own answer is the cause, with its code and request id.
    assert!(
        text.contains("E0000006") && text.contains("reqRolesDenied01"),
        "{text}"
    );
    check_spec(&server).await;
}

/// An engine serving the tenant with this connector, for its `okta.*` vendor actions.
fn engine(okta: OktaConnector) -> Engine {
    stackhand_testkit::writes::allow_all_engine(Arc::new(okta), "Globex")
}

/// Submit `action` on Hank and return the receipt of its execution.
async fn submit(engine: &Engine, key: &str, action: &'static str) -> Box<Receipt> {
    let request = ActionRequest::new(
        IdempotencyKey::new(key).expect("key"),
        tenant(),
        ActionId::from_static(action),
        &json!({ "user": HANK }),
        Principal::technician("tech@msp.example", &["helpdesk"]),
    )
    .expect("request");
    match engine.submit(request).await.expect("submitted") {
        Submission::Executed(receipt) => receipt,
        other => panic!("{action} was not executed: {other:?}"),
    }
}

/// What a lifecycle action's plan reads besides the user: Hank's admin roles and groups
/// (none of either), `times` times.
async fn mount_plan_reads(server: &MockServer, times: u64) {
    for read in ["roles", "groups"] {
        Mock::given(method("GET"))
            .and(path(format!("/api/v1/users/{HANK}/{read}")))
            .and(ssws())
            .and(no_body)
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .expect(times)
            .mount(server)
            .await;
    }
}

/// Hank as `status`, for the next `times` reads of him.
async fn mount_hank_as(server: &MockServer, status: &str, times: u64) {
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/users/{HANK}")))
        .and(ssws())
        .and(no_body)
        .respond_with(
            ResponseTemplate::new(200).set_body_json(user(HANK, HANK_LOGIN, status, "OKTA")),
        )
        .up_to_n_times(times)
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn deactivate_and_activate_send_no_email() {
    let (server, okta) = setup().await;
    for op in ["deactivate", "activate"] {
        Mock::given(method("POST"))
            .and(path(format!("/api/v1/users/{HANK}/lifecycle/{op}")))
            .and(query_param("sendEmail", "false"))
            .and(ssws())
            .and(no_body)
            .respond_with(if op == "activate" {
                ResponseTemplate::new(200).set_body_json(json!({
                    "activationToken": "XE6wE17zmphl3KqAPFxO",
                    "activationUrl": "https://globex.okta.com/tokens/XE6wE17zmphl3KqAPFxO/verify"
                }))
            } else {
                ResponseTemplate::new(200)
            })
            .expect(1)
            .mount(&server)
            .await;
    }
    // The lifecycle calls are writes, made by the `okta.*` actions through the engine: each
    // plan reads Hank (with roles and groups) and each execution reads him back.
    mount_plan_reads(&server, 2).await;
    mount_hank_as(&server, "ACTIVE", 1).await; // deactivate's plan
    mount_hank_as(&server, "DEPROVISIONED", 2).await; // after deactivating; activate's plan
    mount_hank_as(&server, "ACTIVE", 1).await; // after activating
    let engine = engine(okta);
    let deactivated = submit(&engine, "deactivate-hank", "okta.deactivate").await;
    assert_eq!(
        deactivated.outcome.status,
        StepStatus::Verified,
        "deactivated: {:?}",
        deactivated.failure
    );
    let activated = submit(&engine, "activate-hank", "okta.activate").await;
    assert_eq!(
        activated.outcome.status,
        StepStatus::Verified,
        "activated: {:?}",
        activated.failure
    );
    check_spec(&server).await;
}

#[tokio::test]
async fn deactivation_is_not_retried_after_a_server_error() {
    let (server, okta) = setup().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v1/users/{HANK}/lifecycle/deactivate")))
        .respond_with(ResponseTemplate::new(503).set_body_json(okta_error(
            "E0000009",
            "Internal Server Error",
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    // The plan's reads, through the `okta.deactivate` action.
    mount_plan_reads(&server, 1).await;
    mount_hank_as(&server, "ACTIVE", 1).await;
    let receipt = submit(&engine(okta), "deactivate-hank", "okta.deactivate").await;
    assert_eq!(receipt.outcome.status, StepStatus::Failed);
    let failure = receipt.failure.expect("503");
    assert_eq!(failure.kind, ErrorKind::Transient);
}
