//! A deterministic generator of MSP ticket history that reads like the real thing: varied
//! phrasing for the routine requests (password resets, lockouts, MFA, access, licences, new
//! starters, leavers) and plenty that is not routine (printers, VPN, phishing, backups, quotes).
//!
//! It is vendor-neutral on purpose and shared by the PSA simulators: it produces subjects,
//! bodies, internal work notes, customer-facing updates, resolutions, requesters and dates from a
//! seed, and each simulator maps them onto its own records (ConnectWise boards, statuses and note
//! flags; Autotask picklist ids). The same seed always yields the same tickets.
//!
//! The organisation comes from a tenant of the [world](crate::world): its staff raise the
//! tickets with their real addresses, and the colleagues and leavers a request names are among
//! them. Only new starters get invented names.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use stackhand_sim::history::{HistoryGenerator, Organisation};
//! use stackhand_sim::world::World;
//! let org = Organisation::from_world(World::builtin().tenant("contoso-law").unwrap());
//! let anchor = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
//! let mut generator = HistoryGenerator::new(7, org, anchor, 3);
//! let ticket = generator.next_ticket();
//! assert!(!ticket.subject.is_empty() && !ticket.resolution.is_empty());
//! assert!(ticket.created < ticket.closed && ticket.closed < anchor);
//! println!("{} ({})", ticket.subject, ticket.category.label());
//! ```

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use crate::world::{AccountStatus, Priority, Tenant, TicketSource};

/// Someone at the client who raises tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Given name.
    pub first: String,
    /// Family name.
    pub last: String,
    /// Email address.
    pub email: String,
}

impl Person {
    /// A person.
    pub fn new(first: &str, last: &str, email: &str) -> Self {
        Self {
            first: first.to_string(),
            last: last.to_string(),
            email: email.to_string(),
        }
    }
}

/// The client organisation the history is generated for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    /// Display name.
    pub name: String,
    /// Email domain.
    pub domain: String,
    /// The people who raise tickets (at least one).
    pub people: Vec<Person>,
    /// How staff refer to their main line-of-business application.
    pub business_app: String,
}

impl Organisation {
    /// A world tenant's organisation: its company name, domain and business application, and
    /// its staff as the people who raise tickets. A new starter who has not started yet
    /// (`staged`) has no history to raise tickets in.
    pub fn from_world(tenant: &Tenant) -> Self {
        Self {
            name: tenant.company.clone(),
            domain: tenant.domain.clone(),
            people: tenant
                .staff()
                .filter(|p| p.status != AccountStatus::Staged)
                .map(|p| {
                    let first = p.given.clone().unwrap_or_else(|| p.display_name());
                    let last = p.surname.clone().unwrap_or_default();
                    Person::new(&first, &last, &p.email(tenant))
                })
                .collect(),
            business_app: tenant.business_app.clone(),
        }
    }
}

/// What a ticket was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// Forgotten or expired password.
    PasswordReset,
    /// Account locked out.
    AccountLockout,
    /// MFA re-enrolment (new phone, lost phone).
    MfaReset,
    /// Access to a shared mailbox.
    MailboxAccess,
    /// Access to a group, shared folder or Teams site.
    GroupAccess,
    /// A licence to add or change.
    Licence,
    /// A new starter to set up.
    NewStarter,
    /// A leaver to offboard.
    Leaver,
    /// Anything else: hardware, network, security, line-of-business apps, quotes.
    Other(&'static str),
}

impl Category {
    /// Whether the request is one of the routine L1 kinds.
    pub fn is_routine(self) -> bool {
        !matches!(self, Category::Other(_))
    }

    /// A short label (`password_reset`, `other:printer`).
    pub fn label(self) -> String {
        match self {
            Category::PasswordReset => "password_reset".into(),
            Category::AccountLockout => "account_lockout".into(),
            Category::MfaReset => "mfa_reset".into(),
            Category::MailboxAccess => "mailbox_access".into(),
            Category::GroupAccess => "group_access".into(),
            Category::Licence => "licence".into(),
            Category::NewStarter => "new_starter".into(),
            Category::Leaver => "leaver".into(),
            Category::Other(kind) => format!("other:{kind}"),
        }
    }
}

/// How the ticket came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Email to the help desk.
    Email,
    /// The client portal.
    Portal,
    /// A phone call.
    Phone,
    /// An alert from monitoring.
    Monitoring,
}

impl From<TicketSource> for Channel {
    fn from(source: TicketSource) -> Self {
        match source {
            TicketSource::Email => Channel::Email,
            TicketSource::Portal => Channel::Portal,
            TicketSource::Phone => Channel::Phone,
            TicketSource::Monitoring => Channel::Monitoring,
        }
    }
}

/// Who may read a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteVisibility {
    /// Technicians only (work notes).
    Internal,
    /// Visible to the client (updates and replies).
    Customer,
}

/// One note on a historical ticket, between its creation and its close.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoricalNote {
    /// The note text.
    pub text: String,
    /// Who may read it.
    pub visibility: NoteVisibility,
    /// When it was written.
    pub at: DateTime<Utc>,
}

/// One closed ticket from the past year, ready to be mapped onto a simulator's records.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoricalTicket {
    /// What it was about.
    pub category: Category,
    /// Index of the requester in [`Organisation::people`].
    pub requester: usize,
    /// Subject line (at most 100 characters).
    pub subject: String,
    /// The initial description.
    pub body: String,
    /// How it came in.
    pub channel: Channel,
    /// 1 (critical) to 4 (low).
    pub priority: u8,
    /// Work notes and customer updates in the order they were written: at least one internal
    /// note, then the customer update if the technician sent one.
    pub notes: Vec<HistoricalNote>,
    /// The resolution, written when the ticket closed.
    pub resolution: String,
    /// Index of the technician who worked it, below the count given to the generator.
    pub technician: usize,
    /// When it was opened: a working hour within the year before the anchor.
    pub created: DateTime<Utc>,
    /// When it was closed: after `created` and at least an hour before the anchor.
    pub closed: DateTime<Utc>,
    /// Hours logged.
    pub hours: f64,
}

impl HistoricalTicket {
    /// The priority in the world's words, for the PSA simulators to map as they map open
    /// tickets.
    pub fn neutral_priority(&self) -> Priority {
        match self.priority {
            1 => Priority::Critical,
            2 => Priority::High,
            3 => Priority::Medium,
            _ => Priority::Low,
        }
    }
}

const GREETINGS: &[&str] = &[
    "Hi,",
    "Hi team,",
    "Hello,",
    "Morning,",
    "Hi all,",
    "Good afternoon,",
    "",
    "Hey,",
    "Hi Support,",
    "Dear IT,",
];
const SIGNOFFS: &[&str] = &[
    "Thanks,\n{requester}",
    "Thanks",
    "Many thanks\n{requester_full}",
    "Cheers, {requester}",
    "Regards,\n{requester_full}\n{org}",
    "thx",
    "Thank you!",
    "Kind regards,\n{requester}",
    "",
    "Sent from my iPhone",
];
const URGENCY: &[&str] = &[
    "",
    "",
    "",
    " It's quite urgent.",
    " Could someone look at this today please?",
    " No rush.",
    " I have a client meeting at 2 so ASAP please!",
    " This is blocking me.",
];

const MAILBOXES: &[&str] = &[
    "accounts",
    "reception",
    "billing",
    "hr",
    "info",
    "newbusiness",
    "support",
    "payroll",
];
const GROUPS: &[&str] = &[
    "Finance",
    "Partners",
    "Litigation",
    "HR Confidential",
    "Marketing",
    "Operations",
    "Projects 2025",
    "Board Papers",
];
const LICENCES: &[&str] = &[
    "Visio Plan 2",
    "Project Plan 3",
    "Microsoft 365 E3",
    "Power BI Pro",
    "Adobe Acrobat Pro",
    "Microsoft 365 Business Premium",
    "Teams Phone",
];
const DEVICES: &[&str] = &["laptop", "desktop", "Surface", "ThinkPad", "MacBook"];

