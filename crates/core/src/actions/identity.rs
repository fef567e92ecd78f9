//! `identity.*` actions.

use async_trait::async_trait;
use schemars::JsonSchema;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{plan_of, read_back_of, same_name};
use crate::action::{ActionContext, Descriptor, ExecutionProof, TypedAction};
use crate::capability::{
    Group, IdentityProvider, MailboxPermission, MailboxRight, NewUser, ResetDelivery,
    ResetPasswordOptions, User, UserQuery,
};
use crate::error::{Error, Result};
use crate::model::{ActionRequest, Category, Change, Outcome, Plan, Risk, StepStatus, TargetFacts};

/// Input naming one user.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserParams {
    /// Login / UPN / id of the user.
    pub user: String,
}

fn identity(ctx: &ActionContext) -> Result<&dyn IdentityProvider> {
    ctx.identity()
}

fn resource(user: &User) -> String {
    format!("user:{}", user.login)
}

/// Read the user and their groups, and turn them into policy facts.
async fn read_user(ctx: &ActionContext, login: &str) -> Result<(User, Vec<Group>, TargetFacts)> {
    let idp = identity(ctx)?;
    let user = idp.get_user(login).await?;
    let groups = idp.user_groups(&user).await?;
    let facts = TargetFacts {
        login: Some(user.login.clone()),
        roles: user.roles.clone(),
        groups: groups.iter().map(|g| g.name.clone()).collect(),
        department: user.department.clone(),
        privileged: !user.roles.is_empty(),
        grants: Vec::new(),
    };
    Ok((user, groups, facts))
}

fn user_state(user: &User, groups: &[Group]) -> serde_json::Value {
    json!({
        "id": user.id,
        "login": user.login,
        "enabled": user.enabled,
        "locked": user.locked,
        "status": user.status,
        "groups": groups.iter().map(|g| &g.name).collect::<Vec<_>>(),
    })
}

/// The user a plan of [`user_plan`] read, from its state before: id, login and status. The plan
/// refused an externally mastered user, so that is `false` here.
fn planned_user(plan: &Plan) -> Result<User> {
    let state = &plan.state_before;
    let text = |key: &str| state.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let (Some(id), Some(login)) = (text("id"), text("login")) else {
        return Err(Error::permanent(format!(
            "the plan of {} records no user id and login to act on",
            plan.action
        )));
    };
    Ok(User {
        display_name: login.clone(),
        login,
        id,
        email: None,
        enabled: state
            .get("enabled")
            .and_then(|v| v.as_bool())
            .unwrap_or(true),
        locked: state
            .get("locked")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        status: text("status"),
        department: plan.facts.department.clone(),
        job_title: None,
        externally_mastered: false,
        roles: plan.facts.roles.clone(),
        usage_location: None,
    })
}

/// Start a plan over one user: reads them, fills facts and the state before.
async fn user_plan<A: TypedAction>(
    ctx: &ActionContext,
    request: &ActionRequest,
    login: &str,
    summary: &str,
) -> Result<(Plan, User)> {
    let (user, groups, facts) = read_user(ctx, login).await?;
    let mut plan = plan_of::<A>(request, format!("{summary} for {}", user.login));
    plan.state_before = user_state(&user, &groups);
    plan.facts = facts;
    Ok((plan, user))
}

fn refuse_externally_mastered(user: &User, what: &str) -> Result<()> {
    if user.externally_mastered {
        return Err(Error::invalid(format!(
            "{} is mastered on-premises or federated: {what} must be done in the source directory, not in the cloud",
            user.login
        )));
    }
    Ok(())
}

fn verified(ok: bool) -> StepStatus {
    if ok {
        StepStatus::Verified
    } else {
        StepStatus::Succeeded
    }
}

/// `identity.find_user`: look users up (read-only).
#[derive(Debug, Clone, Copy)]
pub struct FindUser;

/// Input of `identity.find_user`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindUserParams {
    /// The lookup.
    pub query: UserQuery,
}

