//! # stackhand-bench
//!
//! Benchmarks for stackhand. Today: how long one policy decision takes with stackhand's
//! [`LayeredPolicy`] for 1,000 tenants × 20 rules plus 50 global rules, next to the same rules
//! written for [cedar-policy](https://docs.rs/cedar-policy) 4 and evaluated in the same bench.
//!
//! Everything both engines need is generated here, once, from one seeded [`Scenario`]:
//! the TOML documents for stackhand, the Cedar policy texts, and the requests. The Cedar side
//! is a small adapter ([`CedarEngine`]) that maps Cedar's answer (allow/deny plus the policies
//! that determined it) onto stackhand's decision order (deny wins, locked global rules, most
//! specific layer, approve beats allow, document order), so both engines must give the same
//! verdict, and the bench asserts that they do before it measures anything.
//!
//! Run it with `cargo xtask bench` (or `cargo bench -p stackhand-bench`); the results are in
//! `docs/performance.md`.
//!
//! ```no_run
//! use stackhand_bench::{CedarEngine, Scenario, StackhandEngine};
//!
//! let scenario = Scenario::standard();
//! let ours = StackhandEngine::new(&scenario);
//! let cedar = CedarEngine::single_set(&scenario);
//! for request in scenario.requests(100, 7) {
//!     let (a, b) = (ours.prepare(&request), cedar.prepare(&request));
//!     assert_eq!(ours.decide(&a), cedar.decide(&b));
//! }
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;
use std::str::FromStr;

use stackhand_core::policy::{LayeredPolicy, PolicyLoader, Vocabulary};
use stackhand_core::{
    ActionId, ActionRequest, ActionSpec, Category, DecisionInput, Effect, IdempotencyKey,
    Operation, Policy, Principal, Risk, RuleId, TargetFacts, Tenant, TenantId,
};

/// Tenants in the standard scenario.
pub const TENANTS: usize = 1_000;
/// Rules per tenant in the standard scenario.
pub const RULES_PER_TENANT: usize = 20;
/// Global rules in the standard scenario.
pub const GLOBAL_RULES: usize = 50;

const NAMESPACES: &[(&str, &[&str])] = &[
    (
        "identity",
        &[
            "reset_password",
            "unlock",
            "reset_mfa",
            "disable",
            "enable",
            "revoke_sessions",
            "add_to_group",
            "remove_from_group",
            "assign_license",
            "remove_license",
            "grant_mailbox_access",
            "remove_mailbox_access",
            "create_user",
            "delete_user",
            "find_user",
        ],
    ),
    (
        "psa",
        &[
            "add_note",
            "close_ticket",
            "set_status",
            "reassign",
            "create_contact",
            "deactivate_contact",
        ],
    ),
    (
        "rmm",
        &["run_script", "tag_device", "untag_device", "reboot_device"],
    ),
    (
        "m365",
        &[
            "convert_to_shared",
            "set_forwarding",
            "set_auto_reply",
            "hide_from_gal",
            "list_service_issues",
        ],
    ),
];
const KINDS: &[&str] = &["end_user", "technician", "agent"];
const SKUS: &[&str] = &[
    "SPE_E3",
    "SPE_E5",
    "O365_BUSINESS_PREMIUM",
    "EXCHANGESTANDARD",
];
const PROTECTED_ROLES: &[&str] = &["Global Administrator", "Privileged Role Administrator"];
const PROTECTED_GROUPS: &[&str] = &["Break Glass"];

/// A small deterministic generator (xorshift64*), so both engines see identical data.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

fn all_actions() -> Vec<String> {
    NAMESPACES
        .iter()
        .flat_map(|(ns, verbs)| verbs.iter().map(move |v| format!("{ns}.{v}")))
        .collect()
}

/// What a rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed outright.
    Allow,
    /// Needs an approver.
    Approve,
    /// Denied (by a rule, or because no rule matched).
    Deny,
}

impl Outcome {
    fn restrictiveness(self) -> u8 {
        match self {
            Outcome::Allow => 0,
            Outcome::Approve => 1,
            Outcome::Deny => 2,
        }
    }
}

/// An engine's answer, reduced to what both engines can express: the outcome and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The outcome.
    pub outcome: Outcome,
    /// The deciding rule id, or `no-policy`.
    pub rule: String,
}

