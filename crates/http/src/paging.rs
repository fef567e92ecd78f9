//! Pagination: next-page extraction for each vendor shape, and a pager that follows one to the end.

use std::collections::HashSet;

use reqwest::header::{HeaderMap, LINK};
use serde::de::DeserializeOwned;
use serde_json::Value;
use stackhand_core::{Error, Result};

use crate::client::{RequestBuilder, Response};

/// Default cap on the number of pages one pager fetches.
pub const DEFAULT_MAX_PAGES: usize = 1000;

/// The `rel="next"` target of RFC 8288 `Link` headers (Okta; ConnectWise forward-only paging).
///
/// ```
/// use stackhand_http::{link_next, HeaderMap};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("link", r#"<https://x.okta.com/api/v1/users?limit=200>; rel="self", <https://x.okta.com/api/v1/users?after=00ub&limit=200>; rel="next""#.parse().unwrap());
/// assert_eq!(link_next(&headers).as_deref(), Some("https://x.okta.com/api/v1/users?after=00ub&limit=200"));
/// ```
pub fn link_next(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|value| parse_links(value).find(|(_, rels)| rels.iter().any(|r| r == "next")))
        .map(|(target, _)| target)
}

/// Each `<target>; params` link of one header value, with its (lowercased) relation types.
fn parse_links(value: &str) -> impl Iterator<Item = (String, Vec<String>)> + '_ {
    let mut rest = value;
    std::iter::from_fn(move || {
        let start = rest.find('<')?;
        let end = start + rest[start..].find('>')?;
        let target = rest[start + 1..end].trim().to_owned();
        let after = &rest[end + 1..];
        // Parameters run to the next comma outside quotes.
        let mut in_quotes = false;
        let params_end = after
            .char_indices()
            .find(|(_, c)| {
                if *c == '"' {
                    in_quotes = !in_quotes;
                }
                *c == ',' && !in_quotes
            })
            .map_or(after.len(), |(n, _)| n);
        let params = &after[..params_end];
        rest = &after[params_end..];
        let rels = params
            .split(';')
            .filter_map(|p| {
                let (name, value) = p.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("rel")
                    .then(|| value.trim().trim_matches('"').to_ascii_lowercase())
            })
            .flat_map(|v| v.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        Some((target, rels))
    })
}

/// `@odata.nextLink` of a Microsoft Graph collection page.
pub fn odata_next_link(body: &Value) -> Option<&str> {
    next_url_at(body, "/@odata.nextLink")
}

/// A next-page URL at a JSON pointer (Autotask: `/pageDetails/nextPageUrl`); null or empty means
/// the last page.
pub fn next_url_at<'a>(body: &'a Value, pointer: &str) -> Option<&'a str> {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// How a vendor says where the next page is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextPage {
    /// RFC 8288 `Link: <…>; rel="next"` (Okta, ConnectWise forward-only).
    LinkHeader,
    /// `@odata.nextLink` in the body (Microsoft Graph, Exchange admin API).
    ODataNextLink,
    /// A URL at a JSON pointer in the body (Autotask `/pageDetails/nextPageUrl`).
    UrlAt(String),
    /// Numbered pages: set `page_param` from `first_page` upward and `size_param` to
    /// `page_size`; a page with fewer than `page_size` items is the last (ConnectWise `page`,
    /// `pageSize`).
    PageNumber {
        /// The page number parameter (`page`).
        page_param: String,
        /// The page size parameter (`pageSize`).
        size_param: String,
        /// Items per page.
        page_size: u32,
        /// The number of the first page (1 for ConnectWise).
        first_page: u32,
    },
}

/// A paging strategy, where the items are in each page, and a page cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging {
    next: NextPage,
    items_at: String,
    max_pages: usize,
}

impl Paging {
    /// Page with `next`, reading each page's items at the JSON pointer `items_at` (`"/value"`,
    /// `"/items"`, or `""` for a top-level array).
    pub fn new(next: NextPage, items_at: impl Into<String>) -> Self {
        Self {
            next,
            items_at: items_at.into(),
            max_pages: DEFAULT_MAX_PAGES,
        }
    }

    /// Microsoft Graph: items in `/value`, next page in `@odata.nextLink`.
    pub fn odata() -> Self {
        Self::new(NextPage::ODataNextLink, "/value")
    }

    /// RFC 8288 `Link` header, items at `items_at` (Okta: a top-level array, `""`).
    pub fn link_header(items_at: impl Into<String>) -> Self {
        Self::new(NextPage::LinkHeader, items_at)
    }

    /// ConnectWise-style numbered pages (`page` from 1, `pageSize`), items a top-level array.
    pub fn page_numbers(page_size: u32) -> Self {
        Self::new(
            NextPage::PageNumber {
                page_param: "page".to_owned(),
                size_param: "pageSize".to_owned(),
                page_size,
                first_page: 1,
            },
            "",
        )
    }

    /// Fail (rather than truncate silently) after this many pages (default 1000).
    pub fn max_pages(mut self, max_pages: usize) -> Self {
        self.max_pages = max_pages;
        self
    }
}

