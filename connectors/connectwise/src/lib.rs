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
//!   or a member; parent/child linking for incidents.
//! - **Contacts and companies**: find by email, create (onboarding), deactivate and reactivate
//!   (offboarding and its undo), company by identifier or name.
//! - **Tenancy**: with `company_identifier` the connector sees only that client company's
//!   tickets and contacts; another company's ticket is "not found".
//! - **Vendor actions**: `connectwise.create_ticket`.
//!
//! Errors come from ConnectWise's envelope (`{"code","message","errors":[{field,message}]}`)
//! through stackhand-http's one error path; 429s honour `Retry-After`.
//!
//! ## Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use stackhand_core::{Registry, TenantId, TicketQuery};
//!
//! # async fn demo() -> stackhand_core::Result<()> {
//! let mut registry = Registry::new();
//! stackhand_connectwise::register(&mut registry);
//!
//! let tenant = TenantId::new("contoso-law")?;
//! let connector = registry.build("connectwise", &tenant, serde_json::json!({
//!     "site": "api-na.myconnectwise.net",
//!     "company_id": "acme",
//!     "public_key": "PUBKEY",
//!     "private_key": "from-the-vault",
//!     "client_id": "5f1d2c3b-8a7e-4d6c-9b0a-1e2f3a4b5c6d",
//!     "company_identifier": "CONTOSO-LAW"
//! }))?;
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

mod actions;
mod capabilities;
mod client;
mod config;
mod connector;
mod error;
pub mod models;

use std::sync::Arc;

pub use actions::{CreateTicket, CreateTicketParams};
pub use client::{ConnectWiseClient, VENDOR};
pub use config::{ConnectWiseConfig, DEFAULT_API_VERSION, DEFAULT_PAGE_SIZE};
pub use connector::{ConnectWise, ConnectWiseFactory};
pub use error::ConnectWiseErrorParser;

/// Add the ConnectWise factory (vendor key `connectwise`) to a registry.
pub fn register(registry: &mut stackhand_core::Registry) {
    registry.register(Arc::new(ConnectWiseFactory));
}
