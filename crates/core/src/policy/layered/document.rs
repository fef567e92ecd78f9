//! One policy document: its TOML shape, its validation, and the checked form the index is built from.

use std::fmt;

use figment::Figment;
use figment::providers::{Format, Toml};
use globset::{Glob, GlobMatcher};
use serde::Deserialize;
use serde_json::Value;

use super::error::{FieldPath, PolicyError, SourceMap, syntax_error};
use super::names::{NameKind, NameUse};
use crate::approval::Operation;
use crate::model::{ActionId, Department, PrincipalKind, Risk, TenantGroupId, TenantId};
use crate::policy::{Approver, RuleId};
use crate::suggest::{did_you_mean, hint, quoted_list};

/// Where a document applies: one of the four policy layers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Every tenant.
    Global,
    /// Every tenant in this group.
    TenantGroup(TenantGroupId),
    /// One tenant.
    Tenant(TenantId),
    /// One department of one tenant.
    Department {
        /// The tenant.
        tenant: TenantId,
        /// The department, as the identity provider names it.
        name: Department,
    },
}

impl Scope {
    /// How specific the layer is: 0 global, 1 tenant group, 2 tenant, 3 department.
    pub fn specificity(&self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::TenantGroup(_) => 1,
            Scope::Tenant(_) => 2,
            Scope::Department { .. } => 3,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Global => f.write_str("global"),
            Scope::TenantGroup(group) => write!(f, "tenant group {group}"),
            Scope::Tenant(tenant) => write!(f, "tenant {tenant}"),
            Scope::Department { tenant, name } => {
                write!(f, "department {name} in tenant {tenant}")
            }
        }
    }
}

