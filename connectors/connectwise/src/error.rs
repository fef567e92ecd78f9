//! ConnectWise's failed responses: the one place they are read.
//!
//! ConnectWise answers errors with its envelope (`ErrorResponseMessage`):
//! `{"code":"InvalidObject","message":"ticket object is invalid","errors":[{"code":"InvalidField",
//! "message":"…","resource":"ticket","field":"summary"}]}`; a bad key gives
//! `{"code":"Unauthorized",…}` with 401. Field errors are kept with their field so the message
//! says what to fix (`ticket object is invalid (summary: summary may not be null)`).
//!
//! The kind follows the status: ConnectWise's codes (`InvalidObject`, `Unauthorized`,
//! `NotFound`, …) restate it rather than refine it. ConnectWise documents no request-id
//! header, so only the standard ones are read. A body that is not the envelope (an HTML page
//! from Cloudflare or a proxy, an OAuth-style or RFC 9457 body) goes to
//! [`StandardErrorParser`].

use serde::Deserialize;
use stackhand_http::{ErrorParser, FailedResponse, StandardErrorParser, VendorError};

/// `ErrorResponseMessage`.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    errors: Vec<FieldError>,
}

/// `ValidationError`.
#[derive(Debug, Deserialize)]
struct FieldError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    field: Option<String>,
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|s| !s.trim().is_empty())
}

impl Envelope {
    /// The envelope, if the body is one: a JSON object with a code, a message or field errors.
    fn read(body: &[u8]) -> Option<Self> {
        let mut envelope: Envelope = serde_json::from_slice(body).ok()?;
        envelope.code = non_empty(envelope.code);
        envelope.message = non_empty(envelope.message);
        let details = envelope.details();
        (envelope.code.is_some() || envelope.message.is_some() || !details.is_empty())
            .then_some(envelope)
    }

    /// `field: message` for each field error with a message.
    fn details(&self) -> Vec<String> {
        self.errors
            .iter()
            .filter_map(|e| {
                let message = e.message.as_deref().filter(|m| !m.trim().is_empty())?;
                Some(match e.field.as_deref().filter(|f| !f.trim().is_empty()) {
                    Some(field) => format!("{field}: {message}"),
                    None => message.to_string(),
                })
            })
            .collect()
    }

    /// The message, with the field errors after it; the code alone when there is nothing else.
    fn text(&self) -> String {
        let details = self.details().join("; ");
        match (&self.message, details.is_empty()) {
            (Some(message), true) => message.clone(),
            (Some(message), false) => format!("{message} ({details})"),
            (None, false) => details,
            (None, true) => self.code.clone().unwrap_or_default(),
        }
    }
}

/// Reads ConnectWise's error envelope; anything else goes to [`StandardErrorParser`] (and an
/// unrecognised body is then quoted as a short redacted snippet).
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnectWiseErrorParser;

impl ErrorParser for ConnectWiseErrorParser {
    fn parse(&self, response: &FailedResponse<'_>) -> VendorError {
        let Some(envelope) = Envelope::read(response.body) else {
            return StandardErrorParser.parse(response);
        };
        let parsed = VendorError::from_status(response).with_message(envelope.text());
        match envelope.code {
            Some(code) => parsed.with_code(code),
            None => parsed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackhand_core::ErrorKind;
    use stackhand_http::{HeaderMap, HeaderValue, StatusCode, parse_error};

    fn parse(status: u16, body: &[u8]) -> stackhand_core::Error {
        parse_error(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body,
            &ConnectWiseErrorParser,
        )
    }

    #[test]
    fn field_errors_name_the_field_and_kinds_follow_the_status() {
        let err = parse(
            400,
            br#"{"code":"InvalidObject","message":"ticket object is invalid","errors":[{"code":"NullValue","message":"summary may not be null","resource":"ticket","field":"summary"}]}"#,
        );
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert!(!err.is_temporary());
        assert_eq!(err.context_value("vendor_code"), Some("InvalidObject"));
        assert!(
            err.message()
                .contains("ticket object is invalid (summary: summary may not be null)"),
            "{err}"
        );

        let err = parse(
            401,
            br#"{"code":"Unauthorized","message":"The company, public key or private key is not valid."}"#,
        );
        assert_eq!(err.kind(), ErrorKind::Unauthorized);
        assert!(err.message().contains("private key is not valid"), "{err}");

        // Field errors without a top-level message, and a bare code, still say something.
        let err = parse(
            400,
            br#"{"errors":[{"code":"InvalidField","message":"board is closed","field":"board"}]}"#,
        );
        assert!(err.message().ends_with("board: board is closed"), "{err}");
        let err = parse(404, br#"{"code":"NotFound"}"#);
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.message().ends_with("NotFound"), "{err}");
    }

    #[test]
    fn throttling_and_outages_are_temporary_with_retry_after() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        let err = parse_error(
            StatusCode::TOO_MANY_REQUESTS,
            &headers,
            br#"{"code":"TooManyRequests","message":"Rate limit exceeded."}"#,
            &ConnectWiseErrorParser,
        );
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert!(err.is_temporary());
        assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(7)));

        let err = parse(
            500,
            br#"{"code":"ConnectWiseApi","message":"An error occurred."}"#,
        );
        assert_eq!(err.kind(), ErrorKind::Transient);
        assert!(err.is_temporary());
    }

    #[test]
    fn other_bodies_go_to_the_standard_parser() {
        let garbage = parse(502, b"<html>bad gateway</html>");
        assert_eq!(garbage.kind(), ErrorKind::Transient);
        assert!(garbage.message().contains("HTML"), "{garbage}");
        assert_eq!(garbage.context_value("vendor_code"), None);

        let problem = parse(
            403,
            br#"{"type":"about:blank","title":"Forbidden","detail":"blocked by the proxy"}"#,
        );
        assert_eq!(problem.kind(), ErrorKind::Forbidden);
        assert!(
            problem
                .message()
                .contains("Forbidden: blocked by the proxy"),
            "{problem}"
        );
    }
}