#[async_trait]
impl TypedAction for FindUser {
    type Params = FindUserParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "identity.find_user",
        summary: "Find users by login, email or display name",
        category: Category::Identity,
        risk: Risk::Low,
        reversible: false,
        idempotent: true,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let users = identity(ctx)?.find_users(&params.query).await?;
        let mut plan = plan_of::<Self>(
            request,
            format!("Find users matching {:?}", params.query.text()),
        );
        plan.state_before = serde_json::to_value(&users)?;
        Ok(plan)
    }

    async fn execute(
        &self,
        _ctx: &ActionContext,
        _request: &ActionRequest,
        _params: &Self::Params,
        plan: &Plan,
        _proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        Ok(Outcome {
            state_before: plan.state_before.clone(),
            state_after: plan.state_before.clone(),
            ..Outcome::new(StepStatus::Succeeded)
        })
    }
}

/// `identity.reset_password`.
#[derive(Debug, Clone, Copy)]
pub struct ResetPassword;

/// Input of `identity.reset_password`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordParams {
    /// The user.
    pub user: String,
    /// Options.
    #[serde(default, flatten)]
    pub options: ResetPasswordOptions,
}

#[async_trait]
impl TypedAction for ResetPassword {
    type Params = ResetPasswordParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "identity.reset_password",
        summary: "Reset a user's password to a temporary one (or send a reset link) and revoke sessions",
        category: Category::Identity,
        risk: Risk::Medium,
        reversible: false,
        idempotent: false,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let (mut plan, user) =
            user_plan::<Self>(ctx, request, &params.user, "Reset password").await?;
        refuse_externally_mastered(&user, "a password reset")?;
        if params.options.delivery == ResetDelivery::ResetLink
            && !identity(ctx)?.features().reset_links
        {
            return Err(Error::unsupported("password reset links"));
        }
        plan.changes.push(Change::new(
            resource(&user),
            "password",
            None,
            Some(json!("<new temporary password>")),
        ));
        if params.options.revoke_sessions {
            plan.changes.push(Change::new(
                resource(&user),
                "sessions",
                None,
                Some(json!("revoked")),
            ));
        }
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        // The engine planned this request just before executing it (again, after an approval),
        // so the planned user is current: reading them again would only cost vendor calls.
        let user = planned_user(plan)?;
        let reset = ctx
            .identity_writes(proof)?
            .reset_password(proof, &user, &params.options)
            .await?;
        let mut outcome = Outcome {
            changes: plan.changes.clone(),
            state_before: plan.state_before.clone(),
            ..Outcome::new(StepStatus::Succeeded)
        };
        if let Some(password) = reset.temporary_password {
            outcome = outcome
                .with_secret("temporary_password", password)
                .with_message("Your password was reset. Use the temporary password we give you by phone; you will choose a new one at sign-in.");
        }
        if let Some(link) = reset.reset_link {
            outcome = outcome.with_secret("reset_link", link).with_message(
                "Your password was reset. Follow the link we sent to choose a new one.",
            );
        }
        Ok(outcome)
    }
}

/// `identity.unlock`.
#[derive(Debug, Clone, Copy)]
pub struct Unlock;

#[async_trait]
impl TypedAction for Unlock {
    type Params = UserParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "identity.unlock",
        summary: "Unlock a locked-out account",
        category: Category::Identity,
        risk: Risk::Medium,
        reversible: false,
        idempotent: true,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let (mut plan, user) = user_plan::<Self>(ctx, request, &params.user, "Unlock").await?;
        refuse_externally_mastered(&user, "an unlock")?;
        if !user.enabled {
            // A lockout clears; a disabled account was switched off by someone. Turning it back
            // on is identity.enable, which the policy decides on its own (and usually gates).
            return Err(Error::invalid(format!(
                "{} is disabled, not locked out: unlock never re-enables an account; \
                 identity.enable does, under its own policy",
                user.login
            )));
        }
        if user.locked || !identity(ctx)?.features().native_unlock {
            plan.changes.push(Change::new(
                resource(&user),
                "locked",
                Some(json!(user.locked)),
                Some(json!(false)),
            ));
        }
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        let idp = identity(ctx)?;
        let user = idp.get_user(&params.user).await?;
        if !user.enabled {
            return Err(Error::conflict(format!(
                "{} was disabled after the plan was made; unlock does not re-enable it",
                user.login
            )));
        }
        ctx.identity_writes(proof)?.unlock(proof, &user).await?;
        let after = idp.get_user(&params.user).await?;
        Ok(Outcome {
            changes: plan.changes.clone(),
            state_before: plan.state_before.clone(),
            state_after: json!({ "locked": after.locked, "enabled": after.enabled }),
            ..Outcome::new(verified(!after.locked))
        }
        .with_message("Your account is unlocked. You can sign in again."))
    }
}

