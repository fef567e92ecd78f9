//! The demo data: one MSP's ConnectWise instance with two client companies, their contacts,
//! open tickets, and a year of closed tickets generated deterministically.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::model::{
    Board, BoardStatus, CommunicationItem, CommunicationType, Company, Contact, Member, Note,
    Priority, Source, Ticket,
};
use super::state::State;
use crate::history::{
    Category, Channel, HistoricalTicket, HistoryGenerator, NoteVisibility, Organisation, Person,
};

/// Board ids of the demo instance.
pub const HELP_DESK_BOARD: i64 = 1;
/// The project board.
pub const PROJECTS_BOARD: i64 = 2;
/// Company id of CONTOSO-LAW.
pub const CONTOSO_LAW: i64 = 250;
/// Company id of GLOBEX.
pub const GLOBEX: i64 = 251;
/// How many closed tickets each client company gets.
pub const HISTORY_PER_COMPANY: usize = 320;

struct ClientSeed {
    id: i64,
    identifier: &'static str,
    name: &'static str,
    domain: &'static str,
    phone: &'static str,
    business_app: &'static str,
    people: &'static [(&'static str, &'static str, &'static str)],
}

const CLIENTS: &[ClientSeed] = &[
    ClientSeed {
        id: CONTOSO_LAW,
        identifier: "CONTOSO-LAW",
        name: "Contoso Law LLP",
        domain: "contoso-law.example",
        phone: "+44 20 7946 0100",
        business_app: "the case management system",
        people: &[
            ("Jane", "Doe", "Associate"),
            ("John", "Smith", "Partner"),
            ("Priya", "Patel", "Paralegal"),
            ("Tom", "Okafor", "Trainee Solicitor"),
            ("Emma", "Wilson", "Accounts Manager"),
            ("Liam", "Chen", "Associate"),
            ("Sofia", "Garcia", "Legal Secretary"),
            ("Noah", "Brown", "Paralegal"),
            ("Olivia", "Martin", "Office Manager"),
            ("James", "Taylor", "Senior Associate"),
        ],
    },
    ClientSeed {
        id: GLOBEX,
        identifier: "GLOBEX",
        name: "Globex Corporation",
        domain: "globex.example",
        phone: "+1 555 0142 000",
        business_app: "the ERP",
        people: &[
            ("Alice", "Nguyen", "Finance Director"),
            ("Bob", "Martinez", "Accountant"),
            ("Carol", "White", "Sales Lead"),
            ("Dan", "Kowalski", "Facilities"),
            ("Erin", "Murphy", "Accounts Payable"),
            ("Frank", "Osei", "Field Engineer"),
            ("Grace", "Lee", "HR Manager"),
            ("Henry", "Adams", "Warehouse Supervisor"),
        ],
    },
];

/// Email of a seeded person (`jane.doe@contoso-law.example`).
fn email(first: &str, last: &str, domain: &str) -> String {
    format!("{}.{}@{domain}", first.to_lowercase(), last.to_lowercase())
}

/// An open ticket in the demo data.
struct OpenSeed {
    company: i64,
    /// The contact's email.
    from: &'static str,
    summary: &'static str,
    body: &'static str,
    board: i64,
    status: &'static str,
    priority: i64,
    source: i64,
    owner: Option<&'static str>,
    hours_ago: i64,
}

