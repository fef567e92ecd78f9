//! The simulator's state and the business rules ConnectWise applies to writes.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{Value, json};

use super::model::{
    Board, BoardStatus, CommunicationItem, CommunicationType, Company, Contact, Member, Note,
    Priority, Renderer, Source, Ticket, TicketRefs,
};

/// A failure in ConnectWise's error envelope
/// (`{"code","message","errors":[{"code","message","resource","field"}]}`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) errors: Vec<Value>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            errors: Vec::new(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    pub(crate) fn not_found(resource: &str, id: i64) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{resource} with id {id} was not found."),
        )
    }

    /// A validation failure on one field of one resource (`InvalidObject` with one error).
    pub(crate) fn invalid(
        resource: &str,
        code: &'static str,
        field: &str,
        message: impl Into<String>,
    ) -> Self {
        let message = message.into();
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "InvalidObject",
            message: format!("{resource} object is invalid"),
            errors: vec![json!({
                "code": code,
                "message": message,
                "resource": resource,
                "field": field
            })],
        }
    }

    pub(crate) fn body(&self) -> Value {
        let mut body = json!({"code": self.code, "message": self.message});
        if !self.errors.is_empty() {
            body["errors"] = Value::Array(self.errors.clone());
        }
        body
    }
}

pub(crate) type ApiResult<T> = std::result::Result<T, ApiError>;

/// Now, to the second, as ConnectWise stores times.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// Everything the simulated ConnectWise instance holds.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) boards: Vec<Board>,
    pub(crate) statuses: Vec<BoardStatus>,
    pub(crate) priorities: Vec<Priority>,
    pub(crate) sources: Vec<Source>,
    pub(crate) members: Vec<Member>,
    pub(crate) communication_types: Vec<CommunicationType>,
    pub(crate) companies: Vec<Company>,
    pub(crate) contacts: BTreeMap<i64, Contact>,
    pub(crate) tickets: BTreeMap<i64, Ticket>,
    pub(crate) notes: BTreeMap<i64, Note>,
    /// The API member whose keys the simulator accepts; writes are made in its name.
    pub(crate) api_member: String,
    pub(crate) next_ticket: i64,
    pub(crate) next_note: i64,
    pub(crate) next_contact: i64,
    pub(crate) next_item: i64,
}

/// A reference object in a write (`{"id":1}`, `{"name":"Help Desk"}`, `{"identifier":"X"}`).
fn reference(value: &Value) -> Option<(Option<i64>, Option<&str>)> {
    let object = value.as_object()?;
    Some((
        object.get("id").and_then(Value::as_i64),
        object
            .get("name")
            .or_else(|| object.get("identifier"))
            .and_then(Value::as_str),
    ))
}

impl State {
    // ---- lookups --------------------------------------------------------------------------

    pub(crate) fn board(&self, id: i64) -> Option<&Board> {
        self.boards.iter().find(|b| b.id == id)
    }

    pub(crate) fn status(&self, id: i64) -> Option<&BoardStatus> {
        self.statuses.iter().find(|s| s.id == id)
    }

    pub(crate) fn company(&self, id: i64) -> Option<&Company> {
        self.companies.iter().find(|c| c.id == id)
    }

