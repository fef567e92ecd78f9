//! End to end against the ConnectWise simulator: every capability operation changes the
//! simulator's state as expected, and every request the simulator saw matches the spec.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use chrono::Duration as Days;
use common::{SimRig, add_note, anchor, psa_write, recorded};
use stackhand_core::{
    Assignment, Connector, ErrorKind, HistoryQuery, NewContact, NoteVisibility, Psa, TicketQuery,
};
use stackhand_sim::Faults;
use stackhand_sim::connectwise::seed::{CONTOSO_LAW, OWN_COMPANY};
use stackhand_sim::world::World;

fn psa(rig: &SimRig) -> &dyn Psa {
    rig.connector.psa().expect("connectwise is a PSA")
}

/// The open Help Desk tickets of a company in the simulator.
fn open_ids(rig: &SimRig, company: i64, board: &str) -> Vec<i64> {
    rig.sim
        .open_ticket_ids()
        .into_iter()
        .filter(|id| {
            let view = rig.sim.ticket(*id).unwrap();
            view.ticket.company_id == company && view.board == board
        })
        .collect()
}

#[tokio::test]
async fn discovers_the_codebase_and_reports_health() {
    let rig = SimRig::start("CONTOSO-LAW").await;
    let health = rig.connector.health().await.unwrap();
    assert!(health.healthy, "{}", health.detail);
    assert!(
        health.detail.contains("v4_6_release/apis/3.0"),
        "{}",
        health.detail
    );
    assert!(health.detail.contains("CONTOSO-LAW"), "{}", health.detail);
    let requests = rig.server.recorder().requests();
    assert_eq!(
        requests[0].path, "/login/companyinfo/demomsp",
        "discovery comes first"
    );
    assert!(
        requests[0].headers.get("authorization").is_none(),
        "discovery is unauthenticated"
    );
    for request in &requests[1..] {
        assert_eq!(
            request.headers["clientid"],
            stackhand_sim::connectwise::CLIENT_ID
        );
        assert_eq!(
            request.headers["accept"],
            "application/vnd.connectwise.com+json; version=2025.8"
        );
    }
    rig.assert_requests_match_spec();
}

#[tokio::test]
async fn polls_open_tickets_of_its_company_with_description_and_contact() {
    let rig = SimRig::start("CONTOSO-LAW").await;
    let query = TicketQuery {
        boards: vec!["Help Desk".into()],
        statuses: vec!["New".into(), "In Progress".into()],
        ..Default::default()
    };
    let tickets = psa(&rig).poll_tickets(&query).await.unwrap();
    let expected: HashSet<String> = open_ids(&rig, CONTOSO_LAW, "Help Desk")
        .iter()
        .map(i64::to_string)
        .collect();
    let got: HashSet<String> = tickets.iter().map(|t| t.id.clone()).collect();
    assert_eq!(got, expected);
    let updated: Vec<_> = tickets.iter().map(|t| t.updated.unwrap()).collect();
    assert!(
        updated.windows(2).all(|w| w[0] <= w[1]),
        "oldest change first"
    );

    let reset = tickets
        .iter()
        .find(|t| t.subject == "Password reset - Daniel Reyes")
        .unwrap();
    assert!(
        reset.body.contains("forgotten my password"),
        "{}",
        reset.body
    );
    assert_eq!(reset.tenant.as_str(), "contoso-law");
    assert_eq!(reset.company.as_ref().unwrap().identifier, "CONTOSO-LAW");
    let contact = reset.contact.as_ref().unwrap();
    assert_eq!(contact.email.as_deref(), Some("dreyes@contosolaw.com"));
    assert!(contact.active);
    assert_eq!(reset.board.as_deref(), Some("Help Desk"));
    assert_eq!(reset.status, "New");
    assert_eq!(reset.source.as_deref(), Some("Email Connector"));
    assert!(!reset.closed);

    // The watermark: nothing changed since the newest update.
    let since = TicketQuery {
        since: Some(*updated.last().unwrap()),
        ..query
    };
    assert!(psa(&rig).poll_tickets(&since).await.unwrap().is_empty());
    rig.assert_requests_match_spec();
}

