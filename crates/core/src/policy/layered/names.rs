//! The names a document uses that must exist, and their check against a [`Vocabulary`].

use std::collections::BTreeSet;

use super::PolicyDocument;
use super::error::{FieldPath, PolicyError, SourceMap};
use super::index::action_glob;
use crate::model::TenantId;
use crate::policy::Vocabulary;
use crate::suggest::{did_you_mean, hint, quoted_list};

/// What kind of name a document uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NameKind {
    /// An action pattern: an exact id or a glob.
    Action,
    Tenant,
    TenantGroup,
    Department {
        tenant: TenantId,
    },
    /// An approver role.
    Role,
}

/// One use of a name, located for the error message.
#[derive(Debug, Clone)]
pub(crate) struct NameUse {
    kind: NameKind,
    name: String,
    line: usize,
    field: String,
}

impl NameUse {
    pub(crate) fn new(map: &SourceMap<'_>, kind: NameKind, name: &str, path: &FieldPath) -> Self {
        Self {
            kind,
            name: name.to_string(),
            line: map.line_of(path),
            field: path.to_string(),
        }
    }

    /// Why the name does not exist in `vocabulary`, or `None` if it does (or its kind is not
    /// checked).
    fn problem(&self, vocabulary: &Vocabulary) -> Option<String> {
        let name = self.name.as_str();
        match &self.kind {
            NameKind::Action => action_problem(name, vocabulary),
            NameKind::Tenant => unknown("tenant", name, "", vocabulary.tenants()?),
            NameKind::TenantGroup => unknown("tenant group", name, "", vocabulary.tenant_groups()?),
            NameKind::Department { tenant } => match vocabulary.departments_of(tenant.as_str())? {
                Some(known) => unknown("department", name, &format!(" in tenant {tenant}"), known),
                None => Some(format!(
                    "unknown department {name:?}: no departments of tenant {tenant} are known"
                )),
            },
            NameKind::Role => unknown("role", name, "", vocabulary.roles()?),
        }
    }
}

/// `unknown <what> "name"<within> (did you mean ..?)`, listing the known names when none is
/// close.
fn unknown(what: &str, name: &str, within: &str, known: &BTreeSet<String>) -> Option<String> {
    if known.contains(name) {
        return None;
    }
    let near = did_you_mean(name, known.iter().map(String::as_str));
    let rest = match near {
        Some(_) => String::new(),
        None if known.is_empty() => format!("; no {what} is known"),
        None => format!("; known: {}", shortlist(known.iter().map(String::as_str))),
    };
    Some(format!(
        "unknown {what} {name:?}{within}{}{rest}",
        hint(near)
    ))
}

/// At most 12 names, quoted, then how many more.
fn shortlist<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    const SHOWN: usize = 12;
    let total = names.len();
    let shown: Vec<&str> = names.take(SHOWN).collect();
    let more = if total > SHOWN {
        format!(" and {} more", total - SHOWN)
    } else {
        String::new()
    };
    format!("{}{more}", quoted_list(&shown))
}

fn action_problem(pattern: &str, vocabulary: &Vocabulary) -> Option<String> {
    let is_glob = pattern.contains('*');
    if is_glob {
        let glob = action_glob(pattern).compile_matcher();
        if vocabulary.action_ids().any(|id| glob.is_match(id)) {
            return None;
        }
    } else if vocabulary.knows_action(pattern) {
        return None;
    }
    let namespaces: BTreeSet<&str> = vocabulary
        .action_ids()
        .filter_map(|id| id.split('.').next())
        .collect();
    // A glob is compared with the namespace globs ("identity.*") as well as the ids.
    let namespace_globs: Vec<String> = namespaces.iter().map(|ns| format!("{ns}.*")).collect();
    let candidates = vocabulary.action_ids().chain(
        namespace_globs
            .iter()
            .map(String::as_str)
            .filter(|_| is_glob),
    );
    let near = did_you_mean(pattern, candidates);
    let rest = match (near, pattern.split_once('.')) {
        (Some(_), _) => String::new(),
        (None, Some((namespace, _)))
            if !namespace.contains('*') && !namespaces.contains(namespace) =>
        {
            format!(
                "; no known action is in namespace {namespace:?} (known namespaces: {}): a vendor's actions must be added to the vocabulary the policy is loaded with",
                quoted_list(&namespaces.iter().copied().collect::<Vec<_>>())
            )
        }
        (None, Some((namespace, _))) if !namespace.contains('*') => {
            let prefix = format!("{namespace}.");
            let ids: Vec<&str> = vocabulary
                .action_ids()
                .filter(|id| id.starts_with(&prefix))
                .collect();
            format!("; known in {namespace:?}: {}", shortlist(ids.into_iter()))
        }
        (None, _) => String::new(),
    };
    let what = if is_glob {
        format!("action glob {pattern:?} matches no known action id")
    } else {
        format!("unknown action id {pattern:?}")
    };
    Some(format!("{what}{}{rest}", hint(near)))
}

impl PolicyDocument {
    /// Check that every name the document uses exists in `vocabulary`: action ids always,
    /// tenants, tenant groups, departments and approver roles when the vocabulary lists them.
    ///
    /// The first unknown name is an error naming the file, line and field, the name, and the
    /// nearest known name: `acme.toml:9: rules[0].actions[0]: unknown action id
    /// "identity.reset_pasword" (did you mean "identity.reset_password"?)`. A glob must match at
    /// least one known action id. [`PolicyLoader::build`](super::PolicyLoader::build) runs this
    /// on every document.
    pub fn check(&self, vocabulary: &Vocabulary) -> Result<(), PolicyError> {
        for used in &self.names {
            if let Some(message) = used.problem(vocabulary) {
                return Err(PolicyError::Document {
                    origin: self.origin.clone(),
                    line: used.line,
                    field: Some(used.field.clone()),
                    message,
                });
            }
        }
        Ok(())
    }
}
