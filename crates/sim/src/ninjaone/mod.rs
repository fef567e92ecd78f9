//! Simulated NinjaOne Public API v2 (`/v2/...`) and its OAuth 2.0 token endpoint
//! (`/ws/oauth/token`): one instance for the MSP, each world tenant an organisation.
//!
//! What it models, after the vendor notes (`/work/shared/vendors/ninjaone.md`) and the spec
//! kept in `crates/testkit/specs/ninjaone.yaml`:
//! - client credentials (`client_id`, `client_secret`, `scope` in a form body) for the scopes
//!   the API app was granted, answering `{"access_token", "token_type", "expires_in",
//!   "scope"}`; every `/v2` read needs `monitoring`, every write `management`;
//! - organisations (`/v2/organizations`, `/v2/organization/{id}`, `.../devices`), devices
//!   (`/v2/devices`, `/v2/devices-detailed` with the `df` device filter and `pageSize` /
//!   `after` paging on the last id; `/v2/device/{id}` with the agent detail
//!   `os` / `system` / `lastLoggedInUser`; `/v2/device/{id}/last-logged-on-user`), and the
//!   search `/v2/devices/search?q=&limit=` over names, the last logged-in user and IPs,
//!   spanning every organisation;
//! - asset tags: `GET`/`POST /v2/tag`, `POST /v2/tag/device` adding and removing tags while
//!   keeping the others, `PUT /v2/tag/device/{id}` replacing them all; a device's `tags` are
//!   the names of its asset tags;
//! - custom fields: `GET`/`PATCH /v2/device/{id}/custom-fields` by field name, refused for a
//!   field the account does not define or the API may not write;
//! - scripts and built-in actions: the library (`/v2/automation/scripts`,
//!   `/v2/device/{id}/scripting/options`), `POST /v2/device/{id}/script/run` answering `204`
//!   with no run id, and the activity log `GET /v2/activities` (`class`, `df`, `type`,
//!   `status`, `seriesUid`, `newerThan`, `olderThan`, `pageSize` 10 to 1000) answering
//!   `{"lastActivityId", "activities"}` newest first;
//! - alerts: `GET /v2/alerts` (`df`, `sourceType`), `GET /v2/device/{id}/alerts`, and
//!   `POST /v2/alert/{uid}/reset`, which closes the alert and logs a `RESET` activity;
//! - reboots: `POST /v2/device/{id}/reboot/{mode}` (`NORMAL` or `FORCED`, another mode is a
//!   `400`; an optional `{"reason"}`) answering `204`: the command is queued for the device's
//!   agent and logged (`START_REQUESTED`);
//! - errors in NinjaOne's envelope `{"resultCode": "FAILURE", "errorMessage", "incidentId"}`
//!   (the token endpoint answers in OAuth's `error` / `error_description`), and injected `429`s
//!   in the same envelope.
//!
//! Runs are deterministic: each read of the activity log moves every run on an online device
//! one step, `START_REQUESTED` → `STARTED` → `COMPLETED` with its result, each step a new
//! activity of the run's series. A run on an offline device waits until it comes back
//! ([`NinjaOneSim::set_online`]); a script the device's platform cannot run ends
//! `UNSUPPORTED`; otherwise it ends as [`NinjaOneSim::set_script_outcome`] says, else as
//! [`library::default_outcome`] does: success, and the diagnostic `Test app connectivity`
//! reports the world device's `diagnostics` (or that every check passed). A queued reboot
//! likewise waits for its device to be online, and the next read of the log finds it done
//! (`SYSTEM_REBOOTED`, activity type `SYSTEM`).
//!
//! Deliberate simplifications: the activity log's `before`, `after`, `user` and
//! `sourceConfigUid` filters and the organisation filter `of` are refused rather than guessed
//! at; `/v2/device/{id}/activities`, `/v2/device/{id}/jobs` and the `/v2/queries/*` reports are
//! not served (the trimmed spec and the connector do without them). NinjaOne does not document
//! which activities a reboot logs; the simulator uses the document's `START_REQUESTED` and
//! `SYSTEM_REBOOTED` codes.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use stackhand_sim::Faults;
//! use stackhand_sim::ninjaone::{CLIENT_ID, NinjaOneSim};
//! let sim = NinjaOneSim::seeded();
//! let server = sim.start(Faults::default()).await?;
//! let token_url = format!("{}/ws/oauth/token", server.url());
//! # let _ = (token_url, CLIENT_ID);
//! # Ok(()) }
//! ```

