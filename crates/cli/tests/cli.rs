//! The binary, run as a user would.

use std::path::Path;
use std::process::Command;

fn stackhand(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stackhand"))
        .args(args)
        .env_remove("STACKHAND_AUDIT_KEY")
        .output()
        .expect("the binary runs")
}

/// A JSON-lines audit trail of tenant `acme-law` in `<tmp>/audit` (six decisions, the third a
/// deny), sealed under a key made by `stackhand audit keygen` in `<tmp>/audit.key`, as an
/// embedder's `JsonlAuditSink` writes it; returns both paths.
fn demo_audit(tmp: &Path) -> (String, String) {
    use stackhand_core::audit::{
        AuditKind, AuditRecord, AuditSink, DerivedAuditKeys, JsonlAuditSink,
    };
    let dir = tmp.join("audit").to_str().unwrap().to_string();
    let key = tmp.join("audit.key").to_str().unwrap().to_string();
    assert!(stackhand(&["audit", "keygen", &key]).status.success());
    let sink = JsonlAuditSink::open(&dir, DerivedAuditKeys::from_file(&key).unwrap()).unwrap();
    let tenant = stackhand_core::TenantId::new("acme-law").unwrap();
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            for n in 0..6 {
                let effect = if n == 2 { "deny" } else { "allow" };
                sink.append(AuditRecord {
                    tenant: tenant.clone(),
                    at: chrono::Utc::now(),
                    kind: AuditKind::Decided,
                    request: Some(stackhand_core::IdempotencyKey::new(format!("t-{n}")).unwrap()),
                    action: Some(stackhand_core::ActionId::from_static("identity.unlock")),
                    actor: Some("bob@acme-law.example".into()),
                    data: serde_json::json!({ "effect": effect, "rule": "r" }),
                })
                .await
                .unwrap();
            }
        });
    (dir, key)
}

fn verify_broken(dir: &str, key: &str, what: &str) {
    let out = stackhand(&["audit", "verify", dir, "--key-file", key]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("acme-law: BROKEN"), "{text}");
    assert!(text.contains(what), "{text}");
}

#[test]
fn demo_resolves_the_worlds_tickets_against_the_simulators() {
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("demo");
    let out = stackhand(&["demo", "--json", "--dir", kept.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["all_as_expected"], true);
    let tickets = report["tickets"].as_array().unwrap();
    let by_subject = |s: &str| tickets.iter().find(|t| t["subject"] == s).unwrap();
    let unlock = by_subject("Can't log in - account locked");
    assert_eq!(unlock["resolution"], "resolved");
    assert_eq!(unlock["workflow"], "account-unlock");
    let reset = by_subject("Password reset - Daniel Reyes");
    assert_eq!(reset["resolution"], "resolved");
    assert_eq!(reset["approved_by"], "amorgan@northwind-msp.example");
    let routed = by_subject("Printer on 2nd floor keeps jamming");
    assert_eq!(routed["resolution"], "routed");
    let steps: Vec<&str> = routed["ticket_steps"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["psa.add_note", "psa.reassign"]);
    // The Exchange Online outage: one incident, its tickets linked, not troubleshot.
    let incidents = report["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    assert_eq!(incidents[0]["link"]["issue"], "EX912345");
    assert_eq!(incidents[0]["linked"].as_array().unwrap().len(), 5);
    let linked = by_subject("Outlook keeps asking for my password");
    assert_eq!(linked["resolution"], "linked_to_incident");
    assert_eq!(linked["incident"], incidents[0]["link"]);
    assert!(linked["workflow"].is_null(), "{linked}");
    for audit in report["audit"].as_array().unwrap() {
        assert!(audit["events"].as_u64().unwrap() > 10, "{audit}");
    }

    // The deployment it kept verifies on its own.
    let verify = Command::new(env!("CARGO_BIN_EXE_stackhand"))
        .args(["audit", "verify"])
        .current_dir(&kept)
        .env_remove("STACKHAND_AUDIT_KEY")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{text}");
    assert!(
        text.contains("contoso-law: ok") && text.contains("globex: ok"),
        "{text}"
    );
}

#[test]
fn an_audit_directory_verifies_with_its_key_file_or_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, key) = demo_audit(tmp.path());
    let verify = stackhand(&["audit", "verify", &dir, "--key-file", &key]);
    let text = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{text}");
    assert!(text.contains("acme-law: ok, 6 events"), "{text}");
    assert!(Path::new(&dir).join("acme-law.head").is_file());

    let hex = std::fs::read_to_string(&key).unwrap();
    let verify = Command::new(env!("CARGO_BIN_EXE_stackhand"))
        .args(["audit", "verify", &dir])
        .env("STACKHAND_AUDIT_KEY", hex.trim())
        .output()
        .unwrap();
    assert!(verify.status.success());
    assert!(!String::from_utf8_lossy(&verify.stdout).contains(hex.trim()));
}

