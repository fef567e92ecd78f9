//! `stackhand mcp`: a tenant's actions as tools for an AI agent over the Model Context Protocol
//! (stdio, or streamable HTTP on loopback), every call under the tenant's policy.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use stackhand_core::{PrincipalKind, TenantId};
use stackhand_mcp::{McpServer, TokenGate};

const AFTER_HELP: &str = "\
Over stdio the client launches the server and so already holds the configuration. Over HTTP \
every request must carry an API token of the agent, for this tenant: list the agent in \
[[staff]] with kind = \"agent\", create its token, and give the client both.

Examples:
  stackhand mcp --tenant contoso-law --as claude-desktop
  stackhand tokens create --as helpdesk-agent --tenant contoso-law
  stackhand mcp --tenant contoso-law --as helpdesk-agent --http 127.0.0.1:8090";

/// What `stackhand mcp` was asked to do.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct McpArgs {
    /// The tenant whose actions the agent may call.
    #[arg(long)]
    tenant: String,
    /// The agent's id: the requester of every call, a principal of kind agent (the policy's
    /// `requester_kinds = ["agent"]`); it can never approve. Over HTTP it must be a `[[staff]]`
    /// member with kind = "agent", whose API tokens are the only ones admitted.
    #[arg(long = "as", value_name = "AGENT_ID", default_value = "mcp-agent")]
    agent: String,
    /// Serve streamable HTTP on this loopback address (at /mcp) instead of stdio, admitting
    /// only requests with the agent's API token (`Authorization: Bearer`); port 0 picks one,
    /// and the address is printed on standard error.
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
        // Plain HTTP carries the bearer token in the clear, and the transport's DNS-rebinding
        // guard accepts loopback hosts only.
        bail!(
            "--http {addr}: the MCP transport is plain HTTP, so it listens on loopback only \
             (127.0.0.1 or [::1]); put a TLS-terminating proxy in front to reach it from \
             elsewhere"
        );
    }
    let deployment = crate::live::open(&args.config).await?;
    let in_config = || format!("tenant {} in {}", args.tenant, args.config.display());
    let Some(addr) = args.http else {
        let server = McpServer::new(deployment.engine().clone(), tenant, &args.agent)
            .with_context(in_config)?;
        stackhand_mcp::serve_stdio(server).await?;
        return Ok(ExitCode::SUCCESS);
    };
    let agent = match deployment
        .engine()
        .staff_principal(&tenant, &args.agent)
        .with_context(in_config)?
    {
        Some(member) if member.kind == PrincipalKind::Agent => member.id,
        found => bail!(
            "--http: {} is {} in [[staff]] of {}, and over HTTP only the API tokens of an agent \
             listed there are admitted; add\n\n[[staff]]\nid = \"{}\"\nkind = \"agent\"\n\n\
             then give the client a token: stackhand tokens create --as {} --tenant {}",
            args.agent,
            found.map_or("not".to_string(), |m| format!(
                "a {} (not an agent)",
                m.kind.as_str()
            )),
            args.config.display(),
            args.agent,
            args.agent,
            args.tenant
        ),
    };
    let server = McpServer::new(deployment.engine().clone(), tenant.clone(), &agent)
        .with_context(in_config)?;
    let gate = Arc::new(TokenGate::new(
        deployment.store().clone(),
        tenant,
        agent.clone(),
    ));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("--http {addr}"))?;
    let bound = listener.local_addr()?;
    eprintln!(
        "stackhand mcp: tenant {} as agent {agent} (its API tokens only) on http://{bound}{}",
        args.tenant,
        stackhand_mcp::HTTP_PATH
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    stackhand_mcp::serve_http(server, listener, gate, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}
