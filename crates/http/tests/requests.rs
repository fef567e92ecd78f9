//! URLs, retries, error mapping and rate limiting.

mod common;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Recorder, builder, count, fast_retry, tenant};
use stackhand_core::{ErrorKind, RetryStatus};
use stackhand_http::{HttpClient, Quota, RateLimits, RetryConfig, XRateLimitHeaders};
use wiremock::matchers::{body_json, body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Debug, serde::Deserialize, PartialEq)]
struct Ticket {
    id: u64,
    summary: String,
}

#[tokio::test]
async fn paths_join_onto_the_base_path_with_query_headers_and_body() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/v4_6_release/apis/3.0/service/tickets/42"))
        .and(query_param("conditions", "status/name=\"New\""))
        .and(query_param("pageSize", "10"))
        .and(header("clientid", "cw-client-guid"))
        .and(header(
            "accept",
            "application/vnd.connectwise.com+json; version=2025.8",
        ))
        .and(header("content-type", "application/json"))
        .and(body_json(
            serde_json::json!([{"op": "replace", "path": "summary", "value": "Locked out"}]),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"id": 42, "summary": "Locked out"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    // The base URL without a trailing slash still keeps its path.
    let client = builder(&server, "connectwise", "/v4_6_release/apis/3.0")
        .default_header("clientId", "cw-client-guid")
        .default_header(
            "Accept",
            "application/vnd.connectwise.com+json; version=2025.8",
        )
        .build()
        .unwrap();
    let ticket: Ticket = client
        .patch("/service/tickets/42")
        .query(&[("conditions", "status/name=\"New\"")])
        .query(&[("pageSize", 10)])
        .json(&serde_json::json!([{"op": "replace", "path": "summary", "value": "Locked out"}]))
        .operation("update_ticket")
        .send_json()
        .await
        .unwrap();
    assert_eq!(
        ticket,
        Ticket {
            id: 42,
            summary: "Locked out".into()
        }
    );
    assert_eq!(
        client.url("service/tickets").unwrap().path(),
        "/v4_6_release/apis/3.0/service/tickets"
    );
}

#[tokio::test]
async fn form_bodies_are_url_encoded() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/form"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string("a=1&b=two+words"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server, "test", "/api/").build().unwrap();
    client
        .post("form")
        .form(&[("a", "1"), ("b", "two words")])
        .send_empty()
        .await
        .unwrap();
}

#[tokio::test]
async fn absolute_urls_on_another_origin_are_refused() {
    let server = MockServer::start().await;
    let client = builder(&server, "m365", "/v1.0/").build().unwrap();
    let err = client
        .get("https://evil.example/v1.0/users?$skiptoken=x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.to_string().contains("evil.example"), "{err}");
    assert!(server.received_requests().await.unwrap().is_empty());
    // The same origin is fine.
    assert!(
        client
            .url(&format!("{}/v1.0/users?x=1", server.uri()))
            .is_ok()
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_after_the_wait() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/u1"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(serde_json::json!({"error": {"code": "TooManyRequests", "message": "Too many requests"}})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let second = Recorder::new(
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": 1, "summary": "ok"})),
    );
    Mock::given(method("GET"))
        .and(path("/v1.0/users/u1"))
        .respond_with(second.clone())
        .mount(&server)
        .await;
    let client = builder(&server, "m365", "/v1.0/").build().unwrap();
    let started = SystemTime::now();
    let ticket: Ticket = client.get("users/u1").send_json().await.unwrap();
    assert_eq!(ticket.id, 1);
    assert_eq!(count(&server, "/v1.0/users/u1").await, 2);
    let waited = second.arrivals()[0].duration_since(started).unwrap();
    assert!(
        waited >= Duration::from_secs(1),
        "retried after {waited:?}, before Retry-After"
    );
}

#[tokio::test]
async fn post_is_retried_only_when_marked_safe() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/query"))
        .respond_with(ResponseTemplate::new(503).set_body_string("busy"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/query"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"items": []})))
        .mount(&server)
        .await;
    let client = builder(&server, "autotask", "/api/").build().unwrap();

    let err = client.post("query").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(err.status(), RetryStatus::Temporary);
    assert_eq!(count(&server, "/api/query").await, 1);

    Mock::given(method("POST"))
        .and(path("/api/query2"))
        .respond_with(ResponseTemplate::new(503).set_body_string("busy"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/query2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"items": []})))
        .mount(&server)
        .await;
    client.post("query2").retry_safe().send().await.unwrap();
    assert_eq!(count(&server, "/api/query2").await, 2);
}

