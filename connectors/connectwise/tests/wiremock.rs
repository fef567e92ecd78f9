//! Every operation pinned against wiremock: method, path, query, headers and body, replaying
//! ConnectWise's documented response shapes; every request is validated against the spec.

mod common;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use common::{API, add_note, assert_spec, build, config, fast_http, psa_write};
use serde_json::{Value, json};
use stackhand_connectwise::ConnectWise;
use stackhand_core::{
    Assignment, Connector, ErrorKind, HistoryQuery, NewContact, NoteVisibility, TicketQuery,
};
use stackhand_http::HttpSettings;
use stackhand_sim::connectwise::{CLIENT_ID, COMPANY_ID, PRIVATE_KEY, PUBLIC_KEY};
use stackhand_testkit::openapi::{ObservedRequest, Spec};
use wiremock::matchers::{
    basic_auth, body_json, header, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

const ACCEPT: &str = "application/vnd.connectwise.com+json; version=2025.8";
const MEDIA: &str = "application/vnd.connectwise.com+json; version=2025.8";

/// A mock of one ConnectWise call with the headers every call must carry.
fn cw(verb: &str, endpoint: &str) -> MockBuilder {
    Mock::given(method(verb))
        .and(path(format!("{API}/{endpoint}")))
        .and(basic_auth(
            format!("{COMPANY_ID}+{PUBLIC_KEY}"),
            PRIVATE_KEY,
        ))
        .and(header("clientId", CLIENT_ID))
        .and(header("accept", ACCEPT))
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_string(), MEDIA)
}

fn created(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_raw(body.to_string(), MEDIA)
}

fn error(status: u16, code: &str, message: &str, field: Option<&str>) -> ResponseTemplate {
    let mut body = json!({"code": code, "message": message});
    if let Some(field) = field {
        body["errors"] = json!([{"code": "InvalidField", "message": format!("{field} is invalid"), "resource": "ticket", "field": field}]);
    }
    ResponseTemplate::new(status).set_body_json(body)
}

/// A ticket as `GET /service/tickets/{id}` returns it (the vendor notes' example shape).
fn ticket(id: i64, board: (i64, &str), status: (i64, &str), closed: bool) -> Value {
    json!({
        "id": id,
        "summary": "Password reset - Daniel Reyes",
        "recordType": "ServiceTicket",
        "board": {"id": board.0, "name": board.1, "_info": {"board_href": "https://api-na.myconnectwise.net/v4_6_release/apis/3.0/service/boards/1"}},
        "status": {"id": status.0, "name": status.1, "_info": {"status_href": "…/service/boards/1/statuses/16"}},
        "company": {"id": 250, "identifier": "CONTOSO-LAW", "name": "Contoso Law LLP", "_info": {"company_href": "…/company/companies/250"}},
        "contact": {"id": 402, "name": "Daniel Reyes", "_info": {"contact_href": "…/company/contacts/402"}},
        "contactName": "Daniel Reyes",
        "contactEmailAddress": "dreyes@contosolaw.com",
        "priority": {"id": 4, "name": "Priority 3 - Normal Response"},
        "source": {"id": 2, "name": "Email Connector"},
        "severity": "Medium",
        "impact": "Medium",
        "owner": {"id": 148, "identifier": "amorgan", "name": "Alex Morgan"},
        "closedFlag": closed,
        "actualHours": 0.25,
        "customFields": [],
        "_info": {"lastUpdated": "2026-10-31T14:02:11Z", "updatedBy": "apiuser", "dateEntered": "2026-10-31T13:55:40Z", "enteredBy": "portal"}
    })
}

fn contact(id: i64, inactive: bool) -> Value {
    json!({
        "id": id, "firstName": "Daniel", "lastName": "Reyes",
        "company": {"id": 250, "identifier": "CONTOSO-LAW", "name": "Contoso Law LLP"},
        "inactiveFlag": inactive,
        "communicationItems": [
            {"id": 1001, "type": {"id": 2, "name": "Direct"}, "value": "+1 212 555 0143", "defaultFlag": true, "communicationType": "Phone"},
            {"id": 1000, "type": {"id": 1, "name": "Email"}, "value": "dreyes@contosolaw.com", "defaultFlag": true, "communicationType": "Email"}
        ],
        "_info": {"lastUpdated": "2025-10-01T09:00:00Z"}
    })
}

