//! Shared helpers for the wiremock tests.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use stackhand_core::TenantId;
use stackhand_http::{HttpClient, HttpClientBuilder, RateLimits, RetryConfig, Url};
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

pub fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

/// A builder against `server` under `base_path`, with fast retries and its own rate registry so
/// tests never share limits.
pub fn builder(server: &MockServer, vendor: &'static str, base_path: &str) -> HttpClientBuilder {
    let base: Url = format!("{}{base_path}", server.uri()).parse().unwrap();
    HttpClient::builder(vendor, tenant("acme"), base)
        .retry(fast_retry(3))
        .rate_limits(RateLimits::new())
}

pub fn fast_retry(max_attempts: u32) -> RetryConfig {
    RetryConfig {
        max_attempts,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(5),
    }
}

/// Responds with a fixed template and records when each request arrived.
#[derive(Clone)]
pub struct Recorder {
    pub template: ResponseTemplate,
    pub arrivals: Arc<Mutex<Vec<SystemTime>>>,
}

impl Recorder {
    pub fn new(template: ResponseTemplate) -> Self {
        Self {
            template,
            arrivals: Arc::default(),
        }
    }

    pub fn arrivals(&self) -> Vec<SystemTime> {
        self.arrivals.lock().unwrap().clone()
    }
}

impl Respond for Recorder {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        self.arrivals.lock().unwrap().push(SystemTime::now());
        self.template.clone()
    }
}

/// The `Authorization` header of each request the server received on `path`.
pub async fn authorizations(server: &MockServer, path: &str) -> Vec<Option<String>> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == path)
        .map(|r| {
            r.headers
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_owned())
        })
        .collect()
}

pub async fn count(server: &MockServer, path: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == path)
        .count()
}
