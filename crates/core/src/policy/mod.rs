//! Policy: decides each request. No matching rule means deny: no policy, no action.
//!
//! [`Policy`] is the trait the engine consults; [`LayeredPolicy`] is the default implementation,
//! loaded from TOML documents at the global, tenant-group, tenant and department scopes.

mod layered;
mod vocabulary;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::approval::Operation;
use crate::model::{ActionRequest, ActionSpec, Principal, TargetFacts, Tenant};

pub use layered::{LayeredPolicy, PolicyDocument, PolicyError, PolicyLoader, Scope};
pub use vocabulary::Vocabulary;

/// The id of the rule that decided; [`RuleId::NO_POLICY`] when none matched.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RuleId(pub String);

impl RuleId {
    /// The pseudo-rule reported when no rule matched.
    pub const NO_POLICY: &'static str = "no-policy";

    /// A rule id.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who may approve.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "value")]
pub enum Approver {
    /// Anyone holding this role.
    Role(String),
    /// Anyone in this group.
    Group(String),
    /// This named principal (id or login).
    Contact(String),
}

impl Approver {
    /// Whether `principal` has this authority.
    pub fn admits(&self, principal: &Principal) -> bool {
        match self {
            Approver::Role(role) => principal.has_role(role),
            Approver::Group(group) => principal.groups.iter().any(|g| g == group),
            Approver::Contact(who) => principal.is_login(who),
        }
    }
}

/// What a decision says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum Effect {
    /// Go ahead.
    Allow,
    /// Wait for one of these approvers.
    RequireApproval {
        /// Who may approve (any one of them).
        approvers: Vec<Approver>,
    },
    /// Refuse.
    Deny,
}

/// A volume cap that applies to this request: at most `max` authorised executions, in this
/// tenant, of all actions the cap covers, per `window`.
///
/// The policy only names the caps; the engine counts. Before it executes an allowed or approved
/// request it reserves one slot under every cap of the decision, atomically, keyed by
/// (tenant, cap id), so every action under a glob cap (`identity.*`) shares one counter; if any
/// cap is full the request is denied, naming the cap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapLimit {
    /// The cap's id, unique across the loaded policy (the counter's key within a tenant).
    pub id: RuleId,
    /// How many executions the window admits.
    pub max: u32,
    /// The length of the sliding window, in seconds.
    pub window_seconds: u64,
}

/// A decision, always naming the rule that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The effect.
    #[serde(flatten)]
    pub effect: Effect,
    /// The deciding rule.
    pub rule: RuleId,
    /// Why, in words.
    pub reason: String,
    /// The volume caps the engine must reserve a slot under before executing (only on an allow
    /// or a require-approval; a deny has none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<CapLimit>,
}

impl Decision {
    /// A decision with no caps attached.
    pub fn new(effect: Effect, rule: RuleId, reason: impl Into<String>) -> Self {
        Self {
            effect,
            rule,
            reason: reason.into(),
            caps: Vec::new(),
        }
    }

    /// A denial by `rule`.
    pub fn deny(rule: RuleId, reason: impl Into<String>) -> Self {
        Self::new(Effect::Deny, rule, reason)
    }

    /// The default decision: deny, "no policy".
    pub fn no_policy() -> Self {
        Self::deny(RuleId::new(RuleId::NO_POLICY), "no policy")
    }

    /// Whether this allows outright.
    pub fn is_allow(&self) -> bool {
        self.effect == Effect::Allow
    }

    /// Whether this denies.
    pub fn is_deny(&self) -> bool {
        self.effect == Effect::Deny
    }
}

/// Everything a policy decides on.
pub struct DecisionInput<'a> {
    /// The request.
    pub request: &'a ActionRequest,
    /// Whether the request runs the action or undoes an earlier execution of it.
    pub operation: Operation,
    /// The action's spec (risk, reversibility).
    pub spec: &'a ActionSpec,
    /// The tenant, with its group.
    pub tenant: &'a Tenant,
    /// Facts the read-only plan found about the target.
    pub facts: &'a TargetFacts,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Decides requests.
pub trait Policy: Send + Sync {
    /// Decide one request.
    fn decide(&self, input: &DecisionInput<'_>) -> Decision;
}

/// A policy that denies everything: the safe default.
#[derive(Debug, Clone, Copy, Default)]
pub struct DenyAll;

impl Policy for DenyAll {
    fn decide(&self, _input: &DecisionInput<'_>) -> Decision {
        Decision::no_policy()
    }
}
