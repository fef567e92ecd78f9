//! Each vendor-neutral identity action (and the `m365.*` ones) through the engine against the
//! simulator: the end state is read back from the simulator, and undo restores the state before.

mod common;

use std::sync::Arc;

use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use stackhand_core::audit::MemoryAuditSink;
use stackhand_core::policy::Policy;
use stackhand_core::{
    ActionId, ActionRequest, ConnectorSet, Engine, ErrorKind, IdempotencyKey, Principal,
    StepStatus, Submission, Tenant,
};
use stackhand_sim::SimServer;
use stackhand_sim::m365::seed::{groups, skus, users};
use stackhand_sim::m365::{M365Sim, MethodKind};

struct Setup {
    sim: M365Sim,
    server: SimServer,
    engine: Engine,
}

async fn setup() -> Setup {
    setup_with(Arc::new(stackhand_testkit::writes::AllowAll)).await
}

async fn setup_with(policy: Arc<dyn Policy>) -> Setup {
    let (sim, server, m365) = common::start().await;
    let engine = Engine::builder(policy, Arc::new(MemoryAuditSink::new()))
        .staff(stackhand_testkit::writes::test_staff())
        .build();
    engine
        .add_tenant(
            Tenant::new(common::tenant(), "Contoso Law"),
            ConnectorSet::new(common::tenant())
                .with(Arc::new(m365))
                .unwrap(),
        )
        .unwrap();
    Setup {
        sim,
        server,
        engine,
    }
}

fn technician() -> Principal {
    Principal::technician("tech@msp.example", &["msp.tech"])
}

impl Setup {
    async fn run(&self, key: &str, action: &'static str, params: Value) -> Submission {
        let request = ActionRequest::new(
            IdempotencyKey::new(key).unwrap(),
            common::tenant(),
            ActionId::from_static(action),
            &params,
            technician(),
        )
        .unwrap()
        .with_reason("integration test");
        let answer = self.engine.submit(request).await.unwrap();
        let receipt = answer
            .receipt()
            .unwrap_or_else(|| panic!("{action} did not execute: {answer:?}"));
        assert!(
            receipt.failure.is_none(),
            "{action} failed: {:?}",
            receipt.failure
        );
        assert_ne!(
            receipt.outcome.status,
            StepStatus::Failed,
            "{action}: {:?}",
            receipt.outcome
        );
        answer
    }

    async fn undo(&self, key: &str) {
        let answer = self
            .engine
            .undo(
                &common::tenant(),
                &IdempotencyKey::new(key).unwrap(),
                technician(),
                "undo in test",
            )
            .await
            .unwrap();
        let receipt = answer
            .receipt()
            .unwrap_or_else(|| panic!("undo of {key}: {answer:?}"));
        assert!(
            receipt.failure.is_none(),
            "undo of {key} failed: {:?}",
            receipt.failure
        );
        assert_eq!(
            receipt.outcome.status,
            StepStatus::Verified,
            "undo of {key}"
        );
    }
}

