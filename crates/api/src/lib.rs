//! # stackhand-api
//!
//! stackhand's HTTP API over a deployment ([`stackhand_runner::Pipeline`] and its
//! [`Deployment`](stackhand_runner::Deployment)): every call goes through the engine and the
//! policy, as the staff member its token stands for.
//!
//! | method and path | what |
//! |---|---|
//! | `GET /healthz`, `GET /readyz` | liveness; readiness (the store answers) |
//! | `GET /v1/openapi.json` | the OpenAPI document, generated from this crate |
//! | `GET /v1/tenants` | the tenants the token may see |
//! | `POST /v1/tenants/{tenant}/plans` | plan an action request and the policy's decision; nothing executes ([`Engine::preview`](stackhand_core::Engine::preview)) |
//! | `GET /v1/tenants/{tenant}/approvals` | pending approvals |
//! | `POST /v1/tenants/{tenant}/approvals/{id}/approve`, `.../deny` | answer one; the run waiting on it goes on |
//! | `GET /v1/tenants/{tenant}/runs`, `.../runs/{run}` | durable runs and their steps |
//! | `POST /v1/tenants/{tenant}/runs/{run}/undo` | undo a run's executed steps, newest first |
//! | `GET /v1/tenants/{tenant}/audit/verify` | verify the tenant's audit chain |
//!
//! **Tokens.** A call carries `Authorization: Bearer <token>`; tokens are issued by
//! `stackhand tokens create --as <staff id> [--tenant T]...` and kept only as digests
//! ([`stackhand_store::api_tokens`]). A token names a `[[staff]]` member and optionally limits
//! the tenants it works in; what the member may do comes from the staff directory in the tenant
//! at hand, never from the token or the request. MSP staff (technicians, agents) see every
//! tenant; a client's person only the tenants where the directory gives them a role or group.
//!
//! **Refusals.** No or an unknown token answers 401; a tenant the token may not see answers 403,
//! the same whether or not the tenant exists, and each refusal is audited first
//! ([`AuditKind::AccessRefused`](stackhand_core::audit::AuditKind::AccessRefused), ADR 0010;
//! [`ACCESS_CHAIN`] holds those that name no tenant of the deployment). Inside a tenant, an
//! approval or run of another tenant is as unknown as one that does not exist (404). Responses
//! never carry a secret: a temporary password an approval's execution hands over is only named.
//!
//! ## Example
//!
//! The OpenAPI document is generated from the handlers:
//!
//! ```
//! let doc = stackhand_api::openapi();
//! assert!(doc.paths.paths.contains_key("/v1/tenants/{tenant}/plans"));
//! for (method, path) in stackhand_api::routes() {
//!     assert!(doc.paths.paths.contains_key(path), "{method} {path}");
//! }
//! ```
//!
//! Serving a deployment's API, with its PSA callbacks on the same listener:
//!
//! ```no_run
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use stackhand_runner::{Intake, LoadedConfig, Pipeline, callbacks, default_registry};
//!
//! let loaded = LoadedConfig::load(std::path::Path::new("stackhand.toml"))?;
//! let pipeline = Pipeline::open(&loaded, &default_registry()).await?;
//! let tokens = pipeline.deployment().callback_tokens().clone();
//! let intake = Intake::new(pipeline.clone(), "api", std::time::Duration::from_secs(300));
//! let wake = Arc::new(tokio::sync::Notify::new());
//! let app = stackhand_api::Api::new(pipeline)?
//!     .router()
//!     .merge(callbacks::router(intake, &tokens, wake));
//! let (addr, serving) = stackhand_api::serve("127.0.0.1:8080".parse()?, app).await?;
//! println!("serving on http://{addr}");
//! serving.await?;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod auth;
mod error;
mod routes;
pub mod views;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{MethodRouter, get, post};
use stackhand_core::{Error, Result, TenantId};
use stackhand_runner::Pipeline;
use stackhand_store::Store;
use utoipa::OpenApi;

pub use auth::ACCESS_CHAIN;

