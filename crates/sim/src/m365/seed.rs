//! The seeded demo tenant: "contoso-law", a small law firm on Microsoft 365.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use crate::oauth::Tokens;

use super::state::{
    AppRegistration, AutoReply, FullAccessGrant, MethodKind, PASSWORD_METHOD_ID, SimAuthMethod,
    SimEligibility, SimGroup, SimMailbox, SimRole, SimSku, SimUser, TenantState,
};

/// The tenant id of contoso-law.
pub const TENANT_ID: &str = "7d1f3c2a-4b5e-4f60-9a1b-2c3d4e5f6a70";
/// The verified domain.
pub const DOMAIN: &str = "contosolaw.com";
/// The initial `onmicrosoft.com` domain.
pub const ONMICROSOFT_DOMAIN: &str = "contosolaw.onmicrosoft.com";
/// The app registration's client id.
pub const CLIENT_ID: &str = "5a8c1e2b-9f3d-4c6a-8b7e-0d1f2a3b4c5d";
/// The app registration's client secret.
pub const CLIENT_SECRET: &str = "sim-secret~contoso-law-0123456789";
/// The SHA-1 thumbprint (base64url, as in a client assertion's `x5t`) of the app's certificate.
pub const CERTIFICATE_THUMBPRINT: &str = "hOBcHZi846VCHSJbFAs26Go9VTQ";

/// SKU ids (the real Microsoft ids).
pub mod skus {
    /// Microsoft 365 E3.
    pub const SPE_E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
    /// Microsoft 365 Business Premium.
    pub const O365_BUSINESS_PREMIUM: &str = "f245ecc8-75af-4f8e-b61f-27d8114de5f3";
}

/// Object ids of the seeded users.
pub mod users {
    /// Margaret Holloway, managing partner, Global Administrator.
    pub const MARGARET: &str = "3f2a9c41-1b7e-4d2a-9e63-0a1b2c3d4e01";
    /// Break-glass emergency account, Global Administrator.
    pub const BREAK_GLASS: &str = "3f2a9c41-1b7e-4d2a-9e63-0a1b2c3d4e02";
    /// Daniel Reyes, associate: phone, Authenticator (default), FIDO2.
    pub const DANIEL: &str = "3f2a9c41-1b7e-4d2a-9e63-0a1b2c3d4e03";
    /// Priya Shah, paralegal: E3 through a licensing group.
    pub const PRIYA: &str = "3f2a9c41-1b7e-4d2a-9e63-0a1b2c3d4e04";
    /// Tom Becker, legal secretary, synced from on-premises AD; Helpdesk Administrator only
    /// through the role-assignable "Helpdesk Admins" group.
    pub const TOM: &str = "3f2a9c41-1b7e-4d2a-9e63-0a1b2c3d4e05";
    /// Eleanor Voss, former associate, disabled, forwarding and auto-reply on.
    pub const ELEANOR: &str = "3f2a9c41-1b7e-4d2a-9e63-0a1b2c3d4e06";
    /// Sam Okafor, IT coordinator, Helpdesk Administrator.
    pub const SAM: &str = "3f2a9c41-1b7e-4d2a-9e63-0a1b2c3d4e07";
    /// Olivia Chen, new associate: no usage location, no licence, no mailbox; eligible (PIM,
    /// not active) for User Administrator.
    pub const OLIVIA: &str = "3f2a9c41-1b7e-4d2a-9e63-0a1b2c3d4e08";
    /// The shared reception mailbox's (disabled) user object.
    pub const RECEPTION: &str = "3f2a9c41-1b7e-4d2a-9e63-0a1b2c3d4e09";
}

