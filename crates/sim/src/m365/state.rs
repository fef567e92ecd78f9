//! The simulated tenant's state and its JSON views in Graph's shapes.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::oauth::Tokens;

/// The well-known id of every user's password authentication method.
pub const PASSWORD_METHOD_ID: &str = "28c10230-6103-485e-b985-444c60001490";

/// Phone method ids are fixed per phone type: (`phoneType`, method id).
const PHONE_METHOD_IDS: [(&str, &str); 3] = [
    ("mobile", "3179e48a-750b-4051-897c-87b9720928f7"),
    ("alternateMobile", "b6332ec1-7057-4abe-9331-3d72feddfe41"),
    ("office", "e37fc753-ff3b-4958-9484-eaa9425c82bc"),
];

/// The fixed method id of a phone type.
pub(crate) fn phone_method_id(phone_type: &str) -> Option<&'static str> {
    PHONE_METHOD_IDS
        .iter()
        .find(|(kind, _)| *kind == phone_type)
        .map(|(_, id)| *id)
}

/// The phone type a phone method id stands for.
pub(crate) fn phone_type_of(method_id: &str) -> Option<&'static str> {
    PHONE_METHOD_IDS
        .iter()
        .find(|(_, id)| id.eq_ignore_ascii_case(method_id))
        .map(|(kind, _)| *kind)
}

/// Which resource a bearer token was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// `https://graph.microsoft.com/.default`
    Graph,
    /// `https://outlook.office365.com/.default`
    Exchange,
}

/// What an access token grants: one audience, app-only or delegated.
#[derive(Debug, Clone)]
pub(crate) struct TokenGrant {
    pub(crate) audience: Audience,
    /// A delegated (admin user) token rather than an app-only one.
    pub(crate) delegated: bool,
}

/// A user object.
#[derive(Debug, Clone, PartialEq)]
pub struct SimUser {
    /// Object id.
    pub id: String,
    /// UPN.
    pub user_principal_name: String,
    /// Display name.
    pub display_name: String,
    /// Given name.
    pub given_name: Option<String>,
    /// Surname.
    pub surname: Option<String>,
    /// Primary SMTP address.
    pub mail: Option<String>,
    /// Mail nickname (alias).
    pub mail_nickname: String,
    /// Whether sign-in is allowed.
    pub account_enabled: bool,
    /// ISO country for licensing.
    pub usage_location: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Synced from on-premises AD (password, accountEnabled mastered there).
    pub on_premises_sync_enabled: bool,
    /// The current password (the simulator's own knowledge; Graph never returns it).
    pub password: String,
    /// Whether the password must be changed at next sign-in.
    pub force_change_password_next_sign_in: bool,
    /// Licences assigned directly (sku ids).
    pub direct_licenses: Vec<String>,
    /// Sessions issued before this instant are revoked.
    pub sign_in_sessions_valid_from: DateTime<Utc>,
    /// When the password last changed.
    pub last_password_change: DateTime<Utc>,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// `Member` or `Guest`.
    pub user_type: String,
    /// Job phone numbers.
    pub business_phones: Vec<String>,
    /// Registered authentication methods, the password method included.
    pub methods: Vec<SimAuthMethod>,
    /// The method Entra prompts for by default; it can only be deleted last.
    pub default_method: Option<String>,
    /// The manager's object id (the `manager` relation).
    pub manager: Option<String>,
}

/// Kinds of authentication method, each with its Graph segment and `@odata.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    /// Password.
    Password,
    /// Phone (SMS / voice).
    Phone,
    /// Microsoft Authenticator app.
    MicrosoftAuthenticator,
    /// FIDO2 security key / passkey.
    Fido2,
    /// Email (SSPR only).
    Email,
    /// Software OATH token.
    SoftwareOath,
    /// Temporary Access Pass.
    TemporaryAccessPass,
    /// Windows Hello for Business.
    WindowsHelloForBusiness,
    /// Platform credential (macOS).
    PlatformCredential,
}