/// `identity.reset_mfa`.
#[derive(Debug, Clone, Copy)]
pub struct ResetMfa;

/// Input of `identity.reset_mfa`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetMfaParams {
    /// The user.
    pub user: String,
    /// Issue a Temporary Access Pass for re-registration, where supported.
    #[serde(default)]
    pub issue_temporary_access_pass: bool,
}

#[async_trait]
impl TypedAction for ResetMfa {
    type Params = ResetMfaParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "identity.reset_mfa",
        summary: "Remove every MFA method so the user re-enrols (optionally with a Temporary Access Pass)",
        category: Category::Identity,
        risk: Risk::High,
        reversible: false,
        idempotent: true,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let (mut plan, user) = user_plan::<Self>(ctx, request, &params.user, "Reset MFA").await?;
        let idp = identity(ctx)?;
        if params.issue_temporary_access_pass && !idp.features().temporary_access_pass {
            return Err(Error::unsupported("temporary access passes"));
        }
        let methods = idp.list_mfa_methods(&user).await?;
        plan.state_before["mfa_methods"] = serde_json::to_value(&methods)?;
        for method in &methods {
            plan.changes.push(Change::new(
                resource(&user),
                "mfa_method",
                Some(json!(method.method_type)),
                None,
            ));
        }
        if params.issue_temporary_access_pass {
            plan.changes.push(Change::new(
                resource(&user),
                "temporary_access_pass",
                None,
                Some(json!("<issued>")),
            ));
        }
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        let idp = identity(ctx)?;
        let user = idp.get_user(&params.user).await?;
        let reset = ctx
            .identity_writes(proof)?
            .reset_mfa(proof, &user, params.issue_temporary_access_pass)
            .await?;
        let left = idp.list_mfa_methods(&user).await?;
        let mut outcome = Outcome {
            changes: plan.changes.clone(),
            state_before: plan.state_before.clone(),
            state_after: json!({ "mfa_methods": left, "removed": reset.removed.len() }),
            ..Outcome::new(verified(left.is_empty()))
        }
        .with_message("Your sign-in verification methods were reset. You will be asked to set up MFA again at your next sign-in.");
        if let Some(tap) = reset.temporary_access_pass {
            outcome = outcome.with_secret("temporary_access_pass", tap);
        }
        Ok(outcome)
    }
}

/// `identity.revoke_sessions`.
#[derive(Debug, Clone, Copy)]
pub struct RevokeSessions;

#[async_trait]
impl TypedAction for RevokeSessions {
    type Params = UserParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "identity.revoke_sessions",
        summary: "Sign the user out everywhere: revoke sessions and refresh tokens",
        category: Category::Identity,
        risk: Risk::Medium,
        reversible: false,
        idempotent: true,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let (mut plan, user) =
            user_plan::<Self>(ctx, request, &params.user, "Revoke sessions").await?;
        plan.changes.push(Change::new(
            resource(&user),
            "sessions",
            None,
            Some(json!("revoked")),
        ));
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        let idp = identity(ctx)?;
        let user = idp.get_user(&params.user).await?;
        ctx.identity_writes(proof)?
            .revoke_sessions(proof, &user)
            .await?;
        Ok(Outcome {
            changes: plan.changes.clone(),
            state_before: plan.state_before.clone(),
            ..Outcome::new(StepStatus::Succeeded)
        }
        .with_message("You were signed out of every device; sign in again to continue."))
    }
}

/// `identity.enable` (`ENABLE = true`) and `identity.disable` (`false`): allow or block sign-in.
#[derive(Debug, Clone, Copy)]
pub struct SetSignIn<const ENABLE: bool>;

impl<const ENABLE: bool> SetSignIn<ENABLE> {
    async fn apply(
        ctx: &ActionContext,
        proof: &ExecutionProof<'_>,
        login: &str,
        enabled: bool,
        plan: &Plan,
    ) -> Result<Outcome> {
        let idp = identity(ctx)?;
        let user = idp.get_user(login).await?;
        ctx.identity_writes(proof)?
            .set_enabled(proof, &user, enabled)
            .await?;
        let after = idp.get_user(login).await?;
        Ok(Outcome {
            changes: vec![Change::new(
                resource(&user),
                "enabled",
                Some(json!(user.enabled)),
                Some(json!(enabled)),
            )],
            state_before: plan.state_before.clone(),
            state_after: json!({ "enabled": after.enabled }),
            ..Outcome::new(verified(after.enabled == enabled))
        })
    }
}

