//! The integration test, through the engine: take a ticket from the simulated PSA, add
//! an internal and a customer-visible note, close it, and find the same end state through the
//! API; plus the vendor action and an undo, all against the simulator.

mod common;

use common::SimRig;
use serde_json::{Value, json};
use stackhand_core::{
    ActionId, ActionRequest, Connector, Engine, IdempotencyKey, NoteVisibility, Principal,
    StepStatus, Submission, TenantId, TicketQuery,
};

/// Allows everything, naming one rule, so the tests exercise the connector, not policy.
struct Rig {
    sim_rig: SimRig,
    engine: Engine,
    tenant: TenantId,
}

async fn rig() -> Rig {
    let sim_rig = SimRig::start("CONTOSO-LAW").await;
    let tenant = sim_rig.connector.info().tenant.clone();
    // The engine gets its own connector against the same simulator.
    let connector = sim_rig.second_connector().await;
    let engine = stackhand_testkit::writes::allow_all_engine(connector, "Contoso Law");
    Rig {
        sim_rig,
        engine,
        tenant,
    }
}

impl Rig {
    async fn run(&self, key: &str, action: &'static str, params: Value) -> Submission {
        let request = ActionRequest::new(
            IdempotencyKey::new(key).unwrap(),
            self.tenant.clone(),
            ActionId::from_static(action),
            &params,
            Principal::technician("tech@msp.example", &[]),
        )
        .unwrap()
        .with_reason("integration test");
        let submission = self.engine.submit(request).await.unwrap();
        let receipt = submission
            .receipt()
            .unwrap_or_else(|| panic!("{action} did not execute: {submission:?}"));
        assert!(
            matches!(
                receipt.outcome.status,
                StepStatus::Verified | StepStatus::Succeeded
            ),
            "{action}: {:?} {:?}",
            receipt.outcome.status,
            receipt.failure
        );
        submission
    }
}

#[tokio::test]
async fn a_ticket_is_noted_closed_and_reads_back_the_same() {
    let rig = rig().await;
    let psa = rig.sim_rig.connector.psa().unwrap();
    let intake = psa
        .poll_tickets(&TicketQuery {
            boards: vec!["Help Desk".into()],
            statuses: vec!["New".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let ticket = intake
        .iter()
        .find(|t| t.subject == "Locked out of my account")
        .expect("seeded lockout ticket");
    let id: i64 = ticket.id.parse().unwrap();

    rig.run("k-internal", "psa.add_note", json!({"ticket": ticket.id, "text": "Unlocked in AD; lockouts came from the phone.", "visibility": "internal"})).await;
    rig.run("k-customer", "psa.add_note", json!({"ticket": ticket.id, "text": "Hi Tom, you're unlocked now.", "visibility": "customer"})).await;
    rig.run("k-close", "psa.close", json!({"ticket": ticket.id, "resolution": "Account unlocked; stale password removed from phone."})).await;

    // End state in the simulator.
    let view = rig.sim_rig.sim.ticket(id).unwrap();
    assert!(view.ticket.closed_flag);
    assert_eq!(view.status, "Closed");
    let notes = rig.sim_rig.sim.notes(id);
    assert!(notes.iter().any(|n| n.internal_analysis
        && !n.detail_description
        && n.text.starts_with("Unlocked in AD")));
    assert!(
        notes.iter().any(|n| n.detail_description
            && n.process_notifications
            && n.text.starts_with("Hi Tom"))
    );
    assert!(
        notes
            .iter()
            .any(|n| n.resolution && n.text.starts_with("Account unlocked"))
    );

    // The same end state through the API.
    let read = psa.get_ticket(&ticket.id).await.unwrap();
    assert!(read.closed);
    assert_eq!(read.status, "Closed");
    let api_notes = psa.notes(&ticket.id).await.unwrap();
    assert_eq!(api_notes.len(), notes.len());
    assert!(
        api_notes
            .iter()
            .any(|n| n.visibility == NoteVisibility::Internal
                && n.text.starts_with("Unlocked in AD"))
    );
    assert!(
        api_notes
            .iter()
            .any(|n| n.visibility == NoteVisibility::Customer && n.text.starts_with("Hi Tom"))
    );
    assert!(api_notes.iter().any(|n| n.resolution));
    assert!(
        psa.poll_tickets(&TicketQuery::default())
            .await
            .unwrap()
            .iter()
            .all(|t| t.id != ticket.id),
        "no longer open"
    );

    // Submitting the close again is a duplicate, not a second close.
    let again = ActionRequest::new(
        IdempotencyKey::new("k-close").unwrap(),
        rig.tenant.clone(),
        ActionId::from_static("psa.close"),
        &json!({"ticket": ticket.id, "resolution": "Account unlocked; stale password removed from phone."}),
        Principal::technician("tech@msp.example", &[]),
    )
    .unwrap()
    .with_reason("integration test");
    assert!(matches!(
        rig.engine.submit(again).await.unwrap(),
        Submission::Duplicate(_)
    ));
    rig.sim_rig.assert_requests_match_spec();
}

#[tokio::test]
async fn vendor_action_links_and_contact_undo_through_the_engine() {
    let rig = rig().await;
    let submission = rig
        .run(
            "k-incident",
            "connectwise.create_ticket",
            json!({"summary": "Email outage - several users", "description": "Opened as the incident parent.", "board": "Help Desk", "contact_email": "ochen@contosolaw.com"}),
        )
        .await;
    let parent = submission.receipt().unwrap().outcome.state_after["ticket_id"]
        .as_str()
        .unwrap()
        .to_string();
    let parent_id: i64 = parent.parse().unwrap();
    let view = rig.sim_rig.sim.ticket(parent_id).unwrap();
    assert_eq!(
        (
            view.company.as_str(),
            view.board.as_str(),
            view.status.as_str()
        ),
        ("CONTOSO-LAW", "Help Desk", "New")
    );
    assert_eq!(
        view.ticket.contact_email.as_deref(),
        Some("ochen@contosolaw.com")
    );
    assert!(rig.sim_rig.sim.notes(parent_id)[0].detail_description);

    let child = rig
        .sim_rig
        .sim
        .open_ticket_ids()
        .into_iter()
        .find(|id| {
            rig.sim_rig.sim.ticket(*id).unwrap().company == "CONTOSO-LAW" && *id != parent_id
        })
        .unwrap();
    rig.run(
        "k-link",
        "psa.link_to_parent",
        json!({"ticket": child.to_string(), "parent": parent}),
    )
    .await;
    assert_eq!(
        rig.sim_rig
            .sim
            .ticket(child)
            .unwrap()
            .ticket
            .parent_ticket_id,
        Some(parent_id)
    );

    rig.run(
        "k-leaver",
        "psa.deactivate_contact",
        json!({"email": "tbecker@contosolaw.com"}),
    )
    .await;
    let tom = rig
        .sim_rig
        .sim
        .contact_by_email("tbecker@contosolaw.com")
        .unwrap();
    assert!(tom.inactive);
    let undone = rig
        .engine
        .undo(
            &rig.tenant,
            &IdempotencyKey::new("k-leaver").unwrap(),
            Principal::technician("tech@msp.example", &[]),
            "rehired",
        )
        .await
        .unwrap();
    assert!(undone.receipt().is_some(), "{undone:?}");
    assert!(!rig.sim_rig.sim.contact(tom.id).unwrap().inactive);
    rig.sim_rig.assert_requests_match_spec();
}
