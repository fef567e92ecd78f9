//! # stackhand-m365
//!
//! The Microsoft 365 connector: Entra ID users, groups, licences and authentication methods
//! through Microsoft Graph v1.0, mailboxes and distribution lists through the Exchange Online
//! admin endpoint (`InvokeCommand`), and mail through Graph's `sendMail`.
//!
//! - **Auth per tenant**: app-only client credentials (a secret or a certificate assertion)
//!   against the tenant's token endpoint, or tokens the caller supplies (an admin's delegated,
//!   scoped tokens). Graph and Exchange get separate tokens (`.default` of each resource).
//!   Credentials are [`SecretRef`](stackhand_core::SecretRef)s, resolved for the building
//!   tenant only.
//! - **Capabilities**: [`IdentityProvider`](stackhand_core::IdentityProvider) with licences,
//!   mailboxes and Temporary Access Passes (no native unlock: Entra has no unlock call, see
//!   [`M365Connector`]'s `unlock`), and [`Messaging`](stackhand_core::Messaging).
//! - **Vendor actions** (`m365.*`, see [`actions`]): convert to shared, forwarding on/off,
//!   automatic replies, address-list visibility (all undoable), service health issues.
//! - **Privilege**: a user's roles are the directory roles it holds directly (`memberOf`) or
//!   through a role-assignable group (`transitiveMemberOf`, read when the user is in one: only
//!   such groups hold roles, and they cannot be nested), and those it is eligible for through PIM
//!   (`roleManagement/directory/roleEligibilityScheduleInstances`, which needs the application
//!   permission `RoleEligibilitySchedule.Read.Directory`; without it `get_user` fails rather than
//!   report no roles). A role-assignable group (`isAssignableToRole`) is `privileged`.
//! - **Transport**: a small typed client on stackhand-http: retries honour `Retry-After`,
//!   `@odata.nextLink` paging, Graph's and Exchange's error envelopes
//!   ([`MicrosoftErrorParser`]). Why not graph-rs-sdk: `docs/decisions/0001-graph-client.md`.
//! - **Endpoints are configuration**: `base_url`, `exchange_base_url`, `authority_host` and
//!   `token_url`, so the connector points at the simulator or a mock from `stackhand.toml`.
//!
//! ## Example
//!
//! A runner builds the connector from the tenant's configuration section through the
//! [`Registry`](stackhand_core::Registry); the [`BuildContext`](stackhand_core::BuildContext)
//! resolves the credentials for that tenant only. Building sends nothing: the token is fetched
//! on first use.
//!
//! ```
//! use std::sync::Arc;
//!
//! use stackhand_core::build::LocalSecrets;
//! use stackhand_core::{BuildContext, Category, Registry, SecretRef, TenantId};
//! use stackhand_m365::{M365Config, M365Connector};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The tenant's secrets directory holds the app's client secret.
//! let secrets = std::env::temp_dir().join("stackhand-m365-doc-secrets");
//! std::fs::create_dir_all(secrets.join("contoso-law"))?;
//! std::fs::write(secrets.join("contoso-law/m365.secret"), "from-the-vault\n")?;
//! let ctx = BuildContext::new(TenantId::new("contoso-law")?)
//!     .with_secrets(Arc::new(LocalSecrets::new().with_dir(&secrets)));
//!
//! // From configuration, as in `[tenants.contoso-law.connectors.m365]`...
//! let mut registry = Registry::new();
//! stackhand_m365::register(&mut registry);
//! let connector = registry
//!     .build(
//!         &ctx,
//!         stackhand_m365::VENDOR,
//!         serde_json::json!({
//!             "tenant_id": "contosolaw.com",
//!             "notify_sender": "helpdesk@contosolaw.com",
//!             "auth": {"method": "client_secret",
//!                      "client_id": "5a8c1e2b-9f3d-4c6a-8b7e-0d1f2a3b4c5d",
//!                      "client_secret": {"file": "m365.secret"}},
//!             "http": {"requests_per_second": 10}
//!         }),
//!     )
//!     .await?;
//! assert_eq!(connector.info().vendor, "m365");
//! assert_eq!(connector.info().categories, [Category::Identity, Category::Messaging]);
//! // Reads are open; writes (`IdentityWrites`) borrow the proof only the engine issues, so a
//! // password reset is `identity.reset_password` submitted to an `Engine` holding this connector.
//! assert!(connector.identity().is_some());
//!
//! // ...or from code.
//! let config = M365Config::client_secret(
//!     "contosolaw.com",
//!     "5a8c1e2b-9f3d-4c6a-8b7e-0d1f2a3b4c5d",
//!     SecretRef::file("m365.secret"),
//! )
//! .with_notify_sender("helpdesk@contosolaw.com");
//! let m365 = M365Connector::build(&ctx, config).await?;
//! # drop(m365);
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod actions;
mod client;
mod config;
mod connector;
mod error;
mod factory;
mod identity;
pub mod models;

use std::sync::Arc;

pub use config::{EXCHANGE_SCOPE, GRAPH_SCOPE, M365Auth, M365Config};
pub use connector::M365Connector;
pub use error::MicrosoftErrorParser;
pub use factory::M365Factory;

/// The vendor key: `[tenants.<id>.connectors.m365]`, and the name in errors, spans and the
/// rate limiter.
pub const VENDOR: &str = "m365";

/// What the connector offers: identity (Entra ID, Exchange Online) and messaging (mail).
pub const CATEGORIES: &[stackhand_core::Category] = &[
    stackhand_core::Category::Identity,
    stackhand_core::Category::Messaging,
];

/// Add the `m365` factory to a registry.
pub fn register(registry: &mut stackhand_core::Registry) {
    registry.register(Arc::new(M365Factory));
}
