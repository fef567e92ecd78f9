//! The ticket pipeline: from a PSA ticket to a resolved, documented and closed ticket, or to a
//! person with the context attached.
//!
//! For each ticket:
//!
//! 1. **Who asks.** The ticket's contact address is looked up in the tenant's identity provider;
//!    only a directory user of the tenant is ever acted for. A lookalike domain, a free-mail
//!    address or a contact without an address is not a directory user, so nothing runs.
//! 2. **What is asked.** [`Triage`] answers an intent, the entities it needs (a group, a new
//!    starter's name and role, a leaver, a device, the people a request is for) and, when the
//!    ticket names another user by address, that user. An end user acts only on their own
//!    account; workflows on other people's accounts (onboarding, offboarding) and requests
//!    naming several people are for the tenant's `authorised_contacts` only.
//! 3. **The run.** The tenant's [`Workflow`] for the intent becomes a durable run
//!    (`ticket-<id>`, [`RunExecutor`](crate::runs::RunExecutor); one per person under that
//!    parent for a request naming several) whose every step is a request through the engine,
//!    as the requester, under the policy: executed, waiting for an approval, scheduled for a
//!    date, or refused. A ticket taken up again drives the run recorded for it.
//! 4. **The ticket.** A run that succeeded is documented in the PSA (an internal note with the
//!    plan, decisions and results, a customer-visible resolution) and the ticket is closed. A run
//!    waiting for an approval or a date gets a note saying so. Anything else gets an internal
//!    note saying what was found, what was done and why it stopped, and is reassigned to the
//!    tenant's escalation (`escalation` in its configuration). These steps are a durable run of
//!    their own (`ticket-<id>.done`, `.waiting-<step>`, `.scheduled-<step>` or `.routed`), done
//!    by the agent `stackhand` under the policy like everything else.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{Datelike as _, NaiveDate, Weekday};

use serde::Serialize;
use serde_json::json;
use stackhand_core::{
    ActionId, ActionRequest, Assignment, Error, ErrorKind, IdempotencyKey, Principal, Registry,
    Result, TenantId, Ticket, TicketRef, User, UserQuery,
};
use stackhand_store::{NewRun, RunState};

use crate::config::{LoadedConfig, RoleTemplate};
use crate::deployment::Deployment;
use crate::incidents::{IncidentLink, IncidentSettings};
use crate::runs::RunReport;
use crate::workflow::{Bindings, Workflow, WorkflowSet};
use stackhand_triage::classifier::base_model;
use stackhand_triage::target::proposed_login;
use stackhand_triage::tenant::TenantSummary;
use stackhand_triage::{DecidingTriage, Model, ModelTriage, People, Triage, Triaged};

/// How a ticket ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Done, documented and closed.
    Resolved,
    /// A step waits for an approver; the ticket stays open.
    WaitingApproval,
    /// What could be done now is done; the rest runs on its date (credentials delivered before
    /// a start date, a leaver's access removed on the leave date). The ticket stays open.
    Scheduled,
    /// Handed to a person with a note.
    Routed,
    /// Shadow mode: planned, nothing executed, nothing written.
    Shadowed,
    /// One of several tickets about the same problem: linked to an incident's parent ticket
    /// and told so ([`incidents`](crate::incidents)); not troubleshot on its own.
    LinkedToIncident,
}

/// One step as shadow mode sees it: planned and decided by the policy, never executed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShadowStep {
    /// The action.
    pub action: String,
    /// The plan's summary, or why it cannot be planned.
    pub summary: String,
    /// What the policy decides; none when the step cannot be planned.
    pub effect: Option<ShadowEffect>,
}

/// What the policy decides for a shadow step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum ShadowEffect {
    /// It would run.
    Allow,
    /// It would wait for an approver.
    Approve,
    /// It would be refused, by this rule.
    Deny {
        /// The deciding rule.
        rule: String,
    },
}

impl std::fmt::Display for ShadowStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.effect {
            Some(ShadowEffect::Allow) => write!(f, "{} [allowed]", self.summary),
            Some(ShadowEffect::Approve) => write!(f, "{} [needs an approval]", self.summary),
            Some(ShadowEffect::Deny { rule }) => write!(f, "{} [denied by {rule}]", self.summary),
            None => f.write_str(&self.summary),
        }
    }
}

/// What the pipeline did with one ticket.
#[derive(Debug, Clone, Serialize)]
pub struct TicketOutcome {
    /// The tenant.
    pub tenant: TenantId,
    /// The PSA ticket id.
    pub ticket: String,
    /// Its subject.
    pub subject: String,
    /// The directory user who asked, when found.
    pub requester: Option<String>,
    /// What triage found.
    pub triage: Triaged,
    /// The workflow chosen, if any.
    pub workflow: Option<String>,
    /// How it ended.
    pub resolution: Resolution,
    /// Why, in a sentence.
    pub why: String,
    /// The workflow's run, if one ran.
    pub run: Option<RunReport>,
    /// A request for several people: one run each (under the parent `ticket-<id>`), each with
    /// its own status.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<RunReport>,
    /// The PSA steps that documented, closed or routed the ticket.
    pub ticket_steps: Option<RunReport>,
    /// The incident the ticket was linked to, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<IncidentLink>,
    /// Shadow mode: each step planned and decided, nothing executed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shadow: Vec<ShadowStep>,
}

/// A tenant's part of the pipeline.
#[derive(Debug, Clone, Default)]
pub struct TenantPipeline {
    /// Its workflows (global ones with its own on top).
    pub workflows: WorkflowSet,
    /// Where tickets go that stackhand cannot resolve.
    pub escalation: Option<Assignment>,
    /// The PSA vendor key, for ticket references.
    pub psa: String,
    /// Plan only: execute nothing, write nothing to the PSA.
    pub shadow: bool,
    /// In shadow mode, the actions promoted to live: a ticket whose workflow's steps are all
    /// among them runs live.
    pub live_actions: std::collections::BTreeSet<String>,
    /// Tell the user by mail when their ticket is resolved.
    pub notify_users: bool,
    /// Contacts who may ask for work on other accounts (new starters, leavers).
    pub authorised_contacts: Vec<String>,
    /// Role templates by lower-case name.
    pub roles: BTreeMap<String, RoleTemplate>,
    /// How new logins are made (`{first}.{last}@{domain}` by default).
    pub login_format: Option<String>,
    /// What a shadowed ticket's previews are, which names their keys (`<run>.<kind>.<n>`): only
    /// a shadow-mode pass's count in the shadow record as shadowed tickets.
    pub preview: Preview,
}

