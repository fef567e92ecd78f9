//! `stackhand act`, `approvals`, `approve`, `deny` and `audit show|verify` on a deployment's
//! store, against the simulators of one world, run as a user runs them.

mod support;

use serde_json::Value;
use support::{deployment, stackhand, text};

const POLICY: &str = r#"
[scope]
global = true

[[rules]]
id = "technicians-unlock"
actions = ["identity.unlock"]
effect = "allow"
[rules.when]
requester_kinds = ["technician"]

[[rules]]
id = "leads-approve-password-resets"
actions = ["identity.reset_password"]
effect = "approve"
approvers = [{ role = "msp.lead" }]
[rules.when]
requester_kinds = ["technician"]
"#;

/// The world's MSP lead (`lead = true` in crates/sim/world.toml) and another technician.
const LEAD: &str = "amorgan@northwind-msp.example";
const TECH: &str = "bkhan@northwind-msp.example";

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(out)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn act_approve_and_the_audit_trail_on_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let _sims = deployment(dir, POLICY).await;
    let priya = r#"{"user": "pshah@contosolaw.com"}"#;
    let act = |action: &'static str, requester: &'static str, key: &'static str| {
        [
            "act",
            "--tenant",
            "contoso-law",
            "--as",
            requester,
            "--action",
            action,
            "--params",
            priya,
            "--key",
            key,
            "--json",
        ]
    };

    // Allowed: executes, and the same key again answers without acting twice.
    let out = stackhand(dir, &act("identity.unlock", TECH, "t-1")).await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json(&out)["answer"], "executed");
    let again = stackhand(dir, &act("identity.unlock", TECH, "t-1")).await;
    assert_eq!(json(&again)["answer"], "executed");

    // Not in [[staff]]: refused before anything is planned.
    let stranger = stackhand(dir, &act("identity.unlock", "eve@evil.example", "t-2")).await;
    assert!(!stranger.status.success());
    assert!(text(&stranger).contains("not a technician in the staff directory"));

    // Needs a lead: waits, is listed, the requester cannot approve it, the lead can.
    let out = stackhand(dir, &act("identity.reset_password", TECH, "t-3")).await;
    assert!(out.status.success(), "{}", text(&out));
    let asked = json(&out);
    assert_eq!(asked["answer"], "pending_approval");
    let id = asked["approval"]["id"].as_str().unwrap().to_string();
    let listed = stackhand(dir, &["approvals", "--tenant", "contoso-law"]).await;
    assert!(text(&listed).contains(&id), "{}", text(&listed));
    let own = stackhand(dir, &["approve", &id, "--as", TECH]).await;
    assert!(!own.status.success());
    assert!(
        text(&own).contains("self-approval refused"),
        "{}",
        text(&own)
    );
    let approved = stackhand(dir, &["approve", &id, "--as", LEAD, "--json"]).await;
    assert!(approved.status.success(), "{}", text(&approved));
    assert_eq!(json(&approved)["answer"], "executed");
    assert!(
        !String::from_utf8_lossy(&approved.stdout).contains("\"secrets\""),
        "a temporary password was printed without --show-secrets"
    );
    let none = stackhand(dir, &["approvals", "--tenant", "contoso-law"]).await;
    assert!(
        text(&none).contains("no pending approvals"),
        "{}",
        text(&none)
    );

    // A second request, refused by its requester.
    let out = stackhand(dir, &act("identity.reset_password", TECH, "t-4")).await;
    let id = json(&out)["approval"]["id"].as_str().unwrap().to_string();
    let denied = stackhand(
        dir,
        &["deny", &id, "--as", LEAD, "--reason", "call the user"],
    )
    .await;
    assert!(denied.status.success(), "{}", text(&denied));
    assert!(text(&denied).contains("denied"));

    // The trail is in the store, sealed, and verifies.
    let shown = stackhand(dir, &["audit", "show", "--tenant", "contoso-law", "--json"]).await;
    let events = json(&shown);
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default())
        .collect();
    for kind in [
        "approval_granted",
        "approval_refused",
        "execution_succeeded",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let verified = stackhand(dir, &["audit", "verify"]).await;
    assert!(verified.status.success(), "{}", text(&verified));
    assert!(
        text(&verified).contains("contoso-law: ok"),
        "{}",
        text(&verified)
    );

    // Another audit key does not verify the store's chains.
    std::fs::remove_file(dir.join("audit.key")).unwrap();
    let out = stackhand(dir, &["audit", "keygen", "audit.key"]).await;
    assert!(out.status.success());
    let wrong = stackhand(dir, &["audit", "verify"]).await;
    assert!(!wrong.status.success(), "{}", text(&wrong));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_commands_without_a_store_say_how_to_add_one() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let sims = deployment(dir, POLICY).await;
    // The same deployment without [store].
    sims.write_deployment(dir, "policy.toml").unwrap();
    let out = stackhand(dir, &["approvals", "--tenant", "contoso-law"]).await;
    assert!(!out.status.success());
    let said = text(&out);
    for hint in ["no [store]", "vault keygen", "audit keygen"] {
        assert!(said.contains(hint), "{hint:?} missing from {said}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_shows_what_run_would_do_with_a_ticket_and_does_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let sims = deployment(dir, POLICY).await;
    let cw = &sims.connectwise.0;
    let id = cw
        .open_ticket_ids()
        .into_iter()
        .find(|id| cw.ticket(*id).unwrap().ticket.summary == "Password reset - Daniel Reyes")
        .unwrap()
        .to_string();
    let notes = cw.notes(id.parse().unwrap()).len();
    let out = stackhand(
        dir,
        &["plan", "--tenant", "contoso-law", "--ticket", &id, "--json"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let outcome = json(&out);
    assert_eq!(outcome["resolution"], "shadowed", "{outcome:#}");
    assert_eq!(outcome["workflow"], "password-reset");
    assert_eq!(outcome["requester"], "dreyes@contosolaw.com");
    assert!(
        outcome["why"].as_str().unwrap().contains("would run"),
        "{outcome:#}"
    );
    assert_eq!(
        cw.notes(id.parse().unwrap()).len(),
        notes,
        "plan wrote to the PSA"
    );
    let missing = stackhand(
        dir,
        &["plan", "--tenant", "contoso-law", "--ticket", "999999"],
    )
    .await;
    assert!(!missing.status.success());
    assert!(text(&missing).contains("999999"), "{}", text(&missing));
}
