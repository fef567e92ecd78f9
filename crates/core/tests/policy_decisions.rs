//! Decision semantics of the layered policy, one rule of the decision order per test.

mod policy_support;

use policy_support::{Case, assert_decision, policy};
use serde_json::json;
use stackhand_core::{Approver, CapLimit, Department, Effect, Risk, RuleId};

const GLOBAL_ALLOW_IDENTITY: &str = r#"
[scope]
global = true

[[rules]]
id = "global-identity"
actions = ["identity.*"]
effect = "allow"
"#;

#[test]
fn a_deny_at_a_more_specific_layer_beats_a_global_allow() {
    let p = policy(&[
        ("global.toml", GLOBAL_ALLOW_IDENTITY),
        (
            "acme.toml",
            r#"
            [scope]
            tenant = "acme-law"

            [[rules]]
            id = "acme-no-resets"
            description = "Acme resets go through their own desk"
            actions = ["identity.reset_password"]
            effect = "deny"
            "#,
        ),
    ]);
    let decision = Case::technician("acme-law", "identity.reset_password").decide(&p);
    assert_decision(&decision, "deny", "acme-no-resets");
    assert!(
        decision.reason.contains("tenant acme-law"),
        "{}",
        decision.reason
    );
    assert!(
        decision.reason.contains("a deny at any layer wins"),
        "{}",
        decision.reason
    );
    assert!(
        decision.reason.contains("Acme resets go through"),
        "{}",
        decision.reason
    );
    // Other actions and other tenants are untouched by the tenant's deny.
    assert_decision(
        &Case::technician("acme-law", "identity.unlock").decide(&p),
        "allow",
        "global-identity",
    );
    assert_decision(
        &Case::technician("other", "identity.reset_password").decide(&p),
        "allow",
        "global-identity",
    );
}

#[test]
fn a_global_deny_beats_a_more_specific_allow() {
    let p = policy(&[
        (
            "global.toml",
            r#"
            [scope]
            global = true

            [[rules]]
            id = "no-disabling"
            actions = ["identity.disable"]
            effect = "deny"
            "#,
        ),
        (
            "dept.toml",
            r#"
            [scope]
            department = { tenant = "acme-law", name = "IT" }

            [[rules]]
            id = "it-may-disable"
            actions = ["identity.*"]
            effect = "allow"
            "#,
        ),
    ]);
    let case = Case::technician("acme-law", "identity.disable").department("IT");
    assert_decision(&case.decide(&p), "deny", "no-disabling");
}

const LOCKED_GLOBAL: &str = r#"
[scope]
global = true

[protected]
roles = ["Global Administrator"]

[[rules]]
id = "protected-need-lead"
actions = ["identity.*"]
effect = "approve"
approvers = [{ role = "msp.lead" }]
locked = true
[rules.when]
target_protected = true
"#;

#[test]
fn a_locked_global_rule_beats_a_tenant_allow() {
    let p = policy(&[
        ("global.toml", LOCKED_GLOBAL),
        (
            "acme.toml",
            r#"
            [scope]
            tenant = "acme-law"

            [[rules]]
            id = "acme-resets"
            actions = ["identity.reset_password"]
            effect = "allow"
            "#,
        ),
    ]);
    let admin = Case::technician("acme-law", "identity.reset_password")
        .facts(|f| f.roles = vec!["Global Administrator".into()]);
    let decision = admin.decide(&p);
    assert_decision(&decision, "approve", "protected-need-lead");
    assert_eq!(
        decision.effect,
        Effect::RequireApproval {
            approvers: vec![Approver::Role("msp.lead".into())]
        }
    );
    assert!(
        decision.reason.starts_with("locked rule"),
        "{}",
        decision.reason
    );
    // When the locked rule does not match, the tenant rule decides as usual.
    assert_decision(
        &Case::technician("acme-law", "identity.reset_password").decide(&p),
        "allow",
        "acme-resets",
    );
}

