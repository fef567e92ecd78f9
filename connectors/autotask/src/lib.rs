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
//!   queries, `POST` for long ones). Pages hold Autotask's 500 records unless `http.page_size`
//!   asks for fewer (sent as `MaxRecords`). Companies and contacts are read in batches.
//! - **History** for learning: Complete tickets whose `completedDate` falls in a range, with
//!   their notes (`TicketNotes/query`) and resolution, each ticket exactly once.
//! - **Picklists at run time**: status, queue, priority, ticket type, note publish and note type
//!   are tenant-specific integers read from `entityInformation/fields`, never hard-coded.
//!   Internal notes use the internal-only publish value, customer notes "All Autotask Users".
//! - **Writes**: notes under `Tickets/{id}/Notes`; status, queue, resource, resolution and
//!   problem links with `PATCH Tickets` (id in the body); a technician to assign is read by id
//!   (`Resources/{id}`) or by login or email (`Resources/query`) for their default service desk
//!   role; close with the Complete status and the resolution in one update; contacts created
//!   and (de)activated under `Companies/{id}/Contacts`; incidents linked through Problem
//!   tickets (`problemTicketId`).
//! - **The hourly threshold**: 10,000 requests per rolling hour are shared by every integration
//!   of a database. The connector reads `ThresholdInformation` every few calls, spaces its calls
//!   once half is used and stops (answering `RateLimited`) before the limit.
//! - **Errors**: [`AutotaskErrorParser`] reads Autotask's `{"errors":[…]}` envelope and
//!   ASP.NET's `{"Message":…}`; a 500 carrying the envelope is a refusal
//!   ([`ErrorKind::Invalid`](stackhand_core::ErrorKind), never retried), not a passing failure.
//! - **Tenant isolation**: with `company_id` set, the connector sees only that client company's
//!   tickets, contacts and company. The integration code and secret are
//!   [`SecretRef`](stackhand_core::SecretRef)s resolved for the building tenant only.
//!
//! The vendor-specific action `autotask.open_problem` opens a Problem ticket and links incidents
//! to it.
//!
//! ## Example
//!
//! A runner builds the connector through the [`Registry`](stackhand_core::Registry) from the
//! tenant's configuration section; credentials are named, never written into it.
//!
//! ```
//! use std::sync::Arc;
//!
//! use stackhand_core::build::{BuildContext, LocalSecrets};
//! use stackhand_core::{Psa, Registry, Result, TenantId, TicketQuery};
//!
//! /// What intake does with it: every open ticket of the tenant's company.
//! async fn open_tickets(psa: &dyn Psa) -> Result<()> {
//!     for ticket in psa.poll_tickets(&TicketQuery::default()).await? {
//!         println!("{} [{}] {}", ticket.id, ticket.status, ticket.subject);
//!     }
//!     Ok(())
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let mut registry = Registry::new();
//! stackhand_autotask::register(&mut registry);
//!
//! // The tenant's secrets directory holds the integration code and the API user's secret.
//! let dir = std::env::temp_dir().join("stackhand-autotask-doc");
//! std::fs::create_dir_all(dir.join("contoso-law"))?;
//! std::fs::write(dir.join("contoso-law/autotask.code"), "TRACKINGIDENTIFIER\n")?;
//! std::fs::write(dir.join("contoso-law/autotask.secret"), "from-the-vault\n")?;
//! let ctx = BuildContext::new(TenantId::new("contoso-law")?)
//!     .with_secrets(Arc::new(LocalSecrets::new().with_dir(&dir)));
//!
//! let connector = registry
//!     .build(
//!         &ctx,
//!         stackhand_autotask::VENDOR,
//!         serde_json::json!({
//!             "base_url": "https://webservices15.autotask.net/ATServicesRest/",
//!             "username": "stackhand-api@msp.example",
//!             "integration_code": {"file": "autotask.code"},
//!             "secret": {"file": "autotask.secret"},
//!             "company_id": 174,
//!             "http": {"timeout_secs": 20}
//!         }),
//!     )
//!     .await?;
//! // Building sends nothing; the first call does.
//! assert_eq!(connector.info().tenant.as_str(), "contoso-law");
//! let psa = connector.psa().expect("autotask is a PSA");
//! # let _ = open_tickets; let _ = psa;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod actions;
mod client;
mod config;
mod connector;
mod error;
mod factory;
mod models;
mod picklist;
mod psa;

use std::sync::Arc;

use stackhand_core::Category;

pub use actions::OpenProblemParams;
pub use client::{Pace, pace};
pub use config::{
    AutotaskConfig, DEFAULT_DISCOVERY_URL, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ThresholdConfig,
};
pub use connector::AutotaskConnector;
pub use error::{AutotaskErrorParser, REJECTED};
pub use factory::AutotaskFactory;
pub use models::ThresholdInformation;

/// The vendor key in configuration (`[tenants.<id>.connectors.autotask]`) and connector info.
pub const VENDOR: &str = "autotask";

/// The capability categories an Autotask connector offers.
pub const CATEGORIES: &[Category] = &[Category::Psa];

/// Add the Autotask factory to a registry (vendor key [`VENDOR`]).
pub fn register(registry: &mut stackhand_core::Registry) {
    registry.register(Arc::new(AutotaskFactory));
}
