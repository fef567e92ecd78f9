//! The one path from an HTTP failure to [`stackhand_core::Error`].

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde_json::Value;
use stackhand_core::{Error, ErrorKind, RetryStatus};

use crate::redact::Redactor;

/// Longest excerpt of an unparseable body quoted in an error message.
const SNIPPET_CHARS: usize = 160;

/// Headers that carry a request id in the common, vendor-neutral spellings. Vendors with their
/// own header (Okta's `X-Okta-Request-Id`) read it in their [`ErrorParser`].
const REQUEST_ID_HEADERS: &[&str] = &["request-id", "x-request-id"];

/// A failed response, as an [`ErrorParser`] sees it.
#[derive(Debug, Clone, Copy)]
pub struct FailedResponse<'a> {
    /// The status (never 2xx).
    pub status: StatusCode,
    /// The response headers.
    pub headers: &'a HeaderMap,
    /// The body, as received.
    pub body: &'a [u8],
    /// When it was received (for `Retry-After` dates).
    pub received_at: SystemTime,
}

impl<'a> FailedResponse<'a> {
    /// A response received now.
    pub fn new(status: StatusCode, headers: &'a HeaderMap, body: &'a [u8]) -> Self {
        Self {
            status,
            headers,
            body,
            received_at: SystemTime::now(),
        }
    }

    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(self.body).ok()
    }

    /// A header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
    }
}

/// What a failed response means: everything the resulting error carries, decided by the
/// vendor's [`ErrorParser`] in one place. Nothing re-classifies it afterwards, and the client
/// retries exactly when the result [`is_temporary`](stackhand_core::Error::is_temporary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorError {
    /// The error kind.
    pub kind: ErrorKind,
    /// Whether retrying may help.
    pub retry: RetryStatus,
    /// How long the vendor asked to wait before a retry.
    pub retry_after: Option<Duration>,
    /// The vendor's machine-readable code (`Request_ResourceNotFound`, `E0000007`, `InvalidObject`).
    pub code: Option<String>,
    /// The vendor's human-readable message; `None` when the body is not the vendor's envelope,
    /// and the error then quotes a short redacted snippet of the body instead.
    pub message: Option<String>,
    /// The vendor's request id.
    pub request_id: Option<String>,
}

impl VendorError {
    /// What the status and headers alone say, which every parser starts from: the kind of
    /// [`kind_for_status`] and its default retry status, the `request-id` or `x-request-id`
    /// header, and `Retry-After` on 429, 503 and 504.
    pub fn from_status(response: &FailedResponse<'_>) -> Self {
        let kind = kind_for_status(response.status);
        let retry_after = if matches!(response.status.as_u16(), 429 | 503 | 504) {
            retry_after(response.headers, response.received_at)
        } else {
            None
        };
        Self {
            kind,
            retry: default_retry(kind),
            retry_after,
            code: None,
            message: None,
            request_id: request_id(response.headers),
        }
    }

    /// Another kind, with that kind's default retry status.
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self.retry = default_retry(kind);
        self
    }

    /// The vendor's code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// The vendor's message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// The vendor's request id, unless a header already gave one.
    pub fn with_request_id(mut self, id: Option<impl Into<String>>) -> Self {
        if self.request_id.is_none() {
            self.request_id = id.map(Into::into);
        }
        self
    }
}

fn default_retry(kind: ErrorKind) -> RetryStatus {
    if kind.is_retryable_by_default() {
        RetryStatus::Temporary
    } else {
        RetryStatus::Permanent
    }
}