struct Script {
    subjects: &'static [&'static str],
    bodies: &'static [&'static str],
    internal: &'static [&'static str],
    customer: &'static [&'static str],
    resolutions: &'static [&'static str],
}

const PASSWORD: Script = Script {
    subjects: &[
        "Password reset",
        "Password reset - {first} {last}",
        "forgot my password",
        "Can't log in - password expired",
        "password expired??",
        "Reset password for {first}",
        "Need a new password",
        "Locked out of email (password)",
        "PW reset please",
        "Password not working after holiday",
        "Forgot my password",
        "password expired - can't get in",
        "Can't remember new password after change",
    ],
    bodies: &[
        "I've forgotten my password and can't get into my computer.",
        "My password expired this morning and it won't let me change it.",
        "Can you please reset my password? I tried the self-service page but it says I'm not registered.",
        "I changed my password yesterday and now I can't remember it. Sorry!",
        "Outlook keeps asking for my password and the one I have doesn't work.",
        "Back from leave and my password has expired. Can't get past the login screen.",
        "Could you reset {first}'s password - she's at the front desk and can't log in. (sent on her behalf)",
        "I've forgotten my password again. Could you reset it?",
        "My password expired overnight and the change screen keeps rejecting what I type. Please reset.",
        "Please reset my password, I think I typed the new one wrong twice when I changed it.",
    ],
    internal: &[
        "Verified caller identity via callback to number on file.",
        "Identity confirmed with manager on file before reset.",
        "Checked sign-in logs: password expired {days} days ago.",
        "SSPR registration missing for user; recommended enrolment.",
        "Reset password in admin portal, set change-at-next-logon.",
        "Checked sign-in logs: no suspicious activity before the reset.",
    ],
    customer: &[
        "Hi {first}, I've reset your password; the temporary one has been sent to your mobile. You'll be asked to change it when you sign in.",
        "Hi {first}, all done. Please sign in with the temporary password we gave you on the phone and pick a new one.",
        "Hi {first}, your password has been reset. Let us know if you have any trouble.",
        "Hi {first}, password reset done - please sign in with the temporary password we texted you and set your own.",
    ],
    resolutions: &[
        "Password reset, user signed in and changed password.",
        "Reset password and confirmed the user can log in.",
        "Temporary password issued via phone after identity check; user logged in OK.",
        "Password reset. Also enrolled user in self-service password reset.",
        "User remembered password after unlock; no reset needed.",
        "Reset password with forced change at next sign-in. Confirmed working with user.",
        "Temporary password issued by SMS; user confirmed access restored.",
    ],
};

const LOCKOUT: Script = Script {
    subjects: &[
        "Account locked",
        "Locked out",
        "Account locked out - {first} {last}",
        "Can't log in, says account is locked",
        "locked out again",
        "Account lockout",
        "Help - locked out of my PC",
        "User locked out",
        "Locked out of my account",
        "{first} locked out of Office 365",
        "Lockout after too many attempts",
        "locked out again!!",
    ],
    bodies: &[
        "It says my account has been locked. I think I typed my password wrong too many times.",
        "Locked out of my laptop after the update this morning.",
        "I'm locked out again, third time this week. Is something wrong with my account?",
        "Can't log in to anything, message says the referenced account is currently locked out.",
        "My phone kept trying an old password and now I'm locked out.",
        "Getting 'account locked' on webmail and on my laptop.",
        "Locked out after a few wrong tries. Can you unlock it please?",
    ],
    internal: &[
        "Lockout source traced to old credentials cached on mobile mail client.",
        "Unlocked account in AD; bad password count reset.",
        "Multiple lockouts from the same device; asked user to update password on phone.",
        "Checked for password spray, none seen; lockouts all from user's own device.",
        "Sign-in logs show 14 failed attempts from the user's iPhone.",
        "No failed attempts from unknown locations; looks like a stale credential.",
    ],
    customer: &[
        "Hi {first}, your account is unlocked. If it happens again please remove and re-add your work account on your phone.",
        "Hi {first}, you're unlocked now. Please try signing in again.",
        "Hi {first}, unlocked. The lockouts were coming from your phone's mail app with an old password.",
        "Hi {first}, you're unlocked - give it a minute and try again.",
    ],
    resolutions: &[
        "Account unlocked; user confirmed access.",
        "Unlocked account and updated the stored password on the user's phone.",
        "Unlocked. Root cause: stale credentials on mobile device.",
        "Account unlocked and password reset at user's request.",
        "Account unlocked; cause was a cached password on a mobile device.",
    ],
};

const MFA: Script = Script {
    subjects: &[
        "New phone - authenticator",
        "MFA not working",
        "Lost phone, can't do MFA",
        "Authenticator app reset",
        "Need MFA reset",
        "Not getting the MFA prompt",
        "New mobile - need to move Authenticator",
        "2FA codes not accepted",
        "MFA reset - new phone",
        "Authenticator not working on new phone",
        "Lost phone, can't do two-factor",
        "Need to re-register MFA",
    ],
    bodies: &[
        "I got a new phone over the weekend and the Authenticator app didn't come across. Now I can't sign in.",
        "I lost my phone on the train. I can't approve the sign-in requests.",
        "The authenticator app keeps saying the code is wrong.",
        "I'm not getting the push notification any more since I reinstalled the app.",
        "My phone was replaced under warranty and I need to set up MFA again.",
        "Left my phone in a taxi. I can't sign in because it asks for the code.",
        "The MFA prompt never shows up on my phone any more. Tried reinstalling the app.",
    ],
    internal: &[
        "Verified identity by video call before clearing methods.",
        "Removed old authenticator registration; required re-registration at next sign-in.",
        "Issued temporary access pass valid for 1 hour.",
        "Confirmed old device is wiped (lost phone).",
        "Old device still registered in the portal; deleted it.",
    ],
    customer: &[
        "Hi {first}, we've cleared your old authenticator. Next time you sign in you'll be asked to set it up again on your new phone.",
        "Hi {first}, your MFA has been reset. Please follow the prompts to register the Authenticator app.",
        "Hi {first}, we've given you a one-time pass to get back in; please register the app straight away.",
        "Hi {first}, MFA reset done - please sign in from your laptop and follow the prompts to add your new phone.",
    ],
    resolutions: &[
        "MFA methods reset; user re-registered Authenticator on new phone.",
        "Cleared MFA registration and issued a temporary access pass; user re-enrolled.",
        "Re-enrolled MFA after identity verification.",
        "User had the wrong account in the app; removed and re-added, prompts working.",
        "Old device removed; user set up MFA again and confirmed prompts work.",
    ],
};

const MAILBOX: Script = Script {
    subjects: &[
        "Access to {mailbox}@ mailbox",
        "Shared mailbox access - {mailbox}",
        "Please add me to the {mailbox} inbox",
        "Need access to {mailbox} mailbox for {first}",
        "Can {first} see the {mailbox} emails",
        "Mailbox permissions request",
        "Access to shared mailbox",
        "{mailbox} inbox - need access",
    ],
    bodies: &[
        "Could you give me access to the {mailbox}@{domain} mailbox? My manager has approved it.",
        "I'm covering for a colleague and need to see the {mailbox} shared mailbox, full access and send as please.",
        "Please add {first} {last} to the {mailbox} mailbox, she's joining the team.",
        "I can't see the {mailbox} mailbox in Outlook any more, did something change?",
        "I've been asked to help with the {mailbox} inbox while the team is short - can I get access? {other} approved it.",
    ],
    internal: &[
        "Approval from line manager received by email.",
        "Granted FullAccess with automapping; SendAs added.",
        "Mailbox permission replicated; Outlook restart required.",
        "Approval from {other} attached to the ticket.",
    ],
    customer: &[
        "Hi {first}, you now have access to {mailbox}@{domain}. It should appear in Outlook within an hour or after a restart.",
        "Hi {first}, done. Restart Outlook and the {mailbox} mailbox will show on the left.",
    ],
    resolutions: &[
        "Granted full access and send as on the {mailbox} mailbox; user confirmed.",
        "Mailbox access added; appeared in Outlook after restart.",
        "Access granted after manager approval.",
        "Re-added automapping for {mailbox} mailbox.",
        "Permission granted per approval from {other}.",
    ],
};

