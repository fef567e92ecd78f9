//! [`HttpClient`], its builder, request builder and response.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use backon::{ExponentialBuilder, Retryable};
use governor::{DefaultDirectRateLimiter, Quota};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use reqwest::{Method, StatusCode};
use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use stackhand_core::{Error, ErrorKind, Result, TenantId};
use tracing::Instrument;
use url::Url;

use crate::auth::Auth;
use crate::error::{ErrorParser, FailedResponse, FailureContext, StandardErrorParser, build_error};
use crate::rate::{RateBudget, RateHeaders, RateLimits, SharedBudget};
use crate::redact::Redactor;

/// Retry policy for idempotent (or explicitly safe) requests.
///
/// In configuration (the `http.retry` table): `max_attempts`, `min_delay_ms`, `max_delay_ms`,
/// `max_retry_after_secs`, each optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RetryTable", into = "RetryTable")]
pub struct RetryConfig {
    /// Attempts in total, including the first. 1 disables retries.
    pub max_attempts: u32,
    /// First backoff delay (exponential with jitter from here).
    pub min_delay: Duration,
    /// Largest backoff delay.
    pub max_delay: Duration,
    /// Longest `Retry-After` the client waits for. When the vendor asks for longer, the client
    /// stops retrying and returns the error (status `Exhausted`, carrying the `retry_after`) so
    /// the caller can reschedule instead of holding a task for minutes.
    pub max_retry_after: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            // Just over a minute: Okta's per-minute window resets within 60 s.
            max_retry_after: Duration::from_secs(65),
        }
    }
}

/// [`RetryConfig`] as it is written in configuration.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
struct RetryTable {
    /// Attempts in total, including the first (1: no retries).
    max_attempts: u32,
    /// First backoff delay in milliseconds (exponential with jitter from here).
    min_delay_ms: u64,
    /// Largest backoff delay in milliseconds.
    max_delay_ms: u64,
    /// Longest `Retry-After` waited for, in seconds; a longer one ends the retries.
    max_retry_after_secs: u64,
}

impl Default for RetryTable {
    fn default() -> Self {
        RetryConfig::default().into()
    }
}

impl From<RetryTable> for RetryConfig {
    fn from(table: RetryTable) -> Self {
        Self {
            max_attempts: table.max_attempts,
            min_delay: Duration::from_millis(table.min_delay_ms),
            max_delay: Duration::from_millis(table.max_delay_ms),
            max_retry_after: Duration::from_secs(table.max_retry_after_secs),
        }
    }
}

impl From<RetryConfig> for RetryTable {
    fn from(config: RetryConfig) -> Self {
        Self {
            max_attempts: config.max_attempts,
            min_delay_ms: config.min_delay.as_millis().try_into().unwrap_or(u64::MAX),
            max_delay_ms: config.max_delay.as_millis().try_into().unwrap_or(u64::MAX),
            max_retry_after_secs: config.max_retry_after.as_secs(),
        }
    }
}

impl JsonSchema for RetryConfig {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RetryConfig".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        RetryTable::json_schema(generator)
    }
}

impl RetryConfig {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }
}

struct Inner {
    vendor: &'static str,
    tenant: TenantId,
    base_url: Url,
    auth: Auth,
    retry: RetryConfig,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    /// The budget shared with other runners, if the registry has one.
    shared: Option<SharedLimit>,
    concurrency: Option<Arc<tokio::sync::Semaphore>>,
    budget: RateBudget,
    rate_headers: Option<Arc<dyn RateHeaders>>,
    error_parser: Arc<dyn ErrorParser>,
    default_headers: HeaderMap,
    timeout: Duration,
    http: reqwest::Client,
    redactor: Redactor,
}

