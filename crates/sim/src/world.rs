//! One simulated world: the MSP, its client tenants and their people, groups, licences,
//! mailboxes, devices, documentation and tickets, read from one data file that every simulator
//! seeds from, so "Priya Shah" is the same person in Entra ID, the PSA, the RMM and Hudu.
//!
//! The built-in world is `crates/sim/world.toml`; [`World::from_path`] reads another with the
//! same shape. Each tenant names the one identity provider and the one PSA it uses, as in real
//! life; the RMM (NinjaOne) and the documentation system (Hudu) hold every tenant. A simulator
//! takes the tenants that use it and maps the world's neutral words (an MFA method's `kind`, a
//! ticket's `priority`) onto its vendor's records.
//!
//! ```
//! use stackhand_sim::world::World;
//! let world = World::builtin();
//! let priya = world.person("contoso-law", "priya.shah").expect("seeded");
//! assert_eq!(priya.email(world.tenant("contoso-law").unwrap()), "pshah@contosolaw.com");
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;
use stackhand_core::suggest;

/// The built-in world, as text.
pub const BUILTIN: &str = include_str!("../world.toml");

/// The MSP and its client tenants.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct World {
    /// The MSP running the PSA, the RMM and the documentation system.
    pub msp: Msp,
    /// The MSP's clients.
    #[serde(default)]
    pub tenants: Vec<Tenant>,
}

/// The managed service provider.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Msp {
    /// Company name.
    pub name: String,
    /// Email domain of its staff.
    pub domain: String,
    /// Technicians: PSA members or resources, RMM and documentation users.
    #[serde(default)]
    pub technicians: Vec<Technician>,
    /// Hudu asset layouts (shared by every client company).
    #[serde(default)]
    pub layouts: Vec<Layout>,
}

/// A technician at the MSP.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Technician {
    /// Login name (`amorgan`).
    pub identifier: String,
    /// Given name.
    pub given: String,
    /// Family name.
    pub surname: String,
    /// Still employed.
    #[serde(default = "yes")]
    pub active: bool,
    /// An MSP lead: approves what the policy sends to leads.
    #[serde(default)]
    pub lead: bool,
}

impl Technician {
    /// Their address at the MSP: the id they act and approve under in `[[staff]]`.
    pub fn email(&self, msp: &Msp) -> String {
        format!("{}@{}", self.identifier, msp.domain)
    }

    /// "Given Surname".
    pub fn name(&self) -> String {
        format!("{} {}", self.given, self.surname)
    }
}

/// A documentation asset layout.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    /// Hudu asset layout id.
    pub id: i64,
    /// Name (`People`, `Computer Assets`).
    pub name: String,
    /// Font Awesome icon Hudu shows.
    #[serde(default)]
    pub icon: Option<String>,
    /// Its fields, in order.
    #[serde(default)]
    pub fields: Vec<LayoutField>,
}

/// One field of a layout.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LayoutField {
    /// Hudu field id.
    pub id: i64,
    /// Label shown and used as the key when writing (`Email`).
    pub label: String,
    /// Hudu field type (`Text`, `Email`, `Phone`, `Number`, `CheckBox`, `Date`, `RichText`).
    #[serde(default = "text_field")]
    pub field_type: String,
    /// Must be filled in.
    #[serde(default)]
    pub required: bool,
}

/// Which identity provider a tenant uses.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// Microsoft 365 / Entra ID with Exchange Online.
    M365,
    /// Okta.
    Okta,
}

/// Which PSA a tenant's tickets live in.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PsaKind {
    /// ConnectWise PSA (Manage).
    Connectwise,
    /// Autotask PSA.
    Autotask,
}

