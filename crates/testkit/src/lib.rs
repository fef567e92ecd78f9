//! # stackhand-testkit
//!
//! The test tooling every stackhand connector crate shares. Two parts:
//!
//! - [`conformance`]: the behaviour suite a connector runs with one call, modelled on
//!   OpenDAL's behaviour tests. The connector's tests implement [`conformance::Harness`] (how
//!   to build the connector against a mock server, one read operation to probe with, the
//!   vendor's error body, and optionally a paging case and plan cases) and call
//!   [`conformance::run`]. A fresh [`wiremock::MockServer`] serves each trial; the trials run
//!   are chosen from what the connector declares and the harness supplies:
//!   - every action has an id, a summary and an object input schema that compiles;
//!   - a plan only reads (the mock sees no write);
//!   - 401/403/404/409/429/500/503 map to unauthorized, forbidden, not found, conflict, rate
//!     limited and transient, with the right retry status;
//!   - a 429 with `Retry-After: 1` is retried, and not before a second has passed;
//!   - 16 concurrent calls cause one token fetch;
//!   - paging runs to the last page;
//!   - every request sent matches the vendor's API document (see [`openapi`]);
//!   - no secret appears in the connector's `Debug`, any error's `Display` or `Debug`, any
//!     plan, any request URL, or anything logged through `tracing`.
//! - [`writes`]: a connector test reaches its writes through a real engine, as everything does.
//! - [`openapi`]: validation against the vendors' own API documents, bundled from
//!   `crates/testkit/specs` (Microsoft Graph, Okta, ConnectWise Manage, Autotask, Hudu,
//!   NinjaOne; provenance in `SOURCES.md` there). [`openapi::assert_all_valid`] checks, in one
//!   line, that every request a wiremock server or a `stackhand-sim` simulator received has a
//!   documented method and path, its required parameters, and a body that validates against
//!   the operation's schema; [`openapi::Spec::validate_response`] checks a fixture's response
//!   body against the documented response schema.
//!
//! ## Use from a connector crate
//!
//! ```toml
//! [dev-dependencies]
//! stackhand-testkit.workspace = true
//! tokio = { workspace = true, features = ["rt-multi-thread", "macros"] }
//! ```
//!
//! ```ignore
//! // tests/conformance.rs: see `conformance::Harness` for a complete harness.
//! #[tokio::test]
//! async fn conforms() {
//!     stackhand_testkit::conformance::run(&MyHarness).await;
//! }
//!
//! // In any wiremock test: everything the connector sent must match the vendor's document.
//! let graph = Spec::load("microsoft-graph.yaml")?.ignoring("/contoso/oauth2");
//! assert_all_valid(&graph, &server.received_requests().await.unwrap(), "/v1.0");
//! ```
//!
//! ## Example
//!
//! A password reset as Microsoft Graph documents it, and a call Graph does not have:
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
//! let violation = graph.validate_request(&wrong).unwrap_err();
//! assert_eq!(violation.kind, ViolationKind::MethodNotAllowed);
//! assert!(violation.to_string().contains("allows GET, DELETE, PATCH"), "{violation}");
//! ```

#![forbid(unsafe_code)]

pub mod conformance;
pub mod deployment;
pub mod openapi;
pub mod writes;

pub use conformance::{Harness, run};
pub use openapi::{ObservedRequest, Spec, Violation, assert_all_valid};
