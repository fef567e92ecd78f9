//! The testkit's conformance suite, building the connector through the registry from the
//! configuration an operator writes.

mod common;

use async_trait::async_trait;
use serde_json::{Value, json};
use stackhand_core::{
    ActionId, ActionRequest, Connector, IdempotencyKey, Principal, Registry, Result, TenantId,
    TicketQuery,
};
use stackhand_testkit::Spec;
use stackhand_testkit::conformance::{
    self, Fixture, Harness, PagingCase, PlanCase, Probe, Route, TENANT, Trial, TrialOutcome,
};
use stackhand_testkit::openapi::ObservedRequest;

const USER: &str = "stackhand-api@msp.example";
const CODE: &str = "CONFORMANCETRACKINGID77";
const SECRET: &str = "conformance-secret-9c2e";
const CODE_FILE: &str = "autotask.code";
const SECRET_FILE: &str = "autotask.secret";
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
        TenantId::new(TENANT).unwrap(),
        ActionId::from_static(action),
        &params,
        Principal::technician("tech@msp.example", &["msp.tech"]),
    )
    .unwrap()
}

#[async_trait]
impl Harness for AutotaskHarness {
    fn register(&self, registry: &mut Registry) {
        stackhand_autotask::register(registry);
    }

    fn vendor(&self) -> &'static str {
        stackhand_autotask::VENDOR
    }

    fn config(&self, server_url: &str) -> Value {
        json!({
            "base_url": server_url,
            "username": USER,
            "integration_code": {"file": CODE_FILE},
            "secret": {"file": SECRET_FILE},
            "http": {"retry": {"max_attempts": 3, "min_delay_ms": 1, "max_delay_ms": 5}},
        })
    }

    fn secret_files(&self) -> Vec<(String, String)> {
        vec![
            (CODE_FILE.into(), CODE.into()),
            (SECRET_FILE.into(), SECRET.into()),
        ]
    }

    fn secrets(&self) -> Vec<String> {
        // Both credentials are secret files, which the suite counts already.
        Vec::new()
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

    fn plan_cases(&self, _server_url: &str) -> Vec<PlanCase> {
        let builtin = stackhand_core::actions::builtin();
        let close = builtin
            .get(&ActionId::from_static("psa.close"))
            .unwrap()
            .clone();
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
        let problem_case = PlanCase::connector_action(
            "autotask.open_problem",
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

    fn spec(&self) -> Option<Spec> {
        Spec::load("autotask.json").ok()
    }
}

#[tokio::test]
async fn autotask_conforms() {
    let report = conformance::run(&AutotaskHarness).await;
    // Everything but the token trial (Autotask has no tokens) ran and passed.
    for trial in [
        Trial::Registry,
        Trial::Capabilities,
        Trial::Specs,
        Trial::PlanNoWrite,
        Trial::StatusMapping,
        Trial::RetryAfter,
        Trial::Paging,
        Trial::VendorSpec,
        Trial::NoSecretLeak,
    ] {
        assert!(
            matches!(report.outcome(trial), Some(TrialOutcome::Passed)),
            "{trial:?}: {:?}\n{report}",
            report.outcome(trial)
        );
    }
}