#[tokio::test]
async fn reset_unlock_mfa_and_revoke() {
    let s = setup().await;
    let answer = s
        .run(
            "reset",
            "identity.reset_password",
            json!({"user": "dreyes@contosolaw.com"}),
        )
        .await;
    let password = answer
        .receipt()
        .unwrap()
        .outcome
        .secret("temporary_password")
        .unwrap()
        .clone();
    let daniel = s.sim.user(users::DANIEL).unwrap();
    assert_eq!(daniel.password, password.expose_secret());
    assert!(daniel.force_change_password_next_sign_in);
    // The connector revoked the sessions, once: core does not revoke a second time.
    let revocations: Vec<String> = s
        .server
        .recorder()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/revokeSignInSessions"))
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        revocations,
        vec![format!(
            "/v1.0/users/{}/revokeSignInSessions",
            users::DANIEL
        )]
    );

    // Entra has no unlock call, and a blocked sign-in is not a lockout: unlock never
    // re-enables an account an administrator disabled.
    s.run(
        "block",
        "identity.disable",
        json!({"user": "pshah@contosolaw.com"}),
    )
    .await;
    assert!(!s.sim.user(users::PRIYA).unwrap().account_enabled);
    let answer = s
        .engine
        .submit(
            ActionRequest::new(
                IdempotencyKey::new("unlock").unwrap(),
                common::tenant(),
                ActionId::from_static("identity.unlock"),
                &json!({"user": "pshah@contosolaw.com"}),
                technician(),
            )
            .unwrap()
            .with_reason("integration test"),
        )
        .await;
    // Refused when planned (the action) or when executed (the connector): either way, Invalid.
    let (kind, message) = match &answer {
        Err(error) => (error.kind(), error.to_string()),
        Ok(submission) => {
            let failure = submission
                .receipt()
                .and_then(|receipt| receipt.failure.clone())
                .unwrap_or_else(|| {
                    panic!("unlock of a disabled account was not refused: {submission:?}")
                });
            (failure.kind, failure.message)
        }
    };
    assert_eq!(kind, ErrorKind::Invalid, "{message}");
    assert!(message.contains("disabled"), "{message}");
    assert!(!s.sim.user(users::PRIYA).unwrap().account_enabled);

    let answer = s
        .run(
            "mfa",
            "identity.reset_mfa",
            json!({"user": "dreyes@contosolaw.com", "issue_temporary_access_pass": true}),
        )
        .await;
    assert!(
        answer
            .receipt()
            .unwrap()
            .outcome
            .secret("temporary_access_pass")
            .is_some()
    );
    let kinds: Vec<MethodKind> = s
        .sim
        .user(users::DANIEL)
        .unwrap()
        .methods
        .iter()
        .map(|m| m.kind)
        .collect();
    assert_eq!(
        kinds,
        vec![MethodKind::Password, MethodKind::TemporaryAccessPass]
    );

    let before = s.sim.user(users::SAM).unwrap().sign_in_sessions_valid_from;
    s.run(
        "revoke",
        "identity.revoke_sessions",
        json!({"user": "sokafor@contosolaw.com"}),
    )
    .await;
    assert!(s.sim.user(users::SAM).unwrap().sign_in_sessions_valid_from > before);
    common::assert_graph_requests_valid(s.server.recorder().requests());
}

#[tokio::test]
async fn disable_and_licences_are_undone() {
    let s = setup().await;
    s.run(
        "disable",
        "identity.disable",
        json!({"user": "pshah@contosolaw.com"}),
    )
    .await;
    assert!(!s.sim.user(users::PRIYA).unwrap().account_enabled);
    s.undo("disable").await;
    assert!(s.sim.user(users::PRIYA).unwrap().account_enabled);

    s.run(
        "remove-e3",
        "identity.remove_license",
        json!({"user": "sokafor@contosolaw.com", "sku": "SPE_E3"}),
    )
    .await;
    assert!(s.sim.licenses_of(users::SAM).is_empty());
    assert_eq!(s.sim.seats("SPE_E3"), Some((5, 3)));
    s.undo("remove-e3").await;
    assert_eq!(
        s.sim.licenses_of(users::SAM),
        vec![skus::SPE_E3.to_string()]
    );

    s.run(
        "assign-e3",
        "identity.assign_license",
        json!({"user": "ochen@contosolaw.com", "sku": "SPE_E3"}),
    )
    .await;
    assert_eq!(
        s.sim.licenses_of(users::OLIVIA),
        vec![skus::SPE_E3.to_string()]
    );
    s.undo("assign-e3").await;
    assert!(s.sim.licenses_of(users::OLIVIA).is_empty());
    assert_eq!(s.sim.seats("SPE_E3"), Some((5, 4)));
    common::assert_graph_requests_valid(s.server.recorder().requests());
}

#[tokio::test]
async fn groups_and_distribution_lists_are_undone() {
    let s = setup().await;
    s.run(
        "add-sec",
        "identity.add_to_group",
        json!({"user": "pshah@contosolaw.com", "group": "Litigation Team"}),
    )
    .await;
    assert!(s.sim.is_member(groups::LITIGATION, users::PRIYA));
    s.undo("add-sec").await;
    assert!(!s.sim.is_member(groups::LITIGATION, users::PRIYA));

    s.run(
        "remove-unified",
        "identity.remove_from_group",
        json!({"user": "tbecker@contosolaw.com", "group": "All Staff"}),
    )
    .await;
    assert!(!s.sim.is_member(groups::ALL_STAFF, users::TOM));
    s.undo("remove-unified").await;
    assert!(s.sim.is_member(groups::ALL_STAFF, users::TOM));

    s.run(
        "add-dl",
        "identity.add_to_group",
        json!({"user": "dreyes@contosolaw.com", "group": "Partners"}),
    )
    .await;
    assert!(s.sim.is_member(groups::PARTNERS_DL, users::DANIEL));
    s.undo("add-dl").await;
    assert!(!s.sim.is_member(groups::PARTNERS_DL, users::DANIEL));
    common::assert_graph_requests_valid(s.server.recorder().requests());
}