const GROUP: Script = Script {
    subjects: &[
        "Access to {group} folder",
        "Add me to {group} team",
        "Permissions - {group} share",
        "Can't open {group} files",
        "Access request: {group}",
        "Need {group} SharePoint access",
        "Can {first} get access to the {group} folder",
        "Add to {group} distribution list",
    ],
    bodies: &[
        "I need access to the {group} folder on the shared drive for a project.",
        "Please add me to the {group} Teams channel, {first} said it was OK.",
        "I get access denied when I open the {group} documents.",
        "Could {first} {last} be added to the {group} group? Approved by the department head.",
        "I need to see the {group} folder for the new matter. Approved by {other}.",
    ],
    internal: &[
        "Owner of {group} approved the request.",
        "Added user to security group; waited for sync.",
        "Checked folder ACL; group membership is the only route.",
        "Added user to {group} with read/write.",
    ],
    customer: &[
        "Hi {first}, you've been added to {group}. You may need to sign out and back in before it shows.",
        "Hi {first}, access granted to {group}.",
    ],
    resolutions: &[
        "Added to {group} group; access confirmed.",
        "Group membership granted after owner approval.",
        "User added to {group}; access working after re-login.",
        "Granted access to {group}; user confirmed they can see it.",
    ],
};

const LICENCE: Script = Script {
    subjects: &[
        "Need {licence} licence",
        "{licence} for {first}",
        "Licence request - {licence}",
        "Software licence please",
        "Can I get {licence}?",
        "Upgrade licence",
        "{licence} says unlicensed",
        "Office says product deactivated",
    ],
    bodies: &[
        "I need {licence} for some diagrams I'm doing for a client. My manager said yes.",
        "Could {first} get a {licence} licence? Cost centre approved.",
        "It says I don't have a licence for this app. Can you sort it?",
        "We need to swap {first} from her current licence to {licence}.",
        "{licence} opened today with a banner saying it isn't licensed.",
        "Word and Excel are in read-only mode and say the product is deactivated.",
    ],
    internal: &[
        "Spare licence available in tenant; assigned.",
        "No spare seats; purchased one additional seat via CSP.",
        "Confirmed approval with the account owner.",
        "Usage location was missing on the account; set it before assigning the licence.",
    ],
    customer: &[
        "Hi {first}, {licence} has been assigned to you. It can take up to an hour to show up.",
        "Hi {first}, licence added. Sign out of Office and back in to pick it up.",
        "Hi {first}, licence assigned - please restart the app.",
    ],
    resolutions: &[
        "Assigned {licence}; user activated it.",
        "Purchased and assigned an additional {licence} seat.",
        "Licence assigned after approval.",
        "Swapped licence to {licence}; apps re-activated.",
        "Reactivated Office after reassigning the licence.",
    ],
};

const STARTER: Script = Script {
    subjects: &[
        "New starter - {first} {last}",
        "New user setup: {first} {last} starting Monday",
        "Onboarding {first} {last}",
        "New employee next week",
        "Please set up account for new starter",
        "NEW STARTER {first} {last}",
        "Account needed for new hire {first} {last}",
        "Onboarding {first} {last} next week",
    ],
    bodies: &[
        "We have a new starter, {first} {last}, joining on Monday as a paralegal. Please set up their email, Teams and access to the usual folders. Same access as {other}.",
        "Please create an account for {first} {last} starting next week. They'll need a laptop too.",
        "New hire: {first} {last}, start date Monday, department Finance, manager {other}.",
        "Can you onboard {first} {last}? Needs email, phone and a {device}.",
        "{first} {last} starts on Monday. Needs email, Teams, the {group} drive and a laptop.",
    ],
    internal: &[
        "Created account, assigned licence, added to department groups.",
        "Laptop imaged and enrolled; shipped to office.",
        "Copied group memberships from {other}.",
        "Created PSA contact and portal access.",
        "Licence assigned, MFA registration pending first sign-in.",
    ],
    customer: &[
        "Hi, {first}'s account is ready. The username and temporary password have been sent to the manager.",
        "Hi, the new starter setup is complete and the {device} is at reception.",
    ],
    resolutions: &[
        "New starter account created with licence, groups and device.",
        "Onboarding complete; credentials sent to manager.",
        "Account, mailbox and laptop ready for start date.",
        "Onboarding complete; user signed in on day one.",
    ],
};

const LEAVER: Script = Script {
    subjects: &[
        "Leaver - {first} {last}",
        "Staff leaving: {first} {last}",
        "Offboarding {first} {last}",
        "Please disable {first}'s account",
        "{first} {last} last day Friday",
        "User termination",
        "Disable account for {first} {last}",
    ],
    bodies: &[
        "{first} {last} leaves on Friday. Please disable the account at 5pm and forward email to {other}.",
        "Please offboard {first} {last}, today is their last day. Convert mailbox to shared and give {other} access.",
        "{first} has left the company. Block sign-in, remove licences and collect the laptop.",
        "Urgent: {first} {last} has been let go, please disable access immediately.",
        "{first} {last} has resigned effective immediately. Remove all access and collect the laptop.",
    ],
    internal: &[
        "Sign-in blocked, sessions revoked.",
        "Mailbox converted to shared; access for {other}.",
        "Licences removed; device wipe queued.",
        "Removed from all groups; PSA contact set inactive.",
        "Laptop returned and wiped.",
    ],
    customer: &[
        "Hi, {first}'s account has been disabled and mail is forwarded to {other}.",
        "Hi, offboarding is done. The laptop can be dropped off at reception.",
        "Hi {requester}, {first}'s account is disabled and their mail is now shared with you.",
    ],
    resolutions: &[
        "Account disabled, licences removed, mailbox converted to shared.",
        "Leaver processed: sign-in blocked, email forwarded, device wiped.",
        "Offboarding complete per checklist.",
        "Account disabled, sessions revoked, files kept for 90 days.",
    ],
};

/// One coherent non-routine case: its subject lines, description, work notes, customer update
/// and resolutions all belong together.
struct Case {
    subjects: &'static [&'static str],
    body: &'static str,
    internal: &'static [&'static str],
    customer: &'static str,
    resolutions: &'static [&'static str],
}

const fn case(
    subjects: &'static [&'static str],
    body: &'static str,
    internal: &'static [&'static str],
    customer: &'static str,
    resolutions: &'static [&'static str],
) -> Case {
    Case {
        subjects,
        body,
        internal,
        customer,
        resolutions,
    }
}

