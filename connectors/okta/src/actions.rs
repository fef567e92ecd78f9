//! Okta-specific lifecycle actions: `okta.suspend`, `okta.unsuspend` (each the other's undo),
//! `okta.deactivate` (critical, irreversible) and `okta.activate`, and [`specs`] listing them.
//!
//! A connector hands its actions out from `Connector::actions()`; they are made only inside
//! this crate, because each holds the connector's client and writes when the engine calls
//! `execute` or `undo` with its `ExecutionProof`.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use stackhand_core::{
    ActionContext, ActionId, ActionRequest, ActionSpec, Category, Change, Descriptor, Error,
    ExecutionProof, Group, Outcome, Plan, Result, Risk, StepStatus, TargetFacts, Typed,
    TypedAction,
};

use crate::client::{Lifecycle, OktaClient};
use crate::models::{OktaGroup, status};

/// The specs of every `okta.*` action, without building a connector (for the factory's
/// description).
pub fn specs() -> Vec<ActionSpec> {
    vec![
        Typed::<Suspend>::spec_of(),
        Typed::<Unsuspend>::spec_of(),
        Typed::<Deactivate>::spec_of(),
        Typed::<Activate>::spec_of(),
    ]
}

/// Input of the Okta lifecycle actions.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OktaUserParams {
    /// Okta id, login, or unambiguous login short name of the user.
    pub user: String,
}

/// One lifecycle transition: the call, the statuses it starts from, the status it ends in.
#[derive(Debug, Clone, Copy)]
struct Transition {
    op: Lifecycle,
    from: &'static [&'static str],
    to: &'static str,
    verb: &'static str,
}

const SUSPEND: Transition = Transition {
    op: Lifecycle::Suspend,
    from: &[status::ACTIVE],
    to: status::SUSPENDED,
    verb: "Suspend",
};
const UNSUSPEND: Transition = Transition {
    op: Lifecycle::Unsuspend,
    from: &[status::SUSPENDED],
    to: status::ACTIVE,
    verb: "Unsuspend",
};
const DEACTIVATE: Transition = Transition {
    op: Lifecycle::Deactivate,
    from: &[
        status::ACTIVE,
        status::SUSPENDED,
        status::LOCKED_OUT,
        status::STAGED,
        "PROVISIONED",
        "RECOVERY",
        "PASSWORD_EXPIRED",
    ],
    to: status::DEPROVISIONED,
    verb: "Deactivate",
};
const ACTIVATE: Transition = Transition {
    op: Lifecycle::Activate,
    from: &[status::STAGED, status::DEPROVISIONED],
    to: status::ACTIVE,
    verb: "Activate",
};

/// The client, after checking the request is for the tenant it serves.
fn client_for<'a>(client: &'a OktaClient, ctx: &ActionContext) -> Result<&'a OktaClient> {
    if client.tenant() != ctx.tenant() {
        return Err(Error::invalid(format!(
            "this okta action serves tenant {}, not {}",
            client.tenant(),
            ctx.tenant()
        )));
    }
    Ok(client)
}

/// The client (checked as for [`client_for`]) and the id of the user the plan recorded.
fn planned_user<'a>(
    client: &'a OktaClient,
    ctx: &ActionContext,
    plan: &'a Plan,
) -> Result<(&'a OktaClient, &'a str)> {
    let client = client_for(client, ctx)?;
    let id = plan
        .state_before
        .get("id")
        .and_then(|v| v.as_str())
        .ok_or_else(|| Error::invalid("the plan has no user id in its state before"))?;
    Ok((client, id))
}

