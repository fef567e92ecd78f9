//! Capability traits a connector may implement, and the vendor-neutral types they speak.
//!
//! Each capability is split in two: its reads (`IdentityProvider`, `Psa`, `Rmm`,
//! `Documentation`), open to any caller, and its writes (`IdentityWrites`, `PsaWrites`,
//! `RmmWrites`, `DocumentationWrites`, `Messaging`), each method of which borrows the
//! [`ExecutionProof`] that only the engine issues for one authorised request.
//!
//! Built-in actions are written once over these traits, so `identity.reset_password` works for
//! Entra ID and Okta alike. Optional operations have default bodies that answer
//! [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported); each trait's `features` says which
//! ones a connector really offers, so planners and the testkit need not probe.

use async_trait::async_trait;
use schemars::JsonSchema;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::action::ExecutionProof;
use crate::error::{Error, Result};
use crate::model::{Department, TenantId, Timestamp};

// ---------------------------------------------------------------------------------------------
// Identity

/// A user as the identity provider knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct User {
    /// The vendor's immutable id.
    pub id: String,
    /// Sign-in name (UPN, Okta login).
    pub login: String,
    /// Display name.
    pub display_name: String,
    /// Primary email.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether sign-in is allowed.
    pub enabled: bool,
    /// Whether the account is locked out (where the vendor exposes it).
    #[serde(default)]
    pub locked: bool,
    /// The vendor's own lifecycle status (`ACTIVE`, `SUSPENDED`, `enabled`...).
    #[serde(default)]
    pub status: Option<String>,
    /// Department.
    #[serde(default)]
    pub department: Option<Department>,
    /// Job title.
    #[serde(default)]
    pub job_title: Option<String>,
    /// Whether the password is mastered elsewhere (federated, AD-synced): cloud writes refused.
    #[serde(default)]
    pub externally_mastered: bool,
    /// Directory roles held.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Usage location (licensing country), where the vendor has one.
    #[serde(default)]
    pub usage_location: Option<String>,
}

/// How to look a user up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "by", content = "value")]
pub enum UserQuery {
    /// Exact login / UPN.
    Login(String),
    /// Exact email address.
    Email(String),
    /// Display-name search (prefix or contains, as the vendor does it).
    Name(String),
}

impl UserQuery {
    /// The searched text.
    pub fn text(&self) -> &str {
        match self {
            UserQuery::Login(s) | UserQuery::Email(s) | UserQuery::Name(s) => s,
        }
    }
}

/// A group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Group {
    /// Vendor id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Kind, in vendor-neutral terms.
    pub kind: GroupKind,
    /// Whether membership can be changed through this connector.
    pub writable: bool,
    /// Whether membership confers privilege: the group holds directory or admin roles, is
    /// role-assignable (Entra), or is otherwise marked privileged by the vendor. Adding anyone
    /// to it is treated as touching a protected target.
    #[serde(default)]
    pub privileged: bool,
}

/// Kinds of group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    /// A security group (Entra security, Okta group).
    Security,
    /// A Microsoft 365 (unified) group.
    Unified,
    /// A mail distribution list (managed through Exchange).
    Distribution,
    /// A mail-enabled security group (managed through Exchange).
    MailEnabledSecurity,
    /// A group mastered by another system (Okta APP_GROUP, on-prem synced, dynamic).
    External,
}

/// A licence product the tenant subscribes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LicenseSku {
    /// Vendor id (Graph skuId).
    pub id: String,
    /// Part number / name (`SPE_E3`).
    pub name: String,
    /// Seats bought and enabled.
    pub total: u32,
    /// Seats used.
    pub consumed: u32,
}

impl LicenseSku {
    /// Seats still free.
    pub fn available(&self) -> u32 {
        self.total.saturating_sub(self.consumed)
    }
}

/// A licence a user holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LicenseAssignment {
    /// SKU id.
    pub sku_id: String,
    /// SKU name, when known.
    #[serde(default)]
    pub sku_name: Option<String>,
    /// Group ids the licence is inherited from; non-empty means it cannot be removed directly.
    #[serde(default)]
    pub inherited_from: Vec<String>,
    /// Whether it is also assigned directly.
    pub direct: bool,
}

