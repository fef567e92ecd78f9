//! Serde models of the Autotask REST shapes the connector reads and writes.
//!
//! The live API answers in camelCase (`companyID`, `problemTicketId`); unknown fields are
//! ignored so new vendor fields never break parsing.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

/// `GET …/ZoneInformation?user=`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneInformation {
    /// Zone name.
    #[serde(default)]
    pub zone_name: Option<String>,
    /// The zone's REST root, `https://webservices15.autotask.net/ATServicesRest/`.
    pub url: String,
}

/// `GET …/ThresholdInformation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThresholdInformation {
    /// Requests allowed in the timeframe (10,000).
    pub external_request_threshold: u64,
    /// The timeframe in minutes (60).
    pub request_threshold_timeframe: u64,
    /// Requests counted in the current timeframe, by every integration of the database.
    pub current_timeframe_request_count: u64,
}

impl ThresholdInformation {
    /// The share of the threshold used, 0.0–1.0 (1.0 when the threshold is zero).
    pub fn usage(&self) -> f64 {
        if self.external_request_threshold == 0 {
            return 1.0;
        }
        self.current_timeframe_request_count as f64 / self.external_request_threshold as f64
    }
}

/// `{"item": …}` of a read by id; `null` when the id does not exist.
#[derive(Debug, Deserialize)]
pub struct ItemResponse<T> {
    /// The entity.
    pub item: Option<T>,
}

/// `{"itemId": …}` of a create or update.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemIdResponse {
    /// The id created or updated.
    pub item_id: i64,
}

/// One page of a query.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryPage {
    /// The records.
    #[serde(default)]
    pub items: Vec<Value>,
    /// Paging links.
    #[serde(default)]
    pub page_details: Option<PageDetails>,
}

/// `pageDetails` of a query page.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageDetails {
    /// The next page, or null.
    #[serde(default)]
    pub next_page_url: Option<String>,
}

/// `{"fields":[…]}` of `entityInformation/fields`.
#[derive(Debug, Deserialize)]
pub struct FieldsResponse {
    /// The fields.
    pub fields: Vec<FieldInformation>,
}

/// One field's information.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldInformation {
    /// Field name (camelCase).
    pub name: String,
    /// Whether it is a picklist.
    #[serde(default)]
    pub is_pick_list: bool,
    /// The picklist's values (`null` for other fields).
    #[serde(default)]
    pub picklist_values: Option<Vec<PicklistValue>>,
}

/// One picklist value. Values are tenant-specific integers sent as strings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PicklistValue {
    /// The integer value, as a string.
    pub value: String,
    /// The label.
    pub label: String,
    /// Whether it is the default.
    #[serde(default)]
    pub is_default_value: bool,
    /// Whether it can be used.
    #[serde(default = "yes")]
    pub is_active: bool,
    /// Whether it is a built-in value.
    #[serde(default)]
    pub is_system: bool,
}

fn yes() -> bool {
    true
}

/// A ticket (`TicketModel`), the fields the connector uses.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    /// Id.
    pub id: i64,
    /// `T20250301.0042`.
    #[serde(default)]
    pub ticket_number: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Plain-text description.
    #[serde(default)]
    pub description: Option<String>,
    /// Company.
    #[serde(default, rename = "companyID")]
    pub company_id: Option<i64>,
    /// Contact.
    #[serde(default, rename = "contactID")]
    pub contact_id: Option<i64>,
    /// Status picklist value.
    #[serde(default)]
    pub status: Option<i64>,
    /// Priority picklist value.
    #[serde(default)]
    pub priority: Option<i64>,
    /// Queue picklist value.
    #[serde(default, rename = "queueID")]
    pub queue_id: Option<i64>,
    /// Source picklist value.
    #[serde(default)]
    pub source: Option<i64>,
    /// Ticket type picklist value (Service Request, Incident, Problem…).
    #[serde(default)]
    pub ticket_type: Option<i64>,
    /// Assigned resource.
    #[serde(default, rename = "assignedResourceID")]
    pub assigned_resource_id: Option<i64>,
    /// Created.
    #[serde(default, deserialize_with = "datetime")]
    pub create_date: Option<DateTime<Utc>>,
    /// Last activity.
    #[serde(default, deserialize_with = "datetime")]
    pub last_activity_date: Option<DateTime<Utc>>,
    /// Completed.
    #[serde(default, deserialize_with = "datetime")]
    pub completed_date: Option<DateTime<Utc>>,
    /// Resolution text.
    #[serde(default)]
    pub resolution: Option<String>,
    /// The problem ticket an incident belongs to.
    #[serde(default, rename = "problemTicketId")]
    pub problem_ticket_id: Option<i64>,
}

