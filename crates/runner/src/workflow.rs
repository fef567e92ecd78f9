//! Workflows as data: what stackhand does for a ticket of a given intent.
//!
//! A workflow file is TOML:
//!
//! ```toml
//! [[workflows]]
//! id = "onboarding"
//! intent = "onboarding"
//! summary = "Onboard {display_name} as {role}, starting {start_date}"
//! authorised_contacts_only = true       # acts on someone else's account
//! secrets = ["initial_password"]        # generated per run, kept in the tenant's vault
//!
//! [[workflows.steps]]
//! id = "account"
//! action = "identity.create_user"
//! params = { login = "{new_login}", first_name = "{first_name}", last_name = "{last_name}" }
//! secrets = { initial_password = "initial_password" }
//!
//! [[workflows.steps]]
//! action = "identity.add_to_group"
//! for_each = "groups"                   # one step per group of the role template
//! after = ["account"]                   # waits for the account only: the steps run at once
//! params = { user = "{new_login}", group = "{item}" }
//!
//! [[workflows.steps]]
//! action = "messaging.send"
//! after = ["account"]
//! not_before = { date = "{start_date}", days = -1, at = "08:00" }
//! params = { to = "{manager}", subject = "Sign-in details", body = "Password: {enclosed}" }
//! secrets = { enclosed = "initial_password" }
//! ```
//!
//! Step parameters are JSON values whose strings may name placeholders: `{target}` (the user
//! the ticket is for), `{requester}` (the directory user who asked), `{ticket}`, `{tenant}`,
//! what triage found named in the ticket ([`ENTITIES`]), and what the pipeline derives from
//! those ([`DERIVED`]: a new starter's names and login, a named person's directory login and
//! status, a role template's lists and fields, the device's RMM id, what the identity provider
//! offers); `{steps.<id>.<field>}` is an earlier step's output, filled in when the step runs.
//! A ticket that does not name what its workflow needs goes to a person; a workflow's
//! `defaults` say what an entity is when the ticket does not (`leave_date = "today"`).
//!
//! A step waits for the step before it unless `after` says otherwise; `when` runs it only
//! when a condition holds (`equals`, `not_equals`, `contains`, `not_contains`); `not_before`
//! holds it until a date. Workflows are checked when loaded: every action must be one this
//! build knows, every placeholder one of those, every `after` and `{steps.…}` an earlier step,
//! every secret a workflow secret or one an earlier step hands over, every id and intent used
//! once per file set; a typo is named with its file and the nearest valid name. A tenant's own
//! workflow files replace global workflows of the same id. The run model is ADR 0008.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use stackhand_core::suggest::{did_you_mean, hint};
use stackhand_core::{ActionId, Error, Result};
use stackhand_store::{Condition, StepFlow};

use stackhand_triage::ENTITIES;

/// The placeholders every ticket binds.
pub const PLACEHOLDERS: &[&str] = &["target", "requester", "ticket", "tenant"];

/// The placeholders the pipeline derives from what triage found: the new user's names and
/// login from `new_user`, a named person's directory login (`person`, `manager`), the role
/// template's lists and fields (`role`), and the start or leave date as `YYYY-MM-DD`.
pub const DERIVED: &[&str] = &[
    "first_name",
    "last_name",
    "display_name",
    "new_login",
    "mail_nickname",
    "department",
    "job_title",
    "usage_location",
    "licences",
    "groups",
    "device_tag",
    "docs_layout",
    "psa_company",
    "identity_vendor",
    "person_name",
    "person_asset",
    "device_name",
    "identity_features",
    "person_status",
];

/// Every placeholder name a workflow may use (besides `{steps.…}` and `{item}`).
pub fn placeholder_names() -> impl Iterator<Item = &'static str> {
    PLACEHOLDERS.iter().chain(ENTITIES).chain(DERIVED).copied()
}

