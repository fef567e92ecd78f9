//! ConnectWise's error envelope, read by stackhand-http's one error path.
//!
//! `{"code":"InvalidObject","message":"ticket object is invalid","errors":[{"code":"InvalidField",
//! "message":"…","resource":"ticket","field":"summary"}]}`; a bad key gives
//! `{"code":"Unauthorized",…}`. Field errors are kept with their field so the message says what
//! to fix (`ticket object is invalid (summary: summary may not be null)`).

use serde::Deserialize;
use stackhand_http::{ErrorParser, StatusCode, VendorError};

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    errors: Vec<FieldError>,
}

#[derive(Debug, Deserialize)]
struct FieldError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    field: Option<String>,
}

/// Parses ConnectWise error bodies; anything else (an HTML page from a proxy, garbage) is left
/// to stackhand-http, which quotes a short redacted snippet.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnectWiseErrorParser;

impl ErrorParser for ConnectWiseErrorParser {
    fn parse(&self, _status: StatusCode, body: &[u8]) -> Option<VendorError> {
        let envelope: Envelope = serde_json::from_slice(body).ok()?;
        if envelope.code.is_none() && envelope.message.is_none() {
            return None;
        }
        let details: Vec<String> = envelope
            .errors
            .iter()
            .filter_map(|e| {
                let message = e.message.as_deref().filter(|m| !m.is_empty())?;
                Some(match e.field.as_deref().filter(|f| !f.is_empty()) {
                    Some(field) => format!("{field}: {message}"),
                    None => message.to_string(),
                })
            })
            .collect();
        let message = envelope.message.unwrap_or_default();
        let message = if details.is_empty() {
            message
        } else {
            format!("{message} ({})", details.join("; "))
        };
        Some(VendorError {
            code: envelope.code,
            message,
            request_id: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackhand_core::ErrorKind;
    use stackhand_http::{HeaderMap, parse_error};

    #[test]
    fn field_errors_name_the_field_and_kinds_follow_the_status() {
        let body = br#"{"code":"InvalidObject","message":"ticket object is invalid","errors":[{"code":"NullValue","message":"summary may not be null","resource":"ticket","field":"summary"}]}"#;
        let err = parse_error(
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            body,
            &ConnectWiseErrorParser,
        );
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert_eq!(err.context_value("vendor_code"), Some("InvalidObject"));
        assert!(
            err.message().contains("summary: summary may not be null"),
            "{err}"
        );

        let unauthorized = br#"{"code":"Unauthorized","message":"The company, public key or private key is not valid."}"#;
        let err = parse_error(
            StatusCode::UNAUTHORIZED,
            &HeaderMap::new(),
            unauthorized,
            &ConnectWiseErrorParser,
        );
        assert_eq!(err.kind(), ErrorKind::Unauthorized);

        let garbage = parse_error(
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            b"<html>bad gateway</html>",
            &ConnectWiseErrorParser,
        );
        assert_eq!(garbage.kind(), ErrorKind::Transient);
        assert!(garbage.message().contains("HTML"), "{garbage}");
    }
}
