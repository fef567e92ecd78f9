//! The `[tenants.<id>.connectors.hudu]` section of `stackhand.toml`.
//!
//! ```toml
//! [tenants.acme.connectors.hudu]
//! base_url = "https://docs.example-msp.com"  # the MSP's Hudu instance; paths are {base_url}/api/v1/...
//! api_key = { file = "hudu.key" }             # or { env = "STACKHAND_SECRET_ACME__HUDU" }
//! company = "Acme Corp"                       # the tenant's Hudu company: its exact name or its id
//! asset_layout = "People"                     # optional: the layout of person assets (name or id)
//!
//! [tenants.acme.connectors.hudu.http]         # optional: the shared HTTP table
//! timeout_secs = 10
//! page_size = 100
//! ```

use schemars::JsonSchema;
use serde::Deserialize;
use stackhand_core::{Error, Result, SecretRef};
use stackhand_http::HttpSettings;
use url::Url;

use crate::VENDOR;

/// The layout person assets use when `asset_layout` is not set (Hudu's "People" layout).
pub const DEFAULT_ASSET_LAYOUT: &str = "People";

/// The connector's configuration.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HuduConfig {
    /// The MSP's Hudu instance (`https://docs.example-msp.com`), or a test server's. Requests go
    /// to `{base_url}/api/v1/...`; Hudu has no shared global host.
    pub base_url: Url,
    /// The API key, sent as `x-api-key` on every request. Give it password access (for
    /// `asset_passwords`) and no DELETE rights.
    pub api_key: SecretRef,
    /// The tenant's Hudu company: its exact name (looked up with `GET /companies?name=`) or its
    /// numeric id. Every read and write stays inside this company.
    pub company: String,
    /// The asset layout of person records, by exact name or numeric id (default `People`).
    #[serde(default = "default_asset_layout")]
    pub asset_layout: String,
    /// HTTP behaviour (timeout, retries, rate, requests in flight, page size, user agent).
    /// Hudu's own limit of 300 requests a minute applies unless `requests_per_second` is set.
    #[serde(default)]
    pub http: HttpSettings,
}

fn default_asset_layout() -> String {
    DEFAULT_ASSET_LAYOUT.to_owned()
}

impl HuduConfig {
    /// A configuration with the default layout and HTTP behaviour. In code, give the key as
    /// `SecretRef::value(SecretString::from(...))`.
    pub fn new(base_url: Url, api_key: SecretRef, company: impl Into<String>) -> Self {
        Self {
            base_url,
            api_key,
            company: company.into(),
            asset_layout: default_asset_layout(),
            http: HttpSettings::default(),
        }
    }

    /// Check the configuration; an error names the key at fault (its `key` context).
    pub fn validate(&self) -> Result<()> {
        stackhand_http::check_base_url(VENDOR, "base_url", &self.base_url)?;
        for (key, value) in [
            ("company", &self.company),
            ("asset_layout", &self.asset_layout),
        ] {
            if value.trim().is_empty() {
                return Err(Error::invalid(format!("{VENDOR}: {key} cannot be empty"))
                    .with_context("key", key));
            }
        }
        self.http.validate(VENDOR)?;
        self.http
            .page_size(
                VENDOR,
                crate::client::DEFAULT_PAGE_SIZE,
                crate::client::MAX_PAGE_SIZE,
            )
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn config(value: serde_json::Value) -> Result<HuduConfig> {
        let config: HuduConfig = stackhand_core::config::section(VENDOR, value)?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn reads_the_section_with_defaults() {
        let parsed = config(serde_json::json!({
            "base_url": "https://docs.example-msp.com",
            "api_key": {"env": "STACKHAND_SECRET_ACME__HUDU"},
            "company": "Acme Corp",
        }))
        .unwrap();
        assert_eq!(parsed.base_url.as_str(), "https://docs.example-msp.com/");
        assert_eq!(parsed.asset_layout, "People");
        assert_eq!(parsed.http, HttpSettings::default());
        let built = HuduConfig::new(
            "http://127.0.0.1:8080".parse().unwrap(),
            SecretRef::value(SecretString::from("k-123")),
            "5",
        );
        built.validate().unwrap();
        assert!(!format!("{built:?}").contains("k-123"));
    }

    #[test]
    fn names_the_key_at_fault() {
        let base = |extra: serde_json::Value| {
            let mut value = serde_json::json!({
                "base_url": "https://docs.example-msp.com",
                "api_key": {"file": "k"},
                "company": "Acme Corp",
            });
            for (k, v) in extra.as_object().unwrap() {
                value[k] = v.clone();
            }
            value
        };
        let cases = [
            (
                base(serde_json::json!({"base_url": "http://docs.example-msp.com"})),
                "base_url",
            ),
            (base(serde_json::json!({"company": " "})), "company"),
            (
                base(serde_json::json!({"asset_layout": ""})),
                "asset_layout",
            ),
            (
                base(serde_json::json!({"http": {"page_size": 5000}})),
                "http.page_size",
            ),
            (
                base(serde_json::json!({"http": {"timeout_secs": 0}})),
                "http.timeout_secs",
            ),
            (base(serde_json::json!({"api_key": "inline"})), "api_key"),
            (base(serde_json::json!({"compnay": "x"})), "compnay"),
        ];
        for (value, key) in cases {
            let err = config(value.clone()).expect_err("invalid");
            assert_eq!(err.context_value("key"), Some(key), "{value}: {err}");
            assert!(!err.to_string().contains("inline"), "{err}");
        }
    }
}
