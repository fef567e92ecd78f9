//! [`Psa`] over Autotask: intake, history, notes, status, close, reassign, contacts,
//! companies and incident linking through problem tickets.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use serde_json::{Value, json};
use stackhand_core::{
    Assignment, BuildContext, Company, Contact, Error, ExecutionProof, HistoricalTicket,
    HistoryQuery, NewContact, NewNote, Note, Psa, PsaWrites, Result, Ticket, TicketQuery,
};
use tokio::sync::{OnceCell, RwLock};

use crate::client::{AutotaskClient, Credentials};
use crate::config::AutotaskConfig;
use crate::models::{self, filter};
use crate::picklist::Picklists;

/// The title of the note that carries a ticket's resolution.
pub(crate) const RESOLUTION_TITLE: &str = "Resolution";

/// Ids per `in` filter: well under Autotask's 500 conditions per call.
const IDS_PER_QUERY: usize = 200;

/// Longest note title written (the field holds 250).
const TITLE_CHARS: usize = 100;

/// Longest note text (`description` holds 32,000).
const NOTE_CHARS: usize = 32_000;

/// The connector's state: configuration, the lazily connected client and the picklist cache.
#[derive(Debug)]
pub(crate) struct Autotask {
    /// The context it was built in: its tenant, and the host's HTTP services for the client
    /// made once the zone is known.
    ctx: BuildContext,
    pub(crate) config: AutotaskConfig,
    credentials: Credentials,
    client: OnceCell<AutotaskClient>,
    picklists: RwLock<Option<Arc<Picklists>>>,
}

fn parse_id(what: &str, id: &str) -> Result<i64> {
    id.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            Error::invalid(format!(
                "autotask: {what} id {id:?} is not a positive integer"
            ))
        })
}

fn contact(c: models::Contact) -> Contact {
    let name = [c.first_name.as_deref(), c.last_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Contact {
        id: c.id.to_string(),
        name,
        email: c.email_address,
        company_id: c.company_id.map(|id| id.to_string()),
        active: c.is_active == Some(1),
    }
}

fn company(c: models::Company) -> Company {
    let name = c.company_name.unwrap_or_default();
    Company {
        id: c.id.to_string(),
        identifier: c
            .company_number
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| name.clone()),
        name,
    }
}

/// A note title from its text: the first line, shortened.
fn title_for(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("Note");
    if line.chars().count() <= TITLE_CHARS {
        return line.to_string();
    }
    let mut short: String = line.chars().take(TITLE_CHARS - 1).collect();
    short.push('…');
    short
}

impl Autotask {
    /// The state of a connector built in `ctx`. With a configured zone the client is made now
    /// (it makes no request); otherwise the zone is discovered on first use.
    pub(crate) fn new(
        ctx: BuildContext,
        config: AutotaskConfig,
        credentials: Credentials,
    ) -> Result<Self> {
        let client = match &config.base_url {
            Some(url) => OnceCell::new_with(Some(AutotaskClient::for_zone(
                &ctx,
                url,
                &config,
                &credentials,
            )?)),
            None => OnceCell::new(),
        };
        Ok(Self {
            ctx,
            config,
            credentials,
            client,
            picklists: RwLock::new(None),
        })
    }

    /// The client, connecting (and discovering the zone) on first use.
    pub(crate) async fn client(&self) -> Result<&AutotaskClient> {
        self.client
            .get_or_try_init(|| AutotaskClient::connect(&self.ctx, &self.config, &self.credentials))
            .await
    }

    /// The cached picklists, read on first use.
    async fn picklists(&self) -> Result<Arc<Picklists>> {
        if let Some(cached) = self.picklists.read().await.as_ref() {
            return Ok(cached.clone());
        }
        self.reload_picklists().await
    }

    async fn reload_picklists(&self) -> Result<Arc<Picklists>> {
        let fresh = Arc::new(Picklists::load(self.client().await?).await?);
        *self.picklists.write().await = Some(fresh.clone());
        Ok(fresh)
    }

    /// Resolve labels through the cache, re-reading the picklists once when a label is
    /// unknown (an admin may have added it since).
    async fn resolve<T, F>(&self, lookup: F) -> Result<T>
    where
        F: Fn(&Picklists) -> Result<T>,
    {
        let cached = self.picklists().await?;
        match lookup(&cached) {
            Ok(value) => Ok(value),
            Err(_) => lookup(&*self.reload_picklists().await?),
        }
    }