async fn plan_transition(
    client: &OktaClient,
    ctx: &ActionContext,
    request: &ActionRequest,
    descriptor: &Descriptor,
    params: &OktaUserParams,
    transition: Transition,
) -> Result<Plan> {
    let client = client_for(client, ctx)?;
    let user = client.get_user(&params.user).await?;
    let roles: Vec<String> = if client.reads_admin_roles() {
        client
            .user_roles(&user.id)
            .await?
            .into_iter()
            .map(|r| r.role_type)
            .collect()
    } else {
        Vec::new()
    };
    let groups: Vec<Group> = client
        .user_groups(&user.id)
        .await?
        .into_iter()
        .map(|g: OktaGroup| g.into())
        .collect();
    let login = user.profile.login.clone();
    let current = user.status.clone();
    let mut plan = Plan::new(
        ActionId::from_static(descriptor.id),
        request.tenant.clone(),
        format!("{} Okta user {login} ({current})", transition.verb),
    );
    plan.facts = TargetFacts {
        login: Some(login.clone()),
        privileged: !roles.is_empty(),
        roles,
        groups: groups.iter().map(|g| g.name.clone()).collect(),
        department: user
            .profile
            .department
            .clone()
            .map(stackhand_core::Department),
        grants: Vec::new(),
    };
    plan.state_before = json!({"id": user.id, "login": login, "status": current});
    if current == transition.to {
        plan.summary = format!("Okta user {login} is already {current}: nothing to do");
        return Ok(plan);
    }
    if !transition.from.contains(&current.as_str()) {
        return Err(Error::conflict(format!(
            "cannot {} Okta user {login}: the user is {current}, and this needs {}",
            transition.verb.to_lowercase(),
            transition.from.join(" or ")
        )));
    }
    plan.changes.push(Change::new(
        format!("user:{login}"),
        "status",
        Some(json!(current)),
        Some(json!(transition.to)),
    ));
    if transition.op == Lifecycle::Deactivate {
        plan.warnings.push(
            "Deactivation is irreversible: Okta deprovisions every app assignment, which may delete the user's data in those apps.".into(),
        );
    }
    Ok(plan)
}

async fn apply(
    client: &OktaClient,
    ctx: &ActionContext,
    plan: &Plan,
    transition: Transition,
) -> Result<Outcome> {
    let (client, id) = planned_user(client, ctx, plan)?;
    if plan.is_noop() {
        return Ok(Outcome {
            state_before: plan.state_before.clone(),
            state_after: plan.state_before.clone(),
            ..Outcome::new(StepStatus::Skipped)
        }
        .with_message(plan.summary.clone()));
    }
    if transition.op == Lifecycle::Deactivate {
        tracing::warn!(user_id = id, "deactivating an Okta user: irreversible");
    }
    client.lifecycle(id, transition.op).await?;
    let after = client.get_user(id).await?;
    // Activation without a password ends in PROVISIONED, which is still a success.
    let reached = after.status == transition.to
        || (transition.op == Lifecycle::Activate && after.status == "PROVISIONED");
    Ok(Outcome {
        changes: plan.changes.clone(),
        state_before: plan.state_before.clone(),
        state_after: json!({"id": after.id, "login": after.profile.login, "status": after.status}),
        ..Outcome::new(if reached {
            StepStatus::Verified
        } else {
            StepStatus::Succeeded
        })
    })
}

/// Undo a transition: only from the state it produced, back to the state before.
async fn revert(
    client: &OktaClient,
    ctx: &ActionContext,
    plan: &Plan,
    reverse: Transition,
) -> Result<Outcome> {
    let (client, id) = planned_user(client, ctx, plan)?;
    let before = plan
        .state_before
        .get("status")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let current = client.get_user(id).await?;
    if plan.is_noop() || current.status == before {
        return Ok(Outcome::new(StepStatus::Skipped).with_message("already in the state before"));
    }
    if !reverse.from.contains(&current.status.as_str()) {
        return Err(Error::conflict(format!(
            "cannot undo: the user is now {}, not {}",
            current.status,
            reverse.from.join(" or ")
        )));
    }
    client.lifecycle(id, reverse.op).await?;
    let after = client.get_user(id).await?;
    Ok(Outcome {
        changes: vec![Change::new(
            format!("user:{}", after.profile.login),
            "status",
            Some(json!(current.status)),
            Some(json!(after.status)),
        )],
        state_before: json!({"id": id, "status": current.status}),
        state_after: json!({"id": after.id, "login": after.profile.login, "status": after.status}),
        ..Outcome::new(if after.status == before {
            StepStatus::Verified
        } else {
            StepStatus::Succeeded
        })
    })
}

