//! The ConnectWise simulator over HTTP: auth, discovery, every endpoint, errors and paging.
#![cfg(feature = "connectwise")]

use std::collections::HashSet;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use stackhand_sim::connectwise::seed::{CONTOSO_LAW, OWN_COMPANY};
use stackhand_sim::connectwise::{CLIENT_ID, COMPANY_ID, ConnectWiseSim, PRIVATE_KEY, PUBLIC_KEY};
use stackhand_sim::world::{PsaKind, World};
use stackhand_sim::{Faults, SimServer};
use stackhand_testkit::openapi::{ObservedRequest, Spec, assert_all_valid};

const ACCEPT: &str = "application/vnd.connectwise.com+json; version=2025.8";

/// How many closed tickets the built-in world gives Contoso Law, the ConnectWise tenant.
fn history() -> usize {
    World::builtin().tenant("contoso-law").unwrap().history
}

/// The built-in world with Globex on ConnectWise too, its tickets on this instance's board and
/// statuses: two client companies in one instance.
fn two_clients() -> World {
    let mut world = World::builtin().clone();
    let globex = world.tenant_mut("globex").unwrap();
    globex.psa = PsaKind::Connectwise;
    for ticket in &mut globex.tickets {
        ticket.board = "Help Desk".into();
        if ticket.status == "Waiting Customer" {
            ticket.status = "Waiting".into();
        }
    }
    world
}

struct Api {
    sim: ConnectWiseSim,
    server: SimServer,
    http: Client,
}

impl Api {
    async fn start() -> Self {
        Self::start_with(Faults::default()).await
    }

    async fn start_with(faults: Faults) -> Self {
        let sim =
            ConnectWiseSim::seeded_at(Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap(), 7);
        let server = sim.start(faults).await.unwrap();
        Self {
            sim,
            server,
            http: Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}{path}", self.server.url(), self.sim.api_path())
    }

    fn authed(&self, builder: RequestBuilder) -> RequestBuilder {
        builder
            .basic_auth(format!("{COMPANY_ID}+{PUBLIC_KEY}"), Some(PRIVATE_KEY))
            .header("clientId", CLIENT_ID)
            .header("Accept", ACCEPT)
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.authed(self.http.get(self.url(path)))
    }

    fn post(&self, path: &str, body: Value) -> RequestBuilder {
        self.authed(self.http.post(self.url(path))).json(&body)
    }

    fn patch(&self, path: &str, body: Value) -> RequestBuilder {
        self.authed(self.http.patch(self.url(path))).json(&body)
    }

