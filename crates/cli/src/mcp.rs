//! `stackhand mcp`: a tenant's actions as tools for an AI agent over the Model Context Protocol
//! (stdio, or streamable HTTP on loopback), every call under the tenant's policy.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use stackhand_core::TenantId;
use stackhand_mcp::McpServer;

/// What `stackhand mcp` was asked to do.
#[derive(Debug, clap::Args)]
pub struct McpArgs {
    /// The tenant whose actions the agent may call.
    #[arg(long)]
    tenant: String,
    /// The agent's id: the requester of every call, a principal of kind agent (the policy's
    /// `requester_kinds = ["agent"]`); it can never approve.
    #[arg(long = "as", value_name = "AGENT_ID", default_value = "mcp-agent")]
    agent: String,
    /// Serve streamable HTTP on this loopback address (at /mcp) instead of stdio; port 0 picks
    /// one, and the address is printed on standard error.
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// The configuration file (needs `[store]` with `master_key` and `audit_key`).
    #[arg(long, default_value = "stackhand.toml")]
    config: PathBuf,
}

/// `stackhand mcp`: serve until the client hangs up (stdio) or Ctrl-C (HTTP).
pub async fn run(args: McpArgs) -> Result<ExitCode> {
    let tenant = TenantId::new(&args.tenant).context("--tenant")?;
    if let Some(addr) = args.http
        && !addr.ip().is_loopback()
    {
        // Whoever reaches the transport acts as the agent: it has no authentication of its own.
        bail!(
            "--http {addr}: the MCP transport has no authentication, so it listens on loopback \
             only (127.0.0.1 or [::1]); put an authenticating proxy in front to reach it from \
             elsewhere"
        );
    }
    let deployment = crate::live::open(&args.config).await?;
    let server = McpServer::new(deployment.engine().clone(), tenant, &args.agent)
        .with_context(|| format!("tenant {} in {}", args.tenant, args.config.display()))?;
    match args.http {
        None => stackhand_mcp::serve_stdio(server).await?,
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("--http {addr}"))?;
            let bound = listener.local_addr()?;
            eprintln!(
                "stackhand mcp: tenant {} as agent {} on http://{bound}{}",
                args.tenant,
                args.agent,
                stackhand_mcp::HTTP_PATH
            );
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            stackhand_mcp::serve_http(server, listener, shutdown).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
