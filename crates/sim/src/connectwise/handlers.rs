//! The HTTP surface: authentication, version negotiation, listing (conditions, ordering,
//! projection, both paging styles) and the endpoint handlers.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use parking_lot::Mutex;
use serde_json::{Value, json};

use super::model::Renderer;
use super::query::{self, strip_nulls};
use super::state::{ApiError, ApiResult, State};
use super::{CURRENT_VERSION, SimConfig};
use crate::paging;
use crate::server::{basic_credentials, content_type, host, origin};

const DEFAULT_PAGE_SIZE: usize = 25;
const MAX_PAGE_SIZE: usize = 1000;

#[derive(Clone)]
pub(crate) struct App {
    pub(crate) state: Arc<Mutex<State>>,
    pub(crate) config: Arc<SimConfig>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        response
    }
}

pub(crate) fn router(app: App) -> Router {
    let api = Router::new()
        .route("/system/info", get(system_info))
        .route("/service/tickets", get(list_tickets).post(create_ticket))
        .route("/service/tickets/count", get(count_tickets))
        .route("/service/tickets/{id}", get(get_ticket).patch(patch_ticket))
        .route(
            "/service/tickets/{id}/attachChildren",
            post(attach_children),
        )
        .route(
            "/service/tickets/{id}/notes",
            get(list_notes).post(add_note),
        )
        .route("/service/boards", get(list_boards))
        .route("/service/boards/{id}", get(get_board))
        .route("/service/boards/{id}/statuses", get(list_statuses))
        .route("/company/companies", get(list_companies))
        .route("/company/companies/{id}", get(get_company))
        .route("/company/contacts", get(list_contacts).post(create_contact))
        .route(
            "/company/contacts/{id}",
            get(get_contact).patch(patch_contact),
        )
        .route("/company/communicationTypes", get(list_communication_types))
        .fallback(not_found)
        .route_layer(middleware::from_fn_with_state(app.clone(), authenticate))
        .with_state(app.clone());
    let base = format!("/{}apis/3.0", app.config.codebase);
    Router::new()
        .route("/login/companyinfo/{company}", get(company_info))
        .nest(&base, api)
        .with_state(app)
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        "The requested resource does not exist.",
    )
}

/// `GET /login/companyinfo/{companyId}`: unauthenticated codebase discovery.
async fn company_info(
    AxumState(app): AxumState<App>,
    Path(company): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !company.eq_ignore_ascii_case(&app.config.company_id) {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("Company '{company}' was not found."),
        )
        .into_response();
    }
    let host = host(&headers);
    axum::Json(json!({
        "CompanyName": "Stackhand Demo MSP",
        "Codebase": app.config.codebase,
        "VersionCode": format!("v{CURRENT_VERSION}"),
        "VersionNumber": "v4.6.2025.8.113",
        "CompanyID": app.config.company_id,
        "IsCloud": true,
        "SiteUrl": host,
        "AllowAzureAdLogin": false
    }))
    .into_response()
}

/// Parse `version=YYYY.N` out of the Accept header(s); an unsupported version is a 400.
fn requested_version(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let parse = |v: &str| -> Option<(u32, u32)> {
        let (year, minor) = v.split_once('.')?;
        Some((year.parse().ok()?, minor.parse().ok()?))
    };
    let current = parse(CURRENT_VERSION).expect("valid constant");
    let mut chosen = None;
    for accept in headers.get_all(header::ACCEPT) {
        let Some(accept) = accept.to_str().ok() else {
            continue;
        };
        let Some(position) = accept.find("version=") else {
            continue;
        };
        let version: String = accept[position + "version=".len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        match parse(&version) {
            Some(requested) if requested <= current && requested.0 >= 2016 => {
                chosen.get_or_insert(version);
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "The requested API version '{version}' is not supported; the current version is {CURRENT_VERSION}."
                )));
            }
        }
    }
    Ok(chosen)
}

