//! Shared fixtures for the policy tests: build a policy from inline documents and decide
//! requests described with a small builder.

#![allow(dead_code)] // each test binary uses a different part

use chrono::{DateTime, TimeZone, Utc};
use stackhand_core::policy::{LayeredPolicy, PolicyError, PolicyLoader, Vocabulary};
use stackhand_core::*;

/// Build a policy from `(origin, text)` documents with the built-in vocabulary, panicking with
/// the load error.
pub fn policy(documents: &[(&str, &str)]) -> LayeredPolicy {
    load(Vocabulary::builtin(), documents).unwrap_or_else(|e| panic!("policy should load: {e}"))
}

/// Load `(origin, text)` documents against `vocabulary`.
pub fn load(
    vocabulary: Vocabulary,
    documents: &[(&str, &str)],
) -> Result<LayeredPolicy, PolicyError> {
    documents
        .iter()
        .fold(
            PolicyLoader::new().vocabulary(vocabulary),
            |loader, (origin, text)| loader.add_str(*origin, *text),
        )
        .build()
}

/// The fixed "now" of every case.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

/// One request to decide, with everything around it.
pub struct Case {
    pub tenant: Tenant,
    pub request: ActionRequest,
    pub spec: ActionSpec,
    pub facts: TargetFacts,
    pub operation: Operation,
}

impl Case {
    /// `requester` asks for `action` in `tenant`; the target is `target_login`.
    pub fn new(tenant: &str, action: &str, requester: Principal, target_login: &str) -> Self {
        let tenant = Tenant::new(TenantId::new(tenant).unwrap(), tenant);
        let action = ActionId::new(action).unwrap();
        let request = ActionRequest::new(
            IdempotencyKey::new("k-1").unwrap(),
            tenant.id.clone(),
            action.clone(),
            &serde_json::json!({}),
            requester,
        )
        .unwrap()
        .with_target(Target::user(target_login));
        let spec = ActionSpec {
            id: action,
            summary: "test action".into(),
            category: Category::Identity,
            risk: Risk::Medium,
            reversible: true,
            idempotent: true,
            input_schema: serde_json::json!({}),
            secret_params: Vec::new(),
        };
        let facts = TargetFacts {
            login: Some(target_login.to_string()),
            ..TargetFacts::default()
        };
        Self {
            tenant,
            request,
            spec,
            facts,
            operation: Operation::Execute,
        }
    }

    /// An end user acting on their own account.
    pub fn self_service(tenant: &str, action: &str) -> Self {
        Self::new(
            tenant,
            action,
            Principal::end_user("jane@acme-law.example"),
            "jane@acme-law.example",
        )
    }

    /// A technician acting on someone else's account.
    pub fn technician(tenant: &str, action: &str) -> Self {
        Self::new(
            tenant,
            action,
            Principal::technician("tech@msp.example", &["msp.tech"]),
            "bob@acme-law.example",
        )
    }

    pub fn in_group(mut self, group: &str) -> Self {
        self.tenant = self.tenant.in_group(TenantGroupId::new(group).unwrap());
        self
    }

    pub fn params(mut self, params: serde_json::Value) -> Self {
        self.request.params = params;
        self
    }

    pub fn risk(mut self, risk: Risk) -> Self {
        self.spec.risk = risk;
        self
    }

    /// The target's department, as the directory reports it in the plan's facts.
    pub fn department(self, department: &str) -> Self {
        self.facts(|f| f.department = Some(Department::new(department)))
    }

    /// The caller claims a department in the request, as a request deserialised from the wire
    /// would: a `department` field next to the others.
    pub fn claims_department(mut self, department: &str) -> Self {
        let mut wire = serde_json::to_value(&self.request).unwrap();
        wire["department"] = serde_json::json!(department);
        self.request = serde_json::from_value(wire).unwrap();
        self
    }

    /// Decide the undo of the action instead of the action.
    pub fn undo(mut self) -> Self {
        self.operation = Operation::Undo;
        self
    }

    pub fn facts(mut self, change: impl FnOnce(&mut TargetFacts)) -> Self {
        change(&mut self.facts);
        self
    }

    pub fn decide(&self, policy: &dyn Policy) -> Decision {
        policy.decide(&DecisionInput {
            request: &self.request,
            operation: self.operation,
            spec: &self.spec,
            tenant: &self.tenant,
            facts: &self.facts,
            now: now(),
        })
    }
}

/// Assert the effect kind and deciding rule of a decision.
#[track_caller]
pub fn assert_decision(decision: &Decision, effect: &str, rule: &str) {
    let actual = match decision.effect {
        Effect::Allow => "allow",
        Effect::RequireApproval { .. } => "approve",
        Effect::Deny => "deny",
    };
    assert_eq!(
        (actual, decision.rule.as_str()),
        (effect, rule),
        "decision: {decision:?}"
    );
}
