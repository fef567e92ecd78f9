//! # stackhand-testkit
//!
//! Test tooling every stackhand connector crate shares:
//!
//! - [`conformance`]: the behaviour suite a connector runs with one call. The connector's
//!   tests implement [`conformance::Harness`] (how to build the connector against a mock
//!   server, one read to probe with, the vendor's error body, optional paging and plan cases)
//!   and call [`conformance::run`]. The trials are chosen from what the connector declares:
//!   action specs, plans that only read, HTTP status to error-kind mapping, `Retry-After`
//!   honoured, one token fetch for many concurrent calls, paging to the end, and no secret in
//!   `Debug`, `Display`, errors, request URLs or `tracing` output.
//! - [`openapi`]: validation of the requests a connector sent (to a `wiremock` server or a
//!   `stackhand-sim` simulator) and of fixture responses against the vendor's OpenAPI or
//!   Swagger document, bundled from `crates/testkit/specs` (see `SOURCES.md` there).
//!
//! ## Example
//!
//! Check a request against Microsoft Graph's document:
//!
//! ```
//! use serde_json::json;
//! use stackhand_testkit::openapi::{ObservedRequest, Spec, ViolationKind};
//!
//! let graph = Spec::load("microsoft-graph.yaml").unwrap();
//! let reset = ObservedRequest::new("PATCH", "/v1.0/users/jane@acme.example").with_json(&json!({
//!     "passwordProfile": {"password": "x", "forceChangePasswordNextSignIn": true}
//! }));
//! graph.validate_request(&reset).unwrap();
//!
//! let wrong = ObservedRequest::new("PUT", "/v1.0/users/jane@acme.example");
//! assert_eq!(graph.validate_request(&wrong).unwrap_err().kind, ViolationKind::MethodNotAllowed);
//! ```
//!
//! Run the conformance suite from a connector crate's tests (see [`conformance::Harness`]
//! for a complete harness):
//!
//! ```ignore
//! #[tokio::test]
//! async fn conforms() {
//!     stackhand_testkit::conformance::run(&MyHarness).await;
//! }
//! ```

#![forbid(unsafe_code)]

pub mod conformance;
pub mod openapi;

pub use conformance::{Harness, run};
pub use openapi::{ObservedRequest, Spec, Violation, assert_all_valid};
