//! [`Psa`] over ConnectWise Manage.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use serde_json::json;
use stackhand_core::{
    Assignment, Company, Contact, Error, ExecutionProof, HistoricalTicket, HistoryQuery,
    NewContact, NewNote, Note, NoteVisibility, Psa, PsaWrites, Result, TenantId, Ticket,
    TicketQuery,
};

use crate::connector::ConnectWise;
use crate::models::{
    CallbackPayload, CwBoardStatus, CwCompany, CwContact, CwNote, CwTicket, NewCwNote,
    PatchOperation, SuccessResponse, TicketBundle, condition_time, parse_time, quote,
};

/// How many tickets' notes are fetched at once when reading history.
const HISTORY_CONCURRENCY: usize = 4;
/// Contacts fetched per `id in (...)` request.
const CONTACT_BATCH: usize = 100;

/// A ConnectWise id from input. Ids go into paths only as parsed numbers, so those paths need
/// no further encoding.
fn numeric_id(id: &str, what: &str) -> Result<i64> {
    id.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            Error::invalid(format!(
                "connectwise {what} id must be a positive number, got {id:?}"
            ))
        })
}

/// Whether a status name matches, ignoring case and the `>` markers some boards use (`>Closed`).
fn same_status(a: &str, b: &str) -> bool {
    let clean = |s: &str| s.trim().trim_start_matches('>').trim().to_lowercase();
    clean(a) == clean(b)
}

fn active(status: &CwBoardStatus) -> bool {
    status.inactive != Some(true)
}

fn note_of(note: CwNote) -> Note {
    let detail = note.detail_description_flag == Some(true);
    let internal = note.internal_analysis_flag == Some(true);
    let resolution = note.resolution_flag == Some(true);
    Note {
        id: note.id.to_string(),
        text: note.text,
        // Internal analysis is for technicians; the discussion and the resolution reach the
        // customer (portal, emails).
        visibility: if internal && !detail {
            NoteVisibility::Internal
        } else {
            NoteVisibility::Customer
        },
        resolution,
        author: note
            .member
            .and_then(|m| m.identifier.or(m.name))
            .or_else(|| note.contact.and_then(|c| c.name))
            .or(note.created_by),
        created: note.date_created.as_deref().and_then(parse_time),
    }
}

fn contact_of(contact: &CwContact) -> Contact {
    Contact {
        id: contact.id.to_string(),
        name: contact.name(),
        email: contact.email(),
        company_id: contact
            .company
            .as_ref()
            .and_then(|c| c.id)
            .map(|id| id.to_string()),
        active: contact.inactive_flag != Some(true),
    }
}

fn company_of(company: &CwCompany) -> Company {
    Company {
        id: company.id.to_string(),
        identifier: company.identifier.clone(),
        name: company.name.clone(),
    }
}

impl ConnectWise {
    /// `and company/identifier="X"` when the tenant is one client company.
    async fn scope_condition(&self) -> Result<Option<String>> {
        Ok(self
            .client()
            .scope()
            .await?
            .map(|c| format!("company/identifier={}", quote(&c.identifier))))
    }

    async fn in_scope(&self, company: Option<&crate::models::Reference>) -> Result<bool> {
        Ok(match self.client().scope().await? {
            None => true,
            Some(scope) => {
                company.and_then(|c| c.id) == Some(scope.id)
                    || company
                        .and_then(|c| c.identifier.as_deref())
                        .is_some_and(|i| i.eq_ignore_ascii_case(&scope.identifier))
            }
        })
    }

    /// A ticket of this tenant; another company's ticket is reported as not found.
    async fn load_ticket(&self, id: &str) -> Result<CwTicket> {
        let number = numeric_id(id, "ticket")?;
        let ticket: CwTicket = self
            .client()
            .get_json(&format!("service/tickets/{number}"), "get_ticket")
            .await?;
        if !self.in_scope(ticket.company.as_ref()).await? {
            return Err(Error::not_found(format!(
                "connectwise ticket {number} not found for tenant {}",
                self.info.tenant
            )));
        }
        Ok(ticket)
    }

    /// Check a ticket is this tenant's without reading it when the tenant is the whole instance.
    async fn ensure_ticket(&self, id: &str) -> Result<i64> {
        let number = numeric_id(id, "ticket")?;
        if self.client().scope().await?.is_some() {
            self.load_ticket(id).await?;
        }
        Ok(number)
    }

