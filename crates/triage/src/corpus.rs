//! Labelled tickets: the base corpus that ships with stackhand, and JSON lines files.
//!
//! The base corpus (`crates/triage/corpus/`) was written by hand for the project: one-liners,
//! typos, rambling mails with signatures and disclaimers, quoted replies, misleading subjects,
//! German, Spanish, French and Dutch, and decoys that use routine words for work that is not
//! routine (a door badge "locked out", a phishing mail about password expiry). The held-out
//! file was written separately, by another hand, and is never trained on.

use serde::{Deserialize, Serialize};

use crate::intent::Intent;
use crate::model::Labelled;

/// One labelled ticket of a corpus file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusTicket {
    /// Subject (may be empty).
    pub subject: String,
    /// Body.
    pub body: String,
    /// What it asks for.
    pub intent: Intent,
    /// Its language (`en`, `de`, `es`, `fr`, `nl`).
    pub lang: String,
    /// Who it is for: `requester`, an address, or a name as written; none when not stated.
    #[serde(default)]
    pub target: Option<String>,
    /// Why it is labelled so, for decoys and hard cases.
    #[serde(default)]
    pub note: Option<String>,
}

impl CorpusTicket {
    /// As a training example of weight 1.
    pub fn labelled(&self) -> Labelled {
        Labelled {
            subject: self.subject.clone(),
            body: self.body.clone(),
            intent: self.intent,
            weight: 1.0,
        }
    }
}

/// A corpus line that is not a labelled ticket.
#[derive(Debug, thiserror::Error)]
#[error(
    "{source_name} line {line}: {message}; each line is {{\"subject\", \"body\", \"intent\", \"lang\"}} with optional \"target\" and \"note\""
)]
pub struct CorpusError {
    /// The file or stream.
    pub source_name: String,
    /// The line, from 1.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The tickets of JSON lines text (blank lines skipped).
pub fn parse(source_name: &str, text: &str) -> Result<Vec<CorpusTicket>, CorpusError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(at, l)| {
            serde_json::from_str(l).map_err(|e| CorpusError {
                source_name: source_name.to_string(),
                line: at + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

const TRAIN_EN: &str = include_str!("../corpus/train-en.jsonl");
const TRAIN_INTL: &str = include_str!("../corpus/train-intl.jsonl");
const TRAIN_HARD: &str = include_str!("../corpus/train-hard.jsonl");
const HELD_OUT: &str = include_str!("../corpus/heldout.jsonl");

fn embedded(name: &str, text: &str) -> Vec<CorpusTicket> {
    parse(name, text).expect("the embedded corpus is checked by its tests")
}

/// The base training corpus: English, German, Spanish, French and Dutch, and hard cases
/// (routine words for other work, routine work in unusual words).
pub fn base() -> Vec<CorpusTicket> {
    let mut all = embedded("train-en.jsonl", TRAIN_EN);
    all.extend(embedded("train-intl.jsonl", TRAIN_INTL));
    all.extend(embedded("train-hard.jsonl", TRAIN_HARD));
    all
}

/// The held-out tickets, written apart from the training corpus and never trained on.
pub fn held_out() -> Vec<CorpusTicket> {
    embedded("heldout.jsonl", HELD_OUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_corpus_parses_and_covers_every_intent_and_language() {
        for (name, tickets) in [("base", base()), ("held out", held_out())] {
            for intent in Intent::ALL {
                let n = tickets.iter().filter(|t| t.intent == intent).count();
                assert!(n >= 10, "{name}: only {n} tickets of {intent}");
            }
            for lang in ["en", "de", "es", "fr", "nl"] {
                assert!(tickets.iter().any(|t| t.lang == lang), "{name}: no {lang}");
            }
        }
    }

    #[test]
    fn held_out_tickets_are_not_in_the_training_corpus() {
        let train: std::collections::HashSet<String> =
            base().into_iter().map(|t| t.body.to_lowercase()).collect();
        let copied: Vec<String> = held_out()
            .into_iter()
            .map(|t| t.body.to_lowercase())
            .filter(|b| train.contains(b))
            .collect();
        assert!(copied.is_empty(), "held-out bodies in training: {copied:?}");
    }

    #[test]
    fn a_bad_line_is_named() {
        let err = parse(
            "x.jsonl",
            "\n{\"subject\":\"a\",\"body\":\"b\",\"intent\":\"nope\",\"lang\":\"en\"}",
        )
        .unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().contains("x.jsonl line 2"), "{err}");
    }
}
