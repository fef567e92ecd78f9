//! The instance: the MSP's ConnectWise configuration (boards, statuses, priorities, sources,
//! communication types, the API member) and, from the [world], the companies of
//! the tenants that use ConnectWise with their staff as contacts, the MSP's technicians as
//! members, the tenants' open tickets and a year of closed tickets from the shared
//! [history](crate::history) generator.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stackhand_core::suggest;

use super::model::{
    Board, BoardStatus, CommunicationItem, CommunicationType, Company, Contact, Member, Note,
    Priority, Source, Ticket,
};
use super::state::State;
use crate::history::{Category, Channel, HistoryGenerator, NoteVisibility, Organisation};
use crate::world::{self, PsaKind, Tenant, World, WorldError};

/// Board ids of the instance.
pub const HELP_DESK_BOARD: i64 = 1;
/// The project board.
pub const PROJECTS_BOARD: i64 = 2;
/// Company id of CONTOSO-LAW in the built-in world (`psa_company` of `contoso-law`).
pub const CONTOSO_LAW: i64 = 250;
/// The member id of the world's first technician; the others follow in the world's order.
pub const MEMBER_BASE: i64 = 148;
/// The instance's own company (the MSP), which every ConnectWise instance has.
pub const OWN_COMPANY: i64 = 2;
/// A former client, deleted long ago: conditions must skip it.
const OLD_CLIENT: i64 = 260;
/// Communication type ids of the instance: the Email one and the direct line.
const EMAIL_TYPE: i64 = 1;
const DIRECT_TYPE: i64 = 2;

/// Board statuses of one board, ids from `first_id`.
fn statuses(board_id: i64, first_id: i64) -> Vec<BoardStatus> {
    let names = [
        ("New", false, true, false),
        ("In Progress", false, false, false),
        ("Waiting", false, false, false),
        ("Completed", true, false, false),
        ("Closed", true, false, false),
        // A retired status, as real boards accumulate; clients must skip inactive ones.
        ("Escalated (old)", false, false, true),
    ];
    names
        .iter()
        .enumerate()
        .map(|(i, (name, closed, default, inactive))| BoardStatus {
            id: first_id + i as i64,
            board_id,
            name: (*name).to_string(),
            sort_order: i as i64,
            closed_status: *closed,
            default_flag: *default,
            inactive: *inactive,
        })
        .collect()
}

fn company(id: i64, identifier: &str, name: &str, domain: &str, phone: &str) -> Company {
    Company {
        id,
        identifier: identifier.into(),
        name: name.into(),
        domain: domain.into(),
        phone: phone.into(),
        deleted: false,
    }
}

/// The instance's configuration: what a ConnectWise instance has before any client is in it.
fn instance(world: &World) -> State {
    State {
        boards: [
            (HELP_DESK_BOARD, "Help Desk", true),
            (PROJECTS_BOARD, "Projects", false),
        ]
        .map(|(id, name, requires_resolution)| Board {
            id,
            name: name.into(),
            requires_resolution,
            project_flag: false,
        })
        .into(),
        statuses: [statuses(HELP_DESK_BOARD, 16), statuses(PROJECTS_BOARD, 31)].concat(),
        priorities: [
            (15, "Priority 1 - Emergency Response"),
            (8, "Priority 2 - Quick Response"),
            (4, "Priority 3 - Normal Response"),
            (7, "Priority 4 - Schedule Maintenance"),
        ]
        .into_iter()
        .zip(1..)
        .map(|((id, name), sort)| Priority {
            id,
            name: name.into(),
            sort,
        })
        .collect(),
        sources: [
            (1, "Phone"),
            (2, "Email Connector"),
            (3, "Portal"),
            (4, "Monitoring"),
        ]
        .map(|(id, name)| Source {
            id,
            name: name.into(),
        })
        .into(),
        members: vec![Member {
            id: 190,
            identifier: "stackhand".into(),
            name: "Stackhand API".into(),
        }],
        // Ids differ per instance; clients look "Email" up rather than assume 1.
        communication_types: [
            (EMAIL_TYPE, "Email", "Email"),
            (DIRECT_TYPE, "Direct", "Phone"),
            (3, "Fax", "Fax"),
            (4, "Cell", "Phone"),
        ]
        .map(|(id, description, kind)| CommunicationType {
            id,
            description: description.into(),
            kind: kind.into(),
        })
        .into(),
        companies: vec![
            company(
                OWN_COMPANY,
                "DemoMSP",
                &world.msp.name,
                &world.msp.domain,
                "+1 212 555 0000",
            ),
            Company {
                deleted: true,
                ..company(
                    OLD_CLIENT,
                    "OLDCO",
                    "Old Client Ltd",
                    "oldco.example",
                    "+1 212 555 0999",
                )
            },
        ],
        api_member: "stackhand".into(),
        next_note: 1,
        next_item: 1000,
        next_ticket: 1001,
        ..State::default()
    }
}

