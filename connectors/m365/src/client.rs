//! The typed Graph and Exchange Online client on the shared stackhand-http stack: one
//! [`HttpClient`] per resource (Graph, Exchange), each with its own token, Microsoft's error
//! envelope, retries that honour `Retry-After`, `@odata.nextLink` paging, and the
//! `InvokeCommand` call with its own paging (the next link is re-POSTed with the same body).

use std::num::NonZeroU32;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use stackhand_core::{Error, ErrorKind, Result, TenantId};
use stackhand_http::{
    Auth, ClientAuth, ClientCredentials, HttpClient, Paging, Quota, RequestBuilder, StaticToken,
};

use crate::config::{M365Auth, M365Config};
use crate::error::{MicrosoftErrorParser, vendor_code, with_kind};
use crate::models::{CmdletInput, InvokeCommand};

/// The vendor key in errors, spans and the rate limiter.
pub(crate) const VENDOR: &str = "m365";
/// The Exchange client's key in the rate limiter (Exchange throttles separately from Graph).
const EXCHANGE_VENDOR: &str = "m365-exchange";
/// The most `InvokeCommand` pages followed before giving up.
const MAX_EXO_PAGES: usize = 100;

/// The Graph and Exchange clients of one tenant.
#[derive(Debug, Clone)]
pub struct GraphClient {
    graph: HttpClient,
    exchange: Option<HttpClient>,
    tenant_id: String,
}

/// What a cmdlet returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CmdletOutput {
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
                    Error::invalid(format!("m365: unexpected Exchange result shape: {e}"))
                })
            })
            .collect()
    }
}

fn token_source(
    config: &M365Config,
    client_id: &str,
    client_auth: ClientAuth,
    scope: &str,
    http: &reqwest::Client,
) -> Result<Auth> {
    Ok(Auth::bearer(
        ClientCredentials::new(config.token_url()?, client_id, client_auth)
            .scope(scope)
            .http_client(http.clone()),
    ))
}

impl GraphClient {
    /// Build both clients from a validated configuration, sharing one reqwest client.
    pub fn new(tenant: &TenantId, config: &M365Config, http: reqwest::Client) -> Result<Self> {
        config.validate()?;
        let (graph_auth, exchange_auth) = match &config.auth {
            M365Auth::ClientSecret {
                client_id,
                client_secret,
            } => {
                let secret = || ClientAuth::ClientSecret(client_secret.clone());
                (
                    token_source(config, client_id, secret(), &config.graph_scope, &http)?,
                    Some(token_source(
                        config,
                        client_id,
                        secret(),
                        &config.exchange_scope,
                        &http,
                    )?),
                )
            }
            M365Auth::Certificate {
                client_id,
                private_key_pem,
                thumbprint,
            } => {
                let assertion = || ClientAuth::PrivateKeyJwt {
                    key_pem: private_key_pem.clone(),
                    key_id: None,
                    x5t: Some(thumbprint.clone()),
                };
                (
                    token_source(config, client_id, assertion(), &config.graph_scope, &http)?,
                    Some(token_source(
                        config,
                        client_id,
                        assertion(),
                        &config.exchange_scope,
                        &http,
                    )?),
                )
            }
            M365Auth::Delegated {
                graph_token,
                exchange_token,
            } => (
                Auth::bearer(StaticToken::new(graph_token.clone())),
                exchange_token
                    .as_ref()
                    .map(|token| Auth::bearer(StaticToken::new(token.clone()))),
            ),
        };
        let build = |vendor: &'static str, root, auth| {
            let mut builder = HttpClient::builder(vendor, tenant.clone(), root)
                .auth(auth)
                .retry(config.retry.unwrap_or_default())
                .error_parser(Arc::new(MicrosoftErrorParser))
                .client(http.clone());
            if let Some(rate) = config.requests_per_second.and_then(NonZeroU32::new) {
                builder = builder.rate_limit(Quota::per_second(rate));
            }
            builder.build()
        };
        let graph = build(VENDOR, config.graph_root(), graph_auth)?;
        let exchange = exchange_auth
            .map(|auth| build(EXCHANGE_VENDOR, config.exchange_root(), auth))
            .transpose()?;
        Ok(Self {
            graph,
            exchange,
            tenant_id: config.tenant_id.trim().to_string(),
        })
    }

    /// The Graph client (`v1.0/` root).
    pub fn graph(&self) -> &HttpClient {
        &self.graph
    }

    /// `GET` one Graph entity.
    pub async fn get<T: DeserializeOwned>(
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
    pub async fn list<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<Vec<T>> {
        request.collect_pages(Paging::odata()).await
    }

    /// Run an Exchange cmdlet through `InvokeCommand`, every page. `anchor` routes the call
    /// to the mailbox's server (`X-AnchorMailbox: UPN:<mailbox>`).
    pub async fn invoke(
        &self,
        cmdlet: &str,
        parameters: Map<String, Value>,
        anchor: Option<&str>,
    ) -> Result<CmdletOutput> {
        let exchange = self.exchange.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::Unauthorized,
                "m365: no Exchange Online token is configured (delegated auth without exchange_token)",
            )
        })?;
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
        let read_only = cmdlet.starts_with("Get-");
        let mut url = format!("adminapi/beta/{}/InvokeCommand", self.tenant_id);
        let mut output = CmdletOutput::default();
        for _ in 0..MAX_EXO_PAGES {
            let mut request = exchange
                .post(&url)
                .header("X-AnchorMailbox", &anchor)
                .header("Prefer", "odata.maxpagesize=1000")
                .json(&body)
                .operation(cmdlet.to_string());
            if read_only {
                request = request.retry_safe();
            }
            let page: Value = request.send_json().await.map_err(exchange_error)?;
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
            "m365: {cmdlet} returned more than {MAX_EXO_PAGES} pages; refusing to continue"
        )))
    }
}

/// Exchange reports a missing object with a generic status at times; the exception names it.
fn exchange_error(error: Error) -> Error {
    match vendor_code(&error) {
        Some("ManagementObjectNotFoundException") if error.kind() != ErrorKind::NotFound => {
            with_kind(error, ErrorKind::NotFound)
        }
        _ => error,
    }
}

/// Percent-encode one path segment (a UPN keeps its `@`; `#`, `/`, `?` and spaces are encoded).
pub(crate) fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~@!$&'()*+,;=:".contains(&byte);
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Quote a string literal for OData `$filter` (single quotes doubled).
pub(crate) fn odata_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_literals_are_escaped() {
        assert_eq!(segment("jane@contoso.com"), "jane@contoso.com");
        assert_eq!(
            segment("guest_x.com#EXT#@t.com"),
            "guest_x.com%23EXT%23@t.com"
        );
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
        assert_eq!(odata_literal("O'Neil"), "'O''Neil'");
    }
}