/// An enrolled MFA method or factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MfaMethod {
    /// Vendor id.
    pub id: String,
    /// Vendor type (`#microsoft.graph.phoneAuthenticationMethod`, `push`, `sms`).
    pub method_type: String,
    /// Human description (phone number tail, device name).
    #[serde(default)]
    pub description: Option<String>,
}

/// How a password reset is handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResetDelivery {
    /// A generated temporary password, changed at next sign-in.
    #[default]
    TemporaryPassword,
    /// A one-time reset link (where the vendor supports it).
    ResetLink,
}

/// Options of a password reset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ResetPasswordOptions {
    /// Temporary password or link.
    #[serde(default)]
    pub delivery: ResetDelivery,
    /// Force a change at next sign-in.
    #[serde(default = "yes")]
    pub force_change: bool,
    /// Revoke existing sessions too.
    #[serde(default = "yes")]
    pub revoke_sessions: bool,
}

fn yes() -> bool {
    true
}

impl Default for ResetPasswordOptions {
    fn default() -> Self {
        Self {
            delivery: ResetDelivery::TemporaryPassword,
            force_change: true,
            revoke_sessions: true,
        }
    }
}

/// What a password reset produced. Both are secrets.
#[derive(Debug, Default)]
pub struct PasswordReset {
    /// The temporary password, for [`ResetDelivery::TemporaryPassword`].
    pub temporary_password: Option<SecretString>,
    /// The reset link, for [`ResetDelivery::ResetLink`].
    pub reset_link: Option<SecretString>,
}

/// What an MFA reset removed, and a TAP if one was issued.
#[derive(Debug, Default)]
pub struct MfaReset {
    /// Methods removed.
    pub removed: Vec<MfaMethod>,
    /// A Temporary Access Pass for re-registration, if requested and supported.
    pub temporary_access_pass: Option<SecretString>,
}

/// A new user to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NewUser {
    /// Login / UPN.
    pub login: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Display name (defaults to first + last).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Email, if different from the login.
    #[serde(default)]
    pub email: Option<String>,
    /// Department.
    #[serde(default)]
    pub department: Option<String>,
    /// Job title.
    #[serde(default)]
    pub job_title: Option<String>,
    /// Usage location (ISO country), for licensing.
    #[serde(default)]
    pub usage_location: Option<String>,
    /// Mail nickname (defaults to the login's local part).
    #[serde(default)]
    pub mail_nickname: Option<String>,
}

impl NewUser {
    /// `display_name`, or first and last name joined.
    pub fn display(&self) -> String {
        self.display_name
            .clone()
            .unwrap_or_else(|| format!("{} {}", self.first_name, self.last_name))
    }

    /// `mail_nickname`, or the login's local part.
    pub fn nickname(&self) -> String {
        self.mail_nickname.clone().unwrap_or_else(|| {
            self.login
                .split('@')
                .next()
                .unwrap_or(&self.login)
                .to_string()
        })
    }
}

/// A user just created, with its initial password.
#[derive(Debug)]
pub struct CreatedUser {
    /// The user.
    pub user: User,
    /// The initial password, generated by the connector.
    pub initial_password: Option<SecretString>,
}

/// A mailbox right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailboxRight {
    /// Read and manage (Exchange FullAccess).
    FullAccess,
    /// Send as the mailbox.
    SendAs,
    /// Send on behalf of the mailbox.
    SendOnBehalf,
}

/// A grant of a mailbox right.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MailboxPermission {
    /// The mailbox (UPN or address).
    pub mailbox: String,
    /// The user given the right.
    pub user: String,
    /// The right.
    pub right: MailboxRight,
    /// For FullAccess: whether Outlook maps it automatically.
    #[serde(default)]
    pub automap: Option<bool>,
}

/// What an identity connector really offers beyond the required operations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityFeatures {
    /// Licence listing and assignment.
    pub licenses: bool,
    /// Mailbox permissions.
    pub mailboxes: bool,
    /// Temporary Access Pass issue on MFA reset.
    pub temporary_access_pass: bool,
    /// Reset links.
    pub reset_links: bool,
    /// A real unlock call (otherwise unlock is done by re-enabling and a reset).
    pub native_unlock: bool,
    /// Suspend (reversible block distinct from disable).
    pub suspend: bool,
}

/// The reads of an identity provider (Entra ID, Okta); its writes are [`IdentityWrites`].
#[async_trait]
pub trait IdentityProvider: Send + Sync {
    /// What this connector offers.
    fn features(&self) -> IdentityFeatures;

