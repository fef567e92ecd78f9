//! Who is asking: roles come from the staff directory, per tenant, never from the request.

use std::sync::Arc;

use serde_json::json;
use stackhand_core::audit::MemoryAuditSink;
use stackhand_core::directory::{MemoryStaffDirectory, RoleScope, StaffMember};
use stackhand_core::engine::Engine;
use stackhand_core::memory::MemoryConnector;
use stackhand_core::policy::{Approver, Decision, DecisionInput, Effect, Policy, RuleId};
use stackhand_core::*;

/// Every change waits for a `client.lead` of the tenant.
struct ClientLeadApproves;

impl Policy for ClientLeadApproves {
    fn decide(&self, _: &DecisionInput<'_>) -> Decision {
        Decision::new(
            Effect::RequireApproval {
                approvers: vec![Approver::Role("client.lead".into())],
            },
            RuleId::new("client-lead-approves"),
            "test",
        )
    }
}

fn engine() -> (Engine, MemoryConnector, MemoryConnector) {
    let acme = TenantId::new("acme").unwrap();
    let globex = TenantId::new("globex").unwrap();
    let staff = MemoryStaffDirectory::new()
        .with(StaffMember::technician("tech@msp.example").role("msp.tech", RoleScope::AllTenants))
        .with(
            StaffMember::client("lead@acme.example")
                .role("client.lead", RoleScope::Tenant(acme.clone())),
        );
    let engine = Engine::builder(
        Arc::new(ClientLeadApproves),
        Arc::new(MemoryAuditSink::new()),
    )
    .staff(Arc::new(staff))
    .build();
    let mut memories = Vec::new();
    for tenant in [acme, globex] {
        let memory = MemoryConnector::demo(tenant.clone());
        engine
            .add_tenant(
                Tenant::new(tenant.clone(), tenant.as_str()),
                ConnectorSet::new(tenant)
                    .with(Arc::new(memory.clone()))
                    .unwrap(),
            )
            .unwrap();
        memories.push(memory);
    }
    let globex_memory = memories.pop().unwrap();
    (engine, memories.pop().unwrap(), globex_memory)
}

fn disable(tenant: &str, key: &str, requester: Principal) -> ActionRequest {
    ActionRequest::new(
        IdempotencyKey::new(key).unwrap(),
        TenantId::new(tenant).unwrap(),
        ActionId::from_static("identity.disable"),
        &json!({"user": format!("jane@{tenant}.example")}),
        requester,
    )
    .unwrap()
}

fn technician() -> Principal {
    Principal::technician("tech@msp.example", &[])
}

#[tokio::test]
async fn one_clients_lead_cannot_approve_another_clients_change() {
    let (engine, acme, globex) = engine();
    // Whatever roles the caller claims for them.
    let acme_lead = Principal::technician("lead@acme.example", &["client.lead", "msp.lead"]);

    let theirs = engine
        .submit(disable("globex", "g1", technician()))
        .await
        .unwrap();
    let refused = engine
        .approve(theirs.approval().unwrap().id, &acme_lead)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Forbidden);
    assert!(refused.message().contains("tenant globex"), "{refused}");
    assert!(globex.state().users["jane"].enabled);

    let own = engine
        .submit(disable("acme", "a1", technician()))
        .await
        .unwrap();
    let done = engine
        .approve(own.approval().unwrap().id, &acme_lead)
        .await
        .unwrap();
    assert!(done.receipt().is_some());
    assert!(!acme.state().users["jane"].enabled);
}

#[tokio::test]
async fn claimed_roles_give_no_authority() {
    let (engine, acme, _) = engine();
    let pending = engine
        .submit(disable("acme", "a1", technician()))
        .await
        .unwrap();
    let impostor = Principal::technician("someone@msp.example", &["client.lead"]);
    let refused = engine
        .approve(pending.approval().unwrap().id, &impostor)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Forbidden);
    assert!(refused.message().contains("staff directory"), "{refused}");
    assert!(acme.state().users["jane"].enabled);
}

#[tokio::test]
async fn a_technician_unknown_to_the_directory_cannot_act() {
    let (engine, acme, _) = engine();
    let stranger = Principal::technician("stranger@example.net", &["msp.lead"]);
    let refused = engine
        .submit(disable("acme", "a1", stranger))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Forbidden);
    assert!(acme.state().users["jane"].enabled);
}

#[tokio::test]
async fn the_requester_cannot_approve_their_own_undo() {
    let (engine, acme, _) = engine();
    let lead = Principal::end_user("lead@acme.example");
    let pending = engine
        .submit(disable("acme", "a1", technician()))
        .await
        .unwrap();
    engine
        .approve(pending.approval().unwrap().id, &lead)
        .await
        .unwrap();
    assert!(!acme.state().users["jane"].enabled);

    // The lead asks for the undo; the undo needs approval too, and not theirs.
    let undo = engine
        .undo(
            &TenantId::new("acme").unwrap(),
            &IdempotencyKey::new("a1").unwrap(),
            lead.clone(),
            "mistake",
        )
        .await
        .unwrap();
    let refused = engine
        .approve(undo.approval().unwrap().id, &lead)
        .await
        .unwrap_err();
    assert!(refused.message().contains("self-approval"), "{refused}");
    assert!(!acme.state().users["jane"].enabled);
}
