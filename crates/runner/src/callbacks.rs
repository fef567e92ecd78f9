//! The PSA callback endpoint: `POST /callbacks/<tenant>?token=<secret>`, for the PSAs that call
//! back when a ticket changes (ConnectWise callbacks), so a ticket is taken within seconds
//! instead of at the next poll.
//!
//! A callback only says *which* ticket changed: the payload is parsed by the tenant's PSA
//! connector ([`Psa::parse_callback`](stackhand_core::Psa::parse_callback)) for the ticket id,
//! and the ticket is then read again from the PSA itself, so a forged body can at most make
//! stackhand look at a real ticket early. The token is the tenant's own `callback_token`
//! credential (compared by digest); an unknown tenant and a wrong token get the same `404`, so
//! the endpoint does not tell which tenants exist. Accepted tickets are enqueued once, like
//! polled ones, and the runner is woken to take them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use stackhand_core::{ErrorKind, TenantId};
use tokio::sync::Notify;

use crate::intake::Intake;

/// What the endpoint needs: the intake to enqueue on, each tenant's token, and whom to wake.
#[derive(Clone)]
struct Callbacks {
    intake: Intake,
    tokens: Arc<HashMap<TenantId, [u8; 32]>>,
    wake: Arc<Notify>,
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: Option<String>,
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// The router of the callback endpoint. `tokens` are the tenants that take callbacks, each with
/// its secret; `wake` is notified whenever a ticket is enqueued.
pub fn router<'a>(
    intake: Intake,
    tokens: impl IntoIterator<Item = (&'a TenantId, &'a SecretString)>,
    wake: Arc<Notify>,
) -> Router {
    let tokens = tokens
        .into_iter()
        .map(|(tenant, token)| (tenant.clone(), digest(token.expose_secret())))
        .collect();
    Router::new()
        .route("/callbacks/{tenant}", post(callback))
        .with_state(Callbacks {
            intake,
            tokens: Arc::new(tokens),
            wake,
        })
}

fn answer(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "message": message.into() }))).into_response()
}

async fn callback(
    State(callbacks): State<Callbacks>,
    Path(tenant): Path<String>,
    Query(query): Query<TokenQuery>,
    body: Bytes,
) -> Response {
    let not_found = || answer(StatusCode::NOT_FOUND, "no such callback");
    let Ok(tenant) = TenantId::new(tenant) else {
        return not_found();
    };
    let given = query.token.as_deref().map(digest);
    match callbacks.tokens.get(&tenant) {
        Some(expected) if given.as_ref() == Some(expected) => {}
        _ => return not_found(),
    }
    let payload: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(payload) => payload,
        Err(e) => {
            return answer(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {e}"),
            );
        }
    };
    match callbacks.intake.take_callback(&tenant, &payload).await {
        Ok(queued) => {
            if queued {
                callbacks.wake.notify_one();
            }
            answer(
                StatusCode::ACCEPTED,
                if queued { "queued" } else { "already queued" },
            )
        }
        Err(err) => {
            let status = match err.kind() {
                ErrorKind::Invalid => StatusCode::BAD_REQUEST,
                ErrorKind::NotFound => StatusCode::NOT_FOUND,
                ErrorKind::Unsupported => StatusCode::NOT_IMPLEMENTED,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            tracing::warn!(%tenant, error = %err, "a PSA callback was refused");
            answer(status, err.message())
        }
    }
}

/// Serve the callback endpoint on `addr` in the background; answers the address it listens
/// on (a port of 0 picks a free one) and the serving task.
pub async fn serve<'a>(
    addr: std::net::SocketAddr,
    intake: Intake,
    tokens: impl IntoIterator<Item = (&'a TenantId, &'a SecretString)>,
    wake: Arc<Notify>,
) -> stackhand_core::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    serve_router(
        addr,
        router(intake, tokens, wake),
        "the PSA callback endpoint",
    )
    .await
}

/// Serve `app` on `addr` in the background (`what` names it in errors); answers the address it
/// listens on (a port of 0 picks a free one) and the serving task.
pub async fn serve_router(
    addr: std::net::SocketAddr,
    app: Router,
    what: &'static str,
) -> stackhand_core::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let refused = |e: std::io::Error| {
        stackhand_core::Error::invalid(format!("cannot listen for {what} on {addr}: {e}"))
    };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(refused)?;
    let bound = listener.local_addr().map_err(refused)?;
    let handle = tokio::spawn(async move {
        // With the peer's address, which the API budgets refused calls by.
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(%err, "{what} stopped");
        }
    });
    Ok((bound, handle))
}