/// Why a ticket is planned with nothing executed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Preview {
    /// A shadow-mode pass over the tenant's open tickets.
    #[default]
    Shadow,
    /// A backtest replaying a closed ticket.
    Backtest,
    /// A one-off look at one ticket (`stackhand plan`).
    Plan,
}

impl Preview {
    /// The segment its previews' idempotency keys carry.
    pub fn key_segment(self) -> &'static str {
        match self {
            Preview::Shadow => "shadow",
            Preview::Backtest => "backtest",
            Preview::Plan => "plan",
        }
    }
}

/// The pipeline of a deployment.
#[derive(Clone)]
pub struct Pipeline {
    deployment: Deployment,
    tenants: HashMap<TenantId, TenantPipeline>,
    triage: Arc<dyn Triage>,
    /// The model triage of [`from_config`](Self::from_config), whose tenant models the store
    /// keeps; none when the pipeline was given another triage.
    models: Option<Arc<ModelTriage>>,
    agent: Principal,
    incidents: IncidentSettings,
}

/// Names resolved through each tenant's identity provider.
struct DirectoryPeople(Deployment);

#[async_trait::async_trait]
impl People for DirectoryPeople {
    async fn named(&self, tenant: &TenantId, name: &str) -> Result<Vec<String>> {
        let found = self
            .0
            .engine()
            .connectors(tenant)?
            .identity()?
            .find_users(&UserQuery::Name(name.to_string()))
            .await?;
        Ok(found
            .into_iter()
            .filter(|u| u.display_name.eq_ignore_ascii_case(name.trim()))
            .map(|u| u.email.unwrap_or(u.login))
            .collect())
    }
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("tenants", &self.tenants.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// An early end: the ticket goes to a person for this reason (or, in shadow mode, would).
pub(crate) struct Stop(String);

/// What the workflow of a ticket came to.
enum Ran {
    /// Its run, as it stands.
    Run(RunReport),
    /// A request for several people: one run each, as they stand.
    Bulk(Vec<RunReport>),
    /// Shadow mode: each step's plan summary (or why it could not be planned).
    Planned(Vec<ShadowStep>),
}

impl Pipeline {
    /// A pipeline on `deployment` with each tenant's part and `triage`.
    pub fn new(
        deployment: Deployment,
        tenants: HashMap<TenantId, TenantPipeline>,
        triage: Arc<dyn Triage>,
    ) -> Self {
        Self {
            deployment,
            tenants,
            triage,
            models: None,
            agent: Principal::agent("stackhand"),
            incidents: IncidentSettings::default(),
        }
    }

    /// Link look-alike tickets as incidents with `settings` (`[incidents]`).
    pub fn with_incidents(mut self, settings: IncidentSettings) -> Self {
        self.incidents = settings;
        self
    }

    /// When look-alike tickets become an incident.
    pub fn incident_settings(&self) -> &IncidentSettings {
        &self.incidents
    }

    /// The agent the pipeline documents tickets as.
    pub(crate) fn agent(&self) -> &Principal {
        &self.agent
    }

    /// The pipeline of `loaded` on `deployment`: each tenant's workflows (the global files, or
    /// the built-in workflows without any, with the tenant's own on top, checked against the
    /// actions of the built-in catalog and of `registry`'s connectors), its escalation, and
    /// rule triage.
    pub fn from_config(
        deployment: Deployment,
        loaded: &LoadedConfig,
        registry: &Registry,
    ) -> Result<Self> {
        let mut known: Vec<ActionId> = stackhand_core::actions::builtin()
            .specs()
            .map(|s| s.id.clone())
            .collect();
        known.extend(
            registry
                .describe()
                .into_iter()
                .flat_map(|d| d.actions.into_iter().map(|a| a.id)),
        );
        let global = if loaded.config.workflows.is_empty() {
            crate::workflow::builtin(&known)?
        } else {
            WorkflowSet::load(&loaded.config.workflows, &known)?
        };
        let mut tenants = HashMap::new();
        let people: Arc<dyn People> = Arc::new(DirectoryPeople(deployment.clone()));
        let mut triage = ModelTriage::new(base_model()).with_people(people.clone());
        // `[triage.llm]`: an LLM proposes the intent instead of the model.
        let mut llm = crate::llm::llm_triage(loaded, people)?;
        for (id, config) in &loaded.config.tenants {
            if let Some(threshold) = config.triage_threshold {
                let at = format!("tenants.{id}.triage_threshold");
                if !(threshold > 0.0 && threshold < 1.0) {
                    return Err(Error::invalid(format!(
                        "{}: {at} is {threshold}; it is a confidence between 0 and 1 (0.6 by \
                         default: higher routes more tickets to a person, lower acts on more)",
                        loaded.source_of(&at)
                    )));
                }
                triage = triage.with_tenant_threshold(id.clone(), threshold);
                llm = llm.map(|l| l.with_tenant_threshold(id.clone(), threshold));
            }
            let at = format!("tenants.{id}.escalation");
            if let Some(to) = &config.escalation
                && to.board.is_none()
                && to.member.is_none()
            {
                return Err(Error::invalid(format!(
                    "{}: {at} names neither a board nor a member; write {{ board = \"..\" }} \
                     or {{ member = \"..\" }}",
                    loaded.source_of(&at)
                )));
            }
            let Some(psa) = deployment.psa_of(id) else {
                continue;
            };
            tenants.insert(
                id.clone(),
                TenantPipeline {
                    workflows: global.clone().with_files(&config.workflows, &known)?,
                    escalation: config.escalation.clone(),
                    psa: psa.to_string(),
                    shadow: config.shadow,
                    live_actions: live_actions(loaded, id, &config.live_actions, &known)?,
                    notify_users: config.notify_users,
                    authorised_contacts: config.authorised_contacts.clone(),
                    roles: config
                        .roles
                        .iter()
                        .map(|(name, role)| (name.to_lowercase(), role.clone()))
                        .collect(),
                    login_format: config.login_format.clone(),
                    preview: Preview::Shadow,
                },
            );
        }
        let triage = Arc::new(triage);
        let (models, triage): (_, Arc<dyn Triage>) = match llm {
            Some(llm) => (None, Arc::new(llm)),
            None => (Some(triage.clone()), triage),
        };
        Ok(Self {
            models,
            ..Self::new(deployment, tenants, triage).with_incidents(loaded.config.incidents.clone())
        })
    }

    /// Open the deployment of `loaded` ([`Deployment::open`]) and its pipeline
    /// ([`from_config`](Self::from_config)), with each tenant's trained triage model from the
    /// store.
    pub async fn open(loaded: &LoadedConfig, registry: &Registry) -> Result<Self> {
        let deployment = Deployment::open(loaded, registry).await?;
        let pipeline = Self::from_config(deployment, loaded, registry)?;
        pipeline.load_triage_models().await?;
        Ok(pipeline)
    }

    /// Give each tenant with a model in the store (`stackhand triage train`) that model; the
    /// others keep the base model. A stored model this build cannot read is an error that says
    /// to train again, not a silent fall back.
    pub async fn load_triage_models(&self) -> Result<()> {
        let Some(models) = &self.models else {
            return Ok(());
        };
        for tenant in self.deployment.tenants() {
            if let Some(record) = self.deployment.store().triage_model(tenant).await? {
                let model = Model::from_json(&record.model).map_err(|e| {
                    Error::invalid(format!("the triage model of tenant {tenant}: {e}"))
                })?;
                models.set_tenant_model(tenant.clone(), Arc::new(model));
                let summary: TenantSummary =
                    serde_json::from_value(record.summary).map_err(|e| {
                        Error::invalid(format!(
                            "the triage model of tenant {tenant} has a summary this build cannot \
                             read ({e}); train it again with `stackhand triage train --tenant \
                             {tenant}`"
                        ))
                    })?;
                models.set_tenant_learned(tenant.clone(), summary.learned);
            }
        }
        Ok(())
    }

    /// Learn `tenant`'s triage model from its PSA's tickets closed in the last `days` days
    /// (labelled by what the technicians did), keep it in the store, and triage the tenant's
    /// tickets with it from now on: what `stackhand triage train` does.
    pub async fn train_triage(&self, tenant: &TenantId, days: u32) -> Result<TenantSummary> {
        let Some(models) = &self.models else {
            return Err(Error::invalid(
                "this pipeline does not triage by model ([triage.llm] names an LLM, or another \
                 triage was given), so there is no model to train",
            ));
        };
        let reads = self.deployment.engine().connectors(tenant)?;
        let to = chrono::Utc::now();
        let history = reads
            .psa()?
            .history(&stackhand_core::HistoryQuery {
                from: to - chrono::Duration::days(i64::from(days)),
                to,
            })
            .await?;
        let (model, summary) = stackhand_triage::tenant::train(&history, &base_model());
        let summary_json = serde_json::to_value(&summary)
            .map_err(|e| Error::invalid(format!("a triage summary as JSON: {e}")))?;
        self.deployment
            .store()
            .save_triage_model(tenant, &model.to_json(), &summary_json)
            .await?;
        models.set_tenant_model(tenant.clone(), Arc::new(model));
        models.set_tenant_learned(tenant.clone(), summary.learned.clone());
        Ok(summary)
    }

    /// Who approved this kind of change before, from the tenant's history, as a line of the
    /// waiting note (empty when the history names nobody).
    fn approvers_seen(&self, tenant: &TenantId, outcome: &TicketOutcome) -> String {
        let (Some(models), Some(intent)) = (&self.models, &outcome.triage.intent) else {
            return String::new();
        };
        let seen: Vec<String> = models
            .suggested_approvers(tenant, intent)
            .into_iter()
            .take(3)
            .map(|(name, times)| format!("{name} ({times})"))
            .collect();
        if seen.is_empty() {
            String::new()
        } else {
            format!(
                "\nIn this tenant's history, {intent} changes were approved by {}",
                seen.join(", ")
            )
        }
    }

    /// The model triage, when the pipeline triages by model (it does unless `[triage.llm]`
    /// names an LLM, or it was built with [`new`](Self::new) and another triage).
    pub fn model_triage(&self) -> Option<&Arc<ModelTriage>> {
        self.models.as_ref()
    }

    /// The tenants with a PSA, whose tickets the pipeline takes.
    pub fn tenants(&self) -> Vec<TenantId> {
        let mut ids: Vec<TenantId> = self.tenants.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// The deployment.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// How `tenant`'s new logins are made, when its configuration says.
    pub fn login_format(&self, tenant: &TenantId) -> Option<&str> {
        self.tenants.get(tenant)?.login_format.as_deref()
    }

    pub(crate) fn part(&self, tenant: &TenantId) -> Result<&TenantPipeline> {
        self.tenants
            .get(tenant)
            .ok_or_else(|| Error::not_found(format!("the pipeline has no tenant {tenant}")))
    }

    /// Take `ticket` of `tenant` through the pipeline. Processing a ticket again continues
    /// where it stands (its runs are durable): nothing is done twice. A temporary error (a
    /// vendor outage) is returned, to try again later.
    pub async fn process(&self, tenant: &TenantId, ticket: &Ticket) -> Result<TicketOutcome> {
        let part = self.part(tenant)?;
        self.take(tenant, part, ticket).await
    }

    /// What the pipeline would do with `ticket`, as in shadow mode: triaged, requester
    /// resolved, workflow planned (plans audited), nothing executed, nothing written to the PSA.
    pub async fn plan(&self, tenant: &TenantId, ticket: &Ticket) -> Result<TicketOutcome> {
        self.preview(tenant, ticket, Preview::Plan).await
    }

    /// [`plan`](Self::plan), its previews named as `preview`'s.
    pub(crate) async fn preview(
        &self,
        tenant: &TenantId,
        ticket: &Ticket,
        preview: Preview,
    ) -> Result<TicketOutcome> {
        let part = TenantPipeline {
            shadow: true,
            live_actions: Default::default(),
            preview,
            ..self.part(tenant)?.clone()
        };
        self.take(tenant, &part, ticket).await
    }

    /// `part` as it applies to a ticket of `intent`: a shadowed tenant's ticket whose workflow's
    /// steps are all live actions (`live_actions`) runs live.
    fn live_or_shadow<'a>(
        part: &'a TenantPipeline,
        intent: Option<&str>,
    ) -> std::borrow::Cow<'a, TenantPipeline> {
        let live = part.shadow
            && !part.live_actions.is_empty()
            && intent
                .and_then(|i| part.workflows.for_intent(i))
                .is_some_and(|w| {
                    !w.steps.is_empty()
                        && w.steps
                            .iter()
                            .all(|s| part.live_actions.contains(&s.action))
                });
        if live {
            std::borrow::Cow::Owned(TenantPipeline {
                shadow: false,
                ..part.clone()
            })
        } else {
            std::borrow::Cow::Borrowed(part)
        }
    }

    async fn take(
        &self,
        tenant: &TenantId,
        part: &TenantPipeline,
        ticket: &Ticket,
    ) -> Result<TicketOutcome> {
        let triage = self.triage.triage(ticket).await?;
        let part = &*Self::live_or_shadow(part, triage.intent.as_deref());
        let mut outcome = TicketOutcome {
            tenant: tenant.clone(),
            ticket: ticket.id.clone(),
            subject: ticket.subject.clone(),
            requester: None,
            triage,
            workflow: None,
            resolution: Resolution::Routed,
            why: String::new(),
            run: None,
            runs: Vec::new(),
            ticket_steps: None,
            incident: None,
            shadow: Vec::new(),
        };
        // One of several tickets about the same problem: the incident's run is its whole story.
        if let Some((run, link)) = crate::incidents::linked(self, tenant, ticket).await? {
            outcome.resolution = Resolution::LinkedToIncident;
            outcome.requester = self.requester(tenant, ticket).await?.ok().map(|u| u.login);
            outcome.why = link.why();
            outcome.run = Some(run);
            outcome.incident = Some(link);
            return Ok(outcome);
        }
        match self.resolve(tenant, part, ticket, &mut outcome).await? {
            Ok(Ran::Planned(steps)) => {
                outcome.resolution = Resolution::Shadowed;
                outcome.why = format!(
                    "shadow mode: would run {}; nothing was executed",
                    steps
                        .iter()
                        .map(ShadowStep::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                );
                outcome.shadow = steps;
            }
            Ok(Ran::Run(run)) => {
                outcome.resolution = resolution_of(run.state);
                outcome.why = run
                    .reason
                    .clone()
                    .unwrap_or_else(|| "every step ran".to_string());
                outcome.run = Some(run);
            }
            Ok(Ran::Bulk(runs)) => {
                // The ticket is done when every person's run is; one that failed sends it to a
                // person (with what the others did); otherwise it waits as the first that waits.
                let states: Vec<RunState> = runs.iter().map(|r| r.state).collect();
                outcome.resolution = if states.contains(&RunState::Failed) {
                    Resolution::Routed
                } else if let Some(waiting) = states.iter().find(|s| !s.is_finished()) {
                    resolution_of(*waiting)
                } else {
                    Resolution::Resolved
                };
                let unfinished: Vec<String> = runs
                    .iter()
                    .filter(|r| r.state != RunState::Succeeded)
                    .map(|r| {
                        format!(
                            "{} {}: {}",
                            r.summary,
                            r.state,
                            r.reason.as_deref().unwrap_or_default()
                        )
                    })
                    .collect();
                outcome.why = if unfinished.is_empty() {
                    format!("every step ran, for each of {} people", runs.len())
                } else {
                    unfinished.join("; ")
                };
                outcome.runs = runs;
            }
            Err(Stop(why)) => outcome.why = why,
        }
        if part.shadow {
            if outcome.resolution == Resolution::Routed {
                outcome.why = format!("shadow mode: would hand to a person: {}", outcome.why);
            }
            outcome.resolution = Resolution::Shadowed;
            return Ok(outcome);
        }
        outcome.ticket_steps = Some(self.document(tenant, part, ticket, &outcome).await?);
        Ok(outcome)
    }

    /// Steps 1 to 3: the run, or why there is none.
    async fn resolve(
        &self,
        tenant: &TenantId,
        part: &TenantPipeline,
        ticket: &Ticket,
        outcome: &mut TicketOutcome,
    ) -> Result<std::result::Result<Ran, Stop>> {
        let user = match self.requester(tenant, ticket).await? {
            Ok(user) => user,
            Err(stop) => return Ok(Err(stop)),
        };
        let login = user.login.clone();
        outcome.requester = Some(login.clone());
        let Some(intent) = outcome.triage.intent.clone() else {
            return Ok(Err(Stop(format!(
                "stackhand does not recognise what the ticket asks for ({})",
                outcome.triage.reason
            ))));
        };
        // Someone named but not resolved: acting on the requester instead would be a guess.
        if let Some(why) = &outcome.triage.unresolved {
            return Ok(Err(Stop(format!(
                "who the ticket is for is unclear: {why}"
            ))));
        }
        let Some(workflow) = part.workflows.for_intent(&intent) else {
            return Ok(Err(Stop(format!(
                "no workflow handles {intent:?} for this tenant"
            ))));
        };
        outcome.workflow = Some(workflow.id.clone());
        let email = ticket
            .contact
            .as_ref()
            .and_then(|c| c.email.clone())
            .unwrap_or_else(|| login.clone());
        let authorised = part
            .authorised_contacts
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&email) || a.eq_ignore_ascii_case(&login));
        if workflow.authorised_contacts_only {
            if !authorised {
                return Ok(Err(Stop(format!(
                    "the {} workflow acts on other people's accounts, and {login} is not an \
                     authorised contact of this tenant (authorised_contacts)",
                    workflow.id
                ))));
            }
        } else if let Some(other) = &outcome.triage.target {
            let own = user
                .email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(other))
                || login.eq_ignore_ascii_case(other);
            if !own {
                return Ok(Err(Stop(format!(
                    "the ticket asks to act on {other}, and {login} may act only on their own \
                     account"
                ))));
            }
        }
        let mut entities = outcome.triage.entities.clone();
        for (name, value) in &workflow.defaults {
            entities
                .entry(name.clone())
                .or_insert_with(|| value.clone());
        }
        let requester = Principal {
            idp_login: Some(login.clone()),
            ..Principal::end_user(email.clone())
        };
        // Named people the request is for: each gets a run of their own, and only an authorised
        // contact asks for others.
        let people = entities
            .get("people")
            .map(|names| names_in(names))
            .unwrap_or_default();
        if !people.is_empty() {
            if !authorised {
                return Ok(Err(Stop(format!(
                    "the ticket asks for {} as well as or instead of {login}, who may ask only \
                     for their own account (authorised_contacts ask for others)",
                    people.join(", ")
                ))));
            }
            let request = Bulk {
                workflow,
                login: &login,
                requester,
                entities: &entities,
                people,
            };
            return self.bulk(tenant, part, ticket, request).await;
        }
        // A ticket taken up again (after an approval, on a date, by another runner) drives the
        // run recorded for it, never a new plan; one that asks for something else now is noticed.
        let origin = origin_of(&workflow.id, &login, &entities);
        if !part.shadow
            && let Some(existing) = self
                .deployment
                .store()
                .runs()
                .get(tenant, &run_id(ticket))
                .await?
        {
            match existing.origin.as_deref() {
                Some(recorded) if recorded == origin => {
                    let report = self.deployment.runs().drive(tenant, &existing.id).await?;
                    return Ok(Ok(Ran::Run(report)));
                }
                Some(_) => {
                    return Ok(Err(Stop(format!(
                        "the ticket changed after stackhand recorded its run {}: it asks for \
                         something else now, and a recorded run never changes its plan",
                        existing.id
                    ))));
                }
                // Recorded before runs kept their origin: planned again and compared.
                None => {}
            }
        }
        let bindings = match self
            .bindings(tenant, part, ticket, &login, &entities, workflow)
            .await?
        {
            Ok(bindings) => bindings,
            Err(stop) => return Ok(Err(stop)),
        };
        let place = Place {
            tenant,
            part,
            ticket,
        };
        let (run, secrets) =
            match self.planned_run(&place, workflow, &bindings, &requester, run_id(ticket))? {
                Ok(planned) => planned,
                Err(stop) => return Ok(Err(stop)),
            };
        let run = run.origin(origin);
        if part.shadow {
            return Ok(Ok(Ran::Planned(
                self.shadow_plans(run, part.preview).await?,
            )));
        }
        let executor = self.deployment.runs();
        match executor.start_with_secrets(tenant, run, &secrets).await {
            Ok(report) => Ok(Ok(Ran::Run(report))),
            // The ticket asks for something else than when its run was recorded (it was
            // edited): the recorded run is never re-planned, so a person decides.
            Err(err) if err.kind() == ErrorKind::Conflict && !err.is_temporary() => {
                Ok(Err(Stop(format!(
                    "the ticket changed after stackhand recorded its run {}: {}",
                    run_id(ticket),
                    err.message()
                ))))
            }
            Err(err) => Err(err),
        }
    }

    /// `workflow` made concrete with `bindings` as the run `id` of `requester` (and the run
    /// secrets to generate), or why the ticket does not say enough for it.
    fn planned_run(
        &self,
        place: &Place<'_>,
        workflow: &Workflow,
        bindings: &Bindings,
        requester: &Principal,
        id: String,
    ) -> Result<std::result::Result<(NewRun, Vec<String>), Stop>> {
        let missing = workflow.missing(bindings);
        if !missing.is_empty() {
            return Ok(Err(Stop(format!(
                "the ticket does not say which {} the {} workflow needs",
                missing.join(" or "),
                workflow.id
            ))));
        }
        let planned = workflow.plan(bindings)?;
        let mut run = NewRun::new(id, planned.summary).ticket(place.ticket.id.clone());
        for step in planned.steps {
            let request = self.request(
                place.tenant,
                place.part,
                place.ticket,
                &step.action,
                step.params,
                requester.clone(),
            )?;
            run = run.step_with(request, step.flow);
        }
        Ok(Ok((run, planned.secrets)))
    }

    /// Shadow mode: each step of `run` planned and decided by the policy, never executed
    /// (`Engine::preview`, audited).
    async fn shadow_plans(&self, run: NewRun, preview: Preview) -> Result<Vec<ShadowStep>> {
        let mut steps = Vec::new();
        let kind = preview.key_segment();
        for (index, step) in run.steps.into_iter().enumerate() {
            let mut request = step.request;
            request.idempotency_key = IdempotencyKey::new(format!("{}.{kind}.{index}", run.id))?;
            let action = request.action.to_string();
            steps.push(match self.deployment.engine().preview(&request).await {
                Ok((plan, decision)) => ShadowStep {
                    action,
                    summary: plan.summary,
                    effect: Some(match decision.effect {
                        stackhand_core::policy::Effect::Allow => ShadowEffect::Allow,
                        stackhand_core::policy::Effect::RequireApproval { .. } => {
                            ShadowEffect::Approve
                        }
                        stackhand_core::policy::Effect::Deny => ShadowEffect::Deny {
                            rule: decision.rule.to_string(),
                        },
                    }),
                },
                Err(err) => ShadowStep {
                    summary: format!("{action} (cannot be planned: {})", err.message()),
                    action,
                    effect: None,
                },
            });
        }
        Ok(steps)
    }

    /// A request for several people: one run each, `ticket-<id>.for-<n>` under the parent
    /// `ticket-<id>`, all started at once; taken up again, the recorded runs are driven.
    async fn bulk(
        &self,
        tenant: &TenantId,
        part: &TenantPipeline,
        ticket: &Ticket,
        request: Bulk<'_>,
    ) -> Result<std::result::Result<Ran, Stop>> {
        let Bulk {
            workflow,
            login,
            requester,
            entities,
            people,
        } = request;
        let parent = run_id(ticket);
        let origin = origin_of(&workflow.id, login, entities);
        let executor = self.deployment.runs();
        if !part.shadow {
            let recorded = self
                .deployment
                .store()
                .runs()
                .children(tenant, &parent)
                .await?;
            if !recorded.is_empty() {
                if recorded
                    .iter()
                    .any(|r| r.origin.as_deref() != Some(&origin))
                {
                    return Ok(Err(Stop(format!(
                        "the ticket changed after stackhand recorded its runs under {parent}: it \
                         asks for something else now, and a recorded run never changes its plan"
                    ))));
                }
                let driven = futures::future::join_all(
                    recorded.iter().map(|r| executor.drive(tenant, &r.id)),
                )
                .await;
                return Ok(Ok(Ran::Bulk(driven.into_iter().collect::<Result<_>>()?)));
            }
        }
        let mut person_entities = entities.clone();
        person_entities.remove("people");
        let mut runs = Vec::new();
        for (n, name) in people.iter().enumerate() {
            let user = match self.directory_user(tenant, name).await? {
                Ok(user) => user,
                Err(stop) => return Ok(Err(stop)),
            };
            let mut bindings = match self
                .bindings(tenant, part, ticket, login, &person_entities, workflow)
                .await?
            {
                Ok(bindings) => bindings,
                Err(stop) => return Ok(Err(stop)),
            };
            bindings.set("target", user.login.as_str());
            let place = Place {
                tenant,
                part,
                ticket,
            };
            let id = format!("{parent}.for-{n}");
            match self.planned_run(&place, workflow, &bindings, &requester, id)? {
                Ok((run, secrets)) => {
                    runs.push((run.origin(origin.clone()).parent(parent.clone()), secrets));
                }
                Err(stop) => return Ok(Err(stop)),
            }
        }
        if part.shadow {
            let mut plans = Vec::new();
            for (run, _) in runs {
                plans.extend(self.shadow_plans(run, part.preview).await?);
            }
            return Ok(Ok(Ran::Planned(plans)));
        }
        let executor = &executor;
        let started =
            futures::future::join_all(runs.into_iter().map(|(run, secrets)| async move {
                executor.start_with_secrets(tenant, run, &secrets).await
            }))
            .await;
        Ok(Ok(Ran::Bulk(started.into_iter().collect::<Result<_>>()?)))
    }

    /// The placeholders of one ticket: who and what it is about, with what triage found made
    /// concrete (a named person becomes their directory login, a role its template, a weekday
    /// a date), or why that cannot be done.
    async fn bindings(
        &self,
        tenant: &TenantId,
        part: &TenantPipeline,
        ticket: &Ticket,
        login: &str,
        entities: &BTreeMap<String, String>,
        workflow: &Workflow,
    ) -> Result<std::result::Result<Bindings, Stop>> {
        let domain = login.split_once('@').map(|(_, d)| d).unwrap_or_default();
        let mut bindings = Bindings::new()
            .with("target", login)
            .with("requester", login)
            .with("ticket", ticket.id.as_str())
            .with("tenant", tenant.as_str());
        for (name, value) in entities {
            let mut value = value.clone();
            // A mailbox named by its local part alone (`reception@`) is in the requester's domain.
            if name == "mailbox" && value.ends_with('@') {
                value.push_str(domain);
            }
            bindings.set(name, value);
        }
        if let Some(name) = entities.get("new_user") {
            let new_login = match proposed_login(name, part.login_format.as_deref(), domain) {
                Ok(login) => login,
                Err(why) => return Ok(Err(Stop(why))),
            };
            let words: Vec<&str> = name.split_whitespace().collect();
            let nickname = new_login.split('@').next().unwrap_or_default().to_string();
            bindings.set("first_name", words[0]);
            bindings.set("last_name", words[words.len() - 1]);
            bindings.set("display_name", name.as_str());
            bindings.set("mail_nickname", nickname);
            bindings.set("target", new_login.as_str());
            bindings.set("new_login", new_login);
        }
        if let Some(company) = &ticket.company {
            bindings.set("psa_company", company.id.as_str());
        }
        if let Some(vendor) = self.deployment.identity_of(tenant) {
            bindings.set("identity_vendor", vendor);
        }
        let reads = self.deployment.engine().connectors(tenant)?;
        if let Ok(identity) = reads.identity() {
            // What the identity provider offers, by name (`licenses, temporary_access_pass`),
            // for steps that apply only where it does.
            let features = serde_json::to_value(identity.features())?;
            let offered: Vec<&str> = features
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, on)| on.as_bool() == Some(true))
                .map(|(name, _)| name.as_str())
                .collect();
            bindings.set("identity_features", offered.join(", "));
        }
        for role in ["person", "manager"] {
            let Some(name) = entities.get(role) else {
                continue;
            };
            let user = match self.directory_user(tenant, name).await? {
                Ok(user) => user,
                Err(stop) => return Ok(Err(stop)),
            };
            if role == "person" {
                bindings.set("target", user.login.as_str());
                bindings.set("person_name", user.display_name.as_str());
                let status = user.status.clone().unwrap_or_else(|| {
                    if user.enabled { "enabled" } else { "disabled" }.to_string()
                });
                bindings.set("person_status", status);
                // The person's documentation asset, when the tenant has documentation.
                if let Ok(docs) = reads.docs()
                    && let Some(asset) = docs.find_asset("", &user.display_name).await?
                {
                    bindings.set("person_asset", asset.id);
                }
            }
            bindings.set(role, user.email.unwrap_or(user.login));
        }
        if !entities.contains_key("device")
            && !workflow.authorised_contacts_only
            && workflow.uses("device")
        {
            // A ticket about the requester's own device that does not name it: the device they
            // last signed in to, when there is exactly one.
            if let Ok(rmm) = reads.rmm() {
                let local = login.split('@').next().unwrap_or(login).to_lowercase();
                let mut found = Vec::new();
                for device in rmm.find_devices(&local).await? {
                    // A search match may leave out who signed in last: read the device.
                    found.push(match device.last_user {
                        Some(_) => device,
                        None => rmm.get_device(&device.id).await?,
                    });
                }
                let theirs: Vec<_> = found
                    .into_iter()
                    .filter(|d| {
                        d.last_user.as_deref().is_some_and(|u| {
                            let u = u.to_lowercase();
                            u == local || u.ends_with(&format!("\\{local}")) || u == login
                        })
                    })
                    .collect();
                if let [device] = theirs.as_slice() {
                    bindings.set("device_name", device.name.as_str());
                    bindings.set("device", device.id.as_str());
                }
            }
        }
        if let Some(name) = entities.get("device") {
            let found = reads.rmm()?.find_devices(name).await?;
            let Some(device) = found.iter().find(|d| d.name.eq_ignore_ascii_case(name)) else {
                return Ok(Err(Stop(format!(
                    "the ticket names the device {name}, which the RMM does not know"
                ))));
            };
            bindings.set("device_name", device.name.as_str());
            bindings.set("device", device.id.as_str());
        }
        if let Some(role) = entities.get("role") {
            let Some(template) = part.roles.get(&role.to_lowercase()) else {
                let known: Vec<&str> = part.roles.keys().map(String::as_str).collect();
                return Ok(Err(Stop(format!(
                    "the ticket names the role {role:?}, and this tenant has no role template of \
                     that name (it has: {}); add [tenants.{tenant}.roles.{}]",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    },
                    role.to_lowercase()
                ))));
            };
            bindings = bindings
                .with_list("licences", template.licences.clone())
                .with_list("groups", template.groups.clone());
            for (name, value) in [
                ("device_tag", &template.device_tag),
                ("docs_layout", &template.docs_layout),
                ("department", &template.department),
                ("job_title", &template.job_title),
                ("usage_location", &template.usage_location),
            ] {
                if let Some(value) = value {
                    bindings.set(name, value.as_str());
                }
            }
        }
        for name in ["start_date", "leave_date"] {
            let Some(text) = entities.get(name) else {
                continue;
            };
            match day_named(text, ticket.created.date_naive()) {
                Some(day) => bindings.set(name, day.format("%Y-%m-%d").to_string()),
                None => {
                    return Ok(Err(Stop(format!(
                        "stackhand cannot tell which day {text:?} is; write a weekday or \
                         YYYY-MM-DD"
                    ))));
                }
            }
        }
        Ok(Ok(bindings))
    }

    /// The one enabled directory user whose display name is `name`, or why there is none.
    async fn directory_user(
        &self,
        tenant: &TenantId,
        name: &str,
    ) -> Result<std::result::Result<User, Stop>> {
        let reads = self.deployment.engine().connectors(tenant)?;
        let found = reads
            .identity()?
            .find_users(&UserQuery::Name(name.to_string()))
            .await?;
        let exact: Vec<User> = found
            .into_iter()
            .filter(|u| u.display_name.eq_ignore_ascii_case(name.trim()))
            .collect();
        Ok(match exact.as_slice() {
            [user] => Ok(user.clone()),
            [] => Err(Stop(format!(
                "the ticket names {name:?}, who is not a user of this tenant's directory"
            ))),
            _ => Err(Stop(format!(
                "the ticket names {name:?}, and {} directory users have that name",
                exact.len()
            ))),
        })
    }

    /// The directory user behind the ticket's contact, or why there is none.
    pub(crate) async fn requester(
        &self,
        tenant: &TenantId,
        ticket: &Ticket,
    ) -> Result<std::result::Result<User, Stop>> {
        let Some(email) = ticket.contact.as_ref().and_then(|c| c.email.clone()) else {
            return Ok(Err(Stop(
                "the ticket's contact has no email address, so stackhand cannot tell who asks"
                    .into(),
            )));
        };
        let reads = self.deployment.engine().connectors(tenant)?;
        let identity = reads.identity()?;
        let found = identity
            .find_users(&UserQuery::Email(email.clone()))
            .await?;
        let exact: Vec<User> = found
            .into_iter()
            .filter(|u| {
                u.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&email))
                    || u.login.eq_ignore_ascii_case(&email)
            })
            .collect();
        Ok(match exact.as_slice() {
            [user] if user.enabled => Ok(user.clone()),
            [user] => Err(Stop(format!(
                "{email} belongs to {}, whose account is disabled",
                user.login
            ))),
            [] => Err(Stop(format!(
                "{email} is not a user of this tenant's directory (another domain, a lookalike \
                 or a private address): stackhand acts only for directory users"
            ))),
            _ => Err(Stop(format!(
                "{email} matches {} directory users, so stackhand cannot tell who asks",
                exact.len()
            ))),
        })
    }

    pub(crate) fn request(
        &self,
        tenant: &TenantId,
        part: &TenantPipeline,
        ticket: &Ticket,
        action: &str,
        params: serde_json::Value,
        requester: Principal,
    ) -> Result<ActionRequest> {
        // A placeholder key: the run executor names every step `<run id>.<index>`.
        Ok(ActionRequest::new(
            IdempotencyKey::new("step")?,
            tenant.clone(),
            ActionId::new(action)?,
            &params,
            requester,
        )?
        .with_ticket(TicketRef::new(part.psa.clone(), ticket.id.clone()))
        .with_reason(format!("ticket {}: {}", ticket.id, ticket.subject)))
    }

    /// Step 4: document and close, note the wait, or route, as a durable run of the agent.
    async fn document(
        &self,
        tenant: &TenantId,
        part: &TenantPipeline,
        ticket: &Ticket,
        outcome: &TicketOutcome,
    ) -> Result<RunReport> {
        let id = ticket.id.as_str();
        let runs: Vec<&RunReport> = outcome.run.iter().chain(&outcome.runs).collect();
        let lines: Vec<String> = runs
            .iter()
            .flat_map(|r| {
                // A request for several people: each run under its own heading.
                let heading = (runs.len() > 1).then(|| format!("{}:", r.summary));
                heading.into_iter().chain(r.steps.iter().map(|s| {
                    format!(
                        "- {}: {} ({})",
                        s.action,
                        s.answer.as_deref().unwrap_or(s.state),
                        s.message.as_deref().unwrap_or("")
                    )
                }))
            })
            .collect();
        let found = format!(
            "Requester: {}\nIntent: {} ({})\nWorkflow: {}",
            outcome
                .requester
                .as_deref()
                .unwrap_or("not a directory user"),
            outcome.triage.intent.as_deref().unwrap_or("none"),
            outcome.triage.reason,
            outcome.workflow.as_deref().unwrap_or("none"),
        );
        let note = |text: String, visibility: &str| json!({ "ticket": id, "text": text, "visibility": visibility });
        let (suffix, summary, steps) = match outcome.resolution {
            Resolution::Resolved => {
                let told: Vec<&str> = runs
                    .iter()
                    .flat_map(|r| &r.steps)
                    .filter(|s| s.answer.as_deref() == Some("executed"))
                    .filter_map(|s| s.message.as_deref())
                    .collect();
                let resolution = if told.is_empty() {
                    "Your request is done.".to_string()
                } else {
                    told.join("\n")
                };
                let internal = format!(
                    "stackhand resolved this ticket.\n{found}\nSteps:\n{}",
                    lines.join("\n")
                );
                let mut steps = vec![
                    ("psa.add_note", note(internal, "internal")),
                    (
                        "psa.close",
                        json!({ "ticket": id, "resolution": resolution }),
                    ),
                ];
                // Last, so a mail that cannot go out never keeps the ticket open.
                if part.notify_users
                    && let Some(to) = ticket.contact.as_ref().and_then(|c| c.email.clone())
                {
                    steps.push((
                        "messaging.send",
                        json!({
                            "to": to,
                            "subject": format!("Re: {}", ticket.subject),
                            "body": resolution,
                        }),
                    ));
                }
                (
                    "done",
                    "document the resolution, close the ticket, tell the user",
                    steps,
                )
            }
            Resolution::Scheduled => (
                "scheduled",
                "note what is done and what runs later",
                vec![(
                    "psa.add_note",
                    note(
                        format!(
                            "stackhand did what can be done now; the rest is scheduled.\n{found}\n\
                             Next: {}\nSteps:\n{}",
                            outcome.why,
                            lines.join("\n")
                        ),
                        "internal",
                    ),
                )],
            ),
            Resolution::WaitingApproval => (
                "waiting",
                "note that the ticket waits for an approval",
                vec![(
                    "psa.add_note",
                    note(
                        format!(
                            "stackhand is waiting for an approval before it goes on.\n{found}\n\
                             Why: {}{}\nSteps:\n{}",
                            outcome.why,
                            self.approvers_seen(tenant, outcome),
                            lines.join("\n")
                        ),
                        "internal",
                    ),
                )],
            ),
            // A linked ticket is documented by its incident run (see `take`).
            Resolution::LinkedToIncident => {
                return Err(Error::invalid(format!(
                    "ticket {id} is linked to an incident, whose run documents it"
                )));
            }
            // A shadowed ticket is never documented (see `process`).
            Resolution::Routed | Resolution::Shadowed => {
                let done = if lines.is_empty() {
                    "nothing".to_string()
                } else {
                    format!("\n{}", lines.join("\n"))
                };
                let mut steps = vec![(
                    "psa.add_note",
                    note(
                        format!(
                            "stackhand did not resolve this ticket and hands it to a person.\n\
                             {found}\nWhat it did: {done}\nWhy it stopped: {}",
                            outcome.why
                        ),
                        "internal",
                    ),
                )];
                if let Some(to) = &part.escalation {
                    let mut params = json!({ "ticket": id });
                    if let Some(board) = &to.board {
                        params["board"] = json!(board);
                    }
                    if let Some(member) = &to.member {
                        params["member"] = json!(member);
                    }
                    steps.push(("psa.reassign", params));
                }
                ("routed", "hand the ticket to a person", steps)
            }
        };
        // A run waits or is scheduled at several points in turn (each wave of approvals, each
        // date): each point gets its own note, named after the first step it stops at.
        let waits = outcome.resolution == Resolution::WaitingApproval;
        let point = runs.iter().enumerate().find_map(|(n, r)| {
            r.steps
                .iter()
                .find(|s| {
                    if waits {
                        s.answer.as_deref() == Some("pending_approval")
                    } else {
                        s.state == "pending"
                    }
                })
                .map(|s| (n, s.index))
        });
        let name = match (outcome.resolution, point) {
            (Resolution::WaitingApproval | Resolution::Scheduled, Some((0, index))) => {
                format!("{}.{suffix}-{index}", run_id(ticket))
            }
            (Resolution::WaitingApproval | Resolution::Scheduled, Some((n, index))) => {
                format!("{}.{suffix}-{n}-{index}", run_id(ticket))
            }
            _ => format!("{}.{suffix}", run_id(ticket)),
        };
        let mut run = NewRun::new(name, summary).ticket(id);
        for (action, params) in steps {
            run =
                run.step(self.request(tenant, part, ticket, action, params, self.agent.clone())?);
        }
        let executor = self.deployment.runs();
        executor.start(tenant, run).await
    }
}

