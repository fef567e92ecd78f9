//! The HTTP API over real sockets, against the simulators of one world: tokens and tenant
//! scope, plans that execute nothing, approvals, runs after a pass of the runner, undo, audit,
//! health and the OpenAPI document. Every request sent and every response answered is checked
//! against the served OpenAPI document.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use stackhand_api::{ACCESS_CHAIN, Api};
use stackhand_core::audit::{AuditKind, AuditSink, DerivedAuditKeys};
use stackhand_core::{ActionId, ActionRequest, IdempotencyKey, Principal, TenantId};
use stackhand_runner::{Intake, LoadedConfig, Pipeline, callbacks, default_registry};
use stackhand_sim::Faults;
use stackhand_sim::deployment::SimulatedWorld;
use stackhand_sim::world::World;
use stackhand_store::{MasterKey, NewRun};
use stackhand_testkit::openapi::{ObservedRequest, Spec};

/// The world's MSP lead and another technician (crates/sim/world.toml).
const LEAD: &str = "amorgan@northwind-msp.example";
const TECH: &str = "bkhan@northwind-msp.example";
/// A client's person who approves in Contoso only.
const CLIENT: &str = "it@contosolaw.com";
const CONTOSO: &str = "contoso-law";
const GLOBEX: &str = "globex";

const STORE_AND_CLIENT: &str = r#"
[store]
url = "sqlite://stackhand.db?mode=rwc"
master_key = { file = "master.key" }
audit_key = { file = "audit.key" }

[[staff]]
id = "it@contosolaw.com"
kind = "end_user"
roles = [{ role = "client.manager", scope = "tenant", id = "contoso-law" }]
"#;

/// A running API on the simulators, and what the tests look at.
struct Served {
    _sims: SimulatedWorld,
    _dir: tempfile::TempDir,
    pipeline: Pipeline,
    base: String,
    http: reqwest::Client,
    spec: Spec,
}

async fn serve(policy: &str) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let sims = SimulatedWorld::start(World::builtin(), Faults::default())
        .await
        .unwrap();
    let config = write_deployment(&sims, dir.path(), policy);
    let loaded = LoadedConfig::load(&config).unwrap();
    let pipeline = Pipeline::open(&loaded, &default_registry()).await.unwrap();
    let intake = Intake::new(
        pipeline.clone(),
        "api-test",
        std::time::Duration::from_secs(60),
    );
    let tokens = pipeline.deployment().callback_tokens().clone();
    let wake = Arc::new(tokio::sync::Notify::new());
    let app = Api::new(pipeline.clone())
        .unwrap()
        .router()
        .merge(callbacks::router(intake, &tokens, wake));
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let (addr, _serving) = stackhand_api::serve(any, app).await.unwrap();
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let doc: Value = http
        .get(format!("{base}/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let spec = Spec::from_document("stackhand-api", doc).unwrap();
    Served {
        _sims: sims,
        _dir: dir,
        pipeline,
        base,
        http,
        spec,
    }
}

fn write_deployment(sims: &SimulatedWorld, dir: &Path, policy: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("policy.toml"), policy).unwrap();
    let config = sims.write_deployment(dir, "policy.toml").unwrap();
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str(STORE_AND_CLIENT);
    std::fs::write(&config, toml).unwrap();
    MasterKey::create_file(dir.join("master.key")).unwrap();
    DerivedAuditKeys::create_file(dir.join("audit.key")).unwrap();
    config
}

/// A response: status and JSON body.
struct Reply {
    status: StatusCode,
    body: Value,
    text: String,
}

impl Served {
    /// A token for `who`, limited to `tenants`.
    async fn token(&self, who: &str, tenants: &[&str]) -> String {
        let tenants: Vec<TenantId> = tenants.iter().map(|t| TenantId::new(*t).unwrap()).collect();
        let (_, token) = self
            .store()
            .issue_api_token(who, &tenants, None)
            .await
            .unwrap();
        token.expose_secret().to_string()
    }

    fn store(&self) -> &Arc<stackhand_store::Store> {
        self.pipeline.deployment().store()
    }

