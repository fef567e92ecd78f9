//! Simulated Autotask PSA REST API v1.0.
//!
//! One Autotask database (the MSP's). Its picklists, service-desk roles and API user are the
//! database's own configuration; everything else comes from the [world](crate::world): the
//! MSP's technicians are resources (ids from [`RESOURCE_BASE`] in the world's order, those who
//! left inactive), and each tenant whose PSA is Autotask is a company (`Globex Corporation` in
//! the built-in world) with its staff as contacts, its open tickets and `history` closed tickets
//! over about a year with notes and resolutions. Served under `/ATServicesRest/V1.0/` with what
//! the real API does:
//!
//! - `ApiIntegrationCode`, `UserName` and `Secret` headers on every call (401 otherwise);
//!   `ZoneInformation?user=` and `versioninformation` answer without them and point back at the
//!   simulator itself, so zone discovery works against it;
//! - `GET {Entity}/query?search=<json>` and `POST {Entity}/query` with a `QueryModel`, the full
//!   operator set with `and`/`or` groups, 500-record pages linked by an opaque `nextPageUrl`
//!   (`…/query/next?paging=…`), and `…/query/count`;
//! - `GET Tickets/{id}` → `{"item":…}` (`{"item":null}` when absent), `POST`/`PATCH Tickets` with
//!   the id in the body → `{"itemId":…}`, notes through `Tickets/{id}/Notes`, contacts through
//!   `Companies/{id}/Contacts`;
//! - picklists (`status`, `priority`, `queueID`, `publish`, `noteType`, …) with tenant-specific
//!   integer ids from `entityInformation/fields`;
//! - business-rule failures as HTTP 500 `{"errors":["…"]}`, like the real API;
//! - the 10,000-requests-per-rolling-hour database threshold from `ThresholdInformation`, with a
//!   configurable limit, optional added latency past 50%, and 429 once it is used up.
//!
//! Field names are matched case-insensitively (the bundled swagger is PascalCase, the live API
//! camelCase) and answered in camelCase. Unlike the real API, unknown fields in a request body
//! are refused rather than ignored, so a connector's typo shows up in tests.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use stackhand_sim::autotask::AutotaskSim;
//! let sim = AutotaskSim::seeded();
//! let server = sim.start(Default::default()).await?;
//! println!("Autotask at {}/ATServicesRest/V1.0/", server.url());
//! # Ok(()) }
//! ```

mod query;
mod schema;
mod seed;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use parking_lot::Mutex;
use serde_json::{Map, Value, json};

use crate::server::{Faults, SimServer};
use crate::world::{PsaKind, Tenant, World, WorldError};
use query::{PAGE_SIZE, Query, as_i64, get_ci};
use schema::{DataType, Entity, PicklistValue, Record, render};

/// The API user's username (an email) in the seeded database.
pub const API_USER: &str = "stackhand-api@northwind-msp.example";
/// The API user's secret in the seeded database.
pub const API_SECRET: &str = "sim-autotask-secret";
/// The integration's tracking identifier (`ApiIntegrationCode`) in the seeded database.
pub const INTEGRATION_CODE: &str = "SIMTRACKINGIDENTIFIER0001";
/// Globex Corporation's company id in the built-in world (`psa_company` of `globex`).
pub const GLOBEX_COMPANY_ID: i64 = 209;
pub use seed::RESOURCE_BASE;
/// The seed of the generated history: the same closed tickets every run.
pub const HISTORY_SEED: u64 = 0x5eed_a070;

/// Behaviour switches of the simulated database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutotaskSettings {
    /// Refuse to set a ticket to Complete without a `resolution` (a common workflow setting).
    pub require_resolution_to_complete: bool,
    /// Requests allowed per rolling hour for the whole database (`externalRequestThreshold`).
    pub request_threshold: u32,
    /// Latency added to every request once half the threshold is used (the real API adds
    /// 0.5–1 s; zero by default so tests stay fast).
    pub throttle_latency: Duration,
}

impl Default for AutotaskSettings {
    fn default() -> Self {
        Self {
            require_resolution_to_complete: true,
            request_threshold: 10_000,
            throttle_latency: Duration::ZERO,
        }
    }
}

/// A ticket as the simulator holds it, with picklist labels resolved, for test assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimTicket {
    /// Id.
    pub id: i64,
    /// `T20250301.0042`.
    pub ticket_number: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Company id.
    pub company_id: i64,
    /// Contact id.
    pub contact_id: Option<i64>,
    /// Status label.
    pub status: String,
    /// Queue label.
    pub queue: Option<String>,
    /// Priority label.
    pub priority: String,
    /// Ticket type label (`Service Request`, `Incident`, `Problem`).
    pub ticket_type: String,
    /// Resolution text.
    pub resolution: Option<String>,
    /// When completed.
    pub completed: Option<DateTime<Utc>>,
    /// The problem ticket an incident is linked to.
    pub problem_ticket_id: Option<i64>,
    /// Assigned resource.
    pub assigned_resource_id: Option<i64>,
}

/// A ticket note, for test assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimNote {
    /// Id.
    pub id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// Title.
    pub title: String,
    /// Text.
    pub description: String,
    /// Publish label (`Internal Only`, `All Autotask Users`).
    pub publish: String,
    /// Note type label.
    pub note_type: String,
    /// Creator resource.
    pub creator_resource_id: Option<i64>,
}

/// A contact, for test assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimContact {
    /// Id.
    pub id: i64,
    /// Company id.
    pub company_id: i64,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email.
    pub email: Option<String>,
    /// `isActive == 1`.
    pub active: bool,
}

/// A company, for test assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimCompany {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
}

struct ApiUser {
    user_name: String,
    secret: String,
    integration_code: String,
}

