//! Durable runs survive SIGKILL. `stackhand runs start` executes a three-step run for Contoso
//! Law against the simulators of one world (add Priya to a group in Microsoft 365, tag her
//! laptop in NinjaOne, update her person asset in Hudu) on a SQLite store. The process is
//! killed twice: once between two steps (step 1's first NinjaOne request held before NinjaOne
//! sees it) and once in the middle of a vendor call (Hudu applied the update, its answer never
//! left). `stackhand runs resume` then finishes the run, and the simulators show each change
//! made exactly once: no step twice, none lost.

mod support;

use std::path::Path;
use std::process::Child;
use std::time::Duration;

use serde_json::Value;
use stackhand_sim::{HoldPoint, RecordedRequest, SimServer};
use support::{command, deployment, stackhand, text};

const POLICY: &str = r#"
[scope]
global = true

[[rules]]
id = "technicians-onboard"
description = "Technicians may add to groups, tag devices and document people"
actions = ["identity.add_to_group", "rmm.tag_device", "docs.upsert_user_asset"]
effect = "allow"
[rules.when]
requester_kinds = ["technician"]
"#;

const RUN: &str = r#"
tenant = "contoso-law"
id = "onboard-priya"
summary = "Priya joins litigation: group, laptop tag, documentation"
requester = "tech@msp.example"

[[steps]]
action = "identity.add_to_group"
params = { user = "pshah@contosolaw.com", group = "Litigation Team" }

[[steps]]
action = "rmm.tag_device"
params = { device = "103", tag = "litigation" }

[[steps]]
action = "docs.upsert_user_asset"
params = { company = "Contoso Law LLP", name = "Priya Shah", fields = { Title = "Senior Paralegal" } }
"#;

/// Long enough for a debug binary on a loaded two-core machine to reach the held request; a
/// guard against hanging forever, not a measure of speed.
const REACH: Duration = Duration::from_secs(180);

/// Start the binary, wait until `held` holds its request, and SIGKILL it there. A binary that
/// ends first fails the test with what it said.
async fn kill_when_held(dir: &Path, args: &[&str], held: &stackhand_sim::Hold) {
    kill_when(dir, args, held, || true).await;
}