#[test]
fn among_locked_rules_approve_beats_allow() {
    let p = policy(&[(
        "global.toml",
        r#"
        [scope]
        global = true

        [[rules]]
        id = "locked-allow"
        actions = ["psa.*"]
        effect = "allow"
        locked = true

        [[rules]]
        id = "locked-approve"
        actions = ["psa.close"]
        effect = "approve"
        approvers = [{ group = "service-desk" }]
        locked = true
        "#,
    )]);
    assert_decision(
        &Case::technician("acme-law", "psa.close").decide(&p),
        "approve",
        "locked-approve",
    );
    assert_decision(
        &Case::technician("acme-law", "psa.add_note").decide(&p),
        "allow",
        "locked-allow",
    );
}

#[test]
fn the_most_specific_layer_with_a_matching_rule_decides() {
    let global = r#"
        [scope]
        global = true

        [[rules]]
        id = "global-approve"
        actions = ["identity.*"]
        effect = "approve"
        approvers = [{ role = "msp.lead" }]
    "#;
    let group = r#"
        [scope]
        tenant_group = "legal-clients"

        [[rules]]
        id = "legal-allow"
        actions = ["identity.reset_password", "identity.unlock"]
        effect = "allow"
    "#;
    let tenant = r#"
        [scope]
        tenant = "acme-law"

        [[rules]]
        id = "acme-approve-unlock"
        actions = ["identity.unlock"]
        effect = "approve"
        approvers = [{ contact = "it@acme-law.example" }]
    "#;
    let department = r#"
        [scope]
        department = { tenant = "acme-law", name = "Finance" }

        [[rules]]
        id = "finance-allow-unlock"
        actions = ["identity.unlock"]
        effect = "allow"
    "#;
    let p = policy(&[
        ("global.toml", global),
        ("group.toml", group),
        ("acme.toml", tenant),
        ("finance.toml", department),
    ]);
    let case = |action: &str| Case::technician("acme-law", action).in_group("legal-clients");

    // Only global matches.
    assert_decision(
        &case("identity.add_to_group").decide(&p),
        "approve",
        "global-approve",
    );
    // Group beats global.
    let decision = case("identity.reset_password").decide(&p);
    assert_decision(&decision, "allow", "legal-allow");
    assert!(
        decision.reason.contains("tenant group legal-clients")
            && decision.reason.contains("most specific layer"),
        "{}",
        decision.reason
    );
    // Tenant beats group, even when it is stricter.
    assert_decision(
        &case("identity.unlock").decide(&p),
        "approve",
        "acme-approve-unlock",
    );
    // Department beats tenant.
    let decision = case("identity.unlock").department("Finance").decide(&p);
    assert_decision(&decision, "allow", "finance-allow-unlock");
    assert!(
        decision
            .reason
            .contains("department Finance in tenant acme-law"),
        "{}",
        decision.reason
    );
    // A tenant outside the group does not get the group layer.
    assert_decision(
        &Case::technician("other", "identity.reset_password").decide(&p),
        "approve",
        "global-approve",
    );
}

#[test]
fn within_a_layer_approve_beats_allow_and_ties_go_to_document_order() {
    let p = policy(&[(
        "acme.toml",
        r#"
        [scope]
        tenant = "acme-law"

        [[rules]]
        id = "allow-all-identity"
        actions = ["identity.*"]
        effect = "allow"

        [[rules]]
        id = "licences-need-lead"
        actions = ["identity.assign_license"]
        effect = "approve"
        approvers = [{ role = "msp.lead" }, { contact = "it@acme-law.example" }]

        [[rules]]
        id = "licences-need-manager"
        actions = ["identity.*_license"]
        effect = "approve"
        approvers = [{ role = "client.manager" }]

        [[rules]]
        id = "second-allow"
        actions = ["identity.unlock"]
        effect = "allow"
        "#,
    )]);
    let decision = Case::technician("acme-law", "identity.assign_license").decide(&p);
    assert_decision(&decision, "approve", "licences-need-lead");
    assert!(
        decision
            .reason
            .contains("by role msp.lead or contact it@acme-law.example"),
        "{}",
        decision.reason
    );
    assert_decision(
        &Case::technician("acme-law", "identity.unlock").decide(&p),
        "allow",
        "allow-all-identity",
    );
}