    async fn json(&self, builder: RequestBuilder) -> (StatusCode, Value) {
        let response = builder.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    /// Every row of a navigable listing, following `Link: rel="next"`.
    async fn all(&self, path: &str, query: &[(&str, &str)]) -> Vec<Value> {
        let mut rows = Vec::new();
        let mut next = Some(self.get(path).query(query).query(&[("pageSize", "100")]));
        while let Some(request) = next.take() {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            let link = response
                .headers()
                .get("link")
                .map(|l| l.to_str().unwrap().to_string());
            rows.extend(response.json::<Vec<Value>>().await.unwrap());
            if let Some(url) = link.as_deref().and_then(next_link) {
                next = Some(self.authed(self.http.get(url)));
            }
        }
        rows
    }
}

fn next_link(header: &str) -> Option<String> {
    header
        .split(", ")
        .find(|l| l.ends_with("rel=\"next\""))
        .map(|l| {
            l.trim_start_matches('<')
                .split('>')
                .next()
                .unwrap()
                .to_string()
        })
}

fn assert_envelope(body: &Value, code: &str) {
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn companyinfo_reports_the_codebase_without_auth() {
    let api = Api::start().await;
    let url = format!("{}/login/companyinfo/{COMPANY_ID}", api.server.url());
    let body: Value = api
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["Codebase"], "v4_6_release/");
    assert_eq!(body["CompanyID"], COMPANY_ID);
    let missing = api
        .http
        .get(format!("{}/login/companyinfo/nobody", api.server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn auth_needs_basic_keys_and_the_client_id() {
    let api = Api::start().await;
    let url = api.url("/system/info");

    let (status, body) = api.json(api.http.get(&url)).await;
    assert_eq!(status, 401);
    assert_envelope(&body, "Unauthorized");

    let wrong = api
        .http
        .get(&url)
        .basic_auth(format!("{COMPANY_ID}+{PUBLIC_KEY}"), Some("nope"))
        .header("clientId", CLIENT_ID);
    let (status, body) = api.json(wrong).await;
    assert_eq!(status, 401);
    assert_envelope(&body, "Unauthorized");

    let no_client = api
        .http
        .get(&url)
        .basic_auth(format!("{COMPANY_ID}+{PUBLIC_KEY}"), Some(PRIVATE_KEY));
    let (status, body) = api.json(no_client).await;
    assert_eq!(status, 401);
    assert!(body["message"].as_str().unwrap().contains("clientId"));

    let future = api.get("/system/info").header(
        "Accept",
        "application/vnd.connectwise.com+json; version=2099.1",
    );
    let (status, body) = api.json(future).await;
    assert_eq!(status, 400);
    assert_envelope(&body, "BadRequest");

    let response = api.get("/system/info").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["api-current-version"], "2025.8");
    assert_eq!(response.headers()["content-type"], ACCEPT);
    let info: Value = response.json().await.unwrap();
    assert_eq!(info["isCloud"], true);
}

#[tokio::test]
async fn tickets_page_with_link_headers_and_filter_with_conditions() {
    let api = Api::start().await;
    let response = api.get("/service/tickets").send().await.unwrap();
    let link = response.headers()["link"].to_str().unwrap().to_string();
    let first: Vec<Value> = response.json().await.unwrap();
    assert_eq!(first.len(), 25, "default page size");
    assert!(
        link.contains("rel=\"next\"") && link.contains("rel=\"last\""),
        "{link}"
    );
    assert!(link.contains("page=2"), "{link}");

    let open = api
        .all(
            "/service/tickets",
            &[
                (
                    "conditions",
                    r#"closedFlag=false and board/name in ("Help Desk")"#,
                ),
                ("orderBy", "_info/lastUpdated asc"),
            ],
        )
        .await;
    let expected: HashSet<i64> = api
        .sim
        .open_ticket_ids()
        .into_iter()
        .filter(|id| api.sim.ticket(*id).unwrap().board == "Help Desk")
        .collect();
    let got: HashSet<i64> = open.iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(got, expected);
    let updated: Vec<&str> = open
        .iter()
        .map(|t| t["_info"]["lastUpdated"].as_str().unwrap())
        .collect();
    assert!(
        updated.windows(2).all(|w| w[0] <= w[1]),
        "ordered by lastUpdated"
    );
    assert!(
        open.iter().all(|t| t.get("closedDate").is_none()),
        "nulls are left out"
    );

    let since = api
        .all(
            "/service/tickets",
            &[(
                "conditions",
                "lastUpdated>[2026-11-01T08:00:00Z] and closedFlag=false",
            )],
        )
        .await;
    assert!(!since.is_empty() && since.len() < open.len());

    let (status, body) = api
        .json(
            api.get("/service/tickets")
                .query(&[("conditions", "board/name=Help")]),
        )
        .await;
    assert_eq!(status, 400);
    assert_envelope(&body, "BadRequest");
    let (status, _) = api
        .json(
            api.get("/service/tickets")
                .query(&[("conditions", "nosuchfield=1")]),
        )
        .await;
    assert_eq!(status, 400);

    let (_, projected) = api
        .json(
            api.get("/service/tickets")
                .query(&[("fields", "id,summary,status/name"), ("pageSize", "1")]),
        )
        .await;
    let keys: HashSet<&str> = projected[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, HashSet::from(["id", "summary", "status"]));
    assert!(projected[0]["status"]["name"].is_string());

    let (_, count) = api
        .json(
            api.get("/service/tickets/count")
                .query(&[("conditions", "closedFlag=true")]),
        )
        .await;
    assert_eq!(count["count"], history() as i64);
}

#[tokio::test]
async fn forward_only_paging_returns_every_closed_ticket_once() {
    let api = Api::start().await;
    let mut seen = Vec::new();
    let mut url = Some(format!(
        "{}?conditions=closedFlag%3Dtrue&pageSize=97",
        api.url("/service/tickets")
    ));
    while let Some(next) = url.take() {
        let response = api
            .authed(api.http.get(next))
            .header("pagination-type", "forward-only")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        url = response
            .headers()
            .get("link")
            .and_then(|l| next_link(l.to_str().unwrap()));
        if let Some(next) = &url {
            assert!(next.contains("pageId="), "{next}");
        }
        let rows: Vec<Value> = response.json().await.unwrap();
        seen.extend(rows.iter().map(|t| t["id"].as_i64().unwrap()));
    }
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no duplicates");
    assert_eq!(seen.len(), history());
}

#[tokio::test]
async fn history_reads_like_an_msp_and_is_deterministic() {
    let anchor = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
    let world = two_clients();
    let a = ConnectWiseSim::from_world_at(&world, anchor, 7);
    let b = ConnectWiseSim::from_world_at(&world, anchor, 7);
    assert_eq!(a.tickets(), b.tickets());
    for tenant in world.psa_tenants(PsaKind::Connectwise) {
        let closed: Vec<_> = a
            .tickets()
            .into_iter()
            .filter(|t| t.company_id == tenant.psa_company.id && t.closed_flag)
            .collect();
        assert_eq!(closed.len(), tenant.history);
        let subjects: HashSet<_> = closed.iter().map(|t| t.summary.to_lowercase()).collect();
        assert!(
            subjects.len() > tenant.history / 3,
            "varied subjects: {}",
            subjects.len()
        );
        let oldest = closed.iter().map(|t| t.date_entered).min().unwrap();
        assert!(
            anchor - oldest > chrono::Duration::days(300),
            "spread over the year"
        );
        // Raised by the tenant's own staff, at their real addresses.
        let staff: HashSet<String> = tenant.staff().map(|p| p.email(tenant)).collect();
        assert!(
            closed
                .iter()
                .all(|t| staff.contains(t.contact_email.as_deref().unwrap())),
            "{}",
            tenant.key
        );
        let open = a
            .tickets()
            .into_iter()
            .filter(|t| t.company_id == tenant.psa_company.id && !t.closed_flag)
            .count();
        assert_eq!(open, tenant.tickets.len());
    }
    let sample = a
        .tickets()
        .into_iter()
        .find(|t| t.closed_flag && t.board_id == 1)
        .unwrap();
    let notes = a.notes(sample.id);
    assert!(
        notes.first().unwrap().detail_description,
        "first note is the description"
    );
    assert!(
        notes.iter().any(|n| n.resolution),
        "help desk tickets carry a resolution"
    );
    assert!(notes.iter().any(|n| n.internal_analysis));
}

#[tokio::test]
async fn ticket_create_validates_and_turns_the_description_into_a_note() {
    let api = Api::start().await;
    let (status, body) = api
        .json(api.post("/service/tickets", json!({"company": {"id": CONTOSO_LAW}})))
        .await;
    assert_eq!(status, 400);
    assert_envelope(&body, "InvalidObject");
    assert_eq!(body["errors"][0]["field"], "summary");

    let (status, body) = api
        .json(api.post("/service/tickets", json!({"summary": "x"})))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["field"], "company");

    let daniel = api.sim.contact_by_email("dreyes@contosolaw.com").unwrap();
    let (status, ticket) = api
        .json(api.post(
            "/service/tickets",
            json!({
                "summary": "Printer offline", "company": {"identifier": "CONTOSO-LAW"},
                "board": {"name": "Help Desk"}, "contact": {"id": daniel.id},
                "initialDescription": "The printer is offline."
            }),
        ))
        .await;
    assert_eq!(status, 201);
    assert_eq!(ticket["status"]["name"], "New");
    assert_eq!(ticket["contactEmailAddress"], "dreyes@contosolaw.com");
    let id = ticket["id"].as_i64().unwrap();
    let notes = api.sim.notes(id);
    assert_eq!(notes.len(), 1);
    assert!(notes[0].detail_description);

    let (status, body) = api.json(api.get("/service/tickets/999999")).await;
    assert_eq!(status, 404);
    assert_envelope(&body, "NotFound");

    let wrong_type = api
        .authed(api.http.post(api.url("/service/tickets")))
        .header("content-type", "text/plain")
        .body("summary");
    assert_eq!(wrong_type.send().await.unwrap().status(), 415);
}

#[tokio::test]
async fn a_ticket_from_a_lookalike_address_records_that_sender_under_the_requesters_contact() {
    let api = Api::start().await;
    let world = World::builtin();
    let contoso = world.tenant("contoso-law").unwrap();
    let open = contoso
        .tickets
        .iter()
        .find(|t| t.summary == "Urgent: password reset before the court filing")
        .expect("the world has the lookalike ticket");
    assert_eq!(open.from.as_deref(), Some("daniel.reyes@contoso1aw.com"));
    let daniel = contoso.person(&open.requester).unwrap();

    let listed = api
        .all(
            "/service/tickets",
            &[("conditions", "closedFlag=false and company/id=250")],
        )
        .await;
    let id = listed
        .iter()
        .find(|t| t["summary"] == open.summary.as_str())
        .expect("seeded open")["id"]
        .as_i64()
        .unwrap();
    let (status, ticket) = api.json(api.get(&format!("/service/tickets/{id}"))).await;
    assert_eq!(status, 200);
    // The sender is the lookalike; the contact stays Daniel's, with his own address.
    assert_eq!(ticket["contactEmailAddress"], "daniel.reyes@contoso1aw.com");
    assert_eq!(ticket["contact"]["id"], daniel.contact_id.unwrap());
    assert_eq!(ticket["contactName"], daniel.display_name().as_str());
    let contact = api.sim.contact_by_email(&daniel.email(contoso)).unwrap();
    assert_eq!(Some(contact.id), daniel.contact_id);
    // The initial description is the body, written by the contact.
    let notes = api.sim.notes(id);
    assert_eq!(notes.len(), 1);
    assert!(notes[0].detail_description);
    assert_eq!(notes[0].text, open.body);
    assert_eq!(notes[0].contact_id, daniel.contact_id);

    // Tickets from the requester's own address record that address.
    let own = listed
        .iter()
        .find(|t| t["summary"] == "Password reset - Daniel Reyes")
        .unwrap();
    assert_eq!(own["contactEmailAddress"], daniel.email(contoso).as_str());
    assert_requests_match_spec(&api);
}

#[tokio::test]
async fn notes_need_a_flag_and_closing_help_desk_needs_a_resolution() {
    let api = Api::start().await;
    let id = api.sim.open_ticket_ids()[0];
    let path = format!("/service/tickets/{id}/notes");

    let (status, body) = api.json(api.post(&path, json!({"text": "no flags"}))).await;
    assert_eq!(status, 400);
    assert_envelope(&body, "InvalidObject");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("At least one")
    );

    let (status, note) = api.json(api.post(&path, json!({"text": "Checked logs", "internalAnalysisFlag": true, "detailDescriptionFlag": false, "resolutionFlag": false}))).await;
    assert_eq!(status, 201);
    assert_eq!(note["internalAnalysisFlag"], true);
    assert_eq!(note["ticketId"], id);

    let (_, statuses) = api
        .json(
            api.get("/service/boards/1/statuses")
                .query(&[("conditions", "closedStatus=true and inactive=false")]),
        )
        .await;
    let closed: Vec<&str> = statuses
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(closed, ["Completed", "Closed"]);
    let closed_id = statuses[1]["id"].as_i64().unwrap();

    let ticket_path = format!("/service/tickets/{id}");
    let close = json!([{"op": "replace", "path": "status", "value": {"id": closed_id}}]);
    let (status, body) = api.json(api.patch(&ticket_path, close.clone())).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["field"], "status");
    assert!(!api.sim.ticket(id).unwrap().ticket.closed_flag);