/// The priority a neutral one maps onto here.
fn priority_id(priority: world::Priority) -> i64 {
    match priority {
        world::Priority::Critical => 15,
        world::Priority::High => 8,
        world::Priority::Medium => 4,
        world::Priority::Low => 7,
    }
}

fn source_id(channel: Channel) -> i64 {
    match channel {
        Channel::Phone => 1,
        Channel::Email => 2,
        Channel::Portal => 3,
        Channel::Monitoring => 4,
    }
}

/// Who ConnectWise records as having entered a ticket that came in this way.
fn entered_by(channel: Channel, technician: &str) -> String {
    match channel {
        Channel::Email => "emailconnector".into(),
        Channel::Portal => "portal".into(),
        Channel::Monitoring => "rmm".into(),
        Channel::Phone => technician.into(),
    }
}

/// Build the instance holding the world's ConnectWise tenants; history dates are spread over
/// the year before `anchor`. A ticket naming a board or status this instance does not have is
/// an error naming the ticket.
pub(crate) fn seed(world: &World, anchor: DateTime<Utc>, seed: u64) -> Result<State, WorldError> {
    let mut state = instance(world);
    // Former technicians are not members any more; ids stay tied to the world's order.
    state.members.extend(
        world
            .msp
            .technicians
            .iter()
            .enumerate()
            .filter(|(_, t)| t.active)
            .map(|(i, t)| Member {
                id: MEMBER_BASE + i as i64,
                identifier: t.identifier.clone(),
                name: t.name(),
            }),
    );
    let tenants: Vec<&Tenant> = world.psa_tenants(PsaKind::Connectwise).collect();
    let contacts_since = anchor - Duration::days(400);
    for tenant in &tenants {
        state.companies.push(company(
            tenant.psa_company.id,
            &tenant.psa_company.identifier,
            &tenant.company,
            &tenant.domain,
            &tenant.phone,
        ));
        for person in tenant.staff() {
            let id = person
                .contact_id
                .expect("the world gives staff a contact id");
            let mut items = vec![(EMAIL_TYPE, person.email(tenant))];
            items.extend(person.phone.clone().map(|phone| (DIRECT_TYPE, phone)));
            let communication_items = items
                .into_iter()
                .map(|(type_id, value)| {
                    state.next_item += 1;
                    CommunicationItem {
                        id: state.next_item,
                        type_id,
                        value,
                        default_flag: true,
                    }
                })
                .collect();
            state.contacts.insert(
                id,
                Contact {
                    id,
                    first_name: person.given.clone().unwrap_or_default(),
                    last_name: person.surname.clone().unwrap_or_default(),
                    company_id: Some(tenant.psa_company.id),
                    title: person.title.clone(),
                    inactive: !person.status.is_current(),
                    communication_items,
                    last_updated: contacts_since,
                    date_entered: contacts_since,
                },
            );
        }
    }
    state.next_contact = state.contacts.keys().max().map_or(1, |id| id + 1);

    seed_history(&mut state, &tenants, anchor, seed);
    for tenant in &tenants {
        seed_open(&mut state, tenant, anchor)?;
    }
    Ok(state)
}

/// The contact whose email is `address`.
fn contact_by_email(state: &State, address: &str) -> Contact {
    state
        .contacts
        .values()
        .find(|c| c.communication_items.iter().any(|i| i.value == address))
        .cloned()
        .expect("every requester is a seeded contact")
}