    /// Find users.
    async fn find_users(&self, query: &UserQuery) -> Result<Vec<User>>;

    /// Read one user by id or login; [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) if absent.
    async fn get_user(&self, id_or_login: &str) -> Result<User>;

    /// List enrolled MFA methods / factors (the password method excluded).
    async fn list_mfa_methods(&self, user: &User) -> Result<Vec<MfaMethod>>;

    /// Groups the user is a direct member of (roles excluded).
    async fn user_groups(&self, user: &User) -> Result<Vec<Group>>;

    /// Find a group by exact name or id.
    async fn find_group(&self, name_or_id: &str) -> Result<Group>;

    /// Subscribed licence SKUs with seat counts.
    async fn licenses(&self) -> Result<Vec<LicenseSku>> {
        Err(Error::unsupported("licenses"))
    }

    /// Licences the user holds.
    async fn user_licenses(&self, _user: &User) -> Result<Vec<LicenseAssignment>> {
        Err(Error::unsupported("user_licenses"))
    }

    /// Rights others hold on a mailbox.
    async fn mailbox_permissions(&self, _mailbox: &str) -> Result<Vec<MailboxPermission>> {
        Err(Error::unsupported("mailbox_permissions"))
    }
}

/// The writes of an identity provider. Each borrows the [`ExecutionProof`] of the one request
/// it serves, which only the engine issues, so nothing changes in a directory without a policy
/// decision.
///
/// With the proof an action is lent, a write compiles:
///
/// ```
/// use stackhand_core::{ExecutionProof, IdentityWrites, Result, User};
/// use stackhand_core::memory::MemoryConnector;
///
/// async fn disable(idp: &MemoryConnector, proof: &ExecutionProof<'_>, jane: &User) -> Result<()> {
///     idp.set_enabled(proof, jane, false).await
/// }
/// ```
///
/// Without one, it does not:
///
/// ```compile_fail
/// use stackhand_core::{IdentityWrites, Result, User};
/// use stackhand_core::memory::MemoryConnector;
///
/// async fn disable(idp: &MemoryConnector, jane: &User) -> Result<()> {
///     idp.set_enabled(jane, false).await
/// }
/// ```
///
/// And the connectors the engine hands out have no writes at all:
///
/// ```compile_fail
/// fn writes(engine: &stackhand_core::engine::Engine, tenant: &stackhand_core::TenantId) {
///     let _ = engine.connectors(tenant).unwrap().identity_writes();
/// }
/// ```
#[async_trait]
pub trait IdentityWrites: Send + Sync {
    /// Reset the password, and revoke the user's sessions when `options.revoke_sessions`.
    ///
    /// The connector owns the revocation because vendors do it as part of the reset (Okta's
    /// `revokeSessions=true`): `identity.reset_password` does not call
    /// [`revoke_sessions`](Self::revoke_sessions) after this.
    async fn reset_password(
        &self,
        proof: &ExecutionProof<'_>,
        user: &User,
        options: &ResetPasswordOptions,
    ) -> Result<PasswordReset>;

