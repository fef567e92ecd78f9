//! `rmm.*` actions.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::plan_of;
use crate::action::{ActionContext, Descriptor, ExecutionProof, TypedAction};
use crate::capability::ScriptState;
use crate::error::Result;
use crate::model::{ActionRequest, Category, Change, Outcome, Plan, Risk, StepStatus};

/// Input of the tag actions.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TagParams {
    /// Device id.
    pub device: String,
    /// The tag.
    pub tag: String,
}

/// `rmm.tag_device` (`ADD = true`) and `rmm.untag_device`: one tag, the others kept.
#[derive(Debug, Clone, Copy)]
pub struct DeviceTag<const ADD: bool>;

impl<const ADD: bool> DeviceTag<ADD> {
    async fn apply(
        ctx: &ActionContext,
        proof: &ExecutionProof<'_>,
        params: &TagParams,
        add: bool,
        plan: &Plan,
    ) -> Result<Outcome> {
        let writes = ctx.rmm_writes(proof)?;
        if add {
            writes.add_tag(proof, &params.device, &params.tag).await?;
        } else {
            writes
                .remove_tag(proof, &params.device, &params.tag)
                .await?;
        }
        let after = ctx.rmm()?.get_device(&params.device).await?;
        let has = after.tags.contains(&params.tag);
        Ok(Outcome {
            changes: plan.changes.clone(),
            state_before: plan.state_before.clone(),
            state_after: json!({ "tags": after.tags }),
            ..Outcome::new(if has == add {
                StepStatus::Verified
            } else {
                StepStatus::Succeeded
            })
        })
    }
}

#[async_trait]
impl<const ADD: bool> TypedAction for DeviceTag<ADD> {
    type Params = TagParams;
    const DESCRIPTOR: Descriptor = if ADD {
        Descriptor {
            id: "rmm.tag_device",
            summary: "Add one tag to a device, keeping its other tags",
            category: Category::Rmm,
            risk: Risk::Low,
            reversible: true,
            idempotent: true,
        }
    } else {
        Descriptor {
            id: "rmm.untag_device",
            summary: "Remove one tag from a device, keeping its other tags",
            category: Category::Rmm,
            risk: Risk::Low,
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
        let device = ctx.rmm()?.get_device(&params.device).await?;
        let verb = if ADD { "Tag" } else { "Untag" };
        let mut plan = plan_of::<Self>(
            request,
            format!("{verb} device {} with {:?}", device.name, params.tag),
        );
        plan.state_before = json!({ "tags": device.tags });
        if device.tags.contains(&params.tag) != ADD {
            plan.changes.push(Change::new(
                format!("device:{}", device.id),
                "tags",
                Some(json!(device.tags)),
                Some(json!({ if ADD { "added" } else { "removed" }: params.tag })),
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

/// `rmm.run_script`.
#[derive(Debug, Clone, Copy)]
pub struct RunScript;

/// Input of `rmm.run_script`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunScriptParams {
    /// Device id.
    pub device: String,
    /// Script id or name in the RMM library.
    pub script: String,
    /// Parameters passed to the script.
    #[serde(default)]
    pub parameters: String,
}

#[async_trait]
impl TypedAction for RunScript {
    type Params = RunScriptParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "rmm.run_script",
        summary: "Run a library script on a device and follow it to the end",
        category: Category::Rmm,
        risk: Risk::High,
        reversible: false,
        idempotent: false,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let device = ctx.rmm()?.get_device(&params.device).await?;
        let mut plan =
            plan_of::<Self>(request, format!("Run {} on {}", params.script, device.name));
        plan.state_before = json!({ "online": device.online });
        if !device.online {
            plan.warnings.push(format!(
                "{} is offline; the script runs when it reconnects",
                device.name
            ));
        }
        plan.changes.push(Change::new(
            format!("device:{}", device.id),
            "script",
            None,
            Some(json!(params.script)),
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
        let started = ctx
            .rmm_writes(proof)?
            .run_script(proof, &params.device, &params.script, &params.parameters)
            .await?;
        let run = follow(ctx.rmm()?, &params.device, started).await?;
        let status = match run.state {
            ScriptState::Succeeded => StepStatus::Verified,
            ScriptState::Running => StepStatus::Succeeded,
            ScriptState::Failed => StepStatus::Failed,
        };
        Ok(Outcome {
            changes: plan.changes.clone(),
            state_before: plan.state_before.clone(),
            state_after: serde_json::to_value(&run)?,
            ..Outcome::new(status)
        })
    }
}

/// How long a script run is followed before its outcome is reported as still running.
pub const SCRIPT_FOLLOW_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Follow a started run until it ends (its output is what later steps read: a diagnostic
/// script's findings), polling with a growing pause up to [`SCRIPT_FOLLOW_LIMIT`]; a run still
/// going then is reported as running.
async fn follow(
    rmm: &dyn crate::capability::Rmm,
    device: &str,
    mut run: crate::capability::ScriptRun,
) -> Result<crate::capability::ScriptRun> {
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(100);
    while run.state == ScriptState::Running && started.elapsed() < SCRIPT_FOLLOW_LIMIT {
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_secs(5));
        run = rmm.script_run(device, &run.id).await?;
    }
    Ok(run)
}
