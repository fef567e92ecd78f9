//! An in-memory connector (identity, PSA and messaging), always compiled, for examples, doc
//! tests, the demo and runner tests.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use parking_lot::Mutex;
use secrecy::SecretString;

use crate::action::ExecutionProof;
use crate::capability::*;
use crate::connector::{Connector, ConnectorInfo, Health};
use crate::error::{Error, Result};
use crate::model::{Category, Department, TenantId};
use crate::password::{generate_password, generate_password_for};

/// What the memory connector holds; public so tests can inspect and arrange it.
#[derive(Debug, Default, Clone)]
pub struct MemoryState {
    /// Users by id.
    pub users: BTreeMap<String, User>,
    /// Groups by id.
    pub groups: BTreeMap<String, Group>,
    /// Group id -> member user ids.
    pub members: BTreeMap<String, Vec<String>>,
    /// Licence SKUs by id.
    pub skus: BTreeMap<String, LicenseSku>,
    /// User id -> SKU ids held.
    pub licenses: BTreeMap<String, Vec<String>>,
    /// User id -> MFA methods.
    pub mfa: BTreeMap<String, Vec<MfaMethod>>,
    /// Mailbox permissions.
    pub mailbox_permissions: Vec<MailboxPermission>,
    /// User ids whose sessions were revoked, in order.
    pub revoked_sessions: Vec<String>,
    /// Tickets by id.
    pub tickets: BTreeMap<String, Ticket>,
    /// Ticket id -> notes.
    pub notes: BTreeMap<String, Vec<Note>>,
    /// Contacts by id.
    pub contacts: BTreeMap<String, Contact>,
    /// Companies by id.
    pub companies: BTreeMap<String, Company>,
    /// Messages sent.
    pub outbox: Vec<Message>,
    next_id: u64,
}

impl MemoryState {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}-{}", self.next_id)
    }

    fn user_by(&self, id_or_login: &str) -> Result<&User> {
        self.users
            .values()
            .find(|u| u.id == id_or_login || u.login.eq_ignore_ascii_case(id_or_login))
            .ok_or_else(|| Error::not_found(format!("no user {id_or_login}")))
    }

    fn user_mut(&mut self, id: &str) -> Result<&mut User> {
        self.users
            .get_mut(id)
            .ok_or_else(|| Error::not_found(format!("no user {id}")))
    }

    fn ticket_mut(&mut self, id: &str) -> Result<&mut Ticket> {
        self.tickets
            .get_mut(id)
            .ok_or_else(|| Error::not_found(format!("no ticket {id}")))
    }
}

/// An in-memory identity provider, PSA and mailer for one tenant.
///
/// ```
/// use stackhand_core::{memory::MemoryConnector, TenantId, Connector};
/// let memory = MemoryConnector::demo(TenantId::new("acme").unwrap());
/// assert!(memory.identity().is_some() && memory.psa().is_some());
/// assert!(memory.state().users.values().any(|u| u.login == "jane@acme.example"));
/// ```
#[derive(Debug, Clone)]
pub struct MemoryConnector {
    info: ConnectorInfo,
    state: Arc<Mutex<MemoryState>>,
}

impl MemoryConnector {
    /// An empty connector.
    pub fn new(tenant: TenantId) -> Self {
        Self {
            info: ConnectorInfo {
                vendor: "memory".into(),
                tenant,
                categories: vec![Category::Identity, Category::Psa, Category::Messaging],
            },
            state: Arc::new(Mutex::new(MemoryState::default())),
        }
    }