const OPEN: &[OpenSeed] = &[
    OpenSeed {
        company: CONTOSO_LAW,
        from: "jane.doe",
        summary: "Password reset - Jane Doe",
        body: "Hi,\n\nI've forgotten my password and I'm locked out of my laptop. Can you reset it please?\n\nThanks,\nJane",
        board: HELP_DESK_BOARD,
        status: "New",
        priority: 4,
        source: 2,
        owner: None,
        hours_ago: 2,
    },
    OpenSeed {
        company: CONTOSO_LAW,
        from: "tom.okafor",
        summary: "Locked out of my account",
        body: "It says my account is locked. I think my phone kept trying the old password.",
        board: HELP_DESK_BOARD,
        status: "New",
        priority: 4,
        source: 3,
        owner: None,
        hours_ago: 3,
    },
    OpenSeed {
        company: CONTOSO_LAW,
        from: "priya.patel",
        summary: "New phone - need Authenticator set up again",
        body: "Hi team, I got a new phone at the weekend and the Authenticator app didn't transfer. I can't approve sign-ins now.\n\nPriya",
        board: HELP_DESK_BOARD,
        status: "New",
        priority: 4,
        source: 2,
        owner: None,
        hours_ago: 5,
    },
    OpenSeed {
        company: CONTOSO_LAW,
        from: "emma.wilson",
        summary: "Access to accounts@ shared mailbox",
        body: "Could you give me full access to the accounts@contoso-law.example mailbox? John Smith has approved it.\n\nThanks\nEmma",
        board: HELP_DESK_BOARD,
        status: "New",
        priority: 4,
        source: 2,
        owner: None,
        hours_ago: 6,
    },
    OpenSeed {
        company: CONTOSO_LAW,
        from: "liam.chen",
        summary: "Need Visio licence",
        body: "I need Visio for a process diagram for a client matter. My manager said OK.",
        board: HELP_DESK_BOARD,
        status: "New",
        priority: 4,
        source: 3,
        owner: None,
        hours_ago: 20,
    },
    OpenSeed {
        company: CONTOSO_LAW,
        from: "olivia.martin",
        summary: "New starter: Sam Patel starting Monday",
        body: "Hi,\n\nSam Patel joins us on Monday as a paralegal. Please set up email, Teams and the usual folders, same access as Priya Patel. They'll need a laptop too.\n\nKind regards,\nOlivia Martin\nOffice Manager",
        board: HELP_DESK_BOARD,
        status: "New",
        priority: 3,
        source: 2,
        owner: None,
        hours_ago: 26,
    },
    OpenSeed {
        company: CONTOSO_LAW,
        from: "olivia.martin",
        summary: "Leaver - Noah Brown, last day Friday",
        body: "Noah Brown leaves on Friday. Please disable his account at 5pm, forward his email to James Taylor and collect the laptop.\n\nOlivia",
        board: HELP_DESK_BOARD,
        status: "New",
        priority: 3,
        source: 2,
        owner: None,
        hours_ago: 30,
    },
    OpenSeed {
        company: CONTOSO_LAW,
        from: "sofia.garcia",
        summary: "Printer on 2nd floor keeps jamming",
        body: "The big printer on the second floor jams on every job and shows error 13.A2.",
        board: HELP_DESK_BOARD,
        status: "New",
        priority: 3,
        source: 1,
        owner: None,
        hours_ago: 8,
    },
    OpenSeed {
        company: CONTOSO_LAW,
        from: "james.taylor",
        summary: "Case management system very slow for everyone",
        body: "Everyone in the office says the case management system takes a minute to open each matter. Started this morning.",
        board: HELP_DESK_BOARD,
        status: "In Progress",
        priority: 8,
        source: 1,
        owner: Some("amorgan"),
        hours_ago: 4,
    },
    OpenSeed {
        company: CONTOSO_LAW,
        from: "john.smith",
        summary: "Office move - network cabling quote",
        body: "We're moving to the 3rd floor in March. Can you quote for cabling and a new switch?",
        board: PROJECTS_BOARD,
        status: "New",
        priority: 7,
        source: 2,
        owner: None,
        hours_ago: 70,
    },
    OpenSeed {
        company: GLOBEX,
        from: "alice.nguyen",
        summary: "password expired",
        body: "my password expired and the change screen says it doesn't meet requirements. tried 5 times.\n\nAlice",
        board: HELP_DESK_BOARD,
        status: "New",
        priority: 4,
        source: 3,
        owner: None,
        hours_ago: 1,
    },
    OpenSeed {
        company: GLOBEX,
        from: "bob.martinez",
        summary: "Please add me to the Finance Teams site",
        body: "Hi, I need access to the Finance team in Teams for month end. Alice approved.",
        board: HELP_DESK_BOARD,
        status: "New",
        priority: 4,
        source: 3,
        owner: None,
        hours_ago: 7,
    },
    OpenSeed {
        company: GLOBEX,
        from: "carol.white",
        summary: "MFA prompts not arriving",
        body: "I'm not getting the sign-in approval on my phone any more since I reinstalled the app.",
        board: HELP_DESK_BOARD,
        status: "New",
        priority: 4,
        source: 1,
        owner: None,
        hours_ago: 9,
    },
    OpenSeed {
        company: GLOBEX,
        from: "dan.kowalski",
        summary: "Server room aircon alarm",
        body: "The aircon in the server room is beeping and the room feels warm. Temperature display says 31C.",
        board: HELP_DESK_BOARD,
        status: "New",
        priority: 15,
        source: 1,
        owner: None,
        hours_ago: 1,
    },
    OpenSeed {
        company: GLOBEX,
        from: "erin.murphy",
        summary: "Suspicious email - invoice with new bank details",
        body: "We got an invoice from a regular supplier asking us to pay to new bank details. It looks a bit off. Should I pay it?",
        board: HELP_DESK_BOARD,
        status: "New",
        priority: 8,
        source: 2,
        owner: None,
        hours_ago: 3,
    },
    OpenSeed {
        company: GLOBEX,
        from: "grace.lee",
        summary: "Onboarding: Leo Santos (Warehouse) next week",
        body: "Leo Santos starts next Wednesday in the warehouse, reporting to Henry Adams. Needs email and access to the stock system.\n\nGrace Lee\nHR",
        board: HELP_DESK_BOARD,
        status: "New",
        priority: 3,
        source: 2,
        owner: None,
        hours_ago: 28,
    },
    OpenSeed {
        company: GLOBEX,
        from: "frank.osei",
        summary: "VPN keeps disconnecting",
        body: "VPN drops every 10 minutes when I'm on site at customers.",
        board: HELP_DESK_BOARD,
        status: "Waiting",
        priority: 4,
        source: 3,
        owner: Some("bkhan"),
        hours_ago: 50,
    },
    OpenSeed {
        company: GLOBEX,
        from: "henry.adams",
        summary: "Outlook not receiving email",
        body: "No new emails since about 9am. Sending seems to work.",
        board: HELP_DESK_BOARD,
        status: "New",
        priority: 8,
        source: 1,
        owner: None,
        hours_ago: 1,
    },
    OpenSeed {
        company: GLOBEX,
        from: "bob.martinez",
        summary: "No new emails since 9am",
        body: "Is email down? Nothing has come in all morning.",
        board: HELP_DESK_BOARD,
        status: "New",
        priority: 8,
        source: 2,
        owner: None,
        hours_ago: 1,
    },
];

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

