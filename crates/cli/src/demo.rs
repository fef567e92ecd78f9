//! `stackhand demo`: the open tickets of the seed world resolved end to end.
//!
//! The six vendor simulators of `crates/sim/world.toml` start in-process on loopback, and the
//! runner works against them exactly as against the real vendors: `stackhand.toml` with each
//! tenant's connectors built through the registry from the real connector crates, a SQLite
//! store with the credential vault and the audit trail, the staff of the world's MSP, and the
//! starter policy of `stackhand sim`. One pass of `stackhand run` takes every open ticket of
//! both tenants through triage, workflows and the policy (after linking look-alike tickets,
//! Contoso's Exchange Online outage, as one incident); what waits for an approval is then
//! approved by the MSP's lead, as from `stackhand approvals`, a step scheduled for a date (a
//! new starter's credentials, the day before the start) runs once the demo's clock is moved
//! there, and each such ticket is taken through the pipeline again until it ends. Each
//! ticket gets a timeline, the whole a summary table, and the audit chains are verified. The
//! exit code is 0 only if every ticket ended as the world's story says it should.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use stackhand_core::audit::AuditSink;
use stackhand_core::{Principal, TenantId};
use stackhand_runner::incidents::IncidentReport;
use stackhand_runner::walkthrough::see_through;
use stackhand_runner::{
    Intake, LoadedConfig, Pipeline, Resolution, TicketOutcome, default_registry,
};
use stackhand_sim::Faults;
use stackhand_sim::deployment::SimulatedWorld;
use stackhand_sim::world::World;
use stackhand_triage::tenant::TenantSummary;

/// The tickets of the built-in world that end resolved (the others go to a person):
///
/// - a locked-out Okta user is unlocked at once; password and MFA resets of the user's own
///   account run once a technician approves (Entra ID's MFA reset with a Temporary Access Pass
///   for that technician to give the user on a call); access to a group or a shared mailbox
///   once a lead does;
/// - Contoso's new starter is onboarded across all six systems once a lead approves each wave
///   of steps, her manager getting her sign-in details the day before she starts; Contoso's
///   leaver is offboarded, her mailbox kept as a shared one for her manager; Globex's leaver,
///   already deprovisioned in Okta, is taken out of his groups (Okta Admins) and documented;
/// - the managing partner's request to add two people to a group becomes one run for each,
///   approved by a lead;
/// - Priya's unreachable case management system is diagnosed on her laptop through NinjaOne
///   and fixed by flushing its DNS cache.
///
/// Linked to an incident: the five tickets of the Exchange Online outage ([`LINKED`]).
///
/// Routed, each with its reason: Contoso's locked-out user is synced from on-premises, so the
/// cloud cannot unlock him; a reset asked for someone else, and one from a lookalike domain;
/// Globex's new starter, whose Okta account exists already; and everything that is not
/// routine.
const RESOLVED: &[(&str, &str)] = &[
    ("globex", "Can't log in - account locked"),
    ("globex", "password expired"),
    ("globex", "MFA prompts not arriving"),
    ("contoso-law", "Password reset - Daniel Reyes"),
    ("contoso-law", "New phone - need Authenticator set up again"),
    ("contoso-law", "Access to reception@ shared mailbox"),
    ("globex", "Please add me to the Finance group"),
    ("contoso-law", "New starter: Laura Fischer starting Monday"),
    ("contoso-law", "Leaver - Eleanor Voss: licence and laptop"),
    ("contoso-law", "Can't reach the case management system"),
    (
        "globex",
        "Leaver: Otto Mann - remove admin access, collect laptop",
    ),
    ("contoso-law", "Litigation Team access for Priya and Tom"),
];

/// The tickets of the built-in world's Exchange Online outage (Microsoft's EX912345, open in
/// Contoso's service health): linked to one parent ticket, each told what is known, their users
/// mailed once, none troubleshot on its own (Tom's "asking for my password" gets no reset).
const LINKED: &[(&str, &str)] = &[
    ("contoso-law", "Outlook on the web shows an error"),
    ("contoso-law", "OWA not loading for several people"),
    ("contoso-law", "Outlook keeps asking for my password"),
    ("contoso-law", "emails not syncing on my phone"),
    ("contoso-law", "Can't send mail - stuck in Outbox"),
];