    fn scope(&self) -> Option<Value> {
        self.config
            .company_id
            .map(|company| filter::eq("companyID", company))
    }

    fn in_scope(&self, company: Option<i64>) -> bool {
        self.config
            .company_id
            .is_none_or(|scope| company == Some(scope))
    }

    fn complete_status(&self, picklists: &Picklists) -> Result<i64> {
        picklists
            .ticket("status")?
            .require(&self.config.complete_status)
    }

    /// A ticket by id or ticket number, inside this tenant's company.
    async fn raw_ticket(&self, id: &str) -> Result<models::Ticket> {
        let client = self.client().await?;
        let found = if id.trim().starts_with(['T', 't']) {
            let mut filters = vec![filter::eq("ticketNumber", id.trim())];
            filters.extend(self.scope());
            client
                .query::<models::Ticket>("Tickets", filters, "find_ticket")
                .await?
                .into_iter()
                .next()
        } else {
            client
                .get::<models::Ticket>("Tickets", parse_id("ticket", id)?, "get_ticket")
                .await?
        };
        found
            .filter(|t| self.in_scope(t.company_id))
            .ok_or_else(|| Error::not_found(format!("autotask: ticket {id} not found")))
    }

    async fn by_ids<T: serde::de::DeserializeOwned>(
        &self,
        entity: &str,
        ids: impl IntoIterator<Item = i64>,
        id_of: impl Fn(&T) -> i64,
        operation: &'static str,
    ) -> Result<HashMap<i64, T>> {
        let ids: Vec<i64> = ids
            .into_iter()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let client = self.client().await?;
        let mut out = HashMap::new();
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let records: Vec<T> = client
                .query(entity, vec![filter::is_in("id", chunk)], operation)
                .await?;
            out.extend(records.into_iter().map(|r| (id_of(&r), r)));
        }
        Ok(out)
    }

    /// Normalise tickets, reading their companies and contacts in batches.
    async fn normalise(&self, tickets: Vec<models::Ticket>) -> Result<Vec<Ticket>> {
        let picklists = self.picklists().await?;
        let complete = self.complete_status(&picklists)?;
        let companies = self
            .by_ids::<models::Company>(
                "Companies",
                tickets.iter().filter_map(|t| t.company_id),
                |c| c.id,
                "ticket_companies",
            )
            .await?;
        let contacts = self
            .by_ids::<models::Contact>(
                "Contacts",
                tickets.iter().filter_map(|t| t.contact_id),
                |c| c.id,
                "ticket_contacts",
            )
            .await?;
        Ok(tickets
            .into_iter()
            .map(|t| {
                let label = |field: &str, value| picklists.ticket_label(field, value);
                Ticket {
                    id: t.id.to_string(),
                    tenant: self.ctx.tenant().clone(),
                    company: t
                        .company_id
                        .and_then(|id| companies.get(&id).cloned())
                        .map(company),
                    contact: t
                        .contact_id
                        .and_then(|id| contacts.get(&id).cloned())
                        .map(contact),
                    subject: t.title.clone().unwrap_or_default(),
                    body: t.description.clone().unwrap_or_default(),
                    created: t.create_date.unwrap_or_else(Utc::now),
                    updated: t.last_activity_date,
                    status: label("status", t.status).unwrap_or_default(),
                    board: label("queueID", t.queue_id),
                    priority: label("priority", t.priority),
                    source: label("source", t.source),
                    closed: t.status == Some(complete),
                    parent_id: t.problem_ticket_id.map(|id| id.to_string()),
                }
            })
            .collect())
    }

    fn note(&self, n: models::TicketNote, picklists: &Picklists) -> Note {
        Note {
            id: n.id.to_string(),
            visibility: picklists.visibility(n.publish),
            resolution: n
                .title
                .as_deref()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(RESOLUTION_TITLE)),
            text: n.description.unwrap_or_default(),
            author: n.creator_resource_id.map(|id| id.to_string()),
            created: n.create_date_time,
        }
    }

    async fn patch_ticket(&self, body: Value, operation: &'static str) -> Result<()> {
        self.client()
            .await?
            .update("Tickets", &body, operation)
            .await
            .map(|_| ())
    }

    async fn set_contact_active(&self, contact_id: &str, active: bool) -> Result<()> {
        let client = self.client().await?;
        let id = parse_id("contact", contact_id)?;
        let found = client
            .get::<models::Contact>("Contacts", id, "get_contact")
            .await?
            .filter(|c| self.in_scope(c.company_id))
            .ok_or_else(|| Error::not_found(format!("autotask: contact {contact_id} not found")))?;
        let company = found.company_id.ok_or_else(|| {
            Error::permanent(format!("autotask: contact {contact_id} has no company"))
        })?;
        client
            .update(
                &format!("Companies/{company}/Contacts"),
                &json!({ "id": id, "isActive": i64::from(active) }),
                if active {
                    "activate_contact"
                } else {
                    "deactivate_contact"
                },
            )
            .await
            .map(|_| ())
    }

    /// Create a Problem ticket for `company` (or the configured company); its id. A write, so
    /// it takes the engine's proof like every other.
    pub(crate) async fn create_problem_ticket(
        &self,
        _proof: &ExecutionProof<'_>,
        company: Option<i64>,
        title: &str,
        description: &str,
    ) -> Result<i64> {
        let company = match (self.config.company_id, company) {
            (Some(scope), Some(given)) if scope != given => {
                return Err(Error::forbidden(format!(
                    "autotask: company {given} is outside this tenant's company {scope}"
                )));
            }
            (Some(scope), _) => scope,
            (None, Some(given)) => given,
            (None, None) => {
                return Err(Error::invalid(
                    "autotask: a problem ticket needs a company (set company_id)",
                ));
            }
        };
        let picklists = self.picklists().await?;
        let tickets = |field: &str| picklists.ticket(field);
        let status = tickets("status")?
            .default_value()
            .ok_or_else(|| Error::invalid("autotask: the status picklist has no default"))?;
        let priority = tickets("priority")?
            .default_value()
            .ok_or_else(|| Error::invalid("autotask: the priority picklist has no default"))?;
        let problem = tickets("ticketType")?.require("Problem")?;
        let mut body = json!({
            "companyID": company,
            "title": title,
            "description": description,
            "status": status,
            "priority": priority,
            "ticketType": problem,
        });
        if let Some(queue) = tickets("queueID")?.default_value() {
            body["queueID"] = json!(queue);
        }
        self.client()
            .await?
            .create("Tickets", &body, "create_problem_ticket")
            .await
    }

    /// The ticket as read back, for action plans and outcomes.
    pub(crate) async fn ticket_state(&self, id: &str) -> Result<models::Ticket> {
        self.raw_ticket(id).await
    }
}