    /// Unlock a locked-out account. Never re-enables an account an administrator disabled:
    /// that is [`set_enabled`](Self::set_enabled), its own action and risk.
    async fn unlock(&self, proof: &ExecutionProof<'_>, user: &User) -> Result<()>;

    /// Remove every MFA method so the user re-enrols; optionally issue a TAP.
    async fn reset_mfa(
        &self,
        proof: &ExecutionProof<'_>,
        user: &User,
        issue_temporary_access_pass: bool,
    ) -> Result<MfaReset>;

    /// Revoke sign-in sessions and refresh tokens.
    async fn revoke_sessions(&self, proof: &ExecutionProof<'_>, user: &User) -> Result<()>;

    /// Allow or block sign-in.
    async fn set_enabled(
        &self,
        proof: &ExecutionProof<'_>,
        user: &User,
        enabled: bool,
    ) -> Result<()>;

    /// Add the user to a group.
    async fn add_to_group(
        &self,
        proof: &ExecutionProof<'_>,
        user: &User,
        group: &Group,
    ) -> Result<()>;

    /// Remove the user from a group.
    async fn remove_from_group(
        &self,
        proof: &ExecutionProof<'_>,
        user: &User,
        group: &Group,
    ) -> Result<()>;

    /// Create a user with `initial_password`, or (without one) a password the connector
    /// generates ([`generate_password_for`](crate::password::generate_password_for)); the
    /// password the account got comes back in [`CreatedUser::initial_password`].
    async fn create_user(
        &self,
        proof: &ExecutionProof<'_>,
        new_user: &NewUser,
        initial_password: Option<&SecretString>,
    ) -> Result<CreatedUser>;

    /// Assign a licence (setting the usage location first when needed).
    async fn assign_license(
        &self,
        _proof: &ExecutionProof<'_>,
        _user: &User,
        _sku: &LicenseSku,
    ) -> Result<()> {
        Err(Error::unsupported("assign_license"))
    }

    /// Remove a directly assigned licence.
    async fn remove_license(
        &self,
        _proof: &ExecutionProof<'_>,
        _user: &User,
        _sku: &LicenseSku,
    ) -> Result<()> {
        Err(Error::unsupported("remove_license"))
    }

    /// Grant a mailbox right.
    async fn grant_mailbox_access(
        &self,
        _proof: &ExecutionProof<'_>,
        _grant: &MailboxPermission,
    ) -> Result<()> {
        Err(Error::unsupported("grant_mailbox_access"))
    }

    /// Remove a mailbox right.
    async fn remove_mailbox_access(
        &self,
        _proof: &ExecutionProof<'_>,
        _grant: &MailboxPermission,
    ) -> Result<()> {
        Err(Error::unsupported("remove_mailbox_access"))
    }
}

// ---------------------------------------------------------------------------------------------
// PSA

/// A company (client) in the PSA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Company {
    /// PSA id.
    pub id: String,
    /// Short identifier (ConnectWise `identifier`), or the name.
    pub identifier: String,
    /// Name.
    pub name: String,
}

/// A contact in the PSA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Contact {
    /// PSA id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// The company id.
    #[serde(default)]
    pub company_id: Option<String>,
    /// Whether the contact is active.
    pub active: bool,
}

/// A contact to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NewContact {
    /// The company id.
    pub company_id: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Email.
    pub email: String,
}

/// A normalised PSA ticket, whichever PSA it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ticket {
    /// PSA id.
    pub id: String,
    /// The tenant it belongs to.
    pub tenant: TenantId,
    /// The client company.
    #[serde(default)]
    pub company: Option<Company>,
    /// The contact who raised it.
    #[serde(default)]
    pub contact: Option<Contact>,
    /// Subject / summary / title.
    pub subject: String,
    /// Body / initial description.
    pub body: String,
    /// When it was created.
    pub created: Timestamp,
    /// When it last changed.
    #[serde(default)]
    pub updated: Option<Timestamp>,
    /// Status name.
    pub status: String,
    /// Board (ConnectWise) or queue (Autotask).
    #[serde(default)]
    pub board: Option<String>,
    /// Priority name.
    #[serde(default)]
    pub priority: Option<String>,
    /// Source (portal, email, phone).
    #[serde(default)]
    pub source: Option<String>,
    /// Whether the PSA considers it closed.
    #[serde(default)]
    pub closed: bool,
    /// Parent ticket id, when linked to an incident.
    #[serde(default)]
    pub parent_id: Option<String>,
}

/// Who may see a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoteVisibility {
    /// Technicians only.
    Internal,
    /// The customer too (portal, email).
    Customer,
}

/// A note to add to a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NewNote {
    /// The text.
    pub text: String,
    /// Who may see it.
    pub visibility: NoteVisibility,
    /// Whether it is the resolution.
    #[serde(default)]
    pub resolution: bool,
}

/// A note on a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Note {
    /// PSA id.
    pub id: String,
    /// The text.
    pub text: String,
    /// Who may see it.
    pub visibility: NoteVisibility,
    /// Whether it is the resolution.
    pub resolution: bool,
    /// Author, when known.
    #[serde(default)]
    pub author: Option<String>,
    /// When written.
    #[serde(default)]
    pub created: Option<Timestamp>,
}

/// Which open tickets to take in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TicketQuery {
    /// Only tickets created or updated after this instant (the watermark).
    #[serde(default)]
    pub since: Option<Timestamp>,
    /// Boards or queues (names), empty for all.
    #[serde(default)]
    pub boards: Vec<String>,
    /// Statuses (names), empty for all open ones.
    #[serde(default)]
    pub statuses: Vec<String>,
}

