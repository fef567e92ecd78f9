//! `IdentityProvider` for Okta.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use stackhand_core::password::generate_password_for as generate_password;
use stackhand_core::{
    CreatedUser, Error, ErrorKind, ExecutionProof, Group, IdentityFeatures, IdentityProvider,
    IdentityWrites, MfaMethod, MfaReset, NewUser, PasswordReset, ResetDelivery,
    ResetPasswordOptions, Result, User, UserQuery,
};

use crate::client::{Lifecycle, quoted};
use crate::connector::OktaConnector;
use crate::models::{OktaGroup, OktaProfile, OktaUser, status};

impl OktaConnector {
    /// The user with its admin roles: Okta's list includes the roles held through groups
    /// (`assignmentType: GROUP`), so one read covers both.
    async fn to_user(&self, user: OktaUser) -> Result<User> {
        let mut roles: Vec<String> = Vec::new();
        if self.client().reads_admin_roles() {
            for role in self.client().user_roles(&user.id).await? {
                if role.is_active() && !roles.contains(&role.role_type) {
                    roles.push(role.role_type);
                }
            }
        }
        Ok(user.into_user(roles))
    }

    /// A group found by name or id, privileged when it holds an admin role (its members are
    /// admins). One read of the group's roles, only for the group a plan names.
    async fn to_group(&self, group: OktaGroup) -> Result<Group> {
        let mut found = Group::from(group);
        if self.client().reads_admin_roles() {
            found.privileged = self
                .client()
                .group_roles(&found.id)
                .await?
                .iter()
                .any(|r| r.is_active());
        }
        Ok(found)
    }