#[test]
fn no_matching_rule_denies_with_no_policy() {
    let p = policy(&[("global.toml", GLOBAL_ALLOW_IDENTITY)]);
    let decision = Case::technician("acme-law", "psa.add_note").decide(&p);
    assert_decision(&decision, "deny", "no-policy");
    assert_eq!(decision.reason, "no policy");

    let empty = policy(&[]);
    assert_decision(
        &Case::technician("acme-law", "identity.unlock").decide(&empty),
        "deny",
        "no-policy",
    );
}

#[test]
fn rules_of_another_tenant_or_department_do_not_apply() {
    let p = policy(&[
        (
            "other.toml",
            r#"
            [scope]
            tenant = "other"
            [[rules]]
            id = "other-allow"
            actions = ["*"]
            effect = "allow"
            "#,
        ),
        (
            "sales.toml",
            r#"
            [scope]
            department = { tenant = "acme-law", name = "Sales" }
            [[rules]]
            id = "sales-allow"
            actions = ["*"]
            effect = "allow"
            "#,
        ),
    ]);
    assert_decision(
        &Case::technician("acme-law", "identity.unlock").decide(&p),
        "deny",
        "no-policy",
    );
    assert_decision(
        &Case::technician("acme-law", "identity.unlock")
            .department("Finance")
            .decide(&p),
        "deny",
        "no-policy",
    );
    assert_decision(
        &Case::technician("acme-law", "identity.unlock")
            .department("Sales")
            .decide(&p),
        "allow",
        "sales-allow",
    );
}

#[test]
fn the_department_comes_from_the_directory_never_from_the_caller() {
    let p = policy(&[(
        "sales.toml",
        r#"
        [scope]
        department = { tenant = "acme-law", name = "Sales" }
        [[rules]]
        id = "sales-allow"
        actions = ["identity.unlock"]
        effect = "allow"
        "#,
    )]);
    let from_facts = Case::technician("acme-law", "identity.unlock").department("Sales");
    assert_decision(&from_facts.decide(&p), "allow", "sales-allow");
    // The caller claims Sales (a request as it arrives on the wire, with a department field),
    // but the directory says Finance, or says nothing: the Sales layer does not apply.
    for directory in [Some("Finance"), None] {
        let mut claimed =
            Case::technician("acme-law", "identity.unlock").claims_department("Sales");
        claimed.facts.department = directory.map(Department::new);
        assert_decision(&claimed.decide(&p), "deny", "no-policy");
    }
}

const SELF_SERVICE: &str = r#"
[scope]
tenant = "acme-law"

[[rules]]
id = "own-account"
actions = ["identity.reset_password"]
effect = "allow"
[rules.when]
requester_kinds = ["end_user"]
self_service = true

[[rules]]
id = "someone-else"
actions = ["identity.reset_password"]
effect = "approve"
approvers = [{ role = "msp.lead" }]
[rules.when]
self_service = false
"#;

#[test]
fn self_service_compares_the_requester_with_the_target_login() {
    let p = policy(&[("acme.toml", SELF_SERVICE)]);
    let own = Case::self_service("acme-law", "identity.reset_password");
    assert_decision(&own.decide(&p), "allow", "own-account");
    // Logins compare case-insensitively.
    let own_upper = Case::self_service("acme-law", "identity.reset_password")
        .facts(|f| f.login = Some("JANE@acme-law.example".into()));
    assert_decision(&own_upper.decide(&p), "allow", "own-account");
    let other = Case::new(
        "acme-law",
        "identity.reset_password",
        stackhand_core::Principal::end_user("jane@acme-law.example"),
        "bob@acme-law.example",
    );
    assert_decision(&other.decide(&p), "approve", "someone-else");
    // No login in the facts: not provably self-service.
    let unknown =
        Case::self_service("acme-law", "identity.reset_password").facts(|f| f.login = None);
    assert_decision(&unknown.decide(&p), "approve", "someone-else");
}

#[test]
fn requester_kinds_restrict_who_may_ask() {
    let p = policy(&[("acme.toml", SELF_SERVICE)]);
    // A technician resetting their "own" account is not an end user: only the second rule holds.
    let tech_self = Case::new(
        "acme-law",
        "identity.reset_password",
        stackhand_core::Principal::technician("tech@msp.example", &[]),
        "tech@msp.example",
    );
    assert_decision(&tech_self.decide(&p), "deny", "no-policy");
}

