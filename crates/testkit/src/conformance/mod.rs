//! The conformance suite every connector crate runs with one call.
//!
//! A connector crate implements [`Harness`] in its tests (about a hundred lines: how to build
//! the connector against a mock server, one read to probe with, the vendor's error body) and
//! calls [`run`]. The suite starts a fresh [`wiremock::MockServer`] per trial and runs the
//! trials that the connector's declared capabilities and the harness call for:
//!
//! | Trial | Runs when | Checks |
//! |---|---|---|
//! | [`Trial::Registry`] | always | [`Registry::build`] builds the connector from the harness's configuration; the factory's description (categories, actions) matches the connector, and its config schema accepts the configuration; an unknown key is refused naming the key; the same configuration built for another tenant cannot read this tenant's secret files |
//! | [`Trial::Capabilities`] | always | declared categories match the capability accessors |
//! | [`Trial::Specs`] | always | every action has an id in the connector's namespace, a summary, an object input schema that compiles, and the plan cases' parameters validate against it |
//! | [`Trial::PlanNoWrite`] | plan cases given | each plan succeeds while the mock sees only reads |
//! | [`Trial::StatusMapping`] | always | 401/403/404/409/429/500/503 map to unauthorized/forbidden/not_found/conflict/rate_limited/transient/transient, permanent for the first four and temporary or exhausted for the rest |
//! | [`Trial::RetryAfter`] | always | a 429 with `Retry-After: 1` is retried, and not before a second has passed |
//! | [`Trial::TokenSingleFlight`] | a token endpoint given | 16 concurrent probes cause exactly one token fetch |
//! | [`Trial::Paging`] | a paging case given | every page is fetched and every item returned |
//! | [`Trial::VendorSpec`] | a vendor document given | every request the connector sent during the trials (token calls aside) matches the document's paths, methods, parameters and body schemas, and every 2xx fixture body matches the documented response |
//! | [`Trial::NoSecretLeak`] | always | no secret in the connector's `Debug`, any error's `Display` or `Debug`, any plan's `Debug`, any request URL, or anything logged through `tracing` (captured at TRACE level) during the trials |
//!
//! Every failure message in the [`Report`] has the harness's secrets replaced by labels
//! (`<secret #1 (25 chars)>`), so a failing suite never prints a credential.
//!
//! `tracing` output is captured for the trial futures themselves. A task the connector spawns
//! is captured only if it carries the caller's subscriber
//! (`tokio::spawn(fut.with_current_subscriber())`, which is good practice anyway).
//!
//! See [`Harness`] for a complete example.

mod capture;
mod fixture;
mod trials;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use stackhand_core::{Action, ActionRequest, Connector, Error, Registry, Result};

pub use self::fixture::{Fixture, Route, TokenEndpoint};
pub use self::trials::TENANT;
use crate::openapi::{ObservedRequest, Spec};

