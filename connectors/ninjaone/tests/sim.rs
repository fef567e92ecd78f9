//! End to end against the NinjaOne simulator, seeded from the world: the connector built
//! through the registry from a `stackhand.toml` section (client credentials in the tenant's
//! secrets directory), the built-in `rmm.*` actions and the connector's own `ninjaone.*`
//! actions through an engine, the simulator's end state read back, and every request the
//! connector sent validated against the vendor document.

use std::sync::Arc;

use serde_json::{Value, json};
use stackhand_core::engine::Engine;
use stackhand_core::{
    ActionId, ActionRequest, Connector, ErrorKind, IdempotencyKey, Principal, Receipt, Registry,
    ScriptRun, ScriptState, StepStatus, Submission, TenantId,
};
use stackhand_sim::ninjaone::library::{
    ACTION_RESTART_SPOOLER, CLEAR_PRINT_QUEUE, FLUSH_DNS_CACHE, TEST_APP_CONNECTIVITY,
};
use stackhand_sim::ninjaone::{
    CLIENT_ID, CLIENT_SECRET, NinjaOneSim, RebootMode, Runnable, ScriptOutcome,
};
use stackhand_sim::world::{Device, Person, Tenant, World};
use stackhand_sim::{Faults, SimServer};
use stackhand_testkit::deployment::{SecretsDir, toml_section};
use stackhand_testkit::openapi::{Spec, assert_all_valid};
use stackhand_testkit::writes::{allow_all_engine, through_engine};

/// The most `script_run` reads a run takes: the simulator moves a run one step per read of
/// the activity log, and a run has three steps.
const POLLS: usize = 5;

fn world() -> &'static World {
    World::builtin()
}

/// The world tenant the connector serves, and one of its people.
fn person(tenant: &str, key: &str) -> (&'static Tenant, &'static Person) {
    let tenant = world().tenant(tenant).expect("a world tenant");
    (tenant, tenant.person(key).expect("a world person"))
}

/// The device `person` last signed in to.
fn device_of(tenant: &'static Tenant, person: &'static Person) -> &'static Device {
    tenant.devices_of(&person.key).next().expect("a device")
}

struct Rmm {
    sim: NinjaOneSim,
    server: SimServer,
    connector: Arc<dyn Connector>,
    engine: Engine,
    tenant: &'static Tenant,
}

/// The `[tenants.<key>.connectors.ninjaone]` section a runner would read for `tenant`.
fn stackhand_toml(tenant: &Tenant, server: &SimServer) -> String {
    format!(
        r#"
[tenants.{key}]
name = "{company}"

[tenants.{key}.connectors.ninjaone]
base_url = "{url}"
organization_id = {org}

[tenants.{key}.connectors.ninjaone.auth]
client_id = "{CLIENT_ID}"
client_secret = {{ file = "ninjaone.secret" }}

[tenants.{key}.connectors.ninjaone.http.retry]
max_attempts = 3
min_delay_ms = 1
max_delay_ms = 5
"#,
        key = tenant.key,
        company = tenant.company,
        url = server.url(),
        org = tenant.rmm.id,
    )
}

/// The simulator, and a connector for `tenant` built by the registry.
async fn rmm(tenant: &str, faults: Faults) -> Rmm {
    let tenant = world().tenant(tenant).expect("a world tenant");
    let sim = NinjaOneSim::seeded();
    let server = sim.start(faults).await.expect("the simulator starts");
    let secrets =
        SecretsDir::new(&[&tenant.key]).with(&tenant.key, "ninjaone.secret", CLIENT_SECRET);
    let mut registry = Registry::new();
    stackhand_ninjaone::register(&mut registry);
    let section = toml_section(&stackhand_toml(tenant, &server), &tenant.key, "ninjaone");
    let connector = registry
        .build(&secrets.context(&tenant.key), "ninjaone", section)
        .await
        .expect("the section builds");
    assert!(!format!("{connector:?}").contains(CLIENT_SECRET));
    let engine = allow_all_engine(connector.clone(), &tenant.company);
    Rmm {
        sim,
        server,
        connector,
        engine,
        tenant,
    }
}

impl Rmm {
    fn reads(&self) -> &dyn stackhand_core::Rmm {
        self.connector.rmm().expect("NinjaOne is an RMM")
    }

