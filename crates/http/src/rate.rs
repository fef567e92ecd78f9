//! Rate limiting: a governor limiter and a vendor-reported budget per (tenant, vendor).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::HeaderMap;
use stackhand_core::TenantId;
use tokio::time::Instant;

/// The shared limits of one (tenant, vendor).
struct Limits {
    limiter: OnceLock<Arc<DefaultDirectRateLimiter>>,
    concurrency: OnceLock<Arc<tokio::sync::Semaphore>>,
    budget: RateBudget,
}

/// Limits keyed by (tenant, vendor).
type LimitsMap = HashMap<(TenantId, &'static str), Arc<Limits>>;

/// A rate budget shared beyond this process: several runners on one database take each
/// (tenant, vendor)'s requests from one bucket and see each other's pauses, so together they
/// stay within the vendor's limit. `stackhand-store` keeps it in the database; the runner
/// connects the two.
#[async_trait::async_trait]
pub trait SharedBudget: Send + Sync + fmt::Debug {
    /// Take one request of (tenant, vendor) from a bucket refilled at `per_second` holding at
    /// most `burst`; answers how long to wait before trying again (zero: the request may go).
    async fn take(
        &self,
        tenant: &TenantId,
        vendor: &str,
        per_second: f64,
        burst: u32,
    ) -> stackhand_core::Result<Duration>;

    /// Hold every runner's requests of (tenant, vendor) for `delay`.
    async fn pause(
        &self,
        tenant: &TenantId,
        vendor: &str,
        delay: Duration,
    ) -> stackhand_core::Result<()>;
}

/// A registry of rate limiters and budgets, one per (tenant, vendor).
///
/// Every [`HttpClient`](crate::HttpClient) for the same tenant and vendor shares one limiter and
/// one budget, so two connectors instances (or a connector and a health check) cannot together
/// exceed the vendor's limit. Clients use [`RateLimits::global`] unless given another registry
/// (tests inject their own for isolation). The first quota registered for a key wins.
#[derive(Clone, Default)]
pub struct RateLimits {
    inner: Arc<Mutex<LimitsMap>>,
    shared: Option<Arc<dyn SharedBudget>>,
}

impl fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.inner.lock().map(|m| m.len()).unwrap_or_default();
        f.debug_struct("RateLimits")
            .field("keys", &len)
            .field("shared", &self.shared)
            .finish()
    }
}

impl RateLimits {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// This registry, with every client's requests also taken from `shared` (a budget several
    /// runners share) and every pause also set there.
    pub fn with_shared(mut self, shared: Arc<dyn SharedBudget>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// The budget shared with other runners, if any.
    pub fn shared(&self) -> Option<&Arc<dyn SharedBudget>> {
        self.shared.as_ref()
    }

    /// The process-wide registry.
    pub fn global() -> &'static RateLimits {
        static GLOBAL: OnceLock<RateLimits> = OnceLock::new();
        GLOBAL.get_or_init(RateLimits::new)
    }

    fn entry(&self, tenant: &TenantId, vendor: &'static str) -> Arc<Limits> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still usable.
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.entry((tenant.clone(), vendor))
            .or_insert_with(|| {
                Arc::new(Limits {
                    limiter: OnceLock::new(),
                    concurrency: OnceLock::new(),
                    budget: RateBudget::default(),
                })
            })
            .clone()
    }

    /// The limiter of (tenant, vendor), created with `quota` if it does not exist yet.
    pub(crate) fn limiter(
        &self,
        tenant: &TenantId,
        vendor: &'static str,
        quota: Quota,
    ) -> Arc<DefaultDirectRateLimiter> {
        self.entry(tenant, vendor)
            .limiter
            .get_or_init(|| Arc::new(RateLimiter::direct(quota)))
            .clone()
    }

    /// The in-flight request permits of (tenant, vendor), created with `max` permits if they do
    /// not exist yet.
    pub(crate) fn concurrency(
        &self,
        tenant: &TenantId,
        vendor: &'static str,
        max: usize,
    ) -> Arc<tokio::sync::Semaphore> {
        self.entry(tenant, vendor)
            .concurrency
            .get_or_init(|| Arc::new(tokio::sync::Semaphore::new(max.max(1))))
            .clone()
    }

    /// The budget of (tenant, vendor).
    pub fn budget(&self, tenant: &TenantId, vendor: &'static str) -> RateBudget {
        self.entry(tenant, vendor).budget.clone()
    }
}