/// One workflow.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// Unique id (`account-unlock`).
    pub id: String,
    /// The triage intent it serves (`account_unlock`).
    pub intent: String,
    /// One line for people; placeholders allowed.
    pub summary: String,
    /// Only for requesters who are authorised contacts of the tenant (`authorised_contacts`):
    /// work on accounts other than the requester's own (new starters, leavers).
    #[serde(default)]
    pub authorised_contacts_only: bool,
    /// Passwords generated for each run, kept in the tenant's vault until the run ends; steps
    /// use them through `secrets`.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// What an entity is when the ticket does not say (`leave_date = "today"`).
    #[serde(default)]
    pub defaults: BTreeMap<String, String>,
    /// The steps.
    pub steps: Vec<WorkflowStep>,
}

/// One step of a workflow.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowStep {
    /// A name for later steps: `after`, `{steps.<id>.<field>}` (its output), and secrets it
    /// hands over (`<id>.<secret>`).
    #[serde(default)]
    pub id: Option<String>,
    /// The action id.
    pub action: String,
    /// Its parameters, placeholders allowed in strings.
    #[serde(default = "empty_object")]
    pub params: Value,
    /// The steps (by id) it waits for; without it, the step before. `after = []` starts at once.
    #[serde(default)]
    pub after: Option<Vec<String>>,
    /// It runs only when this holds: `{ value = "{steps.check.output}", contains = "..." }`
    /// (or `equals`, `not_equals`, `not_contains`).
    #[serde(default)]
    pub when: Option<Condition>,
    /// It runs no earlier than this.
    #[serde(default)]
    pub not_before: Option<Schedule>,
    /// Secret parameters: the action's parameter and the run secret that fills it (a
    /// workflow secret, or `<step id>.<secret>` handed over by an earlier step).
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// One step per item of a list placeholder (`groups`, `licences`), `{item}` in params.
    #[serde(default)]
    pub for_each: Option<String>,
}

/// When a step may run: a date (a placeholder such as `{start_date}`, or `YYYY-MM-DD`), moved
/// by `days`, at `at` (`HH:MM`, UTC).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// The date.
    pub date: String,
    /// Days after it (negative: before).
    #[serde(default)]
    pub days: i64,
    /// The time of day, UTC.
    #[serde(default = "nine")]
    pub at: String,
}

fn nine() -> String {
    "09:00".into()
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkflowFile {
    #[serde(default)]
    workflows: Vec<Workflow>,
}

/// The values the placeholders stand for in one ticket: text, or (for `for_each`) lists.
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    values: BTreeMap<String, Value>,
}

impl Bindings {
    /// No values yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// With `name` standing for `value`.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.values
            .insert(name.to_string(), Value::String(value.into()));
        self
    }

    /// With `name` standing for the list `items`.
    pub fn with_list(mut self, name: &str, items: Vec<String>) -> Self {
        self.values.insert(
            name.to_string(),
            Value::Array(items.into_iter().map(Value::String).collect()),
        );
        self
    }

    /// Set `name` (text).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.values
            .insert(name.to_string(), Value::String(value.into()));
    }

    /// The text `name` stands for.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(Value::as_str)
    }

    fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }
}

/// `text` with every `{name}` bound replaced (lists joined with ", "); `{steps.…}` and names
/// not bound are left as they are ([`Workflow::missing`] finds those first).
pub fn fill(text: &str, bindings: &Bindings) -> String {
    let mut out = text.to_string();
    for (name, value) in &bindings.values {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Array(items) => items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            other => other.to_string(),
        };
        out = out.replace(&format!("{{{name}}}"), &text);
    }
    out
}

