//! The connector built the way a runner builds it: from a `stackhand.toml` section, through
//! [`Registry::build`], with credentials in the tenant's secrets directory.

mod common;

use std::sync::Arc;

use serde_json::{Value, json};
use stackhand_core::build::LocalSecrets;
use stackhand_core::{BuildContext, Category, ErrorKind, Registry, TenantId};
use stackhand_http::{HttpHost, RateLimits};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CODE: &str = "TOMLTRACKINGIDENTIFIER9";
const SECRET: &str = "toml-secret-71be";

/// `stackhand.toml` for tenant `globex`, with `{base_url}` and `{extra}` filled in.
fn stackhand_toml(base_url: &str, extra: &str) -> String {
    format!(
        r#"
[tenants.globex.connectors.autotask]
base_url = "{base_url}"
username = "stackhand-api@msp.example"
integration_code = {{ file = "autotask.code" }}
secret = {{ file = "autotask.secret" }}
company_id = 209
{extra}

[tenants.globex.connectors.autotask.threshold]
slow_down_at = 0.4

[tenants.globex.connectors.autotask.http]
timeout_secs = 20
page_size = 200

[tenants.globex.connectors.autotask.http.retry]
max_attempts = 2
min_delay_ms = 1
max_delay_ms = 5
"#
    )
}

/// The autotask section of a `stackhand.toml`, as the JSON the factory receives.
fn section(text: &str) -> Value {
    let document: Value = toml::from_str(text).expect("valid TOML");
    document["tenants"]["globex"]["connectors"]["autotask"].clone()
}

/// A registry with the Autotask factory, and a context for `globex` whose secrets
/// directory holds the integration code and the secret.
fn setup() -> (Registry, BuildContext, tempfile::TempDir) {
    let mut registry = Registry::new();
    stackhand_autotask::register(&mut registry);
    let dir = tempfile::tempdir().unwrap();
    let tenant_dir = dir.path().join("globex");
    std::fs::create_dir_all(&tenant_dir).unwrap();
    std::fs::write(tenant_dir.join("autotask.code"), format!("{CODE}\n")).unwrap();
    std::fs::write(tenant_dir.join("autotask.secret"), format!("{SECRET}\n")).unwrap();
    let ctx = BuildContext::new(TenantId::new("globex").unwrap())
        .with_secrets(Arc::new(LocalSecrets::new().with_dir(dir.path())))
        .with_service(HttpHost::new(reqwest::Client::builder(), RateLimits::new()).unwrap());
    (registry, ctx, dir)
}

#[tokio::test]
async fn a_toml_section_builds_a_working_connector() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ATServicesRest/V1.0/ThresholdInformation"))
        .and(header("ApiIntegrationCode", CODE))
        .and(header("UserName", "stackhand-api@msp.example"))
        .and(header("Secret", SECRET))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "externalRequestThreshold": 10000, "requestThresholdTimeframe": 60,
            "currentTimeframeRequestCount": 42
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (registry, ctx, _dir) = setup();
    let connector = registry
        .build(
            &ctx,
            stackhand_autotask::VENDOR,
            section(&stackhand_toml(&server.uri(), "")),
        )
        .await
        .unwrap();
    let info = connector.info();
    assert_eq!(
        (info.vendor.as_str(), info.tenant.as_str()),
        ("autotask", "globex")
    );
    assert_eq!(info.categories, [Category::Psa]);
    let actions: Vec<String> = connector
        .actions()
        .iter()
        .map(|a| a.spec().id.to_string())
        .collect();
    assert_eq!(actions, ["autotask.open_problem"]);
    // The secrets from the files went into the headers, and nowhere visible.
    let health = connector.health().await.unwrap();
    assert!(health.detail.contains("42 of 10000"), "{}", health.detail);
    let shown = format!("{connector:?}");
    assert!(!shown.contains(CODE) && !shown.contains(SECRET), "{shown}");
}

#[tokio::test]
async fn an_unknown_key_is_refused_by_name_with_the_nearest_valid_one() {
    let (registry, ctx, _dir) = setup();
    let build = |extra: &str| {
        registry.build(
            &ctx,
            stackhand_autotask::VENDOR,
            section(&stackhand_toml("http://127.0.0.1:9", extra)),
        )
    };

    let err = build("compnay_id = 175").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert_eq!(err.context_value("key"), Some("compnay_id"));
    let text = err.to_string();
    assert!(text.contains("did you mean \"company_id\""), "{text}");

    // Keys of the shared `http` table are named with their path.
    let mut value = section(&stackhand_toml("http://127.0.0.1:9", ""));
    value["http"]["pagesize"] = json!(100);
    let err = registry
        .build(&ctx, stackhand_autotask::VENDOR, value)
        .await
        .unwrap_err();
    assert_eq!(err.context_value("key"), Some("http.pagesize"));
    assert!(
        err.to_string().contains("did you mean \"page_size\""),
        "{err}"
    );
}

#[tokio::test]
async fn a_secret_written_into_the_file_is_refused_without_echoing_it() {
    let (registry, ctx, _dir) = setup();
    let text = stackhand_toml("http://127.0.0.1:9", "").replace(
        "secret = { file = \"autotask.secret\" }",
        "secret = \"pasted-secret-3f9a\"",
    );
    let err = registry
        .build(&ctx, stackhand_autotask::VENDOR, section(&text))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert_eq!(err.context_value("key"), Some("secret"));
    assert!(!format!("{err} {err:?}").contains("pasted-secret-3f9a"));
}