#[async_trait]
impl<const ENABLE: bool> TypedAction for SetSignIn<ENABLE> {
    type Params = UserParams;
    const DESCRIPTOR: Descriptor = if ENABLE {
        Descriptor {
            id: "identity.enable",
            summary: "Allow the user to sign in (unblock)",
            category: Category::Identity,
            risk: Risk::Medium,
            reversible: true,
            idempotent: true,
        }
    } else {
        Descriptor {
            id: "identity.disable",
            summary: "Block the user from signing in",
            category: Category::Identity,
            risk: Risk::High,
            reversible: true,
            idempotent: true,
        }
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let verb = if ENABLE {
            "Allow sign-in"
        } else {
            "Block sign-in"
        };
        let (mut plan, user) = user_plan::<Self>(ctx, request, &params.user, verb).await?;
        if user.enabled != ENABLE {
            plan.changes.push(Change::new(
                resource(&user),
                "enabled",
                Some(json!(user.enabled)),
                Some(json!(ENABLE)),
            ));
        }
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        Self::apply(ctx, proof, &params.user, ENABLE, plan).await
    }

    async fn undo(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        let before = plan.state_before["enabled"]
            .as_bool()
            .ok_or_else(|| Error::invalid("the recorded state before has no `enabled` flag"))?;
        Self::apply(ctx, proof, &params.user, before, plan).await
    }
}

/// Input naming a user and a licence SKU (id or part number).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenseParams {
    /// The user.
    pub user: String,
    /// SKU id or part number (`SPE_E3`).
    pub sku: String,
}

/// `identity.assign_license` (`ADD = true`) and `identity.remove_license` (`false`).
#[derive(Debug, Clone, Copy)]
pub struct LicenseChange<const ADD: bool>;

impl<const ADD: bool> LicenseChange<ADD> {
    async fn apply(
        ctx: &ActionContext,
        proof: &ExecutionProof<'_>,
        params: &LicenseParams,
        add: bool,
        plan: &Plan,
    ) -> Result<Outcome> {
        let idp = identity(ctx)?;
        let user = idp.get_user(&params.user).await?;
        let sku = find_sku(idp, &params.sku).await?;
        if add {
            ctx.identity_writes(proof)?
                .assign_license(proof, &user, &sku)
                .await?;
        } else {
            ctx.identity_writes(proof)?
                .remove_license(proof, &user, &sku)
                .await?;
        }
        let held = idp.user_licenses(&user).await?;
        let has = held.iter().any(|l| l.sku_id == sku.id && l.direct);
        Ok(Outcome {
            changes: vec![Change::new(
                resource(&user),
                "licenses",
                None,
                Some(json!({ if add { "added" } else { "removed" }: sku.name })),
            )],
            state_before: plan.state_before.clone(),
            state_after: json!({ "licenses": held }),
            ..Outcome::new(verified(has == add))
        })
    }
}