const PROTECTED: &str = r#"
[scope]
global = true

[protected]
roles = ["Global Administrator"]
groups = ["Break Glass"]
accounts = ["breakglass@acme-law.example"]

[[rules]]
id = "protected-denied"
actions = ["identity.*"]
effect = "deny"
[rules.when]
target_protected = true

[[rules]]
id = "unprotected-allowed"
actions = ["identity.*"]
effect = "allow"
[rules.when]
target_protected = false
"#;

#[test]
fn protected_targets_by_role_group_account_and_privileged_flag() {
    let p = policy(&[("global.toml", PROTECTED)]);
    let case = || Case::technician("acme-law", "identity.reset_password");
    assert_decision(&case().decide(&p), "allow", "unprotected-allowed");
    let by_role = case().facts(|f| f.roles = vec!["global administrator".into()]);
    assert_decision(&by_role.decide(&p), "deny", "protected-denied");
    let by_group = case().facts(|f| f.groups = vec!["Staff".into(), "Break Glass".into()]);
    assert_decision(&by_group.decide(&p), "deny", "protected-denied");
    let by_account = case().facts(|f| f.login = Some("BreakGlass@acme-law.example".into()));
    assert_decision(&by_account.decide(&p), "deny", "protected-denied");
    let by_flag = case().facts(|f| f.privileged = true);
    assert_decision(&by_flag.decide(&p), "deny", "protected-denied");
    let near_miss = case().facts(|f| f.roles = vec!["Global Reader".into()]);
    assert_decision(&near_miss.decide(&p), "allow", "unprotected-allowed");
}

#[test]
fn protected_lists_are_a_union_over_the_applicable_layers() {
    let tenant = r#"
        [scope]
        tenant = "acme-law"

        [protected]
        accounts = ["managing.partner@acme-law.example"]
    "#;
    let p = policy(&[("global.toml", PROTECTED), ("acme.toml", tenant)]);
    let partner = |tenant: &str| {
        Case::technician(tenant, "identity.reset_password")
            .facts(|f| f.login = Some("managing.partner@acme-law.example".into()))
    };
    assert_decision(&partner("acme-law").decide(&p), "deny", "protected-denied");
    // Another tenant's protected list does not apply.
    assert_decision(&partner("other").decide(&p), "allow", "unprotected-allowed");
}

fn params_policy(predicate: &str) -> stackhand_core::policy::LayeredPolicy {
    let text = format!(
        r#"
        [scope]
        global = true

        [[rules]]
        id = "licence"
        actions = ["identity.assign_license"]
        effect = "allow"
        [rules.when]
        params = [ {predicate} ]
        "#
    );
    policy(&[("global.toml", &text)])
}

fn licence(params: serde_json::Value) -> Case {
    Case::technician("acme-law", "identity.assign_license").params(params)
}

