//! Serde models of the Okta shapes the connector reads and writes (spec schemas `User`,
//! `Group`, `UserFactor`, `ResetPasswordToken`, `tempPassword`, `CreateUserRequest`), and their
//! mapping to the vendor-neutral types of `stackhand-core`.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stackhand_core::{Department, Group, GroupKind, MfaMethod, User};

/// `User.status`.
pub mod status {
    /// Signed in normally.
    pub const ACTIVE: &str = "ACTIVE";
    /// Locked after failed sign-ins.
    pub const LOCKED_OUT: &str = "LOCKED_OUT";
    /// Blocked, reversibly.
    pub const SUSPENDED: &str = "SUSPENDED";
    /// Deactivated.
    pub const DEPROVISIONED: &str = "DEPROVISIONED";
    /// Created, not activated.
    pub const STAGED: &str = "STAGED";
}

/// `User.profile`: the default attributes the connector uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OktaProfile {
    /// Sign-in name.
    #[serde(default)]
    pub login: String,
    /// Primary email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Country (ISO 3166-1 alpha-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
}

/// `AuthenticationProvider`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct OktaProvider {
    /// `OKTA`, `ACTIVE_DIRECTORY`, `LDAP`, `FEDERATION`, `SOCIAL`, `IMPORT`.
    #[serde(rename = "type", default)]
    pub provider_type: String,
    /// Instance name.
    #[serde(default)]
    pub name: Option<String>,
}

/// `UserCredentials` as read (secrets are never returned).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct OktaCredentials {
    /// Who validates the password.
    #[serde(default)]
    pub provider: Option<OktaProvider>,
}

/// `User`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OktaUser {
    /// Id.
    pub id: String,
    /// Lifecycle status.
    pub status: String,
    /// Profile.
    #[serde(default)]
    pub profile: OktaProfile,
    /// Credentials (absent with `okta-response=omitCredentials`).
    #[serde(default)]
    pub credentials: Option<OktaCredentials>,
}

impl OktaUser {
    /// The password provider type; `OKTA` when not said.
    pub fn provider_type(&self) -> &str {
        self.credentials
            .as_ref()
            .and_then(|c| c.provider.as_ref())
            .map(|p| p.provider_type.as_str())
            .filter(|t| !t.is_empty())
            .unwrap_or("OKTA")
    }

    /// Map to the neutral user, with the admin `roles` read separately.
    pub fn into_user(self, roles: Vec<String>) -> User {
        let externally_mastered = !matches!(self.provider_type(), "OKTA" | "IMPORT");
        let display_name = self.profile.display_name.clone().unwrap_or_else(|| {
            format!(
                "{} {}",
                self.profile.first_name.as_deref().unwrap_or_default(),
                self.profile.last_name.as_deref().unwrap_or_default()
            )
            .trim()
            .to_string()
        });
        let enabled = !matches!(
            self.status.as_str(),
            status::SUSPENDED | status::DEPROVISIONED | status::STAGED
        );
        User {
            id: self.id,
            login: self.profile.login,
            display_name,
            email: self.profile.email,
            enabled,
            locked: self.status == status::LOCKED_OUT,
            status: Some(self.status),
            department: self.profile.department.map(Department),
            job_title: self.profile.title,
            externally_mastered,
            roles,
            usage_location: self.profile.country_code,
        }
    }
}

/// `Group.profile`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct OktaGroupProfile {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

/// `Group`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OktaGroup {
    /// Id.
    pub id: String,
    /// `OKTA_GROUP`, `APP_GROUP` or `BUILT_IN`.
    #[serde(rename = "type", default)]
    pub group_type: String,
    /// Profile.
    #[serde(default)]
    pub profile: OktaGroupProfile,
}

/// The group type whose membership Okta lets the API change.
pub const OKTA_GROUP: &str = "OKTA_GROUP";

impl From<OktaGroup> for Group {
    fn from(group: OktaGroup) -> Self {
        let writable = group.group_type == OKTA_GROUP;
        Group {
            id: group.id,
            name: group.profile.name,
            kind: if writable {
                GroupKind::Security
            } else {
                GroupKind::External
            },
            writable,
            privileged: false,
        }
    }
}

/// `UserFactor`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OktaFactor {
    /// Id.
    pub id: String,
    /// `push`, `sms`, `token:software:totp`...
    pub factor_type: String,
    /// `OKTA`, `GOOGLE`...
    #[serde(default)]
    pub provider: Option<String>,
    /// `ACTIVE`, `PENDING_ACTIVATION`...
    #[serde(default)]
    pub status: Option<String>,
    /// Factor-specific profile.
    #[serde(default)]
    pub profile: Value,
}