struct Db {
    settings: AutotaskSettings,
    tables: HashMap<Entity, BTreeMap<i64, Record>>,
    next_ids: HashMap<Entity, i64>,
    picklists: HashMap<(Entity, &'static str), Vec<PicklistValue>>,
    users: Vec<ApiUser>,
    /// Instants of counted requests in the rolling hour.
    requests: VecDeque<Instant>,
    ticket_numbers: HashMap<String, u32>,
}

/// The simulated Autotask database. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct AutotaskSim {
    db: Arc<Mutex<Db>>,
}

impl std::fmt::Debug for AutotaskSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutotaskSim").finish_non_exhaustive()
    }
}

const HOUR: Duration = Duration::from_secs(3600);

fn iso(t: DateTime<Utc>) -> Value {
    Value::String(t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

impl AutotaskSim {
    /// The built-in world's Autotask tenants, their history anchored at the current time.
    pub fn seeded() -> Self {
        Self::seeded_at(Utc::now())
    }

    /// The built-in world's Autotask tenants with history ending at `now` (for reproducible
    /// dates).
    pub fn seeded_at(now: DateTime<Utc>) -> Self {
        Self::from_world_at(World::builtin(), now)
    }

    /// The tenants of `world` whose PSA is Autotask, their history anchored at the current
    /// time.
    ///
    /// # Panics
    /// When a ticket names a queue or status the database does not have (the message names the
    /// ticket); [`Self::try_from_world_at`] returns that error instead.
    pub fn from_world(world: &World) -> Self {
        Self::from_world_at(world, Utc::now())
    }

    /// The tenants of `world` whose PSA is Autotask, with history ending at `now`.
    ///
    /// # Panics
    /// As [`Self::from_world`].
    pub fn from_world_at(world: &World, now: DateTime<Utc>) -> Self {
        Self::try_from_world_at(world, now)
            .unwrap_or_else(|err| panic!("the world does not fit Autotask: {err}"))
    }

    /// [`Self::from_world_at`], or the error naming the first ticket whose queue or status the
    /// database does not have.
    pub fn try_from_world_at(world: &World, now: DateTime<Utc>) -> Result<Self, WorldError> {
        let mut db = Db {
            settings: AutotaskSettings::default(),
            tables: HashMap::new(),
            next_ids: HashMap::from([
                (Entity::Tickets, 7001),
                (Entity::TicketNotes, 18001),
                (Entity::Companies, 300),
                (Entity::Contacts, 30680001),
                (Entity::Resources, 29685000),
            ]),
            picklists: HashMap::new(),
            users: vec![ApiUser {
                user_name: API_USER.into(),
                secret: API_SECRET.into(),
                integration_code: INTEGRATION_CODE.into(),
            }],
            requests: VecDeque::new(),
            ticket_numbers: HashMap::new(),
        };
        for (entity, field, values) in [
            (Entity::Tickets, "status", seed::STATUSES),
            (Entity::Tickets, "priority", seed::PRIORITIES),
            (Entity::Tickets, "queueID", seed::QUEUES),
            (Entity::Tickets, "source", seed::SOURCES),
            (Entity::Tickets, "issueType", seed::ISSUE_TYPES),
            (Entity::Tickets, "ticketType", seed::TICKET_TYPES),
            (Entity::TicketNotes, "publish", seed::PUBLISH),
            (Entity::TicketNotes, "noteType", seed::NOTE_TYPES),
            (Entity::Companies, "companyType", seed::COMPANY_TYPES),
        ] {
            db.picklists.insert((entity, field), values.to_vec());
        }
        db.seed(world, now)?;
        Ok(Self {
            db: Arc::new(Mutex::new(db)),
        })
    }

    /// The axum router serving `/ATServicesRest/...`.
    pub fn router(&self) -> Router {
        Router::new().fallback(dispatch).with_state(self.clone())
    }

    /// Serve on loopback with `faults`.
    pub async fn start(&self, faults: Faults) -> std::io::Result<SimServer> {
        SimServer::start_throttled(
            self.router(),
            faults,
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            r#"{"errors":["Request was rejected: the API request threshold was reached. Retry later."]}"#,
        )
        .await
    }

    /// The current settings.
    pub fn settings(&self) -> AutotaskSettings {
        self.db.lock().settings.clone()
    }

    /// Change the settings.
    pub fn configure(&self, change: impl FnOnce(&mut AutotaskSettings)) {
        change(&mut self.db.lock().settings);
    }

    /// Count `n` requests made by other integrations of the same database (the threshold is
    /// shared by all of them).
    pub fn add_external_requests(&self, n: u32) {
        let mut db = self.db.lock();
        let now = Instant::now();
        db.requests.extend(std::iter::repeat_n(now, n as usize));
    }

    /// Requests counted in the current rolling hour.
    pub fn request_count(&self) -> u32 {
        let mut db = self.db.lock();
        db.prune_requests();
        db.requests.len() as u32
    }

    /// A ticket by id.
    pub fn ticket(&self, id: i64) -> Option<SimTicket> {
        let db = self.db.lock();
        db.table(Entity::Tickets).get(&id).map(|r| db.sim_ticket(r))
    }

    /// Every ticket, by id.
    pub fn tickets(&self) -> Vec<SimTicket> {
        let db = self.db.lock();
        db.table(Entity::Tickets)
            .values()
            .map(|r| db.sim_ticket(r))
            .collect()
    }

    /// A ticket's notes, oldest first.
    pub fn notes(&self, ticket_id: i64) -> Vec<SimNote> {
        let db = self.db.lock();
        db.table(Entity::TicketNotes)
            .values()
            .filter(|n| int(n, "ticketID") == Some(ticket_id))
            .map(|n| SimNote {
                id: int(n, "id").unwrap_or_default(),
                ticket_id,
                title: string(n, "title").unwrap_or_default(),
                description: string(n, "description").unwrap_or_default(),
                publish: db.label(Entity::TicketNotes, "publish", int(n, "publish")),
                note_type: db.label(Entity::TicketNotes, "noteType", int(n, "noteType")),
                creator_resource_id: int(n, "creatorResourceID"),
            })
            .collect()
    }

    /// A contact by id.
    pub fn contact(&self, id: i64) -> Option<SimContact> {
        self.db
            .lock()
            .table(Entity::Contacts)
            .get(&id)
            .map(sim_contact)
    }

    /// A contact by email, case-insensitively.
    pub fn contact_by_email(&self, email: &str) -> Option<SimContact> {
        self.db
            .lock()
            .table(Entity::Contacts)
            .values()
            .find(|c| string(c, "emailAddress").is_some_and(|e| e.eq_ignore_ascii_case(email)))
            .map(sim_contact)
    }

    /// A company by id.
    pub fn company(&self, id: i64) -> Option<SimCompany> {
        self.db
            .lock()
            .table(Entity::Companies)
            .get(&id)
            .map(|c| SimCompany {
                id,
                name: string(c, "companyName").unwrap_or_default(),
            })
    }

    /// The tenant-specific value of a picklist label, e.g.
    /// `picklist_value("Tickets", "status", "Complete")`.
    pub fn picklist_value(&self, entity: &str, field: &str, label: &str) -> Option<i64> {
        let entity = Entity::from_segment(entity)?;
        let db = self.db.lock();
        db.picklists
            .iter()
            .find(|((e, f), _)| *e == entity && f.eq_ignore_ascii_case(field))
            .and_then(|(_, values)| values.iter().find(|v| v.label.eq_ignore_ascii_case(label)))
            .map(|v| v.value)
    }

    /// Ids of a company's tickets in the Complete status.
    pub fn closed_ticket_ids(&self, company_id: i64) -> Vec<i64> {
        self.db
            .lock()
            .table(Entity::Tickets)
            .values()
            .filter(|t| {
                int(t, "companyID") == Some(company_id)
                    && int(t, "status") == Some(seed::STATUS_COMPLETE)
            })
            .filter_map(|t| int(t, "id"))
            .collect()
    }
}

fn int(record: &Record, field: &str) -> Option<i64> {
    record.get(field).and_then(as_i64)
}

fn string(record: &Record, field: &str) -> Option<String> {
    record
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn sim_contact(c: &Record) -> SimContact {
    SimContact {
        id: int(c, "id").unwrap_or_default(),
        company_id: int(c, "companyID").unwrap_or_default(),
        first_name: string(c, "firstName").unwrap_or_default(),
        last_name: string(c, "lastName").unwrap_or_default(),
        email: string(c, "emailAddress"),
        active: int(c, "isActive") == Some(1),
    }
}

// ---------------------------------------------------------------------------------------------
// The database

impl Db {
    fn table(&self, entity: Entity) -> &BTreeMap<i64, Record> {
        static EMPTY: BTreeMap<i64, Record> = BTreeMap::new();
        self.tables.get(&entity).unwrap_or(&EMPTY)
    }

    fn table_mut(&mut self, entity: Entity) -> &mut BTreeMap<i64, Record> {
        self.tables.entry(entity).or_default()
    }

    fn insert(&mut self, entity: Entity, mut record: Record) -> i64 {
        let next = self.next_ids.entry(entity).or_insert(1);
        let id = *next;
        *next += 1;
        record.insert("id".into(), json!(id));
        self.table_mut(entity).insert(id, record);
        id
    }

    fn label(&self, entity: Entity, field: &'static str, value: Option<i64>) -> String {
        value
            .and_then(|v| {
                self.picklists
                    .get(&(entity, field))?
                    .iter()
                    .find(|p| p.value == v)
                    .map(|p| p.label.to_string())
            })
            .unwrap_or_default()
    }

    fn sim_ticket(&self, t: &Record) -> SimTicket {
        let queue = self.label(Entity::Tickets, "queueID", int(t, "queueID"));
        SimTicket {
            id: int(t, "id").unwrap_or_default(),
            ticket_number: string(t, "ticketNumber").unwrap_or_default(),
            title: string(t, "title").unwrap_or_default(),
            description: string(t, "description").unwrap_or_default(),
            company_id: int(t, "companyID").unwrap_or_default(),
            contact_id: int(t, "contactID"),
            status: self.label(Entity::Tickets, "status", int(t, "status")),
            queue: (!queue.is_empty()).then_some(queue),
            priority: self.label(Entity::Tickets, "priority", int(t, "priority")),
            ticket_type: self.label(Entity::Tickets, "ticketType", int(t, "ticketType")),
            resolution: string(t, "resolution").filter(|r| !r.is_empty()),
            completed: t.get("completedDate").and_then(query::as_datetime),
            problem_ticket_id: int(t, "problemTicketId"),
            assigned_resource_id: int(t, "assignedResourceID"),
        }
    }

    fn ticket_number(&mut self, created: DateTime<Utc>) -> String {
        let day = created.format("%Y%m%d").to_string();
        let seq = self.ticket_numbers.entry(day.clone()).or_insert(0);
        *seq += 1;
        format!("T{day}.{:04}", *seq)
    }

    fn prune_requests(&mut self) {
        let now = Instant::now();
        while self
            .requests
            .front()
            .is_some_and(|t| now.duration_since(*t) >= HOUR)
        {
            self.requests.pop_front();
        }
    }

    fn seed(&mut self, world: &World, now: DateTime<Utc>) -> Result<(), WorldError> {
        let year_ago = now - chrono::Duration::days(400);
        let resources = seed::resources(world);
        for r in &resources {
            let record = obj(json!({
                "id": r.id,
                "defaultServiceDeskRoleID": r.role,
                "email": r.email,
                "firstName": r.first,
                "lastName": r.last,
                "isActive": r.active,
                "resourceType": r.kind,
                "userName": r.user_name,
            }));
            self.table_mut(Entity::Resources).insert(r.id, record);
        }
        let tenants: Vec<&Tenant> = world.psa_tenants(PsaKind::Autotask).collect();
        for tenant in &tenants {
            let company = tenant.psa_company.id;
            let record = obj(json!({
                "id": company,
                "companyName": tenant.company,
                "companyNumber": tenant.psa_company.identifier,
                "companyType": 1,
                "createDate": iso(year_ago),
                "isActive": true,
                "lastActivityDate": iso(now),
                "phone": tenant.phone,
                "webAddress": format!("https://www.{}", tenant.domain),
            }));
            self.table_mut(Entity::Companies).insert(company, record);
            for person in tenant.staff() {
                let id = person
                    .contact_id
                    .expect("the world gives staff a contact id");
                let mut record = obj(json!({
                    "id": id,
                    "companyID": company,
                    "createDate": iso(year_ago),
                    "emailAddress": person.email(tenant),
                    "firstName": person.given,
                    "isActive": i64::from(person.status.is_current()),
                    "lastActivityDate": iso(now),
                    "lastModifiedDate": iso(year_ago),
                    "lastName": person.surname,
                    "phone": person.phone,
                    "title": person.title,
                }));
                record.retain(|_, v| !v.is_null());
                self.table_mut(Entity::Contacts).insert(id, record);
            }
        }
        // Contacts added later get ids past the seeded ones.
        let next_contact = self
            .table(Entity::Contacts)
            .keys()
            .max()
            .map_or(1, |id| id + 1);
        let next = self.next_ids.entry(Entity::Contacts).or_insert(1);
        *next = (*next).max(next_contact);

        // History first so closed tickets have the lower ids, as they would in a real database.
        // Past tickets were worked by every technician, including those who have since left.
        let technicians: Vec<(i64, i64)> = resources
            .iter()
            .filter(|r| r.kind == "Employee")
            .map(|r| (r.id, r.role))
            .collect();
        let mut history: Vec<(i64, seed::ClosedTicket)> = tenants
            .iter()
            .flat_map(|tenant| {
                seed::closed_history(tenant, &technicians, now, HISTORY_SEED)
                    .into_iter()
                    .map(|t| (tenant.psa_company.id, t))
            })
            .collect();
        history.sort_by_key(|(_, t)| t.created);
        for (company, t) in history {
            let number = self.ticket_number(t.created);
            let ticket_id = self.insert(
                Entity::Tickets,
                obj(json!({
                    "assignedResourceID": t.assigned.0,
                    "assignedResourceRoleID": t.assigned.1,
                    "companyID": company,
                    "completedDate": iso(t.completed),
                    "contactID": t.contact,
                    "createDate": iso(t.created),
                    "creatorResourceID": seed::API_RESOURCE_ID,
                    "description": t.description,
                    "issueType": t.issue_type,
                    "lastActivityDate": iso(t.completed),
                    "priority": t.priority,
                    "queueID": t.queue,
                    "resolution": t.resolution,
                    "source": t.source,
                    "status": seed::STATUS_COMPLETE,
                    "ticketNumber": number,
                    "ticketType": 1,
                    "title": t.title,
                })),
            );
            for (title, text, publish, at) in t.notes {
                self.insert(
                    Entity::TicketNotes,
                    obj(json!({
                        "createDateTime": iso(at),
                        "creatorResourceID": t.assigned.0,
                        "description": text,
                        "lastActivityDate": iso(at),
                        "noteType": seed::SEED_NOTE_TYPE,
                        "publish": publish,
                        "ticketID": ticket_id,
                        "title": title,
                    })),
                );
            }
        }
        for tenant in &tenants {
            for t in seed::open_tickets(tenant, &resources)? {
                let created = now - chrono::Duration::hours(t.hours_ago);
                let number = self.ticket_number(created);
                let mut record = obj(json!({
                    "companyID": tenant.psa_company.id,
                    "contactID": t.contact,
                    "createDate": iso(created),
                    "creatorResourceID": seed::API_RESOURCE_ID,
                    "description": t.description,
                    "dueDateTime": iso(created + chrono::Duration::days(1)),
                    "lastActivityDate": iso(created),
                    "priority": t.priority,
                    "queueID": t.queue,
                    "source": t.source,
                    "status": t.status,
                    "ticketNumber": number,
                    "ticketType": 1,
                    "title": t.title,
                }));
                if let Some((resource, role)) = t.assigned {
                    record.insert("assignedResourceID".into(), json!(resource));
                    record.insert("assignedResourceRoleID".into(), json!(role));
                }
                self.insert(Entity::Tickets, record);
            }
        }
        Ok(())
    }
}

fn obj(value: Value) -> Record {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// A failed call: the status and the body to answer with.
struct Fail(StatusCode, Value);

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        (self.0, axum::Json(self.1)).into_response()
    }
}

/// An Autotask error answer: `{"errors":["…"]}`.
fn errors(status: StatusCode, messages: Vec<String>) -> Fail {
    Fail(status, json!({ "errors": messages }))
}

fn error(status: StatusCode, message: impl Into<String>) -> Fail {
    errors(status, vec![message.into()])
}

fn ok(body: Value) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// ASP.NET Web API's own answers for routes and methods it does not have.
fn no_route(path: &str) -> Fail {
    Fail(
        StatusCode::NOT_FOUND,
        json!({
            "Message": format!("No HTTP resource was found that matches the request URI '{path}'.")
        }),
    )
}

fn no_method(method: &Method) -> Fail {
    Fail(
        StatusCode::METHOD_NOT_ALLOWED,
        json!({
            "Message": format!("The requested resource does not support http method '{method}'.")
        }),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Paging {
    First,
    Next,
    Count,
}

#[derive(Debug)]
enum Route {
    Versions,
    Zone,
    Threshold,
    Query(Entity, Paging),
    Fields(Entity),
    Item(Entity, i64),
    Tickets,
    TicketNotes(i64),
    CompanyContacts(i64),
}

fn route(segments: &[String]) -> Option<Route> {
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let parts: Vec<&str> = lower.iter().map(String::as_str).collect();
    let (first, rest) = parts.split_first()?;
    if *first != "atservicesrest" {
        return None;
    }
    match rest {
        ["versioninformation"] => Some(Route::Versions),
        ["v1.0", rest @ ..] => Some(match rest {
            ["zoneinformation"] => Route::Zone,
            ["versioninformation"] => Route::Versions,
            ["thresholdinformation"] => Route::Threshold,
            ["tickets"] => Route::Tickets,
            [entity, "query"] => Route::Query(Entity::from_segment(entity)?, Paging::First),
            [entity, "query", "next"] => Route::Query(Entity::from_segment(entity)?, Paging::Next),
            [entity, "query", "count"] => {
                Route::Query(Entity::from_segment(entity)?, Paging::Count)
            }
            [entity, "entityinformation", "fields"] => Route::Fields(Entity::from_segment(entity)?),
            ["tickets", id, "notes"] => Route::TicketNotes(id.parse().ok()?),
            ["companies", id, "contacts"] => Route::CompanyContacts(id.parse().ok()?),
            [entity, id] => Route::Item(Entity::from_segment(entity)?, id.parse().ok()?),
            _ => return None,
        }),
        _ => None,
    }
}

/// What a handler needs from the request.
struct Call {
    method: Method,
    /// `http://host/ATServicesRest`, for URLs pointing back at the simulator.
    base: String,
    query: Vec<(String, String)>,
    body: Bytes,
    /// The resource the call acts as (impersonation, or the API user).
    actor: i64,
    impersonating: bool,
}

impl Call {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Result<Value, Fail> {
        if self.body.is_empty() {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "The request body is empty; a JSON object is required.",
            ));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                format!("The request body is not valid JSON: {e}."),
            )
        })
    }
}

