//! Intake: tickets from each tenant's PSA into the work queue, and workers that take them
//! through the [`Pipeline`].
//!
//! - [`Intake::poll`] reads each tenant's open tickets changed since its watermark (with a
//!   few minutes of overlap, since vendors disagree on whether "since" is inclusive and clocks
//!   drift), enqueues each ticket once per (tenant, ticket id) ("one run per ticket"), and moves
//!   the watermark to the newest change seen. A runner started again polls from there. Before
//!   queuing, look-alike open tickets are linked as incidents ([`incidents`](crate::incidents)),
//!   and incidents' parent tickets are not queued.
//! - [`Intake::drain`] claims queued tickets with a lease, several at once
//!   ([`Intake::with_parallelism`]), and processes each: completed when the
//!   pipeline answered, given back for a later try on a temporary error (a vendor outage), failed
//!   for good after [`MAX_ATTEMPTS`] or on any other error. Several runners on one PostgreSQL
//!   share the queue; a dead runner's tickets are taken over when their lease expires.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use stackhand_core::{Result, TenantId, Ticket, TicketQuery};
use stackhand_store::{ClaimedJob, NewJob, RunState};

use crate::incidents::IncidentReport;
use crate::pipeline::{Pipeline, TicketOutcome};

/// The queue's job kind for a PSA ticket.
pub const TICKET_JOB: &str = "ticket";

/// The watermark source of the PSA.
const PSA: &str = "psa";

/// How far back of the watermark each poll reads again (duplicates are dropped by the queue).
const OVERLAP: chrono::Duration = chrono::Duration::minutes(5);

/// Tickets one intake works on at once, unless told otherwise.
pub const DEFAULT_PARALLELISM: u32 = 8;

/// Tries of one ticket before it is failed for good and left to a person.
pub const MAX_ATTEMPTS: i64 = 5;

/// What a poll found for one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Polled {
    /// The tenant.
    pub tenant: TenantId,
    /// Open tickets changed since the watermark.
    pub found: usize,
    /// Of those, newly queued (the others were queued before).
    pub queued: usize,
    /// Why the poll failed, if it did (the other tenants are polled anyway).
    pub error: Option<String>,
    /// Incidents its look-alike tickets were linked to ([`incidents`](crate::incidents)).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<IncidentReport>,
}

/// Intake and workers on a pipeline.
#[derive(Debug, Clone)]
pub struct Intake {
    pipeline: Pipeline,
    worker: String,
    lease: Duration,
    parallelism: u32,
}

impl Intake {
    /// Intake for `pipeline`, claiming as `worker` with `lease`.
    pub fn new(pipeline: Pipeline, worker: impl Into<String>, lease: Duration) -> Self {
        Self {
            pipeline,
            worker: worker.into(),
            lease,
            parallelism: DEFAULT_PARALLELISM,
        }
    }

    /// Work on up to `tickets` tickets at once (at least 1). Tickets are independent runs,
    /// each with its own idempotency keys; vendor limits still hold through the shared rate
    /// budget and each connector's in-flight cap.
    pub fn with_parallelism(mut self, tickets: u32) -> Self {
        self.parallelism = tickets.max(1);
        self
    }

    /// Poll every tenant's PSA once, up to the intake's parallelism of tenants at once (each
    /// tenant's own calls stay in order: its watermark moves only after its poll). A tenant
    /// whose PSA fails is reported with its error; the others are polled all the same. Answers
    /// in tenant order.
    pub async fn poll(&self) -> Vec<Polled> {
        use futures::StreamExt as _;
        futures::stream::iter(self.pipeline.tenants())
            .map(|tenant| async move {
                match self.poll_tenant(&tenant).await {
                    Ok(done) => done,
                    Err(err) => {
                        tracing::warn!(%tenant, error = %err, "polling the PSA failed");
                        Polled {
                            tenant,
                            found: 0,
                            queued: 0,
                            error: Some(err.message().to_string()),
                            incidents: Vec::new(),
                        }
                    }
                }
            })
            .buffered(self.parallelism as usize)
            .collect()
            .await
    }

