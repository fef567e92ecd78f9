//! End to end against the Hudu simulator, seeded from the built-in world: the connector built
//! through the registry from a `[tenants.<id>.connectors.hudu]` section and a secrets
//! directory, the `docs.*` actions driven through the engine, the simulator's end state read
//! back, the password kept exactly by Hudu and nowhere else (not in the audit trail, a receipt,
//! an error or anything logged), and every recorded request validated against the spec.

use std::io;
use std::sync::{Arc, Mutex};

use secrecy::SecretString;
use serde_json::{Value, json};
use stackhand_core::audit::{AuditSink, MemoryAuditSink};
use stackhand_core::{
    ActionId, ActionRequest, Asset, Connector, ConnectorSet, Engine, ErrorKind, IdempotencyKey,
    Principal, Receipt, Registry, StepStatus, Submission, TenantId,
};
use stackhand_sim::hudu::{API_KEY, HuduSim, PEOPLE_LAYOUT};
use stackhand_sim::world::{Tenant, World};
use stackhand_sim::{Faults, SimServer};
use stackhand_testkit::deployment::SecretsDir;
use stackhand_testkit::openapi::{Spec, assert_all_valid};
use stackhand_testkit::writes::{AllowAll, test_staff};

/// The new starter of the world's Contoso ticket ("Laura Fischer joins the litigation team on
/// Monday as a paralegal, reporting to Daniel Reyes ... same access as Priya Shah"): not in
/// the world yet, so not in Hudu.
const NEW_STARTER: &str = "Laura Fischer";
const NEW_STARTER_LOGIN: &str = "lfischer";
const INITIAL_PASSWORD: &str = "Welcome-Lf!4w9Qz";

fn contoso() -> &'static Tenant {
    World::builtin()
        .tenant("contoso-law")
        .expect("in the world")
}

fn globex() -> &'static Tenant {
    World::builtin().tenant("globex").expect("in the world")
}

/// One tenant's Hudu connector against the simulator, behind an engine that allows everything.
struct Docs {
    sim: HuduSim,
    server: SimServer,
    tenant: TenantId,
    connector: Arc<dyn Connector>,
    engine: Engine,
    audit: Arc<MemoryAuditSink>,
    _secrets: SecretsDir,
}

/// The connector for `tenant`'s company, built as a runner builds it, sending `key`.
async fn docs_with(sim: HuduSim, faults: Faults, tenant: &Tenant, key: &str) -> Docs {
    let server = sim.start(faults).await.expect("the simulator starts");
    let secrets = SecretsDir::new(&[&tenant.key]).with(&tenant.key, "hudu.key", key);
    let mut registry = Registry::new();
    stackhand_hudu::register(&mut registry);
    let connector = registry
        .build(
            &secrets.context(&tenant.key),
            stackhand_hudu::VENDOR,
            json!({
                "base_url": server.url(),
                "api_key": {"file": "hudu.key"},
                "company": tenant.company,
                "http": {"retry": {"max_attempts": 3, "min_delay_ms": 1, "max_delay_ms": 5}},
            }),
        )
        .await
        .expect("the connector builds");
    let id = TenantId::new(&tenant.key).expect("a tenant id");
    let audit = Arc::new(MemoryAuditSink::new());
    let engine = Engine::builder(Arc::new(AllowAll), audit.clone())
        .staff(test_staff())
        .build();
    engine
        .add_tenant(
            stackhand_core::Tenant::new(id.clone(), &tenant.company),
            ConnectorSet::new(id.clone())
                .with(connector.clone())
                .expect("the connector serves its tenant"),
        )
        .expect("tenant added");
    Docs {
        sim,
        server,
        tenant: id,
        connector,
        engine,
        audit,
        _secrets: secrets,
    }
}

async fn docs(tenant: &Tenant) -> Docs {
    docs_with(HuduSim::seeded(), Faults::default(), tenant, API_KEY).await
}

impl Docs {
    fn request(&self, key: &str, action: &'static str, params: Value) -> ActionRequest {
        ActionRequest::new(
            IdempotencyKey::new(key).expect("key"),
            self.tenant.clone(),
            ActionId::from_static(action),
            &params,
            Principal::technician("tech@msp.example", &["helpdesk"]),
        )
        .expect("request")
        .with_reason("ticket 4711")
    }

    async fn submit(&self, request: ActionRequest) -> Box<Receipt> {
        let action = request.action.clone();
        match self.engine.submit(request).await.expect("submitted") {
            Submission::Executed(receipt) => receipt,
            other => panic!("{action} was not executed: {other:?}"),
        }
    }

    async fn executed(&self, request: ActionRequest) -> Box<Receipt> {
        let receipt = self.submit(request).await;
        assert_eq!(
            receipt.outcome.status,
            StepStatus::Succeeded,
            "{}: {:?}",
            receipt.request.action,
            receipt.failure
        );
        receipt
    }

