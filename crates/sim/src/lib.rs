//! # stackhand-sim
//!
//! Stateful, in-memory simulators of the vendor APIs stackhand talks to, served by axum on
//! loopback. They accept the request shapes the real APIs accept and answer with the shapes they
//! return, errors included, so connectors can be run end to end without a vendor tenant.
//!
//! Each vendor is a module behind a cargo feature of the same name. Every simulator is seeded
//! with demo tenants, records the requests it receives (for OpenAPI validation in the testkit),
//! and takes injected latency and `429` faults.
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

mod server;

pub use server::{Faults, RecordedRequest, Recorder, SimServer};

#[cfg(feature = "autotask")]
pub mod autotask;
#[cfg(feature = "connectwise")]
pub mod connectwise;
#[cfg(any(feature = "connectwise", feature = "autotask"))]
pub mod history;
#[cfg(feature = "m365")]
pub mod m365;
#[cfg(feature = "okta")]
pub mod okta;
