//! The simulator's records and their JSON renderings in ConnectWise's shapes (the spec's
//! `Ticket`, `ServiceNote`, `BoardStatus`, `Company`, `Contact` schemas).
//!
//! Renderings keep nulls so conditions can tell an empty field from an unknown one; the
//! handlers strip them before answering, as ConnectWise leaves empty fields out.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// Format an instant the way ConnectWise does (`2025-03-01T14:02:11Z`).
pub(crate) fn cw_date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn opt_date(at: Option<DateTime<Utc>>) -> Value {
    at.map(cw_date).map_or(Value::Null, Value::String)
}

/// A service board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Board {
    /// Id.
    pub id: i64,
    /// Name (`Help Desk`, `Projects`).
    pub name: String,
    /// Whether the board's workflow demands a resolution note before a closed status.
    pub requires_resolution: bool,
    /// Whether it is a project board.
    pub project_flag: bool,
}

/// A status of one board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardStatus {
    /// Id (unique across boards, as in ConnectWise).
    pub id: i64,
    /// The board it belongs to.
    pub board_id: i64,
    /// Name.
    pub name: String,
    /// Sort order.
    pub sort_order: i64,
    /// Whether a ticket in this status is closed.
    pub closed_status: bool,
    /// Whether the status is the board's default for new tickets.
    pub default_flag: bool,
    /// Whether the status is retired.
    pub inactive: bool,
}

/// A priority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priority {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Sort order.
    pub sort: i64,
}

/// A ticket source (Phone, Email Connector, Portal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// A member (technician or API member).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Id.
    pub id: i64,
    /// Login identifier.
    pub identifier: String,
    /// Display name.
    pub name: String,
}

/// A communication type (`Email`, `Direct`, `Cell`, `Fax`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommunicationType {
    /// Id; differs per ConnectWise instance.
    pub id: i64,
    /// Description, which is the name shown in references.
    pub description: String,
    /// Email, Phone or Fax.
    pub kind: String,
}

/// A client company.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Company {
    /// Id.
    pub id: i64,
    /// Short identifier (`CONTOSO-LAW`).
    pub identifier: String,
    /// Name.
    pub name: String,
    /// Web domain, used for contact email addresses.
    pub domain: String,
    /// Main phone number.
    pub phone: String,
    /// Whether the company is deleted.
    pub deleted: bool,
}

/// One communication item of a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommunicationItem {
    /// Id.
    pub id: i64,
    /// The communication type id.
    pub type_id: i64,
    /// The address or number.
    pub value: String,
    /// Whether it is the default of its kind.
    pub default_flag: bool,
}

/// A contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Id.
    pub id: i64,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Company id.
    pub company_id: Option<i64>,
    /// Job title.
    pub title: Option<String>,
    /// Whether the contact is inactive.
    pub inactive: bool,
    /// Email and phone entries.
    pub communication_items: Vec<CommunicationItem>,
    /// Last change.
    pub last_updated: DateTime<Utc>,
    /// Created.
    pub date_entered: DateTime<Utc>,
}

impl Contact {
    /// `First Last`.
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_string()
    }
}

/// A service ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    /// Id.
    pub id: i64,
    /// Summary (max 100 characters).
    pub summary: String,
    /// Board id.
    pub board_id: i64,
    /// Status id (a status of the board).
    pub status_id: i64,
    /// Company id.
    pub company_id: i64,
    /// Contact id.
    pub contact_id: Option<i64>,
    /// Contact name as shown on the ticket.
    pub contact_name: Option<String>,
    /// Contact email as shown on the ticket.
    pub contact_email: Option<String>,
    /// Priority id.
    pub priority_id: i64,
    /// Source id.
    pub source_id: Option<i64>,
    /// Owner member id.
    pub owner_id: Option<i64>,
    /// Severity (Low, Medium, High).
    pub severity: String,
    /// Impact (Low, Medium, High).
    pub impact: String,
    /// Whether it is closed (follows the status).
    pub closed_flag: bool,
    /// When it was closed.
    pub closed_date: Option<DateTime<Utc>>,
    /// Who closed it.
    pub closed_by: Option<String>,
    /// Parent ticket id.
    pub parent_ticket_id: Option<i64>,
    /// Hours logged.
    pub actual_hours: f64,
    /// Created.
    pub date_entered: DateTime<Utc>,
    /// Created by.
    pub entered_by: String,
    /// Last change.
    pub last_updated: DateTime<Utc>,
    /// Last changed by.
    pub updated_by: String,
}

/// A ticket note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Id.
    pub id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// Text.
    pub text: String,
    /// In the Discussion (customer-visible).
    pub detail_description: bool,
    /// Internal analysis (technicians only).
    pub internal_analysis: bool,
    /// The resolution.
    pub resolution: bool,
    /// Written by a member.
    pub member_id: Option<i64>,
    /// Written by a contact (email reply, portal).
    pub contact_id: Option<i64>,
    /// Whether ConnectWise would have emailed it (recorded for tests).
    pub process_notifications: bool,
    /// Created.
    pub date_created: DateTime<Utc>,
    /// Created by (member identifier or contact name).
    pub created_by: String,
}

