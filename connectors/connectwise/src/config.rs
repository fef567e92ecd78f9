//! Configuration: where the ConnectWise instance is, the API member's keys, the integration's
//! clientId, the pinned API version, and which client company this tenant is.

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use stackhand_core::{Error, Result};
use stackhand_http::RetryConfig;
use url::Url;

/// The API version pinned in `Accept` unless configured otherwise.
pub const DEFAULT_API_VERSION: &str = "2025.8";
/// Page size for listings (ConnectWise allows up to 1000).
pub const DEFAULT_PAGE_SIZE: u32 = 250;

/// Configuration of one ConnectWise connector (one stackhand tenant).
///
/// Deserialised from the tenant's connector section; unknown keys are refused so a typo is
/// an error, not a silent default.
///
/// ```
/// use stackhand_connectwise::ConnectWiseConfig;
/// let config: ConnectWiseConfig = serde_json::from_value(serde_json::json!({
///     "site": "api-na.myconnectwise.net",
///     "company_id": "acme",
///     "public_key": "pub",
///     "private_key": "priv",
///     "client_id": "5f1d2c3b-8a7e-4d6c-9b0a-1e2f3a4b5c6d",
///     "company_identifier": "CONTOSO-LAW"
/// })).unwrap();
/// config.validate().unwrap();
/// assert!(!format!("{config:?}").contains("priv"));
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ConnectWiseConfig {
    /// The API host, `api-na.myconnectwise.net` (cloud) or the on-premises host. Used as
    /// `https://{site}` unless `base_url` is given.
    #[serde(default)]
    pub site: Option<String>,
    /// The server's root URL, overriding `site` (a test server, a proxy):
    /// `http://127.0.0.1:8080`. Requests go to `{base_url}/{codebase}apis/3.0/`.
    #[serde(default)]
    pub base_url: Option<Url>,
    /// Where codebase discovery asks, overriding `{base_url}/login/companyinfo/`.
    #[serde(default)]
    pub companyinfo_url: Option<Url>,
    /// The ConnectWise company id used to log in (`acme`).
    pub company_id: String,
    /// The API member's public key.
    pub public_key: String,
    /// The API member's private key.
    pub private_key: SecretString,
    /// The integration's clientId (a GUID from developer.connectwise.com/ClientID).
    pub client_id: String,
    /// The codebase (`v4_6_release/`); discovered through `companyinfo` when absent.
    #[serde(default)]
    pub codebase: Option<String>,
    /// The API version pinned in `Accept` (`2025.8`).
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// The client company (ConnectWise `identifier`, `CONTOSO-LAW`) this tenant is. Tickets,
    /// contacts and companies outside it are invisible to the connector. Absent: the whole
    /// instance (the MSP's own tenant).
    #[serde(default)]
    pub company_identifier: Option<String>,
    /// Items per page (1 to 1000).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Per-request timeout in seconds.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// A client-side cap on requests per second for this tenant. ConnectWise publishes no
    /// quota (its cloud throttles with 429 and `Retry-After`, which the client honours
    /// anyway); set this to stay well under it when several runners share one instance.
    #[serde(default)]
    pub requests_per_second: Option<u32>,
    /// Retry policy; not configurable from serde (tests and embedders set it in code).
    #[serde(skip, default)]
    pub retry: RetryConfig,
}

fn default_api_version() -> String {
    DEFAULT_API_VERSION.to_string()
}

fn default_page_size() -> u32 {
    DEFAULT_PAGE_SIZE
}

fn default_timeout_secs() -> u64 {
    30
}

impl fmt::Debug for ConnectWiseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The private key is left out on purpose; the public key and clientId are identifiers.
        f.debug_struct("ConnectWiseConfig")
            .field("site", &self.site)
            .field("base_url", &self.base_url.as_ref().map(Url::as_str))
            .field(
                "companyinfo_url",
                &self.companyinfo_url.as_ref().map(Url::as_str),
            )
            .field("company_id", &self.company_id)
            .field("public_key", &self.public_key)
            .field("client_id", &self.client_id)
            .field("codebase", &self.codebase)
            .field("api_version", &self.api_version)
            .field("company_identifier", &self.company_identifier)
            .field("page_size", &self.page_size)
            .field("requests_per_second", &self.requests_per_second)
            .finish_non_exhaustive()
    }
}

