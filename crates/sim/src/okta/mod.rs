//! Simulated Okta Management API (`/api/v1/...`) and org authorization server
//! (`/oauth2/v1/token`), seeded from the world ([`crate::world`]): [`OktaSim::from_world`]
//! serves the world's first tenant whose identity provider is Okta (one org per simulator, as
//! one org is one URL; [`OktaSim::for_tenant`] picks another). In the built-in world that is
//! Globex Corporation.
//!
//! What it models, after the Okta spec kept in `crates/testkit/specs/okta.yaml`:
//! - users with the spec's lifecycle (`reset_password` -> `RECOVERY` with a `resetPasswordUrl`,
//!   `expire_password_with_temp_password` -> `PASSWORD_EXPIRED` with a `tempPassword`, `unlock`,
//!   `suspend` / `unsuspend`, `deactivate` -> `DEPROVISIONED`, `activate`), search / filter / `q`
//!   lookups, creation with password policy and `groupIds`, partial update;
//! - factors (Okta Verify `push` with its linked `token:software:totp`, `sms`), `reset_factors`
//!   and single unenrolment; sessions; groups (`OKTA_GROUP` writable, `APP_GROUP` and `BUILT_IN`
//!   read-only) and memberships; admin roles held directly or through a group
//!   (`GET /api/v1/users/{id}/roles` lists both, `GET /api/v1/groups/{groupId}/roles` a group's);
//! - Okta's error envelope (`errorCode`, `errorSummary`, `errorLink`, `errorId`, `errorCauses`)
//!   with its E-codes, RFC 8288 `Link` paging with opaque `after` cursors, and the
//!   `X-Rate-Limit-Limit` / `-Remaining` / `-Reset` headers on every API response with a
//!   configurable budget per window, answered over budget by `429` `E0000047`;
//! - `Authorization: SSWS <token>` and `Bearer <token>` from the client-credentials grant with a
//!   `private_key_jwt` client assertion (checked for shape, `iss` = `sub` = client id,
//!   `aud` = the token URL, expiry and `jti` replay; the signature through an optional verifier).
//!
//! Deliberate simplifications: lifecycle operations complete synchronously (no
//! `transitioningToStatus`), the rate budget is one bucket for the whole org rather than one per
//! endpoint, `fields` projections are ignored, and
//! `authenticator-enrollments` is not served.

mod api;
mod expr;
mod model;
mod oauth;
mod seed;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post, put};
use parking_lot::Mutex;

use crate::oauth::Tokens;
use crate::server::{Faults, SimServer};
use crate::world::{IdentityKind, Tenant, World};

pub use model::{GroupType, ProviderType, SimFactor, SimGroup, SimUser, UserStatus};
pub use seed::{GLOBEX_DOMAIN, ids};

/// The API token the built-in world's org accepts (`Authorization: SSWS ...`): a handle on
/// the world's `okta.api_token`.
pub const GLOBEX_API_TOKEN: &str = "00globexSimApiTokenForTests0000000000000";
/// The client id of the built-in world's API Services app (private_key_jwt): a handle on the
/// world's `okta.client_id`.
pub const GLOBEX_CLIENT_ID: &str = "0oa1globexsimsvc0001";

/// Every scope the seeded service app may request.
pub const ALL_SCOPES: &[&str] = &[
    "okta.users.read",
    "okta.users.manage",
    "okta.groups.read",
    "okta.groups.manage",
    "okta.sessions.read",
    "okta.sessions.manage",
    "okta.authenticators.read",
    "okta.authenticators.manage",
    "okta.roles.read",
];

/// The parts of a client assertion a signature verifier needs.
#[derive(Debug)]
pub struct SignedAssertion<'a> {
    /// The decoded JOSE header (`alg`, `kid`...).
    pub header: &'a serde_json::Value,
    /// `base64url(header) "." base64url(payload)`, the bytes that were signed.
    pub signing_input: &'a str,
    /// The decoded signature.
    pub signature: &'a [u8],
}

