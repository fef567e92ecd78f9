//! The Autotask REST client: zone discovery, the three auth headers, `/query` paging through
//! `nextPageUrl`, and pacing against the database's hourly threshold.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use stackhand_core::{BuildContext, Error, ErrorKind, Result};
use stackhand_http::{Auth, HeaderName, HttpClient, RequestBuilder, Response, Url};
use tokio::time::Instant;

use crate::VENDOR;
use crate::config::{AutotaskConfig, DEFAULT_PAGE_SIZE, ThresholdConfig, rest_root};
use crate::error::AutotaskErrorParser;
use crate::models::{
    FieldInformation, FieldsResponse, ItemIdResponse, ItemResponse, QueryPage,
    ThresholdInformation, ZoneInformation,
};

/// Longest `GET …/query?search=` URL; longer queries are POSTed (Autotask's URLs stop working
/// at about 2,048 characters).
const MAX_GET_URL: usize = 2_000;

/// A query stops (rather than loop) after this many pages.
const MAX_PAGES: usize = 1_000;

/// The two secret credentials, resolved from their [`SecretRef`]s when the connector is built.
/// `Debug` shows neither.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    /// `ApiIntegrationCode`.
    pub(crate) integration_code: SecretString,
    /// `Secret`.
    pub(crate) secret: SecretString,
}

impl Credentials {
    /// Resolve both credentials for the context's tenant; an empty one is refused by name.
    pub(crate) async fn resolve(ctx: &BuildContext, config: &AutotaskConfig) -> Result<Self> {
        Ok(Self {
            integration_code: ctx
                .credential("integration_code", &config.integration_code)
                .await?,
            secret: ctx.credential("secret", &config.secret).await?,
        })
    }
}

/// One zone's API for one tenant.
#[derive(Debug)]
pub(crate) struct AutotaskClient {
    http: HttpClient,
    watcher: ThresholdWatcher,
    /// `MaxRecords` to send, when it differs from Autotask's own page size.
    max_records: Option<u32>,
}

/// A client for the REST root `root` (`…/ATServicesRest/`), on the host's shared pool and rate
/// limits, with the auth headers, the error parser and the `http` table applied.
fn build_http(
    ctx: &BuildContext,
    root: &Url,
    config: &AutotaskConfig,
    credentials: &Credentials,
) -> Result<HttpClient> {
    let base = root
        .join("V1.0/")
        .map_err(|e| Error::invalid(format!("{VENDOR}: invalid zone URL {root}: {e}")))?;
    let header = |name: &'static str| HeaderName::from_static(name);
    let auth = Auth::Headers(vec![
        (
            header("apiintegrationcode"),
            credentials.integration_code.clone(),
        ),
        (
            header("username"),
            SecretString::from(config.username.clone()),
        ),
        (header("secret"), credentials.secret.clone()),
    ]);
    let mut builder = HttpClient::for_context(ctx, VENDOR, base, &config.http)
        .auth(auth)
        .error_parser(std::sync::Arc::new(AutotaskErrorParser));
    if let Some(resource) = config.impersonation_resource_id {
        builder = builder.default_header("ImpersonationResourceId", &resource.to_string());
    }
    builder.build()
}

impl AutotaskClient {
    /// A client for a known zone (`base_url`, or the one discovery found). Makes no request.
    pub(crate) fn for_zone(
        ctx: &BuildContext,
        root: &Url,
        config: &AutotaskConfig,
        credentials: &Credentials,
    ) -> Result<Self> {
        let page_size = config.page_size()?;
        Ok(Self {
            http: build_http(ctx, &rest_root(root), config, credentials)?,
            watcher: ThresholdWatcher::new(config.threshold.clone()),
            // Autotask pages by 500 when no MaxRecords is named; naming it only when it differs
            // keeps the default queries exactly as Autotask documents them.
            max_records: (page_size != DEFAULT_PAGE_SIZE).then_some(page_size),
        })
    }

