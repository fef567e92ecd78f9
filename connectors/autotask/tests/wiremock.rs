//! Every operation against wiremock: method, path, query, headers and body pinned, documented
//! response shapes replayed, and every recorded request validated against the Autotask
//! document.

#[macro_use]
mod common;

use serde_json::{Value, json};
use stackhand_autotask::{AutotaskConfig, AutotaskConnector};
use stackhand_core::*;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Match, Mock, MockBuilder, MockServer, Request, ResponseTemplate};

use common::{assert_valid, config, connect, tenant};

const USER: &str = "stackhand-api@msp.example";
const CODE: &str = "TRACKINGIDENTIFIER0042";
const SECRET: &str = "wiremock-secret-5d1f";
const BASE: &str = "/ATServicesRest/V1.0";

/// Matches when the `search` query parameter is this JSON (key order aside).
struct SearchIs(Value);

impl Match for SearchIs {
    fn matches(&self, request: &Request) -> bool {
        request
            .url
            .query_pairs()
            .find(|(k, _)| k == "search")
            .and_then(|(_, v)| serde_json::from_str::<Value>(&v).ok())
            .is_some_and(|v| v == self.0)
    }
}

/// A mock for `METHOD /ATServicesRest/V1.0/{rest}` that requires the three auth headers.
fn at(verb: &str, rest: &str) -> MockBuilder {
    Mock::given(method(verb))
        .and(path(format!("{BASE}/{rest}")))
        .and(header("ApiIntegrationCode", CODE))
        .and(header("UserName", USER))
        .and(header("Secret", SECRET))
}

