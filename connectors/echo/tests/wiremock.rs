//! Every request the Echo connector sends, pinned against a wiremock server answering with
//! Echo's documented shapes: method, path (path segments taken from input percent-encoded),
//! query, the `X-Echo-Key` header, and no body.
//!
//! Echo publishes no OpenAPI document, so the received requests are not validated against one
//! (the guide's `assert_all_valid` step has nothing to validate against).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use stackhand_core::{
    ActionId, ActionRequest, BuildContext, Connector, ErrorKind, IdempotencyKey, Principal, Rmm,
    RmmWrites, SecretRef, StepStatus, TenantId,
};
use stackhand_echo::{EchoConfig, EchoConnector};
use stackhand_http::RetryConfig;
use stackhand_testkit::writes::{allow_all_engine, through_engine};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "echo-api-key-for-tests-7c1d";

fn tenant() -> TenantId {
    TenantId::new("acme").unwrap()
}

fn device(id: &str, tags: &[&str]) -> Value {
    json!({"id": id, "name": "LAPTOP-1", "tags": tags, "online": true})
}

fn error(code: &str, detail: &str) -> Value {
    json!({"code": code, "detail": detail})
}

async fn connector(server: &MockServer) -> EchoConnector {
    let mut config = EchoConfig::new(
        server.uri().parse().unwrap(),
        SecretRef::value(SecretString::from(KEY)),
    );
    config.http.retry = RetryConfig {
        max_attempts: 2,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..RetryConfig::default()
    };
    EchoConnector::build(&BuildContext::new(tenant()), config)
        .await
        .expect("the connector builds")
}

/// Answer `verb path` once with `response`, only with the key, and expect exactly that request.
async fn once(server: &MockServer, verb: &str, route: &str, response: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path(route))
        .and(header("x-echo-key", KEY))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

/// Every request carried the key and no body.
async fn assert_keyed_and_bodiless(server: &MockServer) {
    for request in server.received_requests().await.unwrap() {
        let key = request
            .headers
            .get("x-echo-key")
            .map(|v| v.to_str().unwrap());
        assert_eq!(key, Some(KEY), "{} {}", request.method, request.url);
        assert!(
            request.body.is_empty(),
            "{} {}",
            request.method,
            request.url
        );
    }
}

/// `METHOD path?query` of every request received, in order.
async fn received(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| match r.url.query() {
            Some(q) => format!("{} {}?{q}", r.method, r.url.path()),
            None => format!("{} {}", r.method, r.url.path()),
        })
        .collect()
}

#[tokio::test]
async fn get_device_reads_one_device_with_the_key() {
    let server = MockServer::start().await;
    once(
        &server,
        "GET",
        "/v1/devices/d1",
        ResponseTemplate::new(200).set_body_json(device("d1", &["vip"])),
    )
    .await;
    let echo = connector(&server).await;
    let found = echo.get_device("d1").await.unwrap();
    assert_eq!(found.id, "d1");
    assert_eq!(found.name, "LAPTOP-1");
    assert_eq!(found.tags, ["vip"]);
    assert!(found.online);
    assert_eq!(found.last_user, None);
    assert_keyed_and_bodiless(&server).await;
}

#[tokio::test]
async fn path_segments_from_input_are_percent_encoded() {
    let server = MockServer::start().await;
    once(
        &server,
        "GET",
        "/v1/devices/a%2Fb",
        ResponseTemplate::new(200).set_body_json(device("a/b", &[])),
    )
    .await;
    once(
        &server,
        "PUT",
        "/v1/devices/a%2Fb/tags/on%20call%3F",
        ResponseTemplate::new(204),
    )
    .await;
    let echo = Arc::new(connector(&server).await);
    assert_eq!(echo.get_device("a/b").await.unwrap().id, "a/b");
    // `encode_segment("..")` is `%2E%2E`, which URL resolution still reads as `..` (it would
    // reach `GET /v1/`): such ids, `.` and the empty id are refused before any request.
    for id in ["..", ".", ""] {
        let err = echo.get_device(id).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid, "{id:?}: {err}");
    }
    let err = through_engine(&tenant(), {
        let writer = echo.clone();
        move |proof| Box::pin(async move { writer.remove_tag(proof, "d1", "..").await })
    })
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
    let writer = echo.clone();
    through_engine(&tenant(), move |proof| {
        Box::pin(async move { writer.add_tag(proof, "a/b", "on call?").await })
    })
    .await
    .unwrap();
    assert_eq!(
        received(&server).await,
        [
            "GET /v1/devices/a%2Fb",
            "PUT /v1/devices/a%2Fb/tags/on%20call%3F",
        ]
    );
    assert_keyed_and_bodiless(&server).await;
}