#[tokio::test]
async fn a_throttled_post_is_not_retried_but_carries_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/users"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "7")
                .set_body_json(serde_json::json!({
                    "errorCode": "E0000047",
                    "errorSummary": "API call exceeded rate limit due to too many requests."
                })),
        )
        .mount(&server)
        .await;
    let client = builder(&server, "okta", "/").build().unwrap();
    let err = client
        .post("api/v1/users")
        .json(&serde_json::json!({"profile": {}}))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.status(), RetryStatus::Temporary);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(count(&server, "/api/v1/users").await, 1);
}

#[tokio::test]
async fn exhausted_retries_report_exhausted() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/flaky"))
        .respond_with(ResponseTemplate::new(503).insert_header("request-id", "req-503"))
        .mount(&server)
        .await;
    let client = builder(&server, "test", "/api/")
        .retry(fast_retry(3))
        .build()
        .unwrap();
    let err = client.get("flaky").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(err.status(), RetryStatus::Exhausted);
    assert_eq!(err.context_value("request_id"), Some("req-503"));
    assert_eq!(count(&server, "/api/flaky").await, 3);
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_stops_retrying() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/slow"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .mount(&server)
        .await;
    let client = builder(&server, "test", "/api/").build().unwrap();
    let err = client.get("slow").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.status(), RetryStatus::Exhausted);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(count(&server, "/api/slow").await, 1);
}

#[tokio::test]
async fn connection_failures_are_transient_and_retried() {
    // Bind then drop a listener: nothing answers on that port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = HttpClient::builder(
        "test",
        tenant("acme"),
        format!("http://127.0.0.1:{port}/").parse().unwrap(),
    )
    .retry(fast_retry(2))
    .rate_limits(RateLimits::new())
    .build()
    .unwrap();
    let err = client.get("x").operation("probe").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(err.status(), RetryStatus::Exhausted);
    assert!(err.to_string().contains("test probe"), "{err}");
    // The vendor never saw it, so even a POST is retried.
    let err = client.post("x").send().await.unwrap_err();
    assert_eq!(err.status(), RetryStatus::Exhausted, "{err}");
}