/// What a connector crate supplies so the suite can exercise its connector.
///
/// Every method that takes `server_url` is called with the address of the trial's fresh mock
/// server (`http://127.0.0.1:PORT`, no trailing slash).
///
/// Build the connector with **retries enabled but fast**: at least one retry, a backoff of a
/// few milliseconds, and `Retry-After` honoured. The status trial then exhausts retries
/// quickly, and the `Retry-After` trial sees the retry.
///
/// # Example
///
/// The harness of an Okta-like identity connector: OAuth2 client credentials, users under
/// `/api/v1/users`, `Link`-header paging, Okta's error body. The connector's own type and
/// configuration keys (`org_url`, `auth`) stand for whatever the connector crate has;
/// everything from `stackhand_testkit`, `stackhand_core` and `stackhand_http` is real.
///
/// ```ignore
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// use async_trait::async_trait;
/// use serde_json::{Value, json};
/// use stackhand_core::{
///     ActionId, ActionRequest, Connector, IdempotencyKey, Principal, Registry, Result, TenantId,
///     UserQuery,
/// };
/// use stackhand_testkit::Spec;
/// use stackhand_testkit::conformance::{
///     self, Fixture, Harness, PagingCase, PlanCase, Probe, Route, TokenEndpoint,
/// };
///
/// const CLIENT_SECRET: &str = "okta-client-secret-for-tests";
/// const ACCESS_TOKEN: &str = "okta-access-token-for-tests";
/// const TOKEN_PATH: &str = "/oauth2/v1/token";
///
/// fn user(id: &str, login: &str) -> Value {
///     json!({"id": id, "status": "ACTIVE", "profile": {"login": login, "email": login}})
/// }
///
/// struct OktaHarness;
///
/// #[async_trait]
/// impl Harness for OktaHarness {
///     fn register(&self, registry: &mut Registry) {
///         stackhand_okta::register(registry);
///     }
///
///     fn vendor(&self) -> &'static str {
///         "okta"
///     }
///
///     // The section as an operator writes it; retries on, but fast: the status trial exhausts
///     // them in milliseconds.
///     fn config(&self, server_url: &str) -> Value {
///         json!({
///             "org_url": server_url,
///             "token_url": format!("{server_url}{TOKEN_PATH}"),
///             "auth": {"method": "client_secret", "client_id": "client-id",
///                      "client_secret": {"file": "okta.secret"}},
///             "http": {"retry": {"max_attempts": 3, "min_delay_ms": 1, "max_delay_ms": 5}},
///         })
///     }
///
///     fn secret_files(&self) -> Vec<(String, String)> {
///         vec![("okta.secret".into(), CLIENT_SECRET.into())]
///     }
///
///     fn secrets(&self) -> Vec<String> {
///         vec![ACCESS_TOKEN.into()]
///     }
///
///     fn token_endpoint(&self) -> Option<TokenEndpoint> {
///         Some(TokenEndpoint::bearer(TOKEN_PATH, ACCESS_TOKEN))
///     }
///
///     fn probe(&self, _server_url: &str) -> Probe {
///         Probe::new(Fixture::json(
///             Route::get("/api/v1/users/jane@acme.example"),
///             user("00u1", "jane@acme.example"),
///         ))
///     }
///
///     async fn run_probe(&self, connector: &dyn Connector) -> Result<()> {
///         let okta = connector.identity().expect("Okta offers identity");
///         okta.get_user("jane@acme.example").await.map(drop)
///     }
///
///     fn error_body(&self, status: u16) -> Value {
///         json!({"errorCode": "E0000007", "errorSummary": format!("Okta answered {status}"),
///                "errorLink": "E0000007", "errorId": "oae1", "errorCauses": []})
///     }
///
///     fn paging(&self, server_url: &str) -> Option<PagingCase> {
///         let next = format!("<{server_url}/api/v1/users?after=00u2&limit=200>; rel=\"next\"");
///         Some(
///             PagingCase::new(2)
///                 .page(
///                     Fixture::json(Route::get("/api/v1/users"), json!([user("00u1", "a@acme.example")]))
///                         .with_header("link", &next),
///                 )
///                 .page(Fixture::json(
///                     // One more query condition than the first page: this route wins.
///                     Route::get("/api/v1/users").with_query("after", "00u2"),
///                     json!([user("00u2", "b@acme.example")]),
///                 )),
///         )
///     }
///
///     async fn run_paging(&self, connector: &dyn Connector) -> Result<usize> {
///         let okta = connector.identity().expect("Okta offers identity");
///         let users = okta.find_users(&UserQuery::Name("a".into())).await?;
///         Ok(users.len())
///     }
///
///     fn plan_cases(&self, _server_url: &str) -> Vec<PlanCase> {
///         let unlock = stackhand_core::actions::builtin()
///             .get(&ActionId::from_static("identity.unlock"))
///             .expect("a built-in action")
///             .clone();
///         let request = ActionRequest::new(
///             IdempotencyKey::new("ticket-1").unwrap(),
///             TenantId::new("acme").unwrap(),
///             ActionId::from_static("identity.unlock"),
///             &json!({"user": "jane@acme.example"}),
///             Principal::end_user("jane@acme.example"),
///         )
///         .unwrap();
///         vec![PlanCase::new("unlock jane", unlock, request).fixture(Fixture::json(
///             Route::get("/api/v1/users/jane@acme.example"),
///             user("00u1", "jane@acme.example"),
///         ))]
///     }
///
///     fn spec(&self) -> Option<Spec> {
///         Spec::load("okta.yaml").ok()
///     }
///
///     // `is_read` keeps its default (GET, HEAD, OPTIONS): Okta has no read-only POSTs.
/// }
///
/// #[tokio::test]
/// async fn okta_conforms() {
///     conformance::run(&OktaHarness).await;
/// }
/// ```
///
/// The crate's own tests (`crates/testkit/tests/conformance.rs`) hold a complete, compiled
/// harness for a small REST connector.
#[async_trait]
pub trait Harness: Send + Sync {
    /// The connector crate's `register` function: the suite builds every connector through
    /// [`Registry::build`], exactly as a runner does.
    fn register(&self, registry: &mut Registry);

