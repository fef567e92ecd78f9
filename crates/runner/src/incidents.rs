//! Incident linking: open tickets that look alike, handled as one incident before any of them
//! is troubleshot on its own.
//!
//! Each time the intake polls a tenant ([`Intake::poll`](crate::Intake::poll)), before it
//! queues the tickets, [`link`] takes the tenant's open tickets created within the
//! [window](IncidentSettings::window_minutes) and groups those that look alike ([`clusters`]):
//! two tickets look alike when their subjects name the same service ([`service_named`]:
//! Outlook, OWA, email → Exchange Online; Teams → Microsoft Teams; SharePoint, OneDrive →
//! SharePoint Online) or when their texts are similar ([`similarity`]: the cosine of their
//! sets of lower-case content words, stop words left out, at least
//! [`similarity`](IncidentSettings::similarity)). Only the subject names the service: a body
//! mentions services in passing ("Teams and email work fine").
//!
//! For a group of a Microsoft 365 tenant about a Microsoft service, the service's open health
//! issues are read (`m365.list_service_issues`, planned through the engine: a read, audited).
//! A group becomes an incident when such an issue is open and its tickets come from at least
//! [`min_tickets_with_issue`](IncidentSettings::min_tickets_with_issue) people, or from at
//! least [`min_tickets`](IncidentSettings::min_tickets) without one (one person's repeated
//! tickets are duplicates, not an incident). Then, each as a durable run of
//! the agent `stackhand` through the engine and the policy:
//!
//! - `incident-<key>` opens the parent ticket with the PSA's own action
//!   (`connectwise.create_ticket`, `autotask.open_problem`); the key is the issue's id
//!   (`EX912345`), or the service and the group's first ticket;
//! - `ticket-<id>.incident`, for each child, links it to the parent (`psa.link_to_parent`) and
//!   posts one customer-visible note saying what is known and where it is tracked;
//! - `incident-<parent>.tell-<login>` mails each affected user once (`messaging.send`), however
//!   many of their tickets the incident holds; only directory users are mailed.
//!
//! The pipeline then finds a child's `ticket-<id>.incident` run and stops there
//! ([`Resolution::LinkedToIncident`](crate::Resolution::LinkedToIncident)): no triage-driven
//! workflow runs for it. Linking again changes nothing: a child already linked has its
//! `parent_id` in the PSA and is not linked again; a ticket that looks like a linked one joins
//! that one's parent; the runs are recorded once per id, so a second parent, note or mail is
//! never made; and parent tickets (a ticket some open ticket names as its parent) are never
//! queued, since an incident is a person's to close.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stackhand_core::{IdempotencyKey, Result, TenantId, Ticket, TicketQuery};
use stackhand_store::{NewRun, RunState};

use crate::pipeline::{Pipeline, TenantPipeline};
use crate::runs::RunReport;

/// `[incidents]` in `stackhand.toml`: when open tickets that look alike become one incident.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentSettings {
    /// Link incidents at all (default true).
    pub enabled: bool,
    /// How far back (minutes) open tickets are grouped (default 120).
    pub window_minutes: i64,
    /// Look-alike tickets, from this many people, that make an incident on their own
    /// (default 3).
    pub min_tickets: usize,
    /// Look-alike tickets, from this many people, that make an incident when the vendor
    /// reports an open issue of their service (default 2).
    pub min_tickets_with_issue: usize,
    /// The [`similarity`] at which two tickets' texts look alike (default 0.5).
    pub similarity: f64,
}

impl Default for IncidentSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            window_minutes: 120,
            min_tickets: 3,
            min_tickets_with_issue: 2,
            similarity: 0.5,
        }
    }
}

/// What a child ticket was linked to (kept as its `ticket-<id>.incident` run's origin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentLink {
    /// The parent ticket's PSA id.
    pub parent: String,
    /// The service the tickets are about (`Exchange Online`), when their subjects name one.
    #[serde(default)]
    pub service: Option<String>,
    /// The vendor's issue (`EX912345`), when one is open for that service.
    #[serde(default)]
    pub issue: Option<String>,
    /// The issue's title.
    #[serde(default)]
    pub title: Option<String>,
}

