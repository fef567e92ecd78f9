//! Building the connector the way a runner does: a `[tenants.acme.connectors.echo]` section of
//! `stackhand.toml`, handed to `Registry::build` as JSON, with the tenant's secrets directory.

use serde_json::Value;
use stackhand_core::{Category, ErrorKind, Registry};
use stackhand_testkit::deployment::{SecretsDir, toml_section};

const API_KEY: &str = "echo-api-key-from-the-secrets-dir-51aa";

const STACKHAND_TOML: &str = r#"
[tenants.acme]
name = "Acme"

[tenants.acme.connectors.echo]
base_url = "https://echo.example"
api_key = { file = "echo.key" }

[tenants.acme.connectors.echo.http]
timeout_secs = 10
requests_per_second = 5
user_agent = "acme-msp/stackhand"

[tenants.acme.connectors.echo.http.retry]
max_attempts = 2
"#;

/// The echo section of `text`, as the runner hands it to the factory (JSON).
fn echo_section(text: &str) -> Value {
    toml_section(text, "acme", "echo")
}

/// Acme's secrets directory holds the credential; globex's is empty.
fn secrets() -> SecretsDir {
    SecretsDir::new(&["acme", "globex"]).with("acme", "echo.key", API_KEY)
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    stackhand_echo::register(&mut registry);
    registry
}

#[tokio::test]
async fn builds_from_a_stackhand_toml_section() {
    let secrets = secrets();
    let registry = registry();
    assert_eq!(registry.vendors().collect::<Vec<_>>(), ["echo"]);
    let connector = registry
        .build(
            &secrets.context("acme"),
            "echo",
            echo_section(STACKHAND_TOML),
        )
        .await
        .expect("the section builds");
    let info = connector.info();
    assert_eq!(info.vendor, "echo");
    assert_eq!(info.tenant.as_str(), "acme");
    assert_eq!(info.categories, [Category::Rmm]);
    assert!(connector.rmm().is_some() && connector.rmm_writes().is_some());
    let actions: Vec<String> = connector
        .actions()
        .iter()
        .map(|a| a.spec().id.to_string())
        .collect();
    assert_eq!(actions, ["echo.retag"]);
    assert!(!format!("{connector:?}").contains(API_KEY));

    let description = registry.describe().remove(0);
    assert_eq!(description.vendor, "echo");
    assert_eq!(description.actions[0].id.as_str(), "echo.retag");
    assert_eq!(description.actions[0].risk, stackhand_core::Risk::Low);
    assert!(description.actions[0].reversible);
}

#[tokio::test]
async fn a_typo_is_refused_naming_the_nearest_key() {
    let secrets = secrets();
    let cases = [
        ("api_key =", "api_kye =", "api_kye", "api_key"),
        ("base_url =", "base_uri =", "base_uri", "base_url"),
        (
            "timeout_secs =",
            "timeout_sec =",
            "http.timeout_sec",
            "timeout_secs",
        ),
        (
            "max_attempts =",
            "max_attempt =",
            "http.retry.max_attempt",
            "max_attempts",
        ),
    ];
    for (right, wrong, key, nearest) in cases {
        let text = STACKHAND_TOML.replace(right, wrong);
        let err = registry()
            .build(&secrets.context("acme"), "echo", echo_section(&text))
            .await
            .expect_err("a typo is refused");
        assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
        assert_eq!(err.context_value("key"), Some(key), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(&format!("did you mean \"{nearest}\"")),
            "{key}: {text}"
        );
    }
}

#[tokio::test]
async fn secrets_stay_out_of_the_file_and_inside_the_tenant() {
    let secrets = secrets();
    // A key pasted into the file is refused without being repeated.
    let pasted = STACKHAND_TOML.replace(
        "api_key = { file = \"echo.key\" }",
        "api_key = \"pasted-key-123\"",
    );
    let err = registry()
        .build(&secrets.context("acme"), "echo", echo_section(&pasted))
        .await
        .unwrap_err();
    assert_eq!(err.context_value("key"), Some("api_key"), "{err}");
    assert!(!err.to_string().contains("pasted-key-123"), "{err}");

    // Another tenant cannot borrow acme's key.
    let borrowed = STACKHAND_TOML.replace("\"echo.key\"", "\"../acme/echo.key\"");
    let err = registry()
        .build(&secrets.context("globex"), "echo", echo_section(&borrowed))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden, "{err}");
    assert!(!err.to_string().contains(API_KEY));
}

#[tokio::test]
async fn validation_names_the_key_at_fault() {
    let secrets = secrets();
    let cases = [
        (
            "base_url = \"https://echo.example\"",
            "base_url = \"http://echo.example\"",
            "base_url",
        ),
        ("timeout_secs = 10", "page_size = 50", "http.page_size"),
        ("timeout_secs = 10", "timeout_secs = 0", "http.timeout_secs"),
    ];
    for (right, wrong, key) in cases {
        let text = STACKHAND_TOML.replace(right, wrong);
        let err = registry()
            .build(&secrets.context("acme"), "echo", echo_section(&text))
            .await
            .expect_err("invalid");
        assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
        assert_eq!(err.context_value("key"), Some(key), "{err}");
    }
}
