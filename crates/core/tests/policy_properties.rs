//! Property tests: the indexed policy agrees with a naive reading of the decision rules.

mod policy_support;

use policy_support::{Case, policy};
use proptest::prelude::*;
use stackhand_core::{Department, Effect, Principal, RuleId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum GenScope {
    Global,
    Group,
    TenantOne,
    TenantTwo,
    FinanceOfOne,
}

impl GenScope {
    fn toml(self) -> &'static str {
        match self {
            GenScope::Global => "global = true",
            GenScope::Group => "tenant_group = \"legal\"",
            GenScope::TenantOne => "tenant = \"t1\"",
            GenScope::TenantTwo => "tenant = \"t2\"",
            GenScope::FinanceOfOne => "department = { tenant = \"t1\", name = \"Finance\" }",
        }
    }

    fn specificity(self) -> u8 {
        match self {
            GenScope::Global => 0,
            GenScope::Group => 1,
            GenScope::TenantOne | GenScope::TenantTwo => 2,
            GenScope::FinanceOfOne => 3,
        }
    }

    fn applies(self, request: &GenRequest) -> bool {
        match self {
            GenScope::Global => true,
            // Tenant t1 is in the group "legal"; t2 is in no group.
            GenScope::Group | GenScope::TenantOne => request.tenant == "t1",
            GenScope::TenantTwo => request.tenant == "t2",
            GenScope::FinanceOfOne => request.tenant == "t1" && request.finance,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GenEffect {
    Allow,
    Approve,
    Deny,
}

#[derive(Debug, Clone)]
struct GenRule {
    scope: GenScope,
    action: &'static str,
    effect: GenEffect,
    locked: bool,
    end_users_only: Option<bool>,
    self_service: Option<bool>,
}

#[derive(Debug, Clone)]
struct GenRequest {
    tenant: &'static str,
    action: &'static str,
    /// 0: end user on own account, 1: end user on another, 2: technician.
    requester: u8,
    finance: bool,
}

const PATTERNS: &[&str] = &[
    "identity.unlock",
    "identity.reset_password",
    "identity.*",
    "psa.add_note",
    "*",
];
const ACTIONS: &[&str] = &[
    "identity.unlock",
    "identity.reset_password",
    "psa.add_note",
    "rmm.run_script",
];

fn gen_rule() -> impl Strategy<Value = GenRule> {
    (
        prop::sample::select(vec![
            GenScope::Global,
            GenScope::Group,
            GenScope::TenantOne,
            GenScope::TenantTwo,
            GenScope::FinanceOfOne,
        ]),
        prop::sample::select(PATTERNS),
        prop::sample::select(vec![GenEffect::Allow, GenEffect::Approve, GenEffect::Deny]),
        any::<bool>(),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
    )
        .prop_map(
            |(scope, action, effect, locked, end_users_only, self_service)| GenRule {
                scope,
                action,
                effect,
                locked: locked && scope == GenScope::Global,
                end_users_only,
                self_service,
            },
        )
}

fn gen_request() -> impl Strategy<Value = GenRequest> {
    (
        prop::sample::select(vec!["t1", "t2"]),
        prop::sample::select(ACTIONS),
        0u8..3,
        any::<bool>(),
    )
        .prop_map(|(tenant, action, requester, finance)| GenRequest {
            tenant,
            action,
            requester,
            finance,
        })
}

/// One document per scope, in order of first appearance; returns the texts and the rules in
/// load order (which is the order ties are broken in).
/// `(origin, text)` of each document.
type Documents = Vec<(String, String)>;

fn documents(rules: &[GenRule]) -> (Documents, Vec<(String, GenRule)>) {
    let mut scopes: Vec<GenScope> = Vec::new();
    for rule in rules {
        if !scopes.contains(&rule.scope) {
            scopes.push(rule.scope);
        }
    }
    let mut docs = Vec::new();
    let mut ordered = Vec::new();
    for (d, scope) in scopes.iter().enumerate() {
        let mut text = format!("[scope]\n{}\n", scope.toml());
        for (i, rule) in rules.iter().enumerate().filter(|(_, r)| r.scope == *scope) {
            let id = format!("r{i}");
            let effect = match rule.effect {
                GenEffect::Allow => "effect = \"allow\"",
                GenEffect::Approve => "effect = \"approve\"\napprovers = [{ role = \"msp.lead\" }]",
                GenEffect::Deny => "effect = \"deny\"",
            };
            text.push_str(&format!(
                "\n[[rules]]\nid = \"{id}\"\nactions = [\"{}\"]\n{effect}\nlocked = {}\n",
                rule.action, rule.locked
            ));
            text.push_str("[rules.when]\n");
            match rule.end_users_only {
                Some(true) => text.push_str("requester_kinds = [\"end_user\"]\n"),
                Some(false) => text.push_str("requester_kinds = [\"technician\", \"agent\"]\n"),
                None => {}
            }
            if let Some(own) = rule.self_service {
                text.push_str(&format!("self_service = {own}\n"));
            }
            ordered.push((id, rule.clone()));
        }
        docs.push((format!("doc{d}.toml"), text));
    }
    (docs, ordered)
}

fn rule_matches(rule: &GenRule, request: &GenRequest) -> bool {
    let action_ok = match rule.action {
        "*" => true,
        "identity.*" => request.action.starts_with("identity."),
        exact => exact == request.action,
    };
    let end_user = request.requester < 2;
    let own = request.requester == 0;
    rule.scope.applies(request)
        && action_ok
        && rule.end_users_only.is_none_or(|only| only == end_user)
        && rule.self_service.is_none_or(|want| want == own)
}

/// The decision rules read literally: scan everything.
fn reference(ordered: &[(String, GenRule)], request: &GenRequest) -> (GenEffect, String) {
    let matching: Vec<(usize, &String, &GenRule)> = ordered
        .iter()
        .enumerate()
        .filter(|(_, (_, r))| rule_matches(r, request))
        .map(|(pos, (id, r))| (pos, id, r))
        .collect();
    let restrictive = |e: GenEffect| match e {
        GenEffect::Allow => 0,
        GenEffect::Approve => 1,
        GenEffect::Deny => 2,
    };
    let pick = |candidates: Vec<&(usize, &String, &GenRule)>| {
        candidates
            .into_iter()
            .max_by_key(|(pos, _, r)| (restrictive(r.effect), std::cmp::Reverse(*pos)))
            .map(|(_, id, r)| (r.effect, id.to_string()))
    };
    if let Some((_, id, _)) = matching
        .iter()
        .filter(|(_, _, r)| r.effect == GenEffect::Deny)
        .min_by_key(|(pos, _, r)| (r.scope.specificity(), *pos))
    {
        return (GenEffect::Deny, id.to_string());
    }
    if let Some(decided) = pick(matching.iter().filter(|(_, _, r)| r.locked).collect()) {
        return decided;
    }
    let Some(top) = matching
        .iter()
        .filter(|(_, _, r)| !r.locked)
        .map(|(_, _, r)| r.scope.specificity())
        .max()
    else {
        return (GenEffect::Deny, RuleId::NO_POLICY.to_string());
    };
    pick(
        matching
            .iter()
            .filter(|(_, _, r)| !r.locked && r.scope.specificity() == top)
            .collect(),
    )
    .expect("a rule of the top layer matched")
}

fn case(request: &GenRequest) -> Case {
    let (requester, target) = match request.requester {
        0 => (Principal::end_user("jane@x.example"), "jane@x.example"),
        1 => (Principal::end_user("jane@x.example"), "bob@x.example"),
        _ => (
            Principal::technician("tech@msp.example", &[]),
            "bob@x.example",
        ),
    };
    let mut case = Case::new(request.tenant, request.action, requester, target);
    if request.tenant == "t1" {
        case = case.in_group("legal");
    }
    if request.finance {
        case = case.facts(|f| f.department = Some(Department::new("Finance")));
    }
    case
}

fn effect_of(effect: &Effect) -> GenEffect {
    match effect {
        Effect::Allow => GenEffect::Allow,
        Effect::RequireApproval { .. } => GenEffect::Approve,
        Effect::Deny => GenEffect::Deny,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decisions_follow_the_decision_rules(
        rules in prop::collection::vec(gen_rule(), 0..24),
        requests in prop::collection::vec(gen_request(), 1..12),
    ) {
        let (docs, ordered) = documents(&rules);
        let borrowed: Vec<(&str, &str)> = docs.iter().map(|(o, t)| (o.as_str(), t.as_str())).collect();
        let policy = policy(&borrowed);
        for request in &requests {
            let decision = case(request).decide(&policy);
            let effect = effect_of(&decision.effect);

            // A matching deny anywhere applicable means deny.
            if ordered.iter().any(|(_, r)| r.effect == GenEffect::Deny && rule_matches(r, request)) {
                prop_assert_eq!(effect, GenEffect::Deny, "{:?}", decision);
            }
            // The decision names a rule that exists, or no-policy.
            prop_assert!(
                decision.rule.as_str() == RuleId::NO_POLICY
                    || ordered.iter().any(|(id, _)| id == decision.rule.as_str()),
                "unknown rule in {:?}", decision
            );
            // And it is exactly what the literal reading of the rules says.
            let expected = reference(&ordered, request);
            prop_assert_eq!((effect, decision.rule.as_str().to_string()), expected, "request {:?}", request);
        }
    }

    #[test]
    fn with_no_rules_everything_is_denied(request in gen_request()) {
        let decision = case(&request).decide(&policy(&[]));
        prop_assert_eq!(decision.effect, Effect::Deny);
        prop_assert_eq!(decision.rule.as_str(), RuleId::NO_POLICY);
    }
}
