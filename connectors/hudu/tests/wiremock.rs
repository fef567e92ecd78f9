//! Every request the Hudu connector sends, pinned against a wiremock server answering with
//! Hudu's documented shapes (the spec's definitions and hudu.md's examples): method, path,
//! query, the `x-api-key` header and the JSON body; then every received request is validated
//! against `crates/testkit/specs/hudu.json`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use stackhand_core::{
    BuildContext, Documentation, DocumentationWrites, ErrorKind, SecretRef, TenantId,
};
use stackhand_http::RetryConfig;
use stackhand_hudu::{HuduConfig, HuduConnector};
use stackhand_testkit::openapi::{Spec, assert_all_valid};
use stackhand_testkit::writes::through_engine;
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "hudu-api-key-for-tests-5e2a";
const PASSWORD: &str = "Wint3r-is-c0ming!";

fn tenant() -> TenantId {
    TenantId::new("acme").unwrap()
}

/// hudu.md's example asset (`GET /companies/{cid}/assets/{id}`), as Hudu reads it back.
fn jane(fields: Value) -> Value {
    json!({
        "id": 987,
        "company_id": 5,
        "asset_layout_id": 12,
        "slug": "jane-doe-3f9a1c",
        "name": "Jane Doe",
        "primary_serial": null,
        "primary_mail": "jane@acme.com",
        "company_name": "Acme Corp",
        "object_type": "Asset",
        "asset_type": "People",
        "archived": false,
        "url": "https://docs.example-msp.com/a/jane-doe-3f9a1c",
        "created_at": "2025-03-01T14:10:00.000Z",
        "updated_at": "2025-03-01T14:10:00.000Z",
        "fields": fields,
        "cards": []
    })
}

fn jane_fields() -> Value {
    json!([
        {"id": 4411, "label": "Email", "value": "jane@acme.com", "position": 1},
        {"id": 4412, "label": "Job Title", "value": "CFO", "position": 2}
    ])
}

/// Jane's asset as the `archived=true` listing answers it.
fn archived_jane() -> Value {
    let mut asset = jane(jane_fields());
    asset["archived"] = json!(true);
    asset
}

/// The tenant's assets named `name` (in `layout`, if given): `active` answers the listing of
/// assets that are not archived, `archived` the `archived=true` listing.
async fn assets_named(
    server: &MockServer,
    layout: Option<&str>,
    name: &str,
    active: Vec<Value>,
    archived: Vec<Value>,
) {
    let mut query = vec![("company_id", "5")];
    query.extend(layout.map(|id| ("asset_layout_id", id)));
    query.push(("name", name));
    get(server, "/api/v1/assets", &query, json!({"assets": active})).await;
    query.push(("archived", "true"));
    get(
        server,
        "/api/v1/assets",
        &query,
        json!({"assets": archived}),
    )
    .await;
}

fn password_entry(id: u64, name: &str) -> Value {
    json!({
        "id": id, "passwordable_type": "Asset", "passwordable_id": null, "company_id": 5,
        "name": name, "username": "jane@acme.com", "slug": "jane-doe-m365",
        "description": "", "password": PASSWORD, "otp_secret": "", "url": "",
        "created_at": "2025-03-01T14:10:00.000Z", "updated_at": "2025-03-01T14:10:00.000Z"
    })
}

async fn connector_with(server: &MockServer, company: &str, layout: &str) -> Arc<HuduConnector> {
    let mut config = HuduConfig::new(
        server.uri().parse().unwrap(),
        SecretRef::value(SecretString::from(KEY)),
        company,
    );
    config.asset_layout = layout.to_owned();
    config.http.retry = RetryConfig {
        max_attempts: 2,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..RetryConfig::default()
    };
    Arc::new(
        HuduConnector::build(&BuildContext::new(tenant()), config)
            .await
            .expect("the connector builds"),
    )
}

async fn connector(server: &MockServer) -> Arc<HuduConnector> {
    connector_with(server, "Acme Corp", "People").await
}

