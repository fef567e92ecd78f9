//! Configuration of one Okta org for one tenant, as it appears in `stackhand.toml`.
//!
//! ```toml
//! [tenants.globex.connectors.okta]
//! base_url = "https://globex.okta.com"          # the org URL; the API is at {base_url}/api/v1
//! # token_url = "https://globex.okta.com/oauth2/v1/token"   # default: {base_url}/oauth2/v1/token
//!
//! [tenants.globex.connectors.okta.auth]
//! method = "private_key_jwt"
//! client_id = "0oa1globexsvc"
//! key_id = "sh-key-1"
//! private_key_pem = "-----BEGIN PRIVATE KEY-----\n..."
//! # or: method = "api_token", api_token = "00abc..."
//! ```

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use stackhand_core::{Error, Result};
use url::Url;

/// The scopes the connector asks for with OAuth 2.0, covering every operation it performs.
pub const DEFAULT_SCOPES: &[&str] = &[
    "okta.users.read",
    "okta.users.manage",
    "okta.groups.read",
    "okta.groups.manage",
    "okta.roles.read",
];

/// How the connector authenticates to the org.
#[derive(Clone, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum OktaAuth {
    /// `Authorization: SSWS <token>`: an API token, acting with its creator's admin rights.
    ApiToken {
        /// The token.
        api_token: SecretString,
    },
    /// OAuth 2.0 client credentials for an API Services app, authenticated with a
    /// `private_key_jwt` client assertion (the only client authentication Okta accepts for
    /// `okta.*` scopes).
    PrivateKeyJwt {
        /// The app's client id.
        client_id: String,
        /// The RSA private key registered with the app, PEM (PKCS#1 or PKCS#8).
        private_key_pem: SecretString,
        /// The key id (`kid`) of that key in the app's JWKS.
        #[serde(default)]
        key_id: Option<String>,
        /// Scopes to request; defaults to [`DEFAULT_SCOPES`].
        #[serde(default = "default_scopes")]
        scopes: Vec<String>,
    },
}

fn default_scopes() -> Vec<String> {
    DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect()
}

impl fmt::Debug for OktaAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OktaAuth::ApiToken { .. } => f
                .debug_struct("ApiToken")
                .field("api_token", &"[redacted]")
                .finish(),
            OktaAuth::PrivateKeyJwt {
                client_id,
                key_id,
                scopes,
                ..
            } => f
                .debug_struct("PrivateKeyJwt")
                .field("client_id", client_id)
                .field("private_key_pem", &"[redacted]")
                .field("key_id", key_id)
                .field("scopes", scopes)
                .finish(),
        }
    }
}

fn default_reserve() -> u64 {
    2
}

fn default_true() -> bool {
    true
}

fn default_page_size() -> u32 {
    200
}

fn default_timeout() -> u64 {
    30
}

fn default_attempts() -> u32 {
    4
}

/// The connector's configuration.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OktaConfig {
    /// The org URL (`https://globex.okta.com`), or a test server's. The API is under
    /// `{base_url}/api/v1/`.
    pub base_url: Url,
    /// The token endpoint; defaults to the org authorization server, `{base_url}/oauth2/v1/token`.
    #[serde(default)]
    pub token_url: Option<Url>,
    /// Credentials.
    pub auth: OktaAuth,
    /// Calls of each rate window to leave unused: when `X-Rate-Limit-Remaining` falls to this, the
    /// connector holds its requests until `X-Rate-Limit-Reset`, before Okta answers 429.
    #[serde(default = "default_reserve")]
    pub rate_limit_reserve: u64,
    /// Read admin roles (`GET /api/v1/users/{id}/roles`, which includes roles held through
    /// groups, and `GET /api/v1/groups/{groupId}/roles` for a group a plan names; scope
    /// `okta.roles.read`) so policies can protect administrators and admin groups. Turning it
    /// off makes every user and group look unprivileged.
    #[serde(default = "default_true")]
    pub read_admin_roles: bool,
    /// Page size for user and group listings (Okta's maximum for users is 200).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Per-request timeout, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Attempts per request, including the first (retries on 429 and 5xx).
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
}

