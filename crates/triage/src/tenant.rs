//! A tenant's own model: the base corpus plus its PSA history, measured on a held-back part
//! of that history before it replaces the base model.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use stackhand_core::HistoricalTicket;

use crate::classifier::decide;
use crate::eval::{Evaluation, evaluate};
use crate::history::{Learned, learn};
use crate::model::{Labelled, Model, Trainer};
use crate::rules::RuleTriage;
use crate::{DEFAULT_THRESHOLD, corpus};

/// What training a tenant's model learned and measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantSummary {
    /// What the history taught: labels per intent, approvers.
    pub learned: Learned,
    /// Base corpus examples the model was trained on.
    pub base_examples: usize,
    /// The tenant's own examples it was trained on.
    pub tenant_examples: usize,
    /// On a fifth of the tenant's labelled history held back from a first training: the
    /// tenant's model, the base model and the keyword baseline, side by side. None when the
    /// history has fewer than 25 labelled tickets.
    pub held_out: Option<Vec<Evaluation>>,
}

/// The share of a tenant's history held back to measure its model.
const HELD_BACK: f32 = 0.2;

/// A model for a tenant with `history`, and what training it learned and measured. The model
/// returned is trained on the base corpus and all of the labelled history.
pub fn train(history: &[HistoricalTicket], base: &Model) -> (Model, TenantSummary) {
    let (own, learned) = learn(history);
    let corpus: Vec<Labelled> = corpus::base().iter().map(|t| t.labelled()).collect();
    let trainer = Trainer::default();
    let held_out = (own.len() >= 25).then(|| {
        let mut shuffled = own.clone();
        shuffled.shuffle(&mut StdRng::seed_from_u64(11));
        let keep = ((shuffled.len() as f32) * HELD_BACK).round() as usize;
        let (held, fit) = shuffled.split_at(keep);
        let mut examples = corpus.clone();
        examples.extend_from_slice(fit);
        let model = trainer.train(&examples);
        let rules = RuleTriage::builtin();
        vec![
            evaluate("tenant model", held, |t| {
                decide(&model, DEFAULT_THRESHOLD, &t.subject, &t.body)
            }),
            evaluate("base model", held, |t| {
                decide(base, DEFAULT_THRESHOLD, &t.subject, &t.body)
            }),
            evaluate("keyword baseline", held, |t| {
                rules.decide(&t.subject, &t.body)
            }),
        ]
    });
    let mut examples = corpus;
    let base_examples = examples.len();
    examples.extend(own.iter().cloned());
    let model = trainer.train(&examples);
    (
        model,
        TenantSummary {
            learned,
            base_examples,
            tenant_examples: own.len(),
            held_out,
        },
    )
}

/// The base model and the keyword baseline on the hand-written held-out set.
pub fn held_out_figures(model: &Model, threshold: f32) -> Vec<Evaluation> {
    let held: Vec<Labelled> = corpus::held_out().iter().map(|t| t.labelled()).collect();
    let rules = RuleTriage::builtin();
    vec![
        evaluate("model", &held, |t| {
            decide(model, threshold, &t.subject, &t.body)
        }),
        evaluate("keyword baseline", &held, |t| {
            rules.decide(&t.subject, &t.body)
        }),
    ]
}
