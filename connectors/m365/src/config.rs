//! Configuration of one Microsoft 365 tenant, as it appears in `stackhand.toml`.
//!
//! ```toml
//! [tenants.contoso-law.connectors.m365]
//! tenant_id = "7d1f3c2a-4b5e-4f60-9a1b-2c3d4e5f6a70"   # or the verified / onmicrosoft domain
//! notify_sender = "helpdesk@contosolaw.com"            # mailbox the Messaging capability sends from
//! # base_url = "https://graph.microsoft.com/v1.0"      # Graph service root (a bare host gets /v1.0)
//! # exchange_base_url = "https://outlook.office365.com" # EXO admin endpoint host
//! # authority_host = "https://login.microsoftonline.com"
//! # token_url = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"  # overrides authority_host
//!
//! [tenants.contoso-law.connectors.m365.auth]
//! method = "client_secret"          # or "certificate", or "delegated"
//! client_id = "5a8c1e2b-9f3d-4c6a-8b7e-0d1f2a3b4c5d"
//! client_secret = "..."
//! ```

use std::fmt;

use secrecy::SecretString;
use serde::Deserialize;
use stackhand_core::{Error, Result};
use stackhand_http::RetryConfig;
use url::Url;

/// The scope of an app-only Graph token.
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
/// The scope of an app-only Exchange Online token.
pub const EXCHANGE_SCOPE: &str = "https://outlook.office365.com/.default";

/// How the connector authenticates: app-only client credentials (secret or certificate), or
/// tokens the caller supplies (an admin's own delegated, scoped tokens).
#[derive(Clone, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum M365Auth {
    /// Client credentials with a client secret.
    ClientSecret {
        /// The app registration's client id.
        client_id: String,
        /// The client secret value (not its id).
        client_secret: SecretString,
    },
    /// Client credentials with a certificate: an RS256 client assertion carrying the
    /// certificate's SHA-1 thumbprint as `x5t`.
    Certificate {
        /// The app registration's client id.
        client_id: String,
        /// The certificate's private key, PEM.
        private_key_pem: SecretString,
        /// Base64url SHA-1 thumbprint of the certificate (`x5t`).
        thumbprint: String,
    },
    /// Tokens supplied by the caller: one for Graph and, for mailbox work, one for Exchange.
    Delegated {
        /// Bearer token for Graph.
        graph_token: SecretString,
        /// Bearer token for Exchange Online (mailbox operations fail without it).
        #[serde(default)]
        exchange_token: Option<SecretString>,
    },
}

impl fmt::Debug for M365Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            M365Auth::ClientSecret { client_id, .. } => f
                .debug_struct("ClientSecret")
                .field("client_id", client_id)
                .field("client_secret", &"[redacted]")
                .finish(),
            M365Auth::Certificate {
                client_id,
                thumbprint,
                ..
            } => f
                .debug_struct("Certificate")
                .field("client_id", client_id)
                .field("private_key_pem", &"[redacted]")
                .field("thumbprint", thumbprint)
                .finish(),
            M365Auth::Delegated { exchange_token, .. } => f
                .debug_struct("Delegated")
                .field("graph_token", &"[redacted]")
                .field(
                    "exchange_token",
                    &exchange_token.as_ref().map(|_| "[redacted]"),
                )
                .finish(),
        }
    }
}

fn default_graph() -> Url {
    Url::parse("https://graph.microsoft.com/v1.0/").expect("static URL")
}

fn default_exchange() -> Url {
    Url::parse("https://outlook.office365.com/").expect("static URL")
}

fn default_authority() -> Url {
    Url::parse("https://login.microsoftonline.com/").expect("static URL")
}

fn default_graph_scope() -> String {
    GRAPH_SCOPE.into()
}

fn default_exchange_scope() -> String {
    EXCHANGE_SCOPE.into()
}

