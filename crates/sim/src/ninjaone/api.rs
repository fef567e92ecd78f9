//! `/v2` handlers, the guard in front of them (bearer token and scope), and NinjaOne's error
//! envelope.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::filter::DeviceFilter;
use super::library::{self, ApiPermission, CATEGORIES, CREDENTIAL_ROLES, LIBRARY, Runnable};
use super::model::{
    ActivityResult, RebootMode, RunStatus, ScriptOutcome, SimActivity, SimDevice, SimReboot,
    SimScriptRun, SimTag, epoch,
};
use super::{NinjaOneSim, State as SimState};
use crate::paging;
use crate::server::bearer_token;

// ---------------------------------------------------------------------------------------------
// Errors

/// An error in NinjaOne's envelope: `{"resultCode": "FAILURE", "errorMessage", "incidentId"}`.
#[derive(Debug)]
pub(crate) struct NinjaError {
    status: StatusCode,
    message: String,
}

impl NinjaError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    fn no_device(id: i64) -> Self {
        Self::not_found(format!("Device {id} not found"))
    }
}

impl IntoResponse for NinjaError {
    fn into_response(self) -> Response {
        let body = json!({
            "resultCode": "FAILURE",
            "errorMessage": self.message,
            "incidentId": uuid::Uuid::new_v4().to_string(),
        });
        (self.status, Json(body)).into_response()
    }
}

type ApiResult = Result<Response, NinjaError>;

/// Unknown path under `/v2`.
pub(crate) async fn unknown_endpoint(request: Request) -> Response {
    NinjaError::not_found(format!("No endpoint {}", request.uri().path())).into_response()
}

/// Known path, wrong method.
pub(crate) async fn method_not_allowed() -> Response {
    NinjaError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Request method not supported",
    )
    .into_response()
}

/// `204 No Content`: what NinjaOne's writes answer.
fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

// ---------------------------------------------------------------------------------------------
// Guard: a live bearer token with the scope the method needs.

/// Middleware in front of every `/v2` route: reads need `monitoring`, writes `management`.
pub(crate) async fn guard(
    State(sim): State<NinjaOneSim>,
    request: Request,
    next: Next,
) -> Response {
    let required = if request.method() == Method::GET {
        "monitoring"
    } else {
        "management"
    };
    let refused = {
        let state = sim.state.lock();
        match bearer_token(request.headers()).map(|t| state.tokens.check(t)) {
            None => Some(NinjaError::new(
                StatusCode::UNAUTHORIZED,
                "Missing access token",
            )),
            Some(Err(_)) => Some(NinjaError::new(
                StatusCode::UNAUTHORIZED,
                "Invalid or expired access token",
            )),
            Some(Ok(grant)) if !grant.scopes.iter().any(|s| s == required) => {
                Some(NinjaError::new(
                    StatusCode::FORBIDDEN,
                    format!("Access denied: the token lacks the '{required}' scope"),
                ))
            }
            Some(Ok(_)) => None,
        }
    };
    match refused {
        Some(error) => error.into_response(),
        None => next.run(request).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Request pieces

/// The query string's pairs.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: Option<String>) -> Result<Self, NinjaError> {
        serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
            .map(Self)
            .map_err(|_| NinjaError::bad_request("Malformed query string"))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn int(&self, name: &str) -> Result<Option<i64>, NinjaError> {
        self.get(name)
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| NinjaError::bad_request(format!("Invalid value for {name}: {v}")))
            })
            .transpose()
    }

    /// Parameters the vendor documents that the simulator does not apply: refused, so a test
    /// never reads a silently unfiltered answer.
    fn refuse(&self, names: &[&str]) -> Result<(), NinjaError> {
        match names.iter().find(|n| self.get(n).is_some()) {
            Some(name) => Err(NinjaError::bad_request(format!(
                "The simulator does not apply the '{name}' parameter"
            ))),
            None => Ok(()),
        }
    }

    /// The `df` device filter.
    fn device_filter(&self) -> Result<DeviceFilter, NinjaError> {
        DeviceFilter::parse(self.get("df").unwrap_or("")).map_err(NinjaError::bad_request)
    }

    /// `pageSize` (absent: every item) and `after` (the last id of the previous page).
    fn cursor(&self) -> Result<(Option<usize>, i64), NinjaError> {
        let size = match self.int("pageSize")? {
            Some(n) if n < 1 => {
                return Err(NinjaError::bad_request("pageSize must be at least 1"));
            }
            Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            None => None,
        };
        Ok((size, self.int("after")?.unwrap_or(0)))
    }
}

