//! Serde models of the Graph and Exchange Online shapes the connector reads and writes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `null` (Graph answers it for a selected property a type lacks) as the default value.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// The `$select` the connector reads users with (Graph's default projection lacks
/// `accountEnabled`, `usageLocation` and `onPremisesSyncEnabled`).
pub const USER_SELECT: &str = "id,userPrincipalName,displayName,mail,accountEnabled,department,jobTitle,onPremisesSyncEnabled,usageLocation,userType";

/// A Graph user (`microsoft.graph.user`), the properties in [`USER_SELECT`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphUser {
    /// Object id.
    pub id: String,
    /// UPN.
    pub user_principal_name: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Primary SMTP address.
    #[serde(default)]
    pub mail: Option<String>,
    /// Whether sign-in is allowed.
    #[serde(default)]
    pub account_enabled: Option<bool>,
    /// Department.
    #[serde(default)]
    pub department: Option<String>,
    /// Job title.
    #[serde(default)]
    pub job_title: Option<String>,
    /// `true` for users synced from on-premises AD; `null` for cloud users.
    #[serde(default)]
    pub on_premises_sync_enabled: Option<bool>,
    /// ISO country for licensing.
    #[serde(default)]
    pub usage_location: Option<String>,
    /// `Member` or `Guest`.
    #[serde(default)]
    pub user_type: Option<String>,
}

/// One entry of `assignedLicenses`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedLicense {
    /// Service plans turned off.
    #[serde(default, deserialize_with = "null_as_default")]
    pub disabled_plans: Vec<String>,
    /// The SKU.
    pub sku_id: String,
}

/// One entry of `licenseAssignmentStates`: direct when `assignedByGroup` is null.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseAssignmentState {
    /// The SKU.
    pub sku_id: String,
    /// The group the licence comes from, for group-based licensing.
    #[serde(default)]
    pub assigned_by_group: Option<String>,
    /// `Active`, `ActiveWithError`, ...
    #[serde(default)]
    pub state: Option<String>,
    /// `None` or an error code (`CountViolation`, `MutuallyExclusiveViolation`, ...).
    #[serde(default)]
    pub error: Option<String>,
}

/// A user's licence properties (`$select=assignedLicenses,licenseAssignmentStates,usageLocation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserLicenses {
    /// Object id.
    pub id: String,
    /// Every licence held.
    #[serde(default, deserialize_with = "null_as_default")]
    pub assigned_licenses: Vec<AssignedLicense>,
    /// How each is held.
    #[serde(default, deserialize_with = "null_as_default")]
    pub license_assignment_states: Vec<LicenseAssignmentState>,
    /// ISO country for licensing.
    #[serde(default)]
    pub usage_location: Option<String>,
}

/// `POST /users/{id}/assignLicense`: both arrays are required by Graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignLicense {
    /// Licences to add.
    pub add_licenses: Vec<AssignedLicense>,
    /// SKU ids to remove.
    pub remove_licenses: Vec<String>,
}

/// `prepaidUnits` of a subscribed SKU.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrepaidUnits {
    /// Seats bought and active.
    #[serde(default)]
    pub enabled: u32,
}

/// A subscribed SKU (`GET /subscribedSkus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribedSku {
    /// The SKU id.
    pub sku_id: String,
    /// Part number (`SPE_E3`).
    pub sku_part_number: String,
    /// Seats in use.
    #[serde(default)]
    pub consumed_units: u32,
    /// Seats bought.
    #[serde(default)]
    pub prepaid_units: PrepaidUnits,
    /// `User` or `Company`.
    #[serde(default)]
    pub applies_to: Option<String>,
}

/// A directory object from `memberOf`: a group, a directory role or an administrative unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryObject {
    /// `#microsoft.graph.group`, `#microsoft.graph.directoryRole`, ...
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
    /// Object id.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Group fields (absent for roles).
    #[serde(flatten)]
    pub group: GroupFields,
}

/// The group properties that decide how membership is managed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupFields {
    /// `Unified`, `DynamicMembership`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub group_types: Vec<String>,
    /// Mail-enabled.
    #[serde(default)]
    pub mail_enabled: Option<bool>,
    /// Security-enabled.
    #[serde(default)]
    pub security_enabled: Option<bool>,
    /// SMTP address.
    #[serde(default)]
    pub mail: Option<String>,
    /// `true` when synced from on-premises.
    #[serde(default)]
    pub on_premises_sync_enabled: Option<bool>,
    /// `true` for a role-assignable group: Entra roles can be assigned to it (and only to
    /// such groups), so its members may hold directory roles through it.
    #[serde(default)]
    pub is_assignable_to_role: Option<bool>,
}

/// A group (`GET /groups/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphGroup {
    /// Object id.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Kind-deciding fields.
    #[serde(flatten)]
    pub fields: GroupFields,
}