/// Configuration of the Microsoft 365 connector for one tenant.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct M365Config {
    /// The Entra tenant: its id (GUID) or a verified domain.
    pub tenant_id: String,
    /// Credentials.
    pub auth: M365Auth,
    /// Graph service root. A URL with no path (`http://127.0.0.1:9000`) gets `/v1.0/`.
    #[serde(default = "default_graph")]
    pub base_url: Url,
    /// Host of the Exchange Online admin endpoint (`/adminapi/beta/{tenant}/InvokeCommand`).
    #[serde(default = "default_exchange")]
    pub exchange_base_url: Url,
    /// The identity platform host; the token URL is `{authority_host}/{tenant_id}/oauth2/v2.0/token`.
    #[serde(default = "default_authority")]
    pub authority_host: Url,
    /// The full token URL, overriding `authority_host`.
    #[serde(default)]
    pub token_url: Option<Url>,
    /// Scope of the Graph token (national clouds use another resource).
    #[serde(default = "default_graph_scope")]
    pub graph_scope: String,
    /// Scope of the Exchange token.
    #[serde(default = "default_exchange_scope")]
    pub exchange_scope: String,
    /// The mailbox (UPN) that sends notifications through the Messaging capability.
    #[serde(default)]
    pub notify_sender: Option<String>,
    /// Usage location (ISO country) set on a user without one before a licence is assigned.
    #[serde(default)]
    pub default_usage_location: Option<String>,
    /// Requests per second to allow towards this tenant (Graph's own limits are far higher).
    #[serde(default)]
    pub requests_per_second: Option<u32>,
    /// Retry policy (not read from configuration; set with [`with_retry`](Self::with_retry)).
    #[serde(skip, default)]
    pub retry: Option<RetryConfig>,
}

impl fmt::Debug for M365Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("M365Config")
            .field("tenant_id", &self.tenant_id)
            .field("auth", &self.auth)
            .field("base_url", &self.base_url.as_str())
            .field("exchange_base_url", &self.exchange_base_url.as_str())
            .field("token_url", &self.token_url().map(|u| u.to_string()).ok())
            .field("notify_sender", &self.notify_sender)
            .finish_non_exhaustive()
    }
}