    fn request(&self, key: &str, action: &'static str, params: Value) -> ActionRequest {
        ActionRequest::new(
            IdempotencyKey::new(key).expect("key"),
            TenantId::new(&self.tenant.key).expect("tenant"),
            ActionId::from_static(action),
            &params,
            Principal::technician("tech@msp.example", &["helpdesk"]),
        )
        .expect("request")
        .with_reason("ticket 4711")
    }

    /// Submit and expect it executed without failing.
    async fn executed(&self, key: &str, action: &'static str, params: Value) -> Box<Receipt> {
        let request = self.request(key, action, params);
        match self.engine.submit(request).await.expect("submitted") {
            Submission::Executed(receipt) => {
                assert_ne!(
                    receipt.outcome.status,
                    StepStatus::Failed,
                    "{action}: {:?}",
                    receipt.failure
                );
                receipt
            }
            other => panic!("{action} was not executed: {other:?}"),
        }
    }

    /// Run `script` on `device` through the engine. `rmm.run_script` follows the run itself
    /// and reports how far it got (`Verified`: succeeded, `Failed`: failed, `Succeeded`: still
    /// running); a run still going then is followed here with `script_run` to its end.
    async fn run_to_end(&self, key: &str, device: i64, script: &str) -> ScriptRun {
        let request = self.request(
            key,
            "rmm.run_script",
            json!({"device": device.to_string(), "script": script, "parameters": "-Force"}),
        );
        let receipt = match self.engine.submit(request).await.expect("submitted") {
            Submission::Executed(receipt) => receipt,
            other => panic!("{script} was not executed: {other:?}"),
        };
        let mut run: ScriptRun =
            serde_json::from_value(receipt.outcome.state_after.clone()).expect("the run");
        let status = match run.state {
            ScriptState::Succeeded => StepStatus::Verified,
            ScriptState::Failed => StepStatus::Failed,
            ScriptState::Running => StepStatus::Succeeded,
        };
        assert_eq!(receipt.outcome.status, status, "{run:?}");
        self.follow(device, run.id.clone(), &mut run).await;
        run
    }

    /// Read `run` (started with id `id`) with `script_run` until it ends; a run that already
    /// ended is read once more, and must read the same.
    async fn follow(&self, device: i64, id: String, run: &mut ScriptRun) {
        for _ in 0..POLLS {
            let read = self
                .reads()
                .script_run(&device.to_string(), &id)
                .await
                .expect("the run is read");
            assert_eq!(read.id, id);
            if run.state != ScriptState::Running {
                assert_eq!(&read, run, "an ended run stays ended");
                return;
            }
            *run = read;
        }
        panic!("run {id} on {device} did not finish in {POLLS} reads");
    }

    /// Every request was a documented one, with the token the simulator issued for the scopes
    /// the connector uses.
    fn assert_documented(&self) {
        let requests = self.server.recorder().requests();
        let token = requests
            .iter()
            .filter(|r| r.path == "/ws/oauth/token")
            .collect::<Vec<_>>();
        assert_eq!(token.len(), 1, "one token, cached");
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&token[0].body)
            .into_owned()
            .collect();
        assert!(form.contains(&("scope".into(), "monitoring management".into())));
        for request in requests.iter().filter(|r| r.path.starts_with("/v2/")) {
            let auth = request.header("authorization").unwrap_or_default();
            assert!(auth.starts_with("Bearer "), "{}", request.describe());
        }
        let spec = Spec::load("ninjaone.yaml")
            .expect("bundled")
            .ignoring("/ws/oauth");
        assert_all_valid(&spec, &requests, "");
    }
}

