//! `IdentityProvider` and `IdentityWrites` for Entra ID (Graph), with mailboxes and
//! distribution lists through Exchange Online.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};
use stackhand_core::password::generate_password_for;
use stackhand_core::{
    CreatedUser, Error, ErrorKind, ExecutionProof, Group, GroupKind, IdentityFeatures,
    IdentityProvider, IdentityWrites, LicenseAssignment, LicenseSku, MailboxPermission,
    MailboxRight, MfaMethod, MfaReset, NewUser, PasswordReset, ResetDelivery, ResetPasswordOptions,
    Result, User, UserQuery,
};
use stackhand_http::encode_segment;

use crate::VENDOR;
use crate::client::odata_literal;
use crate::connector::M365Connector;
use crate::error::{EXO_MEMBER_EXISTS, EXO_MEMBER_NOT_FOUND, EXO_TASK_FAILED, NO_PIM_LICENCE};
use crate::models::{
    AssignLicense, AssignedLicense, AuthMethod, CreatedTemporaryAccessPass, DirectoryObject,
    ExoMailboxPermission, ExoRecipientPermission, GROUP_SELECT, GraphGroup, GraphUser, GroupFields,
    NewTemporaryAccessPass, ROLE_SELECT, RoleEligibility, SubscribedSku, USER_SELECT, UserLicenses,
    is_builtin_trustee,
};

/// Lifetime of the Temporary Access Pass issued on an MFA reset.
const TAP_LIFETIME_MINUTES: u32 = 60;

/// How long `get_user`'s read of a user's memberships may answer the `user_groups` call after
/// it. Core reads a user and then their groups back to back; anything later reads afresh.
const MEMBERSHIP_REUSE: Duration = Duration::from_secs(5);

fn to_user(user: GraphUser, roles: Vec<String>) -> User {
    let enabled = user.account_enabled.unwrap_or(true);
    User {
        login: user.user_principal_name,
        display_name: user.display_name.unwrap_or_default(),
        email: user.mail,
        enabled,
        // Graph exposes no lockout state: smart lockout expires by itself.
        locked: false,
        status: Some(if enabled { "enabled" } else { "disabled" }.to_string()),
        department: user.department.map(stackhand_core::Department::new),
        job_title: user.job_title,
        externally_mastered: user.on_premises_sync_enabled == Some(true),
        roles,
        usage_location: user.usage_location,
        id: user.id,
    }
}

/// The vendor-neutral kind of a group, and whether membership can be changed from here.
fn group_kind(fields: &GroupFields) -> (GroupKind, bool) {
    let dynamic = fields.group_types.iter().any(|t| t == "DynamicMembership");
    let synced = fields.on_premises_sync_enabled == Some(true);
    let unified = fields.group_types.iter().any(|t| t == "Unified");
    let mail = fields.mail_enabled == Some(true);
    let security = fields.security_enabled == Some(true);
    match () {
        _ if dynamic || synced => (GroupKind::External, false),
        _ if unified => (GroupKind::Unified, true),
        _ if mail && security => (GroupKind::MailEnabledSecurity, true),
        _ if mail => (GroupKind::Distribution, true),
        _ => (GroupKind::Security, true),
    }
}

/// Only role-assignable groups can hold Entra roles, so `isAssignableToRole` is what makes
/// membership confer privilege (whether or not a role is assigned to the group yet: one can be
/// at any time, and the flag cannot be turned off).
fn to_group(id: String, name: Option<String>, fields: &GroupFields) -> Group {
    let (kind, writable) = group_kind(fields);
    Group {
        id,
        name: name.unwrap_or_default(),
        kind,
        writable,
        privileged: fields.is_assignable_to_role == Some(true),
    }
}

const DIRECTORY_ROLE: &str = "#microsoft.graph.directoryRole";