macro_rules! lifecycle_action {
    ($(#[$doc:meta])* $name:ident, $transition:expr, $descriptor:expr, undo = $undo:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            client: OktaClient,
        }

        impl $name {
            /// The action for one org's client.
            pub(crate) fn new(client: OktaClient) -> Self {
                Self { client }
            }
        }

        #[async_trait]
        impl TypedAction for $name {
            type Params = OktaUserParams;
            const DESCRIPTOR: Descriptor = $descriptor;

            async fn plan(
                &self,
                ctx: &ActionContext,
                request: &ActionRequest,
                params: &Self::Params,
            ) -> Result<Plan> {
                plan_transition(&self.client, ctx, request, &Self::DESCRIPTOR, params, $transition).await
            }

            async fn execute(
                &self,
                ctx: &ActionContext,
                _request: &ActionRequest,
                _params: &Self::Params,
                plan: &Plan,
                _proof: &ExecutionProof<'_>,
            ) -> Result<Outcome> {
                apply(&self.client, ctx, plan, $transition).await
            }

            async fn undo(
                &self,
                ctx: &ActionContext,
                _request: &ActionRequest,
                _params: &Self::Params,
                plan: &Plan,
                _proof: &ExecutionProof<'_>,
            ) -> Result<Outcome> {
                let undo: Option<Transition> = $undo;
                match undo {
                    Some(reverse) => revert(&self.client, ctx, plan, reverse).await,
                    None => Err(Error::unsupported(&format!("undo of {}", Self::DESCRIPTOR.id))),
                }
            }
        }
    };
}

lifecycle_action!(
    /// `okta.suspend`: block sign-in, keeping groups and app assignments; undone by unsuspend.
    Suspend,
    SUSPEND,
    Descriptor {
        id: "okta.suspend",
        summary: "Suspend an ACTIVE Okta user: sign-in blocked, groups and apps kept (undo: unsuspend)",
        category: Category::Identity,
        risk: Risk::High,
        reversible: true,
        idempotent: true,
    },
    undo = Some(UNSUSPEND)
);

lifecycle_action!(
    /// `okta.unsuspend`: return a SUSPENDED user to ACTIVE; undone by suspend.
    Unsuspend,
    UNSUSPEND,
    Descriptor {
        id: "okta.unsuspend",
        summary: "Unsuspend a SUSPENDED Okta user back to ACTIVE (undo: suspend)",
        category: Category::Identity,
        risk: Risk::Medium,
        reversible: true,
        idempotent: true,
    },
    undo = Some(SUSPEND)
);

lifecycle_action!(
    /// `okta.deactivate`: deprovision the user. Irreversible.
    Deactivate,
    DEACTIVATE,
    Descriptor {
        id: "okta.deactivate",
        summary: "Deactivate an Okta user (DEPROVISIONED). IRREVERSIBLE: every app assignment is deprovisioned and app data may be destroyed; there is no undo",
        category: Category::Identity,
        risk: Risk::Critical,
        reversible: false,
        idempotent: true,
    },
    undo = None
);

lifecycle_action!(
    /// `okta.activate`: activate a STAGED or DEPROVISIONED user. Not reversible: the only way
    /// back is a destructive deactivation, which is its own action.
    Activate,
    ACTIVATE,
    Descriptor {
        id: "okta.activate",
        summary: "Activate a STAGED or DEPROVISIONED Okta user without sending email (no undo: going back would mean okta.deactivate)",
        category: Category::Identity,
        risk: Risk::High,
        reversible: false,
        idempotent: true,
    },
    undo = None
);