#[async_trait]
impl Psa for Autotask {
    async fn poll_tickets(&self, query: &TicketQuery) -> Result<Vec<Ticket>> {
        let mut filters: Vec<Value> = self.scope().into_iter().collect();
        let picklist_filters = self
            .resolve(|picklists| {
                let mut filters = Vec::new();
                if query.statuses.is_empty() {
                    filters.push(filter::cmp(
                        "noteq",
                        "status",
                        self.complete_status(picklists)?,
                    ));
                } else {
                    let statuses = query
                        .statuses
                        .iter()
                        .map(|s| picklists.ticket("status")?.require(s))
                        .collect::<Result<Vec<_>>>()?;
                    filters.push(filter::is_in("status", &statuses));
                }
                if !query.boards.is_empty() {
                    let queues = query
                        .boards
                        .iter()
                        .map(|b| picklists.ticket("queueID")?.require(b))
                        .collect::<Result<Vec<_>>>()?;
                    filters.push(filter::is_in("queueID", &queues));
                }
                Ok(filters)
            })
            .await?;
        filters.extend(picklist_filters);
        if let Some(since) = query.since {
            filters.push(filter::cmp(
                "gt",
                "lastActivityDate",
                filter::timestamp(since),
            ));
        }
        let mut tickets: Vec<models::Ticket> = self
            .client()
            .await?
            .query("Tickets", filters, "poll_tickets")
            .await?;
        tickets.sort_by_key(|t| (t.last_activity_date.or(t.create_date), t.id));
        self.normalise(tickets).await
    }