impl ConnectWiseConfig {
    /// A configuration for the server at `base_url` (`https://api-na.myconnectwise.net` or a
    /// test server), with defaults for everything else.
    pub fn new(
        base_url: Url,
        company_id: impl Into<String>,
        public_key: impl Into<String>,
        private_key: SecretString,
        client_id: impl Into<String>,
    ) -> Self {
        Self {
            site: None,
            base_url: Some(base_url),
            companyinfo_url: None,
            company_id: company_id.into(),
            public_key: public_key.into(),
            private_key,
            client_id: client_id.into(),
            codebase: None,
            api_version: default_api_version(),
            company_identifier: None,
            page_size: DEFAULT_PAGE_SIZE,
            timeout_secs: default_timeout_secs(),
            requests_per_second: None,
            retry: RetryConfig::default(),
        }
    }

    /// Fix the codebase instead of discovering it.
    pub fn with_codebase(mut self, codebase: impl Into<String>) -> Self {
        self.codebase = Some(codebase.into());
        self
    }

    /// Scope the connector to one client company.
    pub fn with_company_identifier(mut self, identifier: impl Into<String>) -> Self {
        self.company_identifier = Some(identifier.into());
        self
    }

    /// Pin another API version.
    pub fn with_api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = version.into();
        self
    }

    /// Items per page.
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size;
        self
    }

    /// Retry policy.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Codebase discovery URL.
    pub fn with_companyinfo_url(mut self, url: Url) -> Self {
        self.companyinfo_url = Some(url);
        self
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// Check every field; the error names the field and what is wrong with it.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, why: String| {
            Err(Error::invalid(format!("connectwise config: {field} {why}")))
        };
        self.root_url()?;
        if self.company_id.trim().is_empty() || self.company_id.contains(['+', ':', '/']) {
            return bad(
                "company_id",
                format!(
                    "must be the login company id without '+', ':' or '/', got {:?}",
                    self.company_id
                ),
            );
        }
        if self.public_key.trim().is_empty() || self.public_key.contains(':') {
            return bad("public_key", "must be a non-empty key without ':'".into());
        }
        if secrecy::ExposeSecret::expose_secret(&self.private_key)
            .trim()
            .is_empty()
        {
            return bad("private_key", "must not be empty".into());
        }
        if !is_guid(&self.client_id) {
            return bad(
                "client_id",
                format!(
                    "must be the integration's GUID (8-4-4-4-12 hex digits), got {:?}",
                    self.client_id
                ),
            );
        }
        if let Some(codebase) = &self.codebase
            && (codebase.trim_matches('/').is_empty() || codebase.contains(['?', '#', ' ']))
        {
            return bad(
                "codebase",
                format!("must look like \"v4_6_release/\", got {codebase:?}"),
            );
        }
        let version_ok = self
            .api_version
            .split_once('.')
            .is_some_and(|(year, minor)| {
                year.len() == 4
                    && year.chars().all(|c| c.is_ascii_digit())
                    && !minor.is_empty()
                    && minor.chars().all(|c| c.is_ascii_digit())
            });
        if !version_ok {
            return bad(
                "api_version",
                format!("must look like \"2025.8\", got {:?}", self.api_version),
            );
        }
        if !(1..=1000).contains(&self.page_size) {
            return bad(
                "page_size",
                format!("must be between 1 and 1000, got {}", self.page_size),
            );
        }
        if let Some(identifier) = &self.company_identifier
            && identifier.trim().is_empty()
        {
            return bad("company_identifier", "must not be empty when given".into());
        }
        if self.requests_per_second == Some(0) {
            return bad(
                "requests_per_second",
                "must be at least 1 when given".into(),
            );
        }
        if self.timeout_secs == 0 {
            return bad("timeout_secs", "must be at least 1".into());
        }
        Ok(())
    }

    /// The server root: `base_url`, or `https://{site}`.
    pub fn root_url(&self) -> Result<Url> {
        let mut url = match (&self.base_url, &self.site) {
            (Some(url), _) => url.clone(),
            (None, Some(site)) if !site.trim().is_empty() => {
                let site = site
                    .trim()
                    .trim_start_matches("https://")
                    .trim_end_matches('/');
                Url::parse(&format!("https://{site}/")).map_err(|e| {
                    Error::invalid(format!(
                        "connectwise config: site {site:?} is not a host name: {e}"
                    ))
                })?
            }
            _ => {
                return Err(Error::invalid(
                    "connectwise config: give site (api-na.myconnectwise.net) or base_url",
                ));
            }
        };
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(Error::invalid(format!(
                "connectwise config: base_url {url} must be an http(s) URL"
            )));
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(url)
    }

    /// `{root}{codebase}apis/3.0/` for a codebase.
    pub fn api_url(&self, codebase: &str) -> Result<Url> {
        let codebase = normalise_codebase(codebase);
        self.root_url()?
            .join(&format!("{codebase}apis/3.0/"))
            .map_err(|e| Error::invalid(format!("connectwise config: codebase {codebase:?}: {e}")))
    }

    /// Where `companyinfo` is asked: `{root}login/companyinfo/{company_id}`.
    pub fn companyinfo(&self) -> Result<Url> {
        let base = match &self.companyinfo_url {
            Some(url) => url.clone(),
            None => self
                .root_url()?
                .join("login/companyinfo/")
                .map_err(|e| Error::invalid(e.to_string()))?,
        };
        let base = if base.path().ends_with('/') {
            base
        } else {
            let mut base = base;
            let path = format!("{}/", base.path());
            base.set_path(&path);
            base
        };
        base.join(&self.company_id)
            .map_err(|e| Error::invalid(format!("connectwise config: company_id: {e}")))
    }

    /// The `Accept` header value pinning the version.
    pub fn accept(&self) -> String {
        format!(
            "application/vnd.connectwise.com+json; version={}",
            self.api_version
        )
    }
}

