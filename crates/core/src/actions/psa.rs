//! `psa.*` actions.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{plan_of, read_back_of, same_name};
use crate::action::{ActionContext, Descriptor, ExecutionProof, TypedAction};
use crate::capability::{Assignment, NewContact, NewNote, NoteVisibility, Psa, Ticket};
use crate::error::{Error, Result};
use crate::model::{ActionRequest, Category, Change, Outcome, Plan, Risk, StepStatus};

fn psa(ctx: &ActionContext) -> Result<&dyn Psa> {
    ctx.psa()
}

fn resource(ticket_id: &str) -> String {
    format!("ticket:{ticket_id}")
}

/// Plan over one ticket: read it, record its status and board as the state before.
async fn ticket_plan<A: TypedAction>(
    ctx: &ActionContext,
    request: &ActionRequest,
    ticket_id: &str,
    summary: &str,
) -> Result<(Plan, Ticket)> {
    let ticket = psa(ctx)?.get_ticket(ticket_id).await?;
    let mut plan = plan_of::<A>(request, format!("{summary} on ticket {ticket_id}"));
    plan.state_before = json!({
        "status": ticket.status,
        "board": ticket.board,
        "closed": ticket.closed,
        "parent_id": ticket.parent_id,
    });
    Ok((plan, ticket))
}

fn done(plan: &Plan, state_after: serde_json::Value, ok: bool) -> Outcome {
    Outcome {
        changes: plan.changes.clone(),
        state_before: plan.state_before.clone(),
        state_after,
        ..Outcome::new(if ok {
            StepStatus::Verified
        } else {
            StepStatus::Succeeded
        })
    }
}

/// `psa.add_note`.
#[derive(Debug, Clone, Copy)]
pub struct AddNote;

/// Input of `psa.add_note`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddNoteParams {
    /// Ticket id.
    pub ticket: String,
    /// The note.
    #[serde(flatten)]
    pub note: NewNote,
}

#[async_trait]
impl TypedAction for AddNote {
    type Params = AddNoteParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "psa.add_note",
        summary: "Add an internal or customer-visible note to a ticket",
        category: Category::Psa,
        risk: Risk::Low,
        reversible: false,
        idempotent: false,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        if params.note.text.trim().is_empty() {
            return Err(Error::invalid("a note needs text"));
        }
        let (mut plan, _) = ticket_plan::<Self>(ctx, request, &params.ticket, "Add a note").await?;
        let field = match params.note.visibility {
            NoteVisibility::Internal => "internal_note",
            NoteVisibility::Customer => "customer_note",
        };
        plan.changes.push(Change::new(
            resource(&params.ticket),
            field,
            None,
            Some(json!(params.note.text)),
        ));
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        let psa = psa(ctx)?;
        let note = ctx
            .psa_writes(proof)?
            .add_note(proof, &params.ticket, &params.note)
            .await?;
        let present = psa
            .notes(&params.ticket)
            .await?
            .iter()
            .any(|n| n.id == note.id);
        Ok(done(plan, json!({ "note_id": note.id }), present))
    }
}

/// `psa.set_status`.
#[derive(Debug, Clone, Copy)]
pub struct SetStatus;

/// Input of `psa.set_status`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetStatusParams {
    /// Ticket id.
    pub ticket: String,
    /// Status name, as the board or picklist names it.
    pub status: String,
}

#[async_trait]
impl TypedAction for SetStatus {
    type Params = SetStatusParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "psa.set_status",
        summary: "Set a ticket's status by name",
        category: Category::Psa,
        risk: Risk::Low,
        reversible: true,
        idempotent: true,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let (mut plan, ticket) =
            ticket_plan::<Self>(ctx, request, &params.ticket, "Set status").await?;
        if !ticket.status.eq_ignore_ascii_case(&params.status) {
            plan.changes.push(Change::new(
                resource(&ticket.id),
                "status",
                Some(json!(ticket.status)),
                Some(json!(params.status)),
            ));
        }
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        let psa = psa(ctx)?;
        ctx.psa_writes(proof)?
            .set_status(proof, &params.ticket, &params.status)
            .await?;
        let after = psa.get_ticket(&params.ticket).await?;
        let ok = after.status.eq_ignore_ascii_case(&params.status);
        Ok(done(plan, json!({ "status": after.status }), ok))
    }

    async fn undo(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        restore_status(ctx, proof, &params.ticket, plan).await
    }
}

