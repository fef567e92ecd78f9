//! The conformance suite run against a small REST connector written here over reqwest, and
//! against broken variants of it, to show each trial catches what it is for.
//!
//! The demo vendor: an RMM at `{base}/api/devices` with an OAuth2 client-credentials token
//! from `{base}/oauth2/token`, errors as `{"error":{"code","message"}}`, pages as
//! `{"items":[...],"next":"<absolute url>"|null}`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stackhand_core::{
    ActionContext, ActionId, ActionRequest, BuildContext, Category, Connector,
    ConnectorDescription, ConnectorFactory, ConnectorInfo, Descriptor, Device, Error, ErrorKind,
    ExecutionProof, Health, IdempotencyKey, Outcome, Plan, Principal, Registry, Result, Risk, Rmm,
    RmmWrites, ScriptRun, SecretRef, StepStatus, TenantId, Typed, TypedAction,
};
use stackhand_testkit::Spec;
use stackhand_testkit::conformance::{
    self, Fixture, Harness, PagingCase, PlanCase, Probe, Route, TokenEndpoint, Trial, TrialOutcome,
};

const CLIENT_SECRET: &str = "demo-client-secret-8f3a61";
const ACCESS_TOKEN: &str = "demo-access-token-51c2e9";
const TOKEN_PATH: &str = "/oauth2/token";

/// The demo vendor's API document.
const DEMO_SPEC: &str = r##"
openapi: 3.0.3
info: {title: Demo RMM, version: "1"}
servers: [{url: "https://rmm.demo.example"}]
paths:
  /api/devices:
    get:
      parameters:
        - {name: q, in: query, required: true, schema: {type: string}}
        - {name: page, in: query, schema: {type: integer}}
        - $ref: "#/components/parameters/client"
      responses:
        "200":
          description: One page of devices.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/DevicePage"}
  /api/devices/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
      - $ref: "#/components/parameters/client"
    get:
      responses:
        "200":
          description: The device.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Device"}
  /api/devices/{id}/tags:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
      - $ref: "#/components/parameters/client"
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [tag]
              additionalProperties: false
              properties: {tag: {type: string}}
      responses:
        "204": {description: Tagged.}
components:
  parameters:
    client: {name: X-Demo-Client, in: header, required: true, schema: {type: string}}
  schemas:
    Device:
      type: object
      required: [id, name]
      properties:
        id: {type: string}
        name: {type: string}
        tags: {type: array, items: {type: string}}
        online: {type: boolean}
        last_user: {type: string, nullable: true}
    DevicePage:
      type: object
      required: [items]
      properties:
        items: {type: array, items: {$ref: "#/components/schemas/Device"}}
        next: {type: string, nullable: true}
"##;

// ---------------------------------------------------------------------------------------------
// The demo connector.

/// Deliberate defects, one per trial.
#[derive(Debug, Clone, Copy, Default)]
struct Defects {
    secret_in_debug: bool,
    token_in_logs: bool,
    not_found_is_permanent: bool,
    plan_writes: bool,
    ignores_retry_after: bool,
    token_per_call: bool,
    first_page_only: bool,
    undeclared_category: bool,
    secret_in_errors: bool,
    no_client_header: bool,
    /// Reads its configuration leniently, so a typo in a key goes unnoticed.
    ignores_unknown_keys: bool,
    /// A harness defect rather than a connector one: a fixture the vendor would never send.
    fixture_off_spec: bool,
}

struct DemoConfig {
    base_url: String,
    token_url: String,
    client_id: String,
    client_secret: SecretString,
    max_retries: u32,
    backoff: Duration,
}

struct DemoConnector {
    info: ConnectorInfo,
    config: DemoConfig,
    http: reqwest::Client,
    token: tokio::sync::Mutex<Option<String>>,
    defects: Defects,
}

impl fmt::Debug for DemoConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = if self.defects.secret_in_debug {
            self.config.client_secret.expose_secret()
        } else {
            "[REDACTED]"
        };
        f.debug_struct("DemoConnector")
            .field("base_url", &self.config.base_url)
            .field("client_id", &self.config.client_id)
            .field("client_secret", &secret)
            .finish()
    }
}

#[derive(Deserialize)]
struct Page {
    items: Vec<Device>,
    next: Option<String>,
}

