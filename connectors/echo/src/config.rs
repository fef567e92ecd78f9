//! The `[tenants.<id>.connectors.echo]` section of `stackhand.toml`.
//!
//! ```toml
//! [tenants.acme.connectors.echo]
//! base_url = "https://echo.example"          # the API root; paths are {base_url}/v1/...
//! api_key = { file = "echo.key" }             # or { env = "STACKHAND_SECRET_ACME__ECHO" }
//!
//! [tenants.acme.connectors.echo.http]         # optional: the shared HTTP table
//! timeout_secs = 10
//! ```

use schemars::JsonSchema;
use serde::Deserialize;
use stackhand_core::{Error, Result, SecretRef};
use stackhand_http::HttpSettings;
use url::Url;

use crate::VENDOR;

/// The connector's configuration.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EchoConfig {
    /// The API root (`https://echo.example`), or a test server's. Requests go to
    /// `{base_url}/v1/...`.
    pub base_url: Url,
    /// The API key, sent as `X-Echo-Key` on every request.
    pub api_key: SecretRef,
    /// HTTP behaviour (timeout, retries, rate, requests in flight, user agent). Echo does not
    /// page by size, so `page_size` is refused.
    #[serde(default)]
    pub http: HttpSettings,
}

impl EchoConfig {
    /// A configuration with the default HTTP behaviour. In code, give the key as
    /// `SecretRef::value(SecretString::from(...))`.
    pub fn new(base_url: Url, api_key: SecretRef) -> Self {
        Self {
            base_url,
            api_key,
            http: HttpSettings::default(),
        }
    }

    /// Check the configuration; an error names the key at fault (its `key` context).
    pub fn validate(&self) -> Result<()> {
        stackhand_http::check_base_url(VENDOR, "base_url", &self.base_url)?;
        if self.http.page_size.is_some() {
            return Err(Error::invalid(format!(
                "{VENDOR}: http.page_size cannot be set: Echo has no page size parameter"
            ))
            .with_context("key", "http.page_size"));
        }
        self.http.validate(VENDOR)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn config(value: serde_json::Value) -> Result<EchoConfig> {
        let config: EchoConfig = stackhand_core::config::section(VENDOR, value)?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn reads_the_section_with_defaults() {
        let parsed = config(serde_json::json!({
            "base_url": "https://echo.example",
            "api_key": {"env": "STACKHAND_SECRET_ACME__ECHO"},
        }))
        .unwrap();
        assert_eq!(parsed.base_url.as_str(), "https://echo.example/");
        assert_eq!(parsed.http, HttpSettings::default());
        let built = EchoConfig::new(
            "http://127.0.0.1:8080".parse().unwrap(),
            SecretRef::value(SecretString::from("k-123")),
        );
        built.validate().unwrap();
        assert!(!format!("{built:?}").contains("k-123"));
    }

    #[test]
    fn names_the_key_at_fault() {
        let cases = [
            (
                serde_json::json!({"base_url": "http://echo.example", "api_key": {"file": "k"}}),
                "base_url",
            ),
            (
                serde_json::json!({"base_url": "https://echo.example?x=1", "api_key": {"file": "k"}}),
                "base_url",
            ),
            (
                serde_json::json!({"base_url": "https://echo.example", "api_key": {"file": "k"},
                                   "http": {"page_size": 10}}),
                "http.page_size",
            ),
            (
                serde_json::json!({"base_url": "https://echo.example", "api_key": {"file": "k"},
                                   "http": {"timeout_secs": 0}}),
                "http.timeout_secs",
            ),
            (
                serde_json::json!({"base_url": "https://echo.example", "api_key": "inline"}),
                "api_key",
            ),
            (
                serde_json::json!({"base_url": "https://echo.example", "api_kye": {"file": "k"}}),
                "api_kye",
            ),
        ];
        for (value, key) in cases {
            let err = config(value.clone()).expect_err("invalid");
            assert_eq!(err.context_value("key"), Some(key), "{value}: {err}");
            assert!(!err.to_string().contains("inline"), "{err}");
        }
    }
}
