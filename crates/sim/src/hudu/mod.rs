//! Simulated Hudu (IT documentation) REST API v1, the MSP's one instance, seeded from the
//! [world](crate::world).
//!
//! What it holds: every world tenant as a company (`tenant.docs.id`, the tenant's company name
//! and slug, with its PSA and RMM integrations), the world's asset layouts, one `People` asset
//! per member of staff (`person.asset_id`; fields Email, Title, Department, Phone and Manager,
//! the manager by display name), the tenants' other assets and their asset passwords (linked
//! to their asset where the world says so). Articles start empty.
//!
//! What it answers, after the vendor notes (`shared/vendors/hudu.md`) and the spec kept in
//! `crates/testkit/specs/hudu.json`:
//! - `x-api-key` on every request ([`API_KEY`]); a missing or unknown key is `401`;
//! - `GET /api/v1/api_info`; companies listed (`name` exact, `search`, `slug`,
//!   `id_in_integration`, ...) and read (`{"company": …}`), `GET /companies/jump` (`302` to
//!   the company page for a browser, `406` for a JSON client, as the spec describes it);
//! - asset layouts listed and read (`{"asset_layout": …}`); assets listed (`GET /assets` by
//!   company, layout, `name` exact, `search`, `primary_serial`, `slug`, `id`, and
//!   `GET /companies/{id}/assets`), read, created (`201`), updated and archived
//!   (`PUT …/archive`). Custom fields are **written** as an array of single-key objects keyed
//!   by the layout label in snake case (case-insensitive, spaces or underscores) and **read**
//!   back as `fields: [{"id", "label", "value", "position"}]`. An update that sends
//!   `custom_fields` replaces the asset's field values with those sent (hudu.md: "treat PUT as
//!   replace-ish and send the full set");
//! - asset passwords listed, read, created (`201`) and updated, kept with the exact password
//!   (never logged; [`SimPassword`]'s `Debug` leaves it out); articles listed, read, created and
//!   updated;
//! - asset and password lists without `archived=true` hold only records that are not archived,
//!   and with it only archived ones (spec: "Set to true to display only archived assets");
//! - paging as Hudu pages: `page` from 1, `page_size` (default 25), no next link and no total;
//! - `200` with a `null` body for a missing id exactly where hudu.md reports it and the
//!   simulator serves the endpoint: `GET /asset_layouts/{id}`, `/asset_passwords/{id}` and
//!   `/articles/{id}`. Companies and assets answer `404`;
//! - over the rate limit (300 requests a minute, [`HuduSimConfig::rate_limit`]) and for
//!   injected faults ([`HuduSim::throttle_next`] too), `429` with the body `Retry later` as
//!   `text/plain` and no `Retry-After` ([`THROTTLE`], the text hudu.md and HuduAPI's
//!   `Invoke-HuduRequest.ps1` describe).
//!
//! Where the notes leave the shape open, the simulator takes what the reference clients read:
//! single records are wrapped in their key (`{"asset": …}`, `{"article": …}`) although the spec
//! draws a bare `Asset` for `GET /companies/{cid}/assets/{id}` and a bare `Article` for
//! `POST /articles` (hudu.md: "clients read `.asset`"). Write bodies are taken wrapped
//! (`{"asset": {…}}`, as HuduAPI sends them) or bare (as the spec's examples draw them). Error
//! bodies, which the spec does not specify, use the shapes hudu.md lists: `{"error": "…"}`
//! for `400`, `401` and `404`, `{"errors": {"<field>": ["…"]}}` for `422`. A `422` answers a
//! blank name, a layout or company that does not exist, and a custom field key the layout has
//! no field for (the notes do not say what Hudu does with one; refusing it shows a client's
//! mistake instead of dropping the value). `POST /articles` answers `200`, as the spec says.
//!
//! Not served, because neither the notes nor the spec document it: unarchiving an asset (the
//! spec has only `PUT …/archive`), and key scopes (a key limited to one company, or without
//! password access), whose answers the notes do not give. Deleting, company creation, folders
//! and websites are not served either.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use stackhand_sim::Faults;
//! use stackhand_sim::hudu::{API_KEY, HuduSim};
//! let sim = HuduSim::seeded();
//! let server = sim.start(Faults::default()).await?;
//! println!("{}/api/v1/companies with x-api-key {API_KEY}", server.url());
//! # Ok(()) }
//! ```

