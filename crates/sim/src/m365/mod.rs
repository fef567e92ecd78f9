//! Simulated Microsoft 365: the identity platform token endpoint, Microsoft Graph v1.0 (users,
//! authentication methods, groups, licences, mail, service health) and the Exchange Online
//! admin `InvokeCommand` endpoint, all stateful and in memory.
//!
//! Routes, on one listener (point the connector's Graph, EXO and token base URLs at it):
//! - `POST /{tenant}/oauth2/v2.0/token`: client credentials with a secret or a certificate
//!   assertion; scope `https://graph.microsoft.com/.default` or
//!   `https://outlook.office365.com/.default`. Tokens are per audience: a Graph token is
//!   refused by EXO and the other way round.
//! - `/v1.0/...`: Graph (including transitive memberships, role-assignable groups and PIM
//!   eligibility instances), with its error envelope, `$select`/`$filter`/`$search`/`$top` and
//!   absolute `@odata.nextLink` paging.
//! - `POST /adminapi/beta/{tenant}/InvokeCommand`: the EXO cmdlet subset (mailbox
//!   permissions, SendAs, SendOnBehalf, conversion to shared, forwarding, auto-reply, address
//!   list visibility, distribution-list membership).
//!
//! The tenant is seeded from the world ([`crate::world`]): [`M365Sim::from_world`] serves the
//! world's first tenant whose identity provider is M365 (one tenant per simulator, as one Entra
//! tenant is one token audience; [`M365Sim::from_tenant`] picks another). In the built-in world
//! that is the law firm "contoso-law" ([`seed`] holds handles on it for tests).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use stackhand_sim::Faults;
//! use stackhand_sim::m365::{M365Sim, seed};
//! let sim = M365Sim::seeded();
//! let server = sim.start(Faults::default()).await?;
//! let token_url = format!("{}/{}/oauth2/v2.0/token", server.url(), seed::TENANT_ID);
//! # let _ = token_url;
//! assert!(sim.user("dreyes@contosolaw.com").unwrap().account_enabled);
//! # Ok(()) }
//! ```

pub mod catalog;
mod exo;
mod graph;
mod health;
mod odata;
pub mod seed;
mod state;
mod token;

use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use parking_lot::Mutex;

use crate::world::{IdentityKind, Tenant, World};
use crate::{Faults, SimServer};

pub use state::{
    Audience, AutoReply, FullAccessGrant, MethodKind, PASSWORD_METHOD_ID, SentMail, SimAuthMethod,
    SimEligibility, SimGroup, SimMailbox, SimRole, SimSku, SimUser,
};

/// The simulated Microsoft 365 tenant. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct M365Sim {
    state: Arc<Mutex<state::TenantState>>,
}

impl std::fmt::Debug for M365Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("M365Sim")
            .field("tenant_id", &self.state.lock().tenant_id)
            .finish_non_exhaustive()
    }
}

impl M365Sim {
    /// The built-in world's M365 tenant (contoso-law).
    pub fn seeded() -> Self {
        Self::from_world(World::builtin())
    }

    /// The world's first tenant whose identity provider is M365.
    ///
    /// # Panics
    ///
    /// When the world has no such tenant, or it names what Entra has no equivalent for (see
    /// [`from_tenant`](Self::from_tenant)).
    pub fn from_world(world: &World) -> Self {
        let tenant = world
            .identity_tenants(IdentityKind::M365)
            .next()
            .expect("the world has no tenant with identity = \"m365\"");
        Self::from_tenant(tenant)
    }

    /// A world tenant with an `[tenants.m365]` table.
    ///
    /// # Panics
    ///
    /// When the tenant has no `[tenants.m365]` table, names a role missing from
    /// [`catalog::ROLES`], or has a `built_in` group (Entra has none).
    pub fn from_tenant(tenant: &Tenant) -> Self {
        Self {
            state: Arc::new(Mutex::new(seed::tenant_state(tenant))),
        }
    }