async fn find_sku(
    idp: &dyn IdentityProvider,
    wanted: &str,
) -> Result<crate::capability::LicenseSku> {
    let skus = idp.licenses().await?;
    let names: Vec<String> = skus.iter().map(|s| s.name.clone()).collect();
    skus.into_iter()
        .find(|s| s.id.eq_ignore_ascii_case(wanted) || s.name.eq_ignore_ascii_case(wanted))
        .ok_or_else(|| {
            Error::not_found(format!(
                "the tenant has no licence {wanted:?} (it has {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))
        })
}

#[async_trait]
impl<const ADD: bool> TypedAction for LicenseChange<ADD> {
    type Params = LicenseParams;
    const DESCRIPTOR: Descriptor = if ADD {
        Descriptor {
            id: "identity.assign_license",
            summary: "Assign a licence to a user (usage location set first, free seats checked)",
            category: Category::Identity,
            risk: Risk::High,
            reversible: true,
            idempotent: true,
        }
    } else {
        Descriptor {
            id: "identity.remove_license",
            summary: "Remove a directly assigned licence from a user (group-inherited ones are reported)",
            category: Category::Identity,
            risk: Risk::High,
            reversible: true,
            idempotent: true,
        }
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let verb = if ADD {
            "Assign licence"
        } else {
            "Remove licence"
        };
        let (mut plan, user) = user_plan::<Self>(ctx, request, &params.user, verb).await?;
        let idp = identity(ctx)?;
        if !idp.features().licenses {
            return Err(Error::unsupported("licences"));
        }
        let sku = find_sku(idp, &params.sku).await?;
        let held = idp.user_licenses(&user).await?;
        let current = held.iter().find(|l| l.sku_id == sku.id);
        plan.state_before["licenses"] = serde_json::to_value(&held)?;
        plan.state_before["sku"] = serde_json::to_value(&sku)?;
        let direct = current.is_some_and(|l| l.direct);
        if ADD && !direct {
            if current.is_some() {
                plan.warnings.push(format!(
                    "{} already holds {} through a group; assigning it directly too",
                    user.login, sku.name
                ));
            }
            if sku.available() == 0 {
                return Err(Error::conflict(format!(
                    "no free {} seats ({} of {} used): buy a seat or free one first",
                    sku.name, sku.consumed, sku.total
                )));
            }
            plan.changes.push(Change::new(
                resource(&user),
                "licenses",
                None,
                Some(json!({ "added": sku.name })),
            ));
        }
        if !ADD {
            if let Some(l) = current.filter(|l| !l.inherited_from.is_empty()) {
                plan.warnings.push(format!(
                    "{} is inherited from group(s) {}: remove the user from the group to drop it; not fought here",
                    sku.name,
                    l.inherited_from.join(", ")
                ));
            }
            if direct {
                plan.changes.push(Change::new(
                    resource(&user),
                    "licenses",
                    None,
                    Some(json!({ "removed": sku.name })),
                ));
            }
        }
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        Self::apply(ctx, proof, params, ADD, plan).await
    }

    async fn undo(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        Self::apply(ctx, proof, params, !ADD, plan).await
    }
}

/// Input naming a user and a group.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupParams {
    /// The user.
    pub user: String,
    /// Group name or id.
    pub group: String,
}

/// `identity.add_to_group` (`ADD = true`) and `identity.remove_from_group` (`false`).
#[derive(Debug, Clone, Copy)]
pub struct GroupChange<const ADD: bool>;

impl<const ADD: bool> GroupChange<ADD> {
    async fn apply(
        ctx: &ActionContext,
        proof: &ExecutionProof<'_>,
        params: &GroupParams,
        add: bool,
        plan: &Plan,
    ) -> Result<Outcome> {
        let idp = identity(ctx)?;
        let user = idp.get_user(&params.user).await?;
        let group = idp.find_group(&params.group).await?;
        if add {
            ctx.identity_writes(proof)?
                .add_to_group(proof, &user, &group)
                .await?;
        } else {
            ctx.identity_writes(proof)?
                .remove_from_group(proof, &user, &group)
                .await?;
        }
        let member = idp
            .user_groups(&user)
            .await?
            .iter()
            .any(|g| g.id == group.id);
        Ok(Outcome {
            changes: vec![Change::new(
                format!("group:{}", group.name),
                "members",
                None,
                Some(json!({ if add { "added" } else { "removed" }: user.login })),
            )],
            state_before: plan.state_before.clone(),
            state_after: json!({ "member": member }),
            ..Outcome::new(verified(member == add))
        })
    }
}

#[async_trait]
impl<const ADD: bool> TypedAction for GroupChange<ADD> {
    type Params = GroupParams;
    const DESCRIPTOR: Descriptor = if ADD {
        Descriptor {
            id: "identity.add_to_group",
            summary: "Add a user to a group (security, Microsoft 365, distribution list)",
            category: Category::Identity,
            risk: Risk::Medium,
            reversible: true,
            idempotent: true,
        }
    } else {
        Descriptor {
            id: "identity.remove_from_group",
            summary: "Remove a user from a group",
            category: Category::Identity,
            risk: Risk::Medium,
            reversible: true,
            idempotent: true,
        }
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let verb = if ADD {
            "Add to group"
        } else {
            "Remove from group"
        };
        let (mut plan, user) = user_plan::<Self>(ctx, request, &params.user, verb).await?;
        let group = identity(ctx)?.find_group(&params.group).await?;
        if !group.writable {
            return Err(Error::invalid(format!(
                "group {} is managed by another system (dynamic, synced or app-sourced); change it there",
                group.name
            )));
        }
        let member = plan.facts.groups.iter().any(|g| g == &group.name);
        if ADD {
            // Privilege reached through the group counts as the target's: adding anyone to a
            // protected or role-holding group is a change to a protected target.
            plan.facts.grants.push(group.name.clone());
            plan.facts.privileged |= group.privileged;
        }
        plan.state_before["member"] = json!(member);
        plan.state_before["group"] = serde_json::to_value(&group)?;
        if member != ADD {
            plan.changes.push(Change::new(
                format!("group:{}", group.name),
                "members",
                None,
                Some(json!({ if ADD { "added" } else { "removed" }: user.login })),
            ));
        }
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        Self::apply(ctx, proof, params, ADD, plan).await
    }

    async fn undo(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        Self::apply(ctx, proof, params, !ADD, plan).await
    }
}

/// `identity.create_user`.
#[derive(Debug, Clone, Copy)]
pub struct CreateUser;

/// Input of `identity.create_user`: the user, and optionally the initial password as a secret
/// parameter (through [`ActionRequest::with_secret`](crate::ActionRequest::with_secret), never
/// in the stored params). A runner that hands the password on (to the documentation system, to
/// the manager) generates and keeps it before the account exists, so a crash cannot lose it;
/// without one, the connector generates it and it comes back once, in the outcome's secrets.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct CreateUserParams {
    /// The user.
    #[serde(flatten)]
    pub user: NewUser,
    /// The initial password (secret).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub initial_password: Option<SecretString>,
}

