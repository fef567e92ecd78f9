//! Shared test setup: building the connector the one way there is, the connector against the
//! ConnectWise simulator, and spec validation.
#![allow(dead_code)] // each test binary uses a different part

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use futures::future::BoxFuture;
use secrecy::SecretString;
use stackhand_connectwise::{ConnectWise, ConnectWiseConfig};
use stackhand_core::{
    BuildContext, Connector, ExecutionProof, NewNote, Note, NoteVisibility, PsaWrites, Result,
    SecretRef, TenantId,
};
use stackhand_http::{HttpSettings, RetryConfig};
use stackhand_sim::connectwise::seed::OWN_COMPANY;
use stackhand_sim::connectwise::{CLIENT_ID, COMPANY_ID, ConnectWiseSim, PRIVATE_KEY, PUBLIC_KEY};
use stackhand_sim::world::World;
use stackhand_sim::{Faults, RecordedRequest, SimServer};
use stackhand_testkit::openapi::{ObservedRequest, Spec, assert_all_valid};
use stackhand_testkit::writes::through_engine;

/// The API prefix the connector uses with the default codebase.
pub const API: &str = "/v4_6_release/apis/3.0";

/// A fixed instant so seeded data is the same on every run.
pub fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap()
}

/// HTTP settings with fast retries that still honour `Retry-After`.
pub fn fast_http() -> HttpSettings {
    HttpSettings {
        retry: RetryConfig {
            max_attempts: 3,
            min_delay: std::time::Duration::from_millis(5),
            max_delay: std::time::Duration::from_millis(50),
            max_retry_after: std::time::Duration::from_secs(5),
        },
        ..HttpSettings::default()
    }
}

pub fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

/// The demo credentials against `root` (no codebase: the connector discovers it), the private
/// key supplied in code.
pub fn config(root: &str) -> ConnectWiseConfig {
    ConnectWiseConfig::new(
        root.parse().unwrap(),
        COMPANY_ID,
        PUBLIC_KEY,
        SecretRef::value(SecretString::from(PRIVATE_KEY)),
        CLIENT_ID,
    )
    .with_http(fast_http())
}

/// Build a connector for `tenant` with `config`, as the factory does.
pub async fn build(tenant_name: &str, config: ConnectWiseConfig) -> Arc<ConnectWise> {
    Arc::new(
        ConnectWise::build(&BuildContext::new(tenant(tenant_name)), config)
            .await
            .expect("a valid configuration builds"),
    )
}

/// A running simulator and a connector scoped to one client company.
pub struct SimRig {
    pub company: String,
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
        let connector = build(&company.to_lowercase(), sim_config(&server, company)).await;
        Self {
            company: company.to_string(),
            sim,
            server,
            connector,
        }
    }

    /// Another connector of the same tenant against the same simulator.
    pub async fn second_connector(&self) -> Arc<ConnectWise> {
        build(
            self.connector.info().tenant.as_str(),
            sim_config(&self.server, &self.company),
        )
        .await
    }

    /// Write straight to the simulator's API, as another integration would.
    async fn post_direct(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let response = reqwest::Client::new()
            .post(format!(
                "{}{}{path}",
                self.server.url(),
                self.sim.api_path()
            ))
            .basic_auth(format!("{COMPANY_ID}+{PUBLIC_KEY}"), Some(PRIVATE_KEY))
            .header("clientId", CLIENT_ID)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{path}");
        response.json().await.unwrap()
    }

    /// A ticket of the instance's own company (the MSP's), out of every client tenant's
    /// reach, made through the simulator's API.
    pub async fn own_company_ticket(&self) -> i64 {
        let ticket = self
            .post_direct(
                "/service/tickets",
                serde_json::json!({
                    "summary": "Renew the backup appliance licence",
                    "company": {"id": OWN_COMPANY},
                    "initialDescription": "The licence runs out at the end of the month."
                }),
            )
            .await;
        ticket["id"].as_i64().unwrap()
    }

    /// A contact of the instance's own company: one of the MSP's technicians.
    pub async fn own_company_contact(&self) -> (i64, String) {
        let world = World::builtin();
        let technician = &world.msp.technicians[0];
        let email = format!("{}@{}", technician.identifier, world.msp.domain);
        let contact = self
            .post_direct(
                "/company/contacts",
                serde_json::json!({
                    "firstName": technician.given, "lastName": technician.surname,
                    "company": {"id": OWN_COMPANY},
                    "communicationItems": [{"type": {"id": 1}, "value": email, "communicationType": "Email", "defaultFlag": true}]
                }),
            )
            .await;
        (contact["id"].as_i64().unwrap(), email)
    }

    /// Check every request the simulator received against the spec.
    pub fn assert_requests_match_spec(&self) {
        assert_spec(&self.server.recorder().requests());
    }
}

fn sim_config(server: &SimServer, company: &str) -> ConnectWiseConfig {
    config(&server.url()).with_company_identifier(company)
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

/// Add a note (not a resolution) through [`psa_write`].
pub async fn add_note(
    connector: &Arc<ConnectWise>,
    ticket: &str,
    text: &str,
    visibility: NoteVisibility,
) -> Result<Note> {
    let (ticket, text) = (ticket.to_string(), text.to_string());
    psa_write(connector, move |proof, psa| {
        Box::pin(async move {
            let note = NewNote {
                text,
                visibility,
                resolution: false,
            };
            psa.add_note(proof, &ticket, &note).await
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
