//! Simulated ConnectWise Manage (PSA) REST API 3.0.
//!
//! One MSP's instance, configured with the boards `Help Desk` (whose workflow demands a
//! resolution note before closing) and `Projects`, per-board statuses (`New`, `In Progress`,
//! `Waiting`, `Completed` and `Closed` closed, plus a retired one), priorities, sources and
//! communication types, the MSP's own company and a deleted former client. Everything else comes
//! from the [world](crate::world): each tenant whose PSA is ConnectWise is a company
//! (`CONTOSO-LAW` in the built-in world) with its staff as contacts, its open tickets and
//! `history` closed tickets over the last year from the shared [`crate::history`] generator, and
//! the MSP's active technicians are members (ids from [`seed::MEMBER_BASE`] in the world's
//! order).
//!
//! The API lives under `/{codebase}apis/3.0` (`/v4_6_release/apis/3.0`) and answers only with
//! Basic `companyId+publicKey:privateKey` and the `clientId` header. `GET
//! /login/companyinfo/{companyId}` is open, for codebase discovery. Lists take `conditions`,
//! `childConditions`, `orderBy`, `fields`, `page`/`pageSize` (with `Link` headers) and
//! forward-only paging (`pagination-type: forward-only`, `pageId`). Errors use ConnectWise's
//! envelope `{"code","message","errors":[...]}`.
//!
//! Child tickets are bundled under a parent as ConnectWise does it, with `POST
//! /service/tickets/{parentId}/attachChildren` and a `TicketBundle` body
//! (`{"childTicketIds":[…]}`), answered `200` `{"success":true}`. Bundles are one level deep,
//! and a ticket cannot be its own child. `parentTicketId` is not writable through `PATCH
//! /service/tickets/{id}`: that answers `400` naming `attachChildren`. The vendor document kept
//! here has no `detachChildren`, so the simulator does not serve it.
//!
//! Beyond the trimmed spec, the simulator also serves the real endpoints a PSA connector needs
//! and the spec leaves out: `GET /service/boards`, `GET /company/communicationTypes`, `PATCH
//! /company/contacts/{id}` and `GET /service/tickets/count`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use stackhand_sim::Faults;
//! use stackhand_sim::connectwise::ConnectWiseSim;
//! let sim = ConnectWiseSim::seeded();
//! let server = sim.start(Faults::default()).await?;
//! println!("{}{}", server.url(), sim.api_path());
//! # Ok(()) }
//! ```

mod handlers;
pub mod model;
mod query;
pub mod seed;
mod state;

use std::sync::Arc;

use axum::Router;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde_json::Value;

use crate::world::{World, WorldError};
use crate::{Faults, SimServer};
use model::{Company, Contact, Note, Renderer, Ticket};
use state::State;

/// The newest API version the simulated server speaks.
pub const CURRENT_VERSION: &str = "2025.8";
/// The demo instance's ConnectWise company id (the login company, not a client).
pub const COMPANY_ID: &str = "demomsp";
/// The API member's public key.
pub const PUBLIC_KEY: &str = "SimPublicKey0001";
/// The API member's private key.
pub const PRIVATE_KEY: &str = "SimPrivateKey0001";
/// The integration's clientId.
pub const CLIENT_ID: &str = "5f1d2c3b-8a7e-4d6c-9b0a-1e2f3a4b5c6d";
/// The codebase `GET /login/companyinfo/{companyId}` reports.
pub const CODEBASE: &str = "v4_6_release/";
/// The seed of [`ConnectWiseSim::seeded`].
pub const DEFAULT_SEED: u64 = 20_250_801;

/// The credentials and paths the simulator accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Company id for Basic auth and `companyinfo`.
    pub company_id: String,
    /// Public key.
    pub public_key: String,
    /// Private key.
    pub private_key: String,
    /// Required `clientId` header value.
    pub client_id: String,
    /// Codebase, with its trailing slash.
    pub codebase: String,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            company_id: COMPANY_ID.into(),
            public_key: PUBLIC_KEY.into(),
            private_key: PRIVATE_KEY.into(),
            client_id: CLIENT_ID.into(),
            codebase: CODEBASE.into(),
        }
    }
}

/// A ticket as tests want to see it: the record plus its board, status, company and owner names.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketView {
    /// The record.
    pub ticket: Ticket,
    /// Board name.
    pub board: String,
    /// Status name.
    pub status: String,
    /// Company identifier.
    pub company: String,
    /// Owner member identifier.
    pub owner: Option<String>,
}

/// The simulated ConnectWise Manage instance. Clones share state.
#[derive(Clone)]
pub struct ConnectWiseSim {
    state: Arc<Mutex<State>>,
    config: Arc<SimConfig>,
}

impl std::fmt::Debug for ConnectWiseSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectWiseSim")
            .field("company_id", &self.config.company_id)
            .finish_non_exhaustive()
    }
}

impl ConnectWiseSim {
    /// The built-in world's ConnectWise tenants, with history dated relative to now.
    pub fn seeded() -> Self {
        Self::seeded_at(Utc::now(), DEFAULT_SEED)
    }

    /// The built-in world's ConnectWise tenants with history in the year before `anchor`,
    /// generated from `seed`. The same arguments always give the same data.
    pub fn seeded_at(anchor: DateTime<Utc>, seed: u64) -> Self {
        Self::from_world_at(World::builtin(), anchor, seed)
    }