fn fill_value(value: &Value, bindings: &Bindings) -> Value {
    match value {
        Value::String(s) => Value::String(fill(s, bindings)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| fill_value(v, bindings)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill_value(v, bindings)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// One step of a workflow made concrete for a ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedStep {
    /// The action.
    pub action: String,
    /// Its parameters (`{steps.…}` left for the run to fill in).
    pub params: Value,
    /// Its place in the run.
    pub flow: StepFlow,
}

/// A workflow made concrete for a ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// The summary, filled in.
    pub summary: String,
    /// The steps, in order.
    pub steps: Vec<PlannedStep>,
    /// The run secrets to generate.
    pub secrets: Vec<String>,
}

impl Workflow {
    /// Whether the workflow names the placeholder `name` anywhere.
    pub fn uses(&self, name: &str) -> bool {
        self.placeholders().iter().any(|n| n == name)
    }

    /// The placeholders this workflow names that `bindings` does not have.
    pub fn missing(&self, bindings: &Bindings) -> Vec<String> {
        let mut names = self.placeholders();
        names.retain(|n| n != "item" && !n.starts_with("steps.") && !bindings.has(n));
        names.retain(|n| !self.steps.iter().any(|s| s.secrets.contains_key(n)));
        names
    }

    /// Every placeholder it names (and its `for_each` lists), sorted, once each.
    fn placeholders(&self) -> Vec<String> {
        let mut names = Vec::new();
        placeholders_in(&Value::String(self.summary.clone()), &mut names);
        for step in &self.steps {
            placeholders_in(&step.params, &mut names);
            if let Some(when) = &step.when {
                placeholders_in(&Value::String(when.value.clone()), &mut names);
            }
            if let Some(schedule) = &step.not_before {
                placeholders_in(&Value::String(schedule.date.clone()), &mut names);
            }
            names.extend(step.for_each.clone());
        }
        names.sort();
        names.dedup();
        names
    }

    /// The run for one ticket: placeholders filled, `for_each` steps expanded, waits and
    /// schedules resolved (a date already past runs at once). Call [`missing`](Self::missing)
    /// first: a placeholder not bound is left in the text.
    pub fn plan(&self, bindings: &Bindings) -> Result<Planned> {
        let mut steps: Vec<PlannedStep> = Vec::new();
        // The run indices each workflow step became, by workflow position and by id.
        let mut made: Vec<Vec<u32>> = Vec::new();
        let mut by_id: BTreeMap<&str, usize> = BTreeMap::new();
        for (position, step) in self.steps.iter().enumerate() {
            let waits: Vec<u32> = match &step.after {
                Some(ids) => ids
                    .iter()
                    .flat_map(|id| by_id.get(id.as_str()).map(|p| made[*p].clone()))
                    .flatten()
                    .collect(),
                // The step before, or (if it made no steps) what that one waited for.
                None => previous_made(&made),
            };
            let items: Vec<Option<String>> = match &step.for_each {
                Some(list) => match bindings.values.get(list) {
                    Some(Value::Array(items)) => items
                        .iter()
                        .filter_map(|v| v.as_str().map(|s| Some(s.to_string())))
                        .collect(),
                    Some(Value::String(one)) if !one.is_empty() => vec![Some(one.clone())],
                    _ => Vec::new(),
                },
                None => vec![None],
            };
            let not_before = step
                .not_before
                .as_ref()
                .map(|s| s.resolve(bindings, &self.id))
                .transpose()?;
            let mut indices = Vec::new();
            for (n, item) in items.iter().enumerate() {
                let mut local = bindings.clone();
                if let Some(item) = item {
                    local.set("item", item.clone());
                }
                let index = steps.len() as u32;
                let name = step.id.as_ref().map(|id| match &step.for_each {
                    Some(_) => format!("{id}.{n}"),
                    None => id.clone(),
                });
                // Waiting for the step just before is the default; anything else is said.
                let sequential =
                    (index == 0 && waits.is_empty()) || (index > 0 && waits == [index - 1]);
                let after = (!sequential).then(|| waits.clone());
                steps.push(PlannedStep {
                    action: step.action.clone(),
                    params: fill_value(&step.params, &local),
                    flow: StepFlow {
                        name,
                        after,
                        when: step.when.as_ref().map(|c| Condition {
                            value: fill(&c.value, &local),
                            test: c.test.clone(),
                        }),
                        not_before,
                        secrets: step.secrets.clone(),
                    },
                });
                indices.push(index);
            }
            if let Some(id) = &step.id {
                by_id.insert(id, position);
            }
            made.push(indices);
        }
        Ok(Planned {
            summary: fill(&self.summary, bindings),
            steps,
            secrets: self.secrets.clone(),
        })
    }
}

/// What a step without `after` waits for: the run steps the workflow step before it became,
/// or, if it became none, what those would have waited for.
fn previous_made(made: &[Vec<u32>]) -> Vec<u32> {
    made.iter()
        .rev()
        .find(|indices| !indices.is_empty())
        .cloned()
        .unwrap_or_default()
}

impl Schedule {
    fn resolve(&self, bindings: &Bindings, workflow: &str) -> Result<DateTime<Utc>> {
        let date = fill(&self.date, bindings);
        let day = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").map_err(|e| {
            Error::invalid(format!(
                "workflow {workflow}: not_before date {date:?} is not YYYY-MM-DD ({e})"
            ))
        })?;
        let time = NaiveTime::parse_from_str(&self.at, "%H:%M").map_err(|e| {
            Error::invalid(format!(
                "workflow {workflow}: not_before at {:?} is not HH:MM ({e})",
                self.at
            ))
        })?;
        Ok((day + Duration::days(self.days)).and_time(time).and_utc())
    }
}