/// Checks a client assertion's signature against the app's registered public key.
pub type SignatureVerifier = Arc<dyn Fn(&SignedAssertion<'_>) -> bool + Send + Sync>;

/// An API Services app registered with the org authorization server.
#[derive(Clone)]
pub struct OAuthClient {
    /// The client id (`iss` and `sub` of its assertions).
    pub client_id: String,
    /// Scopes it was granted.
    pub scopes: Vec<String>,
    /// Signature check; `None` checks only the assertion's shape and claims.
    pub verifier: Option<SignatureVerifier>,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("verifies_signature", &self.verifier.is_some())
            .finish()
    }
}

/// How the simulated org behaves.
#[derive(Clone)]
pub struct OktaSimConfig {
    /// The org URL used in links and as the token audience; `None` takes `http://{Host}` from
    /// each request, so links point back at the simulator.
    pub org_url: Option<String>,
    /// Accepted SSWS API tokens (they carry every permission, like a super admin's token).
    pub api_tokens: Vec<String>,
    /// Registered service apps.
    pub clients: Vec<OAuthClient>,
    /// Requests allowed per rate window across `/api/v1`.
    pub rate_limit: u32,
    /// The rate window (Okta's is one minute).
    pub rate_window: Duration,
    /// Lifetime of issued access tokens (Okta's is one hour).
    pub access_token_ttl: Duration,
}

impl std::fmt::Debug for OktaSimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OktaSimConfig")
            .field("org_url", &self.org_url)
            .field("api_tokens", &self.api_tokens.len())
            .field("clients", &self.clients)
            .field("rate_limit", &self.rate_limit)
            .field("rate_window", &self.rate_window)
            .finish_non_exhaustive()
    }
}

impl OktaSimConfig {
    /// The org of a world tenant: its API token, and its service app granted every scope.
    ///
    /// # Panics
    ///
    /// When the tenant has no `[tenants.okta]` table.
    pub fn for_tenant(tenant: &Tenant) -> Self {
        let okta = tenant.okta.as_ref().unwrap_or_else(|| {
            panic!(
                "tenant `{}` has no [tenants.okta] table to seed Okta from",
                tenant.key
            )
        });
        Self {
            org_url: None,
            api_tokens: vec![okta.api_token.clone()],
            clients: vec![OAuthClient {
                client_id: okta.client_id.clone(),
                scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
                verifier: None,
            }],
            rate_limit: 600,
            rate_window: Duration::from_secs(60),
            access_token_ttl: Duration::from_secs(3600),
        }
    }
}

impl Default for OktaSimConfig {
    /// The built-in world's org (Globex).
    fn default() -> Self {
        Self::for_tenant(builtin_tenant())
    }
}

/// The built-in world's first Okta tenant.
fn builtin_tenant() -> &'static Tenant {
    first_tenant(World::builtin())
}

fn first_tenant(world: &World) -> &Tenant {
    world
        .identity_tenants(IdentityKind::Okta)
        .next()
        .expect("the world has no tenant with identity = \"okta\"")
}

/// What an access token grants.
#[derive(Debug)]
struct TokenGrant {
    scopes: Vec<String>,
}

#[derive(Debug, Default)]
struct RateWindow {
    ends: Option<Instant>,
    reset_epoch: i64,
    used: u32,
}

/// `Faults::rate_limit_every`, answered in Okta's shape rather than the shared server's.
#[derive(Debug, Default)]
struct InjectedThrottle {
    every: u64,
    reset_secs: u64,
    seen: u64,
}

#[derive(Debug)]
struct State {
    /// The email domain of the org's logins.
    domain: String,
    users: Vec<SimUser>,
    groups: Vec<SimGroup>,
    tokens: Tokens<TokenGrant>,
    used_jtis: HashSet<String>,
    window: RateWindow,
    forced_throttles: u32,
    injected: InjectedThrottle,
}

impl State {
    /// Resolve `{id}`: an id, a login, or an unambiguous login short name (spec `pathId`).
    fn user_index(&self, id_or_login: &str) -> Option<usize> {
        if let Some(i) = self.users.iter().position(|u| u.id == id_or_login) {
            return Some(i);
        }
        let wanted = id_or_login.to_lowercase();
        if let Some(i) = self
            .users
            .iter()
            .position(|u| u.login().to_lowercase() == wanted)
        {
            return Some(i);
        }
        let short: Vec<usize> = self
            .users
            .iter()
            .enumerate()
            .filter(|(_, u)| {
                u.login()
                    .split('@')
                    .next()
                    .is_some_and(|local| local.to_lowercase() == wanted)
            })
            .map(|(i, _)| i)
            .collect();
        match short.as_slice() {
            [only] => Some(*only),
            _ => None,
        }
    }

