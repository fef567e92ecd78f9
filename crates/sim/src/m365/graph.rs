//! Microsoft Graph v1.0 routes: users, authentication methods, groups, licences, mail and
//! service health.

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::Utc;
use rand::Rng as _;
use serde_json::{Map, Value, json};

use super::M365Sim;
use super::odata::{
    Filter, GraphError, GraphResult, QueryMap, check_select, collection_page, project,
    search_matches,
};
use super::state::{
    Audience, MethodKind, PASSWORD_METHOD_ID, SentMail, SimAuthMethod, SimUser, TenantState,
    phone_method_id,
};
use super::token::{self, TokenProblem};
use crate::server::{content_type, origin};

/// Properties Graph returns for a user when there is no `$select`.
const USER_DEFAULT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

/// Whether the caller holds a delegated (admin) token rather than an app-only one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller {
    delegated: bool,
}

pub(crate) fn router(sim: M365Sim) -> Router {
    let users = Router::new()
        .route("/v1.0/users", get(list_users).post(create_user))
        .route(
            "/v1.0/users/{user}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route(
            "/v1.0/users/{user}/revokeSignInSessions",
            post(revoke_sessions),
        )
        .route("/v1.0/users/{user}/assignLicense", post(assign_license))
        .route("/v1.0/users/{user}/licenseDetails", get(license_details))
        .route("/v1.0/users/{user}/manager", get(get_manager))
        .route("/v1.0/users/{user}/memberOf", get(member_of))
        .route(
            "/v1.0/users/{user}/transitiveMemberOf",
            get(transitive_member_of),
        )
        .route(
            "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances",
            get(role_eligibility_instances),
        )
        .route("/v1.0/users/{user}/sendMail", post(send_mail))
        .route(
            "/v1.0/users/{user}/authentication/methods",
            get(list_methods),
        )
        .route(
            "/v1.0/users/{user}/authentication/{segment}",
            get(list_methods_of_kind).post(create_method),
        )
        .route(
            "/v1.0/users/{user}/authentication/{segment}/{method}",
            get(get_method).delete(delete_method),
        )
        .route(
            "/v1.0/users/{user}/authentication/methods/{method}/resetPassword",
            post(reset_password),
        );
    let groups = Router::new()
        .route("/v1.0/groups", get(list_groups))
        .route("/v1.0/groups/{group}", get(get_group))
        .route("/v1.0/groups/{group}/members", get(group_members))
        .route("/v1.0/groups/{group}/members/$ref", post(add_member))
        .route(
            "/v1.0/groups/{group}/members/{member}/$ref",
            axum::routing::delete(remove_member),
        )
        .route("/v1.0/subscribedSkus", get(subscribed_skus))
        .route(
            "/v1.0/admin/serviceAnnouncement/healthOverviews",
            get(health_overviews),
        )
        .route("/v1.0/admin/serviceAnnouncement/issues", get(list_issues))
        .route(
            "/v1.0/admin/serviceAnnouncement/issues/{issue}",
            get(get_issue),
        );
    users
        .merge(groups)
        .layer(axum::middleware::from_fn_with_state(sim.clone(), authorize))
        .with_state(sim)
}

/// Every Graph route needs a live Graph token.
async fn authorize(State(sim): State<M365Sim>, mut request: Request, next: Next) -> Response {
    match token::check(&sim, request.headers(), Audience::Graph) {
        Ok(delegated) => {
            request.extensions_mut().insert(Caller { delegated });
            next.run(request).await
        }
        Err(problem) => GraphError::unauthorized(match problem {
            TokenProblem::Missing => "Access token is empty.",
            TokenProblem::Unknown => {
                "IDX14100: JWT is not well formed, there are no dots (.). The token needs to be in JWS or JWE Compact Serialization Format."
            }
            TokenProblem::Expired => "Lifetime validation failed, the token is expired.",
            TokenProblem::WrongAudience => "Access token validation failure. Invalid audience.",
        })
        .into_response(),
    }
}

fn ok_json(status: StatusCode, body: Value) -> GraphResult {
    Ok((status, Json(body)).into_response())
}

fn no_content() -> GraphResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A JSON request body, as Graph reads it.
fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, GraphError> {
    let content_type = content_type(headers);
    if !content_type.starts_with("application/json") {
        return Err(GraphError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BadRequest",
            format!(
                "A supported MIME type could not be found that matches the content type of the request ('{content_type}')."
            ),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )),
    }
}

fn consistency_eventual(headers: &HeaderMap) -> bool {
    headers
        .get("consistencylevel")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("eventual"))
}

