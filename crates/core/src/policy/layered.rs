//! The default [`Policy`]: TOML documents at the global, tenant-group, tenant and department
//! scopes, indexed by layer and action.
//!
//! The format and the decision rules are documented in `docs/policy.md` and on
//! [`LayeredPolicy`].

mod document;
mod error;
mod index;
mod loader;
mod names;

use std::cell::OnceCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

pub use document::{PolicyDocument, Scope};
pub use error::PolicyError;
pub use loader::PolicyLoader;

use document::{Cap, Protected, Rule, RuleEffect, When};
use index::{ActionIndex, ActionIndexBuilder};

use crate::approval::Operation;
use crate::model::{Department, TenantGroupId, TenantId};
use crate::policy::{Approver, CapLimit, Decision, DecisionInput, Effect, Policy, Vocabulary};

/// The default policy: layered TOML documents, decided in a fixed order.
///
/// For a request in tenant `T` (group `G`) about a target in department `D`:
///
/// 1. The applicable layers are the global documents, the tenant-group documents for `G`, the
///    tenant documents for `T`, and the department documents for `T` and `D`. `D` is the
///    target's department from the plan's facts (read from the directory), never from the
///    caller; with no department in the facts no department layer applies.
/// 2. A matching rule with effect `deny` at any layer denies (the first one, from the global
///    layer down, in document order).
/// 3. Else, if locked global rules match, the most restrictive of them decides (approve beats
///    allow; ties go to document order).
/// 4. Else the most specific layer with a matching rule decides (department > tenant >
///    tenant group > global); within it the most restrictive effect wins, ties to document order.
/// 5. Else [`Decision::no_policy`]: deny.
///
/// An allow or require-approval decision lists in [`Decision::caps`] every volume cap of every
/// applicable layer whose actions match the action id (from the global layer down, in document
/// order). The policy does not count: the engine reserves a slot under each cap before it
/// executes, and denies naming the cap if one is full.
///
/// A rule matches when one of its action patterns matches the action id and every predicate
/// of its `when` table holds (`operation` tells an undo from the forward action). Lookups go
/// through per-layer hash maps and one compiled glob set per layer, so a decision touches only
/// the rules and caps that name its action.
///
/// ```
/// use stackhand_core::*;
/// use stackhand_core::policy::PolicyLoader;
///
/// let policy = PolicyLoader::new()
///     .add_str("acme.toml", r#"
///         [scope]
///         tenant = "acme-law"
///
///         [[rules]]
///         id = "self-service-unlock"
///         description = "End users may unlock their own account"
///         actions = ["identity.unlock"]
///         effect = "allow"
///         [rules.when]
///         requester_kinds = ["end_user"]
///         self_service = true
///     "#)
///     .build()
///     .unwrap();
///
/// let tenant = Tenant::new(TenantId::new("acme-law").unwrap(), "Acme Law");
/// let request = ActionRequest::new(
///     IdempotencyKey::new("t-1").unwrap(),
///     tenant.id.clone(),
///     ActionId::from_static("identity.unlock"),
///     &serde_json::json!({"user": "jane@acme-law.example"}),
///     Principal::end_user("jane@acme-law.example"),
/// ).unwrap();
/// let spec = ActionSpec {
///     id: request.action.clone(),
///     summary: "Unlock an account".into(),
///     category: Category::Identity,
///     risk: Risk::Medium,
///     reversible: true,
///     idempotent: true,
///     input_schema: serde_json::json!({}),
///     secret_params: Vec::new(),
/// };
/// let facts = TargetFacts { login: Some("jane@acme-law.example".into()), ..Default::default() };
/// let decision = policy.decide(&DecisionInput {
///     request: &request, operation: Operation::Execute, spec: &spec, tenant: &tenant,
///     facts: &facts, now: chrono::Utc::now(),
/// });
/// assert!(decision.is_allow());
/// assert_eq!(decision.rule.as_str(), "self-service-unlock");
/// ```
#[derive(Debug, Default)]
pub struct LayeredPolicy {
    rules: Vec<Rule>,
    caps: Vec<Cap>,
    global: Layer,
    groups: HashMap<TenantGroupId, Layer>,
    tenants: HashMap<TenantId, Layer>,
    departments: HashMap<TenantId, HashMap<Department, Layer>>,
}

