//! Triage: what a helpdesk ticket asks for, and for whom.
//!
//! - [`Intent`]: the vocabulary, eight routine requests and `other`.
//! - [`Model`]: a TF-IDF softmax classifier with calibrated confidence, trained by [`Trainer`]
//!   on the [hand-written base corpus](corpus::base) and, per tenant, on its PSA history
//!   ([`history`]).
//! - [`ModelTriage`]: the [`Triage`] stackhand runs: the tenant's model (or the base model),
//!   abstaining below a confidence threshold, with [`RuleTriage`]'s extractors for what the
//!   intent needs named and [`target`] resolution that never guesses.
//! - [`LlmTriage`]: off by default, a large language model behind an OpenAI-compatible chat
//!   completions API proposes the intent instead of the model; its answer is validated against
//!   a JSON schema, and the rest is as in [`ModelTriage`].
//! - [`RuleTriage`]: phrase rules, which a tenant can write for intents of its own, and the
//!   keyword baseline of [`eval`].
//!
//! ```
//! use stackhand_triage::{Intent, Trainer, corpus};
//!
//! let examples: Vec<_> = corpus::base().iter().map(|t| t.labelled()).collect();
//! let model = Trainer::default().train(&examples);
//! let p = model.predict("Passwort vergessen", "Hallo, ich habe mein Passwort vergessen.");
//! assert_eq!(p.intent, Intent::PasswordReset);
//! let decoy = model.predict("Door badge", "My building badge is locked out at reception");
//! assert_ne!(decoy.intent, Intent::AccountUnlock);
//! ```

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Serialize;
use stackhand_core::{Contact, Result, TenantId, Ticket};

pub mod classifier;
pub mod corpus;
pub mod eval;
pub mod history;
pub mod intent;
pub mod llm;
pub mod model;
pub mod rules;
pub mod target;
pub mod tenant;
pub mod text;

pub use classifier::{DEFAULT_THRESHOLD, DecidingTriage, Finishing, ModelTriage};
pub use intent::Intent;
pub use llm::{LlmAuth, LlmConfig, LlmTriage};
pub use model::{Labelled, Model, Prediction, Trainer};
pub use rules::{ENTITIES, Extract, IntentRule, RuleTriage};
pub use target::{People, Target};

/// What triage found in a ticket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Triaged {
    /// The intent to act on; none sends the ticket to a person.
    pub intent: Option<String>,
    /// The model's calibrated confidence in its best intent (rules have none).
    pub confidence: Option<f32>,
    /// Whether the model was not confident enough to name an intent.
    pub abstained: bool,
    /// Another user's address the request is for; none is the requester.
    pub target: Option<String>,
    /// Someone the ticket names who could not be resolved to one user, and why: the ticket
    /// must go to a person rather than act on the requester.
    pub unresolved: Option<String>,
    /// What the intent needs named, found in the ticket (`group` → `Finance`).
    pub entities: BTreeMap<String, String>,
    /// Why: the model's confidence or the phrase that matched, or why nothing did.
    pub reason: String,
}

impl Triaged {
    /// Nothing to act on, and why.
    pub fn routed(reason: impl Into<String>) -> Self {
        Self {
            intent: None,
            confidence: None,
            abstained: false,
            target: None,
            unresolved: None,
            entities: BTreeMap::new(),
            reason: reason.into(),
        }
    }
}

/// A ticket made of text alone, as `stackhand triage classify` reads one: a subject, a body and
/// the requester's address (as the contact, when known), new and open.
pub fn text_ticket(
    tenant: &TenantId,
    id: &str,
    subject: &str,
    body: &str,
    requester: Option<&str>,
) -> Ticket {
    Ticket {
        id: id.to_string(),
        tenant: tenant.clone(),
        company: None,
        contact: requester.map(|email| Contact {
            id: String::new(),
            name: String::new(),
            email: Some(email.to_string()),
            company_id: None,
            active: true,
        }),
        subject: subject.to_string(),
        body: body.to_string(),
        created: chrono::Utc::now(),
        updated: None,
        status: "New".into(),
        board: None,
        priority: None,
        source: None,
        closed: false,
        parent_id: None,
    }
}

/// Classifies tickets.
#[async_trait]
pub trait Triage: Send + Sync {
    /// What `ticket` asks for.
    async fn triage(&self, ticket: &Ticket) -> Result<Triaged>;
}
