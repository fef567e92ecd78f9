//! Generated passwords: a CSPRNG, 20 characters, every character class present.

use rand::Rng as _;
use rand::seq::SliceRandom as _;
use secrecy::SecretString;

const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const DIGITS: &[u8] = b"23456789";
const SYMBOLS: &[u8] = b"!#%*+-=?@_";
/// Length of a generated password (Entra allows up to 256).
pub const PASSWORD_LENGTH: usize = 20;

/// A strong random password: at least one upper, lower, digit and symbol, no look-alike
/// characters (`0O1lI`), drawn from rand's thread-local CSPRNG (ChaCha seeded by the OS).
pub fn generate_password() -> SecretString {
    let mut rng = rand::rng();
    let all: Vec<u8> = [UPPER, LOWER, DIGITS, SYMBOLS].concat();
    let mut chars: Vec<u8> = [UPPER, LOWER, DIGITS, SYMBOLS]
        .iter()
        .map(|class| class[rng.random_range(0..class.len())])
        .collect();
    while chars.len() < PASSWORD_LENGTH {
        chars.push(all[rng.random_range(0..all.len())]);
    }
    chars.shuffle(&mut rng);
    SecretString::from(String::from_utf8(chars).expect("ASCII"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    #[test]
    fn passwords_meet_complexity_and_differ() {
        let first = generate_password();
        let password = first.expose_secret();
        assert_eq!(password.len(), PASSWORD_LENGTH);
        assert!(password.bytes().any(|b| UPPER.contains(&b)));
        assert!(password.bytes().any(|b| LOWER.contains(&b)));
        assert!(password.bytes().any(|b| DIGITS.contains(&b)));
        assert!(password.bytes().any(|b| SYMBOLS.contains(&b)));
        assert_ne!(password, generate_password().expose_secret());
    }
}