/// A client tenant.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    /// The stackhand tenant id (`contoso-law`).
    pub key: String,
    /// Company name (`Contoso Law LLP`).
    pub company: String,
    /// The email domain people sign in with.
    pub domain: String,
    /// Main phone number.
    pub phone: String,
    /// How staff refer to their main line-of-business application ("the case management system").
    pub business_app: String,
    /// The identity provider it uses.
    pub identity: IdentityKind,
    /// The PSA its tickets live in.
    pub psa: PsaKind,
    /// Entra ID details, when `identity = "m365"`.
    #[serde(default)]
    pub m365: Option<M365Tenant>,
    /// Okta org details, when `identity = "okta"`.
    #[serde(default)]
    pub okta: Option<OktaOrg>,
    /// The company in the PSA.
    pub psa_company: PsaCompany,
    /// The organisation in NinjaOne.
    pub rmm: RmmOrganisation,
    /// The company in Hudu.
    pub docs: DocsCompany,
    /// Everyone with an account: staff, plus break-glass and shared-mailbox accounts.
    #[serde(default)]
    pub people: Vec<Person>,
    /// Groups in the identity provider.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Licence SKUs bought and their seats.
    #[serde(default)]
    pub licences: Vec<Licence>,
    /// Shared mailboxes (Exchange Online).
    #[serde(default)]
    pub shared_mailboxes: Vec<SharedMailbox>,
    /// Computers managed through the RMM.
    #[serde(default)]
    pub devices: Vec<Device>,
    /// Documentation assets other than the people's own (each person has one of those).
    #[serde(default)]
    pub assets: Vec<Asset>,
    /// Passwords kept in the documentation system.
    #[serde(default)]
    pub passwords: Vec<StoredPassword>,
    /// Open tickets in the PSA.
    #[serde(default)]
    pub tickets: Vec<OpenTicket>,
    /// How many closed tickets the history generator makes for this tenant.
    #[serde(default)]
    pub history: usize,
    /// People (keys) who may ask for new starters and leavers.
    #[serde(default)]
    pub authorised_contacts: Vec<String>,
    /// How the tenant makes a new user's login: `{first}`, `{last}`, `{f}` (first initial) and
    /// `{domain}`, lower case (stackhand's `login_format`).
    #[serde(default)]
    pub login_format: Option<String>,
    /// What a new starter in each role gets (stackhand's role templates).
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Microsoft 365 service health issues Microsoft reports for the tenant (Graph
    /// `serviceHealthIssue`s), when `identity = "m365"`.
    #[serde(default)]
    pub service_issues: Vec<ServiceIssue>,
}

/// The Microsoft 365 services the Graph simulator reports health for, as Graph names them.
pub const M365_SERVICES: &[&str] = &[
    "Exchange Online",
    "Microsoft Entra",
    "Microsoft 365 suite",
    "SharePoint Online",
    "Microsoft Teams",
];

/// A Microsoft 365 service health issue (Graph's `serviceHealthIssue`, in the world's words).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceIssue {
    /// Microsoft's id (`EX912345`).
    pub id: String,
    /// Title.
    pub title: String,
    /// The service, one of [`M365_SERVICES`] (`Exchange Online`).
    pub service: String,
    /// The feature affected (`E-Mail and calendar access`).
    #[serde(default)]
    pub feature: Option<String>,
    /// The feature group.
    #[serde(default)]
    pub feature_group: Option<String>,
    /// An incident (service is degraded) or an advisory.
    pub classification: IssueClassification,
    /// Graph's `serviceHealthStatus` (`serviceDegradation`, `serviceRestored`, ...).
    pub status: String,
    /// What users see (`impactDescription`).
    pub impact: String,
    /// Began this many hours before the simulator started.
    pub hours_ago: i64,
    /// Ended this many hours before the simulator started; `None` while it is open.
    #[serde(default)]
    pub resolved_hours_ago: Option<i64>,
}

/// Graph's `serviceHealthClassificationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueClassification {
    /// Users are affected now.
    Incident,
    /// Limited or informational.
    Advisory,
}

impl IssueClassification {
    /// Graph's value (`incident`, `advisory`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incident => "incident",
            Self::Advisory => "advisory",
        }
    }
}

/// Graph's `serviceHealthStatus` values (the vendored spec's enum, without
/// `unknownFutureValue`).
pub const SERVICE_HEALTH_STATUSES: &[&str] = &[
    "serviceOperational",
    "investigating",
    "restoringService",
    "verifyingService",
    "serviceRestored",
    "postIncidentReviewPublished",
    "serviceDegradation",
    "serviceInterruption",
    "extendedRecovery",
    "falsePositive",
    "investigationSuspended",
    "resolved",
    "mitigatedExternal",
    "mitigated",
    "resolvedExternal",
    "confirmed",
    "reported",
];

/// A role template: what a new starter in the role gets.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// The role as tickets name it (`paralegal`).
    pub name: String,
    /// Licences (part numbers the tenant has bought).
    #[serde(default)]
    pub licences: Vec<String>,
    /// Groups (names of the tenant's groups).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The RMM tag of the starter's device.
    #[serde(default)]
    pub device_tag: Option<String>,
    /// The department.
    #[serde(default)]
    pub department: Option<String>,
    /// The job title.
    #[serde(default)]
    pub job_title: Option<String>,
    /// The usage location (ISO country), for licensing.
    #[serde(default)]
    pub usage_location: Option<String>,
}

/// The Entra ID tenant and the app registration the connector signs in with.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct M365Tenant {
    /// Directory (tenant) id.
    pub tenant_id: String,
    /// The initial `*.onmicrosoft.com` domain.
    pub onmicrosoft_domain: String,
    /// App registration client id.
    pub client_id: String,
    /// App registration client secret (a simulator credential, not a real one).
    pub client_secret: String,
    /// SHA-1 thumbprint (base64url) of the app's certificate.
    pub certificate_thumbprint: String,
    /// The tenant has Entra ID P2 (PIM).
    #[serde(default)]
    pub pim_licensed: bool,
}