/// One page of `items` (ordered by id) after the cursor.
fn page_after<T>(
    items: impl IntoIterator<Item = T>,
    id: impl Fn(&T) -> i64,
    params: &Params,
) -> Result<Vec<T>, NinjaError> {
    let (size, after) = params.cursor()?;
    let rest = items.into_iter().filter(|item| id(item) > after);
    Ok(match size {
        Some(size) => paging::page(rest, 0, size).items,
        None => rest.collect(),
    })
}

/// An integer path id (`int32`, 1 or more).
fn path_id(raw: &str, what: &str) -> Result<i64, NinjaError> {
    raw.parse::<i32>()
        .ok()
        .filter(|n| *n > 0)
        .map(i64::from)
        .ok_or_else(|| NinjaError::bad_request(format!("Invalid {what} id: {raw}")))
}

/// A JSON body of type `T`.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, NinjaError> {
    serde_json::from_slice(bytes)
        .map_err(|e| NinjaError::bad_request(format!("Invalid request body: {e}")))
}

/// An optional JSON body of type `T` (an empty body is `T`'s default).
fn optional_body<T: DeserializeOwned + Default>(bytes: &Bytes) -> Result<T, NinjaError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    body(bytes)
}

// ---------------------------------------------------------------------------------------------
// Organisations and devices

/// `GET /v2/organizations`.
pub(crate) async fn organizations(
    State(sim): State<NinjaOneSim>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let params = Params::parse(raw)?;
    params.refuse(&["of"])?;
    let state = sim.state.lock();
    let page = page_after(state.organizations.iter(), |o| o.id, &params)?;
    Ok(Json(page.iter().map(|o| o.brief()).collect::<Vec<_>>()).into_response())
}

/// `GET /v2/organization/{id}`.
pub(crate) async fn organization(
    State(sim): State<NinjaOneSim>,
    Path(id): Path<String>,
) -> ApiResult {
    let id = path_id(&id, "organization")?;
    let state = sim.state.lock();
    let org = state
        .organization(id)
        .ok_or_else(|| NinjaError::not_found(format!("Organization {id} not found")))?;
    Ok(Json(org.detailed()).into_response())
}

/// `GET /v2/organization/{id}/devices`.
pub(crate) async fn organization_devices(
    State(sim): State<NinjaOneSim>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let id = path_id(&id, "organization")?;
    let params = Params::parse(raw)?;
    let state = sim.state.lock();
    if state.organization(id).is_none() {
        return Err(NinjaError::not_found(format!(
            "Organization {id} not found"
        )));
    }
    let devices = state.devices.iter().filter(|d| d.organization_id == id);
    let page = page_after(devices, |d| d.id, &params)?;
    Ok(Json(page.into_iter().map(|d| state.node(d)).collect::<Vec<_>>()).into_response())
}

/// The devices a list asks for: `df`, then the page.
fn listed<'s>(state: &'s SimState, params: &Params) -> Result<Vec<&'s SimDevice>, NinjaError> {
    let filter = params.device_filter()?;
    page_after(
        state.devices.iter().filter(|d| filter.matches(d)),
        |d| d.id,
        params,
    )
}

/// `GET /v2/devices`.
pub(crate) async fn devices(State(sim): State<NinjaOneSim>, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::parse(raw)?;
    let state = sim.state.lock();
    let devices = listed(&state, &params)?;
    Ok(Json(
        devices
            .into_iter()
            .map(|d| state.node(d))
            .collect::<Vec<_>>(),
    )
    .into_response())
}

/// `GET /v2/devices-detailed`.
pub(crate) async fn devices_detailed(
    State(sim): State<NinjaOneSim>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let params = Params::parse(raw)?;
    let state = sim.state.lock();
    let devices = listed(&state, &params)?;
    Ok(Json(
        devices
            .into_iter()
            .map(|d| state.detail(d))
            .collect::<Vec<_>>(),
    )
    .into_response())
}

/// The devices a search returns when `limit` is not given.
const SEARCH_DEFAULT_LIMIT: usize = 100;

