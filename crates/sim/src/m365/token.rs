//! The Microsoft identity platform token endpoint, client credentials only:
//! `POST /{tenant}/oauth2/v2.0/token` with a form body.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::M365Sim;
use super::state::{Audience, IssuedToken};

/// The JWT bearer assertion type of certificate credentials.
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An AADSTS error in the token endpoint's own (non-Graph) shape.
fn aad_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let trace = uuid::Uuid::new_v4().to_string();
    let body = json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {trace} Timestamp: {}",
            Utc::now().format("%Y-%m-%d %H:%M:%SZ")),
        "error_codes": [code],
        "timestamp": Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
        "trace_id": trace,
        "correlation_id": trace,
    });
    (status, Json(body)).into_response()
}

fn audience_of(scope: &str) -> Option<Audience> {
    match scope.trim() {
        "https://graph.microsoft.com/.default" => Some(Audience::Graph),
        "https://outlook.office365.com/.default" => Some(Audience::Exchange),
        _ => None,
    }
}

/// The decoded header and payload of a compact JWT (the signature is not checked: the
/// simulator has no key material, it checks the claims and the certificate thumbprint).
fn jwt_parts(token: &str) -> Option<(Value, Value)> {
    let mut parts = token.split('.');
    let decode = |part: &str| -> Option<Value> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let header = decode(parts.next()?)?;
    let payload = decode(parts.next()?)?;
    parts.next()?;
    Some((header, payload))
}

pub(crate) async fn token(
    State(sim): State<M365Sim>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        );
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let mut state = sim.state.lock();
    let tenant_known = tenant.eq_ignore_ascii_case(&state.tenant_id)
        || state
            .verified_domains
            .iter()
            .any(|domain| domain.eq_ignore_ascii_case(&tenant));
    if !tenant_known {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    let Some(grant_type) = field("grant_type") else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        );
    };
    if grant_type != "client_credentials" {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    let Some(client_id) = field("client_id") else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    if client_id != state.app.client_id {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'.",
                state.tenant_id
            ),
        );
    }
    match (field("client_secret"), field("client_assertion")) {
        (Some(secret), None) => {
            if secret != state.app.client_secret {
                return aad_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    7000215,
                    &format!(
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                    ),
                );
            }
        }
        (None, Some(assertion)) => {
            if field("client_assertion_type") != Some(ASSERTION_TYPE) {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    50027,
                    "Invalid JWT token. The client_assertion_type must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
                );
            }
            let Some((header, payload)) = jwt_parts(assertion) else {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    50027,
                    "Invalid JWT token. Token format not valid.",
                );
            };
            let thumbprint = header
                .get("x5t")
                .or_else(|| header.get("x5t#S256"))
                .and_then(Value::as_str);
            if thumbprint != Some(state.app.certificate_thumbprint.as_str()) {
                return aad_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    700027,
                    "The certificate with identifier used to sign the client assertion is not registered on application.",
                );
            }
            let claim = |name: &str| payload.get(name).and_then(Value::as_str);
            let expires = payload.get("exp").and_then(Value::as_i64).unwrap_or(0);
            if claim("iss") != Some(client_id) || claim("sub") != Some(client_id) {
                return aad_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    700023,
                    "Client assertion audience claim does not match Realm issuer.",
                );
            }
            if claim("aud").is_none_or(|aud| !aud.ends_with("/oauth2/v2.0/token")) {
                return aad_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    700021,
                    "Client assertion application identifier doesn't match 'client_id' parameter.",
                );
            }
            if expires <= Utc::now().timestamp() {
                return aad_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    700024,
                    "Client assertion is not within its valid time range.",
                );
            }
        }
        _ => {
            return aad_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            );
        }
    }
    let scope = field("scope").unwrap_or_default();
    let Some(audience) = audience_of(scope) else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    };
    let access_token = issue(&mut state, audience, Duration::seconds(3599), false);
    Json(json!({
        "token_type": "Bearer",
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "access_token": access_token,
    }))
    .into_response()
}

/// Mint a token for an audience (used by the endpoint and by tests that play the caller's
/// delegated token).
pub(crate) fn issue(
    state: &mut super::state::TenantState,
    audience: Audience,
    lifetime: Duration,
    delegated: bool,
) -> String {
    let prefix = match audience {
        Audience::Graph => "eyJ0eXAiOiJKV1QiLCJhdWQiOiJncmFwaCJ9",
        Audience::Exchange => "eyJ0eXAiOiJKV1QiLCJhdWQiOiJleG8ifQ",
    };
    let token = format!("{prefix}.{}", uuid::Uuid::new_v4().simple());
    state.tokens.insert(
        token.clone(),
        IssuedToken {
            audience,
            expires_at: Utc::now() + lifetime,
            delegated,
        },
    );
    token
}

/// Why a bearer token was refused.
pub(crate) enum TokenProblem {
    Missing,
    Unknown,
    Expired,
    WrongAudience,
}

/// Check the `Authorization: Bearer` header for a live token of `audience`; answers whether
/// it is a delegated token.
pub(crate) fn check(
    sim: &M365Sim,
    headers: &HeaderMap,
    audience: Audience,
) -> Result<bool, TokenProblem> {
    let Some(token) = crate::server::bearer_token(headers) else {
        return Err(TokenProblem::Missing);
    };
    let state = sim.state.lock();
    let Some(issued) = state.tokens.get(token) else {
        return Err(TokenProblem::Unknown);
    };
    if issued.expires_at <= Utc::now() {
        return Err(TokenProblem::Expired);
    }
    if issued.audience != audience {
        return Err(TokenProblem::WrongAudience);
    }
    Ok(issued.delegated)
}