impl Verdict {
    fn no_policy() -> Self {
        Self {
            outcome: Outcome::Deny,
            rule: RuleId::NO_POLICY.to_string(),
        }
    }
}

/// One generated rule, in a form both engines' syntaxes are written from.
#[derive(Debug, Clone)]
pub struct BenchRule {
    /// Unique id (`g07`, `t0042-r13`).
    pub id: String,
    /// The tenant index, or `None` for a global rule.
    pub tenant: Option<usize>,
    /// Exact action ids.
    pub exact_actions: Vec<String>,
    /// A namespace matched by the glob `namespace.*`, if any.
    pub namespace_glob: Option<&'static str>,
    /// The effect.
    pub outcome: Outcome,
    /// Locked (global rules only).
    pub locked: bool,
    /// Requester kinds that may match (snake_case), if restricted.
    pub requester_kinds: Option<Vec<&'static str>>,
    /// Whether the requester must (or must not) be the target.
    pub self_service: Option<bool>,
    /// Whether the target must (or must not) be protected.
    pub target_protected: Option<bool>,
    /// The `/sku` parameter must be one of these.
    pub sku_in: Option<Vec<&'static str>>,
}

/// A generated rule set: global rules first, then each tenant's, in document order.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Every rule, in load order.
    pub rules: Vec<BenchRule>,
    /// How many tenants.
    pub tenants: usize,
}

fn tenant_id(index: usize) -> String {
    format!("t{index:04}")
}

impl Scenario {
    /// 1,000 tenants × 20 rules plus 50 global rules, seed 42.
    pub fn standard() -> Self {
        Self::generate(TENANTS, RULES_PER_TENANT, GLOBAL_RULES, 42)
    }

    /// A seeded rule set of the given size.
    pub fn generate(
        tenants: usize,
        rules_per_tenant: usize,
        global_rules: usize,
        seed: u64,
    ) -> Self {
        let mut rng = Rng::new(seed);
        let actions = all_actions();
        let mut rules = Vec::with_capacity(global_rules + tenants * rules_per_tenant);
        for i in 0..global_rules {
            rules.push(Self::rule(&mut rng, &actions, format!("g{i:02}"), None));
        }
        for t in 0..tenants {
            for r in 0..rules_per_tenant {
                let id = format!("{}-r{r:02}", tenant_id(t));
                rules.push(Self::rule(&mut rng, &actions, id, Some(t)));
            }
        }
        Self { rules, tenants }
    }

    fn rule(rng: &mut Rng, actions: &[String], id: String, tenant: Option<usize>) -> BenchRule {
        let namespace_glob = rng
            .chance(15)
            .then(|| NAMESPACES[rng.below(NAMESPACES.len())].0);
        let exact_actions = if namespace_glob.is_some() && rng.chance(50) {
            Vec::new()
        } else {
            let n = 1 + rng.below(3);
            let mut picked: Vec<String> = (0..n)
                .map(|_| actions[rng.below(actions.len())].clone())
                .collect();
            picked.dedup();
            picked
        };
        let roll = rng.below(100);
        let outcome = match roll {
            0..=9 => Outcome::Deny,
            10..=49 => Outcome::Approve,
            _ => Outcome::Allow,
        };
        let locked = tenant.is_none() && outcome != Outcome::Deny && rng.chance(10);
        let mut requester_kinds = rng.chance(40).then(|| {
            let kinds: Vec<&str> = KINDS.iter().copied().filter(|_| rng.chance(50)).collect();
            if kinds.is_empty() {
                vec![rng.pick(KINDS)]
            } else {
                kinds
            }
        });
        let self_service = rng.chance(20).then(|| rng.chance(50));
        let mut target_protected = rng.chance(20).then(|| rng.chance(50));
        let sku_in = rng.chance(15).then(|| {
            let a = rng.pick(SKUS);
            let b = rng.pick(SKUS);
            if a == b { vec![a] } else { vec![a, b] }
        });
        if locked {
            // Locked rules guard protected targets, as in real policies.
            target_protected = Some(true);
        }
        if outcome == Outcome::Deny
            && requester_kinds.is_none()
            && target_protected.is_none()
            && sku_in.is_none()
        {
            // Unconditional denies would flatten the sample; keep them narrow.
            requester_kinds = Some(vec![rng.pick(KINDS)]);
        }
        BenchRule {
            id,
            tenant,
            exact_actions,
            namespace_glob,
            outcome,
            locked,
            requester_kinds,
            self_service,
            target_protected,
            sku_in,
        }
    }

