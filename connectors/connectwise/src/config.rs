//! The connector's configuration section, `[tenants.<id>.connectors.connectwise]`: where the
//! ConnectWise instance is, the API member's keys, the integration's clientId, the pinned API
//! version, and which client company this tenant is.

use schemars::JsonSchema;
use serde::Deserialize;
use stackhand_core::{Error, Result, SecretRef};
use stackhand_http::{HttpSettings, encode_segment};
use url::Url;

use crate::VENDOR;

/// The API version pinned in `Accept` unless configured otherwise.
pub const DEFAULT_API_VERSION: &str = "2025.8";

/// Items per page when `http.page_size` is unset.
pub const DEFAULT_PAGE_SIZE: u32 = 250;

/// The largest `pageSize` ConnectWise accepts.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Configuration of one ConnectWise connector (one stackhand tenant).
///
/// ```toml
/// [tenants.contoso-law.connectors.connectwise]
/// site = "api-na.myconnectwise.net"
/// company_id = "acme"
/// public_key = "PUBKEY"
/// private_key = { file = "connectwise.key" }
/// client_id = "5f1d2c3b-8a7e-4d6c-9b0a-1e2f3a4b5c6d"
/// company_identifier = "CONTOSO-LAW"
///
/// [tenants.contoso-law.connectors.connectwise.http]
/// page_size = 500
/// ```
///
/// ```
/// use stackhand_connectwise::ConnectWiseConfig;
///
/// let config: ConnectWiseConfig = stackhand_core::config::section(
///     "connectwise",
///     serde_json::json!({
///         "site": "api-na.myconnectwise.net",
///         "company_id": "acme",
///         "public_key": "PUBKEY",
///         "private_key": {"file": "connectwise.key"},
///         "client_id": "5f1d2c3b-8a7e-4d6c-9b0a-1e2f3a4b5c6d",
///         "company_identifier": "CONTOSO-LAW",
///         "http": {"page_size": 500}
///     }),
/// )
/// .unwrap();
/// config.validate().unwrap();
/// assert_eq!(config.http.page_size.map(|n| n.get()), Some(500));
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
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
    #[schemars(with = "Option<String>", extend("format" = "uri"))]
    pub base_url: Option<Url>,
    /// Where codebase discovery asks, overriding `{base_url}/login/companyinfo/`.
    #[serde(default)]
    #[schemars(with = "Option<String>", extend("format" = "uri"))]
    pub companyinfo_url: Option<Url>,
    /// The ConnectWise company id used to log in (`acme`).
    pub company_id: String,
    /// The API member's public key: the user half of the key pair, sent in the Basic
    /// username. Not a secret.
    pub public_key: String,
    /// The API member's private key, sent as the Basic password.
    pub private_key: SecretRef,
    /// The integration's clientId (a GUID from developer.connectwise.com/ClientID), sent as
    /// the `clientId` header. Not a secret.
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
    /// HTTP behaviour: timeout, retries, rate, requests in flight, page size (at most
    /// [`MAX_PAGE_SIZE`], default [`DEFAULT_PAGE_SIZE`]) and user agent. ConnectWise publishes
    /// no request quota (its cloud throttles with 429 and `Retry-After`, which the client
    /// honours), so there is no default rate; set `requests_per_second` to stay well under it
    /// when several runners share one instance.
    #[serde(default)]
    pub http: HttpSettings,
}

fn default_api_version() -> String {
    DEFAULT_API_VERSION.to_string()
}