fn source_id(channel: Channel) -> i64 {
    match channel {
        Channel::Phone => 1,
        Channel::Email => 2,
        Channel::Portal => 3,
        Channel::Monitoring => 4,
    }
}

fn priority_id(priority: u8) -> i64 {
    match priority {
        1 => 15,
        2 => 8,
        3 => 4,
        _ => 7,
    }
}

/// Build the demo state; history dates are spread over the year before `anchor`.
pub(crate) fn seed(anchor: DateTime<Utc>, seed: u64) -> State {
    let mut state = State {
        boards: vec![
            Board {
                id: HELP_DESK_BOARD,
                name: "Help Desk".into(),
                requires_resolution: true,
                project_flag: false,
            },
            Board {
                id: PROJECTS_BOARD,
                name: "Projects".into(),
                requires_resolution: false,
                project_flag: false,
            },
        ],
        statuses: [statuses(HELP_DESK_BOARD, 16), statuses(PROJECTS_BOARD, 31)].concat(),
        priorities: vec![
            Priority {
                id: 15,
                name: "Priority 1 - Emergency Response".into(),
                sort: 1,
            },
            Priority {
                id: 8,
                name: "Priority 2 - Quick Response".into(),
                sort: 2,
            },
            Priority {
                id: 4,
                name: "Priority 3 - Normal Response".into(),
                sort: 3,
            },
            Priority {
                id: 7,
                name: "Priority 4 - Schedule Maintenance".into(),
                sort: 4,
            },
        ],
        sources: vec![
            Source {
                id: 1,
                name: "Phone".into(),
            },
            Source {
                id: 2,
                name: "Email Connector".into(),
            },
            Source {
                id: 3,
                name: "Portal".into(),
            },
            Source {
                id: 4,
                name: "Monitoring".into(),
            },
        ],
        members: vec![
            Member {
                id: 148,
                identifier: "amorgan".into(),
                name: "Alex Morgan".into(),
            },
            Member {
                id: 149,
                identifier: "bkhan".into(),
                name: "Bilal Khan".into(),
            },
            Member {
                id: 150,
                identifier: "cfischer".into(),
                name: "Clara Fischer".into(),
            },
            Member {
                id: 151,
                identifier: "dosei".into(),
                name: "Daniel Osei".into(),
            },
            Member {
                id: 190,
                identifier: "stackhand".into(),
                name: "Stackhand API".into(),
            },
        ],
        // Ids differ per instance; clients look "Email" up rather than assume 1.
        communication_types: vec![
            CommunicationType {
                id: 1,
                description: "Email".into(),
                kind: "Email".into(),
            },
            CommunicationType {
                id: 2,
                description: "Direct".into(),
                kind: "Phone".into(),
            },
            CommunicationType {
                id: 3,
                description: "Fax".into(),
                kind: "Fax".into(),
            },
            CommunicationType {
                id: 4,
                description: "Cell".into(),
                kind: "Phone".into(),
            },
        ],
        companies: vec![Company {
            id: 2,
            identifier: "DemoMSP".into(),
            name: "Stackhand Demo MSP".into(),
            domain: "demomsp.example".into(),
            phone: "+44 20 7946 0000".into(),
            deleted: false,
        }],
        api_member: "stackhand".into(),
        next_note: 1,
        next_contact: 55,
        next_item: 1000,
        next_ticket: 1001,
        ..State::default()
    };
    state.companies.extend(CLIENTS.iter().map(|c| Company {
        id: c.id,
        identifier: c.identifier.into(),
        name: c.name.into(),
        domain: c.domain.into(),
        phone: c.phone.into(),
        deleted: false,
    }));
    state.companies.push(Company {
        id: 260,
        identifier: "OLDCO".into(),
        name: "Old Client Ltd".into(),
        domain: "oldco.example".into(),
        phone: "+44 20 7946 0999".into(),
        deleted: true,
    });

    let contacts_since = anchor - Duration::days(400);
    for client in CLIENTS {
        for (first, last, title) in client.people {
            add_seed_contact(
                &mut state,
                client.id,
                first,
                last,
                title,
                client.domain,
                false,
                contacts_since,
            );
        }
    }
    // A former employee, already offboarded.
    add_seed_contact(
        &mut state,
        CONTOSO_LAW,
        "Mark",
        "Evans",
        "Paralegal",
        "contoso-law.example",
        true,
        contacts_since,
    );

    seed_history(&mut state, anchor, seed);
    seed_open(&mut state, anchor);
    state
}

