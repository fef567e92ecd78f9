//! `stackhand tokens` and `stackhand serve`, run as a user runs them: a token is printed once
//! and listed without itself, the server answers it, and a revoked token is refused.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;

use support::{command, deployment, stackhand, text};

const POLICY: &str = r#"
[scope]
global = true

[[rules]]
id = "technicians-unlock"
actions = ["identity.unlock"]
effect = "allow"
[rules.when]
requester_kinds = ["technician"]
"#;

const LEAD: &str = "amorgan@northwind-msp.example";

/// `GET path` with a bearer token over a plain socket: (status line, body).
fn get(addr: &str, path: &str, token: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.lines().next().unwrap_or_default().to_string();
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_shown_once_and_serve_answers_them_until_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let _sims = deployment(dir, POLICY).await;

    let created = stackhand(
        dir,
        &["tokens", "create", "--as", LEAD, "--tenant", "contoso-law"],
    )
    .await;
    assert!(created.status.success(), "{}", text(&created));
    let token = String::from_utf8_lossy(&created.stdout).trim().to_string();
    assert!(token.starts_with("shk_") && token.len() == 68, "{token}");
    let nobody = stackhand(dir, &["tokens", "create", "--as", "eve@evil.example"]).await;
    assert!(!nobody.status.success());
    assert!(
        text(&nobody).contains("not in [[staff]]"),
        "{}",
        text(&nobody)
    );
    let elsewhere = stackhand(
        dir,
        &["tokens", "create", "--as", LEAD, "--tenant", "nowhere"],
    )
    .await;
    assert!(!elsewhere.status.success());
    let unreadable = stackhand(
        dir,
        &["tokens", "create", "--as", LEAD, "--expires-in", "3m"],
    )
    .await;
    assert!(!unreadable.status.success());
    assert!(
        text(&unreadable).contains("--expires-in \"3m\""),
        "{}",
        text(&unreadable)
    );

    let listed = stackhand(dir, &["tokens", "list", "--json"]).await;
    assert!(listed.status.success(), "{}", text(&listed));
    assert!(
        !text(&listed).contains(&token[4..]),
        "the list shows the token"
    );
    let tokens: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(tokens.as_array().unwrap().len(), 1);
    assert_eq!(tokens[0]["principal"], LEAD);
    assert_eq!(tokens[0]["tenants"], serde_json::json!(["contoso-law"]));
    // 90 days unless told otherwise.
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(tokens[0]["expires"].clone()).unwrap();
    let days = (expires - chrono::Utc::now()).num_days();
    assert!((89..=90).contains(&days), "{expires}");
    let id = tokens[0]["id"].as_str().unwrap().to_string();

    // The server, on a free port it names on standard error.
    let mut serve = command(dir, &["serve", "--listen", "127.0.0.1:0"]);
    serve.stdout(Stdio::null());
    let mut child = serve.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("serve names its address").unwrap();
        if let Some(rest) = line.split("http://").nth(1) {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    let (status, body) = tokio::task::spawn_blocking({
        let (addr, token) = (addr.clone(), token.clone());
        move || get(&addr, "/v1/tenants", &token)
    })
    .await
    .unwrap();
    assert!(status.contains("200"), "{status} {body}");
    assert!(
        body.contains("contoso-law") && !body.contains("globex"),
        "{body}"
    );

    let revoked = stackhand(dir, &["tokens", "revoke", &id]).await;
    assert!(revoked.status.success(), "{}", text(&revoked));
    let (status, _) = tokio::task::spawn_blocking({
        let (addr, token) = (addr.clone(), token.clone());
        move || get(&addr, "/v1/tenants", &token)
    })
    .await
    .unwrap();
    assert!(status.contains("401"), "{status}");
    let again = stackhand(dir, &["tokens", "revoke", &id]).await;
    assert!(!again.status.success(), "revoking twice");
    child.kill().unwrap();
    child.wait().unwrap();
}
