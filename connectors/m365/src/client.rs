//! The typed Graph and Exchange Online client on the shared stackhand-http stack: one
//! [`HttpClient`] per resource (Graph, Exchange), each with its own token, Microsoft's error
//! envelope, retries that honour `Retry-After`, `@odata.nextLink` paging, and the
//! `InvokeCommand` call with its own paging (the next link is re-POSTed with the same body).
//!
//! Crate-private: it writes without an [`ExecutionProof`](stackhand_core::ExecutionProof), so
//! only the connector's proof-taking writes reach it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use stackhand_core::{BuildContext, Error, ErrorKind, Result, SecretRef};
use stackhand_http::{
    Auth, ClientAuth, ClientCredentials, HttpClient, HttpHost, Method, Paging, RequestBuilder,
    StaticToken, encode_segment,
};

use crate::VENDOR;
use crate::config::{M365Auth, M365Config};
use crate::error::MicrosoftErrorParser;
use crate::models::{CmdletInput, InvokeCommand};

/// The Exchange client's key in the rate limiter (Exchange throttles separately from Graph).
const EXCHANGE_VENDOR: &str = "m365-exchange";
/// The most `InvokeCommand` pages followed before giving up.
const MAX_EXO_PAGES: usize = 100;

/// The Graph and Exchange clients of one tenant.
#[derive(Debug, Clone)]
pub(crate) struct GraphClient {
    graph: HttpClient,
    exchange: Option<HttpClient>,
    tenant_id: String,
    /// `Prefer: odata.maxpagesize=<n>` on every `InvokeCommand` call.
    exchange_page_size: String,
    /// How many writes this client has started: a read made before a write never answers
    /// for after it (see [`writes`](Self::writes)).
    writes: Arc<AtomicU64>,
}

/// What a cmdlet returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CmdletOutput {
    /// Result objects, every page.
    pub value: Vec<Value>,
    /// Warnings (`@adminapi.warnings`), e.g. "no settings have been modified".
    pub warnings: Vec<String>,
}

impl CmdletOutput {
    /// The results as typed objects.
    pub fn items<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        self.value
            .iter()
            .map(|item| {
                serde_json::from_value(item.clone()).map_err(|e| {
                    Error::invalid(format!("{VENDOR}: unexpected Exchange result shape: {e}"))
                })
            })
            .collect()
    }
}

/// A client-credentials token source for `scope`, fetching on the host's shared pool.
fn token_source(
    ctx: &BuildContext,
    config: &M365Config,
    client_id: &str,
    client_auth: ClientAuth,
    scope: &str,
) -> Result<Auth> {
    Ok(Auth::bearer(
        ClientCredentials::new(config.token_url()?, client_id, client_auth)
            .scope(scope)
            .http_client(HttpHost::of(ctx).client().clone()),
    ))
}

/// A delegated token, resolved from where configuration says it is kept.
async fn static_token(ctx: &BuildContext, key: &str, reference: &SecretRef) -> Result<Auth> {
    Ok(Auth::bearer(StaticToken::new(
        ctx.credential(key, reference).await?,
    )))
}

