//! # stackhand-okta
//!
//! The stackhand connector for the **Okta Management API**: one Okta org for one tenant, as an
//! [`IdentityProvider`](stackhand_core::IdentityProvider) plus Okta-specific lifecycle actions.
//!
//! ## What it does
//! - Find users (`search` on login, email or name, every `Link` page) and read them by id or
//!   login, with their admin roles (`GET /api/v1/users/{id}/roles`) so policies can protect
//!   super admins.
//! - Reset passwords: a one-time reset link (`reset_password?sendEmail=false`, user goes to
//!   `RECOVERY`), or a temporary password (`expire_password_with_temp_password`, user goes to
//!   `PASSWORD_EXPIRED`), optionally revoking sessions; a generated password without forced
//!   change when asked.
//! - Unlock, list and reset factors, revoke sessions (with OAuth tokens and remembered devices),
//!   block and unblock sign-in (suspend / unsuspend), group membership (only `OKTA_GROUP`
//!   groups: `APP_GROUP` and `BUILT_IN` groups get a clear error before any call), create users
//!   (active, password to change at first sign-in, generated with a CSPRNG).
//! - Vendor actions: `okta.suspend`, `okta.unsuspend` (each the other's undo), `okta.deactivate`
//!   (critical and irreversible) and `okta.activate`.
//! - Okta has no licences, mailboxes or Temporary Access Pass: [`IdentityFeatures`] says so and
//!   those calls answer [`ErrorKind::Unsupported`](stackhand_core::ErrorKind::Unsupported).
//!   Directory-mastered users (Active Directory, LDAP, federation) are refused password and
//!   unlock operations with a [`Conflict`](stackhand_core::ErrorKind::Conflict) naming why.
//!
//! ## Plumbing
//! Built on `stackhand-http` ([`HttpClient::for_context`](stackhand_http::HttpClient::for_context):
//! the host's shared connection pool and per-(tenant, vendor) rate limits, and the `http`
//! table of the configuration): `Authorization: SSWS <token>` or OAuth 2.0 client credentials
//! with a `private_key_jwt` assertion against the org authorization server
//! (`{base_url}/oauth2/v1/token`, overridable), asking for exactly the scopes the enabled
//! features need ([`OktaConfig::scopes`]: no `okta.roles.read` unless admin roles are read).
//! The `X-Rate-Limit-Remaining` / `X-Rate-Limit-Reset` headers hold requests before a 429
//! happens, and a 429 (`E0000047`) is retried after the reset. Okta's error envelope and
//! `X-Okta-Request-Id` are read in one place ([`OktaErrorParser`]), where state conflicts
//! (`E0000016`, `E0000032`, `E0000038`, answered as 403) become `Conflict`.
//!
//! Credentials are never in the configuration file: it names where they are kept
//! (`{ file = "okta.pem" }`, `{ env = "STACKHAND_SECRET_<TENANT>__<NAME>" }`), and the build
//! context resolves them for its own tenant only.
//!
//! Not implemented: DPoP-bound tokens (RFC 9449); turn "Require DPoP" off on the API Services
//! app. Set `read_admin_roles = false` when the token may not read roles (every user then looks
//! unprivileged to the policy).
//!
//! ## Tests
//!
//! `tests/wiremock.rs` pins every request (method, path, query, headers, body, the token
//! request's `scope`) against Okta's documented responses; `tests/conformance.rs` runs the
//! testkit's suite with OAuth and with an SSWS token; `tests/registry.rs` builds the connector
//! from a `stackhand.toml` section; `tests/sim.rs` runs the built-in and `okta.*` actions through
//! the engine against `stackhand-sim`. Every request is validated against the Okta spec kept in
//! `crates/testkit/specs/okta.yaml`.
//!
//! ## Example
//!
//! ```no_run
//! use stackhand_core::{BuildContext, Registry, TenantId, UserQuery};
//!
//! # async fn demo() -> stackhand_core::Result<()> {
//! let mut registry = Registry::new();
//! stackhand_okta::register(&mut registry);
//!
//! // `[tenants.globex.connectors.okta]` as the runner hands it over.
//! let section: serde_json::Value = serde_json::json!({
//!     "base_url": "https://globex.okta.com",
//!     "auth": {
//!         "method": "private_key_jwt",
//!         "client_id": "0oa1globexsvc",
//!         "key_id": "sh-key-1",
//!         "private_key_pem": {"env": "STACKHAND_SECRET_GLOBEX__OKTA_KEY"}
//!     }
//! });
//! let ctx = BuildContext::new(TenantId::new("globex")?);
//! let connector = registry.build(&ctx, stackhand_okta::VENDOR, section).await?;
//!
//! let okta = connector.identity().expect("okta is an identity provider");
//! let users = okta.find_users(&UserQuery::Email("hank.scorpio@globex.example".into())).await?;
//! let hank = okta.get_user(&users[0].id).await?;
//! println!("{} is {:?}; admin roles: {:?}", hank.login, hank.status, hank.roles);
//! # Ok(()) }
//! ```
//!
//! [`IdentityFeatures`]: stackhand_core::IdentityFeatures

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod actions;
mod client;
pub mod config;
pub mod connector;
pub mod error;
pub mod factory;
mod identity;
pub mod models;

use std::sync::Arc;

use stackhand_core::Category;

pub use actions::{Activate, Deactivate, OktaUserParams, Suspend, Unsuspend};
pub use config::{BASE_SCOPES, OktaAuth, OktaConfig, ROLES_SCOPE};
pub use connector::OktaConnector;
pub use error::OktaErrorParser;
pub use factory::OktaFactory;

/// The vendor key in configuration (`[tenants.<id>.connectors.okta]`) and connector info.
pub const VENDOR: &str = "okta";

/// The capability categories an Okta connector offers.
pub const CATEGORIES: &[Category] = &[Category::Identity];

/// Add the Okta factory to a registry.
pub fn register(registry: &mut stackhand_core::Registry) {
    registry.register(Arc::new(OktaFactory));
}
