//! The demo database: picklists with tenant-specific ids, two client companies, their contacts,
//! technicians, open tickets, and a year of closed tickets generated from a seeded RNG.
//!
//! Picklist ids are deliberately not the ones community code hard-codes (`publish` 1/2,
//! `status` 5 for Complete), so a connector that does not read the picklist fails here.

use chrono::{DateTime, Utc};

use super::schema::PicklistValue as P;
use crate::history::{Category, Channel, HistoryGenerator, NoteVisibility, Organisation, Person};

/// Ticket `status` picklist.
pub(crate) const STATUSES: &[P] = &[
    P::new(11, "New").default_value(),
    P::new(17, "In Progress"),
    P::new(23, "Waiting Customer"),
    P::new(26, "Waiting Vendor"),
    P::new(29, "Complete").system(),
];
/// The status that closes a ticket.
pub(crate) const STATUS_COMPLETE: i64 = 29;
const STATUS_NEW: i64 = 11;
const STATUS_IN_PROGRESS: i64 = 17;
const STATUS_WAITING_CUSTOMER: i64 = 23;

/// Ticket `priority` picklist.
pub(crate) const PRIORITIES: &[P] = &[
    P::new(41, "Critical"),
    P::new(42, "High"),
    P::new(43, "Medium").default_value(),
    P::new(44, "Low"),
];
const PRIORITY_CRITICAL: i64 = 41;
const PRIORITY_HIGH: i64 = 42;
const PRIORITY_MEDIUM: i64 = 43;
const PRIORITY_LOW: i64 = 44;

/// Ticket `queueID` picklist.
pub(crate) const QUEUES: &[P] = &[
    P::new(29683737, "Help Desk").default_value(),
    P::new(29683751, "Escalations"),
    P::new(29683802, "Monitoring Alerts"),
    P::new(29683815, "Legacy Projects").inactive(),
];
const QUEUE_HELP_DESK: i64 = 29683737;
const QUEUE_ESCALATIONS: i64 = 29683751;
const QUEUE_MONITORING: i64 = 29683802;

/// Ticket `source` picklist.
pub(crate) const SOURCES: &[P] = &[
    P::new(6, "Email").default_value(),
    P::new(7, "Phone"),
    P::new(8, "Client Portal"),
    P::new(9, "Monitoring Alert"),
];

/// Ticket `issueType` picklist.
pub(crate) const ISSUE_TYPES: &[P] = &[
    P::new(301, "Account Access"),
    P::new(302, "Email"),
    P::new(303, "Hardware"),
    P::new(304, "Network"),
    P::new(305, "Software"),
    P::new(306, "Security"),
    P::new(307, "Onboarding / Offboarding"),
];

/// Ticket `ticketType` picklist (system values, the same in every database).
pub(crate) const TICKET_TYPES: &[P] = &[
    P::new(1, "Service Request").default_value().system(),
    P::new(2, "Incident").system(),
    P::new(3, "Problem").system(),
    P::new(4, "Change Request").system(),
    P::new(5, "Alert").system(),
];
/// `ticketType` of an incident.
pub(crate) const TYPE_INCIDENT: i64 = 2;
/// `ticketType` of a problem.
pub(crate) const TYPE_PROBLEM: i64 = 3;

/// Note `publish` picklist.
pub(crate) const PUBLISH: &[P] = &[
    P::new(7, "All Autotask Users"),
    P::new(5, "Internal Only").default_value(),
    P::new(9, "Internal & Co-Managed"),
];
const PUBLISH_ALL: i64 = 7;
const PUBLISH_INTERNAL: i64 = 5;

/// Note `noteType` picklist.
pub(crate) const NOTE_TYPES: &[P] = &[
    P::new(21, "General").default_value(),
    P::new(22, "Task Summary").system(),
    P::new(23, "Task Detail"),
    P::new(24, "Workflow Rule Action Note").system(),
];
const NOTE_GENERAL: i64 = 21;

/// Company `companyType` picklist (system values).
pub(crate) const COMPANY_TYPES: &[P] = &[
    P::new(1, "Customer").default_value().system(),
    P::new(2, "Lead").system(),
    P::new(3, "Prospect").system(),
    P::new(7, "Vendor").system(),
];

/// Service-desk roles a resource can be assigned in.
pub(crate) const ROLES: &[i64] = &[29683461, 29683470];