// ---- The TOML shape. Raw types mirror the file one to one; checks happen in `check_*`. ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    scope: Option<RawScope>,
    #[serde(default)]
    protected: RawProtected,
    #[serde(default)]
    rules: Vec<RawRule>,
    #[serde(default)]
    caps: Vec<RawCap>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    global: Option<bool>,
    tenant_group: Option<String>,
    tenant: Option<String>,
    department: Option<RawDepartmentScope>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDepartmentScope {
    tenant: String,
    name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProtected {
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    accounts: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawEffect {
    Allow,
    Approve,
    Deny,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    description: Option<String>,
    actions: Vec<String>,
    effect: RawEffect,
    approvers: Option<Vec<RawApprover>>,
    #[serde(default)]
    locked: bool,
    #[serde(default)]
    when: RawWhen,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApprover {
    role: Option<String>,
    group: Option<String>,
    contact: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWhen {
    operation: Option<Operation>,
    requester_kinds: Option<Vec<PrincipalKind>>,
    self_service: Option<bool>,
    target_protected: Option<bool>,
    risk_at_most: Option<Risk>,
    #[serde(default)]
    params: Vec<RawParam>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParam {
    path: String,
    #[serde(rename = "in")]
    one_of: Option<Vec<Value>>,
    equals: Option<Value>,
    matches: Option<String>,
    exists: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCap {
    id: String,
    // For the people who read the file: the engine names the cap by id when it is full.
    #[allow(dead_code)]
    description: Option<String>,
    actions: Vec<String>,
    max_per_hour: u32,
}

// ---- The checked form. ----

/// The targets a layer protects. Compared case-insensitively, as directories compare names.
#[derive(Debug, Clone, Default)]
pub(crate) struct Protected {
    pub(crate) roles: Vec<String>,
    pub(crate) groups: Vec<String>,
    pub(crate) accounts: Vec<String>,
}

/// What a rule decides when it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RuleEffect {
    Allow,
    Approve(Vec<Approver>),
    Deny,
}

impl RuleEffect {
    /// Higher is more restrictive.
    pub(crate) fn restrictiveness(&self) -> u8 {
        match self {
            RuleEffect::Allow => 0,
            RuleEffect::Approve(_) => 1,
            RuleEffect::Deny => 2,
        }
    }
}

/// A test on one parameter, addressed by a JSON pointer.
#[derive(Debug, Clone)]
pub(crate) struct ParamPredicate {
    pub(crate) pointer: String,
    pub(crate) test: ParamTest,
}

#[derive(Debug, Clone)]
pub(crate) enum ParamTest {
    OneOf(Vec<Value>),
    Equals(Value),
    Matches(GlobMatcher),
    Exists(bool),
}

/// The predicates of a rule's `[rules.when]`; every given one must hold.
#[derive(Debug, Clone, Default)]
pub(crate) struct When {
    pub(crate) operation: Option<Operation>,
    pub(crate) requester_kinds: Option<Vec<PrincipalKind>>,
    pub(crate) self_service: Option<bool>,
    pub(crate) target_protected: Option<bool>,
    pub(crate) risk_at_most: Option<Risk>,
    pub(crate) params: Vec<ParamPredicate>,
}

/// An action pattern: an exact id, or a glob with `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ActionPattern {
    Exact(String),
    Glob(String),
}

/// A checked rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) id: RuleId,
    pub(crate) description: Option<String>,
    pub(crate) actions: Vec<ActionPattern>,
    pub(crate) effect: RuleEffect,
    pub(crate) locked: bool,
    pub(crate) when: When,
    /// The line of the `id` key, for duplicate-id errors.
    pub(crate) id_line: usize,
}

/// A checked volume cap.
#[derive(Debug, Clone)]
pub(crate) struct Cap {
    pub(crate) id: RuleId,
    pub(crate) actions: Vec<ActionPattern>,
    pub(crate) max_per_hour: u32,
    pub(crate) id_line: usize,
}

/// One parsed and checked policy document (one scope).
///
/// Parse one on its own to validate a file (a `policy check` command), or let
/// [`PolicyLoader`](super::PolicyLoader) do it.
///
/// ```
/// use stackhand_core::policy::{PolicyDocument, Scope};
///
/// let doc = PolicyDocument::parse("inline", r#"
///     [scope]
///     tenant = "acme-law"
///
///     [[rules]]
///     id = "unlock"
///     actions = ["identity.unlock"]
///     effect = "allow"
/// "#).unwrap();
/// assert!(matches!(doc.scope(), Scope::Tenant(t) if t.as_str() == "acme-law"));
/// assert_eq!(doc.rule_ids().collect::<Vec<_>>(), ["unlock"]);
/// ```
#[derive(Debug, Clone)]
pub struct PolicyDocument {
    pub(crate) origin: String,
    pub(crate) scope: Scope,
    pub(crate) protected: Protected,
    pub(crate) rules: Vec<Rule>,
    pub(crate) caps: Vec<Cap>,
    /// Every name the document uses that must exist, for [`PolicyDocument::check`].
    pub(crate) names: Vec<NameUse>,
}

impl PolicyDocument {
    /// Parse and check one TOML document. `origin` (a file path or a name) is used in errors.
    ///
    /// This checks the document on its own. Whether the names it uses (action ids, tenants,
    /// groups, departments, roles) exist is checked against a [`Vocabulary`](crate::policy::Vocabulary)
    /// by [`check`](Self::check), which [`PolicyLoader::build`](super::PolicyLoader::build) always
    /// runs.
    pub fn parse(origin: impl Into<String>, text: &str) -> Result<Self, PolicyError> {
        let origin = origin.into();
        // The spanned tree is only for line numbers; figment does the typed extraction.
        let tree = toml::de::DeTable::parse(text).map_err(|e| syntax_error(&origin, text, &e))?;
        let map = SourceMap::new(&origin, text, tree.get_ref());
        let raw: RawDocument = Figment::from(Toml::string(text))
            .extract()
            .map_err(|e| figment_error(&map, &origin, e))?;
        check_document(&map, origin.clone(), raw)
    }

    /// The file path or name the document was loaded from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The scope it applies to.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Its rule ids, in document order.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.id.as_str())
    }

    /// Its cap ids, in document order.
    pub fn cap_ids(&self) -> impl Iterator<Item = &str> {
        self.caps.iter().map(|c| c.id.as_str())
    }
}

/// Turn figment's error (key path, no line) into one naming line and field.
fn figment_error(map: &SourceMap<'_>, origin: &str, err: figment::Error) -> PolicyError {
    use figment::error::Kind;
    let mut path = FieldPath::from_figment(&err.path);
    let message = match &err.kind {
        // figment already put an unknown key at the end of the path.
        Kind::UnknownField(found, expected) | Kind::UnknownVariant(found, expected) => {
            let what = if matches!(err.kind, Kind::UnknownField(..)) {
                "field"
            } else {
                "variant"
            };
            let hint = hint(did_you_mean(found, expected.iter().copied()));
            format!(
                "unknown {what} {found:?}{hint}, expected one of {}",
                quoted_list(expected)
            )
        }
        Kind::MissingField(field) => {
            path = path.key(field);
            format!("missing field {field:?}")
        }
        Kind::InvalidType(actual, expected) => {
            format!("invalid type: found {actual}, expected {expected}")
        }
        Kind::Message(msg) if err.path.is_empty() => {
            // The TOML reader figment uses disagreed with ours; its message carries the line.
            let line = msg
                .split("at line ")
                .nth(1)
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            return PolicyError::Document {
                origin: origin.to_string(),
                line,
                field: None,
                message: msg.lines().last().unwrap_or(msg).to_string(),
            };
        }
        other => other.to_string(),
    };
    map.error(&path, message)
}

fn check_document(
    map: &SourceMap<'_>,
    origin: String,
    raw: RawDocument,
) -> Result<PolicyDocument, PolicyError> {
    let root = FieldPath::root();
    let scope = check_scope(map, raw.scope)?;
    let mut names = scope_names(map, &scope);
    let protected = Protected {
        roles: raw.protected.roles,
        groups: raw.protected.groups,
        accounts: raw.protected.accounts,
    };
    let rules_path = root.key("rules");
    let rules = raw
        .rules
        .into_iter()
        .enumerate()
        .map(|(i, rule)| check_rule(map, &scope, &rules_path.index(i), rule, &mut names))
        .collect::<Result<Vec<_>, _>>()?;
    let caps_path = root.key("caps");
    let caps = raw
        .caps
        .into_iter()
        .enumerate()
        .map(|(i, cap)| check_cap(map, &caps_path.index(i), cap, &mut names))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PolicyDocument {
        origin,
        scope,
        protected,
        rules,
        caps,
        names,
    })
}

/// The names a scope uses, located at their keys.
fn scope_names(map: &SourceMap<'_>, scope: &Scope) -> Vec<NameUse> {
    let path = FieldPath::root().key("scope");
    let used = |kind, name: &str, path: FieldPath| NameUse::new(map, kind, name, &path);
    match scope {
        Scope::Global => Vec::new(),
        Scope::TenantGroup(group) => vec![used(
            NameKind::TenantGroup,
            group.as_str(),
            path.key("tenant_group"),
        )],
        Scope::Tenant(tenant) => vec![used(NameKind::Tenant, tenant.as_str(), path.key("tenant"))],
        Scope::Department { tenant, name } => {
            let department = path.key("department");
            vec![
                used(NameKind::Tenant, tenant.as_str(), department.key("tenant")),
                used(
                    NameKind::Department {
                        tenant: tenant.clone(),
                    },
                    &name.0,
                    department.key("name"),
                ),
            ]
        }
    }
}

const SCOPE_KEYS: &str = "global = true, tenant_group = \"...\", tenant = \"...\" or department = { tenant = \"...\", name = \"...\" }";

fn check_scope(map: &SourceMap<'_>, raw: Option<RawScope>) -> Result<Scope, PolicyError> {
    let path = FieldPath::root().key("scope");
    let Some(raw) = raw else {
        return Err(map.error(
            &path,
            format!("missing [scope] table: give exactly one of {SCOPE_KEYS}"),
        ));
    };
    let given = usize::from(raw.global.is_some())
        + usize::from(raw.tenant_group.is_some())
        + usize::from(raw.tenant.is_some())
        + usize::from(raw.department.is_some());
    if given != 1 {
        return Err(map.error(
            &path,
            format!("{given} scope keys given: give exactly one of {SCOPE_KEYS}"),
        ));
    }
    let invalid =
        |key: &str, err: crate::Error| map.error(&path.key(key), err.message().to_string());
    if let Some(global) = raw.global {
        if !global {
            return Err(map.error(
                &path.key("global"),
                "global = false is not a scope: write global = true, or name a tenant_group, tenant or department",
            ));
        }
        return Ok(Scope::Global);
    }
    if let Some(group) = raw.tenant_group {
        return TenantGroupId::new(group)
            .map(Scope::TenantGroup)
            .map_err(|e| invalid("tenant_group", e));
    }
    if let Some(tenant) = raw.tenant {
        return TenantId::new(tenant)
            .map(Scope::Tenant)
            .map_err(|e| invalid("tenant", e));
    }
    let department = raw.department.expect("exactly one scope key is set");
    let tenant = TenantId::new(department.tenant).map_err(|e| {
        map.error(
            &path.key("department").key("tenant"),
            e.message().to_string(),
        )
    })?;
    if department.name.trim().is_empty() {
        return Err(map.error(
            &path.key("department").key("name"),
            "the department name is empty",
        ));
    }
    Ok(Scope::Department {
        tenant,
        name: Department::new(department.name),
    })
}

fn check_id(map: &SourceMap<'_>, path: &FieldPath, id: String) -> Result<RuleId, PolicyError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(RuleId::new(id))
    } else {
        Err(map.error(
            &path.key("id"),
            format!("invalid id {id:?}: use 1-128 letters, digits, '-', '_', '.' or ':'"),
        ))
    }
}