/// Reads a vendor's failed responses: the one place a connector says what a status, header or
/// error body means.
///
/// Start from [`VendorError::from_status`], read the vendor's envelope, and change the kind where
/// the vendor's code says more than the status (Okta's state conflicts come as 403, Autotask's
/// refusals as 500). Fall back to [`StandardErrorParser`] for bodies that are not the vendor's
/// own (OAuth token endpoints, RFC 9457 problem details).
pub trait ErrorParser: Send + Sync + fmt::Debug {
    /// What the failed response means.
    fn parse(&self, response: &FailedResponse<'_>) -> VendorError;
}

/// The vendor-neutral parser: status and headers as [`VendorError::from_status`] reads them,
/// and the bodies standards define:
///
/// - OAuth 2.0 error responses (RFC 6749 section 5.2): `{"error","error_description"}`;
/// - problem details (RFC 9457): `{"type","title","detail"}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StandardErrorParser;

impl ErrorParser for StandardErrorParser {
    fn parse(&self, response: &FailedResponse<'_>) -> VendorError {
        let parsed = VendorError::from_status(response);
        let Some(value) = response.json() else {
            return parsed;
        };
        if let Some(code) = str_at(&value, "/error") {
            let parsed = parsed.with_code(code);
            return match str_at(&value, "/error_description") {
                Some(description) => parsed.with_message(description),
                None => parsed,
            };
        }
        let title = str_at(&value, "/title");
        let detail = str_at(&value, "/detail");
        let message = match (title, detail) {
            (Some(t), Some(d)) => format!("{t}: {d}"),
            (Some(one), None) | (None, Some(one)) => one.to_owned(),
            (None, None) => return parsed,
        };
        let parsed = parsed.with_message(message);
        match str_at(&value, "/type").filter(|t| *t != "about:blank") {
            Some(kind) => parsed.with_code(kind),
            None => parsed,
        }
    }
}

/// A non-empty string at a JSON pointer.
pub fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The messages of an error array (`errors`, `errorCauses`, `details`), whether its items are
/// strings or objects with a `field` holding the message; `None` when there are none.
pub fn joined_messages(value: &Value, pointer: &str, field: &str) -> Option<String> {
    let items = value.pointer(pointer)?.as_array()?;
    let messages: Vec<&str> = items
        .iter()
        .filter_map(|item| item.as_str().or_else(|| item.get(field)?.as_str()))
        .filter(|s| !s.is_empty())
        .collect();
    (!messages.is_empty()).then(|| messages.join("; "))
}

/// Where a failure happened, for the error's context pairs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FailureContext<'a> {
    pub vendor: &'a str,
    pub tenant: &'a str,
    pub operation: &'a str,
}

/// Map a failed HTTP response to the core error type, through `parser`.
///
/// [`VendorError::from_status`] (which every parser starts from) maps:
///
/// | Status | Kind |
/// |---|---|
/// | 400, 422 | `Invalid` |
/// | 401 | `Unauthorized` |
/// | 403 | `Forbidden` |
/// | 404, 410 | `NotFound` |
/// | 409, 412 | `Conflict` |
/// | 429 | `RateLimited`, with `Retry-After` when the vendor sent one |
/// | 5xx | `Transient` (503 and 504 also carry `Retry-After`) |
/// | anything else | `Permanent` |
///
/// Context pairs: `http_status`, `vendor_code` (when the parser found one) and `request_id`.
/// The message quotes the vendor's message, or a short redacted snippet of a body that is not
/// the vendor's envelope. [`HttpClient`](crate::HttpClient) adds `vendor`, `tenant` and
/// `operation` before these.
///
/// ```
/// use stackhand_http::{parse_error, StandardErrorParser, StatusCode, HeaderMap};
/// use stackhand_core::ErrorKind;
///
/// let body = br#"{"error":"invalid_client","error_description":"Client authentication failed."}"#;
/// let err = parse_error(StatusCode::UNAUTHORIZED, &HeaderMap::new(), body, &StandardErrorParser);
/// assert_eq!(err.kind(), ErrorKind::Unauthorized);
/// assert_eq!(err.context_value("vendor_code"), Some("invalid_client"));
/// ```
pub fn parse_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    parser: &dyn ErrorParser,
) -> Error {
    build_error(
        &FailedResponse::new(status, headers, body),
        parser,
        &Redactor::new(),
        None,
    )
}

pub(crate) fn build_error(
    response: &FailedResponse<'_>,
    parser: &dyn ErrorParser,
    redactor: &Redactor,
    context: Option<FailureContext<'_>>,
) -> Error {
    let parsed = parser.parse(response);
    let what = match context {
        Some(c) => format!("{} {}", c.vendor, c.operation),
        None => "request".to_owned(),
    };
    let detail = match &parsed.message {
        Some(m) if !m.is_empty() => truncate_chars(&redactor.redact(m), MESSAGE_CHARS),
        Some(_) => "no message in the error body".to_owned(),
        None => describe_body(response.body, redactor),
    };
    let status = response.status.as_u16();
    let mut err = Error::new(
        parsed.kind,
        format!("{what} failed with HTTP {status}: {detail}"),
    );
    err = match parsed.retry {
        RetryStatus::Temporary => err.temporary(),
        RetryStatus::Permanent => err.set_permanent(),
        RetryStatus::Exhausted => err.exhausted(),
    };
    if let Some(c) = context {
        err = err
            .with_context("vendor", c.vendor)
            .with_context("tenant", c.tenant)
            .with_context("operation", c.operation);
    }
    err = err.with_context("http_status", status.to_string());
    if let Some(code) = &parsed.code {
        err = err.with_context("vendor_code", redactor.redact(code));
    }
    if let Some(id) = parsed.request_id {
        err = err.with_context("request_id", id);
    }
    if let Some(after) = parsed.retry_after {
        err = err.with_retry_after(after);
    }
    err
}