/// A pause shared by every request to one (tenant, vendor): set from vendor rate headers before
/// a 429 happens, from a 429's `Retry-After`, or directly by a connector (Autotask reads its
/// `ThresholdInformation` endpoint and pauses when the hourly budget is nearly spent).
///
/// Each request waits for the pause to end before it is sent.
#[derive(Clone, Default)]
pub struct RateBudget {
    paused_until: Arc<Mutex<Option<Instant>>>,
}

impl fmt::Debug for RateBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateBudget")
            .field("pause", &self.remaining_pause())
            .finish()
    }
}

impl RateBudget {
    /// Hold every request for `delay` from now. A longer pause already in force is kept.
    pub fn pause_for(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut paused = self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    /// Hold every request until the wall-clock time `at` (for example a reset time given in epoch
    /// seconds). A time in the past does nothing.
    pub fn pause_until(&self, at: SystemTime) {
        if let Ok(delay) = at.duration_since(SystemTime::now()) {
            self.pause_for(delay);
        }
    }

    /// Record a vendor-reported budget: when `remaining` is at or below `reserve`, pause until
    /// the window resets in `resets_in`.
    pub fn record(&self, remaining: u64, reserve: u64, resets_in: Duration) {
        if remaining <= reserve {
            self.pause_for(resets_in);
        }
    }

    /// How long requests are still held, if at all.
    pub fn remaining_pause(&self) -> Option<Duration> {
        let paused = *self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        paused
            .map(|until| until.saturating_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }

    /// Wait until no pause is in force. Loops because a pause can be extended while waiting.
    pub async fn wait(&self) {
        while let Some(delay) = self.remaining_pause() {
            tokio::time::sleep(delay).await;
        }
    }
}

/// Reads a vendor's rate-limit headers on every response and says how long to hold the next
/// request, so the client slows down before the vendor answers 429.
pub trait RateHeaders: Send + Sync + fmt::Debug {
    /// The pause to apply after a response with these headers, received at `now`; `None` when
    /// the budget is fine or the headers are absent.
    fn pause(&self, headers: &HeaderMap, now: SystemTime) -> Option<Duration>;
}

/// `X-Rate-Limit-Limit` / `X-Rate-Limit-Remaining` / `X-Rate-Limit-Reset` (UTC epoch seconds), as
/// sent by Okta on every response: when remaining is at or below `reserve`, pause until reset.
#[derive(Debug, Clone, Copy, Default)]
pub struct XRateLimitHeaders {
    /// Keep this many calls of the window in reserve (for other clients of the same org).
    pub reserve: u64,
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

impl RateHeaders for XRateLimitHeaders {
    fn pause(&self, headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
        let remaining = header_u64(headers, "x-rate-limit-remaining")?;
        if remaining > self.reserve {
            return None;
        }
        let reset = UNIX_EPOCH + Duration::from_secs(header_u64(headers, "x-rate-limit-reset")?);
        // The reset is whole seconds: wait into the next second so the window has really rolled.
        reset
            .duration_since(now)
            .ok()
            .map(|d| d + Duration::from_millis(100))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn okta_headers_pause_only_when_spent() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        h.insert("x-rate-limit-limit", HeaderValue::from_static("600"));
        h.insert("x-rate-limit-remaining", HeaderValue::from_static("5"));
        h.insert("x-rate-limit-reset", HeaderValue::from_static("1700000030"));
        let reader = XRateLimitHeaders { reserve: 2 };
        assert_eq!(reader.pause(&h, now), None);
        h.insert("x-rate-limit-remaining", HeaderValue::from_static("2"));
        assert_eq!(reader.pause(&h, now), Some(Duration::from_millis(30_100)));
        assert_eq!(reader.pause(&HeaderMap::new(), now), None);
    }

    #[tokio::test(start_paused = true)]
    async fn budget_pause_holds_and_extends() {
        let budget = RateBudget::default();
        budget.pause_for(Duration::from_secs(5));
        budget.pause_for(Duration::from_secs(1));
        let start = Instant::now();
        budget.wait().await;
        assert_eq!(start.elapsed().as_secs(), 5);
        assert_eq!(budget.remaining_pause(), None);
        budget.record(10, 0, Duration::from_secs(9));
        assert_eq!(budget.remaining_pause(), None);
        budget.record(0, 0, Duration::from_secs(9));
        assert!(budget.remaining_pause().is_some());
    }
}