#[async_trait]
impl TypedAction for CreateUser {
    type Params = CreateUserParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "identity.create_user",
        summary: "Create a user account with a generated initial password",
        category: Category::Identity,
        risk: Risk::High,
        reversible: false,
        idempotent: false,
    };
    const SECRET_PARAMS: &'static [&'static str] = &["initial_password"];

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let idp = identity(ctx)?;
        let params = &params.user;
        match idp.get_user(&params.login).await {
            Ok(existing) => {
                return Err(Error::conflict(format!(
                    "a user {} already exists (id {})",
                    existing.login, existing.id
                )));
            }
            Err(e) if e.kind() == crate::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut plan = plan_of::<Self>(request, format!("Create user {}", params.login));
        plan.facts.login = Some(params.login.clone());
        plan.facts.department = params.department.clone().map(crate::Department);
        plan.state_before = json!({ "exists": false });
        plan.changes.push(Change::new(
            format!("user:{}", params.login),
            "account",
            None,
            Some(serde_json::to_value(params)?),
        ));
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        let idp = identity(ctx)?;
        let created = ctx
            .identity_writes(proof)?
            .create_user(proof, &params.user, params.initial_password.as_ref())
            .await?;
        let found = idp.get_user(&created.user.login).await.is_ok();
        let mut outcome = Outcome {
            changes: plan.changes.clone(),
            state_before: plan.state_before.clone(),
            state_after: serde_json::to_value(&created.user)?,
            ..Outcome::new(verified(found))
        }
        .with_message(format!("The account {} is ready.", created.user.login));
        if let Some(password) = created.initial_password {
            outcome = outcome.with_secret("initial_password", password);
        }
        Ok(outcome)
    }

    /// Planning again refuses once the account exists, so the account is looked up: one with
    /// this login and these names is the one the lost call created (the login was free when
    /// the step was planned).
    async fn read_back(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        _plan: &Plan,
    ) -> Result<Option<serde_json::Value>> {
        let wanted = &params.user;
        let user = match identity(ctx)?.get_user(&wanted.login).await {
            Ok(user) => user,
            Err(e) if e.kind() == crate::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        read_back_of(&user, same_name(&user.display_name, &wanted.display()))
    }
}

/// Input of the mailbox actions.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MailboxParams {
    /// The mailbox (address).
    pub mailbox: String,
    /// The user given or losing the right.
    pub user: String,
    /// The right.
    pub right: MailboxRight,
    /// For FullAccess: map the mailbox in Outlook automatically (default true).
    #[serde(default)]
    pub automap: Option<bool>,
}

impl MailboxParams {
    fn grant(&self) -> MailboxPermission {
        MailboxPermission {
            mailbox: self.mailbox.clone(),
            user: self.user.clone(),
            right: self.right,
            automap: match self.right {
                MailboxRight::FullAccess => Some(self.automap.unwrap_or(true)),
                _ => None,
            },
        }
    }
}

