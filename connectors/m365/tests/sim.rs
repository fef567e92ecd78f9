//! End to end against the simulated tenant: every capability operation changes the simulator's
//! state as expected, and every Graph request it recorded validates against the spec.

mod common;

use secrecy::ExposeSecret as _;
use serde_json::json;
use stackhand_core::{
    Connector, ErrorKind, GroupKind, IdentityProvider, IdentityWrites, MailboxPermission,
    MailboxRight, Message, Messaging, NewUser, ResetPasswordOptions, StepStatus, UserQuery,
};
use stackhand_core::{Group, LicenseSku, Result, User};
use stackhand_m365::{M365Auth, M365Connector};
use stackhand_sim::Faults;
use stackhand_sim::m365::seed::{groups, skus, users};

// Each write runs through the engine, with the proof it issues for one request.

async fn add_to_group(m365: &M365Connector, user: &User, group: &Group) -> Result<()> {
    let (m365, user, group) = (m365.clone(), user.clone(), group.clone());
    common::write(move |proof| {
        Box::pin(async move { m365.add_to_group(proof, &user, &group).await })
    })
    .await
}

async fn remove_from_group(m365: &M365Connector, user: &User, group: &Group) -> Result<()> {
    let (m365, user, group) = (m365.clone(), user.clone(), group.clone());
    common::write(move |proof| {
        Box::pin(async move { m365.remove_from_group(proof, &user, &group).await })
    })
    .await
}

async fn assign_license(m365: &M365Connector, user: &User, sku: &LicenseSku) -> Result<()> {
    let (m365, user, sku) = (m365.clone(), user.clone(), sku.clone());
    common::write(move |proof| {
        Box::pin(async move { m365.assign_license(proof, &user, &sku).await })
    })
    .await
}

async fn remove_license(m365: &M365Connector, user: &User, sku: &LicenseSku) -> Result<()> {
    let (m365, user, sku) = (m365.clone(), user.clone(), sku.clone());
    common::write(move |proof| {
        Box::pin(async move { m365.remove_license(proof, &user, &sku).await })
    })
    .await
}

async fn grant_mailbox_access(m365: &M365Connector, grant: &MailboxPermission) -> Result<()> {
    let (m365, grant) = (m365.clone(), grant.clone());
    common::write(move |proof| {
        Box::pin(async move { m365.grant_mailbox_access(proof, &grant).await })
    })
    .await
}

async fn remove_mailbox_access(m365: &M365Connector, grant: &MailboxPermission) -> Result<()> {
    let (m365, grant) = (m365.clone(), grant.clone());
    common::write(move |proof| {
        Box::pin(async move { m365.remove_mailbox_access(proof, &grant).await })
    })
    .await
}

#[tokio::test]
async fn users_are_found_read_and_mapped() {
    let (sim, server, m365) = common::start().await;
    let daniel = m365.get_user("dreyes@contosolaw.com").await.unwrap();
    assert_eq!(daniel.id, users::DANIEL);
    assert!(daniel.enabled && !daniel.externally_mastered);
    assert_eq!(daniel.usage_location.as_deref(), Some("US"));
    let margaret = m365.get_user(users::MARGARET).await.unwrap();
    assert_eq!(margaret.roles, vec!["Global Administrator"]);
    assert!(
        m365.get_user("breakglass@contosolaw.onmicrosoft.com")
            .await
            .unwrap()
            .roles
            .len()
            == 1
    );
    assert!(
        m365.get_user("tbecker@contosolaw.com")
            .await
            .unwrap()
            .externally_mastered
    );
    let missing = m365.get_user("ghost@contosolaw.com").await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);

    let by_login = m365
        .find_users(&UserQuery::Login("PSHAH@contosolaw.com".into()))
        .await
        .unwrap();
    assert_eq!(by_login.len(), 1);
    let by_mail = m365
        .find_users(&UserQuery::Email("evoss@contosolaw.com".into()))
        .await
        .unwrap();
    assert_eq!(by_mail[0].id, users::ELEANOR);
    assert!(!by_mail[0].enabled);
    let by_name = m365
        .find_users(&UserQuery::Name("reyes".into()))
        .await
        .unwrap();
    assert_eq!(by_name[0].login, "dreyes@contosolaw.com");
    assert_eq!(sim.users().len(), 9);
    common::assert_graph_requests_valid(server.recorder().requests());
}

