//! The simulated org, built from an Okta tenant of the world ([`crate::world`]): users with
//! their profile, status, password provider and factors, admin roles, and groups. The world's
//! neutral words are mapped onto Okta's here.
//!
//! The constants are handles on the built-in world's Okta tenant, Globex Corporation, for tests;
//! a unit test keeps each one equal to the world's value.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Map, Value, json};

use crate::world::{AccountStatus, GroupKind, MfaKind, MfaMethod, Person, Tenant};

use super::model::{GroupType, ProviderType, SimFactor, SimGroup, SimUser, UserStatus};

/// The domain of the seeded users' logins.
pub const GLOBEX_DOMAIN: &str = "globex.example";

/// The app that imports Active Directory groups (the `source` of every `APP_GROUP`).
const AD_APP_ID: &str = "0oa1globexadapp00001";

/// Seeded user and group ids, by role in the demo.
pub mod ids {
    /// Hank Scorpio: CEO, SUPER_ADMIN, Okta Verify.
    pub const HANK: &str = "00u1hankscorpio00001";
    /// Waylon Smithers: HELP_DESK_ADMIN, sms.
    pub const WAYLON: &str = "00u1waylonsmither002";
    /// Lenny Leonard: ACTIVE, Okta Verify and sms.
    pub const LENNY: &str = "00u1lennyleonard0003";
    /// Carl Carlson: ACTIVE, sms.
    pub const CARL: &str = "00u1carlcarlson00004";
    /// Frank Grimes: LOCKED_OUT.
    pub const FRANK: &str = "00u1frankgrimes00005";
    /// Mindy Simmons: SUSPENDED.
    pub const MINDY: &str = "00u1mindysimmons0006";
    /// Homer Simpson: sourced from Active Directory, LOCKED_OUT.
    pub const HOMER: &str = "00u1homersimpson0007";
    /// Lisa Simpson: PASSWORD_EXPIRED.
    pub const LISA: &str = "00u1lisasimpson00008";
    /// Marge Simpson: ACTIVE, no factors.
    pub const MARGE: &str = "00u1margesimpson0009";
    /// Bart Simpson: STAGED.
    pub const BART: &str = "00u1bartsimpson00010";
    /// Otto Mann: DEPROVISIONED; still in `Okta Admins`, so ORG_ADMIN through the group.
    pub const OTTO: &str = "00u1ottomann00000011";
    /// Group `Everyone` (BUILT_IN).
    pub const EVERYONE: &str = "00g1globexeveryone01";
    /// Group `Engineering` (OKTA_GROUP).
    pub const ENGINEERING: &str = "00g1globexengineer02";
    /// Group `Sales` (OKTA_GROUP).
    pub const SALES: &str = "00g1globexsales00003";
    /// Group `VPN Users` (OKTA_GROUP).
    pub const VPN: &str = "00g1globexvpnusers04";
    /// Group `Finance` (OKTA_GROUP).
    pub const FINANCE: &str = "00g1globexfinance005";
    /// Group `GLOBEX Domain Admins` (APP_GROUP imported from AD).
    pub const AD_ADMINS: &str = "00g1globexaddomadm06";
    /// Group `Okta Admins` (OKTA_GROUP holding the ORG_ADMIN role).
    pub const OKTA_ADMINS: &str = "00g1globexoktaadm007";
}

fn at(days_ago: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
        - Duration::days(days_ago)
}

/// The users and groups of a world tenant that uses Okta.
///
/// # Panics
///
/// When the tenant has no `[tenants.okta]` table, or has `synced` people but no
/// `okta.directory` for them to come from.
pub(crate) fn org(tenant: &Tenant) -> (Vec<SimUser>, Vec<SimGroup>) {
    let okta = tenant.okta.as_ref().unwrap_or_else(|| {
        panic!(
            "tenant `{}` has no [tenants.okta] table to seed Okta from",
            tenant.key
        )
    });
    let users = tenant
        .people
        .iter()
        .map(|person| {
            let directory = person.synced.then(|| {
                okta.directory.as_deref().unwrap_or_else(|| {
                    panic!(
                        "tenant `{}`: `{}` is synced, but okta.directory names no directory",
                        tenant.key, person.key
                    )
                })
            });
            user(tenant, person, directory)
        })
        .collect();
    let groups = tenant
        .groups
        .iter()
        .map(|group| {
            let group_type = match group.kind {
                GroupKind::BuiltIn => GroupType::BuiltIn,
                GroupKind::Imported => GroupType::AppGroup,
                _ => GroupType::OktaGroup,
            };
            let mut profile = Map::new();
            profile.insert("name".into(), json!(group.name));
            if let Some(description) = &group.description {
                profile.insert("description".into(), json!(description));
            }
            // An imported group's profile carries its directory's attributes.
            profile.extend(group.attributes.clone());
            SimGroup {
                id: group.id.clone(),
                group_type,
                profile,
                members: tenant
                    .members_of(group)
                    .into_iter()
                    .map(|p| p.id.clone())
                    .collect(),
                source_app: (group_type == GroupType::AppGroup).then(|| AD_APP_ID.to_string()),
                created: at(500),
                last_updated: at(100),
                last_membership_updated: at(20),
                roles: group.roles.clone(),
            }
        })
        .collect();
    (users, groups)
}

fn status(status: AccountStatus) -> UserStatus {
    match status {
        AccountStatus::Active => UserStatus::Active,
        AccountStatus::Locked => UserStatus::LockedOut,
        AccountStatus::Suspended | AccountStatus::Disabled => UserStatus::Suspended,
        AccountStatus::PasswordExpired => UserStatus::PasswordExpired,
        AccountStatus::Staged => UserStatus::Staged,
        AccountStatus::Deprovisioned => UserStatus::Deprovisioned,
    }
}