    /// Send a request and check its answer against the served OpenAPI document (and that one the
    /// document calls invalid is refused).
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut observed = ObservedRequest::new(method, path);
        if let Some(body) = &body {
            observed = observed.with_json(body);
        }
        if let Some(token) = token {
            observed = observed.with_header("authorization", &format!("Bearer {token}"));
        }
        // A request the document calls invalid must be refused as the caller's error.
        let invalid = self.spec.validate_request(&observed).err();
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path} -> {status}: not JSON ({e}): {text}"));
        self.spec
            .validate_response(method, path, status.as_u16(), &body)
            .unwrap_or_else(|v| {
                panic!("{method} {path} -> {status} is not as documented: {v}\n{body:#}")
            });
        if let Some(violation) = invalid {
            assert!(
                status == StatusCode::BAD_REQUEST,
                "{method} {path} is not as documented ({violation}) and was answered {status}"
            );
        }
        Reply { status, body, text }
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call("GET", path, token, None).await
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call("POST", path, token, Some(body)).await
    }

    /// The access refusals in `chain`.
    async fn refusals(&self, chain: &str) -> Vec<Value> {
        let events = self
            .store()
            .events(&TenantId::new(chain).unwrap())
            .await
            .unwrap();
        events
            .iter()
            .filter(|e| e.record.kind == AuditKind::AccessRefused)
            .map(|e| e.record.data.clone())
            .collect()
    }

    /// Submit a request in-process (as a runner would), answering its approval id.
    async fn waiting(&self, tenant: &str, key: &str, action: &'static str, who: &str) -> String {
        let request = ActionRequest::new(
            IdempotencyKey::new(key).unwrap(),
            TenantId::new(tenant).unwrap(),
            ActionId::from_static(action),
            &json!({ "user": "pshah@contosolaw.com" }),
            Principal::technician(who, &[]),
        )
        .unwrap();
        let engine = self.pipeline.deployment().engine();
        let submission = engine.submit(request).await.unwrap();
        submission.approval().expect("it waits").id.to_string()
    }
}

const POLICY: &str = r#"
[scope]
global = true

[[rules]]
id = "technicians-do-routine-work"
actions = ["identity.unlock", "rmm.tag_device", "psa.add_note"]
effect = "allow"
[rules.when]
requester_kinds = ["technician"]

[[rules]]
id = "leads-approve-password-resets"
actions = ["identity.reset_password"]
effect = "approve"
approvers = [{ role = "msp.lead" }]
[rules.when]
requester_kinds = ["technician"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_for_one_tenant_sees_nothing_of_another_and_refusals_are_audited() {
    let api = serve(POLICY).await;
    let contoso_only = api.token(LEAD, &[CONTOSO]).await;

    // Its own tenant: fine.
    let own = api
        .get(
            &format!("/v1/tenants/{CONTOSO}/approvals"),
            Some(&contoso_only),
        )
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);
    let listed = api.get("/v1/tenants", Some(&contoso_only)).await;
    assert_eq!(listed.body["tenants"], json!([CONTOSO]));

    // Another tenant and one that does not exist answer alike.
    let other = api
        .get(
            &format!("/v1/tenants/{GLOBEX}/approvals"),
            Some(&contoso_only),
        )
        .await;
    let nowhere = api
        .get("/v1/tenants/no-such-tenant/approvals", Some(&contoso_only))
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    assert_eq!(nowhere.status, StatusCode::FORBIDDEN);
    let shape = |r: &Reply, t: &str| r.text.replace(t, "<tenant>");
    assert_eq!(shape(&other, GLOBEX), shape(&nowhere, "no-such-tenant"));
    let deny = api
        .post(
            &format!("/v1/tenants/{GLOBEX}/approvals/{}/deny", uuid_like()),
            Some(&contoso_only),
            json!({ "reason": "probe" }),
        )
        .await;
    assert_eq!(deny.status, StatusCode::FORBIDDEN);

    // Each refusal is in the audit: Globex's chain for Globex, the access chain for the
    // tenant that does not exist; never the token.
    let globex = api.refusals(GLOBEX).await;
    assert_eq!(globex.len(), 2, "{globex:#?}");
    assert_eq!(globex[0]["status"], 403);
    assert_eq!(globex[0]["path"], format!("/v1/tenants/{GLOBEX}/approvals"));
    assert!(globex[0]["caller"].as_str().unwrap().starts_with("tok_"));
    let access = api.refusals(ACCESS_CHAIN).await;
    assert_eq!(access.len(), 1, "{access:#?}");
    assert_eq!(access[0]["tenant"], "no-such-tenant");
    for chain in [GLOBEX, ACCESS_CHAIN] {
        let events = api
            .store()
            .events(&TenantId::new(chain).unwrap())
            .await
            .unwrap();
        let trail = serde_json::to_string(&events).unwrap();
        assert!(
            !trail.contains(&contoso_only[4..]),
            "the token is in the {chain} audit"
        );
        api.store()
            .verify_tenant(&TenantId::new(chain).unwrap())
            .await
            .unwrap()
            .unwrap();
    }

    // A client's person sees only the tenant where the directory gives them a role, whatever
    // their token allows.
    let client = api.token(CLIENT, &[]).await;
    let listed = api.get("/v1/tenants", Some(&client)).await;
    assert_eq!(listed.body["tenants"], json!([CONTOSO]));
    let other = api
        .get(&format!("/v1/tenants/{GLOBEX}/runs"), Some(&client))
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    // An MSP technician with an open token sees both.
    let open = api.token(TECH, &[]).await;
    let listed = api.get("/v1/tenants", Some(&open)).await;
    assert_eq!(listed.body["tenants"], json!([CONTOSO, GLOBEX]));
}