#[tokio::test]
async fn password_reset_sets_a_strong_password_and_revokes_sessions() {
    let (sim, server, m365) = common::start().await;
    let before = sim.user(users::DANIEL).unwrap();
    let user = m365.get_user(users::DANIEL).await.unwrap();
    let writer = m365.clone();
    let reset = common::write(move |proof| {
        Box::pin(async move {
            writer
                .reset_password(proof, &user, &ResetPasswordOptions::default())
                .await
        })
    })
    .await
    .unwrap();
    let password = reset.temporary_password.unwrap();
    let after = sim.user(users::DANIEL).unwrap();
    assert_eq!(after.password, password.expose_secret());
    assert!(after.force_change_password_next_sign_in);
    assert!(after.sign_in_sessions_valid_from > before.sign_in_sessions_valid_from);

    // Synced users are refused before any write, with the reason.
    let tom = m365.get_user(users::TOM).await.unwrap();
    let writer = m365.clone();
    let refused = common::write(move |proof| {
        Box::pin(async move {
            writer
                .reset_password(proof, &tom, &ResetPasswordOptions::default())
                .await
        })
    })
    .await
    .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Invalid);
    assert!(refused.to_string().contains("on-premises"), "{refused}");
    assert_eq!(sim.user(users::TOM).unwrap().password, before.password);

    // A Global Administrator needs a privileged app: Graph's 403 comes through as Forbidden.
    let margaret = m365.get_user(users::MARGARET).await.unwrap();
    let writer = m365.clone();
    let denied = common::write(move |proof| {
        Box::pin(async move {
            writer
                .reset_password(proof, &margaret, &ResetPasswordOptions::default())
                .await
        })
    })
    .await
    .unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::Forbidden);
    assert_eq!(
        denied.context_value("vendor_code"),
        Some("Authorization_RequestDenied")
    );
    assert!(!denied.to_string().contains(seed_secret()));
    common::assert_graph_requests_valid(server.recorder().requests());
}

fn seed_secret() -> &'static str {
    stackhand_sim::m365::seed::CLIENT_SECRET
}

#[tokio::test]
async fn block_unblock_unlock_and_revoke() {
    let (sim, server, m365) = common::start().await;
    let user = m365.get_user(users::PRIYA).await.unwrap();
    let (writer, target) = (m365.clone(), user.clone());
    common::write(move |proof| {
        Box::pin(async move { writer.set_enabled(proof, &target, false).await })
    })
    .await
    .unwrap();
    assert!(!sim.user(users::PRIYA).unwrap().account_enabled);
    // Blocked by an administrator is not locked out: unlock refuses and never re-enables.
    let blocked = m365.get_user(users::PRIYA).await.unwrap();
    let writer = m365.clone();
    let refused =
        common::write(move |proof| Box::pin(async move { writer.unlock(proof, &blocked).await }))
            .await
            .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Invalid);
    assert!(refused.to_string().contains("disabled"), "{refused}");
    assert!(!sim.user(users::PRIYA).unwrap().account_enabled);
    let (writer, target) = (m365.clone(), user.clone());
    common::write(move |proof| {
        Box::pin(async move { writer.set_enabled(proof, &target, true).await })
    })
    .await
    .unwrap();
    assert!(sim.user(users::PRIYA).unwrap().account_enabled);
    let before = sim.user(users::PRIYA).unwrap().sign_in_sessions_valid_from;
    let writer = m365.clone();
    common::write(move |proof| Box::pin(async move { writer.revoke_sessions(proof, &user).await }))
        .await
        .unwrap();
    assert!(sim.user(users::PRIYA).unwrap().sign_in_sessions_valid_from > before);
    let tom = m365.get_user(users::TOM).await.unwrap();
    let writer = m365.clone();
    assert_eq!(
        common::write(move |proof| {
            Box::pin(async move { writer.set_enabled(proof, &tom, false).await })
        })
        .await
        .unwrap_err()
        .kind(),
        ErrorKind::Invalid
    );
    common::assert_graph_requests_valid(server.recorder().requests());
}

