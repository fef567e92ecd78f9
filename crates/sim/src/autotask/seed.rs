//! The demo database: picklists with tenant-specific ids, two client companies, their contacts,
//! technicians, open tickets, and a year of closed tickets generated from a seeded RNG.
//!
//! Picklist ids are deliberately not the ones community code hard-codes (`publish` 1/2,
//! `status` 5 for Complete), so a connector that does not read the picklist fails here.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use super::schema::PicklistValue as P;

/// Ticket `status` picklist.
pub(crate) const STATUSES: &[P] = &[
    P::new(11, "New").default_value(),
    P::new(17, "In Progress"),
    P::new(23, "Waiting Customer"),
    P::new(26, "Waiting Vendor"),
    P::new(29, "Complete").system(),
];
/// The status that closes a ticket.
pub(crate) const STATUS_COMPLETE: i64 = 29;
const STATUS_NEW: i64 = 11;
const STATUS_IN_PROGRESS: i64 = 17;
const STATUS_WAITING_CUSTOMER: i64 = 23;

/// Ticket `priority` picklist.
pub(crate) const PRIORITIES: &[P] = &[
    P::new(41, "Critical"),
    P::new(42, "High"),
    P::new(43, "Medium").default_value(),
    P::new(44, "Low"),
];
const PRIORITY_HIGH: i64 = 42;
const PRIORITY_MEDIUM: i64 = 43;

/// Ticket `queueID` picklist.
pub(crate) const QUEUES: &[P] = &[
    P::new(29683737, "Help Desk").default_value(),
    P::new(29683751, "Escalations"),
    P::new(29683802, "Monitoring Alerts"),
    P::new(29683815, "Legacy Projects").inactive(),
];
const QUEUE_HELP_DESK: i64 = 29683737;
const QUEUE_ESCALATIONS: i64 = 29683751;

/// Ticket `source` picklist.
pub(crate) const SOURCES: &[P] = &[
    P::new(6, "Email").default_value(),
    P::new(7, "Phone"),
    P::new(8, "Client Portal"),
    P::new(9, "Monitoring Alert"),
];

/// Ticket `issueType` picklist.
pub(crate) const ISSUE_TYPES: &[P] = &[
    P::new(301, "Account Access"),
    P::new(302, "Email"),
    P::new(303, "Hardware"),
    P::new(304, "Network"),
    P::new(305, "Software"),
    P::new(306, "Security"),
    P::new(307, "Onboarding / Offboarding"),
];

/// Ticket `ticketType` picklist (system values, the same in every database).
pub(crate) const TICKET_TYPES: &[P] = &[
    P::new(1, "Service Request").default_value().system(),
    P::new(2, "Incident").system(),
    P::new(3, "Problem").system(),
    P::new(4, "Change Request").system(),
    P::new(5, "Alert").system(),
];
/// `ticketType` of an incident.
pub(crate) const TYPE_INCIDENT: i64 = 2;
/// `ticketType` of a problem.
pub(crate) const TYPE_PROBLEM: i64 = 3;

/// Note `publish` picklist.
pub(crate) const PUBLISH: &[P] = &[
    P::new(7, "All Autotask Users"),
    P::new(5, "Internal Only").default_value(),
    P::new(9, "Internal & Co-Managed"),
];
const PUBLISH_ALL: i64 = 7;
const PUBLISH_INTERNAL: i64 = 5;

/// Note `noteType` picklist.
pub(crate) const NOTE_TYPES: &[P] = &[
    P::new(21, "General").default_value(),
    P::new(22, "Task Summary").system(),
    P::new(23, "Task Detail"),
    P::new(24, "Workflow Rule Action Note").system(),
];
const NOTE_GENERAL: i64 = 21;

/// Company `companyType` picklist (system values).
pub(crate) const COMPANY_TYPES: &[P] = &[
    P::new(1, "Customer").default_value().system(),
    P::new(2, "Lead").system(),
    P::new(3, "Prospect").system(),
    P::new(7, "Vendor").system(),
];

/// Service-desk roles a resource can be assigned in.
pub(crate) const ROLES: &[i64] = &[29683461, 29683470];

/// A technician or API user.
pub(crate) struct SeedResource {
    pub(crate) id: i64,
    pub(crate) first: &'static str,
    pub(crate) last: &'static str,
    pub(crate) user_name: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) role: i64,
    pub(crate) active: bool,
}