#[tokio::test]
async fn another_companys_ticket_is_not_found() {
    let rig = SimRig::start("CONTOSO-LAW").await;
    let other = rig.own_company_ticket().await;
    let err = psa(&rig).get_ticket(&other.to_string()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = add_note(
        &rig.connector,
        &other.to_string(),
        "x",
        NoteVisibility::Internal,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(
        rig.sim.notes(other).len() == 1,
        "nothing written to the other company's ticket"
    );
    let err = psa(&rig).get_ticket("not-a-number").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
}

#[tokio::test]
async fn notes_then_close_reach_the_simulated_end_state() {
    let rig = SimRig::start("CONTOSO-LAW").await;
    let psa = psa(&rig);
    let tickets = psa
        .poll_tickets(&TicketQuery {
            boards: vec!["Help Desk".into()],
            statuses: vec!["New".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let ticket = tickets
        .iter()
        .find(|t| t.subject.starts_with("Password reset"))
        .unwrap();
    let id: i64 = ticket.id.parse().unwrap();

    let internal = add_note(
        &rig.connector,
        &ticket.id,
        "Identity verified by callback; password reset.",
        NoteVisibility::Internal,
    )
    .await
    .unwrap();
    assert_eq!(internal.visibility, NoteVisibility::Internal);
    let customer = add_note(
        &rig.connector,
        &ticket.id,
        "Hi Daniel, your password has been reset.",
        NoteVisibility::Customer,
    )
    .await
    .unwrap();
    assert_eq!(customer.visibility, NoteVisibility::Customer);

    // Help Desk demands a resolution: closing without one fails and leaves the ticket open.
    let ticket_id = ticket.id.clone();
    let err = psa_write(&rig.connector, move |proof, psa| {
        Box::pin(async move { psa.close(proof, &ticket_id, None).await })
    })
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.message().contains("resolution"), "{err}");
    assert!(!rig.sim.ticket(id).unwrap().ticket.closed_flag);

    let ticket_id = ticket.id.clone();
    psa_write(&rig.connector, move |proof, psa| {
        Box::pin(async move {
            psa.close(
                proof,
                &ticket_id,
                Some("Password reset after identity check."),
            )
            .await
        })
    })
    .await
    .unwrap();

    let view = rig.sim.ticket(id).unwrap();
    assert!(view.ticket.closed_flag);
    assert_eq!(view.status, "Closed");
    let notes = rig.sim.notes(id);
    let internal_note = notes
        .iter()
        .find(|n| n.id.to_string() == internal.id)
        .unwrap();
    assert!(
        internal_note.internal_analysis
            && !internal_note.detail_description
            && !internal_note.process_notifications
    );
    let customer_note = notes
        .iter()
        .find(|n| n.id.to_string() == customer.id)
        .unwrap();
    assert!(
        customer_note.detail_description
            && !customer_note.internal_analysis
            && customer_note.process_notifications
    );
    assert!(
        notes
            .iter()
            .any(|n| n.resolution && n.text == "Password reset after identity check.")
    );

    // The same end state through the API.
    let read = psa.get_ticket(&ticket.id).await.unwrap();
    assert!(read.closed);
    assert_eq!(read.status, "Closed");
    let api_notes = psa.notes(&ticket.id).await.unwrap();
    assert!(
        api_notes
            .iter()
            .any(|n| n.id == internal.id && n.visibility == NoteVisibility::Internal)
    );
    assert!(
        api_notes
            .iter()
            .any(|n| n.id == customer.id && n.visibility == NoteVisibility::Customer)
    );
    assert!(api_notes.iter().any(|n| n.resolution));

    // Closing again changes nothing.
    let before = rig.server.recorder().requests().len();
    let ticket_id = ticket.id.clone();
    psa_write(&rig.connector, move |proof, psa| {
        Box::pin(async move { psa.close(proof, &ticket_id, Some("again")).await })
    })
    .await
    .unwrap();
    let after = rig.server.recorder().requests();
    assert!(recorded(&after[before..], "POST", "/notes").is_empty());
    assert!(recorded(&after[before..], "PATCH", &format!("/service/tickets/{id}")).is_empty());
    rig.assert_requests_match_spec();
}

#[tokio::test]
async fn history_returns_every_closed_ticket_exactly_once() {
    let rig = SimRig::start("CONTOSO-LAW").await;
    let query = HistoryQuery {
        from: anchor() - Days::days(400),
        to: anchor(),
    };
    let history = psa(&rig).history(&query).await.unwrap();
    let contoso = World::builtin().tenant("contoso-law").unwrap();
    assert_eq!(history.len(), contoso.history);
    let ids: HashSet<&str> = history.iter().map(|h| h.ticket.id.as_str()).collect();
    assert_eq!(ids.len(), history.len(), "no ticket twice");
    let expected: HashSet<String> = rig
        .sim
        .closed_ticket_ids(query.from, query.to)
        .into_iter()
        .filter(|id| rig.sim.ticket(*id).unwrap().ticket.company_id == CONTOSO_LAW)
        .map(|id| id.to_string())
        .collect();
    assert_eq!(ids, expected.iter().map(String::as_str).collect());
    for item in &history {
        assert!(item.ticket.closed);
        assert!(!item.notes.is_empty());
        assert!(!item.ticket.body.is_empty());
        assert!(
            item.closed_at
                .is_some_and(|c| c >= query.from && c < query.to)
        );
        if item.ticket.board.as_deref() == Some("Help Desk") {
            assert!(
                item.resolution.is_some(),
                "ticket {} has no resolution",
                item.ticket.id
            );
        }
    }
    assert!(history.iter().any(|h| {
        h.notes
            .iter()
            .any(|n| n.visibility == NoteVisibility::Internal)
    }));

    // A narrower window is a subset, split at the boundary without overlap.
    let mid = anchor() - Days::days(180);
    let older = psa(&rig)
        .history(&HistoryQuery {
            from: query.from,
            to: mid,
        })
        .await
        .unwrap();
    let newer = psa(&rig)
        .history(&HistoryQuery {
            from: mid,
            to: query.to,
        })
        .await
        .unwrap();
    assert_eq!(older.len() + newer.len(), history.len());
    let forward = recorded(&rig.server.recorder().requests(), "GET", "/service/tickets")
        .into_iter()
        .filter(|r| r.headers.get("pagination-type").is_some())
        .count();
    assert!(
        forward >= 3,
        "history reads with forward-only paging ({forward} requests)"
    );
    rig.assert_requests_match_spec();
}

#[tokio::test]
async fn status_reassign_and_parent_links() {
    let rig = SimRig::start("CONTOSO-LAW").await;
    let psa = psa(&rig);
    let open = open_ids(&rig, CONTOSO_LAW, "Help Desk");
    let (first, second) = (open[0].to_string(), open[1].to_string());

    let ticket_id = first.clone();
    psa_write(&rig.connector, move |proof, psa| {
        Box::pin(async move { psa.set_status(proof, &ticket_id, "in progress").await })
    })
    .await
    .unwrap();
    assert_eq!(rig.sim.ticket(open[0]).unwrap().status, "In Progress");
    let ticket_id = first.clone();
    let err = psa_write(&rig.connector, move |proof, psa| {
        Box::pin(async move { psa.set_status(proof, &ticket_id, "Escalated (old)").await })
    })
    .await
    .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Invalid,
        "inactive statuses are not offered"
    );
    assert!(err.message().contains("Waiting"), "{err}");

    let ticket_id = second.clone();
    psa_write(&rig.connector, move |proof, psa| {
        Box::pin(async move {
            psa.reassign(
                proof,
                &ticket_id,
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
    let view = rig.sim.ticket(open[1]).unwrap();
    assert_eq!(
        (
            view.board.as_str(),
            view.status.as_str(),
            view.owner.as_deref()
        ),
        ("Projects", "New", Some("cfischer"))
    );
    // Projects does not demand a resolution.
    let ticket_id = second.clone();
    psa_write(&rig.connector, move |proof, psa| {
        Box::pin(async move { psa.close(proof, &ticket_id, None).await })
    })
    .await
    .unwrap();
    assert!(rig.sim.ticket(open[1]).unwrap().ticket.closed_flag);

    let link = |child: String, parent: String| {
        psa_write(&rig.connector, move |proof, psa| {
            Box::pin(async move { psa.link_to_parent(proof, &child, &parent).await })
        })
    };
    link(open[2].to_string(), first.clone()).await.unwrap();
    assert_eq!(
        rig.sim.ticket(open[2]).unwrap().ticket.parent_ticket_id,
        Some(open[0])
    );
    assert_eq!(
        psa.get_ticket(&open[2].to_string())
            .await
            .unwrap()
            .parent_id
            .as_deref(),
        Some(first.as_str())
    );
    let attached = recorded(
        &rig.server.recorder().requests(),
        "POST",
        &format!("/service/tickets/{}/attachChildren", open[0]),
    )
    .len();
    assert_eq!(attached, 1, "the child is bundled under the parent");

    // Linking again changes nothing and sends no write.
    link(open[2].to_string(), first.clone()).await.unwrap();
    let requests = rig.server.recorder().requests();
    assert_eq!(recorded(&requests, "POST", "/attachChildren").len(), 1);

    // A ticket cannot be its own parent: refused before anything is sent.
    let before = rig.server.recorder().requests().len();
    let err = link(first.clone(), first.clone()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.message().contains("its own parent"), "{err}");
    assert_eq!(rig.server.recorder().requests().len(), before);
    assert_eq!(
        rig.sim.ticket(open[0]).unwrap().ticket.parent_ticket_id,
        None
    );

    // Statuses are read once per board.
    let status_reads = recorded(
        &rig.server.recorder().requests(),
        "GET",
        "/service/boards/1/statuses",
    )
    .len();
    assert_eq!(status_reads, 1);
    rig.assert_requests_match_spec();
}

#[tokio::test]
async fn contacts_onboarding_and_offboarding() {
    let rig = SimRig::start("CONTOSO-LAW").await;
    let psa = psa(&rig);
    let daniel = psa
        .find_contact("dreyes@contosolaw.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(daniel.name, "Daniel Reyes");
    assert_eq!(daniel.id, "402", "the world's contact id");
    assert_eq!(
        daniel.company_id.as_deref(),
        Some(CONTOSO_LAW.to_string().as_str())
    );
    let (msp_contact, msp_email) = rig.own_company_contact().await;
    assert!(
        psa.find_contact(&msp_email).await.unwrap().is_none(),
        "another company's contact"
    );
    assert!(
        psa.find_contact("nobody@contosolaw.com")
            .await
            .unwrap()
            .is_none()
    );

    let sam = psa_write(&rig.connector, |proof, psa| {
        Box::pin(async move {
            psa.create_contact(
                proof,
                &NewContact {
                    company_id: CONTOSO_LAW.to_string(),
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
    let stored = rig.sim.contact_by_email("lfischer@contosolaw.com").unwrap();
    assert_eq!(stored.id.to_string(), sam.id);
    assert_eq!(stored.company_id, Some(CONTOSO_LAW));
    assert_eq!(
        psa.find_contact("lfischer@contosolaw.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        sam.id
    );

    let err = psa_write(&rig.connector, |proof, psa| {
        Box::pin(async move {
            psa.create_contact(
                proof,
                &NewContact {
                    company_id: OWN_COMPANY.to_string(),
                    first_name: "X".into(),
                    last_name: "Y".into(),
                    email: "x@northwind-msp.example".into(),
                },
            )
            .await
        })
    })
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);

    let contact_id = sam.id.clone();
    psa_write(&rig.connector, move |proof, psa| {
        Box::pin(async move { psa.deactivate_contact(proof, &contact_id).await })
    })
    .await
    .unwrap();
    assert!(rig.sim.contact(stored.id).unwrap().inactive);
    let contact_id = sam.id.clone();
    psa_write(&rig.connector, move |proof, psa| {
        Box::pin(async move { psa.activate_contact(proof, &contact_id).await })
    })
    .await
    .unwrap();
    assert!(!rig.sim.contact(stored.id).unwrap().inactive);

    let contact_id = msp_contact.to_string();
    assert_eq!(
        psa_write(&rig.connector, move |proof, psa| Box::pin(async move {
            psa.deactivate_contact(proof, &contact_id).await
        }))
        .await
        .unwrap_err()
        .kind(),
        ErrorKind::NotFound
    );
    assert!(!rig.sim.contact(msp_contact).unwrap().inactive);

    // The Email communication type is looked up once.
    assert_eq!(
        recorded(
            &rig.server.recorder().requests(),
            "GET",
            "/company/communicationTypes"
        )
        .len(),
        1
    );
    rig.assert_requests_match_spec();
}

#[tokio::test]
async fn companies_by_identifier_or_name_within_scope() {
    let rig = SimRig::start("CONTOSO-LAW").await;
    let psa = psa(&rig);
    let company = psa.find_company("CONTOSO-LAW").await.unwrap().unwrap();
    assert_eq!(
        (company.id.as_str(), company.name.as_str()),
        ("250", "Contoso Law LLP")
    );
    assert_eq!(
        psa.find_company("Contoso Law LLP")
            .await
            .unwrap()
            .unwrap()
            .identifier,
        "CONTOSO-LAW"
    );
    assert!(
        psa.find_company("DemoMSP").await.unwrap().is_none(),
        "the instance's own company is out of scope"
    );
    assert!(psa.find_company("GLOBEX").await.unwrap().is_none());
    rig.assert_requests_match_spec();
}

#[tokio::test]
async fn callbacks_parse_into_the_same_ticket() {
    let rig = SimRig::start("CONTOSO-LAW").await;
    let id = open_ids(&rig, CONTOSO_LAW, "Help Desk")[0];
    let entity = rig.sim.ticket_json(id).unwrap();
    let payload = serde_json::json!({
        "MessageId": "6dd82302-5e46-47c0-8c84-702868125b76",
        "FromUrl": "api-na.myconnectwise.net",
        "CompanyId": "demomsp",
        "MemberId": "stackhand",
        "Action": "updated",
        "Type": "ticket",
        "ID": id,
        "Entity": entity.to_string(),
        "Metadata": {"key_url": "https://example.invalid/callback"},
        "CallbackObjectRecId": 26604
    });
    let psa = psa(&rig);
    let from_callback = psa
        .parse_callback(&common::tenant("contoso-law"), &payload)
        .unwrap();
    let from_api = psa.get_ticket(&id.to_string()).await.unwrap();
    assert_eq!(from_callback.id, from_api.id);
    assert_eq!(from_callback.subject, from_api.subject);
    assert_eq!(from_callback.status, from_api.status);
    assert_eq!(from_callback.company, from_api.company);
    assert_eq!(from_callback.created, from_api.created);
    assert_eq!(
        from_callback.contact.unwrap().email,
        from_api.contact.unwrap().email
    );

    // A connector scoped to another company of the same instance refuses it.
    let msp = SimRig::start("DemoMSP").await;
    let err = psa_of(&msp)
        .parse_callback(&common::tenant("demomsp"), &payload)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    let mut deleted = payload.clone();
    deleted["Entity"] = serde_json::Value::Null;
    assert_eq!(
        psa.parse_callback(&common::tenant("contoso-law"), &deleted)
            .unwrap_err()
            .kind(),
        ErrorKind::Invalid
    );
    let mut contact = payload.clone();
    contact["Type"] = "contact".into();
    assert_eq!(
        psa.parse_callback(&common::tenant("contoso-law"), &contact)
            .unwrap_err()
            .kind(),
        ErrorKind::Invalid
    );
}

fn psa_of(rig: &SimRig) -> &dyn Psa {
    rig.connector.psa().unwrap()
}

#[tokio::test]
async fn throttling_is_retried_after_the_servers_delay() {
    let rig = SimRig::start_with(
        "CONTOSO-LAW",
        Faults {
            latency: Duration::ZERO,
            rate_limit_every: 3,
            retry_after_secs: 1,
        },
    )
    .await;
    let started = std::time::Instant::now();
    let tickets = psa(&rig)
        .poll_tickets(&TicketQuery {
            boards: vec!["Help Desk".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!tickets.is_empty());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
}

/// The simulator answers with the spec's shapes: every response body of the documented
/// operations validates against its response schema, errors included.
#[tokio::test]
async fn simulator_responses_match_the_spec() {
    use stackhand_sim::connectwise::{CLIENT_ID, COMPANY_ID, PRIVATE_KEY, PUBLIC_KEY};
    use stackhand_testkit::openapi::Spec;

    let rig = SimRig::start("CONTOSO-LAW").await;
    let spec = Spec::load("connectwise-manage.json").unwrap();
    let http = reqwest::Client::new();
    let base = format!("{}{}", rig.server.url(), rig.sim.api_path());
    let open = open_ids(&rig, CONTOSO_LAW, "Help Desk")[0];
    let calls: Vec<(&str, String, Option<serde_json::Value>)> = vec![
        ("GET", "/system/info".into(), None),
        (
            "GET",
            "/service/tickets?pageSize=50&conditions=closedFlag%3Dtrue".into(),
            None,
        ),
        ("GET", "/service/tickets?pageSize=50".into(), None),
        ("GET", format!("/service/tickets/{open}"), None),
        ("GET", format!("/service/tickets/{open}/notes"), None),
        ("GET", "/service/tickets/999999".into(), None),
        ("GET", "/service/boards/1/statuses".into(), None),
        ("GET", "/company/companies".into(), None),
        ("GET", "/company/companies/250".into(), None),
        ("GET", "/company/contacts?pageSize=100".into(), None),
        ("GET", "/company/contacts/402".into(), None),
        (
            "POST",
            format!("/service/tickets/{open}/notes"),
            Some(serde_json::json!({"text": "Internal.", "internalAnalysisFlag": true})),
        ),
        (
            "POST",
            format!("/service/tickets/{open}/notes"),
            Some(serde_json::json!({"text": "No flag."})),
        ),
        (
            "PATCH",
            format!("/service/tickets/{open}"),
            Some(serde_json::json!([{"op": "replace", "path": "status", "value": {"id": 17}}])),
        ),
        (
            "PATCH",
            format!("/service/tickets/{open}"),
            Some(serde_json::json!([{"op": "replace", "path": "status", "value": {"id": 20}}])),
        ),
        (
            "POST",
            "/service/tickets".into(),
            Some(
                serde_json::json!({"summary": "Printer offline", "company": {"id": CONTOSO_LAW}, "initialDescription": "Offline again."}),
            ),
        ),
        (
            "POST",
            "/service/tickets".into(),
            Some(serde_json::json!({"company": {"id": CONTOSO_LAW}})),
        ),
        (
            "POST",
            "/company/contacts".into(),
            Some(
                serde_json::json!({"firstName": "Laura", "lastName": "Fischer", "company": {"id": CONTOSO_LAW}, "communicationItems": [{"type": {"id": 1}, "value": "lfischer@contosolaw.com", "communicationType": "Email", "defaultFlag": true}]}),
            ),
        ),
    ];
    let mut statuses = Vec::new();
    for (verb, path, body) in calls {
        let mut request = http
            .request(verb.parse().unwrap(), format!("{base}{path}"))
            .basic_auth(format!("{COMPANY_ID}+{PUBLIC_KEY}"), Some(PRIVATE_KEY))
            .header("clientId", CLIENT_ID);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        statuses.push(status);
        let json: serde_json::Value = response.json().await.unwrap();
        spec.validate_response(
            verb,
            &format!("{}{path}", rig.sim.api_path()),
            status,
            &json,
        )
        .unwrap_or_else(|v| panic!("{verb} {path} -> {status}: {v}"));
    }
    assert!(
        statuses.contains(&404) && statuses.contains(&400) && statuses.contains(&201),
        "{statuses:?}"
    );
    let unauthorised = http
        .get(format!("{base}/system/info"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorised.status(), 401);
    let body: serde_json::Value = unauthorised.json().await.unwrap();
    spec.validate_response(
        "GET",
        &format!("{}/system/info", rig.sim.api_path()),
        401,
        &body,
    )
    .unwrap();
    // And the check can fail: a ticket whose summary is not a string is refused.
    let wrong = serde_json::json!({"id": 1, "summary": 5, "company": {"id": 1}});
    let path = format!("{}/service/tickets/1", rig.sim.api_path());
    assert!(spec.validate_response("GET", &path, 200, &wrong).is_err());
}