    /// The vendor key the connector registers under.
    fn vendor(&self) -> &'static str;

    /// The connector's configuration section as an operator writes it in `stackhand.toml`
    /// (here as JSON): base URL and token URL pointing at `server_url`, every credential a
    /// `{"file": "<name>"}` reference to one of [`secret_files`](Self::secret_files), and an
    /// `http.retry` table with retries on but fast (`{"max_attempts": 3, "min_delay_ms": 1,
    /// "max_delay_ms": 5}`).
    fn config(&self, server_url: &str) -> Value;

    /// The files of the tenant's secrets directory, `(name, contents)`. Their contents count
    /// as secrets for the leak check.
    fn secret_files(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Every other secret value the connector holds (the access token the token endpoint
    /// hands out). None may appear anywhere observable.
    fn secrets(&self) -> Vec<String>;

    /// The OAuth2 token endpoint, when the connector fetches tokens. The suite mounts it as
    /// `POST path` answering `body`.
    fn token_endpoint(&self) -> Option<TokenEndpoint> {
        None
    }

    /// One read operation's fixtures. The status trials answer the same routes with errors;
    /// the `Retry-After` trial throttles the first route once.
    fn probe(&self, server_url: &str) -> Probe;

    /// Call the probe's operation through the capability trait
    /// (`connector.identity().unwrap().get_user("jane@acme.example")`).
    async fn run_probe(&self, connector: &dyn Connector) -> Result<()>;

    /// The vendor's error body for an HTTP status (Graph's `{"error":{"code","message"}}`,
    /// Okta's `errorCode`/`errorSummary`, ConnectWise's `{code,message,errors}`, Autotask's
    /// `{"errors":[...]}`).
    fn error_body(&self, status: u16) -> Value;

    /// A listing spread over several pages, when the connector pages.
    fn paging(&self, _server_url: &str) -> Option<PagingCase> {
        None
    }

    /// Call the paged listing of [`paging`](Self::paging) and return how many items came back.
    async fn run_paging(&self, _connector: &dyn Connector) -> Result<usize> {
        Err(Error::unsupported(
            "run_paging (the harness declares a paging case but does not run it)",
        ))
    }

    /// Actions whose plan must succeed without writing anything: built-in ones from
    /// `stackhand_core::actions::builtin()` and the connector's own. The suite calls this
    /// once per case, each time with a fresh server's address, so return the same cases in
    /// the same order every time.
    fn plan_cases(&self, _server_url: &str) -> Vec<PlanCase> {
        Vec::new()
    }

    /// Whether a request only reads. `GET`, `HEAD` and `OPTIONS` by default; override to
    /// admit read-only `POST`s (Autotask `/query`, a Graph `$batch` of GETs, Exchange `Get-*`
    /// cmdlets).
    fn is_read(&self, request: &ObservedRequest) -> bool {
        matches!(request.method.as_str(), "GET" | "HEAD" | "OPTIONS")
    }

    /// The vendor's API document, with the prefix the connector puts before its paths and
    /// any paths to skip: `Spec::load("okta.yaml").ok()`,
    /// `Spec::load("microsoft-graph.yaml").ok().map(|s| s.with_prefix("/v1.0"))`. Every request
    /// the connector sends during the trials, and every fixture's 2xx response body, must
    /// match it. Requests to the token endpoint are not checked.
    fn spec(&self) -> Option<Spec> {
        None
    }

    /// How long one connector call may take before the trial fails.
    fn call_timeout(&self) -> Duration {
        Duration::from_secs(30)
    }
}

/// The fixtures for one read operation.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The routes the operation calls with their success responses; the first is the one the
    /// `Retry-After` trial throttles.
    pub fixtures: Vec<Fixture>,
}

impl Probe {
    /// A probe that makes one call.
    pub fn new(fixture: Fixture) -> Self {
        Self {
            fixtures: vec![fixture],
        }
    }