/// The rules, caps and protected targets of one scope, merged over its documents.
#[derive(Debug)]
struct Layer {
    scope: Scope,
    rules: ActionIndex,
    caps: ActionIndex,
    protected: Protected,
}

impl Default for Layer {
    fn default() -> Self {
        Self {
            scope: Scope::Global,
            rules: ActionIndex::default(),
            caps: ActionIndex::default(),
            protected: Protected::default(),
        }
    }
}

struct LayerBuilder {
    scope: Scope,
    rules: ActionIndexBuilder,
    caps: ActionIndexBuilder,
    protected: Protected,
}

impl LayerBuilder {
    fn build(self) -> Layer {
        Layer {
            scope: self.scope,
            rules: self.rules.build(),
            caps: self.caps.build(),
            protected: self.protected,
        }
    }
}

impl LayeredPolicy {
    /// Check the names every document uses against `vocabulary` (see
    /// [`PolicyDocument::check`]), check ids across documents, and index them. Usually called
    /// through [`PolicyLoader`].
    pub fn from_documents(
        documents: Vec<PolicyDocument>,
        vocabulary: &Vocabulary,
    ) -> Result<Self, PolicyError> {
        // Rule and cap ids share one namespace: a decision names either.
        let mut seen: HashMap<String, (String, usize)> = HashMap::new();
        let mut builders: Vec<LayerBuilder> = Vec::new();
        let mut slots: HashMap<Scope, usize> = HashMap::new();
        let mut rules = Vec::new();
        let mut caps = Vec::new();
        for doc in documents {
            doc.check(vocabulary)?;
            let ids = doc
                .rules
                .iter()
                .enumerate()
                .map(|(i, r)| (format!("rules[{i}].id"), r.id.as_str(), r.id_line))
                .chain(
                    doc.caps
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (format!("caps[{i}].id"), c.id.as_str(), c.id_line)),
                );
            for (field, id, line) in ids {
                match seen.entry(id.to_string()) {
                    Entry::Occupied(first) => {
                        let (first_origin, first_line) = first.get();
                        return Err(PolicyError::Document {
                            origin: doc.origin.clone(),
                            line,
                            field: Some(field),
                            message: format!(
                                "duplicate id {id:?}: already defined at {first_origin}:{first_line}"
                            ),
                        });
                    }
                    Entry::Vacant(slot) => {
                        slot.insert((doc.origin.clone(), line));
                    }
                }
            }
            let slot = *slots.entry(doc.scope.clone()).or_insert_with(|| {
                builders.push(LayerBuilder {
                    scope: doc.scope.clone(),
                    rules: ActionIndexBuilder::default(),
                    caps: ActionIndexBuilder::default(),
                    protected: Protected::default(),
                });
                builders.len() - 1
            });
            let layer = &mut builders[slot];
            for rule in doc.rules {
                layer.rules.add(position(rules.len()), &rule.actions);
                rules.push(rule);
            }
            for cap in doc.caps {
                layer.caps.add(position(caps.len()), &cap.actions);
                caps.push(cap);
            }
            layer.protected.roles.extend(doc.protected.roles);
            layer.protected.groups.extend(doc.protected.groups);
            layer.protected.accounts.extend(doc.protected.accounts);
        }
        let mut policy = LayeredPolicy {
            rules,
            caps,
            ..LayeredPolicy::default()
        };
        for builder in builders {
            match builder.scope.clone() {
                Scope::Global => policy.global = builder.build(),
                Scope::TenantGroup(group) => {
                    policy.groups.insert(group, builder.build());
                }
                Scope::Tenant(tenant) => {
                    policy.tenants.insert(tenant, builder.build());
                }
                Scope::Department { tenant, name } => {
                    policy
                        .departments
                        .entry(tenant)
                        .or_default()
                        .insert(name, builder.build());
                }
            }
        }
        Ok(policy)
    }

    /// How many rules were loaded, over all layers.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// How many volume caps were loaded, over all layers.
    pub fn cap_count(&self) -> usize {
        self.caps.len()
    }

    /// Every rule and cap id, in load order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.rules
            .iter()
            .map(|r| r.id.as_str())
            .chain(self.caps.iter().map(|c| c.id.as_str()))
    }

    /// The layers that apply to a request, from general to specific.
    fn layers_for<'p>(&'p self, input: &DecisionInput<'_>) -> Vec<&'p Layer> {
        let mut layers = Vec::with_capacity(4);
        layers.push(&self.global);
        if let Some(layer) = input.tenant.group.as_ref().and_then(|g| self.groups.get(g)) {
            layers.push(layer);
        }
        let tenant = &input.tenant.id;
        if let Some(layer) = self.tenants.get(tenant) {
            layers.push(layer);
        }
        // Only the directory (through the plan's facts) places a target in a department: the
        // caller cannot pick a more lenient one.
        if let Some(layer) = input
            .facts
            .department
            .as_ref()
            .and_then(|d| Some((self.departments.get(tenant)?, d)))
            .and_then(|(by_name, d)| by_name.get(d))
        {
            layers.push(layer);
        }
        layers
    }
}