/// Follows a paging strategy one page at a time.
///
/// ```no_run
/// # async fn demo(client: stackhand_http::HttpClient) -> stackhand_core::Result<()> {
/// use stackhand_http::Paging;
///
/// #[derive(serde::Deserialize)]
/// struct User { id: String }
///
/// let users: Vec<User> = client
///     .get("users")
///     .query(&[("$select", "id")])
///     .operation("list_users")
///     .collect_pages(Paging::odata())
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Pager {
    first: RequestBuilder,
    paging: Paging,
    next: Option<RequestBuilder>,
    page_number: u32,
    pages: usize,
    seen: HashSet<String>,
}

impl Pager {
    /// A pager starting with `first`.
    pub fn new(first: RequestBuilder, paging: Paging) -> Self {
        let mut pager = Self {
            next: None,
            page_number: 0,
            pages: 0,
            seen: HashSet::new(),
            first,
            paging,
        };
        pager.next = Some(match &pager.paging.next {
            NextPage::PageNumber { first_page, .. } => {
                pager.page_number = *first_page;
                pager.numbered(*first_page)
            }
            _ => pager.first.clone(),
        });
        pager
    }

    fn numbered(&self, page: u32) -> RequestBuilder {
        match &self.paging.next {
            NextPage::PageNumber {
                page_param,
                size_param,
                page_size,
                ..
            } => self
                .first
                .clone()
                .set_query_param(page_param, &page.to_string())
                .set_query_param(size_param, &page_size.to_string()),
            _ => self.first.clone(),
        }
    }

    /// The next page's response and its items (as JSON values), or `None` after the last page.
    pub async fn next_page(&mut self) -> Result<Option<(Response, Vec<Value>)>> {
        let Some(request) = self.next.take() else {
            return Ok(None);
        };
        if self.pages >= self.paging.max_pages {
            return Err(self.error(format!(
                "more than {} pages; refusing to continue",
                self.paging.max_pages
            )));
        }
        if let Some(url) = request.url() {
            self.seen.insert(url.as_str().to_owned());
        }
        let response = request.send().await?;
        self.pages += 1;
        let body: Value = if response.body().is_empty() {
            Value::Null
        } else {
            response.json()?
        };
        let items = match body.pointer(&self.paging.items_at) {
            Some(Value::Array(items)) => items.clone(),
            Some(Value::Null) | None if self.paging.items_at.is_empty() || body.is_null() => {
                Vec::new()
            }
            _ => {
                return Err(self.error(format!(
                    "page {} has no item array at {:?}",
                    self.pages, self.paging.items_at
                )));
            }
        };
        let next_url = match &self.paging.next {
            NextPage::LinkHeader => link_next(response.headers()),
            NextPage::ODataNextLink => odata_next_link(&body).map(str::to_owned),
            NextPage::UrlAt(pointer) => next_url_at(&body, pointer).map(str::to_owned),
            NextPage::PageNumber { page_size, .. } => {
                if items.len() >= *page_size as usize && *page_size > 0 {
                    self.page_number += 1;
                    self.next = Some(self.numbered(self.page_number));
                }
                None
            }
        };
        if let Some(next_url) = next_url {
            let next = self.first.follow(&next_url);
            let key = next
                .url()
                .map_or_else(|| next_url.clone(), |u| u.as_str().to_owned());
            if self.seen.contains(&key) {
                return Err(self.error(format!(
                    "the next-page link repeats a page already fetched ({})",
                    next.url().map_or("", |u| u.path())
                )));
            }
            self.next = Some(next);
        }
        Ok(Some((response, items)))
    }

    /// Fetch every remaining page and decode all items.
    pub async fn collect<T: DeserializeOwned>(mut self) -> Result<Vec<T>> {
        let mut all = Vec::new();
        while let Some((response, items)) = self.next_page().await? {
            for item in items {
                let decoded = serde_json::from_value(item).map_err(|e| {
                    Error::invalid(format!(
                        "{} {}: could not parse a page item as {}: {}",
                        self.first.client().vendor(),
                        response.operation(),
                        std::any::type_name::<T>(),
                        crate::redact::redact(&e.to_string())
                    ))
                })?;
                all.push(decoded);
            }
        }
        Ok(all)
    }

    fn error(&self, problem: String) -> Error {
        let client = self.first.client();
        let operation = self.first.operation_name();
        Error::permanent(format!(
            "{} {operation} paging failed: {problem}",
            client.vendor()
        ))
        .with_context("vendor", client.vendor())
        .with_context("tenant", client.tenant().as_str())
        .with_context("operation", operation.to_owned())
    }
}

impl RequestBuilder {
    /// A pager that starts with this request.
    pub fn pages(self, paging: Paging) -> Pager {
        Pager::new(self, paging)
    }

    /// Follow `paging` to the last page and decode every item.
    pub async fn collect_pages<T: DeserializeOwned>(self, paging: Paging) -> Result<Vec<T>> {
        Pager::new(self, paging).collect().await
    }
}
