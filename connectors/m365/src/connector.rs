//! The connector: one tenant's Graph and Exchange clients, [`M365Connector::build`], the
//! `Connector` and `Messaging` impls, and the Exchange / service-health operations the
//! vendor-specific actions use.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use stackhand_core::{
    Action, BuildContext, Connector, ConnectorInfo, Error, ExecutionProof, Health,
    IdentityProvider, IdentityWrites, Message, Messaging, Result, TenantId,
};
use stackhand_http::encode_segment;

use crate::client::{CmdletOutput, GraphClient, odata_literal};
use crate::config::M365Config;
use crate::identity::MembershipMemo;
use crate::models::{
    EmailAddress, ExoAutoReply, ExoMailbox, ItemBody, MailMessage, Recipient, SendMail,
    ServiceHealth, ServiceIssue,
};
use crate::{CATEGORIES, VENDOR};

/// The Microsoft 365 connector for one tenant: identity (Entra ID through Graph, mailboxes
/// through Exchange Online) and messaging (mail through Graph). Cheap to clone.
#[derive(Clone)]
pub struct M365Connector {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) info: ConnectorInfo,
    pub(crate) client: GraphClient,
    pub(crate) graph_root: String,
    pub(crate) notify_sender: Option<String>,
    pub(crate) default_usage_location: Option<String>,
    /// What `get_user` read of a user's memberships, for the `user_groups` call after it.
    pub(crate) memberships: MembershipMemo,
}

impl std::fmt::Debug for M365Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("M365Connector")
            .field("tenant", &self.inner.info.tenant)
            .field("client", &self.inner.client)
            .field("notify_sender", &self.inner.notify_sender)
            .finish_non_exhaustive()
    }
}

impl M365Connector {
    /// Build the connector for `ctx.tenant()`: validate `config`, resolve its credentials for
    /// that tenant, and make the Graph and Exchange clients on the host's shared HTTP
    /// services. Nothing is sent yet (tokens are fetched on first use).
    pub async fn build(ctx: &BuildContext, config: M365Config) -> Result<Self> {
        config.validate()?;
        let client = GraphClient::build(ctx, &config).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                info: ctx.connector_info(VENDOR, CATEGORIES),
                client,
                graph_root: config.graph_root().to_string(),
                notify_sender: config.notify_sender,
                default_usage_location: config.default_usage_location,
                memberships: MembershipMemo::default(),
            }),
        })
    }

    pub(crate) fn tenant(&self) -> &TenantId {
        &self.inner.info.tenant
    }

    pub(crate) fn client(&self) -> &GraphClient {
        &self.inner.client
    }

    /// Run a cmdlet against a mailbox (routed with `X-AnchorMailbox: UPN:<mailbox>`).
    pub(crate) async fn mailbox_cmdlet(
        &self,
        cmdlet: &str,
        mailbox: &str,
        parameters: Value,
    ) -> Result<CmdletOutput> {
        let mut map = Map::new();
        map.insert("Identity".into(), Value::String(mailbox.to_string()));
        if let Value::Object(extra) = parameters {
            map.extend(extra);
        }
        self.client().invoke(cmdlet, map, Some(mailbox)).await
    }

    /// A mailbox's settings (`Get-Mailbox`).
    pub async fn mailbox(&self, mailbox: &str) -> Result<ExoMailbox> {
        self.mailbox_cmdlet("Get-Mailbox", mailbox, json!({}))
            .await?
            .items::<ExoMailbox>()?
            .into_iter()
            .next()
            .ok_or_else(|| Error::not_found(format!("{VENDOR}: no mailbox {mailbox}")))
    }

    /// Convert a mailbox to shared (`true`) or back to a regular user mailbox.
    pub(crate) async fn set_mailbox_shared(&self, mailbox: &str, shared: bool) -> Result<()> {
        let kind = if shared { "Shared" } else { "Regular" };
        self.mailbox_cmdlet("Set-Mailbox", mailbox, json!({ "Type": kind }))
            .await
            .map(drop)
    }

    /// Forward a mailbox's mail to `target` (keeping a copy or not), or stop forwarding.
    pub(crate) async fn set_forwarding(
        &self,
        mailbox: &str,
        target: Option<&str>,
        keep_copy: bool,
    ) -> Result<()> {
        let address = target.map(|t| {
            if t.to_ascii_lowercase().starts_with("smtp:") {
                t.to_string()
            } else {
                format!("smtp:{t}")
            }
        });
        self.mailbox_cmdlet(
            "Set-Mailbox",
            mailbox,
            json!({ "ForwardingSmtpAddress": address, "DeliverToMailboxAndForward": keep_copy }),
        )
        .await
        .map(drop)
    }

    /// Hide a mailbox from the address lists, or show it again.
    pub(crate) async fn set_hidden_from_address_lists(
        &self,
        mailbox: &str,
        hidden: bool,
    ) -> Result<()> {
        self.mailbox_cmdlet(
            "Set-Mailbox",
            mailbox,
            json!({ "HiddenFromAddressListsEnabled": hidden }),
        )
        .await
        .map(drop)
    }

    /// A mailbox's automatic-reply configuration.
    pub async fn auto_reply(&self, mailbox: &str) -> Result<ExoAutoReply> {
        self.mailbox_cmdlet("Get-MailboxAutoReplyConfiguration", mailbox, json!({}))
            .await?
            .items::<ExoAutoReply>()?
            .into_iter()
            .next()
            .ok_or_else(|| {
                Error::not_found(format!("{VENDOR}: no auto-reply settings for {mailbox}"))
            })
    }

    /// Set a mailbox's automatic reply.
    pub(crate) async fn set_auto_reply(&self, mailbox: &str, reply: &ExoAutoReply) -> Result<()> {
        let mut parameters = json!({ "AutoReplyState": reply.auto_reply_state });
        for (name, value) in [
            ("InternalMessage", &reply.internal_message),
            ("ExternalMessage", &reply.external_message),
            ("ExternalAudience", &reply.external_audience),
            ("StartTime", &reply.start_time),
            ("EndTime", &reply.end_time),
        ] {
            if let Some(value) = value {
                parameters[name] = json!(value);
            }
        }
        self.mailbox_cmdlet("Set-MailboxAutoReplyConfiguration", mailbox, parameters)
            .await
            .map(drop)
    }

    /// The health of each Microsoft 365 service.
    pub async fn service_health(&self) -> Result<Vec<ServiceHealth>> {
        let request = self
            .client()
            .get("admin/serviceAnnouncement/healthOverviews")
            .operation("service_health");
        self.client().list(request).await
    }

    /// Service health issues, the unresolved ones only when `open_only`, optionally for one
    /// service (`Exchange Online`).
    pub async fn service_issues(
        &self,
        open_only: bool,
        service: Option<&str>,
    ) -> Result<Vec<ServiceIssue>> {
        let mut clauses = Vec::new();
        if open_only {
            clauses.push("isResolved eq false".to_string());
        }
        if let Some(service) = service {
            clauses.push(format!("service eq {}", odata_literal(service)));
        }
        let mut request = self
            .client()
            .get("admin/serviceAnnouncement/issues")
            .operation("service_issues");
        if !clauses.is_empty() {
            request = request.query(&[("$filter", clauses.join(" and "))]);
        }
        self.client().list(request).await
    }

    /// The `@odata.id` of a directory object, for `members/$ref`.
    pub(crate) fn directory_object_ref(&self, id: &str) -> String {
        format!(
            "{}directoryObjects/{}",
            self.inner.graph_root,
            encode_segment(id)
        )
    }
}