#[tokio::test]
async fn mfa_reset_removes_every_method_default_last_and_issues_a_tap() {
    let (sim, server, m365) = common::start().await;
    let user = m365.get_user(users::DANIEL).await.unwrap();
    let methods = m365.list_mfa_methods(&user).await.unwrap();
    assert_eq!(methods.len(), 3, "the password is not an MFA method");
    let writer = m365.clone();
    let reset = common::write(move |proof| {
        Box::pin(async move { writer.reset_mfa(proof, &user, true).await })
    })
    .await
    .unwrap();
    assert_eq!(reset.removed.len(), 3);
    let tap = reset.temporary_access_pass.expect("a TAP was asked for");
    assert_eq!(tap.expose_secret().len(), 8);
    let left = sim.user(users::DANIEL).unwrap().methods;
    assert_eq!(left.len(), 2, "password and the new TAP: {left:?}");
    assert!(
        left.iter()
            .any(|m| m.kind == stackhand_sim::m365::MethodKind::TemporaryAccessPass)
    );
    // The default (Authenticator) was refused first and deleted after the others.
    let deletes: Vec<String> = server
        .recorder()
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(deletes.len(), 4, "{deletes:?}");
    assert!(
        deletes
            .last()
            .unwrap()
            .contains("microsoftAuthenticatorMethods")
    );
    common::assert_graph_requests_valid(server.recorder().requests());
}

#[tokio::test]
async fn groups_through_graph_and_distribution_lists_through_exchange() {
    let (sim, server, m365) = common::start().await;
    let priya = m365.get_user(users::PRIYA).await.unwrap();
    let litigation = m365.find_group("Litigation Team").await.unwrap();
    assert_eq!(
        (litigation.kind, litigation.writable),
        (GroupKind::Security, true)
    );
    add_to_group(&m365, &priya, &litigation).await.unwrap();
    assert!(sim.is_member(groups::LITIGATION, users::PRIYA));
    add_to_group(&m365, &priya, &litigation).await.unwrap(); // idempotent
    remove_from_group(&m365, &priya, &litigation).await.unwrap();
    assert!(!sim.is_member(groups::LITIGATION, users::PRIYA));
    remove_from_group(&m365, &priya, &litigation).await.unwrap(); // idempotent

    let partners = m365.find_group("partners@contosolaw.com").await.unwrap();
    assert_eq!(partners.kind, GroupKind::Distribution);
    add_to_group(&m365, &priya, &partners).await.unwrap();
    assert!(sim.is_member(groups::PARTNERS_DL, users::PRIYA));
    remove_from_group(&m365, &priya, &partners).await.unwrap();
    assert!(!sim.is_member(groups::PARTNERS_DL, users::PRIYA));

    let dynamic = m365.find_group(groups::REMOTE_WORKERS).await.unwrap();
    assert!(!dynamic.writable);
    assert_eq!(
        add_to_group(&m365, &priya, &dynamic)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Invalid
    );
    let unified = m365.find_group("All Staff").await.unwrap();
    assert_eq!(unified.kind, GroupKind::Unified);

    let listed = m365.user_groups(&priya).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|g| g.name.as_str()).collect();
    assert!(
        names.contains(&"All Staff") && names.contains(&"Licensing - E3"),
        "{names:?}"
    );
    assert_eq!(
        m365.find_group("No Such Group").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    common::assert_graph_requests_valid(server.recorder().requests());
}