/// The Okta org and how the connector signs in.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OktaOrg {
    /// SSWS API token (a simulator credential, not a real one).
    pub api_token: String,
    /// OAuth service app client id.
    pub client_id: String,
    /// Name of the directory that sources `synced` people (`globex.local`).
    #[serde(default)]
    pub directory: Option<String>,
}

/// The tenant's company in the PSA.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PsaCompany {
    /// Company id.
    pub id: i64,
    /// Short identifier (`CONTOSO-LAW`; Autotask's account number).
    pub identifier: String,
}

/// The tenant's organisation in NinjaOne.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RmmOrganisation {
    /// Organisation id.
    pub id: i64,
    /// The NetBIOS domain devices are joined to (`CONTOSO`), shown in `lastLoggedInUser`.
    pub netbios: String,
}

/// The tenant's company in Hudu.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DocsCompany {
    /// Company id.
    pub id: i64,
    /// Company slug in Hudu URLs.
    pub slug: String,
}

/// What an account is for.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// A member of staff: a PSA contact, a device, a documentation asset.
    #[default]
    Staff,
    /// An emergency-access account nobody signs in with day to day.
    BreakGlass,
    /// The disabled user object behind a shared mailbox.
    SharedMailbox,
}

/// The state of an account.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Signs in.
    #[default]
    Active,
    /// Sign-in blocked by an administrator (Entra `accountEnabled: false`).
    Disabled,
    /// Locked out after failed sign-ins.
    Locked,
    /// Suspended (Okta).
    Suspended,
    /// Must choose a new password at next sign-in (Okta `PASSWORD_EXPIRED`).
    PasswordExpired,
    /// Created but never activated: a new starter (Okta `STAGED`).
    Staged,
    /// A leaver whose account is switched off (Okta `DEPROVISIONED`).
    Deprovisioned,
}

impl AccountStatus {
    /// Whether a PSA still lists the person as an active contact.
    pub fn is_current(self) -> bool {
        !matches!(self, Self::Disabled | Self::Deprovisioned)
    }
}

/// Someone with an account at a client.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Stable handle used across this file (`priya.shah`).
    pub key: String,
    /// Object id in the identity provider.
    pub id: String,
    /// Sign-in name: a local part (`pshah`, joined to the tenant's domain) or a full address.
    pub login: String,
    /// Given name.
    #[serde(default)]
    pub given: Option<String>,
    /// Family name.
    #[serde(default)]
    pub surname: Option<String>,
    /// Display name, when it is not "given surname".
    #[serde(default)]
    pub display: Option<String>,
    /// What the account is for.
    #[serde(default)]
    pub kind: AccountKind,
    /// Account state.
    #[serde(default)]
    pub status: AccountStatus,
    /// Department.
    #[serde(default)]
    pub department: Option<String>,
    /// Job title.
    #[serde(default)]
    pub title: Option<String>,
    /// The `key` of their manager.
    #[serde(default)]
    pub manager: Option<String>,
    /// Work phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Entra usage location (two letters); licences need one.
    #[serde(default)]
    pub usage_location: Option<String>,
    /// Sourced from on-premises Active Directory.
    #[serde(default)]
    pub synced: bool,
    /// Licence SKU part numbers assigned directly (`SPE_E3`).
    #[serde(default)]
    pub licences: Vec<String>,
    /// Administrator roles held directly, in the identity provider's words.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Roles they may activate (Entra PIM eligibility).
    #[serde(default)]
    pub eligible_roles: Vec<String>,
    /// Registered MFA methods.
    #[serde(default)]
    pub mfa: Vec<MfaMethod>,
    /// Their mailbox, where it differs from a plain user mailbox.
    #[serde(default)]
    pub mailbox: Option<MailboxSettings>,
    /// Their contact id in the PSA (staff only).
    #[serde(default)]
    pub contact_id: Option<i64>,
    /// Their `People` asset id in Hudu (staff only).
    #[serde(default)]
    pub asset_id: Option<i64>,
}

impl Person {
    /// The sign-in name, with the tenant's domain where `login` is a local part.
    pub fn email(&self, tenant: &Tenant) -> String {
        if self.login.contains('@') {
            self.login.clone()
        } else {
            format!("{}@{}", self.login, tenant.domain)
        }
    }

    /// The local part of the sign-in name (`pshah`).
    pub fn username(&self) -> &str {
        self.login.split('@').next().unwrap_or(&self.login)
    }

    /// The display name.
    pub fn display_name(&self) -> String {
        if let Some(display) = &self.display {
            return display.clone();
        }
        match (&self.given, &self.surname) {
            (Some(given), Some(surname)) => format!("{given} {surname}"),
            (Some(one), None) | (None, Some(one)) => one.clone(),
            (None, None) => self.key.clone(),
        }
    }

    /// A member of staff (not break-glass, not a shared mailbox).
    pub fn is_staff(&self) -> bool {
        self.kind == AccountKind::Staff
    }
}