fn is_guid(text: &str) -> bool {
    text.len() == 36
        && text.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

const GROUP: &str = "#microsoft.graph.group";

/// A user's direct memberships as `get_user` read them, kept for the `user_groups` call that
/// follows (so one `memberOf` read serves both the roles and the groups). An entry answers
/// once, within [`MEMBERSHIP_REUSE`], and only if the connector has started no write since it
/// was read.
#[derive(Debug, Default)]
pub(crate) struct MembershipMemo {
    entries: Mutex<HashMap<String, Remembered>>,
}

#[derive(Debug)]
struct Remembered {
    read_at: Instant,
    writes: u64,
    objects: Vec<DirectoryObject>,
}

impl MembershipMemo {
    /// Keep `objects`, read for `user_id` when the client had started `writes` writes.
    fn keep(&self, user_id: &str, writes: u64, objects: Vec<DirectoryObject>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        // Reads nobody asked for again (an execute's re-read) go once they are stale.
        entries.retain(|_, r| r.read_at.elapsed() < MEMBERSHIP_REUSE);
        entries.insert(
            user_id.to_ascii_lowercase(),
            Remembered {
                read_at: Instant::now(),
                writes,
                objects,
            },
        );
    }

    /// What was kept for `user_id`, if still current with the client at `writes` writes.
    fn take(&self, user_id: &str, writes: u64) -> Option<Vec<DirectoryObject>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .remove(&user_id.to_ascii_lowercase())
            .filter(|r| r.writes == writes && r.read_at.elapsed() < MEMBERSHIP_REUSE)
            .map(|r| r.objects)
    }
}

impl M365Connector {
    async fn graph_user(&self, id_or_login: &str) -> Result<GraphUser> {
        self.client()
            .get_json(
                &format!("users/{}", encode_segment(id_or_login)),
                &[("$select", USER_SELECT)],
                "get_user",
            )
            .await
    }

    /// The user's `memberOf` (direct) or `transitiveMemberOf` collection, with `select`.
    async fn memberships(
        &self,
        user_id: &str,
        relation: &str,
        select: &str,
        operation: &'static str,
    ) -> Result<Vec<DirectoryObject>> {
        let request = self
            .client()
            .get(&format!("users/{}/{relation}", encode_segment(user_id)))
            .query(&[("$select", select)])
            .operation(operation);
        self.client().list(request).await
    }

    /// The groups and directory roles the user is a direct member of, with the group fields
    /// that decide kind and privilege.
    async fn direct_memberships(&self, user_id: &str) -> Result<Vec<DirectoryObject>> {
        self.memberships(user_id, "memberOf", GROUP_SELECT, "member_of")
            .await
    }

    /// Directory roles the user holds, directly or through a role-assignable group (active
    /// assignments). Only role-assignable groups can hold roles, and they cannot be nested, so
    /// a user outside every one of them holds exactly the roles among its direct memberships;
    /// a member of one is read through `transitiveMemberOf`, which names the group's roles.
    async fn active_roles(&self, user_id: &str, direct: &[DirectoryObject]) -> Result<Vec<String>> {
        let through_group = direct.iter().any(|o| {
            o.odata_type.as_deref() == Some(GROUP) && o.group.is_assignable_to_role == Some(true)
        });
        let objects = if through_group {
            self.memberships(
                user_id,
                "transitiveMemberOf",
                ROLE_SELECT,
                "transitive_member_of",
            )
            .await?
        } else {
            direct.to_vec()
        };
        Ok(objects
            .into_iter()
            .filter(|o| o.odata_type.as_deref() == Some(DIRECTORY_ROLE))
            .filter_map(|o| o.display_name)
            .collect())
    }

    /// Roles the user is eligible for through PIM. Fails closed: an app that may not read
    /// eligibility cannot say the user holds none. A tenant without the licence PIM needs
    /// (Graph's `AadPremiumLicenseRequired`) has no eligible assignments to activate.
    async fn eligible_roles(&self, user_id: &str, login: &str) -> Result<Vec<String>> {
        let request = self
            .client()
            .get("roleManagement/directory/roleEligibilityScheduleInstances")
            .query(&[
                (
                    "$filter",
                    format!("principalId eq {}", odata_literal(user_id)),
                ),
                ("$expand", "roleDefinition".to_string()),
            ])
            .operation("list_role_eligibility");
        match self.client().list::<RoleEligibility>(request).await {
            Ok(instances) => Ok(instances
                .iter()
                .filter(|i| i.principal_id.eq_ignore_ascii_case(user_id))
                .map(RoleEligibility::role_name)
                .collect()),
            Err(e) if e.context_value("vendor_code") == Some(NO_PIM_LICENCE) => Ok(Vec::new()),
            Err(e) if matches!(e.kind(), ErrorKind::Forbidden | ErrorKind::Unauthorized) => {
                Err(Error::new(
                    e.kind(),
                    format!(
                        "{VENDOR}: cannot read the eligible (PIM) roles of {login}, so whether \
                         they are privileged is unknown and nothing is done: grant the app \
                         RoleEligibilitySchedule.Read.Directory"
                    ),
                )
                .with_context("vendor", VENDOR)
                .with_context("operation", "list_role_eligibility")
                .with_source(e))
            }
            Err(e) => Err(e),
        }
    }