#[async_trait]
impl Connector for M365Connector {
    fn info(&self) -> &ConnectorInfo {
        &self.inner.info
    }

    async fn health(&self) -> Result<Health> {
        let started = std::time::Instant::now();
        let probe: Result<Value> = self
            .client()
            .get_json("users", &[("$top", "1"), ("$select", "id")], "health")
            .await;
        Ok(match probe {
            Ok(_) => Health {
                healthy: true,
                detail: format!(
                    "Microsoft Graph answered in {} ms with a valid token",
                    started.elapsed().as_millis()
                ),
            },
            Err(e) => Health {
                healthy: false,
                detail: format!("Microsoft Graph check failed: {e}"),
            },
        })
    }

    fn identity(&self) -> Option<&dyn IdentityProvider> {
        Some(self)
    }

    fn identity_writes(&self) -> Option<&dyn IdentityWrites> {
        Some(self)
    }

    fn messaging(&self) -> Option<&dyn Messaging> {
        Some(self)
    }

    fn actions(&self) -> Vec<Arc<dyn Action>> {
        crate::actions::all(self)
    }
}

#[async_trait]
impl Messaging for M365Connector {
    async fn send(&self, _proof: &ExecutionProof<'_>, message: &Message) -> Result<()> {
        let sender = self.inner.notify_sender.as_deref().ok_or_else(|| {
            Error::invalid(format!(
                "{VENDOR}: notify_sender is not configured, so there is no mailbox to send from"
            ))
        })?;
        if !message.to.contains('@') {
            return Err(Error::invalid(format!(
                "{VENDOR}: {:?} is not a mail address",
                message.to
            )));
        }
        let body = SendMail {
            message: MailMessage {
                subject: message.subject.clone(),
                body: ItemBody {
                    content_type: "Text".into(),
                    content: message.body.clone(),
                },
                to_recipients: vec![Recipient {
                    email_address: EmailAddress {
                        address: message.to.clone(),
                    },
                }],
            },
            save_to_sent_items: true,
        };
        self.client()
            .post(&format!("users/{}/sendMail", encode_segment(sender)))
            .json(&body)
            .operation("send_mail")
            .send_empty()
            .await
    }
}