#[tokio::test]
async fn licences_set_usage_location_check_seats_and_report_inheritance() {
    let (sim, server, m365) = common::start().await;
    let skus_listed = m365.licenses().await.unwrap();
    let e3 = skus_listed
        .iter()
        .find(|s| s.name == "SPE_E3")
        .unwrap()
        .clone();
    assert_eq!((e3.total, e3.consumed, e3.available()), (5, 4, 1));
    let bp = skus_listed
        .iter()
        .find(|s| s.name == "O365_BUSINESS_PREMIUM")
        .unwrap()
        .clone();
    assert_eq!(bp.available(), 0);

    // Olivia has no usage location: the connector sets the configured default first.
    let olivia = m365.get_user(users::OLIVIA).await.unwrap();
    assign_license(&m365, &olivia, &e3).await.unwrap();
    assert_eq!(
        sim.user(users::OLIVIA).unwrap().usage_location.as_deref(),
        Some("US")
    );
    assert_eq!(
        sim.licenses_of(users::OLIVIA),
        vec![skus::SPE_E3.to_string()]
    );
    assign_license(&m365, &olivia, &e3).await.unwrap(); // already held: nothing to do

    // No seat left.
    let daniel = m365.get_user(users::DANIEL).await.unwrap();
    let full = assign_license(&m365, &daniel, &bp).await.unwrap_err();
    assert_eq!(full.kind(), ErrorKind::Conflict);

    // Inherited through a group: reported, not fought.
    let priya = m365.get_user(users::PRIYA).await.unwrap();
    let held = m365.user_licenses(&priya).await.unwrap();
    assert_eq!(
        held[0].inherited_from,
        vec![groups::LICENSING_E3.to_string()]
    );
    assert!(!held[0].direct);
    assert_eq!(held[0].sku_name.as_deref(), Some("SPE_E3"));
    let refused = remove_license(&m365, &priya, &e3).await.unwrap_err();
    assert!(
        refused.to_string().contains("group-based licensing"),
        "{refused}"
    );

    remove_license(&m365, &olivia, &e3).await.unwrap();
    assert!(sim.licenses_of(users::OLIVIA).is_empty());
    common::assert_graph_requests_valid(server.recorder().requests());
}

#[tokio::test]
async fn create_user_with_a_generated_password() {
    let (sim, server, m365) = common::start().await;
    let new_user = NewUser {
        login: "jdoe@contosolaw.com".into(),
        first_name: "Jane".into(),
        last_name: "Doe".into(),
        display_name: None,
        email: None,
        department: Some("Litigation".into()),
        job_title: Some("Associate".into()),
        usage_location: Some("US".into()),
        mail_nickname: None,
    };
    let writer = m365.clone();
    let created = common::write(move |proof| {
        Box::pin(async move { writer.create_user(proof, &new_user, None).await })
    })
    .await
    .unwrap();
    let password = created.initial_password.unwrap();
    let stored = sim.user("jdoe@contosolaw.com").unwrap();
    assert_eq!(stored.password, password.expose_secret());
    assert_eq!(stored.display_name, "Jane Doe");
    assert_eq!(stored.mail_nickname, "jdoe");
    assert!(stored.force_change_password_next_sign_in);
    assert_eq!(created.user.id, stored.id);
    common::assert_graph_requests_valid(server.recorder().requests());
}

