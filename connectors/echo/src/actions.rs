//! Echo's own action, `echo.retag`, and [`specs`] listing it for the factory's description.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use stackhand_core::{
    ActionContext, ActionId, ActionRequest, ActionSpec, Category, Change, Descriptor, Error,
    ExecutionProof, Outcome, Plan, Result, Risk, StepStatus, Typed, TypedAction,
};

/// Every vendor action an Echo connector offers, as
/// [`ConnectorFactory::describe`](stackhand_core::ConnectorFactory::describe) lists them.
pub fn specs() -> Vec<ActionSpec> {
    vec![Typed::<Retag>::spec_of()]
}

/// Input of `echo.retag`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetagParams {
    /// Echo's device id.
    pub device: String,
    /// The tag to remove.
    pub from: String,
    /// The tag to add in its place.
    pub to: String,
}

/// `echo.retag`: replace the tag `from` with `to` on one device, keeping its other tags.
///
/// The plan reads the device and records its tags as the state before. Execute removes `from`
/// (if the device has it) and then adds `to` (if it lacks it), so a device at Echo's tag limit
/// has room; if adding fails, `from` is put back. Undo removes `to` (if it was added) and adds
/// `from` back (if it was removed).
#[derive(Debug, Clone, Copy, Default)]
pub struct Retag;

/// The tags recorded in the plan's state before.
#[derive(Deserialize)]
struct Before {
    tags: Vec<String>,
}

impl Before {
    fn of(plan: &Plan) -> Result<Self> {
        serde_json::from_value(plan.state_before.clone()).map_err(|e| {
            Error::invalid(format!(
                "the plan of {} records no tags before: {e}",
                Retag::DESCRIPTOR.id
            ))
        })
    }

    fn has(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

#[async_trait]
impl TypedAction for Retag {
    type Params = RetagParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "echo.retag",
        summary: "Replace one tag on an Echo device with another, keeping its other tags",
        category: Category::Rmm,
        risk: Risk::Low,
        reversible: true,
        idempotent: true,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        if params.from == params.to {
            return Err(Error::invalid(format!(
                "{}: from and to are the same tag {:?}",
                Self::DESCRIPTOR.id,
                params.from
            )));
        }
        let device = ctx.rmm()?.get_device(&params.device).await?;
        let had_from = device.tags.contains(&params.from);
        let had_to = device.tags.contains(&params.to);
        let mut plan = Plan::new(
            ActionId::from_static(Self::DESCRIPTOR.id),
            request.tenant.clone(),
            format!(
                "Retag device {} from {:?} to {:?}",
                device.name, params.from, params.to
            ),
        );
        plan.state_before = json!({ "tags": device.tags });
        let resource = format!("device:{}", device.id);
        if had_from {
            plan.changes.push(Change::new(
                &resource,
                "tags",
                Some(json!(device.tags)),
                Some(json!({ "removed": params.from })),
            ));
        } else {
            plan.warnings.push(format!(
                "{} has no tag {:?}; only {:?} is added",
                device.name, params.from, params.to
            ));
        }
        if !had_to {
            plan.changes.push(Change::new(
                &resource,
                "tags",
                Some(json!(device.tags)),
                Some(json!({ "added": params.to })),
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
        let before = Before::of(plan)?;
        let writes = ctx.rmm_writes(proof)?;
        let removed = before.has(&params.from);
        if removed {
            writes
                .remove_tag(proof, &params.device, &params.from)
                .await?;
        }
        if !before.has(&params.to)
            && let Err(error) = writes.add_tag(proof, &params.device, &params.to).await
        {
            // Leave the device as it was: a failed retag changes nothing.
            if removed {
                let restored = writes.add_tag(proof, &params.device, &params.from).await;
                let note = match restored {
                    Ok(()) => format!("{:?} was put back", params.from),
                    Err(e) => format!("{:?} could not be put back: {e}", params.from),
                };
                return Err(error.with_context("rollback", note));
            }
            return Err(error);
        }
        read_back(ctx, params, plan, false, true).await
    }

    async fn undo(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        let before = Before::of(plan)?;
        let writes = ctx.rmm_writes(proof)?;
        if !before.has(&params.to) {
            writes.remove_tag(proof, &params.device, &params.to).await?;
        }
        if before.has(&params.from) {
            writes.add_tag(proof, &params.device, &params.from).await?;
        }
        read_back(
            ctx,
            params,
            plan,
            before.has(&params.from),
            before.has(&params.to),
        )
        .await
    }
}

/// Read the device back: the outcome is verified when it has `from` and `to` exactly as wanted.
async fn read_back(
    ctx: &ActionContext,
    params: &RetagParams,
    plan: &Plan,
    want_from: bool,
    want_to: bool,
) -> Result<Outcome> {
    let after = ctx.rmm()?.get_device(&params.device).await?;
    let done = after.tags.contains(&params.from) == want_from
        && after.tags.contains(&params.to) == want_to;
    Ok(Outcome {
        changes: plan.changes.clone(),
        state_before: plan.state_before.clone(),
        state_after: json!({ "tags": after.tags }),
        ..Outcome::new(if done {
            StepStatus::Verified
        } else {
            StepStatus::Succeeded
        })
    })
}
