//! [`ModelTriage`]: the model decides the intent, rules find what it needs named, the
//! directory resolves who it is for.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use async_trait::async_trait;
use stackhand_core::{Result, TenantId, Ticket};

use crate::eval::Decision;
use crate::history::Learned;
use crate::intent::Intent;
use crate::model::{Model, Trainer};
use crate::rules::RuleTriage;
use crate::target::{self, People, Target};
use crate::{Triage, Triaged, corpus};

/// The confidence below which the model abstains and the ticket goes to a person.
pub const DEFAULT_THRESHOLD: f32 = 0.6;

/// The base model, trained once per process from the embedded corpus (deterministic, well
/// under a second in an optimised build).
pub fn base_model() -> Arc<Model> {
    static BASE: OnceLock<Arc<Model>> = OnceLock::new();
    BASE.get_or_init(|| {
        let examples: Vec<_> = corpus::base().iter().map(|t| t.labelled()).collect();
        Arc::new(Trainer::default().train(&examples))
    })
    .clone()
}

/// Triage by a calibrated model: the tenant's own when it has one, the base model otherwise.
///
/// The model names one of the eight routine intents or `other`, or abstains below the
/// threshold. Rules add what the intent needs named, and name intents the model does not know
/// (a tenant's own, `revoke_sessions`) only for tickets the model finds are not one of its
/// eight. The target is the requester, one other address, or a name the directory resolves
/// to exactly one user; anything else is unresolved and the ticket goes to a person.
pub struct ModelTriage {
    base: Arc<Model>,
    tenants: RwLock<HashMap<TenantId, Arc<Model>>>,
    learned: RwLock<HashMap<TenantId, Learned>>,
    finishing: Finishing,
}

impl ModelTriage {
    /// Triage by `base` for every tenant, the built-in rules, the default threshold, and no
    /// directory (names stay unresolved).
    pub fn new(base: Arc<Model>) -> Self {
        Self {
            base,
            tenants: RwLock::new(HashMap::new()),
            learned: RwLock::new(HashMap::new()),
            finishing: Finishing::default(),
        }
    }

    /// `tenant`'s tickets go to `model` from now on.
    pub fn set_tenant_model(&self, tenant: TenantId, model: Arc<Model>) {
        self.tenants
            .write()
            .expect("tenant models lock")
            .insert(tenant, model);
    }

    /// What `tenant`'s history taught (approvers by intent), kept for
    /// [`suggested_approvers`](Self::suggested_approvers).
    pub fn set_tenant_learned(&self, tenant: TenantId, learned: Learned) {
        self.learned
            .write()
            .expect("tenant history lock")
            .insert(tenant, learned);
    }

    /// Who approved `intent` changes in `tenant`'s history, most often first, with how many
    /// times: whom to ask when a policy says "approve" without naming anyone.
    pub fn suggested_approvers(&self, tenant: &TenantId, intent: &str) -> Vec<(String, usize)> {
        let Ok(intent) = intent.parse::<Intent>() else {
            return Vec::new();
        };
        self.learned
            .read()
            .expect("tenant history lock")
            .get(tenant)
            .map(|l| l.suggested_approvers(intent))
            .unwrap_or_default()
    }

    /// The model `tenant`'s tickets go to, and whether it is the tenant's own.
    pub fn model_of(&self, tenant: &TenantId) -> (Arc<Model>, bool) {
        match self.tenants.read().expect("tenant models lock").get(tenant) {
            Some(own) => (own.clone(), true),
            None => (self.base.clone(), false),
        }
    }

    /// What the model decides for a ticket of `tenant`.
    pub fn decide(&self, tenant: &TenantId, subject: &str, body: &str) -> Decision {
        let (model, _) = self.model_of(tenant);
        decide(&model, self.threshold_of(tenant), subject, body)
    }
}

/// `model`'s decision at `threshold`: act on a confident routine intent, otherwise route.
pub fn decide(model: &Model, threshold: f32, subject: &str, body: &str) -> Decision {
    let p = model.predict(subject, body);
    Decision::at(p.intent, p.confidence, threshold)
}

#[async_trait]
impl Triage for ModelTriage {
    async fn triage(&self, ticket: &Ticket) -> Result<Triaged> {
        let (_, own) = self.model_of(&ticket.tenant);
        let whose = if own {
            "the tenant's model"
        } else {
            "the base model"
        };
        let decision = self.decide(&ticket.tenant, &ticket.subject, &ticket.body);
        self.finishing.triage(ticket, &decision, whose).await
    }
}

