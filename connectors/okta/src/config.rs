//! Configuration of one Okta org for one tenant, as it appears in `stackhand.toml`.
//!
//! ```toml
//! [tenants.globex.connectors.okta]
//! base_url = "https://globex.okta.com"          # the org URL; the API is at {base_url}/api/v1
//! # token_url = "https://globex.okta.com/oauth2/v1/token"   # default: {base_url}/oauth2/v1/token
//! # read_admin_roles = true                      # false: no okta.roles.read, no admin protection
//!
//! [tenants.globex.connectors.okta.auth]
//! method = "private_key_jwt"
//! client_id = "0oa1globexsvc"
//! key_id = "sh-key-1"
//! private_key_pem = { file = "okta.pem" }
//! # or: method = "api_token", api_token = { env = "STACKHAND_SECRET_GLOBEX__OKTA_TOKEN" }
//!
//! [tenants.globex.connectors.okta.http]
//! page_size = 200                                # Okta's maximum
//! ```
//!
//! The OAuth 2.0 scopes are not configured: the connector asks for exactly what the enabled
//! features need ([`OktaConfig::scopes`]).

use std::fmt::Display;

use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use stackhand_core::{Error, Result, SecretRef};
use stackhand_http::HttpSettings;
use url::Url;

use crate::VENDOR;

/// The scopes every configuration needs: users (reads, lifecycle, passwords, factors, sessions)
/// and groups (reads, membership), which the connector always offers.
pub const BASE_SCOPES: &[&str] = &[
    "okta.users.read",
    "okta.users.manage",
    "okta.groups.read",
    "okta.groups.manage",
];

/// The scope the admin-role reads need (`GET /api/v1/users/{id}/roles`,
/// `GET /api/v1/groups/{groupId}/roles`), asked for only when `read_admin_roles` is on.
pub const ROLES_SCOPE: &str = "okta.roles.read";

/// Items per page when the `http` table does not say, and Okta's maximum for users.
const PAGE_SIZE: u32 = 200;

/// How the connector authenticates to the org.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum OktaAuth {
    /// `Authorization: SSWS <token>`: an API token, acting with its creator's admin rights.
    ApiToken {
        /// Where the token is kept (the bare token, without `SSWS `).
        api_token: SecretRef,
    },
    /// OAuth 2.0 client credentials for an API Services app, authenticated with a
    /// `private_key_jwt` client assertion (the only client authentication Okta accepts for
    /// `okta.*` scopes).
    PrivateKeyJwt {
        /// The app's client id.
        client_id: String,
        /// Where the RSA private key registered with the app is kept, PEM (PKCS#1 or PKCS#8).
        private_key_pem: SecretRef,
        /// The key id (`kid`) of that key in the app's JWKS.
        #[serde(default)]
        key_id: Option<String>,
    },
}

impl OktaAuth {
    /// The credential this method needs, and its key in the section.
    pub fn credential(&self) -> (&SecretRef, &'static str) {
        match self {
            OktaAuth::ApiToken { api_token } => (api_token, "auth.api_token"),
            OktaAuth::PrivateKeyJwt {
                private_key_pem, ..
            } => (private_key_pem, "auth.private_key_pem"),
        }
    }

    /// Check the resolved credential's shape: the bare API token (as Okta shows it once), or a
    /// PEM key (the signature on the first token request is the real test; this catches a path
    /// or a JWK given by mistake). Errors name the key and where the secret is kept, never
    /// the value.
    pub fn check(&self, credential: &SecretString) -> Result<()> {
        let (reference, key) = self.credential();
        let value = credential.expose_secret();
        let why = match self {
            OktaAuth::ApiToken { .. } if value.trim().is_empty() => "is empty",
            OktaAuth::ApiToken { .. }
                if value.starts_with("SSWS ") || value.chars().any(char::is_whitespace) =>
            {
                "must be the bare token, without `SSWS ` or spaces"
            }
            OktaAuth::PrivateKeyJwt { .. } if !value.trim_start().starts_with("-----BEGIN") => {
                "must be a PEM private key (-----BEGIN ... PRIVATE KEY-----)"
            }
            _ => return Ok(()),
        };
        Err(invalid(key, format!("({}) {why}", reference.describe())))
    }
}

fn default_reserve() -> u64 {
    2
}

fn default_true() -> bool {
    true
}

