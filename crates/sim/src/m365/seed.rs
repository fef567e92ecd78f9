//! The simulated tenant, built from an M365 tenant of the world ([`crate::world`]): users and
//! their authentication methods, groups, directory roles and PIM eligibility, licences and
//! Exchange mailboxes. The world's neutral words are mapped onto Entra's here; Entra's own
//! catalogue (role template ids, key AAGUIDs) is in [`catalog`].
//!
//! The constants are handles on the built-in world's M365 tenant, the law firm "contoso-law",
//! for tests; a unit test keeps each one equal to the world's value.

use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use crate::oauth::Tokens;
use crate::world::{
    AccountKind, AccountStatus, Group, GroupKind, MfaKind, MfaMethod, Person, Tenant,
};

use super::catalog;
use super::health;
use super::state::{
    AppRegistration, AutoReply, FullAccessGrant, MethodKind, SimAuthMethod, SimEligibility,
    SimGroup, SimMailbox, SimRole, SimSku, SimUser, TenantState, phone_type_of,
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

/// The password every seeded user has (the simulator's knowledge; Graph never returns it).
const SEEDED_PASSWORD: &str = "Seeded-Passw0rd!2025";

fn at(year: i32, month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, 9, 0, 0)
        .single()
        .expect("valid seed date")
}

/// Build the state of a world tenant that uses Microsoft 365.
///
/// # Panics
///
/// When the tenant has no `[tenants.m365]` table, or names what Entra has no equivalent for: a
/// role missing from [`catalog::ROLES`], or a `built_in` group.
pub(crate) fn tenant_state(tenant: &Tenant) -> TenantState {
    let m365 = tenant.m365.as_ref().unwrap_or_else(|| {
        panic!(
            "tenant `{}` has no [tenants.m365] table to seed Microsoft 365 from",
            tenant.key
        )
    });
    let mut state = TenantState {
        tenant_id: m365.tenant_id.clone(),
        company: tenant.company.clone(),
        verified_domains: vec![tenant.domain.clone(), m365.onmicrosoft_domain.clone()],
        // The AD forest synced users come from: `corp.<domain's first label>.local`.
        on_premises_domain: format!(
            "corp.{}.local",
            tenant.domain.split('.').next().unwrap_or(&tenant.domain)
        ),
        app: AppRegistration {
            client_id: m365.client_id.clone(),
            client_secret: m365.client_secret.clone(),
            certificate_thumbprint: m365.certificate_thumbprint.clone(),
            privileged: false,
            reads_role_eligibility: true,
        },
        tokens: Tokens::default(),
        users: tenant.people.iter().map(|p| user(tenant, p)).collect(),
        groups: tenant.groups.iter().map(|g| group(tenant, g)).collect(),
        roles: roles(tenant),
        eligibilities: eligibilities(tenant),
        pim_licensed: m365.pim_licensed,
        skus: tenant
            .licences
            .iter()
            .map(|l| SimSku {
                sku_id: l.sku_id.clone(),
                sku_part_number: l.part_number.clone(),
                enabled: l.seats,
                service_plans: l
                    .service_plans
                    .iter()
                    .map(|p| (p.id.clone(), p.name.clone()))
                    .collect(),
            })
            .collect(),
        mailboxes: Vec::new(),
        sent_mail: Vec::new(),
        health_overviews: health::overviews(tenant),
        issues: health::issues(tenant, Utc::now()),
    };
    state.provision_mailboxes();
    seed_mailboxes(tenant, &mut state);
    state
}

/// The sku id of a part number the tenant bought (the world checks that it did).
fn sku_id(tenant: &Tenant, part_number: &str) -> String {
    tenant
        .licences
        .iter()
        .find(|l| l.part_number == part_number)
        .map(|l| l.sku_id.clone())
        .unwrap_or_else(|| panic!("tenant `{}` has not bought `{part_number}`", tenant.key))
}