/// Object ids of the seeded groups.
pub mod groups {
    /// "Litigation Team": cloud security group.
    pub const LITIGATION: &str = "8b4e6d20-2c1a-4f3b-8d5e-6f7a8b9c0d01";
    /// "All Staff": Microsoft 365 (unified) group.
    pub const ALL_STAFF: &str = "8b4e6d20-2c1a-4f3b-8d5e-6f7a8b9c0d02";
    /// "Partners": distribution list (Exchange-managed).
    pub const PARTNERS_DL: &str = "8b4e6d20-2c1a-4f3b-8d5e-6f7a8b9c0d03";
    /// "Licensing - E3": security group assigning SPE_E3.
    pub const LICENSING_E3: &str = "8b4e6d20-2c1a-4f3b-8d5e-6f7a8b9c0d04";
    /// "Remote Workers": dynamic group (read-only).
    pub const REMOTE_WORKERS: &str = "8b4e6d20-2c1a-4f3b-8d5e-6f7a8b9c0d05";
    /// "File Share - Matters": security group synced from on-premises (read-only).
    pub const FILE_SHARE: &str = "8b4e6d20-2c1a-4f3b-8d5e-6f7a8b9c0d06";
    /// "Helpdesk Admins": role-assignable security group holding Helpdesk Administrator.
    pub const HELPDESK_ADMINS: &str = "8b4e6d20-2c1a-4f3b-8d5e-6f7a8b9c0d07";
}

/// Directory role template ids.
pub mod roles {
    /// Global Administrator.
    pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
    /// Helpdesk Administrator.
    pub const HELPDESK_ADMINISTRATOR: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";
    /// User Administrator.
    pub const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
}

fn at(year: i32, month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, 9, 0, 0)
        .single()
        .expect("valid seed date")
}

struct Person<'a> {
    id: &'a str,
    login: &'a str,
    given: Option<&'a str>,
    surname: Option<&'a str>,
    display: &'a str,
    department: Option<&'a str>,
    title: Option<&'a str>,
    enabled: bool,
    usage_location: Option<&'a str>,
    synced: bool,
    licenses: &'a [&'a str],
}

fn user(person: Person<'_>) -> SimUser {
    let upn = if person.login.contains('@') {
        person.login.to_string()
    } else {
        format!("{}@{DOMAIN}", person.login)
    };
    SimUser {
        id: person.id.to_string(),
        mail: (!person.licenses.is_empty()
            || person.id == users::RECEPTION
            || person.id == users::ELEANOR)
            .then(|| upn.clone()),
        mail_nickname: upn.split('@').next().unwrap_or_default().to_string(),
        user_principal_name: upn,
        display_name: person.display.to_string(),
        given_name: person.given.map(str::to_string),
        surname: person.surname.map(str::to_string),
        account_enabled: person.enabled,
        usage_location: person.usage_location.map(str::to_string),
        department: person.department.map(str::to_string),
        job_title: person.title.map(str::to_string),
        on_premises_sync_enabled: person.synced,
        password: "Seeded-Passw0rd!2025".into(),
        force_change_password_next_sign_in: false,
        direct_licenses: person.licenses.iter().map(|s| s.to_string()).collect(),
        sign_in_sessions_valid_from: at(2025, 1, 6),
        last_password_change: at(2025, 3, 3),
        created: at(2023, 2, 1),
        user_type: "Member".into(),
        business_phones: Vec::new(),
        methods: vec![method(
            PASSWORD_METHOD_ID,
            MethodKind::Password,
            json!({"password": null}),
        )],
        default_method: None,
    }
}

fn method(id: &str, kind: MethodKind, properties: Value) -> SimAuthMethod {
    SimAuthMethod {
        id: id.to_string(),
        kind,
        properties,
        created: at(2024, 5, 14),
    }
}

fn group(
    id: &str,
    name: &str,
    mail: Option<&str>,
    security: bool,
    group_types: &[&str],
    members: &[&str],
) -> SimGroup {
    SimGroup {
        id: id.to_string(),
        display_name: name.to_string(),
        description: Some(format!("{name} (contoso-law)")),
        mail: mail.map(|m| format!("{m}@{DOMAIN}")),
        mail_nickname: mail
            .map(str::to_string)
            .unwrap_or_else(|| name.to_lowercase().replace(' ', "-")),
        mail_enabled: mail.is_some(),
        security_enabled: security,
        group_types: group_types.iter().map(|t| t.to_string()).collect(),
        membership_rule: None,
        on_premises_sync_enabled: false,
        members: members.iter().map(|m| m.to_string()).collect(),
        assigned_licenses: Vec::new(),
        is_assignable_to_role: false,
    }
}