    async fn poll_tenant(&self, tenant: &TenantId) -> Result<Polled> {
        let store = self.pipeline.deployment().store();
        let since = store.watermark(tenant, PSA).await?.map(|at| at - OVERLAP);
        let reads = self.pipeline.deployment().engine().connectors(tenant)?;
        let query = TicketQuery {
            since,
            ..TicketQuery::default()
        };
        let tickets = reads.psa()?.poll_tickets(&query).await?;
        // Look-alike tickets first become one incident, before any is worked on alone; an
        // incident's parent ticket is a person's, never queued.
        let incidents = crate::incidents::link(&self.pipeline, tenant, &tickets, since).await?;
        let mut queued = 0;
        let mut newest: Option<DateTime<Utc>> = None;
        for ticket in &tickets {
            if !incidents.parents.contains(&ticket.id) && self.enqueue(tenant, ticket).await? {
                queued += 1;
            }
            let changed = ticket.updated.unwrap_or(ticket.created);
            newest = newest.max(Some(changed));
        }
        if let Some(newest) = newest {
            store.advance_watermark(tenant, PSA, newest).await?;
        }
        Ok(Polled {
            tenant: tenant.clone(),
            found: tickets.len(),
            queued,
            error: None,
            incidents: incidents.incidents,
        })
    }

    /// A PSA callback of `tenant`: the ticket it names (parsed by the tenant's PSA connector),
    /// read again from the PSA and enqueued once. `true` when newly queued.
    pub async fn take_callback(
        &self,
        tenant: &TenantId,
        payload: &serde_json::Value,
    ) -> Result<bool> {
        let reads = self.pipeline.deployment().engine().connectors(tenant)?;
        let psa = reads.psa()?;
        let named = psa.parse_callback(tenant, payload)?;
        // The body only names the ticket: what stackhand acts on is what the PSA says.
        let ticket = psa.get_ticket(&named.id).await?;
        if ticket.closed {
            return Ok(false);
        }
        self.enqueue(tenant, &ticket).await
    }

    /// Queue `ticket` once per (tenant, ticket id); `true` when newly queued.
    async fn enqueue(&self, tenant: &TenantId, ticket: &Ticket) -> Result<bool> {
        let job = NewJob::new(TICKET_JOB, &ticket.id, serde_json::to_value(ticket)?);
        let store = self.pipeline.deployment().store();
        Ok(store.queue().enqueue(tenant, &job).await?.queued)
    }

    /// Claim and process queued tickets until none is claimable, up to the intake's
    /// [parallelism](Self::with_parallelism) at once; each is tried at most once per drain.
    /// Answers what the pipeline did with each ticket it finished.
    pub async fn drain(&self) -> Result<Vec<TicketOutcome>> {
        let queue = self.pipeline.deployment().store().queue();
        let mut tried = std::collections::HashSet::new();
        let mut outcomes = Vec::new();
        loop {
            let jobs = queue
                .claim(&self.worker, self.lease, self.parallelism)
                .await?;
            if jobs.is_empty() {
                break;
            }
            let mut fresh = Vec::new();
            let mut repeated = false;
            for job in jobs {
                if tried.insert((job.tenant.clone(), job.id)) {
                    fresh.push(job);
                } else {
                    // Given back earlier in this drain: leave it for the next one.
                    repeated = true;
                    queue
                        .fail(&job.tenant, job.id, &self.worker, "tried again later", true)
                        .await?;
                }
            }
            let done = futures::future::join_all(fresh.into_iter().map(|job| self.work(job))).await;
            for outcome in done {
                outcomes.extend(outcome?);
            }
            if repeated {
                break;
            }
        }
        Ok(outcomes)
    }