    /// The rules as stackhand TOML documents: one global document, then one per tenant.
    pub fn toml_documents(&self) -> Vec<(String, String)> {
        let mut docs: Vec<(String, String)> = Vec::with_capacity(self.tenants + 1);
        let quoted = |items: &[&str]| {
            items
                .iter()
                .map(|i| format!("{i:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        docs.push((
            "global.toml".into(),
            format!(
                "[scope]\nglobal = true\n\n[protected]\nroles = [{}]\ngroups = [{}]\n",
                quoted(PROTECTED_ROLES),
                quoted(PROTECTED_GROUPS)
            ),
        ));
        for t in 0..self.tenants {
            docs.push((
                format!("{}.toml", tenant_id(t)),
                format!("[scope]\ntenant = \"{}\"\n", tenant_id(t)),
            ));
        }
        for rule in &self.rules {
            let text = &mut docs[rule.tenant.map_or(0, |t| t + 1)].1;
            let mut actions: Vec<String> = rule
                .exact_actions
                .iter()
                .map(|a| format!("{a:?}"))
                .collect();
            if let Some(ns) = rule.namespace_glob {
                actions.push(format!("\"{ns}.*\""));
            }
            let effect = match rule.outcome {
                Outcome::Allow => "effect = \"allow\"",
                Outcome::Approve => "effect = \"approve\"\napprovers = [{ role = \"msp.lead\" }]",
                Outcome::Deny => "effect = \"deny\"",
            };
            let _ = write!(
                text,
                "\n[[rules]]\nid = \"{}\"\nactions = [{}]\n{effect}\nlocked = {}\n[rules.when]\n",
                rule.id,
                actions.join(", "),
                rule.locked
            );
            if let Some(kinds) = &rule.requester_kinds {
                let _ = writeln!(text, "requester_kinds = [{}]", quoted(kinds));
            }
            if let Some(own) = rule.self_service {
                let _ = writeln!(text, "self_service = {own}");
            }
            if let Some(protected) = rule.target_protected {
                let _ = writeln!(text, "target_protected = {protected}");
            }
            if let Some(skus) = &rule.sku_in {
                let _ = writeln!(
                    text,
                    "params = [{{ path = \"/sku\", in = [{}] }}]",
                    quoted(skus)
                );
            }
        }
        docs
    }

    /// The rules as Cedar policies: `(id, text)`, in the same order.
    pub fn cedar_policies(&self) -> Vec<(String, String)> {
        let quoted = |items: &[&str]| {
            items
                .iter()
                .map(|i| format!("{i:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let protected = format!(
            "(resource.privileged || resource.roles.containsAny([{}]) || resource.groups.containsAny([{}]))",
            quoted(PROTECTED_ROLES),
            quoted(PROTECTED_GROUPS)
        );
        self.rules
            .iter()
            .map(|rule| {
                let mut conditions = Vec::new();
                if let Some(t) = rule.tenant {
                    // First, so other tenants' policies stop at one comparison.
                    conditions.push(format!("context.tenant == \"{}\"", tenant_id(t)));
                }
                let exact = |a: &String| format!("Action::{a:?}");
                let scope_action = match rule.namespace_glob {
                    None => format!(
                        "action in [{}]",
                        rule.exact_actions
                            .iter()
                            .map(exact)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Some(ns) => {
                        let mut any: Vec<String> = rule
                            .exact_actions
                            .iter()
                            .map(|a| format!("action == {}", exact(a)))
                            .collect();
                        any.push(format!("context.action like \"{ns}.*\""));
                        conditions.push(format!("({})", any.join(" || ")));
                        "action".to_string()
                    }
                };
                if let Some(kinds) = &rule.requester_kinds {
                    conditions.push(format!("[{}].contains(principal.kind)", quoted(kinds)));
                }
                match rule.self_service {
                    Some(true) => conditions.push("principal.login == resource.login".into()),
                    Some(false) => conditions.push("principal.login != resource.login".into()),
                    None => {}
                }
                match rule.target_protected {
                    Some(true) => conditions.push(protected.clone()),
                    Some(false) => conditions.push(format!("!{protected}")),
                    None => {}
                }
                if let Some(skus) = &rule.sku_in {
                    conditions.push(format!(
                        "context.params has sku && [{}].contains(context.params.sku)",
                        quoted(skus)
                    ));
                }
                let effect = if rule.outcome == Outcome::Deny {
                    "forbid"
                } else {
                    "permit"
                };
                let when = if conditions.is_empty() {
                    "true".to_string()
                } else {
                    conditions.join(" && ")
                };
                (
                    rule.id.clone(),
                    format!("{effect} (principal, {scope_action}, resource) when {{ {when} }};"),
                )
            })
            .collect()
    }

    /// `n` seeded requests over every tenant and action.
    pub fn requests(&self, n: usize, seed: u64) -> Vec<BenchRequest> {
        let mut rng = Rng::new(seed);
        let actions = all_actions();
        (0..n)
            .map(|i| {
                let roll = rng.below(100);
                let target = format!("user{}@client.example", rng.below(50));
                let (kind, requester) = match roll {
                    0..=29 => ("end_user", target.clone()),
                    30..=49 => (
                        "end_user",
                        format!("user{}@client.example", 50 + rng.below(50)),
                    ),
                    50..=84 => ("technician", "tech@msp.example".to_string()),
                    _ => ("agent", "stackhand".to_string()),
                };
                BenchRequest {
                    key: format!("req-{i}"),
                    tenant: tenant_id(rng.below(self.tenants)),
                    action: actions[rng.below(actions.len())].clone(),
                    requester_kind: kind,
                    requester,
                    target_login: target,
                    target_roles: if rng.chance(10) {
                        vec![rng.pick(PROTECTED_ROLES).to_string()]
                    } else {
                        vec!["User".into()]
                    },
                    target_groups: if rng.chance(5) {
                        vec![PROTECTED_GROUPS[0].to_string()]
                    } else {
                        vec!["Staff".into()]
                    },
                    privileged: rng.chance(5),
                    sku: rng.chance(70).then(|| rng.pick(SKUS).to_string()),
                }
            })
            .collect()
    }
}

/// One generated request, before either engine's input is built from it.
#[derive(Debug, Clone)]
pub struct BenchRequest {
    /// Idempotency key.
    pub key: String,
    /// Tenant id.
    pub tenant: String,
    /// Action id.
    pub action: String,
    /// `end_user`, `technician` or `agent`.
    pub requester_kind: &'static str,
    /// The requester's id (and login).
    pub requester: String,
    /// The target's login.
    pub target_login: String,
    /// The target's directory roles.
    pub target_roles: Vec<String>,
    /// The target's groups.
    pub target_groups: Vec<String>,
    /// Whether the vendor flags the target privileged.
    pub privileged: bool,
    /// The `sku` parameter, if any.
    pub sku: Option<String>,
}

/// stackhand's [`LayeredPolicy`] loaded from the scenario's TOML documents.
#[derive(Debug)]
pub struct StackhandEngine {
    policy: LayeredPolicy,
}

/// A prepared stackhand decision input (everything [`DecisionInput`] borrows).
#[derive(Debug)]
pub struct StackhandInput {
    request: ActionRequest,
    spec: ActionSpec,
    tenant: Tenant,
    facts: TargetFacts,
    now: chrono::DateTime<chrono::Utc>,
}

impl StackhandEngine {
    /// Load the scenario's documents. The scenario's action ids (some of them vendor or
    /// made-up ones) are the vocabulary.
    pub fn new(scenario: &Scenario) -> Self {
        let vocabulary = Vocabulary::builtin().with_actions(
            all_actions()
                .into_iter()
                .map(|id| ActionId::new(id).expect("action id")),
        );
        let loader = scenario.toml_documents().into_iter().fold(
            PolicyLoader::new().vocabulary(vocabulary),
            |l, (origin, text)| l.add_str(origin, text),
        );
        let policy = loader
            .build()
            .unwrap_or_else(|e| panic!("generated policy: {e}"));
        assert_eq!(policy.rule_count(), scenario.rules.len());
        Self { policy }
    }

    /// Build the input for one request.
    pub fn prepare(&self, r: &BenchRequest) -> StackhandInput {
        let tenant = Tenant::new(TenantId::new(&r.tenant).expect("tenant id"), &r.tenant);
        let action = ActionId::new(&r.action).expect("action id");
        let requester = match r.requester_kind {
            "end_user" => Principal::end_user(&r.requester),
            "technician" => Principal::technician(&r.requester, &["msp.tech"]),
            _ => Principal::agent(&r.requester),
        };
        let params = match &r.sku {
            Some(sku) => serde_json::json!({ "user": r.target_login, "sku": sku }),
            None => serde_json::json!({ "user": r.target_login }),
        };
        let request = ActionRequest::new(
            IdempotencyKey::new(&r.key).expect("key"),
            tenant.id.clone(),
            action.clone(),
            &params,
            requester,
        )
        .expect("request");
        let spec = ActionSpec {
            id: action,
            summary: "bench".into(),
            category: Category::Identity,
            risk: Risk::Medium,
            reversible: true,
            idempotent: true,
            input_schema: serde_json::json!({}),
            secret_params: Vec::new(),
        };
        let facts = TargetFacts {
            login: Some(r.target_login.clone()),
            roles: r.target_roles.clone(),
            groups: r.target_groups.clone(),
            department: None,
            privileged: r.privileged,
            grants: Vec::new(),
        };
        StackhandInput {
            request,
            spec,
            tenant,
            facts,
            now: chrono::Utc::now(),
        }
    }

    /// Decide one prepared request.
    pub fn decide(&self, input: &StackhandInput) -> Verdict {
        let decision = self.policy.decide(&DecisionInput {
            request: &input.request,
            operation: Operation::Execute,
            spec: &input.spec,
            tenant: &input.tenant,
            facts: &input.facts,
            now: input.now,
        });
        Verdict {
            outcome: match decision.effect {
                Effect::Allow => Outcome::Allow,
                Effect::RequireApproval { .. } => Outcome::Approve,
                Effect::Deny => Outcome::Deny,
            },
            rule: decision.rule.0,
        }
    }
}

/// What the adapter needs to know about each Cedar policy to apply stackhand's decision order.
#[derive(Debug, Clone, Copy)]
struct Meta {
    outcome: Outcome,
    locked: bool,
    /// 0 global, 2 tenant (the scenario has no group or department layers).
    specificity: u8,
    order: usize,
}

/// The same rules in cedar-policy, with an adapter applying stackhand's decision order to the
/// policies Cedar reports as determining.
#[derive(Debug)]
pub struct CedarEngine {
    /// One policy set with every rule, or one per tenant (global rules plus the tenant's).
    sets: CedarSets,
    meta: HashMap<String, Meta>,
    authorizer: cedar_policy::Authorizer,
}

#[derive(Debug)]
enum CedarSets {
    Single(Box<cedar_policy::PolicySet>),
    PerTenant(HashMap<String, cedar_policy::PolicySet>),
}

/// A prepared Cedar request with its entities.
#[derive(Debug)]
pub struct CedarInput {
    tenant: String,
    request: cedar_policy::Request,
    entities: cedar_policy::Entities,
}

impl CedarEngine {
    /// Every policy in one set: the direct translation of the rule set.
    pub fn single_set(scenario: &Scenario) -> Self {
        let mut set = cedar_policy::PolicySet::new();
        for (id, text) in scenario.cedar_policies() {
            set.add(parse_policy(&id, &text))
                .expect("unique policy ids");
        }
        Self::with_sets(scenario, CedarSets::Single(Box::new(set)))
    }

    /// One set per tenant (the global policies plus that tenant's): how an integrator would
    /// slice a large Cedar deployment by hand.
    pub fn per_tenant(scenario: &Scenario) -> Self {
        let policies: Vec<(Option<usize>, cedar_policy::Policy)> = scenario
            .rules
            .iter()
            .zip(scenario.cedar_policies())
            .map(|(rule, (id, text))| (rule.tenant, parse_policy(&id, &text)))
            .collect();
        let mut sets = HashMap::new();
        for t in 0..scenario.tenants {
            let mut set = cedar_policy::PolicySet::new();
            for (_, policy) in policies
                .iter()
                .filter(|(tenant, _)| tenant.is_none() || *tenant == Some(t))
            {
                set.add(policy.clone()).expect("unique policy ids");
            }
            sets.insert(tenant_id(t), set);
        }
        Self::with_sets(scenario, CedarSets::PerTenant(sets))
    }

    fn with_sets(scenario: &Scenario, sets: CedarSets) -> Self {
        let meta = scenario
            .rules
            .iter()
            .enumerate()
            .map(|(order, rule)| {
                (
                    rule.id.clone(),
                    Meta {
                        outcome: rule.outcome,
                        locked: rule.locked,
                        specificity: if rule.tenant.is_some() { 2 } else { 0 },
                        order,
                    },
                )
            })
            .collect();
        Self {
            sets,
            meta,
            authorizer: cedar_policy::Authorizer::new(),
        }
    }

    fn set_for(&self, input: &CedarInput) -> &cedar_policy::PolicySet {
        match &self.sets {
            CedarSets::Single(set) => set,
            CedarSets::PerTenant(sets) => &sets[&input.tenant],
        }
    }

    /// Build the Cedar request and entities for one request.
    pub fn prepare(&self, r: &BenchRequest) -> CedarInput {
        let principal = serde_json::json!({
            "uid": { "type": "User", "id": r.requester },
            "attrs": { "kind": r.requester_kind, "login": r.requester },
            "parents": []
        });
        let resource = serde_json::json!({
            "uid": { "type": "Account", "id": r.target_login },
            "attrs": {
                "login": r.target_login,
                "roles": r.target_roles,
                "groups": r.target_groups,
                "privileged": r.privileged
            },
            "parents": []
        });
        let entities =
            cedar_policy::Entities::from_json_value(serde_json::json!([principal, resource]), None)
                .expect("entities");
        let params = match &r.sku {
            Some(sku) => serde_json::json!({ "user": r.target_login, "sku": sku }),
            None => serde_json::json!({ "user": r.target_login }),
        };
        let context = cedar_policy::Context::from_json_value(
            serde_json::json!({ "tenant": r.tenant, "action": r.action, "params": params }),
            None,
        )
        .expect("context");
        let uid = |t: &str, id: &str| {
            cedar_policy::EntityUid::from_str(&format!("{t}::{id:?}")).expect("entity uid")
        };
        let request = cedar_policy::Request::new(
            uid("User", &r.requester),
            uid("Action", &r.action),
            uid("Account", &r.target_login),
            context,
            None,
        )
        .expect("request");
        CedarInput {
            tenant: r.tenant.clone(),
            request,
            entities,
        }
    }

    /// Authorise with Cedar, then pick the deciding policy as stackhand's order says.
    pub fn decide(&self, input: &CedarInput) -> Verdict {
        let set = self.set_for(input);
        let response = self
            .authorizer
            .is_authorized(&input.request, set, &input.entities);
        debug_assert_eq!(response.diagnostics().errors().count(), 0);
        let determining = response.diagnostics().reason().map(|id| {
            let id: &str = id.as_ref();
            (id, self.meta[id])
        });
        let pick = |candidates: &mut dyn Iterator<Item = (&str, Meta)>| {
            candidates
                .max_by_key(|(_, m)| (m.outcome.restrictiveness(), std::cmp::Reverse(m.order)))
                .map(|(id, m)| Verdict {
                    outcome: m.outcome,
                    rule: id.to_string(),
                })
        };
        match response.decision() {
            cedar_policy::Decision::Deny => determining
                // Forbids: name the first from the global layer down, in document order.
                .min_by_key(|(_, m)| (m.specificity, m.order))
                .map(|(id, _)| Verdict {
                    outcome: Outcome::Deny,
                    rule: id.to_string(),
                })
                .unwrap_or_else(Verdict::no_policy),
            cedar_policy::Decision::Allow => {
                let permits: Vec<(&str, Meta)> = determining.collect();
                if let Some(locked) = pick(&mut permits.iter().copied().filter(|(_, m)| m.locked)) {
                    return locked;
                }
                let top = permits.iter().map(|(_, m)| m.specificity).max();
                pick(
                    &mut permits
                        .iter()
                        .copied()
                        .filter(|(_, m)| Some(m.specificity) == top),
                )
                .unwrap_or_else(Verdict::no_policy)
            }
        }
    }

    /// Errors Cedar reported while evaluating (policies that failed are skipped by Cedar).
    pub fn evaluation_errors(&self, input: &CedarInput) -> Vec<String> {
        self.authorizer
            .is_authorized(&input.request, self.set_for(input), &input.entities)
            .diagnostics()
            .errors()
            .map(|e| e.to_string())
            .collect()
    }
}

fn parse_policy(id: &str, text: &str) -> cedar_policy::Policy {
    cedar_policy::Policy::parse(Some(cedar_policy::PolicyId::new(id)), text)
        .unwrap_or_else(|e| panic!("generated Cedar policy {id} does not parse: {e}\n{text}"))
}
