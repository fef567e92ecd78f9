//! Echo's [`ErrorParser`]: the one place a failed response is read.

use stackhand_core::ErrorKind;
use stackhand_http::{ErrorParser, FailedResponse, StandardErrorParser, VendorError};

use crate::models::{ErrorBody, TAG_LIMIT};

/// Reads `{"code": "<machine code>", "detail": "<text>"}` on top of what the status says
/// ([`VendorError::from_status`]: kind, `Retry-After` on 429 and 503, standard request-id
/// headers). A `400` with code `tag_limit` is a [`Conflict`](ErrorKind::Conflict): the device
/// already has the maximum number of tags, so the request was well-formed but the device's
/// state refuses it. Bodies that are not Echo's envelope go to [`StandardErrorParser`].
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoErrorParser;

impl ErrorParser for EchoErrorParser {
    fn parse(&self, response: &FailedResponse<'_>) -> VendorError {
        let Some(body) = response
            .json()
            .and_then(|value| serde_json::from_value::<ErrorBody>(value).ok())
            .filter(|body| !body.code.is_empty())
        else {
            return StandardErrorParser.parse(response);
        };
        let mut parsed = VendorError::from_status(response);
        if response.status.as_u16() == 400 && body.code == TAG_LIMIT {
            parsed = parsed.with_kind(ErrorKind::Conflict);
        }
        let parsed = parsed.with_code(body.code);
        if body.detail.is_empty() {
            parsed
        } else {
            parsed.with_message(body.detail)
        }
    }
}

#[cfg(test)]
mod tests {
    use stackhand_core::RetryStatus;
    use stackhand_http::{HeaderMap, HeaderValue, StatusCode, parse_error};

    use super::*;

    fn parse(status: u16, body: &str, headers: &HeaderMap) -> stackhand_core::Error {
        parse_error(
            StatusCode::from_u16(status).unwrap(),
            headers,
            body.as_bytes(),
            &EchoErrorParser,
        )
    }

    #[test]
    fn tag_limit_is_a_conflict_and_other_400s_are_invalid() {
        let none = HeaderMap::new();
        let full = parse(
            400,
            r#"{"code":"tag_limit","detail":"d1 has 10 tags"}"#,
            &none,
        );
        assert_eq!(full.kind(), ErrorKind::Conflict);
        assert_eq!(full.status(), RetryStatus::Permanent);
        assert_eq!(full.context_value("vendor_code"), Some("tag_limit"));
        assert!(full.message().contains("d1 has 10 tags"), "{full}");

        let bad = parse(400, r#"{"code":"bad_tag","detail":"no"}"#, &none);
        assert_eq!(bad.kind(), ErrorKind::Invalid);
        // The code means a full device only on a 400.
        let other = parse(403, r#"{"code":"tag_limit","detail":"no"}"#, &none);
        assert_eq!(other.kind(), ErrorKind::Forbidden);
    }

    #[test]
    fn statuses_retry_after_and_foreign_bodies() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        let throttled = parse(429, r#"{"code":"slow_down","detail":"later"}"#, &headers);
        assert_eq!(throttled.kind(), ErrorKind::RateLimited);
        assert!(throttled.is_temporary());
        assert_eq!(
            throttled.retry_after(),
            Some(std::time::Duration::from_secs(7))
        );
        let missing = parse(
            404,
            r#"{"code":"not_found","detail":"no d9"}"#,
            &HeaderMap::new(),
        );
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        let proxy = parse(503, "<html>down</html>", &HeaderMap::new());
        assert_eq!(proxy.kind(), ErrorKind::Transient);
        assert!(proxy.message().contains("HTML"), "{proxy}");
    }
}