fn header_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn dispatch(State(sim): State<AutotaskSim>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, 16 * 1024 * 1024).await {
        Ok(body) => body,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The request body is too large.",
            )
            .into_response();
        }
    };
    let path = parts.uri.path().to_string();
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(str::to_string)
        .collect();
    let Some(route) = route(&segments) else {
        return no_route(&path).into_response();
    };
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let mut call = Call {
        method: parts.method.clone(),
        base: format!("{}/ATServicesRest", crate::server::origin(&parts.headers)),
        query,
        body,
        actor: seed::API_RESOURCE_ID,
        impersonating: false,
    };

    // Zone discovery and the version list answer before authentication: a client cannot know
    // its zone until it has asked.
    match route {
        Route::Versions => return sim.versions(&call),
        Route::Zone => return sim.zone(&call),
        _ => {}
    }
    if let Err(fail) = sim.authenticate(&parts.headers) {
        return fail.into_response();
    }
    if let Some(value) = header_value(&parts.headers, "ImpersonationResourceId") {
        match sim.impersonation(value) {
            Ok(id) => {
                call.actor = id;
                call.impersonating = true;
            }
            Err(fail) => return fail.into_response(),
        }
    }
    if matches!(route, Route::Threshold) {
        return sim.threshold(&call);
    }
    let delay = match sim.count_request() {
        Ok(delay) => delay,
        Err(fail) => return fail.into_response(),
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    sim.handle(route, &call)
}