/// `identity.grant_mailbox_access` (`GRANT = true`) and `identity.remove_mailbox_access`.
#[derive(Debug, Clone, Copy)]
pub struct MailboxAccess<const GRANT: bool>;

impl<const GRANT: bool> MailboxAccess<GRANT> {
    async fn holds(idp: &dyn IdentityProvider, grant: &MailboxPermission) -> Result<bool> {
        Ok(idp
            .mailbox_permissions(&grant.mailbox)
            .await?
            .iter()
            .any(|p| p.right == grant.right && p.user.eq_ignore_ascii_case(&grant.user)))
    }

    async fn apply(
        ctx: &ActionContext,
        proof: &ExecutionProof<'_>,
        params: &MailboxParams,
        grant: bool,
        plan: &Plan,
    ) -> Result<Outcome> {
        let idp = identity(ctx)?;
        let permission = params.grant();
        if grant {
            ctx.identity_writes(proof)?
                .grant_mailbox_access(proof, &permission)
                .await?;
        } else {
            ctx.identity_writes(proof)?
                .remove_mailbox_access(proof, &permission)
                .await?;
        }
        let holds = Self::holds(idp, &permission).await?;
        Ok(Outcome {
            changes: vec![Change::new(
                format!("mailbox:{}", params.mailbox),
                "permissions",
                None,
                Some(json!({ if grant { "granted" } else { "removed" }: permission })),
            )],
            state_before: plan.state_before.clone(),
            state_after: json!({ "holds": holds }),
            ..Outcome::new(verified(holds == grant))
        })
    }
}

#[async_trait]
impl<const GRANT: bool> TypedAction for MailboxAccess<GRANT> {
    type Params = MailboxParams;
    const DESCRIPTOR: Descriptor = if GRANT {
        Descriptor {
            id: "identity.grant_mailbox_access",
            summary: "Grant a user FullAccess, SendAs or SendOnBehalf on a mailbox",
            category: Category::Identity,
            risk: Risk::High,
            reversible: true,
            idempotent: true,
        }
    } else {
        Descriptor {
            id: "identity.remove_mailbox_access",
            summary: "Remove a user's FullAccess, SendAs or SendOnBehalf right on a mailbox",
            category: Category::Identity,
            risk: Risk::Medium,
            reversible: true,
            idempotent: true,
        }
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let idp = identity(ctx)?;
        if !idp.features().mailboxes {
            return Err(Error::unsupported("mailbox permissions"));
        }
        // The policy protects the mailbox owner: facts describe the mailbox, not the grantee.
        let (_, _, facts) = read_user(ctx, &params.mailbox).await?;
        let existing = idp.mailbox_permissions(&params.mailbox).await?;
        let permission = params.grant();
        let holds = existing
            .iter()
            .any(|p| p.right == permission.right && p.user.eq_ignore_ascii_case(&permission.user));
        let verb = if GRANT { "Grant" } else { "Remove" };
        let mut plan = plan_of::<Self>(
            request,
            format!(
                "{verb} {:?} on {} for {}",
                params.right, params.mailbox, params.user
            ),
        );
        plan.facts = facts;
        plan.state_before = json!({ "permissions": existing, "holds": holds });
        if holds != GRANT {
            plan.changes.push(Change::new(
                format!("mailbox:{}", params.mailbox),
                "permissions",
                None,
                Some(json!({ if GRANT { "granted" } else { "removed" }: permission })),
            ));
        }
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        Self::apply(ctx, proof, params, GRANT, plan).await
    }

    async fn undo(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        Self::apply(ctx, proof, params, !GRANT, plan).await
    }
}

/// `identity.remove_all_groups` (`LICENCES = false`) and `identity.remove_all_licenses`
/// (`true`): a leaver's access taken away in one step. The plan records every group
/// membership (or directly assigned licence) it removes, so undo puts back exactly those.
/// Groups managed elsewhere (dynamic, synced) and licences inherited from a group are reported
/// and left alone.
#[derive(Debug, Clone, Copy)]
pub struct RemoveAll<const LICENCES: bool>;

impl<const LICENCES: bool> RemoveAll<LICENCES> {
    const FIELD: &'static str = if LICENCES { "licenses" } else { "groups" };

