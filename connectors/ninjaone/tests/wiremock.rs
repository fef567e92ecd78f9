//! Every request the NinjaOne connector sends, pinned against a wiremock server answering with
//! the shapes NinjaOne documents: method, path, query, the bearer token, the JSON body; the
//! token request's form; and every API request validated against the vendor document
//! (`crates/testkit/specs/ninjaone.yaml`).

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use stackhand_core::engine::Engine;
use stackhand_core::{
    ActionId, ActionRequest, BuildContext, Error, ErrorKind, IdempotencyKey, Principal, Receipt,
    Rmm, RmmWrites, ScriptState, SecretRef, StepStatus, Submission, TenantId,
};
use stackhand_http::RetryConfig;
use stackhand_ninjaone::{NinjaOneConfig, NinjaOneConnector};
use stackhand_testkit::writes::{allow_all_engine, through_engine};
use stackhand_testkit::{Spec, assert_all_valid};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_ID: &str = "acme-stackhand-app";
const CLIENT_SECRET: &str = "ninjaone-client-secret-for-tests-91f2";
const ACCESS_TOKEN: &str = "ninjaone-access-token-for-tests-5d0c";
const BEARER: &str = "Bearer ninjaone-access-token-for-tests-5d0c";
const ORG: u32 = 12;

fn tenant() -> TenantId {
    TenantId::new("acme").unwrap()
}

/// A Windows agent device, as `GET /v2/device/{id}` answers (spec `Device` + `AgentDevice`).
fn device(id: u32, organization: u32) -> Value {
    json!({
        "id": id,
        "uid": "5b6c2c34-8f1e-4c7a-9a55-3f2b8e0d1a11",
        "organizationId": organization,
        "locationId": 30,
        "nodeClass": "WINDOWS_WORKSTATION",
        "approvalStatus": "APPROVED",
        "offline": false,
        "displayName": "ACME-LT-042",
        "systemName": "ACME-LT-042",
        "created": 1698765432.123,
        "lastContact": 1709301234.5,
        "ipAddresses": ["10.0.0.42"],
        "tags": ["vip"],
        "references": {"organization": {"id": organization, "name": "Acme Corp"}},
        "lastLoggedInUser": "ACME\\jdoe"
    })
}

/// A search match (spec `DeviceSearchMatch`).
fn search_match(id: u32, organization: u32, name: &str) -> Value {
    json!({
        "id": id,
        "organizationId": organization,
        "nodeClass": "WINDOWS_WORKSTATION",
        "offline": true,
        "displayName": name,
        "systemName": name,
        "tags": [],
        "score": 90,
        "matchAttr": "lastLoggedInUser",
        "matchAttrValue": "ACME\\jdoe"
    })
}

async fn connector(server: &MockServer) -> NinjaOneConnector {
    let mut config = NinjaOneConfig::new(
        CLIENT_ID,
        SecretRef::value(SecretString::from(CLIENT_SECRET)),
        ORG,
    )
    .with_base_url(server.uri().parse().unwrap());
    config.http.retry = RetryConfig {
        max_attempts: 2,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..RetryConfig::default()
    };
    Mock::given(method("POST"))
        .and(path("/ws/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600,
            "scope": "monitoring management"
        })))
        .mount(server)
        .await;
    NinjaOneConnector::build(&BuildContext::new(tenant()), config)
        .await
        .expect("the connector builds")
}

/// Answer `verb route` with `response`, only with the bearer token, and expect it `times`.
async fn expect(
    server: &MockServer,
    verb: &str,
    route: &str,
    response: ResponseTemplate,
    times: u64,
) {
    Mock::given(method(verb))
        .and(path(route))
        .and(header("authorization", BEARER))
        .respond_with(response)
        .expect(times)
        .mount(server)
        .await;
}

async fn device_read(server: &MockServer, id: u32) {
    expect(
        server,
        "GET",
        &format!("/v2/device/{id}"),
        ResponseTemplate::new(200).set_body_json(device(id, ORG)),
        1,
    )
    .await;
}