impl AutotaskSim {
    fn versions(&self, call: &Call) -> Response {
        if call.method != Method::GET {
            return no_method(&call.method).into_response();
        }
        ok(json!({ "apiVersions": ["1.0"] }))
    }

    fn zone(&self, call: &Call) -> Response {
        if call.method != Method::GET {
            return no_method(&call.method).into_response();
        }
        let Some(user) = call.param("user") else {
            return error(
                StatusCode::BAD_REQUEST,
                "The user query parameter is required.",
            )
            .into_response();
        };
        let known = self
            .db
            .lock()
            .users
            .iter()
            .any(|u| u.user_name.eq_ignore_ascii_case(user));
        if !known {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Zone information could not be determined.",
            )
            .into_response();
        }
        let web = call.base.trim_end_matches("/ATServicesRest");
        ok(json!({
            "zoneName": "Simulated Zone",
            "url": format!("{}/", call.base),
            "webUrl": format!("{web}/"),
            "ci": 1,
        }))
    }

    fn authenticate(&self, headers: &HeaderMap) -> Result<(), Fail> {
        let (Some(code), Some(user), Some(secret)) = (
            header_value(headers, "ApiIntegrationCode"),
            header_value(headers, "UserName"),
            header_value(headers, "Secret"),
        ) else {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "The ApiIntegrationCode, UserName and Secret headers are required.",
            ));
        };
        let db = self.db.lock();
        let valid = db.users.iter().any(|u| {
            u.user_name.eq_ignore_ascii_case(user)
                && u.secret == secret
                && u.integration_code == code
        });
        if valid {
            Ok(())
        } else {
            Err(error(
                StatusCode::UNAUTHORIZED,
                "User is not authorized: the credentials or the integration code are not valid.",
            ))
        }
    }

    fn impersonation(&self, value: &str) -> Result<i64, Fail> {
        let db = self.db.lock();
        value
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|id| {
                db.table(Entity::Resources)
                    .get(id)
                    .is_some_and(|r| r.get("isActive") == Some(&Value::Bool(true)))
            })
            .ok_or_else(|| {
                error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("ImpersonationResourceId {value} is not an active resource."),
                )
            })
    }

    fn threshold(&self, call: &Call) -> Response {
        if call.method != Method::GET {
            return no_method(&call.method).into_response();
        }
        let mut db = self.db.lock();
        db.prune_requests();
        ok(json!({
            "externalRequestThreshold": db.settings.request_threshold,
            "requestThresholdTimeframe": 60,
            "currentTimeframeRequestCount": db.requests.len(),
        }))
    }

    /// Count a request against the database's hourly threshold; the latency to add, or the
    /// 429 once the threshold is used up.
    fn count_request(&self) -> Result<Duration, Fail> {
        let mut db = self.db.lock();
        db.prune_requests();
        let limit = db.settings.request_threshold as usize;
        if db.requests.len() >= limit {
            return Err(error(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "The API request threshold of {limit} requests per 60 minutes has been reached for this database. Try again later."
                ),
            ));
        }
        db.requests.push_back(Instant::now());
        Ok(if db.requests.len() * 2 >= limit {
            db.settings.throttle_latency
        } else {
            Duration::ZERO
        })
    }

    fn handle(&self, route: Route, call: &Call) -> Response {
        let method = &call.method;
        let result = match route {
            Route::Query(entity, paging) if *method == Method::GET || *method == Method::POST => {
                self.query(entity, paging, call)
            }
            Route::Fields(entity) if *method == Method::GET => Ok(self.fields(entity)),
            Route::Item(entity, id) if *method == Method::GET => {
                let db = self.db.lock();
                let item = db
                    .table(entity)
                    .get(&id)
                    .map(|r| render(entity, r, None))
                    .unwrap_or(Value::Null);
                Ok(ok(json!({ "item": item })))
            }
            Route::Tickets if *method == Method::POST => self.create_ticket(call),
            Route::Tickets if *method == Method::PATCH => self.patch_ticket(call),
            Route::TicketNotes(ticket) if *method == Method::GET => {
                Ok(self.children(Entity::TicketNotes, "ticketID", ticket))
            }
            Route::TicketNotes(ticket) if *method == Method::POST => self.create_note(ticket, call),
            Route::CompanyContacts(company) if *method == Method::GET => {
                Ok(self.children(Entity::Contacts, "companyID", company))
            }
            Route::CompanyContacts(company) if *method == Method::POST => {
                self.create_contact(company, call)
            }
            Route::CompanyContacts(company) if *method == Method::PATCH => {
                self.patch_contact(company, call)
            }
            _ => Err(no_method(method)),
        };
        result.unwrap_or_else(IntoResponse::into_response)
    }

    fn fields(&self, entity: Entity) -> Response {
        let db = self.db.lock();
        let fields: Vec<Value> = entity
            .fields()
            .iter()
            .map(|f| f.info(db.picklists.get(&(entity, f.name)).map(Vec::as_slice)))
            .collect();
        ok(json!({ "fields": fields }))
    }

    fn query(&self, entity: Entity, paging: Paging, call: &Call) -> Result<Response, Fail> {
        let from_url = call.method == Method::GET;
        let model = if from_url {
            let search = call.param("search").ok_or_else(|| {
                error(
                    StatusCode::BAD_REQUEST,
                    "The search query parameter is required.",
                )
            })?;
            serde_json::from_str::<Value>(search).map_err(|e| {
                error(
                    StatusCode::BAD_REQUEST,
                    format!("The search parameter is not valid JSON: {e}."),
                )
            })?
        } else {
            call.json()?
        };
        let query = Query::parse(entity, &model)
            .map_err(|m| error(StatusCode::INTERNAL_SERVER_ERROR, m))?;
        let (page_size, after) = match paging {
            Paging::Next => {
                let token = call.param("paging").ok_or_else(|| {
                    error(
                        StatusCode::BAD_REQUEST,
                        "The paging query parameter is required.",
                    )
                })?;
                PageToken::parse(token)
                    .ok_or_else(|| {
                        error(StatusCode::BAD_REQUEST, "The paging token is not valid.")
                    })?
                    .into_parts()
            }
            _ => (query.max_records, 0),
        };
        let db = self.db.lock();
        let matching = db
            .table(entity)
            .range(after + 1..)
            .map(|(_, r)| r)
            .filter(|r| query.matches(r));
        if paging == Paging::Count {
            return Ok(ok(json!({ "queryCount": matching.count() })));
        }
        let page = crate::paging::page(matching, 0, page_size);
        let items: Vec<Value> = page
            .items
            .iter()
            .map(|r| render(entity, r, query.include_fields.as_deref()))
            .collect();
        let next = match (page.more, page.items.last().and_then(|r| int(r, "id"))) {
            (true, Some(last)) => {
                let token = PageToken {
                    page_size,
                    after: last,
                }
                .encode();
                let mut url = format!(
                    "{}/V1.0/{}/query/next?paging={token}",
                    call.base,
                    entity_segment(entity)
                );
                // A URL query keeps its filter in the next link; a body query is re-posted.
                if from_url {
                    url.push_str("&search=");
                    url.extend(url::form_urlencoded::byte_serialize(
                        model.to_string().as_bytes(),
                    ));
                }
                Value::String(url)
            }
            _ => Value::Null,
        };
        Ok(ok(json!({
            "items": items,
            "pageDetails": {
                "count": items.len(),
                "requestCount": page_size,
                "prevPageUrl": null,
                "nextPageUrl": next,
            }
        })))
    }

    fn children(&self, entity: Entity, parent_field: &str, parent: i64) -> Response {
        let db = self.db.lock();
        let items: Vec<Value> = db
            .table(entity)
            .values()
            .filter(|r| int(r, parent_field) == Some(parent))
            .take(PAGE_SIZE)
            .map(|r| render(entity, r, None))
            .collect();
        ok(json!({
            "items": items,
            "pageDetails": {
                "count": items.len(),
                "requestCount": PAGE_SIZE,
                "prevPageUrl": null,
                "nextPageUrl": null,
            }
        }))
    }

    fn create_ticket(&self, call: &Call) -> Result<Response, Fail> {
        let body = call.json()?;
        let mut db = self.db.lock();
        let mut record = db.coerce(Entity::Tickets, &body)?;
        record.entry("ticketType").or_insert(json!(1));
        db.check_required(Entity::Tickets, &record)?;
        db.check_ticket(&record, None)?;
        let now = Utc::now();
        record.insert("createDate".into(), iso(now));
        record.insert("lastActivityDate".into(), iso(now));
        record.insert("creatorResourceID".into(), json!(call.actor));
        let number = db.ticket_number(now);
        record.insert("ticketNumber".into(), json!(number));
        if int(&record, "status") == Some(seed::STATUS_COMPLETE) {
            record.insert("completedDate".into(), iso(now));
        }
        let id = db.insert(Entity::Tickets, record);
        Ok(ok(json!({ "itemId": id })))
    }

    fn patch_ticket(&self, call: &Call) -> Result<Response, Fail> {
        let body = call.json()?;
        let id = body_id(&body)?;
        let mut db = self.db.lock();
        let changes = db.coerce(Entity::Tickets, &body)?;
        let Some(current) = db.table(Entity::Tickets).get(&id).cloned() else {
            return Err(error(
                StatusCode::NOT_FOUND,
                format!("Ticket {id} was not found."),
            ));
        };
        let mut merged = current.clone();
        merged.extend(changes);
        db.check_required(Entity::Tickets, &merged)?;
        db.check_ticket(&merged, Some(id))?;
        let now = Utc::now();
        let was_complete = int(&current, "status") == Some(seed::STATUS_COMPLETE);
        let is_complete = int(&merged, "status") == Some(seed::STATUS_COMPLETE);
        if is_complete && !was_complete {
            merged.insert("completedDate".into(), iso(now));
        } else if !is_complete {
            merged.insert("completedDate".into(), Value::Null);
        }
        merged.insert("lastActivityDate".into(), iso(now));
        db.table_mut(Entity::Tickets).insert(id, merged);
        Ok(ok(json!({ "itemId": id })))
    }

    fn create_note(&self, ticket: i64, call: &Call) -> Result<Response, Fail> {
        let body = call.json()?;
        let mut db = self.db.lock();
        if !db.table(Entity::Tickets).contains_key(&ticket) {
            return Err(error(
                StatusCode::NOT_FOUND,
                format!("Ticket {ticket} was not found."),
            ));
        }
        let mut record = db.coerce(Entity::TicketNotes, &body)?;
        match int(&record, "ticketID") {
            Some(id) if id != ticket => {
                return Err(error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("ticketID {id} does not match the parent ticket {ticket} in the URL."),
                ));
            }
            _ => {
                record.insert("ticketID".into(), json!(ticket));
            }
        }
        db.check_required(Entity::TicketNotes, &record)?;
        let now = Utc::now();
        record.insert("createDateTime".into(), iso(now));
        record.insert("lastActivityDate".into(), iso(now));
        record.insert("creatorResourceID".into(), json!(call.actor));
        if call.impersonating {
            record.insert(
                "impersonatorCreatorResourceID".into(),
                json!(seed::API_RESOURCE_ID),
            );
        }
        let id = db.insert(Entity::TicketNotes, record);
        if let Some(t) = db.table_mut(Entity::Tickets).get_mut(&ticket) {
            t.insert("lastActivityDate".into(), iso(now));
        }
        Ok(ok(json!({ "itemId": id })))
    }

    fn create_contact(&self, company: i64, call: &Call) -> Result<Response, Fail> {
        let body = call.json()?;
        let mut db = self.db.lock();
        if !db.table(Entity::Companies).contains_key(&company) {
            return Err(error(
                StatusCode::NOT_FOUND,
                format!("Company {company} was not found."),
            ));
        }
        let mut record = db.coerce(Entity::Contacts, &body)?;
        match int(&record, "companyID") {
            Some(id) if id != company => {
                return Err(error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!(
                        "companyID {id} does not match the parent company {company} in the URL."
                    ),
                ));
            }
            _ => {
                record.insert("companyID".into(), json!(company));
            }
        }
        db.check_required(Entity::Contacts, &record)?;
        check_active_flag(&record)?;
        let now = Utc::now();
        record.insert("createDate".into(), iso(now));
        record.insert("lastActivityDate".into(), iso(now));
        record.insert("lastModifiedDate".into(), iso(now));
        let id = db.insert(Entity::Contacts, record);
        Ok(ok(json!({ "itemId": id })))
    }

    fn patch_contact(&self, company: i64, call: &Call) -> Result<Response, Fail> {
        let body = call.json()?;
        let id = body_id(&body)?;
        let mut db = self.db.lock();
        let changes = db.coerce(Entity::Contacts, &body)?;
        let current = db
            .table(Entity::Contacts)
            .get(&id)
            .filter(|c| int(c, "companyID") == Some(company))
            .cloned()
            .ok_or_else(|| {
                error(
                    StatusCode::NOT_FOUND,
                    format!("Contact {id} was not found under company {company}."),
                )
            })?;
        if changes
            .get("companyID")
            .and_then(as_i64)
            .is_some_and(|c| c != company)
        {
            return Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "companyID cannot be changed through the parent URL of another company.",
            ));
        }
        let mut merged = current;
        merged.extend(changes);
        db.check_required(Entity::Contacts, &merged)?;
        check_active_flag(&merged)?;
        merged.insert("lastModifiedDate".into(), iso(Utc::now()));
        db.table_mut(Entity::Contacts).insert(id, merged);
        Ok(ok(json!({ "itemId": id })))
    }
}