/// The run id of a ticket's workflow.
fn run_id(ticket: &Ticket) -> String {
    format!("ticket-{}", ticket.id)
}

/// The day `text` names, seen from `today`: `YYYY-MM-DD`, `today`, `tomorrow`, or a weekday
/// (the next one after today).
fn day_named(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    let text = text.trim().to_lowercase();
    if let Ok(day) = NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
        return Some(day);
    }
    match text.as_str() {
        "today" => return Some(today),
        "tomorrow" => return today.succ_opt(),
        _ => {}
    }
    let weekday: Weekday = text.trim_start_matches("next ").parse().ok()?;
    let ahead = (7 + weekday.num_days_from_monday() as i64
        - today.weekday().num_days_from_monday() as i64
        - 1)
        % 7
        + 1;
    Some(today + chrono::Duration::days(ahead))
}

/// The fingerprint of what a ticket's run is planned from: the workflow, who asks, and what
/// triage found (entities in name order).
fn origin_of(workflow: &str, requester: &str, entities: &BTreeMap<String, String>) -> String {
    use sha2::{Digest as _, Sha256};
    let mut hasher = Sha256::new();
    for part in [workflow, requester]
        .into_iter()
        .chain(entities.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]))
    {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where a run is planned: the tenant, its part of the pipeline, the ticket.
struct Place<'a> {
    tenant: &'a TenantId,
    part: &'a TenantPipeline,
    ticket: &'a Ticket,
}

