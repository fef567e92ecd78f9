//! The binary, run as a user would.

use std::process::Command;

fn stackhand(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stackhand"))
        .args(args)
        .output()
        .expect("the binary runs")
}

#[test]
fn demo_resolves_routes_and_verifies_the_audit_chain() {
    let dir = tempfile::tempdir().unwrap();
    let out = stackhand(&[
        "demo",
        "--json",
        "--audit-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tickets = report["tickets"].as_array().unwrap();
    let by_id = |id: &str| tickets.iter().find(|t| t["ticket"] == id).unwrap();

    assert_eq!(by_id("1001")["decision"], "allowed");
    assert_eq!(by_id("1001")["ticket_status"], "Closed (Help Desk)");
    assert_eq!(by_id("1002")["decision"], "approval required");
    assert_eq!(by_id("1002")["approved_by"], "lead@msp.example");
    assert_eq!(by_id("1003")["rule"], "protected-identity-technicians-only");
    assert_eq!(by_id("1003")["ticket_status"], "New (Escalations)");
    assert_eq!(by_id("1004")["outcome"], "routed to a person");
    assert_eq!(report["messages_sent"], 2);

    // The audit files it wrote verify with the audit command.
    let verify = stackhand(&["audit", "verify", dir.path().to_str().unwrap()]);
    assert!(verify.status.success());
    let text = String::from_utf8_lossy(&verify.stdout);
    assert!(text.contains("acme-law: ok"), "{text}");
}

#[test]
fn audit_verify_finds_an_edited_event() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        stackhand(&["demo", "--audit-dir", dir.path().to_str().unwrap()])
            .status
            .success()
    );
    let file = dir.path().join("acme-law.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replacen("\"effect\":\"deny\"", "\"effect\":\"allow\"", 1),
    )
    .unwrap();
    let verify = stackhand(&["audit", "verify", dir.path().to_str().unwrap()]);
    assert_eq!(verify.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&verify.stdout).contains("BROKEN"));
}

#[test]
fn policy_check_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("typo.toml");
    std::fs::write(&file, "[scope]\nglobal = true\n\n[[rules]]\nid = \"r\"\nactions = [\"identity.unlock\"]\nefect = \"allow\"\n").unwrap();
    let out = stackhand(&["policy", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("typo.toml:7"), "{err}");
    assert!(err.contains("efect"), "{err}");

    let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/policies");
    let ok = stackhand(&[
        "policy",
        "check",
        "--known-action",
        "m365.set_forwarding",
        samples,
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn policy_check_refuses_unknown_action_ids() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deny.toml");
    std::fs::write(&file, "[scope]\nglobal = true\n\n[[rules]]\nid = \"r\"\nactions = [\"identity.reset_pasword\"]\neffect = \"deny\"\n").unwrap();
    let out = stackhand(&["policy", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("deny.toml:6: rules[0].actions[0]: unknown action id \"identity.reset_pasword\" (did you mean \"identity.reset_password\"?)"),
        "{err}"
    );
    // Vendor actions are unknown until named on the command line.
    let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/policies");
    let out = stackhand(&["policy", "check", samples]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown action id \"m365.set_forwarding\""),
        "{err}"
    );
}

#[test]
fn actions_lists_every_builtin() {
    let out = stackhand(&["actions", "--json"]);
    assert!(out.status.success());
    let specs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(specs.len(), 29);
    assert!(
        specs
            .iter()
            .any(|s| s["id"] == "identity.reset_password" && s["reversible"] == false)
    );
}