/// A closed ticket with its notes, for learning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HistoricalTicket {
    /// The ticket.
    pub ticket: Ticket,
    /// Its notes, oldest first.
    pub notes: Vec<Note>,
    /// The resolution text, if any.
    #[serde(default)]
    pub resolution: Option<String>,
    /// When it was closed.
    #[serde(default)]
    pub closed_at: Option<Timestamp>,
}

/// A date range for history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HistoryQuery {
    /// From (inclusive).
    pub from: Timestamp,
    /// To (exclusive).
    pub to: Timestamp,
}

/// Where to send a ticket a person must take over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Assignment {
    /// Board or queue name.
    #[serde(default)]
    pub board: Option<String>,
    /// Member / resource identifier.
    #[serde(default)]
    pub member: Option<String>,
}

/// The reads of a PSA (ConnectWise Manage, Autotask); its writes are [`PsaWrites`].
#[async_trait]
pub trait Psa: Send + Sync {
    /// Open tickets matching the query, oldest change first, every page read.
    async fn poll_tickets(&self, query: &TicketQuery) -> Result<Vec<Ticket>>;

    /// One ticket with its contact and company.
    async fn get_ticket(&self, id: &str) -> Result<Ticket>;

    /// Closed tickets in a date range, with notes and resolution, each exactly once.
    async fn history(&self, query: &HistoryQuery) -> Result<Vec<HistoricalTicket>>;

    /// Notes on a ticket.
    async fn notes(&self, ticket_id: &str) -> Result<Vec<Note>>;

    /// Find a contact by email.
    async fn find_contact(&self, email: &str) -> Result<Option<Contact>>;

    /// Find a company by identifier or name.
    async fn find_company(&self, identifier: &str) -> Result<Option<Company>>;

    /// Parse a webhook / callback payload into the ticket it concerns.
    fn parse_callback(&self, _tenant: &TenantId, _payload: &serde_json::Value) -> Result<Ticket> {
        Err(Error::unsupported("parse_callback"))
    }
}

/// The writes of a PSA, each borrowing the request's [`ExecutionProof`].
#[async_trait]
pub trait PsaWrites: Send + Sync {
    /// Add a note.
    async fn add_note(
        &self,
        proof: &ExecutionProof<'_>,
        ticket_id: &str,
        note: &NewNote,
    ) -> Result<Note>;

    /// Set the status by name (resolved per board / from the picklist).
    async fn set_status(
        &self,
        proof: &ExecutionProof<'_>,
        ticket_id: &str,
        status: &str,
    ) -> Result<()>;

    /// Close with the board's / picklist's closed status; adds the resolution first if given.
    async fn close(
        &self,
        proof: &ExecutionProof<'_>,
        ticket_id: &str,
        resolution: Option<&str>,
    ) -> Result<()>;

    /// Hand the ticket to a board / queue or a member.
    async fn reassign(
        &self,
        proof: &ExecutionProof<'_>,
        ticket_id: &str,
        assignment: &Assignment,
    ) -> Result<()>;

    /// Create a contact.
    async fn create_contact(
        &self,
        proof: &ExecutionProof<'_>,
        contact: &NewContact,
    ) -> Result<Contact>;

    /// Mark a contact inactive.
    async fn deactivate_contact(&self, proof: &ExecutionProof<'_>, contact_id: &str) -> Result<()>;

    /// Set a contact active again (undo of deactivate).
    async fn activate_contact(&self, _proof: &ExecutionProof<'_>, _contact_id: &str) -> Result<()> {
        Err(Error::unsupported("activate_contact"))
    }

    /// Link a ticket to a parent incident.
    async fn link_to_parent(
        &self,
        proof: &ExecutionProof<'_>,
        child_id: &str,
        parent_id: &str,
    ) -> Result<()>;
}

// ---------------------------------------------------------------------------------------------
// RMM

/// A managed device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Device {
    /// Vendor id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Last logged-in user.
    #[serde(default)]
    pub last_user: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Whether online.
    #[serde(default)]
    pub online: bool,
}

/// A script run's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScriptState {
    /// Queued or running.
    Running,
    /// Finished well.
    Succeeded,
    /// Finished badly.
    Failed,
}

/// A script run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScriptRun {
    /// Vendor id of the run.
    pub id: String,
    /// State.
    pub state: ScriptState,
    /// Output, if any.
    #[serde(default)]
    pub output: Option<String>,
}