    /// Connect: use the configured zone, or discover it through `ZoneInformation`.
    pub(crate) async fn connect(
        ctx: &BuildContext,
        config: &AutotaskConfig,
        credentials: &Credentials,
    ) -> Result<Self> {
        let root = match &config.base_url {
            Some(url) => url.clone(),
            None => discover_zone(ctx, config, credentials).await?,
        };
        Self::for_zone(ctx, &root, config, credentials)
    }

    /// The versioned base URL (`…/ATServicesRest/V1.0/`).
    pub(crate) fn base_url(&self) -> &Url {
        self.http.base_url()
    }

    /// Send through the threshold watcher; a 429 holds further calls.
    async fn send(&self, request: RequestBuilder) -> Result<Response> {
        self.watcher.before_call(self).await?;
        let result = request.send().await;
        if let Err(error) = &result
            && error.kind() == ErrorKind::RateLimited
        {
            self.watcher.blocked();
        }
        result
    }

    /// `GET ThresholdInformation`, outside the watcher (it is how the watcher reads usage).
    pub(crate) async fn threshold(&self) -> Result<ThresholdInformation> {
        self.http
            .get("ThresholdInformation")
            .operation("threshold_information")
            .send_json()
            .await
    }

    /// `GET {Entity}/{id}`: `{"item":…}`, `None` when the item is `null`. The id is an integer,
    /// so it cannot reshape the path.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        entity: &str,
        id: i64,
        operation: &'static str,
    ) -> Result<Option<T>> {
        let response = self
            .send(
                self.http
                    .get(&format!("{entity}/{id}"))
                    .operation(operation),
            )
            .await?;
        Ok(response.json::<ItemResponse<T>>()?.item)
    }

    /// `GET {Entity}/entityInformation/fields`.
    pub(crate) async fn fields(&self, entity: &str) -> Result<Vec<FieldInformation>> {
        let response = self
            .send(
                self.http
                    .get(&format!("{entity}/entityInformation/fields"))
                    .operation("entity_fields"),
            )
            .await?;
        Ok(response.json::<FieldsResponse>()?.fields)
    }

    /// `POST` a new entity; the id created.
    pub(crate) async fn create<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
        operation: &'static str,
    ) -> Result<i64> {
        let response = self
            .send(self.http.post(path).json(body).operation(operation))
            .await?;
        Ok(response.json::<ItemIdResponse>()?.item_id)
    }

    /// `PATCH` an entity (the id in the body). Setting fields to values is idempotent, so it
    /// may be retried.
    pub(crate) async fn update(
        &self,
        path: &str,
        body: &Value,
        operation: &'static str,
    ) -> Result<i64> {
        let response = self
            .send(
                self.http
                    .patch(path)
                    .json(body)
                    .retry_safe()
                    .operation(operation),
            )
            .await?;
        Ok(response.json::<ItemIdResponse>()?.item_id)
    }

    /// Every record of `{Entity}/query` matching `filter`, following `nextPageUrl` to the end.
    ///
    /// Short queries go as `GET …/query?search=` (their next links carry the search); long ones
    /// (many ids in an `in`) as `POST …/query`, and each next link is posted the same body.
    pub(crate) async fn query<T: DeserializeOwned>(
        &self,
        entity: &str,
        filter: Vec<Value>,
        operation: &'static str,
    ) -> Result<Vec<T>> {
        let mut model = json!({ "filter": filter });
        if let Some(max) = self.max_records {
            model["MaxRecords"] = json!(max);
        }
        let search = model.to_string();
        let path = format!("{entity}/query");
        let get_url = self.http.url(&path).map(|mut url| {
            url.query_pairs_mut().append_pair("search", &search);
            url
        })?;
        let by_get = get_url.as_str().len() <= MAX_GET_URL;
        let request = |target: &str| {
            let request = if by_get {
                self.http.get(target)
            } else {
                self.http.post(target).json(&model).retry_safe()
            };
            request.operation(operation)
        };
        let mut next = request(if by_get { get_url.as_str() } else { &path });
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: QueryPage = self.send(next).await?.json()?;
            for item in page.items {
                out.push(serde_json::from_value(item).map_err(|e| {
                    Error::invalid(format!(
                        "{VENDOR} {operation}: a {entity} record did not parse: {e}"
                    ))
                })?);
            }
            let Some(url) = page
                .page_details
                .and_then(|p| p.next_page_url)
                .filter(|u| !u.is_empty())
            else {
                return Ok(out);
            };
            if !seen.insert(url.clone()) {
                return Err(Error::permanent(format!(
                    "{VENDOR} {operation}: the next-page link repeats a page already read"
                )));
            }
            next = request(&url);
        }
        Err(Error::permanent(format!(
            "{VENDOR} {operation}: more than {MAX_PAGES} pages; refusing to continue"
        )))
    }
}

