//! Credentials from the store's vault: a tenant whose Okta token is `{ vault = "okta.token" }`
//! is composed from `stackhand.toml` with `[store]`, calls Okta (wiremock) with that token, and
//! another tenant naming the same credential cannot read it.

use std::path::Path;

use secrecy::SecretString;
use stackhand_core::{ErrorKind, TenantId};
use stackhand_runner::{Composer, LoadedConfig, default_registry, open_vault};
use stackhand_store::MasterKey;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ACME_TOKEN: &str = "acme-okta-token-from-the-vault";

fn okta_tenant(id: &str, server: &MockServer) -> String {
    format!(
        "\n[tenants.{id}.connectors.okta]\nbase_url = \"{}\"\n\
         auth = {{ method = \"api_token\", api_token = {{ vault = \"okta.token\" }} }}\n",
        server.uri()
    )
}

fn write_config(dir: &Path, text: &str) -> LoadedConfig {
    let path = dir.join("stackhand.toml");
    std::fs::write(&path, text).unwrap();
    LoadedConfig::load(&path).unwrap()
}

const STORE: &str =
    "[store]\nurl = \"sqlite://stackhand.db?mode=rwc\"\nmaster_key = { file = \"master.key\" }\n";

#[tokio::test]
async fn a_tenant_reads_its_own_vault_credential_and_no_other_tenant_can() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(header(
            "authorization",
            format!("SSWS {ACME_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .expect(1)
        .mount(&server)
        .await;

    let dir = tempfile::tempdir().unwrap();
    MasterKey::create_file(dir.path().join("master.key")).unwrap();
    let registry = default_registry();

    // The token is not stored yet: composing says which credential of which tenant, and how.
    let acme_only = write_config(
        dir.path(),
        &format!("{STORE}{}", okta_tenant("acme", &server)),
    );
    let err = Composer::new(&registry)
        .tenants(&acme_only)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{text}");
    assert!(
        text.contains("vault credential okta.token of tenant acme is not set"),
        "{text}"
    );
    assert!(text.contains("stackhand credentials set"), "{text}");
    assert_eq!(
        err.context_value("key"),
        Some("tenants.acme.connectors.okta.auth.api_token")
    );

    // The database file is relative to stackhand.toml.
    let vault = open_vault(&acme_only)
        .await
        .unwrap()
        .expect("[store] is set");
    assert!(dir.path().join("stackhand.db").is_file());
    let acme = TenantId::new("acme").unwrap();
    vault
        .set(&acme, "okta.token", SecretString::from(ACME_TOKEN))
        .await
        .unwrap();

    // acme composes with the vault's token, and Okta receives it.
    let tenants = Composer::new(&registry).tenants(&acme_only).await.unwrap();
    let okta = &tenants[0].connectors.all()[0];
    let health = okta.health().await.unwrap();
    assert!(health.healthy, "{health:?}");

    // beta names the same credential: the vault looks in beta's credentials, finds none, and
    // the error names beta, never acme's value.
    let both = write_config(
        dir.path(),
        &format!(
            "{STORE}{}{}",
            okta_tenant("acme", &server),
            okta_tenant("beta", &server)
        ),
    );
    let err = Composer::new(&registry).tenants(&both).await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{text}");
    assert!(
        text.contains("vault credential okta.token of tenant beta"),
        "{text}"
    );
    assert!(!text.contains(ACME_TOKEN), "{text}");
    assert_eq!(
        err.context_value("key"),
        Some("tenants.beta.connectors.okta.auth.api_token")
    );
}

#[tokio::test]
async fn without_a_store_vault_credentials_are_refused_naming_the_fix() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let loaded = write_config(dir.path(), &okta_tenant("acme", &server));
    let registry = default_registry();
    let err = Composer::new(&registry).tenants(&loaded).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("this deployment has no vault"), "{text}");
    assert!(text.contains("set [store] in stackhand.toml"), "{text}");
    assert!(text.contains("tenants.acme.connectors.okta"), "{text}");
}

#[tokio::test]
async fn a_missing_master_key_names_the_key_and_the_fix() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let loaded = write_config(
        dir.path(),
        &format!("{STORE}{}", okta_tenant("acme", &server)),
    );
    let err = open_vault(&loaded).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("at store.master_key"), "{text}");
    assert!(text.contains("master.key"), "{text}");
    assert!(text.contains("stackhand vault keygen"), "{text}");
    assert_eq!(err.context_value("key"), Some("store.master_key"));
    // The composer fails the same way, before building anything.
    let registry = default_registry();
    let err = Composer::new(&registry).tenants(&loaded).await.unwrap_err();
    assert!(err.to_string().contains("store.master_key"), "{err}");

    // A bad URL names store.url.
    MasterKey::create_file(dir.path().join("master.key")).unwrap();
    let loaded = write_config(
        dir.path(),
        "[store]\nurl = \"mysql://db/x\"\nmaster_key = { file = \"master.key\" }\n",
    );
    let err = open_vault(&loaded).await.unwrap_err();
    assert!(err.to_string().contains("at store.url"), "{err}");
}