/// The members who work the help desk: every active technician, in the world's order.
fn technicians(state: &State) -> Vec<Member> {
    state
        .members
        .iter()
        .filter(|m| m.identifier != state.api_member)
        .cloned()
        .collect()
}

/// A note's text, its (detail description, internal analysis, resolution) flags and its time.
type SeedNote = (String, (bool, bool, bool), DateTime<Utc>);

/// Add a ticket and its notes: the description first (written by the contact unless a
/// technician took it by phone or monitoring raised it), then `notes` by `technician`.
fn add_ticket(
    state: &mut State,
    mut ticket: Ticket,
    description: &str,
    channel: Channel,
    technician: &Member,
    notes: Vec<SeedNote>,
) {
    let id = state.next_ticket;
    state.next_ticket += 1;
    ticket.id = id;
    let contact =
        state.contacts[&ticket.contact_id.expect("seeded tickets have a contact")].clone();
    let by_contact = !matches!(channel, Channel::Phone | Channel::Monitoring);
    let first = (
        description.to_string(),
        (true, false, false),
        ticket.date_entered,
    );
    for (index, (text, flags, at)) in std::iter::once(first).chain(notes).enumerate() {
        let by_contact = index == 0 && by_contact;
        let note_id = state.next_note;
        state.next_note += 1;
        state.notes.insert(
            note_id,
            Note {
                id: note_id,
                ticket_id: id,
                text,
                detail_description: flags.0,
                internal_analysis: flags.1,
                resolution: flags.2,
                member_id: (!by_contact).then_some(technician.id),
                contact_id: by_contact.then_some(contact.id),
                process_notifications: !flags.1,
                date_created: at,
                created_by: if by_contact {
                    contact.name()
                } else {
                    technician.identifier.clone()
                },
            },
        );
    }
    state.tickets.insert(id, ticket);
}

/// A ticket record for `contact`; the caller fills in what differs.
fn ticket(contact: &Contact, company_id: i64, created: DateTime<Utc>) -> Ticket {
    Ticket {
        id: 0,
        summary: String::new(),
        board_id: HELP_DESK_BOARD,
        status_id: 0,
        company_id,
        contact_id: Some(contact.id),
        contact_name: Some(contact.name()),
        contact_email: contact.communication_items.first().map(|i| i.value.clone()),
        priority_id: priority_id(world::Priority::Medium),
        source_id: None,
        owner_id: None,
        severity: "Medium".into(),
        impact: "Medium".into(),
        closed_flag: false,
        closed_date: None,
        closed_by: None,
        parent_ticket_id: None,
        actual_hours: 0.0,
        date_entered: created,
        entered_by: String::new(),
        last_updated: created,
        updated_by: String::new(),
    }
}

fn status_id(state: &State, board_id: i64, name: &str) -> Option<i64> {
    state
        .statuses
        .iter()
        .find(|s| s.board_id == board_id && s.name == name && !s.inactive)
        .map(|s| s.id)
}

fn seed_history(state: &mut State, tenants: &[&Tenant], anchor: DateTime<Utc>, seed: u64) {
    // Board and status choices are ConnectWise's own; the tickets come from the shared generator.
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let technicians = technicians(state);
    let mut generated = Vec::new();
    for (index, tenant) in tenants.iter().enumerate() {
        let org = Organisation::from_world(tenant);
        let mut generator = HistoryGenerator::new(
            seed.wrapping_add(index as u64 * 7919),
            org.clone(),
            anchor,
            technicians.len(),
        );
        for ticket in generator.tickets(tenant.history) {
            let contact = contact_by_email(state, &org.people[ticket.requester].email);
            generated.push((tenant.psa_company.id, contact, ticket));
        }
    }
    // ConnectWise ids grow with time.
    generated.sort_by_key(|(_, _, ticket)| ticket.created);
    for (company_id, contact, generated) in generated {
        let technician = &technicians[generated.technician];
        let on_projects = matches!(
            generated.category,
            Category::NewStarter | Category::Other("quote")
        ) && rng.random_bool(0.5);
        let board_id = if on_projects {
            PROJECTS_BOARD
        } else {
            HELP_DESK_BOARD
        };
        let closed_name = if rng.random_bool(0.7) {
            "Closed"
        } else {
            "Completed"
        };
        let mut notes: Vec<_> = generated
            .notes
            .iter()
            .map(|note| {
                let flags = match note.visibility {
                    NoteVisibility::Internal => (false, true, false),
                    NoteVisibility::Customer => (true, false, false),
                };
                (note.text.clone(), flags, note.at)
            })
            .collect();
        // Project boards don't demand a resolution and techs often skip it there.
        if board_id == HELP_DESK_BOARD || rng.random_bool(0.5) {
            notes.push((
                generated.resolution.clone(),
                (false, false, true),
                generated.closed,
            ));
        }
        let record = Ticket {
            summary: generated.subject.clone(),
            board_id,
            status_id: status_id(state, board_id, closed_name).expect("closed status"),
            priority_id: priority_id(generated.neutral_priority()),
            source_id: Some(source_id(generated.channel)),
            owner_id: Some(technician.id),
            closed_flag: true,
            closed_date: Some(generated.closed),
            closed_by: Some(technician.identifier.clone()),
            actual_hours: generated.hours,
            entered_by: entered_by(generated.channel, &technician.identifier),
            last_updated: generated.closed,
            updated_by: technician.identifier.clone(),
            ..ticket(&contact, company_id, generated.created)
        };
        add_ticket(
            state,
            record,
            &generated.body,
            generated.channel,
            technician,
            notes,
        );
    }
}