/// The demo's configuration section, as written in `stackhand.toml`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct DemoSection {
    base_url: String,
    token_url: String,
    client_id: String,
    client_secret: SecretRef,
    #[serde(default)]
    http: DemoHttp,
}

#[derive(Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct DemoHttp {
    #[serde(default)]
    retry: DemoRetry,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
struct DemoRetry {
    max_attempts: u32,
    min_delay_ms: u64,
    max_delay_ms: u64,
}

impl Default for DemoRetry {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            min_delay_ms: 100,
            max_delay_ms: 1000,
        }
    }
}

/// The demo's factory: what the crate's `register` adds.
struct DemoFactory {
    defects: Defects,
}

fn categories(defects: Defects) -> Vec<Category> {
    let mut categories = vec![Category::Rmm];
    if defects.undeclared_category {
        categories.push(Category::Identity);
    }
    categories
}

#[async_trait]
impl ConnectorFactory for DemoFactory {
    fn vendor(&self) -> &'static str {
        "demo"
    }

    fn describe(&self) -> ConnectorDescription {
        ConnectorDescription {
            vendor: "demo".into(),
            summary: "A demo RMM".into(),
            categories: categories(self.defects),
            config_schema: serde_json::to_value(schemars::schema_for!(DemoSection)).unwrap(),
            actions: vec![Typed::<ResetAgent>::spec_of()],
        }
    }

    async fn build(&self, ctx: &BuildContext, config: Value) -> Result<Arc<dyn Connector>> {
        let section: DemoSection = if self.defects.ignores_unknown_keys {
            let mut config = config;
            if let Some(map) = config.as_object_mut() {
                map.retain(|key, _| {
                    [
                        "base_url",
                        "token_url",
                        "client_id",
                        "client_secret",
                        "http",
                    ]
                    .contains(&key.as_str())
                });
            }
            stackhand_core::config::section("demo", config)?
        } else {
            stackhand_core::config::section("demo", config)?
        };
        let config = DemoConfig {
            base_url: section.base_url,
            token_url: section.token_url,
            client_id: section.client_id,
            client_secret: ctx.secret(&section.client_secret).await?,
            max_retries: section.http.retry.max_attempts.saturating_sub(1),
            backoff: Duration::from_millis(section.http.retry.min_delay_ms),
        };
        Ok(Arc::new(DemoConnector::new(
            ctx.tenant().clone(),
            config,
            self.defects,
        )))
    }
}

impl DemoConnector {
    fn new(tenant: TenantId, config: DemoConfig, defects: Defects) -> Self {
        Self {
            info: ConnectorInfo {
                vendor: "demo".into(),
                tenant,
                categories: categories(defects),
            },
            config,
            http: reqwest::Client::new(),
            token: tokio::sync::Mutex::new(None),
            defects,
        }
    }

    /// The access token; the lock is held across the fetch so concurrent callers share one.
    async fn token(&self) -> Result<String> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            return Ok(token.clone());
        }
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.expose_secret()),
        ];
        let response = self
            .http
            .post(&self.config.token_url)
            .form(&form)
            .send()
            .await
            .map_err(transport)?;
        let body: Value = self.read(response).await?;
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| Error::permanent("the token response has no access_token"))?
            .to_string();
        if self.defects.token_in_logs {
            tracing::debug!(token = %token, "fetched an access token");
        } else {
            tracing::debug!(client_id = %self.config.client_id, "fetched an access token");
        }
        if !self.defects.token_per_call {
            *cached = Some(token.clone());
        }
        Ok(token)
    }

    /// Send with retries: temporary failures back off, honouring `Retry-After`.
    async fn send(&self, method: reqwest::Method, url: &str, body: Option<Value>) -> Result<Value> {
        let mut attempt = 0;
        loop {
            let token = self.token().await?;
            tracing::debug!(method = %method, url, attempt, "calling demo");
            let mut request = self.http.request(method.clone(), url).bearer_auth(&token);
            if !self.defects.no_client_header {
                request = request.header("X-Demo-Client", &self.config.client_id);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(transport)?;
            match self.read(response).await {
                Ok(value) => return Ok(value),
                Err(error) if error.kind() == ErrorKind::Unauthorized => {
                    *self.token.lock().await = None;
                    return Err(error);
                }
                Err(error) if error.is_temporary() && attempt < self.config.max_retries => {
                    let backoff = self.config.backoff * 2u32.pow(attempt);
                    let wait = match error.retry_after() {
                        Some(after) if !self.defects.ignores_retry_after => after,
                        _ => backoff,
                    };
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(error) => return Err(error.exhausted()),
            }
        }
    }

    async fn read(&self, response: reqwest::Response) -> Result<Value> {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_secs);
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status < 400 {
            return Ok(body);
        }
        Err(self.parse_error(status, retry_after, &body))
    }

    /// The one place HTTP failures become errors.
    fn parse_error(&self, status: u16, retry_after: Option<Duration>, body: &Value) -> Error {
        let kind = match status {
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 if self.defects.not_found_is_permanent => ErrorKind::Permanent,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            429 => ErrorKind::RateLimited,
            500..=599 => ErrorKind::Transient,
            _ => ErrorKind::Invalid,
        };
        let message = body["error"]["message"].as_str().unwrap_or("no message");
        let code = body["error"]["code"].as_str().unwrap_or("none");
        let mut error = Error::new(kind, format!("demo answered {status} {code}: {message}"))
            .with_context("vendor", "demo");
        if self.defects.secret_in_errors {
            error = error.with_context("client_secret", self.config.client_secret.expose_secret());
        }
        if let Some(after) = retry_after {
            error = error.with_retry_after(after);
        }
        error
    }

    fn device_url(&self, id: &str) -> String {
        format!("{}/api/devices/{id}", self.config.base_url)
    }
}