/// `METHOD path?query` of every API request received (not the token's), in order.
async fn received(server: &MockServer) -> Vec<String> {
    api_requests(server)
        .await
        .iter()
        .map(|r| match r.url.query() {
            Some(q) => format!("{} {}?{q}", r.method, r.url.path()),
            None => format!("{} {}", r.method, r.url.path()),
        })
        .collect()
}

async fn api_requests(server: &MockServer) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() != "/ws/oauth/token")
        .collect()
}

/// Every API request is one NinjaOne documents, with the bearer token.
async fn assert_documented(server: &MockServer) {
    let requests = api_requests(server).await;
    for request in &requests {
        let auth = request
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap());
        assert_eq!(auth, Some(BEARER), "{} {}", request.method, request.url);
    }
    let spec = Spec::load("ninjaone.yaml").expect("the NinjaOne document is bundled");
    assert_all_valid(&spec, &requests, "");
}

#[tokio::test]
async fn the_token_request_is_client_credentials_for_the_scopes_used() {
    let server = MockServer::start().await;
    device_read(&server, 1234).await;
    let ninja = connector(&server).await;
    ninja.get_device("1234").await.unwrap();
    let tokens: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/ws/oauth/token")
        .collect();
    assert_eq!(tokens.len(), 1);
    let token = &tokens[0];
    assert_eq!(token.method.as_str(), "POST");
    let content_type = token.headers.get("content-type").unwrap().to_str().unwrap();
    assert!(
        content_type.starts_with("application/x-www-form-urlencoded"),
        "{content_type}"
    );
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&token.body)
        .into_owned()
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(field("grant_type"), Some("client_credentials"));
    assert_eq!(field("client_id"), Some(CLIENT_ID));
    assert_eq!(field("client_secret"), Some(CLIENT_SECRET));
    assert_eq!(field("scope"), Some("monitoring management"));
    assert_documented(&server).await;
}

#[tokio::test]
async fn get_device_reads_one_device_of_the_organisation() {
    let server = MockServer::start().await;
    device_read(&server, 1234).await;
    expect(
        &server,
        "GET",
        "/v2/device/77",
        ResponseTemplate::new(200).set_body_json(device(77, 99)),
        1,
    )
    .await;
    let ninja = connector(&server).await;
    let found = ninja.get_device("1234").await.unwrap();
    assert_eq!(found.id, "1234");
    assert_eq!(found.name, "ACME-LT-042");
    assert_eq!(found.last_user.as_deref(), Some("ACME\\jdoe"));
    assert_eq!(found.tags, ["vip"]);
    assert!(found.online);
    // Another organisation's device is not this tenant's.
    let other = ninja.get_device("77").await.unwrap_err();
    assert_eq!(other.kind(), ErrorKind::NotFound, "{other}");
    // A malformed id is refused before any call.
    let bad = ninja.get_device("../1").await.unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::Invalid, "{bad}");
    assert_eq!(
        received(&server).await,
        ["GET /v2/device/1234", "GET /v2/device/77"]
    );
    assert_documented(&server).await;
}

#[tokio::test]
async fn find_devices_searches_and_keeps_the_organisations_devices() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/devices/search"))
        .and(query_param("q", "jdoe"))
        .and(query_param("limit", "50"))
        .and(header("authorization", BEARER))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "query": "jdoe",
            "devices": [search_match(1234, ORG, "ACME-LT-042"), search_match(88, 99, "OTHER-PC")]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let ninja = connector(&server).await;
    let found = ninja.find_devices(" jdoe ").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, "1234");
    assert_eq!(found[0].name, "ACME-LT-042");
    assert!(!found[0].online);
    assert_eq!(found[0].last_user, None);
    assert_eq!(
        received(&server).await,
        ["GET /v2/devices/search?q=jdoe&limit=50"]
    );
    assert_documented(&server).await;
}