fn check_rule(
    map: &SourceMap<'_>,
    scope: &Scope,
    path: &FieldPath,
    raw: RawRule,
    names: &mut Vec<NameUse>,
) -> Result<Rule, PolicyError> {
    let id_line = map.line_of(&path.key("id"));
    let id = check_id(map, path, raw.id)?;
    let shown = format!("{:?}", id.as_str());
    let actions = check_actions(map, &path.key("actions"), raw.actions, names)?;
    let effect = match (raw.effect, raw.approvers) {
        (RawEffect::Approve, None) => {
            return Err(map.error(
                &path.key("effect"),
                format!(
                    "rule {shown} has effect \"approve\" but no approvers: add approvers = [{{ role = \"...\" }}, {{ group = \"...\" }} or {{ contact = \"...\" }}]"
                ),
            ));
        }
        (RawEffect::Approve, Some(approvers)) if approvers.is_empty() => {
            return Err(map.error(
                &path.key("approvers"),
                format!("rule {shown} has effect \"approve\" but an empty approvers list"),
            ));
        }
        (RawEffect::Approve, Some(approvers)) => RuleEffect::Approve(
            approvers
                .into_iter()
                .enumerate()
                .map(|(i, a)| check_approver(map, &path.key("approvers").index(i), a, names))
                .collect::<Result<_, _>>()?,
        ),
        (effect, Some(_)) => {
            let name = if effect == RawEffect::Allow {
                "allow"
            } else {
                "deny"
            };
            return Err(map.error(
                &path.key("approvers"),
                format!(
                    "rule {shown} has effect {name:?}, which takes no approvers: remove them or use effect = \"approve\""
                ),
            ));
        }
        (RawEffect::Allow, None) => RuleEffect::Allow,
        (RawEffect::Deny, None) => RuleEffect::Deny,
    };
    if raw.locked && *scope != Scope::Global {
        return Err(map.error(
            &path.key("locked"),
            format!(
                "rule {shown} is locked, but only rules in the global scope can be locked (this document's scope is {scope})"
            ),
        ));
    }
    let when = check_when(map, &path.key("when"), raw.when)?;
    Ok(Rule {
        id,
        description: raw.description,
        actions,
        effect,
        locked: raw.locked,
        when,
        id_line,
    })
}

