//! The database: the MSP's Autotask configuration (picklists with database-specific ids, the
//! service-desk roles, the API user's resource) and, from the [world], the
//! technicians as resources, the companies of the tenants that use Autotask with their staff as
//! contacts, the tenants' open tickets and a year of closed tickets from the shared
//! [history](crate::history) generator.
//!
//! Picklist ids are deliberately not the ones community code hard-codes (`publish` 1/2,
//! `status` 5 for Complete), so a connector that does not read the picklist fails here.

use chrono::{DateTime, Utc};
use stackhand_core::suggest;

use super::schema::PicklistValue as P;
use crate::history::{Category, Channel, HistoryGenerator, NoteVisibility, Organisation};
use crate::world::{self, Tenant, World, WorldError};

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

/// Ticket `priority` picklist.
pub(crate) const PRIORITIES: &[P] = &[
    P::new(41, "Critical"),
    P::new(42, "High"),
    P::new(43, "Medium").default_value(),
    P::new(44, "Low"),
];

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

/// A technician or the API user.
pub(crate) struct SeedResource {
    pub(crate) id: i64,
    pub(crate) first: String,
    pub(crate) last: String,
    pub(crate) user_name: String,
    pub(crate) email: String,
    pub(crate) kind: &'static str,
    pub(crate) role: i64,
    pub(crate) active: bool,
}

/// The API user's own resource (notes are created as it unless impersonating).
pub(crate) const API_RESOURCE_ID: i64 = 29682885;
/// The resource id of the world's first technician; the others follow in the world's order.
pub const RESOURCE_BASE: i64 = 29684010;

/// The API user's resource, then every technician of the world (those who left inactive), each
/// in one of the service-desk roles by turns.
pub(crate) fn resources(world: &World) -> Vec<SeedResource> {
    let api = SeedResource {
        id: API_RESOURCE_ID,
        first: "Stackhand".into(),
        last: "API".into(),
        user_name: "stackhand-api".into(),
        email: super::API_USER.into(),
        kind: "API",
        role: ROLES[0],
        active: true,
    };
    let technicians = world
        .msp
        .technicians
        .iter()
        .enumerate()
        .map(|(i, t)| SeedResource {
            id: RESOURCE_BASE + i as i64,
            first: t.given.clone(),
            last: t.surname.clone(),
            user_name: t.identifier.clone(),
            email: format!("{}@{}", t.identifier, world.msp.domain),
            kind: "Employee",
            role: ROLES[i % ROLES.len()],
            active: t.active,
        });
    std::iter::once(api).chain(technicians).collect()
}

/// An open ticket of the world, in this database's picklist ids.
pub(crate) struct SeedOpenTicket {
    pub(crate) contact: i64,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) status: i64,
    pub(crate) priority: i64,
    pub(crate) queue: i64,
    pub(crate) source: i64,
    /// The owner's resource and role.
    pub(crate) assigned: Option<(i64, i64)>,
    pub(crate) hours_ago: i64,
}

/// The active value of a picklist with this label.
fn value(picklist: &[P], label: &str) -> Option<i64> {
    picklist
        .iter()
        .find(|v| v.active && v.label.eq_ignore_ascii_case(label))
        .map(|v| v.value)
}

fn priority_label(priority: world::Priority) -> &'static str {
    match priority {
        world::Priority::Critical => "Critical",
        world::Priority::High => "High",
        world::Priority::Medium => "Medium",
        world::Priority::Low => "Low",
    }
}

/// A tenant's open tickets, or an error naming the first whose queue or status this database
/// does not have.
pub(crate) fn open_tickets(
    tenant: &Tenant,
    resources: &[SeedResource],
) -> Result<Vec<SeedOpenTicket>, WorldError> {
    let problem = |summary: &str, message: String| WorldError::Inconsistent {
        origin: "Autotask simulator".into(),
        message: format!("tenant `{}`: ticket `{summary}` {message}", tenant.key),
    };
    let pick = |picklist: &[P], field: &str, label: &str, summary: &str| {
        value(picklist, label).ok_or_else(|| {
            let labels = picklist.iter().filter(|v| v.active).map(|v| v.label);
            problem(
                summary,
                format!(
                    "has {field} `{label}`, which the {field} picklist does not have{}",
                    suggest::hint(suggest::did_you_mean(label, labels))
                ),
            )
        })
    };
    tenant
        .tickets
        .iter()
        .map(|t| {
            if let Some(from) = &t.from {
                // Autotask's tickets carry a contact, not the address a message came from.
                return Err(problem(
                    &t.summary,
                    format!(
                        "is from `{from}`, but Autotask tickets have no sender address field \
                         (remove `from`, or keep the ticket in a ConnectWise tenant)"
                    ),
                ));
            }
            let assigned = match &t.owner {
                Some(owner) => {
                    let resource = resources
                        .iter()
                        .find(|r| r.active && &r.user_name == owner)
                        .ok_or_else(|| {
                            problem(
                                &t.summary,
                                format!("is assigned to `{owner}`, who is not an active resource"),
                            )
                        })?;
                    Some((resource.id, resource.role))
                }
                None => None,
            };
            Ok(SeedOpenTicket {
                contact: tenant
                    .person(&t.requester)
                    .and_then(|p| p.contact_id)
                    .ok_or_else(|| {
                        problem(
                            &t.summary,
                            format!("is from `{}`, who is not a contact", t.requester),
                        )
                    })?,
                title: t.summary.clone(),
                description: t.body.clone(),
                status: pick(STATUSES, "status", &t.status, &t.summary)?,
                priority: pick(
                    PRIORITIES,
                    "priority",
                    priority_label(t.priority),
                    &t.summary,
                )?,
                queue: pick(QUEUES, "queue", &t.board, &t.summary)?,
                source: source(Channel::from(t.source)),
                assigned,
                hours_ago: t.hours_ago,
            })
        })
        .collect()
}