    async fn get_ticket(&self, id: &str) -> Result<Ticket> {
        let ticket = self.raw_ticket(id).await?;
        Ok(self.normalise(vec![ticket]).await?.remove(0))
    }

    async fn history(&self, query: &HistoryQuery) -> Result<Vec<HistoricalTicket>> {
        if query.from >= query.to {
            return Err(Error::invalid(format!(
                "autotask history: from ({}) must be before to ({})",
                query.from, query.to
            )));
        }
        let picklists = self.picklists().await?;
        let mut filters: Vec<Value> = self.scope().into_iter().collect();
        filters.push(filter::eq("status", self.complete_status(&picklists)?));
        filters.push(filter::cmp(
            "gte",
            "completedDate",
            filter::timestamp(query.from),
        ));
        filters.push(filter::cmp(
            "lt",
            "completedDate",
            filter::timestamp(query.to),
        ));
        let client = self.client().await?;
        let mut seen = HashSet::new();
        let closed: Vec<models::Ticket> = client
            .query::<models::Ticket>("Tickets", filters, "history")
            .await?
            .into_iter()
            .filter(|t| seen.insert(t.id))
            .collect();
        let mut notes: HashMap<i64, Vec<models::TicketNote>> = HashMap::new();
        let ids: Vec<i64> = closed.iter().map(|t| t.id).collect();
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let page: Vec<models::TicketNote> = client
                .query(
                    "TicketNotes",
                    vec![filter::is_in("ticketID", chunk)],
                    "history_notes",
                )
                .await?;
            for note in page {
                if let Some(ticket) = note.ticket_id {
                    notes.entry(ticket).or_default().push(note);
                }
            }
        }
        let details: Vec<(i64, Option<String>, Option<chrono::DateTime<Utc>>)> = closed
            .iter()
            .map(|t| (t.id, t.resolution.clone(), t.completed_date))
            .collect();
        let tickets = self.normalise(closed).await?;
        Ok(tickets
            .into_iter()
            .zip(details)
            .map(|(ticket, (id, resolution, closed_at))| {
                let mut ticket_notes = notes.remove(&id).unwrap_or_default();
                ticket_notes.sort_by_key(|n| (n.create_date_time, n.id));
                HistoricalTicket {
                    ticket,
                    notes: ticket_notes
                        .into_iter()
                        .map(|n| self.note(n, &picklists))
                        .collect(),
                    resolution: resolution.filter(|r| !r.trim().is_empty()),
                    closed_at,
                }
            })
            .collect())
    }

    async fn notes(&self, ticket_id: &str) -> Result<Vec<Note>> {
        let ticket = self.raw_ticket(ticket_id).await?;
        let picklists = self.picklists().await?;
        let mut notes: Vec<models::TicketNote> = self
            .client()
            .await?
            .query(
                "TicketNotes",
                vec![filter::eq("ticketID", ticket.id)],
                "notes",
            )
            .await?;
        notes.sort_by_key(|n| (n.create_date_time, n.id));
        Ok(notes
            .into_iter()
            .map(|n| self.note(n, &picklists))
            .collect())
    }

    async fn find_contact(&self, email: &str) -> Result<Option<Contact>> {
        let email = email.trim();
        if email.is_empty() {
            return Err(Error::invalid("autotask find_contact: the email is empty"));
        }
        let mut filters = vec![filter::eq("emailAddress", email)];
        filters.extend(self.scope());
        let mut found: Vec<models::Contact> = self
            .client()
            .await?
            .query("Contacts", filters, "find_contact")
            .await?;
        // Prefer an active contact when an address was reused.
        found.sort_by_key(|c| (c.is_active != Some(1), c.id));
        Ok(found.into_iter().next().map(contact))
    }

    async fn find_company(&self, identifier: &str) -> Result<Option<Company>> {
        let identifier = identifier.trim();
        if identifier.is_empty() {
            return Err(Error::invalid(
                "autotask find_company: the identifier is empty",
            ));
        }
        let client = self.client().await?;
        let found = match identifier.parse::<i64>() {
            Ok(id) => {
                client
                    .get::<models::Company>("Companies", id, "get_company")
                    .await?
            }
            Err(_) => client
                .query::<models::Company>(
                    "Companies",
                    vec![filter::or(vec![
                        filter::eq("companyNumber", identifier),
                        filter::eq("companyName", identifier),
                    ])],
                    "find_company",
                )
                .await?
                .into_iter()
                .next(),
        };
        Ok(found.filter(|c| self.in_scope(Some(c.id))).map(company))
    }
}