impl ConnectWiseConfig {
    /// A configuration for the server at `base_url` (`https://api-na.myconnectwise.net` or a
    /// test server), with defaults for everything else.
    pub fn new(
        base_url: Url,
        company_id: impl Into<String>,
        public_key: impl Into<String>,
        private_key: SecretRef,
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
            http: HttpSettings::default(),
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

    /// Ask another URL for the codebase.
    pub fn with_companyinfo_url(mut self, url: Url) -> Self {
        self.companyinfo_url = Some(url);
        self
    }

    /// HTTP behaviour (timeout, retries, rate, page size, user agent).
    pub fn with_http(mut self, http: HttpSettings) -> Self {
        self.http = http;
        self
    }

    /// Check every key; the error names the key (context `key`) and what is wrong with it.
    /// The private key is checked when it is resolved, since only then is it known.
    pub fn validate(&self) -> Result<()> {
        self.root_url()?;
        if let Some(url) = &self.companyinfo_url {
            http_url("companyinfo_url", url)?;
        }
        if self.company_id.trim().is_empty() || self.company_id.contains(['+', ':', '/']) {
            return invalid(
                "company_id",
                format!(
                    "must be the login company id without '+', ':' or '/', got {:?}",
                    self.company_id
                ),
            );
        }
        // The Basic username is `company+public`; a ':' would end it early.
        if self.public_key.trim().is_empty() || self.public_key.contains(':') {
            return invalid("public_key", "must be a non-empty key without ':'");
        }
        if !is_guid(&self.client_id) {
            return invalid(
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
            return invalid(
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
            return invalid(
                "api_version",
                format!("must look like \"2025.8\", got {:?}", self.api_version),
            );
        }
        if let Some(identifier) = &self.company_identifier
            && identifier.trim().is_empty()
        {
            return invalid("company_identifier", "must not be empty when given");
        }
        self.http.validate(VENDOR)?;
        self.page_size()?;
        Ok(())
    }

    /// Items per listing page: `http.page_size`, else [`DEFAULT_PAGE_SIZE`]; above
    /// [`MAX_PAGE_SIZE`] is an error naming the key.
    pub(crate) fn page_size(&self) -> Result<u32> {
        self.http
            .page_size(VENDOR, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    }

    /// The server root: `base_url`, or `https://{site}`, ending in `/`.
    pub(crate) fn root_url(&self) -> Result<Url> {
        let url = match (&self.base_url, &self.site) {
            (Some(url), _) => http_url("base_url", url)?,
            (None, Some(site)) if !site.trim().is_empty() => {
                let host = site
                    .trim()
                    .trim_start_matches("https://")
                    .trim_end_matches('/');
                let url = Url::parse(&format!("https://{host}/"))
                    .map_err(|e| key_error("site", format!("{site:?} is not a host name: {e}")))?;
                http_url("site", &url)?
            }
            _ => {
                return invalid(
                    "site",
                    "is missing: give site (api-na.myconnectwise.net) or base_url",
                );
            }
        };
        Ok(url)
    }

    /// `{root}{codebase}apis/3.0/` for a codebase.
    pub(crate) fn api_url(&self, codebase: &str) -> Result<Url> {
        let codebase = normalise_codebase(codebase);
        self.root_url()?
            .join(&format!("{codebase}apis/3.0/"))
            .map_err(|e| key_error("codebase", format!("{codebase:?} makes no URL: {e}")))
    }

    /// The folder `companyinfo` is asked in (`{root}login/companyinfo/`, or `companyinfo_url`),
    /// ending in `/`; the company id is the last segment.
    pub(crate) fn companyinfo_base(&self) -> Result<Url> {
        match &self.companyinfo_url {
            Some(url) => http_url("companyinfo_url", url),
            None => self
                .root_url()?
                .join("login/companyinfo/")
                .map_err(|e| key_error("base_url", e.to_string())),
        }
    }

    /// The discovery request's path under [`companyinfo_base`](Self::companyinfo_base).
    pub(crate) fn companyinfo_path(&self) -> String {
        encode_segment(&self.company_id)
    }

    /// The `Accept` header value pinning the version.
    pub(crate) fn accept(&self) -> String {
        format!(
            "application/vnd.connectwise.com+json; version={}",
            self.api_version
        )
    }
}

fn key_error(key: &'static str, why: impl std::fmt::Display) -> Error {
    Error::invalid(format!("{VENDOR} configuration: {key} {why}")).with_context("key", key)
}

fn invalid<T>(key: &'static str, why: impl std::fmt::Display) -> Result<T> {
    Err(key_error(key, why))
}

/// An http(s) URL that can take paths, without credentials (they would show in logs and
/// `Debug`), with a trailing `/` so paths join beneath it.
fn http_url(key: &'static str, url: &Url) -> Result<Url> {
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return invalid(key, format!("{url} must be an http(s) URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return invalid(
            key,
            "must not carry credentials; the keys go in public_key and private_key",
        );
    }
    let mut url = url.clone();
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
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
            "private_key": {"env": "STACKHAND_SECRET_MSP__CONNECTWISE"},
            "client_id": "5f1d2c3b-8a7e-4d6c-9b0a-1e2f3a4b5c6d"
        })
    }

    fn with(key: &str, value: serde_json::Value) -> Result<ConnectWiseConfig> {
        let mut config = base();
        config[key] = value;
        let config: ConnectWiseConfig = stackhand_core::config::section(VENDOR, config)?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn validation_names_the_key() {
        let config = with("http", json!({"page_size": 1000})).unwrap();
        assert_eq!(config.page_size().unwrap(), 1000);
        assert_eq!(
            with("http", json!({})).unwrap().page_size().unwrap(),
            DEFAULT_PAGE_SIZE
        );
        for (key, value, named) in [
            ("client_id", json!("not-a-guid"), "client_id"),
            ("company_id", json!("a+b"), "company_id"),
            ("public_key", json!("a:b"), "public_key"),
            ("api_version", json!("latest"), "api_version"),
            ("http", json!({"page_size": 5000}), "http.page_size"),
            ("http", json!({"timeout_secs": 0}), "http.timeout_secs"),
            ("codebase", json!("/"), "codebase"),
            ("base_url", json!("http://me:pw@127.0.0.1:9/"), "base_url"),
            ("base_url", json!("ftp://127.0.0.1/"), "base_url"),
        ] {
            let err = with(key, value).unwrap_err();
            assert_eq!(err.context_value("key"), Some(named), "{key}: {err}");
            assert!(err.message().contains(named), "{key}: {err}");
        }
        let err = with("private_key", json!("pasted-private-key")).unwrap_err();
        assert!(!err.to_string().contains("pasted-private-key"), "{err}");
        let err = with("page_size", json!(250)).unwrap_err();
        assert!(err.to_string().contains("unknown key"), "{err}");
    }

    #[test]
    fn urls_are_built_from_site_or_base_url() {
        let mut config = with("company_id", json!("demo msp?")).unwrap();
        assert_eq!(
            config.api_url("/v4_6_release").unwrap().as_str(),
            "http://127.0.0.1:9/v4_6_release/apis/3.0/"
        );
        let discovery = config
            .companyinfo_base()
            .unwrap()
            .join(&config.companyinfo_path())
            .unwrap();
        assert_eq!(
            discovery.as_str(),
            "http://127.0.0.1:9/login/companyinfo/demo%20msp%3F",
            "the company id stays one path segment"
        );
        config.base_url = None;
        config.site = Some("api-eu.myconnectwise.net".into());
        assert_eq!(
            config.api_url("v2025_1/").unwrap().as_str(),
            "https://api-eu.myconnectwise.net/v2025_1/apis/3.0/"
        );
        config.site = None;
        assert_eq!(
            config.root_url().unwrap_err().context_value("key"),
            Some("site")
        );
    }
}