fn transport(error: reqwest::Error) -> Error {
    Error::new(ErrorKind::Transient, "demo could not be reached").with_source(error)
}

#[async_trait]
impl Connector for DemoConnector {
    fn info(&self) -> &ConnectorInfo {
        &self.info
    }

    async fn health(&self) -> Result<Health> {
        self.token().await?;
        Ok(Health {
            healthy: true,
            detail: "token fetched".into(),
        })
    }

    fn rmm(&self) -> Option<&dyn Rmm> {
        Some(self)
    }

    fn rmm_writes(&self) -> Option<&dyn RmmWrites> {
        Some(self)
    }

    fn actions(&self) -> Vec<Arc<dyn Action>> {
        vec![Typed::shared(ResetAgent {
            // The defect: the action keeps a raw route to the vendor, outside the capability
            // traits, where no proof is asked for.
            plan_writes: self
                .defects
                .plan_writes
                .then(|| self.config.base_url.to_string()),
        })]
    }
}

use stackhand_core::Action;

#[async_trait]
impl Rmm for DemoConnector {
    async fn find_devices(&self, query: &str) -> Result<Vec<Device>> {
        let mut url = reqwest::Url::parse(&format!("{}/api/devices", self.config.base_url))
            .map_err(|e| Error::invalid(format!("bad base URL: {e}")))?;
        url.query_pairs_mut().append_pair("q", query);
        let mut next = Some(url.to_string());
        let mut devices = Vec::new();
        while let Some(url) = next.take() {
            let page: Page =
                serde_json::from_value(self.send(reqwest::Method::GET, &url, None).await?)?;
            devices.extend(page.items);
            if !self.defects.first_page_only {
                next = page.next;
            }
        }
        Ok(devices)
    }

    async fn get_device(&self, id: &str) -> Result<Device> {
        let value = self
            .send(reqwest::Method::GET, &self.device_url(id), None)
            .await?;
        Ok(serde_json::from_value(value)?)
    }

    async fn script_run(&self, _device_id: &str, _run_id: &str) -> Result<ScriptRun> {
        Err(Error::unsupported("script_run on the demo RMM"))
    }
}

#[async_trait]
impl RmmWrites for DemoConnector {
    async fn add_tag(&self, _proof: &ExecutionProof<'_>, device_id: &str, tag: &str) -> Result<()> {
        let url = format!("{}/tags", self.device_url(device_id));
        self.send(reqwest::Method::POST, &url, Some(json!({"tag": tag})))
            .await
            .map(drop)
    }

    async fn remove_tag(
        &self,
        _proof: &ExecutionProof<'_>,
        device_id: &str,
        tag: &str,
    ) -> Result<()> {
        let url = format!("{}/tags/{tag}", self.device_url(device_id));
        self.send(reqwest::Method::DELETE, &url, None)
            .await
            .map(drop)
    }

    async fn run_script(
        &self,
        _proof: &ExecutionProof<'_>,
        _device_id: &str,
        _script: &str,
        _parameters: &str,
    ) -> Result<ScriptRun> {
        Err(Error::unsupported("run_script on the demo RMM"))
    }
}