/// `$filter`, `$search`, `$orderby`, `$count`, `$top`/`$skiptoken` over a list of full objects,
/// then `$select` (or the default projection).
fn query_collection(
    headers: &HeaderMap,
    query: &QueryMap,
    context: &str,
    path: &str,
    objects: Vec<Value>,
    default_projection: Option<&[&str]>,
    type_name: &str,
) -> GraphResult {
    let advanced = consistency_eventual(headers);
    if query.contains_key("$search") && !advanced {
        return Err(GraphError::unsupported_query(
            "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
        ));
    }
    let count = match query.get("$count").map(String::as_str) {
        None | Some("false") => false,
        Some("true") if advanced => true,
        Some("true") => {
            return Err(GraphError::unsupported_query(
                "$count is not currently supported without the 'ConsistencyLevel: eventual' header.",
            ));
        }
        Some(other) => {
            return Err(GraphError::bad_request(format!(
                "Invalid value '{other}' for query option $count."
            )));
        }
    };
    // Collections of mixed types (memberOf) answer what each type has, without complaint.
    if let Some(first) = objects.first()
        && type_name != "directoryObject"
    {
        check_select(query.get("$select").map(String::as_str), first, type_name)?;
    }
    let filter = query.get("$filter").map(|f| Filter::parse(f)).transpose()?;
    let mut selected = Vec::new();
    for object in objects {
        if let Some(filter) = &filter
            && !filter.matches(&object)
        {
            continue;
        }
        if let Some(search) = query.get("$search")
            && !search_matches(search, &object)?
        {
            continue;
        }
        selected.push(object);
    }
    if let Some(order) = query.get("$orderby") {
        let key = order
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        selected.sort_by_key(|o| {
            o.get(&key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_lowercase()
        });
        if order.to_ascii_lowercase().ends_with(" desc") {
            selected.reverse();
        }
    }
    let select = query.get("$select").map(String::as_str);
    let projected = selected
        .iter()
        .map(|object| project(object, select, default_projection))
        .collect();
    let self_url = format!("{}{path}", origin(headers));
    let body = collection_page(context, projected, query, 100, &self_url, count)?;
    ok_json(StatusCode::OK, body)
}

fn user_entity(state: &TenantState, user: &SimUser, query: &QueryMap) -> GraphResult {
    let full = state.user_json(user);
    let select = query.get("$select").map(String::as_str);
    check_select(select, &full, "user")?;
    let mut body = project(&full, select, Some(USER_DEFAULT));
    if let Some(map) = body.as_object_mut() {
        map.remove("@odata.type");
        map.insert(
            "@odata.context".into(),
            json!("https://graph.microsoft.com/v1.0/$metadata#users/$entity"),
        );
    }
    ok_json(StatusCode::OK, body)
}

fn lookup<'a>(state: &'a TenantState, id: &str) -> Result<&'a SimUser, GraphError> {
    state.find_user(id).ok_or_else(|| GraphError::not_found(id))
}

// ---------------------------------------------------------------------------------------------
// Users

async fn list_users(
    State(sim): State<M365Sim>,
    headers: HeaderMap,
    Query(query): Query<QueryMap>,
) -> GraphResult {
    let state = sim.state.lock();
    // A homogeneous collection carries no per-item `@odata.type`.
    let objects = state
        .users
        .iter()
        .map(|u| {
            let mut object = state.user_json(u);
            object.as_object_mut().map(|m| m.remove("@odata.type"));
            object
        })
        .collect();
    query_collection(
        &headers,
        &query,
        "users",
        "/v1.0/users",
        objects,
        Some(USER_DEFAULT),
        "user",
    )
}

async fn get_user(
    State(sim): State<M365Sim>,
    Path(id): Path<String>,
    Query(query): Query<QueryMap>,
) -> GraphResult {
    let state = sim.state.lock();
    let user = lookup(&state, &id)?;
    user_entity(&state, user, &query)
}

/// `GET /users/{id}/manager`: the manager as a directory object, or 404 for nobody.
async fn get_manager(
    State(sim): State<M365Sim>,
    Path(id): Path<String>,
    Query(query): Query<QueryMap>,
) -> GraphResult {
    let state = sim.state.lock();
    let user = lookup(&state, &id)?;
    let manager = user
        .manager
        .as_deref()
        .and_then(|m| state.find_user(m))
        .ok_or_else(|| GraphError::not_found("manager"))?;
    let full = state.user_json(manager);
    let select = query.get("$select").map(String::as_str);
    check_select(select, &full, "user")?;
    // A navigation to a directory object keeps its `@odata.type`.
    let mut body = project(&full, select, Some(USER_DEFAULT));
    if let Some(map) = body.as_object_mut() {
        map.insert(
            "@odata.context".into(),
            json!("https://graph.microsoft.com/v1.0/$metadata#directoryObjects/$entity"),
        );
    }
    ok_json(StatusCode::OK, body)
}

/// Entra's complexity rule: 8 to 256 characters, three of the four character classes.
fn password_complex(password: &str) -> bool {
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    (8..=256).contains(&password.chars().count()) && classes.iter().filter(|c| **c).count() >= 3
}

fn complexity_error() -> GraphError {
    GraphError::bad_request(
        "The specified password does not comply with password complexity requirements. Please provide a different password.",
    )
}

fn invalid_property(name: &str) -> GraphError {
    GraphError::bad_request(format!(
        "Invalid value specified for property '{name}' of resource 'User'."
    ))
}

