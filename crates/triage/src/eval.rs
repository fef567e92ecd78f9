//! Evaluation on labelled tickets: what an MSP needs to know before trusting a classifier.
//!
//! A ticket's outcome is what stackhand would do with it: act on a routine intent, or route it
//! to a person (the classifier said `other`, or abstained below its threshold). A routine ticket
//! is right when it is acted on as its intent; an `other` ticket is right when it is routed.
//! Acting on the wrong intent, or on a ticket that is not routine, is the costly mistake, so
//! the figures separate it from routing a routine ticket, which costs only the time stackhand
//! did not save.

use serde::{Deserialize, Serialize};

use crate::intent::Intent;
use crate::model::Labelled;

/// What a classifier decided for one ticket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// The intent it would act on; `None` routes the ticket to a person.
    pub act_on: Option<Intent>,
    /// Whether it routed because its confidence was below the threshold.
    pub abstained: bool,
    /// Its confidence in its best intent, when it has one.
    pub confidence: Option<f32>,
    /// Its best intent, whatever it decided.
    pub best: Intent,
}

impl Decision {
    /// A classifier's decision from its best intent and confidence at `threshold`: act on a
    /// confident routine intent, otherwise route (abstaining when not confident).
    pub fn at(best: Intent, confidence: f32, threshold: f32) -> Self {
        let confident = confidence >= threshold;
        Decision {
            act_on: (confident && best.is_routine()).then_some(best),
            abstained: !confident,
            confidence: Some(confidence),
            best,
        }
    }
}

/// Precision and recall of one intent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentFigures {
    /// The intent.
    pub intent: Intent,
    /// Tickets of this intent in the set.
    pub support: usize,
    /// Of the tickets acted on as this intent (routed, for `other`), the share that were.
    pub precision: f64,
    /// Of the tickets of this intent, the share acted on as it (routed, for `other`).
    pub recall: f64,
}

/// A classifier's figures on a labelled set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Who was measured (`model`, `keyword baseline`).
    pub name: String,
    /// Tickets.
    pub tickets: usize,
    /// Share of tickets handled right (acted on as their intent, or routed when not routine).
    pub accuracy: f64,
    /// Routine tickets.
    pub in_scope: usize,
    /// Of the routine tickets acted on, the share acted on as their own intent.
    pub in_scope_accuracy: f64,
    /// Share of routine tickets acted on at all (the rest were routed).
    pub in_scope_coverage: f64,
    /// Share of tickets that are not routine but were acted on: the mistake that matters.
    pub out_of_scope_acted: f64,
    /// Share of all tickets where the classifier abstained.
    pub abstention_rate: f64,
    /// Expected calibration error of the confidence (10 bins), when it has one.
    pub calibration_error: Option<f64>,
    /// Per intent.
    pub intents: Vec<IntentFigures>,
}

fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// `decide`'s figures on `set`.
pub fn evaluate(
    name: &str,
    set: &[Labelled],
    mut decide: impl FnMut(&Labelled) -> Decision,
) -> Evaluation {
    let decisions: Vec<(Intent, Decision)> = set.iter().map(|t| (t.intent, decide(t))).collect();
    // What each ticket ended as: the intent acted on, or `other` for routed.
    let ended = |d: &Decision| d.act_on.unwrap_or(Intent::Other);
    let right = decisions.iter().filter(|(g, d)| ended(d) == *g).count();
    let in_scope: Vec<&(Intent, Decision)> =
        decisions.iter().filter(|(g, _)| g.is_routine()).collect();
    let acted_in_scope: Vec<&&(Intent, Decision)> = in_scope
        .iter()
        .filter(|(_, d)| d.act_on.is_some())
        .collect();
    let out_scope = decisions.iter().filter(|(g, _)| !g.is_routine()).count();
    let out_acted = decisions
        .iter()
        .filter(|(g, d)| !g.is_routine() && d.act_on.is_some())
        .count();
    let intents = Intent::ALL
        .into_iter()
        .map(|intent| {
            let support = decisions.iter().filter(|(g, _)| *g == intent).count();
            let predicted = decisions.iter().filter(|(_, d)| ended(d) == intent).count();
            let hits = decisions
                .iter()
                .filter(|(g, d)| *g == intent && ended(d) == intent)
                .count();
            IntentFigures {
                intent,
                support,
                precision: share(hits, predicted),
                recall: share(hits, support),
            }
        })
        .collect();
    Evaluation {
        name: name.to_string(),
        tickets: set.len(),
        accuracy: share(right, set.len()),
        in_scope: in_scope.len(),
        in_scope_accuracy: share(
            acted_in_scope
                .iter()
                .filter(|(g, d)| d.act_on == Some(*g))
                .count(),
            acted_in_scope.len(),
        ),
        in_scope_coverage: share(acted_in_scope.len(), in_scope.len()),
        out_of_scope_acted: share(out_acted, out_scope),
        abstention_rate: share(
            decisions.iter().filter(|(_, d)| d.abstained).count(),
            set.len(),
        ),
        calibration_error: calibration_error(&decisions),
        intents,
    }
}

/// How far confidence is from accuracy, weighted over ten confidence bins.
fn calibration_error(decisions: &[(Intent, Decision)]) -> Option<f64> {
    let scored: Vec<(f64, bool)> = decisions
        .iter()
        .filter_map(|(g, d)| d.confidence.map(|c| (f64::from(c), d.best == *g)))
        .collect();
    if scored.is_empty() {
        return None;
    }
    let mut error = 0.0;
    for bin in 0..10 {
        let (lo, hi) = (bin as f64 / 10.0, (bin + 1) as f64 / 10.0);
        let inside: Vec<&(f64, bool)> = scored
            .iter()
            .filter(|(c, _)| *c > lo && (*c <= hi || bin == 9))
            .collect();
        if inside.is_empty() {
            continue;
        }
        let confidence = inside.iter().map(|(c, _)| c).sum::<f64>() / inside.len() as f64;
        let accuracy = share(inside.iter().filter(|(_, r)| *r).count(), inside.len());
        error += (confidence - accuracy).abs() * inside.len() as f64 / scored.len() as f64;
    }
    Some(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(intent: Intent) -> Labelled {
        Labelled {
            subject: String::new(),
            body: String::new(),
            intent,
            weight: 1.0,
        }
    }

    fn acts(on: Option<Intent>, best: Intent) -> Decision {
        Decision {
            act_on: on,
            abstained: on.is_none() && best.is_routine(),
            confidence: Some(0.9),
            best,
        }
    }

    #[test]
    fn routing_other_is_right_and_acting_on_it_is_the_costly_mistake() {
        let set = vec![
            ticket(Intent::PasswordReset),
            ticket(Intent::PasswordReset),
            ticket(Intent::Other),
            ticket(Intent::Other),
        ];
        let answers = [
            acts(Some(Intent::PasswordReset), Intent::PasswordReset),
            acts(None, Intent::PasswordReset),
            acts(None, Intent::Other),
            acts(Some(Intent::AccountUnlock), Intent::AccountUnlock),
        ];
        let mut at = 0;
        let e = evaluate("t", &set, |_| {
            at += 1;
            answers[at - 1]
        });
        assert_eq!(e.accuracy, 0.5);
        assert_eq!(e.in_scope_accuracy, 1.0);
        assert_eq!(e.in_scope_coverage, 0.5);
        assert_eq!(e.out_of_scope_acted, 0.5);
        assert_eq!(e.abstention_rate, 0.25);
        let other = &e.intents[Intent::Other.index()];
        assert_eq!((other.precision, other.recall), (0.5, 0.5));
        // Confidence 0.9 everywhere, right 3 of 4 times as its best guess.
        assert!((e.calibration_error.unwrap() - 0.15).abs() < 1e-6);
    }
}