    fn group_index(&self, id_or_name: &str) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| g.id == id_or_name)
            .or_else(|| self.groups.iter().position(|g| g.name() == id_or_name))
    }
}

/// The simulated Okta org. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct OktaSim {
    state: Arc<Mutex<State>>,
    config: Arc<OktaSimConfig>,
}

impl std::fmt::Debug for OktaSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OktaSim")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl OktaSim {
    /// The built-in world's Okta org (Globex) with its default configuration.
    pub fn seeded() -> Self {
        Self::from_world(World::builtin())
    }

    /// The world's first tenant whose identity provider is Okta, with its configuration.
    ///
    /// # Panics
    ///
    /// When the world has no such tenant (see also [`for_tenant`](Self::for_tenant)).
    pub fn from_world(world: &World) -> Self {
        let tenant = first_tenant(world);
        Self::for_tenant(tenant, OktaSimConfig::for_tenant(tenant))
    }

    /// The built-in world's Okta org (Globex) with `config`.
    pub fn with_config(config: OktaSimConfig) -> Self {
        Self::for_tenant(builtin_tenant(), config)
    }

    /// A world tenant's org with `config`.
    ///
    /// # Panics
    ///
    /// When the tenant has no `[tenants.okta]` table, or has `synced` people but no
    /// `okta.directory`.
    pub fn for_tenant(tenant: &Tenant, config: OktaSimConfig) -> Self {
        let (users, groups) = seed::org(tenant);
        Self {
            state: Arc::new(Mutex::new(State {
                domain: tenant.domain.clone(),
                users,
                groups,
                tokens: Tokens::default(),
                used_jtis: HashSet::new(),
                window: RateWindow::default(),
                forced_throttles: 0,
                injected: InjectedThrottle::default(),
            })),
            config: Arc::new(config),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &OktaSimConfig {
        &self.config
    }

    /// The axum router serving `/api/v1/...` and `/oauth2/v1/token`.
    pub fn router(&self) -> Router {
        let api = Router::new()
            .route("/api/v1/users", get(api::list_users).post(api::create_user))
            .route(
                "/api/v1/users/{id}",
                get(api::get_user)
                    .post(api::update_user)
                    .put(api::replace_user),
            )
            .route("/api/v1/users/{id}/groups", get(api::user_groups))
            .route("/api/v1/users/{id}/roles", get(api::user_roles))
            .route("/api/v1/users/{id}/lifecycle/{op}", post(api::lifecycle))
            .route("/api/v1/users/{id}/factors", get(api::list_factors))
            .route(
                "/api/v1/users/{id}/factors/{factor}",
                get(api::get_factor).delete(api::unenroll_factor),
            )
            .route(
                "/api/v1/users/{id}/sessions",
                axum::routing::delete(api::revoke_sessions),
            )
            .route("/api/v1/groups", get(api::list_groups))
            .route("/api/v1/groups/{group}", get(api::get_group))
            .route("/api/v1/groups/{group}/users", get(api::group_users))
            .route("/api/v1/groups/{group}/roles", get(api::group_roles))
            .route(
                "/api/v1/groups/{group}/users/{user}",
                put(api::add_member).delete(api::remove_member),
            )
            .method_not_allowed_fallback(api::method_not_allowed)
            .fallback(api::unknown_endpoint)
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                api::guard,
            ));
        Router::new()
            .route("/oauth2/v1/token", post(oauth::token))
            .with_state(self.clone())
            .merge(api.with_state(self.clone()))
    }

    /// Serve on loopback at a free port with `faults`. Injected 429s (`rate_limit_every`) are
    /// answered in Okta's shape: `E0000047` with `X-Rate-Limit-Reset` `retry_after_secs` ahead
    /// (Okta sends no `Retry-After`); latency is left to the shared server.
    pub async fn start(&self, faults: Faults) -> std::io::Result<SimServer> {
        self.start_on(faults, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
    }

    /// [`start`](Self::start) on a chosen address (a fixed port).
    pub async fn start_on(&self, faults: Faults, addr: SocketAddr) -> std::io::Result<SimServer> {
        self.state.lock().injected = InjectedThrottle {
            every: faults.rate_limit_every,
            reset_secs: faults.retry_after_secs.max(1),
            seen: 0,
        };
        let shared = Faults {
            rate_limit_every: 0,
            ..faults
        };
        SimServer::start_on(self.router(), shared, addr).await
    }

    // -- accessors for tests -------------------------------------------------------------------

    /// A user by id, login or unambiguous short name.
    pub fn user(&self, id_or_login: &str) -> Option<SimUser> {
        let state = self.state.lock();
        state
            .user_index(id_or_login)
            .map(|i| state.users[i].clone())
    }

    /// Every user, in creation order.
    pub fn users(&self) -> Vec<SimUser> {
        self.state.lock().users.clone()
    }

    /// A group by id or exact name.
    pub fn group(&self, id_or_name: &str) -> Option<SimGroup> {
        let state = self.state.lock();
        state
            .group_index(id_or_name)
            .map(|i| state.groups[i].clone())
    }

    /// Whether the user is a member of the group.
    pub fn is_member(&self, user: &str, group: &str) -> bool {
        let state = self.state.lock();
        match (state.user_index(user), state.group_index(group)) {
            (Some(u), Some(g)) => state.groups[g].members.contains(&state.users[u].id),
            _ => false,
        }
    }

    /// Whether `password` is the user's current password.
    pub fn password_is(&self, user: &str, password: &str) -> bool {
        self.user(user)
            .and_then(|u| u.password)
            .is_some_and(|current| current == password)
    }

    /// Set a user's status directly (test setup, e.g. lock a user out again).
    pub fn set_status(&self, user: &str, status: UserStatus) -> bool {
        let mut state = self.state.lock();
        match state.user_index(user) {
            Some(i) => {
                state.users[i].set_status(status);
                true
            }
            None => false,
        }
    }

    /// Add `count` ACTIVE users named `{prefix}{n}` (for paging tests); returns their ids.
    ///
    /// # Panics
    ///
    /// When the org has no ACTIVE user to copy the counters and timestamps of.
    pub fn add_users(&self, prefix: &str, count: usize) -> Vec<String> {
        let mut state = self.state.lock();
        let template = state
            .users
            .iter()
            .find(|u| u.status == UserStatus::Active)
            .cloned()
            .expect("the org has an ACTIVE user");
        (0..count)
            .map(|n| {
                let login = format!("{prefix}{n}@{}", state.domain);
                let mut user = template.clone();
                user.id = model::new_id("00u");
                user.roles.clear();
                user.factors.clear();
                user.profile = [
                    ("login", login.clone()),
                    ("email", login),
                    ("firstName", format!("{prefix}{n}")),
                    ("displayName", format!("{prefix}{n} Bulk")),
                    ("lastName", "Bulk".to_string()),
                ]
                .into_iter()
                .map(|(key, value)| (key.to_string(), value.into()))
                .collect();
                let id = user.id.clone();
                state.users.push(user);
                id
            })
            .collect()
    }

    /// Answer the next `count` API requests with `429` `E0000047`, whatever the budget says.
    pub fn throttle_next(&self, count: u32) {
        self.state.lock().forced_throttles = count;
    }

    /// Issue an access token directly, bypassing the token endpoint (test setup).
    pub fn issue_access_token(&self, scopes: &[&str]) -> String {
        oauth::issue(self, scopes.iter().map(|s| s.to_string()).collect())
    }

    /// Requests left in the current rate window.
    pub fn rate_remaining(&self) -> u32 {
        let state = self.state.lock();
        match state.window.ends {
            Some(ends) if Instant::now() < ends => {
                self.config.rate_limit.saturating_sub(state.window.used)
            }
            _ => self.config.rate_limit,
        }
    }
}