    let (status, _) = api
        .json(api.post(
            &path,
            json!({"text": "Reset the password.", "resolutionFlag": true}),
        ))
        .await;
    assert_eq!(status, 201);
    let (status, ticket) = api.json(api.patch(&ticket_path, close)).await;
    assert_eq!(status, 200);
    assert_eq!(ticket["closedFlag"], true);
    assert_eq!(ticket["status"]["name"], "Closed");
    let view = api.sim.ticket(id).unwrap();
    assert!(view.ticket.closed_flag && view.ticket.closed_date.is_some());

    let (_, notes) = api
        .json(
            api.get(&path)
                .query(&[("conditions", "resolutionFlag=true")]),
        )
        .await;
    assert_eq!(notes.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn patch_rejects_bad_shapes_and_moves_boards_and_owners() {
    let api = Api::start().await;
    let id = api.sim.open_ticket_ids()[1];
    let path = format!("/service/tickets/{id}");

    let (status, _) = api
        .json(api.patch(&path, json!({"status": {"id": 20}})))
        .await;
    assert_eq!(status, 400, "a partial object is not a JSON Patch");
    let (status, _) = api
        .json(api.patch(&path, json!([{"op": "move", "path": "status", "value": 1}])))
        .await;
    assert_eq!(status, 400);
    let (status, body) = api
        .json(api.patch(
            &path,
            json!([{"op": "replace", "path": "status", "value": {"id": 34}}]),
        ))
        .await;
    assert_eq!(status, 400, "a Projects status on a Help Desk ticket");
    assert_eq!(body["errors"][0]["field"], "status");

    let (status, ticket) = api
        .json(api.patch(
            &path,
            json!([
                {"op": "replace", "path": "board", "value": {"name": "Projects"}},
                {"op": "replace", "path": "owner", "value": {"identifier": "cfischer"}}
            ]),
        ))
        .await;
    assert_eq!(status, 200, "{ticket}");
    let view = api.sim.ticket(id).unwrap();
    assert_eq!(
        (
            view.board.as_str(),
            view.status.as_str(),
            view.owner.as_deref()
        ),
        ("Projects", "New", Some("cfischer"))
    );

    let (status, _) = api
        .json(api.patch(
            &path,
            json!([{"op": "replace", "path": "owner", "value": {"identifier": "ghost"}}]),
        ))
        .await;
    assert_eq!(status, 400);
}

/// Every request the simulator received matches the bundled ConnectWise document.
fn assert_requests_match_spec(api: &Api) {
    let spec = Spec::load("connectwise-manage.json").unwrap();
    assert_all_valid(
        &spec,
        &api.server.recorder().requests(),
        &api.sim.api_path(),
    );
}

#[tokio::test]
async fn attach_children_bundles_tickets_under_a_parent() {
    let api = Api::start().await;
    let open = api.sim.open_ticket_ids();
    let (parent, first, second) = (open[0], open[1], open[2]);
    let path = format!("/service/tickets/{parent}/attachChildren");
    let (status, body) = api
        .json(api.post(&path, json!({"childTicketIds": [first, second]})))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"success": true}));
    let spec = Spec::load("connectwise-manage.json").unwrap();
    spec.validate_response("POST", &format!("{}{path}", api.sim.api_path()), 200, &body)
        .unwrap();

    for child in [first, second] {
        let (_, ticket) = api
            .json(api.get(&format!("/service/tickets/{child}")))
            .await;
        assert_eq!(ticket["parentTicketId"], parent, "{ticket}");
        assert_eq!(
            api.sim.ticket(child).unwrap().ticket.parent_ticket_id,
            Some(parent)
        );
    }
    let (_, parent_json) = api
        .json(api.get(&format!("/service/tickets/{parent}")))
        .await;
    assert_eq!(parent_json["hasChildTicket"], true);
    assert_eq!(parent_json.get("parentTicketId"), None, "{parent_json}");
    assert_requests_match_spec(&api);
}