    /// A connector seeded with a small company: users (one admin, one locked out), groups,
    /// licences, MFA methods, a shared mailbox, and open tickets.
    pub fn demo(tenant: TenantId) -> Self {
        let connector = Self::new(tenant.clone());
        {
            let mut s = connector.state.lock();
            let domain = format!("{tenant}.example");
            let user = |id: &str, name: &str, dept: &str, roles: &[&str], locked: bool| User {
                id: id.into(),
                login: format!("{}@{domain}", id),
                display_name: name.into(),
                email: Some(format!("{}@{domain}", id)),
                enabled: true,
                locked,
                status: Some("active".into()),
                department: Some(Department::new(dept)),
                job_title: None,
                externally_mastered: false,
                roles: roles.iter().map(|r| r.to_string()).collect(),
                usage_location: Some("GB".into()),
            };
            for u in [
                user("jane", "Jane Doe", "Finance", &[], false),
                user("bob", "Bob Smith", "Sales", &[], true),
                user("admin", "Ada Admin", "IT", &["Global Administrator"], false),
                user("shared", "Shared Inbox", "Finance", &[], false),
            ] {
                s.users.insert(u.id.clone(), u);
            }
            for (id, name, kind, privileged) in [
                ("g-sales", "Sales", GroupKind::Security, false),
                ("g-finance", "Finance", GroupKind::Unified, false),
                ("g-breakglass", "Break Glass", GroupKind::Security, false),
                // Role-assignable: its members hold the Helpdesk Administrator role.
                (
                    "g-helpdesk-admins",
                    "Helpdesk Admins",
                    GroupKind::Security,
                    true,
                ),
            ] {
                s.groups.insert(
                    id.into(),
                    Group {
                        id: id.into(),
                        name: name.into(),
                        kind,
                        writable: true,
                        privileged,
                    },
                );
            }
            s.members
                .insert("g-finance".into(), vec!["jane".into(), "shared".into()]);
            s.members.insert("g-sales".into(), vec!["bob".into()]);
            s.skus.insert(
                "sku-e3".into(),
                LicenseSku {
                    id: "sku-e3".into(),
                    name: "SPE_E3".into(),
                    total: 10,
                    consumed: 3,
                },
            );
            s.skus.insert(
                "sku-bp".into(),
                LicenseSku {
                    id: "sku-bp".into(),
                    name: "O365_BUSINESS_PREMIUM".into(),
                    total: 5,
                    consumed: 5,
                },
            );
            s.licenses.insert("jane".into(), vec!["sku-e3".into()]);
            s.mfa.insert(
                "jane".into(),
                vec![
                    MfaMethod {
                        id: "m-1".into(),
                        method_type: "authenticator".into(),
                        description: Some("iPhone".into()),
                    },
                    MfaMethod {
                        id: "m-2".into(),
                        method_type: "phone".into(),
                        description: Some("+44 ••• 123".into()),
                    },
                ],
            );
            s.companies.insert(
                "c-1".into(),
                Company {
                    id: "c-1".into(),
                    identifier: tenant.to_string(),
                    name: format!("{tenant} Ltd"),
                },
            );
            for (id, name, login) in [("ct-1", "Jane Doe", "jane"), ("ct-2", "Bob Smith", "bob")] {
                s.contacts.insert(
                    id.into(),
                    Contact {
                        id: id.into(),
                        name: name.into(),
                        email: Some(format!("{login}@{domain}")),
                        company_id: Some("c-1".into()),
                        active: true,
                    },
                );
            }
            for (id, contact, subject, body) in [
                (
                    "1001",
                    "ct-2",
                    "Locked out",
                    "Hi, I'm locked out of my account since this morning. Bob",
                ),
                (
                    "1002",
                    "ct-1",
                    "Need access to the shared mailbox",
                    "Please give me access to the Shared Inbox mailbox. Thanks, Jane",
                ),
                (
                    "1003",
                    "ct-1",
                    "Admin password",
                    "Can you reset the admin account's password and send it to me? Jane",
                ),
                (
                    "1004",
                    "ct-2",
                    "Printer jammed",
                    "The second floor printer is jammed again.",
                ),
            ] {
                let company = s.companies.get("c-1").cloned();
                let contact = s.contacts.get(contact).cloned();
                s.tickets.insert(
                    id.into(),
                    Ticket {
                        id: id.into(),
                        tenant: tenant.clone(),
                        company,
                        contact,
                        subject: subject.into(),
                        body: body.into(),
                        created: Utc::now(),
                        updated: None,
                        status: "New".into(),
                        board: Some("Help Desk".into()),
                        priority: Some("Normal".into()),
                        source: Some("portal".into()),
                        closed: false,
                        parent_id: None,
                    },
                );
            }
        }
        connector
    }

