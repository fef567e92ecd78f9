//! `stackhand-mcp`: stackhand as a [Model Context Protocol](https://modelcontextprotocol.io)
//! server, so an AI agent (Claude, Copilot, an in-house agent) resolves tickets through
//! stackhand under the tenant's policy instead of with raw vendor access.
//!
//! One [`McpServer`] serves one tenant as one agent:
//!
//! - each of the tenant's actions ([`Engine::actions`](stackhand_core::Engine::actions)) is a
//!   tool named from its id ([`tool_name`]: `identity.reset_password` →
//!   `identity_reset_password`), with the action's JSON schema as its input schema and its
//!   summary and risk in its description. A call is submitted through
//!   [`Engine::submit`](stackhand_core::Engine::submit) with the agent
//!   ([`Principal::agent`](stackhand_core::Principal::agent)) as the requester, so the policy
//!   decides it and the engine audits it like any other request. Besides the action's
//!   parameters a call takes `idempotency_key` (a retry with the same key answers with the
//!   first result) and `wait_seconds` (how long to wait for a decision when the call needs
//!   approval). A denied call is a tool error naming the
//!   rule; one that needs approval answers with the approval id; input that breaks the schema
//!   is a tool error naming the field. No tool approves: an agent never does.
//! - three read-only tools read through the tenant's connectors and never write:
//!   `find_user` (identity provider), `read_ticket` (PSA ticket and notes) and
//!   `list_user_devices` (RMM).
//!
//! It speaks MCP over stdio ([`serve_stdio`], what desktop clients launch) or streamable HTTP
//! ([`serve_http`]) behind a [`Gate`]: [`TokenGate`] admits only the deployment's API tokens of
//! the server's agent in its tenant, and audits every refusal. The `stackhand mcp` command
//! opens a deployment from `stackhand.toml` and runs one of them.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use stackhand_core::audit::MemoryAuditSink;
//! use stackhand_core::memory::MemoryConnector;
//! use stackhand_core::policy::PolicyLoader;
//! use stackhand_core::{ConnectorSet, Engine, Tenant, TenantId};
//! use stackhand_mcp::McpServer;
//!
//! let policy = PolicyLoader::new()
//!     .add_str("global.toml", r#"
//!         [scope]
//!         global = true
//!         [[rules]]
//!         id = "agents-unlock"
//!         actions = ["identity.unlock"]
//!         effect = "allow"
//!         [rules.when]
//!         requester_kinds = ["agent"]
//!     "#)
//!     .build()
//!     .unwrap();
//! let engine = Engine::builder(Arc::new(policy), Arc::new(MemoryAuditSink::new())).build();
//! let tenant = TenantId::new("acme").unwrap();
//! let memory = MemoryConnector::demo(tenant.clone());
//! let connectors = ConnectorSet::new(tenant.clone()).with(Arc::new(memory)).unwrap();
//! engine.add_tenant(Tenant::new(tenant.clone(), "Acme"), connectors).unwrap();
//!
//! let server = McpServer::new(engine, tenant, "helpdesk-agent").unwrap();
//! let names: Vec<&str> = server.tools().iter().map(|t| t.name.as_ref()).collect();
//! assert!(names.contains(&"identity_unlock") && names.contains(&"find_user"));
//!
//! // What `tools/call` does: the policy allows the agent an unlock...
//! let args = serde_json::json!({"user": "bob@acme.example"});
//! let unlock = server.call("identity_unlock", args.as_object().unwrap().clone()).await.unwrap();
//! assert_eq!(unlock.is_error, Some(false));
//! // ...and nothing else: a reset is denied, and the answer names why.
//! let reset = server.call("identity_reset_password", args.as_object().unwrap().clone()).await.unwrap();
//! assert_eq!(reset.is_error, Some(true));
//! assert_eq!(reset.structured_content.unwrap()["status"], "denied");
//! // Serve it to a client: stackhand_mcp::serve_stdio(server).await
//! # });
//! ```

#![deny(missing_docs)]

mod gate;
mod server;
mod tools;

use std::future::Future;
use std::io;
use std::sync::Arc;

