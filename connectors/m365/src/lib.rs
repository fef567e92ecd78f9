//! # stackhand-m365
//!
//! The Microsoft 365 connector: Entra ID users, groups, licences and authentication methods
//! through Microsoft Graph v1.0, mailboxes and distribution lists through the Exchange Online
//! admin endpoint (`InvokeCommand`), and mail through Graph's `sendMail`.
//!
//! - **Auth per tenant**: app-only client credentials (a secret or a certificate assertion)
//!   against the tenant's token endpoint, or tokens the caller supplies (an admin's delegated,
//!   scoped tokens). Graph and Exchange get separate tokens (`.default` of each resource).
//! - **Capabilities**: [`IdentityProvider`](stackhand_core::IdentityProvider) with licences,
//!   mailboxes and Temporary Access Passes (no native unlock: Entra has no unlock call, see
//!   [`M365Connector`]'s `unlock`), and [`Messaging`](stackhand_core::Messaging).
//! - **Vendor actions** (`m365.*`, see [`actions`]): convert to shared, forwarding on/off,
//!   automatic replies, address-list visibility (all undoable), service health issues.
//! - **Privilege**: a user's roles are the directory roles it holds directly or through a
//!   role-assignable group (`transitiveMemberOf`) and those it is eligible for through PIM
//!   (`roleManagement/directory/roleEligibilityScheduleInstances`, which needs the application
//!   permission `RoleEligibilitySchedule.Read.Directory`; without it `get_user` fails rather than
//!   report no roles). A role-assignable group (`isAssignableToRole`) is `privileged`.
//! - **Transport**: a small typed client on stackhand-http ([`GraphClient`]): retries honour
//!   `Retry-After`, `@odata.nextLink` paging, Graph's and Exchange's error envelopes
//!   ([`MicrosoftErrorParser`]). Why not graph-rs-sdk: `docs/decisions/0001-graph-client.md`.
//! - **Endpoints are configuration**: `base_url`, `exchange_base_url`, `authority_host` and
//!   `token_url`, so the connector points at the simulator or a mock from `stackhand.toml`.
//!
//! ## Example
//!
//! ```no_run
//! use secrecy::SecretString;
//! use stackhand_core::{IdentityProvider, Registry, TenantId};
//! use stackhand_m365::{M365Config, M365Connector};
//!
//! # async fn demo() -> stackhand_core::Result<()> {
//! // From code...
//! let config = M365Config::client_secret(
//!     "contosolaw.com",
//!     "5a8c1e2b-9f3d-4c6a-8b7e-0d1f2a3b4c5d",
//!     SecretString::from("from-the-vault"),
//! )
//! .with_notify_sender("helpdesk@contosolaw.com");
//! let m365 = M365Connector::new(TenantId::new("contoso-law")?, config)?;
//! let user = m365.get_user("dreyes@contosolaw.com").await?;
//! // Reads are open; writes (`IdentityWrites`) borrow the proof only the engine issues, so a
//! // password reset is `identity.reset_password` submitted to an `Engine` holding this connector.
//! # drop(user);
//!
//! // ...or from configuration, through the registry.
//! let mut registry = Registry::new();
//! stackhand_m365::register(&mut registry);
//! let connector = registry.build(
//!     "m365",
//!     &TenantId::new("contoso-law")?,
//!     serde_json::json!({
//!         "tenant_id": "contosolaw.com",
//!         "base_url": "http://127.0.0.1:9365",
//!         "exchange_base_url": "http://127.0.0.1:9365",
//!         "authority_host": "http://127.0.0.1:9365",
//!         "auth": {"method": "client_secret", "client_id": "app", "client_secret": "s"}
//!     }),
//! )?;
//! assert_eq!(connector.info().vendor, "m365");
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod actions;
mod client;
mod config;
mod connector;
mod error;
mod identity;
pub mod models;

use std::sync::Arc;

pub use client::{CmdletOutput, GraphClient};
pub use config::{EXCHANGE_SCOPE, GRAPH_SCOPE, M365Auth, M365Config};
pub use connector::{M365Connector, M365Factory};
pub use error::MicrosoftErrorParser;

/// Add the `m365` factory to a registry.
pub fn register(registry: &mut stackhand_core::Registry) {
    registry.register(Arc::new(M365Factory));
}
