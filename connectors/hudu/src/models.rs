//! Hudu's JSON shapes, as the spec (`crates/testkit/specs/hudu.json`) and the reference client
//! (`lwhitelock/HuduAPI`) show them.
//!
//! Hudu writes an asset's custom fields as an array of single-key objects keyed by the layout
//! field's label in snake_case (`[{"job_title": "CFO"}]`) and reads them back as
//! `fields: [{"id", "label", "value", "position"}]`: [`field_key`] turns one into the other.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use stackhand_core::{Asset, Error, PasswordEntry, Result};

/// A company (`#/definitions/Company`), the fields the connector reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HuduCompany {
    /// Hudu's id.
    pub id: u64,
    /// The full name.
    #[serde(default)]
    pub name: String,
}

/// An asset layout (`#/definitions/Asset_Layout`), the fields the connector reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HuduAssetLayout {
    /// Hudu's id.
    pub id: u64,
    /// The layout's name ("People").
    #[serde(default)]
    pub name: String,
}

/// One custom field as Hudu reads it back: `{"id", "label", "value", "position"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HuduField {
    /// The layout field's label ("Job Title").
    #[serde(default)]
    pub label: String,
    /// The value: usually a string, sometimes a boolean, number or array.
    #[serde(default)]
    pub value: Value,
}

/// An asset (`#/definitions/Asset`), the fields the connector reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HuduAsset {
    /// Hudu's id.
    pub id: u64,
    /// The company it belongs to.
    #[serde(default)]
    pub company_id: Option<u64>,
    /// Its layout.
    #[serde(default)]
    pub asset_layout_id: Option<u64>,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Whether it is archived.
    #[serde(default)]
    pub archived: bool,
    /// Its custom fields, in Hudu's read shape.
    #[serde(default)]
    pub fields: Vec<HuduField>,
}

impl HuduAsset {
    /// The custom fields as label → text (null and empty values left out).
    pub fn field_map(&self) -> BTreeMap<String, String> {
        self.fields
            .iter()
            .filter_map(|f| value_text(&f.value).map(|v| (f.label.clone(), v)))
            .collect()
    }
}

impl From<HuduAsset> for Asset {
    fn from(asset: HuduAsset) -> Self {
        Asset {
            id: asset.id.to_string(),
            fields: asset.field_map(),
            name: asset.name,
            archived: asset.archived,
        }
    }
}

/// An asset password, only what identifies it (id, name, username, when it changed): the rest
/// of the body (the password in cleartext) is never decoded.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct HuduPasswordRef {
    /// Hudu's id.
    pub id: u64,
    /// The entry's name.
    #[serde(default)]
    pub name: String,
    /// The username it holds (`""` when none).
    #[serde(default)]
    pub username: Option<String>,
    /// When Hudu last changed it, as Hudu writes it (ISO 8601).
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl std::fmt::Debug for HuduPasswordRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HuduPasswordRef")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("username", &self.username)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

impl From<HuduPasswordRef> for PasswordEntry {
    fn from(entry: HuduPasswordRef) -> Self {
        PasswordEntry {
            id: entry.id.to_string(),
            name: entry.name,
            username: entry.username.filter(|u| !u.is_empty()),
            updated: entry
                .updated_at
                .as_deref()
                .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
                .map(|at| at.with_timezone(&chrono::Utc)),
        }
    }
}

/// An article (`#/definitions/Article`), only its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HuduArticleRef {
    /// Hudu's id.
    pub id: u64,
}

/// `GET /api_info`: `{"version": "2.44.0", "date": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiInfo {
    /// The instance's Hudu version.
    #[serde(default)]
    pub version: String,
}

/// The text of a read-back field value; `None` for null or an empty string.
pub fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The write key of a layout field label: lower case, every run of other characters than
/// letters and digits one `_` ("Job Title" → `job_title`, "M365 Licence" → `m365_licence`).
pub fn field_key(label: &str) -> String {
    let mut key = String::with_capacity(label.len());
    for c in label.trim().chars() {
        if c.is_alphanumeric() {
            key.extend(c.to_lowercase());
        } else if !key.is_empty() && !key.ends_with('_') {
            key.push('_');
        }
    }
    while key.ends_with('_') {
        key.pop();
    }
    key
}

