//! # stackhand-echo
//!
//! The stackhand connector for **Echo**, a tiny device directory, as an
//! [`Rmm`](stackhand_core::Rmm) (device reads) with [`RmmWrites`](stackhand_core::RmmWrites)
//! (tag writes) and one vendor action, `echo.retag`. It is the smallest complete connector: a
//! throw-away crate written to prove that `docs/writing-a-connector.md` can be followed as
//! written.
//!
//! ## The vendor's API
//!
//! Everything this crate knows about Echo is here; nothing else is assumed.
//!
//! - **Auth**: a static API key sent as the header `X-Echo-Key: <key>` on every request.
//! - `GET /v1/devices/{id}` → `200 {"id": "d1", "name": "LAPTOP-1", "tags": ["vip"],
//!   "online": true}`; an unknown id → `404`.
//! - `GET /v1/devices?q=<text>` → `200 {"items": [<device>...], "next": "<absolute url of the
//!   next page>" | null}`.
//! - `PUT /v1/devices/{id}/tags/{tag}` → `204` (adds the tag); `DELETE /v1/devices/{id}/tags/{tag}`
//!   → `204` (removes it).
//! - No scripts.
//! - **Errors**: `{"code": "<machine code>", "detail": "<text>"}` with the usual statuses (400,
//!   401, 403, 404, 409, 429 with `Retry-After`, 500, 503). The code `tag_limit` on a 400 means
//!   the device already has the maximum number of tags.
//!
//! Echo publishes no OpenAPI document, so none is kept in `crates/testkit/specs/`, and no
//! rate limit, rate headers or page size, so the client sets none.
//!
//! ## What it does
//!
//! - [`Rmm::get_device`](stackhand_core::Rmm::get_device) and
//!   [`Rmm::find_devices`](stackhand_core::Rmm::find_devices) (every page, following `next`).
//! - [`RmmWrites::add_tag`](stackhand_core::RmmWrites::add_tag) and
//!   [`RmmWrites::remove_tag`](stackhand_core::RmmWrites::remove_tag), so the built-in
//!   `rmm.tag_device` and `rmm.untag_device` work with no more code.
//! - Scripts: Echo has none, so `script_run` and `run_script` answer
//!   [`ErrorKind::Unsupported`](stackhand_core::ErrorKind::Unsupported) (and so does the
//!   built-in `rmm.run_script`).
//! - The vendor action [`echo.retag`](Retag): replace one tag with another, reversible.
//! - A `400` with code `tag_limit` is a [`Conflict`](stackhand_core::ErrorKind::Conflict)
//!   ([`EchoErrorParser`]).
//!
//! ## Tests
//!
//! `tests/wiremock.rs` pins every request (method, path, the `X-Echo-Key` header, percent-encoded
//! path segments); `tests/conformance.rs` runs the testkit's conformance suite; `tests/registry.rs`
//! builds the connector from a `stackhand.toml` section. There is **no simulator** step
//! (`tests/sim.rs`): Echo has no module in `stackhand-sim`.
//!
//! ## Example
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use stackhand_core::build::LocalSecrets;
//! use stackhand_core::{BuildContext, Registry, TenantId};
//!
//! # async fn demo() -> stackhand_core::Result<()> {
//! let mut registry = Registry::new();
//! stackhand_echo::register(&mut registry);
//!
//! // `[tenants.acme.connectors.echo]`, with the key in /etc/stackhand/secrets/acme/echo.key.
//! let ctx = BuildContext::new(TenantId::new("acme")?)
//!     .with_secrets(Arc::new(LocalSecrets::new().with_dir("/etc/stackhand/secrets")));
//! let connector = registry
//!     .build(
//!         &ctx,
//!         stackhand_echo::VENDOR,
//!         serde_json::json!({
//!             "base_url": "https://echo.example",
//!             "api_key": {"file": "echo.key"},
//!         }),
//!     )
//!     .await?;
//! let echo = connector.rmm().expect("echo is an RMM");
//! for device in echo.find_devices("LAPTOP").await? {
//!     println!("{} ({}): {:?}", device.name, device.id, device.tags);
//! }
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod actions;
mod client;
pub mod config;
pub mod connector;
pub mod error;
pub mod factory;
pub mod models;
mod rmm;

use std::sync::Arc;

use stackhand_core::Category;

pub use actions::{Retag, RetagParams};
pub use config::EchoConfig;
pub use connector::EchoConnector;
pub use error::EchoErrorParser;
pub use factory::EchoFactory;

/// The vendor key in configuration (`[tenants.<id>.connectors.echo]`) and connector info.
pub const VENDOR: &str = "echo";

/// The capability categories an Echo connector offers.
pub const CATEGORIES: &[Category] = &[Category::Rmm];

/// Add the Echo factory to a registry.
pub fn register(registry: &mut stackhand_core::Registry) {
    registry.register(Arc::new(EchoFactory));
}
