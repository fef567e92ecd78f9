//! Scrubbing secrets out of text that might echo them (vendor error bodies, transport errors).

use std::fmt;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

/// What a scrubbed value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Authorization schemes whose credential follows the scheme word.
const SCHEMES: &[&str] = &["bearer", "basic", "ssws", "dpop"];

/// JSON keys and form fields whose value is a secret.
const SECRET_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "client_assertion",
    "password",
    "newpassword",
    "temppassword",
    "secret",
    "api_key",
    "apikey",
    "x-api-key",
    "token",
];

/// Scrubs known secret values and credential-shaped text.
///
/// It removes, case-insensitively:
/// - every secret registered with [`Redactor::with_secret`] (the client registers its Basic
///   password, static header values and static tokens);
/// - the credential after `Bearer`, `Basic`, `SSWS` and `DPoP`;
/// - the value of secret-named fields (`"access_token":"…"`, `client_secret=…`, `"password":"…"`).
///
/// ```
/// use stackhand_http::Redactor;
/// use secrecy::SecretString;
///
/// let r = Redactor::new().with_secret(SecretString::from("hunter22"));
/// let out = r.redact(r#"bad key hunter22; Authorization: Bearer eyJabc.def {"client_secret":"s3"}"#);
/// assert!(!out.contains("hunter22") && !out.contains("eyJabc") && !out.contains("s3"), "{out}");
/// ```
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<Vec<SecretString>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl Redactor {
    /// A redactor that only scrubs credential-shaped text.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also scrub this exact value. Values shorter than 4 characters are ignored, since
    /// scrubbing them would mangle ordinary text without protecting anything.
    pub fn with_secret(mut self, secret: SecretString) -> Self {
        if secret.expose_secret().len() >= 4 {
            Arc::make_mut(&mut self.secrets).push(secret);
        }
        self
    }

    /// The text with every known secret and credential-shaped value replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in self.secrets.iter() {
            out = replace_all(&out, secret.expose_secret());
        }
        redact(&out)
    }
}

/// Scrub credential-shaped text: the credential after an authorization scheme word and the values
/// of secret-named fields. Use [`Redactor`] to also scrub known secret values.
pub fn redact(text: &str) -> String {
    let after_schemes = scrub_after_schemes(text);
    scrub_secret_fields(&after_schemes)
}

fn replace_all(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        return text.to_owned();
    }
    text.replace(secret, REDACTED)
}

fn is_credential_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=' | '%')
}

/// Whether the word after a scheme looks like a credential rather than prose
/// ("Basic authentication is disabled"): tokens carry digits or symbols, or are long.
fn looks_like_credential(word: &str) -> bool {
    word.len() >= 6
        && (word.len() >= 20
            || word.chars().any(|c| {
                c.is_ascii_digit() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=' | '%')
            }))
}

/// `Bearer abc.def` -> `Bearer [redacted]`, for each scheme word at a word boundary.
fn scrub_after_schemes(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    'outer: while i < text.len() {
        for scheme in SCHEMES {
            let starts_word = i == 0 || !text[..i].chars().next_back().is_some_and(is_word_char);
            if starts_word && lower[i..].starts_with(scheme) {
                let after = i + scheme.len();
                let rest = &text[after..];
                let spaces = rest.len() - rest.trim_start_matches([' ', '\t']).len();
                if spaces == 0 {
                    continue;
                }
                let cred_start = after + spaces;
                let cred_len = text[cred_start..]
                    .char_indices()
                    .find(|(_, c)| !is_credential_char(*c))
                    .map_or(text.len() - cred_start, |(n, _)| n);
                if looks_like_credential(&text[cred_start..cred_start + cred_len]) {
                    out.push_str(&text[i..cred_start]);
                    out.push_str(REDACTED);
                    i = cred_start + cred_len;
                    continue 'outer;
                }
            }
        }
        let c = text[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `"password":"x"`, `password=x`, `"client_secret": "x"` -> value replaced.
fn scrub_secret_fields(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    'outer: while i < text.len() {
        let starts_word = i == 0 || !text[..i].chars().next_back().is_some_and(is_word_char);
        if starts_word {
            for key in SECRET_KEYS {
                if !lower[i..].starts_with(key) {
                    continue;
                }
                let key_end = i + key.len();
                if text[key_end..].chars().next().is_some_and(is_word_char) {
                    continue;
                }
                // Optional closing quote of a JSON key, then `:` or `=`, then optional spaces/quote.
                let mut j = key_end;
                if text[j..].starts_with('"') {
                    j += 1;
                }
                let rest = &text[j..];
                let trimmed = rest.trim_start();
                if !(trimmed.starts_with(':') || trimmed.starts_with('=')) {
                    continue;
                }
                j += rest.len() - trimmed.len() + 1;
                let rest = &text[j..];
                j += rest.len() - rest.trim_start().len();
                let quoted = text[j..].starts_with('"');
                if quoted {
                    j += 1;
                }
                let value_len = if quoted {
                    value_len_quoted(&text[j..])
                } else {
                    text[j..]
                        .char_indices()
                        .find(|(_, c)| matches!(c, '&' | ',' | '}' | ' ' | '\n' | ';'))
                        .map_or(text.len() - j, |(n, _)| n)
                };
                // `"password": null` or `"password": {` is not a value to scrub.
                let value = &text[j..j + value_len];
                if value_len == 0 || (!quoted && matches!(value, "null" | "true" | "false")) {
                    continue;
                }
                out.push_str(&text[i..j]);
                out.push_str(REDACTED);
                i = j + value_len;
                continue 'outer;
            }
        }
        let c = text[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Length of a JSON string body up to (not including) its closing quote, honouring escapes.
fn value_len_quoted(s: &str) -> usize {
    let mut escaped = false;
    for (n, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return n,
            _ => {}
        }
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_schemes_fields_and_known_secrets() {
        let text = "Authorization: Bearer abc.def-ghi; Basic authentication failed; SSWS 00abcdEFGH; \
                    {\"access_token\":\"qq\\\"zz\",\"password\": \"pw1\"} client_secret=cs&x=1 \
                    password: null";
        let out = Redactor::new()
            .with_secret(SecretString::from("known-secret"))
            .redact(&format!("{text} known-secret"));
        for leaked in [
            "abc.def",
            "00abcd",
            "qq",
            "zz",
            "pw1",
            "cs&",
            "known-secret",
        ] {
            assert!(!out.contains(leaked), "{leaked} leaked in {out}");
        }
        assert!(out.contains("Basic authentication failed"), "{out}");
        assert!(out.contains("password: null"), "{out}");
        assert!(out.contains("x=1"), "{out}");
    }

    #[test]
    fn handles_non_ascii_text() {
        let text = "Ünïcödé — Bearer äbc, password=pässwörd1 and SSWS 00ÄbcdefGH";
        let out = redact(text);
        assert!(
            !out.contains("pässwörd1") && !out.contains("00Äbcdef"),
            "{out}"
        );
        assert!(out.starts_with("Ünïcödé — Bearer äbc"), "{out}");
    }

    #[test]
    fn leaves_plain_text_alone() {
        let text = "Resource 'jane@contoso.com' does not exist — tokens are fine here";
        assert_eq!(redact(text), text);
    }
}