/// A mock for a write: auth headers, JSON content type and this exact body.
fn write(verb: &str, rest: &str, body: Value) -> MockBuilder {
    at(verb, rest)
        .and(header("content-type", "application/json"))
        .and(body_json(body))
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn page(items: Vec<Value>, next: Option<String>) -> Value {
    json!({
        "items": items,
        "pageDetails": {"count": items.len(), "requestCount": 500, "prevPageUrl": null, "nextPageUrl": next}
    })
}

fn picklist(values: &[(i64, &str, bool)]) -> Value {
    values
        .iter()
        .map(|(v, label, default)| {
            json!({"value": v.to_string(), "label": label, "isDefaultValue": default,
                   "sortOrder": 0, "parentValue": "", "isActive": true, "isSystem": false})
        })
        .collect()
}

fn field(name: &str, values: Option<Value>) -> Value {
    json!({
        "name": name, "dataType": "integer", "length": 0, "isRequired": false, "isReadOnly": false,
        "isQueryable": true, "isReference": false, "referenceEntityType": "",
        "isPickList": values.is_some(), "picklistValues": values, "picklistParentValueField": "",
        "isSupportedWebhookField": false
    })
}

fn ticket(id: i64, status: i64) -> Value {
    json!({
        "id": id, "ticketNumber": "T20250301.0042", "title": "Locked out of M365",
        "description": "User reports lockout after password change.", "companyID": 250,
        "contactID": 31337, "status": status, "priority": 2, "queueID": 29682833, "issueType": 12,
        "subIssueType": 204, "ticketType": 1, "source": 2, "assignedResourceID": null,
        "assignedResourceRoleID": null, "createDate": "2025-03-01T13:55:40.413Z",
        "dueDateTime": "2025-03-02T13:55:40Z", "lastActivityDate": "2025-03-01T14:02:11.2Z",
        "completedDate": null, "resolution": null, "problemTicketId": null, "userDefinedFields": []
    })
}

fn company() -> Value {
    json!({"id": 250, "companyName": "Acme Dental", "companyNumber": "ACME", "companyType": 1,
           "isActive": true, "userDefinedFields": []})
}

fn contact(id: i64, active: i64) -> Value {
    json!({"id": id, "companyID": 250, "firstName": "Jane", "lastName": "Doe",
           "emailAddress": "jane@acme.example", "isActive": active, "userDefinedFields": []})
}

struct Setup {
    server: MockServer,
    connector: AutotaskConnector,
}

impl Setup {
    async fn new() -> Self {
        Self::with(|c| c).await
    }

    async fn with(change: impl FnOnce(AutotaskConfig) -> AutotaskConfig) -> Self {
        let server = MockServer::start().await;
        let config = config(USER, CODE, SECRET)
            .with_base_url(format!("{}/ATServicesRest/", server.uri()).parse().unwrap());
        let connector = connect(change(config)).await;
        at("GET", "ThresholdInformation")
            .respond_with(ok(json!({"externalRequestThreshold": 10000,
                "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 124})))
            .mount(&server)
            .await;
        Self { server, connector }
    }

    /// The picklists the connector reads at run time (the "usual" community numbers here),
    /// read once: the connector caches them.
    async fn picklists(&self) {
        self.picklists_read(1).await;
    }

    /// The picklists, read `times` times.
    async fn picklists_read(&self, times: u64) {
        at("GET", "Tickets/entityInformation/fields")
            .respond_with(ok(json!({"fields": [
                field("id", None),
                field("status", Some(picklist(&[(1, "New", true), (8, "In Progress", false), (7, "Waiting Customer", false), (5, "Complete", false)]))),
                field("priority", Some(picklist(&[(1, "High", false), (2, "Medium", true), (3, "Low", false)]))),
                field("queueID", Some(picklist(&[(29682833, "Help Desk", true), (29682969, "Escalations", false)]))),
                field("source", Some(picklist(&[(2, "Phone", false), (4, "Email", true)]))),
                field("ticketType", Some(picklist(&[(1, "Service Request", true), (2, "Incident", false), (3, "Problem", false)]))),
            ]})))
            .expect(times)
            .mount(&self.server)
            .await;
        at("GET", "TicketNotes/entityInformation/fields")
            .respond_with(ok(json!({"fields": [
                field("publish", Some(picklist(&[(1, "All Autotask Users", false), (2, "Internal Only", true), (4, "Internal & Co-Managed", false)]))),
                field("noteType", Some(picklist(&[(1, "Task Summary", false), (13, "General", true)]))),
            ]})))
            .expect(times)
            .mount(&self.server)
            .await;
    }

    /// Company 250 and contact 31337, read in batches by id.
    async fn company_and_contact(&self) {
        at("GET", "Companies/query")
            .and(SearchIs(
                json!({"filter": [{"op": "in", "field": "id", "value": [250]}]}),
            ))
            .respond_with(ok(page(vec![company()], None)))
            .mount(&self.server)
            .await;
        at("GET", "Contacts/query")
            .and(SearchIs(
                json!({"filter": [{"op": "in", "field": "id", "value": [31337]}]}),
            ))
            .respond_with(ok(page(vec![contact(31337, 1)], None)))
            .mount(&self.server)
            .await;
    }

    /// Exactly one `verb rest` write with this body, answered `{"itemId": item_id}`.
    async fn accepts_once(&self, verb: &str, rest: &str, body: Value, item_id: i64) {
        write(verb, rest, body)
            .respond_with(ok(json!({ "itemId": item_id })))
            .expect(1)
            .mount(&self.server)
            .await;
    }

    /// `GET Tickets/{id}` answers ticket `id` with `status`, as often as asked.
    async fn serves_ticket(&self, id: i64, status: i64) {
        at("GET", &format!("Tickets/{id}"))
            .respond_with(ok(json!({"item": ticket(id, status)})))
            .mount(&self.server)
            .await;
    }

    fn psa(&self) -> &dyn Psa {
        self.connector.psa().unwrap()
    }

    async fn assert_spec_valid(&self) {
        assert_valid(&self.server.received_requests().await.unwrap());
    }
}

#[tokio::test]
async fn zone_discovery_asks_zone_information_then_calls_the_zone() {
    let discovery = MockServer::start().await;
    let zone = MockServer::start().await;
    at("GET", "ZoneInformation")
        .and(query_param("user", USER))
        .respond_with(ok(
            json!({"zoneName": "Pre-release", "url": format!("{}/ATServicesRest/", zone.uri()),
            "webUrl": "https://ww15.autotask.net/", "ci": 15}),
        ))
        .expect(1)
        .mount(&discovery)
        .await;
    at("GET", "ThresholdInformation")
        .respond_with(ok(json!({"externalRequestThreshold": 10000, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 5})))
        .expect(1)
        .mount(&zone)
        .await;
    let connector = connect(
        config(USER, CODE, SECRET).with_discovery_url(
            format!("{}/ATServicesRest/", discovery.uri())
                .parse()
                .unwrap(),
        ),
    )
    .await;
    let health = connector.health().await.unwrap();
    assert!(health.detail.contains("5 of 10000"), "{}", health.detail);
    assert!(health.detail.contains(&zone.uri()), "{}", health.detail);
    assert_valid(&discovery.received_requests().await.unwrap());
    assert_valid(&zone.received_requests().await.unwrap());
}

#[tokio::test]
async fn poll_tickets_filters_status_queue_and_watermark_and_follows_next_page_url() {
    let s = Setup::new().await;
    s.picklists().await;
    s.company_and_contact().await;
    let since = chrono::DateTime::parse_from_rfc3339("2025-03-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let search = json!({"filter": [
        {"op": "in", "field": "status", "value": [1, 8]},
        {"op": "in", "field": "queueID", "value": [29682833]},
        {"op": "gt", "field": "lastActivityDate", "value": "2025-03-01T00:00:00.000Z"}
    ]});
    let next = format!(
        "{}{BASE}/Tickets/query/next?paging=%7B%22pageSize%22%3A500%7D&search=x",
        s.server.uri()
    );
    at("GET", "Tickets/query/next")
        .and(query_param("paging", "{\"pageSize\":500}"))
        .respond_with(ok(page(vec![ticket(98766, 8)], None)))
        .expect(1)
        .mount(&s.server)
        .await;
    at("GET", "Tickets/query")
        .and(SearchIs(search))
        .respond_with(ok(page(vec![ticket(98765, 1)], Some(next))))
        .expect(1)
        .mount(&s.server)
        .await;
    let tickets = s
        .psa()
        .poll_tickets(&TicketQuery {
            since: Some(since),
            boards: vec!["help desk".into()],
            statuses: vec!["New".into(), "In Progress".into()],
        })
        .await
        .unwrap();
    assert_eq!(tickets.len(), 2);
    let t = &tickets[0];
    assert_eq!((t.id.as_str(), t.status.as_str()), ("98765", "New"));
    assert_eq!(t.subject, "Locked out of M365");
    assert_eq!(t.board.as_deref(), Some("Help Desk"));
    assert_eq!(t.priority.as_deref(), Some("Medium"));
    assert_eq!(t.source.as_deref(), Some("Phone"));
    assert_eq!(t.company.as_ref().unwrap().identifier, "ACME");
    assert_eq!(
        t.contact.as_ref().unwrap().email.as_deref(),
        Some("jane@acme.example")
    );
    assert_eq!(tickets[1].status, "In Progress");
    s.assert_spec_valid().await;
}

#[tokio::test]
async fn poll_without_statuses_excludes_complete_and_scopes_to_the_company() {
    let s = Setup::with(|c| c.with_company_id(250)).await;
    // An unknown queue label makes the connector re-read the picklists once before failing.
    s.picklists_read(2).await;
    at("GET", "Tickets/query")
        .and(SearchIs(json!({"filter": [
            {"op": "eq", "field": "companyID", "value": 250},
            {"op": "noteq", "field": "status", "value": 5}
        ]})))
        .respond_with(ok(page(vec![], None)))
        .expect(1)
        .mount(&s.server)
        .await;
    assert!(
        s.psa()
            .poll_tickets(&TicketQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    let err = s
        .psa()
        .poll_tickets(&TicketQuery {
            boards: vec!["Projects".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.message().contains("Help Desk, Escalations"), "{err}");
    s.assert_spec_valid().await;
}

#[tokio::test]
async fn get_ticket_reads_the_item_with_its_company_and_contact() {
    let s = Setup::new().await;
    s.picklists().await;
    s.company_and_contact().await;
    at("GET", "Tickets/98765")
        .respond_with(ok(json!({"item": ticket(98765, 1)})))
        .expect(1)
        .mount(&s.server)
        .await;
    at("GET", "Tickets/4")
        .respond_with(ok(json!({"item": null})))
        .mount(&s.server)
        .await;
    let t = s.psa().get_ticket("98765").await.unwrap();
    assert_eq!(t.contact.unwrap().name, "Jane Doe");
    assert_eq!(t.company.unwrap().name, "Acme Dental");
    assert_eq!(t.created.to_rfc3339(), "2025-03-01T13:55:40.413+00:00");
    assert!(!t.closed);
    let err = s.psa().get_ticket("4").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    s.assert_spec_valid().await;
}

#[tokio::test]
async fn get_ticket_by_number_queries_ticket_number() {
    let s = Setup::new().await;
    s.picklists().await;
    s.company_and_contact().await;
    at("GET", "Tickets/query")
        .and(SearchIs(
            json!({"filter": [{"op": "eq", "field": "ticketNumber", "value": "T20250301.0042"}]}),
        ))
        .respond_with(ok(page(vec![ticket(98765, 1)], None)))
        .expect(1)
        .mount(&s.server)
        .await;
    let t = s.psa().get_ticket("T20250301.0042").await.unwrap();
    assert_eq!(t.id, "98765");
    s.assert_spec_valid().await;
}

#[tokio::test]
async fn history_reads_complete_tickets_in_the_range_and_their_notes() {
    let s = Setup::new().await;
    s.picklists().await;
    s.company_and_contact().await;
    let mut closed = ticket(98765, 5);
    closed["completedDate"] = json!("2025-03-02T09:00:00Z");
    closed["resolution"] = json!("Unlocked the account.");
    at("GET", "Tickets/query")
        .and(SearchIs(json!({"filter": [
            {"op": "eq", "field": "status", "value": 5},
            {"op": "gte", "field": "completedDate", "value": "2025-03-01T00:00:00.000Z"},
            {"op": "lt", "field": "completedDate", "value": "2025-04-01T00:00:00.000Z"}
        ]})))
        // The same ticket twice (a page boundary moving under us): returned once.
        .respond_with(ok(page(vec![closed.clone(), closed], None)))
        .expect(1)
        .mount(&s.server)
        .await;
    at("GET", "TicketNotes/query")
        .and(SearchIs(json!({"filter": [{"op": "in", "field": "ticketID", "value": [98765]}]})))
        .respond_with(ok(page(
            vec![
                json!({"id": 2, "ticketID": 98765, "title": "Resolution", "description": "Unlocked.", "publish": 1, "noteType": 13,
                       "creatorResourceID": 29684010, "createDateTime": "2025-03-02T09:00:00Z"}),
                json!({"id": 1, "ticketID": 98765, "title": "Checked logs", "description": "Old phone.", "publish": 2, "noteType": 13,
                       "creatorResourceID": 29684010, "createDateTime": "2025-03-01T15:00:00Z"}),
            ],
            None,
        )))
        .expect(1)
        .mount(&s.server)
        .await;
    let at_time = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let history = s
        .psa()
        .history(&HistoryQuery {
            from: at_time("2025-03-01T00:00:00Z"),
            to: at_time("2025-04-01T00:00:00Z"),
        })
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    let h = &history[0];
    assert!(h.ticket.closed);
    assert_eq!(h.resolution.as_deref(), Some("Unlocked the account."));
    assert_eq!(h.closed_at, Some(at_time("2025-03-02T09:00:00Z")));
    assert_eq!(
        h.notes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
        ["1", "2"]
    );
    assert_eq!(h.notes[0].visibility, NoteVisibility::Internal);
    assert!(h.notes[1].resolution && h.notes[1].visibility == NoteVisibility::Customer);
    s.assert_spec_valid().await;
}

#[tokio::test]
async fn long_queries_are_posted_and_their_next_page_is_posted_with_the_same_body() {
    let s = Setup::new().await;
    s.picklists().await;
    let ids: Vec<i64> = (1_000_000..1_000_200).collect();
    let closed: Vec<Value> = ids
        .iter()
        .map(|id| {
            let mut t = ticket(*id, 5);
            t["companyID"] = Value::Null;
            t["contactID"] = Value::Null;
            t
        })
        .collect();
    at("GET", "Tickets/query")
        .respond_with(ok(page(closed, None)))
        .mount(&s.server)
        .await;
    let notes_query = json!({"filter": [{"op": "in", "field": "ticketID", "value": ids}]});
    let next = format!(
        "{}{BASE}/TicketNotes/query/next?paging=opaque",
        s.server.uri()
    );
    write("POST", "TicketNotes/query", notes_query.clone())
        .respond_with(ok(page(
            vec![json!({"id": 1, "ticketID": 1_000_000, "title": "t", "description": "first page", "publish": 2})],
            Some(next),
        )))
        .expect(1)
        .mount(&s.server)
        .await;
    write("POST", "TicketNotes/query/next", notes_query)
        .and(query_param("paging", "opaque"))
        .respond_with(ok(page(
            vec![json!({"id": 2, "ticketID": 1_000_199, "title": "t", "description": "second page", "publish": 1})],
            None,
        )))
        .expect(1)
        .mount(&s.server)
        .await;
    let now = chrono::Utc::now();
    let history = s
        .psa()
        .history(&HistoryQuery {
            from: now - chrono::Duration::days(30),
            to: now,
        })
        .await
        .unwrap();
    assert_eq!(history.len(), 200);
    assert_eq!(history[0].notes[0].text, "first page");
    assert_eq!(history[199].notes[0].text, "second page");
    s.assert_spec_valid().await;
}

#[tokio::test]
async fn a_next_page_url_on_another_host_is_refused() {
    let s = Setup::new().await;
    s.picklists().await;
    at("GET", "Tickets/query")
        .respond_with(ok(page(
            vec![],
            Some("https://evil.example/ATServicesRest/V1.0/Tickets/query/next?paging=x".into()),
        )))
        .mount(&s.server)
        .await;
    let err = s
        .psa()
        .poll_tickets(&TicketQuery::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.message().contains("refusing"), "{err}");
}

#[tokio::test]
async fn notes_are_read_through_ticket_notes_query() {
    let s = Setup::new().await;
    s.picklists().await;
    s.serves_ticket(98765, 1).await;
    at("GET", "TicketNotes/query")
        .and(SearchIs(json!({"filter": [{"op": "eq", "field": "ticketID", "value": 98765}]})))
        .respond_with(ok(page(
            vec![json!({"id": 7, "ticketID": 98765, "title": "Called", "description": "Voicemail.", "publish": 4,
                        "noteType": 13, "createDateTime": "2025-03-01T14:00:00.123"})],
            None,
        )))
        .expect(1)
        .mount(&s.server)
        .await;
    let notes = s.psa().notes("98765").await.unwrap();
    assert_eq!(notes.len(), 1);
    // "Internal & Co-Managed" is not customer-visible.
    assert_eq!(notes[0].visibility, NoteVisibility::Internal);
    assert!(notes[0].created.is_some());
    s.assert_spec_valid().await;
}

#[tokio::test]
async fn add_note_posts_to_the_child_url_with_publish_and_note_type_from_the_picklists() {
    let s = Setup::with(|c| c.with_impersonation(29684010)).await;
    s.picklists().await;
    at("GET", "Tickets/98765")
        .and(header("ImpersonationResourceId", "29684010"))
        .respond_with(ok(json!({"item": ticket(98765, 1)})))
        .mount(&s.server)
        .await;
    write(
        "POST",
        "Tickets/98765/Notes",
        json!({"ticketID": 98765, "title": "Unlocked the account.", "description": "Unlocked the account.\nCause: old phone.",
               "noteType": 13, "publish": 2}),
    )
    .and(header("ImpersonationResourceId", "29684010"))
    .respond_with(ok(json!({"itemId": 555})))
    .expect(1)
    .mount(&s.server)
    .await;
    s.accepts_once(
        "POST",
        "Tickets/98765/Notes",
        json!({"ticketID": 98765, "title": "Resolution", "description": "All sorted, Jane.", "noteType": 13, "publish": 1}),
        556,
    )
    .await;
    s.accepts_once(
        "PATCH",
        "Tickets",
        json!({"id": 98765, "resolution": "All sorted, Jane."}),
        98765,
    )
    .await;
    let internal = psa_write!(s.connector, |psa, proof| psa.add_note(
        proof,
        "98765",
        &NewNote {
            text: "Unlocked the account.\nCause: old phone.".into(),
            visibility: NoteVisibility::Internal,
            resolution: false,
        },
    ))
    .unwrap();
    assert_eq!(internal.id, "555");
    assert_eq!(internal.author.as_deref(), Some("29684010"));
    let customer = psa_write!(s.connector, |psa, proof| psa.add_note(
        proof,
        "98765",
        &NewNote {
            text: "All sorted, Jane.".into(),
            visibility: NoteVisibility::Customer,
            resolution: true,
        },
    ))
    .unwrap();
    assert_eq!(customer.id, "556");
    s.assert_spec_valid().await;
}

#[tokio::test]
async fn set_status_patches_the_picklist_value_with_the_id_in_the_body() {
    let s = Setup::new().await;
    s.picklists().await;
    s.serves_ticket(98765, 1).await;
    s.accepts_once("PATCH", "Tickets", json!({"id": 98765, "status": 7}), 98765)
        .await;
    psa_write!(s.connector, |psa, proof| psa.set_status(
        proof,
        "98765",
        "Waiting Customer"
    ))
    .unwrap();
    s.assert_spec_valid().await;
}

#[tokio::test]
async fn close_sets_complete_and_the_resolution_in_one_patch_and_skips_closed_tickets() {
    let s = Setup::new().await;
    s.picklists().await;
    s.serves_ticket(98765, 1).await;
    s.serves_ticket(98766, 5).await;
    s.accepts_once(
        "PATCH",
        "Tickets",
        json!({"id": 98765, "status": 5, "resolution": "Unlocked the account."}),
        98765,
    )
    .await;
    psa_write!(s.connector, |psa, proof| psa.close(
        proof,
        "98765",
        Some("Unlocked the account.")
    ))
    .unwrap();
    psa_write!(s.connector, |psa, proof| psa.close(
        proof,
        "98766",
        Some("Anything")
    ))
    .unwrap();
    s.assert_spec_valid().await;
}

#[tokio::test]
async fn a_refused_update_is_invalid_and_not_retried() {
    let s = Setup::new().await;
    s.picklists().await;
    s.serves_ticket(98765, 1).await;
    write("PATCH", "Tickets", json!({"id": 98765, "status": 5}))
        .respond_with(ResponseTemplate::new(500).set_body_json(
            json!({"errors": ["A resolution is required to complete this ticket."]}),
        ))
        .expect(1)
        .mount(&s.server)
        .await;
    let err = psa_write!(s.connector, |psa, proof| psa.close(proof, "98765", None)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(!err.is_temporary());
    assert!(err.message().contains("A resolution is required"), "{err}");
    assert_eq!(err.context_value("http_status"), Some("500"));
    assert_eq!(err.context_value("operation"), Some("close"));
}

#[tokio::test]
async fn reassign_sets_the_queue_and_the_resource_with_its_role() {
    let s = Setup::new().await;
    s.picklists().await;
    s.serves_ticket(98765, 1).await;
    at("GET", "Resources/query")
        .and(SearchIs(json!({"filter": [{"op": "or", "items": [
            {"op": "eq", "field": "userName", "value": "jlee"},
            {"op": "eq", "field": "email", "value": "jlee"}
        ]}]})))
        .respond_with(ok(page(
            vec![json!({"id": 29684022, "userName": "jlee", "email": "jlee@msp.example", "firstName": "Jordan",
                        "lastName": "Lee", "isActive": true, "defaultServiceDeskRoleID": 29683470})],
            None,
        )))
        .expect(1)
        .mount(&s.server)
        .await;
    s.accepts_once(
        "PATCH",
        "Tickets",
        json!({"id": 98765, "queueID": 29682969, "assignedResourceID": 29684022, "assignedResourceRoleID": 29683470}),
        98765,
    )
    .await;
    psa_write!(s.connector, |psa, proof| psa.reassign(
        proof,
        "98765",
        &Assignment {
            board: Some("Escalations".into()),
            member: Some("jlee".into()),
        },
    ))
    .unwrap();
    let err = psa_write!(s.connector, |psa, proof| psa.reassign(
        proof,
        "98765",
        &Assignment {
            board: None,
            member: None,
        },
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    s.assert_spec_valid().await;
}

/// A resource (`ResourceModel`) as Autotask answers it, in live camelCase.
fn resource(id: i64, user: &str, active: bool, role: Option<i64>) -> Value {
    json!({
        "id": id, "userName": user, "email": format!("{user}@msp.example"), "email2": null,
        "email3": null, "emailTypeCode": "PRIMARY", "firstName": "Alex", "middleName": null,
        "lastName": "Morgan", "initials": "AM", "title": "Service Desk Technician",
        "resourceType": "Employee", "userType": 7, "licenseType": 1, "locationID": 5,
        "isActive": active, "defaultServiceDeskRoleID": role, "officePhone": "+1 555 0100",
        "officeExtension": "", "mobilePhone": "", "homePhone": "", "gender": null,
        "hireDate": "2021-06-01T00:00:00Z", "payrollType": 1, "internalCost": 0.0,
        "surveyResourceRating": null, "travelAvailabilityPct": "0", "dateFormat": "MM/dd/yyyy",
        "timeFormat": "h:mm a", "numberFormat": "X,XXX.XX", "accountingReferenceID": null,
        "userDefinedFields": []
    })
}

#[tokio::test]
async fn reassign_to_a_resource_id_reads_resources_by_id() {
    // No queue is asked for, so no picklist is read.
    let s = Setup::with(|c| c.with_impersonation(29684010)).await;
    s.serves_ticket(98765, 1).await;
    // `GET /V1.0/Resources/{id}`, with the auth and impersonation headers, answers `{"item":…}`.
    at("GET", "Resources/29684010")
        .and(header("ImpersonationResourceId", "29684010"))
        .respond_with(ok(
            json!({"item": resource(29684010, "amorgan", true, Some(29683461))}),
        ))
        .expect(1)
        .mount(&s.server)
        .await;
    at("GET", "Resources/29684031")
        .respond_with(ok(
            json!({"item": resource(29684031, "ckim", false, Some(29683461))}),
        ))
        .expect(1)
        .mount(&s.server)
        .await;
    at("GET", "Resources/29684099")
        .respond_with(ok(json!({"item": null})))
        .expect(1)
        .mount(&s.server)
        .await;
    at("GET", "Resources/29684050")
        .respond_with(ok(
            json!({"item": resource(29684050, "api-only", true, None)}),
        ))
        .expect(1)
        .mount(&s.server)
        .await;
    write(
        "PATCH",
        "Tickets",
        json!({"id": 98765, "assignedResourceID": 29684010, "assignedResourceRoleID": 29683461}),
    )
    .and(header("ImpersonationResourceId", "29684010"))
    .respond_with(ok(json!({"itemId": 98765})))
    .expect(1)
    .mount(&s.server)
    .await;
    let to = |member: &str| Assignment {
        board: None,
        member: Some(member.into()),
    };
    let assign = |member: &'static str| {
        let connector = s.connector.clone();
        async move {
            psa_write!(connector, |psa, proof| psa.reassign(
                proof,
                "98765",
                &to(member)
            ))
        }
    };
    assign(" 29684010 ").await.unwrap();
    // An inactive resource and an id that is not there are both "no active resource".
    for missing in ["29684031", "29684099"] {
        let err = assign(missing).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(err.message().contains(missing), "{err}");
    }
    let err = assign("29684050").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.message().contains("default service desk role"), "{err}");

    let requests = s.server.received_requests().await.unwrap();
    let reads: Vec<&str> = requests
        .iter()
        .filter(|r| r.url.path().contains("/Resources"))
        .map(|r| r.url.path())
        .collect();
    assert_eq!(
        reads,
        [
            "/ATServicesRest/V1.0/Resources/29684010",
            "/ATServicesRest/V1.0/Resources/29684031",
            "/ATServicesRest/V1.0/Resources/29684099",
            "/ATServicesRest/V1.0/Resources/29684050",
        ]
    );
    // Every read by id is `Resources_QueryItem` of the document, headers included.
    s.assert_spec_valid().await;
}

#[tokio::test]
async fn a_configured_page_size_is_sent_as_max_records() {
    let s = Setup::with(|c| {
        c.with_http(stackhand_http::HttpSettings {
            page_size: std::num::NonZeroU32::new(50),
            ..common::http_with(common::fast_retry())
        })
    })
    .await;
    at("GET", "Contacts/query")
        .and(SearchIs(json!({"MaxRecords": 50, "filter": [
            {"op": "eq", "field": "emailAddress", "value": "jane@acme.example"}
        ]})))
        .respond_with(ok(page(vec![contact(31337, 1)], None)))
        .expect(1)
        .mount(&s.server)
        .await;
    let found = s.psa().find_contact("jane@acme.example").await.unwrap();
    assert_eq!(found.unwrap().id, "31337");
    s.assert_spec_valid().await;

    // Above Autotask's 500 the connector is not built, and the error names the key.
    let too_big = config(USER, CODE, SECRET).with_http(stackhand_http::HttpSettings {
        page_size: std::num::NonZeroU32::new(501),
        ..Default::default()
    });
    let err = AutotaskConnector::build(&common::context(), too_big)
        .await
        .unwrap_err();
    assert_eq!(err.context_value("key"), Some("http.page_size"));
}

#[tokio::test]
async fn find_contact_queries_the_email() {
    let s = Setup::with(|c| c.with_company_id(250)).await;
    at("GET", "Contacts/query")
        .and(SearchIs(json!({"filter": [
            {"op": "eq", "field": "emailAddress", "value": "jane@acme.example"},
            {"op": "eq", "field": "companyID", "value": 250}
        ]})))
        .respond_with(ok(page(vec![contact(31336, 0), contact(31337, 1)], None)))
        .expect(1)
        .mount(&s.server)
        .await;
    let found = s
        .psa()
        .find_contact("jane@acme.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id.as_str(), found.active), ("31337", true));
    s.assert_spec_valid().await;
}

#[tokio::test]
async fn create_contact_posts_under_the_company_then_reads_it_back() {
    let s = Setup::new().await;
    s.accepts_once(
        "POST",
        "Companies/250/Contacts",
        json!({"companyID": 250, "firstName": "Jane", "lastName": "Doe", "emailAddress": "jane@acme.example", "isActive": 1}),
        31337,
    )
    .await;
    at("GET", "Contacts/31337")
        .respond_with(ok(json!({"item": contact(31337, 1)})))
        .expect(1)
        .mount(&s.server)
        .await;
    let created = psa_write!(s.connector, |psa, proof| psa.create_contact(
        proof,
        &NewContact {
            company_id: "250".into(),
            first_name: "Jane".into(),
            last_name: "Doe".into(),
            email: "jane@acme.example".into(),
        }
    ))
    .unwrap();
    assert_eq!(created.id, "31337");
    s.assert_spec_valid().await;
}

#[tokio::test]
async fn contacts_are_deactivated_and_activated_through_their_company() {
    let s = Setup::new().await;
    at("GET", "Contacts/31337")
        .respond_with(ok(json!({"item": contact(31337, 1)})))
        .mount(&s.server)
        .await;
    s.accepts_once(
        "PATCH",
        "Companies/250/Contacts",
        json!({"id": 31337, "isActive": 0}),
        31337,
    )
    .await;
    s.accepts_once(
        "PATCH",
        "Companies/250/Contacts",
        json!({"id": 31337, "isActive": 1}),
        31337,
    )
    .await;
    psa_write!(s.connector, |psa, proof| psa
        .deactivate_contact(proof, "31337"))
    .unwrap();
    psa_write!(s.connector, |psa, proof| psa
        .activate_contact(proof, "31337"))
    .unwrap();
    s.assert_spec_valid().await;
}

#[tokio::test]
async fn find_company_reads_by_id_or_queries_number_and_name() {
    let s = Setup::new().await;
    at("GET", "Companies/250")
        .respond_with(ok(json!({"item": company()})))
        .expect(1)
        .mount(&s.server)
        .await;
    at("GET", "Companies/query")
        .and(SearchIs(json!({"filter": [{"op": "or", "items": [
            {"op": "eq", "field": "companyNumber", "value": "Acme Dental"},
            {"op": "eq", "field": "companyName", "value": "Acme Dental"}
        ]}]})))
        .respond_with(ok(page(vec![company()], None)))
        .expect(1)
        .mount(&s.server)
        .await;
    let by_id = s.psa().find_company("250").await.unwrap().unwrap();
    let by_name = s.psa().find_company("Acme Dental").await.unwrap().unwrap();
    assert_eq!(by_id, by_name);
    assert_eq!(by_id.identifier, "ACME");
    s.assert_spec_valid().await;
}

#[tokio::test]
async fn link_to_parent_makes_the_parent_a_problem_and_the_child_its_incident() {
    let s = Setup::new().await;
    s.picklists().await;
    s.serves_ticket(100, 1).await;
    s.serves_ticket(200, 1).await;
    s.accepts_once("PATCH", "Tickets", json!({"id": 100, "ticketType": 3}), 100)
        .await;
    s.accepts_once(
        "PATCH",
        "Tickets",
        json!({"id": 200, "ticketType": 2, "problemTicketId": 100}),
        200,
    )
    .await;
    psa_write!(s.connector, |psa, proof| psa
        .link_to_parent(proof, "200", "100"))
    .unwrap();
    s.assert_spec_valid().await;
}

/// Allows `autotask.open_problem` and nothing else.
struct AllowOpenProblem;

impl Policy for AllowOpenProblem {
    fn decide(&self, input: &DecisionInput<'_>) -> Decision {
        if input.request.action.as_str() == "autotask.open_problem" {
            Decision::new(Effect::Allow, RuleId::new("allow-open-problem"), "test")
        } else {
            Decision::no_policy()
        }
    }
}

/// An engine whose tenant has this connector, allowed to open problem tickets.
fn open_problem_engine(connector: &AutotaskConnector) -> Engine {
    let engine = Engine::builder(
        std::sync::Arc::new(AllowOpenProblem),
        std::sync::Arc::new(audit::MemoryAuditSink::new()),
    )
    .staff(stackhand_testkit::writes::test_staff())
    .build();
    engine
        .add_tenant(
            Tenant::new(tenant(), "Globex"),
            ConnectorSet::new(tenant())
                .with(std::sync::Arc::new(connector.clone()))
                .unwrap(),
        )
        .unwrap();
    engine
}

/// Submit `autotask.open_problem` with these parameters; the policy allows it.
async fn open_problem(engine: &Engine, key: &str, params: Value) -> Submission {
    let request = ActionRequest::new(
        IdempotencyKey::new(key).unwrap(),
        tenant(),
        ActionId::from_static("autotask.open_problem"),
        &params,
        Principal::technician("lead@msp.example", &["msp.lead"]),
    )
    .unwrap();
    engine.submit(request).await.unwrap()
}

#[tokio::test]
async fn create_problem_ticket_posts_a_problem_with_picklist_defaults() {
    let s = Setup::with(|c| c.with_company_id(250)).await;
    s.picklists().await;
    s.accepts_once("POST", "Tickets", json!({"companyID": 250, "title": "VPN outage", "description": "Several users.", "status": 1,
               "priority": 2, "ticketType": 3, "queueID": 29682833}), 128926).await;
    // The problem ticket is opened by the vendor action, through an engine; without incidents
    // it makes exactly the one POST.
    let engine = open_problem_engine(&s.connector);
    let opened = open_problem(
        &engine,
        "problem-1",
        json!({"title": "VPN outage", "description": "Several users."}),
    )
    .await;
    assert_eq!(opened.label(), "executed");
    let receipt = opened.receipt().unwrap();
    assert_eq!(receipt.failure, None);
    assert_eq!(
        receipt.outcome.state_after["problem_ticket_id"].as_i64(),
        Some(128926)
    );
    let refused = open_problem(
        &engine,
        "problem-2",
        json!({"title": "x", "description": "y", "company_id": 251}),
    )
    .await;
    assert_eq!(refused.label(), "failed");
    let failure = refused.receipt().unwrap().failure.as_ref().unwrap();
    assert_eq!(failure.kind, ErrorKind::Forbidden);
    s.assert_spec_valid().await;
}

#[tokio::test]
async fn errors_map_to_kinds_through_the_envelope() {
    let s = Setup::new().await;
    at("GET", "Companies/1")
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"errors": ["User is not authorized."]})),
        )
        .mount(&s.server)
        .await;
    at("GET", "Companies/2")
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>not json</html>"))
        .mount(&s.server)
        .await;
    at("GET", "Companies/3")
        .respond_with(
            ResponseTemplate::new(500).set_body_json(json!({"Message": "An error has occurred."})),
        )
        .mount(&s.server)
        .await;
    at("GET", "Companies/4")
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"errors": ["Access denied."]})),
        )
        .mount(&s.server)
        .await;
    let psa = s.psa();
    let err = psa.find_company("1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(err.message().contains("User is not authorized."), "{err}");
    let err = psa.find_company("2").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.message().contains("could not parse"), "{err}");
    let err = psa.find_company("3").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(err.message().contains("An error has occurred."), "{err}");
    let err = psa.find_company("4").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    let err = psa.find_company("1").await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(SECRET) && !shown.contains(CODE), "{shown}");
}