/// `v4_6_release/` from `/v4_6_release`, `v4_6_release/` or `v4_6_release`.
pub(crate) fn normalise_codebase(codebase: &str) -> String {
    format!("{}/", codebase.trim().trim_matches('/'))
}

fn is_guid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> serde_json::Value {
        json!({
            "base_url": "http://127.0.0.1:9/",
            "company_id": "demomsp",
            "public_key": "pub",
            "private_key": "very-private",
            "client_id": "5f1d2c3b-8a7e-4d6c-9b0a-1e2f3a4b5c6d"
        })
    }

    fn with(field: &str, value: serde_json::Value) -> Result<()> {
        let mut config = base();
        config[field] = value;
        serde_json::from_value::<ConnectWiseConfig>(config)
            .map_err(|e| Error::invalid(e.to_string()))?
            .validate()
    }

    #[test]
    fn validation_names_the_field() {
        assert!(with("page_size", json!(250)).is_ok());
        for (field, value) in [
            ("client_id", json!("not-a-guid")),
            ("company_id", json!("a+b")),
            ("api_version", json!("latest")),
            ("page_size", json!(5000)),
            ("codebase", json!("/")),
            ("private_key", json!(" ")),
        ] {
            let err = with(field, value).unwrap_err();
            assert!(err.message().contains(field), "{field}: {err}");
        }
        assert!(
            with("nonsense", json!(1)).is_err(),
            "unknown keys are refused"
        );
    }

    #[test]
    fn urls_are_built_from_site_or_base_url() {
        let mut config: ConnectWiseConfig = serde_json::from_value(base()).unwrap();
        assert_eq!(
            config.api_url("/v4_6_release").unwrap().as_str(),
            "http://127.0.0.1:9/v4_6_release/apis/3.0/"
        );
        assert_eq!(
            config.companyinfo().unwrap().as_str(),
            "http://127.0.0.1:9/login/companyinfo/demomsp"
        );
        config.base_url = None;
        config.site = Some("api-eu.myconnectwise.net".into());
        assert_eq!(
            config.api_url("v2025_1/").unwrap().as_str(),
            "https://api-eu.myconnectwise.net/v2025_1/apis/3.0/"
        );
        assert!(!format!("{config:?}").contains("very-private"));
    }
}
