//! The org authorization server's token endpoint: client credentials with a `private_key_jwt`
//! client assertion, answered in OAuth 2.0's error shape (`error`, `error_description`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::Value;

use super::{OktaSim, SignedAssertion, TokenGrant};
use crate::oauth::{
    self, ClientAssertion, ClientAuth, FormError, GrantError, JWT_BEARER, TokenForm,
};

/// Okta refuses assertions that live longer than an hour.
const MAX_ASSERTION_LIFETIME_SECS: i64 = 3600;

fn invalid_client(description: impl Into<String>) -> Response {
    oauth::error(StatusCode::UNAUTHORIZED, "invalid_client", description)
}

fn invalid_request(description: impl Into<String>) -> Response {
    oauth::error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// Store a new access token with `scopes` and return it.
pub(crate) fn issue(sim: &OktaSim, scopes: Vec<String>) -> String {
    let token = format!("sim.{}", super::model::new_id("at."));
    sim.state
        .lock()
        .tokens
        .issue(token, sim.config.access_token_ttl, TokenGrant { scopes })
}

/// `POST /oauth2/v1/token`.
pub(crate) async fn token(State(sim): State<OktaSim>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match TokenForm::parse(&headers, &body) {
        Ok(form) => form,
        Err(FormError::NotForm) => {
            return invalid_request("The request must be application/x-www-form-urlencoded.");
        }
        Err(FormError::Malformed) => {
            return invalid_request("The request body is not a valid form.");
        }
    };
    let client_auth = form.client_auth();
    if headers.contains_key("authorization")
        || matches!(client_auth, ClientAuth::Secret(_) | ClientAuth::Both)
    {
        return invalid_client(
            "Client Credentials requests with okta.* scopes must authenticate with private_key_jwt, not a client secret.",
        );
    }
    match form.client_credentials() {
        Ok(()) => {}
        Err(GrantError::Unsupported(other)) => {
            return oauth::error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!(
                    "The authorization grant type '{other}' is not supported by the authorization server."
                ),
            );
        }
        Err(GrantError::Missing) => {
            return invalid_request("The 'grant_type' parameter is required.");
        }
    }
    if !form.assertion_typed() {
        return invalid_client(format!("The client_assertion_type must be '{JWT_BEARER}'."));
    }
    let ClientAuth::Assertion(assertion) = client_auth else {
        return invalid_client("The 'client_assertion' parameter is required.");
    };
    let token_url = format!("{}/oauth2/v1/token", super::api::org_url(&sim, &headers));
    let client = match check_assertion(&sim, assertion, &token_url) {
        Ok(client) => client,
        Err(description) => return invalid_client(description),
    };
    let Some(requested) = form.field("scope").filter(|s| !s.trim().is_empty()) else {
        return oauth::error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "The authorization server resource does not have any configured default scopes, 'scope' must be provided.",
        );
    };
    let scopes: Vec<String> = requested.split_whitespace().map(str::to_string).collect();
    if let Some(missing) = scopes.iter().find(|s| !client.scopes.contains(s)) {
        return oauth::error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            format!("The scope '{missing}' is not granted to the client."),
        );
    }
    let ttl = sim.config.access_token_ttl.as_secs();
    let mut body = oauth::token_body(&issue(&sim, scopes.clone()), ttl);
    body.insert("scope".into(), Value::String(scopes.join(" ")));
    (
        StatusCode::OK,
        [("cache-control", "no-store"), ("pragma", "no-cache")],
        axum::Json(body),
    )
        .into_response()
}

/// Check a client assertion; returns the client it authenticates, or what is wrong with it.
fn check_assertion(
    sim: &OktaSim,
    assertion: &str,
    token_url: &str,
) -> Result<super::OAuthClient, String> {
    let assertion = ClientAssertion::parse(assertion).map_err(|e| e.to_string())?;
    let alg = assertion.header_str("alg").unwrap_or_default();
    if !matches!(
        alg,
        "RS256" | "RS384" | "RS512" | "ES256" | "ES384" | "ES512"
    ) {
        return Err(format!(
            "The client_assertion algorithm '{alg}' is not supported."
        ));
    }
    let signature = assertion
        .signature()
        .ok_or("The client_assertion signature is missing or not base64url.")?;
    let iss = assertion
        .claim("iss")
        .ok_or("The client_assertion has no 'iss' claim.")?;
    let sub = assertion
        .claim("sub")
        .ok_or("The client_assertion has no 'sub' claim.")?;
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
    if !assertion.audiences().contains(&token_url) {
        return Err(format!(
            "The audience claim for client_assertion must be the endpoint invoked for the request: {token_url}."
        ));
    }
    let now = Utc::now().timestamp();
    let exp = assertion
        .number("exp")
        .ok_or("The client_assertion has no numeric 'exp' claim.")?;
    if exp <= now {
        return Err("The client_assertion token is expired.".into());
    }
    let issued = assertion.number("iat").unwrap_or(now);
    if exp - issued > MAX_ASSERTION_LIFETIME_SECS {
        return Err("The client_assertion token has an expiration too far in the future.".into());
    }
    if let Some(verify) = &client.verifier {
        let signed = SignedAssertion {
            header: assertion.header(),
            signing_input: assertion.signing_input(),
            signature: &signature,
        };
        if !verify(&signed) {
            return Err("The client_assertion signature is invalid.".into());
        }
    }
    if let Some(jti) = assertion.claim("jti") {
        let mut state = sim.state.lock();
        if !state.used_jtis.insert(jti.to_string()) {
            return Err("The client_assertion token has already been used.".into());
        }
    }
    Ok(client)
}