/// The API user's own resource (notes are created as it unless impersonating).
pub(crate) const API_RESOURCE_ID: i64 = 29682885;

pub(crate) const RESOURCES: &[SeedResource] = &[
    SeedResource {
        id: API_RESOURCE_ID,
        first: "Stackhand",
        last: "API",
        user_name: "stackhand-api",
        kind: "API",
        role: 29683461,
        active: true,
    },
    SeedResource {
        id: 29684010,
        first: "Alex",
        last: "Morgan",
        user_name: "amorgan",
        kind: "Employee",
        role: 29683461,
        active: true,
    },
    SeedResource {
        id: 29684022,
        first: "Jordan",
        last: "Lee",
        user_name: "jlee",
        kind: "Employee",
        role: 29683470,
        active: true,
    },
    SeedResource {
        id: 29684031,
        first: "Casey",
        last: "Kim",
        user_name: "ckim",
        kind: "Employee",
        role: 29683461,
        active: false,
    },
];

/// A client company and its people.
pub(crate) struct SeedCompany {
    pub(crate) id: i64,
    pub(crate) name: &'static str,
    pub(crate) number: &'static str,
    pub(crate) domain: &'static str,
    pub(crate) phone: &'static str,
    /// (first, last, title, active)
    pub(crate) contacts: &'static [(&'static str, &'static str, &'static str, bool)],
    pub(crate) closed_tickets: usize,
}

pub(crate) const COMPANIES: &[SeedCompany] = &[
    SeedCompany {
        id: 174,
        name: "Contoso Law LLP",
        number: "CONTOSO",
        domain: "contoso-law.example",
        phone: "+1 206 555 0140",
        contacts: &[
            ("Jane", "Doe", "Associate", true),
            ("John", "Smith", "Managing Partner", true),
            ("Priya", "Patel", "Paralegal", true),
            ("Marcus", "Chen", "Office Manager", true),
            ("Emily", "Wong", "Senior Associate", true),
            ("David", "Okafor", "Legal Secretary", true),
            ("Sarah", "Klein", "Records Clerk", true),
            ("Tom", "Baker", "Former Paralegal", false),
        ],
        closed_tickets: 342,
    },
    SeedCompany {
        id: 209,
        name: "Globex Corporation",
        number: "GLOBEX",
        domain: "globex.example",
        phone: "+1 503 555 0199",
        contacts: &[
            ("Hank", "Scorpio", "CEO", true),
            ("Alice", "Nguyen", "Finance Manager", true),
            ("Bob", "Martin", "Accounts Payable", true),
            ("Carol", "Diaz", "Marketing Lead", true),
            ("Frank", "Grimes", "Safety Inspector", true),
            ("Lisa", "Park", "Sales Engineer", true),
            ("Omar", "Haddad", "Warehouse Supervisor", true),
        ],
        closed_tickets: 317,
    },
];

/// An open ticket in the demo data.
pub(crate) struct SeedOpenTicket {
    pub(crate) company: i64,
    /// Index into the company's contacts.
    pub(crate) contact: usize,
    pub(crate) title: &'static str,
    pub(crate) description: &'static str,
    pub(crate) status: i64,
    pub(crate) priority: i64,
    pub(crate) queue: i64,
    pub(crate) issue_type: i64,
    pub(crate) source: i64,
    pub(crate) hours_ago: i64,
}

