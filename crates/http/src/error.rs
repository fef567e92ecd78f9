//! The one path from an HTTP failure to [`stackhand_core::Error`].

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde_json::Value;
use stackhand_core::{Error, ErrorKind};

use crate::redact::Redactor;

/// Longest excerpt of an unparseable body quoted in an error message.
const SNIPPET_CHARS: usize = 160;

/// Headers that carry a vendor's request id, in order of preference.
const REQUEST_ID_HEADERS: &[&str] = &[
    "request-id",
    "x-request-id",
    "client-request-id",
    "x-okta-request-id",
    "x-ms-request-id",
];

/// A vendor's error envelope, reduced to what the error type carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VendorError {
    /// The vendor's machine-readable code (`Request_ResourceNotFound`, `E0000007`, `InvalidObject`).
    pub code: Option<String>,
    /// The vendor's human-readable message.
    pub message: String,
    /// A request id found in the body (Graph's `innerError.request-id`), if the headers had none.
    pub request_id: Option<String>,
}

/// Reads a vendor's error envelope out of a failed response's body.
///
/// Return `None` when the body is not this vendor's envelope; [`parse_error`] then describes the
/// body itself (a short redacted snippet), so garbage and HTML still give a clear error.
pub trait ErrorParser: Send + Sync + fmt::Debug {
    /// Parse the envelope of a failed response.
    fn parse(&self, status: StatusCode, body: &[u8]) -> Option<VendorError>;
}

/// The default parser: understands the common JSON error envelopes of the supported vendors.
///
/// - Microsoft Graph: `{"error":{"code","message","innerError":{"request-id"}}}`
/// - Okta: `{"errorCode","errorSummary","errorCauses":[{"errorSummary"}]}`
/// - ConnectWise: `{"code","message","errors":[{"message"}]}`
/// - Autotask: `{"errors":["…"]}`
/// - OAuth 2.0 token endpoints: `{"error","error_description"}`
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonErrorParser;

impl ErrorParser for JsonErrorParser {
    fn parse(&self, _status: StatusCode, body: &[u8]) -> Option<VendorError> {
        let value: Value = serde_json::from_slice(body).ok()?;
        parse_known_envelope(&value)
    }
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The messages of an `errors`/`errorCauses` array, whether strings or objects.
fn joined_messages(value: &Value, pointer: &str, field: &str) -> Option<String> {
    let items = value.pointer(pointer)?.as_array()?;
    let messages: Vec<&str> = items
        .iter()
        .filter_map(|item| item.as_str().or_else(|| item.get(field)?.as_str()))
        .filter(|s| !s.is_empty())
        .collect();
    (!messages.is_empty()).then(|| messages.join("; "))
}

fn parse_known_envelope(value: &Value) -> Option<VendorError> {
    // Graph and Exchange: error is an object.
    if value.get("error").is_some_and(Value::is_object) {
        let message = str_at(value, "/error/message")
            .map(str::to_owned)
            .or_else(|| joined_messages(value, "/error/details", "message"))
            .unwrap_or_default();
        return Some(VendorError {
            code: str_at(value, "/error/code").map(str::to_owned),
            message,
            request_id: str_at(value, "/error/innerError/request-id").map(str::to_owned),
        });
    }
    // Okta.
    if let Some(code) = str_at(value, "/errorCode") {
        let mut message = str_at(value, "/errorSummary")
            .unwrap_or_default()
            .to_owned();
        if let Some(causes) = joined_messages(value, "/errorCauses", "errorSummary") {
            message = format!("{message} ({causes})");
        }
        return Some(VendorError {
            code: Some(code.to_owned()),
            message,
            request_id: str_at(value, "/errorId").map(str::to_owned),
        });
    }
    // OAuth 2.0 token endpoint.
    if let Some(code) = str_at(value, "/error") {
        return Some(VendorError {
            code: Some(code.to_owned()),
            message: str_at(value, "/error_description")
                .unwrap_or_default()
                .to_owned(),
            request_id: None,
        });
    }
    // ConnectWise (code + message, optional field errors) and Autotask (errors: [string]).
    let message = str_at(value, "/message").map(str::to_owned);
    let details = joined_messages(value, "/errors", "message");
    let message = match (message, details) {
        (Some(m), Some(d)) => format!("{m} ({d})"),
        (Some(m), None) => m,
        (None, Some(d)) => d,
        (None, None) => return None,
    };
    Some(VendorError {
        code: str_at(value, "/code").map(str::to_owned),
        message,
        request_id: None,
    })
}

/// Where a failure happened, for the error's context pairs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FailureContext<'a> {
    pub vendor: &'a str,
    pub tenant: &'a str,
    pub operation: &'a str,
}

