//! The NinjaOne simulator over HTTP: OAuth client credentials and scopes, organisations and
//! devices from the world, the search, asset tags, custom fields, script runs through the
//! activity log, reboots, alerts and their reset, errors and throttling. Every request is validated
//! against the spec copy (`crates/testkit/specs/ninjaone.yaml`), and so is every 2xx JSON
//! answer.
#![cfg(feature = "ninjaone")]

use std::collections::BTreeSet;

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use stackhand_sim::ninjaone::library::{
    ACTION_RESTART_SPOOLER, CLEAR_PRINT_QUEUE, CONNECTIVITY_PASSED, FLUSH_DNS_CACHE, LIBRARY,
    MAC_DIAGNOSTICS, Runnable, TEST_APP_CONNECTIVITY,
};
use stackhand_sim::ninjaone::{
    ALL_SCOPES, ActivityResult, ApiClient, CLIENT_ID, CLIENT_SECRET, NinjaOneSim,
    NinjaOneSimConfig, RebootMode, RunStatus, ScriptOutcome,
};
use stackhand_sim::world::{Device, DeviceRole, Tenant, World};
use stackhand_sim::{Faults, SimServer};
use stackhand_testkit::openapi::{Spec, assert_all_valid};

/// The document (with the testkit's corrections: custom field values are the values
/// themselves). The token endpoint is not in it.
fn spec() -> Spec {
    Spec::load("ninjaone.yaml")
        .expect("bundled")
        .ignoring("/ws/oauth")
}

fn world() -> &'static World {
    World::builtin()
}

fn tenant(key: &str) -> &'static Tenant {
    world().tenant(key).expect("a world tenant")
}

/// The device `person` last signed in to.
fn device_of(tenant: &'static Tenant, person: &'static str) -> &'static Device {
    tenant.devices_of(person).next().expect("a device")
}

/// A device of `tenant` with alerts.
fn alerted(tenant: &'static Tenant) -> &'static Device {
    tenant
        .devices
        .iter()
        .find(|d| !d.alerts.is_empty())
        .expect("a device with alerts")
}

struct Ninja {
    sim: NinjaOneSim,
    server: SimServer,
    http: Client,
    token: String,
}

impl Ninja {
    async fn start(sim: NinjaOneSim, faults: Faults) -> Self {
        let server = sim.start(faults).await.expect("sim starts");
        let mut ninja = Self {
            sim,
            server,
            http: Client::new(),
            token: String::new(),
        };
        let (status, body) = ninja
            .token_request(&[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("scope", "monitoring management"),
            ])
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        ninja.token = body["access_token"].as_str().expect("a token").to_string();
        ninja
    }

    async fn seeded() -> Self {
        Self::start(NinjaOneSim::seeded(), Faults::default()).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url("/ws/oauth/token"))
            .form(form)
            .send()
            .await
            .expect("sent");
        let status = response.status();
        (status, response.json().await.expect("JSON"))
    }

    /// Send with `token` (none: no `Authorization`); the status and the JSON body (`Null`
    /// when empty). A 2xx JSON answer is checked against the document.
    async fn send(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method.clone(), self.url(path))
            .header("Accept", "application/json");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("sent");
        let status = response.status();
        let text = response.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON body")
        };
        if status.is_success() && !value.is_null() {
            spec()
                .validate_response(method.as_str(), path, status.as_u16(), &value)
                .unwrap_or_else(|v| panic!("{method} {path}: {v}"));
        }
        (status, value)
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.send(Some(&self.token), method, path, body).await
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// A write that answers `204 No Content`.
    async fn write(&self, method: Method, path: &str, body: Value) {
        let (status, answer) = self.call(method.clone(), path, Some(body)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{method} {path}: {answer}");
        assert!(answer.is_null(), "{answer}");
    }

    /// Every request received is one the document describes.
    fn assert_documented(&self) {
        assert_all_valid(&spec(), &self.server.recorder().requests(), "");
    }
}

/// NinjaOne's error envelope.
#[track_caller]
fn assert_envelope(body: &Value, says: &str) {
    assert_eq!(body["resultCode"], "FAILURE", "{body}");
    let message = body["errorMessage"].as_str().expect("a message");
    assert!(message.contains(says), "{message:?} should say {says:?}");
    assert!(body["incidentId"].as_str().is_some_and(|i| !i.is_empty()));
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|d| d["id"].as_i64().expect("an id"))
        .collect()
}

