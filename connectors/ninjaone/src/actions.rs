//! NinjaOne's own actions, where the built-in `rmm.*` ones (`rmm.tag_device`,
//! `rmm.untag_device`, `rmm.run_script`, through the [`Rmm`](stackhand_core::Rmm) and
//! [`RmmWrites`](stackhand_core::RmmWrites) implementations) do not reach, and [`specs`]
//! listing them for the factory's description.
//!
//! | Id | What | Risk | Reversible |
//! |---|---|---|---|
//! | `ninjaone.reboot_device` | `POST /v2/device/{id}/reboot/{NORMAL\|FORCED}`, queued while the device is offline | High | no |
//! | `ninjaone.reset_alert` | `POST /v2/alert/{uid}/reset`: close an open alert (triggered condition) | Medium | no |
//!
//! Each is made by the connector ([`Connector::actions`](stackhand_core::Connector::actions))
//! around its client; the plan only reads, and the write happens in `execute`, with the
//! engine's proof.

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use stackhand_core::{
    Action, ActionContext, ActionId, ActionRequest, ActionSpec, Category, Change, Descriptor,
    Error, ExecutionProof, Outcome, Plan, Result, Risk, StepStatus, Typed, TypedAction,
};

use crate::VENDOR;
use crate::client::{NinjaOneClient, alert_uid, device_id};
use crate::models::RebootMode;

/// The specs of every `ninjaone.*` action, without building a connector (for
/// [`ConnectorFactory::describe`](stackhand_core::ConnectorFactory::describe)).
pub fn specs() -> Vec<ActionSpec> {
    vec![
        Typed::<RebootDevice>::spec_of(),
        Typed::<ResetAlert>::spec_of(),
    ]
}

/// The actions over one tenant's client, as `Connector::actions` returns them (the same list
/// as [`specs`]).
pub(crate) fn for_client(client: &NinjaOneClient) -> Vec<Arc<dyn Action>> {
    vec![
        Typed::shared(RebootDevice {
            client: client.clone(),
        }),
        Typed::shared(ResetAlert {
            client: client.clone(),
        }),
    ]
}

/// The client, after checking the request is for the tenant it serves.
fn client_for<'a>(client: &'a NinjaOneClient, ctx: &ActionContext) -> Result<&'a NinjaOneClient> {
    if client.tenant() != ctx.tenant() {
        return Err(Error::invalid(format!(
            "this {VENDOR} action serves tenant {}, not {}",
            client.tenant(),
            ctx.tenant()
        )));
    }
    Ok(client)
}

/// A string field the plan recorded in its state before.
fn planned<'p>(plan: &'p Plan, field: &str) -> Result<&'p str> {
    plan.state_before
        .get(field)
        .and_then(|v| v.as_str())
        .ok_or_else(|| Error::invalid(format!("the plan has no {field} in its state before")))
}

/// `ninjaone.reboot_device`: restart a device of the organisation.
#[derive(Debug, Clone)]
pub struct RebootDevice {
    client: NinjaOneClient,
}

/// Input of `ninjaone.reboot_device`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RebootParams {
    /// NinjaOne device id.
    pub device: String,
    /// `NORMAL` (applications may close; the default) or `FORCED` (at once; unsaved work is
    /// lost).
    #[serde(default)]
    pub mode: RebootMode,
    /// The reason, shown with the reboot in NinjaOne.
    #[serde(default)]
    pub reason: Option<String>,
}

impl RebootParams {
    /// The reason, if it says anything.
    fn reason(&self) -> Option<&str> {
        self.reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
    }
}

#[async_trait]
impl TypedAction for RebootDevice {
    type Params = RebootParams;
    // The risk is the spec's, the same for both modes: FORCED is why it is high.
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "ninjaone.reboot_device",
        summary: "Reboot a NinjaOne device (NORMAL, or FORCED losing unsaved work); queued until an offline device reconnects. No undo",
        category: Category::Rmm,
        risk: Risk::High,
        reversible: false,
        idempotent: false,
    };

    /// `GET /v2/device/{id}`: the device must be the organisation's; the plan names it and says
    /// when it is offline (the reboot waits for its agent), forced, or a server.
    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let client = client_for(&self.client, ctx)?;
        let id = device_id(&params.device)?;
        let device = client.device(id).await?;
        let name = device.name();
        let mode = params.mode.as_str();
        let mut plan = Plan::new(
            ActionId::from_static(Self::DESCRIPTOR.id),
            request.tenant.clone(),
            format!("Reboot NinjaOne device {name} ({id}), {mode}"),
        );
        plan.state_before = json!({
            "id": id.to_string(),
            "name": name,
            "offline": device.offline,
            "mode": mode,
        });
        plan.changes.push(Change::new(
            format!("device:{id}"),
            "reboot",
            None,
            Some(json!(mode)),
        ));
        if device.offline {
            plan.warnings.push(format!(
                "{name} is offline; NinjaOne queues the reboot for its agent, and the device \
                 restarts when it reconnects"
            ));
        }
        if params.mode == RebootMode::Forced {
            plan.warnings.push(format!(
                "FORCED: {name} restarts without letting applications close; unsaved work is lost"
            ));
        }
        if device.is_server() {
            plan.warnings.push(format!(
                "{name} is a server: everyone using its services is cut off until it is back"
            ));
        }
        Ok(plan)
    }

    /// `POST /v2/device/{id}/reboot/{mode}` (with the reason, if any). NinjaOne answers before
    /// the agent acts, so the outcome is `Succeeded`, never verified.
    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        _proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        let client = client_for(&self.client, ctx)?;
        let id = device_id(planned(plan, "id")?)?;
        let name = planned(plan, "name")?;
        let queued = plan.state_before["offline"].as_bool().unwrap_or(false);
        client.reboot(id, params.mode, params.reason()).await?;
        let mode = params.mode.as_str();
        let message = if queued {
            format!("{mode} reboot of {name} queued until it reconnects")
        } else {
            format!("{mode} reboot of {name} sent")
        };
        Ok(Outcome {
            changes: plan.changes.clone(),
            state_before: plan.state_before.clone(),
            state_after: json!({"id": id.to_string(), "reboot": mode, "queued": queued}),
            ..Outcome::new(StepStatus::Succeeded)
        }
        .with_message(message))
    }
}

