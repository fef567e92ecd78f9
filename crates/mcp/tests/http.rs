//! The MCP server over streamable HTTP on loopback, against the simulators of the built-in
//! world, driven by rmcp's client: the gate admits only the agent's API token for the tenant
//! (refusals audited), then the agent's session (`support/scenario.rs`), then what only the
//! engine can tell: the agent cannot approve, a wait ends when a lead decides, and every call
//! is in the tenant's audit trail under the agent's name.

#[path = "support/scenario.rs"]
mod scenario;

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::json;
use stackhand_core::audit::{AuditEvent, AuditKind};
use stackhand_core::{ApprovalId, Engine, Principal, TenantId};
use stackhand_mcp::{McpServer, TokenGate, serve_http};
use stackhand_runner::{Deployment, LoadedConfig, append_local_store, default_registry};
use stackhand_sim::Faults;
use stackhand_sim::deployment::SimulatedWorld;
use stackhand_sim::world::World;

use scenario::{POLICY, TENANT, agent_session, call, connect_http, contoso_ticket, doc, text};

const AGENT: &str = "http-agent";
const LEAD: &str = "amorgan@northwind-msp.example";

fn of_key<'a>(trail: &'a [AuditEvent], key: &str) -> Vec<&'a AuditEvent> {
    trail
        .iter()
        .filter(|e| {
            e.record
                .request
                .as_ref()
                .map(ToString::to_string)
                .as_deref()
                == Some(key)
        })
        .collect()
}

async fn deployment(dir: &std::path::Path, sims: &SimulatedWorld) -> Deployment {
    std::fs::write(dir.join("policy.toml"), POLICY).unwrap();
    let config = sims.write_deployment(dir, "policy.toml").unwrap();
    append_local_store(&config).unwrap();
    let loaded = LoadedConfig::load(&config).unwrap();
    Deployment::open(&loaded, &default_registry())
        .await
        .unwrap()
}