/// Basic `company+public:private`, the `clientId` header and the Accept version.
async fn authenticate(AxumState(app): AxumState<App>, request: Request, next: Next) -> Response {
    let config = &app.config;
    let headers = request.headers();
    let expected_user = format!("{}+{}", config.company_id, config.public_key);
    let authorised = basic_credentials(headers).is_some_and(|(user, password)| {
        user.eq_ignore_ascii_case(&expected_user) && password == config.private_key
    });
    if !authorised {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "The company, public key or private key is not valid.",
        )
        .into_response();
    }
    match headers.get("clientid").and_then(|v| v.to_str().ok()) {
        Some(client) if client.eq_ignore_ascii_case(&config.client_id) => {}
        Some(_) => {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "The clientId is not recognised.",
            )
            .into_response();
        }
        None => {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "A clientId header is required. Register at developer.connectwise.com/ClientID.",
            )
            .into_response();
        }
    }
    let version = match requested_version(headers) {
        Ok(version) => version.unwrap_or_else(|| CURRENT_VERSION.to_string()),
        Err(err) => return err.into_response(),
    };
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        "api-current-version",
        HeaderValue::from_static(CURRENT_VERSION),
    );
    if response.status().is_success()
        && let Ok(value) = HeaderValue::from_str(&format!(
            "application/vnd.connectwise.com+json; version={version}"
        ))
    {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// Parse a JSON request body, insisting on a JSON content type as ConnectWise does.
fn json_body(headers: &HeaderMap, body: &Bytes) -> ApiResult<Value> {
    let content_type = content_type(headers);
    if !content_type.starts_with("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!("Content-Type '{content_type}' is not supported; send application/json."),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|err| ApiError::bad_request(format!("The request body is not valid JSON: {err}")))
}

fn parse_id(raw: &str) -> ApiResult<i64> {
    raw.parse()
        .map_err(|_| ApiError::bad_request(format!("'{raw}' is not a valid id.")))
}

fn api_base(app: &App, headers: &HeaderMap) -> String {
    format!("{}/{}apis/3.0", origin(headers), app.config.codebase)
}

/// The listing parameters of a GET collection request.
struct ListParams {
    pairs: Vec<(String, String)>,
}

impl ListParams {
    fn parse(raw: Option<&str>) -> ApiResult<Self> {
        let pairs = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|err| ApiError::bad_request(format!("Invalid query string: {err}")))?;
        Ok(Self { pairs })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    fn number(&self, name: &str) -> ApiResult<Option<usize>> {
        self.get(name)
            .map(|v| {
                v.trim().parse::<usize>().map_err(|_| {
                    ApiError::bad_request(format!("{name} must be a positive integer, got '{v}'."))
                })
            })
            .transpose()
    }

    /// The parameters with `replace` set in place of any of the same name, for paging links.
    fn with(&self, replace: &[(&str, String)]) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(k, _)| !replace.iter().any(|(r, _)| k.eq_ignore_ascii_case(r)))
            .cloned()
            .collect();
        pairs.extend(replace.iter().map(|(k, v)| ((*k).to_string(), v.clone())));
        pairs
    }
}

fn filter(rows: Vec<Value>, params: &ListParams) -> ApiResult<Vec<Value>> {
    let bad = |err: query::QueryError| ApiError::bad_request(err.0);
    let conditions = params
        .get("conditions")
        .map(query::parse)
        .transpose()
        .map_err(bad)?;
    let children = params
        .get("childConditions")
        .map(query::parse)
        .transpose()
        .map_err(bad)?;
    // None of the simulated entities carry custom fields, so any custom condition excludes all.
    let custom = params.get("customFieldConditions").is_some();
    let mut out = Vec::new();
    for row in rows {
        if let Some(expr) = &conditions
            && !expr.eval(&row).map_err(bad)?
        {
            continue;
        }
        if let Some(expr) = &children
            && !query::eval_child(expr, &row).map_err(bad)?
        {
            continue;
        }
        if !custom {
            out.push(row);
        }
    }
    Ok(out)
}