/// A request for several people, as [`Pipeline::bulk`] takes it.
struct Bulk<'a> {
    workflow: &'a Workflow,
    login: &'a str,
    requester: Principal,
    entities: &'a BTreeMap<String, String>,
    people: Vec<String>,
}

/// How a ticket stands when its run does.
fn resolution_of(state: RunState) -> Resolution {
    match state {
        RunState::Succeeded => Resolution::Resolved,
        RunState::WaitingApproval => Resolution::WaitingApproval,
        RunState::Scheduled => Resolution::Scheduled,
        RunState::Running | RunState::Failed => Resolution::Routed,
    }
}

/// The people a list names (`Priya Shah, Tom Becker and Olivia Chen`): names of one to four
/// words; pronouns (`me`, `him`) are nobody new.
fn names_in(list: &str) -> Vec<String> {
    const PRONOUNS: &[&str] = &["i", "me", "we", "us", "him", "her", "them", "myself"];
    list.replace(" and ", ",")
        .replace(" & ", ",")
        .split(',')
        .map(str::trim)
        .filter(|name| {
            let words = name.split_whitespace().count();
            (1..=4).contains(&words) && !PRONOUNS.contains(&name.to_lowercase().as_str())
        })
        .map(str::to_string)
        .collect()
}

/// `tenants.<id>.live_actions`, each checked against the actions the deployment knows (a typo
/// is named with the nearest id).
fn live_actions(
    loaded: &LoadedConfig,
    tenant: &TenantId,
    ids: &[String],
    known: &[ActionId],
) -> Result<std::collections::BTreeSet<String>> {
    for id in ids {
        if !known.iter().any(|k| k.as_str() == id) {
            let at = format!("tenants.{tenant}.live_actions");
            return Err(Error::invalid(format!(
                "{}: {at} names {id:?}, which is no action{}",
                loaded.source_of(&at),
                stackhand_core::suggest::hint(stackhand_core::suggest::did_you_mean(
                    id,
                    known.iter().map(|k| k.as_str())
                ))
            )));
        }
    }
    Ok(ids.iter().cloned().collect())
}