async fn restore_status(
    ctx: &ActionContext,
    proof: &ExecutionProof<'_>,
    ticket_id: &str,
    plan: &Plan,
) -> Result<Outcome> {
    let before = plan.state_before["status"]
        .as_str()
        .ok_or_else(|| Error::invalid("the recorded state before has no status"))?;
    let psa = psa(ctx)?;
    ctx.psa_writes(proof)?
        .set_status(proof, ticket_id, before)
        .await?;
    let after = psa.get_ticket(ticket_id).await?;
    Ok(done(
        plan,
        json!({ "status": after.status }),
        after.status.eq_ignore_ascii_case(before),
    ))
}

/// `psa.close`.
#[derive(Debug, Clone, Copy)]
pub struct CloseTicket;

/// Input of `psa.close`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseParams {
    /// Ticket id.
    pub ticket: String,
    /// Resolution text, added first.
    #[serde(default)]
    pub resolution: Option<String>,
}

#[async_trait]
impl TypedAction for CloseTicket {
    type Params = CloseParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "psa.close",
        summary: "Close a ticket with the board's closed status, adding the resolution first",
        category: Category::Psa,
        risk: Risk::Low,
        reversible: true,
        idempotent: true,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let (mut plan, ticket) = ticket_plan::<Self>(ctx, request, &params.ticket, "Close").await?;
        if !ticket.closed {
            plan.changes.push(Change::new(
                resource(&ticket.id),
                "status",
                Some(json!(ticket.status)),
                Some(json!("closed")),
            ));
        }
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        let psa = psa(ctx)?;
        ctx.psa_writes(proof)?
            .close(proof, &params.ticket, params.resolution.as_deref())
            .await?;
        let after = psa.get_ticket(&params.ticket).await?;
        Ok(done(
            plan,
            json!({ "status": after.status, "closed": after.closed }),
            after.closed,
        ))
    }

    async fn undo(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        restore_status(ctx, proof, &params.ticket, plan).await
    }
}

/// `psa.reassign`: hand the ticket to a person.
#[derive(Debug, Clone, Copy)]
pub struct Reassign;

/// Input of `psa.reassign`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignParams {
    /// Ticket id.
    pub ticket: String,
    /// Where to.
    #[serde(flatten)]
    pub to: Assignment,
}

#[async_trait]
impl TypedAction for Reassign {
    type Params = ReassignParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "psa.reassign",
        summary: "Route a ticket to a board / queue or a technician",
        category: Category::Psa,
        risk: Risk::Low,
        reversible: false,
        idempotent: true,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        if params.to.board.is_none() && params.to.member.is_none() {
            return Err(Error::invalid("psa.reassign needs a board or a member"));
        }
        let (mut plan, ticket) =
            ticket_plan::<Self>(ctx, request, &params.ticket, "Reassign").await?;
        plan.changes.push(Change::new(
            resource(&ticket.id),
            "assignment",
            Some(json!(ticket.board)),
            Some(serde_json::to_value(&params.to)?),
        ));
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        let psa = psa(ctx)?;
        ctx.psa_writes(proof)?
            .reassign(proof, &params.ticket, &params.to)
            .await?;
        let after = psa.get_ticket(&params.ticket).await?;
        let ok = params
            .to
            .board
            .as_ref()
            .is_none_or(|b| after.board.as_deref() == Some(b.as_str()));
        Ok(done(plan, json!({ "board": after.board }), ok))
    }
}

/// `psa.create_contact`.
#[derive(Debug, Clone, Copy)]
pub struct CreateContact;