    /// Every route: token endpoint, Graph and EXO.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(token::token))
            .with_state(self.clone())
            .merge(graph::router(self.clone()))
            .merge(exo::router(self.clone()))
    }

    /// Serve on loopback with `faults`.
    pub async fn start(&self, faults: Faults) -> std::io::Result<SimServer> {
        SimServer::start(self.router(), faults).await
    }

    /// Serve on a chosen address (a fixed port).
    pub async fn start_on(
        &self,
        faults: Faults,
        addr: std::net::SocketAddr,
    ) -> std::io::Result<SimServer> {
        SimServer::start_on(self.router(), faults, addr).await
    }

    /// The tenant id.
    pub fn tenant_id(&self) -> String {
        self.state.lock().tenant_id.clone()
    }

    /// A user by object id or UPN.
    pub fn user(&self, id_or_upn: &str) -> Option<SimUser> {
        self.state.lock().find_user(id_or_upn).cloned()
    }

    /// Every user.
    pub fn users(&self) -> Vec<SimUser> {
        self.state.lock().users.clone()
    }

    /// A group by object id or display name.
    pub fn group(&self, id_or_name: &str) -> Option<SimGroup> {
        let state = self.state.lock();
        state
            .groups
            .iter()
            .find(|g| {
                g.id.eq_ignore_ascii_case(id_or_name)
                    || g.display_name.eq_ignore_ascii_case(id_or_name)
            })
            .cloned()
    }

    /// Whether a user (id or UPN) is a direct member of a group (id or name).
    pub fn is_member(&self, group: &str, user: &str) -> bool {
        let Some(user) = self.user(user) else {
            return false;
        };
        self.group(group)
            .is_some_and(|g| g.members.contains(&user.id))
    }

    /// Display names of the directory roles a user holds, directly or through a group.
    pub fn roles_of(&self, user: &str) -> Vec<String> {
        let Some(user) = self.user(user) else {
            return Vec::new();
        };
        self.state
            .lock()
            .roles_of(&user.id, true)
            .into_iter()
            .map(|r| r.display_name.clone())
            .collect()
    }

    /// Display names of the roles a user is eligible for (PIM), not active.
    pub fn eligible_roles_of(&self, user: &str) -> Vec<String> {
        let Some(user) = self.user(user) else {
            return Vec::new();
        };
        self.state
            .lock()
            .eligibilities
            .iter()
            .filter(|e| e.principal_id == user.id)
            .map(|e| e.role_display_name.clone())
            .collect()
    }

    /// Grant or withdraw the app's `RoleEligibilitySchedule.Read.Directory` (granted by
    /// default); without it eligibility reads answer 403.
    pub fn set_app_reads_role_eligibility(&self, granted: bool) {
        self.state.lock().app.reads_role_eligibility = granted;
    }

    /// Whether the tenant is licensed for PIM (Entra ID P2 / Governance; on by default).
    pub fn set_pim_licensed(&self, licensed: bool) {
        self.state.lock().pim_licensed = licensed;
    }

    /// Licences (sku ids) a user holds, directly or through a group.
    pub fn licenses_of(&self, user: &str) -> Vec<String> {
        let state = self.state.lock();
        state
            .find_user(user)
            .map(|u| state.effective_licenses(u))
            .unwrap_or_default()
    }

    /// Seats (bought, used) of a SKU by part number (`SPE_E3`).
    pub fn seats(&self, sku_part_number: &str) -> Option<(u32, u32)> {
        let state = self.state.lock();
        state
            .skus
            .iter()
            .find(|s| s.sku_part_number.eq_ignore_ascii_case(sku_part_number))
            .map(|s| (s.enabled, state.consumed(&s.sku_id)))
    }

    /// A mailbox by UPN, address, alias or owner id.
    pub fn mailbox(&self, identity: &str) -> Option<SimMailbox> {
        self.state
            .lock()
            .mailboxes
            .iter()
            .find(|m| {
                [
                    &m.user_principal_name,
                    &m.primary_smtp_address,
                    &m.alias,
                    &m.user_id,
                ]
                .iter()
                .any(|c| c.eq_ignore_ascii_case(identity))
            })
            .cloned()
    }

    /// Mail sent through `sendMail`, oldest first.
    pub fn sent_mail(&self) -> Vec<SentMail> {
        self.state.lock().sent_mail.clone()
    }

    /// Mint a delegated token for an audience, as an admin's own scoped token would be
    /// (delegated callers are not held to the app's directory role).
    pub fn delegated_token(&self, audience: Audience) -> String {
        token::issue(
            &mut self.state.lock(),
            audience,
            std::time::Duration::from_secs(3600),
            true,
        )
    }

    /// Expire every token issued so far (to exercise refresh on 401).
    pub fn expire_tokens(&self) {
        self.state.lock().tokens.expire_all();
    }

    /// Give the app's service principal Privileged Authentication Administrator, so it may
    /// reset and block admins (off by default, as for a least-privilege app).
    pub fn set_app_privileged(&self, privileged: bool) {
        self.state.lock().app.privileged = privileged;
    }
}