fn user(tenant: &Tenant, person: &Person) -> SimUser {
    let upn = person.email(tenant);
    // Users with an Exchange licence or a kept mailbox have an address; the rest get one
    // when a licence first lands (`provision_mailboxes`).
    let has_mailbox = !person.licences.is_empty()
        || person.mailbox.is_some()
        || person.kind == AccountKind::SharedMailbox;
    let mut methods = vec![SimAuthMethod::password(at(2024, 5, 14))];
    methods.extend(person.mfa.iter().map(auth_method));
    SimUser {
        id: person.id.clone(),
        mail: has_mailbox.then(|| upn.clone()),
        mail_nickname: person.username().to_string(),
        user_principal_name: upn,
        display_name: person.display_name(),
        given_name: person.given.clone(),
        surname: person.surname.clone(),
        // Entra has one switch: a leaver's switched-off account is a blocked one too.
        account_enabled: !matches!(
            person.status,
            AccountStatus::Disabled | AccountStatus::Deprovisioned
        ),
        usage_location: person.usage_location.clone(),
        department: person.department.clone(),
        job_title: person.title.clone(),
        on_premises_sync_enabled: person.synced,
        password: SEEDED_PASSWORD.into(),
        force_change_password_next_sign_in: false,
        direct_licenses: person.licences.iter().map(|p| sku_id(tenant, p)).collect(),
        sign_in_sessions_valid_from: at(2025, 1, 6),
        last_password_change: at(2025, 3, 3),
        created: at(2023, 2, 1),
        user_type: "Member".into(),
        business_phones: person.phone.iter().cloned().collect(),
        methods,
        default_method: person.mfa.iter().find(|m| m.default).map(|m| m.id.clone()),
        manager: person
            .manager
            .as_deref()
            .and_then(|key| tenant.person(key))
            .map(|m| m.id.clone()),
    }
}

/// An MFA method in Graph's shape for its kind.
fn auth_method(method: &MfaMethod) -> SimAuthMethod {
    let (kind, properties) = match method.kind {
        MfaKind::Phone => (
            MethodKind::Phone,
            json!({
                "phoneNumber": method.phone,
                "phoneType": phone_type_of(&method.id).unwrap_or("mobile"),
                "smsSignInState": "notEnabled",
            }),
        ),
        MfaKind::Push => (
            MethodKind::MicrosoftAuthenticator,
            json!({
                "displayName": method.label,
                "deviceTag": "SoftwareTokenActivated",
                "phoneAppVersion": method.app_version,
            }),
        ),
        MfaKind::Totp => (MethodKind::SoftwareOath, json!({"secretKey": null})),
        MfaKind::Fido2 => {
            let mut properties = json!({
                "displayName": method.label,
                "model": method.model,
                "attestationCertificates": [],
                "attestationLevel": "attested",
            });
            if let Some(aaguid) = method.model.as_deref().and_then(catalog::fido2_aaguid) {
                properties["aaGuid"] = json!(aaguid);
            }
            (MethodKind::Fido2, properties)
        }
        MfaKind::Email => (MethodKind::Email, json!({"emailAddress": method.email})),
    };
    SimAuthMethod {
        id: method.id.clone(),
        kind,
        properties,
        created: at(2024, 5, 14),
    }
}

fn group(tenant: &Tenant, group: &Group) -> SimGroup {
    let (security, group_types) = match group.kind {
        GroupKind::Security | GroupKind::Imported => (true, vec![]),
        GroupKind::Dynamic => (true, vec!["DynamicMembership".to_string()]),
        GroupKind::Microsoft365 => (false, vec!["Unified".to_string()]),
        GroupKind::Distribution => (false, vec![]),
        GroupKind::BuiltIn => panic!(
            "tenant `{}`: group `{}` is built_in, which Entra ID has no equivalent of",
            tenant.key, group.name
        ),
    };
    let mail_enabled = group.mail.is_some()
        || matches!(
            group.kind,
            GroupKind::Microsoft365 | GroupKind::Distribution
        );
    let mail_nickname = group
        .mail
        .clone()
        .unwrap_or_else(|| group.name.to_lowercase().replace(' ', "-"));
    SimGroup {
        id: group.id.clone(),
        display_name: group.name.clone(),
        description: group.description.clone(),
        mail: mail_enabled.then(|| format!("{mail_nickname}@{}", tenant.domain)),
        mail_nickname,
        mail_enabled,
        security_enabled: security,
        group_types,
        membership_rule: group.rule.clone(),
        // An imported group can only come from on-premises AD in Entra.
        on_premises_sync_enabled: group.synced || group.kind == GroupKind::Imported,
        members: tenant
            .members_of(group)
            .into_iter()
            .map(|p| p.id.clone())
            .collect(),
        assigned_licenses: group.licences.iter().map(|p| sku_id(tenant, p)).collect(),
        is_assignable_to_role: group.role_assignable,
    }
}

