//! The simulator's state types and how they render to Okta's JSON shapes.

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Map, Value, json};

/// A user's lifecycle status (spec schema `UserStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserStatus {
    /// Created, not activated.
    Staged,
    /// Activated without a password; must finish the activation flow.
    Provisioned,
    /// Signed in normally.
    Active,
    /// In a password reset flow (`reset_password`).
    Recovery,
    /// Must change the password at next sign-in.
    PasswordExpired,
    /// Too many failed sign-ins.
    LockedOut,
    /// Blocked, reversibly.
    Suspended,
    /// Deactivated.
    Deprovisioned,
}

impl UserStatus {
    /// The wire name (`ACTIVE`, `LOCKED_OUT`...).
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Staged => "STAGED",
            UserStatus::Provisioned => "PROVISIONED",
            UserStatus::Active => "ACTIVE",
            UserStatus::Recovery => "RECOVERY",
            UserStatus::PasswordExpired => "PASSWORD_EXPIRED",
            UserStatus::LockedOut => "LOCKED_OUT",
            UserStatus::Suspended => "SUSPENDED",
            UserStatus::Deprovisioned => "DEPROVISIONED",
        }
    }
}

impl std::fmt::Display for UserStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who validates the user's password (spec schema `AuthenticationProviderType`, the two the
/// simulator models).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderType {
    /// Okta itself.
    Okta,
    /// Delegated to on-premises Active Directory: password and unlock belong to AD.
    ActiveDirectory,
}

impl ProviderType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderType::Okta => "OKTA",
            ProviderType::ActiveDirectory => "ACTIVE_DIRECTORY",
        }
    }
}

/// A user in the simulated org.
#[derive(Clone)]
pub struct SimUser {
    /// Okta id (`00u...`).
    pub id: String,
    /// Lifecycle status.
    pub status: UserStatus,
    /// The profile as Okta stores it (`login`, `email`, `firstName`...).
    pub profile: Map<String, Value>,
    /// Password provider.
    pub provider: ProviderType,
    /// Provider instance name (`OKTA`, or the AD domain).
    pub provider_name: String,
    /// The current password (a secret: never shown by `Debug`).
    pub password: Option<String>,
    /// Enrolled factors.
    pub factors: Vec<SimFactor>,
    /// Admin role types held (`SUPER_ADMIN`, `HELP_DESK_ADMIN`...).
    pub roles: Vec<String>,
    /// Open Okta sessions.
    pub sessions: u32,
    /// OAuth / OIDC tokens issued to the user.
    pub oauth_tokens: u32,
    /// Devices with remembered factors.
    pub remembered_devices: u32,
    /// The token of the last reset link issued (a secret).
    pub reset_token: Option<String>,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// When it became ACTIVE.
    pub activated: Option<DateTime<Utc>>,
    /// Last status change.
    pub status_changed: Option<DateTime<Utc>>,
    /// Last sign-in.
    pub last_login: Option<DateTime<Utc>>,
    /// Last change.
    pub last_updated: DateTime<Utc>,
    /// Last password change.
    pub password_changed: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for SimUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimUser")
            .field("id", &self.id)
            .field("login", &self.login())
            .field("status", &self.status)
            .field("provider", &self.provider)
            .field("has_password", &self.password.is_some())
            .field("factors", &self.factors.len())
            .field("roles", &self.roles)
            .field("sessions", &self.sessions)
            .finish_non_exhaustive()
    }
}

impl SimUser {
    /// `profile.login`.
    pub fn login(&self) -> &str {
        self.profile_str("login").unwrap_or_default()
    }

    /// A profile attribute as text.
    pub fn profile_str(&self, key: &str) -> Option<&str> {
        self.profile.get(key).and_then(Value::as_str)
    }

    /// Change the status, stamping `statusChanged` and `lastUpdated`.
    pub(crate) fn set_status(&mut self, status: UserStatus) {
        let now = Utc::now();
        if status == UserStatus::Active && self.activated.is_none() {
            self.activated = Some(now);
        }
        if self.status != status {
            self.status = status;
            self.status_changed = Some(now);
        }
        self.last_updated = now;
    }

    /// Render as `User`. `full` adds the lifecycle links a single-user read carries; collections
    /// carry only `self` (spec `User._links`).
    pub(crate) fn render(&self, org: &str, full: bool) -> Value {
        let mut credentials = Map::new();
        if self.password.is_some() {
            credentials.insert("password".into(), json!({}));
        }
        credentials.insert(
            "provider".into(),
            json!({"type": self.provider.as_str(), "name": self.provider_name}),
        );
        let base = format!("{org}/api/v1/users/{}", self.id);
        let mut links = Map::new();
        links.insert("self".into(), json!({"href": base}));
        if full {
            let lifecycle =
                |op: &str| json!({"href": format!("{base}/lifecycle/{op}"), "method": "POST"});
            let mut add = |name: &str, op: &str| {
                links.insert(name.to_string(), lifecycle(op));
            };
            match self.status {
                UserStatus::Staged | UserStatus::Deprovisioned => add("activate", "activate"),
                UserStatus::Suspended => add("unsuspend", "unsuspend"),
                UserStatus::Active => add("suspend", "suspend"),
                UserStatus::LockedOut => add("unlock", "unlock"),
                _ => {}
            }
            if self.status != UserStatus::Deprovisioned {
                add("deactivate", "deactivate");
            }
            let password_ops = self.provider == ProviderType::Okta
                && matches!(
                    self.status,
                    UserStatus::Active
                        | UserStatus::LockedOut
                        | UserStatus::PasswordExpired
                        | UserStatus::Recovery
                        | UserStatus::Provisioned
                );
            if password_ops {
                add("resetPassword", "reset_password");
                add("expirePassword", "expire_password");
            }
            if !self.factors.is_empty() && self.status != UserStatus::Deprovisioned {
                add("resetFactors", "reset_factors");
            }
            links.insert(
                "schema".into(),
                json!({"href": format!("{org}/api/v1/meta/schemas/user/osc1globexdefault")}),
            );
            links.insert(
                "type".into(),
                json!({"href": format!("{org}/api/v1/meta/types/user/oty1globexdefault")}),
            );
        }
        json!({
            "id": self.id,
            "status": self.status.as_str(),
            "created": stamp(self.created),
            "activated": self.activated.map(stamp),
            "statusChanged": self.status_changed.map(stamp),
            "lastLogin": self.last_login.map(stamp),
            "lastUpdated": stamp(self.last_updated),
            "passwordChanged": self.password_changed.map(stamp),
            "type": {"id": "oty1globexdefault"},
            "profile": self.profile,
            "credentials": credentials,
            "_links": links,
        })
    }
}