#[tokio::test]
async fn an_unknown_device_is_not_found_and_not_retried() {
    let server = MockServer::start().await;
    once(
        &server,
        "GET",
        "/v1/devices/d9",
        ResponseTemplate::new(404).set_body_json(error("not_found", "no device d9")),
    )
    .await;
    let err = connector(&server).await.get_device("d9").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.context_value("vendor_code"), Some("not_found"));
    assert_eq!(err.context_value("vendor"), Some("echo"));
    assert!(err.message().contains("no device d9"), "{err}");
    assert!(!err.to_string().contains(KEY));
}

#[tokio::test]
async fn find_devices_follows_next_to_the_last_page() {
    let server = MockServer::start().await;
    let next = format!("{}/v1/devices?q=LAPTOP+1&page=2", server.uri());
    Mock::given(method("GET"))
        .and(path("/v1/devices"))
        .and(query_param("q", "LAPTOP 1"))
        .and(query_param_is_missing("page"))
        .and(header("x-echo-key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"items": [device("d1", &["vip"]), device("d2", &[])], "next": next}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/devices"))
        .and(query_param("q", "LAPTOP 1"))
        .and(query_param("page", "2"))
        .and(header("x-echo-key", KEY))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"items": [device("d3", &[])], "next": null})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let devices = connector(&server)
        .await
        .find_devices("LAPTOP 1")
        .await
        .unwrap();
    let ids: Vec<&str> = devices.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["d1", "d2", "d3"]);
    assert_eq!(
        received(&server).await,
        [
            "GET /v1/devices?q=LAPTOP+1",
            "GET /v1/devices?q=LAPTOP+1&page=2",
        ]
    );
    assert_keyed_and_bodiless(&server).await;
}

#[tokio::test]
async fn a_next_link_to_another_host_is_refused() {
    let server = MockServer::start().await;
    once(
        &server,
        "GET",
        "/v1/devices",
        ResponseTemplate::new(200).set_body_json(
            json!({"items": [device("d1", &[])], "next": "https://elsewhere.example/v1/devices?page=2"}),
        ),
    )
    .await;
    let err = connector(&server)
        .await
        .find_devices("x")
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("refusing to send echo credentials"),
        "{err}"
    );
    assert_eq!(received(&server).await.len(), 1);
}

#[tokio::test]
async fn tags_are_added_and_removed_with_put_and_delete() {
    let server = MockServer::start().await;
    once(
        &server,
        "PUT",
        "/v1/devices/d1/tags/vip",
        ResponseTemplate::new(204),
    )
    .await;
    once(
        &server,
        "DELETE",
        "/v1/devices/d1/tags/vip",
        ResponseTemplate::new(204),
    )
    .await;
    let echo = Arc::new(connector(&server).await);
    let writer = echo.clone();
    through_engine(&tenant(), move |proof| {
        Box::pin(async move {
            writer.add_tag(proof, "d1", "vip").await?;
            writer.remove_tag(proof, "d1", "vip").await
        })
    })
    .await
    .unwrap();
    assert_eq!(
        received(&server).await,
        [
            "PUT /v1/devices/d1/tags/vip",
            "DELETE /v1/devices/d1/tags/vip"
        ]
    );
    assert_keyed_and_bodiless(&server).await;
}

#[tokio::test]
async fn a_full_device_is_a_conflict_and_not_retried() {
    let server = MockServer::start().await;
    once(
        &server,
        "PUT",
        "/v1/devices/d1/tags/gold",
        ResponseTemplate::new(400).set_body_json(error("tag_limit", "d1 has 10 tags")),
    )
    .await;
    let echo = Arc::new(connector(&server).await);
    let writer = echo.clone();
    let err = through_engine(&tenant(), move |proof| {
        Box::pin(async move { writer.add_tag(proof, "d1", "gold").await })
    })
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.message().contains("d1 has 10 tags"), "{err}");
}

#[tokio::test]
async fn server_errors_are_retried_then_exhausted() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/devices/d1"))
        .respond_with(ResponseTemplate::new(503).set_body_json(error("unavailable", "later")))
        .expect(2)
        .mount(&server)
        .await;
    let err = connector(&server).await.get_device("d1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(err.status(), stackhand_core::RetryStatus::Exhausted);
}

#[tokio::test]
async fn scripts_are_unsupported_without_a_request() {
    let server = MockServer::start().await;
    let echo = Arc::new(connector(&server).await);
    let err = echo.script_run("d1", "r1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    let writer = echo.clone();
    let err = through_engine(&tenant(), move |proof| {
        Box::pin(async move { writer.run_script(proof, "d1", "cleanup", "").await })
    })
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(received(&server).await.is_empty());
}

#[tokio::test]
async fn health_reads_the_first_page_only() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/devices"))
        .and(query_param("q", ""))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"items": [device("d1", &[])], "next": format!("{}/v1/devices?q=&page=2", server.uri())}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let health = connector(&server).await.health().await.unwrap();
    assert!(health.healthy, "{health:?}");
}

// ---------------------------------------------------------------------------------------------
// `echo.retag` through an engine, against a stateful fake of one device.