fn position(len: usize) -> u32 {
    u32::try_from(len).expect("fewer than 4 billion rules")
}

/// What a rule's predicates are evaluated against, with the expensive facts computed once.
struct Subject<'d, 'i> {
    input: &'d DecisionInput<'i>,
    layers: &'d [&'d Layer],
    self_service: bool,
    protected: OnceCell<bool>,
}

impl Subject<'_, '_> {
    fn is_protected(&self) -> bool {
        *self.protected.get_or_init(|| {
            let facts = self.input.facts;
            let hit = |list: &[String], values: &[String]| {
                list.iter()
                    .any(|p| values.iter().any(|v| v.eq_ignore_ascii_case(p)))
            };
            facts.privileged
                || self.layers.iter().any(|layer| {
                    let p = &layer.protected;
                    hit(&p.roles, &facts.roles)
                        || hit(&p.groups, &facts.groups)
                        || hit(&p.groups, &facts.grants)
                        || facts
                            .login
                            .as_deref()
                            .is_some_and(|l| p.accounts.iter().any(|a| a.eq_ignore_ascii_case(l)))
                })
        })
    }
}

impl When {
    fn holds(&self, subject: &Subject<'_, '_>) -> bool {
        let input = subject.input;
        if self.operation.is_some_and(|op| op != input.operation) {
            return false;
        }
        if let Some(kinds) = &self.requester_kinds
            && !kinds.contains(&input.request.requester.kind)
        {
            return false;
        }
        if self
            .self_service
            .is_some_and(|want| want != subject.self_service)
        {
            return false;
        }
        if self.risk_at_most.is_some_and(|max| input.spec.risk > max) {
            return false;
        }
        if !self.params.iter().all(|p| p.holds(&input.request.params)) {
            return false;
        }
        // Last: it may have to look through every layer's protected lists.
        self.target_protected
            .is_none_or(|want| want == subject.is_protected())
    }
}

impl document::ParamPredicate {
    fn holds(&self, params: &serde_json::Value) -> bool {
        use document::ParamTest;
        // JSON null counts as absent: optional fields serialise as null.
        let value = params.pointer(&self.pointer).filter(|v| !v.is_null());
        match &self.test {
            ParamTest::Exists(want) => value.is_some() == *want,
            ParamTest::Equals(expected) => value == Some(expected),
            ParamTest::OneOf(values) => value.is_some_and(|v| values.contains(v)),
            ParamTest::Matches(glob) => value
                .and_then(serde_json::Value::as_str)
                .is_some_and(|s| glob.is_match(s)),
        }
    }
}

impl Policy for LayeredPolicy {
    fn decide(&self, input: &DecisionInput<'_>) -> Decision {
        let action = input.request.action.as_str();
        let layers = self.layers_for(input);
        let mut items = Vec::new();
        let mut scratch = Vec::new();
        let mut decision = self.decide_rules(input, &layers, &mut items, &mut scratch);
        if !decision.is_deny() {
            for layer in &layers {
                layer.caps.matching(action, &mut items, &mut scratch);
                decision
                    .caps
                    .extend(items.iter().map(|&i| self.caps[i as usize].limit()));
            }
        }
        decision
    }
}