use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

pub use gate::TokenGate;
pub use server::McpServer;
pub use tools::{
    FIND_USER, IDEMPOTENCY_KEY, LIST_USER_DEVICES, MAX_WAIT_SECONDS, READ_TICKET, WAIT_SECONDS,
    tool_name,
};

/// The path the streamable HTTP transport answers on.
pub const HTTP_PATH: &str = "/mcp";

/// Serve `server` over standard input and output until the client closes them.
///
/// Standard output carries the protocol only: log to standard error.
pub async fn serve_stdio(server: McpServer) -> io::Result<()> {
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(io::Error::other)?;
    running.waiting().await.map_err(io::Error::other)?;
    Ok(())
}

/// A request knocking on the streamable HTTP transport, as a [`Gate`] sees it.
#[derive(Debug, Clone, Copy)]
pub struct Knock<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The path asked for.
    pub path: &'a str,
    /// The bearer token of the `Authorization` header, if it has one.
    pub bearer: Option<&'a str>,
    /// The peer's address.
    pub source: Option<std::net::IpAddr>,
}

/// A [`Gate`]'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The request goes on to the MCP session.
    Admitted,
    /// 401: no credentials, or ones that authenticate nobody.
    Unauthenticated,
    /// 403: the credentials authenticate someone who may not use this server.
    Forbidden,
    /// 503: the gate cannot tell (its store does not answer); refused, and worth a retry.
    Unavailable,
    /// 429: refused, and the source has been refused too often lately; come back after this
    /// many seconds (`Retry-After`).
    Throttled(u64),
}

/// Who may use the streamable HTTP transport: [`serve_http`] asks it about every request
/// before the request reaches an MCP session. It records its own refusals (the answer to the
/// client says no more than 401 or 403).
#[async_trait::async_trait]
pub trait Gate: Send + Sync + 'static {
    /// Admit or refuse `knock`.
    async fn admit(&self, knock: Knock<'_>) -> Admission;
}

/// Serve `server` over streamable HTTP on `listener`, at [`HTTP_PATH`], until `shutdown`
/// completes, admitting only the requests `gate` admits.
///
/// The transport itself authenticates nobody: the gate is what stands between a caller and the
/// agent's tools. Requests naming a `Host` other than loopback are refused (DNS rebinding), so
/// bind it to loopback.
pub async fn serve_http(
    server: McpServer,
    listener: tokio::net::TcpListener,
    gate: Arc<dyn Gate>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let service: StreamableHttpService<McpServer, LocalSessionManager> = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let router = axum::Router::new()
        .nest_service(HTTP_PATH, service)
        .layer(axum::middleware::from_fn_with_state(gate, guard));
    // With the peer's address, which the gate budgets refusals by.
    let app = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The gate in front of every request: 401 (with `WWW-Authenticate: Bearer`) or 403 unless
/// admitted.
async fn guard(
    axum::extract::State(gate): axum::extract::State<Arc<dyn Gate>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(stackhand_store::bearer_token);
    let source = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    let knock = Knock {
        method: request.method().as_str(),
        path: request.uri().path(),
        bearer,
        source,
    };
    let refusal = |status: StatusCode, error: &str, message: &str| {
        let body = axum::Json(serde_json::json!({ "error": error, "message": message }));
        (status, body).into_response()
    };
    match gate.admit(knock).await {
        Admission::Admitted => next.run(request).await,
        Admission::Unauthenticated => {
            let mut answer = refusal(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "send a live API token of this server's agent as `Authorization: Bearer <token>` \
                 (stackhand tokens create --as <agent> --tenant <tenant>)",
            );
            answer.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
            answer
        }
        Admission::Forbidden => refusal(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the token may not act as this server's agent in this tenant",
        ),
        Admission::Unavailable => refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the server cannot check tokens right now; retry shortly",
        ),
        Admission::Throttled(seconds) => {
            let mut answer = refusal(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many refused calls from this address; wait and retry with a valid token",
            );
            answer
                .headers_mut()
                .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(seconds));
            answer
        }
    }
}
