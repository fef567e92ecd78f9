//! The one `http` table every connector's configuration has, and the host's shared HTTP
//! services.
//!
//! ```toml
//! [tenants.acme.connectors.okta.http]
//! timeout_secs = 30
//! requests_per_second = 10
//! max_in_flight = 4
//! page_size = 200
//! user_agent = "acme-msp/stackhand"
//!
//! [tenants.acme.connectors.okta.http.retry]
//! max_attempts = 4
//! min_delay_ms = 200
//! max_delay_ms = 10000
//! max_retry_after_secs = 65
//! ```

use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use governor::Quota;
use reqwest::header::HeaderValue;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use stackhand_core::{BuildContext, Error, Result};
use url::Url;

use crate::client::{HttpClient, HttpClientBuilder, RetryConfig, same_origin_redirects};
use crate::rate::RateLimits;

/// Default per-request timeout, in seconds.
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;

/// How a connector talks HTTP: the same nested `http` table in every connector's configuration,
/// applied by [`HttpClientBuilder::settings`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Seconds before one request (one attempt) times out.
    pub timeout_secs: u64,
    /// Retries of idempotent requests after a temporary failure.
    pub retry: RetryConfig,
    /// Requests per second towards this vendor for this tenant (unset: the connector's default).
    pub requests_per_second: Option<NonZeroU32>,
    /// Requests in flight at once towards this vendor for this tenant (unset: no cap).
    pub max_in_flight: Option<NonZeroUsize>,
    /// Items per page when listing (unset: the connector's default; at most the vendor's maximum).
    pub page_size: Option<NonZeroU32>,
    /// The `User-Agent` header (unset: `stackhand/<version>`).
    pub user_agent: Option<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            retry: RetryConfig::default(),
            requests_per_second: None,
            max_in_flight: None,
            page_size: None,
            user_agent: None,
        }
    }
}

impl HttpSettings {
    /// Check the settings, naming the key that is wrong.
    pub fn validate(&self, vendor: &str) -> Result<()> {
        let invalid = |key: &str, why: &str| {
            Err(Error::invalid(format!("{vendor}: http.{key} {why}"))
                .with_context("key", format!("http.{key}")))
        };
        if self.timeout_secs == 0 {
            return invalid("timeout_secs", "must be at least 1");
        }
        if self.retry.max_attempts == 0 {
            return invalid(
                "retry.max_attempts",
                "must be at least 1 (1 means no retries)",
            );
        }
        if self.retry.min_delay > self.retry.max_delay {
            return invalid("retry.min_delay_ms", "must not be above retry.max_delay_ms");
        }
        if let Some(agent) = &self.user_agent
            && (agent.trim().is_empty() || HeaderValue::from_str(agent).is_err())
        {
            return invalid("user_agent", "must be non-empty visible ASCII");
        }
        Ok(())
    }

    /// The page size to ask for: the configured one, else `default`; above the vendor's `max`
    /// is an error naming the key.
    pub fn page_size(&self, vendor: &str, default: u32, max: u32) -> Result<u32> {
        let size = self.page_size.map_or(default, NonZeroU32::get);
        if size > max {
            return Err(Error::invalid(format!(
                "{vendor}: http.page_size {size} is above the vendor's maximum of {max}"
            ))
            .with_context("key", "http.page_size"));
        }
        Ok(size)
    }

    /// The configured rate, else `default` requests per second (`None`: no client-side limit).
    pub fn quota_or(&self, default: Option<NonZeroU32>) -> Option<Quota> {
        self.requests_per_second.or(default).map(Quota::per_second)
    }
}

/// Check a configured base URL: `https`, or `http` only to a loopback address (a simulator or
/// mock in tests), with a host, and no user name or password in it (credentials are `SecretRef`s).
/// The error names `key`.
///
/// ```
/// use stackhand_http::check_base_url;
/// let ok = "https://api.example.com/v1".parse().unwrap();
/// assert!(check_base_url("echo", "base_url", &ok).is_ok());
/// let plain = "http://api.example.com".parse().unwrap();
/// assert!(check_base_url("echo", "base_url", &plain).is_err());
/// let local = "http://127.0.0.1:9000".parse().unwrap();
/// assert!(check_base_url("echo", "base_url", &local).is_ok());
/// ```
pub fn check_base_url(vendor: &str, key: &str, url: &Url) -> Result<()> {
    let refuse = |why: &str| {
        Err(Error::invalid(format!("{vendor}: {key} {url} {why}"))
            .with_context("key", key.to_string()))
    };
    if url.cannot_be_a_base() || url.host().is_none() {
        return refuse("is not an http(s) URL with a host");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return refuse("must not have a query or fragment: paths are joined onto it");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("must not carry a user name or password; credentials are secret references");
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => refuse("must use https (plain http is accepted only for a loopback test server)"),
        _ => refuse("must be an https URL"),
    }
}

