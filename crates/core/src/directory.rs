//! Who is asking: the staff directory, the authenticated source of technicians' and approvers'
//! roles.
//!
//! A caller names a principal; it never vouches for what that principal may do. The engine
//! looks technicians and approvers up here and uses the roles the directory gives them **in the
//! tenant at hand**, so one client's helpdesk lead cannot approve another client's change,
//! whatever roles the caller claims. Agents never approve.
//!
//! ```
//! use stackhand_core::directory::{RoleScope, StaffDirectory, StaffMember, MemoryStaffDirectory};
//! use stackhand_core::{Tenant, TenantId};
//!
//! let acme = Tenant::new(TenantId::new("acme")?, "Acme");
//! let globex = Tenant::new(TenantId::new("globex")?, "Globex");
//! let staff = MemoryStaffDirectory::new()
//!     .with(StaffMember::technician("lead@msp.example").role("msp.lead", RoleScope::AllTenants))
//!     .with(StaffMember::client("it@acme.example").role("client.manager", RoleScope::Tenant(acme.id.clone())));
//!
//! let manager = staff.member("IT@acme.example").unwrap();
//! assert_eq!(manager.roles_in(&acme), vec!["client.manager"]);
//! assert!(manager.roles_in(&globex).is_empty());
//! # Ok::<(), stackhand_core::Error>(())
//! ```

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::{Principal, PrincipalKind, Tenant, TenantGroupId, TenantId};

/// Where a role holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "scope", content = "id")]
pub enum RoleScope {
    /// Every tenant the MSP serves (MSP staff).
    AllTenants,
    /// The tenants of one tenant group.
    TenantGroup(TenantGroupId),
    /// One tenant (a client's own approver).
    Tenant(TenantId),
}

impl RoleScope {
    /// Whether the role holds in `tenant`.
    pub fn covers(&self, tenant: &Tenant) -> bool {
        match self {
            RoleScope::AllTenants => true,
            RoleScope::TenantGroup(group) => tenant.group.as_ref() == Some(group),
            RoleScope::Tenant(id) => &tenant.id == id,
        }
    }
}

/// A role and where it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopedRole {
    /// The role (`msp.lead`, `client.manager`).
    pub role: String,
    /// Where it holds.
    #[serde(flatten)]
    pub scope: RoleScope,
}

/// A person the directory knows: MSP staff, or a client's approver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffMember {
    /// The authenticated id (email or PSA member id).
    pub id: String,
    /// MSP technician, or a client's end user acting as an approver.
    pub kind: PrincipalKind,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Roles, each with where it holds.
    #[serde(default)]
    pub roles: Vec<ScopedRole>,
    /// Approver groups, each with where it holds.
    #[serde(default)]
    pub groups: Vec<ScopedRole>,
}

impl StaffMember {
    /// An MSP technician with no roles yet.
    pub fn technician(id: impl Into<String>) -> Self {
        Self::new(PrincipalKind::Technician, id)
    }

    /// A client's person (an approver on the client side) with no roles yet.
    pub fn client(id: impl Into<String>) -> Self {
        Self::new(PrincipalKind::EndUser, id)
    }

    fn new(kind: PrincipalKind, id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            kind,
            display_name: None,
            roles: Vec::new(),
            groups: Vec::new(),
        }
    }

    /// Add a role that holds in `scope`.
    pub fn role(mut self, role: impl Into<String>, scope: RoleScope) -> Self {
        self.roles.push(ScopedRole {
            role: role.into(),
            scope,
        });
        self
    }

    /// Add an approver group membership that holds in `scope`.
    pub fn group(mut self, group: impl Into<String>, scope: RoleScope) -> Self {
        self.groups.push(ScopedRole {
            role: group.into(),
            scope,
        });
        self
    }

    /// The roles that hold in `tenant`.
    pub fn roles_in(&self, tenant: &Tenant) -> Vec<String> {
        held_in(&self.roles, tenant)
    }

    /// The principal as the engine acts on it in `tenant`: the directory's kind, roles and
    /// groups there, whatever the caller claimed.
    pub fn principal_in(&self, tenant: &Tenant, claimed: &Principal) -> Principal {
        Principal {
            kind: self.kind,
            id: self.id.clone(),
            display_name: self
                .display_name
                .clone()
                .or_else(|| claimed.display_name.clone()),
            idp_login: claimed.idp_login.clone(),
            roles: self.roles_in(tenant),
            groups: held_in(&self.groups, tenant),
        }
    }
}

fn held_in(roles: &[ScopedRole], tenant: &Tenant) -> Vec<String> {
    roles
        .iter()
        .filter(|r| r.scope.covers(tenant))
        .map(|r| r.role.clone())
        .collect()
}

/// The authenticated source of technicians' and approvers' roles.
pub trait StaffDirectory: Send + Sync {
    /// The member with this id (case-insensitive), if any.
    fn member(&self, id: &str) -> Option<StaffMember>;
}

/// A [`StaffDirectory`] held in memory, built from configuration.
#[derive(Debug, Clone, Default)]
pub struct MemoryStaffDirectory {
    members: HashMap<String, StaffMember>,
}

impl MemoryStaffDirectory {
    /// An empty directory: nobody may approve, no technician may act.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add (or replace) a member.
    pub fn with(mut self, member: StaffMember) -> Self {
        self.members.insert(member.id.to_lowercase(), member);
        self
    }
}

impl StaffDirectory for MemoryStaffDirectory {
    fn member(&self, id: &str) -> Option<StaffMember> {
        self.members.get(&id.to_lowercase()).cloned()
    }
}