fn uuid_like() -> &'static str {
    "6f9619ff-8b86-d011-b42d-00c04fc964ff"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_a_bad_one_is_401_and_audited() {
    let api = serve(POLICY).await;
    let path = format!("/v1/tenants/{CONTOSO}/runs");
    let none = api.get(&path, None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED, "{}", none.text);
    assert_eq!(none.body["error"], "unauthenticated");
    let forged = api.get(&path, Some("shk_0000")).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.text, forged.text, "a bad token answers like no token");

    // A revoked token no longer works.
    let token = api.token(LEAD, &[]).await;
    assert_eq!(api.get(&path, Some(&token)).await.status, StatusCode::OK);
    let id = api.store().api_tokens().await.unwrap()[0].id.clone();
    assert!(api.store().revoke_api_token(&id).await.unwrap());
    assert_eq!(
        api.get(&path, Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api.get("/v1/tenants", None).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Contoso exists, so its refusals are in its chain; the one naming no tenant in the
    // access chain.
    let refused = api.refusals(CONTOSO).await;
    assert_eq!(refused.len(), 3, "{refused:#?}");
    assert!(refused.iter().all(|r| r["status"] == 401));
    assert_eq!(api.refusals(ACCESS_CHAIN).await.len(), 1);

    // The raw header with another scheme is no token either.
    let basic = api
        .http
        .get(format!("{}{path}", api.base))
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(basic.headers()["www-authenticate"], "Bearer");

    // A flood of bad tokens from one address is recorded up to the budget, then answered 429
    // with Retry-After and not recorded: it cannot flood the audit trail.
    let mut answers = Vec::new();
    // Until the first 429 (the budget refills one every two seconds, so a slow machine may be
    // answered 401 a few more times first).
    for _ in 0..stackhand_store::REFUSALS_PER_MINUTE * 2 {
        if answers
            .iter()
            .any(|(status, _)| *status == StatusCode::TOO_MANY_REQUESTS)
        {
            break;
        }
        let reply = api
            .http
            .get(format!("{}{path}", api.base))
            .bearer_auth("shk_guess")
            .send()
            .await
            .unwrap();
        answers.push((reply.status(), reply.headers().get("retry-after").cloned()));
    }
    let throttled: Vec<_> = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    // Five refusals were recorded above, so about 25 more are before the budget runs out.
    assert!(!throttled.is_empty(), "{answers:?}");
    assert!(
        throttled.iter().all(|(_, wait)| wait.is_some()),
        "{answers:?}"
    );
    let answered = answers.len() - throttled.len();
    assert!(
        answers.iter().all(|(status, _)| {
            [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(status)
        }),
        "{answers:?}"
    );
    assert!(
        answered >= stackhand_store::REFUSALS_PER_MINUTE as usize - 5,
        "throttled before the budget ran out: {answers:?}"
    );
    // Each refusal answered 401 is recorded, and no throttled one.
    let recorded = api.refusals(CONTOSO).await.len() + api.refusals(ACCESS_CHAIN).await.len();
    assert_eq!(recorded, 5 + answered);
    // A valid token is never throttled.
    let token = api.token(LEAD, &[]).await;
    assert_eq!(api.get(&path, Some(&token)).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_returns_the_decision_and_executes_nothing() {
    let api = serve(POLICY).await;
    let token = api.token(TECH, &[CONTOSO]).await;
    api._sims.m365.1.recorder().clear();
    let path = format!("/v1/tenants/{CONTOSO}/plans");
    let reset = api
        .post(
            &path,
            Some(&token),
            json!({ "action": "identity.reset_password", "params": { "user": "pshah@contosolaw.com" } }),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.text);
    assert_eq!(reset.body["executed"], false);
    assert_eq!(reset.body["requester"], TECH);
    assert_eq!(reset.body["decision"]["effect"], "require_approval");
    assert_eq!(
        reset.body["decision"]["rule"],
        "leads-approve-password-resets"
    );
    assert_eq!(
        reset.body["decision"]["approvers"],
        json!(["role:msp.lead"])
    );

    let unlock = api
        .post(
            &path,
            Some(&token),
            json!({ "action": "identity.unlock", "params": { "user": "pshah@contosolaw.com" }, "reason": "a test" }),
        )
        .await;
    assert_eq!(
        unlock.body["decision"]["effect"], "allow",
        "{}",
        unlock.text
    );
    let disable = api
        .post(
            &path,
            Some(&token),
            json!({ "action": "identity.disable", "params": { "user": "pshah@contosolaw.com" } }),
        )
        .await;
    assert_eq!(
        disable.body["decision"]["effect"], "deny",
        "{}",
        disable.text
    );
    assert_eq!(disable.body["decision"]["rule"], "no-policy");

    // Nothing but reads reached Microsoft 365 (and the token endpoint).
    let writes: Vec<String> = api
        ._sims
        .m365
        .1
        .recorder()
        .requests()
        .iter()
        .filter(|r| r.method != "GET" && !r.path.contains("token"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "a plan wrote: {writes:?}");
    // Planned and previewed, in the audit; nothing started.
    let events = api
        .store()
        .events(&TenantId::new(CONTOSO).unwrap())
        .await
        .unwrap();
    let kinds: Vec<AuditKind> = events.iter().map(|e| e.record.kind).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == AuditKind::Previewed).count(),
        3
    );
    assert!(!kinds.contains(&AuditKind::ExecutionStarted));

    // An unknown action, a malformed body and a bad input are the caller's errors.
    let unknown = api
        .post(
            &path,
            Some(&token),
            json!({ "action": "identity.levitate" }),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    let malformed = api
        .post(&path, Some(&token), json!({ "verb": "identity.unlock" }))
        .await;
    assert_eq!(
        malformed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        malformed.text
    );
    let bad_input = api
        .post(
            &path,
            Some(&token),
            json!({ "action": "identity.unlock", "params": { "usr": 1 } }),
        )
        .await;
    assert_eq!(
        bad_input.status,
        StatusCode::BAD_REQUEST,
        "{}",
        bad_input.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_are_approved_and_denied_as_the_tokens_staff_member() {
    let api = serve(POLICY).await;
    let lead = api.token(LEAD, &[CONTOSO]).await;
    let tech = api.token(TECH, &[CONTOSO]).await;
    let client = api.token(CLIENT, &[]).await;
    let first = api
        .waiting(CONTOSO, "api-1", "identity.reset_password", TECH)
        .await;
    let second = api
        .waiting(CONTOSO, "api-2", "identity.reset_password", TECH)
        .await;

    let listed = api
        .get(&format!("/v1/tenants/{CONTOSO}/approvals"), Some(&tech))
        .await;
    let ids: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&first.as_str()) && ids.contains(&second.as_str()),
        "{ids:?}"
    );

    let approve = |id: &str| format!("/v1/tenants/{CONTOSO}/approvals/{id}/approve");
    // The requester cannot approve their own request; a client without the role cannot either.
    let own = api.post(&approve(&first), Some(&tech), json!({})).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.text);
    let client_try = api.post(&approve(&first), Some(&client), json!({})).await;
    assert_eq!(
        client_try.status,
        StatusCode::FORBIDDEN,
        "{}",
        client_try.text
    );
    // An approval seen from another tenant's path is as unknown as a made-up one.
    let globex_lead = api.token(LEAD, &[]).await;
    let elsewhere = api
        .post(
            &format!("/v1/tenants/{GLOBEX}/approvals/{first}/approve"),
            Some(&globex_lead),
            json!({}),
        )
        .await;
    let made_up = api
        .post(
            &format!("/v1/tenants/{GLOBEX}/approvals/{}/approve", uuid_like()),
            Some(&globex_lead),
            json!({}),
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "{}",
        elsewhere.text
    );
    assert_eq!(made_up.status, StatusCode::NOT_FOUND);

    // The lead approves: it executes; the temporary password is named, never shown.
    let approved = api.post(&approve(&first), Some(&lead), json!({})).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    assert_eq!(approved.body["answer"], "executed", "{}", approved.text);
    assert!(
        !approved.body["secrets_withheld"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let again = api.post(&approve(&first), Some(&lead), json!({})).await;
    assert_eq!(
        again.body["answer"], "executed",
        "approving again answers the first result"
    );

    // The lead refuses the second, with a reason; without one it is the caller's error.
    let deny = format!("/v1/tenants/{CONTOSO}/approvals/{second}/deny");
    let no_reason = api.post(&deny, Some(&lead), json!({ "reason": " " })).await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    let denied = api
        .post(
            &deny,
            Some(&lead),
            json!({ "reason": "call the user first" }),
        )
        .await;
    assert_eq!(denied.status, StatusCode::OK, "{}", denied.text);
    assert_eq!(denied.body["answer"], "denied");
    assert!(
        denied.body["message"]
            .as_str()
            .unwrap()
            .contains("call the user first")
    );
    let listed = api
        .get(&format!("/v1/tenants/{CONTOSO}/approvals"), Some(&lead))
        .await;
    assert_eq!(listed.body, json!([]));
}

/// The built-in world's policy, as `stackhand sim` writes it.
const STARTER_POLICY: &str = include_str!("../../sim/starter-policy.toml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_after_a_pass_undo_audit_health_and_the_document() {
    let api = serve(STARTER_POLICY).await;
    let tech = api.token(TECH, &[]).await;

    // One pass of the runner, as `stackhand run --once` makes it.
    let intake = Intake::new(
        api.pipeline.clone(),
        "api-test",
        std::time::Duration::from_secs(60),
    );
    let (_, outcomes) = intake.once().await.unwrap();
    assert!(!outcomes.is_empty());
    let listed = api
        .get(&format!("/v1/tenants/{GLOBEX}/runs?limit=100"), Some(&tech))
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let runs = listed.body["runs"].as_array().unwrap();
    assert!(runs.iter().any(|r| r["ticket"].is_string()), "{runs:#?}");
    let first = runs[0]["id"].as_str().unwrap();
    let run = api
        .get(&format!("/v1/tenants/{GLOBEX}/runs/{first}"), Some(&tech))
        .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.text);
    assert_eq!(run.body["run"]["id"], first);
    assert!(!run.body["steps"].as_array().unwrap().is_empty());
    let missing = api
        .get(
            &format!("/v1/tenants/{GLOBEX}/runs/no-such-run"),
            Some(&tech),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let bad_limit = api
        .get(
            &format!("/v1/tenants/{GLOBEX}/runs?limit=many"),
            Some(&tech),
        )
        .await;
    assert_eq!(bad_limit.status, StatusCode::BAD_REQUEST);

    // A technician's run of one reversible step, undone through the API.
    let tenant = TenantId::new(CONTOSO).unwrap();
    let tag = ActionRequest::new(
        IdempotencyKey::new("tag-run.0").unwrap(),
        tenant.clone(),
        ActionId::from_static("rmm.tag_device"),
        &json!({ "device": "101", "tag": "Loaner" }),
        Principal::technician(TECH, &[]),
    )
    .unwrap();
    let report = api
        .pipeline
        .deployment()
        .runs()
        .start(&tenant, NewRun::new("tag-run", "tag a laptop").step(tag))
        .await
        .unwrap();
    assert_eq!(
        report.steps[0].answer.as_deref(),
        Some("executed"),
        "{report:?}"
    );
    let undo = format!("/v1/tenants/{CONTOSO}/runs/tag-run/undo");
    let undone = api
        .post(
            &undo,
            Some(&tech),
            json!({ "reason": "tagged the wrong laptop" }),
        )
        .await;
    assert_eq!(undone.status, StatusCode::OK, "{}", undone.text);
    assert_eq!(
        undone.body["steps"][0]["answer"], "executed",
        "{}",
        undone.text
    );
    let unknown = api
        .post(
            &format!("/v1/tenants/{CONTOSO}/runs/no-such-run/undo"),
            Some(&tech),
            json!({ "reason": "x" }),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // The audit chain verifies.
    for tenant in [CONTOSO, GLOBEX] {
        let verified = api
            .get(&format!("/v1/tenants/{tenant}/audit/verify"), Some(&tech))
            .await;
        assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
        assert_eq!(verified.body["ok"], true, "{}", verified.text);
        assert!(verified.body["events"].as_u64().unwrap() > 0);
    }

    // Health, readiness, and a document that holds every route.
    assert_eq!(api.get("/healthz", None).await.body["status"], "ok");
    assert_eq!(api.get("/readyz", None).await.body["status"], "ready");
    let doc = api.get("/v1/openapi.json", None).await.body;
    for (method, path) in stackhand_api::routes() {
        let operation = &doc["paths"][path][method.to_lowercase()];
        assert!(
            operation.is_object(),
            "{method} {path} is not in the document"
        );
    }
    assert!(doc["paths"]["/callbacks/{tenant}"]["post"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}