/// The HTTP client every REST connector uses. Cheap to clone (an `Arc` inside).
///
/// One client talks to one vendor for one tenant. It joins paths onto the base URL, injects
/// auth, waits for the (tenant, vendor) rate limiter and budget, retries idempotent calls with
/// backoff that honours `Retry-After`, maps failures through [`parse_error`](crate::parse_error)
/// and traces every request in an `http.request` span. See the crate docs for an example.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("vendor", &self.inner.vendor)
            .field("tenant", &self.inner.tenant.as_str())
            .field("base_url", &self.inner.base_url.as_str())
            .field("auth", &self.inner.auth)
            .field("retry", &self.inner.retry)
            .field("rate_limited", &self.inner.limiter.is_some())
            .field("rate_headers", &self.inner.rate_headers)
            .field("error_parser", &self.inner.error_parser)
            .field(
                "default_headers",
                &self.inner.default_headers.keys().collect::<Vec<_>>(),
            )
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

/// Builds an [`HttpClient`].
pub struct HttpClientBuilder {
    vendor: &'static str,
    tenant: TenantId,
    base_url: Url,
    auth: Auth,
    retry: RetryConfig,
    quota: Option<Quota>,
    max_concurrency: Option<usize>,
    rate_limits: Option<RateLimits>,
    rate_headers: Option<Arc<dyn RateHeaders>>,
    error_parser: Arc<dyn ErrorParser>,
    default_headers: Vec<(String, HeaderValue)>,
    timeout: Duration,
    http: Option<reqwest::Client>,
    errors: Vec<String>,
}

impl fmt::Debug for HttpClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClientBuilder")
            .field("vendor", &self.vendor)
            .field("tenant", &self.tenant.as_str())
            .field("base_url", &self.base_url.as_str())
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Start building a client for `vendor` (a short static name such as `"okta"`) and `tenant`
    /// at `base_url` (keep its path: `https://graph.microsoft.com/v1.0/`).
    pub fn builder(vendor: &'static str, tenant: TenantId, base_url: Url) -> HttpClientBuilder {
        HttpClientBuilder {
            vendor,
            tenant,
            base_url,
            auth: Auth::None,
            retry: RetryConfig::default(),
            quota: None,
            max_concurrency: None,
            rate_limits: None,
            rate_headers: None,
            error_parser: Arc::new(StandardErrorParser),
            default_headers: Vec::new(),
            timeout: Duration::from_secs(crate::settings::DEFAULT_TIMEOUT_SECS),
            http: None,
            errors: Vec::new(),
        }
    }

    /// The vendor name.
    pub fn vendor(&self) -> &'static str {
        self.inner.vendor
    }

    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.inner.tenant
    }

    /// The base URL (always ending in `/`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// The shared budget of this (tenant, vendor): pause it directly when a connector learns its
    /// remaining budget from an endpoint (Autotask `ThresholdInformation`).
    pub fn rate_budget(&self) -> &RateBudget {
        &self.inner.budget
    }

    /// Scrub this client's secrets and credential-shaped text out of `text`.
    pub fn redact(&self, text: &str) -> String {
        self.inner.redactor.redact(text)
    }

    /// The URL for `path`: relative paths join onto the base URL (keeping its path); absolute
    /// URLs (a next-page link) are used as given but must have the base URL's origin, so a
    /// vendor-supplied link can never send our credentials to another host.
    pub fn url(&self, path: &str) -> Result<Url> {
        if path.starts_with("http://") || path.starts_with("https://") {
            let url = Url::parse(path).map_err(|e| {
                Error::invalid(format!(
                    "invalid absolute URL for {}: {e}",
                    self.inner.vendor
                ))
            })?;
            if url.origin() != self.inner.base_url.origin() {
                return Err(Error::invalid(format!(
                    "refusing to send {} credentials to {}: it is not the base URL's origin {}",
                    self.inner.vendor,
                    url.origin().ascii_serialization(),
                    self.inner.base_url.origin().ascii_serialization()
                )));
            }
            return Ok(url);
        }
        // URL parsing resolves `.` and `..` segments, even percent-encoded (`%2E%2E`): no
        // encoding keeps an id of `..` from climbing out of its collection, so such a segment
        // (and an empty one, which turns an item into its collection) is refused.
        let relative = path.trim_start_matches('/');
        let segments = relative.split(['?', '#']).next().unwrap_or_default();
        for segment in segments.split('/').filter(|_| !segments.is_empty()) {
            let bare = segment.to_ascii_lowercase().replace("%2e", ".");
            if bare.is_empty() || bare == "." || bare == ".." {
                return Err(Error::invalid(format!(
                    "refusing the {} path {path:?}: an empty, `.` or `..` segment would address                      another resource (an id taken from a ticket cannot be empty or a dot segment)",
                    self.inner.vendor
                )));
            }
        }
        // `./` keeps a first segment containing ':' from being read as a URL scheme.
        self.inner
            .base_url
            .join(&format!("./{relative}"))
            .map_err(|e| Error::invalid(format!("invalid path {path:?}: {e}")))
    }

    /// A GET request.
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    /// A POST request (not retried unless [`RequestBuilder::retry_safe`]).
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    /// A PUT request.
    pub fn put(&self, path: &str) -> RequestBuilder {
        self.request(Method::PUT, path)
    }

    /// A PATCH request (not retried unless [`RequestBuilder::retry_safe`]).
    pub fn patch(&self, path: &str) -> RequestBuilder {
        self.request(Method::PATCH, path)
    }

    /// A DELETE request.
    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }

    /// A request with any method.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let (url, error) = match self.url(path) {
            Ok(url) => (Some(url), None),
            Err(e) => (None, Some(Arc::new(e))),
        };
        RequestBuilder {
            client: self.clone(),
            operation: Cow::Owned(format!("{} {}", method.as_str(), path_only(path))),
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            retry_safe: false,
            timeout: None,
            error,
        }
    }
}

