//! The write path: nothing changes without the engine's proof, and a proof serves one request in
//! one tenant only.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;
use stackhand_core::audit::MemoryAuditSink;
use stackhand_core::directory::{MemoryStaffDirectory, RoleScope, StaffMember};
use stackhand_core::engine::Engine;
use stackhand_core::memory::MemoryConnector;
use stackhand_core::policy::{Decision, DecisionInput, Effect, Policy, RuleId};
use stackhand_core::*;

struct AllowAll;

impl Policy for AllowAll {
    fn decide(&self, _: &DecisionInput<'_>) -> Decision {
        Decision::new(Effect::Allow, RuleId::new("allow-all"), "test")
    }
}

fn staff() -> Arc<MemoryStaffDirectory> {
    Arc::new(
        MemoryStaffDirectory::new().with(
            StaffMember::technician("tech@msp.example").role("msp.tech", RoleScope::AllTenants),
        ),
    )
}

fn tenant(id: &str) -> TenantId {
    TenantId::new(id).unwrap()
}

fn request(
    tenant: &TenantId,
    key: &str,
    action: &'static str,
    params: serde_json::Value,
) -> ActionRequest {
    ActionRequest::new(
        IdempotencyKey::new(key).unwrap(),
        tenant.clone(),
        ActionId::from_static(action),
        &params,
        Principal::technician("tech@msp.example", &["msp.tech"]),
    )
    .unwrap()
}

fn engine_with(actions: Vec<Arc<dyn Action>>) -> Engine {
    let mut builder =
        Engine::builder(Arc::new(AllowAll), Arc::new(MemoryAuditSink::new())).staff(staff());
    for action in actions {
        builder = builder.action(action).unwrap();
    }
    builder.build()
}

fn add(engine: &Engine, memory: &MemoryConnector) -> Result<()> {
    let id = memory.info().tenant.clone();
    engine.add_tenant(
        Tenant::new(id.clone(), id.as_str()),
        ConnectorSet::new(id).with(Arc::new(memory.clone()))?,
    )
}

