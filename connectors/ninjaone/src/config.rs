//! The `[tenants.<id>.connectors.ninjaone]` section of `stackhand.toml`.
//!
//! ```toml
//! [tenants.acme.connectors.ninjaone]
//! base_url = "https://eu.ninjarmm.com"       # the instance (region); default https://app.ninjarmm.com
//! # token_url = "https://eu.ninjarmm.com/ws/oauth/token"   # default: {base_url}/ws/oauth/token
//! organization_id = 12                        # the NinjaOne organisation this tenant is
//! # run_as = "system"                         # credential role scripts run as (default system)
//!
//! [tenants.acme.connectors.ninjaone.auth]
//! client_id = "a1b2c3-client-credentials-app"
//! client_secret = { file = "ninjaone.secret" }  # or { env = "STACKHAND_SECRET_ACME__NINJAONE" }
//!
//! [tenants.acme.connectors.ninjaone.http]     # optional: the shared HTTP table
//! timeout_secs = 20
//! ```
//!
//! The OAuth 2.0 scopes are not configured: the connector asks for exactly what it uses
//! ([`SCOPES`]).

use schemars::JsonSchema;
use serde::Deserialize;
use stackhand_core::{Error, Result, SecretRef};
use stackhand_http::HttpSettings;
use url::Url;

use crate::VENDOR;

/// The regional instances NinjaOne documents: `https://{instance}.ninjarmm.com`.
pub const INSTANCES: &[&str] = &["app", "us2", "eu", "ca", "oc", "fed"];

/// The default instance, `app` (US).
pub const DEFAULT_BASE_URL: &str = "https://app.ninjarmm.com";

/// The token endpoint's path on the instance.
pub const TOKEN_PATH: &str = "ws/oauth/token";

/// The scopes the connector uses: `monitoring` for every read (devices, tags, activities) and
/// `management` for the writes (asset tags, script runs). `control` (remote sessions) is never
/// used, so never asked for.
pub const SCOPES: &[&str] = &["monitoring", "management"];

/// The credential role scripts run as when `run_as` is not set.
pub const DEFAULT_RUN_AS: &str = "system";

fn default_base_url() -> Url {
    Url::parse(DEFAULT_BASE_URL).expect("the default instance URL is valid")
}

fn default_run_as() -> String {
    DEFAULT_RUN_AS.to_owned()
}

/// The API app's client credentials (Administration → Apps → API, a *client credentials*
/// app with the `monitoring` and `management` scopes).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NinjaOneAuth {
    /// The app's client id.
    pub client_id: String,
    /// Where the app's client secret is kept.
    pub client_secret: SecretRef,
}

/// The connector's configuration.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NinjaOneConfig {
    /// The instance, `https://{instance}.ninjarmm.com` with instance one of `app` (US, the
    /// default), `us2`, `eu`, `ca`, `oc`, `fed`; or a test server's. Requests go to
    /// `{base_url}/v2/...`.
    #[serde(default = "default_base_url")]
    #[schemars(with = "String", extend("format" = "uri"))]
    pub base_url: Url,
    /// The token endpoint; defaults to `{base_url}/ws/oauth/token`.
    #[serde(default)]
    #[schemars(with = "Option<String>", extend("format" = "uri"))]
    pub token_url: Option<Url>,
    /// OAuth 2.0 client credentials.
    pub auth: NinjaOneAuth,
    /// The NinjaOne organisation (customer) id this tenant is: devices of other organisations
    /// are neither found nor touched.
    pub organization_id: u32,
    /// The credential role (`system`, `loggedonuser`, ...) or credential id scripts run as.
    #[serde(default = "default_run_as")]
    pub run_as: String,
    /// HTTP behaviour (timeout, retries, rate, requests in flight, user agent). The device
    /// search NinjaOne offers is not paged, so `page_size` is refused.
    #[serde(default)]
    pub http: HttpSettings,
}