/// A built-in role by the world's name, or a panic naming the roles the simulator knows.
fn catalog_role(tenant: &Tenant, name: &str) -> (&'static str, &'static str) {
    catalog::role(name).unwrap_or_else(|| {
        let known: Vec<&str> = catalog::ROLES.iter().map(|(n, _)| *n).collect();
        panic!(
            "tenant `{}` names Entra role `{name}`, which the simulator does not know (known: {})",
            tenant.key,
            known.join(", ")
        )
    })
}

/// Activated directory roles, with their holders: people first, then role-assignable groups.
fn roles(tenant: &Tenant) -> Vec<SimRole> {
    let holders = tenant
        .people
        .iter()
        .flat_map(|p| p.roles.iter().map(move |r| (r, &p.id)))
        .chain(
            tenant
                .groups
                .iter()
                .flat_map(|g| g.roles.iter().map(move |r| (r, &g.id))),
        );
    let mut roles: Vec<SimRole> = Vec::new();
    for (name, principal) in holders {
        let (display_name, template_id) = catalog_role(tenant, name);
        match roles.iter_mut().find(|r| r.role_template_id == template_id) {
            Some(role) => role.members.push(principal.clone()),
            None => {
                let n = roles.len() + 1;
                roles.push(SimRole {
                    id: format!("b1c2d3e4-0001-4a00-9000-00000000ad{n:02x}"),
                    display_name: display_name.into(),
                    role_template_id: template_id.into(),
                    members: vec![principal.clone()],
                });
            }
        }
    }
    roles
}

/// PIM eligibilities. Their ids are formed as Entra forms them: base64url of the role
/// definition's and the principal's GUID bytes, then `-1-e`.
fn eligibilities(tenant: &Tenant) -> Vec<SimEligibility> {
    let guid_bytes = |id: &str| {
        uuid::Uuid::parse_str(id)
            .map(|u| u.to_bytes_le().to_vec())
            .unwrap_or_else(|_| id.as_bytes().to_vec())
    };
    tenant
        .people
        .iter()
        .flat_map(|p| p.eligible_roles.iter().map(move |r| (p, r)))
        .map(|(person, name)| {
            let (display_name, template_id) = catalog_role(tenant, name);
            let mut key = guid_bytes(template_id);
            key.extend(guid_bytes(&person.id));
            SimEligibility {
                id: format!(
                    "{}-1-e",
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
                ),
                principal_id: person.id.clone(),
                role_template_id: template_id.into(),
                role_display_name: display_name.into(),
                start: at(2025, 4, 1),
                end: None,
            }
        })
        .collect()
}

/// Shared mailboxes, then the user mailboxes a leaver's settings apply to.
fn seed_mailboxes(tenant: &Tenant, state: &mut TenantState) {
    let email = |key: &str| {
        tenant
            .person(key)
            .map(|p| p.email(tenant))
            .unwrap_or_else(|| key.to_string())
    };
    let emails = |keys: &[String]| keys.iter().map(|k| email(k)).collect::<Vec<_>>();
    for shared in &tenant.shared_mailboxes {
        let Some(person) = tenant.person(&shared.person) else {
            continue;
        };
        let mailbox = mailbox_of(state, person);
        mailbox.recipient_type_details = "SharedMailbox".into();
        // Add-MailboxPermission maps a mailbox into Outlook unless told otherwise.
        mailbox.full_access = emails(&shared.full_access)
            .into_iter()
            .map(|user| FullAccessGrant {
                user,
                automapping: true,
            })
            .collect();
        mailbox.send_as = emails(&shared.send_as);
        mailbox.grant_send_on_behalf_to = emails(&shared.send_on_behalf);
    }
    for person in &tenant.people {
        let Some(settings) = &person.mailbox else {
            continue;
        };
        let mailbox = mailbox_of(state, person);
        mailbox.forwarding_smtp_address = settings
            .forward_to
            .as_deref()
            .map(|key| format!("smtp:{}", email(key)));
        mailbox.deliver_to_mailbox_and_forward = settings.keep_copy;
        mailbox.hidden_from_address_lists = settings.hidden;
        // A leaver's mailbox is opened on demand, not mapped into the manager's Outlook.
        mailbox.full_access = emails(&settings.full_access)
            .into_iter()
            .map(|user| FullAccessGrant {
                user,
                automapping: false,
            })
            .collect();
        if settings.auto_reply_internal.is_some() || settings.auto_reply_external.is_some() {
            mailbox.auto_reply = AutoReply {
                state: "Enabled".into(),
                internal_message: settings.auto_reply_internal.clone().unwrap_or_default(),
                external_message: settings.auto_reply_external.clone().unwrap_or_default(),
                ..AutoReply::default()
            };
        }
    }
}