#[tokio::test]
async fn mailbox_access_is_undone() {
    let s = setup().await;
    let mailbox = "reception@contosolaw.com";
    s.run("grant-fa", "identity.grant_mailbox_access",
        json!({"mailbox": mailbox, "user": "sokafor@contosolaw.com", "right": "full_access", "automap": false})).await;
    let grant = s
        .sim
        .mailbox(mailbox)
        .unwrap()
        .full_access
        .into_iter()
        .find(|g| g.user == "sokafor@contosolaw.com")
        .unwrap();
    assert!(!grant.automapping);
    s.undo("grant-fa").await;
    assert_eq!(s.sim.mailbox(mailbox).unwrap().full_access.len(), 1);

    s.run(
        "remove-sendas",
        "identity.remove_mailbox_access",
        json!({"mailbox": mailbox, "user": "pshah@contosolaw.com", "right": "send_as"}),
    )
    .await;
    assert!(s.sim.mailbox(mailbox).unwrap().send_as.is_empty());
    s.undo("remove-sendas").await;
    assert_eq!(
        s.sim.mailbox(mailbox).unwrap().send_as,
        vec!["pshah@contosolaw.com"]
    );

    s.run(
        "grant-sob",
        "identity.grant_mailbox_access",
        json!({"mailbox": mailbox, "user": "sokafor@contosolaw.com", "right": "send_on_behalf"}),
    )
    .await;
    assert!(
        s.sim
            .mailbox(mailbox)
            .unwrap()
            .grant_send_on_behalf_to
            .contains(&"sokafor@contosolaw.com".to_string())
    );
    s.undo("grant-sob").await;
    assert_eq!(
        s.sim.mailbox(mailbox).unwrap().grant_send_on_behalf_to,
        vec!["dreyes@contosolaw.com"]
    );
}

#[tokio::test]
async fn create_user_through_the_engine() {
    let s = setup().await;
    let answer = s
        .run("create", "identity.create_user",
            json!({"login": "jdoe@contosolaw.com", "first_name": "Jane", "last_name": "Doe", "usage_location": "US"}))
        .await;
    let password = answer
        .receipt()
        .unwrap()
        .outcome
        .secret("initial_password")
        .unwrap()
        .clone();
    let jane = s.sim.user("jdoe@contosolaw.com").unwrap();
    assert_eq!(jane.password, password.expose_secret());
    assert!(jane.account_enabled);
    common::assert_graph_requests_valid(s.server.recorder().requests());
}

