//! The demo org: Globex Corporation on Okta.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Map, Value, json};

use super::model::{GroupType, ProviderType, SimFactor, SimGroup, SimUser, UserStatus};

/// The domain of the seeded users' logins.
pub const GLOBEX_DOMAIN: &str = "globex.example";

fn at(days_ago: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
        - Duration::days(days_ago)
}

struct Person<'a> {
    id: &'a str,
    first: &'a str,
    last: &'a str,
    title: &'a str,
    department: &'a str,
    status: UserStatus,
}

fn user(person: Person<'_>) -> SimUser {
    let login = format!(
        "{}.{}@{GLOBEX_DOMAIN}",
        person.first.to_lowercase(),
        person.last.to_lowercase()
    );
    let mut profile = Map::new();
    for (key, value) in [
        ("firstName", person.first.to_string()),
        ("lastName", person.last.to_string()),
        ("displayName", format!("{} {}", person.first, person.last)),
        ("email", login.clone()),
        ("login", login),
        ("title", person.title.to_string()),
        ("department", person.department.to_string()),
        ("organization", "Globex Corporation".to_string()),
    ] {
        profile.insert(key.into(), Value::String(value));
    }
    let active_ever = !matches!(person.status, UserStatus::Staged);
    SimUser {
        id: person.id.to_string(),
        status: person.status,
        profile,
        provider: ProviderType::Okta,
        provider_name: "OKTA".into(),
        password: active_ever.then(|| format!("Seeded-{}-Pw1!", person.first)),
        factors: Vec::new(),
        roles: Vec::new(),
        sessions: if active_ever { 2 } else { 0 },
        oauth_tokens: if active_ever { 1 } else { 0 },
        remembered_devices: if active_ever { 1 } else { 0 },
        reset_token: None,
        created: at(400),
        activated: active_ever.then(|| at(399)),
        status_changed: Some(at(30)),
        last_login: active_ever.then(|| at(1)),
        last_updated: at(30),
        password_changed: active_ever.then(|| at(90)),
    }
}

fn okta_verify(user: &mut SimUser, enrollment: &str, push_id: &str, totp_id: &str, phone: &str) {
    let login = user.login().to_string();
    user.factors.push(SimFactor {
        id: push_id.into(),
        factor_type: "push".into(),
        provider: "OKTA".into(),
        status: "ACTIVE".into(),
        profile: json!({
            "credentialId": login,
            "deviceType": "SmartPhone_IPhone",
            "name": phone,
            "platform": "IOS",
            "version": "9.0",
        }),
        okta_verify_enrollment: Some(enrollment.into()),
        created: at(200),
    });
    user.factors.push(SimFactor {
        id: totp_id.into(),
        factor_type: "token:software:totp".into(),
        provider: "OKTA".into(),
        status: "ACTIVE".into(),
        profile: json!({"credentialId": login}),
        okta_verify_enrollment: Some(enrollment.into()),
        created: at(200),
    });
}

fn sms(user: &mut SimUser, id: &str, phone: &str) {
    user.factors.push(SimFactor {
        id: id.into(),
        factor_type: "sms".into(),
        provider: "OKTA".into(),
        status: "ACTIVE".into(),
        profile: json!({"phoneNumber": phone}),
        okta_verify_enrollment: None,
        created: at(150),
    });
}

fn group(id: &str, group_type: GroupType, profile: Value, members: &[&str]) -> SimGroup {
    SimGroup {
        id: id.into(),
        group_type,
        profile: match profile {
            Value::Object(map) => map,
            _ => Map::new(),
        },
        members: members.iter().map(|m| m.to_string()).collect(),
        source_app: (group_type == GroupType::AppGroup).then(|| "0oa1globexadapp00001".to_string()),
        created: at(500),
        last_updated: at(100),
        last_membership_updated: at(20),
        roles: Vec::new(),
    }
}

/// Seeded user ids, by role in the demo.
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

