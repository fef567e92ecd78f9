//! `messaging.*` actions.

use async_trait::async_trait;
use schemars::JsonSchema;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::plan_of;
use crate::action::{ActionContext, Descriptor, ExecutionProof, TypedAction};
use crate::capability::Message;
use crate::error::{Error, Result};
use crate::model::{ActionRequest, Category, Change, Outcome, Plan, Risk, StepStatus};

/// `messaging.send`: tell a person what was done.
#[derive(Debug, Clone, Copy)]
pub struct SendMessage;

/// Input of `messaging.send`. A credential handed over by mail (a new starter's initial
/// password, to the manager) is the secret parameter `enclosed`: it replaces `{enclosed}` in
/// the body when the mail is sent, and the stored, audited body keeps the placeholder.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendParams {
    /// Recipient address.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body; `{enclosed}` marks where the secret goes.
    pub body: String,
    /// The secret enclosed (secret parameter).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub enclosed: Option<SecretString>,
}

#[async_trait]
impl TypedAction for SendMessage {
    type Params = SendParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "messaging.send",
        summary: "Send a person a message (mail) about their request",
        category: Category::Messaging,
        risk: Risk::Low,
        reversible: false,
        idempotent: false,
    };
    const SECRET_PARAMS: &'static [&'static str] = &["enclosed"];

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        ctx.check_messaging()?;
        if params.enclosed.is_some() != params.body.contains("{enclosed}") {
            return Err(Error::invalid(
                "messaging.send: an enclosed secret and a body with {enclosed} go together; \
                 the body says where the secret goes",
            ));
        }
        if !params.to.contains('@') {
            return Err(Error::invalid(format!(
                "messaging.send needs an email address, got {:?}",
                params.to
            )));
        }
        let mut plan = plan_of::<Self>(request, format!("Tell {}: {}", params.to, params.subject));
        plan.facts.login = Some(params.to.clone());
        plan.changes.push(Change::new(
            format!("mailbox:{}", params.to),
            "message",
            None,
            Some(json!(params.subject)),
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
        let body = match &params.enclosed {
            Some(secret) => params.body.replace("{enclosed}", secret.expose_secret()),
            None => params.body.clone(),
        };
        let message = Message {
            to: params.to.clone(),
            subject: params.subject.clone(),
            body,
        };
        ctx.messaging(proof)?.send(proof, &message).await?;
        Ok(Outcome {
            changes: plan.changes.clone(),
            ..Outcome::new(StepStatus::Succeeded)
        })
    }
}
