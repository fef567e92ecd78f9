//! The shared conformance suite, run against the ConnectWise connector.

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use common::{API, config, tenant};
use serde_json::{Value, json};
use stackhand_connectwise::ConnectWise;
use stackhand_core::{
    ActionId, ActionRequest, Connector, IdempotencyKey, Principal, Result, TicketQuery,
};
use stackhand_sim::connectwise::PRIVATE_KEY;
use stackhand_testkit::conformance::{self, Fixture, Harness, PagingCase, PlanCase, Probe, Route};

struct ConnectWiseHarness;

fn build(server_url: &str) -> ConnectWise {
    ConnectWise::new(
        tenant("contoso-law"),
        config(server_url)
            .with_codebase("v4_6_release/")
            .with_page_size(2),
    )
    .expect("valid config")
}

fn ticket(id: i64) -> Value {
    json!({
        "id": id, "summary": "Password reset - Jane Doe",
        "board": {"id": 1, "name": "Help Desk"}, "status": {"id": 16, "name": "New"},
        "company": {"id": 250, "identifier": "CONTOSO-LAW", "name": "Contoso Law LLP"},
        "contact": {"id": 55, "name": "Jane Doe"}, "contactEmailAddress": "jane.doe@contoso-law.example",
        "closedFlag": false,
        "_info": {"lastUpdated": "2026-10-31T14:02:11Z", "dateEntered": "2026-10-31T13:55:40Z"}
    })
}

fn contact() -> Value {
    json!({
        "id": 55, "firstName": "Jane", "lastName": "Doe", "inactiveFlag": false,
        "company": {"id": 250, "identifier": "CONTOSO-LAW", "name": "Contoso Law LLP"},
        "communicationItems": [{"type": {"id": 1, "name": "Email"}, "value": "jane.doe@contoso-law.example", "defaultFlag": true, "communicationType": "Email"}]
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
        Fixture::json(Route::get(&format!("{API}/company/contacts/55")), contact()),
    ]
}

fn request(action: &'static str, params: Value) -> ActionRequest {
    ActionRequest::new(
        IdempotencyKey::new("ticket-1234").unwrap(),
        tenant("contoso-law"),
        ActionId::from_static(action),
        &params,
        Principal::technician("tech@msp.example", &[]),
    )
    .unwrap()
}

#[async_trait]
impl Harness for ConnectWiseHarness {
    fn connector(&self, server_url: &str) -> Result<Arc<dyn Connector>> {
        Ok(Arc::new(build(server_url)))
    }

    fn secrets(&self) -> Vec<String> {
        vec![PRIVATE_KEY.to_string()]
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

    fn plan_cases(&self, server_url: &str) -> Vec<PlanCase> {
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
        let create = build(server_url)
            .actions()
            .into_iter()
            .find(|a| a.spec().id.as_str() == "connectwise.create_ticket")
            .expect("connectwise.create_ticket");
        vec![
            with_reads(PlanCase::new("set status", action("psa.set_status"), request("psa.set_status", json!({"ticket": "1234", "status": "In Progress"})))),
            with_reads(PlanCase::new("add a note", action("psa.add_note"), request("psa.add_note", json!({"ticket": "1234", "text": "Checked.", "visibility": "internal"})))),
            PlanCase::new(
                "create a ticket",
                create,
                request("connectwise.create_ticket", json!({"summary": "Email outage", "company": "CONTOSO-LAW", "board": "Help Desk", "contact_email": "jane.doe@contoso-law.example"})),
            )
            .fixture(Fixture::json(Route::get(&format!("{API}/company/companies")), json!([{"id": 250, "identifier": "CONTOSO-LAW", "name": "Contoso Law LLP"}])))
            .fixture(Fixture::json(Route::get(&format!("{API}/service/boards")), json!([{"id": 1, "name": "Help Desk"}])))
            .fixture(Fixture::json(Route::get(&format!("{API}/company/contacts")), json!([contact()]))),
        ]
    }
}

#[tokio::test]
async fn connectwise_conforms() {
    let report = conformance::run(&ConnectWiseHarness).await;
    println!("{report}");
}