/// Most redirects followed for one request.
const MAX_REDIRECTS: usize = 5;

/// A redirect policy that follows at most five redirects, and only within the origin of the
/// original request. reqwest strips `Authorization` and `Cookie` on a cross-host redirect, but
/// not other secret headers (Autotask `Secret`, Hudu `x-api-key`): stopping at the origin keeps
/// every credential at the host it was meant for. A stopped redirect surfaces as its 3xx status.
pub fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_none_or(|first| first.origin() == attempt.url().origin());
        if attempt.previous().len() > MAX_REDIRECTS || !same_origin {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// The reqwest client used when none is injected: rustls, [`same_origin_redirects`]. Build
/// injected clients the same way (`reqwest::Client::builder().redirect(same_origin_redirects())`).
pub fn default_reqwest_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(same_origin_redirects())
        .build()
        // Building only fails when the TLS backend cannot initialise; fall back to the default
        // client, which then reports the same problem on the first request.
        .unwrap_or_default()
}

/// Percent-encode one path segment (an id, a UPN, a login taken from a ticket), so it cannot
/// add segments (`/`) or start a query (`?`). Unreserved characters and `@` stay readable. A
/// segment of `.` or `..` (or an empty one) cannot be made safe by encoding, since URL parsing
/// resolves `%2E%2E` too: [`HttpClient::url`] refuses such a path instead of sending it.
///
/// ```
/// use stackhand_http::encode_segment;
/// assert_eq!(encode_segment("jane@contoso.com"), "jane@contoso.com");
/// assert_eq!(encode_segment("../admin?x=1"), "..%2Fadmin%3Fx%3D1");
/// assert_eq!(encode_segment(".."), "%2E%2E");
/// ```
pub fn encode_segment(segment: &str) -> String {
    if segment == "." || segment == ".." {
        return segment.replace('.', "%2E");
    }
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The path part of a path or URL, without the query (queries can hold names and emails).
fn path_only(path: &str) -> &str {
    path.split(['?', '#']).next().unwrap_or(path)
}

impl HttpClientBuilder {
    /// How to authenticate (default [`Auth::None`]).
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Retry policy (default [`RetryConfig::default`]).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Limit requests with this quota, shared by every client of this (tenant, vendor).
    pub fn rate_limit(mut self, quota: Quota) -> Self {
        self.quota = Some(quota);
        self
    }

    /// The vendor's published rate, used unless the operator configured one
    /// (`http.requests_per_second`, applied by [`settings`](Self::settings)).
    pub fn default_rate_limit(mut self, quota: Quota) -> Self {
        self.quota.get_or_insert(quota);
        self
    }

    /// Allow at most `max` requests in flight at once, shared by every client of this
    /// (tenant, vendor) (Autotask limits threads per endpoint; Okta allows 75 concurrent
    /// transactions per org). The first value registered for a key wins.
    pub fn max_concurrency(mut self, max: usize) -> Self {
        self.max_concurrency = Some(max);
        self
    }

    /// Use this registry of per-(tenant, vendor) limits instead of [`RateLimits::global`].
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = Some(limits);
        self
    }

    /// Read the vendor's rate headers on every response and pause before the budget runs out.
    pub fn rate_headers(mut self, reader: Arc<dyn RateHeaders>) -> Self {
        self.rate_headers = Some(reader);
        self
    }

    /// Read the vendor's failed responses (default [`StandardErrorParser`]).
    pub fn error_parser(mut self, parser: Arc<dyn ErrorParser>) -> Self {
        self.error_parser = parser;
        self
    }

    /// Send this header on every request (ConnectWise `clientId`, an `Accept` version pin).
    /// Not for secrets: use [`Auth::Headers`].
    pub fn default_header(mut self, name: &str, value: &str) -> Self {
        match HeaderValue::from_str(value) {
            Ok(value) => self.default_headers.push((name.to_owned(), value)),
            Err(_) => self
                .errors
                .push(format!("default header {name} has an invalid value")),
        }
        self
    }

    /// Per-request timeout (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Use this HTTP client (share connection pools; tests inject one).
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Validate and build.
    pub fn build(self) -> Result<HttpClient> {
        if let Some(problem) = self.errors.first() {
            return Err(Error::invalid(format!(
                "{} client for tenant {}: {problem}",
                self.vendor, self.tenant
            )));
        }
        if !matches!(self.base_url.scheme(), "http" | "https") || self.base_url.cannot_be_a_base() {
            return Err(Error::invalid(format!(
                "{} base URL {} must be an http(s) URL",
                self.vendor, self.base_url
            )));
        }
        if self.retry.max_attempts == 0 {
            return Err(Error::invalid("retry max_attempts must be at least 1"));
        }
        self.auth.validate()?;
        let mut base_url = self.base_url;
        if !base_url.path().ends_with('/') {
            let path = format!("{}/", base_url.path());
            base_url.set_path(&path);
        }
        let mut default_headers = HeaderMap::new();
        default_headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("stackhand/", env!("CARGO_PKG_VERSION"))),
        );
        for (name, value) in self.default_headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::invalid(format!("invalid default header name {name:?}")))?;
            default_headers.insert(name, value);
        }
        let limits = self
            .rate_limits
            .unwrap_or_else(|| RateLimits::global().clone());
        let limiter = self
            .quota
            .map(|quota| limits.limiter(&self.tenant, self.vendor, quota));
        let concurrency = self
            .max_concurrency
            .map(|max| limits.concurrency(&self.tenant, self.vendor, max));
        let budget = limits.budget(&self.tenant, self.vendor);
        // The shared bucket runs at the client's own quota: one token per replenish interval.
        let shared = limits.shared().cloned().map(|budget| SharedLimit {
            budget,
            per_second: self
                .quota
                .map(|q| 1.0 / q.replenish_interval().as_secs_f64().max(1e-9)),
            burst: self.quota.map_or(1, |q| q.burst_size().get()),
        });
        let redactor = self.auth.register_secrets(Redactor::new());
        Ok(HttpClient {
            inner: Arc::new(Inner {
                vendor: self.vendor,
                tenant: self.tenant,
                base_url,
                auth: self.auth,
                retry: self.retry,
                limiter,
                concurrency,
                budget,
                shared,
                rate_headers: self.rate_headers,
                error_parser: self.error_parser,
                default_headers,
                timeout: self.timeout,
                http: self.http.unwrap_or_else(default_reqwest_client),
                redactor,
            }),
        })
    }
}

