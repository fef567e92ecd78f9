//! The Autotask simulator over HTTP: every endpoint, its errors and its paging.
#![cfg(feature = "autotask")]

use std::collections::{BTreeSet, HashSet};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use stackhand_sim::SimServer;
use stackhand_sim::autotask::{
    API_SECRET, API_USER, AutotaskSim, GLOBEX_COMPANY_ID, INTEGRATION_CODE, RESOURCE_BASE,
};
use stackhand_sim::world::{PsaKind, World};
use stackhand_testkit::openapi::{Spec, assert_all_valid};

struct Fixture {
    sim: AutotaskSim,
    server: SimServer,
    http: reqwest::Client,
}

/// Alex Morgan, the world's first technician.
const AMORGAN: i64 = RESOURCE_BASE;
/// Bilal Khan, in the second service-desk role.
const BKHAN: i64 = RESOURCE_BASE + 1;
/// Casey Kim, who has left.
const CKIM: i64 = RESOURCE_BASE + 4;

/// The built-in world with Contoso Law on Autotask too: two client companies in one database.
fn two_clients() -> World {
    let mut world = World::builtin().clone();
    for tenant in &mut world.tenants {
        tenant.psa = PsaKind::Autotask;
        // Autotask tickets have no sender address, so the seed refuses a `from`.
        for ticket in &mut tenant.tickets {
            ticket.from = None;
        }
    }
    world
}

/// Contoso Law's company id, in [`two_clients`].
fn contoso() -> i64 {
    World::builtin()
        .tenant("contoso-law")
        .unwrap()
        .psa_company
        .id
}

impl Fixture {
    /// The built-in world: Globex is the one client.
    async fn new() -> Self {
        Self::start(AutotaskSim::seeded()).await
    }

    /// Contoso Law and Globex in one database.
    async fn two_clients() -> Self {
        Self::start(AutotaskSim::from_world(&two_clients())).await
    }

