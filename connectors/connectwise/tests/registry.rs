//! The connector built as a runner builds it: a `stackhand.toml` section through
//! `Registry::build`, the private key read from the tenant's secrets directory.

use std::sync::Arc;

use serde_json::{Value, json};
use stackhand_core::build::LocalSecrets;
use stackhand_core::{BuildContext, Connector, ErrorKind, Registry, Result, TenantId, TicketQuery};
use stackhand_sim::connectwise::{CLIENT_ID, COMPANY_ID, PRIVATE_KEY, PUBLIC_KEY};
use wiremock::matchers::{basic_auth, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const API: &str = "/v4_6_release/apis/3.0";

/// `stackhand.toml` for one tenant, with `{server}` for the mock server and `{extra}` for
/// whatever a test adds to the section.
const TOML: &str = r#"
[tenants.contoso-law.connectors.connectwise]
base_url = "{server}"
codebase = "v4_6_release/"
company_id = "{company_id}"
public_key = "{public_key}"
private_key = { file = "connectwise.key" }
client_id = "{client_id}"
{extra}

[tenants.contoso-law.connectors.connectwise.http]
page_size = 500
requests_per_second = 20

[tenants.contoso-law.connectors.connectwise.http.retry]
max_attempts = 2
min_delay_ms = 1
max_delay_ms = 5
"#;

/// The `connectwise` section of the TOML, as the runner hands it to the factory.
fn section(server: &str, extra: &str) -> Value {
    let text = TOML
        .replace("{server}", server)
        .replace("{company_id}", COMPANY_ID)
        .replace("{public_key}", PUBLIC_KEY)
        .replace("{client_id}", CLIENT_ID)
        .replace("{extra}", extra);
    let document: Value = toml::from_str(&text).expect("the TOML parses");
    document["tenants"]["contoso-law"]["connectors"]["connectwise"].clone()
}

/// A context for `contoso-law` whose secrets directory holds the private key.
fn context(secrets: &tempfile::TempDir) -> BuildContext {
    let dir = secrets.path().join("contoso-law");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("connectwise.key"), format!("{PRIVATE_KEY}\n")).unwrap();
    BuildContext::new(TenantId::new("contoso-law").unwrap())
        .with_secrets(Arc::new(LocalSecrets::new().with_dir(secrets.path())))
}

async fn build(ctx: &BuildContext, config: Value) -> Result<Arc<dyn Connector>> {
    let mut registry = Registry::new();
    stackhand_connectwise::register(&mut registry);
    registry
        .build(ctx, stackhand_connectwise::VENDOR, config)
        .await
}

#[tokio::test]
async fn a_toml_section_builds_a_working_connector() {
    let server = MockServer::start().await;
    let secrets = tempfile::tempdir().unwrap();
    let ctx = context(&secrets);
    Mock::given(method("GET"))
        .and(path(format!("{API}/service/tickets")))
        .and(basic_auth(
            format!("{COMPANY_ID}+{PUBLIC_KEY}"),
            PRIVATE_KEY,
        ))
        .and(header("clientId", CLIENT_ID))
        .and(query_param("pageSize", "500"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;

    let connector = build(&ctx, section(&server.uri(), "")).await.unwrap();
    assert_eq!(connector.info().vendor, "connectwise");
    assert_eq!(connector.info().tenant.as_str(), "contoso-law");
    let tickets = connector
        .psa()
        .expect("a PSA")
        .poll_tickets(&TicketQuery::default())
        .await
        .unwrap();
    assert!(tickets.is_empty());
    assert!(!format!("{connector:?}").contains(PRIVATE_KEY));
}

#[tokio::test]
async fn unknown_keys_are_named_with_the_nearest_valid_one() {
    let secrets = tempfile::tempdir().unwrap();
    let ctx = context(&secrets);
    let server = "http://127.0.0.1:9";

    let err = build(
        &ctx,
        section(server, r#"company_identifer = "CONTOSO-LAW""#),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert_eq!(err.context_value("key"), Some("company_identifer"));
    assert!(
        err.to_string()
            .contains("did you mean \"company_identifier\""),
        "{err}"
    );

    let mut nested = section(server, "");
    nested["http"]["pagesize"] = json!(100);
    let err = build(&ctx, nested).await.unwrap_err();
    assert_eq!(err.context_value("key"), Some("http.pagesize"));
    assert!(
        err.to_string().contains("did you mean \"page_size\""),
        "{err}"
    );

    // The old connector-specific knobs are gone in favour of the `http` table.
    let err = build(&ctx, section(server, "page_size = 100"))
        .await
        .unwrap_err();
    assert_eq!(err.context_value("key"), Some("page_size"));
}

#[tokio::test]
async fn a_pasted_key_a_missing_file_and_an_oversized_page_are_refused() {
    let secrets = tempfile::tempdir().unwrap();
    let ctx = context(&secrets);
    let server = "http://127.0.0.1:9";

    let mut pasted = section(server, "");
    pasted["private_key"] = json!("pasted-private-key-value");
    let err = build(&ctx, pasted).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(
        !err.to_string().contains("pasted-private-key-value"),
        "{err}"
    );

    let mut missing = section(server, "");
    missing["private_key"] = json!({"file": "nope.key"});
    let err = build(&ctx, missing).await.unwrap_err();
    assert_eq!(err.context_value("key"), Some("private_key"), "{err}");

    let mut oversized = section(server, "");
    oversized["http"]["page_size"] = json!(5000);
    let err = build(&ctx, oversized).await.unwrap_err();
    assert_eq!(err.context_value("key"), Some("http.page_size"), "{err}");
    assert!(err.to_string().contains("1000"), "{err}");
}
