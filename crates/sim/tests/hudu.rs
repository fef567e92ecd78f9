//! The Hudu simulator over HTTP: the key, the world it holds, custom fields written in Hudu's
//! write shape and read back in its read shape, archiving, asset passwords, articles, paging,
//! the `200 null` of a missing record, errors and throttling. Every request a test sends as
//! the API documents it is validated against `crates/testkit/specs/hudu.json`.
#![cfg(feature = "hudu")]

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use stackhand_sim::hudu::{
    API_KEY, HuduSim, HuduSimConfig, PEOPLE_LAYOUT, THROTTLE, THROTTLE_BODY,
};
use stackhand_sim::world::{Tenant, World};
use stackhand_sim::{Faults, SimServer};
use stackhand_testkit::openapi::{Spec, assert_all_valid};

struct Fixture {
    sim: HuduSim,
    server: SimServer,
    http: reqwest::Client,
}

impl Fixture {
    async fn new() -> Self {
        Self::with(HuduSim::seeded(), Faults::default()).await
    }

    async fn with(sim: HuduSim, faults: Faults) -> Self {
        let server = sim.start(faults).await.expect("sim starts");
        Self {
            sim,
            server,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/{path}", self.server.url())
    }

    async fn send_as(
        &self,
        key: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.send_as(Some(API_KEY), method, path, body).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    /// Validate what was received so far against the spec, then forget it (so a test can
    /// send a deliberately undocumented request afterwards).
    fn validated(&self) {
        let spec = Spec::load("hudu.json").expect("bundled");
        assert_all_valid(&spec, &self.server.recorder().requests(), "");
        self.server.recorder().clear();
    }
}

fn world() -> &'static World {
    World::builtin()
}

fn contoso() -> &'static Tenant {
    world().tenant("contoso-law").expect("in the world")
}

fn globex() -> &'static Tenant {
    world().tenant("globex").expect("in the world")
}

fn people_layout_id() -> i64 {
    world().layout(PEOPLE_LAYOUT).expect("a People layout").id
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|r| r["name"].as_str().expect("a name"))
        .collect()
}