pub(crate) const OPEN_TICKETS: &[SeedOpenTicket] = &[
    SeedOpenTicket {
        company: 174,
        contact: 0,
        title: "Locked out of Outlook and Teams",
        description: "Hi, I typed my password wrong a few times this morning and now it says my account is locked. I have a client call at 11. Can you unlock me please? Jane",
        status: STATUS_NEW,
        priority: PRIORITY_HIGH,
        queue: QUEUE_HELP_DESK,
        issue_type: 301,
        source: 6,
        hours_ago: 2,
    },
    SeedOpenTicket {
        company: 174,
        contact: 1,
        title: "Password reset please",
        description: "Forgot my password after the long weekend. Please reset it and text me the temporary one.",
        status: STATUS_NEW,
        priority: PRIORITY_MEDIUM,
        queue: QUEUE_HELP_DESK,
        issue_type: 301,
        source: 7,
        hours_ago: 5,
    },
    SeedOpenTicket {
        company: 174,
        contact: 2,
        title: "New phone - Authenticator app needs setting up again",
        description: "I got a new iPhone and the Microsoft Authenticator codes didn't move over. I can't approve sign-ins any more. Old phone was traded in.",
        status: STATUS_IN_PROGRESS,
        priority: PRIORITY_MEDIUM,
        queue: QUEUE_HELP_DESK,
        issue_type: 301,
        source: 8,
        hours_ago: 20,
    },
    SeedOpenTicket {
        company: 174,
        contact: 3,
        title: "New starter Monday: Laura Fischer (paralegal)",
        description: "Laura Fischer joins the litigation team on Monday as a paralegal. She needs an account, email, the Litigation shared drive and a laptop. Same setup as Priya please.",
        status: STATUS_NEW,
        priority: PRIORITY_MEDIUM,
        queue: QUEUE_HELP_DESK,
        issue_type: 307,
        source: 6,
        hours_ago: 30,
    },
    SeedOpenTicket {
        company: 174,
        contact: 4,
        title: "Document management system crawling since this morning",
        description: "Opening any matter in the DMS takes over a minute for everyone on the second floor. Started around 9am. We have a filing deadline today.",
        status: STATUS_IN_PROGRESS,
        priority: PRIORITY_HIGH,
        queue: QUEUE_ESCALATIONS,
        issue_type: 305,
        source: 7,
        hours_ago: 3,
    },
    SeedOpenTicket {
        company: 174,
        contact: 5,
        title: "3rd floor printer printing blank pages",
        description: "The big Ricoh by the kitchen prints blank pages for anything over 10 pages. Toner shows full.",
        status: STATUS_WAITING_CUSTOMER,
        priority: 44,
        queue: QUEUE_HELP_DESK,
        issue_type: 303,
        source: 8,
        hours_ago: 70,
    },
    SeedOpenTicket {
        company: 209,
        contact: 1,
        title: "Can't log in - account locked",
        description: "Getting 'your account has been locked' on the VPN and on webmail. Need it back before month-end close.",
        status: STATUS_NEW,
        priority: PRIORITY_HIGH,
        queue: QUEUE_HELP_DESK,
        issue_type: 301,
        source: 7,
        hours_ago: 1,
    },
    SeedOpenTicket {
        company: 209,
        contact: 2,
        title: "Need access to the Finance shared mailbox",
        description: "Alice asked me to cover invoices@ while she's out. Can I get access to the Finance mailbox? She's approved it (cc'd).",
        status: STATUS_NEW,
        priority: PRIORITY_MEDIUM,
        queue: QUEUE_HELP_DESK,
        issue_type: 302,
        source: 6,
        hours_ago: 6,
    },
    SeedOpenTicket {
        company: 209,
        contact: 0,
        title: "Leaver: Frank Grimes, last day Friday",
        description: "Frank Grimes is leaving us on Friday. Please disable his access at 5pm, forward his mail to Omar and keep his files for 90 days.",
        status: STATUS_NEW,
        priority: PRIORITY_MEDIUM,
        queue: QUEUE_HELP_DESK,
        issue_type: 307,
        source: 6,
        hours_ago: 26,
    },
    SeedOpenTicket {
        company: 209,
        contact: 3,
        title: "Email from 'Hank' asking me to buy gift cards - phishing?",
        description: "Got an urgent email that looks like it's from Hank asking for 10 Apple gift cards for a client. Sender address is hank.scorpio@gl0bex-mail.example. I haven't replied or clicked anything.",
        status: STATUS_NEW,
        priority: PRIORITY_HIGH,
        queue: QUEUE_ESCALATIONS,
        issue_type: 306,
        source: 6,
        hours_ago: 4,
    },
    SeedOpenTicket {
        company: 209,
        contact: 5,
        title: "VPN drops every few minutes from home",
        description: "Since Tuesday the VPN disconnects every 3-5 minutes. Home internet is fine otherwise. Other sales people say the same.",
        status: STATUS_IN_PROGRESS,
        priority: PRIORITY_MEDIUM,
        queue: QUEUE_ESCALATIONS,
        issue_type: 304,
        source: 8,
        hours_ago: 50,
    },
    SeedOpenTicket {
        company: 209,
        contact: 3,
        title: "Visio licence for the new org chart",
        description: "Could I get a Visio licence? HR wants the org chart redone by the end of the month.",
        status: STATUS_NEW,
        priority: 44,
        queue: QUEUE_HELP_DESK,
        issue_type: 305,
        source: 8,
        hours_ago: 9,
    },
];

