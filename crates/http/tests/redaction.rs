//! No secret reaches Debug output, error Display or traces. Alone in its own test binary: a
//! thread-local subscriber only sees every callsite when no other test thread registers them
//! first.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::builder;
use secrecy::SecretString;
use stackhand_http::{Auth, ClientAuth, ClientCredentials, HeaderName, StaticToken, Url};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY_PEM: &str = include_str!("fixtures/test_rsa_key.pem");

fn token_url(server: &MockServer) -> Url {
    format!("{}/tenant-1/oauth2/v2.0/token", server.uri())
        .parse()
        .unwrap()
}

fn secret_credentials(server: &MockServer) -> ClientCredentials {
    ClientCredentials::new(
        token_url(server),
        "client-1",
        ClientAuth::ClientSecret(SecretString::from("client-secret-value")),
    )
    .scope("https://graph.microsoft.com/.default")
}

fn token_body(token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "token_type": "Bearer", "expires_in": 3599, "access_token": token,
    }))
}

/// A `MakeWriter` into a shared buffer, so a test can read what was traced.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Runs on the current thread so the thread-local subscriber sees every event.
#[tokio::test(flavor = "current_thread")]
async fn no_secret_reaches_debug_errors_or_traces() {
    let secrets = [
        "issued-access-token-XYZ",
        "client-secret-value",
        "basic-password-PW",
        "autotask-header-secret",
        "static-delegated-token",
        "dXNlcjpiYXNpYy1wYXNzd29yZC1QVw",
    ];
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    Mock::given(path("/tenant-1/oauth2/v2.0/token"))
        .respond_with(token_body("issued-access-token-XYZ"))
        .mount(&server)
        .await;
    let source = secret_credentials(&server);
    // Each client's calls fail with a body that echoes that client's secrets back bare (the
    // redactor cannot know secrets a client never held, so each case echoes its own).
    let cases: Vec<(Auth, Vec<&str>)> = vec![
        (
            Auth::bearer(source),
            vec!["issued-access-token-XYZ", "client-secret-value"],
        ),
        (
            Auth::basic("user", SecretString::from("basic-password-PW")),
            // base64("user:basic-password-PW"), as an echoed Authorization header would show it.
            vec!["basic-password-PW", "dXNlcjpiYXNpYy1wYXNzd29yZC1QVw=="],
        ),
        (
            Auth::Headers(vec![(
                HeaderName::from_static("secret"),
                SecretString::from("autotask-header-secret"),
            )]),
            vec!["autotask-header-secret"],
        ),
        (
            Auth::bearer(StaticToken::new(SecretString::from(
                "static-delegated-token",
            ))),
            vec!["static-delegated-token"],
        ),
    ];
    let mut shown = String::new();
    for (i, (auth, echoed)) in cases.into_iter().enumerate() {
        let echo = format!(
            r#"{{"error":{{"code":"Echo","message":"you sent {} (Bearer issued-access-token-XYZ)"}}}}"#,
            echoed.join(" and ")
        );
        Mock::given(path(format!("/api/{i}/echo")))
            .respond_with(ResponseTemplate::new(400).set_body_string(echo.clone()))
            .mount(&server)
            .await;
        Mock::given(path(format!("/api/{i}/garbage")))
            .respond_with(
                ResponseTemplate::new(502).set_body_string(format!("<html>{echo}</html>")),
            )
            .mount(&server)
            .await;
        shown.push_str(&format!("{auth:?}\n"));
        let client = builder(&server, "test", "/api/")
            .auth(auth)
            .retry(common::fast_retry(1))
            .build()
            .unwrap();
        shown.push_str(&format!("{client:?}\n"));
        for p in ["echo", "garbage"] {
            let err = client
                .get(&format!("{i}/{p}"))
                .operation("echo")
                .send()
                .await
                .unwrap_err();
            shown.push_str(&format!("{err}\n{err:?}\n"));
        }
    }
    shown.push_str(&format!("{:?}", secret_credentials(&server)));
    shown.push_str(&format!(
        "{:?}",
        ClientAuth::PrivateKeyJwt {
            key_pem: SecretString::from(KEY_PEM),
            key_id: None,
            x5t: None
        }
    ));
    let traced = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(traced.contains("http.request"), "no span traced: {traced}");
    assert!(traced.contains("operation=echo"), "{traced}");
    assert!(shown.contains("Echo"), "vendor code missing: {shown}");
    for secret in secrets.iter().chain(&["PRIVATE KEY"]) {
        assert!(!shown.contains(secret), "{secret} leaked in:\n{shown}");
        assert!(
            !traced.contains(secret),
            "{secret} leaked in traces:\n{traced}"
        );
    }
}