#[tokio::test]
async fn attach_children_refuses_self_links_unknown_tickets_and_nesting() {
    let api = Api::start().await;
    let open = api.sim.open_ticket_ids();
    let (parent, child, other) = (open[0], open[1], open[2]);
    let attach = |parent: i64, ids: Value| {
        api.post(
            &format!("/service/tickets/{parent}/attachChildren"),
            json!({ "childTicketIds": ids }),
        )
    };
    let refused = |body: &Value, field: &str, mentions: &str| {
        assert_envelope(body, "InvalidObject");
        let error = &body["errors"][0];
        assert_eq!(error["resource"], "ticket", "{body}");
        assert_eq!(error["field"], field, "{body}");
        assert!(
            error["message"].as_str().unwrap().contains(mentions),
            "{body}"
        );
    };

    // A ticket is not its own child, and nothing of a refused bundle is applied.
    let (status, body) = api.json(attach(parent, json!([child, parent]))).await;
    assert_eq!(status, 400, "{body}");
    refused(&body, "childTicketIds", "itself");
    assert_eq!(api.sim.ticket(child).unwrap().ticket.parent_ticket_id, None);

    let (status, body) = api.json(attach(parent, json!([child, 99_999]))).await;
    assert_eq!(status, 400, "{body}");
    refused(&body, "childTicketIds", "99999 not found");
    assert_eq!(api.sim.ticket(child).unwrap().ticket.parent_ticket_id, None);

    let (status, body) = api.json(attach(parent, json!([]))).await;
    assert_eq!(status, 400, "{body}");
    refused(&body, "childTicketIds", "at least one");

    let (status, body) = api.json(attach(99_999, json!([child]))).await;
    assert_eq!(status, 404, "{body}");
    assert_envelope(&body, "NotFound");

    // Bundles are one level deep.
    let (status, body) = api.json(attach(parent, json!([child]))).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api.json(attach(child, json!([other]))).await;
    assert_eq!(status, 400, "{body}");
    refused(&body, "parentTicketId", "is a child ticket");
    let (status, body) = api.json(attach(other, json!([parent]))).await;
    assert_eq!(status, 400, "{body}");
    refused(&body, "childTicketIds", "has child tickets");
    assert_eq!(api.sim.ticket(other).unwrap().ticket.parent_ticket_id, None);
    assert_eq!(
        api.sim.ticket(parent).unwrap().ticket.parent_ticket_id,
        None
    );
    assert_requests_match_spec(&api);
}