/// How well `device` matches `query` (lower case): (score, attribute, value), best attribute
/// first. A logged-in user matches by the whole `DOMAIN\user` or by the user alone.
fn search_hit(device: &SimDevice, query: &str) -> Option<(i64, &'static str, String)> {
    let mut candidates = vec![
        ("systemName", device.system_name.as_str()),
        ("displayName", device.display_name.as_str()),
        ("dnsName", device.dns_name.as_str()),
    ];
    if let Some(user) = &device.last_logged_in_user {
        candidates.push(("lastLoggedInUser", user.as_str()));
    }
    candidates.push(("ipAddresses", device.ip_address.as_str()));
    let score = |value: &str| {
        let value = value.to_lowercase();
        let user = value.rsplit('\\').next().unwrap_or(&value).to_string();
        if value == query || user == query {
            100
        } else if value.starts_with(query) || user.starts_with(query) {
            75
        } else if value.contains(query) {
            50
        } else {
            0
        }
    };
    candidates
        .into_iter()
        .map(|(attr, value)| (score(value), attr, value.to_string()))
        .filter(|(score, _, _)| *score > 0)
        .reduce(|best, next| if next.0 > best.0 { next } else { best })
}

/// `GET /v2/devices/search?q=&limit=`: every organisation's devices.
pub(crate) async fn search(State(sim): State<NinjaOneSim>, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::parse(raw)?;
    let query = params.get("q").unwrap_or("").to_string();
    let limit = match params.int("limit")? {
        Some(n) if n < 1 => return Err(NinjaError::bad_request("limit must be at least 1")),
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        None => SEARCH_DEFAULT_LIMIT,
    };
    let needle = query.trim().to_lowercase();
    let state = sim.state.lock();
    let mut hits: Vec<_> = if needle.is_empty() {
        Vec::new()
    } else {
        state
            .devices
            .iter()
            .filter_map(|d| search_hit(d, &needle).map(|hit| (d, hit)))
            .collect()
    };
    // Best score first, then by id.
    hits.sort_by(|(a, hit_a), (b, hit_b)| hit_b.0.cmp(&hit_a.0).then(a.id.cmp(&b.id)));
    let devices: Vec<Value> = hits
        .into_iter()
        .take(limit)
        .map(|(device, (score, attr, value))| {
            let mut node = state.node(device);
            node["score"] = json!(score);
            node["matchAttr"] = json!(attr);
            node["matchAttrValue"] = json!(value);
            node
        })
        .collect();
    Ok(Json(json!({"query": query, "devices": devices})).into_response())
}

/// The device of a path id, or 404.
fn device_of<'s>(state: &'s SimState, raw: &str) -> Result<&'s SimDevice, NinjaError> {
    let id = path_id(raw, "device")?;
    state.device(id).ok_or_else(|| NinjaError::no_device(id))
}

/// `GET /v2/device/{id}`.
pub(crate) async fn device(State(sim): State<NinjaOneSim>, Path(id): Path<String>) -> ApiResult {
    let state = sim.state.lock();
    let device = device_of(&state, &id)?;
    Ok(Json(state.detail(device)).into_response())
}

/// `GET /v2/device/{id}/last-logged-on-user`.
pub(crate) async fn last_logged_on_user(
    State(sim): State<NinjaOneSim>,
    Path(id): Path<String>,
) -> ApiResult {
    let state = sim.state.lock();
    let device = device_of(&state, &id)?;
    let body = match &device.last_logged_in_user {
        Some(user) => json!({"userName": user, "logonTime": device.logon_time}),
        None => json!({}),
    };
    Ok(Json(body).into_response())
}

// ---------------------------------------------------------------------------------------------
// Custom fields

/// `GET /v2/device/{id}/custom-fields`: values by field name.
pub(crate) async fn custom_fields(
    State(sim): State<NinjaOneSim>,
    Path(id): Path<String>,
) -> ApiResult {
    let state = sim.state.lock();
    let device = device_of(&state, &id)?;
    Ok(Json(&device.fields).into_response())
}

