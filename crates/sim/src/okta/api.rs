//! `/api/v1` handlers, the guard in front of them (rate limit, authentication, scopes), and
//! Okta's error envelope.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Map, Value, json};

use super::expr::{self, Op};
use super::model::{GroupType, ProviderType, SimUser, UserStatus, new_id};
use super::{OktaSim, State as SimState};
use crate::paging;

// ---------------------------------------------------------------------------------------------
// Errors

/// An error in Okta's envelope (spec schema `Error`).
#[derive(Debug)]
pub(crate) struct OktaError {
    status: StatusCode,
    code: &'static str,
    summary: String,
    causes: Vec<String>,
}

impl OktaError {
    pub(crate) fn new(status: StatusCode, code: &'static str, summary: impl Into<String>) -> Self {
        Self {
            status,
            code,
            summary: summary.into(),
            causes: Vec::new(),
        }
    }

    fn cause(mut self, cause: impl Into<String>) -> Self {
        self.causes.push(cause.into());
        self
    }

    /// `E0000007`, 404.
    fn not_found(id: &str, kind: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "E0000007",
            format!("Not found: Resource not found: {id} ({kind})"),
        )
    }

    /// `E0000001`, 400: a precondition or a field failed validation.
    fn validation(what: &str, causes: Vec<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "E0000001",
            summary: format!("Api validation failed: {what}"),
            causes,
        }
    }

    /// `E0000038`, 403: the operation does not fit the user's status or provider.
    fn wrong_status(cause: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "E0000038",
            "This operation is not allowed in the user's current status.",
        )
        .cause(cause)
    }

    /// `E0000006`, 403.
    pub(crate) fn access_denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "E0000006",
            "You do not have permission to perform the requested action",
        )
    }

    /// `E0000011`, 401.
    fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        )
    }

    /// `E0000047`, 429.
    fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        )
    }

    /// `E0000003`, 400.
    fn malformed_body(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000003",
            "The request body was not well-formed.",
        )
        .cause(detail)
    }

    /// `E0000031`, 400.
    fn bad_search(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000031",
            "Invalid search criteria.",
        )
        .cause(detail)
    }
}

impl IntoResponse for OktaError {
    fn into_response(self) -> Response {
        let body = json!({
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": new_id("oae"),
            "errorCauses": self.causes.iter().map(|c| json!({"errorSummary": c})).collect::<Vec<_>>(),
        });
        (self.status, axum::Json(body)).into_response()
    }
}

type ApiResult = Result<Response, OktaError>;

/// Unknown path under `/api/v1`.
pub(crate) async fn unknown_endpoint(request: Request) -> Response {
    OktaError::not_found(request.uri().path(), "Endpoint").into_response()
}

/// Known path, wrong method.
pub(crate) async fn method_not_allowed() -> Response {
    OktaError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "E0000022",
        "The endpoint does not support the provided HTTP method",
    )
    .into_response()
}

// ---------------------------------------------------------------------------------------------
// Guard: rate limit, then authentication and scopes; rate headers on every response.

/// The scope an API call needs, after the spec's `security` entries.
fn required_scope(method: &Method, path: &str) -> &'static str {
    let read = *method == Method::GET;
    // Role assignments (a user's or a group's) need okta.roles.read, even under /groups.
    if path.ends_with("/roles") {
        return "okta.roles.read";
    }
    if path.starts_with("/api/v1/groups") {
        return if read {
            "okta.groups.read"
        } else {
            "okta.groups.manage"
        };
    }
    if read {
        "okta.users.read"
    } else {
        "okta.users.manage"
    }
}

fn scope_granted(granted: &[String], required: &str) -> bool {
    let manage = required.replace(".read", ".manage");
    granted.iter().any(|s| s == required || *s == manage)
}