/// The connector's configuration section, `[tenants.<id>.connectors.okta]`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OktaConfig {
    /// The org URL (`https://globex.okta.com`), or a test server's. The API is under
    /// `{base_url}/api/v1/`.
    // schemars has no `Url` support in this workspace (its `url2` feature is off): a string
    // with the `uri` format.
    #[schemars(with = "String", extend("format" = "uri"))]
    pub base_url: Url,
    /// The token endpoint; defaults to the org authorization server, `{base_url}/oauth2/v1/token`.
    #[serde(default)]
    #[schemars(with = "Option<String>", extend("format" = "uri"))]
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
    /// off drops the scope from the token request and makes every user and group look
    /// unprivileged.
    #[serde(default = "default_true")]
    pub read_admin_roles: bool,
    /// HTTP behaviour: timeout, retries, rate, requests in flight, page size (at most 200),
    /// user agent.
    #[serde(default)]
    pub http: HttpSettings,
}

impl OktaConfig {
    fn with_auth(base_url: Url, auth: OktaAuth) -> Self {
        Self {
            base_url,
            token_url: None,
            auth,
            rate_limit_reserve: default_reserve(),
            read_admin_roles: true,
            http: HttpSettings::default(),
        }
    }

    /// An org reached with an SSWS API token.
    pub fn api_token(base_url: Url, api_token: SecretRef) -> Self {
        Self::with_auth(base_url, OktaAuth::ApiToken { api_token })
    }

