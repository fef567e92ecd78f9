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
//! client_secret = { env = "STACKHAND_SECRET_CONTOSO_LAW__M365" }   # or { file = "m365.secret" }
//!
//! [tenants.contoso-law.connectors.m365.http]   # optional: the shared HTTP table
//! requests_per_second = 10
//! page_size = 500                   # Exchange InvokeCommand pages (at most 1000)
//! ```

use schemars::JsonSchema;
use serde::Deserialize;
use stackhand_core::{Error, Result, SecretRef};
use stackhand_http::HttpSettings;
use url::Url;

use crate::VENDOR;

/// The scope of an app-only Graph token.
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
/// The scope of an app-only Exchange Online token.
pub const EXCHANGE_SCOPE: &str = "https://outlook.office365.com/.default";

/// Items per Exchange `InvokeCommand` page when `http.page_size` is unset: the most Exchange
/// hands out, so a listing takes as few round trips as it can.
pub(crate) const EXCHANGE_PAGE_SIZE: u32 = 1000;
/// The largest `odata.maxpagesize` Exchange Online honours.
pub(crate) const EXCHANGE_MAX_PAGE_SIZE: u32 = 1000;

/// How the connector authenticates: app-only client credentials (secret or certificate), or
/// tokens the caller supplies (an admin's own delegated, scoped tokens). Every credential is a
/// [`SecretRef`]: configuration names where it is kept, never the value.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum M365Auth {
    /// Client credentials with a client secret.
    ClientSecret {
        /// The app registration's client id.
        client_id: String,
        /// Where the client secret value (not its id) is kept.
        client_secret: SecretRef,
    },
    /// Client credentials with a certificate: an RS256 client assertion carrying the
    /// certificate's SHA-1 thumbprint as `x5t`.
    Certificate {
        /// The app registration's client id.
        client_id: String,
        /// Where the certificate's private key (PEM) is kept.
        private_key_pem: SecretRef,
        /// Base64url SHA-1 thumbprint of the certificate (`x5t`).
        thumbprint: String,
    },
    /// Tokens supplied by the caller: one for Graph and, for mailbox work, one for Exchange.
    Delegated {
        /// Where the bearer token for Graph is kept.
        graph_token: SecretRef,
        /// Where the bearer token for Exchange Online is kept (mailbox operations fail
        /// without it).
        #[serde(default)]
        exchange_token: Option<SecretRef>,
    },
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

/// Configuration of the Microsoft 365 connector for one tenant: the
/// `[tenants.<id>.connectors.m365]` section.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct M365Config {
    /// The Entra tenant: its id (GUID) or a verified domain.
    pub tenant_id: String,
    /// Credentials.
    pub auth: M365Auth,
    /// Graph service root. A URL with no path (`http://127.0.0.1:9000`) gets `/v1.0/`.
    #[serde(default = "default_graph")]
    #[schemars(with = "String", url)]
    pub base_url: Url,
    /// Host of the Exchange Online admin endpoint (`/adminapi/beta/{tenant}/InvokeCommand`).
    #[serde(default = "default_exchange")]
    #[schemars(with = "String", url)]
    pub exchange_base_url: Url,
    /// The identity platform host; the token URL is `{authority_host}/{tenant_id}/oauth2/v2.0/token`.
    #[serde(default = "default_authority")]
    #[schemars(with = "String", url)]
    pub authority_host: Url,
    /// The full token URL, overriding `authority_host`.
    #[serde(default)]
    #[schemars(with = "Option<String>", url)]
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
    /// HTTP behaviour: timeout, retries, rate, requests in flight, user agent. `page_size` sets
    /// the Exchange `InvokeCommand` page size (default and most 1000); Graph collections come in
    /// the page sizes Graph chooses.
    #[serde(default)]
    pub http: HttpSettings,
}