impl NinjaOneConfig {
    /// A configuration on the default instance with the default HTTP behaviour. In code, give
    /// the secret as `SecretRef::value(SecretString::from(...))`.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: SecretRef,
        organization_id: u32,
    ) -> Self {
        Self {
            base_url: default_base_url(),
            token_url: None,
            auth: NinjaOneAuth {
                client_id: client_id.into(),
                client_secret,
            },
            organization_id,
            run_as: default_run_as(),
            http: HttpSettings::default(),
        }
    }

    /// Use another instance (or a test server).
    pub fn with_base_url(mut self, base_url: Url) -> Self {
        self.base_url = base_url;
        self
    }

    /// Override the token endpoint.
    pub fn with_token_url(mut self, token_url: Url) -> Self {
        self.token_url = Some(token_url);
        self
    }

    /// The token endpoint: `token_url`, else `{base_url}/ws/oauth/token`.
    pub fn token_endpoint(&self) -> Result<Url> {
        if let Some(url) = &self.token_url {
            return Ok(url.clone());
        }
        let mut base = self.base_url.clone();
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        base.join(TOKEN_PATH).map_err(|e| {
            invalid(
                "base_url",
                format!("gives no token endpoint ({TOKEN_PATH}): {e}"),
            )
        })
    }

    /// Check the configuration; an error names the key at fault (its `key` context).
    pub fn validate(&self) -> Result<()> {
        stackhand_http::check_base_url(VENDOR, "base_url", &self.base_url)?;
        if let Some(url) = &self.token_url {
            stackhand_http::check_base_url(VENDOR, "token_url", url)?;
        }
        if self.auth.client_id.trim().is_empty() {
            return Err(invalid("auth.client_id", "is empty"));
        }
        if self.organization_id == 0 {
            return Err(invalid(
                "organization_id",
                "must be a NinjaOne organization id (1 or more)",
            ));
        }
        if self.run_as.trim().is_empty() {
            return Err(invalid("run_as", "is empty"));
        }
        if self.http.page_size.is_some() {
            return Err(invalid(
                "http.page_size",
                "cannot be set: the NinjaOne device search the connector uses is not paged",
            ));
        }
        self.http.validate(VENDOR)
    }
}

fn invalid(key: &'static str, why: impl std::fmt::Display) -> Error {
    Error::invalid(format!("{VENDOR}: {key} {why}")).with_context("key", key)
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn config(value: serde_json::Value) -> Result<NinjaOneConfig> {
        let config: NinjaOneConfig = stackhand_core::config::section(VENDOR, value)?;
        config.validate()?;
        Ok(config)
    }

    fn auth() -> serde_json::Value {
        serde_json::json!({"client_id": "app-1", "client_secret": {"file": "ninjaone.secret"}})
    }

    #[test]
    fn reads_the_section_with_defaults() {
        let parsed = config(serde_json::json!({"auth": auth(), "organization_id": 12})).unwrap();
        assert_eq!(parsed.base_url.as_str(), "https://app.ninjarmm.com/");
        assert_eq!(
            parsed.token_endpoint().unwrap().as_str(),
            "https://app.ninjarmm.com/ws/oauth/token"
        );
        assert_eq!(parsed.run_as, "system");
        assert_eq!(parsed.http, HttpSettings::default());
        let eu = config(serde_json::json!({"base_url": "https://eu.ninjarmm.com",
                                           "auth": auth(), "organization_id": 12}))
        .unwrap();
        assert_eq!(
            eu.token_endpoint().unwrap().as_str(),
            "https://eu.ninjarmm.com/ws/oauth/token"
        );
        let built = NinjaOneConfig::new(
            "app-1",
            SecretRef::value(SecretString::from("s3cr3t-value")),
            12,
        )
        .with_base_url("http://127.0.0.1:8080".parse().unwrap());
        built.validate().unwrap();
        assert!(!format!("{built:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn names_the_key_at_fault() {
        let cases = [
            (
                serde_json::json!({"base_url": "http://app.ninjarmm.com", "auth": auth(), "organization_id": 1}),
                "base_url",
            ),
            (
                serde_json::json!({"token_url": "http://x.example/t", "auth": auth(), "organization_id": 1}),
                "token_url",
            ),
            (
                serde_json::json!({"auth": {"client_id": " ", "client_secret": {"file": "s"}}, "organization_id": 1}),
                "auth.client_id",
            ),
            (
                serde_json::json!({"auth": auth(), "organization_id": 0}),
                "organization_id",
            ),
            (
                serde_json::json!({"auth": auth(), "organization_id": 1, "run_as": ""}),
                "run_as",
            ),
            (
                serde_json::json!({"auth": auth(), "organization_id": 1, "http": {"page_size": 10}}),
                "http.page_size",
            ),
            (
                serde_json::json!({"auth": {"client_id": "a", "client_secret": "inline"}, "organization_id": 1}),
                "auth.client_secret",
            ),
            (
                serde_json::json!({"auth": auth(), "organisation_id": 1}),
                "organisation_id",
            ),
        ];
        for (value, key) in cases {
            let err = config(value.clone()).expect_err("invalid");
            assert_eq!(err.context_value("key"), Some(key), "{value}: {err}");
            assert!(!err.to_string().contains("inline"), "{err}");
        }
    }
}
