//! Text to features: folded words, word pairs and character n-grams, hashed.
//!
//! Helpdesk text is messy, so the features forgive it: case and accents are folded
//! ("Zurücksetzen" and "zurucksetzen" are one word), digits become `0` (phone numbers and
//! ticket numbers say nothing about intent), and character n-grams within words (3 to 5
//! characters) catch typos, inflections and compounds ("passwort" inside
//! "Passwortzurücksetzung"). The subject's words count again as subject words, because a
//! subject is short and usually to the point when it is not misleading.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Feature buckets: `2^20`, so collisions are rare at a few hundred thousand distinct n-grams.
pub const DIMENSIONS: u32 = 1 << 20;

/// How much of a body is read: rambling mails say what they want early, and the tail is
/// signatures, disclaimers and quoted replies.
pub const BODY_CHARS: usize = 4_000;

/// Case-folded, accent-free text with digits as `0`.
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect::<String>()
        .replace('ß', "ss")
}

/// The words of folded text: runs of letters and digits.
pub fn words(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// FNV-1a, 64-bit: a hash that never changes between Rust releases or platforms, because
/// trained models store bucket numbers.
fn fnv1a(kind: u8, parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in std::iter::once(&kind).chain(parts.iter().flat_map(|p| p.iter())) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn bucket(kind: u8, parts: &[&[u8]]) -> u32 {
    (fnv1a(kind, parts) % u64::from(DIMENSIONS)) as u32
}

/// A sparse vector: bucket indices, ascending and unique, with their values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sparse {
    /// Indices, ascending.
    pub index: Vec<u32>,
    /// Values, one per index.
    pub value: Vec<f32>,
}

impl Sparse {
    /// From `(index, value)` pairs in any order, summing repeats.
    pub fn from_pairs(mut pairs: Vec<(u32, f32)>) -> Self {
        pairs.sort_unstable_by_key(|(i, _)| *i);
        let mut out = Sparse::default();
        for (i, v) in pairs {
            if out.index.last() == Some(&i) {
                *out.value.last_mut().expect("a value per index") += v;
            } else {
                out.index.push(i);
                out.value.push(v);
            }
        }
        out
    }

    /// Scaled to unit length (a zero vector stays zero).
    pub fn normalised(mut self) -> Self {
        let norm = self.value.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            self.value.iter_mut().for_each(|v| *v /= norm);
        }
        self
    }

    /// `(index, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (u32, f32)> + '_ {
        self.index.iter().copied().zip(self.value.iter().copied())
    }
}

const WORD: u8 = 1;
const PAIR: u8 = 2;
const CHARS: u8 = 3;
const SUBJECT: u8 = 4;

/// The feature counts of a ticket's subject and body (the first [`BODY_CHARS`] of it).
pub fn counts(subject: &str, body: &str) -> Sparse {
    let body_end = body
        .char_indices()
        .nth(BODY_CHARS)
        .map_or(body.len(), |(at, _)| at);
    let subject = fold(subject);
    let text = format!("{subject}\n{}", fold(&body[..body_end]));
    let mut pairs: Vec<(u32, f32)> = Vec::with_capacity(text.len() * 4);
    for word in words(&subject) {
        pairs.push((bucket(SUBJECT, &[word.as_bytes()]), 1.0));
    }
    let mut previous: Option<&str> = None;
    let mut chars: Vec<u8> = Vec::with_capacity(64);
    let mut starts: Vec<usize> = Vec::with_capacity(32);
    for word in words(&text) {
        pairs.push((bucket(WORD, &[word.as_bytes()]), 1.0));
        if let Some(before) = previous {
            pairs.push((
                bucket(PAIR, &[before.as_bytes(), b" ", word.as_bytes()]),
                1.0,
            ));
        }
        previous = Some(word);
        // Character n-grams of " word ", so word starts and ends are features of their own.
        chars.clear();
        starts.clear();
        chars.push(b' ');
        chars.extend_from_slice(word.as_bytes());
        chars.push(b' ');
        starts.extend(
            std::str::from_utf8(&chars)
                .expect("spaces around a str are UTF-8")
                .char_indices()
                .map(|(at, _)| at),
        );
        starts.push(chars.len());
        for n in 3..=5 {
            for window in starts.windows(n + 1) {
                pairs.push((bucket(CHARS, &[&chars[window[0]..window[n]]]), 1.0));
            }
        }
    }
    Sparse::from_pairs(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_forgives_case_accents_and_digits() {
        assert_eq!(
            fold("Passwort ZURÜCKSETZEN 0176-123"),
            "passwort zurucksetzen 0000-000"
        );
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("réinitialiser"), "reinitialiser");
    }

    #[test]
    fn the_same_words_give_the_same_features_whatever_the_accents() {
        assert_eq!(
            counts("Passwort zurücksetzen", ""),
            counts("PASSWORT ZURUCKSETZEN", "")
        );
        assert_ne!(counts("password reset", ""), counts("", "password reset"));
    }

    #[test]
    fn a_long_body_is_read_up_to_its_limit_only() {
        let long = format!("{}{}", "a ".repeat(BODY_CHARS), "unlock");
        assert_eq!(counts("", &long), counts("", &"a ".repeat(BODY_CHARS / 2)));
    }

    #[test]
    fn sparse_vectors_sum_repeats_and_normalise() {
        let v = Sparse::from_pairs(vec![(3, 1.0), (1, 2.0), (3, 1.0)]).normalised();
        assert_eq!(v.index, vec![1, 3]);
        assert!((v.value[0] - 2.0 / 8f32.sqrt()).abs() < 1e-6);
    }
}