    /// A snapshot of the state.
    pub fn state(&self) -> MemoryState {
        self.state.lock().clone()
    }

    /// Change the state directly (tests arrange scenarios with this).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut MemoryState) -> R) -> R {
        f(&mut self.state.lock())
    }
}

#[async_trait]
impl Connector for MemoryConnector {
    fn info(&self) -> &ConnectorInfo {
        &self.info
    }

    async fn health(&self) -> Result<Health> {
        Ok(Health {
            healthy: true,
            detail: "in memory".into(),
        })
    }

    fn identity(&self) -> Option<&dyn IdentityProvider> {
        Some(self)
    }

    fn identity_writes(&self) -> Option<&dyn IdentityWrites> {
        Some(self)
    }

    fn psa(&self) -> Option<&dyn Psa> {
        Some(self)
    }

    fn psa_writes(&self) -> Option<&dyn PsaWrites> {
        Some(self)
    }

    fn messaging(&self) -> Option<&dyn Messaging> {
        Some(self)
    }
}

#[async_trait]
impl IdentityProvider for MemoryConnector {
    fn features(&self) -> IdentityFeatures {
        IdentityFeatures {
            licenses: true,
            mailboxes: true,
            temporary_access_pass: true,
            reset_links: false,
            native_unlock: true,
            suspend: false,
        }
    }

    async fn find_users(&self, query: &UserQuery) -> Result<Vec<User>> {
        let s = self.state.lock();
        let text = query.text().to_ascii_lowercase();
        Ok(s.users
            .values()
            .filter(|u| match query {
                UserQuery::Login(_) => u.login.to_ascii_lowercase() == text,
                UserQuery::Email(_) => u
                    .email
                    .as_deref()
                    .is_some_and(|e| e.to_ascii_lowercase() == text),
                UserQuery::Name(_) => u.display_name.to_ascii_lowercase().contains(&text),
            })
            .cloned()
            .collect())
    }

    async fn get_user(&self, id_or_login: &str) -> Result<User> {
        self.state.lock().user_by(id_or_login).cloned()
    }

    async fn list_mfa_methods(&self, user: &User) -> Result<Vec<MfaMethod>> {
        Ok(self
            .state
            .lock()
            .mfa
            .get(&user.id)
            .cloned()
            .unwrap_or_default())
    }

    async fn user_groups(&self, user: &User) -> Result<Vec<Group>> {
        let s = self.state.lock();
        Ok(s.members
            .iter()
            .filter(|(_, members)| members.contains(&user.id))
            .filter_map(|(gid, _)| s.groups.get(gid).cloned())
            .collect())
    }

    async fn find_group(&self, name_or_id: &str) -> Result<Group> {
        let s = self.state.lock();
        s.groups
            .values()
            .find(|g| g.id == name_or_id || g.name.eq_ignore_ascii_case(name_or_id))
            .cloned()
            .ok_or_else(|| Error::not_found(format!("no group {name_or_id}")))
    }

    async fn licenses(&self) -> Result<Vec<LicenseSku>> {
        Ok(self.state.lock().skus.values().cloned().collect())
    }

    async fn user_licenses(&self, user: &User) -> Result<Vec<LicenseAssignment>> {
        let s = self.state.lock();
        Ok(s.licenses
            .get(&user.id)
            .into_iter()
            .flatten()
            .map(|sku| LicenseAssignment {
                sku_id: sku.clone(),
                sku_name: s.skus.get(sku).map(|k| k.name.clone()),
                inherited_from: Vec::new(),
                direct: true,
            })
            .collect())
    }

    async fn mailbox_permissions(&self, mailbox: &str) -> Result<Vec<MailboxPermission>> {
        Ok(self
            .state
            .lock()
            .mailbox_permissions
            .iter()
            .filter(|p| p.mailbox.eq_ignore_ascii_case(mailbox))
            .cloned()
            .collect())
    }
}

