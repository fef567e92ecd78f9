//! The trials themselves.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::Value;
use stackhand_core::{
    ActionContext, ActionSpec, BuildContext, Category, Connector, ConnectorSet, Error, ErrorKind,
    Plan, Registry, RetryStatus,
};
use tracing::instrument::WithSubscriber;
use wiremock::MockServer;

use super::capture::Capture;
use super::fixture::{self, Arrivals, Fixture, Timed};
use super::{Harness, PlanCase, Trial, TrialOutcome};
use crate::conformance::Report;
use crate::deployment::SecretsDir;
use crate::openapi::ObservedRequest;

/// The statuses the status trial answers with, and the kind each must map to.
const STATUS_KINDS: [(u16, ErrorKind); 7] = [
    (401, ErrorKind::Unauthorized),
    (403, ErrorKind::Forbidden),
    (404, ErrorKind::NotFound),
    (409, ErrorKind::Conflict),
    (429, ErrorKind::RateLimited),
    (500, ErrorKind::Transient),
    (503, ErrorKind::Transient),
];

/// Every capability category, for the accessor check.
const CATEGORIES: [Category; 5] = [
    Category::Identity,
    Category::Psa,
    Category::Rmm,
    Category::Docs,
    Category::Messaging,
];

/// How many probes the token trial runs at once.
const CONCURRENT_PROBES: usize = 16;

/// How many received requests a failure lists (a runaway pager sends thousands).
const MAX_LISTED_REQUESTS: usize = 20;

/// The delay the `Retry-After` trial asks for.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Everything observable the leak check searches, gathered across trials.
#[derive(Default)]
struct Observed {
    /// (where it was seen, the text).
    texts: Mutex<Vec<(String, String)>>,
    /// Every request the mock servers received, for the vendor-spec trial.
    requests: Mutex<Vec<ObservedRequest>>,
}

impl Observed {
    fn note(&self, place: impl Into<String>, text: String) {
        self.texts.lock().push((place.into(), text));
    }

    fn note_error(&self, place: &str, error: &Error) {
        self.note(format!("Display of an error ({place})"), error.to_string());
        self.note(format!("Debug of an error ({place})"), format!("{error:?}"));
    }

    async fn note_requests(&self, server: &MockServer) {
        for request in server.received_requests().await.unwrap_or_default() {
            self.note("a request URL", request.url.to_string());
            self.requests.lock().push(ObservedRequest::from(&request));
        }
    }
}

struct Suite<'h, H: ?Sized> {
    harness: &'h H,
    observed: Observed,
    capture: Capture,
    /// The secrets directory: `<dir>/<tenant>/<name>` for each of the harness's secret files.
    secrets_dir: SecretsDir,
}

/// The tenant every connector is built for.
pub const TENANT: &str = "acme";

/// Another tenant, which must not reach [`TENANT`]'s secrets.
const OTHER_TENANT: &str = "globex";

/// A key no connector's configuration has.
const UNKNOWN_KEY: &str = "conformance_unknown_key";

type Failures = Vec<String>;

pub(super) async fn run<H: Harness + ?Sized>(harness: &H, selected: &[Trial]) -> Report {
    let secrets_dir = secrets_dir(harness);
    let suite = Suite {
        harness,
        observed: Observed::default(),
        capture: Capture::default(),
        secrets_dir,
    };
    let dispatch = suite.capture.dispatch();
    let vendor = harness.vendor().to_string();
    let secrets = all_secrets(harness);
    let mut trials = Vec::new();
    for trial in Trial::ALL.into_iter().filter(|t| selected.contains(t)) {
        let outcome = match suite.trial(trial).with_subscriber(dispatch.clone()).await {
            // Failures quote errors, which may carry a leaked secret: the report never does.
            TrialOutcome::Failed(failures) => {
                TrialOutcome::Failed(failures.iter().map(|f| redact(f, &secrets)).collect())
            }
            other => other,
        };
        trials.push((trial, outcome));
    }
    Report { vendor, trials }
}

/// A temporary secrets directory holding the harness's files for [`TENANT`], and an empty
/// directory for [`OTHER_TENANT`].
fn secrets_dir<H: Harness + ?Sized>(harness: &H) -> SecretsDir {
    harness.secret_files().into_iter().fold(
        SecretsDir::new(&[TENANT, OTHER_TENANT]),
        |dir, (name, contents)| dir.with(TENANT, &name, &contents),
    )
}

