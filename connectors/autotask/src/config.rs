//! The connector's configuration section, `[tenants.<id>.connectors.autotask]`.

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use stackhand_core::{Error, Result, SecretRef};
use stackhand_http::HttpSettings;
use url::Url;

use crate::VENDOR;

/// Where zone discovery starts when no `base_url` is configured. Any zone answers
/// `ZoneInformation`.
pub const DEFAULT_DISCOVERY_URL: &str = "https://webservices.autotask.net/ATServicesRest/";

/// Records per query page when `http.page_size` is unset: Autotask's own page size when a query
/// names no `MaxRecords`.
pub const DEFAULT_PAGE_SIZE: u32 = 500;

/// The most records one query page may hold (`MaxRecords` is 1 to 500).
pub const MAX_PAGE_SIZE: u32 = 500;

/// Configuration of one Autotask connector (one stackhand tenant).
///
/// ```toml
/// [tenants.contoso-law.connectors.autotask]
/// username = "stackhand-api@msp.example"
/// integration_code = { env = "STACKHAND_SECRET_CONTOSO_LAW__AUTOTASK_CODE" }
/// secret = { file = "autotask.secret" }
/// company_id = 174
///
/// [tenants.contoso-law.connectors.autotask.threshold]
/// slow_down_at = 0.4
/// ```
///
/// ```
/// use stackhand_autotask::AutotaskConfig;
///
/// let config: AutotaskConfig = stackhand_core::config::section(
///     "autotask",
///     serde_json::json!({
///         "username": "stackhand-api@msp.example",
///         "integration_code": {"env": "STACKHAND_SECRET_CONTOSO_LAW__AUTOTASK_CODE"},
///         "secret": {"file": "autotask.secret"},
///         "company_id": 174,
///         "http": {"timeout_secs": 20}
///     }),
/// )
/// .unwrap();
/// config.validate().unwrap();
/// assert_eq!(config.http.timeout_secs, 20);
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AutotaskConfig {
    /// The zone's REST root (`https://webservices15.autotask.net/ATServicesRest/`). When absent,
    /// the zone is discovered through `ZoneInformation` at `discovery_url`. A bare origin
    /// (`http://127.0.0.1:8080`) gets `/ATServicesRest/` appended.
    #[serde(default)]
    #[schemars(with = "Option<String>", extend("format" = "uri"))]
    pub base_url: Option<Url>,
    /// Where zone discovery asks (default [`DEFAULT_DISCOVERY_URL`]).
    #[serde(default = "default_discovery_url")]
    #[schemars(with = "String", extend("format" = "uri"))]
    pub discovery_url: Url,
    /// The API-only user's username (an email); sent as the `UserName` header. Not a secret.
    pub username: String,
    /// The integration's tracking identifier, sent as the `ApiIntegrationCode` header.
    pub integration_code: SecretRef,
    /// The API user's secret, sent as the `Secret` header.
    pub secret: SecretRef,
    /// Act as this resource (`ImpersonationResourceId`), so notes show a technician as author.
    #[serde(default)]
    pub impersonation_resource_id: Option<i64>,
    /// Restrict the connector to one client company: the tenant's company in the MSP's
    /// database. Tickets, contacts and companies of other companies are then invisible.
    #[serde(default)]
    pub company_id: Option<i64>,
    /// The status label that closes a ticket (default `Complete`).
    #[serde(default = "default_complete_status")]
    pub complete_status: String,
    /// The note type label for notes written (default: the picklist's default value).
    #[serde(default)]
    pub note_type: Option<String>,
    /// How the connector paces itself against the database's hourly request threshold.
    #[serde(default)]
    pub threshold: ThresholdConfig,
    /// HTTP behaviour: timeout, retries, rate, requests in flight, page size (at most
    /// [`MAX_PAGE_SIZE`]) and user agent.
    #[serde(default)]
    pub http: HttpSettings,
}

