//! The intent vocabulary: what a ticket can ask for.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a ticket asks for. The first eight are the routine requests stackhand resolves;
/// [`Intent::Other`] is everything else, which goes to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// A forgotten or expired password: a new one, for the requester or someone else.
    PasswordReset,
    /// An account locked after failed sign-ins, to be unlocked (the password stays).
    AccountUnlock,
    /// A new or lost phone, a broken authenticator: the MFA methods re-registered.
    MfaReset,
    /// Access to a shared mailbox or another person's mailbox or calendar.
    MailboxAccess,
    /// Membership of a security or distribution group, a team, a site.
    GroupAccess,
    /// A software licence assigned, removed or changed.
    LicenseChange,
    /// A new starter's accounts set up.
    Onboarding,
    /// A leaver's accounts closed down.
    Offboarding,
    /// Not routine: hardware, printers, networks, line-of-business apps, outages, phishing
    /// reports and anything else.
    Other,
}

impl Intent {
    /// Every intent, in label order (a model's class index is its position here).
    pub const ALL: [Intent; 9] = [
        Intent::PasswordReset,
        Intent::AccountUnlock,
        Intent::MfaReset,
        Intent::MailboxAccess,
        Intent::GroupAccess,
        Intent::LicenseChange,
        Intent::Onboarding,
        Intent::Offboarding,
        Intent::Other,
    ];

    /// Its label, as in the corpus and the workflows (`password_reset`).
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::PasswordReset => "password_reset",
            Intent::AccountUnlock => "account_unlock",
            Intent::MfaReset => "mfa_reset",
            Intent::MailboxAccess => "mailbox_access",
            Intent::GroupAccess => "group_access",
            Intent::LicenseChange => "license_change",
            Intent::Onboarding => "onboarding",
            Intent::Offboarding => "offboarding",
            Intent::Other => "other",
        }
    }

    /// Whether stackhand may resolve it (everything but [`Intent::Other`]).
    pub fn is_routine(self) -> bool {
        self != Intent::Other
    }

    /// Its class index in a model.
    pub fn index(self) -> usize {
        Intent::ALL.iter().position(|i| *i == self).unwrap_or(8)
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An intent label that is not in the vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown intent {0:?}; the intents are password_reset, account_unlock, mfa_reset, mailbox_access, group_access, license_change, onboarding, offboarding and other"
)]
pub struct UnknownIntent(pub String);

impl FromStr for Intent {
    type Err = UnknownIntent;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Intent::ALL
            .into_iter()
            .find(|i| i.as_str() == s)
            .ok_or_else(|| UnknownIntent(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_index_matches_position() {
        for (at, intent) in Intent::ALL.into_iter().enumerate() {
            assert_eq!(intent.as_str().parse::<Intent>().unwrap(), intent);
            assert_eq!(intent.index(), at);
        }
        let err = "licence_request".parse::<Intent>().unwrap_err();
        assert!(err.to_string().contains("license_change"));
    }
}