async fn pending(engine: &Engine, tenant: &TenantId) -> Vec<ApprovalId> {
    let approvals = engine.pending_approvals(tenant).await.unwrap();
    approvals.into_iter().map(|a| a.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_over_streamable_http_acts_only_as_the_policy_allows() {
    let sims = SimulatedWorld::start(World::builtin(), Faults::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let deployment = deployment(dir.path(), &sims).await;
    let engine = deployment.engine().clone();
    let tenant = TenantId::new(TENANT).unwrap();
    let server = McpServer::new(engine.clone(), tenant.clone(), AGENT).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}{}",
        listener.local_addr().unwrap(),
        stackhand_mcp::HTTP_PATH
    );
    let gate = Arc::new(TokenGate::new(
        deployment.store().clone(),
        tenant.clone(),
        AGENT,
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(serve_http(server, listener, gate, async {
        let _ = stopped.await;
    }));
    let store = deployment.store();
    let token = |who: &'static str, tenants: Vec<TenantId>| async move {
        let (_, token) = store.issue_api_token(who, &tenants, None).await.unwrap();
        token.expose_secret().to_string()
    };

    // Only the agent's token, for this tenant, gets in: no token, an unknown one, a lead's,
    // and the agent's for another tenant are refused before any session exists, and audited.
    let refused = [
        None,
        Some("shk_not-a-token".to_string()),
        Some(token(LEAD, vec![]).await),
        Some(token(AGENT, vec![TenantId::new("globex").unwrap()]).await),
    ];
    for attempt in refused {
        let refused = connect_http(&url, attempt.as_deref()).await;
        assert!(refused.is_err(), "{attempt:?} got in");
    }
    let trail = engine.audit_trail(&tenant).await.unwrap();
    let statuses: Vec<(u64, Option<&str>)> = trail
        .iter()
        .filter(|e| e.record.kind == AuditKind::AccessRefused)
        .map(|e| {
            (
                e.record.data["status"].as_u64().unwrap(),
                e.record.actor.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (401, None),
            (401, None),
            (403, Some(LEAD)),
            (403, Some(AGENT))
        ],
        "each refusal once, by status and who the token stood for"
    );
    assert!(
        !format!("{trail:?}").contains("shk_"),
        "a token reached the audit trail"
    );

    let token = token(AGENT, vec![tenant.clone()]).await;
    let client = connect_http(&url, Some(&token)).await.unwrap();

    let session = agent_session(&client, &contoso_ticket(&sims), "http").await;

    // The agent cannot approve its own request (nor any): refused, audited, still pending.
    let id: ApprovalId = session.approval_id.parse().unwrap();
    let refused = engine.approve(id, &Principal::agent(AGENT)).await;
    assert!(refused.is_err(), "{refused:?}");
    assert!(pending(&engine, &tenant).await.contains(&id));

    // A call that waits ends when a lead decides: the lead's approval executes the reset and
    // the agent's call answers with it (the new password is never handed to the agent).
    let approver = tokio::spawn({
        let (engine, tenant) = (engine.clone(), tenant.clone());
        async move {
            loop {
                let waiting = engine.pending_approvals(&tenant).await.unwrap();
                if let Some(a) = waiting
                    .iter()
                    .find(|a| a.request.params["user"] == "ochen@contosolaw.com")
                {
                    let lead = Principal::technician(LEAD, &[]);
                    return engine.approve(a.id, &lead).await.map(|s| s.label());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    let reset = call(
        &client,
        "identity_reset_password",
        json!({"user": "ochen@contosolaw.com", "wait_seconds": 30, "idempotency_key": "http-reset-olivia"}),
    )
    .await;
    assert_eq!(approver.await.unwrap().unwrap(), "executed");
    assert_eq!(reset.is_error, Some(false), "{}", text(&reset));
    let answer = doc(&reset);
    assert_eq!(answer["status"], "executed", "{answer}");
    assert_eq!(answer["approved_by"], LEAD);
    assert!(
        !text(&reset).to_lowercase().contains("\"password\":"),
        "{}",
        text(&reset)
    );

    // Every call is audited like any other request, under the agent's name.
    let trail = engine.audit_trail(&tenant).await.unwrap();
    let unlock = of_key(&trail, &session.unlock_key);
    let kinds: Vec<AuditKind> = unlock.iter().map(|e| e.record.kind).collect();
    for kind in [AuditKind::PlanRecorded, AuditKind::Decided] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
    assert!(
        unlock
            .iter()
            .all(|e| e.record.actor.as_deref() == Some(AGENT))
    );
    let asked = trail
        .iter()
        .find(|e| e.record.kind == AuditKind::ApprovalRequested)
        .expect("the reset's approval request is audited");
    assert_eq!(asked.record.actor.as_deref(), Some(AGENT));
    let refusal = trail
        .iter()
        .find(|e| e.record.kind == AuditKind::ApprovalRefused)
        .expect("the agent's approval attempt is audited");
    assert_eq!(refusal.record.actor.as_deref(), Some(AGENT));
    let denied = trail.iter().any(|e| {
        e.record.kind == AuditKind::Decided
            && e.record.action.as_ref().map(|a| a.as_str()) == Some("identity.disable")
            && e.record.actor.as_deref() == Some(AGENT)
    });
    assert!(denied, "the denied disable is audited");

    // A flood of tokenless requests is answered 401 up to the budget of recorded refusals
    // (four were spent above), then 429 with Retry-After; the agent's session goes on.
    let http = reqwest::Client::new();
    let mut answers = Vec::new();
    for _ in 0..stackhand_store::REFUSALS_PER_MINUTE * 2 {
        let reply = http
            .post(&url)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let answer = (
            reply.status().as_u16(),
            reply.headers().contains_key("retry-after"),
        );
        answers.push(answer);
        if answer.0 == 429 {
            break;
        }
    }
    assert_eq!(answers.last(), Some(&(429, true)), "{answers:?}");
    assert!(
        answers[..answers.len() - 1]
            .iter()
            .all(|a| *a == (401, false)),
        "{answers:?}"
    );
    assert!(
        answers.len() > 20,
        "throttled before the budget ran out: {answers:?}"
    );
    let still = call(
        &client,
        "find_user",
        json!({"query": "pshah@contosolaw.com"}),
    )
    .await;
    assert_eq!(still.is_error, Some(false), "{}", text(&still));

    client.cancel().await.unwrap();
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}
