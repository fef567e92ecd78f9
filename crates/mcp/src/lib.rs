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
//! ([`serve_http`]). The `stackhand mcp` command opens a deployment from `stackhand.toml` and
//! runs one of them.
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

mod server;
mod tools;

use std::future::Future;
use std::io;
use std::sync::Arc;

use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

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

/// Serve `server` over streamable HTTP on `listener`, at [`HTTP_PATH`], until `shutdown`
/// completes.
///
/// The transport has no authentication of its own: whoever reaches it acts as the server's
/// agent (under the policy). Bind it to loopback; requests naming another `Host` are refused
/// (DNS rebinding).
pub async fn serve_http(
    server: McpServer,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let service: StreamableHttpService<McpServer, LocalSessionManager> = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let router = axum::Router::new().nest_service(HTTP_PATH, service);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