/// A group's type (spec schema `GroupType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupType {
    /// Managed in Okta: membership writable.
    OktaGroup,
    /// Imported from an app (Active Directory): read-only here.
    AppGroup,
    /// `Everyone`: read-only.
    BuiltIn,
}

impl GroupType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupType::OktaGroup => "OKTA_GROUP",
            GroupType::AppGroup => "APP_GROUP",
            GroupType::BuiltIn => "BUILT_IN",
        }
    }
}

/// A group in the simulated org.
#[derive(Debug, Clone)]
pub struct SimGroup {
    /// Okta id (`00g...`).
    pub id: String,
    /// Type.
    pub group_type: GroupType,
    /// Profile (`name`, `description`, and the AD attributes of an APP_GROUP).
    pub profile: Map<String, Value>,
    /// Member user ids, in the order they were added.
    pub members: Vec<String>,
    /// The importing app's id, for an APP_GROUP.
    pub source_app: Option<String>,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Last profile change.
    pub last_updated: DateTime<Utc>,
    /// Last membership change.
    pub last_membership_updated: DateTime<Utc>,
    /// Admin role types assigned to the group (`ORG_ADMIN`...): every member holds them.
    pub roles: Vec<String>,
}

impl SimGroup {
    /// `profile.name`.
    pub fn name(&self) -> &str {
        self.profile
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Render as `Group` (spec example `group-example`).
    pub(crate) fn render(&self, org: &str) -> Value {
        let base = format!("{org}/api/v1/groups/{}", self.id);
        let (object_class, logo) = match self.group_type {
            GroupType::AppGroup => ("okta:windows_security_principal", "active_directory"),
            _ => ("okta:user_group", "okta"),
        };
        let mut links = json!({
            "logo": [
                {"name": "medium", "href": format!("{org}/img/logos/groups/{logo}-medium.png"), "type": "image/png"},
                {"name": "large", "href": format!("{org}/img/logos/groups/{logo}-large.png"), "type": "image/png"}
            ],
            "users": {"href": format!("{base}/users")},
            "apps": {"href": format!("{base}/apps")},
        });
        if let Some(app) = &self.source_app {
            links["source"] = json!({"href": format!("{org}/api/v1/apps/{app}")});
        }
        json!({
            "id": self.id,
            "created": stamp(self.created),
            "lastUpdated": stamp(self.last_updated),
            "lastMembershipUpdated": stamp(self.last_membership_updated),
            "objectClass": [object_class],
            "type": self.group_type.as_str(),
            "profile": self.profile,
            "_links": links,
        })
    }
}

/// An enrolled factor.
#[derive(Debug, Clone)]
pub struct SimFactor {
    /// Okta id.
    pub id: String,
    /// `push`, `sms`, `token:software:totp`...
    pub factor_type: String,
    /// `OKTA`, `GOOGLE`.
    pub provider: String,
    /// `ACTIVE`, `PENDING_ACTIVATION`.
    pub status: String,
    /// Factor profile (`phoneNumber`, `credentialId`, device details).
    pub profile: Value,
    /// The Okta Verify enrolment this factor belongs to: removing its `push` removes them all.
    pub okta_verify_enrollment: Option<String>,
    /// Enrolment time.
    pub created: DateTime<Utc>,
}

impl SimFactor {
    /// Render as `UserFactor` (spec example `ListFactorsResults`).
    pub(crate) fn render(&self, org: &str, user_id: &str) -> Value {
        let user = format!("{org}/api/v1/users/{user_id}");
        let this = format!("{user}/factors/{}", self.id);
        let mut links = json!({
            "self": {"href": this, "hints": {"allow": ["GET", "DELETE"]}},
            "user": {"href": user, "hints": {"allow": ["GET"]}},
        });
        if self.status == "ACTIVE" {
            links["verify"] =
                json!({"href": format!("{this}/verify"), "hints": {"allow": ["POST"]}});
        }
        json!({
            "id": self.id,
            "factorType": self.factor_type,
            "provider": self.provider,
            "vendorName": self.provider,
            "status": self.status,
            "created": stamp(self.created),
            "lastUpdated": stamp(self.created),
            "profile": self.profile,
            "_links": links,
        })
    }
}

/// Okta's timestamp format: `2013-06-24T16:39:18.000Z`.
pub(crate) fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A random Okta-style id: a three-character prefix and 17 alphanumerics (20 in all).
pub(crate) fn new_id(prefix: &str) -> String {
    let tail: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(20 - prefix.len())
        .map(char::from)
        .collect();
    format!("{prefix}{tail}")
}