/// How the connector watches `ThresholdInformation`: the 10,000 requests an hour are shared by
/// every integration of the database, so it slows down well before they run out. This is
/// Autotask's own accounting, read from the API, and sits beside the generic per-second
/// `http.requests_per_second` rather than replacing it.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ThresholdConfig {
    /// Read `ThresholdInformation` every this many requests (more often once past
    /// `slow_down_at`).
    pub check_every: u32,
    /// Fraction of the threshold at which calls start being spaced out.
    pub slow_down_at: f64,
    /// Fraction at which calls stop (answered `RateLimited`) until usage drops.
    pub stop_at: f64,
    /// The spacing between calls just below `stop_at`, in milliseconds (it grows linearly
    /// from zero at `slow_down_at`).
    pub max_delay_ms: u64,
    /// How long calls stay stopped before usage is read again, in seconds.
    pub stop_for_secs: u64,
}

impl Default for ThresholdConfig {
    fn default() -> Self {
        Self {
            check_every: 50,
            slow_down_at: 0.5,
            stop_at: 0.9,
            max_delay_ms: 2_000,
            stop_for_secs: 60,
        }
    }
}

impl ThresholdConfig {
    /// The largest spacing between calls.
    pub fn max_delay(&self) -> Duration {
        Duration::from_millis(self.max_delay_ms)
    }

    /// How long calls stay stopped.
    pub fn stop_for(&self) -> Duration {
        Duration::from_secs(self.stop_for_secs)
    }
}

fn default_discovery_url() -> Url {
    Url::parse(DEFAULT_DISCOVERY_URL).expect("valid default URL")
}

fn default_complete_status() -> String {
    "Complete".to_string()
}

/// An `Invalid` error about `key`, naming it in the message and the `key` context.
fn invalid(key: &str, why: impl std::fmt::Display) -> Error {
    Error::invalid(format!("{VENDOR} configuration: {key} {why}")).with_context("key", key)
}

impl AutotaskConfig {
    /// A configuration with the required fields and defaults for the rest.
    pub fn new(
        username: impl Into<String>,
        integration_code: SecretRef,
        secret: SecretRef,
    ) -> Self {
        Self {
            base_url: None,
            discovery_url: default_discovery_url(),
            username: username.into(),
            integration_code,
            secret,
            impersonation_resource_id: None,
            company_id: None,
            complete_status: default_complete_status(),
            note_type: None,
            threshold: ThresholdConfig::default(),
            http: HttpSettings::default(),
        }
    }

    /// Point the connector at a zone (or a test server) instead of discovering it.
    pub fn with_base_url(mut self, base_url: Url) -> Self {
        self.base_url = Some(base_url);
        self
    }

    /// Discover the zone at another host (a test server).
    pub fn with_discovery_url(mut self, discovery_url: Url) -> Self {
        self.discovery_url = discovery_url;
        self
    }

    /// Restrict the connector to one company.
    pub fn with_company_id(mut self, company_id: i64) -> Self {
        self.company_id = Some(company_id);
        self
    }

    /// Act as a resource.
    pub fn with_impersonation(mut self, resource_id: i64) -> Self {
        self.impersonation_resource_id = Some(resource_id);
        self
    }

    /// Change the threshold pacing.
    pub fn with_threshold(mut self, threshold: ThresholdConfig) -> Self {
        self.threshold = threshold;
        self
    }

    /// Change the HTTP behaviour.
    pub fn with_http(mut self, http: HttpSettings) -> Self {
        self.http = http;
        self
    }

