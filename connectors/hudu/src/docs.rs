//! The documentation capability: asset reads, and writes that each borrow the engine's proof.
//!
//! Every call stays inside the tenant's Hudu company (`company` in the configuration): a
//! `company` argument naming another company is [`Forbidden`](stackhand_core::ErrorKind::Forbidden).

use std::collections::BTreeMap;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use stackhand_core::{
    Asset, Documentation, DocumentationWrites, Error, ExecutionProof, PasswordEntry, Result,
};

use crate::VENDOR;
use crate::connector::HuduConnector;
use crate::models::{HuduAsset, custom_fields, field_key, value_text};

/// A numeric Hudu id from input, naming `what` when it is not one.
fn parse_id(value: &str, what: &str) -> Result<u64> {
    value.trim().parse::<u64>().map_err(|_| {
        Error::invalid(format!(
            "{VENDOR}: {what} id {value:?} is not a Hudu id (a number)"
        ))
    })
}

/// The error with every occurrence of `secret` taken out of its message, keeping its kind.
fn scrub(error: Error, secret: &str) -> Error {
    if secret.is_empty() || !format!("{error} {error:?}").contains(secret) {
        return error;
    }
    let scrubbed = Error::new(error.kind(), error.message().replace(secret, "<password>"));
    if error.is_temporary() {
        scrubbed.temporary()
    } else {
        scrubbed.set_permanent()
    }
}

impl HuduConnector {
    /// The configured company's id: the company with that id, or the one with that exact name.
    async fn own_company(&self) -> Result<u64> {
        if let Some(id) = self.company_id.get() {
            return Ok(*id);
        }
        let id = match self.company.parse::<u64>() {
            // Read it once, so a key scoped to another company fails here, naming the key.
            Ok(id) => {
                self.client
                    .company(id)
                    .await
                    .map_err(|e| e.with_context("key", "company"))?
                    .id
            }
            Err(_) => {
                let found: Vec<u64> = self
                    .client
                    .companies_named(&self.company)
                    .await?
                    .into_iter()
                    .filter(|c| c.name.eq_ignore_ascii_case(&self.company))
                    .map(|c| c.id)
                    .collect();
                match found.as_slice() {
                    [id] => *id,
                    [] => {
                        return Err(Error::not_found(format!(
                            "{VENDOR}: no Hudu company is named {:?} (the configured company)",
                            self.company
                        ))
                        .with_context("key", "company"));
                    }
                    _ => {
                        return Err(Error::invalid(format!(
                            "{VENDOR}: {} Hudu companies are named {:?}: set company to the id",
                            found.len(),
                            self.company
                        ))
                        .with_context("key", "company"));
                    }
                }
            }
        };
        Ok(*self.company_id.get_or_init(|| id))
    }

    /// The id of the company a caller named, which must be the tenant's own: empty, the
    /// configured name or id, or a name Hudu resolves to the same company.
    async fn company_for(&self, company: &str) -> Result<u64> {
        let company = company.trim();
        let own = self.own_company().await?;
        if company.is_empty() || company.eq_ignore_ascii_case(&self.company) {
            return Ok(own);
        }
        let refused = || {
            Error::forbidden(format!(
                "{VENDOR}: company {company:?} is not this tenant's Hudu company"
            ))
        };
        if let Ok(id) = company.parse::<u64>() {
            return if id == own { Ok(own) } else { Err(refused()) };
        }
        let named = self.client.companies_named(company).await?;
        if named
            .iter()
            .any(|c| c.id == own && c.name.eq_ignore_ascii_case(company))
        {
            Ok(own)
        } else if named.is_empty() {
            Err(Error::not_found(format!(
                "{VENDOR}: no Hudu company is named {company:?}"
            )))
        } else {
            Err(refused())
        }
    }

    /// The id of the person layout (`asset_layout`): the number itself, or the layout with
    /// that exact name.
    async fn person_layout(&self) -> Result<u64> {
        if let Some(id) = self.layout_id.get() {
            return Ok(*id);
        }
        let id = match self.asset_layout.parse::<u64>() {
            Ok(id) => self.client.layout(id).await?.id,
            Err(_) => self
                .client
                .layouts_named(&self.asset_layout)
                .await?
                .into_iter()
                .find(|l| l.name.eq_ignore_ascii_case(&self.asset_layout))
                .map(|l| l.id)
                .ok_or_else(|| {
                    Error::not_found(format!(
                        "{VENDOR}: no Hudu asset layout is named {:?}",
                        self.asset_layout
                    ))
                    .with_context("key", "asset_layout")
                })?,
        };
        Ok(*self.layout_id.get_or_init(|| id))
    }