    /// The ids the plan removes.
    fn planned(plan: &Plan) -> Vec<String> {
        plan.state_before["removing"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The ids the user still holds (direct licences, or group memberships).
    async fn held(idp: &dyn IdentityProvider, user: &User) -> Result<Vec<String>> {
        Ok(if LICENCES {
            idp.user_licenses(user)
                .await?
                .into_iter()
                .filter(|l| l.direct)
                .map(|l| l.sku_id)
                .collect()
        } else {
            idp.user_groups(user)
                .await?
                .into_iter()
                .map(|g| g.id)
                .collect()
        })
    }

    async fn apply(
        ctx: &ActionContext,
        proof: &ExecutionProof<'_>,
        params: &UserParams,
        plan: &Plan,
        add: bool,
    ) -> Result<Outcome> {
        let idp = identity(ctx)?;
        let user = idp.get_user(&params.user).await?;
        let ids = Self::planned(plan);
        let before = Self::held(idp, &user).await?;
        let writes = ctx.identity_writes(proof)?;
        let skus = if LICENCES {
            idp.licenses().await?
        } else {
            Vec::new()
        };
        for id in &ids {
            // Done already (a retry, or the state moved since the plan): nothing to change.
            if before.contains(id) == add {
                continue;
            }
            if LICENCES {
                let sku = skus.iter().find(|s| &s.id == id).ok_or_else(|| {
                    Error::not_found(format!("the tenant no longer has licence {id}"))
                })?;
                if add {
                    writes.assign_license(proof, &user, sku).await?;
                } else {
                    writes.remove_license(proof, &user, sku).await?;
                }
            } else {
                let group = idp.find_group(id).await?;
                if add {
                    writes.add_to_group(proof, &user, &group).await?;
                } else {
                    writes.remove_from_group(proof, &user, &group).await?;
                }
            }
        }
        let after = Self::held(idp, &user).await?;
        let settled = ids.iter().all(|id| after.contains(id) == add);
        Ok(Outcome {
            changes: plan.changes.clone(),
            state_before: plan.state_before.clone(),
            state_after: json!({ Self::FIELD: after }),
            ..Outcome::new(verified(settled))
        })
    }
}

#[async_trait]
impl<const LICENCES: bool> TypedAction for RemoveAll<LICENCES> {
    type Params = UserParams;
    const DESCRIPTOR: Descriptor = if LICENCES {
        Descriptor {
            id: "identity.remove_all_licenses",
            summary: "Remove every directly assigned licence from a user (a leaver)",
            category: Category::Identity,
            risk: Risk::High,
            reversible: true,
            idempotent: true,
        }
    } else {
        Descriptor {
            id: "identity.remove_all_groups",
            summary: "Remove a user from every group this directory manages (a leaver)",
            category: Category::Identity,
            risk: Risk::High,
            reversible: true,
            idempotent: true,
        }
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let verb = if LICENCES {
            "Remove every licence"
        } else {
            "Remove from every group"
        };
        let (mut plan, user) = user_plan::<Self>(ctx, request, &params.user, verb).await?;
        let idp = identity(ctx)?;
        let mut removing = Vec::new();
        if LICENCES {
            if !idp.features().licenses {
                return Err(Error::unsupported("licences"));
            }
            for held in idp.user_licenses(&user).await? {
                let name = held.sku_name.clone().unwrap_or_else(|| held.sku_id.clone());
                if held.direct {
                    removing.push(json!({ "id": held.sku_id, "name": name }));
                } else {
                    plan.warnings.push(format!(
                        "{name} comes from group(s) {}: it goes when the groups do",
                        held.inherited_from.join(", ")
                    ));
                }
            }
        } else {
            for group in idp.user_groups(&user).await? {
                if group.writable {
                    removing.push(json!({ "id": group.id, "name": group.name }));
                } else {
                    plan.warnings.push(format!(
                        "{} is managed elsewhere (dynamic or synced): change it there",
                        group.name
                    ));
                }
            }
        }
        for item in &removing {
            plan.changes.push(Change::new(
                resource(&user),
                Self::FIELD,
                Some(item["name"].clone()),
                None,
            ));
        }
        plan.state_before["removing"] = json!(removing);
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        Self::apply(ctx, proof, params, plan, false).await
    }

    async fn undo(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        Self::apply(ctx, proof, params, plan, true).await
    }
}
