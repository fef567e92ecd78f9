//! The demo's scenarios against the simulators of one world, under the starter policy, each
//! seen through as the MSP would (its lead approves what waits; the clock moves to a date), with
//! the end state checked in every system the scenario touches and in the audit trail.

mod support;

use std::path::Path;

use stackhand_core::Principal;
use stackhand_core::audit::AuditSink as _;
use stackhand_runner::walkthrough::see_through;
use stackhand_runner::{Intake, LoadedConfig, Resolution, TicketOutcome};
use stackhand_sim::deployment::SimulatedWorld;
use stackhand_sim::world::World;
use stackhand_store::RunState;
use support::{FirstPass, contoso, find, first_pass};

/// Contoso's Microsoft 365 E3 SKU (`SPE_E3` in the world).
const SPE_E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";

/// The MSP's lead, who approves starters, leavers and access.
const LEAD: &str = "amorgan@northwind-msp.example";

fn lead() -> Principal {
    Principal::technician(LEAD, &[])
}

/// Every byte of the SQLite store: what a secret must never be found in.
fn store_bytes(dir: &Path) -> Vec<u8> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("stackhand.db"))
        })
        .flat_map(|p| std::fs::read(p).unwrap())
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_starter_is_onboarded_across_six_systems_and_the_manager_gets_the_password() {
    let FirstPass {
        sims,
        dir,
        pipeline,
        outcomes,
        ..
    } = first_pass(World::builtin()).await;
    let first = find(&outcomes, "New starter: Laura Fischer starting Monday");
    assert_eq!(
        first.resolution,
        Resolution::WaitingApproval,
        "every step on another person's account waits for a lead: {first:#?}"
    );
    assert_eq!(first.workflow.as_deref(), Some("onboarding"));
    let (done, events) = see_through(&pipeline, first, &lead()).await.unwrap();
    assert_eq!(
        done.resolution,
        Resolution::Resolved,
        "{done:#?}\n{events:#?}"
    );

    // Entra ID: the account, its licence from the role template, its groups.
    let m365 = &sims.m365.0;
    let laura = m365
        .user("lfischer@contosolaw.com")
        .expect("the account was created");
    assert!(laura.account_enabled);
    assert_eq!(laura.department.as_deref(), Some("Litigation"));
    assert_eq!(laura.job_title.as_deref(), Some("Paralegal"));
    assert!(laura.force_change_password_next_sign_in);
    assert!(
        m365.licenses_of("lfischer@contosolaw.com")
            .iter()
            .any(|l| l == SPE_E3),
        "{:?}",
        m365.licenses_of("lfischer@contosolaw.com")
    );
    for group in ["Litigation Team", "All Staff"] {
        assert!(m365.is_member(group, "lfischer@contosolaw.com"), "{group}");
    }
    // NinjaOne: her laptop carries the role's tag.
    assert!(
        sims.ninjaone
            .0
            .tags_of(109)
            .contains(&"New Starter".to_string()),
        "{:?}",
        sims.ninjaone.0.tags_of(109)
    );
    // ConnectWise: a contact at her company.
    let contact = sims
        .connectwise
        .0
        .contact_by_email("lfischer@contosolaw.com")
        .expect("a PSA contact");
    assert_eq!(contact.first_name, "Laura");
    // Hudu: her person asset and the initial password, the very one Entra ID holds.
    let hudu = &sims.hudu.0;
    let company = hudu
        .companies()
        .into_iter()
        .find(|c| c.name == "Contoso Law LLP")
        .unwrap();
    assert!(
        hudu.assets_of(company.id)
            .iter()
            .any(|a| a.name == "Laura Fischer" && !a.archived),
        "no asset for Laura"
    );
    let stored = hudu
        .passwords_of(company.id)
        .into_iter()
        .find(|p| p.name == "Laura Fischer (initial password)")
        .expect("the initial password is documented");
    assert_eq!(stored.password, laura.password);
    // The manager got the sign-in details, with that password.
    let mail = m365.sent_mail();
    let details = mail
        .iter()
        .find(|m| m.subject == "Sign-in details for Laura Fischer")
        .expect("the manager was sent the sign-in details");
    assert_eq!(details.to, ["dreyes@contosolaw.com"]);
    assert!(details.body.contains(&laura.password));
    // The ticket: closed, with the plan and each step's answer in an internal note.
    let id: i64 = done.ticket.parse().unwrap();
    let view = sims.connectwise.0.ticket(id).unwrap();
    assert!(view.ticket.closed_flag, "{view:?}");
    let notes = sims.connectwise.0.notes(id);
    assert!(notes.iter().any(|n| n.internal_analysis
        && n.text.contains("stackhand resolved this ticket")
        && n.text.contains("identity.create_user")));
    // Each step ran once; the run's secret is gone from the vault, and the password is nowhere
    // in the store (the audit trail, the runs, the queue).
    let run = pipeline
        .deployment()
        .store()
        .runs()
        .get(&contoso(), &format!("ticket-{}", done.ticket))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.state, RunState::Succeeded);
    let creates = sims.m365.1.recorder().requests();
    let creates = creates
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/users"))
        .count();
    assert_eq!(creates, 1, "the account was created more than once");
    let vault = stackhand_runner::open_vault(
        &LoadedConfig::load(&dir.path().join("stackhand.toml")).unwrap(),
    )
    .await
    .unwrap()
    .expect("the deployment has a vault");
    let left: Vec<String> = vault
        .list(&contoso())
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .filter(|n| n.starts_with("run/"))
        .collect();
    assert!(left.is_empty(), "run secrets left behind: {left:?}");
    assert!(
        !contains(&store_bytes(dir.path()), &laura.password),
        "the initial password reached the store"
    );
    let verified = pipeline
        .deployment()
        .store()
        .verify_tenant(&contoso())
        .await
        .unwrap();
    assert!(verified.is_ok(), "{verified:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaver_is_offboarded_with_the_mailbox_kept_for_the_manager() {
    let FirstPass {
        sims,
        dir: _dir,
        pipeline,
        outcomes,
        ..
    } = first_pass(World::builtin()).await;
    let first = find(&outcomes, "Leaver - Eleanor Voss: licence and laptop");
    assert_eq!(first.workflow.as_deref(), Some("offboarding"), "{first:#?}");
    let (done, events) = see_through(&pipeline, first, &lead()).await.unwrap();
    assert_eq!(
        done.resolution,
        Resolution::Resolved,
        "{done:#?}\n{events:#?}"
    );

    let m365 = &sims.m365.0;
    let eleanor = m365.user("evoss@contosolaw.com").unwrap();
    assert!(!eleanor.account_enabled);
    let mailbox = m365.mailbox("evoss@contosolaw.com").unwrap();
    assert_eq!(mailbox.recipient_type_details, "SharedMailbox");
    assert!(mailbox.hidden_from_address_lists);
    assert!(
        mailbox
            .forwarding_smtp_address
            .as_deref()
            .is_some_and(|f| f.contains("mholloway")),
        "{:?}",
        mailbox.forwarding_smtp_address
    );
    assert!(m365.licenses_of("evoss@contosolaw.com").is_empty());
    let contact = sims
        .connectwise
        .0
        .contact_by_email("evoss@contosolaw.com")
        .expect("Eleanor's contact");
    assert!(contact.inactive, "{contact:?}");
    let hudu = &sims.hudu.0;
    assert!(hudu.asset(1105).unwrap().archived, "her asset is archived");
    assert!(sims.ninjaone.0.tags_of(105).contains(&"Leaver".to_string()));
    let id: i64 = done.ticket.parse().unwrap();
    assert!(sims.connectwise.0.ticket(id).unwrap().ticket.closed_flag);
    let run = pipeline
        .deployment()
        .store()
        .runs()
        .get(&contoso(), &format!("ticket-{}", done.ticket))
        .await
        .unwrap()
        .unwrap();
    // The licences went only after the mailbox was converted.
    let finished = |name: &str| run.named(name).and_then(|s| s.finished).unwrap();
    assert!(finished("shared") <= finished("licences"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_app_is_diagnosed_through_the_rmm_and_fixed() {
    let FirstPass {
        sims,
        dir: _dir,
        pipeline: _pipeline,
        outcomes,
        ..
    } = first_pass(World::builtin()).await;
    let app = find(&outcomes, "Can't reach the case management system");
    assert_eq!(app.resolution, Resolution::Resolved, "{app:#?}");
    let run = app.run.as_ref().unwrap();
    let answers: Vec<(&str, &str)> = run
        .steps
        .iter()
        .map(|s| {
            (
                s.name.as_deref().unwrap_or(""),
                s.answer.as_deref().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(answers, [("diagnose", "executed"), ("fix", "executed")]);
    let ran: Vec<String> = sims
        .ninjaone
        .0
        .script_runs()
        .into_iter()
        .filter(|r| r.device_id == 103)
        .map(|r| r.name)
        .collect();
    assert_eq!(ran, ["Test app connectivity", "Flush DNS cache"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mfa_reset_hands_a_temporary_access_pass_to_the_approver() {
    let FirstPass {
        sims,
        dir: _dir,
        pipeline,
        outcomes,
        ..
    } = first_pass(World::builtin()).await;
    let mfa = find(&outcomes, "New phone - need Authenticator set up again");
    assert_eq!(mfa.resolution, Resolution::WaitingApproval, "{mfa:#?}");
    let engine = pipeline.deployment().engine();
    let approval = engine
        .pending_approvals(&contoso())
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.request.action.as_str() == "identity.reset_mfa")
        .unwrap();
    let approved = engine
        .approve(
            approval.id,
            &Principal::technician("bkhan@northwind-msp.example", &[]),
        )
        .await
        .unwrap();
    let receipt = approved.receipt().expect("executed");
    assert!(
        receipt
            .outcome
            .secrets
            .iter()
            .any(|s| s.name == "temporary_access_pass"),
        "no pass for the approver"
    );
    assert!(
        sims.m365
            .0
            .users()
            .iter()
            .any(|u| u.user_principal_name == "pshah@contosolaw.com")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_from_a_lookalike_or_for_someone_else_are_refused() {
    let FirstPass {
        sims,
        dir: _dir,
        pipeline: _pipeline,
        outcomes,
        before,
    } = first_pass(World::builtin()).await;
    let lookalike = find(&outcomes, "Urgent: password reset before the court filing");
    assert_eq!(lookalike.resolution, Resolution::Routed);
    assert!(lookalike.run.is_none());
    assert!(
        lookalike
            .why
            .contains("not a user of this tenant's directory"),
        "{}",
        lookalike.why
    );
    let other = find(&outcomes, "Password reset for Tom");
    assert_eq!(other.resolution, Resolution::Routed);
    assert!(other.run.is_none());
    assert!(
        other.why.contains("only on their own account"),
        "{}",
        other.why
    );
    let resets = sims.m365.1.recorder().requests()[before..]
        .iter()
        .filter(|r| r.path.contains("tbecker") && r.method != "GET")
        .count();
    assert_eq!(resets, 0, "someone else's account was changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_for_two_people_becomes_a_run_for_each_from_an_authorised_contact_only() {
    let FirstPass {
        sims,
        dir: _dir,
        pipeline,
        outcomes,
        ..
    } = first_pass(World::builtin()).await;
    let first = find(&outcomes, "Litigation Team access for Priya and Tom");
    assert_eq!(first.resolution, Resolution::WaitingApproval, "{first:#?}");
    assert_eq!(first.runs.len(), 2, "{first:#?}");
    let (done, events) = see_through(&pipeline, first, &lead()).await.unwrap();
    assert_eq!(
        done.resolution,
        Resolution::Resolved,
        "{done:#?}\n{events:#?}"
    );
    let m365 = &sims.m365.0;
    for user in ["pshah@contosolaw.com", "tbecker@contosolaw.com"] {
        assert!(m365.is_member("Litigation Team", user), "{user}");
    }
    let children = pipeline
        .deployment()
        .store()
        .runs()
        .children(&contoso(), &format!("ticket-{}", done.ticket))
        .await
        .unwrap();
    assert_eq!(children.len(), 2);
    assert!(children.iter().all(|r| r.state == RunState::Succeeded));

    // The same words from someone who is not an authorised contact: nobody is added.
    let reads = pipeline
        .deployment()
        .engine()
        .connectors(&contoso())
        .unwrap();
    let mut asked = reads.psa().unwrap().get_ticket(&done.ticket).await.unwrap();
    asked.id = "990001".into();
    if let Some(contact) = &mut asked.contact {
        contact.email = Some("ochen@contosolaw.com".into());
    }
    asked.body = "Could Olivia Chen and Sam Okafor be added to the Partners group?".into();
    let refused = pipeline.process(&contoso(), &asked).await.unwrap();
    assert_eq!(refused.resolution, Resolution::Routed, "{refused:#?}");
    assert!(refused.runs.is_empty() && refused.run.is_none());
    assert!(
        refused.why.contains("only for their own account"),
        "{}",
        refused.why
    );
    assert!(!m365.is_member("Partners", "sokafor@contosolaw.com"));
}

/// The tickets of the Exchange Online outage in the world (Microsoft's EX912345 is open).
const OUTAGE: [&str; 5] = [
    "Outlook on the web shows an error",
    "OWA not loading for several people",
    "Outlook keeps asking for my password",
    "emails not syncing on my phone",
    "Can't send mail - stuck in Outbox",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exchange_online_outage_becomes_one_incident_and_a_second_pass_changes_nothing() {
    let FirstPass {
        sims,
        dir: _dir,
        pipeline,
        outcomes,
        ..
    } = first_pass(World::builtin()).await;
    let cw = &sims.connectwise.0;
    let children: Vec<TicketOutcome> = OUTAGE.iter().map(|s| find(&outcomes, s)).collect();
    let parent = children[0]
        .incident
        .as_ref()
        .expect("linked to an incident")
        .parent
        .clone();
    let parent_id: i64 = parent.parse().unwrap();
    for child in &children {
        assert_eq!(child.resolution, Resolution::LinkedToIncident, "{child:#?}");
        let link = child.incident.as_ref().unwrap();
        assert_eq!(link.parent, parent);
        assert_eq!(link.issue.as_deref(), Some("EX912345"));
        assert_eq!(link.service.as_deref(), Some("Exchange Online"));
        // No per-ticket troubleshooting: no workflow, no run of its own, no notes of it.
        assert_eq!(child.workflow, None, "{child:#?}");
        assert!(child.ticket_steps.is_none());
        let runs = pipeline.deployment().store().runs();
        let own = runs
            .get(&contoso(), &format!("ticket-{}", child.ticket))
            .await
            .unwrap();
        assert!(own.is_none(), "{own:#?}");
        let run = child.run.as_ref().unwrap();
        assert_eq!(run.state, RunState::Succeeded, "{run:#?}");

        // ConnectWise: the child is bundled under the parent, with one customer-visible note.
        let id: i64 = child.ticket.parse().unwrap();
        let view = cw.ticket(id).unwrap();
        assert_eq!(view.ticket.parent_ticket_id, Some(parent_id));
        assert!(!view.ticket.closed_flag);
        let updates: Vec<_> = cw
            .notes(id)
            .into_iter()
            .filter(|n| n.created_by == "stackhand" && n.detail_description && !n.internal_analysis)
            .collect();
        assert_eq!(updates.len(), 1, "{updates:#?}");
        assert!(
            updates[0].text.contains("EX912345") && updates[0].text.contains(&format!("#{parent}")),
            "{}",
            updates[0].text
        );
    }
    // Tom's "asking for my password" got no reset waiting for anyone.
    let pending = pipeline
        .deployment()
        .engine()
        .pending_approvals(&contoso())
        .await
        .unwrap();
    let tom = &children[2].ticket;
    assert!(
        !pending.iter().any(|a| a
            .request
            .idempotency_key
            .as_str()
            .starts_with(&format!("ticket-{tom}."))),
        "{pending:#?}"
    );

    // One parent ticket, open, not itself taken through the pipeline.
    let parents: Vec<_> = cw
        .tickets()
        .into_iter()
        .filter(|t| t.summary.contains("EX912345"))
        .collect();
    assert_eq!(parents.len(), 1, "{parents:#?}");
    assert_eq!(parents[0].id, parent_id);
    assert!(!parents[0].closed_flag);
    assert!(!outcomes.iter().any(|o| o.ticket == parent));

    // One mail per affected user.
    let told = |sims: &SimulatedWorld| -> Vec<Vec<String>> {
        let mut to: Vec<Vec<String>> = sims
            .m365
            .0
            .sent_mail()
            .into_iter()
            .filter(|m| m.body.contains("EX912345"))
            .map(|m| m.to)
            .collect();
        to.sort();
        to
    };
    let users = ["dreyes", "mholloway", "pshah", "sokafor", "tbecker"]
        .map(|u| vec![format!("{u}@contosolaw.com")]);
    assert_eq!(told(&sims), users);

    // A second pass changes nothing: no second parent, link, note or mail.
    let snapshot = |sims: &SimulatedWorld| {
        let cw = &sims.connectwise.0;
        let tickets: Vec<(i64, Option<i64>, bool)> = cw
            .tickets()
            .iter()
            .map(|t| (t.id, t.parent_ticket_id, t.closed_flag))
            .collect();
        let notes: usize = tickets.iter().map(|t| cw.notes(t.0).len()).sum();
        (tickets, notes, sims.m365.0.sent_mail().len())
    };
    let before = snapshot(&sims);
    let intake = Intake::new(
        pipeline.clone(),
        "again",
        std::time::Duration::from_secs(60),
    );
    let (polled, again) = intake.once().await.unwrap();
    assert!(again.is_empty(), "{again:#?}");
    let contoso_poll = polled.iter().find(|p| p.tenant == contoso()).unwrap();
    assert!(
        contoso_poll.incidents.len() == 1
            && contoso_poll
                .incidents
                .iter()
                .all(|i| i.linked.is_empty() && i.told.is_empty() && i.link.parent == parent),
        "{contoso_poll:#?}"
    );
    assert_eq!(snapshot(&sims), before);
    assert_eq!(told(&sims), users);
}

/// Three Globex people report the VPN down within minutes. Okta and Autotask report no vendor
/// issue to check, but three look-alike tickets from three people make an incident on their
/// own: in Autotask a problem ticket is opened, each report is linked to it as an incident
/// with one customer-visible update, and none is troubleshot alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_alike_tickets_at_an_autotask_tenant_become_one_problem_ticket() {
    use stackhand_sim::world::{OpenTicket, Priority, TicketSource};
    const REPORTS: [(&str, &str, &str); 3] = [
        (
            "homer.simpson",
            "VPN not connecting",
            "The VPN won't connect from home this morning, it times out with error 809.\n\nHomer",
        ),
        (
            "lisa.simpson",
            "VPN error 809",
            "The VPN times out with error 809 when I connect from home.\n\nLisa",
        ),
        (
            "marge.simpson",
            "VPN down from home?",
            "Can't connect to the VPN from home, error 809 after it times out.\n\nMarge",
        ),
    ];
    let mut world = World::builtin().clone();
    let globex = world.tenant_mut("globex").unwrap();
    for (requester, subject, body) in REPORTS {
        globex.tickets.push(OpenTicket {
            summary: subject.into(),
            body: body.into(),
            requester: requester.into(),
            from: None,
            board: "Help Desk".into(),
            status: "New".into(),
            priority: Priority::High,
            source: TicketSource::Email,
            owner: None,
            hours_ago: 0,
        });
    }
    let FirstPass {
        sims,
        dir: _dir,
        outcomes,
        ..
    } = first_pass(&world).await;
    let autotask = &sims.autotask.0;
    let reports: Vec<TicketOutcome> = REPORTS
        .iter()
        .map(|(_, subject, _)| find(&outcomes, subject))
        .collect();
    let parent = reports[0]
        .incident
        .as_ref()
        .unwrap_or_else(|| panic!("not linked: {:#?}", reports[0]))
        .parent
        .clone();
    let parent_id: i64 = parent.parse().unwrap();
    let tickets = autotask.tickets();
    let problem = tickets
        .iter()
        .find(|t| t.id == parent_id)
        .expect("the parent ticket is in Autotask");
    assert_eq!(problem.ticket_type, "Problem", "{problem:#?}");
    assert!(problem.completed.is_none());
    for report in &reports {
        assert_eq!(
            report.resolution,
            Resolution::LinkedToIncident,
            "{report:#?}"
        );
        let link = report.incident.as_ref().unwrap();
        assert_eq!(link.parent, parent);
        assert_eq!(link.issue, None, "no vendor issue was claimed");
        assert_eq!(report.workflow, None, "troubleshot alone: {report:#?}");
        let id: i64 = report.ticket.parse().unwrap();
        let child = tickets.iter().find(|t| t.id == id).unwrap();
        assert_eq!(child.problem_ticket_id, Some(parent_id), "{child:#?}");
        assert!(child.completed.is_none());
        let updates: Vec<_> = autotask
            .notes(id)
            .into_iter()
            .filter(|n| n.publish != "Internal Only")
            .collect();
        assert_eq!(updates.len(), 1, "{updates:#?}");
        assert!(
            updates[0].description.contains(&format!("#{parent}")),
            "{}",
            updates[0].description
        );
    }
}