/// The `$select` for groups.
pub const GROUP_SELECT: &str = "id,displayName,groupTypes,mailEnabled,securityEnabled,mail,onPremisesSyncEnabled,isAssignableToRole";

/// The `$select` for a user's transitive memberships when only the directory roles matter.
pub const ROLE_SELECT: &str = "id,displayName";

/// An eligible (PIM) role assignment (`GET /roleManagement/directory/roleEligibilityScheduleInstances`
/// with `$expand=roleDefinition`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleEligibility {
    /// The principal that is eligible.
    pub principal_id: String,
    /// The role (for built-in roles, the template id).
    pub role_definition_id: String,
    /// The expanded role definition.
    #[serde(default)]
    pub role_definition: Option<RoleDefinition>,
}

impl RoleEligibility {
    /// The role's name, or its id when the definition did not come back (still a role).
    pub fn role_name(&self) -> String {
        self.role_definition
            .as_ref()
            .and_then(|d| d.display_name.clone())
            .unwrap_or_else(|| self.role_definition_id.clone())
    }
}

/// A role definition (`microsoft.graph.unifiedRoleDefinition`), the part read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinition {
    /// `Helpdesk Administrator`, ...
    #[serde(default)]
    pub display_name: Option<String>,
}

/// An authentication method from `GET /users/{id}/authentication/methods`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthMethod {
    /// `#microsoft.graph.phoneAuthenticationMethod`, ...
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    /// Method id.
    pub id: String,
    /// The rest (phone number, device name...).
    #[serde(flatten)]
    pub properties: serde_json::Map<String, Value>,
}

impl AuthMethod {
    /// The URL segment under `/authentication/` that deletes this method, from its type.
    pub fn segment(&self) -> Option<&'static str> {
        let kind = self.odata_type.trim_start_matches("#microsoft.graph.");
        Some(match kind {
            "passwordAuthenticationMethod" => "passwordMethods",
            "phoneAuthenticationMethod" => "phoneMethods",
            "microsoftAuthenticatorAuthenticationMethod" => "microsoftAuthenticatorMethods",
            "fido2AuthenticationMethod" => "fido2Methods",
            "emailAuthenticationMethod" => "emailMethods",
            "softwareOathAuthenticationMethod" => "softwareOathMethods",
            "temporaryAccessPassAuthenticationMethod" => "temporaryAccessPassMethods",
            "windowsHelloForBusinessAuthenticationMethod" => "windowsHelloForBusinessMethods",
            "platformCredentialAuthenticationMethod" => "platformCredentialMethods",
            _ => return None,
        })
    }

    /// Whether this is the password (never removed by an MFA reset).
    pub fn is_password(&self) -> bool {
        self.odata_type.ends_with("passwordAuthenticationMethod")
    }

    /// A short human description (phone number, device or key name, email).
    pub fn description(&self) -> Option<String> {
        ["displayName", "phoneNumber", "emailAddress", "model"]
            .iter()
            .find_map(|key| self.properties.get(*key).and_then(Value::as_str))
            .map(str::to_string)
    }
}

/// `POST /users/{id}/authentication/temporaryAccessPassMethods`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewTemporaryAccessPass {
    /// Minutes the pass stays valid.
    pub lifetime_in_minutes: u32,
    /// Whether it works once only.
    pub is_usable_once: bool,
}

/// The created pass: its value is shown once, in this response.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedTemporaryAccessPass {
    /// Method id.
    pub id: String,
    /// The pass.
    pub temporary_access_pass: secrecy::SecretString,
}

impl std::fmt::Debug for CreatedTemporaryAccessPass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedTemporaryAccessPass")
            .field("id", &self.id)
            .field("temporary_access_pass", &"[redacted]")
            .finish()
    }
}

/// A service's health (`GET /admin/serviceAnnouncement/healthOverviews`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceHealth {
    /// Service id (`Exchange`).
    pub id: String,
    /// Service name (`Exchange Online`).
    pub service: String,
    /// `serviceOperational`, `serviceDegradation`, `serviceInterruption`, ...
    pub status: String,
}

/// A service health issue (`GET /admin/serviceAnnouncement/issues`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceIssue {
    /// Issue id (`EX912345`).
    pub id: String,
    /// Title.
    pub title: String,
    /// The service (`Exchange Online`).
    pub service: String,
    /// `incident` or `advisory`.
    #[serde(default)]
    pub classification: Option<String>,
    /// `serviceDegradation`, `serviceRestored`, ...
    #[serde(default)]
    pub status: Option<String>,
    /// Feature affected.
    #[serde(default)]
    pub feature: Option<String>,
    /// What users see.
    #[serde(default)]
    pub impact_description: Option<String>,
    /// Whether Microsoft has resolved it.
    #[serde(default)]
    pub is_resolved: bool,
    /// Start.
    #[serde(default)]
    pub start_date_time: Option<String>,
    /// Last change.
    #[serde(default)]
    pub last_modified_date_time: Option<String>,
}