fn note(id: i64, text: &str, detail: bool, internal: bool, resolution: bool) -> Value {
    json!({
        "id": id, "ticketId": 1234, "text": text,
        "detailDescriptionFlag": detail, "internalAnalysisFlag": internal, "resolutionFlag": resolution,
        "member": {"id": 190, "identifier": "stackhand", "name": "Stackhand API"},
        "dateCreated": "2026-10-31T14:00:00Z", "createdBy": "stackhand"
    })
}

fn statuses(board: i64) -> Value {
    let base = if board == 1 { 16 } else { 31 };
    json!([
        {"id": base, "name": "New", "board": {"id": board}, "sortOrder": 0, "closedStatus": false, "inactive": false, "defaultFlag": true},
        {"id": base + 1, "name": "In Progress", "board": {"id": board}, "sortOrder": 1, "closedStatus": false, "inactive": false, "defaultFlag": false},
        {"id": base + 3, "name": "Completed", "board": {"id": board}, "sortOrder": 3, "closedStatus": true, "inactive": false, "defaultFlag": false},
        {"id": base + 4, "name": ">Closed", "board": {"id": board}, "sortOrder": 4, "closedStatus": true, "inactive": false, "defaultFlag": false},
        {"id": base + 5, "name": "Closed (old)", "board": {"id": board}, "sortOrder": 5, "closedStatus": true, "inactive": true, "defaultFlag": false}
    ])
}

/// A connector with a fixed codebase (no discovery), not scoped to a company.
async fn connector(server: &MockServer) -> Arc<ConnectWise> {
    build("msp", config(&server.uri()).with_codebase("v4_6_release/")).await
}

async fn mount_statuses(server: &MockServer, board: i64) {
    cw("GET", &format!("service/boards/{board}/statuses"))
        .and(query_param("orderBy", "sortOrder asc"))
        .and(query_param("page", "1"))
        .and(query_param("pageSize", "250"))
        .respond_with(ok(statuses(board)))
        .expect(1)
        .mount(server)
        .await;
}

async fn mount_ticket(server: &MockServer, id: i64, body: Value) {
    cw("GET", &format!("service/tickets/{id}"))
        .respond_with(ok(body))
        .mount(server)
        .await;
}

/// A new Help Desk ticket.
async fn mount_new_ticket(server: &MockServer, id: i64) {
    mount_ticket(server, id, ticket(id, (1, "Help Desk"), (16, "New"), false)).await;
}

async fn mount_description(server: &MockServer, id: i64) {
    cw("GET", &format!("service/tickets/{id}/notes"))
        .and(query_param("conditions", "detailDescriptionFlag=true"))
        .and(query_param("orderBy", "id asc"))
        .and(query_param("pageSize", "1"))
        .respond_with(ok(json!([note(
            1,
            "I've forgotten my password.",
            true,
            false,
            false
        )])))
        .mount(server)
        .await;
}

async fn validate(server: &MockServer) {
    assert_spec(&server.received_requests().await.unwrap());
}