mod api;
mod filter;
pub mod library;
mod model;
mod seed;
mod token;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use chrono::Utc;
use parking_lot::Mutex;
use serde_json::Value;

use crate::oauth::Tokens;
use crate::server::{Faults, SimServer};
use crate::world::World;

pub use library::{ApiPermission, Platform, Runnable};
pub use model::{
    ActivityResult, RebootMode, RunStatus, ScriptOutcome, SimActivity, SimAlert, SimDevice,
    SimOrganization, SimReboot, SimScriptRun, SimTag,
};

/// The client id of the simulated API app (a simulator credential, not a real one).
pub const CLIENT_ID: &str = "sim-ninjaone-stackhand-app";
/// Its client secret (a simulator credential, not a real one).
pub const CLIENT_SECRET: &str = "sim-ninjaone-secret-7f3c1a9e5b2d4c80";
/// Every scope NinjaOne defines: reads, writes, remote control.
pub const ALL_SCOPES: &[&str] = &["monitoring", "management", "control"];

/// The body of an injected `429`: NinjaOne's error envelope.
pub const THROTTLE_BODY: &str = r#"{"resultCode":"FAILURE","errorMessage":"Too many requests","incidentId":"00000000-0000-4000-8000-000000000429"}"#;

/// An API app (Administration → Apps → API, client credentials).
#[derive(Clone)]
pub struct ApiClient {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Scopes ticked for it.
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// How the simulated instance behaves.
#[derive(Debug, Clone)]
pub struct NinjaOneSimConfig {
    /// The registered API apps.
    pub clients: Vec<ApiClient>,
    /// Lifetime of issued access tokens (NinjaOne's is one hour).
    pub access_token_ttl: Duration,
}

impl Default for NinjaOneSimConfig {
    fn default() -> Self {
        Self {
            clients: vec![ApiClient {
                client_id: CLIENT_ID.into(),
                client_secret: CLIENT_SECRET.into(),
                scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
            }],
            access_token_ttl: Duration::from_secs(3600),
        }
    }
}

/// What an access token grants: its scopes.
#[derive(Debug, Clone)]
struct Grant {
    scopes: Vec<String>,
}

#[derive(Debug, Default)]
struct State {
    organizations: Vec<SimOrganization>,
    /// By id.
    devices: Vec<SimDevice>,
    tags: Vec<SimTag>,
    alerts: Vec<SimAlert>,
    /// Oldest first.
    activities: Vec<SimActivity>,
    runs: Vec<SimScriptRun>,
    /// Reboot commands, oldest first.
    reboots: Vec<SimReboot>,
    /// Outcomes set for scripts (id) and actions (uid, lower case).
    outcomes: BTreeMap<String, ScriptOutcome>,
    /// The account's custom-field definitions.
    field_permissions: BTreeMap<String, ApiPermission>,
    tokens: Tokens<Grant>,
    next_activity_id: i64,
}

impl State {
    fn take_activity_id(&mut self) -> i64 {
        let id = self.next_activity_id;
        self.next_activity_id += 1;
        id
    }

    fn device(&self, id: i64) -> Option<&SimDevice> {
        self.devices.iter().find(|d| d.id == id)
    }

    fn organization(&self, id: i64) -> Option<&SimOrganization> {
        self.organizations.iter().find(|o| o.id == id)
    }