/// A ticket note (`TicketNoteModel`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketNote {
    /// Id.
    pub id: i64,
    /// The ticket.
    #[serde(default, rename = "ticketID")]
    pub ticket_id: Option<i64>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Text.
    #[serde(default)]
    pub description: Option<String>,
    /// Publish picklist value (who may see it).
    #[serde(default)]
    pub publish: Option<i64>,
    /// Note type picklist value.
    #[serde(default)]
    pub note_type: Option<i64>,
    /// Author.
    #[serde(default, rename = "creatorResourceID")]
    pub creator_resource_id: Option<i64>,
    /// Created.
    #[serde(default, deserialize_with = "datetime")]
    pub create_date_time: Option<DateTime<Utc>>,
}

/// A note to create under `Tickets/{id}/Notes`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewTicketNote<'a> {
    /// The ticket (also in the URL).
    #[serde(rename = "ticketID")]
    pub ticket_id: i64,
    /// Title (required by many ticket categories).
    pub title: &'a str,
    /// Text.
    pub description: &'a str,
    /// Note type picklist value.
    pub note_type: i64,
    /// Publish picklist value.
    pub publish: i64,
}

/// A company (`CompanyModel`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    /// Id.
    pub id: i64,
    /// Name.
    #[serde(default)]
    pub company_name: Option<String>,
    /// Short number / code.
    #[serde(default)]
    pub company_number: Option<String>,
}

/// A contact (`ContactModel`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// Id.
    pub id: i64,
    /// Company.
    #[serde(default, rename = "companyID")]
    pub company_id: Option<i64>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Email.
    #[serde(default)]
    pub email_address: Option<String>,
    /// 1 active, 0 inactive (an integer on contacts).
    #[serde(default)]
    pub is_active: Option<i64>,
}

/// A contact to create under `Companies/{id}/Contacts`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewContact<'a> {
    /// Company (also in the URL).
    #[serde(rename = "companyID")]
    pub company_id: i64,
    /// First name.
    pub first_name: &'a str,
    /// Last name.
    pub last_name: &'a str,
    /// Email.
    pub email_address: &'a str,
    /// 1 = active.
    pub is_active: i64,
}

/// A resource (technician, API user).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// Id.
    pub id: i64,
    /// Login name.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Whether active.
    #[serde(default)]
    pub is_active: Option<bool>,
    /// The role used when assigning tickets to this resource.
    #[serde(default, rename = "defaultServiceDeskRoleID")]
    pub default_service_desk_role_id: Option<i64>,
}

/// Autotask timestamps: RFC 3339, or without an offset (read as UTC).
fn datetime<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(&text) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|t| Some(t.and_utc()))
        .map_err(|e| serde::de::Error::custom(format!("invalid Autotask timestamp: {e}")))
}

/// Query filters: `{"op","field","value"}` leaves and `{"op":"or","items":[…]}` groups.
pub mod filter {
    use super::*;

    /// `field op value`.
    pub fn cmp(op: &str, field: &str, value: impl Serialize) -> Value {
        json!({ "op": op, "field": field, "value": value })
    }

    /// `field == value`.
    pub fn eq(field: &str, value: impl Serialize) -> Value {
        cmp("eq", field, value)
    }

    /// `field in values`.
    pub fn is_in<T: Serialize>(field: &str, values: &[T]) -> Value {
        cmp("in", field, values)
    }

    /// Any of `items`.
    pub fn or(items: Vec<Value>) -> Value {
        json!({ "op": "or", "items": items })
    }

    /// An Autotask timestamp for a filter value.
    pub fn timestamp(t: DateTime<Utc>) -> String {
        t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }
}