/// Ask `ZoneInformation?user=` at the discovery URL which zone holds the database.
async fn discover_zone(
    ctx: &BuildContext,
    config: &AutotaskConfig,
    credentials: &Credentials,
) -> Result<Url> {
    let discovery = build_http(ctx, &rest_root(&config.discovery_url), config, credentials)?;
    let zone: ZoneInformation = discovery
        .get("ZoneInformation")
        .query(&[("user", config.username.as_str())])
        .operation("zone_information")
        .send_json()
        .await?;
    let url = Url::parse(&zone.url).map_err(|e| {
        Error::invalid(format!(
            "{VENDOR} zone discovery answered an invalid zone URL {:?}: {e}",
            zone.url
        ))
    })?;
    tracing::info!(zone = zone.zone_name.as_deref().unwrap_or(""), url = %url, "autotask zone discovered");
    Ok(url)
}

/// How fast to go at a given share of the hourly threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Below `slow_down_at`: no added delay.
    Full,
    /// Between `slow_down_at` and `stop_at`: space calls by this much.
    Slow(Duration),
    /// At or past `stop_at`: make no calls.
    Stop,
}

/// The pace for `usage` (0.0–1.0 of the threshold): no delay below `slow_down_at`, a delay
/// growing linearly to `max_delay` at `stop_at`, then stop.
pub fn pace(config: &ThresholdConfig, usage: f64) -> Pace {
    if usage >= config.stop_at {
        Pace::Stop
    } else if usage >= config.slow_down_at {
        let fraction = (usage - config.slow_down_at) / (config.stop_at - config.slow_down_at);
        let delay = config.max_delay().mul_f64(fraction.clamp(0.0, 1.0));
        // Past the line the API itself adds latency; never go at full speed there.
        Pace::Slow(delay.max(Duration::from_millis(50)))
    } else {
        Pace::Full
    }
}

/// Reads `ThresholdInformation` every `check_every` calls (ten times as often past
/// `slow_down_at`) and paces calls accordingly through the client's shared rate budget.
#[derive(Debug)]
struct ThresholdWatcher {
    config: ThresholdConfig,
    calls: AtomicU64,
    state: Mutex<WatchState>,
}

#[derive(Debug, Default)]
struct WatchState {
    last: Option<ThresholdInformation>,
    stopped_until: Option<Instant>,
    force_check: bool,
}