    /// The asset of `company_id` (and `layout_id`) named exactly `name`: one that is not
    /// archived, or else an archived one. Hudu lists archived assets only when asked
    /// (`archived=true`, and then only those), so a leaver's archived record takes a second
    /// look-up, sent only when the first finds nothing.
    async fn asset_named(
        &self,
        company_id: u64,
        layout_id: Option<u64>,
        name: &str,
    ) -> Result<Option<HuduAsset>> {
        for archived in [false, true] {
            let found = self
                .client
                .assets_named(company_id, layout_id, name, archived)
                .await?
                .into_iter()
                // The spec does not promise `name` is an exact filter: keep the exact name.
                .find(|a| a.name == name);
            if let Some(mut asset) = found {
                // From the archived listing it is archived, even if the record leaves it out.
                asset.archived |= archived;
                return Ok(Some(asset));
            }
        }
        Ok(None)
    }
}

/// The refusal to write to an archived asset: `upsert_user_asset` neither edits an archived
/// record (it is kept as the leaver left it) nor creates a second one beside it.
fn archived_asset(asset: &HuduAsset, company_id: u64) -> Error {
    Error::conflict(format!(
        "{VENDOR}: the asset {:?} (id {}) of Hudu company {company_id} is archived: it is not \
         updated and no second asset is created; unarchive it in Hudu's web interface (the API \
         has no unarchive) and run this again, or document the person under another name",
        asset.name, asset.id
    ))
    .with_context("asset", asset.id.to_string())
}

#[async_trait]
impl Documentation for HuduConnector {
    /// The company's asset named exactly `name`: one that is not archived, or else an archived
    /// one (`archived: true`), looked up with `archived=true` only when there is no other.
    async fn find_asset(&self, company: &str, name: &str) -> Result<Option<Asset>> {
        let company_id = self.company_for(company).await?;
        Ok(self
            .asset_named(company_id, None, name)
            .await?
            .map(Asset::from))
    }

    /// `GET /api/v1/asset_passwords?company_id=&name=`, the entry named exactly `name`; its
    /// password (which Hudu sends in cleartext) is never decoded.
    async fn find_password(&self, company: &str, name: &str) -> Result<Option<PasswordEntry>> {
        let company_id = self.company_for(company).await?;
        Ok(self
            .client
            .passwords_named(company_id, name)
            .await?
            .into_iter()
            .find(|p| p.name == name)
            .map(PasswordEntry::from))
    }
}

#[async_trait]
impl DocumentationWrites for HuduConnector {
    /// Find the person asset by exact name in the person layout; create it with the fields, or
    /// update it re-sending every field it has (as HuduAPI's `Set-HuduAsset` does) with the
    /// given ones changed. Nothing is sent when every given field already has its value.
    ///
    /// When the only asset of that name is archived (a leaver's), no write is sent and the
    /// answer is [`Conflict`](stackhand_core::ErrorKind::Conflict), naming the asset: editing
    /// an archived record silently would change what was kept of a leaver, and creating a
    /// second asset would leave two records of one person. Someone decides: unarchive it in
    /// Hudu (this crate cannot: the API document has no unarchive) or use another name.
    async fn upsert_user_asset(
        &self,
        _proof: &ExecutionProof<'_>,
        company: &str,
        name: &str,
        fields: &BTreeMap<String, String>,
    ) -> Result<Asset> {
        if name.trim().is_empty() {
            return Err(Error::invalid(format!("{VENDOR}: an asset needs a name")));
        }
        let mut wanted = BTreeMap::new();
        for (label, value) in fields {
            let key = field_key(label);
            if key.is_empty() {
                return Err(Error::invalid(format!(
                    "{VENDOR}: field label {label:?} has no letters or digits"
                )));
            }
            wanted.insert(key, Value::String(value.clone()));
        }
        let company_id = self.company_for(company).await?;
        let layout_id = self.person_layout().await?;
        match self.asset_named(company_id, Some(layout_id), name).await? {
            None => {
                let asset = json!({
                    "asset_layout_id": layout_id,
                    "name": name,
                    "custom_fields": custom_fields(&wanted),
                });
                Ok(self.client.create_asset(company_id, asset).await?.into())
            }
            Some(existing) if existing.archived => Err(archived_asset(&existing, company_id)),
            Some(existing) => {
                let mut all: BTreeMap<String, Value> = existing
                    .fields
                    .iter()
                    .filter(|f| !f.value.is_null())
                    .map(|f| (field_key(&f.label), f.value.clone()))
                    .collect();
                let unchanged = wanted.iter().all(|(key, value)| {
                    all.get(key).and_then(value_text).as_deref() == value.as_str()
                });
                if unchanged {
                    return Ok(existing.into());
                }
                all.extend(wanted);
                let asset = json!({
                    "asset_layout_id": layout_id,
                    "name": name,
                    "custom_fields": custom_fields(&all),
                });
                Ok(self
                    .client
                    .update_asset(company_id, existing.id, asset)
                    .await?
                    .into())
            }
        }
    }

