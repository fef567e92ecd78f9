//! Hudu's HTTP client: every request the connector sends is made here.
//!
//! `pub(crate)` on purpose: its write methods take no proof, so only the capability
//! implementations (which do) may reach them.

use std::num::NonZeroU32;
use std::sync::Arc;

use secrecy::SecretString;
use serde_json::Value;
use stackhand_core::{BuildContext, Result};
use stackhand_http::{Auth, HttpClient, NextPage, Paging, Quota, encode_segment};

use crate::VENDOR;
use crate::config::HuduConfig;
use crate::error::HuduErrorParser;
use crate::models::{
    ApiInfo, HuduArticleRef, HuduAsset, HuduAssetLayout, HuduCompany, HuduPasswordRef, unwrap_one,
};

/// The header that carries the API key.
pub(crate) const KEY_HEADER: &str = "x-api-key";

/// Items per page when `http.page_size` is not set: Hudu's own default (spec
/// `info.description`).
pub const DEFAULT_PAGE_SIZE: u32 = 25;

/// The largest `http.page_size` accepted: what HuduAPI pages with
/// (`Invoke-HuduRequestPaginated.ps1`); Hudu documents no maximum.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Hudu's documented limit: 300 requests a minute (spec `info.description`).
const REQUESTS_PER_MINUTE: NonZeroU32 = NonZeroU32::new(300).expect("300 is not zero");

/// The typed client.
#[derive(Debug, Clone)]
pub(crate) struct HuduClient {
    http: HttpClient,
    page_size: u32,
}