    /// Every role the user holds or may activate: active ones (direct or through a group)
    /// and eligible ones, each once.
    async fn roles(&self, user: &GraphUser, direct: &[DirectoryObject]) -> Result<Vec<String>> {
        let mut roles = self.active_roles(&user.id, direct).await?;
        for role in self
            .eligible_roles(&user.id, &user.user_principal_name)
            .await?
        {
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
        Ok(roles)
    }

    async fn auth_methods(&self, user: &User) -> Result<Vec<AuthMethod>> {
        let request = self
            .client()
            .get(&format!(
                "users/{}/authentication/methods",
                encode_segment(&user.id)
            ))
            .operation("list_auth_methods");
        self.client().list(request).await
    }

    /// Delete one method through its type's collection (`segment_name`, from
    /// [`AuthMethod::segment`]).
    async fn delete_method(
        &self,
        user: &User,
        method: &AuthMethod,
        segment_name: &str,
    ) -> Result<()> {
        self.client()
            .delete(&format!(
                "users/{}/authentication/{segment_name}/{}",
                encode_segment(&user.id),
                encode_segment(&method.id)
            ))
            .operation("delete_auth_method")
            .send_empty()
            .await
    }

    async fn subscribed_skus(&self) -> Result<Vec<SubscribedSku>> {
        let request = self.client().get("subscribedSkus").operation("list_skus");
        self.client().list(request).await
    }

    async fn user_license_state(&self, user: &User) -> Result<UserLicenses> {
        self.client()
            .get_json(
                &format!("users/{}", encode_segment(&user.id)),
                &[(
                    "$select",
                    "id,assignedLicenses,licenseAssignmentStates,usageLocation",
                )],
                "get_user_licenses",
            )
            .await
    }

    async fn assign_licenses(&self, user: &User, body: &AssignLicense) -> Result<()> {
        self.client()
            .post(&format!("users/{}/assignLicense", encode_segment(&user.id)))
            .json(body)
            .operation("assign_license")
            .send_empty()
            .await
    }

    async fn patch_user(&self, user: &User, body: Value, operation: &'static str) -> Result<()> {
        self.client()
            .patch(&format!("users/{}", encode_segment(&user.id)))
            .json(&body)
            .operation(operation)
            .send_empty()
            .await
    }

    fn refuse_on_premises(user: &User, what: &str) -> Result<()> {
        if user.externally_mastered {
            return Err(Error::invalid(format!(
                "{VENDOR}: {} is synchronised from on-premises Active Directory (onPremisesSyncEnabled), so its {what} is mastered there: make the change in AD (for example through the RMM), not in Entra ID",
                user.login
            )));
        }
        Ok(())
    }

    /// Add `user` to `group` (`add`) or remove them, where the group's kind says: Graph member
    /// references for security and Microsoft 365 groups, Exchange for mail-enabled ones.
    /// Already being in the desired state is success.
    async fn change_membership(&self, user: &User, group: &Group, add: bool) -> Result<()> {
        match group.kind {
            GroupKind::External => Err(Error::invalid(format!(
                "{VENDOR}: group {} is dynamic or synced from on-premises; its membership cannot be changed here",
                group.name
            ))),
            GroupKind::Distribution | GroupKind::MailEnabledSecurity => {
                self.distribution_member(user, group, add).await
            }
            GroupKind::Security | GroupKind::Unified if add => {
                let result = self
                    .client()
                    .post(&format!(
                        "groups/{}/members/$ref",
                        encode_segment(&group.id)
                    ))
                    .json(&json!({ "@odata.id": self.directory_object_ref(&user.id) }))
                    .operation("add_group_member")
                    .send_empty()
                    .await;
                match result {
                    // Graph's "added object references already exist": a member already.
                    Err(e) if e.kind() == ErrorKind::Conflict => Ok(()),
                    other => other,
                }
            }
            GroupKind::Security | GroupKind::Unified => {
                let result = self
                    .client()
                    .delete(&format!(
                        "groups/{}/members/{}/$ref",
                        encode_segment(&group.id),
                        encode_segment(&user.id)
                    ))
                    .operation("remove_group_member")
                    .send_empty()
                    .await;
                match result {
                    // The group was just read, so a 404 means the user is not a member.
                    Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
                    other => other,
                }
            }
        }
    }

    /// Distribution lists and mail-enabled security groups are managed through Exchange.
    async fn distribution_member(&self, user: &User, group: &Group, add: bool) -> Result<()> {
        let (cmdlet, already) = if add {
            ("Add-DistributionGroupMember", EXO_MEMBER_EXISTS)
        } else {
            ("Remove-DistributionGroupMember", EXO_MEMBER_NOT_FOUND)
        };
        let mut parameters = serde_json::Map::new();
        parameters.insert("Identity".into(), json!(group.id));
        parameters.insert("Member".into(), json!(user.login));
        parameters.insert("BypassSecurityGroupManagerCheck".into(), json!(true));
        if !add {
            parameters.insert("Confirm".into(), json!(false));
        }
        match self.client().invoke(cmdlet, parameters, None).await {
            Ok(_) => Ok(()),
            // Already a member (or already not one): the desired state.
            Err(e) if e.context_value("vendor_code") == Some(already) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl IdentityProvider for M365Connector {
    fn features(&self) -> IdentityFeatures {
        IdentityFeatures {
            licenses: true,
            mailboxes: true,
            temporary_access_pass: true,
            reset_links: false,
            native_unlock: false,
            suspend: false,
        }
    }

    async fn find_users(&self, query: &UserQuery) -> Result<Vec<User>> {
        let mut request = self.client().get("users").operation("find_users");
        request = match query {
            UserQuery::Login(login) => request.query(&[
                (
                    "$filter",
                    format!("userPrincipalName eq {}", odata_literal(login)),
                ),
                ("$select", USER_SELECT.to_string()),
            ]),
            UserQuery::Email(email) => request.query(&[
                (
                    "$filter",
                    format!(
                        "mail eq {0} or userPrincipalName eq {0}",
                        odata_literal(email)
                    ),
                ),
                ("$select", USER_SELECT.to_string()),
            ]),
            // $search is tokenised (word-prefix) and needs the advanced-query header.
            UserQuery::Name(name) => request
                .query(&[
                    (
                        "$search",
                        format!("\"displayName:{}\"", name.replace('"', "")),
                    ),
                    ("$select", USER_SELECT.to_string()),
                ])
                .header("ConsistencyLevel", "eventual"),
        };
        let users: Vec<GraphUser> = self.client().list(request).await?;
        Ok(users.into_iter().map(|u| to_user(u, Vec::new())).collect())
    }

    /// Reads the user, its direct memberships (`memberOf`, kept for the `user_groups` call
    /// that follows), the roles held through a role-assignable group when it is in one
    /// (`transitiveMemberOf`), and its PIM eligibility.
    async fn get_user(&self, id_or_login: &str) -> Result<User> {
        let user = self.graph_user(id_or_login).await.map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                Error::not_found(format!("{VENDOR}: no user {id_or_login}"))
                    .with_context("vendor", VENDOR)
                    .with_source(e)
            } else {
                e
            }
        })?;
        // Counted before the read: a write started meanwhile makes what is read stale.
        let writes = self.client().writes();
        let direct = self.direct_memberships(&user.id).await?;
        let roles = self.roles(&user, &direct).await?;
        self.inner.memberships.keep(&user.id, writes, direct);
        Ok(to_user(user, roles))
    }

    async fn list_mfa_methods(&self, user: &User) -> Result<Vec<MfaMethod>> {
        Ok(self
            .auth_methods(user)
            .await?
            .into_iter()
            .filter(|m| !m.is_password())
            .map(|m| MfaMethod {
                description: m.description(),
                id: m.id,
                method_type: m.odata_type,
            })
            .collect())
    }

    /// Answered from `get_user`'s read of the same user when it came just before (and no
    /// write since); read from `memberOf` otherwise.
    async fn user_groups(&self, user: &User) -> Result<Vec<Group>> {
        let writes = self.client().writes();
        let direct = match self.inner.memberships.take(&user.id, writes) {
            Some(direct) => direct,
            None => self.direct_memberships(&user.id).await?,
        };
        Ok(direct
            .into_iter()
            .filter(|o| o.odata_type.as_deref() == Some(GROUP))
            .map(|o| to_group(o.id, o.display_name, &o.group))
            .collect())
    }

    async fn find_group(&self, name_or_id: &str) -> Result<Group> {
        if is_guid(name_or_id) {
            let group: GraphGroup = self
                .client()
                .get_json(
                    &format!("groups/{}", encode_segment(name_or_id)),
                    &[("$select", GROUP_SELECT)],
                    "get_group",
                )
                .await?;
            return Ok(to_group(group.id, group.display_name, &group.fields));
        }
        let request = self
            .client()
            .get("groups")
            .query(&[
                (
                    "$filter",
                    format!(
                        "displayName eq {0} or mail eq {0}",
                        odata_literal(name_or_id)
                    ),
                ),
                ("$select", GROUP_SELECT.to_string()),
            ])
            .operation("find_group");
        let mut groups: Vec<GraphGroup> = self.client().list(request).await?;
        match groups.len() {
            0 => Err(Error::not_found(format!(
                "{VENDOR}: no group named {name_or_id:?}"
            ))),
            1 => {
                let group = groups.remove(0);
                Ok(to_group(group.id, group.display_name, &group.fields))
            }
            n => Err(Error::conflict(format!(
                "{VENDOR}: {n} groups are named {name_or_id:?}; name the group by id"
            ))),
        }
    }

    async fn licenses(&self) -> Result<Vec<LicenseSku>> {
        Ok(self
            .subscribed_skus()
            .await?
            .into_iter()
            .map(|sku| LicenseSku {
                id: sku.sku_id,
                name: sku.sku_part_number,
                total: sku.prepaid_units.enabled,
                consumed: sku.consumed_units,
            })
            .collect())
    }

    async fn user_licenses(&self, user: &User) -> Result<Vec<LicenseAssignment>> {
        let state = self.user_license_state(user).await?;
        let names = self.subscribed_skus().await?;
        let name_of = |sku: &str| {
            names
                .iter()
                .find(|s| s.sku_id.eq_ignore_ascii_case(sku))
                .map(|s| s.sku_part_number.clone())
        };
        Ok(state
            .assigned_licenses
            .iter()
            .map(|held| {
                let states: Vec<_> = state
                    .license_assignment_states
                    .iter()
                    .filter(|s| s.sku_id.eq_ignore_ascii_case(&held.sku_id))
                    .collect();
                let inherited_from: Vec<String> = states
                    .iter()
                    .filter_map(|s| s.assigned_by_group.clone())
                    .collect();
                // Without assignment states (older tenants) every licence counts as direct.
                let direct =
                    states.is_empty() || states.iter().any(|s| s.assigned_by_group.is_none());
                LicenseAssignment {
                    sku_id: held.sku_id.clone(),
                    sku_name: name_of(&held.sku_id),
                    inherited_from,
                    direct,
                }
            })
            .collect())
    }

    async fn mailbox_permissions(&self, mailbox: &str) -> Result<Vec<MailboxPermission>> {
        let full: Vec<ExoMailboxPermission> = self
            .mailbox_cmdlet("Get-MailboxPermission", mailbox, json!({}))
            .await?
            .items()?;
        let send_as: Vec<ExoRecipientPermission> = self
            .mailbox_cmdlet("Get-RecipientPermission", mailbox, json!({}))
            .await?
            .items()?;
        let settings = self.mailbox(mailbox).await?;
        let mut permissions: Vec<MailboxPermission> = full
            .into_iter()
            .filter(|p| !p.is_inherited && !p.deny && !is_builtin_trustee(&p.user))
            .filter(|p| p.access_rights.iter().any(|r| r == "FullAccess"))
            .map(|p| MailboxPermission {
                mailbox: mailbox.to_string(),
                user: p.user,
                right: MailboxRight::FullAccess,
                automap: None,
            })
            .collect();
        permissions.extend(
            send_as
                .into_iter()
                .filter(|p| !p.is_inherited && !is_builtin_trustee(&p.trustee))
                .filter(|p| p.access_control_type.as_deref() != Some("Deny"))
                .filter(|p| p.access_rights.iter().any(|r| r == "SendAs"))
                .map(|p| MailboxPermission {
                    mailbox: mailbox.to_string(),
                    user: p.trustee,
                    right: MailboxRight::SendAs,
                    automap: None,
                }),
        );
        permissions.extend(settings.grant_send_on_behalf_to.into_iter().map(|user| {
            MailboxPermission {
                mailbox: mailbox.to_string(),
                user,
                right: MailboxRight::SendOnBehalf,
                automap: None,
            }
        }));
        Ok(permissions)
    }
}

/// Unlock is refused on a disabled account: re-enabling is `identity.enable`.
fn disabled_not_locked(user: &User) -> Error {
    Error::invalid(format!(
        "{} is disabled (sign-in blocked by an administrator), not locked out: unlock never \
         re-enables an account; use identity.enable, which has its own policy and risk",
        user.login
    ))
}

#[async_trait]
impl IdentityWrites for M365Connector {
    /// Sets a generated temporary password (`PATCH passwordProfile`) and, when
    /// `options.revoke_sessions`, revokes the user's sessions once (`revokeSignInSessions`):
    /// the connector owns the revocation, `identity.reset_password` does not repeat it.
    async fn reset_password(
        &self,
        proof: &ExecutionProof<'_>,
        user: &User,
        options: &ResetPasswordOptions,
    ) -> Result<PasswordReset> {
        if options.delivery == ResetDelivery::ResetLink {
            return Err(Error::unsupported(&format!(
                "{VENDOR}: password reset links"
            )));
        }
        Self::refuse_on_premises(user, "password")?;
        let password = generate_password_for(&user.login);
        self.patch_user(
            user,
            json!({"passwordProfile": {
                "password": password.expose_secret(),
                "forceChangePasswordNextSignIn": options.force_change,
            }}),
            "reset_password",
        )
        .await?;
        if options.revoke_sessions {
            self.revoke_sessions(proof, user).await?;
        }
        Ok(PasswordReset {
            temporary_password: Some(password),
            reset_link: None,
        })
    }