    /// An org reached with OAuth 2.0 client credentials and a `private_key_jwt` assertion.
    pub fn private_key_jwt(
        base_url: Url,
        client_id: impl Into<String>,
        private_key_pem: SecretRef,
        key_id: Option<String>,
    ) -> Self {
        Self::with_auth(
            base_url,
            OktaAuth::PrivateKeyJwt {
                client_id: client_id.into(),
                private_key_pem,
                key_id,
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

    /// Turn admin-role reads (and the `okta.roles.read` scope) on or off.
    pub fn with_admin_roles(mut self, read: bool) -> Self {
        self.read_admin_roles = read;
        self
    }

    /// Set the HTTP behaviour.
    pub fn with_http(mut self, http: HttpSettings) -> Self {
        self.http = http;
        self
    }

    /// Check the configuration; errors name the key at fault (context `key`). Credentials
    /// are checked when the connector resolves them.
    pub fn validate(&self) -> Result<()> {
        check_url("base_url", &self.base_url)?;
        if let Some(token_url) = &self.token_url {
            check_url("token_url", token_url)?;
        }
        if self.base_url.query().is_some() || self.base_url.fragment().is_some() {
            return Err(invalid(
                "base_url",
                "must be the org URL without a query or fragment",
            ));
        }
        if let OktaAuth::PrivateKeyJwt { client_id, .. } = &self.auth
            && client_id.trim().is_empty()
        {
            return Err(invalid("auth.client_id", "is empty"));
        }
        self.http.validate(VENDOR)?;
        self.page_size().map(drop)
    }

    /// The OAuth 2.0 scopes the enabled features need: [`BASE_SCOPES`], and [`ROLES_SCOPE`]
    /// when admin roles are read. Computed rather than configured, so a token never carries a
    /// scope nothing uses, and no feature lacks the scope it needs.
    pub fn scopes(&self) -> Vec<&'static str> {
        let mut scopes = BASE_SCOPES.to_vec();
        if self.read_admin_roles {
            scopes.push(ROLES_SCOPE);
        }
        scopes
    }

    /// Items per page for user and group listings: `http.page_size`, else 200 (Okta's maximum).
    pub fn page_size(&self) -> Result<u32> {
        self.http.page_size(VENDOR, PAGE_SIZE, PAGE_SIZE)
    }

    /// The API root, `{base_url}/api/v1/`.
    pub fn api_url(&self) -> Result<Url> {
        under_base(&self.base_url, "api/v1/")
    }

    /// The token endpoint: `token_url`, or `{base_url}/oauth2/v1/token`.
    pub fn token_endpoint(&self) -> Result<Url> {
        match &self.token_url {
            Some(url) => Ok(url.clone()),
            None => under_base(&self.base_url, "oauth2/v1/token"),
        }
    }
}

/// `path` under the org URL, keeping any path the org URL has.
fn under_base(base_url: &Url, path: &str) -> Result<Url> {
    let mut base = base_url.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.join(path)
        .map_err(|e| invalid("base_url", format!("cannot hold the path {path}: {e}")))
}

/// An invalid configuration error naming `key`.
fn invalid(key: &'static str, why: impl Display) -> Error {
    Error::invalid(format!("{VENDOR}: {key} {why}")).with_context("key", key)
}

/// HTTPS, or plain HTTP to a loopback test server; never credentials in the URL (they would
/// show wherever the URL does).
fn check_url(key: &'static str, url: &Url) -> Result<()> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            key,
            "must not hold credentials; put them in the auth table",
        ));
    }
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
                Err(invalid(
                    key,
                    format!(
                        "must use https (plain http is only allowed for a loopback test server): {url}"
                    ),
                ))
            }
        }
        other => Err(invalid(key, format!("must be an https URL, not {other}:"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<OktaConfig> {
        let config: OktaConfig = stackhand_core::config::section(VENDOR, value)?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn parses_both_auth_methods_and_derives_endpoints() {
        let token = parse(json!({
            "base_url": "https://globex.okta.com",
            "auth": {"method": "api_token", "api_token": {"env": "STACKHAND_SECRET_GLOBEX__OKTA"}}
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
        assert_eq!(token.page_size().expect("size"), 200);

        let jwt = parse(json!({
            "base_url": "http://127.0.0.1:9000",
            "token_url": "http://127.0.0.1:9001/token",
            "auth": {"method": "private_key_jwt", "client_id": "0oa1", "private_key_pem": {"file": "okta.pem"}},
            "http": {"page_size": 50}
        }))
        .expect("valid");
        assert_eq!(
            jwt.token_endpoint().expect("url").as_str(),
            "http://127.0.0.1:9001/token"
        );
        assert_eq!(jwt.page_size().expect("size"), 50);
    }

    #[test]
    fn scopes_follow_the_features() {
        let config = OktaConfig::api_token(
            "https://globex.okta.com".parse().expect("url"),
            SecretRef::env("STACKHAND_SECRET_GLOBEX__OKTA"),
        );
        assert_eq!(
            config.scopes(),
            [
                "okta.users.read",
                "okta.users.manage",
                "okta.groups.read",
                "okta.groups.manage",
                "okta.roles.read"
            ]
        );
        assert!(
            !config
                .with_admin_roles(false)
                .scopes()
                .contains(&ROLES_SCOPE)
        );
    }

    #[test]
    fn refuses_bad_configuration_with_the_key_named() {
        let token = json!({"method": "api_token", "api_token": {"env": "X"}});
        let cases = [
            (
                json!({"base_url": "http://globex.okta.com", "auth": token}),
                "base_url",
                "https",
            ),
            (
                json!({"base_url": "https://admin:hunter2@globex.okta.com", "auth": token}),
                "base_url",
                "credentials",
            ),
            (
                json!({"base_url": "https://globex.okta.com", "auth": {"method": "private_key_jwt", "client_id": " ", "private_key_pem": {"file": "k"}}}),
                "auth.client_id",
                "empty",
            ),
            (
                json!({"base_url": "https://globex.okta.com", "auth": {"method": "private_key_jwt", "client_id": "c", "private_key_pem": {"file": "k"}, "scopes": ["okta.users.read"]}}),
                // Inside the tagged `auth` table the path stops at the table; the message
                // names the key.
                "auth.scopes",
                "unknown key \"scopes\"",
            ),
            (
                json!({"base_url": "https://globex.okta.com", "http": {"page_size": 500}, "auth": token}),
                "http.page_size",
                "maximum of 200",
            ),
            (
                json!({"base_url": "https://globex.okta.com", "auth": {"method": "client_secret", "client_secret": {"env": "X"}}}),
                "auth.method",
                "unknown variant",
            ),
            (
                json!({"base_url": "https://globex.okta.com", "page_size": 1, "auth": token}),
                "page_size",
                "unknown key",
            ),
            (
                json!({"base_url": "https://globex.okta.com", "auth": {"method": "api_token", "api_token": "00abc-pasted"}}),
                "auth",
                "cannot be written into configuration",
            ),
        ];
        for (value, key, needle) in cases {
            let err = parse(value).expect_err("invalid");
            assert_eq!(err.context_value("key"), Some(key), "{err}");
            assert!(err.message().contains(needle), "{needle}: {err}");
            assert!(!err.to_string().contains("hunter2") && !err.to_string().contains("00abc"));
        }
    }

    #[test]
    fn resolved_credentials_are_checked_without_echoing_them() {
        let token = OktaAuth::ApiToken {
            api_token: SecretRef::file("okta.token"),
        };
        for bad in ["", "SSWS 00abc", "00a bc"] {
            let err = token.check(&SecretString::from(bad)).expect_err("refused");
            assert_eq!(err.context_value("key"), Some("auth.api_token"));
            assert!(err.message().contains("(file okta.token)"), "{err}");
            assert!(bad.is_empty() || !err.to_string().contains(bad));
        }
        assert!(token.check(&SecretString::from("00abc")).is_ok());
        let key = OktaAuth::PrivateKeyJwt {
            client_id: "0oa1".into(),
            private_key_pem: SecretRef::env("STACKHAND_SECRET_GLOBEX__OKTA_KEY"),
            key_id: None,
        };
        let err = key
            .check(&SecretString::from("okta.pem"))
            .expect_err("a path");
        assert!(err.message().contains("PEM"), "{err}");
        assert_eq!(err.context_value("key"), Some("auth.private_key_pem"));
    }
}