/// Filter, order, page and project `rows`, with the Link header ConnectWise sends.
fn list(
    rows: Vec<Value>,
    params: &ListParams,
    headers: &HeaderMap,
    url: &str,
) -> ApiResult<Response> {
    let mut rows = filter(rows, params)?;
    let page_size = params.number("pageSize")?.unwrap_or(DEFAULT_PAGE_SIZE);
    if page_size == 0 {
        return Err(ApiError::bad_request("pageSize must be at least 1."));
    }
    let page_size = page_size.min(MAX_PAGE_SIZE);
    let forward_only = headers
        .get("pagination-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("forward-only"));
    let (page, link) = if forward_only {
        // Forward-only pages walk the id order from the cursor; orderBy does not apply.
        query::sort(&mut rows, &[]).map_err(|e| ApiError::bad_request(e.0))?;
        let after = params.number("pageId")?.unwrap_or(0) as i64;
        let id = |row: &Value| row.get("id").and_then(Value::as_i64).unwrap_or(0);
        let page = paging::page(rows.into_iter().filter(|r| id(r) > after), 0, page_size);
        let next = page.more.then(|| {
            let last = page.items.last().map_or(0, id);
            paging::link(
                &paging::with_query(
                    url,
                    &params.with(&[
                        ("pageId", last.to_string()),
                        ("pageSize", page_size.to_string()),
                    ]),
                ),
                "next",
            )
        });
        (page.items, next)
    } else {
        let order = query::parse_order(params.get("orderBy").unwrap_or("id asc"))
            .map_err(|e| ApiError::bad_request(e.0))?;
        query::sort(&mut rows, &order).map_err(|e| ApiError::bad_request(e.0))?;
        let page_number = params.number("page")?.unwrap_or(1);
        if page_number == 0 {
            return Err(ApiError::bad_request("page must be at least 1."));
        }
        let last_page = rows.len().div_ceil(page_size).max(1);
        let page = paging::page(rows, (page_number - 1) * page_size, page_size);
        let link = |n: usize, rel: &str| {
            let pairs =
                params.with(&[("page", n.to_string()), ("pageSize", page_size.to_string())]);
            paging::link(&paging::with_query(url, &pairs), rel)
        };
        let mut links = Vec::new();
        if page_number > 1 {
            links.push(link(1, "first"));
            links.push(link(page_number - 1, "prev"));
        }
        if page_number < last_page {
            links.push(link(page_number + 1, "next"));
            links.push(link(last_page, "last"));
        }
        (page.items, (!links.is_empty()).then(|| links.join(", ")))
    };
    let body: Vec<Value> = page
        .into_iter()
        .map(|row| match params.get("fields") {
            Some(fields) => query::project(&row, fields),
            None => row,
        })
        .map(strip_nulls)
        .collect();
    let mut response = axum::Json(Value::Array(body)).into_response();
    if let Some(link) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

fn one(row: Value, params: &ListParams) -> Response {
    let row = match params.get("fields") {
        Some(fields) => query::project(&row, fields),
        None => row,
    };
    axum::Json(strip_nulls(row)).into_response()
}

fn created(row: Value) -> Response {
    (StatusCode::CREATED, axum::Json(strip_nulls(row))).into_response()
}

// ---- handlers -------------------------------------------------------------------------------

async fn system_info() -> Response {
    axum::Json(json!({
        "version": format!("v{CURRENT_VERSION}.113"),
        "isCloud": true,
        "serverTimeZone": "Eastern Standard Time",
        "licenseBits": [],
        "cloudRegion": "NA",
        "maxWorkFlowRecordsAllowed": 1000
    }))
    .into_response()
}

fn ticket_rows(app: &App, headers: &HeaderMap) -> Vec<Value> {
    let base = api_base(app, headers);
    let renderer = Renderer { base: &base };
    let state = app.state.lock();
    state
        .tickets
        .values()
        .map(|t| state.render_ticket(&renderer, t))
        .collect()
}

async fn list_tickets(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params = ListParams::parse(raw.as_deref())?;
    let url = format!("{}/service/tickets", api_base(&app, &headers));
    list(ticket_rows(&app, &headers), &params, &headers, &url)
}

async fn count_tickets(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params = ListParams::parse(raw.as_deref())?;
    let count = filter(ticket_rows(&app, &headers), &params)?.len();
    Ok(axum::Json(json!({"count": count})).into_response())
}

async fn get_ticket(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let params = ListParams::parse(raw.as_deref())?;
    let base = api_base(&app, &headers);
    let state = app.state.lock();
    let ticket = state
        .tickets
        .get(&id)
        .ok_or_else(|| ApiError::not_found("ticket", id))?;
    Ok(one(
        state.render_ticket(&Renderer { base: &base }, ticket),
        &params,
    ))
}

async fn create_ticket(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let body = json_body(&headers, &body)?;
    let base = api_base(&app, &headers);
    let mut state = app.state.lock();
    let id = state.create_ticket(&body)?;
    let ticket = state.tickets[&id].clone();
    Ok(created(
        state.render_ticket(&Renderer { base: &base }, &ticket),
    ))
}

async fn patch_ticket(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let body = json_body(&headers, &body)?;
    let base = api_base(&app, &headers);
    let mut state = app.state.lock();
    state.patch_ticket(id, &body)?;
    let ticket = state.tickets[&id].clone();
    Ok(axum::Json(strip_nulls(
        state.render_ticket(&Renderer { base: &base }, &ticket),
    ))
    .into_response())
}

/// `POST /service/tickets/{parentId}/attachChildren`: bundle tickets under a parent.
async fn attach_children(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let body = json_body(&headers, &body)?;
    app.state.lock().attach_children(id, &body)?;
    Ok(axum::Json(json!({"success": true})).into_response())
}

async fn list_notes(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let params = ListParams::parse(raw.as_deref())?;
    let base = api_base(&app, &headers);
    let rows: Vec<Value> = {
        let state = app.state.lock();
        if !state.tickets.contains_key(&id) {
            return Err(ApiError::not_found("ticket", id));
        }
        let renderer = Renderer { base: &base };
        state
            .notes
            .values()
            .filter(|n| n.ticket_id == id)
            .map(|n| state.render_note(&renderer, n))
            .collect()
    };
    list(
        rows,
        &params,
        &headers,
        &format!("{base}/service/tickets/{id}/notes"),
    )
}

async fn add_note(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let body = json_body(&headers, &body)?;
    let base = api_base(&app, &headers);
    let mut state = app.state.lock();
    let note_id = state.add_note(id, &body)?;
    let note = state.notes[&note_id].clone();
    Ok(created(state.render_note(&Renderer { base: &base }, &note)))
}

async fn list_boards(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params = ListParams::parse(raw.as_deref())?;
    let base = api_base(&app, &headers);
    let rows: Vec<Value> = {
        let state = app.state.lock();
        let renderer = Renderer { base: &base };
        state.boards.iter().map(|b| renderer.board(b)).collect()
    };
    list(rows, &params, &headers, &format!("{base}/service/boards"))
}

async fn get_board(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let params = ListParams::parse(raw.as_deref())?;
    let base = api_base(&app, &headers);
    let state = app.state.lock();
    let board = state
        .board(id)
        .ok_or_else(|| ApiError::not_found("board", id))?;
    Ok(one(Renderer { base: &base }.board(board), &params))
}

async fn list_statuses(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let params = ListParams::parse(raw.as_deref())?;
    let base = api_base(&app, &headers);
    let rows: Vec<Value> = {
        let state = app.state.lock();
        let board = state
            .board(id)
            .ok_or_else(|| ApiError::not_found("board", id))?
            .clone();
        let renderer = Renderer { base: &base };
        state
            .statuses
            .iter()
            .filter(|s| s.board_id == id)
            .map(|s| renderer.board_status(s, &board))
            .collect()
    };
    list(
        rows,
        &params,
        &headers,
        &format!("{base}/service/boards/{id}/statuses"),
    )
}

async fn list_companies(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params = ListParams::parse(raw.as_deref())?;
    let base = api_base(&app, &headers);
    let rows: Vec<Value> = {
        let state = app.state.lock();
        let renderer = Renderer { base: &base };
        state
            .companies
            .iter()
            .map(|c| renderer.company(c))
            .collect()
    };
    list(
        rows,
        &params,
        &headers,
        &format!("{base}/company/companies"),
    )
}

async fn get_company(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let params = ListParams::parse(raw.as_deref())?;
    let base = api_base(&app, &headers);
    let state = app.state.lock();
    let company = state
        .company(id)
        .ok_or_else(|| ApiError::not_found("company", id))?;
    Ok(one(Renderer { base: &base }.company(company), &params))
}

async fn list_contacts(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params = ListParams::parse(raw.as_deref())?;
    let base = api_base(&app, &headers);
    let rows: Vec<Value> = {
        let state = app.state.lock();
        let renderer = Renderer { base: &base };
        state
            .contacts
            .values()
            .map(|c| state.render_contact(&renderer, c))
            .collect()
    };
    list(rows, &params, &headers, &format!("{base}/company/contacts"))
}

async fn get_contact(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let params = ListParams::parse(raw.as_deref())?;
    let base = api_base(&app, &headers);
    let state = app.state.lock();
    let contact = state
        .contacts
        .get(&id)
        .ok_or_else(|| ApiError::not_found("contact", id))?;
    Ok(one(
        state.render_contact(&Renderer { base: &base }, contact),
        &params,
    ))
}

async fn create_contact(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let body = json_body(&headers, &body)?;
    let base = api_base(&app, &headers);
    let mut state = app.state.lock();
    let id = state.create_contact(&body)?;
    let contact = state.contacts[&id].clone();
    Ok(created(
        state.render_contact(&Renderer { base: &base }, &contact),
    ))
}

async fn patch_contact(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let body = json_body(&headers, &body)?;
    let base = api_base(&app, &headers);
    let mut state = app.state.lock();
    state.patch_contact(id, &body)?;
    let contact = state.contacts[&id].clone();
    Ok(axum::Json(strip_nulls(
        state.render_contact(&Renderer { base: &base }, &contact),
    ))
    .into_response())
}

async fn list_communication_types(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params = ListParams::parse(raw.as_deref())?;
    let base = api_base(&app, &headers);
    let rows: Vec<Value> = {
        let state = app.state.lock();
        let renderer = Renderer { base: &base };
        state
            .communication_types
            .iter()
            .map(|c| renderer.communication_type(c))
            .collect()
    };
    list(
        rows,
        &params,
        &headers,
        &format!("{base}/company/communicationTypes"),
    )
}