#[tokio::test]
async fn mailbox_rights_are_granted_listed_and_removed() {
    let (sim, _server, m365) = common::start().await;
    let mailbox = "reception@contosolaw.com";
    let existing = m365.mailbox_permissions(mailbox).await.unwrap();
    assert_eq!(existing.len(), 3, "{existing:?}");
    for right in [
        MailboxRight::FullAccess,
        MailboxRight::SendAs,
        MailboxRight::SendOnBehalf,
    ] {
        let grant = MailboxPermission {
            mailbox: mailbox.into(),
            user: "sokafor@contosolaw.com".into(),
            right,
            automap: (right == MailboxRight::FullAccess).then_some(false),
        };
        grant_mailbox_access(&m365, &grant).await.unwrap();
        let listed = m365.mailbox_permissions(mailbox).await.unwrap();
        assert!(
            listed
                .iter()
                .any(|p| p.right == right && p.user == grant.user),
            "{right:?}"
        );
        remove_mailbox_access(&m365, &grant).await.unwrap();
        remove_mailbox_access(&m365, &grant).await.unwrap(); // idempotent
    }
    let state = sim.mailbox(mailbox).unwrap();
    assert_eq!(state.full_access.len(), 1);
    assert_eq!(state.send_as, vec!["pshah@contosolaw.com"]);
    assert_eq!(state.grant_send_on_behalf_to, vec!["dreyes@contosolaw.com"]);
    let missing = m365
        .mailbox_permissions("nobody@contosolaw.com")
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn exchange_settings_and_service_health() {
    let (sim, server, m365) = common::start().await;
    // The settings writes are the vendor actions': they run through the engine.
    let engine = common::engine(&m365);
    let run = async |key: &str, action: &'static str, params: serde_json::Value| {
        let receipt = common::execute(&engine, key, action, params).await;
        assert_eq!(receipt.outcome.status, StepStatus::Verified, "{action}");
    };
    run(
        "shared",
        "m365.convert_to_shared",
        json!({"mailbox": "dreyes@contosolaw.com"}),
    )
    .await;
    assert_eq!(
        sim.mailbox("dreyes").unwrap().recipient_type_details,
        "SharedMailbox"
    );
    run(
        "fwd-on",
        "m365.set_forwarding",
        json!({"mailbox": "dreyes@contosolaw.com", "forward_to": "mholloway@contosolaw.com", "keep_copy": true}),
    )
    .await;
    assert_eq!(
        sim.mailbox("dreyes")
            .unwrap()
            .forwarding_smtp_address
            .as_deref(),
        Some("smtp:mholloway@contosolaw.com")
    );
    run(
        "fwd-off",
        "m365.set_forwarding",
        json!({"mailbox": "dreyes@contosolaw.com"}),
    )
    .await;
    assert_eq!(sim.mailbox("dreyes").unwrap().forwarding_smtp_address, None);
    run(
        "hide",
        "m365.hide_from_gal",
        json!({"mailbox": "dreyes@contosolaw.com", "hidden": true}),
    )
    .await;
    assert!(sim.mailbox("dreyes").unwrap().hidden_from_address_lists);
    let reply = m365.auto_reply("evoss@contosolaw.com").await.unwrap();
    assert_eq!(reply.auto_reply_state, "Enabled");
    // Eleanor's reply, copied onto Daniel's mailbox.
    run(
        "ooo",
        "m365.set_auto_reply",
        json!({
            "mailbox": "dreyes@contosolaw.com",
            "state": reply.auto_reply_state.to_ascii_lowercase(),
            "internal_message": reply.internal_message,
            "external_message": reply.external_message,
            "external_audience": reply.external_audience.as_deref().map(str::to_ascii_lowercase),
            "start_time": reply.start_time,
            "end_time": reply.end_time,
        }),
    )
    .await;
    assert_eq!(
        sim.mailbox("dreyes").unwrap().auto_reply.internal_message,
        reply.internal_message.unwrap()
    );

    let health = m365.service_health().await.unwrap();
    assert!(health.iter().any(|h| h.status == "serviceDegradation"));
    let open = m365.service_issues(true, None).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, "EX912345");
    assert_eq!(
        m365.service_issues(false, Some("Microsoft 365 suite"))
            .await
            .unwrap()
            .len(),
        1
    );

    let exchange: Vec<_> = server
        .recorder()
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/adminapi/"))
        .collect();
    assert!(exchange.iter().all(|r| {
        r.headers["x-anchormailbox"]
            .to_str()
            .unwrap()
            .starts_with("UPN:")
    }));
    assert!(
        exchange
            .iter()
            .all(|r| r.headers["prefer"] == "odata.maxpagesize=1000")
    );
}