fn entity_segment(entity: Entity) -> &'static str {
    match entity {
        Entity::Tickets => "Tickets",
        Entity::TicketNotes => "TicketNotes",
        Entity::Companies => "Companies",
        Entity::Contacts => "Contacts",
        Entity::Resources => "Resources",
    }
}

fn body_id(body: &Value) -> Result<i64, Fail> {
    body.as_object()
        .and_then(|o| get_ci(o, "id"))
        .and_then(as_i64)
        .ok_or_else(|| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An update must carry the id of the entity in the body.",
            )
        })
}

fn check_active_flag(record: &Record) -> Result<(), Fail> {
    match int(record, "isActive") {
        Some(0 | 1) => Ok(()),
        _ => Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "isActive must be 0 or 1.",
        )),
    }
}

/// The opaque `paging` cursor of a `nextPageUrl`.
struct PageToken {
    page_size: usize,
    after: i64,
}

impl PageToken {
    fn encode(&self) -> String {
        let json = json!({ "pageSize": self.page_size, "afterId": self.after }).to_string();
        url::form_urlencoded::byte_serialize(json.as_bytes()).collect()
    }

    fn parse(token: &str) -> Option<Self> {
        let value: Value = serde_json::from_str(token).ok()?;
        let page_size = value.get("pageSize")?.as_u64()? as usize;
        let after = value.get("afterId")?.as_i64()?;
        (1..=PAGE_SIZE)
            .contains(&page_size)
            .then_some(Self { page_size, after })
    }

