//! The names a policy may use, so that a typo is refused at load instead of silently disabling a
//! rule or a cap.

use std::collections::{BTreeMap, BTreeSet};

use crate::action::ActionCatalog;
use crate::model::{ActionId, Department, TenantGroupId, TenantId};

/// The names that exist: a policy document that names anything else is refused at load, with
/// the file, the line, the field and the nearest known name.
///
/// A deny rule or a cap that names `identity.reset_pasword` would otherwise match nothing, and
/// the guard it was written to be would be silently gone. So
/// [`PolicyLoader::build`](super::PolicyLoader::build) (and
/// [`PolicyDocument::check`](super::PolicyDocument::check)) check every name against a
/// vocabulary:
///
/// - **Action ids are always checked.** An exact id in `actions` must be a known id; a glob
///   (`identity.*`, `m365.*`, `*`) must match at least one known id. The default vocabulary,
///   [`Vocabulary::builtin`], knows every built-in action (`crate::actions::builtin()`); vendor
///   actions (`m365.set_forwarding`, `okta.suspend`) are added by the caller, with
///   [`with_actions`](Self::with_actions) or [`with_catalog`](Self::with_catalog).
/// - **Tenants, tenant groups, departments and roles are checked once the vocabulary lists
///   them.** A caller that never calls [`with_tenants`](Self::with_tenants) gets no check of
///   the tenants a document is scoped to, and likewise for
///   [`with_tenant_groups`](Self::with_tenant_groups),
///   [`with_departments`](Self::with_departments) and [`with_roles`](Self::with_roles). Once a
///   kind is listed (even with an empty list) every use of it is checked. The runner always
///   lists all four, from its tenant configuration and the identity providers' directories.
///
/// What is checked where: `scope.tenant` and `scope.department.tenant` against the tenants,
/// `scope.tenant_group` against the tenant groups, `scope.department.name` against the
/// departments of that tenant (departments are per tenant, compared exactly, as the department
/// layer matches them), and every `approvers = [{ role = ".." }]` against the roles (the roles
/// MSP staff hold, as [`Principal::roles`](crate::Principal)). Approver groups and contacts,
/// and the `[protected]` lists, are not checked.
///
/// ```
/// use stackhand_core::policy::{PolicyLoader, Vocabulary};
/// use stackhand_core::{ActionId, TenantId};
///
/// let vocabulary = Vocabulary::builtin()
///     .with_actions([ActionId::from_static("m365.set_forwarding")])
///     .with_tenants([TenantId::new("acme-law").unwrap()]);
/// let err = PolicyLoader::new()
///     .vocabulary(vocabulary)
///     .add_str("acme.toml", "[scope]\ntenant = \"acme-law\"\n\n[[rules]]\nid = \"no-resets\"\nactions = [\"identity.reset_pasword\"]\neffect = \"deny\"\n")
///     .build()
///     .unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "acme.toml:6: rules[0].actions[0]: unknown action id \"identity.reset_pasword\" (did you mean \"identity.reset_password\"?)"
/// );
/// ```
#[derive(Debug, Clone)]
pub struct Vocabulary {
    actions: BTreeSet<String>,
    tenants: Option<BTreeSet<String>>,
    tenant_groups: Option<BTreeSet<String>>,
    departments: Option<BTreeMap<String, BTreeSet<String>>>,
    roles: Option<BTreeSet<String>>,
}

impl Default for Vocabulary {
    /// The same as [`Vocabulary::builtin`].
    fn default() -> Self {
        Self::builtin()
    }
}

impl Vocabulary {
    /// The built-in action ids, and no list of tenants, tenant groups, departments or roles
    /// (so those are not checked).
    pub fn builtin() -> Self {
        Self {
            actions: crate::actions::builtin()
                .specs()
                .map(|spec| spec.id.as_str().to_string())
                .collect(),
            tenants: None,
            tenant_groups: None,
            departments: None,
            roles: None,
        }
    }

    /// Also know these action ids (vendor actions of the connectors in use).
    pub fn with_actions(mut self, ids: impl IntoIterator<Item = ActionId>) -> Self {
        self.actions
            .extend(ids.into_iter().map(|id| id.as_str().to_string()));
        self
    }

    /// Also know every action of a catalog, such as the one
    /// [`Engine::actions`](crate::Engine::actions) lists for a tenant.
    pub fn with_catalog(self, catalog: &ActionCatalog) -> Self {
        self.with_actions(catalog.specs().map(|spec| spec.id.clone()))
    }

    /// Check tenants: documents may be scoped only to these (and earlier listed) tenants.
    pub fn with_tenants(mut self, tenants: impl IntoIterator<Item = TenantId>) -> Self {
        self.tenants
            .get_or_insert_with(BTreeSet::new)
            .extend(tenants.into_iter().map(|t| t.as_str().to_string()));
        self
    }

    /// Check tenant groups: documents may be scoped only to these (and earlier listed) groups.
    pub fn with_tenant_groups(mut self, groups: impl IntoIterator<Item = TenantGroupId>) -> Self {
        self.tenant_groups
            .get_or_insert_with(BTreeSet::new)
            .extend(groups.into_iter().map(|g| g.as_str().to_string()));
        self
    }

    /// Check departments: `tenant` has these departments (as its directory names them). Once
    /// any tenant's departments are listed, a department document of a tenant with none listed
    /// is refused.
    pub fn with_departments(
        mut self,
        tenant: &TenantId,
        names: impl IntoIterator<Item = Department>,
    ) -> Self {
        self.departments
            .get_or_insert_with(BTreeMap::new)
            .entry(tenant.as_str().to_string())
            .or_default()
            .extend(names.into_iter().map(|d| d.0));
        self
    }

    /// Check approver roles: `approvers = [{ role = ".." }]` may name only these (and earlier
    /// listed) roles.
    pub fn with_roles(mut self, roles: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.roles
            .get_or_insert_with(BTreeSet::new)
            .extend(roles.into_iter().map(Into::into));
        self
    }

    /// Whether `id` is a known action id.
    pub fn knows_action(&self, id: &str) -> bool {
        self.actions.contains(id)
    }

    /// The known action ids, sorted.
    pub fn action_ids(&self) -> impl Iterator<Item = &str> {
        self.actions.iter().map(String::as_str)
    }

    pub(crate) fn tenants(&self) -> Option<&BTreeSet<String>> {
        self.tenants.as_ref()
    }

    pub(crate) fn tenant_groups(&self) -> Option<&BTreeSet<String>> {
        self.tenant_groups.as_ref()
    }

    /// `None` when departments are not checked; else the departments of `tenant` (maybe none).
    pub(crate) fn departments_of(&self, tenant: &str) -> Option<Option<&BTreeSet<String>>> {
        self.departments
            .as_ref()
            .map(|by_tenant| by_tenant.get(tenant))
    }

    pub(crate) fn roles(&self) -> Option<&BTreeSet<String>> {
        self.roles.as_ref()
    }
}
