//! The ConnectWise REST client: codebase discovery, Basic auth with the `clientId` header, the
//! version pinned in `Accept`, both paging styles, and the per-board caches.
//!
//! Crate-private: it writes without an [`ExecutionProof`](stackhand_core::ExecutionProof), so
//! only the capability and action code, which receive one, reach it.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use stackhand_core::{BuildContext, Error, Result, TenantId};
use stackhand_http::{Auth, HttpClient, Paging, RequestBuilder};
use tokio::sync::OnceCell;
use url::Url;

use crate::VENDOR;
use crate::config::{ConnectWiseConfig, normalise_codebase};
use crate::error::ConnectWiseErrorParser;
use crate::models::{CompanyInfo, CwBoard, CwBoardStatus, CwCommunicationType, CwCompany, quote};

/// A ConnectWise API client for one tenant. Cheap to clone.
#[derive(Clone)]
pub(crate) struct ConnectWiseClient {
    inner: Arc<Inner>,
}

struct Inner {
    /// The build context, kept to make the API client once the codebase is discovered. Its
    /// build span is dropped so the span ends with the build.
    ctx: BuildContext,
    config: ConnectWiseConfig,
    private_key: SecretString,
    page_size: u32,
    api: OnceCell<HttpClient>,
    statuses: Mutex<HashMap<i64, Arc<Vec<CwBoardStatus>>>>,
    boards: Mutex<HashMap<String, CwBoard>>,
    email_type: OnceCell<i64>,
    scope: OnceCell<Option<CwCompany>>,
}

impl std::fmt::Debug for ConnectWiseClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key is left out; the configuration holds only where it is kept.
        f.debug_struct("ConnectWiseClient")
            .field("tenant", &self.inner.ctx.tenant().as_str())
            .field("config", &self.inner.config)
            .field("page_size", &self.inner.page_size)
            .finish_non_exhaustive()
    }
}

impl ConnectWiseClient {
    /// A client for `ctx`'s tenant from a validated configuration and its resolved private
    /// key. With a configured codebase the API client is made now, otherwise on first use
    /// after discovery.
    pub(crate) fn new(
        ctx: &BuildContext,
        config: ConnectWiseConfig,
        private_key: SecretString,
    ) -> Result<Self> {
        let page_size = config.page_size()?;
        let client = Self {
            inner: Arc::new(Inner {
                ctx: ctx.clone().with_span(tracing::Span::none()),
                config,
                private_key,
                page_size,
                api: OnceCell::new(),
                statuses: Mutex::new(HashMap::new()),
                boards: Mutex::new(HashMap::new()),
                email_type: OnceCell::new(),
                scope: OnceCell::new(),
            }),
        };
        if let Some(codebase) = client.inner.config.codebase.clone() {
            let api = client.build_api(&codebase)?;
            let _ = client.inner.api.set(api);
        }
        Ok(client)
    }

    /// The configuration.
    pub(crate) fn config(&self) -> &ConnectWiseConfig {
        &self.inner.config
    }

    /// The tenant.
    pub(crate) fn tenant(&self) -> &TenantId {
        self.inner.ctx.tenant()
    }

    fn build_api(&self, codebase: &str) -> Result<HttpClient> {
        let config = &self.inner.config;
        HttpClient::for_context(
            &self.inner.ctx,
            VENDOR,
            config.api_url(codebase)?,
            &config.http,
        )
        .auth(Auth::basic(
            format!("{}+{}", config.company_id, config.public_key),
            self.inner.private_key.clone(),
        ))
        .default_header("clientId", &config.client_id)
        .default_header("Accept", &config.accept())
        .error_parser(Arc::new(ConnectWiseErrorParser))
        .build()
    }

    /// Ask `/login/companyinfo/{companyId}` (no auth) for the codebase.
    async fn discover_codebase(&self) -> Result<String> {
        let config = &self.inner.config;
        let discovery = HttpClient::for_context(
            &self.inner.ctx,
            VENDOR,
            config.companyinfo_base()?,
            &config.http,
        )
        .default_header("Accept", "application/json")
        .error_parser(Arc::new(ConnectWiseErrorParser))
        .build()?;
        let info: CompanyInfo = discovery
            .get(&config.companyinfo_path())
            .operation("discover_codebase")
            .send_json()
            .await?;
        if info.codebase.trim_matches('/').is_empty() {
            return Err(Error::invalid(format!(
                "connectwise companyinfo for {} returned no Codebase",
                config.company_id
            )));
        }
        Ok(normalise_codebase(&info.codebase))
    }

    /// The API client, discovering the codebase first if needed.
    pub(crate) async fn api(&self) -> Result<&HttpClient> {
        self.inner
            .api
            .get_or_try_init(|| async {
                let codebase = self.discover_codebase().await?;
                tracing::debug!(tenant = %self.tenant(), %codebase, "connectwise codebase discovered");
                self.build_api(&codebase)
            })
            .await
    }