    fn tag_names(&self, device: &SimDevice) -> Vec<String> {
        device
            .tag_ids
            .iter()
            .filter_map(|id| self.tags.iter().find(|t| t.id == *id))
            .map(|t| t.name.clone())
            .collect()
    }

    /// Spec `NodeWithDetailedReferences` of a device.
    fn node(&self, device: &SimDevice) -> Value {
        let org = self
            .organization(device.organization_id)
            .expect("every device is in a seeded organisation");
        device.node(org, self.tag_names(device))
    }

    /// Spec `AgentDevice` of a device.
    fn detail(&self, device: &SimDevice) -> Value {
        let org = self
            .organization(device.organization_id)
            .expect("every device is in a seeded organisation");
        device.detail(org, self.tag_names(device))
    }

    /// Move every run and queued reboot on an online device one step on, logging each step.
    fn advance(&mut self) {
        let now = model::epoch(Utc::now());
        for i in 0..self.reboots.len() {
            let reboot = &self.reboots[i];
            if reboot.done || !self.device(reboot.device_id).is_some_and(|d| d.online) {
                continue;
            }
            let id = self.take_activity_id();
            let reboot = &mut self.reboots[i];
            reboot.done = true;
            let activity = SimActivity::of_reboot(id, now, reboot);
            self.activities.push(activity);
        }
        for i in 0..self.runs.len() {
            let run = &self.runs[i];
            let online = self.device(run.device_id).is_some_and(|d| d.online);
            let next = match run.status {
                _ if !online => continue,
                RunStatus::StartRequested => RunStatus::Started,
                RunStatus::Started => RunStatus::Completed(run.outcome.result),
                RunStatus::Completed(_) => continue,
            };
            let id = self.take_activity_id();
            let run = &mut self.runs[i];
            run.status = next;
            let activity = SimActivity::of_run(id, now, run, next);
            self.activities.push(activity);
        }
    }
}

/// The simulated NinjaOne instance. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct NinjaOneSim {
    state: Arc<Mutex<State>>,
    config: Arc<NinjaOneSimConfig>,
}