/// The harness's secrets and the contents of its secret files.
pub(super) fn all_secrets<H: Harness + ?Sized>(harness: &H) -> Vec<String> {
    let mut secrets: Vec<String> = harness
        .secret_files()
        .into_iter()
        .map(|(_, contents)| contents.trim_end_matches(['\r', '\n']).to_string())
        .collect();
    secrets.extend(harness.secrets());
    secrets
}

/// `config` with every `{"file": name}` reference turned into one that climbs out of the tenant's
/// directory into [`TENANT`]'s (`../acme/name`).
fn reaching_into_tenant(config: &Value) -> (Value, usize) {
    match config {
        Value::Object(map) => {
            if let (1, Some(Value::String(name))) = (map.len(), map.get("file")) {
                let path = format!("../{TENANT}/{name}");
                return (serde_json::json!({ "file": path }), 1);
            }
            let mut count = 0;
            let map = map
                .iter()
                .map(|(k, v)| {
                    let (v, n) = reaching_into_tenant(v);
                    count += n;
                    (k.clone(), v)
                })
                .collect();
            (Value::Object(map), count)
        }
        Value::Array(items) => {
            let mut count = 0;
            let items = items
                .iter()
                .map(|v| {
                    let (v, n) = reaching_into_tenant(v);
                    count += n;
                    v
                })
                .collect();
            (Value::Array(items), count)
        }
        other => (other.clone(), 0),
    }
}

fn outcome(failures: Failures) -> TrialOutcome {
    if failures.is_empty() {
        TrialOutcome::Passed
    } else {
        TrialOutcome::Failed(failures)
    }
}