mod api;
mod model;
mod seed;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, put};
use parking_lot::Mutex;

use crate::server::{Faults, SimServer, Throttle};
use crate::world::{Layout, World};

pub use model::{SimArticle, SimAsset, SimCompany, SimField, SimIntegration, SimPassword};
pub use seed::PEOPLE_LAYOUT;

/// The API key the simulated instance accepts (`x-api-key`). A simulator value.
pub const API_KEY: &str = "hudu-sim-api-key-0000000000000000";

/// The Hudu version `GET /api/v1/api_info` reports: the version the spec was cut from.
pub const VERSION: &str = "2.44.0";

/// Hudu's documented limit: 300 requests a minute (spec `info.description`).
pub const RATE_LIMIT_PER_MINUTE: u32 = 300;

/// The body of Hudu's `429` (hudu.md: "some versions put 'Retry later' in the text").
pub const THROTTLE_BODY: &str = "Retry later\n";

/// Hudu's `429`, from its own rate limit and for injected faults alike: [`THROTTLE_BODY`] as
/// `text/plain`, and no `Retry-After` (hudu.md lists none, and HuduAPI's
/// `Invoke-HuduRequest.ps1` waits for the next 5-minute boundary instead of reading one).
pub const THROTTLE: Throttle = Throttle {
    body: THROTTLE_BODY,
    content_type: "text/plain",
    retry_after: false,
};

/// How the simulated instance behaves.
#[derive(Clone)]
pub struct HuduSimConfig {
    /// Accepted API keys.
    pub api_keys: Vec<String>,
    /// Requests allowed per rate window.
    pub rate_limit: u32,
    /// The rate window (Hudu's is one minute).
    pub rate_window: Duration,
}

impl std::fmt::Debug for HuduSimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HuduSimConfig")
            .field("api_keys", &self.api_keys.len())
            .field("rate_limit", &self.rate_limit)
            .field("rate_window", &self.rate_window)
            .finish()
    }
}

impl Default for HuduSimConfig {
    fn default() -> Self {
        Self {
            api_keys: vec![API_KEY.to_string()],
            rate_limit: RATE_LIMIT_PER_MINUTE,
            rate_window: Duration::from_secs(60),
        }
    }
}

/// Requests counted in the current rate window.
#[derive(Debug, Default)]
struct RateWindow {
    started: Option<Instant>,
    used: u32,
}

#[derive(Debug)]
struct State {
    companies: Vec<SimCompany>,
    layouts: Vec<Layout>,
    assets: BTreeMap<i64, SimAsset>,
    passwords: BTreeMap<i64, SimPassword>,
    articles: BTreeMap<i64, SimArticle>,
    window: RateWindow,
    /// Requests still to answer `429` whatever the budget says.
    forced_throttles: u32,
}

impl State {
    fn company(&self, id: i64) -> Option<&SimCompany> {
        self.companies.iter().find(|c| c.id == id)
    }

    fn layout(&self, id: i64) -> Option<&Layout> {
        self.layouts.iter().find(|l| l.id == id)
    }
}

/// The next id after the largest in `records` (Hudu's ids only grow).
fn next_id<T>(records: &BTreeMap<i64, T>) -> i64 {
    records.keys().next_back().map_or(1, |last| last + 1)
}

/// The simulated Hudu instance. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct HuduSim {
    state: Arc<Mutex<State>>,
    config: Arc<HuduSimConfig>,
}