#[tokio::test]
async fn patching_parent_ticket_id_is_refused_in_favour_of_attach_children() {
    let api = Api::start().await;
    let open = api.sim.open_ticket_ids();
    let (parent, child) = (open[0], open[1]);
    for patch in [
        json!([{"op": "replace", "path": "parentTicketId", "value": parent}]),
        json!([{"op": "remove", "path": "parentTicketId"}]),
    ] {
        let (status, body) = api
            .json(api.patch(&format!("/service/tickets/{child}"), patch))
            .await;
        assert_eq!(status, 400, "{body}");
        assert_envelope(&body, "InvalidObject");
        let error = &body["errors"][0];
        assert_eq!(
            (&error["code"], &error["resource"], &error["field"]),
            (
                &json!("InvalidField"),
                &json!("ticket"),
                &json!("parentTicketId")
            ),
            "{body}"
        );
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("/service/tickets/{parentId}/attachChildren"),
            "{body}"
        );
    }
    assert_eq!(api.sim.ticket(child).unwrap().ticket.parent_ticket_id, None);
    assert_requests_match_spec(&api);
}

#[test]
fn the_spec_copy_holds_attach_children_as_the_vendor_documents_it() {
    // Guard that the spec checks above can fail: the bundle is an object of integer ids.
    let spec = Spec::load("connectwise-manage.json").unwrap();
    let path = "/v4_6_release/apis/3.0/service/tickets/7/attachChildren";
    let request = |body: Value| {
        ObservedRequest::new("POST", path)
            .with_header("clientId", CLIENT_ID)
            .with_json(&body)
    };
    spec.validate_request(&request(json!({"childTicketIds": [8, 9]})))
        .unwrap();
    for wrong in [json!({"childTicketIds": ["8"]}), json!([8])] {
        assert!(
            spec.validate_request(&request(wrong.clone())).is_err(),
            "{wrong}"
        );
    }
    let detach = ObservedRequest::new("POST", &path.replace("attach", "detach"))
        .with_header("clientId", CLIENT_ID)
        .with_json(&json!({"childTicketIds": [8]}));
    assert!(
        spec.validate_request(&detach).is_err(),
        "detachChildren is not in the vendor document"
    );
}