/// Every `{name}` in the strings of `value`.
fn placeholders_in(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            let mut rest = s.as_str();
            while let Some(open) = rest.find('{') {
                let after = &rest[open + 1..];
                match after.find('}') {
                    Some(close) => {
                        found.push(after[..close].to_string());
                        rest = &after[close + 1..];
                    }
                    None => break,
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| placeholders_in(v, found)),
        Value::Object(map) => map.values().for_each(|v| placeholders_in(v, found)),
        _ => {}
    }
}

/// The workflows of a deployment: global ones, and each tenant's own on top.
#[derive(Debug, Clone, Default)]
pub struct WorkflowSet {
    by_id: BTreeMap<String, Workflow>,
}

impl WorkflowSet {
    /// Load workflow files (a file, or a directory of `*.toml`), checking each against `known`
    /// actions.
    pub fn load(paths: &[PathBuf], known: &[ActionId]) -> Result<Self> {
        Self::default().with_files(paths, known)
    }

    /// This set with the workflows of `paths` on top: one of the same id replaces the one here.
    pub fn with_files(mut self, paths: &[PathBuf], known: &[ActionId]) -> Result<Self> {
        let mut added: BTreeMap<String, (Workflow, String)> = BTreeMap::new();
        for path in expand(paths)? {
            let origin = path.display().to_string();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Error::invalid(format!("workflow file {origin}: {e}")))?;
            for workflow in parse(&origin, &text, known)? {
                if let Some((_, first)) = added.get(&workflow.id) {
                    return Err(Error::invalid(format!(
                        "{origin}: workflow {:?} is also defined in {first}; ids are unique",
                        workflow.id
                    )));
                }
                added.insert(workflow.id.clone(), (workflow, origin.clone()));
            }
        }
        for (id, (workflow, _)) in added {
            self.by_id.insert(id, workflow);
        }
        let mut intents: BTreeMap<&str, &str> = BTreeMap::new();
        for workflow in self.by_id.values() {
            if let Some(other) = intents.insert(&workflow.intent, &workflow.id) {
                return Err(Error::invalid(format!(
                    "workflows {other:?} and {:?} both serve intent {:?}; give one another \
                     intent or replace it by id",
                    workflow.id, workflow.intent
                )));
            }
        }
        Ok(self)
    }

    /// The workflow serving `intent`.
    pub fn for_intent(&self, intent: &str) -> Option<&Workflow> {
        self.by_id.values().find(|w| w.intent == intent)
    }

    /// Every workflow, by id.
    pub fn all(&self) -> impl Iterator<Item = &Workflow> {
        self.by_id.values()
    }

    /// The intents served.
    pub fn intents(&self) -> Vec<&str> {
        self.by_id.values().map(|w| w.intent.as_str()).collect()
    }
}