/// `GET path` with the key and these query parameters answers `body` once. Without an
/// `archived` parameter in `query` the request must have none: Hudu's listing of assets that
/// are not archived and its `archived=true` listing are told apart.
async fn get(server: &MockServer, route: &str, query: &[(&str, &str)], body: Value) {
    let mut mock = Mock::given(method("GET"))
        .and(path(route))
        .and(header("x-api-key", KEY));
    for (name, value) in query {
        mock = mock.and(query_param(*name, *value));
    }
    if !query.iter().any(|(name, _)| *name == "archived") {
        mock = mock.and(query_param_is_missing("archived"));
    }
    mock.respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

/// `verb path` with the key, a JSON content type and exactly `body` answers `response` once.
async fn write(
    server: &MockServer,
    verb: &str,
    route: &str,
    body: Value,
    response: ResponseTemplate,
) {
    Mock::given(method(verb))
        .and(path(route))
        .and(header("x-api-key", KEY))
        .and(header("content-type", "application/json"))
        .and(body_json(body))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

/// The tenant's company, found by its exact name.
async fn acme(server: &MockServer) {
    get(
        server,
        "/api/v1/companies",
        &[("name", "Acme Corp"), ("page", "1"), ("page_size", "25")],
        json!({"companies": [{"id": 5, "slug": "acme-corp", "name": "Acme Corp"}]}),
    )
    .await;
}

async fn people_layout(server: &MockServer) {
    get(
        server,
        "/api/v1/asset_layouts",
        &[("name", "People")],
        json!({"asset_layouts": [{"id": 12, "name": "People", "active": true}]}),
    )
    .await;
}

/// `METHOD path?query` of every request received, in order; every one carried the key; all
/// are valid against Hudu's document.
async fn received(server: &MockServer) -> Vec<String> {
    let requests = server.received_requests().await.unwrap();
    for request in &requests {
        let key = request
            .headers
            .get("x-api-key")
            .map(|v| v.to_str().unwrap());
        assert_eq!(key, Some(KEY), "{} {}", request.method, request.url);
    }
    assert_all_valid(&Spec::load("hudu.json").unwrap(), &requests, "");
    requests
        .iter()
        .map(|r| match r.url.query() {
            Some(q) => format!("{} {}?{q}", r.method, r.url.path()),
            None => format!("{} {}", r.method, r.url.path()),
        })
        .collect()
}

#[tokio::test]
async fn find_asset_resolves_the_company_and_reads_the_fields() {
    let server = MockServer::start().await;
    acme(&server).await;
    get(
        &server,
        "/api/v1/assets",
        &[
            ("company_id", "5"),
            ("name", "Jane Doe"),
            ("page", "1"),
            ("page_size", "25"),
        ],
        json!({"assets": [jane(jane_fields())]}),
    )
    .await;
    let hudu = connector(&server).await;
    let asset = hudu
        .find_asset("Acme Corp", "Jane Doe")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(asset.id, "987");
    assert_eq!(asset.name, "Jane Doe");
    assert!(!asset.archived);
    assert_eq!(asset.fields["Email"], "jane@acme.com");
    assert_eq!(asset.fields["Job Title"], "CFO");
    assert_eq!(
        received(&server).await,
        [
            "GET /api/v1/companies?name=Acme+Corp&page=1&page_size=25",
            "GET /api/v1/assets?company_id=5&name=Jane+Doe&page=1&page_size=25",
        ]
    );
}

#[tokio::test]
async fn find_asset_pages_to_the_end_and_matches_the_exact_name() {
    let server = MockServer::start().await;
    // A page size of 2 through the shared `http` table.
    let mut config = HuduConfig::new(
        server.uri().parse().unwrap(),
        SecretRef::value(SecretString::from(KEY)),
        "5",
    );
    config.http.page_size = std::num::NonZeroU32::new(2);
    let hudu = Arc::new(
        HuduConnector::build(&BuildContext::new(tenant()), config)
            .await
            .unwrap(),
    );
    get(
        &server,
        "/api/v1/companies/5",
        &[],
        json!({"company": {"id": 5, "name": "Acme Corp"}}),
    )
    .await;
    let named = |id: u64, name: &str| {
        let mut asset = jane(json!([]));
        asset["id"] = json!(id);
        asset["name"] = json!(name);
        asset
    };
    get(
        &server,
        "/api/v1/assets",
        &[
            ("company_id", "5"),
            ("name", "Jane"),
            ("page", "1"),
            ("page_size", "2"),
        ],
        json!({"assets": [named(1, "Jane Doe"), named(2, "Jane Roe")]}),
    )
    .await;
    get(
        &server,
        "/api/v1/assets",
        &[
            ("company_id", "5"),
            ("name", "Jane"),
            ("page", "2"),
            ("page_size", "2"),
        ],
        json!({"assets": [named(3, "Jane")]}),
    )
    .await;
    let found = hudu.find_asset("", "Jane").await.unwrap().unwrap();
    assert_eq!(found.id, "3");
    assert_eq!(
        received(&server).await,
        [
            "GET /api/v1/companies/5",
            "GET /api/v1/assets?company_id=5&name=Jane&page=1&page_size=2",
            "GET /api/v1/assets?company_id=5&name=Jane&page=2&page_size=2",
        ]
    );
}

#[tokio::test]
async fn find_asset_falls_back_to_archived_assets() {
    let server = MockServer::start().await;
    acme(&server).await;
    assets_named(&server, None, "Jane Doe", vec![], vec![archived_jane()]).await;
    // A name in neither listing.
    assets_named(&server, None, "Nobody Here", vec![], vec![]).await;
    let hudu = connector(&server).await;
    let asset = hudu.find_asset("", "Jane Doe").await.unwrap().unwrap();
    assert_eq!(asset.id, "987");
    assert!(asset.archived);
    assert_eq!(asset.fields["Job Title"], "CFO");
    assert_eq!(hudu.find_asset("", "Nobody Here").await.unwrap(), None);
    assert_eq!(
        received(&server).await,
        [
            "GET /api/v1/companies?name=Acme+Corp&page=1&page_size=25",
            "GET /api/v1/assets?company_id=5&name=Jane+Doe&page=1&page_size=25",
            "GET /api/v1/assets?company_id=5&name=Jane+Doe&archived=true&page=1&page_size=25",
            "GET /api/v1/assets?company_id=5&name=Nobody+Here&page=1&page_size=25",
            "GET /api/v1/assets?company_id=5&name=Nobody+Here&archived=true&page=1&page_size=25",
        ]
    );
}

#[tokio::test]
async fn another_company_is_refused() {
    let server = MockServer::start().await;
    acme(&server).await;
    get(
        &server,
        "/api/v1/companies",
        &[("name", "Globex"), ("page", "1"), ("page_size", "25")],
        json!({"companies": [{"id": 9, "name": "Globex"}]}),
    )
    .await;
    let hudu = connector(&server).await;
    let err = hudu.find_asset("Globex", "Jane Doe").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden, "{err}");
    // An id is compared without asking Hudu.
    let err = hudu.find_asset("9", "Jane Doe").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden, "{err}");
    assert_eq!(
        received(&server).await,
        [
            "GET /api/v1/companies?name=Acme+Corp&page=1&page_size=25",
            "GET /api/v1/companies?name=Globex&page=1&page_size=25",
        ]
    );
}