impl MethodKind {
    /// Every kind.
    pub const ALL: [MethodKind; 9] = [
        MethodKind::Password,
        MethodKind::Phone,
        MethodKind::MicrosoftAuthenticator,
        MethodKind::Fido2,
        MethodKind::Email,
        MethodKind::SoftwareOath,
        MethodKind::TemporaryAccessPass,
        MethodKind::WindowsHelloForBusiness,
        MethodKind::PlatformCredential,
    ];

    /// The URL segment under `/authentication/`.
    pub fn segment(self) -> &'static str {
        match self {
            MethodKind::Password => "passwordMethods",
            MethodKind::Phone => "phoneMethods",
            MethodKind::MicrosoftAuthenticator => "microsoftAuthenticatorMethods",
            MethodKind::Fido2 => "fido2Methods",
            MethodKind::Email => "emailMethods",
            MethodKind::SoftwareOath => "softwareOathMethods",
            MethodKind::TemporaryAccessPass => "temporaryAccessPassMethods",
            MethodKind::WindowsHelloForBusiness => "windowsHelloForBusinessMethods",
            MethodKind::PlatformCredential => "platformCredentialMethods",
        }
    }

    /// The `@odata.type` of the entity.
    pub fn odata_type(self) -> &'static str {
        match self {
            MethodKind::Password => "#microsoft.graph.passwordAuthenticationMethod",
            MethodKind::Phone => "#microsoft.graph.phoneAuthenticationMethod",
            MethodKind::MicrosoftAuthenticator => {
                "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod"
            }
            MethodKind::Fido2 => "#microsoft.graph.fido2AuthenticationMethod",
            MethodKind::Email => "#microsoft.graph.emailAuthenticationMethod",
            MethodKind::SoftwareOath => "#microsoft.graph.softwareOathAuthenticationMethod",
            MethodKind::TemporaryAccessPass => {
                "#microsoft.graph.temporaryAccessPassAuthenticationMethod"
            }
            MethodKind::WindowsHelloForBusiness => {
                "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod"
            }
            MethodKind::PlatformCredential => {
                "#microsoft.graph.platformCredentialAuthenticationMethod"
            }
        }
    }

    /// The kind served under a URL segment.
    pub fn from_segment(segment: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.segment() == segment)
    }
}

/// A registered authentication method.
#[derive(Debug, Clone, PartialEq)]
pub struct SimAuthMethod {
    /// Method id.
    pub id: String,
    /// Kind.
    pub kind: MethodKind,
    /// Kind-specific properties, in Graph's names (`phoneNumber`, `displayName`...).
    pub properties: Value,
    /// Registration time.
    pub created: DateTime<Utc>,
}

