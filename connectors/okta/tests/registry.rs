//! Building the connector the way a runner does: a `[tenants.acme.connectors.okta]` section of
//! `stackhand.toml`, handed to `Registry::build` as JSON, with the tenant's secrets directory;
//! the connector built then reads from the Okta simulator through OAuth.

mod common;

use std::sync::Arc;

use common::TEST_PRIVATE_KEY;
use serde_json::Value;
use stackhand_core::build::LocalSecrets;
use stackhand_core::{BuildContext, Category, ErrorKind, Registry, Risk, TenantId};
use stackhand_sim::Faults;
use stackhand_sim::okta::{GLOBEX_CLIENT_ID, OktaSim};

/// `stackhand.toml` with the Okta section; `{url}` is the org URL.
const STACKHAND_TOML: &str = r#"
[tenants.acme]
name = "Acme"

[tenants.acme.connectors.okta]
base_url = "{url}"
token_url = "{url}/oauth2/v1/token"
rate_limit_reserve = 1

[tenants.acme.connectors.okta.auth]
method = "private_key_jwt"
client_id = "{client_id}"
key_id = "sh-test-key"
private_key_pem = { file = "okta.pem" }

[tenants.acme.connectors.okta.http]
timeout_secs = 10
page_size = 50

[tenants.acme.connectors.okta.http.retry]
max_attempts = 2
"#;

/// The file for the org at `url`.
fn stackhand_toml(url: &str) -> String {
    STACKHAND_TOML
        .replace("{url}", url)
        .replace("{client_id}", GLOBEX_CLIENT_ID)
}

/// The okta section of `text`, as the runner hands it to the factory (JSON).
fn okta_section(text: &str) -> Value {
    let file: toml::Table = toml::from_str(text).expect("valid TOML");
    serde_json::to_value(&file["tenants"]["acme"]["connectors"]["okta"]).expect("TOML as JSON")
}

/// A secrets directory: acme's holds the test key, globex's nothing.
struct Secrets {
    dir: tempfile::TempDir,
}

impl Secrets {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("acme")).expect("acme");
        std::fs::create_dir_all(dir.path().join("globex")).expect("globex");
        std::fs::write(
            dir.path().join("acme/okta.pem"),
            format!("{TEST_PRIVATE_KEY}\n"),
        )
        .expect("key");
        std::fs::write(dir.path().join("acme/okta.jwk"), "{\"kty\":\"RSA\"}\n").expect("jwk");
        Self { dir }
    }

    fn context(&self, tenant: &str) -> BuildContext {
        BuildContext::new(TenantId::new(tenant).expect("tenant"))
            .with_secrets(Arc::new(LocalSecrets::new().with_dir(self.dir.path())))
    }
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    stackhand_okta::register(&mut registry);
    registry
}

/// Build acme's connector from `text`.
async fn build(text: &str) -> stackhand_core::Result<Arc<dyn stackhand_core::Connector>> {
    registry()
        .build(&Secrets::new().context("acme"), "okta", okta_section(text))
        .await
}

#[tokio::test]
async fn builds_from_a_stackhand_toml_section() {
    let sim = OktaSim::seeded();
    let server = sim.start(Faults::default()).await.expect("sim");
    let registry = registry();
    assert_eq!(registry.vendors().collect::<Vec<_>>(), ["okta"]);
    let connector = registry
        .build(
            &Secrets::new().context("acme"),
            "okta",
            okta_section(&stackhand_toml(&server.url())),
        )
        .await
        .expect("the section builds");
    let info = connector.info();
    assert_eq!(info.vendor, "okta");
    assert_eq!(info.tenant.as_str(), "acme");
    assert_eq!(info.categories, [Category::Identity]);
    assert!(connector.identity().is_some() && connector.identity_writes().is_some());
    let actions: Vec<String> = connector
        .actions()
        .iter()
        .map(|a| a.spec().id.to_string())
        .collect();
    assert_eq!(
        actions,
        [
            "okta.suspend",
            "okta.unsuspend",
            "okta.deactivate",
            "okta.activate"
        ]
    );
    assert!(!format!("{connector:?}").contains("PRIVATE KEY"));

    // It works: a read through OAuth, with the admin roles the policy needs.
    let waylon = connector
        .identity()
        .expect("identity")
        .get_user("waylon.smithers@globex.example")
        .await
        .expect("read through OAuth");
    assert_eq!(waylon.roles, ["HELP_DESK_ADMIN"]);
    let pages = server.recorder().requests();
    assert!(pages.iter().any(|r| r.path == "/oauth2/v1/token"));

    let description = registry.describe().remove(0);
    assert_eq!(description.vendor, "okta");
    assert_eq!(description.categories, [Category::Identity]);
    let deactivate = description
        .actions
        .iter()
        .find(|a| a.id.as_str() == "okta.deactivate")
        .expect("okta.deactivate is described");
    assert_eq!(deactivate.risk, Risk::Critical);
    assert!(!deactivate.reversible);
}