    pub(crate) fn member(&self, id: i64) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    fn member_by_identifier(&self, identifier: &str) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| m.identifier.eq_ignore_ascii_case(identifier))
    }

    fn resolve<'a, T>(
        items: &'a [T],
        value: &Value,
        id_of: impl Fn(&T) -> i64,
        name_of: impl Fn(&T) -> &str,
    ) -> Option<&'a T> {
        let (id, name) = reference(value)?;
        match (id, name) {
            (Some(id), _) => items.iter().find(|item| id_of(item) == id),
            (None, Some(name)) => items
                .iter()
                .find(|item| name_of(item).eq_ignore_ascii_case(name)),
            (None, None) => None,
        }
    }

    fn resolve_board(&self, value: &Value, resource: &str) -> ApiResult<i64> {
        Self::resolve(&self.boards, value, |b| b.id, |b| &b.name)
            .map(|b| b.id)
            .ok_or_else(|| ApiError::invalid(resource, "InvalidField", "board", "board not found"))
    }

    fn resolve_status(&self, value: &Value, board_id: i64) -> ApiResult<i64> {
        let of_board: Vec<BoardStatus> = self
            .statuses
            .iter()
            .filter(|s| s.board_id == board_id)
            .cloned()
            .collect();
        let status = Self::resolve(&of_board, value, |s| s.id, |s| &s.name).ok_or_else(|| {
            ApiError::invalid(
                "ticket",
                "InvalidField",
                "status",
                "The status is not valid for the ticket's board.",
            )
        })?;
        if status.inactive {
            return Err(ApiError::invalid(
                "ticket",
                "InvalidField",
                "status",
                format!("Status '{}' is inactive.", status.name),
            ));
        }
        Ok(status.id)
    }

    fn resolve_company(&self, value: &Value, resource: &str) -> ApiResult<i64> {
        Self::resolve(&self.companies, value, |c| c.id, |c| &c.identifier)
            .filter(|c| !c.deleted)
            .map(|c| c.id)
            .ok_or_else(|| {
                ApiError::invalid(resource, "InvalidField", "company", "company not found")
            })
    }

    fn resolve_member(&self, value: &Value) -> ApiResult<i64> {
        let (id, identifier) = reference(value).unwrap_or((None, None));
        let member = match (id, identifier) {
            (Some(id), _) => self.member(id),
            (None, Some(identifier)) => self.member_by_identifier(identifier),
            _ => None,
        };
        member
            .map(|m| m.id)
            .ok_or_else(|| ApiError::invalid("ticket", "InvalidField", "owner", "member not found"))
    }

    fn default_status(&self, board_id: i64) -> i64 {
        self.statuses
            .iter()
            .find(|s| s.board_id == board_id && s.default_flag)
            .or_else(|| self.statuses.iter().find(|s| s.board_id == board_id))
            .map_or(0, |s| s.id)
    }

    pub(crate) fn has_resolution(&self, ticket_id: i64) -> bool {
        self.notes
            .values()
            .any(|n| n.ticket_id == ticket_id && n.resolution)
    }

    fn contact_email(&self, contact: &Contact) -> Option<String> {
        contact
            .communication_items
            .iter()
            .filter(|item| {
                self.communication_types
                    .iter()
                    .any(|t| t.id == item.type_id && t.kind == "Email")
            })
            .max_by_key(|item| item.default_flag)
            .map(|item| item.value.clone())
    }

    // ---- renderings -----------------------------------------------------------------------

    pub(crate) fn render_ticket(&self, r: &Renderer<'_>, ticket: &Ticket) -> Value {
        let board = self.board(ticket.board_id).expect("ticket board exists");
        let status = self.status(ticket.status_id).expect("ticket status exists");
        let company = self
            .company(ticket.company_id)
            .expect("ticket company exists");
        let refs = TicketRefs {
            board,
            status,
            company,
            contact: ticket.contact_id.and_then(|id| self.contacts.get(&id)),
            priority: self.priorities.iter().find(|p| p.id == ticket.priority_id),
            source: ticket
                .source_id
                .and_then(|id| self.sources.iter().find(|s| s.id == id)),
            owner: ticket.owner_id.and_then(|id| self.member(id)),
            has_child: self
                .tickets
                .values()
                .any(|t| t.parent_ticket_id == Some(ticket.id)),
        };
        r.ticket(ticket, &refs)
    }

    pub(crate) fn render_note(&self, r: &Renderer<'_>, note: &Note) -> Value {
        r.note(
            note,
            note.member_id.and_then(|id| self.member(id)),
            note.contact_id.and_then(|id| self.contacts.get(&id)),
        )
    }

    pub(crate) fn render_contact(&self, r: &Renderer<'_>, contact: &Contact) -> Value {
        r.contact(
            contact,
            contact.company_id.and_then(|id| self.company(id)),
            &self.communication_types,
        )
    }

    // ---- tickets ----------------------------------------------------------------------------

    /// `POST /service/tickets`.
    pub(crate) fn create_ticket(&mut self, body: &Value) -> ApiResult<i64> {
        let object = body
            .as_object()
            .ok_or_else(|| ApiError::bad_request("The request body must be a ticket object."))?;
        let summary = object
            .get("summary")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ApiError::invalid("ticket", "NullValue", "summary", "summary may not be null")
            })?;
        if summary.chars().count() > 100 {
            return Err(ApiError::invalid(
                "ticket",
                "InvalidField",
                "summary",
                "summary must be at most 100 characters",
            ));
        }
        let company_id = match object.get("company") {
            Some(value) if !value.is_null() => self.resolve_company(value, "ticket")?,
            _ => {
                return Err(ApiError::invalid(
                    "ticket",
                    "NullValue",
                    "company",
                    "company may not be null",
                ));
            }
        };
        let board_id = match object.get("board") {
            Some(value) if !value.is_null() => self.resolve_board(value, "ticket")?,
            _ => self.boards.first().map_or(0, |b| b.id),
        };
        let status_id = match object.get("status") {
            Some(value) if !value.is_null() => self.resolve_status(value, board_id)?,
            _ => self.default_status(board_id),
        };
        let contact = match object.get("contact") {
            Some(value) if !value.is_null() => {
                let id = reference(value).and_then(|(id, _)| id).ok_or_else(|| {
                    ApiError::invalid(
                        "ticket",
                        "InvalidField",
                        "contact",
                        "contact must be given by id",
                    )
                })?;
                Some(self.contacts.get(&id).cloned().ok_or_else(|| {
                    ApiError::invalid("ticket", "InvalidField", "contact", "contact not found")
                })?)
            }
            _ => None,
        };
        let priority_id = match object.get("priority") {
            Some(value) if !value.is_null() => {
                Self::resolve(&self.priorities, value, |p| p.id, |p| &p.name)
                    .map(|p| p.id)
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "ticket",
                            "InvalidField",
                            "priority",
                            "priority not found",
                        )
                    })?
            }
            _ => self
                .priorities
                .iter()
                .find(|p| p.sort == 3)
                .map_or(0, |p| p.id),
        };
        let source_id = match object.get("source") {
            Some(value) if !value.is_null() => Some(
                Self::resolve(&self.sources, value, |s| s.id, |s| &s.name)
                    .map(|s| s.id)
                    .ok_or_else(|| {
                        ApiError::invalid("ticket", "InvalidField", "source", "source not found")
                    })?,
            ),
            _ => None,
        };
        let owner_id = match object.get("owner") {
            Some(value) if !value.is_null() => Some(self.resolve_member(value)?),
            _ => None,
        };
        let at = now();
        let id = self.next_ticket;
        self.next_ticket += 1;
        let text_field = |name: &str| object.get(name).and_then(Value::as_str).map(str::to_string);
        let ticket = Ticket {
            id,
            summary: summary.to_string(),
            board_id,
            status_id,
            company_id,
            contact_id: contact.as_ref().map(|c| c.id),
            contact_name: text_field("contactName").or_else(|| contact.as_ref().map(Contact::name)),
            contact_email: text_field("contactEmailAddress")
                .or_else(|| contact.as_ref().and_then(|c| self.contact_email(c))),
            priority_id,
            source_id,
            owner_id,
            severity: text_field("severity").unwrap_or_else(|| "Medium".into()),
            impact: text_field("impact").unwrap_or_else(|| "Medium".into()),
            closed_flag: false,
            closed_date: None,
            closed_by: None,
            parent_ticket_id: None,
            actual_hours: 0.0,
            date_entered: at,
            entered_by: self.api_member.clone(),
            last_updated: at,
            updated_by: self.api_member.clone(),
        };
        self.tickets.insert(id, ticket);
        // The POST-only initial* fields become the ticket's first notes, as in ConnectWise.
        let initial = [
            ("initialDescription", (true, false, false)),
            ("initialInternalAnalysis", (false, true, false)),
            ("initialResolution", (false, false, true)),
        ];
        for (field, (detail, internal, resolution)) in initial {
            if let Some(text) = text_field(field).filter(|t| !t.trim().is_empty()) {
                self.push_note(id, text, detail, internal, resolution, false, at);
            }
        }
        if self.status(status_id).is_some_and(|s| s.closed_status) {
            self.apply_close(id, at)?;
        }
        Ok(id)
    }

    fn apply_close(&mut self, id: i64, at: DateTime<Utc>) -> ApiResult<()> {
        let ticket = self.tickets.get(&id).expect("ticket exists");
        let board = self.board(ticket.board_id).expect("board exists");
        if board.requires_resolution && !self.has_resolution(id) {
            return Err(ApiError::invalid(
                "ticket",
                "InvalidField",
                "status",
                format!(
                    "The {} board requires a resolution before the ticket can be closed.",
                    board.name
                ),
            ));
        }
        let api_member = self.api_member.clone();
        let ticket = self.tickets.get_mut(&id).expect("ticket exists");
        if !ticket.closed_flag {
            ticket.closed_flag = true;
            ticket.closed_date = Some(at);
            ticket.closed_by = Some(api_member);
        }
        Ok(())
    }

    /// `PATCH /service/tickets/{id}` with a JSON Patch array.
    pub(crate) fn patch_ticket(&mut self, id: i64, body: &Value) -> ApiResult<()> {
        let original = self
            .tickets
            .get(&id)
            .cloned()
            .ok_or_else(|| ApiError::not_found("ticket", id))?;
        let ops = parse_patch(body)?;
        let mut ticket = original.clone();
        let mut status_given = false;
        // Apply the board first so a status in the same patch resolves against the new board.
        let mut ordered: Vec<&PatchOp> = ops.iter().filter(|op| op.path == "board").collect();
        ordered.extend(ops.iter().filter(|op| op.path != "board"));
        for op in ordered {
            let value = &op.value;
            match (op.path.as_str(), op.op.as_str()) {
                ("board", "remove") => {
                    return Err(ApiError::invalid(
                        "ticket",
                        "NullValue",
                        "board",
                        "board may not be null",
                    ));
                }
                ("board", _) => ticket.board_id = self.resolve_board(value, "ticket")?,
                ("status", "remove") => {
                    return Err(ApiError::invalid(
                        "ticket",
                        "NullValue",
                        "status",
                        "status may not be null",
                    ));
                }
                ("status", _) => {
                    ticket.status_id = self.resolve_status(value, ticket.board_id)?;
                    status_given = true;
                }
                ("summary", "remove") => {
                    return Err(ApiError::invalid(
                        "ticket",
                        "NullValue",
                        "summary",
                        "summary may not be null",
                    ));
                }
                ("summary", _) => {
                    let summary = value
                        .as_str()
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| {
                            ApiError::invalid(
                                "ticket",
                                "InvalidField",
                                "summary",
                                "summary must be a non-empty string",
                            )
                        })?;
                    if summary.chars().count() > 100 {
                        return Err(ApiError::invalid(
                            "ticket",
                            "InvalidField",
                            "summary",
                            "summary must be at most 100 characters",
                        ));
                    }
                    ticket.summary = summary.to_string();
                }
                ("owner", "remove") => ticket.owner_id = None,
                ("owner", _) => ticket.owner_id = Some(self.resolve_member(value)?),
                ("priority", _) => {
                    ticket.priority_id =
                        Self::resolve(&self.priorities, value, |p| p.id, |p| &p.name)
                            .map(|p| p.id)
                            .ok_or_else(|| {
                                ApiError::invalid(
                                    "ticket",
                                    "InvalidField",
                                    "priority",
                                    "priority not found",
                                )
                            })?;
                }
                ("severity" | "impact", _) => {
                    let level = value
                        .as_str()
                        .filter(|v| matches!(*v, "Low" | "Medium" | "High"))
                        .ok_or_else(|| {
                            ApiError::invalid(
                                "ticket",
                                "InvalidField",
                                &op.path,
                                "expected Low, Medium or High",
                            )
                        })?;
                    if op.path == "severity" {
                        ticket.severity = level.to_string();
                    } else {
                        ticket.impact = level.to_string();
                    }
                }
                // ConnectWise bundles tickets through their own operation, not a field write.
                ("parentTicketId", _) => {
                    return Err(ApiError::invalid(
                        "ticket",
                        "InvalidField",
                        "parentTicketId",
                        format!(
                            "parentTicketId cannot be patched. Bundle ticket {id} under a parent with POST /service/tickets/{{parentId}}/attachChildren and {{\"childTicketIds\":[{id}]}}."
                        ),
                    ));
                }
                ("contact", "remove") => {
                    ticket.contact_id = None;
                    ticket.contact_name = None;
                    ticket.contact_email = None;
                }
                ("contact", _) => {
                    let contact_id = reference(value).and_then(|(id, _)| id).ok_or_else(|| {
                        ApiError::invalid(
                            "ticket",
                            "InvalidField",
                            "contact",
                            "contact must be given by id",
                        )
                    })?;
                    let contact = self.contacts.get(&contact_id).ok_or_else(|| {
                        ApiError::invalid("ticket", "InvalidField", "contact", "contact not found")
                    })?;
                    ticket.contact_id = Some(contact.id);
                    ticket.contact_name = Some(contact.name());
                    ticket.contact_email = self.contact_email(contact);
                }
                (other, _) => {
                    return Err(ApiError::invalid(
                        "ticket",
                        "InvalidField",
                        other,
                        format!("The field '{other}' cannot be patched on a ticket by this API."),
                    ));
                }
            }
        }
        // A board change without a status keeps the status of the same name on the new board,
        // or falls back to the new board's default.
        if ticket.board_id != original.board_id && !status_given {
            let old_name = self
                .status(original.status_id)
                .map(|s| s.name.clone())
                .unwrap_or_default();
            ticket.status_id = self
                .statuses
                .iter()
                .find(|s| {
                    s.board_id == ticket.board_id
                        && s.name.eq_ignore_ascii_case(&old_name)
                        && !s.inactive
                })
                .map_or_else(|| self.default_status(ticket.board_id), |s| s.id);
        }
        let at = now();
        ticket.last_updated = at;
        ticket.updated_by = self.api_member.clone();
        let closing = self
            .status(ticket.status_id)
            .is_some_and(|s| s.closed_status);
        if !closing {
            ticket.closed_flag = false;
            ticket.closed_date = None;
            ticket.closed_by = None;
        }
        self.tickets.insert(id, ticket);
        if closing && let Err(err) = self.apply_close(id, at) {
            self.tickets.insert(id, original);
            return Err(err);
        }
        Ok(())
    }

    /// `POST /service/tickets/{parentId}/attachChildren` with a `TicketBundle`
    /// (`{"childTicketIds":[…]}`): make each child a child of the parent. All or nothing.
    pub(crate) fn attach_children(&mut self, parent_id: i64, body: &Value) -> ApiResult<()> {
        let parent = self
            .tickets
            .get(&parent_id)
            .ok_or_else(|| ApiError::not_found("ticket", parent_id))?;
        let invalid = |message: String| {
            ApiError::invalid("ticket", "InvalidField", "childTicketIds", message)
        };
        let ids = body
            .get("childTicketIds")
            .and_then(Value::as_array)
            .filter(|ids| !ids.is_empty())
            .ok_or_else(|| {
                ApiError::invalid(
                    "ticket",
                    "NullValue",
                    "childTicketIds",
                    "childTicketIds must name at least one ticket",
                )
            })?;
        // Bundles are one level deep: a parent has no parent, a child has no children.
        if parent.parent_ticket_id.is_some() {
            return Err(ApiError::invalid(
                "ticket",
                "InvalidField",
                "parentTicketId",
                format!("Ticket {parent_id} is a child ticket and cannot be a parent."),
            ));
        }
        let mut children = Vec::with_capacity(ids.len());
        for value in ids {
            let child_id = value
                .as_i64()
                .ok_or_else(|| invalid(format!("{value} is not a ticket id")))?;
            if child_id == parent_id {
                return Err(invalid(format!(
                    "Ticket {parent_id} cannot be attached to itself as a child."
                )));
            }
            if !self.tickets.contains_key(&child_id) {
                return Err(invalid(format!("ticket {child_id} not found")));
            }
            if self
                .tickets
                .values()
                .any(|t| t.parent_ticket_id == Some(child_id))
            {
                return Err(invalid(format!(
                    "Ticket {child_id} has child tickets and cannot be attached to a parent."
                )));
            }
            children.push(child_id);
        }
        let at = now();
        let api_member = self.api_member.clone();
        for child_id in children {
            let child = self.tickets.get_mut(&child_id).expect("checked above");
            child.parent_ticket_id = Some(parent_id);
            child.last_updated = at;
            child.updated_by = api_member.clone();
        }
        Ok(())
    }

    // ---- notes ------------------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push_note(
        &mut self,
        ticket_id: i64,
        text: String,
        detail: bool,
        internal: bool,
        resolution: bool,
        process_notifications: bool,
        at: DateTime<Utc>,
    ) -> i64 {
        let id = self.next_note;
        self.next_note += 1;
        let member = self
            .member_by_identifier(&self.api_member.clone())
            .map(|m| m.id);
        self.notes.insert(
            id,
            Note {
                id,
                ticket_id,
                text,
                detail_description: detail,
                internal_analysis: internal,
                resolution,
                member_id: member,
                contact_id: None,
                process_notifications,
                date_created: at,
                created_by: self.api_member.clone(),
            },
        );
        id
    }

    /// `POST /service/tickets/{id}/notes`.
    pub(crate) fn add_note(&mut self, ticket_id: i64, body: &Value) -> ApiResult<i64> {
        if !self.tickets.contains_key(&ticket_id) {
            return Err(ApiError::not_found("ticket", ticket_id));
        }
        let object = body
            .as_object()
            .ok_or_else(|| ApiError::bad_request("The request body must be a note object."))?;
        let flag = |name: &str| -> ApiResult<bool> {
            match object.get(name) {
                None | Some(Value::Null) => Ok(false),
                Some(Value::Bool(b)) => Ok(*b),
                Some(_) => Err(ApiError::invalid(
                    "note",
                    "InvalidField",
                    name,
                    format!("{name} must be a boolean"),
                )),
            }
        };
        let text = match object.get("text") {
            Some(Value::String(text)) if !text.trim().is_empty() => text.clone(),
            _ => {
                return Err(ApiError::invalid(
                    "note",
                    "NullValue",
                    "text",
                    "text may not be null",
                ));
            }
        };
        let (detail, internal, resolution) = (
            flag("detailDescriptionFlag")?,
            flag("internalAnalysisFlag")?,
            flag("resolutionFlag")?,
        );
        if !(detail || internal || resolution) {
            return Err(ApiError::invalid(
                "note",
                "InvalidField",
                "detailDescriptionFlag",
                "At least one of detailDescriptionFlag, internalAnalysisFlag or resolutionFlag must be true.",
            ));
        }
        // ConnectWise processes notifications unless told not to.
        let notify = match object.get("processNotifications") {
            Some(Value::Bool(b)) => *b,
            _ => true,
        };
        let at = now();
        let id = self.push_note(ticket_id, text, detail, internal, resolution, notify, at);
        let api_member = self.api_member.clone();
        let ticket = self.tickets.get_mut(&ticket_id).expect("checked above");
        ticket.last_updated = at;
        ticket.updated_by = api_member;
        Ok(id)
    }

    // ---- contacts ---------------------------------------------------------------------------

    fn communication_items(&mut self, value: Option<&Value>) -> ApiResult<Vec<CommunicationItem>> {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Ok(Vec::new());
        };
        let items = value.as_array().ok_or_else(|| {
            ApiError::invalid(
                "contact",
                "InvalidField",
                "communicationItems",
                "communicationItems must be an array",
            )
        })?;
        let mut out = Vec::new();
        for item in items {
            let kind = item
                .get("type")
                .and_then(|t| {
                    Self::resolve(&self.communication_types, t, |c| c.id, |c| &c.description)
                })
                .cloned()
                .ok_or_else(|| {
                    ApiError::invalid(
                        "contact",
                        "InvalidField",
                        "communicationItems/type",
                        "communication type not found",
                    )
                })?;
            if let Some(declared) = item.get("communicationType").and_then(Value::as_str)
                && declared != kind.kind
            {
                return Err(ApiError::invalid(
                    "contact",
                    "InvalidField",
                    "communicationItems/communicationType",
                    format!(
                        "communication type {} is a {} type, not {declared}",
                        kind.id, kind.kind
                    ),
                ));
            }
            let value = item
                .get("value")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    ApiError::invalid(
                        "contact",
                        "NullValue",
                        "communicationItems/value",
                        "value may not be null",
                    )
                })?;
            if kind.kind == "Email" && !value.contains('@') {
                return Err(ApiError::invalid(
                    "contact",
                    "InvalidField",
                    "communicationItems/value",
                    format!("'{value}' is not a valid email address"),
                ));
            }
            self.next_item += 1;
            out.push(CommunicationItem {
                id: self.next_item,
                type_id: kind.id,
                value: value.to_string(),
                default_flag: item
                    .get("defaultFlag")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            });
        }
        Ok(out)
    }

    /// `POST /company/contacts`.
    pub(crate) fn create_contact(&mut self, body: &Value) -> ApiResult<i64> {
        let object = body
            .as_object()
            .ok_or_else(|| ApiError::bad_request("The request body must be a contact object."))?;
        let first_name = object
            .get("firstName")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ApiError::invalid(
                    "contact",
                    "NullValue",
                    "firstName",
                    "firstName may not be null",
                )
            })?
            .to_string();
        if first_name.chars().count() > 30 {
            return Err(ApiError::invalid(
                "contact",
                "InvalidField",
                "firstName",
                "firstName must be at most 30 characters",
            ));
        }
        let last_name = object
            .get("lastName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string();
        let company_id = match object.get("company") {
            Some(value) if !value.is_null() => Some(self.resolve_company(value, "contact")?),
            _ => None,
        };
        let items = self.communication_items(object.get("communicationItems"))?;
        let at = now();
        let id = self.next_contact;
        self.next_contact += 1;
        self.contacts.insert(
            id,
            Contact {
                id,
                first_name,
                last_name,
                company_id,
                title: object
                    .get("title")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                inactive: object
                    .get("inactiveFlag")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                communication_items: items,
                last_updated: at,
                date_entered: at,
            },
        );
        Ok(id)
    }

    /// `PATCH /company/contacts/{id}`.
    pub(crate) fn patch_contact(&mut self, id: i64, body: &Value) -> ApiResult<()> {
        let mut contact = self
            .contacts
            .get(&id)
            .cloned()
            .ok_or_else(|| ApiError::not_found("contact", id))?;
        for op in parse_patch(body)? {
            let value = &op.value;
            match op.path.as_str() {
                "inactiveFlag" => {
                    contact.inactive = value.as_bool().ok_or_else(|| {
                        ApiError::invalid(
                            "contact",
                            "InvalidField",
                            "inactiveFlag",
                            "inactiveFlag must be a boolean",
                        )
                    })?;
                }
                "firstName" => {
                    contact.first_name = value
                        .as_str()
                        .filter(|s| !s.trim().is_empty())
                        .ok_or_else(|| {
                            ApiError::invalid(
                                "contact",
                                "NullValue",
                                "firstName",
                                "firstName may not be null",
                            )
                        })?
                        .to_string();
                }
                "lastName" => contact.last_name = value.as_str().unwrap_or("").to_string(),
                "title" => contact.title = value.as_str().map(str::to_string),
                "company" => contact.company_id = Some(self.resolve_company(value, "contact")?),
                "communicationItems" => {
                    contact.communication_items = self.communication_items(Some(value))?
                }
                other => {
                    return Err(ApiError::invalid(
                        "contact",
                        "InvalidField",
                        other,
                        format!("The field '{other}' cannot be patched on a contact by this API."),
                    ));
                }
            }
        }
        contact.last_updated = now();
        self.contacts.insert(id, contact);
        Ok(())
    }
}

