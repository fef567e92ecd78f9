//! Phrase rules: the keyword triage a tenant can write, the extractors that find what an
//! intent needs named (a group, a new starter, a device), and the keyword baseline the model
//! is measured against.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Deserialize;
use stackhand_core::{Result, Ticket};

use crate::eval::Decision;
use crate::intent::Intent;
use crate::target::{self, Target};
use crate::{Triage, Triaged};

/// The most words of an entity found between two phrases: a name, not a sentence.
pub const NAME_WORDS: usize = 4;

/// The most words of a list of names (`people`).
pub const LIST_WORDS: usize = 24;

/// The names a rule can extract, and a workflow can use as placeholders.
pub const ENTITIES: &[&str] = &[
    "group",
    "mailbox",
    "new_user",
    "person",
    "manager",
    "role",
    "start_date",
    "leave_date",
    "device",
    "licence",
    "people",
];

/// How a rule finds an entity in a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Extract {
    /// The words between `after` and `before` (without case), subject first: `to the` ..
    /// `group` finds `Finance` in "add me to the Finance group".
    Between {
        /// The entity's name.
        name: String,
        /// What comes just before it.
        after: String,
        /// What comes just after it.
        before: String,
        /// The most words it may have (a name, not a sentence); `people`, a list of names,
        /// may have up to [`LIST_WORDS`].
        #[serde(default)]
        max_words: Option<usize>,
    },
    /// The first email address other than the requester's (then not a target).
    Address {
        /// The entity's name.
        name: String,
    },
    /// The word after a phrase (on word boundaries, without case): after `starting` finds
    /// `Monday` in "starting Monday".
    WordAfter {
        /// The entity's name.
        name: String,
        /// The phrase before it.
        after: String,
    },
    /// The first device name: a word of capitals and digits in dash-separated parts with a
    /// digit (`CLAW-LT-009`).
    DeviceName {
        /// The entity's name.
        name: String,
    },
}

impl Extract {
    /// The entity it finds.
    pub fn name(&self) -> &str {
        match self {
            Extract::Between { name, .. }
            | Extract::Address { name }
            | Extract::WordAfter { name, .. }
            | Extract::DeviceName { name } => name,
        }
    }
}

/// One rule: any of its phrases in the subject or body means its intent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentRule {
    /// The intent.
    pub intent: String,
    /// Phrases, matched without case on word boundaries.
    pub phrases: Vec<String>,
    /// What the intent needs named.
    #[serde(default)]
    pub extract: Vec<Extract>,
}

/// Triage by phrase rules, first matching rule wins.
#[derive(Debug, Clone)]
pub struct RuleTriage {
    rules: Vec<IntentRule>,
}

/// The built-in rules, most specific first: a new starter's ticket that mentions MFA is an
/// onboarding, and a ticket that says it forgot its password and is locked out wants a reset,
/// not an unlock.
const BUILTIN_RULES: &[(&str, &[&str])] = &[
    (
        "onboarding",
        &[
            "new starter",
            "new hire",
            "onboarding",
            "starts monday",
            "joins the",
        ],
    ),
    (
        "offboarding",
        &["leaver", "offboarding", "has left", "is leaving"],
    ),
    (
        "mailbox_access",
        &["shared mailbox", "access to the mailbox", "mailbox access"],
    ),
    (
        "password_reset",
        &[
            "password reset",
            "reset my password",
            "reset the password",
            "forgotten my password",
            "forgot my password",
            "password expired",
            "password has expired",
        ],
    ),
    (
        "mfa_reset",
        &[
            "authenticator",
            "mfa",
            "2fa",
            "two-factor",
            "multi-factor",
            "verification code",
        ],
    ),
    (
        "account_unlock",
        &[
            "locked out",
            "account locked",
            "account is locked",
            "unlock",
        ],
    ),
    (
        "revoke_sessions",
        &[
            "sign me out everywhere",
            "signed in on a lost",
            "log me out everywhere",
        ],
    ),
    ("group_access", &["add me to the", "added to the"]),
    (
        "app_unreachable",
        &[
            "can't be reached",
            "cannot be reached",
            "can't reach",
            "cannot reach",
            "unreachable",
        ],
    ),
    ("license_change", &["licence", "license"]),
];