#[tokio::test]
async fn discovery_finds_the_codebase_then_health_reads_system_info() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/login/companyinfo/demomsp"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "CompanyName": "Demo MSP", "Codebase": "v2025_1/", "VersionCode": "v2025.1",
            "VersionNumber": "v4.6.2025.1", "CompanyID": "demomsp", "IsCloud": true, "SiteUrl": "api-na.myconnectwise.net"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2025_1/apis/3.0/system/info"))
        .and(basic_auth(format!("{COMPANY_ID}+{PUBLIC_KEY}"), PRIVATE_KEY))
        .and(header("clientId", CLIENT_ID))
        .and(header("accept", ACCEPT))
        .respond_with(ok(json!({"version": "v2025.1.10431", "isCloud": true, "serverTimeZone": "Eastern Standard Time", "cloudRegion": "NA"})))
        .expect(2)
        .mount(&server)
        .await;
    let connector = build("msp", config(&server.uri())).await;
    let health = connector.health().await.unwrap();
    assert!(health.healthy);
    assert!(
        health.detail.contains("v2025.1.10431") && health.detail.contains("/v2025_1/apis/3.0/"),
        "{}",
        health.detail
    );
    connector.health().await.unwrap();
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests[0].headers.get("authorization").is_none(),
        "discovery is unauthenticated"
    );
    // The discovered codebase is not the spec's default one: validate under its prefix.
    let spec = Spec::load("connectwise-manage.json")
        .unwrap()
        .with_prefix("/v2025_1/apis/3.0");
    for request in &requests[1..] {
        spec.validate_request(&ObservedRequest::from(request))
            .unwrap();
    }
}

#[tokio::test]
async fn health_is_false_when_the_keys_are_refused() {
    let server = MockServer::start().await;
    cw("GET", "system/info")
        .respond_with(error(
            401,
            "Unauthorized",
            "The company, public key or private key is not valid.",
            None,
        ))
        .mount(&server)
        .await;
    let health = connector(&server).await.health().await.unwrap();
    assert!(!health.healthy);
    assert!(health.detail.contains("HTTP 401"), "{}", health.detail);
}