fn check_approver(
    map: &SourceMap<'_>,
    path: &FieldPath,
    raw: RawApprover,
    names: &mut Vec<NameUse>,
) -> Result<Approver, PolicyError> {
    match (raw.role, raw.group, raw.contact) {
        (Some(role), None, None) if !role.is_empty() => {
            names.push(NameUse::new(map, NameKind::Role, &role, &path.key("role")));
            Ok(Approver::Role(role))
        }
        (None, Some(group), None) if !group.is_empty() => Ok(Approver::Group(group)),
        (None, None, Some(contact)) if !contact.is_empty() => Ok(Approver::Contact(contact)),
        _ => Err(map.error(
            path,
            "an approver is exactly one non-empty role, group or contact, e.g. { role = \"msp.lead\" }",
        )),
    }
}

fn check_actions(
    map: &SourceMap<'_>,
    path: &FieldPath,
    actions: Vec<String>,
    names: &mut Vec<NameUse>,
) -> Result<Vec<ActionPattern>, PolicyError> {
    if actions.is_empty() {
        return Err(map.error(
            path,
            "the actions list is empty, so this can never match: name action ids or globs such as \"identity.*\"",
        ));
    }
    actions
        .into_iter()
        .enumerate()
        .map(|(i, pattern)| {
            let checked = check_action_pattern(&pattern).ok_or_else(|| {
                map.error(
                    &path.index(i),
                    format!(
                        "{pattern:?} can never match an action id: use namespace.verb in lowercase (e.g. \"identity.reset_password\"), with * as a wildcard (\"identity.*\", \"*\")"
                    ),
                )
            })?;
            names.push(NameUse::new(map, NameKind::Action, &pattern, &path.index(i)));
            Ok(checked)
        })
        .collect()
}