impl DecidingTriage for ModelTriage {
    fn finishing(&self) -> &Finishing {
        &self.finishing
    }

    fn finishing_mut(&mut self) -> &mut Finishing {
        &mut self.finishing
    }
}

/// What a triage that decides by confidence (a model, an LLM) does around its decision: the
/// threshold it abstains below (and each tenant's own), the rules that find what an intent
/// needs named and name intents outside the vocabulary, and the directory that resolves names.
pub struct Finishing {
    threshold: f32,
    thresholds: HashMap<TenantId, f32>,
    rules: RuleTriage,
    people: Option<Arc<dyn People>>,
}

impl Default for Finishing {
    /// The default threshold, the built-in rules, no directory (names stay unresolved).
    fn default() -> Self {
        Self {
            threshold: DEFAULT_THRESHOLD,
            thresholds: HashMap::new(),
            rules: RuleTriage::builtin(),
            people: None,
        }
    }
}

impl Finishing {
    /// The threshold of a tenant without its own.
    pub fn threshold_of_default(&self) -> f32 {
        self.threshold
    }

    /// The threshold of `tenant`.
    pub fn threshold_of(&self, tenant: &TenantId) -> f32 {
        self.thresholds
            .get(tenant)
            .copied()
            .unwrap_or(self.threshold)
    }

    /// What `ticket` becomes once `whose` made its `decision` ([`triage_decided`] at the
    /// ticket's tenant's threshold).
    pub(crate) async fn triage(
        &self,
        ticket: &Ticket,
        decision: &Decision,
        whose: &str,
    ) -> Result<Triaged> {
        triage_decided(
            &self.rules,
            self.people.as_deref(),
            ticket,
            decision,
            whose,
            self.threshold_of(&ticket.tenant),
        )
        .await
    }
}

/// The settings every confidence-deciding triage shares ([`Finishing`]), set the same way on
/// [`ModelTriage`] and [`LlmTriage`](crate::llm::LlmTriage).
pub trait DecidingTriage: Sized {
    /// Its settings.
    fn finishing(&self) -> &Finishing;

    /// Its settings, to change.
    fn finishing_mut(&mut self) -> &mut Finishing;

    /// With these rules instead of the built-in ones.
    fn with_rules(mut self, rules: RuleTriage) -> Self {
        self.finishing_mut().rules = rules;
        self
    }

    /// Resolving names through `people`.
    fn with_people(mut self, people: Arc<dyn People>) -> Self {
        self.finishing_mut().people = Some(people);
        self
    }

    /// Abstaining below `threshold` unless a tenant has its own.
    fn with_threshold(mut self, threshold: f32) -> Self {
        self.finishing_mut().threshold = threshold;
        self
    }

    /// `tenant` abstains below `threshold`.
    fn with_tenant_threshold(mut self, tenant: TenantId, threshold: f32) -> Self {
        self.finishing_mut().thresholds.insert(tenant, threshold);
        self
    }

    /// The threshold of `tenant`.
    fn threshold_of(&self, tenant: &TenantId) -> f32 {
        self.finishing().threshold_of(tenant)
    }
}

