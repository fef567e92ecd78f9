//! The shared conformance suite, run against the ConnectWise connector built through its
//! factory from the section an operator would write.

mod common;

use async_trait::async_trait;
use common::{API, tenant};
use serde_json::{Value, json};
use stackhand_connectwise::VENDOR;
use stackhand_core::{
    ActionId, ActionRequest, Connector, IdempotencyKey, Principal, Registry, Result, TicketQuery,
};
use stackhand_sim::connectwise::{CLIENT_ID, COMPANY_ID, PRIVATE_KEY, PUBLIC_KEY};
use stackhand_testkit::Spec;
use stackhand_testkit::conformance::{self, Fixture, Harness, PagingCase, PlanCase, Probe, Route};

const KEY_FILE: &str = "connectwise.key";

struct ConnectWiseHarness;

/// The section as an operator writes it: a fixed codebase, the private key in a secret file,
/// two items a page so paging shows, and fast retries.
fn section(server_url: &str) -> Value {
    json!({
        "base_url": server_url,
        "codebase": "v4_6_release/",
        "company_id": COMPANY_ID,
        "public_key": PUBLIC_KEY,
        "private_key": {"file": KEY_FILE},
        "client_id": CLIENT_ID,
        "http": {
            "page_size": 2,
            "retry": {"max_attempts": 3, "min_delay_ms": 1, "max_delay_ms": 5}
        }
    })
}

fn ticket(id: i64) -> Value {
    json!({
        "id": id, "summary": "Password reset - Daniel Reyes",
        "board": {"id": 1, "name": "Help Desk"}, "status": {"id": 16, "name": "New"},
        "company": {"id": 250, "identifier": "CONTOSO-LAW", "name": "Contoso Law LLP"},
        "contact": {"id": 402, "name": "Daniel Reyes"}, "contactEmailAddress": "dreyes@contosolaw.com",
        "closedFlag": false,
        "_info": {"lastUpdated": "2026-10-31T14:02:11Z", "dateEntered": "2026-10-31T13:55:40Z"}
    })
}

fn contact() -> Value {
    json!({
        "id": 402, "firstName": "Daniel", "lastName": "Reyes", "inactiveFlag": false,
        "company": {"id": 250, "identifier": "CONTOSO-LAW", "name": "Contoso Law LLP"},
        "communicationItems": [{"type": {"id": 1, "name": "Email"}, "value": "dreyes@contosolaw.com", "defaultFlag": true, "communicationType": "Email"}]
    })
}

fn notes_route() -> Route {
    Route::regex("GET", &format!("^{API}/service/tickets/[0-9]+/notes$"))
}

fn description() -> Fixture {
    Fixture::json(
        notes_route(),
        json!([{"id": 1, "text": "I've forgotten my password.", "detailDescriptionFlag": true}]),
    )
}

/// The reads `get_ticket("1234")` makes.
fn ticket_reads() -> Vec<Fixture> {
    vec![
        Fixture::json(
            Route::get(&format!("{API}/service/tickets/1234")),
            ticket(1234),
        ),
        description(),
        Fixture::json(
            Route::get(&format!("{API}/company/contacts/402")),
            contact(),
        ),
    ]
}

fn request(action: &'static str, params: Value) -> ActionRequest {
    ActionRequest::new(
        IdempotencyKey::new("ticket-1234").unwrap(),
        tenant(conformance::TENANT),
        ActionId::from_static(action),
        &params,
        Principal::technician("tech@msp.example", &[]),
    )
    .unwrap()
}

#[async_trait]
impl Harness for ConnectWiseHarness {
    fn register(&self, registry: &mut Registry) {
        stackhand_connectwise::register(registry);
    }

    fn vendor(&self) -> &'static str {
        VENDOR
    }

    fn config(&self, server_url: &str) -> Value {
        section(server_url)
    }

    fn secret_files(&self) -> Vec<(String, String)> {
        vec![(KEY_FILE.into(), PRIVATE_KEY.into())]
    }

    fn secrets(&self) -> Vec<String> {
        // The private key is the secret file's contents, checked as such.
        Vec::new()
    }

    fn probe(&self, _server_url: &str) -> Probe {
        let mut reads = ticket_reads().into_iter();
        let mut probe = Probe::new(reads.next().unwrap());
        for fixture in reads {
            probe = probe.and(fixture);
        }
        probe
    }

    async fn run_probe(&self, connector: &dyn Connector) -> Result<()> {
        connector
            .psa()
            .expect("a PSA")
            .get_ticket("1234")
            .await
            .map(drop)
    }

    fn error_body(&self, status: u16) -> Value {
        json!({"code": "ConnectWiseError", "message": format!("simulated failure {status}"),
               "errors": [{"code": "InvalidField", "message": "see message", "resource": "ticket", "field": "id"}]})
    }

    fn paging(&self, _server_url: &str) -> Option<PagingCase> {
        let tickets = format!("{API}/service/tickets");
        Some(
            PagingCase::new(3)
                .page(Fixture::json(
                    Route::get(&tickets)
                        .with_query("page", "1")
                        .with_query("pageSize", "2"),
                    json!([ticket(1), ticket(2)]),
                ))
                .page(Fixture::json(
                    Route::get(&tickets)
                        .with_query("page", "2")
                        .with_query("pageSize", "2"),
                    json!([ticket(3)]),
                ))
                .page(Fixture::json(
                    Route::get(&format!("{API}/company/contacts")),
                    json!([contact()]),
                ))
                .page(description()),
        )
    }

    async fn run_paging(&self, connector: &dyn Connector) -> Result<usize> {
        let query = TicketQuery {
            boards: vec!["Help Desk".into()],
            ..Default::default()
        };
        Ok(connector
            .psa()
            .expect("a PSA")
            .poll_tickets(&query)
            .await?
            .len())
    }

    fn plan_cases(&self, _server_url: &str) -> Vec<PlanCase> {
        let builtin = stackhand_core::actions::builtin();
        let action = |id: &str| {
            builtin
                .get(&ActionId::new(id).unwrap())
                .expect("built-in action")
                .clone()
        };
        let with_reads = |mut case: PlanCase| {
            for fixture in ticket_reads() {
                case = case.fixture(fixture);
            }
            case
        };
        vec![
            with_reads(PlanCase::new("set status", action("psa.set_status"), request("psa.set_status", json!({"ticket": "1234", "status": "In Progress"})))),
            with_reads(PlanCase::new("add a note", action("psa.add_note"), request("psa.add_note", json!({"ticket": "1234", "text": "Checked.", "visibility": "internal"})))),
            PlanCase::connector_action(
                "create a ticket",
                request("connectwise.create_ticket", json!({"summary": "Email outage", "company": "CONTOSO-LAW", "board": "Help Desk", "contact_email": "dreyes@contosolaw.com"})),
            )
            .fixture(Fixture::json(Route::get(&format!("{API}/company/companies")), json!([{"id": 250, "identifier": "CONTOSO-LAW", "name": "Contoso Law LLP"}])))
            .fixture(Fixture::json(Route::get(&format!("{API}/service/boards")), json!([{"id": 1, "name": "Help Desk", "location": {"id": 2, "name": "Tampa Office"}, "department": {"id": 10, "identifier": "Service", "name": "Service"}}])))
            .fixture(Fixture::json(Route::get(&format!("{API}/company/contacts")), json!([contact()]))),
        ]
    }

    fn spec(&self) -> Option<Spec> {
        Spec::load("connectwise-manage.json").ok()
    }
}

#[tokio::test]
async fn connectwise_conforms() {
    let report = conformance::run(&ConnectWiseHarness).await;
    println!("{report}");
}