impl M365Config {
    /// App-only configuration with a client secret, against the public cloud.
    pub fn client_secret(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretRef,
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
            http: HttpSettings::default(),
        }
    }

    /// Point Graph, Exchange and the token endpoint at one server (a simulator or a mock).
    pub fn with_server(mut self, server: &str) -> Result<Self> {
        let url = Url::parse(server).map_err(|e| {
            Error::invalid(format!("{VENDOR}: server {server:?} is not a URL: {e}"))
        })?;
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

    /// Use these HTTP settings (the `http` table).
    pub fn with_http(mut self, http: HttpSettings) -> Self {
        self.http = http;
        self
    }

    /// Check the configuration, naming the key that is wrong (also as the error's `key`
    /// context).
    pub fn validate(&self) -> Result<()> {
        let tenant = self.tenant_id.trim();
        if tenant.is_empty() || tenant.contains('/') || tenant.contains(char::is_whitespace) {
            return invalid(
                "tenant_id",
                format!(
                    "{:?} must be the tenant's GUID or a verified domain",
                    self.tenant_id
                ),
            );
        }
        match &self.auth {
            M365Auth::ClientSecret { client_id, .. } | M365Auth::Certificate { client_id, .. }
                if client_id.trim().is_empty() =>
            {
                return invalid("auth.client_id", "is empty".into());
            }
            M365Auth::Certificate { thumbprint, .. } if thumbprint.trim().is_empty() => {
                return invalid(
                    "auth.thumbprint",
                    "(the certificate's base64url SHA-1 x5t) is empty".into(),
                );
            }
            _ => {}
        }
        let urls = [
            ("base_url", Some(&self.base_url)),
            ("exchange_base_url", Some(&self.exchange_base_url)),
            ("authority_host", Some(&self.authority_host)),
            ("token_url", self.token_url.as_ref()),
        ];
        for (key, url) in urls {
            if let Some(url) = url
                && !matches!(url.scheme(), "https" | "http")
            {
                return invalid(key, format!("{url} must be an http(s) URL"));
            }
        }
        if let Some(sender) = &self.notify_sender
            && !sender.contains('@')
        {
            return invalid(
                "notify_sender",
                format!("{sender:?} must be a mailbox address"),
            );
        }
        if let Some(location) = &self.default_usage_location
            && !(location.len() == 2 && location.chars().all(|c| c.is_ascii_uppercase()))
        {
            return invalid(
                "default_usage_location",
                format!("{location:?} must be a two-letter ISO country code such as \"US\""),
            );
        }
        self.http.validate(VENDOR)?;
        self.exchange_page_size().map(drop)
    }

    /// Items per Exchange `InvokeCommand` page: `http.page_size`, else 1000 (Exchange's most).
    pub(crate) fn exchange_page_size(&self) -> Result<u32> {
        self.http
            .page_size(VENDOR, EXCHANGE_PAGE_SIZE, EXCHANGE_MAX_PAGE_SIZE)
    }

    /// The Graph service root, ending in `/` (a bare host gets `v1.0/`).
    pub fn graph_root(&self) -> Url {
        if self.base_url.path() == "/" || self.base_url.path().is_empty() {
            let mut url = self.base_url.clone();
            url.set_path("/v1.0/");
            return url;
        }
        with_trailing_slash(&self.base_url)
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
            .join(&format!(
                "{}/oauth2/v2.0/token",
                stackhand_http::encode_segment(self.tenant_id.trim())
            ))
            .map_err(|e| Error::invalid(format!("{VENDOR}: cannot build the token URL: {e}")))
    }
}

/// A configuration error naming `key`.
fn invalid(key: &'static str, why: String) -> Result<()> {
    Err(Error::invalid(format!("{VENDOR}: {key} {why}")).with_context("key", key))
}

fn with_trailing_slash(url: &Url) -> Url {
    let mut url = url.clone();
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    #[test]
    fn deserialises_with_defaults_and_hides_secrets() {
        let config: M365Config = stackhand_core::config::section(
            VENDOR,
            serde_json::json!({
                "tenant_id": "contosolaw.com",
                "auth": {"method": "client_secret", "client_id": "app",
                         "client_secret": {"env": "STACKHAND_SECRET_CONTOSO__M365"}}
            }),
        )
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
        assert_eq!(config.exchange_page_size().unwrap(), 1000);

        let in_code = M365Config::client_secret(
            "t",
            "app",
            SecretRef::value(SecretString::from("s3cr3t-value")),
        );
        let shown = format!("{in_code:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }

    #[test]
    fn a_secret_written_into_the_file_is_refused() {
        let err = stackhand_core::config::section::<M365Config>(
            VENDOR,
            serde_json::json!({
                "tenant_id": "t",
                "auth": {"method": "client_secret", "client_id": "app", "client_secret": "s3cr3t-value"}
            }),
        )
        .unwrap_err();
        // Serde reads a tagged enum's fields in one go, so the path ends at `auth`; the
        // message says what is wrong, never echoing the value.
        assert_eq!(err.context_value("key"), Some("auth"));
        let text = err.to_string();
        assert!(
            text.contains("a secret cannot be written into configuration"),
            "{text}"
        );
        assert!(!text.contains("s3cr3t-value"), "{text}");
    }

    #[test]
    fn bare_hosts_get_the_version_and_overrides_win() {
        let config = M365Config::client_secret("t", "app", SecretRef::file("m365.secret"))
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
    fn validation_names_the_key() {
        let mut config = M365Config::client_secret("", "app", SecretRef::file("m365.secret"));
        let err = config.validate().unwrap_err();
        assert_eq!(err.context_value("key"), Some("tenant_id"));
        config.tenant_id = "t".into();
        config.notify_sender = Some("nobody".into());
        let err = config.validate().unwrap_err();
        assert_eq!(err.context_value("key"), Some("notify_sender"));
        config.notify_sender = None;
        config.http.page_size = std::num::NonZeroU32::new(5000);
        let err = config.validate().unwrap_err();
        assert_eq!(err.context_value("key"), Some("http.page_size"));
        assert!(err.to_string().contains("1000"), "{err}");
        let unknown = stackhand_core::config::section::<M365Config>(
            VENDOR,
            serde_json::json!({"tenant_id": "t", "auth": {"method": "password", "user": "x"}}),
        );
        assert!(unknown.is_err());
    }
}