#[test]
fn audit_verify_finds_an_edited_event() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, key) = demo_audit(tmp.path());
    let file = Path::new(&dir).join("acme-law.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replacen("\"effect\":\"deny\"", "\"effect\":\"allow\"", 1),
    )
    .unwrap();
    verify_broken(&dir, &key, "edited");
}

#[test]
fn audit_verify_finds_a_truncated_log() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, key) = demo_audit(tmp.path());
    let file = Path::new(&dir).join("acme-law.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&file, lines[..lines.len() - 2].join("\n") + "\n").unwrap();
    verify_broken(&dir, &key, "removed");
}

#[test]
fn audit_verify_finds_a_tail_rewritten_and_recomputed_without_the_key() {
    use stackhand_core::audit::{AuditEvent, AuditHead, AuditKey};
    let tmp = tempfile::tempdir().unwrap();
    let (dir, key) = demo_audit(tmp.path());
    // The attacker turns the first deny into an allow and recomputes every MAC after it, and
    // the head file, with a key of their own (the unkeyed chain let them do this undetected).
    let file = Path::new(&dir).join("acme-law.jsonl");
    let mut events: Vec<AuditEvent> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let from = events
        .iter()
        .position(|e| e.record.data["effect"] == "deny")
        .unwrap();
    events[from].record.data["effect"] = "allow".into();
    let theirs = AuditKey::from_bytes([9; 32]);
    for i in from..events.len() {
        let prev = events[i - 1].clone();
        events[i] = AuditEvent::seal(events[i].record.clone(), Some(&prev), &theirs);
    }
    let text: String = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect();
    std::fs::write(&file, text).unwrap();
    verify_broken(&dir, &key, "recomputed without the key");
    let head = AuditHead::seal(events.last().unwrap(), &theirs);
    std::fs::write(
        Path::new(&dir).join("acme-law.head"),
        serde_json::to_string(&head).unwrap(),
    )
    .unwrap();
    verify_broken(&dir, &key, "head");
}

#[test]
fn audit_verify_finds_a_deleted_log_and_a_deleted_head() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, key) = demo_audit(tmp.path());
    std::fs::remove_file(Path::new(&dir).join("acme-law.jsonl")).unwrap();
    verify_broken(&dir, &key, "deleted");

    let tmp = tempfile::tempdir().unwrap();
    let (dir, key) = demo_audit(tmp.path());
    std::fs::remove_file(Path::new(&dir).join("acme-law.head")).unwrap();
    verify_broken(&dir, &key, "restore");
}

#[test]
fn audit_verify_refuses_the_wrong_key() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = demo_audit(tmp.path());
    let other = tmp.path().join("other.key");
    let keygen = stackhand(&["audit", "keygen", other.to_str().unwrap()]);
    assert!(keygen.status.success());
    verify_broken(
        &dir,
        other.to_str().unwrap(),
        "not the key of tenant acme-law",
    );
    // keygen never overwrites a key.
    assert!(
        !stackhand(&["audit", "keygen", other.to_str().unwrap()])
            .status
            .success()
    );
}

