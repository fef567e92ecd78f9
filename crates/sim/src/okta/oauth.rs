//! The org authorization server's token endpoint: client credentials with a `private_key_jwt`
//! client assertion, answered in OAuth 2.0's error shape (`error`, `error_description`).

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::Utc;
use serde_json::{Value, json};

use super::{IssuedToken, OktaSim, SignedAssertion};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Okta refuses assertions that live longer than an hour.
const MAX_ASSERTION_LIFETIME_SECS: i64 = 3600;

fn oauth_error(status: StatusCode, error: &str, description: impl Into<String>) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description.into()})),
    )
        .into_response()
}

fn invalid_client(description: impl Into<String>) -> Response {
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description)
}

fn invalid_request(description: impl Into<String>) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// Store a new access token with `scopes` and return it.
pub(crate) fn issue(sim: &OktaSim, scopes: Vec<String>) -> String {
    let token = format!("sim.{}", super::model::new_id("at."));
    let expires = Instant::now() + sim.config.access_token_ttl;
    sim.state
        .lock()
        .tokens
        .insert(token.clone(), IssuedToken { scopes, expires });
    token
}

fn decode_segment(segment: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .ok()
}

/// `POST /oauth2/v1/token`.
pub(crate) async fn token(State(sim): State<OktaSim>, headers: HeaderMap, body: Bytes) -> Response {
    let form_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !form_type.starts_with("application/x-www-form-urlencoded") {
        return invalid_request("The request must be application/x-www-form-urlencoded.");
    }
    let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return invalid_request("The request body is not a valid form.");
    };
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if headers.contains_key("authorization") || field("client_secret").is_some() {
        return invalid_client(
            "Client Credentials requests with okta.* scopes must authenticate with private_key_jwt, not a client secret.",
        );
    }
    match field("grant_type") {
        Some("client_credentials") => {}
        Some(other) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!(
                    "The authorization grant type '{other}' is not supported by the authorization server."
                ),
            );
        }
        None => return invalid_request("The 'grant_type' parameter is required."),
    }
    if field("client_assertion_type") != Some(JWT_BEARER) {
        return invalid_client(format!("The client_assertion_type must be '{JWT_BEARER}'."));
    }
    let Some(assertion) = field("client_assertion") else {
        return invalid_client("The 'client_assertion' parameter is required.");
    };
    let token_url = format!("{}/oauth2/v1/token", super::api::org_url(&sim, &headers));
    let client = match check_assertion(&sim, assertion, &token_url) {
        Ok(client) => client,
        Err(description) => return invalid_client(description),
    };
    let Some(requested) = field("scope").filter(|s| !s.trim().is_empty()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "The authorization server resource does not have any configured default scopes, 'scope' must be provided.",
        );
    };
    let scopes: Vec<String> = requested.split_whitespace().map(str::to_string).collect();
    if let Some(missing) = scopes.iter().find(|s| !client.scopes.contains(s)) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            format!("The scope '{missing}' is not granted to the client."),
        );
    }
    let ttl = sim.config.access_token_ttl.as_secs();
    let access_token = issue(&sim, scopes.clone());
    (
        StatusCode::OK,
        [("cache-control", "no-store"), ("pragma", "no-cache")],
        axum::Json(json!({
            "token_type": "Bearer",
            "expires_in": ttl,
            "access_token": access_token,
            "scope": scopes.join(" "),
        })),
    )
        .into_response()
}

/// Check a client assertion; returns the client it authenticates, or what is wrong with it.
fn check_assertion(
    sim: &OktaSim,
    assertion: &str,
    token_url: &str,
) -> Result<super::OAuthClient, String> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts.as_slice() else {
        return Err(
            "The client_assertion is not a well-formed JWT (three segments expected).".into(),
        );
    };
    let parse = |segment: &str, what: &str| -> Result<Value, String> {
        let bytes = decode_segment(segment)
            .ok_or_else(|| format!("The client_assertion {what} is not base64url."))?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|_| format!("The client_assertion {what} is not JSON."))?;
        value
            .is_object()
            .then_some(value)
            .ok_or_else(|| format!("The client_assertion {what} is not a JSON object."))
    };
    let header = parse(header_b64, "header")?;
    let payload = parse(payload_b64, "payload")?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !matches!(
        alg,
        "RS256" | "RS384" | "RS512" | "ES256" | "ES384" | "ES512"
    ) {
        return Err(format!(
            "The client_assertion algorithm '{alg}' is not supported."
        ));
    }
    let signature = decode_segment(signature_b64)
        .filter(|s| !s.is_empty())
        .ok_or("The client_assertion signature is missing or not base64url.")?;
    let claim = |name: &str| payload.get(name).and_then(Value::as_str);
    let iss = claim("iss").ok_or("The client_assertion has no 'iss' claim.")?;
    let sub = claim("sub").ok_or("The client_assertion has no 'sub' claim.")?;
    if iss != sub {
        return Err(
            "The client_assertion 'iss' and 'sub' claims must both be the client id.".into(),
        );
    }
    let client = sim
        .config
        .clients
        .iter()
        .find(|c| c.client_id == iss)
        .cloned()
        .ok_or_else(|| format!("The client '{iss}' is not registered."))?;
    let audience_ok = match payload.get("aud") {
        Some(Value::String(aud)) => aud == token_url,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(token_url)),
        _ => false,
    };
    if !audience_ok {
        return Err(format!(
            "The audience claim for client_assertion must be the endpoint invoked for the request: {token_url}."
        ));
    }
    let now = Utc::now().timestamp();
    let exp = payload
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or("The client_assertion has no numeric 'exp' claim.")?;
    if exp <= now {
        return Err("The client_assertion token is expired.".into());
    }
    let issued = payload.get("iat").and_then(Value::as_i64).unwrap_or(now);
    if exp - issued > MAX_ASSERTION_LIFETIME_SECS {
        return Err("The client_assertion token has an expiration too far in the future.".into());
    }
    if let Some(verify) = &client.verifier {
        let signing_input = format!("{header_b64}.{payload_b64}");
        let signed = SignedAssertion {
            header: &header,
            signing_input: &signing_input,
            signature: &signature,
        };
        if !verify(&signed) {
            return Err("The client_assertion signature is invalid.".into());
        }
    }
    if let Some(jti) = claim("jti") {
        let mut state = sim.state.lock();
        if !state.used_jtis.insert(jti.to_string()) {
            return Err("The client_assertion token has already been used.".into());
        }
    }
    Ok(client)
}
