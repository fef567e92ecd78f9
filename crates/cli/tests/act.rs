//! `stackhand act` runs every built-in action through the engine, the policy and the real
//! connectors, against the simulators of one world (Contoso Law: Microsoft 365, ConnectWise,
//! NinjaOne, Hudu): the same command works against any server speaking the vendors' APIs.

mod support;

use serde_json::{Value, json};
use stackhand_sim::ninjaone::library::FLUSH_DNS_CACHE;
use support::{deployment, stackhand, stackhand_with_input, text};

const POLICY: &str = r#"
[scope]
global = true

[[rules]]
id = "technicians-may-do-anything-here"
description = "A test deployment: technicians may run every action"
actions = ["*"]
effect = "allow"
[rules.when]
requester_kinds = ["technician"]
"#;

const TECH: &str = "tech@msp.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn act_runs_every_builtin_action() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let sims = deployment(dir, POLICY).await;
    // New users are licensed in the US (mail goes out from the reception mailbox, as the
    // simulated deployment says).
    let config = dir.join("stackhand.toml");
    let toml = std::fs::read_to_string(&config).unwrap().replace(
        "[tenants.contoso-law.connectors.m365]\n",
        "[tenants.contoso-law.connectors.m365]\ndefault_usage_location = \"US\"\n",
    );
    std::fs::write(&config, toml).unwrap();
    let cw = &sims.connectwise.0;
    let open = cw.open_ticket_ids();
    let (first, second) = (open[0].to_string(), open[1].to_string());
    let steps: Vec<(&str, Value)> = vec![
        (
            "identity.find_user",
            json!({"query": {"by": "login", "value": "pshah@contosolaw.com"}}),
        ),
        ("identity.unlock", json!({"user": "dreyes@contosolaw.com"})),
        (
            "identity.revoke_sessions",
            json!({"user": "dreyes@contosolaw.com"}),
        ),
        (
            "identity.reset_password",
            json!({"user": "ochen@contosolaw.com"}),
        ),
        (
            "identity.reset_mfa",
            json!({"user": "pshah@contosolaw.com"}),
        ),
        ("identity.disable", json!({"user": "ochen@contosolaw.com"})),
        ("identity.enable", json!({"user": "ochen@contosolaw.com"})),
        (
            "identity.add_to_group",
            json!({"user": "pshah@contosolaw.com", "group": "Litigation Team"}),
        ),
        (
            "identity.remove_from_group",
            json!({"user": "pshah@contosolaw.com", "group": "Litigation Team"}),
        ),
        (
            "identity.grant_mailbox_access",
            json!({"mailbox": "reception@contosolaw.com", "user": "dreyes@contosolaw.com", "right": "full_access"}),
        ),
        (
            "identity.remove_mailbox_access",
            json!({"mailbox": "reception@contosolaw.com", "user": "dreyes@contosolaw.com", "right": "full_access"}),
        ),
        (
            "identity.create_user",
            json!({"login": "lfischer@contosolaw.com", "first_name": "Laura", "last_name": "Fischer",
                   "department": "Litigation", "job_title": "Paralegal"}),
        ),
        (
            "identity.assign_license",
            json!({"user": "lfischer@contosolaw.com", "sku": "SPE_E3"}),
        ),
        (
            "identity.remove_license",
            json!({"user": "lfischer@contosolaw.com", "sku": "SPE_E3"}),
        ),
        (
            "identity.assign_license",
            json!({"user": "lfischer@contosolaw.com", "sku": "SPE_E3"}),
        ),
        (
            "identity.remove_all_licenses",
            json!({"user": "lfischer@contosolaw.com"}),
        ),
        (
            "identity.remove_all_groups",
            json!({"user": "ochen@contosolaw.com"}),
        ),
        (
            "messaging.send",
            json!({"to": "pshah@contosolaw.com", "subject": "Your request", "body": "Done."}),
        ),
        (
            "psa.add_note",
            json!({"ticket": first, "text": "Looking into it.", "visibility": "internal"}),
        ),
        (
            "psa.set_status",
            json!({"ticket": first, "status": "In Progress"}),
        ),
        (
            "psa.reassign",
            json!({"ticket": first, "member": "amorgan"}),
        ),
        (
            "psa.link_to_parent",
            json!({"ticket": second, "parent": first}),
        ),
        ("psa.close", json!({"ticket": first, "resolution": "Done."})),
        (
            "psa.create_contact",
            json!({"company_id": "250", "first_name": "Laura", "last_name": "Fischer",
                   "email": "lfischer@contosolaw.com"}),
        ),
        (
            "psa.deactivate_contact",
            json!({"email": "lfischer@contosolaw.com"}),
        ),
        (
            "rmm.tag_device",
            json!({"device": "103", "tag": "act-test"}),
        ),
        (
            "rmm.untag_device",
            json!({"device": "103", "tag": "act-test"}),
        ),
        (
            "rmm.run_script",
            json!({"device": "103", "script": FLUSH_DNS_CACHE.to_string()}),
        ),
        (
            "docs.upsert_user_asset",
            json!({"company": "Contoso Law LLP", "name": "Laura Fischer",
                   "fields": {"Email": "lfischer@contosolaw.com", "Title": "Paralegal"}}),
        ),
        (
            "docs.create_article",
            json!({"company": "Contoso Law LLP", "title": "Printer jams", "body": "<p>Open tray 2.</p>"}),
        ),
        ("docs.archive_asset", json!({"asset": "1103"})),
    ];
    let mut ran: Vec<&str> = Vec::new();
    for (n, (action, params)) in steps.iter().enumerate() {
        let params = params.to_string();
        let key = format!("act-{n}");
        let args = [
            "act",
            "--tenant",
            "contoso-law",
            "--as",
            TECH,
            "--action",
            action,
            "--params",
            &params,
            "--key",
            &key,
            "--json",
        ];
        let out = stackhand(dir, &args).await;
        assert!(out.status.success(), "{action}: {}", text(&out));
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
        // A lookup changes nothing, so it is planned and answered without an execution.
        let expected = if *action == "identity.find_user" {
            "skipped"
        } else {
            "executed"
        };
        assert_eq!(answer["answer"], expected, "{action}: {answer:#}");
        ran.push(action);
    }

    // A secret parameter goes in on standard input and comes out nowhere.
    let secret = "Initial-Pass-7731!";
    let params = json!({"company": "Contoso Law LLP", "name": "Laura Fischer (Microsoft 365)",
                        "username": "lfischer@contosolaw.com"})
    .to_string();
    let args = [
        "act",
        "--tenant",
        "contoso-law",
        "--as",
        TECH,
        "--action",
        "docs.store_password",
        "--params",
        &params,
        "--secret",
        "password",
        "--json",
    ];
    let out = stackhand_with_input(dir, &args, &format!("{secret}\n")).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains(secret));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["answer"], "executed", "{answer:#}");
    let audit = stackhand(dir, &["audit", "show", "--tenant", "contoso-law", "--json"]).await;
    assert!(
        !text(&audit).contains(secret),
        "the secret reached the audit trail"
    );
    ran.push("docs.store_password");

    // Every built-in action ran.
    let listed = stackhand(dir, &["actions", "--json"]).await;
    let specs: Vec<Value> = serde_json::from_slice(&listed.stdout).unwrap();
    for spec in specs {
        let id = spec["id"].as_str().unwrap();
        assert!(
            ran.contains(&id),
            "{id} was not run through `stackhand act`"
        );
    }
}