/// A technician or API user.
pub(crate) struct SeedResource {
    pub(crate) id: i64,
    pub(crate) first: &'static str,
    pub(crate) last: &'static str,
    pub(crate) user_name: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) role: i64,
    pub(crate) active: bool,
}

/// The API user's own resource (notes are created as it unless impersonating).
pub(crate) const API_RESOURCE_ID: i64 = 29682885;

pub(crate) const RESOURCES: &[SeedResource] = &[
    SeedResource {
        id: API_RESOURCE_ID,
        first: "Stackhand",
        last: "API",
        user_name: "stackhand-api",
        kind: "API",
        role: 29683461,
        active: true,
    },
    SeedResource {
        id: 29684010,
        first: "Alex",
        last: "Morgan",
        user_name: "amorgan",
        kind: "Employee",
        role: 29683461,
        active: true,
    },
    SeedResource {
        id: 29684022,
        first: "Jordan",
        last: "Lee",
        user_name: "jlee",
        kind: "Employee",
        role: 29683470,
        active: true,
    },
    SeedResource {
        id: 29684031,
        first: "Casey",
        last: "Kim",
        user_name: "ckim",
        kind: "Employee",
        role: 29683461,
        active: false,
    },
];

/// A client company and its people.
pub(crate) struct SeedCompany {
    pub(crate) id: i64,
    pub(crate) name: &'static str,
    pub(crate) number: &'static str,
    pub(crate) domain: &'static str,
    pub(crate) phone: &'static str,
    /// (first, last, title, active)
    pub(crate) contacts: &'static [(&'static str, &'static str, &'static str, bool)],
    /// How staff refer to their main line-of-business application.
    pub(crate) business_app: &'static str,
    pub(crate) closed_tickets: usize,
}

pub(crate) const COMPANIES: &[SeedCompany] = &[
    SeedCompany {
        id: 174,
        name: "Contoso Law LLP",
        number: "CONTOSO",
        domain: "contoso-law.example",
        phone: "+1 206 555 0140",
        contacts: &[
            ("Jane", "Doe", "Associate", true),
            ("John", "Smith", "Managing Partner", true),
            ("Priya", "Patel", "Paralegal", true),
            ("Marcus", "Chen", "Office Manager", true),
            ("Emily", "Wong", "Senior Associate", true),
            ("David", "Okafor", "Legal Secretary", true),
            ("Sarah", "Klein", "Records Clerk", true),
            ("Tom", "Baker", "Former Paralegal", false),
        ],
        business_app: "the DMS",
        closed_tickets: 342,
    },
    SeedCompany {
        id: 209,
        name: "Globex Corporation",
        number: "GLOBEX",
        domain: "globex.example",
        phone: "+1 503 555 0199",
        contacts: &[
            ("Hank", "Scorpio", "CEO", true),
            ("Alice", "Nguyen", "Finance Manager", true),
            ("Bob", "Martin", "Accounts Payable", true),
            ("Carol", "Diaz", "Marketing Lead", true),
            ("Frank", "Grimes", "Safety Inspector", true),
            ("Lisa", "Park", "Sales Engineer", true),
            ("Omar", "Haddad", "Warehouse Supervisor", true),
        ],
        business_app: "the ERP",
        closed_tickets: 317,
    },
];

/// An open ticket in the demo data.
pub(crate) struct SeedOpenTicket {
    pub(crate) company: i64,
    /// Index into the company's contacts.
    pub(crate) contact: usize,
    pub(crate) title: &'static str,
    pub(crate) description: &'static str,
    pub(crate) status: i64,
    pub(crate) priority: i64,
    pub(crate) queue: i64,
    pub(crate) issue_type: i64,
    pub(crate) source: i64,
    pub(crate) hours_ago: i64,
}