impl<H: Harness + ?Sized> Suite<'_, H> {
    async fn trial(&self, trial: Trial) -> TrialOutcome {
        match trial {
            Trial::Registry => self.registry_build().await,
            Trial::Capabilities => self.capabilities().await,
            Trial::Specs => self.specs().await,
            Trial::PlanNoWrite => self.plan_no_write().await,
            Trial::StatusMapping => self.status_mapping().await,
            Trial::RetryAfter => self.retry_after().await,
            Trial::TokenSingleFlight => self.token_single_flight().await,
            Trial::Paging => self.paging().await,
            Trial::VendorSpec => self.vendor_spec().await,
            Trial::NoSecretLeak => self.no_secret_leak().await,
        }
    }

    /// A fresh mock server with the token endpoint mounted.
    async fn server(&self) -> MockServer {
        let server = MockServer::start().await;
        if let Some(token) = self.harness.token_endpoint() {
            token.mount(&server).await;
        }
        server
    }

    /// The registry holding the harness's factory.
    fn fresh_registry(&self) -> Registry {
        let mut registry = Registry::new();
        self.harness.register(&mut registry);
        registry
    }

    /// A build context for `tenant`, reading secrets from the suite's directory.
    fn context(&self, tenant: &str) -> BuildContext {
        self.secrets_dir.context(tenant)
    }

    /// Build `config` through the registry for `tenant`.
    async fn build(
        &self,
        tenant: &str,
        config: Value,
    ) -> stackhand_core::Result<Arc<dyn Connector>> {
        self.fresh_registry()
            .build(&self.context(tenant), self.harness.vendor(), config)
            .await
    }

    /// Build the connector against `server` through the registry, noting its `Debug`.
    async fn connector(&self, server: &MockServer) -> Result<Arc<dyn Connector>, String> {
        let config = self.harness.config(&server.uri());
        let connector = self.build(TENANT, config).await.map_err(|e| {
            self.observed.note_error("building the connector", &e);
            format!("the registry could not build the connector: {e}")
        })?;
        self.observed
            .note("Debug of the connector", format!("{connector:?}"));
        self.observed.note(
            "alternate Debug of the connector",
            format!("{connector:#?}"),
        );
        Ok(connector)
    }

    async fn registry_build(&self) -> TrialOutcome {
        let mut failures = Vec::new();
        let registry = self.fresh_registry();
        let vendor = self.harness.vendor();
        let Some(description) = registry.describe().into_iter().find(|d| d.vendor == vendor) else {
            return TrialOutcome::Failed(vec![format!(
                "register() added no factory for vendor {vendor:?} (it added: {})",
                registry.vendors().collect::<Vec<_>>().join(", ")
            )]);
        };
        let server = self.server().await;
        let config = self.harness.config(&server.uri());
        match jsonschema::validator_for(&description.config_schema) {
            Ok(validator) => {
                for error in validator.iter_errors(&config) {
                    failures.push(format!(
                        "the factory's config schema refuses the harness's configuration at {}: {error}",
                        error.instance_path()
                    ));
                }
            }
            Err(e) => failures.push(format!("the factory's config schema does not compile: {e}")),
        }
        if let Err(e) = self.connector(&server).await {
            failures.push(e);
        }

        // A typo in a key is refused, naming the key.
        let mut typo = config.clone();
        match typo.as_object_mut() {
            Some(map) => {
                map.insert(UNKNOWN_KEY.into(), Value::Bool(true));
                match self.build(TENANT, typo).await {
                    Ok(_) => failures.push(format!(
                        "a configuration with the unknown key {UNKNOWN_KEY:?} was accepted"
                    )),
                    Err(e) => {
                        self.observed.note_error("an unknown key", &e);
                        if e.kind() != ErrorKind::Invalid || !e.to_string().contains(UNKNOWN_KEY) {
                            failures.push(format!(
                                "an unknown key gave {} without naming it: {e}",
                                e.kind()
                            ));
                        }
                    }
                }
            }
            None => failures.push("the harness's configuration is not a JSON object".into()),
        }

        // Another tenant's build cannot reach this tenant's secret files.
        let (reaching, references) = reaching_into_tenant(&config);
        if references == 0 && !self.harness.secret_files().is_empty() {
            failures.push(
                "the configuration names no {\"file\": ...} secret although the harness has secret files"
                    .into(),
            );
        }
        if references > 0 {
            match self.build(OTHER_TENANT, reaching).await {
                Ok(_) => failures.push(format!(
                    "tenant {OTHER_TENANT} built the connector with tenant {TENANT}'s secret files"
                )),
                Err(e) => {
                    self.observed.note_error("another tenant's secrets", &e);
                    if e.kind() != ErrorKind::Forbidden {
                        failures.push(format!(
                            "reading another tenant's secret file gave {}, not forbidden: {e}",
                            e.kind()
                        ));
                    }
                }
            }
        }
        outcome(failures)
    }

    /// Await a connector call with the harness's timeout, noting any error.
    async fn call<T>(
        &self,
        place: &str,
        call: impl Future<Output = stackhand_core::Result<T>>,
    ) -> Result<T, CallFailure> {
        match tokio::time::timeout(self.harness.call_timeout(), call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                self.observed.note_error(place, &error);
                Err(CallFailure::Error(error))
            }
            Err(_) => Err(CallFailure::TimedOut(self.harness.call_timeout())),
        }
    }

    async fn capabilities(&self) -> TrialOutcome {
        let server = self.server().await;
        let connector = match self.connector(&server).await {
            Ok(c) => c,
            Err(failure) => return TrialOutcome::Failed(vec![failure]),
        };
        let info = connector.info();
        let mut failures = Vec::new();
        if info.vendor.trim().is_empty() {
            failures.push("info().vendor is empty".to_string());
        }
        if info.categories.is_empty() {
            failures.push("info().categories is empty".to_string());
        }
        for category in CATEGORIES {
            let declared = info.categories.contains(&category);
            let offered = match category {
                Category::Identity => connector.identity().is_some(),
                Category::Psa => connector.psa().is_some(),
                Category::Rmm => connector.rmm().is_some(),
                Category::Docs => connector.docs().is_some(),
                Category::Messaging => connector.messaging().is_some(),
            };
            match (declared, offered) {
                (true, false) => failures.push(format!(
                    "declares category {} but {}() returns None",
                    category.as_str(),
                    category.as_str()
                )),
                (false, true) => failures.push(format!(
                    "{}() returns a capability but info().categories does not declare {}",
                    category.as_str(),
                    category.as_str()
                )),
                _ => {}
            }
        }
        outcome(failures)
    }

    async fn specs(&self) -> TrialOutcome {
        let server = self.server().await;
        let connector = match self.connector(&server).await {
            Ok(c) => c,
            Err(failure) => return TrialOutcome::Failed(vec![failure]),
        };
        let info = connector.info();
        let actions = connector.actions();
        let cases = self.harness.plan_cases(&server.uri());
        if actions.is_empty() && cases.is_empty() {
            return TrialOutcome::Skipped(
                "the connector has no actions and the harness no plan cases".into(),
            );
        }
        let mut failures = Vec::new();
        let mut own_ids = BTreeSet::new();
        for action in &actions {
            let spec = action.spec();
            if !own_ids.insert(spec.id.clone()) {
                failures.push(format!("{}: two actions share this id", spec.id));
                continue;
            }
            check_spec(spec, &mut failures);
            let namespace = spec.id.namespace();
            if namespace != info.vendor && !CATEGORIES.iter().any(|c| c.as_str() == namespace) {
                failures.push(format!(
                    "{}: a connector's action must be namespaced by its vendor ({}) or a category",
                    spec.id, info.vendor
                ));
            }
            if !info.categories.contains(&spec.category) {
                failures.push(format!(
                    "{}: needs category {} which the connector does not declare",
                    spec.id,
                    spec.category.as_str()
                ));
            }
        }
        let mut checked = own_ids;
        for case in &cases {
            let action = match &case.action {
                Some(action) => action.clone(),
                None => match actions.iter().find(|a| a.spec().id == case.request.action) {
                    Some(action) => action.clone(),
                    None => {
                        failures.push(format!(
                            "plan case {}: the connector has no action {}",
                            case.name, case.request.action
                        ));
                        continue;
                    }
                },
            };
            let spec = action.spec();
            if checked.insert(spec.id.clone()) {
                check_spec(spec, &mut failures);
            }
            if case.request.action != spec.id {
                failures.push(format!(
                    "plan case {}: the request names {} but the action is {}",
                    case.name, case.request.action, spec.id
                ));
            }
            if let Ok(validator) = jsonschema::validator_for(&spec.input_schema) {
                for error in validator.iter_errors(&case.request.params) {
                    failures.push(format!(
                        "plan case {}: params do not match {}'s input schema at {}: {error}",
                        case.name,
                        spec.id,
                        error.instance_path()
                    ));
                }
            }
        }
        outcome(failures)
    }

    /// Plan case `index` against its own fresh server (the fixtures are rebuilt for its
    /// address). `Err` when the connector cannot even be set up.
    async fn plan_case(&self, index: usize) -> Result<PlanRun, String> {
        let server = self.server().await;
        let case = self.harness.plan_cases(&server.uri()).swap_remove(index);
        fixture::mount(&server, &case.fixtures).await;
        let connector = self.connector(&server).await?;
        let tenant = connector.info().tenant.clone();
        let set = ConnectorSet::new(tenant)
            .with(connector)
            .map_err(|e| e.to_string())?;
        let action = match &case.action {
            Some(action) => action.clone(),
            None => set
                .all()
                .iter()
                .flat_map(|c| c.actions())
                .find(|a| a.spec().id == case.request.action)
                .ok_or_else(|| {
                    format!(
                        "plan case {}: the connector has no action {}",
                        case.name, case.request.action
                    )
                })?,
        };
        let ctx = ActionContext::new(Arc::new(set));
        let place = format!("plan of {}", case.name);
        let plan = self.call(&place, action.plan(&ctx, &case.request)).await;
        if let Ok(plan) = &plan {
            self.observed
                .note(format!("Debug of the {place}"), format!("{plan:?}"));
        }
        self.observed.note_requests(&server).await;
        Ok(PlanRun { case, server, plan })
    }

    async fn plan_no_write(&self) -> TrialOutcome {
        let probe_server = MockServer::start().await;
        let count = self.harness.plan_cases(&probe_server.uri()).len();
        if count == 0 {
            return TrialOutcome::Skipped("the harness has no plan cases".into());
        }
        let token_path = self.harness.token_endpoint().map(|t| t.path);
        let mut failures = Vec::new();
        for index in 0..count {
            let PlanRun { case, server, plan } = match self.plan_case(index).await {
                Ok(run) => run,
                Err(failure) => return TrialOutcome::Failed(vec![failure]),
            };
            match plan {
                Ok(plan) if plan.action != case.request.action => failures.push(format!(
                    "plan case {}: the plan is for {}, not {}",
                    case.name, plan.action, case.request.action
                )),
                Ok(_) => {}
                Err(failure) => failures.push(format!(
                    "plan case {}: the plan failed: {failure}{}",
                    case.name,
                    unmatched(&server, &case.fixtures).await
                )),
            }
            for request in server.received_requests().await.unwrap_or_default() {
                let observed = ObservedRequest::from(&request);
                let is_token =
                    observed.method == "POST" && Some(&observed.path) == token_path.as_ref();
                if !is_token && !self.harness.is_read(&observed) {
                    failures.push(format!(
                        "plan case {}: the plan wrote: {}",
                        case.name,
                        observed.describe()
                    ));
                }
            }
        }
        outcome(failures)
    }

    async fn vendor_spec(&self) -> TrialOutcome {
        let Some(spec) = self.harness.spec() else {
            return TrialOutcome::Skipped("the harness names no vendor API document".into());
        };
        // Exercise the successful paths here too, so the trial has requests when run alone.
        let server = self.server().await;
        let probe = self.harness.probe(&server.uri()).fixtures;
        fixture::mount(&server, &probe).await;
        let mut fixtures = probe;
        if let Ok(connector) = self.connector(&server).await {
            let _ = self
                .call("probe", self.harness.run_probe(&*connector))
                .await;
        }
        self.observed.note_requests(&server).await;
        let server = self.server().await;
        if let Some(paging) = self.harness.paging(&server.uri()) {
            fixture::mount(&server, &paging.pages).await;
            if let Ok(connector) = self.connector(&server).await {
                let _ = self
                    .call("paged listing", self.harness.run_paging(&*connector))
                    .await;
            }
            self.observed.note_requests(&server).await;
            fixtures.extend(paging.pages);
        }
        let count = self.harness.plan_cases(&server.uri()).len();
        for index in 0..count {
            if let Ok(run) = self.plan_case(index).await {
                fixtures.extend(run.case.fixtures);
            }
        }

        let token_path = self.harness.token_endpoint().map(|t| t.path);
        let mut failures = Vec::new();
        let mut seen = BTreeSet::new();
        let requests = self.observed.requests.lock().clone();
        for request in &requests {
            if request.method == "POST" && Some(&request.path) == token_path.as_ref() {
                continue;
            }
            let key = (request.describe(), request.body.clone());
            if !seen.insert(key) {
                continue;
            }
            if let Err(violation) = spec.validate_request(request) {
                failures.push(format!("the connector sent {violation}"));
            }
        }
        if requests.is_empty() {
            failures.push("no request reached the mock servers to check".into());
        }
        for fixture in &fixtures {
            if let Err(violation) = spec.validate_fixture(fixture) {
                failures.push(format!("a fixture replays {violation}"));
            }
        }
        outcome(failures)
    }

    async fn status_mapping(&self) -> TrialOutcome {
        let mut failures = Vec::new();
        for (status, kind) in STATUS_KINDS {
            let server = self.server().await;
            let body = self.harness.error_body(status);
            for fixture in &self.harness.probe(&server.uri()).fixtures {
                fixture
                    .route
                    .mock(fixture::response(status, &body, &[]))
                    .mount(&server)
                    .await;
            }
            let connector = match self.connector(&server).await {
                Ok(c) => c,
                Err(failure) => return TrialOutcome::Failed(vec![failure]),
            };
            let place = format!("probe answered {status}");
            match self.call(&place, self.harness.run_probe(&*connector)).await {
                Ok(()) => failures.push(format!("{status}: the probe succeeded")),
                Err(CallFailure::Error(error)) => {
                    if error.kind() != kind {
                        failures.push(format!(
                            "{status}: expected kind {kind}, got {}: {error}{}",
                            error.kind(),
                            unmatched(&server, &self.harness.probe(&server.uri()).fixtures).await
                        ));
                    }
                    let retryable = kind.is_retryable_by_default();
                    let status_ok = match error.status() {
                        RetryStatus::Permanent => !retryable,
                        RetryStatus::Temporary | RetryStatus::Exhausted => retryable,
                    };
                    if !status_ok {
                        failures.push(format!(
                            "{status}: expected a {} retry status, got {:?}: {error}",
                            if retryable {
                                "temporary or exhausted"
                            } else {
                                "permanent"
                            },
                            error.status()
                        ));
                    }
                }
                Err(timeout) => failures.push(format!("{status}: {timeout}")),
            }
            self.observed.note_requests(&server).await;
        }
        outcome(failures)
    }

    async fn retry_after(&self) -> TrialOutcome {
        let server = self.server().await;
        let probe = self.harness.probe(&server.uri());
        let Some(first) = probe.fixtures.first() else {
            return TrialOutcome::Failed(vec!["the probe has no fixtures".into()]);
        };
        let throttled = Arrivals::default();
        let retry_after = RETRY_AFTER.as_secs().to_string();
        first
            .route
            .mock(Timed {
                template: fixture::response(
                    429,
                    &self.harness.error_body(429),
                    &[("Retry-After".to_string(), retry_after)],
                ),
                arrivals: throttled.clone(),
            })
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        let hits = fixture::mount(&server, &probe.fixtures).await;
        let connector = match self.connector(&server).await {
            Ok(c) => c,
            Err(failure) => return TrialOutcome::Failed(vec![failure]),
        };
        let result = self
            .call("probe after a 429", self.harness.run_probe(&*connector))
            .await;
        self.observed.note_requests(&server).await;
        let mut failures = Vec::new();
        if let Err(failure) = result {
            failures.push(format!(
                "the probe failed after one 429 with Retry-After: {}: {failure}",
                RETRY_AFTER.as_secs()
            ));
        }
        let throttled_at = throttled.lock().first().copied();
        let retried_at = hits[0].lock().first().copied();
        match (throttled_at, retried_at) {
            (None, _) => failures.push(format!(
                "the probe never called its first route {}",
                first.route.describe()
            )),
            (Some(_), None) => failures.push(format!(
                "{} was not retried after the 429",
                first.route.describe()
            )),
            (Some(throttled), Some(retried)) => {
                let waited = retried.duration_since(throttled);
                if waited < RETRY_AFTER {
                    failures.push(format!(
                        "retried {} after {} ms, before the {} ms Retry-After asked",
                        first.route.describe(),
                        waited.as_millis(),
                        RETRY_AFTER.as_millis()
                    ));
                }
            }
        }
        outcome(failures)
    }

    async fn token_single_flight(&self) -> TrialOutcome {
        let Some(token) = self.harness.token_endpoint() else {
            return TrialOutcome::Skipped("the harness declares no token endpoint".into());
        };
        let server = self.server().await;
        fixture::mount(&server, &self.harness.probe(&server.uri()).fixtures).await;
        let connector = match self.connector(&server).await {
            Ok(c) => c,
            Err(failure) => return TrialOutcome::Failed(vec![failure]),
        };
        let calls = (0..CONCURRENT_PROBES)
            .map(|_| self.call("concurrent probe", self.harness.run_probe(&*connector)));
        let results = futures::future::join_all(calls).await;
        let mut failures: Failures = results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|f| format!("a concurrent probe failed: {f}"))
            .collect();
        let fetches = server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.method.as_str() == "POST" && r.url.path() == token.path)
            .count();
        self.observed.note_requests(&server).await;
        if fetches != 1 {
            failures.push(format!(
                "{CONCURRENT_PROBES} concurrent probes fetched a token {fetches} times from POST {}, expected once",
                token.path
            ));
        }
        outcome(failures)
    }

    async fn paging(&self) -> TrialOutcome {
        let server = self.server().await;
        let Some(case) = self.harness.paging(&server.uri()) else {
            return TrialOutcome::Skipped("the harness declares no paging case".into());
        };
        let hits = fixture::mount(&server, &case.pages).await;
        let connector = match self.connector(&server).await {
            Ok(c) => c,
            Err(failure) => return TrialOutcome::Failed(vec![failure]),
        };
        let mut failures = Vec::new();
        match self
            .call("paged listing", self.harness.run_paging(&*connector))
            .await
        {
            Ok(count) if count != case.expected_items => failures.push(format!(
                "the listing returned {count} items, expected {}",
                case.expected_items
            )),
            Ok(_) => {}
            Err(failure) => failures.push(format!(
                "the paged listing failed: {failure}{}",
                unmatched(&server, &case.pages).await
            )),
        }
        for (page, hit) in case.pages.iter().zip(&hits) {
            if hit.lock().is_empty() {
                failures.push(format!(
                    "page {} was never requested",
                    page.route.describe()
                ));
            }
        }
        self.observed.note_requests(&server).await;
        outcome(failures)
    }

    async fn no_secret_leak(&self) -> TrialOutcome {
        let secrets: Vec<String> = all_secrets(self.harness);
        if secrets.iter().all(|s| s.is_empty()) {
            return TrialOutcome::Failed(vec![
                "the harness lists no secrets; list every credential the connector holds".into(),
            ]);
        }
        // Produce a success and two failures of our own, so the check has material even when
        // it runs alone.
        for status in [None, Some(401), Some(500)] {
            let server = self.server().await;
            let fixtures = self.harness.probe(&server.uri()).fixtures;
            match status {
                None => {
                    fixture::mount(&server, &fixtures).await;
                }
                Some(status) => {
                    let body = self.harness.error_body(status);
                    for f in &fixtures {
                        f.route
                            .mock(fixture::response(status, &body, &[]))
                            .mount(&server)
                            .await;
                    }
                }
            }
            if let Ok(connector) = self.connector(&server).await {
                // Outcomes were judged by the other trials; here only what they expose counts.
                let _ = self
                    .call("probe", self.harness.run_probe(&*connector))
                    .await;
            }
            self.observed.note_requests(&server).await;
        }
        self.observed.note("tracing output", self.capture.text());
        let mut failures = Vec::new();
        for (number, secret) in secrets.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
            let tag = secret_label(number, secret);
            let label = tag.trim_matches(|c| c == '<' || c == '>');
            let mut places = BTreeSet::new();
            for (place, text) in self.observed.texts.lock().iter() {
                if text.contains(secret.as_str()) && places.insert(place.clone()) {
                    failures.push(format!(
                        "{label} appears in {place}: ...{}...",
                        excerpt(text, secret, &tag)
                    ));
                }
            }
        }
        outcome(failures)
    }
}

