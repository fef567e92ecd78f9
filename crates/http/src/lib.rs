//! # stackhand-http
//!
//! The HTTP client every stackhand REST connector (Microsoft Graph, Okta, ConnectWise Manage,
//! Autotask, …) is built on, so each connector only writes its models and calls.
//!
//! One [`HttpClient`] talks to one vendor for one tenant and provides:
//!
//! - **Endpoints you can override**: paths join onto a base URL that keeps its path
//!   (`https://graph.microsoft.com/v1.0/`); absolute next-page links are followed only on the
//!   base URL's origin. OAuth token URLs are set per [`ClientCredentials`].
//! - **Auth injection** ([`Auth`]): bearer tokens from a [`TokenSource`] ([`ClientCredentials`]
//!   with a client secret or a `private_key_jwt` assertion, optionally DPoP-bound with a
//!   [`DpopKey`], single-flight cached and refreshed before expiry, or a caller-supplied
//!   [`StaticToken`]); HTTP Basic; static secret headers.
//!   A 401 on a bearer token invalidates it and retries the request once.
//! - **Retries** with `backon`: exponential backoff with jitter on 429, 502, 503, 504 and
//!   connection failures or timeouts, honouring `Retry-After`, only for idempotent methods or
//!   requests marked [`RequestBuilder::retry_safe`]. When retries run out the error's status is
//!   `Exhausted`.
//! - **Rate limits** per (tenant, vendor) ([`RateLimits`]): a `governor` quota, an optional cap
//!   on requests in flight, and a shared [`RateBudget`] that vendor headers ([`RateHeaders`],
//!   e.g. Okta's [`XRateLimitHeaders`]), 429s and connectors themselves can pause, so the client
//!   slows down before a 429.
//! - **One error path** ([`parse_error`]): status to [`ErrorKind`](stackhand_core::ErrorKind),
//!   the vendor's code and message (via an [`ErrorParser`]), request id, `Retry-After`.
//! - **Tracing**: every request runs in an `http.request` span with tenant, vendor, operation,
//!   method, path, status and attempt. Header values are never recorded.
//! - **Redaction** ([`Redactor`]): `Debug` never shows secrets, and vendor text quoted in errors
//!   is scrubbed of known secrets and credential-shaped values. Redirects are followed only
//!   within the origin ([`same_origin_redirects`]), so secret headers never leave their host;
//!   [`encode_segment`] keeps ids taken from tickets from reshaping a path.
//! - **Pagination** ([`Paging`], [`Pager`]): `Link` headers, OData `@odata.nextLink`, a next URL
//!   in the body, numbered pages; a repeating next link is an error, and so is passing the page cap.
//!
//! ## Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use stackhand_core::TenantId;
//! use stackhand_http::{Auth, ClientAuth, ClientCredentials, HttpClient, Paging, Quota, RetryConfig};
//! use secrecy::SecretString;
//! use std::num::NonZeroU32;
//!
//! #[derive(serde::Deserialize)]
//! struct User {
//!     id: String,
//!     #[serde(rename = "userPrincipalName")]
//!     upn: String,
//! }
//!
//! # async fn demo() -> stackhand_core::Result<()> {
//! let tenant = TenantId::new("contoso")?;
//! let http = reqwest::Client::new();
//! let tokens = ClientCredentials::new(
//!     "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token".parse().unwrap(),
//!     "00000000-0000-0000-0000-000000000001",
//!     ClientAuth::ClientSecret(SecretString::from("from-the-vault")),
//! )
//! .scope("https://graph.microsoft.com/.default")
//! .http_client(http.clone());
//!
//! let graph = HttpClient::builder("m365", tenant, "https://graph.microsoft.com/v1.0/".parse().unwrap())
//!     .auth(Auth::bearer(tokens))
//!     .retry(RetryConfig::default())
//!     .rate_limit(Quota::per_second(NonZeroU32::new(50).unwrap()))
//!     .client(http)
//!     .build()?;
//!
//! // One typed call; a 404 comes back as ErrorKind::NotFound with Graph's code and request id.
//! let user: User = graph
//!     .get("users/jane@contoso.com")
//!     .operation("get_user")
//!     .send_json()
//!     .await?;
//!
//! // PATCH is not retried unless marked safe; 204 has no body.
//! graph
//!     .patch(&format!("users/{}", user.id))
//!     .json(&serde_json::json!({ "accountEnabled": false }))
//!     .operation("block_sign_in")
//!     .send_empty()
//!     .await?;
//!
//! // Every page of a collection.
//! let all: Vec<User> = graph.get("users").operation("list_users").collect_pages(Paging::odata()).await?;
//! # let _ = (user.upn, all);
//! # Ok(()) }
//! ```

mod auth;
mod client;
mod dpop;
mod error;
mod paging;
mod rate;
mod redact;
mod settings;

pub use auth::{
    AssertionClaims, Auth, ClientAuth, ClientCredentials, JWT_BEARER_ASSERTION_TYPE, StaticToken,
    TokenSource, client_assertion,
};
pub use client::{
    HttpClient, HttpClientBuilder, RequestBuilder, Response, RetryConfig, default_reqwest_client,
    encode_segment, same_origin_redirects,
};
pub use dpop::{DPOP_PROOF_TYPE, DpopClaims, DpopKey, access_token_hash};
pub use error::{
    ErrorParser, FailedResponse, StandardErrorParser, VendorError, joined_messages,
    kind_for_status, parse_error, request_id, retry_after, str_at,
};
pub use paging::{
    DEFAULT_MAX_PAGES, NextPage, Pager, Paging, link_next, next_url_at, odata_next_link,
};
pub use rate::{RateBudget, RateHeaders, RateLimits, SharedBudget, XRateLimitHeaders};
pub use redact::{REDACTED, Redactor, redact};
pub use settings::{DEFAULT_TIMEOUT_SECS, HttpHost, HttpSettings, check_base_url};

pub use governor::Quota;
pub use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
pub use reqwest::{Method, StatusCode};
pub use url::Url;
