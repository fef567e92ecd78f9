//! End to end against the Okta simulator: OAuth 2.0 with a real signed `private_key_jwt`
//! assertion, every capability operation and vendor action through the engine, the
//! simulator's end state read back, undo restoring the state before, rate limits, and every
//! recorded request validated against the Okta spec.

mod common;

use std::sync::Arc;

use base64::Engine as _;
use common::*;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use stackhand_core::audit::MemoryAuditSink;
use stackhand_core::policy::{Decision, DecisionInput, Effect, Policy, RuleId};
use stackhand_core::{
    ActionId, ActionRequest, Connector, ConnectorSet, Engine, ErrorKind, IdempotencyKey,
    IdentityProvider, Principal, StepStatus, Submission, Tenant, TenantId, UserQuery,
};
use stackhand_http::HttpSettings;
use stackhand_okta::{OktaConfig, OktaConnector};
use stackhand_sim::okta::{
    ALL_SCOPES, GLOBEX_API_TOKEN, GLOBEX_CLIENT_ID, OAuthClient, OktaSim, OktaSimConfig,
    SignatureVerifier, UserStatus, ids,
};
use stackhand_sim::{Faults, SimServer};

/// Checks the assertion's RS256 signature with the test public key, as Okta checks it against
/// the app's registered JWKS.
fn verifier() -> SignatureVerifier {
    Arc::new(|signed| {
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signed.signature);
        let token = format!("{}.{signature}", signed.signing_input);
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY.as_bytes())
            .expect("public key");
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.validate_aud = false;
        signed.header["kid"] == "sh-test-key"
            && jsonwebtoken::decode::<Value>(&token, &key, &validation).is_ok()
    })
}

struct Org {
    sim: OktaSim,
    server: SimServer,
    okta: Arc<OktaConnector>,
    tenant: TenantId,
}

/// The seeded org, and a connector authenticated with OAuth 2.0 `private_key_jwt`.
async fn org(tenant: &str, config: OktaSimConfig, reserve: u64, attempts: u32) -> Org {
    let sim = OktaSim::with_config(OktaSimConfig {
        clients: vec![OAuthClient {
            client_id: GLOBEX_CLIENT_ID.into(),
            scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
            verifier: Some(verifier()),
        }],
        ..config
    });
    let server = sim.start(Faults::default()).await.expect("sim");
    let tenant = TenantId::new(tenant).expect("tenant");
    let config = jwt_config(&server.url(), GLOBEX_CLIENT_ID)
        .with_rate_limit_reserve(reserve)
        .with_http(common::attempts(attempts));
    let okta = Arc::new(build(&tenant, config).await);
    Org {
        sim,
        server,
        okta,
        tenant,
    }
}

async fn seeded(tenant: &str) -> Org {
    org(tenant, OktaSimConfig::default(), 2, 3).await
}

/// Check the simulator's end state: the user's status.
#[track_caller]
fn assert_status(org: &Org, id: &str, status: UserStatus) {
    assert_eq!(org.sim.user(id).map(|u| u.status), Some(status), "{id}");
}

fn check_spec(org: &Org) {
    assert_requests_match_spec(&org.server.recorder().requests());
}

/// Allows everything except acting on privileged targets (admins are protected).
struct ProtectAdmins;

impl Policy for ProtectAdmins {
    fn decide(&self, input: &DecisionInput<'_>) -> Decision {
        let privileged = input.facts.privileged;
        Decision::new(
            if privileged {
                Effect::Deny
            } else {
                Effect::Allow
            },
            RuleId::new(if privileged {
                "protect-admins"
            } else {
                "allow-helpdesk"
            }),
            "test policy",
        )
    }
}