    async fn find(&self, name: &str) -> Option<Asset> {
        self.connector
            .docs()
            .expect("a documentation source")
            .find_asset("", name)
            .await
            .expect("find_asset")
    }

    /// Every recorded request matches the spec.
    fn check_spec(&self) {
        let spec = Spec::load("hudu.json").expect("bundled");
        assert_all_valid(&spec, &self.server.recorder().requests(), "");
    }

    /// The recorded requests as `METHOD path?query`.
    fn requests(&self) -> Vec<String> {
        self.server
            .recorder()
            .requests()
            .iter()
            .map(|r| match &r.query {
                Some(q) => format!("{} {}?{q}", r.method, r.path),
                None => format!("{} {}", r.method, r.path),
            })
            .collect()
    }
}

/// The fields the world gives a member of staff's `People` asset, by label.
fn person_fields(tenant: &Tenant, key: &str) -> Vec<(String, String)> {
    let person = tenant.person(key).expect("in the world");
    let manager = person
        .manager
        .as_deref()
        .and_then(|m| tenant.person(m))
        .map(|m| m.display_name());
    [
        ("Email", Some(person.email(tenant))),
        ("Title", person.title.clone()),
        ("Department", person.department.clone()),
        ("Phone", person.phone.clone()),
        ("Manager", manager),
    ]
    .into_iter()
    .filter_map(|(label, value)| Some((label.to_string(), value?)))
    .collect()
}

/// Everything logged through `tracing` on this thread while it is installed.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn install(&self) -> tracing::dispatcher::DefaultGuard {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(self.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("not poisoned")).into_owned()
    }
}

impl io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .expect("not poisoned")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

// The tests run on tokio's current-thread runtime, so the thread's log capture also sees what
// the connector's and the simulator's tasks log.

#[tokio::test]
async fn a_new_starter_is_documented_with_an_initial_password() {
    let logs = Logs::default();
    let _capture = logs.install();
    let tenant = contoso();
    let d = docs(tenant).await;

    // "Same access as Priya Shah", "reporting to Daniel Reyes".
    let like = tenant.person("priya.shah").expect("in the world");
    let manager = tenant
        .person(like.manager.as_deref().expect("Priya has a manager"))
        .expect("in the world");
    let email = format!("{NEW_STARTER_LOGIN}@{}", tenant.domain);
    let fields = json!({
        "Email": email,
        "Title": like.title,
        "Department": like.department,
        "Manager": manager.display_name(),
    });
    let receipt = d
        .executed(d.request(
            "new-starter-asset",
            "docs.upsert_user_asset",
            json!({"company": tenant.company, "name": NEW_STARTER, "fields": fields}),
        ))
        .await;
    let created: Asset = serde_json::from_value(receipt.outcome.state_after.clone()).unwrap();
    let id: i64 = created.id.parse().expect("a Hudu id");

    // Hudu holds it in the People layout of the tenant's company, with the fields written.
    let stored = d.sim.asset(id).expect("created in the simulator");
    assert_eq!(stored.company_id, tenant.docs.id);
    let people = World::builtin()
        .layout(PEOPLE_LAYOUT)
        .expect("a People layout");
    assert_eq!(stored.layout_id, people.id);
    assert_eq!(stored.name, NEW_STARTER);
    for (label, value) in fields.as_object().unwrap() {
        assert_eq!(stored.field(label), Some(value), "{label}");
    }

    // Read back through the connector: the fields come from Hudu's read shape.
    let found = d.find(NEW_STARTER).await.expect("found by name");
    assert_eq!(found.id, created.id);
    assert!(!found.archived);
    let expected: std::collections::BTreeMap<String, String> = fields
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    assert_eq!(found.fields, expected);

    // A second upsert with one field changed re-sends every field (Hudu's PUT replaces them).
    let promoted = json!({"Title": "Senior Paralegal"});
    d.executed(d.request(
        "new-starter-promoted",
        "docs.upsert_user_asset",
        json!({"company": tenant.company, "name": NEW_STARTER, "fields": promoted}),
    ))
    .await;
    let stored = d.sim.asset(id).expect("the same asset");
    assert_eq!(stored.field_text("Title"), Some("Senior Paralegal"));
    assert_eq!(stored.field_text("Email"), Some(email.as_str()));
    assert_eq!(
        d.sim
            .assets_of(tenant.docs.id)
            .iter()
            .filter(|a| a.name == NEW_STARTER)
            .count(),
        1
    );

    // The initial password, kept in the company's vault. The look-up before it is throttled
    // once, so the client logs a failure and a retry while the password is in flight: the log
    // capture has something in it to search.
    d.sim.throttle_next(1);
    let entry_name = format!("{NEW_STARTER} - Microsoft 365");
    let receipt = d
        .executed(
            d.request(
                "new-starter-password",
                "docs.store_password",
                json!({"company": tenant.company, "name": entry_name, "username": email}),
            )
            .with_secret("password", SecretString::from(INITIAL_PASSWORD)),
        )
        .await;
    let password_id: i64 = receipt.outcome.state_after["id"]
        .as_str()
        .expect("the entry's id")
        .parse()
        .unwrap();
    let entry = d
        .sim
        .password(password_id)
        .expect("stored in the simulator");
    assert_eq!(
        entry.password, INITIAL_PASSWORD,
        "Hudu holds the exact password"
    );
    assert_eq!(entry.username.as_deref(), Some(email.as_str()));
    assert_eq!(entry.company_id, tenant.docs.id);
    assert_eq!(entry.name, entry_name);

    // Storing it into another tenant's company is refused when it is planned (the plan reads
    // that company's vault), before anything is sent, and the error does not carry it.
    let refused = d
        .engine
        .submit(
            d.request(
                "new-starter-password-elsewhere",
                "docs.store_password",
                json!({"company": globex().company, "name": entry_name, "username": email}),
            )
            .with_secret("password", SecretString::from(INITIAL_PASSWORD)),
        )
        .await
        .expect_err("refused");
    assert_eq!(refused.kind(), ErrorKind::Forbidden, "{refused}");
    let failure = &refused;
    assert!(
        d.sim
            .passwords_of(globex().docs.id)
            .iter()
            .all(|p| p.password != INITIAL_PASSWORD)
    );

    // The password is nowhere but in the one request that stored it.
    let audit = serde_json::to_string(&d.audit.events(&d.tenant).await.unwrap()).unwrap();
    assert!(!audit.is_empty());
    let shown = format!(
        "{audit} {receipt:?} {refused:?} {failure:?} {:?}",
        d.connector
    );
    assert!(!shown.contains(INITIAL_PASSWORD), "{shown}");
    let logged = logs.text();
    assert!(
        logged.contains("request failed"),
        "the throttling was logged: {logged}"
    );
    assert!(!logged.contains(INITIAL_PASSWORD), "{logged}");
    let carrying: Vec<String> = d
        .server
        .recorder()
        .requests()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains(INITIAL_PASSWORD))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(carrying, ["POST /api/v1/asset_passwords"]);
    assert!(d.requests().iter().all(|r| !r.contains(INITIAL_PASSWORD)));
    d.check_spec();
}