const OTHER: &[(&str, &[Case])] = &[
    (
        "printer",
        &[
            case(
                &[
                    "Printer jammed",
                    "2nd floor printer jamming again",
                    "Printer error 13.A2",
                ],
                "The printer on the second floor keeps jamming and showing error 13.A2.",
                &[
                    "Remote check: fuser error logged 14 times this week.",
                    "Logged call with print vendor for fuser replacement.",
                ],
                "Hi {first}, an engineer from the print company is booked for tomorrow morning.",
                &[
                    "Vendor replaced the fuser unit; test pages OK.",
                    "Fuser replaced under the lease contract.",
                ],
            ),
            case(
                &["Can't print", "Print jobs stuck", "Nothing printing"],
                "Nothing is printing, it just sits in the queue.",
                &[
                    "Spooler hung on the print server.",
                    "Cleared print queue and restarted spooler.",
                ],
                "Hi {first}, the queue is cleared. Please try printing again.",
                &[
                    "Cleared queue and restarted spooler; printing restored.",
                    "Spooler restarted; stuck job from a corrupt PDF removed.",
                ],
            ),
            case(
                &["Printer offline", "Printer shows offline on my laptop"],
                "The printer shows offline on my laptop but works for everyone else.",
                &[
                    "Printer got a new IP after the power cut; laptop had a static port.",
                    "Updated printer port to the DHCP reservation.",
                ],
                "Hi {first}, your laptop now points at the printer's new address.",
                &[
                    "Updated printer port after IP change.",
                    "Reserved the printer's IP and fixed the port on the laptop.",
                ],
            ),
            case(
                &["Scan to email not working", "Scanner not sending emails"],
                "Scan to email stopped working this morning.",
                &[
                    "SMTP relay rejecting the scanner: password expired on the scan account.",
                    "Reset scan account password and updated the MFP.",
                ],
                "Hi {first}, scan to email is working again.",
                &[
                    "Updated SMTP credentials for scan to email.",
                    "Scan account password renewed; scanning confirmed.",
                ],
            ),
        ],
    ),
    (
        "vpn",
        &[
            case(
                &[
                    "VPN not connecting",
                    "Can't connect from home",
                    "Remote access issue",
                ],
                "The VPN says connection failed when I'm at home.",
                &["Client version outdated; pushed update from RMM."],
                "Hi {first}, please restart your laptop to pick up the new VPN version.",
                &[
                    "Updated VPN client; connection stable.",
                    "VPN client upgraded; user connected.",
                ],
            ),
            case(
                &["VPN keeps dropping", "VPN disconnects every few minutes"],
                "VPN drops every 10 minutes and I lose my files.",
                &["Home router blocking UDP; switched the profile to TCP."],
                "Hi {first}, try connecting again now, we've changed how the VPN connects.",
                &[
                    "Switched VPN profile to TCP; no drops since.",
                    "TCP profile fixed the drops.",
                ],
            ),
            case(
                &["VPN certificate error", "VPN says certificate expired"],
                "VPN error says my certificate has expired.",
                &["Machine certificate expired; re-issued from the CA."],
                "Hi {first}, your certificate is renewed; the VPN should connect now.",
                &[
                    "Re-issued client certificate.",
                    "Certificate renewed and auto-enrolment fixed.",
                ],
            ),
        ],
    ),
    (
        "outlook",
        &[
            case(
                &[
                    "Calendar not syncing to phone",
                    "Meetings missing on my phone",
                ],
                "Meetings I accept on my laptop don't show on my phone.",
                &[
                    "Phone had two copies of the account; one stale.",
                    "Removed the stale account and re-added it.",
                ],
                "Hi {first}, your calendar should sync now - give it a few minutes.",
                &[
                    "Re-added mail account on phone; calendar syncing.",
                    "Calendar sync fixed after removing duplicate account.",
                ],
            ),
            case(
                &["Mailbox full warning", "Mailbox almost full"],
                "Outlook says my mailbox is almost full and I can't send.",
                &[
                    "Mailbox at 49.5 GB of 50 GB.",
                    "Enabled online archive with a two-year retention policy.",
                ],
                "Hi {first}, we've turned on your archive; older mail will move there automatically.",
                &[
                    "Online archive enabled; mailbox under quota.",
                    "Archive policy applied; mailbox back to 30 GB.",
                ],
            ),
            case(
                &["Not receiving external email", "Clients' emails bouncing"],
                "Clients say their emails to me bounce back.",
                &[
                    "A transport rule was rejecting a partner domain.",
                    "Removed the rule and replayed the message trace.",
                ],
                "Hi {first}, mail flow is fixed - please ask the client to resend.",
                &[
                    "Faulty transport rule removed; external mail arriving.",
                    "Mail flow restored after removing the transport rule.",
                ],
            ),
            case(
                &[
                    "Outlook crashing",
                    "Outlook keeps closing",
                    "outlook crash when opening attachments",
                ],
                "Outlook crashes every time I open an attachment.",
                &[
                    "Crash module: PDF preview add-in.",
                    "Disabled faulty add-in.",
                ],
                "Hi {first}, please try now, we've disabled the add-in that was crashing it.",
                &[
                    "Disabled PDF add-in causing crash.",
                    "Add-in removed; Outlook stable.",
                ],
            ),
            case(
                &["Emails stuck in outbox", "Can't send email"],
                "My emails are stuck in the outbox and won't send.",
                &[
                    "Oversized attachment (48 MB) blocking the outbox.",
                    "Moved item to drafts; sent a share link instead.",
                ],
                "Hi {first}, the big attachment was blocking everything. We've sent it as a link instead.",
                &[
                    "Removed oversized item from outbox; mail flowing.",
                    "Outbox cleared; user shown how to share large files.",
                ],
            ),
            case(
                &["Outlook won't open", "Outlook stuck on loading profile"],
                "Outlook is stuck on 'loading profile' and never opens.",
                &["OST file corrupt.", "Rebuilt Outlook profile."],
                "Hi {first}, we've rebuilt your Outlook profile; it may take a while to download your mail.",
                &[
                    "Rebuilt profile; Outlook stable.",
                    "New profile created; mail synced.",
                ],
            ),
            case(
                &[
                    "Search not working in Outlook",
                    "Outlook search finds nothing",
                ],
                "Search in Outlook doesn't find anything older than a week.",
                &["Windows search index stalled.", "Rebuilt search index."],
                "Hi {first}, search will take a few hours to catch up while the index rebuilds.",
                &[
                    "Search index rebuilt.",
                    "Index rebuilt; search returns older mail.",
                ],
            ),
        ],
    ),
    (
        "slow_pc",
        &[
            case(
                &[
                    "Laptop very slow",
                    "Computer running slow",
                    "PC takes ages to start",
                ],
                "My laptop takes 15 minutes to start and everything freezes.",
                &[
                    "Disk at 98%; cleared temp files and old updates.",
                    "Trimmed startup items; AV scan clean.",
                ],
                "Hi {first}, we've cleaned things up remotely. Please restart and let us know.",
                &["Cleared disk space and startup items; performance improved."],
            ),
            case(
                &["Everything freezing", "Laptop freezes with Teams open"],
                "Keeps freezing when I have more than two programs open.",
                &[
                    "Only 4 GB RAM; memory at 95% with Teams and Outlook.",
                    "Quote sent for a RAM upgrade.",
                ],
                "Hi {first}, your laptop needs more memory; we've sent a quote to your manager.",
                &[
                    "RAM upgraded to 16 GB.",
                    "Memory upgrade fitted; no more freezes.",
                ],
            ),
            case(
                &["PC slow since update", "Computer slow after updates"],
                "The computer has been really slow since the update.",
                &["SMART warnings on the drive.", "Cloned to SSD on site."],
                "Hi {first}, the hard drive was failing; we'll swap it tomorrow.",
                &["Replaced failing drive with SSD."],
            ),
        ],
    ),
    (
        "teams",
        &[
            case(
                &[
                    "Teams audio problem",
                    "No sound on Teams calls",
                    "People can't hear me on Teams",
                ],
                "People can't hear me on Teams calls.",
                &[
                    "Teams was using the dock's microphone input.",
                    "Set headset as default device.",
                ],
                "Hi {first}, please try a test call now.",
                &["Set correct audio device; calls OK."],
            ),
            case(
                &["Can't share screen in Teams", "Teams screen share black"],
                "Screen share shows a black screen.",
                &[
                    "Known issue with old GPU driver.",
                    "Updated graphics driver; cleared Teams cache.",
                ],
                "Hi {first}, we cleared the Teams cache; sign back in and try again.",
                &[
                    "Driver updated; sharing works.",
                    "Cleared Teams cache; sharing works.",
                ],
            ),
            case(
                &["Teams camera not working", "Camera not detected in Teams"],
                "My camera doesn't show up in Teams but works in other apps.",
                &[
                    "Camera privacy setting blocking desktop apps.",
                    "Allowed camera access for desktop apps.",
                ],
                "Hi {first}, the camera should now show in Teams.",
                &["Camera permission fixed."],
            ),
        ],
    ),
    (
        "phishing",
        &[
            case(
                &["Suspicious email", "Is this email legit?", "Phishing?"],
                "I got an email asking me to sign in to see a document. Looks dodgy.",
                &[
                    "Message traced; 14 recipients.",
                    "Purged from all mailboxes; sender domain blocked.",
                ],
                "Hi {first}, thanks for reporting. It was phishing and we've removed it from everyone's inbox.",
                &["Phishing confirmed, message purged and sender blocked."],
            ),
            case(
                &[
                    "I clicked a link in an email",
                    "Clicked a dodgy link - help",
                ],
                "I clicked on a link before I realised it was fake. I didn't enter anything I think.",
                &[
                    "Sign-in logs reviewed: no suspicious activity.",
                    "Password reset and sessions revoked as a precaution.",
                    "Escalated to security team for endpoint scan.",
                ],
                "Hi {first}, nothing was compromised, but we've reset your password to be safe.",
                &[
                    "No compromise found; precautionary password reset done.",
                    "Endpoint scan clean; credentials rotated.",
                ],
            ),
            case(
                &[
                    "Strange invoice email from supplier",
                    "Supplier changed bank details?",
                ],
                "A supplier sent an invoice with new bank details, is this real?",
                &[
                    "Lookalike domain registered 3 days ago.",
                    "Finance told to call the supplier on a known number.",
                ],
                "Hi {first}, please don't pay that invoice; call the supplier on a number you already have.",
                &["Supplier confirmed fraud; finance informed and domain blocked."],
            ),
        ],
    ),
    (
        "backup",
        &[
            case(
                &[
                    "Backup failed - {server}",
                    "ALERT: Backup job failed on {server}",
                ],
                "Monitoring alert: backup job for {server} failed with error 'snapshot timeout'.",
                &[
                    "VSS writer in failed state.",
                    "Restarted the VSS service; re-ran the job manually.",
                ],
                "",
                &["Re-ran backup successfully after VSS fix."],
            ),
            case(
                &[
                    "Backup warning on {server}",
                    "Backup completed with warnings - {server}",
                ],
                "The nightly backup of {server} reported warnings for 3 files.",
                &["Warnings were locked temp files; excluded the temp folder."],
                "",
                &["Excluded temp folder; next run clean."],
            ),
            case(
                &[
                    "Backup did not run last night",
                    "ALERT: backup missed schedule {server}",
                ],
                "Backup job for {server} missed its schedule.",
                &[
                    "Storage repository full.",
                    "Pruned old restore points per retention.",
                ],
                "",
                &["Freed repository space; backups completing."],
            ),
        ],
    ),
    (
        "disk",
        &[
            case(
                &[
                    "Low disk space on {server}",
                    "ALERT: C: drive below 10% on {server}",
                ],
                "Monitoring alert: {server} C: drive has 4% free.",
                &["Cleared windows update cache and old logs."],
                "",
                &["Freed 20 GB; alert cleared."],
            ),
            case(
                &[
                    "Disk space warning {server}",
                    "ALERT: data volume 95% full on {server}",
                ],
                "Disk space low on {server} data volume.",
                &["Growth from scanned documents; extended the volume by 50 GB."],
                "",
                &["Extended volume; free space now 35%."],
            ),
        ],
    ),
    (
        "hardware",
        &[
            case(
                &[
                    "Docking station not detecting monitors",
                    "Monitors black when docked",
                ],
                "When I dock my laptop the monitors stay black.",
                &[
                    "Dock firmware two versions behind.",
                    "Updated dock firmware and display driver.",
                ],
                "Hi {first}, please re-dock - both monitors should come up now.",
                &[
                    "Dock firmware and display driver updated; both monitors detected.",
                    "Replaced faulty docking station.",
                ],
            ),
            case(
                &["Blue screen on startup", "Laptop keeps blue screening"],
                "I got a blue screen twice today and the second time it wouldn't boot.",
                &[
                    "Crash dumps point at the storage driver.",
                    "Hardware diagnostics: SSD reporting SMART errors; warranty claim raised.",
                ],
                "Hi {first}, we're sending you a loan laptop while yours is repaired.",
                &[
                    "SSD replaced under warranty and profile restored.",
                    "Storage driver rolled back; no crashes since.",
                ],
            ),
            case(
                &["Broken laptop screen", "Cracked screen"],
                "I dropped my laptop and the screen is cracked.",
                &[
                    "Accidental damage cover confirmed.",
                    "Sent loan laptop; repair booked.",
                ],
                "Hi {first}, a loan laptop is on its way while yours is repaired.",
                &["Screen replaced under accidental damage cover."],
            ),
            case(
                &["Keyboard not working", "Some keys not working"],
                "Some keys on my keyboard have stopped working.",
                &[
                    "Liquid damage visible on photo.",
                    "Ordered replacement keyboard.",
                ],
                "Hi {first}, a new keyboard will be fitted on Thursday.",
                &["Keyboard replaced."],
            ),
            case(
                &["Monitor flickering", "Second screen keeps going black"],
                "My second monitor keeps flickering and going black.",
                &[
                    "Dock firmware two versions behind.",
                    "Updated dock firmware and swapped the cable.",
                ],
                "Hi {first}, please let us know if the flicker comes back.",
                &[
                    "Dock firmware updated; monitor stable.",
                    "Swapped cable; monitor stable.",
                ],
            ),
            case(
                &["Laptop won't turn on", "Laptop dead"],
                "Laptop won't power on at all.",
                &[
                    "No lights with known-good charger.",
                    "Warranty claim logged with manufacturer.",
                ],
                "Hi {first}, the manufacturer is sending an engineer; you have a loan laptop meanwhile.",
                &["Motherboard replaced under warranty."],
            ),
        ],
    ),
    (
        "lob_app",
        &[
            case(
                &["{app} update required", "Vendor says we must update {app}"],
                "The vendor says we must update {app} to the new version before the end of the month.",
                &[
                    "Scheduled the upgrade with the vendor for Saturday.",
                    "Took a backup of the database before upgrading.",
                ],
                "Hi {first}, the {app} upgrade is booked for Saturday morning; it'll be unavailable until midday.",
                &[
                    "{app} upgraded over the weekend; tested with the office manager.",
                    "Upgrade completed and users' clients updated.",
                ],
            ),
            case(
                &["{app} error", "Error when saving in {app}"],
                "{app} gives an error when I try to save a document.",
                &[
                    "Known bug in last week's release.",
                    "Vendor support case opened; hotfix applied.",
                ],
                "Hi {first}, the vendor has fixed the issue; please try again.",
                &["Vendor hotfix applied; saving works."],
            ),
            case(
                &["Can't open {app}", "{app} says database unavailable"],
                "{app} won't open, says the database is unavailable.",
                &[
                    "Database service stopped after server patching.",
                    "Started service and set it to automatic.",
                ],
                "Hi {first}, we've restarted the service, can you check?",
                &["Restarted app database service; set to start automatically."],
            ),
            case(
                &["{app} very slow today", "{app} slow for everyone"],
                "Everyone in the office says {app} is very slow.",
                &[
                    "SQL01 CPU at 100% from a runaway report.",
                    "Killed the report query; asked vendor about indexing.",
                ],
                "Hi {first}, a stuck report was slowing everyone down; it's back to normal.",
                &["Stopped runaway query; performance normal."],
            ),
        ],
    ),
    (
        "network",
        &[
            case(
                &["Remote desktop not connecting", "Can't RDP to my desktop"],
                "I can't remote desktop to my office PC from home, it just times out.",
                &[
                    "Office PC had gone to sleep; wake-on-LAN not enabled.",
                    "Enabled wake-on-LAN and set the power plan to stay awake in hours.",
                ],
                "Hi {first}, you should be able to connect now - your PC will stay awake during working hours.",
                &[
                    "Fixed power settings; remote desktop working.",
                    "PC woken remotely and power plan corrected.",
                ],
            ),
            case(
                &["Internet down", "No internet at the office"],
                "The whole office has no internet.",
                &[
                    "ISP outage confirmed for the area.",
                    "Failover to 4G backup line.",
                ],
                "Hi {first}, it's an ISP fault; we're on the backup line for now.",
                &["ISP restored service; failback done."],
            ),
            case(
                &[
                    "Wi-Fi not working in meeting room",
                    "Boardroom Wi-Fi dropping",
                ],
                "Wi-Fi in the boardroom keeps disconnecting.",
                &[
                    "Access point rebooting every few minutes.",
                    "Updated AP firmware.",
                ],
                "Hi {first}, Wi-Fi should be stable in the boardroom now.",
                &["AP firmware updated; Wi-Fi stable."],
            ),
            case(
                &["Slow internet", "Internet really slow today"],
                "Internet is really slow today, pages won't load.",
                &["Switch port errors on the uplink.", "Replaced patch cable."],
                "Hi {first}, we found a faulty cable; speeds are back to normal.",
                &["Replaced faulty patch cable."],
            ),
        ],
    ),
    (
        "quote",
        &[
            case(
                &["Quote for new laptops", "Need a quote - {device}s"],
                "Could you send us a quote for 5 new {device}s for the new starters?",
                &[
                    "Checked stock with distributor.",
                    "Quote prepared and sent to account manager.",
                ],
                "Hi {first}, the quote is attached. Let us know if you'd like to go ahead.",
                &["Quote sent; order placed.", "Quote sent and approved."],
            ),
            case(
                &["Pricing for extra monitors", "Dual monitors quote"],
                "We'd like dual monitors for the accounts team, can you quote?",
                &["Quote prepared for 6 monitors and arms."],
                "Hi {first}, the quote for the monitors is attached.",
                &[
                    "Quote sent; client declined for now.",
                    "Quote approved; monitors installed.",
                ],
            ),
            case(
                &["New equipment request", "Replace reception PCs"],
                "Looking to replace the old desktops in reception.",
                &["Recommended small form factor PCs; quote sent."],
                "Hi {first}, we've sent a quote for two new PCs.",
                &["Quote sent; order placed."],
            ),
        ],
    ),
    (
        "phone_system",
        &[
            case(
                &["Desk phone not working", "Phone says registering"],
                "My desk phone just says registering.",
                &[
                    "Handset lost its provisioning after a power cut.",
                    "Re-provisioned handset.",
                ],
                "Hi {first}, your phone is working again.",
                &["Handset re-provisioned."],
            ),
            case(
                &["Call forwarding", "Forward my calls please"],
                "Can you forward my calls to my mobile while I'm away?",
                &["Forwarding set in portal until Friday."],
                "Hi {first}, forwarding is on until Friday.",
                &["Call forwarding configured."],
            ),
            case(
                &["Voicemail not working", "No voicemail emails"],
                "I'm not getting voicemail notifications.",
                &[
                    "Voicemail email address had a typo.",
                    "Corrected the address.",
                ],
                "Hi {first}, voicemail emails should come through now.",
                &["Voicemail-to-email fixed."],
            ),
        ],
    ),
    (
        "file_restore",
        &[
            case(
                &[
                    "Deleted a folder by mistake",
                    "Folder missing from shared drive",
                ],
                "I accidentally deleted a folder from the shared drive this morning.",
                &["Restored from last night's snapshot."],
                "Hi {first}, the folder is back where it was.",
                &["Folder restored from backup."],
            ),
            case(
                &["File overwritten", "Restore file please"],
                "I saved over an important spreadsheet. Can you get yesterday's version back?",
                &["Previous version available in SharePoint history."],
                "Hi {first}, yesterday's version has been restored with '(restored)' in the name.",
                &["Previous version restored."],
            ),
            case(
                &["Lost document", "Document disappeared"],
                "A document I was working on has disappeared.",
                &["Found in the OneDrive recycle bin."],
                "Hi {first}, it was in the recycle bin; it's back in your Documents.",
                &["Restored from recycle bin."],
            ),
        ],
    ),
    (
        "software_install",
        &[
            case(
                &["Install software", "Need Zoom installed"],
                "Could you install Zoom on my laptop? A client uses it.",
                &["Approved app; deployed via RMM."],
                "Hi {first}, it's installed now.",
                &["Software deployed via RMM."],
            ),
            case(
                &[
                    "Adobe Reader keeps asking for admin",
                    "Software update needs admin rights",
                ],
                "I need Adobe Reader updated, it keeps asking for admin rights.",
                &["Pushed the update via RMM; enabled auto-update."],
                "Hi {first}, Reader is updated and will update itself from now on.",
                &["Updated via RMM; auto-update on."],
            ),
            case(
                &[
                    "Can you install {app} on new PC",
                    "{app} needed on reception PC",
                ],
                "Please install {app} on the new PC in reception.",
                &["Installed client and licensed the seat."],
                "Hi {first}, {app} is ready on the reception PC.",
                &["Installed and licensed."],
            ),
        ],
    ),
];