#[tokio::test]
async fn finds_a_users_device_by_user_name_and_tags_it_keeping_the_others() {
    let (_, margaret) = person("contoso-law", "margaret.holloway");
    let rmm = rmm("contoso-law", Faults::default()).await;
    let laptop = device_of(rmm.tenant, margaret);
    assert!(!laptop.tags.is_empty(), "the world tags her laptop");

    let found = rmm
        .reads()
        .find_devices(margaret.username())
        .await
        .expect("the search answers");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].id, laptop.id.to_string());
    assert_eq!(found[0].name, laptop.name);
    assert_eq!(found[0].tags, laptop.tags);
    let detail = rmm.reads().get_device(&found[0].id).await.expect("read");
    assert_eq!(
        detail.last_user,
        Some(format!(
            "{}\\{}",
            rmm.tenant.rmm.netbios,
            margaret.username()
        ))
    );

    // Another tenant's people are not found from this one.
    let (_, hank) = person("globex", "hank.scorpio");
    assert!(
        rmm.reads()
            .find_devices(hank.username())
            .await
            .unwrap()
            .is_empty()
    );

    // A new tag is made in the account and added; the others stay.
    let receipt = rmm
        .executed(
            "tag-1",
            "rmm.tag_device",
            json!({"device": found[0].id, "tag": "L1-touched"}),
        )
        .await;
    assert_eq!(receipt.outcome.status, StepStatus::Verified);
    let mut want = laptop.tags.clone();
    want.push("L1-touched".into());
    assert_eq!(rmm.sim.tags_of(laptop.id), want);
    assert_eq!(
        rmm.reads().get_device(&found[0].id).await.unwrap().tags,
        want
    );

    // An existing tag of the account is reused, not made twice.
    let existing = world()
        .tenants
        .iter()
        .flat_map(|t| &t.devices)
        .flat_map(|d| &d.tags)
        .find(|t| !laptop.tags.contains(t))
        .expect("a tag another device has");
    let tags_before = rmm.sim.tags().len();
    rmm.executed(
        "tag-2",
        "rmm.tag_device",
        json!({"device": found[0].id, "tag": existing}),
    )
    .await;
    assert_eq!(rmm.sim.tags().len(), tags_before);
    want.push(existing.clone());
    assert_eq!(rmm.sim.tags_of(laptop.id), want);

    // Untagging takes only that tag; undo puts it back.
    let first = laptop.tags[0].clone();
    rmm.executed(
        "untag-1",
        "rmm.untag_device",
        json!({"device": found[0].id, "tag": first}),
    )
    .await;
    want.retain(|t| *t != first);
    assert_eq!(rmm.sim.tags_of(laptop.id), want);
    let undone = rmm
        .engine
        .undo(
            &TenantId::new(&rmm.tenant.key).unwrap(),
            &IdempotencyKey::new("untag-1").unwrap(),
            Principal::technician("tech@msp.example", &["helpdesk"]),
            "undo",
        )
        .await
        .expect("undo submitted");
    assert!(matches!(undone, Submission::Executed(_)), "{undone:?}");
    assert!(rmm.sim.tags_of(laptop.id).contains(&first));
    rmm.assert_documented();
}

#[tokio::test]
async fn runs_a_script_and_follows_it_to_its_result() {
    let (_, priya) = person("contoso-law", "priya.shah");
    let rmm = rmm("contoso-law", Faults::default()).await;
    let laptop = device_of(rmm.tenant, priya);

    let done = rmm
        .run_to_end("run-1", laptop.id, &CLEAR_PRINT_QUEUE.to_string())
        .await;
    assert_eq!(done.state, ScriptState::Succeeded, "{done:?}");
    assert!(
        done.output
            .as_deref()
            .is_some_and(|o| o.contains("Clear print queue")),
        "{done:?}"
    );
    let runs = rmm.sim.script_runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].device_id, laptop.id);
    assert_eq!(runs[0].parameters.as_deref(), Some("-Force"));
    assert_eq!(runs[0].run_as, "system");

    // A script the simulator is told to fail is reported failed, with its message.
    let message = "Script 'Flush DNS cache' failed with exit code 1";
    rmm.sim.set_script_outcome(
        &FLUSH_DNS_CACHE.to_string(),
        ScriptOutcome::failure(message),
    );
    let failed = rmm
        .run_to_end("run-2", laptop.id, &FLUSH_DNS_CACHE.to_string())
        .await;
    assert_eq!(failed.state, ScriptState::Failed);
    assert_eq!(failed.output.as_deref(), Some(message));

    // A built-in action, by uid.
    let action = rmm
        .run_to_end("run-3", laptop.id, ACTION_RESTART_SPOOLER)
        .await;
    assert_eq!(action.state, ScriptState::Succeeded, "{action:?}");
    assert_eq!(rmm.sim.script_runs().len(), 3);

    // Another organisation's device is not this tenant's: nothing runs there.
    let (globex, hank) = person("globex", "hank.scorpio");
    let mac = device_of(globex, hank);
    let err = rmm
        .reads()
        .get_device(&mac.id.to_string())
        .await
        .expect_err("not this tenant's");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let refused = rmm
        .engine
        .submit(rmm.request(
            "run-4",
            "rmm.run_script",
            json!({"device": mac.id.to_string(), "script": CLEAR_PRINT_QUEUE.to_string()}),
        ))
        .await;
    let err = refused.expect_err("planning reads the device first");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(rmm.sim.script_runs().len(), 3);
    rmm.assert_documented();
}

