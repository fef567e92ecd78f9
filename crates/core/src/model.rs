//! The vocabulary: tenants, principals, targets, tickets, action requests, plans and outcomes.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validate and wrap: 1 to 128 characters of `[A-Za-z0-9._:@-]`.
            pub fn new(value: impl Into<String>) -> Result<Self> {
                let value = value.into();
                let ok = !value.is_empty()
                    && value.len() <= 128
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '@'));
                if ok {
                    Ok(Self(value))
                } else {
                    Err(Error::invalid(format!(
                        concat!("invalid ", $what, " {:?}: use 1-128 characters of letters, digits, '.', '_', '-', ':' or '@'"),
                        value
                    )))
                }
            }

            /// The id as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(value: String) -> Result<Self> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::new(s)
            }
        }
    };
}

string_id!(
    /// A client tenant of the MSP. Every key, query, log line and audit event carries one.
    TenantId,
    "tenant id"
);
string_id!(
    /// A named group of tenants that share policy (for example "legal-clients").
    TenantGroupId,
    "tenant group id"
);
string_id!(
    /// A caller-chosen key that makes a request execute at most once.
    IdempotencyKey,
    "idempotency key"
);

/// A department inside a tenant, as the identity provider names it.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct Department(pub String);

impl Department {
    /// Wrap a department name.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }
}

impl fmt::Display for Department {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A client tenant and where it sits in the policy layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Its display name.
    pub name: String,
    /// The tenant group whose policy layer applies, if any.
    #[serde(default)]
    pub group: Option<TenantGroupId>,
}

impl Tenant {
    /// A tenant with no group.
    pub fn new(id: TenantId, name: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            group: None,
        }
    }

    /// Put the tenant in a group.
    pub fn in_group(mut self, group: TenantGroupId) -> Self {
        self.group = Some(group);
        self
    }
}

/// A namespaced verb: `identity.reset_password`, `psa.add_note`, `m365.convert_to_shared`.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(try_from = "String", into = "String")]
pub struct ActionId(String);

impl ActionId {
    /// Validate: lowercase segments of `[a-z0-9_]`, separated by dots, at least two.
    pub fn new(value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        let segments: Vec<&str> = value.split('.').collect();
        let ok = segments.len() >= 2
            && segments.iter().all(|s| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            });
        if ok {
            Ok(Self(value))
        } else {
            Err(Error::invalid(format!(
                "invalid action id {value:?}: expected namespace.verb in lowercase, e.g. identity.reset_password"
            )))
        }
    }

    /// A compile-time-known id; panics on an invalid literal (a programming error).
    pub fn from_static(value: &'static str) -> Self {
        Self::new(value).expect("static action ids are valid")
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The namespace: `identity` for `identity.reset_password`.
    pub fn namespace(&self) -> &str {
        self.0.split('.').next().unwrap_or_default()
    }
}

impl TryFrom<String> for ActionId {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        Self::new(value)
    }
}

impl From<ActionId> for String {
    fn from(value: ActionId) -> String {
        value.0
    }
}

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// A client's end user (the ticket's contact).
    EndUser,
    /// An MSP technician.
    Technician,
    /// An automated agent (stackhand itself, or an AI agent acting through it).
    Agent,
    /// The system: schedulers, workflows, undo.
    System,
}

impl PrincipalKind {
    /// The snake_case name used in policy files.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::EndUser => "end_user",
            PrincipalKind::Technician => "technician",
            PrincipalKind::Agent => "agent",
            PrincipalKind::System => "system",
        }
    }
}

/// A person or system that requests or approves work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Principal {
    /// What kind of principal.
    pub kind: PrincipalKind,
    /// A stable id (email, PSA member id, agent name).
    pub id: String,
    /// A display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The identity the tenant's IdP knows this principal by (UPN or login), for self-service checks.
    #[serde(default)]
    pub idp_login: Option<String>,
    /// Roles held, for approver authority (e.g. `msp.lead`, `client.manager`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Groups the principal belongs to, for approver authority.
    #[serde(default)]
    pub groups: Vec<String>,
}