/// Middleware in front of every `/api/v1` route.
pub(crate) async fn guard(State(sim): State<OktaSim>, request: Request, next: Next) -> Response {
    let (limit, remaining, reset, throttled) = {
        let mut state = sim.state.lock();
        let now = Instant::now();
        if state.window.ends.is_none_or(|ends| now >= ends) {
            let window = sim.config.rate_window;
            state.window.ends = Some(now + window);
            // Okta sends the reset as UTC epoch seconds; round up so waiting until then is enough.
            let end = Utc::now() + chrono::Duration::from_std(window).unwrap_or_default();
            state.window.reset_epoch =
                end.timestamp() + i64::from(end.timestamp_subsec_nanos() > 0);
            state.window.used = 0;
        }
        let limit = sim.config.rate_limit;
        state.injected.seen += 1;
        let injected =
            state.injected.every > 0 && state.injected.seen.is_multiple_of(state.injected.every);
        let throttled = if injected {
            true
        } else if state.forced_throttles > 0 {
            state.forced_throttles -= 1;
            true
        } else if state.window.used >= limit {
            true
        } else {
            state.window.used += 1;
            false
        };
        let remaining = if throttled {
            0
        } else {
            limit - state.window.used
        };
        // An injected fault asks for its own wait, like Faults' Retry-After.
        let reset = if injected {
            Utc::now().timestamp() + i64::try_from(state.injected.reset_secs).unwrap_or(1)
        } else {
            state.window.reset_epoch
        };
        (limit, remaining, reset, throttled)
    };
    let mut response = if throttled {
        OktaError::rate_limited().into_response()
    } else {
        match authorize(
            &sim,
            request.headers(),
            request.method(),
            request.uri().path(),
        ) {
            Ok(()) => next.run(request).await,
            Err(response) => *response,
        }
    };
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-okta-request-id", new_id("req")),
        ("x-rate-limit-limit", limit.to_string()),
        ("x-rate-limit-remaining", remaining.to_string()),
        ("x-rate-limit-reset", reset.to_string()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

fn authorize(
    sim: &OktaSim,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
) -> Result<(), Box<Response>> {
    let value = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Some(token) = value.strip_prefix("SSWS ") {
        return if sim.config.api_tokens.iter().any(|t| t == token.trim()) {
            Ok(())
        } else {
            Err(Box::new(OktaError::invalid_token().into_response()))
        };
    }
    let Some(token) = crate::server::bearer_token(headers) else {
        return Err(Box::new(OktaError::invalid_token().into_response()));
    };
    let scopes = {
        let state = sim.state.lock();
        match state.tokens.check(token.trim()) {
            Ok(grant) => grant.scopes.clone(),
            Err(_) => {
                let mut response = OktaError::invalid_token().into_response();
                response.headers_mut().insert(
                    "www-authenticate",
                    HeaderValue::from_static(
                        "Bearer realm=\"IdpMyAccountAPI\", error=\"invalid_token\", error_description=\"The access token is invalid.\"",
                    ),
                );
                return Err(Box::new(response));
            }
        }
    };
    let required = required_scope(method, path);
    if scope_granted(&scopes, required) {
        Ok(())
    } else {
        let mut response = OktaError::access_denied().into_response();
        if let Ok(value) = HeaderValue::from_str(&format!(
            "Bearer realm=\"IdpMyAccountAPI\", error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\", scope=\"{required}\""
        )) {
            response.headers_mut().insert("www-authenticate", value);
        }
        Err(Box::new(response))
    }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// The org URL for links: configured, or the request's own host.
fn org(sim: &OktaSim, headers: &HeaderMap) -> String {
    if let Some(url) = &sim.config.org_url {
        return url.trim_end_matches('/').to_string();
    }
    crate::server::origin(headers)
}

pub(crate) fn org_url(sim: &OktaSim, headers: &HeaderMap) -> String {
    org(sim, headers)
}

struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: Option<String>) -> Result<Self, OktaError> {
        let raw = raw.unwrap_or_default();
        serde_urlencoded::from_str(&raw).map(Params).map_err(|_| {
            OktaError::validation("query", vec!["The query string is not valid.".into()])
        })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, name: &str, default: bool) -> Result<bool, OktaError> {
        match self.get(name) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(OktaError::validation(
                name,
                vec![format!("{name}: '{other}' is not a valid boolean")],
            )),
        }
    }

    fn limit(&self, default: usize, max: usize) -> Result<usize, OktaError> {
        match self.get("limit") {
            None => Ok(default),
            Some(text) => match text.parse::<usize>() {
                Ok(0) | Err(_) => Err(OktaError::validation(
                    "limit",
                    vec![format!("limit: '{text}' is not a positive integer")],
                )),
                Ok(n) => Ok(n.min(max)),
            },
        }
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// `200` with an empty body, as the lifecycle operations without output answer.
fn empty_ok() -> Response {
    StatusCode::OK.into_response()
}

fn parse_body(body: &Bytes) -> Result<Value, OktaError> {
    if body.is_empty() {
        return Err(OktaError::malformed_body("The request body is empty."));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| OktaError::malformed_body(format!("Invalid JSON: {err}")))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(OktaError::malformed_body(
            "The request body must be a JSON object.",
        ))
    }
}

fn user_index(state: &SimState, id: &str) -> Result<usize, OktaError> {
    state
        .user_index(id)
        .ok_or_else(|| OktaError::not_found(id, "User"))
}

/// `{userId}` paths take an id only (spec `pathUserId`).
fn user_index_by_id(state: &SimState, id: &str) -> Result<usize, OktaError> {
    state
        .users
        .iter()
        .position(|u| u.id == id)
        .ok_or_else(|| OktaError::not_found(id, "User"))
}

fn group_index_by_id(state: &SimState, id: &str) -> Result<usize, OktaError> {
    state
        .groups
        .iter()
        .position(|g| g.id == id)
        .ok_or_else(|| OktaError::not_found(id, "UserGroup"))
}

fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A temporary password like Okta's (`F46gy7X4`): eight characters with an upper-case letter,
/// a lower-case letter and a digit, from the thread CSPRNG.
fn temporary_password() -> String {
    loop {
        let candidate = random_token(8);
        let ok = candidate.chars().any(|c| c.is_ascii_uppercase())
            && candidate.chars().any(|c| c.is_ascii_lowercase())
            && candidate.chars().any(|c| c.is_ascii_digit());
        if ok {
            return candidate;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Paging

/// What Okta's `after` cursors hold once decoded, before the id of the last item sent.
const CURSOR_PREFIX: &str = "cursor:";

/// One page of `items` (id, JSON) after `params`' cursor, with RFC 8288 `Link` headers.
fn paged(
    items: Vec<(String, Value)>,
    params: &Params,
    limit: usize,
    base: &str,
    pageable: bool,
) -> ApiResult {
    let start = match params.get("after") {
        Some(cursor) if pageable => {
            let invalid =
                || OktaError::validation("after", vec!["after: The cursor is not valid.".into()]);
            let id = paging::decode_cursor(CURSOR_PREFIX, cursor).ok_or_else(invalid)?;
            items
                .iter()
                .position(|(item_id, _)| *item_id == id)
                .map(|i| i + 1)
                .ok_or_else(invalid)?
        }
        _ => 0,
    };
    let page = paging::page(items, start, limit);
    let last_id = page.items.last().map(|(id, _)| id.clone());
    let body: Vec<Value> = page.items.into_iter().map(|(_, v)| v).collect();
    let mut response = json_response(StatusCode::OK, Value::Array(body));
    let headers = response.headers_mut();
    let mut links = vec![paging::link(&paging::with_query(base, &params.0), "self")];
    if pageable
        && page.more
        && let Some(last_id) = last_id
    {
        let mut next: Vec<(String, String)> = params
            .0
            .iter()
            .filter(|(k, _)| k != "after" && k != "limit")
            .cloned()
            .collect();
        next.push((
            "after".into(),
            paging::encode_cursor(CURSOR_PREFIX, &last_id),
        ));
        next.push(("limit".into(), limit.to_string()));
        links.push(paging::link(&paging::with_query(base, &next), "next"));
    }
    for link in links {
        if let Ok(value) = HeaderValue::from_str(&link) {
            headers.append("link", value);
        }
    }
    Ok(response)
}

/// Apply `search` (case-insensitive) or `filter` (case-sensitive, restricted properties).
fn select(
    items: Vec<(String, Value)>,
    params: &Params,
    filter_allows: &dyn Fn(&str, Op) -> bool,
    search_co_allows: &[&str],
) -> Result<Vec<(String, Value)>, OktaError> {
    if let Some(search) = params.get("search") {
        let expr = expr::parse(search).map_err(OktaError::bad_search)?;
        for (path, op) in expr.comparisons() {
            if op == Op::Co && !search_co_allows.contains(&path) {
                return Err(OktaError::bad_search(format!(
                    "The `co` operator is not supported for `{path}`."
                )));
            }
        }
        let mut found: Vec<(String, Value)> = items
            .into_iter()
            .filter(|(_, v)| expr.matches(v, false))
            .collect();
        if let Some(sort_by) = params.get("sortBy") {
            let key = |v: &Value| {
                expr::lookup(v, sort_by)
                    .map(|x| x.to_string().to_lowercase())
                    .unwrap_or_default()
            };
            found.sort_by(|(a_id, a), (b_id, b)| key(a).cmp(&key(b)).then(a_id.cmp(b_id)));
            if params.get("sortOrder") == Some("desc") {
                found.reverse();
            }
        }
        return Ok(found);
    }
    if let Some(filter) = params.get("filter") {
        let expr = expr::parse(filter).map_err(OktaError::bad_search)?;
        for (path, op) in expr.comparisons() {
            if !filter_allows(path, op) {
                return Err(OktaError::bad_search(format!(
                    "Filtering on `{path}` with this operator is not supported."
                )));
            }
        }
        return Ok(items
            .into_iter()
            .filter(|(_, v)| expr.matches(v, true))
            .collect());
    }
    Ok(items)
}

// ---------------------------------------------------------------------------------------------
// Users

const USERS_PATH: &str = "/api/v1/users";

/// `GET /api/v1/users`.
pub(crate) async fn list_users(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let params = Params::parse(raw)?;
    let org = org(&sim, &headers);
    let all: Vec<(SimUser, Value)> = {
        let state = sim.state.lock();
        state
            .users
            .iter()
            .map(|u| (u.clone(), u.render(&org, false)))
            .collect()
    };
    let base = format!("{org}{USERS_PATH}");
    if let Some(q) = params.get("q") {
        let q = q.to_lowercase();
        let limit = params.limit(10, 200)?;
        let found = all
            .into_iter()
            .filter(|(u, _)| u.status != UserStatus::Deprovisioned)
            .filter(|(u, _)| {
                ["firstName", "lastName", "email"].iter().any(|key| {
                    u.profile_str(key)
                        .is_some_and(|v| v.to_lowercase().starts_with(&q))
                })
            })
            .map(|(u, v)| (u.id, v))
            .collect();
        // `q` does not page (spec): only `limit` applies.
        return paged(found, &params, limit, &base, false);
    }
    let limit = params.limit(200, 200)?;
    let lookup = params.get("search").is_some() || params.get("filter").is_some();
    let items: Vec<(String, Value)> = all
        .into_iter()
        // Listing without search or filter omits deprovisioned users (spec).
        .filter(|(u, _)| lookup || u.status != UserStatus::Deprovisioned)
        .map(|(u, v)| (u.id, v))
        .collect();
    let filter_allows = |path: &str, op: Op| match path {
        "lastUpdated" => matches!(op, Op::Eq | Op::Gt | Op::Ge | Op::Lt | Op::Le),
        "status" | "id" | "profile.login" | "profile.email" | "profile.firstName"
        | "profile.lastName" => op == Op::Eq,
        _ => false,
    };
    let co = [
        "profile.firstName",
        "profile.lastName",
        "profile.email",
        "profile.login",
    ];
    let found = select(items, &params, &filter_allows, &co)?;
    paged(found, &params, limit, &base, true)
}

/// `GET /api/v1/users/{id}`.
pub(crate) async fn get_user(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let org = org(&sim, &headers);
    let state = sim.state.lock();
    let i = user_index(&state, &id)?;
    Ok(json_response(
        StatusCode::OK,
        state.users[i].render(&org, true),
    ))
}

/// The profile properties of the default user schema (spec `UserProfile`).
const PROFILE_PROPERTIES: &[&str] = &[
    "city",
    "costCenter",
    "countryCode",
    "department",
    "displayName",
    "division",
    "email",
    "employeeNumber",
    "firstName",
    "honorificPrefix",
    "honorificSuffix",
    "lastName",
    "locale",
    "login",
    "manager",
    "managerId",
    "middleName",
    "mobilePhone",
    "nickName",
    "organization",
    "postalAddress",
    "preferredLanguage",
    "primaryPhone",
    "profileUrl",
    "secondEmail",
    "state",
    "streetAddress",
    "timezone",
    "title",
    "userType",
    "zipCode",
];

fn looks_like_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}

/// Check a profile (whole, for create; the changed part, for update). Returns the causes.
fn profile_problems(
    state: &SimState,
    profile: &Map<String, Value>,
    creating: bool,
    self_id: Option<&str>,
) -> Vec<String> {
    let mut causes = Vec::new();
    for key in profile.keys() {
        if !PROFILE_PROPERTIES.contains(&key.as_str()) {
            causes.push(format!(
                "{key}: Property name '{key}' is not defined in profile"
            ));
        }
    }
    let text = |key: &str| profile.get(key).and_then(Value::as_str).map(str::trim);
    if creating {
        for key in ["login", "email", "firstName", "lastName"] {
            if text(key).is_none_or(str::is_empty) {
                causes.push(format!("{key}: The field cannot be left blank"));
            }
        }
    }
    if let Some(login) = text("login").filter(|l| !l.is_empty()) {
        if !looks_like_email(login) {
            causes.push("login: Username must be in the form of an email address".into());
        } else if state
            .users
            .iter()
            .any(|u| Some(u.id.as_str()) != self_id && u.login().eq_ignore_ascii_case(login))
        {
            causes.push(
                "login: An object with this field already exists in the current organization"
                    .into(),
            );
        }
    }
    for key in ["email", "secondEmail"] {
        if let Some(value) = text(key).filter(|v| !v.is_empty())
            && !looks_like_email(value)
        {
            causes.push(format!("{key}: Does not match required pattern"));
        }
    }
    causes
}

/// The org's password policy: at least 8 characters, a lower-case and an upper-case letter, a
/// number, and no part of the login.
fn password_problem(password: &str, login: &str) -> Option<String> {
    let local = login.split('@').next().unwrap_or(login).to_lowercase();
    let ok = password.chars().count() >= 8
        && password.chars().any(|c| c.is_ascii_lowercase())
        && password.chars().any(|c| c.is_ascii_uppercase())
        && password.chars().any(|c| c.is_ascii_digit())
        && !local
            .split(['.', '_', '-'])
            .filter(|part| part.len() >= 3)
            .any(|part| password.to_lowercase().contains(part));
    (!ok).then(|| {
        "password: Password requirements were not met. Password requirements: at least 8 characters, a lowercase letter, an uppercase letter, a number, no parts of your username.".to_string()
    })
}

fn password_value(body: &Value) -> Result<Option<String>, OktaError> {
    match body.pointer("/credentials/password") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(password)) => match password.get("value") {
            None => Ok(None),
            Some(Value::String(value)) => Ok(Some(value.clone())),
            Some(_) => Err(OktaError::malformed_body(
                "credentials.password.value must be a string.",
            )),
        },
        Some(_) => Err(OktaError::malformed_body(
            "credentials.password must be an object.",
        )),
    }
}

/// `POST /api/v1/users?activate=&nextLogin=` (create).
pub(crate) async fn create_user(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult {
    let params = Params::parse(raw)?;
    let activate = params.flag("activate", true)?;
    let next_login = params.get("nextLogin");
    if let Some(other) = next_login.filter(|v| *v != "changePassword") {
        return Err(OktaError::validation(
            "nextLogin",
            vec![format!("nextLogin: '{other}' is not a valid value")],
        ));
    }
    let body = parse_body(&body)?;
    let Some(profile) = body.get("profile").and_then(Value::as_object).cloned() else {
        return Err(OktaError::validation(
            "profile",
            vec!["profile: The field cannot be left blank".into()],
        ));
    };
    let password = password_value(&body)?;
    let group_ids: Vec<String> = match body.get("groupIds") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(ids)) => ids
            .iter()
            .map(|id| id.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| OktaError::malformed_body("groupIds must be an array of strings."))?,
        Some(_) => {
            return Err(OktaError::malformed_body(
                "groupIds must be an array of strings.",
            ));
        }
    };
    if next_login.is_some() && !activate {
        return Err(OktaError::validation(
            "nextLogin",
            vec!["nextLogin: The 'nextLogin' parameter requires 'activate=true'.".into()],
        ));
    }
    if next_login.is_some() && password.is_none() {
        return Err(OktaError::validation(
            "password",
            vec!["password: Expiring a password requires a password to be set.".into()],
        ));
    }

    let org = org(&sim, &headers);
    let mut state = sim.state.lock();
    let mut causes = profile_problems(&state, &profile, true, None);
    let login = profile
        .get("login")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Some(password) = &password
        && let Some(problem) = password_problem(password, &login)
    {
        causes.push(problem);
    }
    if let Some(first) = causes.first() {
        let field = first.split(':').next().unwrap_or("profile").to_string();
        return Err(OktaError::validation(&field, causes));
    }
    let mut group_indexes = Vec::new();
    for id in &group_ids {
        let g = group_index_by_id(&state, id)?;
        if state.groups[g].group_type != GroupType::OktaGroup {
            return Err(OktaError::access_denied().cause(format!(
                "Group {id} is not an OKTA_GROUP; its membership is managed by its source."
            )));
        }
        group_indexes.push(g);
    }

    let now = Utc::now();
    let status = match (activate, password.is_some(), next_login.is_some()) {
        (false, _, _) => UserStatus::Staged,
        (true, false, _) => UserStatus::Provisioned,
        (true, true, false) => UserStatus::Active,
        (true, true, true) => UserStatus::PasswordExpired,
    };
    let mut profile = profile;
    if !profile.contains_key("displayName") {
        let name = format!(
            "{} {}",
            profile
                .get("firstName")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            profile
                .get("lastName")
                .and_then(Value::as_str)
                .unwrap_or_default()
        );
        profile.insert("displayName".into(), Value::String(name.trim().to_string()));
    }
    let user = SimUser {
        id: new_id("00u"),
        status,
        profile,
        provider: ProviderType::Okta,
        provider_name: "OKTA".into(),
        password_changed: password.as_ref().map(|_| now),
        password,
        factors: Vec::new(),
        roles: Vec::new(),
        sessions: 0,
        oauth_tokens: 0,
        remembered_devices: 0,
        reset_token: None,
        created: now,
        activated: (status != UserStatus::Staged && status != UserStatus::Provisioned)
            .then_some(now),
        status_changed: (status != UserStatus::Staged).then_some(now),
        last_login: None,
        last_updated: now,
    };
    let id = user.id.clone();
    let rendered = user.render(&org, true);
    state.users.push(user);
    for g in group_indexes {
        state.groups[g].members.push(id.clone());
        state.groups[g].last_membership_updated = now;
    }
    let everyone = state
        .groups
        .iter()
        .position(|g| g.group_type == GroupType::BuiltIn);
    if let Some(g) = everyone {
        state.groups[g].members.push(id);
    }
    Ok(json_response(StatusCode::OK, rendered))
}