/// The read-shape fields of an asset as (label, value).
fn read_fields(asset: &Value) -> Vec<(String, Value)> {
    asset["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| {
            assert!(f["id"].is_i64() && f["position"].is_u64(), "{f}");
            (
                f["label"].as_str().expect("label").to_string(),
                f["value"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_call_needs_the_api_key() {
    let f = Fixture::new().await;
    for key in [None, Some("not-the-key")] {
        let (status, body) = f.send_as(key, Method::GET, "api_info", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{key:?}");
        assert!(body["error"].is_string(), "{body}");
        let (status, _) = f.send_as(key, Method::GET, "companies", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, info) = f.get("api_info").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["version"], stackhand_sim::hudu::VERSION);
    assert!(info["date"].is_string());
    f.validated();
}

#[tokio::test]
async fn companies_are_the_world_tenants() {
    let f = Fixture::new().await;
    let (status, body) = f.get("companies").await;
    assert_eq!(status, StatusCode::OK);
    let expected: Vec<&str> = world().tenants.iter().map(|t| t.company.as_str()).collect();
    assert_eq!(names(&body["companies"]), expected);

    // `name` is exact; `search` is a fuzzy match.
    let tenant = contoso();
    let (_, exact) = f
        .send(
            Method::GET,
            &format!("companies?name={}", urlencode(&tenant.company)),
            None,
        )
        .await;
    assert_eq!(names(&exact["companies"]), [tenant.company.as_str()]);
    let partial = &tenant.company[..4];
    let (_, none) = f
        .get(&format!("companies?name={}", urlencode(partial)))
        .await;
    assert_eq!(none["companies"], json!([]));
    let (_, fuzzy) = f
        .get(&format!(
            "companies?search={}",
            urlencode(&partial.to_lowercase())
        ))
        .await;
    assert_eq!(names(&fuzzy["companies"]), [tenant.company.as_str()]);

    // The PSA company id finds it, and the company carries its integrations.
    let (_, by_psa) = f
        .get(&format!(
            "companies?id_in_integration={}",
            tenant.psa_company.id
        ))
        .await;
    let company = &by_psa["companies"][0];
    assert_eq!(company["id"], tenant.docs.id);
    assert_eq!(company["slug"], tenant.docs.slug);
    assert!(
        company["integrations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["integrator_name"] == "cw_manage" && i["sync_id"] == tenant.psa_company.id),
        "{company}"
    );

    let (status, one) = f.get(&format!("companies/{}", globex().docs.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["company"]["name"], globex().company);
    assert_eq!(one["company"]["object_type"], "Company");
    let (status, missing) = f.get("companies/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a company is 404, not null");
    assert!(missing["error"].is_string(), "{missing}");

    // `jump` is for browsers: a JSON client gets 406, a browser the company page.
    let jump = format!(
        "companies/jump?integration_slug=autotask&integration_id={}",
        globex().psa_company.id
    );
    let (status, _) = f.get(&jump).await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = browser
        .get(f.url(&jump))
        .header("x-api-key", API_KEY)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(
        location.ends_with(&format!("/c/{}", globex().docs.slug)),
        "{location}"
    );
    f.validated();
}

#[tokio::test]
async fn layouts_are_the_world_layouts_and_a_missing_one_is_a_null_body() {
    let f = Fixture::new().await;
    let (_, body) = f.get("asset_layouts").await;
    let expected: Vec<&str> = world()
        .msp
        .layouts
        .iter()
        .map(|l| l.name.as_str())
        .collect();
    assert_eq!(names(&body["asset_layouts"]), expected);

    let (_, people) = f.get(&format!("asset_layouts?name={PEOPLE_LAYOUT}")).await;
    let layout = &people["asset_layouts"][0];
    assert_eq!(layout["id"], people_layout_id());
    let labels: Vec<&str> = layout["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["label"].as_str().unwrap())
        .collect();
    let world_labels: Vec<&str> = world()
        .layout(PEOPLE_LAYOUT)
        .unwrap()
        .fields
        .iter()
        .map(|f| f.label.as_str())
        .collect();
    assert_eq!(labels, world_labels);

    let (status, one) = f
        .get(&format!("asset_layouts/{}", people_layout_id()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["asset_layout"]["name"], PEOPLE_LAYOUT);

    // hudu.md: a missing layout is `200` with a `null` body, not `404`.
    let response = f
        .http
        .get(f.url("asset_layouts/999999"))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "null");
    f.validated();
}

#[tokio::test]
async fn a_persons_asset_reads_back_in_the_read_shape() {
    let f = Fixture::new().await;
    let tenant = contoso();
    let priya = tenant.person("priya.shah").expect("in the world");
    let manager = tenant
        .person(priya.manager.as_deref().expect("has a manager"))
        .unwrap();
    let (_, found) = f
        .get(&format!(
            "assets?company_id={}&asset_layout_id={}&name={}",
            tenant.docs.id,
            people_layout_id(),
            urlencode(&priya.display_name())
        ))
        .await;
    let assets = found["assets"].as_array().unwrap();
    assert_eq!(assets.len(), 1, "{found}");
    let asset = &assets[0];
    assert_eq!(asset["id"], priya.asset_id.unwrap());
    assert_eq!(asset["company_name"], tenant.company);
    assert_eq!(asset["asset_type"], PEOPLE_LAYOUT);
    assert_eq!(asset["primary_mail"], priya.email(tenant));
    assert_eq!(asset["archived"], false);
    let fields = read_fields(asset);
    assert!(
        fields.contains(&("Email".into(), json!(priya.email(tenant)))),
        "{fields:?}"
    );
    assert!(
        fields.contains(&("Title".into(), json!(priya.title))),
        "{fields:?}"
    );
    assert!(
        fields.contains(&("Manager".into(), json!(manager.display_name()))),
        "{fields:?}"
    );
    // The write shape is never what is read back.
    assert!(asset.get("custom_fields").is_none());

    let path = format!(
        "companies/{}/assets/{}",
        tenant.docs.id,
        priya.asset_id.unwrap()
    );
    let (status, one) = f.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&one["asset"], asset, "the list and the read agree");

    // Another company's asset, or none: 404.
    let (status, _) = f
        .get(&format!(
            "companies/{}/assets/{}",
            globex().docs.id,
            priya.asset_id.unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = f
        .get(&format!("companies/{}/assets/999999", tenant.docs.id))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // `search` matches part of a name; `primary_serial` finds a computer.
    let (_, searched) = f
        .get(&format!("assets?company_id={}&search=shah", tenant.docs.id))
        .await;
    assert_eq!(names(&searched["assets"]), [priya.display_name().as_str()]);
    let server = &tenant.assets[0];
    let serial = server.fields["Serial Number"].as_str().unwrap();
    let (_, by_serial) = f.get(&format!("assets?primary_serial={serial}")).await;
    assert_eq!(names(&by_serial["assets"]), [server.name.as_str()]);
    f.validated();
}

#[tokio::test]
async fn assets_are_written_in_the_write_shape_and_read_in_the_read_shape() {
    let f = Fixture::new().await;
    let tenant = contoso();
    let path = format!("companies/{}/assets", tenant.docs.id);
    let email = format!("lfischer@{}", tenant.domain);
    let (status, created) = f
        .send(
            Method::POST,
            &path,
            Some(json!({"asset": {
                "asset_layout_id": people_layout_id(),
                "name": "Laura Fischer",
                "primary_mail": email,
                "custom_fields": [{"email": email}, {"title": "Paralegal"}, {"department": "Litigation"}]
            }})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let asset = &created["asset"];
    let id = asset["id"].as_i64().unwrap();
    assert_eq!(asset["company_id"], tenant.docs.id);
    assert_eq!(
        read_fields(asset),
        [
            ("Email".to_string(), json!(email)),
            ("Title".to_string(), json!("Paralegal")),
            ("Department".to_string(), json!("Litigation")),
        ]
    );
    let stored = f.sim.asset(id).expect("kept");
    assert_eq!(stored.field_text("Title"), Some("Paralegal"));
    assert!(f.sim.assets_of(tenant.docs.id).iter().any(|a| a.id == id));

    // An update sending custom_fields replaces the values with those sent (keys compare
    // without regard to case, spaces or underscores).
    let (status, updated) = f
        .send(
            Method::PUT,
            &format!("{path}/{id}"),
            Some(json!({"asset": {
                "name": "Laura Fischer",
                "asset_layout_id": people_layout_id(),
                "custom_fields": [{"Email": email}, {"title": "Senior Paralegal"}]
            }})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        read_fields(&updated["asset"]),
        [
            ("Email".to_string(), json!(email)),
            ("Title".to_string(), json!("Senior Paralegal")),
        ]
    );
    // Without custom_fields the values stay.
    let (_, renamed) = f
        .send(
            Method::PUT,
            &format!("{path}/{id}"),
            Some(json!({"asset": {"name": "Laura M. Fischer"}})),
        )
        .await;
    assert_eq!(renamed["asset"]["name"], "Laura M. Fischer");
    assert_eq!(read_fields(&renamed["asset"]).len(), 2);
    f.validated();

    // Refusals: 422 with Hudu's `errors` body.
    for (body, field) in [
        (
            json!({"asset": {"asset_layout_id": people_layout_id(), "name": " "}}),
            "name",
        ),
        (
            json!({"asset": {"asset_layout_id": 999, "name": "X"}}),
            "asset_layout",
        ),
        (
            json!({"asset": {"asset_layout_id": people_layout_id(), "name": "X",
                   "custom_fields": [{"shoe_size": "9"}]}}),
            "custom_fields",
        ),
        (
            json!({"asset": {"asset_layout_id": people_layout_id(), "name": "X",
                   "custom_fields": {"email": "x@example.com"}}}),
            "custom_fields",
        ),
    ] {
        let (status, error) = f.send(Method::POST, &path, Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(error["errors"][field].is_array(), "{error}");
    }
    let (status, error) = f.send(Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    let (status, _) = f
        .send(
            Method::POST,
            "companies/999999/assets",
            Some(json!({"asset": {"name": "X"}})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    f.server.recorder().clear();
}

#[tokio::test]
async fn archived_assets_leave_the_default_listing_and_there_is_no_unarchive() {
    let f = Fixture::new().await;
    let tenant = contoso();
    let leaver = tenant.person("eleanor.voss").expect("in the world");
    let id = leaver.asset_id.unwrap();
    let (status, archived) = f
        .send(
            Method::PUT,
            &format!("companies/{}/assets/{id}/archive", tenant.docs.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(archived["asset"]["archived"], true);
    assert!(f.sim.asset(id).unwrap().archived);

    let name = urlencode(&leaver.display_name());
    let (_, listed) = f
        .get(&format!("assets?company_id={}&name={name}", tenant.docs.id))
        .await;
    assert_eq!(
        listed["assets"],
        json!([]),
        "archived assets are left out by default"
    );
    let (_, only_archived) = f
        .get(&format!(
            "assets?company_id={}&name={name}&archived=true",
            tenant.docs.id
        ))
        .await;
    assert_eq!(only_archived["assets"][0]["id"], id);
    let (_, company) = f
        .get(&format!(
            "companies/{}/assets?archived=true",
            tenant.docs.id
        ))
        .await;
    assert_eq!(names(&company["assets"]), [leaver.display_name().as_str()]);
    // Still readable by id.
    let (status, _) = f
        .get(&format!("companies/{}/assets/{id}", tenant.docs.id))
        .await;
    assert_eq!(status, StatusCode::OK);
    f.validated();

    // Neither the notes nor the spec document an unarchive: the simulator has none.
    let (status, _) = f
        .send(
            Method::PUT,
            &format!("companies/{}/assets/{id}/unarchive", tenant.docs.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(f.sim.asset(id).unwrap().archived);
    f.server.recorder().clear();
}

#[tokio::test]
async fn asset_passwords_are_kept_exactly_and_a_missing_one_is_a_null_body() {
    let f = Fixture::new().await;
    let tenant = globex();
    let seeded = &tenant.passwords[0];
    let (_, listed) = f
        .get(&format!("asset_passwords?company_id={}", tenant.docs.id))
        .await;
    let expected: Vec<&str> = tenant.passwords.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names(&listed["asset_passwords"]), expected);
    let (_, one) = f.get(&format!("asset_passwords/{}", seeded.id)).await;
    assert_eq!(
        one["asset_password"]["password"], seeded.password,
        "cleartext, as Hudu answers"
    );
    let linked = tenant.passwords.iter().find(|p| p.asset.is_some()).unwrap();
    let (_, linked_entry) = f.get(&format!("asset_passwords/{}", linked.id)).await;
    assert_eq!(linked_entry["asset_password"]["passwordable_type"], "Asset");
    assert_eq!(
        linked_entry["asset_password"]["passwordable_id"],
        linked.asset.unwrap()
    );

    let person = tenant.person("bart.simpson").unwrap();
    let secret = "Initial-Pa55word!x";
    let (status, created) = f
        .send(
            Method::POST,
            "asset_passwords",
            Some(json!({"asset_password": {
                "name": format!("{} - Okta", person.display_name()),
                "company_id": tenant.docs.id,
                "username": person.email(tenant),
                "password": secret,
                "passwordable_type": "Asset",
                "passwordable_id": person.asset_id.unwrap(),
                "in_portal": false,
            }})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["asset_password"]["id"].as_i64().unwrap();
    let kept = f.sim.password(id).expect("kept");
    assert_eq!(kept.password, secret);
    assert_eq!(
        kept.passwordable,
        Some(("Asset".into(), person.asset_id.unwrap()))
    );
    assert!(!format!("{kept:?}").contains(secret));

    let (status, updated) = f
        .send(
            Method::PUT,
            &format!("asset_passwords/{id}"),
            Some(json!({"asset_password": {"password": "Changed-Pa55word!y"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(f.sim.password(id).unwrap().password, "Changed-Pa55word!y");
    assert_eq!(
        f.sim.password(id).unwrap().username,
        Some(person.email(tenant))
    );

    let (_, by_name) = f
        .get(&format!(
            "asset_passwords?company_id={}&name={}",
            tenant.docs.id,
            urlencode(&format!("{} - Okta", person.display_name()))
        ))
        .await;
    assert_eq!(by_name["asset_passwords"][0]["id"], id);

    let response = f
        .http
        .get(f.url("asset_passwords/999999"))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "null");
    // An update of a missing one is 404 (the null body is a read's).
    let (status, _) = f
        .send(
            Method::PUT,
            "asset_passwords/999999",
            Some(json!({"asset_password": {"password": "x"}})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Without a company, or attached to another company's asset: 422.
    let other = contoso().person("priya.shah").unwrap().asset_id.unwrap();
    for body in [
        json!({"asset_password": {"name": "No company", "password": "x"}}),
        json!({"asset_password": {"name": "Elsewhere", "company_id": tenant.docs.id,
               "password": "x", "passwordable_type": "Asset", "passwordable_id": other}}),
        json!({"asset_password": {"name": "", "company_id": tenant.docs.id, "password": "x"}}),
    ] {
        let (status, error) = f
            .send(Method::POST, "asset_passwords", Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(error["errors"].is_object(), "{error}");
    }
    f.validated();
}

#[tokio::test]
async fn articles_are_created_read_and_updated() {
    let f = Fixture::new().await;
    let tenant = contoso();
    assert!(f.sim.articles().is_empty());
    let (status, created) = f
        .send(
            Method::POST,
            "articles",
            Some(json!({"article": {
                "name": "Reset MFA",
                "content": "<p>Open the portal.</p>",
                "company_id": tenant.docs.id,
            }})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "the spec documents 200: {created}");
    let id = created["article"]["id"].as_i64().unwrap();
    let articles = f.sim.articles();
    assert_eq!(articles.len(), 1);
    assert_eq!(articles[0].content, "<p>Open the portal.</p>");
    assert_eq!(articles[0].company_id, Some(tenant.docs.id));

    let (status, one) = f.get(&format!("articles/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["article"]["object_type"], "Article");
    let (status, _) = f
        .send(
            Method::PUT,
            &format!("articles/{id}"),
            Some(json!({"article": {"content": "<p>Open the admin portal.</p>"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(f.sim.articles()[0].content, "<p>Open the admin portal.</p>");

    let (_, listed) = f
        .get(&format!("articles?company_id={}", tenant.docs.id))
        .await;
    assert_eq!(names(&listed["articles"]), ["Reset MFA"]);
    let (_, other) = f
        .get(&format!("articles?company_id={}", globex().docs.id))
        .await;
    assert_eq!(other["articles"], json!([]));

    let response = f
        .http
        .get(f.url("articles/999999"))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "null");
    let (status, _) = f
        .send(
            Method::POST,
            "articles",
            Some(json!({"article": {"name": "X", "company_id": 999999}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    f.validated();
}

#[tokio::test]
async fn lists_page_by_number_with_25_by_default() {
    let f = Fixture::new().await;
    let all: usize = world()
        .tenants
        .iter()
        .map(|t| t.staff().count() + t.assets.len())
        .sum();
    // Enough assets that the default page is full and another follows.
    let tenant = globex();
    let extra = 26usize.saturating_sub(all);
    for n in 0..extra {
        let (status, _) = f
            .send(
                Method::POST,
                &format!("companies/{}/assets", tenant.docs.id),
                Some(json!({"asset": {"asset_layout_id": people_layout_id(), "name": format!("Bulk {n}")}})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let total = all + extra;
    let (_, first) = f.get("assets").await;
    assert_eq!(first["assets"].as_array().unwrap().len(), 25);
    let (_, second) = f.get("assets?page=2").await;
    assert_eq!(second["assets"].as_array().unwrap().len(), total - 25);

    // Pages of 4 cover everything once, in id order; the last is short or empty, and there
    // is no next link or total.
    let mut seen = Vec::new();
    for page in 1.. {
        let (_, body) = f.get(&format!("assets?page={page}&page_size=4")).await;
        assert_eq!(body.as_object().unwrap().len(), 1, "only the list: {body}");
        let items = body["assets"].as_array().unwrap();
        seen.extend(items.iter().map(|a| a["id"].as_i64().unwrap()));
        if items.len() < 4 {
            break;
        }
    }
    assert_eq!(seen.len(), total);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    f.validated();
}

#[tokio::test]
async fn over_the_rate_limit_hudu_says_retry_later() {
    // The instance's own budget, with a small limit so the test stays short.
    let sim = HuduSim::with_config(
        world(),
        HuduSimConfig {
            rate_limit: 2,
            ..HuduSimConfig::default()
        },
    );
    let f = Fixture::with(sim, Faults::default()).await;
    assert_eq!(f.get("api_info").await.0, StatusCode::OK);
    assert_eq!(f.get("api_info").await.0, StatusCode::OK);
    let response = f
        .http
        .get(f.url("api_info"))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    assert_throttled(response).await;
    f.validated();

    // A test can also throttle the next requests whatever the budget says.
    let f = Fixture::new().await;
    f.sim.throttle_next(1);
    assert_eq!(f.get("api_info").await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(f.get("api_info").await.0, StatusCode::OK);
    f.validated();

    // Injected faults answer the same way: no `Retry-After`, although the fault names one.
    let f = Fixture::with(
        HuduSim::seeded(),
        Faults {
            rate_limit_every: 2,
            retry_after_secs: 7,
            ..Faults::default()
        },
    )
    .await;
    assert_eq!(f.get("api_info").await.0, StatusCode::OK);
    let response = f
        .http
        .get(f.url("api_info"))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    assert_throttled(response).await;
    f.validated();
}

/// Hudu's `429`: `Retry later` as plain text, with no `Retry-After`.
async fn assert_throttled(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let headers = response.headers();
    assert_eq!(headers[reqwest::header::CONTENT_TYPE], "text/plain");
    assert_eq!(
        headers[reqwest::header::CONTENT_TYPE],
        THROTTLE.content_type
    );
    assert!(
        !headers.contains_key(reqwest::header::RETRY_AFTER),
        "{headers:?}"
    );
    assert_eq!(response.text().await.unwrap(), THROTTLE_BODY);
}

#[tokio::test]
async fn another_world_seeds_another_instance() {
    let text = stackhand_sim::world::BUILTIN.replace("Contoso Law LLP", "Contoso Legal LLP");
    let world = World::parse("test", &text).expect("still a world");
    let sim = HuduSim::from_world(&world);
    let company = sim.company(contoso().docs.id).expect("same id");
    assert_eq!(company.name, "Contoso Legal LLP");
    let priya = contoso().person("priya.shah").unwrap();
    assert_eq!(
        sim.asset(priya.asset_id.unwrap()).unwrap().name,
        priya.display_name()
    );
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
