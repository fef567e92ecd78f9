//! Serde models of the ConnectWise shapes the connector reads and writes (field names as in the
//! spec's `Ticket`, `ServiceNote`, `BoardStatus`, `Company`, `Contact` schemas). Only the fields
//! the connector uses are modelled; the rest is ignored on read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A reference object (`{"id":1,"name":"Help Desk","identifier":"ACME","_info":{...}}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Reference {
    /// Id.
    #[serde(default)]
    pub id: Option<i64>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Identifier (companies, members).
    #[serde(default)]
    pub identifier: Option<String>,
}

/// The `_info` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Info {
    /// Last change.
    #[serde(default)]
    pub last_updated: Option<String>,
    /// Created.
    #[serde(default)]
    pub date_entered: Option<String>,
    /// Created by.
    #[serde(default)]
    pub entered_by: Option<String>,
}

/// `GET /login/companyinfo/{companyId}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CompanyInfo {
    /// `v4_6_release/`.
    pub codebase: String,
    /// `v2025.8`.
    #[serde(default)]
    pub version_code: Option<String>,
}

/// `GET /system/info`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemInfo {
    /// Server version.
    #[serde(default)]
    pub version: Option<String>,
    /// Cloud or on-premises.
    #[serde(default)]
    pub is_cloud: Option<bool>,
    /// Cloud region.
    #[serde(default)]
    pub cloud_region: Option<String>,
}

/// A service ticket.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CwTicket {
    /// Id.
    pub id: i64,
    /// Summary.
    #[serde(default)]
    pub summary: String,
    /// Board.
    #[serde(default)]
    pub board: Option<Reference>,
    /// Status.
    #[serde(default)]
    pub status: Option<Reference>,
    /// Company.
    #[serde(default)]
    pub company: Option<Reference>,
    /// Contact.
    #[serde(default)]
    pub contact: Option<Reference>,
    /// Contact name on the ticket.
    #[serde(default)]
    pub contact_name: Option<String>,
    /// Contact email on the ticket.
    #[serde(default)]
    pub contact_email_address: Option<String>,
    /// Priority.
    #[serde(default)]
    pub priority: Option<Reference>,
    /// Source.
    #[serde(default)]
    pub source: Option<Reference>,
    /// Owner.
    #[serde(default)]
    pub owner: Option<Reference>,
    /// Closed.
    #[serde(default)]
    pub closed_flag: Option<bool>,
    /// When closed.
    #[serde(default)]
    pub closed_date: Option<String>,
    /// Parent ticket.
    #[serde(default)]
    pub parent_ticket_id: Option<i64>,
    /// Bookkeeping.
    #[serde(default, rename = "_info")]
    pub info: Option<Info>,
}

/// A ticket note (`ServiceNote`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CwNote {
    /// Id.
    pub id: i64,
    /// Text.
    #[serde(default)]
    pub text: String,
    /// Discussion (customer-visible).
    #[serde(default)]
    pub detail_description_flag: Option<bool>,
    /// Internal analysis.
    #[serde(default)]
    pub internal_analysis_flag: Option<bool>,
    /// Resolution.
    #[serde(default)]
    pub resolution_flag: Option<bool>,
    /// Member author.
    #[serde(default)]
    pub member: Option<Reference>,
    /// Contact author.
    #[serde(default)]
    pub contact: Option<Reference>,
    /// When written.
    #[serde(default)]
    pub date_created: Option<String>,
    /// Author name.
    #[serde(default)]
    pub created_by: Option<String>,
}

/// A note to write (`POST /service/tickets/{id}/notes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewCwNote<'a> {
    /// Text.
    pub text: &'a str,
    /// Discussion (customer-visible).
    pub detail_description_flag: bool,
    /// Internal analysis.
    pub internal_analysis_flag: bool,
    /// Resolution.
    pub resolution_flag: bool,
    /// Whether ConnectWise emails it per the board's workflow.
    pub process_notifications: bool,
}

/// A board.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CwBoard {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// A status of one board.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CwBoardStatus {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Sort order.
    #[serde(default)]
    pub sort_order: Option<i64>,
    /// Closed.
    #[serde(default)]
    pub closed_status: Option<bool>,
    /// Retired.
    #[serde(default)]
    pub inactive: Option<bool>,
    /// Default for new tickets.
    #[serde(default)]
    pub default_flag: Option<bool>,
}

