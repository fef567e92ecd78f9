//! Vendor-specific actions (`m365.*`), beyond the vendor-neutral `identity.*` ones: Exchange
//! mailbox settings with undo from the recorded state, and service health for incident linking.
//!
//! | Id | Reversible | What |
//! |---|---|---|
//! | `m365.convert_to_shared` | yes | `Set-Mailbox -Type Shared` (undo: `Regular`) |
//! | `m365.set_forwarding` | yes | forwarding on (to an address, keeping a copy or not) or off |
//! | `m365.set_auto_reply` | yes | automatic replies on, off or scheduled |
//! | `m365.hide_from_gal` | yes | hide from / show in the global address list |
//! | `m365.list_service_issues` | read-only | Microsoft 365 service health issues |

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use stackhand_core::{
    Action, ActionContext, ActionId, ActionRequest, ActionSpec, Category, Change, Descriptor,
    Error, ErrorKind, ExecutionProof, IdentityProvider as _, Outcome, Plan, Result, Risk,
    StepStatus, TargetFacts, Typed, TypedAction,
};

use crate::connector::M365Connector;
use crate::models::ExoAutoReply;

/// The spec of every vendor-specific action, without a connector: what the factory describes.
pub fn specs() -> Vec<ActionSpec> {
    vec![
        Typed::<ConvertToShared>::spec_of(),
        Typed::<SetForwarding>::spec_of(),
        Typed::<SetAutoReply>::spec_of(),
        Typed::<HideFromGal>::spec_of(),
        Typed::<ListServiceIssues>::spec_of(),
    ]
}

/// Every vendor-specific action, bound to one connector (the same list as [`specs`]).
pub(crate) fn all(connector: &M365Connector) -> Vec<Arc<dyn Action>> {
    vec![
        Typed::shared(ConvertToShared(connector.clone())),
        Typed::shared(SetForwarding(connector.clone())),
        Typed::shared(SetAutoReply(connector.clone())),
        Typed::shared(HideFromGal(connector.clone())),
        Typed::shared(ListServiceIssues(connector.clone())),
    ]
}

/// An action bound to one tenant's connector refuses to run for another tenant.
fn check_tenant(connector: &M365Connector, ctx: &ActionContext) -> Result<()> {
    if connector.tenant() != ctx.tenant() {
        return Err(Error::invalid(format!(
            "m365 action bound to tenant {} asked to run for tenant {}",
            connector.tenant(),
            ctx.tenant()
        )));
    }
    Ok(())
}

/// A plan for a mailbox action, with the owner's roles as policy facts (admins' mailboxes can be
/// protected like their accounts).
async fn mailbox_plan<A: TypedAction>(
    connector: &M365Connector,
    ctx: &ActionContext,
    request: &ActionRequest,
    mailbox: &str,
    summary: String,
) -> Result<Plan> {
    check_tenant(connector, ctx)?;
    let mut plan = Plan::new(
        ActionId::from_static(A::DESCRIPTOR.id),
        request.tenant.clone(),
        summary,
    );
    let mut facts = TargetFacts {
        login: Some(mailbox.to_string()),
        ..TargetFacts::default()
    };
    match connector.get_user(mailbox).await {
        Ok(owner) => {
            facts.privileged = !owner.roles.is_empty();
            facts.roles = owner.roles;
            facts.department = owner.department;
        }
        // A mailbox whose owner Graph does not know by that address is still a mailbox.
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    plan.facts = facts;
    Ok(plan)
}

fn resource(mailbox: &str) -> String {
    format!("mailbox:{mailbox}")
}

/// The outcome of a mailbox change: the plan's changes and state before, the state read back
/// after, verified when it is what was wanted.
fn outcome(plan: &Plan, state_after: serde_json::Value, verified: bool) -> Outcome {
    let status = if verified {
        StepStatus::Verified
    } else {
        StepStatus::Failed
    };
    Outcome {
        changes: plan.changes.clone(),
        state_before: plan.state_before.clone(),
        state_after,
        ..Outcome::new(status)
    }
}

fn before<T: for<'de> Deserialize<'de>>(plan: &Plan, key: &str) -> Result<T> {
    serde_json::from_value(plan.state_before.get(key).cloned().unwrap_or_default()).map_err(|e| {
        Error::invalid(format!(
            "the recorded state before has no usable `{key}` ({e}); cannot undo"
        ))
    })
}

/// Input naming one mailbox.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MailboxParams {
    /// The mailbox (UPN or primary address).
    pub mailbox: String,
}