#[tokio::test]
async fn a_bare_500_on_a_read_is_retried_and_a_refusal_is_not() {
    let s = Setup::new().await;
    // ASP.NET's unhandled failure is temporary: the read is tried again (fast retries: two
    // attempts in all) before the error is given up as exhausted.
    at("GET", "Companies/3")
        .respond_with(
            ResponseTemplate::new(500).set_body_json(json!({"Message": "An error has occurred."})),
        )
        .expect(2)
        .mount(&s.server)
        .await;
    // The `errors` envelope on a 500 is Autotask refusing the request: asked once.
    at("GET", "Companies/5")
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"errors": ["Company 5 cannot be read by this user."]})),
        )
        .expect(1)
        .mount(&s.server)
        .await;
    let err = s.psa().find_company("3").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(err.status(), RetryStatus::Exhausted);
    let err = s.psa().find_company("5").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(!err.is_temporary());
    assert_eq!(
        err.context_value("vendor_code"),
        Some(stackhand_autotask::REJECTED)
    );
}

#[tokio::test]
async fn a_429_is_retried_after_backoff_and_usage_past_the_stop_line_holds_calls() {
    let s = Setup::new().await;
    at("GET", "Companies/250")
        .respond_with(
            ResponseTemplate::new(429).set_body_json(json!({"errors": ["Threshold exceeded."]})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&s.server)
        .await;
    at("GET", "Companies/250")
        .respond_with(ok(json!({"item": company()})))
        .mount(&s.server)
        .await;
    assert!(s.psa().find_company("250").await.unwrap().is_some());

    let busy = MockServer::start().await;
    at("GET", "ThresholdInformation")
        .respond_with(ok(json!({"externalRequestThreshold": 10000, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 9500})))
        .expect(1)
        .mount(&busy)
        .await;
    let connector =
        connect(config(USER, CODE, SECRET).with_base_url(busy.uri().parse().unwrap())).await;
    let err = connector
        .psa()
        .unwrap()
        .find_company("250")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(err.message().contains("9500 of 10000"), "{err}");
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(60)));
    assert_valid(&busy.received_requests().await.unwrap());
}