#[tokio::test]
async fn upsert_creates_a_person_asset_in_the_write_shape() {
    let server = MockServer::start().await;
    acme(&server).await;
    people_layout(&server).await;
    // Neither an asset nor an archived one of that name.
    assets_named(&server, Some("12"), "Jane Doe", vec![], vec![]).await;
    write(
        &server,
        "POST",
        "/api/v1/companies/5/assets",
        json!({"asset": {
            "asset_layout_id": 12,
            "name": "Jane Doe",
            "custom_fields": [{"email": "jane@acme.com"}, {"job_title": "CFO"}, {"m365_licence": "E3"}],
        }}),
        ResponseTemplate::new(201).set_body_json(json!({"asset": jane(json!([
            {"id": 4411, "label": "Email", "value": "jane@acme.com", "position": 1},
            {"id": 4412, "label": "Job Title", "value": "CFO", "position": 2},
            {"id": 4413, "label": "M365 Licence", "value": "E3", "position": 3}
        ]))})),
    )
    .await;
    let hudu = connector(&server).await;
    let fields: BTreeMap<String, String> = [
        ("Email", "jane@acme.com"),
        ("Job Title", "CFO"),
        ("M365 Licence", "E3"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let writer = hudu.clone();
    let asset = through_engine(&tenant(), move |proof| {
        Box::pin(async move {
            writer
                .upsert_user_asset(proof, "Acme Corp", "Jane Doe", &fields)
                .await
        })
    })
    .await
    .unwrap();
    assert_eq!(asset.id, "987");
    assert_eq!(asset.fields["M365 Licence"], "E3");
    assert_eq!(
        received(&server).await,
        [
            "GET /api/v1/companies?name=Acme+Corp&page=1&page_size=25",
            "GET /api/v1/asset_layouts?name=People",
            "GET /api/v1/assets?company_id=5&asset_layout_id=12&name=Jane+Doe&page=1&page_size=25",
            "GET /api/v1/assets?company_id=5&asset_layout_id=12&name=Jane+Doe&archived=true&page=1&page_size=25",
            "POST /api/v1/companies/5/assets",
        ]
    );
}

#[tokio::test]
async fn upsert_refuses_an_archived_asset_and_writes_nothing() {
    let server = MockServer::start().await;
    acme(&server).await;
    people_layout(&server).await;
    // A leaver's asset: archived, so only the `archived=true` listing holds it.
    assets_named(
        &server,
        Some("12"),
        "Jane Doe",
        vec![],
        vec![archived_jane()],
    )
    .await;
    let hudu = connector(&server).await;
    let fields = BTreeMap::from([("Job Title".to_owned(), "CEO".to_owned())]);
    let writer = hudu.clone();
    let err = through_engine(&tenant(), move |proof| {
        Box::pin(async move {
            writer
                .upsert_user_asset(proof, "Acme Corp", "Jane Doe", &fields)
                .await
        })
    })
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(!err.is_temporary(), "{err}");
    // It names the asset and what to do.
    for part in ["\"Jane Doe\"", "id 987", "archived", "unarchive it in Hudu"] {
        assert!(err.message().contains(part), "{part}: {err}");
    }
    // Neither an update of the archived asset nor a second asset.
    assert_eq!(
        received(&server).await,
        [
            "GET /api/v1/companies?name=Acme+Corp&page=1&page_size=25",
            "GET /api/v1/asset_layouts?name=People",
            "GET /api/v1/assets?company_id=5&asset_layout_id=12&name=Jane+Doe&page=1&page_size=25",
            "GET /api/v1/assets?company_id=5&asset_layout_id=12&name=Jane+Doe&archived=true&page=1&page_size=25",
        ]
    );
}

#[tokio::test]
async fn upsert_updates_re_sending_every_field() {
    let server = MockServer::start().await;
    acme(&server).await;
    people_layout(&server).await;
    get(
        &server,
        "/api/v1/assets",
        &[
            ("company_id", "5"),
            ("asset_layout_id", "12"),
            ("name", "Jane Doe"),
        ],
        json!({"assets": [jane(jane_fields())]}),
    )
    .await;
    // The spec documents the bare `Asset` as the answer.
    write(
        &server,
        "PUT",
        "/api/v1/companies/5/assets/987",
        json!({"asset": {
            "asset_layout_id": 12,
            "name": "Jane Doe",
            "custom_fields": [{"email": "jane@acme.com"}, {"job_title": "CEO"}],
        }}),
        ResponseTemplate::new(200).set_body_json(jane(json!([
            {"id": 4411, "label": "Email", "value": "jane@acme.com", "position": 1},
            {"id": 4412, "label": "Job Title", "value": "CEO", "position": 2}
        ]))),
    )
    .await;
    let hudu = connector(&server).await;
    let fields = BTreeMap::from([("Job Title".to_owned(), "CEO".to_owned())]);
    let writer = hudu.clone();
    let asset = through_engine(&tenant(), move |proof| {
        Box::pin(async move {
            writer
                .upsert_user_asset(proof, "", "Jane Doe", &fields)
                .await
        })
    })
    .await
    .unwrap();
    assert_eq!(asset.fields["Job Title"], "CEO");
    assert_eq!(
        received(&server).await.last().unwrap(),
        "PUT /api/v1/companies/5/assets/987"
    );

    // Already so: nothing is written.
    let fields = BTreeMap::from([("Job Title".to_owned(), "CFO".to_owned())]);
    let writer = hudu.clone();
    server.reset().await;
    get(
        &server,
        "/api/v1/assets",
        &[
            ("company_id", "5"),
            ("asset_layout_id", "12"),
            ("name", "Jane Doe"),
        ],
        json!({"assets": [jane(jane_fields())]}),
    )
    .await;
    let asset = through_engine(&tenant(), move |proof| {
        Box::pin(async move {
            writer
                .upsert_user_asset(proof, "", "Jane Doe", &fields)
                .await
        })
    })
    .await
    .unwrap();
    assert_eq!(asset.fields["Job Title"], "CFO");
    // The company and layout ids were cached.
    assert_eq!(
        received(&server).await,
        ["GET /api/v1/assets?company_id=5&asset_layout_id=12&name=Jane+Doe&page=1&page_size=25"]
    );
}

#[tokio::test]
async fn a_null_layout_is_not_found() {
    let server = MockServer::start().await;
    acme(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/asset_layouts/12"))
        .and(header("x-api-key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_raw("null", "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let hudu = connector_with(&server, "Acme Corp", "12").await;
    let writer = hudu.clone();
    let err = through_engine(&tenant(), move |proof| {
        Box::pin(async move {
            writer
                .upsert_user_asset(proof, "Acme Corp", "Jane Doe", &BTreeMap::new())
                .await
        })
    })
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(
        received(&server).await,
        [
            "GET /api/v1/companies?name=Acme+Corp&page=1&page_size=25",
            "GET /api/v1/asset_layouts/12",
        ]
    );
}

#[tokio::test]
async fn store_password_creates_then_updates_and_never_shows_it() {
    let server = MockServer::start().await;
    acme(&server).await;
    get(
        &server,
        "/api/v1/asset_passwords",
        &[("company_id", "5"), ("name", "Jane Doe - M365")],
        json!({"asset_passwords": []}),
    )
    .await;
    write(
        &server,
        "POST",
        "/api/v1/asset_passwords",
        json!({"asset_password": {
            "name": "Jane Doe - M365",
            "company_id": 5,
            "username": "jane@acme.com",
            "password": PASSWORD,
        }}),
        ResponseTemplate::new(201)
            .set_body_json(json!({"asset_password": password_entry(41, "Jane Doe - M365")})),
    )
    .await;
    let hudu = connector(&server).await;
    let store = |hudu: Arc<HuduConnector>| async move {
        through_engine(&tenant(), move |proof| {
            Box::pin(async move {
                hudu.store_password(
                    proof,
                    "Acme Corp",
                    "Jane Doe - M365",
                    "jane@acme.com",
                    &SecretString::from(PASSWORD),
                )
                .await
            })
        })
        .await
    };
    assert_eq!(store(hudu.clone()).await.unwrap(), "41");
    assert_eq!(
        received(&server).await,
        [
            "GET /api/v1/companies?name=Acme+Corp&page=1&page_size=25",
            "GET /api/v1/asset_passwords?company_id=5&name=Jane+Doe+-+M365&page=1&page_size=25",
            "POST /api/v1/asset_passwords",
        ]
    );

    // The entry exists now: it is updated in place.
    server.reset().await;
    get(
        &server,
        "/api/v1/asset_passwords",
        &[("company_id", "5"), ("name", "Jane Doe - M365")],
        json!({"asset_passwords": [password_entry(41, "Jane Doe - M365")]}),
    )
    .await;
    write(
        &server,
        "PUT",
        "/api/v1/asset_passwords/41",
        json!({"asset_password": {"username": "jane@acme.com", "password": PASSWORD}}),
        ResponseTemplate::new(200)
            .set_body_json(json!({"asset_password": password_entry(41, "Jane Doe - M365")})),
    )
    .await;
    assert_eq!(store(hudu.clone()).await.unwrap(), "41");
    assert_eq!(
        received(&server).await.last().unwrap(),
        "PUT /api/v1/asset_passwords/41"
    );

    // A refusal that echoes the password does not repeat it.
    server.reset().await;
    get(
        &server,
        "/api/v1/asset_passwords",
        &[("company_id", "5"), ("name", "Jane Doe - M365")],
        json!({"asset_passwords": []}),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/asset_passwords"))
        .respond_with(
            ResponseTemplate::new(422).set_body_json(
                json!({"errors": {"password": [format!("{PASSWORD} is too common")]}}),
            ),
        )
        .mount(&server)
        .await;
    let err = store(hudu.clone()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
    assert!(err.message().contains("<password> is too common"), "{err}");
    let shown = format!("{err} {err:?} {hudu:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(!shown.contains(KEY), "{shown}");
    received(&server).await;
}

#[tokio::test]
async fn find_password_reads_the_entry_back_without_its_password() {
    let server = MockServer::start().await;
    acme(&server).await;
    // Hudu's `name` filter is not exact: a longer name comes back too, and is not the entry.
    get(
        &server,
        "/api/v1/asset_passwords",
        &[("company_id", "5"), ("name", "Jane Doe - M365")],
        json!({"asset_passwords": [
            password_entry(40, "Jane Doe - M365 (old)"),
            password_entry(41, "Jane Doe - M365"),
        ]}),
    )
    .await;
    let hudu = connector(&server).await;
    let entry = hudu
        .find_password("Acme Corp", "Jane Doe - M365")
        .await
        .unwrap()
        .expect("the entry is found");
    assert_eq!(
        (entry.id.as_str(), entry.username.as_deref()),
        ("41", Some("jane@acme.com"))
    );
    assert_eq!(
        entry.updated.unwrap().to_rfc3339(),
        "2025-03-01T14:10:00+00:00"
    );
    let shown = format!("{entry:?} {}", serde_json::to_string(&entry).unwrap());
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert_eq!(
        received(&server).await,
        [
            "GET /api/v1/companies?name=Acme+Corp&page=1&page_size=25",
            "GET /api/v1/asset_passwords?company_id=5&name=Jane+Doe+-+M365&page=1&page_size=25",
        ]
    );

    // None of that name: nothing.
    server.reset().await;
    get(
        &server,
        "/api/v1/asset_passwords",
        &[("company_id", "5"), ("name", "Nobody - M365")],
        json!({"asset_passwords": []}),
    )
    .await;
    assert_eq!(
        hudu.find_password("Acme Corp", "Nobody - M365")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn archive_sends_the_documented_put_and_unarchive_sends_nothing() {
    let server = MockServer::start().await;
    acme(&server).await;
    Mock::given(method("PUT"))
        .and(path("/api/v1/companies/5/assets/987/archive"))
        .and(header("x-api-key", KEY))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let hudu = connector(&server).await;
    let writer = hudu.clone();
    through_engine(&tenant(), move |proof| {
        Box::pin(async move { writer.archive_asset(proof, "987").await })
    })
    .await
    .unwrap();
    let writer = hudu.clone();
    let err = through_engine(&tenant(), move |proof| {
        Box::pin(async move { writer.unarchive_asset(proof, "987").await })
    })
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    let writer = hudu.clone();
    let err = through_engine(&tenant(), move |proof| {
        Box::pin(async move { writer.archive_asset(proof, "../7").await })
    })
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
    assert_eq!(
        received(&server).await,
        [
            "GET /api/v1/companies?name=Acme+Corp&page=1&page_size=25",
            "PUT /api/v1/companies/5/assets/987/archive",
        ]
    );
}

#[tokio::test]
async fn create_article_posts_html_in_the_company() {
    let server = MockServer::start().await;
    acme(&server).await;
    write(
        &server,
        "POST",
        "/api/v1/articles",
        json!({"article": {
            "name": "How to reset MFA for Acme",
            "content": "<p>Open the portal.</p>",
            "company_id": 5,
        }}),
        ResponseTemplate::new(200).set_body_json(json!({
            "id": 77, "slug": "how-to-reset-mfa-for-acme", "name": "How to reset MFA for Acme",
            "draft": false, "content": "<p>Open the portal.</p>", "object_type": "Article",
            "enable_sharing": false, "company_id": 5,
            "created_at": "2025-03-01T14:10:00.000Z", "updated_at": "2025-03-01T14:10:00.000Z"
        })),
    )
    .await;
    let hudu = connector(&server).await;
    let writer = hudu.clone();
    let id = through_engine(&tenant(), move |proof| {
        Box::pin(async move {
            writer
                .create_article(
                    proof,
                    "Acme Corp",
                    "How to reset MFA for Acme",
                    "<p>Open the portal.</p>",
                )
                .await
        })
    })
    .await
    .unwrap();
    assert_eq!(id, "77");
    assert_eq!(
        received(&server).await.last().unwrap(),
        "POST /api/v1/articles"
    );
}

#[tokio::test]
async fn hudu_errors_map_to_kinds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/companies"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "Invalid API key"})))
        .mount(&server)
        .await;
    let hudu = connector(&server).await;
    let err = hudu.find_asset("", "Jane Doe").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(err.message().contains("Invalid API key"), "{err}");
    assert!(!format!("{err} {err:?}").contains(KEY));
    received(&server).await;
}