    async fn start(sim: AutotaskSim) -> Self {
        let server = sim.start(Default::default()).await.expect("sim starts");
        Self {
            sim,
            server,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/ATServicesRest/V1.0/{path}", self.server.url())
    }

    fn request(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .header("ApiIntegrationCode", INTEGRATION_CODE)
            .header("UserName", API_USER)
            .header("Secret", API_SECRET)
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.request(method, &self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.expect("request sent")).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    async fn search(&self, entity: &str, search: Value) -> (StatusCode, Value) {
        let url = reqwest::Url::parse_with_params(
            &self.url(&format!("{entity}/query")),
            [("search", search.to_string())],
        )
        .expect("url");
        read(
            self.request(Method::GET, url.as_str())
                .send()
                .await
                .expect("sent"),
        )
        .await
    }

    async fn picklist(&self, entity: &str, field: &str, label: &str) -> i64 {
        self.sim
            .picklist_value(entity, field, label)
            .unwrap_or_else(|| panic!("{entity}.{field} has {label}"))
    }
}

async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

fn first_error(body: &Value) -> &str {
    body["errors"][0].as_str().unwrap_or_default()
}

#[tokio::test]
async fn zone_discovery_and_versions_point_back_at_the_simulator() {
    let f = Fixture::new().await;
    let zone: Value = f
        .http
        .get(f.url("ZoneInformation"))
        .query(&[("user", API_USER)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(zone["url"], format!("{}/ATServicesRest/", f.server.url()));
    assert_eq!(zone["webUrl"], format!("{}/", f.server.url()));
    assert!(zone["zoneName"].is_string());

    let unknown = f
        .http
        .get(f.url("ZoneInformation"))
        .query(&[("user", "nobody@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::INTERNAL_SERVER_ERROR);

    let versions: Value = f
        .http
        .get(format!(
            "{}/ATServicesRest/versioninformation",
            f.server.url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(versions["apiVersions"], json!(["1.0"]));
}

#[tokio::test]
async fn every_call_needs_all_three_auth_headers() {
    let f = Fixture::new().await;
    let missing = f
        .http
        .get(f.url("Tickets/7001"))
        .header("UserName", API_USER)
        .header("Secret", API_SECRET)
        .send()
        .await
        .unwrap();
    let (status, body) = read(missing).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(first_error(&body).contains("ApiIntegrationCode"), "{body}");

    let wrong = f
        .http
        .get(f.url("Tickets/7001"))
        .header("ApiIntegrationCode", INTEGRATION_CODE)
        .header("UserName", API_USER)
        .header("Secret", "not-the-secret")
        .send()
        .await
        .unwrap();
    let (status, body) = read(wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["errors"].is_array());
}

#[tokio::test]
async fn a_ticket_reads_as_an_item_and_a_missing_one_as_null() {
    let f = Fixture::new().await;
    let open = f
        .sim
        .tickets()
        .into_iter()
        .find(|t| t.status == "New")
        .expect("an open ticket");
    let (status, body) = f.get(&format!("Tickets/{}", open.id)).await;
    assert_eq!(status, StatusCode::OK);
    let item = &body["item"];
    assert_eq!(item["id"], open.id);
    assert_eq!(item["title"], open.title.as_str());
    assert!(item["ticketNumber"].as_str().unwrap().starts_with('T'));
    assert_eq!(item["completedDate"], Value::Null);
    assert_eq!(item["userDefinedFields"], json!([]));
    // camelCase, like the live API.
    assert!(item.get("companyID").is_some() && item.get("CompanyID").is_none());

    let (status, body) = f.get("Tickets/99999999").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "item": null }));
}

#[tokio::test]
async fn a_resource_reads_as_an_item_as_documented() {
    let f = Fixture::new().await;
    let (status, body) = f.get(&format!("Resources/{AMORGAN}")).await;
    assert_eq!(status, StatusCode::OK);
    let item = &body["item"];
    assert_eq!(item["id"], AMORGAN, "{body}");
    assert_eq!(item["userName"], "amorgan");
    assert_eq!(item["email"], "amorgan@northwind-msp.example");
    assert!(
        item["userName"].is_string() && item["email"].is_string(),
        "{body}"
    );
    assert_eq!(item["isActive"], true);

    let (status, body) = f.get("Resources/99999999").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "item": null }));

    // Both reads are `Resources_QueryItem` in the bundled document.
    let spec = Spec::load("autotask.json").unwrap();
    assert_all_valid(&spec, &f.server.recorder().requests(), "");
}

#[tokio::test]
async fn queries_filter_the_same_by_url_and_by_body() {
    let f = Fixture::new().await;
    let new = f.picklist("Tickets", "status", "New").await;
    let help_desk = f.picklist("Tickets", "queueID", "Help Desk").await;
    let filter = json!({"filter": [
        {"op": "eq", "field": "status", "value": new},
        {"op": "or", "items": [
            {"op": "eq", "field": "queueID", "value": help_desk},
            {"op": "contains", "field": "title", "value": "SUSPICIOUS"}
        ]}
    ]});
    let (status, by_url) = f.search("Tickets", filter.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let (_, by_body) = f.send(Method::POST, "Tickets/query", Some(filter)).await;
    assert_eq!(by_url["items"], by_body["items"]);
    let items = by_url["items"].as_array().unwrap();
    assert!(items.len() >= 5, "{}", items.len());
    assert!(items.iter().all(|t| t["status"] == new));
    assert!(
        items
            .iter()
            .any(|t| t["title"].as_str().unwrap().contains("Suspicious email"))
    );
    assert_eq!(by_url["pageDetails"]["nextPageUrl"], Value::Null);
    assert_eq!(by_url["pageDetails"]["count"], items.len());

    let email = "lisa.simpson@globex.example";
    let (_, contacts) = f
        .search(
            "Contacts",
            json!({"filter": [{"op": "eq", "field": "EmailAddress", "value": "LISA.SIMPSON@globex.example"}]}),
        )
        .await;
    assert_eq!(contacts["items"][0]["emailAddress"], email);

    let (_, companies) = f
        .search(
            "Companies",
            json!({"filter": [{"op": "beginsWith", "field": "companyName", "value": "globex"}]}),
        )
        .await;
    assert_eq!(companies["items"][0]["id"], GLOBEX_COMPANY_ID);

    let (_, some) = f
        .search(
            "Contacts",
            json!({"filter": [
                {"op": "in", "field": "companyID", "value": [GLOBEX_COMPANY_ID]},
                {"op": "endsWith", "field": "emailAddress", "value": "@globex.example"},
                {"op": "noteq", "field": "isActive", "value": 0},
                {"op": "exist", "field": "title"}
            ], "IncludeFields": ["emailAddress"], "MaxRecords": 3}),
        )
        .await;
    let items = some["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    // Sorted: key order depends on serde_json's preserve_order, which other crates may enable.
    let mut keys = items[0].as_object().unwrap().keys().collect::<Vec<_>>();
    keys.sort();
    assert_eq!(keys, ["emailAddress", "id"]);
    assert!(some["pageDetails"]["nextPageUrl"].is_string());

    let (_, resources) = f
        .search(
            "Resources",
            json!({"filter": [{"op": "eq", "field": "isActive", "value": true}]}),
        )
        .await;
    // The API user and every technician still employed.
    let active = World::builtin()
        .msp
        .technicians
        .iter()
        .filter(|t| t.active)
        .count();
    assert_eq!(resources["items"].as_array().unwrap().len(), 1 + active);
}

#[tokio::test]
async fn paging_returns_every_closed_ticket_exactly_once_by_get_and_by_post() {
    // Two clients' history together is more than one 500-record page.
    let f = Fixture::two_clients().await;
    let complete = f.picklist("Tickets", "status", "Complete").await;
    let expected: BTreeSet<i64> = f
        .sim
        .closed_ticket_ids(contoso())
        .into_iter()
        .chain(f.sim.closed_ticket_ids(GLOBEX_COMPANY_ID))
        .collect();
    assert!(expected.len() > 600, "{}", expected.len());
    let filter = json!({"filter": [{"op": "eq", "field": "status", "value": complete}]});

    let (_, count) = f
        .send(Method::POST, "Tickets/query/count", Some(filter.clone()))
        .await;
    assert_eq!(count["queryCount"], expected.len());

    // GET: the next link carries the search itself.
    let (_, mut page) = f.search("Tickets", filter.clone()).await;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 500);
        seen.extend(items.iter().map(|t| t["id"].as_i64().unwrap()));
        let Some(next) = page["pageDetails"]["nextPageUrl"].as_str() else {
            break;
        };
        assert!(next.starts_with(&f.server.url()), "{next}");
        assert!(next.contains("/query/next?paging="), "{next}");
        page = read(f.request(Method::GET, next).send().await.unwrap())
            .await
            .1;
    }
    assert_eq!(pages, 2);
    assert_eq!(seen.len(), expected.len());
    assert_eq!(seen.iter().copied().collect::<BTreeSet<_>>(), expected);

    // POST: the next link is posted again with the same body.
    let (_, mut page) = f
        .send(Method::POST, "Tickets/query", Some(filter.clone()))
        .await;
    let mut seen = HashSet::new();
    loop {
        for t in page["items"].as_array().unwrap() {
            assert!(
                seen.insert(t["id"].as_i64().unwrap()),
                "duplicate {}",
                t["id"]
            );
        }
        let Some(next) = page["pageDetails"]["nextPageUrl"].as_str() else {
            break;
        };
        assert!(!next.contains("search="), "{next}");
        page = read(
            f.request(Method::POST, next)
                .json(&filter)
                .send()
                .await
                .unwrap(),
        )
        .await
        .1;
    }
    assert_eq!(seen.len(), expected.len());

    let (status, _) = f
        .send(
            Method::POST,
            "Tickets/query/next?paging=garbage",
            Some(filter),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bad_queries_are_refused_in_the_errors_envelope() {
    let f = Fixture::new().await;
    let (status, body) = f
        .search(
            "Companies",
            json!({"filter": [{"op": "eq", "field": "companyNam", "value": "x"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        first_error(&body),
        "Unable to find companyNam in the Company entity."
    );

    let (status, _) = f
        .send(Method::POST, "Tickets/query", Some(json!({"filter": []})))
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);

    let (status, body) = f
        .send(
            Method::POST,
            "Tickets/query",
            Some(json!({"filter": [{"op": "exist", "field": "id"}], "MaxRecords": 501})),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(first_error(&body).contains("MaxRecords"));

    let (status, _) = f
        .send(
            Method::POST,
            "Tickets/query",
            Some(json!({"filter": [{"op": "like", "field": "title", "value": "x"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);

    let response = f
        .request(Method::GET, &f.url("Tickets/query"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let (status, body) = f.send(Method::DELETE, "Tickets", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(body["Message"].as_str().unwrap().contains("DELETE"));
    let (status, _) = f.get("Widgets/query").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn picklists_come_from_entity_information_with_tenant_specific_ids() {
    let f = Fixture::new().await;
    let (status, body) = f.get("Tickets/entityInformation/fields").await;
    assert_eq!(status, StatusCode::OK);
    let fields = body["fields"].as_array().unwrap();
    let status_field = fields.iter().find(|x| x["name"] == "status").unwrap();
    assert_eq!(status_field["isPickList"], true);
    assert_eq!(status_field["isRequired"], true);
    let labels: Vec<(&str, &str)> = status_field["picklistValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["label"].as_str().unwrap(), v["value"].as_str().unwrap()))
        .collect();
    assert!(labels.contains(&("Complete", "29")), "{labels:?}");
    assert!(!labels.iter().any(|(_, v)| *v == "5"));
    let problem = fields
        .iter()
        .find(|x| x["name"] == "problemTicketId")
        .unwrap();
    assert_eq!(problem["isReference"], true);

    let (_, notes) = f.get("TicketNotes/entityInformation/fields").await;
    let publish = notes["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "publish")
        .unwrap();
    let values: Vec<&str> = publish["picklistValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_str().unwrap())
        .collect();
    assert!(
        !values.contains(&"1") && !values.contains(&"2"),
        "{values:?}"
    );
    assert_eq!(
        f.sim
            .picklist_value("TicketNotes", "publish", "All Autotask Users"),
        Some(7)
    );
}

#[tokio::test]
async fn completing_a_ticket_needs_a_resolution_when_the_setting_says_so() {
    let f = Fixture::new().await;
    let ticket = f
        .sim
        .tickets()
        .into_iter()
        .find(|t| t.status == "New")
        .unwrap();
    let complete = f.picklist("Tickets", "status", "Complete").await;

    let (status, body) = f
        .send(
            Method::PATCH,
            "Tickets",
            Some(json!({"id": ticket.id, "status": complete})),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(first_error(&body).contains("resolution"), "{body}");
    assert_eq!(f.sim.ticket(ticket.id).unwrap().status, "New");

    // Hard-coded "usual" ids fail: 5 is not a status here.
    let (status, _) = f
        .send(
            Method::PATCH,
            "Tickets",
            Some(json!({"id": ticket.id, "status": 5})),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);

    let (status, body) = f
        .send(
            Method::PATCH,
            "Tickets",
            Some(json!({"Id": ticket.id, "Resolution": "Unlocked the account."})),
        )
        .await;
    assert_eq!(
        (status, &body),
        (StatusCode::OK, &json!({"itemId": ticket.id}))
    );
    let (status, _) = f
        .send(
            Method::PATCH,
            "Tickets",
            Some(json!({"id": ticket.id, "status": complete})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let done = f.sim.ticket(ticket.id).unwrap();
    assert_eq!(done.status, "Complete");
    assert_eq!(done.resolution.as_deref(), Some("Unlocked the account."));
    assert!(done.completed.is_some());

    f.sim
        .configure(|s| s.require_resolution_to_complete = false);
    let other = f
        .sim
        .tickets()
        .into_iter()
        .find(|t| t.status == "New")
        .unwrap();
    let (status, _) = f
        .send(
            Method::PATCH,
            "Tickets",
            Some(json!({"id": other.id, "status": complete})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = f
        .send(Method::PATCH, "Tickets", Some(json!({"status": complete})))
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let (status, _) = f
        .send(
            Method::PATCH,
            "Tickets",
            Some(json!({"id": 1, "status": complete})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = f
        .send(
            Method::PATCH,
            "Tickets",
            Some(json!({"id": other.id, "colour": "blue"})),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        first_error(&body),
        "Unable to find colour in the Ticket entity."
    );
}

#[tokio::test]
async fn reassigning_needs_a_queue_from_the_picklist_and_a_resource_with_a_role() {
    let f = Fixture::new().await;
    let ticket = f
        .sim
        .tickets()
        .into_iter()
        .find(|t| t.status == "New")
        .unwrap();
    let escalations = f.picklist("Tickets", "queueID", "Escalations").await;
    let (status, _) = f
        .send(
            Method::PATCH,
            "Tickets",
            Some(json!({"id": ticket.id, "queueID": escalations})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        f.sim.ticket(ticket.id).unwrap().queue.as_deref(),
        Some("Escalations")
    );

    let (status, body) = f
        .send(
            Method::PATCH,
            "Tickets",
            Some(json!({"id": ticket.id, "assignedResourceID": BKHAN})),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(first_error(&body).contains("assignedResourceRoleID"));
    let (status, _) = f
        .send(
            Method::PATCH,
            "Tickets",
            Some(json!({"id": ticket.id, "assignedResourceID": BKHAN, "assignedResourceRoleID": 29683470})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        f.sim.ticket(ticket.id).unwrap().assigned_resource_id,
        Some(BKHAN)
    );
    // Inactive technicians cannot take tickets.
    let (status, _) = f
        .send(
            Method::PATCH,
            "Tickets",
            Some(json!({"id": ticket.id, "assignedResourceID": CKIM, "assignedResourceRoleID": 29683461})),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn notes_are_created_under_their_ticket_and_read_back() {
    let f = Fixture::new().await;
    let ticket = f
        .sim
        .tickets()
        .into_iter()
        .find(|t| t.status == "New")
        .unwrap();
    let internal = f.picklist("TicketNotes", "publish", "Internal Only").await;
    let general = f.picklist("TicketNotes", "noteType", "General").await;
    let path = format!("Tickets/{}/Notes", ticket.id);

    let (status, body) = f
        .send(
            Method::POST,
            &path,
            Some(json!({"description": "no title", "noteType": general, "publish": internal})),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(first_error(&body), "title is required.");

    let (status, _) = f
        .send(
            Method::POST,
            &path,
            Some(json!({"ticketID": ticket.id + 1, "title": "t", "description": "d", "noteType": general, "publish": internal})),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);

    let (status, created) = f
        .send(
            Method::POST,
            &path,
            Some(json!({"ticketID": ticket.id, "title": "Checked sign-in logs", "description": "Nothing suspicious.", "noteType": general, "publish": internal})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let note_id = created["itemId"].as_i64().unwrap();

    let response = f
        .request(Method::POST, &f.url(&path))
        .header("ImpersonationResourceId", AMORGAN.to_string())
        .json(&json!({"title": "Called user", "description": "Left a voicemail.", "noteType": general, "publish": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let (_, listed) = f.get(&path).await;
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], note_id);
    assert_eq!(items[1]["creatorResourceID"], AMORGAN);

    let (_, queried) = f
        .send(
            Method::POST,
            "TicketNotes/query",
            Some(json!({"filter": [{"op": "eq", "field": "ticketID", "value": ticket.id}]})),
        )
        .await;
    assert_eq!(queried["items"], listed["items"]);

    let notes = f.sim.notes(ticket.id);
    assert_eq!(notes[0].publish, "Internal Only");
    assert_eq!(notes[1].publish, "All Autotask Users");
    assert_eq!(notes[1].creator_resource_id, Some(AMORGAN));

    let (status, _) = f
        .send(
            Method::POST,
            "Tickets/1/Notes",
            Some(
                json!({"title": "t", "description": "d", "noteType": general, "publish": internal}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = f
        .send(
            Method::POST,
            "TicketNotes",
            Some(json!({"title": "t", "description": "d"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn contacts_are_created_and_deactivated_through_their_company() {
    let f = Fixture::two_clients().await;
    let path = format!("Companies/{}/Contacts", contoso());
    let (status, body) = f
        .send(
            Method::POST,
            &path,
            Some(json!({"firstName": "Laura", "lastName": "Fischer"})),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(first_error(&body), "isActive is required.");

    let (status, created) = f
        .send(
            Method::POST,
            &path,
            Some(json!({"companyID": contoso(), "firstName": "Laura", "lastName": "Fischer", "emailAddress": "lfischer@contosolaw.com", "isActive": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let id = created["itemId"].as_i64().unwrap();
    let contact = f.sim.contact_by_email("lfischer@contosolaw.com").unwrap();
    assert_eq!((contact.id, contact.active), (id, true));

    let (status, _) = f
        .send(Method::PATCH, &path, Some(json!({"id": id, "isActive": 0})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!f.sim.contact(id).unwrap().active);

    let (status, _) = f
        .send(
            Method::PATCH,
            &format!("Companies/{GLOBEX_COMPANY_ID}/Contacts"),
            Some(json!({"id": id, "isActive": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = f
        .send(Method::PATCH, &path, Some(json!({"id": id, "isActive": 2})))
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let (status, _) = f
        .send(
            Method::POST,
            "Companies/1/Contacts",
            Some(json!({"firstName": "A", "lastName": "B", "isActive": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, listed) = f.get(&path).await;
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id && c["isActive"] == 0)
    );
    let (_, company) = f.get(&format!("Companies/{}", contoso())).await;
    assert_eq!(company["item"]["companyName"], "Contoso Law LLP");
}

#[tokio::test]
async fn incidents_link_only_to_problem_tickets() {
    let f = Fixture::new().await;
    let open: Vec<_> = f
        .sim
        .tickets()
        .into_iter()
        .filter(|t| t.company_id == GLOBEX_COMPANY_ID && t.status != "Complete")
        .collect();
    let (parent, child) = (&open[0], &open[1]);
    let problem = f.picklist("Tickets", "ticketType", "Problem").await;
    let incident = f.picklist("Tickets", "ticketType", "Incident").await;

    let (status, body) = f
        .send(
            Method::PATCH,
            "Tickets",
            Some(json!({"id": child.id, "ticketType": incident, "problemTicketId": parent.id})),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(first_error(&body).contains("not a Problem"), "{body}");

    let (status, _) = f
        .send(
            Method::PATCH,
            "Tickets",
            Some(json!({"id": parent.id, "ticketType": problem})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = f
        .send(
            Method::PATCH,
            "Tickets",
            Some(json!({"id": child.id, "problemTicketId": parent.id})),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(first_error(&body).contains("Incident"), "{body}");
    let (status, _) = f
        .send(
            Method::PATCH,
            "Tickets",
            Some(json!({"id": child.id, "ticketType": incident, "problemTicketId": parent.id})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let linked = f.sim.ticket(child.id).unwrap();
    assert_eq!(linked.problem_ticket_id, Some(parent.id));
    assert_eq!(linked.ticket_type, "Incident");

    // A problem with incidents stays a problem.
    let (status, _) = f
        .send(
            Method::PATCH,
            "Tickets",
            Some(json!({"id": parent.id, "ticketType": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);

    // A new problem ticket through POST.
    let new = f.picklist("Tickets", "status", "New").await;
    let high = f.picklist("Tickets", "priority", "High").await;
    let (status, created) = f
        .send(
            Method::POST,
            "Tickets",
            Some(json!({"companyID": GLOBEX_COMPANY_ID, "title": "VPN outage", "description": "Several users.", "status": new, "priority": high, "ticketType": problem})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let created = f.sim.ticket(created["itemId"].as_i64().unwrap()).unwrap();
    assert_eq!(created.ticket_type, "Problem");
    assert!(created.ticket_number.starts_with('T'));

    let (status, body) = f
        .send(
            Method::POST,
            "Tickets",
            Some(json!({"title": "no company"})),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let messages: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(messages.contains(&"companyID is required."), "{messages:?}");
    assert!(messages.contains(&"status is required."), "{messages:?}");
}

#[tokio::test]
async fn the_hourly_threshold_is_shared_and_blocks_at_the_limit() {
    let f = Fixture::new().await;
    f.sim.configure(|s| s.request_threshold = 20);
    f.sim.add_external_requests(15);
    let (status, threshold) = f.get("ThresholdInformation").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        threshold,
        json!({"externalRequestThreshold": 20, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 15})
    );
    for _ in 0..5 {
        assert_eq!(f.get("Tickets/7001").await.0, StatusCode::OK);
    }
    let (status, body) = f.get("Tickets/7001").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(first_error(&body).contains("threshold"), "{body}");
    // The threshold endpoint still answers, so a client can watch the usage.
    let (status, threshold) = f.get("ThresholdInformation").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(threshold["currentTimeframeRequestCount"], 20);
    assert_eq!(f.sim.request_count(), 20);
}

#[tokio::test]
async fn history_reads_like_a_real_msps_year() {
    let f = Fixture::two_clients().await;
    for company in [contoso(), GLOBEX_COMPANY_ID] {
        let closed = f.sim.closed_ticket_ids(company);
        assert!((300..400).contains(&closed.len()), "{}", closed.len());
        let tickets: Vec<_> = closed.iter().map(|id| f.sim.ticket(*id).unwrap()).collect();
        let titles: HashSet<&str> = tickets.iter().map(|t| t.title.as_str()).collect();
        assert!(titles.len() > 60, "only {} distinct titles", titles.len());
        assert!(
            tickets
                .iter()
                .all(|t| t.resolution.is_some() && t.completed.is_some())
        );
        let routine = tickets
            .iter()
            .filter(|t| {
                let title = t.title.to_lowercase();
                [
                    "password",
                    "locked",
                    "mfa",
                    "2fa",
                    "authenticator",
                    "access",
                    "licence",
                    "starter",
                    "leaver",
                    "offboard",
                    "onboarding",
                    "new user",
                ]
                .iter()
                .any(|w| title.contains(w))
            })
            .count();
        assert!(
            routine > tickets.len() / 3 && routine < tickets.len(),
            "{routine}"
        );
        let with_customer_note = tickets
            .iter()
            .filter(|t| {
                f.sim
                    .notes(t.id)
                    .iter()
                    .any(|n| n.publish == "All Autotask Users" && n.title != "Resolution")
            })
            .count();
        assert!(with_customer_note > 0);
        assert!(
            f.sim
                .notes(closed[0])
                .iter()
                .any(|n| n.publish == "Internal Only")
        );
    }
    // Seeded: the same history every time.
    let again = AutotaskSim::from_world(&two_clients());
    assert_eq!(
        again.ticket(7001).unwrap().title,
        f.sim.ticket(7001).unwrap().title
    );
}

#[tokio::test]
async fn the_world_gives_one_client_whose_staff_are_its_contacts() {
    let f = Fixture::new().await;
    let world = World::builtin();
    let globex = world.tenant("globex").unwrap();
    let (_, companies) = f
        .search(
            "Companies",
            json!({"filter": [{"op": "exist", "field": "id"}]}),
        )
        .await;
    let companies = companies["items"].as_array().unwrap();
    assert_eq!(companies.len(), 1, "{companies:?}");
    assert_eq!(companies[0]["id"], GLOBEX_COMPANY_ID);
    assert_eq!(companies[0]["companyName"], globex.company.as_str());
    assert_eq!(companies[0]["companyNumber"], "GLOBEX");
    assert_eq!(companies[0]["phone"], globex.phone.as_str());

    let (_, contacts) = f
        .search(
            "Contacts",
            json!({"filter": [{"op": "eq", "field": "companyID", "value": GLOBEX_COMPANY_ID}]}),
        )
        .await;
    let contacts = contacts["items"].as_array().unwrap();
    assert_eq!(contacts.len(), globex.staff().count());
    for person in globex.staff() {
        let contact = contacts
            .iter()
            .find(|c| c["id"] == person.contact_id.unwrap())
            .unwrap_or_else(|| panic!("{} is a contact", person.key));
        assert_eq!(contact["emailAddress"], person.email(globex).as_str());
        assert_eq!(contact["firstName"], person.given.as_deref().unwrap());
        assert_eq!(contact["title"], person.title.as_deref().unwrap());
        assert_eq!(
            contact["isActive"],
            i64::from(person.status.is_current()),
            "{}",
            person.key
        );
    }
    // Otto Mann has left: his contact is inactive, his open leaver ticket is about him.
    let otto = f.sim.contact_by_email("otto.mann@globex.example").unwrap();
    assert!(!otto.active);

    // Open tickets are the world's, from their requesters, in their queues.
    let open: Vec<_> = f
        .sim
        .tickets()
        .into_iter()
        .filter(|t| t.status != "Complete")
        .collect();
    assert_eq!(open.len(), globex.tickets.len());
    let vpn = open
        .iter()
        .find(|t| t.title == "VPN keeps disconnecting")
        .unwrap();
    assert_eq!(
        (
            vpn.status.as_str(),
            vpn.queue.as_deref(),
            vpn.assigned_resource_id
        ),
        ("Waiting Customer", Some("Escalations"), Some(BKHAN))
    );
    assert_eq!(
        vpn.contact_id,
        globex.person("homer.simpson").unwrap().contact_id
    );
}

#[test]
fn a_world_whose_tickets_do_not_fit_is_refused_naming_the_ticket() {
    let mut world = World::builtin().clone();
    let globex = world.tenant_mut("globex").unwrap();
    globex.tickets[0].status = "Waiting".into();
    let summary = globex.tickets[0].summary.clone();
    let err = AutotaskSim::try_from_world_at(&world, chrono::Utc::now())
        .expect_err("Autotask has no status `Waiting`")
        .to_string();
    assert!(err.contains(&summary) && err.contains("`Waiting`"), "{err}");
}
