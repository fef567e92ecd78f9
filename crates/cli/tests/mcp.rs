//! `stackhand mcp` as an MCP client launches it, against the simulators of the built-in world:
//! the binary over stdio (spawned by rmcp's child-process transport) and over streamable HTTP
//! on a loopback port it picks, with the agent's API token from `stackhand tokens create`, each
//! driven through the agent's session of `crates/mcp/tests/support/scenario.rs`, then the
//! audit trail read back with `stackhand audit show`.

mod support;

#[path = "../../mcp/tests/support/scenario.rs"]
mod scenario;

use std::path::Path;
use std::process::Stdio;

use rmcp::ServiceExt;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

use scenario::{POLICY, Session, TENANT, agent_session, connect_http, contoso_ticket};
use support::{deployment, stackhand, text};

/// `stackhand mcp` for Contoso as `agent`, in `dir`, with `extra` arguments.
fn mcp_command(dir: &Path, agent: &str, extra: &[&str]) -> tokio::process::Command {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_stackhand")).configure(|cmd| {
        cmd.args(["mcp", "--tenant", TENANT, "--as", agent])
            .args(extra)
            .current_dir(dir)
            .env_remove("STACKHAND_AUDIT_KEY")
            .env_remove("STACKHAND_MASTER_KEY");
    })
}

/// Every call of the session is in the tenant's audit trail under the agent's name.
async fn check_audit(dir: &Path, agent: &str, session: &Session) {
    let out = stackhand(
        dir,
        &[
            "audit", "show", "--tenant", TENANT, "--limit", "1000", "--json",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let events: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let by = |kind: &str, key: Option<&str>| {
        events.iter().any(|e| {
            e["kind"] == kind && e["actor"] == agent && key.is_none_or(|k| e["request"] == k)
        })
    };
    assert!(
        by("plan_recorded", Some(&session.unlock_key)),
        "{events:#?}"
    );
    assert!(by("decided", Some(&session.unlock_key)), "{events:#?}");
    assert!(by("approval_requested", None), "{events:#?}");
    let denied = events.iter().any(|e| {
        e["kind"] == "decided" && e["action"] == "identity.disable" && e["actor"] == agent
    });
    assert!(denied, "{events:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_over_stdio_acts_only_as_the_policy_allows() {
    let dir = tempfile::tempdir().unwrap();
    let sims = deployment(dir.path(), POLICY).await;
    let transport = TokioChildProcess::builder(mcp_command(dir.path(), "stdio-agent", &[]))
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
        .0;
    let client = ().serve(transport).await.unwrap();

    let session = agent_session(&client, &contoso_ticket(&sims), "stdio").await;

    client.cancel().await.unwrap();
    check_audit(dir.path(), "stdio-agent", &session).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_over_streamable_http_acts_only_as_the_policy_allows() {
    let dir = tempfile::tempdir().unwrap();
    let sims = deployment(dir.path(), POLICY).await;
    let config = dir.path().join("stackhand.toml");

    // Over HTTP the agent must be a [[staff]] member of kind agent: the binary says how.
    let unlisted = stackhand(
        dir.path(),
        &[
            "mcp",
            "--tenant",
            TENANT,
            "--as",
            "http-agent",
            "--http",
            "127.0.0.1:0",
        ],
    )
    .await;
    assert!(!unlisted.status.success());
    assert!(
        text(&unlisted).contains("kind = \"agent\"")
            && text(&unlisted).contains("stackhand tokens create --as http-agent"),
        "{}",
        text(&unlisted)
    );
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str("\n[[staff]]\nid = \"http-agent\"\nkind = \"agent\"\n");
    std::fs::write(&config, toml).unwrap();
    let created = stackhand(
        dir.path(),
        &[
            "tokens",
            "create",
            "--as",
            "http-agent",
            "--tenant",
            TENANT,
            "--expires-in",
            "1d",
        ],
    )
    .await;
    assert!(created.status.success(), "{}", text(&created));
    let token = String::from_utf8(created.stdout)
        .unwrap()
        .trim()
        .to_string();

    let mut server = mcp_command(dir.path(), "http-agent", &["--http", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The server says where it listens on standard error.
    let mut lines = tokio::io::BufReader::new(server.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("stackhand mcp --http names its address before anything else");
        if let Some(at) = line.find("http://") {
            break line[at..].trim().to_string();
        }
    };
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
        "{url}"
    );
    assert!(connect_http(&url, None).await.is_err(), "no token got in");
    let client = connect_http(&url, Some(&token)).await.unwrap();

    let session = agent_session(&client, &contoso_ticket(&sims), "http").await;

    client.cancel().await.unwrap();
    server.kill().await.unwrap();
    check_audit(dir.path(), "http-agent", &session).await;
}

#[tokio::test]
async fn http_listens_on_loopback_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = stackhand(
        dir.path(),
        &["mcp", "--tenant", TENANT, "--http", "0.0.0.0:0"],
    )
    .await;
    assert!(!out.status.success());
    assert!(text(&out).contains("loopback"), "{}", text(&out));
}