/// `m365.convert_to_shared`.
#[derive(Debug, Clone)]
pub struct ConvertToShared(M365Connector);

impl ConvertToShared {
    async fn convert(&self, mailbox: &str, shared: bool, plan: &Plan) -> Result<Outcome> {
        self.0.set_mailbox_shared(mailbox, shared).await?;
        let after = self.0.mailbox(mailbox).await?;
        let kind = after.recipient_type_details.unwrap_or_default();
        let wanted = if shared {
            "SharedMailbox"
        } else {
            "UserMailbox"
        };
        Ok(outcome(
            plan,
            json!({ "recipient_type_details": kind }),
            kind == wanted,
        ))
    }
}

#[async_trait]
impl TypedAction for ConvertToShared {
    type Params = MailboxParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "m365.convert_to_shared",
        summary: "Convert a user mailbox to a shared mailbox (do it before removing the licence)",
        category: Category::Identity,
        risk: Risk::High,
        reversible: true,
        idempotent: true,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let mut plan = mailbox_plan::<Self>(
            &self.0,
            ctx,
            request,
            &params.mailbox,
            format!("Convert {} to a shared mailbox", params.mailbox),
        )
        .await?;
        let mailbox = self.0.mailbox(&params.mailbox).await?;
        let kind = mailbox.recipient_type_details.unwrap_or_default();
        plan.state_before = json!({ "recipient_type_details": kind });
        if kind != "SharedMailbox" {
            plan.changes.push(Change::new(
                resource(&params.mailbox),
                "RecipientTypeDetails",
                Some(json!(kind)),
                Some(json!("SharedMailbox")),
            ));
            plan.warnings.push("A shared mailbox under 50 GB needs no licence: remove the licence after the conversion, not before, or the mailbox is deleted after the grace period".into());
        }
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        _proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        check_tenant(&self.0, ctx)?;
        self.convert(&params.mailbox, true, plan).await
    }

    async fn undo(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        _proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        check_tenant(&self.0, ctx)?;
        let kind: String = before(plan, "recipient_type_details")?;
        self.convert(&params.mailbox, kind == "SharedMailbox", plan)
            .await
    }
}

/// Input of `m365.set_forwarding`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardingParams {
    /// The mailbox.
    pub mailbox: String,
    /// Where to forward to; absent to stop forwarding.
    #[serde(default)]
    pub forward_to: Option<String>,
    /// Keep a copy in the mailbox while forwarding (default true).
    #[serde(default = "yes")]
    pub keep_copy: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Forwarding {
    forwarding_smtp_address: Option<String>,
    deliver_to_mailbox_and_forward: bool,
}

/// `m365.set_forwarding`.
#[derive(Debug, Clone)]
pub struct SetForwarding(M365Connector);

impl SetForwarding {
    async fn current(&self, mailbox: &str) -> Result<Forwarding> {
        let settings = self.0.mailbox(mailbox).await?;
        Ok(Forwarding {
            forwarding_smtp_address: settings.forwarding_smtp_address,
            deliver_to_mailbox_and_forward: settings.deliver_to_mailbox_and_forward,
        })
    }

    async fn apply(&self, mailbox: &str, wanted: &Forwarding, plan: &Plan) -> Result<Outcome> {
        self.0
            .set_forwarding(
                mailbox,
                wanted.forwarding_smtp_address.as_deref(),
                wanted.deliver_to_mailbox_and_forward,
            )
            .await?;
        let after = self.current(mailbox).await?;
        let same_target = after.forwarding_smtp_address.as_deref().map(normalise)
            == wanted.forwarding_smtp_address.as_deref().map(normalise);
        Ok(outcome(plan, serde_json::to_value(&after)?, same_target))
    }
}

fn normalise(address: &str) -> String {
    address
        .trim_start_matches("smtp:")
        .trim_start_matches("SMTP:")
        .to_ascii_lowercase()
}