#[test]
fn params_in_holds_for_listed_values_only() {
    let p = params_policy(r#"{ path = "/sku", in = ["SPE_E3", "O365_BUSINESS_PREMIUM"] }"#);
    assert_decision(
        &licence(json!({"sku": "SPE_E3"})).decide(&p),
        "allow",
        "licence",
    );
    assert_decision(
        &licence(json!({"sku": "SPE_E5"})).decide(&p),
        "deny",
        "no-policy",
    );
    assert_decision(&licence(json!({})).decide(&p), "deny", "no-policy");
}

#[test]
fn params_equals_compares_json_values() {
    let p = params_policy(r#"{ path = "/mailbox/automap", equals = true }"#);
    assert_decision(
        &licence(json!({"mailbox": {"automap": true}})).decide(&p),
        "allow",
        "licence",
    );
    assert_decision(
        &licence(json!({"mailbox": {"automap": "true"}})).decide(&p),
        "deny",
        "no-policy",
    );
    let p = params_policy(r#"{ path = "/seats/0", equals = 3 }"#);
    assert_decision(
        &licence(json!({"seats": [3]})).decide(&p),
        "allow",
        "licence",
    );
    assert_decision(
        &licence(json!({"seats": [4]})).decide(&p),
        "deny",
        "no-policy",
    );
}

#[test]
fn params_matches_globs_strings() {
    let p = params_policy(r#"{ path = "/group", matches = "Sales*" }"#);
    assert_decision(
        &licence(json!({"group": "Sales EMEA"})).decide(&p),
        "allow",
        "licence",
    );
    assert_decision(
        &licence(json!({"group": "Finance"})).decide(&p),
        "deny",
        "no-policy",
    );
    assert_decision(
        &licence(json!({"group": 7})).decide(&p),
        "deny",
        "no-policy",
    );
}

#[test]
fn params_exists_treats_null_as_absent() {
    let absent = params_policy(r#"{ path = "/tap", exists = false }"#);
    let present = params_policy(r#"{ path = "/tap", exists = true }"#);
    assert_decision(&licence(json!({})).decide(&absent), "allow", "licence");
    assert_decision(
        &licence(json!({"tap": null})).decide(&absent),
        "allow",
        "licence",
    );
    assert_decision(
        &licence(json!({"tap": "x"})).decide(&absent),
        "deny",
        "no-policy",
    );
    assert_decision(
        &licence(json!({"tap": "x"})).decide(&present),
        "allow",
        "licence",
    );
    assert_decision(&licence(json!({})).decide(&present), "deny", "no-policy");
}

#[test]
fn risk_at_most_compares_with_the_action_spec() {
    let p = policy(&[(
        "global.toml",
        r#"
        [scope]
        global = true
        [[rules]]
        id = "low-risk-notes"
        actions = ["psa.*"]
        effect = "allow"
        [rules.when]
        risk_at_most = "medium"
        "#,
    )]);
    let case = |risk| Case::technician("acme-law", "psa.add_note").risk(risk);
    assert_decision(&case(Risk::Low).decide(&p), "allow", "low-risk-notes");
    assert_decision(&case(Risk::Medium).decide(&p), "allow", "low-risk-notes");
    assert_decision(&case(Risk::High).decide(&p), "deny", "no-policy");
}

const CAPPED: &str = r#"
[scope]
global = true

[[rules]]
id = "resets"
actions = ["identity.reset_password"]
effect = "allow"

[[rules]]
id = "no-disabling"
actions = ["identity.disable"]
effect = "deny"

[[caps]]
id = "cap-password-resets"
actions = ["identity.reset_password"]
max_per_hour = 20
"#;

fn cap(id: &str, max: u32) -> CapLimit {
    CapLimit {
        id: RuleId::new(id),
        max,
        window_seconds: 3600,
    }
}

#[test]
fn an_allowed_request_carries_its_caps_for_the_engine_to_reserve() {
    let p = policy(&[("global.toml", CAPPED)]);
    let reset = Case::technician("acme-law", "identity.reset_password").decide(&p);
    assert_decision(&reset, "allow", "resets");
    assert_eq!(reset.caps, vec![cap("cap-password-resets", 20)]);
    // A deny carries no caps: nothing will run. Nor does an action no cap covers.
    let disable = Case::technician("acme-law", "identity.disable").decide(&p);
    assert_decision(&disable, "deny", "no-disabling");
    assert!(disable.caps.is_empty(), "{disable:?}");
    let unlock = Case::technician("acme-law", "identity.unlock").decide(&p);
    assert_decision(&unlock, "deny", "no-policy");
    assert!(unlock.caps.is_empty(), "{unlock:?}");
}

#[test]
fn a_glob_cap_is_one_cap_for_every_action_under_it() {
    let tenant = r#"
        [scope]
        tenant = "acme-law"
        [[caps]]
        id = "acme-identity-cap"
        actions = ["identity.*"]
        max_per_hour = 2
    "#;
    let p = policy(&[
        ("global.toml", GLOBAL_ALLOW_IDENTITY),
        ("acme.toml", tenant),
    ]);
    // The same cap id for both actions: the engine keys its counter by (tenant, cap id), so
    // unlocks and resets share the two slots.
    for action in ["identity.unlock", "identity.reset_password"] {
        let decision = Case::technician("acme-law", action).decide(&p);
        assert_decision(&decision, "allow", "global-identity");
        assert_eq!(decision.caps, vec![cap("acme-identity-cap", 2)], "{action}");
    }
    // A tenant cap applies to its tenant only.
    let other = Case::technician("other", "identity.unlock").decide(&p);
    assert_decision(&other, "allow", "global-identity");
    assert!(other.caps.is_empty(), "{other:?}");
}

#[test]
fn every_matching_cap_of_every_applicable_layer_is_returned_in_layer_order() {
    let global = r#"
        [scope]
        global = true
        [[rules]]
        id = "licences-approved"
        actions = ["identity.assign_license"]
        effect = "approve"
        approvers = [{ role = "msp.lead" }]
        [[caps]]
        id = "global-licences"
        actions = ["identity.*_license"]
        max_per_hour = 50
        [[caps]]
        id = "global-resets"
        actions = ["identity.reset_password"]
        max_per_hour = 20
    "#;
    let tenant = r#"
        [scope]
        tenant = "acme-law"
        [[caps]]
        id = "acme-everything"
        actions = ["*", "identity.assign_license"]
        max_per_hour = 5
    "#;
    let p = policy(&[("global.toml", global), ("acme.toml", tenant)]);
    let decision = Case::technician("acme-law", "identity.assign_license").decide(&p);
    assert_decision(&decision, "approve", "licences-approved");
    assert_eq!(
        decision.caps,
        vec![cap("global-licences", 50), cap("acme-everything", 5)]
    );
}

#[test]
fn star_matches_every_action() {
    let p = policy(&[(
        "global.toml",
        r#"
        [scope]
        global = true
        [[rules]]
        id = "everything-needs-lead"
        actions = ["*"]
        effect = "approve"
        approvers = [{ role = "msp.lead" }]
        "#,
    )]);
    for action in ["psa.add_note", "m365.convert_to_shared", "rmm.run_script"] {
        assert_decision(
            &Case::technician("acme-law", action).decide(&p),
            "approve",
            "everything-needs-lead",
        );
    }
}

const UNDO_NEEDS_APPROVAL: &str = r#"
[scope]
tenant = "acme-law"

[[rules]]
id = "add-to-group"
actions = ["identity.add_to_group"]
effect = "allow"
[rules.when]
operation = "execute"

[[rules]]
id = "undo-add-to-group"
actions = ["identity.add_to_group"]
effect = "approve"
approvers = [{ role = "msp.lead" }]
[rules.when]
operation = "undo"
"#;

#[test]
fn an_undo_is_decided_as_an_undo() {
    let p = policy(&[("acme.toml", UNDO_NEEDS_APPROVAL)]);
    let forward = Case::technician("acme-law", "identity.add_to_group");
    assert_decision(&forward.decide(&p), "allow", "add-to-group");
    let undo = Case::technician("acme-law", "identity.add_to_group").undo();
    let decision = undo.decide(&p);
    assert_decision(&decision, "approve", "undo-add-to-group");
    assert!(
        decision
            .reason
            .contains("requires approval of the undo of identity.add_to_group"),
        "{}",
        decision.reason
    );
}

#[test]
fn a_rule_without_an_operation_applies_to_the_action_and_its_undo() {
    let p = policy(&[("global.toml", GLOBAL_ALLOW_IDENTITY)]);
    for case in [
        Case::technician("acme-law", "identity.add_to_group"),
        Case::technician("acme-law", "identity.add_to_group").undo(),
    ] {
        assert_decision(&case.decide(&p), "allow", "global-identity");
    }
    // And an undo-only deny leaves the forward action alone.
    let p = policy(&[
        ("global.toml", GLOBAL_ALLOW_IDENTITY),
        (
            "acme.toml",
            r#"
            [scope]
            tenant = "acme-law"
            [[rules]]
            id = "no-undoing-unlocks"
            actions = ["identity.unlock"]
            effect = "deny"
            [rules.when]
            operation = "undo"
            "#,
        ),
    ]);
    assert_decision(
        &Case::technician("acme-law", "identity.unlock").decide(&p),
        "allow",
        "global-identity",
    );
    assert_decision(
        &Case::technician("acme-law", "identity.unlock")
            .undo()
            .decide(&p),
        "deny",
        "no-undoing-unlocks",
    );
}