impl std::fmt::Debug for NinjaOneSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NinjaOneSim")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl NinjaOneSim {
    /// The built-in world's instance with the default configuration.
    pub fn seeded() -> Self {
        Self::from_world(World::builtin())
    }

    /// The instance of `world` (every tenant is an organisation) with the default
    /// configuration.
    pub fn from_world(world: &World) -> Self {
        Self::with_config(world, NinjaOneSimConfig::default())
    }

    /// The instance of `world` with `config`.
    pub fn with_config(world: &World, config: NinjaOneSimConfig) -> Self {
        Self {
            state: Arc::new(Mutex::new(seed::state(world, Utc::now()))),
            config: Arc::new(config),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &NinjaOneSimConfig {
        &self.config
    }

    /// The axum router: `/ws/oauth/token` and `/v2/...`.
    pub fn router(&self) -> Router {
        let v2 = Router::new()
            .route("/v2/organizations", get(api::organizations))
            .route("/v2/organization/{id}", get(api::organization))
            .route(
                "/v2/organization/{id}/devices",
                get(api::organization_devices),
            )
            .route("/v2/devices", get(api::devices))
            .route("/v2/devices-detailed", get(api::devices_detailed))
            .route("/v2/devices/search", get(api::search))
            .route("/v2/device/{id}", get(api::device))
            .route(
                "/v2/device/{id}/last-logged-on-user",
                get(api::last_logged_on_user),
            )
            .route(
                "/v2/device/{id}/custom-fields",
                get(api::custom_fields).patch(api::update_custom_fields),
            )
            .route("/v2/device/{id}/alerts", get(api::device_alerts))
            .route(
                "/v2/device/{id}/scripting/options",
                get(api::scripting_options),
            )
            .route("/v2/device/{id}/script/run", post(api::run_script))
            .route("/v2/device/{id}/reboot/{mode}", post(api::reboot))
            .route("/v2/automation/scripts", get(api::automation_scripts))
            .route("/v2/tag", get(api::tags).post(api::create_tag))
            .route("/v2/tag/{asset_type}", post(api::manage_tags))
            .route(
                "/v2/tag/{asset_type}/{asset_id}",
                axum::routing::put(api::set_tags),
            )
            .route("/v2/alerts", get(api::alerts))
            .route("/v2/alert/{uid}/reset", post(api::reset_alert))
            .route("/v2/activities", get(api::activities))
            .method_not_allowed_fallback(api::method_not_allowed)
            .fallback(api::unknown_endpoint)
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                api::guard,
            ));
        Router::new()
            .route("/ws/oauth/token", post(token::token))
            .with_state(self.clone())
            .merge(v2.with_state(self.clone()))
    }

    /// Serve on loopback at a free port with `faults`; injected `429`s carry
    /// [`THROTTLE_BODY`].
    pub async fn start(&self, faults: Faults) -> std::io::Result<SimServer> {
        self.start_on(faults, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
    }

    /// [`start`](Self::start) on a chosen address (a fixed port).
    pub async fn start_on(&self, faults: Faults, addr: SocketAddr) -> std::io::Result<SimServer> {
        SimServer::start_throttled(self.router(), faults, addr, THROTTLE_BODY).await
    }

    // -- inspection and setup for tests ----------------------------------------------------------

    /// Every organisation, by id.
    pub fn organizations(&self) -> Vec<SimOrganization> {
        self.state.lock().organizations.clone()
    }

    /// A device by id.
    pub fn device(&self, id: i64) -> Option<SimDevice> {
        self.state.lock().device(id).cloned()
    }

    /// Every device, by id.
    pub fn devices(&self) -> Vec<SimDevice> {
        self.state.lock().devices.clone()
    }

    /// The names of a device's asset tags, in the order they were added (empty for an unknown
    /// device).
    pub fn tags_of(&self, device: i64) -> Vec<String> {
        let state = self.state.lock();
        state
            .device(device)
            .map(|d| state.tag_names(d))
            .unwrap_or_default()
    }

    /// Every asset tag of the account.
    pub fn tags(&self) -> Vec<SimTag> {
        self.state.lock().tags.clone()
    }

    /// A device's custom field values (empty for an unknown device).
    pub fn custom_fields(&self, device: i64) -> BTreeMap<String, Value> {
        self.device(device).map(|d| d.fields).unwrap_or_default()
    }

    /// The open alerts.
    pub fn alerts(&self) -> Vec<SimAlert> {
        self.state.lock().alerts.clone()
    }

    /// The activity log, oldest first.
    pub fn activities(&self) -> Vec<SimActivity> {
        self.state.lock().activities.clone()
    }

    /// Every script and action run, oldest first.
    pub fn script_runs(&self) -> Vec<SimScriptRun> {
        self.state.lock().runs.clone()
    }

    /// Every reboot command, oldest first.
    pub fn reboots(&self) -> Vec<SimReboot> {
        self.state.lock().reboots.clone()
    }

    /// How runs of `script` (a script id such as `"11"`, or a built-in action's uid) started
    /// from now on end.
    pub fn set_script_outcome(&self, script: &str, outcome: ScriptOutcome) {
        self.state
            .lock()
            .outcomes
            .insert(script.trim().to_ascii_lowercase(), outcome);
    }

    /// Connect or disconnect a device's agent; returns whether the device exists.
    pub fn set_online(&self, device: i64, online: bool) -> bool {
        let mut state = self.state.lock();
        match state.devices.iter_mut().find(|d| d.id == device) {
            Some(d) => {
                d.online = online;
                true
            }
            None => false,
        }
    }

    /// Issue an access token for `scopes` directly, bypassing the token endpoint.
    pub fn issue_access_token(&self, scopes: &[&str]) -> String {
        token::issue(self, scopes.iter().map(|s| s.to_string()).collect())
    }

    /// End the lifetime of every token issued so far.
    pub fn expire_tokens(&self) {
        self.state.lock().tokens.expire_all();
    }
}