#[tokio::test]
async fn poll_pins_conditions_order_and_paging() {
    let server = MockServer::start().await;
    let conditions = r#"closedFlag=false and lastUpdated>[2026-10-30T00:00:00Z] and board/name in ("Help Desk","Projects") and status/name in ("New")"#;
    cw("GET", "service/tickets")
        .and(query_param("conditions", conditions))
        .and(query_param("orderBy", "_info/lastUpdated asc, id asc"))
        .and(query_param("page", "1"))
        .and(query_param("pageSize", "2"))
        .respond_with(ok(json!([
            ticket(1234, (1, "Help Desk"), (16, "New"), false),
            ticket(1235, (1, "Help Desk"), (16, "New"), false)
        ])))
        .expect(1)
        .mount(&server)
        .await;
    cw("GET", "service/tickets")
        .and(query_param("page", "2"))
        .and(query_param("pageSize", "2"))
        .respond_with(ok(json!([ticket(
            1236,
            (2, "Projects"),
            (31, "New"),
            false
        )])))
        .expect(1)
        .mount(&server)
        .await;
    cw("GET", "company/contacts")
        .and(query_param("conditions", "id in (402)"))
        .respond_with(ok(json!([contact(402, false)])))
        .expect(1)
        .mount(&server)
        .await;
    for id in [1234, 1235, 1236] {
        mount_description(&server, id).await;
    }
    let connector = build(
        "msp",
        config(&server.uri())
            .with_codebase("v4_6_release")
            .with_http(HttpSettings {
                page_size: NonZeroU32::new(2),
                ..fast_http()
            }),
    )
    .await;
    let query = TicketQuery {
        since: Some("2026-10-30T00:00:00Z".parse().unwrap()),
        boards: vec!["Help Desk".into(), "Projects".into()],
        statuses: vec!["New".into()],
    };
    let tickets = connector.psa().unwrap().poll_tickets(&query).await.unwrap();
    assert_eq!(tickets.len(), 3);
    let first = &tickets[0];
    assert_eq!(first.id, "1234");
    assert_eq!(first.body, "I've forgotten my password.");
    assert_eq!(
        first.contact.as_ref().unwrap().email.as_deref(),
        Some("dreyes@contosolaw.com")
    );
    assert_eq!(
        first.priority.as_deref(),
        Some("Priority 3 - Normal Response")
    );
    assert_eq!(
        first.created,
        "2026-10-31T13:55:40Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );
    assert_eq!(tickets[2].board.as_deref(), Some("Projects"));
    validate(&server).await;
}

#[tokio::test]
async fn get_ticket_reads_ticket_description_and_contact() {
    let server = MockServer::start().await;
    mount_new_ticket(&server, 1234).await;
    mount_description(&server, 1234).await;
    cw("GET", "company/contacts/402")
        .respond_with(ok(contact(402, true)))
        .expect(1)
        .mount(&server)
        .await;
    let ticket = connector(&server)
        .await
        .psa()
        .unwrap()
        .get_ticket("1234")
        .await
        .unwrap();
    let contact = ticket.contact.unwrap();
    assert_eq!(
        (contact.id.as_str(), contact.name.as_str(), contact.active),
        ("402", "Daniel Reyes", false)
    );
    assert_eq!(ticket.company.unwrap().identifier, "CONTOSO-LAW");
    validate(&server).await;
}

#[tokio::test]
async fn history_uses_forward_only_paging_and_reads_notes() {
    let server = MockServer::start().await;
    let conditions = "closedFlag=true and closedDate>=[2026-01-01T00:00:00Z] and closedDate<[2026-07-01T00:00:00Z]";
    let mut closed = ticket(2001, (1, "Help Desk"), (20, "Closed"), true);
    closed["closedDate"] = json!("2026-03-02T10:00:00Z");
    let mut closed2 = ticket(2002, (1, "Help Desk"), (20, "Closed"), true);
    closed2["closedDate"] = json!("2026-03-03T10:00:00Z");
    let next = format!(
        "<{}{API}/service/tickets?conditions=x&pageId=2001&pageSize=250>; rel=\"next\"",
        server.uri()
    );
    cw("GET", "service/tickets")
        .and(header("pagination-type", "forward-only"))
        .and(query_param("conditions", conditions))
        .and(query_param("pageSize", "250"))
        .and(query_param_is_missing("pageId"))
        .respond_with(ok(json!([closed])).insert_header("link", next.as_str()))
        .expect(1)
        .mount(&server)
        .await;
    cw("GET", "service/tickets")
        .and(header("pagination-type", "forward-only"))
        .and(query_param("pageId", "2001"))
        .respond_with(ok(json!([closed2])))
        .expect(1)
        .mount(&server)
        .await;
    cw("GET", "company/contacts")
        .and(query_param("conditions", "id in (402)"))
        .respond_with(ok(json!([contact(402, false)])))
        .mount(&server)
        .await;
    for id in [2001, 2002] {
        cw("GET", &format!("service/tickets/{id}/notes"))
            .and(query_param("orderBy", "id asc"))
            .and(query_param("page", "1"))
            .respond_with(ok(json!([
                note(1, "Can't log in.", true, false, false),
                note(2, "Verified caller.", false, true, false),
                note(3, "Password reset.", false, false, true)
            ])))
            .expect(1)
            .mount(&server)
            .await;
    }
    let query = HistoryQuery {
        from: "2026-01-01T00:00:00Z".parse().unwrap(),
        to: "2026-07-01T00:00:00Z".parse().unwrap(),
    };
    let history = connector(&server)
        .await
        .psa()
        .unwrap()
        .history(&query)
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    let first = &history[0];
    assert_eq!(first.ticket.body, "Can't log in.");
    assert_eq!(first.resolution.as_deref(), Some("Password reset."));
    assert_eq!(
        first.closed_at,
        Some("2026-03-02T10:00:00Z".parse().unwrap())
    );
    assert_eq!(first.notes[1].visibility, NoteVisibility::Internal);
    assert!(first.notes[2].resolution);
    validate(&server).await;
}

#[tokio::test]
async fn notes_are_written_with_the_right_flags() {
    let server = MockServer::start().await;
    cw("POST", "service/tickets/1234/notes")
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"text": "Checked the sign-in logs.", "detailDescriptionFlag": false, "internalAnalysisFlag": true, "resolutionFlag": false, "processNotifications": false})))
        .respond_with(created(note(10, "Checked the sign-in logs.", false, true, false)))
        .expect(1)
        .mount(&server)
        .await;
    cw("POST", "service/tickets/1234/notes")
        .and(body_json(json!({"text": "Hi Daniel, done.", "detailDescriptionFlag": true, "internalAnalysisFlag": false, "resolutionFlag": false, "processNotifications": true})))
        .respond_with(created(note(11, "Hi Daniel, done.", true, false, false)))
        .expect(1)
        .mount(&server)
        .await;
    cw("GET", "service/tickets/1234/notes")
        .and(query_param("orderBy", "id asc"))
        .and(query_param("page", "1"))
        .and(query_param("pageSize", "250"))
        .respond_with(ok(json!([
            note(10, "Checked the sign-in logs.", false, true, false),
            note(11, "Hi Daniel, done.", true, false, false)
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let connector = connector(&server).await;
    let psa = connector.psa().unwrap();
    let internal = add_note(
        &connector,
        "1234",
        "Checked the sign-in logs.",
        NoteVisibility::Internal,
    )
    .await
    .unwrap();
    assert_eq!(
        (
            internal.id.as_str(),
            internal.visibility,
            internal.author.as_deref()
        ),
        ("10", NoteVisibility::Internal, Some("stackhand"))
    );
    let customer = add_note(
        &connector,
        "1234",
        "Hi Daniel, done.",
        NoteVisibility::Customer,
    )
    .await
    .unwrap();
    assert_eq!(customer.visibility, NoteVisibility::Customer);
    assert_eq!(psa.notes("1234").await.unwrap().len(), 2);
    assert_eq!(
        add_note(&connector, "1234", " ", NoteVisibility::Internal)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Invalid
    );
    validate(&server).await;
}

#[tokio::test]
async fn set_status_resolves_the_name_on_the_tickets_board() {
    let server = MockServer::start().await;
    mount_new_ticket(&server, 1234).await;
    mount_statuses(&server, 1).await;
    cw("PATCH", "service/tickets/1234")
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!([{"op": "replace", "path": "status", "value": {"id": 17}}]),
        ))
        .respond_with(ok(ticket(
            1234,
            (1, "Help Desk"),
            (17, "In Progress"),
            false,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let connector = connector(&server).await;
    psa_write(&connector, |proof, psa| {
        Box::pin(async move { psa.set_status(proof, "1234", "In Progress").await })
    })
    .await
    .unwrap();
    let err = psa_write(&connector, |proof, psa| {
        Box::pin(async move { psa.set_status(proof, "1234", "Closed (old)").await })
    })
    .await
    .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Invalid,
        "inactive statuses are refused"
    );
    validate(&server).await;
}

#[tokio::test]
async fn close_writes_the_resolution_then_the_boards_closed_status() {
    let server = MockServer::start().await;
    mount_new_ticket(&server, 1234).await;
    mount_statuses(&server, 1).await;
    cw("POST", "service/tickets/1234/notes")
        .and(body_json(json!({"text": "Password reset.", "detailDescriptionFlag": true, "internalAnalysisFlag": false, "resolutionFlag": true, "processNotifications": true})))
        .respond_with(created(note(12, "Password reset.", true, false, true)))
        .expect(1)
        .mount(&server)
        .await;
    // ">Closed" wins over "Completed": both close, the one named Closed is the board's close.
    cw("PATCH", "service/tickets/1234")
        .and(body_json(
            json!([{"op": "replace", "path": "status", "value": {"id": 20}}]),
        ))
        .respond_with(ok(ticket(1234, (1, "Help Desk"), (20, ">Closed"), true)))
        .expect(1)
        .mount(&server)
        .await;
    psa_write(&connector(&server).await, |proof, psa| {
        Box::pin(async move { psa.close(proof, "1234", Some("Password reset.")).await })
    })
    .await
    .unwrap();
    let received = server.received_requests().await.unwrap();
    let order: Vec<String> = received.iter().map(|r| r.method.to_string()).collect();
    assert_eq!(
        order,
        ["GET", "GET", "POST", "PATCH"],
        "the resolution is written before closing"
    );
    validate(&server).await;
}

#[tokio::test]
async fn close_surfaces_the_workflow_refusal() {
    let server = MockServer::start().await;
    mount_new_ticket(&server, 1234).await;
    mount_statuses(&server, 1).await;
    cw("PATCH", "service/tickets/1234")
        .respond_with(error(
            400,
            "InvalidObject",
            "ticket object is invalid",
            Some("status"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = psa_write(&connector(&server).await, |proof, psa| {
        Box::pin(async move { psa.close(proof, "1234", None).await })
    })
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert_eq!(err.context_value("vendor_code"), Some("InvalidObject"));
    assert!(err.message().contains("status: status is invalid"), "{err}");
}

#[tokio::test]
async fn reassign_moves_board_with_a_valid_status_and_sets_the_owner() {
    let server = MockServer::start().await;
    mount_ticket(
        &server,
        1234,
        ticket(1234, (1, "Help Desk"), (17, "In Progress"), false),
    )
    .await;
    cw("GET", "service/boards")
        .and(query_param(
            "conditions",
            r#"name="Projects" and inactiveFlag=false"#,
        ))
        .respond_with(ok(
            json!([{"id": 2, "name": "Projects", "projectFlag": false}]),
        ))
        .expect(1)
        .mount(&server)
        .await;
    mount_statuses(&server, 2).await;
    cw("PATCH", "service/tickets/1234")
        .and(body_json(json!([
            {"op": "replace", "path": "board", "value": {"id": 2}},
            {"op": "replace", "path": "status", "value": {"id": 32}},
            {"op": "replace", "path": "owner", "value": {"identifier": "cfischer"}}
        ])))
        .respond_with(ok(ticket(
            1234,
            (2, "Projects"),
            (32, "In Progress"),
            false,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let psa_connector = connector(&server).await;
    psa_write(&psa_connector, |proof, psa| {
        Box::pin(async move {
            psa.reassign(
                proof,
                "1234",
                &Assignment {
                    board: Some("Projects".into()),
                    member: Some("cfischer".into()),
                },
            )
            .await
        })
    })
    .await
    .unwrap();
    assert_eq!(
        psa_write(&psa_connector, |proof, psa| Box::pin(async move {
            psa.reassign(
                proof,
                "1234",
                &Assignment {
                    board: None,
                    member: None,
                },
            )
            .await
        }))
        .await
        .unwrap_err()
        .kind(),
        ErrorKind::Invalid
    );
    validate(&server).await;
}

#[tokio::test]
async fn link_to_parent_attaches_the_child_to_the_parent() {
    let server = MockServer::start().await;
    for id in [1234, 1235, 1237] {
        mount_new_ticket(&server, id).await;
    }
    let mut linked = ticket(1236, (1, "Help Desk"), (16, "New"), false);
    linked["parentTicketId"] = json!(1234);
    mount_ticket(&server, 1236, linked).await;
    cw("POST", "service/tickets/1234/attachChildren")
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"childTicketIds": [1235]})))
        .respond_with(ok(json!({"success": true})))
        .expect(1)
        .mount(&server)
        .await;
    cw("POST", "service/tickets/1234/attachChildren")
        .and(body_json(json!({"childTicketIds": [1237]})))
        .respond_with(ok(
            json!({"success": false, "message": "Ticket 1237 has child tickets."}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    // The parent is never patched onto the child: ConnectWise has no writable parentTicketId.
    cw("PATCH", "service/tickets/1235")
        .respond_with(ok(json!({})))
        .expect(0)
        .mount(&server)
        .await;
    let connector = connector(&server).await;
    let link = |child: &'static str, parent: &'static str| {
        psa_write(&connector, move |proof, psa| {
            Box::pin(async move { psa.link_to_parent(proof, child, parent).await })
        })
    };

    link("1235", "1234").await.unwrap();
    // Already under that parent: read, nothing written.
    link("1236", "1234").await.unwrap();
    let refused = link("1237", "1234").await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Permanent, "{refused}");
    assert!(refused.message().contains("has child tickets"), "{refused}");

    // A ticket is not its own parent, however its id is written; nothing is sent.
    let before = server.received_requests().await.unwrap().len();
    let err = link("1234", " 1234").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.message().contains("its own parent"), "{err}");
    assert_eq!(server.received_requests().await.unwrap().len(), before);
    validate(&server).await;
}

#[tokio::test]
async fn contacts_find_create_deactivate_activate() {
    let server = MockServer::start().await;
    cw("GET", "company/contacts")
        .and(query_param("childConditions", r#"communicationItems/value="dreyes@contosolaw.com" AND communicationItems/communicationType="Email""#))
        .and(query_param_is_missing("conditions"))
        .respond_with(ok(json!([contact(54, true), contact(402, false)])))
        .expect(1)
        .mount(&server)
        .await;
    cw("GET", "company/communicationTypes")
        .and(query_param("conditions", "emailFlag=true"))
        .respond_with(ok(json!([{"id": 7, "description": "Email", "emailFlag": true, "phoneFlag": false, "faxFlag": false}])))
        .expect(1)
        .mount(&server)
        .await;
    cw("POST", "company/contacts")
        .and(body_json(json!({
            "firstName": "Laura", "lastName": "Fischer", "company": {"id": 250},
            "communicationItems": [{"type": {"id": 7}, "value": "lfischer@contosolaw.com", "communicationType": "Email", "defaultFlag": true}]
        })))
        .respond_with(created(json!({
            "id": 90, "firstName": "Laura", "lastName": "Fischer", "company": {"id": 250, "identifier": "CONTOSO-LAW", "name": "Contoso Law LLP"},
            "inactiveFlag": false,
            "communicationItems": [{"id": 2000, "type": {"id": 7, "name": "Email"}, "value": "lfischer@contosolaw.com", "defaultFlag": true, "communicationType": "Email"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    for inactive in [true, false] {
        cw("PATCH", "company/contacts/90")
            .and(body_json(
                json!([{"op": "replace", "path": "inactiveFlag", "value": inactive}]),
            ))
            .respond_with(ok(contact(90, inactive)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let connector = connector(&server).await;
    let psa = connector.psa().unwrap();
    let daniel = psa
        .find_contact("dreyes@contosolaw.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        daniel.id, "402",
        "the active contact wins over an inactive namesake"
    );
    let laura = psa_write(&connector, |proof, psa| {
        Box::pin(async move {
            psa.create_contact(
                proof,
                &NewContact {
                    company_id: "250".into(),
                    first_name: "Laura".into(),
                    last_name: "Fischer".into(),
                    email: "lfischer@contosolaw.com".into(),
                },
            )
            .await
        })
    })
    .await
    .unwrap();
    assert_eq!(
        (
            laura.id.as_str(),
            laura.email.as_deref(),
            laura.company_id.as_deref()
        ),
        ("90", Some("lfischer@contosolaw.com"), Some("250"))
    );
    psa_write(&connector, |proof, psa| {
        Box::pin(async move { psa.deactivate_contact(proof, "90").await })
    })
    .await
    .unwrap();
    psa_write(&connector, |proof, psa| {
        Box::pin(async move { psa.activate_contact(proof, "90").await })
    })
    .await
    .unwrap();
    validate(&server).await;
}

#[tokio::test]
async fn find_company_by_identifier_or_name() {
    let server = MockServer::start().await;
    cw("GET", "company/companies")
        .and(query_param("conditions", r#"(identifier="CONTOSO-LAW" or name="CONTOSO-LAW") and deletedFlag=false"#))
        .and(query_param("fields", "id,identifier,name,deletedFlag"))
        .respond_with(ok(json!([{"id": 250, "identifier": "CONTOSO-LAW", "name": "Contoso Law LLP", "deletedFlag": false}])))
        .expect(1)
        .mount(&server)
        .await;
    let company = connector(&server)
        .await
        .psa()
        .unwrap()
        .find_company("CONTOSO-LAW")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (company.id.as_str(), company.name.as_str()),
        ("250", "Contoso Law LLP")
    );
    validate(&server).await;
}

#[tokio::test]
async fn a_scoped_connector_filters_by_its_company() {
    let server = MockServer::start().await;
    cw("GET", "company/companies")
        .and(query_param("conditions", r#"identifier="CONTOSO-LAW""#))
        .respond_with(ok(
            json!([{"id": 250, "identifier": "CONTOSO-LAW", "name": "Contoso Law LLP"}]),
        ))
        .expect(1)
        .mount(&server)
        .await;
    cw("GET", "service/tickets")
        .and(query_param(
            "conditions",
            r#"closedFlag=false and company/identifier="CONTOSO-LAW""#,
        ))
        .respond_with(ok(json!([])))
        .expect(2)
        .mount(&server)
        .await;
    cw("GET", "company/contacts")
        .and(query_param("conditions", "company/id=250"))
        .respond_with(ok(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let connector = build(
        "contoso-law",
        config(&server.uri())
            .with_codebase("v4_6_release/")
            .with_company_identifier("CONTOSO-LAW"),
    )
    .await;
    let psa = connector.psa().unwrap();
    assert!(
        psa.poll_tickets(&TicketQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        psa.poll_tickets(&TicketQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        psa.find_contact("dreyes@contosolaw.com")
            .await
            .unwrap()
            .is_none()
    );
    validate(&server).await;
}

#[tokio::test]
async fn errors_map_through_the_connectwise_envelope() {
    let server = MockServer::start().await;
    cw("GET", "service/tickets/1")
        .respond_with(error(
            404,
            "NotFound",
            "ticket with id 1 was not found.",
            None,
        ))
        .mount(&server)
        .await;
    cw("GET", "service/tickets/2")
        .respond_with(error(
            401,
            "Unauthorized",
            "The company, public key or private key is not valid.",
            None,
        ))
        .mount(&server)
        .await;
    cw("GET", "service/tickets/3")
        .respond_with(
            ResponseTemplate::new(502).set_body_string("<html><body>Bad gateway</body></html>"),
        )
        .mount(&server)
        .await;
    cw("GET", "service/tickets/4")
        .respond_with(ok(json!({"id": "not a number"})))
        .mount(&server)
        .await;
    let connector = connector(&server).await;
    let psa = connector.psa().unwrap();
    let not_found = psa.get_ticket("1").await.unwrap_err();
    assert_eq!(not_found.kind(), ErrorKind::NotFound);
    assert_eq!(not_found.context_value("vendor_code"), Some("NotFound"));
    assert_eq!(
        psa.get_ticket("2").await.unwrap_err().kind(),
        ErrorKind::Unauthorized
    );
    let gateway = psa.get_ticket("3").await.unwrap_err();
    assert_eq!(gateway.kind(), ErrorKind::Transient);
    assert!(gateway.message().contains("HTML"), "{gateway}");
    let garbage = psa.get_ticket("4").await.unwrap_err();
    assert_eq!(garbage.kind(), ErrorKind::Invalid, "{garbage}");
    assert!(!format!("{not_found:?}{gateway:?}{garbage:?}").contains(PRIVATE_KEY));
}

#[tokio::test]
async fn throttling_honours_retry_after() {
    let server = MockServer::start().await;
    cw("GET", "system/info")
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    cw("GET", "system/info")
        .respond_with(ok(json!({"version": "v2025.8", "isCloud": true})))
        .expect(1)
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    assert!(connector(&server).await.health().await.unwrap().healthy);
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn the_spec_check_catches_a_partial_object_patch() {
    // Guard that the validation these tests rely on can fail: ConnectWise PATCH takes an array.
    let spec = Spec::load("connectwise-manage.json").unwrap();
    let wrong = ObservedRequest::new("PATCH", &format!("{API}/service/tickets/1"))
        .with_json(&json!({"status": {"id": 1}}));
    assert!(spec.validate_request(&wrong).is_err());
    let right = ObservedRequest::new("PATCH", &format!("{API}/service/tickets/1"))
        .with_json(&json!([{"op": "replace", "path": "status", "value": {"id": 1}}]));
    spec.validate_request(&right).unwrap();
}
