//! The Microsoft identity platform token endpoint, client credentials only:
//! `POST /{tenant}/oauth2/v2.0/token` with a form body.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

use super::M365Sim;
use super::state::{Audience, TokenGrant};
use crate::oauth::{self, ClientAssertion, ClientAuth, FormError, GrantError, TokenForm};

/// How long an issued access token lives, in seconds, as Entra answers.
const TOKEN_LIFETIME_SECS: u64 = 3599;

/// An AADSTS error: RFC 6749's members, the code in the description, and the identity
/// platform's own trace members.
fn aad_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let trace = uuid::Uuid::new_v4().to_string();
    let timestamp = Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
    let mut body = oauth::error_body(
        error,
        format!(
            "AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {trace} Timestamp: {timestamp}"
        ),
    );
    body.insert("error_codes".into(), json!([code]));
    body.insert("timestamp".into(), json!(timestamp));
    body.insert("trace_id".into(), json!(trace));
    body.insert("correlation_id".into(), json!(trace));
    (status, Json(body)).into_response()
}

/// AADSTS900144, the answer to any missing required form field.
fn missing(parameter: &str) -> Response {
    aad_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{parameter}'."),
    )
}

fn audience_of(scope: &str) -> Option<Audience> {
    match scope.trim() {
        "https://graph.microsoft.com/.default" => Some(Audience::Graph),
        "https://outlook.office365.com/.default" => Some(Audience::Exchange),
        _ => None,
    }
}

/// Entra's refusal of a certificate credential, checking the thumbprint and then the claims;
/// `None` when it is accepted. The signature is not checked: the simulator has no key
/// material.
fn refuse_assertion(assertion: &str, client_id: &str, thumbprint: &str) -> Option<Response> {
    let Ok(assertion) = ClientAssertion::parse(assertion) else {
        return Some(aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50027,
            "Invalid JWT token. Token format not valid.",
        ));
    };
    let presented = assertion
        .header_str("x5t")
        .or_else(|| assertion.header_str("x5t#S256"));
    let (code, description) = if presented != Some(thumbprint) {
        (
            700027,
            "The certificate with identifier used to sign the client assertion is not registered on application.",
        )
    } else if assertion.claim("iss") != Some(client_id) || assertion.claim("sub") != Some(client_id)
    {
        (
            700023,
            "Client assertion audience claim does not match Realm issuer.",
        )
    } else if assertion
        .claim("aud")
        .is_none_or(|aud| !aud.ends_with("/oauth2/v2.0/token"))
    {
        (
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
        )
    } else if assertion.number("exp").unwrap_or(0) <= Utc::now().timestamp() {
        (
            700024,
            "Client assertion is not within its valid time range.",
        )
    } else {
        return None;
    };
    Some(aad_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        code,
        description,
    ))
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) async fn token(
    State(sim): State<M365Sim>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Entra reads a malformed form as an empty one, and then misses its fields.
    let form = match TokenForm::parse(&headers, &body) {
        Ok(form) => form,
        Err(FormError::Malformed) => TokenForm::default(),
        Err(FormError::NotForm) => return missing("grant_type"),
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
    match form.client_credentials() {
        Ok(()) => {}
        Err(GrantError::Missing) => return missing("grant_type"),
        Err(GrantError::Unsupported(_)) => {
            return aad_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type.",
            );
        }
    }
    let Some(client_id) = form.field("client_id") else {
        return missing("client_id");
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
    match form.client_auth() {
        ClientAuth::Secret(secret) => {
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
        ClientAuth::Assertion(assertion) => {
            if !form.assertion_typed() {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    50027,
                    "Invalid JWT token. The client_assertion_type must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
                );
            }
            if let Some(refusal) =
                refuse_assertion(assertion, client_id, &state.app.certificate_thumbprint)
            {
                return refusal;
            }
        }
        ClientAuth::Both | ClientAuth::Neither => {
            return aad_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            );
        }
    }
    let scope = form.field("scope").unwrap_or_default();
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
    let access_token = issue(
        &mut state,
        audience,
        Duration::from_secs(TOKEN_LIFETIME_SECS),
        false,
    );
    let mut body = oauth::token_body(&access_token, TOKEN_LIFETIME_SECS);
    body.insert("ext_expires_in".into(), json!(TOKEN_LIFETIME_SECS));
    Json(Value::Object(body)).into_response()
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
    state.tokens.issue(
        token,
        lifetime,
        TokenGrant {
            audience,
            delegated,
        },
    )
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
    let grant = state.tokens.check(token).map_err(|refused| match refused {
        oauth::TokenRefused::Unknown => TokenProblem::Unknown,
        oauth::TokenRefused::Expired => TokenProblem::Expired,
    })?;
    if grant.audience != audience {
        return Err(TokenProblem::WrongAudience);
    }
    Ok(grant.delegated)
}