/// One JSON Patch operation.
#[derive(Debug, Clone)]
pub(crate) struct PatchOp {
    op: String,
    path: String,
    value: Value,
}

fn parse_patch(body: &Value) -> ApiResult<Vec<PatchOp>> {
    let items = body.as_array().ok_or_else(|| {
        ApiError::bad_request("PATCH expects a JSON array of operations: [{\"op\":\"replace\",\"path\":\"...\",\"value\":...}]")
    })?;
    if items.is_empty() {
        return Err(ApiError::bad_request("The patch operation list is empty."));
    }
    items
        .iter()
        .map(|item| {
            let op = item.get("op").and_then(Value::as_str).unwrap_or_default();
            if !matches!(op, "add" | "replace" | "remove") {
                return Err(ApiError::bad_request(format!(
                    "Invalid patch op '{op}'; expected add, replace or remove."
                )));
            }
            let path = item
                .get("path")
                .and_then(Value::as_str)
                .map(|p| p.trim_start_matches('/').to_string())
                .filter(|p| !p.is_empty())
                .ok_or_else(|| ApiError::bad_request("Every patch operation needs a path."))?;
            let value = item.get("value").cloned().unwrap_or(Value::Null);
            if op != "remove" && item.get("value").is_none() {
                return Err(ApiError::bad_request(format!(
                    "The '{op}' operation on '{path}' needs a value."
                )));
            }
            Ok(PatchOp {
                op: op.to_string(),
                path,
                value,
            })
        })
        .collect()
}
