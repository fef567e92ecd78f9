//! # stackhand-autotask
//!
//! The Autotask PSA (Datto / Kaseya) connector for stackhand, over the Autotask REST API v1.0.
//! It implements [`stackhand_core::Psa`]: the PSA is where tickets come from and where the work
//! is documented, so the connector turns Autotask tickets into the vendor-neutral
//! [`stackhand_core::Ticket`] and writes notes, statuses and links back.
//!
//! What it does, in Autotask's terms:
//!
//! - **Zone discovery**: without a `base_url`, it asks `ZoneInformation?user=` (at
//!   `discovery_url`) which `webservicesN` zone holds the database. Every call carries the
//!   `ApiIntegrationCode`, `UserName` and `Secret` headers (and `ImpersonationResourceId` when
//!   configured).
//! - **Intake**: `Tickets/query` with filters on status, queue and `lastActivityDate` after a
//!   watermark, following `pageDetails.nextPageUrl` page by page (`GET ?search=` for short
//!   queries, `POST` for long ones). Companies and contacts are read in batches.
//! - **History** for learning: Complete tickets whose `completedDate` falls in a range, with
//!   their notes (`TicketNotes/query`) and resolution, each ticket exactly once.
//! - **Picklists at run time**: status, queue, priority, ticket type, note publish and note type
//!   are tenant-specific integers read from `entityInformation/fields`, never hard-coded.
//!   Internal notes use the internal-only publish value, customer notes "All Autotask Users".
//! - **Writes**: notes under `Tickets/{id}/Notes`; status, queue, resource, resolution and
//!   problem links with `PATCH Tickets` (id in the body); close with the Complete status and the
//!   resolution in one update; contacts created and (de)activated under
//!   `Companies/{id}/Contacts`; incidents linked through Problem tickets (`problemTicketId`).
//! - **The hourly threshold**: 10,000 requests per rolling hour are shared by every integration
//!   of a database. The connector reads `ThresholdInformation` every few calls, spaces its calls
//!   once half is used and stops (answering `RateLimited`) before the limit.
//! - **Errors**: Autotask's `{"errors":[…]}` envelope through stackhand-http's one error path;
//!   a 500 carrying the envelope is a refusal ([`ErrorKind::Invalid`](stackhand_core::ErrorKind)),
//!   not a passing failure.
//! - **Tenant isolation**: with `company_id` set, the connector sees only that client company's
//!   tickets, contacts and company.
//!
//! The vendor-specific action `autotask.open_problem` opens a Problem ticket and links incidents
//! to it.
//!
//! ## Example
//!
//! ```no_run
//! use stackhand_autotask::AutotaskConfig;
//! use stackhand_core::{Registry, TenantId, TicketQuery};
//!
//! # async fn demo() -> stackhand_core::Result<()> {
//! let mut registry = Registry::new();
//! stackhand_autotask::register(&mut registry);
//!
//! let connector = registry.build(
//!     "autotask",
//!     &TenantId::new("contoso-law")?,
//!     serde_json::json!({
//!         "username": "stackhand-api@msp.example",
//!         "integration_code": "TRACKINGIDENTIFIER",
//!         "secret": "from-the-vault",
//!         "company_id": 174
//!     }),
//! )?;
//! let psa = connector.psa().expect("autotask is a PSA");
//! for ticket in psa.poll_tickets(&TicketQuery::default()).await? {
//!     println!("{} [{}] {}", ticket.id, ticket.status, ticket.subject);
//! }
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod client;
mod config;
mod connector;
mod error;
mod models;
mod picklist;
mod psa;

use std::sync::Arc;

pub use client::{Pace, pace};
pub use config::{AutotaskConfig, DEFAULT_DISCOVERY_URL, ThresholdConfig};
pub use connector::{
    AutotaskConnector, AutotaskConnectorBuilder, AutotaskFactory, OpenProblemParams,
};
pub use error::{AutotaskErrorParser, REJECTED, classify};
pub use models::ThresholdInformation;

/// Add the Autotask factory to a registry (vendor key `autotask`).
pub fn register(registry: &mut stackhand_core::Registry) {
    registry.register(Arc::new(AutotaskFactory));
}