/// What the built-in rules extract, by intent.
fn builtin_extracts(intent: &str) -> Vec<Extract> {
    match intent {
        "mailbox_access" => vec![Extract::Address {
            name: "mailbox".into(),
        }],
        "group_access" => vec![
            between_rule("group", "to the ", " group"),
            between_rule("people", "could ", " be added"),
            between_rule("people", "can ", " be added"),
            between_rule("people", "please add ", " to the"),
        ],
        "onboarding" => vec![
            between_rule("new_user", "new starter:", " starting"),
            between_rule("new_user", "new hire:", " starting"),
            between_rule("new_user", "onboarding:", " ("),
            between_rule("role", " as a ", ","),
            between_rule("role", " as an ", ","),
            between_rule("manager", "reporting to ", "."),
            word_rule("start_date", "starting"),
            word_rule("start_date", "starts"),
            word_rule("start_date", "joins on"),
            Extract::DeviceName {
                name: "device".into(),
            },
        ],
        "offboarding" => vec![
            between_rule("person", "leaver - ", ":"),
            between_rule("person", "leaver:", " -"),
            between_rule("person", "offboarding:", " -"),
            word_rule("leave_date", "leaves on"),
            word_rule("leave_date", "last day is"),
            Extract::DeviceName {
                name: "device".into(),
            },
        ],
        "app_unreachable" => vec![Extract::DeviceName {
            name: "device".into(),
        }],
        "license_change" => vec![
            between_rule("licence", "need a ", " licen"),
            between_rule("licence", "need an ", " licen"),
            between_rule("licence", "need ", " licen"),
        ],
        _ => Vec::new(),
    }
}

fn between_rule(name: &str, after: &str, before: &str) -> Extract {
    Extract::Between {
        name: name.into(),
        after: after.into(),
        before: before.into(),
        max_words: (name == "people").then_some(LIST_WORDS),
    }
}

fn word_rule(name: &str, after: &str) -> Extract {
    Extract::WordAfter {
        name: name.into(),
        after: after.into(),
    }
}

impl RuleTriage {
    /// Triage with `rules`, in order.
    pub fn new(rules: Vec<IntentRule>) -> Self {
        Self { rules }
    }

    /// The built-in rules, for the built-in workflows' intents.
    pub fn builtin() -> Self {
        Self::new(
            BUILTIN_RULES
                .iter()
                .map(|(intent, phrases)| IntentRule {
                    intent: intent.to_string(),
                    phrases: phrases.iter().map(|p| p.to_string()).collect(),
                    extract: builtin_extracts(intent),
                })
                .collect(),
        )
    }

    /// The intents the rules can answer.
    pub fn intents(&self) -> Vec<&str> {
        self.rules.iter().map(|r| r.intent.as_str()).collect()
    }
}

/// Whether `phrase` occurs in `text` (both lower case) between word boundaries.
fn contains_phrase(text: &str, phrase: &str) -> bool {
    phrase_end(text, phrase).is_some()
}

/// Where the first whole-word `phrase` in `text` (both lower case) ends.
fn phrase_end(text: &str, phrase: &str) -> Option<usize> {
    let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    text.match_indices(phrase)
        .find(|(at, _)| {
            boundary(text[..*at].chars().next_back())
                && boundary(text[at + phrase.len()..].chars().next())
        })
        .map(|(at, _)| at + phrase.len())
}

/// The word after the whole-word `phrase` in `text`, matched without case.
fn word_after_phrase(text: &str, phrase: &str) -> Option<String> {
    let lower = text.to_lowercase();
    let end = phrase_end(&lower, &phrase.to_lowercase())?;
    // Lower-casing can change lengths outside ASCII; read the word from the lower-case text.
    let word: String = lower[end..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '-')
        .collect();
    (!word.is_empty()).then_some(word)
}

/// The first device name in `text`: capitals and digits in two or more dash-separated parts,
/// with a digit (`CLAW-LT-009`).
pub fn device_name(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .map(|w| w.trim_matches('-'))
        .find(|w| {
            w.contains('-')
                && w.chars().any(|c| c.is_ascii_digit())
                && w.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
                && w.split('-').all(|part| !part.is_empty())
        })
        .map(str::to_string)
}

/// The text between `after` and `before` in `text`, matched without case (ASCII), trimmed, of
/// at most `max_words` words.
fn between(text: &str, after: &str, before: &str, max_words: usize) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find(&after.to_ascii_lowercase())? + after.len();
    let end = start + lower[start..].find(&before.to_ascii_lowercase())?;
    let found = text[start..end].trim();
    // A name, not a sentence.
    (!found.is_empty() && found.split_whitespace().count() <= max_words).then(|| found.to_string())
}