fn upn(login: &str) -> String {
    format!("{login}@{DOMAIN}")
}

/// Build the contoso-law tenant.
pub(crate) fn contoso_law() -> TenantState {
    use skus::{O365_BUSINESS_PREMIUM as BP, SPE_E3 as E3};
    let mut all = vec![
        user(Person {
            id: users::MARGARET,
            login: "mholloway",
            given: Some("Margaret"),
            surname: Some("Holloway"),
            display: "Margaret Holloway",
            department: Some("Partners"),
            title: Some("Managing Partner"),
            enabled: true,
            usage_location: Some("US"),
            synced: false,
            licenses: &[E3],
        }),
        user(Person {
            id: users::BREAK_GLASS,
            login: "breakglass@contosolaw.onmicrosoft.com",
            given: None,
            surname: None,
            display: "Break Glass (Emergency Access)",
            department: None,
            title: None,
            enabled: true,
            usage_location: None,
            synced: false,
            licenses: &[],
        }),
        user(Person {
            id: users::DANIEL,
            login: "dreyes",
            given: Some("Daniel"),
            surname: Some("Reyes"),
            display: "Daniel Reyes",
            department: Some("Litigation"),
            title: Some("Associate"),
            enabled: true,
            usage_location: Some("US"),
            synced: false,
            licenses: &[E3],
        }),
        user(Person {
            id: users::PRIYA,
            login: "pshah",
            given: Some("Priya"),
            surname: Some("Shah"),
            display: "Priya Shah",
            department: Some("Litigation"),
            title: Some("Paralegal"),
            enabled: true,
            usage_location: Some("US"),
            synced: false,
            licenses: &[],
        }),
        user(Person {
            id: users::TOM,
            login: "tbecker",
            given: Some("Tom"),
            surname: Some("Becker"),
            display: "Tom Becker",
            department: Some("Corporate"),
            title: Some("Legal Secretary"),
            enabled: true,
            usage_location: Some("US"),
            synced: true,
            licenses: &[BP],
        }),
        user(Person {
            id: users::ELEANOR,
            login: "evoss",
            given: Some("Eleanor"),
            surname: Some("Voss"),
            display: "Eleanor Voss",
            department: Some("Corporate"),
            title: Some("Associate"),
            enabled: false,
            usage_location: Some("US"),
            synced: false,
            licenses: &[],
        }),
        user(Person {
            id: users::SAM,
            login: "sokafor",
            given: Some("Sam"),
            surname: Some("Okafor"),
            display: "Sam Okafor",
            department: Some("Operations"),
            title: Some("IT Coordinator"),
            enabled: true,
            usage_location: Some("US"),
            synced: false,
            licenses: &[E3],
        }),
        user(Person {
            id: users::OLIVIA,
            login: "ochen",
            given: Some("Olivia"),
            surname: Some("Chen"),
            display: "Olivia Chen",
            department: Some("Corporate"),
            title: Some("Associate"),
            enabled: true,
            usage_location: None,
            synced: false,
            licenses: &[],
        }),
        user(Person {
            id: users::RECEPTION,
            login: "reception",
            given: None,
            surname: None,
            display: "Reception",
            department: None,
            title: None,
            enabled: false,
            usage_location: Some("US"),
            synced: false,
            licenses: &[],
        }),
    ];

    for person in &mut all {
        match person.id.as_str() {
            users::DANIEL => {
                person.business_phones = vec!["+1 212 555 0143".into()];
                person.methods.extend([
                    method("3179e48a-750b-4051-897c-87b9720928f7", MethodKind::Phone,
                        json!({"phoneNumber": "+1 2125550143", "phoneType": "mobile", "smsSignInState": "notEnabled"})),
                    method("6e5b9c44-8f1a-4d0e-a8d2-1c7e0f9b3a21", MethodKind::MicrosoftAuthenticator,
                        json!({"displayName": "iPhone 15", "deviceTag": "SoftwareTokenActivated", "phoneAppVersion": "6.8.7"})),
                    method("b4f0d3a1-59a2-4a5e-9c1f-7e2d6b8a0c11", MethodKind::Fido2,
                        json!({"displayName": "YubiKey 5 NFC", "aaGuid": "2fc0579f-8113-47ea-b116-bb5a8db9202a",
                               "model": "YubiKey 5 NFC", "attestationCertificates": [], "attestationLevel": "attested"})),
                ]);
                person.default_method = Some("6e5b9c44-8f1a-4d0e-a8d2-1c7e0f9b3a21".into());
            }
            users::MARGARET => {
                person.methods.push(method("9a1d2e3f-4b5c-4d6e-8f70-8192a3b4c5d6", MethodKind::MicrosoftAuthenticator,
                    json!({"displayName": "Pixel 8", "deviceTag": "SoftwareTokenActivated", "phoneAppVersion": "6.2409.6004"})));
                person.default_method = Some("9a1d2e3f-4b5c-4d6e-8f70-8192a3b4c5d6".into());
            }
            users::BREAK_GLASS => {
                person.methods.push(method("c0ffee00-1111-4222-8333-444455556666", MethodKind::Fido2,
                    json!({"displayName": "Safe key A", "model": "YubiKey 5Ci", "attestationCertificates": [], "attestationLevel": "attested"})));
                person.default_method = Some("c0ffee00-1111-4222-8333-444455556666".into());
            }
            users::PRIYA => {
                person.methods.push(method("3179e48a-750b-4051-897c-87b9720928f7", MethodKind::Phone,
                    json!({"phoneNumber": "+1 2125550177", "phoneType": "mobile", "smsSignInState": "notEnabled"})));
                person.default_method = Some("3179e48a-750b-4051-897c-87b9720928f7".into());
            }
            users::SAM => {
                person.methods.extend([
                    method(
                        "0a1b2c3d-0000-4000-8000-00000000aa01",
                        MethodKind::SoftwareOath,
                        json!({"secretKey": null}),
                    ),
                    method(
                        "3ddfcfc8-9383-446f-83cc-3ab9be4be18f",
                        MethodKind::Email,
                        json!({"emailAddress": "sam.okafor@example.net"}),
                    ),
                ]);
                person.default_method = Some("0a1b2c3d-0000-4000-8000-00000000aa01".into());
            }
            _ => {}
        }
    }

    let mut licensing = group(
        groups::LICENSING_E3,
        "Licensing - E3",
        None,
        true,
        &[],
        &[users::PRIYA],
    );
    licensing.assigned_licenses = vec![E3.to_string()];
    let mut dynamic = group(
        groups::REMOTE_WORKERS,
        "Remote Workers",
        None,
        true,
        &["DynamicMembership"],
        &[users::DANIEL, users::OLIVIA],
    );
    dynamic.membership_rule = Some("(user.officeLocation -eq \"Remote\")".into());
    let mut synced = group(
        groups::FILE_SHARE,
        "File Share - Matters",
        None,
        true,
        &[],
        &[users::TOM, users::PRIYA],
    );
    synced.on_premises_sync_enabled = true;
    let mut helpdesk_admins = group(
        groups::HELPDESK_ADMINS,
        "Helpdesk Admins",
        None,
        true,
        &[],
        &[users::TOM],
    );
    helpdesk_admins.is_assignable_to_role = true;
    let all_groups = vec![
        group(
            groups::LITIGATION,
            "Litigation Team",
            None,
            true,
            &[],
            &[users::MARGARET, users::DANIEL],
        ),
        group(
            groups::ALL_STAFF,
            "All Staff",
            Some("allstaff"),
            false,
            &["Unified"],
            &[
                users::MARGARET,
                users::DANIEL,
                users::PRIYA,
                users::TOM,
                users::SAM,
                users::OLIVIA,
            ],
        ),
        group(
            groups::PARTNERS_DL,
            "Partners",
            Some("partners"),
            false,
            &[],
            &[users::MARGARET],
        ),
        licensing,
        dynamic,
        synced,
        helpdesk_admins,
    ];

    let roles = vec![
        SimRole {
            id: "b1c2d3e4-0001-4a00-9000-00000000ad01".into(),
            display_name: "Global Administrator".into(),
            role_template_id: roles::GLOBAL_ADMINISTRATOR.into(),
            members: vec![users::MARGARET.into(), users::BREAK_GLASS.into()],
        },
        SimRole {
            id: "b1c2d3e4-0001-4a00-9000-00000000ad02".into(),
            display_name: "Helpdesk Administrator".into(),
            role_template_id: roles::HELPDESK_ADMINISTRATOR.into(),
            // Sam directly; Tom through the role-assignable group.
            members: vec![users::SAM.into(), groups::HELPDESK_ADMINS.into()],
        },
    ];
    let eligibilities = vec![SimEligibility {
        id: "8MYkhImhnkm70CbBdTyW1BbHHAdHgZdDpbqyEFlRzAs-1-e".into(),
        principal_id: users::OLIVIA.into(),
        role_template_id: roles::USER_ADMINISTRATOR.into(),
        role_display_name: "User Administrator".into(),
        start: at(2025, 4, 1),
        end: None,
    }];

    let skus = vec![
        // Four seats used (Margaret, Daniel, Sam direct; Priya through the group): one free.
        SimSku {
            sku_id: E3.into(),
            sku_part_number: "SPE_E3".into(),
            enabled: 5,
            service_plans: vec![
                (
                    "efb87545-963c-4e0d-99df-69c6916d9eb0".into(),
                    "EXCHANGE_S_ENTERPRISE".into(),
                ),
                (
                    "43de0ff5-c92c-492b-9116-175376d08c38".into(),
                    "OFFICESUBSCRIPTION".into(),
                ),
            ],
        },
        // One seat, used by Tom: full.
        SimSku {
            sku_id: BP.into(),
            sku_part_number: "O365_BUSINESS_PREMIUM".into(),
            enabled: 1,
            service_plans: vec![(
                "9aaf7827-d63c-4b61-89c3-182f06f82e5c".into(),
                "EXCHANGE_S_STANDARD".into(),
            )],
        },
    ];

    let mut state = TenantState {
        tenant_id: TENANT_ID.into(),
        verified_domains: vec![DOMAIN.into(), ONMICROSOFT_DOMAIN.into()],
        app: AppRegistration {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            certificate_thumbprint: CERTIFICATE_THUMBPRINT.into(),
            privileged: false,
            reads_role_eligibility: true,
        },
        tokens: Tokens::default(),
        users: all,
        groups: all_groups,
        roles,
        eligibilities,
        pim_licensed: true,
        skus,
        mailboxes: Vec::new(),
        sent_mail: Vec::new(),
        health_overviews: health_overviews(),
        issues: service_issues(),
    };
    state.provision_mailboxes();
    seed_mailboxes(&mut state);
    state
}