/// The API over one deployment's pipeline. Cheap to clone.
#[derive(Clone)]
pub struct Api {
    pipeline: Arc<Pipeline>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("tenants", &self.pipeline.deployment().tenants())
            .finish_non_exhaustive()
    }
}

impl Api {
    /// The API of `pipeline`'s deployment (the pipeline takes a ticket on after one of its
    /// run's steps is approved). A deployment with a tenant named [`ACCESS_CHAIN`] is refused:
    /// that chain is the API's own.
    pub fn new(pipeline: Pipeline) -> Result<Self> {
        let reserved = TenantId::new(ACCESS_CHAIN)?;
        if pipeline.deployment().tenants().contains(&reserved) {
            return Err(Error::invalid(format!(
                "tenant id {ACCESS_CHAIN} is reserved for the HTTP API's audit chain of refused \
                 calls; rename that tenant"
            )));
        }
        Ok(Self {
            pipeline: Arc::new(pipeline),
        })
    }

    /// The pipeline (and through it the deployment) the API works on.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    pub(crate) fn store(&self) -> &Arc<Store> {
        self.pipeline.deployment().store()
    }

    /// The router of every API route. Merge the runner's
    /// [`callbacks::router`](stackhand_runner::callbacks::router) into it to take PSA callbacks
    /// on the same listener.
    pub fn router(&self) -> Router {
        table()
            .into_iter()
            .fold(Router::new(), |router, (_, path, handler)| {
                router.route(path, handler)
            })
            .with_state(self.clone())
    }
}

/// Every route: (method, path as in the OpenAPI document, handler). One table, so the router
/// and [`routes`] cannot disagree.
fn table() -> Vec<(&'static str, &'static str, MethodRouter<Api>)> {
    vec![
        ("GET", "/healthz", get(routes::healthz)),
        ("GET", "/readyz", get(routes::readyz)),
        ("GET", "/v1/openapi.json", get(routes::openapi)),
        ("GET", "/v1/tenants", get(routes::tenants)),
        ("POST", "/v1/tenants/{tenant}/plans", post(routes::plan)),
        (
            "GET",
            "/v1/tenants/{tenant}/approvals",
            get(routes::approvals),
        ),
        (
            "POST",
            "/v1/tenants/{tenant}/approvals/{id}/approve",
            post(routes::approve),
        ),
        (
            "POST",
            "/v1/tenants/{tenant}/approvals/{id}/deny",
            post(routes::deny),
        ),
        ("GET", "/v1/tenants/{tenant}/runs", get(routes::runs)),
        ("GET", "/v1/tenants/{tenant}/runs/{run}", get(routes::run)),
        (
            "POST",
            "/v1/tenants/{tenant}/runs/{run}/undo",
            post(routes::undo),
        ),
        (
            "GET",
            "/v1/tenants/{tenant}/audit/verify",
            get(routes::audit_verify),
        ),
    ]
}

/// Every route the [`Api::router`] serves, as (method, path).
pub fn routes() -> Vec<(&'static str, &'static str)> {
    table()
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "stackhand",
        description = "Plans, approvals, runs, undo and audit verification of a stackhand \
                       deployment. Every call goes through the engine and the policy as the \
                       staff member its API token stands for."
    ),
    paths(
        routes::healthz,
        routes::readyz,
        routes::openapi,
        routes::tenants,
        routes::plan,
        routes::approvals,
        routes::approve,
        routes::deny,
        routes::runs,
        routes::run,
        routes::undo,
        routes::audit_verify,
        routes::callbacks,
    ),
    modifiers(&BearerScheme)
)]
struct Document;

/// The `bearer` security scheme the authenticated paths name.
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "an API token from `stackhand tokens create --as <staff id>`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document of the API (served at `/v1/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = Document::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// Serve `app` on `addr` in the background; answers the address it listens on (a port of 0
/// picks a free one) and the serving task.
pub async fn serve(
    addr: SocketAddr,
    app: Router,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    stackhand_runner::callbacks::serve_router(addr, app, "the HTTP API").await
}