/// `PATCH /v2/device/{id}/custom-fields`: every named field must exist and be writable through
/// the API, or nothing is written; `null` clears a field.
pub(crate) async fn update_custom_fields(
    State(sim): State<NinjaOneSim>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let values: Map<String, Value> = body(&bytes)?;
    let mut state = sim.state.lock();
    let device_id = device_of(&state, &id)?.id;
    for name in values.keys() {
        match state.field_permissions.get(name) {
            None => {
                return Err(NinjaError::bad_request(format!(
                    "Custom field '{name}' does not exist"
                )));
            }
            Some(ApiPermission::ReadOnly) => {
                return Err(NinjaError::bad_request(format!(
                    "Custom field '{name}' is not writable through the API"
                )));
            }
            Some(ApiPermission::ReadWrite) => {}
        }
    }
    let device = state
        .devices
        .iter_mut()
        .find(|d| d.id == device_id)
        .expect("found above");
    for (name, value) in values {
        if value.is_null() {
            device.fields.remove(&name);
        } else {
            device.fields.insert(name, value);
        }
    }
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// Asset tags

/// `GET /v2/tag`.
pub(crate) async fn tags(State(sim): State<NinjaOneSim>) -> ApiResult {
    let state = sim.state.lock();
    let tags: Vec<Value> = state
        .tags
        .iter()
        .map(|t| {
            let targets = state
                .devices
                .iter()
                .filter(|d| d.tag_ids.contains(&t.id))
                .count();
            t.listed(targets)
        })
        .collect();
    Ok(Json(json!({ "tags": tags })).into_response())
}

#[derive(Deserialize)]
struct CreateTag {
    name: Option<String>,
    description: Option<String>,
}

/// The longest tag name (`CreateItamTagRequest.name`) and description.
const TAG_NAME_MAX: usize = 40;
const TAG_DESCRIPTION_MAX: usize = 250;

/// `POST /v2/tag {"name", "description"}`.
pub(crate) async fn create_tag(State(sim): State<NinjaOneSim>, bytes: Bytes) -> ApiResult {
    let request: CreateTag = body(&bytes)?;
    let name = request.name.unwrap_or_default().trim().to_string();
    if name.is_empty() || name.chars().count() > TAG_NAME_MAX {
        return Err(NinjaError::bad_request(format!(
            "Tag name must be 1 to {TAG_NAME_MAX} characters"
        )));
    }
    if request
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > TAG_DESCRIPTION_MAX)
    {
        return Err(NinjaError::bad_request(format!(
            "Tag description must be at most {TAG_DESCRIPTION_MAX} characters"
        )));
    }
    let mut state = sim.state.lock();
    if state
        .tags
        .iter()
        .any(|t| t.name.eq_ignore_ascii_case(&name))
    {
        return Err(NinjaError::bad_request(format!(
            "Tag with name '{name}' already exists"
        )));
    }
    let tag = SimTag {
        id: state.tags.iter().map(|t| t.id).max().unwrap_or(0) + 1,
        name,
        description: request.description,
        created: epoch(chrono::Utc::now()),
    };
    let answer = tag.json();
    state.tags.push(tag);
    Ok(Json(answer).into_response())
}

/// Only devices carry asset tags through the public API.
fn device_asset_type(asset_type: &str) -> Result<(), NinjaError> {
    if asset_type == "device" {
        Ok(())
    } else {
        Err(NinjaError::bad_request(format!(
            "Unsupported asset type: {asset_type}"
        )))
    }
}