impl RuleTriage {
    /// The first rule with a phrase the ticket has, and the phrase.
    pub fn matching(&self, ticket: &Ticket) -> Option<(&IntentRule, &str)> {
        self.matching_text(&ticket.subject, &ticket.body)
    }

    /// The first rule with a phrase the subject or body has, and the phrase.
    pub fn matching_text(&self, subject: &str, body: &str) -> Option<(&IntentRule, &str)> {
        let text = format!("{subject}\n{body}").to_lowercase();
        self.rules.iter().find_map(|rule| {
            rule.phrases
                .iter()
                .find(|p| contains_phrase(&text, &p.to_lowercase()))
                .map(|p| (rule, p.as_str()))
        })
    }

    /// What the rules of `intent` find named in the ticket. An address taken as an entity (a
    /// mailbox) is taken out of `others`, the addresses that could be the target.
    pub fn entities(
        &self,
        intent: &str,
        ticket: &Ticket,
        others: &mut Vec<String>,
    ) -> BTreeMap<String, String> {
        let original = format!("{}\n{}", ticket.subject, ticket.body);
        let mut entities = BTreeMap::new();
        for extract in self
            .rules
            .iter()
            .filter(|r| r.intent == intent)
            .flat_map(|r| &r.extract)
        {
            // Alternatives for one entity: the first that finds it wins.
            if entities.contains_key(extract.name()) {
                continue;
            }
            let found = match extract {
                Extract::Between {
                    after,
                    before,
                    max_words,
                    ..
                } => {
                    let most = max_words.unwrap_or(NAME_WORDS);
                    between(&ticket.subject, after, before, most)
                        .or_else(|| between(&ticket.body, after, before, most))
                }
                Extract::Address { .. } => (!others.is_empty()).then(|| others.remove(0)),
                Extract::WordAfter { after, .. } => word_after_phrase(&ticket.subject, after)
                    .or_else(|| word_after_phrase(&ticket.body, after)),
                Extract::DeviceName { .. } => device_name(&original),
            };
            if let Some(found) = found {
                entities.insert(extract.name().to_string(), found);
            }
        }
        entities
    }
}

impl RuleTriage {
    /// The keyword baseline's decision: act on the first matching rule's intent when it is one
    /// of the vocabulary's routine eight, route otherwise. Rules have no confidence.
    pub fn decide(&self, subject: &str, body: &str) -> Decision {
        let intent = self
            .matching_text(subject, body)
            .and_then(|(rule, _)| rule.intent.parse::<Intent>().ok())
            .unwrap_or(Intent::Other);
        Decision {
            act_on: intent.is_routine().then_some(intent),
            abstained: false,
            confidence: None,
            best: intent,
        }
    }
}

