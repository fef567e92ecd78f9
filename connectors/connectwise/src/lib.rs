//! # stackhand-connectwise
//!
//! The stackhand connector for **ConnectWise Manage** (ConnectWise PSA), REST API 3.0: where
//! tickets come from and where the work is documented. It implements
//! [`stackhand_core::Psa`] and produces the same normalised [`stackhand_core::Ticket`] as every
//! other PSA connector.
//!
//! - **Auth**: HTTP Basic `companyId+publicKey:privateKey` plus the integration's `clientId`
//!   header on every request; the API version pinned in `Accept`
//!   (`application/vnd.connectwise.com+json; version=2025.8`).
//! - **Codebase discovery**: `GET /login/companyinfo/{companyId}` when no `codebase` is
//!   configured; requests then go to `{base_url}/{codebase}apis/3.0/`.
//! - **Intake**: [`Psa::poll_tickets`](stackhand_core::Psa::poll_tickets) reads open tickets on
//!   chosen boards and statuses changed since a watermark (`conditions`, `orderBy`, page-number
//!   paging) with their description, contact and company;
//!   [`Psa::parse_callback`](stackhand_core::Psa::parse_callback) turns a ConnectWise callback
//!   (`{"Action","Type","ID","Entity":"<ticket JSON>"}`) into the same ticket.
//! - **History for learning**: closed tickets of a date range with their notes and resolution,
//!   read with forward-only paging so each comes exactly once.
//! - **Notes**: internal (`internalAnalysisFlag`), customer-visible (`detailDescriptionFlag` with
//!   notifications) and resolution (`resolutionFlag`).
//! - **Workflow**: status by name through the board's statuses (cached per board) and a JSON
//!   Patch; close with the board's closed status after the resolution note; reassign to a board
//!   or a member.
//! - **Contacts and companies**: find by email, create (onboarding), deactivate and reactivate
//!   (offboarding and its undo), company by identifier or name.
//! - **Tenancy**: with `company_identifier` the connector sees only that client company's
//!   tickets and contacts; another company's ticket is "not found".
//! - **Parent tickets**: a child is bundled under its parent with
//!   `POST /service/tickets/{parentId}/attachChildren` (`{"childTicketIds":[…]}`); a ticket is
//!   never linked to itself, and a child already under that parent is left alone.
//! - **Vendor actions**: `connectwise.create_ticket` (see [`actions::specs`]).
//!
//! Errors are read from ConnectWise's envelope (`{"code","message","errors":[{field,message}]}`)
//! by [`ConnectWiseErrorParser`], the one place a failed response is read; idempotent requests
//! are retried on temporary failures, and 429s honour `Retry-After`.
//!
//! ## Configuration
//!
//! See [`ConnectWiseConfig`]. The private key is a [`SecretRef`](stackhand_core::SecretRef)
//! (`{ env = "STACKHAND_SECRET_<TENANT>__<NAME>" }` or `{ file = "<name>" }`), resolved for the
//! tenant being built; HTTP behaviour, page size included, is the shared `http` table.
//!
//! ## Example
//!
//! ```no_run
//! use stackhand_core::{BuildContext, Registry, TenantId, TicketQuery};
//!
//! # async fn demo() -> stackhand_core::Result<()> {
//! let mut registry = Registry::new();
//! stackhand_connectwise::register(&mut registry);
//!
//! // The private key comes from STACKHAND_SECRET_CONTOSO_LAW__CONNECTWISE_KEY.
//! let ctx = BuildContext::new(TenantId::new("contoso-law")?);
//! let section = serde_json::json!({
//!     "site": "api-na.myconnectwise.net",
//!     "company_id": "acme",
//!     "public_key": "PUBKEY",
//!     "private_key": {"env": "STACKHAND_SECRET_CONTOSO_LAW__CONNECTWISE_KEY"},
//!     "client_id": "5f1d2c3b-8a7e-4d6c-9b0a-1e2f3a4b5c6d",
//!     "company_identifier": "CONTOSO-LAW",
//!     "http": {"page_size": 500}
//! });
//! let connector = registry.build(&ctx, stackhand_connectwise::VENDOR, section).await?;
//!
//! let psa = connector.psa().expect("a PSA");
//! let query = TicketQuery { boards: vec!["Help Desk".into()], ..Default::default() };
//! for ticket in psa.poll_tickets(&query).await? {
//!     println!("#{} {} ({})", ticket.id, ticket.subject, ticket.status);
//! }
//! # Ok(()) }
//! ```
//!
//! Point `base_url` at any server (a proxy, `stackhand-sim`'s ConnectWise simulator, a
//! wiremock) to run without a ConnectWise instance.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod actions;
mod client;
mod config;
mod connector;
mod error;
mod factory;
pub mod models;
mod psa;

use std::sync::Arc;

use stackhand_core::Category;

pub use actions::{CreateTicket, CreateTicketParams};
pub use config::{ConnectWiseConfig, DEFAULT_API_VERSION, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use connector::ConnectWise;
pub use error::ConnectWiseErrorParser;
pub use factory::ConnectWiseFactory;

/// The vendor key in configuration (`[tenants.<id>.connectors.connectwise]`) and connector info.
pub const VENDOR: &str = "connectwise";

/// The capability categories a ConnectWise connector offers.
pub const CATEGORIES: &[Category] = &[Category::Psa];

/// Add the ConnectWise factory (vendor key [`VENDOR`]) to a registry.
pub fn register(registry: &mut stackhand_core::Registry) {
    registry.register(Arc::new(ConnectWiseFactory));
}