#[tokio::test]
async fn mail_is_sent_from_the_notify_sender() {
    let (sim, _server, m365) = common::start().await;
    let message = Message {
        to: "dreyes@contosolaw.com".into(),
        subject: "Your password was reset".into(),
        body: "Use the temporary password your technician gave you.".into(),
    };
    common::write(move |proof| Box::pin(async move { m365.send(proof, &message).await }))
        .await
        .unwrap();
    let sent = sim.sent_mail();
    assert_eq!(sent[0].from, "sokafor@contosolaw.com");
    assert_eq!(sent[0].to, vec!["dreyes@contosolaw.com"]);
    assert_eq!(sent[0].content_type, "Text");
}

#[tokio::test]
async fn throttling_is_retried_and_expired_tokens_refetched() {
    let (_sim, server, m365) = common::start_with(Faults {
        rate_limit_every: 2,
        retry_after_secs: 0,
        ..Faults::default()
    })
    .await;
    // Every second request is a 429: the token fetch passes, the first Graph call is throttled
    // and retried.
    let user = m365.get_user(users::SAM).await.unwrap();
    assert_eq!(user.login, "sokafor@contosolaw.com");
    let statuses = server.recorder().requests().len();
    assert!(statuses >= 3);

    let (sim2, _server2, m365b) = common::start().await;
    m365b.get_user(users::SAM).await.unwrap();
    sim2.expire_tokens();
    // A 401 drops the cached token; the retry fetches a new one.
    m365b.get_user(users::SAM).await.unwrap();
}

#[tokio::test]
async fn health_reports_bad_credentials() {
    let (_sim, server, m365) = common::start().await;
    assert!(m365.health().await.unwrap().healthy);
    let config = common::config_with_auth(
        &server.url(),
        M365Auth::ClientSecret {
            client_id: stackhand_sim::m365::seed::CLIENT_ID.into(),
            client_secret: common::secret("wrong-secret-value-123"),
        },
    );
    let bad = common::build(config).await.unwrap();
    let health = bad.health().await.unwrap();
    assert!(!health.healthy);
    assert!(
        !health.detail.contains("wrong-secret-value-123"),
        "{}",
        health.detail
    );
    let error = bad.get_user(users::SAM).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthorized, "{error}");
}

/// A throwaway RSA key made for these tests only; the simulator checks the assertion's claims
/// and `x5t`, not its signature, so no certificate is registered anywhere.
const TEST_KEY: &str = include_str!("fixtures/sim-app-test-key.pem");

#[tokio::test]
async fn certificate_credentials_sign_an_assertion_for_each_resource() {
    use stackhand_sim::m365::seed;
    let (_sim, server, _) = common::start().await;
    let config = common::config_with_auth(
        &server.url(),
        M365Auth::Certificate {
            client_id: seed::CLIENT_ID.into(),
            private_key_pem: common::secret(TEST_KEY),
            thumbprint: seed::CERTIFICATE_THUMBPRINT.into(),
        },
    );
    let m365 = common::build(config).await.unwrap();
    assert_eq!(m365.get_user(users::SAM).await.unwrap().id, users::SAM);
    assert!(m365.mailbox("sokafor@contosolaw.com").await.is_ok());
    let tokens: Vec<String> = server
        .recorder()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/oauth2/v2.0/token"))
        .map(|r| String::from_utf8_lossy(&r.body).to_string())
        .collect();
    assert_eq!(tokens.len(), 2, "one token per resource");
    assert!(tokens.iter().all(|t| t.contains(
        "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
    )));
    assert!(tokens.iter().all(|t| !t.contains("client_secret")));
}