fn valid_usage_location(value: &str) -> bool {
    value.len() == 2 && value.chars().all(|c| c.is_ascii_uppercase())
}

/// The `passwordProfile` of a body: (password, forceChangePasswordNextSignIn).
fn password_profile(value: &Value) -> Result<(String, bool), GraphError> {
    let password = value
        .get("password")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_property("passwordProfile"))?;
    if !password_complex(password) {
        return Err(complexity_error());
    }
    let force = value
        .get("forceChangePasswordNextSignIn")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    Ok((password.to_string(), force))
}

fn optional_string(value: &Value, name: &str) -> Result<Option<String>, GraphError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text.clone())),
        _ => Err(invalid_property(name)),
    }
}

async fn create_user(State(sim): State<M365Sim>, headers: HeaderMap, body: Bytes) -> GraphResult {
    let body = json_body(&headers, &body)?;
    let text = |name: &str| -> Result<String, GraphError> {
        body.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .ok_or_else(|| invalid_property(name))
    };
    let account_enabled = body
        .get("accountEnabled")
        .and_then(Value::as_bool)
        .ok_or_else(|| invalid_property("accountEnabled"))?;
    let display_name = text("displayName")?;
    let mail_nickname = text("mailNickname")?;
    let upn = text("userPrincipalName")?;
    let (password, force) = password_profile(
        body.get("passwordProfile")
            .ok_or_else(|| invalid_property("passwordProfile"))?,
    )?;
    let usage_location = match body.get("usageLocation") {
        None => None,
        Some(value) => {
            let location = optional_string(value, "usageLocation")?;
            if location
                .as_deref()
                .is_some_and(|l| !valid_usage_location(l))
            {
                return Err(invalid_property("usageLocation"));
            }
            location
        }
    };
    let mut state = sim.state.lock();
    let domain = upn.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    if !state
        .verified_domains
        .iter()
        .any(|d| d.eq_ignore_ascii_case(domain))
    {
        return Err(GraphError::bad_request(
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.",
        ));
    }
    if state.find_user(&upn).is_some() {
        return Err(GraphError::bad_request(
            "Another object with the same value for property userPrincipalName already exists.",
        ));
    }
    let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
    let now = Utc::now();
    let user = SimUser {
        id: uuid::Uuid::new_v4().to_string(),
        user_principal_name: upn,
        display_name,
        given_name: field("givenName"),
        surname: field("surname"),
        mail: None,
        mail_nickname,
        account_enabled,
        usage_location,
        department: field("department"),
        job_title: field("jobTitle"),
        on_premises_sync_enabled: false,
        password,
        force_change_password_next_sign_in: force,
        direct_licenses: Vec::new(),
        sign_in_sessions_valid_from: now,
        last_password_change: now,
        created: now,
        user_type: "Member".into(),
        business_phones: Vec::new(),
        methods: vec![SimAuthMethod::password(now)],
        default_method: None,
        manager: None,
    };
    let mut body = project(&state.user_json(&user), None, Some(USER_DEFAULT));
    if let Some(map) = body.as_object_mut() {
        map.remove("@odata.type");
        map.insert(
            "@odata.context".into(),
            json!("https://graph.microsoft.com/v1.0/$metadata#users/$entity"),
        );
    }
    state.users.push(user);
    ok_json(StatusCode::CREATED, body)
}

/// Properties a PATCH may carry (the writable ones the connectors use).
const WRITABLE: &[&str] = &[
    "accountEnabled",
    "passwordProfile",
    "usageLocation",
    "displayName",
    "givenName",
    "surname",
    "department",
    "jobTitle",
    "mailNickname",
    "businessPhones",
    "passwordPolicies",
];