fn seed_mailboxes(state: &mut TenantState) {
    let base = |user_id: &str, alias: &str, display: &str, kind: &str| SimMailbox {
        user_id: user_id.into(),
        alias: alias.into(),
        display_name: display.into(),
        user_principal_name: upn(alias),
        primary_smtp_address: upn(alias),
        recipient_type_details: kind.into(),
        forwarding_smtp_address: None,
        deliver_to_mailbox_and_forward: false,
        hidden_from_address_lists: false,
        grant_send_on_behalf_to: Vec::new(),
        full_access: Vec::new(),
        send_as: Vec::new(),
        auto_reply: AutoReply::default(),
        dir_synced: false,
    };
    let mut reception = base(users::RECEPTION, "reception", "Reception", "SharedMailbox");
    reception.full_access = vec![FullAccessGrant {
        user: upn("pshah"),
        automapping: true,
    }];
    reception.send_as = vec![upn("pshah")];
    reception.grant_send_on_behalf_to = vec![upn("dreyes")];

    // A leaver's mailbox kept as a user mailbox: forwarding to the partner, auto-reply on.
    let mut eleanor = base(users::ELEANOR, "evoss", "Eleanor Voss", "UserMailbox");
    eleanor.forwarding_smtp_address = Some(format!("smtp:{}", upn("mholloway")));
    eleanor.deliver_to_mailbox_and_forward = true;
    eleanor.hidden_from_address_lists = true;
    eleanor.full_access = vec![FullAccessGrant {
        user: upn("mholloway"),
        automapping: false,
    }];
    eleanor.auto_reply = AutoReply {
        state: "Enabled".into(),
        internal_message: "Eleanor has left Contoso Law. Please contact Margaret Holloway.".into(),
        external_message:
            "Eleanor Voss is no longer with Contoso Law. Please write to mholloway@contosolaw.com."
                .into(),
        external_audience: "All".into(),
        start_time: None,
        end_time: None,
    };
    state.mailboxes.push(reception);
    state.mailboxes.push(eleanor);
}