/// A kind of request, with the ways people phrase it and the ways techs write it up.
struct Scenario {
    issue_type: i64,
    routine: bool,
    titles: &'static [&'static str],
    bodies: &'static [&'static str],
    work_notes: &'static [&'static str],
    updates: &'static [&'static str],
    resolutions: &'static [&'static str],
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        issue_type: 301,
        routine: true,
        titles: &[
            "Password reset",
            "Forgot my password",
            "password expired - can't get in",
            "Reset password for {first}",
            "Can't remember new password after change",
            "Need a new password please",
            "Password not working after holiday",
        ],
        bodies: &[
            "Hi, I've forgotten my password again. Could you reset it? Thanks, {first}",
            "My password expired overnight and the change screen keeps rejecting what I type. Please reset.",
            "{first} called: changed password on Friday, can't remember it now. Verified identity by callback.",
            "Back from leave and my password doesn't work any more. Can someone reset it?",
            "Please reset my password, I think I typed the new one wrong twice when I changed it.",
        ],
        work_notes: &[
            "Verified caller via callback to the number on file.",
            "Identity confirmed with manager. Reset password in the portal, force change at next sign-in.",
            "Checked sign-in logs: no suspicious activity before the reset.",
        ],
        updates: &[
            "Hi {first}, your password has been reset. The temporary password was sent to your mobile; you'll be asked to choose a new one.",
            "Password reset done - please sign in with the temporary password we texted you and set your own.",
        ],
        resolutions: &[
            "Password reset, user signed in and set a new password.",
            "Reset password with forced change at next sign-in. Confirmed working with user.",
            "Temporary password issued by SMS; user confirmed access restored.",
        ],
    },
    Scenario {
        issue_type: 301,
        routine: true,
        titles: &[
            "Account locked out",
            "Locked out of my account",
            "Can't log in - says account locked",
            "{first} locked out of Office 365",
            "Lockout after too many attempts",
            "locked out again!!",
        ],
        bodies: &[
            "It says my account is locked. I think my phone kept trying the old password.",
            "Locked out after a few wrong tries. Can you unlock it please?",
            "{first} is locked out of Windows and Outlook. She's at the front desk and can't work.",
            "Getting 'account locked' on webmail and on my laptop.",
        ],
        work_notes: &[
            "Lockout source was the old password cached on the user's phone mail app.",
            "Unlocked account. Sign-in logs show 14 failed attempts from the user's iPhone.",
            "No failed attempts from unknown locations; looks like a stale credential.",
        ],
        updates: &[
            "Hi {first}, your account is unlocked. Please update the password on your phone's mail app so it doesn't lock you out again.",
            "You're unlocked - give it a minute and try again.",
        ],
        resolutions: &[
            "Unlocked account and removed old credentials from the user's phone.",
            "Account unlocked; cause was a cached password on a mobile device.",
            "Unlocked. User confirmed they can sign in.",
        ],
    },
    Scenario {
        issue_type: 301,
        routine: true,
        titles: &[
            "MFA reset - new phone",
            "Authenticator not working on new phone",
            "Lost phone, can't do two-factor",
            "Need to re-register MFA",
            "Not getting MFA prompts",
            "2FA codes stopped working",
        ],
        bodies: &[
            "I got a new phone and the Authenticator app is empty. Can't approve sign-ins.",
            "Left my phone in a taxi. I can't sign in because it asks for the code.",
            "The MFA prompt never shows up on my phone any more. Tried reinstalling the app.",
            "{first} switched to an Android phone and needs MFA set up again.",
        ],
        work_notes: &[
            "Verified identity via manager before touching MFA.",
            "Removed the old authenticator registration and issued a temporary access pass.",
            "Old device shown as registered in the portal; deleted it.",
        ],
        updates: &[
            "Hi {first}, we've cleared your old MFA registration. Next time you sign in you'll be guided through setting up the Authenticator app again.",
            "MFA reset done - please sign in from your laptop and follow the prompts to add your new phone.",
        ],
        resolutions: &[
            "MFA methods reset; user re-registered Authenticator on the new phone.",
            "Cleared MFA registration and issued TAP; user enrolled successfully.",
            "Old device removed, user set up MFA again and confirmed prompts work.",
        ],
    },
    Scenario {
        issue_type: 302,
        routine: true,
        titles: &[
            "Access to shared mailbox",
            "Please add me to the {group} mailbox",
            "Need access to {group} shared drive",
            "Can {first} get access to the {group} folder",
            "Permission request: {group}",
            "Add to {group} distribution list",
        ],
        bodies: &[
            "Could you give me access to the {group} mailbox? My manager approved it.",
            "I need to see the {group} folder for the new matter. Approved by {approver}.",
            "Please add {first} to {group}. She's covering while the team is short.",
            "I've been asked to help with {group} - can I get access?",
        ],
        work_notes: &[
            "Approval from {approver} attached to the ticket.",
            "Added user to {group} with read/write.",
            "Mailbox permission added; automapping on.",
        ],
        updates: &[
            "Hi {first}, you now have access to {group}. It can take up to an hour to appear in Outlook.",
            "Access to {group} granted. Restart Outlook if you don't see it.",
        ],
        resolutions: &[
            "Added to {group} after manager approval.",
            "Granted access to {group}; user confirmed they can see it.",
            "Permission granted per approval from {approver}.",
        ],
    },
    Scenario {
        issue_type: 305,
        routine: true,
        titles: &[
            "Licence request: {app}",
            "Need a {app} licence",
            "{app} says unlicensed",
            "Can I get {app}?",
            "Office says product deactivated",
        ],
        bodies: &[
            "Could I please get a {app} licence? Needed for a project starting next week.",
            "{app} opened today with a banner saying it isn't licensed.",
            "Manager approved {app} for {first}. Please assign a licence.",
            "Word and Excel are in read-only mode and say the product is deactivated.",
        ],
        work_notes: &[
            "Checked available seats: one free {app} licence.",
            "Assigned {app} licence; usage location was missing, set it first.",
            "No free seats - raised order with the distributor for one more.",
        ],
        updates: &[
            "Hi {first}, a {app} licence is now assigned. Sign out and back in to Office to pick it up.",
            "Licence assigned - please restart the app.",
        ],
        resolutions: &[
            "Assigned {app} licence; user confirmed activation.",
            "Licence assigned after approval; app activated.",
            "Reactivated Office after reassigning the licence.",
        ],
    },
    Scenario {
        issue_type: 307,
        routine: true,
        titles: &[
            "New starter: {starter}",
            "New user setup - {starter}",
            "Onboarding {starter} next week",
            "Account needed for new hire {starter}",
        ],
        bodies: &[
            "{starter} starts on Monday in {dept}. Needs email, Teams, the {group} drive and a laptop.",
            "Please set up {starter} (starting the 1st, {dept}). Same access as {first}.",
            "New hire {starter} - {dept}. Laptop, account, phone extension please.",
        ],
        work_notes: &[
            "Created account and mailbox, added to {dept} groups.",
            "Laptop imaged and enrolled; shipped to office.",
            "Licence assigned, MFA registration pending first sign-in.",
        ],
        updates: &[
            "Hi {first}, {starter}'s account is ready. Temporary password will be given to them on day one.",
            "Setup for {starter} is complete - laptop is at reception.",
        ],
        resolutions: &[
            "New starter account, mailbox, groups and laptop set up.",
            "Onboarding complete; user signed in on day one.",
            "Account created with {dept} access; hardware delivered.",
        ],
    },
    Scenario {
        issue_type: 307,
        routine: true,
        titles: &[
            "Leaver: {leaver}",
            "Offboard {leaver} - last day Friday",
            "Disable account for {leaver}",
            "Staff leaving: {leaver}",
        ],
        bodies: &[
            "{leaver} leaves on Friday. Please block sign-in at 5pm and forward mail to {first}.",
            "Please disable {leaver}'s account today, they've left. Keep the mailbox.",
            "{leaver} has resigned effective immediately. Remove all access and collect the laptop.",
        ],
        work_notes: &[
            "Blocked sign-in and revoked sessions at the agreed time.",
            "Converted mailbox to shared, forwarded to {first}; licence removed.",
            "Laptop returned and wiped.",
        ],
        updates: &[
            "Hi {first}, {leaver}'s account is disabled and their mail is now shared with you.",
            "Offboarding for {leaver} done as requested.",
        ],
        resolutions: &[
            "Leaver processed: sign-in blocked, mailbox shared, licence reclaimed.",
            "Account disabled, sessions revoked, files kept for 90 days.",
            "Offboarding complete; device returned and wiped.",
        ],
    },
    Scenario {
        issue_type: 303,
        routine: false,
        titles: &[
            "Printer jammed",
            "Printer printing blank pages",
            "Can't print to {device}",
            "Scanner to email not working",
            "Printer offline",
        ],
        bodies: &[
            "The {device} says paper jam but there's nothing in it.",
            "Nothing I send to the {device} comes out. It shows offline on my PC.",
            "Scan to email stopped working this morning - no emails arrive.",
        ],
        work_notes: &[
            "Remote session: print spooler hung, restarted.",
            "SMTP relay password for the scanner had expired; updated.",
            "Booked vendor engineer for fuser replacement.",
        ],
        updates: &[
            "Hi {first}, the printer should be working again - let us know if not.",
            "An engineer from the printer company is booked for tomorrow morning.",
        ],
        resolutions: &[
            "Restarted spooler and re-added printer; test page OK.",
            "Vendor replaced fuser unit; printing normally.",
            "Updated scanner SMTP credentials; scan to email working.",
        ],
    },
    Scenario {
        issue_type: 304,
        routine: false,
        titles: &[
            "VPN keeps disconnecting",
            "Can't connect to VPN from home",
            "Wi-Fi in meeting room very slow",
            "Internet down at {site}",
            "Remote desktop not connecting",
        ],
        bodies: &[
            "VPN drops every few minutes since yesterday. Others have the same issue.",
            "Whole office at {site} has no internet. Phones are down too.",
            "Meeting room Wi-Fi is unusable, video calls freeze.",
            "Can't RDP to my desktop from home, it times out.",
        ],
        work_notes: &[
            "ISP confirmed an outage in the area; ticket raised with them.",
            "VPN concentrator firmware bug; applied vendor hotfix after hours.",
            "Access point in the meeting room was on a congested channel; moved it.",
        ],
        updates: &[
            "Hi {first}, the ISP has confirmed an outage; we'll update you as soon as it's back.",
            "We applied a fix to the VPN tonight - please try again tomorrow.",
        ],
        resolutions: &[
            "ISP restored service; confirmed connectivity at {site}.",
            "Applied VPN firmware hotfix; no further drops reported.",
            "Re-channelled access point; Wi-Fi speeds back to normal.",
        ],
    },
    Scenario {
        issue_type: 303,
        routine: false,
        titles: &[
            "Laptop won't turn on",
            "Very slow computer",
            "Blue screen on startup",
            "Laptop screen cracked",
            "Docking station not detecting monitors",
        ],
        bodies: &[
            "My laptop won't power on this morning, charging light is on.",
            "Everything takes ages to open, the fan is loud all day.",
            "Got a blue screen twice today, the second time it wouldn't boot.",
            "Dropped my laptop and the screen is cracked. Still works with an external monitor.",
            "Monitors stay black when I dock.",
        ],
        work_notes: &[
            "Ran hardware diagnostics: SSD SMART errors.",
            "Disk at 98% - cleared temp files and a stuck update.",
            "Swapped docking station; updated dock firmware.",
            "Warranty claim raised with the manufacturer.",
        ],
        updates: &[
            "Hi {first}, we've sent a loaner laptop while yours is repaired.",
            "Your laptop should be quicker now - let us know if it slows down again.",
        ],
        resolutions: &[
            "Replaced SSD under warranty and restored user profile.",
            "Cleared disk space and fixed stuck update; performance normal.",
            "Replaced docking station; both monitors detected.",
            "Screen replaced by manufacturer; laptop returned to user.",
        ],
    },
    Scenario {
        issue_type: 302,
        routine: false,
        titles: &[
            "Outlook keeps crashing",
            "Emails stuck in outbox",
            "Not receiving external email",
            "Calendar not syncing to phone",
            "Mailbox full warning",
        ],
        bodies: &[
            "Outlook closes itself every time I open a particular email.",
            "Emails sit in my outbox and never send.",
            "Clients say their emails bounce back to them.",
            "Meetings I accept on my laptop don't show on my phone.",
        ],
        work_notes: &[
            "Repaired Office install; corrupt add-in disabled.",
            "Mail flow rule was blocking an external domain; removed.",
            "Archived old items; enabled online archive.",
        ],
        updates: &[
            "Hi {first}, we found a faulty add-in and disabled it. Outlook should be stable now.",
            "Mail flow fixed - ask the client to resend.",
        ],
        resolutions: &[
            "Disabled faulty add-in; Outlook stable.",
            "Fixed mail flow rule; external mail arriving.",
            "Enabled online archive; mailbox under quota.",
        ],
    },
    Scenario {
        issue_type: 306,
        routine: false,
        titles: &[
            "Suspicious email - phishing?",
            "I clicked a link in a weird email",
            "Strange sign-in alert",
            "Possible invoice fraud email",
        ],
        bodies: &[
            "Got an email asking me to log in to see a shared document. Looks off. Didn't click.",
            "I clicked a link in an email about a parcel and entered my password before I realised.",
            "Got an alert about a sign-in from another country. It wasn't me.",
            "A supplier emailed new bank details for their invoice. Doesn't look right.",
        ],
        work_notes: &[
            "Blocked sender domain and purged the message from all mailboxes.",
            "Reset password, revoked sessions, reviewed inbox rules: one malicious forwarding rule removed.",
            "Confirmed with the supplier by phone: details were fraudulent.",
        ],
        updates: &[
            "Hi {first}, thanks for reporting it. We've removed the email from everyone's inbox.",
            "We've secured your account - please use the new password we sent.",
        ],
        resolutions: &[
            "Phishing message purged and sender blocked.",
            "Account secured after credential phish; no data accessed per audit log.",
            "Fraud attempt confirmed and reported; finance warned.",
        ],
    },
    Scenario {
        issue_type: 305,
        routine: false,
        titles: &[
            "Install {app} please",
            "{app} error on startup",
            "Teams calls no audio",
            "Practice management software update",
            "Backup failure alert",
        ],
        bodies: &[
            "Can you install {app} on my laptop? Needed for a client file.",
            "{app} shows an error about a missing component when I open it.",
            "People can't hear me on Teams calls; headset works elsewhere.",
            "Vendor says we must update to the new version before the end of the month.",
            "Nightly backup job reported failure for the file server.",
        ],
        work_notes: &[
            "Deployed {app} via the RMM.",
            "Reinstalled the runtime the app depends on.",
            "Teams was using the laptop mic; set headset as default device.",
            "Backup failed on a locked file; excluded temp folder and re-ran job.",
        ],
        updates: &[
            "Hi {first}, {app} is installed - you'll find it in the Start menu.",
            "Please try your call again - we changed the default microphone.",
        ],
        resolutions: &[
            "Software deployed and tested.",
            "Reinstalled dependency; app launches.",
            "Audio device settings corrected.",
            "Backup job fixed; next run succeeded.",
        ],
    },
];