    /// The API base URL in use (after discovery).
    pub(crate) async fn api_url(&self) -> Result<Url> {
        Ok(self.api().await?.base_url().clone())
    }

    /// A GET request.
    pub(crate) async fn get(&self, path: &str, operation: &'static str) -> Result<RequestBuilder> {
        Ok(self.api().await?.get(path).operation(operation))
    }

    /// GET one record.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        operation: &'static str,
    ) -> Result<T> {
        self.get(path, operation).await?.send_json().await
    }

    /// Every record of a listing with page-numbered paging (`page`, `pageSize`), honouring
    /// `orderBy` in `query`.
    pub(crate) async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        operation: &'static str,
    ) -> Result<Vec<T>> {
        self.get(path, operation)
            .await?
            .query(query)
            .collect_pages(Paging::page_numbers(self.inner.page_size))
            .await
    }

    /// Every record of a listing with forward-only paging (`pagination-type: forward-only`,
    /// following `Link: rel="next"`): stable under concurrent inserts, each record once, in id
    /// order.
    pub(crate) async fn list_forward<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        operation: &'static str,
    ) -> Result<Vec<T>> {
        self.get(path, operation)
            .await?
            .header("pagination-type", "forward-only")
            .query(query)
            .query(&[("pageSize", self.inner.page_size.to_string())])
            .collect_pages(Paging::link_header(""))
            .await
    }

    /// The statuses of a board, cached per board (they change rarely).
    pub(crate) async fn board_statuses(&self, board_id: i64) -> Result<Arc<Vec<CwBoardStatus>>> {
        if let Some(cached) = self.inner.statuses.lock().get(&board_id) {
            return Ok(cached.clone());
        }
        let mut statuses: Vec<CwBoardStatus> = self
            .list(
                &format!("service/boards/{board_id}/statuses"),
                &[("orderBy", "sortOrder asc".to_string())],
                "list_board_statuses",
            )
            .await?;
        statuses.sort_by_key(|s| (s.sort_order.unwrap_or(0), s.id));
        let statuses = Arc::new(statuses);
        self.inner
            .statuses
            .lock()
            .insert(board_id, statuses.clone());
        Ok(statuses)
    }

    /// A board by name (case-insensitive), cached.
    pub(crate) async fn board_by_name(&self, name: &str) -> Result<CwBoard> {
        let key = name.to_lowercase();
        if let Some(board) = self.inner.boards.lock().get(&key) {
            return Ok(board.clone());
        }
        let boards: Vec<CwBoard> = self
            .list(
                "service/boards",
                &[(
                    "conditions",
                    format!("name={} and inactiveFlag=false", quote(name)),
                )],
                "find_board",
            )
            .await?;
        let board = boards
            .into_iter()
            .find(|b| b.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| Error::not_found(format!("connectwise board {name:?} not found")))?;
        self.inner.boards.lock().insert(key, board.clone());
        Ok(board)
    }

    /// The id of the instance's `Email` communication type (it differs per instance), cached.
    pub(crate) async fn email_type_id(&self) -> Result<i64> {
        self.inner
            .email_type
            .get_or_try_init(|| async {
                let types: Vec<CwCommunicationType> = self
                    .list(
                        "company/communicationTypes",
                        &[("conditions", "emailFlag=true".to_string())],
                        "list_communication_types",
                    )
                    .await?;
                types
                    .iter()
                    .find(|t| {
                        t.description
                            .as_deref()
                            .is_some_and(|d| d.eq_ignore_ascii_case("email"))
                    })
                    .or_else(|| types.first())
                    .map(|t| t.id)
                    .ok_or_else(|| Error::not_found("connectwise has no email communication type"))
            })
            .await
            .copied()
    }

    /// The client company this tenant is scoped to, if any (looked up once).
    pub(crate) async fn scope(&self) -> Result<Option<&CwCompany>> {
        let scope = self
            .inner
            .scope
            .get_or_try_init(|| async {
                let Some(identifier) = self.inner.config.company_identifier.as_deref() else {
                    return Ok(None);
                };
                let companies: Vec<CwCompany> = self
                    .list(
                        "company/companies",
                        &[
                            ("conditions", format!("identifier={}", quote(identifier))),
                            ("fields", "id,identifier,name,deletedFlag".to_string()),
                        ],
                        "find_company",
                    )
                    .await?;
                companies
                    .into_iter()
                    .find(|c| c.identifier.eq_ignore_ascii_case(identifier))
                    .map(Some)
                    .ok_or_else(|| {
                        Error::not_found(format!(
                            "connectwise company {identifier:?} (company_identifier) not found"
                        ))
                    })
            })
            .await?;
        Ok(scope.as_ref())
    }
}