#[async_trait]
impl Triage for RuleTriage {
    async fn triage(&self, ticket: &Ticket) -> Result<Triaged> {
        let mut others = target::other_addresses(ticket);
        let Some((rule, phrase)) = self.matching(ticket) else {
            return Ok(Triaged {
                target: Target::of_addresses(&others).address(),
                ..Triaged::routed("no rule matches the ticket's words")
            });
        };
        let entities = self.entities(&rule.intent, ticket, &mut others);
        let target = Target::of_addresses(&others);
        Ok(Triaged {
            intent: Some(rule.intent.clone()),
            confidence: None,
            abstained: false,
            unresolved: target.unresolved(),
            target: target.address(),
            entities,
            reason: format!("the ticket says {phrase:?}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackhand_core::TenantId;

    fn ticket(subject: &str, body: &str) -> Ticket {
        let acme = TenantId::new("acme").unwrap();
        crate::text_ticket(&acme, "1", subject, body, Some("daniel@acme.example"))
    }

    async fn intent(subject: &str, body: &str) -> Option<String> {
        RuleTriage::builtin()
            .triage(&ticket(subject, body))
            .await
            .unwrap()
            .intent
    }

    #[tokio::test]
    async fn the_most_specific_rule_wins() {
        let reset = intent(
            "Password reset - Daniel Reyes",
            "I've forgotten my password and I'm locked out of my laptop.",
        )
        .await;
        assert_eq!(reset.as_deref(), Some("password_reset"));
        let unlock = intent("Locked out of my account", "It says my account is locked.").await;
        assert_eq!(unlock.as_deref(), Some("account_unlock"));
        let mfa = intent("New phone - need Authenticator set up again", "").await;
        assert_eq!(mfa.as_deref(), Some("mfa_reset"));
        assert_eq!(intent("Printer on 2nd floor keeps jamming", "").await, None);
    }

    #[tokio::test]
    async fn phrases_match_whole_words_only() {
        // "unlocked" is not "unlock", "mfa" inside a word is not MFA.
        assert_eq!(intent("Door left unlocked", "").await, None);
        assert_eq!(intent("Re: comfamily photos", "").await, None);
    }

    #[tokio::test]
    async fn groups_and_mailboxes_are_named() {
        let t = ticket(
            "Please add me to the Finance group",
            "Can I be added to the Finance group? Hank approved it.",
        );
        let triaged = RuleTriage::builtin().triage(&t).await.unwrap();
        assert_eq!(triaged.intent.as_deref(), Some("group_access"));
        assert_eq!(triaged.entities["group"], "Finance");
        let t = ticket(
            "Access to reception@ shared mailbox",
            "Could you give me full access to the reception@acme.example mailbox?",
        );
        let triaged = RuleTriage::builtin().triage(&t).await.unwrap();
        assert_eq!(triaged.intent.as_deref(), Some("mailbox_access"));
        assert_eq!(triaged.entities["mailbox"], "reception@acme.example");
        assert_eq!(triaged.target, None, "the mailbox is not a user to act for");
    }

    #[tokio::test]
    async fn another_users_address_is_the_target() {
        let t = ticket(
            "Please reset the password of jane@acme.example",
            "Thanks, Daniel <daniel@acme.example>",
        );
        let triaged = RuleTriage::builtin().triage(&t).await.unwrap();
        assert_eq!(triaged.target.as_deref(), Some("jane@acme.example"));
        let own = RuleTriage::builtin()
            .triage(&ticket("Locked out", "daniel@acme.example"))
            .await
            .unwrap();
        assert_eq!(own.target, None);
    }

    async fn entities(subject: &str, body: &str) -> (Option<String>, BTreeMap<String, String>) {
        let triaged = RuleTriage::builtin()
            .triage(&ticket(subject, body))
            .await
            .unwrap();
        (triaged.intent, triaged.entities)
    }

    #[tokio::test]
    async fn a_new_starter_names_who_what_role_manager_start_and_device() {
        let (intent, found) = entities(
            "New starter: Laura Fischer starting Monday",
            "Laura Fischer joins the litigation team on Monday as a paralegal, reporting to \
             Daniel Reyes. Please set up MFA for her. Her laptop will be CLAW-LT-009.",
        )
        .await;
        assert_eq!(intent.as_deref(), Some("onboarding"), "before mfa_reset");
        assert_eq!(found["new_user"], "Laura Fischer");
        assert_eq!(found["role"], "paralegal");
        assert_eq!(found["manager"], "Daniel Reyes");
        assert_eq!(found["start_date"], "monday");
        assert_eq!(found["device"], "CLAW-LT-009");
    }

    #[tokio::test]
    async fn a_leaver_and_a_licence_are_named() {
        let (intent, found) = entities(
            "Leaver - Eleanor Voss: licence and laptop",
            "Please collect her laptop (CLAW-LT-006).",
        )
        .await;
        assert_eq!(intent.as_deref(), Some("offboarding"));
        assert_eq!(found["person"], "Eleanor Voss");
        assert_eq!(found["device"], "CLAW-LT-006");
        assert!(!found.contains_key("leave_date"));
        let (intent, found) = entities("Need Visio licence", "Margaret said OK.").await;
        assert_eq!(intent.as_deref(), Some("license_change"));
        assert_eq!(found["licence"], "Visio");
    }

    #[test]
    fn device_names_are_capitals_and_digits_in_dashed_parts() {
        assert_eq!(
            device_name("get his laptop (GLBX-LT-110) ready").as_deref(),
            Some("GLBX-LT-110")
        );
        assert_eq!(
            device_name("the Latitude-5440 and CLAW-SRV-01"),
            Some("CLAW-SRV-01".into())
        );
        assert_eq!(device_name("no device here, just a-b-c"), None);
    }
}
