//! Who a ticket is about: the requester, another user by address, or someone named whom the
//! directory must resolve. It never guesses: a name the directory does not know, or knows
//! twice, leaves the target unresolved, and the ticket goes to a person.

use async_trait::async_trait;
use stackhand_core::{Result, TenantId, Ticket};

/// Who a ticket is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The requester ("my password", "mein Konto", "mi cuenta").
    Requester,
    /// Another user, by address.
    Address(String),
    /// Someone the ticket names who could not be resolved to exactly one user, and why.
    Unresolved(String),
}

impl Target {
    /// The target from the addresses a ticket names besides its requester's: none is the
    /// requester, one is that user, several cannot be told apart.
    pub fn of_addresses(others: &[String]) -> Target {
        match others {
            [] => Target::Requester,
            [one] => Target::Address(one.clone()),
            several => Target::Unresolved(format!(
                "the ticket names {} addresses ({}), and stackhand acts for one user per ticket",
                several.len(),
                several.join(", ")
            )),
        }
    }

    /// The other user's address, when it is one.
    pub fn address(&self) -> Option<String> {
        match self {
            Target::Address(a) => Some(a.clone()),
            _ => None,
        }
    }

    /// Why it is unresolved, when it is.
    pub fn unresolved(&self) -> Option<String> {
        match self {
            Target::Unresolved(why) => Some(why.clone()),
            _ => None,
        }
    }
}

