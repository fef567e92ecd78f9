//! `stackhand demo`: the seed scenarios end to end on the embedded default.
//!
//! Everything runs in-process: the in-memory connector stands in for the client's identity
//! provider, PSA and mail; the engine, the layered policy from `examples/policies/` and a
//! JSON-lines audit trail (sealed with a master key kept next to, not in, the audit directory)
//! are the real ones. Each open ticket is mapped to its request by a
//! scripted scenario (learned triage is a separate component), then planned, decided, approved
//! where the policy says so, executed, documented in the PSA, told to the user and closed, or
//! routed to a person with the context attached.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::json;
use stackhand_core::audit::{AuditSink, DerivedAuditKeys, JsonlAuditSink};
use stackhand_core::directory::{MemoryStaffDirectory, RoleScope, StaffMember};
use stackhand_core::engine::Engine;
use stackhand_core::memory::MemoryConnector;
use stackhand_core::policy::{PolicyLoader, Vocabulary};
use stackhand_core::{
    ActionId, ActionRequest, ConnectorSet, IdempotencyKey, Principal, Submission, Tenant,
    TenantGroupId, TenantId, Ticket,
};

const POLICIES: &[(&str, &str)] = &[
    (
        "examples/policies/global.toml",
        include_str!("../../../examples/policies/global.toml"),
    ),
    (
        "examples/policies/tenant-group-legal.toml",
        include_str!("../../../examples/policies/tenant-group-legal.toml"),
    ),
    (
        "examples/policies/acme-law.toml",
        include_str!("../../../examples/policies/acme-law.toml"),
    ),
];

/// What the runner would know about the demo deployment: the names its policies may use,
/// including the vendor actions of every connector this build has (the sample policies name
/// `m365.*` and `okta.*` actions for tenants on those vendors).
fn vocabulary(tenant: &TenantId, group: &TenantGroupId) -> Result<Vocabulary> {
    let vendor = stackhand_runner::default_registry()
        .describe()
        .into_iter()
        .flat_map(|d| d.actions.into_iter().map(|a| a.id));
    Ok(Vocabulary::builtin()
        .with_actions(vendor)
        .with_tenants([tenant.clone()])
        .with_tenant_groups([group.clone()])
        .with_roles(["msp.lead"]))
}

/// What the demo does for one ticket.
struct Scenario {
    ticket: &'static str,
    intent: &'static str,
    action: &'static str,
    params: serde_json::Value,
}

fn scenarios(domain: &str) -> Vec<Scenario> {
    vec![
        Scenario {
            ticket: "1001",
            intent: "account unlock",
            action: "identity.unlock",
            params: json!({ "user": format!("bob@{domain}") }),
        },
        Scenario {
            ticket: "1002",
            intent: "mailbox access",
            action: "identity.grant_mailbox_access",
            params: json!({ "mailbox": format!("shared@{domain}"), "user": format!("jane@{domain}"), "right": "full_access" }),
        },
        Scenario {
            ticket: "1003",
            intent: "password reset",
            action: "identity.reset_password",
            params: json!({ "user": format!("admin@{domain}") }),
        },
        Scenario {
            ticket: "1004",
            intent: "unknown (hardware)",
            action: "",
            params: json!(null),
        },
    ]
}

#[derive(Debug, Serialize)]
struct TicketReport {
    ticket: String,
    subject: String,
    requester: String,
    intent: String,
    action: Option<String>,
    decision: String,
    rule: Option<String>,
    approved_by: Option<String>,
    outcome: String,
    ticket_status: String,
    notes: usize,
    steps: Vec<String>,
}

#[derive(Debug, Serialize)]
struct DemoReport {
    tenant: String,
    tickets: Vec<TicketReport>,
    audit_events: u64,
    audit_head: String,
    audit_dir: String,
    audit_key_file: String,
    messages_sent: usize,
}

struct Demo {
    engine: Engine,
    tenant: TenantId,
    memory: MemoryConnector,
    agent: Principal,
}

impl Demo {
    fn request(
        &self,
        key: String,
        action: &str,
        params: serde_json::Value,
        requester: Principal,
        ticket: &Ticket,
    ) -> Result<ActionRequest> {
        Ok(ActionRequest::new(
            IdempotencyKey::new(key)?,
            self.tenant.clone(),
            ActionId::new(action)?,
            &params,
            requester,
        )?
        .with_ticket(stackhand_core::TicketRef::new("memory", ticket.id.clone()))
        .with_reason(format!("ticket {}: {}", ticket.id, ticket.subject)))
    }

    /// Run a bookkeeping step as the agent (notes, messages, close), requiring it to execute.
    async fn agent_step(
        &self,
        ticket: &Ticket,
        step: &str,
        action: &str,
        params: serde_json::Value,
        log: &mut Vec<String>,
    ) -> Result<()> {
        let key = format!("ticket-{}.{step}", ticket.id);
        let answer = self
            .engine
            .submit(self.request(key, action, params, self.agent.clone(), ticket)?)
            .await?;
        log.push(format!("{action}: {}", answer.label()));
        if answer.receipt().is_none() {
            anyhow::bail!(
                "the policy did not let the agent run {action} ({})",
                describe(&answer)
            );
        }
        Ok(())
    }

