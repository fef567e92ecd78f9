//! The records the simulated instance keeps, and how Hudu reads each one back.
//!
//! Read shapes follow the spec's definitions (`Company`, `Asset_Layout`, `Asset`,
//! `Asset_Password`, `Article`); URLs point back at the simulator (the request's origin).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::world::Layout;

/// Hudu's timestamp format (`2025-03-01T14:10:00.000Z`).
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A URL slug: lower case, every run of other characters than letters and digits one `-`.
pub(crate) fn slugify(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

/// A record's slug as Hudu makes them (`jane-doe-3f9a1c`): the name and six hex digits,
/// derived from the id so the same record always has the same slug.
pub(crate) fn record_slug(name: &str, id: i64) -> String {
    let suffix = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    format!("{}-{suffix:06x}", slugify(name))
}

/// A company's link to an outside system (spec `Company_Integration`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimIntegration {
    /// The integration record's id.
    pub id: i64,
    /// The integrator's id in this instance.
    pub integrator_id: i64,
    /// The integrator's slug (`cw_manage`, `autotask`, `ninja`).
    pub integrator_name: String,
    /// The company's id in the outside system.
    pub sync_id: i64,
    /// The company's identifier there, if it has one.
    pub identifier: Option<String>,
}

/// A company: one of the MSP's clients.
#[derive(Debug, Clone, PartialEq)]
pub struct SimCompany {
    /// Hudu's id.
    pub id: i64,
    /// Full name.
    pub name: String,
    /// URL slug.
    pub slug: String,
    /// Main phone number.
    pub phone_number: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// Links to the PSA and the RMM.
    pub integrations: Vec<SimIntegration>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl SimCompany {
    /// The read shape (`#/definitions/Company`).
    pub(crate) fn render(&self, origin: &str) -> Value {
        let url = format!("/c/{}", self.slug);
        json!({
            "id": self.id,
            "slug": self.slug,
            "name": self.name,
            "nickname": null,
            "address_line_1": null,
            "address_line_2": null,
            "city": null,
            "state": null,
            "zip": null,
            "country_name": null,
            "phone_number": self.phone_number,
            "company_type": null,
            "parent_company_id": null,
            "parent_company_name": null,
            "fax_number": null,
            "website": self.website,
            "notes": null,
            "archived": false,
            "object_type": "Company",
            "id_number": null,
            "full_url": format!("{origin}{url}"),
            "url": url,
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
            "integrations": self.integrations.iter().map(|i| json!({
                "id": i.id,
                "integrator_id": i.integrator_id,
                "integrator_name": i.integrator_name,
                "sync_id": i.sync_id,
                "identifier": i.identifier,
                "name": self.name,
                "potential_company_id": null,
                "company_id": self.id,
                "company_name": self.name,
            })).collect::<Vec<_>>(),
        })
    }
}

/// The read shape of a layout (`#/definitions/Asset_Layout`).
pub(crate) fn render_layout(layout: &Layout, at: DateTime<Utc>) -> Value {
    json!({
        "id": layout.id,
        "slug": slugify(&layout.name),
        "name": layout.name,
        "icon": layout.icon,
        "color": null,
        "icon_color": null,
        "sidebar_folder_id": null,
        "active": true,
        "include_passwords": true,
        "include_photos": true,
        "include_comments": true,
        "include_files": true,
        "created_at": timestamp(at),
        "updated_at": timestamp(at),
        "fields": layout.fields.iter().enumerate().map(|(i, f)| json!({
            "id": f.id,
            "label": f.label,
            "show_in_list": i == 0,
            "field_type": f.field_type,
            "required": f.required,
            "hint": "",
            "min": null,
            "max": null,
            "linkable_id": null,
            "expiration": false,
            "options": "",
            "position": i + 1,
            "is_destroyed": false,
            "list_id": null,
            "multiple_options": false,
        })).collect::<Vec<_>>(),
    })
}

/// One custom field value of an asset.
#[derive(Debug, Clone, PartialEq)]
pub struct SimField {
    /// The layout field's id.
    pub id: i64,
    /// The layout field's label (`Email`).
    pub label: String,
    /// Its 1-based position in the layout.
    pub position: usize,
    /// The value as written (usually a string).
    pub value: Value,
}

/// An asset: a record in one company, in one layout.
#[derive(Debug, Clone, PartialEq)]
pub struct SimAsset {
    /// Hudu's id.
    pub id: i64,
    /// The company it belongs to.
    pub company_id: i64,
    /// Its layout.
    pub layout_id: i64,
    /// Its name.
    pub name: String,
    /// URL slug.
    pub slug: String,
    /// Primary serial number.
    pub primary_serial: Option<String>,
    /// Primary email.
    pub primary_mail: Option<String>,
    /// Primary model.
    pub primary_model: Option<String>,
    /// Primary manufacturer.
    pub primary_manufacturer: Option<String>,
    /// Archived.
    pub archived: bool,
    /// Custom field values, in layout order; only fields with a value.
    pub fields: Vec<SimField>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl SimAsset {
    /// The value of the field labelled `label`.
    pub fn field(&self, label: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|f| f.label == label)
            .map(|f| &f.value)
    }

    /// The text of the field labelled `label`, when it is a string.
    pub fn field_text(&self, label: &str) -> Option<&str> {
        self.field(label).and_then(Value::as_str)
    }

