//! # stackhand-core
//!
//! placeholder crate docs (rewritten below once the engine lands).

#![forbid(unsafe_code)]

pub mod action;
pub mod actions;
pub mod approval;
pub mod audit;
pub mod capability;
pub mod connector;
pub mod engine;
pub mod error;
pub mod memory;
pub mod model;
pub mod policy;

pub use action::{
    Action, ActionCatalog, ActionContext, Descriptor, ExecutionProof, Typed, TypedAction,
};
pub use approval::{Approval, ApprovalId, ApprovalStatus, Operation};
pub use capability::*;
pub use connector::{Connector, ConnectorFactory, ConnectorInfo, ConnectorSet, Health, Registry};
pub use engine::{Engine, Receipt, Submission};
pub use error::{Error, ErrorKind, Result, RetryStatus};
pub use model::*;
pub use policy::{Approver, Decision, DecisionInput, DenyAll, Effect, Policy, RuleId, UsageView};
