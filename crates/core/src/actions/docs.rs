//! `docs.*` actions.

use std::collections::BTreeMap;

use async_trait::async_trait;
use schemars::JsonSchema;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{plan_of, read_back_of};
use crate::action::{ActionContext, Descriptor, ExecutionProof, TypedAction};
use crate::capability::PasswordEntry;
use crate::error::Result;
use crate::model::{ActionRequest, Category, Change, Outcome, Plan, Risk, StepStatus};

fn succeeded(plan: &Plan, state_after: serde_json::Value) -> Outcome {
    Outcome {
        changes: plan.changes.clone(),
        state_before: plan.state_before.clone(),
        state_after,
        ..Outcome::new(StepStatus::Succeeded)
    }
}

/// `docs.upsert_user_asset`.
#[derive(Debug, Clone, Copy)]
pub struct UpsertUserAsset;

/// Input of `docs.upsert_user_asset`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserAssetParams {
    /// Company name or id in the documentation system; blank: the tenant's own.
    pub company: String,
    /// The person's name.
    pub name: String,
    /// Fields by label.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

#[async_trait]
impl TypedAction for UpsertUserAsset {
    type Params = UserAssetParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "docs.upsert_user_asset",
        summary: "Create or update the documentation record of a person",
        category: Category::Docs,
        risk: Risk::Low,
        reversible: false,
        idempotent: true,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let existing = ctx
            .docs()?
            .find_asset(&params.company, &params.name)
            .await?;
        let mut plan = plan_of::<Self>(
            request,
            format!("Document {} at {}", params.name, company(&params.company)),
        );
        let resource = format!("asset:{}", params.name);
        match existing {
            None => plan.changes.push(Change::new(
                resource,
                "fields",
                None,
                Some(json!(params.fields)),
            )),
            Some(asset) => {
                // Only the fields that differ change; an asset already as asked is a no-op, so
                // an update whose answer was lost is settled by reading it back.
                let current = |label: &str| {
                    asset
                        .fields
                        .iter()
                        .find(|(l, _)| l.eq_ignore_ascii_case(label))
                        .map(|(_, v)| v.clone())
                };
                for (label, value) in &params.fields {
                    let before = current(label);
                    if before.as_deref() != Some(value.as_str()) {
                        plan.changes.push(Change::new(
                            resource.clone(),
                            label.clone(),
                            before.map(|v| json!(v)),
                            Some(json!(value)),
                        ));
                    }
                }
                if asset.archived {
                    plan.warnings.push(format!(
                        "asset {} ({}) is archived: unarchive it before updating it",
                        asset.name, asset.id
                    ));
                }
                plan.state_before = serde_json::to_value(&asset)?;
            }
        }
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        let asset = ctx
            .docs_writes(proof)?
            .upsert_user_asset(proof, &params.company, &params.name, &params.fields)
            .await?;
        Ok(succeeded(plan, serde_json::to_value(&asset)?))
    }
}

/// How a plan names the company: blank means the tenant's own (the connector's `company`).
fn company(name: &str) -> &str {
    if name.trim().is_empty() {
        "the tenant's company"
    } else {
        name
    }
}

/// `docs.store_password`.
#[derive(Debug, Clone, Copy)]
pub struct StorePassword;

/// Input of `docs.store_password`. The password is a secret parameter: it arrives through
/// [`ActionRequest::with_secret`](crate::ActionRequest::with_secret), never in the stored params.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StorePasswordParams {
    /// Company.
    pub company: String,
    /// Entry name.
    pub name: String,
    /// Username.
    pub username: String,
    /// The password.
    #[schemars(with = "String")]
    pub password: SecretString,
}