impl M365Config {
    /// App-only configuration with a client secret, against the public cloud.
    pub fn client_secret(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Self {
        Self::with_auth(
            tenant_id,
            M365Auth::ClientSecret {
                client_id: client_id.into(),
                client_secret,
            },
        )
    }

    /// Configuration with any [`M365Auth`], against the public cloud.
    pub fn with_auth(tenant_id: impl Into<String>, auth: M365Auth) -> Self {
        Self {
            tenant_id: tenant_id.into(),
            auth,
            base_url: default_graph(),
            exchange_base_url: default_exchange(),
            authority_host: default_authority(),
            token_url: None,
            graph_scope: default_graph_scope(),
            exchange_scope: default_exchange_scope(),
            notify_sender: None,
            default_usage_location: None,
            requests_per_second: None,
            retry: None,
        }
    }

    /// Point Graph, Exchange and the token endpoint at one server (a simulator or a mock).
    pub fn with_server(mut self, server: &str) -> Result<Self> {
        let url = parse_url("server", server)?;
        self.base_url = url.clone();
        self.exchange_base_url = url.clone();
        self.authority_host = url;
        Ok(self)
    }

    /// Use another Graph service root.
    pub fn with_base_url(mut self, base_url: Url) -> Self {
        self.base_url = base_url;
        self
    }

    /// Use another token URL.
    pub fn with_token_url(mut self, token_url: Url) -> Self {
        self.token_url = Some(token_url);
        self
    }

    /// The mailbox notifications are sent from.
    pub fn with_notify_sender(mut self, sender: impl Into<String>) -> Self {
        self.notify_sender = Some(sender.into());
        self
    }

    /// The usage location set on unlicensed users without one before assigning a licence.
    pub fn with_default_usage_location(mut self, location: impl Into<String>) -> Self {
        self.default_usage_location = Some(location.into());
        self
    }

    /// Use this retry policy.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Check the configuration, naming what is wrong.
    pub fn validate(&self) -> Result<()> {
        let tenant = self.tenant_id.trim();
        if tenant.is_empty() || tenant.contains('/') || tenant.contains(char::is_whitespace) {
            return Err(Error::invalid(format!(
                "m365: tenant_id {:?} must be the tenant's GUID or a verified domain",
                self.tenant_id
            )));
        }
        match &self.auth {
            M365Auth::ClientSecret { client_id, .. } | M365Auth::Certificate { client_id, .. }
                if client_id.trim().is_empty() =>
            {
                return Err(Error::invalid("m365: auth.client_id is empty"));
            }
            M365Auth::Certificate { thumbprint, .. } if thumbprint.trim().is_empty() => {
                return Err(Error::invalid(
                    "m365: auth.thumbprint (the certificate's base64url SHA-1 x5t) is empty",
                ));
            }
            _ => {}
        }
        for (name, url) in [
            ("base_url", &self.base_url),
            ("exchange_base_url", &self.exchange_base_url),
            ("authority_host", &self.authority_host),
        ] {
            if !matches!(url.scheme(), "https" | "http") {
                return Err(Error::invalid(format!(
                    "m365: {name} {url} must be an http(s) URL"
                )));
            }
        }
        if let Some(sender) = &self.notify_sender
            && !sender.contains('@')
        {
            return Err(Error::invalid(format!(
                "m365: notify_sender {sender:?} must be a mailbox address"
            )));
        }
        if let Some(location) = &self.default_usage_location
            && !(location.len() == 2 && location.chars().all(|c| c.is_ascii_uppercase()))
        {
            return Err(Error::invalid(format!(
                "m365: default_usage_location {location:?} must be a two-letter ISO country code such as \"US\""
            )));
        }
        if self.requests_per_second == Some(0) {
            return Err(Error::invalid("m365: requests_per_second must be above 0"));
        }
        Ok(())
    }

    /// The Graph service root, ending in `/` (a bare host gets `v1.0/`).
    pub fn graph_root(&self) -> Url {
        let mut url = self.base_url.clone();
        if url.path() == "/" || url.path().is_empty() {
            url.set_path("/v1.0/");
        } else if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        url
    }

    /// The Exchange host root, ending in `/`.
    pub fn exchange_root(&self) -> Url {
        with_trailing_slash(&self.exchange_base_url)
    }

    /// The token endpoint.
    pub fn token_url(&self) -> Result<Url> {
        if let Some(url) = &self.token_url {
            return Ok(url.clone());
        }
        with_trailing_slash(&self.authority_host)
            .join(&format!("{}/oauth2/v2.0/token", self.tenant_id.trim()))
            .map_err(|e| Error::invalid(format!("m365: cannot build the token URL: {e}")))
    }
}

fn with_trailing_slash(url: &Url) -> Url {
    let mut url = url.clone();
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

fn parse_url(name: &str, text: &str) -> Result<Url> {
    Url::parse(text).map_err(|e| Error::invalid(format!("m365: {name} {text:?} is not a URL: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deserialises_with_defaults_and_hides_secrets() {
        let config: M365Config = serde_json::from_value(serde_json::json!({
            "tenant_id": "contosolaw.com",
            "auth": {"method": "client_secret", "client_id": "app", "client_secret": "s3cr3t-value"}
        }))
        .unwrap();
        config.validate().unwrap();
        assert_eq!(
            config.graph_root().as_str(),
            "https://graph.microsoft.com/v1.0/"
        );
        assert_eq!(
            config.token_url().unwrap().as_str(),
            "https://login.microsoftonline.com/contosolaw.com/oauth2/v2.0/token"
        );
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn bare_hosts_get_the_version_and_overrides_win() {
        let config = M365Config::client_secret("t", "app", SecretString::from("x"))
            .with_server("http://127.0.0.1:9000")
            .unwrap();
        assert_eq!(config.graph_root().as_str(), "http://127.0.0.1:9000/v1.0/");
        assert_eq!(config.exchange_root().as_str(), "http://127.0.0.1:9000/");
        assert_eq!(
            config.token_url().unwrap().as_str(),
            "http://127.0.0.1:9000/t/oauth2/v2.0/token"
        );
        let config = config.with_token_url(Url::parse("http://127.0.0.1:1/token").unwrap());
        assert_eq!(
            config.token_url().unwrap().as_str(),
            "http://127.0.0.1:1/token"
        );
    }

    #[test]
    fn validation_names_the_problem() {
        let mut config = M365Config::client_secret("", "app", SecretString::from("x"));
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("tenant_id")
        );
        config.tenant_id = "t".into();
        config.notify_sender = Some("nobody".into());
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("notify_sender")
        );
        let unknown = serde_json::from_value::<M365Config>(serde_json::json!({
            "tenant_id": "t", "auth": {"method": "password", "user": "x"}
        }));
        assert!(unknown.is_err());
    }
}