    /// A further call the operation makes.
    pub fn and(mut self, fixture: Fixture) -> Self {
        self.fixtures.push(fixture);
        self
    }
}

/// A listing spread over pages.
#[derive(Debug, Clone)]
pub struct PagingCase {
    /// Every page; each must be requested. A next-page URL usually repeats the first page's
    /// query, so give each later page more query conditions ([`Route::with_query`]) than the
    /// page before: the route with the most conditions answers.
    pub pages: Vec<Fixture>,
    /// How many items the listing must return in all.
    pub expected_items: usize,
}

impl PagingCase {
    /// A case expecting `expected_items` items.
    pub fn new(expected_items: usize) -> Self {
        Self {
            pages: Vec::new(),
            expected_items,
        }
    }

    /// Add a page (or any other fixture the listing needs).
    pub fn page(mut self, fixture: Fixture) -> Self {
        self.pages.push(fixture);
        self
    }
}

/// An action whose plan must only read.
#[derive(Clone)]
pub struct PlanCase {
    /// A name for messages.
    pub name: String,
    /// The action (a built-in one from `stackhand_core`), or `None` for one of the connector's
    /// own actions, taken from the connector the trial builds by the request's action id.
    pub action: Option<Arc<dyn Action>>,
    /// The request to plan.
    pub request: ActionRequest,
    /// The reads the plan makes, with their responses.
    pub fixtures: Vec<Fixture>,
}

impl fmt::Debug for PlanCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlanCase")
            .field("name", &self.name)
            .field("action", &self.request.action)
            .field("request", &self.request)
            .field("fixtures", &self.fixtures)
            .finish()
    }
}

impl PlanCase {
    /// A case with no fixtures yet.
    pub fn new(name: &str, action: Arc<dyn Action>, request: ActionRequest) -> Self {
        Self {
            name: name.to_string(),
            action: Some(action),
            request,
            fixtures: Vec::new(),
        }
    }

    /// A case for one of the connector's own actions (`okta.suspend`): the trial plans with the
    /// instance the connector it built returns from `Connector::actions()`, found by the
    /// request's action id.
    pub fn connector_action(name: &str, request: ActionRequest) -> Self {
        Self {
            name: name.to_string(),
            action: None,
            request,
            fixtures: Vec::new(),
        }
    }

    /// Add a read the plan makes.
    pub fn fixture(mut self, fixture: Fixture) -> Self {
        self.fixtures.push(fixture);
        self
    }
}

/// One trial of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Trial {
    /// The registry builds the connector from configuration; its description matches; unknown
    /// keys and another tenant's secrets are refused.
    Registry,
    /// Declared categories match the capability accessors.
    Capabilities,
    /// Action specs are complete and their schemas are object schemas.
    Specs,
    /// Plans only read.
    PlanNoWrite,
    /// HTTP statuses map to the right error kinds and retry statuses.
    StatusMapping,
    /// `Retry-After` is honoured.
    RetryAfter,
    /// One token fetch serves concurrent calls.
    TokenSingleFlight,
    /// Paging runs to the end.
    Paging,
    /// Every request sent and every fixture replayed matches the vendor's API document.
    VendorSpec,
    /// No secret is observable.
    NoSecretLeak,
}