impl From<OktaFactor> for MfaMethod {
    fn from(factor: OktaFactor) -> Self {
        let text = |key: &str| factor.profile.get(key).and_then(Value::as_str);
        let description = text("phoneNumber")
            .map(|phone| {
                // Only the tail of a phone number: enough to recognise, not to harvest.
                let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
                format!("phone ending {}", &digits[digits.len().saturating_sub(4)..])
            })
            .or_else(|| text("name").map(str::to_string))
            .or_else(|| text("credentialId").map(str::to_string));
        MfaMethod {
            id: factor.id,
            method_type: factor.factor_type,
            description,
        }
    }
}

/// `ResetPasswordToken`: the one-time reset link (a secret).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetPasswordToken {
    /// Present when `sendEmail=false`.
    #[serde(default)]
    pub reset_password_url: Option<SecretString>,
}

/// `tempPassword`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TempPassword {
    /// The temporary password (a secret).
    pub temp_password: SecretString,
}

/// A role assignment (`GET /api/v1/users/{id}/roles`, `GET /api/v1/groups/{id}/roles`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    /// `SUPER_ADMIN`, `ORG_ADMIN`, `HELP_DESK_ADMIN`...
    #[serde(rename = "type")]
    pub role_type: String,
    /// `ACTIVE` or `INACTIVE`.
    #[serde(default)]
    pub status: Option<String>,
    /// `USER`, or `GROUP` for a role held through a group.
    #[serde(default)]
    pub assignment_type: Option<String>,
}

impl RoleAssignment {
    /// Whether the assignment is in force (an absent status counts as in force).
    pub fn is_active(&self) -> bool {
        self.status.as_deref().is_none_or(|s| s == "ACTIVE")
    }
}

/// `PasswordCredential` as written.
#[derive(Serialize)]
pub struct PasswordValue<'a> {
    /// The password.
    pub value: &'a str,
}

/// `UserCredentialsWritable` as written.
#[derive(Serialize)]
pub struct WritableCredentials<'a> {
    /// The password.
    pub password: PasswordValue<'a>,
}

impl<'a> WritableCredentials<'a> {
    /// Credentials setting this password.
    pub fn password(password: &'a SecretString) -> Self {
        Self {
            password: PasswordValue {
                value: password.expose_secret(),
            },
        }
    }
}

/// `CreateUserRequest`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateUserRequest<'a> {
    /// Profile.
    pub profile: &'a OktaProfile,
    /// Initial password.
    pub credentials: WritableCredentials<'a>,
}

/// `UpdateUserRequest` setting only the password.
#[derive(Serialize)]
pub struct SetPasswordRequest<'a> {
    /// The password.
    pub credentials: WritableCredentials<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_the_spec_user_example() {
        let user: OktaUser = serde_json::from_value(json!({
            "id": "00ub0oNGTSWTBKOLGLNR", "status": "LOCKED_OUT",
            "profile": {"login": "isaac.brock@example.com", "firstName": "Isaac", "lastName": "Brock",
                        "email": "isaac.brock@example.com", "department": "Engineering", "title": "Director"},
            "credentials": {"password": {}, "provider": {"type": "ACTIVE_DIRECTORY", "name": "corp.example"}},
            "_links": {"self": {"href": "https://x/api/v1/users/00ub0oNGTSWTBKOLGLNR"}}
        }))
        .expect("parses");
        let user = user.into_user(vec!["SUPER_ADMIN".into()]);
        assert_eq!(user.display_name, "Isaac Brock");
        assert!(user.locked && user.enabled && user.externally_mastered);
        assert_eq!(user.roles, ["SUPER_ADMIN"]);
        assert_eq!(user.job_title.as_deref(), Some("Director"));
    }

    #[test]
    fn factors_describe_without_full_phone_numbers() {
        let sms: OktaFactor = serde_json::from_value(json!({
            "id": "sms2gt8gzgEBPUWBIFHN", "factorType": "sms", "provider": "OKTA", "status": "ACTIVE",
            "profile": {"phoneNumber": "+1-555-415-1337"}
        }))
        .expect("parses");
        let method = MfaMethod::from(sms);
        assert_eq!(method.description.as_deref(), Some("phone ending 1337"));
    }
}