#[async_trait]
impl IdentityWrites for MemoryConnector {
    async fn reset_password(
        &self,
        _proof: &ExecutionProof<'_>,
        user: &User,
        options: &ResetPasswordOptions,
    ) -> Result<PasswordReset> {
        if options.delivery == ResetDelivery::ResetLink {
            return Err(Error::unsupported("password reset links"));
        }
        let mut s = self.state.lock();
        let u = s.user_mut(&user.id)?;
        u.locked = false;
        if options.revoke_sessions {
            s.revoked_sessions.push(user.id.clone());
        }
        Ok(PasswordReset {
            temporary_password: Some(generate_password_for(&user.login)),
            reset_link: None,
        })
    }

    async fn unlock(&self, _proof: &ExecutionProof<'_>, user: &User) -> Result<()> {
        self.state.lock().user_mut(&user.id)?.locked = false;
        Ok(())
    }

    async fn reset_mfa(
        &self,
        _proof: &ExecutionProof<'_>,
        user: &User,
        issue_temporary_access_pass: bool,
    ) -> Result<MfaReset> {
        let removed = self.state.lock().mfa.remove(&user.id).unwrap_or_default();
        Ok(MfaReset {
            removed,
            temporary_access_pass: issue_temporary_access_pass.then(generate_password),
        })
    }

    async fn revoke_sessions(&self, _proof: &ExecutionProof<'_>, user: &User) -> Result<()> {
        self.state.lock().revoked_sessions.push(user.id.clone());
        Ok(())
    }

    async fn set_enabled(
        &self,
        _proof: &ExecutionProof<'_>,
        user: &User,
        enabled: bool,
    ) -> Result<()> {
        self.state.lock().user_mut(&user.id)?.enabled = enabled;
        Ok(())
    }

    async fn add_to_group(
        &self,
        _proof: &ExecutionProof<'_>,
        user: &User,
        group: &Group,
    ) -> Result<()> {
        let mut s = self.state.lock();
        let members = s.members.entry(group.id.clone()).or_default();
        if !members.contains(&user.id) {
            members.push(user.id.clone());
        }
        Ok(())
    }

    async fn remove_from_group(
        &self,
        _proof: &ExecutionProof<'_>,
        user: &User,
        group: &Group,
    ) -> Result<()> {
        if let Some(members) = self.state.lock().members.get_mut(&group.id) {
            members.retain(|m| m != &user.id);
        }
        Ok(())
    }

    async fn create_user(
        &self,
        _proof: &ExecutionProof<'_>,
        new_user: &NewUser,
        initial_password: Option<&SecretString>,
    ) -> Result<CreatedUser> {
        let mut s = self.state.lock();
        if s.user_by(&new_user.login).is_ok() {
            return Err(Error::conflict(format!("user {} exists", new_user.login)));
        }
        let id = s.id("user");
        let user = User {
            id: id.clone(),
            login: new_user.login.clone(),
            display_name: new_user.display(),
            email: new_user
                .email
                .clone()
                .or_else(|| Some(new_user.login.clone())),
            enabled: true,
            locked: false,
            status: Some("active".into()),
            department: new_user.department.clone().map(Department),
            job_title: new_user.job_title.clone(),
            externally_mastered: false,
            roles: Vec::new(),
            usage_location: new_user.usage_location.clone(),
        };
        s.users.insert(id, user.clone());
        Ok(CreatedUser {
            user,
            initial_password: Some(
                initial_password
                    .cloned()
                    .unwrap_or_else(|| generate_password_for(&new_user.login)),
            ),
        })
    }

    async fn assign_license(
        &self,
        _proof: &ExecutionProof<'_>,
        user: &User,
        sku: &LicenseSku,
    ) -> Result<()> {
        let mut s = self.state.lock();
        let stock = s
            .skus
            .get_mut(&sku.id)
            .ok_or_else(|| Error::not_found(format!("no sku {}", sku.id)))?;
        if stock.available() == 0 {
            return Err(Error::conflict(format!("no free {} seats", stock.name)));
        }
        stock.consumed += 1;
        let held = s.licenses.entry(user.id.clone()).or_default();
        if !held.contains(&sku.id) {
            held.push(sku.id.clone());
        }
        Ok(())
    }