impl SimAuthMethod {
    /// The password method every user has.
    pub(crate) fn password(created: DateTime<Utc>) -> Self {
        Self {
            id: PASSWORD_METHOD_ID.to_string(),
            kind: MethodKind::Password,
            properties: json!({"password": null}),
            created,
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut body = json!({
            "@odata.type": self.kind.odata_type(),
            "id": self.id,
            "createdDateTime": self.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        if let (Some(target), Some(extra)) = (body.as_object_mut(), self.properties.as_object()) {
            for (key, value) in extra {
                target.insert(key.clone(), value.clone());
            }
        }
        body
    }
}

/// A group.
#[derive(Debug, Clone, PartialEq)]
pub struct SimGroup {
    /// Object id.
    pub id: String,
    /// Name.
    pub display_name: String,
    /// Description.
    pub description: Option<String>,
    /// SMTP address for mail-enabled groups.
    pub mail: Option<String>,
    /// Alias.
    pub mail_nickname: String,
    /// Mail-enabled (M365 groups, distribution lists, mail-enabled security).
    pub mail_enabled: bool,
    /// Security-enabled.
    pub security_enabled: bool,
    /// `Unified`, `DynamicMembership`.
    pub group_types: Vec<String>,
    /// Rule of a dynamic group.
    pub membership_rule: Option<String>,
    /// Synced from on-premises AD.
    pub on_premises_sync_enabled: bool,
    /// Member user ids.
    pub members: Vec<String>,
    /// Licences the group assigns to its members (group-based licensing).
    pub assigned_licenses: Vec<String>,
    /// Role-assignable (`isAssignableToRole`): Entra roles can be assigned to it. Set at
    /// creation only; such groups cannot be dynamic or nested.
    pub is_assignable_to_role: bool,
}

impl SimGroup {
    /// Dynamic membership: members follow the rule, writes are refused.
    pub fn is_dynamic(&self) -> bool {
        self.group_types.iter().any(|t| t == "DynamicMembership")
    }

    /// Microsoft 365 (unified) group.
    pub fn is_unified(&self) -> bool {
        self.group_types.iter().any(|t| t == "Unified")
    }

    /// A distribution list or mail-enabled security group: managed only through Exchange.
    pub fn is_exchange_managed(&self) -> bool {
        self.mail_enabled && !self.is_unified()
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "@odata.type": "#microsoft.graph.group",
            "id": self.id,
            "displayName": self.display_name,
            "description": self.description,
            "mail": self.mail,
            "mailNickname": self.mail_nickname,
            "mailEnabled": self.mail_enabled,
            "securityEnabled": self.security_enabled,
            "groupTypes": self.group_types,
            "membershipRule": self.membership_rule,
            "membershipRuleProcessingState": self.membership_rule.as_ref().map(|_| "On"),
            "onPremisesSyncEnabled": if self.on_premises_sync_enabled { Some(true) } else { None },
            "isAssignableToRole": if self.is_assignable_to_role { Some(true) } else { None },
            "assignedLicenses": self.assigned_licenses.iter()
                .map(|sku| json!({"disabledPlans": [], "skuId": sku}))
                .collect::<Vec<_>>(),
            "proxyAddresses": self.mail.iter().map(|m| format!("SMTP:{m}")).collect::<Vec<_>>(),
            "visibility": if self.is_unified() { Some("Private") } else { None },
            "createdDateTime": "2023-02-01T09:00:00Z",
            "deletedDateTime": null,
        })
    }
}

/// An Entra directory role (activated).
#[derive(Debug, Clone, PartialEq)]
pub struct SimRole {
    /// Object id.
    pub id: String,
    /// Name.
    pub display_name: String,
    /// Template id (the same in every tenant).
    pub role_template_id: String,
    /// Member ids: users, and role-assignable groups whose members hold the role through them.
    pub members: Vec<String>,
}

/// An eligible (PIM) role assignment: the principal may activate the role when it needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimEligibility {
    /// Instance id.
    pub id: String,
    /// The eligible user (or group).
    pub principal_id: String,
    /// The role's template id (a built-in role definition's id).
    pub role_template_id: String,
    /// The role's name.
    pub role_display_name: String,
    /// Start of the eligibility.
    pub start: DateTime<Utc>,
    /// End, or none for a permanent eligibility.
    pub end: Option<DateTime<Utc>>,
}

impl SimEligibility {
    /// `unifiedRoleEligibilityScheduleInstance`, with its role definition when expanded.
    pub(crate) fn to_json(&self, expand_role: bool) -> Value {
        let mut body = json!({
            "id": self.id,
            "principalId": self.principal_id,
            "roleDefinitionId": self.role_template_id,
            "directoryScopeId": "/",
            "appScopeId": null,
            "startDateTime": timestamp(self.start),
            "endDateTime": self.end.map(timestamp),
            "memberType": "Direct",
            "roleEligibilityScheduleId": format!("{}-schedule", self.id),
        });
        if expand_role && let Some(map) = body.as_object_mut() {
            map.insert(
                "roleDefinition".into(),
                json!({
                    "id": self.role_template_id,
                    "displayName": self.role_display_name,
                    "description": format!("Members of this role hold {}.", self.role_display_name),
                    "isBuiltIn": true,
                    "isEnabled": true,
                    "templateId": self.role_template_id,
                    "version": "1",
                    "rolePermissions": [],
                }),
            );
        }
        body
    }
}

impl SimRole {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "@odata.type": "#microsoft.graph.directoryRole",
            "id": self.id,
            "displayName": self.display_name,
            "description": format!("Members of this role hold {}.", self.display_name),
            "roleTemplateId": self.role_template_id,
            "deletedDateTime": null,
        })
    }
}