fn df(filter: &str) -> String {
    url_encode(filter)
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn the_token_endpoint_grants_the_apps_scopes_to_its_credentials() {
    let sim = NinjaOneSim::with_config(
        world(),
        NinjaOneSimConfig {
            clients: vec![
                NinjaOneSimConfig::default().clients.remove(0),
                ApiClient {
                    client_id: "reporting-app".into(),
                    client_secret: "reporting-secret".into(),
                    scopes: vec!["monitoring".into()],
                },
            ],
            ..NinjaOneSimConfig::default()
        },
    );
    assert!(!format!("{sim:?}").contains(CLIENT_SECRET));
    let ninja = Ninja::start(sim, Faults::default()).await;
    let (status, body) = ninja
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("scope", "monitoring management control"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], ALL_SCOPES.join(" "));

    let refusals = [
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", "wrong"),
            ],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "nobody"),
                ("client_secret", CLIENT_SECRET),
            ],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            vec![("grant_type", "password"), ("client_id", CLIENT_ID)],
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "reporting-app"),
                ("client_secret", "reporting-secret"),
                ("scope", "monitoring management"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
    ];
    for (form, status, error) in refusals {
        let (got, body) = ninja.token_request(&form).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(error)),
            "{body}"
        );
        assert!(body["error_description"].is_string());
    }
    let json = ninja
        .http
        .post(ninja.url("/ws/oauth/token"))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(json.status(), StatusCode::BAD_REQUEST);

    // No scope asked: what the app was granted.
    let (status, body) = ninja
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", "reporting-app"),
            ("client_secret", "reporting-secret"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["scope"], "monitoring");
}