#[async_trait]
impl PsaWrites for Autotask {
    async fn add_note(
        &self,
        _proof: &ExecutionProof<'_>,
        ticket_id: &str,
        note: &NewNote,
    ) -> Result<Note> {
        let text = note.text.trim();
        if text.is_empty() {
            return Err(Error::invalid("autotask add_note: the note text is empty"));
        }
        if text.chars().count() > NOTE_CHARS {
            return Err(Error::invalid(format!(
                "autotask add_note: the note is longer than {NOTE_CHARS} characters"
            )));
        }
        let ticket = self.raw_ticket(ticket_id).await?;
        let publish = self.resolve(|p| p.publish(note.visibility)).await?;
        let note_type = self
            .resolve(|p| p.note_type(self.config.note_type.as_deref()))
            .await?;
        let title = if note.resolution {
            RESOLUTION_TITLE.to_string()
        } else {
            title_for(text)
        };
        let client = self.client().await?;
        let id = client
            .create(
                &format!("Tickets/{}/Notes", ticket.id),
                &models::NewTicketNote {
                    ticket_id: ticket.id,
                    title: &title,
                    description: text,
                    note_type,
                    publish,
                },
                "add_note",
            )
            .await?;
        if note.resolution {
            self.patch_ticket(
                json!({ "id": ticket.id, "resolution": text }),
                "set_resolution",
            )
            .await?;
        }
        Ok(Note {
            id: id.to_string(),
            text: text.to_string(),
            visibility: note.visibility,
            resolution: note.resolution,
            author: self.config.impersonation_resource_id.map(|r| r.to_string()),
            created: None,
        })
    }

    async fn set_status(
        &self,
        proof: &ExecutionProof<'_>,
        ticket_id: &str,
        status: &str,
    ) -> Result<()> {
        if status
            .trim()
            .eq_ignore_ascii_case(self.config.complete_status.trim())
        {
            return self.close(proof, ticket_id, None).await;
        }
        let ticket = self.raw_ticket(ticket_id).await?;
        let value = self
            .resolve(|p| p.ticket("status")?.require(status))
            .await?;
        self.patch_ticket(json!({ "id": ticket.id, "status": value }), "set_status")
            .await
    }

    async fn close(
        &self,
        _proof: &ExecutionProof<'_>,
        ticket_id: &str,
        resolution: Option<&str>,
    ) -> Result<()> {
        let ticket = self.raw_ticket(ticket_id).await?;
        let complete = self.resolve(|p| self.complete_status(p)).await?;
        if ticket.status == Some(complete) {
            return Ok(());
        }
        // One PATCH: the resolution lands with (and before the API checks) the status, so a
        // workflow that demands a resolution to complete is satisfied.
        let mut body = json!({ "id": ticket.id, "status": complete });
        if let Some(resolution) = resolution.map(str::trim).filter(|r| !r.is_empty()) {
            body["resolution"] = json!(resolution);
        }
        self.patch_ticket(body, "close").await
    }

    async fn reassign(
        &self,
        _proof: &ExecutionProof<'_>,
        ticket_id: &str,
        assignment: &Assignment,
    ) -> Result<()> {
        if assignment.board.is_none() && assignment.member.is_none() {
            return Err(Error::invalid(
                "autotask reassign: give a queue (board), a member, or both",
            ));
        }
        let ticket = self.raw_ticket(ticket_id).await?;
        let mut body = json!({ "id": ticket.id });
        if let Some(queue) = &assignment.board {
            body["queueID"] = json!(
                self.resolve(|p| p.ticket("queueID")?.require(queue))
                    .await?
            );
        }
        if let Some(member) = &assignment.member {
            let client = self.client().await?;
            let resource = match member.trim().parse::<i64>() {
                Ok(id) => {
                    client
                        .get::<models::Resource>("Resources", id, "get_resource")
                        .await?
                }
                Err(_) => client
                    .query::<models::Resource>(
                        "Resources",
                        vec![filter::or(vec![
                            filter::eq("userName", member.trim()),
                            filter::eq("email", member.trim()),
                        ])],
                        "find_resource",
                    )
                    .await?
                    .into_iter()
                    .next(),
            }
            .filter(|r| r.is_active != Some(false))
            .ok_or_else(|| {
                Error::not_found(format!("autotask reassign: no active resource {member:?}"))
            })?;
            let role = resource.default_service_desk_role_id.ok_or_else(|| {
                Error::invalid(format!(
                    "autotask reassign: resource {member:?} has no default service desk role"
                ))
            })?;
            body["assignedResourceID"] = json!(resource.id);
            body["assignedResourceRoleID"] = json!(role);
        }
        self.patch_ticket(body, "reassign").await
    }