pub(crate) const OPEN_TICKETS: &[SeedOpenTicket] = &[
    SeedOpenTicket {
        company: 174,
        contact: 0,
        title: "Locked out of Outlook and Teams",
        description: "Hi, I typed my password wrong a few times this morning and now it says my account is locked. I have a client call at 11. Can you unlock me please? Jane",
        status: STATUS_NEW,
        priority: PRIORITY_HIGH,
        queue: QUEUE_HELP_DESK,
        issue_type: 301,
        source: 6,
        hours_ago: 2,
    },
    SeedOpenTicket {
        company: 174,
        contact: 1,
        title: "Password reset please",
        description: "Forgot my password after the long weekend. Please reset it and text me the temporary one.",
        status: STATUS_NEW,
        priority: PRIORITY_MEDIUM,
        queue: QUEUE_HELP_DESK,
        issue_type: 301,
        source: 7,
        hours_ago: 5,
    },
    SeedOpenTicket {
        company: 174,
        contact: 2,
        title: "New phone - Authenticator app needs setting up again",
        description: "I got a new iPhone and the Microsoft Authenticator codes didn't move over. I can't approve sign-ins any more. Old phone was traded in.",
        status: STATUS_IN_PROGRESS,
        priority: PRIORITY_MEDIUM,
        queue: QUEUE_HELP_DESK,
        issue_type: 301,
        source: 8,
        hours_ago: 20,
    },
    SeedOpenTicket {
        company: 174,
        contact: 3,
        title: "New starter Monday: Laura Fischer (paralegal)",
        description: "Laura Fischer joins the litigation team on Monday as a paralegal. She needs an account, email, the Litigation shared drive and a laptop. Same setup as Priya please.",
        status: STATUS_NEW,
        priority: PRIORITY_MEDIUM,
        queue: QUEUE_HELP_DESK,
        issue_type: 307,
        source: 6,
        hours_ago: 30,
    },
    SeedOpenTicket {
        company: 174,
        contact: 4,
        title: "Document management system crawling since this morning",
        description: "Opening any matter in the DMS takes over a minute for everyone on the second floor. Started around 9am. We have a filing deadline today.",
        status: STATUS_IN_PROGRESS,
        priority: PRIORITY_HIGH,
        queue: QUEUE_ESCALATIONS,
        issue_type: 305,
        source: 7,
        hours_ago: 3,
    },
    SeedOpenTicket {
        company: 174,
        contact: 5,
        title: "3rd floor printer printing blank pages",
        description: "The big Ricoh by the kitchen prints blank pages for anything over 10 pages. Toner shows full.",
        status: STATUS_WAITING_CUSTOMER,
        priority: PRIORITY_LOW,
        queue: QUEUE_HELP_DESK,
        issue_type: 303,
        source: 8,
        hours_ago: 70,
    },
    SeedOpenTicket {
        company: 209,
        contact: 1,
        title: "Can't log in - account locked",
        description: "Getting 'your account has been locked' on the VPN and on webmail. Need it back before month-end close.",
        status: STATUS_NEW,
        priority: PRIORITY_HIGH,
        queue: QUEUE_HELP_DESK,
        issue_type: 301,
        source: 7,
        hours_ago: 1,
    },
    SeedOpenTicket {
        company: 209,
        contact: 2,
        title: "Need access to the Finance shared mailbox",
        description: "Alice asked me to cover invoices@ while she's out. Can I get access to the Finance mailbox? She's approved it (cc'd).",
        status: STATUS_NEW,
        priority: PRIORITY_MEDIUM,
        queue: QUEUE_HELP_DESK,
        issue_type: 302,
        source: 6,
        hours_ago: 6,
    },
    SeedOpenTicket {
        company: 209,
        contact: 0,
        title: "Leaver: Frank Grimes, last day Friday",
        description: "Frank Grimes is leaving us on Friday. Please disable his access at 5pm, forward his mail to Omar and keep his files for 90 days.",
        status: STATUS_NEW,
        priority: PRIORITY_MEDIUM,
        queue: QUEUE_HELP_DESK,
        issue_type: 307,
        source: 6,
        hours_ago: 26,
    },
    SeedOpenTicket {
        company: 209,
        contact: 3,
        title: "Email from 'Hank' asking me to buy gift cards - phishing?",
        description: "Got an urgent email that looks like it's from Hank asking for 10 Apple gift cards for a client. Sender address is hank.scorpio@gl0bex-mail.example. I haven't replied or clicked anything.",
        status: STATUS_NEW,
        priority: PRIORITY_HIGH,
        queue: QUEUE_ESCALATIONS,
        issue_type: 306,
        source: 6,
        hours_ago: 4,
    },
    SeedOpenTicket {
        company: 209,
        contact: 5,
        title: "VPN drops every few minutes from home",
        description: "Since Tuesday the VPN disconnects every 3-5 minutes. Home internet is fine otherwise. Other sales people say the same.",
        status: STATUS_IN_PROGRESS,
        priority: PRIORITY_MEDIUM,
        queue: QUEUE_ESCALATIONS,
        issue_type: 304,
        source: 8,
        hours_ago: 50,
    },
    SeedOpenTicket {
        company: 209,
        contact: 3,
        title: "Visio licence for the new org chart",
        description: "Could I get a Visio licence? HR wants the org chart redone by the end of the month.",
        status: STATUS_NEW,
        priority: PRIORITY_LOW,
        queue: QUEUE_HELP_DESK,
        issue_type: 305,
        source: 8,
        hours_ago: 9,
    },
];