/// Classify an action pattern, or `None` if no action id could ever match it.
///
/// `*` may stand for any run of id characters, dots included. Substituting `a.a` for every `*`
/// gives a valid id exactly when some substitution does: the substitution never creates an empty
/// segment, and only the literal parts can break the id grammar.
pub(crate) fn check_action_pattern(pattern: &str) -> Option<ActionPattern> {
    let allowed =
        |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '*');
    if pattern.is_empty() || !pattern.chars().all(allowed) {
        return None;
    }
    ActionId::new(pattern.replace('*', "a.a")).ok()?;
    Some(if pattern.contains('*') {
        ActionPattern::Glob(pattern.to_string())
    } else {
        ActionPattern::Exact(pattern.to_string())
    })
}

fn check_when(map: &SourceMap<'_>, path: &FieldPath, raw: RawWhen) -> Result<When, PolicyError> {
    if raw.requester_kinds.as_ref().is_some_and(Vec::is_empty) {
        return Err(map.error(
            &path.key("requester_kinds"),
            "requester_kinds is empty, so the rule can never match: list end_user, technician, agent or system, or leave it out",
        ));
    }
    let params_path = path.key("params");
    let params = raw
        .params
        .into_iter()
        .enumerate()
        .map(|(i, p)| check_param(map, &params_path.index(i), p))
        .collect::<Result<_, _>>()?;
    Ok(When {
        operation: raw.operation,
        requester_kinds: raw.requester_kinds,
        self_service: raw.self_service,
        target_protected: raw.target_protected,
        risk_at_most: raw.risk_at_most,
        params,
    })
}

fn check_param(
    map: &SourceMap<'_>,
    path: &FieldPath,
    raw: RawParam,
) -> Result<ParamPredicate, PolicyError> {
    if !(raw.path.is_empty() || raw.path.starts_with('/')) {
        return Err(map.error(
            &path.key("path"),
            format!(
                "{:?} is not a JSON pointer: start it with '/', e.g. \"/sku\"",
                raw.path
            ),
        ));
    }
    let test = match (raw.one_of, raw.equals, raw.matches, raw.exists) {
        (Some(values), None, None, None) => {
            if values.is_empty() {
                return Err(map.error(
                    &path.key("in"),
                    "the in list is empty, so it can never hold",
                ));
            }
            ParamTest::OneOf(values)
        }
        (None, Some(value), None, None) => ParamTest::Equals(value),
        (None, None, Some(glob), None) => ParamTest::Matches(
            Glob::new(&glob)
                .map_err(|e| {
                    map.error(&path.key("matches"), format!("invalid glob {glob:?}: {e}"))
                })?
                .compile_matcher(),
        ),
        (None, None, None, Some(exists)) => ParamTest::Exists(exists),
        _ => {
            return Err(map.error(
                path,
                "a params predicate has a path and exactly one of in, equals, matches or exists",
            ));
        }
    };
    Ok(ParamPredicate {
        pointer: raw.path,
        test,
    })
}

fn check_cap(
    map: &SourceMap<'_>,
    path: &FieldPath,
    raw: RawCap,
    names: &mut Vec<NameUse>,
) -> Result<Cap, PolicyError> {
    let id_line = map.line_of(&path.key("id"));
    let id = check_id(map, path, raw.id)?;
    let shown = format!("{:?}", id.as_str());
    let actions = check_actions(map, &path.key("actions"), raw.actions, names)?;
    if raw.max_per_hour == 0 {
        return Err(map.error(
            &path.key("max_per_hour"),
            format!(
                "cap {shown} has max_per_hour = 0: to forbid the action write a deny rule instead"
            ),
        ));
    }
    Ok(Cap {
        id,
        actions,
        max_per_hour: raw.max_per_hour,
        id_line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_patterns_are_checked_for_satisfiability() {
        for good in [
            "identity.reset_password",
            "identity.*",
            "*",
            "*.unlock",
            "m365.*",
            "identity*",
        ] {
            assert!(check_action_pattern(good).is_some(), "{good}");
        }
        for bad in [
            "identity",
            "Identity.*",
            "identity.",
            ".*",
            "*.",
            "a..*",
            "identity.reset-password",
            "",
            "identity.?",
        ] {
            assert!(check_action_pattern(bad).is_none(), "{bad}");
        }
        assert_eq!(
            check_action_pattern("psa.add_note"),
            Some(ActionPattern::Exact("psa.add_note".into()))
        );
    }
}