/// One planned case, the server it ran against and the plan's result.
struct PlanRun {
    case: PlanCase,
    server: MockServer,
    plan: Result<Plan, CallFailure>,
}

/// Why a connector call did not succeed.
enum CallFailure {
    Error(Error),
    TimedOut(Duration),
}

impl std::fmt::Display for CallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallFailure::Error(e) => write!(f, "{e}"),
            CallFailure::TimedOut(after) => write!(f, "timed out after {} ms", after.as_millis()),
        }
    }
}

/// The action-spec checks shared by connector actions and plan-case actions.
fn check_spec(spec: &ActionSpec, failures: &mut Failures) {
    if spec.summary.trim().is_empty() {
        failures.push(format!("{}: empty summary", spec.id));
    }
    let schema = &spec.input_schema;
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        failures.push(format!(
            "{}: input_schema must be a JSON object schema (\"type\": \"object\"), got {}",
            spec.id,
            short(schema)
        ));
    }
    if let Err(e) = jsonschema::validator_for(schema) {
        failures.push(format!("{}: input_schema does not compile: {e}", spec.id));
    }
}

/// The requests that no fixture answered, for diagnosing a failed call.
async fn unmatched(server: &MockServer, fixtures: &[Fixture]) -> String {
    let requests = server.received_requests().await.unwrap_or_default();
    if requests.is_empty() {
        return " (no request reached the mock server)".into();
    }
    let mut described: Vec<String> = requests
        .iter()
        .take(MAX_LISTED_REQUESTS)
        .map(|r| ObservedRequest::from(r).describe())
        .collect();
    if requests.len() > MAX_LISTED_REQUESTS {
        described.push(format!("and {} more", requests.len() - MAX_LISTED_REQUESTS));
    }
    let routes: Vec<String> = fixtures.iter().map(|f| f.route.describe()).collect();
    format!(
        " (requests received: {}; fixtures: {})",
        described.join(", "),
        routes.join(", ")
    )
}

/// Replace every secret in `text` by its label.
fn redact(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.is_empty())
        .fold(text.to_string(), |text, (number, secret)| {
            text.replace(secret.as_str(), &secret_label(number, secret))
        })
}

/// `<secret #2 (24 chars)>`: which secret, without any of it.
fn secret_label(number: usize, secret: &str) -> String {
    format!(
        "<secret #{} ({} chars)>",
        number + 1,
        secret.chars().count()
    )
}

/// Text around a secret's first occurrence, with every occurrence replaced by its tag first,
/// so no fragment of the secret reaches the report.
fn excerpt(text: &str, secret: &str, tag: &str) -> String {
    let redacted = text.replace(secret, tag);
    let at = redacted.find(tag).unwrap_or(0);
    let start = floor_char_boundary(&redacted, at.saturating_sub(60));
    let end = floor_char_boundary(&redacted, (at + tag.len() + 60).min(redacted.len()));
    redacted[start..end].to_string()
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 120 {
        format!("{}...", &text[..floor_char_boundary(&text, 120)])
    } else {
        text
    }
}