/// A kind of MFA method, in neutral words each identity provider maps onto its own.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MfaKind {
    /// Text message or voice call to a phone (Entra `phone`, Okta `sms`).
    Phone,
    /// Push approval in an authenticator app (Microsoft Authenticator, Okta Verify push).
    Push,
    /// Time-based one-time code (Entra software OATH, Okta `token:software:totp`).
    Totp,
    /// FIDO2 security key.
    Fido2,
    /// Email one-time code.
    Email,
}

/// A registered MFA method.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MfaMethod {
    /// Method (factor) id in the identity provider.
    pub id: String,
    /// What it is.
    pub kind: MfaKind,
    /// Device or key name (`iPhone 15`, `YubiKey 5 NFC`).
    #[serde(default)]
    pub label: Option<String>,
    /// Phone number, for `phone`.
    #[serde(default)]
    pub phone: Option<String>,
    /// Address, for `email`.
    #[serde(default)]
    pub email: Option<String>,
    /// Security key model, for `fido2`.
    #[serde(default)]
    pub model: Option<String>,
    /// Authenticator app version, for `push`.
    #[serde(default)]
    pub app_version: Option<String>,
    /// Okta Verify enrolment the push and code factors share.
    #[serde(default)]
    pub enrollment: Option<String>,
    /// The default method for sign-in.
    #[serde(default)]
    pub default: bool,
}

/// A user mailbox's non-default settings (a leaver's forwarding and auto-reply).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MailboxSettings {
    /// Forward mail to this person's `key`.
    #[serde(default)]
    pub forward_to: Option<String>,
    /// Keep a copy when forwarding.
    #[serde(default)]
    pub keep_copy: bool,
    /// Hidden from the address lists.
    #[serde(default)]
    pub hidden: bool,
    /// People (keys) with full access.
    #[serde(default)]
    pub full_access: Vec<String>,
    /// Internal auto-reply message (auto-reply on when set).
    #[serde(default)]
    pub auto_reply_internal: Option<String>,
    /// External auto-reply message.
    #[serde(default)]
    pub auto_reply_external: Option<String>,
}

/// What a group is.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    /// Security group.
    #[default]
    Security,
    /// Microsoft 365 (unified) group.
    Microsoft365,
    /// Exchange distribution list.
    Distribution,
    /// Membership computed from a rule (read-only).
    Dynamic,
    /// The identity provider's own group of everyone (read-only).
    BuiltIn,
    /// Imported from an application or directory (read-only).
    Imported,
}

/// A group in the identity provider.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Object id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// What it is.
    #[serde(default)]
    pub kind: GroupKind,
    /// Mail alias (local part), for mail-enabled groups.
    #[serde(default)]
    pub mail: Option<String>,
    /// Members' keys. A `built_in` group holds everyone.
    #[serde(default)]
    pub members: Vec<String>,
    /// Licence SKU part numbers the group assigns to its members.
    #[serde(default)]
    pub licences: Vec<String>,
    /// Administrator roles assigned to the group.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Membership rule, for `dynamic`.
    #[serde(default)]
    pub rule: Option<String>,
    /// Synced from on-premises Active Directory (read-only in the cloud).
    #[serde(default)]
    pub synced: bool,
    /// May hold an Entra directory role.
    #[serde(default)]
    pub role_assignable: bool,
    /// Vendor-specific profile attributes (an imported group's `samAccountName`, `dn`, ...).
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
}

/// A licence SKU the tenant bought.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Licence {
    /// SKU id (Microsoft's GUID).
    pub sku_id: String,
    /// Part number (`SPE_E3`).
    pub part_number: String,
    /// Seats bought.
    pub seats: u32,
    /// Service plans: (id, name).
    #[serde(default)]
    pub service_plans: Vec<ServicePlan>,
}

/// A service plan inside a SKU.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServicePlan {
    /// Plan id.
    pub id: String,
    /// Plan name (`EXCHANGE_S_ENTERPRISE`).
    pub name: String,
}

/// A shared mailbox; its user object is a person with `kind = "shared_mailbox"`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SharedMailbox {
    /// The key of its user object.
    pub person: String,
    /// People (keys) with full access.
    #[serde(default)]
    pub full_access: Vec<String>,
    /// People (keys) who may send as it.
    #[serde(default)]
    pub send_as: Vec<String>,
    /// People (keys) who may send on its behalf.
    #[serde(default)]
    pub send_on_behalf: Vec<String>,
}

/// What sort of computer a device is.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeviceRole {
    /// Windows desktop.
    WindowsWorkstation,
    /// Windows laptop.
    WindowsLaptop,
    /// Windows server.
    WindowsServer,
    /// Mac.
    Mac,
}