/// Map a failed HTTP response to the core error type.
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
/// Context pairs: `http_status`, `vendor_code` (when the envelope had one) and `request_id`
/// (from `request-id`, `x-request-id`, `client-request-id`, `X-Okta-Request-Id`, or the body).
/// The message quotes the vendor's message, or a short redacted snippet of a body that is not
/// the vendor's envelope. [`HttpClient`](crate::HttpClient) adds `vendor`, `tenant` and
/// `operation` before these.
///
/// ```
/// use stackhand_http::{parse_error, JsonErrorParser, StatusCode, HeaderMap};
/// use stackhand_core::ErrorKind;
///
/// let body = br#"{"errorCode":"E0000007","errorSummary":"Not found: Resource not found: x (User)"}"#;
/// let err = parse_error(StatusCode::NOT_FOUND, &HeaderMap::new(), body, &JsonErrorParser);
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// assert_eq!(err.context_value("vendor_code"), Some("E0000007"));
/// ```
pub fn parse_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    parser: &dyn ErrorParser,
) -> Error {
    build_error(status, headers, body, parser, &Redactor::new(), None)
}

pub(crate) fn build_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    parser: &dyn ErrorParser,
    redactor: &Redactor,
    context: Option<FailureContext<'_>>,
) -> Error {
    let kind = kind_for_status(status);
    let parsed = parser.parse(status, body);
    let what = match context {
        Some(c) => format!("{} {}", c.vendor, c.operation),
        None => "request".to_owned(),
    };
    let detail = match &parsed {
        Some(v) if !v.message.is_empty() => {
            truncate_chars(&redactor.redact(&v.message), MESSAGE_CHARS)
        }
        Some(_) => "no message in the error body".to_owned(),
        None => describe_body(body, redactor),
    };
    let message = format!("{what} failed with HTTP {}: {detail}", status.as_u16());
    let mut err = Error::new(kind, message);
    if let Some(c) = context {
        err = err
            .with_context("vendor", c.vendor)
            .with_context("tenant", c.tenant)
            .with_context("operation", c.operation);
    }
    err = err.with_context("http_status", status.as_u16().to_string());
    if let Some(code) = parsed.as_ref().and_then(|v| v.code.as_deref()) {
        err = err.with_context("vendor_code", redactor.redact(code));
    }
    let request_id =
        request_id(headers).or_else(|| parsed.as_ref().and_then(|v| v.request_id.clone()));
    if let Some(id) = request_id {
        err = err.with_context("request_id", id);
    }
    if matches!(status.as_u16(), 429 | 503 | 504)
        && let Some(after) = retry_after(headers, SystemTime::now())
    {
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

/// The vendor's request id from the response headers, if any.
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
    fn parses_each_vendor_envelope() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            (
                r#"{"error":{"code":"Request_ResourceNotFound","message":"Resource 'x' does not exist","innerError":{"request-id":"r1"}}}"#,
                Some("Request_ResourceNotFound"),
                "Resource 'x' does not exist",
            ),
            (
                r#"{"errorCode":"E0000001","errorSummary":"Api validation failed: login","errorCauses":[{"errorSummary":"login: already exists"}]}"#,
                Some("E0000001"),
                "Api validation failed: login (login: already exists)",
            ),
            (
                r#"{"code":"InvalidObject","message":"ticket object is invalid","errors":[{"code":"InvalidField","message":"summary is required","resource":"ticket","field":"summary"}]}"#,
                Some("InvalidObject"),
                "ticket object is invalid (summary is required)",
            ),
            (
                r#"{"errors":["Ticket 9 not found","second"]}"#,
                None,
                "Ticket 9 not found; second",
            ),
            (
                r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#,
                Some("invalid_client"),
                "AADSTS7000215: Invalid client secret provided.",
            ),
        ];
        for (body, code, message) in cases {
            let parsed = JsonErrorParser
                .parse(StatusCode::BAD_REQUEST, body.as_bytes())
                .unwrap_or_else(|| panic!("no envelope in {body}"));
            assert_eq!(parsed.code.as_deref(), *code, "{body}");
            assert_eq!(parsed.message, *message, "{body}");
        }
        assert!(
            JsonErrorParser
                .parse(StatusCode::BAD_REQUEST, b"[1,2]")
                .is_none()
        );
    }
}