impl ThresholdWatcher {
    fn new(config: ThresholdConfig) -> Self {
        Self {
            config,
            calls: AtomicU64::new(0),
            state: Mutex::new(WatchState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WatchState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stopped(&self, last: Option<ThresholdInformation>, remaining: Duration) -> Error {
        let usage = last.map_or_else(String::new, |t| {
            format!(
                " ({} of {} requests of the last {} minutes used)",
                t.current_timeframe_request_count,
                t.external_request_threshold,
                t.request_threshold_timeframe
            )
        });
        Error::new(
            ErrorKind::RateLimited,
            format!(
                "{VENDOR}: holding calls: the database's hourly request threshold is nearly spent{usage}"
            ),
        )
        .with_retry_after(remaining)
        .with_context("vendor", VENDOR)
    }

    /// A 429 means the database is blocked: stop until usage is read again.
    fn blocked(&self) {
        let mut state = self.lock();
        state.stopped_until = Some(Instant::now() + self.config.stop_for());
        state.force_check = true;
    }

    /// Read usage when due, then hold this call as the pace demands: every call past the
    /// slow-down line waits its spacing, and past the stop line no call is made.
    async fn before_call(&self, client: &AutotaskClient) -> Result<()> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        let (due, last) = {
            let mut state = self.lock();
            if let Some(until) = state.stopped_until {
                let now = Instant::now();
                if now < until {
                    return Err(self.stopped(state.last, until - now));
                }
                state.stopped_until = None;
                state.force_check = true;
            }
            let busy = state
                .last
                .is_some_and(|t| pace(&self.config, t.usage()) != Pace::Full);
            let every = if busy {
                (u64::from(self.config.check_every) / 10).max(1)
            } else {
                u64::from(self.config.check_every)
            };
            let due = state.force_check || state.last.is_none() || n.is_multiple_of(every);
            (due, state.last)
        };
        let reading = if due {
            let reading = client.threshold().await?;
            let mut state = self.lock();
            state.last = Some(reading);
            state.force_check = false;
            reading
        } else {
            match last {
                Some(reading) => reading,
                None => return Ok(()),
            }
        };
        match pace(&self.config, reading.usage()) {
            Pace::Full => Ok(()),
            Pace::Slow(delay) => {
                if due {
                    tracing::info!(
                        used = reading.current_timeframe_request_count,
                        threshold = reading.external_request_threshold,
                        delay_ms = delay.as_millis() as u64,
                        "autotask hourly threshold past the slow-down line; spacing calls"
                    );
                }
                client.http.rate_budget().pause_for(delay);
                Ok(())
            }
            Pace::Stop => {
                tracing::warn!(
                    used = reading.current_timeframe_request_count,
                    threshold = reading.external_request_threshold,
                    "autotask hourly threshold nearly spent; holding calls"
                );
                self.lock().stopped_until = Some(Instant::now() + self.config.stop_for());
                Err(self.stopped(Some(reading), self.config.stop_for()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackhand_core::{SecretRef, TenantId};

    #[tokio::test]
    async fn credentials_resolve_for_the_tenant_and_a_blank_one_is_named() {
        let ctx = BuildContext::new(TenantId::new("acme").unwrap());
        let config = AutotaskConfig::new(
            "api@msp.example",
            SecretRef::value(SecretString::from("CODE")),
            SecretRef::value(SecretString::from("  ")),
        );
        let err = Credentials::resolve(&ctx, &config).await.unwrap_err();
        assert_eq!(err.context_value("key"), Some("secret"));
        assert!(
            err.message()
                .contains("secret (a value supplied in code) is empty"),
            "{err}"
        );

        // Another tenant's variable is out of reach, and the error names the key.
        let config = AutotaskConfig::new(
            "api@msp.example",
            SecretRef::env("STACKHAND_SECRET_GLOBEX__AUTOTASK_CODE"),
            SecretRef::value(SecretString::from("s3cret")),
        );
        let err = Credentials::resolve(&ctx, &config).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Forbidden);
        assert_eq!(err.context_value("key"), Some("integration_code"));
    }

    #[test]
    fn pace_is_full_then_slower_then_stops() {
        let config = ThresholdConfig::default();
        assert_eq!(pace(&config, 0.0), Pace::Full);
        assert_eq!(pace(&config, 0.49), Pace::Full);
        let Pace::Slow(early) = pace(&config, 0.55) else {
            panic!("slow past half");
        };
        let Pace::Slow(late) = pace(&config, 0.85) else {
            panic!("slow before the stop line");
        };
        assert!(
            early < late && late <= config.max_delay(),
            "{early:?} {late:?}"
        );
        assert_eq!(pace(&config, 0.9), Pace::Stop);
        assert_eq!(pace(&config, 1.0), Pace::Stop);
    }
}
