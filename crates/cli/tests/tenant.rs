//! `stackhand tenant add | status | promote` against the simulators (issue 14's Done-when):
//! Globex (Okta, Autotask, NinjaOne, Hudu) connected afresh through the flags of the guided flow, a backtest on its history
//! checked against what the history holds, `identity.unlock` promoted, and one pass of
//! `stackhand run --once` resolving an unlock ticket live while another ticket stays shadowed;
//! and a tenant whose Hudu key is wrong refused with what to grant, the configuration as it was.

mod support;

use serde_json::Value;
use stackhand_sim::deployment::STARTER_POLICY;
use support::{deployment, stackhand, stackhand_with_input, text};

const TENANT: &str = "globex";

/// `text` without its `[tenants.…]` tables (each tenant's table and subtables).
fn without_tenants(config: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in config.lines() {
        if line.starts_with('[') {
            skipping = line.starts_with("[tenants.");
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `--<vendor>-<key> VALUE` flags for one connector table, `{ file = "x" }` credentials turned
/// into `vault:x` (their values gathered in `credentials`).
fn flags(
    vendor: &str,
    table: &toml::Table,
    prefix: &str,
    secrets: &std::path::Path,
    credentials: &mut Vec<(String, String)>,
    out: &mut Vec<String>,
) {
    for (key, value) in table {
        let key = format!("{prefix}{}", key.replace('_', "-"));
        match value {
            toml::Value::Table(inner) => {
                if let Some(file) = inner.get("file").and_then(|f| f.as_str()) {
                    let secret = std::fs::read_to_string(secrets.join(file)).unwrap();
                    credentials.push((file.to_string(), secret.trim().to_string()));
                    out.extend([format!("--{vendor}-{key}"), format!("vault:{file}")]);
                } else {
                    flags(vendor, inner, &format!("{key}."), secrets, credentials, out);
                }
            }
            toml::Value::String(s) => out.extend([format!("--{vendor}-{key}"), s.clone()]),
            other => out.extend([format!("--{vendor}-{key}"), other.to_string()]),
        }
    }
}

/// The command failed, saying `says`.
fn refused(out: &std::process::Output, says: &str) {
    assert!(!out.status.success(), "{}", text(out));
    assert!(text(out).contains(says), "{}", text(out));
}

/// `stackhand tenant status --json`: the record of `action`.
async fn status_of(dir: &std::path::Path, action: &str) -> Value {
    let out = stackhand(
        dir,
        &[
            "tenant", "status", "--tenant", TENANT, "--days", "400", "--json",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    status["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == action)
        .unwrap_or_else(|| panic!("{action} not in {status:#}"))
        .clone()
}

/// What adds Globex afresh: `stackhand.toml` loses its `[tenants.*]` tables and Globex's
/// secret files; the simulator's own settings for Globex become the flags of `tenant add`, and
/// its secrets (name, value) go to standard input, into the vault. Also Globex's connector
/// tables as they were.
fn globex_add(dir: &std::path::Path) -> (Vec<String>, Vec<(String, String)>, toml::Table) {
    let config = std::fs::read_to_string(dir.join("stackhand.toml")).unwrap();
    let parsed: toml::Table = config.parse().unwrap();
    let connectors = parsed["tenants"][TENANT]["connectors"]
        .as_table()
        .unwrap()
        .clone();
    std::fs::write(dir.join("stackhand.toml"), without_tenants(&config)).unwrap();
    let secrets = dir.join("secrets").join(TENANT);
    let mut credentials = Vec::new();
    let mut settings = Vec::new();
    for (vendor, table) in &connectors {
        flags(
            vendor,
            table.as_table().unwrap(),
            "",
            &secrets,
            &mut credentials,
            &mut settings,
        );
    }
    std::fs::remove_dir_all(&secrets).unwrap();
    let mut args: Vec<String> = [
        "tenant",
        "add",
        "--tenant",
        TENANT,
        "--name",
        "Globex Corporation",
        "--identity",
        "okta",
        "--psa",
        "autotask",
        "--rmm",
        "ninjaone",
        "--docs",
        "hudu",
        "--history-days",
        "400",
        "--json",
    ]
    .map(String::from)
    .to_vec();
    for (name, _) in &credentials {
        args.extend(["--credential".to_string(), name.clone()]);
    }
    args.extend(settings);
    (args, credentials, connectors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_whose_check_fails_is_not_added_and_the_fix_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let _sims = deployment(dir, STARTER_POLICY).await;
    let (args, mut credentials, _) = globex_add(dir);
    let before = std::fs::read_to_string(dir.join("stackhand.toml")).unwrap();
    // Hudu's API key is wrong: Hudu answers 401, and nothing else is the matter.
    let hudu = credentials
        .iter_mut()
        .find(|(name, _)| name.starts_with("hudu"))
        .expect("a Hudu credential");
    hudu.1 = "not-the-key".into();
    let input: String = credentials.iter().map(|(_, v)| format!("{v}\n")).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = stackhand_with_input(dir, &args, &input).await;
    refused(
        &out,
        "hudu failed its check, so tenant globex was not added",
    );
    // What to grant, and where, is named.
    refused(&out, "the API key must allow password access");
    let checks: Value = serde_json::from_slice(&out.stdout).unwrap();
    let healthy: Vec<(&str, bool)> = checks
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["vendor"].as_str().unwrap(),
                c["healthy"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(healthy.len(), 4, "{checks:#}");
    assert!(
        healthy
            .iter()
            .all(|(vendor, ok)| *ok == (*vendor != "hudu")),
        "{checks:#}"
    );
    // Nothing of the attempt stays: the configuration as it was, no policy proposed.
    let after = std::fs::read_to_string(dir.join("stackhand.toml")).unwrap();
    assert_eq!(before, after);
    assert!(!dir.join("policies/globex.toml").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_is_added_backtested_promoted_and_resolves_one_action_live() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let sims = deployment(dir, STARTER_POLICY).await;

    let (args, credentials, connectors) = globex_add(dir);
    let input: String = credentials.iter().map(|(_, v)| format!("{v}\n")).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = stackhand_with_input(dir, &args, &input).await;
    assert!(out.status.success(), "{}", text(&out));
    let added: Value = serde_json::from_slice(&out.stdout).unwrap();
    for check in added["checks"].as_array().unwrap() {
        assert_eq!(check["healthy"], true, "{check}");
    }
    assert_eq!(added["checks"].as_array().unwrap().len(), 4, "{added:#}");
    // What the history holds: Globex's closed tickets in the Autotask simulator.
    let company = connectors["autotask"]["company_id"].as_integer().unwrap();
    let closed = sims.autotask.0.closed_ticket_ids(company).len() as u64;
    assert!(closed > 0);
    assert_eq!(added["history"]["tickets"], closed, "{added:#}");
    // Okta has no licences; the history's contacts are its users, with their groups and devices.
    assert!(
        !added["shape"]["groups"].as_array().unwrap().is_empty(),
        "{added:#}"
    );
    assert!(added["shape"]["users"].as_u64().unwrap() > 0, "{added:#}");
    let config = std::fs::read_to_string(dir.join("stackhand.toml")).unwrap();
    assert!(config.contains("shadow = true"), "{config}");
    assert!(
        config.contains("api_token = { vault = \"okta.token\" }"),
        "{config}"
    );
    let policy = std::fs::read_to_string(dir.join("policies/globex.toml")).unwrap();
    assert!(policy.contains("tenant = \"globex\""), "{policy}");
    // Adding it again is refused.
    let again = stackhand_with_input(dir, &args, &input).await;
    refused(&again, "already has tenant");

    // The backtest on the history the tenant add imported.
    let out = stackhand(
        dir,
        &["backtest", "--tenant", TENANT, "--since", "400d", "--json"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let n = |key: &str| report[key].as_u64().unwrap();
    assert_eq!(n("tickets"), closed, "every closed ticket is replayed");
    assert_eq!(
        n("resolved") + n("resolved_with_approval") + n("routed"),
        closed
    );
    let by_intent: u64 = report["intents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["tickets"].as_u64().unwrap())
        .sum();
    assert_eq!(by_intent, closed - n("unlabelled"));
    assert_eq!(
        n("unlabelled"),
        closed - added["history"]["labelled"].as_u64().unwrap()
    );
    for (intent, count) in added["history"]["intents"].as_object().unwrap() {
        let found = report["intents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| &i["intent"] == intent)
            .unwrap_or_else(|| panic!("{intent} missing from the backtest: {report:#}"));
        assert_eq!(&found["tickets"], count, "{intent}");
    }

    // The shadow record: the backtest's plans (counted as backtested, not as shadowed open
    // tickets), agreement from the technicians' notes.
    let unlock = status_of(dir, "identity.unlock").await;
    assert_eq!(unlock["live"], false);
    assert!(unlock["backtested"].as_u64().unwrap() > 0, "{unlock:#}");
    assert_eq!(unlock["shadowed"], 0, "no shadow pass has run: {unlock:#}");
    assert!(unlock["agreed"].as_u64().unwrap() > 0, "{unlock:#}");

    // A typo is named with the nearest action; the promotion is written and audited.
    let out = stackhand(
        dir,
        &[
            "tenant",
            "promote",
            "--tenant",
            TENANT,
            "--action",
            "identity.unlok",
        ],
    )
    .await;
    refused(&out, "did you mean \"identity.unlock\"");
    let out = stackhand(
        dir,
        &[
            "tenant",
            "promote",
            "--tenant",
            TENANT,
            "--action",
            "identity.unlock",
            "--as",
            "amorgan@northwind-msp.example",
            "--reason",
            "agrees with the technicians",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let config = std::fs::read_to_string(dir.join("stackhand.toml")).unwrap();
    assert!(
        config.contains("live_actions = [\"identity.unlock\"]"),
        "{config}"
    );
    let trail = stackhand(dir, &["audit", "show", "--tenant", TENANT, "--json"]).await;
    assert!(
        text(&trail).contains("config_changed")
            && text(&trail).contains("agrees with the technicians"),
        "{}",
        text(&trail).chars().rev().take(3000).collect::<String>()
    );
    assert_eq!(status_of(dir, "identity.unlock").await["live"], true);

    // One pass: Frank's unlock runs live and his ticket is closed; Lenny's MFA stays shadowed.
    const UNLOCK: &str = "Can't log in - account locked";
    const MFA: &str = "MFA prompts not arriving";
    let okta_before = sims.okta.1.recorder().requests().len();
    let at = &sims.autotask.0;
    let find = |title: &str| at.tickets().into_iter().find(|t| t.title == title).unwrap();
    let mfa_notes = at.notes(find(MFA).id).len();
    let out = stackhand(dir, &["run", "--once", "--json"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ticket = |subject: &str| {
        run["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["subject"] == subject)
            .unwrap_or_else(|| panic!("{subject} not taken: {run:#}"))
            .clone()
    };
    let frank = ticket(UNLOCK);
    assert_eq!(frank["resolution"], "resolved", "{frank:#}");
    let mfa = ticket(MFA);
    assert_eq!(mfa["resolution"], "shadowed", "{mfa:#}");
    assert!(
        find(UNLOCK).completed.is_some(),
        "Frank's ticket is closed in Autotask: {:?}",
        find(UNLOCK)
    );
    assert!(find(MFA).completed.is_none());
    assert_eq!(
        at.notes(find(MFA).id).len(),
        mfa_notes,
        "nothing is written to a shadowed ticket"
    );
    for (subject, t) in run["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (&t["subject"], t))
    {
        if subject != UNLOCK {
            assert!(
                ["shadowed", "linked_to_incident"].contains(&t["resolution"].as_str().unwrap()),
                "{t:#}"
            );
        }
    }
    let writes: Vec<String> = sims.okta.1.recorder().requests()[okta_before..]
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(writes.len(), 1, "only the unlock ran: {writes:?}");
    assert!(writes[0].contains("unlock"), "{writes:?}");
    // The pass's previews are shadowed tickets in the record: Lenny's MFA reset among them.
    let reset = status_of(dir, "identity.reset_mfa").await;
    assert!(reset["shadowed"].as_u64().unwrap() >= 1, "{reset:#}");
}