const APPS: &[&str] = &[
    "Visio",
    "Project",
    "Adobe Acrobat Pro",
    "Power BI Pro",
    "Zoom",
    "Clio",
    "Worldox",
    "Teams Premium",
];
const GROUPS: &[&str] = &[
    "Finance",
    "Litigation",
    "HR",
    "Reception",
    "Marketing",
    "Accounts Payable",
    "Conveyancing",
    "Sales",
];
const DEPTS: &[&str] = &["Finance", "Litigation", "Sales", "Operations", "HR"];
const DEVICES: &[&str] = &[
    "Ricoh on floor 2",
    "reception printer",
    "HP LaserJet in the mail room",
    "big copier",
];
const SITES: &[&str] = &["the main office", "the warehouse", "the Tacoma branch"];
const NEW_PEOPLE: &[&str] = &[
    "Laura Fischer",
    "Ken Adams",
    "Maria Rossi",
    "Sam O'Neill",
    "Yuki Tanaka",
    "Ben Carter",
    "Nadia Hussain",
];

/// A generated closed ticket.
pub(crate) struct ClosedTicket {
    pub(crate) contact: usize,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) issue_type: i64,
    pub(crate) queue: i64,
    pub(crate) priority: i64,
    pub(crate) source: i64,
    pub(crate) created: DateTime<Utc>,
    pub(crate) completed: DateTime<Utc>,
    pub(crate) resolution: String,
    /// (title, text, publish, minutes after creation)
    pub(crate) notes: Vec<(String, String, i64, i64)>,
    pub(crate) assigned: i64,
}

