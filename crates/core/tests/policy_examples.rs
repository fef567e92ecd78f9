//! The sample policies in examples/policies load and decide the demo's requests as documented.

mod policy_support;

use std::path::PathBuf;

use policy_support::{Case, assert_decision};
use serde_json::json;
use stackhand_core::policy::{LayeredPolicy, PolicyLoader, Vocabulary};
use stackhand_core::{ActionId, Approver, Effect, Principal, TenantGroupId, TenantId};

/// The vendor actions of the connectors the sample tenants use (M365 and Okta), which the
/// sample policies may name next to the built-in ones.
const VENDOR_ACTIONS: &[&str] = &[
    "m365.convert_to_shared",
    "m365.set_forwarding",
    "m365.set_auto_reply",
    "m365.hide_from_gal",
    "m365.list_service_issues",
    "okta.suspend",
    "okta.unsuspend",
    "okta.deactivate",
    "okta.activate",
];

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/policies")
}

/// What the runner would know for the sample deployment.
fn vocabulary() -> Vocabulary {
    Vocabulary::builtin()
        .with_actions(VENDOR_ACTIONS.iter().map(|id| ActionId::new(*id).unwrap()))
        .with_tenants([TenantId::new("acme-law").unwrap()])
        .with_tenant_groups([TenantGroupId::new("legal-clients").unwrap()])
        .with_roles(["msp.tech", "msp.lead"])
}

fn examples() -> LayeredPolicy {
    PolicyLoader::new()
        .vocabulary(vocabulary())
        .add_dir(sample_dir())
        .build()
        .unwrap_or_else(|e| panic!("sample policies should load: {e}"))
}

fn acme(case: Case) -> Case {
    case.in_group("legal-clients")
}

#[test]
fn the_sample_policies_load() {
    let policy = examples();
    assert_eq!(policy.rule_count(), 11);
    assert_eq!(policy.cap_count(), 1);
}

#[test]
fn the_sample_policies_need_the_vendor_actions_they_name() {
    let err = PolicyLoader::new()
        .add_dir(sample_dir())
        .build()
        .expect_err("the m365 and okta actions are not built-in");
    let text = err.to_string();
    assert!(
        text.contains("global.toml:22: rules[0].actions[1]: action glob \"m365.*\"")
            && text.contains("no known action is in namespace \"m365\""),
        "{text}"
    );
}

#[test]
fn end_users_fix_their_own_sign_in() {
    let policy = examples();
    for action in [
        "identity.reset_password",
        "identity.unlock",
        "identity.reset_mfa",
    ] {
        let decision = acme(Case::self_service("acme-law", action)).decide(&policy);
        assert_decision(&decision, "allow", "acme-self-service-sign-in");
    }
    // Not for someone else's account.
    let other = acme(Case::new(
        "acme-law",
        "identity.reset_password",
        Principal::end_user("jane@acme-law.example"),
        "bob@acme-law.example",
    ));
    assert_decision(&other.decide(&policy), "deny", "no-policy");
}

#[test]
fn protected_accounts_are_guarded_by_the_locked_global_rules() {
    let policy = examples();
    // An end user who is a Global Administrator cannot self-serve.
    let admin_self = acme(Case::self_service("acme-law", "identity.reset_password"))
        .facts(|f| f.roles = vec!["Global Administrator".into()]);
    assert_decision(
        &admin_self.decide(&policy),
        "deny",
        "protected-identity-technicians-only",
    );
    // A technician resetting a partner (protected by the tenant-group layer) needs a lead.
    let partner = acme(Case::technician("acme-law", "identity.reset_password"))
        .facts(|f| f.groups = vec!["Partners".into()]);
    assert_decision(
        &partner.decide(&policy),
        "approve",
        "protected-identity-needs-lead",
    );
    // The tenant's break-glass account.
    let breakglass = acme(Case::technician("acme-law", "identity.unlock"))
        .facts(|f| f.login = Some("breakglass@acme-law.example".into()));
    assert_decision(
        &breakglass.decide(&policy),
        "approve",
        "protected-identity-needs-lead",
    );
}

#[test]
fn licences_and_mailboxes_wait_for_a_lead_or_the_client_contact() {
    let policy = examples();
    let licence = acme(Case::technician("acme-law", "identity.assign_license"))
        .params(json!({"user": "bob@acme-law.example", "sku": "SPE_E3"}));
    let decision = licence.decide(&policy);
    assert_decision(&decision, "approve", "acme-licences-approved");
    assert_eq!(
        decision.effect,
        Effect::RequireApproval {
            approvers: vec![
                Approver::Role("msp.lead".into()),
                Approver::Contact("it@acme-law.example".into())
            ]
        }
    );
    let unlisted_sku = acme(Case::technician("acme-law", "identity.assign_license"))
        .params(json!({"sku": "SPE_E5"}));
    assert_decision(&unlisted_sku.decide(&policy), "deny", "no-policy");
    assert_decision(
        &acme(Case::technician(
            "acme-law",
            "identity.grant_mailbox_access",
        ))
        .decide(&policy),
        "approve",
        "acme-mailbox-access-approved",
    );
    assert_decision(
        &acme(Case::technician("acme-law", "identity.add_to_group")).decide(&policy),
        "approve",
        "acme-group-changes-approved",
    );
}

#[test]
fn the_agent_writes_notes_and_caps_and_denies_hold() {
    let policy = examples();
    let note = acme(Case::new(
        "acme-law",
        "psa.add_note",
        Principal::agent("stackhand"),
        "bob@acme-law.example",
    ));
    assert_decision(&note.decide(&policy), "allow", "agent-psa-notes");
    // Each reset carries the global cap; the engine denies the 21st of the hour.
    let reset = acme(Case::self_service("acme-law", "identity.reset_password")).decide(&policy);
    assert_decision(&reset, "allow", "acme-self-service-sign-in");
    assert_eq!(
        reset.caps.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["cap-password-resets"]
    );
    assert_eq!(reset.caps[0].max, 20);
    assert_decision(
        &acme(Case::technician("acme-law", "m365.set_forwarding")).decide(&policy),
        "deny",
        "legal-no-external-forwarding",
    );
    let script = acme(Case::new(
        "acme-law",
        "rmm.run_script",
        Principal::agent("stackhand"),
        "bob@acme-law.example",
    ));
    assert_decision(&script.decide(&policy), "deny", "no-automated-scripts");
}