#[async_trait]
impl TypedAction for SetForwarding {
    type Params = ForwardingParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "m365.set_forwarding",
        summary: "Turn mailbox forwarding on (to an address, keeping a copy or not) or off",
        category: Category::Identity,
        risk: Risk::High,
        reversible: true,
        idempotent: true,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let summary = match &params.forward_to {
            Some(target) => format!("Forward {} to {target}", params.mailbox),
            None => format!("Stop forwarding {}", params.mailbox),
        };
        let mut plan =
            mailbox_plan::<Self>(&self.0, ctx, request, &params.mailbox, summary).await?;
        let current = self.current(&params.mailbox).await?;
        plan.state_before = json!({ "forwarding": current });
        let target_changes = current.forwarding_smtp_address.as_deref().map(normalise)
            != params.forward_to.as_deref().map(normalise);
        if target_changes
            || (params.forward_to.is_some()
                && current.deliver_to_mailbox_and_forward != params.keep_copy)
        {
            plan.changes.push(Change::new(
                resource(&params.mailbox),
                "ForwardingSmtpAddress",
                Some(json!(current.forwarding_smtp_address)),
                Some(json!(params.forward_to)),
            ));
        }
        if let Some(target) = &params.forward_to
            && let Some(domain) = target.rsplit('@').next()
            && !params
                .mailbox
                .to_ascii_lowercase()
                .ends_with(&domain.to_ascii_lowercase())
        {
            plan.warnings.push(format!("{target} is outside the mailbox's domain: outbound spam policy may block external forwarding"));
        }
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        _proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        check_tenant(&self.0, ctx)?;
        let wanted = Forwarding {
            forwarding_smtp_address: params.forward_to.clone(),
            deliver_to_mailbox_and_forward: params.forward_to.is_some() && params.keep_copy,
        };
        self.apply(&params.mailbox, &wanted, plan).await
    }

    async fn undo(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        _proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        check_tenant(&self.0, ctx)?;
        let previous: Forwarding = before(plan, "forwarding")?;
        self.apply(&params.mailbox, &previous, plan).await
    }
}

/// Automatic-reply states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AutoReplyState {
    /// Off.
    Disabled,
    /// On until turned off.
    Enabled,
    /// On between `start_time` and `end_time`.
    Scheduled,
}

/// Who outside the organisation gets the external reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExternalAudience {
    /// Nobody outside.
    None,
    /// Senders in the mailbox's contacts.
    Known,
    /// Every external sender.
    All,
}

/// Input of `m365.set_auto_reply`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoReplyParams {
    /// The mailbox.
    pub mailbox: String,
    /// On, off or scheduled.
    pub state: AutoReplyState,
    /// Reply to internal senders.
    #[serde(default)]
    pub internal_message: Option<String>,
    /// Reply to external senders.
    #[serde(default)]
    pub external_message: Option<String>,
    /// Who outside gets the reply.
    #[serde(default)]
    pub external_audience: Option<ExternalAudience>,
    /// Start (ISO 8601), for a scheduled reply.
    #[serde(default)]
    pub start_time: Option<String>,
    /// End (ISO 8601), for a scheduled reply.
    #[serde(default)]
    pub end_time: Option<String>,
}

/// `m365.set_auto_reply`.
#[derive(Debug, Clone)]
pub struct SetAutoReply(M365Connector);

impl SetAutoReply {
    async fn apply(&self, mailbox: &str, wanted: &ExoAutoReply, plan: &Plan) -> Result<Outcome> {
        self.0.set_auto_reply(mailbox, wanted).await?;
        let after = self.0.auto_reply(mailbox).await?;
        Ok(outcome(
            plan,
            json!({ "auto_reply": after }),
            after.auto_reply_state == wanted.auto_reply_state,
        ))
    }
}