/// `POST /api/v1/users/{id}` (partial update of profile and credentials).
pub(crate) async fn update_user(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult {
    write_user(sim, headers, id, raw, body, false)
}

/// `PUT /api/v1/users/{id}` (full replace: the profile sent is the whole profile).
pub(crate) async fn replace_user(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult {
    write_user(sim, headers, id, raw, body, true)
}

fn write_user(
    sim: OktaSim,
    headers: HeaderMap,
    id: String,
    raw: Option<String>,
    body: Bytes,
    replace: bool,
) -> ApiResult {
    let params = Params::parse(raw)?;
    let _strict = params.flag("strict", false)?;
    let body = parse_body(&body)?;
    let org = org(&sim, &headers);
    let password = password_value(&body)?;
    let mut state = sim.state.lock();
    let i = user_index(&state, &id)?;
    let profile_update = match body.get("profile") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => return Err(OktaError::malformed_body("profile must be an object.")),
    };
    let user_id = state.users[i].id.clone();
    if replace && body.get("profile").is_none() {
        return Err(OktaError::validation(
            "profile",
            vec!["profile: The field cannot be left blank".into()],
        ));
    }
    let mut causes = profile_problems(&state, &profile_update, replace, Some(&user_id));
    let login = profile_update
        .get("login")
        .and_then(Value::as_str)
        .unwrap_or(state.users[i].login())
        .to_string();
    if let Some(password) = &password {
        if state.users[i].provider != ProviderType::Okta {
            return Err(OktaError::wrong_status(
                "The password of a user sourced from ACTIVE_DIRECTORY is managed in the directory.",
            ));
        }
        if state.users[i].status == UserStatus::Deprovisioned {
            return Err(OktaError::wrong_status("The user is deactivated."));
        }
        if let Some(problem) = password_problem(password, &login) {
            causes.push(problem);
        }
    }
    if let Some(first) = causes.first() {
        let field = first.split(':').next().unwrap_or("profile").to_string();
        return Err(OktaError::validation(&field, causes));
    }
    let user = &mut state.users[i];
    let now = Utc::now();
    if replace {
        user.profile.clear();
    }
    for (key, value) in profile_update {
        user.profile.insert(key, value);
    }
    if let Some(password) = password {
        user.password = Some(password);
        user.password_changed = Some(now);
        if matches!(
            user.status,
            UserStatus::PasswordExpired | UserStatus::Recovery
        ) {
            user.set_status(UserStatus::Active);
        }
    }
    user.last_updated = now;
    Ok(json_response(StatusCode::OK, user.render(&org, true)))
}

/// `GET /api/v1/users/{id}/groups`.
pub(crate) async fn user_groups(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let org = org(&sim, &headers);
    let state = sim.state.lock();
    let i = user_index(&state, &id)?;
    let user_id = &state.users[i].id;
    let groups: Vec<Value> = state
        .groups
        .iter()
        .filter(|g| g.members.contains(user_id))
        .map(|g| g.render(&org))
        .collect();
    Ok(json_response(StatusCode::OK, Value::Array(groups)))
}

/// Human label of an admin role type.
fn role_label(role: &str) -> &'static str {
    match role {
        "SUPER_ADMIN" => "Super Administrator",
        "ORG_ADMIN" => "Organizational Administrator",
        "HELP_DESK_ADMIN" => "Help Desk Administrator",
        "USER_ADMIN" => "Group Administrator",
        "GROUP_MEMBERSHIP_ADMIN" => "Group Membership Administrator",
        "APP_ADMIN" => "Application Administrator",
        "READ_ONLY_ADMIN" => "Read-only Administrator",
        _ => "Administrator",
    }
}