fn fill(template: &str, rng: &mut StdRng, first: &str, approver: &str) -> String {
    let pick = |rng: &mut StdRng, list: &[&'static str]| *list.choose(rng).expect("non-empty");
    let mut out = template.replace("{first}", first);
    out = out.replace("{approver}", approver);
    for (key, list) in [
        ("{app}", APPS),
        ("{group}", GROUPS),
        ("{dept}", DEPTS),
        ("{device}", DEVICES),
        ("{site}", SITES),
        ("{starter}", NEW_PEOPLE),
        ("{leaver}", NEW_PEOPLE),
    ] {
        if out.contains(key) {
            let value = pick(rng, list);
            out = out.replace(key, value);
        }
    }
    out
}

/// A year of closed tickets for one company, the same every time for the same `seed`.
pub(crate) fn closed_history(
    company: &SeedCompany,
    now: DateTime<Utc>,
    seed: u64,
) -> Vec<ClosedTicket> {
    let mut rng = StdRng::seed_from_u64(seed ^ company.id as u64);
    let techs: Vec<i64> = RESOURCES
        .iter()
        .filter(|r| r.kind == "Employee")
        .map(|r| r.id)
        .collect();
    let active_contacts: Vec<usize> = (0..company.contacts.len()).collect();
    let mut out = Vec::with_capacity(company.closed_tickets);
    for _ in 0..company.closed_tickets {
        // Routine requests are most of an MSP's volume; weight them roughly 2:1.
        let routine = rng.random_bool(0.65);
        let pool: Vec<&Scenario> = SCENARIOS.iter().filter(|s| s.routine == routine).collect();
        let scenario = *pool.choose(&mut rng).expect("scenarios");
        let contact = *active_contacts.choose(&mut rng).expect("contacts");
        let first = company.contacts[contact].0;
        let approver = company.contacts[(contact + 1) % company.contacts.len()].0;
        let title = fill(
            scenario.titles.choose(&mut rng).expect("titles"),
            &mut rng,
            first,
            approver,
        );
        let description = fill(
            scenario.bodies.choose(&mut rng).expect("bodies"),
            &mut rng,
            first,
            approver,
        );
        let age_minutes = rng.random_range(90..365 * 24 * 60);
        let created = now - Duration::minutes(age_minutes);
        let work_minutes = if routine {
            rng.random_range(5..240)
        } else {
            rng.random_range(60..5 * 24 * 60)
        }
        .min(age_minutes - 30);
        let completed = created + Duration::minutes(work_minutes);
        let mut notes = Vec::new();
        let work = fill(
            scenario.work_notes.choose(&mut rng).expect("notes"),
            &mut rng,
            first,
            approver,
        );
        notes.push((
            "Work performed".to_string(),
            work,
            PUBLISH_INTERNAL,
            work_minutes / 3,
        ));
        if rng.random_bool(0.6) {
            let update = fill(
                scenario.updates.choose(&mut rng).expect("updates"),
                &mut rng,
                first,
                approver,
            );
            notes.push((
                "Update to customer".to_string(),
                update,
                PUBLISH_ALL,
                work_minutes * 2 / 3,
            ));
        }
        let resolution = fill(
            scenario.resolutions.choose(&mut rng).expect("resolutions"),
            &mut rng,
            first,
            approver,
        );
        notes.push((
            "Resolution".to_string(),
            resolution.clone(),
            PUBLISH_ALL,
            work_minutes,
        ));
        out.push(ClosedTicket {
            contact,
            title,
            description,
            issue_type: scenario.issue_type,
            queue: if routine || rng.random_bool(0.5) {
                QUEUE_HELP_DESK
            } else {
                QUEUE_ESCALATIONS
            },
            priority: if rng.random_bool(0.2) {
                PRIORITY_HIGH
            } else {
                PRIORITY_MEDIUM
            },
            source: *[6i64, 7, 8].choose(&mut rng).expect("sources"),
            created,
            completed,
            resolution,
            notes,
            assigned: *techs.choose(&mut rng).expect("techs"),
        });
    }
    out.sort_by_key(|t| t.created);
    out
}

/// The note type used for seeded notes.
pub(crate) const SEED_NOTE_TYPE: i64 = NOTE_GENERAL;