impl std::fmt::Debug for HuduSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HuduSim")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl HuduSim {
    /// The instance seeded from the built-in world.
    pub fn seeded() -> Self {
        Self::from_world(World::builtin())
    }

    /// The instance seeded from `world` (every tenant is a company in it).
    pub fn from_world(world: &World) -> Self {
        Self::with_config(world, HuduSimConfig::default())
    }

    /// The instance seeded from `world`, behaving as `config` says.
    pub fn with_config(world: &World, config: HuduSimConfig) -> Self {
        let seed = seed::seed(world);
        Self {
            state: Arc::new(Mutex::new(State {
                companies: seed.companies,
                layouts: seed.layouts,
                assets: seed.assets,
                passwords: seed.passwords,
                articles: BTreeMap::new(),
                window: RateWindow::default(),
                forced_throttles: 0,
            })),
            config: Arc::new(config),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &HuduSimConfig {
        &self.config
    }

    /// The axum router serving `/api/v1/...`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/v1/api_info", get(api::api_info))
            .route("/api/v1/companies", get(api::list_companies))
            .route("/api/v1/companies/jump", get(api::jump))
            .route("/api/v1/companies/{id}", get(api::get_company))
            .route(
                "/api/v1/companies/{company_id}/assets",
                get(api::company_assets).post(api::create_asset),
            )
            .route(
                "/api/v1/companies/{company_id}/assets/{id}",
                get(api::get_asset).put(api::update_asset),
            )
            .route(
                "/api/v1/companies/{company_id}/assets/{id}/archive",
                put(api::archive_asset),
            )
            .route("/api/v1/asset_layouts", get(api::list_layouts))
            .route("/api/v1/asset_layouts/{id}", get(api::get_layout))
            .route("/api/v1/assets", get(api::list_assets))
            .route(
                "/api/v1/asset_passwords",
                get(api::list_passwords).post(api::create_password),
            )
            .route(
                "/api/v1/asset_passwords/{id}",
                get(api::get_password).put(api::update_password),
            )
            .route(
                "/api/v1/articles",
                get(api::list_articles).post(api::create_article),
            )
            .route(
                "/api/v1/articles/{id}",
                get(api::get_article).put(api::update_article),
            )
            .method_not_allowed_fallback(api::no_route)
            .fallback(api::no_route)
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                api::guard,
            ))
            .with_state(self.clone())
    }

    /// Serve on loopback at a free port with `faults`; injected `429`s are Hudu's
    /// ([`THROTTLE`]), so `Faults::retry_after_secs` is not sent.
    pub async fn start(&self, faults: Faults) -> std::io::Result<SimServer> {
        self.start_on(faults, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
    }

    /// [`start`](Self::start) on a chosen address (a fixed port).
    pub async fn start_on(&self, faults: Faults, addr: SocketAddr) -> std::io::Result<SimServer> {
        SimServer::start_throttled(self.router(), faults, addr, THROTTLE).await
    }

    /// Count one request against the rate window; `false` when it is over the limit.
    fn take_budget(&self) -> bool {
        let mut state = self.state.lock();
        if state.forced_throttles > 0 {
            state.forced_throttles -= 1;
            return false;
        }
        let window = &mut state.window;
        let now = Instant::now();
        if window
            .started
            .is_none_or(|started| now.duration_since(started) >= self.config.rate_window)
        {
            *window = RateWindow {
                started: Some(now),
                used: 0,
            };
        }
        window.used = window.used.saturating_add(1);
        window.used <= self.config.rate_limit
    }

    /// Answer the next `count` requests `429` ([`THROTTLE`]), whatever the budget says.
    pub fn throttle_next(&self, count: u32) {
        self.state.lock().forced_throttles = count;
    }

    // -- inspection for tests ------------------------------------------------------------------

    /// Every company, in id order.
    pub fn companies(&self) -> Vec<SimCompany> {
        self.state.lock().companies.clone()
    }

    /// A company by id.
    pub fn company(&self, id: i64) -> Option<SimCompany> {
        self.state.lock().company(id).cloned()
    }

    /// Every asset layout.
    pub fn layouts(&self) -> Vec<Layout> {
        self.state.lock().layouts.clone()
    }

    /// An asset by id.
    pub fn asset(&self, id: i64) -> Option<SimAsset> {
        self.state.lock().assets.get(&id).cloned()
    }

    /// Every asset of a company (archived ones too), in id order.
    pub fn assets_of(&self, company_id: i64) -> Vec<SimAsset> {
        self.state
            .lock()
            .assets
            .values()
            .filter(|a| a.company_id == company_id)
            .cloned()
            .collect()
    }

    /// An asset password by id, with the password as stored.
    pub fn password(&self, id: i64) -> Option<SimPassword> {
        self.state.lock().passwords.get(&id).cloned()
    }

    /// Every asset password of a company, in id order.
    pub fn passwords_of(&self, company_id: i64) -> Vec<SimPassword> {
        self.state
            .lock()
            .passwords
            .values()
            .filter(|p| p.company_id == company_id)
            .cloned()
            .collect()
    }

    /// Every article, in id order.
    pub fn articles(&self) -> Vec<SimArticle> {
        self.state.lock().articles.values().cloned().collect()
    }
}
