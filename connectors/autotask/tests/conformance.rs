//! The testkit's conformance suite.

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;
use serde_json::{Value, json};
use stackhand_autotask::{AutotaskConfig, AutotaskConnector};
use stackhand_core::{
    ActionId, ActionRequest, Connector, IdempotencyKey, Principal, Result, TicketQuery,
};
use stackhand_http::RateLimits;
use stackhand_testkit::conformance::{
    self, Fixture, Harness, PagingCase, PlanCase, Probe, Route, Trial, TrialOutcome,
};
use stackhand_testkit::openapi::ObservedRequest;

use common::{fast_retry, tenant};

const USER: &str = "stackhand-api@msp.example";
const CODE: &str = "CONFORMANCETRACKINGID77";
const SECRET: &str = "conformance-secret-9c2e";
const BASE: &str = "/ATServicesRest/V1.0";

struct AutotaskHarness;

fn route(rest: &str) -> Route {
    Route::get(&format!("{BASE}/{rest}"))
}

fn threshold() -> Fixture {
    Fixture::json(
        route("ThresholdInformation"),
        json!({"externalRequestThreshold": 10000, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 10}),
    )
}

fn picklist(values: &[(i64, &str)]) -> Value {
    values
        .iter()
        .map(|(v, l)| json!({"value": v.to_string(), "label": l, "isDefaultValue": false, "isActive": true, "isSystem": false}))
        .collect()
}

fn picklists() -> Vec<Fixture> {
    vec![
        Fixture::json(
            route("Tickets/entityInformation/fields"),
            json!({"fields": [
                {"name": "status", "isPickList": true, "picklistValues": picklist(&[(1, "New"), (5, "Complete")])},
                {"name": "queueID", "isPickList": true, "picklistValues": picklist(&[(29682833, "Help Desk")])},
                {"name": "ticketType", "isPickList": true, "picklistValues": picklist(&[(2, "Incident"), (3, "Problem")])}
            ]}),
        ),
        Fixture::json(
            route("TicketNotes/entityInformation/fields"),
            json!({"fields": [
                {"name": "publish", "isPickList": true, "picklistValues": picklist(&[(1, "All Autotask Users"), (2, "Internal Only")])},
                {"name": "noteType", "isPickList": true, "picklistValues": picklist(&[(13, "General")])}
            ]}),
        ),
    ]
}

fn ticket(id: i64) -> Value {
    json!({"id": id, "title": "Locked out", "description": "Please unlock.", "status": 1, "queueID": 29682833,
           "companyID": null, "contactID": null, "ticketType": 1, "createDate": "2025-03-01T13:55:40Z",
           "lastActivityDate": "2025-03-01T13:55:40Z"})
}

fn request(action: &'static str, params: Value) -> ActionRequest {
    ActionRequest::new(
        IdempotencyKey::new("conformance-1").unwrap(),
        tenant(),
        ActionId::from_static(action),
        &params,
        Principal::technician("tech@msp.example", &["msp.tech"]),
    )
    .unwrap()
}

#[async_trait]
impl Harness for AutotaskHarness {
    fn connector(&self, server_url: &str) -> Result<Arc<dyn Connector>> {
        let config =
            AutotaskConfig::new(USER, SecretString::from(CODE), SecretString::from(SECRET))
                .with_base_url(server_url.parse().expect("server url"));
        Ok(Arc::new(
            AutotaskConnector::builder(tenant(), config)
                .rate_limits(RateLimits::new())
                .retry(fast_retry())
                .build()?,
        ))
    }

    fn secrets(&self) -> Vec<String> {
        vec![SECRET.into(), CODE.into()]
    }

    fn probe(&self, _server_url: &str) -> Probe {
        Probe::new(Fixture::json(
            route("Companies/250"),
            json!({"item": {"id": 250, "companyName": "Acme Dental", "companyNumber": "ACME"}}),
        ))
        .and(threshold())
    }

    async fn run_probe(&self, connector: &dyn Connector) -> Result<()> {
        connector
            .psa()
            .expect("psa")
            .find_company("250")
            .await
            .map(drop)
    }

