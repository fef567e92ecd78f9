//! The ticket pipeline against the simulators of one world: the open tickets of Contoso Law
//! (Microsoft 365 + ConnectWise) and Globex (Okta + Autotask) are polled, triaged, run through
//! the built-in workflows under the policy, and documented and closed or routed to a person;
//! the end state is checked in the identity providers and the PSAs.

use std::path::Path;

use stackhand_core::{Principal, TenantId, Ticket};
use stackhand_runner::{
    Intake, LoadedConfig, Pipeline, Resolution, TicketOutcome, append_local_store, default_registry,
};
use stackhand_sim::Faults;
use stackhand_sim::deployment::SimulatedWorld;
use stackhand_sim::world::World;

const POLICY: &str = r#"
[scope]
global = true

[[rules]]
id = "users-unlock-themselves"
actions = ["identity.unlock"]
effect = "allow"
[rules.when]
requester_kinds = ["end_user"]
self_service = true

[[rules]]
id = "technicians-approve-self-service-resets"
actions = ["identity.reset_password", "identity.reset_mfa"]
effect = "approve"
approvers = [{ role = "msp.tech" }]
[rules.when]
requester_kinds = ["end_user"]
self_service = true

[[rules]]
id = "users-join-groups"
actions = ["identity.add_to_group"]
effect = "allow"
[rules.when]
requester_kinds = ["end_user"]
self_service = true
operation = "execute"

[[rules]]
id = "technicians-undo-group-changes"
actions = ["identity.add_to_group"]
effect = "allow"
[rules.when]
requester_kinds = ["technician"]
operation = "undo"

[[rules]]
id = "stackhand-keeps-tickets"
actions = ["psa.add_note", "psa.close", "psa.reassign", "messaging.send"]
effect = "allow"
[rules.when]
requester_kinds = ["agent"]
"#;

/// A technician of the world's MSP (`[[staff]]` written by the simulated deployment).
const TECH: &str = "bkhan@northwind-msp.example";

async fn pipeline(dir: &Path, sims: &SimulatedWorld) -> (Pipeline, Intake) {
    pipeline_with(dir, sims, |text| text).await
}

/// The pipeline of the simulated deployment, its stackhand.toml edited by `edit` first.
async fn pipeline_with(
    dir: &Path,
    sims: &SimulatedWorld,
    edit: impl FnOnce(String) -> String,
) -> (Pipeline, Intake) {
    std::fs::write(dir.join("policy.toml"), POLICY).unwrap();
    let config = sims.write_deployment(dir, "policy.toml").unwrap();
    let text = edit(std::fs::read_to_string(&config).unwrap());
    std::fs::write(&config, text).unwrap();
    append_local_store(&config).unwrap();
    let loaded = LoadedConfig::load(&config).unwrap();
    let registry = default_registry();
    let pipeline = Pipeline::open(&loaded, &registry).await.unwrap();
    let intake = Intake::new(pipeline.clone(), "test", std::time::Duration::from_secs(60));
    (pipeline, intake)
}

fn find<'a>(outcomes: &'a [TicketOutcome], subject: &str) -> &'a TicketOutcome {
    outcomes
        .iter()
        .find(|o| o.subject == subject)
        .unwrap_or_else(|| panic!("no outcome for {subject:?}"))
}