#[tokio::test]
async fn vendor_actions_plan_execute_and_undo() {
    let s = setup().await;
    let specs = s.engine.actions(&common::tenant()).unwrap();
    for id in [
        "m365.convert_to_shared",
        "m365.set_forwarding",
        "m365.set_auto_reply",
        "m365.hide_from_gal",
        "m365.list_service_issues",
    ] {
        assert!(
            specs.iter().any(|spec| spec.id.as_str() == id),
            "{id} missing"
        );
    }

    s.run(
        "shared",
        "m365.convert_to_shared",
        json!({"mailbox": "dreyes@contosolaw.com"}),
    )
    .await;
    assert_eq!(
        s.sim.mailbox("dreyes").unwrap().recipient_type_details,
        "SharedMailbox"
    );
    s.undo("shared").await;
    assert_eq!(
        s.sim.mailbox("dreyes").unwrap().recipient_type_details,
        "UserMailbox"
    );

    s.run(
        "fwd-off",
        "m365.set_forwarding",
        json!({"mailbox": "evoss@contosolaw.com"}),
    )
    .await;
    assert_eq!(
        s.sim.mailbox("evoss").unwrap().forwarding_smtp_address,
        None
    );
    s.undo("fwd-off").await;
    let eleanor = s.sim.mailbox("evoss").unwrap();
    assert_eq!(
        eleanor.forwarding_smtp_address.as_deref(),
        Some("smtp:mholloway@contosolaw.com")
    );
    assert!(eleanor.deliver_to_mailbox_and_forward);

    s.run("fwd-on", "m365.set_forwarding",
        json!({"mailbox": "dreyes@contosolaw.com", "forward_to": "mholloway@contosolaw.com", "keep_copy": false})).await;
    let daniel = s.sim.mailbox("dreyes").unwrap();
    assert_eq!(
        daniel.forwarding_smtp_address.as_deref(),
        Some("smtp:mholloway@contosolaw.com")
    );
    assert!(!daniel.deliver_to_mailbox_and_forward);
    s.undo("fwd-on").await;
    assert_eq!(
        s.sim.mailbox("dreyes").unwrap().forwarding_smtp_address,
        None
    );

    s.run("ooo", "m365.set_auto_reply",
        json!({"mailbox": "dreyes@contosolaw.com", "state": "enabled", "internal_message": "On leave", "external_message": "On leave", "external_audience": "known"})).await;
    let reply = s.sim.mailbox("dreyes").unwrap().auto_reply;
    assert_eq!(
        (reply.state.as_str(), reply.external_audience.as_str()),
        ("Enabled", "Known")
    );
    s.undo("ooo").await;
    assert_eq!(
        s.sim.mailbox("dreyes").unwrap().auto_reply.state,
        "Disabled"
    );

    s.run(
        "hide",
        "m365.hide_from_gal",
        json!({"mailbox": "dreyes@contosolaw.com"}),
    )
    .await;
    assert!(s.sim.mailbox("dreyes").unwrap().hidden_from_address_lists);
    s.undo("hide").await;
    assert!(!s.sim.mailbox("dreyes").unwrap().hidden_from_address_lists);

    let answer = s.run("issues", "m365.list_service_issues", json!({})).await;
    // Read-only: the plan changes nothing, so the engine records it without executing.
    let receipt = answer.receipt().unwrap();
    assert_eq!(receipt.outcome.status, StepStatus::Skipped);
    let issues = &receipt.plan.state_before["issues"];
    assert_eq!(issues[0]["id"], "EX912345");
}

/// Technicians manage groups; a privileged or protected target waits for an MSP lead.
fn protecting_policy() -> Arc<dyn Policy> {
    Arc::new(
        stackhand_core::policy::PolicyLoader::new()
            .add_str(
                "global.toml",
                r#"
                [scope]
                global = true

                [protected]
                groups = ["Break Glass"]

                [[rules]]
                id = "protected-needs-lead"
                actions = ["identity.*"]
                effect = "approve"
                approvers = [{ role = "msp.lead" }]
                locked = true
                [rules.when]
                requester_kinds = ["technician"]
                target_protected = true

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
async fn adding_anyone_to_a_role_assignable_group_is_protected() {
    let s = setup_with(protecting_policy()).await;
    let submit = |key: &str, group: &str| {
        ActionRequest::new(
            IdempotencyKey::new(key).unwrap(),
            common::tenant(),
            ActionId::from_static("identity.add_to_group"),
            &json!({"user": "pshah@contosolaw.com", "group": group}),
            technician(),
        )
        .unwrap()
        .with_reason("integration test")
    };
    // Priya holds no role, and the Litigation Team confers none: the technician may.
    let ordinary = s
        .engine
        .submit(submit("lit", "Litigation Team"))
        .await
        .unwrap();
    assert_eq!(ordinary.label(), "executed");
    assert!(s.sim.is_member(groups::LITIGATION, users::PRIYA));

    // The Helpdesk Admins group is role-assignable: joining it makes Priya an admin, so the
    // request waits for a lead and nothing changes yet.
    let answer = s
        .engine
        .submit(submit("helpdesk", "Helpdesk Admins"))
        .await
        .unwrap();
    let approval = answer
        .approval()
        .unwrap_or_else(|| panic!("not held for approval: {}", answer.label()));
    assert_eq!(approval.decision.rule.as_str(), "protected-needs-lead");
    assert!(!s.sim.is_member(groups::HELPDESK_ADMINS, users::PRIYA));
    assert!(s.sim.roles_of(users::PRIYA).is_empty());
    common::assert_graph_requests_valid(s.server.recorder().requests());
}