/// Files of `paths`: files as given, directories as their `*.toml`, sorted.
fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| Error::invalid(format!("workflow directory {}: {e}", path.display())))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(Error::invalid(format!(
                "workflow path {} does not exist",
                path.display()
            )));
        }
    }
    Ok(files)
}

/// Parse and check one workflow file.
pub fn parse(origin: &str, text: &str, known: &[ActionId]) -> Result<Vec<Workflow>> {
    let file: WorkflowFile =
        toml::from_str(text).map_err(|e| Error::invalid(format!("{origin}: {e}")))?;
    let known_names: Vec<&str> = known.iter().map(|a| a.as_str()).collect();
    let mut ids = BTreeMap::new();
    for (w, workflow) in file.workflows.iter().enumerate() {
        let at = format!("{origin}: workflows[{w}] ({})", workflow.id);
        if ids.insert(workflow.id.clone(), w).is_some() {
            return Err(Error::invalid(format!(
                "{at}: the id is used twice in this file"
            )));
        }
        if workflow.steps.is_empty() {
            return Err(Error::invalid(format!("{at}: a workflow needs steps")));
        }
        let mut names = Vec::new();
        placeholders_in(&Value::String(workflow.summary.clone()), &mut names);
        check_placeholders(&at, "summary", &names, &[], false)?;
        if let Some(name) = workflow
            .defaults
            .keys()
            .find(|name| !ENTITIES.contains(&name.as_str()))
        {
            return Err(Error::invalid(format!(
                "{at}: defaults names {name:?}, which is not something triage finds{}; use one \
                 of {}",
                hint(did_you_mean(name, ENTITIES.iter().copied())),
                ENTITIES.join(", ")
            )));
        }
        let mut earlier: Vec<&str> = Vec::new();
        for (s, step) in workflow.steps.iter().enumerate() {
            let step_at = format!("{at}: steps[{s}]");
            if !known_names.contains(&step.action.as_str()) {
                return Err(Error::invalid(format!(
                    "{step_at}: unknown action {:?}{}",
                    step.action,
                    hint(did_you_mean(&step.action, known_names.iter().copied()))
                )));
            }
            if !step.params.is_object() {
                return Err(Error::invalid(format!("{step_at}: params must be a table")));
            }
            for id in step.after.iter().flatten() {
                if !earlier.contains(&id.as_str()) {
                    return Err(Error::invalid(format!(
                        "{step_at}: after names {id:?}, which is not an earlier step's id{}",
                        hint(did_you_mean(id, earlier.iter().copied()))
                    )));
                }
            }
            if let Some(list) = &step.for_each
                && !["groups", "licences"].contains(&list.as_str())
            {
                return Err(Error::invalid(format!(
                    "{step_at}: for_each names {list:?}; lists are \"groups\" and \"licences\"{}",
                    hint(did_you_mean(list, ["groups", "licences"]))
                )));
            }
            let each = step.for_each.is_some();
            let mut names = Vec::new();
            placeholders_in(&step.params, &mut names);
            // `{enclosed}` in a mail's body marks where its secret parameter goes, when sent.
            names.retain(|n| !step.secrets.contains_key(n));
            check_placeholders(&step_at, "params", &names, &earlier, each)?;
            if let Some(when) = &step.when {
                let mut names = Vec::new();
                placeholders_in(&Value::String(when.value.clone()), &mut names);
                check_placeholders(&step_at, "when", &names, &earlier, each)?;
            }
            if let Some(schedule) = &step.not_before {
                let mut names = Vec::new();
                placeholders_in(&Value::String(schedule.date.clone()), &mut names);
                check_placeholders(&step_at, "not_before", &names, &[], false)?;
                if NaiveTime::parse_from_str(&schedule.at, "%H:%M").is_err() {
                    return Err(Error::invalid(format!(
                        "{step_at}: not_before at {:?} is not a time of day (HH:MM, UTC)",
                        schedule.at
                    )));
                }
            }
            for (param, secret) in &step.secrets {
                let handed_over = secret
                    .split_once('.')
                    .is_some_and(|(id, _)| earlier.contains(&id));
                if !workflow.secrets.contains(secret) && !handed_over {
                    return Err(Error::invalid(format!(
                        "{step_at}: secret parameter {param:?} takes {secret:?}, which is \
                         neither one of the workflow's secrets ({}) nor `<earlier step \
                         id>.<secret>`",
                        workflow.secrets.join(", ")
                    )));
                }
            }
            if let Some(id) = &step.id {
                if earlier.contains(&id.as_str()) || id.contains('.') || id.is_empty() {
                    return Err(Error::invalid(format!(
                        "{step_at}: step id {id:?} is used twice or has a '.'; ids are unique \
                         names"
                    )));
                }
                earlier.push(id);
            }
        }
    }
    Ok(file.workflows)
}