/// A subscribed licence SKU.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSku {
    /// skuId.
    pub sku_id: String,
    /// Part number (`SPE_E3`).
    pub sku_part_number: String,
    /// Seats bought.
    pub enabled: u32,
    /// Service plans: (id, name).
    pub service_plans: Vec<(String, String)>,
}

/// A FullAccess grant on a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullAccessGrant {
    /// The trustee (UPN).
    pub user: String,
    /// Whether Outlook maps the mailbox automatically.
    pub automapping: bool,
}

/// A mailbox's automatic-reply configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoReply {
    /// `Disabled`, `Enabled` or `Scheduled`.
    pub state: String,
    /// Reply to internal senders.
    pub internal_message: String,
    /// Reply to external senders.
    pub external_message: String,
    /// `None`, `Known` or `All`.
    pub external_audience: String,
    /// Start of a scheduled reply.
    pub start_time: Option<String>,
    /// End of a scheduled reply.
    pub end_time: Option<String>,
}

impl Default for AutoReply {
    fn default() -> Self {
        Self {
            state: "Disabled".into(),
            internal_message: String::new(),
            external_message: String::new(),
            external_audience: "All".into(),
            start_time: None,
            end_time: None,
        }
    }
}

/// An Exchange Online mailbox.
#[derive(Debug, Clone, PartialEq)]
pub struct SimMailbox {
    /// The owning user's object id (`ExternalDirectoryObjectId`).
    pub user_id: String,
    /// Alias.
    pub alias: String,
    /// Display name.
    pub display_name: String,
    /// UPN.
    pub user_principal_name: String,
    /// Primary SMTP address.
    pub primary_smtp_address: String,
    /// `UserMailbox` or `SharedMailbox`.
    pub recipient_type_details: String,
    /// Forwarding target (`smtp:` address), if any.
    pub forwarding_smtp_address: Option<String>,
    /// Keep a copy when forwarding.
    pub deliver_to_mailbox_and_forward: bool,
    /// Hidden from the global address list.
    pub hidden_from_address_lists: bool,
    /// Users who may send on behalf (UPNs).
    pub grant_send_on_behalf_to: Vec<String>,
    /// FullAccess grants.
    pub full_access: Vec<FullAccessGrant>,
    /// SendAs trustees (UPNs).
    pub send_as: Vec<String>,
    /// Automatic replies.
    pub auto_reply: AutoReply,
    /// Synced from on-premises.
    pub dir_synced: bool,
}

impl SimMailbox {
    /// A plain user mailbox with default settings, as Exchange creates one for a user.
    pub(crate) fn for_user(user: &SimUser) -> Self {
        Self {
            user_id: user.id.clone(),
            alias: user.mail_nickname.clone(),
            display_name: user.display_name.clone(),
            user_principal_name: user.user_principal_name.clone(),
            primary_smtp_address: user
                .mail
                .clone()
                .unwrap_or_else(|| user.user_principal_name.clone()),
            recipient_type_details: "UserMailbox".into(),
            forwarding_smtp_address: None,
            deliver_to_mailbox_and_forward: false,
            hidden_from_address_lists: false,
            grant_send_on_behalf_to: Vec::new(),
            full_access: Vec::new(),
            send_as: Vec::new(),
            auto_reply: AutoReply::default(),
            dir_synced: user.on_premises_sync_enabled,
        }
    }
}

/// A message sent through `sendMail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    /// The sending user (as addressed in the URL).
    pub from: String,
    /// Recipient addresses.
    pub to: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Body content.
    pub body: String,
    /// `Text` or `HTML`.
    pub content_type: String,
}

/// The registered app the connector authenticates as.
#[derive(Debug, Clone)]
pub(crate) struct AppRegistration {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) certificate_thumbprint: String,
    /// Whether the app's service principal holds Privileged Authentication Administrator
    /// (needed to reset admins' passwords or block them).
    pub(crate) privileged: bool,
    /// Whether the app was granted `RoleEligibilitySchedule.Read.Directory` (PIM reads).
    pub(crate) reads_role_eligibility: bool,
}