#[tokio::test]
async fn add_tag_adds_an_existing_asset_tag_keeping_the_others() {
    let server = MockServer::start().await;
    device_read(&server, 1234).await;
    expect(
        &server,
        "GET",
        "/v2/tag",
        ResponseTemplate::new(200).set_body_json(json!({"tags": [
            {"id": 3, "name": "vip", "targetsCount": 4, "createTime": 1698765432.0},
            {"id": 7, "name": "L1-touched", "targetsCount": 0}
        ]})),
        1,
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/v2/tag/device"))
        .and(header("authorization", BEARER))
        .and(body_json(
            json!({"assetIds": [1234], "tagIdsToAdd": [7], "tagIdsToRemove": []}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let ninja = connector(&server).await;
    let writer = ninja.clone();
    through_engine(&tenant(), move |proof| {
        Box::pin(async move { writer.add_tag(proof, "1234", "L1-touched").await })
    })
    .await
    .unwrap();
    assert_eq!(
        received(&server).await,
        ["GET /v2/device/1234", "GET /v2/tag", "POST /v2/tag/device"]
    );
    assert_documented(&server).await;
}

#[tokio::test]
async fn add_tag_creates_a_missing_asset_tag_first() {
    let server = MockServer::start().await;
    device_read(&server, 1234).await;
    expect(
        &server,
        "GET",
        "/v2/tag",
        ResponseTemplate::new(200).set_body_json(json!({"tags": []})),
        1,
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/v2/tag"))
        .and(header("authorization", BEARER))
        .and(body_json(
            json!({"name": "L1-touched", "description": "Created by stackhand"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 9, "name": "L1-touched", "description": "Created by stackhand",
            "createTime": 1709301234.0, "createdByUserId": 5
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/tag/device"))
        .and(body_json(
            json!({"assetIds": [1234], "tagIdsToAdd": [9], "tagIdsToRemove": []}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let ninja = connector(&server).await;
    let writer = ninja.clone();
    through_engine(&tenant(), move |proof| {
        Box::pin(async move { writer.add_tag(proof, "1234", "L1-touched").await })
    })
    .await
    .unwrap();
    assert_eq!(
        received(&server).await,
        [
            "GET /v2/device/1234",
            "GET /v2/tag",
            "POST /v2/tag",
            "POST /v2/tag/device"
        ]
    );
    assert_documented(&server).await;
}

#[tokio::test]
async fn remove_tag_removes_only_that_tag_and_skips_an_unknown_one() {
    let server = MockServer::start().await;
    expect(
        &server,
        "GET",
        "/v2/device/1234",
        ResponseTemplate::new(200).set_body_json(device(1234, ORG)),
        2,
    )
    .await;
    expect(
        &server,
        "GET",
        "/v2/tag",
        ResponseTemplate::new(200).set_body_json(json!({"tags": [{"id": 3, "name": "vip"}]})),
        2,
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/v2/tag/device"))
        .and(body_json(
            json!({"assetIds": [1234], "tagIdsToAdd": [], "tagIdsToRemove": [3]}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let ninja = connector(&server).await;
    let writer = ninja.clone();
    through_engine(&tenant(), move |proof| {
        Box::pin(async move {
            writer.remove_tag(proof, "1234", "vip").await?;
            writer.remove_tag(proof, "1234", "never-made").await
        })
    })
    .await
    .unwrap();
    assert_documented(&server).await;
}

#[tokio::test]
async fn writes_refuse_another_organisations_device_without_writing() {
    let server = MockServer::start().await;
    expect(
        &server,
        "GET",
        "/v2/device/77",
        ResponseTemplate::new(200).set_body_json(device(77, 99)),
        2,
    )
    .await;
    let ninja = connector(&server).await;
    let writer = ninja.clone();
    let err = through_engine(&tenant(), move |proof| {
        Box::pin(async move { writer.add_tag(proof, "77", "vip").await })
    })
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let writer = ninja.clone();
    let err = through_engine(&tenant(), move |proof| {
        Box::pin(async move { writer.run_script(proof, "77", "42", "").await })
    })
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(
        received(&server).await,
        ["GET /v2/device/77", "GET /v2/device/77"]
    );
}

#[tokio::test]
async fn run_script_posts_the_documented_body_and_script_run_follows_the_activities() {
    let server = MockServer::start().await;
    expect(
        &server,
        "GET",
        "/v2/device/1234",
        ResponseTemplate::new(200).set_body_json(device(1234, ORG)),
        2,
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/v2/activities"))
        .and(query_param("class", "DEVICE"))
        .and(query_param("df", "org = 12"))
        .and(query_param("pageSize", "100"))
        .and(query_param("newerThan", "5000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "lastActivityId": 5003,
            "activities": [
                {"id": 5003, "deviceId": 1234, "activityType": "ACTION", "activityResult": "SUCCESS",
                 "activityTime": 1709301299.0, "sourceName": "Clear print queue",
                 "message": "Script 'Clear print queue' completed"},
                {"id": 5002, "deviceId": 1234, "activityType": "ACTION",
                 "statusCode": "START_REQUESTED", "activityTime": 1709301250.0},
                {"id": 5001, "deviceId": 88, "activityType": "ACTION", "activityResult": "FAILURE"}
            ]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/activities"))
        .and(query_param("class", "DEVICE"))
        .and(query_param("df", "org = 12"))
        .and(query_param("pageSize", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "lastActivityId": 5000,
            "activities": [{"id": 4990, "deviceId": 1234, "activityType": "ACTION",
                            "activityResult": "SUCCESS"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/device/1234/script/run"))
        .and(header("authorization", BEARER))
        .and(body_json(
            json!({"type": "SCRIPT", "id": 42, "parameters": "-UserName jdoe",
                              "runAs": "system"}),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let ninja = connector(&server).await;
    let writer = ninja.clone();
    let run = through_engine(&tenant(), move |proof| {
        Box::pin(async move {
            writer
                .run_script(proof, "1234", "42", "-UserName jdoe")
                .await
        })
    })
    .await
    .unwrap();
    assert_eq!(run.id, "5000");
    assert_eq!(run.state, ScriptState::Running);
    let done = ninja.script_run("1234", &run.id).await.unwrap();
    assert_eq!(done.state, ScriptState::Succeeded);
    assert_eq!(
        done.output.as_deref(),
        Some("Script 'Clear print queue' completed")
    );
    // A malformed script (an integer that is no id, or nothing) is refused before any call.
    for script in ["0", "  "] {
        let writer = ninja.clone();
        let bad = through_engine(&tenant(), move |proof| {
            Box::pin(async move { writer.run_script(proof, "1234", script, "").await })
        })
        .await
        .unwrap_err();
        assert_eq!(bad.kind(), ErrorKind::Invalid, "{bad}");
    }
    assert_eq!(
        received(&server).await,
        [
            "GET /v2/device/1234",
            "GET /v2/activities?class=DEVICE&df=org+%3D+12&pageSize=100",
            "POST /v2/device/1234/script/run",
            "GET /v2/device/1234",
            "GET /v2/activities?class=DEVICE&df=org+%3D+12&pageSize=100&newerThan=5000",
        ]
    );
    assert_documented(&server).await;
}

const CLEAN_TEMP: &str = "2f4b8c1d-6e3a-4b7f-9c0d-1a2b3c4d5e6f";

/// `GET /v2/device/{id}/scripting/options` of a Windows device (spec
/// `DeviceScriptingOptions`): two scripts and a built-in action.
fn scripting_options() -> Value {
    json!({
        "categories": [{"id": 1, "name": "Maintenance", "internal": false},
                       {"id": 2, "name": "Built-in", "internal": true}],
        "scripts": [
            {"type": "SCRIPT", "id": 11, "name": "Clear print queue", "language": "PowerShell",
             "description": "Stops the spooler, deletes queued jobs and starts it again.",
             "categoryId": 1},
            {"type": "SCRIPT", "id": 12, "name": "Flush DNS cache", "language": "PowerShell",
             "description": "Runs ipconfig /flushdns.", "categoryId": 1},
            {"type": "ACTION", "uid": CLEAN_TEMP.to_uppercase(), "name": "Clean temporary files",
             "language": "Native", "categoryId": 2}
        ],
        "credentials": {"roles": ["system", "loggedonuser"], "credentials": []}
    })
}

/// Answer the device's scripting options `times` times.
async fn options_read(server: &MockServer, id: u32, options: Value, times: u64) {
    expect(
        server,
        "GET",
        &format!("/v2/device/{id}/scripting/options"),
        ResponseTemplate::new(200).set_body_json(options),
        times,
    )
    .await;
}

/// Start `script` on device 1234 through an engine's proof.
async fn run_on_1234(
    ninja: &NinjaOneConnector,
    script: &'static str,
    parameters: &'static str,
) -> stackhand_core::Result<stackhand_core::ScriptRun> {
    let writer = ninja.clone();
    through_engine(&tenant(), move |proof| {
        Box::pin(async move { writer.run_script(proof, "1234", script, parameters).await })
    })
    .await
}

#[tokio::test]
async fn run_script_by_name_reads_the_devices_scripting_options_then_posts_its_id_or_uid() {
    let server = MockServer::start().await;
    expect(
        &server,
        "GET",
        "/v2/device/1234",
        ResponseTemplate::new(200).set_body_json(device(1234, ORG)),
        2,
    )
    .await;
    options_read(&server, 1234, scripting_options(), 2).await;
    expect(
        &server,
        "GET",
        "/v2/activities",
        ResponseTemplate::new(200).set_body_json(json!({"lastActivityId": 5000, "activities": []})),
        2,
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/v2/device/1234/script/run"))
        .and(header("authorization", BEARER))
        .and(body_json(
            json!({"type": "SCRIPT", "id": 12, "parameters": "-Verbose",
                              "runAs": "system"}),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/device/1234/script/run"))
        .and(header("authorization", BEARER))
        .and(body_json(
            json!({"type": "ACTION", "uid": CLEAN_TEMP, "runAs": "system"}),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let ninja = connector(&server).await;
    // The name as the library shows it, whatever its case and surrounding spaces.
    let run = run_on_1234(&ninja, "  flush DNS Cache ", "-Verbose")
        .await
        .unwrap();
    assert_eq!(run.id, "5000");
    assert_eq!(run.state, ScriptState::Running);
    // A built-in action by name is posted by its uid.
    run_on_1234(&ninja, "Clean temporary files", "")
        .await
        .unwrap();
    let run = [
        "GET /v2/device/1234",
        "GET /v2/device/1234/scripting/options",
        "GET /v2/activities?class=DEVICE&df=org+%3D+12&pageSize=100",
        "POST /v2/device/1234/script/run",
    ];
    assert_eq!(received(&server).await, [run, run].concat());
    assert_documented(&server).await;
}

#[tokio::test]
async fn run_script_by_id_or_uuid_makes_no_scripting_options_read() {
    let server = MockServer::start().await;
    expect(
        &server,
        "GET",
        "/v2/device/1234",
        ResponseTemplate::new(200).set_body_json(device(1234, ORG)),
        2,
    )
    .await;
    options_read(&server, 1234, scripting_options(), 0).await;
    expect(
        &server,
        "GET",
        "/v2/activities",
        ResponseTemplate::new(200).set_body_json(json!({"lastActivityId": 5000, "activities": []})),
        2,
    )
    .await;
    expect(
        &server,
        "POST",
        "/v2/device/1234/script/run",
        ResponseTemplate::new(204),
        2,
    )
    .await;
    let ninja = connector(&server).await;
    run_on_1234(&ninja, "12", "").await.unwrap();
    run_on_1234(&ninja, CLEAN_TEMP, "").await.unwrap();
    let bodies: Vec<Value> = api_requests(&server)
        .await
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            json!({"type": "SCRIPT", "id": 12, "runAs": "system"}),
            json!({"type": "ACTION", "uid": CLEAN_TEMP, "runAs": "system"}),
        ]
    );
    assert_documented(&server).await;
}

#[tokio::test]
async fn run_script_by_an_unknown_or_shared_name_is_refused_without_running() {
    let server = MockServer::start().await;
    device_read(&server, 1234).await;
    options_read(&server, 1234, scripting_options(), 1).await;
    expect(
        &server,
        "GET",
        "/v2/activities",
        ResponseTemplate::new(200),
        0,
    )
    .await;
    expect(
        &server,
        "POST",
        "/v2/device/1234/script/run",
        ResponseTemplate::new(204),
        0,
    )
    .await;
    let ninja = connector(&server).await;
    // Close is not enough: the name must match.
    let err = run_on_1234(&ninja, "Flush DNS", "").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
    assert_eq!(
        err.message(),
        "ninjaone: device 1234 has no script or built-in action named \"Flush DNS\"; it can run \
         \"Clear print queue\", \"Flush DNS cache\", \"Clean temporary files\""
    );
    assert_eq!(
        received(&server).await,
        [
            "GET /v2/device/1234",
            "GET /v2/device/1234/scripting/options"
        ]
    );
    assert_documented(&server).await;

    // Two entries of one name: which was meant cannot be told, so neither runs.
    let server = MockServer::start().await;
    device_read(&server, 1234).await;
    let mut options = scripting_options();
    options["scripts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "SCRIPT", "id": 19, "name": "flush dns cache"}));
    options_read(&server, 1234, options, 1).await;
    let ninja = connector(&server).await;
    let err = run_on_1234(&ninja, "Flush DNS cache", "")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
    assert!(err.message().contains("device 1234"), "{err}");
    assert!(err.message().contains("script 12, script 19"), "{err}");
    assert_eq!(
        received(&server).await,
        [
            "GET /v2/device/1234",
            "GET /v2/device/1234/scripting/options"
        ]
    );
}

#[tokio::test]
async fn script_run_is_running_until_an_activity_has_a_result() {
    let server = MockServer::start().await;
    device_read(&server, 1234).await;
    expect(
        &server,
        "GET",
        "/v2/activities",
        ResponseTemplate::new(200).set_body_json(json!({"lastActivityId": 5002, "activities": [
            {"id": 5002, "deviceId": 1234, "activityType": "ACTION", "statusCode": "START_REQUESTED"}
        ]})),
        1,
    )
    .await;
    let ninja = connector(&server).await;
    let run = ninja.script_run("1234", "5000").await.unwrap();
    assert_eq!(run.state, ScriptState::Running);
    assert_eq!(run.output, None);
    assert_documented(&server).await;
}

#[tokio::test]
async fn the_error_envelope_is_read() {
    let server = MockServer::start().await;
    expect(
        &server,
        "GET",
        "/v2/device/1234",
        ResponseTemplate::new(403).set_body_json(json!({
            "resultCode": "FAILURE", "errorMessage": "Insufficient scope", "incidentId": "inc-7f3a"
        })),
        1,
    )
    .await;
    let ninja = connector(&server).await;
    let err = ninja.get_device("1234").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden, "{err}");
    assert!(err.message().contains("Insufficient scope"), "{err}");
    assert!(!err.to_string().contains(CLIENT_SECRET));
    assert!(!err.to_string().contains(ACCESS_TOKEN));
    assert!(!format!("{ninja:?}").contains(CLIENT_SECRET));
}

#[tokio::test]
async fn script_run_reports_a_failed_run_of_the_device() {
    let server = MockServer::start().await;
    device_read(&server, 1234).await;
    expect(
        &server,
        "GET",
        "/v2/activities",
        ResponseTemplate::new(200).set_body_json(json!({"lastActivityId": 5009, "activities": [
            {"id": 5009, "deviceId": 1234, "activityType": "ACTION", "activityResult": "SUCCESS",
             "message": "a later run"},
            {"id": 5004, "deviceId": 1234, "activityType": "ACTION", "activityResult": "FAILURE",
             "message": "Script 'Clear print queue' failed with exit code 1"},
            {"id": 5003, "deviceId": 1234, "activityType": "PATCH_MANAGEMENT",
             "activityResult": "SUCCESS"},
            {"id": 4999, "deviceId": 1234, "activityType": "ACTION", "activityResult": "SUCCESS"}
        ]})),
        1,
    )
    .await;
    let ninja = connector(&server).await;
    let run = ninja.script_run("1234", "5000").await.unwrap();
    assert_eq!(run.id, "5000");
    assert_eq!(run.state, ScriptState::Failed);
    assert_eq!(
        run.output.as_deref(),
        Some("Script 'Clear print queue' failed with exit code 1")
    );
    let bad = ninja.script_run("1234", "latest").await.unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::Invalid, "{bad}");
    assert_documented(&server).await;
}

#[tokio::test]
async fn add_tag_uses_a_tag_made_meanwhile() {
    let server = MockServer::start().await;
    device_read(&server, 1234).await;
    Mock::given(method("GET"))
        .and(path("/v2/tag"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"tags": []})))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/tag"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"tags": [{"id": 11, "name": "L1-touched"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/tag"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "resultCode": "FAILURE", "errorMessage": "Tag name already exists"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/tag/device"))
        .and(body_json(
            json!({"assetIds": [1234], "tagIdsToAdd": [11], "tagIdsToRemove": []}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let ninja = connector(&server).await;
    let writer = ninja.clone();
    through_engine(&tenant(), move |proof| {
        Box::pin(async move { writer.add_tag(proof, "1234", "L1-touched").await })
    })
    .await
    .unwrap();
    assert_documented(&server).await;
}

// ---------------------------------------------------------------------------------------------
// Vendor actions, through an engine that allows everything.

/// Submit `action` with `params` for the tenant; the receipt, or the engine's error.
async fn submit(
    engine: &Engine,
    key: &str,
    action: &'static str,
    params: Value,
) -> Result<Box<Receipt>, Error> {
    let request = ActionRequest::new(
        IdempotencyKey::new(key).unwrap(),
        tenant(),
        ActionId::from_static(action),
        &params,
        Principal::technician("tech@msp.example", &["helpdesk"]),
    )
    .unwrap()
    .with_reason("ticket 4711");
    match engine.submit(request).await? {
        Submission::Executed(receipt) => Ok(receipt),
        other => panic!("{action} was not executed: {other:?}"),
    }
}

/// The engine over a connector built against `server`.
async fn engine(server: &MockServer) -> Engine {
    allow_all_engine(Arc::new(connector(server).await), "Acme Corp")
}

/// An open alert on `device` of `organization` (spec `Alert`).
fn alert(uid: &str, device_id: u32, organization: u32) -> Value {
    json!({
        "uid": uid,
        "deviceId": device_id,
        "message": "Disk C: free space below 10%",
        "subject": "Disk C: free space below 10%",
        "severity": "MAJOR",
        "sourceType": "CONDITION_AGENT_DISK_FREE_SPACE",
        "createTime": 1709301234.0,
        "data": {},
        "device": {"id": device_id, "organizationId": organization, "systemName": "ACME-SRV-01",
                   "displayName": "ACME-SRV-01", "nodeClass": "WINDOWS_SERVER"}
    })
}

const ALERT: &str = "8d3b4f1e-2a6c-4e8f-9b1d-3c5e7a9b0d21";

#[tokio::test]
async fn reboot_device_posts_the_mode_with_the_reason_after_reading_the_device() {
    let server = MockServer::start().await;
    device_read(&server, 1234).await;
    Mock::given(method("POST"))
        .and(path("/v2/device/1234/reboot/FORCED"))
        .and(header("authorization", BEARER))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"reason": "Hung after the update"})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let engine = engine(&server).await;
    let receipt = submit(
        &engine,
        "reboot-1",
        "ninjaone.reboot_device",
        json!({"device": "1234", "mode": "FORCED", "reason": " Hung after the update "}),
    )
    .await
    .unwrap();
    assert_eq!(receipt.outcome.status, StepStatus::Succeeded, "{receipt:?}");
    assert_eq!(
        receipt.outcome.state_after,
        json!({"id": "1234", "reboot": "FORCED", "queued": false})
    );
    assert!(
        receipt.plan.summary.contains("ACME-LT-042"),
        "{}",
        receipt.plan.summary
    );
    assert!(
        receipt
            .plan
            .warnings
            .iter()
            .any(|w| w.contains("unsaved work")),
        "{:?}",
        receipt.plan.warnings
    );
    assert_eq!(
        received(&server).await,
        ["GET /v2/device/1234", "POST /v2/device/1234/reboot/FORCED"]
    );
    assert_documented(&server).await;
}

#[tokio::test]
async fn reboot_device_of_an_offline_device_is_normal_and_bodiless_without_a_reason() {
    let server = MockServer::start().await;
    let mut offline = device(1234, ORG);
    offline["offline"] = json!(true);
    expect(
        &server,
        "GET",
        "/v2/device/1234",
        ResponseTemplate::new(200).set_body_json(offline),
        1,
    )
    .await;
    expect(
        &server,
        "POST",
        "/v2/device/1234/reboot/NORMAL",
        ResponseTemplate::new(204),
        1,
    )
    .await;
    let engine = engine(&server).await;
    let receipt = submit(
        &engine,
        "reboot-2",
        "ninjaone.reboot_device",
        json!({"device": "1234"}),
    )
    .await
    .unwrap();
    assert_eq!(receipt.outcome.status, StepStatus::Succeeded);
    assert_eq!(receipt.outcome.state_after["queued"], true);
    assert!(
        receipt
            .plan
            .warnings
            .iter()
            .any(|w| w.contains("offline") && w.contains("queues")),
        "{:?}",
        receipt.plan.warnings
    );
    let requests = api_requests(&server).await;
    let post = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .unwrap();
    assert!(post.body.is_empty(), "no reason, no body");
    assert_documented(&server).await;
}

#[tokio::test]
async fn reboot_device_refuses_another_organisations_device_and_bad_input_without_writing() {
    let server = MockServer::start().await;
    expect(
        &server,
        "GET",
        "/v2/device/77",
        ResponseTemplate::new(200).set_body_json(device(77, 99)),
        1,
    )
    .await;
    let engine = engine(&server).await;
    let err = submit(
        &engine,
        "reboot-3",
        "ninjaone.reboot_device",
        json!({"device": "77"}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    for (key, params) in [
        ("reboot-4", json!({"device": "77", "mode": "SOFT"})),
        ("reboot-5", json!({"device": "../77"})),
        ("reboot-6", json!({"device": "77", "force": true})),
    ] {
        let err = submit(&engine, key, "ninjaone.reboot_device", params)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
    }
    assert_eq!(received(&server).await, ["GET /v2/device/77"]);
}

#[tokio::test]
async fn reset_alert_finds_the_organisations_alert_resets_it_and_reads_it_gone() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/alerts"))
        .and(query_param("df", "org = 12"))
        .and(header("authorization", BEARER))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([alert(ALERT, 1234, ORG)])))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/alerts"))
        .and(query_param("df", "org = 12"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v2/alert/{ALERT}/reset")))
        .and(header("authorization", BEARER))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let engine = engine(&server).await;
    let receipt = submit(
        &engine,
        "reset-1",
        "ninjaone.reset_alert",
        json!({"alert": ALERT.to_uppercase()}),
    )
    .await
    .unwrap();
    assert_eq!(receipt.outcome.status, StepStatus::Verified, "{receipt:?}");
    assert_eq!(receipt.plan.state_before["uid"], ALERT);
    assert_eq!(receipt.plan.state_before["device"], "ACME-SRV-01");
    assert!(
        receipt
            .plan
            .summary
            .contains("Disk C: free space below 10%"),
        "{}",
        receipt.plan.summary
    );
    assert_eq!(
        received(&server).await,
        [
            "GET /v2/alerts?df=org+%3D+12",
            &format!("POST /v2/alert/{ALERT}/reset"),
            "GET /v2/alerts?df=org+%3D+12",
        ]
    );
    assert_documented(&server).await;
}

#[tokio::test]
async fn reset_alert_refuses_another_organisations_alert_as_not_found() {
    let server = MockServer::start().await;
    // The filter answers with the organisation's alerts only; one that says it is on another
    // organisation's device is not taken either.
    let other = "5f7e9a1b-3c2d-4e6f-8a0b-1c2d3e4f5a6b";
    expect(
        &server,
        "GET",
        "/v2/alerts",
        ResponseTemplate::new(200).set_body_json(json!([alert(other, 77, 99)])),
        2,
    )
    .await;
    let engine = engine(&server).await;
    for (key, uid) in [("reset-2", ALERT), ("reset-3", other)] {
        let err = submit(&engine, key, "ninjaone.reset_alert", json!({"alert": uid}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    }
    let err = submit(
        &engine,
        "reset-4",
        "ninjaone.reset_alert",
        json!({"alert": "42"}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
    assert!(
        received(&server)
            .await
            .iter()
            .all(|r| r.starts_with("GET "))
    );
    assert_documented(&server).await;
}