impl GraphClient {
    /// Build both clients from a validated configuration, resolving its credentials for the
    /// context's tenant.
    pub(crate) async fn build(ctx: &BuildContext, config: &M365Config) -> Result<Self> {
        let (graph_auth, exchange_auth) = match &config.auth {
            M365Auth::ClientSecret {
                client_id,
                client_secret,
            } => {
                let secret = ctx.credential("auth.client_secret", client_secret).await?;
                let auth = || ClientAuth::ClientSecret(secret.clone());
                (
                    token_source(ctx, config, client_id, auth(), &config.graph_scope)?,
                    Some(token_source(
                        ctx,
                        config,
                        client_id,
                        auth(),
                        &config.exchange_scope,
                    )?),
                )
            }
            M365Auth::Certificate {
                client_id,
                private_key_pem,
                thumbprint,
            } => {
                let key = ctx
                    .credential("auth.private_key_pem", private_key_pem)
                    .await?;
                let assertion = || ClientAuth::PrivateKeyJwt {
                    key_pem: key.clone(),
                    key_id: None,
                    x5t: Some(thumbprint.clone()),
                };
                (
                    token_source(ctx, config, client_id, assertion(), &config.graph_scope)?,
                    Some(token_source(
                        ctx,
                        config,
                        client_id,
                        assertion(),
                        &config.exchange_scope,
                    )?),
                )
            }
            M365Auth::Delegated {
                graph_token,
                exchange_token,
            } => {
                let exchange = match exchange_token {
                    Some(token) => Some(static_token(ctx, "auth.exchange_token", token).await?),
                    None => None,
                };
                (
                    static_token(ctx, "auth.graph_token", graph_token).await?,
                    exchange,
                )
            }
        };
        let client = |vendor: &'static str, root, auth| {
            HttpClient::for_context(ctx, vendor, root, &config.http)
                .auth(auth)
                .error_parser(Arc::new(MicrosoftErrorParser))
                .build()
        };
        let graph = client(VENDOR, config.graph_root(), graph_auth)?;
        let exchange = exchange_auth
            .map(|auth| client(EXCHANGE_VENDOR, config.exchange_root(), auth))
            .transpose()?;
        Ok(Self {
            graph,
            exchange,
            tenant_id: config.tenant_id.trim().to_string(),
            exchange_page_size: format!("odata.maxpagesize={}", config.exchange_page_size()?),
            writes: Arc::new(AtomicU64::new(0)),
        })
    }

    /// How many writes this client has started. A read remembered at one count is stale at
    /// another.
    pub(crate) fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    /// A Graph `GET` (a read; paths relative to the `v1.0/` root).
    pub(crate) fn get(&self, path: &str) -> RequestBuilder {
        self.graph.get(path)
    }

    /// A Graph `POST` (a write).
    pub(crate) fn post(&self, path: &str) -> RequestBuilder {
        self.write(Method::POST, path)
    }

    /// A Graph `PATCH` (a write).
    pub(crate) fn patch(&self, path: &str) -> RequestBuilder {
        self.write(Method::PATCH, path)
    }

    /// A Graph `DELETE` (a write).
    pub(crate) fn delete(&self, path: &str) -> RequestBuilder {
        self.write(Method::DELETE, path)
    }

    fn write(&self, method: Method, path: &str) -> RequestBuilder {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.graph.request(method, path)
    }

    /// `GET` one Graph entity.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        operation: &'static str,
    ) -> Result<T> {
        self.graph
            .get(path)
            .query(query)
            .operation(operation)
            .send_json()
            .await
    }

    /// Every item of a Graph collection, following `@odata.nextLink`.
    pub(crate) async fn list<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<Vec<T>> {
        request.collect_pages(Paging::odata()).await
    }

    /// Run an Exchange cmdlet through `InvokeCommand`, every page. `anchor` routes the call
    /// to the mailbox's server (`X-AnchorMailbox: UPN:<mailbox>`). `Get-*` cmdlets only read
    /// (and are retried like any read); any other cmdlet is a write.
    pub(crate) async fn invoke(
        &self,
        cmdlet: &str,
        parameters: Map<String, Value>,
        anchor: Option<&str>,
    ) -> Result<CmdletOutput> {
        let exchange = self.exchange.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::Unauthorized,
                format!(
                    "{VENDOR}: no Exchange Online token is configured (delegated auth without exchange_token), so {cmdlet} cannot run"
                ),
            )
        })?;
        let read_only = cmdlet.starts_with("Get-");
        if !read_only {
            self.writes.fetch_add(1, Ordering::SeqCst);
        }
        let body = InvokeCommand {
            cmdlet_input: CmdletInput {
                cmdlet_name: cmdlet.to_string(),
                parameters,
            },
        };
        let anchor = match anchor {
            Some(mailbox) => format!("UPN:{mailbox}"),
            None => format!(
                "APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{}",
                self.tenant_id
            ),
        };
        let mut url = format!(
            "adminapi/beta/{}/InvokeCommand",
            encode_segment(&self.tenant_id)
        );
        let mut output = CmdletOutput::default();
        for _ in 0..MAX_EXO_PAGES {
            let mut request = exchange
                .post(&url)
                .header("X-AnchorMailbox", &anchor)
                .header("Prefer", &self.exchange_page_size)
                .json(&body)
                .operation(cmdlet.to_string());
            if read_only {
                request = request.retry_safe();
            }
            let page: Value = request.send_json().await?;
            if let Some(items) = page.get("value").and_then(Value::as_array) {
                output.value.extend(items.iter().cloned());
            }
            if let Some(warnings) = page.get("@adminapi.warnings").and_then(Value::as_array) {
                output.warnings.extend(
                    warnings
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string),
                );
            }
            match page.get("@odata.nextLink").and_then(Value::as_str) {
                Some(next) if !next.is_empty() => url = next.to_string(),
                _ => return Ok(output),
            }
        }
        Err(Error::permanent(format!(
            "{VENDOR}: {cmdlet} returned more than {MAX_EXO_PAGES} pages; refusing to continue"
        )))
    }
}

/// Quote a string literal for OData `$filter` (single quotes doubled).
pub(crate) fn odata_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_escaped() {
        assert_eq!(odata_literal("O'Neil"), "'O''Neil'");
    }
}