#[tokio::test]
async fn a_leaver_is_archived_found_but_not_written_and_the_undo_sends_nothing() {
    let tenant = contoso();
    let d = docs(tenant).await;
    let leaver = tenant.person("eleanor.voss").expect("in the world");
    let name = leaver.display_name();
    let asset = d.find(&name).await.expect("seeded");
    assert_eq!(asset.id, leaver.asset_id.unwrap().to_string());
    assert!(!asset.archived);

    d.executed(d.request(
        "leaver-archive",
        "docs.archive_asset",
        json!({"asset": asset.id}),
    ))
    .await;
    let id = leaver.asset_id.unwrap();
    assert!(d.sim.asset(id).unwrap().archived);

    // Hudu lists archived assets only when asked (`archived=true`): the name still finds the
    // leaver's asset, through the second look-up, and says it is archived.
    d.server.recorder().clear();
    let found = d.find(&name).await.expect("the archived asset");
    assert_eq!(found.id, id.to_string());
    assert!(found.archived);
    assert_eq!(found.fields, asset.fields);
    let company = tenant.docs.id;
    let query = format!("company_id={company}&name={}", urlencode(&name));
    assert_eq!(
        d.requests(),
        [
            format!("GET /api/v1/assets?{query}&page=1&page_size=25"),
            format!("GET /api/v1/assets?{query}&archived=true&page=1&page_size=25"),
        ]
    );

    // Documenting the leaver again is refused, naming the archived asset: it is neither edited
    // nor duplicated.
    let before = d.sim.asset(id).unwrap();
    let refused = d
        .submit(d.request(
            "leaver-upsert",
            "docs.upsert_user_asset",
            json!({"company": tenant.company, "name": name, "fields": {"Title": "Consultant"}}),
        ))
        .await;
    assert_eq!(refused.outcome.status, StepStatus::Failed);
    let failure = refused.failure.as_ref().expect("a failure");
    assert_eq!(failure.kind, ErrorKind::Conflict, "{failure:?}");
    assert!(
        failure.message.contains(&format!("(id {id})"))
            && failure.message.contains("unarchive it in Hudu"),
        "{failure:?}"
    );
    assert_eq!(
        d.sim.asset(id).unwrap(),
        before,
        "the archived asset is unchanged"
    );
    assert_eq!(
        d.sim
            .assets_of(company)
            .iter()
            .filter(|a| a.name == name)
            .count(),
        1,
        "no second asset"
    );
    let writes: Vec<String> = d
        .requests()
        .into_iter()
        .filter(|r| !r.starts_with("GET "))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");

    // The spec has no unarchive: the undo fails without a request, and the asset stays archived.
    let before = d.server.recorder().requests().len();
    let undone = d
        .engine
        .undo(
            &d.tenant,
            &IdempotencyKey::new("leaver-archive").unwrap(),
            Principal::technician("tech@msp.example", &["helpdesk"]),
            "undo",
        )
        .await;
    let failure = match undone {
        Ok(Submission::Executed(receipt)) => {
            assert_eq!(receipt.outcome.status, StepStatus::Failed);
            receipt.failure.expect("a failure").kind
        }
        Ok(other) => panic!("undo: {other:?}"),
        Err(err) => err.kind(),
    };
    assert_eq!(failure, ErrorKind::Unsupported);
    assert_eq!(
        d.server.recorder().requests().len(),
        before,
        "{:?}",
        d.requests()
    );
    assert!(d.sim.asset(id).unwrap().archived);
    assert!(d.requests().iter().all(|r| !r.contains("unarchive")));
    d.check_spec();
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn every_tenants_people_are_found_by_name() {
    for tenant in [contoso(), globex()] {
        let d = docs(tenant).await;
        for person in tenant.staff() {
            let asset = d.find(&person.display_name()).await.expect("seeded");
            assert_eq!(
                asset.id,
                person.asset_id.unwrap().to_string(),
                "{}",
                person.key
            );
            let expected: std::collections::BTreeMap<String, String> =
                person_fields(tenant, &person.key).into_iter().collect();
            assert_eq!(asset.fields, expected, "{}", person.key);
        }
        // The tenant's other assets too, and nothing by a name Hudu does not have.
        for world_asset in &tenant.assets {
            let asset = d.find(&world_asset.name).await.expect("seeded");
            assert_eq!(asset.id, world_asset.id.to_string());
            // An archived one too, through the `archived=true` look-up.
            assert_eq!(asset.archived, world_asset.archived, "{}", world_asset.name);
        }
        assert_eq!(d.find("Nobody Here").await, None);

        // Another tenant's company is out of bounds.
        let other = if tenant.key == contoso().key {
            globex()
        } else {
            contoso()
        };
        let err = d
            .connector
            .docs()
            .unwrap()
            .find_asset(
                &other.company,
                &other.staff().next().unwrap().display_name(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Forbidden, "{err}");
        d.check_spec();
    }
}

#[tokio::test]
async fn an_article_is_written_in_the_company() {
    let tenant = globex();
    let d = docs(tenant).await;
    let receipt = d
        .executed(d.request(
            "article-vpn",
            "docs.create_article",
            json!({"company": tenant.company, "title": "VPN drops in the plant",
                   "body": "<p>Reconnect on the plant SSID.</p>"}),
        ))
        .await;
    let articles = d.sim.articles();
    assert_eq!(articles.len(), 1);
    assert_eq!(
        receipt.outcome.state_after["id"],
        articles[0].id.to_string()
    );
    assert_eq!(articles[0].name, "VPN drops in the plant");
    assert_eq!(articles[0].content, "<p>Reconnect on the plant SSID.</p>");
    assert_eq!(articles[0].company_id, Some(tenant.docs.id));
    d.check_spec();
}

#[tokio::test]
async fn throttling_is_retried_and_a_wrong_key_is_unauthorized() {
    let tenant = contoso();
    let person = tenant.staff().next().expect("staff");
    // Every second request is throttled as Hudu throttles (`Retry later` as text, no
    // `Retry-After`); the connector backs off (1 to 5 ms here) and sends it again.
    let d = docs_with(
        HuduSim::seeded(),
        Faults {
            rate_limit_every: 2,
            retry_after_secs: 0,
            ..Faults::default()
        },
        tenant,
        API_KEY,
    )
    .await;
    let asset = d
        .find(&person.display_name())
        .await
        .expect("found after retries");
    assert_eq!(asset.id, person.asset_id.unwrap().to_string());
    // The company lookup passes, the asset search is throttled and sent again.
    let requests = d.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert_eq!(
        requests[1], requests[2],
        "the throttled request was sent again"
    );
    d.check_spec();

    let wrong_key = "hudu-key-of-another-instance-1234";
    let d = docs_with(HuduSim::seeded(), Faults::default(), tenant, wrong_key).await;
    let err = d
        .connector
        .docs()
        .unwrap()
        .find_asset("", &person.display_name())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(!format!("{err} {err:?}").contains(wrong_key), "{err}");
    let health = d.connector.health().await.expect("health answers");
    assert!(!health.healthy, "{}", health.detail);
    d.check_spec();
}