fn seed_open(state: &mut State, tenant: &Tenant, anchor: DateTime<Utc>) -> Result<(), WorldError> {
    let technicians = technicians(state);
    let problem = |summary: &str, message: String| WorldError::Inconsistent {
        origin: "ConnectWise simulator".into(),
        message: format!("tenant `{}`: ticket `{summary}` {message}", tenant.key),
    };
    for open in &tenant.tickets {
        let board = state
            .boards
            .iter()
            .find(|b| b.name == open.board)
            .ok_or_else(|| {
                let names = state.boards.iter().map(|b| b.name.as_str());
                problem(
                    &open.summary,
                    format!(
                        "is on board `{}`, which ConnectWise does not have{}",
                        open.board,
                        suggest::hint(suggest::did_you_mean(&open.board, names))
                    ),
                )
            })?;
        let status_id = status_id(state, board.id, &open.status).ok_or_else(|| {
            let names = state
                .statuses
                .iter()
                .filter(|s| s.board_id == board.id && !s.inactive)
                .map(|s| s.name.as_str());
            problem(
                &open.summary,
                format!(
                    "has status `{}`, which board `{}` does not have{}",
                    open.status,
                    board.name,
                    suggest::hint(suggest::did_you_mean(&open.status, names))
                ),
            )
        })?;
        let owner = match &open.owner {
            Some(identifier) => Some(
                technicians
                    .iter()
                    .find(|m| &m.identifier == identifier)
                    .ok_or_else(|| {
                        problem(
                            &open.summary,
                            format!("is owned by `{identifier}`, who is not an active member"),
                        )
                    })?,
            ),
            None => None,
        };
        let requester = tenant
            .person(&open.requester)
            .and_then(|p| p.contact_id)
            .ok_or_else(|| {
                problem(
                    &open.summary,
                    format!("is from `{}`, who is not a contact", open.requester),
                )
            })?;
        let contact = state.contacts[&requester].clone();
        let channel = Channel::from(open.source);
        // An unowned phone ticket was logged by whoever answered: the first technician.
        let technician = owner.unwrap_or(&technicians[0]);
        let created = anchor - Duration::hours(open.hours_ago);
        let mut record = Ticket {
            summary: open.summary.clone(),
            board_id: board.id,
            status_id,
            priority_id: priority_id(open.priority),
            source_id: Some(source_id(channel)),
            owner_id: owner.map(|m| m.id),
            entered_by: entered_by(channel, &technician.identifier),
            updated_by: entered_by(channel, &technician.identifier),
            ..ticket(&contact, tenant.psa_company.id, created)
        };
        // Mail from another address under a known contact's name: ConnectWise keeps the
        // contact and records the address it came from on the ticket.
        if let Some(from) = &open.from {
            record.contact_email = Some(from.clone());
        }
        add_ticket(state, record, &open.body, channel, technician, Vec::new());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor() -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn the_handles_agree_with_the_world() {
        let world = World::builtin();
        let contoso = world.tenant("contoso-law").unwrap();
        assert_eq!(contoso.psa, PsaKind::Connectwise);
        assert_eq!(contoso.psa_company.id, CONTOSO_LAW);
        let state = seed(world, anchor(), 7).unwrap();
        let amorgan = state.members.iter().find(|m| m.id == MEMBER_BASE).unwrap();
        assert_eq!(amorgan.identifier, world.msp.technicians[0].identifier);
        assert_eq!(state.company(OWN_COMPANY).unwrap().name, world.msp.name);
    }

    #[test]
    fn the_world_tenant_is_the_one_client_with_its_staff_and_tickets() {
        let world = World::builtin();
        let state = seed(world, anchor(), 7).unwrap();
        let clients: Vec<&str> = state
            .companies
            .iter()
            .filter(|c| !c.deleted && c.id != OWN_COMPANY)
            .map(|c| c.identifier.as_str())
            .collect();
        assert_eq!(clients, ["CONTOSO-LAW"]);
        let contoso = world.tenant("contoso-law").unwrap();
        assert_eq!(state.contacts.len(), contoso.staff().count());
        for person in contoso.staff() {
            let contact = &state.contacts[&person.contact_id.unwrap()];
            assert_eq!(contact.name(), person.display_name());
            assert_eq!(contact.title, person.title);
            assert_eq!(contact.inactive, !person.status.is_current());
            assert_eq!(contact.communication_items[0].value, person.email(contoso));
        }
        let open: Vec<&Ticket> = state.tickets.values().filter(|t| !t.closed_flag).collect();
        assert_eq!(open.len(), contoso.tickets.len());
        let closed = state.tickets.values().filter(|t| t.closed_flag).count();
        assert_eq!(closed, contoso.history);
        let slow = open
            .iter()
            .find(|t| t.summary.starts_with("Case management system very slow"))
            .unwrap();
        assert_eq!(slow.priority_id, 8, "high");
        assert_eq!(slow.owner_id, Some(MEMBER_BASE), "amorgan");
        assert_eq!(state.status(slow.status_id).unwrap().name, "In Progress");
        assert_eq!(slow.date_entered, anchor() - Duration::hours(4));
        // A ticket from another address than the requester's keeps the requester as contact
        // and records the address it came from.
        let open = contoso
            .tickets
            .iter()
            .find(|t| t.from.is_some())
            .expect("the world has a ticket from another address");
        let record = state
            .tickets
            .values()
            .find(|r| r.summary == open.summary)
            .unwrap();
        let from = open.from.as_ref().unwrap();
        let requester = contoso.person(&open.requester).unwrap();
        assert_eq!(record.contact_id, requester.contact_id);
        assert_eq!(record.contact_email.as_ref(), Some(from));
        assert_ne!(from, &requester.email(contoso));
    }

    #[test]
    fn an_unknown_board_or_status_is_refused_naming_the_ticket() {
        let mut world = World::builtin().clone();
        let contoso = world.tenant_mut("contoso-law").unwrap();
        contoso.tickets[0].board = "Help Desc".into();
        let summary = contoso.tickets[0].summary.clone();
        let err = seed(&world, anchor(), 7).unwrap_err().to_string();
        assert!(err.contains(&summary), "{err}");
        assert!(err.contains("did you mean \"Help Desk\""), "{err}");

        let mut world = World::builtin().clone();
        let contoso = world.tenant_mut("contoso-law").unwrap();
        contoso.tickets[1].status = "In Progres".into();
        let summary = contoso.tickets[1].summary.clone();
        let err = seed(&world, anchor(), 7).unwrap_err().to_string();
        assert!(err.contains(&summary), "{err}");
        assert!(err.contains("did you mean \"In Progress\""), "{err}");

        // Globex's tickets are queued in Autotask's words, which ConnectWise does not have.
        let mut world = World::builtin().clone();
        let globex = world.tenant_mut("globex").unwrap();
        globex.psa = PsaKind::Connectwise;
        let err = seed(&world, anchor(), 7).unwrap_err().to_string();
        assert!(err.contains("tenant `globex`"), "{err}");
        assert!(err.contains("board `Escalations`"), "{err}");
    }
}