impl Trial {
    /// Every trial, in the order the suite runs them (the leak check last, so it sees what
    /// the others produced).
    pub const ALL: [Trial; 10] = [
        Trial::Registry,
        Trial::Capabilities,
        Trial::Specs,
        Trial::PlanNoWrite,
        Trial::StatusMapping,
        Trial::RetryAfter,
        Trial::TokenSingleFlight,
        Trial::Paging,
        Trial::VendorSpec,
        Trial::NoSecretLeak,
    ];

    /// A short name.
    pub fn as_str(self) -> &'static str {
        match self {
            Trial::Registry => "registry",
            Trial::Capabilities => "capabilities",
            Trial::Specs => "specs",
            Trial::PlanNoWrite => "plan_no_write",
            Trial::StatusMapping => "status_mapping",
            Trial::RetryAfter => "retry_after",
            Trial::TokenSingleFlight => "token_single_flight",
            Trial::Paging => "paging",
            Trial::VendorSpec => "vendor_spec",
            Trial::NoSecretLeak => "no_secret_leak",
        }
    }
}

impl fmt::Display for Trial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one trial went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrialOutcome {
    /// Every check held.
    Passed,
    /// Not applicable to this connector, and why.
    Skipped(String),
    /// Every check that failed.
    Failed(Vec<String>),
}

/// What the suite found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The connector's vendor key (empty if the connector could not be built).
    pub vendor: String,
    /// Each trial selected, in the order run.
    pub trials: Vec<(Trial, TrialOutcome)>,
}

impl Report {
    /// Whether no trial failed.
    pub fn passed(&self) -> bool {
        self.failed().next().is_none()
    }

    /// The failed trials with their failures.
    pub fn failed(&self) -> impl Iterator<Item = (Trial, &[String])> + '_ {
        self.trials
            .iter()
            .filter_map(|(trial, outcome)| match outcome {
                TrialOutcome::Failed(failures) => Some((*trial, failures.as_slice())),
                _ => None,
            })
    }

    /// One trial's outcome, if it was selected.
    pub fn outcome(&self, trial: Trial) -> Option<&TrialOutcome> {
        self.trials
            .iter()
            .find(|(t, _)| *t == trial)
            .map(|(_, outcome)| outcome)
    }

    /// Panic listing every failure, if any.
    ///
    /// # Panics
    ///
    /// When a trial failed.
    pub fn assert_passed(&self) {
        assert!(self.passed(), "{self}");
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "conformance of connector {:?}:", self.vendor)?;
        for (trial, outcome) in &self.trials {
            match outcome {
                TrialOutcome::Passed => writeln!(f, "  ok      {trial}")?,
                TrialOutcome::Skipped(why) => writeln!(f, "  skipped {trial}: {why}")?,
                TrialOutcome::Failed(failures) => {
                    writeln!(f, "  FAILED  {trial}")?;
                    for failure in failures {
                        writeln!(f, "          - {failure}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Run every applicable trial and panic listing every failure.
///
/// ```ignore
/// #[tokio::test]
/// async fn conforms() {
///     stackhand_testkit::conformance::run(&MyHarness).await;
/// }
/// ```
///
/// # Panics
///
/// When any trial fails.
pub async fn run<H: Harness + ?Sized>(harness: &H) -> Report {
    let report = check(harness).await;
    report.assert_passed();
    report
}

/// Run every applicable trial and return the report without panicking.
pub async fn check<H: Harness + ?Sized>(harness: &H) -> Report {
    check_only(harness, &Trial::ALL).await
}

/// Run the selected trials (in the suite's order) and return the report.
pub async fn check_only<H: Harness + ?Sized>(harness: &H, selected: &[Trial]) -> Report {
    trials::run(harness, selected).await
}