fn user(tenant: &Tenant, person: &Person, directory: Option<&str>) -> SimUser {
    let login = person.email(tenant);
    let manager = person.manager.as_deref().and_then(|key| tenant.person(key));
    let mut profile = Map::new();
    for (key, value) in [
        ("login", Some(login.clone())),
        ("email", Some(login.clone())),
        ("firstName", person.given.clone()),
        ("lastName", person.surname.clone()),
        ("displayName", Some(person.display_name())),
        ("title", person.title.clone()),
        ("department", person.department.clone()),
        ("organization", Some(tenant.company.clone())),
        ("primaryPhone", person.phone.clone()),
        ("manager", manager.map(Person::display_name)),
        ("managerId", manager.map(|m| m.id.clone())),
    ] {
        if let Some(value) = value {
            profile.insert(key.into(), Value::String(value));
        }
    }
    let status = status(person.status);
    // A staged user has never signed in; a deprovisioned one has had everything revoked.
    let active_ever = status != UserStatus::Staged;
    let signed_in = active_ever && status != UserStatus::Deprovisioned;
    let (provider, provider_name) = match directory {
        Some(directory) => (ProviderType::ActiveDirectory, directory.to_string()),
        None => (ProviderType::Okta, "OKTA".to_string()),
    };
    let first = person.given.as_deref().unwrap_or(person.username());
    SimUser {
        id: person.id.clone(),
        status,
        profile,
        provider,
        provider_name,
        password: active_ever.then(|| format!("Seeded-{first}-Pw1!")),
        factors: person.mfa.iter().map(|m| factor(&login, m)).collect(),
        roles: person.roles.clone(),
        sessions: if signed_in { 2 } else { 0 },
        oauth_tokens: u32::from(signed_in),
        remembered_devices: u32::from(signed_in),
        reset_token: None,
        created: at(400),
        activated: active_ever.then(|| at(399)),
        status_changed: Some(at(30)),
        last_login: active_ever.then(|| at(1)),
        last_updated: at(30),
        password_changed: active_ever.then(|| at(90)),
    }
}

/// An MFA method as the Okta factor it is: Okta Verify's push and code factors share an
/// enrolment; a code without one is Google Authenticator's.
fn factor(login: &str, method: &MfaMethod) -> SimFactor {
    let (factor_type, provider, profile, created) = match method.kind {
        MfaKind::Push => (
            "push",
            "OKTA",
            json!({
                "credentialId": login,
                "deviceType": "SmartPhone_IPhone",
                "name": method.label,
                "platform": "IOS",
                "version": "9.0",
            }),
            at(200),
        ),
        MfaKind::Totp => (
            "token:software:totp",
            if method.enrollment.is_some() {
                "OKTA"
            } else {
                "GOOGLE"
            },
            json!({"credentialId": login}),
            at(200),
        ),
        MfaKind::Phone => ("sms", "OKTA", json!({"phoneNumber": method.phone}), at(150)),
        MfaKind::Fido2 => (
            "webauthn",
            "FIDO",
            json!({
                "authenticatorName": method.model.as_ref().or(method.label.as_ref()),
                "credentialId": method.id,
            }),
            at(200),
        ),
        MfaKind::Email => ("email", "OKTA", json!({"email": method.email}), at(200)),
    };
    SimFactor {
        id: method.id.clone(),
        factor_type: factor_type.into(),
        provider: provider.into(),
        status: "ACTIVE".into(),
        profile,
        okta_verify_enrollment: method.enrollment.clone(),
        created,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;

    fn globex() -> &'static Tenant {
        World::builtin().tenant("globex").expect("globex")
    }

    #[test]
    fn handles_agree_with_the_world() {
        let tenant = globex();
        assert_eq!(GLOBEX_DOMAIN, tenant.domain);
        let okta = tenant.okta.as_ref().expect("okta");
        assert_eq!(super::super::GLOBEX_API_TOKEN, okta.api_token);
        assert_eq!(super::super::GLOBEX_CLIENT_ID, okta.client_id);
        for (handle, key) in [
            (ids::HANK, "hank.scorpio"),
            (ids::WAYLON, "waylon.smithers"),
            (ids::LENNY, "lenny.leonard"),
            (ids::CARL, "carl.carlson"),
            (ids::FRANK, "frank.grimes"),
            (ids::MINDY, "mindy.simmons"),
            (ids::HOMER, "homer.simpson"),
            (ids::LISA, "lisa.simpson"),
            (ids::MARGE, "marge.simpson"),
            (ids::BART, "bart.simpson"),
            (ids::OTTO, "otto.mann"),
        ] {
            assert_eq!(
                Some(handle),
                tenant.person(key).map(|p| p.id.as_str()),
                "{key}"
            );
        }
        for (handle, name) in [
            (ids::EVERYONE, "Everyone"),
            (ids::ENGINEERING, "Engineering"),
            (ids::SALES, "Sales"),
            (ids::VPN, "VPN Users"),
            (ids::FINANCE, "Finance"),
            (ids::AD_ADMINS, "GLOBEX Domain Admins"),
            (ids::OKTA_ADMINS, "Okta Admins"),
        ] {
            let group = tenant.groups.iter().find(|g| g.name == name);
            assert_eq!(Some(handle), group.map(|g| g.id.as_str()), "{name}");
        }
    }
}