/// Device `d1` with its tags, answering Echo's routes; a PUT of the tag `refuse` answers
/// `400 tag_limit`.
#[derive(Clone)]
struct OneDevice {
    tags: Arc<Mutex<Vec<String>>>,
    refuse: Option<&'static str>,
}

impl OneDevice {
    fn new(tags: &[&str]) -> Self {
        Self {
            tags: Arc::new(Mutex::new(tags.iter().map(|t| t.to_string()).collect())),
            refuse: None,
        }
    }

    fn tags(&self) -> Vec<String> {
        self.tags.lock().unwrap().clone()
    }
}

impl Respond for OneDevice {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let not_found = ResponseTemplate::new(404).set_body_json(error("not_found", "no"));
        let Some(rest) = request.url.path().strip_prefix("/v1/devices/d1") else {
            return not_found;
        };
        let mut tags = self.tags.lock().unwrap();
        match (request.method.as_str(), rest.strip_prefix("/tags/")) {
            ("GET", None) if rest.is_empty() => {
                let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
                ResponseTemplate::new(200).set_body_json(device("d1", &tags))
            }
            ("PUT", Some(tag)) if Some(tag) == self.refuse => ResponseTemplate::new(400)
                .set_body_json(error("tag_limit", "d1 has the maximum number of tags")),
            ("PUT", Some(tag)) => {
                if !tags.iter().any(|t| t == tag) {
                    tags.push(tag.to_string());
                }
                ResponseTemplate::new(204)
            }
            ("DELETE", Some(tag)) => {
                tags.retain(|t| t != tag);
                ResponseTemplate::new(204)
            }
            _ => not_found,
        }
    }
}

fn retag(key: &str) -> ActionRequest {
    ActionRequest::new(
        IdempotencyKey::new(key).unwrap(),
        tenant(),
        ActionId::from_static("echo.retag"),
        &json!({"device": "d1", "from": "vip", "to": "gold"}),
        Principal::technician("tech@msp.example", &[]),
    )
    .unwrap()
}

#[tokio::test]
async fn retag_executes_and_undoes_through_the_engine() {
    let server = MockServer::start().await;
    let fake = OneDevice::new(&["vip", "laptop"]);
    Mock::given(wiremock::matchers::any())
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    let engine = allow_all_engine(Arc::new(connector(&server).await), "Acme");

    let done = engine.submit(retag("ticket-1")).await.unwrap();
    let receipt = done.receipt().expect("executed");
    assert_eq!(receipt.outcome.status, StepStatus::Verified, "{receipt:?}");
    assert_eq!(
        receipt.plan.state_before,
        json!({"tags": ["vip", "laptop"]})
    );
    assert_eq!(fake.tags(), ["laptop", "gold"]);
    assert_eq!(
        received(&server).await,
        [
            "GET /v1/devices/d1",
            "DELETE /v1/devices/d1/tags/vip",
            "PUT /v1/devices/d1/tags/gold",
            "GET /v1/devices/d1",
        ]
    );

    let undone = engine
        .undo(
            &tenant(),
            &IdempotencyKey::new("ticket-1").unwrap(),
            Principal::technician("tech@msp.example", &[]),
            "wrong device",
        )
        .await
        .unwrap();
    let receipt = undone.receipt().expect("undone");
    assert_eq!(receipt.outcome.status, StepStatus::Verified, "{receipt:?}");
    let mut tags = fake.tags();
    tags.sort();
    assert_eq!(tags, ["laptop", "vip"]);
    assert_eq!(
        received(&server).await[4..],
        [
            "DELETE /v1/devices/d1/tags/gold",
            "PUT /v1/devices/d1/tags/vip",
            "GET /v1/devices/d1",
        ]
    );
    assert_keyed_and_bodiless(&server).await;
}

#[tokio::test]
async fn a_retag_refused_by_the_tag_limit_puts_the_old_tag_back() {
    let server = MockServer::start().await;
    let fake = OneDevice {
        refuse: Some("gold"),
        ..OneDevice::new(&["vip"])
    };
    Mock::given(wiremock::matchers::any())
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    let engine = allow_all_engine(Arc::new(connector(&server).await), "Acme");

    let failure = match engine.submit(retag("ticket-2")).await {
        Ok(submission) => {
            let receipt = submission.receipt().expect("executed");
            assert_eq!(receipt.outcome.status, StepStatus::Failed, "{receipt:?}");
            receipt.failure.clone().expect("a failure").kind
        }
        Err(e) => e.kind(),
    };
    assert_eq!(failure, ErrorKind::Conflict);
    assert_eq!(fake.tags(), ["vip"]);
    assert_eq!(
        received(&server).await,
        [
            "GET /v1/devices/d1",
            "DELETE /v1/devices/d1/tags/vip",
            "PUT /v1/devices/d1/tags/gold",
            "PUT /v1/devices/d1/tags/vip",
        ]
    );
}