    async fn resolve(&self, scenario: &Scenario, ticket: &Ticket) -> Result<TicketReport> {
        let contact = ticket
            .contact
            .clone()
            .context("demo tickets have a contact")?;
        let email = contact
            .email
            .clone()
            .context("demo contacts have an email")?;
        let requester = Principal::end_user(email.clone());
        let mut steps = Vec::new();
        let mut report = TicketReport {
            ticket: ticket.id.clone(),
            subject: ticket.subject.clone(),
            requester: email.clone(),
            intent: scenario.intent.into(),
            action: (!scenario.action.is_empty()).then(|| scenario.action.to_string()),
            decision: "none".into(),
            rule: None,
            approved_by: None,
            outcome: "routed to a person".into(),
            ticket_status: String::new(),
            notes: 0,
            steps: Vec::new(),
        };

        let mut answer = None;
        if !scenario.action.is_empty() {
            let request = self.request(
                format!("ticket-{}.action", ticket.id),
                scenario.action,
                scenario.params.clone(),
                requester,
                ticket,
            )?;
            let mut submitted = self.engine.submit(request).await?;
            steps.push(format!("{}: {}", scenario.action, submitted.label()));
            if let Submission::PendingApproval(approval) = &submitted {
                report.decision = "approval required".into();
                report.rule = Some(approval.decision.rule.to_string());
                // The demo's approver: an MSP lead who is not the requester.
                let lead = Principal::technician("lead@msp.example", &[]);
                submitted = self.engine.approve(approval.id, &lead).await?;
                steps.push(format!("approved by {}: {}", lead.id, submitted.label()));
            }
            answer = Some(submitted);
        }

        match answer.as_ref().and_then(|a| a.receipt()) {
            Some(receipt) if receipt.failure.is_none() => {
                if report.decision == "none" {
                    report.decision = "allowed".into();
                }
                report
                    .rule
                    .get_or_insert_with(|| receipt.decision.rule.to_string());
                report.approved_by = receipt.approved_by.clone();
                report.outcome = format!("{:?}", receipt.outcome.status).to_lowercase();
                let changes = serde_json::to_string(&receipt.outcome.changes)?;
                let internal = format!(
                    "stackhand resolved this ticket.\nPlan: {}\nDecision: {} (rule {})\nChanges: {changes}",
                    receipt.plan.summary, report.decision, receipt.decision.rule
                );
                let told = receipt
                    .outcome
                    .user_message
                    .clone()
                    .unwrap_or_else(|| "Your request is done.".into());
                self.agent_step(
                    ticket,
                    "note-internal",
                    "psa.add_note",
                    json!({ "ticket": ticket.id, "text": internal, "visibility": "internal" }),
                    &mut steps,
                )
                .await?;
                self.agent_step(
                    ticket,
                    "note-customer",
                    "psa.add_note",
                    json!({ "ticket": ticket.id, "text": told, "visibility": "customer" }),
                    &mut steps,
                )
                .await?;
                self.agent_step(ticket, "tell-user", "messaging.send", json!({ "to": email, "subject": format!("Re: {}", ticket.subject), "body": told }), &mut steps).await?;
                self.agent_step(
                    ticket,
                    "close",
                    "psa.close",
                    json!({ "ticket": ticket.id, "resolution": told }),
                    &mut steps,
                )
                .await?;
            }
            _ => {
                if let Some(a) = &answer {
                    report.decision = a.label().replace('_', " ");
                    if let Some(d) = a.denial() {
                        report.rule = Some(d.rule.to_string());
                    }
                    if let Some(r) = a.receipt() {
                        report.outcome = format!(
                            "failed: {}",
                            r.failure
                                .as_ref()
                                .map(|f| f.message.as_str())
                                .unwrap_or("unknown")
                        );
                    }
                }
                let context = format!(
                    "stackhand could not resolve this ticket and routed it to a person.\nIntent: {}\nRequested action: {}\nWhy: {}",
                    scenario.intent,
                    report
                        .action
                        .as_deref()
                        .unwrap_or("none known for this request"),
                    answer
                        .as_ref()
                        .map(describe)
                        .unwrap_or_else(|| "no workflow handles this request".into()),
                );
                self.agent_step(
                    ticket,
                    "note-context",
                    "psa.add_note",
                    json!({ "ticket": ticket.id, "text": context, "visibility": "internal" }),
                    &mut steps,
                )
                .await?;
                self.agent_step(
                    ticket,
                    "route",
                    "psa.reassign",
                    json!({ "ticket": ticket.id, "board": "Escalations" }),
                    &mut steps,
                )
                .await?;
            }
        }
        let state = self.memory.state();
        let after = &state.tickets[&ticket.id];
        report.ticket_status = format!(
            "{} ({})",
            after.status,
            after.board.clone().unwrap_or_default()
        );
        report.notes = state.notes.get(&ticket.id).map_or(0, Vec::len);
        report.steps = steps;
        Ok(report)
    }
}

