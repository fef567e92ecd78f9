//! `stackhand backtest` against the simulators: the simulator's closed tickets replayed with
//! nothing executed, the figures checked against what the history holds, and the HTML page
//! checked against the JSON report and for anything it would fetch.

mod support;

use serde_json::Value;
use stackhand_sim::deployment::STARTER_POLICY;
use support::{deployment, stackhand, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backtest_replays_the_history_and_its_html_matches_its_json() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let sims = deployment(dir, STARTER_POLICY).await;
    let writes_before = sims.m365.1.recorder().requests().len();
    let out = stackhand(
        dir,
        &[
            "backtest",
            "--tenant",
            "contoso-law",
            "--since",
            "400d",
            "--minutes",
            "15",
            "--json",
            "--html",
            "report.html",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();

    // Contoso's history in the world: 320 closed tickets, each with notes.
    assert_eq!(report["tickets"], 320, "{report:#}");
    assert_eq!(report["unlabelled"], 0);
    let n = |key: &str| report[key].as_u64().unwrap();
    assert_eq!(
        n("resolved") + n("resolved_with_approval") + n("routed"),
        320
    );
    let intents = report["intents"].as_array().unwrap();
    let labelled: u64 = intents.iter().map(|i| i["tickets"].as_u64().unwrap()).sum();
    assert_eq!(labelled, 320);
    for i in intents {
        assert!(i["agreed"].as_u64() <= i["tickets"].as_u64(), "{i}");
    }
    assert!(
        n("resolved") + n("resolved_with_approval") > 0,
        "{report:#}"
    );
    assert!(
        n("routed") > 0,
        "the history's printers and VPNs go to a person"
    );
    assert_eq!(n("minutes_saved"), n("saved_tickets") * 15);
    assert!(!report["routing_reasons"].as_array().unwrap().is_empty());

    // Nothing was executed: Microsoft 365 saw reads only.
    let writes: Vec<String> = sims.m365.1.recorder().requests()[writes_before..]
        .iter()
        // The sign-in for a token is no change.
        .filter(|r| r.method != "GET" && !r.path.contains("/oauth2/"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "a backtest wrote: {writes:?}");

    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for fetch in ["src=", "href=", "http://", "https://", "@import", "url("] {
        assert!(
            !html.contains(fetch),
            "the page would fetch something: {fetch}"
        );
    }
    let start = html
        .find("<script type=\"application/json\" id=\"backtest\">")
        .unwrap();
    let embedded = &html[start..];
    let embedded = &embedded[embedded.find('>').unwrap() + 1..embedded.find("</script>").unwrap()];
    let embedded: Value = serde_json::from_str(&embedded.replace("<\\/", "</")).unwrap();
    assert_eq!(embedded, report, "the page's data is the JSON report");
    let figure = |name: &str| -> String {
        let at = html.find(&format!("data-figure=\"{name}\">")).unwrap();
        let rest = &html[at..];
        rest[rest.find('>').unwrap() + 1..rest.find('<').unwrap()].to_string()
    };
    assert_eq!(figure("tickets"), "320");
    assert_eq!(figure("resolved"), n("resolved").to_string());
    assert_eq!(
        figure("resolved_with_approval"),
        n("resolved_with_approval").to_string()
    );
    assert_eq!(figure("routed"), n("routed").to_string());
    assert_eq!(
        figure("hours_saved"),
        format!("{:.1}", n("minutes_saved") as f64 / 60.0)
    );
    assert_eq!(
        figure("agreement"),
        format!("{:.0}%", report["agreement"].as_f64().unwrap() * 100.0)
    );
}