#[async_trait]
impl TypedAction for CreateContact {
    type Params = NewContact;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "psa.create_contact",
        summary: "Create a contact for a new starter",
        category: Category::Psa,
        risk: Risk::Low,
        reversible: false,
        idempotent: false,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        if let Some(existing) = psa(ctx)?.find_contact(&params.email).await? {
            return Err(Error::conflict(format!(
                "contact {} already exists (id {})",
                params.email, existing.id
            )));
        }
        let mut plan = plan_of::<Self>(request, format!("Create contact {}", params.email));
        plan.state_before = json!({ "exists": false });
        plan.changes.push(Change::new(
            format!("contact:{}", params.email),
            "contact",
            None,
            Some(serde_json::to_value(params)?),
        ));
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        let psa = psa(ctx)?;
        let contact = ctx.psa_writes(proof)?.create_contact(proof, params).await?;
        let found = psa.find_contact(&params.email).await?.is_some();
        Ok(done(plan, serde_json::to_value(&contact)?, found))
    }

    /// Planning again refuses once the contact exists, so the contact is looked up: the one
    /// with this email, in this company, under this name, is the one the lost call created.
    async fn read_back(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        _plan: &Plan,
    ) -> Result<Option<serde_json::Value>> {
        let Some(contact) = psa(ctx)?.find_contact(&params.email).await? else {
            return Ok(None);
        };
        let name = format!("{} {}", params.first_name, params.last_name);
        let same = same_name(&contact.name, &name)
            && contact
                .company_id
                .as_deref()
                .is_none_or(|c| c == params.company_id);
        read_back_of(&contact, same)
    }
}

/// `psa.deactivate_contact`.
#[derive(Debug, Clone, Copy)]
pub struct DeactivateContact;

/// Input of `psa.deactivate_contact`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactParams {
    /// The contact's email.
    pub email: String,
}

#[async_trait]
impl TypedAction for DeactivateContact {
    type Params = ContactParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "psa.deactivate_contact",
        summary: "Mark a leaver's contact inactive",
        category: Category::Psa,
        risk: Risk::Medium,
        reversible: true,
        idempotent: true,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let contact = psa(ctx)?
            .find_contact(&params.email)
            .await?
            .ok_or_else(|| Error::not_found(format!("no contact with email {}", params.email)))?;
        let mut plan = plan_of::<Self>(request, format!("Deactivate contact {}", params.email));
        plan.state_before = serde_json::to_value(&contact)?;
        if contact.active {
            plan.changes.push(Change::new(
                format!("contact:{}", params.email),
                "active",
                Some(json!(true)),
                Some(json!(false)),
            ));
        }
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        set_contact_active(ctx, proof, &params.email, false, plan).await
    }

    async fn undo(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        set_contact_active(ctx, proof, &params.email, true, plan).await
    }
}

async fn set_contact_active(
    ctx: &ActionContext,
    proof: &ExecutionProof<'_>,
    email: &str,
    active: bool,
    plan: &Plan,
) -> Result<Outcome> {
    let psa = psa(ctx)?;
    let id = plan.state_before["id"]
        .as_str()
        .ok_or_else(|| Error::invalid("the recorded state before has no contact id"))?;
    if active {
        ctx.psa_writes(proof)?.activate_contact(proof, id).await?;
    } else {
        ctx.psa_writes(proof)?.deactivate_contact(proof, id).await?;
    }
    let after = psa.find_contact(email).await?;
    let ok = after.as_ref().is_some_and(|c| c.active == active);
    Ok(done(plan, json!({ "active": after.map(|c| c.active) }), ok))
}

/// `psa.link_to_parent`: attach a duplicate to its parent incident.
#[derive(Debug, Clone, Copy)]
pub struct LinkToParent;

/// Input of `psa.link_to_parent`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkParams {
    /// The child (duplicate) ticket.
    pub ticket: String,
    /// The parent incident.
    pub parent: String,
}

#[async_trait]
impl TypedAction for LinkToParent {
    type Params = LinkParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "psa.link_to_parent",
        summary: "Link a ticket to its parent incident",
        category: Category::Psa,
        risk: Risk::Low,
        reversible: false,
        idempotent: true,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        if params.ticket == params.parent {
            return Err(Error::invalid("a ticket cannot be its own parent"));
        }
        psa(ctx)?.get_ticket(&params.parent).await?;
        let (mut plan, ticket) =
            ticket_plan::<Self>(ctx, request, &params.ticket, "Link to parent").await?;
        if ticket.parent_id.as_deref() != Some(params.parent.as_str()) {
            plan.changes.push(Change::new(
                resource(&ticket.id),
                "parent",
                Some(json!(ticket.parent_id)),
                Some(json!(params.parent)),
            ));
        }
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        let psa = psa(ctx)?;
        ctx.psa_writes(proof)?
            .link_to_parent(proof, &params.ticket, &params.parent)
            .await?;
        let after = psa.get_ticket(&params.ticket).await?;
        let ok = after.parent_id.as_deref() == Some(params.parent.as_str());
        Ok(done(plan, json!({ "parent_id": after.parent_id }), ok))
    }
}
