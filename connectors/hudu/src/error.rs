//! Hudu's [`ErrorParser`]: the one place a failed response is read, and [`null_body`], the
//! "not found" of a `200` whose body is `null`.

use serde_json::Value;
use stackhand_core::{Error, ErrorKind};
use stackhand_http::{ErrorParser, FailedResponse, StandardErrorParser, VendorError};

use crate::VENDOR;

/// Hudu's text when it throttles, in some versions even without a `429` (hudu.md, HuduAPI's
/// `Invoke-HuduRequest.ps1`).
const RETRY_LATER: &str = "retry later";

/// Reads Hudu's failed responses on top of what the status says ([`VendorError::from_status`]:
/// 401 unauthorized, 404 not found, 422 "Unable to process request" invalid, 429 rate limited
/// with `Retry-After` when Hudu sends one).
///
/// The swagger does not specify the body, so it is read defensively: `{"error": "<text>"}`,
/// `{"errors": {"<field>": ["<text>", ...]}}` or `{"errors": ["<text>", ...]}`, and
/// `{"message": "<text>"}`. A body saying "Retry later" is
/// [`RateLimited`](ErrorKind::RateLimited) whatever the status. Anything else goes to
/// [`StandardErrorParser`].
#[derive(Debug, Clone, Copy, Default)]
pub struct HuduErrorParser;

impl ErrorParser for HuduErrorParser {
    fn parse(&self, response: &FailedResponse<'_>) -> VendorError {
        let text = String::from_utf8_lossy(response.body);
        let throttled =
            text.to_lowercase().contains(RETRY_LATER) && response.status.as_u16() != 429;
        let message = response.json().as_ref().and_then(message_of);
        let parsed = match message {
            Some(message) => VendorError::from_status(response).with_message(message),
            None if throttled => VendorError::from_status(response),
            None => return StandardErrorParser.parse(response),
        };
        if throttled {
            parsed.with_kind(ErrorKind::RateLimited)
        } else {
            parsed
        }
    }
}

/// The message of one of Hudu's error bodies, if the body is one.
fn message_of(body: &Value) -> Option<String> {
    if let Some(text) = body.get("error").and_then(Value::as_str) {
        return Some(text.to_owned());
    }
    if let Some(errors) = body.get("errors") {
        let mut parts = Vec::new();
        match errors {
            Value::Object(fields) => {
                for (field, messages) in fields {
                    match messages {
                        Value::Array(list) => parts.extend(
                            list.iter()
                                .filter_map(Value::as_str)
                                .map(|m| format!("{field} {m}")),
                        ),
                        Value::String(m) => parts.push(format!("{field} {m}")),
                        _ => {}
                    }
                }
            }
            Value::Array(list) => {
                parts.extend(list.iter().filter_map(Value::as_str).map(str::to_owned))
            }
            Value::String(m) => parts.push(m.clone()),
            _ => {}
        }
        if !parts.is_empty() {
            return Some(parts.join("; "));
        }
    }
    body.get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The error for a `200` with a `null` body: community testing reports that some
/// `GET /…/{id}` endpoints (articles, asset layouts, asset passwords, folders, websites) answer
/// so for a missing id instead of `404` (hudu.md, "Error body"). It is
/// [`NotFound`](ErrorKind::NotFound).
pub fn null_body(what: &str) -> Error {
    Error::not_found(format!(
        "{VENDOR}: {what}: Hudu answered with a null body, its way of saying the record does not exist"
    ))
    .with_context("vendor", VENDOR)
}

#[cfg(test)]
mod tests {
    use stackhand_core::RetryStatus;
    use stackhand_http::{HeaderMap, HeaderValue, StatusCode, parse_error};

    use super::*;

    fn parse(status: u16, body: &str, headers: &HeaderMap) -> Error {
        parse_error(
            StatusCode::from_u16(status).unwrap(),
            headers,
            body.as_bytes(),
            &HuduErrorParser,
        )
    }

    #[test]
    fn envelopes_and_statuses() {
        let none = HeaderMap::new();
        let bad_key = parse(401, r#"{"error":"Invalid API key"}"#, &none);
        assert_eq!(bad_key.kind(), ErrorKind::Unauthorized);
        assert!(bad_key.message().contains("Invalid API key"), "{bad_key}");

        let invalid = parse(
            422,
            r#"{"errors":{"name":["can't be blank"],"asset_layout_id":["is invalid"]}}"#,
            &none,
        );
        assert_eq!(invalid.kind(), ErrorKind::Invalid);
        assert_eq!(invalid.status(), RetryStatus::Permanent);
        assert!(
            invalid.message().contains("name can't be blank"),
            "{invalid}"
        );
        assert!(
            invalid.message().contains("asset_layout_id is invalid"),
            "{invalid}"
        );

        let listed = parse(422, r#"{"errors":["Unable to process request"]}"#, &none);
        assert!(
            listed.message().contains("Unable to process request"),
            "{listed}"
        );

        let missing = parse(404, r#"{"error":"Record not found"}"#, &none);
        assert_eq!(missing.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn throttling_with_and_without_429() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        let throttled = parse(429, r#"{"error":"Retry later"}"#, &headers);
        assert_eq!(throttled.kind(), ErrorKind::RateLimited);
        assert_eq!(
            throttled.retry_after(),
            Some(std::time::Duration::from_secs(7))
        );
        let text = parse(500, "Retry later", &HeaderMap::new());
        assert_eq!(text.kind(), ErrorKind::RateLimited);
        assert!(text.is_temporary());
        let proxy = parse(503, "<html>down</html>", &HeaderMap::new());
        assert_eq!(proxy.kind(), ErrorKind::Transient);
    }

    #[test]
    fn null_is_not_found() {
        assert_eq!(null_body("get_article").kind(), ErrorKind::NotFound);
    }
}