/// What a host shares with every HTTP connector it builds: one connection pool and one rate-limit
/// registry (keyed by tenant and vendor). Offer it with
/// `BuildContext::with_service(HttpHost::new(...)?)`; without one, connectors use
/// [`HttpHost::default`].
#[derive(Debug, Clone)]
pub struct HttpHost {
    client: reqwest::Client,
    rate_limits: RateLimits,
}

impl Default for HttpHost {
    /// rustls, [`same_origin_redirects`], and the process-wide [`RateLimits::global`].
    fn default() -> Self {
        Self {
            client: crate::client::default_reqwest_client(),
            rate_limits: RateLimits::global().clone(),
        }
    }
}

impl HttpHost {
    /// A host from a reqwest builder (proxies, root certificates, pool sizes). Redirects are
    /// always limited to the request's origin, whatever the builder said, so secret headers
    /// never leave their host.
    pub fn new(builder: reqwest::ClientBuilder, rate_limits: RateLimits) -> Result<Self> {
        let client = builder
            .redirect(same_origin_redirects())
            .build()
            .map_err(|e| Error::permanent(format!("cannot build the shared HTTP client: {e}")))?;
        Ok(Self {
            client,
            rate_limits,
        })
    }

    /// This host with requests limited by `rate_limits` instead (a registry with a budget shared
    /// by several runners, say), keeping its connection pool.
    pub fn with_rate_limits(mut self, rate_limits: RateLimits) -> Self {
        self.rate_limits = rate_limits;
        self
    }

    /// The host's services in `ctx`, or the defaults.
    pub fn of(ctx: &BuildContext) -> HttpHost {
        ctx.service::<HttpHost>().cloned().unwrap_or_default()
    }

    /// The shared connection pool.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The shared rate-limit registry.
    pub fn rate_limits(&self) -> &RateLimits {
        &self.rate_limits
    }
}

impl HttpClient {
    /// Start building a client for `vendor` at `base_url`, for the tenant of `ctx`, on the host's
    /// shared connection pool and rate limits, with `settings` applied. This is how every
    /// connector's factory makes its clients.
    pub fn for_context(
        ctx: &BuildContext,
        vendor: &'static str,
        base_url: Url,
        settings: &HttpSettings,
    ) -> HttpClientBuilder {
        let host = HttpHost::of(ctx);
        HttpClient::builder(vendor, ctx.tenant().clone(), base_url)
            .client(host.client.clone())
            .rate_limits(host.rate_limits.clone())
            .settings(settings)
    }
}

impl HttpClientBuilder {
    /// Apply [`HttpSettings`]: timeout, retries, rate (when configured), requests in flight and
    /// user agent. A connector with a vendor default rate adds it afterwards with
    /// [`default_rate_limit`](Self::default_rate_limit), which keeps a configured one.
    pub fn settings(mut self, settings: &HttpSettings) -> Self {
        self = self
            .timeout(Duration::from_secs(settings.timeout_secs))
            .retry(settings.retry);
        if let Some(rate) = settings.requests_per_second {
            self = self.rate_limit(Quota::per_second(rate));
        }
        if let Some(max) = settings.max_in_flight {
            self = self.max_concurrency(max.get());
        }
        if let Some(agent) = &settings.user_agent {
            self = self.default_header("User-Agent", agent);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_with_defaults_and_names_bad_keys() {
        let settings: HttpSettings = serde_json::from_value(serde_json::json!({
            "timeout_secs": 5,
            "retry": {"max_attempts": 2, "min_delay_ms": 10},
            "page_size": 50
        }))
        .unwrap();
        assert_eq!(settings.retry.max_attempts, 2);
        assert_eq!(settings.retry.min_delay, Duration::from_millis(10));
        assert_eq!(settings.retry.max_delay, RetryConfig::default().max_delay);
        assert_eq!(settings.page_size("x", 100, 1000).unwrap(), 50);
        let err = settings.page_size("x", 100, 20).unwrap_err();
        assert_eq!(err.context_value("key"), Some("http.page_size"));
        assert!(serde_json::from_value::<HttpSettings>(serde_json::json!({"timeout": 5})).is_err());
        let zero = HttpSettings {
            timeout_secs: 0,
            ..HttpSettings::default()
        };
        assert!(
            zero.validate("x")
                .unwrap_err()
                .to_string()
                .contains("http.timeout_secs")
        );
    }
}
