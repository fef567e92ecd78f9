//! Approvals: a request waiting for an authorised approver.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{ActionRequest, Plan, TenantId, Timestamp};
use crate::policy::{Approver, Decision};

/// An approval's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApprovalId(pub Uuid);

impl ApprovalId {
    /// A fresh random id.
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }
}

impl Default for ApprovalId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ApprovalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for ApprovalId {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        Uuid::parse_str(s)
            .map(Self)
            .map_err(|e| crate::Error::invalid(format!("invalid approval id {s:?}: {e}")))
    }
}

/// Whether the approval is for running the action or undoing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Run the action.
    Execute,
    /// Undo an earlier execution from its recorded state before.
    Undo,
}

/// Where an approval stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum ApprovalStatus {
    /// Waiting.
    Pending,
    /// Approved.
    Approved {
        /// Approver id.
        by: String,
        /// When.
        at: Timestamp,
    },
    /// Refused.
    Denied {
        /// Who refused.
        by: String,
        /// When.
        at: Timestamp,
        /// Why.
        reason: String,
    },
    /// Nobody answered in time.
    Expired {
        /// When it was found expired.
        at: Timestamp,
    },
}

/// A request waiting for an approver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// Id.
    pub id: ApprovalId,
    /// Tenant.
    pub tenant: TenantId,
    /// Execute or undo.
    pub operation: Operation,
    /// The request.
    pub request: ActionRequest,
    /// The plan shown to the approver.
    pub plan: Plan,
    /// The decision that required approval.
    pub decision: Decision,
    /// Who may approve (any one).
    pub approvers: Vec<Approver>,
    /// Created.
    pub created: Timestamp,
    /// Expires.
    pub expires: Timestamp,
    /// Status.
    pub status: ApprovalStatus,
}