#[allow(clippy::too_many_arguments)]
fn add_seed_contact(
    state: &mut State,
    company: i64,
    first: &str,
    last: &str,
    title: &str,
    domain: &str,
    inactive: bool,
    at: DateTime<Utc>,
) {
    let id = state.next_contact;
    state.next_contact += 1;
    state.next_item += 2;
    state.contacts.insert(
        id,
        Contact {
            id,
            first_name: first.into(),
            last_name: last.into(),
            company_id: Some(company),
            title: Some(title.into()),
            inactive,
            communication_items: vec![
                CommunicationItem {
                    id: state.next_item - 1,
                    type_id: 1,
                    value: email(first, last, domain),
                    default_flag: true,
                },
                CommunicationItem {
                    id: state.next_item,
                    type_id: 2,
                    value: format!("+1 555 01{:02}", id % 100),
                    default_flag: true,
                },
            ],
            last_updated: at,
            date_entered: at,
        },
    );
}

fn contact_by_email<'a>(state: &'a State, address: &str) -> &'a Contact {
    state
        .contacts
        .values()
        .find(|c| c.communication_items.iter().any(|i| i.value == address))
        .expect("seeded contact")
}

/// The members who work the help desk, in the order the history generator numbers them.
const TECHNICIANS: &[&str] = &["amorgan", "bkhan", "cfischer", "dosei"];