impl LayeredPolicy {
    /// Steps 2 to 5 of the decision order: the rules.
    fn decide_rules(
        &self,
        input: &DecisionInput<'_>,
        layers: &[&Layer],
        items: &mut Vec<u32>,
        scratch: &mut Vec<usize>,
    ) -> Decision {
        let action = input.request.action.as_str();
        let subject = Subject {
            input,
            layers,
            self_service: input
                .facts
                .login
                .as_deref()
                .is_some_and(|login| input.request.requester.is_login(login)),
            protected: OnceCell::new(),
        };
        let mut locked: Option<&Rule> = None;
        let mut most_specific: Option<(&Layer, &Rule)> = None;
        for layer in layers {
            layer.rules.matching(action, items, scratch);
            let mut best_here: Option<&Rule> = None;
            for &i in items.iter() {
                let rule = &self.rules[i as usize];
                if !rule.when.holds(&subject) {
                    continue;
                }
                if rule.effect == RuleEffect::Deny {
                    // Layers run from global down and rules in document order: the first deny
                    // is the one to name.
                    return rule_decision(rule, &layer.scope, input, DecidedBy::Deny);
                }
                let best = if rule.locked {
                    &mut locked
                } else {
                    &mut best_here
                };
                if best.is_none_or(|b| rule.effect.restrictiveness() > b.effect.restrictiveness()) {
                    *best = Some(rule);
                }
            }
            if let Some(rule) = best_here {
                most_specific = Some((layer, rule));
            }
        }
        if let Some(rule) = locked {
            return rule_decision(rule, &Scope::Global, input, DecidedBy::Locked);
        }
        match most_specific {
            Some((layer, rule)) => {
                rule_decision(rule, &layer.scope, input, DecidedBy::MostSpecific)
            }
            None => Decision::no_policy(),
        }
    }
}

impl Cap {
    /// What the engine reserves under: the cap's id, limit and window.
    fn limit(&self) -> CapLimit {
        CapLimit {
            id: self.id.clone(),
            max: self.max_per_hour,
            window_seconds: 3600,
        }
    }
}

/// Which step of the decision order decided, for the reason text.
#[derive(Clone, Copy)]
enum DecidedBy {
    Deny,
    Locked,
    MostSpecific,
}

fn rule_decision(rule: &Rule, scope: &Scope, input: &DecisionInput<'_>, by: DecidedBy) -> Decision {
    let action = match input.operation {
        Operation::Execute => input.request.action.to_string(),
        Operation::Undo => format!("the undo of {}", input.request.action),
    };
    let (effect, verdict) = match &rule.effect {
        RuleEffect::Allow => (Effect::Allow, format!("allows {action}")),
        RuleEffect::Approve(approvers) => (
            Effect::RequireApproval {
                approvers: approvers.clone(),
            },
            format!(
                "requires approval of {action} by {}",
                approvers
                    .iter()
                    .map(describe_approver)
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ),
        RuleEffect::Deny => (Effect::Deny, format!("denies {action}")),
    };
    let why = match by {
        DecidedBy::Deny => "a deny at any layer wins",
        DecidedBy::Locked => "locked global rules cannot be overridden",
        DecidedBy::MostSpecific => "the most specific layer with a matching rule decides",
    };
    let locked = if rule.locked { "locked " } else { "" };
    let description = rule
        .description
        .as_deref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default();
    Decision::new(
        effect,
        rule.id.clone(),
        format!(
            "{locked}rule \"{}\" of the {scope} policy {verdict}{description}; {why}.",
            rule.id
        ),
    )
}

fn describe_approver(approver: &Approver) -> String {
    match approver {
        Approver::Role(role) => format!("role {role}"),
        Approver::Group(group) => format!("group {group}"),
        Approver::Contact(contact) => format!("contact {contact}"),
    }
}