fn contoso() -> TenantId {
    TenantId::new("contoso-law").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_tickets_are_resolved_waiting_or_routed_with_their_end_state() {
    let sims = SimulatedWorld::start(World::builtin(), Faults::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, intake) = pipeline(dir.path(), &sims).await;
    let (polled, outcomes) = intake.once().await.unwrap();
    assert!(polled.iter().all(|p| p.error.is_none()), "{polled:?}");
    let total: usize = polled.iter().map(|p| p.queued).sum();
    assert_eq!(outcomes.len(), total, "every queued ticket was processed");
    let (cw, at, okta) = (&sims.connectwise.0, &sims.autotask.0, &sims.okta.0);

    // Globex, Okta + Autotask: a locked-out user is unlocked and the ticket closed.
    let locked = find(&outcomes, "Can't log in - account locked");
    assert_eq!(locked.resolution, Resolution::Resolved, "{locked:#?}");
    let frank = okta.user("frank.grimes@globex.example").unwrap();
    assert_eq!(
        format!("{:?}", frank.status),
        "Active",
        "{:?}",
        frank.status
    );
    let ticket = at.ticket(locked.ticket.parse().unwrap()).unwrap();
    assert_eq!(ticket.status, "Complete", "{ticket:?}");
    let notes = at.notes(ticket.id);
    assert!(
        notes
            .iter()
            .any(|n| n.description.contains("stackhand resolved this ticket"))
    );

    // Contoso, Entra + ConnectWise: a synced user cannot be unlocked in the cloud, so the
    // ticket goes to the MSP's lead with a note saying why.
    let synced = find(&outcomes, "Locked out of my account");
    assert_eq!(synced.resolution, Resolution::Routed, "{synced:#?}");
    assert!(synced.why.contains("on-premises"), "{}", synced.why);
    let view = cw.ticket(synced.ticket.parse().unwrap()).unwrap();
    assert_eq!(view.owner.as_deref(), Some("amorgan"), "{view:?}");
    let cw_notes = |id: &str| cw.notes(id.parse().unwrap());
    assert!(
        cw_notes(&synced.ticket)
            .iter()
            .any(|n| n.internal_analysis && n.text.contains("hands it to a person"))
    );

    // Not a routine request: routed, nothing run.
    let printer = find(&outcomes, "Printer on 2nd floor keeps jamming");
    assert_eq!(printer.resolution, Resolution::Routed);
    assert!(printer.run.is_none());

    // A self-service password reset waits for a technician; approved, it runs and the ticket
    // is documented and closed.
    let reset = find(&outcomes, "Password reset - Daniel Reyes");
    assert_eq!(reset.resolution, Resolution::WaitingApproval, "{reset:#?}");
    let waiting = pipeline
        .deployment()
        .engine()
        .pending_approvals(&contoso())
        .await
        .unwrap();
    let approval = waiting
        .iter()
        .find(|a| a.request.action.as_str() == "identity.reset_password")
        .expect("the reset waits for approval");
    let approved = pipeline
        .deployment()
        .engine()
        .approve(approval.id, &Principal::technician(TECH, &[]))
        .await
        .unwrap();
    assert_eq!(approved.label(), "executed");
    let ticket: Ticket = pipeline
        .deployment()
        .engine()
        .connectors(&contoso())
        .unwrap()
        .psa()
        .unwrap()
        .get_ticket(&reset.ticket)
        .await
        .unwrap();
    let done = pipeline.process(&contoso(), &ticket).await.unwrap();
    assert_eq!(done.resolution, Resolution::Resolved, "{done:#?}");
    let view = cw.ticket(reset.ticket.parse().unwrap()).unwrap();
    assert!(view.ticket.closed_flag, "{view:?}");
    // Contoso tells its users by mail, from its front desk.
    let mail = sims.m365.0.sent_mail();
    let told = mail
        .iter()
        .find(|m| m.subject == "Re: Password reset - Daniel Reyes")
        .expect("Daniel was told");
    assert_eq!(told.to, ["dreyes@contosolaw.com"]);
    assert!(told.from.starts_with("reception@"), "{}", told.from);
    assert!(told.body.contains("password"), "{}", told.body);

    // A second pass finds nothing new and writes no second note anywhere.
    let notes_before = cw_notes(&synced.ticket).len();
    let (polled, again) = intake.once().await.unwrap();
    assert!(polled.iter().all(|p| p.queued == 0), "{polled:?}");
    assert!(again.is_empty());
    assert_eq!(cw_notes(&synced.ticket).len(), notes_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_runs_for_a_lookalike_address_or_for_someone_else() {
    let sims = SimulatedWorld::start(World::builtin(), Faults::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, _) = pipeline(dir.path(), &sims).await;
    let psa = pipeline
        .deployment()
        .engine()
        .connectors(&contoso())
        .unwrap();
    let psa = psa.psa().unwrap();
    let open = psa.poll_tickets(&Default::default()).await.unwrap();
    let original = open
        .iter()
        .find(|t| t.subject == "Locked out of my account")
        .unwrap();
    let before = sims.m365.1.recorder().requests().len();

    // The same words from a lookalike domain: not a directory user, nothing runs.
    let mut lookalike = original.clone();
    if let Some(contact) = &mut lookalike.contact {
        contact.email = Some("tbecker@contoso1aw.com".into());
    }
    let outcome = pipeline.process(&contoso(), &lookalike).await.unwrap();
    assert_eq!(outcome.resolution, Resolution::Routed);
    assert!(outcome.run.is_none());
    assert!(
        outcome
            .why
            .contains("not a user of this tenant's directory"),
        "{}",
        outcome.why
    );

    // A user asking for another user's account: routed, nothing runs.
    let mut other = open
        .iter()
        .find(|t| t.subject == "Password reset - Daniel Reyes")
        .unwrap()
        .clone();
    other.body = "Please reset the password of pshah@contosolaw.com, she is locked out.".into();
    let outcome = pipeline.process(&contoso(), &other).await.unwrap();
    assert_eq!(outcome.resolution, Resolution::Routed);
    assert!(
        outcome.why.contains("only on their own account"),
        "{}",
        outcome.why
    );

    // Daniel's own reset is recorded as a run; the same ticket edited to ask for an unlock
    // instead does not re-plan it: it goes to a person.
    let mut own = open
        .iter()
        .find(|t| t.subject == "Outlook on the web shows an error")
        .unwrap()
        .clone();
    own.subject = "Password reset please".into();
    let first = pipeline.process(&contoso(), &own).await.unwrap();
    assert_eq!(first.resolution, Resolution::WaitingApproval, "{first:#?}");
    own.subject = "Locked out, please unlock".into();
    own.body = "I am locked out.".into();
    let edited = pipeline.process(&contoso(), &own).await.unwrap();
    assert_eq!(edited.resolution, Resolution::Routed, "{edited:#?}");
    assert!(edited.why.contains("changed after"), "{}", edited.why);
    let writes = sims.m365.1.recorder().requests()[before..]
        .iter()
        // Getting a token is not a write.
        .filter(|r| r.method != "GET" && !r.path.contains("/oauth2/"))
        .count();
    assert_eq!(writes, 0, "an identity write for a request nobody may make");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolved_ticket_is_undone_step_by_step_once() {
    let sims = SimulatedWorld::start(World::builtin(), Faults::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, intake) = pipeline(dir.path(), &sims).await;
    let (_, outcomes) = intake.once().await.unwrap();
    let joined = find(&outcomes, "Please add me to the Finance group");
    assert_eq!(joined.resolution, Resolution::Resolved, "{joined:#?}");
    let okta = &sims.okta.0;
    let marge = okta.user("marge.simpson@globex.example").unwrap().id;
    let in_finance = || okta.group("Finance").unwrap().members.contains(&marge);
    assert!(in_finance());

    let globex = TenantId::new("globex").unwrap();
    let run = format!("ticket-{}", joined.ticket);
    let runs = pipeline.deployment().runs();
    let tech = || Principal::technician(TECH, &[]);
    let undone = runs
        .undo(&globex, &run, tech(), "joined by mistake")
        .await
        .unwrap();
    assert_eq!(undone.len(), 1, "{undone:?}");
    assert_eq!(undone[0].answer.as_deref(), Some("executed"), "{undone:?}");
    assert!(!in_finance(), "the undo did not take marge out of Finance");

    let deletes = || {
        sims.okta
            .1
            .recorder()
            .requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .count()
    };
    let before = deletes();
    let again = runs.undo(&globex, &run, tech(), "again").await.unwrap();
    assert_eq!(again[0].answer.as_deref(), Some("executed"));
    assert_eq!(deletes(), before, "a second undo called Okta again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_mode_plans_every_ticket_and_changes_nothing() {
    let sims = SimulatedWorld::start(World::builtin(), Faults::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Every tenant in shadow mode: `shadow = true` under each `[tenants.<id>]` header.
    let (_, intake) = pipeline_with(dir.path(), &sims, |text| {
        text.lines()
            .flat_map(|line| {
                let header = line.starts_with("[tenants.")
                    && !line.contains(".connectors.")
                    && !line.contains(".roles.");
                std::iter::once(line.to_string()).chain(header.then(|| "shadow = true".to_string()))
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
    .await;
    let (_, outcomes) = intake.once().await.unwrap();
    assert!(outcomes.len() > 20, "{}", outcomes.len());
    assert!(
        outcomes
            .iter()
            .all(|o| o.resolution == Resolution::Shadowed && o.ticket_steps.is_none()),
        "{outcomes:#?}"
    );
    let unlock = find(&outcomes, "Can't log in - account locked");
    assert!(unlock.why.contains("would run"), "{}", unlock.why);
    // Reads and tokens only, in every system.
    for (vendor, server) in [
        ("m365", &sims.m365.1),
        ("okta", &sims.okta.1),
        ("connectwise", &sims.connectwise.1),
        ("autotask", &sims.autotask.1),
        ("ninjaone", &sims.ninjaone.1),
        ("hudu", &sims.hudu.1),
    ] {
        let writes: Vec<String> = server
            .recorder()
            .requests()
            .iter()
            .filter(|r| r.method != "GET" && !r.path.contains("token"))
            // Autotask searches with POST .../query, Exchange Online runs Get-* cmdlets with
            // POST .../InvokeCommand: reads.
            .filter(|r| !r.path.ends_with("/query"))
            .filter(|r| {
                let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
                let cmdlet = body["CmdletInput"]["CmdletName"]
                    .as_str()
                    .unwrap_or_default();
                !(r.path.ends_with("/InvokeCommand") && cmdlet.starts_with("Get-"))
            })
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert!(
            writes.is_empty(),
            "{vendor} was written to in shadow mode: {writes:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_psa_callback_queues_its_ticket_for_the_next_drain() {
    let sims = SimulatedWorld::start(World::builtin(), Faults::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The tenant's callback secret, beside the credentials the deployment writes.
    let secret_dir = dir.path().join("secrets/contoso-law");
    std::fs::create_dir_all(&secret_dir).unwrap();
    std::fs::write(secret_dir.join("callback.token"), "cb-7731\n").unwrap();
    let (pipeline, intake) = pipeline_with(dir.path(), &sims, |text| {
        text.replace(
            "[tenants.contoso-law]\n",
            "[tenants.contoso-law]\ncallback_token = { file = \"callback.token\" }\n",
        )
    })
    .await;
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let (addr, _serving) = stackhand_runner::callbacks::serve(
        "127.0.0.1:0".parse().unwrap(),
        intake.clone(),
        pipeline.deployment().callback_tokens(),
        wake.clone(),
    )
    .await
    .unwrap();
    let cw = &sims.connectwise.0;
    let id = cw
        .open_ticket_ids()
        .into_iter()
        .find(|id| cw.ticket(*id).unwrap().ticket.summary == "Locked out of my account")
        .unwrap();
    let callback = serde_json::json!({
        "Action": "updated",
        "Type": "ticket",
        "ID": id,
        "CompanyId": "northwind",
        "Entity": cw.ticket_json(id).unwrap().to_string(),
    });
    let http = reqwest::Client::new();
    let post = |path: String, body: serde_json::Value| {
        let http = http.clone();
        async move {
            http.post(format!("http://{addr}{path}"))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    for refused in [
        "/callbacks/contoso-law?token=wrong",
        "/callbacks/contoso-law",
        "/callbacks/globex?token=cb-7731",
    ] {
        let answer = post(refused.to_string(), callback.clone()).await;
        assert_eq!(answer.status(), 404, "{refused}");
    }
    let garbage = post(
        "/callbacks/contoso-law?token=cb-7731".into(),
        serde_json::json!({"hello": "world"}),
    )
    .await;
    assert_eq!(garbage.status(), 400);
    let counts = |tenant: &str| {
        let store = pipeline.deployment().store().clone();
        let tenant = TenantId::new(tenant).unwrap();
        async move { store.queue().counts(&tenant).await.unwrap() }
    };
    assert_eq!(
        counts("contoso-law").await.unfinished(),
        0,
        "a refused callback queued"
    );

    let accepted = post(
        "/callbacks/contoso-law?token=cb-7731".into(),
        callback.clone(),
    )
    .await;
    assert_eq!(accepted.status(), 202);
    let again = post("/callbacks/contoso-law?token=cb-7731".into(), callback).await;
    let said: serde_json::Value = again.json().await.unwrap();
    assert_eq!(said["message"], "already queued");
    tokio::time::timeout(std::time::Duration::from_secs(60), wake.notified())
        .await
        .expect("the runner is woken");
    let outcomes = intake.drain().await.unwrap();
    assert_eq!(outcomes.len(), 1, "{outcomes:#?}");
    assert_eq!(outcomes[0].ticket, id.to_string());
}