const SERVERS: &[&str] = &["FS01", "DC01", "APP01", "SQL01", "BACKUP01"];
const STARTER_FIRST: &[&str] = &[
    "Sam", "Alex", "Jordan", "Maya", "Leo", "Zara", "Omar", "Ivy",
];
const STARTER_LAST: &[&str] = &[
    "Patel", "Nowak", "Reid", "Santos", "Byrne", "Ito", "Mensah", "Kaur",
];

/// How far back the history reaches.
pub const HISTORY_DAYS: i64 = 365;

/// Generates closed tickets for one organisation from a seed.
#[derive(Debug)]
pub struct HistoryGenerator {
    rng: StdRng,
    org: Organisation,
    anchor: DateTime<Utc>,
    technicians: usize,
}

impl HistoryGenerator {
    /// A generator for `org` (which must have at least one person) whose tickets were opened in
    /// the [`HISTORY_DAYS`] before `anchor` and worked by one of `technicians` (at least one)
    /// technicians.
    pub fn new(seed: u64, org: Organisation, anchor: DateTime<Utc>, technicians: usize) -> Self {
        assert!(!org.people.is_empty(), "the organisation needs people");
        assert!(technicians > 0, "someone has to work the tickets");
        Self {
            rng: StdRng::seed_from_u64(seed),
            org,
            anchor,
            technicians,
        }
    }

