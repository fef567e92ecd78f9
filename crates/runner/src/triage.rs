//! Triage: what a ticket asks for, and for whom.
//!
//! [`Triage`] is the seam: rules today ([`RuleTriage`]), a model learned from the PSA's history
//! later. A triage answers an intent (or none: the ticket goes to a person), the things the
//! intent needs named (`group`, `mailbox`: [`ENTITIES`]), and, when the ticket names another
//! user by address, that user as the target; otherwise the ticket is about its requester.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use stackhand_core::{Result, Ticket};

/// What triage found in a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Triaged {
    /// The intent, when one is recognised.
    pub intent: Option<String>,
    /// Another user's address the ticket names, when it names exactly one.
    pub target: Option<String>,
    /// What the intent needs named, found in the ticket (`group` → `Finance`).
    pub entities: BTreeMap<String, String>,
    /// Why: the phrase that matched, or why none did.
    pub reason: String,
}

/// Classifies tickets.
#[async_trait]
pub trait Triage: Send + Sync {
    /// What `ticket` asks for.
    async fn triage(&self, ticket: &Ticket) -> Result<Triaged>;
}

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
    ("licence_request", &["licence", "license"]),
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
        "licence_request" => vec![
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

/// Email addresses in `text`, lower case, in order, without duplicates.
pub fn addresses(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || "<>()[],;:\"'".contains(c)) {
        let word = word
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        let Some((local, domain)) = word.split_once('@') else {
            continue;
        };
        if !local.is_empty() && domain.contains('.') && !found.contains(&word) {
            found.push(word);
        }
    }
    found
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

#[async_trait]
impl Triage for RuleTriage {
    async fn triage(&self, ticket: &Ticket) -> Result<Triaged> {
        let original = format!("{}\n{}", ticket.subject, ticket.body);
        let text = original.to_lowercase();
        let requester = ticket
            .contact
            .as_ref()
            .and_then(|c| c.email.as_deref())
            .map(str::to_lowercase);
        let mut others: Vec<String> = addresses(&text)
            .into_iter()
            .filter(|a| Some(a) != requester.as_ref())
            .collect();
        for rule in &self.rules {
            let Some(phrase) = rule
                .phrases
                .iter()
                .find(|p| contains_phrase(&text, &p.to_lowercase()))
            else {
                continue;
            };
            let mut entities = BTreeMap::new();
            for extract in &rule.extract {
                // Alternatives for one entity: the first that finds it wins.
                if entities.contains_key(extract.name()) {
                    continue;
                }
                match extract {
                    Extract::Between {
                        name,
                        after,
                        before,
                        max_words,
                    } => {
                        let most = max_words.unwrap_or(NAME_WORDS);
                        let found = between(&ticket.subject, after, before, most)
                            .or_else(|| between(&ticket.body, after, before, most));
                        if let Some(found) = found {
                            entities.insert(name.clone(), found);
                        }
                    }
                    Extract::Address { name } => {
                        if !others.is_empty() {
                            entities.insert(name.clone(), others.remove(0));
                        }
                    }
                    Extract::WordAfter { name, after } => {
                        let found = word_after_phrase(&ticket.subject, after)
                            .or_else(|| word_after_phrase(&ticket.body, after));
                        if let Some(found) = found {
                            entities.insert(name.clone(), found);
                        }
                    }
                    Extract::DeviceName { name } => {
                        if let Some(found) = device_name(&original) {
                            entities.insert(name.clone(), found);
                        }
                    }
                }
            }
            return Ok(Triaged {
                intent: Some(rule.intent.clone()),
                target: (others.len() == 1).then(|| others[0].clone()),
                entities,
                reason: format!("the ticket says {phrase:?}"),
            });
        }
        Ok(Triaged {
            intent: None,
            target: (others.len() == 1).then(|| others[0].clone()),
            entities: BTreeMap::new(),
            reason: "no rule matches the ticket's words".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackhand_core::{Contact, TenantId};

    fn ticket(subject: &str, body: &str) -> Ticket {
        Ticket {
            id: "1".into(),
            tenant: TenantId::new("acme").unwrap(),
            company: None,
            contact: Some(Contact {
                id: "c1".into(),
                name: "Daniel".into(),
                email: Some("daniel@acme.example".into()),
                company_id: None,
                active: true,
            }),
            subject: subject.into(),
            body: body.into(),
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
        assert_eq!(intent.as_deref(), Some("licence_request"));
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
