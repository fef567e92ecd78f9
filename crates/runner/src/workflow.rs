//! Workflows as data: what stackhand does for a ticket of a given intent.
//!
//! A workflow file is TOML:
//!
//! ```toml
//! [[workflows]]
//! id = "account-unlock"
//! intent = "account_unlock"
//! summary = "Unlock {target}"
//!
//! [[workflows.steps]]
//! action = "identity.unlock"
//! params = { user = "{target}" }
//! ```
//!
//! Step parameters are JSON values whose strings may name `{target}` (the user the ticket is
//! for), `{requester}` (the directory user who asked), `{ticket}` (the PSA ticket id),
//! `{tenant}`, and what triage found named in the ticket (`{group}`, `{mailbox}`:
//! [`ENTITIES`]); a ticket that does not name what its workflow needs
//! goes to a person. Workflows are checked when loaded: every action must be one this build knows,
//! every placeholder one of those, every id and intent used once per file set; a typo is named
//! with its file and the nearest valid name. A tenant's own workflow files replace global
//! workflows of the same id.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;
use stackhand_core::suggest::{did_you_mean, hint};
use stackhand_core::{ActionId, Error, Result};

use crate::triage::ENTITIES;

/// The placeholders a step's parameters may use.
pub const PLACEHOLDERS: &[&str] = &["target", "requester", "ticket", "tenant"];

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
    /// The steps, in order.
    pub steps: Vec<WorkflowStep>,
}

/// One step of a workflow.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowStep {
    /// The action id.
    pub action: String,
    /// Its parameters, placeholders allowed in strings.
    #[serde(default = "empty_object")]
    pub params: Value,
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

/// The values the placeholders stand for in one ticket.
#[derive(Debug, Clone)]
pub struct Bindings<'a> {
    /// What triage found named in the ticket.
    pub entities: &'a BTreeMap<String, String>,
    /// The user the ticket is for.
    pub target: &'a str,
    /// The directory user who asked.
    pub requester: &'a str,
    /// The ticket id.
    pub ticket: &'a str,
    /// The tenant id.
    pub tenant: &'a str,
}

impl Bindings<'_> {
    fn value(&self, name: &str) -> Option<&str> {
        match name {
            "target" => Some(self.target),
            "requester" => Some(self.requester),
            "ticket" => Some(self.ticket),
            "tenant" => Some(self.tenant),
            entity => self.entities.get(entity).map(String::as_str),
        }
    }
}

/// `text` with every `{name}` replaced; the names were checked at load, and an entity the
/// ticket does not name is left as it is ([`Workflow::missing`] finds those first).
pub fn fill(text: &str, bindings: &Bindings<'_>) -> String {
    let mut out = text.to_string();
    for name in PLACEHOLDERS.iter().chain(ENTITIES) {
        if let Some(value) = bindings.value(name) {
            out = out.replace(&format!("{{{name}}}"), value);
        }
    }
    out
}

impl Workflow {
    /// The entities this workflow names that `bindings` does not have.
    pub fn missing(&self, bindings: &Bindings<'_>) -> Vec<String> {
        let mut names = Vec::new();
        placeholders_in(&Value::String(self.summary.clone()), &mut names);
        for step in &self.steps {
            placeholders_in(&step.params, &mut names);
        }
        names.sort();
        names.dedup();
        names.retain(|n| bindings.value(n).is_none());
        names
    }
}

fn fill_value(value: &Value, bindings: &Bindings<'_>) -> Value {
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

impl WorkflowStep {
    /// The step's parameters for one ticket.
    pub fn params_for(&self, bindings: &Bindings<'_>) -> Value {
        fill_value(&self.params, bindings)
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
        check_placeholders(&at, "summary", &names)?;
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
            let mut names = Vec::new();
            placeholders_in(&step.params, &mut names);
            check_placeholders(&step_at, "params", &names)?;
        }
    }
    Ok(file.workflows)
}

fn check_placeholders(at: &str, field: &str, names: &[String]) -> Result<()> {
    for name in names {
        if !PLACEHOLDERS.contains(&name.as_str()) && !ENTITIES.contains(&name.as_str()) {
            return Err(Error::invalid(format!(
                "{at}: {field} names {{{name}}}, which is not a placeholder{}; use one of {}",
                hint(did_you_mean(
                    name,
                    PLACEHOLDERS.iter().chain(ENTITIES).copied()
                )),
                PLACEHOLDERS
                    .iter()
                    .chain(ENTITIES)
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
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