/// A successful response, with its body read.
#[derive(Clone)]
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
    url: Url,
    vendor: &'static str,
    tenant: TenantId,
    operation: String,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("url", &self.url.path())
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Response {
    /// The status code (always 2xx).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The URL that answered.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The operation name of the request.
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// Decode the body as JSON. A body that does not decode gives an `Invalid` (permanent) error
    /// naming the operation and the type that failed to parse.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| self.decode_error::<T>(&e.to_string()))
    }

    /// Decode the body as a JSON value.
    pub fn json_value(&self) -> Result<serde_json::Value> {
        self.json()
    }

    fn decode_error<T>(&self, detail: &str) -> Error {
        // serde's messages can quote values from the body: keep only the credential-free shape.
        Error::invalid(format!(
            "{} {}: could not parse the HTTP {} response body as {}: {}",
            self.vendor,
            self.operation,
            self.status.as_u16(),
            std::any::type_name::<T>(),
            crate::redact::redact(detail)
        ))
        .with_context("vendor", self.vendor)
        .with_context("tenant", self.tenant.as_str())
        .with_context("operation", self.operation.clone())
        .with_context("http_status", self.status.as_u16().to_string())
    }
}

/// A request being built. Cloneable, so a pager can repeat it with another page number.
#[derive(Clone)]
pub struct RequestBuilder {
    client: HttpClient,
    method: Method,
    url: Option<Url>,
    headers: HeaderMap,
    body: Option<(Vec<u8>, &'static str)>,
    operation: Cow<'static, str>,
    retry_safe: bool,
    timeout: Option<Duration>,
    error: Option<Arc<Error>>,
}

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("vendor", &self.client.inner.vendor)
            .field("method", &self.method)
            .field("path", &self.url.as_ref().map(Url::path))
            .field("operation", &self.operation)
            .field("retry_safe", &self.retry_safe)
            .finish_non_exhaustive()
    }
}