    /// `count` tickets, oldest first.
    pub fn tickets(&mut self, count: usize) -> Vec<HistoricalTicket> {
        let mut tickets: Vec<_> = (0..count).map(|_| self.next_ticket()).collect();
        tickets.sort_by_key(|t| t.created);
        tickets
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        *items.choose(&mut self.rng).expect("non-empty list")
    }

    fn category(&mut self) -> (Category, Source) {
        // Roughly 55% routine, the rest spread over everything else an MSP sees.
        let roll = self.rng.random_range(0..100);
        match roll {
            0..=11 => (Category::PasswordReset, Source::Script(&PASSWORD)),
            12..=19 => (Category::AccountLockout, Source::Script(&LOCKOUT)),
            20..=26 => (Category::MfaReset, Source::Script(&MFA)),
            27..=33 => (Category::MailboxAccess, Source::Script(&MAILBOX)),
            34..=40 => (Category::GroupAccess, Source::Script(&GROUP)),
            41..=46 => (Category::Licence, Source::Script(&LICENCE)),
            47..=51 => (Category::NewStarter, Source::Script(&STARTER)),
            52..=55 => (Category::Leaver, Source::Script(&LEAVER)),
            _ => {
                let (kind, cases) = OTHER[self.rng.random_range(0..OTHER.len())];
                let case = &cases[self.rng.random_range(0..cases.len())];
                (Category::Other(kind), Source::Case(case))
            }
        }
    }