#[async_trait]
impl TypedAction for SetAutoReply {
    type Params = AutoReplyParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "m365.set_auto_reply",
        summary: "Turn a mailbox's automatic replies on, off or scheduled",
        category: Category::Identity,
        risk: Risk::Medium,
        reversible: true,
        idempotent: true,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        if params.state == AutoReplyState::Scheduled
            && (params.start_time.is_none() || params.end_time.is_none())
        {
            return Err(Error::invalid(
                "m365.set_auto_reply: a scheduled reply needs start_time and end_time",
            ));
        }
        let mut plan = mailbox_plan::<Self>(
            &self.0,
            ctx,
            request,
            &params.mailbox,
            format!(
                "Set automatic replies of {} to {:?}",
                params.mailbox, params.state
            ),
        )
        .await?;
        let current = self.0.auto_reply(&params.mailbox).await?;
        let wanted = wanted_reply(params);
        plan.state_before = json!({ "auto_reply": current });
        if current != wanted {
            plan.changes.push(Change::new(
                resource(&params.mailbox),
                "AutoReplyState",
                Some(json!(current.auto_reply_state)),
                Some(json!(wanted.auto_reply_state)),
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
        _proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        check_tenant(&self.0, ctx)?;
        self.apply(&params.mailbox, &wanted_reply(params), plan)
            .await
    }

    async fn undo(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        _proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        check_tenant(&self.0, ctx)?;
        let previous: ExoAutoReply = before(plan, "auto_reply")?;
        self.apply(&params.mailbox, &previous, plan).await
    }
}

fn wanted_reply(params: &AutoReplyParams) -> ExoAutoReply {
    let state = match params.state {
        AutoReplyState::Disabled => "Disabled",
        AutoReplyState::Enabled => "Enabled",
        AutoReplyState::Scheduled => "Scheduled",
    };
    ExoAutoReply {
        auto_reply_state: state.into(),
        internal_message: params.internal_message.clone(),
        external_message: params.external_message.clone(),
        external_audience: params.external_audience.map(|a| {
            match a {
                ExternalAudience::None => "None",
                ExternalAudience::Known => "Known",
                ExternalAudience::All => "All",
            }
            .to_string()
        }),
        start_time: params.start_time.clone(),
        end_time: params.end_time.clone(),
    }
}

/// Input of `m365.hide_from_gal`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HideParams {
    /// The mailbox.
    pub mailbox: String,
    /// Hide (default) or show again.
    #[serde(default = "yes")]
    pub hidden: bool,
}

/// `m365.hide_from_gal`.
#[derive(Debug, Clone)]
pub struct HideFromGal(M365Connector);

impl HideFromGal {
    async fn apply(&self, mailbox: &str, hidden: bool, plan: &Plan) -> Result<Outcome> {
        self.0
            .set_hidden_from_address_lists(mailbox, hidden)
            .await?;
        let after = self
            .0
            .mailbox(mailbox)
            .await?
            .hidden_from_address_lists_enabled;
        Ok(outcome(plan, json!({ "hidden": after }), after == hidden))
    }
}

#[async_trait]
impl TypedAction for HideFromGal {
    type Params = HideParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "m365.hide_from_gal",
        summary: "Hide a mailbox from the global address list, or show it again",
        category: Category::Identity,
        risk: Risk::Medium,
        reversible: true,
        idempotent: true,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let verb = if params.hidden { "Hide" } else { "Show" };
        let mut plan = mailbox_plan::<Self>(
            &self.0,
            ctx,
            request,
            &params.mailbox,
            format!("{verb} {} in the address list", params.mailbox),
        )
        .await?;
        let hidden = self
            .0
            .mailbox(&params.mailbox)
            .await?
            .hidden_from_address_lists_enabled;
        plan.state_before = json!({ "hidden": hidden });
        if hidden != params.hidden {
            plan.changes.push(Change::new(
                resource(&params.mailbox),
                "HiddenFromAddressListsEnabled",
                Some(json!(hidden)),
                Some(json!(params.hidden)),
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
        _proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        check_tenant(&self.0, ctx)?;
        self.apply(&params.mailbox, params.hidden, plan).await
    }

    async fn undo(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        _proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        check_tenant(&self.0, ctx)?;
        let hidden: bool = before(plan, "hidden")?;
        self.apply(&params.mailbox, hidden, plan).await
    }
}

/// Input of `m365.list_service_issues`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceIssueParams {
    /// Only issues Microsoft has not resolved (default true).
    #[serde(default = "yes")]
    pub open_only: bool,
    /// Only this service (`Exchange Online`).
    #[serde(default)]
    pub service: Option<String>,
}

/// `m365.list_service_issues`: read-only, for linking tickets to a Microsoft incident.
#[derive(Debug, Clone)]
pub struct ListServiceIssues(M365Connector);

#[async_trait]
impl TypedAction for ListServiceIssues {
    type Params = ServiceIssueParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "m365.list_service_issues",
        summary: "List Microsoft 365 service health issues (for linking tickets to an incident)",
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
        check_tenant(&self.0, ctx)?;
        let issues = self
            .0
            .service_issues(params.open_only, params.service.as_deref())
            .await?;
        let mut plan = Plan::new(
            ActionId::from_static(Self::DESCRIPTOR.id),
            request.tenant.clone(),
            format!("Read {} Microsoft 365 service issue(s)", issues.len()),
        );
        plan.state_before = json!({ "issues": issues });
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        _proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        check_tenant(&self.0, ctx)?;
        let issues = self
            .0
            .service_issues(params.open_only, params.service.as_deref())
            .await?;
        let health = self.0.service_health().await?;
        Ok(Outcome {
            state_before: plan.state_before.clone(),
            state_after: json!({ "issues": issues, "health": health }),
            ..Outcome::new(StepStatus::Verified)
        })
    }
}