impl IncidentLink {
    /// What the customer is told on each child ticket (and by mail).
    pub fn update(&self) -> String {
        let tracked = format!(
            "we are tracking it in ticket #{} and will update you when it is fixed; there is \
             nothing you need to do",
            self.parent
        );
        match (&self.issue, &self.service) {
            (Some(issue), Some(service)) => format!(
                "Microsoft is working on incident {issue} in {service}: {}. {}.",
                self.title.as_deref().unwrap_or("no details yet"),
                upper_first(&tracked)
            ),
            (_, Some(service)) => format!(
                "Several people have reported the same problem with {service}: we are \
                 investigating it as one incident. {}.",
                upper_first(&tracked)
            ),
            _ => format!(
                "Several people have reported the same problem: we are investigating it as one \
                 incident. {}.",
                upper_first(&tracked)
            ),
        }
    }

    /// Why the pipeline stopped at the link, in a sentence.
    pub fn why(&self) -> String {
        let about = match (&self.issue, &self.service) {
            (Some(issue), Some(service)) => format!(" ({service}, Microsoft's {issue})"),
            (_, Some(service)) => format!(" ({service})"),
            _ => String::new(),
        };
        format!(
            "linked to incident ticket #{}{about}; no per-ticket troubleshooting",
            self.parent
        )
    }
}

fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// What [`link`] did for one incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentReport {
    /// The tenant.
    pub tenant: TenantId,
    /// The link every child has.
    pub link: IncidentLink,
    /// Every ticket of the group (PSA ids).
    pub children: Vec<String>,
    /// Of those, linked in this pass.
    pub linked: Vec<String>,
    /// The users told by mail in this pass (directory logins), each once per incident.
    pub told: Vec<String>,
}

/// What [`link`] found for a tenant: the incidents, and the parent tickets (not to be queued).
#[derive(Debug, Clone, Default)]
pub struct LinkPass {
    /// Each incident touched.
    pub incidents: Vec<IncidentReport>,
    /// Every parent ticket seen or made (PSA ids).
    pub parents: HashSet<String>,
}

/// Words that say nothing about what is wrong.
const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "but", "by", "can", "cannot", "cant", "could", "did", "do", "does", "doesn", "don",
    "for", "from", "get", "got", "had", "has", "have", "hi", "how", "i", "if", "in", "into", "is",
    "isn", "it", "its", "just", "keep", "keeps", "kind", "me", "my", "no", "not", "of", "on", "or",
    "our", "please", "regards", "since", "so", "some", "still", "t", "team", "thank", "thanks",
    "that", "the", "their", "them", "then", "there", "this", "to", "up", "us", "was", "we", "what",
    "when", "which", "why", "will", "with", "won", "would", "you", "your",
];

/// Words in a subject that name a Microsoft 365 service, as Graph's service health names it.
const SERVICE_WORDS: &[(&str, &str)] = &[
    ("outlook", "Exchange Online"),
    ("owa", "Exchange Online"),
    ("email", "Exchange Online"),
    ("emails", "Exchange Online"),
    ("mail", "Exchange Online"),
    ("mails", "Exchange Online"),
    ("webmail", "Exchange Online"),
    ("inbox", "Exchange Online"),
    ("outbox", "Exchange Online"),
    ("exchange", "Exchange Online"),
    ("teams", "Microsoft Teams"),
    ("sharepoint", "SharePoint Online"),
    ("onedrive", "SharePoint Online"),
];

fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// The service `subject` names: its first word in the keyword map (`"OWA not loading"` →
/// `Exchange Online`), or none.
pub fn service_named(subject: &str) -> Option<&'static str> {
    tokens(subject).find_map(|word| {
        SERVICE_WORDS
            .iter()
            .find(|(w, _)| *w == word)
            .map(|(_, service)| *service)
    })
}

/// The content words of `text`: lower case, stop words and one-letter words left out, a plural
/// `s` taken off words longer than four letters (`emails` → `email`).
pub fn words(text: &str) -> BTreeSet<String> {
    tokens(text)
        .filter(|w| w.chars().count() > 1 && !STOP_WORDS.contains(&w.as_str()))
        .map(|w| match w.strip_suffix('s') {
            Some(stem) if stem.chars().count() > 3 && !stem.ends_with('s') => stem.to_string(),
            _ => w,
        })
        .collect()
}

/// The cosine similarity of two word sets, `|a ∩ b| / sqrt(|a| |b|)`: 1 for the same words, 0
/// for none in common (or an empty set).
pub fn similarity(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let common = a.intersection(b).count() as f64;
    common / ((a.len() * b.len()) as f64).sqrt()
}