/// A computer managed through the RMM.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// NinjaOne device id.
    pub id: i64,
    /// Host name (`CLAW-LT-014`).
    pub name: String,
    /// What it is.
    pub role: DeviceRole,
    /// Operating system name.
    pub os: String,
    /// The key of the person who last signed in to it.
    #[serde(default)]
    pub last_user: Option<String>,
    /// Tags on it.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Serial number.
    pub serial: String,
    /// Manufacturer.
    pub manufacturer: String,
    /// Model.
    pub model: String,
    /// The agent is connected.
    #[serde(default = "yes")]
    pub online: bool,
    /// Custom field values (`assetOwner`).
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
    /// Open alerts on it.
    #[serde(default)]
    pub alerts: Vec<Alert>,
    /// What the Test app connectivity script reports on this device (the NinjaOne simulator's
    /// script 14, `ninjaone::library::TEST_APP_CONNECTIVITY`): what a technician would find
    /// checking its route to the line-of-business app. `None`: every check passes.
    #[serde(default)]
    pub diagnostics: Option<String>,
}

/// An open RMM alert.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    /// Alert uid.
    pub uid: String,
    /// What triggered it.
    pub message: String,
    /// Severity (`CRITICAL`, `MAJOR`, `MODERATE`, `MINOR`, `NONE`).
    pub severity: String,
}

/// A documentation asset.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    /// Hudu asset id.
    pub id: i64,
    /// Layout name (`Computer Assets`).
    pub layout: String,
    /// Asset name.
    pub name: String,
    /// Field values by label.
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
    /// Archived.
    #[serde(default)]
    pub archived: bool,
}

/// A password kept in the documentation system.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StoredPassword {
    /// Hudu asset password id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Username.
    #[serde(default)]
    pub username: Option<String>,
    /// The password (a simulator value, not a real one).
    pub password: String,
    /// Sign-in URL.
    #[serde(default)]
    pub url: Option<String>,
    /// The asset it belongs to: an asset's id, or a person's `asset_id`.
    #[serde(default)]
    pub asset: Option<i64>,
}

/// Ticket priority, in neutral words each PSA maps onto its own.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Business stopped.
    Critical,
    /// Someone cannot work.
    High,
    /// Normal.
    #[default]
    Medium,
    /// Can wait.
    Low,
}

/// How a ticket arrived.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TicketSource {
    /// By email.
    #[default]
    Email,
    /// By phone.
    Phone,
    /// Through the client portal.
    Portal,
    /// Raised by monitoring.
    Monitoring,
}

/// An open ticket.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OpenTicket {
    /// Title.
    pub summary: String,
    /// What the requester wrote.
    pub body: String,
    /// The requester's key.
    pub requester: String,
    /// The address the ticket came from when it is not the requester's own (a lookalike
    /// domain, a private address): the PSA records that sender. `None`: the requester's own.
    #[serde(default)]
    pub from: Option<String>,
    /// Board or queue name (`Help Desk`).
    #[serde(default = "help_desk")]
    pub board: String,
    /// Status name (`New`, `In Progress`).
    #[serde(default = "new_status")]
    pub status: String,
    /// Priority.
    #[serde(default)]
    pub priority: Priority,
    /// How it arrived.
    #[serde(default)]
    pub source: TicketSource,
    /// The technician (identifier) working it.
    #[serde(default)]
    pub owner: Option<String>,
    /// Raised this many hours before the simulator started.
    pub hours_ago: i64,
}

fn yes() -> bool {
    true
}

fn text_field() -> String {
    "Text".into()
}

fn help_desk() -> String {
    "Help Desk".into()
}

fn new_status() -> String {
    "New".into()
}

/// A world file that does not hold together.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// The file could not be read.
    #[error("cannot read world file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the world's shape.
    #[error("{origin}: {message}")]
    Parse {
        /// The file or `built-in world`.
        origin: String,
        /// The parser's message, with the line and key.
        message: String,
    },
    /// A reference names something that does not exist, or an id is used twice.
    #[error("{origin}: {message}")]
    Inconsistent {
        /// The file or `built-in world`.
        origin: String,
        /// What is wrong and where.
        message: String,
    },
}

