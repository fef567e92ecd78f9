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
//! Built on `stackhand-http`: `Authorization: SSWS <token>` or OAuth 2.0 client credentials
//! with a `private_key_jwt` assertion against the org authorization server
//! (`{base_url}/oauth2/v1/token`, overridable); the `X-Rate-Limit-Remaining` /
//! `X-Rate-Limit-Reset` headers hold requests before a 429 happens, and a 429 (`E0000047`) is
//! retried after the reset; Okta's error envelope is parsed once ([`OktaErrorParser`]) and
//! state conflicts (`E0000016`, `E0000032`, `E0000038`) map to `Conflict`.
//!
//! Not implemented: DPoP-bound tokens (RFC 9449); turn "Require DPoP" off on the API Services
//! app. The role read (`okta.roles.read`) is outside the trimmed spec kept in the repository;
//! set `read_admin_roles = false` when the token may not read roles (every user then looks
//! unprivileged to the policy).
//!
//! ## Example
//!
//! ```no_run
//! use stackhand_core::{Registry, TenantId, UserQuery};
//!
//! # async fn demo() -> stackhand_core::Result<()> {
//! let mut registry = Registry::new();
//! stackhand_okta::register(&mut registry);
//!
//! let connector = registry.build(
//!     "okta",
//!     &TenantId::new("globex")?,
//!     serde_json::json!({
//!         "base_url": "https://globex.okta.com",
//!         "auth": {"method": "api_token", "api_token": "00-from-the-vault"}
//!     }),
//! )?;
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
pub mod client;
pub mod config;
pub mod connector;
pub mod error;
mod identity;
pub mod models;

use std::sync::Arc;

pub use actions::{Activate, Deactivate, OktaUserParams, Suspend, Unsuspend};
pub use client::{Lifecycle, OktaClient};
pub use config::{DEFAULT_SCOPES, OktaAuth, OktaConfig};
pub use connector::{OktaConnector, OktaFactory};
pub use error::OktaErrorParser;

/// The vendor key in configuration and connector info.
pub const VENDOR: &str = "okta";

/// Add the Okta factory to a registry.
pub fn register(registry: &mut stackhand_core::Registry) {
    registry.register(Arc::new(OktaFactory::default()));
}