/// A request failure and whether the retry loop may try again.
/// A client's share of a [`SharedBudget`]: its rate, when it has a quota.
struct SharedLimit {
    budget: Arc<dyn SharedBudget>,
    per_second: Option<f64>,
    burst: u32,
}

impl SharedLimit {
    /// Wait until the shared bucket gives this request a token (or only until no shared pause
    /// holds, for a client without a quota). A budget that cannot be read stops the request:
    /// sending blind could exceed what every runner together may send.
    async fn wait(&self, tenant: &TenantId, vendor: &str) -> Result<()> {
        loop {
            let wait = match self.per_second {
                Some(rate) => self.budget.take(tenant, vendor, rate, self.burst).await?,
                // No quota: only pauses apply; a huge rate never runs out of tokens.
                None => self.budget.take(tenant, vendor, 1e9, u32::MAX).await?,
            };
            if wait.is_zero() {
                return Ok(());
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Share a pause with the other runners (best effort: this runner pauses anyway).
    async fn pause(&self, tenant: &TenantId, vendor: &str, delay: Duration) {
        if let Err(err) = self.budget.pause(tenant, vendor, delay).await {
            tracing::warn!(error = %err, "could not share a vendor pause with other runners");
        }
    }
}

struct Failure {
    error: Error,
    retryable: bool,
    /// The vendor never saw the request (token fetch failed, connection refused), so retrying
    /// is safe even for a non-idempotent method.
    unsent: bool,
}

impl Failure {
    fn may_retry(&self, method_may_retry: bool) -> bool {
        self.retryable && (method_may_retry || self.unsent)
    }
}

impl RequestBuilder {
    fn fail(&mut self, error: Error) {
        if self.error.is_none() {
            self.error = Some(Arc::new(error));
        }
    }

    /// Name the operation (`"get_user"`) for the tracing span and error context. Defaults to
    /// the method and path.
    pub fn operation(mut self, operation: impl Into<Cow<'static, str>>) -> Self {
        self.operation = operation.into();
        self
    }

    /// Mark a non-idempotent request (POST, PATCH) as safe to retry, for example a query sent
    /// as POST or a call the vendor deduplicates.
    pub fn retry_safe(mut self) -> Self {
        self.retry_safe = true;
        self
    }

    /// Override the client's timeout for this request (a slow export, a long-running cmdlet).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Append query parameters (serialized with `serde_urlencoded`: a struct, map or
    /// slice of pairs).
    pub fn query<Q: Serialize + ?Sized>(mut self, query: &Q) -> Self {
        match serde_urlencoded::to_string(query) {
            Ok(encoded) => {
                if let Some(url) = self.url.as_mut()
                    && !encoded.is_empty()
                {
                    let merged = match url.query() {
                        Some(existing) if !existing.is_empty() => format!("{existing}&{encoded}"),
                        _ => encoded,
                    };
                    url.set_query(Some(&merged));
                }
            }
            Err(e) => self.fail(Error::invalid(format!("could not encode the query: {e}"))),
        }
        self
    }

    /// Set or replace one query parameter (used by page-number paging).
    pub fn set_query_param(mut self, name: &str, value: &str) -> Self {
        if let Some(url) = self.url.as_mut() {
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != name)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let mut pairs = url.query_pairs_mut();
            pairs.clear();
            for (k, v) in &kept {
                pairs.append_pair(k, v);
            }
            pairs.append_pair(name, value);
        }
        self
    }

    /// Add a header (not for secrets: use [`Auth`]).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => {
                self.headers.insert(name, value);
            }
            _ => self.fail(Error::invalid(format!("invalid header {name:?}"))),
        }
        self
    }

    /// A JSON body (`Content-Type: application/json`).
    pub fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => self.body = Some((bytes, "application/json")),
            Err(e) => self.fail(Error::invalid(format!(
                "could not encode the JSON body: {e}"
            ))),
        }
        self
    }

    /// A form body (`application/x-www-form-urlencoded`).
    pub fn form<B: Serialize + ?Sized>(mut self, body: &B) -> Self {
        match serde_urlencoded::to_string(body) {
            Ok(encoded) => {
                self.body = Some((encoded.into_bytes(), "application/x-www-form-urlencoded"))
            }
            Err(e) => self.fail(Error::invalid(format!(
                "could not encode the form body: {e}"
            ))),
        }
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL so far (`None` if the path was invalid; `send` reports why).
    pub fn url(&self) -> Option<&Url> {
        self.url.as_ref()
    }

    /// The operation name (for error context).
    pub fn operation_name(&self) -> &str {
        &self.operation
    }

    /// The client this request belongs to.
    pub fn client(&self) -> &HttpClient {
        &self.client
    }

    /// The same request (headers, operation) against another URL with GET and no body: how
    /// next-page links are followed.
    pub(crate) fn follow(&self, url: &str) -> RequestBuilder {
        let mut next = self.client.request(Method::GET, url);
        next.headers = self.headers.clone();
        next.operation = self.operation.clone();
        next
    }

    fn may_retry(&self) -> bool {
        self.retry_safe
            || matches!(
                self.method,
                Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
            )
    }

    /// Send, and return the response if its status is 2xx; otherwise the mapped error.
    pub async fn send(self) -> Result<Response> {
        if let Some(error) = &self.error {
            return Err(crate::error::copy_error(error));
        }
        let Some(url) = self.url.clone() else {
            return Err(Error::invalid("the request has no URL"));
        };
        let inner = &self.client.inner;
        let span = tracing::info_span!(
            "http.request",
            tenant = %inner.tenant,
            vendor = inner.vendor,
            operation = %self.operation,
            method = %self.method,
            path = %url.path(),
            status = tracing::field::Empty,
            attempt = tracing::field::Empty,
        );
        self.send_with_retries(url).instrument(span).await
    }

    async fn send_with_retries(&self, url: Url) -> Result<Response> {
        let retry = self.client.inner.retry;
        let may_retry = self.may_retry();
        let backoff = ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(retry.min_delay)
            .with_max_delay(retry.max_delay)
            .with_max_times(retry.max_attempts.saturating_sub(1) as usize);
        let attempt = std::sync::atomic::AtomicU32::new(0);
        let result = (|| async {
            let n = attempt.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            tracing::Span::current().record("attempt", n);
            self.attempt(&url).await
        })
        .retry(backoff)
        .when(|f: &Failure| f.may_retry(may_retry))
        .adjust(|f: &Failure, backoff| {
            // `None` from the backoff means the attempts ran out.
            let backoff = backoff?;
            match f.error.retry_after() {
                Some(after) if after > retry.max_retry_after => None,
                Some(after) => Some(after),
                None => Some(backoff),
            }
        })
        .notify(|f: &Failure, delay| {
            tracing::warn!(
                error_kind = %f.error.kind(),
                delay_ms = delay.as_millis() as u64,
                "retrying after a temporary failure"
            );
        })
        .sleep(tokio::time::sleep)
        .await;
        match result {
            Ok(response) => Ok(response),
            Err(f) if f.may_retry(may_retry) => Err(f.error.exhausted()),
            Err(f) => Err(f.error),
        }
    }

    /// One attempt, including the single re-authentication after a 401.
    async fn attempt(&self, url: &Url) -> std::result::Result<Response, Failure> {
        let inner = &self.client.inner;
        let mut reauthenticated = false;
        loop {
            inner.budget.wait().await;
            if let Some(limiter) = &inner.limiter {
                limiter.until_ready().await;
            }
            if let Some(shared) = &inner.shared
                && let Err(error) = shared.wait(&inner.tenant, inner.vendor).await
            {
                return Err(Failure {
                    error: error.with_context("vendor", inner.vendor),
                    retryable: true,
                    unsent: true,
                });
            }
            // Held until the body is read; never closed, so acquiring cannot fail.
            let _permit = match &inner.concurrency {
                Some(semaphore) => semaphore.clone().acquire_owned().await.ok(),
                None => None,
            };
            let (request, bearer) = self.build_request(url).await?;
            let response = match inner.http.execute(request).await {
                Ok(response) => response,
                Err(e) => return Err(self.transport_failure(&e)),
            };
            let status = response.status();
            let headers = response.headers().clone();
            let vendor_pause = inner
                .rate_headers
                .as_ref()
                .and_then(|r| r.pause(&headers, SystemTime::now()));
            if let Some(pause) = vendor_pause {
                tracing::info!(
                    pause_ms = pause.as_millis() as u64,
                    "vendor rate budget spent; holding requests"
                );
                inner.budget.pause_for(pause);
                if let Some(shared) = &inner.shared {
                    shared.pause(&inner.tenant, inner.vendor, pause).await;
                }
            }
            let body = match response.bytes().await {
                Ok(body) => body.to_vec(),
                Err(e) => return Err(self.transport_failure(&e)),
            };
            tracing::Span::current().record("status", status.as_u16());
            if status.is_success() {
                return Ok(Response {
                    status,
                    headers,
                    body,
                    url: url.clone(),
                    vendor: inner.vendor,
                    tenant: inner.tenant.clone(),
                    operation: self.operation.to_string(),
                });
            }
            if status == StatusCode::UNAUTHORIZED
                && !reauthenticated
                && let (Auth::Bearer(source), Some(token)) = (&inner.auth, &bearer)
            {
                tracing::info!("HTTP 401: refreshing the access token and retrying once");
                source.invalidate(token).await;
                reauthenticated = true;
                continue;
            }
            // The access token in use is not known at build time: scrub it too.
            let redactor = match &bearer {
                Some(token) => inner.redactor.clone().with_secret(token.clone()),
                None => inner.redactor.clone(),
            };
            let mut error = build_error(
                &FailedResponse::new(status, &headers, &body),
                inner.error_parser.as_ref(),
                &redactor,
                Some(FailureContext {
                    vendor: inner.vendor,
                    tenant: inner.tenant.as_str(),
                    operation: &self.operation,
                }),
            );
            if status == StatusCode::TOO_MANY_REQUESTS {
                match error.retry_after() {
                    Some(after) => {
                        let pause = after.min(inner.retry.max_retry_after);
                        inner.budget.pause_for(pause);
                        if let Some(shared) = &inner.shared {
                            shared.pause(&inner.tenant, inner.vendor, pause).await;
                        }
                    }
                    // Okta sends no Retry-After: its reset header says how long to wait.
                    None => {
                        if let Some(pause) = vendor_pause {
                            error = error.with_retry_after(pause);
                        }
                    }
                }
            }
            let retryable = error.is_temporary();
            tracing::debug!(status = status.as_u16(), kind = %error.kind(), "request failed");
            return Err(Failure {
                error,
                retryable,
                unsent: false,
            });
        }
    }

    async fn build_request(
        &self,
        url: &Url,
    ) -> std::result::Result<(reqwest::Request, Option<SecretString>), Failure> {
        let inner = &self.client.inner;
        let mut builder = inner
            .http
            .request(self.method.clone(), url.clone())
            .timeout(self.timeout.unwrap_or(inner.timeout))
            .headers(inner.default_headers.clone())
            .headers(self.headers.clone());
        if let Some((body, content_type)) = &self.body {
            builder = builder
                .header(CONTENT_TYPE, *content_type)
                .body(body.clone());
        }
        let mut bearer = None;
        match &inner.auth {
            Auth::None => {}
            Auth::Basic { username, password } => {
                builder = builder.basic_auth(username, Some(password.expose_secret()));
            }
            Auth::Headers(headers) => {
                for (name, value) in headers {
                    // Validated at build time.
                    if let Ok(mut value) = HeaderValue::from_str(value.expose_secret()) {
                        value.set_sensitive(true);
                        builder = builder.header(name.clone(), value);
                    }
                }
            }
            Auth::Bearer(source) => {
                let token = source.token().await.map_err(|error| {
                    let retryable = error.kind() == ErrorKind::Transient
                        || error.kind() == ErrorKind::RateLimited;
                    Failure {
                        error: error
                            .with_context("vendor", inner.vendor)
                            .with_context("tenant", inner.tenant.as_str())
                            .with_context("operation", self.operation.to_string()),
                        retryable,
                        unsent: true,
                    }
                })?;
                let headers = source
                    .authorize(&token, &self.method, url)
                    .map_err(|error| Failure {
                        error,
                        retryable: false,
                        unsent: true,
                    })?;
                for (name, value) in headers {
                    let mut value =
                        HeaderValue::from_str(value.expose_secret()).map_err(|_| Failure {
                            error: Error::invalid(format!(
                                "the {name} auth header contains characters not allowed in a header"
                            )),
                            retryable: false,
                            unsent: true,
                        })?;
                    value.set_sensitive(true);
                    builder = builder.header(name, value);
                }
                bearer = Some(token);
            }
        }
        let request = builder.build().map_err(|e| Failure {
            error: Error::invalid(format!(
                "could not build the {} request: {}",
                self.operation,
                inner.redactor.redact(&e.without_url().to_string())
            )),
            retryable: false,
            unsent: true,
        })?;
        Ok((request, bearer))
    }

    fn transport_failure(&self, e: &reqwest::Error) -> Failure {
        let inner = &self.client.inner;
        let retryable = e.is_timeout() || e.is_connect() || e.is_request() || e.is_body();
        let kind = if retryable {
            ErrorKind::Transient
        } else {
            ErrorKind::Permanent
        };
        let what = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "failed in transport"
        };
        let detail = inner.redactor.redact(&error_chain(e));
        Failure {
            error: Error::new(
                kind,
                format!("{} {} {what}: {detail}", inner.vendor, self.operation),
            )
            .with_context("vendor", inner.vendor)
            .with_context("tenant", inner.tenant.as_str())
            .with_context("operation", self.operation.to_string()),
            retryable,
            unsent: e.is_connect(),
        }
    }

    /// Send, and decode a JSON body.
    pub async fn send_json<T: DeserializeOwned>(self) -> Result<T> {
        self.send().await?.json()
    }

    /// Send, and decode a JSON body; a 404 gives `Ok(None)` (a lookup that found nothing).
    pub async fn send_json_optional<T: DeserializeOwned>(self) -> Result<Option<T>> {
        match self.send().await {
            Ok(response) => response.json().map(Some),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Send, expecting no useful body (204 No Content, 202 Accepted).
    pub async fn send_empty(self) -> Result<()> {
        self.send().await.map(|_| ())
    }
}

/// The error and its causes, without the URL (it can carry query values).
fn error_chain(e: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&s.to_string());
        source = s.source();
    }
    if text.is_empty() {
        text = "no further detail".to_owned();
    }
    text
}