    /// Update the company's password entry named exactly `name`, or create it. The password is
    /// only ever in the request body: never logged, and taken out of any error.
    async fn store_password(
        &self,
        _proof: &ExecutionProof<'_>,
        company: &str,
        name: &str,
        username: &str,
        password: &SecretString,
    ) -> Result<String> {
        let secret = password.expose_secret();
        if secret.is_empty() {
            return Err(Error::invalid(format!("{VENDOR}: the password is empty")));
        }
        if name.trim().is_empty() {
            return Err(Error::invalid(format!(
                "{VENDOR}: a password entry needs a name"
            )));
        }
        let company_id = self.company_for(company).await?;
        let existing = self
            .client
            .passwords_named(company_id, name)
            .await
            .map_err(|e| scrub(e, secret))?
            .into_iter()
            .find(|p| p.name == name);
        let stored = match existing {
            Some(entry) => {
                self.client
                    .update_password(entry.id, json!({"username": username, "password": secret}))
                    .await
            }
            None => {
                self.client
                    .create_password(json!({
                        "name": name,
                        "company_id": company_id,
                        "username": username,
                        "password": secret,
                    }))
                    .await
            }
        };
        stored
            .map(|entry| entry.id.to_string())
            .map_err(|e| scrub(e, secret))
    }

    async fn archive_asset(&self, _proof: &ExecutionProof<'_>, asset_id: &str) -> Result<()> {
        let id = parse_id(asset_id, "asset")?;
        let company_id = self.own_company().await?;
        self.client.archive_asset(company_id, id).await
    }

    /// Not offered: the Hudu document this crate is checked against
    /// (`crates/testkit/specs/hudu.json`) has no unarchive operation, so nothing is sent.
    async fn unarchive_asset(&self, _proof: &ExecutionProof<'_>, _asset_id: &str) -> Result<()> {
        Err(Error::unsupported(
            "unarchive_asset (the Hudu API document kept here has no unarchive operation)",
        ))
    }

    /// `POST /api/v1/articles` in the tenant's company; `body` is sent as the article's HTML
    /// `content` unchanged.
    async fn create_article(
        &self,
        _proof: &ExecutionProof<'_>,
        company: &str,
        title: &str,
        body: &str,
    ) -> Result<String> {
        if title.trim().is_empty() {
            return Err(Error::invalid(format!(
                "{VENDOR}: an article needs a title"
            )));
        }
        let company_id = self.company_for(company).await?;
        let article = self
            .client
            .create_article(json!({
                "name": title,
                "content": body,
                "company_id": company_id,
            }))
            .await?;
        Ok(article.id.to_string())
    }
}

#[cfg(test)]
mod tests {
    use stackhand_core::ErrorKind;

    use super::*;

    #[test]
    fn scrub_takes_the_password_out_and_keeps_the_kind() {
        let err = Error::invalid("hudu: password hunter2 is too weak");
        let clean = scrub(err, "hunter2");
        assert_eq!(clean.kind(), ErrorKind::Invalid);
        assert!(!format!("{clean} {clean:?}").contains("hunter2"), "{clean}");
        assert!(clean.message().contains("<password>"));
    }

    #[test]
    fn ids_are_numbers() {
        assert_eq!(parse_id(" 987 ", "asset").unwrap(), 987);
        let err = parse_id("../1", "asset").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid);
    }
}