/// The person's mailbox, created as a plain user mailbox when a licence has not made one.
fn mailbox_of<'a>(state: &'a mut TenantState, person: &Person) -> &'a mut SimMailbox {
    let index = match state.mailboxes.iter().position(|m| m.user_id == person.id) {
        Some(index) => index,
        None => {
            let user = state.find_user(&person.id).expect("every person is a user");
            state.mailboxes.push(SimMailbox::for_user(user));
            state.mailboxes.len() - 1
        }
    };
    &mut state.mailboxes[index]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;

    fn contoso() -> &'static Tenant {
        World::builtin().tenant("contoso-law").expect("contoso-law")
    }

    #[test]
    fn handles_agree_with_the_world() {
        let tenant = contoso();
        let m365 = tenant.m365.as_ref().expect("m365");
        assert_eq!(TENANT_ID, m365.tenant_id);
        assert_eq!(DOMAIN, tenant.domain);
        assert_eq!(ONMICROSOFT_DOMAIN, m365.onmicrosoft_domain);
        assert_eq!(CLIENT_ID, m365.client_id);
        assert_eq!(CLIENT_SECRET, m365.client_secret);
        assert_eq!(CERTIFICATE_THUMBPRINT, m365.certificate_thumbprint);
        for (handle, part) in [
            (skus::SPE_E3, "SPE_E3"),
            (skus::O365_BUSINESS_PREMIUM, "O365_BUSINESS_PREMIUM"),
        ] {
            assert_eq!(handle, sku_id(tenant, part), "{part}");
        }
        for (handle, key) in [
            (users::MARGARET, "margaret.holloway"),
            (users::BREAK_GLASS, "break-glass"),
            (users::DANIEL, "daniel.reyes"),
            (users::PRIYA, "priya.shah"),
            (users::TOM, "tom.becker"),
            (users::ELEANOR, "eleanor.voss"),
            (users::SAM, "sam.okafor"),
            (users::OLIVIA, "olivia.chen"),
            (users::RECEPTION, "reception"),
        ] {
            assert_eq!(
                Some(handle),
                tenant.person(key).map(|p| p.id.as_str()),
                "{key}"
            );
        }
        for (handle, name) in [
            (groups::LITIGATION, "Litigation Team"),
            (groups::ALL_STAFF, "All Staff"),
            (groups::PARTNERS_DL, "Partners"),
            (groups::LICENSING_E3, "Licensing - E3"),
            (groups::REMOTE_WORKERS, "Remote Workers"),
            (groups::FILE_SHARE, "File Share - Matters"),
            (groups::HELPDESK_ADMINS, "Helpdesk Admins"),
        ] {
            let group = tenant.groups.iter().find(|g| g.name == name);
            assert_eq!(Some(handle), group.map(|g| g.id.as_str()), "{name}");
        }
    }

    #[test]
    #[should_panic(expected = "which the simulator does not know")]
    fn an_unknown_role_is_refused_by_name() {
        let mut tenant = contoso().clone();
        tenant.people[0].roles = vec!["Chief Coffee Officer".into()];
        let _ = tenant_state(&tenant);
    }
}
