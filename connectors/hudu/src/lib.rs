//! # stackhand-hudu
//!
//! The stackhand connector for **Hudu**, the IT documentation platform, as a
//! [`Documentation`](stackhand_core::Documentation) source (asset reads) with
//! [`DocumentationWrites`](stackhand_core::DocumentationWrites) (person assets, asset passwords,
//! archiving, knowledge-base articles). Vendor notes: `shared/vendors/hudu.md`; API document:
//! `crates/testkit/specs/hudu.json` (Swagger 2.0, cut from Hudu 2.44.0's own `/api-docs`);
//! reference client: [`lwhitelock/HuduAPI`](https://github.com/lwhitelock/HuduAPI).
//!
//! ## The vendor's API
//!
//! - **Host**: every MSP has its own instance (SaaS or self-hosted); there is no global host,
//!   so `base_url` is required. Paths are `{base_url}/api/v1/...` (spec `basePath`).
//!   `GET /api/v1/api_info` → `{"version": "2.44.0", "date": "…"}` (used for health).
//! - **Auth**: a static key in the header `x-api-key` (spec `securityDefinitions.APIKeyHeader`).
//!   A key can be limited to one company, to no DELETE, and needs *password access* for
//!   `asset_passwords`. JSON bodies with `Content-Type: application/json`.
//! - **Companies**: `GET /companies?name=<exact>` → `{"companies": [...]}`;
//!   `GET /companies/{id}` → `{"company": {...}}`. The tenant maps to one company
//!   (`company` in the configuration, a name or an id); every call stays inside it.
//! - **Assets**: `GET /assets?company_id=&asset_layout_id=&name=` → `{"assets": [...]}`, only
//!   assets that are not archived; with `&archived=true`, only archived ones (spec: "Set to
//!   true to display only archived assets");
//!   `POST /companies/{company_id}/assets` (201) and `PUT /companies/{company_id}/assets/{id}`
//!   with `{"asset": {"asset_layout_id", "name", "custom_fields": [{"job_title": "CFO"}]}}`;
//!   `PUT /companies/{company_id}/assets/{id}/archive`. Custom fields are **written** as an
//!   array of single-key objects keyed by the layout label in snake_case, and **read** back as
//!   `fields: [{"id", "label", "value", "position"}]`. HuduAPI re-sends every field on update,
//!   and so does this crate. Layouts: `GET /asset_layouts?name=` → `{"asset_layouts": [...]}`.
//! - **Passwords**: `POST /asset_passwords` (201) and `PUT /asset_passwords/{id}` with
//!   `{"asset_password": {"name", "company_id", "username", "password"}}`;
//!   `GET /asset_passwords?company_id=&name=`. Responses hold the password **in cleartext**:
//!   only ids and names are decoded, and no response body is logged.
//! - **Articles**: `POST /articles` with `{"article": {"name", "content" (HTML), "company_id"}}`.
//! - **Paging**: `page` (from 1) and `page_size` (default 25); no next link or total, so a
//!   page shorter than `page_size` is the last. `http.page_size` sets it (at most 1000, what
//!   HuduAPI uses).
//! - **Throttling**: 300 requests a minute (spec `info.description`), the client's default
//!   rate. Over it Hudu answers `429`, some versions with "Retry later" in the text; either is
//!   [`RateLimited`](stackhand_core::ErrorKind::RateLimited), and `Retry-After` is honoured.
//! - **Errors**: 401 (bad key), 404, 422 ("Unable to process request"); the body is not
//!   specified, so [`HuduErrorParser`] reads `{"error": "…"}`, `{"errors": {…}}` or
//!   `{"errors": […]}` defensively.
//! - **Gotchas**: response wrapping is inconsistent (the spec says `GET
//!   /companies/{cid}/assets/{id}` is a bare `Asset`, clients read `.asset`), so either is read;
//!   some `GET /…/{id}` endpoints answer `200` with a `null` body for a missing id, which is
//!   [`NotFound`](stackhand_core::ErrorKind::NotFound) ([`error::null_body`]).
//!
//! ## What it does
//!
//! - [`Documentation::find_asset`](stackhand_core::Documentation::find_asset): the company's
//!   asset with that exact name, one that is not archived or else an archived one
//!   (`archived: true`); the second look-up (`archived=true`) is sent only when the first
//!   finds nothing, so a leaver's archived asset is found.
//! - [`DocumentationWrites`](stackhand_core::DocumentationWrites): `upsert_user_asset` (in the
//!   `asset_layout` layout, default "People", found as `find_asset` finds it),
//!   `store_password` (created, or updated when the company has an entry of that name; not
//!   attached to an asset), `archive_asset` and `create_article`. `unarchive_asset` is
//!   [`Unsupported`](stackhand_core::ErrorKind::Unsupported): the API document kept in
//!   `crates/testkit/specs/hudu.json` has no unarchive operation, so the undo of the built-in
//!   `docs.archive_asset` fails rather than send an undocumented request.
//! - `upsert_user_asset` refuses an archived asset: when the asset of that name is archived (a
//!   leaver's), the answer is [`Conflict`](stackhand_core::ErrorKind::Conflict), naming the
//!   asset and what to do (unarchive it in Hudu's web interface, or use another name), and no
//!   write is sent. Editing it would silently change what was kept of a leaver, and creating
//!   an asset beside it would leave two records of one person.
//! - No vendor actions ([`actions::specs`] is empty); the built-in `docs.*` actions work.
//!
//! ## Tests
//!
//! `tests/wiremock.rs` pins every request (method, path, query, `x-api-key`, body) and
//! validates them against the spec; `tests/conformance.rs` runs the testkit's suite;
//! `tests/registry.rs` builds the connector from a `stackhand.toml` section; `tests/sim.rs`
//! drives the `docs.*` actions through the engine against the Hudu simulator
//! (`stackhand_sim::hudu`, seeded from the built-in world): new starters, leavers (archived,
//! then found and refused by `upsert_user_asset`), passwords, articles, throttling and a wrong
//! key, with every recorded request validated against the spec.
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
//! stackhand_hudu::register(&mut registry);
//!
//! // `[tenants.acme.connectors.hudu]`, with the key in /etc/stackhand/secrets/acme/hudu.key.
//! let ctx = BuildContext::new(TenantId::new("acme")?)
//!     .with_secrets(Arc::new(LocalSecrets::new().with_dir("/etc/stackhand/secrets")));
//! let connector = registry
//!     .build(
//!         &ctx,
//!         stackhand_hudu::VENDOR,
//!         serde_json::json!({
//!             "base_url": "https://docs.example-msp.com",
//!             "api_key": {"file": "hudu.key"},
//!             "company": "Acme Corp",
//!         }),
//!     )
//!     .await?;
//! let docs = connector.docs().expect("hudu is a documentation source");
//! if let Some(asset) = docs.find_asset("Acme Corp", "Jane Doe").await? {
//!     println!("{} ({}): {:?}", asset.name, asset.id, asset.fields);
//! }
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod actions;
mod client;
pub mod config;
pub mod connector;
mod docs;
pub mod error;
pub mod factory;
pub mod models;

use std::sync::Arc;

use stackhand_core::Category;

pub use client::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use config::HuduConfig;
pub use connector::HuduConnector;
pub use error::HuduErrorParser;
pub use factory::HuduFactory;

/// The vendor key in configuration (`[tenants.<id>.connectors.hudu]`) and connector info.
pub const VENDOR: &str = "hudu";

/// The capability categories a Hudu connector offers.
pub const CATEGORIES: &[Category] = &[Category::Docs];

/// Add the Hudu factory to a registry.
pub fn register(registry: &mut stackhand_core::Registry) {
    registry.register(Arc::new(HuduFactory));
}