#[async_trait]
impl TypedAction for StorePassword {
    type Params = StorePasswordParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "docs.store_password",
        summary: "Store a credential in the documentation system's password vault",
        category: Category::Docs,
        risk: Risk::Medium,
        reversible: false,
        idempotent: false,
    };
    const SECRET_PARAMS: &'static [&'static str] = &["password"];

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        let docs = ctx.docs()?;
        let mut plan = plan_of::<Self>(
            request,
            format!(
                "Store the password of {} at {}",
                params.username,
                company(&params.company)
            ),
        );
        // The entry as it is now (never its password), so a call whose answer is lost can be
        // told from the state before; a vault that cannot be read back plans all the same.
        match docs.find_password(&params.company, &params.name).await {
            Ok(Some(entry)) => plan.state_before = serde_json::to_value(&entry)?,
            Ok(None) => plan.state_before = json!({ "exists": false }),
            Err(e) if e.kind() == crate::ErrorKind::Unsupported => {}
            Err(e) => return Err(e),
        }
        plan.changes.push(Change::new(
            format!("password:{}", params.name),
            "password",
            None,
            Some(json!("<stored>")),
        ));
        Ok(plan)
    }

    /// The entry of that name holds the username and is new or changed since the plan read
    /// it: the lost call stored it. (The password itself is never read back.)
    async fn read_back(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
    ) -> Result<Option<serde_json::Value>> {
        let docs = ctx.docs()?;
        let Some(entry) = docs.find_password(&params.company, &params.name).await? else {
            return Ok(None);
        };
        let before: Option<PasswordEntry> = serde_json::from_value(plan.state_before.clone()).ok();
        let written = match &before {
            // It existed: only a change since proves the write landed.
            Some(before) => entry.updated.is_some() && entry.updated != before.updated,
            None => plan.state_before.get("exists") == Some(&json!(false)),
        };
        let holds = entry.username.as_deref() == Some(params.username.as_str());
        read_back_of(&entry, written && holds)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        let id = ctx
            .docs_writes(proof)?
            .store_password(
                proof,
                &params.company,
                &params.name,
                &params.username,
                &params.password,
            )
            .await?;
        Ok(succeeded(plan, json!({ "id": id })))
    }
}

/// `docs.archive_asset`.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveAsset;

/// Input of `docs.archive_asset`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetParams {
    /// Asset id.
    pub asset: String,
}

#[async_trait]
impl TypedAction for ArchiveAsset {
    type Params = AssetParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "docs.archive_asset",
        summary: "Archive a documentation asset (a leaver's record)",
        category: Category::Docs,
        risk: Risk::Low,
        reversible: true,
        idempotent: true,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        ctx.docs()?;
        let mut plan = plan_of::<Self>(request, format!("Archive asset {}", params.asset));
        plan.changes.push(Change::new(
            format!("asset:{}", params.asset),
            "archived",
            Some(json!(false)),
            Some(json!(true)),
        ));
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        ctx.docs_writes(proof)?
            .archive_asset(proof, &params.asset)
            .await?;
        Ok(succeeded(plan, json!({ "archived": true })))
    }

    async fn undo(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        ctx.docs_writes(proof)?
            .unarchive_asset(proof, &params.asset)
            .await?;
        Ok(succeeded(plan, json!({ "archived": false })))
    }
}

/// `docs.create_article`.
#[derive(Debug, Clone, Copy)]
pub struct CreateArticle;

/// Input of `docs.create_article`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleParams {
    /// Company.
    pub company: String,
    /// Title.
    pub title: String,
    /// Body (Markdown or HTML, as the vendor takes it).
    pub body: String,
}

#[async_trait]
impl TypedAction for CreateArticle {
    type Params = ArticleParams;
    const DESCRIPTOR: Descriptor = Descriptor {
        id: "docs.create_article",
        summary: "Write a knowledge-base article",
        category: Category::Docs,
        risk: Risk::Low,
        reversible: false,
        idempotent: false,
    };

    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan> {
        ctx.docs()?;
        let mut plan = plan_of::<Self>(request, format!("Write article {:?}", params.title));
        plan.changes.push(Change::new(
            format!("article:{}", params.title),
            "article",
            None,
            Some(json!(params.title)),
        ));
        Ok(plan)
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        _request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        let id = ctx
            .docs_writes(proof)?
            .create_article(proof, &params.company, &params.title, &params.body)
            .await?;
        Ok(succeeded(plan, json!({ "id": id })))
    }
}