/// One role assignment in Okta's shape; `assignee` is the user or group holding it.
fn role_assignment(
    org: &str,
    id: String,
    role: &str,
    assignee: (&str, &str),
    stamps: (chrono::DateTime<Utc>, chrono::DateTime<Utc>),
) -> Value {
    let (kind, assignee_id) = assignee;
    let (assignment_type, collection) = if kind == "GROUP" {
        ("GROUP", "groups")
    } else {
        ("USER", "users")
    };
    json!({
        "id": id,
        "label": role_label(role),
        "type": role,
        "status": "ACTIVE",
        "created": super::model::stamp(stamps.0),
        "lastUpdated": super::model::stamp(stamps.1),
        "assignmentType": assignment_type,
        "_links": {
            "assignee": {"href": format!("{org}/api/v1/{collection}/{assignee_id}")}
        }
    })
}

/// The roles assigned to a group, as assignments.
fn group_role_assignments(org: &str, group: &super::model::SimGroup) -> Vec<Value> {
    group
        .roles
        .iter()
        .enumerate()
        .map(|(n, role)| {
            let id = format!("gra{}{n:02}", &group.id[3..group.id.len().min(18)]);
            role_assignment(
                org,
                id,
                role,
                ("GROUP", &group.id),
                (group.created, group.last_updated),
            )
        })
        .collect()
}

