//! Learning from a tenant's closed tickets: how its users phrase things, labelled by what the
//! technician actually did, and who approved which kind of change.
//!
//! A closed ticket's label comes from its technicians' notes and resolution, not from its own
//! words: "Unlocked account in AD" makes it an unlock whatever the user wrote. Notes that name
//! no routine work label it `other`; tickets with no notes at all teach nothing and are
//! skipped.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stackhand_core::HistoricalTicket;

use crate::intent::Intent;
use crate::model::Labelled;
use crate::text::fold;

/// What technicians write when they did each kind of routine work, most specific first: a
/// leaver's notes mention licences and groups, a starter's notes mention licences too.
const DONE: &[(Intent, &[&str])] = &[
    (
        Intent::Offboarding,
        &[
            "leaver",
            "offboard",
            "sign-in blocked",
            "blocked sign-in",
            "converted to shared",
            "convert to shared",
            "deprovision",
            "account disabled",
            "disabled the account",
        ],
    ),
    (
        Intent::Onboarding,
        &[
            "new starter",
            "new hire",
            "onboard",
            "created account",
            "account created",
            "created the account",
            "created user",
            "new user",
        ],
    ),
    (
        Intent::MfaReset,
        &[
            "mfa",
            "authenticator",
            "temporary access pass",
            "re-registration",
            "re-register",
            "security info",
            "clearing methods",
            "2fa",
        ],
    ),
    (
        Intent::AccountUnlock,
        &["unlocked", "unlock", "lockout", "locked out"],
    ),
    (
        Intent::PasswordReset,
        &[
            "reset password",
            "password reset",
            "reset the password",
            "temporary password",
            "new password",
            "change-at-next-logon",
            "sspr",
        ],
    ),
    (
        Intent::MailboxAccess,
        &[
            "fullaccess",
            "full access",
            "sendas",
            "send as",
            "send-as",
            "mailbox permission",
            "automapping",
            "delegate",
        ],
    ),
    (
        Intent::GroupAccess,
        &[
            "added user to",
            "added to group",
            "added to the group",
            "group membership",
            "security group",
            "distribution list",
        ],
    ),
    (Intent::LicenseChange, &["licence", "license", "seat"]),
];

/// The intent a closed ticket's notes and resolution say the technician handled, or `None`
/// when it has neither.
pub fn label(ticket: &HistoricalTicket) -> Option<Intent> {
    let mut work: Vec<&str> = ticket.notes.iter().map(|n| n.text.as_str()).collect();
    work.extend(ticket.resolution.as_deref());
    if work.iter().all(|w| w.trim().is_empty()) {
        return None;
    }
    let text = fold(&work.join("\n"));
    Some(
        DONE.iter()
            .find(|(_, says)| says.iter().any(|s| text.contains(s)))
            .map_or(Intent::Other, |(intent, _)| *intent),
    )
}

/// Whether a word is written like a name: a capital, then lower-case letters.
fn name_word(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(char::is_uppercase)
        && chars.clone().count() > 0
        && chars.all(|c| c.is_lowercase() || c == '-' || c == '\'')
}

/// The people notes say approved the work: "approved by Hank Moore", "approval from Hank
/// Moore", "Hank Moore approved".
pub fn approvers(notes: &str) -> Vec<String> {
    let words: Vec<&str> = notes.split_whitespace().collect();
    let bare = |w: &str| -> String {
        w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && c != '\'')
            .trim_end_matches("'s")
            .to_string()
    };
    let mut found = Vec::new();
    for (at, word) in words.iter().enumerate() {
        let lower = word.to_lowercase();
        let name: Vec<String> =
            if (lower == "by" && at > 0 && words[at - 1].eq_ignore_ascii_case("approved"))
                || (lower == "from" && at > 0 && words[at - 1].eq_ignore_ascii_case("approval"))
            {
                words[at + 1..]
                    .iter()
                    .map(|w| bare(w))
                    .take_while(|w| name_word(w))
                    .take(3)
                    .collect()
            } else if lower.starts_with("approved") && at > 0 {
                let mut before: Vec<String> = words[..at]
                    .iter()
                    .rev()
                    .map(|w| bare(w))
                    .take_while(|w| name_word(w))
                    .take(3)
                    .collect();
                // "Owner of Finance approved": a group, not a person.
                let start = at - before.len();
                if start > 0 && words[start - 1].eq_ignore_ascii_case("of") {
                    before.clear();
                }
                before.reverse();
                before
            } else {
                continue;
            };
        if name.len() >= 2 {
            found.push(name.join(" "));
        }
    }
    found
}

/// What a tenant's history teaches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Learned {
    /// Closed tickets read.
    pub tickets: usize,
    /// Of them, labelled by their notes (the rest had no notes or resolution).
    pub labelled: usize,
    /// Labelled tickets per intent.
    pub intents: BTreeMap<Intent, usize>,
    /// Who approved each kind of routine change, with how many times.
    pub approvers: BTreeMap<Intent, BTreeMap<String, usize>>,
}

impl Learned {
    /// The people who approved `intent` most often, most often first.
    pub fn suggested_approvers(&self, intent: Intent) -> Vec<(String, usize)> {
        let mut by: Vec<(String, usize)> = self
            .approvers
            .get(&intent)
            .map(|m| m.iter().map(|(n, c)| (n.clone(), *c)).collect())
            .unwrap_or_default();
        by.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        by
    }
}

/// How much a tenant's own ticket counts against one of the base corpus: its users' phrasing
/// is what the tenant's model must learn best.
pub const TENANT_WEIGHT: f32 = 2.0;

/// The training examples and the approvals of `history`.
pub fn learn(history: &[HistoricalTicket]) -> (Vec<Labelled>, Learned) {
    let mut examples = Vec::new();
    let mut learned = Learned {
        tickets: history.len(),
        ..Learned::default()
    };
    for closed in history {
        let Some(intent) = label(closed) else {
            continue;
        };
        learned.labelled += 1;
        *learned.intents.entry(intent).or_default() += 1;
        if intent.is_routine() {
            let notes: Vec<&str> = closed.notes.iter().map(|n| n.text.as_str()).collect();
            for name in approvers(&notes.join("\n")) {
                *learned
                    .approvers
                    .entry(intent)
                    .or_default()
                    .entry(name)
                    .or_default() += 1;
            }
        }
        examples.push(Labelled {
            subject: closed.ticket.subject.clone(),
            body: closed.ticket.body.clone(),
            intent,
            weight: TENANT_WEIGHT,
        });
    }
    (examples, learned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approvers_are_named_people_not_groups_or_roles() {
        assert_eq!(
            approvers("Permission granted per approval from Hank Moore."),
            vec!["Hank Moore"]
        );
        assert_eq!(approvers("Approved by Priya Shah, CFO"), vec!["Priya Shah"]);
        assert_eq!(
            approvers("As agreed, Maria Lopez approved it."),
            vec!["Maria Lopez"]
        );
        assert!(approvers("Owner of Finance Team approved the request.").is_empty());
        assert!(approvers("Approval from line manager received by email.").is_empty());
    }
}
