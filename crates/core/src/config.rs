//! Reading a connector's configuration section, with errors that name the key and suggest the
//! nearest valid one.
//!
//! ```
//! use serde::Deserialize;
//!
//! #[derive(Debug, Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Config {
//!     base_url: String,
//!     #[serde(default)]
//!     page_size: Option<u32>,
//! }
//!
//! let err = stackhand_core::config::section::<Config>(
//!     "acme",
//!     serde_json::json!({"base_url": "https://x", "pagesize": 50}),
//! )
//! .unwrap_err();
//! assert_eq!(err.context_value("key"), Some("pagesize"));
//! assert!(err.to_string().contains("did you mean \"page_size\""), "{err}");
//! ```

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::suggest;

/// Deserialise `vendor`'s configuration section. On failure the error is
/// [`Invalid`](crate::ErrorKind::Invalid), its `key` context is the dotted path of the
/// offending key (`auth.client_secret`), and an unknown key comes with the nearest valid one.
pub fn section<T: DeserializeOwned>(vendor: &str, value: serde_json::Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let (key, detail) = match unknown_field(&inner) {
            Some((field, expected)) => {
                // serde's path stops at an internally tagged enum (`auth`), without the field.
                let key = if path == "." || path.is_empty() {
                    field.to_string()
                } else if path == field || path.ends_with(&format!(".{field}")) {
                    path.clone()
                } else {
                    format!("{path}.{field}")
                };
                let hint = suggest::hint(suggest::did_you_mean(field, expected.iter().copied()));
                let valid = suggest::quoted_list(&expected);
                (
                    key,
                    format!("unknown key {field:?}{hint}; valid keys here: {valid}"),
                )
            }
            None => (path.clone(), inner),
        };
        let shown = if key == "." || key.is_empty() {
            String::new()
        } else {
            format!(" at {key}")
        };
        Error::invalid(format!("{vendor} configuration{shown}: {detail}"))
            .with_context("connector", vendor)
            .with_context("key", key)
    })
}

/// The field and the expected ones out of serde's "unknown field `x`, expected one of `a`, `b`"
/// (or "expected `a`", or "there are no fields").
fn unknown_field(message: &str) -> Option<(&str, Vec<&str>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|name| !name.is_empty())
        .collect();
    Some((field, expected))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Auth {
        client_id: String,
        client_secret: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Config {
        base_url: String,
        auth: Auth,
    }

    #[test]
    fn nested_unknown_keys_are_named_with_their_path() {
        let err = section::<Config>(
            "m365",
            serde_json::json!({"base_url": "x", "auth": {"client_id": "a", "client_scret": "b"}}),
        )
        .unwrap_err();
        assert_eq!(err.context_value("key"), Some("auth.client_scret"));
        let text = err.to_string();
        assert!(text.contains("did you mean \"client_secret\""), "{text}");
        assert!(
            text.contains("m365 configuration at auth.client_scret"),
            "{text}"
        );
    }

    #[derive(Debug, Deserialize)]
    #[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
    #[allow(dead_code)]
    enum Tagged {
        Secret { client_id: String },
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct WithTagged {
        auth: Tagged,
    }

    #[test]
    fn unknown_keys_inside_a_tagged_enum_are_named_in_full() {
        let err = section::<WithTagged>(
            "okta",
            serde_json::json!({"auth": {"method": "secret", "client_idd": "x"}}),
        )
        .unwrap_err();
        assert_eq!(err.context_value("key"), Some("auth.client_idd"), "{err}");
        assert!(
            err.to_string().contains("did you mean \"client_id\""),
            "{err}"
        );
    }

    #[test]
    fn wrong_types_and_missing_keys_name_the_key() {
        let err = section::<Config>("m365", serde_json::json!({"base_url": 3})).unwrap_err();
        assert_eq!(err.context_value("key"), Some("base_url"));
        let err = section::<Config>("m365", serde_json::json!({"base_url": "x"})).unwrap_err();
        assert!(err.to_string().contains("missing field `auth`"), "{err}");
    }
}