#[tokio::test]
async fn delegated_tokens_supplied_by_the_caller() {
    use stackhand_sim::m365::Audience;
    let (sim, server, _) = common::start().await;
    let config = common::config_with_auth(
        &server.url(),
        M365Auth::Delegated {
            graph_token: common::secret(&sim.delegated_token(Audience::Graph)),
            exchange_token: None,
        },
    );
    let m365 = common::build(config).await.unwrap();
    // The admin's own token is not held to the app's directory role.
    let margaret = m365.get_user(users::MARGARET).await.unwrap();
    let writer = m365.clone();
    common::write(move |proof| {
        Box::pin(async move {
            writer
                .reset_password(proof, &margaret, &ResetPasswordOptions::default())
                .await
        })
    })
    .await
    .unwrap();
    // Without an Exchange token, mailbox work says why.
    let error = m365
        .mailbox_permissions("reception@contosolaw.com")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthorized);
    assert!(error.to_string().contains("exchange_token"), "{error}");
    assert!(
        server
            .recorder()
            .requests()
            .iter()
            .all(|r| !r.path.ends_with("/token"))
    );
}

#[tokio::test]
async fn roles_through_groups_and_eligible_roles_count() {
    let (sim, server, m365) = common::start().await;
    // Tom holds no role himself: Helpdesk Administrator reaches him through the
    // role-assignable "Helpdesk Admins" group.
    let tom = m365.get_user("tbecker@contosolaw.com").await.unwrap();
    assert_eq!(tom.roles, vec!["Helpdesk Administrator"]);
    // Olivia holds nothing active but may activate User Administrator through PIM.
    let olivia = m365.get_user(users::OLIVIA).await.unwrap();
    assert_eq!(olivia.roles, vec!["User Administrator"]);
    assert_eq!(sim.eligible_roles_of(users::OLIVIA), olivia.roles);
    assert!(sim.roles_of(users::OLIVIA).is_empty());
    // Daniel holds none at all.
    assert!(m365.get_user(users::DANIEL).await.unwrap().roles.is_empty());

    // The role-assignable group confers privilege; an ordinary one does not.
    let helpdesk = m365.find_group("Helpdesk Admins").await.unwrap();
    assert!(helpdesk.privileged, "{helpdesk:?}");
    assert_eq!(
        m365.find_group(groups::HELPDESK_ADMINS).await.unwrap(),
        helpdesk
    );
    assert!(!m365.find_group("Litigation Team").await.unwrap().privileged);
    let tom_groups = m365.user_groups(&tom).await.unwrap();
    assert!(
        tom_groups
            .iter()
            .any(|g| g.id == groups::HELPDESK_ADMINS && g.privileged)
    );

    // Adding Daniel to the group gives him the role, as Entra would.
    let daniel = m365.get_user(users::DANIEL).await.unwrap();
    add_to_group(&m365, &daniel, &helpdesk).await.unwrap();
    assert_eq!(
        m365.get_user(users::DANIEL).await.unwrap().roles,
        vec!["Helpdesk Administrator"]
    );
    common::assert_graph_requests_valid(server.recorder().requests());
}

#[tokio::test]
async fn eligibility_that_cannot_be_read_fails_closed() {
    let (sim, server, m365) = common::start().await;
    sim.set_app_reads_role_eligibility(false);
    let error = m365.get_user(users::DANIEL).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Forbidden);
    assert!(
        error
            .message()
            .contains("RoleEligibilitySchedule.Read.Directory"),
        "{}",
        error.message()
    );

    // Without a PIM licence there is no eligibility to read: the active roles still count.
    sim.set_pim_licensed(false);
    let tom = m365.get_user(users::TOM).await.unwrap();
    assert_eq!(tom.roles, vec!["Helpdesk Administrator"]);
    assert!(m365.get_user(users::OLIVIA).await.unwrap().roles.is_empty());
    common::assert_graph_requests_valid(server.recorder().requests());
}