#[tokio::test]
async fn reads_need_monitoring_and_writes_management() {
    let ninja = Ninja::seeded().await;
    let server = alerted(tenant("contoso-law"));
    let fields = format!("/v2/device/{}/custom-fields", server.id);

    let (status, body) = ninja.send(None, Method::GET, "/v2/devices", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_envelope(&body, "access token");
    let (status, _) = ninja
        .send(Some("made-up"), Method::GET, "/v2/devices", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let monitoring = ninja.sim.issue_access_token(&["monitoring"]);
    let (status, _) = ninja
        .send(Some(&monitoring), Method::GET, "/v2/tag", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = ninja
        .send(
            Some(&monitoring),
            Method::POST,
            "/v2/tag",
            Some(json!({"name": "L1-touched"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_envelope(&body, "management");
    let (status, _) = ninja
        .send(
            Some(&monitoring),
            Method::PATCH,
            &fields,
            Some(json!({"itTicketRef": "T1"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(ninja.sim.tags().iter().all(|t| t.name != "L1-touched"));
    assert!(
        !ninja
            .sim
            .custom_fields(server.id)
            .contains_key("itTicketRef")
    );

    let management = ninja.sim.issue_access_token(&["management"]);
    let (status, body) = ninja
        .send(Some(&management), Method::GET, "/v2/devices", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_envelope(&body, "monitoring");

    ninja.sim.expire_tokens();
    let (status, body) = ninja.call(Method::GET, "/v2/devices", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_envelope(&body, "expired");
    ninja.assert_documented();
}

#[tokio::test]
async fn organisations_and_devices_are_the_worlds() {
    let ninja = Ninja::seeded().await;
    let orgs = ninja.get("/v2/organizations").await;
    let expected: BTreeSet<(i64, String)> = world()
        .tenants
        .iter()
        .map(|t| (t.rmm.id, t.company.clone()))
        .collect();
    let got: BTreeSet<(i64, String)> = orgs
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["id"].as_i64().unwrap(),
                o["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(got, expected);

    let contoso = tenant("contoso-law");
    let org = contoso.rmm.id;
    let detail = ninja.get(&format!("/v2/organization/{org}")).await;
    assert_eq!(detail["name"], contoso.company.as_str());
    assert_eq!(detail["locations"].as_array().unwrap().len(), 1);

    let want: Vec<i64> = {
        let mut ids: Vec<i64> = contoso.devices.iter().map(|d| d.id).collect();
        ids.sort();
        ids
    };
    let listed = ninja.get(&format!("/v2/organization/{org}/devices")).await;
    assert_eq!(ids(&listed), want);
    let filtered = ninja
        .get(&format!("/v2/devices?df={}", df(&format!("org = {org}"))))
        .await;
    assert_eq!(ids(&filtered), want);

    // Paging on the last id.
    let mut paged: Vec<i64> = Vec::new();
    let mut after = 0;
    loop {
        let page = ninja
            .get(&format!(
                "/v2/devices?df={}&pageSize=3&after={after}",
                df(&format!("org = {org}"))
            ))
            .await;
        let page = ids(&page);
        paged.extend(&page);
        match page.last() {
            Some(last) if page.len() == 3 => after = *last,
            _ => break,
        }
    }
    assert_eq!(paged, want);

    let servers = ninja
        .get(&format!("/v2/devices?df={}", df("class eq WINDOWS_SERVER")))
        .await;
    let world_servers: Vec<i64> = world()
        .tenants
        .iter()
        .flat_map(|t| &t.devices)
        .filter(|d| d.role == DeviceRole::WindowsServer)
        .map(|d| d.id)
        .collect();
    assert_eq!(ids(&servers), world_servers);
    let offline = ninja
        .get(&format!("/v2/devices?df={}", df("offline")))
        .await;
    let world_offline: Vec<i64> = world()
        .tenants
        .iter()
        .flat_map(|t| &t.devices)
        .filter(|d| !d.online)
        .map(|d| d.id)
        .collect();
    assert_eq!(ids(&offline), world_offline);

    // The agent detail: hardware, OS and the last user as the agent reports it.
    let priya = world().person("contoso-law", "priya.shah").unwrap();
    let laptop = device_of(contoso, &priya.key);
    let device = ninja.get(&format!("/v2/device/{}", laptop.id)).await;
    assert_eq!(device["systemName"], laptop.name.as_str());
    assert_eq!(device["organizationId"], org);
    assert_eq!(device["nodeClass"], "WINDOWS_WORKSTATION");
    assert_eq!(device["offline"], !laptop.online);
    assert_eq!(device["system"]["serialNumber"], laptop.serial.as_str());
    assert_eq!(
        device["system"]["manufacturer"],
        laptop.manufacturer.as_str()
    );
    assert_eq!(device["system"]["model"], laptop.model.as_str());
    assert_eq!(device["os"]["name"], laptop.os.as_str());
    let user = format!("{}\\{}", contoso.rmm.netbios, priya.username());
    assert_eq!(device["lastLoggedInUser"], user.as_str());
    assert_eq!(
        device["references"]["organization"]["name"],
        contoso.company.as_str()
    );
    assert!(device["created"].is_f64() && device["lastContact"].is_f64());
    let logon = ninja
        .get(&format!("/v2/device/{}/last-logged-on-user", laptop.id))
        .await;
    assert_eq!(logon["userName"], user.as_str());

    let globex = tenant("globex");
    let detailed = ninja
        .get(&format!(
            "/v2/devices-detailed?df={}",
            df(&format!("org = {}", globex.rmm.id))
        ))
        .await;
    assert_eq!(detailed.as_array().unwrap().len(), globex.devices.len());
    assert!(
        detailed
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["system"]["serialNumber"].is_string())
    );
    ninja.assert_documented();
}

#[tokio::test]
async fn the_search_finds_a_users_device_in_any_organisation() {
    let ninja = Ninja::seeded().await;
    let contoso = tenant("contoso-law");
    let priya = world().person("contoso-law", "priya.shah").unwrap();
    let laptop = device_of(contoso, &priya.key);
    let found = ninja
        .get(&format!(
            "/v2/devices/search?q={}&limit=50",
            priya.username()
        ))
        .await;
    assert_eq!(found["query"], priya.username());
    let devices = found["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1, "{found}");
    assert_eq!(devices[0]["id"], laptop.id);
    assert_eq!(devices[0]["organizationId"], contoso.rmm.id);
    assert_eq!(devices[0]["matchAttr"], "lastLoggedInUser");
    assert_eq!(devices[0]["score"], 100);
    // A search match carries no last logged-in user.
    assert!(devices[0].get("lastLoggedInUser").is_none());

    // The search spans organisations; `limit` caps it.
    let globex = tenant("globex");
    let hank = world().person("globex", "hank.scorpio").unwrap();
    let mac = device_of(globex, &hank.key);
    let found = ninja
        .get(&format!("/v2/devices/search?q={}", url_encode(&mac.name)))
        .await;
    assert_eq!(found["devices"][0]["id"], mac.id);
    assert_eq!(found["devices"][0]["matchAttr"], "systemName");
    let prefix: String = mac.name.chars().take(5).collect();
    let capped = ninja
        .get(&format!("/v2/devices/search?q={prefix}&limit=2"))
        .await;
    assert_eq!(capped["devices"].as_array().unwrap().len(), 2);
    let none = ninja.get("/v2/devices/search?q=no-such-device").await;
    assert_eq!(none["devices"], json!([]));
    ninja.assert_documented();
}

#[tokio::test]
async fn asset_tags_are_added_and_removed_keeping_the_others() {
    let ninja = Ninja::seeded().await;
    let contoso = tenant("contoso-law");
    let margaret = world().person("contoso-law", "margaret.holloway").unwrap();
    let laptop = device_of(contoso, &margaret.key);
    assert!(!laptop.tags.is_empty(), "the world tags her laptop");
    assert_eq!(ninja.sim.tags_of(laptop.id), laptop.tags);

    let listed = ninja.get("/v2/tag").await;
    let names: BTreeSet<&str> = listed["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let world_tags: BTreeSet<&str> = world()
        .tenants
        .iter()
        .flat_map(|t| &t.devices)
        .flat_map(|d| d.tags.iter().map(String::as_str))
        .collect();
    assert_eq!(names, world_tags);
    let first = &laptop.tags[0];
    let existing = listed["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == first.as_str())
        .unwrap()
        .clone();
    let carriers = world()
        .tenants
        .iter()
        .flat_map(|t| &t.devices)
        .filter(|d| d.tags.contains(first))
        .count();
    assert_eq!(existing["targetsCount"], carriers);

    let (status, created) = ninja
        .call(
            Method::POST,
            "/v2/tag",
            Some(json!({"name": "L1-touched", "description": "Touched by L1"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["name"], "L1-touched");
    let new_id = created["id"].as_i64().unwrap();
    let (status, body) = ninja
        .call(Method::POST, "/v2/tag", Some(json!({"name": "l1-TOUCHED"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_envelope(&body, "already exists");

    // Add keeps the others, and the device shows the names.
    ninja
        .write(
            Method::POST,
            "/v2/tag/device",
            json!({"assetIds": [laptop.id], "tagIdsToAdd": [new_id], "tagIdsToRemove": []}),
        )
        .await;
    let mut want = laptop.tags.clone();
    want.push("L1-touched".into());
    assert_eq!(ninja.sim.tags_of(laptop.id), want);
    let device = ninja.get(&format!("/v2/device/{}", laptop.id)).await;
    assert_eq!(device["tags"], json!(want));
    // Twice is harmless.
    ninja
        .write(
            Method::POST,
            "/v2/tag/device",
            json!({"assetIds": [laptop.id], "tagIdsToAdd": [new_id]}),
        )
        .await;
    assert_eq!(ninja.sim.tags_of(laptop.id), want);

    // Remove takes only that tag.
    ninja
        .write(
            Method::POST,
            "/v2/tag/device",
            json!({"assetIds": [laptop.id], "tagIdsToAdd": [], "tagIdsToRemove": [existing["id"]]}),
        )
        .await;
    want.retain(|t| t != first);
    assert_eq!(ninja.sim.tags_of(laptop.id), want);

    // PUT replaces them all.
    ninja
        .write(
            Method::PUT,
            &format!("/v2/tag/device/{}", laptop.id),
            json!({"tagIds": [existing["id"]]}),
        )
        .await;
    assert_eq!(ninja.sim.tags_of(laptop.id), vec![first.clone()]);

    let (status, body) = ninja
        .call(
            Method::POST,
            "/v2/tag/device",
            Some(json!({"assetIds": [laptop.id], "tagIdsToAdd": [9999]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_envelope(&body, "Tag 9999");
    ninja.assert_documented();
}

#[tokio::test]
async fn custom_fields_are_read_and_written_by_name() {
    let ninja = Ninja::seeded().await;
    let server = alerted(tenant("contoso-law"));
    assert!(
        !server.fields.is_empty(),
        "the world gives the server fields"
    );
    let path = format!("/v2/device/{}/custom-fields", server.id);
    let read = ninja.get(&path).await;
    assert_eq!(read, json!(server.fields));

    ninja
        .write(
            Method::PATCH,
            &path,
            json!({"itTicketRef": "T20250301.0042", "lastL1Action": "Password reset"}),
        )
        .await;
    let read = ninja.get(&path).await;
    assert_eq!(read["itTicketRef"], "T20250301.0042");
    assert_eq!(read["lastL1Action"], "Password reset");
    for (name, value) in &server.fields {
        assert_eq!(&read[name], value, "{name} kept");
    }

    // A field the account does not define, or one the API may not write: nothing is written.
    for (body, says) in [
        (
            json!({"itTicketRef": "T2", "noSuchField": "x"}),
            "does not exist",
        ),
        (
            json!({"itTicketRef": "T2", "patchRing": "Broad"}),
            "not writable",
        ),
    ] {
        let (status, answer) = ninja.call(Method::PATCH, &path, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_envelope(&answer, says);
    }
    assert_eq!(
        ninja.sim.custom_fields(server.id)["itTicketRef"],
        "T20250301.0042"
    );

    // `null` clears a field.
    ninja
        .write(Method::PATCH, &path, json!({"itTicketRef": null}))
        .await;
    assert!(
        !ninja
            .sim
            .custom_fields(server.id)
            .contains_key("itTicketRef")
    );
    ninja.assert_documented();
}

/// The activities of the organisation newer than `after`, newest first, as the connector asks.
async fn activities_after(ninja: &Ninja, org: i64, after: i64) -> Value {
    ninja
        .get(&format!(
            "/v2/activities?class=DEVICE&df={}&pageSize=100&newerThan={after}",
            df(&format!("org = {org}"))
        ))
        .await
}

/// (statusCode, activityResult) of the activities of one run.
fn steps(activities: &Value, device: i64) -> Vec<(String, Option<String>)> {
    activities["activities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["deviceId"] == device && a["activityType"] == "ACTION")
        .map(|a| {
            (
                a["statusCode"].as_str().unwrap().to_string(),
                a["activityResult"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn step(code: &str, result: Option<&str>) -> (String, Option<String>) {
    (code.to_string(), result.map(str::to_string))
}

#[tokio::test]
async fn a_script_run_moves_through_its_states_to_its_result() {
    let ninja = Ninja::seeded().await;
    let contoso = tenant("contoso-law");
    let org = contoso.rmm.id;
    let priya = world().person("contoso-law", "priya.shah").unwrap();
    let laptop = device_of(contoso, &priya.key);

    let before = activities_after(&ninja, org, 0).await;
    let baseline = before["lastActivityId"]
        .as_i64()
        .expect("the account has history");
    ninja
        .write(
            Method::POST,
            &format!("/v2/device/{}/script/run", laptop.id),
            json!({"type": "SCRIPT", "id": CLEAR_PRINT_QUEUE, "parameters": "-Force",
                   "runAs": "system"}),
        )
        .await;
    let runs = ninja.sim.script_runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::StartRequested);
    assert_eq!(runs[0].parameters.as_deref(), Some("-Force"));

    // One step per read of the log; each step is a new activity of the run's series.
    let first = activities_after(&ninja, org, baseline).await;
    assert_eq!(
        steps(&first, laptop.id),
        [step("STARTED", None), step("START_REQUESTED", None)]
    );
    let second = activities_after(&ninja, org, baseline).await;
    assert_eq!(
        steps(&second, laptop.id),
        [
            step("COMPLETED", Some("SUCCESS")),
            step("STARTED", None),
            step("START_REQUESTED", None)
        ]
    );
    let done = &second["activities"][0];
    let name = LIBRARY
        .iter()
        .find(|e| e.runnable == Runnable::Script(CLEAR_PRINT_QUEUE))
        .unwrap()
        .name;
    assert_eq!(done["sourceName"], name);
    assert_eq!(done["seriesUid"], runs[0].series_uid.as_str());
    assert!(done["id"].as_i64().unwrap() > baseline);
    let third = activities_after(&ninja, org, baseline).await;
    assert_eq!(
        steps(&third, laptop.id).len(),
        3,
        "a finished run stays finished"
    );

    // A script set to fail fails with its message; a built-in action runs by uid.
    ninja.sim.set_script_outcome(
        &FLUSH_DNS_CACHE.to_string(),
        ScriptOutcome::failure("Script 'Flush DNS cache' failed with exit code 1"),
    );
    let mark = third["lastActivityId"].as_i64().unwrap();
    ninja
        .write(
            Method::POST,
            &format!("/v2/device/{}/script/run", laptop.id),
            json!({"type": "SCRIPT", "id": FLUSH_DNS_CACHE, "runAs": "loggedonuser"}),
        )
        .await;
    activities_after(&ninja, org, mark).await;
    let failed = activities_after(&ninja, org, mark).await;
    assert_eq!(failed["activities"][0]["activityResult"], "FAILURE");
    assert_eq!(
        failed["activities"][0]["message"],
        "Script 'Flush DNS cache' failed with exit code 1"
    );
    ninja
        .write(
            Method::POST,
            &format!("/v2/device/{}/script/run", laptop.id),
            json!({"type": "ACTION", "uid": ACTION_RESTART_SPOOLER, "runAs": "system"}),
        )
        .await;
    activities_after(&ninja, org, mark).await;
    activities_after(&ninja, org, mark).await;
    assert!(matches!(
        ninja.sim.script_runs().last().unwrap().status,
        RunStatus::Completed(ActivityResult::Success)
    ));

    // A Windows script on a Mac is unsupported.
    let globex = tenant("globex");
    let hank = world().person("globex", "hank.scorpio").unwrap();
    let mac = device_of(globex, &hank.key);
    let options = ninja
        .get(&format!("/v2/device/{}/scripting/options", mac.id))
        .await;
    let offered: Vec<i64> = options["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_i64())
        .collect();
    assert_eq!(offered, [MAC_DIAGNOSTICS]);
    assert_eq!(
        options["credentials"]["roles"],
        json!(["system", "loggedonuser"])
    );
    let mark = activities_after(&ninja, globex.rmm.id, 0).await["lastActivityId"]
        .as_i64()
        .unwrap();
    ninja
        .write(
            Method::POST,
            &format!("/v2/device/{}/script/run", mac.id),
            json!({"type": "SCRIPT", "id": CLEAR_PRINT_QUEUE, "runAs": "system"}),
        )
        .await;
    activities_after(&ninja, globex.rmm.id, mark).await;
    let unsupported = activities_after(&ninja, globex.rmm.id, mark).await;
    assert_eq!(
        unsupported["activities"][0]["activityResult"],
        "UNSUPPORTED"
    );

    // An offline device's run waits until the agent is back.
    let offline = contoso.devices.iter().find(|d| !d.online).unwrap();
    ninja
        .write(
            Method::POST,
            &format!("/v2/device/{}/script/run", offline.id),
            json!({"type": "SCRIPT", "id": CLEAR_PRINT_QUEUE}),
        )
        .await;
    for _ in 0..3 {
        activities_after(&ninja, org, 0).await;
    }
    assert_eq!(
        ninja.sim.script_runs().last().unwrap().status,
        RunStatus::StartRequested
    );
    assert!(ninja.sim.set_online(offline.id, true));
    activities_after(&ninja, org, 0).await;
    activities_after(&ninja, org, 0).await;
    assert!(matches!(
        ninja.sim.script_runs().last().unwrap().status,
        RunStatus::Completed(_)
    ));

    // The library, and what is refused.
    let scripts = ninja.get("/v2/automation/scripts").await;
    assert!(ids(&scripts).contains(&CLEAR_PRINT_QUEUE));
    for (body, says) in [
        (json!({"type": "SCRIPT", "id": 999}), "Script 999"),
        (json!({"type": "SCRIPT"}), "id is required"),
        (
            json!({"type": "ACTION", "uid": "00000000-0000-4000-8000-000000000000"}),
            "Action",
        ),
        (
            json!({"type": "SCRIPT", "id": CLEAR_PRINT_QUEUE, "runAs": "administrator"}),
            "credential",
        ),
    ] {
        let (status, answer) = ninja
            .call(
                Method::POST,
                &format!("/v2/device/{}/script/run", laptop.id),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_envelope(&answer, says);
    }
    let (status, answer) = ninja
        .call(
            Method::POST,
            "/v2/device/999999/script/run",
            Some(json!({"type": "SCRIPT", "id": CLEAR_PRINT_QUEUE})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_envelope(&answer, "999999");
    ninja.assert_documented();
}

/// Run `script` on `device` and read the log until it completes; its completed activity.
async fn run_to_completion(ninja: &Ninja, org: i64, device: i64, script: i64) -> Value {
    let mark = activities_after(ninja, org, 0).await["lastActivityId"]
        .as_i64()
        .unwrap();
    ninja
        .write(
            Method::POST,
            &format!("/v2/device/{device}/script/run"),
            json!({"type": "SCRIPT", "id": script, "runAs": "system"}),
        )
        .await;
    for _ in 0..3 {
        let log = activities_after(ninja, org, mark).await;
        let done = log["activities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["deviceId"] == device && a["statusCode"] == "COMPLETED");
        if let Some(done) = done {
            return done.clone();
        }
    }
    panic!("script {script} on {device} did not complete");
}

#[tokio::test]
async fn test_app_connectivity_reports_the_world_devices_diagnostics() {
    let ninja = Ninja::seeded().await;
    let contoso = tenant("contoso-law");
    let org = contoso.rmm.id;
    let laptop = device_of(contoso, "priya.shah");
    assert_eq!(laptop.name, "CLAW-LT-004");
    let diagnostics = laptop
        .diagnostics
        .as_deref()
        .expect("the world says what is wrong on Priya's laptop");
    assert!(
        diagnostics.contains("stale DNS cache entry"),
        "{diagnostics}"
    );
    assert_eq!(
        ninja.sim.device(laptop.id).unwrap().diagnostics.as_deref(),
        Some(diagnostics)
    );

    // Offered to Windows devices by name, in the Maintenance category.
    let options = ninja
        .get(&format!("/v2/device/{}/scripting/options", laptop.id))
        .await;
    let offered = options["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == TEST_APP_CONNECTIVITY)
        .expect("offered");
    assert_eq!(offered["type"], "SCRIPT");
    assert_eq!(offered["name"], "Test app connectivity");
    assert_eq!(offered["language"], "PowerShell");
    assert_eq!(offered["categoryId"], 1);
    assert_eq!(
        offered["description"],
        "Resolves and connects to the line-of-business app and reports what it finds; \
         changes nothing."
    );

    // The completed run's message is what the world says the device would report.
    let done = run_to_completion(&ninja, org, laptop.id, TEST_APP_CONNECTIVITY).await;
    assert_eq!(done["activityResult"], "SUCCESS");
    assert_eq!(done["sourceName"], "Test app connectivity");
    assert_eq!(done["message"], diagnostics);

    // A device the world gives no diagnostics passes every check.
    let daniel = device_of(contoso, "daniel.reyes");
    assert!(daniel.diagnostics.is_none());
    let done = run_to_completion(&ninja, org, daniel.id, TEST_APP_CONNECTIVITY).await;
    assert_eq!(done["activityResult"], "SUCCESS");
    assert_eq!(done["message"], CONNECTIVITY_PASSED);

    // An outcome a test sets still wins over the world's.
    ninja.sim.set_script_outcome(
        &TEST_APP_CONNECTIVITY.to_string(),
        ScriptOutcome::failure("Script 'Test app connectivity' failed with exit code 1"),
    );
    let done = run_to_completion(&ninja, org, laptop.id, TEST_APP_CONNECTIVITY).await;
    assert_eq!(done["activityResult"], "FAILURE");
    assert_eq!(
        done["message"],
        "Script 'Test app connectivity' failed with exit code 1"
    );

    // The start and progress messages stay NinjaOne's own.
    let log = ninja.sim.activities();
    let steps: Vec<&str> = log
        .iter()
        .filter(|a| a.device_id == laptop.id && a.status_code != "COMPLETED")
        .filter(|a| a.source_name == "Test app connectivity")
        .map(|a| a.message.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        steps,
        [
            "Script 'Test app connectivity' start requested",
            "Script 'Test app connectivity' started"
        ]
    );
    ninja.assert_documented();
}

#[tokio::test]
async fn alerts_are_listed_and_reset() {
    let ninja = Ninja::seeded().await;
    let world_alerts: BTreeSet<String> = world()
        .tenants
        .iter()
        .flat_map(|t| &t.devices)
        .flat_map(|d| d.alerts.iter().map(|a| a.uid.clone()))
        .collect();
    let all = ninja.get("/v2/alerts").await;
    let uids: BTreeSet<String> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["uid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(uids, world_alerts);

    let contoso = tenant("contoso-law");
    let server = alerted(contoso);
    let alert = &server.alerts[0];
    let mine = ninja
        .get(&format!(
            "/v2/alerts?df={}",
            df(&format!("org = {}", contoso.rmm.id))
        ))
        .await;
    let mine = mine.as_array().unwrap();
    assert!(
        mine.iter()
            .all(|a| a["device"]["organizationId"] == contoso.rmm.id)
    );
    let listed = mine
        .iter()
        .find(|a| a["uid"] == alert.uid.as_str())
        .unwrap();
    assert_eq!(listed["deviceId"], server.id);
    assert_eq!(listed["message"], alert.message.as_str());
    assert_eq!(listed["severity"], alert.severity.as_str());
    assert_eq!(listed["device"]["systemName"], server.name.as_str());
    let source = listed["sourceType"].as_str().expect("a condition kind");
    let by_source = ninja.get(&format!("/v2/alerts?sourceType={source}")).await;
    assert!(
        by_source
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["sourceType"] == source)
    );
    let on_device = ninja.get(&format!("/v2/device/{}/alerts", server.id)).await;
    assert_eq!(on_device.as_array().unwrap().len(), server.alerts.len());

    ninja
        .write(
            Method::POST,
            &format!("/v2/alert/{}/reset", alert.uid),
            json!({"ticket": "T20250301.0042"}),
        )
        .await;
    assert!(ninja.sim.alerts().iter().all(|a| a.uid != alert.uid));
    let left = ninja.get(&format!("/v2/device/{}/alerts", server.id)).await;
    assert_eq!(left.as_array().unwrap().len(), server.alerts.len() - 1);
    // The condition's series: triggered, then reset with the data given.
    let series = ninja
        .get(&format!("/v2/activities?seriesUid={}", alert.uid))
        .await;
    let codes: Vec<&str> = series["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["statusCode"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["RESET", "TRIGGERED"]);
    assert_eq!(series["activities"][0]["data"]["ticket"], "T20250301.0042");

    let (status, body) = ninja
        .call(
            Method::POST,
            &format!("/v2/alert/{}/reset", alert.uid),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_envelope(&body, &alert.uid);
    ninja.assert_documented();
}

/// (type, statusCode) of the activities of a device's reboots, newest first.
fn reboot_steps(activities: &Value, device: i64) -> Vec<(String, String)> {
    activities["activities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            a["deviceId"] == device && a["sourceName"].as_str().unwrap().starts_with("Reboot")
        })
        .map(|a| {
            (
                a["activityType"].as_str().unwrap().to_string(),
                a["statusCode"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_reboot_is_queued_for_the_agent_and_logged() {
    let ninja = Ninja::seeded().await;
    let contoso = tenant("contoso-law");
    let org = contoso.rmm.id;
    let priya = world().person("contoso-law", "priya.shah").unwrap();
    let laptop = device_of(contoso, &priya.key);
    assert!(laptop.online, "the world has her laptop online");
    let path = format!("/v2/device/{}/reboot/NORMAL", laptop.id);

    // A write: `monitoring` alone may not reboot.
    let monitoring = ninja.sim.issue_access_token(&["monitoring"]);
    let (status, body) = ninja
        .send(Some(&monitoring), Method::POST, &path, None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_envelope(&body, "management");
    assert!(ninja.sim.reboots().is_empty());

    let baseline = activities_after(&ninja, org, 0).await["lastActivityId"]
        .as_i64()
        .unwrap();
    ninja
        .write(
            Method::POST,
            &path,
            json!({"reason": "Ticket T20250301.0042"}),
        )
        .await;
    let reboots = ninja.sim.reboots();
    assert_eq!(reboots.len(), 1);
    assert_eq!(reboots[0].device_id, laptop.id);
    assert_eq!(reboots[0].mode, RebootMode::Normal);
    assert_eq!(reboots[0].reason.as_deref(), Some("Ticket T20250301.0042"));
    assert!(!reboots[0].done, "queued until the agent picks it up");
    // The next read of the log finds the online device rebooted; the request carries the
    // reason.
    let log = activities_after(&ninja, org, baseline).await;
    assert_eq!(
        reboot_steps(&log, laptop.id),
        [
            ("SYSTEM".to_string(), "SYSTEM_REBOOTED".to_string()),
            ("ACTION".to_string(), "START_REQUESTED".to_string())
        ]
    );
    let requested = log["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["statusCode"] == "START_REQUESTED" && a["deviceId"] == laptop.id)
        .unwrap();
    assert_eq!(requested["data"]["reason"], "Ticket T20250301.0042");
    assert_eq!(requested["seriesUid"], reboots[0].series_uid.as_str());
    assert!(ninja.sim.reboots()[0].done);

    // FORCED, with no body at all.
    let (status, body) = ninja
        .call(
            Method::POST,
            &format!("/v2/device/{}/reboot/FORCED", laptop.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let forced = ninja.sim.reboots().pop().unwrap();
    assert_eq!((forced.mode, forced.reason), (RebootMode::Forced, None));

    // An offline device's reboot waits for its agent.
    let offline = contoso.devices.iter().find(|d| !d.online).unwrap();
    ninja
        .write(
            Method::POST,
            &format!("/v2/device/{}/reboot/NORMAL", offline.id),
            json!({}),
        )
        .await;
    for _ in 0..3 {
        activities_after(&ninja, org, 0).await;
    }
    assert!(!ninja.sim.reboots().last().unwrap().done);
    assert!(ninja.sim.set_online(offline.id, true));
    activities_after(&ninja, org, 0).await;
    assert!(ninja.sim.reboots().last().unwrap().done);

    // What is refused, in NinjaOne's envelope; nothing is queued.
    let count = ninja.sim.reboots().len();
    for (path, body, status, says) in [
        (
            format!("/v2/device/{}/reboot/SOFT", laptop.id),
            None,
            StatusCode::BAD_REQUEST,
            "reboot mode",
        ),
        (
            format!("/v2/device/{}/reboot/normal", laptop.id),
            None,
            StatusCode::BAD_REQUEST,
            "reboot mode",
        ),
        (
            format!("/v2/device/{}/reboot/NORMAL", laptop.id),
            Some(json!({"reason": 42})),
            StatusCode::BAD_REQUEST,
            "body",
        ),
        (
            "/v2/device/999999/reboot/NORMAL".to_string(),
            None,
            StatusCode::NOT_FOUND,
            "999999",
        ),
    ] {
        let (got, answer) = ninja.call(Method::POST, &path, body).await;
        assert_eq!(got, status, "{path}: {answer}");
        assert_envelope(&answer, says);
    }
    assert_eq!(ninja.sim.reboots().len(), count);
    // The document refuses the same bad modes and body; the rest of the requests are its.
    let spec = spec();
    let refused: Vec<String> = ninja
        .server
        .recorder()
        .requests()
        .iter()
        .filter(|r| spec.validate_request(r).is_err())
        .map(|r| r.describe())
        .collect();
    assert_eq!(
        refused,
        [
            format!("POST /v2/device/{}/reboot/SOFT", laptop.id),
            format!("POST /v2/device/{}/reboot/normal", laptop.id),
            format!("POST /v2/device/{}/reboot/NORMAL", laptop.id),
        ]
    );
}

/// Requests the simulator refuses are answered in the envelope; those the document forbids (a
/// bad id, an unknown path, method or asset type, a long tag name) the check against it refuses
/// too. (It checks parameters' types and enums, not their bounds, so `pageSize=5` passes it.)
#[tokio::test]
async fn errors_are_in_ninjaones_envelope() {
    let ninja = Ninja::seeded().await;
    let cases = [
        (
            Method::GET,
            "/v2/device/999999",
            StatusCode::NOT_FOUND,
            "999999",
        ),
        (
            Method::GET,
            "/v2/device/abc",
            StatusCode::BAD_REQUEST,
            "abc",
        ),
        (
            Method::GET,
            "/v2/organization/77",
            StatusCode::NOT_FOUND,
            "77",
        ),
        (
            Method::GET,
            "/v2/nothing",
            StatusCode::NOT_FOUND,
            "/v2/nothing",
        ),
        (
            Method::DELETE,
            "/v2/tag",
            StatusCode::METHOD_NOT_ALLOWED,
            "method",
        ),
        (
            Method::GET,
            "/v2/activities?pageSize=5",
            StatusCode::BAD_REQUEST,
            "pageSize",
        ),
        (
            Method::GET,
            "/v2/devices?df=organisation%20%3D%201",
            StatusCode::BAD_REQUEST,
            "device filter",
        ),
        (
            Method::GET,
            "/v2/activities?user=amorgan",
            StatusCode::BAD_REQUEST,
            "user",
        ),
    ];
    for (method, path, status, says) in cases {
        let (got, body) = ninja.call(method.clone(), path, None).await;
        assert_eq!(got, status, "{method} {path}: {body}");
        assert_envelope(&body, says);
    }
    let (status, body) = ninja
        .call(
            Method::PUT,
            "/v2/tag/organization/1",
            Some(json!({"tagIds": []})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_envelope(&body, "asset type");

    let (status, body) = ninja
        .call(
            Method::POST,
            "/v2/tag",
            Some(json!({"name": "x".repeat(41)})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_envelope(&body, "1 to 40 characters");

    let spec = spec();
    let refused: Vec<String> = ninja
        .server
        .recorder()
        .requests()
        .iter()
        .filter(|r| spec.validate_request(r).is_err())
        .map(|r| r.describe())
        .collect();
    assert_eq!(
        refused,
        [
            "GET /v2/device/abc",
            "GET /v2/nothing",
            "DELETE /v2/tag",
            "PUT /v2/tag/organization/1",
            "POST /v2/tag",
        ]
    );
}

#[tokio::test]
async fn injected_throttling_answers_in_the_envelope() {
    let ninja = Ninja::start(
        NinjaOneSim::seeded(),
        Faults {
            rate_limit_every: 3,
            retry_after_secs: 7,
            ..Faults::default()
        },
    )
    .await;
    // The token request was the first; the third request is throttled.
    let (status, _) = ninja.call(Method::GET, "/v2/organizations", None).await;
    assert_eq!(status, StatusCode::OK);
    let response = ninja
        .http
        .get(ninja.url("/v2/organizations"))
        .bearer_auth(&ninja.token)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "7");
    let body: Value = response.json().await.expect("JSON");
    assert_envelope(&body, "Too many requests");
    ninja.assert_documented();
}