impl fmt::Debug for OktaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OktaConfig")
            .field("base_url", &self.base_url.as_str())
            .field("token_url", &self.token_url.as_ref().map(Url::as_str))
            .field("auth", &self.auth)
            .field("rate_limit_reserve", &self.rate_limit_reserve)
            .field("read_admin_roles", &self.read_admin_roles)
            .field("page_size", &self.page_size)
            .field("timeout_secs", &self.timeout_secs)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

impl OktaConfig {
    fn with_auth(base_url: Url, auth: OktaAuth) -> Self {
        Self {
            base_url,
            token_url: None,
            auth,
            rate_limit_reserve: default_reserve(),
            read_admin_roles: true,
            page_size: default_page_size(),
            timeout_secs: default_timeout(),
            max_attempts: default_attempts(),
        }
    }

    /// An org reached with an SSWS API token.
    pub fn api_token(base_url: Url, api_token: SecretString) -> Self {
        Self::with_auth(base_url, OktaAuth::ApiToken { api_token })
    }

    /// An org reached with OAuth 2.0 client credentials and a `private_key_jwt` assertion.
    pub fn private_key_jwt(
        base_url: Url,
        client_id: impl Into<String>,
        private_key_pem: SecretString,
        key_id: Option<String>,
    ) -> Self {
        Self::with_auth(
            base_url,
            OktaAuth::PrivateKeyJwt {
                client_id: client_id.into(),
                private_key_pem,
                key_id,
                scopes: default_scopes(),
            },
        )
    }

    /// Override the token endpoint.
    pub fn with_token_url(mut self, token_url: Url) -> Self {
        self.token_url = Some(token_url);
        self
    }

    /// Set the rate-limit reserve.
    pub fn with_rate_limit_reserve(mut self, reserve: u64) -> Self {
        self.rate_limit_reserve = reserve;
        self
    }

    /// Set the page size.
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size;
        self
    }

    /// Set the attempts per request.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Turn admin-role reads on or off.
    pub fn with_admin_roles(mut self, read: bool) -> Self {
        self.read_admin_roles = read;
        self
    }

    /// Parse from a JSON configuration value (a `stackhand.toml` section), then validate.
    pub fn from_value(value: serde_json::Value) -> Result<Self> {
        let config: Self = serde_json::from_value(value)
            .map_err(|e| Error::invalid(format!("invalid okta connector configuration: {e}")))?;
        config.validate()?;
        Ok(config)
    }

    /// Check the configuration; errors name the field at fault.
    pub fn validate(&self) -> Result<()> {
        check_url("base_url", &self.base_url)?;
        if let Some(token_url) = &self.token_url {
            check_url("token_url", token_url)?;
        }
        if self.base_url.query().is_some() || self.base_url.fragment().is_some() {
            return Err(Error::invalid(
                "okta base_url must be the org URL without a query or fragment",
            ));
        }
        match &self.auth {
            OktaAuth::ApiToken { api_token } => {
                let token = api_token.expose_secret();
                if token.trim().is_empty() {
                    return Err(Error::invalid("okta auth.api_token is empty"));
                }
                if token.starts_with("SSWS ") || token.chars().any(char::is_whitespace) {
                    return Err(Error::invalid(
                        "okta auth.api_token must be the bare token, without `SSWS ` or spaces",
                    ));
                }
            }
            OktaAuth::PrivateKeyJwt {
                client_id,
                private_key_pem,
                scopes,
                ..
            } => {
                if client_id.trim().is_empty() {
                    return Err(Error::invalid("okta auth.client_id is empty"));
                }
                if !private_key_pem
                    .expose_secret()
                    .trim_start()
                    .starts_with("-----BEGIN")
                {
                    return Err(Error::invalid(
                        "okta auth.private_key_pem must be a PEM private key (-----BEGIN ... PRIVATE KEY-----)",
                    ));
                }
                if scopes.is_empty() {
                    return Err(Error::invalid("okta auth.scopes is empty"));
                }
                if let Some(bad) = scopes.iter().find(|s| !s.starts_with("okta.")) {
                    return Err(Error::invalid(format!(
                        "okta auth.scopes: {bad:?} is not an okta.* scope"
                    )));
                }
            }
        }
        if self.page_size == 0 || self.page_size > 200 {
            return Err(Error::invalid(format!(
                "okta page_size must be between 1 and 200, not {}",
                self.page_size
            )));
        }
        if self.max_attempts == 0 {
            return Err(Error::invalid("okta max_attempts must be at least 1"));
        }
        if self.timeout_secs == 0 {
            return Err(Error::invalid("okta timeout_secs must be at least 1"));
        }
        Ok(())
    }

    /// The API root, `{base_url}/api/v1/`.
    pub fn api_url(&self) -> Result<Url> {
        let mut base = self.base_url.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        base.join("api/v1/")
            .map_err(|e| Error::invalid(format!("okta base_url cannot hold the API path: {e}")))
    }

    /// The token endpoint: `token_url`, or `{base_url}/oauth2/v1/token`.
    pub fn token_endpoint(&self) -> Result<Url> {
        if let Some(url) = &self.token_url {
            return Ok(url.clone());
        }
        let mut base = self.base_url.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        base.join("oauth2/v1/token")
            .map_err(|e| Error::invalid(format!("okta base_url cannot hold the token path: {e}")))
    }
}