/// `POST /users/{sender}/sendMail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMail {
    /// The message.
    pub message: MailMessage,
    /// Keep a copy in Sent Items.
    pub save_to_sent_items: bool,
}

/// The message of [`SendMail`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MailMessage {
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: ItemBody,
    /// Recipients.
    pub to_recipients: Vec<Recipient>,
}

/// A message body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemBody {
    /// `Text` or `HTML`.
    pub content_type: String,
    /// The text.
    pub content: String,
}

/// A recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    /// The address.
    pub email_address: EmailAddress,
}

/// An email address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmailAddress {
    /// The address.
    pub address: String,
}

// ---------------------------------------------------------------------------------------------
// Exchange Online (InvokeCommand)

/// The body of `POST /adminapi/beta/{tenant}/InvokeCommand`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvokeCommand {
    /// The cmdlet and its parameters.
    pub cmdlet_input: CmdletInput,
}

/// A cmdlet call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CmdletInput {
    /// `Add-MailboxPermission`, ...
    pub cmdlet_name: String,
    /// Named parameters.
    pub parameters: serde_json::Map<String, Value>,
}

/// A mailbox from `Get-Mailbox`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ExoMailbox {
    /// Identity.
    #[serde(default)]
    pub identity: Option<String>,
    /// UPN.
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// Primary SMTP address.
    #[serde(default)]
    pub primary_smtp_address: Option<String>,
    /// `UserMailbox`, `SharedMailbox`, ...
    #[serde(default)]
    pub recipient_type_details: Option<String>,
    /// Forwarding target (`smtp:x@y`).
    #[serde(default)]
    pub forwarding_smtp_address: Option<String>,
    /// Keep a copy when forwarding.
    #[serde(default)]
    pub deliver_to_mailbox_and_forward: bool,
    /// Hidden from the address lists.
    #[serde(default)]
    pub hidden_from_address_lists_enabled: bool,
    /// SendOnBehalf delegates.
    #[serde(default, deserialize_with = "null_as_default")]
    pub grant_send_on_behalf_to: Vec<String>,
}

/// A FullAccess entry from `Get-MailboxPermission`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExoMailboxPermission {
    /// The trustee.
    pub user: String,
    /// Rights.
    #[serde(default, deserialize_with = "null_as_default")]
    pub access_rights: Vec<String>,
    /// Inherited entries are not ours to change.
    #[serde(default)]
    pub is_inherited: bool,
    /// A deny entry.
    #[serde(default)]
    pub deny: bool,
}

/// A SendAs entry from `Get-RecipientPermission`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExoRecipientPermission {
    /// The trustee.
    pub trustee: String,
    /// Rights.
    #[serde(default, deserialize_with = "null_as_default")]
    pub access_rights: Vec<String>,
    /// `Allow` or `Deny`.
    #[serde(default)]
    pub access_control_type: Option<String>,
    /// Inherited.
    #[serde(default)]
    pub is_inherited: bool,
}

/// `Get-MailboxAutoReplyConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ExoAutoReply {
    /// `Disabled`, `Enabled` or `Scheduled`.
    pub auto_reply_state: String,
    /// Reply to internal senders.
    #[serde(default)]
    pub internal_message: Option<String>,
    /// Reply to external senders.
    #[serde(default)]
    pub external_message: Option<String>,
    /// `None`, `Known` or `All`.
    #[serde(default)]
    pub external_audience: Option<String>,
    /// Start of a scheduled reply.
    #[serde(default)]
    pub start_time: Option<String>,
    /// End of a scheduled reply.
    #[serde(default)]
    pub end_time: Option<String>,
}

/// Trustees that are Exchange's own, not grants anybody made.
pub fn is_builtin_trustee(name: &str) -> bool {
    name.starts_with("NT AUTHORITY\\") || name.starts_with("S-1-5-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_segments_follow_the_odata_type() {
        let method: AuthMethod = serde_json::from_value(serde_json::json!({
            "@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "id": "k1", "displayName": "YubiKey"
        }))
        .unwrap();
        assert_eq!(method.segment(), Some("fido2Methods"));
        assert_eq!(method.description().as_deref(), Some("YubiKey"));
        assert!(!method.is_password());
    }

    #[test]
    fn invoke_command_serialises_in_exchange_casing() {
        let mut parameters = serde_json::Map::new();
        parameters.insert("Identity".into(), "a@b.c".into());
        let body = InvokeCommand {
            cmdlet_input: CmdletInput {
                cmdlet_name: "Get-Mailbox".into(),
                parameters,
            },
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"Identity": "a@b.c"}}})
        );
    }
}