impl Principal {
    /// A principal with only a kind and id.
    pub fn new(kind: PrincipalKind, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
            display_name: None,
            idp_login: None,
            roles: Vec::new(),
            groups: Vec::new(),
        }
    }

    /// An end user known to the IdP by `login`.
    pub fn end_user(login: impl Into<String>) -> Self {
        let login = login.into();
        Self {
            idp_login: Some(login.clone()),
            ..Self::new(PrincipalKind::EndUser, login)
        }
    }

    /// A technician with roles.
    pub fn technician(id: impl Into<String>, roles: &[&str]) -> Self {
        Self {
            roles: roles.iter().map(|r| r.to_string()).collect(),
            ..Self::new(PrincipalKind::Technician, id)
        }
    }

    /// stackhand's own agent identity.
    pub fn agent(id: impl Into<String>) -> Self {
        Self::new(PrincipalKind::Agent, id)
    }

    /// Whether this principal holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether this principal is `login` (case-insensitive, as IdPs treat logins).
    pub fn is_login(&self, login: &str) -> bool {
        self.idp_login
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case(login))
            || self.id.eq_ignore_ascii_case(login)
    }
}

/// What kind of object an action acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A user account.
    User,
    /// A group.
    Group,
    /// A mailbox.
    Mailbox,
    /// A managed device.
    Device,
    /// A PSA ticket.
    Ticket,
    /// A PSA contact.
    Contact,
    /// A documentation asset.
    Asset,
}

/// The object an action acts on, as the requester named it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Target {
    /// The kind.
    pub kind: TargetKind,
    /// The vendor id or login (UPN, Okta login, ticket id, device id).
    pub id: String,
}

impl Target {
    /// A user target by login or id.
    pub fn user(id: impl Into<String>) -> Self {
        Self {
            kind: TargetKind::User,
            id: id.into(),
        }
    }

    /// A ticket target.
    pub fn ticket(id: impl Into<String>) -> Self {
        Self {
            kind: TargetKind::Ticket,
            id: id.into(),
        }
    }
}

/// What a read-only plan learned about the target, for the policy to decide on.
///
/// The engine fills these from the plan, never from the caller, so a requester cannot talk a
/// protected account out of its protection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TargetFacts {
    /// The target's login as the vendor knows it.
    #[serde(default)]
    pub login: Option<String>,
    /// Directory roles the target holds (e.g. `Global Administrator`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Groups the target belongs to.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The target's department.
    #[serde(default)]
    pub department: Option<Department>,
    /// Whether the vendor marks the target privileged (admin role, super admin), or the request
    /// would make it so (membership of a role-assignable or role-holding group).
    #[serde(default)]
    pub privileged: bool,
    /// Groups the request would put the target in. Privilege reached through them counts: a
    /// target becomes protected if any of them is in a `[protected]` list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<String>,
}

/// A reference to the PSA ticket a request serves.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct TicketRef {
    /// The PSA vendor (`connectwise`, `autotask`, `memory`).
    pub system: String,
    /// The ticket id in that PSA.
    pub id: String,
}

impl TicketRef {
    /// A ticket reference.
    pub fn new(system: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            system: system.into(),
            id: id.into(),
        }
    }
}

/// How dangerous an action is; drives defaults and approval prompts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Reads, notes.
    Low,
    /// Routine changes to one account.
    Medium,
    /// Licences, access to others' data, admins.
    High,
    /// Destructive or irreversible.
    Critical,
}

/// Which capability an action needs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Identity providers (Entra ID, Okta).
    Identity,
    /// PSAs (ConnectWise Manage, Autotask).
    Psa,
    /// RMMs (NinjaOne).
    Rmm,
    /// Documentation (Hudu).
    Docs,
    /// Messaging (mail, chat).
    Messaging,
}

impl Category {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Identity => "identity",
            Category::Psa => "psa",
            Category::Rmm => "rmm",
            Category::Docs => "docs",
            Category::Messaging => "messaging",
        }
    }
}

/// An action's description, as data: docs, CLI listings, tests and agent tool lists come from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionSpec {
    /// The stable id.
    pub id: ActionId,
    /// One line on what it does.
    pub summary: String,
    /// The capability it needs.
    pub category: Category,
    /// How risky it is.
    pub risk: Risk,
    /// Whether an undo can restore the state before.
    pub reversible: bool,
    /// Whether executing twice has the same effect as once.
    pub idempotent: bool,
    /// JSON schema of the input parameters.
    pub input_schema: serde_json::Value,
    /// The parameters that travel as secrets ([`ActionRequest::with_secret`]): never stored, so
    /// a waiting request that takes them is executed by its owner, who still holds them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_params: Vec<String>,
}

