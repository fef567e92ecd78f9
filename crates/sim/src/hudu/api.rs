//! `/api/v1` handlers, the guard in front of them (rate limit, `x-api-key`), Hudu's error
//! bodies, list filters and paging.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::model::{SimArticle, SimAsset, SimField, SimPassword, record_slug, render_layout};
use super::{HuduSim, State as SimState, THROTTLE, VERSION, next_id};
use crate::paging;
use crate::server::origin;
use crate::world::Layout;

/// Items per page when `page_size` is not given (spec `info.description`).
const DEFAULT_PAGE_SIZE: usize = 25;

// ---------------------------------------------------------------------------------------------
// Errors

/// A failed answer: a status and one of the bodies hudu.md lists.
#[derive(Debug)]
pub(crate) struct HuduError {
    status: StatusCode,
    body: Value,
}

impl HuduError {
    /// `401`: no key, or one the instance does not know.
    fn unauthorized() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            body: json!({"error": "Invalid API key"}),
        }
    }

    /// `404`.
    fn not_found() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            body: json!({"error": "Record not found"}),
        }
    }

    /// `400`: the body is not JSON, or lacks the record.
    fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body: json!({"error": message.into()}),
        }
    }

    /// `422` "Unable to process request": a validation failure on `field`.
    fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: json!({"errors": {field: [message.into()]}}),
        }
    }
}

impl IntoResponse for HuduError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

type ApiResult = Result<Response, HuduError>;

/// `200` with `{key: record}`.
fn one(key: &str, record: Value) -> Response {
    one_with(StatusCode::OK, key, record)
}

fn one_with(status: StatusCode, key: &str, record: Value) -> Response {
    let mut body = Map::new();
    body.insert(key.to_string(), record);
    (status, axum::Json(Value::Object(body))).into_response()
}

/// `200` with the body `null`: hudu.md's "not found" of some `GET /…/{id}` endpoints.
fn null_body() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        "null",
    )
        .into_response()
}

/// A path that is not a route (Rails answers its routing errors `404`).
pub(crate) async fn no_route() -> Response {
    HuduError {
        status: StatusCode::NOT_FOUND,
        body: json!({"error": "Not Found"}),
    }
    .into_response()
}

// ---------------------------------------------------------------------------------------------
// Guard

/// In front of every route: the rate limit first (Hudu throttles before it looks at the key),
/// then the key.
pub(crate) async fn guard(State(sim): State<HuduSim>, request: Request, next: Next) -> Response {
    if !sim.take_budget() {
        // Hudu names no wait, so there is no `Retry-After` to fill in.
        return THROTTLE.response(0);
    }
    let known = request
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|key| sim.config.api_keys.iter().any(|k| k == key));
    if !known {
        return HuduError::unauthorized().into_response();
    }
    next.run(request).await
}

// ---------------------------------------------------------------------------------------------
// Query parameters, filters and paging