#[tokio::test]
async fn contacts_find_by_email_create_and_deactivate() {
    let api = Api::start().await;
    let child = r#"communicationItems/value="dreyes@contosolaw.com" AND communicationItems/communicationType="Email""#;
    let (status, found) = api
        .json(
            api.get("/company/contacts")
                .query(&[("childConditions", child)]),
        )
        .await;
    assert_eq!(status, 200);
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["firstName"], "Daniel");
    assert_eq!(found[0]["id"], 402, "the world's contact id");
    assert_eq!(found[0]["company"]["identifier"], "CONTOSO-LAW");

    let (_, types) = api
        .json(
            api.get("/company/communicationTypes")
                .query(&[("conditions", r#"description="Email""#)]),
        )
        .await;
    let email_type = types[0]["id"].as_i64().unwrap();

    let (status, body) = api
        .json(api.post("/company/contacts", json!({"lastName": "Fischer"})))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["field"], "firstName");
    let (status, body) = api.json(api.post("/company/contacts", json!({"firstName": "Laura", "communicationItems": [{"type": {"id": 999}, "value": "x"}]}))).await;
    assert_eq!(status, 400, "{body}");

    let (status, created) = api
        .json(api.post("/company/contacts", json!({
            "firstName": "Laura", "lastName": "Fischer", "company": {"id": CONTOSO_LAW},
            "communicationItems": [{"type": {"id": email_type}, "value": "lfischer@contosolaw.com", "communicationType": "Email", "defaultFlag": true}]
        })))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        api.sim
            .contact_by_email("lfischer@contosolaw.com")
            .unwrap()
            .id,
        id
    );

    let path = format!("/company/contacts/{id}");
    let (status, patched) = api
        .json(api.patch(
            &path,
            json!([{"op": "replace", "path": "inactiveFlag", "value": true}]),
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(patched["inactiveFlag"], true);
    assert!(api.sim.contact(id).unwrap().inactive);
    let (status, _) = api
        .json(api.patch(
            &path,
            json!([{"op": "replace", "path": "inactiveFlag", "value": "yes"}]),
        ))
        .await;
    assert_eq!(status, 400);
    let (status, _) = api.json(api.get("/company/contacts/424242")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn companies_by_identifier_and_name() {
    let api = Api::start().await;
    let (_, by_id) = api
        .json(api.get("/company/companies").query(&[
            ("conditions", r#"identifier="DemoMSP""#),
            ("fields", "id,identifier,name"),
        ]))
        .await;
    assert_eq!(
        by_id,
        json!([{"id": OWN_COMPANY, "identifier": "DemoMSP", "name": World::builtin().msp.name}])
    );
    let (_, by_name) = api
        .json(api.get("/company/companies").query(&[(
            "conditions",
            r#"name like "Contoso%" and deletedFlag=false"#,
        )]))
        .await;
    assert_eq!(by_name[0]["identifier"], "CONTOSO-LAW");
    let (_, deleted) = api
        .json(
            api.get("/company/companies")
                .query(&[("conditions", r#"identifier="OLDCO" and deletedFlag=false"#)]),
        )
        .await;
    assert_eq!(deleted, json!([]));
    let (status, company) = api
        .json(api.get(&format!("/company/companies/{CONTOSO_LAW}")))
        .await;
    assert_eq!(status, 200);
    assert_eq!(company["name"], "Contoso Law LLP");
    let (_, boards) = api
        .json(
            api.get("/service/boards")
                .query(&[("conditions", r#"name="Projects""#)]),
        )
        .await;
    assert_eq!(boards[0]["id"], 2);
    let (status, board) = api.json(api.get("/service/boards/1")).await;
    assert_eq!(
        (status, board["name"].as_str()),
        (StatusCode::OK, Some("Help Desk"))
    );
    let (status, body) = api.json(api.get("/service/boards/9")).await;
    assert_eq!(status, 404);
    assert_envelope(&body, "NotFound");
}

#[tokio::test]
async fn injected_throttling_answers_429_with_retry_after() {
    let api = Api::start_with(Faults {
        latency: Duration::from_millis(5),
        rate_limit_every: 2,
        retry_after_secs: 3,
    })
    .await;
    assert_eq!(api.get("/system/info").send().await.unwrap().status(), 200);
    let throttled = api.get("/system/info").send().await.unwrap();
    assert_eq!(throttled.status(), 429);
    assert_eq!(throttled.headers()["retry-after"], "3");
}

#[test]
fn a_world_whose_tickets_do_not_fit_is_refused_naming_the_ticket() {
    // Globex's tickets as they are: queued and waiting in Autotask's words.
    let mut world = World::builtin().clone();
    for tenant in &mut world.tenants {
        tenant.psa = PsaKind::Connectwise;
    }
    let anchor = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
    let err = ConnectWiseSim::try_from_world_at(&world, anchor, 7)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Suspicious email - invoice with new bank details"),
        "{err}"
    );
    assert!(err.contains("board `Escalations`"), "{err}");
    assert!(ConnectWiseSim::try_from_world_at(&two_clients(), anchor, 7).is_ok());
}