#[derive(Debug, Serialize)]
struct DemoTicket {
    #[serde(flatten)]
    outcome: TicketOutcome,
    /// Who approved a step, if one waited.
    approved_by: Option<String>,
    /// What was done to see it through: approvals given, the clock moved to a step's date.
    events: Vec<String>,
    /// What the world's story expects.
    expected: Resolution,
    /// Milliseconds from the ticket's first step to its last answer (approval wait excluded).
    millis: u128,
}

#[derive(Debug, Serialize)]
struct DemoReport {
    world: String,
    deployment: String,
    /// What each tenant's triage learned from its PSA's closed tickets before the pass.
    triage: Vec<LearnedTriage>,
    tickets: Vec<DemoTicket>,
    /// Incidents the look-alike tickets were linked to.
    incidents: Vec<IncidentReport>,
    audit: Vec<AuditSummary>,
    all_as_expected: bool,
}

#[derive(Debug, Serialize)]
struct LearnedTriage {
    tenant: TenantId,
    summary: TenantSummary,
}

#[derive(Debug, Serialize)]
struct AuditSummary {
    tenant: String,
    events: u64,
    head: String,
}

fn expected(tenant: &str, subject: &str) -> Resolution {
    if RESOLVED.contains(&(tenant, subject)) {
        Resolution::Resolved
    } else if LINKED.contains(&(tenant, subject)) {
        Resolution::LinkedToIncident
    } else {
        Resolution::Routed
    }
}