    /// The tenants of `world` whose PSA is ConnectWise, with history dated relative to now.
    ///
    /// # Panics
    /// When a ticket names a board or status the instance does not have (the message names the
    /// ticket); [`Self::try_from_world_at`] returns that error instead.
    pub fn from_world(world: &World) -> Self {
        Self::from_world_at(world, Utc::now(), DEFAULT_SEED)
    }

    /// The tenants of `world` whose PSA is ConnectWise, with history in the year before
    /// `anchor` generated from `seed`.
    ///
    /// # Panics
    /// As [`Self::from_world`].
    pub fn from_world_at(world: &World, anchor: DateTime<Utc>, seed: u64) -> Self {
        Self::try_from_world_at(world, anchor, seed)
            .unwrap_or_else(|err| panic!("the world does not fit ConnectWise: {err}"))
    }

    /// [`Self::from_world_at`], or the error naming the first ticket whose board or status the
    /// instance does not have.
    pub fn try_from_world_at(
        world: &World,
        anchor: DateTime<Utc>,
        seed: u64,
    ) -> Result<Self, WorldError> {
        Ok(Self {
            state: Arc::new(Mutex::new(seed::seed(world, anchor, seed)?)),
            config: Arc::new(SimConfig::default()),
        })
    }

    /// The same instance accepting other credentials.
    pub fn with_config(mut self, config: SimConfig) -> Self {
        self.config = Arc::new(config);
        self
    }

    /// The credentials and codebase it accepts.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// `/v4_6_release/apis/3.0`: the API's path under the server URL.
    pub fn api_path(&self) -> String {
        format!("/{}apis/3.0", self.config.codebase)
    }

    /// The axum router serving the API.
    pub fn router(&self) -> Router {
        handlers::router(handlers::App {
            state: self.state.clone(),
            config: self.config.clone(),
        })
    }

    /// Serve on loopback with `faults`.
    pub async fn start(&self, faults: Faults) -> std::io::Result<SimServer> {
        SimServer::start_throttled(
            self.router(),
            faults,
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            r#"{"code":"TooManyRequests","message":"Rate limit exceeded. Please retry after the indicated time."}"#,
        )
        .await
    }

    /// One ticket with its names resolved.
    pub fn ticket(&self, id: i64) -> Option<TicketView> {
        let state = self.state.lock();
        let ticket = state.tickets.get(&id)?.clone();
        Some(TicketView {
            board: state.board(ticket.board_id)?.name.clone(),
            status: state.status(ticket.status_id)?.name.clone(),
            company: state.company(ticket.company_id)?.identifier.clone(),
            owner: ticket
                .owner_id
                .and_then(|m| state.member(m))
                .map(|m| m.identifier.clone()),
            ticket,
        })
    }

    /// A ticket rendered exactly as `GET /service/tickets/{id}` would, nulls dropped.
    pub fn ticket_json(&self, id: i64) -> Option<Value> {
        let state = self.state.lock();
        let ticket = state.tickets.get(&id)?;
        let base = format!("https://sim.invalid{}", self.api_path());
        Some(query::strip_nulls(
            state.render_ticket(&Renderer { base: &base }, ticket),
        ))
    }

    /// Every ticket, by id.
    pub fn tickets(&self) -> Vec<Ticket> {
        self.state.lock().tickets.values().cloned().collect()
    }

    /// The ids of the open tickets.
    pub fn open_ticket_ids(&self) -> Vec<i64> {
        self.state
            .lock()
            .tickets
            .values()
            .filter(|t| !t.closed_flag)
            .map(|t| t.id)
            .collect()
    }

    /// The notes of a ticket, oldest first.
    pub fn notes(&self, ticket_id: i64) -> Vec<Note> {
        self.state
            .lock()
            .notes
            .values()
            .filter(|n| n.ticket_id == ticket_id)
            .cloned()
            .collect()
    }

    /// A contact by id.
    pub fn contact(&self, id: i64) -> Option<Contact> {
        self.state.lock().contacts.get(&id).cloned()
    }

    /// A contact by any of its email addresses (case-insensitive).
    pub fn contact_by_email(&self, email: &str) -> Option<Contact> {
        self.state
            .lock()
            .contacts
            .values()
            .find(|c| {
                c.communication_items
                    .iter()
                    .any(|i| i.value.eq_ignore_ascii_case(email))
            })
            .cloned()
    }

    /// A company by identifier.
    pub fn company(&self, identifier: &str) -> Option<Company> {
        self.state
            .lock()
            .companies
            .iter()
            .find(|c| c.identifier.eq_ignore_ascii_case(identifier))
            .cloned()
    }

    /// Closed tickets whose close date falls in `[from, to)`.
    pub fn closed_ticket_ids(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<i64> {
        self.state
            .lock()
            .tickets
            .values()
            .filter(|t| t.closed_flag && t.closed_date.is_some_and(|d| d >= from && d < to))
            .map(|t| t.id)
            .collect()
    }

    /// Make a board demand (or stop demanding) a resolution note before closing.
    pub fn set_requires_resolution(&self, board: &str, required: bool) {
        let mut state = self.state.lock();
        if let Some(b) = state.boards.iter_mut().find(|b| b.name == board) {
            b.requires_resolution = required;
        }
    }
}