fn check_placeholders(
    at: &str,
    field: &str,
    names: &[String],
    earlier: &[&str],
    each: bool,
) -> Result<()> {
    for name in names {
        if let Some(reference) = name.strip_prefix("steps.") {
            let step = reference.split('.').next().unwrap_or_default();
            if earlier.contains(&step) {
                continue;
            }
            return Err(Error::invalid(format!(
                "{at}: {field} names {{{name}}}, and no earlier step has the id {step:?}{}",
                hint(did_you_mean(step, earlier.iter().copied()))
            )));
        }
        if (each && name == "item") || placeholder_names().any(|p| p == name) {
            continue;
        }
        return Err(Error::invalid(format!(
            "{at}: {field} names {{{name}}}, which is not a placeholder{}; use one of {}{}",
            hint(did_you_mean(name, placeholder_names())),
            placeholder_names()
                .map(|p| format!("{{{p}}}"))
                .collect::<Vec<_>>()
                .join(", "),
            if each { ", {item}" } else { "" }
        )));
    }
    Ok(())
}

/// The built-in workflows (`crates/runner/workflows/builtin.toml`), used when a deployment
/// names no workflow files.
pub const BUILTIN: &str = include_str!("../workflows/builtin.toml");

/// The built-in workflows, checked against `known`.
pub fn builtin(known: &[ActionId]) -> Result<WorkflowSet> {
    let mut set = WorkflowSet::default();
    for workflow in parse("built-in workflows", BUILTIN, known)? {
        set.by_id.insert(workflow.id.clone(), workflow);
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every action this build knows: the built-in catalog and the default connectors'.
    fn known() -> Vec<ActionId> {
        let mut known: Vec<ActionId> = stackhand_core::actions::builtin()
            .specs()
            .map(|s| s.id.clone())
            .collect();
        known.extend(
            crate::default_registry()
                .describe()
                .into_iter()
                .flat_map(|d| d.actions.into_iter().map(|a| a.id)),
        );
        known
    }

    #[test]
    fn the_built_in_workflows_load_against_this_builds_actions() {
        let set = builtin(&known()).unwrap();
        for intent in [
            "account_unlock",
            "password_reset",
            "mfa_reset",
            "onboarding",
            "offboarding",
            "app_unreachable",
        ] {
            assert!(set.for_intent(intent).is_some(), "{intent}");
        }
    }

    fn one(text: &str) -> Result<Vec<Workflow>> {
        parse("test.toml", text, &known())
    }

    #[test]
    fn typos_are_named_with_the_nearest_valid_name() {
        let bad_placeholder = one(
            "[[workflows]]\nid = \"w\"\nintent = \"i\"\nsummary = \"s\"\n\
             [[workflows.steps]]\naction = \"identity.unlock\"\nparams = { user = \"{targte}\" }\n",
        )
        .unwrap_err();
        assert!(
            bad_placeholder
                .message()
                .contains("did you mean \"target\""),
            "{bad_placeholder}"
        );
        let bad_after = one(
            "[[workflows]]\nid = \"w\"\nintent = \"i\"\nsummary = \"s\"\n\
             [[workflows.steps]]\nid = \"account\"\naction = \"identity.unlock\"\n\
             params = { user = \"{target}\" }\n\
             [[workflows.steps]]\naction = \"identity.unlock\"\nafter = [\"acount\"]\n\
             params = { user = \"{target}\" }\n",
        )
        .unwrap_err();
        assert!(bad_after.message().contains("\"account\""), "{bad_after}");
        let later_output = one(
            "[[workflows]]\nid = \"w\"\nintent = \"i\"\nsummary = \"s\"\n\
             [[workflows.steps]]\naction = \"identity.unlock\"\n\
             params = { user = \"{steps.later.login}\" }\n\
             [[workflows.steps]]\nid = \"later\"\naction = \"identity.unlock\"\n\
             params = { user = \"{target}\" }\n",
        )
        .unwrap_err();
        assert!(
            later_output
                .message()
                .contains("no earlier step has the id \"later\""),
            "{later_output}"
        );
        let bad_secret = one(
            "[[workflows]]\nid = \"w\"\nintent = \"i\"\nsummary = \"s\"\n\
             [[workflows.steps]]\naction = \"messaging.send\"\n\
             params = { to = \"{target}\", subject = \"s\", body = \"{enclosed}\" }\n\
             secrets = { enclosed = \"pasword\" }\n",
        )
        .unwrap_err();
        assert!(bad_secret.message().contains("\"pasword\""), "{bad_secret}");
    }

    #[test]
    fn a_plan_expands_lists_resolves_waits_and_dates() {
        let set = builtin(&known()).unwrap();
        let onboarding = set.for_intent("onboarding").unwrap();
        let bindings = Bindings::new()
            .with("target", "lfischer@contosolaw.com")
            .with("requester", "mholloway@contosolaw.com")
            .with("ticket", "7")
            .with("tenant", "contoso-law")
            .with("new_login", "lfischer@contosolaw.com")
            .with("first_name", "Laura")
            .with("last_name", "Fischer")
            .with("display_name", "Laura Fischer")
            .with("mail_nickname", "lfischer")
            .with("role", "paralegal")
            .with("department", "Litigation")
            .with("job_title", "Paralegal")
            .with("usage_location", "US")
            .with("manager", "dreyes@contosolaw.com")
            .with("start_date", "2026-12-07")
            .with("device", "109")
            .with("device_tag", "New Starter")
            .with("psa_company", "250")
            .with_list("licences", vec!["SPE_E3".into()])
            .with_list("groups", vec!["Litigation Team".into(), "All Staff".into()]);
        assert_eq!(onboarding.missing(&bindings), Vec::<String>::new());
        let planned = onboarding.plan(&bindings).unwrap();
        let actions: Vec<&str> = planned.steps.iter().map(|s| s.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "identity.create_user",
                "identity.assign_license",
                "identity.add_to_group",
                "identity.add_to_group",
                "rmm.tag_device",
                "psa.create_contact",
                "docs.upsert_user_asset",
                "docs.store_password",
                "messaging.send",
            ]
        );
        // The licence and both groups wait for the account only, so they run at once.
        for index in 1..=3 {
            assert_eq!(planned.steps[index].flow.waits_for(index as u32), [0]);
        }
        assert_eq!(planned.steps[2].flow.name.as_deref(), Some("groups.0"));
        assert_eq!(planned.steps[4].flow.waits_for(4), Vec::<u32>::new());
        let deliver = &planned.steps[8];
        assert_eq!(deliver.flow.waits_for(8), [1, 2, 3, 4, 5, 7]);
        assert_eq!(
            deliver.flow.not_before.unwrap().to_rfc3339(),
            "2026-12-06T08:00:00+00:00"
        );
        assert_eq!(
            deliver.flow.secrets.get("enclosed").map(String::as_str),
            Some("initial_password")
        );
        // The secret's place stays a placeholder in the stored body.
        assert!(
            deliver.params["body"]
                .as_str()
                .unwrap()
                .contains("{enclosed}")
        );
        assert_eq!(planned.secrets, ["initial_password"]);
    }
}