    async fn remove_license(
        &self,
        _proof: &ExecutionProof<'_>,
        user: &User,
        sku: &LicenseSku,
    ) -> Result<()> {
        let mut s = self.state.lock();
        let held = s.licenses.entry(user.id.clone()).or_default();
        let before = held.len();
        held.retain(|k| k != &sku.id);
        if held.len() < before
            && let Some(stock) = s.skus.get_mut(&sku.id)
        {
            stock.consumed = stock.consumed.saturating_sub(1);
        }
        Ok(())
    }

    async fn grant_mailbox_access(
        &self,
        _proof: &ExecutionProof<'_>,
        grant: &MailboxPermission,
    ) -> Result<()> {
        let mut s = self.state.lock();
        s.user_by(&grant.mailbox)?;
        s.user_by(&grant.user)?;
        if !s.mailbox_permissions.iter().any(|p| same_grant(p, grant)) {
            s.mailbox_permissions.push(grant.clone());
        }
        Ok(())
    }

    async fn remove_mailbox_access(
        &self,
        _proof: &ExecutionProof<'_>,
        grant: &MailboxPermission,
    ) -> Result<()> {
        self.state
            .lock()
            .mailbox_permissions
            .retain(|p| !same_grant(p, grant));
        Ok(())
    }
}

fn same_grant(a: &MailboxPermission, b: &MailboxPermission) -> bool {
    a.right == b.right
        && a.mailbox.eq_ignore_ascii_case(&b.mailbox)
        && a.user.eq_ignore_ascii_case(&b.user)
}

#[async_trait]
impl Psa for MemoryConnector {
    async fn poll_tickets(&self, query: &TicketQuery) -> Result<Vec<Ticket>> {
        let s = self.state.lock();
        let mut tickets: Vec<Ticket> = s
            .tickets
            .values()
            .filter(|t| !t.closed)
            .filter(|t| {
                query
                    .since
                    .is_none_or(|since| t.updated.unwrap_or(t.created) > since)
            })
            .filter(|t| {
                query.boards.is_empty()
                    || t.board.as_ref().is_some_and(|b| query.boards.contains(b))
            })
            .filter(|t| query.statuses.is_empty() || query.statuses.contains(&t.status))
            .cloned()
            .collect();
        tickets.sort_by_key(|t| t.updated.unwrap_or(t.created));
        Ok(tickets)
    }