    fn into_parts(self) -> (usize, i64) {
        (self.page_size, self.after)
    }
}

impl Db {
    /// Turn a request body into a record of canonical field names, refusing what the entity
    /// does not have and checking types, lengths and picklist values. Read-only fields are
    /// ignored, as the API does.
    fn coerce(&self, entity: Entity, body: &Value) -> Result<Record, Fail> {
        let Some(object) = body.as_object() else {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "The request body must be a JSON object.",
            ));
        };
        let mut record = Record::new();
        let mut problems = Vec::new();
        for (key, value) in object {
            if key.eq_ignore_ascii_case("userDefinedFields") {
                match value {
                    Value::Null => {}
                    Value::Array(items) if items.is_empty() => {}
                    _ => {
                        problems.push("No user-defined fields are defined in this database.".into())
                    }
                }
                continue;
            }
            let Some(field) = entity.field(key) else {
                problems.push(format!(
                    "Unable to find {key} in the {} entity.",
                    entity.singular()
                ));
                continue;
            };
            if field.read_only {
                continue;
            }
            if value.is_null() {
                record.insert(field.name.into(), Value::Null);
                continue;
            }
            let coerced = match field.ty {
                DataType::Integer | DataType::Long => as_i64(value).map(|n| json!(n)),
                DataType::String => value.as_str().map(|s| json!(s)),
                DataType::Boolean => value.as_bool().map(Value::Bool),
                DataType::DateTime => query::as_datetime(value).map(iso),
            };
            let Some(coerced) = coerced else {
                problems.push(format!(
                    "The value {value} is not valid for field {}.",
                    field.name
                ));
                continue;
            };
            if field.ty == DataType::String
                && coerced
                    .as_str()
                    .is_some_and(|s| s.chars().count() > field.length as usize)
            {
                problems.push(format!(
                    "{} exceeds the maximum length of {} characters.",
                    field.name, field.length
                ));
                continue;
            }
            if field.picklist {
                let n = as_i64(&coerced);
                let valid = self
                    .picklists
                    .get(&(entity, field.name))
                    .is_some_and(|values| values.iter().any(|v| Some(v.value) == n && v.active));
                if !valid {
                    problems.push(format!(
                        "Value {coerced} is not an active value of the picklist {}.",
                        field.name
                    ));
                    continue;
                }
            }
            record.insert(field.name.into(), coerced);
        }
        if problems.is_empty() {
            Ok(record)
        } else {
            Err(errors(StatusCode::INTERNAL_SERVER_ERROR, problems))
        }
    }

    fn check_required(&self, entity: Entity, record: &Record) -> Result<(), Fail> {
        let missing: Vec<String> = entity
            .fields()
            .iter()
            .filter(|f| f.required && !f.read_only)
            .filter(|f| match record.get(f.name) {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.trim().is_empty(),
                _ => false,
            })
            .map(|f| format!("{} is required.", f.name))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(errors(StatusCode::INTERNAL_SERVER_ERROR, missing))
        }
    }

    /// Ticket business rules, on the record as it would be stored.
    fn check_ticket(&self, t: &Record, id: Option<i64>) -> Result<(), Fail> {
        let mut problems = Vec::new();
        let company = int(t, "companyID");
        if let Some(company) = company
            && !self.table(Entity::Companies).contains_key(&company)
        {
            problems.push(format!("Company {company} does not exist."));
        }
        if let Some(contact) = int(t, "contactID") {
            match self.table(Entity::Contacts).get(&contact) {
                None => problems.push(format!("Contact {contact} does not exist.")),
                Some(c) if int(c, "companyID") != company => problems.push(format!(
                    "Contact {contact} does not belong to company {}.",
                    company.unwrap_or_default()
                )),
                Some(_) => {}
            }
        }
        let resource = int(t, "assignedResourceID");
        let role = int(t, "assignedResourceRoleID");
        match (resource, role) {
            (None, None) => {}
            (Some(resource), Some(role)) => {
                let active = self
                    .table(Entity::Resources)
                    .get(&resource)
                    .is_some_and(|r| r.get("isActive") == Some(&Value::Bool(true)));
                if !active {
                    problems.push(format!("Resource {resource} is not an active resource."));
                }
                if !seed::ROLES.contains(&role) {
                    problems.push(format!("Role {role} does not exist."));
                }
            }
            _ => problems.push(
                "When assigning a Resource, you must assign both a assignedResourceID and assignedResourceRoleID."
                    .into(),
            ),
        }
        if let Some(problem) = int(t, "problemTicketId") {
            match self.table(Entity::Tickets).get(&problem) {
                None => problems.push(format!("Problem ticket {problem} does not exist.")),
                Some(_) if Some(problem) == id => {
                    problems.push("A ticket cannot be its own problem ticket.".into())
                }
                Some(p) if int(p, "ticketType") != Some(seed::TYPE_PROBLEM) => problems.push(
                    format!("Ticket {problem} is not a Problem ticket and cannot have incidents."),
                ),
                Some(_) => {}
            }
            if int(t, "ticketType") != Some(seed::TYPE_INCIDENT) {
                problems.push(
                    "Only tickets of type Incident can be associated with a problem ticket.".into(),
                );
            }
        }
        if let Some(id) = id
            && int(t, "ticketType") != Some(seed::TYPE_PROBLEM)
            && self
                .table(Entity::Tickets)
                .values()
                .any(|other| int(other, "problemTicketId") == Some(id))
        {
            problems
                .push("The ticket has incidents attached and must remain of type Problem.".into());
        }
        if int(t, "status") == Some(seed::STATUS_COMPLETE)
            && self.settings.require_resolution_to_complete
            && string(t, "resolution").is_none_or(|r| r.trim().is_empty())
        {
            problems.push("A resolution is required to complete this ticket.".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(errors(StatusCode::INTERNAL_SERVER_ERROR, problems))
        }
    }
}