/// Secret parameters of a request (a password to store, a passphrase), kept apart from
/// [`ActionRequest::params`]: never serialised (so never in an approval, a receipt, the audit or
/// the store), redacted in `Debug`, and not part of the idempotency fingerprint. The action
/// receives them merged into its typed input, in memory, for the one execution.
///
/// ```
/// use secrecy::SecretString;
/// use stackhand_core::SecretParams;
///
/// let secrets = SecretParams::default().with("password", SecretString::from("hunter2"));
/// assert_eq!(format!("{secrets:?}"), r#"SecretParams {"password": "[REDACTED]"}"#);
/// ```
#[derive(Clone, Default)]
pub struct SecretParams(BTreeMap<String, SecretString>);

impl SecretParams {
    /// Add a secret parameter.
    pub fn with(mut self, name: impl Into<String>, value: SecretString) -> Self {
        self.0.insert(name.into(), value);
        self
    }

    /// The secret named `name`.
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.0.get(name)
    }

    /// The names held.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.keys().map(String::as_str)
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretParams ")?;
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "[REDACTED]")))
            .finish()
    }
}

/// Two requests are the same whatever secrets they carry: secrets are not part of a request's
/// identity (nor of its idempotency fingerprint).
impl PartialEq for SecretParams {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// One request to run one action for one tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRequest {
    /// Executes at most once per tenant.
    pub idempotency_key: IdempotencyKey,
    /// The tenant acted in.
    pub tenant: TenantId,
    /// The action.
    pub action: ActionId,
    /// Parameters, validated against the action's schema and deserialised into its typed input.
    pub params: serde_json::Value,
    /// Who asked.
    pub requester: Principal,
    /// What it acts on.
    #[serde(default)]
    pub target: Option<Target>,
    /// The ticket served.
    #[serde(default)]
    pub ticket: Option<TicketRef>,
    /// Why, in words (kept in the audit trail).
    pub reason: String,
    /// Secret parameters: never serialised, redacted in `Debug`, outside the fingerprint.
    #[serde(skip)]
    pub secrets: SecretParams,
}

impl ActionRequest {
    /// A request with typed parameters.
    ///
    /// ```
    /// use stackhand_core::*;
    /// let req = ActionRequest::new(
    ///     IdempotencyKey::new("t-1").unwrap(),
    ///     TenantId::new("acme").unwrap(),
    ///     ActionId::from_static("identity.unlock"),
    ///     &serde_json::json!({"user": "jane@acme.example"}),
    ///     Principal::end_user("jane@acme.example"),
    /// )
    /// .unwrap()
    /// .with_target(Target::user("jane@acme.example"));
    /// assert_eq!(req.action.namespace(), "identity");
    /// ```
    pub fn new<P: Serialize>(
        idempotency_key: IdempotencyKey,
        tenant: TenantId,
        action: ActionId,
        params: &P,
        requester: Principal,
    ) -> Result<Self> {
        Ok(Self {
            idempotency_key,
            tenant,
            action,
            params: serde_json::to_value(params)?,
            requester,
            target: None,
            ticket: None,
            reason: String::new(),
            secrets: SecretParams::default(),
        })
    }

    /// Set the target.
    pub fn with_target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    /// Set the ticket.
    pub fn with_ticket(mut self, ticket: TicketRef) -> Self {
        self.ticket = Some(ticket);
        self
    }

    /// Set the reason.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = reason.into();
        self
    }

    /// The same request with its secret parameters dropped, for what is kept after the
    /// execution they served.
    pub fn without_secrets(mut self) -> Self {
        self.secrets = SecretParams::default();
        self
    }

    /// Add a secret parameter (see [`SecretParams`]): the action sees it under `name` in its
    /// typed input; nothing stored or shown does.
    pub fn with_secret(mut self, name: impl Into<String>, value: SecretString) -> Self {
        self.secrets = std::mem::take(&mut self.secrets).with(name, value);
        self
    }
}

/// One intended or performed change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    /// The object changed (`user:jane@acme.example`, `group:Sales`).
    pub resource: String,
    /// The attribute changed (`accountEnabled`, `members`, `password`).
    pub field: String,
    /// The value before, where it can be read (never a secret).
    #[serde(default)]
    pub from: Option<serde_json::Value>,
    /// The value after (never a secret; a password change says `"<new password>"`).
    #[serde(default)]
    pub to: Option<serde_json::Value>,
}