/// Hudu's write shape of custom fields: `[{"<key>": value}, ...]`, in key order.
pub fn custom_fields(fields: &BTreeMap<String, Value>) -> Vec<Value> {
    fields
        .iter()
        .map(|(key, value)| {
            let mut one = Map::new();
            one.insert(key.clone(), value.clone());
            Value::Object(one)
        })
        .collect()
}

/// Decode one record from a body that wraps it in `key` (`{"asset": {...}}`) or not (the spec's
/// bare `Asset`), as hudu.md advises ("unwrap whichever key is present"). A `null` body, or a
/// `null` under the key, is Hudu's "not found" for some `GET /…/{id}` endpoints.
pub fn unwrap_one<T: DeserializeOwned>(body: Value, key: &str, what: &str) -> Result<T> {
    let record = match body {
        Value::Object(mut object) if object.contains_key(key) => {
            object.remove(key).unwrap_or(Value::Null)
        }
        other => other,
    };
    if record.is_null() {
        return Err(crate::error::null_body(what));
    }
    serde_json::from_value(record).map_err(|e| {
        // Only the shape is named: a value in the body (a password) is never quoted.
        Error::invalid(format!(
            "{}: {what}: the response is not a {key} record ({})",
            crate::VENDOR,
            e.classify_name()
        ))
    })
}

/// How a serde error is classified, without the values it may quote.
trait Classify {
    fn classify_name(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "bad syntax",
            serde_json::error::Category::Data => "unexpected fields or types",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn labels_become_write_keys() {
        assert_eq!(field_key("Job Title"), "job_title");
        assert_eq!(field_key("M365 Licence"), "m365_licence");
        assert_eq!(field_key(" E-mail  (work) "), "e_mail_work");
        assert_eq!(field_key("email"), "email");
    }

    #[test]
    fn unwraps_either_shape_and_null_is_not_found() {
        let wrapped: HuduAsset = unwrap_one(
            json!({"asset": {"id": 987, "name": "Jane Doe"}}),
            "asset",
            "get",
        )
        .unwrap();
        let bare: HuduAsset =
            unwrap_one(json!({"id": 987, "name": "Jane Doe"}), "asset", "get").unwrap();
        assert_eq!(wrapped, bare);
        let missing = unwrap_one::<HuduAsset>(Value::Null, "asset", "get").unwrap_err();
        assert_eq!(missing.kind(), stackhand_core::ErrorKind::NotFound);
        let missing = unwrap_one::<HuduAsset>(json!({"asset": null}), "asset", "get").unwrap_err();
        assert_eq!(missing.kind(), stackhand_core::ErrorKind::NotFound);
    }

    #[test]
    fn a_bad_password_body_quotes_nothing() {
        let err = unwrap_one::<HuduPasswordRef>(
            json!({"asset_password": {"id": "s3cret-Pass!", "password": "s3cret-Pass!"}}),
            "asset_password",
            "store_password",
        )
        .unwrap_err();
        assert!(!format!("{err} {err:?}").contains("s3cret"), "{err}");
    }

    #[test]
    fn read_shape_becomes_label_map() {
        let asset: HuduAsset = serde_json::from_value(json!({
            "id": 987, "name": "Jane Doe", "archived": false,
            "fields": [
                {"id": 4411, "label": "Email", "value": "jane@acme.com", "position": 1},
                {"id": 4412, "label": "Job Title", "value": "CFO", "position": 2},
                {"id": 4413, "label": "Notes", "value": null, "position": 3},
                {"id": 4414, "label": "VIP", "value": true, "position": 4}
            ]
        }))
        .unwrap();
        let asset = Asset::from(asset);
        assert_eq!(asset.id, "987");
        assert_eq!(asset.fields.len(), 3);
        assert_eq!(asset.fields["Job Title"], "CFO");
        assert_eq!(asset.fields["VIP"], "true");
    }
}