    async fn get_ticket(&self, id: &str) -> Result<Ticket> {
        self.state
            .lock()
            .tickets
            .get(id)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("no ticket {id}")))
    }

    async fn history(&self, query: &HistoryQuery) -> Result<Vec<HistoricalTicket>> {
        let s = self.state.lock();
        Ok(s.tickets
            .values()
            .filter(|t| t.closed && t.created >= query.from && t.created < query.to)
            .map(|t| HistoricalTicket {
                ticket: t.clone(),
                notes: s.notes.get(&t.id).cloned().unwrap_or_default(),
                resolution: s.notes.get(&t.id).and_then(|n| {
                    n.iter()
                        .rev()
                        .find(|n| n.resolution)
                        .map(|n| n.text.clone())
                }),
                closed_at: t.updated,
            })
            .collect())
    }

    async fn notes(&self, ticket_id: &str) -> Result<Vec<Note>> {
        let s = self.state.lock();
        if !s.tickets.contains_key(ticket_id) {
            return Err(Error::not_found(format!("no ticket {ticket_id}")));
        }
        Ok(s.notes.get(ticket_id).cloned().unwrap_or_default())
    }

    async fn find_contact(&self, email: &str) -> Result<Option<Contact>> {
        Ok(self
            .state
            .lock()
            .contacts
            .values()
            .find(|c| {
                c.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .cloned())
    }

    async fn find_company(&self, identifier: &str) -> Result<Option<Company>> {
        Ok(self
            .state
            .lock()
            .companies
            .values()
            .find(|c| {
                c.identifier.eq_ignore_ascii_case(identifier)
                    || c.name.eq_ignore_ascii_case(identifier)
            })
            .cloned())
    }
}

#[async_trait]
impl PsaWrites for MemoryConnector {
    async fn add_note(
        &self,
        _proof: &ExecutionProof<'_>,
        ticket_id: &str,
        note: &NewNote,
    ) -> Result<Note> {
        let mut s = self.state.lock();
        s.ticket_mut(ticket_id)?;
        let id = s.id("note");
        let note = Note {
            id,
            text: note.text.clone(),
            visibility: note.visibility,
            resolution: note.resolution,
            author: Some("stackhand".into()),
            created: Some(Utc::now()),
        };
        s.notes
            .entry(ticket_id.to_string())
            .or_default()
            .push(note.clone());
        Ok(note)
    }

    async fn set_status(
        &self,
        _proof: &ExecutionProof<'_>,
        ticket_id: &str,
        status: &str,
    ) -> Result<()> {
        let mut s = self.state.lock();
        let t = s.ticket_mut(ticket_id)?;
        t.status = status.to_string();
        t.closed = status.eq_ignore_ascii_case("closed");
        t.updated = Some(Utc::now());
        Ok(())
    }

    async fn close(
        &self,
        proof: &ExecutionProof<'_>,
        ticket_id: &str,
        resolution: Option<&str>,
    ) -> Result<()> {
        if let Some(text) = resolution {
            self.add_note(
                proof,
                ticket_id,
                &NewNote {
                    text: text.into(),
                    visibility: NoteVisibility::Customer,
                    resolution: true,
                },
            )
            .await?;
        }
        self.set_status(proof, ticket_id, "Closed").await
    }

    async fn reassign(
        &self,
        _proof: &ExecutionProof<'_>,
        ticket_id: &str,
        assignment: &Assignment,
    ) -> Result<()> {
        let mut s = self.state.lock();
        let t = s.ticket_mut(ticket_id)?;
        if let Some(board) = &assignment.board {
            t.board = Some(board.clone());
        }
        t.updated = Some(Utc::now());
        Ok(())
    }

    async fn create_contact(
        &self,
        _proof: &ExecutionProof<'_>,
        contact: &NewContact,
    ) -> Result<Contact> {
        let mut s = self.state.lock();
        let id = s.id("contact");
        let created = Contact {
            id: id.clone(),
            name: format!("{} {}", contact.first_name, contact.last_name),
            email: Some(contact.email.clone()),
            company_id: Some(contact.company_id.clone()),
            active: true,
        };
        s.contacts.insert(id, created.clone());
        Ok(created)
    }

    async fn deactivate_contact(
        &self,
        _proof: &ExecutionProof<'_>,
        contact_id: &str,
    ) -> Result<()> {
        self.set_contact_active(contact_id, false)
    }

    async fn activate_contact(&self, _proof: &ExecutionProof<'_>, contact_id: &str) -> Result<()> {
        self.set_contact_active(contact_id, true)
    }

    async fn link_to_parent(
        &self,
        _proof: &ExecutionProof<'_>,
        child_id: &str,
        parent_id: &str,
    ) -> Result<()> {
        let mut s = self.state.lock();
        if !s.tickets.contains_key(parent_id) {
            return Err(Error::not_found(format!("no ticket {parent_id}")));
        }
        s.ticket_mut(child_id)?.parent_id = Some(parent_id.to_string());
        Ok(())
    }
}

impl MemoryConnector {
    fn set_contact_active(&self, contact_id: &str, active: bool) -> Result<()> {
        let mut s = self.state.lock();
        let c = s
            .contacts
            .get_mut(contact_id)
            .ok_or_else(|| Error::not_found(format!("no contact {contact_id}")))?;
        c.active = active;
        Ok(())
    }
}

#[async_trait]
impl Messaging for MemoryConnector {
    async fn send(&self, _proof: &ExecutionProof<'_>, message: &Message) -> Result<()> {
        self.state.lock().outbox.push(message.clone());
        Ok(())
    }
}