/// Every tag id names a tag of the account.
fn known_tags(state: &SimState, ids: &[i64]) -> Result<(), NinjaError> {
    match ids
        .iter()
        .find(|id| !state.tags.iter().any(|t| t.id == **id))
    {
        Some(id) => Err(NinjaError::bad_request(format!("Tag {id} not found"))),
        None => Ok(()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManageTags {
    #[serde(default)]
    asset_ids: Vec<i64>,
    #[serde(default)]
    tag_ids_to_add: Vec<i64>,
    #[serde(default)]
    tag_ids_to_remove: Vec<i64>,
}

/// `POST /v2/tag/device {"assetIds", "tagIdsToAdd", "tagIdsToRemove"}`: the other tags stay.
pub(crate) async fn manage_tags(
    State(sim): State<NinjaOneSim>,
    Path(asset_type): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    device_asset_type(&asset_type)?;
    let request: ManageTags = body(&bytes)?;
    if request.asset_ids.is_empty() {
        return Err(NinjaError::bad_request(
            "assetIds must name at least one asset",
        ));
    }
    if let Some(id) = request
        .tag_ids_to_add
        .iter()
        .find(|id| request.tag_ids_to_remove.contains(id))
    {
        return Err(NinjaError::bad_request(format!(
            "Tag {id} cannot be both added and removed"
        )));
    }
    let mut state = sim.state.lock();
    if let Some(id) = request
        .asset_ids
        .iter()
        .find(|id| state.device(**id).is_none())
    {
        return Err(NinjaError::bad_request(format!("Device {id} not found")));
    }
    known_tags(&state, &request.tag_ids_to_add)?;
    known_tags(&state, &request.tag_ids_to_remove)?;
    for device in state
        .devices
        .iter_mut()
        .filter(|d| request.asset_ids.contains(&d.id))
    {
        for id in &request.tag_ids_to_add {
            if !device.tag_ids.contains(id) {
                device.tag_ids.push(*id);
            }
        }
        device
            .tag_ids
            .retain(|id| !request.tag_ids_to_remove.contains(id));
    }
    Ok(no_content())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetTags {
    #[serde(default)]
    tag_ids: Vec<i64>,
}

/// `PUT /v2/tag/device/{id} {"tagIds"}`: the device's tags become exactly these.
pub(crate) async fn set_tags(
    State(sim): State<NinjaOneSim>,
    Path((asset_type, asset_id)): Path<(String, String)>,
    bytes: Bytes,
) -> ApiResult {
    device_asset_type(&asset_type)?;
    let request: SetTags = body(&bytes)?;
    let mut state = sim.state.lock();
    let id = device_of(&state, &asset_id)?.id;
    known_tags(&state, &request.tag_ids)?;
    let mut tag_ids: Vec<i64> = Vec::new();
    for id in request.tag_ids {
        if !tag_ids.contains(&id) {
            tag_ids.push(id);
        }
    }
    if let Some(device) = state.devices.iter_mut().find(|d| d.id == id) {
        device.tag_ids = tag_ids;
    }
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// Scripts

/// Spec `Script` of a library entry.
fn script_json(entry: &library::LibraryEntry) -> Value {
    let mut value = json!({
        "name": entry.name,
        "description": entry.description,
        "language": entry.language,
        "categoryId": entry.category,
    });
    match entry.runnable {
        Runnable::Script(id) => {
            value["type"] = json!("SCRIPT");
            value["id"] = json!(id);
        }
        Runnable::Action(uid) => {
            value["type"] = json!("ACTION");
            value["uid"] = json!(uid);
        }
    }
    value
}

/// `GET /v2/device/{id}/scripting/options`: what this device can run, and as whom.
pub(crate) async fn scripting_options(
    State(sim): State<NinjaOneSim>,
    Path(id): Path<String>,
) -> ApiResult {
    let state = sim.state.lock();
    let device = device_of(&state, &id)?;
    let entries: Vec<_> = LIBRARY
        .iter()
        .filter(|e| e.platform.fits(&device.node_class))
        .collect();
    let categories: Vec<Value> = CATEGORIES
        .iter()
        .filter(|(id, _, _)| entries.iter().any(|e| e.category == *id))
        .map(|(id, name, internal)| json!({"id": id, "name": name, "internal": internal}))
        .collect();
    Ok(Json(json!({
        "categories": categories,
        "scripts": entries.into_iter().map(script_json).collect::<Vec<_>>(),
        "credentials": {"roles": CREDENTIAL_ROLES, "credentials": []},
    }))
    .into_response())
}

/// `GET /v2/automation/scripts`: the library's scripts (not the built-in actions).
pub(crate) async fn automation_scripts() -> ApiResult {
    let scripts: Vec<Value> = LIBRARY
        .iter()
        .filter_map(|e| match e.runnable {
            Runnable::Script(id) => Some(json!({
                "id": id,
                "name": e.name,
                "description": e.description,
                "active": true,
                "language": e.language,
                "operatingSystems": e.platform.operating_systems(),
            })),
            Runnable::Action(_) => None,
        })
        .collect();
    Ok(Json(scripts).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunRequest {
    #[serde(rename = "type")]
    kind: Option<String>,
    id: Option<i64>,
    uid: Option<String>,
    parameters: Option<String>,
    run_as: Option<String>,
}

/// `POST /v2/device/{id}/script/run`: queue the run (`START_REQUESTED`); fire and forget.
pub(crate) async fn run_script(
    State(sim): State<NinjaOneSim>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let request: RunRequest = body(&bytes)?;
    let entry = match (request.kind.as_deref(), request.id, request.uid.as_deref()) {
        (Some("SCRIPT"), Some(id), _) => library::script(id)
            .ok_or_else(|| NinjaError::bad_request(format!("Script {id} not found")))?,
        (Some("ACTION"), _, Some(uid)) => library::action(uid)
            .ok_or_else(|| NinjaError::bad_request(format!("Action {uid} not found")))?,
        (Some("SCRIPT"), None, _) => return Err(NinjaError::bad_request("id is required")),
        (Some("ACTION"), _, None) => return Err(NinjaError::bad_request("uid is required")),
        (other, _, _) => {
            return Err(NinjaError::bad_request(format!(
                "type must be SCRIPT or ACTION, not {}",
                other.unwrap_or("missing")
            )));
        }
    };
    let run_as = request.run_as.unwrap_or_else(|| "system".into());
    if !CREDENTIAL_ROLES
        .iter()
        .any(|r| r.eq_ignore_ascii_case(&run_as))
    {
        return Err(NinjaError::bad_request(format!(
            "Unknown credential role or id: {run_as}"
        )));
    }
    let mut state = sim.state.lock();
    let device = device_of(&state, &id)?;
    let outcome = if entry.platform.fits(&device.node_class) {
        state
            .outcomes
            .get(&entry.runnable.key().to_ascii_lowercase())
            .cloned()
            .unwrap_or_else(|| library::default_outcome(entry, device))
    } else {
        ScriptOutcome {
            result: ActivityResult::Unsupported,
            message: None,
        }
    };
    let run = SimScriptRun {
        series_uid: uuid::Uuid::new_v4().to_string(),
        device_id: device.id,
        runnable: entry.runnable,
        name: entry.name.to_string(),
        parameters: request.parameters.filter(|p| !p.is_empty()),
        run_as,
        status: RunStatus::StartRequested,
        outcome,
    };
    let activity_id = state.take_activity_id();
    let activity = SimActivity::of_run(
        activity_id,
        epoch(chrono::Utc::now()),
        &run,
        RunStatus::StartRequested,
    );
    state.activities.push(activity);
    state.runs.push(run);
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// Reboots

/// Spec `RebootRequest`.
#[derive(Deserialize, Default)]
struct RebootRequest {
    reason: Option<String>,
}

/// `POST /v2/device/{id}/reboot/{mode}` with an optional `{"reason"}`: queue the command for
/// the device's agent (an offline device gets it when it reconnects) and log it.
pub(crate) async fn reboot(
    State(sim): State<NinjaOneSim>,
    Path((id, mode)): Path<(String, String)>,
    bytes: Bytes,
) -> ApiResult {
    let id = path_id(&id, "device")?;
    let mode = RebootMode::parse(&mode).ok_or_else(|| {
        NinjaError::bad_request(format!(
            "Invalid reboot mode: {mode} (expected NORMAL or FORCED)"
        ))
    })?;
    let request: RebootRequest = optional_body(&bytes)?;
    let mut state = sim.state.lock();
    if state.device(id).is_none() {
        return Err(NinjaError::no_device(id));
    }
    let reboot = SimReboot {
        series_uid: uuid::Uuid::new_v4().to_string(),
        device_id: id,
        mode,
        reason: request.reason.filter(|r| !r.trim().is_empty()),
        done: false,
    };
    let activity_id = state.take_activity_id();
    let activity = SimActivity::of_reboot(activity_id, epoch(chrono::Utc::now()), &reboot);
    state.activities.push(activity);
    state.reboots.push(reboot);
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// Alerts

fn alerts_json<'s>(
    state: &'s SimState,
    keep: impl Fn(&'s super::SimAlert, &'s SimDevice) -> bool,
) -> Vec<Value> {
    state
        .alerts
        .iter()
        .filter_map(|a| state.device(a.device_id).map(|d| (a, d)))
        .filter(|(a, d)| keep(a, d))
        .map(|(a, d)| a.json(state.node(d)))
        .collect()
}

/// `GET /v2/alerts` (`df`, `sourceType`).
pub(crate) async fn alerts(State(sim): State<NinjaOneSim>, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::parse(raw)?;
    let filter = params.device_filter()?;
    let source = params.get("sourceType").map(str::to_string);
    let state = sim.state.lock();
    let alerts = alerts_json(&state, |alert, device| {
        filter.matches(device)
            && source
                .as_deref()
                .is_none_or(|s| alert.source_type == Some(s))
    });
    Ok(Json(alerts).into_response())
}

/// `GET /v2/device/{id}/alerts`.
pub(crate) async fn device_alerts(
    State(sim): State<NinjaOneSim>,
    Path(id): Path<String>,
) -> ApiResult {
    let state = sim.state.lock();
    let device_id = device_of(&state, &id)?.id;
    Ok(Json(alerts_json(&state, |alert, _| alert.device_id == device_id)).into_response())
}

/// `POST /v2/alert/{uid}/reset`: close the alert, logging a `RESET` condition activity that
/// carries the body as its data.
pub(crate) async fn reset_alert(
    State(sim): State<NinjaOneSim>,
    Path(uid): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    if uuid::Uuid::parse_str(&uid).is_err() {
        return Err(NinjaError::bad_request(format!("Invalid alert uid: {uid}")));
    }
    let data: Map<String, Value> = optional_body(&bytes)?;
    let mut state = sim.state.lock();
    let index = state
        .alerts
        .iter()
        .position(|a| a.uid.eq_ignore_ascii_case(&uid))
        .ok_or_else(|| NinjaError::not_found(format!("Alert {uid} not found")))?;
    let alert = state.alerts.remove(index);
    let id = state.take_activity_id();
    let mut activity = SimActivity::of_alert(id, epoch(chrono::Utc::now()), &alert, "RESET");
    activity.data = data;
    state.activities.push(activity);
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// Activities

/// `pageSize` bounds and default of `GET /v2/activities`.
const ACTIVITY_PAGE: (i64, i64, i64) = (10, 1000, 200);

/// `GET /v2/activities`: newest first. Reading the log moves runs on a step (see the module
/// documentation). `newerThan` keeps ids above it and `olderThan` ids below it, as NinjaOne's
/// client code uses them (the document's descriptions of the two are swapped).
pub(crate) async fn activities(
    State(sim): State<NinjaOneSim>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let params = Params::parse(raw)?;
    params.refuse(&["before", "after", "user", "sourceConfigUid"])?;
    let (min, max, default) = ACTIVITY_PAGE;
    let size = params.int("pageSize")?.unwrap_or(default);
    if !(min..=max).contains(&size) {
        return Err(NinjaError::bad_request(format!(
            "pageSize must be between {min} and {max}"
        )));
    }
    let device_class = match params.get("class").unwrap_or("ALL") {
        "ALL" | "DEVICE" => true,
        "SYSTEM" | "USER" => false,
        other => return Err(NinjaError::bad_request(format!("Invalid class: {other}"))),
    };
    let filter = params.device_filter()?;
    let newer = params.int("newerThan")?;
    let older = params.int("olderThan")?;
    let kind = params.get("type");
    let statuses: Option<Vec<&str>> = params.get("status").map(|s| s.split(',').collect());
    let series = params.get("seriesUid");
    let mut state = sim.state.lock();
    state.advance();
    let state = &*state;
    let keep = |a: &&SimActivity| {
        device_class
            && newer.is_none_or(|n| a.id > n)
            && older.is_none_or(|n| a.id < n)
            && kind.is_none_or(|k| a.activity_type == k)
            && statuses
                .as_ref()
                .is_none_or(|s| s.iter().any(|code| code.trim() == a.status_code))
            && series.is_none_or(|uid| a.series_uid.eq_ignore_ascii_case(uid))
            && state.device(a.device_id).is_some_and(|d| filter.matches(d))
    };
    let activities: Vec<Value> = state
        .activities
        .iter()
        .rev()
        .filter(keep)
        .take(usize::try_from(size).unwrap_or(usize::MAX))
        .map(SimActivity::json)
        .collect();
    let last = state.activities.iter().map(|a| a.id).max();
    let mut answer = json!({ "activities": activities });
    if let Some(last) = last {
        answer["lastActivityId"] = json!(last);
    }
    Ok(Json(answer).into_response())
}