    /// The texts of one ticket: routine requests mix interchangeable phrasings, other cases
    /// keep their subject, notes and resolution together.
    fn draft(&mut self, source: Source) -> Draft {
        match source {
            Source::Script(script) => {
                let internal_count = self.rng.random_range(1..=script.internal.len().min(3));
                Draft {
                    subject: self.pick(script.subjects),
                    body: self.pick(script.bodies),
                    internal: {
                        // Scripts list work notes in the order the work is done; keep it.
                        let mut chosen = rand::seq::index::sample(
                            &mut self.rng,
                            script.internal.len(),
                            internal_count,
                        )
                        .into_vec();
                        chosen.sort_unstable();
                        chosen.into_iter().map(|i| script.internal[i]).collect()
                    },
                    customer: script.customer.choose(&mut self.rng).copied(),
                    resolution: self.pick(script.resolutions),
                }
            }
            Source::Case(case) => Draft {
                subject: self.pick(case.subjects),
                body: case.body,
                internal: case.internal.to_vec(),
                customer: (!case.customer.is_empty()).then_some(case.customer),
                resolution: self.pick(case.resolutions),
            },
        }
    }

    /// When a ticket was opened and closed: opened during working hours on a day in the year
    /// before the anchor, closed `minutes_to_close` later but never within the anchor's last hour.
    fn dates(&mut self, minutes_to_close: i64) -> (DateTime<Utc>, DateTime<Utc>) {
        let days_ago = self.rng.random_range(2..HISTORY_DAYS);
        let minute_of_day = self.rng.random_range(8 * 60..18 * 60);
        let created = (self.anchor - Duration::days(days_ago))
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            + Duration::minutes(minute_of_day);
        let closed = (created + Duration::minutes(minutes_to_close))
            .min(self.anchor - Duration::hours(1))
            .max(created + Duration::minutes(1));
        (created, closed)
    }

    /// The next ticket (tickets come in no particular date order; see [`Self::tickets`]).
    pub fn next_ticket(&mut self) -> HistoricalTicket {
        let (category, source) = self.category();
        let draft = self.draft(source);
        let requester = self.rng.random_range(0..self.org.people.len());
        // Someone other than the requester (a colleague, approver or leaver), when there is one.
        let people = self.org.people.len();
        let other = if people > 1 {
            (requester + self.rng.random_range(1..people)) % people
        } else {
            requester
        };
        // A leaver is someone else on the staff list; the requester (their manager) takes over.
        let (other, leaver) = if category == Category::Leaver {
            (requester, other)
        } else {
            (other, requester)
        };
        let vars = Vars {
            requester: self.org.people[requester].clone(),
            other: self.org.people[other].clone(),
            // New starters are not on the staff list yet; invent a name for them.
            subject_person: if category == Category::NewStarter {
                Person::new(self.pick(STARTER_FIRST), self.pick(STARTER_LAST), "")
            } else {
                self.org.people[leaver].clone()
            },
            mailbox: self.pick(MAILBOXES),
            group: self.pick(GROUPS),
            licence: self.pick(LICENCES),
            device: self.pick(DEVICES),
            server: self.pick(SERVERS),
            days: self.rng.random_range(1..30),
            org: self.org.clone(),
        };

        let monitoring = matches!(category, Category::Other("backup" | "disk"));
        let mut subject = vars.fill(draft.subject);
        if monitoring {
            // Alerts keep the monitoring system's wording.
        } else if self.rng.random_bool(0.15) {
            subject = subject.to_lowercase();
        } else if self.rng.random_bool(0.05) {
            subject = format!("RE: {subject}");
        } else if self.rng.random_bool(0.05) {
            subject = format!("URGENT - {subject}");
        }
        subject.truncate(100);

        let channel = if monitoring {
            Channel::Monitoring
        } else {
            match self.rng.random_range(0..10) {
                0..=4 => Channel::Email,
                5..=7 => Channel::Portal,
                _ => Channel::Phone,
            }
        };
        let body = match channel {
            Channel::Monitoring => vars.fill(draft.body),
            Channel::Phone => format!("{} called: {}", vars.requester.first, vars.fill(draft.body)),
            _ => {
                let greeting = self.pick(GREETINGS);
                let signoff = self.pick(SIGNOFFS);
                let urgency = self.pick(URGENCY);
                let text = format!(
                    "{greeting}\n\n{}{urgency}\n\n{signoff}",
                    vars.fill(draft.body)
                );
                vars.fill(text.trim())
            }
        };

        let mut notes: Vec<(String, NoteVisibility)> = draft
            .internal
            .iter()
            .map(|t| (vars.fill(t), NoteVisibility::Internal))
            .collect();
        // Technicians skip the customer update on some tickets.
        if let Some(text) = draft.customer
            && !self.rng.random_bool(0.2)
        {
            notes.push((vars.fill(text), NoteVisibility::Customer));
        }
        let resolution = vars.fill(draft.resolution);
        let priority = match channel {
            Channel::Monitoring => self.rng.random_range(2..=3),
            _ if subject.contains("URGENT") || body.contains("ASAP") => 2,
            _ if category.is_routine() => self.rng.random_range(3..=4),
            _ => self.rng.random_range(1..=4),
        };
        let minutes_to_close = if category.is_routine() {
            self.rng.random_range(8..600)
        } else {
            self.rng.random_range(30..7 * 24 * 60)
        };
        let hours = f64::from(self.rng.random_range(1..=16u32)) * 0.25;
        let technician = self.rng.random_range(0..self.technicians);
        let (created, closed) = self.dates(minutes_to_close);
        // Notes are spread evenly over the time the ticket was open, before the resolution.
        let span = (closed - created).num_seconds();
        let steps = notes.len() as i64 + 1;
        let notes = notes
            .into_iter()
            .zip(1..)
            .map(|((text, visibility), step)| HistoricalNote {
                text,
                visibility,
                at: created + Duration::seconds(span * step / steps),
            })
            .collect();
        HistoricalTicket {
            category,
            requester,
            subject,
            body,
            channel,
            priority,
            notes,
            resolution,
            technician,
            created,
            closed,
            hours,
        }
    }
}