#[test]
fn audit_verify_on_a_missing_path_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("audit.key");
    assert!(
        stackhand(&["audit", "keygen", key.to_str().unwrap()])
            .status
            .success()
    );
    let missing = tmp.path().join("no-such-dir");
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for (path, what) in [
        (&missing, "does not exist"),
        (&file, "not a directory"),
        (&empty, "holds no audit chains"),
    ] {
        let out = stackhand(&[
            "audit",
            "verify",
            path.to_str().unwrap(),
            "--key-file",
            key.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{}", path.display());
        assert!(err.contains(path.to_str().unwrap()), "{err}");
        assert!(err.contains(what), "{err}");
    }
    assert!(!missing.exists(), "verify must not create the directory");

    let out = stackhand(&["audit", "verify", empty.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--key-file"));
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
        "--known-action",
        "okta.suspend",
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
    // The connectors this build has supply their actions: the samples name m365.* and okta.*.
    let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/policies");
    let out = stackhand(&["policy", "check", samples]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A vendor this build does not have is unknown until named on the command line.
    std::fs::write(&file, "[scope]\nglobal = true\n\n[[rules]]\nid = \"r\"\nactions = [\"datto.*\"]\neffect = \"deny\"\n").unwrap();
    let out = stackhand(&["policy", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("action glob \"datto.*\" matches no known action id"),
        "{err}"
    );
    let out = stackhand(&[
        "policy",
        "check",
        "--known-action",
        "datto.run_script",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success());
}

#[test]
fn actions_lists_every_builtin() {
    let out = stackhand(&["actions", "--json"]);
    assert!(out.status.success());
    let specs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(specs.len(), 31);
    assert!(
        specs
            .iter()
            .any(|s| s["id"] == "identity.reset_password" && s["reversible"] == false)
    );
}

#[test]
fn connectors_lists_what_this_build_has() {
    let out = stackhand(&["connectors"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for vendor in [
        "m365",
        "okta",
        "connectwise",
        "autotask",
        "ninjaone",
        "hudu",
    ] {
        assert!(text.contains(vendor), "{text}");
    }
    assert!(text.contains("okta.suspend"), "{text}");
    assert!(text.contains("ninjaone.reboot_device"), "{text}");
    let json = stackhand(&["connectors", "--json"]);
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let m365 = parsed
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["vendor"] == "m365")
        .expect("m365 is described");
    assert!(m365["config_schema"]["properties"]["http"].is_object());
}

#[test]
fn config_check_loads_the_example_deployment_and_names_a_typo() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/deployment");
    let config = format!("{example}/stackhand.toml");
    let out = stackhand(&["config", "check", "--config", &config, "--role", "msp.lead"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("ok: tenant acme-law with connectwise, m365"),
        "{text}"
    );
    assert!(
        text.contains("ok: tenant globex with autotask, okta"),
        "{text}"
    );

    // The same deployment with a typo, next to the same policies and secrets.
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("deployment");
    std::fs::create_dir_all(copy.join("secrets/acme-law")).unwrap();
    std::fs::create_dir_all(copy.join("secrets/globex")).unwrap();
    for file in [
        "secrets/acme-law/m365.secret",
        "secrets/acme-law/connectwise.key",
        "secrets/globex/okta.token",
        "secrets/globex/autotask.code",
        "secrets/globex/autotask.secret",
    ] {
        std::fs::copy(format!("{example}/{file}"), copy.join(file)).unwrap();
    }
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("../policies/", &format!("{example}/../policies/"))
        .replace("read_admin_roles", "read_admin_role");
    std::fs::write(copy.join("stackhand.toml"), text).unwrap();
    let typo = copy.join("stackhand.toml");
    let out = stackhand(&[
        "config",
        "check",
        "--config",
        typo.to_str().unwrap(),
        "--role",
        "msp.lead",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(typo.to_str().unwrap()), "{err}");
    assert!(err.contains("tenants.globex.connectors.okta"), "{err}");
    assert!(err.contains("did you mean \"read_admin_roles\""), "{err}");
}

#[test]
fn configuration_variables_override_the_file_and_typos_name_the_variable() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/deployment");
    let config = format!("{example}/stackhand.toml");
    let run = |name: &str, value: &str| {
        Command::new(env!("CARGO_BIN_EXE_stackhand"))
            .args(["config", "check", "--config", &config, "--role", "msp.lead"])
            .env(name, value)
            .output()
            .expect("the binary runs")
    };
    // A variable overrides the file: Globex's Okta org now names a plain-http host.
    let out = run(
        "STACKHAND_TENANTS__GLOBEX__CONNECTORS__OKTA__BASE_URL",
        "http://globex.example",
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tenants.globex.connectors.okta"), "{err}");
    assert!(err.contains("https"), "{err}");
    // A misspelt variable is an error naming where it came from and the nearest key.
    let out = run("STACKHAND_SECRETS_DIRR", "/run/secrets");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("STACKHAND_"), "{err}");
    assert!(err.contains("did you mean \"secrets_dir\""), "{err}");
}

#[test]
fn sim_starts_the_world_and_every_tenant_connector_is_healthy_against_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("deployment");
    let run = stackhand(&["sim", "--out", out.to_str().unwrap(), "--check"]);
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for line in [
        "tenant contoso-law",
        "tenant globex",
        "m365         ok",
        "connectwise  ok",
        "okta         ok",
        "autotask     ok",
        "ninjaone     ok",
        "hudu         ok",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    // The deployment it wrote loads, and an edited policy is kept on the next run.
    assert!(out.join("stackhand.toml").exists());
    assert!(out.join("secrets/globex/okta.token").exists());
    // With a store, its keys, and the MSP's technicians as staff: `stackhand act` works there.
    let config = std::fs::read_to_string(out.join("stackhand.toml")).unwrap();
    assert!(
        config.contains("[store]") && config.contains("[[staff]]"),
        "{config}"
    );
    let master = std::fs::read(out.join("master.key")).unwrap();
    assert!(out.join("audit.key").exists());
    std::fs::write(out.join("policy.toml"), "[scope]\nglobal = true\n").unwrap();
    let again = stackhand(&["sim", "--out", out.to_str().unwrap(), "--check"]);
    assert!(again.status.success());
    assert_eq!(
        std::fs::read(out.join("master.key")).unwrap(),
        master,
        "a restart must keep the vault key the store was made with"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("policy.toml")).unwrap(),
        "[scope]\nglobal = true\n"
    );
}

#[test]
fn sim_names_a_typo_in_a_world_file() {
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("world.toml");
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../sim/world.toml"))
        .unwrap()
        .replacen(
            "manager = \"margaret.holloway\"",
            "manager = \"margret.holloway\"",
            1,
        );
    std::fs::write(&world, text).unwrap();
    let out = dir.path().join("deployment");
    let run = stackhand(&[
        "sim",
        "--world",
        world.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--check",
    ]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains(world.to_str().unwrap()), "{err}");
    assert!(err.contains("margret.holloway"), "{err}");
    assert!(err.contains("did you mean \"margaret.holloway\""), "{err}");
}