/// A closed ticket from the shared history generator, in Autotask's picklist ids.
pub(crate) struct ClosedTicket {
    pub(crate) contact: usize,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) issue_type: i64,
    pub(crate) queue: i64,
    pub(crate) priority: i64,
    pub(crate) source: i64,
    pub(crate) created: DateTime<Utc>,
    pub(crate) completed: DateTime<Utc>,
    pub(crate) resolution: String,
    /// (title, text, publish, written at), oldest first; the last is the resolution.
    pub(crate) notes: Vec<(&'static str, String, i64, DateTime<Utc>)>,
    pub(crate) assigned: i64,
}

/// The `issueType` a category is filed under.
fn issue_type(category: Category) -> i64 {
    match category {
        Category::PasswordReset
        | Category::AccountLockout
        | Category::MfaReset
        | Category::GroupAccess => 301,
        Category::MailboxAccess | Category::Other("outlook") => 302,
        Category::Other("printer" | "slow_pc" | "hardware" | "disk" | "phone_system") => 303,
        Category::Other("vpn" | "network") => 304,
        Category::Other("phishing") => 306,
        Category::NewStarter | Category::Leaver => 307,
        Category::Licence | Category::Other(_) => 305,
    }
}

/// The `source` a channel arrives through.
fn source(channel: Channel) -> i64 {
    match channel {
        Channel::Email => 6,
        Channel::Phone => 7,
        Channel::Portal => 8,
        Channel::Monitoring => 9,
    }
}

/// A year of closed tickets for one company, the same every time for the same `seed`, oldest
/// first.
pub(crate) fn closed_history(
    company: &SeedCompany,
    now: DateTime<Utc>,
    seed: u64,
) -> Vec<ClosedTicket> {
    // Past tickets were worked by every technician, including those who have since left.
    let techs: Vec<i64> = RESOURCES
        .iter()
        .filter(|r| r.kind == "Employee")
        .map(|r| r.id)
        .collect();
    let org = Organisation {
        name: company.name.into(),
        domain: company.domain.into(),
        people: company
            .contacts
            .iter()
            .map(|(first, last, _, _)| {
                let email = format!(
                    "{}.{}@{}",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    company.domain
                );
                Person::new(first, last, &email)
            })
            .collect(),
        business_app: company.business_app.into(),
    };
    HistoryGenerator::new(seed ^ company.id as u64, org, now, techs.len())
        .tickets(company.closed_tickets)
        .into_iter()
        .map(|t| {
            let mut notes: Vec<_> = t
                .notes
                .into_iter()
                .map(|n| match n.visibility {
                    NoteVisibility::Internal => ("Work performed", n.text, PUBLISH_INTERNAL, n.at),
                    NoteVisibility::Customer => ("Update to customer", n.text, PUBLISH_ALL, n.at),
                })
                .collect();
            notes.push(("Resolution", t.resolution.clone(), PUBLISH_ALL, t.closed));
            ClosedTicket {
                contact: t.requester,
                issue_type: issue_type(t.category),
                queue: match t.channel {
                    Channel::Monitoring => QUEUE_MONITORING,
                    _ if !t.category.is_routine() && t.priority <= 2 => QUEUE_ESCALATIONS,
                    _ => QUEUE_HELP_DESK,
                },
                priority: match t.priority {
                    1 => PRIORITY_CRITICAL,
                    2 => PRIORITY_HIGH,
                    3 => PRIORITY_MEDIUM,
                    _ => PRIORITY_LOW,
                },
                source: source(t.channel),
                created: t.created,
                completed: t.closed,
                resolution: t.resolution,
                title: t.subject,
                description: t.body,
                notes,
                assigned: techs[t.technician],
            }
        })
        .collect()
}

/// The note type used for seeded notes.
pub(crate) const SEED_NOTE_TYPE: i64 = NOTE_GENERAL;