async fn update_user(
    State(sim): State<M365Sim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> GraphResult {
    let body = json_body(&headers, &body)?;
    if let Some(unknown) = body.keys().find(|k| !WRITABLE.contains(&k.as_str())) {
        return Err(GraphError::bad_request(format!(
            "Property '{unknown}' does not exist as a declared property or extension property."
        )));
    }
    let mut state = sim.state.lock();
    let user = lookup(&state, &id)?.clone();
    let sensitive = body.contains_key("passwordProfile") || body.contains_key("accountEnabled");
    if sensitive && user.on_premises_sync_enabled {
        return Err(GraphError::on_premises_mastered());
    }
    // App-only callers need Privileged Authentication Administrator to touch admins.
    if sensitive && !caller.delegated && !state.app.privileged && state.is_admin(&user.id) {
        return Err(GraphError::denied());
    }
    let mut updated = user;
    for (key, value) in &body {
        match key.as_str() {
            "accountEnabled" => {
                updated.account_enabled = value.as_bool().ok_or_else(|| invalid_property(key))?;
            }
            "passwordProfile" => {
                let (password, force) = password_profile(value)?;
                updated.password = password;
                updated.force_change_password_next_sign_in = force;
                updated.last_password_change = Utc::now();
            }
            "usageLocation" => {
                let location = optional_string(value, key)?;
                if location
                    .as_deref()
                    .is_some_and(|l| !valid_usage_location(l))
                {
                    return Err(invalid_property(key));
                }
                updated.usage_location = location;
            }
            "displayName" => {
                updated.display_name =
                    optional_string(value, key)?.ok_or_else(|| invalid_property(key))?;
            }
            "givenName" => updated.given_name = optional_string(value, key)?,
            "surname" => updated.surname = optional_string(value, key)?,
            "department" => updated.department = optional_string(value, key)?,
            "jobTitle" => updated.job_title = optional_string(value, key)?,
            "mailNickname" => {
                updated.mail_nickname =
                    optional_string(value, key)?.ok_or_else(|| invalid_property(key))?;
            }
            "businessPhones" => {
                updated.business_phones =
                    serde_json::from_value(value.clone()).map_err(|_| invalid_property(key))?;
            }
            _ => {} // passwordPolicies: accepted, not modelled
        }
    }
    if let Some(slot) = state.find_user_mut(&id) {
        *slot = updated;
    }
    no_content()
}

async fn delete_user(State(sim): State<M365Sim>, Path(id): Path<String>) -> GraphResult {
    let mut state = sim.state.lock();
    let user_id = lookup(&state, &id)?.id.clone();
    state.users.retain(|u| u.id != user_id);
    for group in &mut state.groups {
        group.members.retain(|m| *m != user_id);
    }
    for role in &mut state.roles {
        role.members.retain(|m| *m != user_id);
    }
    state.mailboxes.retain(|m| m.user_id != user_id);
    no_content()
}

async fn revoke_sessions(State(sim): State<M365Sim>, Path(id): Path<String>) -> GraphResult {
    let mut state = sim.state.lock();
    let user_id = lookup(&state, &id)?.id.clone();
    if let Some(user) = state.find_user_mut(&user_id) {
        user.sign_in_sessions_valid_from = Utc::now();
    }
    ok_json(
        StatusCode::OK,
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", "value": true}),
    )
}

async fn assign_license(
    State(sim): State<M365Sim>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> GraphResult {
    let body = json_body(&headers, &body)?;
    let (Some(Value::Array(add)), Some(Value::Array(remove))) =
        (body.get("addLicenses"), body.get("removeLicenses"))
    else {
        return Err(GraphError::bad_request(
            "Invalid request: both 'addLicenses' and 'removeLicenses' are required (send [] when unused).",
        ));
    };
    let mut add_ids = Vec::new();
    for entry in add {
        let sku = entry.get("skuId").and_then(Value::as_str).ok_or_else(|| {
            GraphError::bad_request(
                "Invalid value specified for property 'skuId' of resource 'AssignedLicense'.",
            )
        })?;
        add_ids.push(sku.to_ascii_lowercase());
    }
    let mut remove_ids = Vec::new();
    for entry in remove {
        let sku = entry.as_str().ok_or_else(|| {
            GraphError::bad_request("Invalid value specified for property 'removeLicenses'.")
        })?;
        remove_ids.push(sku.to_ascii_lowercase());
    }
    let mut state = sim.state.lock();
    let user = lookup(&state, &id)?.clone();
    for sku in add_ids.iter().chain(&remove_ids) {
        if !state.skus.iter().any(|s| s.sku_id == *sku) {
            return Err(GraphError::bad_request(format!(
                "License {sku} does not correspond to a valid company License."
            )));
        }
    }
    if !add_ids.is_empty() && user.usage_location.is_none() {
        return Err(GraphError::bad_request(
            "License assignment cannot be done for user with invalid usage location.",
        ));
    }
    let inherited = state.inherited_licenses(&user.id);
    let mut direct = user.direct_licenses.clone();
    for sku in &remove_ids {
        if let Some(index) = direct.iter().position(|d| d == sku) {
            direct.remove(index);
        } else if inherited.iter().any(|(s, _)| s == sku) {
            return Err(GraphError::bad_request(
                "User license is inherited from a group membership and it cannot be removed directly from the user.",
            ));
        } else {
            return Err(GraphError::bad_request(
                "User does not have a corresponding license.",
            ));
        }
    }
    let holds = state.effective_licenses(&user);
    for sku in &add_ids {
        if !holds.contains(sku) {
            let seats = state
                .skus
                .iter()
                .find(|s| s.sku_id == *sku)
                .map_or(0, |s| s.enabled);
            if state.consumed(sku) >= seats {
                return Err(GraphError::bad_request(format!(
                    "Subscription for license {sku} has no more available licenses."
                )));
            }
        }
        if !direct.contains(sku) {
            direct.push(sku.clone());
        }
    }
    if let Some(slot) = state.find_user_mut(&user.id) {
        slot.direct_licenses = direct;
    }
    state.provision_mailboxes();
    let user = lookup(&state, &user.id)?;
    user_entity(&state, user, &QueryMap::new())
}

async fn license_details(
    State(sim): State<M365Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<QueryMap>,
) -> GraphResult {
    let state = sim.state.lock();
    let user = lookup(&state, &id)?;
    let objects = state
        .effective_licenses(user)
        .iter()
        .filter_map(|sku| state.skus.iter().find(|s| s.sku_id == *sku))
        .map(|sku| {
            json!({
                "id": format!("{}{}", &user.id[..8], &sku.sku_id[..8]),
                "skuId": sku.sku_id,
                "skuPartNumber": sku.sku_part_number,
                "servicePlans": sku.service_plans.iter().map(|(id, name)| json!({
                    "servicePlanId": id, "servicePlanName": name,
                    "provisioningStatus": "Success", "appliesTo": "User"
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let path = format!("/v1.0/users/{id}/licenseDetails");
    query_collection(
        &headers,
        &query,
        &format!("users('{id}')/licenseDetails"),
        &path,
        objects,
        None,
        "licenseDetails",
    )
}

/// Groups and directory roles the user is a member of: directly, or (`transitive`) also
/// through its groups (a role assigned to a role-assignable group reaches its members).
fn memberships(
    sim: &M365Sim,
    headers: &HeaderMap,
    id: &str,
    query: &QueryMap,
    transitive: bool,
) -> GraphResult {
    let state = sim.state.lock();
    let user = lookup(&state, id)?;
    let mut objects: Vec<Value> = state.groups_of(&user.id).map(|g| g.to_json()).collect();
    objects.extend(
        state
            .roles_of(&user.id, transitive)
            .into_iter()
            .map(|r| r.to_json()),
    );
    let path = if transitive {
        format!("/v1.0/users/{id}/transitiveMemberOf")
    } else {
        format!("/v1.0/users/{id}/memberOf")
    };
    query_collection(
        headers,
        query,
        "directoryObjects",
        &path,
        objects,
        None,
        "directoryObject",
    )
}

async fn member_of(
    State(sim): State<M365Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<QueryMap>,
) -> GraphResult {
    memberships(&sim, &headers, &id, &query, false)
}

async fn transitive_member_of(
    State(sim): State<M365Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<QueryMap>,
) -> GraphResult {
    memberships(&sim, &headers, &id, &query, true)
}

/// `GET /roleManagement/directory/roleEligibilityScheduleInstances`: PIM eligibility, with
/// `$filter` (`principalId eq '…'`), `$select` and `$expand=roleDefinition`. App-only callers
/// need `RoleEligibilitySchedule.Read.Directory`; a tenant without P2 answers 400.
async fn role_eligibility_instances(
    State(sim): State<M365Sim>,
    headers: HeaderMap,
    Extension(caller): Extension<Caller>,
    Query(query): Query<QueryMap>,
) -> GraphResult {
    let state = sim.state.lock();
    if !state.pim_licensed {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "AadPremiumLicenseRequired",
            "The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license.",
        ));
    }
    if !caller.delegated && !state.app.reads_role_eligibility {
        return Err(GraphError::denied());
    }
    let expand_role = match query.get("$expand").map(|e| e.trim()) {
        None => false,
        Some(e) if e.eq_ignore_ascii_case("roleDefinition") => true,
        Some(other) => {
            return Err(GraphError::bad_request(format!(
                "Could not find a navigation property named '{other}' on type 'microsoft.graph.unifiedRoleEligibilityScheduleInstance'."
            )));
        }
    };
    let objects = state
        .eligibilities
        .iter()
        .map(|e| e.to_json(expand_role))
        .collect();
    query_collection(
        &headers,
        &query,
        "roleManagement/directory/roleEligibilityScheduleInstances",
        "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances",
        objects,
        None,
        "unifiedRoleEligibilityScheduleInstance",
    )
}

async fn send_mail(
    State(sim): State<M365Sim>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> GraphResult {
    let body = json_body(&headers, &body)?;
    let Some(message) = body.get("message").and_then(Value::as_object) else {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidRequest",
            "Empty Payload. JSON content expected.",
        ));
    };
    let recipients: Vec<String> = message
        .get("toRecipients")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|r| r.pointer("/emailAddress/address").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if recipients.is_empty() || recipients.iter().any(|r| !r.contains('@')) {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidRecipients",
            "At least one recipient is not valid., Recipient '' is not resolved. All recipients must be resolved before a message can be submitted.",
        ));
    }
    let mut state = sim.state.lock();
    let user = lookup(&state, &id)?;
    if !state.mailboxes.iter().any(|m| m.user_id == user.id) {
        return Err(GraphError::new(
            StatusCode::NOT_FOUND,
            "MailboxNotEnabledForRESTAPI",
            "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
        ));
    }
    let mail = SentMail {
        from: user.user_principal_name.clone(),
        to: recipients,
        subject: message
            .get("subject")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        body: message
            .get("body")
            .and_then(|b| b.get("content"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        content_type: message
            .get("body")
            .and_then(|b| b.get("contentType"))
            .and_then(Value::as_str)
            .unwrap_or("Text")
            .to_string(),
    };
    state.sent_mail.push(mail);
    Ok(StatusCode::ACCEPTED.into_response())
}

// ---------------------------------------------------------------------------------------------
// Authentication methods

fn segment_kind(segment: &str) -> Result<MethodKind, GraphError> {
    MethodKind::from_segment(segment).ok_or_else(|| {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Resource not found for the segment '{segment}'."),
        )
    })
}

fn methods_page(
    headers: &HeaderMap,
    query: &QueryMap,
    id: &str,
    segment: &str,
    methods: Vec<Value>,
) -> GraphResult {
    let path = format!("/v1.0/users/{id}/authentication/{segment}");
    query_collection(
        headers,
        query,
        &format!("users('{id}')/authentication/{segment}"),
        &path,
        methods,
        None,
        "authenticationMethod",
    )
}

async fn list_methods(
    State(sim): State<M365Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<QueryMap>,
) -> GraphResult {
    let state = sim.state.lock();
    let user = lookup(&state, &id)?;
    let methods = user.methods.iter().map(SimAuthMethod::to_json).collect();
    methods_page(&headers, &query, &id, "methods", methods)
}

async fn list_methods_of_kind(
    State(sim): State<M365Sim>,
    headers: HeaderMap,
    Path((id, segment)): Path<(String, String)>,
    Query(query): Query<QueryMap>,
) -> GraphResult {
    let kind = segment_kind(&segment)?;
    let state = sim.state.lock();
    let user = lookup(&state, &id)?;
    let methods = user
        .methods
        .iter()
        .filter(|m| m.kind == kind)
        .map(SimAuthMethod::to_json)
        .collect();
    methods_page(&headers, &query, &id, &segment, methods)
}

async fn get_method(
    State(sim): State<M365Sim>,
    Path((id, segment, method)): Path<(String, String, String)>,
) -> GraphResult {
    let kind = segment_kind(&segment)?;
    let state = sim.state.lock();
    let user = lookup(&state, &id)?;
    let found = user
        .methods
        .iter()
        .find(|m| m.kind == kind && m.id.eq_ignore_ascii_case(&method))
        .ok_or_else(|| GraphError::not_found(&method))?;
    ok_json(StatusCode::OK, found.to_json())
}

fn methods_error(message: &str) -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, "badRequest", message)
}

/// A Temporary Access Pass in the shape Entra generates: 8 characters, letters, digits and
/// symbols.
fn generate_tap() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789@#$%&*+=?";
    let mut rng = rand::rng();
    (0..8)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

async fn create_method(
    State(sim): State<M365Sim>,
    headers: HeaderMap,
    Path((id, segment)): Path<(String, String)>,
    body: Bytes,
) -> GraphResult {
    let kind = segment_kind(&segment)?;
    let body = json_body(&headers, &body)?;
    let mut state = sim.state.lock();
    let user = lookup(&state, &id)?.clone();
    let now = Utc::now();
    let (method, response) = match kind {
        MethodKind::Phone => {
            let number = body
                .get("phoneNumber")
                .and_then(Value::as_str)
                .ok_or_else(|| methods_error("Property 'phoneNumber' is required."))?;
            let phone_type = body
                .get("phoneType")
                .and_then(Value::as_str)
                .ok_or_else(|| methods_error("Property 'phoneType' is required."))?;
            let method_id = phone_method_id(phone_type)
                .ok_or_else(|| methods_error(&format!("Invalid phoneType '{phone_type}'.")))?;
            if user.methods.iter().any(|m| m.id == method_id) {
                return Err(GraphError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    format!("A phone method of type '{phone_type}' already exists for the user."),
                ));
            }
            let method = SimAuthMethod {
                id: method_id.into(),
                kind,
                created: now,
                properties: json!({"phoneNumber": number, "phoneType": phone_type, "smsSignInState": "notEnabled"}),
            };
            let response = method.to_json();
            (method, response)
        }
        MethodKind::Email => {
            let address = body
                .get("emailAddress")
                .and_then(Value::as_str)
                .ok_or_else(|| methods_error("Property 'emailAddress' is required."))?;
            let method = SimAuthMethod {
                id: "3ddfcfc8-9383-446f-83cc-3ab9be4be18f".into(),
                kind,
                created: now,
                properties: json!({"emailAddress": address}),
            };
            let response = method.to_json();
            (method, response)
        }
        MethodKind::TemporaryAccessPass => {
            if user
                .methods
                .iter()
                .any(|m| m.kind == MethodKind::TemporaryAccessPass)
            {
                return Err(methods_error(
                    "User already has a Temporary Access Pass; delete it before creating a new one.",
                ));
            }
            let lifetime = match body.get("lifetimeInMinutes") {
                None => 60,
                Some(value) => value
                    .as_i64()
                    .filter(|m| (10..=43200).contains(m))
                    .ok_or_else(|| {
                        methods_error("lifetimeInMinutes must be between 10 and 43200 minutes.")
                    })?,
            };
            let once = body
                .get("isUsableOnce")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let start = body
                .get("startDateTime")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            let pass = generate_tap();
            let properties = json!({
                "startDateTime": start, "lifetimeInMinutes": lifetime, "isUsableOnce": once,
                "isUsable": true, "methodUsabilityReason": "EnabledByPolicy",
            });
            let method = SimAuthMethod {
                id: uuid::Uuid::new_v4().to_string(),
                kind,
                created: now,
                properties,
            };
            let mut response = method.to_json();
            response["temporaryAccessPass"] = json!(pass);
            (method, response)
        }
        _ => {
            return Err(GraphError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "BadRequest",
                format!("The request method 'POST' is not supported for the segment '{segment}'."),
            ));
        }
    };
    if let Some(slot) = state.find_user_mut(&user.id) {
        slot.methods.push(method);
    }
    ok_json(StatusCode::CREATED, response)
}

async fn delete_method(
    State(sim): State<M365Sim>,
    Path((id, segment, method)): Path<(String, String, String)>,
) -> GraphResult {
    let kind = segment_kind(&segment)?;
    let mut state = sim.state.lock();
    let user = lookup(&state, &id)?.clone();
    let Some(target) = user
        .methods
        .iter()
        .find(|m| m.kind == kind && m.id.eq_ignore_ascii_case(&method))
    else {
        return Err(GraphError::not_found(&method));
    };
    if kind == MethodKind::Password {
        return Err(methods_error("The password method cannot be deleted."));
    }
    let is_default = user.default_method.as_deref() == Some(target.id.as_str());
    let others_remain = user.methods.iter().any(|m| {
        m.id != target.id
            && !matches!(
                m.kind,
                MethodKind::Password | MethodKind::TemporaryAccessPass
            )
    });
    if is_default && others_remain {
        return Err(methods_error(
            "The method is the user's default sign-in method and cannot be deleted while other methods are registered. Delete the other methods first.",
        ));
    }
    let target_id = target.id.clone();
    if let Some(slot) = state.find_user_mut(&user.id) {
        slot.methods.retain(|m| m.id != target_id);
        if is_default {
            slot.default_method = None;
        }
    }
    no_content()
}

/// `resetPassword` on the password method: delegated callers only (Graph refuses app-only
/// tokens), 202 with a `Location` to poll, and the generated password when none was given.
async fn reset_password(
    State(sim): State<M365Sim>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path((id, method)): Path<(String, String)>,
    body: Bytes,
) -> GraphResult {
    let body = json_body(&headers, &body)?;
    if !caller.delegated {
        return Err(GraphError::new(
            StatusCode::FORBIDDEN,
            "accessDenied",
            "Request Authorization failed: resetPassword is not supported with application permissions.",
        ));
    }
    if !method.eq_ignore_ascii_case(PASSWORD_METHOD_ID) {
        return Err(GraphError::not_found(&method));
    }
    let given = match body.get("newPassword") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => return Err(methods_error("newPassword must be a string.")),
    };
    if given.as_deref().is_some_and(|p| !password_complex(p)) {
        return Err(complexity_error());
    }
    let mut state = sim.state.lock();
    let user = lookup(&state, &id)?.clone();
    if user.on_premises_sync_enabled {
        return Err(GraphError::on_premises_mastered());
    }
    let generated = given.is_none().then(|| {
        format!(
            "Sim-{}!{}",
            generate_tap(),
            rand::rng().random_range(10..99)
        )
    });
    let password = given.or_else(|| generated.clone()).unwrap_or_default();
    if let Some(slot) = state.find_user_mut(&user.id) {
        slot.password = password;
        slot.force_change_password_next_sign_in = true;
        slot.last_password_change = Utc::now();
    }
    let operation = uuid::Uuid::new_v4();
    let location = format!(
        "{}/v1.0/users/{}/authentication/operations/{operation}",
        origin(&headers),
        user.id
    );
    let mut response = (
        StatusCode::ACCEPTED,
        Json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.passwordResetResponse",
            "newPassword": generated,
        })),
    )
        .into_response();
    response.headers_mut().insert(
        "Location",
        axum::http::HeaderValue::from_str(&location).expect("ASCII URL"),
    );
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// Groups