    /// Entra ID has no unlock call: smart lockout expires by itself, and an admin password
    /// reset (`identity.reset_password`) is the practical unlock, since it hands over a new
    /// password. Unlock never re-enables an account whose sign-in an administrator blocked:
    /// that is `identity.enable`, its own action and risk, so it is refused here.
    async fn unlock(&self, _proof: &ExecutionProof<'_>, user: &User) -> Result<()> {
        Self::refuse_on_premises(user, "lockout state")?;
        if !user.enabled {
            return Err(disabled_not_locked(user));
        }
        Ok(())
    }

    /// Deletes every non-password method. Every method's type is checked first: one this
    /// connector cannot delete refuses the whole reset before anything is deleted, so a user
    /// is never left half-reset. Entra refuses to delete the default method while others
    /// remain (400), so refused deletions are retried after the others are gone.
    async fn reset_mfa(
        &self,
        _proof: &ExecutionProof<'_>,
        user: &User,
        issue_temporary_access_pass: bool,
    ) -> Result<MfaReset> {
        let mut pending = Vec::new();
        let mut unsupported: Vec<String> = Vec::new();
        for method in self.auth_methods(user).await? {
            if method.is_password() {
                continue;
            }
            match method.segment() {
                Some(segment_name) => pending.push((method, segment_name)),
                None if !unsupported.contains(&method.odata_type) => {
                    unsupported.push(method.odata_type)
                }
                None => {}
            }
        }
        if !unsupported.is_empty() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{VENDOR}: the MFA reset of {} was refused and nothing was removed: it has \
                     authentication methods of type {} that this connector cannot delete, and \
                     deleting only the others would leave the user half-reset; remove those \
                     methods in the Entra admin center, then retry",
                    user.login,
                    unsupported.join(", ")
                ),
            )
            .with_context("vendor", VENDOR)
            .with_context("operation", "reset_mfa"));
        }
        let mut removed = Vec::new();
        while !pending.is_empty() {
            let before = pending.len();
            let mut refused = Vec::new();
            let mut last_error = None;
            for (method, segment_name) in pending {
                match self.delete_method(user, &method, segment_name).await {
                    Ok(()) => removed.push(method),
                    Err(e) if e.kind() == ErrorKind::NotFound => removed.push(method),
                    Err(e) if e.kind() == ErrorKind::Invalid => {
                        last_error = Some(e);
                        refused.push((method, segment_name));
                    }
                    Err(e) => return Err(e),
                }
            }
            if let Some(error) = last_error
                && refused.len() == before
            {
                // A whole pass without progress: the refusal is not the default-method rule.
                return Err(error);
            }
            pending = refused;
        }
        let temporary_access_pass = if issue_temporary_access_pass {
            let created: CreatedTemporaryAccessPass = self
                .client()
                .post(&format!(
                    "users/{}/authentication/temporaryAccessPassMethods",
                    encode_segment(&user.id)
                ))
                .json(&NewTemporaryAccessPass {
                    lifetime_in_minutes: TAP_LIFETIME_MINUTES,
                    is_usable_once: true,
                })
                .operation("create_temporary_access_pass")
                .send_json()
                .await?;
            Some(created.temporary_access_pass)
        } else {
            None
        };
        Ok(MfaReset {
            removed: removed
                .into_iter()
                .map(|m| MfaMethod {
                    description: m.description(),
                    id: m.id,
                    method_type: m.odata_type,
                })
                .collect(),
            temporary_access_pass,
        })
    }

    async fn revoke_sessions(&self, _proof: &ExecutionProof<'_>, user: &User) -> Result<()> {
        self.client()
            .post(&format!(
                "users/{}/revokeSignInSessions",
                encode_segment(&user.id)
            ))
            .operation("revoke_sessions")
            .send_empty()
            .await
    }

    async fn set_enabled(
        &self,
        _proof: &ExecutionProof<'_>,
        user: &User,
        enabled: bool,
    ) -> Result<()> {
        Self::refuse_on_premises(user, "sign-in state (accountEnabled)")?;
        self.patch_user(user, json!({ "accountEnabled": enabled }), "set_sign_in")
            .await
    }

    async fn add_to_group(
        &self,
        _proof: &ExecutionProof<'_>,
        user: &User,
        group: &Group,
    ) -> Result<()> {
        self.change_membership(user, group, true).await
    }

    async fn remove_from_group(
        &self,
        _proof: &ExecutionProof<'_>,
        user: &User,
        group: &Group,
    ) -> Result<()> {
        self.change_membership(user, group, false).await
    }

    async fn create_user(
        &self,
        _proof: &ExecutionProof<'_>,
        new_user: &NewUser,
        initial_password: Option<&SecretString>,
    ) -> Result<CreatedUser> {
        let password: SecretString = initial_password
            .cloned()
            .unwrap_or_else(|| generate_password_for(&new_user.login));
        let mut body = json!({
            "accountEnabled": true,
            "displayName": new_user.display(),
            "givenName": new_user.first_name,
            "surname": new_user.last_name,
            "mailNickname": new_user.nickname(),
            "userPrincipalName": new_user.login,
            "passwordProfile": {
                "forceChangePasswordNextSignIn": true,
                "password": password.expose_secret(),
            },
        });
        for (name, value) in [
            ("department", &new_user.department),
            ("jobTitle", &new_user.job_title),
            ("usageLocation", &new_user.usage_location),
        ] {
            if let Some(value) = value {
                body[name] = json!(value);
            }
        }
        let created: GraphUser = self
            .client()
            .post("users")
            .json(&body)
            .operation("create_user")
            .send_json()
            .await?;
        let mut user = to_user(created, Vec::new());
        user.enabled = true;
        user.status = Some("enabled".into());
        user.usage_location = user
            .usage_location
            .or_else(|| new_user.usage_location.clone());
        Ok(CreatedUser {
            user,
            initial_password: Some(password),
        })
    }

    /// Sets the usage location first when the user has none (from `default_usage_location`),
    /// and checks for a free seat before assigning.
    async fn assign_license(
        &self,
        _proof: &ExecutionProof<'_>,
        user: &User,
        sku: &LicenseSku,
    ) -> Result<()> {
        let state = self.user_license_state(user).await?;
        let held_directly = state
            .license_assignment_states
            .iter()
            .any(|s| s.sku_id.eq_ignore_ascii_case(&sku.id) && s.assigned_by_group.is_none());
        if held_directly {
            return Ok(());
        }
        if state.usage_location.is_none() {
            let location = self.inner.default_usage_location.clone().ok_or_else(|| {
                Error::invalid(format!(
                    "{VENDOR}: {} has no usage location, which licensing needs; set one on the user or configure default_usage_location",
                    user.login
                ))
            })?;
            self.patch_user(
                user,
                json!({ "usageLocation": location }),
                "set_usage_location",
            )
            .await?;
        }
        let current = self
            .subscribed_skus()
            .await?
            .into_iter()
            .find(|s| s.sku_id.eq_ignore_ascii_case(&sku.id))
            .ok_or_else(|| {
                Error::not_found(format!("{VENDOR}: the tenant has no SKU {}", sku.id))
            })?;
        if current.consumed_units >= current.prepaid_units.enabled {
            return Err(Error::conflict(format!(
                "{VENDOR}: no free {} seats ({} of {} used)",
                current.sku_part_number, current.consumed_units, current.prepaid_units.enabled
            )));
        }
        self.assign_licenses(
            user,
            &AssignLicense {
                add_licenses: vec![AssignedLicense {
                    disabled_plans: Vec::new(),
                    sku_id: sku.id.clone(),
                }],
                remove_licenses: Vec::new(),
            },
        )
        .await
    }

    /// Removes a directly assigned licence; one inherited through a group is reported, not
    /// fought (remove the user from the group instead).
    async fn remove_license(
        &self,
        _proof: &ExecutionProof<'_>,
        user: &User,
        sku: &LicenseSku,
    ) -> Result<()> {
        let held = self.user_licenses(user).await?;
        let Some(current) = held.iter().find(|l| l.sku_id.eq_ignore_ascii_case(&sku.id)) else {
            return Ok(());
        };
        if !current.direct {
            return Err(Error::invalid(format!(
                "{VENDOR}: {} holds {} through group-based licensing (group {}); remove the user from that group instead",
                user.login,
                sku.name,
                current.inherited_from.join(", ")
            )));
        }
        self.assign_licenses(
            user,
            &AssignLicense {
                add_licenses: Vec::new(),
                remove_licenses: vec![sku.id.clone()],
            },
        )
        .await
    }

    async fn grant_mailbox_access(
        &self,
        _proof: &ExecutionProof<'_>,
        grant: &MailboxPermission,
    ) -> Result<()> {
        let (cmdlet, parameters) = match grant.right {
            MailboxRight::FullAccess => (
                "Add-MailboxPermission",
                json!({"User": grant.user, "AccessRights": ["FullAccess"],
                       "AutoMapping": grant.automap.unwrap_or(true), "InheritanceType": "All"}),
            ),
            MailboxRight::SendAs => (
                "Add-RecipientPermission",
                json!({"Trustee": grant.user, "AccessRights": ["SendAs"], "Confirm": false}),
            ),
            MailboxRight::SendOnBehalf => (
                "Set-Mailbox",
                json!({"GrantSendOnBehalfTo": {"@odata.type": "#Exchange.GenericHashTable", "add": grant.user}}),
            ),
        };
        self.mailbox_cmdlet(cmdlet, &grant.mailbox, parameters)
            .await
            .map(drop)
    }

    async fn remove_mailbox_access(
        &self,
        _proof: &ExecutionProof<'_>,
        grant: &MailboxPermission,
    ) -> Result<()> {
        let (cmdlet, parameters) = match grant.right {
            MailboxRight::FullAccess => (
                "Remove-MailboxPermission",
                json!({"User": grant.user, "AccessRights": ["FullAccess"],
                       "InheritanceType": "All", "Confirm": false}),
            ),
            MailboxRight::SendAs => (
                "Remove-RecipientPermission",
                json!({"Trustee": grant.user, "AccessRights": ["SendAs"], "Confirm": false}),
            ),
            MailboxRight::SendOnBehalf => (
                "Set-Mailbox",
                json!({"GrantSendOnBehalfTo": {"@odata.type": "#Exchange.GenericHashTable", "remove": grant.user}}),
            ),
        };
        match self
            .mailbox_cmdlet(cmdlet, &grant.mailbox, parameters)
            .await
        {
            // The permission entry (ACE) to remove is not there: the desired state.
            Err(e)
                if e.kind() == ErrorKind::NotFound
                    && e.context_value("vendor_code") == Some(EXO_TASK_FAILED) =>
            {
                Ok(())
            }
            other => other.map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_kinds() {
        let fields = |types: &[&str], mail: bool, security: bool, synced: bool| GroupFields {
            group_types: types.iter().map(|s| s.to_string()).collect(),
            mail_enabled: Some(mail),
            security_enabled: Some(security),
            mail: None,
            on_premises_sync_enabled: synced.then_some(true),
            is_assignable_to_role: None,
        };
        assert_eq!(
            group_kind(&fields(&[], false, true, false)),
            (GroupKind::Security, true)
        );
        assert_eq!(
            group_kind(&fields(&["Unified"], true, false, false)),
            (GroupKind::Unified, true)
        );
        assert_eq!(
            group_kind(&fields(&[], true, false, false)),
            (GroupKind::Distribution, true)
        );
        assert_eq!(
            group_kind(&fields(&[], true, true, false)),
            (GroupKind::MailEnabledSecurity, true)
        );
        assert_eq!(
            group_kind(&fields(&["DynamicMembership"], false, true, false)),
            (GroupKind::External, false)
        );
        assert_eq!(
            group_kind(&fields(&[], false, true, true)),
            (GroupKind::External, false)
        );
        assert!(is_guid("8b4e6d20-2c1a-4f3b-8d5e-6f7a8b9c0d01"));
        assert!(!is_guid("Litigation Team"));
    }
}