#[tokio::test]
async fn each_status_maps_to_its_kind_with_vendor_message_and_request_id() {
    let server = MockServer::start().await;
    // RFC 9457 problem details: the standard body stackhand-http reads by itself.
    let cases: &[(u16, &str, ErrorKind, Option<&str>, &str)] = &[
        (
            400,
            r#"{"type":"https://errors.example/bad-value","title":"Invalid value for usageLocation"}"#,
            ErrorKind::Invalid,
            Some("https://errors.example/bad-value"),
            "Invalid value for usageLocation",
        ),
        (
            422,
            r#"{"type":"https://errors.example/unprocessable","title":"summary is required"}"#,
            ErrorKind::Invalid,
            Some("https://errors.example/unprocessable"),
            "summary is required",
        ),
        (
            401,
            r#"{"type":"https://errors.example/expired","title":"Authentication failed"}"#,
            ErrorKind::Unauthorized,
            Some("https://errors.example/expired"),
            "Authentication failed",
        ),
        (
            403,
            r#"{"type":"https://errors.example/privileges","title":"Insufficient privileges"}"#,
            ErrorKind::Forbidden,
            Some("https://errors.example/privileges"),
            "Insufficient privileges",
        ),
        (
            404,
            r#"{"type":"https://errors.example/missing","title":"Resource not found: jane@x"}"#,
            ErrorKind::NotFound,
            Some("https://errors.example/missing"),
            "Resource not found: jane@x",
        ),
        (
            409,
            r#"{"type":"https://errors.example/busy","title":"Another update is in progress"}"#,
            ErrorKind::Conflict,
            Some("https://errors.example/busy"),
            "Another update is in progress",
        ),
        (
            412,
            r#"{"type":"https://errors.example/etag","title":"etag mismatch"}"#,
            ErrorKind::Conflict,
            Some("https://errors.example/etag"),
            "etag mismatch",
        ),
        (
            429,
            r#"{"type":"https://errors.example/throttled","title":"exceeded rate limit"}"#,
            ErrorKind::RateLimited,
            Some("https://errors.example/throttled"),
            "exceeded rate limit",
        ),
        (
            500,
            r#"{"type":"https://errors.example/unexpected","title":"An unexpected error has occurred"}"#,
            ErrorKind::Transient,
            Some("https://errors.example/unexpected"),
            "An unexpected error has occurred",
        ),
        (
            418,
            r#"{"type":"https://errors.example/teapot","title":"short and stout"}"#,
            ErrorKind::Permanent,
            Some("https://errors.example/teapot"),
            "short and stout",
        ),
    ];
    // POST without retry_safe: every status is seen exactly once.
    let client = builder(&server, "test", "/api/").build().unwrap();
    for (status, body, kind, code, message) in cases {
        let at = format!("/api/status/{status}");
        Mock::given(method("POST"))
            .and(path(at.as_str()))
            .respond_with(
                ResponseTemplate::new(*status)
                    .insert_header("x-request-id", format!("req-{status}").as_str())
                    .insert_header("Retry-After", "2")
                    .set_body_raw(body.as_bytes().to_vec(), "application/json"),
            )
            .mount(&server)
            .await;
        let err = client
            .post(&format!("status/{status}"))
            .operation("probe_status")
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), *kind, "HTTP {status}: {err}");
        assert_eq!(err.context_value("vendor_code"), *code, "HTTP {status}");
        assert!(err.message().contains(message), "HTTP {status}: {err}");
        assert_eq!(
            err.context_value("request_id"),
            Some(format!("req-{status}").as_str())
        );
        assert_eq!(
            err.context_value("http_status"),
            Some(status.to_string().as_str())
        );
        assert_eq!(err.context_value("vendor"), Some("test"));
        assert_eq!(err.context_value("tenant"), Some("acme"));
        assert_eq!(err.context_value("operation"), Some("probe_status"));
        let expect_retry_after = *status == 429;
        assert_eq!(
            err.retry_after().is_some(),
            expect_retry_after,
            "HTTP {status}"
        );
    }
}

/// A vendor's parser reads its own request-id header and envelope; the client adds nothing.
#[derive(Debug)]
struct OktaLike;

impl stackhand_http::ErrorParser for OktaLike {
    fn parse(&self, response: &stackhand_http::FailedResponse<'_>) -> stackhand_http::VendorError {
        let body = response.json().unwrap_or_default();
        stackhand_http::VendorError::from_status(response)
            .with_request_id(response.header("x-okta-request-id"))
            .with_request_id(stackhand_http::str_at(&body, "/errorId"))
            .with_message(stackhand_http::str_at(&body, "/errorSummary").unwrap_or("Okta error"))
    }
}