impl World {
    /// The built-in world (`crates/sim/world.toml`), parsed once.
    pub fn builtin() -> &'static World {
        static WORLD: OnceLock<World> = OnceLock::new();
        WORLD.get_or_init(|| {
            World::parse("built-in world", BUILTIN)
                .unwrap_or_else(|err| panic!("the built-in world is broken: {err}"))
        })
    }

    /// Read a world file.
    pub fn from_path(path: &Path) -> Result<World, WorldError> {
        let text = std::fs::read_to_string(path).map_err(|source| WorldError::Read {
            path: path.display().to_string(),
            source,
        })?;
        World::parse(&path.display().to_string(), &text)
    }

    /// Parse and check world text; `origin` names it in errors.
    pub fn parse(origin: &str, text: &str) -> Result<World, WorldError> {
        let world: World = toml::from_str(text).map_err(|err| WorldError::Parse {
            origin: origin.to_string(),
            message: err.to_string(),
        })?;
        world.check().map_err(|message| WorldError::Inconsistent {
            origin: origin.to_string(),
            message,
        })?;
        Ok(world)
    }

    /// A tenant by key.
    pub fn tenant(&self, key: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.key == key)
    }

    /// A tenant by key, to change (tests build variations of the built-in world).
    pub fn tenant_mut(&mut self, key: &str) -> Option<&mut Tenant> {
        self.tenants.iter_mut().find(|t| t.key == key)
    }

    /// A person by tenant and person key.
    pub fn person(&self, tenant: &str, key: &str) -> Option<&Person> {
        self.tenant(tenant)?.person(key)
    }

    /// The tenants that use this identity provider.
    pub fn identity_tenants(&self, kind: IdentityKind) -> impl Iterator<Item = &Tenant> {
        self.tenants.iter().filter(move |t| t.identity == kind)
    }

    /// The tenants whose tickets live in this PSA.
    pub fn psa_tenants(&self, kind: PsaKind) -> impl Iterator<Item = &Tenant> {
        self.tenants.iter().filter(move |t| t.psa == kind)
    }

    /// A technician by identifier.
    pub fn technician(&self, identifier: &str) -> Option<&Technician> {
        self.msp
            .technicians
            .iter()
            .find(|t| t.identifier == identifier)
    }

    /// A layout by name.
    pub fn layout(&self, name: &str) -> Option<&Layout> {
        self.msp.layouts.iter().find(|l| l.name == name)
    }

    /// Every cross-reference resolves and no id is used twice.
    fn check(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        let mut unique = |what: &str, scope: &str, ids: Vec<String>| {
            let mut seen = BTreeSet::new();
            for id in ids {
                if !seen.insert(id.clone()) {
                    problems.push(format!("{what} `{id}` is used twice{scope}"));
                }
            }
        };
        unique(
            "tenant key",
            "",
            self.tenants.iter().map(|t| t.key.clone()).collect(),
        );
        unique(
            "PSA company id",
            "",
            self.tenants
                .iter()
                .map(|t| format!("{:?} {}", t.psa, t.psa_company.id))
                .collect(),
        );
        unique(
            "RMM organisation id",
            "",
            self.tenants.iter().map(|t| t.rmm.id.to_string()).collect(),
        );
        unique(
            "documentation company id",
            "",
            self.tenants.iter().map(|t| t.docs.id.to_string()).collect(),
        );
        unique(
            "device id",
            "",
            self.tenants
                .iter()
                .flat_map(|t| t.devices.iter().map(|d| d.id.to_string()))
                .collect(),
        );
        unique(
            "asset id",
            "",
            self.tenants
                .iter()
                .flat_map(|t| {
                    t.assets
                        .iter()
                        .map(|a| a.id)
                        .chain(t.people.iter().filter_map(|p| p.asset_id))
                })
                .map(|id| id.to_string())
                .collect(),
        );
        unique(
            "password id",
            "",
            self.tenants
                .iter()
                .flat_map(|t| t.passwords.iter().map(|p| p.id.to_string()))
                .collect(),
        );
        unique(
            "contact id",
            "",
            self.tenants
                .iter()
                .flat_map(|t| {
                    t.people
                        .iter()
                        .filter_map(|p| p.contact_id.map(|id| format!("{:?} {id}", t.psa)))
                })
                .collect(),
        );
        unique(
            "technician identifier",
            "",
            self.msp
                .technicians
                .iter()
                .map(|t| t.identifier.clone())
                .collect(),
        );
        for tenant in &self.tenants {
            let scope = format!(" in tenant `{}`", tenant.key);
            unique(
                "person key",
                &scope,
                tenant.people.iter().map(|p| p.key.clone()).collect(),
            );
            unique(
                "object id",
                &scope,
                tenant
                    .people
                    .iter()
                    .map(|p| p.id.clone())
                    .chain(tenant.groups.iter().map(|g| g.id.clone()))
                    .collect(),
            );
            unique(
                "sign-in name",
                &scope,
                tenant.people.iter().map(|p| p.email(tenant)).collect(),
            );
            unique(
                "service issue id",
                &scope,
                tenant.service_issues.iter().map(|i| i.id.clone()).collect(),
            );
        }
        for tenant in &self.tenants {
            problems.extend(self.check_tenant(tenant));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    fn check_tenant(&self, tenant: &Tenant) -> Vec<String> {
        let mut problems = Vec::new();
        let at = |what: String| format!("tenant `{}`: {what}", tenant.key);
        let person = |key: &str, place: String, problems: &mut Vec<String>| {
            if tenant.person(key).is_none() {
                let known: Vec<&str> = tenant.people.iter().map(|p| p.key.as_str()).collect();
                problems.push(at(format!(
                    "{place} names person `{key}`, who is not in its people{}",
                    nearest(key, &known)
                )));
            }
        };
        match (tenant.identity, &tenant.m365, &tenant.okta) {
            (IdentityKind::M365, None, _) => problems.push(at(
                "identity = \"m365\" needs an [tenants.m365] table".into(),
            )),
            (IdentityKind::Okta, _, None) => problems.push(at(
                "identity = \"okta\" needs an [tenants.okta] table".into(),
            )),
            _ => {}
        }
        let skus: Vec<&str> = tenant
            .licences
            .iter()
            .map(|l| l.part_number.as_str())
            .collect();
        for p in &tenant.people {
            if let Some(manager) = &p.manager {
                person(
                    manager,
                    format!("the manager of `{}`", p.key),
                    &mut problems,
                );
            }
            for sku in &p.licences {
                if !skus.contains(&sku.as_str()) {
                    problems.push(at(format!(
                        "person `{}` holds licence `{sku}`, which the tenant has not bought{}",
                        p.key,
                        nearest(sku, &skus)
                    )));
                }
            }
            if p.is_staff() && (p.contact_id.is_none() || p.asset_id.is_none()) {
                problems.push(at(format!(
                    "staff member `{}` needs a contact_id (PSA) and an asset_id (Hudu)",
                    p.key
                )));
            }
            if let Some(mailbox) = &p.mailbox {
                for key in mailbox.forward_to.iter().chain(&mailbox.full_access) {
                    person(key, format!("the mailbox of `{}`", p.key), &mut problems);
                }
            }
        }
        for key in &tenant.authorised_contacts {
            person(key, "authorised_contacts".into(), &mut problems);
        }
        let groups: Vec<&str> = tenant.groups.iter().map(|g| g.name.as_str()).collect();
        for role in &tenant.roles {
            for sku in &role.licences {
                if !skus.contains(&sku.as_str()) {
                    problems.push(at(format!(
                        "role `{}` gets licence `{sku}`, which the tenant has not bought{}",
                        role.name,
                        nearest(sku, &skus)
                    )));
                }
            }
            for group in &role.groups {
                if !groups.contains(&group.as_str()) {
                    problems.push(at(format!(
                        "role `{}` gets group `{group}`, which the tenant does not have{}",
                        role.name,
                        nearest(group, &groups)
                    )));
                }
            }
        }
        for g in &tenant.groups {
            for key in &g.members {
                person(key, format!("group `{}`", g.name), &mut problems);
            }
            for sku in &g.licences {
                if !skus.contains(&sku.as_str()) {
                    problems.push(at(format!(
                        "group `{}` assigns licence `{sku}`, which the tenant has not bought",
                        g.name
                    )));
                }
            }
        }
        for m in &tenant.shared_mailboxes {
            for key in std::iter::once(&m.person)
                .chain(&m.full_access)
                .chain(&m.send_as)
                .chain(&m.send_on_behalf)
            {
                person(key, format!("shared mailbox `{}`", m.person), &mut problems);
            }
        }
        for d in &tenant.devices {
            if let Some(user) = &d.last_user {
                person(user, format!("device `{}`", d.name), &mut problems);
            }
        }
        for a in &tenant.assets {
            if self.layout(&a.layout).is_none() {
                problems.push(at(format!(
                    "asset `{}` uses layout `{}`, which [[msp.layouts]] does not define",
                    a.name, a.layout
                )));
            }
        }
        let asset_ids: BTreeSet<i64> = tenant
            .assets
            .iter()
            .map(|a| a.id)
            .chain(tenant.people.iter().filter_map(|p| p.asset_id))
            .collect();
        for pw in &tenant.passwords {
            if let Some(asset) = pw.asset
                && !asset_ids.contains(&asset)
            {
                problems.push(at(format!(
                    "password `{}` belongs to asset {asset}, which is not in this tenant",
                    pw.name
                )));
            }
        }
        for t in &tenant.tickets {
            person(
                &t.requester,
                format!("ticket `{}`", t.summary),
                &mut problems,
            );
            if let Some(owner) = &t.owner
                && self.technician(owner).is_none()
            {
                problems.push(at(format!(
                    "ticket `{}` is owned by technician `{owner}`, who is not in [[msp.technicians]]",
                    t.summary
                )));
            }
        }
        if !tenant.service_issues.is_empty() && tenant.identity != IdentityKind::M365 {
            problems.push(at(
                "service_issues are Microsoft 365 service health: the tenant's identity is not \
                 m365"
                    .into(),
            ));
        }
        for issue in &tenant.service_issues {
            if !M365_SERVICES.contains(&issue.service.as_str()) {
                problems.push(at(format!(
                    "service issue `{}` is about `{}`, which is not a Microsoft 365 service{}",
                    issue.id,
                    issue.service,
                    nearest(&issue.service, M365_SERVICES)
                )));
            }
            if !SERVICE_HEALTH_STATUSES.contains(&issue.status.as_str()) {
                problems.push(at(format!(
                    "service issue `{}` has status `{}`, which Graph does not know{}",
                    issue.id,
                    issue.status,
                    nearest(&issue.status, SERVICE_HEALTH_STATUSES)
                )));
            }
            if issue
                .resolved_hours_ago
                .is_some_and(|end| end > issue.hours_ago)
            {
                problems.push(at(format!(
                    "service issue `{}` ends before it begins",
                    issue.id
                )));
            }
        }
        problems
    }
}

impl Tenant {
    /// A person by key.
    pub fn person(&self, key: &str) -> Option<&Person> {
        self.people.iter().find(|p| p.key == key)
    }

    /// The members of staff.
    pub fn staff(&self) -> impl Iterator<Item = &Person> {
        self.people.iter().filter(|p| p.is_staff())
    }

    /// The members of a group, `built_in` meaning everyone.
    pub fn members_of<'a>(&'a self, group: &'a Group) -> Vec<&'a Person> {
        if group.kind == GroupKind::BuiltIn {
            return self.people.iter().collect();
        }
        group
            .members
            .iter()
            .filter_map(|key| self.person(key))
            .collect()
    }

    /// The devices whose last signed-in user is this person.
    pub fn devices_of<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Device> {
        self.devices
            .iter()
            .filter(move |d| d.last_user.as_deref() == Some(key))
    }
}

/// ` (did you mean "x"?)` for the closest known name, or nothing.
fn nearest(name: &str, known: &[&str]) -> String {
    suggest::hint(suggest::did_you_mean(name, known.iter().copied()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_world_parses_and_holds_together() {
        let world = World::builtin();
        assert!(world.tenants.len() >= 2);
        assert!(world.identity_tenants(IdentityKind::M365).count() >= 1);
        assert!(world.identity_tenants(IdentityKind::Okta).count() >= 1);
        assert!(world.psa_tenants(PsaKind::Connectwise).count() >= 1);
        assert!(world.psa_tenants(PsaKind::Autotask).count() >= 1);
    }

    #[test]
    fn a_misspelt_reference_is_named_with_the_nearest_key() {
        let text = BUILTIN.replacen("requester = \"priya.shah\"", "requester = \"priya.sha\"", 1);
        assert_ne!(
            text, BUILTIN,
            "the built-in world has a ticket from priya.shah"
        );
        let err = World::parse("test", &text).unwrap_err().to_string();
        assert!(err.contains("`priya.sha`"), "{err}");
        assert!(err.contains("did you mean \"priya.shah\""), "{err}");
    }

    #[test]
    fn an_unknown_field_is_refused_with_its_line() {
        let text = BUILTIN.replacen("department = ", "departmnet = ", 1);
        let err = World::parse("test", &text).unwrap_err().to_string();
        assert!(err.contains("departmnet"), "{err}");
        assert!(err.contains("line"), "{err}");
    }

    #[test]
    fn the_optional_device_and_ticket_fields_are_read_and_misspellings_refused() {
        let world = World::builtin();
        let contoso = world.tenant("contoso-law").unwrap();
        assert!(contoso.devices.iter().any(|d| d.diagnostics.is_some()));
        assert!(contoso.tickets.iter().any(|t| t.from.is_some()));
        for (field, typo) in [("diagnostics = ", "diagnostic = "), ("from = ", "form = ")] {
            let text = BUILTIN.replacen(field, typo, 1);
            assert_ne!(text, BUILTIN, "the built-in world uses {field}");
            let err = World::parse("test", &text).unwrap_err().to_string();
            assert!(err.contains(typo.trim_end_matches(" = ")), "{err}");
            assert!(err.contains("line"), "{err}");
        }
    }

    #[test]
    fn service_issues_name_a_graph_service_and_status() {
        let contoso = World::builtin().tenant("contoso-law").unwrap();
        let open: Vec<&ServiceIssue> = contoso
            .service_issues
            .iter()
            .filter(|i| i.resolved_hours_ago.is_none())
            .collect();
        assert!(
            open.iter().any(|i| i.service == "Exchange Online"),
            "{open:?}"
        );
        for (field, typo, named) in [
            (
                "service = \"Exchange Online\"",
                "service = \"Exchange Onlin\"",
                "did you mean \"Exchange Online\"",
            ),
            (
                "status = \"serviceDegradation\"",
                "status = \"degraded\"",
                "`degraded`",
            ),
        ] {
            let text = BUILTIN.replacen(field, typo, 1);
            assert_ne!(text, BUILTIN, "the built-in world uses {field}");
            let err = World::parse("test", &text).unwrap_err().to_string();
            assert!(err.contains(named), "{err}");
        }
        let mut world = World::builtin().clone();
        let issue = world.tenants[0].service_issues[0].clone();
        world.tenants[1].service_issues.push(issue);
        assert!(world.check().unwrap_err().contains("not m365"));
    }

    #[test]
    fn a_duplicate_device_id_is_refused() {
        let mut world = World::builtin().clone();
        let first = world.tenants[0].devices[0].clone();
        world.tenants[1].devices.push(first.clone());
        let err = world.check().unwrap_err();
        assert!(
            err.contains(&format!("device id `{}` is used twice", first.id)),
            "{err}"
        );
    }
}
