//! End to end against the Autotask simulator: every capability operation changes the
//! simulator's state as expected, and every request the connector sent validates against the
//! Autotask document.

#[macro_use]
mod common;

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use chrono::{Duration, Utc};
use serde_json::json;
use stackhand_autotask::{AutotaskConfig, AutotaskConnector, ThresholdConfig};
use stackhand_core::engine::Engine;
use stackhand_core::*;
use stackhand_http::RetryConfig;
use stackhand_sim::autotask::{
    API_SECRET, API_USER, AutotaskSim, GLOBEX_COMPANY_ID, INTEGRATION_CODE, RESOURCE_BASE,
};
use stackhand_sim::world::{PsaKind, World};
use stackhand_sim::{Faults, SimServer};

use common::{assert_valid, fast_retry, http_with, tenant};

struct Fixture {
    sim: AutotaskSim,
    server: SimServer,
    connector: AutotaskConnector,
}

fn config(server: &SimServer) -> AutotaskConfig {
    // No base_url: the zone is discovered, and the simulator names itself as the zone.
    common::config(API_USER, INTEGRATION_CODE, API_SECRET)
        .with_discovery_url(format!("{}/ATServicesRest/", server.url()).parse().unwrap())
}

/// Build with `retry` in place of the configuration's retries.
async fn connect(mut config: AutotaskConfig, retry: RetryConfig) -> AutotaskConnector {
    config.http.retry = retry;
    common::connect(config).await
}

/// Alex Morgan, the world's first technician.
const AMORGAN: i64 = RESOURCE_BASE;
/// Bilal Khan, the second.
const BKHAN: i64 = RESOURCE_BASE + 1;
/// Casey Kim, who has left.
const CKIM: i64 = RESOURCE_BASE + 4;

/// Contoso Law's company id, when it is on Autotask too.
fn contoso_id() -> i64 {
    World::builtin()
        .tenant("contoso-law")
        .unwrap()
        .psa_company
        .id
}

/// A database holding Globex and, beside it, Contoso Law (the built-in world with every tenant
/// on Autotask).
fn two_clients() -> AutotaskSim {
    let mut world = World::builtin().clone();
    for tenant in &mut world.tenants {
        tenant.psa = PsaKind::Autotask;
        // Autotask records no sender address: a ticket from another address has no place.
        for ticket in &mut tenant.tickets {
            ticket.from = None;
        }
    }
    AutotaskSim::from_world(&world)
}

/// The built-in world's database (Globex is its one client) and a connector changed by `change`.
async fn fixture_with(change: impl FnOnce(AutotaskConfig) -> AutotaskConfig) -> Fixture {
    fixture_on(AutotaskSim::seeded(), change).await
}

async fn fixture_on(
    sim: AutotaskSim,
    change: impl FnOnce(AutotaskConfig) -> AutotaskConfig,
) -> Fixture {
    let server = sim.start(Default::default()).await.unwrap();
    let connector = connect(change(config(&server)), fast_retry()).await;
    Fixture {
        sim,
        server,
        connector,
    }
}

/// A connector scoped to Globex.
async fn globex() -> Fixture {
    fixture_with(|c| c.with_company_id(GLOBEX_COMPANY_ID)).await
}

/// A connector scoped to Globex, on a database that also holds Contoso Law.
async fn globex_beside_contoso() -> Fixture {
    fixture_on(two_clients(), |c| c.with_company_id(GLOBEX_COMPANY_ID)).await
}

impl Fixture {
    fn psa(&self) -> &dyn Psa {
        self.connector.psa().unwrap()
    }

    fn open_ticket(&self, company: i64, title_part: &str) -> i64 {
        self.sim
            .tickets()
            .into_iter()
            .find(|t| {
                t.company_id == company && t.status != "Complete" && t.title.contains(title_part)
            })
            .unwrap_or_else(|| panic!("an open ticket with {title_part:?}"))
            .id
    }

    fn requests_to(&self, path_part: &str) -> usize {
        self.server
            .recorder()
            .requests()
            .iter()
            .filter(|r| r.path.contains(path_part))
            .count()
    }

    fn assert_spec_valid(&self) {
        assert_valid(&self.server.recorder().requests());
    }
}

