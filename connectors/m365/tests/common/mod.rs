//! Shared test setup: the connector built the one way there is (`M365Connector::build` with a
//! `BuildContext`) and pointed at the simulator or a mock, and spec validation of what they
//! received.

#![allow(dead_code)] // each test binary uses part of this module

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::Value;
use stackhand_core::{
    ActionId, ActionRequest, BuildContext, Engine, ExecutionProof, IdempotencyKey, Principal,
    Receipt, Result, SecretRef, TenantId,
};
use stackhand_http::{HttpSettings, RetryConfig};
use stackhand_m365::{M365Auth, M365Config, M365Connector};
use stackhand_sim::m365::{M365Sim, seed};
use stackhand_sim::{Faults, SimServer};
use stackhand_testkit::openapi::{ObservedRequest, Spec, assert_all_valid};
use stackhand_testkit::writes::through_engine;

/// HTTP settings with retries on, but fast.
pub fn fast_http() -> HttpSettings {
    HttpSettings {
        retry: RetryConfig {
            max_attempts: 3,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(5),
        },
        ..HttpSettings::default()
    }
}

/// A secret supplied in code, as tests and embedders do.
pub fn secret(value: &str) -> SecretRef {
    SecretRef::value(SecretString::from(value.to_string()))
}

/// The tenant id stackhand uses for contoso-law.
pub fn tenant() -> TenantId {
    TenantId::new("contoso-law").unwrap()
}

/// Build a connector for [`tenant`] from `config`.
pub async fn build(config: M365Config) -> Result<M365Connector> {
    M365Connector::build(&BuildContext::new(tenant()), config).await
}

/// Configuration pointing Graph, Exchange and the token endpoint at `server`.
pub fn config(server: &str) -> M365Config {
    M365Config::client_secret(
        seed::TENANT_ID,
        seed::CLIENT_ID,
        secret(seed::CLIENT_SECRET),
    )
    .with_server(server)
    .unwrap()
    .with_notify_sender("sokafor@contosolaw.com")
    .with_default_usage_location("US")
    .with_http(fast_http())
}

/// The simulator's configuration with other credentials.
pub fn config_with_auth(server: &str, auth: M365Auth) -> M365Config {
    let mut config = config(server);
    config.auth = auth;
    config
}

/// A seeded simulator, its server, and a connector pointed at it.
pub async fn start() -> (M365Sim, SimServer, M365Connector) {
    start_with(Faults::default()).await
}

/// The same with injected faults.
pub async fn start_with(faults: Faults) -> (M365Sim, SimServer, M365Connector) {
    let sim = M365Sim::seeded();
    let server = sim.start(faults).await.unwrap();
    let connector = build(config(&server.url())).await.unwrap();
    (sim, server, connector)
}

/// Graph requests; the token endpoint and Exchange's `InvokeCommand` are not Graph.
pub fn described_by_graph_spec(path: &str) -> bool {
    path.starts_with("/v1.0/")
}

/// Validate every Graph request the simulator recorded (or a wiremock server received)
/// against the bundled Graph document.
pub fn assert_graph_requests_valid<R: Into<ObservedRequest>>(
    requests: impl IntoIterator<Item = R>,
) {
    let spec = Spec::load("microsoft-graph.yaml").unwrap();
    let graph: Vec<ObservedRequest> = requests
        .into_iter()
        .map(Into::into)
        .filter(|r: &ObservedRequest| described_by_graph_spec(&r.path))
        .collect();
    assert_all_valid(&spec, &graph, "");
}

/// A write's future, borrowing the engine's proof.
pub type WriteFuture<'p, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'p>>;

/// Run one capability write the only way there is: through the engine, as one request in the
/// test tenant, with the proof the engine issued for it.
pub async fn write<T, F>(write: F) -> Result<T>
where
    T: Send + 'static,
    F: for<'p> FnOnce(&'p ExecutionProof<'p>) -> WriteFuture<'p, T> + Send + 'static,
{
    through_engine(&tenant(), write).await
}

/// An engine allowing everything, with `m365` as the test tenant's connector (and so its
/// `m365.*` actions).
pub fn engine(m365: &M365Connector) -> Engine {
    stackhand_testkit::writes::allow_all_engine(Arc::new(m365.clone()), "Contoso Law")
}

/// Submit `action` with `params` as a technician and return the receipt, asserting that it
/// executed without failure.
pub async fn execute(engine: &Engine, key: &str, action: &'static str, params: Value) -> Receipt {
    let request = ActionRequest::new(
        IdempotencyKey::new(key).unwrap(),
        tenant(),
        ActionId::from_static(action),
        &params,
        Principal::technician("tech@msp.example", &["msp.tech"]),
    )
    .unwrap()
    .with_reason("connector test");
    let answer = engine.submit(request).await.unwrap();
    let receipt = answer
        .receipt()
        .unwrap_or_else(|| panic!("{action} did not execute: {answer:?}"))
        .clone();
    assert!(
        receipt.failure.is_none(),
        "{action} failed: {:?}",
        receipt.failure
    );
    receipt
}