#[tokio::test]
async fn a_typo_is_refused_naming_the_nearest_key() {
    let text = stackhand_toml("https://globex.okta.com");
    let cases = [
        ("base_url =", "base_uri =", "base_url", "base_uri"),
        (
            "rate_limit_reserve =",
            "rate_limit_reserv =",
            "rate_limit_reserve",
            "rate_limit_reserv",
        ),
        (
            "rate_limit_reserve = 1",
            "rate_limit_reserve = 1\nread_admin_role = false",
            "read_admin_roles",
            "read_admin_role",
        ),
        // Inside the tagged `auth` table too.
        ("client_id =", "client_di =", "client_id", "auth.client_di"),
        ("page_size =", "page_sise =", "page_size", "http.page_sise"),
        (
            "max_attempts =",
            "max_attempt =",
            "max_attempts",
            "http.retry.max_attempt",
        ),
    ];
    for (right, wrong, nearest, key) in cases {
        let err = build(&text.replace(right, wrong))
            .await
            .expect_err("a typo is refused");
        assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
        assert_eq!(err.context_value("key"), Some(key), "{err}");
        let message = err.to_string();
        assert!(
            message.contains(&format!("did you mean \"{nearest}\"")),
            "{key}: {message}"
        );
    }
}

#[tokio::test]
async fn secrets_stay_out_of_the_file_and_inside_the_tenant() {
    let text = stackhand_toml("https://globex.okta.com");
    // A key pasted into the file is refused without being repeated.
    let pasted = text.replace(
        "private_key_pem = { file = \"okta.pem\" }",
        "private_key_pem = \"-----BEGIN PRIVATE KEY----- pasted-key-123\"",
    );
    let err = build(&pasted).await.expect_err("pasted");
    assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
    assert!(err.message().contains("cannot be written"), "{err}");
    assert!(!err.to_string().contains("pasted-key-123"), "{err}");

    // Another tenant cannot borrow acme's key.
    let borrowed = text.replace("\"okta.pem\"", "\"../acme/okta.pem\"");
    let err = registry()
        .build(
            &Secrets::new().context("globex"),
            "okta",
            okta_section(&borrowed),
        )
        .await
        .expect_err("another tenant's file");
    assert_eq!(err.kind(), ErrorKind::Forbidden, "{err}");
    assert_eq!(err.context_value("key"), Some("auth.private_key_pem"));
    assert!(!err.to_string().contains("PRIVATE KEY"));

    // A file that is not a PEM key is refused naming the key and the file, not the contents.
    let err = build(&text.replace("\"okta.pem\"", "\"okta.jwk\""))
        .await
        .expect_err("not PEM");
    assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
    assert_eq!(err.context_value("key"), Some("auth.private_key_pem"));
    assert!(
        err.message().contains("okta.jwk") && err.message().contains("PEM"),
        "{err}"
    );
    assert!(!err.to_string().contains("kty"), "{err}");
}

#[tokio::test]
async fn validation_names_the_key_at_fault() {
    let text = stackhand_toml("https://globex.okta.com");
    let cases = [
        (
            "base_url = \"https://globex.okta.com\"",
            "base_url = \"http://globex.okta.com\"",
            "base_url",
            "https",
        ),
        ("page_size = 50", "page_size = 500", "http.page_size", "200"),
        (
            "timeout_secs = 10",
            "timeout_secs = 0",
            "http.timeout_secs",
            "at least 1",
        ),
        (
            "client_id = \"0oa1globexsimsvc0001\"",
            "client_id = \"\"",
            "auth.client_id",
            "empty",
        ),
    ];
    for (right, wrong, key, needle) in cases {
        let changed = text.replace(right, wrong);
        assert_ne!(changed, text, "{right} is in the file");
        let err = build(&changed).await.expect_err("invalid");
        assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
        assert_eq!(err.context_value("key"), Some(key), "{err}");
        assert!(err.message().contains(needle), "{key}: {err}");
    }
}