    /// The records per query page: `http.page_size`, else [`DEFAULT_PAGE_SIZE`].
    pub fn page_size(&self) -> Result<u32> {
        self.http
            .page_size(VENDOR, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    }

    /// Check the configuration; the error names the key at fault (also as its `key` context).
    pub fn validate(&self) -> Result<()> {
        if self.username.trim().is_empty() {
            return Err(invalid("username", "must not be empty"));
        }
        for (key, url) in [
            ("base_url", self.base_url.as_ref()),
            ("discovery_url", Some(&self.discovery_url)),
        ] {
            if let Some(url) = url
                && (!matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base())
            {
                return Err(invalid(key, format_args!("{url} must be an http(s) URL")));
            }
        }
        if self.complete_status.trim().is_empty() {
            return Err(invalid("complete_status", "must not be empty"));
        }
        let t = &self.threshold;
        if t.check_every == 0 {
            return Err(invalid("threshold.check_every", "must be at least 1"));
        }
        if !(0.0 < t.slow_down_at && t.slow_down_at < t.stop_at && t.stop_at <= 1.0) {
            return Err(invalid(
                "threshold.slow_down_at",
                format_args!(
                    "({}) and threshold.stop_at ({}) need 0 < slow_down_at < stop_at <= 1",
                    t.slow_down_at, t.stop_at
                ),
            ));
        }
        self.http.validate(VENDOR)?;
        self.page_size()?;
        Ok(())
    }
}

/// The REST root of a zone URL: `…/ATServicesRest/`, whether given as a bare origin, the REST
/// root, or the versioned root.
pub(crate) fn rest_root(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    let mut path = url.path().trim_end_matches('/').to_string();
    if path.to_ascii_lowercase().ends_with("/v1.0") {
        path.truncate(path.len() - "/v1.0".len());
    }
    if path.is_empty() {
        path = "/ATServicesRest".to_string();
    }
    url.set_path(&format!("{path}/"));
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> serde_json::Value {
        json!({"username": "api@msp.example", "integration_code": {"env": "STACKHAND_SECRET_X__CODE"},
               "secret": {"file": "autotask.secret"}})
    }

    fn read(value: serde_json::Value) -> Result<AutotaskConfig> {
        let config: AutotaskConfig = stackhand_core::config::section(VENDOR, value)?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn defaults() {
        let config = read(base()).unwrap();
        assert_eq!(config.discovery_url.as_str(), DEFAULT_DISCOVERY_URL);
        assert_eq!(config.complete_status, "Complete");
        assert_eq!(config.threshold, ThresholdConfig::default());
        assert_eq!(config.http, HttpSettings::default());
        assert_eq!(config.page_size().unwrap(), DEFAULT_PAGE_SIZE);
    }

    #[test]
    fn secrets_are_references_never_values() {
        let mut value = base();
        value["secret"] = json!("s3cret");
        let err = read(value).unwrap_err();
        assert_eq!(err.context_value("key"), Some("secret"));
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn validation_names_the_key() {
        let cases = [
            ("username", json!(" "), "username"),
            (
                "threshold",
                json!({"slow_down_at": 0.95, "stop_at": 0.9}),
                "threshold.slow_down_at",
            ),
            ("base_url", json!("ftp://example.com/"), "base_url"),
            ("http", json!({"page_size": 501}), "http.page_size"),
            ("http", json!({"timeout_secs": 0}), "http.timeout_secs"),
        ];
        for (key, value, named) in cases {
            let mut config = base();
            config[key] = value;
            let err = read(config).unwrap_err();
            assert_eq!(err.context_value("key"), Some(named), "{err}");
            assert!(err.message().contains(named), "{err}");
        }

        // The timeout is the shared table's `http.timeout_secs` now; the old key is refused.
        let mut value = base();
        value["timeout_secs"] = json!(30);
        let err = read(value).unwrap_err();
        assert_eq!(err.context_value("key"), Some("timeout_secs"));
        assert!(err.message().contains("\"http\""), "{err}");
    }

    #[test]
    fn rest_root_normalises_zone_urls() {
        for (given, expected) in [
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/ATServicesRest/",
            ),
            (
                "https://webservices15.autotask.net/ATServicesRest/",
                "https://webservices15.autotask.net/ATServicesRest/",
            ),
            (
                "https://webservices15.autotask.net/ATServicesRest/V1.0/",
                "https://webservices15.autotask.net/ATServicesRest/",
            ),
        ] {
            assert_eq!(rest_root(&Url::parse(given).unwrap()).as_str(), expected);
        }
    }
}