    /// Process one claimed job and record how it ended in the queue.
    async fn work(&self, job: ClaimedJob) -> Result<Option<TicketOutcome>> {
        let queue = self.pipeline.deployment().store().queue();
        let ticket: Ticket = match serde_json::from_value(job.payload.clone()) {
            Ok(ticket) => ticket,
            Err(e) => {
                let why = format!("the queued ticket is malformed: {e}");
                queue
                    .fail(&job.tenant, job.id, &self.worker, &why, false)
                    .await?;
                return Ok(None);
            }
        };
        match self.pipeline.process(&job.tenant, &ticket).await {
            Ok(outcome) => {
                let summary = serde_json::json!({
                    "resolution": outcome.resolution,
                    "why": outcome.why,
                });
                queue
                    .complete(&job.tenant, job.id, &self.worker, &summary)
                    .await?;
                Ok(Some(outcome))
            }
            Err(err) => {
                let retry = err.is_temporary() && job.attempt < MAX_ATTEMPTS;
                tracing::warn!(
                    tenant = %job.tenant, ticket = ticket.id, attempt = job.attempt,
                    retry, error = %err, "a ticket could not be processed"
                );
                queue
                    .fail(&job.tenant, job.id, &self.worker, err.message(), retry)
                    .await?;
                Ok(None)
            }
        }
    }

    /// Take up again the work a stopped runner left: every ticket with a run still running
    /// (its step interrupted mid-call is settled by reading the target back, never done
    /// twice), and runs without a ticket driven on. What a runner does when it starts; the
    /// queued ticket itself is taken over when its lease expires, and finds its run finished.
    pub async fn resume_interrupted(&self) -> Result<Vec<TicketOutcome>> {
        let deployment = self.pipeline.deployment();
        let mut outcomes = Vec::new();
        for tenant in self.pipeline.tenants() {
            let mut tickets = std::collections::BTreeSet::new();
            for run in deployment.store().runs().unfinished(&tenant).await? {
                if run.state != RunState::Running {
                    continue;
                }
                let taken_up = match run.ticket.as_deref() {
                    Some(ticket) if tickets.insert(ticket.to_string()) => {
                        self.take_up(&tenant, ticket).await.map(Some)
                    }
                    Some(_) => Ok(None),
                    None => deployment
                        .runs()
                        .drive(&tenant, &run.id)
                        .await
                        .map(|_| None),
                };
                // One run that cannot go on yet (a vendor down) does not keep the others back.
                match taken_up {
                    Ok(outcome) => outcomes.extend(outcome),
                    Err(err) => {
                        tracing::warn!(%tenant, run = run.id, error = %err, "an interrupted run did not finish");
                    }
                }
            }
        }
        Ok(outcomes)
    }

    /// Take up again every ticket whose run is scheduled and now due (credentials the day
    /// before a start date, a leaver's access on the leave date): the pipeline drives the
    /// recorded run and documents where it stands (closing the ticket when it is done).
    pub async fn due(&self) -> Result<Vec<TicketOutcome>> {
        let deployment = self.pipeline.deployment();
        let now = deployment.clock().now();
        let mut outcomes = Vec::new();
        for tenant in self.pipeline.tenants() {
            for run in deployment.store().runs().unfinished(&tenant).await? {
                let due =
                    run.state == RunState::Scheduled && run.next_due().is_some_and(|at| at <= now);
                let Some(ticket) = run.ticket.as_deref().filter(|_| due) else {
                    continue;
                };
                match self.take_up(&tenant, ticket).await {
                    Ok(outcome) => outcomes.push(outcome),
                    Err(err) => {
                        tracing::warn!(%tenant, run = run.id, error = %err, "a due run did not go on");
                    }
                }
            }
        }
        Ok(outcomes)
    }

    /// The ticket `id` read again from the PSA and taken through the pipeline.
    async fn take_up(&self, tenant: &TenantId, id: &str) -> Result<TicketOutcome> {
        let reads = self.pipeline.deployment().engine().connectors(tenant)?;
        let ticket = reads.psa()?.get_ticket(id).await?;
        self.pipeline.process(tenant, &ticket).await
    }

    /// One pass: poll every tenant, drain the queue, then take up the scheduled tickets that
    /// are due.
    pub async fn once(&self) -> Result<(Vec<Polled>, Vec<TicketOutcome>)> {
        let polled = self.poll().await;
        let mut outcomes = self.drain().await?;
        outcomes.extend(self.due().await?);
        Ok((polled, outcomes))
    }
}