/// Tickets that look alike.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// The service most of them name, if any does.
    pub service: Option<&'static str>,
    /// The tickets, in PSA id order.
    pub tickets: Vec<Ticket>,
}

impl Cluster {
    /// How many people wrote its tickets (by contact address; a ticket without one counts as
    /// someone else): what the sizes of [`IncidentSettings`] count, since one person's repeated
    /// tickets are duplicates, not an incident.
    pub fn people(&self) -> usize {
        let mut seen = BTreeSet::new();
        self.tickets
            .iter()
            .filter(|t| {
                let who = t.contact.as_ref().and_then(|c| c.email.as_deref());
                seen.insert(who.map_or_else(|| format!("#{}", t.id), str::to_lowercase))
            })
            .count()
    }

    /// The content words of all its tickets.
    fn words(&self) -> BTreeSet<String> {
        self.tickets
            .iter()
            .flat_map(|t| words(&format!("{} {}", t.subject, t.body)))
            .collect()
    }
}

/// The groups of two or more open `tickets` created within `settings`' window before `now`
/// that look alike: linked when their subjects name the same service or their texts are at
/// least `settings.similarity` alike, and grouped with everything they are linked to.
pub fn clusters(
    tickets: &[Ticket],
    now: DateTime<Utc>,
    settings: &IncidentSettings,
) -> Vec<Cluster> {
    let start = now - chrono::Duration::minutes(settings.window_minutes);
    let mut open: Vec<&Ticket> = tickets
        .iter()
        .filter(|t| !t.closed && t.created >= start)
        .collect();
    open.sort_by(|a, b| by_id(&a.id, &b.id));
    let services: Vec<Option<&'static str>> =
        open.iter().map(|t| service_named(&t.subject)).collect();
    let texts: Vec<BTreeSet<String>> = open
        .iter()
        .map(|t| words(&format!("{} {}", t.subject, t.body)))
        .collect();
    // Union-find over "looks alike".
    let mut root: Vec<usize> = (0..open.len()).collect();
    fn find(root: &mut [usize], i: usize) -> usize {
        let mut i = i;
        while root[i] != i {
            root[i] = root[root[i]];
            i = root[i];
        }
        i
    }
    for i in 0..open.len() {
        for j in i + 1..open.len() {
            let same_service = services[i].is_some() && services[i] == services[j];
            if same_service || similarity(&texts[i], &texts[j]) >= settings.similarity {
                let (a, b) = (find(&mut root, i), find(&mut root, j));
                root[b.max(a)] = a.min(b);
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..open.len() {
        let r = find(&mut root, i);
        groups.entry(r).or_default().push(i);
    }
    groups
        .into_values()
        .filter(|members| members.len() > 1)
        .map(|members| {
            let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
            for service in members.iter().filter_map(|&i| services[i]) {
                *counts.entry(service).or_default() += 1;
            }
            let service = counts
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(service, _)| *service);
            Cluster {
                service,
                tickets: members.iter().map(|&i| open[i].clone()).collect(),
            }
        })
        .collect()
}

/// PSA ids in order: numerically where both are numbers.
fn by_id(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => a.cmp(b),
    }
}

/// An open vendor issue of a cluster's service.
#[derive(Debug, Clone)]
struct Issue {
    id: String,
    title: String,
}

/// Link `tenant`'s look-alike open tickets as incidents (see the module docs). `polled` are the
/// tickets the intake just read, changed since `since`; the window is read from the PSA again
/// only when they do not cover it. A tenant in shadow mode, or with linking disabled, only has
/// its parent tickets found.
pub async fn link(
    pipeline: &Pipeline,
    tenant: &TenantId,
    polled: &[Ticket],
    since: Option<DateTime<Utc>>,
) -> Result<LinkPass> {
    let deployment = pipeline.deployment();
    let settings = pipeline.incident_settings();
    let part = pipeline.part(tenant)?;
    let now = deployment.clock().now();
    let start = now - chrono::Duration::minutes(settings.window_minutes);
    let window = if since.is_none_or(|since| since <= start) {
        polled.to_vec()
    } else {
        let query = TicketQuery {
            since: Some(start),
            ..TicketQuery::default()
        };
        let reads = deployment.engine().connectors(tenant)?;
        reads.psa()?.poll_tickets(&query).await?
    };
    let mut pass = LinkPass {
        incidents: Vec::new(),
        parents: window
            .iter()
            .chain(polled)
            .filter_map(|t| t.parent_id.clone())
            .collect(),
    };
    if !settings.enabled || part.shadow {
        return Ok(pass);
    }
    let candidates: Vec<Ticket> = window
        .into_iter()
        .filter(|t| !pass.parents.contains(&t.id))
        .collect();
    for cluster in clusters(&candidates, now, settings) {
        match incident(pipeline, tenant, part, &cluster).await {
            Ok(Some(report)) => {
                pass.parents.insert(report.link.parent.clone());
                pass.incidents.push(report);
            }
            Ok(None) => {}
            // A vendor that cannot answer now: the poll is tried again, nothing queued yet.
            Err(err) if err.is_temporary() => return Err(err),
            // One incident that cannot be linked leaves its tickets to the pipeline.
            Err(err) => {
                tracing::warn!(%tenant, error = %err, "linking an incident failed");
            }
        }
    }
    Ok(pass)
}

/// One cluster as an incident, if it is one: the parent found or opened, the children linked
/// and noted, their users told.
async fn incident(
    pipeline: &Pipeline,
    tenant: &TenantId,
    part: &TenantPipeline,
    cluster: &Cluster,
) -> Result<Option<IncidentReport>> {
    let settings = pipeline.incident_settings();
    let unlinked: Vec<&Ticket> = cluster
        .tickets
        .iter()
        .filter(|t| t.parent_id.is_none())
        .collect();
    if unlinked.is_empty() {
        // Linked already (an earlier pass): what was recorded, without asking any vendor.
        return recorded(pipeline, tenant, cluster).await;
    }
    let issue = match cluster.service {
        Some(service) if pipeline.deployment().identity_of(tenant) == Some("m365") => {
            open_issue(pipeline, tenant, part, cluster, service).await?
        }
        _ => None,
    };
    let existing = cluster.tickets.iter().find_map(|t| t.parent_id.clone());
    let needed = if issue.is_some() {
        settings.min_tickets_with_issue
    } else {
        settings.min_tickets
    };
    if existing.is_none() && cluster.people() < needed {
        return Ok(None);
    }
    let first = &cluster.tickets[0];
    let parent = match existing {
        Some(parent) => parent,
        None => {
            let key = match (&issue, cluster.service) {
                (Some(issue), _) => issue.id.clone(),
                (None, Some(service)) => format!("{}-{}", slug(service), first.id),
                (None, None) => format!("alike-{}", first.id),
            };
            match open_parent(pipeline, tenant, part, cluster, issue.as_ref(), &key).await? {
                Some(parent) => parent,
                None => return Ok(None),
            }
        }
    };
    let link = IncidentLink {
        parent: parent.clone(),
        service: cluster.service.map(str::to_string),
        issue: issue.as_ref().map(|i| i.id.clone()),
        title: issue.as_ref().map(|i| i.title.clone()),
    };
    let executor = pipeline.deployment().runs();
    let mut linked = Vec::new();
    // Who is told is read before anything is written, so a failed read writes nothing.
    let mut users = BTreeMap::new();
    for ticket in &unlinked {
        if let Ok(user) = pipeline.requester(tenant, ticket).await? {
            users.insert(ticket.id.clone(), user.login);
        }
    }
    let mut told: BTreeMap<String, &Ticket> = BTreeMap::new();
    for ticket in unlinked {
        let steps = [
            (
                "psa.link_to_parent",
                json!({ "ticket": ticket.id, "parent": parent }),
            ),
            (
                "psa.add_note",
                json!({ "ticket": ticket.id, "text": link.update(), "visibility": "customer" }),
            ),
        ];
        let mut run = NewRun::new(
            format!("ticket-{}.incident", ticket.id),
            format!("link to incident ticket #{parent} and tell the customer"),
        )
        .ticket(ticket.id.clone())
        .origin(serde_json::to_string(&link)?);
        for (action, params) in steps {
            run = run.step(agent_request(
                pipeline, tenant, part, ticket, action, params,
            )?);
        }
        let report = executor.start(tenant, run).await?;
        if report.state == RunState::Succeeded {
            linked.push(ticket.id.clone());
            if let Some(login) = users.remove(&ticket.id) {
                told.entry(login).or_insert(ticket);
            }
        }
    }
    let mut mailed = Vec::new();
    for (login, ticket) in told {
        let id = format!("incident-{parent}.tell-{login}");
        // Told already, about an earlier ticket of this incident.
        if pipeline
            .deployment()
            .store()
            .runs()
            .get(tenant, &id)
            .await?
            .is_some()
        {
            continue;
        }
        let mail = json!({
            "to": ticket.contact.as_ref().and_then(|c| c.email.clone()).unwrap_or(login.clone()),
            "subject": format!(
                "{}: we are on it (ticket #{parent})",
                link.service.as_deref().unwrap_or("A known problem")
            ),
            "body": link.update(),
        });
        let run = NewRun::new(id, format!("tell {login} about incident ticket #{parent}")).step(
            agent_request(pipeline, tenant, part, ticket, "messaging.send", mail)?,
        );
        executor.start(tenant, run).await?;
        mailed.push(login);
    }
    Ok(Some(IncidentReport {
        tenant: tenant.clone(),
        link,
        children: cluster.tickets.iter().map(|t| t.id.clone()).collect(),
        linked,
        told: mailed,
    }))
}

/// The incident of a cluster whose tickets are all linked, as its first child's
/// `ticket-<id>.incident` run recorded it (none when no child was linked by stackhand).
async fn recorded(
    pipeline: &Pipeline,
    tenant: &TenantId,
    cluster: &Cluster,
) -> Result<Option<IncidentReport>> {
    let runs = pipeline.deployment().store().runs();
    for ticket in &cluster.tickets {
        let run = runs
            .get(tenant, &format!("ticket-{}.incident", ticket.id))
            .await?;
        if let Some(link) = run.and_then(|r| link_of(r.origin.as_deref())) {
            return Ok(Some(IncidentReport {
                tenant: tenant.clone(),
                link,
                children: cluster.tickets.iter().map(|t| t.id.clone()).collect(),
                linked: Vec::new(),
                told: Vec::new(),
            }));
        }
    }
    Ok(None)
}

/// The link kept as an incident run's origin.
fn link_of(origin: Option<&str>) -> Option<IncidentLink> {
    serde_json::from_str(origin?).ok()
}

/// The open issue of `service` that best matches the cluster's words (Microsoft's service
/// health, read through an audited plan of `m365.list_service_issues`), if any.
async fn open_issue(
    pipeline: &Pipeline,
    tenant: &TenantId,
    part: &TenantPipeline,
    cluster: &Cluster,
    service: &str,
) -> Result<Option<Issue>> {
    let mut request = agent_request(
        pipeline,
        tenant,
        part,
        &cluster.tickets[0],
        "m365.list_service_issues",
        json!({ "open_only": true, "service": service }),
    )?;
    request.idempotency_key = IdempotencyKey::new(format!(
        "incident-check.{}.{}",
        slug(service),
        pipeline.deployment().clock().now().timestamp_millis()
    ))?;
    let plan = pipeline.deployment().engine().plan(&request).await?;
    let mut issues: Vec<Issue> = Vec::new();
    let mut best = 0.0;
    let wanted = cluster.words();
    let listed = plan.state_before["issues"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for issue in &listed {
        let text = |field: &str| issue[field].as_str().unwrap_or_default().to_string();
        if issue["isResolved"].as_bool() == Some(true) || text("service") != service {
            continue;
        }
        let found = Issue {
            id: text("id"),
            title: text("title"),
        };
        let score = similarity(
            &wanted,
            &words(&format!("{} {}", found.title, text("impactDescription"))),
        );
        if issues.is_empty() || score > best {
            best = score;
            issues.insert(0, found);
        }
    }
    Ok(issues.into_iter().next())
}

/// The parent ticket of the incident `key`: its durable run driven (or started) and the ticket
/// id it read back; `None` when the run did not succeed (refused, waiting, failed).
async fn open_parent(
    pipeline: &Pipeline,
    tenant: &TenantId,
    part: &TenantPipeline,
    cluster: &Cluster,
    issue: Option<&Issue>,
    key: &str,
) -> Result<Option<String>> {
    let deployment = pipeline.deployment();
    let id = format!("incident-{key}");
    let executor = deployment.runs();
    let report = if deployment.store().runs().get(tenant, &id).await?.is_some() {
        executor.drive(tenant, &id).await?
    } else {
        let service = cluster.service.unwrap_or("several users");
        let summary: String = match issue {
            Some(issue) => format!("{service} incident {}: {}", issue.id, issue.title),
            None => format!("{service}: {} alike tickets", cluster.tickets.len()),
        }
        .chars()
        .take(100)
        .collect();
        let description = format!(
            "stackhand opened this incident for {} tickets that look alike:\n{}",
            cluster.tickets.len(),
            cluster
                .tickets
                .iter()
                .map(|t| format!("- #{} {}", t.id, t.subject))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let (action, params) = match part.psa.as_str() {
            "connectwise" => (
                "connectwise.create_ticket",
                json!({ "summary": summary, "description": description }),
            ),
            "autotask" => (
                "autotask.open_problem",
                json!({ "title": summary, "description": description }),
            ),
            other => {
                tracing::info!(%tenant, psa = other, "no parent ticket action for this PSA");
                return Ok(None);
            }
        };
        let run = NewRun::new(id.clone(), format!("open the incident ticket {key}")).step(
            agent_request(pipeline, tenant, part, &cluster.tickets[0], action, params)?,
        );
        executor.start(tenant, run).await?
    };
    if report.state != RunState::Succeeded {
        tracing::warn!(%tenant, run = id, reason = ?report.reason, "the incident ticket was not opened");
        return Ok(None);
    }
    let record = deployment.store().runs().get(tenant, &id).await?;
    let output = record
        .and_then(|r| r.steps.into_iter().next())
        .and_then(|s| s.output)
        .unwrap_or(Value::Null);
    Ok(["ticket_id", "problem_ticket_id"]
        .iter()
        .find_map(|field| match &output[*field] {
            Value::String(id) => Some(id.clone()),
            Value::Number(id) => Some(id.to_string()),
            _ => None,
        }))
}

/// A request of the agent about `ticket` (the pipeline's request, with its ticket reference).
fn agent_request(
    pipeline: &Pipeline,
    tenant: &TenantId,
    part: &TenantPipeline,
    ticket: &Ticket,
    action: &str,
    params: Value,
) -> Result<stackhand_core::ActionRequest> {
    let agent = pipeline.agent().clone();
    pipeline.request(tenant, part, ticket, action, params, agent)
}

/// A service as a key part (`Exchange Online` → `exchange-online`).
fn slug(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

/// The incident `ticket` was linked to, with its `ticket-<id>.incident` run driven to its end,
/// if [`link`] linked it (and the run did not fail: a failed link leaves the ticket to the
/// pipeline).
pub(crate) async fn linked(
    pipeline: &Pipeline,
    tenant: &TenantId,
    ticket: &Ticket,
) -> Result<Option<(RunReport, IncidentLink)>> {
    let deployment = pipeline.deployment();
    let id = format!("ticket-{}.incident", ticket.id);
    let Some(record) = deployment.store().runs().get(tenant, &id).await? else {
        return Ok(None);
    };
    let Some(link) = link_of(record.origin.as_deref()) else {
        return Ok(None);
    };
    let report = deployment.runs().drive(tenant, &id).await?;
    Ok((report.state != RunState::Failed).then_some((report, link)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_services_and_bodies_do_not_count() {
        for (subject, service) in [
            (
                "OWA not loading for several people",
                Some("Exchange Online"),
            ),
            (
                "Outlook keeps asking for my password",
                Some("Exchange Online"),
            ),
            ("Can't send e-mail", Some("Exchange Online")),
            ("Teams calls drop after a minute", Some("Microsoft Teams")),
            ("OneDrive not syncing", Some("SharePoint Online")),
            ("Litigation Team access for Priya and Tom", None),
            ("Can't reach the case management system", None),
        ] {
            assert_eq!(service_named(subject), service, "{subject}");
        }
    }

    #[test]
    fn similarity_is_the_cosine_of_content_words() {
        let a = words("The printer on the 2nd floor keeps jamming");
        assert_eq!(
            a,
            ["2nd", "floor", "jamming", "printer"]
                .map(String::from)
                .into()
        );
        let b = words("2nd floor printer jamming again!");
        assert!((similarity(&a, &b) - 1.0).abs() < 1e-9);
        let c = words("printer out of toner");
        let expected = 1.0 / (4.0f64 * 3.0).sqrt();
        assert!((similarity(&a, &c) - expected).abs() < 1e-9);
        assert_eq!(similarity(&a, &BTreeSet::new()), 0.0);
        assert_eq!(words("emails Emails"), ["email"].map(String::from).into());
    }

    fn ticket(id: u32, subject: &str, body: &str, minutes_ago: i64, now: DateTime<Utc>) -> Ticket {
        serde_json::from_value(json!({
            "id": id.to_string(),
            "tenant": "t",
            "subject": subject,
            "body": body,
            "created": now - chrono::Duration::minutes(minutes_ago),
            "status": "New",
        }))
        .unwrap()
    }

    fn from(mut ticket: Ticket, email: &str) -> Ticket {
        ticket.contact = Some(stackhand_core::Contact {
            id: email.into(),
            name: email.into(),
            email: Some(email.into()),
            company_id: None,
            active: true,
        });
        ticket
    }

    #[test]
    fn a_clusters_size_is_the_people_who_wrote() {
        let now = Utc::now();
        let cluster = Cluster {
            service: Some("Exchange Online"),
            tickets: vec![
                from(ticket(1, "Outlook down", "", 5, now), "a@x.example"),
                from(ticket(2, "Outlook still down", "", 4, now), "A@x.example"),
                from(ticket(3, "email down", "", 3, now), "b@x.example"),
                ticket(4, "no email", "", 2, now),
            ],
        };
        assert_eq!(cluster.people(), 3);
    }

    #[test]
    fn alike_tickets_in_the_window_cluster_and_others_do_not() {
        let now = Utc::now();
        let tickets = [
            ticket(1, "Outlook keeps asking for my password", "", 30, now),
            ticket(2, "emails not syncing on my phone", "", 40, now),
            ticket(3, "Printer on 2nd floor keeps jamming", "error 13", 50, now),
            ticket(4, "2nd floor printer jamming again", "", 20, now),
            ticket(
                5,
                "Teams and email work fine",
                "but the app is down",
                10,
                now,
            ),
            ticket(6, "Can't send mail", "", 300, now),
            ticket(7, "VPN drops", "Teams and Outlook are fine", 10, now),
        ];
        let found = clusters(&tickets, now, &IncidentSettings::default());
        let ids: Vec<(Option<&str>, Vec<&str>)> = found
            .iter()
            .map(|c| (c.service, c.tickets.iter().map(|t| t.id.as_str()).collect()))
            .collect();
        // 5 names Teams first; 6 is outside the window; 7 names no service in its subject.
        assert_eq!(
            ids,
            vec![
                (Some("Exchange Online"), vec!["1", "2"]),
                (None, vec!["3", "4"]),
            ]
        );
    }

    #[test]
    fn the_seed_worlds_tickets_cluster_only_into_the_exchange_outage() {
        let world = stackhand_sim::world::World::builtin();
        let now = Utc::now();
        let settings = IncidentSettings::default();
        for tenant in &world.tenants {
            let tickets: Vec<Ticket> = tenant
                .tickets
                .iter()
                .enumerate()
                .map(|(n, t)| {
                    // A minute after the simulator started, as the intake sees them.
                    let minutes = t.hours_ago * 60 + 1;
                    from(
                        ticket(n as u32, &t.summary, &t.body, minutes, now),
                        &format!("{}@{}", t.requester, tenant.domain),
                    )
                })
                .collect();
            let grouped = clusters(&tickets, now, &settings);
            let found: Vec<Vec<&str>> = grouped
                .iter()
                .map(|c| c.tickets.iter().map(|t| t.subject.as_str()).collect())
                .collect();
            let people: Vec<usize> = grouped.iter().map(Cluster::people).collect();
            match tenant.key.as_str() {
                "contoso-law" => assert_eq!(
                    (found, people),
                    (
                        vec![vec![
                            "Outlook on the web shows an error",
                            "OWA not loading for several people",
                            "Outlook keeps asking for my password",
                            "emails not syncing on my phone",
                            "Can't send mail - stuck in Outbox",
                        ]],
                        vec![5]
                    )
                ),
                // Two alike tickets, fewer than an incident without a vendor issue.
                "globex" => assert_eq!(
                    found,
                    vec![vec![
                        "Outlook not receiving email",
                        "No new emails since 9am"
                    ]]
                ),
                other => panic!("a tenant the test does not know: {other}"),
            }
        }
    }
}