impl HuduClient {
    /// A client on the host's shared pool and rate limits, sending `api_key` on every request.
    pub(crate) fn new(
        ctx: &BuildContext,
        config: &HuduConfig,
        api_key: SecretString,
    ) -> Result<Self> {
        let page_size = config
            .http
            .page_size(VENDOR, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
        let http = HttpClient::for_context(ctx, VENDOR, config.base_url.clone(), &config.http)
            .auth(Auth::header(KEY_HEADER, api_key)?)
            .error_parser(Arc::new(HuduErrorParser))
            .default_rate_limit(Quota::per_minute(REQUESTS_PER_MINUTE))
            .build()?;
        Ok(Self { http, page_size })
    }

    fn paging(&self, items_at: &str) -> Paging {
        Paging::new(
            NextPage::PageNumber {
                page_param: "page".to_owned(),
                size_param: "page_size".to_owned(),
                page_size: self.page_size,
                first_page: 1,
            },
            items_at,
        )
    }

    /// `GET /api/v1/api_info`: the cheapest documented call, for health.
    pub(crate) async fn api_info(&self) -> Result<ApiInfo> {
        self.http
            .get("api/v1/api_info")
            .operation("api_info")
            .send_json()
            .await
    }

    /// `GET /api/v1/companies/{id}` → `{"company": {...}}`.
    pub(crate) async fn company(&self, id: u64) -> Result<HuduCompany> {
        let body: Value = self
            .http
            .get(&format!("api/v1/companies/{id}"))
            .operation("get_company")
            .send_json()
            .await?;
        unwrap_one(body, "company", "get_company")
    }

    /// `GET /api/v1/companies?name=<exact name>`, every page.
    pub(crate) async fn companies_named(&self, name: &str) -> Result<Vec<HuduCompany>> {
        self.http
            .get("api/v1/companies")
            .query(&[("name", name)])
            .operation("find_company")
            .collect_pages(self.paging("/companies"))
            .await
    }

    /// `GET /api/v1/asset_layouts?name=<exact name>` (the endpoint documents no `page_size`, and
    /// a name matches few layouts, so one page is read).
    pub(crate) async fn layouts_named(&self, name: &str) -> Result<Vec<HuduAssetLayout>> {
        #[derive(serde::Deserialize)]
        struct Layouts {
            #[serde(default)]
            asset_layouts: Vec<HuduAssetLayout>,
        }
        let page: Layouts = self
            .http
            .get("api/v1/asset_layouts")
            .query(&[("name", name)])
            .operation("find_asset_layout")
            .send_json()
            .await?;
        Ok(page.asset_layouts)
    }

    /// `GET /api/v1/asset_layouts/{id}` → `{"asset_layout": {...}}`, or `null` when missing.
    pub(crate) async fn layout(&self, id: u64) -> Result<HuduAssetLayout> {
        let body: Value = self
            .http
            .get(&format!("api/v1/asset_layouts/{id}"))
            .operation("get_asset_layout")
            .send_json()
            .await?;
        unwrap_one(body, "asset_layout", "get_asset_layout")
    }

    /// `GET /api/v1/assets?company_id=&asset_layout_id=&name=`, every page: the assets that are
    /// not archived, or with `archived` (`&archived=true`) only the archived ones (spec: "Set
    /// to true to display only archived assets").
    pub(crate) async fn assets_named(
        &self,
        company_id: u64,
        layout_id: Option<u64>,
        name: &str,
        archived: bool,
    ) -> Result<Vec<HuduAsset>> {
        let company = company_id.to_string();
        let layout = layout_id.map(|id| id.to_string());
        let mut query = vec![("company_id", company.as_str())];
        if let Some(layout) = &layout {
            query.push(("asset_layout_id", layout.as_str()));
        }
        query.push(("name", name));
        if archived {
            query.push(("archived", "true"));
        }
        self.http
            .get("api/v1/assets")
            .query(&query)
            .operation("find_asset")
            .collect_pages(self.paging("/assets"))
            .await
    }

    /// `POST /api/v1/companies/{company_id}/assets` with `{"asset": {...}}` → 201.
    pub(crate) async fn create_asset(&self, company_id: u64, asset: Value) -> Result<HuduAsset> {
        let body: Value = self
            .http
            .post(&format!("api/v1/companies/{company_id}/assets"))
            .json(&serde_json::json!({ "asset": asset }))
            .operation("create_asset")
            .send_json()
            .await?;
        unwrap_one(body, "asset", "create_asset")
    }

    /// `PUT /api/v1/companies/{company_id}/assets/{id}` with `{"asset": {...}}`.
    pub(crate) async fn update_asset(
        &self,
        company_id: u64,
        id: u64,
        asset: Value,
    ) -> Result<HuduAsset> {
        let body: Value = self
            .http
            .put(&asset_path(company_id, id))
            .json(&serde_json::json!({ "asset": asset }))
            .operation("update_asset")
            .send_json()
            .await?;
        unwrap_one(body, "asset", "update_asset")
    }

    /// `PUT /api/v1/companies/{company_id}/assets/{id}/archive`.
    pub(crate) async fn archive_asset(&self, company_id: u64, id: u64) -> Result<()> {
        self.http
            .put(&format!("{}/archive", asset_path(company_id, id)))
            .operation("archive_asset")
            .send_empty()
            .await
    }

    /// `GET /api/v1/asset_passwords?company_id=&name=`, every page; only ids and names are
    /// decoded (the bodies hold passwords in cleartext).
    pub(crate) async fn passwords_named(
        &self,
        company_id: u64,
        name: &str,
    ) -> Result<Vec<HuduPasswordRef>> {
        let company = company_id.to_string();
        self.http
            .get("api/v1/asset_passwords")
            .query(&[("company_id", company.as_str()), ("name", name)])
            .operation("find_password")
            .collect_pages(self.paging("/asset_passwords"))
            .await
    }

    /// `POST /api/v1/asset_passwords` with `{"asset_password": {...}}` → 201.
    pub(crate) async fn create_password(&self, password: Value) -> Result<HuduPasswordRef> {
        let body: Value = self
            .http
            .post("api/v1/asset_passwords")
            .json(&serde_json::json!({ "asset_password": password }))
            .operation("create_password")
            .send_json()
            .await?;
        unwrap_one(body, "asset_password", "create_password")
    }

    /// `PUT /api/v1/asset_passwords/{id}` with `{"asset_password": {...}}`.
    pub(crate) async fn update_password(
        &self,
        id: u64,
        password: Value,
    ) -> Result<HuduPasswordRef> {
        let body: Value = self
            .http
            .put(&format!("api/v1/asset_passwords/{id}"))
            .json(&serde_json::json!({ "asset_password": password }))
            .operation("update_password")
            .send_json()
            .await?;
        unwrap_one(body, "asset_password", "update_password")
    }

    /// `POST /api/v1/articles` with `{"article": {...}}`.
    pub(crate) async fn create_article(&self, article: Value) -> Result<HuduArticleRef> {
        let body: Value = self
            .http
            .post("api/v1/articles")
            .json(&serde_json::json!({ "article": article }))
            .operation("create_article")
            .send_json()
            .await?;
        unwrap_one(body, "article", "create_article")
    }
}

/// The asset's path. Ids are numbers (parsed before they get here), so nothing from input can
/// add a segment; they still go through [`encode_segment`] like every input.
fn asset_path(company_id: u64, id: u64) -> String {
    format!(
        "api/v1/companies/{}/assets/{}",
        encode_segment(&company_id.to_string()),
        encode_segment(&id.to_string())
    )
}
