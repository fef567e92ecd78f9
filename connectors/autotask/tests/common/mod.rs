//! Shared test helpers: the tenant, a build context on its own rate limits, fast retries, and
//! spec validation of what the connector sent.
#![allow(dead_code)] // each test binary uses a subset

use std::time::Duration;

use secrecy::SecretString;
use stackhand_autotask::{AutotaskConfig, AutotaskConnector};
use stackhand_core::{BuildContext, SecretRef, TenantId};
use stackhand_http::{HttpHost, HttpSettings, RateLimits, RetryConfig};
use stackhand_testkit::openapi::{ObservedRequest, Spec, assert_all_valid};

/// Run a PSA write of `$connector` through the engine, as the only way there is to make one:
/// `$psa` is the connector's `PsaWrites` and `$proof` the engine's proof for the write.
#[allow(unused_macros)] // each test binary uses a subset
macro_rules! psa_write {
    ($connector:expr, |$psa:ident, $proof:ident| $write:expr) => {{
        let connector = $connector.clone();
        stackhand_testkit::writes::through_engine(&common::tenant(), move |$proof| {
            Box::pin(async move {
                let $psa = connector.psa_writes().expect("autotask offers PSA writes");
                $write.await
            })
        })
        .await
    }};
}

/// The tenant used throughout.
pub fn tenant() -> TenantId {
    TenantId::new("globex").unwrap()
}

/// A context for [`tenant`] whose HTTP host has a rate-limit registry of its own, so one test's
/// 429 pauses no other test's calls.
pub fn context() -> BuildContext {
    context_for(tenant())
}

/// A context for `tenant` on an HTTP host with a rate-limit registry of its own.
pub fn context_for(tenant: TenantId) -> BuildContext {
    let host = HttpHost::new(reqwest::Client::builder(), RateLimits::new()).unwrap();
    BuildContext::new(tenant).with_service(host)
}

/// Retries on, but fast.
pub fn fast_retry() -> RetryConfig {
    RetryConfig {
        max_attempts: 2,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_secs(5),
    }
}

/// The `http` table with `retry`.
pub fn http_with(retry: RetryConfig) -> HttpSettings {
    HttpSettings {
        retry,
        ..HttpSettings::default()
    }
}

/// A configuration with credentials supplied in code and fast retries.
pub fn config(user: &str, code: &str, secret: &str) -> AutotaskConfig {
    AutotaskConfig::new(
        user,
        SecretRef::value(SecretString::from(code.to_string())),
        SecretRef::value(SecretString::from(secret.to_string())),
    )
    .with_http(http_with(fast_retry()))
}

/// Build through [`AutotaskConnector::build`] in [`context`].
pub async fn connect(config: AutotaskConfig) -> AutotaskConnector {
    AutotaskConnector::build(&context(), config).await.unwrap()
}

/// Assert every request is one the Autotask document describes, with valid parameters and body.
pub fn assert_valid<'r, R: 'r>(requests: impl IntoIterator<Item = &'r R>)
where
    for<'a> &'a R: Into<ObservedRequest>,
{
    assert_all_valid(&Spec::load("autotask.json").unwrap(), requests, "");
}