/// `demo.reset_agent`: the connector's own action.
struct ResetAgent {
    /// The vendor's base URL, when the action has the plan-writes defect.
    plan_writes: Option<String>,
}

#[derive(Serialize, Deserialize, schemars::JsonSchema)]
struct ResetAgentParams {
    /// Device id.
    device: String,
}

#[async_trait]
impl TypedAction for ResetAgent {
    type Params = ResetAgentParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "demo.reset_agent",
        summary: "Restart the RMM agent on a device",
        category: Category::Rmm,
        risk: Risk::Low,
        reversible: false,
        idempotent: true,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let device = ctx.rmm()?.get_device(&params.device).await?;
        if let Some(base_url) = &self.plan_writes {
            // The defect: "checking" the agent by resetting it, through a raw client, since the
            // capability's writes need a proof a plan never has.
            reqwest::Client::new()
                .post(format!("{base_url}/api/devices/{}/tags", device.id))
                .json(&json!({"tag": "agent-reset"}))
                .send()
                .await
                .map_err(transport)?;
        }
        Ok(Plan::new(
            request.action.clone(),
            request.tenant.clone(),
            format!("Restart the agent on {}", device.name),
        ))
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        _plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        ctx.rmm_writes(proof)?
            .add_tag(proof, &params.device, "agent-reset")
            .await?;
        Ok(Outcome::new(StepStatus::Succeeded))
    }
}

// ---------------------------------------------------------------------------------------------
// The harness: what a connector crate writes.

#[derive(Default)]
struct DemoHarness {
    defects: Defects,
}

fn device(id: &str, tags: &[&str]) -> Value {
    json!({"id": id, "name": format!("LAPTOP-{id}"), "tags": tags, "online": true})
}

fn request(action: &'static str, params: Value) -> ActionRequest {
    ActionRequest::new(
        IdempotencyKey::new("ticket-4711").unwrap(),
        TenantId::new("acme").unwrap(),
        ActionId::from_static(action),
        &params,
        Principal::technician("tech@msp.example", &[]),
    )
    .unwrap()
}

#[async_trait]
impl Harness for DemoHarness {
    fn register(&self, registry: &mut Registry) {
        registry.register(Arc::new(DemoFactory {
            defects: self.defects,
        }));
    }

    fn vendor(&self) -> &'static str {
        "demo"
    }

    fn config(&self, server_url: &str) -> Value {
        json!({
            "base_url": server_url,
            "token_url": format!("{server_url}{TOKEN_PATH}"),
            "client_id": "demo-client",
            "client_secret": {"file": "demo.secret"},
            "http": {"retry": {"max_attempts": 3, "min_delay_ms": 5, "max_delay_ms": 5}},
        })
    }

    fn secret_files(&self) -> Vec<(String, String)> {
        vec![("demo.secret".into(), format!("{CLIENT_SECRET}\n"))]
    }

    fn secrets(&self) -> Vec<String> {
        vec![ACCESS_TOKEN.into()]
    }

    fn spec(&self) -> Option<Spec> {
        Some(Spec::parse("demo.yaml", DEMO_SPEC).expect("the demo document parses"))
    }

    fn token_endpoint(&self) -> Option<TokenEndpoint> {
        Some(TokenEndpoint::bearer(TOKEN_PATH, ACCESS_TOKEN))
    }

    fn probe(&self, _server_url: &str) -> Probe {
        let mut body = device("d1", &[]);
        if self.defects.fixture_off_spec {
            body["name"] = json!(42);
        }
        Probe::new(Fixture::json(Route::get("/api/devices/d1"), body))
    }

    async fn run_probe(&self, connector: &dyn Connector) -> Result<()> {
        let rmm = connector.rmm().ok_or_else(|| Error::unsupported("rmm"))?;
        rmm.get_device("d1").await.map(drop)
    }

    fn error_body(&self, status: u16) -> Value {
        json!({"error": {"code": format!("E{status}"), "message": format!("demo error {status}")}})
    }

    fn paging(&self, server_url: &str) -> Option<PagingCase> {
        let second = format!("{server_url}/api/devices?q=jane&page=2");
        Some(
            PagingCase::new(3)
                .page(Fixture::json(
                    Route::get("/api/devices").with_query("q", "jane"),
                    json!({"items": [device("d1", &[]), device("d2", &[])], "next": second}),
                ))
                .page(Fixture::json(
                    Route::get("/api/devices")
                        .with_query("q", "jane")
                        .with_query("page", "2"),
                    json!({"items": [device("d3", &[])], "next": null}),
                )),
        )
    }

    async fn run_paging(&self, connector: &dyn Connector) -> Result<usize> {
        let rmm = connector.rmm().ok_or_else(|| Error::unsupported("rmm"))?;
        Ok(rmm.find_devices("jane").await?.len())
    }

    fn plan_cases(&self, server_url: &str) -> Vec<PlanCase> {
        let builtin = stackhand_core::actions::builtin();
        let tag = builtin
            .get(&ActionId::from_static("rmm.tag_device"))
            .expect("core has rmm.tag_device")
            .clone();
        let reset_agent = Typed::shared(ResetAgent {
            plan_writes: self.defects.plan_writes.then(|| server_url.to_string()),
        });
        let read_d1 = Fixture::json(Route::get("/api/devices/d1"), device("d1", &["finance"]));
        vec![
            PlanCase::new(
                "tag a device",
                tag,
                request("rmm.tag_device", json!({"device": "d1", "tag": "vip"})),
            )
            .fixture(read_d1.clone()),
            PlanCase::new(
                "reset an agent",
                reset_agent,
                request("demo.reset_agent", json!({"device": "d1"})),
            )
            .fixture(read_d1)
            .fixture(
                Fixture::json(Route::post("/api/devices/d1/tags"), Value::Null).with_status(204),
            ),
        ]
    }
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[tokio::test]
async fn demo_connector_passes_every_trial() {
    let report = conformance::run(&DemoHarness::default()).await;
    assert_eq!(report.vendor, "demo");
    for (trial, outcome) in &report.trials {
        assert_eq!(
            outcome,
            &TrialOutcome::Passed,
            "{trial} did not pass:\n{report}"
        );
    }
    assert_eq!(report.trials.len(), Trial::ALL.len());
}