    async fn patch_ticket(
        &self,
        id: i64,
        ops: &[PatchOperation],
        operation: &'static str,
    ) -> Result<CwTicket> {
        // Replacing fields is idempotent, so a throttled PATCH may be retried.
        self.client()
            .api()
            .await?
            .patch(&format!("service/tickets/{id}"))
            .json(ops)
            .operation(operation)
            .retry_safe()
            .send_json()
            .await
    }

    /// The ticket's description: its first Discussion note.
    async fn description(&self, id: i64) -> Result<String> {
        let first: Vec<CwNote> = self
            .client()
            .get(
                &format!("service/tickets/{id}/notes"),
                "get_ticket_description",
            )
            .await?
            .query(&[
                ("conditions", "detailDescriptionFlag=true"),
                ("orderBy", "id asc"),
                ("pageSize", "1"),
            ])
            .send_json()
            .await?;
        Ok(first.into_iter().next().map(|n| n.text).unwrap_or_default())
    }

    async fn all_notes(&self, id: i64) -> Result<Vec<CwNote>> {
        self.client()
            .list(
                &format!("service/tickets/{id}/notes"),
                &[("orderBy", "id asc".to_string())],
                "list_notes",
            )
            .await
    }

    /// The contacts of these tickets, in `id in (...)` batches.
    async fn contacts_of(&self, tickets: &[CwTicket]) -> Result<HashMap<i64, CwContact>> {
        let mut ids: Vec<i64> = tickets
            .iter()
            .filter_map(|t| t.contact.as_ref()?.id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut found = HashMap::new();
        for chunk in ids.chunks(CONTACT_BATCH) {
            let list = chunk
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let contacts: Vec<CwContact> = self
                .client()
                .list(
                    "company/contacts",
                    &[("conditions", format!("id in ({list})"))],
                    "list_contacts",
                )
                .await?;
            found.extend(contacts.into_iter().map(|c| (c.id, c)));
        }
        Ok(found)
    }

    fn ticket_of(&self, cw: &CwTicket, body: String, contact: Option<&CwContact>) -> Ticket {
        let info = cw.info.clone().unwrap_or_default();
        let created = info
            .date_entered
            .as_deref()
            .or(info.last_updated.as_deref())
            .and_then(parse_time)
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let company = cw.company.as_ref().map(|c| Company {
            id: c.id.map(|id| id.to_string()).unwrap_or_default(),
            identifier: c
                .identifier
                .clone()
                .or_else(|| c.name.clone())
                .unwrap_or_default(),
            name: c.name.clone().unwrap_or_default(),
        });
        let contact = match (contact, &cw.contact) {
            // The ticket's own address is who wrote in (ConnectWise files a mail under the
            // contact it matches by name too): a lookalike sender must not read as the contact.
            (Some(contact), _) => Some(Contact {
                email: cw
                    .contact_email_address
                    .clone()
                    .filter(|a| !a.trim().is_empty())
                    .or_else(|| contact.email()),
                ..contact_of(contact)
            }),
            (None, Some(reference)) => Some(Contact {
                id: reference.id.map(|id| id.to_string()).unwrap_or_default(),
                name: cw
                    .contact_name
                    .clone()
                    .or_else(|| reference.name.clone())
                    .unwrap_or_default(),
                email: cw.contact_email_address.clone(),
                company_id: cw
                    .company
                    .as_ref()
                    .and_then(|c| c.id)
                    .map(|id| id.to_string()),
                active: true,
            }),
            (None, None) => None,
        };
        Ticket {
            id: cw.id.to_string(),
            tenant: self.info.tenant.clone(),
            company,
            contact,
            subject: cw.summary.clone(),
            body,
            created,
            updated: info.last_updated.as_deref().and_then(parse_time),
            status: cw
                .status
                .as_ref()
                .and_then(|s| s.name.clone())
                .unwrap_or_default(),
            board: cw.board.as_ref().and_then(|b| b.name.clone()),
            priority: cw.priority.as_ref().and_then(|p| p.name.clone()),
            source: cw.source.as_ref().and_then(|s| s.name.clone()),
            closed: cw.closed_flag == Some(true),
            parent_id: cw.parent_ticket_id.map(|id| id.to_string()),
        }
    }

    async fn closed_status(&self, board_id: i64) -> Result<CwBoardStatus> {
        let statuses = self.client().board_statuses(board_id).await?;
        let closed: Vec<&CwBoardStatus> = statuses
            .iter()
            .filter(|s| s.closed_status == Some(true) && active(s))
            .collect();
        closed
            .iter()
            .find(|s| same_status(&s.name, "Closed"))
            .or_else(|| closed.first())
            .map(|s| (*s).clone())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "connectwise board {board_id} has no active closed status"
                ))
            })
    }

    fn board_id(ticket: &CwTicket) -> Result<i64> {
        ticket
            .board
            .as_ref()
            .and_then(|b| b.id)
            .ok_or_else(|| Error::invalid(format!("connectwise ticket {} has no board", ticket.id)))
    }

    async fn set_contact_inactive(&self, contact_id: &str, inactive: bool) -> Result<()> {
        let id = numeric_id(contact_id, "contact")?;
        if self.client().scope().await?.is_some() {
            let contact: CwContact = self
                .client()
                .get_json(&format!("company/contacts/{id}"), "get_contact")
                .await?;
            if !self.in_scope(contact.company.as_ref()).await? {
                return Err(Error::not_found(format!(
                    "connectwise contact {id} not found for tenant {}",
                    self.info.tenant
                )));
            }
        }
        let ops = [PatchOperation::replace("inactiveFlag", json!(inactive))];
        let _: CwContact = self
            .client()
            .api()
            .await?
            .patch(&format!("company/contacts/{id}"))
            .json(&ops)
            .operation(if inactive {
                "deactivate_contact"
            } else {
                "activate_contact"
            })
            .retry_safe()
            .send_json()
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Psa for ConnectWise {
    async fn poll_tickets(&self, query: &TicketQuery) -> Result<Vec<Ticket>> {
        let mut conditions = vec!["closedFlag=false".to_string()];
        conditions.extend(self.scope_condition().await?);
        if let Some(since) = query.since {
            conditions.push(format!("lastUpdated>{}", condition_time(since)));
        }
        let list = |names: &[String]| names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(",");
        if !query.boards.is_empty() {
            conditions.push(format!("board/name in ({})", list(&query.boards)));
        }
        if !query.statuses.is_empty() {
            conditions.push(format!("status/name in ({})", list(&query.statuses)));
        }
        let tickets: Vec<CwTicket> = self
            .client()
            .list(
                "service/tickets",
                &[
                    ("conditions", conditions.join(" and ")),
                    ("orderBy", "_info/lastUpdated asc, id asc".to_string()),
                ],
                "poll_tickets",
            )
            .await?;
        let contacts = self.contacts_of(&tickets).await?;
        let mut out = Vec::with_capacity(tickets.len());
        for ticket in &tickets {
            let body = self.description(ticket.id).await?;
            let contact = ticket.contact.as_ref().and_then(|c| contacts.get(&c.id?));
            out.push(self.ticket_of(ticket, body, contact));
        }
        Ok(out)
    }

    async fn get_ticket(&self, id: &str) -> Result<Ticket> {
        let ticket = self.load_ticket(id).await?;
        let body = self.description(ticket.id).await?;
        let contact = match ticket.contact.as_ref().and_then(|c| c.id) {
            Some(contact_id) => {
                self.client()
                    .get(&format!("company/contacts/{contact_id}"), "get_contact")
                    .await?
                    .send_json_optional::<CwContact>()
                    .await?
            }
            None => None,
        };
        Ok(self.ticket_of(&ticket, body, contact.as_ref()))
    }

    async fn history(&self, query: &HistoryQuery) -> Result<Vec<HistoricalTicket>> {
        if query.to <= query.from {
            return Err(Error::invalid("history range: `to` must be after `from`"));
        }
        let mut conditions = vec![
            "closedFlag=true".to_string(),
            format!("closedDate>={}", condition_time(query.from)),
            format!("closedDate<{}", condition_time(query.to)),
        ];
        conditions.extend(self.scope_condition().await?);
        // Forward-only paging walks ids with a cursor, so each ticket comes exactly once even
        // while tickets are closed during the read.
        let tickets: Vec<CwTicket> = self
            .client()
            .list_forward(
                "service/tickets",
                &[("conditions", conditions.join(" and "))],
                "history",
            )
            .await?;
        let contacts = self.contacts_of(&tickets).await?;
        let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
        let notes: Vec<Vec<CwNote>> = futures::stream::iter(ids)
            .map(|id| self.all_notes(id))
            .buffered(HISTORY_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(tickets
            .iter()
            .zip(notes)
            .map(|(ticket, notes)| {
                let body = notes
                    .iter()
                    .find(|n| n.detail_description_flag == Some(true))
                    .map(|n| n.text.clone())
                    .unwrap_or_default();
                let resolution: Vec<&str> = notes
                    .iter()
                    .filter(|n| n.resolution_flag == Some(true))
                    .map(|n| n.text.as_str())
                    .collect();
                let contact = ticket.contact.as_ref().and_then(|c| contacts.get(&c.id?));
                HistoricalTicket {
                    ticket: self.ticket_of(ticket, body, contact),
                    resolution: (!resolution.is_empty()).then(|| resolution.join("\n\n")),
                    closed_at: ticket.closed_date.as_deref().and_then(parse_time),
                    notes: notes.into_iter().map(note_of).collect(),
                }
            })
            .collect())
    }

    async fn notes(&self, ticket_id: &str) -> Result<Vec<Note>> {
        let id = self.ensure_ticket(ticket_id).await?;
        Ok(self.all_notes(id).await?.into_iter().map(note_of).collect())
    }

    async fn find_contact(&self, email: &str) -> Result<Option<Contact>> {
        let email = email.trim();
        if !email.contains('@') {
            return Err(Error::invalid(format!("{email:?} is not an email address")));
        }
        let mut query = vec![(
            "childConditions",
            format!(
                "communicationItems/value={} AND communicationItems/communicationType=\"Email\"",
                quote(email)
            ),
        )];
        if let Some(scope) = self.client().scope().await? {
            query.push(("conditions", format!("company/id={}", scope.id)));
        }
        let contacts: Vec<CwContact> = self
            .client()
            .list("company/contacts", &query, "find_contact")
            .await?;
        // An inactive former employee may share the address with the current contact.
        let best = contacts
            .iter()
            .find(|c| c.inactive_flag != Some(true))
            .or_else(|| contacts.first());
        Ok(best.map(contact_of))
    }

    async fn find_company(&self, identifier: &str) -> Result<Option<Company>> {
        let identifier = identifier.trim();
        if identifier.is_empty() {
            return Err(Error::invalid("a company identifier or name is needed"));
        }
        let conditions = format!(
            "(identifier={q} or name={q}) and deletedFlag=false",
            q = quote(identifier)
        );
        let companies: Vec<CwCompany> = self
            .client()
            .list(
                "company/companies",
                &[
                    ("conditions", conditions),
                    ("fields", "id,identifier,name,deletedFlag".to_string()),
                ],
                "find_company",
            )
            .await?;
        let scope = self.client().scope().await?;
        let best = companies
            .iter()
            .filter(|c| scope.is_none_or(|s| s.id == c.id))
            .max_by_key(|c| c.identifier.eq_ignore_ascii_case(identifier));
        Ok(best.map(company_of))
    }

    fn parse_callback(&self, tenant: &TenantId, payload: &serde_json::Value) -> Result<Ticket> {
        if tenant != &self.info.tenant {
            return Err(Error::invalid(format!(
                "callback for tenant {tenant} reached the connector of tenant {}",
                self.info.tenant
            )));
        }
        let callback: CallbackPayload = serde_json::from_value(payload.clone()).map_err(|e| {
            Error::invalid(format!(
                "not a ConnectWise callback (Action, Type, ID, Entity): {e}"
            ))
        })?;
        if !callback.kind.eq_ignore_ascii_case("ticket") {
            return Err(Error::invalid(format!(
                "ConnectWise callback is for a {}, not a ticket",
                callback.kind
            )));
        }
        let entity = callback
            .entity
            .as_deref()
            .filter(|e| !e.trim().is_empty() && e.trim() != "null")
            .ok_or_else(|| {
                Error::invalid(format!(
                    "ConnectWise callback {} of ticket {} carries no Entity",
                    callback.action, callback.id
                ))
            })?;
        let ticket: CwTicket = serde_json::from_str(entity).map_err(|e| {
            Error::invalid(format!("ConnectWise callback Entity is not a ticket: {e}"))
        })?;
        if ticket.id != callback.id {
            return Err(Error::invalid(format!(
                "ConnectWise callback ID {} does not match its Entity id {}",
                callback.id, ticket.id
            )));
        }
        // The scope is only known after a lookup; a callback is checked against the configured
        // identifier directly so parsing stays synchronous.
        if let Some(identifier) = self.client().config().company_identifier.as_deref() {
            let company = ticket
                .company
                .as_ref()
                .and_then(|c| c.identifier.as_deref());
            if !company.is_some_and(|c| c.eq_ignore_ascii_case(identifier)) {
                return Err(Error::forbidden(format!(
                    "ConnectWise callback for ticket {} is for company {}, not tenant {}'s {identifier}",
                    ticket.id,
                    company.unwrap_or("(none)"),
                    self.info.tenant
                )));
            }
        }
        // Callbacks carry the ticket record but not its description; intake reads it with
        // get_ticket when it needs the body.
        Ok(self.ticket_of(&ticket, String::new(), None))
    }
}

#[async_trait]
impl PsaWrites for ConnectWise {
    async fn add_note(
        &self,
        _proof: &ExecutionProof<'_>,
        ticket_id: &str,
        note: &NewNote,
    ) -> Result<Note> {
        if note.text.trim().is_empty() {
            return Err(Error::invalid("a ConnectWise note needs text"));
        }
        let id = self.ensure_ticket(ticket_id).await?;
        let customer = note.visibility == NoteVisibility::Customer;
        let body = NewCwNote {
            text: &note.text,
            detail_description_flag: customer,
            internal_analysis_flag: !customer,
            resolution_flag: note.resolution,
            // Customer-visible notes go out per the board's notification rules; internal ones
            // never email anyone.
            process_notifications: customer,
        };
        let created: CwNote = self
            .client()
            .api()
            .await?
            .post(&format!("service/tickets/{id}/notes"))
            .json(&body)
            .operation("add_note")
            .send_json()
            .await?;
        Ok(note_of(created))
    }

    async fn set_status(
        &self,
        _proof: &ExecutionProof<'_>,
        ticket_id: &str,
        status: &str,
    ) -> Result<()> {
        let ticket = self.load_ticket(ticket_id).await?;
        let board_id = Self::board_id(&ticket)?;
        let statuses = self.client().board_statuses(board_id).await?;
        let target = statuses
            .iter()
            .find(|s| active(s) && same_status(&s.name, status))
            .ok_or_else(|| {
                let names: Vec<&str> = statuses
                    .iter()
                    .filter(|s| active(s))
                    .map(|s| s.name.as_str())
                    .collect();
                Error::invalid(format!(
                    "connectwise board {board_id} has no status {status:?}; it has: {}",
                    names.join(", ")
                ))
            })?;
        if ticket.status.as_ref().and_then(|s| s.id) == Some(target.id) {
            return Ok(());
        }
        self.patch_ticket(
            ticket.id,
            &[PatchOperation::replace("status", json!({"id": target.id}))],
            "set_status",
        )
        .await
        .map(drop)
    }

    async fn close(
        &self,
        proof: &ExecutionProof<'_>,
        ticket_id: &str,
        resolution: Option<&str>,
    ) -> Result<()> {
        let ticket = self.load_ticket(ticket_id).await?;
        if ticket.closed_flag == Some(true) {
            return Ok(());
        }
        let board_id = Self::board_id(&ticket)?;
        let closed = self.closed_status(board_id).await?;
        // Boards whose workflow demands a resolution refuse the closed status until one exists.
        if let Some(text) = resolution.filter(|t| !t.trim().is_empty()) {
            self.add_note(
                proof,
                ticket_id,
                &NewNote {
                    text: text.to_string(),
                    visibility: NoteVisibility::Customer,
                    resolution: true,
                },
            )
            .await?;
        }
        self.patch_ticket(
            ticket.id,
            &[PatchOperation::replace("status", json!({"id": closed.id}))],
            "close_ticket",
        )
        .await
        .map(drop)
    }

    async fn reassign(
        &self,
        _proof: &ExecutionProof<'_>,
        ticket_id: &str,
        assignment: &Assignment,
    ) -> Result<()> {
        let ticket = self.load_ticket(ticket_id).await?;
        let mut ops = Vec::new();
        if let Some(board_name) = assignment.board.as_deref().filter(|b| !b.trim().is_empty()) {
            let board = self.client().board_by_name(board_name).await?;
            if ticket.board.as_ref().and_then(|b| b.id) != Some(board.id) {
                // Statuses belong to boards: carry the status over by name, else the new
                // board's default.
                let statuses = self.client().board_statuses(board.id).await?;
                let current = ticket
                    .status
                    .as_ref()
                    .and_then(|s| s.name.clone())
                    .unwrap_or_default();
                let status = statuses
                    .iter()
                    .filter(|s| active(s) && s.closed_status != Some(true))
                    .find(|s| same_status(&s.name, &current))
                    .or_else(|| {
                        statuses
                            .iter()
                            .find(|s| active(s) && s.default_flag == Some(true))
                    })
                    .or_else(|| {
                        statuses
                            .iter()
                            .find(|s| active(s) && s.closed_status != Some(true))
                    })
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "connectwise board {board_name:?} has no open status"
                        ))
                    })?;
                ops.push(PatchOperation::replace("board", json!({"id": board.id})));
                ops.push(PatchOperation::replace("status", json!({"id": status.id})));
            }
        }
        if let Some(member) = assignment
            .member
            .as_deref()
            .filter(|m| !m.trim().is_empty())
        {
            ops.push(PatchOperation::replace(
                "owner",
                json!({"identifier": member}),
            ));
        }
        if assignment.board.is_none() && assignment.member.is_none() {
            return Err(Error::invalid(
                "a reassignment names a board, a member, or both",
            ));
        }
        if ops.is_empty() {
            return Ok(());
        }
        self.patch_ticket(ticket.id, &ops, "reassign")
            .await
            .map(drop)
    }

    async fn create_contact(
        &self,
        _proof: &ExecutionProof<'_>,
        contact: &NewContact,
    ) -> Result<Contact> {
        let company_id = numeric_id(&contact.company_id, "company")?;
        if let Some(scope) = self.client().scope().await?
            && scope.id != company_id
        {
            return Err(Error::forbidden(format!(
                "tenant {} may only create contacts in company {}",
                self.info.tenant, scope.identifier
            )));
        }
        if contact.first_name.trim().is_empty() || !contact.email.contains('@') {
            return Err(Error::invalid(
                "a ConnectWise contact needs a first name and an email address",
            ));
        }
        let email_type = self.client().email_type_id().await?;
        let body = json!({
            "firstName": contact.first_name,
            "lastName": contact.last_name,
            "company": {"id": company_id},
            "communicationItems": [{
                "type": {"id": email_type},
                "value": contact.email,
                "communicationType": "Email",
                "defaultFlag": true
            }]
        });
        let created: CwContact = self
            .client()
            .api()
            .await?
            .post("company/contacts")
            .json(&body)
            .operation("create_contact")
            .send_json()
            .await?;
        Ok(contact_of(&created))
    }

    async fn deactivate_contact(
        &self,
        _proof: &ExecutionProof<'_>,
        contact_id: &str,
    ) -> Result<()> {
        self.set_contact_inactive(contact_id, true).await
    }

    async fn activate_contact(&self, _proof: &ExecutionProof<'_>, contact_id: &str) -> Result<()> {
        self.set_contact_inactive(contact_id, false).await
    }

    async fn link_to_parent(
        &self,
        _proof: &ExecutionProof<'_>,
        child_id: &str,
        parent_id: &str,
    ) -> Result<()> {
        let (child_number, parent_number) = (
            numeric_id(child_id, "ticket")?,
            numeric_id(parent_id, "ticket")?,
        );
        if child_number == parent_number {
            return Err(Error::invalid(format!(
                "connectwise: ticket {child_number} cannot be its own parent"
            )));
        }
        let child = self.load_ticket(child_id).await?;
        // The parent is read too: it must exist and be this tenant's.
        let parent = self.load_ticket(parent_id).await?;
        if child.parent_ticket_id == Some(parent.id) {
            return Ok(());
        }
        // ConnectWise bundles children under a parent; `parentTicketId` is not patchable.
        // Bundling the same child under the same parent again leaves the same state, so the
        // request is retried after a temporary failure like an idempotent one.
        let answer: SuccessResponse = self
            .client()
            .api()
            .await?
            .post(&format!("service/tickets/{}/attachChildren", parent.id))
            .json(&TicketBundle {
                child_ticket_ids: vec![child.id],
            })
            .operation("link_to_parent")
            .retry_safe()
            .send_json()
            .await?;
        if answer.success == Some(false) {
            return Err(Error::permanent(format!(
                "connectwise did not attach ticket {} to parent {}: {}",
                child.id,
                parent.id,
                answer
                    .message
                    .as_deref()
                    .filter(|m| !m.trim().is_empty())
                    .unwrap_or("it answered success=false without a message")
            )));
        }
        Ok(())
    }
}
