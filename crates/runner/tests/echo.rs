//! The throw-away echo connector, reached the way every connector is: a `connector-echo`
//! feature, one `register` line, and a `stackhand.toml` table. Runs with
//! `cargo test -p stackhand-runner --features connector-echo` (`cargo xtask ci` does).
#![cfg(feature = "connector-echo")]

use serde_json::json;
use stackhand_runner::{Composer, LoadedConfig, default_registry};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn the_echo_connector_is_composed_from_stackhand_toml() {
    let registry = default_registry();
    assert!(registry.vendors().any(|v| v == "echo"), "{registry:?}");

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/devices/d1"))
        .and(header("x-echo-key", "echo-key-for-the-runner"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": "d1", "name": "LAPTOP-1", "tags": ["vip"], "online": true}),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("secrets/acme")).unwrap();
    std::fs::write(
        dir.path().join("secrets/acme/echo.key"),
        "echo-key-for-the-runner\n",
    )
    .unwrap();
    let config = format!(
        "secrets_dir = \"secrets\"\n[tenants.acme.connectors.echo]\nbase_url = \"{}\"\napi_key = {{ file = \"echo.key\" }}\n",
        server.uri()
    );
    std::fs::write(dir.path().join("stackhand.toml"), config).unwrap();

    let loaded = LoadedConfig::load(&dir.path().join("stackhand.toml")).unwrap();
    let tenants = Composer::new(&registry).tenants(&loaded).await.unwrap();
    let rmm = tenants[0].connectors.rmm().unwrap();
    let device = rmm.get_device("d1").await.unwrap();
    assert_eq!(device.name, "LAPTOP-1");
}