fn health_overviews() -> Vec<Value> {
    [
        ("Exchange", "Exchange Online", "serviceDegradation"),
        ("OrgLiveID", "Microsoft Entra", "serviceOperational"),
        ("Microsoft365Suite", "Microsoft 365 suite", "serviceOperational"),
        ("SharePoint", "SharePoint Online", "serviceOperational"),
        ("microsoftteams", "Microsoft Teams", "serviceOperational"),
    ]
    .into_iter()
    .map(|(id, service, status)| {
        json!({"@odata.type": "#microsoft.graph.serviceHealth", "id": id, "service": service, "status": status})
    })
    .collect()
}

fn service_issues() -> Vec<Value> {
    vec![
        json!({
            "@odata.type": "#microsoft.graph.serviceHealthIssue",
            "id": "EX912345",
            "title": "Some users may be unable to access their mailbox using Outlook on the web",
            "impactDescription": "Users may see an error when opening Outlook on the web; desktop clients are unaffected.",
            "classification": "incident",
            "origin": "microsoft",
            "status": "serviceDegradation",
            "service": "Exchange Online",
            "feature": "Outlook on the web",
            "featureGroup": "Management and Provisioning",
            "isResolved": false,
            "highImpact": null,
            "startDateTime": "2026-11-23T07:40:00Z",
            "endDateTime": null,
            "lastModifiedDateTime": "2026-11-23T11:05:00Z",
            "details": [],
            "posts": [{
                "createdDateTime": "2026-11-23T08:10:00Z",
                "postType": "regular",
                "description": {"contentType": "html", "content": "We're reviewing service telemetry to isolate the cause."}
            }]
        }),
        json!({
            "@odata.type": "#microsoft.graph.serviceHealthIssue",
            "id": "MO887766",
            "title": "Users were intermittently unable to sign in to Microsoft 365",
            "impactDescription": "Sign-in attempts intermittently failed with an authentication error.",
            "classification": "advisory",
            "origin": "microsoft",
            "status": "serviceRestored",
            "service": "Microsoft 365 suite",
            "feature": "Sign-in",
            "featureGroup": "Portal",
            "isResolved": true,
            "highImpact": null,
            "startDateTime": "2026-11-20T13:00:00Z",
            "endDateTime": "2026-11-20T15:30:00Z",
            "lastModifiedDateTime": "2026-11-20T16:00:00Z",
            "details": [],
            "posts": []
        }),
    ]
}