/// What `ticket` becomes once `whose` (the base model, the tenant's, an LLM) has made its
/// `decision` at `threshold`: the intent to act on, or a rule's intent outside the vocabulary
/// for a ticket that is not routine, or routed with why; then what the intent needs named
/// (`rules`) and who it is for ([`target::resolve`], names through `people`).
pub(crate) async fn triage_decided(
    rules: &RuleTriage,
    people: Option<&dyn People>,
    ticket: &Ticket,
    decision: &Decision,
    whose: &str,
    threshold: f32,
) -> Result<Triaged> {
    let confidence = decision.confidence.unwrap_or(0.0);
    let (intent, reason) = match decision.act_on {
        Some(intent) => (
            intent.as_str().to_string(),
            format!("{whose} says {intent} at {confidence:.2} (threshold {threshold:.2})"),
        ),
        None => {
            // Intents outside the vocabulary come from rules, for tickets the model finds
            // are not one of its eight.
            let known = |i: &str| i.parse::<Intent>().is_ok();
            let rule = (decision.best == Intent::Other)
                .then(|| rules.matching(ticket))
                .flatten()
                .filter(|(rule, _)| !known(&rule.intent));
            match rule {
                Some((rule, phrase)) => (
                    rule.intent.clone(),
                    format!(
                        "{whose} finds no routine request (other at {confidence:.2}); the \
                         rule phrase {phrase:?} names {}",
                        rule.intent
                    ),
                ),
                None if decision.abstained => {
                    return Ok(Triaged {
                        confidence: decision.confidence,
                        abstained: true,
                        ..Triaged::routed(format!(
                            "{whose} is not sure: its best guess, {}, has confidence \
                             {confidence:.2}, below the threshold {threshold:.2}",
                            decision.best
                        ))
                    });
                }
                None => {
                    return Ok(Triaged {
                        confidence: decision.confidence,
                        ..Triaged::routed(format!(
                            "{whose} says this is not a routine request (other at \
                             {confidence:.2})"
                        ))
                    });
                }
            }
        }
    };
    let mut others = target::other_addresses(ticket);
    let entities = rules.entities(&intent, ticket, &mut others);
    // Starters and leavers name their subject as an entity (`new_user`, `person`) that the
    // workflow resolves; only requests about an existing user have a target to resolve.
    let found = if matches!(intent.as_str(), "onboarding" | "offboarding") {
        Target::of_addresses(&others)
    } else {
        target::resolve(ticket, &others, people).await?
    };
    Ok(Triaged {
        intent: Some(intent),
        confidence: decision.confidence,
        abstained: false,
        target: found.address(),
        unresolved: found.unresolved(),
        entities,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::text_ticket;

    fn acme() -> TenantId {
        TenantId::new("acme").unwrap()
    }

    async fn triage(t: &ModelTriage, subject: &str, body: &str) -> Triaged {
        let ticket = text_ticket(&acme(), "1", subject, body, Some("dan@acme.example"));
        t.triage(&ticket).await.unwrap()
    }

    #[tokio::test]
    async fn routine_requests_are_named_and_the_rest_routed() {
        let t = ModelTriage::new(base_model());
        let reset = triage(&t, "Passwort vergessen", "Bitte mein Passwort zurücksetzen").await;
        assert_eq!(reset.intent.as_deref(), Some("password_reset"), "{reset:?}");
        assert!(reset.confidence.unwrap() >= DEFAULT_THRESHOLD);
        let printer = triage(&t, "printer", "The printer on floor 2 is jammed again").await;
        assert_eq!(printer.intent, None, "{printer:?}");
        // Every ticket abstains at a threshold no confidence reaches.
        let strict = ModelTriage::new(base_model()).with_tenant_threshold(acme(), 0.999_999);
        let unsure = triage(&strict, "hi", "something is wrong with my thing").await;
        assert!(unsure.abstained && unsure.intent.is_none(), "{unsure:?}");
        assert!(unsure.reason.contains("below the threshold"), "{unsure:?}");
    }

    #[tokio::test]
    async fn rules_name_intents_outside_the_vocabulary_only_for_tickets_that_are_not_routine() {
        let t = ModelTriage::new(base_model());
        let lost = triage(
            &t,
            "hotel computer",
            "I used the business centre PC at the hotel and forgot to log off. Could you sign me \
             out everywhere?",
        )
        .await;
        assert_eq!(lost.intent.as_deref(), Some("revoke_sessions"), "{lost:?}");
    }

    #[test]
    fn approvers_are_suggested_from_the_tenants_history_only() {
        let t = ModelTriage::new(base_model());
        let mut approvers = BTreeMap::new();
        approvers.insert(
            Intent::MailboxAccess,
            BTreeMap::from([("Hank Moore".to_string(), 3), ("Ann Lee".to_string(), 5)]),
        );
        t.set_tenant_learned(
            acme(),
            Learned {
                approvers,
                ..Learned::default()
            },
        );
        assert_eq!(
            t.suggested_approvers(&acme(), "mailbox_access"),
            vec![("Ann Lee".to_string(), 5), ("Hank Moore".to_string(), 3)]
        );
        assert!(t.suggested_approvers(&acme(), "group_access").is_empty());
        let other = TenantId::new("other").unwrap();
        assert!(t.suggested_approvers(&other, "mailbox_access").is_empty());
    }
}