/// `GET /api/v1/users/{id}/roles` (Okta's role-assignment API): the user's own assignments
/// (`assignmentType: USER`) and those it holds through its groups (`GROUP`, the assignee being
/// the group), as Okta's documented example shows.
pub(crate) async fn user_roles(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let org = org(&sim, &headers);
    let state = sim.state.lock();
    let i = user_index(&state, &id)?;
    let user = &state.users[i];
    let mut roles: Vec<Value> = user
        .roles
        .iter()
        .enumerate()
        .map(|(n, role)| {
            let role_id = format!("ra1{}{n:02}", &user.id[3..user.id.len().min(18)]);
            role_assignment(
                &org,
                role_id,
                role,
                ("USER", &user.id),
                (user.created, user.last_updated),
            )
        })
        .collect();
    for group in state.groups.iter().filter(|g| g.members.contains(&user.id)) {
        roles.extend(group_role_assignments(&org, group));
    }
    Ok(json_response(StatusCode::OK, Value::Array(roles)))
}

/// `GET /api/v1/groups/{groupId}/roles`: the roles assigned to the group.
pub(crate) async fn group_roles(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    Path(group): Path<String>,
) -> ApiResult {
    let org = org(&sim, &headers);
    let state = sim.state.lock();
    let g = group_index_by_id(&state, &group)?;
    Ok(json_response(
        StatusCode::OK,
        Value::Array(group_role_assignments(&org, &state.groups[g])),
    ))
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

/// `POST /api/v1/users/{id}/lifecycle/{op}`.
pub(crate) async fn lifecycle(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    Path((id, op)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let params = Params::parse(raw)?;
    let org = org(&sim, &headers);
    let mut state = sim.state.lock();
    let i = user_index(&state, &id)?;
    let user = &mut state.users[i];
    let status = user.status;
    let from_directory = user.provider != ProviderType::Okta;
    match op.as_str() {
        "reset_password" => {
            let Some(send_email) = params.get("sendEmail") else {
                return Err(OktaError::new(
                    StatusCode::BAD_REQUEST,
                    "E0000028",
                    "The request is missing a required parameter.",
                )
                .cause("sendEmail: The parameter is required."));
            };
            let send_email = match send_email {
                "true" => true,
                "false" => false,
                other => {
                    return Err(OktaError::validation(
                        "sendEmail",
                        vec![format!("sendEmail: '{other}' is not a valid boolean")],
                    ));
                }
            };
            let revoke = params.flag("revokeSessions", false)?;
            check_password_operation(user)?;
            let token = random_token(20);
            user.reset_token = Some(token.clone());
            user.set_status(UserStatus::Recovery);
            if revoke {
                user.sessions = 0;
            }
            if send_email {
                Ok(json_response(StatusCode::OK, json!({})))
            } else {
                Ok(json_response(
                    StatusCode::OK,
                    json!({"resetPasswordUrl": format!("{org}/reset_password/{token}")}),
                ))
            }
        }
        "expire_password" => {
            check_password_operation(user)?;
            user.set_status(UserStatus::PasswordExpired);
            Ok(json_response(StatusCode::OK, user.render(&org, true)))
        }
        "expire_password_with_temp_password" => {
            let revoke = params.flag("revokeSessions", false)?;
            check_password_operation(user)?;
            let temp = temporary_password();
            user.password = Some(temp.clone());
            user.password_changed = Some(Utc::now());
            user.set_status(UserStatus::PasswordExpired);
            if revoke {
                user.sessions = 0;
            }
            Ok(json_response(StatusCode::OK, json!({"tempPassword": temp})))
        }
        "unlock" => {
            if status != UserStatus::LockedOut || from_directory {
                let why = if from_directory {
                    "The user is sourced from ACTIVE_DIRECTORY; unlock the account in the directory."
                } else {
                    "The user is not locked out."
                };
                return Err(OktaError::new(
                    StatusCode::FORBIDDEN,
                    "E0000032",
                    "Unlock is not allowed for this user.",
                )
                .cause(why));
            }
            user.set_status(UserStatus::Active);
            Ok(empty_ok())
        }
        "reset_factors" => {
            if status == UserStatus::Deprovisioned {
                return Err(OktaError::wrong_status("The user is deactivated."));
            }
            user.factors.clear();
            user.last_updated = Utc::now();
            Ok(empty_ok())
        }
        "activate" => {
            let send_email = params.flag("sendEmail", true)?;
            if !matches!(status, UserStatus::Staged | UserStatus::Deprovisioned) {
                return Err(OktaError::new(
                    StatusCode::FORBIDDEN,
                    "E0000016",
                    "Activation failed because the user is already active",
                ));
            }
            let next = if user.password.is_some() {
                UserStatus::Active
            } else {
                UserStatus::Provisioned
            };
            user.set_status(next);
            if send_email {
                Ok(json_response(StatusCode::OK, json!({})))
            } else {
                let token = random_token(20);
                Ok(json_response(
                    StatusCode::OK,
                    json!({
                        "activationToken": token,
                        "activationUrl": format!("{org}/tokens/{token}/verify"),
                    }),
                ))
            }
        }
        "deactivate" => {
            let _send_email = params.flag("sendEmail", false)?;
            if status == UserStatus::Deprovisioned {
                return Err(OktaError::validation(
                    "deactivate",
                    vec!["Cannot deactivate a user that is already deprovisioned".into()],
                ));
            }
            // Deprovisioning ends every session and token; app assignments (not modelled) go too.
            user.sessions = 0;
            user.oauth_tokens = 0;
            user.set_status(UserStatus::Deprovisioned);
            Ok(empty_ok())
        }
        "suspend" => {
            if status != UserStatus::Active {
                return Err(OktaError::validation(
                    "suspend",
                    vec!["Cannot suspend a user that is not active".into()],
                ));
            }
            user.set_status(UserStatus::Suspended);
            Ok(empty_ok())
        }
        "unsuspend" => {
            if status != UserStatus::Suspended {
                return Err(OktaError::validation(
                    "unsuspend",
                    vec!["Cannot unsuspend a user that is not suspended".into()],
                ));
            }
            user.set_status(UserStatus::Active);
            Ok(empty_ok())
        }
        other => Err(OktaError::not_found(
            &format!("lifecycle/{other}"),
            "Operation",
        )),
    }
}

/// Password operations need an Okta-mastered user in a status that has a password to reset.
fn check_password_operation(user: &SimUser) -> Result<(), OktaError> {
    if user.provider != ProviderType::Okta {
        return Err(OktaError::wrong_status(
            "The password of a user sourced from ACTIVE_DIRECTORY is managed in the directory.",
        ));
    }
    match user.status {
        UserStatus::Active
        | UserStatus::LockedOut
        | UserStatus::PasswordExpired
        | UserStatus::Recovery
        | UserStatus::Provisioned => Ok(()),
        other => Err(OktaError::wrong_status(format!(
            "The password cannot be reset while the user is {other}."
        ))),
    }
}

// ---------------------------------------------------------------------------------------------
// Factors and sessions

/// `GET /api/v1/users/{userId}/factors`.
pub(crate) async fn list_factors(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let org = org(&sim, &headers);
    let state = sim.state.lock();
    let i = user_index_by_id(&state, &id)?;
    let user = &state.users[i];
    let factors: Vec<Value> = user
        .factors
        .iter()
        .map(|f| f.render(&org, &user.id))
        .collect();
    Ok(json_response(StatusCode::OK, Value::Array(factors)))
}

/// `GET /api/v1/users/{userId}/factors/{factorId}`.
pub(crate) async fn get_factor(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    Path((id, factor)): Path<(String, String)>,
) -> ApiResult {
    let org = org(&sim, &headers);
    let state = sim.state.lock();
    let i = user_index_by_id(&state, &id)?;
    let user = &state.users[i];
    let found = user
        .factors
        .iter()
        .find(|f| f.id == factor)
        .ok_or_else(|| OktaError::not_found(&factor, "UserFactor"))?;
    Ok(json_response(StatusCode::OK, found.render(&org, &user.id)))
}

/// `DELETE /api/v1/users/{userId}/factors/{factorId}`.
pub(crate) async fn unenroll_factor(
    State(sim): State<OktaSim>,
    Path((id, factor)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let params = Params::parse(raw)?;
    let _remove_recovery = params.flag("removeRecoveryEnrollment", false)?;
    let mut state = sim.state.lock();
    let i = user_index_by_id(&state, &id)?;
    let user = &mut state.users[i];
    let found = user
        .factors
        .iter()
        .find(|f| f.id == factor)
        .cloned()
        .ok_or_else(|| OktaError::not_found(&factor, "UserFactor"))?;
    if user.status == UserStatus::Deprovisioned {
        return Err(OktaError::wrong_status(
            "Factors cannot be unenrolled from a deactivated user.",
        ));
    }
    // Removing Okta Verify push also removes the totp enrolled with it (spec).
    let linked = (found.factor_type == "push")
        .then_some(found.okta_verify_enrollment)
        .flatten();
    user.factors
        .retain(|f| f.id != found.id && (linked.is_none() || f.okta_verify_enrollment != linked));
    user.last_updated = Utc::now();
    Ok(no_content())
}

/// `DELETE /api/v1/users/{userId}/sessions?oauthTokens=&forgetDevices=`.
pub(crate) async fn revoke_sessions(
    State(sim): State<OktaSim>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let params = Params::parse(raw)?;
    let oauth_tokens = params.flag("oauthTokens", false)?;
    let forget_devices = params.flag("forgetDevices", true)?;
    let mut state = sim.state.lock();
    let i = user_index_by_id(&state, &id)?;
    let user = &mut state.users[i];
    user.sessions = 0;
    if oauth_tokens {
        user.oauth_tokens = 0;
    }
    if forget_devices {
        user.remembered_devices = 0;
    }
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// Groups

const GROUPS_PATH: &str = "/api/v1/groups";

/// `GET /api/v1/groups`.
pub(crate) async fn list_groups(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let params = Params::parse(raw)?;
    let org = org(&sim, &headers);
    let items: Vec<(String, Value)> = {
        let state = sim.state.lock();
        state
            .groups
            .iter()
            .map(|g| {
                let mut rendered = g.render(&org);
                // `source.id` is searchable for APP_GROUPs (spec).
                if let Some(app) = &g.source_app {
                    rendered["source"] = json!({"id": app});
                }
                (g.id.clone(), rendered)
            })
            .collect()
    };
    let strip_source = |items: Vec<(String, Value)>| -> Vec<(String, Value)> {
        items
            .into_iter()
            .map(|(id, mut v)| {
                if let Some(map) = v.as_object_mut() {
                    map.remove("source");
                }
                (id, v)
            })
            .collect()
    };
    let base = format!("{org}{GROUPS_PATH}");
    if let Some(q) = params.get("q") {
        let q = q.to_lowercase();
        let limit = params.limit(300, 10_000)?;
        let found = items
            .into_iter()
            .filter(|(_, v)| {
                v.pointer("/profile/name")
                    .and_then(Value::as_str)
                    .is_some_and(|name| name.to_lowercase().starts_with(&q))
            })
            .collect();
        return paged(strip_source(found), &params, limit, &base, false);
    }
    let limit = params.limit(10_000, 10_000)?;
    let filter_allows = |path: &str, op: Op| match path {
        "id" | "type" => op == Op::Eq,
        "lastUpdated" | "lastMembershipUpdated" => {
            matches!(op, Op::Eq | Op::Gt | Op::Ge | Op::Lt | Op::Le)
        }
        _ => false,
    };
    let found = select(
        items,
        &params,
        &filter_allows,
        &["profile.name", "profile.description"],
    )?;
    paged(strip_source(found), &params, limit, &base, true)
}

/// `GET /api/v1/groups/{groupId}`.
pub(crate) async fn get_group(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    Path(group): Path<String>,
) -> ApiResult {
    let org = org(&sim, &headers);
    let state = sim.state.lock();
    let g = group_index_by_id(&state, &group)?;
    Ok(json_response(StatusCode::OK, state.groups[g].render(&org)))
}

/// `GET /api/v1/groups/{groupId}/users`.
pub(crate) async fn group_users(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    Path(group): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let params = Params::parse(raw)?;
    let limit = params.limit(1000, 10_000)?;
    let org = org(&sim, &headers);
    let items: Vec<(String, Value)> = {
        let state = sim.state.lock();
        let g = group_index_by_id(&state, &group)?;
        state.groups[g]
            .members
            .iter()
            .filter_map(|id| state.users.iter().find(|u| &u.id == id))
            .map(|u| (u.id.clone(), u.render(&org, false)))
            .collect()
    };
    let base = format!("{org}{GROUPS_PATH}/{group}/users");
    paged(items, &params, limit, &base, true)
}

fn membership_target(
    state: &SimState,
    group: &str,
    user: &str,
) -> Result<(usize, String), OktaError> {
    let g = group_index_by_id(state, group)?;
    let u = user_index_by_id(state, user)?;
    if state.groups[g].group_type != GroupType::OktaGroup {
        return Err(OktaError::access_denied().cause(format!(
            "Group {group} is of type {}; only OKTA_GROUP memberships can be changed.",
            state.groups[g].group_type.as_str()
        )));
    }
    Ok((g, state.users[u].id.clone()))
}

/// `PUT /api/v1/groups/{groupId}/users/{userId}`.
pub(crate) async fn add_member(
    State(sim): State<OktaSim>,
    Path((group, user)): Path<(String, String)>,
) -> ApiResult {
    let mut state = sim.state.lock();
    let (g, user_id) = membership_target(&state, &group, &user)?;
    let group = &mut state.groups[g];
    if !group.members.contains(&user_id) {
        group.members.push(user_id);
        group.last_membership_updated = Utc::now();
    }
    Ok(no_content())
}

/// `DELETE /api/v1/groups/{groupId}/users/{userId}`.
pub(crate) async fn remove_member(
    State(sim): State<OktaSim>,
    Path((group, user)): Path<(String, String)>,
) -> ApiResult {
    let mut state = sim.state.lock();
    let (g, user_id) = membership_target(&state, &group, &user)?;
    let group = &mut state.groups[g];
    if group.members.contains(&user_id) {
        group.members.retain(|m| *m != user_id);
        group.last_membership_updated = Utc::now();
    }
    Ok(no_content())
}
