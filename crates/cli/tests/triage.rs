//! `stackhand triage train|eval|classify` against the simulators of one world, run as a user
//! runs them: the tenant's model learned from its PSA's closed tickets, kept in the store, used
//! from then on; names resolved through the tenant's directory.

mod support;

use serde_json::Value;
use stackhand_sim::deployment::STARTER_POLICY;
use support::{deployment, stackhand, stackhand_with_input, text};

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", text(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(out)))
}

const EVAL: &[&str] = &["triage", "eval", "--tenant", "contoso-law", "--json"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_learns_from_its_history_and_classifies_with_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let _sims = deployment(dir, STARTER_POLICY).await;

    let before = json(&stackhand(dir, EVAL).await);
    assert_eq!(before["model"], "base");
    let figures = before["held_out"].as_array().unwrap();
    assert_eq!(figures[0]["name"], "model");
    assert_eq!(figures[1]["name"], "keyword baseline");
    assert!(figures[0]["accuracy"].as_f64() > figures[1]["accuracy"].as_f64());

    let trained = json(
        &stackhand(
            dir,
            &[
                "triage",
                "train",
                "--tenant",
                "contoso-law",
                "--days",
                "400",
                "--json",
            ],
        )
        .await,
    );
    let learned = &trained["learned"];
    // Contoso's history in the world: 320 closed tickets, every one with notes.
    assert_eq!(learned["tickets"], 320, "{trained:#}");
    assert_eq!(learned["labelled"], 320, "{trained:#}");
    for intent in ["password_reset", "mailbox_access", "onboarding", "other"] {
        assert!(
            learned["intents"][intent].as_u64() > Some(5),
            "{intent}: {learned:#}"
        );
    }
    assert!(
        learned["approvers"]
            .as_object()
            .is_some_and(|by| !by.is_empty()),
        "approvals named in the notes: {learned:#}"
    );
    let held = trained["held_out"].as_array().expect("a held-back fifth");
    let names: Vec<&str> = held.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["tenant model", "base model", "keyword baseline"]);
    assert!(
        held[0]["in_scope_accuracy"].as_f64() >= Some(0.9),
        "{held:#?}"
    );

    let after = json(&stackhand(dir, EVAL).await);
    assert_eq!(after["model"], "tenant");

    let input = [
        r#"{"subject": "forgot my password", "body": "can't log in this morning", "requester": "pshah@contosolaw.com"}"#,
        r#"{"subject": "Password", "body": "Please reset the password for Tom Becker, he forgot it over the holidays.", "requester": "pshah@contosolaw.com"}"#,
        r#"{"subject": "Password", "body": "Please reset the password for Mallory Nobody.", "requester": "pshah@contosolaw.com"}"#,
        r#"{"subject": "door", "body": "My building badge is locked out at the front door", "requester": "pshah@contosolaw.com"}"#,
        r#"{"subject": "New starter: Jürgen Müller starting Monday", "body": "Jürgen Müller joins the litigation team on Monday as a paralegal, reporting to Daniel Reyes.", "requester": "mholloway@contosolaw.com"}"#,
        r#"{"subject": "no body"}"#,
    ]
    .join("\n");
    let out = stackhand_with_input(
        dir,
        &["triage", "classify", "--tenant", "contoso-law"],
        &input,
    )
    .await;
    assert!(
        !out.status.success(),
        "a bad line fails the run: {}",
        text(&out)
    );
    let answers: Vec<Value> = String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        answers.len(),
        6,
        "one answer per line, in order: {}",
        text(&out)
    );
    assert_eq!(answers[0]["intent"], "password_reset");
    assert_eq!(answers[0]["target"], "pshah@contosolaw.com");
    assert_eq!(answers[0]["abstained"], false);
    assert_eq!(answers[1]["intent"], "password_reset", "{}", answers[1]);
    assert_eq!(
        answers[1]["target"], "tbecker@contosolaw.com",
        "{}",
        answers[1]
    );
    assert_eq!(answers[2]["target"], Value::Null);
    assert!(
        answers[2]["reason"]
            .as_str()
            .unwrap()
            .contains("not a user"),
        "{}",
        answers[2]
    );
    assert_eq!(answers[3]["intent"], Value::Null, "{}", answers[3]);
    // Contoso's login format is `{f}{last}@{domain}`.
    assert_eq!(answers[4]["intent"], "onboarding", "{}", answers[4]);
    assert_eq!(
        answers[4]["target"], "jmuller@contosolaw.com",
        "{}",
        answers[4]
    );
    assert!(
        answers[5]["error"].as_str().unwrap().contains("line 6"),
        "{}",
        answers[5]
    );
}