    fn error_body(&self, status: u16) -> Value {
        if status == 500 {
            // ASP.NET's body for an unhandled failure. Autotask's `errors` envelope on a 500 is a
            // business-rule refusal, which the connector maps to `invalid` (see the wiremock tests).
            json!({"Message": "An error has occurred."})
        } else {
            json!({"errors": [format!("Simulated failure with status {status}.")]})
        }
    }

    fn paging(&self, server_url: &str) -> Option<PagingCase> {
        let next = |token: &str| {
            format!("{server_url}{BASE}/Tickets/query/next?paging={token}&search=%7B%7D")
        };
        let mut case = PagingCase::new(3)
            .page(Fixture::json(
                route("Tickets/query"),
                json!({"items": [ticket(1)], "pageDetails": {"count": 1, "nextPageUrl": next("p2")}}),
            ))
            .page(Fixture::json(
                route("Tickets/query/next").with_query("paging", "p2"),
                json!({"items": [ticket(2)], "pageDetails": {"count": 1, "nextPageUrl": next("p3")}}),
            ))
            .page(Fixture::json(
                route("Tickets/query/next").with_query("paging", "p3"),
                json!({"items": [ticket(3)], "pageDetails": {"count": 1, "nextPageUrl": null}}),
            ))
            .page(threshold());
        for fixture in picklists() {
            case = case.page(fixture);
        }
        Some(case)
    }

    async fn run_paging(&self, connector: &dyn Connector) -> Result<usize> {
        let tickets = connector
            .psa()
            .expect("psa")
            .poll_tickets(&TicketQuery::default())
            .await?;
        Ok(tickets.len())
    }

    fn plan_cases(&self, server_url: &str) -> Vec<PlanCase> {
        let builtin = stackhand_core::actions::builtin();
        let close = builtin
            .get(&ActionId::from_static("psa.close"))
            .unwrap()
            .clone();
        let connector = self.connector(server_url).expect("connector");
        let open_problem = connector
            .actions()
            .into_iter()
            .find(|a| a.spec().id.as_str() == "autotask.open_problem")
            .expect("autotask.open_problem");
        let mut close_case = PlanCase::new(
            "psa.close",
            close,
            request(
                "psa.close",
                json!({"ticket": "98765", "resolution": "Unlocked."}),
            ),
        )
        .fixture(Fixture::json(
            route("Tickets/98765"),
            json!({"item": ticket(98765)}),
        ))
        .fixture(threshold());
        for fixture in picklists() {
            close_case = close_case.fixture(fixture);
        }
        let problem_case = PlanCase::new(
            "autotask.open_problem",
            open_problem,
            request(
                "autotask.open_problem",
                json!({"title": "VPN outage", "description": "Several users.", "incidents": ["98765"]}),
            ),
        )
        .fixture(Fixture::json(route("Tickets/98765"), json!({"item": ticket(98765)})))
        .fixture(threshold());
        vec![close_case, problem_case]
    }

    fn is_read(&self, request: &ObservedRequest) -> bool {
        match request.method.as_str() {
            "GET" | "HEAD" | "OPTIONS" => true,
            // Autotask reads by POSTing a query.
            "POST" => {
                let path = request.path.to_ascii_lowercase();
                path.ends_with("/query")
                    || path.ends_with("/query/next")
                    || path.ends_with("/query/count")
            }
            _ => false,
        }
    }
}

#[tokio::test]
async fn autotask_conforms() {
    let report = conformance::run(&AutotaskHarness).await;
    // Everything but the token trial (Autotask has no tokens) ran and passed.
    for trial in [
        Trial::Capabilities,
        Trial::Specs,
        Trial::PlanNoWrite,
        Trial::StatusMapping,
        Trial::RetryAfter,
        Trial::Paging,
        Trial::NoSecretLeak,
    ] {
        assert!(
            matches!(report.outcome(trial), Some(TrialOutcome::Passed)),
            "{trial:?}: {:?}\n{report}",
            report.outcome(trial)
        );
    }
}
