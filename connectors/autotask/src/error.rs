//! Autotask's error envelope and its mapping to [`ErrorKind`].
//!
//! Autotask answers `{"errors":["…", …]}` with 400, 401, 403, 404 or 500, and ASP.NET's own
//! `{"Message":"…"}` for unknown routes and methods. It has no error codes, and it reports
//! business-rule refusals (a missing required field, an invalid picklist value, a workflow rule)
//! as HTTP 500 with the envelope. Those are not passing failures: [`classify`] turns a 500 that
//! carries the envelope into [`ErrorKind::Invalid`], so nobody retries a request the API will
//! refuse again. A 500 without the envelope stays [`ErrorKind::Transient`].

use stackhand_core::{Error, ErrorKind};
use stackhand_http::{ErrorParser, JsonErrorParser, StatusCode, VendorError};

/// The `vendor_code` given to a refusal in Autotask's `errors` envelope (Autotask itself has
/// no codes).
pub const REJECTED: &str = "rejected";

/// Parses `{"errors":[…]}` and `{"Message":…}`; other shapes go to the generic parser.
#[derive(Debug, Clone, Copy, Default)]
pub struct AutotaskErrorParser;

impl ErrorParser for AutotaskErrorParser {
    fn parse(&self, status: StatusCode, body: &[u8]) -> Option<VendorError> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        if let Some(errors) = value.get("errors").and_then(|e| e.as_array()) {
            let messages: Vec<&str> = errors
                .iter()
                .filter_map(|e| e.as_str())
                .filter(|s| !s.is_empty())
                .collect();
            if !messages.is_empty() {
                return Some(VendorError {
                    code: Some(REJECTED.to_string()),
                    message: messages.join("; "),
                    request_id: None,
                });
            }
        }
        if let Some(message) = value.get("Message").and_then(|m| m.as_str()) {
            return Some(VendorError {
                code: None,
                message: message.to_string(),
                request_id: None,
            });
        }
        JsonErrorParser.parse(status, body)
    }
}

/// Re-classify an error from the HTTP client: a 500 carrying Autotask's `errors` envelope is the
/// API refusing the request ([`ErrorKind::Invalid`]), not a passing failure.
pub fn classify(error: Error) -> Error {
    let refused = error.kind() == ErrorKind::Transient
        && error.context_value("http_status") == Some("500")
        && error.context_value("vendor_code") == Some(REJECTED);
    if !refused {
        return error;
    }
    let mut invalid = Error::new(ErrorKind::Invalid, error.message());
    for (key, value) in error.context() {
        invalid = invalid.with_context(key, value.clone());
    }
    invalid
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackhand_http::{HeaderMap, parse_error};

    #[test]
    fn the_errors_envelope_is_parsed_and_500_refusals_are_invalid() {
        let body = br#"{"errors":["title is required.","status is required."]}"#;
        let err = parse_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &HeaderMap::new(),
            body,
            &AutotaskErrorParser,
        );
        assert_eq!(err.kind(), ErrorKind::Transient);
        let err = classify(err);
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert!(!err.is_temporary());
        assert!(
            err.message()
                .contains("title is required.; status is required."),
            "{err}"
        );
        assert_eq!(err.context_value("http_status"), Some("500"));
    }

    #[test]
    fn a_bare_500_stays_transient_and_other_statuses_keep_their_kind() {
        let err = classify(parse_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &HeaderMap::new(),
            b"<html>Server Error</html>",
            &AutotaskErrorParser,
        ));
        assert_eq!(err.kind(), ErrorKind::Transient);
        assert!(err.message().contains("Server Error"), "{err}");

        let err = classify(parse_error(
            StatusCode::UNAUTHORIZED,
            &HeaderMap::new(),
            br#"{"errors":["User is not authorized."]}"#,
            &AutotaskErrorParser,
        ));
        assert_eq!(err.kind(), ErrorKind::Unauthorized);

        let err = classify(parse_error(
            StatusCode::METHOD_NOT_ALLOWED,
            &HeaderMap::new(),
            br#"{"Message":"The requested resource does not support http method 'GET'."}"#,
            &AutotaskErrorParser,
        ));
        assert!(err.message().contains("does not support"), "{err}");
    }
}