/// Renders records with `_info` links under one API base URL.
pub(crate) struct Renderer<'a> {
    /// `https://host/v4_6_release/apis/3.0`.
    pub(crate) base: &'a str,
}

impl Renderer<'_> {
    fn reference(&self, kind: &str, path: String, body: Value) -> Value {
        let mut body = body;
        body["_info"] = json!({ format!("{kind}_href"): format!("{}/{path}", self.base) });
        body
    }

    pub(crate) fn board_ref(&self, board: &Board) -> Value {
        self.reference(
            "board",
            format!("service/boards/{}", board.id),
            json!({"id": board.id, "name": board.name}),
        )
    }

    pub(crate) fn status_ref(&self, status: &BoardStatus) -> Value {
        self.reference(
            "status",
            format!("service/boards/{}/statuses/{}", status.board_id, status.id),
            json!({"id": status.id, "name": status.name, "sort": status.sort_order}),
        )
    }

    pub(crate) fn company_ref(&self, company: &Company) -> Value {
        self.reference(
            "company",
            format!("company/companies/{}", company.id),
            json!({"id": company.id, "identifier": company.identifier, "name": company.name}),
        )
    }

    pub(crate) fn contact_ref(&self, contact: &Contact) -> Value {
        self.reference(
            "contact",
            format!("company/contacts/{}", contact.id),
            json!({"id": contact.id, "name": contact.name()}),
        )
    }

    pub(crate) fn member_ref(&self, member: &Member) -> Value {
        self.reference(
            "member",
            format!("system/members/{}", member.id),
            json!({"id": member.id, "identifier": member.identifier, "name": member.name}),
        )
    }

    pub(crate) fn priority_ref(&self, priority: &Priority) -> Value {
        self.reference(
            "priority",
            format!("service/priorities/{}", priority.id),
            json!({"id": priority.id, "name": priority.name, "sort": priority.sort}),
        )
    }

    pub(crate) fn source_ref(&self, source: &Source) -> Value {
        self.reference(
            "source",
            format!("service/sources/{}", source.id),
            json!({"id": source.id, "name": source.name}),
        )
    }

    pub(crate) fn board_status(&self, status: &BoardStatus, board: &Board) -> Value {
        json!({
            "id": status.id,
            "name": status.name,
            "board": self.board_ref(board),
            "sortOrder": status.sort_order,
            "displayOnBoard": !status.closed_status,
            "inactive": status.inactive,
            "closedStatus": status.closed_status,
            "timeEntryNotAllowed": false,
            "defaultFlag": status.default_flag,
            "escalationStatus": if status.closed_status { "Resolved" } else { "NotResponded" },
            "customerPortalDescription": null,
            "customerPortalFlag": true,
            "_info": {
                "lastUpdated": "2024-01-15T09:00:00Z",
                "updatedBy": "admin1"
            }
        })
    }

    pub(crate) fn board(&self, board: &Board) -> Value {
        json!({
            "id": board.id,
            "name": board.name,
            "location": {"id": 2, "name": "Main"},
            "department": {"id": 10, "identifier": "Services", "name": "Services"},
            "inactiveFlag": false,
            "projectFlag": board.project_flag,
            "signOffOnClosedFlag": false,
            "_info": {"lastUpdated": "2024-01-15T09:00:00Z", "updatedBy": "admin1"}
        })
    }

    pub(crate) fn company(&self, company: &Company) -> Value {
        json!({
            "id": company.id,
            "identifier": company.identifier,
            "name": company.name,
            "status": {"id": 1, "name": "Active"},
            "phoneNumber": company.phone,
            "website": format!("www.{}", company.domain),
            "deletedFlag": company.deleted,
            "types": [{"id": 1, "name": "Client"}],
            "dateAcquired": "2021-04-01T00:00:00Z",
            "_info": {
                "lastUpdated": "2024-06-01T12:00:00Z",
                "updatedBy": "admin1",
                "contacts_href": format!("{}/company/contacts?conditions=company/id={}", self.base, company.id)
            }
        })
    }

    pub(crate) fn communication_type(&self, kind: &CommunicationType) -> Value {
        json!({
            "id": kind.id,
            "description": kind.description,
            "phoneFlag": kind.kind == "Phone",
            "faxFlag": kind.kind == "Fax",
            "emailFlag": kind.kind == "Email",
            "defaultFlag": false,
            "exchangeXref": null,
            "_info": {"lastUpdated": "2024-01-15T09:00:00Z", "updatedBy": "admin1"}
        })
    }

    pub(crate) fn contact(
        &self,
        contact: &Contact,
        company: Option<&Company>,
        types: &[CommunicationType],
    ) -> Value {
        let items: Vec<Value> = contact
            .communication_items
            .iter()
            .map(|item| {
                let kind = types.iter().find(|t| t.id == item.type_id);
                json!({
                    "id": item.id,
                    "type": kind.map(|k| json!({"id": k.id, "name": k.description})),
                    "value": item.value,
                    "defaultFlag": item.default_flag,
                    "communicationType": kind.map(|k| k.kind.clone()),
                })
            })
            .collect();
        json!({
            "id": contact.id,
            "firstName": contact.first_name,
            "lastName": contact.last_name,
            "company": company.map(|c| self.company_ref(c)),
            "title": contact.title,
            "inactiveFlag": contact.inactive,
            "disablePortalLoginFlag": contact.inactive,
            "unsubscribeFlag": false,
            "defaultFlag": false,
            "communicationItems": items,
            "types": [],
            "_info": {
                "lastUpdated": cw_date(contact.last_updated),
                "dateEntered": cw_date(contact.date_entered),
                "updatedBy": "apiuser"
            }
        })
    }

    pub(crate) fn note(
        &self,
        note: &Note,
        member: Option<&Member>,
        contact: Option<&Contact>,
    ) -> Value {
        json!({
            "id": note.id,
            "ticketId": note.ticket_id,
            "text": note.text,
            "detailDescriptionFlag": note.detail_description,
            "internalAnalysisFlag": note.internal_analysis,
            "resolutionFlag": note.resolution,
            "issueFlag": false,
            "member": member.map(|m| self.member_ref(m)),
            "contact": contact.map(|c| self.contact_ref(c)),
            "customerUpdatedFlag": contact.is_some(),
            "processNotifications": note.process_notifications,
            "dateCreated": cw_date(note.date_created),
            "createdBy": note.created_by,
            "internalFlag": note.internal_analysis,
            "externalFlag": note.detail_description,
            "_info": {
                "lastUpdated": cw_date(note.date_created),
                "updatedBy": note.created_by
            }
        })
    }
}

