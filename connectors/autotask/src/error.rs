//! Autotask's failed responses: the one place they are read.
//!
//! Autotask answers `{"errors":["…", …]}` with 400, 401, 403, 404 or 500, and ASP.NET's own
//! `{"Message":"…"}` for unknown routes, unsupported methods and unhandled failures. It has no
//! error codes and documents no request-id header. It reports business-rule refusals (a missing
//! required field, an invalid picklist value, a workflow rule) as HTTP 500 with the `errors`
//! envelope: those are the API refusing the request, so [`AutotaskErrorParser`] makes them
//! [`ErrorKind::Invalid`](stackhand_core::ErrorKind::Invalid) and permanent, and nobody retries
//! a request the API will refuse again. A 500 without the envelope (ASP.NET's "An error has
//! occurred.", an HTML page) stays `Transient` and is retried like any temporary failure.

use serde_json::Value;
use stackhand_core::ErrorKind;
use stackhand_http::{
    ErrorParser, FailedResponse, StandardErrorParser, StatusCode, VendorError, joined_messages,
    str_at,
};

/// The `vendor_code` given to a refusal in Autotask's `errors` envelope (Autotask itself has
/// no codes).
pub const REJECTED: &str = "rejected";

/// Reads `{"errors":[…]}` (a 500 carrying it is a refusal: `Invalid`, not temporary) and
/// ASP.NET's `{"Message":…}`; other bodies go to [`StandardErrorParser`].
///
/// ```
/// use stackhand_autotask::AutotaskErrorParser;
/// use stackhand_core::ErrorKind;
/// use stackhand_http::{HeaderMap, StatusCode, parse_error};
///
/// let body = br#"{"errors":["A resolution is required to complete this ticket."]}"#;
/// let err = parse_error(StatusCode::INTERNAL_SERVER_ERROR, &HeaderMap::new(), body, &AutotaskErrorParser);
/// assert_eq!(err.kind(), ErrorKind::Invalid);
/// assert!(!err.is_temporary());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct AutotaskErrorParser;

impl ErrorParser for AutotaskErrorParser {
    fn parse(&self, response: &FailedResponse<'_>) -> VendorError {
        let Some(body) = response.json() else {
            return StandardErrorParser.parse(response);
        };
        let parsed = VendorError::from_status(response);
        if let Some(messages) = errors_envelope(&body) {
            let parsed = parsed.with_code(REJECTED).with_message(messages);
            return if response.status == StatusCode::INTERNAL_SERVER_ERROR {
                parsed.with_kind(ErrorKind::Invalid)
            } else {
                parsed
            };
        }
        match str_at(&body, "/Message") {
            Some(message) => parsed.with_message(message),
            None => StandardErrorParser.parse(response),
        }
    }
}

/// The messages of `{"errors":[…]}`, joined; `None` when the body is not that envelope or it
/// holds no message.
fn errors_envelope(body: &Value) -> Option<String> {
    joined_messages(body, "/errors", "message")
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackhand_http::{HeaderMap, HeaderValue, parse_error};

    fn parse(status: StatusCode, body: &[u8]) -> stackhand_core::Error {
        parse_error(status, &HeaderMap::new(), body, &AutotaskErrorParser)
    }

    #[test]
    fn a_500_with_the_errors_envelope_is_a_permanent_refusal() {
        let err = parse(
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"errors":["title is required.","status is required."]}"#,
        );
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert!(!err.is_temporary());
        assert!(
            err.message()
                .contains("title is required.; status is required."),
            "{err}"
        );
        assert_eq!(err.context_value("http_status"), Some("500"));
        assert_eq!(err.context_value("vendor_code"), Some(REJECTED));
    }

    #[test]
    fn a_500_without_the_envelope_stays_transient() {
        for body in [
            &b"<html>Server Error</html>"[..],
            br#"{"Message":"An error has occurred."}"#,
            br#"{"errors":[]}"#,
        ] {
            let err = parse(StatusCode::INTERNAL_SERVER_ERROR, body);
            assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
            assert!(err.is_temporary(), "{err}");
        }
        let err = parse(
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"Message":"An error has occurred."}"#,
        );
        assert!(err.message().contains("An error has occurred."), "{err}");
    }

    #[test]
    fn other_statuses_keep_their_kind_and_read_both_envelopes() {
        let err = parse(
            StatusCode::UNAUTHORIZED,
            br#"{"errors":["User is not authorized."]}"#,
        );
        assert_eq!(err.kind(), ErrorKind::Unauthorized);
        assert!(err.message().contains("User is not authorized."), "{err}");

        let err = parse(
            StatusCode::METHOD_NOT_ALLOWED,
            br#"{"Message":"The requested resource does not support http method 'GET'."}"#,
        );
        assert!(err.message().contains("does not support"), "{err}");
        assert_eq!(err.context_value("vendor_code"), None);

        let err = parse(
            StatusCode::SERVICE_UNAVAILABLE,
            br#"{"errors":["The service is busy."]}"#,
        );
        assert_eq!(err.kind(), ErrorKind::Transient);
        assert!(err.is_temporary());
    }

    #[test]
    fn standard_bodies_and_headers_are_still_read() {
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", HeaderValue::from_static("req-7"));
        headers.insert("retry-after", HeaderValue::from_static("3"));
        let err = parse_error(
            StatusCode::TOO_MANY_REQUESTS,
            &headers,
            br#"{"errors":["Threshold exceeded."]}"#,
            &AutotaskErrorParser,
        );
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(err.context_value("request_id"), Some("req-7"));
        assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(3)));

        let err = parse(
            StatusCode::BAD_REQUEST,
            br#"{"title":"Bad Request","detail":"search is not JSON"}"#,
        );
        assert!(err.message().contains("search is not JSON"), "{err}");
    }
}