#[derive(Clone, Copy)]
enum Source {
    Script(&'static Script),
    Case(&'static Case),
}

struct Draft {
    subject: &'static str,
    body: &'static str,
    internal: Vec<&'static str>,
    customer: Option<&'static str>,
    resolution: &'static str,
}

struct Vars {
    requester: Person,
    other: Person,
    subject_person: Person,
    mailbox: &'static str,
    group: &'static str,
    licence: &'static str,
    device: &'static str,
    server: &'static str,
    days: u32,
    org: Organisation,
}

impl Vars {
    fn fill(&self, template: &str) -> String {
        template
            .replace("{first}", &self.subject_person.first)
            .replace("{last}", &self.subject_person.last)
            .replace(
                "{other}",
                &format!("{} {}", self.other.first, self.other.last),
            )
            .replace(
                "{requester_full}",
                &format!("{} {}", self.requester.first, self.requester.last),
            )
            .replace("{requester}", &self.requester.first)
            .replace("{mailbox}", self.mailbox)
            .replace("{group}", self.group)
            .replace("{licence}", self.licence)
            .replace("{device}", self.device)
            .replace("{server}", self.server)
            .replace("{days}", &self.days.to_string())
            .replace("{domain}", &self.org.domain)
            .replace("{org}", &self.org.name)
            .replace("{app}", &self.org.business_app)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;
    use chrono::TimeZone;
    use std::collections::{HashMap, HashSet};

    fn org() -> Organisation {
        Organisation::from_world(World::builtin().tenant("contoso-law").unwrap())
    }

    fn anchor() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap()
    }

    fn history(seed: u64, count: usize) -> Vec<HistoricalTicket> {
        HistoryGenerator::new(seed, org(), anchor(), 4).tickets(count)
    }

    #[test]
    fn the_same_seed_gives_the_same_history_and_another_seed_does_not() {
        assert_eq!(history(42, 300), history(42, 300));
        assert_ne!(history(42, 50), history(43, 50));
    }

    #[test]
    fn every_routine_kind_comes_in_several_phrasings() {
        let tickets = history(7, 600);
        let mut subjects: HashMap<String, HashSet<String>> = HashMap::new();
        // Compare wording, not the names, mailboxes, groups and licences filled in.
        let people = org().people;
        let names = people
            .iter()
            .flat_map(|p| [p.first.as_str(), p.last.as_str()]);
        let fillers: Vec<&str> = [
            MAILBOXES,
            GROUPS,
            LICENCES,
            DEVICES,
            STARTER_FIRST,
            STARTER_LAST,
        ]
        .concat()
        .into_iter()
        .chain(names)
        .collect();
        for t in tickets.iter().filter(|t| t.category.is_routine()) {
            let wording = fillers
                .iter()
                .fold(t.subject.clone(), |text, filler| text.replace(filler, "_"))
                .to_lowercase();
            subjects
                .entry(t.category.label())
                .or_default()
                .insert(wording);
        }
        for kind in [
            Category::PasswordReset,
            Category::AccountLockout,
            Category::MfaReset,
            Category::MailboxAccess,
            Category::GroupAccess,
            Category::Licence,
            Category::NewStarter,
            Category::Leaver,
        ] {
            let phrasings = subjects.get(&kind.label()).map_or(0, HashSet::len);
            assert!(phrasings >= 4, "{}: {phrasings} phrasings", kind.label());
        }
        let distinct: HashSet<_> = tickets.iter().map(|t| t.subject.as_str()).collect();
        assert!(
            distinct.len() > 200,
            "only {} distinct subjects",
            distinct.len()
        );
    }

    #[test]
    fn a_good_share_is_not_routine_and_spans_many_kinds() {
        let tickets = history(11, 600);
        let other: Vec<_> = tickets
            .iter()
            .filter(|t| !t.category.is_routine())
            .collect();
        assert!(
            (600 * 3 / 10..600 * 6 / 10).contains(&other.len()),
            "{} of 600 not routine",
            other.len()
        );
        let kinds: HashSet<_> = other.iter().map(|t| t.category).collect();
        assert!(kinds.len() >= 12, "only {} non-routine kinds", kinds.len());
    }

    #[test]
    fn dates_fall_in_the_year_before_the_anchor_and_notes_between_open_and_close() {
        let tickets = history(3, 400);
        let start = anchor() - Duration::days(HISTORY_DAYS);
        for t in &tickets {
            assert!(t.created >= start && t.created < t.closed, "{t:?}");
            assert!(t.closed <= anchor() - Duration::hours(1), "{t:?}");
            assert!(
                t.notes.iter().all(|n| t.created < n.at && n.at < t.closed),
                "{t:?}"
            );
            assert!(t.notes.windows(2).all(|w| w[0].at <= w[1].at));
        }
        assert!(tickets.windows(2).all(|w| w[0].created <= w[1].created));
        let oldest = tickets.first().unwrap().created;
        let newest = tickets.last().unwrap().created;
        assert!(anchor() - oldest > Duration::days(300), "{oldest}");
        assert!(anchor() - newest < Duration::days(30), "{newest}");
    }

    #[test]
    fn tickets_are_complete_and_their_placeholders_filled() {
        let tickets = history(5, 400);
        let mut technicians = HashSet::new();
        for t in &tickets {
            assert!(t.subject.len() <= 100 && !t.subject.is_empty());
            assert!(!t.body.is_empty() && !t.resolution.is_empty());
            assert!(t.requester < org().people.len() && t.technician < 4);
            assert!((1..=4).contains(&t.priority));
            assert_eq!(
                t.notes.first().map(|n| n.visibility),
                Some(NoteVisibility::Internal),
                "every ticket has a work note: {t:?}"
            );
            let texts = t.notes.iter().map(|n| n.text.as_str());
            for text in [t.subject.as_str(), &t.body, &t.resolution]
                .into_iter()
                .chain(texts)
            {
                assert!(!text.contains('{') && !text.contains('}'), "{text}");
            }
            if t.category == Category::Leaver {
                // The manager asks for someone else to be offboarded, never themselves.
                let requester = &org().people[t.requester];
                assert!(!t.subject.contains(&requester.first), "{t:?}");
            }
            technicians.insert(t.technician);
        }
        assert_eq!(technicians.len(), 4);
        assert!(tickets.iter().any(|t| {
            t.notes
                .iter()
                .any(|n| n.visibility == NoteVisibility::Customer)
        }));
    }

    #[test]
    fn a_world_tenants_staff_raise_the_tickets_with_their_real_addresses() {
        let world = World::builtin();
        for tenant in &world.tenants {
            let org = Organisation::from_world(tenant);
            assert_eq!(org.name, tenant.company);
            assert_eq!(org.domain, tenant.domain);
            assert_eq!(org.business_app, tenant.business_app);
            let expected: Vec<String> = tenant
                .staff()
                .filter(|p| p.status != AccountStatus::Staged)
                .map(|p| p.email(tenant))
                .collect();
            let emails: Vec<&str> = org.people.iter().map(|p| p.email.as_str()).collect();
            assert_eq!(emails, expected, "{}", tenant.key);
            for person in &org.people {
                let known = tenant
                    .staff()
                    .any(|p| p.display_name() == format!("{} {}", person.first, person.last));
                assert!(known, "{person:?} is not staff of {}", tenant.key);
            }
        }
        // Globex's intern has not started: no history of his.
        let globex = Organisation::from_world(world.tenant("globex").unwrap());
        assert!(!globex.people.iter().any(|p| p.first == "Bart"));
    }

    #[test]
    fn people_a_request_is_about_exist_in_the_world_and_new_starters_do_not() {
        let world = World::builtin();
        for tenant in &world.tenants {
            let org = Organisation::from_world(tenant);
            let tickets = HistoryGenerator::new(9, org.clone(), anchor(), 4).tickets(400);
            let leavers: Vec<_> = tickets
                .iter()
                .filter(|t| t.category == Category::Leaver)
                .collect();
            assert!(!leavers.is_empty());
            for t in leavers {
                // The leaver is named by first name at least, and is someone else on the staff.
                let text = format!("{}\n{}", t.subject, t.body);
                let named = org
                    .people
                    .iter()
                    .enumerate()
                    .any(|(i, p)| i != t.requester && text.contains(&p.first));
                assert!(
                    named,
                    "{}: nobody of the staff named in {text:?}",
                    tenant.key
                );
            }
        }
        // Invented new starters never share a name with someone in the world.
        let names: HashSet<String> = world
            .tenants
            .iter()
            .flat_map(|t| t.people.iter().map(|p| p.display_name()))
            .collect();
        for first in STARTER_FIRST {
            for last in STARTER_LAST {
                assert!(
                    !names.contains(&format!("{first} {last}")),
                    "{first} {last}"
                );
            }
        }
    }
}