#[tokio::test]
async fn request_ids_come_from_standard_headers_or_the_vendor_parser() {
    let server = MockServer::start().await;
    Mock::given(path("/api/okta"))
        .respond_with(
            ResponseTemplate::new(404)
                .insert_header("X-Okta-Request-Id", "okta-req-1")
                .set_body_json(
                    serde_json::json!({"errorCode": "E0000007", "errorSummary": "Not found"}),
                ),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/body"))
        .respond_with(ResponseTemplate::new(404).set_body_json(serde_json::json!({
            "errorCode": "E0000007", "errorSummary": "Not found", "errorId": "body-id"
        })))
        .mount(&server)
        .await;
    Mock::given(path("/api/standard"))
        .respond_with(ResponseTemplate::new(404).insert_header("request-id", "std-id"))
        .mount(&server)
        .await;
    let plain = builder(&server, "test", "/api/").build().unwrap();
    let err = plain.get("okta").send().await.unwrap_err();
    assert_eq!(
        err.context_value("request_id"),
        None,
        "no vendor header in stackhand-http"
    );
    let err = plain.get("standard").send().await.unwrap_err();
    assert_eq!(err.context_value("request_id"), Some("std-id"));

    let okta = builder(&server, "test", "/api/")
        .error_parser(Arc::new(OktaLike))
        .build()
        .unwrap();
    let err = okta.get("okta").send().await.unwrap_err();
    assert_eq!(err.context_value("request_id"), Some("okta-req-1"));
    let err = okta.get("body").send().await.unwrap_err();
    assert_eq!(err.context_value("request_id"), Some("body-id"));
    // send_json_optional turns a 404 into None.
    let none: Option<Ticket> = okta.get("body").send_json_optional().await.unwrap();
    assert_eq!(none, None);
}

#[tokio::test]
async fn garbage_bodies_give_clear_errors() {
    let server = MockServer::start().await;
    let html = format!(
        "<html><head><title>502 Bad Gateway</title></head><body>{}</body></html>",
        "cloudflare ".repeat(100)
    );
    Mock::given(path("/api/html"))
        .respond_with(ResponseTemplate::new(502).set_body_raw(html.into_bytes(), "text/html"))
        .mount(&server)
        .await;
    Mock::given(path("/api/empty"))
        .respond_with(ResponseTemplate::new(400))
        .mount(&server)
        .await;
    Mock::given(path("/api/ok-garbage"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(b"\x00\xffnot json".to_vec(), "application/json"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/ok-wrong-shape"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "not-a-number"})),
        )
        .mount(&server)
        .await;
    let client = builder(&server, "test", "/api/")
        .retry(RetryConfig::none())
        .build()
        .unwrap();

    let err = client
        .get("html")
        .operation("get_html")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    let text = err.to_string();
    assert!(text.contains("HTTP 502") && text.contains("HTML"), "{text}");
    assert!(text.contains("502 Bad Gateway"), "{text}");
    assert!(text.len() < 600, "snippet not shortened: {text}");

    let err = client.get("empty").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.message().contains("empty response body"), "{err}");

    for (p, op) in [
        ("ok-garbage", "read_garbage"),
        ("ok-wrong-shape", "read_shape"),
    ] {
        let err = client
            .get(p)
            .operation(op)
            .send_json::<Ticket>()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
        assert_eq!(err.status(), RetryStatus::Permanent);
        let text = err.to_string();
        assert!(text.contains(op) && text.contains("Ticket"), "{text}");
    }
}

#[tokio::test]
async fn spent_vendor_budget_delays_the_next_request_until_reset() {
    let server = MockServer::start().await;
    // Remaining 0, reset two seconds from now (epoch seconds, as Okta sends it).
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2;
    Mock::given(path("/api/v1/users/a"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-Rate-Limit-Limit", "600")
                .insert_header("X-Rate-Limit-Remaining", "0")
                .insert_header("X-Rate-Limit-Reset", reset.to_string().as_str())
                .set_body_json(serde_json::json!({"id": 1, "summary": "a"})),
        )
        .mount(&server)
        .await;
    let next = Recorder::new(
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": 2, "summary": "b"})),
    );
    Mock::given(path("/api/v1/users/b"))
        .respond_with(next.clone())
        .mount(&server)
        .await;
    let limits = RateLimits::new();
    let client = builder(&server, "okta", "/")
        .rate_limits(limits.clone())
        .rate_headers(Arc::new(XRateLimitHeaders::default()))
        .build()
        .unwrap();
    client.get("api/v1/users/a").send_empty().await.unwrap();
    // Another client of the same (tenant, vendor) is held too: the budget is shared.
    let sibling = builder(&server, "okta", "/")
        .rate_limits(limits.clone())
        .build()
        .unwrap();
    assert!(sibling.rate_budget().remaining_pause().is_some());
    sibling.get("api/v1/users/b").send_empty().await.unwrap();
    let arrived = next.arrivals()[0];
    assert!(
        arrived >= UNIX_EPOCH + Duration::from_secs(reset),
        "second request arrived before the window reset"
    );
}

#[tokio::test]
async fn a_connector_can_pause_the_budget_directly() {
    let server = MockServer::start().await;
    let recorder = Recorder::new(ResponseTemplate::new(204));
    Mock::given(path("/api/ping"))
        .respond_with(recorder.clone())
        .mount(&server)
        .await;
    let client = builder(&server, "autotask", "/api/").build().unwrap();
    let paused_at = SystemTime::now();
    client.rate_budget().pause_for(Duration::from_millis(300));
    client.get("ping").send_empty().await.unwrap();
    assert!(
        recorder.arrivals()[0].duration_since(paused_at).unwrap() >= Duration::from_millis(300)
    );
}

#[tokio::test]
async fn the_quota_is_shared_per_tenant_and_vendor() {
    let server = MockServer::start().await;
    Mock::given(path("/api/x"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let limits = RateLimits::new();
    let one_per_hour = Quota::per_hour(NonZeroU32::new(1).unwrap());
    let make = |tenant_name: &str| {
        HttpClient::builder(
            "test",
            tenant(tenant_name),
            format!("{}/api/", server.uri()).parse().unwrap(),
        )
        .rate_limit(one_per_hour)
        .rate_limits(limits.clone())
        .build()
        .unwrap()
    };
    let first = make("acme");
    let same_tenant = make("acme");
    let other_tenant = make("globex");
    first.get("x").send_empty().await.unwrap();
    // The shared cell is spent: the same tenant's second client is held (not sent).
    let held = tokio::time::timeout(
        Duration::from_millis(200),
        same_tenant.get("x").send_empty(),
    )
    .await;
    assert!(held.is_err(), "the second request was not rate limited");
    // Another tenant has its own limiter.
    other_tenant.get("x").send_empty().await.unwrap();
    assert_eq!(count(&server, "/api/x").await, 2);
}

#[tokio::test]
async fn an_okta_429_without_retry_after_waits_for_the_reset_header() {
    let server = MockServer::start().await;
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    Mock::given(method("GET"))
        .and(path("/api/v1/groups"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("X-Rate-Limit-Limit", "100")
                .insert_header("X-Rate-Limit-Remaining", "0")
                .insert_header("X-Rate-Limit-Reset", reset.to_string().as_str())
                .set_body_json(serde_json::json!({
                    "errorCode": "E0000047",
                    "errorSummary": "API call exceeded rate limit due to too many requests.",
                    "errorLink": "E0000047", "errorId": "oae1", "errorCauses": []
                })),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let second = Recorder::new(ResponseTemplate::new(200).set_body_json(serde_json::json!([])));
    Mock::given(method("GET"))
        .and(path("/api/v1/groups"))
        .respond_with(second.clone())
        .mount(&server)
        .await;
    let client = builder(&server, "okta", "/")
        .rate_headers(Arc::new(XRateLimitHeaders::default()))
        .build()
        .unwrap();
    client.get("api/v1/groups").send_empty().await.unwrap();
    assert!(second.arrivals()[0] >= UNIX_EPOCH + Duration::from_secs(reset));

    // Without retries the error itself says how long to wait.
    let spent = builder(&server, "okta", "/")
        .rate_headers(Arc::new(XRateLimitHeaders::default()))
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    Mock::given(method("GET"))
        .and(path("/api/v1/apps"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("X-Rate-Limit-Remaining", "0")
                .insert_header("X-Rate-Limit-Reset", (reset + 30).to_string().as_str()),
        )
        .mount(&server)
        .await;
    let err = spent.get("api/v1/apps").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(
        err.retry_after()
            .is_some_and(|d| d > Duration::from_secs(20)),
        "{err}"
    );
}

#[tokio::test]
async fn max_concurrency_is_shared_per_tenant_and_vendor() {
    let server = MockServer::start().await;
    let slow = Recorder::new(ResponseTemplate::new(204).set_delay(Duration::from_millis(300)));
    Mock::given(path("/api/slow"))
        .respond_with(slow.clone())
        .mount(&server)
        .await;
    let limits = RateLimits::new();
    let make = || {
        builder(&server, "autotask", "/api/")
            .rate_limits(limits.clone())
            .max_concurrency(1)
            .build()
            .unwrap()
    };
    // Two clients, one permit: the second request is sent only after the first's response.
    let (a, b) = (make(), make());
    let (ra, rb) = tokio::join!(a.get("slow").send_empty(), b.get("slow").send_empty());
    ra.unwrap();
    rb.unwrap();
    let arrivals = slow.arrivals();
    let gap = arrivals[1].duration_since(arrivals[0]).unwrap();
    assert!(
        gap >= Duration::from_millis(300),
        "sent concurrently: {gap:?} apart"
    );
}

#[tokio::test]
async fn a_colon_in_the_first_segment_stays_a_path() {
    let server = MockServer::start().await;
    Mock::given(path("/api/users/x:1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server, "test", "/api/").build().unwrap();
    assert_eq!(client.url("users/x:1").unwrap().path(), "/api/users/x:1");
    assert_eq!(client.url("mailto:x").unwrap().path(), "/api/mailto:x");
    client.get("users/x:1").send_empty().await.unwrap();
}

#[tokio::test]
async fn redirects_are_followed_only_within_the_origin() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(path("/elsewhere"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&elsewhere)
        .await;
    Mock::given(path("/api/moved"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            format!("{}/elsewhere", elsewhere.uri()).as_str(),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/api/old"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/api/new"))
        .mount(&server)
        .await;
    Mock::given(path("/api/new"))
        .and(header("secret", "autotask-secret"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"id": 5, "summary": "moved"})),
        )
        .mount(&server)
        .await;
    let client = builder(&server, "autotask", "/api/")
        .auth(stackhand_http::Auth::Headers(vec![(
            stackhand_http::HeaderName::from_static("secret"),
            secrecy::SecretString::from("autotask-secret"),
        )]))
        .build()
        .unwrap();
    let err = client.get("moved").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert_eq!(err.context_value("http_status"), Some("302"));
    let ticket: Ticket = client.get("old").send_json().await.unwrap();
    assert_eq!(ticket.id, 5);
    elsewhere.verify().await;
}

/// Refuses every request as the vendor's business rule, whatever the status.
#[derive(Debug)]
struct RefusalsAreInvalid;

impl stackhand_http::ErrorParser for RefusalsAreInvalid {
    fn parse(&self, response: &stackhand_http::FailedResponse<'_>) -> stackhand_http::VendorError {
        stackhand_http::VendorError::from_status(response).with_kind(ErrorKind::Invalid)
    }
}

#[tokio::test]
async fn retries_follow_what_the_parser_decided() {
    let server = MockServer::start().await;
    Mock::given(path("/api/flaky"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let client = builder(&server, "test", "/api/")
        .retry(fast_retry(3))
        .build()
        .unwrap();
    let err = client.get("flaky").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(err.status(), RetryStatus::Exhausted);
    let attempts = count(&server, "/api/flaky").await;
    assert_eq!(attempts, 3);

    let refusing = builder(&server, "test", "/api/")
        .retry(fast_retry(3))
        .error_parser(Arc::new(RefusalsAreInvalid))
        .build()
        .unwrap();
    let err = refusing.get("flaky").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(!err.is_temporary());
    assert_eq!(
        count(&server, "/api/flaky").await,
        attempts + 1,
        "not retried"
    );
}

#[tokio::test]
async fn dot_and_empty_segments_never_reach_the_vendor() {
    let server = MockServer::start().await;
    let client = builder(&server, "test", "/v1/").build().unwrap();
    for id in ["..", ".", ""] {
        let path = format!("devices/{}/tags", stackhand_http::encode_segment(id));
        let err = client.get(&path).send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid, "{id:?}: {err}");
    }
    for path in ["devices/%2e%2E", "devices/%2E/x", "a/../b"] {
        assert!(client.url(path).is_err(), "{path}");
    }
    assert!(
        client.url("devices/").is_err(),
        "an empty id addresses the collection"
    );
    assert_eq!(
        client.url("").unwrap().path(),
        "/v1/",
        "the base URL itself"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// A shared budget that records what clients asked of it, and answers as told.
#[derive(Debug, Default)]
struct FakeShared {
    takes: std::sync::Mutex<Vec<(String, String, f64, u32)>>,
    pauses: std::sync::Mutex<Vec<Duration>>,
    down: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl stackhand_http::SharedBudget for FakeShared {
    async fn take(
        &self,
        tenant: &stackhand_core::TenantId,
        vendor: &str,
        per_second: f64,
        burst: u32,
    ) -> stackhand_core::Result<Duration> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(stackhand_core::Error::new(
                ErrorKind::Transient,
                "the database went away",
            ));
        }
        self.takes.lock().unwrap().push((
            tenant.to_string(),
            vendor.to_string(),
            per_second,
            burst,
        ));
        Ok(Duration::ZERO)
    }

    async fn pause(
        &self,
        _tenant: &stackhand_core::TenantId,
        _vendor: &str,
        delay: Duration,
    ) -> stackhand_core::Result<()> {
        self.pauses.lock().unwrap().push(delay);
        Ok(())
    }
}

#[tokio::test]
async fn a_shared_budget_gives_every_request_its_token_and_hears_every_pause() {
    let server = MockServer::start().await;
    Mock::given(path("/api/x"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(path("/api/slow"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .mount(&server)
        .await;
    let shared = Arc::new(FakeShared::default());
    let client = HttpClient::builder(
        "test",
        tenant("acme"),
        format!("{}/api/", server.uri()).parse().unwrap(),
    )
    .rate_limit(Quota::per_second(NonZeroU32::new(10).unwrap()))
    .rate_limits(RateLimits::new().with_shared(shared.clone()))
    .retry(fast_retry(2))
    .build()
    .unwrap();
    client.get("x").send_empty().await.unwrap();
    client.get("x").send_empty().await.unwrap();
    {
        let takes = shared.takes.lock().unwrap();
        assert_eq!(takes.len(), 2, "{takes:?}");
        let (t, vendor, rate, burst) = &takes[0];
        assert_eq!((t.as_str(), vendor.as_str(), *burst), ("acme", "test", 10));
        assert!((rate - 10.0).abs() < 1e-6, "{rate}");
    }
    // The vendor's pause goes to every runner.
    let err = client.post("slow").send_empty().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(*shared.pauses.lock().unwrap(), [Duration::from_secs(1)]);
    // A budget that cannot be read sends nothing.
    shared.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let before = count(&server, "/api/x").await;
    let err = client.post("x").send_empty().await.unwrap_err();
    assert!(err.message().contains("the database went away"), "{err}");
    assert_eq!(count(&server, "/api/x").await, before);
}