    async fn create_contact(
        &self,
        _proof: &ExecutionProof<'_>,
        new: &NewContact,
    ) -> Result<Contact> {
        let company = parse_id("company", &new.company_id)?;
        if !self.in_scope(Some(company)) {
            return Err(Error::forbidden(format!(
                "autotask create_contact: company {company} is outside this tenant"
            )));
        }
        for (field, value) in [
            ("first_name", &new.first_name),
            ("last_name", &new.last_name),
            ("email", &new.email),
        ] {
            if value.trim().is_empty() {
                return Err(Error::invalid(format!(
                    "autotask create_contact: {field} is empty"
                )));
            }
        }
        let client = self.client().await?;
        let id = client
            .create(
                &format!("Companies/{company}/Contacts"),
                &models::NewContact {
                    company_id: company,
                    first_name: new.first_name.trim(),
                    last_name: new.last_name.trim(),
                    email_address: new.email.trim(),
                    is_active: 1,
                },
                "create_contact",
            )
            .await?;
        client
            .get::<models::Contact>("Contacts", id, "get_contact")
            .await?
            .map(contact)
            .ok_or_else(|| {
                Error::permanent(format!(
                    "autotask create_contact: contact {id} was created but cannot be read back"
                ))
            })
    }

    async fn deactivate_contact(
        &self,
        _proof: &ExecutionProof<'_>,
        contact_id: &str,
    ) -> Result<()> {
        self.set_contact_active(contact_id, false).await
    }

    async fn activate_contact(&self, _proof: &ExecutionProof<'_>, contact_id: &str) -> Result<()> {
        self.set_contact_active(contact_id, true).await
    }

    async fn link_to_parent(
        &self,
        _proof: &ExecutionProof<'_>,
        child_id: &str,
        parent_id: &str,
    ) -> Result<()> {
        let child = self.raw_ticket(child_id).await?;
        let parent = self.raw_ticket(parent_id).await?;
        if child.id == parent.id {
            return Err(Error::invalid(
                "autotask: a ticket cannot be its own parent",
            ));
        }
        let problem = self
            .resolve(|p| p.ticket("ticketType")?.require("Problem"))
            .await?;
        let incident = self
            .resolve(|p| p.ticket("ticketType")?.require("Incident"))
            .await?;
        if child.ticket_type == Some(problem) {
            return Err(Error::invalid(format!(
                "autotask: ticket {} is itself a problem ticket and cannot become an incident",
                child.id
            )));
        }
        if child.problem_ticket_id == Some(parent.id) && child.ticket_type == Some(incident) {
            return Ok(());
        }
        if parent.ticket_type != Some(problem) {
            self.patch_ticket(
                json!({ "id": parent.id, "ticketType": problem }),
                "make_problem",
            )
            .await?;
        }
        self.patch_ticket(
            json!({ "id": child.id, "ticketType": incident, "problemTicketId": parent.id }),
            "link_incident",
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_titles_come_from_the_first_line() {
        assert_eq!(
            title_for("\n  Reset the password.\nMore."),
            "Reset the password."
        );
        let long = "x".repeat(300);
        let title = title_for(&long);
        assert_eq!(title.chars().count(), TITLE_CHARS);
        assert!(title.ends_with('…'));
    }

    #[test]
    fn ids_must_be_positive_integers() {
        assert_eq!(parse_id("ticket", " 42 ").unwrap(), 42);
        let err = parse_id("ticket", "abc").unwrap_err();
        assert!(err.message().contains("ticket id \"abc\""), "{err}");
        assert!(parse_id("ticket", "-1").is_err());
    }
}