#[tokio::test]
async fn runs_a_script_by_name_and_follows_it_to_what_it_reports() {
    let (_, priya) = person("contoso-law", "priya.shah");
    let rmm = rmm("contoso-law", Faults::default()).await;
    let laptop = device_of(rmm.tenant, priya);
    let diagnostics = laptop
        .diagnostics
        .as_deref()
        .expect("the world says what the connectivity test finds on her laptop");

    // Straight through the connector: the name as a technician types it, then `script_run`
    // until the run ends.
    let connector = rmm.connector.clone();
    let device = laptop.id.to_string();
    let started = through_engine(&TenantId::new(&rmm.tenant.key).unwrap(), move |proof| {
        Box::pin(async move {
            connector
                .rmm_writes()
                .expect("NinjaOne writes")
                .run_script(proof, &device, "  test APP connectivity ", "")
                .await
        })
    })
    .await
    .expect("the name resolves on her laptop");
    assert_eq!(started.state, ScriptState::Running);
    let mut run = started.clone();
    rmm.follow(laptop.id, started.id.clone(), &mut run).await;
    assert_eq!(run.state, ScriptState::Succeeded, "{run:?}");
    assert_eq!(run.output.as_deref(), Some(diagnostics));
    let runs = rmm.sim.script_runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0].runnable,
        Runnable::Script(TEST_APP_CONNECTIVITY),
        "run by its id"
    );
    assert_eq!(runs[0].device_id, laptop.id);

    // Through the engine's `rmm.run_script`, by name, as a workflow step names it.
    let done = rmm
        .run_to_end("by-name-1", laptop.id, "Flush DNS cache")
        .await;
    assert_eq!(done.state, ScriptState::Succeeded, "{done:?}");
    let runs = rmm.sim.script_runs();
    assert_eq!(runs[1].runnable, Runnable::Script(FLUSH_DNS_CACHE));
    assert_eq!(runs[1].parameters.as_deref(), Some("-Force"));
    let action = rmm
        .run_to_end("by-name-2", laptop.id, "restart print spooler service")
        .await;
    assert_eq!(action.state, ScriptState::Succeeded, "{action:?}");
    assert_eq!(
        rmm.sim.script_runs()[2].runnable,
        Runnable::Action(ACTION_RESTART_SPOOLER)
    );

    // A Mac script is not offered to her Windows laptop: refused, naming what it can run.
    let refused = rmm
        .engine
        .submit(rmm.request(
            "by-name-3",
            "rmm.run_script",
            json!({"device": laptop.id.to_string(), "script": "Collect diagnostics"}),
        ))
        .await;
    let Ok(Submission::Executed(receipt)) = refused else {
        panic!("planning only reads the device, so the run fails in execution: {refused:?}");
    };
    assert_eq!(receipt.outcome.status, StepStatus::Failed, "{receipt:?}");
    let failure = receipt.failure.expect("why it failed");
    assert_eq!(failure.kind, ErrorKind::Invalid, "{failure:?}");
    let message = failure.message;
    assert!(
        message.contains(&format!("device {}", laptop.id)),
        "{message}"
    );
    assert!(message.contains("\"Test app connectivity\""), "{message}");
    assert_eq!(rmm.sim.script_runs().len(), 3, "nothing more ran");
    rmm.assert_documented();
}