/// A request's query parameters.
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(raw: Option<String>) -> Self {
        Self(
            raw.and_then(|q| serde_urlencoded::from_str(&q).ok())
                .unwrap_or_default(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A positive number parameter, or `default` when it is absent or not one.
    fn positive(&self, name: &str, default: usize) -> usize {
        self.get(name)
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(default)
    }

    /// `archived=true` lists only archived records; without it, only the others.
    fn archived(&self) -> bool {
        self.flag("archived") == Some(true)
    }

    fn flag(&self, name: &str) -> Option<bool> {
        self.get(name).map(|v| v.eq_ignore_ascii_case("true"))
    }

    /// Whether the number filter `name` (if given) matches `actual`; a value that is not a
    /// number matches nothing.
    fn number_matches(&self, name: &str, actual: Option<i64>) -> bool {
        match self.get(name) {
            None => true,
            Some(wanted) => wanted
                .trim()
                .parse::<i64>()
                .ok()
                .is_some_and(|w| Some(w) == actual),
        }
    }

    /// Whether the exact-text filter `name` (if given) matches `actual`.
    fn text_matches(&self, name: &str, actual: Option<&str>) -> bool {
        self.get(name).is_none_or(|wanted| Some(wanted) == actual)
    }

    /// Whether the `search` filter (if given) is in any of `texts`, ignoring case.
    fn search_matches<'a>(&self, texts: impl IntoIterator<Item = Option<&'a str>>) -> bool {
        let Some(wanted) = self.get("search") else {
            return true;
        };
        let wanted = wanted.to_lowercase();
        texts
            .into_iter()
            .flatten()
            .any(|text| text.to_lowercase().contains(&wanted))
    }

    /// The page `page` (from 1) of `page_size` (default 25) items.
    fn page<T>(&self, items: impl IntoIterator<Item = T>) -> Vec<T> {
        let size = self.positive("page_size", DEFAULT_PAGE_SIZE);
        let page = self.positive("page", 1);
        paging::page(items, (page - 1).saturating_mul(size), size).items
    }
}

/// `{key: [page of items]}`.
fn list(key: &str, query: &Query, items: impl IntoIterator<Item = Value>) -> Response {
    one(key, Value::Array(query.page(items)))
}

/// An id in a path; anything else names no record.
fn path_id(raw: &str) -> Option<i64> {
    raw.trim().parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Request bodies

/// The record of a write body: `{root: {...}}` as the reference clients send it, or the bare
/// object as the spec's examples draw it.
fn record_body(bytes: &Bytes, root: &str) -> Result<Map<String, Value>, HuduError> {
    let missing =
        || HuduError::bad_request(format!("param is missing or the value is empty: {root}"));
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(missing());
    }
    let body: Value = serde_json::from_slice(bytes)
        .map_err(|_| HuduError::bad_request("the request body is not valid JSON"))?;
    let Value::Object(mut object) = body else {
        return Err(missing());
    };
    let record = match object.remove(root) {
        Some(Value::Object(record)) => record,
        Some(_) => return Err(missing()),
        None => object,
    };
    if record.is_empty() {
        return Err(missing());
    }
    Ok(record)
}

/// A text attribute: absent (`None`), cleared (`Some(None)`) or set. Numbers are taken as
/// their text, as Rails casts them.
fn text(record: &Map<String, Value>, key: &str) -> Result<Option<Option<String>>, HuduError> {
    match record.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(Value::Number(n)) => Ok(Some(Some(n.to_string()))),
        Some(_) => Err(HuduError::invalid(key, "is invalid")),
    }
}

/// An id attribute: absent, cleared, or a number (or a numeric string, as Rails casts it).
fn number(record: &Map<String, Value>, key: &str) -> Result<Option<Option<i64>>, HuduError> {
    match record.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(|n| Some(Some(n)))
            .ok_or_else(|| HuduError::invalid(key, "is not a number")),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Some(None)),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(|n| Some(Some(n)))
            .map_err(|_| HuduError::invalid(key, "is not a number")),
        Some(_) => Err(HuduError::invalid(key, "is not a number")),
    }
}

/// A boolean attribute: `true`/`false`, or their text.
fn boolean(record: &Map<String, Value>, key: &str) -> Result<Option<bool>, HuduError> {
    match record.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(_) => Err(HuduError::invalid(key, "is not a boolean")),
    }
}

/// A name that must not be blank.
fn name(value: Option<String>) -> Result<String, HuduError> {
    match value {
        Some(name) if !name.trim().is_empty() => Ok(name),
        _ => Err(HuduError::invalid("name", "can't be blank")),
    }
}

/// A layout field label as a write key compares: case-insensitive, spaces or underscores.
fn field_key(label: &str) -> String {
    label.trim().to_lowercase().replace(' ', "_")
}