/// The Globex users and groups.
pub(crate) fn globex() -> (Vec<SimUser>, Vec<SimGroup>) {
    use ids::*;
    let person = |id, first, last, title, department, status| {
        user(Person {
            id,
            first,
            last,
            title,
            department,
            status,
        })
    };
    let mut hank = person(
        HANK,
        "Hank",
        "Scorpio",
        "CEO",
        "Executive",
        UserStatus::Active,
    );
    hank.roles.push("SUPER_ADMIN".into());
    okta_verify(
        &mut hank,
        "ovhank",
        "opf1hankpush00000001",
        "ost1hanktotp00000001",
        "Hank's iPhone",
    );

    let mut waylon = person(
        WAYLON,
        "Waylon",
        "Smithers",
        "IT Manager",
        "IT",
        UserStatus::Active,
    );
    waylon.roles.push("HELP_DESK_ADMIN".into());
    sms(&mut waylon, "mbl1waylonsms0000001", "+15554150002");

    let mut lenny = person(
        LENNY,
        "Lenny",
        "Leonard",
        "Engineer",
        "Engineering",
        UserStatus::Active,
    );
    okta_verify(
        &mut lenny,
        "ovlenny",
        "opf1lennypush0000001",
        "ost1lennytotp0000001",
        "Lenny's Pixel",
    );
    sms(&mut lenny, "mbl1lennysms00000001", "+15554150003");

    let mut carl = person(
        CARL,
        "Carl",
        "Carlson",
        "Engineer",
        "Engineering",
        UserStatus::Active,
    );
    sms(&mut carl, "mbl1carlsms000000001", "+15554150004");

    let mut frank = person(
        FRANK,
        "Frank",
        "Grimes",
        "Safety Inspector",
        "Engineering",
        UserStatus::LockedOut,
    );
    okta_verify(
        &mut frank,
        "ovfrank",
        "opf1frankpush0000001",
        "ost1franktotp0000001",
        "Frank's phone",
    );

    let mindy = person(
        MINDY,
        "Mindy",
        "Simmons",
        "Engineer",
        "Engineering",
        UserStatus::Suspended,
    );

    let mut homer = person(
        HOMER,
        "Homer",
        "Simpson",
        "Safety Inspector",
        "Operations",
        UserStatus::LockedOut,
    );
    homer.provider = ProviderType::ActiveDirectory;
    homer.provider_name = "globex.local".into();
    sms(&mut homer, "mbl1homersms00000001", "+15554150007");

    let lisa = person(
        LISA,
        "Lisa",
        "Simpson",
        "Analyst",
        "Finance",
        UserStatus::PasswordExpired,
    );
    let marge = person(
        MARGE,
        "Marge",
        "Simpson",
        "Account Manager",
        "Sales",
        UserStatus::Active,
    );
    let mut bart = person(
        BART,
        "Bart",
        "Simpson",
        "Intern",
        "Sales",
        UserStatus::Staged,
    );
    bart.last_login = None;
    let mut otto = person(
        OTTO,
        "Otto",
        "Mann",
        "Driver",
        "Operations",
        UserStatus::Deprovisioned,
    );
    otto.sessions = 0;
    otto.oauth_tokens = 0;
    otto.remembered_devices = 0;

    let users = vec![
        hank, waylon, lenny, carl, frank, mindy, homer, lisa, marge, bart, otto,
    ];
    let everyone: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    // An admin role assigned to a group: its members are admins without a role of their own.
    let mut okta_admins = group(
        OKTA_ADMINS,
        GroupType::OktaGroup,
        json!({"name": "Okta Admins", "description": "Organization administrators"}),
        &[OTTO],
    );
    okta_admins.roles.push("ORG_ADMIN".into());
    let groups = vec![
        group(
            EVERYONE,
            GroupType::BuiltIn,
            json!({"name": "Everyone", "description": "All users in your organization"}),
            &everyone,
        ),
        group(
            ENGINEERING,
            GroupType::OktaGroup,
            json!({"name": "Engineering", "description": "Plant engineering staff"}),
            &[LENNY, CARL, FRANK, MINDY],
        ),
        group(
            SALES,
            GroupType::OktaGroup,
            json!({"name": "Sales", "description": "Sales and account management"}),
            &[MARGE, BART],
        ),
        group(
            VPN,
            GroupType::OktaGroup,
            json!({"name": "VPN Users", "description": "Remote access to the plant network"}),
            &[HANK, LENNY, WAYLON],
        ),
        group(
            FINANCE,
            GroupType::OktaGroup,
            json!({"name": "Finance", "description": "Finance team"}),
            &[LISA],
        ),
        group(
            AD_ADMINS,
            GroupType::AppGroup,
            json!({
                "name": "GLOBEX Domain Admins",
                "description": "Imported from Active Directory",
                "groupType": "Security",
                "samAccountName": "Domain Admins",
                "objectSid": "S-1-5-21-717838489-685202119-709183397-512",
                "groupScope": "Global",
                "dn": "CN=Domain Admins,CN=Users,DC=globex,DC=local",
                "windowsDomainQualifiedName": "GLOBEX\\Domain Admins",
                "externalId": "OZJdWdONCU6h7WjQKp+LPA=="
            }),
            &[HOMER, WAYLON],
        ),
        okta_admins,
    ];
    (users, groups)
}