/// A closed ticket from the shared history generator, in Autotask's picklist ids.
pub(crate) struct ClosedTicket {
    pub(crate) contact: i64,
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
    /// The technician's resource and role.
    pub(crate) assigned: (i64, i64),
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

/// A year of closed tickets for one tenant, worked by `technicians` (resource and role), the
/// same every time for the same `seed`, oldest first.
pub(crate) fn closed_history(
    tenant: &Tenant,
    technicians: &[(i64, i64)],
    now: DateTime<Utc>,
    seed: u64,
) -> Vec<ClosedTicket> {
    let org = Organisation::from_world(tenant);
    let contact_of = |email: &str| {
        tenant
            .staff()
            .find(|p| p.email(tenant) == email)
            .and_then(|p| p.contact_id)
            .expect("requesters are staff with a contact id")
    };
    HistoryGenerator::new(
        seed ^ tenant.psa_company.id as u64,
        org.clone(),
        now,
        technicians.len(),
    )
    .tickets(tenant.history)
    .into_iter()
    .map(|t| {
        let priority = value(PRIORITIES, priority_label(t.neutral_priority()))
            .expect("every neutral priority is in the picklist");
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
            contact: contact_of(&org.people[t.requester].email),
            issue_type: issue_type(t.category),
            queue: match t.channel {
                Channel::Monitoring => QUEUE_MONITORING,
                _ if !t.category.is_routine() && t.priority <= 2 => QUEUE_ESCALATIONS,
                _ => QUEUE_HELP_DESK,
            },
            priority,
            source: source(t.channel),
            created: t.created,
            completed: t.closed,
            resolution: t.resolution,
            title: t.subject,
            description: t.body,
            notes,
            assigned: technicians[t.technician],
        }
    })
    .collect()
}

/// The note type used for seeded notes.
pub(crate) const SEED_NOTE_TYPE: i64 = NOTE_GENERAL;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::PsaKind;

    #[test]
    fn the_handles_agree_with_the_world() {
        let world = World::builtin();
        let globex = world.tenant("globex").unwrap();
        assert_eq!(globex.psa, PsaKind::Autotask);
        assert_eq!(globex.psa_company.id, super::super::GLOBEX_COMPANY_ID);
        let resources = resources(world);
        assert_eq!(resources[0].id, API_RESOURCE_ID);
        assert_eq!(resources[1].id, RESOURCE_BASE);
        assert_eq!(resources[1].user_name, world.msp.technicians[0].identifier);
        assert_eq!(
            super::super::API_USER
                .split_once('@')
                .map(|(_, domain)| domain),
            Some(world.msp.domain.as_str())
        );
        // Those who left stay, inactive, so their old tickets keep their technician.
        assert_eq!(resources.len(), world.msp.technicians.len() + 1);
        assert!(resources.iter().any(|r| !r.active));
    }

    #[test]
    fn open_tickets_map_onto_the_picklists() {
        let world = World::builtin();
        let globex = world.tenant("globex").unwrap();
        let resources = resources(world);
        let open = open_tickets(globex, &resources).unwrap();
        assert_eq!(open.len(), globex.tickets.len());
        let vpn = open
            .iter()
            .find(|t| t.title == "VPN keeps disconnecting")
            .unwrap();
        let bkhan = resources.iter().find(|r| r.user_name == "bkhan").unwrap();
        assert_eq!(vpn.assigned, Some((bkhan.id, bkhan.role)));
        assert_eq!(vpn.status, value(STATUSES, "Waiting Customer").unwrap());
        assert_eq!(vpn.queue, QUEUE_ESCALATIONS);
        assert_eq!(
            vpn.contact,
            globex.person("homer.simpson").unwrap().contact_id.unwrap()
        );
        let aircon = open
            .iter()
            .find(|t| t.title == "Server room aircon alarm")
            .unwrap();
        assert_eq!(
            (aircon.priority, aircon.source, aircon.queue),
            (41, 7, QUEUE_HELP_DESK),
            "critical, by phone"
        );
    }

    #[test]
    fn a_ticket_from_another_address_is_refused_naming_the_ticket() {
        let world = World::builtin();
        let resources = resources(world);
        let mut globex = world.tenant("globex").unwrap().clone();
        globex.tickets[1].from = Some("hank@gl0bex.example".into());
        let Err(err) = open_tickets(&globex, &resources) else {
            panic!("Autotask has no sender address to record");
        };
        let err = err.to_string();
        assert!(err.contains("tenant `globex`"), "{err}");
        assert!(err.contains(&globex.tickets[1].summary), "{err}");
        assert!(err.contains("hank@gl0bex.example"), "{err}");
        assert!(err.contains("no sender address"), "{err}");
    }

    #[test]
    fn an_unknown_or_retired_queue_is_refused_naming_the_ticket() {
        let world = World::builtin();
        let resources = resources(world);
        let mut globex = world.tenant("globex").unwrap().clone();
        globex.tickets[2].board = "Help Dsk".into();
        let Err(err) = open_tickets(&globex, &resources) else {
            panic!("an unknown queue is refused");
        };
        let err = err.to_string();
        assert!(err.contains(&globex.tickets[2].summary), "{err}");
        assert!(err.contains("did you mean \"Help Desk\""), "{err}");

        globex.tickets[2].board = "Legacy Projects".into();
        assert!(open_tickets(&globex, &resources).is_err(), "inactive");
    }
}