/// Hudu's write shape of custom fields (`[{"job_title": "CFO"}, ...]`) as the asset's field
/// values in `layout`. Null and empty values leave the field without a value.
fn custom_fields(layout: &Layout, written: &Value) -> Result<Vec<SimField>, HuduError> {
    let Value::Array(items) = written else {
        return Err(HuduError::invalid(
            "custom_fields",
            "must be an array of objects keyed by field label",
        ));
    };
    let mut values: Vec<(usize, Value)> = Vec::new();
    for item in items {
        let Value::Object(pairs) = item else {
            return Err(HuduError::invalid(
                "custom_fields",
                "must be an array of objects keyed by field label",
            ));
        };
        for (key, value) in pairs {
            let position = layout
                .fields
                .iter()
                .position(|f| field_key(&f.label) == field_key(key))
                .ok_or_else(|| {
                    HuduError::invalid(
                        "custom_fields",
                        format!("{key} is not a field of the {} layout", layout.name),
                    )
                })?;
            values.retain(|(p, _)| *p != position);
            values.push((position, value.clone()));
        }
    }
    values.sort_by_key(|(position, _)| *position);
    Ok(values
        .into_iter()
        .filter(|(_, value)| !(value.is_null() || value.as_str() == Some("")))
        .map(|(position, value)| {
            let field = &layout.fields[position];
            SimField {
                id: field.id,
                label: field.label.clone(),
                position: position + 1,
                value,
            }
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// API info and companies

pub(crate) async fn api_info() -> Response {
    axum::Json(json!({
        "version": VERSION,
        "date": Utc::now().date_naive().to_string(),
    }))
    .into_response()
}

pub(crate) async fn list_companies(
    State(sim): State<HuduSim>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = Query::parse(raw);
    let origin = origin(&headers);
    let state = sim.state.lock();
    let companies = state.companies.iter().filter(|c| {
        query.text_matches("name", Some(&c.name))
            && query.text_matches("slug", Some(&c.slug))
            && query.text_matches("phone_number", c.phone_number.as_deref())
            && query.text_matches("website", c.website.as_deref())
            && ["city", "state", "id_number"]
                .iter()
                .all(|unset| query.text_matches(unset, None))
            && query.search_matches([Some(c.name.as_str())])
            && query.get("id_in_integration").is_none_or(|wanted| {
                c.integrations.iter().any(|i| {
                    i.sync_id.to_string() == wanted
                        || i.identifier
                            .as_deref()
                            .is_some_and(|id| id.eq_ignore_ascii_case(wanted))
                })
            })
    });
    list(
        "companies",
        &query,
        companies.map(|c| c.render(&origin)).collect::<Vec<_>>(),
    )
}

pub(crate) async fn get_company(
    State(sim): State<HuduSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let state = sim.state.lock();
    let company = path_id(&id)
        .and_then(|id| state.company(id))
        .ok_or_else(HuduError::not_found)?;
    Ok(one("company", company.render(&origin(&headers))))
}

/// `GET /companies/jump`: a browser is redirected to the company page; an API client, which
/// asks for JSON, gets `406` (spec).
pub(crate) async fn jump(
    State(sim): State<HuduSim>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = Query::parse(raw);
    let slug = query.get("integration_slug").ok_or_else(|| {
        HuduError::bad_request("param is missing or the value is empty: integration_slug")
    })?;
    let state = sim.state.lock();
    let company = state
        .companies
        .iter()
        .find(|c| {
            c.integrations.iter().any(|i| {
                i.integrator_name == slug
                    && match (
                        query.get("integration_id"),
                        query.get("integration_identifier"),
                    ) {
                        (Some(id), _) => i.sync_id.to_string() == id,
                        (None, Some(identifier)) => i.identifier.as_deref() == Some(identifier),
                        (None, None) => false,
                    }
            })
        })
        .ok_or_else(HuduError::not_found)?;
    let wants_page = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if !wants_page {
        return Ok(StatusCode::NOT_ACCEPTABLE.into_response());
    }
    Ok((
        StatusCode::FOUND,
        [(
            header::LOCATION,
            format!("{}/c/{}", origin(&headers), company.slug),
        )],
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// Asset layouts

pub(crate) async fn list_layouts(State(sim): State<HuduSim>, RawQuery(raw): RawQuery) -> Response {
    let query = Query::parse(raw);
    let at = super::seed::seeded_at();
    let state = sim.state.lock();
    let layouts = state.layouts.iter().filter(|l| {
        query.text_matches("name", Some(&l.name))
            && query.text_matches("slug", Some(&super::model::slugify(&l.name)))
            // Every layout is active.
            && query.flag("active") != Some(false)
    });
    list(
        "asset_layouts",
        &query,
        layouts.map(|l| render_layout(l, at)).collect::<Vec<_>>(),
    )
}

pub(crate) async fn get_layout(State(sim): State<HuduSim>, Path(id): Path<String>) -> Response {
    let state = sim.state.lock();
    match path_id(&id).and_then(|id| state.layout(id)) {
        Some(layout) => one(
            "asset_layout",
            render_layout(layout, super::seed::seeded_at()),
        ),
        None => null_body(),
    }
}

// ---------------------------------------------------------------------------------------------
// Assets

fn render_asset(state: &SimState, asset: &SimAsset, origin: &str) -> Value {
    let company = state
        .company(asset.company_id)
        .map_or("", |c| c.name.as_str());
    let layout = state
        .layout(asset.layout_id)
        .map_or("", |l| l.name.as_str());
    asset.render(origin, company, layout)
}

pub(crate) async fn list_assets(
    State(sim): State<HuduSim>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = Query::parse(raw);
    let origin = origin(&headers);
    let state = sim.state.lock();
    let assets = state.assets.values().filter(|a| {
        a.archived == query.archived()
            && query.number_matches("company_id", Some(a.company_id))
            && query.number_matches("id", Some(a.id))
            && query.number_matches("asset_layout_id", Some(a.layout_id))
            && query.text_matches("name", Some(&a.name))
            && query.text_matches("primary_serial", a.primary_serial.as_deref())
            && query.text_matches("slug", Some(&a.slug))
            && query.search_matches([Some(a.name.as_str())])
    });
    list(
        "assets",
        &query,
        assets
            .map(|a| render_asset(&state, a, &origin))
            .collect::<Vec<_>>(),
    )
}

pub(crate) async fn company_assets(
    State(sim): State<HuduSim>,
    headers: HeaderMap,
    Path(company_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = Query::parse(raw);
    let origin = origin(&headers);
    let state = sim.state.lock();
    let company_id = path_id(&company_id)
        .filter(|id| state.company(*id).is_some())
        .ok_or_else(HuduError::not_found)?;
    let assets = state
        .assets
        .values()
        .filter(|a| a.company_id == company_id && a.archived == query.archived());
    Ok(list(
        "assets",
        &query,
        assets
            .map(|a| render_asset(&state, a, &origin))
            .collect::<Vec<_>>(),
    ))
}

/// The asset `id` of company `company_id`, both from the path.
fn asset_id(state: &SimState, company_id: &str, id: &str) -> Result<i64, HuduError> {
    let company_id = path_id(company_id).ok_or_else(HuduError::not_found)?;
    path_id(id)
        .filter(|id| {
            state
                .assets
                .get(id)
                .is_some_and(|a| a.company_id == company_id)
        })
        .ok_or_else(HuduError::not_found)
}

pub(crate) async fn get_asset(
    State(sim): State<HuduSim>,
    headers: HeaderMap,
    Path((company_id, id)): Path<(String, String)>,
) -> ApiResult {
    let state = sim.state.lock();
    let id = asset_id(&state, &company_id, &id)?;
    Ok(one(
        "asset",
        render_asset(&state, &state.assets[&id], &origin(&headers)),
    ))
}

/// The primary attributes an asset write may set.
const PRIMARY: [&str; 4] = [
    "primary_serial",
    "primary_mail",
    "primary_model",
    "primary_manufacturer",
];

fn set_primary(asset: &mut SimAsset, key: &str, value: Option<String>) {
    let slot = match key {
        "primary_serial" => &mut asset.primary_serial,
        "primary_mail" => &mut asset.primary_mail,
        "primary_model" => &mut asset.primary_model,
        _ => &mut asset.primary_manufacturer,
    };
    *slot = value.filter(|v| !v.is_empty());
}

/// The layout an asset write names (`asset_layout_id`), which must exist.
fn layout_of(state: &SimState, id: Option<i64>) -> Result<&Layout, HuduError> {
    id.and_then(|id| state.layout(id))
        .ok_or_else(|| HuduError::invalid("asset_layout", "must exist"))
}

pub(crate) async fn create_asset(
    State(sim): State<HuduSim>,
    headers: HeaderMap,
    Path(company_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let mut state = sim.state.lock();
    let company_id = path_id(&company_id)
        .filter(|id| state.company(*id).is_some())
        .ok_or_else(HuduError::not_found)?;
    let record = record_body(&body, "asset")?;
    let name = name(text(&record, "name")?.flatten())?;
    let layout = layout_of(&state, number(&record, "asset_layout_id")?.flatten())?;
    let fields = match record.get("custom_fields") {
        Some(written) => custom_fields(layout, written)?,
        None => Vec::new(),
    };
    let now = Utc::now();
    let id = next_id(&state.assets);
    let mut asset = SimAsset {
        id,
        company_id,
        layout_id: layout.id,
        slug: record_slug(&name, id),
        name,
        primary_serial: None,
        primary_mail: None,
        primary_model: None,
        primary_manufacturer: None,
        archived: false,
        fields,
        created_at: now,
        updated_at: now,
    };
    for key in PRIMARY {
        if let Some(value) = text(&record, key)? {
            set_primary(&mut asset, key, value);
        }
    }
    let rendered = render_asset(&state, &asset, &origin(&headers));
    state.assets.insert(id, asset);
    Ok(one_with(StatusCode::CREATED, "asset", rendered))
}

pub(crate) async fn update_asset(
    State(sim): State<HuduSim>,
    headers: HeaderMap,
    Path((company_id, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let mut state = sim.state.lock();
    let id = asset_id(&state, &company_id, &id)?;
    let record = record_body(&body, "asset")?;
    let mut asset = state.assets[&id].clone();
    if let Some(value) = text(&record, "name")? {
        asset.name = name(value)?;
    }
    let layout_id = match number(&record, "asset_layout_id")? {
        Some(id) => layout_of(&state, id)?.id,
        None => asset.layout_id,
    };
    if layout_id != asset.layout_id || record.contains_key("custom_fields") {
        let layout = layout_of(&state, Some(layout_id))?;
        // Fields of another layout do not carry over; `custom_fields` replaces the values.
        asset.fields = match record.get("custom_fields") {
            Some(written) => custom_fields(layout, written)?,
            None => Vec::new(),
        };
        asset.layout_id = layout_id;
    }
    for key in PRIMARY {
        if let Some(value) = text(&record, key)? {
            set_primary(&mut asset, key, value);
        }
    }
    asset.updated_at = Utc::now();
    let rendered = render_asset(&state, &asset, &origin(&headers));
    state.assets.insert(id, asset);
    Ok(one("asset", rendered))
}

pub(crate) async fn archive_asset(
    State(sim): State<HuduSim>,
    headers: HeaderMap,
    Path((company_id, id)): Path<(String, String)>,
) -> ApiResult {
    let mut state = sim.state.lock();
    let id = asset_id(&state, &company_id, &id)?;
    let asset = state.assets.get_mut(&id).ok_or_else(HuduError::not_found)?;
    asset.archived = true;
    asset.updated_at = Utc::now();
    let asset = asset.clone();
    Ok(one(
        "asset",
        render_asset(&state, &asset, &origin(&headers)),
    ))
}

// ---------------------------------------------------------------------------------------------
// Asset passwords

pub(crate) async fn list_passwords(
    State(sim): State<HuduSim>,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = Query::parse(raw);
    let state = sim.state.lock();
    let passwords = state.passwords.values().filter(|p| {
        p.archived == query.archived()
            && query.number_matches("company_id", Some(p.company_id))
            && query.text_matches("name", Some(&p.name))
            && query.text_matches("slug", Some(&p.slug))
            && query.search_matches([Some(p.name.as_str()), p.username.as_deref()])
    });
    list(
        "asset_passwords",
        &query,
        passwords.map(SimPassword::render).collect::<Vec<_>>(),
    )
}

pub(crate) async fn get_password(State(sim): State<HuduSim>, Path(id): Path<String>) -> Response {
    let state = sim.state.lock();
    match path_id(&id).and_then(|id| state.passwords.get(&id)) {
        Some(entry) => one("asset_password", entry.render()),
        None => null_body(),
    }
}

/// Apply a password write to `entry`; the company and the attachment are checked.
fn write_password(
    state: &SimState,
    entry: &mut SimPassword,
    record: &Map<String, Value>,
) -> Result<(), HuduError> {
    if let Some(value) = text(record, "name")? {
        entry.name = name(value)?;
    }
    if let Some(company) = number(record, "company_id")? {
        entry.company_id = company
            .filter(|id| state.company(*id).is_some())
            .ok_or_else(|| HuduError::invalid("company", "must exist"))?;
    }
    for (key, slot) in [
        ("username", &mut entry.username),
        ("otp_secret", &mut entry.otp_secret),
        ("url", &mut entry.url),
        ("description", &mut entry.description),
        ("password_type", &mut entry.password_type),
    ] {
        if let Some(value) = text(record, key)? {
            *slot = value;
        }
    }
    if let Some(value) = text(record, "password")? {
        entry.password = value.unwrap_or_default();
    }
    if let Some(value) = boolean(record, "in_portal")? {
        entry.in_portal = value;
    }
    if let Some(value) = number(record, "password_folder_id")? {
        entry.password_folder_id = value;
    }
    let kind = text(record, "passwordable_type")?;
    let id = number(record, "passwordable_id")?;
    if kind.is_some() || id.is_some() {
        let kind = kind.unwrap_or_else(|| entry.passwordable.as_ref().map(|(k, _)| k.clone()));
        let id = id.unwrap_or_else(|| entry.passwordable.as_ref().map(|(_, id)| *id));
        entry.passwordable = match (kind, id) {
            (None, None) => None,
            // The simulator keeps assets only, so an attachment is to an asset of the company.
            (Some(kind), Some(id))
                if kind == "Asset"
                    && state
                        .assets
                        .get(&id)
                        .is_some_and(|a| a.company_id == entry.company_id) =>
            {
                Some((kind, id))
            }
            _ => return Err(HuduError::invalid("passwordable", "must exist")),
        };
    }
    Ok(())
}

pub(crate) async fn create_password(State(sim): State<HuduSim>, body: Bytes) -> ApiResult {
    let mut state = sim.state.lock();
    let record = record_body(&body, "asset_password")?;
    if number(&record, "company_id")?.flatten().is_none() {
        return Err(HuduError::invalid("company", "must exist"));
    }
    let now = Utc::now();
    let id = next_id(&state.passwords);
    let mut entry = SimPassword {
        id,
        company_id: 0,
        name: String::new(),
        slug: String::new(),
        username: None,
        password: String::new(),
        otp_secret: None,
        url: None,
        description: None,
        password_type: None,
        passwordable: None,
        in_portal: false,
        password_folder_id: None,
        archived: false,
        created_at: now,
        updated_at: now,
    };
    name(text(&record, "name")?.flatten())?;
    write_password(&state, &mut entry, &record)?;
    entry.slug = record_slug(&entry.name, id);
    let rendered = entry.render();
    state.passwords.insert(id, entry);
    Ok(one_with(StatusCode::CREATED, "asset_password", rendered))
}

pub(crate) async fn update_password(
    State(sim): State<HuduSim>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let mut state = sim.state.lock();
    let id = path_id(&id)
        .filter(|id| state.passwords.contains_key(id))
        .ok_or_else(HuduError::not_found)?;
    let record = record_body(&body, "asset_password")?;
    let mut entry = state.passwords[&id].clone();
    write_password(&state, &mut entry, &record)?;
    entry.updated_at = Utc::now();
    let rendered = entry.render();
    state.passwords.insert(id, entry);
    Ok(one("asset_password", rendered))
}

// ---------------------------------------------------------------------------------------------
// Articles

pub(crate) async fn list_articles(
    State(sim): State<HuduSim>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = Query::parse(raw);
    let origin = origin(&headers);
    let state = sim.state.lock();
    let articles = state.articles.values().filter(|a| {
        query.number_matches("company_id", a.company_id)
            && query.text_matches("name", Some(&a.name))
            && query.text_matches("slug", Some(&a.slug))
            && query.flag("draft").is_none_or(|draft| draft == a.draft)
            && query
                .flag("enable_sharing")
                .is_none_or(|shared| shared == a.enable_sharing)
            && query.search_matches([Some(a.name.as_str()), Some(a.content.as_str())])
    });
    list(
        "articles",
        &query,
        articles.map(|a| a.render(&origin)).collect::<Vec<_>>(),
    )
}

pub(crate) async fn get_article(
    State(sim): State<HuduSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let state = sim.state.lock();
    match path_id(&id).and_then(|id| state.articles.get(&id)) {
        Some(article) => one("article", article.render(&origin(&headers))),
        None => null_body(),
    }
}

/// Apply an article write to `article`; a company must exist (none makes it global).
fn write_article(
    state: &SimState,
    article: &mut SimArticle,
    record: &Map<String, Value>,
) -> Result<(), HuduError> {
    if let Some(value) = text(record, "name")? {
        article.name = name(value)?;
    }
    if let Some(value) = text(record, "content")? {
        article.content = value.unwrap_or_default();
    }
    if let Some(company) = number(record, "company_id")? {
        if company.is_some_and(|id| state.company(id).is_none()) {
            return Err(HuduError::invalid("company", "must exist"));
        }
        article.company_id = company;
    }
    if let Some(folder) = number(record, "folder_id")? {
        article.folder_id = folder;
    }
    if let Some(shared) = boolean(record, "enable_sharing")? {
        article.enable_sharing = shared;
    }
    if let Some(draft) = boolean(record, "draft")? {
        article.draft = draft;
    }
    Ok(())
}

/// `POST /articles` answers `200` (spec), the article wrapped as the other answers are.
pub(crate) async fn create_article(
    State(sim): State<HuduSim>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let mut state = sim.state.lock();
    let record = record_body(&body, "article")?;
    name(text(&record, "name")?.flatten())?;
    let now = Utc::now();
    let id = next_id(&state.articles);
    let mut article = SimArticle {
        id,
        name: String::new(),
        slug: String::new(),
        content: String::new(),
        company_id: None,
        folder_id: None,
        enable_sharing: false,
        draft: false,
        created_at: now,
        updated_at: now,
    };
    write_article(&state, &mut article, &record)?;
    article.slug = record_slug(&article.name, id);
    let rendered = article.render(&origin(&headers));
    state.articles.insert(id, article);
    Ok(one("article", rendered))
}

pub(crate) async fn update_article(
    State(sim): State<HuduSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let mut state = sim.state.lock();
    let id = path_id(&id)
        .filter(|id| state.articles.contains_key(id))
        .ok_or_else(HuduError::not_found)?;
    let record = record_body(&body, "article")?;
    let mut article = state.articles[&id].clone();
    write_article(&state, &mut article, &record)?;
    article.updated_at = Utc::now();
    let rendered = article.render(&origin(&headers));
    state.articles.insert(id, article);
    Ok(one("article", rendered))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        crate::world::World::builtin()
            .layout("Computer Assets")
            .expect("seeded")
            .clone()
    }

    #[test]
    fn write_keys_match_labels_in_snake_case_or_with_spaces() {
        let fields = custom_fields(
            &layout(),
            &json!([{"serial_number": "X1"}, {"Operating System": "Linux"}, {"model": ""}]),
        )
        .unwrap();
        let labels: Vec<_> = fields
            .iter()
            .map(|f| (f.label.as_str(), f.position))
            .collect();
        assert_eq!(labels, [("Serial Number", 1), ("Operating System", 4)]);
        let err = custom_fields(&layout(), &json!([{"colour": "red"}])).unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        let err = custom_fields(&layout(), &json!({"model": "X"})).unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn a_body_is_taken_wrapped_or_bare() {
        let wrapped = record_body(&Bytes::from(r#"{"asset":{"name":"A"}}"#), "asset").unwrap();
        let bare = record_body(&Bytes::from(r#"{"name":"A"}"#), "asset").unwrap();
        assert_eq!(wrapped, bare);
        for body in ["", "{}", r#"{"asset":{}}"#, "[1]"] {
            let err = record_body(&Bytes::from(body), "asset").unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST, "{body}");
        }
    }
}