impl Change {
    /// A change of `field` on `resource` from one value to another.
    pub fn new(
        resource: impl Into<String>,
        field: impl Into<String>,
        from: Option<serde_json::Value>,
        to: Option<serde_json::Value>,
    ) -> Self {
        Self {
            resource: resource.into(),
            field: field.into(),
            from,
            to,
        }
    }
}

/// What an action would do, computed without writing anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The action planned.
    pub action: ActionId,
    /// The tenant.
    pub tenant: TenantId,
    /// One line for humans.
    pub summary: String,
    /// The changes intended. Empty means nothing to do (already in the desired state).
    pub changes: Vec<Change>,
    /// The state before, as read; undo restores from this.
    pub state_before: serde_json::Value,
    /// Facts about the target for the policy (roles, groups, privilege).
    pub facts: TargetFacts,
    /// Anything a reviewer should know (group-inherited licence, federated user...).
    pub warnings: Vec<String>,
}

impl Plan {
    /// A plan with no changes yet.
    pub fn new(action: ActionId, tenant: TenantId, summary: impl Into<String>) -> Self {
        Self {
            action,
            tenant,
            summary: summary.into(),
            changes: Vec::new(),
            state_before: serde_json::Value::Null,
            facts: TargetFacts::default(),
            warnings: Vec::new(),
        }
    }

    /// Whether nothing would change.
    pub fn is_noop(&self) -> bool {
        self.changes.is_empty()
    }
}

/// A step's end status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Done, and read back to confirm.
    Verified,
    /// Done; no read-back possible.
    Succeeded,
    /// Nothing to do, or not run.
    Skipped,
    /// Failed.
    Failed,
}

/// A named secret produced by an action (a temporary password, a reset link, a TAP).
///
/// Secrets travel beside an outcome, never inside its serialised form or the audit trail.
#[derive(Clone)]
pub struct SecretOutput {
    /// What it is (`temporary_password`).
    pub name: String,
    /// The value.
    pub value: SecretString,
}

impl fmt::Debug for SecretOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretOutput({}: [REDACTED])", self.name)
    }
}

/// What executing an action did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    /// The status.
    pub status: StepStatus,
    /// The changes made.
    pub changes: Vec<Change>,
    /// The state before (from the plan).
    pub state_before: serde_json::Value,
    /// The state after, as read back.
    pub state_after: serde_json::Value,
    /// A message fit for the end user.
    pub user_message: Option<String>,
    /// Secrets to hand over out of band; never serialised.
    #[serde(skip)]
    pub secrets: Vec<SecretOutput>,
}

impl Outcome {
    /// An outcome with a status and no details.
    pub fn new(status: StepStatus) -> Self {
        Self {
            status,
            changes: Vec::new(),
            state_before: serde_json::Value::Null,
            state_after: serde_json::Value::Null,
            user_message: None,
            secrets: Vec::new(),
        }
    }

    /// Attach a user message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.user_message = Some(message.into());
        self
    }

    /// Attach a secret to hand over.
    pub fn with_secret(mut self, name: impl Into<String>, value: SecretString) -> Self {
        self.secrets.push(SecretOutput {
            name: name.into(),
            value,
        });
        self
    }

    /// Find a secret by name.
    pub fn secret(&self, name: &str) -> Option<&SecretString> {
        self.secrets
            .iter()
            .find(|s| s.name == name)
            .map(|s| &s.value)
    }
}

/// Free-form string attributes, ordered for stable output.
pub type Attributes = BTreeMap<String, String>;

/// A timestamp in UTC.
pub type Timestamp = DateTime<Utc>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_validate() {
        assert!(TenantId::new("acme-law").is_ok());
        assert!(TenantId::new("").is_err());
        assert!(TenantId::new("a b").is_err());
        assert!(ActionId::new("identity.reset_password").is_ok());
        assert!(ActionId::new("reset").is_err());
        assert!(ActionId::new("Identity.Reset").is_err());
        let err = serde_json::from_str::<TenantId>("\"bad id\"").unwrap_err();
        assert!(err.to_string().contains("invalid tenant id"), "{err}");
    }

    #[test]
    fn self_service_compares_logins_case_insensitively() {
        let p = Principal::end_user("Jane@Acme.example");
        assert!(p.is_login("jane@acme.example"));
        assert!(!p.is_login("bob@acme.example"));
    }
}