/// Everything the simulator knows.
#[derive(Debug, Clone)]
pub(crate) struct TenantState {
    pub(crate) tenant_id: String,
    /// The organisation's name (`accountName` of its subscriptions).
    pub(crate) company: String,
    pub(crate) verified_domains: Vec<String>,
    /// The on-premises AD domain synced users come from.
    pub(crate) on_premises_domain: String,
    pub(crate) app: AppRegistration,
    pub(crate) tokens: Tokens<TokenGrant>,
    pub(crate) users: Vec<SimUser>,
    pub(crate) groups: Vec<SimGroup>,
    pub(crate) roles: Vec<SimRole>,
    pub(crate) eligibilities: Vec<SimEligibility>,
    /// Whether the tenant has Entra ID P2 / Governance (PIM); without it eligibility reads
    /// answer `AadPremiumLicenseRequired`.
    pub(crate) pim_licensed: bool,
    pub(crate) skus: Vec<SimSku>,
    pub(crate) mailboxes: Vec<SimMailbox>,
    pub(crate) sent_mail: Vec<SentMail>,
    pub(crate) health_overviews: Vec<Value>,
    pub(crate) issues: Vec<Value>,
}

fn timestamp(value: DateTime<Utc>) -> String {
    value.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl TenantState {
    pub(crate) fn find_user(&self, id_or_upn: &str) -> Option<&SimUser> {
        self.users.iter().find(|u| {
            u.id.eq_ignore_ascii_case(id_or_upn)
                || u.user_principal_name.eq_ignore_ascii_case(id_or_upn)
        })
    }

    pub(crate) fn find_user_mut(&mut self, id_or_upn: &str) -> Option<&mut SimUser> {
        self.users.iter_mut().find(|u| {
            u.id.eq_ignore_ascii_case(id_or_upn)
                || u.user_principal_name.eq_ignore_ascii_case(id_or_upn)
        })
    }

    pub(crate) fn find_group(&self, id: &str) -> Option<&SimGroup> {
        self.groups.iter().find(|g| g.id.eq_ignore_ascii_case(id))
    }

    pub(crate) fn find_group_mut(&mut self, id: &str) -> Option<&mut SimGroup> {
        self.groups
            .iter_mut()
            .find(|g| g.id.eq_ignore_ascii_case(id))
    }

    /// Groups the user is a direct member of (groups do not nest here, as role-assignable
    /// groups cannot in Entra).
    pub(crate) fn groups_of(&self, user_id: &str) -> impl Iterator<Item = &SimGroup> {
        let user_id = user_id.to_string();
        self.groups
            .iter()
            .filter(move |g| g.members.contains(&user_id))
    }

    /// Directory roles the user holds directly (`transitive`: or through a group).
    pub(crate) fn roles_of(&self, user_id: &str, transitive: bool) -> Vec<&SimRole> {
        let mut principals = vec![user_id.to_string()];
        if transitive {
            principals.extend(self.groups_of(user_id).map(|g| g.id.clone()));
        }
        self.roles
            .iter()
            .filter(|role| role.members.iter().any(|m| principals.contains(m)))
            .collect()
    }

    /// Whether the user holds any directory role, directly or through a group (admins need a
    /// privileged app to be changed).
    pub(crate) fn is_admin(&self, user_id: &str) -> bool {
        !self.roles_of(user_id, true).is_empty()
    }

    /// Licences inherited through group membership: (sku, group id).
    pub(crate) fn inherited_licenses(&self, user_id: &str) -> Vec<(String, String)> {
        self.groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == user_id))
            .flat_map(|g| {
                g.assigned_licenses
                    .iter()
                    .map(|sku| (sku.clone(), g.id.clone()))
            })
            .collect()
    }

    /// Every licence the user holds, direct or inherited, each once.
    pub(crate) fn effective_licenses(&self, user: &SimUser) -> Vec<String> {
        let mut skus = user.direct_licenses.clone();
        for (sku, _) in self.inherited_licenses(&user.id) {
            if !skus.contains(&sku) {
                skus.push(sku);
            }
        }
        skus
    }

    /// Seats in use for a SKU.
    pub(crate) fn consumed(&self, sku_id: &str) -> u32 {
        self.users
            .iter()
            .filter(|user| self.effective_licenses(user).iter().any(|s| s == sku_id))
            .count() as u32
    }

    pub(crate) fn user_json(&self, user: &SimUser) -> Value {
        let effective = self.effective_licenses(user);
        let mut states: Vec<Value> = user
            .direct_licenses
            .iter()
            .map(|sku| license_state(sku, None))
            .collect();
        for (sku, group) in self.inherited_licenses(&user.id) {
            states.push(license_state(&sku, Some(&group)));
        }
        json!({
            "@odata.type": "#microsoft.graph.user",
            "id": user.id,
            "userPrincipalName": user.user_principal_name,
            "displayName": user.display_name,
            "givenName": user.given_name,
            "surname": user.surname,
            "mail": user.mail,
            "mailNickname": user.mail_nickname,
            "accountEnabled": user.account_enabled,
            "usageLocation": user.usage_location,
            "department": user.department,
            "jobTitle": user.job_title,
            "businessPhones": user.business_phones,
            "mobilePhone": null,
            "officeLocation": null,
            "preferredLanguage": "en-US",
            "userType": user.user_type,
            "onPremisesSyncEnabled": if user.on_premises_sync_enabled { Some(true) } else { None },
            "onPremisesImmutableId": if user.on_premises_sync_enabled {
                Some(format!("{}==", &user.id[..8]))
            } else { None },
            "onPremisesDomainName": if user.on_premises_sync_enabled { Some(&self.on_premises_domain) } else { None },
            "assignedLicenses": effective.iter()
                .map(|sku| json!({"disabledPlans": [], "skuId": sku}))
                .collect::<Vec<_>>(),
            "licenseAssignmentStates": states,
            "proxyAddresses": user.mail.iter().map(|m| format!("SMTP:{m}")).collect::<Vec<_>>(),
            "signInSessionsValidFromDateTime": timestamp(user.sign_in_sessions_valid_from),
            "lastPasswordChangeDateTime": timestamp(user.last_password_change),
            "createdDateTime": timestamp(user.created),
            "passwordPolicies": null,
            "passwordProfile": null,
            "creationType": null,
            "externalUserState": null,
            "deletedDateTime": null,
        })
    }

    pub(crate) fn sku_json(&self, sku: &SimSku) -> Value {
        json!({
            "id": format!("{}_{}", self.tenant_id, sku.sku_id),
            "accountId": self.tenant_id,
            "accountName": self.company,
            "appliesTo": "User",
            "capabilityStatus": "Enabled",
            "consumedUnits": self.consumed(&sku.sku_id),
            "prepaidUnits": {"enabled": sku.enabled, "lockedOut": 0, "suspended": 0, "warning": 0},
            "servicePlans": sku.service_plans.iter().map(|(id, name)| json!({
                "servicePlanId": id, "servicePlanName": name,
                "provisioningStatus": "Success", "appliesTo": "User"
            })).collect::<Vec<_>>(),
            "skuId": sku.sku_id,
            "skuPartNumber": sku.sku_part_number,
            "subscriptionIds": [format!("{}-sub", &sku.sku_id[..8])],
        })
    }

    /// Give a user a mailbox when a licence (every seeded SKU carries Exchange) first lands.
    pub(crate) fn provision_mailboxes(&mut self) {
        let missing: Vec<SimMailbox> = self
            .users
            .iter()
            .filter(|user| !self.effective_licenses(user).is_empty())
            .filter(|user| !self.mailboxes.iter().any(|m| m.user_id == user.id))
            .map(SimMailbox::for_user)
            .collect();
        for mailbox in missing {
            if let Some(user) = self.find_user_mut(&mailbox.user_id) {
                user.mail
                    .get_or_insert_with(|| mailbox.primary_smtp_address.clone());
            }
            self.mailboxes.push(mailbox);
        }
    }
}

fn license_state(sku: &str, group: Option<&str>) -> Value {
    json!({
        "assignedByGroup": group,
        "disabledPlans": [],
        "error": "None",
        "lastUpdatedDateTime": "2025-06-01T08:00:00Z",
        "skuId": sku,
        "state": "Active",
    })
}
