//! The connector's configuration.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use stackhand_core::{Error, Result};
use url::Url;

/// Where zone discovery starts when no `base_url` is configured. Any zone answers
/// `ZoneInformation`.
pub const DEFAULT_DISCOVERY_URL: &str = "https://webservices.autotask.net/ATServicesRest/";

/// Configuration of one Autotask connector (one stackhand tenant).
///
/// ```
/// use stackhand_autotask::AutotaskConfig;
/// let config: AutotaskConfig = serde_json::from_value(serde_json::json!({
///     "username": "stackhand-api@msp.example",
///     "integration_code": "TRACKINGID",
///     "secret": "from-the-vault",
///     "company_id": 174
/// })).unwrap();
/// config.validate().unwrap();
/// assert!(!format!("{config:?}").contains("from-the-vault"));
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AutotaskConfig {
    /// The zone's REST root (`https://webservices15.autotask.net/ATServicesRest/`). When absent,
    /// the zone is discovered through `ZoneInformation` at `discovery_url`. A bare origin
    /// (`http://127.0.0.1:8080`) gets `/ATServicesRest/` appended.
    #[serde(default)]
    pub base_url: Option<Url>,
    /// Where zone discovery asks (default [`DEFAULT_DISCOVERY_URL`]).
    #[serde(default = "default_discovery_url")]
    pub discovery_url: Url,
    /// The API-only user's username (an email).
    pub username: String,
    /// The integration's tracking identifier (`ApiIntegrationCode`).
    pub integration_code: SecretString,
    /// The API user's secret.
    pub secret: SecretString,
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
    /// Per-request timeout in seconds (default 30).
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

/// How the connector watches `ThresholdInformation`: the 10,000 requests an hour are shared by
/// every integration of the database, so it slows down well before they run out.
#[derive(Debug, Clone, PartialEq, Deserialize)]
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

fn default_timeout_secs() -> u64 {
    30
}

impl fmt::Debug for AutotaskConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AutotaskConfig")
            .field("base_url", &self.base_url.as_ref().map(Url::as_str))
            .field("discovery_url", &self.discovery_url.as_str())
            .field("username", &self.username)
            .field("impersonation_resource_id", &self.impersonation_resource_id)
            .field("company_id", &self.company_id)
            .field("complete_status", &self.complete_status)
            .field("note_type", &self.note_type)
            .field("threshold", &self.threshold)
            .field("timeout_secs", &self.timeout_secs)
            .finish_non_exhaustive()
    }
}

impl AutotaskConfig {
    /// A configuration with the required fields and defaults for the rest.
    pub fn new(
        username: impl Into<String>,
        integration_code: SecretString,
        secret: SecretString,
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
            timeout_secs: default_timeout_secs(),
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

    /// Check the configuration; the error names the field at fault.
    pub fn validate(&self) -> Result<()> {
        let blank = |s: &str| s.trim().is_empty();
        if blank(&self.username) {
            return Err(Error::invalid(
                "autotask config: username must not be empty",
            ));
        }
        if blank(self.integration_code.expose_secret()) {
            return Err(Error::invalid(
                "autotask config: integration_code must not be empty",
            ));
        }
        if blank(self.secret.expose_secret()) {
            return Err(Error::invalid("autotask config: secret must not be empty"));
        }
        for (name, url) in [
            ("base_url", self.base_url.as_ref()),
            ("discovery_url", Some(&self.discovery_url)),
        ] {
            if let Some(url) = url
                && (!matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base())
            {
                return Err(Error::invalid(format!(
                    "autotask config: {name} {url} must be an http(s) URL"
                )));
            }
        }
        if blank(&self.complete_status) {
            return Err(Error::invalid(
                "autotask config: complete_status must not be empty",
            ));
        }
        let t = &self.threshold;
        if t.check_every == 0 {
            return Err(Error::invalid(
                "autotask config: threshold.check_every must be at least 1",
            ));
        }
        if !(0.0 < t.slow_down_at && t.slow_down_at < t.stop_at && t.stop_at <= 1.0) {
            return Err(Error::invalid(format!(
                "autotask config: threshold needs 0 < slow_down_at ({}) < stop_at ({}) <= 1",
                t.slow_down_at, t.stop_at
            )));
        }
        if self.timeout_secs == 0 {
            return Err(Error::invalid(
                "autotask config: timeout_secs must be at least 1",
            ));
        }
        Ok(())
    }

    /// Parse and validate a JSON configuration section.
    pub fn from_value(value: serde_json::Value) -> Result<Self> {
        let config: Self = serde_json::from_value(value)
            .map_err(|e| Error::invalid(format!("autotask config: {e}")))?;
        config.validate()?;
        Ok(config)
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
        json!({"username": "api@msp.example", "integration_code": "CODE", "secret": "s3cret"})
    }

    #[test]
    fn defaults_and_debug_without_secrets() {
        let config = AutotaskConfig::from_value(base()).unwrap();
        assert_eq!(config.discovery_url.as_str(), DEFAULT_DISCOVERY_URL);
        assert_eq!(config.complete_status, "Complete");
        assert_eq!(config.threshold, ThresholdConfig::default());
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("s3cret") && !debug.contains("CODE"),
            "{debug}"
        );
    }

    #[test]
    fn validation_names_the_field() {
        let mut value = base();
        value["secret"] = json!(" ");
        let err = AutotaskConfig::from_value(value).unwrap_err();
        assert!(err.message().contains("secret"), "{err}");

        let mut value = base();
        value["threshold"] = json!({"slow_down_at": 0.95, "stop_at": 0.9});
        let err = AutotaskConfig::from_value(value).unwrap_err();
        assert!(err.message().contains("slow_down_at"), "{err}");

        let mut value = base();
        value["base_url"] = json!("ftp://example.com/");
        let err = AutotaskConfig::from_value(value).unwrap_err();
        assert!(err.message().contains("base_url"), "{err}");

        let mut value = base();
        value["colour"] = json!("blue");
        let err = AutotaskConfig::from_value(value).unwrap_err();
        assert!(err.message().contains("colour"), "{err}");
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
