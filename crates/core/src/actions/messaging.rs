//! `messaging.*` actions.

use async_trait::async_trait;
use serde_json::json;

use super::plan_of;
use crate::action::{ActionContext, Descriptor, ExecutionProof, TypedAction};
use crate::capability::Message;
use crate::error::{Error, Result};
use crate::model::{ActionRequest, Category, Change, Outcome, Plan, Risk, StepStatus};

/// `messaging.send`: tell a person what was done.
#[derive(Debug, Clone, Copy)]
pub struct SendMessage;

#[async_trait]
impl TypedAction for SendMessage {
    type Params = Message;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "messaging.send",
        summary: "Send a person a message (mail) about their request",
        category: Category::Messaging,
        risk: Risk::Low,
        reversible: false,
        idempotent: false,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        ctx.check_messaging()?;
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
        ctx.messaging(proof)?.send(proof, params).await?;
        Ok(Outcome {
            changes: plan.changes.clone(),
            ..Outcome::new(StepStatus::Succeeded)
        })
    }
}
