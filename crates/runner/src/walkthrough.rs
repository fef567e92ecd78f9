//! Seeing a ticket through without waiting for people or dates: for demos, trials and tests.
//!
//! [`see_through`] plays the MSP around a ticket the pipeline left waiting: one approver
//! approves every step of the ticket's run that waits (as `stackhand approve` would), and a
//! step scheduled for a date runs once the deployment's [`Clock`](crate::runs::Clock) is moved
//! to that date; each time, the ticket goes through the pipeline again, which drives its
//! recorded run and documents where it stands. Nothing here bypasses the engine: the approver
//! must be one the policy accepts, and every step is still decided by the policy.
//!
//! [`Pipeline::go_on_after_answer`] is what follows a person's answer to an approval (from
//! `stackhand approve`/`deny` or the HTTP API): the run waiting on that step goes on.

use serde::Serialize;
use stackhand_core::{IdempotencyKey, Principal, Result, TenantId};
use stackhand_store::RunState;

use crate::pipeline::{Pipeline, Resolution, TicketOutcome};
use crate::runs::RunReport;

/// What went on after an approval was answered.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "went_on", content = "report", rename_all = "snake_case")]
pub enum WentOn {
    /// No run waits on the approval's step.
    Nothing,
    /// A run (not a ticket's) was driven on.
    Run(RunReport),
    /// A ticket's run went on and the ticket through the pipeline again (documented and
    /// closed, or routed, or waiting again).
    Ticket(Box<TicketOutcome>),
}

impl Pipeline {
    /// After the approval of the request `key` of `tenant` was answered (approved or denied),
    /// take on the run waiting on it: a ticket's run (`ticket-<id>`) by taking the ticket
    /// through the pipeline again, any other run by driving it. Step keys are `<run>.<index>`;
    /// a key of no waiting run changes nothing.
    pub async fn go_on_after_answer(
        &self,
        tenant: &TenantId,
        key: &IdempotencyKey,
    ) -> Result<WentOn> {
        let Some((run, _)) = key.as_str().rsplit_once('.') else {
            return Ok(WentOn::Nothing);
        };
        let deployment = self.deployment();
        let waiting = deployment
            .store()
            .runs()
            .get(tenant, run)
            .await?
            .is_some_and(|r| r.state == RunState::WaitingApproval);
        if !waiting {
            return Ok(WentOn::Nothing);
        }
        if let Some(ticket_id) = run.strip_prefix("ticket-") {
            let reads = deployment.engine().connectors(tenant)?;
            let ticket = reads.psa()?.get_ticket(ticket_id).await?;
            let outcome = self.process(tenant, &ticket).await?;
            return Ok(WentOn::Ticket(Box::new(outcome)));
        }
        Ok(WentOn::Run(deployment.runs().drive(tenant, run).await?))
    }
}

/// How many times one ticket is taken up again (each wave of approvals, each date) before
/// [`see_through`] stops and answers where it stands.
pub const MAX_ROUNDS: usize = 8;

/// Take `outcome`'s ticket on until it is resolved or routed (or [`MAX_ROUNDS`] have passed),
/// approving as `approver` and moving the clock to each date. Answers the last outcome and what
/// was done, in order.
pub async fn see_through(
    pipeline: &Pipeline,
    mut outcome: TicketOutcome,
    approver: &Principal,
) -> Result<(TicketOutcome, Vec<String>)> {
    let deployment = pipeline.deployment();
    let engine = deployment.engine();
    let run = format!("ticket-{}", outcome.ticket);
    let mut done = Vec::new();
    for _ in 0..MAX_ROUNDS {
        match outcome.resolution {
            Resolution::WaitingApproval => {
                let mut approved = 0;
                for approval in engine.pending_approvals(&outcome.tenant).await? {
                    let key = approval.request.idempotency_key.as_str();
                    if key
                        .strip_prefix(run.as_str())
                        .is_some_and(|rest| rest.starts_with('.'))
                    {
                        engine.approve(approval.id, approver).await?;
                        approved += 1;
                    }
                }
                done.push(format!(
                    "{} approved {approved} waiting step(s)",
                    approver.id
                ));
            }
            Resolution::Scheduled => {
                let Some(record) = deployment.store().runs().get(&outcome.tenant, &run).await?
                else {
                    break;
                };
                let Some(due) = record.next_due() else {
                    break;
                };
                deployment.clock().advance_to(due);
                done.push(format!(
                    "clock moved to {}, when the next step is due",
                    due.format("%Y-%m-%d %H:%M UTC")
                ));
            }
            Resolution::Resolved
            | Resolution::Routed
            | Resolution::Shadowed
            | Resolution::LinkedToIncident => break,
        }
        let reads = engine.connectors(&outcome.tenant)?;
        let ticket = reads.psa()?.get_ticket(&outcome.ticket).await?;
        outcome = pipeline.process(&outcome.tenant, &ticket).await?;
    }
    Ok((outcome, done))
}