/// A copy of an error (the core error is not `Clone`); the source is dropped.
pub(crate) fn copy_error(error: &Error) -> Error {
    let mut copy = Error::new(error.kind(), error.message());
    if let Some(after) = error.retry_after() {
        copy = copy.with_retry_after(after);
    }
    for (key, value) in error.context() {
        copy = copy.with_context(key, value.clone());
    }
    copy
}

/// The error kind for a non-success status.
pub fn kind_for_status(status: StatusCode) -> ErrorKind {
    match status.as_u16() {
        400 | 422 => ErrorKind::Invalid,
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Forbidden,
        404 | 410 => ErrorKind::NotFound,
        409 | 412 => ErrorKind::Conflict,
        429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::Transient,
        _ => ErrorKind::Permanent,
    }
}

/// A request id from the `request-id` or `x-request-id` header, if any.
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    REQUEST_ID_HEADERS.iter().find_map(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    })
}

/// `Retry-After` as a delay from `now`: either delta-seconds or an HTTP-date.
/// A date in the past gives zero.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>()
        && seconds.is_finite()
        && seconds >= 0.0
    {
        return Some(Duration::from_secs_f64(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::from(date);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// How much of a body is examined for a snippet: bounded so a huge HTML page costs little, and
/// far more than the snippet, so a secret cut at this boundary is never in the snippet.
const SCAN_BYTES: usize = 4096;

/// Longest vendor message quoted in an error.
const MESSAGE_CHARS: usize = 600;

fn truncate_chars(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

fn describe_body(body: &[u8], redactor: &Redactor) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(SCAN_BYTES)]);
    let collapsed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return "empty response body".to_owned();
    }
    let snippet = truncate_chars(&redactor.redact(&collapsed), SNIPPET_CHARS);
    let shape = if collapsed.starts_with('<') {
        "an HTML/XML body"
    } else if serde_json::from_slice::<Value>(body).is_ok() {
        "an unrecognised JSON body"
    } else {
        "a body that is not JSON"
    };
    format!("{shape}: {snippet}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(
            retry_after(&h, SystemTime::now()),
            Some(Duration::from_secs(3))
        );
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        let now =
            SystemTime::from(chrono::DateTime::parse_from_rfc3339("2015-10-21T07:27:50Z").unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(10)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
    }

    #[test]
    fn standard_bodies_are_read_and_vendor_envelopes_are_not() {
        let headers = HeaderMap::new();
        let oauth = br#"{"error":"invalid_client","error_description":"bad secret"}"#;
        let parsed = StandardErrorParser.parse(&FailedResponse::new(
            StatusCode::UNAUTHORIZED,
            &headers,
            oauth,
        ));
        assert_eq!(parsed.kind, ErrorKind::Unauthorized);
        assert_eq!(parsed.code.as_deref(), Some("invalid_client"));
        assert_eq!(parsed.message.as_deref(), Some("bad secret"));

        let problem = br#"{"type":"https://example.com/out-of-credit","title":"Out of credit","detail":"Balance 30"}"#;
        let parsed = StandardErrorParser.parse(&FailedResponse::new(
            StatusCode::FORBIDDEN,
            &headers,
            problem,
        ));
        assert_eq!(parsed.message.as_deref(), Some("Out of credit: Balance 30"));
        assert_eq!(
            parsed.code.as_deref(),
            Some("https://example.com/out-of-credit")
        );

        // A vendor's own envelope is the vendor parser's business.
        let graph = br#"{"error":{"code":"Request_ResourceNotFound","message":"gone"}}"#;
        let parsed =
            StandardErrorParser.parse(&FailedResponse::new(StatusCode::NOT_FOUND, &headers, graph));
        assert_eq!(parsed.kind, ErrorKind::NotFound);
        assert_eq!(parsed.message, None);
    }

    #[test]
    fn the_parser_decides_kind_and_retry() {
        #[derive(Debug)]
        struct RefusalsAreInvalid;
        impl ErrorParser for RefusalsAreInvalid {
            fn parse(&self, response: &FailedResponse<'_>) -> VendorError {
                VendorError::from_status(response)
                    .with_kind(ErrorKind::Invalid)
                    .with_message("refused")
            }
        }
        let err = parse_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &HeaderMap::new(),
            b"{}",
            &RefusalsAreInvalid,
        );
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert!(!err.is_temporary());
        assert_eq!(err.context_value("http_status"), Some("500"));
    }
}