fn seed_history(state: &mut State, anchor: DateTime<Utc>, seed: u64) {
    // Board and status choices are ConnectWise's own; the tickets come from the shared generator.
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let mut generated: Vec<(i64, HistoricalTicket, Vec<i64>)> = Vec::new();
    for (index, client) in CLIENTS.iter().enumerate() {
        let contact_ids: Vec<i64> = client
            .people
            .iter()
            .map(|(first, last, _)| contact_by_email(state, &email(first, last, client.domain)).id)
            .collect();
        let org = Organisation {
            name: client.name.into(),
            domain: client.domain.into(),
            people: client
                .people
                .iter()
                .map(|(first, last, _)| {
                    Person::new(first, last, &email(first, last, client.domain))
                })
                .collect(),
            business_app: client.business_app.into(),
        };
        let mut generator = HistoryGenerator::new(
            seed.wrapping_add(index as u64 * 7919),
            org,
            anchor,
            TECHNICIANS.len(),
        );
        for ticket in generator.tickets(HISTORY_PER_COMPANY) {
            generated.push((client.id, ticket, contact_ids.clone()));
        }
    }
    // ConnectWise ids grow with time.
    generated.sort_by_key(|(_, ticket, _)| ticket.created);
    for (company_id, generated_ticket, contact_ids) in generated {
        let created = generated_ticket.created;
        let closed_at = generated_ticket.closed;
        let contact = state.contacts[&contact_ids[generated_ticket.requester]].clone();
        let technician = state
            .members
            .iter()
            .find(|m| m.identifier == TECHNICIANS[generated_ticket.technician])
            .cloned()
            .expect("technician member");
        let on_projects = matches!(
            generated_ticket.category,
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
        let status_id = state
            .statuses
            .iter()
            .find(|s| s.board_id == board_id && s.name == closed_name)
            .expect("closed status")
            .id;
        let id = state.next_ticket;
        state.next_ticket += 1;
        let entered_by = match generated_ticket.channel {
            Channel::Email => "emailconnector".to_string(),
            Channel::Portal => "portal".to_string(),
            Channel::Monitoring => "rmm".to_string(),
            Channel::Phone => technician.identifier.clone(),
        };
        state.tickets.insert(
            id,
            Ticket {
                id,
                summary: generated_ticket.subject.clone(),
                board_id,
                status_id,
                company_id,
                contact_id: Some(contact.id),
                contact_name: Some(contact.name()),
                contact_email: contact.communication_items.first().map(|i| i.value.clone()),
                priority_id: priority_id(generated_ticket.priority),
                source_id: Some(source_id(generated_ticket.channel)),
                owner_id: Some(technician.id),
                severity: "Medium".into(),
                impact: "Medium".into(),
                closed_flag: true,
                closed_date: Some(closed_at),
                closed_by: Some(technician.identifier.clone()),
                parent_ticket_id: None,
                actual_hours: generated_ticket.hours,
                date_entered: created,
                entered_by: entered_by.clone(),
                last_updated: closed_at,
                updated_by: technician.identifier.clone(),
            },
        );
        let push = |state: &mut State,
                    text: &str,
                    flags: (bool, bool, bool),
                    at: DateTime<Utc>,
                    by_contact: bool| {
            let note_id = state.next_note;
            state.next_note += 1;
            state.notes.insert(
                note_id,
                Note {
                    id: note_id,
                    ticket_id: id,
                    text: text.to_string(),
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
        };
        // The description is the first Discussion note, written by the contact unless a
        // technician took it by phone or monitoring raised it.
        push(
            state,
            &generated_ticket.body,
            (true, false, false),
            created,
            generated_ticket.channel != Channel::Phone
                && generated_ticket.channel != Channel::Monitoring,
        );
        for note in &generated_ticket.notes {
            let flags = match note.visibility {
                NoteVisibility::Internal => (false, true, false),
                NoteVisibility::Customer => (true, false, false),
            };
            push(state, &note.text, flags, note.at, false);
        }
        // Project boards don't demand a resolution and techs often skip it there.
        if board_id == HELP_DESK_BOARD || rng.random_bool(0.5) {
            push(
                state,
                &generated_ticket.resolution,
                (false, false, true),
                closed_at,
                false,
            );
        }
    }
}

fn seed_open(state: &mut State, anchor: DateTime<Utc>) {
    for open in OPEN {
        let company = state.company(open.company).expect("seeded company").clone();
        let address = format!("{}@{}", open.from, company.domain);
        let contact = contact_by_email(state, &address).clone();
        let status_id = state
            .statuses
            .iter()
            .find(|s| s.board_id == open.board && s.name == open.status)
            .expect("open status")
            .id;
        let owner_id = open
            .owner
            .and_then(|o| state.members.iter().find(|m| m.identifier == o))
            .map(|m| m.id);
        let created = anchor - Duration::hours(open.hours_ago);
        let id = state.next_ticket;
        state.next_ticket += 1;
        state.tickets.insert(
            id,
            Ticket {
                id,
                summary: open.summary.into(),
                board_id: open.board,
                status_id,
                company_id: company.id,
                contact_id: Some(contact.id),
                contact_name: Some(contact.name()),
                contact_email: Some(address),
                priority_id: open.priority,
                source_id: Some(open.source),
                owner_id,
                severity: "Medium".into(),
                impact: "Medium".into(),
                closed_flag: false,
                closed_date: None,
                closed_by: None,
                parent_ticket_id: None,
                actual_hours: 0.0,
                date_entered: created,
                entered_by: if open.source == 3 {
                    "portal".into()
                } else {
                    "emailconnector".into()
                },
                last_updated: created,
                updated_by: "emailconnector".into(),
            },
        );
        let note_id = state.next_note;
        state.next_note += 1;
        state.notes.insert(
            note_id,
            Note {
                id: note_id,
                ticket_id: id,
                text: open.body.into(),
                detail_description: true,
                internal_analysis: false,
                resolution: false,
                member_id: None,
                contact_id: Some(contact.id),
                process_notifications: false,
                date_created: created,
                created_by: contact.name(),
            },
        );
    }
}
