//! Shared test setup: the connector against the ConnectWise simulator, and spec validation.
#![allow(dead_code)] // each test binary uses a different part

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures::future::BoxFuture;
use secrecy::SecretString;
use stackhand_connectwise::{ConnectWise, ConnectWiseConfig};
use stackhand_core::{Connector, ExecutionProof, PsaWrites, Result, TenantId};
use stackhand_http::RetryConfig;
use stackhand_sim::connectwise::{CLIENT_ID, COMPANY_ID, ConnectWiseSim, PRIVATE_KEY, PUBLIC_KEY};
use stackhand_sim::{Faults, RecordedRequest, SimServer};
use stackhand_testkit::openapi::{ObservedRequest, Spec, assert_all_valid};
use stackhand_testkit::writes::through_engine;

/// The API prefix the connector uses with the default codebase.
pub const API: &str = "/v4_6_release/apis/3.0";

/// A fixed instant so seeded data is the same on every run.
pub fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap()
}

/// Fast retries that still honour `Retry-After`.
pub fn fast_retry() -> RetryConfig {
    RetryConfig {
        max_attempts: 3,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    }
}

pub fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

/// The demo credentials against `root` (no codebase: the connector discovers it).
pub fn config(root: &str) -> ConnectWiseConfig {
    ConnectWiseConfig::new(
        root.parse().unwrap(),
        COMPANY_ID,
        PUBLIC_KEY,
        SecretString::from(PRIVATE_KEY),
        CLIENT_ID,
    )
    .with_retry(fast_retry())
}

/// A running simulator and a connector scoped to one client company.
pub struct SimRig {
    pub sim: ConnectWiseSim,
    pub server: SimServer,
    pub connector: Arc<ConnectWise>,
}

impl SimRig {
    pub async fn start(company: &str) -> Self {
        Self::start_with(company, Faults::default()).await
    }

    pub async fn start_with(company: &str, faults: Faults) -> Self {
        let sim = ConnectWiseSim::seeded_at(anchor(), 7);
        let server = sim.start(faults).await.unwrap();
        let connector = Arc::new(
            ConnectWise::new(
                tenant(&company.to_lowercase()),
                config(&server.url()).with_company_identifier(company),
            )
            .unwrap(),
        );
        Self {
            sim,
            server,
            connector,
        }
    }

    /// Check every request the simulator received against the spec.
    pub fn assert_requests_match_spec(&self) {
        assert_spec(&self.server.recorder().requests());
    }
}

/// Make one PSA write the only way there is: as the execution of one request through a real
/// engine (`stackhand_testkit::writes::through_engine`), with the proof it issues, against the
/// connector's `PsaWrites`. Returns what the write returned, its error unchanged.
pub async fn psa_write<T, F>(connector: &Arc<ConnectWise>, write: F) -> Result<T>
where
    T: Send + 'static,
    F: for<'a> FnOnce(&'a ExecutionProof<'a>, &'a dyn PsaWrites) -> BoxFuture<'a, Result<T>>
        + Send
        + 'static,
{
    let connector = connector.clone();
    let tenant = connector.info().tenant.clone();
    through_engine(&tenant, move |proof| {
        Box::pin(async move {
            let psa = connector
                .psa_writes()
                .expect("connectwise offers the PSA writes");
            write(proof, psa).await
        })
    })
    .await
}

/// Validate every request against `connectwise-manage.json`, codebase discovery at the site
/// root (`/login/companyinfo/{companyId}`) included.
pub fn assert_spec<'r, R>(requests: &'r [R])
where
    for<'a> &'a R: Into<ObservedRequest>,
{
    let spec = Spec::load("connectwise-manage.json").unwrap();
    let observed: Vec<ObservedRequest> = requests.iter().map(Into::into).collect();
    assert_all_valid::<ObservedRequest>(&spec, &observed, API);
}

/// Recorded simulator requests of one method and path suffix.
pub fn recorded<'a>(
    requests: &'a [RecordedRequest],
    method: &str,
    suffix: &str,
) -> Vec<&'a RecordedRequest> {
    requests
        .iter()
        .filter(|r| r.method.as_str() == method && r.path.ends_with(suffix))
        .collect()
}
