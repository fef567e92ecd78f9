//! # stackhand-runner
//!
//! Composes stackhand from `stackhand.toml`: the connectors this build has
//! ([`register_default_connectors`], one cargo feature per connector), each tenant's enabled
//! connectors built through the [`Registry`](stackhand_core::Registry) with that tenant's own
//! credentials ([`Composer`]), and the layered policy checked against everything the
//! configuration and the connectors name.
//!
//! With a `[store]` section, credentials written `{ vault = "name" }` are read from the store's
//! encrypted vault ([`open_vault`], `stackhand_store::VaultSecrets`), each tenant from its own
//! credentials only; `{ env = .. }` and `{ file = .. }` work as without it.
//!
//! A [`Deployment`] is the whole of `stackhand.toml` working on its `[store]`: one engine whose
//! idempotency keys, approvals, caps and audit trail are in the database, with the staff of
//! `[[staff]]`, every tenant's connectors built with its own credentials from the vault, and
//! durable runs ([`RunExecutor`]): each step recorded before and after the engine is asked, so
//! a runner killed anywhere resumes every run and finishes it exactly once.
//!
//! The `stackhand` binary is this crate plus a command line; integrators who build their own
//! runner use it the same way.
//!
//! ```no_run
//! use stackhand_runner::{Composer, LoadedConfig, default_registry};
//!
//! # async fn demo() -> stackhand_core::Result<()> {
//! let loaded = LoadedConfig::load("stackhand.toml".as_ref())?;
//! let registry = default_registry();
//! let composer = Composer::new(&registry);
//! let policy = composer.policy(&loaded, &["msp.lead"])?;
//! for tenant in composer.tenants(&loaded).await? {
//!     println!("{}: {} connectors", tenant.tenant.id, tenant.connectors.all().len());
//! }
//! # let _ = policy;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod backtest;
pub mod callbacks;
pub mod compose;
pub mod config;
pub mod connectors;
pub mod deployment;
pub mod incidents;
pub mod intake;
pub mod llm;
pub mod pipeline;
pub mod runs;
pub mod shadow;
pub mod store;
pub mod walkthrough;
pub mod workflow;

pub use compose::{ComposedTenant, Composer};
pub use config::{
    KeySource, LoadedConfig, RoleTemplate, StackhandConfig, StoreConfig, TenantConfig, TriageConfig,
};
pub use connectors::{default_registry, register_default_connectors};
pub use deployment::Deployment;
pub use incidents::{IncidentLink, IncidentSettings};
pub use intake::{Intake, Polled};
pub use pipeline::{Pipeline, Resolution, TicketOutcome};
pub use runs::{Clock, RunExecutor, RunReport, StepReport};
pub use stackhand_triage::{ModelTriage, RuleTriage, Triage, Triaged};
pub use store::{append_local_store, open_vault};
pub use workflow::{Workflow, WorkflowSet};