/// HTTPS, or plain HTTP to a loopback test server.
fn check_url(field: &str, url: &Url) -> Result<()> {
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = matches!(
                url.host_str(),
                Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
            );
            if loopback {
                Ok(())
            } else {
                Err(Error::invalid(format!(
                    "okta {field} must use https (plain http is only allowed for a loopback test server): {url}"
                )))
            }
        }
        other => Err(Error::invalid(format!(
            "okta {field} must be an https URL, not {other}:"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_both_auth_methods_and_derives_endpoints() {
        let token = OktaConfig::from_value(json!({
            "base_url": "https://globex.okta.com",
            "auth": {"method": "api_token", "api_token": "00abc"}
        }))
        .expect("valid");
        assert_eq!(
            token.api_url().expect("url").as_str(),
            "https://globex.okta.com/api/v1/"
        );
        assert_eq!(
            token.token_endpoint().expect("url").as_str(),
            "https://globex.okta.com/oauth2/v1/token"
        );
        assert!(!format!("{token:?}").contains("00abc"));

        let jwt = OktaConfig::from_value(json!({
            "base_url": "http://127.0.0.1:9000",
            "token_url": "http://127.0.0.1:9001/token",
            "auth": {"method": "private_key_jwt", "client_id": "0oa1", "private_key_pem": "-----BEGIN PRIVATE KEY-----\nsecret-key-material"}
        }))
        .expect("valid");
        assert_eq!(
            jwt.token_endpoint().expect("url").as_str(),
            "http://127.0.0.1:9001/token"
        );
        assert!(!format!("{jwt:?}").contains("secret-key-material"));
        match &jwt.auth {
            OktaAuth::PrivateKeyJwt { scopes, .. } => {
                assert_eq!(scopes.len(), DEFAULT_SCOPES.len())
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn refuses_bad_configuration_with_the_field_named() {
        let cases = [
            (
                json!({"base_url": "http://globex.okta.com", "auth": {"method": "api_token", "api_token": "x"}}),
                "https",
            ),
            (
                json!({"base_url": "https://globex.okta.com", "auth": {"method": "api_token", "api_token": "SSWS x"}}),
                "bare token",
            ),
            (
                json!({"base_url": "https://globex.okta.com", "auth": {"method": "api_token", "api_token": ""}}),
                "empty",
            ),
            (
                json!({"base_url": "https://globex.okta.com", "auth": {"method": "private_key_jwt", "client_id": "c", "private_key_pem": "nope"}}),
                "PEM",
            ),
            (
                json!({"base_url": "https://globex.okta.com", "auth": {"method": "private_key_jwt", "client_id": "c", "private_key_pem": "-----BEGIN x", "scopes": ["openid"]}}),
                "okta.*",
            ),
            (
                json!({"base_url": "https://globex.okta.com", "page_size": 500, "auth": {"method": "api_token", "api_token": "x"}}),
                "page_size",
            ),
            (
                json!({"base_url": "https://globex.okta.com", "auth": {"method": "client_secret", "client_secret": "x"}}),
                "unknown variant",
            ),
            (
                json!({"base_url": "https://globex.okta.com", "bogus": 1, "auth": {"method": "api_token", "api_token": "x"}}),
                "unknown field",
            ),
        ];
        for (value, needle) in cases {
            let err = OktaConfig::from_value(value.clone()).expect_err("invalid");
            assert!(err.message().contains(needle), "{needle}: {err}");
            assert!(!err.to_string().contains("SSWS x"));
        }
    }
}