pub(crate) async fn run(json: bool, dir: Option<PathBuf>) -> Result<ExitCode> {
    let world = World::builtin();
    let sims = SimulatedWorld::start(world, Faults::default())
        .await
        .context("starting the simulators")?;
    let temp;
    let dir = match dir {
        // A store of an earlier demo already holds these tickets' runs: they would not run again.
        Some(dir) if dir.join("stackhand.toml").exists() => bail!(
            "{} already holds a demo deployment; give --dir a new directory (or remove this one)",
            dir.display()
        ),
        Some(dir) => dir,
        None => {
            temp = tempfile::tempdir().context("making a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    let config = crate::sim::write_deployment(&sims, &dir)?;
    let loaded = LoadedConfig::load(&config)?;
    let registry = default_registry();
    let pipeline = Pipeline::open(&loaded, &registry).await?;
    let deployment = pipeline.deployment().clone();
    let intake = Intake::new(pipeline.clone(), "demo", Duration::from_secs(60));
    let lead = world
        .msp
        .technicians
        .iter()
        .find(|t| t.active && t.lead)
        .map(|t| t.email(&world.msp))
        .context("the world's MSP has no active lead to approve")?;
    let approver = Principal::technician(&lead, &[]);

    // The week a tenant is connected: its triage learns its history first (`stackhand triage
    // train`), then the open tickets are taken.
    let learning = (!json)
        .then(|| crate::style::spinner("learning each tenant's closed tickets (triage train)"));
    let mut triage = Vec::new();
    for tenant in pipeline.tenants() {
        let summary = pipeline
            .train_triage(&tenant, 365)
            .await
            .with_context(|| format!("learning {tenant}'s closed tickets"))?;
        triage.push(LearnedTriage { tenant, summary });
    }
    if let Some(learning) = learning {
        learning.finish_and_clear();
    }

    let started = Instant::now();
    let working = (!json).then(|| {
        crate::style::spinner("taking every open ticket through the pipeline (stackhand run)")
    });
    let (polled, outcomes) = intake.once().await?;
    if let Some(working) = &working {
        working.finish_and_clear();
    }
    if let Some(failed) = polled.iter().find(|p| p.error.is_some()) {
        bail!(
            "polling {}'s PSA failed: {}",
            failed.tenant,
            failed.error.as_deref().unwrap_or_default()
        );
    }
    let took = started.elapsed();
    let mut tickets = Vec::new();
    let progress = (!json).then(|| {
        crate::style::bar(
            outcomes.len(),
            "seeing waiting tickets through (approvals, dates)",
        )
    });
    for outcome in outcomes {
        let ticket_started = Instant::now();
        let (outcome, events) = see_through(&pipeline, outcome, &approver).await?;
        if let Some(progress) = &progress {
            progress.inc(1);
        }
        let approved_by = events
            .iter()
            .any(|e| e.contains(" approved "))
            .then(|| lead.clone());
        let expected = expected(outcome.tenant.as_str(), &outcome.subject);
        tickets.push(DemoTicket {
            millis: ticket_started.elapsed().as_millis(),
            outcome,
            approved_by,
            events,
            expected,
        });
    }
    if let Some(progress) = progress {
        progress.finish_and_clear();
    }
    tickets.sort_by(|a, b| {
        (a.outcome.tenant.as_str(), &a.outcome.ticket)
            .cmp(&(b.outcome.tenant.as_str(), &b.outcome.ticket))
    });

    let store = deployment.store();
    let mut audit = Vec::new();
    for tenant in store.audit_tenants().await? {
        let summary = store
            .verify_tenant(&tenant)
            .await?
            .map_err(|e| anyhow::anyhow!("the audit chain of {tenant} does not verify: {e}"))?;
        audit.push(AuditSummary {
            tenant: tenant.to_string(),
            events: summary.events,
            head: summary.head,
        });
    }
    let all_as_expected = tickets.iter().all(|t| t.outcome.resolution == t.expected);
    let report = DemoReport {
        world: world.msp.name.clone(),
        deployment: config.display().to_string(),
        triage,
        tickets,
        incidents: polled.into_iter().flat_map(|p| p.incidents).collect(),
        audit,
        all_as_expected,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report, took, &lead);
    }
    Ok(if report.all_as_expected {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_text(report: &DemoReport, took: Duration, lead: &str) {
    println!(
        "stackhand demo: the open tickets of {}'s clients, against the simulators of \
         Microsoft 365, Okta, ConnectWise, Autotask, NinjaOne and Hudu\n",
        report.world
    );
    for learned in &report.triage {
        let s = &learned.summary;
        let figures = s
            .held_out
            .as_ref()
            .map(|f| {
                let share = |name: &str| {
                    f.iter()
                        .find(|e| e.name == name)
                        .map_or(0.0, |e| e.accuracy * 100.0)
                };
                format!(
                    ": {:.0}% right on a held-back fifth (keyword baseline {:.0}%)",
                    share("tenant model"),
                    share("keyword baseline")
                )
            })
            .unwrap_or_default();
        println!(
            "{} triage learned {} closed tickets{figures}",
            learned.tenant, s.learned.labelled
        );
    }
    for incident in &report.incidents {
        let link = &incident.link;
        println!(
            "{} incident ticket #{}{}: {} ticket(s) linked ({}), each with one customer update; \
             {} user(s) mailed once each",
            incident.tenant,
            link.parent,
            match (&link.issue, &link.service) {
                (Some(issue), Some(service)) => format!(" for {service} issue {issue}"),
                _ => String::new(),
            },
            incident.linked.len(),
            incident.children.join(", "),
            incident.told.len(),
        );
    }
    for ticket in &report.tickets {
        crate::live::print_outcome(&ticket.outcome);
        for event in &ticket.events {
            println!("  then      {event}");
        }
    }
    println!(
        "\n{:<12} {:>6}  {:<44} {:<16} {:<16} as expected",
        "tenant", "ticket", "subject", "intent", "outcome"
    );
    for t in &report.tickets {
        let o = &t.outcome;
        let subject: String = o.subject.chars().take(44).collect();
        println!(
            "{:<12} {:>6}  {:<44} {:<16} {:<16} {}",
            o.tenant.as_str(),
            o.ticket,
            subject,
            o.triage.intent.as_deref().unwrap_or("-"),
            format!("{:?}", o.resolution).to_lowercase(),
            if o.resolution == t.expected {
                "yes"
            } else {
                "NO"
            }
        );
    }
    let count = |resolution: Resolution| {
        report
            .tickets
            .iter()
            .filter(|t| t.outcome.resolution == resolution)
            .count()
    };
    let (resolved, linked) = (
        count(Resolution::Resolved),
        count(Resolution::LinkedToIncident),
    );
    println!(
        "\n{} tickets in {:.1?}: {resolved} resolved and closed, {linked} linked to an incident, \
         {} handed to a person; waiting steps approved by {lead}",
        report.tickets.len(),
        took,
        report.tickets.len() - resolved - linked,
    );
    for a in &report.audit {
        println!(
            "audit {}: {} events, chain verified, head {}",
            a.tenant, a.events, a.head
        );
    }
    if report.all_as_expected {
        println!("every ticket ended as expected");
    } else {
        println!("SOME TICKETS DID NOT END AS EXPECTED (the rows marked NO)");
    }
}
