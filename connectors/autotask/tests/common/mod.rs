//! Shared test helpers: spec validation of what the connector sent.
#![allow(dead_code)] // each test binary uses a subset

use stackhand_core::TenantId;
use stackhand_http::RetryConfig;
use stackhand_testkit::openapi::{ObservedRequest, Spec};
use std::time::Duration;

/// The tenant used throughout.
pub fn tenant() -> TenantId {
    TenantId::new("contoso-law").unwrap()
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

/// Assert every request is one the Autotask document describes, with valid parameters and body.
pub fn assert_valid<'r, R: 'r>(requests: impl IntoIterator<Item = &'r R>)
where
    ObservedRequest: From<&'r R>,
{
    let spec = Spec::load("autotask.json").unwrap();
    let mut problems = Vec::new();
    let mut count = 0;
    for request in requests {
        count += 1;
        let observed = ObservedRequest::from(request);
        if let Err(violation) = spec.validate_request(&observed) {
            problems.push(violation.to_string());
        }
    }
    assert!(count > 0, "no requests to validate");
    assert!(
        problems.is_empty(),
        "{} of {count} requests violate the spec:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