#[tokio::test]
async fn intake_discovers_the_zone_and_polls_open_tickets_with_contact_and_company() {
    let f = globex().await;
    let tickets = f.psa().poll_tickets(&TicketQuery::default()).await.unwrap();
    let requests = f.server.recorder().requests();
    assert!(
        requests[0].path.ends_with("/ZoneInformation"),
        "{:?}",
        requests[0].path
    );

    let open: BTreeSet<String> = f
        .sim
        .tickets()
        .into_iter()
        .filter(|t| t.company_id == GLOBEX_COMPANY_ID && t.status != "Complete")
        .map(|t| t.id.to_string())
        .collect();
    assert_eq!(
        tickets
            .iter()
            .map(|t| t.id.clone())
            .collect::<BTreeSet<_>>(),
        open
    );
    for t in &tickets {
        assert_eq!(t.tenant, tenant());
        assert!(!t.closed);
        assert_eq!(t.company.as_ref().unwrap().name, "Globex Corporation");
        assert_eq!(t.company.as_ref().unwrap().identifier, "GLOBEX");
        let email = t.contact.as_ref().unwrap().email.clone().unwrap();
        assert!(email.ends_with("@globex.example"), "{email}");
        assert!(["Help Desk", "Escalations"].contains(&t.board.as_deref().unwrap()));
        assert!(t.priority.is_some() && t.source.is_some());
    }
    let frank = tickets
        .iter()
        .find(|t| t.subject == "Can't log in - account locked")
        .unwrap();
    assert_eq!(
        frank.contact.as_ref().unwrap().email.as_deref(),
        Some("frank.grimes@globex.example")
    );
    assert_eq!(frank.status, "New");
    // Oldest change first.
    let updated: Vec<_> = tickets.iter().map(|t| t.updated.unwrap()).collect();
    assert!(updated.windows(2).all(|w| w[0] <= w[1]));

    let escalations = f
        .psa()
        .poll_tickets(&TicketQuery {
            boards: vec!["Escalations".into()],
            statuses: vec!["Waiting Customer".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(escalations.len(), 1);
    assert_eq!(escalations[0].subject, "VPN keeps disconnecting");

    // The watermark: nothing changed since the newest change, until a note is added.
    let watermark = *updated.last().unwrap();
    let since = TicketQuery {
        since: Some(watermark),
        ..Default::default()
    };
    assert!(f.psa().poll_tickets(&since).await.unwrap().is_empty());
    let frank_id = frank.id.clone();
    psa_write!(f.connector, |psa, proof| psa.add_note(
        proof,
        &frank_id,
        &NewNote {
            text: "Looking into it.".into(),
            visibility: NoteVisibility::Internal,
            resolution: false,
        },
    ))
    .unwrap();
    let changed = f.psa().poll_tickets(&since).await.unwrap();
    assert_eq!(
        changed.iter().map(|t| &t.id).collect::<Vec<_>>(),
        [&frank.id]
    );
    f.assert_spec_valid();
}

#[tokio::test]
async fn a_ticket_is_noted_internally_and_for_the_customer_then_closed_through_the_engine() {
    let f = globex().await;
    // Take the ticket the way intake does: from the open New tickets.
    let taken = f
        .psa()
        .poll_tickets(&TicketQuery {
            statuses: vec!["New".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.subject.contains("account locked"))
        .expect("the lockout ticket is taken in");
    let id = taken.id.clone();

    let engine = engine_with(&f.connector, "Globex");
    let submit = |key: &str, action: &'static str, params: serde_json::Value| {
        let request = ActionRequest::new(
            IdempotencyKey::new(key).unwrap(),
            tenant(),
            ActionId::from_static(action),
            &params,
            Principal::agent("stackhand"),
        )
        .unwrap()
        .with_ticket(TicketRef::new("autotask", id.clone()))
        .with_reason("unlock done");
        let engine = engine.clone();
        async move { engine.submit(request).await.unwrap() }
    };

    let internal = submit(
        "note-internal",
        "psa.add_note",
        json!({"ticket": id, "text": "Unlocked the account; lockout came from an old phone.", "visibility": "internal"}),
    )
    .await;
    assert_eq!(internal.label(), "executed");
    assert_eq!(
        internal.receipt().unwrap().outcome.status,
        StepStatus::Verified
    );
    let customer = submit(
        "note-customer",
        "psa.add_note",
        json!({"ticket": id, "text": "Hi Frank, your account is unlocked.", "visibility": "customer"}),
    )
    .await;
    assert_eq!(
        customer.receipt().unwrap().outcome.status,
        StepStatus::Verified
    );
    let closed = submit(
        "close",
        "psa.close",
        json!({"ticket": id, "resolution": "Unlocked the account and removed the stale password from the phone."}),
    )
    .await;
    assert_eq!(closed.label(), "executed");
    assert_eq!(
        closed.receipt().unwrap().outcome.status,
        StepStatus::Verified
    );

    // The simulator's end state.
    let ticket = f.sim.ticket(id.parse().unwrap()).unwrap();
    assert_eq!(ticket.status, "Complete");
    assert!(ticket.completed.is_some());
    assert_eq!(
        ticket.resolution.as_deref(),
        Some("Unlocked the account and removed the stale password from the phone.")
    );
    let notes = f.sim.notes(ticket.id);
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0].publish, "Internal Only");
    assert_eq!(notes[1].publish, "All Autotask Users");
    assert_eq!(notes[1].description, "Hi Frank, your account is unlocked.");
    assert!(
        notes
            .iter()
            .all(|n| n.note_type == "General" && !n.title.is_empty())
    );

    // The same end state through the API.
    let read = f.psa().get_ticket(&id).await.unwrap();
    assert!(read.closed);
    assert_eq!(read.status, "Complete");
    let through_api = f.psa().notes(&id).await.unwrap();
    assert_eq!(
        through_api.iter().map(|n| n.visibility).collect::<Vec<_>>(),
        [NoteVisibility::Internal, NoteVisibility::Customer]
    );
    f.assert_spec_valid();
}

#[tokio::test]
async fn history_pages_return_every_closed_ticket_exactly_once() {
    // Unscoped: two companies' history together is more than one 500-record page.
    let f = fixture_on(two_clients(), |c| c).await;
    let now = Utc::now();
    let range = HistoryQuery {
        from: now - Duration::days(400),
        to: now + Duration::days(1),
    };
    let history = f.psa().history(&range).await.unwrap();
    let expected: BTreeSet<String> = f
        .sim
        .closed_ticket_ids(contoso_id())
        .into_iter()
        .chain(f.sim.closed_ticket_ids(GLOBEX_COMPANY_ID))
        .map(|id| id.to_string())
        .collect();
    assert!(expected.len() > 500);
    let ids: Vec<&str> = history.iter().map(|h| h.ticket.id.as_str()).collect();
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "a ticket came twice"
    );
    assert_eq!(
        ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>(),
        expected
    );
    assert!(
        f.requests_to("/query/next") >= 2,
        "tickets and notes were paged"
    );
    for h in &history {
        assert!(h.ticket.closed);
        assert!(h.resolution.is_some() && h.closed_at.is_some());
        assert!(!h.notes.is_empty());
        assert!(h.notes.iter().any(|n| n.resolution));
        assert!(
            h.notes
                .iter()
                .any(|n| n.visibility == NoteVisibility::Internal)
        );
        let created: Vec<_> = h.notes.iter().map(|n| n.created.unwrap()).collect();
        assert!(created.windows(2).all(|w| w[0] <= w[1]));
    }

    // Splitting the range splits the history: nothing lost, nothing doubled at the seam.
    let middle = now - Duration::days(180);
    let first = f
        .psa()
        .history(&HistoryQuery {
            from: range.from,
            to: middle,
        })
        .await
        .unwrap();
    let second = f
        .psa()
        .history(&HistoryQuery {
            from: middle,
            to: range.to,
        })
        .await
        .unwrap();
    assert_eq!(first.len() + second.len(), history.len());
    let halves: HashSet<&str> = first
        .iter()
        .chain(&second)
        .map(|h| h.ticket.id.as_str())
        .collect();
    assert_eq!(halves.len(), history.len());
    f.assert_spec_valid();
}

#[tokio::test]
async fn a_scoped_history_holds_only_the_tenants_company() {
    let f = globex_beside_contoso().await;
    let now = Utc::now();
    let history = f
        .psa()
        .history(&HistoryQuery {
            from: now - Duration::days(400),
            to: now,
        })
        .await
        .unwrap();
    assert_eq!(
        history.len(),
        f.sim.closed_ticket_ids(GLOBEX_COMPANY_ID).len()
    );
    assert!(!f.sim.closed_ticket_ids(contoso_id()).is_empty());
    assert!(
        history
            .iter()
            .all(|h| h.ticket.company.as_ref().unwrap().id == GLOBEX_COMPANY_ID.to_string())
    );
    let err = f
        .psa()
        .history(&HistoryQuery { from: now, to: now })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
}

#[tokio::test]
async fn status_queue_and_technician_changes_land_in_the_simulator() {
    let f = globex().await;
    let id = f.open_ticket(GLOBEX_COMPANY_ID, "password expired");
    psa_write!(f.connector, |psa, proof| psa.set_status(
        proof,
        &id.to_string(),
        "Waiting Customer"
    ))
    .unwrap();
    assert_eq!(f.sim.ticket(id).unwrap().status, "Waiting Customer");

    psa_write!(f.connector, |psa, proof| psa.reassign(
        proof,
        &id.to_string(),
        &Assignment {
            board: Some("Escalations".into()),
            member: Some("bkhan".into()),
        },
    ))
    .unwrap();
    let ticket = f.sim.ticket(id).unwrap();
    assert_eq!(ticket.queue.as_deref(), Some("Escalations"));
    assert_eq!(ticket.assigned_resource_id, Some(BKHAN));
    psa_write!(f.connector, |psa, proof| psa.reassign(
        proof,
        &id.to_string(),
        &Assignment {
            board: None,
            member: Some("amorgan@northwind-msp.example".into()),
        },
    ))
    .unwrap();
    assert_eq!(
        f.sim.ticket(id).unwrap().assigned_resource_id,
        Some(AMORGAN)
    );

    let err = psa_write!(f.connector, |psa, proof| psa.set_status(
        proof,
        &id.to_string(),
        "Resolved"
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.message().contains("Waiting Customer"), "{err}");
    let err = psa_write!(f.connector, |psa, proof| psa.reassign(
        proof,
        &id.to_string(),
        &Assignment {
            board: None,
            member: Some("ckim".into()),
        },
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

    // Closing without a resolution is refused by the database's workflow: Invalid, not retried.
    let before = f.server.recorder().requests().len();
    let err = psa_write!(f.connector, |psa, proof| psa.close(
        proof,
        &id.to_string(),
        None
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
    assert!(err.message().contains("resolution"), "{err}");
    let patches = f
        .server
        .recorder()
        .requests()
        .iter()
        .skip(before)
        .filter(|r| r.method == "PATCH")
        .count();
    assert_eq!(patches, 1);
    assert_eq!(f.sim.ticket(id).unwrap().status, "Waiting Customer");

    psa_write!(f.connector, |psa, proof| psa.close(
        proof,
        &id.to_string(),
        Some("Reset the password.")
    ))
    .unwrap();
    psa_write!(f.connector, |psa, proof| psa.close(
        proof,
        &id.to_string(),
        Some("Reset the password.")
    ))
    .unwrap();
    let closed = f.sim.ticket(id).unwrap();
    assert_eq!(
        (closed.status.as_str(), closed.resolution.as_deref()),
        ("Complete", Some("Reset the password."))
    );

    // Reopen (the undo of close), then close by status name.
    psa_write!(f.connector, |psa, proof| psa.set_status(
        proof,
        &id.to_string(),
        "In Progress"
    ))
    .unwrap();
    assert!(f.sim.ticket(id).unwrap().completed.is_none());
    psa_write!(f.connector, |psa, proof| psa.set_status(
        proof,
        &id.to_string(),
        "complete"
    ))
    .unwrap();
    assert_eq!(f.sim.ticket(id).unwrap().status, "Complete");
    f.assert_spec_valid();
}

#[tokio::test]
async fn a_ticket_is_reassigned_to_a_resource_named_by_id() {
    let f = globex().await;
    let id = f
        .open_ticket(GLOBEX_COMPANY_ID, "password expired")
        .to_string();
    let assign = |member: String| {
        let connector = f.connector.clone();
        let id = id.clone();
        async move {
            psa_write!(connector, |psa, proof| psa.reassign(
                proof,
                &id,
                &Assignment {
                    board: None,
                    member: Some(member),
                },
            ))
        }
    };
    // Bilal Khan by resource id: `GET Resources/{id}`, then the PATCH with his role.
    assign(BKHAN.to_string()).await.unwrap();
    let ticket = f.sim.ticket(id.parse().unwrap()).unwrap();
    assert_eq!(ticket.assigned_resource_id, Some(BKHAN));
    assert_eq!(f.requests_to(&format!("/Resources/{BKHAN}")), 1);
    assert_eq!(f.requests_to("/Resources/query"), 0);

    // Casey Kim is inactive, and no resource has id 99999999: neither is assigned.
    for missing in [CKIM, 99999999] {
        let err = assign(missing.to_string()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    }
    assert_eq!(
        f.sim
            .ticket(id.parse().unwrap())
            .unwrap()
            .assigned_resource_id,
        Some(BKHAN)
    );
    f.assert_spec_valid();
}

#[tokio::test]
async fn a_smaller_page_size_pages_the_same_history() {
    let now = Utc::now();
    let range = HistoryQuery {
        from: now - Duration::days(400),
        to: now,
    };
    let by_default = globex().await;
    let expected = by_default.psa().history(&range).await.unwrap().len();
    let default_pages = by_default.requests_to("/query/next");

    let small = fixture_with(|c| {
        c.with_company_id(GLOBEX_COMPANY_ID)
            .with_http(stackhand_http::HttpSettings {
                page_size: std::num::NonZeroU32::new(100),
                ..http_with(fast_retry())
            })
    })
    .await;
    let history = small.psa().history(&range).await.unwrap();
    assert_eq!(history.len(), expected);
    assert!(
        small.requests_to("/query/next") > default_pages,
        "pages of 100 need more next-page requests than pages of 500"
    );
    // Every first page asks for 100 records, in the search of a GET or the body of a POST.
    for request in small.server.recorder().requests() {
        if !request.path.ends_with("/query") {
            continue;
        }
        let model = match request.query_value("search") {
            Some(search) => serde_json::from_str(&search).unwrap(),
            None => request.json().unwrap(),
        };
        assert_eq!(model["MaxRecords"], 100, "{}", request.describe());
    }
    small.assert_spec_valid();
}

#[tokio::test]
async fn a_resolution_note_also_sets_the_ticket_resolution() {
    let f = fixture_with(|c| {
        c.with_company_id(GLOBEX_COMPANY_ID)
            .with_impersonation(AMORGAN)
    })
    .await;
    let id = f.open_ticket(GLOBEX_COMPANY_ID, "MFA prompts");
    let note = psa_write!(f.connector, |psa, proof| psa.add_note(
        proof,
        &id.to_string(),
        &NewNote {
            text: "Cleared the old MFA registration; user re-enrolled.".into(),
            visibility: NoteVisibility::Customer,
            resolution: true,
        },
    ))
    .unwrap();
    assert!(note.resolution);
    let notes = f.sim.notes(id);
    assert_eq!(notes[0].title, "Resolution");
    assert_eq!(notes[0].creator_resource_id, Some(AMORGAN), "impersonated");
    assert_eq!(
        f.sim.ticket(id).unwrap().resolution.as_deref(),
        Some("Cleared the old MFA registration; user re-enrolled.")
    );
    let read = f.psa().notes(&id.to_string()).await.unwrap();
    assert!(read[0].resolution && read[0].visibility == NoteVisibility::Customer);
    assert_eq!(read[0].author, Some(AMORGAN.to_string()));
    let err = psa_write!(f.connector, |psa, proof| psa.add_note(
        proof,
        &id.to_string(),
        &NewNote {
            text: "  ".into(),
            visibility: NoteVisibility::Internal,
            resolution: false,
        },
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    f.assert_spec_valid();
}

#[tokio::test]
async fn contacts_are_found_created_deactivated_and_reactivated() {
    let f = globex_beside_contoso().await;
    let psa = f.psa();
    let lisa = psa
        .find_contact("Lisa.Simpson@globex.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lisa.name, "Lisa Simpson");
    assert!(lisa.active);
    assert_eq!(lisa.company_id.as_deref(), Some("209"));
    assert_eq!(lisa.id, "30408", "the world's contact id");
    assert!(
        psa.find_contact("nobody@globex.example")
            .await
            .unwrap()
            .is_none()
    );
    // Another company's contact is invisible to this tenant.
    assert!(
        f.sim.contact_by_email("dreyes@contosolaw.com").is_some(),
        "Contoso Law is in the database"
    );
    assert!(
        psa.find_contact("dreyes@contosolaw.com")
            .await
            .unwrap()
            .is_none()
    );

    let created = psa_write!(f.connector, |psa, proof| psa.create_contact(
        proof,
        &NewContact {
            company_id: GLOBEX_COMPANY_ID.to_string(),
            first_name: "Leo".into(),
            last_name: "Santos".into(),
            email: "leo.santos@globex.example".into(),
        }
    ))
    .unwrap();
    assert_eq!(created.name, "Leo Santos");
    let sim_contact = f.sim.contact_by_email("leo.santos@globex.example").unwrap();
    assert_eq!(
        (sim_contact.id.to_string(), sim_contact.active),
        (created.id.clone(), true)
    );

    let created_id = created.id.clone();
    psa_write!(f.connector, |psa, proof| psa
        .deactivate_contact(proof, &created_id))
    .unwrap();
    assert!(!f.sim.contact(sim_contact.id).unwrap().active);
    assert!(
        !psa.find_contact("leo.santos@globex.example")
            .await
            .unwrap()
            .unwrap()
            .active
    );
    let created_id = created.id.clone();
    psa_write!(f.connector, |psa, proof| psa
        .activate_contact(proof, &created_id))
    .unwrap();
    assert!(f.sim.contact(sim_contact.id).unwrap().active);

    let err = psa_write!(f.connector, |psa, proof| psa.create_contact(
        proof,
        &NewContact {
            company_id: contoso_id().to_string(),
            first_name: "Eve".into(),
            last_name: "Outsider".into(),
            email: "eve@contosolaw.com".into(),
        }
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    let contoso_contact = f.sim.contact_by_email("dreyes@contosolaw.com").unwrap();
    let contoso_contact_id = contoso_contact.id.to_string();
    let err = psa_write!(f.connector, |psa, proof| psa
        .deactivate_contact(proof, &contoso_contact_id))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(f.sim.contact(contoso_contact.id).unwrap().active);
    f.assert_spec_valid();
}

#[tokio::test]
async fn companies_are_found_by_number_name_or_id_within_the_tenant() {
    let f = globex_beside_contoso().await;
    for identifier in ["GLOBEX", "Globex Corporation", "209"] {
        let company = f.psa().find_company(identifier).await.unwrap().unwrap();
        assert_eq!(
            (company.id.as_str(), company.name.as_str()),
            ("209", "Globex Corporation")
        );
    }
    // Contoso Law is in the same database, but not this tenant's.
    assert!(
        f.psa()
            .find_company("Contoso Law LLP")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        f.psa()
            .find_company(&contoso_id().to_string())
            .await
            .unwrap()
            .is_none()
    );
    assert!(f.psa().find_company("Initech").await.unwrap().is_none());
    f.assert_spec_valid();
}

/// Allows every request.
/// An engine allowing everything, whose tenant has this connector.
fn engine_with(connector: &AutotaskConnector, name: &str) -> Engine {
    stackhand_testkit::writes::allow_all_engine(Arc::new(connector.clone()), name)
}

#[tokio::test]
async fn incidents_are_linked_through_problem_tickets() {
    let f = fixture_with(|c| c.with_company_id(GLOBEX_COMPANY_ID)).await;
    let parent = f.open_ticket(GLOBEX_COMPANY_ID, "VPN keeps");
    let child = f.open_ticket(GLOBEX_COMPANY_ID, "Can't log in");
    psa_write!(f.connector, |psa, proof| psa.link_to_parent(
        proof,
        &child.to_string(),
        &parent.to_string()
    ))
    .unwrap();
    assert_eq!(f.sim.ticket(parent).unwrap().ticket_type, "Problem");
    let linked = f.sim.ticket(child).unwrap();
    assert_eq!(
        (linked.ticket_type.as_str(), linked.problem_ticket_id),
        ("Incident", Some(parent))
    );
    // Idempotent, and visible through the normalised ticket.
    psa_write!(f.connector, |psa, proof| psa.link_to_parent(
        proof,
        &child.to_string(),
        &parent.to_string()
    ))
    .unwrap();
    let read = f.psa().get_ticket(&child.to_string()).await.unwrap();
    assert_eq!(read.parent_id, Some(parent.to_string()));
    // A problem cannot become an incident of its own incident.
    let err = psa_write!(f.connector, |psa, proof| psa.link_to_parent(
        proof,
        &parent.to_string(),
        &child.to_string()
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);

    // A problem ticket opened by the vendor action (through the engine, with no incidents yet)
    // takes incidents linked afterwards.
    let phishing = f.open_ticket(GLOBEX_COMPANY_ID, "Suspicious email");
    let engine = engine_with(&f.connector, "Globex");
    let request = ActionRequest::new(
        IdempotencyKey::new("problem-phishing").unwrap(),
        tenant(),
        ActionId::from_static("autotask.open_problem"),
        &json!({"title": "Invoice fraud campaign", "description": "Several suppliers impersonated."}),
        Principal::technician("lead@msp.example", &["msp.lead"]),
    )
    .unwrap();
    let answer = engine.submit(request).await.unwrap();
    assert_eq!(answer.label(), "executed");
    let receipt = answer.receipt().unwrap();
    assert_eq!(receipt.failure, None);
    let problem = receipt.outcome.state_after["problem_ticket_id"]
        .as_i64()
        .unwrap();
    psa_write!(f.connector, |psa, proof| psa.link_to_parent(
        proof,
        &phishing.to_string(),
        &problem.to_string()
    ))
    .unwrap();
    let created = f.sim.ticket(problem).unwrap();
    assert_eq!(
        (created.ticket_type.as_str(), created.company_id),
        ("Problem", GLOBEX_COMPANY_ID)
    );
    assert_eq!(
        f.sim.ticket(phishing).unwrap().problem_ticket_id,
        Some(problem)
    );
    f.assert_spec_valid();
}

#[tokio::test]
async fn tickets_read_by_number_and_other_companies_tickets_are_not_found() {
    let f = globex_beside_contoso().await;
    let id = f.open_ticket(GLOBEX_COMPANY_ID, "aircon");
    let number = f.sim.ticket(id).unwrap().ticket_number;
    let by_number = f.psa().get_ticket(&number).await.unwrap();
    assert_eq!(by_number.id, id.to_string());
    assert!(by_number.subject.contains("aircon"));

    let contoso = f.open_ticket(contoso_id(), "Printer");
    let err = f.psa().get_ticket(&contoso.to_string()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = psa_write!(f.connector, |psa, proof| psa.add_note(
        proof,
        &contoso.to_string(),
        &NewNote {
            text: "x".into(),
            visibility: NoteVisibility::Internal,
            resolution: false,
        },
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(f.sim.notes(contoso).is_empty());
    let err = f.psa().get_ticket("99999999").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = f.psa().get_ticket("abc").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
}

#[tokio::test]
async fn the_connector_slows_down_past_half_the_threshold_and_stops_short_of_it() {
    // Below half: the threshold is read once per `check_every` calls.
    let f = globex().await;
    for _ in 0..10 {
        f.psa().find_company("209").await.unwrap();
    }
    assert_eq!(f.requests_to("/ThresholdInformation"), 1);

    // Past half (other integrations used 600 of 1,000): read ten times as often, still working.
    let mut pacing = ThresholdConfig::default();
    pacing.max_delay_ms = 20;
    let f = fixture_with(|c| c.with_company_id(GLOBEX_COMPANY_ID).with_threshold(pacing)).await;
    f.sim.configure(|s| s.request_threshold = 1_000);
    f.sim.add_external_requests(600);
    for _ in 0..10 {
        f.psa().find_company("209").await.unwrap();
    }
    assert_eq!(f.requests_to("/ThresholdInformation"), 2);

    // Past the stop line: no call reaches the API.
    let f = globex().await;
    f.sim.configure(|s| s.request_threshold = 100);
    f.sim.add_external_requests(95);
    let err = f.psa().find_company("209").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(err.retry_after().is_some());
    assert!(err.message().contains("95 of 100"), "{err}");
    let err = f.psa().find_company("209").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(f.requests_to("/Companies"), 0);
    assert_eq!(f.requests_to("/ThresholdInformation"), 1);
}

#[tokio::test]
async fn a_429_from_the_blocked_database_holds_further_calls() {
    let f = globex().await;
    f.sim.configure(|s| s.request_threshold = 20);
    f.psa().find_company("209").await.unwrap();
    // Other integrations spend the rest of the hour between two of our threshold reads.
    f.sim.add_external_requests(20);
    let connector = connect(
        config(&f.server).with_company_id(GLOBEX_COMPANY_ID),
        RetryConfig::none(),
    )
    .await;
    let psa = connector.psa().unwrap();
    // A fresh connector reads the threshold first and stops before calling.
    let err = psa.find_company("209").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    // The first connector read usage long ago and calls straight into the 429.
    let before = f.requests_to("/Companies");
    let err = f.psa().find_company("209").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    let err = f.psa().find_company("209").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(err.message().contains("holding calls"), "{err}");
    // One attempt reached the API (and its fast retry); the next call was held back.
    assert!(f.requests_to("/Companies") - before <= 2);
}

#[tokio::test]
async fn health_reports_the_threshold_and_bad_credentials_are_unauthorized() {
    let f = globex().await;
    let health = f.connector.health().await.unwrap();
    assert!(health.healthy);
    assert!(health.detail.contains("requests used"), "{}", health.detail);

    let wrong = common::config(API_USER, INTEGRATION_CODE, "wrong-secret")
        .with_base_url(f.server.url().parse().unwrap());
    let connector = connect(wrong, fast_retry()).await;
    let err = connector.health().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(!format!("{err:?}").contains("wrong-secret"));

    let unknown = common::config("stranger@example.com", INTEGRATION_CODE, API_SECRET)
        .with_discovery_url(
            format!("{}/ATServicesRest/", f.server.url())
                .parse()
                .unwrap(),
        );
    let err = connect(unknown, fast_retry())
        .await
        .health()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
}

#[tokio::test]
async fn the_open_problem_action_runs_through_the_engine() {
    let f = fixture_with(|c| c.with_company_id(GLOBEX_COMPANY_ID)).await;
    let incidents = [
        f.open_ticket(GLOBEX_COMPANY_ID, "VPN keeps"),
        f.open_ticket(GLOBEX_COMPANY_ID, "Can't log in"),
    ];
    let engine = engine_with(&f.connector, "Globex");
    assert!(
        engine
            .actions(&tenant())
            .unwrap()
            .iter()
            .any(|s| s.id.as_str() == "autotask.open_problem")
    );
    let request = ActionRequest::new(
        IdempotencyKey::new("problem-1").unwrap(),
        tenant(),
        ActionId::from_static("autotask.open_problem"),
        &json!({
            "title": "Remote access outage",
            "description": "VPN and sign-in failures since Tuesday.",
            "incidents": incidents.iter().map(|i| i.to_string()).collect::<Vec<_>>()
        }),
        Principal::technician("lead@msp.example", &["msp.lead"]),
    )
    .unwrap()
    .with_reason("several users affected");
    let answer = engine.submit(request).await.unwrap();
    assert_eq!(answer.label(), "executed");
    let receipt = answer.receipt().unwrap();
    assert_eq!(receipt.outcome.status, StepStatus::Verified);
    let problem = receipt.outcome.state_after["problem_ticket_id"]
        .as_i64()
        .unwrap();
    assert_eq!(f.sim.ticket(problem).unwrap().ticket_type, "Problem");
    for incident in incidents {
        assert_eq!(
            f.sim.ticket(incident).unwrap().problem_ticket_id,
            Some(problem)
        );
    }
    f.assert_spec_valid();
}

#[tokio::test]
async fn injected_latency_and_429s_are_absorbed_by_retries() {
    let sim = AutotaskSim::seeded();
    let server = sim
        .start(Faults {
            latency: std::time::Duration::from_millis(5),
            rate_limit_every: 3,
            retry_after_secs: 0,
        })
        .await
        .unwrap();
    let connector = connect(
        config(&server).with_company_id(GLOBEX_COMPANY_ID),
        fast_retry(),
    )
    .await;
    let psa = connector.psa().unwrap();
    for _ in 0..4 {
        assert!(psa.find_company("GLOBEX").await.unwrap().is_some());
    }
    let tickets = psa.poll_tickets(&TicketQuery::default()).await.unwrap();
    assert!(!tickets.is_empty());
    let throttled = server.recorder().requests().len();
    assert!(throttled >= 9, "{throttled}");
}