/// Run one trial on a defective connector; return its failures.
async fn failures_of(defects: Defects, trial: Trial) -> Vec<String> {
    let report = conformance::check_only(&DemoHarness { defects }, &[trial]).await;
    eprintln!("{report}");
    assert!(
        !report.to_string().contains(CLIENT_SECRET),
        "the report leaks: {report}"
    );
    assert!(
        !report.to_string().contains(ACCESS_TOKEN),
        "the report leaks: {report}"
    );
    match report.outcome(trial) {
        Some(TrialOutcome::Failed(failures)) => failures.clone(),
        other => panic!("{trial} should fail, got {other:?}:\n{report}"),
    }
}

#[track_caller]
fn assert_mentions(failures: &[String], text: &str) {
    assert!(
        failures.iter().any(|f| f.contains(text)),
        "expected a failure mentioning {text:?}: {failures:#?}"
    );
}

#[tokio::test]
async fn secret_in_debug_is_caught_without_repeating_it() {
    let failures = failures_of(
        Defects {
            secret_in_debug: true,
            ..Defects::default()
        },
        Trial::NoSecretLeak,
    )
    .await;
    assert_mentions(
        &failures,
        "secret #1 (25 chars) appears in Debug of the connector",
    );
    assert_mentions(&failures, "client_secret: \"<secret #1 (25 chars)>\"");
}

#[tokio::test]
async fn token_in_tracing_output_is_caught() {
    let failures = failures_of(
        Defects {
            token_in_logs: true,
            ..Defects::default()
        },
        Trial::NoSecretLeak,
    )
    .await;
    assert_mentions(&failures, "secret #2 (24 chars) appears in tracing output");
}

#[tokio::test]
async fn not_found_mapped_to_permanent_is_caught() {
    let failures = failures_of(
        Defects {
            not_found_is_permanent: true,
            ..Defects::default()
        },
        Trial::StatusMapping,
    )
    .await;
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert_mentions(&failures, "404: expected kind not_found, got permanent");
}

#[tokio::test]
async fn plan_that_writes_is_caught() {
    let failures = failures_of(
        Defects {
            plan_writes: true,
            ..Defects::default()
        },
        Trial::PlanNoWrite,
    )
    .await;
    assert_eq!(
        failures,
        vec!["plan case reset an agent: the plan wrote: POST /api/devices/d1/tags".to_string()]
    );
}