#[tokio::test]
async fn unlock_never_re_enables_a_disabled_account() {
    let acme = tenant("acme");
    let memory = MemoryConnector::demo(acme.clone());
    memory.with_state(|s| {
        let jane = s.users.get_mut("jane").unwrap();
        jane.enabled = false;
        jane.locked = true;
    });
    let engine = engine_with(vec![]);
    add(&engine, &memory).unwrap();

    let refused = engine
        .submit(request(
            &acme,
            "u1",
            "identity.unlock",
            json!({"user": "jane@acme.example"}),
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Invalid);
    assert!(refused.message().contains("identity.enable"), "{refused}");
    assert!(
        !memory.state().users["jane"].enabled,
        "unlock re-enabled an account"
    );
}

/// An action that tries to use its proof beyond its own request.
struct Misuse {
    spec: ActionSpec,
    other_tenant: ActionContext,
}

#[async_trait]
impl Action for Misuse {
    fn spec(&self) -> &ActionSpec {
        &self.spec
    }

    async fn plan(&self, _ctx: &ActionContext, request: &ActionRequest) -> Result<Plan> {
        let mut plan = Plan::new(request.action.clone(), request.tenant.clone(), "misuse");
        plan.changes
            .push(Change::new("user:jane", "locked", None, Some(json!(false))));
        Ok(plan)
    }

    async fn execute(&self, ctx: &ActionContext, proof: &ExecutionProof<'_>) -> Result<Outcome> {
        let mode = proof.request().params["mode"].as_str().unwrap_or_default();
        match mode {
            // Another tenant's connectors, this tenant's proof.
            "cross-tenant" => {
                let jane = self
                    .other_tenant
                    .identity()?
                    .get_user("jane@beta.example")
                    .await?;
                self.other_tenant
                    .identity_writes(proof)?
                    .set_enabled(proof, &jane, false)
                    .await?;
            }
            // A built-in action, run with the proof of this (different) request.
            "other-action" => {
                let disable = actions::builtin()
                    .get(&ActionId::from_static("identity.disable"))
                    .unwrap()
                    .clone();
                disable.execute(ctx, proof).await?;
            }
            _ => {}
        }
        Ok(Outcome::new(StepStatus::Succeeded))
    }
}

fn misuse_engine() -> (Engine, MemoryConnector, MemoryConnector, TenantId) {
    let acme = tenant("acme");
    let beta = tenant("beta");
    let acme_memory = MemoryConnector::demo(acme.clone());
    let beta_memory = MemoryConnector::demo(beta.clone());
    let beta_ctx = ActionContext::new(Arc::new(
        ConnectorSet::new(beta.clone())
            .with(Arc::new(beta_memory.clone()))
            .unwrap(),
    ));
    let misuse = Misuse {
        spec: ActionSpec {
            id: ActionId::from_static("test.misuse"),
            summary: "misuses its proof".into(),
            category: Category::Identity,
            risk: Risk::Low,
            reversible: false,
            idempotent: false,
            input_schema: json!({"type": "object"}),
            secret_params: Vec::new(),
        },
        other_tenant: beta_ctx,
    };
    let engine = engine_with(vec![Arc::new(misuse)]);
    add(&engine, &acme_memory).unwrap();
    (engine, acme_memory, beta_memory, acme)
}

#[tokio::test]
async fn a_proof_cannot_authorise_a_write_in_another_tenant() {
    let (engine, _, beta_memory, acme) = misuse_engine();
    let answer = engine
        .submit(request(
            &acme,
            "m1",
            "test.misuse",
            json!({"mode": "cross-tenant"}),
        ))
        .await
        .unwrap();
    let receipt = answer.receipt().unwrap();
    assert_eq!(receipt.outcome.status, StepStatus::Failed);
    assert_eq!(receipt.failure.as_ref().unwrap().kind, ErrorKind::Forbidden);
    assert!(beta_memory.state().users["jane"].enabled);
}

#[tokio::test]
async fn a_proof_cannot_authorise_another_action() {
    let (engine, acme_memory, _, acme) = misuse_engine();
    let answer = engine
        .submit(request(
            &acme,
            "m2",
            "test.misuse",
            json!({"mode": "other-action", "user": "jane@acme.example"}),
        ))
        .await
        .unwrap();
    let receipt = answer.receipt().unwrap();
    assert_eq!(receipt.outcome.status, StepStatus::Failed);
    assert_eq!(receipt.failure.as_ref().unwrap().kind, ErrorKind::Forbidden);
    assert!(acme_memory.state().users["jane"].enabled);
}

/// A connector that brings an action whose id is a built-in one.
#[derive(Debug)]
struct Impostor {
    info: ConnectorInfo,
}

#[async_trait]
impl Connector for Impostor {
    fn info(&self) -> &ConnectorInfo {
        &self.info
    }

    async fn health(&self) -> Result<Health> {
        Ok(Health {
            healthy: true,
            detail: "impostor".into(),
        })
    }

    fn actions(&self) -> Vec<Arc<dyn Action>> {
        vec![Typed::shared(actions::Unlock)]
    }
}

#[test]
fn a_connector_action_cannot_replace_a_built_in_one() {
    let acme = tenant("acme");
    let engine = engine_with(vec![]);
    let impostor = Impostor {
        info: ConnectorInfo {
            vendor: "impostor".into(),
            tenant: acme.clone(),
            categories: vec![],
        },
    };
    let err = engine
        .add_tenant(
            Tenant::new(acme.clone(), "Acme"),
            ConnectorSet::new(acme.clone())
                .with(Arc::new(impostor))
                .unwrap(),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.message().contains("identity.unlock"), "{err}");
    assert!(
        engine.actions(&acme).is_err(),
        "the tenant was added anyway"
    );
}

/// The example policies, as an MSP would load them, with the demo tenant's names.
fn example_policy() -> Arc<dyn Policy> {
    let vocabulary = stackhand_core::policy::Vocabulary::builtin().with_actions(
        [
            "m365.set_forwarding",
            "m365.convert_to_shared",
            "okta.suspend",
        ]
        .into_iter()
        .map(ActionId::from_static),
    );
    Arc::new(
        stackhand_core::policy::PolicyLoader::new()
            .vocabulary(vocabulary)
            .add_str(
                "global.toml",
                include_str!("../../../examples/policies/global.toml"),
            )
            .add_str(
                "acme.toml",
                r#"
                [scope]
                tenant = "acme"

                [[rules]]
                id = "technicians-manage-groups"
                actions = ["identity.add_to_group"]
                effect = "allow"
                [rules.when]
                requester_kinds = ["technician"]
                "#,
            )
            .build()
            .unwrap(),
    )
}

#[tokio::test]
async fn group_membership_that_confers_privilege_is_protected() {
    let acme = tenant("acme");
    let memory = MemoryConnector::demo(acme.clone());
    let engine = Engine::builder(example_policy(), Arc::new(MemoryAuditSink::new()))
        .staff(staff())
        .build();
    add(&engine, &memory).unwrap();
    let technician = || Principal::technician("tech@msp.example", &["msp.tech"]);
    let submit = |key: &str, group: &str| {
        ActionRequest::new(
            IdempotencyKey::new(key).unwrap(),
            acme.clone(),
            ActionId::from_static("identity.add_to_group"),
            &json!({"user": "jane@acme.example", "group": group}),
            technician(),
        )
        .unwrap()
    };

    // An ordinary group: the tenant rule allows it.
    let sales = engine.submit(submit("g1", "Sales")).await.unwrap();
    assert_eq!(sales.label(), "executed");

    // Jane is no admin, but the break-glass group is protected, and the role-assignable
    // helpdesk admins group makes its members privileged: both wait for an MSP lead.
    for (key, group) in [("g2", "Break Glass"), ("g3", "Helpdesk Admins")] {
        let answer = engine.submit(submit(key, group)).await.unwrap();
        let approval = answer
            .approval()
            .unwrap_or_else(|| panic!("{group}: {}", answer.label()));
        assert_eq!(
            approval.decision.rule.as_str(),
            "protected-identity-needs-lead"
        );
    }
    let groups = memory.state().members;
    for group in ["g-breakglass", "g-helpdesk-admins"] {
        assert!(
            groups
                .get(group)
                .is_none_or(|m| !m.contains(&"jane".to_string()))
        );
    }
}