fn engine(org: &Org) -> Engine {
    let engine = Engine::builder(Arc::new(ProtectAdmins), Arc::new(MemoryAuditSink::new()))
        .staff(stackhand_testkit::writes::test_staff())
        .build();
    engine
        .add_tenant(
            Tenant::new(org.tenant.clone(), "Globex"),
            ConnectorSet::new(org.tenant.clone())
                .with(org.okta.clone())
                .expect("same tenant"),
        )
        .expect("tenant added");
    engine
}

fn technician() -> Principal {
    Principal::technician("tech@msp.example", &["helpdesk"])
}

fn request(org: &Org, key: &str, action: &'static str, params: Value) -> ActionRequest {
    ActionRequest::new(
        IdempotencyKey::new(key).expect("key"),
        org.tenant.clone(),
        ActionId::from_static(action),
        &params,
        technician(),
    )
    .expect("request")
    .with_reason("ticket 4711")
}

async fn executed(engine: &Engine, request: ActionRequest) -> Box<stackhand_core::Receipt> {
    let action = request.action.clone();
    match engine.submit(request).await.expect("submitted") {
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

async fn undo(engine: &Engine, org: &Org, key: &str) -> Box<stackhand_core::Receipt> {
    match engine
        .undo(
            &org.tenant,
            &IdempotencyKey::new(key).expect("key"),
            technician(),
            "undo",
        )
        .await
        .expect("undo submitted")
    {
        Submission::Executed(receipt) => {
            assert_ne!(
                receipt.outcome.status,
                StepStatus::Failed,
                "undo {key}: {:?}",
                receipt.failure
            );
            receipt
        }
        other => panic!("undo of {key} was not executed: {other:?}"),
    }
}

async fn undo_refused(engine: &Engine, org: &Org, key: &str) {
    let error = engine
        .undo(
            &org.tenant,
            &IdempotencyKey::new(key).expect("key"),
            technician(),
            "undo",
        )
        .await
        .expect_err("not reversible");
    assert!(error.message().contains("not reversible"), "{error}");
}

#[tokio::test]
async fn password_resets_unlock_mfa_and_sessions_through_the_engine() {
    let org = seeded("globex-e2e-credentials").await;
    let engine = engine(&org);

    // Temporary password: PASSWORD_EXPIRED, the handed-over secret is the user's password.
    let receipt = executed(
        &engine,
        request(
            &org,
            "reset-lenny",
            "identity.reset_password",
            json!({"user": "lenny.leonard@globex.example"}),
        ),
    )
    .await;
    let temp = receipt
        .outcome
        .secret("temporary_password")
        .expect("temp password");
    let lenny = org.sim.user(ids::LENNY).expect("lenny");
    assert_eq!(lenny.status, UserStatus::PasswordExpired);
    assert_eq!(lenny.sessions, 0);
    assert!(org.sim.password_is(ids::LENNY, temp.expose_secret()));
    assert!(!format!("{receipt:?}").contains(temp.expose_secret()));
    undo_refused(&engine, &org, "reset-lenny").await;

    // Reset link: RECOVERY.
    let receipt = executed(
        &engine,
        request(
            &org,
            "reset-carl",
            "identity.reset_password",
            json!({"user": "carl.carlson@globex.example", "delivery": "reset_link"}),
        ),
    )
    .await;
    let link = receipt.outcome.secret("reset_link").expect("link");
    assert!(link.expose_secret().starts_with(&org.server.url()));
    assert_status(&org, ids::CARL, UserStatus::Recovery);

    // Unlock.
    executed(
        &engine,
        request(
            &org,
            "unlock-frank",
            "identity.unlock",
            json!({"user": "frank.grimes"}),
        ),
    )
    .await;
    assert_status(&org, ids::FRANK, UserStatus::Active);
    undo_refused(&engine, &org, "unlock-frank").await;

    // A suspended user is not locked out: unlock never re-enables, and they stay suspended.
    let error = engine
        .submit(request(
            &org,
            "unlock-mindy",
            "identity.unlock",
            json!({"user": "mindy.simmons@globex.example"}),
        ))
        .await
        .expect_err("suspended user");
    assert_eq!(error.kind(), ErrorKind::Invalid);
    assert!(error.message().contains("identity.enable"), "{error}");
    assert_status(&org, ids::MINDY, UserStatus::Suspended);

    // An AD-mastered user is refused, and nothing changes.
    let error = engine
        .submit(request(
            &org,
            "unlock-homer",
            "identity.unlock",
            json!({"user": "homer.simpson@globex.example"}),
        ))
        .await
        .expect_err("AD user");
    assert_ne!(error.kind(), ErrorKind::Unsupported);
    assert_status(&org, ids::HOMER, UserStatus::LockedOut);

    // MFA reset.
    assert_eq!(org.sim.user(ids::CARL).expect("carl").factors.len(), 1);
    executed(
        &engine,
        request(
            &org,
            "mfa-carl",
            "identity.reset_mfa",
            json!({"user": "carl.carlson@globex.example"}),
        ),
    )
    .await;
    assert!(org.sim.user(ids::CARL).expect("carl").factors.is_empty());
    undo_refused(&engine, &org, "mfa-carl").await;

    // Sessions.
    executed(
        &engine,
        request(
            &org,
            "revoke-marge",
            "identity.revoke_sessions",
            json!({"user": "marge.simpson@globex.example"}),
        ),
    )
    .await;
    let marge = org.sim.user(ids::MARGE).expect("marge");
    assert_eq!(
        (marge.sessions, marge.oauth_tokens, marge.remembered_devices),
        (0, 0, 0)
    );

    check_spec(&org);
}

#[tokio::test]
async fn groups_disable_and_create_through_the_engine_with_undo() {
    let org = seeded("globex-e2e-lifecycle").await;
    let engine = engine(&org);

    // Group add, undone.
    executed(
        &engine,
        request(
            &org,
            "add-marge-finance",
            "identity.add_to_group",
            json!({"user": "marge.simpson@globex.example", "group": "Finance"}),
        ),
    )
    .await;
    assert!(org.sim.is_member(ids::MARGE, "Finance"));
    undo(&engine, &org, "add-marge-finance").await;
    assert!(
        !org.sim.is_member(ids::MARGE, "Finance"),
        "undo removed the membership"
    );

    // Group remove, undone.
    executed(
        &engine,
        request(
            &org,
            "remove-marge-sales",
            "identity.remove_from_group",
            json!({"user": "marge.simpson@globex.example", "group": "Sales"}),
        ),
    )
    .await;
    assert!(!org.sim.is_member(ids::MARGE, "Sales"));
    undo(&engine, &org, "remove-marge-sales").await;
    assert!(
        org.sim.is_member(ids::MARGE, "Sales"),
        "undo restored the membership"
    );

    // An APP_GROUP is refused with a clear error, and nothing changes.
    let error = engine
        .submit(request(
            &org,
            "add-marge-ad",
            "identity.add_to_group",
            json!({"user": "marge.simpson@globex.example", "group": "GLOBEX Domain Admins"}),
        ))
        .await;
    let error = error.expect_err("refused in the plan");
    assert_eq!(error.kind(), ErrorKind::Invalid);
    assert!(error.message().contains("GLOBEX Domain Admins"), "{error}");
    assert!(!org.sim.is_member(ids::MARGE, ids::AD_ADMINS));

    // Disable (suspend), undone (unsuspend).
    executed(
        &engine,
        request(
            &org,
            "disable-marge",
            "identity.disable",
            json!({"user": "marge.simpson@globex.example"}),
        ),
    )
    .await;
    assert_status(&org, ids::MARGE, UserStatus::Suspended);
    undo(&engine, &org, "disable-marge").await;
    assert_status(&org, ids::MARGE, UserStatus::Active);

    // Enable a suspended user, undone (suspended again).
    executed(
        &engine,
        request(
            &org,
            "enable-mindy",
            "identity.enable",
            json!({"user": "mindy.simmons@globex.example"}),
        ),
    )
    .await;
    assert_status(&org, ids::MINDY, UserStatus::Active);
    undo(&engine, &org, "enable-mindy").await;
    assert_status(&org, ids::MINDY, UserStatus::Suspended);

    // Find (read-only).
    let found = executed(
        &engine,
        request(
            &org,
            "find-lisa",
            "identity.find_user",
            json!({"query": {"by": "email", "value": "lisa.simpson@globex.example"}}),
        ),
    )
    .await;
    assert!(
        found.outcome.state_after.to_string().contains(ids::LISA),
        "{:?}",
        found.outcome
    );

    // Create.
    let receipt = executed(
        &engine,
        request(
            &org,
            "create-isaac",
            "identity.create_user",
            json!({"login": "isaac.brock@globex.example", "first_name": "Isaac", "last_name": "Brock", "department": "Engineering"}),
        ),
    )
    .await;
    let password = receipt
        .outcome
        .secret("initial_password")
        .expect("initial password");
    let isaac = org.sim.user("isaac.brock@globex.example").expect("created");
    assert_eq!(
        isaac.status,
        UserStatus::PasswordExpired,
        "must change the password at first sign-in"
    );
    assert_eq!(isaac.profile_str("department"), Some("Engineering"));
    assert!(
        org.sim
            .password_is("isaac.brock@globex.example", password.expose_secret())
    );
    undo_refused(&engine, &org, "create-isaac").await;

    check_spec(&org);
}

#[tokio::test]
async fn licences_and_mailboxes_are_refused_as_unsupported() {
    let org = seeded("globex-e2e-unsupported").await;
    let engine = engine(&org);
    let features = org.okta.identity().expect("identity").features();
    assert!(!features.licenses && !features.mailboxes);
    for (key, action, params) in [
        (
            "lic-add",
            "identity.assign_license",
            json!({"user": "marge.simpson@globex.example", "sku": "SPE_E3"}),
        ),
        (
            "lic-remove",
            "identity.remove_license",
            json!({"user": "marge.simpson@globex.example", "sku": "SPE_E3"}),
        ),
        (
            "mbx-grant",
            "identity.grant_mailbox_access",
            json!({"mailbox": "sales@globex.example", "user": "marge.simpson@globex.example", "right": "full_access"}),
        ),
        (
            "mbx-remove",
            "identity.remove_mailbox_access",
            json!({"mailbox": "sales@globex.example", "user": "marge.simpson@globex.example", "right": "send_as"}),
        ),
    ] {
        let error = engine
            .submit(request(&org, key, action, params))
            .await
            .expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::Unsupported, "{action}: {error}");
    }
}

#[tokio::test]
async fn okta_lifecycle_actions_and_admin_protection() {
    let org = seeded("globex-e2e-okta-actions").await;
    let engine = engine(&org);
    let specs = engine.actions(&org.tenant).expect("actions");
    let deactivate = specs
        .iter()
        .find(|s| s.id.as_str() == "okta.deactivate")
        .expect("deactivate");
    assert_eq!(deactivate.risk, stackhand_core::Risk::Critical);
    assert!(!deactivate.reversible && deactivate.summary.contains("IRREVERSIBLE"));

    executed(
        &engine,
        request(
            &org,
            "suspend-carl",
            "okta.suspend",
            json!({"user": "carl.carlson@globex.example"}),
        ),
    )
    .await;
    assert_status(&org, ids::CARL, UserStatus::Suspended);
    undo(&engine, &org, "suspend-carl").await;
    assert_status(&org, ids::CARL, UserStatus::Active);

    executed(
        &engine,
        request(
            &org,
            "unsuspend-mindy",
            "okta.unsuspend",
            json!({"user": "mindy.simmons@globex.example"}),
        ),
    )
    .await;
    assert_status(&org, ids::MINDY, UserStatus::Active);
    undo(&engine, &org, "unsuspend-mindy").await;
    assert_status(&org, ids::MINDY, UserStatus::Suspended);

    let receipt = executed(
        &engine,
        request(
            &org,
            "deactivate-lisa",
            "okta.deactivate",
            json!({"user": "lisa.simpson@globex.example"}),
        ),
    )
    .await;
    assert!(
        receipt
            .plan
            .warnings
            .iter()
            .any(|w| w.contains("irreversible"))
    );
    assert_status(&org, ids::LISA, UserStatus::Deprovisioned);
    undo_refused(&engine, &org, "deactivate-lisa").await;

    executed(
        &engine,
        request(
            &org,
            "activate-bart",
            "okta.activate",
            json!({"user": "bart.simpson@globex.example"}),
        ),
    )
    .await;
    assert_status(&org, ids::BART, UserStatus::Provisioned);

    // Hank is a SUPER_ADMIN: the plan reads his roles, and the policy protects him.
    let hank = org
        .okta
        .identity()
        .expect("identity")
        .get_user("hank.scorpio@globex.example")
        .await
        .expect("hank");
    assert_eq!(hank.roles, ["SUPER_ADMIN"]);
    let plan = engine
        .plan(&request(
            &org,
            "plan-hank",
            "okta.suspend",
            json!({"user": "hank.scorpio@globex.example"}),
        ))
        .await
        .expect("plan");
    assert!(plan.facts.privileged);
    match engine
        .submit(request(
            &org,
            "reset-hank",
            "identity.reset_password",
            json!({"user": "hank.scorpio@globex.example"}),
        ))
        .await
        .expect("decided")
    {
        Submission::Denied(decision) => assert_eq!(decision.rule.as_str(), "protect-admins"),
        other => panic!("an admin was not protected: {other:?}"),
    }
    assert_status(&org, ids::HANK, UserStatus::Active);

    check_spec(&org);
}

#[tokio::test]
async fn capability_reads_against_the_simulator() {
    let org = seeded("globex-e2e-reads").await;
    let okta = org.okta.identity().expect("identity");
    org.sim.add_users("paged", 9);
    let paged = okta
        .find_users(&UserQuery::Name("paged".into()))
        .await
        .expect("search");
    assert_eq!(paged.len(), 9);
    let by_email = okta
        .find_users(&UserQuery::Email("LISA.SIMPSON@globex.example".into()))
        .await
        .expect("search");
    assert_eq!(by_email.len(), 1);
    let exact = okta
        .find_users(&UserQuery::Login("Homer.Simpson@globex.example".into()))
        .await
        .expect("login");
    assert_eq!(exact.len(), 1);
    let short = okta
        .find_users(&UserQuery::Login("homer.simpson".into()))
        .await
        .expect("login");
    assert!(short.is_empty(), "a short name is not a login");
    let homer = okta.get_user("homer.simpson").await.expect("short name");
    assert!(homer.externally_mastered && homer.locked);
    let methods = okta
        .list_mfa_methods(&okta.get_user(ids::LENNY).await.expect("lenny"))
        .await
        .expect("factors");
    assert_eq!(methods.len(), 3);
    let groups = okta.user_groups(&homer).await.expect("groups");
    assert!(
        groups
            .iter()
            .any(|g| g.name == "GLOBEX Domain Admins" && !g.writable)
    );
    assert!(groups.iter().any(|g| g.name == "Everyone" && !g.writable));
    let sales = okta
        .find_group("sales")
        .await
        .expect("case-insensitive name");
    assert!(sales.writable);
    assert_eq!(
        okta.get_user("nobody@globex.example")
            .await
            .expect_err("absent")
            .kind(),
        ErrorKind::NotFound
    );
    assert!(org.okta.health().await.expect("health").healthy);
    check_spec(&org);
}

#[tokio::test]
async fn page_size_pages_through_the_simulator() {
    let org = org("globex-e2e-pages", OktaSimConfig::default(), 2, 3).await;
    let config = OktaConfig::api_token(
        org.server.url().parse().expect("url"),
        secret(GLOBEX_API_TOKEN),
    )
    .with_http(HttpSettings {
        page_size: std::num::NonZeroU32::new(4),
        ..HttpSettings::default()
    });
    let okta = build(
        &TenantId::new("globex-e2e-pages-ssws").expect("tenant"),
        config,
    )
    .await;
    org.sim.add_users("bulk", 10);
    let found = okta
        .find_users(&UserQuery::Name("bulk".into()))
        .await
        .expect("search");
    assert_eq!(found.len(), 10);
    let pages = org
        .server
        .recorder()
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/users")
        .count();
    assert_eq!(pages, 3, "three pages of at most four");
    check_spec(&org);
}

#[tokio::test]
async fn the_connector_slows_down_before_the_budget_runs_out() {
    // A budget of 4 calls per 2 s window, and no retries: if the connector did not hold its
    // requests when X-Rate-Limit-Remaining reached the reserve, a call would get a 429 and fail.
    let org = org(
        "globex-e2e-budget",
        OktaSimConfig {
            rate_limit: 4,
            rate_window: std::time::Duration::from_secs(2),
            ..OktaSimConfig::default()
        },
        1,
        1,
    )
    .await;
    let okta = org.okta.identity().expect("identity");
    for _ in 0..4 {
        let lenny = okta.get_user(ids::LENNY).await.expect("no 429");
        assert_eq!(lenny.id, ids::LENNY);
    }
    check_spec(&org);
}

#[tokio::test]
async fn a_simulated_429_e0000047_is_retried() {
    // A short window, so the X-Rate-Limit-Reset the 429 carries is near.
    let config = OktaSimConfig {
        rate_window: std::time::Duration::from_secs(2),
        ..OktaSimConfig::default()
    };
    let org = org("globex-e2e-throttled", config, 0, 3).await;
    let okta = org.okta.identity().expect("identity");
    let lenny = okta.get_user(ids::LENNY).await.expect("lenny");
    org.sim.throttle_next(1);
    let methods = okta
        .list_mfa_methods(&lenny)
        .await
        .expect("retried after E0000047");
    assert_eq!(methods.len(), 3);
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized() {
    let org = seeded("globex-e2e-auth").await;
    let config = OktaConfig::api_token(
        org.server.url().parse().expect("url"),
        secret("00not-the-token"),
    );
    let okta = build(
        &TenantId::new("globex-e2e-auth-bad").expect("tenant"),
        config,
    )
    .await;
    let error = okta
        .identity()
        .expect("identity")
        .get_user(ids::LENNY)
        .await
        .expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::Unauthorized);
    assert_eq!(error.context_value("vendor_code"), Some("E0000011"));
    assert!(
        error
            .context_value("request_id")
            .is_some_and(|id| id.starts_with("req")),
        "X-Okta-Request-Id is kept for support: {error}"
    );
    assert!(!error.to_string().contains("00not-the-token"));
    let health = okta.health().await.expect("health answers");
    assert!(!health.healthy);
}

#[tokio::test]
async fn without_admin_roles_the_token_needs_no_roles_scope() {
    // An app granted everything but okta.roles.read: asking for it would fail the token request
    // (invalid_scope), so the connector must not ask when it does not read roles.
    let sim = OktaSim::with_config(OktaSimConfig {
        clients: vec![OAuthClient {
            client_id: GLOBEX_CLIENT_ID.into(),
            scopes: ALL_SCOPES
                .iter()
                .filter(|s| **s != stackhand_okta::ROLES_SCOPE)
                .map(|s| s.to_string())
                .collect(),
            verifier: Some(verifier()),
        }],
        ..OktaSimConfig::default()
    });
    let server = sim.start(Faults::default()).await.expect("sim");
    let tenant = TenantId::new("globex-e2e-no-roles").expect("tenant");
    let without = build(
        &tenant,
        jwt_config(&server.url(), GLOBEX_CLIENT_ID).with_admin_roles(false),
    )
    .await;
    let hank = without
        .get_user("hank.scorpio@globex.example")
        .await
        .expect("read without the roles scope");
    assert!(hank.roles.is_empty(), "roles are not read");

    // With role reads on, the same app cannot get a token: the scope is asked for.
    let with = build(
        &TenantId::new("globex-e2e-with-roles").expect("tenant"),
        jwt_config(&server.url(), GLOBEX_CLIENT_ID),
    )
    .await;
    let error = with
        .get_user("hank.scorpio@globex.example")
        .await
        .expect_err("okta.roles.read is not granted");
    assert!(error.to_string().contains("okta.roles.read"), "{error}");
    let requested: Vec<String> = server
        .recorder()
        .requests()
        .iter()
        .filter(|r| r.path == "/oauth2/v1/token")
        .filter_map(|r| {
            serde_urlencoded::from_bytes::<Vec<(String, String)>>(&r.body)
                .ok()?
                .into_iter()
                .find(|(k, _)| k == "scope")
                .map(|(_, v)| v)
        })
        .collect();
    assert_eq!(
        requested.first().map(String::as_str),
        Some("okta.users.read okta.users.manage okta.groups.read okta.groups.manage")
    );
    assert_requests_match_spec(&server.recorder().requests());
}

/// The simulator answers with the shapes the spec documents, errors included.
#[tokio::test]
async fn simulator_responses_match_the_spec() {
    let org = seeded("globex-e2e-shapes").await;
    let spec = stackhand_testkit::openapi::Spec::load("okta.yaml").expect("spec");
    // The validator is not a no-op: a status outside the enum is refused.
    assert!(
        spec.validate_response(
            "GET",
            "/api/v1/users/x",
            200,
            &json!({"id": "x", "status": "HAPPY"})
        )
        .is_err()
    );
    let http = reqwest::Client::new();
    let cases: Vec<(&str, String, u16)> = vec![
        ("GET", "/api/v1/users".into(), 200),
        (
            "GET",
            "/api/v1/users?search=status%20eq%20%22ACTIVE%22".into(),
            200,
        ),
        ("GET", format!("/api/v1/users/{}", ids::HANK), 200),
        ("GET", "/api/v1/users/nobody@globex.example".into(), 404),
        ("GET", format!("/api/v1/users/{}/groups", ids::HANK), 200),
        ("GET", format!("/api/v1/users/{}/factors", ids::LENNY), 200),
        (
            "GET",
            format!("/api/v1/users/{}/factors/mbl1lennysms00000001", ids::LENNY),
            200,
        ),
        ("GET", "/api/v1/groups".into(), 200),
        ("GET", format!("/api/v1/groups/{}", ids::SALES), 200),
        ("GET", format!("/api/v1/groups/{}/users", ids::SALES), 200),
        (
            "PUT",
            format!("/api/v1/groups/{}/users/{}", ids::AD_ADMINS, ids::MARGE),
            403,
        ),
        (
            "POST",
            format!(
                "/api/v1/users/{}/lifecycle/reset_password?sendEmail=false",
                ids::CARL
            ),
            200,
        ),
        (
            "POST",
            format!(
                "/api/v1/users/{}/lifecycle/expire_password_with_temp_password",
                ids::LISA
            ),
            200,
        ),
        (
            "POST",
            format!("/api/v1/users/{}/lifecycle/expire_password", ids::MARGE),
            200,
        ),
        (
            "POST",
            format!(
                "/api/v1/users/{}/lifecycle/activate?sendEmail=false",
                ids::BART
            ),
            200,
        ),
        (
            "POST",
            format!("/api/v1/users/{}/lifecycle/suspend", ids::MINDY),
            400,
        ),
        (
            "POST",
            format!("/api/v1/users/{}/lifecycle/unlock", ids::HOMER),
            403,
        ),
    ];
    for (method, path, status) in cases {
        let response = http
            .request(
                method.parse().expect("method"),
                format!("{}{path}", org.server.url()),
            )
            .header("Authorization", format!("SSWS {GLOBEX_API_TOKEN}"))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        let body: Value = response.json().await.expect("json body");
        spec.validate_response(method, &path, status, &body)
            .unwrap_or_else(|v| panic!("{method} {path}: {v}"));
    }
    let created = http
        .post(format!("{}/api/v1/users?activate=true", org.server.url()))
        .header("Authorization", format!("SSWS {GLOBEX_API_TOKEN}"))
        .json(&json!({"profile": {"firstName": "Sam", "lastName": "Spec", "email": "sam.spec@globex.example", "login": "sam.spec@globex.example"}, "credentials": {"password": {"value": "Xy7-Quiet-Bridge"}}}))
        .send()
        .await
        .expect("sent");
    assert_eq!(created.status().as_u16(), 200);
    let body: Value = created.json().await.expect("json");
    spec.validate_response("POST", "/api/v1/users", 200, &body)
        .expect("created user shape");
    check_spec(&org);
}

#[tokio::test]
async fn injected_429s_and_latency_are_survived() {
    let sim = OktaSim::seeded();
    let server = sim
        .start(Faults {
            latency: std::time::Duration::from_millis(20),
            rate_limit_every: 3,
            retry_after_secs: 1,
        })
        .await
        .expect("sim");
    let config =
        OktaConfig::api_token(server.url().parse().expect("url"), secret(GLOBEX_API_TOKEN));
    let okta = build(&TenantId::new("globex-e2e-faults").expect("tenant"), config).await;
    let idp = okta.identity().expect("identity");
    for login in [
        "lenny.leonard@globex.example",
        "carl.carlson@globex.example",
        "marge.simpson@globex.example",
    ] {
        let user = idp.get_user(login).await.expect("retried through E0000047");
        assert!(
            !idp.list_mfa_methods(&user)
                .await
                .expect("factors")
                .is_empty()
                || login.starts_with("marge")
        );
    }
    // Nine calls succeeded; every third request was throttled and sent again.
    let requests = server.recorder().requests().len();
    assert!(
        requests > 9,
        "throttled calls were retried: {requests} requests"
    );
    assert_requests_match_spec(&server.recorder().requests());
}

#[tokio::test]
async fn admin_roles_held_through_groups_count() {
    let org = seeded("globex-group-roles").await;
    let engine = engine(&org);
    // Otto has no role of his own; ORG_ADMIN reaches him through the Okta Admins group.
    let otto = org
        .okta
        .get_user("otto.mann@globex.example")
        .await
        .expect("otto");
    assert!(org.sim.user(ids::OTTO).expect("otto").roles.is_empty());
    assert_eq!(otto.roles, ["ORG_ADMIN"]);
    // A group holding an admin role confers privilege; an ordinary one does not.
    let admins = org.okta.find_group("Okta Admins").await.expect("group");
    assert!(admins.privileged, "{admins:?}");
    assert!(
        org.okta
            .find_group(ids::OKTA_ADMINS)
            .await
            .expect("by id")
            .privileged
    );
    assert!(
        !org.okta
            .find_group("Finance")
            .await
            .expect("finance")
            .privileged
    );

    // Adding Marge (no role) to it would make her an admin: the admin protection applies.
    match engine
        .submit(request(
            &org,
            "add-marge-admins",
            "identity.add_to_group",
            json!({"user": "marge.simpson@globex.example", "group": "Okta Admins"}),
        ))
        .await
        .expect("decided")
    {
        Submission::Denied(decision) => assert_eq!(decision.rule.as_str(), "protect-admins"),
        other => panic!("a group-based escalation was not protected: {other:?}"),
    }
    assert!(!org.sim.is_member(ids::MARGE, ids::OKTA_ADMINS));
    check_spec(&org);
}