#[tokio::test]
async fn retry_before_retry_after_is_caught() {
    let failures = failures_of(
        Defects {
            ignores_retry_after: true,
            ..Defects::default()
        },
        Trial::RetryAfter,
    )
    .await;
    assert_mentions(&failures, "before the 1000 ms Retry-After asked");
}

#[tokio::test]
async fn token_fetch_per_call_is_caught() {
    let failures = failures_of(
        Defects {
            token_per_call: true,
            ..Defects::default()
        },
        Trial::TokenSingleFlight,
    )
    .await;
    assert_mentions(&failures, "16 concurrent probes fetched a token 16 times");
}

#[tokio::test]
async fn stopping_after_the_first_page_is_caught() {
    let failures = failures_of(
        Defects {
            first_page_only: true,
            ..Defects::default()
        },
        Trial::Paging,
    )
    .await;
    assert_mentions(&failures, "the listing returned 2 items, expected 3");
    assert_mentions(
        &failures,
        "page GET /api/devices?q=jane&page=2 was never requested",
    );
}

#[tokio::test]
async fn undeclared_capability_is_caught() {
    let failures = failures_of(
        Defects {
            undeclared_category: true,
            ..Defects::default()
        },
        Trial::Capabilities,
    )
    .await;
    assert_eq!(
        failures,
        vec!["declares category identity but identity() returns None".to_string()]
    );
}

#[tokio::test]
async fn requests_off_the_vendor_document_are_caught() {
    let failures = failures_of(
        Defects {
            no_client_header: true,
            ..Defects::default()
        },
        Trial::VendorSpec,
    )
    .await;
    assert_mentions(
        &failures,
        "the connector sent GET /api/devices/d1: missing parameter: header X-Demo-Client",
    );
    assert_mentions(
        &failures,
        "the connector sent GET /api/devices?q=jane&page=2: missing parameter: header X-Demo-Client",
    );
}

#[tokio::test]
async fn fixtures_off_the_vendor_document_are_caught() {
    let failures = failures_of(
        Defects {
            fixture_off_spec: true,
            ..Defects::default()
        },
        Trial::VendorSpec,
    )
    .await;
    assert_eq!(
        failures,
        vec![
            "a fixture replays GET /api/devices/d1 -> 200: invalid response body: at /name: 42 is not of type \"string\"".to_string()
        ]
    );
}

#[tokio::test]
async fn secret_in_errors_is_caught_and_never_printed() {
    let defects = Defects {
        secret_in_errors: true,
        not_found_is_permanent: true,
        ..Defects::default()
    };
    let harness = DemoHarness { defects };
    let report =
        conformance::check_only(&harness, &[Trial::StatusMapping, Trial::NoSecretLeak]).await;
    let text = report.to_string();
    assert!(!text.contains(CLIENT_SECRET), "the report leaks: {text}");
    // The status failure quotes the error, with the secret replaced by its label.
    assert!(
        text.contains("got permanent: permanent (Permanent): demo answered 404 E404: demo error 404 {vendor=demo, client_secret=<secret #1 (25 chars)>}"),
        "{text}"
    );
    let Some(TrialOutcome::Failed(leaks)) = report.outcome(Trial::NoSecretLeak) else {
        panic!("the leak must be caught: {text}");
    };
    assert_mentions(
        leaks,
        "secret #1 (25 chars) appears in Display of an error (probe answered 401)",
    );
    assert_mentions(
        leaks,
        "secret #1 (25 chars) appears in Debug of an error (probe answered 401)",
    );
}

#[tokio::test]
async fn run_panics_listing_every_failed_trial() {
    let defects = Defects {
        not_found_is_permanent: true,
        first_page_only: true,
        ..Defects::default()
    };
    let outcome =
        tokio::spawn(async move { conformance::run(&DemoHarness { defects }).await }).await;
    let panic = outcome.expect_err("run must panic").into_panic();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("FAILED  status_mapping"), "{message}");
    assert!(message.contains("FAILED  paging"), "{message}");
    assert!(message.contains("ok      retry_after"), "{message}");
}

#[tokio::test]
async fn lenient_configuration_is_caught() {
    let failures = failures_of(
        Defects {
            ignores_unknown_keys: true,
            ..Defects::default()
        },
        Trial::Registry,
    )
    .await;
    assert_mentions(
        &failures,
        "unknown key \"conformance_unknown_key\" was accepted",
    );
}
