//! One agent's session with `stackhand mcp` for Contoso Law in the simulated world, driven by
//! rmcp's client over whichever transport the test connected: the tools listed, an allowed
//! unlock, a password reset that waits for a lead, a denied disable, invalid input, an unknown
//! tool, and the three read-only tools. Shared by the stdio test (the binary) and the
//! streamable HTTP test (in-process).

#![allow(dead_code)] // each test file uses its part

use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{ClientInitializeError, Peer, RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use stackhand_sim::deployment::SimulatedWorld;

/// The tenant served.
pub const TENANT: &str = "contoso-law";

/// The agent's policy: an unlock runs, a password reset waits for a lead, a disable is refused.
pub const POLICY: &str = r#"
[scope]
global = true

[[rules]]
id = "agents-unlock"
description = "An agent may unlock an account"
actions = ["identity.unlock"]
effect = "allow"
[rules.when]
requester_kinds = ["agent"]

[[rules]]
id = "leads-approve-agent-resets"
description = "An MSP lead approves a password reset an agent asks for"
actions = ["identity.reset_password"]
effect = "approve"
approvers = [{ role = "msp.lead" }]
[rules.when]
requester_kinds = ["agent"]

[[rules]]
id = "agents-never-disable"
description = "An agent never disables an account"
actions = ["identity.disable"]
effect = "deny"
[rules.when]
requester_kinds = ["agent"]
"#;

/// A client over streamable HTTP at `url`, sending `token` as its bearer token when given.
pub async fn connect_http(
    url: &str,
    token: Option<&str>,
) -> Result<RunningService<RoleClient, ()>, ClientInitializeError> {
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
    let config = match token {
        Some(token) => config.auth_header(token),
        None => config,
    };
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
}

/// The id of Contoso's open ticket "Password reset - Daniel Reyes" in ConnectWise.
pub fn contoso_ticket(sims: &SimulatedWorld) -> String {
    let tickets = sims.connectwise.0.tickets();
    let ticket = tickets
        .iter()
        .find(|t| t.summary == "Password reset - Daniel Reyes")
        .expect("the seeded ticket");
    ticket.id.to_string()
}

/// What the session left behind, for the checks after it.
pub struct Session {
    /// The key the unlock was submitted with.
    pub unlock_key: String,
    /// The approval the password reset waits on.
    pub approval_id: String,
}

/// Call `tool` with `arguments`; a protocol error fails the test.
pub async fn call(client: &Peer<RoleClient>, tool: &str, arguments: Value) -> CallToolResult {
    let arguments = arguments
        .as_object()
        .cloned()
        .expect("arguments are an object");
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(arguments))
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

/// The result's text content.
pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The result's structured content.
pub fn doc(result: &CallToolResult) -> &Value {
    result
        .structured_content
        .as_ref()
        .unwrap_or_else(|| panic!("no structured content: {}", text(result)))
}

/// The whole session; `ticket` is a Contoso ticket id in ConnectWise (Daniel Reyes's password
/// reset) and `key_prefix` keeps the transports' idempotency keys apart.
pub async fn agent_session(client: &Peer<RoleClient>, ticket: &str, key_prefix: &str) -> Session {
    // The tools: one per action, with the action's schema and the call's own arguments, and
    // the read-only ones.
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for name in [
        "identity_unlock",
        "identity_reset_password",
        "identity_disable",
        "psa_add_note",
        "find_user",
        "read_ticket",
        "list_user_devices",
    ] {
        assert!(names.contains(&name), "{name} not in {names:?}");
    }
    assert!(!names.iter().any(|n| n.contains("approve")), "{names:?}");
    let unlock = tools.iter().find(|t| t.name == "identity_unlock").unwrap();
    let properties = unlock.input_schema["properties"].as_object().unwrap();
    for arg in ["user", "idempotency_key", "wait_seconds"] {
        assert!(properties.contains_key(arg), "{arg}: {properties:?}");
    }
    let description = unlock.description.as_deref().unwrap_or_default();
    assert!(description.contains("risk: medium"), "{description}");
    for tool in &tools {
        assert_eq!(tool.input_schema["type"], "object", "{}", tool.name);
    }

    // Allowed: the unlock runs under the agent's rule; the same key again answers the same.
    let unlock_key = format!("{key_prefix}-unlock-priya");
    let args = json!({"user": "pshah@contosolaw.com", "idempotency_key": unlock_key});
    let unlocked = call(client, "identity_unlock", args.clone()).await;
    assert_eq!(unlocked.is_error, Some(false), "{}", text(&unlocked));
    let answer = doc(&unlocked);
    assert!(
        ["executed", "skipped"].contains(&answer["status"].as_str().unwrap()),
        "{answer}"
    );
    assert_eq!(answer["rule"], "agents-unlock");
    assert_eq!(answer["idempotency_key"], unlock_key.as_str());
    let again = call(client, "identity_unlock", args).await;
    assert_eq!(doc(&again)["status"], answer["status"], "{}", text(&again));

    // Needs approval: the approval id comes back; asked to wait a second, it is still pending.
    let started = Instant::now();
    let reset = call(
        client,
        "identity_reset_password",
        json!({"user": "dreyes@contosolaw.com", "wait_seconds": 1}),
    )
    .await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "it did not wait"
    );
    assert_eq!(reset.is_error, Some(false), "{}", text(&reset));
    let waiting = doc(&reset);
    assert_eq!(waiting["status"], "pending_approval", "{waiting}");
    assert_eq!(waiting["rule"], "leads-approve-agent-resets");
    let approval_id = waiting["approval_id"].as_str().unwrap().to_string();
    assert!(text(&reset).contains(&approval_id), "{}", text(&reset));

    // Denied: a tool error naming the rule.
    let disable = call(
        client,
        "identity_disable",
        json!({"user": "pshah@contosolaw.com"}),
    )
    .await;
    assert_eq!(disable.is_error, Some(true));
    assert!(
        text(&disable).contains("agents-never-disable"),
        "{}",
        text(&disable)
    );
    assert_eq!(doc(&disable)["status"], "denied");

    // Invalid input: a tool error naming the field, for a wrong type and a missing field.
    for (args, field) in [
        (json!({"user": 42}), "`user`"),
        (json!({}), "`user`"),
        (
            json!({"user": "pshah@contosolaw.com", "wait_seconds": -1}),
            "`wait_seconds`",
        ),
    ] {
        let invalid = call(client, "identity_unlock", args.clone()).await;
        assert_eq!(invalid.is_error, Some(true), "{args}");
        assert!(text(&invalid).contains(field), "{args}: {}", text(&invalid));
    }

    // An unknown tool is a protocol error.
    let unknown = client
        .call_tool(CallToolRequestParams::new("identity_approve"))
        .await;
    assert!(unknown.is_err(), "{unknown:?}");

    // The read-only tools read through the tenant's connectors.
    let found = call(
        client,
        "find_user",
        json!({"query": "pshah@contosolaw.com"}),
    )
    .await;
    assert_eq!(found.is_error, Some(false), "{}", text(&found));
    let users = doc(&found)["users"].as_array().unwrap();
    assert!(
        users.iter().any(|u| u["display_name"] == "Priya Shah"),
        "{users:?}"
    );
    let read = call(client, "read_ticket", json!({"ticket": ticket})).await;
    assert_eq!(read.is_error, Some(false), "{}", text(&read));
    assert_eq!(doc(&read)["ticket"]["id"], ticket);
    assert!(doc(&read)["notes"].is_array());
    let devices = call(
        client,
        "list_user_devices",
        json!({"user": "pshah@contosolaw.com"}),
    )
    .await;
    assert_eq!(devices.is_error, Some(false), "{}", text(&devices));
    let names: Vec<&str> = doc(&devices)["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(names, ["CLAW-LT-004"]);

    Session {
        unlock_key,
        approval_id,
    }
}