async fn list_groups(
    State(sim): State<M365Sim>,
    headers: HeaderMap,
    Query(query): Query<QueryMap>,
) -> GraphResult {
    let state = sim.state.lock();
    let objects = state
        .groups
        .iter()
        .map(|g| {
            let mut object = g.to_json();
            object.as_object_mut().map(|m| m.remove("@odata.type"));
            object
        })
        .collect();
    query_collection(
        &headers,
        &query,
        "groups",
        "/v1.0/groups",
        objects,
        None,
        "group",
    )
}

async fn get_group(
    State(sim): State<M365Sim>,
    Path(id): Path<String>,
    Query(query): Query<QueryMap>,
) -> GraphResult {
    let state = sim.state.lock();
    let group = state
        .find_group(&id)
        .ok_or_else(|| GraphError::not_found(&id))?;
    let full = group.to_json();
    let select = query.get("$select").map(String::as_str);
    check_select(select, &full, "group")?;
    let mut body = project(&full, select, None);
    if let Some(map) = body.as_object_mut() {
        map.remove("@odata.type");
        map.insert(
            "@odata.context".into(),
            json!("https://graph.microsoft.com/v1.0/$metadata#groups/$entity"),
        );
    }
    ok_json(StatusCode::OK, body)
}

async fn group_members(
    State(sim): State<M365Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<QueryMap>,
) -> GraphResult {
    let state = sim.state.lock();
    let group = state
        .find_group(&id)
        .ok_or_else(|| GraphError::not_found(&id))?;
    let objects = group
        .members
        .iter()
        .filter_map(|m| state.find_user(m))
        .map(|u| state.user_json(u))
        .collect();
    let path = format!("/v1.0/groups/{id}/members");
    query_collection(
        &headers,
        &query,
        "directoryObjects",
        &path,
        objects,
        Some(USER_DEFAULT),
        "user",
    )
}