/// [`kill_when_held`], once `also` holds too (what else the binary does at the same time has
/// reached the vendors), so the kill lands at one known point.
async fn kill_when(dir: &Path, args: &[&str], held: &stackhand_sim::Hold, also: impl Fn() -> bool) {
    let mut child: Child = command(dir, args).spawn().expect("the binary runs");
    let deadline = tokio::time::Instant::now() + REACH;
    while !(held.is_reached() && also()) {
        let ended = child
            .try_wait()
            .expect("the child can be waited on")
            .is_some();
        if ended || tokio::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
                .await
                .unwrap();
            panic!("the run never reached the held request:\n{}", text(&out));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL");
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(!status.success(), "killed, not finished");
    held.release();
}

/// The requests a simulator received with this method and a path containing `path`.
fn count(server: &SimServer, method: &str, path: &str) -> usize {
    server
        .recorder()
        .requests()
        .iter()
        .filter(|r: &&RecordedRequest| r.method.as_str() == method && r.path.contains(path))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_between_steps_and_mid_vendor_call_applies_each_step_once() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let sims = deployment(dir, POLICY).await;
    std::fs::write(dir.join("run.toml"), RUN).unwrap();
    let (graph, ninja, hudu) = (&sims.m365.1, &sims.ninjaone.1, &sims.hudu.1);
    let group_adds = || count(graph, "POST", "/members/$ref");
    let tag_writes = || count(ninja, "POST", "/v2/tag/device");
    let asset_writes = || count(hudu, "PUT", "/assets/");

    // Killed between two steps: step 0 done, step 1's first NinjaOne request never seen.
    let held = ninja.hold("GET", "/v2/device", HoldPoint::BeforeHandling);
    kill_when_held(dir, &["runs", "start", "run.toml", "--json"], &held).await;
    assert_eq!(group_adds(), 1, "step 0 ran once before the kill");
    assert_eq!(tag_writes(), 0);

    // Killed mid vendor call: Hudu made the change, the runner never heard back.
    let held = hudu.hold("PUT", "/assets/", HoldPoint::AfterHandling);
    kill_when_held(dir, &["runs", "resume", "--json"], &held).await;
    assert_eq!(tag_writes(), 1, "step 1 ran once after the restart");
    assert_eq!(asset_writes(), 1, "Hudu applied step 2 before the kill");

    // Started again: the run finishes, step 2 settled by reading Hudu back.
    let out = stackhand(dir, &["runs", "resume", "--json"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = &reports[0];
    assert_eq!(run["id"], "onboard-priya", "{reports:#}");
    assert_eq!(run["state"], "succeeded", "{reports:#}");
    let answers: Vec<&str> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["answer"].as_str().unwrap_or("none"))
        .collect();
    assert_eq!(answers, ["executed", "executed", "executed"], "{reports:#}");
    let settled = run["steps"][2]["message"].as_str().unwrap_or_default();
    assert!(settled.contains("reading the target back"), "{settled}");

    // Each change was made exactly once.
    assert_eq!(group_adds(), 1, "the group add ran twice");
    assert_eq!(tag_writes(), 1, "the tag was written twice");
    assert_eq!(asset_writes(), 1, "the asset was updated twice");

    // Nothing is left, and starting the same run again changes nothing.
    let out = stackhand(dir, &["runs", "resume"]).await;
    assert!(text(&out).contains("no unfinished runs"), "{}", text(&out));
    let out = stackhand(dir, &["runs", "start", "run.toml"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("succeeded"), "{}", text(&out));
    assert_eq!(
        (group_adds(), tag_writes(), asset_writes()),
        (1, 1, 1),
        "a finished run ran again"
    );
}

/// Onboarding runs on its own under this policy (no approvals to wait for), so a runner can be
/// killed in the middle of it.
const ONBOARDING_POLICY: &str = r#"
[scope]
global = true

[[rules]]
id = "contacts-onboard"
description = "An authorised contact's new starter is onboarded without waiting"
actions = [
  "identity.create_user", "identity.assign_license", "identity.add_to_group",
  "rmm.tag_device", "psa.create_contact", "docs.upsert_user_asset", "docs.store_password",
  "messaging.send",
]
effect = "allow"
[rules.when]
requester_kinds = ["end_user"]
self_service = false

[[rules]]
id = "stackhand-keeps-tickets"
actions = ["psa.add_note", "psa.close", "psa.reassign", "messaging.send"]
effect = "allow"
[rules.when]
requester_kinds = ["agent"]
"#;

/// `stackhand run` is killed twice in the middle of Laura Fischer's onboarding: while
/// Microsoft 365 has assigned her licence and ConnectWise created her contact, then while Hudu
/// has stored her password, each time before their answers left. Started again each time, the
/// runner settles those steps by reading each system back (ADR 0012) and finishes the run.
/// Every system shows each change once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_onboarding_killed_mid_vendor_call_applies_each_step_once() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let sims = deployment(dir, ONBOARDING_POLICY).await;
    let (graph, ninja, cw, hudu) = (
        &sims.m365.1,
        &sims.ninjaone.1,
        &sims.connectwise.1,
        &sims.hudu.1,
    );
    let accounts = || {
        graph
            .recorder()
            .requests()
            .iter()
            .filter(|r| r.method.as_str() == "POST" && r.path.ends_with("/users"))
            .count()
    };
    // Other tickets of the world run in the same passes (a request to add two people to a
    // group, say): only writes about Laura, her laptop (109) and her records count.
    let about = |server: &SimServer, method: &str, path: &str, needle: &str| {
        server
            .recorder()
            .requests()
            .iter()
            .filter(|r| {
                r.method.as_str() == method
                    && r.path.contains(path)
                    && String::from_utf8_lossy(&r.body).contains(needle)
            })
            .count()
    };
    let writes = || {
        let laura_id = sims
            .m365
            .0
            .user("lfischer@contosolaw.com")
            .map(|u| u.id)
            .unwrap_or_else(|| "no such user yet".into());
        (
            accounts(),
            count(graph, "POST", "/assignLicense"),
            about(graph, "POST", "/members/$ref", &laura_id),
            about(ninja, "POST", "/v2/tag/device", "109"),
            about(cw, "POST", "/company/contacts", "lfischer"),
            about(hudu, "POST", "/asset_passwords", "lfischer"),
        )
    };

    // The licence, the groups, the contact and the asset run at once (the password waits for
    // that wave): the first kill comes when Microsoft 365 has assigned the licence and
    // ConnectWise has created the contact (their answers held), and the groups and the asset
    // have reached their vendors, whose answers may or may not have been recorded.
    let held = graph.hold("POST", "/assignLicense", HoldPoint::AfterHandling);
    let contact_held = cw.hold("POST", "/company/contacts", HoldPoint::AfterHandling);
    let laura = "lfischer@contosolaw.com";
    let reached = || {
        contact_held.is_reached()
            && sims.m365.0.is_member("Litigation Team", laura)
            && sims.m365.0.is_member("All Staff", laura)
            && sims.hudu.0.companies().iter().any(|c| {
                sims.hudu
                    .0
                    .assets_of(c.id)
                    .iter()
                    .any(|a| a.name == "Laura Fischer")
            })
    };
    kill_when(dir, &["run", "--once", "--json"], &held, reached).await;
    assert_eq!(accounts(), 1, "the account was created before the kill");
    assert_eq!(
        count(graph, "POST", "/assignLicense"),
        1,
        "Microsoft 365 assigned the licence before the kill"
    );

    // Started again, the runner settles that wave and goes on to the password: the second
    // kill comes when Hudu has stored it (its answer held).
    let password_held = hudu.hold("POST", "/asset_passwords", HoldPoint::AfterHandling);
    kill_when_held(dir, &["run", "--once", "--json"], &password_held).await;
    assert_eq!(
        count(hudu, "POST", "/asset_passwords"),
        1,
        "Hudu stored the password before the kill"
    );

    let out = stackhand(dir, &["run", "--once", "--json"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let laura = report["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["subject"] == "New starter: Laura Fischer starting Monday")
        .unwrap_or_else(|| panic!("Laura's ticket was not taken up again: {report:#}"));
    let outcome = laura["resolution"].as_str().unwrap();
    assert!(
        ["resolved", "scheduled"].contains(&outcome),
        "the onboarding did not finish: {laura:#}"
    );
    // Each held step is settled by reading its system back: the licence by planning again,
    // the contact (which cannot be planned again once it exists) found by its email and name,
    // the password entry found new in Hudu's vault with Laura's username.
    for action in [
        "identity.assign_license",
        "psa.create_contact",
        "docs.store_password",
    ] {
        let step = laura["run"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["action"] == action)
            .unwrap();
        assert_eq!(step["answer"], "executed", "{laura:#}");
        assert!(
            step["message"]
                .as_str()
                .unwrap_or_default()
                .contains("reading the target back"),
            "{step:#}"
        );
    }
    assert_eq!(
        writes(),
        (1, 1, 2, 1, 1, 1),
        "(accounts, licences, group adds, tags, contacts, passwords): a step ran twice or not \
         at all"
    );
    let m365 = &sims.m365.0;
    // Contoso's SPE_E3 (Microsoft 365 E3), by SKU id.
    assert_eq!(
        m365.licenses_of("lfischer@contosolaw.com"),
        ["05e9a617-0261-4cee-bb44-138d3ef5d965"]
    );

    // Another pass changes nothing.
    let out = stackhand(dir, &["run", "--once"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(writes(), (1, 1, 2, 1, 1, 1), "a finished step ran again");
}