/// A company.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CwCompany {
    /// Id.
    pub id: i64,
    /// Identifier.
    pub identifier: String,
    /// Name.
    pub name: String,
    /// Deleted.
    #[serde(default)]
    pub deleted_flag: Option<bool>,
}

/// One communication item of a contact.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CwCommunicationItem {
    /// The communication type.
    #[serde(default, rename = "type")]
    pub kind: Option<Reference>,
    /// Address or number.
    #[serde(default)]
    pub value: String,
    /// Default of its kind.
    #[serde(default)]
    pub default_flag: Option<bool>,
    /// `Email`, `Phone`, `Fax`.
    #[serde(default)]
    pub communication_type: Option<String>,
}

/// A contact.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CwContact {
    /// Id.
    pub id: i64,
    /// Given name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Company.
    #[serde(default)]
    pub company: Option<Reference>,
    /// Inactive.
    #[serde(default)]
    pub inactive_flag: Option<bool>,
    /// Email, phone and fax entries.
    #[serde(default)]
    pub communication_items: Vec<CwCommunicationItem>,
}

impl CwContact {
    /// `First Last`.
    pub fn name(&self) -> String {
        [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The default email address, else the first one.
    pub fn email(&self) -> Option<String> {
        let emails = self
            .communication_items
            .iter()
            .filter(|item| item.communication_type.as_deref() == Some("Email"));
        emails
            .clone()
            .find(|item| item.default_flag == Some(true))
            .or_else(|| emails.clone().next())
            .map(|item| item.value.clone())
    }
}

/// A communication type (`GET /company/communicationTypes`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CwCommunicationType {
    /// Id; differs per instance.
    pub id: i64,
    /// `Email`, `Direct`, ...
    #[serde(default)]
    pub description: Option<String>,
    /// Whether it is an email type.
    #[serde(default)]
    pub email_flag: Option<bool>,
}

/// One JSON Patch operation, the shape of `PATCH` bodies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatchOperation {
    /// `replace`, `add` or `remove`.
    pub op: &'static str,
    /// The field (`status`, `board`, `owner`, `inactiveFlag`).
    pub path: &'static str,
    /// The new value.
    pub value: Value,
}

impl PatchOperation {
    /// `{"op":"replace","path":path,"value":value}`.
    pub fn replace(path: &'static str, value: Value) -> Self {
        Self {
            op: "replace",
            path,
            value,
        }
    }
}

/// `TicketBundle`, the body of `POST /service/tickets/{parentId}/attachChildren`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketBundle {
    /// The tickets to bundle under the parent.
    pub child_ticket_ids: Vec<i64>,
}

/// `SuccessResponse`, what `attachChildren` answers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SuccessResponse {
    /// Whether the operation succeeded.
    #[serde(default)]
    pub success: Option<bool>,
    /// Why not, when it did not.
    #[serde(default)]
    pub message: Option<String>,
}

/// A ConnectWise callback (webhook) body. `Entity` is the record as a JSON *string*.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CallbackPayload {
    /// `added`, `updated`, `deleted`.
    #[serde(rename = "Action")]
    pub action: String,
    /// `ticket`, `contact`, `company`, ...
    #[serde(rename = "Type")]
    pub kind: String,
    /// The record id.
    #[serde(rename = "ID")]
    pub id: i64,
    /// The login company id of the instance that called.
    #[serde(rename = "CompanyId", default)]
    pub company_id: Option<String>,
    /// The record, serialised as a JSON string (null on delete).
    #[serde(rename = "Entity", default)]
    pub entity: Option<String>,
}

/// Parse a ConnectWise timestamp (`2025-03-01T14:02:11Z`).
pub fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Format an instant for a condition literal: `[2025-03-01T14:02:11Z]`.
pub fn condition_time(at: DateTime<Utc>) -> String {
    format!("[{}]", at.format("%Y-%m-%dT%H:%M:%SZ"))
}

/// Quote a string for a condition: `"Help Desk"`, escaping quotes and backslashes.
pub fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}