/// The reads of an RMM (NinjaOne); its writes are [`RmmWrites`].
#[async_trait]
pub trait Rmm: Send + Sync {
    /// Find devices by name or last logged-in user.
    async fn find_devices(&self, query: &str) -> Result<Vec<Device>>;
    /// Read a device.
    async fn get_device(&self, id: &str) -> Result<Device>;
    /// Read a script run's state.
    async fn script_run(&self, device_id: &str, run_id: &str) -> Result<ScriptRun>;
}

/// The writes of an RMM, each borrowing the request's [`ExecutionProof`].
#[async_trait]
pub trait RmmWrites: Send + Sync {
    /// Add one tag, keeping the others.
    async fn add_tag(&self, proof: &ExecutionProof<'_>, device_id: &str, tag: &str) -> Result<()>;
    /// Remove one tag, keeping the others.
    async fn remove_tag(
        &self,
        proof: &ExecutionProof<'_>,
        device_id: &str,
        tag: &str,
    ) -> Result<()>;
    /// Run a script with parameters; returns the run to follow.
    async fn run_script(
        &self,
        proof: &ExecutionProof<'_>,
        device_id: &str,
        script: &str,
        parameters: &str,
    ) -> Result<ScriptRun>;
}

// ---------------------------------------------------------------------------------------------
// Documentation

/// A documentation asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Asset {
    /// Vendor id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Custom fields, as label -> value.
    #[serde(default)]
    pub fields: std::collections::BTreeMap<String, String>,
    /// Whether archived.
    #[serde(default)]
    pub archived: bool,
}

/// A password entry of a documentation system's vault, as far as it can be read back: never
/// the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PasswordEntry {
    /// Vendor id.
    pub id: String,
    /// The entry's name.
    pub name: String,
    /// The username it holds, if any.
    #[serde(default)]
    pub username: Option<String>,
    /// When the vendor last changed it, if it says.
    #[serde(default)]
    pub updated: Option<Timestamp>,
}

/// The reads of a documentation system (Hudu); its writes are [`DocumentationWrites`].
#[async_trait]
pub trait Documentation: Send + Sync {
    /// The asset of a company with this exact name, if any.
    async fn find_asset(&self, company: &str, name: &str) -> Result<Option<Asset>>;

    /// The password entry of a company with this exact name, if any, without its password.
    /// What lets a password stored by a call whose answer was lost be found again; a connector
    /// that cannot read its vault back answers [`Unsupported`](crate::ErrorKind::Unsupported),
    /// the default.
    async fn find_password(&self, _company: &str, _name: &str) -> Result<Option<PasswordEntry>> {
        Err(Error::unsupported("reading a password entry back"))
    }
}

/// The writes of a documentation system, each borrowing the request's [`ExecutionProof`].
#[async_trait]
pub trait DocumentationWrites: Send + Sync {
    /// Create or update the person asset for a user.
    async fn upsert_user_asset(
        &self,
        proof: &ExecutionProof<'_>,
        company: &str,
        name: &str,
        fields: &std::collections::BTreeMap<String, String>,
    ) -> Result<Asset>;
    /// Store a password against a company (never logged).
    async fn store_password(
        &self,
        proof: &ExecutionProof<'_>,
        company: &str,
        name: &str,
        username: &str,
        password: &SecretString,
    ) -> Result<String>;
    /// Archive an asset.
    async fn archive_asset(&self, proof: &ExecutionProof<'_>, asset_id: &str) -> Result<()>;
    /// Unarchive an asset (undo of archive).
    async fn unarchive_asset(&self, proof: &ExecutionProof<'_>, asset_id: &str) -> Result<()>;
    /// Create a knowledge-base article.
    async fn create_article(
        &self,
        proof: &ExecutionProof<'_>,
        company: &str,
        title: &str,
        body: &str,
    ) -> Result<String>;
}

// ---------------------------------------------------------------------------------------------
// Messaging

/// A message to a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Message {
    /// Recipient address.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// Telling people what was done: mail through Graph, chat later. Sending is a write, so it
/// borrows the request's [`ExecutionProof`].
#[async_trait]
pub trait Messaging: Send + Sync {
    /// Send a message.
    async fn send(&self, proof: &ExecutionProof<'_>, message: &Message) -> Result<()>;
}
