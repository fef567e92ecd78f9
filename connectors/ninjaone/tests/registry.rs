//! Building the connector the way a runner does: a `[tenants.acme.connectors.ninjaone]`
//! section of `stackhand.toml`, handed to `Registry::build` as JSON, with the tenant's secrets
//! directory.

use serde_json::Value;
use stackhand_core::{Category, ErrorKind, Registry};
use stackhand_testkit::deployment::{SecretsDir, toml_section};

const CLIENT_SECRET: &str = "ninjaone-secret-from-the-secrets-dir-7a3d";

const STACKHAND_TOML: &str = r#"
[tenants.acme]
name = "Acme"

[tenants.acme.connectors.ninjaone]
base_url = "https://eu.ninjarmm.com"
organization_id = 12

[tenants.acme.connectors.ninjaone.auth]
client_id = "acme-stackhand-app"
client_secret = { file = "ninjaone.secret" }

[tenants.acme.connectors.ninjaone.http]
timeout_secs = 10
max_in_flight = 4
user_agent = "acme-msp/stackhand"

[tenants.acme.connectors.ninjaone.http.retry]
max_attempts = 2
"#;

/// The ninjaone section of `text`, as the runner hands it to the factory (JSON).
fn section(text: &str) -> Value {
    toml_section(text, "acme", "ninjaone")
}

/// Acme's secrets directory holds the credential; globex's is empty.
fn secrets() -> SecretsDir {
    SecretsDir::new(&["acme", "globex"]).with("acme", "ninjaone.secret", CLIENT_SECRET)
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    stackhand_ninjaone::register(&mut registry);
    registry
}

#[tokio::test]
async fn builds_from_a_stackhand_toml_section() {
    let secrets = secrets();
    let registry = registry();
    assert_eq!(registry.vendors().collect::<Vec<_>>(), ["ninjaone"]);
    let connector = registry
        .build(
            &secrets.context("acme"),
            "ninjaone",
            section(STACKHAND_TOML),
        )
        .await
        .expect("the section builds");
    let info = connector.info();
    assert_eq!(info.vendor, "ninjaone");
    assert_eq!(info.tenant.as_str(), "acme");
    assert_eq!(info.categories, [Category::Rmm]);
    assert!(connector.rmm().is_some() && connector.rmm_writes().is_some());
    let offered: Vec<_> = connector
        .actions()
        .iter()
        .map(|a| a.spec().clone())
        .collect();
    assert!(!format!("{connector:?}").contains(CLIENT_SECRET));

    // The description lists the vendor actions a built connector offers, exactly.
    let description = registry.describe().remove(0);
    assert_eq!(description.vendor, "ninjaone");
    let ids: Vec<&str> = description.actions.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["ninjaone.reboot_device", "ninjaone.reset_alert"]);
    assert_eq!(description.actions, offered);
}

#[tokio::test]
async fn the_default_instance_needs_no_base_url() {
    let secrets = secrets();
    let text = STACKHAND_TOML.replace("base_url = \"https://eu.ninjarmm.com\"\n", "");
    registry()
        .build(&secrets.context("acme"), "ninjaone", section(&text))
        .await
        .expect("app.ninjarmm.com is the default");
}

#[tokio::test]
async fn a_typo_is_refused_naming_the_nearest_key() {
    let secrets = secrets();
    let cases = [
        (
            "organization_id =",
            "organisation_id =",
            "organisation_id",
            "organization_id",
        ),
        ("base_url =", "base_uri =", "base_uri", "base_url"),
        (
            "client_secret =",
            "client_secert =",
            "auth.client_secert",
            "client_secret",
        ),
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
            .build(&secrets.context("acme"), "ninjaone", section(&text))
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
    // A secret pasted into the file is refused without being repeated.
    let pasted = STACKHAND_TOML.replace(
        "client_secret = { file = \"ninjaone.secret\" }",
        "client_secret = \"pasted-secret-123\"",
    );
    let err = registry()
        .build(&secrets.context("acme"), "ninjaone", section(&pasted))
        .await
        .unwrap_err();
    assert_eq!(
        err.context_value("key"),
        Some("auth.client_secret"),
        "{err}"
    );
    assert!(!err.to_string().contains("pasted-secret-123"), "{err}");

    // Another tenant cannot borrow acme's secret.
    let borrowed = STACKHAND_TOML.replace("\"ninjaone.secret\"", "\"../acme/ninjaone.secret\"");
    let err = registry()
        .build(&secrets.context("globex"), "ninjaone", section(&borrowed))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden, "{err}");
    assert!(!err.to_string().contains(CLIENT_SECRET));
}

#[tokio::test]
async fn validation_names_the_key_at_fault() {
    let secrets = secrets();
    let cases = [
        (
            "base_url = \"https://eu.ninjarmm.com\"",
            "base_url = \"http://eu.ninjarmm.com\"",
            "base_url",
        ),
        (
            "organization_id = 12",
            "organization_id = 0",
            "organization_id",
        ),
        ("timeout_secs = 10", "page_size = 50", "http.page_size"),
        ("timeout_secs = 10", "timeout_secs = 0", "http.timeout_secs"),
    ];
    for (right, wrong, key) in cases {
        let text = STACKHAND_TOML.replace(right, wrong);
        let err = registry()
            .build(&secrets.context("acme"), "ninjaone", section(&text))
            .await
            .expect_err("invalid");
        assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
        assert_eq!(err.context_value("key"), Some(key), "{err}");
    }
}