/// `ninjaone.reset_alert`: close an open alert (triggered condition) of the organisation.
#[derive(Debug, Clone)]
pub struct ResetAlert {
    client: NinjaOneClient,
}

/// Input of `ninjaone.reset_alert`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetAlertParams {
    /// The alert's uid.
    pub alert: String,
}

#[async_trait]
impl TypedAction for ResetAlert {
    type Params = ResetAlertParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "ninjaone.reset_alert",
        summary: "Reset (close) an open NinjaOne alert on one of the organisation's devices. No undo: the condition alerts again only if it triggers again",
        category: Category::Rmm,
        risk: Risk::Medium,
        reversible: false,
        idempotent: true,
    };

    /// `GET /v2/alerts?df=org = <org>`: the alert must be open on one of the organisation's
    /// devices; another organisation's is not found.
    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let client = client_for(&self.client, ctx)?;
        let uid = alert_uid(&params.alert)?;
        let alert = client.alert(&uid).await?;
        let text = alert.text();
        let on = alert
            .device_name()
            .map(|device| format!(" on {device}"))
            .unwrap_or_default();
        let mut plan = Plan::new(
            ActionId::from_static(Self::DESCRIPTOR.id),
            request.tenant.clone(),
            format!("Reset NinjaOne alert {text:?}{on}"),
        );
        plan.state_before = json!({
            "uid": alert.uid,
            "deviceId": alert.device_id,
            "device": alert.device_name(),
            "message": text,
            "severity": alert.severity,
            "sourceType": alert.source_type,
        });
        plan.changes.push(Change::new(
            format!("alert:{}", alert.uid),
            "status",
            Some(json!("open")),
            Some(json!("reset")),
        ));
        Ok(plan)
    }

    /// `POST /v2/alert/{uid}/reset {}`, then the alerts read again: gone means verified.
    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        _params: &Self::Params,
        plan: &Plan,
        _proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        let client = client_for(&self.client, ctx)?;
        let uid = planned(plan, "uid")?;
        client.reset_alert(uid).await?;
        let open = client
            .alerts()
            .await?
            .iter()
            .any(|a| a.uid.eq_ignore_ascii_case(uid));
        Ok(Outcome {
            changes: plan.changes.clone(),
            state_before: plan.state_before.clone(),
            state_after: json!({"uid": uid, "open": open}),
            ..Outcome::new(if open {
                StepStatus::Succeeded
            } else {
                StepStatus::Verified
            })
        }
        .with_message(format!("Alert {uid} reset")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_describe_both_actions_with_object_schemas() {
        let specs = specs();
        let ids: Vec<&str> = specs.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["ninjaone.reboot_device", "ninjaone.reset_alert"]);
        for spec in &specs {
            assert_eq!(spec.category, Category::Rmm);
            assert!(!spec.reversible, "{}", spec.id);
            assert_eq!(spec.input_schema["type"], "object", "{}", spec.id);
        }
        let reboot = &specs[0];
        assert_eq!(reboot.risk, Risk::High);
        let mode = serde_json::to_string(&reboot.input_schema).unwrap();
        assert!(mode.contains("NORMAL") && mode.contains("FORCED"), "{mode}");
        assert_eq!(reboot.input_schema["required"], json!(["device"]));
        assert_eq!(specs[1].input_schema["required"], json!(["alert"]));
    }

    #[test]
    fn reboot_input_defaults_to_normal_and_drops_an_empty_reason() {
        let params: RebootParams = serde_json::from_value(json!({"device": "101"})).unwrap();
        assert_eq!(params.mode, RebootMode::Normal);
        assert_eq!(params.reason(), None);
        let params: RebootParams = serde_json::from_value(
            json!({"device": "101", "mode": "FORCED", "reason": "  hung  "}),
        )
        .unwrap();
        assert_eq!(params.mode, RebootMode::Forced);
        assert_eq!(params.reason(), Some("hung"));
        let blank: RebootParams =
            serde_json::from_value(json!({"device": "101", "reason": " "})).unwrap();
        assert_eq!(blank.reason(), None);
        for bad in [
            json!({"device": "101", "mode": "SOFT"}),
            json!({"device": "101", "force": true}),
        ] {
            assert!(serde_json::from_value::<RebootParams>(bad).is_err());
        }
    }
}
