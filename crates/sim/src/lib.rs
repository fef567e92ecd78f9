//! # stackhand-sim
//!
//! Stateful, in-memory simulators of the vendor APIs stackhand talks to, served by axum on
//! loopback. They accept the request shapes the real APIs accept and answer with the shapes they
//! return, errors included, so connectors can be run end to end without a vendor tenant.
//!
//! Each vendor is a module behind a cargo feature of the same name. Every simulator is seeded
//! with demo tenants, records the requests it receives as the testkit's `ObservedRequest`s
//! (re-exported here as [`RecordedRequest`], for OpenAPI validation in the testkit), and takes
//! injected latency and `429` faults. What the simulators share is written once: the OAuth 2.0
//! token endpoint pieces in `oauth`, page slicing, cursors and `Link` headers in `paging`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use stackhand_sim::{Faults, SimServer};
//! let router = axum::Router::new().route("/ping", axum::routing::get(|| async { "pong" }));
//! let server = SimServer::start(router, Faults::default()).await?;
//! println!("listening on {}", server.url());
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

#[cfg_attr(
    not(all(
        feature = "m365",
        feature = "okta",
        feature = "connectwise",
        feature = "autotask",
        feature = "ninjaone",
        feature = "hudu"
    )),
    allow(dead_code) // each vendor uses a part, behind its feature
)]
mod oauth;
#[cfg_attr(
    not(all(
        feature = "m365",
        feature = "okta",
        feature = "connectwise",
        feature = "autotask",
        feature = "ninjaone",
        feature = "hudu"
    )),
    allow(dead_code) // each vendor uses a part, behind its feature
)]
mod paging;
mod server;

pub use server::{Faults, Hold, HoldPoint, Recorder, SimServer, Throttle};
/// One request a simulator received: the testkit's `ObservedRequest`, which the
/// [`Recorder`] records into, so the testkit's OpenAPI checks take recordings as they are.
pub use stackhand_testkit::ObservedRequest as RecordedRequest;

#[cfg(feature = "autotask")]
pub mod autotask;
#[cfg(feature = "connectwise")]
pub mod connectwise;
#[cfg(all(
    feature = "m365",
    feature = "okta",
    feature = "connectwise",
    feature = "autotask",
    feature = "ninjaone",
    feature = "hudu"
))]
pub mod deployment;
pub mod history;
#[cfg(feature = "hudu")]
pub mod hudu;
#[cfg(feature = "m365")]
pub mod m365;
#[cfg(feature = "ninjaone")]
pub mod ninjaone;
#[cfg(feature = "okta")]
pub mod okta;
pub mod world;