/// Membership writes Graph refuses: Exchange-managed, dynamic and synced groups.
fn check_group_writable(group: &super::state::SimGroup) -> Result<(), GraphError> {
    if group.is_exchange_managed() {
        return Err(GraphError::bad_request(
            "Cannot Update a mail-enabled security groups and or distribution list.",
        ));
    }
    if group.is_dynamic() {
        return Err(GraphError::bad_request(
            "Insufficient privileges to complete the operation. Members of a group with dynamic membership are managed by its membership rule.",
        ));
    }
    if group.on_premises_sync_enabled {
        return Err(GraphError::on_premises_mastered());
    }
    Ok(())
}

async fn add_member(
    State(sim): State<M365Sim>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> GraphResult {
    let body = json_body(&headers, &body)?;
    let reference = body
        .get("@odata.id")
        .and_then(Value::as_str)
        .ok_or_else(|| GraphError::bad_request("Invalid request: '@odata.id' is required."))?;
    let member_id = reference
        .rsplit_once("/directoryObjects/")
        .or_else(|| reference.rsplit_once("/users/"))
        .map(|(_, id)| id.trim_end_matches('/').to_string())
        .ok_or_else(|| {
            GraphError::bad_request(format!("Invalid object identifier '{reference}'."))
        })?;
    let mut state = sim.state.lock();
    let group = state
        .find_group(&id)
        .ok_or_else(|| GraphError::not_found(&id))?
        .clone();
    let user_id = lookup(&state, &member_id)?.id.clone();
    check_group_writable(&group)?;
    if group.members.contains(&user_id) {
        return Err(GraphError::bad_request(
            "One or more added object references already exist for the following modified properties: 'members'.",
        ));
    }
    if let Some(group) = state.find_group_mut(&id) {
        group.members.push(user_id);
    }
    state.provision_mailboxes();
    no_content()
}

async fn remove_member(
    State(sim): State<M365Sim>,
    Path((id, member)): Path<(String, String)>,
) -> GraphResult {
    let mut state = sim.state.lock();
    let group = state
        .find_group(&id)
        .ok_or_else(|| GraphError::not_found(&id))?
        .clone();
    check_group_writable(&group)?;
    let user_id = state
        .find_user(&member)
        .map(|u| u.id.clone())
        .unwrap_or(member.clone());
    if !group.members.contains(&user_id) {
        return Err(GraphError::not_found(&member));
    }
    if let Some(group) = state.find_group_mut(&id) {
        group.members.retain(|m| *m != user_id);
    }
    no_content()
}

async fn subscribed_skus(State(sim): State<M365Sim>) -> GraphResult {
    let state = sim.state.lock();
    let value: Vec<Value> = state.skus.iter().map(|sku| state.sku_json(sku)).collect();
    ok_json(
        StatusCode::OK,
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscribedSkus", "value": value}),
    )
}

// ---------------------------------------------------------------------------------------------
// Service health

async fn health_overviews(
    State(sim): State<M365Sim>,
    headers: HeaderMap,
    Query(query): Query<QueryMap>,
) -> GraphResult {
    let objects = sim.state.lock().health_overviews.clone();
    query_collection(
        &headers,
        &query,
        "admin/serviceAnnouncement/healthOverviews",
        "/v1.0/admin/serviceAnnouncement/healthOverviews",
        objects,
        None,
        "serviceHealth",
    )
}

async fn list_issues(
    State(sim): State<M365Sim>,
    headers: HeaderMap,
    Query(query): Query<QueryMap>,
) -> GraphResult {
    let objects = sim.state.lock().issues.clone();
    query_collection(
        &headers,
        &query,
        "admin/serviceAnnouncement/issues",
        "/v1.0/admin/serviceAnnouncement/issues",
        objects,
        None,
        "serviceHealthIssue",
    )
}

async fn get_issue(State(sim): State<M365Sim>, Path(id): Path<String>) -> GraphResult {
    let state = sim.state.lock();
    let issue = state
        .issues
        .iter()
        .find(|i| i.get("id").and_then(Value::as_str) == Some(id.as_str()))
        .ok_or_else(|| GraphError::not_found(&id))?;
    ok_json(StatusCode::OK, issue.clone())
}