/// A device of `tenant` with an open alert in the world.
fn alerted(tenant: &'static Tenant) -> &'static Device {
    tenant
        .devices
        .iter()
        .find(|d| !d.alerts.is_empty())
        .expect("a device with alerts")
}

#[tokio::test]
async fn resets_a_world_alert_and_refuses_another_organisations() {
    let rmm = rmm("contoso-law", Faults::default()).await;
    let server = alerted(rmm.tenant);
    let alert = &server.alerts[0];

    let receipt = rmm
        .executed(
            "reset-1",
            "ninjaone.reset_alert",
            json!({"alert": alert.uid}),
        )
        .await;
    assert_eq!(
        receipt.outcome.status,
        StepStatus::Verified,
        "read back gone"
    );
    assert!(
        receipt.plan.summary.contains(&alert.message),
        "{}",
        receipt.plan.summary
    );
    assert_eq!(receipt.plan.state_before["device"], server.name.as_str());
    assert!(rmm.sim.alerts().iter().all(|a| a.uid != alert.uid));
    let reset: Vec<_> = rmm
        .sim
        .activities()
        .into_iter()
        .filter(|a| a.series_uid == alert.uid && a.status_code == "RESET")
        .collect();
    assert_eq!(reset.len(), 1, "one RESET activity");
    assert_eq!(reset[0].device_id, server.id);

    // Globex's alert is another organisation's: not found, and still open.
    let globex = alerted(world().tenant("globex").unwrap());
    let theirs = &globex.alerts[0];
    let err = rmm
        .engine
        .submit(rmm.request(
            "reset-2",
            "ninjaone.reset_alert",
            json!({"alert": theirs.uid}),
        ))
        .await
        .expect_err("not this tenant's alert");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(rmm.sim.alerts().iter().any(|a| a.uid == theirs.uid));
    // Nor is an alert already reset.
    let err = rmm
        .engine
        .submit(rmm.request(
            "reset-3",
            "ninjaone.reset_alert",
            json!({"alert": alert.uid}),
        ))
        .await
        .expect_err("no longer open");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    rmm.assert_documented();
}

#[tokio::test]
async fn reboots_a_world_device_queued_while_offline_and_refuses_another_organisations() {
    let (_, priya) = person("contoso-law", "priya.shah");
    let rmm = rmm("contoso-law", Faults::default()).await;
    let laptop = device_of(rmm.tenant, priya);
    assert!(laptop.online);

    let receipt = rmm
        .executed(
            "reboot-1",
            "ninjaone.reboot_device",
            json!({"device": laptop.id.to_string(), "mode": "FORCED", "reason": "ticket 4711"}),
        )
        .await;
    assert_eq!(receipt.outcome.status, StepStatus::Succeeded);
    assert!(
        receipt.plan.summary.contains(&laptop.name),
        "{}",
        receipt.plan.summary
    );
    let reboots = rmm.sim.reboots();
    assert_eq!(reboots.len(), 1);
    assert_eq!(reboots[0].device_id, laptop.id);
    assert_eq!(reboots[0].mode, RebootMode::Forced);
    assert_eq!(reboots[0].reason.as_deref(), Some("ticket 4711"));

    // An offline device: the plan says the reboot waits for its agent, and so it does.
    let offline = rmm
        .tenant
        .devices
        .iter()
        .find(|d| !d.online)
        .expect("the world has an offline device");
    let receipt = rmm
        .executed(
            "reboot-2",
            "ninjaone.reboot_device",
            json!({"device": offline.id.to_string()}),
        )
        .await;
    assert!(
        receipt.plan.warnings.iter().any(|w| w.contains("offline")),
        "{:?}",
        receipt.plan.warnings
    );
    assert_eq!(receipt.outcome.state_after["queued"], true);
    let queued = rmm.sim.reboots().pop().unwrap();
    assert_eq!(
        (queued.device_id, queued.mode),
        (offline.id, RebootMode::Normal)
    );
    assert!(!queued.done, "waiting for the agent");

    // Globex's device is another organisation's: not found, nothing sent.
    let (globex, hank) = person("globex", "hank.scorpio");
    let mac = device_of(globex, hank);
    let err = rmm
        .engine
        .submit(rmm.request(
            "reboot-3",
            "ninjaone.reboot_device",
            json!({"device": mac.id.to_string()}),
        ))
        .await
        .expect_err("not this tenant's device");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(rmm.sim.reboots().len(), 2);
    rmm.assert_documented();
}

#[tokio::test]
async fn rides_out_injected_throttling_and_reports_health() {
    // Every third request is a 429 in NinjaOne's envelope; the connector retries them.
    let rmm = rmm(
        "globex",
        Faults {
            rate_limit_every: 3,
            retry_after_secs: 0,
            ..Faults::default()
        },
    )
    .await;
    let health = rmm.connector.health().await.expect("health");
    assert!(health.healthy, "{}", health.detail);
    let (_, lenny) = person("globex", "lenny.leonard");
    let workstation = device_of(rmm.tenant, lenny);
    for _ in 0..3 {
        let found = rmm
            .reads()
            .find_devices(lenny.username())
            .await
            .expect("retried past the 429");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, workstation.name);
    }
    // The sim answered some requests 429, so more were sent than the four calls made.
    let sent = rmm
        .server
        .recorder()
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v2/"))
        .count();
    assert!(sent > 4, "{sent}");
    rmm.assert_documented();
}