    fn directory_refusal(user: &User, operation: &str) -> Result<()> {
        if user.externally_mastered {
            return Err(Error::conflict(format!(
                "cannot {operation} for {}: the account is mastered by a directory (Active Directory / LDAP / federation); do it there",
                user.login
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl IdentityProvider for OktaConnector {
    fn features(&self) -> IdentityFeatures {
        IdentityFeatures {
            licenses: false,
            mailboxes: false,
            temporary_access_pass: false,
            reset_links: true,
            native_unlock: true,
            suspend: true,
        }
    }

    async fn find_users(&self, query: &UserQuery) -> Result<Vec<User>> {
        if let UserQuery::Login(login) = query {
            // A direct read is consistent (search is not) and takes the login as the id; the
            // login check drops a match on a short name.
            return match self.client().get_user(login).await {
                Ok(user) if user.profile.login.eq_ignore_ascii_case(login) => {
                    Ok(vec![user.into_user(Vec::new())])
                }
                Ok(_) => Ok(Vec::new()),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
                Err(e) => Err(e),
            };
        }
        let text = quoted(query.text());
        let expression = match query {
            UserQuery::Login(_) => format!("profile.login eq {text}"),
            UserQuery::Email(_) => format!("profile.email eq {text}"),
            UserQuery::Name(_) => format!(
                "profile.displayName sw {text} or profile.firstName sw {text} or profile.lastName sw {text}"
            ),
        };
        // Search results skip the role lookup: one extra call per hit would be wasteful, and
        // the plans that need privilege facts read the user with `get_user`.
        Ok(self
            .client()
            .search_users(&expression)
            .await?
            .into_iter()
            .map(|u| u.into_user(Vec::new()))
            .collect())
    }

    async fn get_user(&self, id_or_login: &str) -> Result<User> {
        // A 404 stays Okta's own error: its E0000007 summary names the id or login.
        let user = self.client().get_user(id_or_login).await?;
        self.to_user(user).await
    }

    async fn list_mfa_methods(&self, user: &User) -> Result<Vec<MfaMethod>> {
        Ok(self
            .client()
            .factors(&user.id)
            .await?
            .into_iter()
            .map(MfaMethod::from)
            .collect())
    }

    async fn user_groups(&self, user: &User) -> Result<Vec<Group>> {
        Ok(self
            .client()
            .user_groups(&user.id)
            .await?
            .into_iter()
            .map(Group::from)
            .collect())
    }

    async fn find_group(&self, name_or_id: &str) -> Result<Group> {
        // Okta group ids are 20 characters starting with 00g.
        if name_or_id.len() == 20 && name_or_id.starts_with("00g") {
            match self.client().get_group(name_or_id).await {
                Ok(group) => return self.to_group(group).await,
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        let found: Vec<OktaGroup> = self
            .client()
            .search_groups(&format!("profile.name eq {}", quoted(name_or_id)))
            .await?
            .into_iter()
            .filter(|g| g.profile.name.eq_ignore_ascii_case(name_or_id))
            .collect();
        let count = found.len();
        match (found.into_iter().next(), count) {
            (Some(group), 1) => self.to_group(group).await,
            (None, _) => Err(Error::not_found(format!(
                "no Okta group named {name_or_id}"
            ))),
            (Some(_), n) => Err(Error::conflict(format!(
                "{n} Okta groups are named {name_or_id}; name the group by id"
            ))),
        }
    }
}

#[async_trait]
impl IdentityWrites for OktaConnector {
    async fn reset_password(
        &self,
        _proof: &ExecutionProof<'_>,
        user: &User,
        options: &ResetPasswordOptions,
    ) -> Result<PasswordReset> {
        Self::directory_refusal(user, "reset the password")?;
        let client = self.client();
        match (options.delivery, options.force_change) {
            (ResetDelivery::ResetLink, _) => Ok(PasswordReset {
                reset_link: Some(
                    client
                        .reset_password_link(&user.id, options.revoke_sessions)
                        .await?,
                ),
                temporary_password: None,
            }),
            // Okta's temporary password is always expired: the user must change it.
            (ResetDelivery::TemporaryPassword, true) => Ok(PasswordReset {
                temporary_password: Some(
                    client
                        .temporary_password(&user.id, options.revoke_sessions)
                        .await?,
                ),
                reset_link: None,
            }),
            (ResetDelivery::TemporaryPassword, false) => {
                let password = generate_password(&user.login);
                client.set_password(&user.id, &password).await?;
                if options.revoke_sessions {
                    client.revoke_sessions(&user.id).await?;
                }
                Ok(PasswordReset {
                    temporary_password: Some(password),
                    reset_link: None,
                })
            }
        }
    }

    async fn unlock(&self, _proof: &ExecutionProof<'_>, user: &User) -> Result<()> {
        Self::directory_refusal(user, "unlock the account")?;
        self.client().lifecycle(&user.id, Lifecycle::Unlock).await
    }

    async fn reset_mfa(
        &self,
        _proof: &ExecutionProof<'_>,
        user: &User,
        issue_temporary_access_pass: bool,
    ) -> Result<MfaReset> {
        if issue_temporary_access_pass {
            return Err(Error::unsupported(
                "issuing a Temporary Access Pass (Okta has none; the user re-enrols at next sign-in)",
            ));
        }
        let removed = self.list_mfa_methods(user).await?;
        if !removed.is_empty() {
            self.client()
                .lifecycle(&user.id, Lifecycle::ResetFactors)
                .await?;
        }
        Ok(MfaReset {
            removed,
            temporary_access_pass: None,
        })
    }

    async fn revoke_sessions(&self, _proof: &ExecutionProof<'_>, user: &User) -> Result<()> {
        self.client().revoke_sessions(&user.id).await
    }

    async fn set_enabled(
        &self,
        _proof: &ExecutionProof<'_>,
        user: &User,
        enabled: bool,
    ) -> Result<()> {
        // Okta's reversible block is suspend; deactivate is destructive and stays an explicit
        // `okta.deactivate` action.
        let current = self.client().get_user(&user.id).await?;
        match (enabled, current.status.as_str()) {
            (false, status::SUSPENDED) | (true, status::ACTIVE) => Ok(()),
            (false, status::ACTIVE) => self.client().lifecycle(&user.id, Lifecycle::Suspend).await,
            (true, status::SUSPENDED) => {
                self.client()
                    .lifecycle(&user.id, Lifecycle::Unsuspend)
                    .await
            }
            (false, other) => Err(Error::conflict(format!(
                "cannot block {}: Okta only suspends ACTIVE users and the user is {other}",
                user.login
            ))),
            (true, other) => Err(Error::conflict(format!(
                "cannot enable {}: only a SUSPENDED user can be unsuspended and the user is {other}{}",
                user.login,
                if other == status::DEPROVISIONED {
                    " (use okta.activate)"
                } else {
                    ""
                }
            ))),
        }
    }

    async fn add_to_group(
        &self,
        _proof: &ExecutionProof<'_>,
        user: &User,
        group: &Group,
    ) -> Result<()> {
        check_writable(group)?;
        self.client().add_member(&group.id, &user.id).await
    }

    async fn remove_from_group(
        &self,
        _proof: &ExecutionProof<'_>,
        user: &User,
        group: &Group,
    ) -> Result<()> {
        check_writable(group)?;
        self.client().remove_member(&group.id, &user.id).await
    }

    async fn create_user(
        &self,
        _proof: &ExecutionProof<'_>,
        new_user: &NewUser,
        initial_password: Option<&SecretString>,
    ) -> Result<CreatedUser> {
        let profile = OktaProfile {
            login: new_user.login.clone(),
            email: Some(
                new_user
                    .email
                    .clone()
                    .unwrap_or_else(|| new_user.login.clone()),
            ),
            first_name: Some(new_user.first_name.clone()),
            last_name: Some(new_user.last_name.clone()),
            display_name: Some(new_user.display()),
            department: new_user.department.clone(),
            title: new_user.job_title.clone(),
            country_code: new_user.usage_location.clone(),
        };
        let password = initial_password
            .cloned()
            .unwrap_or_else(|| generate_password(&new_user.login));
        let created = self.client().create_user(&profile, &password).await?;
        debug_assert!(!password.expose_secret().is_empty());
        Ok(CreatedUser {
            user: created.into_user(Vec::new()),
            initial_password: Some(password),
        })
    }
}

fn check_writable(group: &Group) -> Result<()> {
    if group.writable {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "the membership of Okta group {} ({}) cannot be changed through the API: only OKTA_GROUP groups are writable; APP_GROUP groups are managed by the app that imported them (e.g. Active Directory) and BUILT_IN groups by Okta",
        group.name, group.id
    )))
}
