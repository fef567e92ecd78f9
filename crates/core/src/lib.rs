//! # stackhand-core
//!
//! The heart of stackhand: the vocabulary of MSP service work, the traits connectors implement,
//! and the [`Engine`], the only road by which anything is ever changed.
//!
//! - **Vocabulary** ([`model`]): tenants, principals, targets, tickets, [`ActionRequest`],
//!   [`Plan`] (what would change, and the state before), [`Outcome`].
//! - **Capabilities** ([`capability`]): [`IdentityProvider`], [`Psa`], [`Rmm`],
//!   [`Documentation`], [`Messaging`], vendor-neutral, implemented by connector crates.
//! - **Connectors** ([`connector`]): one client for one vendor in one tenant, built by a
//!   [`ConnectorFactory`] from configuration and composed per tenant in a [`ConnectorSet`].
//! - **Actions** ([`action`], [`actions`]): a verb with a spec, a read-only plan, an execute that
//!   takes an [`ExecutionProof`] only the engine can make, and an undo from the state before.
//!   31 built-in actions (`identity.*`, `psa.*`, `rmm.*`, `docs.*`, `messaging.*`) are written
//!   once over the capability traits.
//! - **Policy** ([`policy`]): allow, require approval (from whom), or deny, always naming the
//!   rule; [`policy::LayeredPolicy`] loads TOML documents at global, tenant-group, tenant and
//!   department scope. No matching rule means deny: no policy, no action.
//! - **Engine** ([`engine`]): plan, decide, approve, execute, verify, undo; every step is written
//!   to the per-tenant [`audit`] trail (an HMAC chain under the tenant's key, its head anchored
//!   outside the log) before it is acknowledged, and an
//!   idempotency key never executes twice.
//! - **In-memory connector** ([`memory`]): identity, PSA and mail, for examples and tests.
//!
//! ## Example
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use stackhand_core::audit::{AuditSink, MemoryAuditSink};
//! use stackhand_core::directory::{MemoryStaffDirectory, RoleScope, StaffMember};
//! use stackhand_core::engine::Engine;
//! use stackhand_core::memory::MemoryConnector;
//! use stackhand_core::policy::PolicyLoader;
//! use stackhand_core::*;
//!
//! let policy = PolicyLoader::new()
//!     .add_str("acme.toml", r#"
//!         [scope]
//!         tenant = "acme"
//!
//!         [[rules]]
//!         id = "groups-need-a-lead"
//!         actions = ["identity.add_to_group"]
//!         effect = "approve"
//!         approvers = [{ role = "msp.lead" }]
//!     "#)
//!     .build()?;
//! // Who may approve comes from the staff directory, never from the caller.
//! let staff = MemoryStaffDirectory::new()
//!     .with(StaffMember::technician("lead@msp.example").role("msp.lead", RoleScope::AllTenants));
//! let audit_sink = Arc::new(MemoryAuditSink::new());
//! let engine = Engine::builder(Arc::new(policy), audit_sink.clone())
//!     .staff(Arc::new(staff))
//!     .build();
//! let tenant = TenantId::new("acme")?;
//! let memory = MemoryConnector::demo(tenant.clone());
//! engine.add_tenant(
//!     Tenant::new(tenant.clone(), "Acme"),
//!     ConnectorSet::new(tenant.clone()).with(Arc::new(memory.clone()))?,
//! )?;
//!
//! let request = ActionRequest::new(
//!     IdempotencyKey::new("ticket-42")?,
//!     tenant.clone(),
//!     ActionId::from_static("identity.add_to_group"),
//!     &serde_json::json!({ "user": "jane@acme.example", "group": "Sales" }),
//!     Principal::agent("stackhand"),
//! )?;
//! let pending = engine.submit(request).await?;
//! let approval = pending.approval().expect("the policy asks for a lead");
//!
//! let lead = Principal::technician("lead@msp.example", &[]);
//! let done = engine.approve(approval.id, &lead).await?;
//! assert_eq!(done.receipt().unwrap().outcome.status, StepStatus::Verified);
//! // The tenant's chain verifies with its key against its anchored head.
//! assert!(audit_sink.verify_tenant(&tenant).await?.is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

#![forbid(unsafe_code)]

pub mod action;
pub mod actions;
pub mod approval;
pub mod audit;
pub mod build;
pub mod capability;
pub mod config;
pub mod connector;
pub mod directory;
pub mod engine;
pub mod error;
pub mod memory;
pub mod model;
pub mod password;
pub mod policy;
pub mod suggest;

pub use action::{
    Action, ActionCatalog, ActionContext, Descriptor, ExecutionProof, Typed, TypedAction,
};
pub use approval::{Approval, ApprovalId, ApprovalStatus, Operation};
pub use build::{BuildContext, SecretRef, SecretResolver};
pub use capability::*;
pub use connector::{
    Connector, ConnectorDescription, ConnectorFactory, ConnectorInfo, ConnectorSet, Health,
    Registry,
};
pub use engine::{Engine, Receipt, Submission};
pub use error::{Error, ErrorKind, Result, RetryStatus};
pub use model::*;
pub use policy::{Approver, CapLimit, Decision, DecisionInput, DenyAll, Effect, Policy, RuleId};
