//! Generated passwords for resets and new accounts: one generator for every connector.

use rand::Rng as _;
use rand::seq::{IndexedRandom as _, SliceRandom as _};
use secrecy::SecretString;

const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const DIGITS: &[u8] = b"23456789";
const SYMBOLS: &[u8] = b"!#%*+-=?@_";

/// Length of a generated password: long enough for every vendor's complexity policy, short
/// enough to read out over the phone.
pub const PASSWORD_LENGTH: usize = 20;

/// A strong random password from the thread-local CSPRNG: upper- and lower-case letters, digits
/// and symbols, all present, and no look-alike characters (`0O1lI`).
///
/// ```
/// use secrecy::ExposeSecret;
/// let p = stackhand_core::password::generate_password();
/// assert_eq!(p.expose_secret().len(), stackhand_core::password::PASSWORD_LENGTH);
/// ```
pub fn generate_password() -> SecretString {
    generate_password_for("")
}

/// [`generate_password`], also avoiding every part (of three or more characters) of the
/// login's local name, which Entra ID and Okta password policies refuse.
pub fn generate_password_for(login: &str) -> SecretString {
    let mut rng = rand::rng();
    let local = login.split('@').next().unwrap_or(login).to_lowercase();
    let parts: Vec<&str> = local
        .split(['.', '_', '-', '+'])
        .filter(|p| p.len() >= 3)
        .collect();
    let all: Vec<u8> = [UPPER, LOWER, DIGITS, SYMBOLS].concat();
    loop {
        let mut chars: Vec<u8> = [UPPER, LOWER, DIGITS, SYMBOLS]
            .iter()
            .filter_map(|class| class.choose(&mut rng).copied())
            .collect();
        while chars.len() < PASSWORD_LENGTH {
            chars.push(all[rng.random_range(0..all.len())]);
        }
        chars.shuffle(&mut rng);
        let candidate = String::from_utf8(chars).expect("ASCII");
        let lowered = candidate.to_lowercase();
        if !parts.iter().any(|p| lowered.contains(p)) {
            return SecretString::from(candidate);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    #[test]
    fn passwords_are_strong_and_differ() {
        for _ in 0..200 {
            let p = generate_password();
            let p = p.expose_secret();
            assert_eq!(p.len(), PASSWORD_LENGTH);
            assert!(p.bytes().any(|b| UPPER.contains(&b)));
            assert!(p.bytes().any(|b| LOWER.contains(&b)));
            assert!(p.bytes().any(|b| DIGITS.contains(&b)));
            assert!(p.bytes().any(|b| SYMBOLS.contains(&b)));
            assert!(!p.contains(['0', 'O', '1', 'l', 'I']));
        }
        assert_ne!(
            generate_password().expose_secret(),
            generate_password().expose_secret()
        );
    }

    #[test]
    fn login_parts_are_avoided() {
        // A short alphabet makes a clash likely, so the check is really exercised.
        for _ in 0..500 {
            let p = generate_password_for("ab.xyz@example.com");
            assert!(!p.expose_secret().to_lowercase().contains("xyz"));
        }
    }
}