    /// The read shape (`#/definitions/Asset`): custom fields as
    /// `fields: [{"id", "label", "value", "position"}]`.
    pub(crate) fn render(&self, origin: &str, company_name: &str, layout_name: &str) -> Value {
        json!({
            "id": self.id,
            "company_id": self.company_id,
            "asset_layout_id": self.layout_id,
            "slug": self.slug,
            "name": self.name,
            "primary_serial": self.primary_serial,
            "primary_mail": self.primary_mail,
            "primary_model": self.primary_model,
            "primary_manufacturer": self.primary_manufacturer,
            "company_name": company_name,
            "object_type": "Asset",
            "asset_type": layout_name,
            "archived": self.archived,
            "url": format!("{origin}/a/{}", self.slug),
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
            "fields": self.fields.iter().map(|f| json!({
                "id": f.id,
                "label": f.label,
                "value": f.value,
                "position": f.position,
            })).collect::<Vec<_>>(),
            "cards": [],
        })
    }
}

/// An asset password: a credential kept in a company's vault. Its `Debug` leaves out the
/// password and the OTP secret.
#[derive(Clone, PartialEq)]
pub struct SimPassword {
    /// Hudu's id.
    pub id: i64,
    /// The company it belongs to.
    pub company_id: i64,
    /// Name.
    pub name: String,
    /// URL slug.
    pub slug: String,
    /// Username.
    pub username: Option<String>,
    /// The password, as stored (tests compare it; nothing prints it).
    pub password: String,
    /// OTP secret.
    pub otp_secret: Option<String>,
    /// Sign-in URL.
    pub url: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Type or category.
    pub password_type: Option<String>,
    /// What it is attached to: (`passwordable_type`, `passwordable_id`), e.g. `("Asset", 1150)`.
    pub passwordable: Option<(String, i64)>,
    /// Shown in the client portal.
    pub in_portal: bool,
    /// Password folder.
    pub password_folder_id: Option<i64>,
    /// Archived.
    pub archived: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for SimPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimPassword")
            .field("id", &self.id)
            .field("company_id", &self.company_id)
            .field("name", &self.name)
            .field("username", &self.username)
            .field("url", &self.url)
            .field("passwordable", &self.passwordable)
            .field("archived", &self.archived)
            .finish_non_exhaustive()
    }
}

impl SimPassword {
    /// The read shape (`#/definitions/Asset_Password`), the password in cleartext as Hudu
    /// answers it.
    pub(crate) fn render(&self) -> Value {
        json!({
            "id": self.id,
            "passwordable_id": self.passwordable.as_ref().map(|(_, id)| *id),
            "passwordable_type": self.passwordable.as_ref().map(|(kind, _)| kind.as_str()),
            "company_id": self.company_id,
            "name": self.name,
            "username": self.username.as_deref().unwrap_or_default(),
            "slug": self.slug,
            "description": self.description.as_deref().unwrap_or_default(),
            "password": self.password,
            "otp_secret": self.otp_secret.as_deref().unwrap_or_default(),
            "password_type": self.password_type,
            "url": self.url.as_deref().unwrap_or_default(),
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
            "password_folder_id": self.password_folder_id,
            "password_folder_name": null,
            "login_url": null,
        })
    }
}

/// A knowledge-base article: a company's, or global when it has no company.
#[derive(Debug, Clone, PartialEq)]
pub struct SimArticle {
    /// Hudu's id.
    pub id: i64,
    /// Title.
    pub name: String,
    /// URL slug.
    pub slug: String,
    /// HTML content, as written.
    pub content: String,
    /// The company, or `None` for a global article.
    pub company_id: Option<i64>,
    /// Folder.
    pub folder_id: Option<i64>,
    /// Has a public share URL.
    pub enable_sharing: bool,
    /// A draft.
    pub draft: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl SimArticle {
    /// The read shape (`#/definitions/Article`).
    pub(crate) fn render(&self, origin: &str) -> Value {
        json!({
            "id": self.id,
            "slug": self.slug,
            "name": self.name,
            "draft": self.draft,
            "content": self.content,
            "url": format!("{origin}/kba/{}", self.slug),
            "object_type": "Article",
            "folder_id": self.folder_id,
            "enable_sharing": self.enable_sharing,
            "share_url": self
                .enable_sharing
                .then(|| format!("{origin}/shared_article/{}", self.slug)),
            "company_id": self.company_id,
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
            "public_photos": [],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lower_case_words() {
        assert_eq!(slugify("Contoso Law LLP"), "contoso-law-llp");
        assert_eq!(
            slugify(" CLAW-SRV-01 local administrator "),
            "claw-srv-01-local-administrator"
        );
        let slug = record_slug("Jane Doe", 987);
        assert!(slug.starts_with("jane-doe-") && slug.len() == "jane-doe-".len() + 6);
        assert_eq!(slug, record_slug("Jane Doe", 987));
        assert_ne!(slug, record_slug("Jane Doe", 988));
    }

    #[test]
    fn a_password_debug_shows_no_secret() {
        let at = Utc::now();
        let entry = SimPassword {
            id: 1,
            company_id: 11,
            name: "Break glass".into(),
            slug: "break-glass".into(),
            username: Some("admin".into()),
            password: "s3cret-value".into(),
            otp_secret: Some("JBSWY3DPEHPK3PXP".into()),
            url: None,
            description: None,
            password_type: None,
            passwordable: None,
            in_portal: false,
            password_folder_id: None,
            archived: false,
            created_at: at,
            updated_at: at,
        };
        let shown = format!("{entry:?}");
        assert!(
            !shown.contains("s3cret-value") && !shown.contains("JBSWY3"),
            "{shown}"
        );
        assert_eq!(entry.render()["password"], "s3cret-value");
    }
}