/// The records a ticket refers to, resolved by the state.
pub(crate) struct TicketRefs<'a> {
    pub(crate) board: &'a Board,
    pub(crate) status: &'a BoardStatus,
    pub(crate) company: &'a Company,
    pub(crate) contact: Option<&'a Contact>,
    pub(crate) priority: Option<&'a Priority>,
    pub(crate) source: Option<&'a Source>,
    pub(crate) owner: Option<&'a Member>,
    pub(crate) has_child: bool,
}

impl Renderer<'_> {
    pub(crate) fn ticket(&self, ticket: &Ticket, refs: &TicketRefs<'_>) -> Value {
        let mut head = json!({
            "id": ticket.id,
            "summary": ticket.summary,
            "recordType": if refs.board.project_flag { "ProjectTicket" } else { "ServiceTicket" },
            "board": self.board_ref(refs.board),
            "status": self.status_ref(refs.status),
            "company": self.company_ref(refs.company),
            "siteName": "Main",
            "contact": refs.contact.map(|c| self.contact_ref(c)),
            "contactName": ticket.contact_name,
            "contactPhoneNumber": refs.contact.and(Some(refs.company.phone.clone())),
            "contactEmailAddress": ticket.contact_email,
            "type": null,
            "subType": null,
            "item": null,
            "team": {"id": 1, "name": "Service Team"},
            "owner": refs.owner.map(|m| self.member_ref(m)),
            "priority": refs.priority.map(|p| self.priority_ref(p)),
            "serviceLocation": {"id": 1, "name": "Remote"},
            "source": refs.source.map(|s| self.source_ref(s)),
            "severity": ticket.severity,
            "impact": ticket.impact,
        });
        // Two halves: one json! literal this size exceeds the macro recursion limit.
        let rest = json!({
            "allowAllClientsPortalView": false,
            "customerUpdatedFlag": false,
            "automaticEmailContactFlag": false,
            "automaticEmailResourceFlag": false,
            "automaticEmailCcFlag": false,
            "closedDate": opt_date(ticket.closed_date),
            "closedBy": ticket.closed_by,
            "closedFlag": ticket.closed_flag,
            "actualHours": ticket.actual_hours,
            "approved": true,
            "dateResolved": opt_date(ticket.closed_date),
            "isInSla": true,
            "parentTicketId": ticket.parent_ticket_id,
            "hasChildTicket": refs.has_child,
            "hasMergedChildTicketFlag": false,
            "billTime": "Billable",
            "billExpenses": "Billable",
            "billProducts": "Billable",
            "location": {"id": 2, "name": "Main"},
            "department": {"id": 10, "identifier": "Services", "name": "Services"},
            "requestForChangeFlag": false,
            "customFields": [],
            "_info": {
                "lastUpdated": cw_date(ticket.last_updated),
                "updatedBy": ticket.updated_by,
                "dateEntered": cw_date(ticket.date_entered),
                "enteredBy": ticket.entered_by,
                "notes_href": format!("{}/service/tickets/{}/notes", self.base, ticket.id)
            }
        });
        if let (Value::Object(head), Value::Object(rest)) = (&mut head, rest) {
            head.extend(rest);
        }
        head
    }
}