fn describe(answer: &Submission) -> String {
    match answer {
        Submission::Denied(d) => format!("denied by rule {}: {}", d.rule, d.reason),
        Submission::PendingApproval(a) => format!("waiting for approval ({})", a.decision.rule),
        Submission::Executed(r) => r
            .failure
            .as_ref()
            .map_or_else(|| "executed".to_string(), |f| f.message.clone()),
        Submission::Duplicate(inner) => describe(inner),
    }
}

/// The default key file for an audit directory: `<dir>.key` beside it.
fn default_key_file(audit_dir: &Path) -> Result<PathBuf> {
    let name = audit_dir.file_name().with_context(|| {
        format!(
            "cannot name a key file beside {}: pass --key-file",
            audit_dir.display()
        )
    })?;
    Ok(audit_dir.with_file_name(format!("{}.key", name.to_string_lossy())))
}

pub(crate) async fn run(
    json_output: bool,
    audit_dir: Option<PathBuf>,
    key_file: Option<PathBuf>,
) -> Result<ExitCode> {
    let tenant = TenantId::new("acme-law")?;
    let temp;
    let audit_dir = match audit_dir {
        Some(dir) => dir,
        None => {
            temp = std::env::temp_dir().join(format!("stackhand-demo-{}", std::process::id()));
            temp
        }
    };
    let group = TenantGroupId::new("legal-clients")?;
    let policy = POLICIES
        .iter()
        .fold(
            PolicyLoader::new().vocabulary(vocabulary(&tenant, &group)?),
            |loader, (origin, text)| loader.add_str(*origin, *text),
        )
        .build()?;
    let key_file = match key_file {
        Some(path) => path,
        None => default_key_file(&audit_dir)?,
    };
    let keys = DerivedAuditKeys::load_or_create_file(&key_file)?;
    let audit_sink = Arc::new(JsonlAuditSink::open(&audit_dir, keys)?);
    // The demo MSP's staff: its lead approves in every client tenant.
    let staff = MemoryStaffDirectory::new()
        .with(StaffMember::technician("lead@msp.example").role("msp.lead", RoleScope::AllTenants));
    let engine = Engine::builder(Arc::new(policy), audit_sink.clone())
        .staff(Arc::new(staff))
        .build();
    let memory = MemoryConnector::demo(tenant.clone());
    engine.add_tenant(
        Tenant::new(tenant.clone(), "Acme Law LLP").in_group(group),
        ConnectorSet::new(tenant.clone()).with(Arc::new(memory.clone()))?,
    )?;
    let demo = Demo {
        engine,
        tenant: tenant.clone(),
        memory,
        agent: Principal::agent("stackhand"),
    };

    let psa_tickets = {
        let ctx = demo.engine.connectors(&tenant)?;
        ctx.psa()?.poll_tickets(&Default::default()).await?
    };
    let domain = format!("{tenant}.example");
    let mut reports = Vec::new();
    for scenario in scenarios(&domain) {
        let ticket = psa_tickets
            .iter()
            .find(|t| t.id == scenario.ticket)
            .with_context(|| format!("seed ticket {} is missing", scenario.ticket))?;
        reports.push(demo.resolve(&scenario, ticket).await?);
    }

    let summary = audit_sink
        .verify_tenant(&tenant)
        .await?
        .context("the demo's audit trail does not verify")?;
    let report = DemoReport {
        tenant: tenant.to_string(),
        tickets: reports,
        audit_events: summary.events,
        audit_head: summary.head,
        audit_dir: audit_dir.display().to_string(),
        audit_key_file: key_file.display().to_string(),
        messages_sent: demo.memory.state().outbox.len(),
    };
    if json_output {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_text(report: &DemoReport) {
    println!(
        "stackhand demo: tenant {} (embedded default: in-memory connector, layered policy, JSON-lines audit)\n",
        report.tenant
    );
    for t in &report.tickets {
        println!("ticket {} \"{}\" from {}", t.ticket, t.subject, t.requester);
        println!("  intent    {}", t.intent);
        println!("  action    {}", t.action.as_deref().unwrap_or("-"));
        println!(
            "  decision  {}{}",
            t.decision,
            t.rule
                .as_ref()
                .map(|r| format!(" (rule {r})"))
                .unwrap_or_default()
        );
        if let Some(by) = &t.approved_by {
            println!("  approved  by {by}");
        }
        println!("  outcome   {}", t.outcome);
        println!("  ticket    {}, {} note(s)", t.ticket_status, t.notes);
        for step in &t.steps {
            println!("    - {step}");
        }
        println!();
    }
    println!("messages sent to users: {}", report.messages_sent);
    println!(
        "audit trail: {} events, chain verified, head {}",
        report.audit_events, report.audit_head
    );
    println!("audit files: {}", report.audit_dir);
    println!(
        "verify them: stackhand audit verify {} --key-file {}",
        report.audit_dir, report.audit_key_file
    );
}
