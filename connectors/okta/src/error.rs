//! Okta's error envelope, and the E-codes whose HTTP status alone would mislead.

use stackhand_core::{Error, ErrorKind};
use stackhand_http::{ErrorParser, StatusCode, VendorError};

/// Parses `{"errorCode","errorSummary","errorId","errorCauses":[{"errorSummary"}]}` and the
/// token endpoint's `{"error","error_description"}`. Anything else (HTML from a proxy, garbage)
/// is left to `stackhand-http`, which quotes a short redacted snippet.
#[derive(Debug, Clone, Copy, Default)]
pub struct OktaErrorParser;

impl ErrorParser for OktaErrorParser {
    fn parse(&self, _status: StatusCode, body: &[u8]) -> Option<VendorError> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        let text = |key: &str| {
            value
                .get(key)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
        };
        if let Some(code) = text("errorCode") {
            let mut message = text("errorSummary").unwrap_or("Okta error").to_string();
            let causes: Vec<&str> = value
                .get("errorCauses")
                .and_then(|c| c.as_array())
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("errorSummary").and_then(|s| s.as_str()))
                .filter(|s| !s.is_empty())
                .collect();
            if !causes.is_empty() {
                message = format!("{message} ({})", causes.join("; "));
            }
            return Some(VendorError {
                code: Some(code.to_string()),
                message,
                request_id: text("errorId").map(str::to_string),
            });
        }
        let code = text("error")?;
        Some(VendorError {
            code: Some(code.to_string()),
            message: text("error_description").unwrap_or_default().to_string(),
            request_id: None,
        })
    }
}

/// E-codes Okta answers with 403 although nothing is wrong with the credentials: the operation
/// does not fit the user's current state.
const STATE_CONFLICTS: &[&str] = &[
    "E0000016", // activation failed: the user is already active
    "E0000032", // unlock is not allowed for this user
    "E0000038", // not allowed in the user's current status
];

/// Refine an error from the HTTP client with what the Okta code says.
pub(crate) fn refine(error: Error) -> Error {
    match error.context_value("vendor_code") {
        Some(code) if STATE_CONFLICTS.contains(&code) => with_kind(error, ErrorKind::Conflict),
        _ => error,
    }
}

/// The same error with another kind, keeping message, context and `Retry-After`.
pub(crate) fn with_kind(error: Error, kind: ErrorKind) -> Error {
    let message = error.message().to_string();
    rebuild(error, kind, message)
}

/// The same error with another kind and message, keeping context and `Retry-After`.
pub(crate) fn rebuild(error: Error, kind: ErrorKind, message: String) -> Error {
    let mut refined = Error::new(kind, message);
    if let Some(after) = error.retry_after() {
        refined = refined.with_retry_after(after);
    }
    for (key, value) in error.context() {
        refined = refined.with_context(key, value.clone());
    }
    refined
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackhand_http::{HeaderMap, parse_error};

    #[test]
    fn okta_codes_map_to_the_right_kinds() {
        let body = br#"{"errorCode":"E0000032","errorSummary":"Unlock is not allowed for this user.","errorLink":"E0000032","errorId":"oae1","errorCauses":[{"errorSummary":"The user is not locked out."}]}"#;
        let error = refine(parse_error(
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            body,
            &OktaErrorParser,
        ));
        assert_eq!(error.kind(), ErrorKind::Conflict);
        assert!(error.message().contains("not locked out"));
        assert_eq!(error.context_value("vendor_code"), Some("E0000032"));

        let denied = br#"{"errorCode":"E0000006","errorSummary":"You do not have permission to perform the requested action","errorCauses":[]}"#;
        let error = refine(parse_error(
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            denied,
            &OktaErrorParser,
        ));
        assert_eq!(error.kind(), ErrorKind::Forbidden);

        let throttled = br#"{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests.","errorCauses":[]}"#;
        let error = refine(parse_error(
            StatusCode::TOO_MANY_REQUESTS,
            &HeaderMap::new(),
            throttled,
            &OktaErrorParser,
        ));
        assert_eq!(error.kind(), ErrorKind::RateLimited);
        assert!(error.is_temporary());

        let garbage = parse_error(
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            b"<html>oops</html>",
            &OktaErrorParser,
        );
        assert_eq!(garbage.kind(), ErrorKind::Transient);
        assert!(
            OktaErrorParser
                .parse(StatusCode::BAD_REQUEST, b"not json")
                .is_none()
        );
    }
}
