//! `POST /ws/oauth/token`: client credentials with the secret in the form body, for scopes the
//! API app was granted; errors in OAuth 2.0's shape (`error`, `error_description`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{Grant, NinjaOneSim};
use crate::oauth::{self, ClientAuth, FormError, GrantError, TokenForm};

fn invalid_request(description: &str) -> Response {
    oauth::error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// Store a new access token with `scopes` and return it.
pub(crate) fn issue(sim: &NinjaOneSim, scopes: Vec<String>) -> String {
    let token = format!("sim-ninjaone-at-{}", uuid::Uuid::new_v4().simple());
    sim.state
        .lock()
        .tokens
        .issue(token, sim.config.access_token_ttl, Grant { scopes })
}

/// `POST /ws/oauth/token`.
pub(crate) async fn token(
    State(sim): State<NinjaOneSim>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match TokenForm::parse(&headers, &body) {
        Ok(form) => form,
        Err(FormError::NotForm) => {
            return invalid_request("The request must be application/x-www-form-urlencoded.");
        }
        Err(FormError::Malformed) => return invalid_request("The request body is not a form."),
    };
    match form.client_credentials() {
        Ok(()) => {}
        Err(GrantError::Unsupported(other)) => {
            return oauth::error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("Unsupported grant type: {other}"),
            );
        }
        Err(GrantError::Missing) => return invalid_request("Missing grant_type."),
    }
    let client = form.field("client_id").and_then(|id| {
        sim.config
            .clients
            .iter()
            .find(|c| c.client_id == id)
            .cloned()
    });
    let authenticated = match (&client, form.client_auth()) {
        (Some(client), ClientAuth::Secret(secret)) => client.client_secret == secret,
        _ => false,
    };
    let Some(client) = client.filter(|_| authenticated) else {
        return oauth::error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Bad client credentials",
        );
    };
    // No `scope` asks for everything the app was granted (RFC 6749 §3.3's default).
    let scopes: Vec<String> = match form.field("scope").filter(|s| !s.trim().is_empty()) {
        Some(requested) => requested.split_whitespace().map(str::to_string).collect(),
        None => client.scopes.clone(),
    };
    if let Some(missing) = scopes.iter().find(|s| !client.scopes.contains(s)) {
        return oauth::error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            format!("Invalid scope: {missing}"),
        );
    }
    let ttl = sim.config.access_token_ttl.as_secs();
    let mut body = oauth::token_body(&issue(&sim, scopes.clone()), ttl);
    body.insert("scope".into(), Value::String(scopes.join(" ")));
    (
        StatusCode::OK,
        [("cache-control", "no-store")],
        axum::Json(body),
    )
        .into_response()
}
