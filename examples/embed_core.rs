//! Embedding `stackhand-core`: load a policy file, run requests through the engine against the
//! in-memory connector, and print the verified audit trail.
//!
//! Run with `cargo run -p stackhand-examples --example embed_core`.

use std::sync::Arc;

use anyhow::Result;
use serde_json::json;
use stackhand_core::audit::{AuditSink, MemoryAuditSink};
use stackhand_core::directory::{MemoryStaffDirectory, RoleScope, StaffMember};
use stackhand_core::engine::Engine;
use stackhand_core::memory::MemoryConnector;
use stackhand_core::policy::PolicyLoader;
use stackhand_core::{
    ActionId, ActionRequest, ConnectorSet, IdempotencyKey, Principal, Submission, Tenant, TenantId,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    // 1. The policy: a reviewed, versioned TOML file. A typo is refused with file, line and field.
    let policy_file = concat!(env!("CARGO_MANIFEST_DIR"), "/embed_core.toml");
    let policy = PolicyLoader::new().add_file(policy_file).build()?;

    // 2. The engine, with an audit sink (keyed per tenant from a random master key), and one
    //    tenant with its connectors.
    //    Technicians' and approvers' roles come from the staff directory, per tenant.
    let staff = MemoryStaffDirectory::new()
        .with(StaffMember::technician("lead@msp.example").role("msp.lead", RoleScope::AllTenants));
    let audit = Arc::new(MemoryAuditSink::new());
    let engine = Engine::builder(Arc::new(policy), audit.clone())
        .staff(Arc::new(staff))
        .build();
    let tenant = TenantId::new("acme")?;
    let memory = MemoryConnector::demo(tenant.clone());
    engine.add_tenant(
        Tenant::new(tenant.clone(), "Acme Ltd"),
        ConnectorSet::new(tenant.clone()).with(Arc::new(memory.clone()))?,
    )?;

    let request = |key: &str,
                   action: &str,
                   params: serde_json::Value,
                   requester: Principal|
     -> Result<ActionRequest> {
        Ok(ActionRequest::new(
            IdempotencyKey::new(key)?,
            tenant.clone(),
            ActionId::new(action)?,
            &params,
            requester,
        )?
        .with_reason("example"))
    };

    // 3a. Allowed: Bob unlocks his own account (self-service).
    let bob = Principal::end_user("bob@acme.example");
    let unlock = engine
        .submit(request(
            "ex-1",
            "identity.unlock",
            json!({"user": "bob@acme.example"}),
            bob,
        )?)
        .await?;
    report("bob unlocks his own account", &unlock);

    // 3b. Needs approval: Jane asks for the shared mailbox; an MSP lead approves.
    let jane = Principal::end_user("jane@acme.example");
    let access = engine
        .submit(request(
            "ex-2",
            "identity.grant_mailbox_access",
            json!({"mailbox": "shared@acme.example", "user": "jane@acme.example", "right": "full_access"}),
            jane.clone(),
        )?)
        .await?;
    report("jane asks for the shared mailbox", &access);
    if let Some(approval) = access.approval() {
        let lead = Principal::technician("lead@msp.example", &[]);
        let approved = engine.approve(approval.id, &lead).await?;
        report("an MSP lead approves", &approved);
    }

    // 3c. Denied, "no policy": no rule lets Jane disable Bob's account.
    let disable = engine
        .submit(request(
            "ex-3",
            "identity.disable",
            json!({"user": "bob@acme.example"}),
            jane,
        )?)
        .await?;
    report("jane tries to disable bob", &disable);

    // 4. The audit trail, verified with the tenant's key against its anchored head.
    let summary = audit.verify_tenant(&tenant).await??;
    let events = engine.audit_trail(&tenant).await?;
    println!(
        "\naudit trail of {tenant} ({} events, chain verified, head {}):",
        summary.events,
        &summary.head[..16]
    );
    for event in &events {
        println!(
            "  #{:<2} {:<20} {:<32} by {}",
            event.seq,
            format!("{:?}", event.record.kind),
            event
                .record
                .action
                .as_ref()
                .map(|a| a.as_str())
                .unwrap_or("-"),
            event.record.actor.as_deref().unwrap_or("-"),
        );
    }
    println!(
        "\nbob locked: {}; jane holds FullAccess on shared: {}",
        memory.state().users["bob"].locked,
        memory
            .state()
            .mailbox_permissions
            .iter()
            .any(|p| p.user == "jane@acme.example"),
    );
    Ok(())
}

fn report(what: &str, answer: &Submission) {
    let detail = match answer {
        Submission::Executed(r) => format!("{:?} under rule {}", r.outcome.status, r.decision.rule),
        Submission::PendingApproval(a) => {
            format!("approval {} required by rule {}", a.id, a.decision.rule)
        }
        Submission::Denied(d) => format!("rule {}: {}", d.rule, d.reason),
        Submission::Duplicate(_) => "already done".into(),
    };
    println!("{what:40} -> {:<16} {detail}", answer.label());
}