/// Looks people up by name in a tenant's directory (the identity provider).
#[async_trait]
pub trait People: Send + Sync {
    /// The addresses of the enabled users of `tenant` whose display name is `name` (without
    /// case).
    async fn named(&self, tenant: &TenantId, name: &str) -> Result<Vec<String>>;
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

/// The addresses a ticket names besides its requester's.
pub fn other_addresses(ticket: &Ticket) -> Vec<String> {
    let requester = requester_address(ticket);
    addresses(&format!("{}\n{}", ticket.subject, ticket.body))
        .into_iter()
        .filter(|a| Some(a) != requester.as_ref())
        .collect()
}

/// The requester's address, lower case.
pub fn requester_address(ticket: &Ticket) -> Option<String> {
    ticket
        .contact
        .as_ref()
        .and_then(|c| c.email.as_deref())
        .map(str::to_lowercase)
}

/// Words that introduce the person a request is for: "for", "für", "para", "pour", "voor".
const FOR: &[&str] = &["for", "für", "fuer", "para", "pour", "voor"];

/// Words for a person by their role: "the CFO's MFA" is about someone the directory cannot be
/// asked for by name.
const ROLES: &[&str] = &[
    "ceo",
    "cfo",
    "coo",
    "cto",
    "boss",
    "manager",
    "director",
    "partner",
    "assistant",
    "colleague",
    "coworker",
    "secretary",
    "receptionist",
    "chef",
    "jefe",
    "jefa",
    "chefin",
    "baas",
    "directeur",
    "directrice",
    "directora",
    "kollege",
    "kollegin",
];

/// Whether a word is written like a name: a capital, then letters (and inner `-` or `'`).
fn name_like(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(char::is_uppercase)
        && word
            .chars()
            .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
        && word.chars().skip(1).any(char::is_lowercase)
}

/// People a ticket names as who it is for: two or three name-like words after "for" (or its
/// German, Spanish, French and Dutch words), or a name before a possessive `'s`. The
/// requester's own name is not one of them.
pub fn named_people(ticket: &Ticket) -> Vec<String> {
    let own = ticket
        .contact
        .as_ref()
        .map(|c| c.name.to_lowercase())
        .unwrap_or_default();
    let mut found: Vec<String> = Vec::new();
    for text in [&ticket.subject, &ticket.body] {
        let words: Vec<&str> = text.split_whitespace().collect();
        for (at, word) in words.iter().enumerate() {
            let mut name: Vec<&str> = Vec::new();
            if FOR.contains(&word.to_lowercase().as_str()) {
                for next in &words[at + 1..] {
                    let bare = next.trim_end_matches(|c: char| !c.is_alphanumeric());
                    let bare = bare.strip_suffix("'s").unwrap_or(bare);
                    if !name_like(bare) || name.len() == 3 {
                        break;
                    }
                    name.push(bare);
                    if bare.len() != next.len() {
                        break;
                    }
                }
                if name.len() < 2 {
                    continue;
                }
            } else if let Some(owner) = word.strip_suffix("'s").or(word.strip_suffix("’s")) {
                if ROLES.contains(&owner.to_lowercase().as_str()) {
                    let role = format!("the {owner}");
                    if !found.contains(&role) {
                        found.push(role);
                    }
                    continue;
                }
                if !name_like(owner) {
                    continue;
                }
                // "Sarah Jones's": take the word before too when it is name-like.
                if at > 0 && name_like(words[at - 1]) {
                    name.push(words[at - 1]);
                }
                name.push(owner);
            } else {
                continue;
            }
            let name = name.join(" ");
            if name.to_lowercase() != own && !found.contains(&name) {
                found.push(name);
            }
        }
    }
    found
}

/// The login format used when a tenant names none.
pub const DEFAULT_LOGIN_FORMAT: &str = "{first}.{last}@{domain}";

/// The login a new starter called `name` gets in `domain` under `format` (`{first}`, `{last}`,
/// `{f}` the first initial, `{domain}`; [`DEFAULT_LOGIN_FORMAT`] without one): lower case,
/// accents folded, letters and digits only ("Jürgen Müller-Lüdenscheidt" is
/// `jurgen.mullerludenscheidt@…`), or why there is none (a name of one word).
pub fn proposed_login(name: &str, format: Option<&str>, domain: &str) -> Result<String, String> {
    let words: Vec<&str> = name.split_whitespace().collect();
    let [first, .., last] = words.as_slice() else {
        return Err(format!(
            "the new starter {name:?} needs a first and a last name"
        ));
    };
    let part = |word: &str| -> String {
        crate::text::fold(word)
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect()
    };
    let (first, last) = (part(first), part(last));
    Ok(format
        .unwrap_or(DEFAULT_LOGIN_FORMAT)
        .replace("{first}", &first)
        .replace("{last}", &last)
        .replace("{f}", &first.chars().take(1).collect::<String>())
        .replace("{domain}", domain))
}

/// Who `ticket` is about, given the addresses it names besides the requester's (`others`,
/// after any used as an entity, such as a mailbox, were taken out), resolving names through
/// `people` when there is a directory to ask.
pub async fn resolve(
    ticket: &Ticket,
    others: &[String],
    people: Option<&dyn People>,
) -> Result<Target> {
    if !others.is_empty() {
        return Ok(Target::of_addresses(others));
    }
    let names = named_people(ticket);
    let Some(name) = names.first() else {
        return Ok(Target::Requester);
    };
    if names.len() > 1 {
        return Ok(Target::Unresolved(format!(
            "the ticket names {}, and stackhand acts for one user per ticket",
            names.join(" and ")
        )));
    }
    if let Some(role) = name.strip_prefix("the ") {
        return Ok(Target::Unresolved(format!(
            "the ticket is for its {role}, a role the directory cannot be asked for by name"
        )));
    }
    let Some(people) = people else {
        return Ok(Target::Unresolved(format!(
            "the ticket names {name:?}, and there is no directory to resolve the name"
        )));
    };
    let found = people.named(&ticket.tenant, name).await?;
    let requester = requester_address(ticket);
    Ok(match found.as_slice() {
        [one] if Some(&one.to_lowercase()) == requester.as_ref() => Target::Requester,
        [one] => Target::Address(one.to_lowercase()),
        [] => Target::Unresolved(format!(
            "the ticket names {name:?}, who is not a user of this tenant's directory"
        )),
        many => Target::Unresolved(format!(
            "the ticket names {name:?}, and {} directory users have that name",
            many.len()
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(subject: &str, body: &str) -> Ticket {
        let acme = TenantId::new("acme").unwrap();
        let mut t = crate::text_ticket(&acme, "1", subject, body, Some("daniel@acme.example"));
        if let Some(c) = t.contact.as_mut() {
            c.name = "Daniel Reyes".into();
        }
        t
    }

    struct Directory;

    #[async_trait]
    impl People for Directory {
        async fn named(&self, _tenant: &TenantId, name: &str) -> Result<Vec<String>> {
            Ok(match name.to_lowercase().as_str() {
                "sarah jones" => vec!["sarah@acme.example".into()],
                "daniel reyes" => vec!["daniel@acme.example".into()],
                "sam lee" => vec![
                    "sam.lee@acme.example".into(),
                    "sam.lee2@acme.example".into(),
                ],
                _ => Vec::new(),
            })
        }
    }

    async fn target(subject: &str, body: &str) -> Target {
        let t = ticket(subject, body);
        resolve(&t, &other_addresses(&t), Some(&Directory))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn names_resolve_through_the_directory_or_stay_unresolved() {
        assert_eq!(
            target("Password reset for Sarah Jones", "").await,
            Target::Address("sarah@acme.example".into())
        );
        assert_eq!(
            target("", "Kannst du das Passwort für Sarah Jones zurücksetzen?").await,
            Target::Address("sarah@acme.example".into())
        );
        assert_eq!(
            target("Sarah Jones's account is locked", "").await,
            Target::Address("sarah@acme.example".into())
        );
        assert!(
            matches!(target("unlock for Sam Lee", "").await, Target::Unresolved(why) if why.contains("2 directory users"))
        );
        assert!(
            matches!(target("reset for Mallory Evil", "").await, Target::Unresolved(why) if why.contains("not a user"))
        );
        assert_eq!(
            target("mi contraseña no funciona", "gracias").await,
            Target::Requester
        );
        assert_eq!(
            target("reset my password please", "Daniel Reyes").await,
            Target::Requester
        );
    }

    #[tokio::test]
    async fn a_person_named_by_role_is_unresolved() {
        let found = target("Reset the CFO's MFA please", "she is travelling").await;
        assert!(
            matches!(&found, Target::Unresolved(why) if why.contains("CFO")),
            "{found:?}"
        );
    }

    #[tokio::test]
    async fn without_a_directory_a_name_is_never_guessed() {
        let t = ticket("Unlock the account for Sarah Jones", "");
        let found = resolve(&t, &[], None).await.unwrap();
        assert!(matches!(found, Target::Unresolved(why) if why.contains("no directory")));
    }

    #[tokio::test]
    async fn several_addresses_or_names_are_not_one_target() {
        assert!(matches!(
            target("reset a@acme.example and b@acme.example", "").await,
            Target::Unresolved(_)
        ));
        assert_eq!(
            target("reset sarah@acme.example", "from daniel@acme.example").await,
            Target::Address("sarah@acme.example".into())
        );
    }

    #[test]
    fn a_new_starters_login_follows_the_tenants_format() {
        assert_eq!(
            proposed_login("Laura Fischer", None, "contosolaw.com").unwrap(),
            "laura.fischer@contosolaw.com"
        );
        assert_eq!(
            proposed_login(
                "Jürgen Müller-Lüdenscheidt",
                Some("{f}{last}@{domain}"),
                "x.example"
            )
            .unwrap(),
            "jmullerludenscheidt@x.example"
        );
        assert!(
            proposed_login("Cher", None, "x.example")
                .unwrap_err()
                .contains("last name")
        );
    }

    #[test]
    fn the_requesters_own_name_is_not_someone_else() {
        let t = ticket("Password reset for Daniel Reyes", "");
        assert!(named_people(&t).is_empty());
        assert!(named_people(&ticket("licence for Microsoft Teams please", "")).len() == 1);
    }
}
